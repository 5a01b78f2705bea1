/*
 * bench_detect.c — the detect path in-process, on one core: decode and
 * validate a metrics report (lib/report.c), then evaluate it against the
 * blog's rule profile plus 8 more behaviors for one of 1000 things
 * (lib/detect.c). Compared with parsing the same bytes with jansson alone.
 *
 * Reports are generated with a fixed PRNG seed (5–30 listening TCP ports,
 * 0–2 UDP ports, 10–50 connections, network stats, one custom metric; about
 * 3% of reports open a port outside the allow-list), encoded with
 * report_encode (short keys). Each phase is warmed up, then the best of
 * ROUNDS rounds is kept. Times are this thread's CPU time.
 *
 * Last line (contract): bench detect: reports_per_s=N jansson_ratio=R state_bytes=B
 */
#include "detect.h"
#include "metric.h"
#include "profile.h"
#include "report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define THINGS  1000
#define REPORTS 20000
#define ROUNDS  15

static const char *profiles_yaml =
    "securityProfiles:\n"
    "  - securityProfileName: DeviceRuleBaseline\n"
    "    targets: [all/things]\n"
    "    behaviors:\n"
    "      - name: AuthorizedTcpPorts\n"
    "        metric: aws:listening-tcp-ports\n"
    "        criteria: { comparisonOperator: in-port-set, value: { ports: [22, 53, 443] } }\n"
    "      - name: AuthorizedUdpPorts\n"
    "        metric: aws:listening-udp-ports\n"
    "        criteria: { comparisonOperator: in-port-set, value: { ports: [90] } }\n"
    "  - securityProfileName: FleetBaseline\n"
    "    targets: [thinggroup/fleet]\n"
    "    behaviors:\n"
    "      - name: BytesOut\n"
    "        metric: aws:all-bytes-out\n"
    "        criteria: { comparisonOperator: greater-than, value: { count: 5000000 } }\n"
    "      - name: BytesIn5m\n"
    "        metric: aws:all-bytes-in\n"
    "        criteria: { comparisonOperator: greater-than, value: { count: 20000000 },\n"
    "                    durationSeconds: 300 }\n"
    "      - name: PacketsOut\n"
    "        metric: aws:all-packets-out\n"
    "        criteria: { comparisonOperator: greater-than-equals, value: { count: 50000 },\n"
    "                    consecutiveDatapointsToAlarm: 2 }\n"
    "      - name: Connections\n"
    "        metric: aws:num-established-tcp-connections\n"
    "        criteria: { comparisonOperator: greater-than, value: { count: 48 } }\n"
    "      - name: TcpListeners\n"
    "        metric: aws:num-listening-tcp-ports\n"
    "        criteria: { comparisonOperator: greater-than, value: { count: 29 } }\n"
    "      - name: UdpListeners\n"
    "        metric: aws:num-listening-udp-ports\n"
    "        criteria: { comparisonOperator: greater-than, value: { count: 10 } }\n"
    "      - name: Destinations\n"
    "        metric: aws:destination-ip-addresses\n"
    "        criteria: { comparisonOperator: in-cidr-set,\n"
    "                    value: { cidrs: [10.0.0.0/8, 192.0.2.0/24, \"2001:db8::/32\"] } }\n"
    "      - name: CpuLoad\n"
    "        metric: cpu_load_pct\n"
    "        criteria: { comparisonOperator: greater-than, value: { number: 99.5 } }\n";

/* xorshift64*: deterministic */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 33) % n;
}

/* 0..n-1, small values much more likely (u^4): most devices are quiet, a few are busy */
static uint32_t skewed(uint32_t n)
{
    uint64_t u = rnd(1000);
    return (uint32_t)(u * u * u * u * n / 1000000000000ULL);
}

/* CPU time of this thread: the figures are per core, and time the scheduler
 * gives to other processes on a shared machine is not counted */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct blob {
    char *p;
    size_t len;
    uint32_t thing;
};

static void gen_report(struct report *r, int64_t id)
{
    /* the allowed ports on up to ten interfaces ("" = wildcard) */
    static const uint16_t allowed[] = { 22, 53, 443 };
    static const char *const ifnames[] = { "",     "eth0", "eth1", "wlan0", "br0",
                                           "usb0", "eth2", "eth3", "wwan0", "tun0" };
    /* list lengths skewed towards the low end (most devices are quiet) */
    uint32_t ntcp = 5 + skewed(26), nudp = rnd(3), nconn = 10 + skewed(41);
    struct report_custom *c;

    report_reset(r);
    r->report_id = id;
    r->version_major = 1;
    r->tcp_ports.present = true;
    for (uint32_t i = 0; i < ntcp; i++) {
        struct report_port *p = &r->tcp_ports.v[r->tcp_ports.count++];
        p->port = allowed[i % 3];
        snprintf(p->iface, sizeof(p->iface), "%s", ifnames[i / 3]);
    }
    if (rnd(100) < 3) /* an unexpected listener (netcat) */
        r->tcp_ports.v[r->tcp_ports.count - 1].port = 4444;
    r->tcp_ports.total = r->tcp_ports.count;
    r->udp_ports.present = true;
    for (uint32_t i = 0; i < nudp; i++) {
        struct report_port *p = &r->udp_ports.v[r->udp_ports.count++];
        p->port = rnd(1000) < 5 ? 5353 : 90;
        snprintf(p->iface, sizeof(p->iface), "%s", ifnames[i]);
    }
    r->udp_ports.total = r->udp_ports.count;
    r->conns.present = true;
    for (uint32_t i = 0; i < nconn; i++) {
        struct report_conn *cn = &r->conns.v[r->conns.count++];
        memset(&cn->remote, 0, sizeof(cn->remote));
        if (rnd(10) == 0) {
            static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x10 };
            cn->remote.family = 6;
            memcpy(cn->remote.addr, v6, 16);
            cn->remote.addr[15] = (uint8_t)rnd(256);
        } else {
            cn->remote.family = 4;
            cn->remote.addr[0] = 10;
            cn->remote.addr[1] = (uint8_t)rnd(256);
            cn->remote.addr[2] = (uint8_t)rnd(256);
            cn->remote.addr[3] = (uint8_t)(1 + rnd(254));
        }
        cn->remote_port = rnd(2) ? 443 : 8883;
        /* local port and interface are optional; most agents' lists carry some */
        cn->local_port = rnd(10) ? -1 : (int32_t)(32768 + rnd(28000));
        strcpy(cn->local_iface, cn->local_port >= 0 ? "eth0" : "");
    }
    r->conns.total = r->conns.count;
    r->net.present = true;
    r->net.has = 0xf;
    r->net.v[REPORT_BYTES_IN] = 10000 + rnd(200000);
    r->net.v[REPORT_BYTES_OUT] = 10000 + rnd(100000);
    r->net.v[REPORT_PACKETS_IN] = 100 + rnd(2000);
    r->net.v[REPORT_PACKETS_OUT] = 100 + rnd(1500);
    c = &r->custom[r->ncustom++];
    memset(c, 0, sizeof(*c));
    strcpy(c->name, "cpu_load_pct");
    c->type = REPORT_CUSTOM_NUMBER;
    c->number = rnd(10000) / 100.0;
}

int main(void)
{
    struct metric_catalog cat;
    struct profile_set set, old;
    struct cordon_diag diag;
    struct detect det;
    struct detect_options dopts = { 0 };
    struct detect_events ev;
    struct report r;
    struct report_decode_opts ropts = { 0 };
    struct blob *blobs;
    char(*names)[24];
    const char *groups[] = { "fleet" };
    struct buf out;
    size_t total_bytes = 0, events = 0;
    double best = 1e9, best_j = 1e9, best_d = 1e9;
    int64_t now = 1733000000000LL;

    metric_catalog_init(&cat);
    metric_catalog_add(&cat, "cpu_load_pct", "number", NULL);
    if (profile_set_parse(&set, "bench", profiles_yaml, strlen(profiles_yaml), &cat, &diag)) {
        fprintf(stderr, "bench-detect: %s\n", diag.message);
        return 1;
    }
    for (int i = 0; i < 16; i++)
        dopts.id_seed[i] = (uint8_t)i;
    detect_init(&det, &dopts);
    detect_events_init(&ev);
    detect_set_profiles(&det, &set, now, &ev, &old);
    profile_set_free(&old);
    if (report_init(&r)) {
        fprintf(stderr, "bench-detect: out of memory\n");
        return 1;
    }
    ropts.custom_lookup = metric_custom_lookup;
    ropts.ctx = &cat;

    /* generate */
    blobs = calloc(REPORTS, sizeof(*blobs));
    names = calloc(THINGS, sizeof(*names));
    for (int i = 0; i < THINGS; i++)
        snprintf(names[i], sizeof(names[i]), "thing-%04d", i);
    buf_init(&out, REPORT_MAX_BYTES);
    for (int i = 0; i < REPORTS; i++) {
        gen_report(&r, now / 1000 * 1000 + i);
        buf_reset(&out);
        if (report_encode(&r, true, &out)) {
            fprintf(stderr, "bench-detect: encode failed\n");
            return 1;
        }
        blobs[i].p = malloc(out.len);
        memcpy(blobs[i].p, out.ptr, out.len);
        blobs[i].len = out.len;
        blobs[i].thing = (uint32_t)(i % THINGS);
        total_bytes += out.len;
    }
    buf_free(&out);
    printf("reports: %d over %d things, mean %zu bytes (short keys), 10 behaviors per thing\n",
           REPORTS, THINGS, total_bytes / REPORTS);

    /* decode + validate + evaluate: warm-up round, then ROUNDS rounds */
    for (int round = -1; round < ROUNDS; round++) {
        double t0 = now_s(), dt;
        for (int i = 0; i < REPORTS; i++) {
            struct detect_thing t = { names[blobs[i].thing], groups, 1, true };
            if (report_decode(&r, blobs[i].p, blobs[i].len, &ropts, &diag)) {
                fprintf(stderr, "bench-detect: decode: %s\n", diag.message);
                return 1;
            }
            detect_events_reset(&ev);
            now += 5; /* 1000 things reporting every 5 s */
            if (detect_eval_report(&det, &t, &r, now, &ev)) {
                fprintf(stderr, "bench-detect: eval failed\n");
                return 1;
            }
            events += ev.n;
        }
        dt = now_s() - t0;
        if (round >= 0 && dt < best)
            best = dt;
    }
    /* decode alone, for the breakdown */
    for (int round = -1; round < ROUNDS; round++) {
        double t0 = now_s(), dt;
        for (int i = 0; i < REPORTS; i++)
            if (report_decode(&r, blobs[i].p, blobs[i].len, &ropts, &diag))
                return 1;
        dt = now_s() - t0;
        if (round >= 0 && dt < best_d)
            best_d = dt;
    }
    /* jansson alone on the same bytes */
    for (int round = -1; round < ROUNDS; round++) {
        double t0 = now_s(), dt;
        for (int i = 0; i < REPORTS; i++) {
            json_error_t err;
            json_t *j = json_loadb(blobs[i].p, blobs[i].len, 0, &err);
            if (!j) {
                fprintf(stderr, "bench-detect: jansson: %s\n", err.text);
                return 1;
            }
            json_decref(j);
        }
        dt = now_s() - t0;
        if (round >= 0 && dt < best_j)
            best_j = dt;
    }

    {
        double rps = REPORTS / best, jrps = REPORTS / best_j;
        printf("decode+validate+evaluate: %.0f reports/s, %.0f ns/report (best of %d rounds)\n",
               rps, best * 1e9 / REPORTS, ROUNDS);
        printf("  of which decode+validate %.0f ns/report, evaluate %.0f ns/report\n",
               best_d * 1e9 / REPORTS, best > best_d ? (best - best_d) * 1e9 / REPORTS : 0.0);
        printf("violation events: %zu over %d evaluations\n", events, REPORTS * (ROUNDS + 1));
        printf("jansson json_loadb+json_decref: %.0f reports/s, %.0f ns/report\n", jrps,
               best_j * 1e9 / REPORTS);
        printf("state per (thing, rule behavior): %zu bytes; things: %zu\n", detect_state_bytes(),
               detect_thing_count(&det));
        printf("bench detect: reports_per_s=%.0f jansson_ratio=%.2f state_bytes=%zu\n", rps,
               rps / jrps, detect_state_bytes());
    }
    for (int i = 0; i < REPORTS; i++)
        free(blobs[i].p);
    free(blobs);
    free(names);
    report_free(&r);
    detect_events_free(&ev);
    detect_free(&det);
    metric_catalog_free(&cat);
    return 0;
}
