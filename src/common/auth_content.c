/* AuthContent encoding (docs/PROTOCOL.md §3) on the public libmls codec. */
#include "auth_content.h"

#include <string.h>

#include "mls/codec.h"

static mls_bytes str_bytes(const char *s)
{
    return mls_bytes_of((const uint8_t *)s, strlen(s));
}

int chat_auth_content_encode(const chat_auth_content *c, mls_buf *out)
{
    int err = mls_tls_write_opaque(out, str_bytes(c->action));
    if (!err)
        err = mls_tls_write_opaque(out, c->nonce);
    if (!err)
        err = mls_tls_write_u64(out, c->timestamp);
    if (!err)
        err = mls_tls_write_opaque(out, str_bytes(c->username));
    if (!err)
        err = mls_tls_write_u16(out, c->suite);
    if (!err)
        err = mls_tls_write_opaque(out, c->sig_key);
    return err;
}
