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
 * A loop whose items run while the caller goes on (lib/batch.c): items
 * are added as they become ready (mls_exec_async_add, the total so far;
 * fn(arg, i) for a new item may start at once on another thread, so
 * everything it reads must be in place before the call), and
 * mls_exec_async_wait runs what is still left on the caller's thread as
 * well and returns when every item has run, with the error of the lowest
 * failing item as mls_exec_for returns it (items above a failed one may
 * be skipped).  mls_exec_async_cancel skips every item not yet started
 * and waits for those running; its items' outputs are then not to be
 * used.
 *
 * Only the library's pool (env->parallel_for == mls_pool_parallel_for)
 * runs items in the background, on its worker threads, and only while it
 * runs no other loop: it is taken from begin to wait or cancel, and a
 * loop started on it meanwhile (any thread) runs sequentially in its
 * caller.  With any other executor, none, or a busy pool or one without
 * workers, the items run in mls_exec_async_wait through mls_exec_for.
 * Either way the outputs are those of a sequential loop.  Begin, add,
 * wait and cancel are called from one thread; the pool must not be
 * freed between begin and wait or cancel.
 */
typedef struct mls_exec_async {
    const mls_env *env;
    struct mls_pool *pool; /* NULL: the items run in wait */
    int (*fn)(void *arg, size_t i);
    void *arg;
    size_t n;
    int open;
} mls_exec_async;

void mls_exec_async_begin(const mls_env *env, int (*fn)(void *arg, size_t i), void *arg,
                          mls_exec_async *a);
/* Items [0, n) are ready (n never decreases). */
void mls_exec_async_add(mls_exec_async *a, size_t n);
MLS_MUST_CHECK int mls_exec_async_wait(mls_exec_async *a);
/* Safe on a zeroed loop and after wait. */
void mls_exec_async_cancel(mls_exec_async *a);

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
