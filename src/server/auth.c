/* Proof of possession of a signature key over a challenge nonce. */
#include "auth.h"

#include <openssl/sha.h>
#include <string.h>

#include "codec.h"
#include "crypto.h"

/* docs/PROTOCOL.md §3: struct { opaque action<V>; opaque nonce<V>;
 * uint64 timestamp; opaque username<V>; uint16 cipher_suite;
 * opaque signature_key<V>; } AuthContent. */
static int auth_content(const srv_auth_claim *c, mls_buf *w)
{
    int err = mls_write_vec(w, (const uint8_t *)c->action, strlen(c->action));
    if (!err)
        err = mls_write_vec_bytes(w, c->nonce);
    if (!err)
        err = mls_write_u64(w, c->timestamp);
    if (!err)
        err = mls_write_vec(w, (const uint8_t *)c->username, strlen(c->username));
    if (!err)
        err = mls_write_u16(w, c->suite);
    if (!err)
        err = mls_write_vec_bytes(w, c->sig_key);
    return err;
}

int srv_auth_verify(const srv_auth_claim *c, mls_bytes sig)
{
    const mls_suite *s = mls_suite_get(c->suite);
    if (!s)
        return MLS_ERR_UNSUPPORTED;
    mls_buf content;
    mls_buf_init(&content);
    int err = auth_content(c, &content);
    if (!err)
        err = mls_verify_with_label(s, c->sig_key, SRV_AUTH_LABEL, mls_buf_view(&content), sig)
                  ? MLS_ERR_SIGNATURE
                  : MLS_OK;
    mls_buf_clear(&content);
    return err;
}

void srv_auth_fingerprint(mls_bytes key, char out[SRV_FINGERPRINT_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t h[SHA256_DIGEST_LENGTH];
    SHA256(key.p, key.n, h);
    size_t o = 0;
    for (size_t i = 0; i < sizeof h; i++) {
        if (i && i % 2 == 0)
            out[o++] = ':';
        out[o++] = hex[h[i] >> 4];
        out[o++] = hex[h[i] & 15];
    }
    out[o] = 0;
}

int srv_auth_key_ok(uint16_t suite, mls_bytes key)
{
    const mls_suite *s = mls_suite_get(suite);
    return s && key.n == s->sig_npk;
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
