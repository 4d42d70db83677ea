/* Unit tests for src/server/verifier.c: login signatures checked on the
 * thread come back in the order they were handed over, right and wrong
 * ones told apart; the thread wakes its caller; stopping it hands back
 * what it still had. */
#include <pthread.h>
#include <unistd.h>

#include "test.h"
#include "verifier.h"

#define N_JOBS 40

static int wakes;
static pthread_mutex_t wake_mu = PTHREAD_MUTEX_INITIALIZER;

static void on_wake(void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&wake_mu);
    wakes++;
    pthread_mutex_unlock(&wake_mu);
}

/* A user of a fresh identity and a login signature of nonce by it (or, if
 * wrong, by another identity). */
static srv_verify_job *job(mls_identity *id, mls_identity *other, const uint8_t nonce[32],
                           int wrong)
{
    srv_user u;
    memset(&u, 0, sizeof u);
    u.id = 7;
    snprintf(u.name, sizeof u.name, "alice");
    u.suite = 1;
    mls_bytes key = mls_identity_signature_key(id);
    memcpy(u.key, key.p, key.n);
    u.key_len = key.n;
    srv_auth_claim claim = {"login", mls_bytes_of(nonce, 32), 1000, "alice", 1, key};
    mls_buf content, sig;
    mls_buf_init(&content);
    mls_buf_init(&sig);
    srv_verify_job *j = NULL;
    if (chat_auth_content_encode(&claim, &content) == MLS_OK &&
        mls_identity_sign(test_env(), wrong ? other : id, SRV_AUTH_LABEL, mls_buf_view(&content),
                          &sig) == MLS_OK)
        j = srv_verify_job_new(&u, nonce, 1000, mls_buf_view(&sig));
    mls_buf_clear(&content);
    mls_buf_clear(&sig);
    return j;
}

static void test_order_and_results(mls_identity *id, mls_identity *other)
{
    srv_verifier v;
    CHECK_OK(srv_verifier_start(&v, on_wake, NULL));
    if (!v.running)
        return;
    uint8_t nonce[32];
    for (int i = 0; i < N_JOBS; i++) {
        memset(nonce, i, sizeof nonce);
        srv_verify_job *j = job(id, other, nonce, i % 3 == 1);
        CHECK(j != NULL);
        if (!j)
            continue;
        j->req_id = i;
        srv_verifier_submit(&v, j);
    }
    int seen = 0, bad = 0;
    for (int tries = 0; seen < N_JOBS && tries < 2000; tries++) {
        srv_verify_job *j = srv_verifier_take(&v);
        if (!j)
            usleep(5000);
        while (j) {
            srv_verify_job *next = j->next;
            bad += j->req_id != seen || (j->result != 0) != (seen % 3 == 1);
            seen++;
            srv_verify_job_free(j);
            j = next;
        }
    }
    CHECK(seen == N_JOBS);
    CHECK(bad == 0);
    pthread_mutex_lock(&wake_mu);
    CHECK(wakes >= 1);
    pthread_mutex_unlock(&wake_mu);
    CHECK(srv_verifier_stop(&v) == NULL);
    CHECK(!v.running);
    CHECK(srv_verifier_take(&v) == NULL);
}

/* Stopped with jobs in it: they come back, checked or not, none lost. */
static void test_stop_hands_back(mls_identity *id, mls_identity *other)
{
    srv_verifier v;
    CHECK_OK(srv_verifier_start(&v, NULL, NULL));
    if (!v.running)
        return;
    uint8_t nonce[32] = {1};
    int submitted = 0;
    for (int i = 0; i < N_JOBS; i++) {
        srv_verify_job *j = job(id, other, nonce, 0);
        if (j) {
            srv_verifier_submit(&v, j);
            submitted++;
        }
    }
    CHECK(submitted == N_JOBS);
    srv_verify_job *j = srv_verifier_stop(&v);
    int n = 0;
    while (j) {
        srv_verify_job *next = j->next;
        n++;
        srv_verify_job_free(j);
        j = next;
    }
    CHECK(n == submitted);
    CHECK(srv_verifier_stop(&v) == NULL); /* twice is harmless */
    srv_verify_job_free(NULL);
}

int main(void)
{
    mls_identity *id = NULL, *other = NULL;
    CHECK_OK(mls_identity_generate(test_env(), 1, mls_bytes_of((const uint8_t *)"alice", 5), &id));
    CHECK_OK(mls_identity_generate(test_env(), 1, mls_bytes_of((const uint8_t *)"alice", 5),
                                   &other));
    if (id && other) {
        test_order_and_results(id, other);
        test_stop_hands_back(id, other);
    }
    mls_identity_free(id);
    mls_identity_free(other);
    TEST_MAIN_END("test_server_verifier");
}
