/*
 * mqtt.c — libmosquitto on the libuv loop.
 *
 * libmosquitto's mosquitto_loop_read() handles one packet per call for QoS 0
 * traffic, so the read callback drains what the socket holds (FIONREAD)
 * before returning to the loop: one poll wakeup serves a whole burst.
 */
#include "mqtt.h"

#include "cordon.h"
#include "log.h"
#include "server.h"

#include <errno.h>
#include <mosquitto.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define MQTT_BACKOFF_MIN_MS 500
#define MQTT_BACKOFF_MAX_MS 30000
#define MQTT_READ_BURST     4096 /* packets per wakeup before yielding to the loop */

struct mqtt_sub {
    char *filter;
    int qos;
    mqtt_message_fn fn;
    void *arg;
    struct mqtt_sub *next;
};

struct mqtt_cb {
    mqtt_connect_fn on_connect;
    mqtt_ack_fn on_ack;
    void *arg;
    struct mqtt_cb *next;
};

struct mqtt {
    struct server *s;
    struct mosquitto *mosq;
    uv_poll_t *poll; /* heap: a closing handle must not be re-initialised */
    bool poll_active;
    int poll_fd;
    int poll_events;
    uv_timer_t misc_timer;
    uv_timer_t reconnect_timer;
    int backoff_ms;
    bool connected;
    bool connecting;
    struct mqtt_sub *subs;
    struct mqtt_cb *on_connect;
    struct mqtt_cb *on_ack;
};

static void poll_update(struct mqtt *m);
static void on_reconnect(uv_timer_t *t);

static void free_handle(uv_handle_t *h)
{
    free(h);
}

void mqtt_cork(struct server *s, bool on)
{
    int fd, v = on ? 1 : 0;
    if (!s->mqtt || !s->mqtt->connected)
        return;
    fd = mosquitto_socket(s->mqtt->mosq);
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
}

bool mqtt_connected(const struct server *s)
{
    return s->mqtt && s->mqtt->connected;
}

static void poll_stop(struct mqtt *m)
{
    if (m->poll_active) {
        uv_poll_stop(m->poll);
        uv_close((uv_handle_t *)m->poll, free_handle);
        m->poll = NULL;
        m->poll_active = false;
        m->poll_fd = -1;
    }
}

static void schedule_reconnect(struct mqtt *m)
{
    if (m->s->stopping)
        return;
    poll_stop(m);
    m->connecting = false;
    log_info("mqtt reconnect scheduled", "in_ms=%d", m->backoff_ms);
    uv_timer_start(&m->reconnect_timer, on_reconnect, (uint64_t)m->backoff_ms, 0);
    m->backoff_ms *= 2;
    if (m->backoff_ms > MQTT_BACKOFF_MAX_MS)
        m->backoff_ms = MQTT_BACKOFF_MAX_MS;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct mqtt *m = h->data;
    int rc = MOSQ_ERR_SUCCESS;

    if (status < 0) {
        log_warn("mqtt socket error", "error=%s", uv_strerror(status));
        rc = MOSQ_ERR_CONN_LOST;
    }
    if (!rc && (events & UV_READABLE)) {
        int fd = mosquitto_socket(m->mosq);
        for (int i = 0; i < MQTT_READ_BURST; i++) {
            /* libmosquitto returns success on EAGAIN; errno tells the socket is drained */
            errno = 0;
            rc = mosquitto_loop_read(m->mosq, 1);
            if (rc || mosquitto_socket(m->mosq) != fd || errno == EAGAIN || errno == EWOULDBLOCK)
                break;
        }
    }
    if (!rc && (events & UV_WRITABLE))
        rc = mosquitto_loop_write(m->mosq, 1);
    if (!rc && mosquitto_want_write(m->mosq))
        rc = mosquitto_loop_write(m->mosq, 1);
    if (rc) {
        if (m->connected || m->connecting)
            log_warn("mqtt connection lost", "error=\"%s\"", mosquitto_strerror(rc));
        m->connected = false;
        schedule_reconnect(m);
        return;
    }
    poll_update(m);
}

static void poll_update(struct mqtt *m)
{
    int fd = mosquitto_socket(m->mosq);
    int ev = UV_READABLE;
    if (fd < 0) {
        poll_stop(m);
        return;
    }
    if (mosquitto_want_write(m->mosq))
        ev |= UV_WRITABLE;
    if (m->poll_active && m->poll_fd != fd)
        poll_stop(m);
    if (!m->poll_active) {
        m->poll = malloc(sizeof(*m->poll));
        if (!m->poll || uv_poll_init_socket(m->s->loop, m->poll, fd) != 0) {
            log_error("mqtt cannot watch socket", "fd=%d", fd);
            free(m->poll);
            m->poll = NULL;
            return;
        }
        m->poll->data = m;
        m->poll_active = true;
        m->poll_fd = fd;
        m->poll_events = 0;
    }
    if (ev != m->poll_events) {
        uv_poll_start(m->poll, ev, on_poll);
        m->poll_events = ev;
    }
}

void mqtt_flush(struct server *s)
{
    struct mqtt *m = s->mqtt;
    if (!m || !m->poll_active)
        return;
    if (mosquitto_want_write(m->mosq))
        mosquitto_loop_write(m->mosq, 1);
    poll_update(m);
}

static void do_connect(struct mqtt *m)
{
    const struct config *c = &m->s->cfg;
    int rc;
    m->connecting = true;
    rc = mosquitto_connect_async(m->mosq, c->broker_host, c->broker_port, c->broker_keepalive_s);
    if (rc != MOSQ_ERR_SUCCESS) {
        log_warn("mqtt connect failed", "host=%s port=%d error=\"%s\"", c->broker_host,
                 c->broker_port, mosquitto_strerror(rc));
        schedule_reconnect(m);
        return;
    }
    poll_update(m);
}

static void on_reconnect(uv_timer_t *t)
{
    struct mqtt *m = t->data;
    do_connect(m);
}

static void on_misc(uv_timer_t *t)
{
    struct mqtt *m = t->data;
    int rc;
    if (!m->poll_active)
        return;
    rc = mosquitto_loop_misc(m->mosq);
    if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(m->mosq))
        rc = mosquitto_loop_write(m->mosq, 1);
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
        m->connected = false;
        schedule_reconnect(m);
        return;
    }
    poll_update(m);
}

static void cb_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct mqtt *m = obj;
    (void)mosq;
    if (rc != 0) {
        log_warn("mqtt connection refused", "reason=\"%s\"", mosquitto_connack_string(rc));
        return; /* libmosquitto disconnects; on_poll sees the error and reconnects */
    }
    m->connected = true;
    m->connecting = false;
    m->backoff_ms = MQTT_BACKOFF_MIN_MS;
    log_info("mqtt connected", "host=%s port=%d", m->s->cfg.broker_host, m->s->cfg.broker_port);
    for (struct mqtt_sub *sub = m->subs; sub; sub = sub->next)
        mosquitto_subscribe(m->mosq, NULL, sub->filter, sub->qos);
    for (struct mqtt_cb *cb = m->on_connect; cb; cb = cb->next)
        cb->on_connect(m->s, cb->arg);
}

static void cb_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct mqtt *m = obj;
    (void)mosq;
    if (m->connected)
        log_warn("mqtt disconnected", "rc=%d", rc);
    m->connected = false;
}

static void cb_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
    struct mqtt *m = obj;
    (void)mosq;
    for (struct mqtt_sub *sub = m->subs; sub; sub = sub->next) {
        bool match = false;
        mosquitto_topic_matches_sub(sub->filter, msg->topic, &match);
        if (match) {
            sub->fn(m->s, sub->arg, msg->topic, msg->payload, (size_t)msg->payloadlen);
            return;
        }
    }
}

static void cb_publish(struct mosquitto *mosq, void *obj, int mid)
{
    struct mqtt *m = obj;
    (void)mosq;
    for (struct mqtt_cb *cb = m->on_ack; cb; cb = cb->next)
        cb->on_ack(m->s, cb->arg, mid);
}

static int add_cb(struct mqtt_cb **list, mqtt_connect_fn cfn, mqtt_ack_fn afn, void *arg)
{
    struct mqtt_cb *cb = calloc(1, sizeof(*cb)), **tail = list;
    if (!cb)
        return CORDON_ENOMEM;
    cb->on_connect = cfn;
    cb->on_ack = afn;
    cb->arg = arg;
    while (*tail)
        tail = &(*tail)->next;
    *tail = cb;
    return 0;
}

int mqtt_on_connect(struct server *s, mqtt_connect_fn fn, void *arg)
{
    return add_cb(&s->mqtt->on_connect, fn, NULL, arg);
}

int mqtt_on_ack(struct server *s, mqtt_ack_fn fn, void *arg)
{
    return add_cb(&s->mqtt->on_ack, NULL, fn, arg);
}

int mqtt_subscribe(struct server *s, const char *filter, int qos, mqtt_message_fn fn, void *arg)
{
    struct mqtt *m = s->mqtt;
    struct mqtt_sub *sub = calloc(1, sizeof(*sub)), **tail = &m->subs;
    if (!sub || !(sub->filter = strdup(filter))) {
        free(sub);
        return CORDON_ENOMEM;
    }
    sub->fn = fn;
    sub->arg = arg;
    sub->qos = qos;
    while (*tail)
        tail = &(*tail)->next;
    *tail = sub;
    if (m->connected)
        mosquitto_subscribe(m->mosq, NULL, filter, qos);
    return 0;
}

int mqtt_publish(struct server *s, const char *topic, const void *payload, size_t len, int qos,
                 int *mid)
{
    struct mqtt *m = s->mqtt;
    int rc;
    if (!m->connected)
        return CORDON_ESTATE;
    rc = mosquitto_publish(m->mosq, mid, topic, (int)len, payload, qos, false);
    if (rc == MOSQ_ERR_NOMEM)
        return CORDON_ENOMEM;
    if (rc != MOSQ_ERR_SUCCESS)
        return CORDON_ESTATE;
    if (m->poll_active && mosquitto_want_write(m->mosq) && !(m->poll_events & UV_WRITABLE))
        poll_update(m);
    return 0;
}

int mqtt_init(struct server *s)
{
    const struct config *c = &s->cfg;
    struct mqtt *m = calloc(1, sizeof(*m));
    if (!m)
        return CORDON_ENOMEM;
    m->s = s;
    m->poll_fd = -1;
    m->backoff_ms = MQTT_BACKOFF_MIN_MS;
    s->mqtt = m;
    mosquitto_lib_init();
    m->mosq = mosquitto_new(c->broker_client_id, true, m);
    if (!m->mosq)
        return CORDON_ENOMEM;
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    /* no in-flight cap: the outbox and reply paths bound what they publish */
    mosquitto_max_inflight_messages_set(m->mosq, 0);
    if (c->broker_username[0])
        mosquitto_username_pw_set(m->mosq, c->broker_username,
                                  c->broker_password[0] ? c->broker_password : NULL);
    if (c->broker_tls_ca[0]) {
        int rc = mosquitto_tls_set(m->mosq, c->broker_tls_ca, NULL,
                                   c->broker_tls_cert[0] ? c->broker_tls_cert : NULL,
                                   c->broker_tls_key[0] ? c->broker_tls_key : NULL, NULL);
        if (rc) {
            log_error("mqtt tls setup failed", "error=\"%s\"", mosquitto_strerror(rc));
            return CORDON_EINVAL;
        }
    }
    mosquitto_connect_callback_set(m->mosq, cb_connect);
    mosquitto_disconnect_callback_set(m->mosq, cb_disconnect);
    mosquitto_message_callback_set(m->mosq, cb_message);
    mosquitto_publish_callback_set(m->mosq, cb_publish);
    uv_timer_init(s->loop, &m->misc_timer);
    m->misc_timer.data = m;
    uv_timer_init(s->loop, &m->reconnect_timer);
    m->reconnect_timer.data = m;
    uv_timer_start(&m->misc_timer, on_misc, 1000, 1000);
    do_connect(m);
    return 0;
}

static void free_mqtt(uv_handle_t *h)
{
    free(h->data);
}

void mqtt_free(struct server *s)
{
    struct mqtt *m = s->mqtt;
    if (!m)
        return;
    if (m->connected) {
        mosquitto_disconnect(m->mosq);
        mosquitto_loop_write(m->mosq, 1);
    }
    poll_stop(m);
    s->mqtt = NULL;
    mosquitto_destroy(m->mosq);
    for (struct mqtt_sub *n, *p = m->subs; p; p = n) {
        n = p->next;
        free(p->filter);
        free(p);
    }
    for (struct mqtt_cb *n, *p = m->on_connect; p; p = n) {
        n = p->next;
        free(p);
    }
    for (struct mqtt_cb *n, *p = m->on_ack; p; p = n) {
        n = p->next;
        free(p);
    }
    /* the timers live in m: free it from the last close callback */
    uv_close((uv_handle_t *)&m->misc_timer, NULL);
    uv_close((uv_handle_t *)&m->reconnect_timer, free_mqtt);
}
