/*
 * cordon-sim — a simulated fleet of Device Defender agents.
 *
 * N things publish AWS-format metrics reports every interval (with jitter and
 * realistic variation) over one or several MQTT connections, driven by one
 * poll() loop; scripted anomalies (open port, traffic burst, new destination,
 * authentication-failure storm) start at given times for given things. Used by
 * `make demo`, the benchmarks and the end-to-end tests. See docs/sim.md.
 */
#include "report.h"

#include <mosquitto.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIM_THINGS_MAX    100000
#define SIM_ANOMALIES_MAX 64
#define SIM_DESTS         8

enum anomaly_kind { AN_OPEN_PORT, AN_TRAFFIC_BURST, AN_NEW_DEST, AN_AUTH_FAILURE };

static const char *const anomaly_names[] = { "open-port", "traffic-burst", "new-destination",
                                             "auth-failure" };

struct anomaly {
    enum anomaly_kind kind;
    double at_s;       /* seconds after start */
    char things[1024]; /* comma list of indices (1-based) or names */
    bool started;
};

struct thing {
    char name[THING_NAME_MAX + 1];
    int conn;        /* index of its connection */
    int64_t next_ms; /* next report due */
    int64_t last_id;
    uint32_t dests[SIM_DESTS];
    int ndests;
    bool open_port; /* anomaly: extra TCP listener 4444 */
    bool new_dest;  /* anomaly: connection to 203.0.113.66:4444 */
    int burst_left; /* anomaly: reports with a traffic burst left */
    uint64_t sent;
};

struct conn {
    struct mosquitto *mosq;
    bool connected;
    int first_thing, nthings;
};

struct sim {
    const char *host;
    int port;
    int nthings;
    int per_conn;
    const char *prefix;
    const char *user, *password, *passwords_file;
    double interval_s;
    double duration_s;
    long max_reports;
    int qos;
    bool short_names;
    bool quiet;
    bool names_are_users;
    unsigned seed;
    struct anomaly anomalies[SIM_ANOMALIES_MAX];
    int nanomalies;

    struct thing *things;
    struct conn *conns;
    int nconns;
    char **thing_passwords;
    struct report rep;
    struct buf out;
    uint64_t rng;
    uint64_t published, failed, acked;
    int64_t start_ms;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* xorshift64*: deterministic for a given --seed */
static uint64_t rnd(struct sim *s)
{
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 2685821657736338717ULL;
}

static uint32_t rnd_range(struct sim *s, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(rnd(s) % (uint64_t)(hi - lo + 1));
}

static double rnd_unit(struct sim *s)
{
    return (double)(rnd(s) >> 11) / 9007199254740992.0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: cordon-sim [OPTION]...\n"
            "Simulate a fleet of Device Defender agents publishing metrics reports.\n"
            "\n"
            "Connection:\n"
            "  -h, --host HOST          broker host (default 127.0.0.1)\n"
            "  -p, --port PORT          broker port (default 1883)\n"
            "  -u, --user USER          username for every connection (default: the thing\n"
            "                           name when --per-connection is 1)\n"
            "  -P, --password PASS      password for every connection\n"
            "      --passwords FILE     per-thing passwords, lines `THING PASSWORD`\n"
            "      --per-connection K   things sharing one MQTT connection (default 1; K > 1\n"
            "                           needs an identity allowed to publish for others)\n"
            "  -q, --qos 0|1            QoS of reports (default 1)\n"
            "\n"
            "Fleet:\n"
            "  -n, --things N           number of things (default 10, max %d)\n"
            "      --prefix NAME        thing name prefix (default sim-); names are\n"
            "                           PREFIX0001, PREFIX0002, ...\n"
            "  -i, --interval SECONDS   report interval per thing, fractions allowed\n"
            "                           (default 10); first reports are spread over it\n"
            "      --short-names        short JSON keys\n"
            "      --seed N             random seed (default 1)\n"
            "\n"
            "Run:\n"
            "  -d, --duration SECONDS   stop after this long (default: until SIGINT/SIGTERM)\n"
            "  -c, --count N            stop after N reports in all\n"
            "                           (with --interval 0: publish N as fast as possible)\n"
            "  -a, --anomaly SPEC       KIND:THINGS@SECONDS, repeatable. KIND is open-port\n"
            "                           (TCP 4444 listener), traffic-burst (bytes out x50 for\n"
            "                           3 reports), new-destination (connection to\n"
            "                           203.0.113.66:4444) or auth-failure (20 connects with a\n"
            "                           wrong password under the thing's name). THINGS is a\n"
            "                           comma list of 1-based indices or names.\n"
            "                           Example: --anomaly open-port:3,7@10\n"
            "      --quiet              no progress line\n"
            "      --help               this text\n"
            "\n"
            "Prints a progress line on stderr every second and a summary at the end:\n"
            "  sim: things=N published=P acked=A failed=F rate=R/s\n"
            "Exit status: 0 on success, 1 on a connection or publish failure, 2 on bad usage.\n",
            SIM_THINGS_MAX);
}

static int parse_anomaly(struct sim *s, const char *spec)
{
    struct anomaly *a;
    const char *colon = strchr(spec, ':');
    const char *at = strrchr(spec, '@');
    size_t klen;
    int k;

    if (s->nanomalies >= SIM_ANOMALIES_MAX || !colon || !at || at < colon)
        return -1;
    a = &s->anomalies[s->nanomalies];
    klen = (size_t)(colon - spec);
    for (k = 0; k < 4; k++)
        if (strlen(anomaly_names[k]) == klen && !memcmp(anomaly_names[k], spec, klen))
            break;
    if (k == 4)
        return -1;
    a->kind = (enum anomaly_kind)k;
    if ((size_t)(at - colon - 1) >= sizeof(a->things) || at == colon + 1)
        return -1;
    memcpy(a->things, colon + 1, (size_t)(at - colon - 1));
    a->things[at - colon - 1] = '\0';
    char *end;
    a->at_s = strtod(at + 1, &end);
    if (*end || a->at_s < 0)
        return -1;
    s->nanomalies++;
    return 0;
}

static int load_passwords(struct sim *s)
{
    FILE *f = fopen(s->passwords_file, "r");
    char line[512];
    int lineno = 0;

    if (!f) {
        fprintf(stderr, "cordon-sim: %s: %s\n", s->passwords_file, strerror(errno));
        return -1;
    }
    s->thing_passwords = calloc((size_t)s->nthings, sizeof(char *));
    while (fgets(line, sizeof(line), f)) {
        char name[256], pw[256];
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (sscanf(line, "%255s %255s", name, pw) != 2) {
            fprintf(stderr, "cordon-sim: %s:%d: expected `THING PASSWORD`\n", s->passwords_file,
                    lineno);
            fclose(f);
            return -1;
        }
        for (int i = 0; i < s->nthings; i++)
            if (!strcmp(s->things[i].name, name))
                s->thing_passwords[i] = strdup(pw);
    }
    fclose(f);
    return 0;
}

/* ---- reports ------------------------------------------------------------ */

static void add_port(struct report_ports *p, uint16_t port)
{
    p->v[p->count].port = port;
    p->v[p->count].iface[0] = '\0';
    p->count++;
    p->total = p->count;
}

static void build_report(struct sim *s, struct thing *t, int64_t now)
{
    struct report *r = &s->rep;
    int nconn;

    report_reset(r);
    t->last_id = now > t->last_id ? now : t->last_id + 1;
    r->report_id = t->last_id;
    r->version_major = 1;
    r->version_minor = 0;

    r->tcp_ports.present = true;
    add_port(&r->tcp_ports, 22);
    add_port(&r->tcp_ports, 443);
    if (t->open_port)
        add_port(&r->tcp_ports, 4444);
    r->udp_ports.present = true;
    add_port(&r->udp_ports, 90);

    r->conns.present = true;
    nconn = (int)rnd_range(s, 10, 50);
    for (int i = 0; i < nconn; i++) {
        struct report_conn *c = &r->conns.v[r->conns.count++];
        uint32_t ip = t->dests[rnd(s) % (uint64_t)t->ndests];
        c->remote.family = 4;
        memset(c->remote.addr, 0, sizeof(c->remote.addr));
        c->remote.addr[0] = (uint8_t)(ip >> 24);
        c->remote.addr[1] = (uint8_t)(ip >> 16);
        c->remote.addr[2] = (uint8_t)(ip >> 8);
        c->remote.addr[3] = (uint8_t)ip;
        c->remote_port = (i & 1) ? 8883 : 443;
        c->local_port = (int32_t)rnd_range(s, 32768, 60999);
        strcpy(c->local_iface, "eth0");
    }
    if (t->new_dest) {
        struct report_conn *c = &r->conns.v[r->conns.count++];
        static const uint8_t bad[4] = { 203, 0, 113, 66 };
        c->remote.family = 4;
        memset(c->remote.addr, 0, sizeof(c->remote.addr));
        memcpy(c->remote.addr, bad, 4);
        c->remote_port = 4444;
        c->local_port = 51515;
        strcpy(c->local_iface, "eth0");
    }
    r->conns.total = r->conns.count;

    r->net.present = true;
    r->net.has = (1u << REPORT_NETSTAT_COUNT) - 1;
    double scale = s->interval_s > 0 ? s->interval_s / 10.0 : 1.0;
    double bo = (20000.0 + 3000.0 * (rnd_unit(s) - 0.5) * 2.0) * scale;
    if (t->burst_left > 0) {
        bo *= 50.0;
        t->burst_left--;
    }
    r->net.v[REPORT_BYTES_OUT] = (uint64_t)bo;
    r->net.v[REPORT_BYTES_IN] = (uint64_t)((70000.0 + 9000.0 * rnd_unit(s)) * scale);
    r->net.v[REPORT_PACKETS_OUT] = r->net.v[REPORT_BYTES_OUT] / 70;
    r->net.v[REPORT_PACKETS_IN] = r->net.v[REPORT_BYTES_IN] / 180;
}

static int publish_report(struct sim *s, struct thing *t, int64_t now)
{
    struct conn *c = &s->conns[t->conn];
    char topic[THING_NAME_MAX + 64];
    int rc;

    build_report(s, t, now);
    buf_reset(&s->out);
    rc = report_encode(&s->rep, s->short_names, &s->out);
    if (rc) {
        fprintf(stderr, "cordon-sim: encode failed: %s\n", cordon_strerror(rc));
        return -1;
    }
    snprintf(topic, sizeof(topic), "$aws/things/%s/defender/metrics/json", t->name);
    rc = mosquitto_publish(c->mosq, NULL, topic, (int)s->out.len, s->out.ptr, s->qos, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        s->failed++;
        return 0; /* offline: counted, the next interval tries again */
    }
    t->sent++;
    s->published++;
    return 0;
}

/* ---- anomalies ----------------------------------------------------------- */

static struct thing *find_thing(struct sim *s, const char *tok)
{
    char *end;
    long idx = strtol(tok, &end, 10);
    if (*tok && !*end && idx >= 1 && idx <= s->nthings)
        return &s->things[idx - 1];
    for (int i = 0; i < s->nthings; i++)
        if (!strcmp(s->things[i].name, tok))
            return &s->things[i];
    return NULL;
}

static void auth_storm(struct sim *s, struct thing *t)
{
    for (int i = 0; i < 20; i++) {
        struct mosquitto *m = mosquitto_new(t->name, true, NULL);
        if (!m)
            return;
        mosquitto_username_pw_set(m, t->name, "wrong-password-from-cordon-sim");
        if (mosquitto_connect(m, s->host, s->port, 5) == MOSQ_ERR_SUCCESS) {
            for (int j = 0; j < 5; j++)
                mosquitto_loop(m, 20, 1);
        }
        mosquitto_disconnect(m);
        mosquitto_destroy(m);
    }
}

static void start_anomaly(struct sim *s, struct anomaly *a)
{
    char list[sizeof(a->things)];
    char *save = NULL;

    strcpy(list, a->things);
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        struct thing *t = find_thing(s, tok);
        if (!t) {
            fprintf(stderr, "cordon-sim: anomaly %s: no thing '%s'\n", anomaly_names[a->kind], tok);
            continue;
        }
        fprintf(stderr, "sim: anomaly %s on %s\n", anomaly_names[a->kind], t->name);
        switch (a->kind) {
        case AN_OPEN_PORT:
            t->open_port = true;
            break;
        case AN_TRAFFIC_BURST:
            t->burst_left = 3;
            break;
        case AN_NEW_DEST:
            t->new_dest = true;
            break;
        case AN_AUTH_FAILURE:
            auth_storm(s, t);
            break;
        }
        t->next_ms = 0; /* report the change now */
    }
    a->started = true;
}

/* ---- MQTT ---------------------------------------------------------------- */

static void on_connect(struct mosquitto *m, void *ud, int rc)
{
    struct conn *c = ud;
    (void)m;
    if (rc == 0) {
        c->connected = true;
    } else {
        fprintf(stderr, "cordon-sim: connection refused: %s\n", mosquitto_connack_string(rc));
    }
}

static void on_disconnect(struct mosquitto *m, void *ud, int rc)
{
    struct conn *c = ud;
    (void)m;
    (void)rc;
    c->connected = false;
}

static uint64_t *acked_counter;

static void on_publish(struct mosquitto *m, void *ud, int mid)
{
    (void)m;
    (void)ud;
    (void)mid;
    (*acked_counter)++;
}

static int open_connections(struct sim *s)
{
    s->nconns = (s->nthings + s->per_conn - 1) / s->per_conn;
    s->conns = calloc((size_t)s->nconns, sizeof(*s->conns));
    if (!s->conns)
        return -1;
    acked_counter = &s->acked;
    for (int i = 0; i < s->nconns; i++) {
        struct conn *c = &s->conns[i];
        struct thing *first = &s->things[i * s->per_conn];
        const char *user = s->user;
        const char *pw = s->password;
        int rc;

        c->first_thing = i * s->per_conn;
        c->nthings =
            s->nthings - c->first_thing < s->per_conn ? s->nthings - c->first_thing : s->per_conn;
        for (int j = 0; j < c->nthings; j++)
            s->things[c->first_thing + j].conn = i;
        if (!user && s->per_conn == 1)
            user = first->name;
        if (s->thing_passwords && s->thing_passwords[c->first_thing])
            pw = s->thing_passwords[c->first_thing];
        /* client id = thing name for one thing per connection (the plugin's rule) */
        char cid[THING_NAME_MAX + 32];
        if (s->per_conn == 1)
            snprintf(cid, sizeof(cid), "%s", first->name);
        else
            snprintf(cid, sizeof(cid), "cordon-sim-%d-%d", (int)getpid(), i);
        c->mosq = mosquitto_new(cid, true, c);
        if (!c->mosq)
            return -1;
        mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_connect_callback_set(c->mosq, on_connect);
        mosquitto_disconnect_callback_set(c->mosq, on_disconnect);
        mosquitto_publish_callback_set(c->mosq, on_publish);
        mosquitto_max_inflight_messages_set(c->mosq, 0);
        if (user)
            mosquitto_username_pw_set(c->mosq, user, pw);
        rc = mosquitto_connect(c->mosq, s->host, s->port, 30);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "cordon-sim: cannot connect to %s:%d: %s\n", s->host, s->port,
                    mosquitto_strerror(rc));
            return -1;
        }
    }
    return 0;
}

/* One pass of the poll loop over every connection: read, write, misc. */
static void pump(struct sim *s, int timeout_ms)
{
    static struct pollfd *pfd;
    static int cap;

    if (cap < s->nconns) {
        free(pfd);
        pfd = calloc((size_t)s->nconns, sizeof(*pfd));
        cap = s->nconns;
    }
    for (int i = 0; i < s->nconns; i++) {
        pfd[i].fd = mosquitto_socket(s->conns[i].mosq);
        pfd[i].events = POLLIN | (mosquitto_want_write(s->conns[i].mosq) ? POLLOUT : 0);
        pfd[i].revents = 0;
    }
    if (poll(pfd, (nfds_t)s->nconns, timeout_ms) < 0 && errno != EINTR)
        return;
    for (int i = 0; i < s->nconns; i++) {
        struct mosquitto *m = s->conns[i].mosq;
        if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
            mosquitto_loop_read(m, 64);
        if (pfd[i].revents & POLLOUT || mosquitto_want_write(m))
            mosquitto_loop_write(m, 64);
        mosquitto_loop_misc(m);
        if (mosquitto_socket(m) < 0 && !stop_requested)
            mosquitto_reconnect(m);
    }
}

static void progress(struct sim *s, int64_t t0, bool final)
{
    double el = (double)(mono_ms() - t0) / 1000.0;
    int up = 0;
    for (int i = 0; i < s->nconns; i++)
        up += s->conns[i].connected;
    fprintf(stderr,
            "%ssim: things=%d connections=%d/%d published=%" PRIu64 " acked=%" PRIu64
            " failed=%" PRIu64 " rate=%.0f/s%s",
            final ? "" : "\r", s->nthings, up, s->nconns, s->published, s->acked, s->failed,
            el > 0 ? (double)s->published / el : 0.0, final ? "\n" : "   ");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "host", required_argument, NULL, 'h' },
        { "port", required_argument, NULL, 'p' },
        { "user", required_argument, NULL, 'u' },
        { "password", required_argument, NULL, 'P' },
        { "passwords", required_argument, NULL, 'W' },
        { "per-connection", required_argument, NULL, 'k' },
        { "qos", required_argument, NULL, 'q' },
        { "things", required_argument, NULL, 'n' },
        { "prefix", required_argument, NULL, 'x' },
        { "interval", required_argument, NULL, 'i' },
        { "short-names", no_argument, NULL, 's' },
        { "seed", required_argument, NULL, 'S' },
        { "duration", required_argument, NULL, 'd' },
        { "count", required_argument, NULL, 'c' },
        { "anomaly", required_argument, NULL, 'a' },
        { "quiet", no_argument, NULL, 'Q' },
        { "help", no_argument, NULL, 'H' },
        { NULL, 0, NULL, 0 },
    };
    struct sim s = { .host = "127.0.0.1",
                     .port = 1883,
                     .nthings = 10,
                     .per_conn = 1,
                     .prefix = "sim-",
                     .interval_s = 10,
                     .qos = 1,
                     .seed = 1 };
    int c, status = 0;
    char *end;

    while ((c = getopt_long(argc, argv, "h:p:u:P:q:n:i:d:c:a:", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            s.host = optarg;
            break;
        case 'p':
            s.port = (int)strtol(optarg, &end, 10);
            if (*end || s.port < 1 || s.port > 65535)
                goto bad;
            break;
        case 'u':
            s.user = optarg;
            break;
        case 'P':
            s.password = optarg;
            break;
        case 'W':
            s.passwords_file = optarg;
            break;
        case 'k':
            s.per_conn = (int)strtol(optarg, &end, 10);
            if (*end || s.per_conn < 1)
                goto bad;
            break;
        case 'q':
            s.qos = (int)strtol(optarg, &end, 10);
            if (*end || s.qos < 0 || s.qos > 1)
                goto bad;
            break;
        case 'n':
            s.nthings = (int)strtol(optarg, &end, 10);
            if (*end || s.nthings < 1 || s.nthings > SIM_THINGS_MAX)
                goto bad;
            break;
        case 'x':
            s.prefix = optarg;
            break;
        case 'i':
            s.interval_s = strtod(optarg, &end);
            if (*end || s.interval_s < 0)
                goto bad;
            break;
        case 's':
            s.short_names = true;
            break;
        case 'S':
            s.seed = (unsigned)strtoul(optarg, &end, 10);
            break;
        case 'd':
            s.duration_s = strtod(optarg, &end);
            if (*end || s.duration_s < 0)
                goto bad;
            break;
        case 'c':
            s.max_reports = strtol(optarg, &end, 10);
            if (*end || s.max_reports < 0)
                goto bad;
            break;
        case 'a':
            if (parse_anomaly(&s, optarg)) {
                fprintf(stderr, "cordon-sim: bad --anomaly '%s' (expected KIND:THINGS@SECONDS)\n",
                        optarg);
                return 2;
            }
            break;
        case 'Q':
            s.quiet = true;
            break;
        case 'H':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc)
        goto bad;
    if (s.interval_s == 0 && s.max_reports == 0) {
        fprintf(stderr, "cordon-sim: --interval 0 (full speed) needs --count\n");
        return 2;
    }

    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
    s.rng = 0x9E3779B97F4A7C15ULL ^ s.seed;
    s.things = calloc((size_t)s.nthings, sizeof(*s.things));
    if (!s.things || report_init(&s.rep)) {
        fprintf(stderr, "cordon-sim: out of memory\n");
        return 1;
    }
    buf_init(&s.out, REPORT_MAX_BYTES);
    s.start_ms = mono_ms();
    for (int i = 0; i < s.nthings; i++) {
        struct thing *t = &s.things[i];
        snprintf(t->name, sizeof(t->name), "%s%04d", s.prefix, i + 1);
        if (report_thing_name_check(t->name, strlen(t->name))) {
            fprintf(stderr, "cordon-sim: invalid thing name '%s'\n", t->name);
            return 2;
        }
        t->ndests = (int)rnd_range(&s, 3, SIM_DESTS);
        for (int d = 0; d < t->ndests; d++)
            t->dests[d] = (rnd(&s) & 1 ? 0xC0000200u : 0xC6336400u) | rnd_range(&s, 1, 254);
        /* spread the first reports over one interval */
        t->next_ms = s.start_ms + (int64_t)(s.interval_s * 1000.0 * rnd_unit(&s));
    }
    if (s.passwords_file && load_passwords(&s))
        return 2;

    mosquitto_lib_init();
    if (open_connections(&s)) {
        status = 1;
        goto out;
    }
    /* wait for CONNACKs */
    for (int64_t t0 = mono_ms(); mono_ms() - t0 < 10000 && !stop_requested;) {
        int up = 0;
        pump(&s, 10);
        for (int i = 0; i < s.nconns; i++)
            up += s.conns[i].connected;
        if (up == s.nconns)
            break;
    }

    int64_t last_progress = mono_ms();
    while (!stop_requested) {
        int64_t mono = mono_ms();
        double el = (double)(mono - s.start_ms) / 1000.0;

        if (s.duration_s > 0 && el >= s.duration_s)
            break;
        if (s.max_reports && (long)s.published >= s.max_reports)
            break;
        for (int a = 0; a < s.nanomalies; a++)
            if (!s.anomalies[a].started && el >= s.anomalies[a].at_s)
                start_anomaly(&s, &s.anomalies[a]);

        int64_t wall = now_ms();
        int budget = 256; /* reports per pass before servicing sockets again */
        for (int i = 0; i < s.nthings && budget > 0; i++) {
            struct thing *t = &s.things[i];
            if (s.max_reports && (long)s.published >= s.max_reports)
                break;
            if (s.interval_s > 0 && t->next_ms > mono)
                continue;
            if (!s.conns[t->conn].connected)
                continue;
            if (publish_report(&s, t, wall)) {
                status = 1;
                goto out;
            }
            budget--;
            double jitter = 1.0 + 0.1 * (rnd_unit(&s) - 0.5);
            t->next_ms = mono + (int64_t)(s.interval_s * 1000.0 * jitter);
        }
        pump(&s, s.interval_s > 0 ? 5 : 0);
        if (!s.quiet && mono_ms() - last_progress >= 1000) {
            progress(&s, s.start_ms, false);
            last_progress = mono_ms();
        }
    }
    /* drain: give QoS 1 acknowledgements a moment */
    for (int64_t t0 = mono_ms(); s.qos && s.acked < s.published && mono_ms() - t0 < 5000;)
        pump(&s, 10);
out:
    if (!s.quiet)
        fputc('\n', stderr);
    progress(&s, s.start_ms, true);
    for (int i = 0; s.conns && i < s.nconns; i++) {
        if (s.conns[i].mosq) {
            mosquitto_disconnect(s.conns[i].mosq);
            mosquitto_destroy(s.conns[i].mosq);
        }
    }
    mosquitto_lib_cleanup();
    buf_free(&s.out);
    report_free(&s.rep);
    return status;
bad:
    fprintf(stderr, "cordon-sim: invalid argument%s%s\nTry 'cordon-sim --help'.\n",
            optarg ? ": " : "", optarg ? optarg : "");
    return 2;
}
