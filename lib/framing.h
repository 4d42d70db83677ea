/*
 * Message framing (RFC 9420 §6): content authentication (§6.1), PublicMessage
 * (§6.2) and PrivateMessage (§6.3) protection and unprotection.
 *
 * Sending:
 *   1. mls_framing_sign: FramedContent -> AuthenticatedContent, signed for
 *      the wire format it will be sent in.
 *   2. For a Commit, the caller computes the confirmed transcript hash from
 *      the signed content (messages.h mls_confirmed_transcript_hash_input_
 *      encode, transcript.h) and stores the confirmation tag of the new epoch
 *      in ac.auth.confirmation_tag (Nh bytes).
 *   3. mls_framing_protect_public or mls_framing_protect_private: the
 *      MLSMessage to encode and send.
 *
 * Receiving: decode the MLSMessage, then mls_framing_unprotect_public or
 * mls_framing_unprotect_private.  Both resolve the sender's signature key
 * through a callback (the group engine looks the sender up in its ratchet
 * tree, external_senders extension, or the message itself), verify the
 * signature, and only then report success.  Verifying the confirmation tag
 * of a Commit needs the new epoch's key schedule, so it is the caller's.
 *
 * State: only the secret tree changes, and only on success: the receiving
 * side consumes the key of a generation when the message has decrypted and
 * its signature verified; the sending side consumes the next generation.
 */
#ifndef MLS_FRAMING_H
#define MLS_FRAMING_H

#include "messages.h"
#include "secret_tree.h"

/*
 * What framing needs of one epoch of a group.  All of it is borrowed: the
 * caller keeps it alive during the call.
 */
typedef struct mls_framing_ctx {
    const mls_suite *suite;
    mls_bytes group_id;
    uint64_t epoch;
    /* The encoded GroupContext of this epoch (signed by members and new
     * members committing, RFC 9420 §6.1). */
    mls_bytes group_context;
    /* Nh bytes; needed for PublicMessages of member senders. */
    mls_bytes membership_key;
    /* Nh bytes; needed for PrivateMessages. */
    mls_bytes sender_data_secret;
    /* This epoch's secret tree; needed for PrivateMessages. */
    mls_secret_tree *secret_tree;
    /* RFC 9420 §6.3.1 padding policy for sending: the PrivateMessageContent
     * (content, auth and padding) is padded with zero bytes to a multiple of
     * padding_block bytes.  0 or 1: no padding. */
    uint32_t padding_block;
} mls_framing_ctx;

/*
 * Resolves the signature public key of the sender of ac (RFC 9420 §6.1:
 * the leaf's signature_key for a member, the external_senders entry for an
 * external sender, the Commit path's leaf for new_member_commit, the
 * KeyPackage's leaf for new_member_proposal).  Sets *sig_pub (borrowed; it
 * must stay valid until the unprotect call returns) and returns MLS_OK, or
 * returns an error (for example MLS_ERR_NOT_FOUND for a blank leaf), which
 * the unprotect call returns unchanged.
 */
typedef int (*mls_framing_sig_key_fn)(void *arg, const mls_authenticated_content *ac,
                                      mls_bytes *sig_pub);

/*
 * RFC 9420 §6.1 rules between sender type, content type and wire format:
 * application data only in a PrivateMessage; a PrivateMessage only from a
 * member; an external sender or new_member_proposal sends proposals (the
 * latter only Add); new_member_commit sends commits.  MLS_ERR_INVALID if
 * broken, MLS_ERR_ARG for an unknown wire format.
 */
MLS_MUST_CHECK int mls_framing_check_sender(uint16_t wire_format,
                                            const mls_framed_content *content);

/*
 * RFC 9420 §6.1: *out = {wire_format, copy of content, auth{signature =
 * SignWithLabel(sig_priv, "FramedContentTBS", FramedContentTBS)}}, with an
 * empty confirmation_tag for the caller to fill in for a Commit.  The
 * content's group_id and epoch must be the ctx's (MLS_ERR_ARG), and the
 * sender rules of mls_framing_check_sender hold (MLS_ERR_INVALID).  *out is
 * overwritten (clear it with mls_authenticated_content_clear).
 */
MLS_MUST_CHECK int mls_framing_sign(const mls_framing_ctx *ctx, const mls_env *env,
                                    uint16_t wire_format, const mls_framed_content *content,
                                    mls_bytes sig_priv, mls_authenticated_content *out);

/* RFC 9420 §6.1: VerifyWithLabel(sig_pub, "FramedContentTBS",
 * FramedContentTBS, signature).  MLS_ERR_SIGNATURE if it does not verify. */
MLS_MUST_CHECK int mls_framing_verify_signature(const mls_suite *s,
                                                const mls_authenticated_content *ac,
                                                mls_bytes group_context, mls_bytes sig_pub);

/* RFC 9420 §6.2: membership_tag = MAC(membership_key,
 * AuthenticatedContentTBM); out gets Nh bytes. */
MLS_MUST_CHECK int mls_framing_membership_tag(const mls_suite *s, mls_bytes membership_key,
                                              const mls_framed_content *content,
                                              const mls_framed_content_auth_data *auth,
                                              mls_bytes group_context, uint8_t out[MLS_MAX_HASH]);

/*
 * RFC 9420 §6.2: the MLSMessage(PublicMessage) carrying ac, with the
 * membership tag for a member sender.  ac must be signed for
 * wire format public_message and be for the ctx's group and epoch
 * (MLS_ERR_ARG); a Commit must carry an Nh-byte confirmation tag
 * (MLS_ERR_ARG); application content is refused (MLS_ERR_INVALID: RFC 9420
 * §6 requires PrivateMessage for it).  *out is overwritten (clear with
 * mls_message_clear).
 */
MLS_MUST_CHECK int mls_framing_protect_public(const mls_framing_ctx *ctx,
                                              const mls_authenticated_content *ac,
                                              mls_message *out);

/*
 * RFC 9420 §6.2: from a decoded MLSMessage(PublicMessage) to a verified
 * AuthenticatedContent.  Checks, in order: wire format (MLS_ERR_ARG),
 * group_id (MLS_ERR_WRONG_GROUP), epoch (MLS_ERR_WRONG_EPOCH), sender rules
 * (MLS_ERR_INVALID), confirmation tag length of a Commit
 * (MLS_ERR_MALFORMED), membership tag of a member sender (MLS_ERR_MAC,
 * compared in constant time), then the signature with the key from key_fn
 * (its error, or MLS_ERR_SIGNATURE).  *out is written only on success.
 */
MLS_MUST_CHECK int mls_framing_unprotect_public(const mls_framing_ctx *ctx, const mls_message *msg,
                                                mls_framing_sig_key_fn key_fn, void *key_arg,
                                                mls_authenticated_content *out);

/*
 * RFC 9420 §6.3: the MLSMessage(PrivateMessage) carrying ac, encrypted with
 * the next generation of the sender's handshake ratchet (proposal, commit)
 * or application ratchet (application), a fresh reuse guard from env, and
 * zero padding per ctx->padding_block.  ac must be signed for wire format
 * private_message, from a member sender, for the ctx's group and epoch
 * (MLS_ERR_ARG); a Commit must carry an Nh-byte confirmation tag
 * (MLS_ERR_ARG).  Consumes one generation of the sender's ratchet.
 */
MLS_MUST_CHECK int mls_framing_protect_private(const mls_framing_ctx *ctx, const mls_env *env,
                                               const mls_authenticated_content *ac,
                                               mls_message *out);

/*
 * RFC 9420 §6.3: from a decoded MLSMessage(PrivateMessage) to a verified
 * AuthenticatedContent.  Checks, in order: wire format (MLS_ERR_ARG),
 * group_id (MLS_ERR_WRONG_GROUP), epoch (MLS_ERR_WRONG_EPOCH), sender data
 * decryption (MLS_ERR_DECRYPT) and decoding (MLS_ERR_MALFORMED), sender
 * leaf inside the tree (MLS_ERR_INVALID), the generation's key
 * (MLS_ERR_KEY_USED if already used or dropped, MLS_ERR_INVALID if too far
 * ahead), content decryption (MLS_ERR_DECRYPT), content decoding including
 * all-zero padding (MLS_ERR_MALFORMED), sender rules and the confirmation
 * tag length of a Commit (MLS_ERR_MALFORMED), then the signature with the
 * key from key_fn (its error, or MLS_ERR_SIGNATURE).  The key of the
 * generation is consumed only when all of that succeeded; on any error the
 * secret tree is as before.  *out is written only on success; generation,
 * if not NULL, gets the ratchet generation of the message.
 */
MLS_MUST_CHECK int mls_framing_unprotect_private(const mls_framing_ctx *ctx,
                                                 const mls_message *msg,
                                                 mls_framing_sig_key_fn key_fn, void *key_arg,
                                                 mls_authenticated_content *out,
                                                 uint32_t *generation);

/*
 * The same checks in the same order, except the signature: *sig_pub gets
 * the key key_fn found (borrowed from key_fn) for the caller to verify
 * with mls_framing_verify_signature, and the generation's key IS consumed
 * on success.  For batch processing (batch.c), which verifies many
 * messages' signatures at once through the executor and must put the
 * secret tree back (from a copy) if one of them fails.
 */
MLS_MUST_CHECK int mls_framing_unprotect_private_deferred(const mls_framing_ctx *ctx,
                                                          const mls_message *msg,
                                                          mls_framing_sig_key_fn key_fn,
                                                          void *key_arg,
                                                          mls_authenticated_content *out,
                                                          mls_bytes *sig_pub);

#endif
