#define _XOPEN_SOURCE 700
/*
 * api_incidents.c — the incident, contact and response-plan API, the
 * acknowledgement endpoints and the one-click ack link (docs/api.md
 * "Incidents"). Viewer reads, responder mutates; GET /ack/{token} needs no
 * API token (the single-use 192-bit link token is the credential).
 */
#include "analysis.h"
#include "cordon.h"
#include "http.h"
#include "incidents_int.h"
#include "log.h"
#include "server.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *who_of(struct http_req *req)
{
    return req->token_name && *req->token_name ? req->token_name : "api";
}

static json_t *incident_view(struct inc_entry *e, bool full)
{
    json_t *j = incident_to_json(&e->inc);
    if (!j)
        return NULL;
    json_object_set_new(j, "id", json_string(e->uuid));
    if (!full) {
        json_object_del(j, "timeline");
        json_object_del(j, "clientTokens");
    } else if (e->has_eng) {
        json_object_set_new(j, "engagement", engagement_to_public_json(&e->eng));
    }
    return j;
}

static struct inc_entry *find_or_404(struct server *s, struct http_req *req, struct http_res *res)
{
    struct inc_entry *e = incidents_find(s, req->params[0]);
    if (!e)
        http_error(res, 404, "not_found", "no incident '%s'", req->params[0]);
    return e;
}

/* "1700000000000" (ms) or ISO 8601 "2026-01-02T03:04:05Z"; -1 when bad. */
static int64_t parse_time(const char *v)
{
    char *end;
    long long ms = strtoll(v, &end, 10);
    struct tm tm;
    if (*v && !*end)
        return ms;
    memset(&tm, 0, sizeof(tm));
    end = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end)
        return -1;
    return (int64_t)timegm(&tm) * 1000;
}

static int impact_sort(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *tx = json_string_value(json_object_get(x, "creationTime"));
    const char *ty = json_string_value(json_object_get(y, "creationTime"));
    return -strcmp(tx ? tx : "", ty ? ty : "");
}

static bool filter_from_query(struct http_req *req, struct http_res *res, struct incident_filter *f)
{
    const char *v;
    memset(f, 0, sizeof(*f));
    if ((v = http_query(req, "status"))) {
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "%s", v);
        for (char *t = strtok(tmp, ","); t; t = strtok(NULL, ",")) {
            if (!strcasecmp(t, "OPEN"))
                f->status_mask |= 1u << INCIDENT_OPEN;
            else if (!strcasecmp(t, "RESOLVED"))
                f->status_mask |= 1u << INCIDENT_RESOLVED;
            else {
                http_error(res, 400, "bad_request", "status: expected OPEN or RESOLVED, got '%s'",
                           t);
                return false;
            }
        }
    }
    if ((v = http_query(req, "impact"))) {
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "%s", v);
        for (char *t = strtok(tmp, ","); t; t = strtok(NULL, ",")) {
            int i = atoi(t);
            if (i < 1 || i > 5 || strlen(t) != 1) {
                http_error(res, 400, "bad_request", "impact: expected 1 to 5, got '%s'", t);
                return false;
            }
            f->impact_mask |= 1u << i;
        }
    }
    f->plan = http_query(req, "plan");
    if ((v = http_query(req, "since")) && (f->created_after = parse_time(v) - 1) < 0) {
        http_error(res, 400, "bad_request", "since: expected epoch ms or ISO 8601, got '%s'", v);
        return false;
    }
    if ((v = http_query(req, "until")) && (f->created_before = parse_time(v) + 1) <= 0) {
        http_error(res, 400, "bad_request", "until: expected epoch ms or ISO 8601, got '%s'", v);
        return false;
    }
    return true;
}

static void incidents_list(struct server *s, struct http_req *req, struct http_res *res)
{
    struct incidents *g = incidents_of(s);
    struct incident_filter f;
    struct inc_entry *e, *tmp;
    json_t *arr = json_array();
    if (!filter_from_query(req, res, &f)) {
        json_decref(arr);
        return;
    }
    HASH_ITER(hh, g->all, e, tmp)
    {
        if (incident_filter_match(&f, &e->inc))
            json_array_append_new(arr, incident_view(e, false));
    }
    /* newest first */
    size_t n = json_array_size(arr);
    json_t **v = calloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; v && i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    if (v) {
        qsort(v, n, sizeof(*v), impact_sort);
        json_array_clear(arr);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, v[i]);
        free(v);
    }
    http_json(res, 200, json_pack("{s:o}", "incidents", arr));
}

static void incidents_get(struct server *s, struct http_req *req, struct http_res *res)
{
    struct inc_entry *e = find_or_404(s, req, res);
    if (e)
        http_json(res, 200, incident_view(e, true));
}

static void after_change(struct server *s, struct inc_entry *e)
{
    if (e->has_eng)
        engagement_set_brief(&e->eng, &e->inc);
    incidents_save(s, e);
}

static void incidents_update(struct server *s, struct http_req *req, struct http_res *res)
{
    struct inc_entry *e = find_or_404(s, req, res);
    struct incident_update u = { NULL, NULL, 0, -1 };
    struct incident_effects fx;
    json_t *b, *v;
    bool was_open;
    int rc;
    if (!e || !(b = http_body_json(req, res)))
        return;
    u.title = json_string_value(json_object_get(b, "title"));
    u.summary = json_string_value(json_object_get(b, "summary"));
    if ((v = json_object_get(b, "impact"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5) {
            http_error(res, 400, "bad_request", "impact: expected an integer from 1 to 5");
            goto out;
        }
        u.impact = (int)json_integer_value(v);
    }
    if ((v = json_object_get(b, "status"))) {
        const char *st = json_string_value(v);
        if (st && !strcmp(st, "OPEN"))
            u.status = INCIDENT_OPEN;
        else if (st && !strcmp(st, "RESOLVED"))
            u.status = INCIDENT_RESOLVED;
        else {
            http_error(res, 400, "bad_request", "status: expected OPEN or RESOLVED");
            goto out;
        }
    }
    was_open = e->inc.status == INCIDENT_OPEN;
    incident_effects_init(&fx);
    rc = incident_update(&e->inc, &u, who_of(req), server_now(s), &incidents_rnd, &fx);
    if (rc) {
        incident_effects_free(&fx);
        http_error(res, 400, "bad_request", "update refused: %s", cordon_strerror(rc));
        goto out;
    }
    incidents_incident_effects(s, e, &fx);
    incident_effects_free(&fx);
    if (was_open && e->inc.status == INCIDENT_RESOLVED)
        incidents_of(s)->resolved++;
    after_change(s, e);
    http_json(res, 200, incident_view(e, true));
out:
    json_decref(b);
}

static void incidents_resolve(struct server *s, struct http_req *req, struct http_res *res)
{
    struct inc_entry *e = find_or_404(s, req, res);
    struct incident_effects fx;
    int rc;
    if (!e)
        return;
    incident_effects_init(&fx);
    rc = incident_resolve(&e->inc, who_of(req), server_now(s), &incidents_rnd, &fx);
    if (rc == CORDON_ESTATE) {
        http_error(res, 409, "conflict", "incident is already resolved");
    } else if (rc) {
        http_error(res, 500, "internal", "%s", cordon_strerror(rc));
    } else {
        incidents_incident_effects(s, e, &fx);
        incidents_of(s)->resolved++;
        after_change(s, e);
        log_info("incident resolved", "incident=%s by=%s", e->inc.id, who_of(req));
        http_json(res, 200, incident_view(e, true));
    }
    incident_effects_free(&fx);
}

static void incidents_note(struct server *s, struct http_req *req, struct http_res *res)
{
    struct inc_entry *e = find_or_404(s, req, res);
    json_t *b;
    const char *text;
    int rc;
    if (!e || !(b = http_body_json(req, res)))
        return;
    text = json_string_value(json_object_get(b, "text"));
    if (!text)
        text = json_string_value(json_object_get(b, "note"));
    if (!text || !*text) {
        http_error(res, 400, "bad_request", "text: expected a non-empty string");
    } else if ((rc = incident_note(&e->inc, who_of(req), text, server_now(s), &incidents_rnd))) {
        http_error(res, 400, "bad_request", "note refused: %s (at most %d characters)",
                   cordon_strerror(rc), INCIDENT_EVENT_DATA_MAX);
    } else {
        incidents_save(s, e);
        http_json(res, 201, incident_view(e, true));
    }
    json_decref(b);
}

static void incidents_create(struct server *s, struct http_req *req, struct http_res *res)
{
    json_t *b = http_body_json(req, res), *v;
    const struct response_plan *plan;
    const char *name;
    struct inc_entry *e;
    int impact = 0, rc;
    if (!b)
        return;
    name = json_string_value(json_object_get(b, "responsePlan"));
    if (!name)
        name = json_string_value(json_object_get(b, "responsePlanArn"));
    plan = incidents_plan(s, name);
    if (!plan) {
        http_error(res, name ? 404 : 400, name ? "not_found" : "bad_request",
                   name ? "no response plan '%s'" : "responsePlan: required%s", name ? name : "");
        goto out;
    }
    if ((v = json_object_get(b, "impact"))) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5) {
            http_error(res, 400, "bad_request", "impact: expected an integer from 1 to 5");
            goto out;
        }
        impact = (int)json_integer_value(v);
    }
    rc = incidents_start_manual(s, plan, json_string_value(json_object_get(b, "title")), impact,
                                who_of(req), &e);
    if (rc)
        http_error(res, 400, "bad_request", "cannot start the incident: %s", cordon_strerror(rc));
    else
        http_json(res, 201, incident_view(e, true));
out:
    json_decref(b);
}

static void incidents_escalate(struct server *s, struct http_req *req, struct http_res *res)
{
    struct inc_entry *e = find_or_404(s, req, res);
    struct engagement_effects fx;
    json_t *b = NULL;
    int rc, stage = 0;
    if (!e)
        return;
    if (req->body_len && !(b = http_body_json(req, res)))
        return;
    if (b && json_is_integer(json_object_get(b, "stage")))
        stage = (int)json_integer_value(json_object_get(b, "stage"));
    json_decref(b);
    if (!e->has_eng) {
        http_error(res, 409, "conflict", "the incident has no engagement");
        return;
    }
    engagement_effects_init(&fx);
    if (stage)
        rc = engagement_engage_stage(&e->eng, req->params[1], stage, &incidents_of(s)->book,
                                     server_now(s), &incidents_rnd, &fx);
    else
        rc = engagement_escalate(&e->eng, req->params[1], &incidents_of(s)->book, server_now(s),
                                 &incidents_rnd, &fx);
    if (rc == CORDON_ENOTFOUND)
        http_error(res, 404, "not_found", "no engagement of '%s'", req->params[1]);
    else if (rc == CORDON_ESTATE || rc == CORDON_EEXIST)
        http_error(res, 409, "conflict", "cannot escalate: %s", cordon_strerror(rc));
    else if (rc)
        http_error(res, 400, "bad_request", "cannot escalate: %s", cordon_strerror(rc));
    else {
        incidents_engagement_effects(s, e, &fx);
        incidents_save(s, e);
        http_json(res, 200, incident_view(e, true));
    }
    engagement_effects_free(&fx);
}

/* ---- acknowledgement ------------------------------------------------------------------------ */

/* Ack e by code (API/CLI). Returns an HTTP status; fills res on success. */
static int ack_code(struct server *s, struct inc_entry *e, const char *code, const char *note,
                    struct http_res *res)
{
    struct engagement_effects fx;
    bool essential = false;
    int rc;
    engagement_effects_init(&fx);
    rc = engagement_ack_code(&e->eng, code, note, server_now(s), &fx, &essential);
    if (!rc) {
        incidents_engagement_effects(s, e, &fx);
        incidents_save(s, e);
        log_info("page acknowledged", "incident=%s via=code essential=%d", e->inc.id, essential);
        http_json(res, 200,
                  json_pack("{s:s,s:s,s:b}", "incident", e->inc.id, "id", e->uuid, "essential",
                            essential));
    }
    engagement_effects_free(&fx);
    return rc == CORDON_EEXIST ? 409 : rc ? 404 : 200;
}

static void ack_post(struct server *s, struct http_req *req, struct http_res *res)
{
    json_t *b = http_body_json(req, res);
    const char *code, *incident, *note;
    struct inc_entry *e, *tmp, *found = NULL;
    int matches = 0, st;
    if (!b)
        return;
    code = json_string_value(json_object_get(b, "code"));
    incident = json_string_value(json_object_get(b, "incident"));
    note = json_string_value(json_object_get(b, "note"));
    if (!code || !*code) {
        http_error(res, 400, "bad_request", "code: required (the accept code of the page)");
        goto out;
    }
    if (incident) {
        found = incidents_find(s, incident);
        matches = found && found->has_eng && engagement_page_by_code(&found->eng, code);
    } else {
        HASH_ITER(hh, incidents_of(s)->all, e, tmp)
        {
            if (e->has_eng && e->inc.status == INCIDENT_OPEN &&
                engagement_page_by_code(&e->eng, code)) {
                found = e;
                matches++;
            }
        }
    }
    if (matches > 1) {
        http_error(res, 409, "ambiguous",
                   "code %s matches pages of %d open incidents; name one with --incident", code,
                   matches);
        goto out;
    }
    if (!matches) {
        http_error(res, 404, "not_found", "no page with accept code %s", code);
        goto out;
    }
    st = ack_code(s, found, code, note, res);
    if (st == 409)
        http_error(res, 409, "already_acknowledged", "this contact already acknowledged");
    else if (st == 404)
        http_error(res, 404, "not_found", "no page with accept code %s", code);
out:
    json_decref(b);
}

static void incidents_ack(struct server *s, struct http_req *req, struct http_res *res)
{
    struct inc_entry *e = find_or_404(s, req, res);
    struct engagement_effects fx;
    const char *contact, *code, *channel, *note;
    bool essential = false;
    json_t *b;
    int rc;
    if (!e || !(b = http_body_json(req, res)))
        return;
    code = json_string_value(json_object_get(b, "code"));
    contact = json_string_value(json_object_get(b, "contact"));
    channel = json_string_value(json_object_get(b, "channel"));
    note = json_string_value(json_object_get(b, "note"));
    if (!e->has_eng) {
        http_error(res, 409, "conflict", "the incident has no engagement");
    } else if (code) {
        int st = ack_code(s, e, code, note, res);
        if (st != 200)
            http_error(res, st, st == 409 ? "already_acknowledged" : "not_found",
                       "acknowledgement refused for code %s", code);
    } else if (!contact) {
        http_error(res, 400, "bad_request", "expected code or contact");
    } else {
        engagement_effects_init(&fx);
        rc = engagement_ack_contact(&e->eng, contact, channel, who_of(req), note, server_now(s),
                                    &fx, &essential);
        if (rc == CORDON_EEXIST)
            http_error(res, 409, "already_acknowledged", "%s already acknowledged", contact);
        else if (rc)
            http_error(res, 404, "not_found", "%s is not engaged in this incident", contact);
        else {
            incidents_engagement_effects(s, e, &fx);
            incidents_save(s, e);
            http_json(res, 200, incident_view(e, true));
        }
        engagement_effects_free(&fx);
    }
    json_decref(b);
}

static void html_escape(struct buf *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            buf_adds(b, "&lt;");
            break;
        case '>':
            buf_adds(b, "&gt;");
            break;
        case '&':
            buf_adds(b, "&amp;");
            break;
        case '"':
            buf_adds(b, "&quot;");
            break;
        default:
            buf_addc(b, *s);
        }
    }
}

static const char *impact_label(int i)
{
    static const char *const l[] = { "", "Critical", "High", "Medium", "Low", "No impact" };
    return i >= 1 && i <= 5 ? l[i] : "";
}

static void ack_page(struct server *s, struct http_res *res, struct inc_entry *e,
                     const char *headline)
{
    struct buf *b = &res->body;
    char t[40];
    size_t from = e->inc.nevents > 12 ? e->inc.nevents - 12 : 0;
    buf_reset(b);
    buf_adds(b, "<!doctype html><html><head><meta charset=\"utf-8\"><title>Cordon — ");
    html_escape(b, headline);
    buf_adds(b, "</title><style>body{font-family:sans-serif;max-width:48em;margin:2em auto}"
                "td{padding:.2em .6em;vertical-align:top}</style></head><body><h1>");
    html_escape(b, headline);
    buf_adds(b, "</h1><h2>");
    html_escape(b, e->inc.title);
    buf_printf(b, "</h2><p>Impact %d (%s) · status %s · incident <code>", e->inc.impact,
               impact_label(e->inc.impact), incident_status_name(e->inc.status));
    html_escape(b, e->inc.id);
    buf_adds(b, "</code></p><h3>Timeline</h3><table>");
    for (size_t i = from; i < e->inc.nevents; i++) {
        incident_time_iso(e->inc.events[i].time_ms, t, sizeof(t));
        buf_adds(b, "<tr><td>");
        html_escape(b, t);
        buf_adds(b, "</td><td>");
        html_escape(b, e->inc.events[i].type);
        buf_adds(b, "</td></tr>");
    }
    buf_adds(b, "</table></body></html>\n");
    res->content_type = "text/html; charset=utf-8";
    (void)s;
}

static void ack_link(struct server *s, struct http_req *req, struct http_res *res)
{
    const char *token = req->params[0];
    struct inc_entry *e, *tmp, *found = NULL;
    const struct engagement_page *pg = NULL;
    struct engagement_effects fx;
    bool essential = false;
    int rc;
    if (strlen(token) != ENGAGEMENT_TOKEN_MAX) {
        http_error(res, 404, "not_found", "unknown acknowledgement link");
        return;
    }
    HASH_ITER(hh, incidents_of(s)->all, e, tmp)
    {
        if (e->has_eng && (pg = engagement_page_by_token(&e->eng, token))) {
            found = e;
            break;
        }
    }
    if (!found) {
        res->status = 404;
        buf_reset(&res->body);
        buf_adds(&res->body, "<!doctype html><html><body><h1>Unknown or expired "
                             "acknowledgement link</h1></body></html>\n");
        res->content_type = "text/html; charset=utf-8";
        return;
    }
    engagement_effects_init(&fx);
    rc = engagement_ack_token(&found->eng, token, "acknowledged by link", server_now(s), &fx,
                              &essential);
    if (!rc) {
        incidents_engagement_effects(s, found, &fx);
        incidents_save(s, found);
        log_info("page acknowledged", "incident=%s via=link essential=%d", found->inc.id,
                 essential);
        ack_page(s, res, found, "Acknowledged");
        res->status = 200;
    } else if (rc == CORDON_EEXIST || rc == CORDON_ENOTFOUND) {
        /* the token is known but already used (single use) */
        ack_page(s, res, found, "Already acknowledged");
        res->status = 200;
    } else {
        http_error(res, 500, "internal", "%s", cordon_strerror(rc));
    }
    engagement_effects_free(&fx);
}

/* ---- analysis and metrics ------------------------------------------------------------------- */

static int analysis_load(struct server *s, struct inc_entry *e, struct analysis *a);

static int doc_cb(void *ctx, const char *kind, const char *name, const char *body)
{
    (void)kind;
    (void)name;
    *(json_t **)ctx = json_loads(body, 0, NULL);
    return 0;
}

static int analysis_load(struct server *s, struct inc_entry *e, struct analysis *a)
{
    json_t *j = NULL;
    struct cordon_diag diag;
    int rc = store_doc_get(s->store, INCIDENTS_DOC_ANALYSIS, e->uuid, doc_cb, &j);
    if (rc)
        return rc;
    rc = j ? analysis_from_json(a, j, &diag) : CORDON_EINVAL;
    json_decref(j);
    return rc;
}

static void analysis_send(struct http_req *req, struct http_res *res, struct analysis *a,
                          int status)
{
    const char *fmt = http_query(req, "format");
    if (fmt && !strcmp(fmt, "markdown")) {
        buf_reset(&res->body);
        if (analysis_to_markdown(a, &res->body)) {
            http_error(res, 500, "internal", "cannot render the analysis");
            return;
        }
        res->status = status;
        res->content_type = "text/markdown; charset=utf-8";
        return;
    }
    http_json(res, status, analysis_to_json(a));
}

static void analysis_create(struct server *s, struct http_req *req, struct http_res *res)
{
    struct inc_entry *e = find_or_404(s, req, res);
    struct analysis a;
    char *text;
    int rc;
    if (!e)
        return;
    analysis_init(&a);
    rc = analysis_from_incident(&a, &e->inc, NULL);
    if (rc == CORDON_ESTATE) {
        http_error(res, 409, "conflict", "resolve the incident before creating its analysis");
        goto out;
    }
    if (rc) {
        http_error(res, 500, "internal", "%s", cordon_strerror(rc));
        goto out;
    }
    json_t *j = analysis_to_json(&a);
    text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text || store_doc_put(s->store, INCIDENTS_DOC_ANALYSIS, e->uuid, text, server_now(s))) {
        free(text);
        http_error(res, 500, "internal", "cannot store the analysis");
        goto out;
    }
    free(text);
    incident_item_add(&e->inc, INCIDENT_ITEM_ANALYSIS, "Post-incident analysis", e->uuid, false,
                      &incidents_rnd);
    incidents_save(s, e);
    analysis_send(req, res, &a, 201);
out:
    analysis_free(&a);
}

static void analysis_get(struct server *s, struct http_req *req, struct http_res *res)
{
    struct inc_entry *e = find_or_404(s, req, res);
    struct analysis a;
    if (!e)
        return;
    analysis_init(&a);
    if (analysis_load(s, e, &a))
        http_error(res, 404, "not_found", "incident %s has no analysis yet", e->uuid);
    else
        analysis_send(req, res, &a, 200);
    analysis_free(&a);
}

static void incidents_metrics(struct server *s, struct http_req *req, struct http_res *res)
{
    struct incidents *g = incidents_of(s);
    struct incident_filter f;
    struct analysis_stats st;
    struct inc_entry *e, *tmp;
    struct incident **v;
    size_t n = 0;
    if (!filter_from_query(req, res, &f))
        return;
    v = calloc(HASH_COUNT(g->all) + 1, sizeof(*v));
    if (!v) {
        http_error(res, 500, "internal", "out of memory");
        return;
    }
    HASH_ITER(hh, g->all, e, tmp)
    v[n++] = &e->inc;
    analysis_aggregate(v, n, &f, &st);
    free(v);
    http_json(res, 200,
              json_pack("{s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:I}", "NumberOfCreateIncidents",
                        (json_int_t)st.created, "NumberOfResolveIncidents", (json_int_t)st.resolved,
                        "acknowledged", (json_int_t)st.acknowledged, "contained",
                        (json_int_t)st.contained, "TimeToFirstAcknowledgement", st.mtta_s,
                        "TimeToResolveIncident", st.mttr_s, "timeToDetect", st.mttd_s,
                        "timeToContain", st.mttc_s, "pagesSent", (json_int_t)g->pages_sent));
}

/* ---- contacts and response plans ------------------------------------------------------------ */

static void plans_list(struct server *s, struct http_req *req, struct http_res *res)
{
    struct incidents *g = incidents_of(s);
    json_t *arr = json_array();
    (void)req;
    for (size_t i = 0; i < g->nplans; i++)
        json_array_append_new(arr, response_plan_to_json(g->plans[i]));
    http_json(res, 200, json_pack("{s:o}", "responsePlans", arr));
}

static void plans_get(struct server *s, struct http_req *req, struct http_res *res)
{
    const struct response_plan *p = incidents_plan(s, req->params[0]);
    if (!p)
        http_error(res, 404, "not_found", "no response plan '%s'", req->params[0]);
    else
        http_json(res, 200, response_plan_to_json(p));
}

static void contacts_list(struct server *s, struct http_req *req, struct http_res *res)
{
    struct incidents *g = incidents_of(s);
    json_t *arr = json_array();
    (void)req;
    for (size_t i = 0; i < g->book.n; i++)
        json_array_append_new(arr, contact_to_json(g->book.items[i], false));
    http_json(res, 200, json_pack("{s:o}", "contacts", arr));
}

static struct contact *contact_or_404(struct server *s, struct http_req *req, struct http_res *res)
{
    struct contact *c = (struct contact *)contact_book_find(&incidents_of(s)->book, req->params[0]);
    if (!c)
        http_error(res, 404, "not_found", "no contact '%s'", req->params[0]);
    return c;
}

static void contacts_get(struct server *s, struct http_req *req, struct http_res *res)
{
    struct contact *c = contact_or_404(s, req, res);
    if (c)
        http_json(res, 200, contact_to_json(c, false));
}

static struct contact_channel *channel_or_404(struct contact *c, struct http_req *req,
                                              struct http_res *res)
{
    struct contact_channel *ch = contact_channel_find(c, req->params[1]);
    if (!ch)
        http_error(res, 404, "not_found", "contact %s has no channel '%s'", c->alias,
                   req->params[1]);
    return ch;
}

static void channel_activate(struct server *s, struct http_req *req, struct http_res *res)
{
    struct contact *c = contact_or_404(s, req, res);
    struct contact_channel *ch;
    json_t *b;
    const char *code;
    int rc;
    if (!c || !(ch = channel_or_404(c, req, res)) || !(b = http_body_json(req, res)))
        return;
    code = json_string_value(json_object_get(b, "code"));
    rc = code ? contact_channel_activate(ch, code) : CORDON_EINVAL;
    if (rc == CORDON_ESTATE)
        http_error(res, 409, "conflict",
                   "no activation pending for %s/%s; POST …/send-activation first", c->alias,
                   ch->name);
    else if (rc)
        http_error(res, 400, "bad_code", "activation code does not match");
    else {
        incidents_contact_save(s, c);
        log_info("channel activated", "contact=%s channel=%s", c->alias, ch->name);
        http_json(res, 200, contact_to_json(c, false));
    }
    json_decref(b);
}

static void channel_send_activation(struct server *s, struct http_req *req, struct http_res *res)
{
    struct contact *c = contact_or_404(s, req, res);
    struct contact_channel *ch;
    uint8_t rnd[64];
    char code[CONTACT_CODE_MAX + 1];
    int rc;
    if (!c || !(ch = channel_or_404(c, req, res)))
        return;
    randombytes_buf(rnd, sizeof(rnd));
    rc = contact_channel_begin_activation(ch, rnd, sizeof(rnd), 6, code);
    if (!rc)
        rc = incidents_contact_save(s, c);
    if (!rc)
        rc = paging_send_activation(s, c, ch, code);
    if (rc)
        http_error(res, 502, "not_sent",
                   "activation code not sent: %s (is the transport "
                   "configured?)",
                   cordon_strerror(rc));
    else
        http_json(res, 202,
                  json_pack("{s:s,s:s,s:b}", "contact", c->alias, "channel", ch->name, "sent", 1));
}

static void channel_deactivate(struct server *s, struct http_req *req, struct http_res *res)
{
    struct contact *c = contact_or_404(s, req, res);
    struct contact_channel *ch;
    if (!c || !(ch = channel_or_404(c, req, res)))
        return;
    contact_channel_deactivate(ch);
    incidents_contact_save(s, c);
    http_json(res, 200, contact_to_json(c, false));
}

/*
 * The full id, URL-encoded, arrives decoded ("cordon:incident/PLAN/UUID"),
 * so it spans three segments: these routes hand the uuid to the handlers.
 */
#define ARN_ROUTE(name, fn)                                                                        \
    static void name(struct server *s, struct http_req *req, struct http_res *res)                 \
    {                                                                                              \
        req->params[0] = req->params[1];                                                           \
        req->nparams = 1;                                                                          \
        fn(s, req, res);                                                                           \
    }
ARN_ROUTE(arn_get, incidents_get)
ARN_ROUTE(arn_update, incidents_update)
ARN_ROUTE(arn_resolve, incidents_resolve)
ARN_ROUTE(arn_note, incidents_note)

int api_incidents_init(struct server *s)
{
    int rc = 0;
    rc |= http_route(s, "GET", "/api/v1/incidents/cordon:incident/{plan}/{id}", HTTP_ROLE_VIEWER,
                     arn_get);
    rc |= http_route(s, "PATCH", "/api/v1/incidents/cordon:incident/{plan}/{id}",
                     HTTP_ROLE_RESPONDER, arn_update);
    rc |= http_route(s, "POST", "/api/v1/incidents/cordon:incident/{plan}/{id}/resolve",
                     HTTP_ROLE_RESPONDER, arn_resolve);
    rc |= http_route(s, "POST", "/api/v1/incidents/cordon:incident/{plan}/{id}/notes",
                     HTTP_ROLE_RESPONDER, arn_note);
    rc |= http_route(s, "GET", "/api/v1/incidents", HTTP_ROLE_VIEWER, incidents_list);
    rc |= http_route(s, "GET", "/api/v1/incidents/metrics", HTTP_ROLE_VIEWER, incidents_metrics);
    rc |= http_route(s, "POST", "/api/v1/incidents", HTTP_ROLE_RESPONDER, incidents_create);
    rc |= http_route(s, "GET", "/api/v1/incidents/{id}", HTTP_ROLE_VIEWER, incidents_get);
    rc |= http_route(s, "PATCH", "/api/v1/incidents/{id}", HTTP_ROLE_RESPONDER, incidents_update);
    rc |= http_route(s, "PUT", "/api/v1/incidents/{id}", HTTP_ROLE_RESPONDER, incidents_update);
    rc |=
        http_route(s, "POST", "/api/v1/incidents/{id}/notes", HTTP_ROLE_RESPONDER, incidents_note);
    rc |= http_route(s, "POST", "/api/v1/incidents/{id}/resolve", HTTP_ROLE_RESPONDER,
                     incidents_resolve);
    rc |= http_route(s, "POST", "/api/v1/incidents/{id}/ack", HTTP_ROLE_RESPONDER, incidents_ack);
    rc |= http_route(s, "POST", "/api/v1/incidents/{id}/engagements/{contact}/escalate",
                     HTTP_ROLE_RESPONDER, incidents_escalate);
    rc |= http_route(s, "POST", "/api/v1/incidents/{id}/analysis", HTTP_ROLE_RESPONDER,
                     analysis_create);
    rc |= http_route(s, "GET", "/api/v1/incidents/{id}/analysis", HTTP_ROLE_VIEWER, analysis_get);
    rc |= http_route(s, "POST", "/api/v1/ack", HTTP_ROLE_RESPONDER, ack_post);
    rc |= http_route(s, "GET", "/ack/{token}", HTTP_ROLE_NONE, ack_link);
    rc |= http_route(s, "GET", "/api/v1/response-plans", HTTP_ROLE_VIEWER, plans_list);
    rc |= http_route(s, "GET", "/api/v1/response-plans/{name}", HTTP_ROLE_VIEWER, plans_get);
    rc |= http_route(s, "GET", "/api/v1/contacts", HTTP_ROLE_VIEWER, contacts_list);
    rc |= http_route(s, "GET", "/api/v1/contacts/{alias}", HTTP_ROLE_VIEWER, contacts_get);
    rc |= http_route(s, "POST", "/api/v1/contacts/{alias}/channels/{name}/activate",
                     HTTP_ROLE_RESPONDER, channel_activate);
    rc |= http_route(s, "POST", "/api/v1/contacts/{alias}/channels/{name}/send-activation",
                     HTTP_ROLE_RESPONDER, channel_send_activation);
    rc |= http_route(s, "POST", "/api/v1/contacts/{alias}/channels/{name}/deactivate",
                     HTTP_ROLE_RESPONDER, channel_deactivate);
    return rc ? CORDON_ENOMEM : 0;
}
