/*
 * report.c — Device Defender metrics reports: strict single-pass decoder,
 * encoder, equality and the IP / thing-name helpers.
 *
 * The decoder walks the bytes once, directed by the schema: each object of
 * the report has its own small function that matches keys (long or short
 * form, by length then memcmp) and parses the value straight into struct
 * report. There is no DOM and no allocation; unknown keys are skipped by a
 * validating skipper. The first error in byte order wins and is reported
 * with its byte offset and the path of keys as written in the input.
 *
 * Rules and limits: docs/report-format.md (spec: device-defender-spec.md §1).
 */
#include "report.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The hot path is a handful of tiny scanners; make sure they are inlined
 * into the schema functions, and keep error paths out of the way. */
#define HOT  static inline __attribute__((always_inline))
#define COLD __attribute__((cold, noinline))

/* ======================================================================
 * struct report lifetime
 * ====================================================================== */

int report_init(struct report *r)
{
    memset(r, 0, sizeof(*r));
    r->tcp_ports.v = calloc(PORTS_MAX, sizeof(*r->tcp_ports.v));
    r->udp_ports.v = calloc(PORTS_MAX, sizeof(*r->udp_ports.v));
    r->conns.v = calloc(CONNECTIONS_MAX, sizeof(*r->conns.v));
    r->custom = calloc(CUSTOM_METRICS_MAX, sizeof(*r->custom));
    r->numbers = calloc(CUSTOM_VALUES_MAX, sizeof(*r->numbers));
    r->ips = calloc(CUSTOM_VALUES_MAX, sizeof(*r->ips));
    r->strs = calloc(CUSTOM_VALUES_MAX, sizeof(*r->strs));
    r->strpool = calloc(CUSTOM_STRPOOL_MAX, 1);
    if (!r->tcp_ports.v || !r->udp_ports.v || !r->conns.v || !r->custom || !r->numbers || !r->ips ||
        !r->strs || !r->strpool) {
        report_free(r);
        return CORDON_ENOMEM;
    }
    report_reset(r);
    return 0;
}

void report_free(struct report *r)
{
    free(r->tcp_ports.v);
    free(r->udp_ports.v);
    free(r->conns.v);
    free(r->custom);
    free(r->numbers);
    free(r->ips);
    free(r->strs);
    free(r->strpool);
    memset(r, 0, sizeof(*r));
}

void report_reset(struct report *r)
{
    r->report_id = 0;
    r->version_major = 1;
    r->version_minor = 0;
    r->tcp_ports.present = false;
    r->tcp_ports.total = 0;
    r->tcp_ports.count = 0;
    r->udp_ports.present = false;
    r->udp_ports.total = 0;
    r->udp_ports.count = 0;
    r->conns.present = false;
    r->conns.total = 0;
    r->conns.count = 0;
    memset(&r->net, 0, sizeof(r->net));
    r->ncustom = 0;
    r->nvalues = 0;
    r->strpool_len = 0;
    r->unknown_keys = 0;
}

/* ======================================================================
 * Character-level helpers (pure)
 * ====================================================================== */

/* Length of the valid UTF-8 sequence starting at p (lead byte >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t avail = (size_t)(end - p);

    if (c >= 0xC2 && c <= 0xDF) {
        if (avail < 2 || (p[1] & 0xC0) != 0x80)
            return 0;
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
            return 0;
        if (c == 0xE0 && p[1] < 0xA0) /* overlong */
            return 0;
        if (c == 0xED && p[1] > 0x9F) /* UTF-16 surrogate */
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && p[1] < 0x90) /* overlong */
            return 0;
        if (c == 0xF4 && p[1] > 0x8F) /* above U+10FFFF */
            return 0;
        return 4;
    }
    return 0;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at p (p + 4 <= end checked by the caller), or -1. */
static long hex4(const unsigned char *p)
{
    int a = hexval(p[0]), b = hexval(p[1]), c = hexval(p[2]), d = hexval(p[3]);
    if ((a | b | c | d) < 0)
        return -1;
    return (long)((a << 12) | (b << 8) | (c << 4) | d);
}

/*
 * Decode the body of a JSON string already validated by scan_string into
 * out[0..cap). Returns the full decoded length, which may exceed cap (then
 * only cap bytes were written).
 */
static size_t json_unescape(const char *s, size_t n, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    size_t o = 0;

    while (p < end) {
        unsigned long cp;
        unsigned char tmp[4];
        size_t k;

        if (*p != '\\') {
            if (o < cap)
                out[o] = (char)*p;
            o++;
            p++;
            continue;
        }
        p++;
        switch (*p) {
        case 'b':
            cp = '\b';
            break;
        case 'f':
            cp = '\f';
            break;
        case 'n':
            cp = '\n';
            break;
        case 'r':
            cp = '\r';
            break;
        case 't':
            cp = '\t';
            break;
        case 'u':
            cp = (unsigned long)hex4(p + 1);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned long lo = (unsigned long)hex4(p + 7);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            p += 4;
            break;
        default: /* " \ / */
            cp = *p;
        }
        p++;
        if (cp < 0x80) {
            tmp[0] = (unsigned char)cp;
            k = 1;
        } else if (cp < 0x800) {
            tmp[0] = (unsigned char)(0xC0 | (cp >> 6));
            tmp[1] = (unsigned char)(0x80 | (cp & 0x3F));
            k = 2;
        } else if (cp < 0x10000) {
            tmp[0] = (unsigned char)(0xE0 | (cp >> 12));
            tmp[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            tmp[2] = (unsigned char)(0x80 | (cp & 0x3F));
            k = 3;
        } else {
            tmp[0] = (unsigned char)(0xF0 | (cp >> 18));
            tmp[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
            tmp[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
            tmp[3] = (unsigned char)(0x80 | (cp & 0x3F));
            k = 4;
        }
        for (size_t i = 0; i < k; i++, o++)
            if (o < cap)
                out[o] = (char)tmp[i];
    }
    return o;
}

/* ======================================================================
 * IP addresses, thing names
 * ====================================================================== */

/*
 * Dotted quad at s (decimal, no leading zeros: the inet_pton(AF_INET)
 * language). Returns the end of the address, or NULL.
 */
static inline const char *ip4_scan(const char *s, const char *end, uint8_t out[4])
{
    for (int part = 0; part < 4; part++) {
        unsigned v;
        if (part > 0) {
            if (s >= end || *s != '.')
                return NULL;
            s++;
        }
        if (s >= end || *s < '0' || *s > '9')
            return NULL;
        v = (unsigned)(*s++ - '0');
        if (v != 0) {
            for (int k = 0; k < 2 && s < end && *s >= '0' && *s <= '9'; k++)
                v = v * 10 + (unsigned)(*s++ - '0');
        }
        if (v > 255 || (s < end && *s >= '0' && *s <= '9'))
            return NULL;
        out[part] = (uint8_t)v;
    }
    return s;
}

static int ip4_parse(const char *s, size_t len, uint8_t out[4])
{
    return ip4_scan(s, s + len, out) == s + len ? 0 : CORDON_EINVAL;
}

/*
 * IPv6 text (RFC 4291 §2.2) in exactly the language of glibc's
 * inet_pton(AF_INET6): 1..4 hex digits per group, one "::" at most, an
 * optional dotted quad in the last 32 bits, no zone id. Length-delimited,
 * so the input needs no NUL and is not copied (the differential fuzz target
 * holds it to inet_pton).
 */
static int ip6_parse(const char *s, size_t len, uint8_t out[16])
{
    uint8_t tmp[16];
    size_t tp = 0, i = 0, curtok;
    long colonp = -1;
    unsigned val = 0;
    int ndig = 0;

    memset(tmp, 0, sizeof(tmp));
    if (len == 0)
        return CORDON_EINVAL;
    if (s[0] == ':') {
        if (len < 2 || s[1] != ':')
            return CORDON_EINVAL;
        i = 1;
    }
    curtok = i;
    while (i < len) {
        char ch = s[i++];
        int h = hexval((unsigned char)ch);
        if (h >= 0) {
            if (++ndig > 4)
                return CORDON_EINVAL;
            val = (val << 4) | (unsigned)h;
            continue;
        }
        if (ch == ':') {
            curtok = i;
            if (!ndig) {
                if (colonp >= 0)
                    return CORDON_EINVAL;
                colonp = (long)tp;
                continue;
            }
            if (i >= len || tp + 2 > 16)
                return CORDON_EINVAL;
            tmp[tp++] = (uint8_t)(val >> 8);
            tmp[tp++] = (uint8_t)val;
            ndig = 0;
            val = 0;
            continue;
        }
        if (ch == '.' && tp + 4 <= 16 && ip4_parse(s + curtok, len - curtok, tmp + tp) == 0) {
            tp += 4;
            ndig = 0;
            break;
        }
        return CORDON_EINVAL;
    }
    if (ndig) {
        if (tp + 2 > 16)
            return CORDON_EINVAL;
        tmp[tp++] = (uint8_t)(val >> 8);
        tmp[tp++] = (uint8_t)val;
    }
    if (colonp >= 0) {
        size_t n = tp - (size_t)colonp;
        if (tp == 16)
            return CORDON_EINVAL;
        memmove(tmp + 16 - n, tmp + colonp, n);
        memset(tmp + colonp, 0, 16 - n - (size_t)colonp);
        tp = 16;
    }
    if (tp != 16)
        return CORDON_EINVAL;
    memcpy(out, tmp, 16);
    return 0;
}

int report_ip_parse(const char *s, size_t len, struct report_ip *ip)
{
    memset(ip, 0, sizeof(*ip));
    if (!memchr(s, ':', len)) {
        if (ip4_parse(s, len, ip->addr))
            return CORDON_EINVAL;
        ip->family = 4;
        return 0;
    }
    if (ip6_parse(s, len, ip->addr)) {
        memset(ip, 0, sizeof(*ip));
        return CORDON_EINVAL;
    }
    ip->family = 6;
    return 0;
}

void report_ip_format(const struct report_ip *ip, char *out, size_t outlen)
{
    if (!outlen)
        return;
    if (ip->family == 4) {
        snprintf(out, outlen, "%u.%u.%u.%u", ip->addr[0], ip->addr[1], ip->addr[2], ip->addr[3]);
    } else if (ip->family == 6) {
        if (!inet_ntop(AF_INET6, ip->addr, out, (socklen_t)outlen))
            out[0] = '\0';
    } else {
        out[0] = '\0';
    }
}

int report_thing_name_check(const char *name, size_t len)
{
    const unsigned char *p = (const unsigned char *)name, *end = p + len;

    if (len == 0 || len > THING_NAME_MAX)
        return CORDON_EINVAL;
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            if (c < 0x20 || c == 0x7F || c == '+' || c == '#' || c == '/')
                return CORDON_EINVAL;
            p++;
            continue;
        }
        size_t n = utf8_seq(p, end);
        if (!n)
            return CORDON_EINVAL;
        if (c == 0xC2 && p[1] < 0xA0) /* C1 control characters U+0080..U+009F */
            return CORDON_EINVAL;
        p += n;
    }
    return 0;
}

/* ======================================================================
 * Decoder state, errors and paths
 * ====================================================================== */

#define SEG_MAX           (2 * REPORT_MAX_DEPTH + 2) /* a key and an index per level */
#define KEYBUF_MAX        160 /* decoded key bytes kept (>= METRIC_NAME_MAX) */
#define PATH_KEY_SHOW     64  /* bytes of one key shown in a message */
#define VALUE_SHOW        40  /* bytes of a value shown in a message */
#define NUMBER_TEXT_MAX   64  /* characters of a custom number */
#define NUMBER_DIGITS_MAX 15

struct seg {
    const char *key; /* NULL: array index */
    uint32_t len;
    uint32_t index;
};

struct dec {
    const char *buf;
    const char *p;
    const char *end;
    struct report *r;
    const struct report_decode_opts *opts;
    struct cordon_diag *diag;
    int depth;
    bool fast; /* speculative compact entries allowed */
    int nseg;
    struct seg seg[SEG_MAX];
};

/* A key of an object member: as written (raw) and decoded (s, n). */
struct key {
    const char *at;  /* the opening quote */
    const char *raw; /* between the quotes */
    size_t rawlen;
    const char *s; /* decoded bytes: raw when it had no escape, else buf */
    size_t n;      /* decoded length (may exceed KEYBUF_MAX: then s is cut) */
    int id;        /* index in the schema's key table, -1 = unknown */
    char buf[KEYBUF_MAX];
};

static void path_push_key(struct dec *d, const char *key, size_t len)
{
    if (d->nseg < SEG_MAX) {
        d->seg[d->nseg].key = key;
        d->seg[d->nseg].len = (uint32_t)len;
        d->seg[d->nseg].index = 0;
    }
    d->nseg++;
}

static void path_push_index(struct dec *d, uint32_t index)
{
    if (d->nseg < SEG_MAX) {
        d->seg[d->nseg].key = NULL;
        d->seg[d->nseg].len = 0;
        d->seg[d->nseg].index = index;
    }
    d->nseg++;
}

static void path_pop(struct dec *d)
{
    d->nseg--;
}

/* Bytes of s[0..n) that fit in max, not cutting a UTF-8 sequence. */
static size_t cut_utf8(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return max;
}

static size_t path_format(const struct dec *d, char *out, size_t cap)
{
    size_t o = 0;
    int n = d->nseg < SEG_MAX ? d->nseg : SEG_MAX;

    out[0] = '\0';
    for (int i = 0; i < n && o < cap; i++) {
        const struct seg *s = &d->seg[i];
        int w;
        if (s->key) {
            size_t k = cut_utf8(s->key, s->len, PATH_KEY_SHOW);
            w = snprintf(out + o, cap - o, "%s%.*s%s", o ? "." : "", (int)k, s->key,
                         k < s->len ? "..." : "");
        } else {
            w = snprintf(out + o, cap - o, "[%u]", s->index);
        }
        if (w < 0)
            break;
        o += (size_t)w;
    }
    return o < cap ? o : cap - 1;
}

/*
 * Record the rejection in the diag and return err. `at` points into the
 * input; the message is "PATH: text (at byte N)".
 */
__attribute__((format(printf, 5, 6))) COLD static int fail(struct dec *d, int err, const char *code,
                                                           const char *at, const char *fmt, ...)
{
    char path[1024], text[320];
    size_t off, plen, mlen;
    va_list ap;

    if (!d->diag)
        return err;
    if (at < d->buf)
        at = d->buf;
    if (at > d->end)
        at = d->end;
    off = (size_t)(at - d->buf);
    plen = path_format(d, path, sizeof(path));
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    cordon_diag_set(d->diag, code, off, 0, 0, "%s%s%s (at byte %zu)", path, plen ? ": " : "", text,
                    off);
    /* a message cut at its cap must stay valid UTF-8 (it goes into a JSON reply) */
    mlen = strlen(d->diag->message);
    if (mlen == sizeof(d->diag->message) - 1) {
        size_t k = mlen;
        unsigned char lead;
        while (k > 0 && ((unsigned char)d->diag->message[k - 1] & 0xC0) == 0x80)
            k--;
        lead = k > 0 ? (unsigned char)d->diag->message[k - 1] : 0;
        if (lead >= 0xC0 && mlen - (k - 1) < (size_t)(lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2))
            d->diag->message[k - 1] = '\0';
    }
    return err;
}

COLD static int fail_syntax(struct dec *d, const char *at, const char *what)
{
    if (at >= d->end)
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_PAYLOAD, at,
                    "invalid JSON: unexpected end of input, %s", what);
    return fail(d, CORDON_EINVAL, REPORT_E_INVALID_PAYLOAD, at, "invalid JSON: %s", what);
}

COLD static int fail_missing(struct dec *d, const char *at, const char *name)
{
    int rc;
    path_push_key(d, name, strlen(name));
    rc = fail(d, CORDON_EINVAL, REPORT_E_MISSING_FIELD, at, "required field missing");
    path_pop(d);
    return rc;
}

/* ======================================================================
 * JSON scanning
 * ====================================================================== */

HOT void skip_ws(struct dec *d)
{
    const char *p = d->p, *end = d->end;
    /* compact JSON has none: one compare in the common case */
    if (p < end && (unsigned char)*p > ' ')
        return;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    d->p = p;
}

/* Bytes that stand for themselves in a JSON string: printable ASCII but '"' and '\\'. */
/* clang-format off */
static const uint8_t str_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */

/*
 * Validate the string starting at the quote d->p: escapes (\uXXXX with
 * surrogate pairs), UTF-8, no raw control characters. On success raw and rawlen
 * span the body, *esc tells whether it holds an escape, d->p is past the
 * closing quote.
 */
COLD static int scan_string(struct dec *d, const char **raw, size_t *rawlen, bool *esc)
{
    const unsigned char *start = (const unsigned char *)d->p + 1;
    const unsigned char *p = start, *end = (const unsigned char *)d->end;
    bool has_esc = false;

    for (;;) {
        while (end - p >= 4 && str_plain[p[0]] && str_plain[p[1]] && str_plain[p[2]] &&
               str_plain[p[3]])
            p += 4;
        while (p < end && str_plain[*p])
            p++;
        if (p >= end)
            return fail_syntax(d, (const char *)p, "unterminated string");
        if (*p == '"')
            break;
        if (*p == '\\') {
            has_esc = true;
            if (p + 1 >= end)
                return fail_syntax(d, (const char *)end, "unterminated string");
            switch (p[1]) {
            case '"':
            case '\\':
            case '/':
            case 'b':
            case 'f':
            case 'n':
            case 'r':
            case 't':
                p += 2;
                continue;
            case 'u': {
                long u;
                if (end - p < 6 || (u = hex4(p + 2)) < 0)
                    return fail_syntax(d, (const char *)p, "invalid \\u escape");
                if (u >= 0xDC00 && u <= 0xDFFF)
                    return fail_syntax(d, (const char *)p, "unpaired UTF-16 surrogate escape");
                if (u >= 0xD800 && u <= 0xDBFF) {
                    long lo;
                    if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || (lo = hex4(p + 8)) < 0 ||
                        lo < 0xDC00 || lo > 0xDFFF)
                        return fail_syntax(d, (const char *)p, "unpaired UTF-16 surrogate escape");
                    p += 12;
                } else {
                    p += 6;
                }
                continue;
            }
            default:
                return fail_syntax(d, (const char *)p, "invalid escape in string");
            }
        }
        if (*p < 0x20)
            return fail_syntax(d, (const char *)p, "control character in string");
        size_t n = utf8_seq(p, end);
        if (!n)
            return fail_syntax(d, (const char *)p, "invalid UTF-8 in string");
        p += n;
    }
    *raw = (const char *)start;
    *rawlen = (size_t)(p - start);
    *esc = has_esc;
    d->p = (const char *)p + 1;
    return 0;
}

/* scan_string with the common case inline: plain ASCII up to the quote. */
HOT int scan_str(struct dec *d, const char **raw, size_t *rawlen, bool *esc)
{
    const unsigned char *start = (const unsigned char *)d->p + 1;
    const unsigned char *p = start, *end = (const unsigned char *)d->end;

    while (p < end && str_plain[*p])
        p++;
    if (p < end && *p == '"') {
        *raw = (const char *)start;
        *rawlen = (size_t)(p - start);
        *esc = false;
        d->p = (const char *)p + 1;
        return 0;
    }
    return scan_string(d, raw, rawlen, esc);
}

/* Validate a JSON number at d->p; *is_int when it has no fraction or exponent. */
static int scan_number(struct dec *d, bool *is_int)
{
    const char *p = d->p, *end = d->end;

    *is_int = true;
    if (p < end && *p == '-')
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return fail_syntax(d, p, "invalid number");
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9')
            return fail_syntax(d, p, "leading zero in number");
    } else {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && *p == '.') {
        *is_int = false;
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail_syntax(d, p, "invalid number");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        *is_int = false;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return fail_syntax(d, p, "invalid number");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    d->p = p;
    return 0;
}

HOT bool take_null(struct dec *d)
{
    if (d->p < d->end && *d->p == 'n' && d->end - d->p >= 4 && memcmp(d->p, "null", 4) == 0) {
        d->p += 4;
        return true;
    }
    return false;
}

static int take_literal(struct dec *d, const char *lit, size_t n)
{
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, lit, n) != 0)
        return fail_syntax(d, d->p, "invalid literal");
    d->p += n;
    return 0;
}

/* What kind of JSON value starts at p, for messages; NULL if none does. */
static const char *value_kind(const struct dec *d)
{
    if (d->p >= d->end)
        return NULL;
    switch (*d->p) {
    case '"':
        return "a string";
    case '{':
        return "an object";
    case '[':
        return "an array";
    case 't':
    case 'f':
        return "a boolean";
    case 'n':
        return "null";
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        return "a number";
    }
    return NULL;
}

/* The value at d->p is not of the wanted type. */
COLD static int fail_type(struct dec *d, const char *want)
{
    const char *kind = value_kind(d);
    if (!kind)
        return fail_syntax(d, d->p, "expected a value");
    return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, d->p, "expected %s, got %s", want, kind);
}

HOT int depth_enter(struct dec *d)
{
    if (++d->depth > REPORT_MAX_DEPTH)
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_PAYLOAD, d->p,
                    "nesting deeper than %d (REPORT_MAX_DEPTH)", REPORT_MAX_DEPTH);
    return 0;
}

HOT int obj_open(struct dec *d, const char *want)
{
    if (d->p >= d->end || *d->p != '{')
        return fail_type(d, want);
    if (depth_enter(d))
        return CORDON_EINVAL;
    d->p++;
    return 0;
}

HOT int arr_open(struct dec *d, const char *want)
{
    if (d->p >= d->end || *d->p != '[')
        return fail_type(d, want);
    if (depth_enter(d))
        return CORDON_EINVAL;
    d->p++;
    return 0;
}

/*
 * Next member of the object being read: returns 0 with the key in k and
 * d->p at its value, 1 at the closing brace (consumed), or an error.
 */
HOT int obj_next(struct dec *d, bool *first, struct key *k)
{
    bool esc;
    int rc;

    skip_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        d->depth--;
        return 1;
    }
    if (!*first) {
        if (d->p >= d->end || *d->p != ',')
            return fail_syntax(d, d->p, "expected ',' or '}'");
        d->p++;
        skip_ws(d);
    }
    *first = false;
    if (d->p >= d->end || *d->p != '"')
        return fail_syntax(d, d->p, "expected a key string");
    k->at = d->p;
    rc = scan_str(d, &k->raw, &k->rawlen, &esc);
    if (rc)
        return rc;
    if (esc) {
        k->n = json_unescape(k->raw, k->rawlen, k->buf, sizeof(k->buf));
        k->s = k->buf;
    } else {
        k->s = k->raw;
        k->n = k->rawlen;
    }
    if (d->p < d->end && *d->p == ':') {
        d->p++;
    } else {
        skip_ws(d);
        if (d->p >= d->end || *d->p != ':')
            return fail_syntax(d, d->p, "expected ':'");
        d->p++;
    }
    skip_ws(d);
    return 0;
}

/* Next element of the array being read: 0 = element at d->p, 1 = end. */
HOT int arr_next(struct dec *d, bool *first)
{
    skip_ws(d);
    if (d->p < d->end && *d->p == ']') {
        d->p++;
        d->depth--;
        return 1;
    }
    if (!*first) {
        if (d->p >= d->end || *d->p != ',')
            return fail_syntax(d, d->p, "expected ',' or ']'");
        d->p++;
        skip_ws(d);
    }
    *first = false;
    return 0;
}

/* Skip any JSON value, validating it. */
static int skip_value(struct dec *d)
{
    const char *raw;
    size_t rawlen;
    bool esc, first, is_int;
    struct key k;
    int rc;

    if (d->p >= d->end)
        return fail_syntax(d, d->p, "expected a value");
    switch (*d->p) {
    case '"':
        return scan_str(d, &raw, &rawlen, &esc);
    case '{':
        if (depth_enter(d))
            return CORDON_EINVAL;
        d->p++;
        first = true;
        while ((rc = obj_next(d, &first, &k)) == 0) {
            path_push_key(d, k.raw, k.rawlen);
            if ((rc = skip_value(d)))
                return rc;
            path_pop(d);
        }
        return rc < 0 ? rc : 0;
    case '[': {
        uint32_t i = 0;
        if (depth_enter(d))
            return CORDON_EINVAL;
        d->p++;
        first = true;
        while ((rc = arr_next(d, &first)) == 0) {
            path_push_index(d, i++);
            if ((rc = skip_value(d)))
                return rc;
            path_pop(d);
        }
        return rc < 0 ? rc : 0;
    }
    case 't':
        return take_literal(d, "true", 4);
    case 'f':
        return take_literal(d, "false", 5);
    case 'n':
        return take_literal(d, "null", 4);
    default:
        if (*d->p != '-' && (*d->p < '0' || *d->p > '9'))
            return fail_syntax(d, d->p, "expected a value");
        return scan_number(d, &is_int);
    }
}

/* ======================================================================
 * Keys of the schema
 * ====================================================================== */

struct keydef {
    const char *l; /* long */
    const char *s; /* short */
    uint8_t ll, sl;
    /* the names followed by the closing quote, zero padded, for word compares */
    char lq[32], sq[32];
};

#define KD(l, s)                                                                                   \
    {                                                                                              \
        l, s, sizeof(l) - 1, sizeof(s) - 1, l "\"", s "\""                                         \
    }

enum { K_HEADER, K_METRICS, K_CUSTOM };
static const struct keydef keys_root[] = { KD("header", "hed"), KD("metrics", "met"),
                                           KD("custom_metrics", "cmet") };
enum { K_REPORT_ID, K_VERSION };
static const struct keydef keys_header[] = { KD("report_id", "rid"), KD("version", "v") };
enum { K_TC, K_TP, K_UP, K_NS };
static const struct keydef keys_metrics[] = { KD("tcp_connections", "tc"),
                                              KD("listening_tcp_ports", "tp"),
                                              KD("listening_udp_ports", "up"),
                                              KD("network_stats", "ns") };
enum { K_EC };
static const struct keydef keys_tc[] = { KD("established_connections", "ec") };
enum { K_CS, K_EC_TOTAL };
static const struct keydef keys_ec[] = { KD("connections", "cs"), KD("total", "t") };
enum { K_RAD, K_LP, K_LI };
static const struct keydef keys_conn[] = { KD("remote_addr", "rad"), KD("local_port", "lp"),
                                           KD("local_interface", "li") };
enum { K_PTS, K_PTS_TOTAL };
static const struct keydef keys_ports[] = { KD("ports", "pts"), KD("total", "t") };
enum { K_PT, K_IF };
static const struct keydef keys_port[] = { KD("port", "pt"), KD("interface", "if") };
static const struct keydef keys_ns[] = { KD("bytes_in", "bi"), KD("bytes_out", "bo"),
                                         KD("packets_in", "pi"), KD("packets_out", "po") };
/* custom value types: the same key in both forms */
static const struct keydef keys_cvalue[] = { KD("number", "number"),
                                             KD("number_list", "number_list"),
                                             KD("string_list", "string_list"),
                                             KD("ip_list", "ip_list") };

#define NKEYS(t) ((int)(sizeof(t) / sizeof((t)[0])))

/* Index of k in t (long or short form), or -1. */
static inline bool bytes_eq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/* All ones over the first n bytes (1..8) of a word loaded from memory. */
HOT uint64_t word_mask(unsigned n)
{
    if (n >= 8)
        return ~(uint64_t)0;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return ~(uint64_t)0 << (8 * (8 - n));
#else
    return ((uint64_t)1 << (8 * n)) - 1;
#endif
}

/* Do the n bytes at p (avail readable) equal kw (a padded keydef name with
 * its closing quote, n <= 24)? Word compares when 24 bytes are readable. */
HOT bool key_at(const char *p, size_t avail, const char *kw, unsigned n)
{
    uint64_t a, b;

    if (avail < 24)
        return n <= avail && bytes_eq(p, kw, n);
    memcpy(&a, p, 8);
    memcpy(&b, kw, 8);
    if (n <= 8)
        return ((a ^ b) & word_mask(n)) == 0;
    if (a != b)
        return false;
    memcpy(&a, p + 8, 8);
    memcpy(&b, kw + 8, 8);
    if (n <= 16)
        return ((a ^ b) & word_mask(n - 8)) == 0;
    if (a != b)
        return false;
    memcpy(&a, p + 16, 8);
    memcpy(&b, kw + 16, 8);
    return ((a ^ b) & word_mask(n - 16)) == 0;
}

static inline int key_find(const struct keydef *t, int n, const struct key *k)
{
    for (int i = 0; i < n; i++) {
        if ((k->n == t[i].ll && bytes_eq(k->s, t[i].l, t[i].ll)) ||
            (k->n == t[i].sl && bytes_eq(k->s, t[i].s, t[i].sl)))
            return i;
    }
    return -1;
}

/*
 * obj_next for an object of the schema: the key is matched against table t
 * straight from the input (word compares, closing quote included), so known
 * keys are never scanned twice; k->id is the index in t or -1. Keys with
 * escapes or unknown keys take the general path.
 */
HOT int obj_next_key(struct dec *d, bool *first, struct key *k, const struct keydef *t, int nt)
{
    const char *p;
    size_t avail;
    bool esc;
    int rc;

    skip_ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        d->depth--;
        return 1;
    }
    if (!*first) {
        if (d->p >= d->end || *d->p != ',')
            return fail_syntax(d, d->p, "expected ',' or '}'");
        d->p++;
        skip_ws(d);
    }
    *first = false;
    if (d->p >= d->end || *d->p != '"')
        return fail_syntax(d, d->p, "expected a key string");
    k->at = d->p;
    p = d->p + 1;
    avail = (size_t)(d->end - p);
    for (int i = 0; avail >= 2 && i < nt; i++) {
        unsigned n = 0;
        /* the first two bytes rule out most candidates without a word compare
         * (a one-letter key's second byte is its closing quote) */
        if (p[0] == t[i].lq[0] && p[1] == t[i].lq[1] && key_at(p, avail, t[i].lq, t[i].ll + 1u))
            n = t[i].ll;
        else if (p[0] == t[i].sq[0] && p[1] == t[i].sq[1] &&
                 key_at(p, avail, t[i].sq, t[i].sl + 1u))
            n = t[i].sl;
        if (n) {
            k->raw = k->s = p;
            k->rawlen = k->n = n;
            k->id = i;
            d->p = p + n + 1;
            goto colon;
        }
    }
    rc = scan_str(d, &k->raw, &k->rawlen, &esc);
    if (rc)
        return rc;
    if (esc) {
        k->n = json_unescape(k->raw, k->rawlen, k->buf, sizeof(k->buf));
        k->s = k->buf;
    } else {
        k->s = k->raw;
        k->n = k->rawlen;
    }
    k->id = key_find(t, nt, k);
colon:
    if (d->p < d->end && *d->p == ':') {
        d->p++;
    } else {
        skip_ws(d);
        if (d->p >= d->end || *d->p != ':')
            return fail_syntax(d, d->p, "expected ':'");
        d->p++;
    }
    skip_ws(d);
    return 0;
}

/* Is k written in short form? (Used only to name missing fields alike.) */
static bool key_is_short(const struct keydef *kd, const struct key *k)
{
    return k->n == kd->sl && memcmp(k->s, kd->s, kd->sl) == 0;
}

static const char *key_name(const struct keydef *kd, bool short_form)
{
    return short_form ? kd->s : kd->l;
}

/*
 * Begin the member whose key k matched t[id]: pushes the key on the path and
 * rejects a field already given (seen bit), in either form.
 */
HOT int member_begin(struct dec *d, const struct keydef *kd, int id, const struct key *k,
                     uint32_t *seen)
{
    path_push_key(d, k->raw, k->rawlen);
    if (*seen & (1u << id))
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, k->at, "field given twice (%s / %s)",
                    kd->l, kd->s);
    *seen |= 1u << id;
    return 0;
}

/* An unknown key: count it and skip its value. */
static int member_unknown(struct dec *d, const struct key *k)
{
    int rc;
    d->r->unknown_keys++;
    path_push_key(d, k->raw, k->rawlen);
    rc = skip_value(d);
    path_pop(d);
    return rc;
}

/* ======================================================================
 * Values
 * ====================================================================== */

enum int_kind { IK_PORT, IK_LOCAL_PORT, IK_COUNT, IK_DELTA, IK_REPORT_ID };

static const struct {
    const char *noun;
    const char *range;
    uint64_t min, max;
} int_kinds[] = {
    [IK_PORT] = { "a port", "1..65535", 1, 65535 },
    [IK_LOCAL_PORT] = { "a port number", "0..65535", 0, 65535 },
    [IK_COUNT] = { "a count", "0..4294967295", 0, UINT32_MAX },
    [IK_DELTA] = { "a delta", "0..18446744073709551615", 0, UINT64_MAX },
    [IK_REPORT_ID] = { "a report id", "0..9223372036854775807", 0, INT64_MAX },
};

/* An integer of the given kind (JSON integer syntax, range checked). */
HOT int parse_int(struct dec *d, enum int_kind kind, uint64_t *out)
{
    const char *p = d->p, *end = d->end, *start = p;
    uint64_t v = 0;
    bool overflow = false, is_int;
    int rc;

    if (p < end && *p >= '1' && *p <= '9') {
        /* fast path: a plain unsigned integer; 19 digits cannot overflow */
        const char *stop = end - p > 19 ? p + 19 : end;
        while (p < stop && *p >= '0' && *p <= '9')
            v = v * 10 + (unsigned)(*p++ - '0');
        while (p < end && *p >= '0' && *p <= '9') {
            unsigned dig = (unsigned)(*p - '0');
            if (v > (UINT64_MAX - dig) / 10)
                overflow = true;
            else
                v = v * 10 + dig;
            p++;
        }
        if (p >= end || (*p != '.' && *p != 'e' && *p != 'E')) {
            if (!overflow && v >= int_kinds[kind].min && v <= int_kinds[kind].max) {
                d->p = p;
                *out = v;
                return 0;
            }
            goto range;
        }
    } else if (p < end && *p == '0') {
        if (p + 1 >= end ||
            (p[1] != '.' && p[1] != 'e' && p[1] != 'E' && (p[1] < '0' || p[1] > '9'))) {
            if (int_kinds[kind].min > 0) {
                p++;
                goto range;
            }
            d->p = p + 1;
            *out = 0;
            return 0;
        }
    } else if (p >= end || *p != '-') {
        return fail_type(d, kind == IK_PORT ? "a port (integer 1..65535)" : "an integer");
    }
    /* negative, fraction, exponent or leading zero: validate, then reject */
    d->p = start;
    rc = scan_number(d, &is_int);
    if (rc)
        return rc;
    p = d->p;
range:
    d->p = start;
    {
        size_t n = (size_t)(p - start);
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, start,
                    "%.*s%s is not %s (integer %s)", (int)(n > VALUE_SHOW ? VALUE_SHOW : n), start,
                    n > VALUE_SHOW ? "..." : "", int_kinds[kind].noun, int_kinds[kind].range);
    }
}

/* A string value, decoded into out[0..cap); *n = full decoded length. */
static int parse_string(struct dec *d, const char *want, char *out, size_t cap, size_t *n,
                        const char **raw, size_t *rawlen)
{
    bool esc;
    int rc;

    if (d->p >= d->end || *d->p != '"')
        return fail_type(d, want);
    rc = scan_str(d, raw, rawlen, &esc);
    if (rc)
        return rc;
    if (!esc) {
        memcpy(out, *raw, *rawlen < cap ? *rawlen : cap);
        *n = *rawlen;
    } else {
        *n = json_unescape(*raw, *rawlen, out, cap);
    }
    return 0;
}

COLD static int fail_value(struct dec *d, const char *at, const char *raw, size_t rawlen,
                           const char *what)
{
    size_t k = cut_utf8(raw, rawlen, VALUE_SHOW);
    return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, at, "\"%.*s%s\" %s", (int)k, raw,
                k < rawlen ? "..." : "", what);
}

/* Bytes allowed in an interface name: printable ASCII but space and '/'
 * (and, for the fast path, the JSON specials '"' and '\\'). */
static const uint8_t iface_plain[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1,
    ['*'] = 1, ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1, ['0'] = 1,  ['1'] = 1, ['2'] = 1,
    ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,  ['9'] = 1, [':'] = 1,
    [';'] = 1, ['<'] = 1, ['='] = 1, ['>'] = 1, ['?'] = 1, ['@'] = 1,  ['A'] = 1, ['B'] = 1,
    ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,  ['I'] = 1, ['J'] = 1,
    ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,  ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,  ['Y'] = 1, ['Z'] = 1,
    ['['] = 1, [']'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['a'] = 1,  ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,  ['j'] = 1, ['k'] = 1,
    ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1,  ['r'] = 1, ['s'] = 1,
    ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1,  ['z'] = 1, ['{'] = 1,
    ['|'] = 1, ['}'] = 1, ['~'] = 1,
};

static int parse_iface_slow(struct dec *d, char out[IFNAME_MAX + 1]);

/* Interface name: 1..IFNAME_MAX bytes, printable, no space or '/'. */
HOT int parse_iface(struct dec *d, char out[IFNAME_MAX + 1])
{
    size_t n;

    if (d->p < d->end && *d->p == '"') {
        const unsigned char *p = (const unsigned char *)d->p + 1, *start = p;
        const unsigned char *end = (const unsigned char *)d->end;
        if (end - p > IFNAME_MAX + 1)
            end = p + IFNAME_MAX + 1;
        while (p < end && iface_plain[*p])
            p++;
        n = (size_t)(p - start);
        if (p < end && *p == '"' && n > 0) {
            if ((const unsigned char *)d->end - start >= IFNAME_MAX + 1)
                memcpy(out, start, IFNAME_MAX + 1); /* constant size: two moves */
            else
                memcpy(out, start, n);
            out[n] = '\0';
            d->p = (const char *)p + 1;
            return 0;
        }
    }
    return parse_iface_slow(d, out);
}

/* parse_iface for escapes, bad names and wrong types. */
static int parse_iface_slow(struct dec *d, char out[IFNAME_MAX + 1])
{
    const char *at = d->p, *raw;
    size_t n, rawlen;
    char tmp[IFNAME_MAX + 1];
    int rc = parse_string(d, "an interface name (string)", tmp, sizeof(tmp), &n, &raw, &rawlen);

    if (rc)
        return rc;
    if (n == 0 || n > IFNAME_MAX)
        return fail_value(d, at, raw, rawlen, "is not an interface name (1..15 bytes)");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)tmp[i];
        if (c <= 0x20 || c == 0x7F || c == '/')
            return fail_value(d, at, raw, rawlen,
                              "is not an interface name (no space, control character or '/')");
    }
    memcpy(out, tmp, n);
    out[n] = '\0';
    return 0;
}

static int parse_remote_addr_slow(struct dec *d, struct report_conn *c);

/* "a.b.c.d:port" or "[v6]:port", port 1..65535. */
HOT int parse_remote_addr(struct dec *d, struct report_conn *c)
{
    /* fast path: "a.b.c.d:port" without escapes */
    if (d->p < d->end && *d->p == '"') {
        const char *end = d->end;
        const char *p = ip4_scan(d->p + 1, end, c->remote.addr);
        unsigned port = 0;
        if (p && p < end && *p == ':' && p + 1 < end && p[1] >= '1' && p[1] <= '9') {
            p++;
            for (int k = 0; k < 5 && p < end && *p >= '0' && *p <= '9'; k++)
                port = port * 10 + (unsigned)(*p++ - '0');
            if (p < end && *p == '"' && port <= 65535) {
                c->remote.family = 4;
                c->remote_port = (uint16_t)port;
                d->p = p + 1;
                return 0;
            }
        }
    }
    return parse_remote_addr_slow(d, c);
}

/* parse_remote_addr for IPv6, escapes, bad addresses and wrong types. */
static int parse_remote_addr_slow(struct dec *d, struct report_conn *c)
{
    const char *at = d->p, *raw;
    char tmp[64];
    size_t n, rawlen, iplen, portpos;
    const char *ip;
    unsigned port = 0;
    int rc;

    if (d->p < d->end && *d->p == '"') {
        const char *end = d->end, *p;
        if (d->p + 1 < end && d->p[1] == '[') {
            /* "[v6]:port": the address is plain ASCII up to ']' */
            const char *a = d->p + 2, *q = a;
            while (q < end && q - a <= INET6_ADDRSTRLEN &&
                   (hexval((unsigned char)*q) >= 0 || *q == ':' || *q == '.'))
                q++;
            if (q + 2 < end && q[0] == ']' && q[1] == ':' && q[2] >= '1' && q[2] <= '9' &&
                ip6_parse(a, (size_t)(q - a), c->remote.addr) == 0) {
                p = q + 2;
                port = 0;
                for (int k = 0; k < 5 && p < end && *p >= '0' && *p <= '9'; k++)
                    port = port * 10 + (unsigned)(*p++ - '0');
                if (p < end && *p == '"' && port <= 65535) {
                    c->remote.family = 6;
                    c->remote_port = (uint16_t)port;
                    d->p = p + 1;
                    return 0;
                }
            }
        }
        port = 0;
    }
    rc = parse_string(d, "a string \"ip:port\"", tmp, sizeof(tmp), &n, &raw, &rawlen);
    if (rc)
        return rc;
    if (n >= sizeof(tmp))
        goto bad;
    if (tmp[0] == '[') {
        char *close = memchr(tmp, ']', n);
        if (!close || close + 1 >= tmp + n || close[1] != ':')
            goto bad;
        ip = tmp + 1;
        iplen = (size_t)(close - ip);
        portpos = (size_t)(close - tmp) + 2;
        if (report_ip_parse(ip, iplen, &c->remote) || c->remote.family != 6)
            goto bad;
    } else {
        const char *colon = memchr(tmp, ':', n);
        if (!colon)
            goto bad;
        if (memchr(colon + 1, ':', n - (size_t)(colon + 1 - tmp)))
            return fail_value(d, at, raw, rawlen,
                              "is not ip:port (an IPv6 address must be in brackets: [addr]:port)");
        iplen = (size_t)(colon - tmp);
        portpos = iplen + 1;
        if (ip4_parse(tmp, iplen, c->remote.addr))
            goto bad;
        c->remote.family = 4;
        memset(c->remote.addr + 4, 0, 12);
    }
    if (portpos >= n || n - portpos > 5 || tmp[portpos] == '0')
        goto bad;
    for (size_t i = portpos; i < n; i++) {
        if (tmp[i] < '0' || tmp[i] > '9')
            goto bad;
        port = port * 10 + (unsigned)(tmp[i] - '0');
    }
    if (port < 1 || port > 65535)
        goto bad;
    c->remote_port = (uint16_t)port;
    return 0;
bad:
    return fail_value(d, at, raw, rawlen, "is not ip:port or [ipv6]:port (port 1..65535)");
}

/* ======================================================================
 * The schema: one function per object
 * ====================================================================== */

/* ---- speculative compact entries ---------------------------------------
 *
 * Port entries and connections make up most of a report, and agents write
 * them compactly in one of a few shapes ({"pt":22,"if":"eth0"},
 * {"rad":"192.0.2.1:443","lp":50412,"li":"eth0"}, the long-key forms...).
 * These matchers accept exactly those shapes with values that the general
 * path would accept too, and otherwise return false without touching d, so
 * the general path (which owns every error message) takes over. The entry's
 * depth (at most 6) is within REPORT_MAX_DEPTH, so skipping the depth count
 * changes nothing. The fuzz target checks the results against a decode with
 * report_decode_opts.no_fast_paths.
 */

/* p + n when the n bytes at p are lit, else NULL. */
HOT const char *lit(const char *p, const char *end, const char *l, size_t n)
{
    return p && (size_t)(end - p) >= n && memcmp(p, l, n) == 0 ? p + n : NULL;
}

/* A JSON integer min..65535 at p (the shape's next literal ends it). */
HOT const char *port_num(const char *p, const char *end, unsigned min, unsigned *out)
{
    unsigned v;
    if (!p || p >= end)
        return NULL;
    if (*p == '0') {
        *out = 0;
        return min == 0 ? p + 1 : NULL;
    }
    if (*p < '1' || *p > '9')
        return NULL;
    v = (unsigned)(*p++ - '0');
    for (int k = 0; k < 4 && p < end && *p >= '0' && *p <= '9'; k++)
        v = v * 10 + (unsigned)(*p++ - '0');
    if (v < min || v > 65535)
        return NULL;
    *out = v;
    return p;
}

/* An interface name and its closing quote at p (after the opening quote). */
HOT const char *iface_body(const char *p, const char *end, char out[IFNAME_MAX + 1])
{
    const unsigned char *q = (const unsigned char *)p, *start = q, *e;
    size_t n;
    if (!p)
        return NULL;
    e = (const unsigned char *)end;
    if (e - q > IFNAME_MAX + 1)
        e = q + IFNAME_MAX + 1;
    while (q < e && iface_plain[*q])
        q++;
    n = (size_t)(q - start);
    if (q >= e || *q != '"' || n == 0)
        return NULL;
    memcpy(out, start, n);
    out[n] = '\0';
    return (const char *)q + 1;
}

HOT bool port_compact(struct dec *d, struct report_port *e)
{
    const char *p = d->p, *end = d->end, *q;
    unsigned port;
    bool sf;

    if ((q = lit(p, end, "{\"pt\":", 6)))
        sf = true;
    else if ((q = lit(p, end, "{\"port\":", 8)))
        sf = false;
    else if ((q = lit(p, end, "{\"if\":\"", 7))) {
        q = iface_body(q, end, e->iface);
        q = port_num(lit(q, end, ",\"pt\":", 6), end, 1, &port);
        goto close;
    } else if ((q = lit(p, end, "{\"interface\":\"", 14))) {
        q = iface_body(q, end, e->iface);
        q = port_num(lit(q, end, ",\"port\":", 8), end, 1, &port);
        goto close;
    } else {
        return false;
    }
    q = port_num(q, end, 1, &port);
    if (!q)
        return false;
    e->iface[0] = '\0';
    if (q < end && *q == ',')
        q = sf ? iface_body(lit(q, end, ",\"if\":\"", 7), end, e->iface)
               : iface_body(lit(q, end, ",\"interface\":\"", 14), end, e->iface);
close:
    if (!q || q >= end || *q != '}')
        return false;
    e->port = (uint16_t)port;
    d->p = q + 1;
    return true;
}

HOT bool conn_compact(struct dec *d, struct report_conn *c)
{
    const char *p = d->p, *end = d->end, *q;
    unsigned port, lp;
    bool sf;

    if ((q = lit(p, end, "{\"rad\":\"", 8)))
        sf = true;
    else if ((q = lit(p, end, "{\"remote_addr\":\"", 16)))
        sf = false;
    else
        return false;
    q = ip4_scan(q, end, c->remote.addr);
    q = port_num(lit(q, end, ":", 1), end, 1, &port);
    q = lit(q, end, "\"", 1);
    if (!q || q >= end)
        return false;
    c->remote.family = 4;
    memset(c->remote.addr + 4, 0, 12);
    c->remote_port = (uint16_t)port;
    c->local_port = -1;
    c->local_iface[0] = '\0';
    if (*q == ',') {
        q = port_num(sf ? lit(q, end, ",\"lp\":", 6) : lit(q, end, ",\"local_port\":", 14), end, 0,
                     &lp);
        if (!q || q >= end)
            return false;
        c->local_port = (int32_t)lp;
        if (*q == ',')
            q = iface_body(sf ? lit(q, end, ",\"li\":\"", 7)
                              : lit(q, end, ",\"local_interface\":\"", 20),
                           end, c->local_iface);
    }
    if (!q || q >= end || *q != '}')
        return false;
    d->p = q + 1;
    return true;
}

static int parse_port_entry(struct dec *d, struct report_port *e, bool short_form)
{
    const char *at;
    uint32_t seen = 0;
    bool first = true;
    struct key k;
    uint64_t v = 0;
    int rc, id;

    e->port = 0;
    e->iface[0] = '\0';
    if ((rc = obj_open(d, "a port entry (object)")))
        return rc;
    while ((rc = obj_next_key(d, &first, &k, keys_port, NKEYS(keys_port))) == 0) {
        id = k.id;
        if (id < 0) {
            if ((rc = member_unknown(d, &k)))
                return rc;
            continue;
        }
        if ((rc = member_begin(d, &keys_port[id], id, &k, &seen)))
            return rc;
        if (take_null(d)) {
            /* null = absent (it still counts as given for duplicates) */
        } else if (id == K_PT) {
            if ((rc = parse_int(d, IK_PORT, &v)))
                return rc;
            e->port = (uint16_t)v;
        } else {
            if ((rc = parse_iface(d, e->iface)))
                return rc;
        }
        path_pop(d);
    }
    if (rc < 0)
        return rc;
    at = d->p - 1;
    if (e->port == 0)
        return fail_missing(d, at, key_name(&keys_port[K_PT], short_form));
    return 0;
}

static int parse_ports(struct dec *d, struct report_ports *g, bool short_form)
{
    const char *total_at = NULL, *total_end = NULL;
    uint32_t seen = 0;
    bool first = true, total_given = false, total_short = false;
    struct key k;
    uint64_t v = 0;
    int rc, id;

    g->present = true;
    g->count = 0;
    g->total = 0;
    (void)short_form;
    if ((rc = obj_open(d, "an object")))
        return rc;
    while ((rc = obj_next_key(d, &first, &k, keys_ports, NKEYS(keys_ports))) == 0) {
        id = k.id;
        if (id < 0) {
            if ((rc = member_unknown(d, &k)))
                return rc;
            continue;
        }
        if ((rc = member_begin(d, &keys_ports[id], id, &k, &seen)))
            return rc;
        if (take_null(d)) {
            /* absent */
        } else if (id == K_PTS) {
            bool afirst = true, es = key_is_short(&keys_ports[K_PTS], &k);
            if ((rc = arr_open(d, "an array of port entries")))
                return rc;
            while ((rc = arr_next(d, &afirst)) == 0) {
                if (g->count >= PORTS_MAX)
                    return fail(d, CORDON_ETOOBIG, REPORT_E_INVALID_FIELD, d->p,
                                "more than %d entries (PORTS_MAX)", PORTS_MAX);
                if (d->fast && port_compact(d, &g->v[g->count])) {
                    g->count++;
                    continue;
                }
                path_push_index(d, g->count);
                if ((rc = parse_port_entry(d, &g->v[g->count], es)))
                    return rc;
                path_pop(d);
                g->count++;
            }
            if (rc < 0)
                return rc;
        } else {
            total_at = d->p;
            if ((rc = parse_int(d, IK_COUNT, &v)))
                return rc;
            total_end = d->p;
            total_given = true;
            total_short = key_is_short(&keys_ports[K_PTS_TOTAL], &k);
            g->total = (uint32_t)v;
        }
        path_pop(d);
    }
    if (rc < 0)
        return rc;
    if (!total_given) {
        g->total = g->count;
    } else if (g->total < g->count) {
        const char *tn = key_name(&keys_ports[K_PTS_TOTAL], total_short);
        path_push_key(d, tn, strlen(tn));
        rc = fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, total_at,
                  "%.*s is less than the %u entries listed", (int)(total_end - total_at), total_at,
                  g->count);
        path_pop(d);
        return rc;
    }
    return 0;
}

static int parse_conn(struct dec *d, struct report_conn *c, bool short_form)
{
    uint32_t seen = 0;
    bool first = true, has_rad = false;
    struct key k;
    uint64_t v = 0;
    int rc, id;

    c->remote.family = 0;
    memset(c->remote.addr, 0, 16); /* constant size: inline stores */
    c->remote_port = 0;
    c->local_port = -1;
    c->local_iface[0] = '\0';
    if ((rc = obj_open(d, "a connection (object)")))
        return rc;
    while ((rc = obj_next_key(d, &first, &k, keys_conn, NKEYS(keys_conn))) == 0) {
        id = k.id;
        if (id < 0) {
            if ((rc = member_unknown(d, &k)))
                return rc;
            continue;
        }
        if ((rc = member_begin(d, &keys_conn[id], id, &k, &seen)))
            return rc;
        if (take_null(d)) {
            /* absent */
        } else if (id == K_RAD) {
            if ((rc = parse_remote_addr(d, c)))
                return rc;
            has_rad = true;
        } else if (id == K_LP) {
            if ((rc = parse_int(d, IK_LOCAL_PORT, &v)))
                return rc;
            c->local_port = (int32_t)v;
        } else {
            if ((rc = parse_iface(d, c->local_iface)))
                return rc;
        }
        path_pop(d);
    }
    if (rc < 0)
        return rc;
    if (!has_rad)
        return fail_missing(d, d->p - 1, key_name(&keys_conn[K_RAD], short_form));
    return 0;
}

static int parse_ec(struct dec *d, struct report_conns *g)
{
    const char *total_at = NULL, *total_end = NULL;
    uint32_t seen = 0;
    bool first = true, total_given = false, total_short = false;
    struct key k;
    uint64_t v = 0;
    int rc, id;

    g->present = true;
    g->count = 0;
    g->total = 0;
    if ((rc = obj_open(d, "an object")))
        return rc;
    while ((rc = obj_next_key(d, &first, &k, keys_ec, NKEYS(keys_ec))) == 0) {
        id = k.id;
        if (id < 0) {
            if ((rc = member_unknown(d, &k)))
                return rc;
            continue;
        }
        if ((rc = member_begin(d, &keys_ec[id], id, &k, &seen)))
            return rc;
        if (take_null(d)) {
            /* absent */
        } else if (id == K_CS) {
            bool afirst = true, es = key_is_short(&keys_ec[K_CS], &k);
            if ((rc = arr_open(d, "an array of connections")))
                return rc;
            while ((rc = arr_next(d, &afirst)) == 0) {
                if (g->count >= CONNECTIONS_MAX)
                    return fail(d, CORDON_ETOOBIG, REPORT_E_INVALID_FIELD, d->p,
                                "more than %d entries (CONNECTIONS_MAX)", CONNECTIONS_MAX);
                if (d->fast && conn_compact(d, &g->v[g->count])) {
                    g->count++;
                    continue;
                }
                path_push_index(d, g->count);
                if ((rc = parse_conn(d, &g->v[g->count], es)))
                    return rc;
                path_pop(d);
                g->count++;
            }
            if (rc < 0)
                return rc;
        } else {
            total_at = d->p;
            if ((rc = parse_int(d, IK_COUNT, &v)))
                return rc;
            total_end = d->p;
            total_given = true;
            total_short = key_is_short(&keys_ec[K_EC_TOTAL], &k);
            g->total = (uint32_t)v;
        }
        path_pop(d);
    }
    if (rc < 0)
        return rc;
    if (!total_given) {
        g->total = g->count;
    } else if (g->total < g->count) {
        const char *tn = key_name(&keys_ec[K_EC_TOTAL], total_short);
        path_push_key(d, tn, strlen(tn));
        rc = fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, total_at,
                  "%.*s is less than the %u entries listed", (int)(total_end - total_at), total_at,
                  g->count);
        path_pop(d);
        return rc;
    }
    return 0;
}

static int parse_tc(struct dec *d)
{
    uint32_t seen = 0;
    bool first = true;
    struct key k;
    int rc, id;

    if ((rc = obj_open(d, "an object")))
        return rc;
    while ((rc = obj_next_key(d, &first, &k, keys_tc, NKEYS(keys_tc))) == 0) {
        id = k.id;
        if (id < 0) {
            if ((rc = member_unknown(d, &k)))
                return rc;
            continue;
        }
        if ((rc = member_begin(d, &keys_tc[id], id, &k, &seen)))
            return rc;
        if (!take_null(d) && (rc = parse_ec(d, &d->r->conns)))
            return rc;
        path_pop(d);
    }
    return rc < 0 ? rc : 0;
}

static int parse_ns(struct dec *d, struct report_netstats *ns)
{
    uint32_t seen = 0;
    bool first = true;
    struct key k;
    int rc, id;

    ns->present = true;
    ns->has = 0;
    if ((rc = obj_open(d, "an object")))
        return rc;
    while ((rc = obj_next_key(d, &first, &k, keys_ns, NKEYS(keys_ns))) == 0) {
        id = k.id;
        if (id < 0) {
            if ((rc = member_unknown(d, &k)))
                return rc;
            continue;
        }
        if ((rc = member_begin(d, &keys_ns[id], id, &k, &seen)))
            return rc;
        if (!take_null(d)) {
            if ((rc = parse_int(d, IK_DELTA, &ns->v[id])))
                return rc;
            ns->has |= (uint8_t)(1u << id);
        }
        path_pop(d);
    }
    return rc < 0 ? rc : 0;
}

static int parse_metrics(struct dec *d)
{
    struct report *r = d->r;
    uint32_t seen = 0;
    bool first = true;
    struct key k;
    int rc, id;

    if ((rc = obj_open(d, "an object")))
        return rc;
    while ((rc = obj_next_key(d, &first, &k, keys_metrics, NKEYS(keys_metrics))) == 0) {
        id = k.id;
        if (id < 0) {
            if ((rc = member_unknown(d, &k)))
                return rc;
            continue;
        }
        if ((rc = member_begin(d, &keys_metrics[id], id, &k, &seen)))
            return rc;
        if (!take_null(d)) {
            switch (id) {
            case K_TC:
                rc = parse_tc(d);
                break;
            case K_TP:
                rc = parse_ports(d, &r->tcp_ports, key_is_short(&keys_metrics[id], &k));
                break;
            case K_UP:
                rc = parse_ports(d, &r->udp_ports, key_is_short(&keys_metrics[id], &k));
                break;
            default:
                rc = parse_ns(d, &r->net);
            }
            if (rc)
                return rc;
        }
        path_pop(d);
    }
    return rc < 0 ? rc : 0;
}

/* "Major.Minor", each 0..65535 without leading zeros; major must be 1. */
static int parse_version(struct dec *d)
{
    const char *at = d->p, *raw;
    char tmp[16];
    size_t n, rawlen, i = 0;
    unsigned part[2] = { 0, 0 };
    int rc = parse_string(d, "a string \"Major.Minor\"", tmp, sizeof(tmp), &n, &raw, &rawlen);

    if (rc)
        return rc;
    if (n >= sizeof(tmp))
        goto bad;
    for (int k = 0; k < 2; k++) {
        size_t start = i;
        if (k == 1) {
            if (i >= n || tmp[i] != '.')
                goto bad;
            start = ++i;
        }
        while (i < n && tmp[i] >= '0' && tmp[i] <= '9' && i - start < 5) {
            part[k] = part[k] * 10 + (unsigned)(tmp[i] - '0');
            i++;
        }
        if (i == start || part[k] > 65535 || (tmp[start] == '0' && i - start > 1))
            goto bad;
    }
    if (i != n)
        goto bad;
    if (part[0] != 1)
        return fail_value(d, at, raw, rawlen, "has an unsupported major version (want 1.x)");
    d->r->version_major = (uint16_t)part[0];
    d->r->version_minor = (uint16_t)part[1];
    return 0;
bad:
    return fail_value(d, at, raw, rawlen, "is not a version \"Major.Minor\"");
}

static int parse_header(struct dec *d, bool short_form)
{
    uint32_t seen = 0;
    bool first = true, has_id = false, has_version = false;
    struct key k;
    uint64_t v = 0;
    int rc, id;

    if ((rc = obj_open(d, "an object")))
        return rc;
    while ((rc = obj_next_key(d, &first, &k, keys_header, NKEYS(keys_header))) == 0) {
        id = k.id;
        if (id < 0) {
            if ((rc = member_unknown(d, &k)))
                return rc;
            continue;
        }
        if ((rc = member_begin(d, &keys_header[id], id, &k, &seen)))
            return rc;
        if (take_null(d)) {
            /* absent: reported as missing below */
        } else if (id == K_REPORT_ID) {
            if ((rc = parse_int(d, IK_REPORT_ID, &v)))
                return rc;
            d->r->report_id = (int64_t)v;
            has_id = true;
        } else {
            if ((rc = parse_version(d)))
                return rc;
            has_version = true;
        }
        path_pop(d);
    }
    if (rc < 0)
        return rc;
    if (!has_id)
        return fail_missing(d, d->p - 1, key_name(&keys_header[K_REPORT_ID], short_form));
    if (!has_version)
        return fail_missing(d, d->p - 1, key_name(&keys_header[K_VERSION], short_form));
    return 0;
}

/* ---- custom metrics ---------------------------------------------------- */

static const char *custom_type_name(int t)
{
    switch (t) {
    case REPORT_CUSTOM_NUMBER:
        return "number";
    case REPORT_CUSTOM_NUMBER_LIST:
        return "number-list";
    case REPORT_CUSTOM_STRING_LIST:
        return "string-list";
    case REPORT_CUSTOM_IP_LIST:
        return "ip-address-list";
    }
    return "?";
}

/* A custom number: JSON number, <= 15 significant digits, finite. */
static int parse_custom_number(struct dec *d, double *out)
{
    const char *start = d->p, *p;
    char tmp[NUMBER_TEXT_MAX + 1];
    bool is_int, seen_nonzero = false;
    int digits = 0, pending_zeros = 0;
    size_t n;
    int rc;

    if (d->p >= d->end || (*d->p != '-' && (*d->p < '0' || *d->p > '9')))
        return fail_type(d, "a number");
    if ((rc = scan_number(d, &is_int)))
        return rc;
    n = (size_t)(d->p - start);
    /* significant digits: from the first non-zero digit to the last one */
    for (p = start; p < d->p && *p != 'e' && *p != 'E'; p++) {
        if (*p < '0' || *p > '9')
            continue;
        if (*p == '0') {
            if (seen_nonzero)
                pending_zeros++;
            continue;
        }
        seen_nonzero = true;
        digits += pending_zeros + 1;
        pending_zeros = 0;
    }
    if (digits > NUMBER_DIGITS_MAX || n > NUMBER_TEXT_MAX)
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, start,
                    "%.*s%s has more than %d significant digits or %d characters",
                    (int)(n > VALUE_SHOW ? VALUE_SHOW : n), start, n > VALUE_SHOW ? "..." : "",
                    NUMBER_DIGITS_MAX, NUMBER_TEXT_MAX);
    /* Clinger's fast path: an integer mantissa below 2^53 divided by an exact
     * power of ten is correctly rounded; anything else goes to strtod */
    {
        static const double pow10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                        1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
        uint64_t m = 0;
        int mdig = 0, frac = -1;
        bool simple = true;
        for (p = start + (*start == '-'); p < d->p; p++) {
            if (*p == '.') {
                frac = 0;
                continue;
            }
            if (*p < '0' || *p > '9') {
                simple = false; /* exponent */
                break;
            }
            if (frac >= 0)
                frac++;
            if (m || *p != '0')
                mdig++;
            m = m * 10 + (uint64_t)(*p - '0');
            if (mdig > NUMBER_DIGITS_MAX) {
                simple = false;
                break;
            }
        }
        if (simple && (frac < 0 || frac <= 22)) {
            double v = (double)m / pow10[frac < 0 ? 0 : frac];
            *out = *start == '-' ? -v : v;
            return 0;
        }
    }
    memcpy(tmp, start, n);
    tmp[n] = '\0';
    *out = strtod(tmp, NULL);
    if (!isfinite(*out))
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, start, "%s is out of range", tmp);
    return 0;
}

static bool string_list_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '_' || c == '-' || c == '/' || c == '.';
}

static int fail_too_many_values(struct dec *d)
{
    return fail(d, CORDON_ETOOBIG, REPORT_E_INVALID_FIELD, d->p,
                "more than %d list elements over all custom metrics (CUSTOM_VALUES_MAX)",
                CUSTOM_VALUES_MAX);
}

static int parse_custom_list(struct dec *d, struct report_custom *c)
{
    struct report *r = d->r;
    bool first = true;
    int rc;

    c->first = r->nvalues;
    c->count = 0;
    if ((rc = arr_open(d, "an array")))
        return rc;
    while ((rc = arr_next(d, &first)) == 0) {
        const char *at = d->p, *raw;
        size_t n, rawlen;

        if (r->nvalues >= CUSTOM_VALUES_MAX)
            return fail_too_many_values(d);
        path_push_index(d, c->count);
        if (c->type == REPORT_CUSTOM_NUMBER_LIST) {
            if ((rc = parse_custom_number(d, &r->numbers[r->nvalues])))
                return rc;
        } else if (c->type == REPORT_CUSTOM_STRING_LIST) {
            uint32_t room = CUSTOM_STRPOOL_MAX - r->strpool_len;
            char *dst = r->strpool + r->strpool_len;
            if ((rc = parse_string(d, "a string", dst,
                                   room < CUSTOM_STRING_MAX ? room : CUSTOM_STRING_MAX, &n, &raw,
                                   &rawlen)))
                return rc;
            if (n == 0 || n > CUSTOM_STRING_MAX)
                return fail_value(d, at, raw, rawlen,
                                  "is not a string-list element (1..256 bytes)");
            if (n > room)
                return fail(d, CORDON_ETOOBIG, REPORT_E_INVALID_FIELD, at,
                            "custom strings exceed %d bytes in total (CUSTOM_STRPOOL_MAX)",
                            CUSTOM_STRPOOL_MAX);
            for (size_t i = 0; i < n; i++)
                if (!string_list_char((unsigned char)dst[i]))
                    return fail_value(d, at, raw, rawlen,
                                      "has a character other than letters, digits and :_-/.");
            r->strs[r->nvalues].off = r->strpool_len;
            r->strs[r->nvalues].len = (uint32_t)n;
            r->strpool_len += (uint32_t)n;
        } else {
            char tmp[INET6_ADDRSTRLEN + 1];
            if ((rc = parse_string(d, "a string", tmp, sizeof(tmp), &n, &raw, &rawlen)))
                return rc;
            if (n > INET6_ADDRSTRLEN || report_ip_parse(tmp, n, &r->ips[r->nvalues]))
                return fail_value(d, at, raw, rawlen, "is not an IPv4 or IPv6 address");
        }
        path_pop(d);
        r->nvalues++;
        c->count++;
    }
    return rc < 0 ? rc : 0;
}

static bool metric_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '_' || c == '-';
}

/* One custom metric: name in k, value [ { "type": value } ] at d->p. */
static int parse_custom_metric(struct dec *d, const struct key *k)
{
    struct report *r = d->r;
    struct report_custom *c;
    bool first = true, afirst = true;
    struct key tk;
    int rc, declared = -1, id;

    if (k->n == 0 || k->n > METRIC_NAME_MAX)
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, k->at,
                    "invalid custom metric name (1..%d characters)", METRIC_NAME_MAX);
    for (size_t i = 0; i < k->n; i++)
        if (!metric_name_char((unsigned char)k->s[i]))
            return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, k->at,
                        "invalid custom metric name (letters, digits and :_- only)");
    if (k->n >= 4 && memcmp(k->s, "aws:", 4) == 0)
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, k->at,
                    "invalid custom metric name (the aws: prefix is reserved)");
    for (uint32_t i = 0; i < r->ncustom; i++)
        if (strlen(r->custom[i].name) == k->n && memcmp(r->custom[i].name, k->s, k->n) == 0)
            return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, k->at, "field given twice");
    if (r->ncustom >= CUSTOM_METRICS_MAX)
        return fail(d, CORDON_ETOOBIG, REPORT_E_INVALID_FIELD, k->at,
                    "more than %d custom metrics (CUSTOM_METRICS_MAX)", CUSTOM_METRICS_MAX);
    if (d->opts && d->opts->custom_lookup) {
        declared = d->opts->custom_lookup(d->opts->ctx, k->s, k->n);
        if (declared < 0)
            return fail(d, CORDON_EINVAL, REPORT_E_UNKNOWN_CUSTOM, k->at,
                        "custom metric not declared");
    }
    c = &r->custom[r->ncustom];
    memcpy(c->name, k->s, k->n);
    c->name[k->n] = '\0';
    c->number = 0;
    c->first = 0;
    c->count = 0;

    if (d->p >= d->end || *d->p != '[') {
        if (!value_kind(d))
            return fail_syntax(d, d->p, "expected a value");
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_PAYLOAD, d->p,
                    "malformed metrics report: a custom metric value is an array holding one "
                    "object, got %s",
                    value_kind(d));
    }
    if ((rc = arr_open(d, "an array")))
        return rc;
    if ((rc = arr_next(d, &afirst)) != 0)
        return rc < 0 ? rc
                      : fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, d->p - 1,
                             "empty array, expected one object");
    path_push_index(d, 0);
    if ((rc = obj_open(d, "an object { \"type\": value }")))
        return rc;
    rc = obj_next_key(d, &first, &tk, keys_cvalue, NKEYS(keys_cvalue));
    if (rc)
        return rc < 0 ? rc
                      : fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, d->p - 1,
                             "empty object, expected one of number, number_list, string_list, "
                             "ip_list");
    path_push_key(d, tk.raw, tk.rawlen);
    id = tk.id;
    if (id < 0)
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, tk.at,
                    "unknown value type (number, number_list, string_list or ip_list)");
    if (declared >= 0 && declared != id)
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, tk.at,
                    "custom metric %s is declared as %s, not %s", c->name,
                    custom_type_name(declared), custom_type_name(id));
    c->type = (enum report_custom_type)id;
    if (c->type == REPORT_CUSTOM_NUMBER)
        rc = parse_custom_number(d, &c->number);
    else
        rc = parse_custom_list(d, c);
    if (rc)
        return rc;
    path_pop(d);
    if ((rc = obj_next(d, &first, &tk)) == 0)
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, tk.at,
                    "more than one value in the object");
    if (rc < 0)
        return rc;
    path_pop(d);
    if ((rc = arr_next(d, &afirst)) == 0)
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_FIELD, d->p,
                    "more than one object in the array");
    if (rc < 0)
        return rc;
    r->ncustom++;
    return 0;
}

static int parse_custom(struct dec *d)
{
    bool first = true;
    struct key k;
    int rc;

    if ((rc = obj_open(d, "an object")))
        return rc;
    while ((rc = obj_next(d, &first, &k)) == 0) {
        path_push_key(d, k.raw, k.rawlen);
        if ((rc = parse_custom_metric(d, &k)))
            return rc;
        path_pop(d);
    }
    return rc < 0 ? rc : 0;
}

/* ---- the envelope ------------------------------------------------------ */

static int parse_root(struct dec *d)
{
    uint32_t seen = 0;
    bool first = true, has_header = false, has_metrics = false;
    struct key k;
    int rc, id;

    skip_ws(d);
    if (d->p >= d->end || *d->p != '{') {
        if (!value_kind(d))
            return fail_syntax(d, d->p, "expected an object");
        return fail(d, CORDON_EINVAL, REPORT_E_INVALID_PAYLOAD, d->p,
                    "a report is a JSON object, got %s", value_kind(d));
    }
    if ((rc = obj_open(d, "an object")))
        return rc;
    while ((rc = obj_next_key(d, &first, &k, keys_root, NKEYS(keys_root))) == 0) {
        id = k.id;
        if (id < 0) {
            if ((rc = member_unknown(d, &k)))
                return rc;
            continue;
        }
        if ((rc = member_begin(d, &keys_root[id], id, &k, &seen)))
            return rc;
        if (!take_null(d)) {
            if (id == K_HEADER) {
                rc = parse_header(d, key_is_short(&keys_root[id], &k));
                has_header = true;
            } else if (id == K_METRICS) {
                rc = parse_metrics(d);
                has_metrics = true;
            } else {
                rc = parse_custom(d);
                has_metrics = true;
            }
            if (rc)
                return rc;
        }
        path_pop(d);
    }
    if (rc < 0)
        return rc;
    if (!has_header)
        return fail_missing(d, d->p - 1, "header");
    if (!has_metrics)
        return fail(d, CORDON_EINVAL, REPORT_E_MISSING_FIELD, d->p - 1,
                    "metrics or custom_metrics required (a header alone is not a report)");
    skip_ws(d);
    if (d->p != d->end)
        return fail_syntax(d, d->p, "unexpected data after the report object");
    return 0;
}

int report_decode(struct report *r, const char *buf, size_t len,
                  const struct report_decode_opts *opts, struct cordon_diag *diag)
{
    struct dec d;
    size_t max = opts && opts->max_bytes ? opts->max_bytes : REPORT_MAX_BYTES;

    report_reset(r);
    cordon_diag_clear(diag);
    if (!buf) {
        buf = "";
        len = 0;
    }
    d.buf = buf;
    d.p = buf;
    d.end = buf + len;
    d.r = r;
    d.opts = opts;
    d.diag = diag;
    d.depth = 0;
    d.fast = !(opts && opts->no_fast_paths);
    d.nseg = 0;
    if (len > max)
        return fail(&d, CORDON_ETOOBIG, REPORT_E_INVALID_PAYLOAD, buf + max,
                    "report of %zu bytes exceeds the limit of %zu bytes", len, max);
    return parse_root(&d);
}

/* ======================================================================
 * Encoder
 * ====================================================================== */

double report_number_round(double v)
{
    char tmp[40];
    if (!isfinite(v))
        return v;
    snprintf(tmp, sizeof(tmp), "%.15g", v);
    return strtod(tmp, NULL);
}

struct enc {
    struct buf *out;
    bool s; /* short names */
    int rc;
};

static void enc_raw(struct enc *e, const char *s, size_t n)
{
    if (!e->rc)
        e->rc = buf_add(e->out, s, n);
}

/* "key": — the long or short name of kd */
static void enc_key(struct enc *e, const struct keydef *kd, bool comma)
{
    char tmp[40];
    size_t n = e->s ? kd->sl : kd->ll;
    size_t o = 0;
    if (comma)
        tmp[o++] = ',';
    tmp[o++] = '"';
    memcpy(tmp + o, e->s ? kd->s : kd->l, n);
    o += n;
    tmp[o++] = '"';
    tmp[o++] = ':';
    enc_raw(e, tmp, o);
}

static void enc_u64(struct enc *e, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    enc_raw(e, tmp, (size_t)n);
}

static void enc_str(struct enc *e, const char *s, size_t n)
{
    if (!e->rc)
        e->rc = buf_add_json_string(e->out, s, n);
}

/* A number as the shortest text (<= 15 significant digits) that reads back as v. */
static void enc_number(struct enc *e, double v)
{
    char tmp[40];
    int n;
    if (e->rc)
        return;
    if (!isfinite(v)) {
        e->rc = CORDON_ERANGE;
        return;
    }
    /* %g drops trailing zeros: a number read from <= 15 significant digits
     * prints back as those digits */
    n = snprintf(tmp, sizeof(tmp), "%.15g", v);
    if (strtod(tmp, NULL) != v) {
        e->rc = CORDON_ERANGE;
        return;
    }
    enc_raw(e, tmp, (size_t)n);
}

static void enc_ports(struct enc *e, const struct report_ports *g)
{
    enc_raw(e, "{", 1);
    enc_key(e, &keys_ports[K_PTS], false);
    enc_raw(e, "[", 1);
    for (uint32_t i = 0; i < g->count; i++) {
        const struct report_port *p = &g->v[i];
        enc_raw(e, i ? ",{" : "{", i ? 2 : 1);
        enc_key(e, &keys_port[K_PT], false);
        enc_u64(e, p->port);
        if (p->iface[0]) {
            enc_key(e, &keys_port[K_IF], true);
            enc_str(e, p->iface, strlen(p->iface));
        }
        enc_raw(e, "}", 1);
    }
    enc_raw(e, "]", 1);
    enc_key(e, &keys_ports[K_PTS_TOTAL], true);
    enc_u64(e, g->total);
    enc_raw(e, "}", 1);
}

static void enc_conns(struct enc *e, const struct report_conns *g)
{
    char ip[INET6_ADDRSTRLEN], addr[INET6_ADDRSTRLEN + 10];
    enc_raw(e, "{", 1);
    enc_key(e, &keys_tc[K_EC], false);
    enc_raw(e, "{", 1);
    enc_key(e, &keys_ec[K_CS], false);
    enc_raw(e, "[", 1);
    for (uint32_t i = 0; i < g->count; i++) {
        const struct report_conn *c = &g->v[i];
        int n;
        enc_raw(e, i ? ",{" : "{", i ? 2 : 1);
        enc_key(e, &keys_conn[K_RAD], false);
        report_ip_format(&c->remote, ip, sizeof(ip));
        if (c->remote.family == 6)
            n = snprintf(addr, sizeof(addr), "[%s]:%u", ip, c->remote_port);
        else
            n = snprintf(addr, sizeof(addr), "%s:%u", ip, c->remote_port);
        enc_str(e, addr, (size_t)n);
        if (c->local_port >= 0) {
            enc_key(e, &keys_conn[K_LP], true);
            enc_u64(e, (uint64_t)c->local_port);
        }
        if (c->local_iface[0]) {
            enc_key(e, &keys_conn[K_LI], true);
            enc_str(e, c->local_iface, strlen(c->local_iface));
        }
        enc_raw(e, "}", 1);
    }
    enc_raw(e, "]", 1);
    enc_key(e, &keys_ec[K_EC_TOTAL], true);
    enc_u64(e, g->total);
    enc_raw(e, "}}", 2);
}

static void enc_custom(struct enc *e, const struct report *r)
{
    char ip[INET6_ADDRSTRLEN];
    enc_raw(e, "{", 1);
    for (uint32_t i = 0; i < r->ncustom; i++) {
        const struct report_custom *c = &r->custom[i];
        if (i)
            enc_raw(e, ",", 1);
        enc_str(e, c->name, strlen(c->name));
        enc_raw(e, ":[{", 3);
        if ((unsigned)c->type > REPORT_CUSTOM_IP_LIST) {
            if (!e->rc)
                e->rc = CORDON_EINVAL;
            return;
        }
        enc_key(e, &keys_cvalue[c->type], false);
        if (c->type == REPORT_CUSTOM_NUMBER) {
            enc_number(e, c->number);
        } else {
            enc_raw(e, "[", 1);
            for (uint32_t j = 0; j < c->count; j++) {
                uint32_t x = c->first + j;
                if (j)
                    enc_raw(e, ",", 1);
                if (c->type == REPORT_CUSTOM_NUMBER_LIST) {
                    enc_number(e, r->numbers[x]);
                } else if (c->type == REPORT_CUSTOM_STRING_LIST) {
                    enc_str(e, r->strpool + r->strs[x].off, r->strs[x].len);
                } else {
                    report_ip_format(&r->ips[x], ip, sizeof(ip));
                    enc_str(e, ip, strlen(ip));
                }
            }
            enc_raw(e, "]", 1);
        }
        enc_raw(e, "}]", 2);
    }
    enc_raw(e, "}", 1);
}

int report_encode(const struct report *r, bool short_names, struct buf *out)
{
    struct enc e = { out, short_names, 0 };
    size_t start = out->len;
    bool comma = false;
    char ver[16];

    enc_raw(&e, "{", 1);
    enc_key(&e, &keys_root[K_HEADER], false);
    enc_raw(&e, "{", 1);
    enc_key(&e, &keys_header[K_REPORT_ID], false);
    if (r->report_id < 0 && !e.rc)
        e.rc = CORDON_EINVAL;
    enc_u64(&e, (uint64_t)r->report_id);
    enc_key(&e, &keys_header[K_VERSION], true);
    snprintf(ver, sizeof(ver), "%u.%u", r->version_major, r->version_minor);
    enc_str(&e, ver, strlen(ver));
    enc_raw(&e, "}", 1);

    /* metrics is always written (maybe empty) so that a report without
     * custom metrics stays a report */
    enc_key(&e, &keys_root[K_METRICS], true);
    enc_raw(&e, "{", 1);
    if (r->tcp_ports.present) {
        enc_key(&e, &keys_metrics[K_TP], comma);
        enc_ports(&e, &r->tcp_ports);
        comma = true;
    }
    if (r->udp_ports.present) {
        enc_key(&e, &keys_metrics[K_UP], comma);
        enc_ports(&e, &r->udp_ports);
        comma = true;
    }
    if (r->conns.present) {
        enc_key(&e, &keys_metrics[K_TC], comma);
        enc_conns(&e, &r->conns);
        comma = true;
    }
    if (r->net.present) {
        bool c2 = false;
        enc_key(&e, &keys_metrics[K_NS], comma);
        enc_raw(&e, "{", 1);
        for (int i = 0; i < REPORT_NETSTAT_COUNT; i++) {
            if (!(r->net.has & (1u << i)))
                continue;
            enc_key(&e, &keys_ns[i], c2);
            enc_u64(&e, r->net.v[i]);
            c2 = true;
        }
        enc_raw(&e, "}", 1);
    }
    enc_raw(&e, "}", 1);
    if (r->ncustom) {
        enc_key(&e, &keys_root[K_CUSTOM], true);
        enc_custom(&e, r);
    }
    enc_raw(&e, "}", 1);
    if (e.rc) {
        out->len = start;
        if (out->ptr)
            out->ptr[start] = '\0';
    }
    return e.rc;
}

/* ======================================================================
 * Equality
 * ====================================================================== */

static bool ip_equal(const struct report_ip *a, const struct report_ip *b)
{
    if (a->family != b->family)
        return false;
    return memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16) == 0;
}

static bool ports_equal(const struct report_ports *a, const struct report_ports *b)
{
    if (a->present != b->present)
        return false;
    if (!a->present)
        return true;
    if (a->total != b->total || a->count != b->count)
        return false;
    for (uint32_t i = 0; i < a->count; i++)
        if (a->v[i].port != b->v[i].port || strcmp(a->v[i].iface, b->v[i].iface) != 0)
            return false;
    return true;
}

static bool conns_equal(const struct report_conns *a, const struct report_conns *b)
{
    if (a->present != b->present)
        return false;
    if (!a->present)
        return true;
    if (a->total != b->total || a->count != b->count)
        return false;
    for (uint32_t i = 0; i < a->count; i++) {
        const struct report_conn *x = &a->v[i], *y = &b->v[i];
        if (!ip_equal(&x->remote, &y->remote) || x->remote_port != y->remote_port ||
            x->local_port != y->local_port || strcmp(x->local_iface, y->local_iface) != 0)
            return false;
    }
    return true;
}

static bool custom_equal(const struct report *ra, const struct report_custom *a,
                         const struct report *rb, const struct report_custom *b)
{
    if (strcmp(a->name, b->name) != 0 || a->type != b->type)
        return false;
    if (a->type == REPORT_CUSTOM_NUMBER)
        return a->number == b->number;
    if (a->count != b->count)
        return false;
    for (uint32_t j = 0; j < a->count; j++) {
        uint32_t x = a->first + j, y = b->first + j;
        switch (a->type) {
        case REPORT_CUSTOM_NUMBER_LIST:
            if (ra->numbers[x] != rb->numbers[y])
                return false;
            break;
        case REPORT_CUSTOM_STRING_LIST:
            if (ra->strs[x].len != rb->strs[y].len ||
                memcmp(ra->strpool + ra->strs[x].off, rb->strpool + rb->strs[y].off,
                       ra->strs[x].len) != 0)
                return false;
            break;
        default:
            if (!ip_equal(&ra->ips[x], &rb->ips[y]))
                return false;
        }
    }
    return true;
}

bool report_equal(const struct report *a, const struct report *b)
{
    if (a->report_id != b->report_id || a->version_major != b->version_major ||
        a->version_minor != b->version_minor)
        return false;
    if (!ports_equal(&a->tcp_ports, &b->tcp_ports) || !ports_equal(&a->udp_ports, &b->udp_ports) ||
        !conns_equal(&a->conns, &b->conns))
        return false;
    if (a->net.present != b->net.present)
        return false;
    if (a->net.present) {
        if (a->net.has != b->net.has)
            return false;
        for (int i = 0; i < REPORT_NETSTAT_COUNT; i++)
            if ((a->net.has & (1u << i)) && a->net.v[i] != b->net.v[i])
                return false;
    }
    if (a->ncustom != b->ncustom)
        return false;
    for (uint32_t i = 0; i < a->ncustom; i++)
        if (!custom_equal(a, &a->custom[i], b, &b->custom[i]))
            return false;
    return true;
}
