/*
 * messages.json (test-vectors.md "Messages"): every field decodes with its
 * structure, consuming all bytes, and re-encodes to the same bytes.  The
 * MLSMessage fields must also carry the wire format (and for PublicMessage
 * the content type) the field name says.  Beyond the official check, every
 * proper prefix of every field must be rejected: the TLS encoding is
 * prefix-free, so a decoder that accepts a truncation is reading past what
 * it was given or not demanding full consumption (ASan watches the reads).
 *
 * (Fuzz seeds from this file: vec_fuzz_seeds.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "messages.h"
#include "vec.h"

/* Decodes in as one object, re-encodes it into out, clears it.  Also
 * reports the MLSMessage wire format / content type for the extra checks. */
typedef int (*roundtrip_fn)(mls_bytes in, mls_buf *out, unsigned *kind);

static int rt_message(mls_bytes in, mls_buf *out, unsigned *kind)
{
    mls_message m;
    int err = mls_message_decode_bytes(in, &m);
    if (err)
        return err;
    *kind = (unsigned)m.wire_format << 8;
    if (m.wire_format == MLS_WIRE_PUBLIC_MESSAGE)
        *kind |= m.public_message.content.content_type;
    err = mls_message_encode(&m, out);
    mls_message_clear(&m);
    return err;
}

#define RT(T)                                                                  \
    static int rt_##T(mls_bytes in, mls_buf *out, unsigned *kind)              \
    {                                                                          \
        mls_##T x;                                                             \
        int err = mls_##T##_decode_bytes(in, &x);                              \
        *kind = 0;                                                             \
        if (err)                                                               \
            return err;                                                        \
        err = mls_##T##_encode(&x, out);                                       \
        mls_##T##_clear(&x);                                                   \
        return err;                                                            \
    }
RT(ratchet_tree)
RT(group_secrets)
RT(add)
RT(update)
RT(remove)
RT(pre_shared_key)
RT(reinit)
RT(external_init)
RT(group_context_extensions)
RT(commit)
#undef RT

struct field {
    const char *name;
    roundtrip_fn fn;
    unsigned kind; /* wire_format << 8 | content_type, 0 = not checked */
};

static const struct field fields[] = {
    {"mls_welcome", rt_message, MLS_WIRE_WELCOME << 8},
    {"mls_group_info", rt_message, MLS_WIRE_GROUP_INFO << 8},
    {"mls_key_package", rt_message, MLS_WIRE_KEY_PACKAGE << 8},
    {"ratchet_tree", rt_ratchet_tree, 0},
    {"group_secrets", rt_group_secrets, 0},
    {"add_proposal", rt_add, 0},
    {"update_proposal", rt_update, 0},
    {"remove_proposal", rt_remove, 0},
    {"pre_shared_key_proposal", rt_pre_shared_key, 0},
    {"re_init_proposal", rt_reinit, 0},
    {"external_init_proposal", rt_external_init, 0},
    {"group_context_extensions_proposal", rt_group_context_extensions, 0},
    {"commit", rt_commit, 0},
    {"public_message_application", rt_message,
     MLS_WIRE_PUBLIC_MESSAGE << 8 | MLS_CONTENT_APPLICATION},
    {"public_message_proposal", rt_message, MLS_WIRE_PUBLIC_MESSAGE << 8 | MLS_CONTENT_PROPOSAL},
    {"public_message_commit", rt_message, MLS_WIRE_PUBLIC_MESSAGE << 8 | MLS_CONTENT_COMMIT},
    {"private_message", rt_message, MLS_WIRE_PRIVATE_MESSAGE << 8},
};

static int check_field(json_t *entry, const struct field *f)
{
    mls_buf in, out;
    unsigned kind = 0;
    int rc = -1, err;

    mls_buf_init(&in);
    mls_buf_init(&out);
    if (vec_hex(entry, f->name, &in))
        goto out;
    err = f->fn(mls_buf_view(&in), &out, &kind);
    if (err) {
        vec_fail("%s: decode failed: %s", f->name, mls_errname(err));
        goto out;
    }
    if (f->kind && kind != f->kind) {
        vec_fail("%s: wire format/content type %#x, want %#x", f->name, kind, f->kind);
        goto out;
    }
    if (vec_expect_bytes(f->name, mls_buf_view(&in), mls_buf_view(&out)))
        goto out;
    for (size_t len = 0; len < in.n; len++) {
        mls_buf_reset(&out);
        if (f->fn(mls_bytes_of(in.p, len), &out, &kind) == MLS_OK) {
            vec_fail("%s: truncation to %zu of %zu bytes accepted", f->name, len, in.n);
            goto out;
        }
    }
    rc = 0;
out:
    mls_buf_clear(&in);
    mls_buf_clear(&out);
    return rc;
}

int vec_messages(json_t *entry)
{
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (check_field(entry, &fields[i]))
            return -1;
    return 0;
}
