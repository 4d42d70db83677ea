/*
 * The cryptographic pieces of Welcome processing (RFC 9420 §12.4.3.1) and of
 * GroupInfo signatures (§12.4.3), on both sides:
 *
 *  joiner:  mls_welcome_find_secrets[_for_key_package] -> the
 *           EncryptedGroupSecrets for my KeyPackage;
 *           mls_welcome_decrypt_group_secrets -> GroupSecrets (joiner_secret,
 *           path_secret, PSK ids);  the caller resolves the PSKs and computes
 *           psk_secret (lib/key_schedule.h mls_psk_secret);
 *           mls_welcome_secret -> welcome_secret;
 *           mls_welcome_decrypt_group_info -> GroupInfo;
 *           mls_group_info_verify with the signer's key (from the ratchet
 *           tree, leaf group_info.signer);
 *           mls_group_info_verify_confirmation_tag with the confirmation_key
 *           of the new epoch's key schedule.
 *  committer: mls_group_info_sign, mls_welcome_encrypt_group_info,
 *           mls_welcome_encrypt_group_secrets for each new member.
 *
 * Nothing here looks at the ratchet tree or the group state: the policy
 * checks of §12.4.3.1 (tree hash, parent hashes, leaf validity) are the
 * group engine's.
 */
#ifndef MLS_WELCOME_H
#define MLS_WELCOME_H

#include "crypto.h"
#include "messages.h"

/* RFC 9420 §12.4.3.1: the entry of w->secrets whose new_member is
 * key_package_ref.  *out points into w.  MLS_ERR_NOT_FOUND if there is
 * none. */
MLS_MUST_CHECK int mls_welcome_find_secrets(const mls_welcome *w, mls_bytes key_package_ref,
                                            const mls_encrypted_group_secrets **out);

/* The same with the KeyPackageRef computed from kp (RFC 9420 §5.2,
 * RefHash("MLS 1.0 KeyPackage Reference", KeyPackage)).  MLS_ERR_UNSUPPORTED
 * if w->cipher_suite is not s. */
MLS_MUST_CHECK int mls_welcome_find_secrets_for_key_package(const mls_suite *s,
                                                            const mls_welcome *w,
                                                            const mls_key_package *kp,
                                                            const mls_encrypted_group_secrets **out);

/*
 * RFC 9420 §12.4.3.1: GroupSecrets = DecryptWithLabel(init_priv, "Welcome",
 * encrypted_group_info, kem_output, ciphertext), decoded.  init_priv is the
 * HPKE private key of the KeyPackage's init_key.  *out is overwritten like a
 * decode output (clear it with mls_group_secrets_clear; it holds secrets).
 * Errors: MLS_ERR_DECRYPT (wrong key or tampered), MLS_ERR_MALFORMED /
 * MLS_ERR_TRAILING (bad plaintext), MLS_ERR_INVALID if joiner_secret is not
 * Nh bytes.
 */
MLS_MUST_CHECK int mls_welcome_decrypt_group_secrets(const mls_suite *s, const mls_welcome *w,
                                                     const mls_encrypted_group_secrets *egs,
                                                     mls_bytes init_priv, mls_group_secrets *out);

/*
 * RFC 9420 §8: welcome_secret = DeriveSecret(KDF.Extract(joiner_secret,
 * psk_secret), "welcome").  joiner_secret is Nh bytes; psk_secret is Nh
 * bytes, or empty for "no PSKs" (the all-zero psk_secret).  out gets Nh
 * bytes.
 */
MLS_MUST_CHECK int mls_welcome_secret(const mls_suite *s, mls_bytes joiner_secret,
                                      mls_bytes psk_secret, uint8_t out[MLS_MAX_HASH]);

/*
 * RFC 9420 §12.4.3.1: GroupInfo = AEAD.Open(welcome_key, welcome_nonce, "",
 * encrypted_group_info), decoded, with welcome_key/nonce from
 * welcome_secret (Nh bytes).  MLS_ERR_DECRYPT, MLS_ERR_MALFORMED.  The
 * GroupInfo's suite must be the Welcome's (MLS_ERR_INVALID otherwise).
 */
MLS_MUST_CHECK int mls_welcome_decrypt_group_info(const mls_suite *s, const mls_welcome *w,
                                                  mls_bytes welcome_secret, mls_group_info *out);

/* RFC 9420 §12.4.3: VerifyWithLabel(signer_pub, "GroupInfoTBS",
 * GroupInfoTBS, signature).  MLS_ERR_SIGNATURE if it does not verify. */
MLS_MUST_CHECK int mls_group_info_verify(const mls_suite *s, const mls_group_info *gi,
                                         mls_bytes signer_pub);

/* RFC 9420 §12.4.3.1: the GroupInfo's confirmation_tag must be
 * MAC(confirmation_key, group_context.confirmed_transcript_hash).
 * MLS_ERR_MAC otherwise (compared in constant time). */
MLS_MUST_CHECK int mls_group_info_verify_confirmation_tag(const mls_suite *s,
                                                          const mls_group_info *gi,
                                                          mls_bytes confirmation_key);

/* RFC 9420 §12.4.3: fills gi->signature with SignWithLabel(signer_priv,
 * "GroupInfoTBS", GroupInfoTBS) (the other fields must be set). */
MLS_MUST_CHECK int mls_group_info_sign(const mls_suite *s, const mls_env *env,
                                       mls_group_info *gi, mls_bytes signer_priv);

/* RFC 9420 §12.4.3.1: encrypted_group_info = AEAD.Seal(welcome_key,
 * welcome_nonce, "", GroupInfo); replaces the contents of out. */
MLS_MUST_CHECK int mls_welcome_encrypt_group_info(const mls_suite *s, mls_bytes welcome_secret,
                                                  const mls_group_info *gi, mls_buf *out);

/* RFC 9420 §12.4.3.1: EncryptWithLabel(init_key, "Welcome",
 * encrypted_group_info, GroupSecrets) for one new member; *out is
 * overwritten (clear it with mls_hpke_ciphertext_clear). */
MLS_MUST_CHECK int mls_welcome_encrypt_group_secrets(const mls_suite *s, const mls_env *env,
                                                     mls_bytes init_key,
                                                     mls_bytes encrypted_group_info,
                                                     const mls_group_secrets *gs,
                                                     mls_hpke_ciphertext *out);

/*
 * The same for n new members at once, with the context hashed once
 * (mls_encrypt_context_hash(s, "Welcome", encrypted_group_info)): member
 * i's GroupSecrets encoding group_secrets[i] goes to init_keys[i] and into
 * out[i].encrypted_group_secrets (zeroed or cleared beforehand; replaced
 * on success; on failure some may be filled, to be cleared by the
 * caller).  The HPKE encryptions run through env's executor; their
 * randomness is drawn from env in member order first, so the output is
 * that of the one-by-one loop with any executor.
 */
MLS_MUST_CHECK int mls_welcome_seal_group_secrets(const mls_suite *s, const mls_env *env,
                                                  mls_bytes context_hash,
                                                  const mls_bytes *init_keys,
                                                  const mls_buf *group_secrets, size_t n,
                                                  mls_encrypted_group_secrets *out);

#endif
