/* Safety numbers, epoch codes, pin verdicts.  See verify.h. */
#include "verify.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

/*
 * The safety number follows the shape of Signal's "numeric fingerprint"
 * (written here from its description, not its code): each user's half is
 * a hash of a fixed label, the name and the key, iterated so that finding
 * a second key with the same half costs 2^iterations more; the halves are
 * sorted so that both users see the same number.
 */
#define SAFETY_LABEL "mlschat safety number v1"
#define SAFETY_ITERATIONS 5200
#define HALF_DIGITS 30
#define EPOCH_LABEL "mlschat epoch code v1"

/* Big-endian 5 bytes reduced to 5 decimal digits (2^40 / 10^5 leaves a
 * bias under 10^-7 per group). */
static void digits5(const uint8_t *p, char out[6])
{
    uint64_t v = 0;
    int i;
    for (i = 0; i < 5; i++)
        v = v << 8 | p[i];
    snprintf(out, 6, "%05u", (unsigned)(v % 100000u));
}

/* One user's 30 digits: H^5200 over (label, len16(name) name, len16(key) key). */
static int half(const char *user, mls_bytes key, char out[HALF_DIGITS + 1])
{
    uint8_t h[64], len[4];
    size_t un = strlen(user);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int rc = -1, i;

    if (!c || un > 0xffff || key.n > 0xffff)
        goto out;
    len[0] = (uint8_t)(un >> 8);
    len[1] = (uint8_t)un;
    len[2] = (uint8_t)(key.n >> 8);
    len[3] = (uint8_t)key.n;
    if (EVP_DigestInit_ex(c, EVP_sha512(), NULL) != 1 ||
        EVP_DigestUpdate(c, SAFETY_LABEL, sizeof SAFETY_LABEL - 1) != 1 ||
        EVP_DigestUpdate(c, len, 2) != 1 || EVP_DigestUpdate(c, user, un) != 1 ||
        EVP_DigestUpdate(c, len + 2, 2) != 1 || EVP_DigestUpdate(c, key.p, key.n) != 1 ||
        EVP_DigestFinal_ex(c, h, NULL) != 1)
        goto out;
    for (i = 1; i < SAFETY_ITERATIONS; i++) {
        if (EVP_DigestInit_ex(c, EVP_sha512(), NULL) != 1 ||
            EVP_DigestUpdate(c, h, sizeof h) != 1 || EVP_DigestUpdate(c, key.p, key.n) != 1 ||
            EVP_DigestFinal_ex(c, h, NULL) != 1)
            goto out;
    }
    for (i = 0; i < HALF_DIGITS / 5; i++)
        digits5(h + 5 * i, out + 5 * i);
    out[HALF_DIGITS] = 0;
    rc = 0;
out:
    EVP_MD_CTX_free(c);
    return rc;
}

/* Writes digits in groups of g separated by a space. */
static void grouped(const char *digits, size_t g, char *out)
{
    size_t i, n = strlen(digits), o = 0;
    for (i = 0; i < n; i++) {
        if (i > 0 && i % g == 0)
            out[o++] = ' ';
        out[o++] = digits[i];
    }
    out[o] = 0;
}

int cli_safety_number(const char *user_a, mls_bytes key_a, const char *user_b, mls_bytes key_b,
                      char out[CLI_SAFETY_NUMBER_LEN + 1])
{
    char a[HALF_DIGITS + 1], b[HALF_DIGITS + 1], all[2 * HALF_DIGITS + 1];
    if (half(user_a, key_a, a) != 0 || half(user_b, key_b, b) != 0)
        return -1;
    /* Sorted, so that the order of the two users does not matter. */
    if (strcmp(a, b) <= 0)
        snprintf(all, sizeof all, "%s%s", a, b);
    else
        snprintf(all, sizeof all, "%s%s", b, a);
    grouped(all, 5, out);
    return 0;
}

int cli_epoch_code(mls_bytes authenticator, char out[CLI_EPOCH_CODE_LEN + 1])
{
    uint8_t h[64];
    char digits[25], g[6];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int rc = -1, i;

    if (!c || authenticator.n == 0)
        goto out;
    /* A hash of the authenticator, never the authenticator itself: the
     * code is read aloud, the authenticator is a secret of the epoch. */
    if (EVP_DigestInit_ex(c, EVP_sha512(), NULL) != 1 ||
        EVP_DigestUpdate(c, EPOCH_LABEL, sizeof EPOCH_LABEL - 1) != 1 ||
        EVP_DigestUpdate(c, authenticator.p, authenticator.n) != 1 ||
        EVP_DigestFinal_ex(c, h, NULL) != 1)
        goto out;
    for (i = 0; i < 6; i++) {
        digits5(h + 5 * i, g);
        memcpy(digits + 4 * i, g + 1, 4); /* the last 4 of the 5 digits: mod 10^4 */
    }
    digits[24] = 0;
    grouped(digits, 4, out);
    rc = 0;
out:
    mls_wipe(h, sizeof h);
    EVP_MD_CTX_free(c);
    return rc;
}

enum cli_rename_verdict cli_rename_judge(mls_bytes old_key, mls_bytes new_key, int name_valid,
                                         int name_in_use, mls_bytes pin_old, mls_bytes pin_new)
{
    if (!mls_ct_equal(old_key, new_key))
        return CLI_RENAME_KEY_CHANGED;
    if (!name_valid)
        return CLI_RENAME_BAD_NAME;
    if (name_in_use)
        return CLI_RENAME_NAME_IN_USE;
    if ((pin_old.n > 0 && !mls_ct_equal(pin_old, new_key)) ||
        (pin_new.n > 0 && !mls_ct_equal(pin_new, new_key)))
        return CLI_RENAME_PIN_MISMATCH;
    return CLI_RENAME_OK;
}

enum cli_pin_verdict cli_pin_judge(mls_bytes pinned, mls_bytes key)
{
    if (pinned.n == 0)
        return CLI_PIN_FIRST;
    return mls_ct_equal(pinned, key) ? CLI_PIN_SAME : CLI_PIN_CHANGED;
}
