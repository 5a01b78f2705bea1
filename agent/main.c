/*
 * main.c — cordon-agent: options, the single poll loop, the report cycle.
 *
 * One thread. Each turn: collect when due (collect → id → persist id →
 * encode → spool), publish spooled reports in id order while the session
 * allows, poll the MQTT socket with a timeout bounded by the next
 * collection, let libmosquitto read/write. Collection reads only local
 * files and never waits for the network.
 */
#include "config.h"
#include "log.h"
#include "mqtt.h"
#include "reply.h"
#include "sample.h"
#include "source.h"
#include "spool.h"

#include "report.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define AGENT_VERSION   "0.1.0"
#define RECENT_MAX      256                 /* published ids remembered to match replies */
#define ONCE_TIMEOUT_MS 30000               /* --once waits this long for the PUBACK */
#define TEST_ENV        "CORDON_AGENT_TEST" /* enables --interval-ms (tests only) */

struct agent {
    struct agent_config cfg;
    struct sample sample;
    struct report report;
    struct buf body;
    struct buf readbuf;
    struct spool spool;
    struct mqtt mqtt;
    char spool_dir[4200];
    bool to_stdout, once;
    long bench_cycles;
    int64_t last_id;
    int64_t sent_upto; /* highest id published in this session */
    int64_t recent[RECENT_MAX];
    int nrecent;
    int64_t once_id; /* --once: the report to see acknowledged */
    bool once_done;
    bool warned_size;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* interval plus a random 0..jitter% of it */
static int64_t next_wait_ms(const struct agent *a)
{
    int64_t j = a->cfg.interval_ms * a->cfg.jitter_pct / 100;
    return a->cfg.interval_ms + (j > 0 ? (int64_t)(random() % (j + 1)) : 0);
}

/* ---- the report cycle --------------------------------------------------- */

static bool report_empty(const struct report *r)
{
    return !r->tcp_ports.present && !r->udp_ports.present && !r->conns.present && !r->net.present &&
           r->ncustom == 0;
}

/* Collect and encode one report with a fresh id into a->body.
 * Returns 0, 1 (nothing to report) or a negative error. */
static int agent_build(struct agent *a)
{
    int64_t id = wall_ms();
    int result;

    result = sample_collect(&a->sample, &a->report);
    if (result)
        return result;
    if (report_empty(&a->report)) {
        log_error("nothing collected; report skipped", "proc_root=%s", a->cfg.proc_root);
        return 1;
    }
    if (id <= a->last_id)
        id = a->last_id + 1; /* R10: max(now, last + 1) */
    a->report.report_id = id;
    a->report.version_major = 1;
    a->report.version_minor = 0;
    buf_reset(&a->body);
    result = report_encode(&a->report, a->cfg.short_names, &a->body);
    /* Over REPORT_MAX_BYTES (the server's default cap): shorten the longest
     * list (its total stays true, R9), and as a last resort drop the custom
     * metrics, rather than send nothing. */
    while (result == CORDON_ETOOBIG) {
        struct report *r = &a->report;
        uint32_t *longest = &r->conns.count;
        if (r->tcp_ports.count > *longest)
            longest = &r->tcp_ports.count;
        if (r->udp_ports.count > *longest)
            longest = &r->udp_ports.count;
        if (*longest > 0) {
            *longest /= 2;
        } else if (r->ncustom > 0) {
            log_warn("report too large even without list entries; custom metrics left out",
                     "custom=%u", r->ncustom);
            r->ncustom = 0;
            r->nvalues = 0;
            r->strpool_len = 0;
        } else {
            break;
        }
        if (!a->warned_size)
            log_warn("report larger than the size cap; lists shortened (lower max_list)",
                     "cap_bytes=%d", REPORT_MAX_BYTES);
        a->warned_size = true;
        buf_reset(&a->body);
        result = report_encode(&a->report, a->cfg.short_names, &a->body);
    }
    if (result) {
        log_error("cannot encode report", "error=\"%s\"", cordon_strerror(result));
        return result;
    }
    return 0;
}

static void agent_cycle(struct agent *a)
{
    char why[600];
    uint32_t dropped = 0;
    int64_t id;
    int result = agent_build(a);

    if (result)
        return;
    id = a->report.report_id;
    if (a->to_stdout) {
        a->last_id = id;
        fwrite(a->body.ptr, 1, a->body.len, stdout);
        fputc('\n', stdout);
        fflush(stdout);
        return;
    }
    /* R10: the id is durable before the report can leave */
    result = state_save(a->cfg.state_dir, id);
    if (result) {
        log_error("cannot persist the report id; report skipped", "state_dir=%s error=\"%s\"",
                  a->cfg.state_dir, strerror(-result));
        return;
    }
    a->last_id = id;
    result = spool_add(&a->spool, id, a->body.ptr, a->body.len, &dropped, why, sizeof(why));
    if (dropped)
        log_warn("spool full; oldest reports dropped", "dropped=%u spool_dropped_total=%" PRIu64,
                 dropped, a->spool.dropped);
    if (result) {
        log_error("cannot spool report; report skipped", "report_id=%" PRId64 " error=\"%s\"", id,
                  why);
        return;
    }
    log_info("report queued",
             "report_id=%" PRId64 " bytes=%zu spooled=%u tcp_ports=%u "
             "udp_ports=%u connections=%u network_stats=%s custom=%u",
             id, a->body.len, a->spool.n, a->report.tcp_ports.total, a->report.udp_ports.total,
             a->report.conns.total, a->report.net.present ? "yes" : "no", a->report.ncustom);
    if (a->once)
        a->once_id = id;
}

/* Publish spooled reports, oldest first, while the session takes them. */
static void agent_pump(struct agent *a, int64_t now)
{
    while (mqtt_can_publish(&a->mqtt)) {
        int i = spool_next(&a->spool, a->sent_upto);
        int64_t id;
        int result;

        if (i < 0)
            return;
        id = a->spool.v[i].id;
        result = spool_read(&a->spool, id, &a->readbuf);
        if (result) {
            log_warn("unreadable spooled report dropped", "report_id=%" PRId64 " error=\"%s\"", id,
                     strerror(-result));
            spool_remove(&a->spool, id);
            continue;
        }
        if (mqtt_publish(&a->mqtt, id, a->readbuf.ptr, a->readbuf.len, now))
            return;
        a->sent_upto = id;
        a->recent[a->nrecent++ % RECENT_MAX] = id;
        log_debug("report published", "report_id=%" PRId64, id);
    }
}

/* ---- MQTT events --------------------------------------------------------- */

static void ev_ready(void *ctx)
{
    struct agent *a = ctx;
    a->sent_upto = -1; /* a new session: everything in the spool is unsent */
    if (a->spool.n)
        log_info("sending spooled reports", "count=%u", a->spool.n);
}

static void ev_acked(void *ctx, int64_t id, int reason)
{
    struct agent *a = ctx;

    if (reason >= 0x80)
        log_warn("broker refused the report; dropped",
                 "report_id=%" PRId64 " reason=\"%s\" code=%d", id, mqtt_reason_string(reason),
                 reason);
    else
        log_debug("report acknowledged", "report_id=%" PRId64, id);
    spool_remove(&a->spool, id);
    if (a->once && id == a->once_id)
        a->once_done = true;
}

static bool recent_has(const struct agent *a, int64_t id)
{
    int n = a->nrecent < RECENT_MAX ? a->nrecent : RECENT_MAX;
    for (int i = 0; i < n; i++)
        if (a->recent[i] == id)
            return true;
    return false;
}

static void ev_reply(void *ctx, bool accepted, const void *payload, size_t len)
{
    struct agent *a = ctx;
    struct reply rp;
    char q1[600], q2[200];

    if (reply_parse(payload, len, &rp) || !rp.has_id) {
        log_warn("malformed reply ignored", "topic=%s bytes=%zu",
                 accepted ? "accepted" : "rejected", len);
        return;
    }
    if (!recent_has(a, rp.report_id)) {
        log_info("reply for a report this agent did not send", "report_id=%" PRId64 " status=%s",
                 rp.report_id, accepted ? "accepted" : "rejected");
        return;
    }
    if (accepted)
        log_debug("report accepted", "report_id=%" PRId64, rp.report_id);
    else if (strcmp(rp.error_code, REPORT_E_DUPLICATE_ID) == 0)
        /* a retry after a lost PUBACK: the server already has this report */
        log_info("report already received by the server", "report_id=%" PRId64 " code=%s",
                 rp.report_id, rp.error_code);
    else
        log_warn("report rejected", "report_id=%" PRId64 " code=%s reason=%s", rp.report_id,
                 log_q(q2, sizeof(q2), rp.error_code[0] ? rp.error_code : "(none)"),
                 log_q(q1, sizeof(q1), rp.error_message));
}

/* ---- options -------------------------------------------------------------- */

static void usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "cordon-agent: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'cordon-agent --help'.\n");
}

static const char *config_path_of(int argc, char **argv, bool *explicit)
{
    *explicit = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc) {
            *explicit = true;
            return argv[i + 1];
        }
        if (!strncmp(argv[i], "--config=", 9)) {
            *explicit = true;
            return argv[i] + 9;
        }
    }
    return CONFIG_DEFAULT_PATH;
}

static int load_config_file(struct agent_config *cfg, const char *path, bool explicit)
{
    struct buf text;
    char err[1024];
    int result;

    buf_init(&text, CONFIG_FILE_MAX);
    result = source_read_file(path, &text);
    if (result == -ENOENT && !explicit) {
        buf_free(&text);
        return 0;
    }
    if (result) {
        fprintf(stderr, "cordon-agent: %s: %s\n", path,
                result == CORDON_ETOOBIG ? "file too large" : strerror(-result));
        buf_free(&text);
        return -1;
    }
    result = config_parse(cfg, text.ptr ? text.ptr : "", text.len, path, err, sizeof(err));
    buf_free(&text);
    if (result) {
        fprintf(stderr, "cordon-agent: %s\n", err);
        return -1;
    }
    return 0;
}

static int validate_main(const char *path)
{
    struct buf in;
    struct report r;
    struct cordon_diag d;
    int result;

    buf_init(&in, REPORT_MAX_BYTES);
    if (path) {
        result = source_read_file(path, &in);
    } else {
        char chunk[8192];
        ssize_t n;
        result = 0;
        while ((n = read(0, chunk, sizeof(chunk))) > 0)
            if ((result = buf_add(&in, chunk, (size_t)n)))
                break;
    }
    if (result) {
        fprintf(stderr, "cordon-agent: cannot read %s: %s\n", path ? path : "stdin",
                result == CORDON_ETOOBIG ? "larger than 128 KiB" : strerror(-result));
        buf_free(&in);
        return 1;
    }
    if (report_init(&r)) {
        buf_free(&in);
        return 1;
    }
    cordon_diag_clear(&d);
    /* one document (possibly pretty-printed), or one report per line (the
     * --stdout form) */
    int bad = 0, n = 0;
    struct cordon_diag whole;
    cordon_diag_clear(&whole);
    if (report_decode(&r, in.ptr ? in.ptr : "", in.len, NULL, &whole) == 0) {
        n = 1;
    } else {
        size_t off = 0;
        while (off < in.len) {
            const char *p = in.ptr + off, *nl = memchr(p, '\n', in.len - off);
            size_t len = nl ? (size_t)(nl - p) : in.len - off;
            off += len + (nl ? 1 : 0);
            if (len == 0)
                continue;
            n++;
            if (report_decode(&r, p, len, NULL, &d)) {
                if (n == 1) {
                    /* not line-separated reports: report the document's error */
                    printf("invalid: %s: %s\n", whole.code, whole.message);
                    bad = 1;
                    break;
                }
                printf("invalid: report %d: %s: %s\n", n, d.code, d.message);
                bad = 1;
            }
        }
    }
    if (!bad)
        printf("ok: %d report%s\n", n, n == 1 ? "" : "s");
    report_free(&r);
    buf_free(&in);
    return bad || n == 0;
}

/* Parse argv into a (config already loaded from the file). Returns 0, 1 to
 * exit 0 (help/version), or -1 (usage error, exit 2). */
static int parse_args(struct agent *a, int argc, char **argv, int *validate, const char **vpath)
{
    char err[1024];

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        char key[256];
        const char *val, *eq;

        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            config_usage(stdout);
            return 1;
        }
        if (!strcmp(arg, "--version")) {
            printf("cordon-agent " AGENT_VERSION "\n");
            return 1;
        }
        if (!strcmp(arg, "--once")) {
            a->once = true;
            continue;
        }
        if (!strcmp(arg, "--stdout")) {
            a->to_stdout = true;
            continue;
        }
        if (!strcmp(arg, "--validate")) {
            *validate = 1;
            if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
                *vpath = argv[++i];
            continue;
        }
        if (!strcmp(arg, "--config")) {
            i++;
            continue;
        }
        if (!strncmp(arg, "--config=", 9))
            continue;
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            usage_error("unexpected argument '%s'", arg);
            return -1;
        }
        eq = strchr(arg + 2, '=');
        if (eq) {
            snprintf(key, sizeof(key), "%.*s", (int)(eq - arg - 2), arg + 2);
            val = eq + 1;
        } else {
            snprintf(key, sizeof(key), "%s", arg + 2);
            if (config_key_is_bool(key))
                val = "true";
            else if (i + 1 < argc)
                val = argv[++i];
            else {
                usage_error("option '%s' needs a value", arg);
                return -1;
            }
        }
        if (!strcmp(key, "bench-cycles")) {
            a->bench_cycles = strtol(val, NULL, 10);
            if (a->bench_cycles <= 0) {
                usage_error("--bench-cycles needs a positive count, got '%s'", val);
                return -1;
            }
            continue;
        }
        if (!strcmp(key, "interval-ms")) {
            long v = strtol(val, NULL, 10);
            if (!getenv(TEST_ENV)) {
                usage_error("--interval-ms is for tests only (set " TEST_ENV "=1)%s", "");
                return -1;
            }
            if (v < 100) {
                usage_error("--interval-ms must be at least 100, got '%s'", val);
                return -1;
            }
            a->cfg.interval_ms = v;
            continue;
        }
        char where[300];
        snprintf(where, sizeof(where), "--%s", key);
        if (config_set(&a->cfg, key, val, where, err, sizeof(err))) {
            fprintf(stderr, "cordon-agent: %s\nTry 'cordon-agent --help'.\n", err);
            return -1;
        }
    }
    return 0;
}

/* ---- main ------------------------------------------------------------------ */

static int run_stdout(struct agent *a)
{
    long cycles = a->bench_cycles ? a->bench_cycles : (a->once ? 1 : -1);
    int64_t next = mono_ms();

    while (!stop_signal && cycles != 0) {
        int64_t now = mono_ms();
        if (now < next && !a->bench_cycles) {
            struct timespec ts = { (next - now) / 1000, ((next - now) % 1000) * 1000000 };
            nanosleep(&ts, NULL);
            continue;
        }
        agent_cycle(a);
        if (cycles > 0)
            cycles--;
        next = now + next_wait_ms(a);
    }
    if (a->bench_cycles) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        fprintf(stderr, "bench: cycles=%ld cpu_us=%lld max_rss_kib=%ld\n", a->bench_cycles,
                (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
                    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec,
                ru.ru_maxrss);
    }
    return 0;
}

static int run_mqtt(struct agent *a)
{
    char why[600];
    struct mqtt_events ev = { ev_ready, ev_acked, ev_reply };
    int64_t start = mono_ms(), next_collect, once_deadline = 0;
    int result;

    result = dir_make(a->cfg.state_dir, 0700);
    if (result) {
        log_error("cannot create state directory", "state_dir=%s error=\"%s\"", a->cfg.state_dir,
                  strerror(-result));
        return 1;
    }
    result = state_load(a->cfg.state_dir, &a->last_id);
    if (result) {
        log_error("cannot read the last report id", "state_dir=%s error=\"%s\"", a->cfg.state_dir,
                  strerror(-result));
        return 1;
    }
    if (a->cfg.spool_dir)
        snprintf(a->spool_dir, sizeof(a->spool_dir), "%s", a->cfg.spool_dir);
    else
        snprintf(a->spool_dir, sizeof(a->spool_dir), "%s/spool", a->cfg.state_dir);
    if (spool_open(&a->spool, a->spool_dir, (uint32_t)a->cfg.spool_max_reports,
                   a->cfg.spool_max_bytes, why, sizeof(why))) {
        log_error("cannot open the spool", "error=\"%s\"", why);
        return 1;
    }
    /* ids already spooled are "used" even if report_id was lost */
    if (a->spool.n && a->spool.v[a->spool.n - 1].id > a->last_id)
        a->last_id = a->spool.v[a->spool.n - 1].id;
    if (mqtt_init(&a->mqtt, &a->cfg, &ev, a, why, sizeof(why))) {
        log_error("cannot start MQTT", "error=\"%s\"", why);
        return 1;
    }
    log_info("started", "thing=%s host=%s interval_ms=%lld spooled=%u last_report_id=%" PRId64,
             a->cfg.thing, a->cfg.host, (long long)a->cfg.interval_ms, a->spool.n, a->last_id);
    a->sent_upto = -1;
    if (a->once) {
        next_collect = start;
        once_deadline = start + ONCE_TIMEOUT_MS;
    } else {
        int64_t j = a->cfg.interval_ms * a->cfg.jitter_pct / 100;
        next_collect = start + (j > 0 ? (int64_t)(random() % (j + 1)) : 0);
    }
    while (!stop_signal) {
        int64_t now = mono_ms(), wake;
        struct pollfd p = { .fd = -1 };
        int fd, timeout, pr;

        if (!a->once && now >= next_collect) {
            agent_cycle(a);
            next_collect = now + next_wait_ms(a);
        } else if (a->once && next_collect >= 0 && now >= next_collect) {
            agent_cycle(a);
            next_collect = -1;
            if (!a->once_id)
                break;
        }
        if (a->once && (a->once_done || now > once_deadline))
            break;
        wake = mqtt_tick(&a->mqtt, now);
        agent_pump(a, now);
        if (next_collect >= 0 && next_collect < wake)
            wake = next_collect;
        fd = mqtt_fd(&a->mqtt);
        if (fd >= 0) {
            p.fd = fd;
            p.events = POLLIN | (mqtt_want_write(&a->mqtt) ? POLLOUT : 0);
        }
        timeout = (int)(wake - now);
        if (timeout < 0)
            timeout = 0;
        if (timeout > 1000)
            timeout = 1000;
        pr = poll(&p, 1, timeout);
        if (pr < 0 && errno != EINTR) {
            log_error("poll failed", "error=\"%s\"", strerror(errno));
            break;
        }
        if (pr > 0)
            mqtt_io(&a->mqtt, p.revents & (POLLIN | POLLHUP | POLLERR), p.revents & POLLOUT,
                    mono_ms());
        agent_pump(a, mono_ms());
    }
    result = 0;
    if (a->once && !a->once_done) {
        log_error("report not acknowledged in time; it stays in the spool",
                  "report_id=%" PRId64 " timeout_ms=%d", a->once_id, ONCE_TIMEOUT_MS);
        result = 1;
    }
    if (stop_signal)
        log_info("stopping", "signal=%d spooled=%u", (int)stop_signal, a->spool.n);
    mqtt_close(&a->mqtt);
    mqtt_free(&a->mqtt);
    spool_close(&a->spool);
    return result;
}

int main(int argc, char **argv)
{
    static struct agent a; /* large: keep it off the stack */
    char err[1024];
    bool explicit;
    const char *cpath = config_path_of(argc, argv, &explicit), *vpath = NULL;
    int validate = 0, result;
    unsigned seed;
    struct sigaction sa;

    if (config_init(&a.cfg))
        return 1;
    /* --help and --version work without a config file */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") || !strcmp(argv[i], "--version") ||
            !strcmp(argv[i], "--validate")) {
            explicit = explicit && strcmp(argv[i], "--validate") != 0;
            if (strcmp(argv[i], "--validate") != 0)
                cpath = NULL;
        }
    if (cpath && load_config_file(&a.cfg, cpath, explicit))
        return 2;
    result = parse_args(&a, argc, argv, &validate, &vpath);
    if (result)
        return result > 0 ? 0 : 2;
    if (validate)
        return validate_main(vpath);
    if (a.bench_cycles)
        a.to_stdout = true;
    if (config_check(&a.cfg, !a.to_stdout, err, sizeof(err))) {
        fprintf(stderr, "cordon-agent: %s\n", err);
        return 2;
    }
    log_set_level(a.cfg.log_level);
    if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
        seed = (unsigned)(wall_ms() ^ getpid());
    srandom(seed);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (report_init(&a.report) || sample_init(&a.sample, &a.cfg)) {
        log_error("out of memory", NULL);
        return 1;
    }
    buf_init(&a.body, REPORT_MAX_BYTES);
    buf_init(&a.readbuf, REPORT_MAX_BYTES);
    result = a.to_stdout ? run_stdout(&a) : run_mqtt(&a);
    buf_free(&a.body);
    buf_free(&a.readbuf);
    sample_free(&a.sample);
    report_free(&a.report);
    config_free(&a.cfg);
    return result;
}
