/*
 * mqtt.h — the agent's MQTT session, driven from the agent's own poll loop
 * (no libmosquitto thread): connect with backoff and jitter, MQTT 5 with a
 * 3.1.1 fallback, TLS or username/password, subscription to the reply
 * topics before any publish, QoS 1 publishes matched to their PUBACK.
 *
 * A new libmosquitto client is made for every connection attempt, so
 * nothing survives a disconnect in libmosquitto's memory: the spool is the
 * only queue.
 *
 * Ownership: mqtt_init / mqtt_free; the config is borrowed.
 */
#ifndef CORDON_AGENT_MQTT_H
#define CORDON_AGENT_MQTT_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MQTT_INFLIGHT_MAX       8 /* reports published and not yet acknowledged */
#define MQTT_CONNECT_TIMEOUT_MS 30000

struct mqtt_events {
    /* connected and subscribed: publishing may start (from the oldest report) */
    void (*ready)(void *ctx);
    /* PUBACK for report id; reason is the MQTT 5 reason code (0 for 3.1.1) */
    void (*acked)(void *ctx, int64_t report_id, int reason);
    /* a message on .../accepted (accepted = true) or .../rejected */
    void (*reply)(void *ctx, bool accepted, const void *payload, size_t len);
};

enum mqtt_state { MQTT_IDLE, MQTT_CONNECTING, MQTT_SUBSCRIBING, MQTT_READY };

struct mqtt {
    const struct agent_config *cfg;
    struct mqtt_events ev;
    void *ctx;
    struct mosquitto *m;
    enum mqtt_state state;
    bool dead;      /* tear down after the current libmosquitto call */
    bool retry_now; /* protocol fallback: reconnect without waiting */
    int version;    /* 5 or 311, current attempt */
    int failures;
    int64_t next_attempt_ms, started_ms;
    int sub_mid;
    char *password;
    char topic[THING_NAME_MAX + 64], topic_acc[THING_NAME_MAX + 80], topic_rej[THING_NAME_MAX + 80];
    struct {
        int mid;
        int64_t id;
    } inflight[MQTT_INFLIGHT_MAX];
    int ninflight;
};

/* Returns 0, or -1 with why set (password file unreadable, ...). */
int mqtt_init(struct mqtt *q, const struct agent_config *cfg, const struct mqtt_events *ev,
              void *ctx, char *why, size_t whylen);
void mqtt_free(struct mqtt *q);

/* Connect when due, keepalive, timeouts. Returns the monotonic ms by which
 * mqtt_tick wants to run again. */
int64_t mqtt_tick(struct mqtt *q, int64_t now_ms);
/* Socket to poll (-1 when none) and whether to poll it for writing. */
int mqtt_fd(const struct mqtt *q);
bool mqtt_want_write(const struct mqtt *q);
/* Handle readiness of the socket. */
void mqtt_io(struct mqtt *q, bool readable, bool writable, int64_t now_ms);

bool mqtt_ready(const struct mqtt *q);
bool mqtt_can_publish(const struct mqtt *q);
/* Publish report id with QoS 1. Returns 0, or -1 (the session is torn down
 * and will reconnect). */
int mqtt_publish(struct mqtt *q, int64_t report_id, const char *body, size_t len, int64_t now_ms);
/* Text of an MQTT 5 reason code. */
const char *mqtt_reason_string(int reason);
/* Disconnect cleanly (on exit). */
void mqtt_close(struct mqtt *q);

#endif
