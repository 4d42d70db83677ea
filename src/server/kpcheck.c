/* KeyPackage validation (RFC 9420 §10.1 and the leaf checks of §7.3). */
#include "kpcheck.h"

#include <string.h>

#include "codec.h"
#include "crypto.h"

#define MLS10 1
#define WF_KEY_PACKAGE 5
#define CRED_BASIC 1
#define SOURCE_KEY_PACKAGE 1

typedef struct kp_view {
    uint16_t version, suite;
    mls_bytes init_key, enc_key, sig_key, identity;
    uint16_t cred_type;
    uint64_t not_before, not_after;
    mls_bytes leaf_tbs;   /* LeafNodeTBS: the leaf node minus its signature */
    mls_bytes leaf_sig;
    mls_bytes kp_tbs;     /* KeyPackageTBS: the KeyPackage minus its signature */
    mls_bytes kp_sig;
    mls_bytes whole;
    mls_reader cap_creds, cap_exts;
    mls_reader leaf_exts;
} kp_view;

static int malformed(const char **why, const char *text)
{
    *why = text;
    return MLS_ERR_MALFORMED;
}

static int invalid(const char **why, const char *text)
{
    *why = text;
    return MLS_ERR_INVALID;
}

/* A <V> list of uint16 as a sub-reader (checked to hold whole uint16s). */
static int read_u16_list(mls_reader *r, mls_reader *list)
{
    if (mls_read_vec(r, list) || mls_reader_left(list) % 2)
        return MLS_ERR_MALFORMED;
    return MLS_OK;
}

static int list_has(mls_reader list, uint16_t v)
{
    uint16_t x;
    while (mls_reader_left(&list) > 0)
        if (mls_read_u16(&list, &x) == 0 && x == v)
            return 1;
    return 0;
}

static int read_credential(mls_reader *r, kp_view *v, const char **why)
{
    mls_reader certs;
    mls_bytes cert;
    if (mls_read_u16(r, &v->cred_type))
        return malformed(why, "truncated credential");
    if (v->cred_type == CRED_BASIC)
        return mls_read_vec_bytes(r, &v->identity) ? malformed(why, "truncated credential")
                                                  : MLS_OK;
    if (v->cred_type == 2) {
        if (mls_read_vec(r, &certs))
            return malformed(why, "truncated x509 credential");
        while (mls_reader_left(&certs) > 0)
            if (mls_read_vec_bytes(&certs, &cert))
                return malformed(why, "malformed x509 credential");
        return MLS_OK;
    }
    return invalid(why, "credential type is not basic");
}

/* RFC 9420 §7.2 LeafNode with leaf_node_source key_package. */
static int read_leaf(mls_reader *r, kp_view *v, const char **why)
{
    mls_reader versions, suites, proposals;
    uint8_t source;
    size_t start = r->off;
    int err;
    if (mls_read_vec_bytes(r, &v->enc_key) || mls_read_vec_bytes(r, &v->sig_key))
        return malformed(why, "truncated leaf node");
    if ((err = read_credential(r, v, why)) != 0)
        return err;
    /* Capabilities: versions, cipher_suites, extensions, proposals,
     * credentials, each a <V> list of uint16. */
    if (read_u16_list(r, &versions) || read_u16_list(r, &suites) ||
        read_u16_list(r, &v->cap_exts) || read_u16_list(r, &proposals) ||
        read_u16_list(r, &v->cap_creds))
        return malformed(why, "malformed capabilities");
    if (!list_has(versions, MLS10))
        return invalid(why, "capabilities do not include mls10");
    if (!list_has(suites, v->suite))
        return invalid(why, "capabilities do not include the KeyPackage's cipher suite");
    if (mls_read_u8(r, &source))
        return malformed(why, "truncated leaf node");
    if (source != SOURCE_KEY_PACKAGE)
        return invalid(why, "leaf_node_source is not key_package");
    if (mls_read_u64(r, &v->not_before) || mls_read_u64(r, &v->not_after))
        return malformed(why, "truncated lifetime");
    if (mls_read_vec(r, &v->leaf_exts))
        return malformed(why, "malformed leaf extensions");
    mls_reader exts = v->leaf_exts;
    while (mls_reader_left(&exts) > 0) {
        uint16_t type;
        mls_bytes data;
        if (mls_read_u16(&exts, &type) || mls_read_vec_bytes(&exts, &data))
            return malformed(why, "malformed leaf extensions");
    }
    v->leaf_tbs = mls_bytes_of(r->p + start, r->off - start);
    if (mls_read_vec_bytes(r, &v->leaf_sig))
        return malformed(why, "truncated leaf signature");
    return MLS_OK;
}

static int read_key_package(mls_bytes in, kp_view *v, const char **why)
{
    mls_reader r, exts;
    int err;
    mls_reader_init_bytes(&r, in);
    if (mls_read_u16(&r, &v->version) || mls_read_u16(&r, &v->suite) ||
        mls_read_vec_bytes(&r, &v->init_key))
        return malformed(why, "truncated KeyPackage");
    if ((err = read_leaf(&r, v, why)) != 0)
        return err;
    if (mls_read_vec(&r, &exts))
        return malformed(why, "malformed KeyPackage extensions");
    while (mls_reader_left(&exts) > 0) {
        uint16_t type;
        mls_bytes data;
        if (mls_read_u16(&exts, &type) || mls_read_vec_bytes(&exts, &data))
            return malformed(why, "malformed KeyPackage extensions");
    }
    v->kp_tbs = mls_bytes_of(r.p, r.off);
    if (mls_read_vec_bytes(&r, &v->kp_sig))
        return malformed(why, "truncated KeyPackage signature");
    if (mls_reader_done(&r))
        return malformed(why, "trailing bytes after KeyPackage");
    v->whole = in;
    return MLS_OK;
}

/* RFC 9420 §7.2: extension types 1..5 are defaults every client supports;
 * any other extension in the leaf must be listed in its capabilities. */
static int leaf_exts_supported(const kp_view *v)
{
    mls_reader exts = v->leaf_exts;
    while (mls_reader_left(&exts) > 0) {
        uint16_t type;
        mls_bytes data;
        if (mls_read_u16(&exts, &type) || mls_read_vec_bytes(&exts, &data))
            return 0;
        if (type > 5 && !list_has(v->cap_exts, type))
            return 0;
    }
    return 1;
}

int srv_kp_validate(mls_bytes in, const srv_kp_expect *x, srv_kp_info *info, const char **why)
{
    kp_view v;
    mls_bytes kp = in;
    int err;
    memset(&v, 0, sizeof v);
    /* An MLSMessage(mls_key_package) starts version=1, wire_format=5; a bare
     * KeyPackage starts version=1, cipher_suite in 1..7, never 5 then a
     * valid vector, so the wrapper is recognised by its prefix. */
    if (in.n >= 4 && in.p[0] == 0 && in.p[1] == MLS10 && in.p[2] == 0 &&
        in.p[3] == WF_KEY_PACKAGE) {
        kp = mls_bytes_of(in.p + 4, in.n - 4);
        if (read_key_package(kp, &v, why) != 0)
            kp = in; /* a bare KeyPackage of suite 5 after all */
    }
    if (kp.p == in.p && (err = read_key_package(kp, &v, why)) != 0)
        return err;
    if (v.version != MLS10)
        return invalid(why, "KeyPackage version is not mls10");
    const mls_suite *s = mls_suite_get(v.suite);
    if (!s || v.suite != x->suite)
        return invalid(why, "KeyPackage cipher suite is not the user's registered suite");
    if (!mls_ct_equal(v.sig_key, x->sig_key))
        return invalid(why, "signature key is not the user's registered key");
    if (v.cred_type != CRED_BASIC ||
        v.identity.n != strlen(x->identity) ||
        memcmp(v.identity.p, x->identity, v.identity.n) != 0)
        return invalid(why, "credential identity is not the uploader's username");
    if (!list_has(v.cap_creds, v.cred_type))
        return invalid(why, "capabilities do not include the credential type");
    if (!leaf_exts_supported(&v))
        return invalid(why, "leaf extension not listed in capabilities");
    if (v.not_before > x->now || v.not_after < x->now)
        return invalid(why, "lifetime does not include the current time");
    if (v.init_key.n == 0 || mls_ct_equal(v.init_key, v.enc_key))
        return invalid(why, "init_key equals the leaf encryption_key");
    if (v.init_key.n != s->kem_npk || v.enc_key.n != s->kem_npk)
        return invalid(why, "HPKE key has the wrong length for the suite");
    /* RFC 9420 §7.3 / §10.1: leaf signature, then KeyPackage signature. */
    if (mls_verify_with_label(s, v.sig_key, "LeafNodeTBS", v.leaf_tbs, v.leaf_sig) != 0) {
        *why = "leaf node signature does not verify";
        return MLS_ERR_SIGNATURE;
    }
    if (mls_verify_with_label(s, v.sig_key, "KeyPackageTBS", v.kp_tbs, v.kp_sig) != 0) {
        *why = "KeyPackage signature does not verify";
        return MLS_ERR_SIGNATURE;
    }
    info->key_package = kp;
    info->not_after = v.not_after;
    return MLS_OK;
}
