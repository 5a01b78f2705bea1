/*
 * test_response_plan.c — response plan loader (positions, limits, unknown
 * keys, template variables), writer round trip, templates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "response_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *name, size_t *n)
{
    char path[512];
    FILE *f;
    char *b;

    snprintf(path, sizeof(path), "%s/incidents/%s", CORDON_FIXTURES, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    b = malloc(1 << 20);
    *n = fread(b, 1, (1 << 20) - 1, f);
    b[*n] = '\0';
    fclose(f);
    return b;
}

static void test_load_seed_plan(void **state)
{
    struct response_plan p;
    struct cordon_diag d;
    const struct response_plan_related *rel;
    size_t n;
    char *t = slurp("response-plan.yaml", &n);

    (void)state;
    response_plan_init(&p);
    assert_int_equal(response_plan_from_yaml(&p, t, n, "response-plan.yaml", &d), 0);
    assert_string_equal(p.name, "IotResponsePlan");
    assert_int_equal(p.impact, 3);
    assert_int_equal(p.nengagements, 1);
    assert_string_equal(p.engagements[0], "iot-escalation");
    assert_true(p.has_runbook);
    assert_string_equal(p.document_name, "DeviceIncident");
    assert_int_equal(p.ndynamic, 1);
    assert_int_equal(p.dynamic[0].variable, RESPONSE_PLAN_VAR_INCIDENT_RECORD_ARN);
    assert_int_equal(p.ntargets, 2);
    assert_int_equal(p.targets[0].type, RESPONSE_PLAN_TARGET_MQTT);
    assert_int_equal(response_plan_related_items(&p, &rel), 2);
    assert_string_equal(json_string_value(json_object_get(p.incident_tags, "team")), "iot");
    {
        struct contact_book book;
        const char *y = "contacts:\n  - alias: oncall\n";
        contact_book_init(&book);
        assert_int_equal(contact_book_load_yaml(&book, y, strlen(y), "b.yaml", &d), 0);
        assert_int_equal(response_plan_check_contacts(&p, &book, &d), CORDON_EINVAL);
        assert_non_null(strstr(d.message, "engagements[0]: no contact or escalation plan"));
        contact_book_free(&book);
    }
    response_plan_free(&p);
    free(t);
}

static void test_yaml_and_json_round_trip(void **state)
{
    struct response_plan a, b, c;
    struct cordon_diag d;
    struct buf out;
    json_t *ja, *jb, *jc;
    size_t n;
    char *t = slurp("response-plan.yaml", &n);
    const char *aws = "name: AwsStyle\nincidentTemplate:\n  title: T\n  impact: 5\n"
                      "chatChannel:\n  empty: {}\nactions:\n  - ssmAutomation:\n"
                      "      documentName: Doc-1\n      roleArn: arn:aws:iam::1:role/x\n"
                      "      targetAccount: IMPACTED_ACCOUNT\n      parameters:\n"
                      "        Mode: [fast]\n        Level: \"3\"\n      dynamicParameters:\n"
                      "        Things:\n          variable: INVOLVED_RESOURCES\n"
                      "tags: {owner: sec}\n";

    (void)state;
    response_plan_init(&a);
    response_plan_init(&b);
    response_plan_init(&c);
    assert_int_equal(response_plan_from_yaml(&a, t, n, "response-plan.yaml", &d), 0);
    buf_init(&out, 1 << 20);
    assert_int_equal(response_plan_to_yaml(&a, &out, 0), 0);
    if (response_plan_from_yaml(&b, out.ptr, out.len, "export.yaml", &d))
        fail_msg("%s\n%s", d.message, out.ptr);
    ja = response_plan_to_json(&a);
    jb = response_plan_to_json(&b);
    assert_true(json_equal(ja, jb));
    assert_int_equal(response_plan_from_json(&c, ja, &d), 0);
    jc = response_plan_to_json(&c);
    assert_true(json_equal(ja, jc));
    json_decref(ja);
    json_decref(jb);
    json_decref(jc);
    buf_free(&out);

    /* an AWS-shaped plan (chatChannel, roleArn, {variable: X}) loads and round-trips */
    assert_int_equal(response_plan_from_yaml(&a, aws, strlen(aws), "aws.yaml", &d), 0);
    assert_int_equal(a.dynamic[0].variable, RESPONSE_PLAN_VAR_INVOLVED_RESOURCES);
    assert_false(a.related_set);
    buf_init(&out, 1 << 20);
    assert_int_equal(response_plan_to_yaml(&a, &out, 0), 0);
    if (response_plan_from_yaml(&b, out.ptr, out.len, "export.yaml", &d))
        fail_msg("%s\n%s", d.message, out.ptr);
    ja = response_plan_to_json(&a);
    jb = response_plan_to_json(&b);
    assert_true(json_equal(ja, jb));
    json_decref(ja);
    json_decref(jb);
    buf_free(&out);
    response_plan_free(&a);
    response_plan_free(&b);
    response_plan_free(&c);
    free(t);
}

static void test_templates(void **state)
{
    struct response_plan_vars v = {
        "v/1", "dd test", "P", "B", "aws:x", "Plan", "https://c.example/base/"
    };
    struct buf out;
    char bad[64];

    (void)state;
    buf_init(&out, 4096);
    assert_int_equal(
        response_plan_render("{{consoleBaseUrl}}/things/{{ thingName }}?v={{violationId}}", &v,
                             true, &out),
        0);
    assert_string_equal(out.ptr, "https://c.example/base/things/dd%20test?v=v%2F1");
    buf_reset(&out);
    assert_int_equal(response_plan_render("{{thingName}}/{{securityProfileName}}/{{behaviorName}}",
                                          &v, false, &out),
                     0);
    assert_string_equal(out.ptr, "dd test/P/B");
    buf_reset(&out);
    assert_int_equal(response_plan_render("x {{nope}}", &v, false, &out), CORDON_EINVAL);
    assert_int_equal(response_plan_template_check("{{ thingName }} {{eventTime}}", bad),
                     CORDON_EINVAL);
    assert_string_equal(bad, "eventTime");
    assert_int_equal(response_plan_template_check("open {{ thingName", bad), CORDON_EINVAL);
    buf_free(&out);
}

static void test_bad_fixtures(void **state)
{
    static const struct {
        const char *file, *where, *what;
    } cases[] = {
        { "plan-impact.yaml", "plan-impact.yaml:4:11: incidentTemplate.impact",
          "expected an integer from 1 to 5, got 7" },
        { "plan-unknown-key.yaml", "plan-unknown-key.yaml:5:3: incidentTemplate",
          "unknown key 'colour'" },
        { "plan-unknown-var.yaml", ":3:11: incidentTemplate.title",
          "unknown template variable 'thing'" },
        { "plan-name.yaml", "plan-name.yaml:1:8: name", "expected [a-zA-Z0-9_-] characters" },
        { "plan-engagements.yaml", ":3:", "expected at most 5 items, got 6" },
        { "plan-dynamic.yaml", ":7:13: actions[0].ssmAutomation.dynamicParameters",
          "INCIDENT_RECORD_ARN | INVOLVED_RESOURCES" },
        { "plan-syntax.yaml", "plan-syntax.yaml:4:", "YAML syntax error" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[128];
        struct response_plan p;
        struct cordon_diag d;
        size_t n;
        char *t;

        snprintf(name, sizeof(name), "bad/%s", cases[i].file);
        t = slurp(name, &n);
        cordon_diag_clear(&d);
        response_plan_init(&p);
        assert_int_equal(response_plan_from_yaml(&p, t, n, cases[i].file, &d), CORDON_EINVAL);
        if (!strstr(d.message, cases[i].where) || !strstr(d.message, cases[i].what))
            fail_msg("%s: got '%s'", cases[i].file, d.message);
        assert_true(d.line > 0);
        response_plan_free(&p);
        free(t);
    }
}

static void test_rejects(void **state)
{
    static const char *const docs[] = {
        "name: P\nincidentTemplate: {title: x, impact: 1}\nintegrations: [{pagerDutyConfiguration: "
        "{}}]\n",
        "name: P\nincidentTemplate: {title: x, impact: 1, notificationTargets: [{snsTopicArn: "
        "a}]}\n",
        "name: P\nincidentTemplate: {title: x, impact: 1, notificationTargets: [{mqttTopic: "
        "a/#}]}\n",
        "name: P\nincidentTemplate: {title: x, impact: 1}\nengagements: [a, a]\n",
        "name: P\n",
        "- 1\n",
        "",
        "name: P\nincidentTemplate: {}\n",
        "name: P\n% not \xff\xff\n", /* hung libfyaml 0.7.12's scanner (found by fuzzing) */
    };
    static const char *const want[] = {
        "not supported",
        "snsTopicArn is not supported",
        "without wildcards",
        "listed twice",
        "missing incidentTemplate",
        "expected a mapping",
        "empty document",
        "x.yaml:2:19: incidentTemplate: missing title",
        "x.yaml:2:7: invalid UTF-8",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct response_plan p;
        struct cordon_diag d;
        response_plan_init(&p);
        cordon_diag_clear(&d);
        assert_int_not_equal(response_plan_from_yaml(&p, docs[i], strlen(docs[i]), "x.yaml", &d),
                             0);
        if (!strstr(d.message, want[i]))
            fail_msg("doc %zu: got '%s'", i, d.message);
        response_plan_free(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_seed_plan), cmocka_unit_test(test_yaml_and_json_round_trip),
        cmocka_unit_test(test_templates),      cmocka_unit_test(test_bad_fixtures),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
