/* Chat groups for the server's unit tests: identities that support the
 * chat's GroupContext extensions (docs/PROTOCOL.md §7.1) and groups made
 * with them, through libmls's public API only. */
#ifndef TEST_SERVER_CHAT_H
#define TEST_SERVER_CHAT_H

#include <string.h>

#include "mls/codec.h"
#include "mls/group.h"

#define CHAT_EXT_NAME 0xF000u
#define CHAT_EXT_ADMINS 0xF001u
#define CHAT_EXT_TOPIC 0xF002u

/* struct { opaque name<V>; } */
static inline int chat_ext_name(const char *name, mls_buf *out)
{
    mls_buf_reset(out);
    return mls_tls_write_opaque(out, mls_bytes_of((const uint8_t *)name, strlen(name)));
}

/* struct { opaque usernames<V><V>; } */
static inline int chat_ext_admins(const char *const *names, size_t n, mls_buf *out)
{
    size_t mark;
    int err;
    mls_buf_reset(out);
    if ((err = mls_tls_write_vector_begin(out, &mark)) != 0)
        return err;
    for (size_t i = 0; i < n; i++)
        if ((err = mls_tls_write_opaque(
                 out, mls_bytes_of((const uint8_t *)names[i], strlen(names[i])))) != 0)
            return err;
    return mls_tls_write_vector_end(out, mark);
}

static inline int chat_identity(const char *name, mls_identity **out)
{
    static const uint16_t types[] = {CHAT_EXT_NAME, CHAT_EXT_ADMINS, CHAT_EXT_TOPIC};
    mls_identity *id = NULL;
    int err = mls_identity_generate(mls_env_default(), MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                                    mls_bytes_of((const uint8_t *)name, strlen(name)), &id);
    if (!err)
        err = mls_identity_support_extensions(id, types, 3);
    if (err) {
        mls_identity_free(id);
        return err;
    }
    *out = id;
    return 0;
}

/* A new group of `creator` (named `admin`) called `group`, with the chat's
 * extensions naming it and its creator as the administrator. */
static inline int chat_group(const mls_identity *creator, const char *admin, const char *gid,
                             const char *group, mls_group **out)
{
    mls_buf name_ext, admins_ext;
    mls_ext exts[2];
    int err;
    mls_buf_init(&name_ext);
    mls_buf_init(&admins_ext);
    err = chat_ext_name(group, &name_ext);
    if (!err)
        err = chat_ext_admins(&admin, 1, &admins_ext);
    exts[0].type = CHAT_EXT_NAME;
    exts[0].data = mls_buf_view(&name_ext);
    exts[1].type = CHAT_EXT_ADMINS;
    exts[1].data = mls_buf_view(&admins_ext);
    if (!err)
        err = mls_group_create(mls_env_default(), creator,
                               mls_bytes_of((const uint8_t *)gid, strlen(gid)), exts, 2, NULL,
                               out);
    mls_buf_clear(&name_ext);
    mls_buf_clear(&admins_ext);
    return err;
}

/* A commit of the given options, always as a PublicMessage. */
static inline int chat_commit(mls_group *g, mls_commit_options *o, mls_staged_commit **out)
{
    mls_commit_options none;
    if (!o) {
        memset(&none, 0, sizeof none);
        o = &none;
    }
    o->handshake = MLS_HANDSHAKE_PUBLIC;
    return mls_group_commit(g, o, out);
}

#endif
