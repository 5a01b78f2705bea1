/*
 * ingest.c — the hot path. One decoded-report buffer reused for every
 * report, prepared statements, one commit per loop turn, replies batched
 * into one arena and published after the commit.
 */
#include "ingest.h"

#include "control.h"
#include "cordon.h"
#include "detection.h"
#include "log.h"
#include "mqtt.h"
#include "registry.h"
#include "report.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define TOPIC_PREFIX "$aws/things/"
#define TOPIC_SUFFIX "/defender/metrics/json"

struct reply {
    size_t topic_off, topic_len, body_off, body_len;
};

struct ingest {
    struct report report;
    struct buf arena; /* reply topics and bodies of this turn */
    struct reply *replies;
    size_t nreplies;
    struct buf cloud; /* cloud datapoint JSON */
};

static struct ingest *I(struct server *s)
{
    return s->ingest;
}

static void flush_replies(struct server *s, void *arg)
{
    struct ingest *in = I(s);
    (void)arg;
    if (in->nreplies == 0)
        return;
    if (in->nreplies > 1)
        mqtt_cork(s, true);
    for (size_t i = 0; i < in->nreplies; i++) {
        struct reply *r = &in->replies[i];
        /* the topic is NUL-terminated in the arena */
        mqtt_publish(s, in->arena.ptr + r->topic_off, in->arena.ptr + r->body_off, r->body_len, 0,
                     NULL);
    }
    if (in->nreplies > 1)
        mqtt_cork(s, false);
    in->nreplies = 0;
    buf_reset(&in->arena);
}

/* Queue the reply; code NULL = accepted. */
static void reply(struct server *s, const char *topic, size_t topic_len, const char *thing,
                  size_t thing_len, int64_t report_id, const char *code, const char *message)
{
    struct ingest *in = I(s);
    struct reply *r;
    struct buf *a = &in->arena;

    if (in->nreplies >= INGEST_REPLIES_MAX) {
        /* a huge turn: commit what we have so the replies can go */
        server_commit(s);
        flush_replies(s, NULL);
    }
    r = &in->replies[in->nreplies];
    r->topic_off = a->len;
    buf_add(a, topic, topic_len);
    buf_adds(a, code ? "/rejected" : "/accepted");
    r->topic_len = a->len - r->topic_off;
    buf_addc(a, 0);
    r->body_off = a->len;
    buf_adds(a, "{\"thingName\":");
    buf_add_json_string(a, thing, thing_len);
    if (report_id >= 0)
        buf_printf(a, ",\"reportId\":%lld", (long long)report_id);
    buf_printf(a, ",\"status\":\"%s\",\"timestamp\":%lld", code ? "REJECTED" : "ACCEPTED",
               (long long)server_now(s));
    if (code) {
        buf_printf(a, ",\"statusDetails\":{\"ErrorCode\":\"%s\",\"ErrorMessage\":", code);
        buf_add_json_string(a, message, strlen(message));
        buf_addc(a, '}');
    }
    buf_addc(a, '}');
    r->body_len = a->len - r->body_off;
    in->nreplies++;
}

static void reject(struct server *s, const char *topic, size_t topic_len, const char *thing,
                   size_t thing_len, int64_t report_id, const char *code, const char *message)
{
    s->stats.reports_rejected[stats_reject_index(code)]++;
    log_debug("report rejected", "code=%s", code);
    reply(s, topic, topic_len, thing, thing_len, report_id, code, message);
}

/* The report id when the header can be found cheaply, for rejection replies. */
static int64_t guess_report_id(const struct report *r, int decoded)
{
    return decoded ? r->report_id : -1;
}

static void on_report(struct server *s, void *arg, const char *topic, const void *payload,
                      size_t len)
{
    struct ingest *in = I(s);
    size_t topic_len = strlen(topic);
    const char *thing = topic + sizeof(TOPIC_PREFIX) - 1;
    size_t thing_len;
    char name[THING_NAME_MAX + 1];
    struct report_decode_opts opts = { 0 };
    struct cordon_diag diag;
    struct reg_thing *t;
    struct store_datapoint dp;
    int64_t now = server_now(s);
    int rc;
    (void)arg;

    if (topic_len < sizeof(TOPIC_PREFIX) - 1 + sizeof(TOPIC_SUFFIX) - 1 + 1)
        return;
    thing_len = topic_len - (sizeof(TOPIC_PREFIX) - 1) - (sizeof(TOPIC_SUFFIX) - 1);
    if (report_thing_name_check(thing, thing_len) || thing_len > THING_NAME_MAX) {
        reject(s, topic, topic_len, thing, thing_len, -1, REPORT_E_THING_NAME,
               "thingName: 1..128 bytes, no control characters, no + # /");
        return;
    }
    memcpy(name, thing, thing_len);
    name[thing_len] = 0;
    if (len > s->cfg.report_max_bytes) {
        char msg[96];
        snprintf(msg, sizeof(msg), "payload: %zu bytes is over the %zu-byte cap", len,
                 s->cfg.report_max_bytes);
        reject(s, topic, topic_len, name, thing_len, -1, REPORT_E_INVALID_PAYLOAD, msg);
        return;
    }
    if (detection_catalog(s)->ncustom > 0) {
        opts.custom_lookup = metric_custom_lookup;
        opts.ctx = (void *)detection_catalog(s);
    }
    opts.max_bytes = s->cfg.report_max_bytes;
    rc = report_decode(&in->report, payload, len, &opts, &diag);
    if (rc) {
        reject(s, topic, topic_len, name, thing_len, -1,
               diag.code[0] ? diag.code : REPORT_E_INVALID_PAYLOAD, diag.message);
        return;
    }
    s->stats.unknown_keys += in->report.unknown_keys;
    t = registry_thing(s, name);
    if (!t) {
        rc = registry_thing_create(s, name, NULL, s->cfg.auto_create_things, &t);
        if (rc) {
            log_error("thing not created", "thing=%s error=%s", name, cordon_strerror(rc));
            return; /* no reply: the device retries */
        }
    }
    if (in->report.report_id <= t->last_report_id) {
        char msg[160];
        snprintf(msg, sizeof(msg), "header.report_id: %lld is not above the last accepted %lld",
                 (long long)in->report.report_id, (long long)t->last_report_id);
        reject(s, topic, topic_len, name, thing_len, guess_report_id(&in->report, 1),
               REPORT_E_DUPLICATE_ID, msg);
        return;
    }
    if (t->last_report_at && now - t->last_report_at < s->cfg.throttle_ms) {
        char msg[160];
        snprintf(msg, sizeof(msg), "report %lld ms after the previous one; the floor is %lld ms",
                 (long long)(now - t->last_report_at), (long long)s->cfg.throttle_ms);
        reject(s, topic, topic_len, name, thing_len, in->report.report_id, REPORT_E_THROTTLED, msg);
        return;
    }

    /* accepted: state, datapoint, detection, all in this turn's transaction */
    rc = registry_thing_report(s, t, in->report.report_id, now);
    dp.thing = name;
    dp.at = now;
    dp.kind = STORE_DP_REPORT;
    dp.report_id = in->report.report_id;
    dp.body = payload;
    dp.body_len = len;
    if (!rc)
        rc = store_datapoint_add(s->store, &dp);
    if (rc) {
        log_error("report not stored", "thing=%s error=\"%s\"", name, store_errmsg(s->store));
        return;
    }
    detection_eval_report(s, t, &in->report);
    s->stats.reports_accepted++;
    reply(s, topic, topic_len, name, thing_len, in->report.report_id, NULL, NULL);
}

/* ---- cloud-side metrics from the plugin ----------------------------------------- */

static void on_cloud_metrics(struct server *s, void *arg, const char *topic, const void *payload,
                             size_t len)
{
    struct ingest *in = I(s);
    struct control_metrics m = { 0 };
    struct cordon_diag diag;
    (void)arg;
    (void)topic;
    if (control_metrics_decode(&m, payload, len, &diag)) {
        log_warn("bad cloud metrics message", "error=\"%s\"", diag.message);
        control_metrics_free(&m);
        return;
    }
    for (size_t i = 0; i < m.n; i++) {
        const struct control_thing_metrics *c = &m.v[i];
        struct reg_thing *t = registry_thing(s, c->thing);
        struct store_datapoint dp;
        if (!t && registry_thing_create(s, c->thing, NULL, false, &t))
            continue;
        buf_reset(&in->cloud);
        buf_printf(&in->cloud,
                   "{\"aws:num-connection-attempts\":%llu,\"aws:num-authorization-failures\":%llu,"
                   "\"aws:num-messages-sent\":%llu,\"aws:message-byte-size\":%llu,"
                   "\"aws:num-messages-received\":%llu,\"aws:num-disconnects\":%llu,"
                   "\"cordon:num-authentication-failures\":%llu,\"cordon:bytes-sent\":%llu,"
                   "\"cordon:bytes-received\":%llu,\"aws:source-ip-address\":",
                   (unsigned long long)c->connection_attempts,
                   (unsigned long long)c->authorization_failures,
                   (unsigned long long)c->messages_sent, (unsigned long long)c->max_message_bytes,
                   (unsigned long long)c->messages_received, (unsigned long long)c->disconnects,
                   (unsigned long long)c->authentication_failures,
                   (unsigned long long)c->bytes_sent, (unsigned long long)c->bytes_received);
        buf_add_json_string(&in->cloud, c->source_ip, strlen(c->source_ip));
        buf_addc(&in->cloud, '}');
        dp.thing = c->thing;
        dp.at = server_now(s);
        dp.kind = STORE_DP_CLOUD;
        dp.report_id = m.timestamp_ms;
        dp.body = in->cloud.ptr;
        dp.body_len = in->cloud.len;
        if (t->registered)
            store_datapoint_add(s->store, &dp);
        detection_eval_cloud(s, t, c);
        s->stats.cloud_metrics++;
    }
    control_metrics_free(&m);
}

int ingest_init(struct server *s)
{
    struct ingest *in = calloc(1, sizeof(*in));
    int rc;
    if (!in)
        return CORDON_ENOMEM;
    s->ingest = in;
    rc = report_init(&in->report);
    if (rc)
        return rc;
    in->replies = calloc(INGEST_REPLIES_MAX, sizeof(*in->replies));
    if (!in->replies)
        return CORDON_ENOMEM;
    buf_init(&in->arena, (size_t)INGEST_REPLIES_MAX * 1024);
    buf_init(&in->cloud, 64 * 1024);
    rc = server_after_commit(s, flush_replies, NULL);
    if (!rc)
        /* QoS 0: no PUBACK per report; a device that gets no reply retries
         * (spec R12), and a clean session loses queued messages anyway */
        rc = mqtt_subscribe(s, INGEST_TOPIC_FILTER, 0, on_report, NULL);
    if (!rc)
        rc = mqtt_subscribe(s, CONTROL_METRICS_TOPIC, 1, on_cloud_metrics, NULL);
    return rc;
}

void ingest_free(struct server *s)
{
    struct ingest *in = I(s);
    if (!in)
        return;
    report_free(&in->report);
    free(in->replies);
    buf_free(&in->arena);
    buf_free(&in->cloud);
    free(in);
    s->ingest = NULL;
}
