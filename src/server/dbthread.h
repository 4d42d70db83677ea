/*
 * The database thread: COMMITs the event loop's batches (group commit off
 * the loop; the design is described at the top of dbthread.c).
 */
#ifndef SRV_DBTHREAD_H
#define SRV_DBTHREAD_H

#include <pthread.h>

#include "logic.h"

typedef struct srv_dbthread {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running;   /* the thread was started */
    int asked;     /* a job waits: a batch's COMMIT, or a sync */
    int sync_job;  /* the job is srv_logic_batch_sync, not a COMMIT */
    int checkpoint; /* a sync job that also checkpoints */
    int finished;  /* that COMMIT returned; failed tells how */
    int failed;
    int64_t commit_us; /* how long the last COMMIT took */
    int quit;
    srv_logic *logic;
    void (*wake)(void *ctx); /* called from the thread after each COMMIT */
    void *wake_ctx;
} srv_dbthread;

/* Starts the thread committing L's batches; wake(ctx) tells the loop that
 * a COMMIT returned (it must be safe to call from another thread).
 * Returns 0, or -1 when no thread could be started (d->running = 0: the
 * caller commits itself). */
int srv_dbthread_start(srv_dbthread *d, srv_logic *L, void (*wake)(void *ctx), void *ctx);
/* Hands the open batch over for its COMMIT (d->running only).  Until
 * srv_dbthread_done
 * reports it finished, the caller must not touch the store. */
void srv_dbthread_commit(srv_dbthread *d);
/* Hands over a sync (srv_logic_batch_sync) of every batch committed so
 * far; the loop goes on using the store meanwhile (store.h "sync").
 * srv_dbthread_done and srv_dbthread_wait report it as for a COMMIT. */
void srv_dbthread_sync(srv_dbthread *d, int checkpoint);
/* 1 when the batch handed over has been committed (*failed: 0, or 1 when
 * the COMMIT failed and the batch was rolled back), 0 while it runs. */
int srv_dbthread_done(srv_dbthread *d, int *failed);
/* Blocks until the batch handed over is committed; returns failed. */
int srv_dbthread_wait(srv_dbthread *d);
/* Stops the thread (after the batch in flight, if any). */
void srv_dbthread_stop(srv_dbthread *d);

#endif
