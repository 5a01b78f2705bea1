/*
 * violations.c — store, alert and hand on violation events.
 */
#include "violations.h"

#include "cordon.h"
#include "log.h"
#include "mitigation.h"
#include "outbox.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct listener {
    violations_fn fn;
    void *arg;
    struct listener *next;
};

struct violations {
    struct listener *listeners;
    struct buf alert; /* alert JSON */
    struct buf value; /* metricValue JSON */
    struct buf behavior;
};

int violations_listen(struct server *s, violations_fn fn, void *arg)
{
    struct listener *l = calloc(1, sizeof(*l)), **tail = &s->violations->listeners;
    if (!l)
        return CORDON_ENOMEM;
    l->fn = fn;
    l->arg = arg;
    while (*tail)
        tail = &(*tail)->next;
    *tail = l;
    return 0;
}

static const char *state_of(enum violation_event_type t)
{
    switch (t) {
    case VIOLATION_IN_ALARM:
        return "active";
    case VIOLATION_ALARM_CLEARED:
        return "cleared";
    default:
        return "invalidated";
    }
}

static void handle_one(struct server *s, const struct detect_event *e)
{
    struct violations *v = s->violations;
    struct store_violation row = { 0 };
    const char *type = violation_event_type_name(e->type);
    int rc;

    buf_reset(&v->value);
    if (e->has_value)
        detect_value_json(&e->value, &v->value);
    else
        buf_adds(&v->value, "{}");
    buf_reset(&v->behavior);
    behavior_json(e->behavior, &v->behavior);

    row.id = e->violation_id;
    row.thing = e->thing;
    row.profile = e->profile->name;
    row.behavior = e->behavior->name;
    row.behavior_json = v->behavior.ptr ? v->behavior.ptr : "{}";
    row.value_json = v->value.ptr;
    row.state = state_of(e->type);
    row.suppressed = e->suppressed;
    row.started_at = e->alarm_since_ms ? e->alarm_since_ms : e->time_ms;
    row.updated_at = e->time_ms;
    row.ended_at = e->type == VIOLATION_IN_ALARM ? 0 : e->time_ms;
    row.verification = violation_verification_name(e->verification);
    rc = store_violation_put(s->store, &row);
    if (!rc)
        rc = store_violation_event_add(s->store, e->violation_id, type, e->time_ms, v->value.ptr);
    if (rc)
        log_error("violation not stored", "violation=%s error=\"%s\"", e->violation_id,
                  store_errmsg(s->store));
    if (e->type >= VIOLATION_IN_ALARM && e->type <= VIOLATION_ALARM_INVALIDATED)
        s->stats.violation_events[e->type - VIOLATION_IN_ALARM]++;
    log_info("violation event", "type=%s thing=%s profile=%s behavior=%s violation=%s%s", type,
             e->thing, e->profile->name, e->behavior->name, e->violation_id,
             e->suppressed ? " suppressed=true" : "");

    /* alerts: the Device Defender alert JSON to every target, unless suppressed */
    if (!e->suppressed && e->profile->nalert_targets) {
        buf_reset(&v->alert);
        if (detect_event_json(e, &v->alert) == 0) {
            for (size_t i = 0; i < e->profile->nalert_targets; i++) {
                const struct profile_alert_target *t = &e->profile->alert_targets[i];
                char key[256];
                snprintf(key, sizeof(key), "alert:%s:%s:%zu", e->violation_id, type, i);
                rc = outbox_add(s, t->kind == PROFILE_ALERT_MQTT ? "mqtt" : "webhook", key, t->dest,
                                v->alert.ptr, v->alert.len);
                if (rc)
                    log_error("alert not queued", "violation=%s target=%s", e->violation_id,
                              t->dest);
                else
                    s->stats.alerts_sent++;
            }
        }
    }
    if (e->type == VIOLATION_IN_ALARM && !e->suppressed)
        mitigation_run(s, e);
    for (struct listener *l = v->listeners; l; l = l->next)
        l->fn(s, l->arg, e);
}

void violations_handle(struct server *s, const struct detect_event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++)
        handle_one(s, &ev[i]);
}

int violations_init(struct server *s)
{
    struct violations *v = calloc(1, sizeof(*v));
    if (!v)
        return CORDON_ENOMEM;
    buf_init(&v->alert, 1 << 20);
    buf_init(&v->value, 1 << 20);
    buf_init(&v->behavior, 1 << 20);
    s->violations = v;
    return 0;
}

void violations_free(struct server *s)
{
    struct violations *v = s->violations;
    if (!v)
        return;
    for (struct listener *n, *l = v->listeners; l; l = n) {
        n = l->next;
        free(l);
    }
    buf_free(&v->alert);
    buf_free(&v->value);
    buf_free(&v->behavior);
    free(v);
    s->violations = NULL;
}
