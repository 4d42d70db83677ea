/*
 * Reading MLS objects without a group (include/mls/inspect.h): suites,
 * the clear parts of any MLSMessage (RFC 9420 §6), ratchet tree members
 * (§7.8, §12.4.3.3).
 */
#include "mls/inspect.h"

#include <stdlib.h>
#include <string.h>

#include "detail.h"
#include "messages.h"

/* ---------------------------------------------------------------- suites */

int mls_suite_supported(uint16_t suite)
{
    return mls_suite_get(suite) != NULL;
}

size_t mls_suite_signature_key_size(uint16_t suite)
{
    const mls_suite *s = mls_suite_get(suite);
    return s ? s->sig_npk : 0;
}

size_t mls_suite_hpke_key_size(uint16_t suite)
{
    const mls_suite *s = mls_suite_get(suite);
    return s ? s->kem_npk : 0;
}

const char *mls_suite_name(uint16_t suite)
{
    const mls_suite *s = mls_suite_get(suite);
    return s ? s->name : NULL;
}

/* ---------------------------------------------------------------- names */

const char *mls_wire_format_name(uint16_t wire_format)
{
    switch (wire_format) {
    case MLS_WIRE_PUBLIC_MESSAGE: return "PublicMessage";
    case MLS_WIRE_PRIVATE_MESSAGE: return "PrivateMessage";
    case MLS_WIRE_WELCOME: return "Welcome";
    case MLS_WIRE_GROUP_INFO: return "GroupInfo";
    case MLS_WIRE_KEY_PACKAGE: return "KeyPackage";
    default: return "unknown";
    }
}

const char *mls_content_type_name(uint8_t content_type)
{
    switch (content_type) {
    case MLS_CONTENT_APPLICATION: return "application";
    case MLS_CONTENT_PROPOSAL: return "proposal";
    case MLS_CONTENT_COMMIT: return "commit";
    default: return "unknown";
    }
}

const char *mls_sender_type_name(uint8_t sender_type)
{
    switch (sender_type) {
    case MLS_SENDER_MEMBER: return "member";
    case MLS_SENDER_EXTERNAL: return "external";
    case MLS_SENDER_NEW_MEMBER_PROPOSAL: return "new_member_proposal";
    case MLS_SENDER_NEW_MEMBER_COMMIT: return "new_member_commit";
    default: return "unknown";
    }
}

const char *mls_proposal_type_name(uint16_t proposal_type)
{
    switch (proposal_type) {
    case MLS_PROPOSAL_ADD: return "add";
    case MLS_PROPOSAL_UPDATE: return "update";
    case MLS_PROPOSAL_REMOVE: return "remove";
    case MLS_PROPOSAL_PSK: return "psk";
    case MLS_PROPOSAL_REINIT: return "reinit";
    case MLS_PROPOSAL_EXTERNAL_INIT: return "external_init";
    case MLS_PROPOSAL_GROUP_CONTEXT_EXTENSIONS: return "group_context_extensions";
    default: return "unknown";
    }
}

/* ---------------------------------------------------------------- messages */

/*
 * The views of the clear header fields.  The message was already decoded
 * strictly, so these reads cannot fail on well-formed input; they are
 * checked anyway.  RFC 9420 §6: FramedContent starts group_id<V>, epoch,
 * sender, authenticated_data<V>; PrivateMessage starts group_id<V>, epoch,
 * content_type, authenticated_data<V>.
 */
static int header_views(mls_bytes message, uint16_t wf, mls_message_info *info)
{
    mls_reader r;
    mls_bytes skip;
    uint64_t epoch;
    uint8_t u8;
    uint32_t u32;
    int err;

    mls_reader_init_bytes(&r, message);
    if ((err = mls_read_fixed(&r, 4, &skip)) != 0 ||
        (err = mls_read_vec_bytes(&r, &info->group_id)) != 0 ||
        (err = mls_read_u64(&r, &epoch)) != 0)
        return err;
    if (wf == MLS_WIRE_PUBLIC_MESSAGE) {
        if ((err = mls_read_u8(&r, &u8)) != 0)
            return err;
        if ((u8 == MLS_SENDER_MEMBER || u8 == MLS_SENDER_EXTERNAL) &&
            (err = mls_read_u32(&r, &u32)) != 0)
            return err;
    } else if ((err = mls_read_u8(&r, &u8)) != 0) {
        return err;
    }
    return mls_read_vec_bytes(&r, &info->authenticated_data);
}

int mls_message_inspect(mls_bytes message, mls_message_info *info)
{
    mls_message m;
    mls_message_info out;
    mls_reader r;
    mls_bytes skip;
    uint16_t u16;
    int err;

    if (!info)
        return MLS_ERR_ARG;
    if ((err = mls_message_decode_bytes(message, &m)) != 0)
        return MLS_DETAIL(err, "RFC 9420 §6: not a well-formed MLSMessage");
    memset(&out, 0, sizeof out);
    out.wire_format = m.wire_format;
    switch (m.wire_format) {
    case MLS_WIRE_PUBLIC_MESSAGE: {
        const mls_framed_content *c = &m.public_message.content;
        out.epoch = c->epoch;
        out.content_type = c->content_type;
        out.sender_type = c->sender.type;
        out.sender_leaf = c->sender.index;
        if (c->content_type == MLS_CONTENT_PROPOSAL)
            out.proposal_type = c->proposal.type;
        err = header_views(message, m.wire_format, &out);
        break;
    }
    case MLS_WIRE_PRIVATE_MESSAGE:
        out.epoch = m.private_message.epoch;
        out.content_type = m.private_message.content_type;
        err = header_views(message, m.wire_format, &out);
        break;
    case MLS_WIRE_WELCOME:
        out.suite = m.welcome.cipher_suite;
        out.n_recipients = m.welcome.n_secrets;
        break;
    case MLS_WIRE_GROUP_INFO: {
        const mls_group_info *gi = &m.group_info;
        out.suite = gi->group_context.cipher_suite;
        out.version = gi->group_context.version;
        out.epoch = gi->group_context.epoch;
        out.signer_leaf = gi->signer;
        out.has_ratchet_tree =
            mls_extension_list_find(&gi->extensions, MLS_EXT_RATCHET_TREE) != NULL;
        out.has_external_pub =
            mls_extension_list_find(&gi->extensions, MLS_EXT_EXTERNAL_PUB) != NULL;
        /* RFC 9420 §12.4.3: GroupInfo starts with the GroupContext:
         * version, cipher_suite, group_id<V>. */
        mls_reader_init_bytes(&r, message);
        if ((err = mls_read_fixed(&r, 4, &skip)) == 0 && (err = mls_read_u16(&r, &u16)) == 0 &&
            (err = mls_read_u16(&r, &u16)) == 0)
            err = mls_read_vec_bytes(&r, &out.group_id);
        break;
    }
    case MLS_WIRE_KEY_PACKAGE:
        out.suite = m.key_package.cipher_suite;
        out.version = m.key_package.version;
        out.key_package = mls_bytes_of(message.p + 4, message.n - 4);
        break;
    default:
        err = MLS_ERR_MALFORMED;
        break;
    }
    mls_message_clear(&m);
    if (!err)
        *info = out;
    return err;
}

/* ---------------------------------------------------------------- ratchet trees */

struct mls_tree_view {
    mls_ratchet_tree tree;
    mls_buf *credentials; /* encoded Credential of each non-blank leaf */
    uint32_t n_leaves;
};

void mls_tree_view_free(mls_tree_view *t)
{
    if (!t)
        return;
    if (t->credentials)
        for (uint32_t i = 0; i < t->n_leaves; i++)
            mls_buf_clear(&t->credentials[i]);
    free(t->credentials);
    mls_ratchet_tree_clear(&t->tree);
    free(t);
}

int mls_tree_view_from_tree(mls_bytes ratchet_tree, mls_tree_view **out)
{
    mls_tree_view *t;
    int err;

    if (!out)
        return MLS_ERR_ARG;
    t = calloc(1, sizeof *t);
    if (!t)
        return MLS_ERR_NOMEM;
    if ((err = mls_ratchet_tree_decode_bytes(ratchet_tree, &t->tree)) != 0) {
        err = MLS_DETAIL(err, "RFC 9420 §12.4.3.3: not a well-formed ratchet tree");
        goto out;
    }
    /* RFC 9420 §4.1, §7.8: leaves are the even nodes of the array. */
    t->n_leaves = (uint32_t)((t->tree.n + 1) / 2);
    t->credentials = calloc(t->n_leaves ? t->n_leaves : 1, sizeof(mls_buf));
    if (!t->credentials) {
        err = MLS_ERR_NOMEM;
        goto out;
    }
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        const mls_node *n = &t->tree.nodes[2 * (size_t)i];
        if (n->type == MLS_NODE_LEAF &&
            (err = mls_credential_encode(&n->leaf.credential, &t->credentials[i])) != 0)
            goto out;
    }
    *out = t;
    t = NULL;
out:
    mls_tree_view_free(t);
    return err;
}

int mls_tree_view_from_group_info(mls_bytes group_info, mls_tree_view **out)
{
    mls_message m;
    const mls_extension *ext;
    int err;

    if (!out)
        return MLS_ERR_ARG;
    if ((err = mls_message_decode_bytes(group_info, &m)) != 0)
        return MLS_DETAIL(err, "RFC 9420 §6: not a well-formed MLSMessage");
    if (m.wire_format != MLS_WIRE_GROUP_INFO) {
        err = MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §12.4.3: MLSMessage is not a GroupInfo");
        goto out;
    }
    ext = mls_extension_list_find(&m.group_info.extensions, MLS_EXT_RATCHET_TREE);
    if (!ext) {
        err = MLS_DETAIL(MLS_ERR_NOT_FOUND, "RFC 9420 §12.4.3.3: no ratchet_tree extension");
        goto out;
    }
    err = mls_tree_view_from_tree(mls_buf_view(&ext->data), out);
out:
    mls_message_clear(&m);
    return err;
}

uint32_t mls_tree_view_leaf_count(const mls_tree_view *t)
{
    return t ? t->n_leaves : 0;
}

int mls_tree_view_member(const mls_tree_view *t, uint32_t leaf, mls_member *out)
{
    const mls_leaf_node *ln;
    mls_member m;

    if (!t || !out)
        return MLS_ERR_ARG;
    if (leaf >= t->n_leaves || t->tree.nodes[2 * (size_t)leaf].type != MLS_NODE_LEAF)
        return MLS_ERR_NOT_FOUND;
    ln = &t->tree.nodes[2 * (size_t)leaf].leaf;
    memset(&m, 0, sizeof m);
    m.leaf = leaf;
    m.credential = mls_buf_view(&t->credentials[leaf]);
    m.credential_type = ln->credential.type;
    if (ln->credential.type == MLS_CREDENTIAL_BASIC)
        m.identity = mls_buf_view(&ln->credential.identity);
    m.signature_key = mls_buf_view(&ln->signature_key);
    m.encryption_key = mls_buf_view(&ln->encryption_key);
    *out = m;
    return 0;
}

static int same(mls_bytes a, mls_bytes b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

int mls_tree_view_find(const mls_tree_view *t, mls_bytes signature_key, mls_bytes identity,
                       uint32_t *leaf)
{
    mls_member m;

    if (!t || !leaf || (signature_key.n == 0 && identity.n == 0))
        return MLS_ERR_ARG;
    for (uint32_t i = 0; i < t->n_leaves; i++) {
        if (mls_tree_view_member(t, i, &m) != 0)
            continue;
        if (signature_key.n && !same(m.signature_key, signature_key))
            continue;
        if (identity.n && (m.credential_type != MLS_CREDENTIAL_BASIC || !same(m.identity, identity)))
            continue;
        *leaf = i;
        return 0;
    }
    return MLS_ERR_NOT_FOUND;
}

int mls_group_info_find_member(mls_bytes group_info, mls_bytes signature_key, mls_bytes identity,
                               uint32_t *leaf)
{
    mls_tree_view *t = NULL;
    int err;

    if (!leaf || (signature_key.n == 0 && identity.n == 0))
        return MLS_ERR_ARG;
    if ((err = mls_tree_view_from_group_info(group_info, &t)) != 0)
        return err;
    err = mls_tree_view_find(t, signature_key, identity, leaf);
    mls_tree_view_free(t);
    return err;
}
