/* Deterministic environment, comparison and seed writing for the fuzz
 * harnesses (tests/fuzz/fuzz.h). */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t prng_state;

/* splitmix64: deterministic and fast; the harnesses need reproducible
 * runs, not secrecy. */
static uint64_t prng_next(void)
{
    uint64_t z = (prng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static int fuzz_random(void *ctx, uint8_t *out, size_t n)
{
    (void)ctx;
    while (n) {
        uint64_t v = prng_next();
        size_t k = n < sizeof v ? n : sizeof v;
        memcpy(out, &v, k);
        out += k;
        n -= k;
    }
    return 0;
}

static uint64_t fuzz_now(void *ctx)
{
    (void)ctx;
    return FUZZ_NOW;
}

static const mls_env env = {.random = fuzz_random, .now = fuzz_now, .ctx = NULL};

const mls_env *fuzz_env(void)
{
    return &env;
}

void fuzz_env_reset(void)
{
    prng_state = 0;
}

void fuzz_expect_same(mls_bytes want, mls_bytes got)
{
    if (want.n != got.n || (want.n && memcmp(want.p, got.p, want.n) != 0)) {
        fprintf(stderr, "fuzz: re-encoding differs (%zu bytes in, %zu bytes out)\n", want.n,
                got.n);
        abort();
    }
}

int fuzz_writing_seeds(void)
{
    return getenv("MLS_FUZZ_SEEDS") != NULL;
}

int fuzz_seed(const char *name, const uint8_t *prefix, size_t prefix_len, mls_bytes data)
{
    static unsigned counter;
    const char *dir = getenv("MLS_FUZZ_SEEDS");
    char path[4096];
    FILE *fp;

    if (!dir)
        return 0;
    snprintf(path, sizeof path, "%s/%s-%u", dir, name, counter++);
    fp = fopen(path, "wb");
    if (!fp) {
        perror(path);
        return 1;
    }
    if ((prefix_len && fwrite(prefix, 1, prefix_len, fp) != prefix_len) ||
        (data.n && fwrite(data.p, 1, data.n, fp) != data.n))
        perror(path);
    fclose(fp);
    return 1;
}

/* ---------------------------------------------------------------- group fixture */

static int psk_external(void *ctx, mls_bytes psk_id, mls_buf *psk)
{
    static const uint8_t value[32] = {0x42};
    (void)ctx;
    if (psk_id.n != 3 || memcmp(psk_id.p, "psk", 3) != 0)
        return MLS_ERR_NOT_FOUND;
    return mls_buf_set(psk, value, sizeof value);
}

static const mls_psk_store psk_store = {psk_external, NULL, NULL};

const mls_psk_store *fuzz_psk_store(void)
{
    return &psk_store;
}

static void must(int err, const char *what)
{
    if (err != MLS_OK) {
        fprintf(stderr, "fuzz fixture: %s: %s\n", what, mls_errname(err));
        abort();
    }
}

void fuzz_fixture_init(fuzz_fixture *f)
{
    static const char *names[FUZZ_N_IDS] = {"alice", "bob", "carol", "dave"};
    const mls_env *e = fuzz_env();
    const uint16_t app_ext = MLS_EXTENSION_PRIVATE_MIN;
    mls_group *g[FUZZ_CAROL + 1] = {NULL, NULL, NULL};
    mls_staged_commit *sc = NULL;
    mls_bytes kps[2];

    memset(f, 0, sizeof *f);
    fuzz_env_reset();
    for (int i = 0; i < FUZZ_N_IDS; i++) {
        must(mls_identity_generate(e, MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                                   mls_bytes_of((const uint8_t *)names[i], strlen(names[i])),
                                   &f->id[i]),
             "identity");
        /* The application extension the seeds set in GroupContext. */
        must(mls_identity_support_extensions(f->id[i], &app_ext, 1), "extensions");
        must(mls_key_package_create(e, f->id[i], NULL, &f->kp[i], &f->bundle[i]), "KeyPackage");
    }
    must(mls_group_create(e, f->id[FUZZ_ALICE], mls_bytes_of((const uint8_t *)"fuzz-group", 10),
                          NULL, 0, NULL, &g[FUZZ_ALICE]),
         "create");
    kps[0] = mls_buf_view(&f->kp[FUZZ_BOB]);
    kps[1] = mls_buf_view(&f->kp[FUZZ_CAROL]);
    must(mls_group_add_members(g[FUZZ_ALICE], kps, 2, &sc), "add");
    must(mls_group_merge_staged(g[FUZZ_ALICE], sc), "merge");
    for (int i = FUZZ_BOB; i <= FUZZ_CAROL; i++) {
        mls_bytes b = mls_buf_view(&f->bundle[i]);
        must(mls_group_join(e, f->id[i], mls_staged_commit_welcome(sc), &b, 1, NULL, NULL, &g[i]),
             "join");
    }
    mls_staged_commit_free(sc);
    for (int i = 0; i <= FUZZ_CAROL; i++) {
        must(mls_group_serialize(g[i], &f->state[i]), "serialize");
        mls_group_free(g[i]);
    }
}

mls_group *fuzz_fixture_group(const fuzz_fixture *f, int i)
{
    mls_group *g = NULL;
    must(mls_group_deserialize(fuzz_env(), mls_buf_view(&f->state[i]), &g), "deserialize");
    mls_group_set_psk_store(g, &psk_store);
    return g;
}
