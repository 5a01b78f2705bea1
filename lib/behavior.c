#include "behavior.h"

#include <arpa/inet.h>
#include <endian.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lifetime ------------------------------------------------------------ */

static void free_strv(char **v, uint32_t n)
{
    if (!v)
        return;
    for (uint32_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void behavior_free(struct behavior *b)
{
    if (!b)
        return;
    free(b->name);
    free(b->metric);
    free(b->dimension);
    free(b->response_plan);
    free(b->c.ports);
    free(b->c.port_bits);
    free_strv(b->c.cidrs, b->c.ncidrs);
    free(b->c.cidr_v);
    free(b->c.numbers);
    free(b->c.numbers_sorted);
    free_strv(b->c.strings, b->c.nstrings);
    free(b->c.strings_sorted);
    memset(b, 0, sizeof(*b));
}

/* ---- compile --------------------------------------------------------------- */

/* 16 address bytes as two big-endian words */
static inline void load_words(const uint8_t *a, uint64_t w[2])
{
    uint64_t x, y;
    memcpy(&x, a, 8);
    memcpy(&y, a + 8, 8);
    w[0] = be64toh(x);
    w[1] = be64toh(y);
}

int behavior_cidr_parse(const char *s, size_t len, struct behavior_cidr *out)
{
    char tmp[64];
    const char *slash;
    size_t alen;
    long prefix = -1;

    if (len < 2 || len > 43)
        return CORDON_EINVAL;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
              c == ':' || c == '.' || c == '/'))
            return CORDON_EINVAL;
    }
    slash = memchr(s, '/', len);
    alen = slash ? (size_t)(slash - s) : len;
    if (slash) {
        const char *p = slash + 1;
        size_t plen = len - alen - 1;
        if (plen == 0 || plen > 3)
            return CORDON_EINVAL;
        prefix = 0;
        for (size_t i = 0; i < plen; i++) {
            if (p[i] < '0' || p[i] > '9')
                return CORDON_EINVAL;
            prefix = prefix * 10 + (p[i] - '0');
        }
    }
    memcpy(tmp, s, alen);
    tmp[alen] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, tmp, out->addr) == 1) {
        out->family = 4;
        if (prefix < 0)
            prefix = 32;
        if (prefix > 32)
            return CORDON_EINVAL;
    } else if (inet_pton(AF_INET6, tmp, out->addr) == 1) {
        out->family = 6;
        if (prefix < 0)
            prefix = 128;
        if (prefix > 128)
            return CORDON_EINVAL;
    } else {
        return CORDON_EINVAL;
    }
    out->prefix = (uint8_t)prefix;
    /* IPv4 lives in the top 32 bits of word 0 */
    for (int w = 0; w < 2; w++) {
        int bits = (int)prefix - 64 * w;
        out->mask[w] = bits <= 0 ? 0 : bits >= 64 ? UINT64_MAX : ~(UINT64_MAX >> bits);
    }
    load_words(out->addr, out->net);
    out->net[0] &= out->mask[0];
    out->net[1] &= out->mask[1];
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int behavior_compile(struct behavior *b, struct cordon_diag *diag)
{
    struct behavior_criteria *c = &b->c;

    if (b->kind != BEHAVIOR_RULE)
        return 0;
    switch (c->value_type) {
    case METRIC_TYPE_PORTS:
        free(c->port_bits);
        c->port_bits = calloc(65536 / 64, sizeof(uint64_t));
        if (!c->port_bits)
            return CORDON_ENOMEM;
        for (uint32_t i = 0; i < c->nports; i++)
            c->port_bits[c->ports[i] >> 6] |= UINT64_C(1) << (c->ports[i] & 63);
        break;
    case METRIC_TYPE_IPS:
        free(c->cidr_v);
        c->cidr_v = calloc(c->ncidrs ? c->ncidrs : 1, sizeof(*c->cidr_v));
        if (!c->cidr_v)
            return CORDON_ENOMEM;
        for (uint32_t i = 0; i < c->ncidrs; i++) {
            if (behavior_cidr_parse(c->cidrs[i], strlen(c->cidrs[i]), &c->cidr_v[i])) {
                cordon_diag_set(diag, "InvalidField", 0, 0, 0, "\"%s\" is not a CIDR", c->cidrs[i]);
                return CORDON_EINVAL;
            }
        }
        break;
    case METRIC_TYPE_NUMBERS:
        free(c->numbers_sorted);
        c->numbers_sorted = malloc((c->nnumbers ? c->nnumbers : 1) * sizeof(double));
        if (!c->numbers_sorted)
            return CORDON_ENOMEM;
        if (c->nnumbers)
            memcpy(c->numbers_sorted, c->numbers, c->nnumbers * sizeof(double));
        qsort(c->numbers_sorted, c->nnumbers, sizeof(double), cmp_double);
        break;
    case METRIC_TYPE_STRINGS:
        free(c->strings_sorted);
        c->strings_sorted = malloc((c->nstrings ? c->nstrings : 1) * sizeof(char *));
        if (!c->strings_sorted)
            return CORDON_ENOMEM;
        if (c->nstrings)
            memcpy(c->strings_sorted, c->strings, c->nstrings * sizeof(char *));
        qsort(c->strings_sorted, c->nstrings, sizeof(char *), cmp_strp);
        break;
    default:
        break;
    }
    return 0;
}

/* ---- evaluation -------------------------------------------------------- */

bool behavior_compare(enum metric_op op, double v, double threshold)
{
    switch (op) {
    case METRIC_OP_LT:
        return v < threshold;
    case METRIC_OP_LTE:
        return v <= threshold;
    case METRIC_OP_GT:
        return v > threshold;
    case METRIC_OP_GTE:
        return v >= threshold;
    default:
        return false;
    }
}

double behavior_scalar(const struct metric_datapoint *dp)
{
    return dp->type == METRIC_TYPE_COUNT ? (double)dp->count : dp->number;
}

static bool cidrs_contain(const struct behavior_criteria *c, const struct report_ip *ip)
{
    uint64_t w[2];

    if (ip->family == 4) { /* bytes 4..15 are not part of an IPv4 address */
        uint32_t v4;
        memcpy(&v4, ip->addr, 4);
        w[0] = (uint64_t)be32toh(v4) << 32;
        w[1] = 0;
    } else {
        load_words(ip->addr, w);
    }
    for (uint32_t i = 0; i < c->ncidrs; i++) {
        const struct behavior_cidr *x = &c->cidr_v[i];
        if (x->family == ip->family && (w[0] & x->mask[0]) == x->net[0] &&
            (w[1] & x->mask[1]) == x->net[1])
            return true;
    }
    return false;
}

static bool numbers_contain(const struct behavior_criteria *c, double v)
{
    size_t lo = 0, hi = c->nnumbers;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        double m = c->numbers_sorted[mid];
        if (m == v)
            return true;
        if (m < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static bool strings_contain(const struct behavior_criteria *c, const char *s, size_t len)
{
    size_t lo = 0, hi = c->nstrings;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *m = c->strings_sorted[mid];
        size_t mlen = strlen(m);
        int r = memcmp(m, s, mlen < len ? mlen : len);
        if (r == 0)
            r = (mlen > len) - (mlen < len);
        if (r == 0)
            return true;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

bool behavior_violates(const struct behavior *b, const struct metric_datapoint *dp)
{
    const struct behavior_criteria *c = &b->c;
    bool allow; /* in-*-set: violation when an element is outside */

    switch (c->op) {
    case METRIC_OP_LT:
    case METRIC_OP_LTE:
    case METRIC_OP_GT:
    case METRIC_OP_GTE:
        if (dp->type == METRIC_TYPE_COUNT && c->value_type == METRIC_TYPE_COUNT) {
            switch (c->op) {
            case METRIC_OP_LT:
                return dp->count < c->count;
            case METRIC_OP_LTE:
                return dp->count <= c->count;
            case METRIC_OP_GT:
                return dp->count > c->count;
            default:
                return dp->count >= c->count;
            }
        }
        return behavior_compare(c->op, behavior_scalar(dp),
                                c->value_type == METRIC_TYPE_COUNT ? (double)c->count : c->number);
    case METRIC_OP_IN_PORT_SET:
    case METRIC_OP_NOT_IN_PORT_SET:
        allow = c->op == METRIC_OP_IN_PORT_SET;
        for (uint32_t i = 0; i < dp->n; i++) {
            uint16_t p = dp->ports[i].port;
            bool in = (c->port_bits[p >> 6] >> (p & 63)) & 1;
            if (in != allow)
                return true;
        }
        return false;
    case METRIC_OP_IN_CIDR_SET:
    case METRIC_OP_NOT_IN_CIDR_SET:
        allow = c->op == METRIC_OP_IN_CIDR_SET;
        for (uint32_t i = 0; i < dp->n; i++) {
            const struct report_ip *ip = dp->conns ? &dp->conns[i].remote : &dp->ips[i];
            if (cidrs_contain(c, ip) != allow)
                return true;
        }
        return false;
    case METRIC_OP_IN_SET:
    case METRIC_OP_NOT_IN_SET:
        allow = c->op == METRIC_OP_IN_SET;
        for (uint32_t i = 0; i < dp->n; i++) {
            bool in;
            if (dp->type == METRIC_TYPE_NUMBERS)
                in = numbers_contain(c, dp->numbers[i]);
            else
                in = strings_contain(c, dp->strpool + dp->strs[i].off, dp->strs[i].len);
            if (in != allow)
                return true;
        }
        return false;
    default:
        return false;
    }
}

/* ---- statistics ---------------------------------------------------------- */

static const struct {
    const char *name;
    double p;
} statistics[] = {
    { "p0", 0 },       { "p0.1", 0.1 },     { "p0.01", 0.01 }, { "p1", 1 },
    { "p10", 10 },     { "p50", 50 },       { "p90", 90 },     { "p99", 99 },
    { "p99.9", 99.9 }, { "p99.99", 99.99 }, { "p100", 100 },
};

int behavior_statistic_parse(const char *s, size_t len, double *percentile)
{
    for (size_t i = 0; i < sizeof(statistics) / sizeof(statistics[0]); i++)
        if (strlen(statistics[i].name) == len && !memcmp(statistics[i].name, s, len)) {
            *percentile = statistics[i].p;
            return 0;
        }
    return CORDON_EINVAL;
}

const char *behavior_confidence_name(enum behavior_confidence c)
{
    switch (c) {
    case BEHAVIOR_CONFIDENCE_LOW:
        return "LOW";
    case BEHAVIOR_CONFIDENCE_MEDIUM:
        return "MEDIUM";
    case BEHAVIOR_CONFIDENCE_HIGH:
        return "HIGH";
    default:
        return "NONE";
    }
}

/* ---- equality ----------------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool strv_eq(char **a, char **b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

bool behavior_equal(const struct behavior *a, const struct behavior *b)
{
    const struct behavior_criteria *x = &a->c, *y = &b->c;

    if (!str_eq(a->name, b->name) || !str_eq(a->metric, b->metric) ||
        !str_eq(a->dimension, b->dimension) || a->dimension_not_in != b->dimension_not_in ||
        a->kind != b->kind || a->suppress_alerts != b->suppress_alerts ||
        a->export_metric != b->export_metric || !str_eq(a->response_plan, b->response_plan))
        return false;
    if (a->kind == BEHAVIOR_RETAIN)
        return true;
    if (x->duration_s != y->duration_s || x->to_alarm != y->to_alarm ||
        x->to_clear != y->to_clear || x->confidence != y->confidence ||
        strcmp(x->statistic, y->statistic) != 0)
        return false;
    if (a->kind == BEHAVIOR_ML)
        return true;
    if (x->op != y->op)
        return false;
    if (a->kind != BEHAVIOR_RULE)
        return true;
    if (x->value_type != y->value_type)
        return false;
    switch (x->value_type) {
    case METRIC_TYPE_COUNT:
        return x->count == y->count;
    case METRIC_TYPE_NUMBER:
        return x->number == y->number;
    case METRIC_TYPE_PORTS:
        return x->nports == y->nports &&
               (!x->nports || !memcmp(x->ports, y->ports, x->nports * sizeof(uint16_t)));
    case METRIC_TYPE_IPS:
        return x->ncidrs == y->ncidrs && strv_eq(x->cidrs, y->cidrs, x->ncidrs);
    case METRIC_TYPE_NUMBERS:
        if (x->nnumbers != y->nnumbers)
            return false;
        for (uint32_t i = 0; i < x->nnumbers; i++)
            if (x->numbers[i] != y->numbers[i])
                return false;
        return true;
    case METRIC_TYPE_STRINGS:
        return x->nstrings == y->nstrings && strv_eq(x->strings, y->strings, x->nstrings);
    }
    return false;
}

/* ---- JSON ----------------------------------------------------------------- */

/* Shortest %g form that reads back to the same double. */
static int add_key(struct buf *out, bool *first, const char *key)
{
    int result = 0;
    if (!*first)
        result = buf_addc(out, ',');
    *first = false;
    if (!result)
        result = buf_add_json_string(out, key, strlen(key));
    if (!result)
        result = buf_addc(out, ':');
    return result;
}

static int add_str(struct buf *out, const char *s)
{
    return buf_add_json_string(out, s, strlen(s));
}

int behavior_value_write(const struct behavior_criteria *c, struct buf *out, const char *sep)
{
    int result = 0;

    switch (c->value_type) {
    case METRIC_TYPE_COUNT:
        result = buf_printf(out, "%llu", (unsigned long long)c->count);
        break;
    case METRIC_TYPE_NUMBER:
        result = buf_add_double(out, c->number);
        break;
    case METRIC_TYPE_PORTS:
        result = buf_addc(out, '[');
        for (uint32_t i = 0; !result && i < c->nports; i++) {
            if (i)
                result = buf_adds(out, sep);
            if (!result)
                result = buf_printf(out, "%u", c->ports[i]);
        }
        if (!result)
            result = buf_addc(out, ']');
        break;
    case METRIC_TYPE_IPS:
    case METRIC_TYPE_STRINGS: {
        char **v = c->value_type == METRIC_TYPE_IPS ? c->cidrs : c->strings;
        uint32_t n = c->value_type == METRIC_TYPE_IPS ? c->ncidrs : c->nstrings;
        result = buf_addc(out, '[');
        for (uint32_t i = 0; !result && i < n; i++) {
            if (i)
                result = buf_adds(out, sep);
            if (!result)
                result = add_str(out, v[i]);
        }
        if (!result)
            result = buf_addc(out, ']');
        break;
    }
    case METRIC_TYPE_NUMBERS:
        result = buf_addc(out, '[');
        for (uint32_t i = 0; !result && i < c->nnumbers; i++) {
            if (i)
                result = buf_adds(out, sep);
            if (!result)
                result = buf_add_double(out, c->numbers[i]);
        }
        if (!result)
            result = buf_addc(out, ']');
        break;
    }
    return result;
}

static int criteria_value_json(const struct behavior_criteria *c, struct buf *out)
{
    int result = buf_printf(out, "{\"%s\":", metric_type_value_key(c->value_type));

    if (!result)
        result = behavior_value_write(c, out, ",");
    if (!result)
        result = buf_addc(out, '}');
    return result;
}

int behavior_json(const struct behavior *b, struct buf *out)
{
    const struct behavior_criteria *c = &b->c;
    bool first = true, cf = true;
    int result;

    result = buf_addc(out, '{');
    if (!result)
        result = add_key(out, &first, "name");
    if (!result)
        result = add_str(out, b->name);
    if (!result)
        result = add_key(out, &first, "metric");
    if (!result)
        result = add_str(out, b->metric);
    if (!result && b->dimension) {
        result = add_key(out, &first, "metricDimension");
        if (!result)
            result = buf_adds(out, "{\"dimensionName\":");
        if (!result)
            result = add_str(out, b->dimension);
        if (!result)
            result =
                buf_printf(out, ",\"operator\":\"%s\"}", b->dimension_not_in ? "NOT_IN" : "IN");
    }
    if (!result && b->kind != BEHAVIOR_RETAIN) {
        result = add_key(out, &first, "criteria");
        if (!result)
            result = buf_addc(out, '{');
        if (!result && b->kind != BEHAVIOR_ML) {
            result = add_key(out, &cf, "comparisonOperator");
            if (!result)
                result = add_str(out, metric_op_name(c->op));
        }
        if (!result && b->kind == BEHAVIOR_RULE) {
            result = add_key(out, &cf, "value");
            if (!result)
                result = criteria_value_json(c, out);
        }
        if (!result && c->duration_s) {
            result = add_key(out, &cf, "durationSeconds");
            if (!result)
                result = buf_printf(out, "%u", c->duration_s);
        }
        if (!result && c->to_alarm) {
            result = add_key(out, &cf, "consecutiveDatapointsToAlarm");
            if (!result)
                result = buf_printf(out, "%u", c->to_alarm);
        }
        if (!result && c->to_clear) {
            result = add_key(out, &cf, "consecutiveDatapointsToClear");
            if (!result)
                result = buf_printf(out, "%u", c->to_clear);
        }
        if (!result && b->kind == BEHAVIOR_STATISTICAL) {
            result = add_key(out, &cf, "statisticalThreshold");
            if (!result)
                result = buf_printf(out, "{\"statistic\":\"%s\"}", c->statistic);
        }
        if (!result && b->kind == BEHAVIOR_ML) {
            result = add_key(out, &cf, "mlDetectionConfig");
            if (!result)
                result = buf_printf(out, "{\"confidenceLevel\":\"%s\"}",
                                    behavior_confidence_name(c->confidence));
        }
        if (!result)
            result = buf_addc(out, '}');
    }
    if (!result && b->suppress_alerts) {
        result = add_key(out, &first, "suppressAlerts");
        if (!result)
            result = buf_adds(out, "true");
    }
    if (!result)
        result = buf_addc(out, '}');
    return result;
}

/* ---- windows ---------------------------------------------------------------- */

void behavior_window_init(struct behavior_window *w)
{
    w->head = -1;
    w->total = 0;
    memset(w->sum, 0, sizeof(w->sum));
}

double behavior_window_add(struct behavior_window *w, uint32_t duration_s, int64_t now_ms, double v)
{
    int64_t bucket_ms = (int64_t)duration_s * 1000 / BEHAVIOR_WINDOW_BUCKETS;
    int64_t idx;

    if (bucket_ms <= 0)
        bucket_ms = 1;
    idx = now_ms / bucket_ms;
    if (w->head < 0 || idx - w->head >= BEHAVIOR_WINDOW_BUCKETS) {
        memset(w->sum, 0, sizeof(w->sum));
        w->total = 0;
        w->head = idx;
    } else if (idx > w->head) {
        for (int64_t i = w->head + 1; i <= idx; i++) {
            w->total -= w->sum[i % BEHAVIOR_WINDOW_BUCKETS];
            w->sum[i % BEHAVIOR_WINDOW_BUCKETS] = 0;
        }
        w->head = idx;
    }
    /* a time before head (clock stepped back) counts in the newest bucket */
    w->sum[w->head % BEHAVIOR_WINDOW_BUCKETS] += v;
    w->total += v;
    if (w->total < 0) /* rounding: sums of non-negative deltas */
        w->total = 0;
    return w->total;
}
