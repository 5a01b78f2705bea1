/* test_detect.c — the engine: the blog's scenario, consecutive datapoints,
 * windows, statistics, ML, invalidation (silence, profile removal,
 * untargeting, deletion), suppression, event JSON, state export/import. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "detect.h"
#include "detect_testutil.h"

#include <jansson.h>

#define MIN (60 * 1000LL)

static const char *const no_groups[] = { NULL };
static const struct detect_thing pump = { "pump-0042", no_groups, 0, true };

struct fx {
    struct detect d;
    struct detect_events ev;
    struct metric_catalog cat;
};

static void fx_init(struct fx *f, const char *yaml)
{
    struct detect_options o = { 0 };
    struct profile_set set, old;
    for (int i = 0; i < 16; i++)
        o.id_seed[i] = (uint8_t)(i * 7 + 1);
    metric_catalog_init(&f->cat);
    metric_catalog_add(&f->cat, "cpu", "number", NULL);
    assert_int_equal(detect_init(&f->d, &o), 0);
    detect_events_init(&f->ev);
    assert_int_equal(load_yaml(&set, yaml, &f->cat), 0);
    assert_int_equal(detect_set_profiles(&f->d, &set, 0, &f->ev, &old), 0);
    assert_int_equal(f->ev.n, 0);
    profile_set_free(&old);
}

static void fx_free(struct fx *f)
{
    detect_events_free(&f->ev);
    detect_free(&f->d);
    metric_catalog_free(&f->cat);
}

/* Replace the profiles; the old set is freed after the events are checked by the caller. */
static void fx_reload(struct fx *f, const char *yaml, int64_t now, struct profile_set *old)
{
    struct profile_set set;
    assert_int_equal(load_yaml(&set, yaml, &f->cat), 0);
    detect_events_reset(&f->ev);
    assert_int_equal(detect_set_profiles(&f->d, &set, now, &f->ev, old), 0);
}

static const char *rule_yaml = "securityProfileName: DeviceRuleBaseline\n"
                               "targets: [all/things]\n"
                               "behaviors:\n"
                               "  - name: AuthorizedTcpPorts\n"
                               "    metric: aws:listening-tcp-ports\n"
                               "    criteria: { comparisonOperator: in-port-set, value: { ports: "
                               "[22, 53, 443] } }\n"
                               "  - name: AuthorizedUdpPorts\n"
                               "    metric: aws:listening-udp-ports\n"
                               "    criteria: { comparisonOperator: in-port-set, value: { ports: "
                               "[90] } }\n";

static void eval(struct fx *f, const struct detect_thing *t, struct treport *r, int64_t now)
{
    detect_events_reset(&f->ev);
    assert_int_equal(detect_eval_report(&f->d, t, &r->r, now, &f->ev), 0);
}

static json_t *event_json(const struct detect_event *e)
{
    struct buf b;
    json_error_t err;
    json_t *j;
    buf_init(&b, 1 << 16);
    assert_int_equal(detect_event_json(e, &b), 0);
    j = json_loads(b.ptr, 0, &err);
    if (!j)
        fprintf(stderr, "bad JSON: %s\n%s\n", err.text, b.ptr);
    assert_non_null(j);
    buf_free(&b);
    return j;
}

static void test_blog_scenario(void **state)
{
    struct fx f;
    struct treport r;
    char id[VIOLATION_ID_LEN + 1];
    json_t *j, *ports;
    (void)state;
    fx_init(&f, rule_yaml);
    tr_init(&r);
    TR_TCP(&r, 2, 22, 443);
    TR_UDP(&r, 1, 90);
    eval(&f, &pump, &r, 1 * MIN);
    assert_int_equal(f.ev.n, 0);
    /* netcat on 4444 */
    TR_TCP(&r, 3, 22, 443, 4444);
    eval(&f, &pump, &r, 2 * MIN);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_IN_ALARM);
    assert_string_equal(f.ev.v[0].thing, "pump-0042");
    assert_string_equal(f.ev.v[0].profile->name, "DeviceRuleBaseline");
    assert_string_equal(f.ev.v[0].behavior->name, "AuthorizedTcpPorts");
    assert_false(f.ev.v[0].suppressed);
    assert_int_equal(detect_active_alarms(&f.d, "pump-0042"), 1);
    strcpy(id, f.ev.v[0].violation_id);
    j = event_json(&f.ev.v[0]);
    assert_int_equal(json_integer_value(json_object_get(j, "violationEventTime")), 2 * MIN);
    assert_string_equal(json_string_value(json_object_get(j, "thingName")), "pump-0042");
    assert_string_equal(json_string_value(json_object_get(j, "securityProfileName")),
                        "DeviceRuleBaseline");
    assert_string_equal(json_string_value(json_object_get(j, "violationEventType")), "in-alarm");
    assert_string_equal(json_string_value(json_object_get(j, "violationId")), id);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "behavior"), "metric")),
        "aws:listening-tcp-ports");
    ports = json_object_get(json_object_get(j, "metricValue"), "ports");
    assert_int_equal(json_array_size(ports), 3);
    assert_int_equal(json_integer_value(json_array_get(ports, 2)), 4444);
    assert_string_equal(json_string_value(json_object_get(j, "verificationState")), "UNKNOWN");
    assert_null(json_object_get(j, "violationEventAdditionalInfo"));
    json_decref(j);
    /* still listening: no new event */
    eval(&f, &pump, &r, 3 * MIN);
    assert_int_equal(f.ev.n, 0);
    /* a report without the TCP group is no datapoint */
    r.r.tcp_ports.present = false;
    eval(&f, &pump, &r, 4 * MIN);
    assert_int_equal(f.ev.n, 0);
    assert_int_equal(detect_active_alarms(&f.d, "pump-0042"), 1);
    /* netcat stopped */
    TR_TCP(&r, 2, 22, 443);
    eval(&f, &pump, &r, 5 * MIN);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_CLEARED);
    assert_string_equal(f.ev.v[0].violation_id, id);
    assert_int_equal(f.ev.v[0].alarm_since_ms, 2 * MIN);
    assert_int_equal(detect_active_alarms(&f.d, "pump-0042"), 0);
    /* UDP variant */
    TR_UDP(&r, 2, 90, 5353);
    eval(&f, &pump, &r, 6 * MIN);
    assert_int_equal(f.ev.n, 1);
    assert_string_equal(f.ev.v[0].behavior->name, "AuthorizedUdpPorts");
    assert_string_not_equal(f.ev.v[0].violation_id, id);
    /* an empty list is compliant and clears */
    TR_UDP(&r, 0, 0);
    eval(&f, &pump, &r, 7 * MIN);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_CLEARED);
    fx_free(&f);
}

static void test_consecutive_datapoints(void **state)
{
    struct fx f;
    struct treport r;
    (void)state;
    fx_init(&f, "securityProfileName: P\ntargets: [all/things]\nbehaviors:\n"
                "  - name: Conns\n    metric: aws:num-established-tcp-connections\n"
                "    criteria: { comparisonOperator: greater-than, value: { count: 10 },\n"
                "                consecutiveDatapointsToAlarm: 3, consecutiveDatapointsToClear: 2 "
                "}\n");
    tr_init(&r);
    r.r.conns.present = true;
    r.r.conns.total = 11;
    eval(&f, &pump, &r, 1);
    eval(&f, &pump, &r, 2);
    assert_int_equal(f.ev.n, 0);
    r.r.conns.total = 10; /* at the threshold: compliant, streak resets */
    eval(&f, &pump, &r, 3);
    r.r.conns.total = 11;
    eval(&f, &pump, &r, 4);
    eval(&f, &pump, &r, 5);
    assert_int_equal(f.ev.n, 0);
    eval(&f, &pump, &r, 6);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_IN_ALARM);
    assert_int_equal(f.ev.v[0].value.count, 11);
    r.r.conns.total = 0;
    eval(&f, &pump, &r, 7);
    assert_int_equal(f.ev.n, 0);
    eval(&f, &pump, &r, 8);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_CLEARED);
    fx_free(&f);
}

static void test_duration_window(void **state)
{
    struct fx f;
    struct treport r;
    json_t *j;
    (void)state;
    fx_init(&f, "securityProfileName: P\ntargets: [all/things]\nbehaviors:\n"
                "  - name: Exfil\n    metric: aws:all-bytes-out\n"
                "    criteria: { comparisonOperator: greater-than, value: { count: 1000 }, "
                "durationSeconds: 300 }\n");
    tr_init(&r);
    tr_net(&r, 0, 300, 0, 0);
    eval(&f, &pump, &r, 0 * MIN); /* 300 */
    eval(&f, &pump, &r, 1 * MIN); /* 600 */
    eval(&f, &pump, &r, 2 * MIN); /* 900 */
    assert_int_equal(f.ev.n, 0);
    eval(&f, &pump, &r, 3 * MIN); /* 1200 over the trailing 300 s */
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_IN_ALARM);
    assert_int_equal(f.ev.v[0].value.count, 1200);
    j = event_json(&f.ev.v[0]);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "metricValue"), "count")), 1200);
    json_decref(j);
    /* quiet minutes: the sum decays as old datapoints leave the window */
    tr_net(&r, 0, 0, 0, 0);
    eval(&f, &pump, &r, 4 * MIN); /* 1200 */
    assert_int_equal(f.ev.n, 0);
    eval(&f, &pump, &r, 5 * MIN); /* 900: the minute-0 datapoint left */
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_CLEARED);
    assert_int_equal(f.ev.v[0].value.count, 900);
    fx_free(&f);
}

/* A window sum past UINT64_MAX must saturate, not wrap to a small count: one report with a
 * huge delta must not slip under a durationSeconds rule (float-to-integer overflow). */
static void test_duration_window_saturates(void **state)
{
    struct fx f;
    struct treport r;
    (void)state;
    fx_init(&f, "securityProfileName: P\ntargets: [all/things]\nbehaviors:\n"
                "  - name: Exfil\n    metric: aws:all-bytes-out\n"
                "    criteria: { comparisonOperator: greater-than, value: { count: 1000 }, "
                "durationSeconds: 300 }\n");
    tr_init(&r);
    tr_net(&r, 0, UINT64_MAX, 0, 0);
    eval(&f, &pump, &r, 0);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_IN_ALARM);
    assert_true(f.ev.v[0].value.count == UINT64_MAX);
    eval(&f, &pump, &r, 1 * MIN); /* 2 x UINT64_MAX: still in alarm, no event */
    assert_int_equal(f.ev.n, 0);
    fx_free(&f);
}

static void test_statistical_threshold(void **state)
{
    struct fx f;
    struct treport r;
    char name[32];
    (void)state;
    fx_init(&f, "securityProfileName: P\ntargets: [all/things]\nbehaviors:\n"
                "  - name: Conns\n    metric: aws:num-established-tcp-connections\n"
                "    criteria: { comparisonOperator: greater-than, statisticalThreshold: "
                "{ statistic: p90 }, durationSeconds: 300 }\n"
                "  - name: Cpu\n    metric: cpu\n"
                "    criteria: { comparisonOperator: greater-than, statisticalThreshold: "
                "{ statistic: p50 }, durationSeconds: 300 }\n");
    tr_init(&r);
    r.r.conns.present = true;
    /* 10 things report 1..10 connections: p90 (nearest rank) is 9 */
    for (int i = 1; i <= 10; i++) {
        struct detect_thing t = { name, no_groups, 0, true };
        snprintf(name, sizeof(name), "t%d", i);
        r.r.conns.total = (uint32_t)i;
        eval(&f, &t, &r, 1000 + i);
        /* pool 1..i: only 10 is above its p90 (nearest rank: 9) */
        assert_int_equal(f.ev.n, i == 10 ? 1 : 0);
    }
    {
        struct detect_thing t = { "t10", no_groups, 0, true };
        struct detect_thing u = { "t9", no_groups, 0, true };
        r.r.conns.total = 10;
        eval(&f, &t, &r, 3000); /* pool 1..10,10 → p90 = 10: not above, clears */
        assert_int_equal(f.ev.n, 1);
        assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_CLEARED);
        r.r.conns.total = 50;
        eval(&f, &u, &r, 5000); /* above every percentile */
        assert_int_equal(f.ev.n, 1);
        assert_string_equal(f.ev.v[0].thing, "t9");
        assert_int_equal(f.ev.v[0].value.count, 50);
    }
    /* a negative custom value makes the percentile unavailable: no datapoint */
    {
        struct detect_thing t = { "c1", no_groups, 0, true };
        struct report_custom *c;
        tr_init(&r);
        c = tr_custom(&r, "cpu", REPORT_CUSTOM_NUMBER);
        c->number = -5;
        eval(&f, &t, &r, 6000);
        c->number = 1000;
        eval(&f, &t, &r, 8000);
        assert_int_equal(f.ev.n, 0);
        /* after the negative value leaves the 300 s window, statistics resume */
        eval(&f, &t, &r, 6000 + 301000);
        c->number = 2000;
        eval(&f, &t, &r, 6000 + 303000);
        assert_int_equal(f.ev.n, 1);
        assert_true(f.ev.v[0].value.number == 2000);
    }
    fx_free(&f);
}

static void test_silence_invalidates(void **state)
{
    struct fx f;
    struct treport r;
    struct detect_options o = { 0 };
    (void)state;
    fx_init(&f, rule_yaml);
    tr_init(&r);
    TR_TCP(&r, 1, 4444);
    eval(&f, &pump, &r, 1000);
    assert_int_equal(f.ev.n, 1);
    detect_events_reset(&f.ev);
    assert_int_equal(detect_sweep(&f.d, 1000 + DETECT_SILENCE_DEFAULT_MS, &f.ev), 0);
    assert_int_equal(f.ev.n, 0);
    assert_int_equal(detect_sweep(&f.d, 1001 + DETECT_SILENCE_DEFAULT_MS, &f.ev), 0);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_INVALIDATED);
    assert_false(f.ev.v[0].has_value);
    assert_int_equal(detect_active_alarms(&f.d, "pump-0042"), 0);
    detect_events_reset(&f.ev);
    assert_int_equal(detect_sweep(&f.d, 10 * DETECT_SILENCE_DEFAULT_MS, &f.ev), 0);
    assert_int_equal(f.ev.n, 0);
    fx_free(&f);
    /* a configured silence period */
    (void)o;
}

static void test_configured_silence(void **state)
{
    struct detect d;
    struct detect_events ev;
    struct detect_options o = { 0 };
    struct profile_set set, old;
    struct treport r;
    (void)state;
    o.silence_ms = 5000;
    detect_init(&d, &o);
    detect_events_init(&ev);
    assert_int_equal(load_yaml(&set, rule_yaml, NULL), 0);
    detect_set_profiles(&d, &set, 0, &ev, &old);
    profile_set_free(&old);
    tr_init(&r);
    TR_TCP(&r, 1, 1);
    detect_eval_report(&d, &pump, &r.r, 1000, &ev);
    assert_int_equal(ev.n, 1);
    detect_sweep(&d, 7000, &ev);
    assert_int_equal(ev.n, 2);
    assert_int_equal(ev.v[1].type, VIOLATION_ALARM_INVALIDATED);
    detect_events_free(&ev);
    detect_free(&d);
}

static void test_profile_removal_and_change(void **state)
{
    struct fx f;
    struct treport r;
    struct profile_set old;
    char id[VIOLATION_ID_LEN + 1];
    json_t *j;
    (void)state;
    fx_init(&f, rule_yaml);
    tr_init(&r);
    TR_TCP(&r, 1, 4444);
    TR_UDP(&r, 1, 5353);
    eval(&f, &pump, &r, 1000);
    assert_int_equal(f.ev.n, 2);
    strcpy(id, f.ev.v[0].violation_id);
    /* same profiles again: nothing changes, alarms stay */
    fx_reload(&f, rule_yaml, 2000, &old);
    assert_int_equal(f.ev.n, 0);
    profile_set_free(&old);
    assert_int_equal(detect_active_alarms(&f.d, "pump-0042"), 2);
    /* TCP behavior changed (4444 now allowed), UDP behavior removed */
    fx_reload(&f,
              "securityProfileName: DeviceRuleBaseline\ntargets: [all/things]\nbehaviors:\n"
              "  - name: AuthorizedTcpPorts\n    metric: aws:listening-tcp-ports\n"
              "    criteria: { comparisonOperator: in-port-set, value: { ports: [22, 4444] } }\n",
              3000, &old);
    assert_int_equal(f.ev.n, 2);
    assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_INVALIDATED);
    assert_int_equal(f.ev.v[1].type, VIOLATION_ALARM_INVALIDATED);
    assert_string_equal(f.ev.v[0].violation_id, id);
    /* events point into the old set, still alive */
    j = event_json(&f.ev.v[1]);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "behavior"), "name")),
                        "AuthorizedUdpPorts");
    assert_string_equal(json_string_value(json_object_get(j, "violationEventType")),
                        "alarm-invalidated");
    assert_null(json_object_get(j, "metricValue"));
    json_decref(j);
    profile_set_free(&old);
    assert_int_equal(detect_active_alarms(&f.d, "pump-0042"), 0);
    eval(&f, &pump, &r, 4000);
    assert_int_equal(f.ev.n, 0);
    /* the whole profile removed */
    TR_TCP(&r, 1, 1);
    eval(&f, &pump, &r, 5000);
    assert_int_equal(f.ev.n, 1);
    fx_reload(&f, "securityProfiles: []\n", 6000, &old);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_INVALIDATED);
    profile_set_free(&old);
    eval(&f, &pump, &r, 7000);
    assert_int_equal(f.ev.n, 0);
    fx_free(&f);
}

static void test_targeting(void **state)
{
    struct fx f;
    struct treport r;
    const char *const pumps[] = { "pumps", "QUARANTINED" };
    const char *const valves[] = { "valves" };
    struct detect_thing in = { "p1", pumps, 2, true };
    struct detect_thing out = { "p1", valves, 1, true };
    struct detect_thing anon = { "u1", no_groups, 0, false };
    (void)state;
    fx_init(&f, "securityProfiles:\n"
                "  - securityProfileName: Pumps\n    targets: [thinggroup/pumps]\n"
                "    behaviors:\n      - name: T\n        metric: aws:listening-tcp-ports\n"
                "        criteria: { comparisonOperator: in-port-set, value: { ports: [22] } }\n"
                "  - securityProfileName: Unregistered\n    targets: [all/unregistered-things]\n"
                "    behaviors:\n      - name: T\n        metric: aws:listening-tcp-ports\n"
                "        criteria: { comparisonOperator: in-port-set, value: { ports: [22] } }\n");
    tr_init(&r);
    TR_TCP(&r, 1, 80);
    eval(&f, &in, &r, 1000);
    assert_int_equal(f.ev.n, 1);
    assert_string_equal(f.ev.v[0].profile->name, "Pumps");
    /* moved out of the group: the next report invalidates */
    eval(&f, &out, &r, 2000);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_INVALIDATED);
    eval(&f, &out, &r, 3000);
    assert_int_equal(f.ev.n, 0);
    /* and through retarget, without a report */
    eval(&f, &in, &r, 4000);
    assert_int_equal(f.ev.n, 1);
    detect_events_reset(&f.ev);
    assert_int_equal(detect_thing_retarget(&f.d, &out, 5000, &f.ev), 0);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_INVALIDATED);
    /* registration */
    eval(&f, &anon, &r, 6000);
    assert_int_equal(f.ev.n, 1);
    assert_string_equal(f.ev.v[0].profile->name, "Unregistered");
    anon.registered = true;
    eval(&f, &anon, &r, 7000);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_INVALIDATED);
    /* deleting a thing invalidates its alarms */
    eval(&f, &in, &r, 8000);
    assert_int_equal(f.ev.n, 1);
    detect_events_reset(&f.ev);
    assert_int_equal(detect_thing_remove(&f.d, "p1", 9000, &f.ev), 0);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_INVALIDATED);
    assert_string_equal(f.ev.v[0].thing, "p1");
    assert_int_equal(detect_thing_remove(&f.d, "p1", 9000, &f.ev), CORDON_ENOTFOUND);
    fx_free(&f);
}

static void test_suppression_and_plans(void **state)
{
    struct fx f;
    struct treport r;
    (void)state;
    fx_init(&f, "securityProfileName: P\ntargets: [all/things]\nresponsePlan: IotResponsePlan\n"
                "behaviors:\n"
                "  - name: Quiet\n    metric: aws:listening-tcp-ports\n    suppressAlerts: true\n"
                "    criteria: { comparisonOperator: not-in-port-set, value: { ports: [23] } }\n"
                "  - name: Loud\n    metric: aws:listening-tcp-ports\n    responsePlan: Other\n"
                "    criteria: { comparisonOperator: not-in-port-set, value: { ports: [23] } }\n");
    tr_init(&r);
    TR_TCP(&r, 1, 23);
    eval(&f, &pump, &r, 1000);
    assert_int_equal(f.ev.n, 2);
    assert_true(f.ev.v[0].suppressed);
    assert_string_equal(f.ev.v[0].response_plan, "IotResponsePlan");
    assert_false(f.ev.v[1].suppressed);
    assert_string_equal(f.ev.v[1].response_plan, "Other");
    fx_free(&f);
}

static void test_verification(void **state)
{
    struct fx f;
    struct treport r;
    char id[VIOLATION_ID_LEN + 1];
    (void)state;
    fx_init(&f, rule_yaml);
    tr_init(&r);
    TR_TCP(&r, 1, 4444);
    eval(&f, &pump, &r, 1000);
    strcpy(id, f.ev.v[0].violation_id);
    assert_int_equal(detect_set_verification(&f.d, "pump-0042", id, VIOLATION_BENIGN_POSITIVE), 0);
    assert_int_equal(detect_set_verification(&f.d, "pump-0042", "nope", VIOLATION_TRUE_POSITIVE),
                     CORDON_ENOTFOUND);
    assert_int_equal(detect_set_verification(&f.d, "other", id, VIOLATION_TRUE_POSITIVE),
                     CORDON_ENOTFOUND);
    TR_TCP(&r, 1, 22);
    eval(&f, &pump, &r, 2000);
    assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_CLEARED);
    assert_int_equal(f.ev.v[0].verification, VIOLATION_BENIGN_POSITIVE);
    fx_free(&f);
}

static void test_cloud_metrics_and_dimensions(void **state)
{
    struct fx f;
    struct metric_datapoint dp = { 0 };
    struct report_ip ip;
    (void)state;
    fx_init(&f, "securityProfileName: P\ntargets: [all/things]\nbehaviors:\n"
                "  - name: AuthAll\n    metric: aws:num-authorization-failures\n"
                "    criteria: { comparisonOperator: greater-than, value: { count: 5 } }\n"
                "  - name: AuthDim\n    metric: aws:num-authorization-failures\n"
                "    metricDimension: { dimensionName: Commands }\n"
                "    criteria: { comparisonOperator: greater-than, value: { count: 1 } }\n"
                "  - name: Src\n    metric: aws:source-ip-address\n"
                "    criteria: { comparisonOperator: in-cidr-set, value: { cidrs: [10.0.0.0/8] } "
                "}\n");
    dp.type = METRIC_TYPE_COUNT;
    dp.count = 3;
    assert_int_equal(
        detect_eval_metric(&f.d, &pump, "aws:num-authorization-failures", NULL, &dp, 1000, &f.ev),
        0);
    assert_int_equal(f.ev.n, 0);
    assert_int_equal(detect_eval_metric(&f.d, &pump, "aws:num-authorization-failures", "Commands",
                                        &dp, 1000, &f.ev),
                     0);
    assert_int_equal(f.ev.n, 1);
    assert_string_equal(f.ev.v[0].behavior->name, "AuthDim");
    detect_events_reset(&f.ev);
    assert_int_equal(detect_eval_metric(&f.d, &pump, "aws:num-authorization-failures", "Other", &dp,
                                        1000, &f.ev),
                     0);
    assert_int_equal(f.ev.n, 0);
    memset(&dp, 0, sizeof(dp));
    dp.type = METRIC_TYPE_IPS;
    dp.n = 1;
    dp.ips = &ip;
    tr_ip(&ip, "203.0.113.5");
    assert_int_equal(
        detect_eval_metric(&f.d, &pump, "aws:source-ip-address", NULL, &dp, 2000, &f.ev), 0);
    assert_int_equal(f.ev.n, 1);
    {
        json_t *j = event_json(&f.ev.v[0]);
        json_t *c = json_object_get(json_object_get(j, "metricValue"), "cidrs");
        assert_string_equal(json_string_value(json_array_get(c, 0)), "203.0.113.5");
        json_decref(j);
    }
    assert_int_equal(detect_eval_metric(&f.d, &pump, "aws:bogus", NULL, &dp, 2000, &f.ev),
                     CORDON_ENOTFOUND);
    /* a known metric no behavior watches is fine */
    assert_int_equal(detect_eval_metric(&f.d, &pump, "aws:num-disconnects", NULL, &dp, 2000, &f.ev),
                     0);
    fx_free(&f);
}

static void test_ml_detect(void **state)
{
    struct fx f;
    struct treport r;
    uint32_t n = 0;
    json_t *j;
    (void)state;
    fx_init(&f, "securityProfileName: DeviceMLBaseline\ntargets: [all/things]\nbehaviors:\n"
                "  - name: outboundbytes\n    metric: aws:all-bytes-out\n"
                "    criteria:\n      mlDetectionConfig: { confidenceLevel: HIGH }\n");
    tr_init(&r);
    assert_int_equal(detect_ml_status(&f.d, "pump-0042", "DeviceMLBaseline", "outboundbytes", &n),
                     DETECT_ML_PENDING_BUILD);
    assert_int_equal(detect_ml_status(&f.d, "pump-0042", "DeviceMLBaseline", "nope", &n),
                     CORDON_ENOTFOUND);
    /* recorded history: ~20 kB per report with some jitter */
    for (int i = 0; i < DETECT_ML_WARMUP + 20; i++) {
        tr_net(&r, 0, 20000 + (uint64_t)((i * 7919) % 2000), 0, 0);
        eval(&f, &pump, &r, i * MIN);
        assert_int_equal(f.ev.n, 0);
    }
    assert_int_equal(detect_ml_status(&f.d, "pump-0042", "DeviceMLBaseline", "outboundbytes", &n),
                     DETECT_ML_ACTIVE);
    assert_int_equal(n, DETECT_ML_WARMUP + 20);
    /* a burst of outbound traffic */
    tr_net(&r, 0, 500000, 0, 0);
    eval(&f, &pump, &r, 100 * MIN);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_IN_ALARM);
    assert_int_equal(f.ev.v[0].confidence, BEHAVIOR_CONFIDENCE_HIGH);
    j = event_json(&f.ev.v[0]);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(j, "violationEventAdditionalInfo"), "confidenceLevel")),
                        "HIGH");
    json_decref(j);
    /* the burst did not move the baseline: back to normal clears */
    tr_net(&r, 0, 21000, 0, 0);
    eval(&f, &pump, &r, 101 * MIN);
    assert_int_equal(f.ev.n, 1);
    assert_int_equal(f.ev.v[0].type, VIOLATION_ALARM_CLEARED);
    fx_free(&f);
}

static void test_export_import(void **state)
{
    struct fx f, g;
    struct treport r;
    struct buf out, again;
    struct cordon_diag d;
    const char *yaml = "securityProfileName: P\ntargets: [all/things]\nbehaviors:\n"
                       "  - name: T\n    metric: aws:listening-tcp-ports\n"
                       "    criteria: { comparisonOperator: in-port-set, value: { ports: [22] },\n"
                       "                consecutiveDatapointsToClear: 2 }\n"
                       "  - name: Bytes\n    metric: aws:all-bytes-out\n"
                       "    criteria: { comparisonOperator: greater-than, value: { count: 1000 }, "
                       "durationSeconds: 300 }\n";
    char id[VIOLATION_ID_LEN + 1];
    (void)state;
    fx_init(&f, yaml);
    fx_init(&g, yaml);
    tr_init(&r);
    TR_TCP(&r, 1, 80);
    tr_net(&r, 0, 600, 0, 0);
    eval(&f, &pump, &r, 1000);
    assert_int_equal(f.ev.n, 1);
    strcpy(id, f.ev.v[0].violation_id);
    buf_init(&out, DETECT_STATE_JSON_MAX);
    buf_init(&again, DETECT_STATE_JSON_MAX);
    assert_int_equal(detect_thing_export(&f.d, "pump-0042", &out), 0);
    assert_int_equal(detect_thing_export(&f.d, "nobody", &out), CORDON_ENOTFOUND);
    /* restore into a fresh engine (a restart) */
    assert_int_equal(detect_thing_import(&g.d, out.ptr, out.len, &d), 0);
    assert_int_equal(detect_active_alarms(&g.d, "pump-0042"), 1);
    assert_int_equal(detect_thing_export(&g.d, "pump-0042", &again), 0);
    assert_string_equal(out.ptr, again.ptr);
    /* the restored state carries on: window sum and clear count */
    TR_TCP(&r, 1, 22);
    eval(&g, &pump, &r, 2000); /* 1200 bytes in the window now */
    assert_int_equal(g.ev.n, 1);
    assert_string_equal(g.ev.v[0].behavior->name, "Bytes");
    eval(&g, &pump, &r, 3000);
    assert_int_equal(g.ev.n, 1);
    assert_int_equal(g.ev.v[0].type, VIOLATION_ALARM_CLEARED);
    assert_string_equal(g.ev.v[0].violation_id, id);
    /* bad input */
    assert_int_equal(detect_thing_import(&g.d, "{", 1, &d), CORDON_EINVAL);
    assert_int_equal(detect_thing_import(&g.d, "{\"thing\":1}", 11, &d), CORDON_EINVAL);
    buf_free(&out);
    buf_free(&again);
    fx_free(&f);
    fx_free(&g);
}

static void test_state_size(void **state)
{
    (void)state;
    assert_true(detect_state_bytes() <= 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blog_scenario),
        cmocka_unit_test(test_consecutive_datapoints),
        cmocka_unit_test(test_duration_window),
        cmocka_unit_test(test_duration_window_saturates),
        cmocka_unit_test(test_statistical_threshold),
        cmocka_unit_test(test_silence_invalidates),
        cmocka_unit_test(test_configured_silence),
        cmocka_unit_test(test_profile_removal_and_change),
        cmocka_unit_test(test_targeting),
        cmocka_unit_test(test_suppression_and_plans),
        cmocka_unit_test(test_verification),
        cmocka_unit_test(test_cloud_metrics_and_dimensions),
        cmocka_unit_test(test_ml_detect),
        cmocka_unit_test(test_export_import),
        cmocka_unit_test(test_state_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
