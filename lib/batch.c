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
 * FramedContent signatures (§6.1), which touch no group state, are then
 * verified together through the environment's executor.  Anything else
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

typedef struct verify_job {
    const mls_suite *suite;
    mls_bytes ctx_enc;
    batch_item *items;
} verify_job;

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

/* One item of the parallel part: reads only shared, unchanging inputs and
 * writes only its own item. */
static int verify_one(void *arg, size_t i)
{
    verify_job *j = arg;
    batch_item *it = &j->items[i];
    it->err = mls_framing_verify_signature(j->suite, &it->ac, j->ctx_enc, it->pub);
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
    verify_job job;
    size_t i, decrypted = n, first;
    int err = 0, dec_err = 0, have_saved = 0;

    *ok = 0;
    memset(&saved, 0, sizeof(saved));
    if (n == 0)
        return 0;
    if ((err = mls_group_stree_copy(g, &g->stree, &saved)) != 0)
        goto out;
    have_saved = 1;
    mls_group_framing_ctx(g, &fc);
    /* Sequential: the ratchets move in log order. */
    for (i = 0; i < n; i++) {
        dec_err = mls_framing_unprotect_private_deferred(&fc, &it[i].m, member_key, g, &it[i].ac,
                                                         &it[i].pub);
        if (dec_err) {
            decrypted = i;
            break;
        }
    }
    /* Parallel: the signatures, lowest failing index wins. */
    job.suite = g->suite;
    job.ctx_enc = mls_buf_view(&g->cur.ctx_enc);
    job.items = it;
    for (i = 0; i < decrypted; i++)
        it[i].err = 0;
    err = mls_exec_for(env, decrypted, verify_one, &job);
    first = decrypted;
    if (err) {
        for (i = 0; i < decrypted; i++)
            if (it[i].err) {
                first = i;
                err = it[i].err;
                break;
            }
        if (first == decrypted) /* the executor itself failed */
            first = 0;
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
