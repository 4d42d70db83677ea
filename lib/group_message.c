/*
 * Messages of a group (RFC 9420 §6, §12.1, §15): processing any incoming
 * PublicMessage or PrivateMessage (a commit is staged by
 * commit_process.c), protecting application data, sending standalone
 * proposals.
 */
#include "commit.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "key_package.h"

int mls_group_protect(mls_group *g, mls_bytes authenticated_data, mls_bytes plaintext,
                      mls_buf *out)
{
    mls_framed_content fc;
    mls_authenticated_content ac;
    mls_framing_ctx fctx;
    int err;

    if (!g || !out)
        return MLS_ERR_ARG;
    /* RFC 9420 §12.1.5: no messages after a ReInit; §12.4: a member that
     * has seen proposals commits them before sending application data. */
    if (!g->active || g->reinit_pending || g->n_props)
        return MLS_ERR_STATE;
    memset(&fc, 0, sizeof(fc));
    memset(&ac, 0, sizeof(ac));
    fc.content_type = MLS_CONTENT_APPLICATION;
    fc.epoch = g->cur.ctx.epoch;
    fc.sender.type = MLS_SENDER_MEMBER;
    fc.sender.index = g->cur.priv.leaf;
    if ((err = mls_buf_copy(&fc.group_id, &g->cur.ctx.group_id)) != 0 ||
        (err = mls_buf_set(&fc.authenticated_data, authenticated_data.p, authenticated_data.n)) !=
            0 ||
        (err = mls_buf_set(&fc.application_data, plaintext.p, plaintext.n)) != 0)
        goto out;
    mls_group_framing_ctx(g, &fctx);
    if ((err = mls_framing_sign(&fctx, g->env, MLS_WIRE_PRIVATE_MESSAGE, &fc,
                                mls_buf_view(&g->id->sig_sk), &ac)) != 0)
        goto out;
    err = mls_group_protect_content(g, &ac, out);
out:
    mls_framed_content_clear(&fc);
    mls_authenticated_content_clear(&ac);
    return err;
}

/* ---------------------------------------------------------------- proposals */

/* Signs, protects and remembers one of our own proposals (taken over). */
static int send_proposal(mls_group *g, mls_proposal *p, mls_buf *own_leaf_sk, mls_buf *out)
{
    mls_framed_content fc;
    mls_authenticated_content ac;
    mls_framing_ctx fctx;
    mls_pending_proposal *np, pp;
    mls_buf msg;
    int err;

    memset(&fc, 0, sizeof(fc));
    memset(&ac, 0, sizeof(ac));
    memset(&pp, 0, sizeof(pp));
    mls_buf_init(&msg);
    fc.content_type = MLS_CONTENT_PROPOSAL;
    fc.proposal = *p;
    memset(p, 0, sizeof(*p));
    fc.epoch = g->cur.ctx.epoch;
    fc.sender.type = MLS_SENDER_MEMBER;
    fc.sender.index = g->cur.priv.leaf;
    if ((err = mls_buf_copy(&fc.group_id, &g->cur.ctx.group_id)) != 0)
        goto out;
    mls_group_framing_ctx(g, &fctx);
    if ((err = mls_framing_sign(&fctx, g->env, mls_group_handshake_wire_format(g), &fc,
                                mls_buf_view(&g->id->sig_sk), &ac)) != 0)
        goto out;
    if ((err = mls_proposal_ref(g->suite, &ac, &pp.ref)) != 0 ||
        (err = mls_proposal_copy(&pp.proposal, &fc.proposal)) != 0)
        goto out;
    pp.sender = fc.sender;
    np = realloc(g->props, (g->n_props + 1) * sizeof(*np));
    if (!np) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    g->props = np;
    if ((err = mls_group_protect_content(g, &ac, &msg)) != 0)
        goto out;
    if (own_leaf_sk) {
        pp.own_leaf_sk = *own_leaf_sk;
        mls_buf_init(own_leaf_sk);
    }
    g->props[g->n_props++] = pp;
    memset(&pp, 0, sizeof(pp));
    mls_buf_clear(out);
    *out = msg;
    mls_buf_init(&msg);
out:
    mls_buf_clear(&pp.ref);
    mls_proposal_clear(&pp.proposal);
    mls_buf_clear(&pp.own_leaf_sk);
    mls_framed_content_clear(&fc);
    mls_authenticated_content_clear(&ac);
    mls_buf_clear(&msg);
    return err;
}

static int check_sendable(const mls_group *g)
{
    return !g->active || g->reinit_pending ? MLS_ERR_STATE : 0;
}

/* RFC 9420 §12.2 rules that a single proposal of ours must already meet. */
static int validate_own(const mls_group *g, const mls_proposal *p)
{
    mls_prop_item it;
    it.p = p;
    it.sender.type = MLS_SENDER_MEMBER;
    it.sender.index = g->cur.priv.leaf;
    it.pending = NULL;
    return mls_proposals_validate(g, &it, 1, 0, UINT32_MAX, 1);
}

int mls_group_propose_add(mls_group *g, mls_bytes key_package, mls_buf *out)
{
    mls_proposal p;
    int err;

    if (!g || !out)
        return MLS_ERR_ARG;
    if ((err = check_sendable(g)) != 0)
        return err;
    memset(&p, 0, sizeof(p));
    p.type = MLS_PROPOSAL_ADD;
    if ((err = mls_key_package_from_message(key_package, &p.add.key_package)) != 0)
        return err;
    if ((err = validate_own(g, &p)) == 0)
        err = send_proposal(g, &p, NULL, out);
    mls_proposal_clear(&p);
    return err;
}

int mls_group_propose_remove(mls_group *g, uint32_t leaf, mls_buf *out)
{
    mls_proposal p;
    int err;

    if (!g || !out)
        return MLS_ERR_ARG;
    if ((err = check_sendable(g)) != 0)
        return err;
    memset(&p, 0, sizeof(p));
    p.type = MLS_PROPOSAL_REMOVE;
    p.remove.removed = leaf;
    if ((err = validate_own(g, &p)) != 0)
        return err;
    return send_proposal(g, &p, NULL, out);
}

int mls_group_propose_self_update(mls_group *g, mls_buf *out)
{
    const mls_leaf_node *cur;
    mls_proposal p;
    mls_buf sk, pk;
    int err;

    if (!g || !out)
        return MLS_ERR_ARG;
    if ((err = check_sendable(g)) != 0)
        return err;
    memset(&p, 0, sizeof(p));
    mls_buf_init(&sk);
    mls_buf_init(&pk);
    cur = mls_rtree_leaf(&g->cur.tree, g->cur.priv.leaf);
    p.type = MLS_PROPOSAL_UPDATE;
    /* RFC 9420 §12.1.2: a new leaf (source update) with a fresh key,
     * signed over the group id and our leaf index. */
    if ((err = mls_hpke_generate_keypair(g->suite, g->env, &sk, &pk)) != 0 ||
        (err = mls_identity_make_leaf(g->id, NULL, mls_buf_view(&pk), MLS_LEAF_SOURCE_UPDATE,
                                      NULL, mls_bytes_of(NULL, 0), mls_bytes_of(NULL, 0), 0,
                                      &p.update.leaf_node)) != 0 ||
        (err = mls_extension_list_copy(&p.update.leaf_node.extensions, &cur->extensions)) != 0 ||
        (err = mls_identity_sign_leaf(g->id, g->env, &p.update.leaf_node,
                                      mls_buf_view(&g->cur.ctx.group_id), g->cur.priv.leaf)) != 0)
        goto out;
    err = send_proposal(g, &p, &sk, out);
out:
    mls_proposal_clear(&p);
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
    return err;
}

int mls_group_propose_extensions(mls_group *g, const mls_ext *extensions, size_t n, mls_buf *out)
{
    mls_proposal p;
    size_t i;
    int err;

    if (!g || !out || (n && !extensions))
        return MLS_ERR_ARG;
    if ((err = check_sendable(g)) != 0)
        return err;
    memset(&p, 0, sizeof(p));
    p.type = MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS;
    p.group_context_extensions.extensions.v = calloc(n + 1, sizeof(mls_extension));
    if (!p.group_context_extensions.extensions.v)
        return MLS_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        mls_extension *e = &p.group_context_extensions.extensions.v[i];
        e->type = extensions[i].type;
        p.group_context_extensions.extensions.n = i + 1;
        if ((err = mls_buf_set(&e->data, extensions[i].data.p, extensions[i].data.n)) != 0)
            goto out;
    }
    if ((err = mls_group_check_extensions(g, &p.group_context_extensions.extensions,
                                          &g->cur.tree)) != 0)
        goto out;
    err = send_proposal(g, &p, NULL, out);
out:
    mls_proposal_clear(&p);
    return err;
}

int mls_group_propose_external_psk(mls_group *g, mls_bytes psk_id, mls_buf *out)
{
    uint8_t nonce[MLS_MAX_HASH];
    mls_proposal p;
    mls_buf v;
    int err;

    if (!g || !out)
        return MLS_ERR_ARG;
    if ((err = check_sendable(g)) != 0)
        return err;
    memset(&p, 0, sizeof(p));
    mls_buf_init(&v);
    p.type = MLS_PROPOSAL_PSK;
    p.psk.psk.type = MLS_PSK_EXTERNAL;
    if (g->env->random(g->env->ctx, nonce, g->suite->nh) != 0)
        return MLS_ERR_RANDOM;
    if ((err = mls_buf_set(&p.psk.psk.psk_id, psk_id.p, psk_id.n)) != 0 ||
        (err = mls_buf_set(&p.psk.psk.psk_nonce, nonce, g->suite->nh)) != 0)
        goto out;
    /* The PSK must be known to us now, or no commit could use it. */
    if ((err = mls_group_psk_value(g, NULL, &p.psk.psk, &v)) != 0)
        goto out;
    err = send_proposal(g, &p, NULL, out);
out:
    mls_buf_clear(&v);
    mls_proposal_clear(&p);
    return err;
}

/* ---------------------------------------------------------------- processing */

/* What the signature-key callback of framing needs. */
typedef struct key_lookup {
    const mls_group *g;
    uint64_t epoch;
    mls_external_senders xs;
} key_lookup;

/* RFC 9420 §6.1: the key that must have signed the content. */
static int lookup_sig_key(void *arg, const mls_authenticated_content *ac, mls_bytes *pub)
{
    key_lookup *kl = arg;
    const mls_framed_content *c = &ac->content;
    const mls_extension *e;

    switch (c->sender.type) {
    case MLS_SENDER_MEMBER:
        return mls_group_sig_key_at(kl->g, kl->epoch, c->sender.index, pub) ? MLS_ERR_INVALID : 0;
    case MLS_SENDER_EXTERNAL:
        /* §12.1.8.1: an index into the external_senders extension. */
        e = mls_extension_list_find(&kl->g->cur.ctx.extensions, MLS_EXT_EXTERNAL_SENDERS);
        if (!e)
            return MLS_ERR_INVALID;
        mls_external_senders_clear(&kl->xs);
        if (mls_external_senders_decode_bytes(mls_buf_view(&e->data), &kl->xs) != 0 ||
            c->sender.index >= kl->xs.n)
            return MLS_ERR_INVALID;
        *pub = mls_buf_view(&kl->xs.v[c->sender.index].signature_key);
        return 0;
    case MLS_SENDER_NEW_MEMBER_PROPOSAL:
        if (c->content_type != MLS_CONTENT_PROPOSAL || c->proposal.type != MLS_PROPOSAL_ADD)
            return MLS_ERR_INVALID;
        *pub = mls_buf_view(&c->proposal.add.key_package.leaf_node.signature_key);
        return 0;
    case MLS_SENDER_NEW_MEMBER_COMMIT:
        if (c->content_type != MLS_CONTENT_COMMIT || !c->commit.has_path)
            return MLS_ERR_INVALID;
        *pub = mls_buf_view(&c->commit.path.leaf_node.signature_key);
        return 0;
    default:
        return MLS_ERR_INVALID;
    }
}

/* A received proposal, cached by reference (RFC 9420 §12.1). */
static int store_proposal(mls_group *g, const mls_authenticated_content *ac,
                          mls_process_result *r)
{
    const mls_proposal *p = &ac->content.proposal;
    const mls_sender *snd = &ac->content.sender;
    mls_pending_proposal pp, *np;
    mls_prop_item it;
    size_t i;
    int err;

    /* §12.1.8: what an external sender may propose. */
    if (snd->type == MLS_SENDER_EXTERNAL &&
        !(p->type == MLS_PROPOSAL_ADD || p->type == MLS_PROPOSAL_REMOVE ||
          p->type == MLS_PROPOSAL_PSK || p->type == MLS_PROPOSAL_REINIT ||
          p->type == MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS))
        return MLS_ERR_INVALID;
    /* The proposal must be valid on its own (§12.1.x rules). */
    it.p = p;
    it.sender = *snd;
    it.pending = NULL;
    if ((err = mls_proposals_validate(g, &it, 1, 0, UINT32_MAX, 0)) != 0)
        return err;
    if (p->type == MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS &&
        (err = mls_extension_list_check_unique(&p->group_context_extensions.extensions)) != 0)
        return MLS_ERR_INVALID;
    memset(&pp, 0, sizeof(pp));
    if ((err = mls_proposal_ref(g->suite, ac, &pp.ref)) != 0)
        return err;
    for (i = 0; i < g->n_props; i++)
        if (mls_ct_equal(mls_buf_view(&g->props[i].ref), mls_buf_view(&pp.ref)))
            break;
    if (i == g->n_props) {
        if ((err = mls_proposal_copy(&pp.proposal, p)) != 0)
            goto out;
        pp.sender = *snd;
        np = realloc(g->props, (g->n_props + 1) * sizeof(*np));
        if (!np) {
            err = MLS_ERR_NOMEM;
            goto out;
        }
        g->props = np;
        g->props[g->n_props++] = pp;
        memset(&pp, 0, sizeof(pp));
    }
    r->kind = MLS_RESULT_PROPOSAL;
    r->proposal_type = p->type;
out:
    mls_buf_clear(&pp.ref);
    mls_proposal_clear(&pp.proposal);
    return err;
}


int mls_group_process_staged(mls_group *g, mls_bytes message, mls_process_result *res,
                             mls_staged_commit **staged)
{
    mls_message m;
    mls_staged_commit *sc = NULL;
    mls_secret_tree st;
    int private_commit;
    mls_authenticated_content ac;
    mls_framing_ctx fc;
    mls_process_result r;
    key_lookup kl;
    mls_bytes gid;
    uint64_t epoch;
    const mls_past_epoch *past = NULL;
    int err;

    if (!g || !res || !staged)
        return MLS_ERR_ARG;
    memset(&st, 0, sizeof(st));
    memset(&ac, 0, sizeof(ac));
    memset(&r, 0, sizeof(r));
    memset(&kl, 0, sizeof(kl));
    if ((err = mls_message_decode_bytes(message, &m)) != 0)
        return err;
    if (m.wire_format == MLS_WIRE_PUBLIC_MESSAGE) {
        gid = mls_buf_view(&m.public_message.content.group_id);
        epoch = m.public_message.content.epoch;
    } else if (m.wire_format == MLS_WIRE_PRIVATE_MESSAGE) {
        gid = mls_buf_view(&m.private_message.group_id);
        epoch = m.private_message.epoch;
    } else {
        err = MLS_ERR_INVALID;
        goto out;
    }
    if (!mls_ct_equal(gid, mls_buf_view(&g->cur.ctx.group_id))) {
        err = MLS_ERR_WRONG_GROUP;
        goto out;
    }
    mls_group_framing_ctx(g, &fc);
    if (epoch != g->cur.ctx.epoch) {
        /* RFC 9420 §15.2: application messages of recent epochs still
         * decrypt with the keys kept for them. */
        for (size_t i = 0; i < g->n_past; i++)
            if (g->past[i].epoch == epoch)
                past = &g->past[i];
        if (!past || m.wire_format != MLS_WIRE_PRIVATE_MESSAGE ||
            m.private_message.content_type != MLS_CONTENT_APPLICATION) {
            err = MLS_ERR_WRONG_EPOCH;
            goto out;
        }
        fc.epoch = epoch;
        fc.group_context = mls_buf_view(&past->ctx_enc);
        fc.sender_data_secret = mls_bytes_of(past->sender_data_secret, g->suite->nh);
        fc.secret_tree = (mls_secret_tree *)&past->stree;
        fc.membership_key = mls_bytes_of(NULL, 0);
    }
    /* A removed member reads the rest of its last epoch, nothing else. */
    if (!g->active && (m.wire_format != MLS_WIRE_PRIVATE_MESSAGE ||
                       m.private_message.content_type != MLS_CONTENT_APPLICATION)) {
        err = MLS_ERR_STATE;
        goto out;
    }
    kl.g = g;
    kl.epoch = epoch;
    /* A PrivateMessage commit is decrypted with a copy of the secret tree
     * (the content type is in clear, RFC 9420 §6.3): staging leaves the
     * group as it was; the merge takes the copy over. */
    private_commit = m.wire_format == MLS_WIRE_PRIVATE_MESSAGE &&
                     m.private_message.content_type == MLS_CONTENT_COMMIT && !past;
    if (private_commit) {
        if ((err = mls_group_stree_copy(g, &g->stree, &st)) != 0)
            goto out;
        fc.secret_tree = &st;
    }
    if (m.wire_format == MLS_WIRE_PUBLIC_MESSAGE)
        err = mls_framing_unprotect_public(&fc, &m, lookup_sig_key, &kl, &ac);
    else
        err = mls_framing_unprotect_private(&fc, &m, lookup_sig_key, &kl, &ac, NULL);
    if (err)
        goto out;

    switch (ac.content.content_type) {
    case MLS_CONTENT_APPLICATION:
        r.kind = MLS_RESULT_APPLICATION;
        r.epoch = epoch;
        r.sender_type = ac.content.sender.type;
        r.sender_leaf = ac.content.sender.index;
        if ((err = mls_buf_copy(&r.application_data, &ac.content.application_data)) != 0 ||
            (err = mls_buf_copy(&r.authenticated_data, &ac.content.authenticated_data)) != 0)
            goto out;
        break;
    case MLS_CONTENT_PROPOSAL:
        if (g->reinit_pending) {
            err = MLS_ERR_STATE;
            goto out;
        }
        r.epoch = epoch;
        r.sender_type = ac.content.sender.type;
        r.sender_leaf = ac.content.sender.index;
        if ((err = mls_buf_copy(&r.authenticated_data, &ac.content.authenticated_data)) != 0 ||
            (err = store_proposal(g, &ac, &r)) != 0)
            goto out;
        break;
    case MLS_CONTENT_COMMIT:
        if (g->reinit_pending) {
            err = MLS_ERR_STATE;
            goto out;
        }
        if ((err = mls_commit_stage(g, &ac, private_commit ? &st : NULL, &sc)) != 0 ||
            (err = mls_staged_result(sc, &r)) != 0)
            goto out;
        break;
    default:
        err = MLS_ERR_INVALID;
        goto out;
    }
    *res = r;
    memset(&r, 0, sizeof(r));
    *staged = sc;
    sc = NULL;
out:
    mls_staged_commit_free(sc);
    mls_secret_tree_clear(&st);
    mls_external_senders_clear(&kl.xs);
    mls_process_result_clear(&r);
    mls_authenticated_content_clear(&ac);
    mls_message_clear(&m);
    return err;
}

int mls_group_process(mls_group *g, mls_bytes message, mls_process_result *res)
{
    mls_process_result r;
    mls_staged_commit *sc = NULL;
    int err;

    if (!g || !res)
        return MLS_ERR_ARG;
    memset(&r, 0, sizeof(r));
    if ((err = mls_group_process_staged(g, message, &r, &sc)) != 0)
        return err;
    /* A commit: stage, then merge (which cannot fail after a stage). */
    if (sc && (err = mls_group_merge_staged(g, sc)) != 0) {
        mls_process_result_clear(&r);
        mls_staged_commit_free(sc);
        return err;
    }
    mls_staged_commit_free(sc);
    *res = r;
    return 0;
}

int mls_message_group_id(mls_bytes message, mls_bytes *group_id, uint64_t *epoch)
{
    mls_reader r;
    uint16_t version, wf;
    mls_bytes gid;
    uint64_t ep;
    int err;

    /* Only the header is read: MLSMessage{version, wire_format} then the
     * group_id<V> and epoch that both framings start with (RFC 9420 §6). */
    mls_reader_init_bytes(&r, message);
    if ((err = mls_read_u16(&r, &version)) != 0 || (err = mls_read_u16(&r, &wf)) != 0)
        return err;
    if (version != MLS_VERSION_MLS10)
        return MLS_ERR_UNSUPPORTED;
    if (wf != MLS_WIRE_PUBLIC_MESSAGE && wf != MLS_WIRE_PRIVATE_MESSAGE)
        return MLS_ERR_INVALID;
    if ((err = mls_read_vec_bytes(&r, &gid)) != 0 || (err = mls_read_u64(&r, &ep)) != 0)
        return err;
    if (group_id)
        *group_id = gid;
    if (epoch)
        *epoch = ep;
    return 0;
}
