#include "profile.h"
#include "utf8.h"
#include "yaml_util.h"

#include <libfyaml.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_  256
#define CODE_YAML  "InvalidYaml"
#define CODE_FIELD "InvalidField"

/* ============================================================================
 * Parse context and error reporting
 * ========================================================================== */

struct pctx {
    const char *file;
    const struct metric_catalog *cat;
    struct cordon_diag *diag;
    size_t nvalues; /* value elements in the current profile */
};

/* How far down a collection is searched for its first scalar's position. */
#define MARK_DEPTH 63

static int failv(struct pctx *c, struct fy_node *at, struct fy_node *fallback, const char *path,
                 const char *fmt, va_list ap)
{
    char msg[CORDON_DIAG_MSG_MAX];
    int line = 0, col = 0;

    if (!yaml_node_line_column(at, MARK_DEPTH, &line, &col))
        yaml_node_line_column(fallback, MARK_DEPTH, &line, &col);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (line)
        cordon_diag_set(c->diag, CODE_FIELD, 0, line, col, "%s:%d:%d: %s%s%s", c->file, line, col,
                        path, *path ? ": " : "", msg);
    else
        cordon_diag_set(c->diag, CODE_FIELD, 0, 0, 0, "%s: %s%s%s", c->file, path,
                        *path ? ": " : "", msg);
    return CORDON_EINVAL;
}

/* Fail at node `at` (or at `fallback` when at has no position). */
static int fail(struct pctx *c, struct fy_node *at, struct fy_node *fallback, const char *path,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail(struct pctx *c, struct fy_node *at, struct fy_node *fallback, const char *path,
                const char *fmt, ...)
{
    va_list ap;
    int r;
    va_start(ap, fmt);
    r = failv(c, at, fallback, path, fmt, ap);
    va_end(ap);
    return r;
}

static bool is_alias(struct fy_node *n)
{
    return n && fy_node_get_style(n) == FYNS_ALIAS;
}

/* "got …" text for a node */
static const char *got(struct fy_node *n, char *tmp, size_t tmplen)
{
    const char *s;
    size_t len;

    if (!n)
        return "nothing";
    if (is_alias(n))
        return "an alias (aliases are not supported)";
    switch (fy_node_get_type(n)) {
    case FYNT_SEQUENCE:
        return "a list";
    case FYNT_MAPPING:
        return "a mapping";
    default:
        break;
    }
    s = fy_node_get_scalar(n, &len);
    if (!s)
        return "nothing";
    if (len == 0 && fy_node_get_style(n) == FYNS_PLAIN)
        return "nothing";
    if (len > 40)
        snprintf(tmp, tmplen, "\"%.40s…\"", s);
    else
        snprintf(tmp, tmplen, "\"%.*s\"", (int)len, s);
    return tmp;
}

/* Append src to out (capacity PATH_MAX_), truncating. */
static void path_cat(char *out, const char *src)
{
    size_t have = strlen(out), add = strlen(src);
    if (add > PATH_MAX_ - 1 - have)
        add = PATH_MAX_ - 1 - have;
    memcpy(out + have, src, add);
    out[have + add] = '\0';
}

static void path_key(char *out, const char *parent, const char *key)
{
    out[0] = '\0';
    path_cat(out, parent);
    if (*parent)
        path_cat(out, ".");
    path_cat(out, key);
}

static void path_index(char *out, const char *parent, size_t i)
{
    char num[32];
    snprintf(num, sizeof(num), "[%zu]", i);
    out[0] = '\0';
    path_cat(out, parent);
    path_cat(out, num);
}

/* ============================================================================
 * Scalars
 * ========================================================================== */

static bool is_scalar(struct fy_node *n)
{
    return n && fy_node_get_type(n) == FYNT_SCALAR;
}

static const char *scalar(struct fy_node *n, size_t *len)
{
    const char *s = is_scalar(n) && !is_alias(n) ? fy_node_get_scalar(n, len) : NULL;
    if (s && *len == 0 && fy_node_get_style(n) == FYNS_PLAIN)
        return NULL; /* null */
    return s;
}

static bool key_is(struct fy_node *k, const char *name)
{
    size_t len;
    const char *s = scalar(k, &len);
    return s && strlen(name) == len && !memcmp(s, name, len);
}

/* A string scalar of 1..max bytes without control characters. */
static int get_string(struct pctx *c, struct fy_node *n, struct fy_node *key, const char *path,
                      size_t max, char **out)
{
    char tmp[64];
    size_t len;
    const char *s = scalar(n, &len);

    if (!s || len == 0 || len > max)
        return fail(c, n, key, path, "expected a string of 1..%zu characters, got %s", max,
                    got(n, tmp, sizeof(tmp)));
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return fail(c, n, key, path, "control characters are not allowed");
    *out = strndup(s, len);
    return *out ? 0 : CORDON_ENOMEM;
}

/* A name [a-zA-Z0-9:_-]{1,128} */
static int get_name(struct pctx *c, struct fy_node *n, struct fy_node *key, const char *path,
                    char **out)
{
    char tmp[64];
    size_t len;
    const char *s = scalar(n, &len);
    bool ok = s && len >= 1 && len <= PROFILE_NAME_MAX;

    for (size_t i = 0; ok && i < len; i++) {
        char ch = s[i];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == ':' || ch == '_' || ch == '-';
    }
    if (!ok)
        return fail(c, n, key, path,
                    "expected a name of 1..128 characters a-z A-Z 0-9 : _ -, got %s",
                    got(n, tmp, sizeof(tmp)));
    *out = strndup(s, len);
    return *out ? 0 : CORDON_ENOMEM;
}

static int get_uint(struct pctx *c, struct fy_node *n, struct fy_node *key, const char *path,
                    uint64_t min, uint64_t max, uint64_t *out)
{
    char tmp[64], num[32];
    size_t len;
    const char *s = scalar(n, &len);
    unsigned long long v;
    char *end;

    if (!s || len == 0 || len >= sizeof(num) || s[0] < '0' || s[0] > '9')
        goto bad;
    memcpy(num, s, len);
    num[len] = '\0';
    errno = 0;
    v = strtoull(num, &end, 10);
    if (errno || *end || v < min || v > max)
        goto bad;
    *out = v;
    return 0;
bad:
    return fail(c, n, key, path, "expected an integer %llu..%llu, got %s", (unsigned long long)min,
                (unsigned long long)max, got(n, tmp, sizeof(tmp)));
}

static int get_double(struct pctx *c, struct fy_node *n, struct fy_node *key, const char *path,
                      double *out)
{
    char tmp[64], num[64];
    size_t len;
    const char *s = scalar(n, &len);
    double v;
    char *end;

    if (!s || len == 0 || len >= sizeof(num))
        goto bad;
    memcpy(num, s, len);
    num[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (!strchr("0123456789+-.eE", num[i]))
            goto bad;
    errno = 0;
    v = strtod(num, &end);
    if (errno || *end || !isfinite(v))
        goto bad;
    *out = v;
    return 0;
bad:
    return fail(c, n, key, path, "expected a number, got %s", got(n, tmp, sizeof(tmp)));
}

static int get_bool(struct pctx *c, struct fy_node *n, struct fy_node *key, const char *path,
                    bool *out)
{
    char tmp[64];
    size_t len;
    const char *s = scalar(n, &len);

    if (s && len == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4))) {
        *out = true;
        return 0;
    }
    if (s && len == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5))) {
        *out = false;
        return 0;
    }
    return fail(c, n, key, path, "expected true or false, got %s", got(n, tmp, sizeof(tmp)));
}

static int expect_map(struct pctx *c, struct fy_node *n, struct fy_node *key, const char *path)
{
    char tmp[64];
    if (n && fy_node_get_type(n) == FYNT_MAPPING)
        return 0;
    return fail(c, n, key, path, "expected a mapping, got %s", got(n, tmp, sizeof(tmp)));
}

static int expect_seq(struct pctx *c, struct fy_node *n, struct fy_node *key, const char *path)
{
    char tmp[64];
    if (n && fy_node_get_type(n) == FYNT_SEQUENCE)
        return 0;
    return fail(c, n, key, path, "expected a list, got %s", got(n, tmp, sizeof(tmp)));
}

static int unknown_key(struct pctx *c, struct fy_node *k, const char *path, const char *expected)
{
    char tmp[64];
    return fail(c, k, NULL, path, "unknown key %s (expected %s)", got(k, tmp, sizeof(tmp)),
                expected);
}

/* Iterate a mapping: for (pair...) with key k, value v */
#define FOR_PAIRS(map, k, v)                                                                       \
    for (void *it_ = NULL; (pair_ = fy_node_mapping_iterate((map), &it_)) != NULL;)                \
        if (((k) = fy_node_pair_key(pair_)), ((v) = fy_node_pair_value(pair_)), 1)

/* ============================================================================
 * Criteria
 * ========================================================================== */

static int add_values(struct pctx *c, struct fy_node *n, struct fy_node *key, const char *path,
                      size_t count)
{
    if (count > BEHAVIOR_VALUES_MAX)
        return fail(c, n, key, path, "at most %d elements, got %zu", BEHAVIOR_VALUES_MAX, count);
    c->nvalues += count;
    if (c->nvalues > PROFILE_VALUES_MAX)
        return fail(c, n, key, path, "the profile has more than %d value elements",
                    PROFILE_VALUES_MAX);
    return 0;
}

static int parse_value(struct pctx *c, struct behavior *b, struct fy_node *map,
                       struct fy_node *mapkey, const char *path)
{
    struct behavior_criteria *cr = &b->c;
    struct fy_node_pair *pair_;
    struct fy_node *k, *v;
    const char *want = metric_type_value_key(b->def.type);
    char p[PATH_MAX_], pi[PATH_MAX_], tmp[64];
    int result = expect_map(c, map, mapkey, path);
    int nkeys = 0;

    if (result)
        return result;
    FOR_PAIRS(map, k, v)
    {
        size_t n, i = 0;
        void *it = NULL;
        struct fy_node *e;

        if (nkeys++)
            return fail(c, k, NULL, path,
                        "expected exactly one of count, number, numbers, "
                        "strings, ports, cidrs");
        if (!key_is(k, "count") && !key_is(k, "number") && !key_is(k, "numbers") &&
            !key_is(k, "strings") && !key_is(k, "ports") && !key_is(k, "cidrs"))
            return unknown_key(c, k, path, "count, number, numbers, strings, ports or cidrs");
        if (!key_is(k, want))
            return fail(c, k, NULL, path, "expected %s for metric %s, got %s", want, b->metric,
                        got(k, tmp, sizeof(tmp)));
        path_key(p, path, want);
        cr->value_type = b->def.type;
        if (b->def.type == METRIC_TYPE_COUNT)
            return get_uint(c, v, k, p, 0, INT64_MAX, &cr->count);
        if (b->def.type == METRIC_TYPE_NUMBER)
            return get_double(c, v, k, p, &cr->number);
        result = expect_seq(c, v, k, p);
        if (result)
            return result;
        n = (size_t)fy_node_sequence_item_count(v);
        result = add_values(c, v, k, p, n);
        if (result)
            return result;
        switch (b->def.type) {
        case METRIC_TYPE_PORTS:
            cr->ports = calloc(n ? n : 1, sizeof(uint16_t));
            break;
        case METRIC_TYPE_IPS:
            cr->cidrs = calloc(n ? n : 1, sizeof(char *));
            break;
        case METRIC_TYPE_NUMBERS:
            cr->numbers = calloc(n ? n : 1, sizeof(double));
            break;
        case METRIC_TYPE_STRINGS:
            cr->strings = calloc(n ? n : 1, sizeof(char *));
            break;
        default:
            break;
        }
        if (!cr->ports && !cr->cidrs && !cr->numbers && !cr->strings)
            return CORDON_ENOMEM;
        while ((e = fy_node_sequence_iterate(v, &it)) != NULL) {
            path_index(pi, p, i);
            switch (b->def.type) {
            case METRIC_TYPE_PORTS: {
                uint64_t port;
                result = get_uint(c, e, k, pi, 0, 65535, &port);
                if (!result)
                    cr->ports[cr->nports++] = (uint16_t)port;
                break;
            }
            case METRIC_TYPE_IPS: {
                struct behavior_cidr cidr;
                size_t len;
                const char *s = scalar(e, &len);
                if (!s || behavior_cidr_parse(s, len, &cidr))
                    return fail(c, e, k, pi,
                                "expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32, got %s",
                                got(e, tmp, sizeof(tmp)));
                cr->cidrs[cr->ncidrs] = strndup(s, len);
                if (!cr->cidrs[cr->ncidrs])
                    return CORDON_ENOMEM;
                cr->ncidrs++;
                break;
            }
            case METRIC_TYPE_NUMBERS:
                result = get_double(c, e, k, pi, &cr->numbers[cr->nnumbers]);
                if (!result)
                    cr->nnumbers++;
                break;
            case METRIC_TYPE_STRINGS:
                result = get_string(c, e, k, pi, BEHAVIOR_STRING_MAX, &cr->strings[cr->nstrings]);
                if (!result)
                    cr->nstrings++;
                break;
            default:
                break;
            }
            if (result)
                return result;
            i++;
        }
    }
    if (!nkeys)
        return fail(c, map, mapkey, path, "expected %s for metric %s, got an empty mapping", want,
                    b->metric);
    return 0;
}

static bool duration_allowed(uint64_t d)
{
    return d == 300 || d == 600 || d == 900 || d == 1800 || d == 3600;
}

static int parse_criteria(struct pctx *c, struct behavior *b, struct fy_node *map,
                          struct fy_node *mapkey, const char *path)
{
    struct behavior_criteria *cr = &b->c;
    struct fy_node_pair *pair_;
    struct fy_node *k, *v, *opnode = NULL, *durnode = NULL;
    char p[PATH_MAX_], tmp[64];
    int result = expect_map(c, map, mapkey, path);
    bool has_op = false;
    int kinds = 0;
    uint64_t u;

    if (result)
        return result;
    FOR_PAIRS(map, k, v)
    {
        size_t len;
        const char *s;

        if (key_is(k, "comparisonOperator")) {
            int op;
            path_key(p, path, "comparisonOperator");
            s = scalar(v, &len);
            op = s ? metric_op_parse(s, len) : -1;
            if (op < 0)
                return fail(c, v, k, p,
                            "expected less-than, less-than-equals, greater-than, "
                            "greater-than-equals, in-cidr-set, not-in-cidr-set, in-port-set, "
                            "not-in-port-set, in-set or not-in-set, got %s",
                            got(v, tmp, sizeof(tmp)));
            cr->op = (enum metric_op)op;
            has_op = true;
            opnode = v ? v : k;
        } else if (key_is(k, "value")) {
            path_key(p, path, "value");
            b->kind = BEHAVIOR_RULE;
            if (kinds++)
                return fail(c, k, NULL, path,
                            "expected exactly one of value, "
                            "statisticalThreshold or mlDetectionConfig");
            result = parse_value(c, b, v, k, p);
        } else if (key_is(k, "durationSeconds")) {
            path_key(p, path, "durationSeconds");
            result = get_uint(c, v, k, p, 0, 86400, &u);
            if (!result && !duration_allowed(u))
                result = fail(c, v, k, p, "expected 300, 600, 900, 1800 or 3600, got %llu",
                              (unsigned long long)u);
            if (!result && !b->def.duration_ok)
                result = fail(c, k, NULL, p, "not allowed with metric %s", b->metric);
            cr->duration_s = (uint32_t)u;
            durnode = k;
        } else if (key_is(k, "consecutiveDatapointsToAlarm")) {
            path_key(p, path, "consecutiveDatapointsToAlarm");
            result = get_uint(c, v, k, p, 1, BEHAVIOR_TO_ALARM_MAX, &u);
            cr->to_alarm = (uint8_t)u;
        } else if (key_is(k, "consecutiveDatapointsToClear")) {
            path_key(p, path, "consecutiveDatapointsToClear");
            result = get_uint(c, v, k, p, 1, BEHAVIOR_TO_ALARM_MAX, &u);
            cr->to_clear = (uint8_t)u;
        } else if (key_is(k, "statisticalThreshold")) {
            struct fy_node_pair *pair2;
            struct fy_node *k2, *v2;
            path_key(p, path, "statisticalThreshold");
            b->kind = BEHAVIOR_STATISTICAL;
            if (kinds++)
                return fail(c, k, NULL, path,
                            "expected exactly one of value, "
                            "statisticalThreshold or mlDetectionConfig");
            result = expect_map(c, v, k, p);
            if (result)
                return result;
            for (void *it2 = NULL; (pair2 = fy_node_mapping_iterate(v, &it2)) != NULL;) {
                char p2[PATH_MAX_];
                k2 = fy_node_pair_key(pair2);
                v2 = fy_node_pair_value(pair2);
                if (!key_is(k2, "statistic"))
                    return unknown_key(c, k2, p, "statistic");
                path_key(p2, p, "statistic");
                s = scalar(v2, &len);
                if (!s || len >= sizeof(cr->statistic) ||
                    behavior_statistic_parse(s, len, &cr->percentile))
                    return fail(c, v2, k2, p2,
                                "expected p0, p0.1, p0.01, p1, p10, p50, p90, p99, p99.9, "
                                "p99.99 or p100, got %s",
                                got(v2, tmp, sizeof(tmp)));
                memcpy(cr->statistic, s, len);
                cr->statistic[len] = '\0';
            }
            if (!cr->statistic[0])
                return fail(c, v, k, p, "missing statistic");
            if (!b->def.statistical_ok)
                return fail(c, k, NULL, p, "not allowed with metric %s", b->metric);
        } else if (key_is(k, "mlDetectionConfig")) {
            struct fy_node_pair *pair2;
            struct fy_node *k2, *v2;
            path_key(p, path, "mlDetectionConfig");
            b->kind = BEHAVIOR_ML;
            if (kinds++)
                return fail(c, k, NULL, path,
                            "expected exactly one of value, "
                            "statisticalThreshold or mlDetectionConfig");
            result = expect_map(c, v, k, p);
            if (result)
                return result;
            for (void *it2 = NULL; (pair2 = fy_node_mapping_iterate(v, &it2)) != NULL;) {
                char p2[PATH_MAX_];
                k2 = fy_node_pair_key(pair2);
                v2 = fy_node_pair_value(pair2);
                if (!key_is(k2, "confidenceLevel"))
                    return unknown_key(c, k2, p, "confidenceLevel");
                path_key(p2, p, "confidenceLevel");
                s = scalar(v2, &len);
                if (s && len == 3 && !memcmp(s, "LOW", 3))
                    cr->confidence = BEHAVIOR_CONFIDENCE_LOW;
                else if (s && len == 6 && !memcmp(s, "MEDIUM", 6))
                    cr->confidence = BEHAVIOR_CONFIDENCE_MEDIUM;
                else if (s && len == 4 && !memcmp(s, "HIGH", 4))
                    cr->confidence = BEHAVIOR_CONFIDENCE_HIGH;
                else
                    return fail(c, v2, k2, p2, "expected LOW, MEDIUM or HIGH, got %s",
                                got(v2, tmp, sizeof(tmp)));
            }
            if (cr->confidence == BEHAVIOR_CONFIDENCE_NONE)
                return fail(c, v, k, p, "missing confidenceLevel");
            if (!b->def.ml_ok)
                return fail(c, k, NULL, p, "metric %s does not support ML detection", b->metric);
        } else {
            return unknown_key(c, k, path,
                               "comparisonOperator, value, durationSeconds, "
                               "consecutiveDatapointsToAlarm, consecutiveDatapointsToClear, "
                               "statisticalThreshold or mlDetectionConfig");
        }
        if (result)
            return result;
    }
    if (kinds == 0)
        return fail(c, map, mapkey, path,
                    "expected one of value, statisticalThreshold or mlDetectionConfig");
    path_key(p, path, "comparisonOperator");
    if (b->kind == BEHAVIOR_ML) {
        if (has_op)
            return fail(c, opnode, NULL, p, "not used with mlDetectionConfig");
        return 0;
    }
    if (!has_op)
        return fail(c, map, mapkey, path, "missing comparisonOperator");
    if (!(b->def.ops & METRIC_OP_BIT(cr->op))) {
        char ops[160] = "";
        for (int i = 0; i < METRIC_OP_COUNT_; i++)
            if (b->def.ops & METRIC_OP_BIT(i)) {
                strncat(ops, *ops ? ", " : "", sizeof(ops) - strlen(ops) - 1);
                strncat(ops, metric_op_name(i), sizeof(ops) - strlen(ops) - 1);
            }
        return fail(c, opnode, NULL, p, "metric %s does not support %s (expected %s)", b->metric,
                    metric_op_name(cr->op), ops);
    }
    if (b->kind == BEHAVIOR_STATISTICAL) {
        if (cr->op > METRIC_OP_GTE)
            return fail(c, opnode, NULL, p, "statisticalThreshold needs a comparison operator");
        if (!cr->duration_s)
            return fail(c, map, mapkey, path, "statisticalThreshold needs durationSeconds");
    }
    (void)durnode;
    return 0;
}

/* ============================================================================
 * Behaviors, targets, actions
 * ========================================================================== */

static int parse_dimension(struct pctx *c, struct fy_node *map, struct fy_node *mapkey,
                           const char *path, char **name, bool *not_in)
{
    struct fy_node_pair *pair_;
    struct fy_node *k, *v;
    char p[PATH_MAX_], tmp[64];
    int result = expect_map(c, map, mapkey, path);

    if (result)
        return result;
    FOR_PAIRS(map, k, v)
    {
        if (key_is(k, "dimensionName")) {
            path_key(p, path, "dimensionName");
            free(*name);
            *name = NULL;
            result = get_name(c, v, k, p, name);
        } else if (key_is(k, "operator")) {
            path_key(p, path, "operator");
            if (key_is(v, "IN"))
                *not_in = false;
            else if (key_is(v, "NOT_IN"))
                *not_in = true;
            else
                result =
                    fail(c, v, k, p, "expected IN or NOT_IN, got %s", got(v, tmp, sizeof(tmp)));
        } else {
            result = unknown_key(c, k, path, "dimensionName or operator");
        }
        if (result)
            return result;
    }
    if (!*name)
        return fail(c, map, mapkey, path, "missing dimensionName");
    return 0;
}

static int parse_behavior(struct pctx *c, struct behavior *b, struct fy_node *map, const char *path)
{
    struct fy_node_pair *pair_;
    struct fy_node *k, *v, *metric_k = NULL, *metric_v = NULL, *crit_k = NULL, *crit_v = NULL,
                           *dim_k = NULL;
    char p[PATH_MAX_], tmp[64];
    int result = expect_map(c, map, NULL, path);

    if (result)
        return result;
    b->kind = BEHAVIOR_RETAIN;
    /* first pass: scalars (the metric is needed to read the criteria) */
    FOR_PAIRS(map, k, v)
    {
        if (key_is(k, "name")) {
            path_key(p, path, "name");
            result = get_name(c, v, k, p, &b->name);
        } else if (key_is(k, "metric")) {
            metric_k = k;
            metric_v = v;
        } else if (key_is(k, "metricDimension")) {
            path_key(p, path, "metricDimension");
            dim_k = k;
            result = parse_dimension(c, v, k, p, &b->dimension, &b->dimension_not_in);
        } else if (key_is(k, "criteria")) {
            crit_k = k;
            crit_v = v;
        } else if (key_is(k, "suppressAlerts")) {
            path_key(p, path, "suppressAlerts");
            result = get_bool(c, v, k, p, &b->suppress_alerts);
        } else if (key_is(k, "exportMetric")) {
            path_key(p, path, "exportMetric");
            result = get_bool(c, v, k, p, &b->export_metric);
        } else if (key_is(k, "responsePlan")) {
            path_key(p, path, "responsePlan");
            result = get_name(c, v, k, p, &b->response_plan);
        } else {
            result = unknown_key(c, k, path,
                                 "name, metric, metricDimension, criteria, suppressAlerts, "
                                 "exportMetric or responsePlan");
        }
        if (result)
            return result;
    }
    if (!b->name)
        return fail(c, map, NULL, path, "missing name");
    path_key(p, path, "metric");
    if (!metric_k)
        return fail(c, map, NULL, path, "missing metric");
    {
        size_t len;
        const char *s = scalar(metric_v, &len);
        const struct metric_def *def = s ? metric_find(c->cat, s, len) : NULL;
        if (!def)
            return fail(c, metric_v, metric_k, p,
                        "unknown metric %s (expected an aws: metric or a declared custom metric)",
                        got(metric_v, tmp, sizeof(tmp)));
        b->metric = strndup(s, len);
        if (!b->metric)
            return CORDON_ENOMEM;
        b->def = *def;
        b->def.name = b->metric;
    }
    if (dim_k && !b->def.dimension_ok) {
        path_key(p, path, "metricDimension");
        return fail(c, dim_k, NULL, p, "metric %s does not take a dimension", b->metric);
    }
    if (crit_k) {
        path_key(p, path, "criteria");
        result = parse_criteria(c, b, crit_v, crit_k, p);
        if (result)
            return result;
        result = behavior_compile(b, c->diag);
        if (result)
            return result;
    }
    return 0;
}

static int parse_target(struct pctx *c, struct profile_target *t, struct fy_node *n,
                        struct fy_node *key, const char *path)
{
    char tmp[64];
    size_t len;
    const char *s = scalar(n, &len);
    const char *slash;

    if (!s || len == 0 || len > 256)
        goto bad;
    if (len == 10 && !memcmp(s, "all/things", 10)) {
        t->kind = PROFILE_TARGET_ALL;
        return 0;
    }
    if (len == 21 && !memcmp(s, "all/registered-things", 21)) {
        t->kind = PROFILE_TARGET_REGISTERED;
        return 0;
    }
    if (len == 23 && !memcmp(s, "all/unregistered-things", 23)) {
        t->kind = PROFILE_TARGET_UNREGISTERED;
        return 0;
    }
    slash = memchr(s, '/', len);
    if (slash) {
        if (slash - s != 10 || memcmp(s, "thinggroup", 10) != 0)
            goto bad;
        s = slash + 1;
        len -= 11;
    }
    if (len == 0 || len > PROFILE_NAME_MAX || memchr(s, '/', len))
        goto bad;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == ':' || ch == '_' || ch == '-'))
            goto bad;
    }
    t->kind = PROFILE_TARGET_GROUP;
    t->group = strndup(s, len);
    return t->group ? 0 : CORDON_ENOMEM;
bad:
    return fail(c, n, key, path,
                "expected all/things, all/registered-things, all/unregistered-things, "
                "thinggroup/NAME or a group name, got %s",
                got(n, tmp, sizeof(tmp)));
}

static int parse_alert_target(struct pctx *c, struct profile_alert_target *a, struct fy_node *map,
                              const char *path)
{
    struct fy_node_pair *pair_;
    struct fy_node *k, *v, *dest_k = NULL, *dest_v = NULL, *type_v = NULL;
    char p[PATH_MAX_], tmp[64];
    int result = expect_map(c, map, NULL, path);
    bool have_type = false, is_url = false;

    if (result)
        return result;
    FOR_PAIRS(map, k, v)
    {
        if (key_is(k, "type")) {
            path_key(p, path, "type");
            type_v = v;
            if (key_is(v, "mqtt"))
                a->kind = PROFILE_ALERT_MQTT;
            else if (key_is(v, "webhook"))
                a->kind = PROFILE_ALERT_WEBHOOK;
            else
                return fail(c, v, k, p, "expected mqtt or webhook, got %s",
                            got(v, tmp, sizeof(tmp)));
            have_type = true;
        } else if (key_is(k, "topic") || key_is(k, "url")) {
            if (dest_k)
                return fail(c, k, NULL, path, "expected only one of topic, url");
            dest_k = k;
            dest_v = v;
            is_url = key_is(k, "url");
        } else {
            return unknown_key(c, k, path, "type, topic or url");
        }
    }
    if (!have_type)
        return fail(c, map, NULL, path, "missing type (mqtt or webhook)");
    if (!dest_k)
        return fail(c, type_v, NULL, path, "missing %s",
                    a->kind == PROFILE_ALERT_MQTT ? "topic" : "url");
    if (is_url != (a->kind == PROFILE_ALERT_WEBHOOK))
        return fail(c, dest_k, NULL, path, "a %s target takes %s",
                    a->kind == PROFILE_ALERT_MQTT ? "mqtt" : "webhook",
                    a->kind == PROFILE_ALERT_MQTT ? "topic" : "url");
    path_key(p, path, is_url ? "url" : "topic");
    result = get_string(c, dest_v, dest_k, p, 1024, &a->dest);
    if (result)
        return result;
    if (is_url && strncmp(a->dest, "http://", 7) != 0 && strncmp(a->dest, "https://", 8) != 0)
        return fail(c, dest_v, dest_k, p, "expected an http:// or https:// URL, got %s",
                    got(dest_v, tmp, sizeof(tmp)));
    if (!is_url && strpbrk(a->dest, "+#"))
        return fail(c, dest_v, dest_k, p, "a topic to publish to cannot hold + or #");
    return 0;
}

static int parse_mitigation(struct pctx *c, struct profile_mitigation *m, struct fy_node *map,
                            const char *path)
{
    struct fy_node_pair *pair_;
    struct fy_node *k, *v, *groups_k = NULL, *groups_v = NULL, *topic_k = NULL, *topic_v = NULL,
                           *type_k = NULL;
    char p[PATH_MAX_], tmp[64];
    int result = expect_map(c, map, NULL, path);
    bool have_type = false, have_override = false;

    if (result)
        return result;
    FOR_PAIRS(map, k, v)
    {
        if (key_is(k, "type")) {
            path_key(p, path, "type");
            type_k = k;
            have_type = true;
            if (key_is(v, "ADD_THINGS_TO_THING_GROUP"))
                m->kind = PROFILE_MITIGATION_ADD_THINGS_TO_THING_GROUP;
            else if (key_is(v, "REMOVE_THING_FROM_THING_GROUP"))
                m->kind = PROFILE_MITIGATION_REMOVE_THING_FROM_THING_GROUP;
            else if (key_is(v, "REVOKE_CREDENTIALS"))
                m->kind = PROFILE_MITIGATION_REVOKE_CREDENTIALS;
            else if (key_is(v, "PUBLISH_FINDING"))
                m->kind = PROFILE_MITIGATION_PUBLISH_FINDING;
            else
                return fail(c, v, k, p,
                            "expected ADD_THINGS_TO_THING_GROUP, REMOVE_THING_FROM_THING_GROUP, "
                            "REVOKE_CREDENTIALS or PUBLISH_FINDING, got %s",
                            got(v, tmp, sizeof(tmp)));
        } else if (key_is(k, "thingGroupNames")) {
            groups_k = k;
            groups_v = v;
        } else if (key_is(k, "overrideDynamicGroups")) {
            path_key(p, path, "overrideDynamicGroups");
            result = get_bool(c, v, k, p, &m->override_dynamic_groups);
            if (result)
                return result;
            have_override = true;
        } else if (key_is(k, "topic")) {
            topic_k = k;
            topic_v = v;
        } else {
            return unknown_key(c, k, path, "type, thingGroupNames, overrideDynamicGroups or topic");
        }
    }
    if (!have_type)
        return fail(c, map, NULL, path, "missing type");
    if (m->kind == PROFILE_MITIGATION_ADD_THINGS_TO_THING_GROUP ||
        m->kind == PROFILE_MITIGATION_REMOVE_THING_FROM_THING_GROUP) {
        struct fy_node *e;
        void *it = NULL;
        size_t n;
        if (!groups_k)
            return fail(c, type_k, NULL, path, "missing thingGroupNames");
        path_key(p, path, "thingGroupNames");
        result = expect_seq(c, groups_v, groups_k, p);
        if (result)
            return result;
        n = (size_t)fy_node_sequence_item_count(groups_v);
        if (n < 1 || n > PROFILE_GROUPS_MAX)
            return fail(c, groups_v, groups_k, p, "expected 1..%d group names, got %zu",
                        PROFILE_GROUPS_MAX, n);
        m->groups = calloc(n, sizeof(char *));
        if (!m->groups)
            return CORDON_ENOMEM;
        while ((e = fy_node_sequence_iterate(groups_v, &it)) != NULL) {
            char pi[PATH_MAX_];
            path_index(pi, p, m->ngroups);
            result = get_name(c, e, groups_k, pi, &m->groups[m->ngroups]);
            if (result)
                return result;
            m->ngroups++;
        }
    } else if (groups_k) {
        return fail(c, groups_k, NULL, path, "thingGroupNames is not used by %s",
                    profile_mitigation_name(m->kind));
    }
    if (have_override && m->kind != PROFILE_MITIGATION_ADD_THINGS_TO_THING_GROUP)
        return fail(c, map, NULL, path,
                    "overrideDynamicGroups is only used by "
                    "ADD_THINGS_TO_THING_GROUP");
    if (m->kind == PROFILE_MITIGATION_PUBLISH_FINDING) {
        if (!topic_k)
            return fail(c, type_k, NULL, path, "missing topic");
        path_key(p, path, "topic");
        result = get_string(c, topic_v, topic_k, p, 1024, &m->topic);
        if (!result && strpbrk(m->topic, "+#"))
            result = fail(c, topic_v, topic_k, p, "a topic to publish to cannot hold + or #");
        return result;
    }
    if (topic_k)
        return fail(c, topic_k, NULL, path, "topic is only used by PUBLISH_FINDING");
    return 0;
}

static int parse_retain(struct pctx *c, struct profile_retain *r, struct fy_node *map,
                        const char *path)
{
    struct fy_node_pair *pair_;
    struct fy_node *k, *v;
    char p[PATH_MAX_], tmp[64];
    int result = expect_map(c, map, NULL, path);

    if (result)
        return result;
    FOR_PAIRS(map, k, v)
    {
        if (key_is(k, "metric")) {
            size_t len;
            const char *s = scalar(v, &len);
            path_key(p, path, "metric");
            if (!s || !metric_find(c->cat, s, len))
                return fail(c, v, k, p,
                            "unknown metric %s (expected an aws: metric or a declared custom "
                            "metric)",
                            got(v, tmp, sizeof(tmp)));
            free(r->metric);
            r->metric = strndup(s, len);
            if (!r->metric)
                return CORDON_ENOMEM;
        } else if (key_is(k, "metricDimension")) {
            path_key(p, path, "metricDimension");
            result = parse_dimension(c, v, k, p, &r->dimension, &r->dimension_not_in);
        } else if (key_is(k, "exportMetric")) {
            path_key(p, path, "exportMetric");
            result = get_bool(c, v, k, p, &r->export_metric);
        } else {
            result = unknown_key(c, k, path, "metric, metricDimension or exportMetric");
        }
        if (result)
            return result;
    }
    if (!r->metric)
        return fail(c, map, NULL, path, "missing metric");
    return 0;
}

static int parse_export_config(struct pctx *c, struct profile *pr, struct fy_node *map,
                               struct fy_node *mapkey, const char *path)
{
    struct fy_node_pair *pair_;
    struct fy_node *k, *v;
    char p[PATH_MAX_];
    int result = expect_map(c, map, mapkey, path);

    if (result)
        return result;
    FOR_PAIRS(map, k, v)
    {
        if (key_is(k, "mqttTopic")) {
            path_key(p, path, "mqttTopic");
            free(pr->export_topic);
            pr->export_topic = NULL;
            result = get_string(c, v, k, p, 512, &pr->export_topic);
        } else if (key_is(k, "roleArn")) {
            path_key(p, path, "roleArn");
            free(pr->export_role);
            pr->export_role = NULL;
            result = get_string(c, v, k, p, 2048, &pr->export_role);
        } else {
            result = unknown_key(c, k, path, "mqttTopic or roleArn");
        }
        if (result)
            return result;
    }
    if (!pr->export_topic)
        return fail(c, map, mapkey, path, "missing mqttTopic");
    return 0;
}

/* Parse a list with per-item callback into a freshly allocated array. */
typedef int (*item_fn)(struct pctx *c, void *item, struct fy_node *n, struct fy_node *key,
                       const char *path);

static int parse_list(struct pctx *c, struct fy_node *seq, struct fy_node *key, const char *path,
                      size_t max, size_t itemsize, void **outv, size_t *outn, item_fn fn)
{
    struct fy_node *e;
    void *it = NULL;
    size_t n;
    char *v;
    int result = expect_seq(c, seq, key, path);

    if (result)
        return result;
    n = (size_t)fy_node_sequence_item_count(seq);
    if (n > max)
        return fail(c, seq, key, path, "at most %zu entries, got %zu", max, n);
    v = calloc(n ? n : 1, itemsize);
    if (!v)
        return CORDON_ENOMEM;
    *outv = v;
    *outn = 0;
    while ((e = fy_node_sequence_iterate(seq, &it)) != NULL) {
        char pi[PATH_MAX_];
        path_index(pi, path, *outn);
        result = fn(c, v + *outn * itemsize, e, key, pi);
        (*outn)++; /* counted even on failure so profile_free releases it */
        if (result)
            return result;
    }
    return 0;
}

static int item_behavior(struct pctx *c, void *item, struct fy_node *n, struct fy_node *key,
                         const char *path)
{
    (void)key;
    return parse_behavior(c, item, n, path);
}

static int item_target(struct pctx *c, void *item, struct fy_node *n, struct fy_node *key,
                       const char *path)
{
    return parse_target(c, item, n, key, path);
}

static int item_alert(struct pctx *c, void *item, struct fy_node *n, struct fy_node *key,
                      const char *path)
{
    (void)key;
    return parse_alert_target(c, item, n, path);
}

static int item_mitigation(struct pctx *c, void *item, struct fy_node *n, struct fy_node *key,
                           const char *path)
{
    (void)key;
    return parse_mitigation(c, item, n, path);
}

static int item_retain(struct pctx *c, void *item, struct fy_node *n, struct fy_node *key,
                       const char *path)
{
    (void)key;
    return parse_retain(c, item, n, path);
}

/* ============================================================================
 * Profiles
 * ========================================================================== */

static int parse_profile(struct pctx *c, struct profile *pr, struct fy_node *map, const char *path)
{
    struct fy_node_pair *pair_;
    struct fy_node *k, *v;
    char p[PATH_MAX_];
    int result;
    int line = 0, col = 0;

    memset(pr, 0, sizeof(*pr));
    c->nvalues = 0;
    result = expect_map(c, map, NULL, *path ? path : "document");
    if (result)
        return result;
    if (yaml_node_line_column(map, MARK_DEPTH, &line, &col))
        pr->line = line;
    FOR_PAIRS(map, k, v)
    {
        if (key_is(k, "securityProfileName")) {
            path_key(p, path, "securityProfileName");
            free(pr->name);
            pr->name = NULL;
            result = get_name(c, v, k, p, &pr->name);
        } else if (key_is(k, "securityProfileDescription")) {
            path_key(p, path, "securityProfileDescription");
            free(pr->description);
            pr->description = NULL;
            result = get_string(c, v, k, p, PROFILE_DESCRIPTION_MAX, &pr->description);
        } else if (key_is(k, "behaviors")) {
            path_key(p, path, "behaviors");
            result = parse_list(c, v, k, p, PROFILE_BEHAVIORS_MAX, sizeof(struct behavior),
                                (void **)&pr->behaviors, &pr->nbehaviors, item_behavior);
        } else if (key_is(k, "targets")) {
            path_key(p, path, "targets");
            result = parse_list(c, v, k, p, PROFILE_TARGETS_MAX, sizeof(struct profile_target),
                                (void **)&pr->targets, &pr->ntargets, item_target);
        } else if (key_is(k, "alertTargets")) {
            path_key(p, path, "alertTargets");
            result = parse_list(c, v, k, p, PROFILE_ALERT_TARGETS_MAX,
                                sizeof(struct profile_alert_target), (void **)&pr->alert_targets,
                                &pr->nalert_targets, item_alert);
        } else if (key_is(k, "mitigationActions")) {
            path_key(p, path, "mitigationActions");
            result =
                parse_list(c, v, k, p, PROFILE_MITIGATIONS_MAX, sizeof(struct profile_mitigation),
                           (void **)&pr->mitigations, &pr->nmitigations, item_mitigation);
        } else if (key_is(k, "additionalMetricsToRetainV2")) {
            path_key(p, path, "additionalMetricsToRetainV2");
            result = parse_list(c, v, k, p, PROFILE_BEHAVIORS_MAX, sizeof(struct profile_retain),
                                (void **)&pr->retain, &pr->nretain, item_retain);
        } else if (key_is(k, "metricsExportConfig")) {
            path_key(p, path, "metricsExportConfig");
            result = parse_export_config(c, pr, v, k, p);
        } else if (key_is(k, "responsePlan")) {
            path_key(p, path, "responsePlan");
            free(pr->response_plan);
            pr->response_plan = NULL;
            result = get_name(c, v, k, p, &pr->response_plan);
        } else {
            result = unknown_key(c, k, path,
                                 "securityProfileName, securityProfileDescription, behaviors, "
                                 "targets, alertTargets, mitigationActions, "
                                 "additionalMetricsToRetainV2, metricsExportConfig or "
                                 "responsePlan");
        }
        if (result)
            return result;
    }
    if (!pr->name)
        return fail(c, map, NULL, *path ? path : "document", "missing securityProfileName");
    /* behavior names unique */
    for (size_t i = 0; i < pr->nbehaviors; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(pr->behaviors[i].name, pr->behaviors[j].name)) {
                struct fy_node *bn =
                    fy_node_by_path(map, "/behaviors", (size_t)-1, FYNWF_DONT_FOLLOW);
                struct fy_node *bi = bn ? fy_node_sequence_get_by_index(bn, (int)i) : NULL;
                path_index(p, *path ? path : "behaviors", i);
                if (*path) {
                    char q[PATH_MAX_];
                    path_key(q, path, "behaviors");
                    path_index(p, q, i);
                } else {
                    path_index(p, "behaviors", i);
                }
                return fail(c, bi, map, p, "duplicate behavior name \"%s\"", pr->behaviors[i].name);
            }
    return 0;
}

int profile_parse_node(struct profile *p, const char *file, const char *path, struct fy_node *node,
                       const struct metric_catalog *cat, struct cordon_diag *diag)
{
    struct pctx c = { file ? file : "<input>", cat, diag, 0 };
    int result;

    cordon_diag_clear(diag);
    result = parse_profile(&c, p, node, path ? path : "");
    if (result)
        profile_free(p);
    return result;
}

static int set_add_node(struct pctx *c, struct profile_set *set, struct fy_node *n,
                        const char *path)
{
    struct profile *v = realloc(set->v, (set->n + 1) * sizeof(*v));
    int result;

    if (!v)
        return CORDON_ENOMEM;
    set->v = v;
    if (set->n >= PROFILE_SET_MAX)
        return fail(c, n, NULL, path, "more than %d profiles", PROFILE_SET_MAX);
    result = parse_profile(c, &set->v[set->n], n, path);
    set->n++; /* freed with the set on failure */
    if (result)
        return result;
    /* unique names */
    for (size_t i = 0; i + 1 < set->n; i++)
        if (!strcmp(set->v[i].name, set->v[set->n - 1].name)) {
            char p[PATH_MAX_];
            struct fy_node *nn =
                fy_node_by_path(n, "/securityProfileName", (size_t)-1, FYNWF_DONT_FOLLOW);
            path_key(p, path, "securityProfileName");
            return fail(c, nn, n, p, "duplicate security profile name \"%s\"", set->v[i].name);
        }
    return 0;
}

int profile_set_parse(struct profile_set *set, const char *file, const char *buf, size_t len,
                      const struct metric_catalog *cat, struct cordon_diag *diag)
{
    struct pctx c = { file ? file : "<input>", cat, diag, 0 };
    struct fy_parse_cfg cfg = { 0 };
    struct fy_diag_cfg dcfg;
    struct fy_diag *fyd_diag = NULL;
    struct fy_parser *fyp = NULL;
    struct fy_document *doc = NULL;
    struct fy_node *root;
    int result = 0;

    cordon_diag_clear(diag);
    profile_set_init(set);
    if (len > PROFILE_YAML_MAX) {
        cordon_diag_set(diag, CODE_YAML, 0, 0, 0, "%s: larger than %d bytes", c.file,
                        PROFILE_YAML_MAX);
        return CORDON_ETOOBIG;
    }
    {
        int line, col;
        size_t bad;
        /* libfyaml 0.7.12 can loop on invalid UTF-8; jansson rejects it */
        if (utf8_check(buf, len, &bad)) {
            utf8_line_column(buf, bad, &line, &col);
            cordon_diag_set(diag, CODE_YAML, 0, line, col,
                            "%s:%d:%d: not UTF-8 text (or a NUL byte)", c.file, line, col);
            return CORDON_EINVAL;
        }
    }
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = NULL;
    dcfg.colorize = false;
    fyd_diag = fy_diag_create(&dcfg);
    if (!fyd_diag)
        return CORDON_ENOMEM;
    fy_diag_set_collect_errors(fyd_diag, true);
    cfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_PARSE;
    cfg.diag = fyd_diag;
    fyp = fy_parser_create(&cfg);
    if (!fyp || fy_parser_set_string(fyp, buf, len)) {
        result = CORDON_ENOMEM;
        goto out;
    }
    doc = fy_parse_load_document(fyp);
    if (doc && !fy_parser_get_stream_error(fyp)) {
        /* one document per file: a second one would be ignored silently */
        struct fy_document *next = fy_parse_load_document(fyp);
        if (next) {
            struct fy_node *nr = fy_document_root(next);
            int line = 0, col = 0;
            yaml_node_line_column(nr, MARK_DEPTH, &line, &col);
            fy_parse_document_destroy(fyp, next);
            cordon_diag_set(diag, CODE_YAML, 0, line, col,
                            "%s:%d:%d: a second YAML document (a file holds one; put several "
                            "profiles under securityProfiles:)",
                            c.file, line, col);
            result = CORDON_EINVAL;
            goto out;
        }
    }
    if (!doc || fy_parser_get_stream_error(fyp)) {
        struct fy_diag_error *e;
        void *it = NULL;
        size_t blank = 0;
        while (blank < len && strchr(" \t\r\n", buf[blank]) && buf[blank])
            blank++;
        e = fy_diag_errors_iterate(fyd_diag, &it);
        /* libfyaml's collected errors are 1-based already */
        if (e)
            cordon_diag_set(diag, CODE_YAML, 0, e->line, e->column, "%s:%d:%d: %s", c.file, e->line,
                            e->column, e->msg ? e->msg : "invalid YAML");
        else if (blank == len)
            cordon_diag_set(diag, CODE_FIELD, 0, 1, 1,
                            "%s:1:1: empty document (expected a security profile or "
                            "securityProfiles: [...])",
                            c.file);
        else
            cordon_diag_set(diag, CODE_YAML, 0, 1, 1, "%s:1:1: invalid YAML", c.file);
        result = CORDON_EINVAL;
        goto out;
    }
    root = fy_document_root(doc);
    if (!root) {
        cordon_diag_set(diag, CODE_FIELD, 0, 1, 1, "%s:1:1: empty document", c.file);
        result = CORDON_EINVAL;
        goto out;
    }
    if (fy_node_get_type(root) == FYNT_MAPPING &&
        fy_node_mapping_lookup_by_string(root, "securityProfiles", (size_t)-1)) {
        struct fy_node_pair *pair_;
        struct fy_node *k, *v, *list = NULL, *listkey = NULL;
        FOR_PAIRS(root, k, v)
        {
            if (!key_is(k, "securityProfiles")) {
                result = unknown_key(&c, k, "", "securityProfiles");
                goto out;
            }
            list = v;
            listkey = k;
        }
        result = expect_seq(&c, list, listkey, "securityProfiles");
        if (!result) {
            struct fy_node *e;
            void *it = NULL;
            size_t i = 0;
            while (!result && (e = fy_node_sequence_iterate(list, &it)) != NULL) {
                char p[PATH_MAX_];
                path_index(p, "securityProfiles", i++);
                result = set_add_node(&c, set, e, p);
            }
        }
    } else if (fy_node_get_type(root) == FYNT_SEQUENCE) {
        struct fy_node *e;
        void *it = NULL;
        size_t i = 0;
        while (!result && (e = fy_node_sequence_iterate(root, &it)) != NULL) {
            char p[PATH_MAX_];
            path_index(p, "", i++);
            result = set_add_node(&c, set, e, p);
        }
    } else {
        result = set_add_node(&c, set, root, "");
    }
out:
    if (result)
        profile_set_free(set);
    if (doc)
        fy_parse_document_destroy(fyp, doc);
    if (fyp)
        fy_parser_destroy(fyp);
    fy_diag_destroy(fyd_diag);
    return result;
}

int profile_set_check(const struct profile_set *set, const char *file, struct cordon_diag *diag)
{
    for (size_t i = 0; i < set->n; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(set->v[i].name, set->v[j].name)) {
                cordon_diag_set(diag, CODE_FIELD, 0, set->v[i].line, 1,
                                "%s:%d:1: duplicate security profile name \"%s\"",
                                file ? file : "<input>", set->v[i].line, set->v[i].name);
                return CORDON_EINVAL;
            }
    return 0;
}

/* ============================================================================
 * Lifetime, lookup, equality
 * ========================================================================== */

void profile_free(struct profile *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->description);
    for (size_t i = 0; i < p->nbehaviors; i++)
        behavior_free(&p->behaviors[i]);
    free(p->behaviors);
    for (size_t i = 0; i < p->ntargets; i++)
        free(p->targets[i].group);
    free(p->targets);
    for (size_t i = 0; i < p->nalert_targets; i++)
        free(p->alert_targets[i].dest);
    free(p->alert_targets);
    for (size_t i = 0; i < p->nmitigations; i++) {
        for (size_t j = 0; j < p->mitigations[i].ngroups; j++)
            free(p->mitigations[i].groups[j]);
        free(p->mitigations[i].groups);
        free(p->mitigations[i].topic);
    }
    free(p->mitigations);
    for (size_t i = 0; i < p->nretain; i++) {
        free(p->retain[i].metric);
        free(p->retain[i].dimension);
    }
    free(p->retain);
    free(p->response_plan);
    free(p->export_topic);
    free(p->export_role);
    memset(p, 0, sizeof(*p));
}

void profile_set_init(struct profile_set *set)
{
    set->v = NULL;
    set->n = 0;
}

void profile_set_free(struct profile_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        profile_free(&set->v[i]);
    free(set->v);
    set->v = NULL;
    set->n = 0;
}

const struct profile *profile_set_find(const struct profile_set *set, const char *name)
{
    for (size_t i = 0; i < set->n; i++)
        if (!strcmp(set->v[i].name, name))
            return &set->v[i];
    return NULL;
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

bool profile_equal(const struct profile *a, const struct profile *b)
{
    if (!str_eq(a->name, b->name) || !str_eq(a->description, b->description) ||
        !str_eq(a->response_plan, b->response_plan) || !str_eq(a->export_topic, b->export_topic) ||
        !str_eq(a->export_role, b->export_role) || a->nbehaviors != b->nbehaviors ||
        a->ntargets != b->ntargets || a->nalert_targets != b->nalert_targets ||
        a->nmitigations != b->nmitigations || a->nretain != b->nretain)
        return false;
    for (size_t i = 0; i < a->nbehaviors; i++)
        if (!behavior_equal(&a->behaviors[i], &b->behaviors[i]))
            return false;
    for (size_t i = 0; i < a->ntargets; i++)
        if (a->targets[i].kind != b->targets[i].kind ||
            !str_eq(a->targets[i].group, b->targets[i].group))
            return false;
    for (size_t i = 0; i < a->nalert_targets; i++)
        if (a->alert_targets[i].kind != b->alert_targets[i].kind ||
            !str_eq(a->alert_targets[i].dest, b->alert_targets[i].dest))
            return false;
    for (size_t i = 0; i < a->nmitigations; i++) {
        const struct profile_mitigation *x = &a->mitigations[i], *y = &b->mitigations[i];
        if (x->kind != y->kind || x->ngroups != y->ngroups ||
            x->override_dynamic_groups != y->override_dynamic_groups || !str_eq(x->topic, y->topic))
            return false;
        for (size_t j = 0; j < x->ngroups; j++)
            if (strcmp(x->groups[j], y->groups[j]) != 0)
                return false;
    }
    for (size_t i = 0; i < a->nretain; i++) {
        const struct profile_retain *x = &a->retain[i], *y = &b->retain[i];
        if (!str_eq(x->metric, y->metric) || !str_eq(x->dimension, y->dimension) ||
            x->dimension_not_in != y->dimension_not_in || x->export_metric != y->export_metric)
            return false;
    }
    return true;
}

const char *profile_mitigation_name(enum profile_mitigation_kind k)
{
    switch (k) {
    case PROFILE_MITIGATION_ADD_THINGS_TO_THING_GROUP:
        return "ADD_THINGS_TO_THING_GROUP";
    case PROFILE_MITIGATION_REMOVE_THING_FROM_THING_GROUP:
        return "REMOVE_THING_FROM_THING_GROUP";
    case PROFILE_MITIGATION_REVOKE_CREDENTIALS:
        return "REVOKE_CREDENTIALS";
    case PROFILE_MITIGATION_PUBLISH_FINDING:
        return "PUBLISH_FINDING";
    }
    return "?";
}

/* ============================================================================
 * YAML writer: strings are written double-quoted with JSON escapes (valid
 * YAML), lists of values in flow style.
 * ========================================================================== */

static int yq(struct buf *out, const char *s)
{
    return buf_add_json_string(out, s, strlen(s));
}

static int write_dimension(struct buf *out, const char *ind, const char *name, bool not_in)
{
    int result = buf_printf(out, "%smetricDimension: { dimensionName: ", ind);
    if (!result)
        result = yq(out, name);
    if (!result)
        result = buf_printf(out, ", operator: %s }\n", not_in ? "NOT_IN" : "IN");
    return result;
}

static int write_behavior(struct buf *out, const struct behavior *b)
{
    const struct behavior_criteria *c = &b->c;
    int result = buf_adds(out, "  - name: ");

    if (!result)
        result = yq(out, b->name);
    if (!result)
        result = buf_adds(out, "\n    metric: ");
    if (!result)
        result = yq(out, b->metric);
    if (!result)
        result = buf_addc(out, '\n');
    if (!result && b->dimension)
        result = write_dimension(out, "    ", b->dimension, b->dimension_not_in);
    if (!result && b->kind != BEHAVIOR_RETAIN) {
        result = buf_adds(out, "    criteria:\n");
        if (!result && b->kind != BEHAVIOR_ML)
            result = buf_printf(out, "      comparisonOperator: %s\n", metric_op_name(c->op));
        if (!result && b->kind == BEHAVIOR_RULE) {
            result = buf_printf(out, "      value: { %s: ", metric_type_value_key(c->value_type));
            if (!result)
                result = behavior_value_write(c, out, ", ");
            if (!result)
                result = buf_adds(out, " }\n");
        }
        if (!result && b->kind == BEHAVIOR_STATISTICAL)
            result = buf_printf(out, "      statisticalThreshold: { statistic: \"%s\" }\n",
                                c->statistic);
        if (!result && b->kind == BEHAVIOR_ML)
            result = buf_printf(out, "      mlDetectionConfig: { confidenceLevel: %s }\n",
                                behavior_confidence_name(c->confidence));
        if (!result && c->duration_s)
            result = buf_printf(out, "      durationSeconds: %u\n", c->duration_s);
        if (!result && c->to_alarm)
            result = buf_printf(out, "      consecutiveDatapointsToAlarm: %u\n", c->to_alarm);
        if (!result && c->to_clear)
            result = buf_printf(out, "      consecutiveDatapointsToClear: %u\n", c->to_clear);
    }
    if (!result && b->suppress_alerts)
        result = buf_adds(out, "    suppressAlerts: true\n");
    if (!result && b->export_metric)
        result = buf_adds(out, "    exportMetric: true\n");
    if (!result && b->response_plan) {
        result = buf_adds(out, "    responsePlan: ");
        if (!result)
            result = yq(out, b->response_plan);
        if (!result)
            result = buf_addc(out, '\n');
    }
    return result;
}

int profile_write_yaml(const struct profile *p, struct buf *out)
{
    int result = buf_adds(out, "securityProfileName: ");

    if (!result)
        result = yq(out, p->name);
    if (!result)
        result = buf_addc(out, '\n');
    if (!result && p->description) {
        result = buf_adds(out, "securityProfileDescription: ");
        if (!result)
            result = yq(out, p->description);
        if (!result)
            result = buf_addc(out, '\n');
    }
    if (!result && p->ntargets) {
        result = buf_adds(out, "targets:\n");
        for (size_t i = 0; !result && i < p->ntargets; i++) {
            const struct profile_target *t = &p->targets[i];
            switch (t->kind) {
            case PROFILE_TARGET_ALL:
                result = buf_adds(out, "  - all/things\n");
                break;
            case PROFILE_TARGET_REGISTERED:
                result = buf_adds(out, "  - all/registered-things\n");
                break;
            case PROFILE_TARGET_UNREGISTERED:
                result = buf_adds(out, "  - all/unregistered-things\n");
                break;
            case PROFILE_TARGET_GROUP:
                result = buf_printf(out, "  - thinggroup/%s\n", t->group);
                break;
            }
        }
    }
    if (!result && p->nbehaviors) {
        result = buf_adds(out, "behaviors:\n");
        for (size_t i = 0; !result && i < p->nbehaviors; i++)
            result = write_behavior(out, &p->behaviors[i]);
    }
    if (!result && p->nalert_targets) {
        result = buf_adds(out, "alertTargets:\n");
        for (size_t i = 0; !result && i < p->nalert_targets; i++) {
            const struct profile_alert_target *a = &p->alert_targets[i];
            bool mqtt = a->kind == PROFILE_ALERT_MQTT;
            result = buf_printf(out, "  - { type: %s, %s: ", mqtt ? "mqtt" : "webhook",
                                mqtt ? "topic" : "url");
            if (!result)
                result = yq(out, a->dest);
            if (!result)
                result = buf_adds(out, " }\n");
        }
    }
    if (!result && p->nmitigations) {
        result = buf_adds(out, "mitigationActions:\n");
        for (size_t i = 0; !result && i < p->nmitigations; i++) {
            const struct profile_mitigation *m = &p->mitigations[i];
            result = buf_printf(out, "  - type: %s\n", profile_mitigation_name(m->kind));
            if (!result && m->ngroups) {
                result = buf_adds(out, "    thingGroupNames: [");
                for (size_t j = 0; !result && j < m->ngroups; j++) {
                    if (j)
                        result = buf_adds(out, ", ");
                    if (!result)
                        result = yq(out, m->groups[j]);
                }
                if (!result)
                    result = buf_adds(out, "]\n");
            }
            if (!result && m->override_dynamic_groups)
                result = buf_adds(out, "    overrideDynamicGroups: true\n");
            if (!result && m->topic) {
                result = buf_adds(out, "    topic: ");
                if (!result)
                    result = yq(out, m->topic);
                if (!result)
                    result = buf_addc(out, '\n');
            }
        }
    }
    if (!result && p->nretain) {
        result = buf_adds(out, "additionalMetricsToRetainV2:\n");
        for (size_t i = 0; !result && i < p->nretain; i++) {
            const struct profile_retain *r = &p->retain[i];
            result = buf_adds(out, "  - metric: ");
            if (!result)
                result = yq(out, r->metric);
            if (!result)
                result = buf_addc(out, '\n');
            if (!result && r->dimension)
                result = write_dimension(out, "    ", r->dimension, r->dimension_not_in);
            if (!result && r->export_metric)
                result = buf_adds(out, "    exportMetric: true\n");
        }
    }
    if (!result && p->export_topic) {
        result = buf_adds(out, "metricsExportConfig:\n  mqttTopic: ");
        if (!result)
            result = yq(out, p->export_topic);
        if (!result && p->export_role) {
            result = buf_adds(out, "\n  roleArn: ");
            if (!result)
                result = yq(out, p->export_role);
        }
        if (!result)
            result = buf_addc(out, '\n');
    }
    if (!result && p->response_plan) {
        result = buf_adds(out, "responsePlan: ");
        if (!result)
            result = yq(out, p->response_plan);
        if (!result)
            result = buf_addc(out, '\n');
    }
    return result;
}

int profile_write_node(const struct profile *p, struct fy_document *fyd, struct fy_node **out)
{
    struct buf b;
    int result;

    *out = NULL;
    buf_init(&b, PROFILE_YAML_MAX);
    result = profile_write_yaml(p, &b);
    if (result) {
        buf_free(&b);
        return result;
    }
    /* the node keeps pointing into its source text: hand the text to fyd */
    *out = fy_node_build_from_malloc_string(fyd, b.ptr, b.len);
    return *out ? 0 : CORDON_ENOMEM;
}

int profile_set_write_yaml(const struct profile_set *set, struct buf *out)
{
    struct buf one;
    int result = buf_adds(out, set->n ? "securityProfiles:\n" : "securityProfiles: []\n");

    buf_init(&one, out->cap);
    for (size_t i = 0; !result && i < set->n; i++) {
        const char *line;
        buf_reset(&one);
        result = profile_write_yaml(&set->v[i], &one);
        /* indent the profile by two and prefix its first line with "- " */
        line = one.ptr;
        for (bool first = true; !result && line && *line; first = false) {
            const char *nl = strchr(line, '\n');
            size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
            result = buf_adds(out, first ? "  - " : "    ");
            if (!result)
                result = buf_add(out, line, len);
            line += len;
        }
    }
    buf_free(&one);
    return result;
}
