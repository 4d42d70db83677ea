/*
 * KeyPackage validation with a reason (include/mls/inspect.h): the rules of
 * RFC 9420 §10.1 and the leaf node rules of §7.2/§7.3 that apply to a
 * KeyPackage outside any group, one reason code each, for Delivery
 * Services and tools that must say why they refuse one.
 */
#include <string.h>

#include "crypto.h"
#include "detail.h"
#include "key_package.h"
#include "mls/inspect.h"

/* RFC 9420 §6: MLSMessage is version (2 bytes) and wire_format (2 bytes),
 * then the KeyPackage. */
#define MESSAGE_PREFIX 4

static const struct {
    const char *name, *text;
} kp_reasons[] = {
#define MLS_KP_REASON_ROW_(name, value, text) [value] = {#name, text},
    MLS_KP_REASONS(MLS_KP_REASON_ROW_)
#undef MLS_KP_REASON_ROW_
};

const char *mls_kp_reason_text(int reason)
{
    if (reason < 0 || (size_t)reason >= sizeof kp_reasons / sizeof kp_reasons[0] ||
        !kp_reasons[reason].text)
        return "unknown reason";
    return kp_reasons[reason].text;
}

const char *mls_kp_reason_name(int reason)
{
    if (reason < 0 || (size_t)reason >= sizeof kp_reasons / sizeof kp_reasons[0] ||
        !kp_reasons[reason].name)
        return "MLS_KP_UNKNOWN";
    return kp_reasons[reason].name;
}

/* RFC 9420 §7.2: extension types 1..5 are defaults every client supports
 * and need not be listed in capabilities. */
static int ext_is_default(uint16_t t)
{
    return t >= MLS_EXT_APPLICATION_ID && t <= MLS_EXT_EXTERNAL_SENDERS;
}

/* The detail names the public entry point rather than its helpers. */
#define KP_DETAIL(err, rule) (mls_detail_set("mls_key_package_diagnose", (rule)), (err))

/* RFC 9420 §6 / §10: KeyPackages travel as MLSMessage(mls_key_package).  A
 * bare KeyPackage is read only when the bytes are no MLSMessage at all, so
 * every input has exactly one reading.  *bare is the KeyPackage's bytes. */
static int decode(mls_bytes in, mls_key_package *kp, mls_bytes *bare, int *reason)
{
    mls_message m;
    int err = mls_message_decode_bytes(in, &m);

    if (!err) {
        if (m.wire_format != MLS_WIRE_KEY_PACKAGE) {
            mls_message_clear(&m);
            *reason = MLS_KP_NOT_KEY_PACKAGE;
            return KP_DETAIL(MLS_ERR_MALFORMED,
                             "RFC 9420 §6: MLSMessage does not hold a KeyPackage");
        }
        *kp = m.key_package; /* ownership moves out of the message */
        *bare = mls_bytes_of(in.p + MESSAGE_PREFIX, in.n - MESSAGE_PREFIX);
        return 0;
    }
    if (mls_key_package_decode_bytes(in, kp) == 0) {
        *bare = in;
        return 0;
    }
    /* Neither reading works: malformed, whatever the MLSMessage decoder
     * tripped over first (e.g. a "version" that is really garbage). */
    *reason = MLS_KP_MALFORMED;
    if (err != MLS_ERR_TRAILING && err != MLS_ERR_NOMEM)
        err = MLS_ERR_MALFORMED;
    return KP_DETAIL(err, "RFC 9420 §10: not a well-formed MLSMessage(KeyPackage)");
}

/* Records the reason and the detail of a broken rule and returns err. */
#define REFUSE(why, err, rule) (*reason = (why), KP_DETAIL((err), (rule)))

/* Every rule but the signatures, in the order of the reason list. */
static int check_rules(const mls_suite *s, const mls_key_package *kp, uint16_t expected_suite,
                       uint64_t now, int *reason)
{
    const mls_leaf_node *ln = &kp->leaf_node;
    const mls_capabilities *caps = &ln->capabilities;

    if (kp->version != MLS_VERSION_MLS10)
        return REFUSE(MLS_KP_VERSION, MLS_ERR_UNSUPPORTED, "RFC 9420 §10.1: version is not mls10");
    if (!s)
        return REFUSE(MLS_KP_SUITE_UNSUPPORTED, MLS_ERR_UNSUPPORTED,
                      "RFC 9420 §10.1: cipher suite not supported");
    if (expected_suite && kp->cipher_suite != expected_suite)
        return REFUSE(MLS_KP_SUITE_MISMATCH, MLS_ERR_UNSUPPORTED,
                      "RFC 9420 §10.1: cipher suite is not the one in use");
    if (ln->source != MLS_LEAF_SOURCE_KEY_PACKAGE)
        return REFUSE(MLS_KP_LEAF_SOURCE, MLS_ERR_INVALID,
                      "RFC 9420 §7.3: leaf_node_source is not key_package");
    if (!mls_u16_list_contains(&caps->versions, MLS_VERSION_MLS10))
        return REFUSE(MLS_KP_CAP_VERSION, MLS_ERR_INVALID,
                      "RFC 9420 §7.2: capabilities do not list mls10");
    if (!mls_u16_list_contains(&caps->cipher_suites, kp->cipher_suite))
        return REFUSE(MLS_KP_CAP_SUITE, MLS_ERR_INVALID,
                      "RFC 9420 §10.1: capabilities do not list the cipher suite");
    if (!mls_u16_list_contains(&caps->credentials, ln->credential.type))
        return REFUSE(MLS_KP_CAP_CREDENTIAL, MLS_ERR_INVALID,
                      "RFC 9420 §7.2: capabilities do not list the credential type");
    if (mls_extension_list_check_unique(&ln->extensions) ||
        mls_extension_list_check_unique(&kp->extensions))
        return REFUSE(MLS_KP_DUPLICATE_EXTENSION, MLS_ERR_INVALID,
                      "RFC 9420 §13: an extension type appears twice");
    for (size_t i = 0; i < ln->extensions.n; i++)
        if (!ext_is_default(ln->extensions.v[i].type) &&
            !mls_u16_list_contains(&caps->extensions, ln->extensions.v[i].type))
            return REFUSE(MLS_KP_CAP_EXTENSION, MLS_ERR_INVALID,
                          "RFC 9420 §7.2: leaf extension not listed in capabilities");
    if (kp->init_key.n != s->kem_npk || ln->encryption_key.n != s->kem_npk)
        return REFUSE(MLS_KP_KEY_LENGTH, MLS_ERR_INVALID,
                      "RFC 9420 §10.1: HPKE key has the wrong length for the suite");
    if (ln->signature_key.n != s->sig_npk)
        return REFUSE(MLS_KP_SIGNATURE_KEY_LENGTH, MLS_ERR_INVALID,
                      "RFC 9420 §5.1.1: signature key has the wrong length for the suite");
    if (mls_ct_equal(mls_buf_view(&kp->init_key), mls_buf_view(&ln->encryption_key)))
        return REFUSE(MLS_KP_INIT_KEY_REUSED, MLS_ERR_INVALID,
                      "RFC 9420 §10.1: init_key equals the leaf encryption_key");
    if (now < ln->lifetime.not_before)
        return REFUSE(MLS_KP_NOT_YET_VALID, MLS_ERR_EXPIRED,
                      "RFC 9420 §7.2: lifetime starts in the future");
    if (now > ln->lifetime.not_after)
        return REFUSE(MLS_KP_EXPIRED, MLS_ERR_EXPIRED, "RFC 9420 §7.2: lifetime has ended");
    return 0;
}

/* RFC 9420 §7.2 (LeafNodeTBS without group context for a key_package
 * leaf) and §10.1 (KeyPackageTBS), both under the leaf's signature key. */
static int check_signatures(const mls_suite *s, const mls_key_package *kp, int *reason)
{
    mls_buf tbs;
    int err;

    if (mls_leaf_node_verify(s, &kp->leaf_node, mls_bytes_of(NULL, 0), 0) != 0)
        return REFUSE(MLS_KP_LEAF_SIGNATURE, MLS_ERR_SIGNATURE,
                      "RFC 9420 §7.2: leaf node signature does not verify");
    mls_buf_init(&tbs);
    err = mls_key_package_tbs_encode(kp, &tbs);
    if (!err && mls_verify_with_label(s, mls_buf_view(&kp->leaf_node.signature_key),
                                      "KeyPackageTBS", mls_buf_view(&tbs),
                                      mls_buf_view(&kp->signature)) != 0)
        err = REFUSE(MLS_KP_SIGNATURE, MLS_ERR_SIGNATURE,
                     "RFC 9420 §10.1: KeyPackage signature does not verify");
    mls_buf_clear(&tbs);
    return err;
}

int mls_key_package_diagnose(const mls_env *env, mls_bytes key_package, uint16_t expected_suite,
                             mls_key_package_info *info, int *reason)
{
    mls_key_package kp;
    mls_key_package_info inf;
    mls_bytes bare;
    const mls_suite *s;
    int why = MLS_KP_OK;
    int err;

    if (reason)
        *reason = MLS_KP_OK;
    if (!env || !env->now)
        return MLS_ERR_ARG;
    mls_error_detail_clear();
    memset(&kp, 0, sizeof kp);
    /* kp is zeroed and decoders leave it cleared on failure, so the one
     * exit below may clear it in every case. */
    if ((err = decode(key_package, &kp, &bare, &why)) != 0)
        goto out;
    s = mls_suite_get(kp.cipher_suite);
    if ((err = check_rules(s, &kp, expected_suite, env->now(env->ctx), &why)) != 0 ||
        (err = check_signatures(s, &kp, &why)) != 0)
        goto out;
    memset(&inf, 0, sizeof inf);
    inf.suite = kp.cipher_suite;
    inf.not_before = kp.leaf_node.lifetime.not_before;
    inf.not_after = kp.leaf_node.lifetime.not_after;
    inf.last_resort = mls_extension_list_find(&kp.extensions, MLS_EXTENSION_LAST_RESORT) != NULL;
    inf.credential_type = kp.leaf_node.credential.type;
    inf.key_package = bare;
    if (info) {
        /* Views into the caller's bytes: the bare KeyPackage is version,
         * cipher_suite, init_key<V>, then the LeafNode: encryption_key<V>,
         * signature_key<V>, credential (RFC 9420 §10, §7.2). */
        mls_reader r;
        mls_bytes skip;
        mls_credential c;
        size_t start;
        mls_reader_init_bytes(&r, bare);
        if ((err = mls_read_fixed(&r, 4, &skip)) != 0 ||
            (err = mls_read_vec_bytes(&r, &skip)) != 0 ||
            (err = mls_read_vec_bytes(&r, &skip)) != 0 ||
            (err = mls_read_vec_bytes(&r, &inf.signature_key)) != 0)
            goto out;
        start = r.off;
        if ((err = mls_credential_decode(&r, &c)) != 0)
            goto out;
        mls_credential_clear(&c);
        inf.credential = mls_bytes_of(bare.p + start, r.off - start);
        if (inf.credential_type == MLS_CREDENTIAL_BASIC &&
            (err = mls_credential_basic_identity(inf.credential, &inf.identity)) != 0)
            goto out;
        *info = inf;
    }
out:
    mls_key_package_clear(&kp);
    if (reason)
        *reason = why;
    return err;
}
