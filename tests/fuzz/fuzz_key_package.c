/*
 * KeyPackage (RFC 9420 §10): the bare decoder must round-trip exactly (and
 * through a deep copy), and the full validation path a group or the
 * Delivery Service runs (mls_key_package_validate, §10.1) must not crash
 * on anything that decodes.  Input: a bare KeyPackage.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "key_package.h"
#include "messages.h"

static void expect_encodes_to(const mls_key_package *kp, mls_bytes want)
{
    mls_buf w;
    mls_buf_init(&w);
    if (mls_key_package_encode(kp, &w) != MLS_OK)
        abort();
    fuzz_expect_same(want, mls_buf_view(&w));
    mls_buf_clear(&w);
}

/* A view returned by validation must point into the message. */
static void expect_inside(mls_bytes v, mls_bytes msg)
{
    if (v.n && (v.p < msg.p || v.p + v.n > msg.p + msg.n))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t header[4] = {0, 1, 0, 5}; /* mls10, mls_key_package */
    mls_bytes in = mls_bytes_of(data, size);
    mls_key_package kp, copy;
    mls_key_package_info info;
    mls_buf msg, ref;

    if (mls_key_package_decode_bytes(in, &kp) != MLS_OK)
        return 0;
    expect_encodes_to(&kp, in);
    if (mls_key_package_copy(&copy, &kp) != MLS_OK)
        abort();
    expect_encodes_to(&copy, in);
    mls_key_package_clear(&copy);

    mls_buf_init(&msg);
    mls_buf_init(&ref);
    if (mls_buf_append(&msg, header, sizeof header) != MLS_OK ||
        mls_buf_append(&msg, data, size) != MLS_OK)
        abort();
    if (mls_key_package_validate(fuzz_env(), mls_buf_view(&msg), 0, &info) == MLS_OK) {
        expect_inside(info.signature_key, mls_buf_view(&msg));
        expect_inside(info.credential, mls_buf_view(&msg));
        expect_inside(info.identity, mls_buf_view(&msg));
        if (info.suite != kp.cipher_suite)
            abort();
        /* What validates has a reference. */
        if (mls_key_package_message_ref(mls_buf_view(&msg), &ref) != MLS_OK)
            abort();
    }
    mls_buf_clear(&ref);
    mls_buf_clear(&msg);
    mls_key_package_clear(&kp);
    return 0;
}
