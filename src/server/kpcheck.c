/* KeyPackage validation: libmls decodes and verifies (RFC 9420 §10.1,
 * §7.3); the server adds its directory policy. */
#include "kpcheck.h"

#include <string.h>

#include "messages.h"

/* RFC 9420 §6: an MLSMessage starts with version (2 bytes) and wire_format
 * (2 bytes); the KeyPackage follows. */
#define MLS_MESSAGE_PREFIX 4

static int invalid(const char **why, const char *text)
{
    *why = text;
    return MLS_ERR_INVALID;
}

/* RFC 9420 §6 / §10: KeyPackages travel as MLSMessage(mls_key_package).
 * A bare KeyPackage is accepted only when the bytes do not decode as an
 * MLSMessage, so there is exactly one reading of any input. */
static int decode(mls_bytes in, mls_key_package *kp, mls_bytes *bare, const char **why)
{
    mls_message m;
    int err = mls_message_decode_bytes(in, &m);
    if (!err) {
        if (m.wire_format != MLS_WIRE_KEY_PACKAGE) {
            mls_message_clear(&m);
            *why = "MLSMessage does not hold a KeyPackage";
            return MLS_ERR_MALFORMED;
        }
        *kp = m.key_package; /* ownership moves out of the message */
        *bare = mls_bytes_of(in.p + MLS_MESSAGE_PREFIX, in.n - MLS_MESSAGE_PREFIX);
        return MLS_OK;
    }
    if (mls_key_package_decode_bytes(in, kp) == 0) {
        *bare = in;
        return MLS_OK;
    }
    *why = "does not decode as an MLSMessage(KeyPackage) or a KeyPackage";
    return MLS_ERR_MALFORMED;
}

/* RFC 9420 §7.2: extension types 1..5 are defaults every client supports;
 * any other extension in the leaf must be listed in its capabilities. */
static int leaf_exts_supported(const mls_leaf_node *ln)
{
    for (size_t i = 0; i < ln->extensions.n; i++) {
        uint16_t type = ln->extensions.v[i].type;
        if (type > MLS_EXT_EXTERNAL_SENDERS &&
            !mls_u16_list_contains(&ln->capabilities.extensions, type))
            return 0;
    }
    return 1;
}

/* The server's policy: the KeyPackage is the uploader's, usable now, and
 * consistent with its own capabilities. */
static int check_policy(const mls_key_package *kp, const srv_kp_expect *x, const mls_suite *s,
                        const char **why)
{
    const mls_leaf_node *ln = &kp->leaf_node;
    const mls_credential *cred = &ln->credential;
    if (!s || kp->cipher_suite != x->suite)
        return invalid(why, "KeyPackage cipher suite is not the user's registered suite");
    if (!mls_ct_equal(mls_buf_view(&ln->signature_key), x->sig_key))
        return invalid(why, "signature key is not the user's registered key");
    if (cred->type != MLS_CREDENTIAL_BASIC || cred->identity.n != strlen(x->identity) ||
        memcmp(cred->identity.p, x->identity, cred->identity.n) != 0)
        return invalid(why, "credential identity is not the uploader's username");
    if (!mls_u16_list_contains(&ln->capabilities.versions, MLS_VERSION_MLS10))
        return invalid(why, "capabilities do not include mls10");
    if (!mls_u16_list_contains(&ln->capabilities.cipher_suites, kp->cipher_suite))
        return invalid(why, "capabilities do not include the KeyPackage's cipher suite");
    if (!mls_u16_list_contains(&ln->capabilities.credentials, cred->type))
        return invalid(why, "capabilities do not include the credential type");
    /* RFC 9420 §13: an extension type appears at most once in a list. */
    if (mls_extension_list_check_unique(&ln->extensions) ||
        mls_extension_list_check_unique(&kp->extensions))
        return invalid(why, "duplicate extension");
    if (!leaf_exts_supported(ln))
        return invalid(why, "leaf extension not listed in capabilities");
    if (ln->source != MLS_LEAF_SOURCE_KEY_PACKAGE)
        return invalid(why, "leaf_node_source is not key_package");
    if (ln->lifetime.not_before > x->now || ln->lifetime.not_after < x->now)
        return invalid(why, "lifetime does not include the current time");
    if (kp->init_key.n != s->kem_npk || ln->encryption_key.n != s->kem_npk)
        return invalid(why, "HPKE key has the wrong length for the suite");
    return MLS_OK;
}

int srv_kp_validate(mls_bytes in, const srv_kp_expect *x, srv_kp_info *info, const char **why)
{
    mls_key_package kp;
    mls_bytes bare;
    int err = decode(in, &kp, &bare, why);
    if (err)
        return err;
    const mls_suite *s = mls_suite_get(kp.cipher_suite);
    err = check_policy(&kp, x, s, why);
    if (err)
        goto out;
    /* RFC 9420 §10.1: version mls10, init_key differs from encryption_key,
     * the leaf node signature and the KeyPackage signature verify. */
    err = mls_key_package_verify(s, &kp);
    if (err == MLS_ERR_UNSUPPORTED)
        *why = "KeyPackage version is not mls10"; /* the suite is checked above */
    else if (err == MLS_ERR_SIGNATURE)
        *why = mls_leaf_node_verify(s, &kp.leaf_node, mls_bytes_of(NULL, 0), 0)
                   ? "leaf node signature does not verify"
                   : "KeyPackage signature does not verify";
    else if (err == MLS_ERR_INVALID)
        *why = "init_key equals the leaf encryption_key";
    else if (err)
        *why = mls_strerror(err);
    if (err)
        goto out;
    info->key_package = bare;
    info->not_after = kp.leaf_node.lifetime.not_after;
out:
    mls_key_package_clear(&kp);
    return err;
}
