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

#include "mls/group.h"

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

/*
 * A small group built deterministically with fuzz_env() (suite
 * MLS_SUITE_X25519_AES128GCM_SHA256_ED25519, PublicMessage handshakes):
 * alice (leaf 0) created group_id "fuzz-group" and added bob (leaf 1) and
 * carol (leaf 2), who joined from the Welcome; everyone is at epoch 1.
 * dave has an unused KeyPackage.  Every identity supports the GroupContext
 * extension type MLS_EXTENSION_PRIVATE_MIN.  state[] holds each member's serialized
 * group.  The same code always gives the same bytes.
 */
enum { FUZZ_ALICE, FUZZ_BOB, FUZZ_CAROL, FUZZ_DAVE, FUZZ_N_IDS };
typedef struct fuzz_fixture {
    mls_identity *id[FUZZ_N_IDS];
    mls_buf kp[FUZZ_N_IDS];     /* KeyPackage MLSMessages */
    mls_buf bundle[FUZZ_N_IDS];
    mls_buf state[FUZZ_CAROL + 1];
} fuzz_fixture;

/* Builds f (aborts on failure: the harness cannot run without it). */
void fuzz_fixture_init(fuzz_fixture *f);
/* A fresh copy of member i's group at epoch 1 (with fuzz_psk_store). */
mls_group *fuzz_fixture_group(const fuzz_fixture *f, int i);
/* PSK lookup: external psk_id "psk" has a fixed value, nothing else. */
const mls_psk_store *fuzz_psk_store(void);

#endif
