/*
 * The client's parsers of what the server and other members send, the
 * parts that stand alone (src/client/util.h): strict base64 (every binary
 * field of a server event), the TLS vector reader of the chat's
 * GroupContext extensions (group name, administrators), and the sanitizer
 * of text from other members before it reaches the terminal.  The event
 * dispatch itself (session.c on_event) needs a live session and is
 * covered through fuzz_group_process for the MLS part.
 *
 * Input: a mode byte (taken modulo 3), then
 *   0: base64 text: what decodes must encode back to the same text;
 *   1: bytes read as a sequence of opaque<V> vectors: every vector must
 *      lie inside the input and the reader must always advance;
 *   2: text to sanitize (textsafe.h): the result must be printable
 *      (cli_text_printable), sanitizing it again must change nothing, and
 *      printable ASCII must come back unchanged.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "util.h"

static void fuzz_b64(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), *again;
    mls_buf out;

    if (!text)
        abort();
    memcpy(text, data, size);
    text[size] = 0;
    mls_buf_init(&out);
    /* The decoder reads a C string: an embedded NUL ends the text. */
    if (cli_b64_decode(text, &out) == 0) {
        again = cli_b64_encode(out.p, out.n);
        if (!again || strcmp(again, text) != 0)
            abort();
        free(again);
    }
    mls_buf_clear(&out);
    free(text);
}

static void fuzz_vectors(mls_bytes in)
{
    size_t off = 0;
    mls_bytes v;
    while (off < in.n) {
        size_t before = off;
        if (cli_tls_get_vec(in, &off, &v) != 0)
            break;
        if (off <= before || off > in.n || v.p < in.p || v.p + v.n > in.p + off)
            abort();
    }
}

static void fuzz_sanitize(mls_bytes in)
{
    char *s = cli_text_sanitize((const char *)in.p, in.n), *again;
    size_t i;
    int ascii = 1;
    if (!s)
        abort();
    if (!cli_text_printable(s, strlen(s)))
        abort();
    again = cli_text_sanitize(s, strlen(s));
    if (!again || strcmp(again, s) != 0)
        abort();
    for (i = 0; i < in.n; i++)
        if (in.p[i] < 0x20 || in.p[i] > 0x7e)
            ascii = 0;
    if (ascii && (strlen(s) != in.n || memcmp(s, in.p, in.n) != 0))
        abort();
    free(again);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_b64(data + 1, size - 1);
        break;
    case 1:
        fuzz_vectors(mls_bytes_of(data + 1, size - 1));
        break;
    default:
        fuzz_sanitize(mls_bytes_of(data + 1, size - 1));
        break;
    }
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char *seeds[] = {"\x00" "aGVsbG8=", "\x00" "AAEC", "\x00" "",
                                  "\x01" "\x05hello\x40\x41" "0123456789012345678901234567890123456789012345678901234567890123",
                                  "\x02" "hello, world", "\x02" "caf\xc3\xa9 \x1b[31m red \xff"};
    static const size_t lens[] = {9, 5, 1, 73, 13, 20};
    (void)argc;
    (void)argv;
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        fuzz_seed("seed", NULL, 0, mls_bytes_of((const uint8_t *)seeds[i], lens[i]));
    return 0;
}
