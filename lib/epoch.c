/*
 * The next epoch (RFC 9420 §8, §12.4): see epoch.h.  Every epoch a group
 * enters is computed here, whether it began with a commit (created,
 * processed, external) or a Welcome.
 */
#include "epoch.h"

#include <string.h>

#include "crypto.h"
#include "hpke.h"
#include "transcript.h"
#include "welcome.h"

int mls_epoch_begin(mls_group *g, mls_epoch_state *next)
{
    int err;

    memset(next, 0, sizeof(*next));
    /* The overlay records only the slots the commit changes, so a failed
     * commit leaves the current tree as it was and a merged one is written
     * into it in O(changed slots) (mls_group_install_epoch). */
    if ((err = mls_group_context_copy(&next->ctx, &g->cur.ctx)) != 0 ||
        (err = mls_rtree_overlay(&next->tree, &g->cur.tree)) != 0 ||
        (err = mls_treekem_priv_copy(&next->priv, &g->cur.priv)) != 0) {
        mls_epoch_state_clear(next);
        return err;
    }
    return 0;
}

int mls_epoch_state_copy(mls_epoch_state *dst, const mls_epoch_state *src)
{
    int err;

    memset(dst, 0, sizeof(*dst));
    if ((err = mls_group_context_copy(&dst->ctx, &src->ctx)) != 0 ||
        (err = mls_buf_copy(&dst->ctx_enc, &src->ctx_enc)) != 0 ||
        (err = mls_rtree_copy(&dst->tree, &src->tree)) != 0 ||
        (err = mls_treekem_priv_copy(&dst->priv, &src->priv)) != 0) {
        mls_epoch_state_clear(dst);
        return err;
    }
    dst->sec = src->sec;
    memcpy(dst->interim, src->interim, sizeof(dst->interim));
    memcpy(dst->conf_tag, src->conf_tag, sizeof(dst->conf_tag));
    return 0;
}

int mls_epoch_set_tree_hash(const mls_suite *s, mls_epoch_state *next)
{
    uint8_t th[MLS_MAX_HASH];
    int err;

    if ((err = mls_rtree_root_hash(&next->tree, th)) != 0)
        return err;
    return mls_buf_set(&next->ctx.tree_hash, th, s->nh);
}

int mls_epoch_from_commit(const mls_group *g, const mls_psk_store *store,
                          const mls_authenticated_content *ac, const mls_psk_id *const *psks,
                          size_t n_psks, mls_bytes init_secret, mls_bytes commit_secret,
                          mls_bytes received_tag, mls_epoch_state *next)
{
    const mls_suite *s = g->suite;
    uint8_t cth[MLS_MAX_HASH], psk[MLS_MAX_HASH];
    size_t psk_len = 0;
    mls_buf in;
    int err;

    mls_buf_init(&in);
    /* §8.2: confirmed_transcript_hash_[epoch] over the interim hash of the
     * epoch the commit was sent in and ConfirmedTranscriptHashInput. */
    if ((err = mls_confirmed_transcript_hash_input_encode(ac->wire_format, &ac->content,
                                                          mls_buf_view(&ac->auth.signature),
                                                          &in)) != 0 ||
        (err = mls_transcript_confirmed(s, mls_bytes_of(g->cur.interim, s->nh),
                                        mls_buf_view(&in), cth)) != 0 ||
        (err = mls_buf_set(&next->ctx.confirmed_transcript_hash, cth, s->nh)) != 0 ||
        (err = mls_epoch_encode_ctx(next)) != 0)
        goto out;
    /* §8: the key schedule over the new GroupContext. */
    if ((err = mls_group_psk_secret(g, store, psks, n_psks, psk, &psk_len)) != 0 ||
        (err = mls_key_schedule_epoch(s, init_secret, commit_secret, mls_bytes_of(psk, psk_len),
                                      mls_buf_view(&next->ctx_enc), &next->sec)) != 0)
        goto out;
    if (received_tag.n) {
        /* §12.4.2: the confirmation tag must match (constant time). */
        if ((err = mls_confirmation_tag_verify(s, mls_bytes_of(next->sec.confirmation_key, s->nh),
                                               mls_bytes_of(cth, s->nh), received_tag)) != 0)
            goto out;
        memcpy(next->conf_tag, received_tag.p, s->nh);
    } else if ((err = mls_confirmation_tag(s, mls_bytes_of(next->sec.confirmation_key, s->nh),
                                           mls_bytes_of(cth, s->nh), next->conf_tag)) != 0) {
        goto out;
    }
    /* §8.2: interim_transcript_hash_[epoch] for the next commit. */
    err = mls_transcript_interim(s, mls_bytes_of(cth, s->nh), mls_bytes_of(next->conf_tag, s->nh),
                                 next->interim);
out:
    mls_wipe(psk, sizeof(psk));
    mls_buf_clear(&in);
    return err;
}

static const char xlabel[] = "MLS 1.0 external init secret";

int mls_epoch_external_init_send(const mls_suite *s, const mls_env *env, mls_bytes external_pub,
                                 mls_buf *kem_output, uint8_t out[MLS_MAX_HASH])
{
    mls_hpke_ctx hc;
    mls_buf ko;
    int err;

    memset(&hc, 0, sizeof(hc));
    mls_buf_init(&ko);
    if ((err = mls_hpke_setup_base_s(s, env, external_pub, mls_bytes_of(NULL, 0), &ko, &hc)) == 0 &&
        (err = mls_hpke_ctx_export(&hc, mls_bytes_of((const uint8_t *)xlabel, sizeof(xlabel) - 1),
                                   out, s->nh)) == 0) {
        mls_buf_clear(kem_output);
        *kem_output = ko;
        mls_buf_init(&ko);
    }
    mls_hpke_ctx_clear(&hc);
    mls_buf_clear(&ko);
    return err;
}

int mls_epoch_external_init_receive(const mls_group *g, mls_bytes kem_output,
                                    uint8_t out[MLS_MAX_HASH])
{
    const mls_suite *s = g->suite;
    mls_hpke_ctx hc;
    mls_buf sk, pk;
    int err;

    memset(&hc, 0, sizeof(hc));
    mls_buf_init(&sk);
    mls_buf_init(&pk);
    /* §8.3: the external key pair derived from this epoch's
     * external_secret. */
    err = mls_key_schedule_external_keypair(s, mls_bytes_of(g->cur.sec.external_secret, s->nh),
                                            &sk, &pk);
    if (!err)
        err = mls_hpke_setup_base_r(s, kem_output, mls_buf_view(&sk), mls_bytes_of(NULL, 0), &hc);
    if (!err)
        err = mls_hpke_ctx_export(&hc, mls_bytes_of((const uint8_t *)xlabel, sizeof(xlabel) - 1),
                                  out, s->nh);
    if (err && err != MLS_ERR_NOMEM)
        err = MLS_ERR_INVALID;
    mls_hpke_ctx_clear(&hc);
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
    return err;
}

int mls_epoch_from_group_info(const mls_suite *s, const mls_group_info *gi, mls_epoch_state *e)
{
    int err;

    mls_group_context_clear(&e->ctx);
    if ((err = mls_group_context_copy(&e->ctx, &gi->group_context)) != 0 ||
        (err = mls_epoch_encode_ctx(e)) != 0)
        return err;
    return mls_transcript_interim(s, mls_buf_view(&gi->group_context.confirmed_transcript_hash),
                                  mls_buf_view(&gi->confirmation_tag), e->interim);
}

int mls_epoch_from_welcome(const mls_suite *s, const mls_group_info *gi, mls_bytes joiner_secret,
                           mls_bytes psk_secret, mls_epoch_state *e)
{
    int err;

    if ((err = mls_group_context_copy(&e->ctx, &gi->group_context)) != 0 ||
        (err = mls_epoch_encode_ctx(e)) != 0)
        return err;
    if ((err = mls_key_schedule_from_joiner(s, joiner_secret, psk_secret,
                                            mls_buf_view(&e->ctx_enc), &e->sec)) != 0 ||
        (err = mls_group_info_verify_confirmation_tag(
             s, gi, mls_bytes_of(e->sec.confirmation_key, s->nh))) != 0)
        return err;
    memcpy(e->conf_tag, gi->confirmation_tag.p, s->nh);
    if ((err = mls_transcript_interim(s, mls_buf_view(&gi->group_context.confirmed_transcript_hash),
                                      mls_buf_view(&gi->confirmation_tag), e->interim)) != 0)
        return err;
    /* RFC 9420 §9.2: the joiner and welcome secrets are not needed once
     * the epoch has started. */
    mls_wipe(e->sec.joiner_secret, sizeof(e->sec.joiner_secret));
    mls_wipe(e->sec.welcome_secret, sizeof(e->sec.welcome_secret));
    return 0;
}
