/* test_profile.c — security profiles from YAML: the reference profiles,
 * every field, round trip, and bad profiles with their positioned errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "detect_testutil.h"
#include "profile.h"

#include <libfyaml.h>

static struct metric_catalog cat;

static int setup(void **state)
{
    (void)state;
    metric_catalog_init(&cat);
    metric_catalog_add(&cat, "cpu_load_pct", "number", NULL);
    metric_catalog_add(&cat, "loaded_modules", "string-list", NULL);
    metric_catalog_add(&cat, "error_codes", "number-list", NULL);
    metric_catalog_add(&cat, "peer_ips", "ip-address-list", NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    metric_catalog_free(&cat);
    return 0;
}

static void load_fixture(struct profile_set *set, const char *rel)
{
    struct cordon_diag d;
    size_t len = 0;
    char *text = fixture_read(rel, &len);
    int r;
    assert_non_null(text);
    r = profile_set_parse(set, rel, text, len, &cat, &d);
    if (r)
        fprintf(stderr, "%s\n", d.message);
    assert_int_equal(r, 0);
    free(text);
}

static void assert_round_trip(const struct profile_set *set)
{
    struct buf out;
    struct profile_set again;
    buf_init(&out, 1 << 20);
    assert_int_equal(profile_set_write_yaml(set, &out), 0);
    assert_int_equal(load_yaml(&again, out.ptr, &cat), 0);
    assert_int_equal(again.n, set->n);
    for (size_t i = 0; i < set->n; i++)
        assert_true(profile_equal(&set->v[i], &again.v[i]));
    /* one profile alone, too */
    profile_set_free(&again);
    buf_reset(&out);
    assert_int_equal(profile_write_yaml(&set->v[0], &out), 0);
    assert_int_equal(load_yaml(&again, out.ptr, &cat), 0);
    assert_int_equal(again.n, 1);
    assert_true(profile_equal(&set->v[0], &again.v[0]));
    profile_set_free(&again);
    buf_free(&out);
}

static void test_rule_baseline(void **state)
{
    struct profile_set set;
    const struct profile *p;
    const struct behavior *b;
    (void)state;
    load_fixture(&set, "profiles/rule-baseline.yaml");
    assert_int_equal(set.n, 1);
    p = &set.v[0];
    assert_string_equal(p->name, "DeviceRuleBaseline");
    assert_string_equal(p->description, "Rule-based security baseline for IoT devices");
    assert_int_equal(p->ntargets, 1);
    assert_int_equal(p->targets[0].kind, PROFILE_TARGET_ALL);
    assert_int_equal(p->nbehaviors, 2);
    b = &p->behaviors[0];
    assert_string_equal(b->name, "AuthorizedTcpPorts");
    assert_string_equal(b->metric, "aws:listening-tcp-ports");
    assert_int_equal(b->kind, BEHAVIOR_RULE);
    assert_int_equal(b->c.op, METRIC_OP_IN_PORT_SET);
    assert_int_equal(b->c.nports, 3);
    assert_int_equal(b->c.ports[2], 443);
    assert_int_equal(behavior_to_alarm(b), 1);
    assert_int_equal(behavior_to_clear(b), 1);
    assert_false(b->suppress_alerts);
    b = &p->behaviors[1];
    assert_string_equal(b->metric, "aws:listening-udp-ports");
    assert_int_equal(b->c.nports, 1);
    assert_int_equal(b->c.ports[0], 90);
    assert_int_equal(p->nretain, 1);
    assert_string_equal(p->retain[0].metric, "aws:listening-tcp-ports");
    assert_round_trip(&set);
    profile_set_free(&set);
}

static void test_ml_baseline(void **state)
{
    struct profile_set set;
    const struct behavior *b;
    (void)state;
    load_fixture(&set, "profiles/ml-baseline.yaml");
    assert_string_equal(set.v[0].name, "DeviceMLBaseline");
    b = &set.v[0].behaviors[0];
    assert_int_equal(b->kind, BEHAVIOR_ML);
    assert_int_equal(b->c.confidence, BEHAVIOR_CONFIDENCE_HIGH);
    assert_int_equal(b->c.to_alarm, 1);
    assert_int_equal(b->c.to_clear, 1);
    assert_round_trip(&set);
    profile_set_free(&set);
}

static void test_every_field(void **state)
{
    struct profile_set set;
    const struct profile *p;
    (void)state;
    load_fixture(&set, "profiles/full.yaml");
    assert_int_equal(set.n, 2);
    p = &set.v[0];
    assert_int_equal(p->ntargets, 4);
    assert_int_equal(p->targets[1].kind, PROFILE_TARGET_REGISTERED);
    assert_string_equal(p->targets[2].group, "pumps");
    assert_string_equal(p->targets[3].group, "valves"); /* bare group name */
    assert_string_equal(p->response_plan, "IotResponsePlan");
    assert_int_equal(p->nbehaviors, 11);
    assert_true(p->behaviors[0].suppress_alerts);
    assert_int_equal(p->behaviors[1].c.ncidrs, 3);
    assert_int_equal(p->behaviors[2].c.duration_s, 300);
    assert_int_equal(p->behaviors[2].c.to_alarm, 2);
    assert_int_equal(p->behaviors[2].c.to_clear, 3);
    assert_string_equal(p->behaviors[2].response_plan, "Exfiltration");
    assert_int_equal(p->behaviors[3].kind, BEHAVIOR_STATISTICAL);
    assert_true(p->behaviors[3].c.percentile == 99.9);
    assert_true(p->behaviors[4].c.number == 92.5);
    assert_int_equal(p->behaviors[5].c.nstrings, 2);
    assert_int_equal(p->behaviors[6].c.nnumbers, 3);
    assert_int_equal(p->behaviors[7].def.type, METRIC_TYPE_IPS);
    assert_string_equal(p->behaviors[8].dimension, "TopicFilterAll");
    assert_true(p->behaviors[8].dimension_not_in);
    assert_int_equal(p->behaviors[9].kind, BEHAVIOR_ML);
    assert_true(p->behaviors[9].export_metric);
    assert_int_equal(p->behaviors[10].kind, BEHAVIOR_RETAIN);
    assert_int_equal(p->nalert_targets, 2);
    assert_int_equal(p->alert_targets[1].kind, PROFILE_ALERT_WEBHOOK);
    assert_int_equal(p->nmitigations, 4);
    assert_int_equal(p->mitigations[0].kind, PROFILE_MITIGATION_ADD_THINGS_TO_THING_GROUP);
    assert_string_equal(p->mitigations[0].groups[0], "QUARANTINED");
    assert_true(p->mitigations[0].override_dynamic_groups);
    assert_string_equal(p->mitigations[3].topic, "cordon/findings");
    assert_string_equal(p->export_topic, "cordon/export");
    assert_string_equal(set.v[1].targets[0].group, "QUARANTINED");
    assert_non_null(profile_set_find(&set, "Second"));
    assert_null(profile_set_find(&set, "Third"));
    assert_round_trip(&set);
    assert_false(profile_equal(&set.v[0], &set.v[1]));
    profile_set_free(&set);
}

static void test_custom_metric_needs_catalog(void **state)
{
    struct profile_set set;
    struct cordon_diag d;
    const char *yaml =
        "securityProfileName: P\nbehaviors:\n  - name: A\n    metric: cpu_load_pct\n";
    (void)state;
    assert_int_equal(profile_set_parse(&set, "x.yaml", yaml, strlen(yaml), NULL, &d),
                     CORDON_EINVAL);
    assert_string_equal(d.message, "x.yaml:4:13: behaviors[0].metric: unknown metric "
                                   "\"cpu_load_pct\" (expected an aws: metric or a declared "
                                   "custom metric)");
    assert_int_equal(d.line, 4);
    assert_int_equal(d.column, 13);
    assert_int_equal(set.n, 0);
}

static void test_parse_node(void **state)
{
    const char *yaml = "kind: stack\nitems:\n  - securityProfileName: FromNode\n"
                       "    targets: [thinggroup/pumps]\n    behaviors:\n      - name: X\n"
                       "        metric: aws:num-disconnects\n"
                       "        criteria: { comparisonOperator: greater-than, value: { count: "
                       "nine } }\n";
    struct fy_document *fyd = fy_document_build_from_string(NULL, yaml, strlen(yaml));
    struct fy_node *item;
    struct profile p;
    struct cordon_diag d;
    (void)state;
    assert_non_null(fyd);
    item = fy_node_by_path(fy_document_root(fyd), "/items/0", (size_t)-1, FYNWF_DONT_FOLLOW);
    assert_non_null(item);
    assert_int_equal(profile_parse_node(&p, "stack.yaml", "items[0]", item, &cat, &d),
                     CORDON_EINVAL);
    assert_string_equal(d.message, "stack.yaml:8:71: items[0].behaviors[0].criteria.value.count: "
                                   "expected an integer 0..9223372036854775807, got \"nine\"");
    fy_document_destroy(fyd);

    yaml = "securityProfileName: FromNode\ntargets: [thinggroup/pumps]\n";
    fyd = fy_document_build_from_string(NULL, yaml, strlen(yaml));
    assert_int_equal(profile_parse_node(&p, "stack.yaml", "", fy_document_root(fyd), &cat, &d), 0);
    assert_string_equal(p.name, "FromNode");
    {
        struct fy_document *out = fy_document_create(NULL);
        struct fy_node *n = NULL;
        struct profile q;
        assert_int_equal(profile_write_node(&p, out, &n), 0);
        assert_non_null(n);
        if (profile_parse_node(&q, "again", "", n, &cat, &d))
            fprintf(stderr, "%s\n", d.message);
        assert_int_equal(d.message[0], 0);
        assert_true(profile_equal(&p, &q));
        profile_free(&q);
        fy_node_free(n);
        fy_document_destroy(out);
    }
    profile_free(&p);
    fy_document_destroy(fyd);
}

static void test_list_forms(void **state)
{
    struct profile_set set;
    (void)state;
    assert_int_equal(load_yaml(&set, "- securityProfileName: A\n- securityProfileName: B\n", &cat),
                     0);
    assert_int_equal(set.n, 2);
    profile_set_free(&set);
    assert_int_equal(load_yaml(&set, "securityProfiles: []\n", &cat), 0);
    assert_int_equal(set.n, 0);
    profile_set_free(&set);
}

static const struct {
    const char *file;
    const char *message;
} bad[] = {
    { "bad-alert-target.yaml",
      "bad-alert-target.yaml:3:13: alertTargets[0].type: expected mqtt or webhook, got \"sns\"" },
    { "bad-cidr.yaml", "bad-cidr.yaml:5:79: behaviors[0].criteria.value.cidrs[1]: expected a CIDR "
                       "such as 10.0.0.0/8 or 2001:db8::/32, got \"10.0.0.0/33\"" },
    { "bad-confidence.yaml",
      "bad-confidence.yaml:6:45: behaviors[0].criteria.mlDetectionConfig.confidenceLevel: expected "
      "LOW, MEDIUM or HIGH, got \"EXTREME\"" },
    { "bad-name.yaml", "bad-name.yaml:1:23: securityProfileName: expected a name of 1..128 "
                       "characters a-z A-Z 0-9 : _ -, got \"Device Rule Baseline\"" },
    { "bad-operator-for-metric.yaml",
      "bad-operator-for-metric.yaml:5:37: behaviors[0].criteria.comparisonOperator: metric "
      "aws:listening-tcp-ports does not support greater-than (expected in-port-set, "
      "not-in-port-set)" },
    { "bad-statistic.yaml",
      "bad-statistic.yaml:7:42: behaviors[0].criteria.statisticalThreshold.statistic: expected p0, "
      "p0.1, p0.01, p1, p10, p50, p90, p99, p99.9, p99.99 or p100, got \"p95\"" },
    { "bad-target.yaml",
      "bad-target.yaml:2:23: targets[1]: expected all/things, all/registered-things, "
      "all/unregistered-things, thinggroup/NAME or a group name, got \"group/pumps\"" },
    { "bool.yaml",
      "bool.yaml:5:21: behaviors[0].suppressAlerts: expected true or false, got \"maybe\"" },
    { "dimension-not-allowed.yaml", "dimension-not-allowed.yaml:5:5: behaviors[0].metricDimension: "
                                    "metric aws:all-bytes-out does not take a dimension" },
    { "duplicate-behavior.yaml",
      "duplicate-behavior.yaml:5:5: behaviors[1]: duplicate behavior name \"A\"" },
    { "duplicate-profile.yaml",
      "duplicate-profile.yaml:4:26: securityProfiles[2].securityProfileName: duplicate security "
      "profile name \"P\"" },
    { "duration-on-list.yaml", "duration-on-list.yaml:8:7: behaviors[0].criteria.durationSeconds: "
                               "not allowed with metric aws:listening-tcp-ports" },
    { "duration-value.yaml", "duration-value.yaml:8:24: behaviors[0].criteria.durationSeconds: "
                             "expected 300, 600, 900, 1800 or 3600, got 301" },
    { "missing-name.yaml", "missing-name.yaml:1:1: document: missing securityProfileName" },
    { "mitigation-groups.yaml",
      "mitigation-groups.yaml:3:5: mitigationActions[0]: missing thingGroupNames" },
    { "ml-on-ports.yaml", "ml-on-ports.yaml:6:7: behaviors[0].criteria.mlDetectionConfig: metric "
                          "aws:listening-tcp-ports does not support ML detection" },
    { "port-not-int.yaml", "port-not-int.yaml:5:75: behaviors[0].criteria.value.ports[2]: expected "
                           "an integer 0..65535, got \"abc\"" },
    { "port-range.yaml", "port-range.yaml:10:13: behaviors[0].criteria.value.ports[1]: expected an "
                         "integer 0..65535, got \"70000\"" },
    { "statistical-no-duration.yaml", "statistical-no-duration.yaml:6:7: behaviors[0].criteria: "
                                      "statisticalThreshold needs durationSeconds" },
    { "syntax.yaml", "syntax.yaml:5:1: flow sequence without a closing bracket" },
    { "to-alarm-range.yaml",
      "to-alarm-range.yaml:8:37: behaviors[0].criteria.consecutiveDatapointsToAlarm: expected an "
      "integer 1..10, got \"11\"" },
    { "two-criteria.yaml", "two-criteria.yaml:8:7: behaviors[0].criteria: expected exactly one of "
                           "value, statisticalThreshold or mlDetectionConfig" },
    { "unknown-criteria-key.yaml",
      "unknown-criteria-key.yaml:7:7: behaviors[0].criteria: unknown key \"valeu\" (expected "
      "comparisonOperator, value, durationSeconds, consecutiveDatapointsToAlarm, "
      "consecutiveDatapointsToClear, statisticalThreshold or mlDetectionConfig)" },
    { "unknown-key.yaml",
      "unknown-key.yaml:3:1: unknown key \"behaviours\" (expected securityProfileName, "
      "securityProfileDescription, behaviors, targets, alertTargets, mitigationActions, "
      "additionalMetricsToRetainV2, metricsExportConfig or responsePlan)" },
    { "unknown-metric.yaml",
      "unknown-metric.yaml:4:13: behaviors[0].metric: unknown metric \"aws:all-bytes-sideways\" "
      "(expected an aws: metric or a declared custom metric)" },
    { "unknown-operator.yaml",
      "unknown-operator.yaml:5:37: behaviors[0].criteria.comparisonOperator: expected less-than, "
      "less-than-equals, greater-than, greater-than-equals, in-cidr-set, not-in-cidr-set, "
      "in-port-set, not-in-port-set, in-set or not-in-set, got \"bigger-than\"" },
    { "webhook-url.yaml", "webhook-url.yaml:4:10: alertTargets[0].url: expected an http:// or "
                          "https:// URL, got \"ftp://example.test/hook\"" },
    { "wrong-value-type.yaml", "wrong-value-type.yaml:5:60: behaviors[0].criteria.value: expected "
                               "count for metric aws:num-listening-tcp-ports, got \"ports\"" },
    { "alias.yaml",
      "alias.yaml:8:58: behaviors[1].criteria.value: expected a mapping, got an alias "
      "(aliases are not supported)" },
    { "duplicate-key.yaml", "duplicate-key.yaml:2:1: duplicate key" },
    { "empty.yaml", "empty.yaml:1:1: empty document (expected a security profile or "
                    "securityProfiles: [...])" },
    { "count-hex.yaml", "count-hex.yaml:5:67: behaviors[0].criteria.value.count: expected an "
                        "integer 0..9223372036854775807, got \"0x10\"" },
    { "two-documents.yaml", "two-documents.yaml:3:1: a second YAML document (a file holds one; "
                            "put several profiles under securityProfiles:)" },
};

static void test_bad_profiles(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char rel[256];
        struct profile_set set;
        struct cordon_diag d;
        size_t len = 0;
        char *text;
        int r;
        snprintf(rel, sizeof(rel), "profiles/bad/%s", bad[i].file);
        text = fixture_read(rel, &len);
        assert_non_null(text);
        r = profile_set_parse(&set, bad[i].file, text, len, &cat, &d);
        free(text);
        if (r == 0)
            fprintf(stderr, "%s: loaded\n", bad[i].file);
        assert_int_equal(r, CORDON_EINVAL);
        if (strcmp(d.message, bad[i].message) != 0)
            fprintf(stderr, "%s:\n got  %s\n want %s\n", bad[i].file, d.message, bad[i].message);
        assert_string_equal(d.message, bad[i].message);
        assert_true(d.line > 0 && d.column > 0);
        assert_int_equal(set.n, 0);
    }
}

static void test_limits(void **state)
{
    struct buf y;
    struct profile_set set;
    struct cordon_diag d;
    (void)state;
    buf_init(&y, 1 << 20);
    buf_adds(&y, "securityProfileName: P\nbehaviors:\n");
    for (int i = 0; i < 101; i++)
        buf_printf(&y, "  - { name: b%d, metric: aws:all-bytes-in }\n", i);
    assert_int_equal(profile_set_parse(&set, "big.yaml", y.ptr, y.len, &cat, &d), CORDON_EINVAL);
    assert_non_null(strstr(d.message, "at most 100 entries, got 101"));
    buf_reset(&y);
    buf_adds(&y, "securityProfileName: P\nbehaviors:\n");
    for (int i = 0; i < 3; i++) {
        buf_printf(&y,
                   "  - name: b%d\n    metric: aws:listening-tcp-ports\n"
                   "    criteria: { comparisonOperator: not-in-port-set, value: { ports: [",
                   i);
        for (int j = 0; j < 400; j++)
            buf_printf(&y, j ? ",%d" : "%d", j);
        buf_adds(&y, "] } }\n");
    }
    assert_int_equal(profile_set_parse(&set, "big.yaml", y.ptr, y.len, &cat, &d), CORDON_EINVAL);
    assert_non_null(strstr(d.message, "more than 1000 value elements"));
    buf_free(&y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_baseline), cmocka_unit_test(test_ml_baseline),
        cmocka_unit_test(test_every_field),   cmocka_unit_test(test_custom_metric_needs_catalog),
        cmocka_unit_test(test_parse_node),    cmocka_unit_test(test_list_forms),
        cmocka_unit_test(test_bad_profiles),  cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
