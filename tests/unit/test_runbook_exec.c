/*
 * test_runbook_exec.c — the runbook interpreter, driven by a fake effect
 * runner: each test starts an execution, looks at the effects it asks for,
 * and feeds results, timers and signals back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runbook_doc.h"
#include "runbook_exec.h"

#define T0 1764300000000LL /* 2025-11-28T03:20:00Z */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
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

static struct runbook_doc *load(const char *yaml)
{
    struct runbook_doc *doc = NULL;
    struct cordon_diag d;
    int rc = runbook_doc_load(&doc, yaml, strlen(yaml), "test.yaml", NULL, &d);

    if (rc)
        fail_msg("load failed: %s", d.message);
    return doc;
}

static struct runbook_doc *load_example(void)
{
    size_t len;
    char *src = read_file(CORDON_FIXTURES "/../../examples/runbooks/device-incident.yaml", &len);
    struct runbook_doc *doc = NULL;
    struct cordon_diag d;

    if (runbook_doc_load(&doc, src, len, "device-incident.yaml", NULL, &d))
        fail_msg("example failed to load: %s", d.message);
    free(src);
    return doc;
}

static struct runbook_exec *new_exec(const struct runbook_doc *doc, const char *params_json)
{
    struct runbook_exec *x = NULL;
    struct cordon_diag d;
    struct runbook_exec_config cfg = { "acct-1", "site-a", NULL, false };
    json_t *p = params_json ? json_loads(params_json, 0, NULL) : NULL;
    int rc = runbook_exec_new(&x, doc, "exec-1", p, &cfg, &d);

    json_decref(p);
    if (rc)
        fail_msg("exec_new failed: %s", d.message);
    return x;
}

/* The first effect of a kind in the list (or NULL). */
static const struct runbook_effect *find(const struct runbook_effects *e,
                                         enum runbook_effect_kind k)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        if (e->v[i].kind == k)
            return &e->v[i];
    return NULL;
}

static size_t count(const struct runbook_effects *e, enum runbook_effect_kind k)
{
    size_t i, n = 0;

    for (i = 0; i < e->n; i++)
        n += e->v[i].kind == k;
    return n;
}

static int ok_result(struct runbook_exec *x, const char *id, const char *resp_json, int64_t now,
                     struct runbook_effects *out)
{
    json_t *resp = resp_json ? json_loads(resp_json, JSON_DECODE_ANY, NULL) : NULL;
    struct runbook_result r = { true, resp, NULL, false };
    int rc = runbook_exec_on_result(x, id, &r, now, out);

    json_decref(resp);
    return rc;
}

static int fail_result(struct runbook_exec *x, const char *id, const char *msg, int64_t now,
                       struct runbook_effects *out)
{
    struct runbook_result r = { false, NULL, msg, false };

    return runbook_exec_on_result(x, id, &r, now, out);
}

static int sig(struct runbook_exec *x, enum runbook_signal_kind k, const char *who, int64_t now,
               struct runbook_effects *out)
{
    struct runbook_signal s = { k, who, "ok", NULL, NULL };
    struct cordon_diag d;

    return runbook_exec_signal(x, &s, now, out, &d);
}

/* Serialize, free, restore (the "crash") and recover. */
static struct runbook_exec *crash_and_recover(struct runbook_exec *x, const struct runbook_doc *doc,
                                              int64_t now, struct runbook_effects *out)
{
    json_t *state = NULL;
    char *text;
    struct runbook_exec *y = NULL;
    struct cordon_diag d;

    assert_int_equal(runbook_exec_to_json(x, &state), 0);
    text = json_dumps(state, 0);
    json_decref(state);
    runbook_exec_free(x);
    state = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(state);
    if (runbook_exec_from_json(&y, doc, state, NULL, &d))
        fail_msg("restore failed: %s", d.message);
    json_decref(state);
    runbook_effects_clear(out);
    assert_int_equal(runbook_exec_recover(y, now, out), 0);
    return y;
}

/* ---- The reference runbook ---- */

static void test_device_incident_runs(void **state)
{
    struct runbook_doc *doc = load_example();
    struct runbook_exec *x = new_exec(doc, "{\"IncidentId\": \"inc-42\"}");
    struct runbook_effects out;
    const struct runbook_effect *e;
    const char *desc;
    char id[RUNBOOK_EFFECT_ID_MAX];

    (void)state;
    runbook_effects_init(&out);
    assert_int_equal(runbook_exec_start(x, T0, &out), 0);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_IN_PROGRESS);
    assert_int_equal(count(&out, RUNBOOK_EFFECT_INVOKE_FUNCTION), 1);
    e = find(&out, RUNBOOK_EFFECT_INVOKE_FUNCTION);
    assert_non_null(e);
    assert_string_equal(e->step, "Containment");
    assert_string_equal(e->id, "exec-1/1/Containment/1");
    assert_int_equal(e->timeout_ms, 60000);
    assert_string_equal(json_string_value(json_object_get(e->args, "functionName")),
                        "cordon-contain");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(e->args, "payload"), "incidentId")),
        "inc-42");
    e = find(&out, RUNBOOK_EFFECT_WAIT_UNTIL);
    assert_non_null(e);
    assert_int_equal(e->due_ms, T0 + 60000);
    snprintf(id, sizeof(id), "%s", find(&out, RUNBOOK_EFFECT_INVOKE_FUNCTION)->id);

    runbook_effects_clear(&out);
    assert_int_equal(ok_result(x, id, "{\"thingsDetected\": [\"dd-test-01\"]}", T0 + 500, &out), 0);
    assert_int_equal(runbook_exec_step_status(x, "Containment"), RUNBOOK_STATUS_SUCCESS);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_WAITING);
    assert_string_equal(runbook_exec_current_step(x), "Analysis");
    assert_int_equal(runbook_exec_step_status(x, "Analysis"), RUNBOOK_STATUS_WAITING);
    assert_int_equal(runbook_exec_step_status(x, "Recovery"), RUNBOOK_STATUS_PENDING);
    desc = runbook_exec_step_description(x, "Analysis");
    assert_non_null(desc);
    assert_non_null(strstr(desc, "in quarantine: dd-test-01\n"));
    assert_null(strstr(desc, "{{"));
    e = find(&out, RUNBOOK_EFFECT_WAIT_SIGNAL);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_array_get(json_object_get(e->args, "signals"), 0)),
                        "Resume");
    /* A late duplicate of the result changes nothing. */
    assert_int_equal(ok_result(x, id, "{}", T0 + 600, &out), CORDON_ENOTFOUND);

    runbook_effects_clear(&out);
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_RESUME, NULL, T0 + 60000, &out), 0);
    assert_string_equal(runbook_exec_current_step(x), "Recovery");
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_WAITING);
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_RESUME, NULL, T0 + 120000, &out), 0);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_SUCCESS);
    assert_null(runbook_exec_current_step(x));
    assert_int_equal(json_array_size(runbook_exec_records(x)), 3);
    assert_string_equal(
        json_string_value(json_array_get(
            json_object_get(json_array_get(runbook_exec_records(x), 0), "ValidNextSteps"), 0)),
        "Analysis");
    /* Signals after the end are refused. */
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_RESUME, NULL, T0 + 130000, &out), CORDON_ESTATE);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_containment_retry_then_abort(void **state)
{
    struct runbook_doc *doc = load_example();
    struct runbook_exec *x = new_exec(doc, "{\"IncidentId\": \"inc-1\"}");
    struct runbook_effects out;
    const json_t *rec;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    runbook_effects_clear(&out);
    assert_int_equal(fail_result(x, "exec-1/1/Containment/1", "broker unreachable", T0 + 10, &out),
                     0);
    /* maxAttempts 2: a second attempt with its own id. */
    assert_non_null(find(&out, RUNBOOK_EFFECT_INVOKE_FUNCTION));
    assert_string_equal(find(&out, RUNBOOK_EFFECT_INVOKE_FUNCTION)->id, "exec-1/1/Containment/2");
    assert_int_equal(find(&out, RUNBOOK_EFFECT_INVOKE_FUNCTION)->attempt, 2);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_IN_PROGRESS);
    runbook_effects_clear(&out);
    assert_int_equal(fail_result(x, "exec-1/1/Containment/2", "still unreachable", T0 + 20, &out),
                     0);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_FAILED);
    assert_int_equal(runbook_exec_step_status(x, "Containment"), RUNBOOK_STATUS_FAILED);
    assert_int_equal(runbook_exec_step_status(x, "Analysis"), RUNBOOK_STATUS_PENDING);
    assert_non_null(strstr(runbook_exec_failure(x), "still unreachable"));
    rec = json_array_get(runbook_exec_records(x), 0);
    assert_string_equal(json_string_value(json_object_get(rec, "FailureMessage")),
                        "still unreachable");
    assert_int_equal(json_integer_value(json_object_get(rec, "Attempts")), 2);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_timeout_per_attempt(void **state)
{
    struct runbook_doc *doc = load_example();
    struct runbook_exec *x = new_exec(doc, "{\"IncidentId\": \"inc-1\"}");
    struct runbook_effects out;
    int64_t due;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    assert_int_equal(runbook_exec_next_deadline(x, &due), 0);
    assert_int_equal(due, T0 + 60000);
    runbook_effects_clear(&out);
    /* Early timer: nothing. */
    assert_int_equal(runbook_exec_on_timer(x, T0 + 59999, &out), 0);
    assert_int_equal(out.n, 0);
    /* First attempt times out: it is cancelled and retried, not TimedOut yet. */
    assert_int_equal(runbook_exec_on_timer(x, T0 + 60000, &out), 0);
    assert_non_null(find(&out, RUNBOOK_EFFECT_CANCEL));
    assert_string_equal(
        json_string_value(json_object_get(find(&out, RUNBOOK_EFFECT_CANCEL)->args, "effectId")),
        "exec-1/1/Containment/1");
    assert_string_equal(find(&out, RUNBOOK_EFFECT_INVOKE_FUNCTION)->id, "exec-1/1/Containment/2");
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_IN_PROGRESS);
    /* The first attempt's late answer is stale. */
    assert_int_equal(ok_result(x, "exec-1/1/Containment/1", "{}", T0 + 60001, &out),
                     CORDON_ENOTFOUND);
    runbook_effects_clear(&out);
    assert_int_equal(runbook_exec_on_timer(x, T0 + 120000, &out), 0);
    assert_int_equal(runbook_exec_step_status(x, "Containment"), RUNBOOK_STATUS_TIMED_OUT);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_TIMED_OUT);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

/* ---- Control flow ---- */

static const char flow_doc[] = "schemaVersion: '0.3'\n"
                               "parameters:\n"
                               "  Mode: { type: String, default: normal }\n"
                               "mainSteps:\n"
                               "  - name: First\n"
                               "    action: cordon:notify\n"
                               "    onFailure: Continue\n"
                               "    inputs: { Message: first }\n"
                               "  - name: Second\n"
                               "    action: cordon:notify\n"
                               "    onFailure: step:Recover\n"
                               "    inputs: { Message: second }\n"
                               "  - name: Third\n"
                               "    action: cordon:notify\n"
                               "    isEnd: true\n"
                               "    inputs: { Message: third }\n"
                               "  - name: Recover\n"
                               "    action: cordon:notify\n"
                               "    inputs: { Message: recover }\n";

/* Answer the pending action effect of `out` with success or failure. */
static void answer(struct runbook_exec *x, struct runbook_effects *out, bool ok, int64_t now)
{
    const struct runbook_effect *e = find(out, RUNBOOK_EFFECT_NOTIFY);
    char id[RUNBOOK_EFFECT_ID_MAX];

    assert_non_null(e);
    snprintf(id, sizeof(id), "%s", e->id);
    runbook_effects_clear(out);
    if (ok)
        assert_int_equal(ok_result(x, id, "{}", now, out), 0);
    else
        assert_int_equal(fail_result(x, id, "smtp down", now, out), 0);
}

static void test_continue_noncritical_success(void **state)
{
    struct runbook_doc *doc = load(flow_doc);
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;

    (void)state;
    assert_false(doc->steps[0].is_critical); /* Continue → not critical */
    assert_true(doc->steps[1].is_critical);
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    answer(x, &out, false, T0 + 1); /* First fails, Continue */
    assert_string_equal(runbook_exec_current_step(x), "Second");
    answer(x, &out, true, T0 + 2);
    assert_string_equal(runbook_exec_current_step(x), "Third");
    answer(x, &out, true, T0 + 3); /* isEnd: Recover never runs */
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_SUCCESS);
    assert_int_equal(runbook_exec_step_status(x, "First"), RUNBOOK_STATUS_FAILED);
    assert_int_equal(runbook_exec_step_status(x, "Recover"), RUNBOOK_STATUS_PENDING);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_failure_step_recovery_still_failed(void **state)
{
    struct runbook_doc *doc = load(flow_doc);
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    answer(x, &out, true, T0 + 1);
    answer(x, &out, false, T0 + 2); /* Second fails → step:Recover */
    assert_string_equal(runbook_exec_current_step(x), "Recover");
    answer(x, &out, true, T0 + 3);
    /* §17.4.6: a failed critical step makes the run Failed even after recovery. */
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_FAILED);
    assert_int_equal(runbook_exec_step_status(x, "Third"), RUNBOOK_STATUS_PENDING);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_explicit_critical_and_isend_on_failure(void **state)
{
    struct runbook_doc *doc = load("schemaVersion: '0.3'\n"
                                   "mainSteps:\n"
                                   "  - name: A\n"
                                   "    action: cordon:notify\n"
                                   "    onFailure: Continue\n"
                                   "    isCritical: true\n"
                                   "    inputs: { Message: a }\n"
                                   "  - name: B\n"
                                   "    action: cordon:notify\n"
                                   "    isEnd: true\n"
                                   "    onFailure: Continue\n"
                                   "    inputs: { Message: b }\n"
                                   "  - name: C\n"
                                   "    action: cordon:notify\n"
                                   "    inputs: { Message: c }\n");
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    answer(x, &out, false, T0 + 1); /* continues, but critical */
    assert_string_equal(runbook_exec_current_step(x), "B");
    answer(x, &out, false, T0 + 2); /* isEnd on a failed step stops there */
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_FAILED);
    assert_int_equal(runbook_exec_step_status(x, "C"), RUNBOOK_STATUS_PENDING);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static const char branch_doc[] =
    "schemaVersion: '0.3'\n"
    "parameters:\n"
    "  Mode: { type: String }\n"
    "  Count: { type: Integer, default: 3 }\n"
    "  Force: { type: Boolean, default: false }\n"
    "  Things: { type: StringList, default: [a, b] }\n"
    "mainSteps:\n"
    "  - name: Choose\n"
    "    action: aws:branch\n"
    "    inputs:\n"
    "      Choices:\n"
    "        - NextStep: Contain\n"
    "          And:\n"
    "            - { Variable: '{{ Mode }}', StringEquals: contain }\n"
    "            - Not: { Variable: '{{ Force }}', BooleanEquals: true }\n"
    "        - NextStep: Release\n"
    "          Or:\n"
    "            - { Variable: '{{ Mode }}', EqualsIgnoreCase: RELEASE }\n"
    "            - { Variable: '{{ Mode }}', StartsWith: rel }\n"
    "        - { NextStep: Big, Variable: '{{ Count }}', NumericGreaterOrEquals: 10 }\n"
    "        - { NextStep: Big, Variable: '{{ Things }}', Contains: zz }\n"
    "        - { NextStep: Ends, Variable: '{{ Mode }}', EndsWith: -x }\n"
    "        - { NextStep: Ends, Variable: '{{ Mode }}', Contains: mid }\n"
    "        - { NextStep: Ends, Variable: '{{ Count }}', NumericEquals: 7 }\n"
    "        - { NextStep: Ends, Variable: '{{ Count }}', NumericLesser: 0 }\n"
    "        - { NextStep: Ends, Variable: '{{ Count }}', NumericGreater: 5 }\n"
    "        - { NextStep: Ends, Variable: '{{ Count }}', NumericLesserOrEquals: -5 }\n"
    "      Default: Fallback\n"
    "  - { name: Contain, action: aws:pause, inputs: {}, isEnd: true }\n"
    "  - { name: Release, action: aws:pause, inputs: {}, isEnd: true }\n"
    "  - { name: Big, action: aws:pause, inputs: {}, isEnd: true }\n"
    "  - { name: Ends, action: aws:pause, inputs: {}, isEnd: true }\n"
    "  - { name: Fallback, action: aws:pause, inputs: {}, isEnd: true }\n";

static void expect_branch(struct runbook_doc *doc, const char *params, const char *step)
{
    struct runbook_exec *x = new_exec(doc, params);
    struct runbook_effects out;

    runbook_effects_init(&out);
    assert_int_equal(runbook_exec_start(x, T0, &out), 0);
    if (!runbook_exec_current_step(x) || strcmp(runbook_exec_current_step(x), step) != 0)
        fail_msg("params %s: expected step %s, got %s", params, step,
                 runbook_exec_current_step(x) ? runbook_exec_current_step(x) : "(none)");
    runbook_effects_free(&out);
    runbook_exec_free(x);
}

static void test_branch_operators(void **state)
{
    struct runbook_doc *doc = load(branch_doc);

    (void)state;
    expect_branch(doc, "{\"Mode\": \"contain\"}", "Contain");
    expect_branch(doc, "{\"Mode\": \"contain\", \"Force\": true}", "Fallback");
    expect_branch(doc, "{\"Mode\": \"Release\"}", "Release");
    expect_branch(doc, "{\"Mode\": \"relax\"}", "Release");
    expect_branch(doc, "{\"Mode\": \"x\", \"Count\": 10}", "Big");
    expect_branch(doc, "{\"Mode\": \"x\", \"Things\": [\"q\", \"zz\"]}", "Big");
    expect_branch(doc, "{\"Mode\": \"a-x\"}", "Ends");
    expect_branch(doc, "{\"Mode\": \"amidb\"}", "Ends");
    expect_branch(doc, "{\"Mode\": \"q\", \"Count\": 7}", "Ends");
    expect_branch(doc, "{\"Mode\": \"q\", \"Count\": -1}", "Ends");
    expect_branch(doc, "{\"Mode\": \"q\", \"Count\": 6}", "Ends");
    expect_branch(doc, "{\"Mode\": \"q\"}", "Fallback");
    runbook_doc_free(doc);
}

static void test_branch_no_match(void **state)
{
    /* No match and no Default: isEnd stops; without isEnd the next step runs. */
    struct runbook_doc *doc =
        load("schemaVersion: '0.3'\n"
             "parameters: { Mode: { type: String } }\n"
             "mainSteps:\n"
             "  - name: Choose\n"
             "    action: aws:branch\n"
             "    isEnd: true\n"
             "    inputs:\n"
             "      Choices:\n"
             "        - { NextStep: Later, Variable: '{{Mode}}', StringEquals: go }\n"
             "  - { name: Next, action: aws:pause, inputs: {} }\n"
             "  - { name: Later, action: aws:pause, inputs: {} }\n");
    struct runbook_exec *x = new_exec(doc, "{\"Mode\": \"stop\"}");
    struct runbook_effects out;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_SUCCESS);
    runbook_exec_free(x);
    /* A true choice still jumps even with isEnd. */
    x = new_exec(doc, "{\"Mode\": \"go\"}");
    runbook_exec_start(x, T0, &out);
    assert_string_equal(runbook_exec_current_step(x), "Later");
    runbook_exec_free(x);
    runbook_doc_free(doc);

    doc = load("schemaVersion: '0.3'\n"
               "parameters: { N: { type: Integer } }\n"
               "mainSteps:\n"
               "  - name: Choose\n"
               "    action: aws:branch\n"
               "    inputs:\n"
               "      Choices:\n"
               "        - { NextStep: Later, Variable: '{{N}}', NumericEquals: 1 }\n"
               "  - { name: Next, action: aws:pause, inputs: {} }\n"
               "  - { name: Later, action: aws:pause, inputs: {} }\n");
    x = new_exec(doc, "{\"N\": 2}");
    runbook_exec_start(x, T0, &out);
    assert_string_equal(runbook_exec_current_step(x), "Next");
    runbook_exec_free(x);
    runbook_doc_free(doc);
    runbook_effects_free(&out);
}

static void test_branch_type_mismatch_fails(void **state)
{
    struct runbook_doc *doc =
        load("schemaVersion: '0.3'\n"
             "parameters: { N: { type: String } }\n"
             "mainSteps:\n"
             "  - name: Choose\n"
             "    action: aws:branch\n"
             "    inputs:\n"
             "      Choices:\n"
             "        - { NextStep: B, Variable: '{{N}}', NumericEquals: 1 }\n"
             "  - { name: B, action: aws:pause, inputs: {} }\n");
    struct runbook_exec *x = new_exec(doc, "{\"N\": \"1\"}");
    struct runbook_effects out;
    const json_t *rec;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_FAILED);
    rec = json_array_get(runbook_exec_records(x), 0);
    assert_non_null(strstr(json_string_value(json_object_get(rec, "FailureMessage")), "String"));
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_next_step_backward_loop_with_exit(void **state)
{
    /* A counts with a variable; the branch leaves the loop after 3 passes. */
    struct runbook_doc *doc = load(
        "schemaVersion: '0.3'\n"
        "variables:\n"
        "  Pass: { type: Integer, default: 0 }\n"
        "mainSteps:\n"
        "  - name: Check\n"
        "    action: aws:branch\n"
        "    inputs:\n"
        "      Choices:\n"
        "        - { NextStep: Done, Variable: '{{ variable:Pass }}', NumericGreaterOrEquals: 3 }\n"
        "      Default: Bump\n"
        "  - name: Bump\n"
        "    action: aws:updateVariable\n"
        "    inputs: { Name: 'variable:Pass', Value: 3 }\n"
        "    nextStep: Check\n"
        "  - { name: Done, action: aws:pause, inputs: {} }\n");
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    assert_string_equal(runbook_exec_current_step(x), "Done");
    assert_int_equal(json_integer_value(runbook_exec_variable(x, "Pass")), 3);
    assert_int_equal(json_array_size(runbook_exec_records(x)), 4); /* Check, Bump, Check, Done */
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

/* ---- Actions ---- */

static void test_sleep_duration_and_timestamp(void **state)
{
    struct runbook_doc *doc =
        load("schemaVersion: '0.3'\n"
             "mainSteps:\n"
             "  - { name: Nap, action: aws:sleep, inputs: { Duration: PT10M } }\n"
             "  - name: Past\n"
             "    action: aws:sleep\n"
             "    inputs: { Timestamp: '2020-01-01T00:00:00Z' }\n"
             "  - { name: End, action: aws:pause, inputs: {} }\n");
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;
    const struct runbook_effect *e;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    e = find(&out, RUNBOOK_EFFECT_WAIT_UNTIL);
    assert_non_null(e);
    assert_int_equal(e->due_ms, T0 + 600000);
    assert_string_equal(runbook_exec_current_step(x), "Nap");
    runbook_effects_clear(&out);
    runbook_exec_on_timer(x, T0 + 599999, &out);
    assert_string_equal(runbook_exec_current_step(x), "Nap");
    runbook_exec_on_timer(x, T0 + 600000, &out);
    /* The past timestamp continues at once. */
    assert_string_equal(runbook_exec_current_step(x), "End");
    assert_int_equal(runbook_exec_step_status(x, "Past"), RUNBOOK_STATUS_SUCCESS);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static const char approve_doc[] = "schemaVersion: '0.3'\n"
                                  "mainSteps:\n"
                                  "  - name: Approve\n"
                                  "    action: aws:approve\n"
                                  "    inputs:\n"
                                  "      Approvers: [alice, bob, carol]\n"
                                  "      MinRequiredApprovals: 2\n"
                                  "      Message: Release dd-test-01?\n"
                                  "  - name: Release\n"
                                  "    action: cordon:releaseThing\n"
                                  "    inputs:\n"
                                  "      ThingName: dd-test-01\n"
                                  "      Reason: 'approved: {{ Approve.ApprovalStatus }}'\n";

static void test_approve_min_approvals(void **state)
{
    struct runbook_doc *doc = load(approve_doc);
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;
    struct runbook_signal s = { RUNBOOK_SIGNAL_APPROVE, "mallory", NULL, NULL, NULL };
    struct cordon_diag d;
    const struct runbook_effect *e;
    const json_t *rec;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    e = find(&out, RUNBOOK_EFFECT_WAIT_SIGNAL);
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e->args, "minRequiredApprovals")), 2);
    assert_string_equal(json_string_value(json_object_get(e->args, "message")),
                        "Release dd-test-01?");
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_WAITING);
    assert_int_equal(runbook_exec_signal(x, &s, T0 + 1, &out, &d), CORDON_EINVAL);
    assert_string_equal(d.code, "NotAnApprover");
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_RESUME, NULL, T0 + 1, &out), CORDON_ESTATE);
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_APPROVE, "alice", T0 + 2, &out), 0);
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_APPROVE, "alice", T0 + 3, &out), CORDON_EINVAL);
    assert_string_equal(runbook_exec_current_step(x), "Approve");
    runbook_effects_clear(&out);
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_APPROVE, "bob", T0 + 4, &out), 0);
    e = find(&out, RUNBOOK_EFFECT_RELEASE);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e->args, "reason")),
                        "approved: Approved");
    assert_string_equal(json_string_value(json_array_get(json_object_get(e->args, "things"), 0)),
                        "dd-test-01");
    rec = json_array_get(runbook_exec_records(x), 0);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(rec, "Outputs"), "ApproverDecisions")), 2);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_approve_reject_and_timeout(void **state)
{
    struct runbook_doc *doc = load(approve_doc);
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;
    const json_t *rec;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_REJECT, "carol", T0 + 5, &out), 0);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_FAILED);
    rec = json_array_get(runbook_exec_records(x), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rec, "Outputs"), "ApprovalStatus")),
        "Rejected");
    assert_non_null(strstr(json_string_value(json_object_get(rec, "FailureMessage")), "carol"));
    runbook_exec_free(x);

    /* Default approval timeout: 7 days → TimedOut. */
    x = new_exec(doc, NULL);
    runbook_exec_start(x, T0, &out);
    runbook_exec_on_timer(x, T0 + 7LL * 86400 * 1000 - 1, &out);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_WAITING);
    runbook_exec_on_timer(x, T0 + 7LL * 86400 * 1000, &out);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_TIMED_OUT);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_aws_api_add_thing_to_group(void **state)
{
    size_t len;
    char *src = read_file(CORDON_FIXTURES "/runbooks/good/aws-add-thing-to-group.yaml", &len);
    struct runbook_doc *doc = NULL;
    struct cordon_diag d;
    struct runbook_exec *x;
    struct runbook_effects out;
    const struct runbook_effect *e;
    const json_t *params;

    (void)state;
    if (runbook_doc_load(&doc, src, len, "aws-add-thing-to-group.yaml", NULL, &d))
        fail_msg("%s", d.message);
    free(src);
    x = new_exec(doc, "{\"ThingName\": \"dd-test-01\"}");
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    e = find(&out, RUNBOOK_EFFECT_CALL_API);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e->args, "service")), "iot");
    assert_string_equal(json_string_value(json_object_get(e->args, "api")), "AddThingToThingGroup");
    params = json_object_get(e->args, "params");
    assert_string_equal(json_string_value(json_object_get(params, "thingGroupName")),
                        "QUARANTINED");
    assert_string_equal(json_string_value(json_object_get(params, "thingName")), "dd-test-01");
    assert_true(json_is_true(json_object_get(params, "overrideDynamicGroups")));
    assert_null(json_object_get(params, "Service"));
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_execute_script_outputs(void **state)
{
    struct runbook_doc *doc =
        load("schemaVersion: '0.3'\n"
             "parameters: { Thing: { type: String } }\n"
             "mainSteps:\n"
             "  - name: Probe\n"
             "    action: aws:executeScript\n"
             "    maxAttempts: 3\n"
             "    inputs:\n"
             "      Runtime: python3.11\n"
             "      Handler: handler\n"
             "      Script: |\n"
             "        def handler(events, context):\n"
             "            return {'ports': [4444], 'n': 1, 'ok': True}\n"
             "      InputPayload: { thing: '{{ Thing }}' }\n"
             "    outputs:\n"
             "      - { Name: n, Selector: $.Payload.n, Type: Integer }\n"
             "      - { Name: port, Selector: '$.Payload.ports[0]', Type: Integer }\n"
             "      - { Name: ok, Selector: \"$.Payload['ok']\", Type: Boolean }\n"
             "  - name: Tell\n"
             "    action: cordon:notify\n"
             "    inputs:\n"
             "      Message: 'n={{ Probe.n }} port={{ Probe.port }} ok={{ Probe.ok }} raw={{ "
             "Probe.OutputPayload }}'\n");
    struct runbook_exec *x = new_exec(doc, "{\"Thing\": \"dd-1\"}");
    struct runbook_effects out;
    const struct runbook_effect *e;
    char id[RUNBOOK_EFFECT_ID_MAX];

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    e = find(&out, RUNBOOK_EFFECT_RUN_SCRIPT);
    assert_non_null(e);
    assert_int_equal(e->timeout_ms, 600000); /* action cap */
    assert_string_equal(json_string_value(json_object_get(e->args, "runtime")), "python3.11");
    assert_string_equal(json_string_value(json_object_get(e->args, "handler")), "handler");
    assert_non_null(strstr(json_string_value(json_object_get(e->args, "script")), "def handler"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(e->args, "inputPayload"), "thing")),
        "dd-1");
    snprintf(id, sizeof(id), "%s", e->id);
    runbook_effects_clear(&out);
    assert_int_equal(ok_result(x, id, "{\"ports\": [4444], \"n\": 1, \"ok\": true}", T0 + 5, &out),
                     0);
    e = find(&out, RUNBOOK_EFFECT_NOTIFY);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e->args, "message")),
                        "n=1 port=4444 ok=true raw={\"ports\":[4444],\"n\":1,\"ok\":true}");
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_output_type_mismatch_fails_step(void **state)
{
    struct runbook_doc *doc = load_example();
    struct runbook_exec *x = new_exec(doc, "{\"IncidentId\": \"inc-1\"}");
    struct runbook_effects out;
    const json_t *rec;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    /* thingsDetected is declared StringList; a string is refused, not retried. */
    assert_int_equal(
        ok_result(x, "exec-1/1/Containment/1", "{\"thingsDetected\": \"dd\"}", T0 + 1, &out), 0);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_FAILED);
    rec = json_array_get(runbook_exec_records(x), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rec, "FailureDetails"), "FailureStage")),
        "PostVerification");
    assert_non_null(
        strstr(json_string_value(json_object_get(rec, "FailureMessage")), "StringList"));
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_templating_values(void **state)
{
    struct runbook_doc *doc =
        load("schemaVersion: '0.3'\n"
             "parameters:\n"
             "  Things: { type: StringList, default: [t1, t2] }\n"
             "  Qos: { type: Integer, default: 1 }\n"
             "variables:\n"
             "  Note: { type: String, default: initial }\n"
             "mainSteps:\n"
             "  - name: Set\n"
             "    action: aws:updateVariable\n"
             "    inputs: { Name: 'variable:Note', Value: 'changed on {{ global:DATE }}' }\n"
             "  - name: Q\n"
             "    action: cordon:quarantineThing\n"
             "    inputs:\n"
             "      ThingNames: ['t0', '{{ Things }}']\n"
             "      Reason: 'things {{ Things }} by {{ automation:EXECUTION_ID }}'\n"
             "  - name: Pub\n"
             "    action: cordon:publishMqtt\n"
             "    inputs:\n"
             "      Topic: 'cordon/{{ global:REGION }}/{{ global:ACCOUNT_ID }}/{{ "
             "global:AWS_PARTITION }}'\n"
             "      Payload: { note: '{{ variable:Note }}', at: '{{ global:DATE_TIME }}' }\n"
             "      Qos: '{{ Qos }}'\n");
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;
    const struct runbook_effect *e;
    const json_t *things;
    char id[RUNBOOK_EFFECT_ID_MAX];

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    assert_string_equal(json_string_value(runbook_exec_variable(x, "Note")),
                        "changed on 2025-11-28");
    e = find(&out, RUNBOOK_EFFECT_QUARANTINE);
    assert_non_null(e);
    things = json_object_get(e->args, "things");
    assert_int_equal(json_array_size(things), 3); /* a lone StringList reference expands */
    assert_string_equal(json_string_value(json_array_get(things, 2)), "t2");
    assert_string_equal(json_string_value(json_object_get(e->args, "reason")),
                        "things t1, t2 by exec-1");
    snprintf(id, sizeof(id), "%s", e->id);
    runbook_effects_clear(&out);
    ok_result(x, id, "{}", T0 + 1000, &out);
    e = find(&out, RUNBOOK_EFFECT_PUBLISH_MQTT);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e->args, "topic")),
                        "cordon/site-a/acct-1/cordon");
    assert_int_equal(json_integer_value(json_object_get(e->args, "qos")), 1); /* typed */
    assert_string_equal(json_string_value(json_object_get(e->args, "payload")),
                        "{\"note\":\"changed on 2025-11-28\",\"at\":\"2025-11-28_03.20.01\"}");
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_runtime_input_type_checked(void **state)
{
    /* A whole-value reference keeps its type; a String where Integer is needed fails the step. */
    struct runbook_doc *doc = load("schemaVersion: '0.3'\n"
                                   "parameters: { Q: { type: String, default: one } }\n"
                                   "mainSteps:\n"
                                   "  - name: Pub\n"
                                   "    action: cordon:publishMqtt\n"
                                   "    inputs: { Topic: a/b, Payload: x, Qos: '{{ Q }}' }\n");
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;
    const json_t *rec;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_FAILED);
    rec = json_array_get(runbook_exec_records(x), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rec, "FailureDetails"), "FailureStage")),
        "InputValidation");
    assert_null(find(&out, RUNBOOK_EFFECT_PUBLISH_MQTT));
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_http_request_status(void **state)
{
    struct runbook_doc *doc = load("schemaVersion: '0.3'\n"
                                   "mainSteps:\n"
                                   "  - name: Hook\n"
                                   "    action: cordon:httpRequest\n"
                                   "    inputs:\n"
                                   "      Url: http://127.0.0.1:9/hook\n"
                                   "      Method: POST\n"
                                   "      Headers: { Content-Type: application/json }\n"
                                   "      Body: { text: hello }\n");
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;
    const struct runbook_effect *e;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    e = find(&out, RUNBOOK_EFFECT_HTTP_REQUEST);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e->args, "method")), "POST");
    assert_string_equal(json_string_value(json_object_get(e->args, "body")),
                        "{\"text\":\"hello\"}");
    ok_result(x, "exec-1/1/Hook/1", "{\"StatusCode\": 503}", T0 + 1, &out);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_FAILED);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

/* ---- Cancel ---- */

static const char cancel_doc[] = "schemaVersion: '0.3'\n"
                                 "mainSteps:\n"
                                 "  - name: Contain\n"
                                 "    action: cordon:quarantineThing\n"
                                 "    onCancel: step:Undo\n"
                                 "    inputs: { ThingName: dd-test-01 }\n"
                                 "  - { name: Wait, action: aws:pause, inputs: {} }\n"
                                 "  - name: Undo\n"
                                 "    action: cordon:releaseThing\n"
                                 "    inputs: { ThingName: dd-test-01, Reason: cancelled }\n";

static void test_cancel_runs_on_cancel_step(void **state)
{
    struct runbook_doc *doc = load(cancel_doc);
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;
    const struct runbook_effect *e;
    char id[RUNBOOK_EFFECT_ID_MAX];

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    runbook_effects_clear(&out);
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_CANCEL, NULL, T0 + 10, &out), 0);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_CANCELLING);
    e = find(&out, RUNBOOK_EFFECT_CANCEL);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e->args, "effectId")),
                        "exec-1/1/Contain/1");
    assert_int_equal(runbook_exec_step_status(x, "Contain"), RUNBOOK_STATUS_CANCELLED);
    e = find(&out, RUNBOOK_EFFECT_RELEASE);
    assert_non_null(e);
    snprintf(id, sizeof(id), "%s", e->id);
    /* Cancelling twice is harmless. */
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_CANCEL, NULL, T0 + 11, &out), 0);
    runbook_effects_clear(&out);
    assert_int_equal(ok_result(x, id, "{}", T0 + 20, &out), 0);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_CANCELLED);
    assert_int_equal(runbook_exec_step_status(x, "Undo"), RUNBOOK_STATUS_SUCCESS);
    assert_int_equal(runbook_exec_step_status(x, "Wait"), RUNBOOK_STATUS_PENDING);
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_CANCEL, NULL, T0 + 30, &out), CORDON_ESTATE);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_cancel_path_time_limit_and_plain_cancel(void **state)
{
    struct runbook_doc *doc = load(cancel_doc);
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;
    char id[RUNBOOK_EFFECT_ID_MAX];

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    sig(x, RUNBOOK_SIGNAL_CANCEL, NULL, T0, &out);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_CANCELLING);
    runbook_exec_on_timer(x, T0 + 120000, &out);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_CANCELLED);
    runbook_exec_free(x);

    /* Cancel during a pause that has no onCancel: Cancelled at once. */
    x = new_exec(doc, NULL);
    runbook_effects_clear(&out);
    runbook_exec_start(x, T0, &out);
    snprintf(id, sizeof(id), "%s", find(&out, RUNBOOK_EFFECT_QUARANTINE)->id);
    ok_result(x, id, "{}", T0 + 1, &out);
    assert_string_equal(runbook_exec_current_step(x), "Wait");
    sig(x, RUNBOOK_SIGNAL_CANCEL, NULL, T0 + 2, &out);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_CANCELLED);
    assert_int_equal(runbook_exec_step_status(x, "Wait"), RUNBOOK_STATUS_CANCELLED);
    assert_int_equal(runbook_exec_step_status(x, "Undo"), RUNBOOK_STATUS_PENDING);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_stop_step(void **state)
{
    struct runbook_doc *doc = load(flow_doc);
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;
    struct runbook_signal s = { RUNBOOK_SIGNAL_STOP_STEP, NULL, NULL, NULL, "exec-1/1/First" };
    struct cordon_diag d;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    runbook_effects_clear(&out);
    assert_int_equal(runbook_exec_signal(x, &s, T0 + 1, &out, &d), 0);
    assert_non_null(find(&out, RUNBOOK_EFFECT_CANCEL));
    /* First has onFailure: Continue. */
    assert_string_equal(runbook_exec_current_step(x), "Second");
    s.step_execution_id = "exec-1/1/First";
    assert_int_equal(runbook_exec_signal(x, &s, T0 + 2, &out, &d), CORDON_EINVAL);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_interactive_mode(void **state)
{
    struct runbook_doc *doc = load(flow_doc);
    struct runbook_exec *x = NULL;
    struct runbook_exec_config cfg = { NULL, NULL, NULL, true };
    struct runbook_effects out;
    struct runbook_signal s = { RUNBOOK_SIGNAL_START_STEP, NULL, NULL, "Third", NULL };
    struct cordon_diag d;

    (void)state;
    assert_int_equal(runbook_exec_new(&x, doc, "int-1", NULL, &cfg, &d), 0);
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_WAITING);
    assert_null(runbook_exec_current_step(x));
    assert_int_equal(runbook_exec_signal(x, &s, T0 + 1, &out, &d), 0);
    assert_string_equal(runbook_exec_current_step(x), "Third");
    answer(x, &out, true, T0 + 2);
    /* isEnd: Resume now finishes. */
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_WAITING);
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_RESUME, NULL, T0 + 3, &out), 0);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_SUCCESS);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

/* ---- Recovery after a crash ---- */

static void test_recover_running_script(void **state)
{
    struct runbook_doc *doc = load("schemaVersion: '0.3'\n"
                                   "mainSteps:\n"
                                   "  - name: Collect\n"
                                   "    action: aws:executeScript\n"
                                   "    maxAttempts: 2\n"
                                   "    timeoutSeconds: 30\n"
                                   "    inputs: { Runtime: bash, Script: 'echo {}' }\n"
                                   "  - { name: Wait, action: aws:pause, inputs: {} }\n");
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;
    const struct runbook_effect *e;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    /* kill -9 while attempt 1 runs: attempt 2 starts. */
    x = crash_and_recover(x, doc, T0 + 5000, &out);
    e = find(&out, RUNBOOK_EFFECT_RUN_SCRIPT);
    assert_non_null(e);
    assert_string_equal(e->id, "exec-1/1/Collect/2");
    assert_non_null(find(&out, RUNBOOK_EFFECT_CANCEL));
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_IN_PROGRESS);
    /* Crash again during the last attempt: the step fails, Abort. */
    x = crash_and_recover(x, doc, T0 + 9000, &out);
    assert_null(find(&out, RUNBOOK_EFFECT_RUN_SCRIPT));
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_FAILED);
    assert_non_null(strstr(runbook_exec_failure(x), "interrupted by a restart"));
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_recover_sleep_and_pause(void **state)
{
    struct runbook_doc *doc =
        load("schemaVersion: '0.3'\n"
             "mainSteps:\n"
             "  - { name: Nap, action: aws:sleep, inputs: { Duration: PT1H } }\n"
             "  - { name: Hold, action: aws:pause, inputs: {}, description: 'hold {{ "
             "automation:EXECUTION_ID }}' }\n");
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;
    const struct runbook_effect *e;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    x = crash_and_recover(x, doc, T0 + 1000, &out);
    /* The sleep continues where it was: same id, same due time. */
    e = find(&out, RUNBOOK_EFFECT_WAIT_UNTIL);
    assert_non_null(e);
    assert_int_equal(e->due_ms, T0 + 3600000);
    assert_string_equal(e->id, "exec-1/1/Nap/wake");
    assert_string_equal(runbook_exec_current_step(x), "Nap");
    /* Down past the wake time: recovery fires it. */
    x = crash_and_recover(x, doc, T0 + 4000000, &out);
    assert_string_equal(runbook_exec_current_step(x), "Hold");
    x = crash_and_recover(x, doc, T0 + 4000001, &out);
    e = find(&out, RUNBOOK_EFFECT_WAIT_SIGNAL);
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e->args, "description")), "hold exec-1");
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_RESUME, NULL, T0 + 4000002, &out), 0);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_SUCCESS);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_restore_checks_document(void **state)
{
    struct runbook_doc *doc = load_example();
    struct runbook_doc *other = load(flow_doc);
    struct runbook_exec *x = new_exec(doc, "{\"IncidentId\": \"i\"}"), *y = NULL;
    json_t *st = NULL;
    struct cordon_diag d;

    (void)state;
    assert_int_equal(runbook_exec_to_json(x, &st), 0);
    assert_int_equal(runbook_exec_from_json(&y, other, st, NULL, &d), CORDON_EINVAL);
    assert_null(y);
    assert_int_equal(runbook_exec_from_json(&y, doc, st, NULL, &d), 0);
    assert_int_equal(runbook_exec_status(y), RUNBOOK_STATUS_PENDING);
    json_decref(st);
    runbook_exec_free(x);
    runbook_exec_free(y);
    runbook_doc_free(doc);
    runbook_doc_free(other);
}

static void test_parameters_checked_at_start(void **state)
{
    struct runbook_doc *doc = load_example();
    struct runbook_exec *x = NULL;
    struct cordon_diag d;
    json_t *p = json_pack("{s:i}", "IncidentId", 3);

    (void)state;
    assert_int_equal(runbook_exec_new(&x, doc, "e1", NULL, NULL, &d), CORDON_EINVAL);
    assert_string_equal(d.code, "MissingParameter");
    assert_int_equal(runbook_exec_new(&x, doc, "e1", p, NULL, &d), CORDON_EINVAL);
    assert_non_null(strstr(d.message, "IncidentId"));
    assert_int_equal(runbook_exec_new(&x, doc, "bad/id", NULL, NULL, &d), CORDON_EINVAL);
    json_decref(p);
    runbook_doc_free(doc);
}

static void test_recover_approval_keeps_decisions(void **state)
{
    struct runbook_doc *doc = load(approve_doc);
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;
    const struct runbook_effect *e;

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_APPROVE, "alice", T0 + 1, &out), 0);
    x = crash_and_recover(x, doc, T0 + 2, &out);
    e = find(&out, RUNBOOK_EFFECT_WAIT_SIGNAL);
    assert_non_null(e);
    assert_string_equal(e->id, "exec-1/1/Approve/signal");
    assert_non_null(find(&out, RUNBOOK_EFFECT_WAIT_UNTIL)); /* the approval timeout is back */
    /* alice's decision survived the restart. */
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_APPROVE, "alice", T0 + 3, &out), CORDON_EINVAL);
    runbook_effects_clear(&out);
    assert_int_equal(sig(x, RUNBOOK_SIGNAL_APPROVE, "carol", T0 + 4, &out), 0);
    assert_non_null(find(&out, RUNBOOK_EFFECT_RELEASE));
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_pause_timeout_and_response_cap(void **state)
{
    struct runbook_doc *doc =
        load("schemaVersion: '0.3'\n"
             "mainSteps:\n"
             "  - { name: Hold, action: aws:pause, inputs: {}, timeoutSeconds: 30,"
             " onFailure: Continue }\n"
             "  - name: Run\n"
             "    action: aws:executeScript\n"
             "    inputs: { Runtime: bash, Script: 'cat' }\n");
    struct runbook_exec *x = new_exec(doc, NULL);
    struct runbook_effects out;
    char *big = malloc(110 * 1024), id[RUNBOOK_EFFECT_ID_MAX];
    json_t *resp;
    struct runbook_result r = { true, NULL, NULL, false };

    (void)state;
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    runbook_exec_on_timer(x, T0 + 30000, &out);
    assert_int_equal(runbook_exec_step_status(x, "Hold"), RUNBOOK_STATUS_TIMED_OUT);
    assert_string_equal(runbook_exec_current_step(x), "Run");
    snprintf(id, sizeof(id), "%s", find(&out, RUNBOOK_EFFECT_RUN_SCRIPT)->id);
    memset(big, 'a', 110 * 1024 - 1);
    big[110 * 1024 - 1] = '\0';
    resp = json_pack("{s:s}", "blob", big);
    r.response = resp;
    assert_int_equal(runbook_exec_on_result(x, id, &r, T0 + 31000, &out), 0);
    assert_int_equal(runbook_exec_step_status(x, "Run"), RUNBOOK_STATUS_FAILED);
    /* Hold was not critical (Continue); Run was. */
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_FAILED);
    assert_non_null(strstr(runbook_exec_failure(x), "larger than 100 KiB"));
    json_decref(resp);
    free(big);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

static void test_execution_outputs_and_effect_json(void **state)
{
    size_t len;
    char *src = read_file(CORDON_FIXTURES "/runbooks/good/aws-add-thing-to-group.yaml", &len);
    struct runbook_doc *doc = NULL;
    struct cordon_diag d;
    struct runbook_exec *x;
    struct runbook_effects out;
    json_t *ej;
    char id[RUNBOOK_EFFECT_ID_MAX];

    (void)state;
    assert_int_equal(runbook_doc_load(&doc, src, len, "aws.yaml", NULL, &d), 0);
    free(src);
    x = new_exec(doc, "{\"ThingName\": \"dd-test-01\"}");
    runbook_effects_init(&out);
    runbook_exec_start(x, T0, &out);
    ej = runbook_effect_to_json(find(&out, RUNBOOK_EFFECT_CALL_API));
    assert_string_equal(json_string_value(json_object_get(ej, "kind")), "CALL_API");
    assert_string_equal(json_string_value(json_object_get(ej, "id")),
                        "exec-1/1/AddToQuarantineGroup/1");
    json_decref(ej);
    snprintf(id, sizeof(id), "%s", find(&out, RUNBOOK_EFFECT_CALL_API)->id);
    runbook_effects_clear(&out);
    ok_result(x, id, "{}", T0 + 1, &out);
    snprintf(id, sizeof(id), "%s", find(&out, RUNBOOK_EFFECT_CALL_API)->id);
    ok_result(x, id, "{\"activeViolations\": [{\"thingName\": \"dd-test-01\"}]}", T0 + 2, &out);
    assert_int_equal(runbook_exec_status(x), RUNBOOK_STATUS_SUCCESS);
    assert_int_equal(
        json_array_size(json_object_get(runbook_exec_outputs(x), "ListViolations.violations")), 1);
    runbook_effects_free(&out);
    runbook_exec_free(x);
    runbook_doc_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_incident_runs),
        cmocka_unit_test(test_containment_retry_then_abort),
        cmocka_unit_test(test_timeout_per_attempt),
        cmocka_unit_test(test_continue_noncritical_success),
        cmocka_unit_test(test_failure_step_recovery_still_failed),
        cmocka_unit_test(test_explicit_critical_and_isend_on_failure),
        cmocka_unit_test(test_branch_operators),
        cmocka_unit_test(test_branch_no_match),
        cmocka_unit_test(test_branch_type_mismatch_fails),
        cmocka_unit_test(test_next_step_backward_loop_with_exit),
        cmocka_unit_test(test_sleep_duration_and_timestamp),
        cmocka_unit_test(test_approve_min_approvals),
        cmocka_unit_test(test_approve_reject_and_timeout),
        cmocka_unit_test(test_aws_api_add_thing_to_group),
        cmocka_unit_test(test_execute_script_outputs),
        cmocka_unit_test(test_output_type_mismatch_fails_step),
        cmocka_unit_test(test_templating_values),
        cmocka_unit_test(test_runtime_input_type_checked),
        cmocka_unit_test(test_http_request_status),
        cmocka_unit_test(test_cancel_runs_on_cancel_step),
        cmocka_unit_test(test_cancel_path_time_limit_and_plain_cancel),
        cmocka_unit_test(test_stop_step),
        cmocka_unit_test(test_interactive_mode),
        cmocka_unit_test(test_recover_running_script),
        cmocka_unit_test(test_recover_sleep_and_pause),
        cmocka_unit_test(test_restore_checks_document),
        cmocka_unit_test(test_parameters_checked_at_start),
        cmocka_unit_test(test_recover_approval_keeps_decisions),
        cmocka_unit_test(test_pause_timeout_and_response_cap),
        cmocka_unit_test(test_execution_outputs_and_effect_json),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
