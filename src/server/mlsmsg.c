/* Clear-header reading of MLS messages (RFC 9420 §6, §12.4.3) through
 * libmls's public inspection (mls_message_inspect). */
#include "mlsmsg.h"

#include <string.h>

/* Decodes msg as an MLSMessage of the wanted wire formats (a bit set). */
static int inspect(mls_bytes msg, unsigned wanted, const char *what, mls_message_info *m,
                   const char **why)
{
    int err = mls_message_inspect(msg, m);
    if (err == MLS_ERR_UNSUPPORTED) {
        *why = "protocol version is not mls10";
        return err;
    }
    if (err) {
        *why = err == MLS_ERR_TRAILING ? "trailing bytes after the MLSMessage"
                                       : "does not decode as an MLSMessage";
        return err;
    }
    if (!(wanted & (1u << m->wire_format))) {
        *why = what;
        return MLS_ERR_MALFORMED;
    }
    return MLS_OK;
}

static void set_group_id(srv_mls_header *h, mls_bytes gid)
{
    h->group_id_too_long = gid.n > sizeof h->group_id;
    h->group_id_len = h->group_id_too_long ? 0 : gid.n;
    if (h->group_id_len)
        memcpy(h->group_id, gid.p, gid.n);
}

int srv_mls_header_group_is(const srv_mls_header *h, mls_bytes gid)
{
    return !h->group_id_too_long && h->group_id_len == gid.n &&
           memcmp(h->group_id, gid.p, gid.n) == 0;
}

int srv_mls_read_header(mls_bytes msg, srv_mls_header *h, const char **why)
{
    mls_message_info m;
    srv_mls_header out;
    int err = inspect(msg, 1u << MLS_WIRE_PUBLIC_MESSAGE | 1u << MLS_WIRE_PRIVATE_MESSAGE,
                      "not a PublicMessage or PrivateMessage", &m, why);
    if (err)
        return err;
    memset(&out, 0, sizeof out);
    out.wire_format = m.wire_format;
    out.epoch = m.epoch;
    out.content_type = m.content_type;
    set_group_id(&out, m.group_id);
    /* Server policy: group ids are 1 to 255 bytes (docs/PROTOCOL.md §2). */
    if (out.group_id_len == 0 && !out.group_id_too_long) {
        *why = "empty group_id";
        return MLS_ERR_MALFORMED;
    }
    *h = out;
    return MLS_OK;
}

int srv_mls_check_welcome(mls_bytes msg, const char **why)
{
    mls_message_info m;
    int err = inspect(msg, 1u << MLS_WIRE_WELCOME, "not a Welcome", &m, why);
    if (err)
        return err;
    if (!mls_suite_supported(m.suite)) {
        *why = "Welcome cipher suite unsupported";
        return MLS_ERR_UNSUPPORTED;
    }
    if (m.n_recipients == 0) {
        *why = "Welcome has no recipients";
        return MLS_ERR_MALFORMED;
    }
    return MLS_OK;
}

int srv_mls_check_group_info(mls_bytes msg, srv_mls_header *h, const char **why)
{
    mls_message_info m;
    int err = inspect(msg, 1u << MLS_WIRE_GROUP_INFO, "not a GroupInfo", &m, why);
    if (err)
        return err;
    if (m.version != MLS_VERSION_MLS10 || !mls_suite_supported(m.suite)) {
        *why = "GroupInfo version or cipher suite unsupported";
        return MLS_ERR_UNSUPPORTED;
    }
    memset(h, 0, sizeof *h);
    h->wire_format = MLS_WIRE_GROUP_INFO;
    h->epoch = m.epoch;
    set_group_id(h, m.group_id);
    return MLS_OK;
}
