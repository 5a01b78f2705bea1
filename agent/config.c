/*
 * config.c — the option table, config file parser and --help text.
 */
#include "config.h"

#include "collect.h"
#include "custom.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum opt_kind { OPT_STR, OPT_INT, OPT_BOOL, OPT_BYTES, OPT_SPECIAL };

struct opt {
    const char *key;
    enum opt_kind kind;
    size_t off;        /* offset in struct agent_config */
    int64_t min, max;  /* OPT_INT / OPT_BYTES */
    const char *arg;   /* placeholder in --help */
    const char *deflt; /* default shown in --help */
    const char *help;
};

#define OFF(f) offsetof(struct agent_config, f)

static const struct opt opts[] = {
    { "thing", OPT_STR, OFF(thing), 0, 0, "NAME", "(required)",
      "Thing name: MQTT client id and topic $aws/things/NAME/defender/metrics/json." },
    { "host", OPT_STR, OFF(host), 0, 0, "HOST", "localhost", "Broker host name or address." },
    { "port", OPT_INT, OFF(port), 1, 65535, "PORT", "8883 with TLS, else 1883", "Broker port." },
    { "cafile", OPT_STR, OFF(cafile), 0, 0, "FILE", "(none)",
      "CA certificates (PEM); enables TLS with full certificate and host name checks." },
    { "capath", OPT_STR, OFF(capath), 0, 0, "DIR", "(none)",
      "Directory of CA certificates (c_rehash form); enables TLS like cafile." },
    { "certfile", OPT_STR, OFF(certfile), 0, 0, "FILE", "(none)",
      "Client certificate (PEM) whose CN is the thing name; needs keyfile and TLS." },
    { "keyfile", OPT_STR, OFF(keyfile), 0, 0, "FILE", "(none)", "Private key of certfile (PEM)." },
    { "username", OPT_STR, OFF(username), 0, 0, "NAME", "(none)",
      "MQTT user name (normally the thing name)." },
    { "password_file", OPT_STR, OFF(password_file), 0, 0, "FILE", "(none)",
      "File whose first line is the MQTT password (preferred over password)." },
    { "password", OPT_STR, OFF(password), 0, 0, "SECRET", "(none)",
      "MQTT password; never logged. Visible in ps when given as a flag." },
    { "mqtt_version", OPT_SPECIAL, OFF(mqtt_version), 0, 0, "5|3.1.1", "5",
      "MQTT protocol; 5 falls back to 3.1.1 when the broker refuses version 5." },
    { "keepalive", OPT_INT, OFF(keepalive), 5, 3600, "SECONDS", "60", "MQTT keepalive." },
    { "interval", OPT_INT, OFF(interval_s), INTERVAL_MIN_S, 86400, "SECONDS", "300",
      "Seconds between reports; at least 5 (a lower value is a configuration error)." },
    { "jitter", OPT_INT, OFF(jitter_pct), 0, 100, "PERCENT", "10",
      "Each wait is interval plus a random 0..PERCENT% of it; the first report "
      "comes after a random 0..PERCENT% of the interval." },
    { "short_names", OPT_BOOL, OFF(short_names), 0, 0, "BOOL", "false",
      "Write reports with short key names (hed, met, tp, ...)." },
    { "max_list", OPT_INT, OFF(max_list), 0, LIST_CAP_MAX, "N", "128",
      "Entries per list (ports, connections) in a report; lists are sorted and truncated, "
      "total keeps the true count." },
    { "include_loopback", OPT_BOOL, OFF(include_loopback), 0, 0, "BOOL", "false",
      "Count traffic of interface lo in network_stats." },
    { "proc_root", OPT_STR, OFF(proc_root), 0, 0, "DIR", "/proc",
      "Read DIR/net/{tcp,tcp6,udp,udp6,dev} (tests use captured files)." },
    { "interfaces_file", OPT_STR, OFF(interfaces_file), 0, 0, "FILE",
      "PROC_ROOT/cordon-ifaddrs if it exists, else getifaddrs()",
      "Interface addresses as \"IFNAME ADDRESS\" lines instead of the live ones (tests)." },
    { "state_dir", OPT_STR, OFF(state_dir), 0, 0, "DIR", "/var/lib/cordon-agent",
      "Holds the last report id (written before each publish)." },
    { "spool_dir", OPT_STR, OFF(spool_dir), 0, 0, "DIR", "STATE_DIR/spool",
      "Reports not yet acknowledged by the broker, one file per report." },
    { "spool_max_reports", OPT_INT, OFF(spool_max_reports), 1, 1000000, "N", "1000",
      "Reports kept in the spool; when full the oldest is dropped and counted." },
    { "spool_max_bytes", OPT_BYTES, OFF(spool_max_bytes), 64 * 1024, INT64_C(1) << 40, "BYTES",
      "16777216", "Bytes kept in the spool (suffixes k, M, G)." },
    { "reconnect_min", OPT_INT, OFF(reconnect_min_s), 1, 3600, "SECONDS", "1",
      "First reconnect delay; doubles per failure, with random jitter." },
    { "reconnect_max", OPT_INT, OFF(reconnect_max_s), 1, 86400, "SECONDS", "120",
      "Largest reconnect delay." },
    { "log_level", OPT_SPECIAL, OFF(log_level), 0, 0, "LEVEL", "info",
      "debug, info, warn or error. Logs go to stderr in logfmt." },
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static void errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

int config_init(struct agent_config *c)
{
    memset(c, 0, sizeof(*c));
    c->host = xstrdup("localhost");
    c->proc_root = xstrdup("/proc");
    c->state_dir = xstrdup("/var/lib/cordon-agent");
    if (!c->host || !c->proc_root || !c->state_dir) {
        config_free(c);
        return CORDON_ENOMEM;
    }
    c->mqtt_version = 5;
    c->keepalive = 60;
    c->interval_s = INTERVAL_DEFAULT_S;
    c->jitter_pct = 10;
    c->max_list = LIST_CAP_DEFAULT;
    c->spool_max_reports = 1000;
    c->spool_max_bytes = 16 * 1024 * 1024;
    c->reconnect_min_s = 1;
    c->reconnect_max_s = 120;
    c->log_level = LOG_INFO;
    return 0;
}

void config_free(struct agent_config *c)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].kind == OPT_STR) {
            char **p = (char **)((char *)c + opts[i].off);
            free(*p);
            *p = NULL;
        }
    for (int i = 0; i < c->ncustom; i++) {
        config_argv_free(c->custom[i].argv);
        free(c->custom[i].file);
    }
    c->ncustom = 0;
}

/* Normalise a key: dashes become underscores. */
static void key_norm(const char *in, char *out, size_t outlen)
{
    size_t i;
    for (i = 0; in[i] && i + 1 < outlen; i++)
        out[i] = in[i] == '-' ? '_' : in[i];
    out[i] = '\0';
}

static const struct opt *opt_find(const char *key)
{
    char k[64];

    key_norm(key, k, sizeof(k));
    for (size_t i = 0; i < NOPTS; i++)
        if (strcmp(opts[i].key, k) == 0)
            return &opts[i];
    return NULL;
}

bool config_key_is_bool(const char *key)
{
    const struct opt *o = opt_find(key);
    return o && o->kind == OPT_BOOL;
}

bool config_key_known(const char *key)
{
    return opt_find(key) != NULL || strncmp(key, "metric.", 7) == 0;
}

static int parse_int(const char *s, int64_t min, int64_t max, int64_t *out, bool bytes)
{
    char *end;
    long long v;

    errno = 0;
    if (*s == '\0')
        return -1;
    v = strtoll(s, &end, 10);
    if (errno || end == s)
        return -1;
    if (bytes && *end) {
        int shift = *end == 'k' || *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : -1;
        if (shift < 0 || end[1] != '\0' || v < 0 || v > (INT64_MAX >> shift))
            return -1;
        v <<= shift;
        end++;
    }
    if (*end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on") || !strcmp(s, "1"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off") || !strcmp(s, "0"))
        *out = false;
    else
        return -1;
    return 0;
}

static struct custom_def *custom_get(struct agent_config *c, const char *name, size_t nlen,
                                     const char *where)
{
    for (int i = 0; i < c->ncustom; i++)
        if (strlen(c->custom[i].name) == nlen && memcmp(c->custom[i].name, name, nlen) == 0)
            return &c->custom[i];
    if (c->ncustom >= CUSTOM_METRICS_MAX)
        return NULL;
    struct custom_def *d = &c->custom[c->ncustom++];
    memset(d, 0, sizeof(*d));
    memcpy(d->name, name, nlen);
    d->name[nlen] = '\0';
    d->timeout_s = 5;
    snprintf(d->where, sizeof(d->where), "%s", where);
    return d;
}

/* metric.NAME.FIELD = value */
static int config_set_metric(struct agent_config *c, const char *key, const char *value,
                             const char *where, char *err, size_t errlen)
{
    const char *name = key + 7, *dot = strrchr(key, '.');
    size_t nlen;
    char nbuf[METRIC_NAME_MAX + 1];
    struct custom_def *d;

    if (dot <= name) {
        errf(err, errlen, "%s: expected metric.NAME.FIELD, got '%s'", where, key);
        return CORDON_EINVAL;
    }
    nlen = (size_t)(dot - name);
    if (nlen > METRIC_NAME_MAX) {
        errf(err, errlen, "%s: metric name longer than %d bytes", where, METRIC_NAME_MAX);
        return CORDON_EINVAL;
    }
    memcpy(nbuf, name, nlen);
    nbuf[nlen] = '\0';
    if (!custom_name_valid(nbuf)) {
        errf(err, errlen,
             "%s: metric name '%s' must be 1-128 of [a-zA-Z0-9:_-] and not start with aws:", where,
             nbuf);
        return CORDON_EINVAL;
    }
    d = custom_get(c, name, nlen, where);
    if (!d) {
        errf(err, errlen, "%s: more than %d custom metrics", where, CUSTOM_METRICS_MAX);
        return CORDON_EINVAL;
    }
    dot++;
    if (!strcmp(dot, "type")) {
        if (custom_type_parse(value, &d->type)) {
            errf(err, errlen,
                 "%s: metric %s: type must be number, number-list, string-list or "
                 "ip-address-list, got '%s'",
                 where, d->name, value);
            return CORDON_EINVAL;
        }
        d->has_type = true;
    } else if (!strcmp(dot, "command")) {
        char **argv = config_split_argv(value, err, errlen);
        if (!argv) {
            char tmp[256];
            snprintf(tmp, sizeof(tmp), "%s", err);
            errf(err, errlen, "%s: metric %s: command: %s", where, d->name, tmp);
            return CORDON_EINVAL;
        }
        if (argv[0][0] != '/') {
            errf(err, errlen, "%s: metric %s: command must start with an absolute path, got '%s'",
                 where, d->name, argv[0]);
            config_argv_free(argv);
            return CORDON_EINVAL;
        }
        config_argv_free(d->argv);
        d->argv = argv;
    } else if (!strcmp(dot, "file")) {
        char *f = xstrdup(value);
        if (!f)
            return CORDON_ENOMEM;
        free(d->file);
        d->file = f;
    } else if (!strcmp(dot, "timeout")) {
        int64_t v;
        if (parse_int(value, 1, CUSTOM_TIMEOUT_MAX_S, &v, false)) {
            errf(err, errlen, "%s: metric %s: timeout must be 1..%d seconds, got '%s'", where,
                 d->name, CUSTOM_TIMEOUT_MAX_S, value);
            return CORDON_EINVAL;
        }
        d->timeout_s = (int)v;
    } else {
        errf(err, errlen, "%s: metric %s: unknown field '%s' (type, command, file, timeout)", where,
             d->name, dot);
        return CORDON_EINVAL;
    }
    return 0;
}

int config_set(struct agent_config *c, const char *key, const char *value, const char *where,
               char *err, size_t errlen)
{
    const struct opt *o;
    void *field;
    int64_t v;

    if (strncmp(key, "metric.", 7) == 0)
        return config_set_metric(c, key, value, where, err, errlen);
    o = opt_find(key);
    if (!o) {
        errf(err, errlen, "%s: unknown key '%s' (see cordon-agent --help)", where, key);
        return CORDON_EINVAL;
    }
    field = (char *)c + o->off;
    switch (o->kind) {
    case OPT_STR: {
        char *s;
        if (*value == '\0') {
            errf(err, errlen, "%s: %s: empty value", where, o->key);
            return CORDON_EINVAL;
        }
        s = xstrdup(value);
        if (!s)
            return CORDON_ENOMEM;
        free(*(char **)field);
        *(char **)field = s;
        break;
    }
    case OPT_INT:
    case OPT_BYTES:
        if (parse_int(value, o->min, o->max, &v, o->kind == OPT_BYTES)) {
            if (!strcmp(o->key, "interval"))
                errf(err, errlen,
                     "%s: interval must be an integer number of seconds from %d to 86400, "
                     "got '%s'",
                     where, INTERVAL_MIN_S, value);
            else
                errf(err, errlen, "%s: %s must be an integer from %lld to %lld, got '%s'", where,
                     o->key, (long long)o->min, (long long)o->max, value);
            return CORDON_EINVAL;
        }
        if (o->kind == OPT_BYTES)
            *(int64_t *)field = v;
        else
            *(int *)field = (int)v;
        break;
    case OPT_BOOL:
        if (parse_bool(value, (bool *)field)) {
            errf(err, errlen, "%s: %s must be true or false, got '%s'", where, o->key, value);
            return CORDON_EINVAL;
        }
        break;
    case OPT_SPECIAL:
        if (!strcmp(o->key, "mqtt_version")) {
            if (!strcmp(value, "5"))
                c->mqtt_version = 5;
            else if (!strcmp(value, "3.1.1") || !strcmp(value, "311"))
                c->mqtt_version = 311;
            else {
                errf(err, errlen, "%s: mqtt_version must be 5 or 3.1.1, got '%s'", where, value);
                return CORDON_EINVAL;
            }
        } else {
            static const char *names[] = { "debug", "info", "warn", "error" };
            int i;
            for (i = 0; i < 4; i++)
                if (!strcmp(value, names[i]))
                    break;
            if (i == 4) {
                errf(err, errlen, "%s: log_level must be debug, info, warn or error, got '%s'",
                     where, value);
                return CORDON_EINVAL;
            }
            c->log_level = (enum log_level)i;
        }
        break;
    }
    return 0;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

int config_parse(struct agent_config *c, const char *text, size_t len, const char *filename,
                 char *err, size_t errlen)
{
    const char *p = text, *end = text + len;
    int line = 0;

    if (len > CONFIG_FILE_MAX) {
        errf(err, errlen, "%s: larger than %d bytes", filename, CONFIG_FILE_MAX);
        return CORDON_ETOOBIG;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        char buf[CONFIG_LINE_MAX + 1], where[300], *k, *ke, *v, *ve, *eq;
        size_t n = (size_t)(le - p);
        int result;

        line++;
        snprintf(where, sizeof(where), "%s:%d", filename, line);
        if (n > CONFIG_LINE_MAX) {
            errf(err, errlen, "%s: line longer than %d bytes", where, CONFIG_LINE_MAX);
            return CORDON_EINVAL;
        }
        memcpy(buf, p, n);
        buf[n] = '\0';
        p = nl ? nl + 1 : end;
        if (memchr(buf, '\0', n)) {
            errf(err, errlen, "%s: NUL byte", where);
            return CORDON_EINVAL;
        }
        k = buf;
        while (is_space(*k))
            k++;
        if (*k == '\0' || *k == '#')
            continue;
        eq = strchr(k, '=');
        if (!eq) {
            errf(err, errlen, "%s: expected 'key = value'", where);
            return CORDON_EINVAL;
        }
        ke = eq;
        while (ke > k && is_space(ke[-1]))
            ke--;
        *ke = '\0';
        v = eq + 1;
        while (is_space(*v))
            v++;
        ve = v + strlen(v);
        while (ve > v && is_space(ve[-1]))
            ve--;
        *ve = '\0';
        if (*k == '\0') {
            errf(err, errlen, "%s: missing key before '='", where);
            return CORDON_EINVAL;
        }
        result = config_set(c, k, v, where, err, errlen);
        if (result)
            return result;
    }
    return 0;
}

int config_check(struct agent_config *c, bool need_thing, char *err, size_t errlen)
{
    if (need_thing && !c->thing) {
        errf(err, errlen, "no thing name: set 'thing' in the config file or pass --thing NAME");
        return CORDON_EINVAL;
    }
    if (c->thing && report_thing_name_check(c->thing, strlen(c->thing))) {
        errf(err, errlen,
             "thing '%s': must be 1-128 bytes without control characters, '+', '#' or '/'",
             c->thing);
        return CORDON_EINVAL;
    }
    if ((c->certfile != NULL) != (c->keyfile != NULL)) {
        errf(err, errlen, "certfile and keyfile go together");
        return CORDON_EINVAL;
    }
    if (c->certfile && !c->cafile && !c->capath) {
        errf(err, errlen, "certfile needs TLS: set cafile or capath");
        return CORDON_EINVAL;
    }
    if (c->password && c->password_file) {
        errf(err, errlen, "set password or password_file, not both");
        return CORDON_EINVAL;
    }
    if (c->reconnect_max_s < c->reconnect_min_s) {
        errf(err, errlen, "reconnect_max (%d) is below reconnect_min (%d)", c->reconnect_max_s,
             c->reconnect_min_s);
        return CORDON_EINVAL;
    }
    for (int i = 0; i < c->ncustom; i++) {
        struct custom_def *d = &c->custom[i];
        if (!d->has_type) {
            errf(err, errlen, "%s: metric %s has no type", d->where, d->name);
            return CORDON_EINVAL;
        }
        if (!d->argv == !d->file) {
            errf(err, errlen, "%s: metric %s needs exactly one of command or file", d->where,
                 d->name);
            return CORDON_EINVAL;
        }
    }
    if (c->interval_ms == 0)
        c->interval_ms = (int64_t)c->interval_s * 1000;
    return 0;
}

char **config_split_argv(const char *s, char *err, size_t errlen)
{
    char **argv = calloc(CUSTOM_ARGV_MAX + 1, sizeof(*argv));
    size_t n = 0, slen = strlen(s);
    char *word = malloc(slen + 1);

    if (!argv || !word) {
        free(argv);
        free(word);
        errf(err, errlen, "out of memory");
        return NULL;
    }
    while (*s) {
        size_t wl = 0;
        bool any = false;

        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        while (*s && *s != ' ' && *s != '\t') {
            any = true;
            if (*s == '\'') {
                const char *q = strchr(s + 1, '\'');
                if (!q)
                    goto unterminated;
                memcpy(word + wl, s + 1, (size_t)(q - s - 1));
                wl += (size_t)(q - s - 1);
                s = q + 1;
            } else if (*s == '"') {
                s++;
                while (*s && *s != '"') {
                    if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
                        s++;
                    word[wl++] = *s++;
                }
                if (*s != '"')
                    goto unterminated;
                s++;
            } else {
                word[wl++] = *s++;
            }
        }
        if (any) {
            if (n >= CUSTOM_ARGV_MAX) {
                errf(err, errlen, "more than %d words", CUSTOM_ARGV_MAX);
                goto fail;
            }
            argv[n] = malloc(wl + 1);
            if (!argv[n])
                goto fail;
            memcpy(argv[n], word, wl);
            argv[n][wl] = '\0';
            n++;
        }
    }
    if (n == 0) {
        errf(err, errlen, "empty command");
        goto fail;
    }
    free(word);
    return argv;
unterminated:
    errf(err, errlen, "unterminated quote");
fail:
    free(word);
    config_argv_free(argv);
    return NULL;
}

void config_argv_free(char **argv)
{
    if (!argv)
        return;
    for (size_t i = 0; argv[i]; i++)
        free(argv[i]);
    free(argv);
}

void config_usage(FILE *out)
{
    fprintf(out, "Usage: cordon-agent [OPTION]...\n"
                 "\n"
                 "cordon-agent collects device-side security metrics (listening TCP/UDP ports,\n"
                 "established TCP connections, network traffic, custom metrics) from /proc and\n"
                 "publishes them as AWS IoT Device Defender reports over MQTT (QoS 1) to\n"
                 "$aws/things/THING/defender/metrics/json. Unacknowledged reports wait in an\n"
                 "on-disk spool and are sent in order once the broker is reachable.\n"
                 "\n"
                 "Actions:\n"
                 "  --once              collect one report, deliver it, exit\n"
                 "  --stdout            print reports on stdout (one JSON per line) instead of\n"
                 "                      publishing; needs no broker and touches no state\n"
                 "  --validate [FILE]   decode a report (FILE or stdin) with Cordon's strict\n"
                 "                      decoder; print 'ok' or the error, exit 0 or 1\n"
                 "  --config FILE       read FILE (default " CONFIG_DEFAULT_PATH "; a missing\n"
                 "                      default file is not an error)\n"
                 "  --help              this text\n"
                 "  --version           print the version\n"
                 "\n"
                 "Configuration (file lines 'key = value'; each key is also a flag --key VALUE\n"
                 "or --key=VALUE, dashes or underscores; flags override the file):\n");
    for (size_t i = 0; i < NOPTS; i++) {
        char flag[64];
        snprintf(flag, sizeof(flag), "--%s %s", opts[i].key, opts[i].arg);
        for (char *f = flag + 2; *f && *f != ' '; f++)
            if (*f == '_')
                *f = '-';
        fprintf(out, "  %s\n      %s\n      Default: %s\n", flag, opts[i].help, opts[i].deflt);
    }
    fprintf(out, "\n"
                 "Custom metrics (repeat per metric NAME; [a-zA-Z0-9:_-], 1-128, not aws:...):\n"
                 "  metric.NAME.type = number|number-list|string-list|ip-address-list\n"
                 "  metric.NAME.command = /abs/path arg...   run without a shell; quotes '' \"\"\n"
                 "  metric.NAME.file = /path                 or read a file instead\n"
                 "  metric.NAME.timeout = SECONDS            command timeout, 1..60, default 5\n"
                 "  Output is checked strictly (numbers: at most 15 significant digits; lists\n"
                 "  split on whitespace or commas; strings of A-Z a-z 0-9 : _ - / .); a bad\n"
                 "  value is logged and left out of the report.\n"
                 "\n"
                 "Files:\n"
                 "  " CONFIG_DEFAULT_PATH "   configuration\n"
                 "  STATE_DIR/report_id        last report id (report ids only increase)\n"
                 "  SPOOL_DIR/ID.json          unacknowledged reports\n"
                 "\n"
                 "Exit status: 0 success, 1 runtime failure, 2 usage or configuration error.\n"
                 "Signals: SIGTERM/SIGINT stop after the current step; the spool survives.\n"
                 "See docs/agent.md.\n");
}
