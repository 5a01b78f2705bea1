/*
 * incident.c — incident records: start from a violation or by hand, dedupe
 * and merge, timeline, related items, updates, JSON codec.
 */
#include "incident.h"

#include "detect.h"
#include "incident_yaml.h"
#include "violation.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const item_type_names[] = {
    "OTHER",    "INVOLVED_RESOURCE", "PARENT",     "ATTACHMENT", "METRIC",
    "ANALYSIS", "INCIDENT",          "AUTOMATION", "TASK",       NULL
};

const char *incident_status_name(enum incident_status s)
{
    return s == INCIDENT_RESOLVED ? "RESOLVED" : "OPEN";
}

const char *incident_item_type_name(enum incident_item_type t)
{
    return (unsigned)t < 9 ? item_type_names[t] : "OTHER";
}

/* ---- effects ------------------------------------------------------------- */

void incident_effects_init(struct incident_effects *fx)
{
    memset(fx, 0, sizeof(*fx));
}

static void effect_free(struct incident_effect *e)
{
    free(e->contact);
    free(e->document_name);
    free(e->document_version);
    json_decref(e->parameters);
    json_decref(e->dynamic);
    free(e->payload);
}

void incident_effects_free(struct incident_effects *fx)
{
    size_t i;

    for (i = 0; i < fx->n; i++)
        effect_free(&fx->items[i]);
    free(fx->items);
    memset(fx, 0, sizeof(*fx));
}

static struct incident_effect *effect_push(struct incident_effects *fx,
                                           enum incident_effect_type type)
{
    if (!fx)
        return NULL;
    if (fx->n == fx->alloc) {
        size_t na = fx->alloc ? fx->alloc * 2 : 8;
        struct incident_effect *p = realloc(fx->items, na * sizeof(*p));
        if (!p)
            return NULL;
        fx->items = p;
        fx->alloc = na;
    }
    memset(&fx->items[fx->n], 0, sizeof(fx->items[0]));
    fx->items[fx->n].type = type;
    return &fx->items[fx->n++];
}

/* ---- helpers ------------------------------------------------------------------ */

void incident_init(struct incident *inc)
{
    memset(inc, 0, sizeof(*inc));
}

void incident_free(struct incident *inc)
{
    size_t i;

    free(inc->summary);
    free(inc->metric_value);
    json_decref(inc->tags);
    for (i = 0; i < inc->nevents; i++) {
        free(inc->events[i].data);
        json_decref(inc->events[i].refs);
    }
    free(inc->events);
    free(inc->items);
    for (i = 0; i < inc->ntokens; i++)
        free(inc->tokens[i]);
    free(inc->tokens);
    memset(inc, 0, sizeof(*inc));
}

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

void incident_time_iso(int64_t ms, char *out, size_t n)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;

    if (ms < 0 || !gmtime_r(&s, &tm)) {
        snprintf(out, n, "1970-01-01T00:00:00.000Z");
        return;
    }
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int incident_uuid(const struct incident_random *rnd, char *out)
{
    uint8_t b[16];

    if (!rnd || !rnd->fill || rnd->fill(rnd->ctx, b, sizeof(b)))
        return CORDON_EINVAL;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    violation_id_format(b, out);
    return 0;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p)
        memcpy(p, s, n);
    return p;
}

static int token_add(struct incident *inc, const char *tok)
{
    char *d;

    if (!tok || !*tok)
        return 0;
    if (strlen(tok) > INCIDENT_TOKEN_MAX)
        return CORDON_EINVAL;
    d = xstrdup(tok);
    if (!d)
        return CORDON_ENOMEM;
    if (inc->ntokens == INCIDENT_TOKENS_MAX) {
        free(inc->tokens[0]);
        memmove(inc->tokens, inc->tokens + 1, (inc->ntokens - 1) * sizeof(char *));
        inc->ntokens--;
    }
    if (inc->ntokens == inc->atokens) {
        size_t na = inc->atokens ? inc->atokens * 2 : 4;
        char **p = realloc(inc->tokens, na * sizeof(*p));
        if (!p) {
            free(d);
            return CORDON_ENOMEM;
        }
        inc->tokens = p;
        inc->atokens = na;
    }
    inc->tokens[inc->ntokens++] = d;
    return 0;
}

static bool token_seen(const struct incident *inc, const char *tok)
{
    size_t i;

    for (i = 0; tok && i < inc->ntokens; i++)
        if (!strcmp(inc->tokens[i], tok))
            return true;
    return false;
}

/* ---- timeline ---------------------------------------------------------------- */

int incident_event_add(struct incident *inc, const char *type, const char *data,
                       const char *refs_json, int64_t now_ms, const struct incident_random *rnd,
                       char *event_id_out)
{
    struct incident_event *e;
    json_t *refs = NULL;
    int r;

    if (!type || !*type || strlen(type) > INCIDENT_EVENT_TYPE_MAX)
        return CORDON_EINVAL;
    if (data && strlen(data) > INCIDENT_EVENT_DATA_MAX)
        return CORDON_ETOOBIG;
    if (refs_json) {
        refs = json_loads(refs_json, 0, NULL);
        if (!json_is_array(refs) || json_array_size(refs) > INCIDENT_EVENT_REFS_MAX) {
            json_decref(refs);
            return CORDON_EINVAL;
        }
    }
    if (inc->nevents >= INCIDENT_EVENTS_MAX) {
        json_decref(refs);
        return CORDON_ETOOBIG;
    }
    if (inc->nevents == inc->aevents) {
        size_t na = inc->aevents ? inc->aevents * 2 : 16;
        struct incident_event *p = realloc(inc->events, na * sizeof(*p));
        if (!p) {
            json_decref(refs);
            return CORDON_ENOMEM;
        }
        inc->events = p;
        inc->aevents = na;
    }
    e = &inc->events[inc->nevents];
    memset(e, 0, sizeof(*e));
    r = incident_uuid(rnd, e->id);
    if (r) {
        json_decref(refs);
        return r;
    }
    e->time_ms = now_ms;
    e->updated_ms = now_ms;
    copy(e->type, sizeof(e->type), type);
    e->data = xstrdup(data ? data : "");
    if (!e->data) {
        json_decref(refs);
        return CORDON_ENOMEM;
    }
    e->refs = refs;
    inc->nevents++;
    if (event_id_out)
        memcpy(event_id_out, e->id, sizeof(e->id));
    return 0;
}

/* Add a system event whose data is the JSON object j (stolen). */
static int event_json(struct incident *inc, const char *type, json_t *j, int64_t now_ms,
                      const struct incident_random *rnd)
{
    char *text;
    int r;

    if (!j)
        return CORDON_ENOMEM;
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return CORDON_ENOMEM;
    if (strlen(text) > INCIDENT_EVENT_DATA_MAX) /* keep the event, drop the bulk */
        text[INCIDENT_EVENT_DATA_MAX] = '\0';
    r = incident_event_add(inc, type, text, NULL, now_ms, rnd, NULL);
    free(text);
    return r;
}

static struct incident_event *event_find(struct incident *inc, const char *id)
{
    size_t i;

    for (i = 0; i < inc->nevents; i++)
        if (!strcmp(inc->events[i].id, id))
            return &inc->events[i];
    return NULL;
}

static bool user_event(const struct incident_event *e)
{
    return !strcmp(e->type, INCIDENT_EVENT_CUSTOM) || !strcmp(e->type, INCIDENT_EVENT_NOTE);
}

int incident_event_update(struct incident *inc, const char *event_id, const char *data,
                          int64_t now_ms)
{
    struct incident_event *e = event_find(inc, event_id);
    char *d;

    if (!e)
        return CORDON_ENOTFOUND;
    if (!user_event(e))
        return CORDON_ESTATE;
    if (!data || strlen(data) > INCIDENT_EVENT_DATA_MAX)
        return CORDON_EINVAL;
    d = xstrdup(data);
    if (!d)
        return CORDON_ENOMEM;
    free(e->data);
    e->data = d;
    e->updated_ms = now_ms;
    return 0;
}

int incident_event_delete(struct incident *inc, const char *event_id)
{
    struct incident_event *e = event_find(inc, event_id);
    size_t i;

    if (!e)
        return CORDON_ENOTFOUND;
    if (!user_event(e))
        return CORDON_ESTATE;
    i = (size_t)(e - inc->events);
    free(e->data);
    json_decref(e->refs);
    memmove(e, e + 1, (inc->nevents - i - 1) * sizeof(*e));
    inc->nevents--;
    return 0;
}

int incident_note(struct incident *inc, const char *who, const char *text, int64_t now_ms,
                  const struct incident_random *rnd)
{
    int r;

    if (!text || !*text)
        return CORDON_EINVAL;
    r = incident_event_add(inc, INCIDENT_EVENT_NOTE, text, NULL, now_ms, rnd, NULL);
    if (!r && who)
        copy(inc->modified_by, sizeof(inc->modified_by), who);
    return r;
}

/* ---- related items ---------------------------------------------------------------- */

int incident_item_add(struct incident *inc, enum incident_item_type type, const char *title,
                      const char *value, bool is_url, const struct incident_random *rnd)
{
    struct incident_item *it;
    size_t i;
    int r;

    if (!value || !*value || strlen(value) > INCIDENT_ITEM_VALUE_MAX ||
        (title && strlen(title) > INCIDENT_TITLE_MAX))
        return CORDON_EINVAL;
    for (i = 0; i < inc->nitems; i++)
        if (inc->items[i].type == type && !strcmp(inc->items[i].value, value))
            return CORDON_EEXIST;
    if (inc->nitems >= INCIDENT_ITEMS_MAX)
        return CORDON_ETOOBIG;
    if (inc->nitems == inc->aitems) {
        size_t na = inc->aitems ? inc->aitems * 2 : 4;
        struct incident_item *p = realloc(inc->items, na * sizeof(*p));
        if (!p)
            return CORDON_ENOMEM;
        inc->items = p;
        inc->aitems = na;
    }
    it = &inc->items[inc->nitems];
    memset(it, 0, sizeof(*it));
    r = incident_uuid(rnd, it->id);
    if (r)
        return r;
    it->type = type;
    copy(it->title, sizeof(it->title), title);
    copy(it->value, sizeof(it->value), value);
    it->is_url = is_url;
    inc->nitems++;
    return 0;
}

int incident_item_remove(struct incident *inc, const char *item_id)
{
    size_t i;

    for (i = 0; i < inc->nitems; i++) {
        if (!strcmp(inc->items[i].id, item_id)) {
            memmove(&inc->items[i], &inc->items[i + 1],
                    (inc->nitems - i - 1) * sizeof(inc->items[0]));
            inc->nitems--;
            return 0;
        }
    }
    return CORDON_ENOTFOUND;
}

#define THING_PREFIX "cordon:thing/"

json_t *incident_involved_things(const struct incident *inc)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a && i < inc->nitems; i++) {
        const struct incident_item *it = &inc->items[i];
        if (it->type != INCIDENT_ITEM_INVOLVED_RESOURCE)
            continue;
        if (!strncmp(it->value, THING_PREFIX, strlen(THING_PREFIX)))
            json_array_append_new(a, json_string(it->value + strlen(THING_PREFIX)));
        else
            json_array_append_new(a, json_string(it->value));
    }
    return a;
}

static int add_thing(struct incident *inc, const char *thing, const struct incident_random *rnd)
{
    char id[300];
    int r;

    if (!thing || !*thing)
        return 0;
    snprintf(id, sizeof(id), THING_PREFIX "%s", thing);
    r = incident_item_add(inc, INCIDENT_ITEM_INVOLVED_RESOURCE, thing, id, false, rnd);
    return r == CORDON_EEXIST ? 1 : r;
}

int incident_violation_from_detect(struct incident_violation *v, const struct detect_event *ev,
                                   struct buf *scratch)
{
    int r = 0;

    memset(v, 0, sizeof(*v));
    v->violation_id = ev->violation_id;
    v->thing_name = ev->thing;
    v->profile = ev->profile ? ev->profile->name : NULL;
    v->behavior = ev->behavior ? ev->behavior->name : NULL;
    v->metric = ev->behavior ? ev->behavior->metric : NULL;
    switch (ev->type) {
    case VIOLATION_ALARM_CLEARED:
        v->type = INCIDENT_VIOLATION_CLEARED;
        break;
    case VIOLATION_ALARM_INVALIDATED:
        v->type = INCIDENT_VIOLATION_INVALIDATED;
        break;
    case VIOLATION_IN_ALARM:
        v->type = INCIDENT_VIOLATION_IN_ALARM;
        break;
    default:
        return CORDON_EINVAL;
    }
    switch (ev->verification) {
    case VIOLATION_TRUE_POSITIVE:
        v->verification = INCIDENT_VERIFICATION_TRUE_POSITIVE;
        break;
    case VIOLATION_FALSE_POSITIVE:
        v->verification = INCIDENT_VERIFICATION_FALSE_POSITIVE;
        break;
    case VIOLATION_BENIGN_POSITIVE:
        v->verification = INCIDENT_VERIFICATION_BENIGN_POSITIVE;
        break;
    default:
        v->verification = INCIDENT_VERIFICATION_UNKNOWN;
    }
    v->suppressed = ev->suppressed;
    v->time_ms = ev->time_ms;
    v->first_datapoint_ms = ev->alarm_since_ms ? ev->alarm_since_ms : ev->time_ms;
    if (ev->has_value && scratch) {
        buf_reset(scratch);
        r = detect_value_json(&ev->value, scratch);
        if (!r)
            v->metric_value_json = scratch->ptr;
    }
    return r;
}

/* ---- routing ------------------------------------------------------------------------ */

static void vars_of(const struct response_plan *plan, const struct incident_violation *v,
                    const struct incident_env *env, struct response_plan_vars *vars)
{
    memset(vars, 0, sizeof(*vars));
    if (v) {
        vars->violation_id = v->violation_id;
        vars->thing_name = v->thing_name;
        vars->profile = v->profile;
        vars->behavior = v->behavior;
        vars->metric = v->metric;
    }
    vars->plan_name = plan ? plan->name : NULL;
    vars->console_base_url = env ? env->console_base_url : NULL;
}

static int render_to(const char *tmpl, const struct response_plan_vars *vars, bool url, size_t max,
                     char *out)
{
    struct buf b;
    int r;

    buf_init(&b, max);
    r = response_plan_render(tmpl, vars, url, &b);
    if (r == CORDON_ETOOBIG) { /* truncate rather than refuse an incident */
        r = 0;
    }
    if (!r)
        copy(out, max + 1, b.ptr ? b.ptr : "");
    buf_free(&b);
    return r;
}

int incident_dedupe(const struct response_plan *plan, const struct incident_violation *v, char *out)
{
    struct response_plan_vars vars;

    vars_of(plan, v, NULL, &vars);
    return render_to(plan && plan->dedupe[0] ? plan->dedupe : RESPONSE_PLAN_DEFAULT_DEDUPE, &vars,
                     false, INCIDENT_DEDUPE_MAX, out);
}

static bool may_start(const struct incident_violation *v)
{
    return v->type == INCIDENT_VIOLATION_IN_ALARM && !v->suppressed &&
           v->verification != INCIDENT_VERIFICATION_FALSE_POSITIVE &&
           v->verification != INCIDENT_VERIFICATION_BENIGN_POSITIVE;
}

enum incident_route incident_route(const struct response_plan *plan,
                                   const struct incident_violation *v,
                                   struct incident *const *known, size_t nknown, size_t *index)
{
    char dedupe[INCIDENT_DEDUPE_MAX + 1];
    size_t i;

    *index = 0;
    if (v->type == INCIDENT_VIOLATION_IN_ALARM) {
        for (i = 0; i < nknown; i++) {
            if (known[i] && token_seen(known[i], v->violation_id)) {
                *index = i;
                return INCIDENT_ROUTE_DUPLICATE;
            }
        }
        if (!may_start(v))
            return INCIDENT_ROUTE_IGNORE;
    }
    if (incident_dedupe(plan, v, dedupe))
        return INCIDENT_ROUTE_IGNORE;
    for (i = 0; i < nknown; i++) {
        if (!known[i] || known[i]->status != INCIDENT_OPEN || strcmp(known[i]->dedupe, dedupe))
            continue;
        *index = i;
        return v->type == INCIDENT_VIOLATION_IN_ALARM ? INCIDENT_ROUTE_JOIN : INCIDENT_ROUTE_RECORD;
    }
    return v->type == INCIDENT_VIOLATION_IN_ALARM ? INCIDENT_ROUTE_START : INCIDENT_ROUTE_IGNORE;
}

/* ---- effects of a start / change --------------------------------------------------------- */

static json_t *brief_json(const struct incident *inc)
{
    char t[32];

    incident_time_iso(inc->created_ms, t, sizeof(t));
    return json_pack("{ss ss si ss ss ss ss}", "arn", inc->id, "title", inc->title, "impact",
                     inc->impact, "status", incident_status_name(inc->status), "responsePlan",
                     inc->plan, "creationTime", t, "dedupeString", inc->dedupe);
}

static int notify(struct incident *inc, const char *what, struct incident_effects *fx)
{
    size_t i;

    for (i = 0; fx && i < inc->ntargets; i++) {
        struct incident_effect *e = effect_push(fx, INCIDENT_EFFECT_NOTIFY);
        json_t *j;
        if (!e)
            return CORDON_ENOMEM;
        e->target = inc->targets[i];
        j = json_pack("{ss so}", "event", what, "incident", brief_json(inc));
        e->payload = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!e->payload)
            return CORDON_ENOMEM;
    }
    return 0;
}

static int start_effects(struct incident *inc, const struct response_plan *plan,
                         struct incident_effects *fx)
{
    struct incident_effect *e;
    size_t i;

    if (!fx)
        return 0;
    for (i = 0; i < plan->nengagements; i++) {
        e = effect_push(fx, INCIDENT_EFFECT_ENGAGE);
        if (!e || !(e->contact = xstrdup(plan->engagements[i])))
            return CORDON_ENOMEM;
    }
    if (plan->has_runbook) {
        e = effect_push(fx, INCIDENT_EFFECT_RUNBOOK);
        if (!e)
            return CORDON_ENOMEM;
        e->document_name = xstrdup(plan->document_name);
        if (plan->document_version[0])
            e->document_version = xstrdup(plan->document_version);
        e->parameters = plan->parameters ? json_deep_copy(plan->parameters) : json_object();
        e->dynamic = json_object();
        if (!e->document_name || !e->parameters || !e->dynamic)
            return CORDON_ENOMEM;
        for (i = 0; i < plan->ndynamic; i++) {
            const struct response_plan_dynamic *d = &plan->dynamic[i];
            if (d->variable == RESPONSE_PLAN_VAR_INCIDENT_RECORD_ARN) {
                json_object_set_new(e->parameters, d->key, json_pack("[s]", inc->id));
                json_object_set_new(e->dynamic, d->key, json_string("INCIDENT_RECORD_ARN"));
            } else {
                json_object_set_new(e->parameters, d->key, incident_involved_things(inc));
                json_object_set_new(e->dynamic, d->key, json_string("INVOLVED_RESOURCES"));
            }
        }
    }
    return notify(inc, "IncidentCreated", fx);
}

static int base_start(struct incident *inc, const struct response_plan *plan,
                      const struct response_plan_vars *vars, const struct incident_env *env,
                      const char *source, const char *created_by, int64_t now_ms,
                      const struct incident_random *rnd)
{
    char uuid[37];
    const struct response_plan_related *rel;
    size_t nrel, i;
    int r;

    if ((r = incident_uuid(rnd, uuid)))
        return r;
    snprintf(inc->id, sizeof(inc->id), "cordon:incident/%s/%s", plan->name, uuid);
    copy(inc->plan, sizeof(inc->plan), plan->name);
    if ((r = render_to(plan->title, vars, false, INCIDENT_TITLE_MAX, inc->title)))
        return r;
    inc->summary = malloc(INCIDENT_SUMMARY_MAX + 1);
    if (!inc->summary)
        return CORDON_ENOMEM;
    if ((r = render_to(plan->summary, vars, false, INCIDENT_SUMMARY_MAX, inc->summary)))
        return r;
    inc->impact = plan->impact;
    inc->status = INCIDENT_OPEN;
    inc->created_ms = inc->modified_ms = now_ms;
    copy(inc->source, sizeof(inc->source), source);
    copy(inc->created_by, sizeof(inc->created_by), created_by);
    copy(inc->modified_by, sizeof(inc->modified_by), created_by);
    copy(inc->invoked_by, sizeof(inc->invoked_by), env ? env->invoked_by : NULL);
    if (plan->incident_tags && !(inc->tags = json_deep_copy(plan->incident_tags)))
        return CORDON_ENOMEM;
    inc->ntargets = plan->ntargets;
    memcpy(inc->targets, plan->targets, sizeof(plan->targets));
    nrel = response_plan_related_items(plan, &rel);
    for (i = 0; i < nrel; i++) {
        char url[RESPONSE_PLAN_URL_MAX + 1];
        if ((r = render_to(rel[i].url, vars, true, RESPONSE_PLAN_URL_MAX, url)))
            return r;
        r = incident_item_add(inc, INCIDENT_ITEM_OTHER, rel[i].title, url, true, rnd);
        if (r && r != CORDON_EEXIST && r != CORDON_EINVAL)
            return r;
    }
    return 0;
}

static json_t *violation_json(const struct incident_violation *v)
{
    static const char *const types[] = { "in-alarm", "alarm-cleared", "alarm-invalidated" };
    static const char *const verif[] = { "UNKNOWN", "TRUE_POSITIVE", "FALSE_POSITIVE",
                                         "BENIGN_POSITIVE" };
    char t[32];
    json_t *o, *mv = NULL, *th = NULL;

    incident_time_iso(v->time_ms, t, sizeof(t));
    o = json_pack("{ss ss ss ss ss ss sb ss}", "violationId",
                  v->violation_id ? v->violation_id : "", "thingName",
                  v->thing_name ? v->thing_name : "", "securityProfileName",
                  v->profile ? v->profile : "", "behaviorName", v->behavior ? v->behavior : "",
                  "violationEventType", types[v->type % 3], "violationEventTime", t, "suppressed",
                  v->suppressed, "verificationState", verif[v->verification % 4]);
    if (!o)
        return NULL;
    if (v->metric)
        json_object_set_new(o, "metric", json_string(v->metric));
    if (v->metric_value_json && (mv = json_loads(v->metric_value_json, JSON_DECODE_ANY, NULL)))
        json_object_set_new(o, "metricValue", mv);
    if (v->thing_json && (th = json_loads(v->thing_json, JSON_DECODE_ANY, NULL)))
        json_object_set_new(o, "thing", th);
    return o;
}

int incident_start(struct incident *inc, const struct response_plan *plan,
                   const struct incident_violation *v, const struct incident_env *env,
                   int64_t now_ms, const struct incident_random *rnd, struct incident_effects *fx)
{
    struct response_plan_vars vars;
    char t[32];
    json_t *raw, *trig;
    char *rawtext;
    int r;

    if (!may_start(v))
        return CORDON_ESTATE;
    vars_of(plan, v, env, &vars);
    if ((r = base_start(inc, plan, &vars, env, INCIDENT_SOURCE_DETECT, INCIDENT_SOURCE_DETECT,
                        now_ms, rnd)))
        return r;
    if ((r = incident_dedupe(plan, v, inc->dedupe)))
        return r;
    copy(inc->resource, sizeof(inc->resource), v->violation_id);
    copy(inc->thing, sizeof(inc->thing), v->thing_name);
    copy(inc->profile, sizeof(inc->profile), v->profile);
    copy(inc->behavior, sizeof(inc->behavior), v->behavior);
    copy(inc->metric, sizeof(inc->metric), v->metric);
    if (v->metric_value_json && !(inc->metric_value = xstrdup(v->metric_value_json)))
        return CORDON_ENOMEM;
    inc->first_datapoint_ms = v->first_datapoint_ms;
    if ((r = token_add(inc, v->violation_id)))
        return r;
    if ((r = add_thing(inc, v->thing_name, rnd)) < 0)
        return r;
    raw = violation_json(v);
    rawtext = raw ? json_dumps(raw, JSON_COMPACT) : NULL;
    json_decref(raw);
    if (!rawtext)
        return CORDON_ENOMEM;
    if (strlen(rawtext) > 10000)
        rawtext[10000] = '\0'; /* triggerDetails.rawData cap */
    incident_time_iso(v->time_ms, t, sizeof(t));
    trig = json_pack("{ss ss ss ss}", "title", inc->title, "source", INCIDENT_SOURCE_DETECT,
                     "timestamp", t, "rawData", rawtext);
    free(rawtext);
    if ((r = event_json(inc, INCIDENT_EVENT_TRIGGER, trig, now_ms, rnd)))
        return r;
    return start_effects(inc, plan, fx);
}

int incident_start_manual(struct incident *inc, const struct response_plan *plan, const char *title,
                          int impact, const char *created_by, const struct incident_env *env,
                          int64_t now_ms, const struct incident_random *rnd,
                          struct incident_effects *fx)
{
    struct response_plan_vars vars;
    char uuid[37], t[32];
    int r;

    if (impact < 0 || impact > 5 || (title && (!*title || strlen(title) > INCIDENT_TITLE_MAX)))
        return CORDON_EINVAL;
    vars_of(plan, NULL, env, &vars);
    if ((r = base_start(inc, plan, &vars, env, INCIDENT_SOURCE_MANUAL, created_by, now_ms, rnd)))
        return r;
    if (title)
        copy(inc->title, sizeof(inc->title), title);
    if (impact)
        inc->impact = impact;
    /* no dedupe string given for a manual start: a fresh uuid, nothing merges (§7) */
    if ((r = incident_uuid(rnd, uuid)))
        return r;
    copy(inc->dedupe, sizeof(inc->dedupe), uuid);
    incident_time_iso(now_ms, t, sizeof(t));
    if ((r = event_json(inc, INCIDENT_EVENT_TRIGGER,
                        json_pack("{ss ss ss ss}", "title", inc->title, "source",
                                  INCIDENT_SOURCE_MANUAL, "timestamp", t, "createdBy",
                                  created_by ? created_by : ""),
                        now_ms, rnd)))
        return r;
    return start_effects(inc, plan, fx);
}

int incident_join(struct incident *inc, const struct incident_violation *v, int64_t now_ms,
                  const struct incident_random *rnd, struct incident_effects *fx)
{
    int r, added;

    if (token_seen(inc, v->violation_id))
        return CORDON_EEXIST;
    if (inc->status != INCIDENT_OPEN)
        return CORDON_ESTATE;
    if (!may_start(v))
        return CORDON_EINVAL;
    if ((r = token_add(inc, v->violation_id)))
        return r;
    added = add_thing(inc, v->thing_name, rnd);
    if (added < 0)
        return added;
    r = event_json(inc, INCIDENT_EVENT_MERGE,
                   json_pack("{so sb}", "trigger", violation_json(v), "involvedResourceAdded",
                             added == 0 && v->thing_name && *v->thing_name),
                   now_ms, rnd);
    if (r)
        return r;
    inc->modified_ms = now_ms;
    return notify(inc, "IncidentMerged", fx);
}

int incident_record(struct incident *inc, const struct incident_violation *v, int64_t now_ms,
                    const struct incident_random *rnd)
{
    if (v->type == INCIDENT_VIOLATION_IN_ALARM)
        return CORDON_EINVAL;
    return event_json(inc, INCIDENT_EVENT_VIOLATION, violation_json(v), now_ms, rnd);
}

/* ---- updates ------------------------------------------------------------------------------- */

int incident_update(struct incident *inc, const struct incident_update *u, const char *who,
                    int64_t now_ms, const struct incident_random *rnd, struct incident_effects *fx)
{
    json_t *changes;
    bool resolved = false;
    int r;

    if ((u->title && (!*u->title || strlen(u->title) > INCIDENT_TITLE_MAX)) ||
        (u->summary && strlen(u->summary) > INCIDENT_SUMMARY_MAX) || u->impact < 0 ||
        u->impact > 5 || u->status < -1 || u->status > INCIDENT_RESOLVED)
        return CORDON_EINVAL;
    changes = json_object();
    if (!changes)
        return CORDON_ENOMEM;
    if (u->title && strcmp(u->title, inc->title)) {
        json_object_set_new(changes, "title",
                            json_pack("{ssss}", "from", inc->title, "to", u->title));
        copy(inc->title, sizeof(inc->title), u->title);
    }
    if (u->summary && (!inc->summary || strcmp(u->summary, inc->summary))) {
        char *s = xstrdup(u->summary);
        if (!s) {
            json_decref(changes);
            return CORDON_ENOMEM;
        }
        free(inc->summary);
        inc->summary = s;
        json_object_set_new(changes, "summary", json_string(s));
    }
    if (u->impact && u->impact != inc->impact) {
        json_object_set_new(changes, "impact",
                            json_pack("{sisi}", "from", inc->impact, "to", u->impact));
        inc->impact = u->impact;
    }
    if (u->status >= 0 && (enum incident_status)u->status != inc->status) {
        json_object_set_new(changes, "status",
                            json_pack("{ssss}", "from", incident_status_name(inc->status), "to",
                                      incident_status_name((enum incident_status)u->status)));
        inc->status = (enum incident_status)u->status;
        if (inc->status == INCIDENT_RESOLVED) {
            inc->resolved_ms = now_ms;
            resolved = true;
        } else {
            inc->resolved_ms = 0;
        }
    }
    if (!json_object_size(changes)) {
        json_decref(changes);
        return 0;
    }
    inc->modified_ms = now_ms;
    copy(inc->modified_by, sizeof(inc->modified_by), who);
    r = event_json(inc, INCIDENT_EVENT_UPDATE,
                   json_pack("{ss so}", "modifiedBy", who ? who : "", "changes", changes), now_ms,
                   rnd);
    if (r)
        return r;
    if (resolved && fx && !effect_push(fx, INCIDENT_EFFECT_STOP_ENGAGEMENTS))
        return CORDON_ENOMEM;
    return notify(inc, resolved ? "IncidentResolved" : "IncidentUpdated", fx);
}

int incident_resolve(struct incident *inc, const char *who, int64_t now_ms,
                     const struct incident_random *rnd, struct incident_effects *fx)
{
    struct incident_update u = { NULL, NULL, 0, INCIDENT_RESOLVED };

    if (inc->status == INCIDENT_RESOLVED)
        return CORDON_ESTATE;
    return incident_update(inc, &u, who, now_ms, rnd, fx);
}

int incident_note_ack(struct incident *inc, const char *contact, const char *channel,
                      const char *note, int64_t now_ms, const struct incident_random *rnd)
{
    bool first = inc->acknowledged_ms == 0;

    if (first)
        inc->acknowledged_ms = now_ms;
    return event_json(inc, INCIDENT_EVENT_ACK,
                      json_pack("{ss ss ss sb}", "contact", contact ? contact : "", "channel",
                                channel ? channel : "", "note", note ? note : "",
                                "firstAcknowledgement", first),
                      now_ms, rnd);
}

int incident_note_quarantine(struct incident *inc, const char *thing, bool enforced, int64_t now_ms,
                             const struct incident_random *rnd)
{
    if (enforced && !inc->contained_ms)
        inc->contained_ms = now_ms;
    return event_json(inc, INCIDENT_EVENT_QUARANTINE,
                      json_pack("{ss sb}", "thingName", thing ? thing : "", "enforced", enforced),
                      now_ms, rnd);
}

int incident_note_release(struct incident *inc, const char *thing, int64_t now_ms,
                          const struct incident_random *rnd)
{
    return event_json(inc, INCIDENT_EVENT_RELEASE,
                      json_pack("{ss}", "thingName", thing ? thing : ""), now_ms, rnd);
}

int incident_note_runbook(struct incident *inc, const char *execution_id, const char *step,
                          const char *status, const char *message, int64_t now_ms,
                          const struct incident_random *rnd)
{
    return event_json(inc, INCIDENT_EVENT_RUNBOOK,
                      json_pack("{ss ss ss ss}", "executionId", execution_id ? execution_id : "",
                                "step", step ? step : "", "status", status ? status : "", "message",
                                message ? message : ""),
                      now_ms, rnd);
}

bool incident_filter_match(const struct incident_filter *f, const struct incident *inc)
{
    if (f->status_mask && !(f->status_mask & (1u << inc->status)))
        return false;
    if (f->impact_mask && !(f->impact_mask & (1u << inc->impact)))
        return false;
    if (f->created_after && !(inc->created_ms > f->created_after))
        return false;
    if (f->created_before && !(inc->created_ms < f->created_before))
        return false;
    if (f->plan && strcmp(f->plan, inc->plan))
        return false;
    if (f->created_by && strcmp(f->created_by, inc->created_by))
        return false;
    return true;
}

/* ---- JSON ---------------------------------------------------------------------------------- */

static void set_time(json_t *o, const char *k, int64_t ms)
{
    char t[32];

    if (!ms)
        return;
    incident_time_iso(ms, t, sizeof(t));
    json_object_set_new(o, k, json_string(t));
}

json_t *incident_to_json(const struct incident *inc)
{
    json_t *o = json_object(), *a, *ms;
    size_t i;

    if (!o)
        return NULL;
    json_object_set_new(o, "arn", json_string(inc->id));
    json_object_set_new(o, "responsePlan", json_string(inc->plan));
    json_object_set_new(o, "title", json_string(inc->title));
    json_object_set_new(o, "impact", json_integer(inc->impact));
    json_object_set_new(o, "status", json_string(incident_status_name(inc->status)));
    json_object_set_new(o, "summary", json_string(inc->summary ? inc->summary : ""));
    json_object_set_new(o, "dedupeString", json_string(inc->dedupe));
    set_time(o, "creationTime", inc->created_ms);
    set_time(o, "resolvedTime", inc->resolved_ms);
    set_time(o, "lastModifiedTime", inc->modified_ms);
    set_time(o, "acknowledgedTime", inc->acknowledged_ms);
    set_time(o, "containedTime", inc->contained_ms);
    json_object_set_new(o, "lastModifiedBy", json_string(inc->modified_by));
    json_object_set_new(o, "incidentRecordSource",
                        json_pack("{ss ss ss ss}", "createdBy", inc->created_by, "invokedBy",
                                  inc->invoked_by, "resourceArn", inc->resource, "source",
                                  inc->source));
    /* exact times in ms, for storage round trips and metrics */
    ms = json_pack("{sI sI sI sI sI sI}", "creation", (json_int_t)inc->created_ms, "resolved",
                   (json_int_t)inc->resolved_ms, "lastModified", (json_int_t)inc->modified_ms,
                   "acknowledged", (json_int_t)inc->acknowledged_ms, "contained",
                   (json_int_t)inc->contained_ms, "firstDatapoint",
                   (json_int_t)inc->first_datapoint_ms);
    json_object_set_new(o, "timesMs", ms);
    json_object_set_new(o, "trigger",
                        json_pack("{ss ss ss ss}", "thingName", inc->thing, "securityProfileName",
                                  inc->profile, "behaviorName", inc->behavior, "metric",
                                  inc->metric));
    if (inc->metric_value) {
        json_t *mv = json_loads(inc->metric_value, JSON_DECODE_ANY, NULL);
        json_object_set_new(json_object_get(o, "trigger"), "metricValue",
                            mv ? mv : json_string(inc->metric_value));
    }
    if (inc->tags)
        json_object_set(o, "incidentTags", inc->tags);
    a = json_array();
    for (i = 0; i < inc->ntargets; i++)
        json_array_append_new(a, json_pack("{ss}",
                                           inc->targets[i].type == RESPONSE_PLAN_TARGET_MQTT
                                               ? "mqttTopic"
                                               : "webhookUrl",
                                           inc->targets[i].value));
    json_object_set_new(o, "notificationTargets", a);
    a = json_array();
    for (i = 0; i < inc->nitems; i++) {
        const struct incident_item *it = &inc->items[i];
        json_array_append_new(a, json_pack("{ss ss s{ss s{ss}}}", "generatedId", it->id, "title",
                                           it->title, "identifier", "type",
                                           incident_item_type_name(it->type), "value",
                                           it->is_url ? "url" : "arn", it->value));
    }
    json_object_set_new(o, "relatedItems", a);
    a = json_array();
    for (i = 0; i < inc->nevents; i++) {
        const struct incident_event *e = &inc->events[i];
        char t[32], tu[32];
        json_t *ev;
        incident_time_iso(e->time_ms, t, sizeof(t));
        incident_time_iso(e->updated_ms, tu, sizeof(tu));
        ev = json_pack("{ss ss ss ss ss sI sI}", "eventId", e->id, "eventTime", t,
                       "eventUpdatedTime", tu, "eventType", e->type, "eventData",
                       e->data ? e->data : "", "eventTimeMs", (json_int_t)e->time_ms,
                       "eventUpdatedTimeMs", (json_int_t)e->updated_ms);
        if (ev && e->refs)
            json_object_set(ev, "eventReferences", e->refs);
        json_array_append_new(a, ev);
    }
    json_object_set_new(o, "timeline", a);
    a = json_array();
    for (i = 0; i < inc->ntokens; i++)
        json_array_append_new(a, json_string(inc->tokens[i]));
    json_object_set_new(o, "clientTokens", a);
    return o;
}

static int bad(struct cordon_diag *d, const char *field)
{
    cordon_diag_set(d, "InvalidField", 0, 0, 0, "incident: %s: missing or invalid", field);
    return CORDON_EINVAL;
}

static int get_str(const json_t *o, const char *k, char *out, size_t n, struct cordon_diag *d)
{
    const json_t *v = json_object_get(o, k);

    if (!json_is_string(v) || json_string_length(v) >= n)
        return bad(d, k);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int64_t get_ms(const json_t *ms, const char *k)
{
    return (int64_t)json_integer_value(json_object_get(ms, k));
}

int incident_from_json(struct incident *inc, const json_t *v, struct cordon_diag *d)
{
    static const char *const tnames[] = { "mqttTopic", "webhookUrl", NULL };
    const json_t *ms, *src, *trig, *a, *x;
    size_t i;
    int r, e;

    incident_free(inc);
    if (!json_is_object(v))
        return bad(d, "(document)");
    if ((r = get_str(v, "arn", inc->id, sizeof(inc->id), d)) ||
        (r = get_str(v, "responsePlan", inc->plan, sizeof(inc->plan), d)) ||
        (r = get_str(v, "title", inc->title, sizeof(inc->title), d)) ||
        (r = get_str(v, "dedupeString", inc->dedupe, sizeof(inc->dedupe), d)) ||
        (r = get_str(v, "lastModifiedBy", inc->modified_by, sizeof(inc->modified_by), d)))
        goto fail;
    x = json_object_get(v, "impact");
    if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > 5) {
        r = bad(d, "impact");
        goto fail;
    }
    inc->impact = (int)json_integer_value(x);
    x = json_object_get(v, "status");
    if (!json_is_string(x) ||
        (strcmp(json_string_value(x), "OPEN") && strcmp(json_string_value(x), "RESOLVED"))) {
        r = bad(d, "status");
        goto fail;
    }
    inc->status = strcmp(json_string_value(x), "OPEN") ? INCIDENT_RESOLVED : INCIDENT_OPEN;
    x = json_object_get(v, "summary");
    if (!json_is_string(x) || !(inc->summary = xstrdup(json_string_value(x)))) {
        r = bad(d, "summary");
        goto fail;
    }
    ms = json_object_get(v, "timesMs");
    if (!json_is_object(ms)) {
        r = bad(d, "timesMs");
        goto fail;
    }
    inc->created_ms = get_ms(ms, "creation");
    inc->resolved_ms = get_ms(ms, "resolved");
    inc->modified_ms = get_ms(ms, "lastModified");
    inc->acknowledged_ms = get_ms(ms, "acknowledged");
    inc->contained_ms = get_ms(ms, "contained");
    inc->first_datapoint_ms = get_ms(ms, "firstDatapoint");
    src = json_object_get(v, "incidentRecordSource");
    if ((r = get_str(src, "createdBy", inc->created_by, sizeof(inc->created_by), d)) ||
        (r = get_str(src, "invokedBy", inc->invoked_by, sizeof(inc->invoked_by), d)) ||
        (r = get_str(src, "resourceArn", inc->resource, sizeof(inc->resource), d)) ||
        (r = get_str(src, "source", inc->source, sizeof(inc->source), d)))
        goto fail;
    trig = json_object_get(v, "trigger");
    if ((r = get_str(trig, "thingName", inc->thing, sizeof(inc->thing), d)) ||
        (r = get_str(trig, "securityProfileName", inc->profile, sizeof(inc->profile), d)) ||
        (r = get_str(trig, "behaviorName", inc->behavior, sizeof(inc->behavior), d)) ||
        (r = get_str(trig, "metric", inc->metric, sizeof(inc->metric), d)))
        goto fail;
    x = json_object_get(trig, "metricValue");
    if (x && !(inc->metric_value = json_dumps(x, JSON_COMPACT | JSON_ENCODE_ANY))) {
        r = CORDON_ENOMEM;
        goto fail;
    }
    x = json_object_get(v, "incidentTags");
    if (json_is_object(x))
        inc->tags = json_deep_copy(x);
    a = json_object_get(v, "notificationTargets");
    if (!json_is_array(a) || json_array_size(a) > RESPONSE_PLAN_TARGETS_MAX) {
        r = bad(d, "notificationTargets");
        goto fail;
    }
    for (i = 0; i < json_array_size(a); i++) {
        const json_t *t = json_array_get(a, i);
        for (e = 0; tnames[e]; e++)
            if (json_is_string(json_object_get(t, tnames[e])))
                break;
        if (!tnames[e] ||
            json_string_length(json_object_get(t, tnames[e])) > RESPONSE_PLAN_TARGET_MAX) {
            r = bad(d, "notificationTargets");
            goto fail;
        }
        inc->targets[i].type = (enum response_plan_target_type)e;
        copy(inc->targets[i].value, sizeof(inc->targets[i].value),
             json_string_value(json_object_get(t, tnames[e])));
        inc->ntargets++;
    }
    a = json_object_get(v, "relatedItems");
    if (!json_is_array(a) || json_array_size(a) > INCIDENT_ITEMS_MAX) {
        r = bad(d, "relatedItems");
        goto fail;
    }
    inc->items = calloc(json_array_size(a) + 1, sizeof(*inc->items));
    if (!inc->items) {
        r = CORDON_ENOMEM;
        goto fail;
    }
    inc->aitems = json_array_size(a) + 1;
    for (i = 0; i < json_array_size(a); i++) {
        const json_t *it = json_array_get(a, i), *idf = json_object_get(it, "identifier");
        const json_t *val = json_object_get(idf, "value");
        struct incident_item *o = &inc->items[i];
        const char *kind;
        if ((r = get_str(it, "generatedId", o->id, sizeof(o->id), d)) ||
            (r = get_str(it, "title", o->title, sizeof(o->title), d)))
            goto fail;
        x = json_object_get(idf, "type");
        for (e = 0; item_type_names[e]; e++)
            if (json_is_string(x) && !strcmp(json_string_value(x), item_type_names[e]))
                break;
        if (!item_type_names[e] || !json_is_object(val) || json_object_size(val) != 1) {
            r = bad(d, "relatedItems.identifier");
            goto fail;
        }
        o->type = (enum incident_item_type)e;
        kind = json_object_iter_key(json_object_iter((json_t *)val));
        o->is_url = !strcmp(kind, "url");
        if ((r = get_str(val, kind, o->value, sizeof(o->value), d)))
            goto fail;
        inc->nitems++;
    }
    a = json_object_get(v, "timeline");
    if (!json_is_array(a) || json_array_size(a) > INCIDENT_EVENTS_MAX) {
        r = bad(d, "timeline");
        goto fail;
    }
    inc->events = calloc(json_array_size(a) + 1, sizeof(*inc->events));
    if (!inc->events) {
        r = CORDON_ENOMEM;
        goto fail;
    }
    inc->aevents = json_array_size(a) + 1;
    for (i = 0; i < json_array_size(a); i++) {
        const json_t *ev = json_array_get(a, i);
        struct incident_event *o = &inc->events[i];
        if ((r = get_str(ev, "eventId", o->id, sizeof(o->id), d)) ||
            (r = get_str(ev, "eventType", o->type, sizeof(o->type), d)))
            goto fail;
        x = json_object_get(ev, "eventData");
        if (!json_is_string(x) || !(o->data = xstrdup(json_string_value(x)))) {
            r = bad(d, "timeline.eventData");
            goto fail;
        }
        o->time_ms = (int64_t)json_integer_value(json_object_get(ev, "eventTimeMs"));
        o->updated_ms = (int64_t)json_integer_value(json_object_get(ev, "eventUpdatedTimeMs"));
        x = json_object_get(ev, "eventReferences");
        if (json_is_array(x))
            o->refs = json_deep_copy(x);
        inc->nevents++;
    }
    a = json_object_get(v, "clientTokens");
    for (i = 0; json_is_array(a) && i < json_array_size(a); i++) {
        x = json_array_get(a, i);
        if (json_is_string(x) && (r = token_add(inc, json_string_value(x))))
            goto fail;
    }
    return 0;
fail:
    return r;
}
