/*
 * Unit tests for the RFC 9420 data model (lib/messages*.c): round trips of
 * real messages (from messages.json), rejection of every truncation,
 * mutated and random inputs (rejected, or accepted and re-encoded
 * identically: the encoding is canonical), the strictness rules of §2.1,
 * the context-dependent layouts, and the signed/MACed encodings.
 */
#include "messages.h"
#include "test.h"

/* messages.json entry: mls_key_package (295 bytes) */
static const char SAMPLE_MLS_KEY_PACKAGE[] =
    "000100050001000120c749ea08b3d33784ecf799c150ed8a43580e1cc12a1a893822547b"
    "a3c021ac76201e44ee2a27540d5c65a3f1e07bcb2ba558959ad22168d4de7f180201a9b6"
    "66222038a5e7481e20afe7e500cb3065a67ebe9c2c3ecd537d4479309159fe2215c4b500"
    "0105416c696365020001060001000200030200010c000100020003000400050007020001"
    "01000000006408842400000000647750340040404cdfef1fdc8d04758353f3f07c2fe728"
    "2fa0215ddc72441a33124ef5106df858f86f57aefe08f255450df1243b630b8dd3912cbf"
    "2d94af7612fa4a07420cb70d004040136da188e3b773e12e76c9be654f7b51fc94bb8f7d"
    "53059e7ce2421d9226e8d1637209d3d65ed1ab0a198e1e63e2052dfdae85609f7d06951c"
    "f62ef66a12b300";

/* messages.json entry: mls_welcome (420 bytes) */
static const char SAMPLE_MLS_WELCOME[] =
    "000100030001409820b476143a05c9998ec979b6238fee883a9f465ed4b6ea2c694b2258"
    "e51dba7d5f20e1410ed962d691c2df6625d4ce889f322ae9ebdeff7a20cca524968e78d4"
    "1c0140544245da924c89675bbc415e713ba2daf036bdab200d1dad416de001089cbf9991"
    "8fb57f26658f117df2e8925aeb60a009636d6f64fab5b66debf02aeefbd0a7e1927196f9"
    "bfd2796a1706586b7d0bc39d11d47a0b4102117b239baf2f747e56ac7f8b2868966ef550"
    "7fff8dcf31aaca212734fd903b73f3b4eac307ba16d00afe4e8714ddb9af0e313287b878"
    "6df09ed99447bcedc8b8fdaa5fff19339f7a176801c1224a0e0c1f701dcc7fe9183a632b"
    "88b5f91f2c5780be8f9c2a40ed9157dd57ebb729733cbdece565f6e00bb59406b531775c"
    "66d6c52491de29dd1b64e293046d06c68477e0ecd1b22d704d1cdc4615b03f98bde98535"
    "ac9f0eee6b7c7a0ccb8ac39157aa846be24dcffcb05a5f048b346f0479f83bcf3bfa23c6"
    "a3bb3b7652f565d52295598ccd4714fead52ca595a6d613b907c322079325cd3af24eda3"
    "544457aa76d2930c43c1e40e22d290a57f8f3a9dd6121a7b";

/* messages.json entry: mls_group_info (424 bytes) */
static const char SAMPLE_MLS_GROUP_INFO[] =
    "00010004000100011057f89bad9b38b906d15100f720422e900000000000000000204791"
    "deb51610ceeee4333b92eb02dbaeff2f29809ba66bfa105233e478f0b707200000000000"
    "0000000000000000000000000000000000000000000000000000000600030300000040d5"
    "000240ad40ab010120d64aa6e8d92e72e40f5ee1e4530c5f15e8b1088fdb27191807ea68"
    "2dce8722232038a5e7481e20afe7e500cb3065a67ebe9c2c3ecd537d4479309159fe2215"
    "c4b5000105416c6963650200010200010000020001010000000064088424000000006477"
    "50340040409126d4860e4813c5cfddc8943406bcf5a6052ee28f48e41d1feebdd6f833cf"
    "c9cffcb3d25cb6306060f86273abce10b21d73c8b48f1868ca0d7311507899a700000421"
    "2046f72a2aadd9061959785bde73e922df0de3bae3c6aefc29a1e2e7b0f4f4987d203466"
    "c4297e35375676e20ccc765b1e46973e9468c1679da707be06be0971be85000000004040"
    "22f616969d2bc9bbf0aa710e211c4e695be3383a3485c31857dcb7cadc40cb690bf12d9a"
    "3eb460134f3b414e8b7a0ebcdd37de2c1c52fb97bb8e376ade02de0b";

/* messages.json entry: public_message_application (142 bytes) */
static const char SAMPLE_PUBLIC_APPLICATION[] =
    "000100011057f89bad9b38b906d15100f720422e90000000000000000101000000000361"
    "616401036d7367404069d1761429c48259525c1a7bdda1e92837a8e5f124f37f008ed1f0"
    "d9927cc197a708569fd1daccdbe79b5b9fb2d3eeb0e2da0ae7d3471cc8d85e7063dafda3"
    "09206c278f9cb0f2bfc369623ed9bb6ed25eccd17037f9a9d4939a2e8c2960194259";

/* messages.json entry: public_message_proposal (429 bytes) */
static const char SAMPLE_PUBLIC_PROPOSAL[] =
    "000100011057f89bad9b38b906d15100f720422e90000000000000000001000000000361"
    "6164020001000100012014daaedfec3b04ca1b49695697b85e1e278c2b5851d031afe35f"
    "f0611aaec9602024a768c73a100ccceb3e062790bca6f17d95ae5567c0bfbdd9ba52bbd8"
    "4e9a18203170de95c16a387572fe5bc68757c56b68537f336ece7262b192c8be238da980"
    "000103426f62020001060001000200030200010c00010002000300040005000702000101"
    "00000000640884240000000064775034004040f40844a8d907c710f5da6423d30b4a0161"
    "924242931cc213bb2aff6f953550887f16f12d72248690e1cc15045d51b5796a1afc5f52"
    "1e8f2cf9975ed38ffaa307004040b0ffdb7f714e1a040e43f0e493f08eac215269b52b32"
    "1112edb66a4bd2bd2136c8bf55dd9adbf3fc2a27395647bc74760d5b5b36c8a19050ad4f"
    "7c377b0b1d0e404022d70b9eb5620721c5962b1114270fc6d55fc3b082dff3498075bd5c"
    "581dd5834d71fd6aa32da7676b6aee108f0e4128f13da7ac4ac2a1806e04ecbd6befba07"
    "206c278f9cb0f2bfc369623ed9bb6ed25eccd17037f9a9d4939a2e8c2960194259";

/* messages.json entry: public_message_commit (428 bytes) */
static const char SAMPLE_PUBLIC_COMMIT[] =
    "000100011057f89bad9b38b906d15100f720422e90000000000000000001000000000361"
    "616403220220667a257d4ee521993fefc37ec3b43c8dd5572503134330219943cfcfc1a5"
    "a95201207098e821eef3e503ce5f2a54bfce94cf78b1aac590be0fe685e8dcbc7696d445"
    "2038a5e7481e20afe7e500cb3065a67ebe9c2c3ecd537d4479309159fe2215c4b5000105"
    "416c696365020001020001000002000103202e6efd75b8b34836db7d525c7eeb65dcc11a"
    "918f21b5a9724ba63de99ef3b1820040404833e2b7ce5740d84e06dfb6e9bb8c2fa3cec8"
    "6baf43b0ed6459e9e4910d6fcd1dda761fb4e43d2a3c70fcf045f95ee86dc7bad9078501"
    "c774c0f3cf275d170f22209ee6d8a7d342c383b16379beb6b4f7d3ce871973b1a3cee77f"
    "190fe11fbc394b0040402d8a2583d18875921992fc08a922ac9eb8fafbb5d7dc7550011d"
    "6885fd083f2bdb4fe08dc3b28489dce11aa0500b176cce5c43970a4a01e1163fb4a5362c"
    "390220fd07c4baa82036fe87fe89a47024628e3a1cf1a7f5c76b4782f9ed5a353cc99b20"
    "6c278f9cb0f2bfc369623ed9bb6ed25eccd17037f9a9d4939a2e8c2960194259";

/* messages.json entry: private_message (151 bytes) */
static const char SAMPLE_PRIVATE_MESSAGE[] =
    "00010002103e16311212988b93ad956895bd0a5ff1000000000000000101036161641cf4"
    "b72d316d2dbc2350c8d1bc87e805ba8d28cbec1dafcc3caa79d15140566b83f4f098c1b9"
    "177addb0fe72d8affcdd28cd3b1bafb295daee0b77912af4c965330d9f507ca20394702d"
    "e1b1e59f328d8b0acb4880d068219a581228c56d17b81d2652d4f4fc03ecfa296464786e"
    "40e1e918c1a0ba";

/* messages.json entry: ratchet_tree (173 bytes) */
static const char SAMPLE_RATCHET_TREE[] =
    "40ab010120d64aa6e8d92e72e40f5ee1e4530c5f15e8b1088fdb27191807ea682dce8722"
    "232038a5e7481e20afe7e500cb3065a67ebe9c2c3ecd537d4479309159fe2215c4b50001"
    "05416c696365020001020001000002000101000000006408842400000000647750340040"
    "409126d4860e4813c5cfddc8943406bcf5a6052ee28f48e41d1feebdd6f833cfc9cffcb3"
    "d25cb6306060f86273abce10b21d73c8b48f1868ca0d7311507899a700";

/* messages.json entry: group_secrets (136 bytes) */
static const char SAMPLE_GROUP_SECRETS[] =
    "202eb97ae1eb1dc7d2edc7abedc1806d51586fd809158efd35750ec0bba07597bb01208e"
    "8d7b33c44685790983f63d6369e27ecc736e5d2dd01d3c0cabef2c024d7bee40430120e3"
    "d4395d880476e1e06489bf690796b79a773ed975fc9af065c0c6d06560346d208c09533a"
    "dd638383daea1225c51ae1b7963eb7ee94a006b1af72655d8c093785";

/* messages.json entry: commit (257 bytes) */
static const char SAMPLE_COMMIT[] =
    "220220667a257d4ee521993fefc37ec3b43c8dd5572503134330219943cfcfc1a5a95201"
    "207098e821eef3e503ce5f2a54bfce94cf78b1aac590be0fe685e8dcbc7696d4452038a5"
    "e7481e20afe7e500cb3065a67ebe9c2c3ecd537d4479309159fe2215c4b5000105416c69"
    "6365020001020001000002000103202e6efd75b8b34836db7d525c7eeb65dcc11a918f21"
    "b5a9724ba63de99ef3b1820040404833e2b7ce5740d84e06dfb6e9bb8c2fa3cec86baf43"
    "b0ed6459e9e4910d6fcd1dda761fb4e43d2a3c70fcf045f95ee86dc7bad9078501c774c0"
    "f3cf275d170f22209ee6d8a7d342c383b16379beb6b4f7d3ce871973b1a3cee77f190fe1"
    "1fbc394b00";

/* messages.json entry: re_init_proposal (200 bytes) */
static const char SAMPLE_REINIT[] =
    "1057f89bad9b38b906d15100f720422e900001000140b1000240ad40ab010120d64aa6e8"
    "d92e72e40f5ee1e4530c5f15e8b1088fdb27191807ea682dce8722232038a5e7481e20af"
    "e7e500cb3065a67ebe9c2c3ecd537d4479309159fe2215c4b5000105416c696365020001"
    "020001000002000101000000006408842400000000647750340040409126d4860e4813c5"
    "cfddc8943406bcf5a6052ee28f48e41d1feebdd6f833cfc9cffcb3d25cb6306060f86273"
    "abce10b21d73c8b48f1868ca0d7311507899a700";

/* messages.json entry: pre_shared_key_proposal (67 bytes) */
static const char SAMPLE_PSK[] =
    "01206abe22e1c5874f6e362918f2aa9a177f68160fe18a66edefc390ba9a5a8dfa0e204b"
    "9f39b63b44d92b57f7152036e334386f15622a02ec07d5dd8abdbd4912da7a";

/* ------------------------------------------------------------ helpers */

/* Decodes in as one object of a type, re-encodes it into out. */
typedef int (*roundtrip_fn)(mls_bytes in, mls_buf *out);

#define RT(T)                                                                  \
    static int rt_##T(mls_bytes in, mls_buf *out)                              \
    {                                                                          \
        mls_##T x;                                                             \
        int err = mls_##T##_decode_bytes(in, &x);                              \
        if (err)                                                               \
            return err;                                                        \
        err = mls_##T##_encode(&x, out);                                       \
        mls_##T##_clear(&x);                                                   \
        return err;                                                            \
    }
RT(message)
RT(ratchet_tree)
RT(group_secrets)
RT(commit)
RT(reinit)
RT(pre_shared_key)
RT(proposal)
RT(credential)
RT(extension_list)
RT(capabilities)
RT(parent_node)
RT(leaf_node)
RT(update_path)
RT(framed_content)
RT(authenticated_content)
RT(psk_id)
RT(sender_data)
RT(welcome)
RT(group_info)
RT(key_package)
RT(external_senders)
#undef RT

struct sample {
    const char *name;
    const char *hex;
    roundtrip_fn fn;
};

static const struct sample samples[] = {
    {"mls_key_package", SAMPLE_MLS_KEY_PACKAGE, rt_message},
    {"mls_welcome", SAMPLE_MLS_WELCOME, rt_message},
    {"mls_group_info", SAMPLE_MLS_GROUP_INFO, rt_message},
    {"public_message_application", SAMPLE_PUBLIC_APPLICATION, rt_message},
    {"public_message_proposal", SAMPLE_PUBLIC_PROPOSAL, rt_message},
    {"public_message_commit", SAMPLE_PUBLIC_COMMIT, rt_message},
    {"private_message", SAMPLE_PRIVATE_MESSAGE, rt_message},
    {"ratchet_tree", SAMPLE_RATCHET_TREE, rt_ratchet_tree},
    {"group_secrets", SAMPLE_GROUP_SECRETS, rt_group_secrets},
    {"commit", SAMPLE_COMMIT, rt_commit},
    {"re_init_proposal", SAMPLE_REINIT, rt_reinit},
    {"pre_shared_key_proposal", SAMPLE_PSK, rt_pre_shared_key},
};
#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

/* 1 if fn rejects in, or accepts it and re-encodes exactly in. */
static int rejects_or_canonical(roundtrip_fn fn, const uint8_t *p, size_t n)
{
    mls_buf w;
    mls_buf_init(&w);
    int err = fn(mls_bytes_of(p, n), &w);
    int ok = err != MLS_OK || (w.n == n && (n == 0 || memcmp(w.p, p, n) == 0));
    if (!ok)
        fprintf(stderr, "accepted %zu bytes that re-encode to %zu different bytes\n", n, w.n);
    mls_buf_clear(&w);
    return ok;
}

static int rt_hex(roundtrip_fn fn, const char *hex)
{
    unsigned char *p;
    size_t n = test_unhex(hex, &p);
    mls_buf w;
    mls_buf_init(&w);
    int err = fn(mls_bytes_of(p, n), &w);
    if (!err && (w.n != n || (n && memcmp(w.p, p, n) != 0)))
        err = -1;
    mls_buf_clear(&w);
    free(p);
    return err;
}

static int all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* Deterministic generator for the random tests. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* ------------------------------------------------------------ samples */

static void test_samples_roundtrip_and_truncation(void)
{
    for (size_t i = 0; i < N_SAMPLES; i++) {
        unsigned char *p;
        size_t n = test_unhex(samples[i].hex, &p);
        int err = rt_hex(samples[i].fn, samples[i].hex);
        if (err)
            fprintf(stderr, "sample %s: %d\n", samples[i].name, err);
        CHECK(err == MLS_OK);
        for (size_t len = 0; len < n; len++) {
            mls_buf w;
            mls_buf_init(&w);
            CHECK(samples[i].fn(mls_bytes_of(p, len), &w) != MLS_OK);
            mls_buf_clear(&w);
        }
        /* one trailing byte is refused as such */
        unsigned char *q = malloc(n + 1);
        memcpy(q, p, n);
        q[n] = 0;
        mls_buf w;
        mls_buf_init(&w);
        CHECK_ERR(samples[i].fn(mls_bytes_of(q, n + 1), &w), MLS_ERR_TRAILING);
        mls_buf_clear(&w);
        free(q);
        free(p);
    }
}

static void test_samples_mutated(void)
{
    static const uint8_t flips[] = {0x01, 0x02, 0x40, 0x80, 0xff};
    for (size_t i = 0; i < N_SAMPLES; i++) {
        unsigned char *p;
        size_t n = test_unhex(samples[i].hex, &p);
        for (size_t pos = 0; pos < n; pos++) {
            for (size_t f = 0; f < sizeof(flips); f++) {
                p[pos] ^= flips[f];
                CHECK(rejects_or_canonical(samples[i].fn, p, n));
                p[pos] ^= flips[f];
            }
        }
        free(p);
    }
}

static void test_random_inputs(void)
{
    static const roundtrip_fn fns[] = {
        rt_message,  rt_ratchet_tree, rt_group_secrets, rt_commit,    rt_proposal,
        rt_credential, rt_extension_list, rt_capabilities, rt_parent_node, rt_leaf_node,
        rt_update_path, rt_framed_content, rt_authenticated_content, rt_psk_id,
        rt_sender_data, rt_welcome, rt_group_info, rt_key_package};
    uint8_t buf[96];
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = rng() % sizeof(buf);
        for (size_t j = 0; j < n; j++) {
            /* Small bytes make short, well-formed lengths likely, so the
             * decoders get past the first field more often. */
            uint32_t x = rng();
            buf[j] = (uint8_t)(x & 0x100 ? x % 6 : x);
        }
        /* Half of the MLSMessages start with a valid header. */
        if (iter % 2 && n >= 4) {
            buf[0] = 0;
            buf[1] = 1;
            buf[2] = 0;
            buf[3] = (uint8_t)(1 + rng() % 5);
        }
        for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++)
            CHECK(rejects_or_canonical(fns[f], buf, n));
    }
}

/* ------------------------------------------------------------ strictness */

static void test_message_envelope(void)
{
    /* version 2 is a layout we do not know; wire formats 0 and 6 do not
     * exist (RFC 9420 §6) */
    CHECK_ERR(rt_hex(rt_message, "00020005"), MLS_ERR_UNSUPPORTED);
    CHECK_ERR(rt_hex(rt_message, "00010000"), MLS_ERR_MALFORMED);
    CHECK_ERR(rt_hex(rt_message, "00010006"), MLS_ERR_MALFORMED);
    CHECK_ERR(rt_hex(rt_message, "0001"), MLS_ERR_MALFORMED);
    CHECK_ERR(rt_hex(rt_message, ""), MLS_ERR_MALFORMED);

    /* wire format and content type of the samples */
    unsigned char *p;
    size_t n = test_unhex(SAMPLE_PUBLIC_APPLICATION, &p);
    mls_message m;
    CHECK_OK(mls_message_decode_bytes(mls_bytes_of(p, n), &m));
    CHECK(m.version == MLS_VERSION_MLS10 && m.wire_format == MLS_WIRE_PUBLIC_MESSAGE);
    CHECK(m.public_message.content.content_type == MLS_CONTENT_APPLICATION);
    CHECK(m.public_message.content.sender.type == MLS_SENDER_MEMBER);
    CHECK(m.public_message.membership_tag.n > 0);

    /* sender type 5 is malformed: find the sender byte and change it */
    size_t off = 4 + mls_varint_size(m.public_message.content.group_id.n) +
                 m.public_message.content.group_id.n + 8;
    CHECK(p[off] == MLS_SENDER_MEMBER);
    p[off] = 5;
    mls_message_clear(&m);
    CHECK_ERR(mls_message_decode_bytes(mls_bytes_of(p, n), &m), MLS_ERR_MALFORMED);
    CHECK(all_zero(&m, sizeof(m)));
    p[off] = 0;
    CHECK_ERR(mls_message_decode_bytes(mls_bytes_of(p, n), &m), MLS_ERR_MALFORMED);
    mls_message_clear(&m);
    mls_message_clear(&m); /* twice is safe */
    free(p);
}

static void test_error_leaves_output_zero_and_reader_rewound(void)
{
    unsigned char *p;
    size_t n = test_unhex(SAMPLE_MLS_KEY_PACKAGE, &p);
    mls_reader r;
    mls_key_package kp;

    /* skip the MLSMessage header; cut the last byte of the signature */
    mls_reader_init(&r, p + 4, n - 5);
    memset(&kp, 0xa5, sizeof(kp));
    CHECK_ERR(mls_key_package_decode(&r, &kp), MLS_ERR_MALFORMED);
    CHECK(r.off == 0);
    CHECK(all_zero(&kp, sizeof(kp)));
    mls_key_package_clear(&kp);

    /* a whole one, read from a reader that has more after it */
    mls_reader_init(&r, p + 4, n - 4);
    CHECK_OK(mls_key_package_decode(&r, &kp));
    CHECK_OK(mls_reader_done(&r));
    CHECK(kp.version == MLS_VERSION_MLS10);
    CHECK(kp.leaf_node.source == MLS_LEAF_SOURCE_KEY_PACKAGE);
    CHECK(kp.leaf_node.lifetime.not_after >= kp.leaf_node.lifetime.not_before);
    /* decoded data is owned: it survives the input */
    memset(p, 0, n);
    mls_buf w;
    mls_buf_init(&w);
    CHECK_OK(mls_key_package_encode(&kp, &w));
    CHECK(w.n == n - 4 && !all_zero(w.p, w.n));
    mls_buf_clear(&w);
    mls_key_package_clear(&kp);
    CHECK(all_zero(&kp, sizeof(kp)));
    mls_key_package_clear(&kp);
    free(p);
}

static void test_credentials(void)
{
    mls_credential c;
    unsigned char *p;
    size_t n;

    CHECK_OK(rt_hex(rt_credential, "0001026869"));           /* basic "hi" */
    CHECK_OK(rt_hex(rt_credential, "00010000") == MLS_ERR_TRAILING ? 0 : -1);
    CHECK_OK(rt_hex(rt_credential, "000100"));               /* empty identity */
    CHECK_OK(rt_hex(rt_credential, "00020602aabb02ccdd"));   /* x509, 2 certs */
    CHECK_OK(rt_hex(rt_credential, "000200"));               /* x509, no cert */
    /* a certificate overrunning the chain */
    CHECK_ERR(rt_hex(rt_credential, "00020502aabb03ccdd"), MLS_ERR_MALFORMED);
    /* chain shorter than its last certificate claims */
    CHECK_ERR(rt_hex(rt_credential, "00020602aabb02cc"), MLS_ERR_MALFORMED);
    /* a bad varint inside the chain */
    CHECK_ERR(rt_hex(rt_credential, "00020402aabbc0"), MLS_ERR_MALFORMED);
    /* a third, empty certificate is fine */
    CHECK_OK(rt_hex(rt_credential, "00020702aabb02ccdd00"));

    n = test_unhex("00020602aabb02ccdd", &p);
    CHECK_OK(mls_credential_decode_bytes(mls_bytes_of(p, n), &c));
    CHECK(c.type == MLS_CREDENTIAL_X509 && c.n_certs == 2);
    CHECK(c.certs[1].n == 2 && c.certs[1].p[0] == 0xcc);
    mls_credential copy;
    CHECK_OK(mls_credential_copy(&copy, &c));
    CHECK(copy.n_certs == 2 && copy.certs[0].p != c.certs[0].p);
    mls_credential_clear(&copy);
    mls_credential_clear(&c);
    free(p);

    /* an unknown credential type is carried as opaque<V> and re-encoded */
    n = test_unhex("0abc03010203", &p);
    CHECK_OK(mls_credential_decode_bytes(mls_bytes_of(p, n), &c));
    CHECK(c.type == 0x0abc && c.opaque_body.n == 3 && c.opaque_body.p[2] == 3);
    mls_credential_clear(&c);
    free(p);
    CHECK_OK(rt_hex(rt_credential, "0abc03010203"));
}

static void test_extensions(void)
{
    mls_extension_list l;
    unsigned char *p;
    size_t n;

    /* application_id "ab", a GREASE type, an unknown type with empty data */
    n = test_unhex("0c" "0001026162" "0a0a0100" "f00000", &p);
    CHECK_OK(mls_extension_list_decode_bytes(mls_bytes_of(p, n), &l));
    CHECK(l.n == 3);
    CHECK(mls_extension_list_find(&l, 0x0a0a) == &l.v[1]);
    CHECK(mls_extension_list_find(&l, MLS_EXT_RATCHET_TREE) == NULL);
    CHECK(mls_extension_list_find(&l, 0xf000)->data.n == 0);
    CHECK_OK(mls_extension_list_check_unique(&l));
    l.v[2].type = MLS_EXT_APPLICATION_ID;
    CHECK_ERR(mls_extension_list_check_unique(&l), MLS_ERR_INVALID);
    mls_extension_list_clear(&l);
    mls_extension_list_clear(&l);
    free(p);
    CHECK_OK(rt_hex(rt_extension_list, "0c" "0001026162" "0a0a0100" "f00000"));
    CHECK_OK(rt_hex(rt_extension_list, "00"));
    /* an extension cut inside the list */
    CHECK_ERR(rt_hex(rt_extension_list, "03000102"), MLS_ERR_MALFORMED);
    CHECK_ERR(rt_hex(rt_extension_list, "02000102"), MLS_ERR_MALFORMED);

    /* bodies of the RFC's extensions */
    mls_required_capabilities rc;
    n = test_unhex("0400030004" "00" "020001", &p);
    CHECK_OK(mls_required_capabilities_decode_bytes(mls_bytes_of(p, n), &rc));
    CHECK(rc.extension_types.n == 2 && mls_u16_list_contains(&rc.extension_types, 4));
    CHECK(!mls_u16_list_contains(&rc.proposal_types, 4));
    CHECK(rc.credential_types.n == 1);
    mls_required_capabilities_clear(&rc);
    free(p);
    mls_external_senders es;
    /* the list is 9 bytes: a 10th byte inside it starts a sender that is
     * cut short, one after it is trailing */
    CHECK_ERR(rt_hex(rt_external_senders, "0a" "02aabb" "0001036162ff" "00"), MLS_ERR_MALFORMED);
    CHECK_ERR(rt_hex(rt_external_senders, "09" "02aabb" "0001036162ff" "00"), MLS_ERR_TRAILING);
    n = test_unhex("09" "02aabb" "0001036162ff", &p);
    CHECK_OK(mls_external_senders_decode_bytes(mls_bytes_of(p, n), &es));
    CHECK(es.n == 1 && es.v[0].credential.type == MLS_CREDENTIAL_BASIC);
    CHECK(es.v[0].credential.identity.n == 3);
    mls_external_senders_clear(&es);
    free(p);
}

static void test_u16_u32_lists(void)
{
    /* Capabilities: five uint16 lists; odd byte counts are malformed */
    CHECK_OK(rt_hex(rt_capabilities, "020001" "020001" "00" "00" "020001"));
    CHECK_ERR(rt_hex(rt_capabilities, "03000100" "020001" "00" "00" "020001"),
              MLS_ERR_MALFORMED);
    CHECK_ERR(rt_hex(rt_capabilities, "020001" "020001" "00" "00"), MLS_ERR_MALFORMED);
    /* ParentNode unmerged_leaves is a uint32 list */
    CHECK_OK(rt_hex(rt_parent_node, "02aabb" "00" "080000000100000003"));
    CHECK_ERR(rt_hex(rt_parent_node, "02aabb" "00" "050000000100"), MLS_ERR_MALFORMED);
    mls_parent_node pn;
    unsigned char *p;
    size_t n = test_unhex("02aabb" "00" "080000000100000003", &p);
    CHECK_OK(mls_parent_node_decode_bytes(mls_bytes_of(p, n), &pn));
    CHECK(pn.n_unmerged_leaves == 2 && pn.unmerged_leaves[1] == 3);
    mls_parent_node_clear(&pn);
    free(p);
}

static void test_ratchet_tree_and_optionals(void)
{
    CHECK_OK(rt_hex(rt_ratchet_tree, "00"));
    CHECK_OK(rt_hex(rt_ratchet_tree, "0100"));
    CHECK_OK(rt_hex(rt_ratchet_tree, "03000000"));
    /* optional presence byte 2 */
    CHECK_ERR(rt_hex(rt_ratchet_tree, "0102"), MLS_ERR_MALFORMED);
    /* node type 0 and 3 do not exist */
    CHECK_ERR(rt_hex(rt_ratchet_tree, "020100"), MLS_ERR_MALFORMED);
    CHECK_ERR(rt_hex(rt_ratchet_tree, "020103"), MLS_ERR_MALFORMED);
    /* a parent node: present, type parent, key, parent_hash, no leaves */
    CHECK_OK(rt_hex(rt_ratchet_tree, "07" "00" "0102" "01aa" "00" "00"));

    mls_ratchet_tree t;
    unsigned char *p;
    size_t n = test_unhex(SAMPLE_RATCHET_TREE, &p);
    CHECK_OK(mls_ratchet_tree_decode_bytes(mls_bytes_of(p, n), &t));
    CHECK(t.n >= 1 && t.nodes[0].type == MLS_NODE_LEAF);
    for (size_t i = 0; i < t.n; i++)
        CHECK(t.nodes[i].type == MLS_NODE_BLANK ||
              t.nodes[i].type == (i % 2 ? MLS_NODE_PARENT : MLS_NODE_LEAF));
    mls_ratchet_tree copy;
    CHECK_OK(mls_ratchet_tree_copy(&copy, &t));
    CHECK(copy.n == t.n);
    mls_ratchet_tree_clear(&copy);
    mls_ratchet_tree_clear(&t);
    mls_ratchet_tree_clear(&t);
    free(p);

    /* Commit: empty proposal list, optional path byte */
    CHECK_OK(rt_hex(rt_commit, "0000"));
    CHECK_ERR(rt_hex(rt_commit, "0002"), MLS_ERR_MALFORMED);
    CHECK_ERR(rt_hex(rt_commit, "0001"), MLS_ERR_MALFORMED);
    /* ProposalOrRef: reference; type 3 is malformed */
    CHECK_OK(rt_hex(rt_commit, "04" "0202aabb" "00"));
    CHECK_ERR(rt_hex(rt_commit, "04" "0302aabb" "00"), MLS_ERR_MALFORMED);
    /* by value: Remove(7) */
    CHECK_OK(rt_hex(rt_commit, "07" "01000300000007" "00"));
}

static void test_proposals(void)
{
    CHECK_OK(rt_hex(rt_proposal, "000300000007"));
    CHECK_OK(rt_hex(rt_proposal, "000603aabbcc"));       /* ExternalInit */
    CHECK_OK(rt_hex(rt_proposal, "000700"));             /* GCE, empty */
    /* PSK external and resumption */
    CHECK_OK(rt_hex(rt_proposal, "0004" "01" "02abcd" "01ff"));
    CHECK_OK(rt_hex(rt_proposal, "0004" "02" "03" "01aa" "0000000000000009" "00"));
    CHECK_ERR(rt_hex(rt_proposal, "0004" "03" "02abcd" "01ff"), MLS_ERR_MALFORMED);
    CHECK_ERR(rt_hex(rt_proposal, "0004" "00" "02abcd" "01ff"), MLS_ERR_MALFORMED);
    /* ReInit */
    CHECK_OK(rt_hex(rt_proposal, "0005" "02aabb" "0001" "0003" "00"));
    /* types outside the RFC have no known layout */
    CHECK_ERR(rt_hex(rt_proposal, "000800"), MLS_ERR_UNSUPPORTED);
    CHECK_ERR(rt_hex(rt_proposal, "0000"), MLS_ERR_UNSUPPORTED);
    CHECK_ERR(rt_hex(rt_proposal, "0a0a00"), MLS_ERR_UNSUPPORTED);
    CHECK_ERR(rt_hex(rt_proposal, "00030000"), MLS_ERR_MALFORMED);

    mls_proposal pr;
    unsigned char *p;
    size_t n = test_unhex("0004" "02" "03" "01aa" "0000000000000009" "00", &p);
    CHECK_OK(mls_proposal_decode_bytes(mls_bytes_of(p, n), &pr));
    CHECK(pr.type == MLS_PROPOSAL_PSK && pr.psk.psk.type == MLS_PSK_RESUMPTION);
    CHECK(pr.psk.psk.usage == 3 && pr.psk.psk.psk_epoch == 9);
    mls_buf w;
    mls_buf_init(&w);
    CHECK_OK(mls_psk_label_encode(&pr.psk.psk, 1, 2, &w));
    CHECK(w.n == n - 2 + 4 && memcmp(w.p, p + 2, n - 2) == 0);
    CHECK(w.p[w.n - 1] == 2 && w.p[w.n - 3] == 1);
    mls_buf_clear(&w);
    mls_proposal_clear(&pr);
    free(p);
}

/* group_id "aa", epoch 1, sender, no authenticated data, proposal Remove(5) */
#define FC_HEAD "01aa" "0000000000000001"
#define FC_BODY "00" "02" "000300000005"

static void test_public_message_layouts(void)
{
    /* external sender: no membership_tag */
    CHECK_OK(rt_hex(rt_message, "00010001" FC_HEAD "0200000001" FC_BODY "01ee"));
    CHECK_ERR(rt_hex(rt_message, "00010001" FC_HEAD "0200000001" FC_BODY "01ee" "01ff"),
              MLS_ERR_TRAILING);
    /* new_member_proposal: no index, no tag */
    CHECK_OK(rt_hex(rt_message, "00010001" FC_HEAD "03" FC_BODY "01ee"));
    /* member: the tag is required */
    CHECK_OK(rt_hex(rt_message, "00010001" FC_HEAD "0100000001" FC_BODY "01ee" "01ff"));
    CHECK_ERR(rt_hex(rt_message, "00010001" FC_HEAD "0100000001" FC_BODY "01ee"),
              MLS_ERR_MALFORMED);
    /* commit: confirmation_tag after the signature */
    CHECK_OK(rt_hex(rt_message, "00010001" FC_HEAD "04" "00" "03" "0000" "01ee" "01cc"));
    CHECK_ERR(rt_hex(rt_message, "00010001" FC_HEAD "04" "00" "03" "0000" "01ee"),
              MLS_ERR_MALFORMED);
    /* content type 4 */
    CHECK_ERR(rt_hex(rt_message, "00010001" FC_HEAD "03" "00" "04" "00" "01ee"),
              MLS_ERR_MALFORMED);
    /* AuthenticatedContent exists for public and private wire formats */
    CHECK_OK(rt_hex(rt_authenticated_content, "0001" FC_HEAD "03" FC_BODY "01ee"));
    CHECK_OK(rt_hex(rt_authenticated_content, "0002" FC_HEAD "0100000000" FC_BODY "01ee"));
    CHECK_ERR(rt_hex(rt_authenticated_content, "0003" FC_HEAD "03" FC_BODY "01ee"),
              MLS_ERR_MALFORMED);
}

static void test_private_message_content(void)
{
    mls_private_message_content c;
    mls_reader r;
    mls_buf w;
    unsigned char *p;
    size_t n;

    /* application "abc", signature aabb, 3 bytes of padding */
    n = test_unhex("03616263" "02aabb" "000000", &p);
    mls_reader_init(&r, p, n);
    CHECK_OK(mls_private_message_content_decode(&r, MLS_CONTENT_APPLICATION, &c));
    CHECK_OK(mls_reader_done(&r));
    CHECK(c.padding == 3 && c.application_data.n == 3 && c.auth.signature.n == 2);
    mls_buf_init(&w);
    CHECK_OK(mls_private_message_content_encode(&c, &w));
    CHECK(w.n == n && memcmp(w.p, p, n) == 0);
    mls_buf_clear(&w);
    mls_private_message_content_clear(&c);
    /* RFC 9420 §6.3.1: non-zero padding is malformed */
    p[n - 2] = 1;
    mls_reader_init(&r, p, n);
    CHECK_ERR(mls_private_message_content_decode(&r, MLS_CONTENT_APPLICATION, &c),
              MLS_ERR_MALFORMED);
    CHECK(r.off == 0 && all_zero(&c, sizeof(c)));
    /* an unknown content type is the caller's error */
    CHECK_ERR(mls_private_message_content_decode(&r, 7, &c), MLS_ERR_ARG);
    free(p);

    /* commit: empty commit, signature, confirmation tag, no padding */
    n = test_unhex("0000" "01ee" "01cc", &p);
    mls_reader_init(&r, p, n);
    CHECK_OK(mls_private_message_content_decode(&r, MLS_CONTENT_COMMIT, &c));
    CHECK(c.padding == 0 && c.auth.confirmation_tag.n == 1);
    mls_private_message_content_clear(&c);
    /* read as application content: data "", signature "", and then
     * 01 ee 01 cc would be padding, which is not all zero */
    mls_reader_init(&r, p, n);
    CHECK_ERR(mls_private_message_content_decode(&r, MLS_CONTENT_APPLICATION, &c),
              MLS_ERR_MALFORMED);
    free(p);

    /* large padding encodes as zeros */
    memset(&c, 0, sizeof(c));
    c.content_type = MLS_CONTENT_APPLICATION;
    c.padding = 1000;
    mls_buf_init(&w);
    CHECK_OK(mls_private_message_content_encode(&c, &w));
    CHECK(w.n == 2 + 1000 && all_zero(w.p, w.n));
    mls_reader_init(&r, w.p, w.n);
    CHECK_OK(mls_private_message_content_decode(&r, MLS_CONTENT_APPLICATION, &c));
    CHECK(c.padding == 1000);
    mls_private_message_content_clear(&c);
    mls_buf_clear(&w);

    /* SenderData */
    CHECK_OK(rt_hex(rt_sender_data, "00000003" "00000007" "a1b2c3d4"));
    CHECK_ERR(rt_hex(rt_sender_data, "00000003" "00000007" "a1b2c3"), MLS_ERR_MALFORMED);
}

/* ------------------------------------------------------------ signed encodings */

static void test_tbs_encodings(void)
{
    unsigned char *p;
    size_t n = test_unhex(SAMPLE_MLS_KEY_PACKAGE, &p);
    mls_message m;
    mls_buf w, full;

    CHECK_OK(mls_message_decode_bytes(mls_bytes_of(p, n), &m));
    mls_key_package *kp = &m.key_package;
    mls_buf_init(&w);
    mls_buf_init(&full);

    /* KeyPackageTBS is the KeyPackage without its signature */
    CHECK_OK(mls_key_package_tbs_encode(kp, &w));
    size_t sig = mls_varint_size(kp->signature.n) + kp->signature.n;
    CHECK(w.n == n - 4 - sig && memcmp(w.p, p + 4, w.n) == 0);

    /* LeafNodeTBS of a key_package leaf: the leaf without its signature */
    mls_buf_reset(&w);
    CHECK_OK(mls_leaf_node_encode(&kp->leaf_node, &full));
    CHECK_OK(mls_leaf_node_tbs_encode(&kp->leaf_node, mls_bytes_of((const uint8_t *)"gid", 3),
                                      9, &w));
    sig = mls_varint_size(kp->leaf_node.signature.n) + kp->leaf_node.signature.n;
    CHECK(w.n == full.n - sig && memcmp(w.p, full.p, w.n) == 0);

    /* an update leaf adds group_id<V> and leaf_index */
    mls_leaf_node ln;
    CHECK_OK(mls_leaf_node_copy(&ln, &kp->leaf_node));
    ln.source = MLS_LEAF_SOURCE_UPDATE;
    mls_buf_reset(&w);
    CHECK_OK(mls_leaf_node_tbs_encode(&ln, mls_bytes_of((const uint8_t *)"gid", 3), 9, &w));
    /* body shrinks by the lifetime (16 bytes) and grows by 1+3+4 */
    CHECK(w.n == full.n - sig - 16 + 8);
    CHECK(memcmp(w.p + w.n - 8, "\x03gid\x00\x00\x00\x09", 8) == 0);
    /* a leaf with an invalid source cannot be encoded */
    ln.source = 0;
    mls_buf_reset(&w);
    CHECK_ERR(mls_leaf_node_encode(&ln, &w), MLS_ERR_ARG);
    mls_leaf_node_clear(&ln);
    mls_message_clear(&m);
    free(p);

    /* GroupInfoTBS is the GroupInfo without its signature */
    n = test_unhex(SAMPLE_MLS_GROUP_INFO, &p);
    CHECK_OK(mls_message_decode_bytes(mls_bytes_of(p, n), &m));
    mls_buf_reset(&w);
    CHECK_OK(mls_group_info_tbs_encode(&m.group_info, &w));
    sig = mls_varint_size(m.group_info.signature.n) + m.group_info.signature.n;
    CHECK(w.n == n - 4 - sig && memcmp(w.p, p + 4, w.n) == 0);
    mls_group_info gi;
    CHECK_OK(mls_group_info_copy(&gi, &m.group_info));
    mls_group_info_clear(&gi);
    mls_message_clear(&m);
    free(p);

    /* FramedContentTBS, AuthenticatedContentTBM, transcript inputs */
    n = test_unhex(SAMPLE_PUBLIC_COMMIT, &p);
    CHECK_OK(mls_message_decode_bytes(mls_bytes_of(p, n), &m));
    mls_public_message *pm = &m.public_message;
    CHECK(pm->content.content_type == MLS_CONTENT_COMMIT);
    mls_buf content;
    mls_buf_init(&content);
    CHECK_OK(mls_framed_content_encode(&pm->content, &content));
    CHECK(memcmp(content.p, p + 4, content.n) == 0);
    static const uint8_t ctx[] = {0xc0, 0xc1, 0xc2};
    mls_buf_reset(&w);
    if (pm->content.sender.type == MLS_SENDER_MEMBER) {
        CHECK_ERR(mls_framed_content_tbs_encode(MLS_WIRE_PUBLIC_MESSAGE, &pm->content,
                                                mls_bytes_of(NULL, 0), &w),
                  MLS_ERR_ARG);
        mls_buf_reset(&w);
        CHECK_OK(mls_framed_content_tbs_encode(MLS_WIRE_PUBLIC_MESSAGE, &pm->content,
                                               mls_bytes_of(ctx, 3), &w));
        CHECK(w.n == 4 + content.n + 3);
        CHECK(memcmp(w.p, "\x00\x01\x00\x01", 4) == 0);
        CHECK(memcmp(w.p + 4, content.p, content.n) == 0);
        CHECK(memcmp(w.p + 4 + content.n, ctx, 3) == 0);
    }
    /* TBM = TBS || auth; and the PublicMessage is content || auth || tag */
    mls_buf_reset(&w);
    CHECK_OK(mls_authenticated_content_tbm_encode(&pm->content, &pm->auth, mls_bytes_of(ctx, 3),
                                                  &w));
    size_t auth_n = n - 4 - content.n - mls_varint_size(pm->membership_tag.n) -
                    pm->membership_tag.n;
    CHECK(w.n == 4 + content.n + 3 + auth_n);
    CHECK(memcmp(w.p + w.n - auth_n, p + 4 + content.n, auth_n) == 0);
    /* ConfirmedTranscriptHashInput = wire_format || content || signature<V> */
    mls_buf_reset(&w);
    CHECK_OK(mls_confirmed_transcript_hash_input_encode(MLS_WIRE_PUBLIC_MESSAGE, &pm->content,
                                                        mls_buf_view(&pm->auth.signature), &w));
    sig = mls_varint_size(pm->auth.signature.n) + pm->auth.signature.n;
    CHECK(w.n == 2 + content.n + sig);
    CHECK(memcmp(w.p + 2, p + 4, content.n + sig) == 0);
    mls_buf_reset(&w);
    CHECK_OK(mls_interim_transcript_hash_input_encode(mls_buf_view(&pm->auth.confirmation_tag),
                                                      &w));
    CHECK(w.n == 1 + pm->auth.confirmation_tag.n);
    mls_buf_clear(&content);
    mls_message_clear(&m);
    free(p);

    /* only commits have a confirmed transcript input */
    n = test_unhex(SAMPLE_PUBLIC_APPLICATION, &p);
    CHECK_OK(mls_message_decode_bytes(mls_bytes_of(p, n), &m));
    mls_buf_reset(&w);
    CHECK_ERR(mls_confirmed_transcript_hash_input_encode(
                  MLS_WIRE_PUBLIC_MESSAGE, &m.public_message.content, mls_bytes_of(NULL, 0), &w),
              MLS_ERR_ARG);
    mls_message_clear(&m);
    free(p);

    /* an external sender signs no GroupContext */
    n = test_unhex(FC_HEAD "0200000001" FC_BODY, &p);
    mls_framed_content fc;
    CHECK_OK(mls_framed_content_decode_bytes(mls_bytes_of(p, n), &fc));
    mls_buf_reset(&w);
    CHECK_OK(mls_framed_content_tbs_encode(MLS_WIRE_PUBLIC_MESSAGE, &fc, mls_bytes_of(NULL, 0),
                                           &w));
    CHECK(w.n == 4 + n && memcmp(w.p + 4, p, n) == 0);
    mls_framed_content_clear(&fc);
    free(p);

    /* AADs */
    mls_buf_reset(&w);
    CHECK_OK(mls_sender_data_aad_encode(mls_bytes_of((const uint8_t *)"g", 1), 2, 3, &w));
    CHECK(w.n == 11 && memcmp(w.p, "\x01g\0\0\0\0\0\0\0\x02\x03", 11) == 0);
    mls_buf_reset(&w);
    CHECK_OK(mls_private_content_aad_encode(mls_bytes_of((const uint8_t *)"g", 1), 2, 3,
                                            mls_bytes_of((const uint8_t *)"ad", 2), &w));
    CHECK(w.n == 14 && memcmp(w.p + 11, "\x02" "ad", 3) == 0);
    mls_buf_clear(&w);
    mls_buf_clear(&full);
}

static void test_group_secrets_and_welcome(void)
{
    unsigned char *p;
    size_t n = test_unhex(SAMPLE_GROUP_SECRETS, &p);
    mls_group_secrets gs, copy;

    CHECK_OK(mls_group_secrets_decode_bytes(mls_bytes_of(p, n), &gs));
    CHECK(gs.joiner_secret.n > 0);
    CHECK_OK(mls_group_secrets_copy(&copy, &gs));
    CHECK(copy.joiner_secret.n == gs.joiner_secret.n &&
          memcmp(copy.joiner_secret.p, gs.joiner_secret.p, gs.joiner_secret.n) == 0);
    CHECK(copy.has_path_secret == gs.has_path_secret && copy.n_psks == gs.n_psks);
    mls_group_secrets_clear(&copy);
    CHECK(all_zero(&copy, sizeof(copy)));
    mls_group_secrets_clear(&gs);
    mls_group_secrets_clear(&gs);
    free(p);
    /* joiner_secret, optional path_secret, psks */
    CHECK_OK(rt_hex(rt_group_secrets, "02aabb" "01" "01cc" "00"));
    CHECK_OK(rt_hex(rt_group_secrets, "02aabb" "00" "00"));
    CHECK_ERR(rt_hex(rt_group_secrets, "02aabb" "02" "01cc" "00"), MLS_ERR_MALFORMED);

    n = test_unhex(SAMPLE_MLS_WELCOME, &p);
    mls_message m;
    CHECK_OK(mls_message_decode_bytes(mls_bytes_of(p, n), &m));
    CHECK(m.wire_format == MLS_WIRE_WELCOME && m.welcome.n_secrets >= 1);
    CHECK(m.welcome.secrets[0].new_member.n > 0);
    mls_message copy_m;
    CHECK_OK(mls_message_copy(&copy_m, &m));
    mls_buf w;
    mls_buf_init(&w);
    CHECK_OK(mls_message_encode(&copy_m, &w));
    CHECK(w.n == n && memcmp(w.p, p, n) == 0);
    mls_buf_clear(&w);
    mls_message_clear(&copy_m);
    mls_message_clear(&m);
    free(p);
}

static void test_encode_rejects_bad_structs(void)
{
    mls_buf w;
    mls_message m;
    mls_sender s;
    mls_node node;
    mls_proposal pr;

    mls_buf_init(&w);
    memset(&m, 0, sizeof(m));
    CHECK_ERR(mls_message_encode(&m, &w), MLS_ERR_ARG);
    m.version = MLS_VERSION_MLS10;
    m.wire_format = 9;
    CHECK_ERR(mls_message_encode(&m, &w), MLS_ERR_ARG);
    mls_message dst;
    memset(&dst, 0xa5, sizeof(dst));
    CHECK_ERR(mls_message_copy(&dst, &m), MLS_ERR_ARG);
    CHECK(all_zero(&dst, sizeof(dst)));
    s.type = 9;
    s.index = 0;
    CHECK_ERR(mls_sender_encode(&s, &w), MLS_ERR_ARG);
    memset(&node, 0, sizeof(node));
    CHECK_ERR(mls_node_encode(&node, &w), MLS_ERR_ARG);
    memset(&pr, 0, sizeof(pr));
    pr.type = 0x0a0a;
    CHECK_ERR(mls_proposal_encode(&pr, &w), MLS_ERR_ARG);
    mls_buf_clear(&w);
}

int main(void)
{
    test_samples_roundtrip_and_truncation();
    test_samples_mutated();
    test_random_inputs();
    test_message_envelope();
    test_error_leaves_output_zero_and_reader_rewound();
    test_credentials();
    test_extensions();
    test_u16_u32_lists();
    test_ratchet_tree_and_optionals();
    test_proposals();
    test_public_message_layouts();
    test_private_message_content();
    test_tbs_encodings();
    test_group_secrets_and_welcome();
    test_encode_rejects_bad_structs();
    TEST_MAIN_END("test_messages");
}
