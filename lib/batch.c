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
 */
#include "group_state.h"

#include <stdlib.h>
#include <string.h>

#include "executor.h"

typedef struct batch_item {
    mls_message m;
    int decoded;
    mls_authenticated_content ac;
    mls_bytes pub; /* the sender's signature key, borrowed from the tree */
    int err;       /* its signature check */
} batch_item;

/*
 * The run is decrypted and verified in chunks, pipelined: each round is
 * one loop of the executor whose item 0 decrypts the next chunk (on
 * whichever thread takes it, alone, so the ratchets still move in log
 * order) while items 1.. verify the signatures of the chunk decrypted in
 * the round before.  The sequential decryption thus runs beside the
 * verifications instead of leaving the other cores idle.  The first
 * chunk is small so that the verifications start early.
 */
enum { BATCH_FIRST_CHUNK = 16, BATCH_CHUNK = 64 };

typedef struct pipe_job {
    const mls_suite *suite;
    mls_bytes ctx_enc;
    const mls_framing_ctx *fc;
    mls_group *g; /* member_key reads it; item 0 writes its secret tree via fc */
    batch_item *items;
    size_t dec_from, dec_to; /* item 0 decrypts these */
    size_t decrypted;        /* items [0, decrypted) are decrypted */
    int dec_err;             /* the error of item `decrypted`, if any */
    size_t ver_from;         /* item i > 0 verifies ver_from + i - 1 */
} pipe_job;

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
 * One item of a round.  Item 0 writes only the secret tree (which no
 * verification reads) and the items it decrypts; the others read the
 * unchanging ratchet tree and context and write only their own item.
 * Every item returns 0, so that the executor runs them all: a failure is
 * kept in the item (or in dec_err) and judged after the round, lowest
 * index first.
 */
static int pipe_step(void *arg, size_t i)
{
    pipe_job *j = arg;
    batch_item *it;
    if (i == 0) {
        for (size_t k = j->dec_from; k < j->dec_to; k++) {
            int e;
            it = &j->items[k];
            e = mls_framing_unprotect_private_deferred(j->fc, &it->m, member_key, j->g,
                                                       &it->ac, &it->pub);
            if (e) {
                j->dec_err = e;
                break;
            }
            j->decrypted = k + 1;
        }
        return 0;
    }
    it = &j->items[j->ver_from + i - 1];
    it->err = mls_framing_verify_signature(j->suite, &it->ac, j->ctx_enc, it->pub);
    return 0;
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

/*
 * Processes a run of n runnable items (results res[0..n)).  *ok gets how
 * many succeeded, in order; the error of item *ok is returned (0 if all
 * did).  g is as after items [0, *ok).
 */
static int run_flush(const mls_env *env, mls_group *g, batch_item *it, size_t n,
                     mls_process_result *res, size_t *ok)
{
    mls_secret_tree saved;
    mls_framing_ctx fc;
    pipe_job job;
    size_t i, decrypted, first, ver_to = 0;
    int err = 0, dec_err, have_saved = 0, failed = 0;

    *ok = 0;
    memset(&saved, 0, sizeof(saved));
    if (n == 0)
        return 0;
    if ((err = mls_group_stree_copy(g, &g->stree, &saved)) != 0)
        goto out;
    have_saved = 1;
    mls_group_framing_ctx(g, &fc);
    memset(&job, 0, sizeof(job));
    job.suite = g->suite;
    job.ctx_enc = mls_buf_view(&g->cur.ctx_enc);
    job.fc = &fc;
    job.g = g;
    job.items = it;
    for (i = 0; i < n; i++)
        it[i].err = 0;
    /* Round r decrypts chunk r and verifies chunk r - 1; it ends the
     * pipeline when nothing is left to decrypt (all done, or a message
     * that does not decrypt) and the last chunk is verified, or as soon
     * as a signature failed (what comes after it is not used). */
    for (;;) {
        size_t nver = ver_to - job.ver_from, chunk;
        job.dec_from = job.decrypted;
        chunk = job.dec_from == 0 ? BATCH_FIRST_CHUNK : BATCH_CHUNK;
        if (job.dec_err || n - job.dec_from < chunk)
            chunk = job.dec_err ? 0 : n - job.dec_from;
        job.dec_to = job.dec_from + chunk;
        if (job.dec_to == job.dec_from && nver == 0)
            break;
        if ((err = mls_exec_for(env, 1 + nver, pipe_step, &job)) != 0)
            break;
        for (i = job.ver_from; i < ver_to; i++)
            if (it[i].err)
                failed = 1;
        if (failed)
            break;
        job.ver_from = job.dec_from;
        ver_to = job.decrypted;
    }
    decrypted = job.decrypted;
    dec_err = job.dec_err;
    first = decrypted;
    if (err || failed) {
        if (err) {
            /* The executor itself failed: nothing of the run is kept. */
            first = 0;
        } else {
            /* Every chunk before the failed one was verified in full, so
             * the lowest failing index is among the verified ones. */
            for (i = 0; i < decrypted; i++)
                if (it[i].err) {
                    first = i;
                    err = it[i].err;
                    break;
                }
        }
        /* Keys of messages from first on were consumed: back to the copy,
         * then the messages before it again (they decrypted once, on the
         * same keys, so they do again). */
        mls_secret_tree_clear(&g->stree);
        g->stree = saved;
        memset(&saved, 0, sizeof(saved));
        have_saved = 0;
        for (i = 0; i < first; i++) {
            mls_authenticated_content again;
            mls_bytes pub;
            int e2;
            memset(&again, 0, sizeof(again));
            e2 = mls_framing_unprotect_private_deferred(&fc, &it[i].m, member_key, g, &again,
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
    } else {
        err = dec_err;
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
out:
    if (have_saved)
        mls_secret_tree_clear(&saved);
    return err;
}

int mls_group_process_batch(const mls_env *env, mls_group *g, const mls_bytes *msgs, size_t n,
                            unsigned flags, mls_process_result *results, size_t *done)
{
    batch_item *it = NULL;
    size_t i, start = 0, ok;
    int err = 0;

    if (!g || !done || (n && (!msgs || !results)))
        return MLS_ERR_ARG;
    *done = 0;
    if (n == 0)
        return 0;
    if (!env)
        env = g->env;
    it = calloc(n, sizeof(*it));
    if (!it)
        return MLS_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        /* Classified now, after every earlier barrier: a commit before
         * moves the epoch the run is checked against. */
        it[i].decoded = mls_message_decode_bytes(msgs[i], &it[i].m) == 0;
        if (runnable(g, &it[i]))
            continue;
        if ((err = run_flush(env, g, it + start, i - start, results + start, &ok)) != 0) {
            *done = start + ok;
            goto out;
        }
        *done = i;
        if ((flags & MLS_BATCH_STOP_AT_COMMIT) && is_commit(&it[i]))
            goto out;
        memset(&results[i], 0, sizeof(results[i]));
        if ((err = mls_group_process(g, msgs[i], &results[i])) != 0)
            goto out;
        start = i + 1;
        *done = start;
    }
    err = run_flush(env, g, it + start, n - start, results + start, &ok);
    *done = start + ok;
out:
    for (i = 0; i < n; i++) {
        mls_message_clear(&it[i].m);
        mls_authenticated_content_clear(&it[i].ac);
    }
    free(it);
    return err;
}
