/*
 * Tree test fixture shared by test_ratchet_tree.c and test_treekem.c: a
 * member is a signed key_package-source leaf node (RFC 9420 §7.2) with
 * fresh signature and HPKE keys.
 */
#ifndef MLS_TEST_MEMBER_H
#define MLS_TEST_MEMBER_H

#include "test.h"

#include "crypto.h"
#include "hpke.h"
#include "ratchet_tree.h"

/* A signed key_package-source leaf with fresh keys. */
struct member {
    mls_leaf_node ln;
    mls_buf sig_sk, enc_sk;
};

static inline void member_clear(struct member *m)
{
    mls_leaf_node_clear(&m->ln);
    mls_buf_clear(&m->sig_sk);
    mls_buf_clear(&m->enc_sk);
}

static inline int sign_leaf(const mls_suite *s, mls_leaf_node *ln, mls_bytes sig_sk, mls_bytes gid,
                            uint32_t leaf)
{
    mls_buf tbs;
    mls_buf_init(&tbs);
    int err = mls_leaf_node_tbs_encode(ln, gid, leaf, &tbs);
    mls_buf_reset(&ln->signature);
    if (!err)
        err = mls_sign_with_label(s, mls_env_default(), sig_sk, "LeafNodeTBS", mls_buf_view(&tbs),
                                  &ln->signature);
    mls_buf_clear(&tbs);
    return err;
}

static inline int make_member(const mls_suite *s, int id, struct member *m)
{
    static uint16_t versions[] = {MLS_VERSION_MLS10};
    static uint16_t creds[] = {MLS_CREDENTIAL_BASIC};
    char name[16];
    mls_buf sig_pk;
    int err;

    memset(m, 0, sizeof(*m));
    mls_buf_init(&sig_pk);
    err = mls_sig_keygen(s, mls_env_default(), &m->sig_sk, &sig_pk);
    if (!err)
        err = mls_hpke_generate_keypair(s, mls_env_default(), &m->enc_sk, &m->ln.encryption_key);
    if (err)
        goto out;
    err = mls_buf_copy(&m->ln.signature_key, &sig_pk);
    snprintf(name, sizeof(name), "member%d", id);
    m->ln.credential.type = MLS_CREDENTIAL_BASIC;
    if (!err)
        err = mls_buf_set(&m->ln.credential.identity, name, strlen(name));
    if (err)
        goto out;
    m->ln.capabilities.versions.v = malloc(sizeof(versions));
    m->ln.capabilities.credentials.v = malloc(sizeof(creds));
    m->ln.capabilities.cipher_suites.v = malloc(sizeof(uint16_t));
    if (!m->ln.capabilities.versions.v || !m->ln.capabilities.credentials.v ||
        !m->ln.capabilities.cipher_suites.v) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    memcpy(m->ln.capabilities.versions.v, versions, sizeof(versions));
    m->ln.capabilities.versions.n = 1;
    memcpy(m->ln.capabilities.credentials.v, creds, sizeof(creds));
    m->ln.capabilities.credentials.n = 1;
    m->ln.capabilities.cipher_suites.v[0] = s->id;
    m->ln.capabilities.cipher_suites.n = 1;
    m->ln.source = MLS_LEAF_SOURCE_KEY_PACKAGE;
    m->ln.lifetime.not_before = 0;
    m->ln.lifetime.not_after = UINT64_MAX;
    err = sign_leaf(s, &m->ln, mls_buf_view(&m->sig_sk), mls_bytes_of(NULL, 0), 0);
out:
    mls_buf_clear(&sig_pk);
    return err;
}

#endif
