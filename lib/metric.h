/*
 * metric.h — the metric catalog: every Device Defender metric by its `aws:`
 * name (device side and cloud side), its value type, the comparison
 * operators it accepts and whether it may carry durationSeconds, a
 * statistical threshold or ML detection; plus the custom metrics declared
 * by configuration, and the datapoint: one value of one metric.
 *
 * Spec: shared/reference/device-defender-spec.md §3, §4.3, §7.
 * Docs: docs/detect.md.
 */
#ifndef CORDON_METRIC_H
#define CORDON_METRIC_H

#include "cordon.h"
#include "report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits (docs/detect.md) ------------------------------------------- */
#define METRIC_CUSTOM_MAX 256 /* custom metrics declared in one catalog */

/* Value type of a metric's datapoints (and of a criteria value). */
enum metric_type {
    METRIC_TYPE_COUNT,   /* non-negative integer; criteria value `count` */
    METRIC_TYPE_NUMBER,  /* double (custom `number`); criteria value `number` */
    METRIC_TYPE_NUMBERS, /* list of doubles (custom `number-list`); `numbers` */
    METRIC_TYPE_STRINGS, /* list of strings (custom `string-list`); `strings` */
    METRIC_TYPE_PORTS,   /* list of ports; `ports` */
    METRIC_TYPE_IPS,     /* list of IP addresses; `cidrs` */
};

/* Comparison operators (BehaviorCriteria.comparisonOperator). */
enum metric_op {
    METRIC_OP_LT,
    METRIC_OP_LTE,
    METRIC_OP_GT,
    METRIC_OP_GTE,
    METRIC_OP_IN_CIDR_SET,
    METRIC_OP_NOT_IN_CIDR_SET,
    METRIC_OP_IN_PORT_SET,
    METRIC_OP_NOT_IN_PORT_SET,
    METRIC_OP_IN_SET,
    METRIC_OP_NOT_IN_SET,
    METRIC_OP_COUNT_
};
#define METRIC_OP_BIT(op) (1u << (op))

/* Built-in metrics. METRIC_CUSTOM marks a custom metric. */
enum metric_id {
    /* device side (from the report) */
    METRIC_ALL_BYTES_OUT,
    METRIC_ALL_BYTES_IN,
    METRIC_ALL_PACKETS_OUT,
    METRIC_ALL_PACKETS_IN,
    METRIC_NUM_LISTENING_TCP_PORTS,
    METRIC_NUM_LISTENING_UDP_PORTS,
    METRIC_NUM_ESTABLISHED_TCP_CONNECTIONS,
    METRIC_LISTENING_TCP_PORTS,
    METRIC_LISTENING_UDP_PORTS,
    METRIC_DESTINATION_IP_ADDRESSES,
    /* cloud side (from the broker plugin) */
    METRIC_MESSAGE_BYTE_SIZE,
    METRIC_NUM_MESSAGES_SENT,
    METRIC_NUM_MESSAGES_RECEIVED,
    METRIC_NUM_AUTHORIZATION_FAILURES,
    METRIC_SOURCE_IP_ADDRESS,
    METRIC_NUM_CONNECTION_ATTEMPTS,
    METRIC_NUM_DISCONNECTS,
    METRIC_DISCONNECT_DURATION,
    METRIC_BUILTIN_COUNT_,
    METRIC_CUSTOM = 255
};

/* A metric's definition. Built-ins are static; custom ones live in a catalog. */
struct metric_def {
    const char *name;                    /* "aws:all-bytes-out" or the custom name */
    enum metric_id id;                   /* METRIC_CUSTOM for custom metrics */
    enum metric_type type;               /* datapoint type */
    uint16_t ops;                        /* METRIC_OP_BIT() of the operators it accepts */
    bool device_side;                    /* comes from the metrics report */
    bool delta;                          /* a count per report/interval: windows sum it */
    bool duration_ok;                    /* criteria.durationSeconds allowed */
    bool statistical_ok;                 /* statisticalThreshold allowed */
    bool ml_ok;                          /* mlDetectionConfig allowed */
    bool dimension_ok;                   /* metricDimension (TOPIC_FILTER) allowed */
    enum report_custom_type custom_type; /* custom metrics only */
};

/* The custom metrics declared by configuration (customMetrics in stack.yaml). */
struct metric_catalog {
    struct metric_def *custom; /* names owned by the catalog */
    size_t ncustom;
};

/* One datapoint: the value of one metric for one thing at one time. Lists
 * point into the struct report they were extracted from (or into caller
 * memory for cloud-side metrics) and are valid as long as that memory is. */
struct metric_datapoint {
    enum metric_type type;
    uint64_t count; /* METRIC_TYPE_COUNT */
    double number;  /* METRIC_TYPE_NUMBER */
    uint32_t n;     /* list length */
    /* METRIC_TYPE_PORTS */
    const struct report_port *ports;
    /* METRIC_TYPE_IPS: either connections (remote address) or bare IPs */
    const struct report_conn *conns;
    const struct report_ip *ips;
    /* METRIC_TYPE_NUMBERS */
    const double *numbers;
    /* METRIC_TYPE_STRINGS: elements are strpool[strs[i].off .. +len) */
    const struct report_str *strs;
    const char *strpool;
};

/* ---- catalog ----------------------------------------------------------- */

/* The built-in definition of an `aws:` metric, or NULL. */
const struct metric_def *metric_builtin(enum metric_id id);

/* Init an empty catalog (no allocation). */
void metric_catalog_init(struct metric_catalog *cat);
/* Release the catalog's custom metrics. Safe on a zeroed catalog. */
void metric_catalog_free(struct metric_catalog *cat);

/*
 * Declare a custom metric: name [a-zA-Z0-9:_-]{1,128} not starting with
 * "aws:", type "number" | "number-list" | "string-list" | "ip-address-list".
 * Returns 0, CORDON_EINVAL (bad name or type; diag says which),
 * CORDON_EEXIST, CORDON_ETOOBIG (METRIC_CUSTOM_MAX) or CORDON_ENOMEM.
 */
int metric_catalog_add(struct metric_catalog *cat, const char *name, const char *type,
                       struct cordon_diag *diag);

/*
 * Find a metric by name[0..len): built-ins first, then the catalog's custom
 * metrics (cat may be NULL). Returns NULL when unknown.
 */
const struct metric_def *metric_find(const struct metric_catalog *cat, const char *name,
                                     size_t len);

/*
 * report_decode_opts.custom_lookup: ctx is a const struct metric_catalog *.
 * Returns the REPORT_CUSTOM_* type of the declared metric, or -1.
 */
int metric_custom_lookup(void *ctx, const char *name, size_t len);

/* ---- names ------------------------------------------------------------- */

/* "less-than", … "not-in-set". */
const char *metric_op_name(enum metric_op op);
/* Parse an operator name; returns the op or -1. */
int metric_op_parse(const char *s, size_t len);
/* "count", "number", "numbers", "strings", "ports", "cidrs" (the criteria value key). */
const char *metric_type_value_key(enum metric_type t);
/* True when a custom metric name is well formed (and not "aws:…"). */
bool metric_custom_name_ok(const char *name, size_t len);

/* ---- datapoints -------------------------------------------------------- */

/*
 * Extract the datapoint of a device-side metric (built-in or custom) from
 * a decoded report. Returns false when the report does not carry the
 * metric (no datapoint), or for cloud-side metrics. No allocation.
 */
bool metric_extract(const struct metric_def *def, const struct report *r,
                    struct metric_datapoint *dp);

#endif
