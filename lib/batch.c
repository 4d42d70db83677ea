/*
 * Processing a run of a group's messages in one call
 * (mls_group_process_batch, include/mls/group.h).
 *
 * The result is that of calling mls_group_process on each message in
 * order and stopping at the first failure; only the work is arranged
 * differently.  Consecutive PrivateMessages of the current epoch carrying
 * application data form a run: they are decrypted one after the other
 * (each consumes a generation of its sender's application ratchet, RFC
 * 9420 §9.1, so the secret tree must advance in log order), and their
 * FramedContent signatures (§6.1), which touch no group state, are
 * verified through the environment's executor, chunk by chunk, while the
 * next chunk is being decrypted (see pipe_job).  Anything else
 * (a handshake message, an application message of a past epoch, a message
 * that does not decode) ends the run and is processed on its own by
 * mls_group_process; a commit changes the epoch and so the keys every
 * later message is checked with.
 *
 * Decrypting before verifying consumes keys that a message with a bad
 * signature must not consume (§9.2): the secret tree is copied before the
 * run, and when a signature fails the copy is put back and the messages
 * before the failed one are decrypted again, so the group is exactly as
 * after those messages.
 *
 * The call is split in two (mls_group_process_batch_start and
 * mls_batch_finish) so that the verifications can outlive the first: start
 * decrypts the first run on the caller's thread and hands its signature
 * checks, chunk by chunk as they are decrypted, to the executor's worker
 * threads (mls_exec_async, lib/executor.h), then returns; finish waits for
 * them, judges the run and goes on with the rest one by one as before.
 * Everything after the first run waits for finish, because a barrier may
 * only be processed once the messages before it are judged; so start
 * changes nothing but the secret tree, and a batch freed without finish
 * puts back its copy.  mls_group_process_batch is start and finish.
 */
#include "group_state.h"

#include <stdlib.h>
#include <string.h>

#include "detail.h"
#include "executor.h"

typedef struct batch_item {
    mls_message m;
    int tried;   /* decoding attempted */
    int decoded;
    mls_authenticated_content ac;
    mls_bytes pub; /* the sender's signature key, borrowed from the tree */
    int err;       /* its signature check */
    const char *where, *rule; /* its error detail (lib/detail.h) */
} batch_item;

/*
 * A run being processed: decrypted in log order by run_start, its
 * signatures verified by the executor, item i of the loop verifying
 * message i, and judged by run_finish.  The first items are handed over
 * early, so that the verifications start while the rest is decrypted.
 */
enum { BATCH_FIRST_CHUNK = 16, BATCH_CHUNK = 32 };

typedef struct run_job {
    const mls_suite *suite;
    mls_bytes ctx_enc;
    mls_framing_ctx fc;
    batch_item *items;
    size_t n;
    size_t decrypted; /* items [0, decrypted) are decrypted */
    int dec_err;      /* the error of item `decrypted`, if any */
    const char *dec_where, *dec_rule; /* and its detail */
    int err;          /* the secret tree could not be copied */
    mls_secret_tree saved;
    int have_saved;
    mls_exec_async ex;
} run_job;

/* RFC 9420 §6.1: a PrivateMessage comes from a member; its key is the
 * leaf's in this epoch (the run is of the current epoch only). */
static int member_key(void *arg, const mls_authenticated_content *ac, mls_bytes *pub)
{
    const mls_group *g = arg;
    if (ac->content.sender.type != MLS_SENDER_MEMBER)
        return MLS_ERR_INVALID;
    return mls_group_sig_key_at(g, g->cur.ctx.epoch, ac->content.sender.index, pub)
               ? MLS_ERR_INVALID
               : 0;
}

/*
 * One verification, on whichever thread: it reads the unchanging ratchet
 * tree (through pub) and context, and writes only its own item; the
 * decryption of later items (the secret tree and those items) goes on
 * beside it.  The failure is kept in the item, with its detail, for
 * run_finish on the caller's thread.
 */
static int verify_step(void *arg, size_t i)
{
    run_job *j = arg;
    batch_item *it = &j->items[i];
    mls_detail_set(NULL, NULL);
    it->err = mls_framing_verify_signature(j->suite, &it->ac, j->ctx_enc, it->pub);
    if (it->err)
        mls_detail_get(&it->where, &it->rule);
    return it->err;
}

/* An application PrivateMessage of g's current epoch: part of a run. */
static int runnable(const mls_group *g, const batch_item *it)
{
    const mls_private_message *pm = &it->m.private_message;
    return it->decoded && it->m.wire_format == MLS_WIRE_PRIVATE_MESSAGE &&
           pm->content_type == MLS_CONTENT_APPLICATION && pm->epoch == g->cur.ctx.epoch &&
           mls_ct_equal(mls_buf_view(&pm->group_id), mls_buf_view(&g->cur.ctx.group_id));
}

static int is_commit(const batch_item *it)
{
    if (!it->decoded)
        return 0;
    if (it->m.wire_format == MLS_WIRE_PUBLIC_MESSAGE)
        return it->m.public_message.content.content_type == MLS_CONTENT_COMMIT;
    if (it->m.wire_format == MLS_WIRE_PRIVATE_MESSAGE)
        return it->m.private_message.content_type == MLS_CONTENT_COMMIT;
    return 0;
}

/* Classified when reached, after every earlier barrier: a commit before
 * moves the epoch the run is checked against. */
static int classify(const mls_group *g, batch_item *it, mls_bytes msg)
{
    if (!it->tried) {
        it->tried = 1;
        it->decoded = mls_message_decode_bytes(msg, &it->m) == 0;
    }
    return runnable(g, it);
}

/*
 * Starts a run of n runnable items: decrypts them in order on this
 * thread, handing each chunk's verifications to the executor as soon as
 * it is decrypted.  Stops decrypting at the first message that does not
 * decrypt (its error is the run's if no signature before it fails).
 */
static void run_start(const mls_env *env, mls_group *g, batch_item *it, size_t n, run_job *j)
{
    size_t k, handed = 0;

    memset(j, 0, sizeof(*j));
    j->items = it;
    j->n = n;
    if (n == 0)
        return;
    if ((j->err = mls_group_stree_copy(g, &g->stree, &j->saved)) != 0)
        return;
    j->have_saved = 1;
    mls_group_framing_ctx(g, &j->fc);
    j->suite = g->suite;
    j->ctx_enc = mls_buf_view(&g->cur.ctx_enc);
    mls_exec_async_begin(env, verify_step, j, &j->ex);
    for (k = 0; k < n; k++) {
        int e;
        it[k].err = 0;
        e = mls_framing_unprotect_private_deferred(&j->fc, &it[k].m, member_key, g, &it[k].ac,
                                                   &it[k].pub);
        if (e) {
            j->dec_err = e;
            mls_detail_get(&j->dec_where, &j->dec_rule);
            break;
        }
        j->decrypted = k + 1;
        if (j->decrypted - handed >= (handed ? BATCH_CHUNK : BATCH_FIRST_CHUNK)) {
            mls_exec_async_add(&j->ex, j->decrypted);
            handed = j->decrypted;
        }
    }
    mls_exec_async_add(&j->ex, j->decrypted);
}

/* The group's secret tree back to the copy made before the run. */
static void run_restore(mls_group *g, run_job *j)
{
    mls_secret_tree_clear(&g->stree);
    g->stree = j->saved;
    memset(&j->saved, 0, sizeof(j->saved));
    j->have_saved = 0;
}

/*
 * Waits for the run's verifications and judges it: results res[0..*ok)
 * for the messages before the first failure, whose error is returned (0
 * if none); g is as after those messages.
 */
static int run_finish(mls_group *g, run_job *j, mls_process_result *res, size_t *ok)
{
    batch_item *it = j->items;
    size_t i, first;
    int err;

    *ok = 0;
    if (j->n == 0)
        return 0;
    if (j->err)
        return j->err;
    err = mls_exec_async_wait(&j->ex);
    first = j->decrypted;
    if (err) {
        /* Every item below a failed one was verified: the lowest
         * failing index is among those marked.  None marked: the
         * executor itself failed, and nothing of the run is kept. */
        first = 0;
        for (i = 0; i < j->decrypted; i++)
            if (it[i].err) {
                first = i;
                err = it[i].err;
                mls_detail_set(it[i].where, it[i].rule);
                break;
            }
        /* Keys of messages from first on were consumed: back to the copy,
         * then the messages before it again (they decrypted once, on the
         * same keys, so they do again). */
        run_restore(g, j);
        for (i = 0; i < first; i++) {
            mls_authenticated_content again;
            mls_bytes pub;
            int e2;
            memset(&again, 0, sizeof(again));
            e2 = mls_framing_unprotect_private_deferred(&j->fc, &it[i].m, member_key, g, &again,
                                                        &pub);
            mls_authenticated_content_clear(&again);
            if (e2) {
                /* Only memory can fail here; the tree is then as after
                 * the i messages before. */
                first = i;
                err = e2;
                break;
            }
        }
    } else if ((err = j->dec_err) != 0) {
        /* Said again: the verifications and the caller's work since
         * start ran on this thread too. */
        mls_detail_set(j->dec_where, j->dec_rule);
    }
    for (i = 0; i < first; i++) {
        mls_process_result *r = &res[i];
        mls_authenticated_content *ac = &it[i].ac;
        memset(r, 0, sizeof(*r));
        r->kind = MLS_RESULT_APPLICATION;
        r->epoch = ac->content.epoch;
        r->sender_type = ac->content.sender.type;
        r->sender_leaf = ac->content.sender.index;
        r->application_data = ac->content.application_data;
        mls_buf_init(&ac->content.application_data);
        r->authenticated_data = ac->content.authenticated_data;
        mls_buf_init(&ac->content.authenticated_data);
    }
    *ok = first;
    if (j->have_saved) {
        mls_secret_tree_clear(&j->saved);
        j->have_saved = 0;
    }
    return err;
}

/* A run abandoned: its verifications stopped, g as before it. */
static void run_abort(mls_group *g, run_job *j)
{
    mls_exec_async_cancel(&j->ex);
    if (j->have_saved)
        run_restore(g, j);
}

struct mls_batch {
    const mls_env *env;
    mls_group *g;
    const mls_bytes *msgs;
    size_t n;
    unsigned flags;
    batch_item *it;
    size_t run_to; /* the first run is items [0, run_to) */
    run_job run;
    int finished;
};

int mls_group_process_batch_start(const mls_env *env, mls_group *g, const mls_bytes *msgs,
                                  size_t n, unsigned flags, mls_batch **out)
{
    mls_batch *b;

    if (!out)
        return MLS_ERR_ARG;
    *out = NULL;
    if (!g || (n && !msgs))
        return MLS_ERR_ARG;
    b = calloc(1, sizeof(*b));
    if (!b)
        return MLS_ERR_NOMEM;
    if (n && !(b->it = calloc(n, sizeof(*b->it)))) {
        free(b);
        return MLS_ERR_NOMEM;
    }
    b->env = env ? env : g->env;
    b->g = g;
    b->msgs = msgs;
    b->n = n;
    b->flags = flags;
    /* The first run goes now; what follows it waits for its judgement. */
    while (b->run_to < n && classify(g, &b->it[b->run_to], msgs[b->run_to]))
        b->run_to++;
    run_start(b->env, g, b->it, b->run_to, &b->run);
    *out = b;
    return MLS_OK;
}

int mls_batch_finish(mls_batch *b, mls_process_result *results, size_t *done)
{
    mls_group *g;
    batch_item *it;
    size_t i, start, ok;
    int err;

    if (!b || !done || b->finished || (b->n && !results))
        return MLS_ERR_ARG;
    b->finished = 1;
    g = b->g;
    it = b->it;
    err = run_finish(g, &b->run, results, &ok);
    *done = ok;
    if (err)
        return err;
    /* The rest as mls_group_process_batch always did: barriers one by
     * one, the runs between them started and judged in turn. */
    start = b->run_to;
    for (i = b->run_to; i < b->n; i++) {
        if (classify(g, &it[i], b->msgs[i]))
            continue;
        if (i > start) {
            run_job run;
            run_start(b->env, g, it + start, i - start, &run);
            err = run_finish(g, &run, results + start, &ok);
            if (err) {
                *done = start + ok;
                return err;
            }
        }
        *done = i;
        if ((b->flags & MLS_BATCH_STOP_AT_COMMIT) && is_commit(&it[i]))
            return 0;
        memset(&results[i], 0, sizeof(results[i]));
        if ((err = mls_group_process(g, b->msgs[i], &results[i])) != 0)
            return err;
        start = i + 1;
        *done = start;
    }
    if (b->n > start) {
        run_job run;
        run_start(b->env, g, it + start, b->n - start, &run);
        err = run_finish(g, &run, results + start, &ok);
        *done = start + ok;
    }
    return err;
}

void mls_batch_free(mls_batch *b)
{
    if (!b)
        return;
    if (!b->finished)
        run_abort(b->g, &b->run);
    for (size_t i = 0; i < b->n; i++) {
        mls_message_clear(&b->it[i].m);
        mls_authenticated_content_clear(&b->it[i].ac);
    }
    free(b->it);
    free(b);
}

int mls_group_process_batch(const mls_env *env, mls_group *g, const mls_bytes *msgs, size_t n,
                            unsigned flags, mls_process_result *results, size_t *done)
{
    mls_batch *b = NULL;
    int err;

    if (!g || !done || (n && (!msgs || !results)))
        return MLS_ERR_ARG;
    *done = 0;
    if ((err = mls_group_process_batch_start(env, g, msgs, n, flags, &b)) == 0)
        err = mls_batch_finish(b, results, done);
    mls_batch_free(b);
    return err;
}
