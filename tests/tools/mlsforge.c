/*
 * mlsforge: MLS objects crafted directly through libmls, for acceptance
 * tests that play a hostile member against the real server (issue 9,
 * tests/integration/test_governance.py).  Honest members are driven by
 * the same tool, so the tests can show that they keep agreeing.
 *
 * State lives in files (identities, KeyPackage bundles, group states);
 * MLS objects go in and out as base64 on the command line / stdout.  A
 * commit is never applied to its state file: its next state is written
 * to <state>.next, which the caller moves over <state> once the Delivery
 * Service accepted the commit (DESIGN Decision 3).
 *
 *   mlsforge identity <user> <keyfile>             prints the public key
 *   mlsforge sign <keyfile> <label> <content-b64>  SignWithLabel (RFC 9420 §5.1.2)
 *   mlsforge kp <keyfile> <bundle-out>             prints a KeyPackage
 *   mlsforge create <keyfile> <state-out> <name>   JSON group_id, group_info
 *   mlsforge join <keyfile> <bundle> <welcome-b64> <state-out>
 *   mlsforge external <keyfile> <groupinfo-b64> <state-out> [--remove LEAF]
 *   mlsforge process <state> <msg-b64>             JSON kind, epoch (, data)
 *   mlsforge protect <state> <text>                prints an application message
 *   mlsforge commit <state> [options]              JSON commit, welcomes, group_info
 *   mlsforge propose-remove <state> <leaf>         prints the proposal
 *   mlsforge group-info <state>                    GroupInfo of its epoch
 *   mlsforge epoch-auth <state>                    epoch authenticator, hex
 *   mlsforge info <state>                          JSON epoch, own leaf, members
 *
 * It uses libmls internals (-Ilib, like the unit tests) only where an
 * honest application has no business doing what an attacker does: to put
 * another name into its own path leaf (--rename), and the suite's hash
 * length to find the signature of a message it spoils (--junk).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mls/codec.h"
#include "mls/group.h"

#include "b64.h"
#include "group_state.h"
#include "proto.h"

/* The chat's GroupContext extensions (src/common/proto.h, docs/PROTOCOL.md
 * §7): group name, administrators and topic. */
#define EXT_GROUP_NAME CHAT_EXT_GROUP_NAME
#define EXT_ADMINS CHAT_EXT_ADMINS
#define EXT_TOPIC CHAT_EXT_TOPIC

static const uint16_t chat_exts[] = {EXT_GROUP_NAME, EXT_ADMINS, EXT_TOPIC};
#define N_CHAT_EXTS (sizeof chat_exts / sizeof chat_exts[0])

static int fail(const char *what, int err)
{
    const char *d = mls_error_detail();
    fprintf(stderr, "mlsforge: %s: %s%s%s\n", what, err ? mls_strerror(err) : "failed",
            d[0] ? ": " : "", d);
    return 1;
}

/* ------------------------------------------------------------ files, base64 */

static int read_file(const char *path, mls_buf *out)
{
    uint8_t chunk[4096];
    size_t n;
    int rc = -1;
    FILE *f = fopen(path, "rb");

    if (!f) {
        fprintf(stderr, "mlsforge: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (mls_buf_append(out, chunk, n) != MLS_OK)
            goto out;
    if (ferror(f))
        goto out;
    rc = 0;
out:
    mls_wipe(chunk, sizeof chunk);
    fclose(f);
    return rc;
}

/* Writes path atomically (temporary file + rename), mode 0600: the files
 * hold private keys. */
static int write_file(const char *path, mls_bytes data)
{
    char tmp[4096];
    int fd, rc = -1;
    size_t off = 0;

    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -1;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        fprintf(stderr, "mlsforge: %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    while (off < data.n) {
        ssize_t w = write(fd, data.p + off, data.n - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto out;
    rc = 0;
out:
    if (close(fd) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc != 0) {
        fprintf(stderr, "mlsforge: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

static int unb64(const char *text, mls_buf *out)
{
    if (chat_b64_decode(text, strlen(text), out) != MLS_OK) {
        fprintf(stderr, "mlsforge: bad base64 argument\n");
        return -1;
    }
    return 0;
}

/* Prints "name":"<b64>" (after "{" if first, else after a comma). */
static int json_b64(const char *name, mls_bytes b, int first)
{
    char *t = chat_b64_encode(b.p, b.n);
    if (!t)
        return -1;
    printf("%s\"%s\":\"%s\"", first ? "{" : ",", name, t);
    free(t);
    return 0;
}

static int print_b64(mls_bytes b)
{
    char *t = chat_b64_encode(b.p, b.n);
    if (!t)
        return -1;
    printf("%s\n", t);
    free(t);
    return 0;
}

static int load_identity(const char *path, mls_identity **out)
{
    mls_buf raw;
    int err, rc = -1;

    mls_buf_init(&raw);
    if (read_file(path, &raw) != 0)
        goto out;
    if ((err = mls_identity_deserialize(mls_buf_view(&raw), out)) != MLS_OK) {
        fail("identity file", err);
        goto out;
    }
    rc = 0;
out:
    mls_buf_clear(&raw);
    return rc;
}

static int load_group(const char *path, mls_group **out)
{
    mls_buf raw;
    int err, rc = -1;

    mls_buf_init(&raw);
    if (read_file(path, &raw) != 0)
        goto out;
    if ((err = mls_group_deserialize(mls_env_default(), mls_buf_view(&raw), out)) != MLS_OK) {
        fail("group state file", err);
        goto out;
    }
    rc = 0;
out:
    mls_buf_clear(&raw);
    return rc;
}

static int save_group(const mls_group *g, const char *path)
{
    mls_buf raw;
    int err, rc = -1;

    mls_buf_init(&raw);
    if ((err = mls_group_serialize(g, &raw)) != MLS_OK) {
        fail("serialize", err);
        goto out;
    }
    rc = write_file(path, mls_buf_view(&raw));
out:
    mls_buf_clear(&raw);
    return rc;
}

/* A state path with ".next" appended. */
static int next_path(const char *state, char *out, size_t max)
{
    return snprintf(out, max, "%s.next", state) >= (int)max ? -1 : 0;
}

/* ------------------------------------------------------------ the chat's extensions */

/* struct { opaque name<V>; } */
static int ext_name(const char *name, mls_buf *out)
{
    return mls_tls_write_opaque(out, mls_bytes_of((const uint8_t *)name, strlen(name)));
}

/* struct { opaque usernames<V><V>; } from "a,b,c" (an empty string gives
 * an empty list). */
static int ext_admins(const char *csv, mls_buf *out)
{
    size_t mark;
    const char *p = csv;

    if (mls_tls_write_vector_begin(out, &mark) != MLS_OK)
        return -1;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (mls_tls_write_opaque(out, mls_bytes_of((const uint8_t *)p, n)) != MLS_OK)
            return -1;
        p += n;
        if (*p == ',')
            p++;
    }
    return mls_tls_write_vector_end(out, mark) == MLS_OK ? 0 : -1;
}

/* ------------------------------------------------------------ commands */

static int cmd_identity(int argc, char **argv)
{
    mls_identity *id = NULL;
    mls_buf raw;
    int err, rc = 1;

    if (argc != 2)
        return 2;
    mls_buf_init(&raw);
    if ((err = mls_identity_generate(mls_env_default(),
                                     MLS_SUITE_X25519_AES128GCM_SHA256_ED25519,
                                     mls_bytes_of((const uint8_t *)argv[0], strlen(argv[0])),
                                     &id)) != MLS_OK ||
        (err = mls_identity_support_extensions(id, chat_exts, N_CHAT_EXTS)) != MLS_OK ||
        (err = mls_identity_serialize(id, &raw)) != MLS_OK) {
        rc = fail("identity", err);
        goto out;
    }
    if (write_file(argv[1], mls_buf_view(&raw)) != 0 ||
        print_b64(mls_identity_signature_key(id)) != 0)
        goto out;
    rc = 0;
out:
    mls_buf_clear(&raw);
    mls_identity_free(id);
    return rc;
}

static int cmd_sign(int argc, char **argv)
{
    mls_identity *id = NULL;
    mls_buf content, sig;
    int err, rc = 1;

    if (argc != 3)
        return 2;
    mls_buf_init(&content);
    mls_buf_init(&sig);
    if (load_identity(argv[0], &id) != 0 || unb64(argv[2], &content) != 0)
        goto out;
    if ((err = mls_identity_sign(mls_env_default(), id, argv[1], mls_buf_view(&content),
                                 &sig)) != MLS_OK) {
        rc = fail("sign", err);
        goto out;
    }
    rc = print_b64(mls_buf_view(&sig)) == 0 ? 0 : 1;
out:
    mls_buf_clear(&content);
    mls_buf_clear(&sig);
    mls_identity_free(id);
    return rc;
}

static int cmd_kp(int argc, char **argv)
{
    mls_identity *id = NULL;
    mls_buf kp, bundle;
    int err, rc = 1;

    if (argc != 2)
        return 2;
    mls_buf_init(&kp);
    mls_buf_init(&bundle);
    if (load_identity(argv[0], &id) != 0)
        goto out;
    if ((err = mls_key_package_create(mls_env_default(), id, NULL, &kp, &bundle)) != MLS_OK) {
        rc = fail("key package", err);
        goto out;
    }
    if (write_file(argv[1], mls_buf_view(&bundle)) != 0 || print_b64(mls_buf_view(&kp)) != 0)
        goto out;
    rc = 0;
out:
    mls_buf_clear(&kp);
    mls_buf_clear(&bundle);
    mls_identity_free(id);
    return rc;
}

/* A group whose creator is its only administrator, as the chat client
 * makes it (src/client/session.c create_group), but with handshake
 * messages as PublicMessage (docs/PROTOCOL.md §7). */
static int cmd_create(int argc, char **argv)
{
    mls_identity *id = NULL;
    mls_group *g = NULL;
    mls_buf name, admins, gi;
    mls_ext exts[2];
    mls_group_config cfg;
    char me[256];
    int err, rc = 1;
    mls_bytes who;

    if (argc != 3)
        return 2;
    mls_buf_init(&name);
    mls_buf_init(&admins);
    mls_buf_init(&gi);
    if (load_identity(argv[0], &id) != 0)
        goto out;
    who = mls_identity_name(id);
    if (who.n >= sizeof me)
        goto out;
    memcpy(me, who.p, who.n);
    me[who.n] = 0;
    if (ext_name(argv[2], &name) != 0 || ext_admins(me, &admins) != 0)
        goto out;
    exts[0].type = EXT_GROUP_NAME;
    exts[0].data = mls_buf_view(&name);
    exts[1].type = EXT_ADMINS;
    exts[1].data = mls_buf_view(&admins);
    mls_group_config_default(&cfg);
    cfg.handshake_private = 0;
    if ((err = mls_group_create(mls_env_default(), id, mls_bytes_of(NULL, 0), exts, 2, &cfg,
                                &g)) != MLS_OK ||
        (err = mls_group_group_info(g, 1, &gi)) != MLS_OK) {
        rc = fail("create", err);
        goto out;
    }
    if (save_group(g, argv[1]) != 0)
        goto out;
    if (json_b64("group_id", mls_group_id(g), 1) != 0 ||
        json_b64("group_info", mls_buf_view(&gi), 0) != 0)
        goto out;
    printf(",\"epoch\":%llu}\n", (unsigned long long)mls_group_epoch(g));
    rc = 0;
out:
    mls_buf_clear(&name);
    mls_buf_clear(&admins);
    mls_buf_clear(&gi);
    mls_group_free(g);
    mls_identity_free(id);
    return rc;
}

static int cmd_join(int argc, char **argv)
{
    mls_identity *id = NULL;
    mls_group *g = NULL;
    mls_buf bundle, welcome;
    mls_bytes b;
    mls_group_config cfg;
    mls_join_options jo;
    int err, rc = 1;

    if (argc != 4)
        return 2;
    mls_buf_init(&bundle);
    mls_buf_init(&welcome);
    if (load_identity(argv[0], &id) != 0 || read_file(argv[1], &bundle) != 0 ||
        unb64(argv[2], &welcome) != 0)
        goto out;
    mls_group_config_default(&cfg);
    memset(&jo, 0, sizeof jo);
    jo.config = &cfg;
    b = mls_buf_view(&bundle);
    if ((err = mls_group_join(mls_env_default(), id, mls_buf_view(&welcome), &b, 1, &jo, NULL,
                              &g)) != MLS_OK) {
        rc = fail("join", err);
        goto out;
    }
    if (save_group(g, argv[3]) != 0)
        goto out;
    printf("{\"epoch\":%llu,\"leaf\":%u}\n", (unsigned long long)mls_group_epoch(g),
           mls_group_own_leaf(g));
    rc = 0;
out:
    mls_buf_clear(&bundle);
    mls_buf_clear(&welcome);
    mls_group_free(g);
    mls_identity_free(id);
    return rc;
}

/*
 * Spoils a handshake message so that its clear header (group, epoch,
 * sender, content type) stays right but its content does not verify: in
 * a PublicMessage (RFC 9420 §6.2) the last byte of the signature, which
 * anyone holding the tree can check (a spoiled membership or confirmation
 * tag only the members can see); in a PrivateMessage the AEAD tag.
 * The PublicMessage ends with signature<V>, confirmation_tag<V> (a commit)
 * and membership_tag<V> (a member sender), the tags nh bytes with a
 * one-byte length.
 */
static int junk(mls_buf *msg, int is_public, int member_sender, size_t nh)
{
    size_t tail = is_public ? (1 + nh) + (member_sender ? 1 + nh : 0) : 0;
    if (msg->n <= tail)
        return -1;
    msg->p[msg->n - 1 - tail] ^= 0x01;
    return 0;
}

/* Prints the JSON of a commit: commit, welcomes, group_info (or null),
 * epoch (the epoch it starts). */
static int print_commit(mls_bytes commit, mls_bytes welcome, mls_bytes gi, uint64_t epoch)
{
    if (json_b64("commit", commit, 1) != 0)
        return -1;
    printf(",\"welcomes\":[");
    if (welcome.n) {
        char *t = chat_b64_encode(welcome.p, welcome.n);
        if (!t)
            return -1;
        printf("\"%s\"", t);
        free(t);
    }
    printf("]");
    if (gi.n) {
        if (json_b64("group_info", gi, 0) != 0)
            return -1;
    } else {
        printf(",\"group_info\":null");
    }
    printf(",\"epoch\":%llu}\n", (unsigned long long)epoch);
    return 0;
}

/* A new identity with id's signature key and another basic credential
 * identity: the leaf it signs next carries that name (the "renamed
 * credential" attack of issue 9). */
static int renamed_identity(const mls_identity *id, const char *newname, mls_identity **out)
{
    mls_identity *n = NULL;
    int err;

    if ((err = mls_identity_from_private_key(mls_identity_suite(id),
                                             mls_identity_signature_private_key(id),
                                             mls_bytes_of((const uint8_t *)newname,
                                                          strlen(newname)),
                                             &n)) != MLS_OK ||
        (err = mls_identity_support_extensions(n, chat_exts, N_CHAT_EXTS)) != MLS_OK) {
        mls_identity_free(n);
        return fail("rename", err);
    }
    *out = n;
    return 0;
}

/* An external commit (RFC 9420 §12.4.3.2) by id from a GroupInfo; with
 * remove_old_leaf it is the resync of a member that lost its state. */
static int external_commit(const mls_identity *id, const char *gi_b64, int remove_old,
                           uint32_t old_leaf, int do_junk, int no_gi, const char *state_out)
{
    mls_group *g = NULL;
    mls_buf gi, commit, new_gi;
    mls_external_join_options eo;
    mls_group_config cfg;
    int err, rc = 1;

    mls_buf_init(&gi);
    mls_buf_init(&commit);
    mls_buf_init(&new_gi);
    if (unb64(gi_b64, &gi) != 0)
        goto out;
    mls_group_config_default(&cfg);
    memset(&eo, 0, sizeof eo);
    eo.remove_old_leaf = remove_old;
    eo.old_leaf = old_leaf;
    eo.config = &cfg;
    if ((err = mls_group_external_join(mls_env_default(), id, mls_buf_view(&gi), &eo, &commit,
                                       &g)) != MLS_OK ||
        (err = mls_group_group_info(g, 1, &new_gi)) != MLS_OK) {
        rc = fail("external commit", err);
        goto out;
    }
    if (do_junk && junk(&commit, 1, 0, g->suite->nh) != 0)
        goto out;
    if (save_group(g, state_out) != 0)
        goto out;
    if (print_commit(mls_buf_view(&commit), mls_bytes_of(NULL, 0),
                     no_gi ? mls_bytes_of(NULL, 0) : mls_buf_view(&new_gi),
                     mls_group_epoch(g)) != 0)
        goto out;
    rc = 0;
out:
    mls_buf_clear(&gi);
    mls_buf_clear(&commit);
    mls_buf_clear(&new_gi);
    mls_group_free(g);
    return rc;
}

static int parse_leaf(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > UINT32_MAX) {
        fprintf(stderr, "mlsforge: bad leaf index %s\n", s);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}

/* mlsforge external <keyfile> <groupinfo-b64> <state-out> [--remove LEAF] */
static int cmd_external(int argc, char **argv)
{
    mls_identity *id = NULL;
    uint32_t leaf = 0;
    int rc = 1, remove = 0;

    if (argc != 3 && argc != 5)
        return 2;
    if (argc == 5) {
        if (strcmp(argv[3], "--remove") != 0)
            return 2;
        if (parse_leaf(argv[4], &leaf) != 0)
            return 1;
        remove = 1;
    }
    if (load_identity(argv[0], &id) != 0)
        goto out;
    rc = external_commit(id, argv[1], remove, leaf, 0, 0, argv[2]);
out:
    mls_identity_free(id);
    return rc;
}

static int cmd_process(int argc, char **argv)
{
    mls_group *g = NULL;
    mls_buf msg;
    mls_process_result res;
    int err, rc = 1, have = 0;

    if (argc != 2)
        return 2;
    mls_buf_init(&msg);
    memset(&res, 0, sizeof res);
    if (load_group(argv[0], &g) != 0 || unb64(argv[1], &msg) != 0)
        goto out;
    if ((err = mls_group_process(g, mls_buf_view(&msg), &res)) != MLS_OK) {
        rc = fail("process", err);
        goto out;
    }
    have = 1;
    if (save_group(g, argv[0]) != 0)
        goto out;
    printf("{\"kind\":\"%s\",\"epoch\":%llu,\"active\":%s",
           res.kind == MLS_RESULT_COMMIT ? "commit"
           : res.kind == MLS_RESULT_PROPOSAL ? "proposal" : "application",
           (unsigned long long)mls_group_epoch(g), mls_group_is_active(g) ? "true" : "false");
    if (res.kind == MLS_RESULT_APPLICATION &&
        json_b64("data", mls_buf_view(&res.application_data), 0) != 0)
        goto out;
    printf("}\n");
    rc = 0;
out:
    if (have)
        mls_process_result_clear(&res);
    mls_buf_clear(&msg);
    mls_group_free(g);
    return rc;
}

/* Room for the server's default --invite-rate burst (300 Welcome recipients
 * in one commit), which make bench-abuse sends. */
#define MAX_LIST 320

/*
 * mlsforge commit <state> [--add KP-b64]... [--remove LEAF]... [--admins a,b]
 *   [--name GROUPNAME] [--topic TEXT] [--rename NEWNAME] [--reinit] [--junk] [--private] [--no-group-info]
 *   [--pending] [--path]
 *   [--external-from GROUPINFO-b64 --resync|--no-remove|--remove LEAF [--rename NAME]]
 *
 * With --external-from it is an external commit (RFC 9420 §12.4.3.2) by
 * the state's member from that GroupInfo, written as the next state.
 */
static int cmd_commit(int argc, char **argv)
{
    mls_group *g = NULL;
    mls_staged_commit *sc = NULL;
    mls_commit_options opt;
    mls_reinit_params rp;
    mls_buf adds[MAX_LIST], admins, commit, next;
    mls_bytes add_views[MAX_LIST];
    mls_buf name_buf, topic_buf;
    mls_ext set_ext[3], reinit_ext[8];
    uint32_t removes[MAX_LIST];
    size_t n_add = 0, n_remove = 0, i;
    const char *admins_csv = NULL, *rename = NULL, *external = NULL, *gname = NULL;
    const char *topic = NULL;
    int do_reinit = 0, do_junk = 0, priv = 0, no_gi = 0, resync = 0, no_remove = 0;
    int err, rc = 1;
    char next_file[4096];

    if (argc < 1)
        return 2;
    for (i = 0; i < MAX_LIST; i++)
        mls_buf_init(&adds[i]);
    mls_buf_init(&admins);
    mls_buf_init(&name_buf);
    mls_buf_init(&topic_buf);
    mls_buf_init(&commit);
    mls_buf_init(&next);
    memset(&opt, 0, sizeof opt);
    for (i = 1; i < (size_t)argc; i++) {
        const char *a = argv[i], *v = i + 1 < (size_t)argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--add") && v && n_add < MAX_LIST) {
            if (unb64(v, &adds[n_add]) != 0)
                goto out;
            add_views[n_add] = mls_buf_view(&adds[n_add]);
            n_add++;
            i++;
        } else if (!strcmp(a, "--remove") && v && n_remove < MAX_LIST) {
            if (parse_leaf(v, &removes[n_remove]) != 0)
                goto out;
            n_remove++;
            i++;
        } else if (!strcmp(a, "--admins") && v) {
            admins_csv = v;
            i++;
        } else if (!strcmp(a, "--name") && v) {
            gname = v;
            i++;
        } else if (!strcmp(a, "--topic") && v) {
            topic = v;
            i++;
        } else if (!strcmp(a, "--rename") && v) {
            rename = v;
            i++;
        } else if (!strcmp(a, "--external-from") && v) {
            external = v;
            i++;
        } else if (!strcmp(a, "--reinit")) {
            do_reinit = 1;
        } else if (!strcmp(a, "--junk")) {
            do_junk = 1;
        } else if (!strcmp(a, "--private")) {
            priv = 1;
        } else if (!strcmp(a, "--no-group-info")) {
            no_gi = 1;
        } else if (!strcmp(a, "--pending")) {
            opt.include_pending_proposals = 1;
        } else if (!strcmp(a, "--path")) {
            opt.force_path = 1;
        } else if (!strcmp(a, "--resync")) {
            resync = 1;
        } else if (!strcmp(a, "--no-remove")) {
            no_remove = 1;
        } else {
            fprintf(stderr, "mlsforge commit: bad option %s\n", a);
            rc = 2;
            goto out;
        }
    }
    if (load_group(argv[0], &g) != 0 || next_path(argv[0], next_file, sizeof next_file) != 0)
        goto out;

    if (external) {
        /* The member's own key, under its own name or --rename's; --resync
         * removes its own old leaf (the honest rejoin), --remove another
         * leaf, --no-remove none. */
        mls_identity *joiner = NULL;
        if (resync + no_remove + (n_remove == 1) != 1 || n_remove > 1) {
            fprintf(stderr, "mlsforge commit: --external-from needs one of --resync, "
                            "--no-remove, --remove LEAF\n");
            goto out;
        }
        if (rename && renamed_identity(g->id, rename, &joiner) != 0)
            goto out;
        rc = external_commit(joiner ? joiner : g->id, external, !no_remove,
                             resync ? mls_group_own_leaf(g) : removes[0], do_junk, no_gi,
                             next_file);
        mls_identity_free(joiner);
        goto out;
    }

    opt.add = add_views;
    opt.n_add = n_add;
    opt.remove = removes;
    opt.n_remove = n_remove;
    opt.handshake = priv ? MLS_HANDSHAKE_PRIVATE : MLS_HANDSHAKE_PUBLIC;
    /* Either makes a GroupContextExtensions proposal (RFC 9420 §12.1.7). */
    if (admins_csv) {
        if (ext_admins(admins_csv, &admins) != 0)
            goto out;
        set_ext[opt.n_set_extensions].type = EXT_ADMINS;
        set_ext[opt.n_set_extensions].data = mls_buf_view(&admins);
        opt.n_set_extensions++;
    }
    if (gname) {
        if (ext_name(gname, &name_buf) != 0)
            goto out;
        set_ext[opt.n_set_extensions].type = EXT_GROUP_NAME;
        set_ext[opt.n_set_extensions].data = mls_buf_view(&name_buf);
        opt.n_set_extensions++;
    }
    if (topic) {
        /* The topic's encoding (PROTOCOL.md §7.4) with any text and length:
         * the server bounds it, not the forger. */
        if (ext_name(topic, &topic_buf) != 0)
            goto out;
        set_ext[opt.n_set_extensions].type = EXT_TOPIC;
        set_ext[opt.n_set_extensions].data = mls_buf_view(&topic_buf);
        opt.n_set_extensions++;
    }
    opt.set_extensions = set_ext;
    if (rename) {
        /* The group signs its path leaf with g->id: swapping it (an
         * internal of libmls) puts the new name into that leaf. */
        mls_identity *n = NULL;
        if (renamed_identity(g->id, rename, &n) != 0)
            goto out;
        mls_identity_free(g->id);
        g->id = n;
        opt.force_path = 1;
    }
    if (do_reinit) {
        /* RFC 9420 §12.1.5: the successor keeps suite and extensions. */
        size_t n = mls_group_extension_count(g);
        if (n > 8)
            goto out;
        for (i = 0; i < n; i++)
            if ((err = mls_group_extension_at(g, i, &reinit_ext[i])) != MLS_OK) {
                rc = fail("extensions", err);
                goto out;
            }
        memset(&rp, 0, sizeof rp);
        rp.suite = mls_group_suite(g);
        rp.extensions = reinit_ext;
        rp.n_extensions = n;
        opt.reinit = &rp;
    }
    if ((err = mls_group_commit(g, &opt, &sc)) != MLS_OK) {
        rc = fail("commit", err);
        goto out;
    }
    if (mls_buf_set(&commit, mls_staged_commit_message(sc).p,
                    mls_staged_commit_message(sc).n) != MLS_OK)
        goto out;
    if (do_junk && junk(&commit, !priv, 1, g->suite->nh) != 0)
        goto out;
    if ((err = mls_staged_commit_next_state(sc, &next)) != MLS_OK) {
        rc = fail("next state", err);
        goto out;
    }
    if (write_file(next_file, mls_buf_view(&next)) != 0)
        goto out;
    if (print_commit(mls_buf_view(&commit), mls_staged_commit_welcome(sc),
                     no_gi ? mls_bytes_of(NULL, 0) : mls_staged_commit_group_info(sc),
                     mls_staged_commit_epoch(sc)) != 0)
        goto out;
    rc = 0;
out:
    for (i = 0; i < MAX_LIST; i++)
        mls_buf_clear(&adds[i]);
    mls_buf_clear(&admins);
    mls_buf_clear(&name_buf);
    mls_buf_clear(&topic_buf);
    mls_buf_clear(&commit);
    mls_buf_clear(&next);
    mls_staged_commit_free(sc);
    mls_group_free(g);
    return rc;
}

/* An application message (RFC 9420 §6.3 PrivateMessage) carrying text;
 * the state's secret tree moves on, so it is saved. */
static int cmd_protect(int argc, char **argv)
{
    mls_group *g = NULL;
    mls_buf out;
    int err, rc = 1;

    if (argc != 2)
        return 2;
    mls_buf_init(&out);
    if (load_group(argv[0], &g) != 0)
        goto out;
    if ((err = mls_group_protect(g, mls_bytes_of(NULL, 0),
                                 mls_bytes_of((const uint8_t *)argv[1], strlen(argv[1])),
                                 &out)) != MLS_OK) {
        rc = fail("protect", err);
        goto out;
    }
    if (save_group(g, argv[0]) != 0 || print_b64(mls_buf_view(&out)) != 0)
        goto out;
    rc = 0;
out:
    mls_buf_clear(&out);
    mls_group_free(g);
    return rc;
}

/* A Remove proposal (RFC 9420 §12.1.3) as PublicMessage; the state keeps
 * it among its pending proposals, as a receiver would (a later commit
 * may include it by reference). */
static int cmd_propose_remove(int argc, char **argv)
{
    mls_group *g = NULL;
    mls_buf out;
    mls_group_config cfg;
    uint32_t leaf;
    int err, rc = 1;

    if (argc != 2)
        return 2;
    mls_buf_init(&out);
    if (parse_leaf(argv[1], &leaf) != 0 || load_group(argv[0], &g) != 0)
        goto out;
    mls_group_get_config(g, &cfg);
    cfg.handshake_private = 0;
    if ((err = mls_group_set_config(g, &cfg)) != MLS_OK ||
        (err = mls_group_propose_remove(g, leaf, &out)) != MLS_OK) {
        rc = fail("propose remove", err);
        goto out;
    }
    if (save_group(g, argv[0]) != 0 || print_b64(mls_buf_view(&out)) != 0)
        goto out;
    rc = 0;
out:
    mls_buf_clear(&out);
    mls_group_free(g);
    return rc;
}

/* The GroupInfo of the state's current epoch, with the ratchet tree. */
static int cmd_group_info(int argc, char **argv)
{
    mls_group *g = NULL;
    mls_buf gi;
    int err, rc = 1;

    if (argc != 1)
        return 2;
    mls_buf_init(&gi);
    if (load_group(argv[0], &g) != 0)
        goto out;
    if ((err = mls_group_group_info(g, 1, &gi)) != MLS_OK) {
        rc = fail("group info", err);
        goto out;
    }
    rc = print_b64(mls_buf_view(&gi)) == 0 ? 0 : 1;
out:
    mls_buf_clear(&gi);
    mls_group_free(g);
    return rc;
}

static int cmd_epoch_auth(int argc, char **argv)
{
    mls_group *g = NULL;
    mls_bytes a;
    size_t i;

    if (argc != 1)
        return 2;
    if (load_group(argv[0], &g) != 0)
        return 1;
    a = mls_group_epoch_authenticator(g);
    for (i = 0; i < a.n; i++)
        printf("%02x", a.p[i]);
    printf("\n");
    mls_group_free(g);
    return 0;
}

/* JSON of a state: epoch, own leaf, members (leaf and identity). */
static int cmd_info(int argc, char **argv)
{
    mls_group *g = NULL;
    uint32_t leaf;
    int first = 1;

    if (argc != 1)
        return 2;
    if (load_group(argv[0], &g) != 0)
        return 1;
    printf("{\"epoch\":%llu,\"leaf\":%u,\"active\":%s,\"members\":[",
           (unsigned long long)mls_group_epoch(g), mls_group_own_leaf(g),
           mls_group_is_active(g) ? "true" : "false");
    for (leaf = 0; leaf < mls_group_leaf_count(g); leaf++) {
        mls_member m;
        if (mls_group_member(g, leaf, &m) != MLS_OK)
            continue;
        /* Identities are chat usernames ([a-z0-9_-]), safe in JSON. */
        printf("%s{\"leaf\":%u,\"identity\":\"%.*s\"}", first ? "" : ",", leaf, (int)m.identity.n,
               (const char *)m.identity.p);
        first = 0;
    }
    printf("]}\n");
    mls_group_free(g);
    return 0;
}

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *usage;
} commands[] = {
    {"identity", cmd_identity, "<user> <keyfile>"},
    {"sign", cmd_sign, "<keyfile> <label> <content-b64>"},
    {"kp", cmd_kp, "<keyfile> <bundle-out>"},
    {"create", cmd_create, "<keyfile> <state-out> <groupname>"},
    {"join", cmd_join, "<keyfile> <bundle> <welcome-b64> <state-out>"},
    {"external", cmd_external, "<keyfile> <groupinfo-b64> <state-out> [--remove LEAF]"},
    {"process", cmd_process, "<state> <msg-b64>"},
    {"commit", cmd_commit,
     "<state> [--add KP-b64]... [--remove LEAF]... [--admins a,b] [--name GROUPNAME]\n"
     "        [--rename NAME] [--reinit] [--junk] [--private] [--no-group-info] [--pending]\n"
     "        [--path]\n"
     "        [--external-from GROUPINFO-b64 --resync|--no-remove|--remove LEAF [--rename NAME]]"},
    {"protect", cmd_protect, "<state> <text>"},
    {"propose-remove", cmd_propose_remove, "<state> <leaf>"},
    {"group-info", cmd_group_info, "<state>"},
    {"epoch-auth", cmd_epoch_auth, "<state>"},
    {"info", cmd_info, "<state>"},
};

static void usage(void)
{
    size_t i;
    fprintf(stderr, "usage:\n");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(stderr, "  mlsforge %s %s\n", commands[i].name, commands[i].usage);
}

int main(int argc, char **argv)
{
    size_t i;

    if (argc < 2) {
        usage();
        return 2;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            int rc = commands[i].fn(argc - 2, argv + 2);
            if (rc == 2)
                fprintf(stderr, "usage: mlsforge %s %s\n", commands[i].name,
                        commands[i].usage);
            return rc;
        }
    }
    usage();
    return 2;
}
