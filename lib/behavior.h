/*
 * behavior.h — one behavior of a security profile: the metric it watches
 * and its criteria, compiled for fast evaluation (a port set is a 65536-bit
 * bitmap, CIDRs are parsed once, number and string sets are sorted), plus
 * the per-(thing, behavior) duration window that sums delta metrics.
 *
 * Spec: shared/reference/device-defender-spec.md §4.2–§4.4, §5.
 * Docs: docs/detect.md ("Operators", "Windows", "Statistics").
 *
 * Ownership: a struct behavior owns every pointer in it; behavior_free()
 * releases them. Behaviors are built by the profile loader (profile.h).
 */
#ifndef CORDON_BEHAVIOR_H
#define CORDON_BEHAVIOR_H

#include "buf.h"
#include "cordon.h"
#include "metric.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- limits (docs/detect.md) ------------------------------------------- */
#define BEHAVIOR_NAME_MAX       128  /* [a-zA-Z0-9:_-]{1,128} */
#define BEHAVIOR_VALUES_MAX     1000 /* elements of one criteria value list */
#define BEHAVIOR_STRING_MAX     256  /* bytes of one `strings` element */
#define BEHAVIOR_WINDOW_BUCKETS 60   /* resolution of a durationSeconds window */
#define BEHAVIOR_TO_ALARM_MAX   10   /* consecutiveDatapointsToAlarm/ToClear 1..10 */

enum behavior_kind {
    BEHAVIOR_RETAIN,      /* no criteria: the metric is only retained */
    BEHAVIOR_RULE,        /* criteria.value */
    BEHAVIOR_STATISTICAL, /* criteria.statisticalThreshold */
    BEHAVIOR_ML,          /* criteria.mlDetectionConfig */
};

enum behavior_confidence {
    BEHAVIOR_CONFIDENCE_NONE,
    BEHAVIOR_CONFIDENCE_LOW,
    BEHAVIOR_CONFIDENCE_MEDIUM,
    BEHAVIOR_CONFIDENCE_HIGH,
};

/* A compiled CIDR: the first `prefix` bits of addr. */
struct behavior_cidr {
    uint8_t family; /* 4 or 6 */
    uint8_t prefix; /* 0..32 or 0..128 */
    uint8_t addr[16];
    uint64_t net[2];  /* addr as two big-endian words, masked */
    uint64_t mask[2]; /* prefix mask over the same words */
};

struct behavior_criteria {
    enum metric_op op;
    enum metric_type value_type; /* which key of `value` is set (rules) */
    uint64_t count;              /* value.count */
    double number;               /* value.number */
    /* value.ports as written, and compiled */
    uint16_t *ports;
    uint32_t nports;
    uint64_t *port_bits; /* 65536 bits */
    /* value.cidrs as written, and compiled */
    char **cidrs;
    struct behavior_cidr *cidr_v;
    uint32_t ncidrs;
    /* value.numbers as written, and sorted */
    double *numbers;
    double *numbers_sorted;
    uint32_t nnumbers;
    /* value.strings as written, and sorted (pointers into strings) */
    char **strings;
    char **strings_sorted;
    uint32_t nstrings;

    uint32_t duration_s; /* 0 = not set */
    uint8_t to_alarm;    /* 1..10; 0 = not written (default 1) */
    uint8_t to_clear;    /* 1..10; 0 = not written (default 1) */
    /* statisticalThreshold.statistic */
    char statistic[8]; /* "p99.9"; "" = not set */
    double percentile; /* 0..100 */
    /* mlDetectionConfig.confidenceLevel */
    enum behavior_confidence confidence;
};

struct behavior {
    char *name;
    char *metric;          /* as written */
    struct metric_def def; /* copy of the catalog entry; def.name == metric */
    char *dimension;       /* metricDimension.dimensionName, NULL = none */
    bool dimension_not_in; /* metricDimension.operator NOT_IN */
    enum behavior_kind kind;
    struct behavior_criteria c;
    bool suppress_alerts;
    bool export_metric;
    char *response_plan; /* responsePlan on the behavior; NULL = the profile's */
};

/* Release what b owns and zero it. */
void behavior_free(struct behavior *b);

/*
 * Build the compiled forms (port bitmap, parsed CIDRs, sorted sets) from
 * the as-written criteria. Called by the loader once the value is read.
 * Returns 0, CORDON_EINVAL (a CIDR that does not parse; diag says which)
 * or CORDON_ENOMEM.
 */
int behavior_compile(struct behavior *b, struct cordon_diag *diag);

/* Parse "10.0.0.0/8", "2001:db8::/32" or a bare address (full prefix). */
int behavior_cidr_parse(const char *s, size_t len, struct behavior_cidr *out);

/* True when the behavior's definitions are equal (as written). */
bool behavior_equal(const struct behavior *a, const struct behavior *b);

/* consecutiveDatapointsToAlarm / ToClear with the default applied. */
static inline uint8_t behavior_to_alarm(const struct behavior *b)
{
    return b->c.to_alarm ? b->c.to_alarm : 1;
}
static inline uint8_t behavior_to_clear(const struct behavior *b)
{
    return b->c.to_clear ? b->c.to_clear : 1;
}

/*
 * Evaluate a rule behavior's criteria against one datapoint (of the
 * behavior's metric type). Sets: in-*-set is an allow-list (violation if
 * any element is outside), not-in-*-set a deny-list (violation if any is
 * inside); an empty list never violates. Comparisons: the datapoint
 * compared to value.count / value.number. No allocation.
 */
bool behavior_violates(const struct behavior *b, const struct metric_datapoint *dp);

/* Compare a scalar datapoint to a threshold with the behavior's lt/lte/gt/gte. */
bool behavior_compare(enum metric_op op, double v, double threshold);

/* The scalar of a count/number datapoint as a double. */
double behavior_scalar(const struct metric_datapoint *dp);

/* Parse a statistic name ("p0" … "p100" as spec §4.3); returns 0 or CORDON_EINVAL. */
int behavior_statistic_parse(const char *s, size_t len, double *percentile);

const char *behavior_confidence_name(enum behavior_confidence c);

/* Append {"name":…,"metric":…,"metricDimension"?:…,"criteria":{…}} to out. */
int behavior_json(const struct behavior *b, struct buf *out);

/*
 * Append the criteria's value (its value_type's count, number or list)
 * without the key: a number, or a list "[a<sep>b]" of numbers or JSON
 * strings. sep "," writes JSON; ", " writes YAML flow style (JSON strings
 * are valid YAML). 0 or the buf error.
 */
int behavior_value_write(const struct behavior_criteria *c, struct buf *out, const char *sep);

/* ---- duration windows ---------------------------------------------------- */

/*
 * The trailing durationSeconds window of one (thing, behavior), kept as
 * BEHAVIOR_WINDOW_BUCKETS buckets of durationSeconds/BEHAVIOR_WINDOW_BUCKETS
 * each. Delta metrics (bytes, packets, cloud counts) are summed; other
 * metrics keep their latest value (docs/detect.md "Windows").
 */
struct behavior_window {
    int64_t head; /* absolute index of the newest bucket; -1 = empty */
    double total; /* sum of the buckets, kept as they change */
    double sum[BEHAVIOR_WINDOW_BUCKETS];
};

void behavior_window_init(struct behavior_window *w);

/*
 * Add a scalar datapoint at now_ms and return the windowed value: the sum
 * over the trailing window for delta metrics. duration_s must be > 0.
 */
double behavior_window_add(struct behavior_window *w, uint32_t duration_s, int64_t now_ms,
                           double v);

#endif
