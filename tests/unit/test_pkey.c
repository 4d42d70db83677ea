/*
 * pkey.c: EVP_PKEYs from the raw MLS key encodings.  Scalar range edges
 * (0, 1, n-1, n), point validation and known public keys.
 */
#include "pkey.h"
#include "test.h"

/* The group orders of RFC 9180 §7.1.3 and the generators of SEC 2. */
static const struct {
    const mls_curve *c;
    const char *order, *gen;
} curves[] = {
    {&mls_curve_p256, "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
     "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
     "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"},
    {&mls_curve_p384,
     "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196acc"
     "c52973",
     "04aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872"
     "760ab73617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d"
     "7c90ea0e5f"},
    {&mls_curve_p521,
     "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
     "0400c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc1"
     "27a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b44"
     "6817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650"},
};

static void add_small(mls_buf *b, int delta)
{
    /* Big-endian b += delta for delta in {-1, +1}. */
    for (size_t i = b->n; i-- > 0;) {
        if (delta > 0) {
            if (++b->p[i] != 0)
                break;
        } else {
            if (b->p[i]-- != 0)
                break;
        }
    }
}

static void test_ec_curve(const mls_curve *c, const char *order, const char *gen)
{
    mls_buf n = test_hexbuf(order), g = test_hexbuf(gen), one, bad;
    uint8_t pk[133];
    EVP_PKEY *key = NULL;
    mls_buf_init(&one);
    mls_buf_init(&bad);
    CHECK(n.n == c->nsk && g.n == c->npk);

    /* 1 is the smallest key; its public key is the generator. */
    CHECK_OK(mls_buf_reserve(&one, c->nsk));
    memset(one.p, 0, c->nsk);
    one.n = c->nsk;
    one.p[c->nsk - 1] = 1;
    CHECK_OK(mls_ec_scalar_check(c, mls_buf_view(&one)));
    CHECK_OK(mls_pkey_public_from_private(c, mls_buf_view(&one), pk));
    CHECK(memcmp(pk, g.p, g.n) == 0);
    CHECK_OK(mls_pkey_from_private(c, mls_buf_view(&one), &key));
    EVP_PKEY_free(key);
    key = NULL;

    /* 0, n and n+1 are refused; n-1 is the largest key, and (n-1)G = -G
     * has the generator's x. */
    one.p[c->nsk - 1] = 0;
    CHECK_ERR(mls_ec_scalar_check(c, mls_buf_view(&one)), MLS_ERR_INVALID);
    CHECK_ERR(mls_pkey_from_private(c, mls_buf_view(&one), &key), MLS_ERR_INVALID);
    CHECK_ERR(mls_ec_scalar_check(c, mls_buf_view(&n)), MLS_ERR_INVALID);
    CHECK_ERR(mls_pkey_public_from_private(c, mls_buf_view(&n), pk), MLS_ERR_INVALID);
    add_small(&n, 1);
    CHECK_ERR(mls_ec_scalar_check(c, mls_buf_view(&n)), MLS_ERR_INVALID);
    add_small(&n, -1);
    add_small(&n, -1);
    CHECK_OK(mls_ec_scalar_check(c, mls_buf_view(&n)));
    CHECK_OK(mls_pkey_public_from_private(c, mls_buf_view(&n), pk));
    CHECK(memcmp(pk, g.p, 1 + c->nsk) == 0 && memcmp(pk, g.p, g.n) != 0);
    /* Lengths: a scalar without its leading zero bytes is accepted (other
     * implementations serialize it so); empty or longer than the field is
     * invalid. */
    one.p[c->nsk - 1] = 1;
    CHECK_OK(mls_ec_scalar_check(c, mls_bytes_of(one.p + 1, one.n - 1)));
    CHECK_ERR(mls_ec_scalar_check(c, mls_bytes_of(n.p, 0)), MLS_ERR_INVALID);
    CHECK_OK(mls_buf_append(&n, "", 1));
    CHECK_ERR(mls_ec_scalar_check(c, mls_buf_view(&n)), MLS_ERR_INVALID);
    n.n--;
    CHECK(key == NULL);

    /* Public keys: the generator is valid; wrong prefix or length is
     * malformed; a point off the curve is invalid. */
    CHECK_OK(mls_pkey_from_public(c, mls_buf_view(&g), &key));
    EVP_PKEY_free(key);
    key = NULL;
    CHECK_ERR(mls_pkey_from_public(c, mls_bytes_of(g.p, g.n - 1), &key), MLS_ERR_MALFORMED);
    CHECK_OK(mls_buf_set(&bad, g.p, g.n));
    bad.p[0] = 0x03;
    CHECK_ERR(mls_pkey_from_public(c, mls_buf_view(&bad), &key), MLS_ERR_MALFORMED);
    bad.p[0] = 0x04;
    bad.p[g.n - 1] ^= 0x01;
    CHECK_ERR(mls_pkey_from_public(c, mls_buf_view(&bad), &key), MLS_ERR_INVALID);
    /* A coordinate >= p (all-0xff x) is refused too. */
    memset(bad.p + 1, 0xff, c->nsk);
    CHECK_ERR(mls_pkey_from_public(c, mls_buf_view(&bad), &key), MLS_ERR_INVALID);
    CHECK(key == NULL);

    mls_buf_clear(&n);
    mls_buf_clear(&g);
    mls_buf_clear(&one);
    mls_buf_clear(&bad);
}

static void test_x25519(void)
{
    /* RFC 7748 §6.1: Alice's key pair. */
    mls_buf sk = test_hexbuf("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    mls_buf pk = test_hexbuf("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    uint8_t out[32];
    EVP_PKEY *key = NULL;
    CHECK_OK(mls_pkey_public_from_private(&mls_curve_x25519, mls_buf_view(&sk), out));
    CHECK(memcmp(out, pk.p, 32) == 0);
    CHECK_OK(mls_pkey_from_public(&mls_curve_x25519, mls_buf_view(&pk), &key));
    EVP_PKEY_free(key);
    key = NULL;
    CHECK_ERR(mls_pkey_from_public(&mls_curve_x25519, mls_bytes_of(pk.p, 31), &key),
              MLS_ERR_MALFORMED);
    CHECK_ERR(mls_pkey_from_private(&mls_curve_x25519, mls_bytes_of(sk.p, 31), &key),
              MLS_ERR_INVALID);
    CHECK_ERR(mls_ec_scalar_check(&mls_curve_x25519, mls_buf_view(&sk)), MLS_ERR_ARG);
    CHECK(key == NULL);
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
}

static void test_set_pair(void)
{
    uint8_t store[4];
    mls_buf a, b;
    mls_buf_init_stack(&a, store, sizeof(store));
    mls_buf_init(&b);
    CHECK_OK(mls_buf_append(&a, "old", 3));
    CHECK_OK(mls_buf_set_pair(&a, mls_bytes_of((const uint8_t *)"first", 5), &b,
                              mls_bytes_of((const uint8_t *)"2nd", 3)));
    CHECK(a.n == 5 && memcmp(a.p, "first", 5) == 0 && !a.on_stack);
    CHECK(b.n == 3 && memcmp(b.p, "2nd", 3) == 0);
    /* The caller's storage was wiped when it was released. */
    CHECK(store[0] == 0 && store[1] == 0 && store[2] == 0);
    mls_buf_clear(&a);
    mls_buf_clear(&b);
}

int main(void)
{
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++)
        test_ec_curve(curves[i].c, curves[i].order, curves[i].gen);
    test_x25519();
    test_set_pair();
    TEST_MAIN_END("test_pkey");
}
