/*
 * Secrets at rest: the client's data key and the sealing of database
 * fields that hold secret key material (the signature private key,
 * KeyPackage private bundles, serialized group states).
 *
 * A sealed field is AES-256-GCM (NIST SP 800-38D) under the data key:
 *
 *   u8 version (1) | nonce[12] (fresh, random) | ciphertext | tag[16]
 *
 * with the row's identity (table, column, key column value) as
 * associated data, so that a blob moved to another row or column does not
 * open.  The data key lives in <config>/key (mode 0600), either as is
 * (no passphrase) or wrapped under a key derived from a passphrase with
 * scrypt (RFC 7914), the parameters stored in the file.  SECURITY.md says
 * what each gives a thief of the config directory.
 */
#ifndef CLI_SEAL_H
#define CLI_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "mls/mls.h"

#define CLI_SEAL_KEY_LEN 32
/* version + nonce + tag */
#define CLI_SEAL_OVERHEAD (1 + 12 + 16)

struct cli_seal_key {
    uint8_t k[CLI_SEAL_KEY_LEN]; /* secret */
};
void cli_seal_key_clear(struct cli_seal_key *key);

/* scrypt cost (RFC 7914 §2): N = 2^log2_n, r, p.  The defaults are
 * log2_n 15, r 8, p 1 (32 MiB, about 0.1 s). */
struct cli_seal_kdf {
    uint8_t log2_n;
    uint32_t r, p;
};

enum cli_seal_key_result {
    CLI_SEAL_KEY_OK = 0,
    CLI_SEAL_KEY_ERROR = -1,          /* I/O, malformed file, out of memory */
    CLI_SEAL_KEY_NEED_PASSPHRASE = -2, /* the file is protected, none given */
    CLI_SEAL_KEY_WRONG_PASSPHRASE = -3 /* the wrapped key does not open */
};

/* The key file of a config directory: <dir>/key (malloc'd). */
char *cli_seal_key_path(const char *dir);
/* 1 if the key file at path exists and is protected by a passphrase, 0
 * if it does not exist or has none, -1 if it cannot be read. */
int cli_seal_key_file_protected(const char *path);

/*
 * Loads the data key from the key file at path, creating the file (mode
 * 0600, written whole, then linked into place so that two clients
 * starting at once agree on one key) when it does not exist.  passphrase
 * NULL or empty: none.  A new file is protected when a passphrase is
 * given; an existing unprotected file given a passphrase is rewrapped
 * under it (the key itself stays).  kdf NULL: the defaults.  On failure
 * nothing on disk is changed and err says why.
 */
int cli_seal_key_load(const char *path, const char *passphrase, const struct cli_seal_kdf *kdf,
                      struct cli_seal_key *key, char *err, size_t errlen);

/* Seals pt under key with associated data ad into out (replacing it). */
int cli_seal(const struct cli_seal_key *key, mls_bytes ad, mls_bytes pt, mls_buf *out);
/* Opens a sealed field: 0, or -1 when it is malformed, was sealed for
 * another row (ad) or under another key, or was altered.  out is written
 * only on success. */
int cli_unseal(const struct cli_seal_key *key, mls_bytes ad, mls_bytes sealed, mls_buf *out);

#endif
