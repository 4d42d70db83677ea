/*
 * Shared pieces of the fuzz harnesses (tests/fuzz/fuzz_*.c).
 *
 * Every harness defines LLVMFuzzerTestOneInput (and, if it needs set-up,
 * LLVMFuzzerInitialize).  Two builds use them:
 *   - `make fuzz`: clang -fsanitize=fuzzer links libFuzzer's main;
 *   - the normal build links tests/fuzz/driver.c, whose main() replays the
 *     files named on the command line (`make fuzz-regress`, part of check).
 * A harness signals a wrong result (a decoded message that does not
 * re-encode to its input, a state changed by a failed operation) with
 * abort(), which both builds report.
 */
#ifndef MLS_FUZZ_H
#define MLS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "mls/mls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The fixed clock of the fuzz environment (2023-11-14). */
#define FUZZ_NOW 1700000000u

/* A deterministic environment: a seeded pseudo-random generator (not
 * secure; fuzzing only) and the fixed clock FUZZ_NOW. */
const mls_env *fuzz_env(void);
/* Restarts the generator, so each input sees the same random bytes. */
void fuzz_env_reset(void);

/* abort() unless got equals want byte for byte. */
void fuzz_expect_same(mls_bytes want, mls_bytes got);

/* With MLS_FUZZ_SEEDS set to a directory, writes a seed file
 * <dir>/<name>-<counter> holding prefix (prefix_len bytes, may be 0) then
 * data.  Harnesses call it from LLVMFuzzerInitialize to write the inputs
 * they can build themselves (group messages, states).  Returns 1 if seeds
 * are being written (the caller may then skip work), else 0. */
int fuzz_seed(const char *name, const uint8_t *prefix, size_t prefix_len, mls_bytes data);
/* 1 if MLS_FUZZ_SEEDS is set. */
int fuzz_writing_seeds(void);

#endif
