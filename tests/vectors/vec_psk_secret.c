/* psk_secret.json: RFC 9420 §8.4 psk_secret over external PSKs. */
#include "vec.h"

#include "codec.h"
#include "key_schedule.h"

#include <stdlib.h>
#include <string.h>

/* PreSharedKeyID{psktype = external(1), psk_id<V>, psk_nonce<V>}. */
static int encode_external_psk_id(mls_buf *w, mls_bytes id, mls_bytes nonce)
{
    int err = mls_write_u8(w, 1);
    if (!err)
        err = mls_write_vec_bytes(w, id);
    if (!err)
        err = mls_write_vec_bytes(w, nonce);
    return err;
}

int vec_psk_secret(json_t *entry)
{
    const mls_suite *s;
    mls_buf *ids = NULL, *psks = NULL;
    mls_psk_input *in = NULL;
    mls_buf id, nonce;
    uint8_t got[MLS_MAX_HASH];
    size_t n = 0;
    int rc = -1;

    mls_buf_init(&id);
    mls_buf_init(&nonce);
    if (vec_suite(entry, &s))
        goto out;
    json_t *arr = json_object_get(entry, "psks");
    if (!json_is_array(arr)) {
        vec_fail("psks: not an array");
        goto out;
    }
    n = json_array_size(arr);
    ids = calloc(n + 1, sizeof(*ids));
    psks = calloc(n + 1, sizeof(*psks));
    in = calloc(n + 1, sizeof(*in));
    if (!ids || !psks || !in) {
        vec_fail("out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *p = json_array_get(arr, i);
        if (vec_hex(p, "psk_id", &id) || vec_hex(p, "psk_nonce", &nonce) ||
            vec_hex(p, "psk", &psks[i]))
            goto out;
        if (encode_external_psk_id(&ids[i], mls_buf_view(&id), mls_buf_view(&nonce))) {
            vec_fail("encoding PreSharedKeyID failed");
            goto out;
        }
        in[i].id = mls_buf_view(&ids[i]);
        in[i].psk = mls_buf_view(&psks[i]);
    }
    int err = mls_psk_secret(s, in, n, got);
    if (err) {
        vec_fail("psk_secret: %s", mls_errname(err));
        goto out;
    }
    rc = vec_expect(entry, "psk_secret", mls_bytes_of(got, s->nh));
out:
    for (size_t i = 0; ids && psks && i < n; i++) {
        mls_buf_clear(&ids[i]);
        mls_buf_clear(&psks[i]);
    }
    free(ids);
    free(psks);
    free(in);
    mls_buf_clear(&id);
    mls_buf_clear(&nonce);
    mls_wipe(got, sizeof(got));
    return rc;
}
