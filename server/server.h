/*
 * server.h — the state of one cordond process and the plug-in points every
 * module uses. One libuv loop on one thread owns all of it: no locks.
 *
 * How a module plugs in (docs/cordond-internals.md has the long form):
 *   - add `{ "name", name_init, name_free }` to the module table in main.c;
 *     name_init(s) runs after the store, MQTT, HTTP and outbox exist;
 *   - register HTTP routes with http_route() (http.h), MQTT subscriptions
 *     with mqtt_subscribe() (mqtt.h), outbox kinds with outbox_kind()
 *     (outbox.h), timer kinds with timers_kind() (timers.h), violation
 *     listeners with violations_listen() (violations.h);
 *   - write to the store freely inside a callback: the writes join the
 *     turn's transaction, committed once per loop turn; effects that leave
 *     the process go through outbox_add() in that same transaction.
 */
#ifndef CORDOND_SERVER_H
#define CORDOND_SERVER_H

#include "config.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

/* Counters exposed on /metrics (metrics_prom.c). */
#define STATS_REJECT_CODES 8
#define STATS_LAT_BUCKETS  12
struct stats {
    uint64_t reports_accepted;
    uint64_t reports_rejected[STATS_REJECT_CODES]; /* index: stats_reject_index() */
    uint64_t unknown_keys;
    uint64_t cloud_metrics;
    uint64_t eval_count;
    double eval_sum_s;
    uint64_t eval_buckets[STATS_LAT_BUCKETS]; /* cumulative at render time */
    uint64_t violation_events[3];             /* in-alarm, alarm-cleared, alarm-invalidated */
    uint64_t alerts_sent;
    uint64_t commits;
    uint64_t commit_failures;
    uint64_t http_requests;
};

struct server_hook {
    void (*fn)(struct server *s, void *arg);
    void *arg;
    struct server_hook *next;
};

struct server {
    uv_loop_t *loop;
    struct config cfg;
    struct store *store;
    int64_t now_ms;     /* scratch for modules; use server_now() */
    int64_t epoch_base; /* wall clock minus uv_now() at start */
    bool stopping;

    struct mqtt *mqtt;
    struct http *http;
    struct webclient *web;
    struct outbox *outbox;
    struct timers *timers;
    struct registry *registry;
    struct ingest *ingest;
    struct violations *violations;
    struct mitigation *mitigation;
    struct profiles *profiles;
    struct tokens *tokens;
    struct ca *ca;
    struct broker *broker;
    struct detection *detection;

    struct stats stats;
    struct server_hook *after_commit; /* run after each turn's commit */
    struct server_hook *on_reload;    /* run on SIGHUP */

    uv_prepare_t prepare;
    uv_check_t check;
    uv_timer_t housekeeping;
    uv_timer_t maintain; /* store_maintain on a worker thread, every second */
    uv_work_t maintain_work;
    bool maintain_busy;
    uv_signal_t sig_term, sig_int, sig_hup;
};

/*
 * Epoch ms of the current loop turn (the `now_ms` handed to lib/): libuv
 * caches its clock once per turn, so this costs no system call and is the
 * same for every callback of a turn.
 */
static inline int64_t server_now(const struct server *s)
{
    return s->epoch_base + (int64_t)uv_now(s->loop);
}

/*
 * Run fn(s, arg) after every turn's commit (and after a turn with nothing to
 * commit), in registration order. Used to send what the committed state
 * allows: report replies, outbox rows. Returns 0 or CORDON_ENOMEM.
 */
int server_after_commit(struct server *s, void (*fn)(struct server *s, void *arg), void *arg);

/*
 * Commit the turn's transaction now (normally done by the loop hooks).
 * On failure the turn's writes are rolled back and logged; returns the error.
 */
int server_commit(struct server *s);

/* Ask the loop to stop gracefully (SIGTERM path). */
void server_stop(struct server *s);

/* Run fn(s, arg) on SIGHUP after the configuration was reloaded (profiles…). */
int server_on_reload(struct server *s, void (*fn)(struct server *s, void *arg), void *arg);

/* Reject codes counted in stats.reports_rejected. */
int stats_reject_index(const char *code);
extern const char *const stats_reject_codes[STATS_REJECT_CODES];

#endif
