/* Clear-header reading of MLS messages (RFC 9420 §6, §12.4.3) on the
 * libmls decoders. */
#include "mlsmsg.h"

#include <string.h>

/* Decodes msg as an MLSMessage of the wanted wire formats (a bit set). */
static int decode(mls_bytes msg, unsigned wanted, const char *what, mls_message *m,
                  const char **why)
{
    int err = mls_message_decode_bytes(msg, m);
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
        mls_message_clear(m);
        *why = what;
        return MLS_ERR_MALFORMED;
    }
    return MLS_OK;
}

static void set_group_id(srv_mls_header *h, const mls_buf *gid)
{
    h->group_id_too_long = gid->n > sizeof h->group_id;
    h->group_id_len = h->group_id_too_long ? 0 : gid->n;
    if (h->group_id_len)
        memcpy(h->group_id, gid->p, gid->n);
}

int srv_mls_header_group_is(const srv_mls_header *h, mls_bytes gid)
{
    return !h->group_id_too_long && h->group_id_len == gid.n &&
           memcmp(h->group_id, gid.p, gid.n) == 0;
}

int srv_mls_read_header(mls_bytes msg, srv_mls_header *h, const char **why)
{
    mls_message m;
    srv_mls_header out;
    int err = decode(msg, 1u << MLS_WIRE_PUBLIC_MESSAGE | 1u << MLS_WIRE_PRIVATE_MESSAGE,
                     "not a PublicMessage or PrivateMessage", &m, why);
    if (err)
        return err;
    memset(&out, 0, sizeof out);
    out.wire_format = m.wire_format;
    if (m.wire_format == MLS_WIRE_PUBLIC_MESSAGE) {
        set_group_id(&out, &m.public_message.content.group_id);
        out.epoch = m.public_message.content.epoch;
        out.content_type = m.public_message.content.content_type;
    } else {
        set_group_id(&out, &m.private_message.group_id);
        out.epoch = m.private_message.epoch;
        out.content_type = m.private_message.content_type;
    }
    mls_message_clear(&m);
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
    mls_message m;
    int err = decode(msg, 1u << MLS_WIRE_WELCOME, "not a Welcome", &m, why);
    if (err)
        return err;
    if (mls_suite_get(m.welcome.cipher_suite) == NULL) {
        *why = "Welcome cipher suite unsupported";
        err = MLS_ERR_UNSUPPORTED;
    } else if (m.welcome.n_secrets == 0) {
        *why = "Welcome has no recipients";
        err = MLS_ERR_MALFORMED;
    }
    mls_message_clear(&m);
    return err;
}

int srv_mls_check_group_info(mls_bytes msg, srv_mls_header *h, const char **why)
{
    mls_message m;
    int err = decode(msg, 1u << MLS_WIRE_GROUP_INFO, "not a GroupInfo", &m, why);
    if (err)
        return err;
    const mls_group_context *gc = &m.group_info.group_context;
    if (gc->version != MLS_VERSION_MLS10 || mls_suite_get(gc->cipher_suite) == NULL) {
        *why = "GroupInfo version or cipher suite unsupported";
        err = MLS_ERR_UNSUPPORTED;
    } else {
        memset(h, 0, sizeof *h);
        h->wire_format = MLS_WIRE_GROUP_INFO;
        h->epoch = gc->epoch;
        set_group_id(h, &gc->group_id);
    }
    mls_message_clear(&m);
    return err;
}
