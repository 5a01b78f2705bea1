#include "utf8.h"

#include <stdint.h>

int utf8_check(const void *s, size_t len, size_t *bad_offset)
{
    const unsigned char *t = s;
    size_t i = 0;

    while (i < len) {
        unsigned char c = t[i];
        size_t n, k;
        uint32_t cp;

        if (c == 0)
            goto bad;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            goto bad;
        }
        for (k = 1; k <= n; k++) {
            if (i + k >= len || (t[i + k] & 0xc0) != 0x80)
                goto bad;
            cp = (cp << 6) | (t[i + k] & 0x3f);
        }
        /* overlong, surrogate or beyond U+10FFFF */
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            goto bad;
        i += n + 1;
    }
    return 0;
bad:
    if (bad_offset)
        *bad_offset = i;
    return -1;
}

static void line_column(const unsigned char *t, size_t off, int chars, int *line, int *column)
{
    int l = 1, c = 1;

    for (size_t i = 0; i < off; i++) {
        if (t[i] == '\n') {
            l++;
            c = 1;
        } else if (!chars || (t[i] & 0xc0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *column = c;
}

void utf8_line_column(const void *s, size_t off, int *line, int *column)
{
    line_column(s, off, 0, line, column);
}

void utf8_line_char_column(const void *s, size_t off, int *line, int *column)
{
    line_column(s, off, 1, line, column);
}
