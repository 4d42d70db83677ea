/* transcript-hashes.json: the confirmation tag of a Commit and the
 * transcript hashes it produces (RFC 9420 §8.2, §6.1). */
#include "vec.h"

#include <string.h>

#include "messages.h"
#include "transcript.h"

int vec_transcript_hashes(json_t *entry)
{
    const mls_suite *s;
    mls_buf raw, key, interim_before, input;
    mls_authenticated_content ac;
    uint8_t confirmed[MLS_MAX_HASH], interim[MLS_MAX_HASH];
    int rc = -1, err;

    mls_buf_init(&raw);
    mls_buf_init(&key);
    mls_buf_init(&interim_before);
    mls_buf_init(&input);
    memset(&ac, 0, sizeof(ac));
    if (vec_suite(entry, &s))
        goto out;
    if (vec_hex(entry, "authenticated_content", &raw) ||
        vec_hex(entry, "confirmation_key", &key) ||
        vec_hex(entry, "interim_transcript_hash_before", &interim_before))
        goto out;
    if ((err = mls_authenticated_content_decode_bytes(mls_buf_view(&raw), &ac))) {
        vec_fail("authenticated_content: %s", mls_errname(err));
        goto out;
    }
    if (ac.content.content_type != MLS_CONTENT_COMMIT) {
        vec_fail("authenticated_content is not a Commit");
        goto out;
    }
    if ((err = mls_confirmed_transcript_hash_input_encode(ac.wire_format, &ac.content,
                                                          mls_buf_view(&ac.auth.signature),
                                                          &input)) ||
        (err = mls_transcript_update(s, mls_buf_view(&interim_before), mls_buf_view(&input),
                                     mls_buf_view(&ac.auth.confirmation_tag), confirmed,
                                     interim))) {
        vec_fail("transcript update: %s", mls_errname(err));
        goto out;
    }
    if (vec_expect(entry, "confirmed_transcript_hash_after", mls_bytes_of(confirmed, s->nh)) ||
        vec_expect(entry, "interim_transcript_hash_after", mls_bytes_of(interim, s->nh)))
        goto out;
    /* The tag must be MAC(confirmation_key, confirmed_transcript_hash_after). */
    if ((err = mls_confirmation_tag_verify(s, mls_buf_view(&key), mls_bytes_of(confirmed, s->nh),
                                           mls_buf_view(&ac.auth.confirmation_tag)))) {
        vec_fail("confirmation tag: %s", mls_errname(err));
        goto out;
    }
    rc = 0;
out:
    mls_authenticated_content_clear(&ac);
    mls_buf_clear(&raw);
    mls_buf_clear(&key);
    mls_buf_clear(&interim_before);
    mls_buf_clear(&input);
    return rc;
}
