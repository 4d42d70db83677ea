/*
 * libmls: Messaging Layer Security (RFC 9420) in C11 over OpenSSL 3.0.
 *
 * This is the one header applications include.  The library performs no
 * I/O: bytes go in, bytes come out; randomness and the current time are
 * supplied by the caller through struct mls_env.
 */
#ifndef MLS_MLS_H
#define MLS_MLS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MLS_MUST_CHECK __attribute__((warn_unused_result))
#else
#define MLS_MUST_CHECK
#endif

/* Every public function is declared MLS_API: the library is compiled with
 * -fvisibility=hidden, so only these appear in libmls.so's dynamic symbol
 * table (as in ngtcp2 and s2n-tls); internal functions stay internal. */
#if defined(__GNUC__) || defined(__clang__)
#define MLS_API __attribute__((visibility("default")))
#else
#define MLS_API
#endif

/* ---------------------------------------------------------------- errors */

/*
 * One error list, grouped by kind.  0 is success.  "Malformed" (the bytes do
 * not parse) and "invalid" (they parse but break a protocol rule) stay
 * distinct so a server can tell a bad client from its own bug.
 */
#define MLS_ERRORS(X)                                                          \
    X(MLS_OK, 0, "success")                                                    \
    X(MLS_ERR_MALFORMED, 1, "malformed encoding")                              \
    X(MLS_ERR_TRAILING, 2, "trailing bytes after structure")                   \
    X(MLS_ERR_TOO_LARGE, 3, "length exceeds limit")                            \
    X(MLS_ERR_INVALID, 10, "invalid by protocol rules")                        \
    X(MLS_ERR_UNSUPPORTED, 11, "unsupported cipher suite, version or type")    \
    X(MLS_ERR_WRONG_EPOCH, 12, "message is for another epoch")                 \
    X(MLS_ERR_WRONG_GROUP, 13, "message is for another group")                 \
    X(MLS_ERR_KEY_USED, 14, "key already consumed or too old (generation)")    \
    X(MLS_ERR_NOT_FOUND, 15, "no such member, proposal or key")                \
    X(MLS_ERR_EXPIRED, 16, "lifetime not valid at this time")                  \
    X(MLS_ERR_CRYPTO, 20, "cryptographic operation failed")                    \
    X(MLS_ERR_SIGNATURE, 21, "signature verification failed")                  \
    X(MLS_ERR_DECRYPT, 22, "decryption or authentication tag failed")          \
    X(MLS_ERR_MAC, 23, "MAC, membership tag or confirmation tag mismatch")     \
    X(MLS_ERR_RANDOM, 24, "random number generator failed")                    \
    X(MLS_ERR_NOMEM, 30, "out of memory")                                      \
    X(MLS_ERR_ARG, 40, "invalid argument from the caller")                     \
    X(MLS_ERR_STATE, 41, "operation not allowed in the current state")

enum mls_error {
#define MLS_ERR_ENUM_(name, value, text) name = value,
    MLS_ERRORS(MLS_ERR_ENUM_)
#undef MLS_ERR_ENUM_
};

/* A readable English description of an error code. Never NULL. */
MLS_API const char *mls_strerror(int err);
/* The symbolic name of an error code ("MLS_ERR_MALFORMED"). Never NULL. */
MLS_API const char *mls_errname(int err);

/*
 * Which rule the last failing call on this thread broke, as
 * "function: RFC 9420 §section: rule" (e.g. "mls_key_package_diagnose:
 * RFC 9420 §10.1: init_key equals the leaf encryption_key"), or "" when
 * none was recorded.  The validation code records it where it refuses
 * (KeyPackages, signatures, membership and confirmation tags, proposal and
 * commit rules of §12.2, tree validation); a later failure replaces it and
 * success does not clear it, so read it right after a call returned an
 * error.  The string stays valid until the next call on this thread.
 */
MLS_API const char *mls_error_detail(void);
/* Forgets the recorded detail (e.g. before a call whose failure is to be
 * explained). */
MLS_API void mls_error_detail_clear(void);

/* ---------------------------------------------------------------- bytes */

/* A borrowed view of bytes.  Never owns its memory. */
typedef struct mls_bytes {
    const uint8_t *p;
    size_t n;
} mls_bytes;

/*
 * An owned, growable byte buffer.  A zeroed mls_buf is a valid empty buffer.
 * It may start on a caller-supplied array (mls_buf_init_stack); it moves to
 * the heap when it grows beyond it.  mls_buf_clear wipes the bytes before it
 * releases them, so buffers may hold secrets.
 */
typedef struct mls_buf {
    uint8_t *p;
    size_t n;
    size_t cap;
    uint8_t on_stack; /* p points at caller storage, not to be freed */
} mls_buf;

static inline mls_bytes mls_bytes_of(const uint8_t *p, size_t n)
{
    mls_bytes b;
    b.p = p;
    b.n = n;
    return b;
}
static inline mls_bytes mls_buf_view(const mls_buf *b)
{
    return mls_bytes_of(b->p, b->n);
}

MLS_API void mls_buf_init(mls_buf *b);
MLS_API void mls_buf_init_stack(mls_buf *b, uint8_t *storage, size_t cap);
MLS_API MLS_MUST_CHECK int mls_buf_reserve(mls_buf *b, size_t extra);
MLS_API MLS_MUST_CHECK int mls_buf_append(mls_buf *b, const void *p, size_t n);
/* Replaces the contents (wiping the old ones). */
MLS_API MLS_MUST_CHECK int mls_buf_set(mls_buf *b, const void *p, size_t n);
/* Makes an independent copy of src into dst (dst must be clear). */
MLS_API MLS_MUST_CHECK int mls_buf_copy(mls_buf *dst, const mls_buf *src);
/* Wipes the contents and releases heap memory; safe on a zeroed buffer and
 * safe to call twice. */
MLS_API void mls_buf_clear(mls_buf *b);
/* Sets n to 0 (wiping the old bytes) but keeps the allocation. */
MLS_API void mls_buf_reset(mls_buf *b);

/* Wipes memory in a way the compiler cannot remove. */
MLS_API void mls_wipe(void *p, size_t n);
/* Constant-time equality of two byte strings: 1 if equal, 0 otherwise.
 * The lengths are not secret. */
MLS_API int mls_ct_equal(mls_bytes a, mls_bytes b);

/* ---------------------------------------------------------------- env */

/*
 * Everything the library needs from the outside world.  random fills out
 * with n random bytes and returns 0 on success.  now returns the current
 * time in seconds since the Unix epoch (used for lifetimes).
 *
 * parallel_for (optional; NULL runs everything on the calling thread) is
 * an executor for independent items of public-key work: verifying every
 * leaf signature of a tree on join, the HPKE encryptions of an UpdatePath
 * and of a Welcome.  It must call fn(arg, i) once for every i in [0, n),
 * on any threads, in any order, and return 0 if every call returned 0,
 * else the value returned for the lowest failing i (it may skip the items
 * above a failed one).  parallel_ctx is its first argument.  Randomness is
 * drawn from random in a fixed order before the parallel part, so outputs
 * and errors are the same with any executor or none.  Initialize an
 * mls_env with designated initializers or zero it first: fields may be
 * added at the end.
 */
typedef struct mls_env {
    int (*random)(void *ctx, uint8_t *out, size_t n);
    uint64_t (*now)(void *ctx);
    void *ctx;
    int (*parallel_for)(void *parallel_ctx, size_t n, int (*fn)(void *arg, size_t i),
                        void *arg);
    void *parallel_ctx;
} mls_env;

/* An environment backed by OpenSSL's RAND_bytes and time(NULL);
 * sequential (no executor). */
MLS_API const mls_env *mls_env_default(void);
/* The same with the library's thread pool as executor: one thread per
 * core (the caller's included), created on the first call, shared and
 * thread-safe; the pool runs one loop at a time, a loop started while
 * another runs is run by its caller alone. */
MLS_API const mls_env *mls_env_default_parallel(void);

/* A pool of `threads` threads for parallel_for (0: one per core; 1: no
 * worker thread, everything on the caller's): set parallel_for to
 * mls_pool_parallel_for and parallel_ctx to the pool.  mls_pool_free
 * must not run while a loop is using the pool. */
typedef struct mls_pool mls_pool;
MLS_API MLS_MUST_CHECK int mls_pool_new(unsigned threads, mls_pool **out);
MLS_API void mls_pool_free(mls_pool *pool);
MLS_API int mls_pool_parallel_for(void *pool, size_t n, int (*fn)(void *arg, size_t i), void *arg);

/* ---------------------------------------------------------------- suites */

enum {
    MLS_SUITE_X25519_AES128GCM_SHA256_ED25519 = 0x0001,
    MLS_SUITE_P256_AES128GCM_SHA256_P256 = 0x0002,
    MLS_SUITE_X25519_CHACHA20POLY1305_SHA256_ED25519 = 0x0003,
    MLS_SUITE_X448_AES256GCM_SHA512_ED448 = 0x0004,
    MLS_SUITE_P521_AES256GCM_SHA512_P521 = 0x0005,
    MLS_SUITE_X448_CHACHA20POLY1305_SHA512_ED448 = 0x0006,
    MLS_SUITE_P384_AES256GCM_SHA384_P384 = 0x0007
};

#ifdef __cplusplus
}
#endif
#endif
