/*
 * The one sanitizer for text that reaches a terminal (both UIs, and the
 * messages main.c prints on stderr): names from credentials, names and
 * reasons the server supplies, message text, system lines.
 *
 * What a terminal would act on, or what hides what a reader sees, is
 * shown visibly instead; every script's ordinary text passes unchanged:
 *
 *   C0 controls and DEL        caret notation: ESC -> "^[", NUL -> "^@",
 *                              LF -> "^J", DEL -> "^?" (tab -> one space)
 *   C1 controls U+0080-U+009F  "<U+009B>"
 *   malformed UTF-8            U+FFFD, once per maximal ill-formed
 *                              subsequence (Unicode §3.9, U+FFFD
 *                              substitution of maximal subparts); also
 *                              overlongs, surrogates and > U+10FFFF
 *   bidi controls              "<U+202E>" (U+202A-U+202E, U+2066-U+2069,
 *                              U+200E, U+200F, U+061C)
 *   invisible format chars     "<U+200B>" (U+200B, U+2060-U+2064, U+FEFF,
 *                              U+00AD, U+180E, Hangul fillers, U+2028/9,
 *                              noncharacters, tags outside a flag
 *                              sequence, ...); ZWJ and ZWNJ are kept
 *   a combining mark with no   gets U+25CC DOTTED CIRCLE as its visible
 *   base before it             base (at the start, or after something
 *                              replaced above)
 *
 * The result is valid UTF-8 and a fixed point: sanitizing it again gives
 * the same bytes.
 */
#ifndef CLI_TEXTSAFE_H
#define CLI_TEXTSAFE_H

#include <stddef.h>
#include <stdint.h>

/* Sanitized copy of s[0..n) (NUL bytes inside count as controls), malloc'd
 * and NUL-terminated; NULL only when memory runs out. */
char *cli_textsafe(const char *s, size_t n);
/* The same for a NUL-terminated string; NULL in gives "". */
char *cli_textsafe_str(const char *s);

/* The same for a message body (received, stored, drawn on the full
 * screen): newlines and tabs are kept as they are (the curses UI draws
 * them as row breaks and spaces to the next tab stop, never as bytes to
 * the terminal; line mode's cli_textsafe shows them as ^J and a space);
 * each piece between them is sanitized alone, so a mark at the start of
 * a line gets its dotted circle. */
char *cli_textsafe_lines(const char *s, size_t n);

/* 1 if code point cp may go to a terminal as it is (the sanitizer keeps
 * it), 0 if it is shown visibly instead.  Context-free: tag characters
 * count as not safe here. */
int cli_textsafe_cp_ok(uint32_t cp);
/* 1 if cp is a combining mark (it belongs to the character before it). */
int cli_textsafe_is_mark(uint32_t cp);

#endif
