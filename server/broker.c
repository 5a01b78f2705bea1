/*
 * broker.c — the control channel to the broker plugin, and the outbox
 * sender of kind "mqtt" (QoS 1 publish, done on PUBACK).
 */
#include "broker.h"
#include "incidents_int.h"

#include "cordon.h"
#include "log.h"
#include "mqtt.h"
#include "outbox.h"
#include "registry.h"
#include "server.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uthash.h>

#define BROKER_GET_STATE_KEY "get-state"

struct pending_pub {
    int mid;
    int64_t outbox_id;
    UT_hash_handle hh;
};

struct broker {
    struct pending_pub *pubs; /* mid → outbox row */
    struct buf enc;
    uint32_t state_seq;
};

static struct broker *B(struct server *s)
{
    return s->broker;
}

/* ---- outbox kind "mqtt" ------------------------------------------------------ */

static int send_mqtt(struct server *s, void *arg, const struct outbox_item *it)
{
    struct pending_pub *p;
    int mid = 0, rc;
    (void)arg;
    rc = mqtt_publish(s, it->target, it->payload, it->payload_len, 1, &mid);
    if (rc)
        return rc; /* CORDON_ESTATE: not connected, retried after reconnect */
    p = calloc(1, sizeof(*p));
    if (!p)
        return CORDON_ENOMEM;
    p->mid = mid;
    p->outbox_id = it->id;
    HASH_ADD_INT(B(s)->pubs, mid, p);
    return 0;
}

static void on_ack(struct server *s, void *arg, int mid)
{
    struct pending_pub *p;
    (void)arg;
    HASH_FIND_INT(B(s)->pubs, &mid, p);
    if (!p)
        return;
    HASH_DEL(B(s)->pubs, p);
    outbox_complete(s, p->outbox_id, 1, NULL);
    free(p);
}

/* ---- commands ------------------------------------------------------------------ */

int broker_command(struct server *s, struct control_cmd *cmd, const char *key,
                   const char *violation_id, const char *action, const char *params)
{
    struct broker *b = B(s);
    struct store_action a = { 0 };
    int rc;

    snprintf(cmd->correlation_id, sizeof(cmd->correlation_id), "%s", key);
    buf_reset(&b->enc);
    rc = control_batch_encode(cmd, 1, &b->enc);
    if (rc)
        return rc;
    rc = outbox_add(s, "mqtt", key, CONTROL_TOPIC, b->enc.ptr, b->enc.len);
    if (rc)
        return rc;
    if (!action)
        return 0;
    a.violation_id = violation_id ? violation_id : "";
    a.thing = cmd->thing;
    a.action = action;
    a.params = params;
    a.status = "pending";
    a.result = "null";
    a.key = key;
    a.created_at = server_now(s);
    return store_action_add(s->store, &a, NULL);
}

/* Union merge of the plugin's quarantine set with the QUARANTINED group. */
static void reconcile(struct server *s, const struct control_state *st)
{
    struct reg_group *g = registry_group(s, REGISTRY_QUARANTINED);
    struct reg_thing *t, *tmp;
    size_t added = 0, resent = 0;

    for (size_t i = 0; i < st->n_quarantined; i++) {
        const char *name = st->quarantined[i];
        t = registry_thing(s, name);
        if (t && registry_thing_in(t, REGISTRY_QUARANTINED))
            continue;
        if (registry_quarantine(s, name, "") == 0)
            added++;
    }
    (void)g;
    HASH_ITER(hh, s->registry->things, t, tmp)
    {
        bool at_broker = false;
        if (!registry_thing_in(t, REGISTRY_QUARANTINED))
            continue;
        for (size_t i = 0; i < st->n_quarantined && !at_broker; i++)
            at_broker = strcmp(st->quarantined[i], t->name) == 0;
        if (!at_broker) {
            struct control_cmd cmd = { 0 };
            char key[300];
            cmd.type = CONTROL_CMD_QUARANTINE;
            snprintf(cmd.thing, sizeof(cmd.thing), "%s", t->name);
            snprintf(key, sizeof(key), "ctl:quarantine:%s:reconcile:%lld", t->name,
                     (long long)server_now(s));
            broker_command(s, &cmd, key, "", "ADD_THINGS_TO_THING_GROUP",
                           "{\"reason\":\"reconcile\"}");
            resent++;
        }
    }
    log_info("quarantine reconciled with the broker",
             "broker_quarantined=%zu added_to_group=%zu resent=%zu", st->n_quarantined, added,
             resent);
}

static void on_response(struct server *s, void *arg, const char *topic, const void *payload,
                        size_t len)
{
    struct control_responses r = { 0 };
    struct cordon_diag diag;
    (void)arg;
    (void)topic;
    if (control_responses_decode(&r, payload, len, &diag)) {
        log_warn("bad control response", "error=\"%s\"", diag.message);
        control_responses_free(&r);
        return;
    }
    for (size_t i = 0; i < r.n; i++) {
        const struct control_response *c = &r.v[i];
        if (c->has_state) {
            reconcile(s, &c->state);
            continue;
        }
        if (!c->correlation_id[0])
            continue;
        json_t *res =
            c->ok ? json_pack("{s:s,s:b}", "command", c->command, "ok", 1)
                  : json_pack("{s:s,s:b,s:s}", "command", c->command, "ok", 0, "error", c->error);
        char *text = json_dumps(res, JSON_COMPACT);
        int rc = store_action_result(s->store, c->correlation_id, c->ok ? "succeeded" : "failed",
                                     text, server_now(s));
        if (rc && rc != CORDON_ENOTFOUND)
            log_error("cannot record control response", "key=%s", c->correlation_id);
        incidents_on_control_result(s, c->command, c->correlation_id, c->ok);
        if (!c->ok)
            log_warn("broker refused a command", "command=%s key=%s error=\"%s\"", c->command,
                     c->correlation_id, c->error);
        free(text);
        json_decref(res);
    }
    control_responses_free(&r);
}

static void on_connect(struct server *s, void *arg)
{
    struct broker *b = B(s);
    struct pending_pub *p, *tmp;
    struct control_cmd cmd = { 0 };
    (void)arg;
    /* publishes not acknowledged before the disconnect are sent again */
    HASH_ITER(hh, b->pubs, p, tmp)
    {
        HASH_DEL(b->pubs, p);
        outbox_complete(s, p->outbox_id, 0, "connection lost before PUBACK");
        free(p);
    }
    outbox_wake(s);
    cmd.type = CONTROL_CMD_GET_STATE;
    snprintf(cmd.correlation_id, sizeof(cmd.correlation_id), "%s:%u", BROKER_GET_STATE_KEY,
             ++b->state_seq);
    buf_reset(&b->enc);
    if (control_batch_encode(&cmd, 1, &b->enc) == 0)
        mqtt_publish(s, CONTROL_TOPIC, b->enc.ptr, b->enc.len, 1, NULL);
}

int broker_init(struct server *s)
{
    struct broker *b = calloc(1, sizeof(*b));
    int rc = 0;
    if (!b)
        return CORDON_ENOMEM;
    buf_init(&b->enc, CONTROL_MAX_BYTES);
    s->broker = b;
    rc |= outbox_kind(s, "mqtt", send_mqtt, NULL);
    rc |= mqtt_on_ack(s, on_ack, NULL);
    rc |= mqtt_on_connect(s, on_connect, NULL);
    rc |= mqtt_subscribe(s, CONTROL_RESPONSE_TOPIC, 1, on_response, NULL);
    return rc ? CORDON_ENOMEM : 0;
}

void broker_free(struct server *s)
{
    struct broker *b = B(s);
    struct pending_pub *p, *tmp;
    if (!b)
        return;
    HASH_ITER(hh, b->pubs, p, tmp)
    {
        HASH_DEL(b->pubs, p);
        free(p);
    }
    buf_free(&b->enc);
    free(b);
    s->broker = NULL;
}
