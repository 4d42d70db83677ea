/* Secrets at rest: the data key file and sealed fields.  See seal.h. */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "util.h"

#define SEAL_VERSION 1
#define SEAL_NONCE 12
#define SEAL_TAG 16
/* Domain separation: a sealed field never opens as anything else. */
#define SEAL_AD_LABEL "mlschat seal v1"

/*
 * The key file:
 *   "MLSCKEY1" | u8 kind
 *   kind 0 (no passphrase): key[32]
 *   kind 1 (passphrase): u8 log2_n | u32 r | u32 p | salt[16] |
 *                        nonce[12] | wrapped key[32] | tag[16]
 * with everything before the nonce as the wrap's associated data, so the
 * stored scrypt parameters cannot be changed without the wrap failing.
 */
#define KF_MAGIC "MLSCKEY1"
#define KF_MAGIC_LEN 8
#define KF_PLAIN 0
#define KF_WRAPPED 1
#define KF_SALT 16
#define KF_HDR (KF_MAGIC_LEN + 1 + 1 + 4 + 4 + KF_SALT)
#define KF_PLAIN_LEN (KF_MAGIC_LEN + 1 + CLI_SEAL_KEY_LEN)
#define KF_WRAPPED_LEN (KF_HDR + SEAL_NONCE + CLI_SEAL_KEY_LEN + SEAL_TAG)
/* scrypt cost the file may ask for: at most 2^22 x 128 x r bytes of
 * memory, so a planted file cannot make the client allocate without
 * bound. */
#define KF_MAX_LOG2_N 22
#define KF_MAX_R 32
#define KF_MAX_P 16

void cli_seal_key_clear(struct cli_seal_key *key)
{
    if (key)
        OPENSSL_cleanse(key->k, sizeof key->k);
}

/* AES-256-GCM, one shot.  enc 1: in -> out, tag written; enc 0: in ->
 * out, tag checked (by OpenSSL, in constant time).  0 or -1. */
static int gcm(int enc, const uint8_t key[CLI_SEAL_KEY_LEN], const uint8_t nonce[SEAL_NONCE],
               const uint8_t *ad1, size_t ad1_n, const uint8_t *ad2, size_t ad2_n,
               const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[SEAL_TAG])
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len, rc = -1;
    if (!c || n > INT32_MAX || ad2_n > INT32_MAX)
        goto out;
    if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE, NULL) != 1 ||
        EVP_CipherInit_ex(c, NULL, NULL, key, nonce, enc) != 1)
        goto out;
    if (ad1_n && EVP_CipherUpdate(c, NULL, &len, ad1, (int)ad1_n) != 1)
        goto out;
    if (ad2_n && EVP_CipherUpdate(c, NULL, &len, ad2, (int)ad2_n) != 1)
        goto out;
    if (n && EVP_CipherUpdate(c, out, &len, in, (int)n) != 1)
        goto out;
    if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG, tag) != 1)
        goto out;
    if (EVP_CipherFinal_ex(c, out + n, &len) != 1)
        goto out;
    if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG, tag) != 1)
        goto out;
    rc = 0;
out:
    EVP_CIPHER_CTX_free(c);
    return rc;
}

int cli_seal(const struct cli_seal_key *key, mls_bytes ad, mls_bytes pt, mls_buf *out)
{
    uint8_t *p;
    int rc = -1;
    mls_buf_reset(out);
    if (pt.n > SIZE_MAX - CLI_SEAL_OVERHEAD || mls_buf_reserve(out, pt.n + CLI_SEAL_OVERHEAD) != 0)
        return -1;
    p = out->p;
    p[0] = SEAL_VERSION;
    /* A fresh random nonce per write: with 96 random bits the chance of a
     * repeat stays negligible far beyond the writes one client makes
     * (NIST SP 800-38D §8.3). */
    if (RAND_bytes(p + 1, SEAL_NONCE) != 1)
        goto out;
    if (gcm(1, key->k, p + 1, (const uint8_t *)SEAL_AD_LABEL, sizeof SEAL_AD_LABEL, ad.p, ad.n,
            pt.p, pt.n, p + 1 + SEAL_NONCE, p + 1 + SEAL_NONCE + pt.n) != 0)
        goto out;
    out->n = pt.n + CLI_SEAL_OVERHEAD;
    rc = 0;
out:
    if (rc != 0)
        mls_buf_reset(out);
    return rc;
}

int cli_unseal(const struct cli_seal_key *key, mls_bytes ad, mls_bytes sealed, mls_buf *out)
{
    mls_buf pt;
    size_t n;
    uint8_t tag[SEAL_TAG];
    int rc = -1;

    mls_buf_init(&pt);
    if (sealed.n < CLI_SEAL_OVERHEAD || sealed.p[0] != SEAL_VERSION)
        goto out;
    n = sealed.n - CLI_SEAL_OVERHEAD;
    if (mls_buf_reserve(&pt, n + 1) != 0)
        goto out;
    memcpy(tag, sealed.p + 1 + SEAL_NONCE + n, SEAL_TAG);
    if (gcm(0, key->k, sealed.p + 1, (const uint8_t *)SEAL_AD_LABEL, sizeof SEAL_AD_LABEL, ad.p,
            ad.n, sealed.p + 1 + SEAL_NONCE, n, pt.p, tag) != 0)
        goto out;
    pt.n = n;
    mls_buf_clear(out);
    *out = pt;
    mls_buf_init(&pt);
    rc = 0;
out:
    mls_buf_clear(&pt);
    return rc;
}

/* ------------------------------------------------------------ key file */

char *cli_seal_key_path(const char *dir)
{
    return cli_strdupf("%s/key", dir);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the whole key file (at most KF_WRAPPED_LEN + 1 bytes, so an
 * oversized file shows as malformed).  1 if it does not exist, 0, -1. */
static int read_file(const char *path, uint8_t *buf, size_t max, size_t *n, char *err,
                     size_t errlen)
{
    struct stat sb;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = -1;
    *n = 0;
    if (fd < 0) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, errlen, "cannot read the key file %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "cannot read the key file %s: %s", path, strerror(errno));
        goto out;
    }
    /* Like ssh with its private keys: a key file others can read is
     * refused rather than used. */
    if ((sb.st_mode & 077) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errlen,
                 "the key file %s is not a regular file of mode 0600 (mode %03o): "
                 "run chmod 600 on it", path, (unsigned)(sb.st_mode & 0777));
        goto out;
    }
    while (*n < max && (r = read(fd, buf + *n, max - *n)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "cannot read the key file %s: %s", path, strerror(errno));
            goto out;
        }
        *n += (size_t)r;
    }
    rc = 0;
out:
    close(fd);
    return rc;
}

/* Writes bytes to a new file beside path and moves it into place: with
 * replace 0 by link(), which fails if path exists (another client made
 * it first: 1); with replace 1 by rename().  0, 1, -1. */
static int write_file(const char *path, const uint8_t *p, size_t n, int replace, char *err,
                      size_t errlen)
{
    char *tmp = cli_strdupf("%s.new.%ld", path, (long)getpid());
    size_t off = 0;
    int fd = -1, rc = -1;
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        goto io;
    while (off < n) {
        ssize_t w = write(fd, p + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto io;
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        goto io;
    }
    fd = -1;
    if (replace ? rename(tmp, path) != 0 : link(tmp, path) != 0) {
        if (!replace && errno == EEXIST) {
            rc = 1;
            goto out;
        }
        goto io;
    }
    rc = 0;
    goto out;
io:
    snprintf(err, errlen, "cannot write the key file %s: %s", path, strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    (void)unlink(tmp);
    free(tmp);
    return rc;
}

/* RFC 7914 scrypt through OpenSSL's EVP_KDF "SCRYPT". */
static int derive(const char *passphrase, const uint8_t *salt, uint8_t log2_n, uint32_t r,
                  uint32_t p, uint8_t out[CLI_SEAL_KEY_LEN])
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
    EVP_KDF_CTX *kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    uint64_t n = (uint64_t)1 << log2_n;
    uint64_t maxmem = (uint64_t)(1u << 30) + (uint64_t)(1u << 20) * 64;
    OSSL_PARAM params[7];
    int rc = -1;
    if (!kctx)
        goto out;
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)passphrase,
                                                  strlen(passphrase));
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, KF_SALT);
    params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
    params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem);
    params[6] = OSSL_PARAM_construct_end();
    if (EVP_KDF_derive(kctx, out, CLI_SEAL_KEY_LEN, params) != 1)
        goto out;
    rc = 0;
out:
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rc;
}

/* Builds a kind-1 file holding key wrapped under passphrase. */
static int wrap(const struct cli_seal_key *key, const char *passphrase,
                const struct cli_seal_kdf *kdf, uint8_t file[KF_WRAPPED_LEN])
{
    uint8_t kek[CLI_SEAL_KEY_LEN];
    uint8_t *salt = file + KF_MAGIC_LEN + 2 + 8, *nonce = file + KF_HDR;
    int rc = -1;
    memcpy(file, KF_MAGIC, KF_MAGIC_LEN);
    file[KF_MAGIC_LEN] = KF_WRAPPED;
    file[KF_MAGIC_LEN + 1] = kdf->log2_n;
    put_u32(file + KF_MAGIC_LEN + 2, kdf->r);
    put_u32(file + KF_MAGIC_LEN + 6, kdf->p);
    if (RAND_bytes(salt, KF_SALT) != 1 || RAND_bytes(nonce, SEAL_NONCE) != 1 ||
        derive(passphrase, salt, kdf->log2_n, kdf->r, kdf->p, kek) != 0 ||
        gcm(1, kek, nonce, file, KF_HDR, NULL, 0, key->k, CLI_SEAL_KEY_LEN,
            nonce + SEAL_NONCE, nonce + SEAL_NONCE + CLI_SEAL_KEY_LEN) != 0)
        goto out;
    rc = 0;
out:
    OPENSSL_cleanse(kek, sizeof kek);
    return rc;
}

/* Opens a kind-1 file: CLI_SEAL_KEY_OK, _WRONG_PASSPHRASE or _ERROR. */
static int unwrap(const uint8_t file[KF_WRAPPED_LEN], const char *passphrase,
                  struct cli_seal_key *key, char *err, size_t errlen, const char *path)
{
    uint8_t kek[CLI_SEAL_KEY_LEN], k[CLI_SEAL_KEY_LEN], tag[SEAL_TAG];
    uint8_t log2_n = file[KF_MAGIC_LEN + 1];
    uint32_t r = get_u32(file + KF_MAGIC_LEN + 2), p = get_u32(file + KF_MAGIC_LEN + 6);
    const uint8_t *nonce = file + KF_HDR;
    int rc = CLI_SEAL_KEY_ERROR;

    if (log2_n < 1 || log2_n > KF_MAX_LOG2_N || r < 1 || r > KF_MAX_R || p < 1 || p > KF_MAX_P) {
        snprintf(err, errlen, "the key file %s asks for scrypt parameters out of range", path);
        goto out;
    }
    if (derive(passphrase, file + KF_MAGIC_LEN + 10, log2_n, r, p, kek) != 0) {
        snprintf(err, errlen, "cannot derive a key from the passphrase (scrypt failed)");
        goto out;
    }
    memcpy(tag, nonce + SEAL_NONCE + CLI_SEAL_KEY_LEN, SEAL_TAG);
    if (gcm(0, kek, nonce, file, KF_HDR, NULL, 0, nonce + SEAL_NONCE, CLI_SEAL_KEY_LEN, k,
            tag) != 0) {
        snprintf(err, errlen, "wrong passphrase for the key file %s (nothing was changed)", path);
        rc = CLI_SEAL_KEY_WRONG_PASSPHRASE;
        goto out;
    }
    memcpy(key->k, k, sizeof k);
    rc = CLI_SEAL_KEY_OK;
out:
    OPENSSL_cleanse(kek, sizeof kek);
    OPENSSL_cleanse(k, sizeof k);
    return rc;
}

int cli_seal_key_file_protected(const char *path)
{
    uint8_t buf[KF_WRAPPED_LEN + 1];
    char err[256];
    size_t n;
    int r = read_file(path, buf, sizeof buf, &n, err, sizeof err);
    if (r == 0)
        r = n < KF_MAGIC_LEN + 1 || memcmp(buf, KF_MAGIC, KF_MAGIC_LEN) != 0
                ? -1
                : buf[KF_MAGIC_LEN] == KF_WRAPPED;
    else if (r == 1)
        r = 0;
    OPENSSL_cleanse(buf, sizeof buf);
    return r;
}

int cli_seal_key_load(const char *path, const char *passphrase, const struct cli_seal_kdf *kdf,
                      struct cli_seal_key *key, char *err, size_t errlen)
{
    static const struct cli_seal_kdf defaults = {15, 8, 1};
    uint8_t buf[KF_WRAPPED_LEN + 1];
    struct cli_seal_key k;
    size_t n;
    int rc = CLI_SEAL_KEY_ERROR, r, tries;

    memset(&k, 0, sizeof k);
    if (passphrase && !*passphrase)
        passphrase = NULL;
    if (!kdf)
        kdf = &defaults;
    /* Twice at most: a key file made by another client between our read
     * and our link is read on the second pass. */
    for (tries = 0; tries < 2; tries++) {
        r = read_file(path, buf, sizeof buf, &n, err, errlen);
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        /* No key file yet: a fresh random data key. */
        if (RAND_bytes(k.k, sizeof k.k) != 1) {
            snprintf(err, errlen, "no random bytes for a new data key");
            goto out;
        }
        if (passphrase) {
            if (wrap(&k, passphrase, kdf, buf) != 0) {
                snprintf(err, errlen, "cannot protect the new data key (scrypt failed)");
                goto out;
            }
            n = KF_WRAPPED_LEN;
        } else {
            memcpy(buf, KF_MAGIC, KF_MAGIC_LEN);
            buf[KF_MAGIC_LEN] = KF_PLAIN;
            memcpy(buf + KF_MAGIC_LEN + 1, k.k, sizeof k.k);
            n = KF_PLAIN_LEN;
        }
        r = write_file(path, buf, n, 0, err, errlen);
        if (r < 0)
            goto out;
        if (r == 0) {
            *key = k;
            rc = CLI_SEAL_KEY_OK;
            goto out;
        }
    }
    if (r != 0) {
        snprintf(err, errlen, "the key file %s keeps appearing and vanishing", path);
        goto out;
    }
    if (n < KF_MAGIC_LEN + 1 || memcmp(buf, KF_MAGIC, KF_MAGIC_LEN) != 0 ||
        (buf[KF_MAGIC_LEN] == KF_PLAIN && n != KF_PLAIN_LEN) ||
        (buf[KF_MAGIC_LEN] == KF_WRAPPED && n != KF_WRAPPED_LEN) ||
        buf[KF_MAGIC_LEN] > KF_WRAPPED) {
        snprintf(err, errlen, "the key file %s is malformed", path);
        goto out;
    }
    if (buf[KF_MAGIC_LEN] == KF_WRAPPED) {
        if (!passphrase) {
            snprintf(err, errlen,
                     "the key file %s is protected by a passphrase: give it with "
                     "--passphrase-file or MLSCHAT_PASSPHRASE", path);
            rc = CLI_SEAL_KEY_NEED_PASSPHRASE;
            goto out;
        }
        rc = unwrap(buf, passphrase, &k, err, errlen, path);
        if (rc == CLI_SEAL_KEY_OK)
            *key = k;
        goto out;
    }
    memcpy(k.k, buf + KF_MAGIC_LEN + 1, sizeof k.k);
    if (passphrase) {
        /* Protecting an existing key: the same data key, wrapped from now
         * on (the databases need no change). */
        if (wrap(&k, passphrase, kdf, buf) != 0) {
            snprintf(err, errlen, "cannot protect the data key (scrypt failed)");
            goto out;
        }
        if (write_file(path, buf, KF_WRAPPED_LEN, 1, err, errlen) != 0)
            goto out;
    }
    *key = k;
    rc = CLI_SEAL_KEY_OK;
out:
    OPENSSL_cleanse(buf, sizeof buf);
    cli_seal_key_clear(&k);
    return rc;
}
