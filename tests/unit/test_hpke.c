/*
 * HPKE (RFC 9180) unit tests: the RFC 9180 Appendix A base-mode test vectors
 * (A.1, A.2, A.3, A.4, A.6: every base-mode DHKEM suite the RFC has; it has
 * none for X448 or P-384, which crypto-basics.json covers through
 * DecryptWithLabel), DeriveKeyPair, round trips for all seven MLS suites,
 * and malformed or wrong inputs failing cleanly.
 */
#include "hpke.h"
#include "test.h"

/* RFC 9180 Appendix A, hex as printed there. */
struct hpke_enc_vec {
    uint64_t seq;
    const char *aad, *nonce, *ct;
};
struct hpke_exp_vec {
    const char *context;
    size_t len;
    const char *value;
};
struct hpke_vec {
    uint16_t kem_id, kdf_id, aead_id;
    const char *info;
    const char *ikm_e, *pk_em, *sk_em, *ikm_r, *pk_rm, *sk_rm, *enc, *shared_secret, *key,
        *base_nonce, *exporter_secret;
    struct hpke_enc_vec encs[6];
    const char *pt;
    struct hpke_exp_vec exps[3];
};

static const struct hpke_vec vectors[] = {
    /* RFC 9180 A.1 DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode */
    {32, 1, 1, "4f6465206f6e2061204772656369616e2055726e",
     "7268600d403fce431561aef583ee1613527cff655c1343f29812e66706df3234",
     "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
     "52c4a758a802cd8b936eceea314432798d5baf2d7e9235dc084ab1b9cfa2f736",
     "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
     "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
     "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
     "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
     "fe0e18c9f024ce43799ae393c7e8fe8fce9d218875e8227b0187c04e7d2ea1fc",
     "4531685d41d65f03dc48f6b8302c05b0",
     "56d890e5accaaf011cff4b7d",
     "45ff1c2e220db587171952c0592d5f5ebe103f1561a2614e38f2ffd47e99e3f8",
     {
         {0, "436f756e742d30", "56d890e5accaaf011cff4b7d", "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a96d8770ac83d07bea87e13c512a"},
         {1, "436f756e742d31", "56d890e5accaaf011cff4b7c", "af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab251c03d0c22a56b8ca42c2063b84"},
         {2, "436f756e742d32", "56d890e5accaaf011cff4b7f", "498dfcabd92e8acedc281e85af1cb4e3e31c7dc394a1ca20e173cb72516491588d96a19ad4a683518973dcc180"},
         {4, "436f756e742d34", "56d890e5accaaf011cff4b79", "583bd32bc67a5994bb8ceaca813d369bca7b2a42408cddef5e22f880b631215a09fc0012bc69fccaa251c0246d"},
         {255, "436f756e742d323535", "56d890e5accaaf011cff4b82", "7175db9717964058640a3a11fb9007941a5d1757fda1a6935c805c21af32505bf106deefec4a49ac38d71c9e0a"},
         {256, "436f756e742d323536", "56d890e5accaaf011cff4a7d", "957f9800542b0b8891badb026d79cc54597cb2d225b54c00c5238c25d05c30e3fbeda97d2e0e1aba483a2df9f2"},
     },
     "4265617574792069732074727574682c20747275746820626561757479",
     {
         {"", 32, "3853fe2b4035195a573ffc53856e77058e15d9ea064de3e59f4961d0095250ee"},
         {"00", 32, "2e8f0b54673c7029649d4eb9d5e33bf1872cf76d623ff164ac185da9e88c21a5"},
         {"54657374436f6e74657874", 32, "e9e43065102c3836401bed8c3c3c75ae46be1639869391d62c61f1ec7af54931"},
     }},
    /* RFC 9180 A.2 DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, base mode */
    {32, 1, 3, "4f6465206f6e2061204772656369616e2055726e",
     "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b",
     "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
     "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600",
     "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df",
     "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a",
     "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",
     "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
     "0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7",
     "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91",
     "5c4d98150661b848853b547f",
     "a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922",
     {
         {0, "436f756e742d30", "5c4d98150661b848853b547f", "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db21993c62ce81883d2dd1b51a28"},
         {1, "436f756e742d31", "5c4d98150661b848853b547e", "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e85285337cc95ba5f59992dc98c"},
         {2, "436f756e742d32", "5c4d98150661b848853b547d", "71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02b4f10ecac6f48c32f878fae86b"},
         {4, "436f756e742d34", "5c4d98150661b848853b547b", "63357a2aa291f5a4e5f27db6baa2af8cf77427c7c1a909e0b37214dd47db122bb153495ff0b02e9e54a50dbe16"},
         {255, "436f756e742d323535", "5c4d98150661b848853b5480", "18ab939d63ddec9f6ac2b60d61d36a7375d2070c9b683861110757062c52b8880a5f6b3936da9cd6c23ef2a95c"},
         {256, "436f756e742d323536", "5c4d98150661b848853b557f", "7a4a13e9ef23978e2c520fd4d2e757514ae160cd0cd05e556ef692370ca53076214c0c40d4c728d6ed9e727a5b"},
     },
     "4265617574792069732074727574682c20747275746820626561757479",
     {
         {"", 32, "4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e"},
         {"00", 32, "8c1df14732580e5501b00f82b10a1647b40713191b7c1240ac80e2b68808ba69"},
         {"54657374436f6e74657874", 32, "5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53"},
     }},
    /* RFC 9180 A.3 DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, base mode */
    {16, 1, 1, "4f6465206f6e2061204772656369616e2055726e",
     "4270e54ffd08d79d5928020af4686d8f6b7d35dbe470265f1f5aa22816ce860e",
     "04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325ac98536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18c4",
     "4995788ef4b9d6132b249ce59a77281493eb39af373d236a1fe415cb0c2d7beb",
     "668b37171f1072f3cf12ea8a236a45df23fc13b82af3609ad1e354f6ef817550",
     "04fe8c19ce0905191ebc298a9245792531f26f0cece2460639e8bc39cb7f706a826a779b4cf969b8a0e539c7f62fb3d30ad6aa8f80e30f1d128aafd68a2ce72ea0",
     "f3ce7fdae57e1a310d87f1ebbde6f328be0a99cdbcadf4d6589cf29de4b8ffd2",
     "04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325ac98536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18c4",
     "c0d26aeab536609a572b07695d933b589dcf363ff9d93c93adea537aeabb8cb8",
     "868c066ef58aae6dc589b6cfdd18f97e",
     "4e0bc5018beba4bf004cca59",
     "14ad94af484a7ad3ef40e9f3be99ecc6fa9036df9d4920548424df127ee0d99f",
     {
         {0, "436f756e742d30", "4e0bc5018beba4bf004cca59", "5ad590bb8baa577f8619db35a36311226a896e7342a6d836d8b7bcd2f20b6c7f9076ac232e3ab2523f39513434"},
         {1, "436f756e742d31", "4e0bc5018beba4bf004cca58", "fa6f037b47fc21826b610172ca9637e82d6e5801eb31cbd3748271affd4ecb06646e0329cbdf3c3cd655b28e82"},
         {2, "436f756e742d32", "4e0bc5018beba4bf004cca5b", "895cabfac50ce6c6eb02ffe6c048bf53b7f7be9a91fc559402cbc5b8dcaeb52b2ccc93e466c28fb55fed7a7fec"},
         {4, "436f756e742d34", "4e0bc5018beba4bf004cca5d", "8787491ee8df99bc99a246c4b3216d3d57ab5076e18fa27133f520703bc70ec999dd36ce042e44f0c3169a6a8f"},
         {255, "436f756e742d323535", "4e0bc5018beba4bf004ccaa6", "2ad71c85bf3f45c6eca301426289854b31448bcf8a8ccb1deef3ebd87f60848aa53c538c30a4dac71d619ee2cd"},
         {256, "436f756e742d323536", "4e0bc5018beba4bf004ccb59", "10f179686aa2caec1758c8e554513f16472bd0a11e2a907dde0b212cbe87d74f367f8ffe5e41cd3e9962a6afb2"},
     },
     "4265617574792069732074727574682c20747275746820626561757479",
     {
         {"", 32, "5e9bc3d236e1911d95e65b576a8a86d478fb827e8bdfe77b741b289890490d4d"},
         {"00", 32, "6cff87658931bda83dc857e6353efe4987a201b849658d9b047aab4cf216e796"},
         {"54657374436f6e74657874", 32, "d8f1ea7942adbba7412c6d431c62d01371ea476b823eb697e1f6e6cae1dab85a"},
     }},
    /* RFC 9180 A.4 DHKEM(P-256, HKDF-SHA256), HKDF-SHA512, AES-128-GCM, base mode */
    {16, 3, 1, "4f6465206f6e2061204772656369616e2055726e",
     "4ab11a9dd78c39668f7038f921ffc0993b368171d3ddde8031501ee1e08c4c9a",
     "0493ed86735bdfb978cc055c98b45695ad7ce61ce748f4dd63c525a3b8d53a15565c6897888070070c1579db1f86aaa56deb8297e64db7e8924e72866f9a472580",
     "2292bf14bb6e15b8c81a0f45b7a6e93e32d830e48cca702e0affcfb4d07e1b5c",
     "ea9ff7cc5b2705b188841c7ace169290ff312a9cb31467784ca92d7a2e6e1be8",
     "04085aa5b665dc3826f9650ccbcc471be268c8ada866422f739e2d531d4a8818a9466bc6b449357096232919ec4fe9070ccbac4aac30f4a1a53efcf7af90610edd",
     "3ac8530ad1b01885960fab38cf3cdc4f7aef121eaa239f222623614b4079fb38",
     "0493ed86735bdfb978cc055c98b45695ad7ce61ce748f4dd63c525a3b8d53a15565c6897888070070c1579db1f86aaa56deb8297e64db7e8924e72866f9a472580",
     "02f584736390fc93f5b4ad039826a3fa08e9911bd1215a3db8e8791ba533cafd",
     "090ca96e5f8aa02b69fac360da50ddf9",
     "9c995e621bf9a20c5ca45546",
     "4a7abb2ac43e6553f129b2c5750a7e82d149a76ed56dc342d7bca61e26d494f4855dff0d0165f27ce57756f7f16baca006539bb8e4518987ba610480ac03efa8",
     {
         {0, "436f756e742d30", "9c995e621bf9a20c5ca45546", "d3cf4984931484a080f74c1bb2a6782700dc1fef9abe8442e44a6f09044c88907200b332003543754eb51917ba"},
         {1, "436f756e742d31", "9c995e621bf9a20c5ca45547", "d14414555a47269dfead9fbf26abb303365e40709a4ed16eaefe1f2070f1ddeb1bdd94d9e41186f124e0acc62d"},
         {2, "436f756e742d32", "9c995e621bf9a20c5ca45544", "9bba136cade5c4069707ba91a61932e2cbedda2d9c7bdc33515aa01dd0e0f7e9d3579bf4016dec37da4aafa800"},
         {4, "436f756e742d34", "9c995e621bf9a20c5ca45542", "a531c0655342be013bf32112951f8df1da643602f1866749519f5dcb09cc68432579de305a77e6864e862a7600"},
         {255, "436f756e742d323535", "9c995e621bf9a20c5ca455b9", "be5da649469efbad0fb950366a82a73fefeda5f652ec7d3731fac6c4ffa21a7004d2ab8a04e13621bd3629547d"},
         {256, "436f756e742d323536", "9c995e621bf9a20c5ca45446", "62092672f5328a0dde095e57435edf7457ace60b26ee44c9291110ec135cb0e14b85594e4fea11247d937deb62"},
     },
     "4265617574792069732074727574682c20747275746820626561757479",
     {
         {"", 32, "a32186b8946f61aeead1c093fe614945f85833b165b28c46bf271abf16b57208"},
         {"00", 32, "84998b304a0ea2f11809398755f0abd5f9d2c141d1822def79dd15c194803c2a"},
         {"54657374436f6e74657874", 32, "93fb9411430b2cfa2cf0bed448c46922a5be9beff20e2e621df7e4655852edbc"},
     }},
    /* RFC 9180 A.6 DHKEM(P-521, HKDF-SHA512), HKDF-SHA512, AES-256-GCM, base mode */
    {18, 3, 2, "4f6465206f6e2061204772656369616e2055726e",
     "7f06ab8215105fc46aceeb2e3dc5028b44364f960426eb0d8e4026c2f8b5d7e7a986688f1591abf5ab753c357a5d6f0440414b4ed4ede71317772ac98d9239f70904",
     "040138b385ca16bb0d5fa0c0665fbbd7e69e3ee29f63991d3e9b5fa740aab8900aaeed46ed73a49055758425a0ce36507c54b29cc5b85a5cee6bae0cf1c21f2731ece2013dc3fb7c8d21654bb161b463962ca19e8c654ff24c94dd2898de12051f1ed0692237fb02b2f8d1dc1c73e9b366b529eb436e98a996ee522aef863dd5739d2f29b0",
     "014784c692da35df6ecde98ee43ac425dbdd0969c0c72b42f2e708ab9d535415a8569bdacfcc0a114c85b8e3f26acf4d68115f8c91a66178cdbd03b7bcc5291e374b",
     "2ad954bbe39b7122529f7dde780bff626cd97f850d0784a432784e69d86eccaade43b6c10a8ffdb94bf943c6da479db137914ec835a7e715e36e45e29b587bab3bf1",
     "0401b45498c1714e2dce167d3caf162e45e0642afc7ed435df7902ccae0e84ba0f7d373f646b7738bbbdca11ed91bdeae3cdcba3301f2457be452f271fa6837580e661012af49583a62e48d44bed350c7118c0d8dc861c238c72a2bda17f64704f464b57338e7f40b60959480c0e58e6559b190d81663ed816e523b6b6a418f66d2451ec64",
     "01462680369ae375e4b3791070a7458ed527842f6a98a79ff5e0d4cbde83c27196a3916956655523a6a2556a7af62c5cadabe2ef9da3760bb21e005202f7b2462847",
     "040138b385ca16bb0d5fa0c0665fbbd7e69e3ee29f63991d3e9b5fa740aab8900aaeed46ed73a49055758425a0ce36507c54b29cc5b85a5cee6bae0cf1c21f2731ece2013dc3fb7c8d21654bb161b463962ca19e8c654ff24c94dd2898de12051f1ed0692237fb02b2f8d1dc1c73e9b366b529eb436e98a996ee522aef863dd5739d2f29b0",
     "776ab421302f6eff7d7cb5cb1adaea0cd50872c71c2d63c30c4f1d5e43653336fef33b103c67e7a98add2d3b66e2fda95b5b2a667aa9dac7e59cc1d46d30e818",
     "751e346ce8f0ddb2305c8a2a85c70d5cf559c53093656be636b9406d4d7d1b70",
     "55ff7a7d739c69f44b25447b",
     "e4ff9dfbc732a2b9c75823763c5ccc954a2c0648fc6de80a58581252d0ee3215388a4455e69086b50b87eb28c169a52f42e71de4ca61c920e7bd24c95cc3f992",
     {
         {0, "436f756e742d30", "55ff7a7d739c69f44b25447b", "170f8beddfe949b75ef9c387e201baf4132fa7374593dfafa90768788b7b2b200aafcc6d80ea4c795a7c5b841a"},
         {1, "436f756e742d31", "55ff7a7d739c69f44b25447a", "d9ee248e220ca24ac00bbbe7e221a832e4f7fa64c4fbab3945b6f3af0c5ecd5e16815b328be4954a05fd352256"},
         {2, "436f756e742d32", "55ff7a7d739c69f44b254479", "142cf1e02d1f58d9285f2af7dcfa44f7c3f2d15c73d460c48c6e0e506a3144bae35284e7e221105b61d24e1c7a"},
         {4, "436f756e742d34", "55ff7a7d739c69f44b25447f", "3bb3a5a07100e5a12805327bf3b152df728b1c1be75a9fd2cb2bf5eac0cca1fb80addb37eb2a32938c7268e3e5"},
         {255, "436f756e742d323535", "55ff7a7d739c69f44b254484", "4f268d0930f8d50b8fd9d0f26657ba25b5cb08b308c92e33382f369c768b558e113ac95a4c70dd60909ad1adc7"},
         {256, "436f756e742d323536", "55ff7a7d739c69f44b25457b", "dbbfc44ae037864e75f136e8b4b4123351d480e6619ae0e0ae437f036f2f8f1ef677686323977a1ccbb4b4f16a"},
     },
     "4265617574792069732074727574682c20747275746820626561757479",
     {
         {"", 32, "05e2e5bd9f0c30832b80a279ff211cc65eceb0d97001524085d609ead60d0412"},
         {"00", 32, "fca69744bb537f5b7a1596dbf34eaa8d84bf2e3ee7f1a155d41bd3624aa92b63"},
         {"54657374436f6e74657874", 32, "f389beaac6fcf6c0d9376e20f97e364f0609a88f1bc76d7328e9104df8477013"},
     }},
};

/* DHKEM(P-256, HKDF-SHA256), HKDF-SHA512, AES-128-GCM (RFC 9180 A.4) is no
 * MLS suite: a suite table of our own whose KDF differs from the KEM's. */
static const mls_suite p256_sha512_aes128 = {
    0, "RFC 9180 A.4", MLS_HASH_SHA512, MLS_AEAD_AES128GCM, MLS_KEM_P256, MLS_SIG_P256,
    0x0010, 0x0003, 0x0001, 64, 16, 12, 32, 65, 65, 32, 65};

static const mls_suite *suite_for(const struct hpke_vec *v)
{
    for (uint16_t id = 1; id <= 7; id++) {
        const mls_suite *s = mls_suite_get(id);
        if (s->hpke_kem_id == v->kem_id && s->hpke_kdf_id == v->kdf_id &&
            s->hpke_aead_id == v->aead_id)
            return s;
    }
    if (p256_sha512_aes128.hpke_kem_id == v->kem_id && p256_sha512_aes128.hpke_kdf_id == v->kdf_id &&
        p256_sha512_aes128.hpke_aead_id == v->aead_id)
        return &p256_sha512_aes128;
    return NULL;
}

/* An env whose random source returns a fixed byte string (the RFC's ikmE). */
struct fixed_rng {
    const uint8_t *p;
    size_t n;
};

static int fixed_random(void *ctx, uint8_t *out, size_t n)
{
    struct fixed_rng *r = ctx;
    if (n != r->n)
        return -1;
    memcpy(out, r->p, n);
    return 0;
}

static void test_rfc9180_vector(const struct hpke_vec *v)
{
    const mls_suite *s = suite_for(v);
    CHECK(s != NULL);
    if (!s)
        return;
    mls_buf info = test_hexbuf(v->info), ikm_e = test_hexbuf(v->ikm_e),
            ikm_r = test_hexbuf(v->ikm_r);
    mls_buf sk_r = test_hexbuf(v->sk_rm), pk_r = test_hexbuf(v->pk_rm), pt = test_hexbuf(v->pt);
    mls_buf sk, pk, enc, ct, out;
    mls_hpke_ctx cs, cr;
    struct fixed_rng rng = {ikm_e.p, ikm_e.n};
    mls_env env = {.random = fixed_random, .now = test_no_time, .ctx = &rng};
    mls_buf_init(&sk);
    mls_buf_init(&pk);
    mls_buf_init(&enc);
    mls_buf_init(&ct);
    mls_buf_init(&out);
    memset(&cs, 0, sizeof(cs));
    memset(&cr, 0, sizeof(cr));

    /* DeriveKeyPair of both key pairs, and pk(sk). */
    CHECK_OK(mls_hpke_derive_keypair(s, mls_buf_view(&ikm_r), &sk, &pk));
    CHECK(test_eq_hex(mls_buf_view(&sk), v->sk_rm));
    CHECK(test_eq_hex(mls_buf_view(&pk), v->pk_rm));
    CHECK_OK(mls_hpke_derive_keypair(s, mls_buf_view(&ikm_e), &sk, &pk));
    CHECK(test_eq_hex(mls_buf_view(&sk), v->sk_em));
    CHECK(test_eq_hex(mls_buf_view(&pk), v->pk_em));
    CHECK_OK(mls_hpke_public_from_private(s, mls_buf_view(&sk_r), &pk));
    CHECK(test_eq_hex(mls_buf_view(&pk), v->pk_rm));

    /* SetupBaseS with GenerateKeyPair fed ikmE, SetupBaseR with skR.  The
     * shared secret is checked through key, base_nonce and exporter_secret,
     * which are derived from it. */
    CHECK_OK(mls_hpke_setup_base_s(s, &env, mls_buf_view(&pk_r), mls_buf_view(&info), &enc, &cs));
    CHECK(test_eq_hex(mls_buf_view(&enc), v->enc));
    CHECK_OK(mls_hpke_setup_base_r(s, mls_buf_view(&enc), mls_buf_view(&sk_r),
                                   mls_buf_view(&info), &cr));
    mls_hpke_ctx *both[2] = {&cs, &cr};
    for (int i = 0; i < 2; i++) {
        CHECK(both[i]->suite == s);
        CHECK(both[i]->seq == 0);
        CHECK(test_eq_hex(mls_bytes_of(both[i]->key, s->nk), v->key));
        CHECK(test_eq_hex(mls_bytes_of(both[i]->base_nonce, s->nn), v->base_nonce));
        CHECK(test_eq_hex(mls_bytes_of(both[i]->exporter_secret, s->nh), v->exporter_secret));
    }

    /* The first two encryptions by the natural sequence numbers. */
    mls_hpke_ctx seq_s = cs, seq_r = cr;
    for (int i = 0; i < 2; i++) {
        mls_buf aad = test_hexbuf(v->encs[i].aad);
        mls_buf_reset(&ct);
        mls_buf_reset(&out);
        CHECK_OK(mls_hpke_ctx_seal(&seq_s, mls_buf_view(&aad), mls_buf_view(&pt), &ct));
        CHECK(test_eq_hex(mls_buf_view(&ct), v->encs[i].ct));
        CHECK_OK(mls_hpke_ctx_open(&seq_r, mls_buf_view(&aad), mls_buf_view(&ct), &out));
        CHECK(test_eq_hex(mls_buf_view(&out), v->pt));
        CHECK(seq_s.seq == (uint64_t)i + 1 && seq_r.seq == (uint64_t)i + 1);
        mls_buf_clear(&aad);
    }
    mls_hpke_ctx_clear(&seq_s);
    mls_hpke_ctx_clear(&seq_r);

    /* Every listed sequence number (0, 1, 2, 4, 255, 256). */
    for (size_t i = 0; i < sizeof(v->encs) / sizeof(v->encs[0]); i++) {
        mls_buf aad = test_hexbuf(v->encs[i].aad);
        mls_buf_reset(&ct);
        mls_buf_reset(&out);
        cs.seq = v->encs[i].seq;
        cr.seq = v->encs[i].seq;
        CHECK_OK(mls_hpke_ctx_seal(&cs, mls_buf_view(&aad), mls_buf_view(&pt), &ct));
        CHECK(test_eq_hex(mls_buf_view(&ct), v->encs[i].ct));
        CHECK_OK(mls_hpke_ctx_open(&cr, mls_buf_view(&aad), mls_buf_view(&ct), &out));
        CHECK(test_eq_hex(mls_buf_view(&out), v->pt));
        mls_buf_clear(&aad);
    }

    /* Export. */
    for (size_t i = 0; i < sizeof(v->exps) / sizeof(v->exps[0]); i++) {
        mls_buf ectx = test_hexbuf(v->exps[i].context);
        uint8_t val[64];
        CHECK(v->exps[i].len <= sizeof(val));
        CHECK_OK(mls_hpke_ctx_export(&cs, mls_buf_view(&ectx), val, v->exps[i].len));
        CHECK(test_eq_hex(mls_bytes_of(val, v->exps[i].len), v->exps[i].value));
        CHECK_OK(mls_hpke_ctx_export(&cr, mls_buf_view(&ectx), val, v->exps[i].len));
        CHECK(test_eq_hex(mls_bytes_of(val, v->exps[i].len), v->exps[i].value));
        mls_buf_clear(&ectx);
    }

    /* Single-shot SealBase / OpenBase give the sequence-0 ciphertext. */
    {
        mls_buf aad = test_hexbuf(v->encs[0].aad), enc1, ct1, pt1;
        mls_buf_init(&enc1);
        mls_buf_init(&ct1);
        mls_buf_init(&pt1);
        CHECK_OK(mls_hpke_seal_base(s, &env, mls_buf_view(&pk_r), mls_buf_view(&info),
                                    mls_buf_view(&aad), mls_buf_view(&pt), &enc1, &ct1));
        CHECK(test_eq_hex(mls_buf_view(&enc1), v->enc));
        CHECK(test_eq_hex(mls_buf_view(&ct1), v->encs[0].ct));
        CHECK_OK(mls_hpke_open_base(s, mls_buf_view(&enc1), mls_buf_view(&sk_r),
                                    mls_buf_view(&info), mls_buf_view(&aad), mls_buf_view(&ct1),
                                    &pt1));
        CHECK(test_eq_hex(mls_buf_view(&pt1), v->pt));
        mls_buf_clear(&aad);
        mls_buf_clear(&enc1);
        mls_buf_clear(&ct1);
        mls_buf_clear(&pt1);
    }

    mls_hpke_ctx_clear(&cs);
    mls_hpke_ctx_clear(&cr);
    mls_buf *bufs[] = {&info, &ikm_e, &ikm_r, &sk_r, &pk_r, &pt, &sk, &pk, &enc, &ct, &out};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        mls_buf_clear(bufs[i]);
}

/* Open must fail with `want` and leave the output buffer empty. */
static void expect_open_fails(const mls_suite *s, mls_bytes enc, mls_bytes sk, mls_bytes info,
                              mls_bytes aad, mls_bytes ct, int want)
{
    mls_buf out;
    mls_buf_init(&out);
    CHECK_ERR(mls_hpke_open_base(s, enc, sk, info, aad, ct, &out), want);
    CHECK(out.n == 0);
    mls_buf_clear(&out);
}

static void test_suite_round_trip(const mls_suite *s)
{
    static const uint8_t msg[] = "a message for the group";
    static const uint8_t info_b[] = "info", aad_b[] = "aad";
    const mls_bytes info = mls_bytes_of(info_b, 4), aad = mls_bytes_of(aad_b, 3);
    const mls_env *env = mls_env_default();
    mls_buf sk, pk, sk2, pk2, pkx, enc, ct, out, bad;
    mls_buf *bufs[] = {&sk, &pk, &sk2, &pk2, &pkx, &enc, &ct, &out, &bad};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        mls_buf_init(bufs[i]);
    int is_ec = s->kem == MLS_KEM_P256 || s->kem == MLS_KEM_P384 || s->kem == MLS_KEM_P521;

    CHECK_OK(mls_hpke_generate_keypair(s, env, &sk, &pk));
    CHECK(sk.n == s->kem_nsk && pk.n == s->kem_npk);
    CHECK_OK(mls_hpke_public_from_private(s, mls_buf_view(&sk), &pkx));
    CHECK(mls_ct_equal(mls_buf_view(&pk), mls_buf_view(&pkx)));
    CHECK_OK(mls_hpke_generate_keypair(s, env, &sk2, &pk2));
    CHECK(!mls_ct_equal(mls_buf_view(&sk), mls_buf_view(&sk2)));

    /* DeriveKeyPair is deterministic; an empty ikm is allowed. */
    CHECK_OK(mls_hpke_derive_keypair(s, mls_bytes_of(msg, 5), &sk2, &pk2));
    CHECK_OK(mls_hpke_derive_keypair(s, mls_bytes_of(msg, 5), &bad, &pkx));
    CHECK(mls_ct_equal(mls_buf_view(&sk2), mls_buf_view(&bad)));
    CHECK(mls_ct_equal(mls_buf_view(&pk2), mls_buf_view(&pkx)));
    CHECK_OK(mls_hpke_derive_keypair(s, mls_bytes_of(NULL, 0), &bad, &pkx));
    CHECK(!mls_ct_equal(mls_buf_view(&sk2), mls_buf_view(&bad)));

    /* Round trip, also with an empty plaintext. */
    CHECK_OK(mls_hpke_seal_base(s, env, mls_buf_view(&pk), info, aad, mls_bytes_of(msg, sizeof(msg)),
                                &enc, &ct));
    CHECK(enc.n == s->kem_nenc && ct.n == sizeof(msg) + MLS_AEAD_TAG);
    CHECK_OK(mls_hpke_open_base(s, mls_buf_view(&enc), mls_buf_view(&sk), info, aad,
                                mls_buf_view(&ct), &out));
    CHECK(out.n == sizeof(msg) && memcmp(out.p, msg, sizeof(msg)) == 0);
    {
        mls_buf e0, c0, p0;
        mls_buf_init(&e0);
        mls_buf_init(&c0);
        mls_buf_init(&p0);
        CHECK_OK(mls_hpke_seal_base(s, env, mls_buf_view(&pk), info, aad, mls_bytes_of(NULL, 0),
                                    &e0, &c0));
        CHECK(c0.n == MLS_AEAD_TAG);
        CHECK_OK(mls_hpke_open_base(s, mls_buf_view(&e0), mls_buf_view(&sk), info, aad,
                                    mls_buf_view(&c0), &p0));
        CHECK(p0.n == 0);
        mls_buf_clear(&e0);
        mls_buf_clear(&c0);
        mls_buf_clear(&p0);
    }

    /* Wrong tag, first ciphertext byte, aad, info, recipient key. */
    CHECK_OK(mls_buf_set(&bad, ct.p, ct.n));
    bad.p[bad.n - 1] ^= 0x01;
    expect_open_fails(s, mls_buf_view(&enc), mls_buf_view(&sk), info, aad, mls_buf_view(&bad),
                      MLS_ERR_DECRYPT);
    CHECK_OK(mls_buf_set(&bad, ct.p, ct.n));
    bad.p[0] ^= 0x80;
    expect_open_fails(s, mls_buf_view(&enc), mls_buf_view(&sk), info, aad, mls_buf_view(&bad),
                      MLS_ERR_DECRYPT);
    expect_open_fails(s, mls_buf_view(&enc), mls_buf_view(&sk), info, mls_bytes_of(aad_b, 2),
                      mls_buf_view(&ct), MLS_ERR_DECRYPT);
    expect_open_fails(s, mls_buf_view(&enc), mls_buf_view(&sk), mls_bytes_of(NULL, 0), aad,
                      mls_buf_view(&ct), MLS_ERR_DECRYPT);
    expect_open_fails(s, mls_buf_view(&enc), mls_buf_view(&sk2), info, aad, mls_buf_view(&ct),
                      MLS_ERR_DECRYPT);
    /* Ciphertext shorter than the tag, or empty. */
    expect_open_fails(s, mls_buf_view(&enc), mls_buf_view(&sk), info, aad,
                      mls_bytes_of(ct.p, MLS_AEAD_TAG - 1), MLS_ERR_DECRYPT);
    expect_open_fails(s, mls_buf_view(&enc), mls_buf_view(&sk), info, aad, mls_bytes_of(NULL, 0),
                      MLS_ERR_DECRYPT);

    /* Truncated, empty and overlong enc. */
    expect_open_fails(s, mls_bytes_of(enc.p, enc.n - 1), mls_buf_view(&sk), info, aad,
                      mls_buf_view(&ct), MLS_ERR_MALFORMED);
    expect_open_fails(s, mls_bytes_of(NULL, 0), mls_buf_view(&sk), info, aad, mls_buf_view(&ct),
                      MLS_ERR_MALFORMED);
    CHECK_OK(mls_buf_set(&bad, enc.p, enc.n));
    CHECK_OK(mls_buf_append(&bad, "x", 1));
    expect_open_fails(s, mls_buf_view(&bad), mls_buf_view(&sk), info, aad, mls_buf_view(&ct),
                      MLS_ERR_MALFORMED);
    if (is_ec) {
        /* Compressed-point prefix; a point off the curve. */
        CHECK_OK(mls_buf_set(&bad, enc.p, enc.n));
        bad.p[0] = 0x02;
        expect_open_fails(s, mls_buf_view(&bad), mls_buf_view(&sk), info, aad, mls_buf_view(&ct),
                          MLS_ERR_MALFORMED);
        CHECK_OK(mls_buf_set(&bad, enc.p, enc.n));
        bad.p[bad.n - 1] ^= 0x01;
        expect_open_fails(s, mls_buf_view(&bad), mls_buf_view(&sk), info, aad, mls_buf_view(&ct),
                          MLS_ERR_INVALID);
        /* x and y both zero: not on the curve either. */
        memset(bad.p + 1, 0, bad.n - 1);
        expect_open_fails(s, mls_buf_view(&bad), mls_buf_view(&sk), info, aad, mls_buf_view(&ct),
                          MLS_ERR_INVALID);
    } else {
        /* u = 0 has small order: the DH output is all zero (RFC 9180
         * §7.1.4). */
        CHECK_OK(mls_buf_set(&bad, enc.p, enc.n));
        memset(bad.p, 0, bad.n);
        expect_open_fails(s, mls_buf_view(&bad), mls_buf_view(&sk), info, aad, mls_buf_view(&ct),
                          MLS_ERR_INVALID);
        /* u = 1 has small order too. */
        bad.p[0] = 1;
        expect_open_fails(s, mls_buf_view(&bad), mls_buf_view(&sk), info, aad, mls_buf_view(&ct),
                          MLS_ERR_INVALID);
    }

    /* Malformed private keys. */
    expect_open_fails(s, mls_buf_view(&enc), mls_bytes_of(sk.p, sk.n - 1), info, aad,
                      mls_buf_view(&ct), MLS_ERR_INVALID);
    if (is_ec) {
        CHECK_OK(mls_buf_set(&bad, sk.p, sk.n));
        memset(bad.p, 0, bad.n);
        expect_open_fails(s, mls_buf_view(&enc), mls_buf_view(&bad), info, aad,
                          mls_buf_view(&ct), MLS_ERR_INVALID);
        memset(bad.p, 0xff, bad.n);
        expect_open_fails(s, mls_buf_view(&enc), mls_buf_view(&bad), info, aad,
                          mls_buf_view(&ct), MLS_ERR_INVALID);
        CHECK_ERR(mls_hpke_public_from_private(s, mls_buf_view(&bad), &pkx), MLS_ERR_INVALID);
    }

    /* Sealing to a bad public key or with a failing random source writes
     * nothing. */
    {
        mls_buf e, c;
        mls_buf_init(&e);
        mls_buf_init(&c);
        mls_env broken = {.random = test_failing_random, .now = test_no_time, .ctx = NULL};
        CHECK_ERR(mls_hpke_seal_base(s, env, mls_bytes_of(pk.p, pk.n - 1), info, aad,
                                     mls_bytes_of(msg, 3), &e, &c),
                  MLS_ERR_MALFORMED);
        CHECK_ERR(mls_hpke_seal_base(s, &broken, mls_buf_view(&pk), info, aad,
                                     mls_bytes_of(msg, 3), &e, &c),
                  MLS_ERR_RANDOM);
        CHECK_ERR(mls_hpke_generate_keypair(s, &broken, &e, &c), MLS_ERR_RANDOM);
        if (is_ec) {
            CHECK_OK(mls_buf_set(&bad, pk.p, pk.n));
            bad.p[1] ^= 0x01;
            CHECK_ERR(mls_hpke_seal_base(s, env, mls_buf_view(&bad), info, aad,
                                         mls_bytes_of(msg, 3), &e, &c),
                      MLS_ERR_INVALID);
        }
        CHECK(e.n == 0 && c.n == 0);
        mls_buf_clear(&e);
        mls_buf_clear(&c);
    }

    /* Context API: sequence numbers advance on success only; export. */
    {
        mls_hpke_ctx cs, cr;
        mls_buf e, c1, c2, p;
        uint8_t x1[32], x2[32];
        mls_buf_init(&e);
        mls_buf_init(&c1);
        mls_buf_init(&c2);
        mls_buf_init(&p);
        CHECK_OK(mls_hpke_setup_base_s(s, env, mls_buf_view(&pk), info, &e, &cs));
        CHECK_OK(mls_hpke_setup_base_r(s, mls_buf_view(&e), mls_buf_view(&sk), info, &cr));
        CHECK_OK(mls_hpke_ctx_seal(&cs, aad, mls_bytes_of(msg, 4), &c1));
        CHECK_OK(mls_hpke_ctx_seal(&cs, aad, mls_bytes_of(msg, 4), &c2));
        CHECK(cs.seq == 2);
        CHECK(!mls_ct_equal(mls_buf_view(&c1), mls_buf_view(&c2)));
        /* Out of order: c2 does not open at seq 0, and seq stays 0. */
        CHECK_ERR(mls_hpke_ctx_open(&cr, aad, mls_buf_view(&c2), &p), MLS_ERR_DECRYPT);
        CHECK(cr.seq == 0 && p.n == 0);
        CHECK_OK(mls_hpke_ctx_open(&cr, aad, mls_buf_view(&c1), &p));
        CHECK_OK(mls_hpke_ctx_open(&cr, aad, mls_buf_view(&c2), &p));
        CHECK(cr.seq == 2 && p.n == 8);
        CHECK_OK(mls_hpke_ctx_export(&cs, mls_bytes_of(info_b, 4), x1, sizeof(x1)));
        CHECK_OK(mls_hpke_ctx_export(&cr, mls_bytes_of(info_b, 4), x2, sizeof(x2)));
        CHECK(memcmp(x1, x2, sizeof(x1)) == 0);
        CHECK_ERR(mls_hpke_ctx_export(&cs, info, NULL, 255 * s->nh + 1), MLS_ERR_ARG);
        cs.seq = UINT64_MAX;
        CHECK_ERR(mls_hpke_ctx_seal(&cs, aad, mls_bytes_of(msg, 4), &c1), MLS_ERR_STATE);
        mls_hpke_ctx_clear(&cs);
        mls_hpke_ctx_clear(&cs);
        CHECK_ERR(mls_hpke_ctx_seal(&cs, aad, mls_bytes_of(msg, 4), &c1), MLS_ERR_STATE);
        mls_hpke_ctx_clear(&cr);
        mls_buf_clear(&e);
        mls_buf_clear(&c1);
        mls_buf_clear(&c2);
        mls_buf_clear(&p);
    }

    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        mls_buf_clear(bufs[i]);
}

static void test_unsupported(void)
{
    /* A suite table whose HPKE ids disagree with its algorithms. */
    mls_suite s = *mls_suite_get(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);
    mls_buf sk, pk;
    mls_buf_init(&sk);
    mls_buf_init(&pk);
    s.hpke_kdf_id = 0x0003;
    CHECK_ERR(mls_hpke_derive_keypair(&s, mls_bytes_of(NULL, 0), &sk, &pk), MLS_ERR_UNSUPPORTED);
    s = *mls_suite_get(MLS_SUITE_X25519_AES128GCM_SHA256_ED25519);
    s.hpke_kem_id = 0x0010;
    CHECK_ERR(mls_hpke_derive_keypair(&s, mls_bytes_of(NULL, 0), &sk, &pk), MLS_ERR_UNSUPPORTED);
    CHECK(sk.n == 0 && pk.n == 0);
    mls_buf_clear(&sk);
    mls_buf_clear(&pk);
}

int main(void)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
        test_rfc9180_vector(&vectors[i]);
    for (uint16_t id = 1; id <= 7; id++)
        test_suite_round_trip(mls_suite_get(id));
    test_unsupported();
    TEST_MAIN_END("test_hpke");
}
