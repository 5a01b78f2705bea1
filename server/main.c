/*
 * main.c — cordond: argument parsing, the module table, the loop and its
 * per-turn commit, signals, graceful shutdown.
 */
#include "auth/tokens.h"
#include "config.h"
#include "cordon.h"
#include "http.h"
#include "log.h"
#include "modules.h"
#include "mqtt.h"
#include "outbox.h"
#include "server.h"
#include "timers.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define HOUSEKEEPING_MS (10 * 60 * 1000)

/*
 * The module table: init in order, free in reverse. A module's init gets a
 * server whose store, loop, MQTT client, HTTP router, outbox and timers
 * exist. Integrators add one line here (see docs/cordond-internals.md).
 */
struct module {
    const char *name;
    int (*init)(struct server *s);
    void (*free)(struct server *s);
};

static const struct module modules[] = { { "outbox", outbox_init, outbox_free },
                                         { "timers", timers_init, timers_free },
                                         { "mqtt", mqtt_init, mqtt_free },
                                         { "http", http_init, http_free },
                                         { "tokens", tokens_init, tokens_free },
                                         { "api_core", api_core_init, NULL },
                                         CORDOND_MODULES };
#define MODULES_COUNT (sizeof(modules) / sizeof(modules[0]))

const char *const stats_reject_codes[STATS_REJECT_CODES] = {
    "InvalidPayload", "MissingRequiredField", "InvalidField",        "DuplicateReportId",
    "Throttled",      "ThingNameInvalid",     "UnknownCustomMetric", "Other",
};

int stats_reject_index(const char *code)
{
    for (int i = 0; i < STATS_REJECT_CODES - 1; i++)
        if (strcmp(code, stats_reject_codes[i]) == 0)
            return i;
    return STATS_REJECT_CODES - 1;
}

static int hook_add(struct server_hook **list, void (*fn)(struct server *, void *), void *arg)
{
    struct server_hook *h = calloc(1, sizeof(*h)), **tail = list;
    if (!h)
        return CORDON_ENOMEM;
    h->fn = fn;
    h->arg = arg;
    while (*tail)
        tail = &(*tail)->next;
    *tail = h;
    return 0;
}

int server_after_commit(struct server *s, void (*fn)(struct server *, void *), void *arg)
{
    return hook_add(&s->after_commit, fn, arg);
}

int server_on_reload(struct server *s, void (*fn)(struct server *, void *), void *arg)
{
    return hook_add(&s->on_reload, fn, arg);
}

int server_commit(struct server *s)
{
    int rc;
    if (!store_in_txn(s->store))
        return 0;
    rc = store_commit(s->store);
    if (rc) {
        s->stats.commit_failures++;
        log_error("store commit failed; the turn's writes are lost", "error=\"%s\"",
                  store_errmsg(s->store));
        return rc;
    }
    s->stats.commits++;
    return 0;
}

/* End of a turn (uv_check after I/O, uv_prepare before blocking): commit, then send. */
static void turn_end(struct server *s)
{
    server_commit(s);
    for (struct server_hook *h = s->after_commit; h; h = h->next)
        h->fn(s, h->arg);
    /* senders may have written (outbox marks): commit those too */
    server_commit(s);
    mqtt_flush(s);
}

static void on_check(uv_check_t *h)
{
    turn_end(h->data);
}

static void on_prepare(uv_prepare_t *h)
{
    turn_end(h->data);
}

void server_stop(struct server *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    uv_stop(s->loop);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct server *s = h->data;
    if (signum == SIGHUP) {
        struct config c;
        char err[1024];
        if (!s->cfg.path[0]) {
            log_info("SIGHUP: reloading profiles (no config file)", "%s", "");
        } else {
            config_defaults(&c);
            if (config_load(&c, s->cfg.path, err, sizeof(err))) {
                log_error("SIGHUP: config not reloaded", "error=\"%s\"", err);
                return;
            }
            /* settings that can change at run time; the rest needs a restart */
            s->cfg.log_level = c.log_level;
            s->cfg.throttle_ms = c.throttle_ms;
            s->cfg.report_max_bytes = c.report_max_bytes;
            s->cfg.retention_ms = c.retention_ms;
            s->cfg.auto_create_things = c.auto_create_things;
            snprintf(s->cfg.console_url, sizeof(s->cfg.console_url), "%s", c.console_url);
            log_set_level(c.log_level);
            log_info("SIGHUP: config reloaded", "path=%s", s->cfg.path);
        }
        for (struct server_hook *hk = s->on_reload; hk; hk = hk->next)
            hk->fn(s, hk->arg);
        return;
    }
    log_info("stopping", "signal=%d", signum);
    server_stop(s);
}

static void on_housekeeping(uv_timer_t *t)
{
    struct server *s = t->data;
    int64_t n = 0;
    if (s->cfg.retention_ms > 0 &&
        store_datapoints_prune(s->store, server_now(s) - s->cfg.retention_ms, &n) == 0 && n > 0)
        log_info("datapoints pruned", "count=%lld", (long long)n);
}

/* The WAL checkpoint (fsync) runs on libuv's thread pool: it touches only the file. */
static void maintain_work(uv_work_t *w)
{
    struct server *s = w->data;
    store_maintain(s->cfg.db_path);
}

static void maintain_done(uv_work_t *w, int status)
{
    struct server *s = w->data;
    (void)status;
    s->maintain_busy = false;
}

static void on_maintain(uv_timer_t *t)
{
    struct server *s = t->data;
    if (s->maintain_busy || s->stopping)
        return;
    s->maintain_busy = true;
    s->maintain_work.data = s;
    if (uv_queue_work(s->loop, &s->maintain_work, maintain_work, maintain_done))
        s->maintain_busy = false;
}

/* mkdir -p for the directory part of path (or path itself when is_dir). */
static int mkdirs(const char *path, int is_dir)
{
    char tmp[CONFIG_STR_MAX];
    char *p;
    snprintf(tmp, sizeof(tmp), "%s", path);
    if (!is_dir) {
        p = strrchr(tmp, '/');
        if (!p)
            return 0;
        *p = 0;
    }
    for (p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0750) && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (tmp[0] && mkdir(tmp, 0750) && errno != EEXIST)
        return -1;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: cordond [--config FILE] [--check-config] [--version] [--help]\n"
               "  --config FILE    YAML configuration (default: embedded defaults;\n"
               "                   SQLite at ./var/cordon.db, broker 127.0.0.1:1883,\n"
               "                   API on 127.0.0.1:8080). See docs/cordond.md.\n"
               "  --check-config   validate the configuration and exit (0 valid, 2 invalid)\n"
               "  --version        print the version and exit\n"
               "Signals: SIGTERM/SIGINT stop gracefully, SIGHUP reloads config and profiles.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "check-config", no_argument, NULL, 'k' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct server *s;
    const char *config_path = NULL;
    int check_only = 0, opt, rc = 1;
    size_t inited = 0;
    char err[1024];
    struct timeval tv;

    while ((opt = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'k':
            check_only = 1;
            break;
        case 'V':
            printf("cordond %s\n", CORDON_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "cordond: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }

    s = calloc(1, sizeof(*s));
    if (!s)
        return 1;
    config_defaults(&s->cfg);
    if (config_path && config_load(&s->cfg, config_path, err, sizeof(err))) {
        fprintf(stderr, "cordond: %s\n", err);
        free(s);
        return 2;
    }
    if (check_only) {
        printf("cordond: configuration ok%s%s\n", config_path ? ": " : " (defaults)",
               config_path ? config_path : "");
        free(s);
        return 0;
    }
    log_set_level(s->cfg.log_level);

    s->loop = uv_default_loop();
    uv_update_time(s->loop);
    gettimeofday(&tv, NULL);
    s->epoch_base = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000 - (int64_t)uv_now(s->loop);
    signal(SIGPIPE, SIG_IGN);
    /* keep freed memory: per-report allocations (libmosquitto packets, SQLite pages)
     * otherwise trim and re-grow the heap, a page fault storm on the hot path */
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    mallopt(M_TOP_PAD, 16 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);

    if (mkdirs(s->cfg.data_dir, 1) || mkdirs(s->cfg.db_path, 0)) {
        log_error("cannot create directories", "data_dir=%s db=%s error=\"%s\"", s->cfg.data_dir,
                  s->cfg.db_path, strerror(errno));
        goto out;
    }
    if (store_open(&s->store, s->cfg.db_path, err, sizeof(err))) {
        log_error("cannot open the store", "error=\"%s\"", err);
        goto out;
    }
    log_info("store open", "path=%s schema_version=%d", s->cfg.db_path,
             store_schema_version(s->store));

    uv_prepare_init(s->loop, &s->prepare);
    s->prepare.data = s;
    uv_prepare_start(&s->prepare, on_prepare);
    uv_check_init(s->loop, &s->check);
    s->check.data = s;
    uv_check_start(&s->check, on_check);

    for (inited = 0; inited < MODULES_COUNT; inited++) {
        if (modules[inited].init(s)) {
            log_error("module failed to start", "module=%s", modules[inited].name);
            goto stop;
        }
        server_commit(s);
    }

    uv_signal_init(s->loop, &s->sig_term);
    uv_signal_init(s->loop, &s->sig_int);
    uv_signal_init(s->loop, &s->sig_hup);
    s->sig_term.data = s->sig_int.data = s->sig_hup.data = s;
    uv_signal_start(&s->sig_term, on_signal, SIGTERM);
    uv_signal_start(&s->sig_int, on_signal, SIGINT);
    uv_signal_start(&s->sig_hup, on_signal, SIGHUP);
    uv_timer_init(s->loop, &s->housekeeping);
    s->housekeeping.data = s;
    uv_timer_start(&s->housekeeping, on_housekeeping, 5000, HOUSEKEEPING_MS);
    uv_timer_init(s->loop, &s->maintain);
    s->maintain.data = s;
    uv_timer_start(&s->maintain, on_maintain, 1000, 1000);

    log_info("cordond started", "version=%s pid=%d", CORDON_VERSION, (int)getpid());
    uv_run(s->loop, UV_RUN_DEFAULT);
    rc = 0;
    uv_close((uv_handle_t *)&s->sig_term, NULL);
    uv_close((uv_handle_t *)&s->sig_int, NULL);
    uv_close((uv_handle_t *)&s->sig_hup, NULL);
    uv_close((uv_handle_t *)&s->housekeeping, NULL);
    uv_close((uv_handle_t *)&s->maintain, NULL);

stop:
    /* finish the turn in flight, then stop modules in reverse order */
    turn_end(s);
    while (inited > 0) {
        inited--;
        if (modules[inited].free)
            modules[inited].free(s);
    }
    server_commit(s);
    uv_close((uv_handle_t *)&s->prepare, NULL);
    uv_close((uv_handle_t *)&s->check, NULL);
    uv_run(s->loop, UV_RUN_DEFAULT); /* run close callbacks */
    uv_loop_close(s->loop);
out:
    store_close(s->store);
    for (struct server_hook *n, *h = s->after_commit; h; h = n) {
        n = h->next;
        free(h);
    }
    for (struct server_hook *n, *h = s->on_reload; h; h = n) {
        n = h->next;
        free(h);
    }
    free(s);
    if (rc == 0)
        log_info("cordond stopped", "%s", "");
    return rc;
}
