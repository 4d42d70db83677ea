/*
 * The login verifier thread (verifier.h).  One thread: the loop's own
 * work per login is about as long as a verification here, so a second
 * core's worth is what there is to gain (BENCHMARKS.md).
 */
#include "verifier.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

srv_verify_job *srv_verify_job_new(const srv_user *user, const uint8_t nonce[SRV_NONCE_LEN],
                                   uint64_t timestamp, mls_bytes sig)
{
    srv_verify_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->sig = malloc(sig.n ? sig.n : 1);
    if (!j->sig) {
        free(j);
        return NULL;
    }
    memcpy(j->sig, sig.p, sig.n);
    j->sig_len = sig.n;
    j->user = *user;
    memcpy(j->nonce, nonce, SRV_NONCE_LEN);
    j->timestamp = timestamp;
    return j;
}

void srv_verify_job_free(srv_verify_job *j)
{
    if (!j)
        return;
    OPENSSL_cleanse(j->nonce, sizeof j->nonce);
    free(j->sig);
    free(j);
}

static void verify(srv_verify_job *j)
{
    srv_auth_claim claim = {"login",
                            mls_bytes_of(j->nonce, SRV_NONCE_LEN),
                            j->timestamp,
                            j->user.name,
                            j->user.suite,
                            mls_bytes_of(j->user.key, j->user.key_len)};
    j->result = srv_auth_verify(&claim, mls_bytes_of(j->sig, j->sig_len));
}

static void *verifier_main(void *arg)
{
    srv_verifier *v = arg;
    pthread_mutex_lock(&v->mu);
    for (;;) {
        while (!v->asked_head && !v->quit)
            pthread_cond_wait(&v->cv, &v->mu);
        if (v->quit)
            break;
        srv_verify_job *j = v->asked_head;
        v->asked_head = j->next;
        if (!v->asked_head)
            v->asked_tail = NULL;
        pthread_mutex_unlock(&v->mu);
        verify(j);
        pthread_mutex_lock(&v->mu);
        j->next = NULL;
        if (v->checked_tail)
            v->checked_tail->next = j;
        else
            v->checked_head = j;
        v->checked_tail = j;
        if (v->wake)
            v->wake(v->wake_ctx);
    }
    pthread_mutex_unlock(&v->mu);
    return NULL;
}

int srv_verifier_start(srv_verifier *v, void (*wake)(void *ctx), void *ctx)
{
    memset(v, 0, sizeof *v);
    v->wake = wake;
    v->wake_ctx = ctx;
    if (pthread_mutex_init(&v->mu, NULL))
        return -1;
    if (pthread_cond_init(&v->cv, NULL)) {
        pthread_mutex_destroy(&v->mu);
        return -1;
    }
    if (pthread_create(&v->thread, NULL, verifier_main, v)) {
        pthread_cond_destroy(&v->cv);
        pthread_mutex_destroy(&v->mu);
        return -1;
    }
    v->running = 1;
    return 0;
}

void srv_verifier_submit(srv_verifier *v, srv_verify_job *j)
{
    j->next = NULL;
    pthread_mutex_lock(&v->mu);
    if (v->asked_tail)
        v->asked_tail->next = j;
    else
        v->asked_head = j;
    v->asked_tail = j;
    pthread_cond_signal(&v->cv);
    pthread_mutex_unlock(&v->mu);
}

srv_verify_job *srv_verifier_take(srv_verifier *v)
{
    if (!v->running)
        return NULL;
    pthread_mutex_lock(&v->mu);
    srv_verify_job *j = v->checked_head;
    v->checked_head = v->checked_tail = NULL;
    pthread_mutex_unlock(&v->mu);
    return j;
}

srv_verify_job *srv_verifier_stop(srv_verifier *v)
{
    if (!v->running)
        return NULL;
    pthread_mutex_lock(&v->mu);
    v->quit = 1;
    pthread_cond_signal(&v->cv);
    pthread_mutex_unlock(&v->mu);
    pthread_join(v->thread, NULL);
    srv_verify_job *left = v->checked_head;
    if (v->checked_tail)
        v->checked_tail->next = v->asked_head;
    else
        left = v->asked_head;
    v->asked_head = v->asked_tail = v->checked_head = v->checked_tail = NULL;
    pthread_cond_destroy(&v->cv);
    pthread_mutex_destroy(&v->mu);
    v->running = 0;
    return left;
}
