/*
 * test_runbook_doc.c — loading and validating automation documents.
 *
 * Every file in tests/fixtures/runbooks/bad/ must be rejected at the line and
 * column, with the code and message, that its "# expect: L:C Code text" line
 * (or its FILE.expect sidecar, for JSON) names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runbook_doc.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static int load_str(const char *yaml, struct runbook_doc **doc, struct cordon_diag *d)
{
    return runbook_doc_load(doc, yaml, strlen(yaml), NULL, NULL, d);
}

static struct runbook_doc *must_load(const char *yaml)
{
    struct runbook_doc *doc = NULL;
    struct cordon_diag d;

    if (load_str(yaml, &doc, &d))
        fail_msg("load failed: %s", d.message);
    return doc;
}

static void expect_error(const char *yaml, int line, int col, const char *code, const char *text)
{
    struct runbook_doc *doc = NULL;
    struct cordon_diag d;
    int rc = load_str(yaml, &doc, &d);

    assert_true(rc < 0);
    assert_null(doc);
    if (strcmp(d.code, code) != 0 || (line && (d.line != line || d.column != col)) ||
        !strstr(d.message, text))
        fail_msg("expected %d:%d %s '%s', got %d:%d %s '%s'", line, col, code, text, d.line,
                 d.column, d.code, d.message);
}

static void test_bad_fixtures(void **state)
{
    const char *dir = CORDON_FIXTURES "/runbooks/bad";
    DIR *dp = opendir(dir);
    struct dirent *de;
    int checked = 0;

    (void)state;
    assert_non_null(dp);
    while ((de = readdir(dp)) != NULL) {
        char path[1024], epath[1100], code[64], text[400], prefix[1100];
        char *src, *exp = NULL, *p;
        size_t len, elen;
        int line, col, rc, n;
        struct runbook_doc *doc = NULL;
        struct cordon_diag d;

        if (de->d_name[0] == '.' || strstr(de->d_name, ".expect"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        src = read_file(path, &len);
        assert_non_null(src);
        snprintf(epath, sizeof(epath), "%s.expect", path);
        exp = read_file(epath, &elen);
        p = exp ? exp : strstr(src, "# expect: ");
        if (!p)
            fail_msg("%s: no '# expect:' line", de->d_name);
        if (!exp)
            p += strlen("# expect: ");
        n = 0;
        if (sscanf(p, "%d:%d %63s %n", &line, &col, code, &n) != 3)
            fail_msg("%s: malformed expectation", de->d_name);
        snprintf(text, sizeof(text), "%.*s", (int)strcspn(p + n, "\n"), p + n);
        rc = runbook_doc_load(&doc, src, len, de->d_name, NULL, &d);
        if (rc == 0)
            fail_msg("%s: loaded, expected %s", de->d_name, code);
        assert_null(doc);
        snprintf(prefix, sizeof(prefix), "%s:%d:%d: ", de->d_name, line, col);
        if (d.line != line || d.column != col || strcmp(d.code, code) != 0 ||
            strncmp(d.message, prefix, strlen(prefix)) != 0 || !strstr(d.message, text))
            fail_msg("%s: expected %d:%d %s '%s'\n  got %d:%d %s '%s'", de->d_name, line, col, code,
                     text, d.line, d.column, d.code, d.message);
        free(src);
        free(exp);
        checked++;
    }
    closedir(dp);
    assert_true(checked >= 15);
}

/* Seed flaw 7: the sample's runbook renders {{ Containment.thingsDetected }} literally. */
static void test_sample_runbook_rejected(void **state)
{
    size_t len;
    char *src = read_file(CORDON_FIXTURES "/runbooks/bad/01-sample-undeclared-output.yaml", &len);
    struct runbook_doc *doc = NULL;
    struct cordon_diag d;

    (void)state;
    assert_non_null(src);
    assert_int_equal(runbook_doc_load(&doc, src, len, "DeviceIncident.yaml", NULL, &d),
                     CORDON_EINVAL);
    assert_null(doc);
    assert_string_equal(d.code, "UndeclaredOutput");
    assert_int_equal(d.line, 27);
    assert_non_null(strstr(d.message, "DeviceIncident.yaml:27:15: reference to undeclared "
                                      "output 'Containment.thingsDetected'"));
    free(src);
}

static void test_reference_runbook_loads(void **state)
{
    size_t len;
    char *src = read_file(CORDON_FIXTURES "/../../examples/runbooks/device-incident.yaml", &len);
    struct runbook_doc *doc = NULL;
    struct cordon_diag d;
    const struct runbook_step *c;

    (void)state;
    assert_non_null(src);
    if (runbook_doc_load(&doc, src, len, "device-incident.yaml", NULL, &d))
        fail_msg("%s", d.message);
    assert_int_equal(doc->nsteps, 3);
    c = &doc->steps[0];
    assert_string_equal(c->name, "Containment");
    assert_int_equal(c->action, RUNBOOK_ACTION_INVOKE_LAMBDA);
    assert_int_equal(c->max_attempts, 2);
    assert_int_equal(c->timeout_seconds, 60);
    assert_int_equal(c->on_failure, RUNBOOK_ON_FAILURE_ABORT);
    assert_true(c->is_critical);
    assert_int_equal(c->noutputs, 1);
    assert_string_equal(c->outputs[0].selector, "$.Payload.thingsDetected");
    assert_int_equal(c->outputs[0].type, RUNBOOK_TYPE_STRING_LIST);
    assert_int_equal(doc->steps[1].action, RUNBOOK_ACTION_PAUSE);
    assert_int_equal(doc->nparams, 1);
    assert_null(doc->params[0].def);
    assert_non_null(runbook_doc_param(doc, "IncidentId"));
    assert_int_equal(runbook_doc_param(doc, "IncidentId")->type, RUNBOOK_TYPE_STRING);
    assert_null(runbook_doc_param(doc, "Nope"));
    runbook_doc_free(doc);
    free(src);
}

static void test_json_document(void **state)
{
    struct runbook_doc *doc =
        must_load("{\"schemaVersion\": \"0.3\", \"parameters\": {\"N\": {\"type\": \"Integer\", "
                  "\"default\": 2}}, \"mainSteps\": [{\"name\": \"S\", \"action\": \"aws:sleep\", "
                  "\"inputs\": {\"Duration\": \"PT{{N}}S\"}}]}");

    (void)state;
    assert_int_equal(doc->nsteps, 1);
    assert_int_equal(json_integer_value(doc->params[0].def), 2);
    runbook_doc_free(doc);
    expect_error("{\"schemaVersion\": \"0.3\",\n \"mainSteps\": [{\"name\": \"S\", \"action\": "
                 "\"aws:pause\", \"inputs\": {}, \"maxAttempts\": \"2\"}]}",
                 2, 82, "InvalidType", "maxAttempts: expected an integer, found a string");
}

static void test_is_critical_defaults(void **state)
{
    struct runbook_doc *doc = must_load(
        "schemaVersion: '0.3'\n"
        "mainSteps:\n"
        "  - { name: A, action: aws:pause, inputs: {} }\n"
        "  - { name: B, action: aws:pause, inputs: {}, onFailure: Continue }\n"
        "  - { name: C, action: aws:pause, inputs: {}, onFailure: Continue, isCritical: true }\n"
        "  - { name: D, action: aws:pause, inputs: {}, onFailure: 'step:A', isCritical: false }\n"
        "  - { name: E, action: aws:pause, inputs: {}, onFailure: 'step:A' }\n");

    (void)state;
    assert_true(doc->steps[0].is_critical);
    assert_false(doc->steps[1].is_critical);
    assert_true(doc->steps[2].is_critical);
    assert_false(doc->steps[3].is_critical);
    assert_true(doc->steps[4].is_critical);
    assert_int_equal(doc->steps[4].on_failure_step, 0);
    runbook_doc_free(doc);
}

static void test_cycles(void **state)
{
    struct runbook_doc *doc;

    (void)state;
    /* A backward nextStep that a branch can leave is fine. */
    doc = must_load("schemaVersion: '0.3'\n"
                    "parameters: { M: { type: String, default: x } }\n"
                    "mainSteps:\n"
                    "  - { name: A, action: aws:sleep, inputs: { Duration: PT1S } }\n"
                    "  - name: B\n"
                    "    action: aws:branch\n"
                    "    inputs:\n"
                    "      Choices: [ { NextStep: C, Variable: '{{M}}', StringEquals: done } ]\n"
                    "      Default: A\n"
                    "  - { name: C, action: aws:pause, inputs: {} }\n");
    runbook_doc_free(doc);
    /* A self loop. */
    expect_error("schemaVersion: '0.3'\n"
                 "mainSteps:\n"
                 "  - { name: A, action: aws:pause, inputs: {}, nextStep: A }\n",
                 3, 57, "InfiniteLoop", "(A -> A)");
    /* A branch whose every path returns into the loop. */
    expect_error("schemaVersion: '0.3'\n"
                 "parameters: { M: { type: String, default: x } }\n"
                 "mainSteps:\n"
                 "  - { name: A, action: aws:pause, inputs: {} }\n"
                 "  - name: B\n"
                 "    action: aws:branch\n"
                 "    inputs:\n"
                 "      Choices: [ { NextStep: A, Variable: '{{M}}', StringEquals: x } ]\n"
                 "      Default: A\n",
                 4, 5, "InfiniteLoop", "no step can leave");
    expect_error("schemaVersion: '0.3'\n"
                 "mainSteps:\n"
                 "  - { name: A, action: aws:pause, inputs: {}, onFailure: 'step:A' }\n",
                 3, 58, "InvalidValue", "its own failure path");
}

static void test_parameter_typing(void **state)
{
    struct runbook_doc *doc = must_load(
        "schemaVersion: '0.3'\n"
        "parameters:\n"
        "  Flag: { type: Boolean }\n"
        "  Count: { type: Integer, default: 1 }\n"
        "  Name: { type: String, allowedPattern: '^[a-z]\\d+$', default: a1, maxChars: 5 }\n"
        "  Mode: { type: String, allowedValues: [on, off], default: 'on' }\n"
        "  Ids: { type: StringList, minItems: 1, maxItems: 2, default: [x] }\n"
        "  Tags: { type: StringMap, default: {} }\n"
        "  Rows: { type: MapList, default: [] }\n"
        "mainSteps:\n"
        "  - { name: P, action: aws:pause, inputs: {} }\n");
    struct cordon_diag d;
    json_t *res = NULL, *given;
    struct {
        const char *json;
        const char *why;
    } bad[] = {
        { "{\"Flag\": \"true\"}", "expected a Boolean" },
        { "{\"Flag\": 0}", "expected a Boolean" },
        { "{\"Flag\": true, \"Count\": 3.14}", "expected an Integer" },
        { "{\"Flag\": true, \"Count\": \"3\"}", "expected an Integer" },
        { "{\"Flag\": true, \"Name\": \"ab\"}", "does not match allowedPattern" },
        { "{\"Flag\": true, \"Name\": \"a123456\"}", "at most 5 characters" },
        { "{\"Flag\": true, \"Mode\": \"auto\"}", "not one of allowedValues" },
        { "{\"Flag\": true, \"Ids\": []}", "at least 1 items" },
        { "{\"Flag\": true, \"Ids\": [\"a\", \"b\", \"c\"]}", "at most 2 items" },
        { "{\"Flag\": true, \"Ids\": [1]}", "expected a StringList" },
        { "{\"Flag\": true, \"Rows\": [1]}", "expected a MapList" },
        { "{\"Flag\": true, \"Other\": 1}", "not declared" },
        { "{}", "'Flag' (Boolean) is required" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        given = json_loads(bad[i].json, 0, NULL);
        assert_non_null(given);
        assert_int_equal(runbook_params_resolve(doc, given, &res, &d), CORDON_EINVAL);
        assert_null(res);
        if (!strstr(d.message, bad[i].why))
            fail_msg("%s: expected '%s', got '%s'", bad[i].json, bad[i].why, d.message);
        json_decref(given);
    }
    given = json_loads("{\"Flag\": false, \"Name\": \"z42\", \"Ids\": [\"a\", \"b\"]}", 0, NULL);
    assert_int_equal(runbook_params_resolve(doc, given, &res, &d), 0);
    assert_true(json_is_false(json_object_get(res, "Flag")));
    assert_int_equal(json_integer_value(json_object_get(res, "Count")), 1);
    assert_string_equal(json_string_value(json_object_get(res, "Mode")), "on");
    json_decref(res);
    json_decref(given);

    /* The AWS wire form: lists of strings, converted by declared type. */
    given = json_loads("{\"Flag\": [\"true\"], \"Count\": [\"42\"], \"Ids\": [\"a\"]}", 0, NULL);
    assert_int_equal(runbook_params_resolve_strings(doc, given, &res, &d), 0);
    assert_true(json_is_true(json_object_get(res, "Flag")));
    assert_int_equal(json_integer_value(json_object_get(res, "Count")), 42);
    json_decref(res);
    json_decref(given);
    given = json_loads("{\"Flag\": [\"yes\"]}", 0, NULL);
    assert_int_equal(runbook_params_resolve_strings(doc, given, &res, &d), CORDON_EINVAL);
    json_decref(given);
    given = json_loads("{\"Flag\": [\"true\"], \"Count\": [\"3.5\"]}", 0, NULL);
    assert_int_equal(runbook_params_resolve_strings(doc, given, &res, &d), CORDON_EINVAL);
    json_decref(given);
    runbook_doc_free(doc);
}

static void test_limits(void **state)
{
    struct runbook_doc *doc = NULL;
    struct cordon_diag d;
    struct runbook_doc_options opt = { 64, 0, NULL };
    const char *small = "schemaVersion: '0.3'\nmainSteps:\n"
                        "  - { name: P, action: aws:pause, inputs: {} }\n";
    char *deep, *bomb;
    size_t i, off = 0;

    (void)state;
    assert_int_equal(runbook_doc_load(&doc, small, strlen(small), NULL, &opt, &d), CORDON_ETOOBIG);
    assert_non_null(strstr(d.message, "limit is 64 bytes"));

    deep = malloc(4096);
    off += (size_t)sprintf(deep, "schemaVersion: '0.3'\nmainSteps: []\nfiles: ");
    for (i = 0; i < 40; i++)
        deep[off++] = '[';
    for (i = 0; i < 40; i++)
        deep[off++] = ']';
    deep[off] = '\0';
    expect_error(deep, 0, 0, "TooDeep", "nesting deeper than the limit of 32 levels");
    free(deep);

    /* Billion laughs: each level doubles via aliases. */
    bomb = malloc(8192);
    off = (size_t)sprintf(bomb, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (i = 1; i < 12; i++)
        off +=
            (size_t)sprintf(bomb + off, "a%zu: &a%zu [*a%zu, *a%zu, *a%zu, *a%zu, *a%zu, *a%zu]\n",
                            i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1);
    expect_error(bomb, 0, 0, "TooBig", "100000 nodes");
    free(bomb);
}

static void test_misc_errors(void **state)
{
    (void)state;
    expect_error("schemaVersion: '0.3'\n", 1, 1, "MissingProperty", "mainSteps");
    expect_error("schemaVersion: '0.3'\n%\x93\xa0: x\n", 2, 2, "InvalidEncoding",
                 "expected UTF-8 text, found byte 0x93");
    expect_error("schemaVersion: '0.3'\nmainSteps:\n  - { name: A, action: aws:pause }\n", 3, 5,
                 "MissingProperty", "needs 'inputs'");
    expect_error("schemaVersion: '0.3'\ncolour: red\nmainSteps: []\n", 2, 1, "UnknownProperty",
                 "unknown top-level key 'colour'");
    expect_error("schemaVersion: '0.3'\nmainSteps:\n  - { name: A, action: aws:pause, inputs: {}, "
                 "onCancel: Continue }\n",
                 3, 57, "InvalidValue", "onCancel: expected Abort or step:NAME");
    expect_error("schemaVersion: '0.3'\nmainSteps:\n  - { name: A, action: 'aws:x', inputs: {} }\n",
                 3, 24, "InvalidAction", "expected aws: followed by 3-25 letters");
    expect_error("schemaVersion: '0.3'\nmainSteps:\n  - { name: A, action: aws:pause, inputs: {}, "
                 "timeoutSeconds: 0 }\n",
                 3, 63, "OutOfRange", "timeoutSeconds: expected an integer from 1 to");
    expect_error("schemaVersion: '0.3'\nmainSteps:\n  - name: A\n    action: aws:executeScript\n"
                 "    timeoutSeconds: 601\n    inputs: { Runtime: bash, Script: 'true' }\n",
                 5, 21, "OutOfRange", "from 1 to 600");
    expect_error("schemaVersion: '0.3'\nmainSteps:\n  - name: A\n    action: aws:executeScript\n"
                 "    inputs: { Runtime: ruby2.7, Script: 'x' }\n",
                 5, 24, "InvalidInput", "Runtime 'ruby2.7' is not supported");
    expect_error("schemaVersion: '0.3'\nmainSteps:\n  - name: A\n    action: aws:executeScript\n"
                 "    inputs: { Runtime: python3.8, Script: 'x' }\n",
                 5, 13, "MissingInput", "needs a Handler");
    expect_error("schemaVersion: '0.3'\nmainSteps:\n  - name: A\n    action: aws:approve\n"
                 "    inputs: { Approvers: [a], MinRequiredApprovals: 2 }\n",
                 5, 53, "InvalidInput", "MinRequiredApprovals");
    expect_error("schemaVersion: '0.3'\nmainSteps:\n  - name: A\n    action: aws:updateVariable\n"
                 "    inputs: { Name: 'variable:Nope', Value: 1 }\n",
                 5, 21, "UndeclaredVariable", "'Nope' is not declared");
    expect_error("schemaVersion: '0.3'\nmainSteps:\n  - name: A\n    action: aws:pause\n"
                 "    inputs: { Extra: 1 }\n",
                 5, 15, "InvalidInput", "unknown input 'Extra' (expected no inputs)");
    expect_error(
        "schemaVersion: '0.3'\nmainSteps:\n  - { name: A, action: aws:pause, inputs: {} }\n"
        "outputs: [A.Nothing]\n",
        4, 11, "UndeclaredOutput", "no step 'A' with a declared output 'Nothing'");
    expect_error("schemaVersion: '0.3'\nparameters:\n  P: { type: String, allowedPattern: "
                 "'(?i)abc' }\nmainSteps: []\n",
                 3, 38, "InvalidPattern", "POSIX extended regular expression");
    expect_error("schemaVersion: '0.3'\nmainSteps:\n  - name: A\n    action: aws:pause\n"
                 "    inputs: {}\n    description: 'see {{ B.Out }}'\n",
                 6, 23, "UndeclaredOutput", "unknown step 'B'");
    expect_error("schemaVersion: '0.3'\nmainSteps:\n  - name: A\n    action: cordon:notify\n"
                 "    inputs: { Message: 'oops {{ unclosed' }\n",
                 5, 30, "InvalidReference", "unclosed");
    expect_error("schemaVersion: '0.3'\nmainSteps:\n  - name: A\n    action: cordon:notify\n"
                 "    inputs: { Message: '{{ global:HOST }}' }\n",
                 5, 25, "InvalidReference", "unknown global variable 'HOST'");
}

static void test_patterns_translated(void **state)
{
    struct runbook_doc *doc =
        must_load("schemaVersion: '0.3'\n"
                  "parameters:\n"
                  "  Doc: { type: String, allowedPattern: '^[a-zA-Z0-9_\\-.:/]{3,128}$' }\n"
                  "  Id: { type: String, allowedPattern: '^i-\\w{3}\\s?\\d+$' }\n"
                  "mainSteps: [ { name: A, action: aws:pause, inputs: {} } ]\n");
    struct cordon_diag d;
    json_t *res = NULL, *g;

    (void)state;
    g = json_pack("{s:s, s:s}", "Doc", "my-doc_v1.2:x/y", "Id", "i-ab_ 42");
    assert_int_equal(runbook_params_resolve(doc, g, &res, &d), 0);
    json_decref(res);
    json_decref(g);
    g = json_pack("{s:s, s:s}", "Doc", "a b", "Id", "i-abc1");
    assert_int_equal(runbook_params_resolve(doc, g, &res, &d), CORDON_EINVAL);
    json_decref(g);
    runbook_doc_free(doc);
}

static void test_branch_compiled(void **state)
{
    struct runbook_doc *doc = must_load("schemaVersion: '0.3'\n"
                                        "parameters: { M: { type: String, default: x } }\n"
                                        "mainSteps:\n"
                                        "  - name: B\n"
                                        "    action: aws:branch\n"
                                        "    inputs:\n"
                                        "      Choices:\n"
                                        "        - NextStep: C\n"
                                        "          Or:\n"
                                        "            - { Variable: '{{M}}', StringEquals: a }\n"
                                        "            - Not: { Variable: '{{M}}', Contains: b }\n"
                                        "      Default: C\n"
                                        "  - { name: C, action: aws:pause, inputs: {} }\n");

    (void)state;
    assert_int_equal(doc->steps[0].nchoices, 1);
    assert_int_equal(doc->steps[0].choices[0].cond.op, RUNBOOK_OP_OR);
    assert_int_equal(doc->steps[0].choices[0].cond.nkids, 2);
    assert_int_equal(doc->steps[0].choices[0].cond.kids[1].op, RUNBOOK_OP_NOT);
    assert_int_equal(doc->steps[0].default_step, 1);
    runbook_doc_free(doc);
    expect_error("schemaVersion: '0.3'\nparameters: { M: { type: String, default: x } }\n"
                 "mainSteps:\n  - name: B\n    action: aws:branch\n    inputs:\n      Choices:\n"
                 "        - { NextStep: B, Variable: '{{M}}', NumericEquals: abc }\n",
                 8, 60, "InvalidChoice", "NumericEquals: expected a numeric operand");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_fixtures),
        cmocka_unit_test(test_sample_runbook_rejected),
        cmocka_unit_test(test_reference_runbook_loads),
        cmocka_unit_test(test_json_document),
        cmocka_unit_test(test_is_critical_defaults),
        cmocka_unit_test(test_cycles),
        cmocka_unit_test(test_parameter_typing),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_misc_errors),
        cmocka_unit_test(test_patterns_translated),
        cmocka_unit_test(test_branch_compiled),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
