/*
 * incidents.c — incidents, engagements and escalation in cordond (issue 7).
 *
 * Drives the pure core (lib/incident, lib/engagement, lib/response_plan,
 * lib/contact) from the loop: violation events start or join incidents,
 * effects become outbox rows (pages, notifications), timeline events and
 * durable timers ("engagement"). Every incident is held in memory (a uthash
 * by uuid) and written through as store documents ("incident",
 * "engagement") in the turn's transaction, so the state and the outbox rows
 * it caused commit together. Recipe: docs/paging.md "Driving it from cordond".
 */
#include "incidents.h"

#include "analysis.h"
#include "cordon.h"
#include "detect.h"
#include "http.h"
#include "incidents_int.h"
#include "log.h"
#include "modules.h"
#include "outbox.h"
#include "registry.h"
#include "runbooks.h"
#include "server.h"
#include "stack.h"
#include "timers.h"
#include "violations.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct incidents *g_inc; /* one cordond per process; the loop owns it */

struct incidents *incidents_of(struct server *s)
{
    (void)s;
    return g_inc;
}

static int rnd_fill(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    randombytes_buf(buf, n);
    return 0;
}

const struct incident_random incidents_rnd = { rnd_fill, NULL };

/* Weak: the runbooks module may not be linked in yet. */
int runbooks_start(struct server *s, const char *name, const char *version, const json_t *params,
                   const char *incident_id, char *exec_id, size_t exec_id_len,
                   struct cordon_diag *diag) __attribute__((weak));

/* ---- lookup and persistence ------------------------------------------------------------- */

static const char *uuid_tail(const char *id)
{
    const char *p = strrchr(id, '/');
    return p ? p + 1 : id;
}

struct inc_entry *incidents_find(struct server *s, const char *id)
{
    struct inc_entry *e = NULL;
    if (!id || !g_inc)
        return NULL;
    (void)s;
    HASH_FIND_STR(g_inc->all, uuid_tail(id), e);
    return e;
}

const struct response_plan *incidents_plan(struct server *s, const char *name)
{
    (void)s;
    for (size_t i = 0; name && i < g_inc->nplans; i++)
        if (!strcmp(g_inc->plans[i]->name, name))
            return g_inc->plans[i];
    return NULL;
}

static int put_json(struct server *s, const char *kind, const char *name, json_t *j)
{
    char *text;
    int rc;
    if (!j)
        return CORDON_ENOMEM;
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text)
        return CORDON_ENOMEM;
    rc = store_doc_put(s->store, kind, name, text, server_now(s));
    free(text);
    return rc;
}

int incidents_save(struct server *s, struct inc_entry *e)
{
    int rc = put_json(s, INCIDENTS_DOC_INCIDENT, e->uuid, incident_to_json(&e->inc));
    if (!rc && e->has_eng)
        rc = put_json(s, INCIDENTS_DOC_ENGAGEMENT, e->uuid, engagement_to_json(&e->eng));
    if (rc)
        log_error("cannot store incident", "incident=%s error=%s", e->inc.id, cordon_strerror(rc));
    return rc;
}

int incidents_contact_save(struct server *s, const struct contact *c)
{
    return put_json(s, INCIDENTS_DOC_CONTACT, c->alias, contact_to_json(c, true));
}

static struct inc_entry *entry_new(void)
{
    struct inc_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    incident_init(&e->inc);
    engagement_init(&e->eng);
    return e;
}

static void entry_free(struct inc_entry *e)
{
    incident_free(&e->inc);
    engagement_free(&e->eng);
    free(e);
}

static void entry_add(struct inc_entry *e)
{
    const char *t = uuid_tail(e->inc.id);
    size_t n = strlen(t);
    if (n >= sizeof(e->uuid))
        n = sizeof(e->uuid) - 1;
    memcpy(e->uuid, t, n);
    e->uuid[n] = 0;
    HASH_ADD_STR(g_inc->all, uuid, e);
}

/* ---- effects ------------------------------------------------------------------------------ */

static void ack_template(struct server *s, char *out, size_t n)
{
    const char *base = s->cfg.ack_base_url[0] ? s->cfg.ack_base_url : s->cfg.console_url;
    size_t len = strlen(base);
    if (strstr(base, "{{token}}")) { /* a whole template */
        snprintf(out, n, "%s", base);
        return;
    }
    while (len && base[len - 1] == '/')
        len--;
    snprintf(out, n, "%.*s/ack/{{token}}", (int)len, base);
}

static int ensure_engagement(struct server *s, struct inc_entry *e)
{
    char tmpl[CONFIG_STR_MAX + 32];
    int rc;
    if (e->has_eng)
        return 0;
    ack_template(s, tmpl, sizeof(tmpl));
    rc = engagement_open(&e->eng, &e->inc, tmpl, 0);
    if (!rc)
        e->has_eng = true;
    return rc;
}

void incidents_engagement_effects(struct server *s, struct inc_entry *e,
                                  struct engagement_effects *fx)
{
    int64_t now = server_now(s);
    for (size_t i = 0; i < fx->n; i++) {
        struct engagement_effect *f = &fx->items[i];
        switch (f->type) {
        case ENGAGEMENT_EFFECT_PAGE: {
            json_t *p = json_pack(
                "{s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:s?,s:s?,s:s?,s:s?,s:s?,s:s}", "incident",
                e->uuid, "pageId", f->page_id, "contact", f->contact, "channel", f->channel, "type",
                contact_channel_type_name(f->channel_type), "format",
                contact_webhook_format_name(f->webhook_format), "stage", f->stage, "attempt",
                f->attempt, "subject", f->subject, "body", f->body, "shortText", f->short_text,
                "webhookJson", f->webhook_json, "ackUrl", f->ack_url, "address", f->address);
            char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
            json_decref(p);
            if (!text || outbox_add(s, INCIDENTS_PAGE_KIND, f->idempotency_key, f->address, text,
                                    strlen(text)))
                log_error("cannot queue page", "incident=%s page=%s", e->inc.id, f->page_id);
            free(text);
            break;
        }
        case ENGAGEMENT_EFFECT_TIMELINE:
            incident_event_add(&e->inc, f->event_type, f->event_data, NULL, now, &incidents_rnd,
                               NULL);
            break;
        case ENGAGEMENT_EFFECT_ACKNOWLEDGED:
            incident_note_ack(&e->inc, f->contact, f->channel, NULL, f->time_ms ? f->time_ms : now,
                              &incidents_rnd);
            break;
        case ENGAGEMENT_EFFECT_WAKE: {
            char key[64];
            snprintf(key, sizeof(key), "engagement:%s", e->uuid);
            if (f->due_ms < 0)
                timers_cancel(s, key);
            else
                timers_set(s, key, INCIDENTS_TIMER_KIND, f->due_ms, e->uuid);
            break;
        }
        }
    }
}

static void notify(struct server *s, struct inc_entry *e, const struct incident_effect *f, int n)
{
    char key[400];
    snprintf(key, sizeof(key), "notify:%s:%d:%zu", e->uuid, n, e->inc.nevents);
    if (f->target.type == RESPONSE_PLAN_TARGET_MQTT)
        outbox_add(s, "mqtt", key, f->target.value, f->payload, strlen(f->payload));
    else
        outbox_add(s, "webhook", key, f->target.value, f->payload, strlen(f->payload));
}

static void start_runbook(struct server *s, struct inc_entry *e, const struct incident_effect *f)
{
    char exec_id[128] = "";
    struct cordon_diag diag;
    int rc;
    int64_t now = server_now(s);
    cordon_diag_clear(&diag);
    if (!runbooks_start) {
        incident_note_runbook(&e->inc, "", "", "Failed",
                              "runbooks are not available in this cordond build", now,
                              &incidents_rnd);
        return;
    }
    rc = runbooks_start(s, f->document_name, f->document_version, f->parameters, e->inc.id, exec_id,
                        sizeof(exec_id), &diag);
    if (rc) {
        char msg[600];
        snprintf(msg, sizeof(msg), "runbook %s did not start: %s", f->document_name,
                 diag.message[0] ? diag.message : cordon_strerror(rc));
        json_t *j = json_pack("{s:s}", "message", msg);
        char *data = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        incident_event_add(&e->inc, "SSM Automation Execution Start Failure for Incident", data,
                           NULL, now, &incidents_rnd, NULL);
        free(data);
        log_warn("runbook did not start", "incident=%s document=%s error=\"%s\"", e->inc.id,
                 f->document_name, msg);
        return;
    }
    incident_item_add(&e->inc, INCIDENT_ITEM_AUTOMATION, f->document_name, exec_id, false,
                      &incidents_rnd);
}

void incidents_incident_effects(struct server *s, struct inc_entry *e, struct incident_effects *fx)
{
    int64_t now = server_now(s);
    for (size_t i = 0; i < fx->n; i++) {
        struct incident_effect *f = &fx->items[i];
        struct engagement_effects efx;
        int rc;
        engagement_effects_init(&efx);
        switch (f->type) {
        case INCIDENT_EFFECT_ENGAGE:
            rc = ensure_engagement(s, e);
            if (!rc)
                rc = engagement_start(&e->eng, f->contact, &g_inc->book, now, &incidents_rnd, &efx);
            if (rc)
                log_warn("cannot engage contact", "incident=%s contact=%s error=%s", e->inc.id,
                         f->contact, cordon_strerror(rc));
            incidents_engagement_effects(s, e, &efx);
            break;
        case INCIDENT_EFFECT_RUNBOOK:
            start_runbook(s, e, f);
            break;
        case INCIDENT_EFFECT_NOTIFY:
            notify(s, e, f, (int)i);
            break;
        case INCIDENT_EFFECT_STOP_ENGAGEMENTS:
            if (e->has_eng) {
                engagement_stop(&e->eng, "incident resolved", now, &efx);
                incidents_engagement_effects(s, e, &efx);
            }
            break;
        }
        engagement_effects_free(&efx);
    }
}

/* ---- starting incidents -------------------------------------------------------------------- */

static void env_of(struct server *s, struct incident_env *env)
{
    env->console_base_url = s->cfg.console_url;
    env->invoked_by = "cordond";
}

static void count_new(void)
{
    g_inc->created++;
}

int incidents_start_manual(struct server *s, const struct response_plan *plan, const char *title,
                           int impact, const char *who, struct inc_entry **out)
{
    struct incident_env env;
    struct incident_effects fx;
    struct inc_entry *e = entry_new();
    int rc;
    *out = NULL;
    if (!e)
        return CORDON_ENOMEM;
    env_of(s, &env);
    incident_effects_init(&fx);
    rc = incident_start_manual(&e->inc, plan, title, impact, who, &env, server_now(s),
                               &incidents_rnd, &fx);
    if (rc) {
        incident_effects_free(&fx);
        entry_free(e);
        return rc;
    }
    entry_add(e);
    count_new();
    incidents_incident_effects(s, e, &fx);
    incident_effects_free(&fx);
    incidents_save(s, e);
    log_info("incident started", "incident=%s plan=%s source=manual", e->inc.id, plan->name);
    *out = e;
    return 0;
}

static void on_violation(struct server *s, void *arg, const struct detect_event *ev)
{
    const struct response_plan *plan;
    struct incident_violation v;
    struct buf scratch;
    struct incident **known = NULL;
    struct inc_entry **ents = NULL, *e, *tmp;
    size_t n = 0, idx = 0, cap = HASH_COUNT(g_inc->all) + 1;
    struct incident_effects fx;
    int64_t now = server_now(s);
    enum incident_route route;
    (void)arg;

    if (!ev->response_plan)
        return;
    plan = incidents_plan(s, ev->response_plan);
    if (!plan) {
        log_warn("violation names an unknown response plan", "plan=%s thing=%s", ev->response_plan,
                 ev->thing);
        return;
    }
    buf_init(&scratch, 64 * 1024);
    if (incident_violation_from_detect(&v, ev, &scratch)) {
        buf_free(&scratch);
        return;
    }
    known = calloc(cap, sizeof(*known));
    ents = calloc(cap, sizeof(*ents));
    if (!known || !ents)
        goto out;
    HASH_ITER(hh, g_inc->all, e, tmp)
    {
        if (e->inc.status == INCIDENT_OPEN) {
            known[n] = &e->inc;
            ents[n++] = e;
        }
    }
    incident_effects_init(&fx);
    route = incident_route(plan, &v, known, n, &idx);
    switch (route) {
    case INCIDENT_ROUTE_START: {
        struct incident_env env;
        env_of(s, &env);
        e = entry_new();
        if (!e)
            break;
        if (incident_start(&e->inc, plan, &v, &env, now, &incidents_rnd, &fx)) {
            log_error("cannot start incident", "plan=%s thing=%s", plan->name, v.thing_name);
            entry_free(e);
            break;
        }
        entry_add(e);
        count_new();
        incidents_incident_effects(s, e, &fx);
        incidents_save(s, e);
        log_info("incident started", "incident=%s plan=%s thing=%s violation=%s", e->inc.id,
                 plan->name, v.thing_name, v.violation_id);
        break;
    }
    case INCIDENT_ROUTE_JOIN:
        e = ents[idx];
        if (!incident_join(&e->inc, &v, now, &incidents_rnd, &fx)) {
            incidents_incident_effects(s, e, &fx);
            incidents_save(s, e);
            log_info("violation joined incident", "incident=%s thing=%s violation=%s", e->inc.id,
                     v.thing_name, v.violation_id);
        }
        break;
    case INCIDENT_ROUTE_RECORD:
        e = ents[idx];
        if (!incident_record(&e->inc, &v, now, &incidents_rnd))
            incidents_save(s, e);
        break;
    case INCIDENT_ROUTE_DUPLICATE:
    case INCIDENT_ROUTE_IGNORE:
        break;
    }
    incident_effects_free(&fx);
out:
    free(known);
    free(ents);
    buf_free(&scratch);
}

/* ---- timers -------------------------------------------------------------------------------- */

static void on_timer(struct server *s, void *arg, const char *key, const char *payload)
{
    struct inc_entry *e = incidents_find(s, payload);
    struct engagement_effects fx;
    (void)arg;
    (void)key;
    if (!e || !e->has_eng)
        return;
    engagement_effects_init(&fx);
    if (!engagement_tick(&e->eng, &g_inc->book, server_now(s), &incidents_rnd, &fx)) {
        incidents_engagement_effects(s, e, &fx);
        incidents_save(s, e);
    }
    engagement_effects_free(&fx);
}

/* ---- the contract with runbooks (incidents.h) ----------------------------------------------- */

json_t *incidents_involved_things(struct server *s, const char *incident_id)
{
    struct inc_entry *e = incidents_find(s, incident_id);
    return e ? incident_involved_things(&e->inc) : NULL;
}

void incidents_note_runbook(struct server *s, const char *incident_id, const char *execution_id,
                            const char *step, const char *status, const char *message)
{
    struct inc_entry *e = incidents_find(s, incident_id);
    if (!e)
        return;
    incident_note_runbook(&e->inc, execution_id ? execution_id : "", step ? step : "",
                          status ? status : "", message ? message : "", server_now(s),
                          &incidents_rnd);
    incidents_save(s, e);
}

void incidents_note_quarantine(struct server *s, const char *incident_id, const char *thing,
                               bool enforced)
{
    struct inc_entry *e = incidents_find(s, incident_id);
    if (!e)
        return;
    incident_note_quarantine(&e->inc, thing, enforced, server_now(s), &incidents_rnd);
    incidents_save(s, e);
}

void incidents_note_release(struct server *s, const char *incident_id, const char *thing)
{
    struct inc_entry *e = incidents_find(s, incident_id);
    if (!e)
        return;
    incident_note_release(&e->inc, thing, server_now(s), &incidents_rnd);
    incidents_save(s, e);
}

/*
 * The broker confirmed (or refused) a control command. Keys look like
 * ctl:quarantine:THING:… / ctl:release:THING:…: a confirmed quarantine of a
 * thing involved in an open incident is noted as enforced (the first sets
 * the time to contain); a release writes a timeline event in the open
 * incidents of the thing, else in its latest incident.
 */
void incidents_on_control_result(struct server *s, const char *command, const char *key, bool ok)
{
    struct inc_entry *e, *tmp, *latest = NULL;
    bool quarantine = !strcmp(command, "quarantine"), any = false;
    const char *prefix = quarantine ? "ctl:quarantine:" : "ctl:release:";
    size_t plen = strlen(prefix);
    int64_t now = server_now(s);
    if (!g_inc || !ok || (!quarantine && strcmp(command, "release")) || strncmp(key, prefix, plen))
        return;
    HASH_ITER(hh, g_inc->all, e, tmp)
    {
        json_t *things = incident_involved_things(&e->inc);
        size_t i;
        json_t *t;
        json_array_foreach(things, i, t)
        {
            const char *name = json_string_value(t);
            size_t nl = name ? strlen(name) : 0;
            if (!name || strncmp(key + plen, name, nl) || key[plen + nl] != ':')
                continue;
            if (e->inc.status == INCIDENT_OPEN) {
                if (quarantine)
                    incident_note_quarantine(&e->inc, name, true, now, &incidents_rnd);
                else
                    incident_note_release(&e->inc, name, now, &incidents_rnd);
                incidents_save(s, e);
                any = true;
            } else if (!quarantine && (!latest || e->inc.created_ms > latest->inc.created_ms)) {
                latest = e;
            }
        }
        json_decref(things);
    }
    if (!any && latest) {
        json_t *things = incident_involved_things(&latest->inc);
        size_t i;
        json_t *t;
        json_array_foreach(things, i, t)
        {
            const char *name = json_string_value(t);
            if (name && !strncmp(key + plen, name, strlen(name)) &&
                key[plen + strlen(name)] == ':') {
                incident_note_release(&latest->inc, name, now, &incidents_rnd);
                incidents_save(s, latest);
                break;
            }
        }
        json_decref(things);
    }
}

/* ---- SSM Incidents API for runbooks (incidents.h) ------------------------------------------- */

#define INCIDENTS_API_WHO "runbook"

/* params[key] with key in camelCase, else PascalCase. */
static const json_t *api_get(const json_t *o, const char *camel)
{
    const json_t *v = json_object_get(o, camel);
    char pascal[64];
    if (v || !camel[0])
        return v;
    snprintf(pascal, sizeof(pascal), "%s", camel);
    if (pascal[0] >= 'a' && pascal[0] <= 'z')
        pascal[0] = (char)(pascal[0] - 32);
    return json_object_get(o, pascal);
}

static const char *api_str(const json_t *o, const char *camel)
{
    return json_string_value(api_get(o, camel));
}

static struct inc_entry *api_find(struct server *s, const json_t *params, const char *field,
                                  char *err, size_t errlen, int *rc)
{
    const char *arn = api_str(params, field);
    struct inc_entry *e;
    if (!arn || !*arn) {
        snprintf(err, errlen, "%s: expected the incident's arn (a string)", field);
        *rc = CORDON_EINVAL;
        return NULL;
    }
    e = incidents_find(s, arn);
    if (!e) {
        snprintf(err, errlen, "%s: no incident %s", field, arn);
        *rc = CORDON_ENOTFOUND;
    }
    return e;
}

static void api_after_change(struct server *s, struct inc_entry *e)
{
    if (e->has_eng)
        engagement_set_brief(&e->eng, &e->inc);
    incidents_save(s, e);
}

int incidents_api_update(struct server *s, const json_t *params, json_t **response, char *err,
                         size_t errlen)
{
    struct incident_update u = { NULL, NULL, 0, -1 };
    struct incident_effects fx;
    const json_t *v;
    struct inc_entry *e;
    bool was_open;
    int rc = 0;
    *response = NULL;
    if (!(e = api_find(s, params, "arn", err, errlen, &rc)))
        return rc;
    if ((v = api_get(params, "title")) && !(u.title = json_string_value(v))) {
        snprintf(err, errlen, "title: expected a string");
        return CORDON_EINVAL;
    }
    if ((v = api_get(params, "summary")) && !(u.summary = json_string_value(v))) {
        snprintf(err, errlen, "summary: expected a string");
        return CORDON_EINVAL;
    }
    if ((v = api_get(params, "impact"))) {
        long long n = -1;
        if (json_is_integer(v))
            n = json_integer_value(v);
        else if (json_is_string(v) && json_string_length(v) == 1)
            n = json_string_value(v)[0] - '0';
        if (n < 1 || n > 5) {
            snprintf(err, errlen, "impact: expected an integer from 1 to 5");
            return CORDON_EINVAL;
        }
        u.impact = (int)n;
    }
    if ((v = api_get(params, "status"))) {
        const char *st = json_string_value(v);
        if (st && !strcmp(st, "OPEN"))
            u.status = INCIDENT_OPEN;
        else if (st && !strcmp(st, "RESOLVED"))
            u.status = INCIDENT_RESOLVED;
        else {
            snprintf(err, errlen, "status: expected OPEN or RESOLVED");
            return CORDON_EINVAL;
        }
    }
    was_open = e->inc.status == INCIDENT_OPEN;
    incident_effects_init(&fx);
    rc = incident_update(&e->inc, &u, INCIDENTS_API_WHO, server_now(s), &incidents_rnd, &fx);
    if (rc) {
        incident_effects_free(&fx);
        snprintf(err, errlen, "update refused (title ≤ %d characters, summary ≤ %d): %s",
                 INCIDENT_TITLE_MAX, INCIDENT_SUMMARY_MAX, cordon_strerror(rc));
        return rc;
    }
    incidents_incident_effects(s, e, &fx);
    incident_effects_free(&fx);
    if (was_open && e->inc.status == INCIDENT_RESOLVED) {
        g_inc->resolved++;
        log_info("incident resolved", "incident=%s by=%s", e->inc.id, INCIDENTS_API_WHO);
    }
    api_after_change(s, e);
    *response = json_object();
    return *response ? 0 : CORDON_ENOMEM;
}

/* eventTime: epoch seconds (number) or ISO 8601 UTC "YYYY-MM-DDTHH:MM:SS[.fff]Z". */
static int api_time(const json_t *v, int64_t *ms)
{
    if (json_is_number(v)) {
        double d = json_number_value(v);
        if (d < 0 || d > 1e11)
            return CORDON_EINVAL;
        *ms = (int64_t)(d * 1000.0);
        return 0;
    }
    if (json_is_string(v)) {
        struct tm tm;
        int y, mo, d, h, mi, sec, used = 0;
        double frac = 0;
        const char *t = json_string_value(v);
        if (sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6)
            return CORDON_EINVAL;
        t += used;
        if (*t == '.') {
            char *end;
            frac = strtod(t, &end);
            t = end;
        }
        if (strcmp(t, "Z") && strcmp(t, "+00:00") && *t)
            return CORDON_EINVAL;
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        *ms = (int64_t)timegm(&tm) * 1000 + (int64_t)(frac * 1000.0);
        return 0;
    }
    return CORDON_EINVAL;
}

int incidents_api_timeline_event(struct server *s, const json_t *params, json_t **response,
                                 char *err, size_t errlen)
{
    const char *type = api_str(params, "eventType"), *data = api_str(params, "eventData");
    const json_t *v, *refs = api_get(params, "eventReferences");
    char id[37] = "", *refs_text = NULL;
    int64_t now = server_now(s), when = now;
    struct inc_entry *e;
    int rc = 0;
    *response = NULL;
    if (!(e = api_find(s, params, "incidentRecordArn", err, errlen, &rc)))
        return rc;
    if (api_get(params, "eventType") && (!type || !*type)) {
        snprintf(err, errlen, "eventType: expected a non-empty string");
        return CORDON_EINVAL;
    }
    if (!data) {
        snprintf(err, errlen, "eventData: expected a string");
        return CORDON_EINVAL;
    }
    if ((v = api_get(params, "eventTime")) && api_time(v, &when)) {
        snprintf(err, errlen, "eventTime: expected epoch seconds or an ISO 8601 UTC time");
        return CORDON_EINVAL;
    }
    if (refs && (!json_is_array(refs) || json_array_size(refs) > INCIDENT_EVENT_REFS_MAX)) {
        snprintf(err, errlen, "eventReferences: expected an array of at most %d references",
                 INCIDENT_EVENT_REFS_MAX);
        return CORDON_EINVAL;
    }
    if (refs && !(refs_text = json_dumps(refs, JSON_COMPACT)))
        return CORDON_ENOMEM;
    rc = incident_event_add(&e->inc, type ? type : INCIDENT_EVENT_CUSTOM, data, refs_text, now,
                            &incidents_rnd, id);
    free(refs_text);
    if (rc) {
        snprintf(err, errlen, "event refused (eventType ≤ %d characters, eventData ≤ %d): %s",
                 INCIDENT_EVENT_TYPE_MAX, INCIDENT_EVENT_DATA_MAX, cordon_strerror(rc));
        return rc;
    }
    if (e->inc.nevents && !strcmp(e->inc.events[e->inc.nevents - 1].id, id))
        e->inc.events[e->inc.nevents - 1].time_ms = when;
    e->inc.modified_ms = now;
    api_after_change(s, e);
    *response = json_pack("{s:s,s:s}", "incidentRecordArn", e->inc.id, "eventId", id);
    return *response ? 0 : CORDON_ENOMEM;
}

static int api_item_type(const char *name, enum incident_item_type *t)
{
    for (int i = 0; i <= (int)INCIDENT_ITEM_TASK; i++) {
        if (name && !strcmp(name, incident_item_type_name((enum incident_item_type)i))) {
            *t = (enum incident_item_type)i;
            return 0;
        }
    }
    return CORDON_EINVAL;
}

/* identifier {type, value: {url|arn}} at `where` (for messages). */
static int api_identifier(const json_t *id, const char *where, enum incident_item_type *type,
                          const char **value, bool *is_url, char *err, size_t errlen)
{
    const json_t *val = api_get(id, "value");
    const char *url = api_str(val, "url"), *arn = api_str(val, "arn");
    if (!json_is_object(id)) {
        snprintf(err, errlen, "%s: expected an object {type, value}", where);
        return CORDON_EINVAL;
    }
    if (api_item_type(api_str(id, "type"), type)) {
        snprintf(err, errlen,
                 "%s.type: expected OTHER, INVOLVED_RESOURCE, PARENT, ATTACHMENT, METRIC, "
                 "ANALYSIS, INCIDENT, AUTOMATION or TASK",
                 where);
        return CORDON_EINVAL;
    }
    if ((!url || !*url) == (!arn || !*arn)) {
        snprintf(err, errlen, "%s.value: expected exactly one of url or arn (a string)", where);
        return CORDON_EINVAL;
    }
    *is_url = url && *url;
    *value = *is_url ? url : arn;
    return 0;
}

int incidents_api_related_items(struct server *s, const json_t *params, json_t **response,
                                char *err, size_t errlen)
{
    const json_t *up = api_get(params, "relatedItemsUpdate"), *add, *del;
    enum incident_item_type type;
    const char *value;
    bool is_url;
    struct inc_entry *e;
    int rc = 0;
    *response = NULL;
    if (!(e = api_find(s, params, "incidentRecordArn", err, errlen, &rc)))
        return rc;
    add = api_get(up, "itemToAdd");
    del = api_get(up, "itemToRemove");
    if (!json_is_object(up) || !add == !del) {
        snprintf(err, errlen,
                 "relatedItemsUpdate: expected an object with exactly one of itemToAdd or "
                 "itemToRemove");
        return CORDON_EINVAL;
    }
    if (add) {
        const json_t *t = api_get(add, "title");
        if (t && !json_is_string(t)) {
            snprintf(err, errlen, "relatedItemsUpdate.itemToAdd.title: expected a string");
            return CORDON_EINVAL;
        }
        if ((rc = api_identifier(api_get(add, "identifier"),
                                 "relatedItemsUpdate.itemToAdd.identifier", &type, &value, &is_url,
                                 err, errlen)))
            return rc;
        rc = incident_item_add(&e->inc, type, t ? json_string_value(t) : "", value, is_url,
                               &incidents_rnd);
        if (rc == CORDON_EEXIST) {
            snprintf(err, errlen, "relatedItemsUpdate.itemToAdd: the incident already has %s %s",
                     incident_item_type_name(type), value);
            return rc;
        }
        if (rc) {
            snprintf(err, errlen, "relatedItemsUpdate.itemToAdd refused (at most %d items): %s",
                     INCIDENT_ITEMS_MAX, cordon_strerror(rc));
            return rc;
        }
    } else {
        const struct incident_item *it = NULL;
        if ((rc = api_identifier(del, "relatedItemsUpdate.itemToRemove", &type, &value, &is_url,
                                 err, errlen)))
            return rc;
        for (size_t i = 0; i < e->inc.nitems && !it; i++)
            if (e->inc.items[i].type == type && !strcmp(e->inc.items[i].value, value))
                it = &e->inc.items[i];
        if (!it) {
            snprintf(err, errlen, "relatedItemsUpdate.itemToRemove: the incident has no %s %s",
                     incident_item_type_name(type), value);
            return CORDON_ENOTFOUND;
        }
        char id[sizeof(it->id)];
        memcpy(id, it->id, sizeof(id));
        if ((rc = incident_item_remove(&e->inc, id))) {
            snprintf(err, errlen, "relatedItemsUpdate.itemToRemove: %s", cordon_strerror(rc));
            return rc;
        }
    }
    e->inc.modified_ms = server_now(s);
    api_after_change(s, e);
    *response = json_object();
    return *response ? 0 : CORDON_ENOMEM;
}

/* ---- config as code -------------------------------------------------------------------------- */

static void plans_clear(struct incidents *g)
{
    for (size_t i = 0; i < g->nplans; i++) {
        response_plan_free(g->plans[i]);
        free(g->plans[i]);
    }
    free(g->plans);
    g->plans = NULL;
    g->nplans = 0;
}

static struct contact *contact_copy(const struct contact *c)
{
    struct contact *d = malloc(sizeof(*d));
    if (d)
        memcpy(d, c, sizeof(*d)); /* owns no heap memory */
    return d;
}

static struct response_plan *plan_copy(const struct response_plan *p)
{
    struct response_plan *d = malloc(sizeof(*d));
    json_t *j = response_plan_to_json(p);
    struct cordon_diag diag;
    if (!d || !j) {
        free(d);
        json_decref(j);
        return NULL;
    }
    response_plan_init(d);
    if (response_plan_from_json(d, j, &diag)) {
        response_plan_free(d);
        free(d);
        d = NULL;
    }
    json_decref(j);
    return d;
}

int incidents_stack_add(struct server *s, struct stack *st)
{
    int rc = 0;
    (void)s;
    for (size_t i = 0; !rc && i < g_inc->book.n; i++) {
        const struct contact *c = g_inc->book.items[i];
        struct contact *d = contact_copy(c);
        if (!d)
            return CORDON_ENOMEM;
        for (size_t k = 0; k < d->nchannels; k++)
            d->channels[k].activation_code[0] = 0;
        rc = stack_add(st, c->type == CONTACT_ESCALATION ? "escalationPlan" : "contact", d);
        if (rc)
            free(d);
    }
    for (size_t i = 0; !rc && i < g_inc->nplans; i++) {
        struct response_plan *d = plan_copy(g_inc->plans[i]);
        if (!d)
            return CORDON_ENOMEM;
        rc = stack_add(st, "responsePlan", d);
        if (rc) {
            response_plan_free(d);
            free(d);
        }
    }
    return rc;
}

int incidents_stack_apply(struct server *s, const struct stack *want, char *err, size_t errlen)
{
    struct contact_book book;
    struct response_plan **plans = NULL;
    size_t np = stack_count(want, "responsePlan");
    struct cordon_diag diag;
    const char *kinds[2] = { "contact", "escalationPlan" };
    int rc = 0;

    contact_book_init(&book);
    cordon_diag_clear(&diag);
    for (int k = 0; !rc && k < 2; k++) {
        for (size_t i = 0; !rc && i < stack_count(want, kinds[k]); i++) {
            const struct contact *c = stack_get(want, kinds[k], i);
            struct contact *d = contact_copy(c);
            const struct contact *old = contact_book_find(&g_inc->book, c->alias);
            if (!d) {
                rc = CORDON_ENOMEM;
                break;
            }
            /* keep pending activation codes and activations made through the API */
            for (size_t j = 0; old && j < d->nchannels; j++) {
                const struct contact_channel *oc = contact_channel_find(old, d->channels[j].name);
                if (oc && !strcmp(oc->address, d->channels[j].address)) {
                    memcpy(d->channels[j].activation_code, oc->activation_code,
                           sizeof(oc->activation_code));
                    if (oc->activated)
                        d->channels[j].activated = true;
                }
            }
            rc = contact_book_add(&book, d);
            if (rc)
                free(d);
        }
    }
    if (!rc && (rc = contact_book_validate(&book, &diag)))
        snprintf(err, errlen, "%s", diag.message);
    if (!rc) {
        plans = calloc(np ? np : 1, sizeof(*plans));
        if (!plans)
            rc = CORDON_ENOMEM;
    }
    for (size_t i = 0; !rc && i < np; i++) {
        plans[i] = plan_copy(stack_get(want, "responsePlan", i));
        if (!plans[i]) {
            rc = CORDON_ENOMEM;
            break;
        }
        if ((rc = response_plan_check_contacts(plans[i], &book, &diag)))
            snprintf(err, errlen, "%s", diag.message);
    }
    /* persist: replace every contact and plan document */
    if (!rc)
        rc = store_doc_delete_kind(s->store, INCIDENTS_DOC_CONTACT);
    if (!rc)
        rc = store_doc_delete_kind(s->store, INCIDENTS_DOC_PLAN);
    for (size_t i = 0; !rc && i < book.n; i++)
        rc = incidents_contact_save(s, book.items[i]);
    for (size_t i = 0; !rc && i < np; i++)
        rc = put_json(s, INCIDENTS_DOC_PLAN, plans[i]->name, response_plan_to_json(plans[i]));
    if (rc) {
        if (!err[0])
            snprintf(err, errlen, "%s", cordon_strerror(rc));
        contact_book_free(&book);
        for (size_t i = 0; plans && i < np; i++) {
            if (plans[i]) {
                response_plan_free(plans[i]);
                free(plans[i]);
            }
        }
        free(plans);
        return rc;
    }
    contact_book_free(&g_inc->book);
    g_inc->book = book;
    plans_clear(g_inc);
    g_inc->plans = plans;
    g_inc->nplans = np;
    return 0;
}

/* ---- metrics ----------------------------------------------------------------------------------
 */

void incidents_metrics_prom(struct server *s, struct buf *out)
{
    struct analysis_stats st;
    struct inc_entry *e, *tmp;
    struct incident **v;
    size_t n = 0, open = 0;
    (void)s;
    if (!g_inc)
        return;
    v = calloc(HASH_COUNT(g_inc->all) + 1, sizeof(*v));
    if (!v)
        return;
    HASH_ITER(hh, g_inc->all, e, tmp)
    {
        v[n++] = &e->inc;
        open += e->inc.status == INCIDENT_OPEN;
    }
    analysis_aggregate(v, n, NULL, &st);
    free(v);
    buf_adds(out, "# HELP cordon_incidents_created_total Incidents created.\n"
                  "# TYPE cordon_incidents_created_total counter\n");
    buf_printf(out, "cordon_incidents_created_total %llu\n", (unsigned long long)g_inc->created);
    buf_adds(out, "# HELP cordon_incidents_resolved_total Incidents resolved.\n"
                  "# TYPE cordon_incidents_resolved_total counter\n");
    buf_printf(out, "cordon_incidents_resolved_total %llu\n", (unsigned long long)g_inc->resolved);
    buf_adds(out, "# HELP cordon_incidents_open Incidents open now.\n"
                  "# TYPE cordon_incidents_open gauge\n");
    buf_printf(out, "cordon_incidents_open %zu\n", open);
    buf_adds(out, "# HELP cordon_pages_sent_total Pages accepted by their transport.\n"
                  "# TYPE cordon_pages_sent_total counter\n");
    buf_printf(out, "cordon_pages_sent_total %llu\n", (unsigned long long)g_inc->pages_sent);
    buf_printf(out, "cordon_pages_failed_total %llu\n", (unsigned long long)g_inc->pages_failed);
    buf_printf(out, "cordon_pages_dropped_total %llu\n", (unsigned long long)g_inc->pages_dropped);
    buf_adds(out, "# HELP cordon_incident_mtta_seconds Mean time to first acknowledgement.\n"
                  "# TYPE cordon_incident_mtta_seconds gauge\n");
    buf_printf(out, "cordon_incident_mtta_seconds %.3f\n", st.mtta_s);
    buf_adds(out, "# HELP cordon_incident_mttr_seconds Mean time to resolve.\n"
                  "# TYPE cordon_incident_mttr_seconds gauge\n");
    buf_printf(out, "cordon_incident_mttr_seconds %.3f\n", st.mttr_s);
}

/* ---- load at start -----------------------------------------------------------------------------
 */

static int load_contact(void *ctx, const char *kind, const char *name, const char *body)
{
    struct contact *c = malloc(sizeof(*c));
    json_t *j = json_loads(body, 0, NULL);
    struct cordon_diag diag;
    (void)ctx;
    (void)kind;
    if (c && j) {
        contact_init(c);
        if (contact_from_json(c, j, &diag) || contact_book_add(&g_inc->book, c)) {
            log_warn("stored contact not loaded", "alias=%s", name);
            free(c);
        }
    } else {
        free(c);
    }
    json_decref(j);
    return 0;
}

static int load_plan(void *ctx, const char *kind, const char *name, const char *body)
{
    struct response_plan *p = malloc(sizeof(*p));
    struct response_plan **v;
    json_t *j = json_loads(body, 0, NULL);
    struct cordon_diag diag;
    (void)ctx;
    (void)kind;
    v = realloc(g_inc->plans, (g_inc->nplans + 1) * sizeof(*v));
    if (v)
        g_inc->plans = v;
    if (p && j && v) {
        response_plan_init(p);
        if (response_plan_from_json(p, j, &diag)) {
            log_warn("stored response plan not loaded", "plan=%s", name);
            response_plan_free(p);
            free(p);
        } else {
            g_inc->plans[g_inc->nplans++] = p;
        }
    } else {
        free(p);
    }
    json_decref(j);
    return 0;
}

static int load_incident(void *ctx, const char *kind, const char *name, const char *body)
{
    struct inc_entry *e = entry_new();
    json_t *j = json_loads(body, 0, NULL);
    struct cordon_diag diag;
    (void)ctx;
    (void)kind;
    if (!e || !j || incident_from_json(&e->inc, j, &diag)) {
        log_warn("stored incident not loaded", "uuid=%s", name);
        if (e)
            entry_free(e);
    } else {
        entry_add(e);
        g_inc->created++;
        if (e->inc.status == INCIDENT_RESOLVED)
            g_inc->resolved++;
    }
    json_decref(j);
    return 0;
}

static int load_engagement(void *ctx, const char *kind, const char *name, const char *body)
{
    struct inc_entry *e = NULL;
    json_t *j = json_loads(body, 0, NULL);
    struct cordon_diag diag;
    (void)ctx;
    (void)kind;
    HASH_FIND_STR(g_inc->all, name, e);
    if (e && j) {
        engagement_free(&e->eng);
        engagement_init(&e->eng);
        if (engagement_from_json(&e->eng, j, &diag))
            log_warn("stored engagement not loaded", "uuid=%s", name);
        else
            e->has_eng = true;
    }
    json_decref(j);
    return 0;
}

/* After a restart: every open engagement catches up (overdue stages fire once). */
static void recover(struct server *s)
{
    struct inc_entry *e, *tmp;
    HASH_ITER(hh, g_inc->all, e, tmp)
    {
        struct engagement_effects fx;
        if (!e->has_eng || e->inc.status != INCIDENT_OPEN)
            continue;
        engagement_effects_init(&fx);
        if (!engagement_recover(&e->eng, &g_inc->book, server_now(s), &incidents_rnd, &fx) &&
            fx.n) {
            incidents_engagement_effects(s, e, &fx);
            incidents_save(s, e);
        }
        engagement_effects_free(&fx);
    }
}

int incidents_init(struct server *s)
{
    int rc;
    if (sodium_init() < 0)
        return CORDON_EINVAL;
    g_inc = calloc(1, sizeof(*g_inc));
    if (!g_inc)
        return CORDON_ENOMEM;
    contact_book_init(&g_inc->book);
    store_docs_list(s->store, INCIDENTS_DOC_CONTACT, load_contact, NULL);
    store_docs_list(s->store, INCIDENTS_DOC_PLAN, load_plan, NULL);
    store_docs_list(s->store, INCIDENTS_DOC_INCIDENT, load_incident, NULL);
    store_docs_list(s->store, INCIDENTS_DOC_ENGAGEMENT, load_engagement, NULL);
    rc = violations_listen(s, on_violation, NULL);
    if (!rc)
        rc = timers_kind(s, INCIDENTS_TIMER_KIND, on_timer, NULL);
    if (!rc)
        rc = paging_init(s);
    if (!rc)
        rc = api_incidents_init(s);
    if (rc)
        return rc;
    recover(s);
    log_info("incidents loaded", "incidents=%u contacts=%zu plans=%zu", HASH_COUNT(g_inc->all),
             g_inc->book.n, g_inc->nplans);
    return 0;
}

void incidents_free(struct server *s)
{
    struct inc_entry *e, *tmp;
    (void)s;
    if (!g_inc)
        return;
    HASH_ITER(hh, g_inc->all, e, tmp)
    {
        HASH_DEL(g_inc->all, e);
        entry_free(e);
    }
    contact_book_free(&g_inc->book);
    plans_clear(g_inc);
    free(g_inc);
    g_inc = NULL;
}
