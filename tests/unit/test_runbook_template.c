/*
 * test_runbook_template.c — `{{ }}` references, rendering rules and output
 * selectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runbook_template.h"

static void test_parse_references(void **state)
{
    struct runbook_ref r;
    const char *why = NULL;
    size_t pos = 0;

    (void)state;
    assert_int_equal(runbook_template_next("no refs", 0, &r, &why, &pos), 0);
    assert_int_equal(runbook_template_next("a {{Param}} b", 0, &r, &why, &pos), 1);
    assert_int_equal(r.kind, RUNBOOK_REF_PARAM);
    assert_string_equal(r.a, "Param");
    assert_int_equal(r.start, 2);
    assert_int_equal(r.end, 11);
    assert_int_equal(runbook_template_next("{{  Step.Out  }}", 0, &r, &why, &pos), 1);
    assert_int_equal(r.kind, RUNBOOK_REF_OUTPUT);
    assert_string_equal(r.a, "Step");
    assert_string_equal(r.b, "Out");
    assert_int_equal(runbook_template_next("{{ variable:Count }}", 0, &r, &why, &pos), 1);
    assert_int_equal(r.kind, RUNBOOK_REF_VARIABLE);
    assert_string_equal(r.a, "Count");
    assert_int_equal(runbook_template_next("{{automation:EXECUTION_ID}}", 0, &r, &why, &pos), 1);
    assert_int_equal(r.kind, RUNBOOK_REF_AUTOMATION);
    assert_int_equal(runbook_template_next("{{ global:DATE_TIME }}", 0, &r, &why, &pos), 1);
    assert_int_equal(r.kind, RUNBOOK_REF_GLOBAL);
    assert_int_equal(runbook_template_next("{{ssm:/a/b}}", 0, &r, &why, &pos), 1);
    assert_int_equal(r.kind, RUNBOOK_REF_SSM);
    assert_string_equal(r.a, "/a/b");
    /* Malformed references are errors with their offset. */
    assert_int_equal(runbook_template_next("x {{ open", 0, &r, &why, &pos), CORDON_EINVAL);
    assert_int_equal(pos, 2);
    assert_non_null(strstr(why, "unclosed"));
    assert_int_equal(runbook_template_next("{{ }}", 0, &r, &why, &pos), CORDON_EINVAL);
    assert_int_equal(runbook_template_next("{{ a.b.c }}", 0, &r, &why, &pos), CORDON_EINVAL);
    assert_int_equal(runbook_template_next("{{ foo:bar }}", 0, &r, &why, &pos), CORDON_EINVAL);
    assert_int_equal(runbook_template_next("{{ a b }}", 0, &r, &why, &pos), CORDON_EINVAL);
    /* Scanning resumes after a reference. */
    assert_int_equal(runbook_template_next("{{a}}{{b}}", 5, &r, &why, &pos), 1);
    assert_string_equal(r.a, "b");
}

/* A fixed lookup: Name -> "dd-1", List -> [a, b], N -> 7, Flag -> true, Map -> {k: v}. */
static int fake_lookup(void *ctx, const struct runbook_ref *ref, json_t **value, char *err,
                       size_t errlen)
{
    (void)ctx;
    if (ref->kind == RUNBOOK_REF_PARAM && strcmp(ref->a, "Name") == 0)
        *value = json_string("dd-1");
    else if (ref->kind == RUNBOOK_REF_PARAM && strcmp(ref->a, "List") == 0)
        *value = json_pack("[s,s]", "a", "b");
    else if (ref->kind == RUNBOOK_REF_PARAM && strcmp(ref->a, "N") == 0)
        *value = json_integer(7);
    else if (ref->kind == RUNBOOK_REF_PARAM && strcmp(ref->a, "Flag") == 0)
        *value = json_true();
    else if (ref->kind == RUNBOOK_REF_PARAM && strcmp(ref->a, "Map") == 0)
        *value = json_pack("{s:s}", "k", "v");
    else if (ref->kind == RUNBOOK_REF_PARAM && strcmp(ref->a, "Rows") == 0)
        *value = json_pack("[{s:i}]", "x", 1);
    else if (ref->kind == RUNBOOK_REF_PARAM && strcmp(ref->a, "Tricky") == 0)
        *value = json_string("{{ Name }}");
    else {
        snprintf(err, errlen, "no value for %s", ref->a);
        return CORDON_EINVAL;
    }
    return 0;
}

static void expect_text(const char *tpl, const char *want)
{
    json_t *out = NULL;
    char err[200];

    assert_int_equal(runbook_template_render_string(tpl, fake_lookup, NULL, &out, err, sizeof(err)),
                     0);
    assert_true(json_is_string(out));
    assert_string_equal(json_string_value(out), want);
    json_decref(out);
}

static void test_render_strings(void **state)
{
    json_t *out = NULL;
    char err[200];

    (void)state;
    expect_text("plain", "plain");
    expect_text("thing {{Name}}!", "thing dd-1!");
    expect_text("things: {{ List }}", "things: a, b"); /* StringList: comma-separated */
    expect_text("n={{N}} f={{Flag}}", "n=7 f=true");
    expect_text("m={{Map}} r={{Rows}}", "m={\"k\":\"v\"} r=[{\"x\":1}]");
    expect_text("no nesting: {{Tricky}}", "no nesting: {{ Name }}");
    /* Exactly one reference keeps the type. */
    assert_int_equal(
        runbook_template_render_string("{{ N }}", fake_lookup, NULL, &out, err, sizeof(err)), 0);
    assert_true(json_is_integer(out));
    json_decref(out);
    assert_int_equal(
        runbook_template_render_string("{{List}}", fake_lookup, NULL, &out, err, sizeof(err)), 0);
    assert_true(json_is_array(out));
    json_decref(out);
    /* Lookup failures surface. */
    assert_int_equal(
        runbook_template_render_string("x {{Missing}}", fake_lookup, NULL, &out, err, sizeof(err)),
        CORDON_EINVAL);
    assert_null(out);
    assert_non_null(strstr(err, "Missing"));
}

static void test_render_tree(void **state)
{
    json_t *in = json_loads("{\"Ids\": [\"x\", \"{{List}}\", \"{{ Name }}\"], \"n\": \"{{N}}\", "
                            "\"keep\": 3, \"{{Name}}\": \"keys are not rendered\"}",
                            0, NULL);
    json_t *out = NULL;
    char err[200], *dump;

    (void)state;
    assert_non_null(in);
    assert_int_equal(runbook_template_render(in, fake_lookup, NULL, &out, err, sizeof(err)), 0);
    dump = json_dumps(out, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(dump, "{\"Ids\":[\"x\",\"a\",\"b\",\"dd-1\"],\"keep\":3,\"n\":7,"
                              "\"{{Name}}\":\"keys are not rendered\"}");
    free(dump);
    json_decref(out);
    json_decref(in);
}

static void test_selectors(void **state)
{
    json_t *doc = json_loads("{\"Payload\": {\"things\": [\"a\", \"b\"], \"x-y\": {\"z\": 1}, "
                             "\"rows\": [{\"id\": 5}]}}",
                             0, NULL);
    const char *why;

    (void)state;
    assert_int_equal(runbook_selector_check("$.Payload.things", &why), 0);
    assert_int_equal(runbook_selector_check("$", &why), 0);
    assert_int_equal(runbook_selector_check("Payload", &why), CORDON_EINVAL);
    assert_int_equal(runbook_selector_check("$..a", &why), CORDON_EINVAL);
    assert_int_equal(runbook_selector_check("$.a[*]", &why), CORDON_EINVAL);
    assert_int_equal(runbook_selector_check("$.a[-1]", &why), CORDON_EINVAL);
    assert_int_equal(runbook_selector_check("$.a[?(@.x)]", &why), CORDON_EINVAL);
    assert_true(json_is_array(runbook_selector_eval(doc, "$.Payload.things")));
    assert_string_equal(json_string_value(runbook_selector_eval(doc, "$.Payload.things[1]")), "b");
    assert_int_equal(json_integer_value(runbook_selector_eval(doc, "$.Payload['x-y'].z")), 1);
    assert_int_equal(json_integer_value(runbook_selector_eval(doc, "$[\"Payload\"].rows[0].id")),
                     5);
    assert_null(runbook_selector_eval(doc, "$.Payload.things[2]"));
    assert_null(runbook_selector_eval(doc, "$.Payload.nothing.deeper"));
    assert_ptr_equal(runbook_selector_eval(doc, "$"), doc);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_references),
        cmocka_unit_test(test_render_strings),
        cmocka_unit_test(test_render_tree),
        cmocka_unit_test(test_selectors),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
