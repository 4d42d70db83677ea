/*
 * Signatures and references over the wire structures: LeafNode (§7.3),
 * KeyPackage (§10.1) and KeyPackageRef (§5.2).  Kept apart from the codec
 * so that code which only parses does not pull in the signature code.
 */
#include "crypto.h"
#include "detail.h"
#include "messages.h"

#include <string.h>

int mls_leaf_node_verify(const mls_suite *s, const mls_leaf_node *ln, mls_bytes group_id,
                         uint32_t leaf_index)
{
    mls_buf tbs;
    int err;

    mls_buf_init(&tbs);
    err = mls_leaf_node_tbs_encode(ln, group_id, leaf_index, &tbs);
    if (!err)
        err = mls_verify_with_label(s, mls_buf_view(&ln->signature_key), "LeafNodeTBS",
                                    mls_buf_view(&tbs), mls_buf_view(&ln->signature));
    mls_buf_clear(&tbs);
    return err;
}

int mls_key_package_verify(const mls_suite *s, const mls_key_package *kp)
{
    mls_buf tbs;
    int err;

    mls_buf_init(&tbs);
    /* RFC 9420 §10.1: the version and suite must be those in use, and the
     * leaf must come from a KeyPackage. */
    if (kp->version != MLS_VERSION_MLS10 || kp->cipher_suite != s->id) {
        err = MLS_DETAIL(MLS_ERR_UNSUPPORTED, "RFC 9420 §10.1: version or suite not the one in use");
        goto out;
    }
    if (kp->leaf_node.source != MLS_LEAF_SOURCE_KEY_PACKAGE) {
        err = MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §7.3: leaf_node_source is not key_package");
        goto out;
    }
    /* §10.1: init_key and the leaf's encryption_key must differ, so the
     * one-time init key is never the long-lived leaf key. */
    if (kp->init_key.n == kp->leaf_node.encryption_key.n &&
        (kp->init_key.n == 0 ||
         memcmp(kp->init_key.p, kp->leaf_node.encryption_key.p, kp->init_key.n) == 0)) {
        err = MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §10.1: init_key equals the leaf encryption_key");
        goto out;
    }
    err = mls_leaf_node_verify(s, &kp->leaf_node, mls_bytes_of(NULL, 0), 0);
    if (err)
        goto out;
    err = mls_key_package_tbs_encode(kp, &tbs);
    if (err)
        goto out;
    err = mls_verify_with_label(s, mls_buf_view(&kp->leaf_node.signature_key), "KeyPackageTBS",
                                mls_buf_view(&tbs), mls_buf_view(&kp->signature));
out:
    mls_buf_clear(&tbs);
    return err;
}

int mls_key_package_ref(const mls_suite *s, const mls_key_package *kp, mls_buf *out)
{
    uint8_t ref[MLS_MAX_HASH];
    mls_buf enc;
    int err;

    mls_buf_init(&enc);
    err = mls_key_package_encode(kp, &enc);
    if (!err)
        err = mls_ref_hash(s, "MLS 1.0 KeyPackage Reference", mls_buf_view(&enc), ref);
    if (!err)
        err = mls_buf_set(out, ref, s->nh);
    mls_buf_clear(&enc);
    return err;
}
