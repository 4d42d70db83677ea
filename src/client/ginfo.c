/* Finding our leaf in a GroupInfo's ratchet tree.  See ginfo.h. */
#include "ginfo.h"

#include <string.h>

#include "util.h"

/* RFC 9420 §17.1, §17.2, §17.3, §6, §7.2, §5.3. */
#define GI_VERSION_MLS10 1u
#define GI_WIRE_GROUP_INFO 4u
#define GI_EXT_RATCHET_TREE 2u
#define GI_NODE_LEAF 1u
#define GI_NODE_PARENT 2u
#define GI_CRED_BASIC 1u
#define GI_CRED_X509 2u
#define GI_SOURCE_KEY_PACKAGE 1u
#define GI_SOURCE_UPDATE 2u
#define GI_SOURCE_COMMIT 3u

/* A strict cursor over one byte range. */
struct gi_reader {
    mls_bytes in;
    size_t off;
};

static int gi_skip(struct gi_reader *r, size_t n)
{
    if (r->in.n - r->off < n)
        return -1;
    r->off += n;
    return 0;
}

static int gi_u8(struct gi_reader *r, uint8_t *v)
{
    if (r->off >= r->in.n)
        return -1;
    *v = r->in.p[r->off++];
    return 0;
}

static int gi_u16(struct gi_reader *r, uint16_t *v)
{
    if (r->in.n - r->off < 2)
        return -1;
    *v = (uint16_t)((r->in.p[r->off] << 8) | r->in.p[r->off + 1]);
    r->off += 2;
    return 0;
}

static int gi_vec(struct gi_reader *r, mls_bytes *out)
{
    return cli_tls_get_vec(r->in, &r->off, out);
}

static int gi_skip_vecs(struct gi_reader *r, int n)
{
    mls_bytes v;
    for (int i = 0; i < n; i++)
        if (gi_vec(r, &v) != 0)
            return -1;
    return 0;
}

/* LeafNode (RFC 9420 §7.2): its signature_key into *sig. */
static int gi_leaf(struct gi_reader *r, mls_bytes *sig)
{
    uint16_t cred;
    uint8_t source;
    mls_bytes enc;
    if (gi_vec(r, &enc) != 0 || gi_vec(r, sig) != 0 || gi_u16(r, &cred) != 0)
        return -1;
    /* Credential (§5.3): basic identity<V> or x509 certificates<V>; both
     * are one vector.  Other types cannot be skipped without knowing them. */
    if ((cred != GI_CRED_BASIC && cred != GI_CRED_X509) || gi_skip_vecs(r, 1) != 0)
        return -1;
    /* Capabilities: versions, cipher_suites, extensions, proposals,
     * credentials. */
    if (gi_skip_vecs(r, 5) != 0 || gi_u8(r, &source) != 0)
        return -1;
    if (source == GI_SOURCE_KEY_PACKAGE) {
        if (gi_skip(r, 16) != 0) /* Lifetime: not_before, not_after */
            return -1;
    } else if (source == GI_SOURCE_COMMIT) {
        if (gi_skip_vecs(r, 1) != 0) /* parent_hash */
            return -1;
    } else if (source != GI_SOURCE_UPDATE) {
        return -1;
    }
    return gi_skip_vecs(r, 2); /* extensions, signature */
}

/* optional<Node> ratchet_tree<V> (§12.4.3.3): the leaf holding key. */
static int gi_tree_find(mls_bytes tree, mls_bytes key, uint32_t *leaf)
{
    struct gi_reader r = {tree, 0};
    uint32_t index = 0;
    int found = 0;
    while (r.off < r.in.n) {
        uint8_t present, type;
        if (gi_u8(&r, &present) != 0 || present > 1)
            return -1;
        if (present) {
            if (gi_u8(&r, &type) != 0)
                return -1;
            if (type == GI_NODE_LEAF && index % 2 == 0) {
                mls_bytes sig;
                if (gi_leaf(&r, &sig) != 0)
                    return -1;
                if (!found && sig.n == key.n && key.n > 0 && memcmp(sig.p, key.p, key.n) == 0) {
                    *leaf = index / 2;
                    found = 1;
                }
            } else if (type == GI_NODE_PARENT && index % 2 == 1) {
                /* encryption_key, parent_hash, unmerged_leaves */
                if (gi_skip_vecs(&r, 3) != 0)
                    return -1;
            } else {
                return -1;
            }
        }
        if (index == UINT32_MAX - 1)
            return -1;
        index++;
    }
    return found ? 0 : 1;
}

int cli_group_info_find_leaf(mls_bytes group_info, mls_bytes signature_key, uint32_t *leaf)
{
    struct gi_reader r = {group_info, 0}, ext;
    uint16_t version, wire, v16;
    mls_bytes v, exts;
    uint32_t found = 0;
    int rc = -1, have_tree = 0;

    if (gi_u16(&r, &version) != 0 || version != GI_VERSION_MLS10 || gi_u16(&r, &wire) != 0 ||
        wire != GI_WIRE_GROUP_INFO)
        return -1;
    /* GroupContext (§8.1): version, cipher_suite, group_id, epoch,
     * tree_hash, confirmed_transcript_hash, extensions. */
    if (gi_u16(&r, &v16) != 0 || gi_u16(&r, &v16) != 0 || gi_vec(&r, &v) != 0 ||
        gi_skip(&r, 8) != 0 || gi_skip_vecs(&r, 3) != 0)
        return -1;
    /* GroupInfo (§12.4.3): extensions, confirmation_tag, signer, signature. */
    if (gi_vec(&r, &exts) != 0 || gi_skip_vecs(&r, 1) != 0 || gi_skip(&r, 4) != 0 ||
        gi_skip_vecs(&r, 1) != 0 || r.off != r.in.n)
        return -1;
    ext.in = exts;
    ext.off = 0;
    while (ext.off < ext.in.n) {
        uint16_t type;
        mls_bytes data;
        if (gi_u16(&ext, &type) != 0 || gi_vec(&ext, &data) != 0)
            return -1;
        if (type != GI_EXT_RATCHET_TREE)
            continue;
        {
            struct gi_reader tr = {data, 0};
            mls_bytes tree;
            if (have_tree || gi_vec(&tr, &tree) != 0 || tr.off != tr.in.n)
                return -1;
            have_tree = 1;
            rc = gi_tree_find(tree, signature_key, &found);
            if (rc < 0)
                return -1;
        }
    }
    if (!have_tree)
        return -1;
    if (rc == 0)
        *leaf = found;
    return rc;
}
