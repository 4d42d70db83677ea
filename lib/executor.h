/*
 * Internal: data-parallel loops through the application's executor
 * (mls_env.parallel_for, include/mls/mls.h), and the random bytes such a
 * loop needs, drawn in a fixed order before it starts.
 *
 * A loop body fn(arg, i) must touch only item i's outputs and shared
 * read-only inputs.  Whatever runs it, the result is the error of the
 * lowest failing index (0 if none failed), as a sequential loop that stops
 * at the first failure returns: outputs and errors do not depend on the
 * executor or on the number of threads.
 */
#ifndef MLS_EXECUTOR_H
#define MLS_EXECUTOR_H

#include "mls/mls.h"

/* Runs fn over [0, n): through env->parallel_for when there is one (and
 * more than one item), sequentially otherwise. */
MLS_MUST_CHECK int mls_exec_for(const mls_env *env, size_t n, int (*fn)(void *arg, size_t i),
                                void *arg);

/*
 * Randomness for n items, per_item bytes each, drawn from env->random in
 * item order before a parallel part (so the bytes each item gets are those
 * a sequential loop would have drawn for it).  mls_rng_tape_env gives
 * item i an environment whose random callback hands out exactly those
 * bytes (MLS_ERR_RANDOM past them); now and the executor are env's.
 */
typedef struct mls_rng_tape {
    uint8_t *bytes;
    size_t per_item;
    size_t n;
} mls_rng_tape;

typedef struct mls_rng_item {
    const uint8_t *p;
    size_t left;
    const mls_env *parent;
} mls_rng_item;

MLS_MUST_CHECK int mls_rng_tape_draw(const mls_env *env, size_t n, size_t per_item,
                                     mls_rng_tape *t);
/* Fills *out (using *cursor as its context) for item i of t. */
void mls_rng_tape_env(const mls_rng_tape *t, size_t i, const mls_env *parent,
                      mls_rng_item *cursor, mls_env *out);
/* Wipes and frees the bytes; safe on a zeroed tape and twice. */
void mls_rng_tape_clear(mls_rng_tape *t);

#endif
