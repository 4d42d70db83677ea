/* Proof of possession of a signature key over a challenge nonce. */
#include "auth.h"

#include <string.h>

#include "mls/inspect.h"

int srv_auth_verify(const srv_auth_claim *c, mls_bytes sig)
{
    if (!mls_suite_supported(c->suite))
        return MLS_ERR_UNSUPPORTED;
    mls_buf content;
    mls_buf_init(&content);
    int err = chat_auth_content_encode(c, &content);
    if (!err)
        err = mls_signature_verify(c->suite, c->sig_key, SRV_AUTH_LABEL, mls_buf_view(&content),
                                   sig)
                  ? MLS_ERR_SIGNATURE
                  : MLS_OK;
    mls_buf_clear(&content);
    return err;
}

void srv_auth_fingerprint(mls_bytes key, char out[SRV_FINGERPRINT_LEN + 1])
{
    if (mls_signature_key_fingerprint(key, out) != MLS_OK)
        out[0] = 0;
}

int srv_auth_key_ok(uint16_t suite, mls_bytes key)
{
    return mls_suite_supported(suite) && key.n == mls_suite_signature_key_size(suite);
}

/* A ring of recently used nonces.  Nonces are 32 random bytes, so a match
 * can only be a replay; a linear scan of a few thousand is cheap next to
 * the signature check every login costs anyway. */
#define NONCE_RING 4096
static uint8_t used_nonces[NONCE_RING][SRV_NONCE_LEN];
static size_t used_next, used_count;

void srv_nonce_mark_used(const uint8_t nonce[SRV_NONCE_LEN])
{
    memcpy(used_nonces[used_next], nonce, SRV_NONCE_LEN);
    used_next = (used_next + 1) % NONCE_RING;
    if (used_count < NONCE_RING)
        used_count++;
}

int srv_nonce_was_used(mls_bytes nonce)
{
    if (nonce.n != SRV_NONCE_LEN)
        return 0;
    for (size_t i = 0; i < used_count; i++)
        if (memcmp(used_nonces[i], nonce.p, SRV_NONCE_LEN) == 0)
            return 1;
    return 0;
}
