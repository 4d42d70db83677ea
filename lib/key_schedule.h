/*
 * The key schedule of RFC 9420 §8: epoch secrets from init_secret,
 * commit_secret, psk_secret and the GroupContext (§8), the PSK secret
 * (§8.4), MLS-Exporter (§8.5), the external key pair (§8), and the keys
 * derived from the sender data secret (§6.3.2) and the welcome secret
 * (§12.4.3.1).
 *
 * Every function takes the serialized GroupContext or PreSharedKeyID bytes
 * (the caller encodes them), so this module needs no struct codec.
 */
#ifndef MLS_KEY_SCHEDULE_H
#define MLS_KEY_SCHEDULE_H

#include "suite.h"

/*
 * The secrets of one epoch.  epoch_secret itself is not kept: it is deleted
 * as soon as everything below is derived (RFC 9420 §9.2).  joiner_secret and
 * welcome_secret are kept for building Welcome messages; wipe them
 * (mls_wipe) once the commit is sent.  Every array holds suite->nh bytes.
 */
typedef struct mls_epoch_secrets {
    const mls_suite *suite;
    uint8_t joiner_secret[MLS_MAX_HASH];
    uint8_t welcome_secret[MLS_MAX_HASH];
    uint8_t sender_data_secret[MLS_MAX_HASH];
    uint8_t encryption_secret[MLS_MAX_HASH];
    uint8_t exporter_secret[MLS_MAX_HASH];
    uint8_t external_secret[MLS_MAX_HASH];
    uint8_t confirmation_key[MLS_MAX_HASH];
    uint8_t membership_key[MLS_MAX_HASH];
    uint8_t resumption_psk[MLS_MAX_HASH];
    uint8_t epoch_authenticator[MLS_MAX_HASH];
    /* init_secret_[n]: the input of the next epoch's key schedule. */
    uint8_t init_secret[MLS_MAX_HASH];
} mls_epoch_secrets;

/* Wipes every secret.  Safe on a zeroed struct and safe to call twice. */
void mls_epoch_secrets_clear(mls_epoch_secrets *e);

/*
 * RFC 9420 §8: joiner_secret = ExpandWithLabel(KDF.Extract(init_secret,
 * commit_secret), "joiner", GroupContext, Nh).  init_secret is Nh bytes;
 * commit_secret is Nh bytes, or empty for the all-zero commit secret of a
 * commit without a path.  out gets Nh bytes.
 */
MLS_MUST_CHECK int mls_key_schedule_joiner(const mls_suite *s, mls_bytes init_secret,
                                           mls_bytes commit_secret, mls_bytes group_context,
                                           uint8_t out[MLS_MAX_HASH]);

/*
 * From joiner_secret on, as a new member does (RFC 9420 §12.4.3.1): the
 * welcome_secret and the epoch secrets.  psk_secret is Nh bytes, or empty
 * when no PSK is used (the all-zero psk_secret_[0]).
 */
MLS_MUST_CHECK int mls_key_schedule_from_joiner(const mls_suite *s, mls_bytes joiner_secret,
                                                mls_bytes psk_secret, mls_bytes group_context,
                                                mls_epoch_secrets *out);

/* The whole schedule of one epoch: mls_key_schedule_joiner followed by
 * mls_key_schedule_from_joiner. */
MLS_MUST_CHECK int mls_key_schedule_epoch(const mls_suite *s, mls_bytes init_secret,
                                          mls_bytes commit_secret, mls_bytes psk_secret,
                                          mls_bytes group_context, mls_epoch_secrets *out);

/* RFC 9420 §8: external_priv, external_pub = KEM.DeriveKeyPair(
 * external_secret).  Replaces the contents of sk and pk. */
MLS_MUST_CHECK int mls_key_schedule_external_keypair(const mls_suite *s,
                                                     mls_bytes external_secret, mls_buf *sk,
                                                     mls_buf *pk);

/*
 * RFC 9420 §8.5: MLS-Exporter(label, context, length) =
 * ExpandWithLabel(DeriveSecret(exporter_secret, label), "exported",
 * Hash(context), length).  The label is raw bytes (a registered label such
 * as "MLS 1.0 ..." is passed without its prefix, which is added here like
 * for every label).  length is at most 65535 and 255 * Nh.
 */
MLS_MUST_CHECK int mls_exporter(const mls_suite *s, mls_bytes exporter_secret, mls_bytes label,
                                mls_bytes context, uint8_t *out, size_t length);

/* One PSK as the key schedule sees it: the encoded PreSharedKeyID
 * (RFC 9420 §8.4) and the PSK value. */
typedef struct mls_psk_input {
    mls_bytes id;
    mls_bytes psk;
} mls_psk_input;

/*
 * RFC 9420 §8.4: psk_secret over n PSKs in the order of the Commit or
 * GroupSecrets (n = 0 gives the all-zero vector).  Each step:
 *   psk_extracted = KDF.Extract(0, psk)
 *   psk_input = ExpandWithLabel(psk_extracted, "derived psk",
 *                               PSKLabel{id, index, count}, Nh)
 *   psk_secret = KDF.Extract(psk_input, psk_secret)
 * n must fit the uint16 count.  out gets Nh bytes.
 */
MLS_MUST_CHECK int mls_psk_secret(const mls_suite *s, const mls_psk_input *psks, size_t n,
                                  uint8_t out[MLS_MAX_HASH]);

/* RFC 9420 §6.3.2: sender_data_key / sender_data_nonce from the first Nh
 * bytes of the content ciphertext (all of it if shorter).  key gets Nk
 * bytes, nonce Nn. */
MLS_MUST_CHECK int mls_sender_data_key_nonce(const mls_suite *s, mls_bytes sender_data_secret,
                                             mls_bytes ciphertext,
                                             uint8_t key[MLS_MAX_AEAD_KEY],
                                             uint8_t nonce[MLS_MAX_AEAD_NONCE]);

/* RFC 9420 §12.4.3.1: welcome_key and welcome_nonce, which encrypt the
 * GroupInfo of a Welcome. */
MLS_MUST_CHECK int mls_welcome_key_nonce(const mls_suite *s, mls_bytes welcome_secret,
                                         uint8_t key[MLS_MAX_AEAD_KEY],
                                         uint8_t nonce[MLS_MAX_AEAD_NONCE]);

#endif
