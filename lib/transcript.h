/*
 * Transcript hashes and the confirmation tag (RFC 9420 §8.2, §6.1).
 *
 *   confirmed_transcript_hash_[n] =
 *       Hash(interim_transcript_hash_[n-1] || ConfirmedTranscriptHashInput_[n])
 *   interim_transcript_hash_[n] =
 *       Hash(confirmed_transcript_hash_[n] || InterimTranscriptHashInput_[n])
 *   confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash)
 *
 * The caller encodes ConfirmedTranscriptHashInput {wire_format,
 * FramedContent, signature<V>} of the Commit; InterimTranscriptHashInput is
 * just the confirmation tag as MAC<V>, encoded here.  Both hashes of epoch 0
 * are the empty string.  Hash outputs are suite->nh bytes.
 */
#ifndef MLS_TRANSCRIPT_H
#define MLS_TRANSCRIPT_H

#include "suite.h"

MLS_MUST_CHECK int mls_transcript_confirmed(const mls_suite *s, mls_bytes interim_before,
                                            mls_bytes confirmed_input,
                                            uint8_t out[MLS_MAX_HASH]);

/* interim = Hash(confirmed || InterimTranscriptHashInput{confirmation_tag}) */
MLS_MUST_CHECK int mls_transcript_interim(const mls_suite *s, mls_bytes confirmed,
                                          mls_bytes confirmation_tag, uint8_t out[MLS_MAX_HASH]);

/* Both steps for one Commit: from interim_before, the encoded
 * ConfirmedTranscriptHashInput and the Commit's confirmation tag. */
MLS_MUST_CHECK int mls_transcript_update(const mls_suite *s, mls_bytes interim_before,
                                         mls_bytes confirmed_input, mls_bytes confirmation_tag,
                                         uint8_t confirmed_out[MLS_MAX_HASH],
                                         uint8_t interim_out[MLS_MAX_HASH]);

/* confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash), Nh
 * bytes.  confirmation_key is Nh bytes. */
MLS_MUST_CHECK int mls_confirmation_tag(const mls_suite *s, mls_bytes confirmation_key,
                                        mls_bytes confirmed_transcript_hash,
                                        uint8_t out[MLS_MAX_HASH]);

/* MLS_OK if tag is the confirmation tag for this key and hash, MLS_ERR_MAC
 * otherwise (compared in constant time). */
MLS_MUST_CHECK int mls_confirmation_tag_verify(const mls_suite *s, mls_bytes confirmation_key,
                                               mls_bytes confirmed_transcript_hash,
                                               mls_bytes tag);

#endif
