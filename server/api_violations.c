/*
 * api_violations.c — /api/v1/violations and /api/v1/profiles (docs/api.md).
 */
#include "cordon.h"
#include "detection.h"
#include "http.h"
#include "modules.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

#define VERIFICATION_DESC_MAX 1000

static json_t *loads(const char *text)
{
    json_t *j = json_loads(text ? text : "null", JSON_DECODE_ANY, NULL);
    return j ? j : json_null();
}

static json_t *violation_json(const struct store_violation *v)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:s,s:b,s:I,s:I,s:o,s:s,s:s}", "violationId", v->id,
                     "thingName", v->thing, "securityProfileName", v->profile, "behavior",
                     loads(v->behavior_json), "metricValue", loads(v->value_json), "state",
                     v->state, "suppressed", v->suppressed, "startTime", (json_int_t)v->started_at,
                     "lastEventTime", (json_int_t)v->updated_at, "endTime",
                     v->ended_at ? json_integer(v->ended_at) : json_null(), "verificationState",
                     v->verification, "verificationStateDescription", v->verification_desc);
}

static int list_cb(void *ctx, const struct store_violation *v)
{
    json_array_append_new(ctx, violation_json(v));
    return 0;
}

static int64_t q_int(struct http_req *req, const char *name, int64_t dflt)
{
    const char *v = http_query(req, name);
    char *end;
    long long x;
    if (!v || !*v)
        return dflt;
    x = strtoll(v, &end, 10);
    return *end || x < 0 ? -1 : x;
}

static void violations_list(struct server *s, struct http_req *req, struct http_res *res)
{
    struct store_violation_filter f = { 0 };
    const char *active = http_query(req, "active");
    json_t *a;
    f.active = -1;
    if (active) {
        if (strcmp(active, "true") == 0)
            f.active = 1;
        else if (strcmp(active, "false") == 0)
            f.active = 0;
        else {
            http_error(res, 400, "bad_request", "active: expected true or false");
            return;
        }
    }
    f.thing = http_query(req, "thing");
    f.profile = http_query(req, "profile");
    f.behavior = http_query(req, "behavior");
    f.verification = http_query(req, "verification");
    f.since = q_int(req, "since", 0);
    f.until = q_int(req, "until", 0);
    f.limit = (int)q_int(req, "limit", 1000);
    if (f.since < 0 || f.until < 0 || f.limit <= 0 || f.limit > 1000) {
        http_error(res, 400, "bad_request", "since, until: epoch ms; limit: 1..1000");
        return;
    }
    if (f.verification &&
        violation_verification_parse(f.verification, strlen(f.verification)) < 0) {
        http_error(res, 400, "bad_request",
                   "verification: expected UNKNOWN, TRUE_POSITIVE, BENIGN_POSITIVE or "
                   "FALSE_POSITIVE");
        return;
    }
    a = json_array();
    if (store_violations_list(s->store, &f, list_cb, a)) {
        json_decref(a);
        http_error(res, 500, "internal", "store: %s", store_errmsg(s->store));
        return;
    }
    http_json(res, 200, json_pack("{s:o}", "violations", a));
}

static int get_cb(void *ctx, const struct store_violation *v)
{
    *(json_t **)ctx = violation_json(v);
    return 0;
}

static int event_cb(void *ctx, const struct store_violation_event *e)
{
    json_array_append_new(ctx, json_pack("{s:s,s:I,s:o}", "violationEventType", e->type,
                                         "violationEventTime", (json_int_t)e->at, "metricValue",
                                         loads(e->value_json)));
    return 0;
}

static int action_cb(void *ctx, const struct store_action *a)
{
    json_array_append_new(ctx, json_pack("{s:s,s:s,s:o,s:s,s:o,s:I,s:I}", "action", a->action,
                                         "thingName", a->thing, "params", loads(a->params),
                                         "status", a->status, "result", loads(a->result),
                                         "createdAt", (json_int_t)a->created_at, "updatedAt",
                                         (json_int_t)a->updated_at));
    return 0;
}

static json_t *violation_full(struct server *s, const char *id)
{
    json_t *v = NULL, *ev, *ac;
    if (store_violation_get(s->store, id, get_cb, &v) || !v)
        return NULL;
    ev = json_array();
    ac = json_array();
    store_violation_events(s->store, id, event_cb, ev);
    store_actions_list(s->store, id, NULL, action_cb, ac);
    json_object_set_new(v, "events", ev);
    json_object_set_new(v, "actions", ac);
    return v;
}

static void violations_get(struct server *s, struct http_req *req, struct http_res *res)
{
    json_t *v = violation_full(s, req->params[0]);
    if (!v)
        http_error(res, 404, "not_found", "no violation %s", req->params[0]);
    else
        http_json(res, 200, v);
}

static void violations_verify(struct server *s, struct http_req *req, struct http_res *res)
{
    json_t *b = http_body_json(req, res), *v;
    const char *state, *desc;
    int st, rc;
    if (!b)
        return;
    state = json_string_value(json_object_get(b, "state"));
    if (!state)
        state = json_string_value(json_object_get(b, "verificationState"));
    desc = json_string_value(json_object_get(b, "description"));
    if (!desc)
        desc = json_string_value(json_object_get(b, "verificationStateDescription"));
    st = state ? violation_verification_parse(state, strlen(state)) : -1;
    if (st < 0) {
        http_error(res, 400, "bad_request",
                   "state: expected UNKNOWN, TRUE_POSITIVE, BENIGN_POSITIVE or FALSE_POSITIVE");
        goto out;
    }
    if (desc) {
        size_t n = strlen(desc);
        if (n > VERIFICATION_DESC_MAX) {
            http_error(res, 400, "bad_request", "description: over %d characters",
                       VERIFICATION_DESC_MAX);
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)desc[i] < 0x20) {
                http_error(res, 400, "bad_request",
                           "description: control characters are not allowed");
                goto out;
            }
        }
    }
    v = violation_full(s, req->params[0]);
    if (!v) {
        http_error(res, 404, "not_found", "no violation %s", req->params[0]);
        goto out;
    }
    rc = store_violation_verify(s->store, req->params[0], state, desc ? desc : "");
    if (rc) {
        json_decref(v);
        http_error(res, 500, "internal", "%s", cordon_strerror(rc));
        goto out;
    }
    /* an active alarm carries its verification state in the engine too */
    detection_verify(s, json_string_value(json_object_get(v, "thingName")), req->params[0],
                     (enum violation_verification)st);
    json_object_set_new(v, "verificationState", json_string(state));
    json_object_set_new(v, "verificationStateDescription", json_string(desc ? desc : ""));
    http_json(res, 200, v);
out:
    json_decref(b);
}

/* ---- profiles ------------------------------------------------------------------------ */

static json_t *profile_json(const struct profile *p)
{
    json_t *j = json_object(), *a;
    struct buf b;
    buf_init(&b, 1 << 20);
    json_object_set_new(j, "securityProfileName", json_string(p->name));
    if (p->description)
        json_object_set_new(j, "securityProfileDescription", json_string(p->description));
    a = json_array();
    for (size_t i = 0; i < p->ntargets; i++) {
        const struct profile_target *t = &p->targets[i];
        const char *txt = t->kind == PROFILE_TARGET_ALL            ? "all/things"
                          : t->kind == PROFILE_TARGET_REGISTERED   ? "all/registered-things"
                          : t->kind == PROFILE_TARGET_UNREGISTERED ? "all/unregistered-things"
                                                                   : NULL;
        if (txt)
            json_array_append_new(a, json_string(txt));
        else
            json_array_append_new(a, json_pack("s++", "thinggroup/", t->group ? t->group : "", ""));
    }
    json_object_set_new(j, "targets", a);
    a = json_array();
    for (size_t i = 0; i < p->nbehaviors; i++) {
        buf_reset(&b);
        if (behavior_json(&p->behaviors[i], &b) == 0)
            json_array_append_new(a, loads(b.ptr));
    }
    json_object_set_new(j, "behaviors", a);
    a = json_array();
    for (size_t i = 0; i < p->nalert_targets; i++) {
        const struct profile_alert_target *t = &p->alert_targets[i];
        json_array_append_new(a, t->kind == PROFILE_ALERT_MQTT
                                     ? json_pack("{s:s,s:s}", "type", "mqtt", "topic", t->dest)
                                     : json_pack("{s:s,s:s}", "type", "webhook", "url", t->dest));
    }
    json_object_set_new(j, "alertTargets", a);
    a = json_array();
    for (size_t i = 0; i < p->nmitigations; i++) {
        const struct profile_mitigation *m = &p->mitigations[i];
        json_t *mj = json_pack("{s:s}", "type", profile_mitigation_name(m->kind));
        if (m->ngroups) {
            json_t *g = json_array();
            for (size_t k = 0; k < m->ngroups; k++)
                json_array_append_new(g, json_string(m->groups[k]));
            json_object_set_new(mj, "thingGroupNames", g);
        }
        if (m->topic)
            json_object_set_new(mj, "topic", json_string(m->topic));
        json_array_append_new(a, mj);
    }
    json_object_set_new(j, "mitigationActions", a);
    if (p->response_plan)
        json_object_set_new(j, "responsePlan", json_string(p->response_plan));
    buf_free(&b);
    return j;
}

static void profiles_list(struct server *s, struct http_req *req, struct http_res *res)
{
    const struct profile_set *set = detection_profiles(s);
    json_t *a = json_array();
    (void)req;
    for (size_t i = 0; i < set->n; i++)
        json_array_append_new(a, profile_json(&set->v[i]));
    http_json(res, 200, json_pack("{s:o}", "profiles", a));
}

static void profiles_get(struct server *s, struct http_req *req, struct http_res *res)
{
    const struct profile *p = profile_set_find(detection_profiles(s), req->params[0]);
    if (!p)
        http_error(res, 404, "not_found", "no security profile named %s", req->params[0]);
    else
        http_json(res, 200, profile_json(p));
}

int api_violations_init(struct server *s)
{
    int rc = 0;
    rc |= http_route(s, "GET", "/api/v1/violations", HTTP_ROLE_VIEWER, violations_list);
    rc |= http_route(s, "GET", "/api/v1/violations/{id}", HTTP_ROLE_VIEWER, violations_get);
    rc |= http_route(s, "PUT", "/api/v1/violations/{id}/verification", HTTP_ROLE_RESPONDER,
                     violations_verify);
    rc |= http_route(s, "GET", "/api/v1/profiles", HTTP_ROLE_VIEWER, profiles_list);
    rc |= http_route(s, "GET", "/api/v1/profiles/{name}", HTTP_ROLE_VIEWER, profiles_get);
    return rc ? CORDON_ENOMEM : 0;
}
