/*
 * Seed corpora of the fuzz harnesses (tests/fuzz/) from the official
 * vectors.  With MLS_FUZZ_CORPUS=DIR the runner hands every entry of every
 * file here, and the byte strings of the entry are written to
 * DIR/<harness>/<file>-<field>-<n>, in the input format of the harness:
 *
 *   fuzz_mls_message      an MLSMessage
 *   fuzz_key_package      a bare KeyPackage
 *   fuzz_welcome          selector (0 Welcome, 1 GroupInfo, 2 GroupSecrets)
 *                         then the bare structure
 *   fuzz_ratchet_tree     suite (u8), group_id length (u8), group_id, then
 *                         the ratchet_tree<V>
 *   fuzz_update_path      an UpdatePath
 *   fuzz_commit_proposal  selector (0 Commit, 1 Proposal) then the structure
 *   fuzz_private_content  content type (0: SenderData) then a
 *                         PrivateMessageContent (or SenderData)
 *   fuzz_server_request   mode (2 message header, 3 KeyPackage upload
 *                         check, 4 Welcome, 5 GroupInfo) then MLSMessage
 *                         bytes; the JSON modes are seeded by the harness
 *
 * The vectors' own checks are unaffected: this only reads the entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vec.h"

/* messages.json has 300 entries of random content: the first ones give
 * the fuzzer every structure already. */
#define MAX_ENTRIES_PER_FILE 40

static const uint8_t MLS_HEADER_KP[4] = {0, 1, 0, 5};
static const uint8_t MLS_HEADER_WELCOME[4] = {0, 1, 0, 3};
static const uint8_t MLS_HEADER_GROUP_INFO[4] = {0, 1, 0, 4};

static const char *corpus_dir;
static const char *cur_file;
static unsigned cur_index;

static void write_seed(const char *harness, const char *field, const uint8_t *prefix,
                       size_t prefix_len, mls_bytes data)
{
    static unsigned counter;
    char path[4096];
    FILE *fp;

    snprintf(path, sizeof path, "%s/%s/%s-%s-%u", corpus_dir, harness, cur_file, field,
             counter++);
    fp = fopen(path, "wb");
    if (!fp)
        return;
    if (prefix_len)
        fwrite(prefix, 1, prefix_len, fp);
    if (data.n)
        fwrite(data.p, 1, data.n, fp);
    fclose(fp);
}

/* The hex string obj[key] as bytes into buf; 0 if absent or not hex. */
static int get_hex(json_t *obj, const char *key, mls_buf *buf)
{
    json_t *v = json_object_get(obj, key);
    return v && json_is_string(v) && vec_hex_value(v, buf) == 0;
}

/* An MLSMessage: to fuzz_mls_message, and without its 4-byte header to
 * the harness of the bare structure it carries. */
static void seed_message(const char *field, mls_bytes m)
{
    static const uint8_t sel_welcome = 0, sel_group_info = 1;
    static const uint8_t srv_header = 2, srv_kp = 3, srv_welcome = 4, srv_gi = 5;
    mls_bytes body = mls_bytes_of(m.p + 4, m.n >= 4 ? m.n - 4 : 0);

    write_seed("fuzz_mls_message", field, NULL, 0, m);
    if (m.n < 4)
        return;
    if (memcmp(m.p, MLS_HEADER_KP, 4) == 0) {
        write_seed("fuzz_key_package", field, NULL, 0, body);
        write_seed("fuzz_server_request", field, &srv_kp, 1, m);
    } else if (memcmp(m.p, MLS_HEADER_WELCOME, 4) == 0) {
        write_seed("fuzz_welcome", field, &sel_welcome, 1, body);
        write_seed("fuzz_server_request", field, &srv_welcome, 1, m);
    } else if (memcmp(m.p, MLS_HEADER_GROUP_INFO, 4) == 0) {
        write_seed("fuzz_welcome", field, &sel_group_info, 1, body);
        write_seed("fuzz_server_request", field, &srv_gi, 1, m);
    } else {
        write_seed("fuzz_server_request", field, &srv_header, 1, m);
    }
}

static void seed_field_message(json_t *entry, const char *key)
{
    mls_buf b;
    mls_buf_init(&b);
    if (get_hex(entry, key, &b))
        seed_message(key, mls_buf_view(&b));
    mls_buf_clear(&b);
}

static void seed_field(json_t *entry, const char *key, const char *harness, const uint8_t *prefix,
                       size_t prefix_len)
{
    mls_buf b;
    mls_buf_init(&b);
    if (get_hex(entry, key, &b))
        write_seed(harness, key, prefix, prefix_len, mls_buf_view(&b));
    mls_buf_clear(&b);
}

/* A ratchet tree with the suite and group id the harness expects first. */
static void seed_tree(json_t *entry, const char *key, const char *gid_key)
{
    uint8_t prefix[2 + 255];
    size_t plen = 2;
    mls_buf gid;
    json_t *suite = json_object_get(entry, "cipher_suite");

    mls_buf_init(&gid);
    prefix[0] = json_is_integer(suite) ? (uint8_t)json_integer_value(suite) : 1;
    prefix[1] = 0;
    if (gid_key && get_hex(entry, gid_key, &gid) && gid.n <= 255) {
        prefix[1] = (uint8_t)gid.n;
        memcpy(prefix + 2, gid.p, gid.n);
        plen += gid.n;
    }
    seed_field(entry, key, "fuzz_ratchet_tree", prefix, plen);
    mls_buf_clear(&gid);
}

static void seed_messages_file(json_t *e)
{
    /* RFC 9420 §12.1 Proposal = proposal_type (u16) || body. */
    static const struct {
        const char *key;
        uint8_t type;
    } props[] = {
        {"add_proposal", 1},         {"update_proposal", 2},
        {"remove_proposal", 3},      {"pre_shared_key_proposal", 4},
        {"re_init_proposal", 5},     {"external_init_proposal", 6},
        {"group_context_extensions_proposal", 7},
    };
    static const uint8_t sel_commit = 0, sel_gs = 2;
    static const char *msgs[] = {"mls_welcome", "mls_group_info", "mls_key_package",
                                 "public_message_application", "public_message_proposal",
                                 "public_message_commit", "private_message"};

    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++)
        seed_field_message(e, msgs[i]);
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        uint8_t prefix[3] = {1, 0, props[i].type};
        seed_field(e, props[i].key, "fuzz_commit_proposal", prefix, 3);
    }
    seed_field(e, "commit", "fuzz_commit_proposal", &sel_commit, 1);
    seed_field(e, "group_secrets", "fuzz_welcome", &sel_gs, 1);
    seed_tree(e, "ratchet_tree", NULL);
}

/* PrivateMessageContent built from a raw proposal / commit / application
 * data of message-protection.json, with an arbitrary signature (and
 * confirmation tag) and a little padding. */
static void seed_private_content(json_t *e, const char *key, uint8_t content_type)
{
    mls_buf raw, pt;
    static const uint8_t zeros[64];
    int ok = 1;

    mls_buf_init(&raw);
    mls_buf_init(&pt);
    if (!get_hex(e, key, &raw))
        goto out;
    ok &= mls_buf_append(&pt, &content_type, 1) == 0;
    if (content_type == 1) {
        /* application_data<V>: a one-byte length when short */
        uint8_t len = (uint8_t)raw.n;
        ok &= raw.n < 64 && mls_buf_append(&pt, &len, 1) == 0;
    }
    ok &= mls_buf_append(&pt, raw.p, raw.n) == 0;
    /* signature<V> of 64 bytes: varint 0x40 0x40 */
    ok &= mls_buf_append(&pt, "\x40\x40", 2) == 0 && mls_buf_append(&pt, zeros, 64) == 0;
    if (content_type == 3)
        ok &= mls_buf_append(&pt, "\x20", 1) == 0 && mls_buf_append(&pt, zeros, 32) == 0;
    ok &= mls_buf_append(&pt, zeros, 7) == 0;
    if (ok)
        write_seed("fuzz_private_content", key, NULL, 0, mls_buf_view(&pt));
out:
    mls_buf_clear(&raw);
    mls_buf_clear(&pt);
}

static void seed_message_protection(json_t *e)
{
    static const uint8_t sel_commit = 0, sel_proposal = 1;
    static const char *msgs[] = {"proposal_pub", "proposal_priv", "commit_pub", "commit_priv",
                                 "application_priv"};
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++)
        seed_field_message(e, msgs[i]);
    seed_field(e, "proposal", "fuzz_commit_proposal", &sel_proposal, 1);
    seed_field(e, "commit", "fuzz_commit_proposal", &sel_commit, 1);
    seed_private_content(e, "application", 1);
    seed_private_content(e, "proposal", 2);
    seed_private_content(e, "commit", 3);
}

static void seed_passive(json_t *e)
{
    json_t *epochs = json_object_get(e, "epochs");
    seed_field_message(e, "key_package");
    seed_field_message(e, "welcome");
    seed_tree(e, "ratchet_tree", NULL);
    for (size_t i = 0; i < json_array_size(epochs); i++) {
        json_t *ep = json_array_get(epochs, i);
        json_t *props = json_object_get(ep, "proposals");
        mls_buf b;
        seed_field_message(ep, "commit");
        mls_buf_init(&b);
        for (size_t j = 0; j < json_array_size(props); j++)
            if (vec_hex_value(json_array_get(props, j), &b) == 0)
                seed_message("proposal", mls_buf_view(&b));
        mls_buf_clear(&b);
    }
}

void vec_fuzz_seeds(const char *file, json_t *entry)
{
    static const uint8_t sel_proposal = 1;

    corpus_dir = getenv("MLS_FUZZ_CORPUS");
    if (!corpus_dir)
        return;
    if (cur_file && strcmp(cur_file, file) == 0) {
        cur_index++;
    } else {
        cur_file = file;
        cur_index = 0;
    }
    if (cur_index >= MAX_ENTRIES_PER_FILE)
        return;
    if (strcmp(file, "messages") == 0) {
        seed_messages_file(entry);
    } else if (strcmp(file, "message-protection") == 0) {
        seed_message_protection(entry);
    } else if (strcmp(file, "welcome") == 0) {
        seed_field_message(entry, "welcome");
        seed_field_message(entry, "key_package");
    } else if (strncmp(file, "passive-client", 14) == 0) {
        seed_passive(entry);
    } else if (strcmp(file, "tree-validation") == 0) {
        seed_tree(entry, "tree", "group_id");
    } else if (strcmp(file, "tree-operations") == 0) {
        seed_tree(entry, "tree_before", NULL);
        seed_tree(entry, "tree_after", NULL);
        seed_field(entry, "proposal", "fuzz_commit_proposal", &sel_proposal, 1);
    } else if (strcmp(file, "treekem") == 0) {
        json_t *paths = json_object_get(entry, "update_paths");
        seed_tree(entry, "ratchet_tree", "group_id");
        for (size_t i = 0; i < json_array_size(paths); i++)
            seed_field(json_array_get(paths, i), "update_path", "fuzz_update_path", NULL, 0);
    }
}
