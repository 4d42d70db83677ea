/*
 * Group commit off the event loop.
 *
 * The event loop (transport.c) reads WebSocket frames and runs each
 * request at once (handlers -> logic -> store) inside the turn's open
 * transaction: one thread, one SQLite connection, so every read a request
 * makes (the group's epoch for first-commit-wins, the next sequence
 * number, rosters, inbox counts) sees exactly the writes of the requests
 * accepted before it, in arrival order.  What runs here is the part of a
 * COMMIT that waits for the disk, in one of two ways (store.h "sync"):
 *
 * - SQLite: the loop COMMITs a batch itself (synchronous=NORMAL: the WAL
 *   frames are written, not synced) and hands this thread a sync job
 *   (srv_dbthread_sync): fdatasync of the WAL, which makes every batch
 *   committed before it durable.  Meanwhile the loop goes on: it reads
 *   requests, runs them as the next batch and COMMITs that too, so the
 *   processing of one batch overlaps the fsync of the ones before, and
 *   the next sync covers every batch committed while this one ran: the
 *   batch grows with the load, as in a database's group commit.  The
 *   thread never touches the connection the loop uses (store_sqlite.c).
 *   Every 1,000 WAL frames a sync also checkpoints, and while it does
 *   the loop begins no batch (as for PostgreSQL below), so that the WAL
 *   can start over from its beginning.
 * - PostgreSQL, whose COMMIT is durable when it returns: the loop hands
 *   the whole COMMIT over (srv_dbthread_commit) and does not touch the
 *   store until it returned; requests that arrive meanwhile wait in
 *   arrival order (batch.c, "pending") and run together as the next
 *   batch.
 *
 * Either way the loop holds back the responses and events of every batch
 * until the job covering it returned (batch.c), and turns them into
 * `internal` errors (events dropped) when it failed (docs/PROTOCOL.md
 * §10: nothing is acknowledged before it is durable, which the kill -9
 * tests check).  One job is in flight at a time.
 *
 * The thread wakes the loop with lws_cancel_service().  The hand-over and
 * the "finished" flag are under one mutex, which orders the loop's writes
 * before the thread's job and the job before the loop's use of its
 * result.
 */
#include "dbthread.h"

#include <string.h>

#include "ratelimit.h"

static void *db_main(void *arg)
{
    srv_dbthread *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->asked && !d->quit)
            pthread_cond_wait(&d->cv, &d->mu);
        if (!d->asked)
            break;
        int sync_job = d->sync_job, checkpoint = d->checkpoint;
        pthread_mutex_unlock(&d->mu);
        int64_t t0 = srv_now_us();
        int failed = sync_job ? srv_logic_batch_sync(d->logic, checkpoint) != 0
                              : srv_logic_batch_commit(d->logic) != 0;
        int64_t took = srv_now_us() - t0;
        pthread_mutex_lock(&d->mu);
        d->commit_us = took;
        d->asked = 0;
        d->failed = failed;
        d->finished = 1;
        pthread_cond_broadcast(&d->cv);
        /* The loop may sleep in poll(): wake it to release the output. */
        if (d->wake)
            d->wake(d->wake_ctx);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

int srv_dbthread_start(srv_dbthread *d, srv_logic *L, void (*wake)(void *ctx), void *ctx)
{
    memset(d, 0, sizeof *d);
    d->logic = L;
    d->wake = wake;
    d->wake_ctx = ctx;
    if (pthread_mutex_init(&d->mu, NULL))
        return -1;
    if (pthread_cond_init(&d->cv, NULL)) {
        pthread_mutex_destroy(&d->mu);
        return -1;
    }
    if (pthread_create(&d->thread, NULL, db_main, d)) {
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
        return -1;
    }
    d->running = 1;
    return 0;
}

static void ask(srv_dbthread *d, int sync_job, int checkpoint)
{
    pthread_mutex_lock(&d->mu);
    d->finished = 0;
    d->sync_job = sync_job;
    d->checkpoint = checkpoint;
    d->asked = 1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

void srv_dbthread_commit(srv_dbthread *d)
{
    ask(d, 0, 0);
}

void srv_dbthread_sync(srv_dbthread *d, int checkpoint)
{
    ask(d, 1, checkpoint);
}

int srv_dbthread_done(srv_dbthread *d, int *failed)
{
    pthread_mutex_lock(&d->mu);
    int done = d->finished;
    *failed = d->failed;
    pthread_mutex_unlock(&d->mu);
    return done;
}

int srv_dbthread_wait(srv_dbthread *d)
{
    pthread_mutex_lock(&d->mu);
    while (!d->finished)
        pthread_cond_wait(&d->cv, &d->mu);
    int failed = d->failed;
    pthread_mutex_unlock(&d->mu);
    return failed;
}

void srv_dbthread_stop(srv_dbthread *d)
{
    if (!d->running)
        return;
    pthread_mutex_lock(&d->mu);
    d->quit = 1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    d->running = 0;
}
