/*
 * custom.c — strict checking of custom metric values. See custom.h.
 */
#include "custom.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    enum report_custom_type type;
} custom_types[] = {
    { "number", REPORT_CUSTOM_NUMBER },
    { "number-list", REPORT_CUSTOM_NUMBER_LIST },
    { "string-list", REPORT_CUSTOM_STRING_LIST },
    { "ip-address-list", REPORT_CUSTOM_IP_LIST },
};

int custom_type_parse(const char *s, enum report_custom_type *type)
{
    for (size_t i = 0; i < sizeof(custom_types) / sizeof(custom_types[0]); i++)
        if (strcmp(s, custom_types[i].name) == 0) {
            *type = custom_types[i].type;
            return 0;
        }
    return CORDON_EINVAL;
}

const char *custom_type_name(enum report_custom_type type)
{
    for (size_t i = 0; i < sizeof(custom_types) / sizeof(custom_types[0]); i++)
        if (custom_types[i].type == type)
            return custom_types[i].name;
    return "?";
}

bool custom_name_valid(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > METRIC_NAME_MAX || strncmp(name, "aws:", 4) == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool is_sep(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',';
}

/* One JSON number with at most 15 significant digits. */
static int number_parse(const char *s, size_t n, double *out, struct cordon_diag *diag)
{
    char buf[64];
    size_t i = 0, sig = 0, pending_zeros = 0;
    bool seen_nonzero = false, frac = false;
    char *end;

    if (n == 0 || n >= sizeof(buf)) {
        cordon_diag_set(diag, "InvalidField", 0, 0, 0, "'%.*s' is not a number",
                        (int)(n > 40 ? 40 : n), s);
        return CORDON_EINVAL;
    }
    if (s[i] == '-')
        i++;
    if (i >= n || s[i] < '0' || s[i] > '9' ||
        (s[i] == '0' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9'))
        goto bad;
    for (; i < n && ((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && !frac)); i++) {
        if (s[i] == '.') {
            frac = true;
            if (i + 1 >= n || s[i + 1] < '0' || s[i + 1] > '9')
                goto bad;
            continue;
        }
        if (s[i] != '0') {
            seen_nonzero = true;
            sig += pending_zeros + 1;
            pending_zeros = 0;
        } else if (seen_nonzero) {
            pending_zeros++; /* counts only when a non-zero digit follows */
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            goto bad;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i != n)
        goto bad;
    if (sig > 15) {
        cordon_diag_set(diag, "InvalidField", 0, 0, 0, "'%.*s' has more than 15 significant digits",
                        (int)n, s);
        return CORDON_EINVAL;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    *out = strtod(buf, &end);
    if (errno == ERANGE || !isfinite(*out)) {
        cordon_diag_set(diag, "InvalidField", 0, 0, 0, "'%s' is out of range", buf);
        return CORDON_EINVAL;
    }
    return 0;
bad:
    cordon_diag_set(diag, "InvalidField", 0, 0, 0, "'%.*s' is not a number", (int)(n > 40 ? 40 : n),
                    s);
    return CORDON_EINVAL;
}

static bool string_ok(const char *s, size_t n)
{
    if (n == 0 || n > CUSTOM_STRING_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '_' || c == '-' || c == '/' || c == '.'))
            return false;
    }
    return true;
}

static int ip_parse(const char *s, size_t n, struct report_ip *ip)
{
    char buf[64];

    if (n == 0 || n >= sizeof(buf))
        return CORDON_EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    memset(ip, 0, sizeof(*ip));
    if (inet_pton(AF_INET, buf, ip->addr) == 1) {
        ip->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, ip->addr) == 1) {
        ip->family = 6;
        return 0;
    }
    return CORDON_EINVAL;
}

int custom_add(struct report *r, const char *name, enum report_custom_type type, const char *text,
               size_t len, struct cordon_diag *diag)
{
    struct report_custom *m;
    uint32_t nvalues0 = r->nvalues, strpool0 = r->strpool_len;
    const char *p = text, *end = text + len;
    size_t nlen = strlen(name);
    int result = 0;

    if (r->ncustom >= CUSTOM_METRICS_MAX) {
        cordon_diag_set(diag, "InvalidField", 0, 0, 0, "more than %d custom metrics",
                        CUSTOM_METRICS_MAX);
        return CORDON_ETOOBIG;
    }
    if (nlen > METRIC_NAME_MAX) {
        cordon_diag_set(diag, "InvalidField", 0, 0, 0, "metric name too long");
        return CORDON_EINVAL;
    }
    m = &r->custom[r->ncustom];
    memset(m, 0, sizeof(*m));
    memcpy(m->name, name, nlen + 1);
    m->type = type;

    if (type == REPORT_CUSTOM_NUMBER) {
        while (p < end && is_sep(*p) && *p != ',')
            p++;
        while (end > p && is_sep(end[-1]) && end[-1] != ',')
            end--;
        result = number_parse(p, (size_t)(end - p), &m->number, diag);
        if (result)
            return result;
        r->ncustom++;
        return 0;
    }

    m->first = r->nvalues;
    while (p < end) {
        const char *t;
        size_t tn;
        uint32_t k;

        while (p < end && is_sep(*p))
            p++;
        if (p >= end)
            break;
        t = p;
        while (p < end && !is_sep(*p))
            p++;
        tn = (size_t)(p - t);
        if (r->nvalues >= CUSTOM_VALUES_MAX) {
            cordon_diag_set(diag, "InvalidField", 0, 0, 0, "more than %d list elements",
                            CUSTOM_VALUES_MAX);
            result = CORDON_ETOOBIG;
            goto fail;
        }
        k = r->nvalues;
        if (type == REPORT_CUSTOM_NUMBER_LIST) {
            result = number_parse(t, tn, &r->numbers[k], diag);
            if (result)
                goto fail;
        } else if (type == REPORT_CUSTOM_STRING_LIST) {
            if (!string_ok(t, tn)) {
                cordon_diag_set(diag, "InvalidField", 0, 0, 0,
                                "'%.*s' is not a string of A-Z a-z 0-9 : _ - / .",
                                (int)(tn > 40 ? 40 : tn), t);
                result = CORDON_EINVAL;
                goto fail;
            }
            if (r->strpool_len + tn > CUSTOM_STRPOOL_MAX) {
                cordon_diag_set(diag, "InvalidField", 0, 0, 0, "string pool full");
                result = CORDON_ETOOBIG;
                goto fail;
            }
            r->strs[k].off = r->strpool_len;
            r->strs[k].len = (uint32_t)tn;
            memcpy(r->strpool + r->strpool_len, t, tn);
            r->strpool_len += (uint32_t)tn;
        } else {
            if (ip_parse(t, tn, &r->ips[k])) {
                cordon_diag_set(diag, "InvalidField", 0, 0, 0, "'%.*s' is not an IP address",
                                (int)(tn > 46 ? 46 : tn), t);
                result = CORDON_EINVAL;
                goto fail;
            }
        }
        r->nvalues++;
    }
    m->count = r->nvalues - m->first;
    r->ncustom++;
    return 0;
fail:
    r->nvalues = nvalues0;
    r->strpool_len = strpool0;
    return result;
}
