/*
 * The official RFC 9420 vector runner: one check function per vector file,
 * each in its own vec_<file>.c.  A check function gets one entry of the
 * file's top-level JSON array and returns 0 if the entry passes, non-zero
 * otherwise (after calling vec_fail with the reason).
 */
#ifndef MLS_VEC_H
#define MLS_VEC_H

#include <jansson.h>

#include "mls/mls.h"
#include "suite.h"
#include "../unit/test_env.h"

typedef int (*vec_check_fn)(json_t *entry);

/* Records why the current entry failed (printed for the first failures). */
void vec_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Decodes the hex string member `key` of obj into out (replacing its
 * contents).  Returns 0, or -1 (with vec_fail) if missing or not hex. */
int vec_hex(json_t *obj, const char *key, mls_buf *out);
/* Same for a JSON string value. */
int vec_hex_value(json_t *value, mls_buf *out);
/* Integer member; -1 with vec_fail if missing. */
int vec_uint(json_t *obj, const char *key, uint64_t *out);
/* The suite named by the member "cipher_suite"; -1 with vec_fail if
 * missing or not a suite we implement. */
int vec_suite(json_t *obj, const mls_suite **out);
/* Compares got against the hex member `key`; 0 if equal, -1 with vec_fail. */
int vec_expect(json_t *obj, const char *key, mls_bytes got);
/* Compares two byte strings, naming `what` on a mismatch. */
int vec_expect_bytes(const char *what, mls_bytes want, mls_bytes got);

/* With MLS_FUZZ_CORPUS set to a directory, writes the byte strings of one
 * entry of vector file `file` (name without .json) as seed inputs of the
 * fuzz harnesses, into <dir>/<harness>/ (tests/fuzz/, vec_fuzz_seeds.c). */
void vec_fuzz_seeds(const char *file, json_t *entry);

/* Checkers, one per file.  Weak so that the runner links while a file's
 * checker is not written; a missing checker counts every entry as failed. */
#define VEC_CHECK(name) int name(json_t *entry) __attribute__((weak))
VEC_CHECK(vec_tree_math);
VEC_CHECK(vec_crypto_basics);
VEC_CHECK(vec_deserialization);
VEC_CHECK(vec_secret_tree);
VEC_CHECK(vec_key_schedule);
VEC_CHECK(vec_psk_secret);
VEC_CHECK(vec_transcript_hashes);
VEC_CHECK(vec_message_protection);
VEC_CHECK(vec_messages);
VEC_CHECK(vec_tree_operations);
VEC_CHECK(vec_tree_validation);
VEC_CHECK(vec_treekem);
VEC_CHECK(vec_welcome);
VEC_CHECK(vec_passive_client_welcome);
VEC_CHECK(vec_passive_client_handling_commit);
VEC_CHECK(vec_passive_client_random);
#undef VEC_CHECK

#endif
