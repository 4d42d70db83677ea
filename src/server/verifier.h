/*
 * The login verifier: a thread that checks login signatures (RFC 9420
 * §5.1.2 VerifyWithLabel over the challenge, docs/PROTOCOL.md §3) beside
 * the event loop, so that the loop serves other connections meanwhile.
 * The loop hands over a job holding copies of everything the check
 * reads, and takes the finished jobs back after each turn; the thread
 * wakes it when one finishes.  The thread never touches a connection:
 * a job's conn is the loop's, cleared when the connection closes first.
 */
#ifndef SRV_VERIFIER_H
#define SRV_VERIFIER_H

#include <pthread.h>

#include "auth.h"
#include "store.h"

struct srv_conn;

typedef struct srv_verify_job {
    struct srv_verify_job *next;
    /* The loop's: the connection waiting (NULL once it closed), its
     * request, and the user whose key is checked. */
    struct srv_conn *conn;
    int64_t req_id;
    int64_t t0_us;
    srv_user user;
    /* The claim (copies) and the signature. */
    uint8_t nonce[SRV_NONCE_LEN];
    uint64_t timestamp;
    uint8_t *sig;
    size_t sig_len;
    /* The thread's answer: srv_auth_verify's. */
    int result;
} srv_verify_job;

typedef struct srv_verifier {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running;
    int quit;
    srv_verify_job *asked_head, *asked_tail; /* for the thread, in order */
    srv_verify_job *checked_head, *checked_tail; /* for the loop, in order */
    void (*wake)(void *ctx);               /* called from the thread */
    void *wake_ctx;
} srv_verifier;

/* Starts the thread; -1 (v->running = 0) when none could be started, and
 * the caller verifies on the loop. */
int srv_verifier_start(srv_verifier *v, void (*wake)(void *ctx), void *ctx);
/* A job for the thread: a login of user (a copy is kept) claiming nonce
 * and timestamp, signed with sig.  NULL when out of memory. */
srv_verify_job *srv_verify_job_new(const srv_user *user, const uint8_t nonce[SRV_NONCE_LEN],
                                   uint64_t timestamp, mls_bytes sig);
void srv_verify_job_free(srv_verify_job *j);
void srv_verifier_submit(srv_verifier *v, srv_verify_job *j);
/* The finished jobs, in the order they were submitted; the caller frees
 * them. */
srv_verify_job *srv_verifier_take(srv_verifier *v);
/* Stops the thread and returns the jobs not taken, checked or not, for
 * the caller to let go of (their connections point at them). */
srv_verify_job *srv_verifier_stop(srv_verifier *v);

#endif
