/* AuthContent (docs/PROTOCOL.md §3), src/common/auth_content.c: the exact
 * bytes, and a signature by mls_identity_sign that the server's check
 * (mls_signature_verify with CHAT_AUTH_LABEL) accepts. */
#include "auth_content.h"
#include "mls/group.h"
#include "test.h"

#include <string.h>

int main(void)
{
    static const uint8_t nonce[3] = {0xaa, 0xbb, 0xcc};
    static const uint8_t key[2] = {0x01, 0x02};
    static const uint8_t want[] = {
        0x05, 'l', 'o', 'g', 'i', 'n',                  /* action<V> */
        0x03, 0xaa, 0xbb, 0xcc,                         /* nonce<V> */
        0, 0, 0, 0, 0x65, 0x5f, 0x2a, 0x00,             /* timestamp */
        0x03, 'b', 'o', 'b',                            /* username<V> */
        0x00, 0x01,                                     /* cipher_suite */
        0x02, 0x01, 0x02};                              /* signature_key<V> */
    chat_auth_content c = {"login", mls_bytes_of(nonce, 3), 0x655f2a00, "bob", 1,
                           mls_bytes_of(key, 2)};
    mls_buf w, sig;
    mls_identity *id = NULL;

    mls_buf_init(&w);
    mls_buf_init(&sig);
    CHECK_OK(chat_auth_content_encode(&c, &w));
    CHECK(w.n == sizeof want && memcmp(w.p, want, w.n) == 0);

    /* Signed by the client, verified as the server does. */
    CHECK_OK(mls_identity_generate(mls_env_default(), 1, mls_bytes_of((const uint8_t *)"bob", 3),
                                   &id));
    c.sig_key = mls_identity_signature_key(id);
    mls_buf_reset(&w);
    CHECK_OK(chat_auth_content_encode(&c, &w));
    CHECK_OK(mls_identity_sign(mls_env_default(), id, CHAT_AUTH_LABEL, mls_buf_view(&w), &sig));
    CHECK_OK(mls_signature_verify(1, c.sig_key, CHAT_AUTH_LABEL, mls_buf_view(&w),
                                  mls_buf_view(&sig)));
    CHECK_ERR(mls_signature_verify(1, c.sig_key, "another label", mls_buf_view(&w),
                                   mls_buf_view(&sig)),
              MLS_ERR_SIGNATURE);
    mls_identity_free(id);
    mls_buf_clear(&w);
    mls_buf_clear(&sig);
    TEST_MAIN_END("test_common_auth_content");
}
