#include "metric.h"

#include <stdlib.h>
#include <string.h>

/* ---- built-in catalog (spec §3.1, §3.2) -------------------------------- */

#define CMP_OPS                                                                                    \
    (METRIC_OP_BIT(METRIC_OP_LT) | METRIC_OP_BIT(METRIC_OP_LTE) | METRIC_OP_BIT(METRIC_OP_GT) |    \
     METRIC_OP_BIT(METRIC_OP_GTE))
#define PORT_OPS (METRIC_OP_BIT(METRIC_OP_IN_PORT_SET) | METRIC_OP_BIT(METRIC_OP_NOT_IN_PORT_SET))
#define CIDR_OPS (METRIC_OP_BIT(METRIC_OP_IN_CIDR_SET) | METRIC_OP_BIT(METRIC_OP_NOT_IN_CIDR_SET))
#define SET_OPS  (METRIC_OP_BIT(METRIC_OP_IN_SET) | METRIC_OP_BIT(METRIC_OP_NOT_IN_SET))

/* name, id, type, ops, device_side, delta, duration_ok, statistical_ok, ml_ok, dimension_ok */
static const struct metric_def builtins[METRIC_BUILTIN_COUNT_] = {
    { "aws:all-bytes-out", METRIC_ALL_BYTES_OUT, METRIC_TYPE_COUNT, CMP_OPS, true, true, true, true,
      true, false, 0 },
    { "aws:all-bytes-in", METRIC_ALL_BYTES_IN, METRIC_TYPE_COUNT, CMP_OPS, true, true, true, true,
      true, false, 0 },
    { "aws:all-packets-out", METRIC_ALL_PACKETS_OUT, METRIC_TYPE_COUNT, CMP_OPS, true, true, true,
      true, true, false, 0 },
    { "aws:all-packets-in", METRIC_ALL_PACKETS_IN, METRIC_TYPE_COUNT, CMP_OPS, true, true, true,
      true, true, false, 0 },
    { "aws:num-listening-tcp-ports", METRIC_NUM_LISTENING_TCP_PORTS, METRIC_TYPE_COUNT, CMP_OPS,
      true, false, true, true, true, false, 0 },
    { "aws:num-listening-udp-ports", METRIC_NUM_LISTENING_UDP_PORTS, METRIC_TYPE_COUNT, CMP_OPS,
      true, false, true, true, true, false, 0 },
    { "aws:num-established-tcp-connections", METRIC_NUM_ESTABLISHED_TCP_CONNECTIONS,
      METRIC_TYPE_COUNT, CMP_OPS, true, false, true, true, true, false, 0 },
    { "aws:listening-tcp-ports", METRIC_LISTENING_TCP_PORTS, METRIC_TYPE_PORTS, PORT_OPS, true,
      false, false, false, false, false, 0 },
    { "aws:listening-udp-ports", METRIC_LISTENING_UDP_PORTS, METRIC_TYPE_PORTS, PORT_OPS, true,
      false, false, false, false, false, 0 },
    { "aws:destination-ip-addresses", METRIC_DESTINATION_IP_ADDRESSES, METRIC_TYPE_IPS, CIDR_OPS,
      true, false, false, false, false, false, 0 },
    { "aws:message-byte-size", METRIC_MESSAGE_BYTE_SIZE, METRIC_TYPE_COUNT, CMP_OPS, false, false,
      true, true, true, true, 0 },
    { "aws:num-messages-sent", METRIC_NUM_MESSAGES_SENT, METRIC_TYPE_COUNT, CMP_OPS, false, true,
      true, true, true, true, 0 },
    { "aws:num-messages-received", METRIC_NUM_MESSAGES_RECEIVED, METRIC_TYPE_COUNT, CMP_OPS, false,
      true, true, true, true, true, 0 },
    { "aws:num-authorization-failures", METRIC_NUM_AUTHORIZATION_FAILURES, METRIC_TYPE_COUNT,
      CMP_OPS, false, true, true, true, true, true, 0 },
    { "aws:source-ip-address", METRIC_SOURCE_IP_ADDRESS, METRIC_TYPE_IPS, CIDR_OPS, false, false,
      false, false, false, true, 0 },
    { "aws:num-connection-attempts", METRIC_NUM_CONNECTION_ATTEMPTS, METRIC_TYPE_COUNT, CMP_OPS,
      false, true, true, true, true, false, 0 },
    { "aws:num-disconnects", METRIC_NUM_DISCONNECTS, METRIC_TYPE_COUNT, CMP_OPS, false, true, true,
      true, true, false, 0 },
    { "aws:disconnect-duration", METRIC_DISCONNECT_DURATION, METRIC_TYPE_COUNT,
      METRIC_OP_BIT(METRIC_OP_LT) | METRIC_OP_BIT(METRIC_OP_LTE), false, false, false, false, false,
      false, 0 },
};

const struct metric_def *metric_builtin(enum metric_id id)
{
    if ((unsigned)id >= METRIC_BUILTIN_COUNT_)
        return NULL;
    return &builtins[id];
}

/* ---- names ------------------------------------------------------------- */

static const char *const op_names[METRIC_OP_COUNT_] = {
    "less-than",   "less-than-equals", "greater-than", "greater-than-equals",
    "in-cidr-set", "not-in-cidr-set",  "in-port-set",  "not-in-port-set",
    "in-set",      "not-in-set",
};

const char *metric_op_name(enum metric_op op)
{
    if ((unsigned)op >= METRIC_OP_COUNT_)
        return "?";
    return op_names[op];
}

int metric_op_parse(const char *s, size_t len)
{
    for (int i = 0; i < METRIC_OP_COUNT_; i++)
        if (strlen(op_names[i]) == len && !memcmp(op_names[i], s, len))
            return i;
    return -1;
}

const char *metric_type_value_key(enum metric_type t)
{
    switch (t) {
    case METRIC_TYPE_COUNT:
        return "count";
    case METRIC_TYPE_NUMBER:
        return "number";
    case METRIC_TYPE_NUMBERS:
        return "numbers";
    case METRIC_TYPE_STRINGS:
        return "strings";
    case METRIC_TYPE_PORTS:
        return "ports";
    case METRIC_TYPE_IPS:
        return "cidrs";
    }
    return "?";
}

bool metric_custom_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > METRIC_NAME_MAX)
        return false;
    if (len >= 4 && !memcmp(name, "aws:", 4))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* ---- catalog ----------------------------------------------------------- */

void metric_catalog_init(struct metric_catalog *cat)
{
    cat->custom = NULL;
    cat->ncustom = 0;
}

void metric_catalog_free(struct metric_catalog *cat)
{
    if (!cat)
        return;
    for (size_t i = 0; i < cat->ncustom; i++)
        free((char *)cat->custom[i].name);
    free(cat->custom);
    cat->custom = NULL;
    cat->ncustom = 0;
}

int metric_catalog_add(struct metric_catalog *cat, const char *name, const char *type,
                       struct cordon_diag *diag)
{
    struct metric_def def = { 0 };
    struct metric_def *v;
    size_t len = strlen(name);
    char *copy;

    if (!metric_custom_name_ok(name, len)) {
        cordon_diag_set(diag, "InvalidField", 0, 0, 0,
                        "custom metric name \"%s\": expected [a-zA-Z0-9:_-]{1,128} not starting "
                        "with aws:",
                        name);
        return CORDON_EINVAL;
    }
    def.id = METRIC_CUSTOM;
    def.device_side = true;
    if (!strcmp(type, "number")) {
        def.type = METRIC_TYPE_NUMBER;
        def.ops = CMP_OPS;
        def.duration_ok = def.statistical_ok = def.ml_ok = true;
        def.custom_type = REPORT_CUSTOM_NUMBER;
    } else if (!strcmp(type, "number-list")) {
        def.type = METRIC_TYPE_NUMBERS;
        def.ops = SET_OPS;
        def.custom_type = REPORT_CUSTOM_NUMBER_LIST;
    } else if (!strcmp(type, "string-list")) {
        def.type = METRIC_TYPE_STRINGS;
        def.ops = SET_OPS;
        def.custom_type = REPORT_CUSTOM_STRING_LIST;
    } else if (!strcmp(type, "ip-address-list")) {
        def.type = METRIC_TYPE_IPS;
        def.ops = CIDR_OPS;
        def.custom_type = REPORT_CUSTOM_IP_LIST;
    } else {
        cordon_diag_set(diag, "InvalidField", 0, 0, 0,
                        "custom metric \"%s\": type \"%s\": expected number, number-list, "
                        "string-list or ip-address-list",
                        name, type);
        return CORDON_EINVAL;
    }
    if (metric_find(cat, name, len)) {
        cordon_diag_set(diag, "InvalidField", 0, 0, 0, "custom metric \"%s\" declared twice", name);
        return CORDON_EEXIST;
    }
    if (cat->ncustom >= METRIC_CUSTOM_MAX)
        return CORDON_ETOOBIG;
    v = realloc(cat->custom, (cat->ncustom + 1) * sizeof(*v));
    if (!v)
        return CORDON_ENOMEM;
    cat->custom = v;
    copy = strdup(name);
    if (!copy)
        return CORDON_ENOMEM;
    def.name = copy;
    cat->custom[cat->ncustom++] = def;
    return 0;
}

const struct metric_def *metric_find(const struct metric_catalog *cat, const char *name, size_t len)
{
    if (len > 4 && !memcmp(name, "aws:", 4)) {
        for (int i = 0; i < METRIC_BUILTIN_COUNT_; i++)
            if (strlen(builtins[i].name) == len && !memcmp(builtins[i].name, name, len))
                return &builtins[i];
        return NULL;
    }
    if (!cat)
        return NULL;
    for (size_t i = 0; i < cat->ncustom; i++)
        if (strlen(cat->custom[i].name) == len && !memcmp(cat->custom[i].name, name, len))
            return &cat->custom[i];
    return NULL;
}

int metric_custom_lookup(void *ctx, const char *name, size_t len)
{
    const struct metric_def *def = metric_find(ctx, name, len);
    if (!def || def->id != METRIC_CUSTOM)
        return -1;
    return (int)def->custom_type;
}

/* ---- datapoints -------------------------------------------------------- */

static bool extract_netstat(const struct report *r, enum report_netstat f,
                            struct metric_datapoint *dp)
{
    if (!r->net.present || !(r->net.has & (1u << f)))
        return false;
    dp->count = r->net.v[f];
    return true;
}

bool metric_extract(const struct metric_def *def, const struct report *r,
                    struct metric_datapoint *dp)
{
    memset(dp, 0, sizeof(*dp));
    dp->type = def->type;
    switch (def->id) {
    case METRIC_ALL_BYTES_OUT:
        return extract_netstat(r, REPORT_BYTES_OUT, dp);
    case METRIC_ALL_BYTES_IN:
        return extract_netstat(r, REPORT_BYTES_IN, dp);
    case METRIC_ALL_PACKETS_OUT:
        return extract_netstat(r, REPORT_PACKETS_OUT, dp);
    case METRIC_ALL_PACKETS_IN:
        return extract_netstat(r, REPORT_PACKETS_IN, dp);
    case METRIC_NUM_LISTENING_TCP_PORTS:
        dp->count = r->tcp_ports.total;
        return r->tcp_ports.present;
    case METRIC_NUM_LISTENING_UDP_PORTS:
        dp->count = r->udp_ports.total;
        return r->udp_ports.present;
    case METRIC_NUM_ESTABLISHED_TCP_CONNECTIONS:
        dp->count = r->conns.total;
        return r->conns.present;
    case METRIC_LISTENING_TCP_PORTS:
        dp->n = r->tcp_ports.count;
        dp->ports = r->tcp_ports.v;
        return r->tcp_ports.present;
    case METRIC_LISTENING_UDP_PORTS:
        dp->n = r->udp_ports.count;
        dp->ports = r->udp_ports.v;
        return r->udp_ports.present;
    case METRIC_DESTINATION_IP_ADDRESSES:
        dp->n = r->conns.count;
        dp->conns = r->conns.v;
        return r->conns.present;
    case METRIC_CUSTOM:
        break;
    default:
        return false; /* cloud side */
    }
    for (uint32_t i = 0; i < r->ncustom; i++) {
        const struct report_custom *c = &r->custom[i];
        if (strcmp(c->name, def->name) != 0)
            continue;
        if (c->type != def->custom_type)
            return false;
        switch (c->type) {
        case REPORT_CUSTOM_NUMBER:
            dp->number = c->number;
            break;
        case REPORT_CUSTOM_NUMBER_LIST:
            dp->n = c->count;
            dp->numbers = r->numbers + c->first;
            break;
        case REPORT_CUSTOM_STRING_LIST:
            dp->n = c->count;
            dp->strs = r->strs + c->first;
            dp->strpool = r->strpool;
            break;
        case REPORT_CUSTOM_IP_LIST:
            dp->n = c->count;
            dp->ips = r->ips + c->first;
            break;
        }
        return true;
    }
    return false;
}
