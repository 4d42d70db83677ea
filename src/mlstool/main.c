/*
 * mlstool: look at MLS objects from the command line, on libmls's public
 * API only (include/mls/).  It is the proof that the public API suffices
 * to read what travels on the wire, and the tool for debugging interop.
 *
 *   mlstool decode [--json] [--tree] [--in hex|base64|raw] [--bundle FILE]... FILE|-
 *   mlstool check-kp [--json] [--suite N] [--in ...] FILE|-
 *
 * Input is hex, base64 or raw bytes (detected unless --in says which).
 * Exit status: 0 success, 1 the input does not decode or is invalid,
 * 2 usage or I/O error.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "mls/group.h"
#include "mls/inspect.h"

enum input_format { IN_AUTO, IN_HEX, IN_BASE64, IN_RAW };

#define MAX_BUNDLES 16

typedef struct options {
    int json;
    int tree; /* decode: the input is a bare ratchet tree */
    /* decode: private KeyPackage bundles to open a Welcome with */
    const char *bundles[MAX_BUNDLES];
    size_t n_bundles;
    uint16_t suite;
    enum input_format in;
    const char *file;
} options;

/* ---------------------------------------------------------------- input */

static int read_all(const char *path, mls_buf *out)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    uint8_t chunk[4096];
    size_t n;
    int err = 0;

    if (!f) {
        fprintf(stderr, "mlstool: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (mls_buf_append(out, chunk, n) != MLS_OK) {
            err = -1;
            break;
        }
    if (ferror(f)) {
        fprintf(stderr, "mlstool: %s: read error\n", path);
        err = -1;
    }
    if (f != stdin)
        fclose(f);
    return err;
}

static int hex_val(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The text without ASCII white space (hex and base64 may be wrapped). */
static int strip_space(mls_bytes in, mls_buf *out)
{
    for (size_t i = 0; i < in.n; i++)
        if (!isspace(in.p[i]) && mls_buf_append(out, &in.p[i], 1) != MLS_OK)
            return -1;
    return 0;
}

static int from_hex(mls_bytes text, mls_buf *out)
{
    if (text.n % 2)
        return -1;
    for (size_t i = 0; i < text.n; i += 2) {
        int hi = hex_val(text.p[i]), lo = hex_val(text.p[i + 1]);
        uint8_t b;
        if (hi < 0 || lo < 0)
            return -1;
        b = (uint8_t)(hi << 4 | lo);
        if (mls_buf_append(out, &b, 1) != MLS_OK)
            return -1;
    }
    return 0;
}

/* Decodes the file contents as the chosen format; IN_AUTO tries hex, then
 * base64, then takes the bytes as they are. */
static int decode_input(mls_bytes raw, enum input_format fmt, mls_buf *out)
{
    mls_buf text;
    int rc = -1;

    mls_buf_init(&text);
    if (fmt == IN_RAW)
        rc = mls_buf_set(out, raw.p, raw.n) == MLS_OK ? 0 : -1;
    else if (strip_space(raw, &text) == 0) {
        if ((fmt == IN_AUTO || fmt == IN_HEX) && text.n > 0 &&
            from_hex(mls_buf_view(&text), out) == 0)
            rc = 0;
        else if (fmt == IN_HEX)
            rc = -1;
        else {
            mls_buf_reset(out);
            if ((fmt == IN_AUTO || fmt == IN_BASE64) && text.n > 0 &&
                chat_b64_decode((const char *)text.p, text.n, out) == MLS_OK)
                rc = 0;
            else if (fmt == IN_AUTO)
                rc = mls_buf_set(out, raw.p, raw.n) == MLS_OK ? 0 : -1;
        }
    }
    mls_buf_clear(&text);
    return rc;
}

static int load(const options *o, mls_buf *bytes)
{
    mls_buf raw;
    int rc;

    mls_buf_init(&raw);
    rc = read_all(o->file, &raw);
    if (rc == 0 && (rc = decode_input(mls_buf_view(&raw), o->in, bytes)) != 0)
        fprintf(stderr, "mlstool: %s: not valid %s\n", o->file,
                o->in == IN_HEX ? "hex" : o->in == IN_BASE64 ? "base64" : "input");
    mls_buf_clear(&raw);
    return rc;
}

/* ---------------------------------------------------------------- output */

/* A small printer for both forms: text lines "  key: value" or one JSON
 * object, with nesting for lists of objects. */
typedef struct out {
    int json;
    int depth;
    int first; /* no comma before the next JSON member */
} out;

static void indent(const out *w)
{
    for (int i = 0; i < w->depth; i++)
        fputs("  ", stdout);
}

static void json_string(const char *s, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void key(out *w, const char *k)
{
    if (w->json) {
        if (!w->first)
            putchar(',');
        w->first = 0;
        json_string(k, strlen(k));
        putchar(':');
    } else {
        indent(w);
        printf("%s: ", k);
    }
}

static void field_str(out *w, const char *k, const char *v)
{
    key(w, k);
    if (w->json)
        json_string(v, strlen(v));
    else
        printf("%s\n", v);
}

static void field_u64(out *w, const char *k, uint64_t v)
{
    key(w, k);
    printf(w->json ? "%llu" : "%llu\n", (unsigned long long)v);
}

static void field_bool(out *w, const char *k, int v)
{
    key(w, k);
    printf(w->json ? "%s" : "%s\n", v ? "true" : "false");
}

static void field_hex(out *w, const char *k, mls_bytes v)
{
    key(w, k);
    if (w->json)
        putchar('"');
    for (size_t i = 0; i < v.n; i++)
        printf("%02x", v.p[i]);
    if (w->json)
        putchar('"');
    else
        printf("%s\n", v.n ? "" : "(empty)");
}

/* Printable ASCII shown as text, anything else as hex. */
static void field_text_or_hex(out *w, const char *k, mls_bytes v)
{
    for (size_t i = 0; i < v.n; i++)
        if (v.p[i] < 0x20 || v.p[i] >= 0x7f) {
            field_hex(w, k, v);
            return;
        }
    key(w, k);
    if (w->json)
        json_string((const char *)v.p, v.n);
    else
        printf("\"%.*s\"\n", (int)v.n, (const char *)v.p);
}

static void field_suite(out *w, const char *k, uint16_t suite)
{
    const char *name = mls_suite_name(suite);
    char text[128];
    snprintf(text, sizeof text, "0x%04x (%s)", suite, name ? name : "unsupported");
    if (w->json)
        field_u64(w, k, suite);
    else
        field_str(w, k, text);
}

static void begin(out *w, const char *k, int list)
{
    if (k)
        key(w, k);
    if (w->json) {
        putchar(list ? '[' : '{');
        w->first = 1;
    } else if (k) {
        putchar('\n');
    }
    w->depth++;
}

static void end(out *w, int list)
{
    w->depth--;
    if (w->json) {
        putchar(list ? ']' : '}');
        w->first = 0;
    }
}

/* An element of a list: a JSON object, or an indented block in text. */
static void item_begin(out *w, const char *title)
{
    if (w->json) {
        if (!w->first)
            putchar(',');
        putchar('{');
        w->first = 1;
    } else {
        indent(w);
        printf("- %s\n", title);
    }
    w->depth++;
}

static void item_end(out *w)
{
    w->depth--;
    if (w->json) {
        putchar('}');
        w->first = 0;
    }
}

/* ---------------------------------------------------------------- decode */

static void print_members(out *w, const mls_tree_view *t)
{
    uint32_t n = mls_tree_view_leaf_count(t);
    field_u64(w, "leaves", n);
    begin(w, "members", 1);
    for (uint32_t i = 0; i < n; i++) {
        mls_member m;
        char title[32], fp[MLS_FINGERPRINT_SIZE];
        if (mls_tree_view_member(t, i, &m) != MLS_OK)
            continue;
        snprintf(title, sizeof title, "leaf %u", i);
        item_begin(w, title);
        field_u64(w, "leaf", i);
        field_u64(w, "credential_type", m.credential_type);
        if (m.credential_type == MLS_CREDENTIAL_TYPE_BASIC)
            field_text_or_hex(w, "identity", m.identity);
        field_hex(w, "signature_key", m.signature_key);
        if (mls_signature_key_fingerprint(m.signature_key, fp) == MLS_OK)
            field_str(w, "fingerprint", fp);
        field_hex(w, "encryption_key", m.encryption_key);
        item_end(w);
    }
    end(w, 1);
}

static int decode_tree(out *w, mls_bytes in)
{
    mls_tree_view *t = NULL;
    int err = mls_tree_view_from_tree(in, &t);
    if (err) {
        fprintf(stderr, "mlstool: not a ratchet tree: %s (%s)\n", mls_strerror(err),
                mls_error_detail());
        return 1;
    }
    begin(w, NULL, 0);
    field_str(w, "type", "ratchet_tree");
    print_members(w, t);
    end(w, 0);
    if (w->json)
        putchar('\n');
    mls_tree_view_free(t);
    return 0;
}

static void print_framed(out *w, const mls_message_info *m)
{
    field_text_or_hex(w, "group_id", m->group_id);
    field_u64(w, "epoch", m->epoch);
    field_str(w, "content_type", mls_content_type_name(m->content_type));
    if (m->wire_format == MLS_WIRE_PUBLIC_MESSAGE) {
        field_str(w, "sender_type", mls_sender_type_name(m->sender_type));
        if (m->sender_type == MLS_SENDER_MEMBER || m->sender_type == MLS_SENDER_EXTERNAL)
            field_u64(w, m->sender_type == MLS_SENDER_MEMBER ? "sender_leaf" : "sender_index",
                      m->sender_leaf);
        if (m->content_type == MLS_CONTENT_PROPOSAL)
            field_str(w, "proposal_type", mls_proposal_type_name(m->proposal_type));
    }
    field_hex(w, "authenticated_data", m->authenticated_data);
}

static void print_welcome(out *w, mls_bytes in, const mls_message_info *m)
{
    mls_bytes refs[64];
    size_t n = 0;
    field_suite(w, "cipher_suite", m->suite);
    field_u64(w, "recipients", m->n_recipients);
    if (mls_welcome_refs(in, refs, sizeof refs / sizeof refs[0], &n) == MLS_OK) {
        begin(w, "key_package_refs", 1);
        for (size_t i = 0; i < n; i++) {
            item_begin(w, "recipient");
            field_hex(w, "ref", refs[i]);
            item_end(w);
        }
        end(w, 1);
    }
}

static void print_group_info(out *w, mls_bytes in, const mls_message_info *m)
{
    mls_tree_view *t = NULL;
    field_text_or_hex(w, "group_id", m->group_id);
    field_u64(w, "epoch", m->epoch);
    field_suite(w, "cipher_suite", m->suite);
    field_u64(w, "version", m->version);
    field_u64(w, "signer_leaf", m->signer_leaf);
    field_bool(w, "external_pub", m->has_external_pub);
    field_bool(w, "ratchet_tree", m->has_ratchet_tree);
    if (m->has_ratchet_tree && mls_tree_view_from_group_info(in, &t) == MLS_OK) {
        begin(w, "tree", 0);
        print_members(w, t);
        end(w, 0);
    }
    mls_tree_view_free(t);
}

/* A Welcome opened with our bundles (mls_welcome_open): which bundle, the
 * shape of the GroupSecrets, the PSKs, and the GroupInfo as the GroupInfo
 * printer shows it.  Returns 0, or 1 if it could not be opened. */
static int print_welcome_opened(out *w, mls_bytes in, const mls_buf *bundles, size_t n)
{
    mls_bytes views[MAX_BUNDLES];
    mls_welcome_contents c;
    mls_message_info gi;
    int err;

    for (size_t i = 0; i < n; i++)
        views[i] = mls_buf_view(&bundles[i]);
    err = mls_welcome_open(in, views, n, &c);
    begin(w, "opened", 0);
    field_bool(w, "ok", err == MLS_OK);
    if (err) {
        field_str(w, "error", mls_strerror(err));
        field_str(w, "detail", mls_error_detail());
    }
    if (c.key_package_ref.n) {
        field_u64(w, "bundle", c.bundle_index);
        field_hex(w, "key_package_ref", mls_buf_view(&c.key_package_ref));
        field_bool(w, "path_secret", c.has_path_secret);
        begin(w, "psks", 1);
        for (size_t i = 0; i < c.n_psks; i++) {
            const mls_welcome_psk *p = &c.psks[i];
            item_begin(w, "psk");
            if (p->psk_type == 1) {
                field_str(w, "type", "external");
                field_text_or_hex(w, "psk_id", mls_buf_view(&p->psk_id));
            } else {
                field_str(w, "type", "resumption");
                field_u64(w, "usage", p->psk_usage);
                field_text_or_hex(w, "group_id", mls_buf_view(&p->psk_group_id));
                field_u64(w, "epoch", p->psk_epoch);
            }
            field_hex(w, "nonce", mls_buf_view(&p->psk_nonce));
            item_end(w);
        }
        end(w, 1);
    }
    /* Decrypted, not verified: the signature needs the signer's key from
     * a validated tree, which only joining establishes. */
    if (c.group_info.n && mls_message_inspect(mls_buf_view(&c.group_info), &gi) == MLS_OK) {
        begin(w, "group_info", 0);
        field_bool(w, "signature_verified", 0);
        print_group_info(w, mls_buf_view(&c.group_info), &gi);
        end(w, 0);
    }
    end(w, 0);
    mls_welcome_contents_clear(&c);
    return err ? 1 : 0;
}

/* Prints the KeyPackage check; returns its error. */
static int print_kp_check(out *w, mls_bytes in, uint16_t suite)
{
    mls_key_package_info info;
    int reason = MLS_KP_OK;
    int err = mls_key_package_diagnose(mls_env_default(), in, suite, &info, &reason);
    char fp[MLS_FINGERPRINT_SIZE];

    field_bool(w, "valid", err == MLS_OK);
    if (err) {
        field_str(w, "reason", mls_kp_reason_name(reason));
        field_str(w, "reason_text", mls_kp_reason_text(reason));
        field_str(w, "detail", mls_error_detail());
        return err;
    }
    field_suite(w, "cipher_suite", info.suite);
    field_u64(w, "credential_type", info.credential_type);
    if (info.credential_type == MLS_CREDENTIAL_TYPE_BASIC)
        field_text_or_hex(w, "identity", info.identity);
    field_hex(w, "signature_key", info.signature_key);
    if (mls_signature_key_fingerprint(info.signature_key, fp) == MLS_OK)
        field_str(w, "fingerprint", fp);
    field_u64(w, "not_before", info.not_before);
    field_u64(w, "not_after", info.not_after);
    field_bool(w, "last_resort", info.last_resort);
    return MLS_OK;
}

static int decode_message(out *w, mls_bytes in, const mls_buf *bundles, size_t n_bundles)
{
    mls_message_info m;
    int rc = 0;
    int err = mls_message_inspect(in, &m);
    if (err) {
        fprintf(stderr, "mlstool: not an MLSMessage: %s (%s)\n", mls_strerror(err),
                mls_error_detail());
        return 1;
    }
    begin(w, NULL, 0);
    field_str(w, "wire_format", mls_wire_format_name(m.wire_format));
    switch (m.wire_format) {
    case MLS_WIRE_PUBLIC_MESSAGE:
    case MLS_WIRE_PRIVATE_MESSAGE:
        print_framed(w, &m);
        break;
    case MLS_WIRE_WELCOME:
        print_welcome(w, in, &m);
        if (n_bundles)
            rc = print_welcome_opened(w, in, bundles, n_bundles);
        break;
    case MLS_WIRE_GROUP_INFO:
        print_group_info(w, in, &m);
        break;
    case MLS_WIRE_KEY_PACKAGE:
        field_suite(w, "cipher_suite", m.suite);
        field_u64(w, "version", m.version);
        begin(w, "check", 0);
        (void)print_kp_check(w, in, 0);
        end(w, 0);
        break;
    default:
        break;
    }
    end(w, 0);
    if (w->json)
        putchar('\n');
    if (n_bundles && m.wire_format != MLS_WIRE_WELCOME) {
        fprintf(stderr, "mlstool: --bundle applies to a Welcome only\n");
        rc = 1;
    }
    return rc;
}

/* ---------------------------------------------------------------- commands */

static int cmd_decode(const options *o)
{
    mls_buf bytes, bundles[MAX_BUNDLES];
    out w = {o->json, 0, 1};
    int rc = 0;

    mls_buf_init(&bytes);
    for (size_t i = 0; i < MAX_BUNDLES; i++)
        mls_buf_init(&bundles[i]);
    /* Bundles are hex, base64 or raw, detected whatever --in says for the
     * message. */
    for (size_t i = 0; i < o->n_bundles && rc == 0; i++) {
        mls_buf raw;
        mls_buf_init(&raw);
        if (read_all(o->bundles[i], &raw) != 0 ||
            decode_input(mls_buf_view(&raw), IN_AUTO, &bundles[i]) != 0) {
            fprintf(stderr, "mlstool: %s: cannot read the bundle\n", o->bundles[i]);
            rc = 2;
        }
        mls_buf_clear(&raw);
    }
    if (rc == 0 && o->tree && o->n_bundles) {
        fprintf(stderr, "mlstool: --bundle opens a Welcome, not a ratchet tree\n");
        rc = 2;
    }
    if (rc == 0 && load(o, &bytes) != 0)
        rc = 2;
    if (rc == 0)
        rc = o->tree ? decode_tree(&w, mls_buf_view(&bytes))
                     : decode_message(&w, mls_buf_view(&bytes), bundles, o->n_bundles);
    mls_buf_clear(&bytes);
    for (size_t i = 0; i < MAX_BUNDLES; i++)
        mls_buf_clear(&bundles[i]); /* wipes the private keys */
    return rc;
}

static int cmd_check_kp(const options *o)
{
    mls_buf bytes;
    out w = {o->json, 0, 1};
    int err;

    mls_buf_init(&bytes);
    if (load(o, &bytes) != 0) {
        mls_buf_clear(&bytes);
        return 2;
    }
    begin(&w, NULL, 0);
    err = print_kp_check(&w, mls_buf_view(&bytes), o->suite);
    end(&w, 0);
    if (o->json)
        putchar('\n');
    mls_buf_clear(&bytes);
    return err ? 1 : 0;
}

static const struct command {
    const char *name;
    int (*run)(const options *o);
    const char *help;
} commands[] = {
    {"decode", cmd_decode,
     "decode [--json] [--tree] [--in hex|base64|raw] [--bundle FILE]... FILE|-\n"
     "      any MLSMessage (PublicMessage, PrivateMessage, Welcome, GroupInfo with\n"
     "      its ratchet tree members, KeyPackage); --tree: a bare ratchet tree;\n"
     "      --bundle: open a Welcome with a private KeyPackage bundle and show its\n"
     "      GroupInfo (decrypted, signature not verified)"},
    {"check-kp", cmd_check_kp,
     "check-kp [--json] [--suite N] [--in hex|base64|raw] FILE|-\n"
     "      validates a KeyPackage (RFC 9420 §10.1) and prints why it fails"},
};

static void usage(FILE *f)
{
    fputs("usage: mlstool COMMAND [OPTIONS] FILE|-\n", f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  mlstool %s\n", commands[i].help);
    fputs("Input is hex, base64 or raw bytes (detected unless --in says which).\n", f);
}

static int parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0)
            o->json = 1;
        else if (strcmp(a, "--tree") == 0)
            o->tree = 1;
        else if (strcmp(a, "--bundle") == 0 && i + 1 < argc) {
            if (o->n_bundles == MAX_BUNDLES)
                return -1;
            o->bundles[o->n_bundles++] = argv[++i];
        }
        else if (strcmp(a, "--suite") == 0 && i + 1 < argc) {
            char *end;
            unsigned long v = strtoul(argv[++i], &end, 0);
            if (*end || v > 0xffff)
                return -1;
            o->suite = (uint16_t)v;
        } else if (strcmp(a, "--in") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            if (strcmp(f, "hex") == 0)
                o->in = IN_HEX;
            else if (strcmp(f, "base64") == 0)
                o->in = IN_BASE64;
            else if (strcmp(f, "raw") == 0)
                o->in = IN_RAW;
            else
                return -1;
        } else if (a[0] == '-' && a[1] != 0)
            return -1;
        else if (!o->file)
            o->file = a;
        else
            return -1;
    }
    return o->file ? 0 : -1;
}

int main(int argc, char **argv)
{
    options o;

    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (parse_options(argc, argv, &o) != 0) {
            usage(stderr);
            return 2;
        }
        return commands[i].run(&o);
    }
    fprintf(stderr, "mlstool: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
