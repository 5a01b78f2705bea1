/*
 * test_analysis.c — post-incident analysis from a resolved incident
 * (seed-scenario.md §3 step 12, §4): measured durations in the Markdown,
 * questions, action items, checklist, JSON round trip, MTTA/MTTR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analysis.h"
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

static uint64_t seed = 99;
static const struct incident_random rnd = { fill, &seed };

static void plan_init(struct response_plan *p)
{
    const char *y = "name: IotResponsePlan\nincidentTemplate:\n"
                    "  title: 'Critical IoT Device Incident | {{violationId}}'\n  impact: 3\n";
    struct cordon_diag d;

    response_plan_init(p);
    assert_int_equal(response_plan_from_yaml(p, y, strlen(y), "p.yaml", &d), 0);
}

/* The scenario: detect 4.5 s, ack 95 s, contain 1.25 s, resolve 600 s. */
static void scenario(struct incident *inc, const struct response_plan *plan, const char *id,
                     int64_t start, int64_t ack, int64_t resolve)
{
    struct incident_violation v;
    struct incident_env env = { "http://console.test", "cordond" };
    struct incident_effects fx;

    memset(&v, 0, sizeof(v));
    v.violation_id = id;
    v.thing_name = "dd-test-01";
    v.profile = "DeviceRuleBaseline";
    v.behavior = "AuthorizedTcpPorts";
    v.metric = "aws:listening-tcp-ports";
    v.metric_value_json = "{\"ports\":[22,443,4444]}";
    v.time_ms = start;
    v.first_datapoint_ms = start - 4500;
    incident_init(inc);
    incident_effects_init(&fx);
    assert_int_equal(incident_start(inc, plan, &v, &env, start, &rnd, &fx), 0);
    assert_int_equal(incident_note_quarantine(inc, "dd-test-01", true, start + 1250, &rnd), 0);
    assert_int_equal(
        incident_note_runbook(inc, "e-1", "Containment", "Success", NULL, start + 1250, &rnd), 0);
    if (ack)
        assert_int_equal(incident_note_ack(inc, "oncall-primary", "sms", NULL, start + ack, &rnd),
                         0);
    assert_int_equal(
        incident_note_runbook(inc, "e-1", "Recovery", "Success", NULL, start + resolve - 10, &rnd),
        0);
    if (resolve)
        assert_int_equal(incident_resolve(inc, "alice", start + resolve, &rnd, &fx), 0);
    incident_effects_free(&fx);
}

static void test_markdown_has_measured_durations(void **state)
{
    struct response_plan plan;
    struct incident inc;
    struct analysis a, back;
    struct buf md;
    struct cordon_diag d;
    json_t *j, *j2;

    (void)state;
    plan_init(&plan);
    scenario(&inc, &plan, "v-1", T0, 95000, 600000);
    analysis_init(&a);
    assert_int_equal(analysis_from_incident(&a, &inc, NULL), 0);
    assert_int_equal(a.metrics.detect_ms, 4500);
    assert_int_equal(a.metrics.ack_ms, 95000);
    assert_int_equal(a.metrics.contain_ms, 1250);
    assert_int_equal(a.metrics.resolve_ms, 600000);
    assert_int_equal(a.nquestions, 16);
    assert_true(analysis_open_items(&a) > 0);
    assert_int_equal(analysis_answer(&a, 0, "Detected 4.5 s after the first datapoint."), 0);
    assert_int_equal(analysis_action_set(&a, 0, "bob", T0 + 7 * 86400000LL, ANALYSIS_ACTION_OPEN),
                     0);
    assert_int_equal(analysis_check_set(&a, 1, true), 0);

    buf_init(&md, ANALYSIS_MARKDOWN_MAX);
    assert_int_equal(analysis_to_markdown(&a, &md), 0);
    assert_non_null(
        strstr(md.ptr, "# Post-incident analysis: Critical IoT Device Incident \\| v-1"));
    assert_non_null(strstr(md.ptr, "| Thing | dd-test-01 |"));
    assert_non_null(strstr(md.ptr, "| Behavior | AuthorizedTcpPorts |"));
    assert_non_null(strstr(md.ptr, "4444"));
    assert_non_null(strstr(md.ptr, "| Runbook outcome | last step Recovery: Success |"));
    assert_non_null(strstr(md.ptr, "| Time to detect | 4.500 s |"));
    assert_non_null(strstr(md.ptr, "| Time to first acknowledgement (MTTA) | 95 s (1 min 35 s) |"));
    assert_non_null(strstr(md.ptr, "| Time to contain | 1.250 s |"));
    assert_non_null(strstr(md.ptr, "| Time to resolve (MTTR) | 600 s (10 min 0 s) |"));
    assert_non_null(strstr(md.ptr, "### Detection"));
    assert_non_null(strstr(md.ptr, "### Prevention"));
    assert_non_null(strstr(md.ptr, "Detected 4.5 s after the first datapoint."));
    assert_non_null(strstr(md.ptr, "Remove the unauthorized listener from the device image"));
    assert_non_null(strstr(md.ptr, "aws:num-listening-tcp-ports"));
    assert_non_null(strstr(md.ptr, "| bob | 2023-11-21 | OPEN |"));
    assert_non_null(strstr(md.ptr, "- [x] Thing released from quarantine"));
    assert_non_null(strstr(md.ptr, "SSM Incident Trigger"));
    buf_free(&md);

    j = analysis_to_json(&a);
    analysis_init(&back);
    assert_int_equal(analysis_from_json(&back, j, &d), 0);
    j2 = analysis_to_json(&back);
    assert_true(json_equal(j, j2));
    json_decref(j);
    json_decref(j2);
    analysis_free(&back);
    analysis_free(&a);
    incident_free(&inc);
    response_plan_free(&plan);
}

static void test_requires_resolved(void **state)
{
    struct response_plan plan;
    struct incident inc;
    struct analysis a;
    struct buf md;

    (void)state;
    plan_init(&plan);
    scenario(&inc, &plan, "v-2", T0, 0, 0);
    analysis_init(&a);
    assert_int_equal(analysis_from_incident(&a, &inc, NULL), CORDON_ESTATE);
    inc.status = INCIDENT_RESOLVED;
    inc.resolved_ms = T0 + 1000;
    assert_int_equal(analysis_from_incident(&a, &inc, "Success"), 0);
    buf_init(&md, ANALYSIS_MARKDOWN_MAX);
    assert_int_equal(analysis_to_markdown(&a, &md), 0);
    assert_non_null(strstr(md.ptr, "| Time to first acknowledgement (MTTA) | not measured |"));
    buf_free(&md);
    analysis_free(&a);
    incident_free(&inc);
    response_plan_free(&plan);
}

static void test_aggregates(void **state)
{
    struct response_plan plan;
    struct incident a, b, c;
    struct incident *all[3] = { &a, &b, &c };
    struct analysis_stats st;
    struct incident_filter f;

    (void)state;
    plan_init(&plan);
    scenario(&a, &plan, "v-a", T0, 60000, 600000);
    scenario(&b, &plan, "v-b", T0 + 1000, 120000, 1200000);
    scenario(&c, &plan, "v-c", T0 + 2000, 0, 0); /* open, unacknowledged */
    analysis_aggregate(all, 3, NULL, &st);
    assert_int_equal(st.created, 3);
    assert_int_equal(st.resolved, 2);
    assert_int_equal(st.acknowledged, 2);
    assert_true(st.mtta_s > 89.999 && st.mtta_s < 90.001);
    assert_true(st.mttr_s > 899.999 && st.mttr_s < 900.001);
    assert_true(st.mttd_s > 4.499 && st.mttd_s < 4.501);
    assert_true(st.mttc_s > 1.249 && st.mttc_s < 1.251);
    memset(&f, 0, sizeof(f));
    f.status_mask = 1u << INCIDENT_OPEN;
    analysis_aggregate(all, 3, &f, &st);
    assert_int_equal(st.created, 1);
    assert_int_equal(st.resolved, 0);
    incident_free(&a);
    incident_free(&b);
    incident_free(&c);
    response_plan_free(&plan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_markdown_has_measured_durations),
        cmocka_unit_test(test_requires_resolved),
        cmocka_unit_test(test_aggregates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
