/*
 * Runs every official RFC 9420 test vector file in a folder and prints
 * "<file>.json: P/T passed" per file, then "N passed, M failed".
 * Usage: vectors [DIR] [file-substring]
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

static char fail_reason[1024];

void vec_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fail_reason, sizeof(fail_reason), fmt, ap);
    va_end(ap);
}

static int unhex_char(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int vec_hex_value(json_t *value, mls_buf *out)
{
    if (!json_is_string(value)) {
        vec_fail("expected a hex string");
        return -1;
    }
    const char *s = json_string_value(value);
    size_t len = json_string_length(value);
    if (len % 2) {
        vec_fail("odd-length hex");
        return -1;
    }
    mls_buf_reset(out);
    if (mls_buf_reserve(out, len / 2 + 1)) {
        vec_fail("out of memory");
        return -1;
    }
    for (size_t i = 0; i < len; i += 2) {
        int hi = unhex_char(s[i]), lo = unhex_char(s[i + 1]);
        if (hi < 0 || lo < 0) {
            vec_fail("bad hex");
            return -1;
        }
        out->p[out->n++] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int vec_hex(json_t *obj, const char *key, mls_buf *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        vec_fail("missing member %s", key);
        return -1;
    }
    if (vec_hex_value(v, out)) {
        vec_fail("member %s is not hex", key);
        return -1;
    }
    return 0;
}

int vec_uint(json_t *obj, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        vec_fail("missing integer member %s", key);
        return -1;
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int vec_suite(json_t *obj, const mls_suite **out)
{
    uint64_t id;
    if (vec_uint(obj, "cipher_suite", &id))
        return -1;
    const mls_suite *s = id <= 0xffff ? mls_suite_get((uint16_t)id) : NULL;
    if (!s) {
        vec_fail("unknown cipher suite %llu", (unsigned long long)id);
        return -1;
    }
    *out = s;
    return 0;
}

int vec_expect_bytes(const char *what, mls_bytes want, mls_bytes got)
{
    if (want.n == got.n && (want.n == 0 || memcmp(want.p, got.p, want.n) == 0))
        return 0;
    char w[41] = {0}, g[41] = {0};
    for (size_t i = 0; i < want.n && i < 20; i++)
        snprintf(w + 2 * i, 3, "%02x", want.p[i]);
    for (size_t i = 0; i < got.n && i < 20; i++)
        snprintf(g + 2 * i, 3, "%02x", got.p[i]);
    vec_fail("%s mismatch: want %zu bytes %s.., got %zu bytes %s..", what, want.n, w, got.n, g);
    return -1;
}

int vec_expect(json_t *obj, const char *key, mls_bytes got)
{
    mls_buf want;
    mls_buf_init(&want);
    int rc = vec_hex(obj, key, &want);
    if (rc == 0)
        rc = vec_expect_bytes(key, mls_buf_view(&want), got);
    mls_buf_clear(&want);
    return rc;
}

struct vec_file {
    const char *name;
    vec_check_fn fn;
};

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "../shared/mls-vectors";
    const char *only = argc > 2 ? argv[2] : NULL;
    const struct vec_file files[] = {
        {"tree-math", vec_tree_math},
        {"crypto-basics", vec_crypto_basics},
        {"deserialization", vec_deserialization},
        {"secret-tree", vec_secret_tree},
        {"key-schedule", vec_key_schedule},
        {"psk_secret", vec_psk_secret},
        {"transcript-hashes", vec_transcript_hashes},
        {"message-protection", vec_message_protection},
        {"messages", vec_messages},
        {"tree-operations", vec_tree_operations},
        {"tree-validation", vec_tree_validation},
        {"treekem", vec_treekem},
        {"welcome", vec_welcome},
        {"passive-client-welcome", vec_passive_client_welcome},
        {"passive-client-handling-commit", vec_passive_client_handling_commit},
        {"passive-client-random", vec_passive_client_random},
    };
    long total_pass = 0, total_fail = 0;
    int io_error = 0;

    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        if (only && !strstr(files[f].name, only))
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.json", dir, files[f].name);
        json_error_t jerr;
        json_t *root = json_load_file(path, 0, &jerr);
        if (!root || !json_is_array(root)) {
            fprintf(stderr, "%s: cannot read: %s\n", path, jerr.text);
            printf("%s.json: 0/0 passed (file missing or unreadable)\n", files[f].name);
            json_decref(root);
            io_error = 1;
            continue;
        }
        size_t total = json_array_size(root), pass = 0, shown = 0;
        for (size_t i = 0; i < total; i++) {
            fail_reason[0] = 0;
            int rc = files[f].fn ? files[f].fn(json_array_get(root, i)) : -1;
            vec_fuzz_seeds(files[f].name, json_array_get(root, i));
            if (!files[f].fn)
                snprintf(fail_reason, sizeof(fail_reason), "no checker for this file");
            if (rc == 0) {
                pass++;
            } else if (shown < 3) {
                shown++;
                fprintf(stderr, "  %s.json entry %zu failed: %s\n", files[f].name, i,
                        fail_reason[0] ? fail_reason : "(no reason given)");
            }
        }
        printf("%s.json: %zu/%zu passed\n", files[f].name, pass, total);
        fflush(stdout);
        total_pass += (long)pass;
        total_fail += (long)(total - pass);
        json_decref(root);
    }
    printf("%ld passed, %ld failed\n", total_pass, total_fail);
    return (total_fail || io_error) ? 1 : 0;
}
