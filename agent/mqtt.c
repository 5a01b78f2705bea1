/*
 * mqtt.c — MQTT session on libmosquitto, driven by the agent loop. See mqtt.h.
 */
#include "mqtt.h"

#include "log.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mqtt_teardown(struct mqtt *q, int64_t now_ms, const char *why, const char *detail);

static int read_password_file(const char *path, char **out, char *why, size_t whylen)
{
    char line[1024];
    FILE *f = fopen(path, "re");
    size_t n;

    if (!f) {
        snprintf(why, whylen, "cannot read password_file %s: %s", path, strerror(errno));
        return -1;
    }
    if (!fgets(line, sizeof(line), f))
        line[0] = '\0';
    fclose(f);
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    *out = strdup(line);
    memset(line, 0, sizeof(line));
    return *out ? 0 : -1;
}

int mqtt_init(struct mqtt *q, const struct agent_config *cfg, const struct mqtt_events *ev,
              void *ctx, char *why, size_t whylen)
{
    memset(q, 0, sizeof(*q));
    q->cfg = cfg;
    q->ev = *ev;
    q->ctx = ctx;
    q->version = cfg->mqtt_version;
    q->state = MQTT_IDLE;
    snprintf(q->topic, sizeof(q->topic), "$aws/things/%s/defender/metrics/json", cfg->thing);
    snprintf(q->topic_acc, sizeof(q->topic_acc), "%s/accepted", q->topic);
    snprintf(q->topic_rej, sizeof(q->topic_rej), "%s/rejected", q->topic);
    if (cfg->password_file && read_password_file(cfg->password_file, &q->password, why, whylen))
        return -1;
    if (cfg->password && !(q->password = strdup(cfg->password))) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    mosquitto_lib_init();
    return 0;
}

static void mqtt_destroy_client(struct mqtt *q)
{
    if (q->m) {
        mosquitto_destroy(q->m);
        q->m = NULL;
    }
    q->ninflight = 0;
    q->state = MQTT_IDLE;
    q->dead = false;
}

void mqtt_free(struct mqtt *q)
{
    mqtt_destroy_client(q);
    if (q->password) {
        memset(q->password, 0, strlen(q->password));
        free(q->password);
    }
    q->password = NULL;
    mosquitto_lib_cleanup();
}

/* ---- libmosquitto callbacks (run inside mosquitto_loop_*) --------------- */

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    struct mqtt *q = obj;
    char *subs[2] = { q->topic_acc, q->topic_rej };
    int res;

    (void)flags;
    (void)props;
    if (rc != 0) {
        if (q->version == 5 && (rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION ||
                                rc == CONNACK_REFUSED_PROTOCOL_VERSION)) {
            log_info("broker refused MQTT 5; retrying with MQTT 3.1.1", "host=%s port=%d",
                     q->cfg->host, q->cfg->port);
            q->version = 311;
            q->retry_now = true;
        } else {
            log_error("broker refused the connection", "reason=\"%s\" code=%d",
                      q->version == 5 ? mosquitto_reason_string(rc) : mosquitto_connack_string(rc),
                      rc);
        }
        q->dead = true;
        return;
    }
    log_info("connected", "host=%s port=%d protocol=%s", q->cfg->host, q->cfg->port,
             q->version == 5 ? "5" : "3.1.1");
    res = mosquitto_subscribe_multiple(m, &q->sub_mid, 2, subs, 1, 0, NULL);
    if (res != MOSQ_ERR_SUCCESS) {
        log_warn("cannot subscribe to replies", "error=\"%s\"", mosquitto_strerror(res));
        q->dead = true;
        return;
    }
    q->state = MQTT_SUBSCRIBING;
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int count, const int *granted,
                         const mosquitto_property *props)
{
    struct mqtt *q = obj;

    (void)m;
    (void)props;
    if (mid != q->sub_mid || q->state != MQTT_SUBSCRIBING)
        return;
    for (int i = 0; i < count; i++)
        if (granted[i] >= 0x80)
            log_warn("broker refused the reply subscription; rejections will not be seen",
                     "topic=%s code=%d", i == 0 ? q->topic_acc : q->topic_rej, granted[i]);
    q->state = MQTT_READY;
    q->failures = 0;
    if (q->ev.ready)
        q->ev.ready(q->ctx);
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
    struct mqtt *q = obj;

    (void)m;
    (void)props;
    for (int i = 0; i < q->ninflight; i++)
        if (q->inflight[i].mid == mid) {
            int64_t id = q->inflight[i].id;
            q->inflight[i] = q->inflight[--q->ninflight];
            if (q->ev.acked)
                q->ev.acked(q->ctx, id, reason);
            return;
        }
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    struct mqtt *q = obj;

    (void)m;
    (void)props;
    if (!msg->topic || !q->ev.reply)
        return;
    if (strcmp(msg->topic, q->topic_acc) == 0)
        q->ev.reply(q->ctx, true, msg->payload, (size_t)msg->payloadlen);
    else if (strcmp(msg->topic, q->topic_rej) == 0)
        q->ev.reply(q->ctx, false, msg->payload, (size_t)msg->payloadlen);
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc, const mosquitto_property *props)
{
    struct mqtt *q = obj;
    (void)m;
    (void)props;
    (void)rc;
    q->dead = true;
}

/* ---- connection management --------------------------------------------- */

static int mqtt_port(const struct mqtt *q)
{
    if (q->cfg->port)
        return q->cfg->port;
    return q->cfg->cafile || q->cfg->capath ? 8883 : 1883;
}

/* Next delay: reconnect_min doubling per failure up to reconnect_max, then a
 * random point in its upper half (so a fleet does not reconnect in step). */
static int64_t backoff_ms(struct mqtt *q)
{
    int64_t d = (int64_t)q->cfg->reconnect_min_s * 1000;
    int64_t max = (int64_t)q->cfg->reconnect_max_s * 1000;

    for (int i = 1; i < q->failures && d < max; i++)
        d *= 2;
    if (d > max)
        d = max;
    return d / 2 + (int64_t)(random() % (d / 2 + 1));
}

static void mqtt_teardown(struct mqtt *q, int64_t now_ms, const char *why, const char *detail)
{
    bool was_up = q->state == MQTT_READY || q->state == MQTT_SUBSCRIBING;
    int64_t delay;

    mqtt_destroy_client(q);
    if (q->retry_now) {
        q->retry_now = false;
        q->next_attempt_ms = now_ms;
        return;
    }
    q->failures++;
    delay = backoff_ms(q);
    q->next_attempt_ms = now_ms + delay;
    if (was_up)
        log_warn("connection lost", "reason=\"%s\" detail=\"%s\" retry_in_ms=%lld", why,
                 detail ? detail : "", (long long)delay);
    else
        log_warn("cannot connect", "host=%s port=%d reason=\"%s\" detail=\"%s\" retry_in_ms=%lld",
                 q->cfg->host, mqtt_port(q), why, detail ? detail : "", (long long)delay);
}

static void mqtt_start(struct mqtt *q, int64_t now_ms)
{
    const struct agent_config *c = q->cfg;
    int rc;

    q->m = mosquitto_new(c->thing, true, q);
    if (!q->m) {
        mqtt_teardown(q, now_ms, "cannot create client", strerror(errno));
        return;
    }
    mosquitto_int_option(q->m, MOSQ_OPT_PROTOCOL_VERSION,
                         q->version == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_connect_v5_callback_set(q->m, on_connect);
    mosquitto_subscribe_v5_callback_set(q->m, on_subscribe);
    mosquitto_publish_v5_callback_set(q->m, on_publish);
    mosquitto_message_v5_callback_set(q->m, on_message);
    mosquitto_disconnect_v5_callback_set(q->m, on_disconnect);
    if (c->cafile || c->capath) {
        rc = mosquitto_tls_set(q->m, c->cafile, c->capath, c->certfile, c->keyfile, NULL);
        if (rc == MOSQ_ERR_SUCCESS)
            rc = mosquitto_tls_opts_set(q->m, 1 /* SSL_VERIFY_PEER */, NULL, NULL);
        if (rc != MOSQ_ERR_SUCCESS) {
            mqtt_teardown(q, now_ms, "TLS setup failed (check cafile, certfile, keyfile)",
                          mosquitto_strerror(rc));
            return;
        }
    }
    if (c->username || q->password) {
        rc = mosquitto_username_pw_set(q->m, c->username ? c->username : c->thing, q->password);
        if (rc != MOSQ_ERR_SUCCESS) {
            mqtt_teardown(q, now_ms, "bad credentials", mosquitto_strerror(rc));
            return;
        }
    }
    q->state = MQTT_CONNECTING;
    q->started_ms = now_ms;
    rc = mosquitto_connect_async(q->m, c->host, mqtt_port(q), c->keepalive);
    if (rc != MOSQ_ERR_SUCCESS) {
        mqtt_teardown(q, now_ms, "connect failed",
                      rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        return;
    }
}

/* After any libmosquitto call: tear down when it reported the end. */
static void mqtt_check(struct mqtt *q, int rc, int64_t now_ms)
{
    if (!q->m)
        return;
    if (rc != MOSQ_ERR_SUCCESS && !q->dead)
        q->dead = true;
    if (q->dead || mosquitto_socket(q->m) < 0)
        mqtt_teardown(q, now_ms,
                      rc == MOSQ_ERR_SUCCESS
                          ? "closed"
                          : (rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc)),
                      NULL);
}

int64_t mqtt_tick(struct mqtt *q, int64_t now_ms)
{
    if (q->state == MQTT_IDLE) {
        if (now_ms >= q->next_attempt_ms)
            mqtt_start(q, now_ms);
        if (q->state == MQTT_IDLE)
            return q->next_attempt_ms;
    }
    if (q->state == MQTT_CONNECTING && now_ms - q->started_ms > MQTT_CONNECT_TIMEOUT_MS) {
        mqtt_teardown(q, now_ms, "timed out waiting for CONNACK", NULL);
        return q->next_attempt_ms;
    }
    mqtt_check(q, mosquitto_loop_misc(q->m), now_ms);
    if (q->state == MQTT_IDLE)
        return q->next_attempt_ms;
    return now_ms + 1000;
}

int mqtt_fd(const struct mqtt *q)
{
    return q->m ? mosquitto_socket(q->m) : -1;
}

bool mqtt_want_write(const struct mqtt *q)
{
    return q->m && mosquitto_want_write(q->m);
}

void mqtt_io(struct mqtt *q, bool readable, bool writable, int64_t now_ms)
{
    if (q->m && readable)
        mqtt_check(q, mosquitto_loop_read(q->m, 1), now_ms);
    if (q->m && (writable || mosquitto_want_write(q->m)))
        mqtt_check(q, mosquitto_loop_write(q->m, 1), now_ms);
}

bool mqtt_ready(const struct mqtt *q)
{
    return q->state == MQTT_READY;
}

bool mqtt_can_publish(const struct mqtt *q)
{
    return q->state == MQTT_READY && q->ninflight < MQTT_INFLIGHT_MAX;
}

int mqtt_publish(struct mqtt *q, int64_t report_id, const char *body, size_t len, int64_t now_ms)
{
    int mid = 0, rc;

    if (!mqtt_can_publish(q))
        return -1;
    rc = mosquitto_publish_v5(q->m, &mid, q->topic, (int)len, body, 1, false, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        mqtt_teardown(q, now_ms, "publish failed", mosquitto_strerror(rc));
        return -1;
    }
    q->inflight[q->ninflight].mid = mid;
    q->inflight[q->ninflight].id = report_id;
    q->ninflight++;
    return 0;
}

void mqtt_close(struct mqtt *q)
{
    if (q->m && q->state != MQTT_IDLE) {
        mosquitto_disconnect_v5(q->m, 0, NULL);
        mosquitto_loop_write(q->m, 1);
    }
    mqtt_destroy_client(q);
}

const char *mqtt_reason_string(int reason)
{
    return mosquitto_reason_string(reason);
}
