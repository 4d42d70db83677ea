/* RFC 9420 §8.2: transcript hashes; §6.1: confirmation tag. */
#include "transcript.h"

#include "codec.h"
#include "detail.h"

#include <string.h>

int mls_transcript_confirmed(const mls_suite *s, mls_bytes interim_before,
                             mls_bytes confirmed_input, uint8_t out[MLS_MAX_HASH])
{
    mls_bytes parts[2] = {interim_before, confirmed_input};
    if (!s)
        return MLS_ERR_ARG;
    return mls_hash_parts(s, parts, 2, out);
}

int mls_transcript_interim(const mls_suite *s, mls_bytes confirmed, mls_bytes confirmation_tag,
                           uint8_t out[MLS_MAX_HASH])
{
    /* struct { MAC confirmation_tag; } InterimTranscriptHashInput; with
     * opaque MAC<V>: the varint length of the tag, then the tag. */
    uint8_t prefix[4];
    mls_buf w;
    int err;

    if (!s)
        return MLS_ERR_ARG;
    mls_buf_init_stack(&w, prefix, sizeof(prefix));
    if ((err = mls_write_varint(&w, confirmation_tag.n)))
        goto out;
    mls_bytes parts[3] = {confirmed, mls_buf_view(&w), confirmation_tag};
    err = mls_hash_parts(s, parts, 3, out);
out:
    mls_buf_clear(&w);
    return err;
}

int mls_transcript_update(const mls_suite *s, mls_bytes interim_before, mls_bytes confirmed_input,
                          mls_bytes confirmation_tag, uint8_t confirmed_out[MLS_MAX_HASH],
                          uint8_t interim_out[MLS_MAX_HASH])
{
    uint8_t c[MLS_MAX_HASH], i[MLS_MAX_HASH];
    int err;

    if (!s)
        return MLS_ERR_ARG;
    if ((err = mls_transcript_confirmed(s, interim_before, confirmed_input, c)) ||
        (err = mls_transcript_interim(s, mls_bytes_of(c, s->nh), confirmation_tag, i)))
        return err;
    memcpy(confirmed_out, c, s->nh);
    memcpy(interim_out, i, s->nh);
    return MLS_OK;
}

int mls_confirmation_tag(const mls_suite *s, mls_bytes confirmation_key,
                         mls_bytes confirmed_transcript_hash, uint8_t out[MLS_MAX_HASH])
{
    if (!s || confirmation_key.n != s->nh)
        return MLS_ERR_ARG;
    /* RFC 9420 §5.1: the MAC of every suite is HMAC with its hash. */
    return mls_hmac(s, confirmation_key, confirmed_transcript_hash, out);
}

int mls_confirmation_tag_verify(const mls_suite *s, mls_bytes confirmation_key,
                                mls_bytes confirmed_transcript_hash, mls_bytes tag)
{
    uint8_t want[MLS_MAX_HASH];
    int err = mls_confirmation_tag(s, confirmation_key, confirmed_transcript_hash, want);
    if (!err && !mls_ct_equal(mls_bytes_of(want, s->nh), tag))
        err = MLS_DETAIL(MLS_ERR_MAC, "RFC 9420 §6.1: confirmation_tag does not match");
    mls_wipe(want, sizeof(want));
    return err;
}
