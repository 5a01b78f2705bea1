/*
 * log.c — logfmt on stderr. See log.h.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level log_min = LOG_INFO;

void log_set_level(enum log_level level)
{
    log_min = level;
}

const char *log_q(char *out, size_t outlen, const char *s)
{
    size_t o = 0;

    if (outlen < 3) {
        if (outlen)
            out[0] = '\0';
        return out;
    }
    out[o++] = '"';
    for (; s && *s && o + 3 < outlen; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7f) {
            out[o++] = ' ';
        } else {
            out[o++] = (char)c;
        }
    }
    out[o++] = '"';
    out[o] = '\0';
    return out;
}

void log_at(enum log_level level, const char *msg, const char *kvfmt, ...)
{
    static const char *names[] = { "debug", "info", "warn", "error" };
    char line[2048], q[512];
    int n;

    if (level < log_min)
        return;
    n = snprintf(line, sizeof(line), "level=%s msg=%s", names[level], log_q(q, sizeof(q), msg));
    if (kvfmt && n > 0 && (size_t)n < sizeof(line) - 2) {
        va_list ap;
        line[n++] = ' ';
        va_start(ap, kvfmt);
        vsnprintf(line + n, sizeof(line) - (size_t)n, kvfmt, ap);
        va_end(ap);
    }
    fprintf(stderr, "%s\n", line);
}
