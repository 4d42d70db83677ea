/*
 * RFC 9420 wire structures, part 1: the generic list helpers, extensions
 * (§13), credentials (§5.3), leaf and parent nodes and the ratchet tree
 * (§7, §12.4.3.3), update paths (§7.6), KeyPackage (§10), GroupContext
 * (§8.1), PreSharedKeyID (§8.4) and the bodies of the RFC's extensions.
 */
#include "messages_internal.h"

#include <stdlib.h>
#include <string.h>

MSG_GLUE(extension)
MSG_GLUE(extension_list)
MSG_GLUE(u16_list)
MSG_GLUE(credential)
MSG_GLUE(capabilities)
MSG_GLUE(lifetime)
MSG_GLUE(leaf_node)
MSG_GLUE(parent_node)
MSG_GLUE(node)
MSG_GLUE(ratchet_tree)
MSG_GLUE(hpke_ciphertext)
MSG_GLUE(update_path_node)
MSG_GLUE(update_path)
MSG_GLUE(key_package)
MSG_GLUE(group_context)
MSG_GLUE(psk_id)
MSG_GLUE(external_sender)
MSG_GLUE(external_senders)
MSG_GLUE(required_capabilities)
MSG_GLUE(external_pub)

/* ------------------------------------------------------------ generic helpers */

int msg_read_list(mls_reader *r, void *arrayp, size_t *n, size_t elem, msg_dec_fn dec,
                  msg_clr_fn clr)
{
    size_t save = r->off;
    uint8_t *arr = NULL;
    size_t count = 0, cap = 0;
    mls_reader sub;
    int err;

    MSG_TRY(mls_read_vec(r, &sub));
    while (mls_reader_left(&sub) > 0) {
        if (count == cap) {
            /* Grow with what was decoded: every element takes at least one
             * byte of input, so memory stays proportional to the input. */
            size_t ncap = cap ? cap * 2 : 4;
            if (ncap > SIZE_MAX / elem) {
                err = MLS_ERR_NOMEM;
                goto out;
            }
            uint8_t *p = realloc(arr, ncap * elem);
            if (!p) {
                err = MLS_ERR_NOMEM;
                goto out;
            }
            arr = p;
            cap = ncap;
        }
        size_t before = sub.off;
        MSG_TRY(dec(&sub, arr + count * elem));
        count++;
        if (sub.off == before) {
            err = MLS_ERR_MALFORMED;
            goto out;
        }
    }
    memcpy(arrayp, &arr, sizeof(arr));
    *n = count;
    arr = NULL;
    count = 0;
out:
    if (arr) {
        for (size_t i = 0; i < count; i++)
            clr(arr + i * elem);
        free(arr);
    }
    if (err)
        r->off = save;
    return err;
}

int msg_write_list(mls_buf *w, const void *v, size_t n, size_t elem, msg_enc_fn enc)
{
    const uint8_t *arr = v;
    size_t mark;
    int err;

    MSG_TRY(mls_write_vec_begin(w, &mark));
    for (size_t i = 0; i < n; i++)
        MSG_TRY(enc(arr + i * elem, w));
    MSG_TRY(mls_write_vec_end(w, mark));
out:
    return err;
}

void msg_clear_list(void *arrayp, size_t *n, size_t elem, msg_clr_fn clr)
{
    uint8_t *arr;
    memcpy(&arr, arrayp, sizeof(arr));
    if (arr) {
        for (size_t i = 0; i < *n; i++)
            clr(arr + i * elem);
        free(arr);
    }
    arr = NULL;
    memcpy(arrayp, &arr, sizeof(arr));
    *n = 0;
}

int msg_decode_bytes(mls_bytes in, void *out, msg_dec_fn dec, msg_clr_fn clr)
{
    mls_reader r;
    mls_reader_init_bytes(&r, in);
    int err = dec(&r, out);
    if (err)
        return err;
    err = mls_reader_done(&r);
    if (err)
        clr(out);
    return err;
}

int msg_copy(void *dst, size_t size, const void *src, msg_enc_fn enc, msg_dec_fn dec)
{
    mls_buf tmp;
    mls_reader r;
    int err;

    memset(dst, 0, size);
    mls_buf_init(&tmp);
    MSG_TRY(enc(src, &tmp));
    mls_reader_init(&r, tmp.p, tmp.n);
    MSG_TRY(dec(&r, dst));
out:
    /* The copied object may hold secrets (GroupSecrets). */
    mls_buf_clear(&tmp);
    return err;
}

const msg_variant *msg_variant_find(const msg_variant *table, size_t n, uint16_t tag)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].tag == tag)
            return &table[i];
    return NULL;
}

int msg_read_enum8(mls_reader *r, uint8_t lo, uint8_t hi, uint8_t *v)
{
    uint8_t x;
    int err = mls_read_u8(r, &x);
    if (err)
        return err;
    if (x < lo || x > hi) {
        r->off--;
        return MLS_ERR_MALFORMED;
    }
    *v = x;
    return MLS_OK;
}

/* ------------------------------------------------------------ §13 Extension */

int mls_extension_decode(mls_reader *r, mls_extension *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_u16(r, &out->type));
    MSG_TRY(mls_read_vec_buf(r, &out->data));
out:
    if (err) {
        mls_extension_clear(out);
        r->off = save;
    }
    return err;
}

int mls_extension_encode(const mls_extension *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_write_u16(w, x->type));
    MSG_TRY(msg_write_buf(w, &x->data));
out:
    return err;
}

void mls_extension_clear(mls_extension *x)
{
    mls_buf_clear(&x->data);
    x->type = 0;
}

int mls_extension_list_decode(mls_reader *r, mls_extension_list *out)
{
    memset(out, 0, sizeof(*out));
    return msg_read_list(r, &out->v, &out->n, sizeof(mls_extension), extension_dec_v,
                         extension_clr_v);
}

int mls_extension_list_encode(const mls_extension_list *x, mls_buf *w)
{
    return msg_write_list(w, x->v, x->n, sizeof(mls_extension), extension_enc_v);
}

void mls_extension_list_clear(mls_extension_list *x)
{
    msg_clear_list(&x->v, &x->n, sizeof(mls_extension), extension_clr_v);
}

const mls_extension *mls_extension_list_find(const mls_extension_list *l, uint16_t type)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].type == type)
            return &l->v[i];
    return NULL;
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

int mls_extension_list_check_unique(const mls_extension_list *l)
{
    /* Sorting keeps this O(n log n) for lists an attacker made long. */
    uint16_t *types;
    int err = MLS_OK;

    if (l->n < 2)
        return MLS_OK;
    types = malloc(l->n * sizeof(*types));
    if (!types)
        return MLS_ERR_NOMEM;
    for (size_t i = 0; i < l->n; i++)
        types[i] = l->v[i].type;
    qsort(types, l->n, sizeof(*types), cmp_u16);
    for (size_t i = 1; i < l->n; i++)
        if (types[i] == types[i - 1])
            err = MLS_ERR_INVALID;
    free(types);
    return err;
}

/* ------------------------------------------------------------ uint16 / uint32 lists */

int mls_u16_list_decode(mls_reader *r, mls_u16_list *out)
{
    size_t save = r->off;
    mls_reader sub;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_vec(r, &sub));
    if (sub.n % 2) {
        err = MLS_ERR_MALFORMED;
        goto out;
    }
    if (sub.n) {
        /* sub.n bytes are present in the input, so this is bounded by it. */
        out->v = malloc(sub.n);
        if (!out->v) {
            err = MLS_ERR_NOMEM;
            goto out;
        }
        out->n = sub.n / 2;
        for (size_t i = 0; i < out->n; i++)
            MSG_TRY(mls_read_u16(&sub, &out->v[i]));
    }
    MSG_TRY(mls_reader_done(&sub));
out:
    if (err) {
        mls_u16_list_clear(out);
        r->off = save;
    }
    return err;
}

int mls_u16_list_encode(const mls_u16_list *x, mls_buf *w)
{
    size_t mark;
    int err;
    MSG_TRY(mls_write_vec_begin(w, &mark));
    for (size_t i = 0; i < x->n; i++)
        MSG_TRY(mls_write_u16(w, x->v[i]));
    MSG_TRY(mls_write_vec_end(w, mark));
out:
    return err;
}

void mls_u16_list_clear(mls_u16_list *x)
{
    free(x->v);
    x->v = NULL;
    x->n = 0;
}

int mls_u16_list_contains(const mls_u16_list *l, uint16_t v)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i] == v)
            return 1;
    return 0;
}

static int read_u32_list(mls_reader *r, uint32_t **v, size_t *n)
{
    size_t save = r->off;
    uint32_t *arr = NULL;
    size_t count = 0;
    mls_reader sub;
    int err;

    MSG_TRY(mls_read_vec(r, &sub));
    if (sub.n % 4) {
        err = MLS_ERR_MALFORMED;
        goto out;
    }
    count = sub.n / 4;
    if (count) {
        arr = malloc(sub.n);
        if (!arr) {
            err = MLS_ERR_NOMEM;
            goto out;
        }
        for (size_t i = 0; i < count; i++)
            MSG_TRY(mls_read_u32(&sub, &arr[i]));
    }
    MSG_TRY(mls_reader_done(&sub));
    *v = arr;
    *n = count;
    arr = NULL;
out:
    free(arr);
    if (err)
        r->off = save;
    return err;
}

static int write_u32_list(mls_buf *w, const uint32_t *v, size_t n)
{
    size_t mark;
    int err;
    MSG_TRY(mls_write_vec_begin(w, &mark));
    for (size_t i = 0; i < n; i++)
        MSG_TRY(mls_write_u32(w, v[i]));
    MSG_TRY(mls_write_vec_end(w, mark));
out:
    return err;
}

/* ------------------------------------------------------------ §5.3 Credential */

/* struct { opaque cert_data<V>; } Certificate */
static int cert_dec_v(mls_reader *r, void *out)
{
    mls_buf *b = out;
    mls_buf_init(b);
    return mls_read_vec_buf(r, b);
}

static int cert_enc_v(const void *x, mls_buf *w)
{
    return msg_write_buf(w, (const mls_buf *)x);
}

static void cert_clr_v(void *x)
{
    mls_buf_clear((mls_buf *)x);
}

int mls_credential_decode(mls_reader *r, mls_credential *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_u16(r, &out->type));
    switch (out->type) {
    case MLS_CREDENTIAL_BASIC:
        MSG_TRY(mls_read_vec_buf(r, &out->identity));
        break;
    case MLS_CREDENTIAL_X509:
        MSG_TRY(msg_read_list(r, &out->certs, &out->n_certs, sizeof(mls_buf), cert_dec_v,
                              cert_clr_v));
        break;
    default:
        /* RFC 9420 §17.3: new credential types are allowed; carry the body
         * as opaque<V> so it re-encodes unchanged. */
        MSG_TRY(mls_read_vec_buf(r, &out->opaque_body));
        break;
    }
out:
    if (err) {
        mls_credential_clear(out);
        r->off = save;
    }
    return err;
}

int mls_credential_encode(const mls_credential *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_write_u16(w, x->type));
    switch (x->type) {
    case MLS_CREDENTIAL_BASIC:
        MSG_TRY(msg_write_buf(w, &x->identity));
        break;
    case MLS_CREDENTIAL_X509:
        MSG_TRY(msg_write_list(w, x->certs, x->n_certs, sizeof(mls_buf), cert_enc_v));
        break;
    default:
        MSG_TRY(msg_write_buf(w, &x->opaque_body));
        break;
    }
out:
    return err;
}

void mls_credential_clear(mls_credential *x)
{
    mls_buf_clear(&x->identity);
    msg_clear_list(&x->certs, &x->n_certs, sizeof(mls_buf), cert_clr_v);
    mls_buf_clear(&x->opaque_body);
    x->type = 0;
}

/* ------------------------------------------------------------ §7.2 Capabilities, Lifetime */

int mls_capabilities_decode(mls_reader *r, mls_capabilities *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_u16_list_decode(r, &out->versions));
    MSG_TRY(mls_u16_list_decode(r, &out->cipher_suites));
    MSG_TRY(mls_u16_list_decode(r, &out->extensions));
    MSG_TRY(mls_u16_list_decode(r, &out->proposals));
    MSG_TRY(mls_u16_list_decode(r, &out->credentials));
out:
    if (err) {
        mls_capabilities_clear(out);
        r->off = save;
    }
    return err;
}

int mls_capabilities_encode(const mls_capabilities *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_u16_list_encode(&x->versions, w));
    MSG_TRY(mls_u16_list_encode(&x->cipher_suites, w));
    MSG_TRY(mls_u16_list_encode(&x->extensions, w));
    MSG_TRY(mls_u16_list_encode(&x->proposals, w));
    MSG_TRY(mls_u16_list_encode(&x->credentials, w));
out:
    return err;
}

void mls_capabilities_clear(mls_capabilities *x)
{
    mls_u16_list_clear(&x->versions);
    mls_u16_list_clear(&x->cipher_suites);
    mls_u16_list_clear(&x->extensions);
    mls_u16_list_clear(&x->proposals);
    mls_u16_list_clear(&x->credentials);
}

int mls_lifetime_decode(mls_reader *r, mls_lifetime *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_u64(r, &out->not_before));
    MSG_TRY(mls_read_u64(r, &out->not_after));
out:
    if (err) {
        mls_lifetime_clear(out);
        r->off = save;
    }
    return err;
}

int mls_lifetime_encode(const mls_lifetime *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_write_u64(w, x->not_before));
    MSG_TRY(mls_write_u64(w, x->not_after));
out:
    return err;
}

void mls_lifetime_clear(mls_lifetime *x)
{
    memset(x, 0, sizeof(*x));
}

/* ------------------------------------------------------------ §7.2 LeafNode */

int mls_leaf_node_decode(mls_reader *r, mls_leaf_node *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_vec_buf(r, &out->encryption_key));
    MSG_TRY(mls_read_vec_buf(r, &out->signature_key));
    MSG_TRY(mls_credential_decode(r, &out->credential));
    MSG_TRY(mls_capabilities_decode(r, &out->capabilities));
    MSG_TRY(msg_read_enum8(r, MLS_LEAF_SOURCE_KEY_PACKAGE, MLS_LEAF_SOURCE_COMMIT,
                           &out->source));
    switch (out->source) {
    case MLS_LEAF_SOURCE_KEY_PACKAGE:
        MSG_TRY(mls_lifetime_decode(r, &out->lifetime));
        break;
    case MLS_LEAF_SOURCE_COMMIT:
        MSG_TRY(mls_read_vec_buf(r, &out->parent_hash));
        break;
    default:
        break;
    }
    MSG_TRY(mls_extension_list_decode(r, &out->extensions));
    MSG_TRY(mls_read_vec_buf(r, &out->signature));
out:
    if (err) {
        mls_leaf_node_clear(out);
        r->off = save;
    }
    return err;
}

/* The fields LeafNode and LeafNodeTBS share: everything up to extensions. */
static int leaf_node_body_encode(const mls_leaf_node *x, mls_buf *w)
{
    int err;
    MSG_TRY(msg_write_buf(w, &x->encryption_key));
    MSG_TRY(msg_write_buf(w, &x->signature_key));
    MSG_TRY(mls_credential_encode(&x->credential, w));
    MSG_TRY(mls_capabilities_encode(&x->capabilities, w));
    MSG_TRY(mls_write_u8(w, x->source));
    switch (x->source) {
    case MLS_LEAF_SOURCE_KEY_PACKAGE:
        MSG_TRY(mls_lifetime_encode(&x->lifetime, w));
        break;
    case MLS_LEAF_SOURCE_UPDATE:
        break;
    case MLS_LEAF_SOURCE_COMMIT:
        MSG_TRY(msg_write_buf(w, &x->parent_hash));
        break;
    default:
        err = MLS_ERR_ARG;
        goto out;
    }
    MSG_TRY(mls_extension_list_encode(&x->extensions, w));
out:
    return err;
}

int mls_leaf_node_encode(const mls_leaf_node *x, mls_buf *w)
{
    int err;
    MSG_TRY(leaf_node_body_encode(x, w));
    MSG_TRY(msg_write_buf(w, &x->signature));
out:
    return err;
}

int mls_leaf_node_tbs_encode(const mls_leaf_node *ln, mls_bytes group_id, uint32_t leaf_index,
                             mls_buf *w)
{
    int err;
    MSG_TRY(leaf_node_body_encode(ln, w));
    /* RFC 9420 §7.2: leaves from update and commit are bound to their
     * group and position. */
    if (ln->source == MLS_LEAF_SOURCE_UPDATE || ln->source == MLS_LEAF_SOURCE_COMMIT) {
        MSG_TRY(mls_write_vec_bytes(w, group_id));
        MSG_TRY(mls_write_u32(w, leaf_index));
    }
out:
    return err;
}

void mls_leaf_node_clear(mls_leaf_node *x)
{
    mls_buf_clear(&x->encryption_key);
    mls_buf_clear(&x->signature_key);
    mls_credential_clear(&x->credential);
    mls_capabilities_clear(&x->capabilities);
    mls_buf_clear(&x->parent_hash);
    mls_extension_list_clear(&x->extensions);
    mls_buf_clear(&x->signature);
    memset(x, 0, sizeof(*x));
}

/* ------------------------------------------------------------ §7.1 ParentNode */

int mls_parent_node_decode(mls_reader *r, mls_parent_node *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_vec_buf(r, &out->encryption_key));
    MSG_TRY(mls_read_vec_buf(r, &out->parent_hash));
    MSG_TRY(read_u32_list(r, &out->unmerged_leaves, &out->n_unmerged_leaves));
out:
    if (err) {
        mls_parent_node_clear(out);
        r->off = save;
    }
    return err;
}

int mls_parent_node_encode(const mls_parent_node *x, mls_buf *w)
{
    int err;
    MSG_TRY(msg_write_buf(w, &x->encryption_key));
    MSG_TRY(msg_write_buf(w, &x->parent_hash));
    MSG_TRY(write_u32_list(w, x->unmerged_leaves, x->n_unmerged_leaves));
out:
    return err;
}

void mls_parent_node_clear(mls_parent_node *x)
{
    mls_buf_clear(&x->encryption_key);
    mls_buf_clear(&x->parent_hash);
    free(x->unmerged_leaves);
    memset(x, 0, sizeof(*x));
}

/* ------------------------------------------------------------ §12.4.3.3 Node, ratchet tree */

int mls_node_decode(mls_reader *r, mls_node *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(msg_read_enum8(r, MLS_NODE_LEAF, MLS_NODE_PARENT, &out->type));
    if (out->type == MLS_NODE_LEAF)
        MSG_TRY(mls_leaf_node_decode(r, &out->leaf));
    else
        MSG_TRY(mls_parent_node_decode(r, &out->parent));
out:
    if (err) {
        mls_node_clear(out);
        r->off = save;
    }
    return err;
}

int mls_node_encode(const mls_node *x, mls_buf *w)
{
    int err;
    switch (x->type) {
    case MLS_NODE_LEAF:
        MSG_TRY(mls_write_u8(w, x->type));
        MSG_TRY(mls_leaf_node_encode(&x->leaf, w));
        break;
    case MLS_NODE_PARENT:
        MSG_TRY(mls_write_u8(w, x->type));
        MSG_TRY(mls_parent_node_encode(&x->parent, w));
        break;
    default:
        /* A blank node has no Node encoding; only optional<Node> does. */
        err = MLS_ERR_ARG;
        break;
    }
out:
    return err;
}

void mls_node_clear(mls_node *x)
{
    if (x->type == MLS_NODE_LEAF)
        mls_leaf_node_clear(&x->leaf);
    else if (x->type == MLS_NODE_PARENT)
        mls_parent_node_clear(&x->parent);
    memset(x, 0, sizeof(*x));
}

/* optional<Node>: absent is a node of type MLS_NODE_BLANK. */
static int opt_node_dec_v(mls_reader *r, void *out)
{
    mls_node *node = out;
    size_t save = r->off;
    int present, err;

    memset(node, 0, sizeof(*node));
    MSG_TRY(mls_read_optional(r, &present));
    if (present)
        MSG_TRY(mls_node_decode(r, node));
out:
    if (err)
        r->off = save;
    return err;
}

static int opt_node_enc_v(const void *x, mls_buf *w)
{
    const mls_node *node = x;
    int err;
    if (node->type == MLS_NODE_BLANK)
        return mls_write_u8(w, 0);
    MSG_TRY(mls_write_u8(w, 1));
    MSG_TRY(mls_node_encode(node, w));
out:
    return err;
}

int mls_ratchet_tree_decode(mls_reader *r, mls_ratchet_tree *out)
{
    memset(out, 0, sizeof(*out));
    return msg_read_list(r, &out->nodes, &out->n, sizeof(mls_node), opt_node_dec_v, node_clr_v);
}

int mls_ratchet_tree_encode(const mls_ratchet_tree *x, mls_buf *w)
{
    return msg_write_list(w, x->nodes, x->n, sizeof(mls_node), opt_node_enc_v);
}

void mls_ratchet_tree_clear(mls_ratchet_tree *x)
{
    msg_clear_list(&x->nodes, &x->n, sizeof(mls_node), node_clr_v);
}

/* ------------------------------------------------------------ §7.6 UpdatePath */

int mls_hpke_ciphertext_decode(mls_reader *r, mls_hpke_ciphertext *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_vec_buf(r, &out->kem_output));
    MSG_TRY(mls_read_vec_buf(r, &out->ciphertext));
out:
    if (err) {
        mls_hpke_ciphertext_clear(out);
        r->off = save;
    }
    return err;
}

int mls_hpke_ciphertext_encode(const mls_hpke_ciphertext *x, mls_buf *w)
{
    int err;
    MSG_TRY(msg_write_buf(w, &x->kem_output));
    MSG_TRY(msg_write_buf(w, &x->ciphertext));
out:
    return err;
}

void mls_hpke_ciphertext_clear(mls_hpke_ciphertext *x)
{
    mls_buf_clear(&x->kem_output);
    mls_buf_clear(&x->ciphertext);
}

int mls_update_path_node_decode(mls_reader *r, mls_update_path_node *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_vec_buf(r, &out->encryption_key));
    MSG_TRY(msg_read_list(r, &out->encrypted_path_secret, &out->n_encrypted_path_secret,
                          sizeof(mls_hpke_ciphertext), hpke_ciphertext_dec_v,
                          hpke_ciphertext_clr_v));
out:
    if (err) {
        mls_update_path_node_clear(out);
        r->off = save;
    }
    return err;
}

int mls_update_path_node_encode(const mls_update_path_node *x, mls_buf *w)
{
    int err;
    MSG_TRY(msg_write_buf(w, &x->encryption_key));
    MSG_TRY(msg_write_list(w, x->encrypted_path_secret, x->n_encrypted_path_secret,
                           sizeof(mls_hpke_ciphertext), hpke_ciphertext_enc_v));
out:
    return err;
}

void mls_update_path_node_clear(mls_update_path_node *x)
{
    mls_buf_clear(&x->encryption_key);
    msg_clear_list(&x->encrypted_path_secret, &x->n_encrypted_path_secret,
                   sizeof(mls_hpke_ciphertext), hpke_ciphertext_clr_v);
}

int mls_update_path_decode(mls_reader *r, mls_update_path *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_leaf_node_decode(r, &out->leaf_node));
    MSG_TRY(msg_read_list(r, &out->nodes, &out->n_nodes, sizeof(mls_update_path_node),
                          update_path_node_dec_v, update_path_node_clr_v));
out:
    if (err) {
        mls_update_path_clear(out);
        r->off = save;
    }
    return err;
}

int mls_update_path_encode(const mls_update_path *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_leaf_node_encode(&x->leaf_node, w));
    MSG_TRY(msg_write_list(w, x->nodes, x->n_nodes, sizeof(mls_update_path_node),
                           update_path_node_enc_v));
out:
    return err;
}

void mls_update_path_clear(mls_update_path *x)
{
    mls_leaf_node_clear(&x->leaf_node);
    msg_clear_list(&x->nodes, &x->n_nodes, sizeof(mls_update_path_node),
                   update_path_node_clr_v);
}

/* ------------------------------------------------------------ §10 KeyPackage */

int mls_key_package_decode(mls_reader *r, mls_key_package *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_u16(r, &out->version));
    MSG_TRY(mls_read_u16(r, &out->cipher_suite));
    MSG_TRY(mls_read_vec_buf(r, &out->init_key));
    MSG_TRY(mls_leaf_node_decode(r, &out->leaf_node));
    MSG_TRY(mls_extension_list_decode(r, &out->extensions));
    MSG_TRY(mls_read_vec_buf(r, &out->signature));
out:
    if (err) {
        mls_key_package_clear(out);
        r->off = save;
    }
    return err;
}

int mls_key_package_tbs_encode(const mls_key_package *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_write_u16(w, x->version));
    MSG_TRY(mls_write_u16(w, x->cipher_suite));
    MSG_TRY(msg_write_buf(w, &x->init_key));
    MSG_TRY(mls_leaf_node_encode(&x->leaf_node, w));
    MSG_TRY(mls_extension_list_encode(&x->extensions, w));
out:
    return err;
}

int mls_key_package_encode(const mls_key_package *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_key_package_tbs_encode(x, w));
    MSG_TRY(msg_write_buf(w, &x->signature));
out:
    return err;
}

void mls_key_package_clear(mls_key_package *x)
{
    mls_buf_clear(&x->init_key);
    mls_leaf_node_clear(&x->leaf_node);
    mls_extension_list_clear(&x->extensions);
    mls_buf_clear(&x->signature);
    memset(x, 0, sizeof(*x));
}

/* ------------------------------------------------------------ §8.1 GroupContext */

int mls_group_context_decode(mls_reader *r, mls_group_context *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_u16(r, &out->version));
    MSG_TRY(mls_read_u16(r, &out->cipher_suite));
    MSG_TRY(mls_read_vec_buf(r, &out->group_id));
    MSG_TRY(mls_read_u64(r, &out->epoch));
    MSG_TRY(mls_read_vec_buf(r, &out->tree_hash));
    MSG_TRY(mls_read_vec_buf(r, &out->confirmed_transcript_hash));
    MSG_TRY(mls_extension_list_decode(r, &out->extensions));
out:
    if (err) {
        mls_group_context_clear(out);
        r->off = save;
    }
    return err;
}

int mls_group_context_encode(const mls_group_context *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_write_u16(w, x->version));
    MSG_TRY(mls_write_u16(w, x->cipher_suite));
    MSG_TRY(msg_write_buf(w, &x->group_id));
    MSG_TRY(mls_write_u64(w, x->epoch));
    MSG_TRY(msg_write_buf(w, &x->tree_hash));
    MSG_TRY(msg_write_buf(w, &x->confirmed_transcript_hash));
    MSG_TRY(mls_extension_list_encode(&x->extensions, w));
out:
    return err;
}

void mls_group_context_clear(mls_group_context *x)
{
    mls_buf_clear(&x->group_id);
    mls_buf_clear(&x->tree_hash);
    mls_buf_clear(&x->confirmed_transcript_hash);
    mls_extension_list_clear(&x->extensions);
    memset(x, 0, sizeof(*x));
}

/* ------------------------------------------------------------ §8.4 PreSharedKeyID */

int mls_psk_id_decode(mls_reader *r, mls_psk_id *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(msg_read_enum8(r, MLS_PSK_EXTERNAL, MLS_PSK_RESUMPTION, &out->type));
    if (out->type == MLS_PSK_EXTERNAL) {
        MSG_TRY(mls_read_vec_buf(r, &out->psk_id));
    } else {
        /* usage selects no layout; its value is checked where it is used. */
        MSG_TRY(mls_read_u8(r, &out->usage));
        MSG_TRY(mls_read_vec_buf(r, &out->psk_group_id));
        MSG_TRY(mls_read_u64(r, &out->psk_epoch));
    }
    MSG_TRY(mls_read_vec_buf(r, &out->psk_nonce));
out:
    if (err) {
        mls_psk_id_clear(out);
        r->off = save;
    }
    return err;
}

int mls_psk_id_encode(const mls_psk_id *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_write_u8(w, x->type));
    switch (x->type) {
    case MLS_PSK_EXTERNAL:
        MSG_TRY(msg_write_buf(w, &x->psk_id));
        break;
    case MLS_PSK_RESUMPTION:
        MSG_TRY(mls_write_u8(w, x->usage));
        MSG_TRY(msg_write_buf(w, &x->psk_group_id));
        MSG_TRY(mls_write_u64(w, x->psk_epoch));
        break;
    default:
        err = MLS_ERR_ARG;
        goto out;
    }
    MSG_TRY(msg_write_buf(w, &x->psk_nonce));
out:
    return err;
}

void mls_psk_id_clear(mls_psk_id *x)
{
    mls_buf_clear(&x->psk_id);
    mls_buf_clear(&x->psk_group_id);
    mls_buf_clear(&x->psk_nonce);
    memset(x, 0, sizeof(*x));
}

int mls_psk_label_encode(const mls_psk_id *id, uint16_t index, uint16_t count, mls_buf *w)
{
    int err;
    MSG_TRY(mls_psk_id_encode(id, w));
    MSG_TRY(mls_write_u16(w, index));
    MSG_TRY(mls_write_u16(w, count));
out:
    return err;
}

/* ------------------------------------------------------------ extension bodies */

int mls_external_sender_decode(mls_reader *r, mls_external_sender *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_read_vec_buf(r, &out->signature_key));
    MSG_TRY(mls_credential_decode(r, &out->credential));
out:
    if (err) {
        mls_external_sender_clear(out);
        r->off = save;
    }
    return err;
}

int mls_external_sender_encode(const mls_external_sender *x, mls_buf *w)
{
    int err;
    MSG_TRY(msg_write_buf(w, &x->signature_key));
    MSG_TRY(mls_credential_encode(&x->credential, w));
out:
    return err;
}

void mls_external_sender_clear(mls_external_sender *x)
{
    mls_buf_clear(&x->signature_key);
    mls_credential_clear(&x->credential);
}

int mls_external_senders_decode(mls_reader *r, mls_external_senders *out)
{
    memset(out, 0, sizeof(*out));
    return msg_read_list(r, &out->v, &out->n, sizeof(mls_external_sender),
                         external_sender_dec_v, external_sender_clr_v);
}

int mls_external_senders_encode(const mls_external_senders *x, mls_buf *w)
{
    return msg_write_list(w, x->v, x->n, sizeof(mls_external_sender), external_sender_enc_v);
}

void mls_external_senders_clear(mls_external_senders *x)
{
    msg_clear_list(&x->v, &x->n, sizeof(mls_external_sender), external_sender_clr_v);
}

int mls_required_capabilities_decode(mls_reader *r, mls_required_capabilities *out)
{
    size_t save = r->off;
    int err;

    memset(out, 0, sizeof(*out));
    MSG_TRY(mls_u16_list_decode(r, &out->extension_types));
    MSG_TRY(mls_u16_list_decode(r, &out->proposal_types));
    MSG_TRY(mls_u16_list_decode(r, &out->credential_types));
out:
    if (err) {
        mls_required_capabilities_clear(out);
        r->off = save;
    }
    return err;
}

int mls_required_capabilities_encode(const mls_required_capabilities *x, mls_buf *w)
{
    int err;
    MSG_TRY(mls_u16_list_encode(&x->extension_types, w));
    MSG_TRY(mls_u16_list_encode(&x->proposal_types, w));
    MSG_TRY(mls_u16_list_encode(&x->credential_types, w));
out:
    return err;
}

void mls_required_capabilities_clear(mls_required_capabilities *x)
{
    mls_u16_list_clear(&x->extension_types);
    mls_u16_list_clear(&x->proposal_types);
    mls_u16_list_clear(&x->credential_types);
}

int mls_external_pub_decode(mls_reader *r, mls_external_pub *out)
{
    memset(out, 0, sizeof(*out));
    return mls_read_vec_buf(r, &out->external_pub);
}

int mls_external_pub_encode(const mls_external_pub *x, mls_buf *w)
{
    return msg_write_buf(w, &x->external_pub);
}

void mls_external_pub_clear(mls_external_pub *x)
{
    mls_buf_clear(&x->external_pub);
}
