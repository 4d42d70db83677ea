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

static const mls_env env = {fuzz_random, fuzz_now, NULL};

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
