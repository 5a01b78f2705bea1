#include "buf.h"

#include "cordon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t cap)
{
    b->ptr = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void buf_free(struct buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = 0;
    b->alloc = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->ptr)
        b->ptr[0] = '\0';
}

/* Make room for `extra` more bytes plus the terminating NUL. */
static int buf_grow(struct buf *b, size_t extra)
{
    size_t need, n;
    char *p;

    if (extra > b->cap || b->len > b->cap - extra)
        return CORDON_ETOOBIG;
    need = b->len + extra + 1;
    if (need <= b->alloc)
        return 0;
    n = b->alloc ? b->alloc : 64;
    while (n < need)
        n *= 2;
    if (n > b->cap + 1)
        n = b->cap + 1;
    p = realloc(b->ptr, n);
    if (!p)
        return CORDON_ENOMEM;
    b->ptr = p;
    b->alloc = n;
    return 0;
}

int buf_add(struct buf *b, const void *mem, size_t len)
{
    int result = buf_grow(b, len);
    if (result)
        return result;
    if (len)
        memcpy(b->ptr + b->len, mem, len);
    b->len += len;
    b->ptr[b->len] = '\0';
    return 0;
}

int buf_adds(struct buf *b, const char *s)
{
    return buf_add(b, s, strlen(s));
}

int buf_addc(struct buf *b, char c)
{
    return buf_add(b, &c, 1);
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;
    int result;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return CORDON_EINVAL;
    result = buf_grow(b, (size_t)n);
    if (result)
        return result;
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int result;

    va_start(ap, fmt);
    result = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return result;
}

int buf_add_json_string(struct buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = b->len;
    int result = buf_addc(b, '"');

    for (size_t i = 0; !result && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];
        switch (c) {
        case '"':
            result = buf_add(b, "\\\"", 2);
            break;
        case '\\':
            result = buf_add(b, "\\\\", 2);
            break;
        case '\n':
            result = buf_add(b, "\\n", 2);
            break;
        case '\r':
            result = buf_add(b, "\\r", 2);
            break;
        case '\t':
            result = buf_add(b, "\\t", 2);
            break;
        default:
            if (c < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                result = buf_add(b, esc, 6);
            } else {
                result = buf_addc(b, (char)c);
            }
        }
    }
    if (!result)
        result = buf_addc(b, '"');
    if (result) {
        b->len = start;
        if (b->ptr)
            b->ptr[start] = '\0';
    }
    return result;
}

int buf_add_double(struct buf *b, double v)
{
    char tmp[40];

    snprintf(tmp, sizeof(tmp), "%.15g", v);
    if (strtod(tmp, NULL) != v)
        snprintf(tmp, sizeof(tmp), "%.17g", v);
    return buf_adds(b, tmp);
}
