/*
 * buf.h — a growable byte buffer with a hard cap (after curl's dynbuf).
 *
 * Every buffer fed from outside is created with the named limit that bounds
 * it; an append past the cap fails with CORDON_ETOOBIG and leaves the buffer
 * as it was. The buffer is always NUL-terminated. Usable on the stack:
 *   struct buf b; buf_init(&b, LIMIT); ...; buf_free(&b);
 */
#ifndef CORDON_BUF_H
#define CORDON_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
    char *ptr;
    size_t len;
    size_t alloc;
    size_t cap; /* maximum len */
};

void buf_init(struct buf *b, size_t cap);
void buf_free(struct buf *b);
/* Empty the buffer, keeping its memory. */
void buf_reset(struct buf *b);
int buf_add(struct buf *b, const void *mem, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Append s as a JSON string literal, quotes included, escaping as RFC 8259 requires. */
int buf_add_json_string(struct buf *b, const char *s, size_t len);
/*
 * Append v as a JSON/YAML number: "%.15g" when that reads back as v (so a
 * value read from 15 significant digits prints as those digits), else
 * "%.17g" (exact). A NaN or infinity prints as "nan"/"inf", which is no
 * JSON number: callers keep them out.
 */
int buf_add_double(struct buf *b, double v);

#endif
