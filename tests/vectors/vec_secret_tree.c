/* secret-tree.json: sender data key/nonce (RFC 9420 §6.3.2) and the
 * handshake and application keys/nonces of chosen generations of every leaf
 * (RFC 9420 §9). */
#include "vec.h"

#include <string.h>

#include "key_schedule.h"
#include "secret_tree.h"
#include "tree_math.h"

static int check_sender_data(const mls_suite *s, json_t *sd)
{
    mls_buf secret, ct;
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    int rc = -1;

    mls_buf_init(&secret);
    mls_buf_init(&ct);
    if (!json_is_object(sd)) {
        vec_fail("sender_data missing");
        goto out;
    }
    if (vec_hex(sd, "sender_data_secret", &secret) || vec_hex(sd, "ciphertext", &ct))
        goto out;
    int err = mls_sender_data_key_nonce(s, mls_buf_view(&secret), mls_buf_view(&ct), key, nonce);
    if (err) {
        vec_fail("sender data key/nonce: %s", mls_errname(err));
        goto out;
    }
    if (vec_expect(sd, "key", mls_bytes_of(key, s->nk)) ||
        vec_expect(sd, "nonce", mls_bytes_of(nonce, s->nn)))
        goto out;
    rc = 0;
out:
    mls_buf_clear(&secret);
    mls_buf_clear(&ct);
    return rc;
}

/* One generation of one ratchet of one leaf, with the key and nonce the
 * entry names. */
static int check_generation(mls_secret_tree *t, json_t *g, uint32_t leaf,
                            enum mls_ratchet_type type, uint32_t generation)
{
    const mls_suite *s = t->suite;
    uint8_t key[MLS_MAX_AEAD_KEY], nonce[MLS_MAX_AEAD_NONCE];
    const char *kname = type == MLS_RATCHET_HANDSHAKE ? "handshake_key" : "application_key";
    const char *nname = type == MLS_RATCHET_HANDSHAKE ? "handshake_nonce" : "application_nonce";
    int err = mls_secret_tree_get(t, leaf, type, generation, key, nonce);
    if (err) {
        vec_fail("leaf %u %s generation %u: %s", leaf, kname, generation, mls_errname(err));
        return -1;
    }
    if (vec_expect(g, kname, mls_bytes_of(key, s->nk)) ||
        vec_expect(g, nname, mls_bytes_of(nonce, s->nn)))
        return -1;
    return 0;
}

int vec_secret_tree(json_t *entry)
{
    const mls_suite *s;
    mls_buf enc;
    mls_secret_tree tree;
    int rc = -1;

    mls_buf_init(&enc);
    memset(&tree, 0, sizeof(tree));
    if (vec_suite(entry, &s))
        goto out;
    if (check_sender_data(s, json_object_get(entry, "sender_data")))
        goto out;
    if (vec_hex(entry, "encryption_secret", &enc))
        goto out;
    json_t *leaves = json_object_get(entry, "leaves");
    if (!json_is_array(leaves) || json_array_size(leaves) == 0 ||
        json_array_size(leaves) > MLS_TREE_MAX_LEAVES) {
        vec_fail("leaves: not a non-empty array of at most 2^31 leaves");
        goto out;
    }
    uint32_t n_leaves = (uint32_t)json_array_size(leaves);
    /* Every generation listed must be reachable: allow any distance forward
     * and keep nothing skipped.  Keys are consumed when handed out, so a
     * generation not above the previous one of the same leaf is looked up
     * in a fresh tree. */
    mls_secret_tree_config cfg = {0xffffffffu, 0};
    int err = mls_secret_tree_init(&tree, s, mls_buf_view(&enc), n_leaves, &cfg);
    if (err) {
        vec_fail("secret tree init: %s", mls_errname(err));
        goto out;
    }
    for (uint32_t i = 0; i < n_leaves; i++) {
        json_t *gens = json_array_get(leaves, i);
        if (!json_is_array(gens)) {
            vec_fail("leaves[%u]: not an array", i);
            goto out;
        }
        uint64_t prev = 0;
        for (size_t j = 0; j < json_array_size(gens); j++) {
            json_t *g = json_array_get(gens, j);
            uint64_t generation;
            if (vec_uint(g, "generation", &generation))
                goto out;
            if (generation > 0xffffffffu) {
                vec_fail("leaves[%u][%zu]: generation too large", i, j);
                goto out;
            }
            if (j > 0 && generation <= prev) {
                mls_secret_tree_clear(&tree);
                err = mls_secret_tree_init(&tree, s, mls_buf_view(&enc), n_leaves, &cfg);
                if (err) {
                    vec_fail("secret tree init: %s", mls_errname(err));
                    goto out;
                }
            }
            prev = generation;
            if (check_generation(&tree, g, i, MLS_RATCHET_HANDSHAKE, (uint32_t)generation) ||
                check_generation(&tree, g, i, MLS_RATCHET_APPLICATION, (uint32_t)generation))
                goto out;
        }
    }
    rc = 0;
out:
    mls_secret_tree_clear(&tree);
    mls_buf_clear(&enc);
    return rc;
}
