/*
 * test_incident.c — incidents from violations (seed-scenario.md §2.5, §2.8,
 * §6 flaws 1 and 3): routing, dedupe/merge, idempotency, updates, JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analysis.h"
#include "behavior.h"
#include "detect.h"
#include "profile.h"
#include "contact.h"
#include "engagement.h"
#include "incident.h"
#include "response_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000000LL

static int fill(void *ctx, void *buf, size_t n)
{
    uint64_t *s = ctx;
    uint8_t *b = buf;
    size_t i;

    for (i = 0; i < n; i++) {
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        b[i] = (uint8_t)(*s >> 56);
    }
    return 0;
}

static uint64_t seed = 7;
static const struct incident_random rnd = { fill, &seed };
static const struct incident_env env = { "http://console.test:8080/", "cordond" };

static void load_plan(struct response_plan *p)
{
    char path[512];
    struct cordon_diag d;
    FILE *f;
    char *b = malloc(1 << 16);
    size_t n;

    snprintf(path, sizeof(path), "%s/incidents/response-plan.yaml", CORDON_FIXTURES);
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(b, 1, (1 << 16) - 1, f);
    fclose(f);
    response_plan_init(p);
    assert_int_equal(response_plan_from_yaml(p, b, n, "response-plan.yaml", &d), 0);
    free(b);
}

static struct incident_violation violation(const char *id, const char *thing,
                                           enum incident_violation_type type)
{
    struct incident_violation v;

    memset(&v, 0, sizeof(v));
    v.violation_id = id;
    v.thing_name = thing;
    v.profile = "DeviceRuleBaseline";
    v.behavior = "AuthorizedTcpPorts";
    v.metric = "aws:listening-tcp-ports";
    v.metric_value_json = "{\"ports\":[22,443,4444]}";
    v.thing_json = "{\"thingName\":\"dd-test-01\",\"attributes\":{}}";
    v.type = type;
    v.time_ms = T0 - 200;
    v.first_datapoint_ms = T0 - 5000;
    return v;
}

static const struct incident_event *event_of(const struct incident *inc, const char *type)
{
    size_t i;

    for (i = 0; i < inc->nevents; i++)
        if (!strcmp(inc->events[i].type, type))
            return &inc->events[i];
    return NULL;
}

static size_t effects_of(const struct incident_effects *fx, enum incident_effect_type t)
{
    size_t i, n = 0;

    for (i = 0; i < fx->n; i++)
        n += fx->items[i].type == t;
    return n;
}

/* §3 step 5: title, impact, plan, related items, trigger event; effects. */
static void test_start_from_violation(void **state)
{
    struct response_plan plan;
    struct incident inc;
    struct incident_effects fx;
    struct incident_violation v = violation("v-0001", "dd-test-01", INCIDENT_VIOLATION_IN_ALARM);
    size_t idx, i;
    const struct incident_event *trig;
    json_t *things;
    struct incident *none[1] = { NULL };

    (void)state;
    load_plan(&plan);
    assert_int_equal(incident_route(&plan, &v, none, 0, &idx), INCIDENT_ROUTE_START);
    incident_init(&inc);
    incident_effects_init(&fx);
    assert_int_equal(incident_start(&inc, &plan, &v, &env, T0, &rnd, &fx), 0);
    assert_string_equal(inc.title, "Critical IoT Device Incident | v-0001");
    assert_int_equal(inc.impact, 3);
    assert_int_equal(inc.status, INCIDENT_OPEN);
    assert_string_equal(inc.plan, "IotResponsePlan");
    assert_string_equal(inc.summary, "IoT Device Defender Security Profile Violation");
    assert_string_equal(inc.dedupe, "dd-test-01/DeviceRuleBaseline/AuthorizedTcpPorts");
    assert_string_equal(inc.source, "cordon.detect");
    assert_int_equal(strncmp(inc.id, "cordon:incident/IotResponsePlan/", 32), 0);
    assert_int_equal(strlen(inc.id), 32 + 36);
    assert_int_equal(inc.nitems, 3);
    assert_string_equal(inc.items[0].title, "IoT Logs Query URL");
    assert_string_equal(inc.items[0].value,
                        "http://console.test:8080/things/dd-test-01/logs?range=3600");
    assert_string_equal(inc.items[1].title, "Thing additional information");
    assert_string_equal(inc.items[1].value, "http://console.test:8080/things/dd-test-01");
    assert_int_equal(inc.items[2].type, INCIDENT_ITEM_INVOLVED_RESOURCE);
    assert_string_equal(inc.items[2].value, "cordon:thing/dd-test-01");
    things = incident_involved_things(&inc);
    assert_int_equal(json_array_size(things), 1);
    assert_string_equal(json_string_value(json_array_get(things, 0)), "dd-test-01");
    json_decref(things);
    trig = event_of(&inc, INCIDENT_EVENT_TRIGGER);
    assert_non_null(trig);
    assert_non_null(strstr(trig->data, "\"source\":\"cordon.detect\""));
    assert_non_null(strstr(trig->data, "4444"));
    assert_non_null(strstr(trig->data, "2023-11-14T22:13:19.800Z")); /* event time, ISO 8601 */
    /* effects: engage the escalation plan, start the runbook with the incident id, notify */
    assert_int_equal(effects_of(&fx, INCIDENT_EFFECT_ENGAGE), 1);
    assert_int_equal(effects_of(&fx, INCIDENT_EFFECT_RUNBOOK), 1);
    assert_int_equal(effects_of(&fx, INCIDENT_EFFECT_NOTIFY), 2);
    for (i = 0; i < fx.n; i++) {
        const struct incident_effect *x = &fx.items[i];
        if (x->type == INCIDENT_EFFECT_ENGAGE)
            assert_string_equal(x->contact, "iot-escalation");
        if (x->type == INCIDENT_EFFECT_RUNBOOK) {
            assert_string_equal(x->document_name, "DeviceIncident");
            assert_string_equal(
                json_string_value(json_array_get(json_object_get(x->parameters, "IncidentId"), 0)),
                inc.id);
            assert_string_equal(json_string_value(json_object_get(x->dynamic, "IncidentId")),
                                "INCIDENT_RECORD_ARN");
        }
        if (x->type == INCIDENT_EFFECT_NOTIFY)
            assert_non_null(strstr(x->payload, "IncidentCreated"));
    }
    assert_int_equal(inc.first_datapoint_ms, T0 - 5000);
    incident_effects_free(&fx);
    incident_free(&inc);
    response_plan_free(&plan);
}

/* Two violations with the same dedupe string make one incident; retries are no-ops. */
static void test_dedupe_and_merge(void **state)
{
    struct response_plan plan;
    struct incident inc, other;
    struct incident *known[2];
    struct incident_effects fx;
    struct incident_violation v1 = violation("v-1", "dd-test-01", INCIDENT_VIOLATION_IN_ALARM);
    struct incident_violation v2 = violation("v-2", "dd-test-01", INCIDENT_VIOLATION_IN_ALARM);
    struct incident_violation v3 = violation("v-3", "dd-test-02", INCIDENT_VIOLATION_IN_ALARM);
    size_t idx, events;

    (void)state;
    load_plan(&plan);
    incident_init(&inc);
    incident_effects_init(&fx);
    assert_int_equal(incident_start(&inc, &plan, &v1, &env, T0, &rnd, &fx), 0);
    known[0] = &inc;
    assert_int_equal(incident_route(&plan, &v2, known, 1, &idx), INCIDENT_ROUTE_JOIN);
    assert_int_equal(idx, 0);
    events = inc.nevents;
    assert_int_equal(incident_join(&inc, &v2, T0 + 1000, &rnd, &fx), 0);
    assert_int_equal(inc.nevents, events + 1);
    assert_non_null(event_of(&inc, INCIDENT_EVENT_MERGE));
    assert_int_equal(inc.nitems, 3); /* same thing: not added twice */
    /* exact retry of either violation: duplicate, nothing changes */
    assert_int_equal(incident_route(&plan, &v2, known, 1, &idx), INCIDENT_ROUTE_DUPLICATE);
    assert_int_equal(incident_route(&plan, &v1, known, 1, &idx), INCIDENT_ROUTE_DUPLICATE);
    assert_int_equal(incident_join(&inc, &v2, T0 + 2000, &rnd, &fx), CORDON_EEXIST);
    assert_int_equal(inc.nevents, events + 1);
    /* another thing: its own dedupe string, its own incident (even in the same ms) */
    v3.time_ms = v1.time_ms;
    assert_int_equal(incident_route(&plan, &v3, known, 1, &idx), INCIDENT_ROUTE_START);
    incident_init(&other);
    assert_int_equal(incident_start(&other, &plan, &v3, &env, T0, &rnd, &fx), 0);
    assert_string_not_equal(other.id, inc.id);
    known[1] = &other;
    /* a resolved incident never absorbs */
    assert_int_equal(incident_resolve(&inc, "alice", T0 + 5000, &rnd, &fx), 0);
    v2.violation_id = "v-4";
    assert_int_equal(incident_route(&plan, &v2, known, 2, &idx), INCIDENT_ROUTE_START);
    assert_int_equal(incident_join(&inc, &v2, T0 + 6000, &rnd, &fx), CORDON_ESTATE);
    incident_effects_free(&fx);
    incident_free(&inc);
    incident_free(&other);
    response_plan_free(&plan);
}

/* Seed flaw 1: suppressed, cleared, invalidated, false/benign positives open nothing. */
static void test_events_that_open_nothing(void **state)
{
    struct response_plan plan;
    struct incident inc;
    struct incident *known[1] = { &inc };
    struct incident_effects fx;
    struct incident_violation v = violation("v-9", "dd-test-01", INCIDENT_VIOLATION_IN_ALARM);
    struct incident_violation c = violation("v-9", "dd-test-01", INCIDENT_VIOLATION_CLEARED);
    struct incident_violation inv = violation("v-9", "dd-test-01", INCIDENT_VIOLATION_INVALIDATED);
    size_t idx, events;

    (void)state;
    load_plan(&plan);
    v.suppressed = true;
    assert_int_equal(incident_route(&plan, &v, NULL, 0, &idx), INCIDENT_ROUTE_IGNORE);
    v.suppressed = false;
    v.verification = INCIDENT_VERIFICATION_FALSE_POSITIVE;
    assert_int_equal(incident_route(&plan, &v, NULL, 0, &idx), INCIDENT_ROUTE_IGNORE);
    v.verification = INCIDENT_VERIFICATION_BENIGN_POSITIVE;
    assert_int_equal(incident_route(&plan, &v, NULL, 0, &idx), INCIDENT_ROUTE_IGNORE);
    incident_init(&inc);
    incident_effects_init(&fx);
    assert_int_equal(incident_start(&inc, &plan, &v, &env, T0, &rnd, &fx), CORDON_ESTATE);
    incident_free(&inc);
    assert_int_equal(incident_route(&plan, &c, NULL, 0, &idx), INCIDENT_ROUTE_IGNORE);
    assert_int_equal(incident_route(&plan, &inv, NULL, 0, &idx), INCIDENT_ROUTE_IGNORE);

    /* with an open incident, clear and invalidate go to its timeline */
    v.verification = INCIDENT_VERIFICATION_UNKNOWN;
    incident_init(&inc);
    assert_int_equal(incident_start(&inc, &plan, &v, &env, T0, &rnd, &fx), 0);
    events = inc.nevents;
    assert_int_equal(incident_route(&plan, &c, known, 1, &idx), INCIDENT_ROUTE_RECORD);
    assert_int_equal(incident_record(&inc, &c, T0 + 10, &rnd), 0);
    assert_int_equal(incident_route(&plan, &inv, known, 1, &idx), INCIDENT_ROUTE_RECORD);
    assert_int_equal(incident_record(&inc, &inv, T0 + 20, &rnd), 0);
    assert_int_equal(inc.nevents, events + 2);
    assert_non_null(strstr(inc.events[events].data, "alarm-cleared"));
    assert_non_null(strstr(inc.events[events + 1].data, "alarm-invalidated"));
    assert_int_equal(inc.status, INCIDENT_OPEN);
    incident_effects_free(&fx);
    incident_free(&inc);
    response_plan_free(&plan);
}

/* Update, notes, resolve, filters, JSON round trip. */
static void test_update_resolve_json(void **state)
{
    struct response_plan plan;
    struct incident inc, back;
    struct incident_effects fx;
    struct incident_violation v = violation("v-5", "dd-test-01", INCIDENT_VIOLATION_IN_ALARM);
    struct incident_update u = { "Port 4444 open on dd-test-01", NULL, 2, -1 };
    struct incident_filter f;
    struct cordon_diag d;
    char note_id[37];
    json_t *j, *j2;
    char *text;

    (void)state;
    load_plan(&plan);
    incident_init(&inc);
    incident_effects_init(&fx);
    assert_int_equal(incident_start(&inc, &plan, &v, &env, T0, &rnd, &fx), 0);
    assert_int_equal(incident_update(&inc, &u, "alice", T0 + 100, &rnd, &fx), 0);
    assert_string_equal(inc.title, "Port 4444 open on dd-test-01");
    assert_int_equal(inc.impact, 2);
    assert_string_equal(inc.modified_by, "alice");
    assert_non_null(strstr(inc.events[inc.nevents - 1].data, "\"impact\":{\"from\":3,\"to\":2}"));
    u.impact = 9;
    assert_int_equal(incident_update(&inc, &u, "alice", T0 + 100, &rnd, &fx), CORDON_EINVAL);
    assert_int_equal(incident_note(&inc, "bob", "Looking at the logs", T0 + 200, &rnd), 0);
    assert_int_equal(incident_event_add(&inc, INCIDENT_EVENT_CUSTOM, "Firmware 1.2 rolled back",
                                        "[{\"resource\":\"cordon:thing/dd-test-01\"}]", T0 + 250,
                                        &rnd, note_id),
                     0);
    assert_int_equal(
        incident_event_update(&inc, note_id, "Firmware 1.2 rolled back (all)", T0 + 260), 0);
    assert_int_equal(incident_event_update(&inc, inc.events[0].id, "x", T0), CORDON_ESTATE);
    assert_int_equal(incident_note_ack(&inc, "oncall-primary", "sms", NULL, T0 + 300, &rnd), 0);
    assert_int_equal(incident_note_ack(&inc, "oncall-secondary", "email", NULL, T0 + 900, &rnd), 0);
    assert_int_equal(inc.acknowledged_ms, T0 + 300); /* the first one */
    assert_int_equal(incident_note_quarantine(&inc, "dd-test-01", true, T0 + 400, &rnd), 0);
    assert_int_equal(
        incident_note_runbook(&inc, "exec-1", "Containment", "Success", NULL, T0 + 450, &rnd), 0);
    assert_int_equal(incident_note_release(&inc, "dd-test-01", T0 + 5000, &rnd), 0);
    incident_effects_free(&fx);
    incident_effects_init(&fx);
    assert_int_equal(incident_resolve(&inc, "alice", T0 + 6000, &rnd, &fx), 0);
    assert_int_equal(inc.status, INCIDENT_RESOLVED);
    assert_int_equal(inc.resolved_ms, T0 + 6000);
    assert_int_equal(effects_of(&fx, INCIDENT_EFFECT_STOP_ENGAGEMENTS), 1);
    assert_int_equal(incident_resolve(&inc, "alice", T0 + 7000, &rnd, &fx), CORDON_ESTATE);
    incident_effects_free(&fx);

    memset(&f, 0, sizeof(f));
    assert_true(incident_filter_match(&f, &inc));
    f.status_mask = 1u << INCIDENT_OPEN;
    assert_false(incident_filter_match(&f, &inc));
    f.status_mask = 1u << INCIDENT_RESOLVED;
    f.impact_mask = (1u << 1) | (1u << 2);
    f.created_after = T0 - 1;
    f.plan = "IotResponsePlan";
    assert_true(incident_filter_match(&f, &inc));
    f.created_before = T0;
    assert_false(incident_filter_match(&f, &inc));

    j = incident_to_json(&inc);
    text = json_dumps(j, 0);
    incident_init(&back);
    assert_int_equal(incident_from_json(&back, j, &d), 0);
    j2 = incident_to_json(&back);
    assert_true(json_equal(j, j2));
    assert_string_equal(json_string_value(json_object_get(j, "status")), "RESOLVED");
    assert_non_null(strstr(text, "\"acknowledgedTime\""));
    assert_int_equal(back.contained_ms, T0 + 400);
    assert_int_equal(back.ntokens, 1);
    json_decref(j);
    json_decref(j2);
    free(text);
    incident_free(&back);
    incident_init(&back);
    j = json_loads("{\"arn\":\"x\"}", 0, NULL);
    assert_int_equal(incident_from_json(&back, j, &d), CORDON_EINVAL);
    assert_non_null(strstr(d.message, "incident:"));
    json_decref(j);
    incident_free(&back);
    incident_free(&inc);
    response_plan_free(&plan);
}

/* A manual start: overrides, no merging, custom source. */
static void test_manual_start(void **state)
{
    struct response_plan plan;
    struct incident a, b;
    struct incident_effects fx;

    (void)state;
    load_plan(&plan);
    incident_init(&a);
    incident_init(&b);
    incident_effects_init(&fx);
    assert_int_equal(
        incident_start_manual(&a, &plan, "Suspicious firmware", 1, "alice", &env, T0, &rnd, &fx),
        0);
    assert_int_equal(incident_start_manual(&b, &plan, NULL, 0, "alice", &env, T0, &rnd, &fx), 0);
    assert_string_equal(a.title, "Suspicious firmware");
    assert_int_equal(a.impact, 1);
    assert_int_equal(b.impact, 3);
    assert_string_equal(a.source, INCIDENT_SOURCE_MANUAL);
    assert_string_not_equal(a.dedupe, b.dedupe);
    assert_int_equal(effects_of(&fx, INCIDENT_EFFECT_ENGAGE), 2); /* same workflow as detection */
    assert_int_equal(effects_of(&fx, INCIDENT_EFFECT_RUNBOOK), 2);
    incident_effects_free(&fx);
    incident_free(&a);
    incident_free(&b);
    response_plan_free(&plan);
}

/* The detect engine's event maps onto the incident trigger. */
static void test_from_detect_event(void **state)
{
    struct profile prof;
    struct behavior beh;
    struct detect_event ev;
    struct incident_violation v;
    struct buf scratch;

    (void)state;
    memset(&prof, 0, sizeof(prof));
    memset(&beh, 0, sizeof(beh));
    memset(&ev, 0, sizeof(ev));
    prof.name = "DeviceRuleBaseline";
    beh.name = "NumPorts";
    beh.metric = "aws:num-listening-tcp-ports";
    ev.type = VIOLATION_IN_ALARM;
    snprintf(ev.violation_id, sizeof(ev.violation_id), "0c1d2e3f-0000-4000-8000-000000000001");
    snprintf(ev.thing, sizeof(ev.thing), "dd-test-01");
    ev.profile = &prof;
    ev.behavior = &beh;
    ev.time_ms = T0;
    ev.alarm_since_ms = T0 - 3000;
    ev.has_value = true;
    ev.value.type = METRIC_TYPE_COUNT;
    ev.value.count = 7;
    ev.verification = VIOLATION_BENIGN_POSITIVE;
    buf_init(&scratch, 4096);
    assert_int_equal(incident_violation_from_detect(&v, &ev, &scratch), 0);
    assert_string_equal(v.thing_name, "dd-test-01");
    assert_string_equal(v.profile, "DeviceRuleBaseline");
    assert_string_equal(v.behavior, "NumPorts");
    assert_int_equal(v.type, INCIDENT_VIOLATION_IN_ALARM);
    assert_int_equal(v.verification, INCIDENT_VERIFICATION_BENIGN_POSITIVE);
    assert_int_equal(v.first_datapoint_ms, T0 - 3000);
    assert_non_null(strstr(v.metric_value_json, "7"));
    buf_free(&scratch);
}

/* What cordond does with engagement effects: timeline + MTTA into the incident. */
static size_t apply(struct incident *inc, struct engagement_effects *efx, int64_t now,
                    char *code_out)
{
    size_t i, pages = 0;

    for (i = 0; i < efx->n; i++) {
        struct engagement_effect *x = &efx->items[i];
        if (x->type == ENGAGEMENT_EFFECT_TIMELINE)
            assert_int_equal(
                incident_event_add(inc, x->event_type, x->event_data, NULL, now, &rnd, NULL), 0);
        else if (x->type == ENGAGEMENT_EFFECT_ACKNOWLEDGED)
            assert_int_equal(incident_note_ack(inc, x->contact, x->channel, NULL, x->time_ms, &rnd),
                             0);
        else if (x->type == ENGAGEMENT_EFFECT_PAGE) {
            pages++;
            if (code_out && x->channel_type == CONTACT_CHANNEL_SMS)
                strcpy(code_out, x->accept_code);
        }
    }
    engagement_effects_free(efx);
    engagement_effects_init(efx);
    return pages;
}

/* seed-scenario.md §3 steps 4-12 through the core, as cordond drives it. */
static void test_seed_scenario(void **state)
{
    struct response_plan plan;
    struct contact_book book;
    struct incident inc;
    struct incident *known[1] = { &inc };
    struct incident_effects fx;
    struct engagement e;
    struct engagement_effects efx;
    struct incident_violation v = violation("v-4444", "dd-test-01", INCIDENT_VIOLATION_IN_ALARM);
    struct incident_violation c = violation("v-4444", "dd-test-01", INCIDENT_VIOLATION_CLEARED);
    struct analysis a;
    struct buf md;
    struct cordon_diag d;
    char path[512], code[CONTACT_CODE_MAX + 1] = "";
    char *text = malloc(1 << 16);
    FILE *f;
    size_t n, i, idx;

    (void)state;
    load_plan(&plan);
    snprintf(path, sizeof(path), "%s/incidents/contacts-seconds.yaml", CORDON_FIXTURES);
    f = fopen(path, "rb");
    assert_non_null(f);
    n = fread(text, 1, (1 << 16) - 1, f);
    fclose(f);
    contact_book_init(&book);
    assert_int_equal(contact_book_load_yaml(&book, text, n, "contacts-seconds.yaml", &d), 0);
    free(text);

    /* step 5: one OPEN incident */
    incident_init(&inc);
    incident_effects_init(&fx);
    assert_int_equal(incident_route(&plan, &v, NULL, 0, &idx), INCIDENT_ROUTE_START);
    assert_int_equal(incident_start(&inc, &plan, &v, &env, T0, &rnd, &fx), 0);
    /* step 6: pages; ack one with its code */
    engagement_init(&e);
    engagement_effects_init(&efx);
    assert_int_equal(engagement_open(&e, &inc, "http://console.test/ack/{{token}}", 0), 0);
    for (i = 0; i < fx.n; i++)
        if (fx.items[i].type == INCIDENT_EFFECT_ENGAGE)
            assert_int_equal(engagement_start(&e, fx.items[i].contact, &book, T0, &rnd, &efx), 0);
    assert_int_equal(apply(&inc, &efx, T0, code), 2); /* primary email + watcher email */
    assert_int_equal(engagement_tick(&e, &book, T0 + 5000, &rnd, &efx), 0);
    assert_int_equal(apply(&inc, &efx, T0 + 5000, code), 2); /* primary SMS, watcher retry */
    assert_int_equal(strlen(code), 8);
    assert_int_equal(engagement_ack_code(&e, code, NULL, T0 + 6000, &efx, NULL), 0);
    apply(&inc, &efx, T0 + 6000, NULL);
    assert_int_equal(inc.acknowledged_ms, T0 + 6000);
    for (i = 7; i < 60; i++) {
        assert_int_equal(engagement_tick(&e, &book, T0 + (int64_t)i * 1000, &rnd, &efx), 0);
        assert_int_equal(apply(&inc, &efx, T0 + (int64_t)i * 1000, NULL), 0);
    }
    /* step 7: containment reported by the runbook */
    assert_int_equal(
        incident_note_runbook(&inc, "exec-1", "Containment", "Success", NULL, T0 + 800, &rnd), 0);
    assert_int_equal(incident_note_quarantine(&inc, "dd-test-01", true, T0 + 800, &rnd), 0);
    /* step 10: the clear opens nothing */
    assert_int_equal(incident_route(&plan, &c, known, 1, &idx), INCIDENT_ROUTE_RECORD);
    assert_int_equal(incident_record(&inc, &c, T0 + 60000, &rnd), 0);
    /* step 11: release and resolve */
    assert_int_equal(incident_note_release(&inc, "dd-test-01", T0 + 61000, &rnd), 0);
    incident_effects_free(&fx);
    incident_effects_init(&fx);
    assert_int_equal(incident_resolve(&inc, "alice", T0 + 62000, &rnd, &fx), 0);
    assert_int_equal(fx.items[0].type, INCIDENT_EFFECT_STOP_ENGAGEMENTS);
    assert_int_equal(engagement_stop(&e, "incident resolved", T0 + 62000, &efx), 0);
    apply(&inc, &efx, T0 + 62000, NULL);
    /* step 12: analysis with measured durations */
    analysis_init(&a);
    assert_int_equal(analysis_from_incident(&a, &inc, NULL), 0);
    buf_init(&md, ANALYSIS_MARKDOWN_MAX);
    assert_int_equal(analysis_to_markdown(&a, &md), 0);
    assert_non_null(strstr(md.ptr, "| Time to detect | 5 s |"));
    assert_non_null(strstr(md.ptr, "| Time to first acknowledgement (MTTA) | 6 s |"));
    assert_non_null(strstr(md.ptr, "| Time to contain | 0.800 s |"));
    assert_non_null(strstr(md.ptr, "| Time to resolve (MTTR) | 62 s (1 min 2 s) |"));
    assert_non_null(strstr(md.ptr, "Cordon Acknowledgement"));
    assert_non_null(strstr(md.ptr, "Cordon Page"));
    buf_free(&md);
    analysis_free(&a);
    engagement_free(&e);
    incident_effects_free(&fx);
    incident_free(&inc);
    contact_book_free(&book);
    response_plan_free(&plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_from_violation),
        cmocka_unit_test(test_dedupe_and_merge),
        cmocka_unit_test(test_events_that_open_nothing),
        cmocka_unit_test(test_update_resolve_json),
        cmocka_unit_test(test_manual_start),
        cmocka_unit_test(test_seed_scenario),
        cmocka_unit_test(test_from_detect_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
