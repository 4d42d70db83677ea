/*
 * Group commit off the event loop.
 *
 * The event loop (transport.c) reads WebSocket frames and runs each
 * request at once (handlers -> logic -> store) inside the turn's open
 * transaction, as before: one thread, one SQLite connection, so every
 * read a request makes (the group's epoch for first-commit-wins, the next
 * sequence number, rosters, inbox counts) sees exactly the writes of the
 * requests accepted before it, in arrival order.  What moved is only the
 * COMMIT and its fsync: at the end of a turn that opened a transaction
 * the loop hands the batch to this thread (srv_dbthread_commit) with the
 * responses and events it holds back, and goes on serving sockets:
 * writing the output of the previous batch, reading and reassembling new
 * requests, accepting connections.  While a COMMIT is in flight the loop
 * does not touch the store at all: requests that arrive are queued in
 * arrival order (batch.c, "pending") and run, all together as the next
 * batch, as soon as the COMMIT returned.  So the batch grows with the
 * load, while the disk syncs, as in a database's group commit.
 *
 * The thread wakes the loop with lws_cancel_service(); the loop then
 * releases the committed batch's held output, or turns its responses into
 * `internal` errors and drops its events when the COMMIT failed
 * (docs/PROTOCOL.md §10: nothing is acknowledged before it is durable,
 * which the kill -9 tests check).  Only one batch is in flight at a time:
 * SQLite cannot run the next transaction on the connection while the
 * previous one commits, and a second connection would not see the
 * uncommitted writes the next batch's reads depend on.
 *
 * The store is thus used by two threads, never at the same time: the
 * hand-over and the "finished" flag are under one mutex, which orders the
 * loop's writes before the thread's COMMIT and the COMMIT before the
 * loop's next use (SQLite's default serialized mode would also allow
 * more, but nothing relies on it).
 */
#include "dbthread.h"

#include <string.h>

static void *db_main(void *arg)
{
    srv_dbthread *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->asked && !d->quit)
            pthread_cond_wait(&d->cv, &d->mu);
        if (!d->asked)
            break;
        pthread_mutex_unlock(&d->mu);
        int failed = srv_logic_batch_commit(d->logic) != 0;
        pthread_mutex_lock(&d->mu);
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

void srv_dbthread_commit(srv_dbthread *d)
{
    pthread_mutex_lock(&d->mu);
    d->finished = 0;
    d->asked = 1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
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
