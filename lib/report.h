/*
 * report.h — Device Defender metrics reports: the decoded form, the strict
 * single-pass JSON decoder and the encoder.
 *
 * Spec: shared/reference/device-defender-spec.md §1, §2. Limits below are
 * documented in docs/report-format.md.
 *
 * Ownership: a struct report owns fixed-capacity arrays allocated once by
 * report_init() and reused by every report_decode(), so the hot path does
 * not allocate. report_free() releases them.
 */
#ifndef CORDON_REPORT_H
#define CORDON_REPORT_H

#include "buf.h"
#include "cordon.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- limits (docs/report-format.md) ---------------------------------- */
#define REPORT_MAX_BYTES   (128 * 1024) /* default payload cap */
#define REPORT_MAX_DEPTH   8            /* JSON nesting */
#define PORTS_MAX          1024         /* entries in one ports list */
#define CONNECTIONS_MAX    2048         /* entries in connections */
#define IFNAME_MAX         15           /* interface name bytes (IFNAMSIZ - 1) */
#define CUSTOM_METRICS_MAX 64           /* custom metrics in one report */
#define CUSTOM_VALUES_MAX  1024         /* list elements over all custom metrics */
#define CUSTOM_STRING_MAX  256          /* bytes of one string_list element */
#define CUSTOM_STRPOOL_MAX (64 * 1024)
#define METRIC_NAME_MAX    128 /* custom metric name bytes */
#define THING_NAME_MAX     128

/* ---- decoded form ------------------------------------------------------ */

/* An IP address: IPv4 in addr[0..3] (network order), IPv6 in addr[0..15]. */
struct report_ip {
    uint8_t family; /* 4 or 6 */
    uint8_t addr[16];
};

struct report_port {
    uint16_t port;              /* 1..65535 */
    char iface[IFNAME_MAX + 1]; /* "" = absent (wildcard listener) */
};

struct report_ports {
    bool present;          /* the group (tp / up) was in the report */
    uint32_t total;        /* true count; = count when absent in JSON */
    uint32_t count;        /* entries in v */
    struct report_port *v; /* capacity PORTS_MAX */
};

struct report_conn {
    struct report_ip remote;
    uint16_t remote_port;
    int32_t local_port;               /* -1 = absent */
    char local_iface[IFNAME_MAX + 1]; /* "" = absent */
};

struct report_conns {
    bool present; /* tc.ec was in the report */
    uint32_t total;
    uint32_t count;
    struct report_conn *v; /* capacity CONNECTIONS_MAX */
};

enum report_netstat {
    REPORT_BYTES_IN,
    REPORT_BYTES_OUT,
    REPORT_PACKETS_IN,
    REPORT_PACKETS_OUT,
    REPORT_NETSTAT_COUNT
};

struct report_netstats {
    bool present; /* ns was in the report */
    uint8_t has;  /* bit (1 << enum report_netstat) per field present */
    uint64_t v[REPORT_NETSTAT_COUNT];
};

enum report_custom_type {
    REPORT_CUSTOM_NUMBER,      /* "number" */
    REPORT_CUSTOM_NUMBER_LIST, /* "number_list" */
    REPORT_CUSTOM_STRING_LIST, /* "string_list" */
    REPORT_CUSTOM_IP_LIST,     /* "ip_list" */
};

/* One custom metric value. Lists index into the report's pools. */
struct report_custom {
    char name[METRIC_NAME_MAX + 1];
    enum report_custom_type type;
    double number;  /* REPORT_CUSTOM_NUMBER */
    uint32_t first; /* lists: index of the first element in the pool */
    uint32_t count; /* lists: number of elements */
};

/* A string in the report's string pool. */
struct report_str {
    uint32_t off;
    uint32_t len;
};

struct report {
    int64_t report_id; /* >= 0 */
    uint16_t version_major;
    uint16_t version_minor;

    struct report_ports tcp_ports; /* metrics.listening_tcp_ports */
    struct report_ports udp_ports; /* metrics.listening_udp_ports */
    struct report_conns conns;     /* metrics.tcp_connections.established_connections */
    struct report_netstats net;    /* metrics.network_stats */

    uint32_t ncustom;
    struct report_custom *custom; /* capacity CUSTOM_METRICS_MAX */
    /* pools for custom list elements; an element index is shared by all pools,
     * only the pool matching the metric's type is meaningful */
    double *numbers;         /* capacity CUSTOM_VALUES_MAX */
    struct report_ip *ips;   /* capacity CUSTOM_VALUES_MAX */
    struct report_str *strs; /* capacity CUSTOM_VALUES_MAX */
    uint32_t nvalues;        /* elements used in the pools */
    char *strpool;           /* capacity CUSTOM_STRPOOL_MAX */
    uint32_t strpool_len;

    uint32_t unknown_keys; /* keys ignored while decoding (counted in /metrics) */
};

/* Allocate the fixed-capacity arrays. Returns 0 or CORDON_ENOMEM (then r is freed). */
int report_init(struct report *r);
/* Release what report_init allocated. Safe on a zeroed struct. */
void report_free(struct report *r);
/* Forget the content, keep the arrays. */
void report_reset(struct report *r);

/* ---- decoding ---------------------------------------------------------- */

/*
 * Declared custom metrics. lookup returns the declared type (an enum
 * report_custom_type value) of the metric named name[0..len) (not
 * NUL-terminated) or -1 when it is not declared. With no lookup (NULL)
 * every well-formed custom metric is accepted with the type it is written in.
 */
struct report_decode_opts {
    int (*custom_lookup)(void *ctx, const char *name, size_t len);
    void *ctx;
    size_t max_bytes;   /* 0 = REPORT_MAX_BYTES */
    bool no_fast_paths; /* tests: decode everything on the general path (same result) */
};

/*
 * Stable machine codes for rejections (the ErrorCode of the /rejected reply).
 */
#define REPORT_E_INVALID_PAYLOAD "InvalidPayload"
#define REPORT_E_MISSING_FIELD   "MissingRequiredField"
#define REPORT_E_INVALID_FIELD   "InvalidField"
#define REPORT_E_DUPLICATE_ID    "DuplicateReportId"
#define REPORT_E_THROTTLED       "Throttled"
#define REPORT_E_THING_NAME      "ThingNameInvalid"
#define REPORT_E_UNKNOWN_CUSTOM  "UnknownCustomMetric"

/*
 * Decode and validate buf[0..len) into r (reset first), in one pass, with no
 * allocation. Returns 0, or CORDON_EINVAL / CORDON_ETOOBIG with diag filled:
 * diag->code is one of REPORT_E_*, diag->offset the byte offset, and
 * diag->message "PATH: what is wrong" (for example
 * "metrics.listening_tcp_ports.ports[3].port: 70000 is not a port").
 * opts may be NULL.
 */
int report_decode(struct report *r, const char *buf, size_t len,
                  const struct report_decode_opts *opts, struct cordon_diag *diag);

/* ---- encoding ---------------------------------------------------------- */

/*
 * Append r as JSON to out, long key names or short ones. decode(encode(r))
 * equals r. The "metrics" object is always written (empty when no group is
 * present). Custom numbers must be finite and exact in 15 significant digits
 * (the data rule; see report_number_round). Returns 0, CORDON_ERANGE (a
 * custom number breaks that rule), CORDON_EINVAL (negative report_id or bad
 * custom type), CORDON_ETOOBIG (out's cap) or CORDON_ENOMEM; on failure out
 * is left as it was.
 */
int report_encode(const struct report *r, bool short_names, struct buf *out);

/* v rounded to 15 significant digits, so that report_encode accepts it
 * (for example a computed load average 17.253333333333334 -> 17.2533333333333). */
double report_number_round(double v);

/* True when a and b hold the same report (unknown_keys not compared). */
bool report_equal(const struct report *a, const struct report *b);

/* ---- helpers shared with the agent and the detect engine --------------- */

/* Format an IP as text ("192.0.2.1", "2001:db8::1"); out needs 46 bytes. */
void report_ip_format(const struct report_ip *ip, char *out, size_t outlen);
/* Parse IPv4 or IPv6 text s[0..len) (no NUL needed): exactly what
 * inet_pton(AF_INET / AF_INET6) accepts (dotted quad, no zone id, no
 * brackets). Returns 0 or CORDON_EINVAL (then ip is zeroed). */
int report_ip_parse(const char *s, size_t len, struct report_ip *ip);

/* Check a thing name (1..THING_NAME_MAX bytes, no control characters, and
 * none of + # / which would break topic patterns). Returns 0 or CORDON_EINVAL. */
int report_thing_name_check(const char *name, size_t len);

#endif
