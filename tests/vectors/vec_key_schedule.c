/* key-schedule.json: the epochs of a group chained through init_secret
 * (RFC 9420 §8), with the GroupContext of each epoch, every derived secret,
 * the external public key and one exporter output. */
#include "vec.h"

#include "codec.h"
#include "key_schedule.h"

#include <string.h>

/* RFC 9420 §8.1 GroupContext with empty extensions. */
static int encode_group_context(mls_buf *w, uint16_t suite, mls_bytes group_id, uint64_t epoch,
                                mls_bytes tree_hash, mls_bytes cth)
{
    int err = mls_write_u16(w, 1); /* mls10 */
    if (!err)
        err = mls_write_u16(w, suite);
    if (!err)
        err = mls_write_vec_bytes(w, group_id);
    if (!err)
        err = mls_write_u64(w, epoch);
    if (!err)
        err = mls_write_vec_bytes(w, tree_hash);
    if (!err)
        err = mls_write_vec_bytes(w, cth);
    if (!err)
        err = mls_write_vec(w, NULL, 0);
    return err;
}

static int check_exporter(const mls_suite *s, const mls_epoch_secrets *e, json_t *ex)
{
    mls_buf label, context;
    uint8_t out[1024];
    uint64_t length;
    int rc = -1;

    mls_buf_init(&label);
    mls_buf_init(&context);
    if (!json_is_object(ex)) {
        vec_fail("exporter missing");
        goto out;
    }
    /* The label is a JSON string used as it is (test-vectors.md: "label":
     * string), not hex like the byte strings. */
    json_t *lv = json_object_get(ex, "label");
    if (!json_is_string(lv)) {
        vec_fail("exporter.label: not a string");
        goto out;
    }
    if (mls_buf_set(&label, json_string_value(lv), json_string_length(lv))) {
        vec_fail("out of memory");
        goto out;
    }
    if (vec_hex(ex, "context", &context) || vec_uint(ex, "length", &length))
        goto out;
    if (length > sizeof(out)) {
        vec_fail("exporter length %llu too large for the check", (unsigned long long)length);
        goto out;
    }
    int err = mls_exporter(s, mls_bytes_of(e->exporter_secret, s->nh), mls_buf_view(&label),
                           mls_buf_view(&context), out, (size_t)length);
    if (err) {
        vec_fail("exporter: %s", mls_errname(err));
        goto out;
    }
    rc = vec_expect(ex, "secret", mls_bytes_of(out, (size_t)length));
out:
    mls_buf_clear(&label);
    mls_buf_clear(&context);
    mls_wipe(out, sizeof(out));
    return rc;
}

static int check_epoch(const mls_suite *s, json_t *ep, mls_bytes group_id, uint64_t epoch,
                       mls_buf *init_secret)
{
    mls_buf tree_hash, commit, psk, cth, gc, sk, pk;
    mls_epoch_secrets e;
    int rc = -1, err;

    mls_buf_init(&tree_hash);
    mls_buf_init(&commit);
    mls_buf_init(&psk);
    mls_buf_init(&cth);
    mls_buf_init(&gc);
    mls_buf_init(&sk);
    mls_buf_init(&pk);
    memset(&e, 0, sizeof(e));
    if (vec_hex(ep, "tree_hash", &tree_hash) || vec_hex(ep, "commit_secret", &commit) ||
        vec_hex(ep, "psk_secret", &psk) || vec_hex(ep, "confirmed_transcript_hash", &cth))
        goto out;
    if (encode_group_context(&gc, s->id, group_id, epoch, mls_buf_view(&tree_hash),
                             mls_buf_view(&cth))) {
        vec_fail("encoding GroupContext failed");
        goto out;
    }
    if (vec_expect(ep, "group_context", mls_buf_view(&gc)))
        goto out;
    err = mls_key_schedule_epoch(s, mls_buf_view(init_secret), mls_buf_view(&commit),
                                 mls_buf_view(&psk), mls_buf_view(&gc), &e);
    if (err) {
        vec_fail("epoch %llu key schedule: %s", (unsigned long long)epoch, mls_errname(err));
        goto out;
    }
#define EXPECT(field, name)                                                  \
    if (vec_expect(ep, name, mls_bytes_of(e.field, s->nh)))                 \
        goto out;
    EXPECT(joiner_secret, "joiner_secret")
    EXPECT(welcome_secret, "welcome_secret")
    EXPECT(init_secret, "init_secret")
    EXPECT(sender_data_secret, "sender_data_secret")
    EXPECT(encryption_secret, "encryption_secret")
    EXPECT(exporter_secret, "exporter_secret")
    EXPECT(epoch_authenticator, "epoch_authenticator")
    EXPECT(external_secret, "external_secret")
    EXPECT(confirmation_key, "confirmation_key")
    EXPECT(membership_key, "membership_key")
    EXPECT(resumption_psk, "resumption_psk")
#undef EXPECT
    if (check_exporter(s, &e, json_object_get(ep, "exporter")))
        goto out;
    err = mls_key_schedule_external_keypair(s, mls_bytes_of(e.external_secret, s->nh), &sk, &pk);
    if (err) {
        vec_fail("epoch %llu external key pair: %s", (unsigned long long)epoch,
                 mls_errname(err));
        goto out;
    }
    if (vec_expect(ep, "external_pub", mls_buf_view(&pk)))
        goto out;
    if (mls_buf_set(init_secret, e.init_secret, s->nh)) {
        vec_fail("out of memory");
        goto out;
    }
    rc = 0;
out:
    mls_epoch_secrets_clear(&e);
    mls_buf_clear(&tree_hash);
    mls_buf_clear(&commit);
    mls_buf_clear(&psk);
    mls_buf_clear(&cth);
    mls_buf_clear(&gc);
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
    return rc;
}

int vec_key_schedule(json_t *entry)
{
    const mls_suite *s;
    mls_buf group_id, init_secret;
    int rc = -1;

    mls_buf_init(&group_id);
    mls_buf_init(&init_secret);
    if (vec_suite(entry, &s))
        goto out;
    if (vec_hex(entry, "group_id", &group_id) ||
        vec_hex(entry, "initial_init_secret", &init_secret))
        goto out;
    json_t *epochs = json_object_get(entry, "epochs");
    if (!json_is_array(epochs) || json_array_size(epochs) == 0) {
        vec_fail("epochs: not a non-empty array");
        goto out;
    }
    for (size_t i = 0; i < json_array_size(epochs); i++)
        if (check_epoch(s, json_array_get(epochs, i), mls_buf_view(&group_id), i, &init_secret))
            goto out;
    rc = 0;
out:
    mls_buf_clear(&group_id);
    mls_buf_clear(&init_secret);
    return rc;
}
