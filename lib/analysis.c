/*
 * analysis.c — post-incident analysis: template, prefill, Markdown, metrics.
 */
#include "analysis.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = { "PROPOSED", "OPEN",      "IN_PROGRESS",
                                            "DONE",     "DISMISSED", NULL };

/* Cordon's default questions (incident-response-spec.md §15). */
static const struct {
    const char *group, *text;
} default_questions[] = {
    { "Detection", "How and when was it detected, relative to the first anomalous datapoint?" },
    { "Detection", "Which behavior fired, and could another have fired earlier?" },
    { "Detection", "Did the page reach an acknowledging responder, after how many stages?" },
    { "Detection", "Were there false or missed alarms?" },
    { "Diagnosis", "How long until the cause was known?" },
    { "Diagnosis", "What evidence was missing (logs, metric history, device access)?" },
    { "Diagnosis", "Was a recent change involved (firmware, policy, configuration)?" },
    { "Diagnosis", "Did the runbook's analysis checklist fit?" },
    { "Mitigation", "Time from alarm to enforced quarantine?" },
    { "Mitigation", "Was containment limited to the right device(s)?" },
    { "Mitigation", "Which manual steps could be automated?" },
    { "Mitigation", "Any collateral impact?" },
    { "Prevention", "Root cause (5 whys)? Why 1: … Why 2: … Why 3: … Why 4: … Why 5: …" },
    { "Prevention", "Which devices share the exposure?" },
    { "Prevention", "Which profile, hardening or patch change prevents recurrence?" },
    { "Prevention", "Which action items, with owners and dates?" },
};

static const char *const default_checks[] = {
    "All runbook checklist items ticked",
    "Thing released from quarantine",
    "Security profile changes reviewed",
    "Every action item has an owner and a due date",
};

const char *analysis_action_status_name(enum analysis_action_status s)
{
    return (unsigned)s < 5 ? status_names[s] : "OPEN";
}

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

void analysis_init(struct analysis *a)
{
    memset(a, 0, sizeof(*a));
    a->metrics.detect_ms = a->metrics.ack_ms = a->metrics.contain_ms = a->metrics.resolve_ms = -1;
}

void analysis_free(struct analysis *a)
{
    size_t i;

    free(a->metric_value);
    json_decref(a->timeline);
    for (i = 0; i < a->nquestions; i++)
        free(a->questions[i].answer);
    memset(a, 0, sizeof(*a));
}

static int64_t span(int64_t from, int64_t to)
{
    return from > 0 && to > 0 && to >= from ? to - from : -1;
}

void analysis_metrics_of(const struct incident *inc, struct analysis_metrics *m)
{
    m->detect_ms = span(inc->first_datapoint_ms, inc->created_ms);
    m->ack_ms = span(inc->created_ms, inc->acknowledged_ms);
    m->contain_ms = span(inc->created_ms, inc->contained_ms);
    m->resolve_ms = inc->status == INCIDENT_RESOLVED ? span(inc->created_ms, inc->resolved_ms) : -1;
}

void analysis_duration_text(int64_t ms, char *out, size_t n)
{
    int64_t s = ms / 1000;

    if (ms < 0) {
        snprintf(out, n, "not measured");
        return;
    }
    if (ms % 1000)
        snprintf(out, n, "%" PRId64 ".%03d s", s, (int)(ms % 1000));
    else
        snprintf(out, n, "%" PRId64 " s", s);
    if (s >= 60) {
        size_t used = strlen(out);
        if (s >= 3600)
            snprintf(out + used, n - used, " (%" PRId64 " h %" PRId64 " min %" PRId64 " s)",
                     s / 3600, (s % 3600) / 60, s % 60);
        else
            snprintf(out + used, n - used, " (%" PRId64 " min %" PRId64 " s)", s / 60, s % 60);
    }
}

int analysis_check_add(struct analysis *a, const char *text)
{
    if (!text || !*text || strlen(text) > ANALYSIS_TEXT_MAX)
        return CORDON_EINVAL;
    if (a->nchecks >= ANALYSIS_CHECKS_MAX)
        return CORDON_ETOOBIG;
    copy(a->checks[a->nchecks].text, sizeof(a->checks[0].text), text);
    a->checks[a->nchecks++].done = false;
    return 0;
}

int analysis_check_set(struct analysis *a, size_t index, bool done)
{
    if (index >= a->nchecks)
        return CORDON_ENOTFOUND;
    a->checks[index].done = done;
    return 0;
}

int analysis_action_add(struct analysis *a, const char *title, const char *owner, int64_t due_ms,
                        enum analysis_action_status status)
{
    struct analysis_action *x;

    if (!title || !*title || strlen(title) > ANALYSIS_TEXT_MAX ||
        (owner && strlen(owner) > INCIDENT_WHO_MAX) || (unsigned)status > 4)
        return CORDON_EINVAL;
    if (a->nactions >= ANALYSIS_ACTIONS_MAX)
        return CORDON_ETOOBIG;
    x = &a->actions[a->nactions++];
    copy(x->title, sizeof(x->title), title);
    copy(x->owner, sizeof(x->owner), owner);
    x->due_ms = due_ms;
    x->status = status;
    return 0;
}

int analysis_action_set(struct analysis *a, size_t index, const char *owner, int64_t due_ms,
                        enum analysis_action_status status)
{
    if (index >= a->nactions)
        return CORDON_ENOTFOUND;
    if ((owner && strlen(owner) > INCIDENT_WHO_MAX) || (unsigned)status > 4)
        return CORDON_EINVAL;
    if (owner)
        copy(a->actions[index].owner, sizeof(a->actions[index].owner), owner);
    if (due_ms)
        a->actions[index].due_ms = due_ms;
    a->actions[index].status = status;
    return 0;
}

int analysis_answer(struct analysis *a, size_t q, const char *answer)
{
    char *d;

    if (q >= a->nquestions)
        return CORDON_ENOTFOUND;
    if (!answer || strlen(answer) > ANALYSIS_ANSWER_MAX)
        return CORDON_EINVAL;
    d = strdup(answer);
    if (!d)
        return CORDON_ENOMEM;
    free(a->questions[q].answer);
    a->questions[q].answer = d;
    return 0;
}

size_t analysis_open_items(const struct analysis *a)
{
    size_t i, n = 0;

    for (i = 0; i < a->nchecks; i++)
        n += !a->checks[i].done;
    for (i = 0; i < a->nactions; i++) {
        enum analysis_action_status s = a->actions[i].status;
        if (s == ANALYSIS_ACTION_PROPOSED ||
            ((s == ANALYSIS_ACTION_OPEN || s == ANALYSIS_ACTION_IN_PROGRESS) &&
             !a->actions[i].owner[0]))
            n++;
    }
    return n;
}

/* Last runbook step event: "step: status". */
static void runbook_from_timeline(const struct incident *inc, char *out, size_t n)
{
    size_t i;

    copy(out, n, "no runbook execution recorded");
    for (i = inc->nevents; i-- > 0;) {
        json_t *j;
        if (strcmp(inc->events[i].type, INCIDENT_EVENT_RUNBOOK))
            continue;
        j = json_loads(inc->events[i].data, 0, NULL);
        if (j) {
            snprintf(out, n, "last step %s: %s",
                     json_string_value(json_object_get(j, "step"))
                         ? json_string_value(json_object_get(j, "step"))
                         : "?",
                     json_string_value(json_object_get(j, "status"))
                         ? json_string_value(json_object_get(j, "status"))
                         : "?");
            json_decref(j);
        }
        return;
    }
}

int analysis_from_incident(struct analysis *a, const struct incident *inc,
                           const char *runbook_outcome)
{
    json_t *full;
    size_t i;
    int r;

    if (inc->status != INCIDENT_RESOLVED)
        return CORDON_ESTATE;
    analysis_free(a);
    analysis_init(a);
    copy(a->incident_id, sizeof(a->incident_id), inc->id);
    copy(a->title, sizeof(a->title), inc->title);
    a->impact = inc->impact;
    copy(a->plan, sizeof(a->plan), inc->plan);
    copy(a->thing, sizeof(a->thing), inc->thing);
    copy(a->profile, sizeof(a->profile), inc->profile);
    copy(a->behavior, sizeof(a->behavior), inc->behavior);
    copy(a->metric, sizeof(a->metric), inc->metric);
    if (inc->metric_value && !(a->metric_value = strdup(inc->metric_value)))
        return CORDON_ENOMEM;
    if (runbook_outcome)
        copy(a->runbook_outcome, sizeof(a->runbook_outcome), runbook_outcome);
    else
        runbook_from_timeline(inc, a->runbook_outcome, sizeof(a->runbook_outcome));
    a->first_datapoint_ms = inc->first_datapoint_ms;
    a->created_ms = inc->created_ms;
    a->acknowledged_ms = inc->acknowledged_ms;
    a->contained_ms = inc->contained_ms;
    a->resolved_ms = inc->resolved_ms;
    analysis_metrics_of(inc, &a->metrics);
    full = incident_to_json(inc);
    if (!full)
        return CORDON_ENOMEM;
    a->timeline = json_incref(json_object_get(full, "timeline"));
    json_decref(full);
    for (i = 0; i < sizeof(default_questions) / sizeof(default_questions[0]); i++) {
        copy(a->questions[i].group, sizeof(a->questions[i].group), default_questions[i].group);
        copy(a->questions[i].text, sizeof(a->questions[i].text), default_questions[i].text);
        a->nquestions++;
    }
    for (i = 0; i < sizeof(default_checks) / sizeof(default_checks[0]); i++)
        if ((r = analysis_check_add(a, default_checks[i])))
            return r;
    /* recommended action items (seed-scenario.md §4) */
    if (strstr(a->metric, "listening-tcp-ports") || strstr(a->metric, "listening-udp-ports")) {
        analysis_action_add(a, "Remove the unauthorized listener from the device image", NULL, 0,
                            ANALYSIS_ACTION_PROPOSED);
        analysis_action_add(a,
                            strstr(a->metric, "udp")
                                ? "Add an aws:num-listening-udp-ports threshold behavior"
                                : "Add an aws:num-listening-tcp-ports threshold behavior",
                            NULL, 0, ANALYSIS_ACTION_PROPOSED);
    } else if (a->behavior[0]) {
        char t[ANALYSIS_TEXT_MAX + 1];
        snprintf(t, sizeof(t), "Review behavior %.200s of profile %.200s for earlier detection",
                 a->behavior, a->profile);
        analysis_action_add(a, t, NULL, 0, ANALYSIS_ACTION_PROPOSED);
    }
    analysis_action_add(a, "Review who can run shell commands on the device", NULL, 0,
                        ANALYSIS_ACTION_PROPOSED);
    return 0;
}

/* ---- Markdown ---------------------------------------------------------------- */

static int md_time(struct buf *b, const char *label, int64_t ms)
{
    char t[32];

    if (ms <= 0)
        return buf_printf(b, "| %s | — |\n", label);
    incident_time_iso(ms, t, sizeof(t));
    return buf_printf(b, "| %s | %s |\n", label, t);
}

/* Markdown table cells: no newlines or pipes. */
static int md_cell(struct buf *b, const char *s)
{
    int r = 0;

    for (; *s && !r; s++) {
        if (*s == '|')
            r = buf_adds(b, "\\|");
        else if (*s == '\n' || *s == '\r')
            r = buf_addc(b, ' ');
        else
            r = buf_addc(b, *s);
    }
    return r;
}

static int md_metric(struct buf *b, const char *label, const char *def, int64_t ms)
{
    char t[80];
    int r;

    analysis_duration_text(ms, t, sizeof(t));
    r = buf_printf(b, "| %s | %s | %s |\n", label, t, def);
    return r;
}

int analysis_to_markdown(const struct analysis *a, struct buf *b)
{
    static const char *const groups[] = { "Detection", "Diagnosis", "Mitigation", "Prevention" };
    size_t i, g, k;
    int r = 0;

    r |= buf_adds(b, "# Post-incident analysis: ");
    r |= md_cell(b, a->title);
    r |= buf_printf(b, "\n\nIncident `%s` · response plan `%s` · impact %d\n\n", a->incident_id,
                    a->plan, a->impact);
    r |= buf_adds(b, "## Overview\n\n| Field | Value |\n|---|---|\n");
    r |= buf_adds(b, "| Thing | ");
    r |= md_cell(b, a->thing[0] ? a->thing : "—");
    r |= buf_adds(b, " |\n| Security profile | ");
    r |= md_cell(b, a->profile[0] ? a->profile : "—");
    r |= buf_adds(b, " |\n| Behavior | ");
    r |= md_cell(b, a->behavior[0] ? a->behavior : "—");
    r |= buf_adds(b, " |\n| Metric | ");
    r |= md_cell(b, a->metric[0] ? a->metric : "—");
    r |= buf_adds(b, " |\n| Offending value | ");
    if (a->metric_value) {
        r |= buf_adds(b, "`");
        r |= md_cell(b, a->metric_value);
        r |= buf_adds(b, "`");
    } else {
        r |= buf_adds(b, "—");
    }
    r |= buf_adds(b, " |\n| Runbook outcome | ");
    r |= md_cell(b, a->runbook_outcome);
    r |= buf_adds(b, " |\n");
    r |= md_time(b, "First violating datapoint", a->first_datapoint_ms);
    r |= md_time(b, "Incident created", a->created_ms);
    r |= md_time(b, "First acknowledgement", a->acknowledged_ms);
    r |= md_time(b, "Quarantine enforced", a->contained_ms);
    r |= md_time(b, "Resolved", a->resolved_ms);
    r |= buf_adds(b, "\n## Metrics\n\n| Metric | Value | Definition |\n|---|---|---|\n");
    r |= md_metric(b, "Time to detect", "first violating datapoint → incident",
                   a->metrics.detect_ms);
    r |= md_metric(b, "Time to first acknowledgement (MTTA)", "incident → first acknowledgement",
                   a->metrics.ack_ms);
    r |= md_metric(b, "Time to contain", "incident → quarantine enforced", a->metrics.contain_ms);
    r |= md_metric(b, "Time to resolve (MTTR)", "incident → resolved", a->metrics.resolve_ms);
    r |= buf_adds(b, "\n## Timeline\n\n| Time | Event | Data |\n|---|---|---|\n");
    for (i = 0; a->timeline && i < json_array_size(a->timeline); i++) {
        const json_t *ev = json_array_get(a->timeline, i);
        const char *t = json_string_value(json_object_get(ev, "eventTime"));
        const char *ty = json_string_value(json_object_get(ev, "eventType"));
        const char *d = json_string_value(json_object_get(ev, "eventData"));
        r |= buf_printf(b, "| %s | ", t ? t : "");
        r |= md_cell(b, ty ? ty : "");
        r |= buf_adds(b, " | `");
        if (d && strlen(d) > 300) {
            char cut[301];
            memcpy(cut, d, 300);
            cut[300] = '\0';
            r |= md_cell(b, cut);
            r |= buf_adds(b, "…");
        } else {
            r |= md_cell(b, d ? d : "");
        }
        r |= buf_adds(b, "` |\n");
    }
    r |= buf_adds(b, "\n## Questions\n");
    for (g = 0; g < 4; g++) {
        r |= buf_printf(b, "\n### %s\n\n", groups[g]);
        for (k = 0; k < a->nquestions; k++) {
            if (strcmp(a->questions[k].group, groups[g]))
                continue;
            r |= buf_printf(b, "- **%s**\n  %s\n", a->questions[k].text,
                            a->questions[k].answer ? a->questions[k].answer : "_(open)_");
        }
    }
    r |= buf_adds(b, "\n## Action items\n\n| Action | Owner | Due | Status |\n|---|---|---|---|\n");
    for (i = 0; i < a->nactions; i++) {
        char due[32] = "—";
        if (a->actions[i].due_ms > 0) {
            incident_time_iso(a->actions[i].due_ms, due, sizeof(due));
            due[10] = '\0';
        }
        r |= buf_adds(b, "| ");
        r |= md_cell(b, a->actions[i].title);
        r |= buf_adds(b, " | ");
        r |= md_cell(b, a->actions[i].owner[0] ? a->actions[i].owner : "—");
        r |=
            buf_printf(b, " | %s | %s |\n", due, analysis_action_status_name(a->actions[i].status));
    }
    r |= buf_adds(b, "\n## Checklist\n\n");
    for (i = 0; i < a->nchecks; i++) {
        r |= buf_printf(b, "- [%c] ", a->checks[i].done ? 'x' : ' ');
        r |= md_cell(b, a->checks[i].text);
        r |= buf_adds(b, "\n");
    }
    if (analysis_open_items(a))
        r |= buf_printf(b, "\n> %zu open item(s) remain.\n", analysis_open_items(a));
    return r ? (r == CORDON_ENOMEM ? CORDON_ENOMEM : CORDON_ETOOBIG) : 0;
}

/* ---- JSON ------------------------------------------------------------------------ */

json_t *analysis_to_json(const struct analysis *a)
{
    json_t *q = json_array(), *ac = json_array(), *ch = json_array(), *o;
    size_t i;

    for (i = 0; i < a->nquestions; i++) {
        json_t *x =
            json_pack("{ss ss}", "group", a->questions[i].group, "question", a->questions[i].text);
        if (x && a->questions[i].answer)
            json_object_set_new(x, "answer", json_string(a->questions[i].answer));
        json_array_append_new(q, x);
    }
    for (i = 0; i < a->nactions; i++)
        json_array_append_new(ac, json_pack("{ss ss sI ss}", "title", a->actions[i].title, "owner",
                                            a->actions[i].owner, "dueMs",
                                            (json_int_t)a->actions[i].due_ms, "status",
                                            analysis_action_status_name(a->actions[i].status)));
    for (i = 0; i < a->nchecks; i++)
        json_array_append_new(
            ch, json_pack("{ss sb}", "text", a->checks[i].text, "done", a->checks[i].done));
    o = json_pack("{ss ss si ss s{ss ss ss ss ss} s{sI sI sI sI sI} s{sI sI sI sI} so so so so}",
                  "incidentArn", a->incident_id, "title", a->title, "impact", a->impact,
                  "responsePlan", a->plan, "overview", "thingName", a->thing, "securityProfileName",
                  a->profile, "behaviorName", a->behavior, "metric", a->metric, "runbookOutcome",
                  a->runbook_outcome, "timesMs", "firstDatapoint",
                  (json_int_t)a->first_datapoint_ms, "creation", (json_int_t)a->created_ms,
                  "acknowledged", (json_int_t)a->acknowledged_ms, "contained",
                  (json_int_t)a->contained_ms, "resolved", (json_int_t)a->resolved_ms, "metricsMs",
                  "timeToDetect", (json_int_t)a->metrics.detect_ms, "timeToFirstAcknowledgement",
                  (json_int_t)a->metrics.ack_ms, "timeToContain", (json_int_t)a->metrics.contain_ms,
                  "timeToResolve", (json_int_t)a->metrics.resolve_ms, "timeline",
                  a->timeline ? json_incref(a->timeline) : json_array(), "questions", q,
                  "actionItems", ac, "checklist", ch);
    if (o && a->metric_value)
        json_object_set_new(json_object_get(o, "overview"), "metricValue",
                            json_string(a->metric_value));
    return o;
}

static int bad(struct cordon_diag *d, const char *what)
{
    cordon_diag_set(d, "InvalidField", 0, 0, 0, "analysis: %s: missing or invalid", what);
    return CORDON_EINVAL;
}

static const char *sget(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

int analysis_from_json(struct analysis *a, const json_t *v, struct cordon_diag *d)
{
    const json_t *ov = json_object_get(v, "overview"), *t = json_object_get(v, "timesMs"),
                 *m = json_object_get(v, "metricsMs"), *arr;
    size_t i;
    int r, s;

    analysis_free(a);
    analysis_init(a);
    if (!json_is_object(v) || !json_is_object(ov) || !json_is_object(t) || !json_is_object(m))
        return bad(d, "(document)");
    copy(a->incident_id, sizeof(a->incident_id), sget(v, "incidentArn"));
    copy(a->title, sizeof(a->title), sget(v, "title"));
    a->impact = (int)json_integer_value(json_object_get(v, "impact"));
    copy(a->plan, sizeof(a->plan), sget(v, "responsePlan"));
    copy(a->thing, sizeof(a->thing), sget(ov, "thingName"));
    copy(a->profile, sizeof(a->profile), sget(ov, "securityProfileName"));
    copy(a->behavior, sizeof(a->behavior), sget(ov, "behaviorName"));
    copy(a->metric, sizeof(a->metric), sget(ov, "metric"));
    copy(a->runbook_outcome, sizeof(a->runbook_outcome), sget(ov, "runbookOutcome"));
    if (json_is_string(json_object_get(ov, "metricValue")) &&
        !(a->metric_value = strdup(sget(ov, "metricValue"))))
        return CORDON_ENOMEM;
    a->first_datapoint_ms = json_integer_value(json_object_get(t, "firstDatapoint"));
    a->created_ms = json_integer_value(json_object_get(t, "creation"));
    a->acknowledged_ms = json_integer_value(json_object_get(t, "acknowledged"));
    a->contained_ms = json_integer_value(json_object_get(t, "contained"));
    a->resolved_ms = json_integer_value(json_object_get(t, "resolved"));
    a->metrics.detect_ms = json_integer_value(json_object_get(m, "timeToDetect"));
    a->metrics.ack_ms = json_integer_value(json_object_get(m, "timeToFirstAcknowledgement"));
    a->metrics.contain_ms = json_integer_value(json_object_get(m, "timeToContain"));
    a->metrics.resolve_ms = json_integer_value(json_object_get(m, "timeToResolve"));
    arr = json_object_get(v, "timeline");
    a->timeline = json_is_array(arr) ? json_deep_copy(arr) : json_array();
    arr = json_object_get(v, "questions");
    if (!json_is_array(arr) || json_array_size(arr) > ANALYSIS_QUESTIONS_MAX)
        return bad(d, "questions");
    for (i = 0; i < json_array_size(arr); i++) {
        const json_t *x = json_array_get(arr, i);
        copy(a->questions[i].group, sizeof(a->questions[i].group), sget(x, "group"));
        copy(a->questions[i].text, sizeof(a->questions[i].text), sget(x, "question"));
        a->nquestions++;
        if (json_is_string(json_object_get(x, "answer")) &&
            (r = analysis_answer(a, i, sget(x, "answer"))))
            return r;
    }
    arr = json_object_get(v, "actionItems");
    if (!json_is_array(arr) || json_array_size(arr) > ANALYSIS_ACTIONS_MAX)
        return bad(d, "actionItems");
    for (i = 0; i < json_array_size(arr); i++) {
        const json_t *x = json_array_get(arr, i);
        for (s = 0; status_names[s]; s++)
            if (!strcmp(status_names[s], sget(x, "status")))
                break;
        if (!status_names[s] ||
            (r = analysis_action_add(a, sget(x, "title"), sget(x, "owner"),
                                     json_integer_value(json_object_get(x, "dueMs")),
                                     (enum analysis_action_status)s)))
            return bad(d, "actionItems");
    }
    arr = json_object_get(v, "checklist");
    if (!json_is_array(arr) || json_array_size(arr) > ANALYSIS_CHECKS_MAX)
        return bad(d, "checklist");
    for (i = 0; i < json_array_size(arr); i++) {
        const json_t *x = json_array_get(arr, i);
        if (analysis_check_add(a, sget(x, "text")))
            return bad(d, "checklist");
        a->checks[i].done = json_is_true(json_object_get(x, "done"));
    }
    return 0;
}

/* ---- aggregates ---------------------------------------------------------------------- */

void analysis_aggregate(struct incident *const *incidents, size_t n,
                        const struct incident_filter *filter, struct analysis_stats *out)
{
    double ack = 0, res = 0, det = 0, con = 0;
    size_t i, ndet = 0;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < n; i++) {
        struct analysis_metrics m;
        const struct incident *inc = incidents[i];
        if (!inc || (filter && !incident_filter_match(filter, inc)))
            continue;
        out->created++;
        analysis_metrics_of(inc, &m);
        if (inc->status == INCIDENT_RESOLVED)
            out->resolved++;
        if (m.resolve_ms >= 0)
            res += (double)m.resolve_ms;
        if (m.ack_ms >= 0) {
            out->acknowledged++;
            ack += (double)m.ack_ms;
        }
        if (m.contain_ms >= 0) {
            out->contained++;
            con += (double)m.contain_ms;
        }
        if (m.detect_ms >= 0) {
            ndet++;
            det += (double)m.detect_ms;
        }
    }
    out->mtta_s = out->acknowledged ? ack / (double)out->acknowledged / 1000.0 : 0;
    out->mttr_s = out->resolved ? res / (double)out->resolved / 1000.0 : 0;
    out->mttc_s = out->contained ? con / (double)out->contained / 1000.0 : 0;
    out->mttd_s = ndet ? det / (double)ndet / 1000.0 : 0;
}
