/*
 * utf8.h — UTF-8 validation of text before it reaches libfyaml or jansson.
 *
 * libfyaml 0.7.12 accepts invalid UTF-8 and its scanner can loop forever on
 * some invalid bytes inside a directive; jansson rejects it. Every YAML
 * reader in lib/ checks its input with utf8_check() first and reports the
 * first bad byte by line and column. Pure: no allocation, no state.
 */
#ifndef CORDON_UTF8_H
#define CORDON_UTF8_H

#include <stddef.h>

/*
 * Check that s[0..len) is well-formed UTF-8 with no NUL byte: no overlong
 * forms, no UTF-16 surrogates, nothing above U+10FFFF, no truncated
 * sequence. Returns 0 when clean, or -1 with *bad_offset (when not NULL) set
 * to the offset of the first byte that starts a bad sequence (or is NUL).
 */
int utf8_check(const void *s, size_t len, size_t *bad_offset);

/*
 * 1-based line and column of byte offset off in s (off no more than the
 * length of s). Lines end at '\n'; the column counts bytes from the line's
 * start.
 */
void utf8_line_column(const void *s, size_t off, int *line, int *column);

/*
 * As utf8_line_column(), but the column counts characters (UTF-8 lead
 * bytes) rather than bytes; s[0..off) must be valid UTF-8.
 */
void utf8_line_char_column(const void *s, size_t off, int *line, int *column);

#endif
