/* Byte buffers, wiping, constant-time comparison, error strings, default
 * environment. */
#include "mls/mls.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *mls_strerror(int err)
{
    switch (err) {
#define MLS_ERR_STR_(name, value, text) \
    case value:                        \
        return text;
        MLS_ERRORS(MLS_ERR_STR_)
#undef MLS_ERR_STR_
    }
    return "unknown error";
}

const char *mls_errname(int err)
{
    switch (err) {
#define MLS_ERR_NAME_(name, value, text) \
    case value:                         \
        return #name;
        MLS_ERRORS(MLS_ERR_NAME_)
#undef MLS_ERR_NAME_
    }
    return "MLS_ERR_UNKNOWN";
}

void mls_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

int mls_ct_equal(mls_bytes a, mls_bytes b)
{
    if (a.n != b.n)
        return 0;
    if (a.n == 0)
        return 1;
    return CRYPTO_memcmp(a.p, b.p, a.n) == 0;
}

void mls_buf_init(mls_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void mls_buf_init_stack(mls_buf *b, uint8_t *storage, size_t cap)
{
    b->p = storage;
    b->n = 0;
    b->cap = cap;
    b->on_stack = 1;
}

int mls_buf_reserve(mls_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->n)
        return MLS_ERR_NOMEM;
    size_t need = b->n + extra;
    if (need <= b->cap)
        return MLS_OK;
    size_t cap = b->cap ? b->cap : 32;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    /* Never realloc: the old bytes may be secret and must be wiped. */
    uint8_t *p = malloc(cap);
    if (!p)
        return MLS_ERR_NOMEM;
    if (b->n)
        memcpy(p, b->p, b->n);
    if (b->p) {
        mls_wipe(b->p, b->cap);
        if (!b->on_stack)
            free(b->p);
    }
    b->p = p;
    b->cap = cap;
    b->on_stack = 0;
    return MLS_OK;
}

int mls_buf_append(mls_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return MLS_OK;
    int err = mls_buf_reserve(b, n);
    if (err)
        return err;
    memmove(b->p + b->n, p, n);
    b->n += n;
    return MLS_OK;
}

int mls_buf_set(mls_buf *b, const void *p, size_t n)
{
    if (b->p && p >= (const void *)b->p && p < (const void *)(b->p + b->cap)) {
        /* Source aliases our own storage: copy through a fresh buffer. */
        mls_buf tmp;
        mls_buf_init(&tmp);
        int err = mls_buf_append(&tmp, p, n);
        if (err)
            return err;
        mls_buf_clear(b);
        *b = tmp;
        return MLS_OK;
    }
    mls_buf_reset(b);
    return mls_buf_append(b, p, n);
}

int mls_buf_copy(mls_buf *dst, const mls_buf *src)
{
    mls_buf_init(dst);
    return mls_buf_append(dst, src->p, src->n);
}

void mls_buf_reset(mls_buf *b)
{
    if (b->p)
        mls_wipe(b->p, b->n);
    b->n = 0;
}

void mls_buf_clear(mls_buf *b)
{
    if (b->p) {
        mls_wipe(b->p, b->cap);
        if (!b->on_stack)
            free(b->p);
    }
    memset(b, 0, sizeof(*b));
}

static int default_random(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    while (n > 0) {
        int chunk = n > 1 << 30 ? 1 << 30 : (int)n;
        if (RAND_bytes(out, chunk) != 1)
            return MLS_ERR_RANDOM;
        out += chunk;
        n -= (size_t)chunk;
    }
    return MLS_OK;
}

static uint64_t default_now(void *ctx)
{
    (void)ctx;
    return (uint64_t)time(NULL);
}

const mls_env *mls_env_default(void)
{
    static const mls_env env = {.random = default_random, .now = default_now};
    return &env;
}
