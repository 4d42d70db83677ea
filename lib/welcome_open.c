/*
 * Opening a Welcome without joining (include/mls/inspect.h
 * mls_welcome_open): the decryption steps of RFC 9420 §12.4.3.1 and none
 * of the group engine's checks, for tools that show what a Welcome holds.
 */
#include "mls/inspect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "detail.h"
#include "group_state.h"
#include "key_package.h"
#include "welcome.h"

/* The rule text of the last missing-PSK refusal: mls_detail_set keeps a
 * pointer, so it lives per thread like the detail itself. */
static _Thread_local char missing_psk[192];

void mls_welcome_contents_clear(mls_welcome_contents *c)
{
    if (!c)
        return;
    for (size_t i = 0; c->psks && i < c->n_psks; i++) {
        mls_buf_clear(&c->psks[i].psk_id);
        mls_buf_clear(&c->psks[i].psk_group_id);
        mls_buf_clear(&c->psks[i].psk_nonce);
    }
    free(c->psks);
    mls_buf_clear(&c->key_package_ref);
    mls_buf_clear(&c->group_info);
    memset(c, 0, sizeof(*c));
}

/* The first bundle whose KeyPackageRef the Welcome names (RFC 9420
 * §12.4.3.1); bundles that do not decode are skipped, as mls_group_join
 * does. */
static int find_bundle(const mls_suite *s, const mls_welcome *w, const mls_bytes *bundles,
                       size_t n, mls_kp_bundle *out, const mls_encrypted_group_secrets **es,
                       size_t *idx)
{
    for (size_t i = 0; i < n; i++) {
        mls_kp_bundle b;
        if (mls_kp_bundle_decode(bundles[i], &b) != 0)
            continue;
        if (b.kp.cipher_suite == s->id &&
            mls_welcome_find_secrets_for_key_package(s, w, &b.kp, es) == 0) {
            *out = b;
            *idx = i;
            return 0;
        }
        mls_kp_bundle_clear(&b);
    }
    return MLS_DETAIL(MLS_ERR_NOT_FOUND,
                      "RFC 9420 §12.4.3.1: the Welcome names none of the given KeyPackages");
}

static int copy_psks(const mls_group_secrets *gs, mls_welcome_contents *c)
{
    if (gs->n_psks == 0)
        return 0;
    c->psks = calloc(gs->n_psks, sizeof(*c->psks));
    if (!c->psks)
        return MLS_ERR_NOMEM;
    c->n_psks = gs->n_psks;
    for (size_t i = 0; i < gs->n_psks; i++) {
        const mls_psk_id *p = &gs->psks[i];
        mls_welcome_psk *q = &c->psks[i];
        int err;
        q->psk_type = p->type;
        q->psk_usage = p->usage;
        q->psk_epoch = p->psk_epoch;
        if ((err = mls_buf_set(&q->psk_id, p->psk_id.p, p->psk_id.n)) != 0 ||
            (err = mls_buf_set(&q->psk_group_id, p->psk_group_id.p, p->psk_group_id.n)) != 0 ||
            (err = mls_buf_set(&q->psk_nonce, p->psk_nonce.p, p->psk_nonce.n)) != 0)
            return err;
    }
    return 0;
}

/* mls_error_detail() for the first PSK: its external id or its resumption
 * group and epoch, in hex (at most 32 bytes shown). */
static int missing_psk_error(const mls_psk_id *p)
{
    const mls_buf *idb = p->type == MLS_PSK_EXTERNAL ? &p->psk_id : &p->psk_group_id;
    char hex[65];
    size_t n = idb->n < 32 ? idb->n : 32;

    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", idb->p[i]);
    hex[2 * n] = 0;
    if (p->type == MLS_PSK_EXTERNAL)
        snprintf(missing_psk, sizeof missing_psk,
                 "RFC 9420 §12.4.3.1: the Welcome needs external PSK %s%s", hex,
                 idb->n > n ? "..." : "");
    else
        snprintf(missing_psk, sizeof missing_psk,
                 "RFC 9420 §12.4.3.1: the Welcome needs resumption PSK of group %s%s epoch %llu",
                 hex, idb->n > n ? "..." : "", (unsigned long long)p->psk_epoch);
    return MLS_DETAIL(MLS_ERR_NOT_FOUND, missing_psk);
}

int mls_welcome_open(mls_bytes welcome, const mls_bytes *bundles, size_t n_bundles,
                     mls_welcome_contents *out)
{
    const mls_suite *s;
    const mls_encrypted_group_secrets *es;
    mls_message m, gm;
    mls_kp_bundle kb;
    mls_group_secrets gs;
    uint8_t ws[MLS_MAX_HASH];
    size_t idx = 0;
    int err;

    if (!out || (n_bundles && !bundles))
        return MLS_ERR_ARG;
    memset(out, 0, sizeof(*out));
    memset(&kb, 0, sizeof(kb));
    memset(&gs, 0, sizeof(gs));
    memset(&gm, 0, sizeof(gm));
    if ((err = mls_message_decode_bytes(welcome, &m)) != 0)
        return err;
    if (m.wire_format != MLS_WIRE_WELCOME) {
        err = MLS_DETAIL(MLS_ERR_INVALID, "RFC 9420 §6: the MLSMessage is not a Welcome");
        goto out;
    }
    s = mls_suite_get(m.welcome.cipher_suite);
    if (!s) {
        err = MLS_ERR_UNSUPPORTED;
        goto out;
    }
    out->suite = s->id;
    if ((err = find_bundle(s, &m.welcome, bundles, n_bundles, &kb, &es, &idx)) != 0)
        goto out;
    out->bundle_index = idx;
    if ((err = mls_buf_set(&out->key_package_ref, es->new_member.p, es->new_member.n)) != 0)
        goto out;
    /* §12.4.3.1: GroupSecrets = DecryptWithLabel(init_priv, "Welcome",
     * encrypted_group_info, kem_output, ciphertext). */
    if ((err = mls_welcome_decrypt_group_secrets(s, &m.welcome, es, mls_buf_view(&kb.init_sk),
                                                 &gs)) != 0)
        goto out;
    out->has_path_secret = gs.has_path_secret;
    if ((err = copy_psks(&gs, out)) != 0)
        goto out;
    /* §8: welcome_secret depends on psk_secret; without a PSK store the
     * GroupInfo stays sealed when the epoch injects PSKs. */
    if (gs.n_psks) {
        err = missing_psk_error(&gs.psks[0]);
        goto out;
    }
    if ((err = mls_welcome_secret(s, mls_buf_view(&gs.joiner_secret), mls_bytes_of(NULL, 0),
                                  ws)) != 0)
        goto out;
    gm.version = MLS_VERSION_MLS10;
    gm.wire_format = MLS_WIRE_GROUP_INFO;
    if ((err = mls_welcome_decrypt_group_info(s, &m.welcome, mls_bytes_of(ws, s->nh),
                                              &gm.group_info)) != 0)
        goto out;
    err = mls_message_wrap(&gm, &out->group_info);
out:
    mls_wipe(ws, sizeof(ws));
    if (gm.wire_format == MLS_WIRE_GROUP_INFO)
        mls_message_clear(&gm);
    mls_group_secrets_clear(&gs);
    mls_kp_bundle_clear(&kb);
    mls_message_clear(&m);
    return err;
}
