/*
 * reply.c — a minimal JSON reader for report replies. See reply.h.
 */
#include "reply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_DEPTH_MAX 8

struct rd {
    const char *p, *end;
};

static void ws(struct rd *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
        r->p++;
}

/* A string; copied (truncated, \u escapes outside ASCII become '?') into out when out != NULL. */
static int str(struct rd *r, char *out, size_t outlen)
{
    size_t o = 0;

    if (r->p >= r->end || *r->p != '"')
        return -1;
    r->p++;
    while (r->p < r->end && *r->p != '"') {
        char c = *r->p++;
        if ((unsigned char)c < 0x20)
            return -1;
        if (c == '\\') {
            if (r->p >= r->end)
                return -1;
            c = *r->p++;
            switch (c) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
                c = '\b';
                break;
            case 'f':
                c = '\f';
                break;
            case '"':
            case '\\':
            case '/':
                break;
            case 'u': {
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    char h;
                    if (r->p >= r->end)
                        return -1;
                    h = *r->p++;
                    v <<= 4;
                    if (h >= '0' && h <= '9')
                        v |= (unsigned)(h - '0');
                    else if (h >= 'a' && h <= 'f')
                        v |= (unsigned)(h - 'a' + 10);
                    else if (h >= 'A' && h <= 'F')
                        v |= (unsigned)(h - 'A' + 10);
                    else
                        return -1;
                }
                c = v < 0x80 ? (char)v : '?';
                break;
            }
            default:
                return -1;
            }
        }
        if (out && o + 1 < outlen)
            out[o++] = c;
    }
    if (r->p >= r->end)
        return -1;
    r->p++;
    if (out && outlen)
        out[o] = '\0';
    return 0;
}

static int value(struct rd *r, int depth);

static int number(struct rd *r, int64_t *out, bool *is_int)
{
    const char *s = r->p;
    char tmp[32];
    size_t n;

    *is_int = true;
    if (r->p < r->end && *r->p == '-')
        r->p++;
    while (r->p < r->end && ((*r->p >= '0' && *r->p <= '9') || *r->p == '.' || *r->p == 'e' ||
                             *r->p == 'E' || *r->p == '+' || *r->p == '-')) {
        if (*r->p == '.' || *r->p == 'e' || *r->p == 'E')
            *is_int = false;
        r->p++;
    }
    n = (size_t)(r->p - s);
    if (n == 0 || (n == 1 && *s == '-'))
        return -1;
    if (*is_int && out) {
        char *end;
        if (n >= sizeof(tmp))
            return -1;
        memcpy(tmp, s, n);
        tmp[n] = '\0';
        errno = 0;
        *out = strtoll(tmp, &end, 10);
        if (errno || *end)
            *is_int = false;
    }
    return 0;
}

static int lit(struct rd *r, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0)
        return -1;
    r->p += n;
    return 0;
}

/* Walk an object, calling back for each key with the reader at its value. */
typedef int (*member_fn)(struct rd *r, const char *key, void *ctx, int depth);

static int object(struct rd *r, int depth, member_fn fn, void *ctx)
{
    if (depth > REPLY_DEPTH_MAX || r->p >= r->end || *r->p != '{')
        return -1;
    r->p++;
    ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return 0;
    }
    for (;;) {
        char key[64];
        ws(r);
        if (str(r, key, sizeof(key)))
            return -1;
        ws(r);
        if (r->p >= r->end || *r->p != ':')
            return -1;
        r->p++;
        ws(r);
        if (fn ? fn(r, key, ctx, depth) : value(r, depth + 1))
            return -1;
        ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return 0;
        }
        return -1;
    }
}

static int value(struct rd *r, int depth)
{
    int64_t v;
    bool is_int;

    if (depth > REPLY_DEPTH_MAX || r->p >= r->end)
        return -1;
    switch (*r->p) {
    case '{':
        return object(r, depth, NULL, NULL);
    case '[':
        r->p++;
        ws(r);
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return 0;
        }
        for (;;) {
            ws(r);
            if (value(r, depth + 1))
                return -1;
            ws(r);
            if (r->p < r->end && *r->p == ',') {
                r->p++;
                continue;
            }
            if (r->p < r->end && *r->p == ']') {
                r->p++;
                return 0;
            }
            return -1;
        }
    case '"':
        return str(r, NULL, 0);
    case 't':
        return lit(r, "true");
    case 'f':
        return lit(r, "false");
    case 'n':
        return lit(r, "null");
    default:
        return number(r, &v, &is_int);
    }
}

static int details_member(struct rd *r, const char *key, void *ctx, int depth)
{
    struct reply *out = ctx;
    if (!strcmp(key, "ErrorCode") && r->p < r->end && *r->p == '"')
        return str(r, out->error_code, sizeof(out->error_code));
    if (!strcmp(key, "ErrorMessage") && r->p < r->end && *r->p == '"')
        return str(r, out->error_message, sizeof(out->error_message));
    return value(r, depth + 1);
}

static int top_member(struct rd *r, const char *key, void *ctx, int depth)
{
    struct reply *out = ctx;
    if (!strcmp(key, "reportId") && r->p < r->end && *r->p != '"') {
        bool is_int;
        if (number(r, &out->report_id, &is_int))
            return -1;
        out->has_id = is_int;
        return 0;
    }
    if (!strcmp(key, "status") && r->p < r->end && *r->p == '"')
        return str(r, out->status, sizeof(out->status));
    if (!strcmp(key, "statusDetails") && r->p < r->end && *r->p == '{')
        return object(r, depth + 1, details_member, out);
    return value(r, depth + 1);
}

int reply_parse(const char *buf, size_t len, struct reply *out)
{
    struct rd r = { buf, buf + len };

    memset(out, 0, sizeof(*out));
    if (len > REPLY_MAX_BYTES)
        return -1;
    ws(&r);
    if (object(&r, 0, top_member, out))
        return -1;
    ws(&r);
    return r.p == r.end ? 0 : -1;
}
