/* KeyPackage validation on upload: libmls checks every rule of RFC 9420
 * §10.1 (mls_key_package_diagnose); the server adds its directory policy. */
#include "kpcheck.h"

#include <string.h>

#include "mls/inspect.h"

/* The library reads the current time through an mls_env; the server's
 * clock is x->now. */
static uint64_t expect_now(void *ctx)
{
    return ((const srv_kp_expect *)ctx)->now;
}

static int refuse(const char **why, const char *text)
{
    *why = text;
    return MLS_ERR_INVALID;
}

int srv_kp_validate(mls_bytes in, const srv_kp_expect *x, srv_kp_info *info, const char **why)
{
    mls_env env = *mls_env_default();
    mls_key_package_info kp;
    int reason = MLS_KP_OK;

    env.now = expect_now;
    env.ctx = (void *)x;
    /* RFC 9420 §10.1 with the user's registered suite as the one in use:
     * decoding, version, suite, capabilities, extensions, key lengths,
     * lifetime at x->now, both signatures. */
    int err = mls_key_package_diagnose(&env, in, x->suite, &kp, &reason);
    if (err) {
        *why = mls_kp_reason_text(reason);
        /* The wire format and decoding reasons are malformed input;
         * everything else decodes but breaks a rule. */
        return reason == MLS_KP_MALFORMED || reason == MLS_KP_NOT_KEY_PACKAGE ? MLS_ERR_MALFORMED
               : err == MLS_ERR_MALFORMED                                    ? MLS_ERR_INVALID
                                                                             : err;
    }
    /* The server's policy (docs/PROTOCOL.md §6): the KeyPackage is the
     * uploader's. */
    if (!mls_ct_equal(kp.signature_key, x->sig_key))
        return refuse(why, "signature key is not the user's registered key");
    if (kp.credential_type != MLS_CREDENTIAL_TYPE_BASIC || kp.identity.n != strlen(x->identity) ||
        memcmp(kp.identity.p, x->identity, kp.identity.n) != 0)
        return refuse(why, "credential identity is not the uploader's username");
    info->key_package = kp.key_package;
    info->not_after = kp.not_after;
    return MLS_OK;
}
