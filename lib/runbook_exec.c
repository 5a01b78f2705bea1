#include "runbook_exec.h"

#include "runbook_branch.h"
#include "runbook_template.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATE_VERSION 1
#define LOCAL_ID      (RUNBOOK_EFFECT_ID_MAX + 64)

/* Why the current step is "busy": what the machine waits for. */
enum wait_kind {
    WAIT_NONE,
    WAIT_ACTION, /* an action effect (effect_id) */
    WAIT_SLEEP,  /* wake_ms */
    WAIT_PAUSE,  /* Resume */
    WAIT_APPROVE,
    WAIT_INTERACTIVE, /* between steps in interactive mode */
};

struct runbook_exec {
    const struct runbook_doc *doc;
    char id[RUNBOOK_EXEC_ID_MAX + 1];
    char *account_id, *region, *partition;
    bool interactive;

    enum runbook_status status;
    int64_t start_ms, end_ms;
    json_t *params;
    json_t *outputs; /* "Step.Output" -> value */
    json_t *vars;    /* name -> value */
    json_t *records; /* step execution records */
    json_t *exec_outputs;
    char failure[512];

    int cur;     /* current step index, -1 none */
    int rec;     /* index of its record, -1 none */
    int attempt; /* 1-based */
    int seq;     /* step executions so far */
    enum wait_kind wait;
    char effect_id[RUNBOOK_EFFECT_ID_MAX];
    enum runbook_effect_kind effect_kind;
    json_t *effect_args;  /* args of the in-flight action (for retries) */
    int64_t deadline_ms;  /* attempt / approval / pause timeout, 0 none */
    int64_t wake_ms;      /* sleep end, 0 none */
    json_t *approvals;    /* decisions of the current aws:approve */
    int interactive_next; /* step to run on Resume in interactive mode, -1 = finish */

    bool critical_failed;
    enum runbook_status abort_status; /* PENDING = not aborted */
    bool cancel_path;                 /* running an onCancel step */
    int64_t cancel_deadline_ms;
};

/* ---------------------------------------------------------------------- */
/* Names                                                                   */
/* ---------------------------------------------------------------------- */

static const char *const status_names[] = {
    [RUNBOOK_STATUS_PENDING] = "Pending",     [RUNBOOK_STATUS_IN_PROGRESS] = "InProgress",
    [RUNBOOK_STATUS_WAITING] = "Waiting",     [RUNBOOK_STATUS_SUCCESS] = "Success",
    [RUNBOOK_STATUS_TIMED_OUT] = "TimedOut",  [RUNBOOK_STATUS_CANCELLING] = "Cancelling",
    [RUNBOOK_STATUS_CANCELLED] = "Cancelled", [RUNBOOK_STATUS_FAILED] = "Failed",
};

const char *runbook_status_name(enum runbook_status s)
{
    return (s >= RUNBOOK_STATUS_PENDING && s <= RUNBOOK_STATUS_FAILED) ? status_names[s] : "?";
}

static int status_parse(const char *s, enum runbook_status *out)
{
    int i;

    for (i = RUNBOOK_STATUS_PENDING; s && i <= RUNBOOK_STATUS_FAILED; i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (enum runbook_status)i;
            return 0;
        }
    }
    return CORDON_EINVAL;
}

bool runbook_status_terminal(enum runbook_status s)
{
    return s == RUNBOOK_STATUS_SUCCESS || s == RUNBOOK_STATUS_TIMED_OUT ||
           s == RUNBOOK_STATUS_CANCELLED || s == RUNBOOK_STATUS_FAILED;
}

static const char *const effect_names[] = {
    [RUNBOOK_EFFECT_RUN_SCRIPT] = "RUN_SCRIPT",
    [RUNBOOK_EFFECT_INVOKE_FUNCTION] = "INVOKE_FUNCTION",
    [RUNBOOK_EFFECT_CALL_API] = "CALL_API",
    [RUNBOOK_EFFECT_HTTP_REQUEST] = "HTTP_REQUEST",
    [RUNBOOK_EFFECT_PUBLISH_MQTT] = "PUBLISH_MQTT",
    [RUNBOOK_EFFECT_QUARANTINE] = "QUARANTINE",
    [RUNBOOK_EFFECT_RELEASE] = "RELEASE",
    [RUNBOOK_EFFECT_NOTIFY] = "NOTIFY",
    [RUNBOOK_EFFECT_WAIT_UNTIL] = "WAIT_UNTIL",
    [RUNBOOK_EFFECT_WAIT_SIGNAL] = "WAIT_SIGNAL",
    [RUNBOOK_EFFECT_CANCEL] = "CANCEL",
    [RUNBOOK_EFFECT_STATUS] = "STATUS",
};

const char *runbook_effect_kind_name(enum runbook_effect_kind k)
{
    return (k >= RUNBOOK_EFFECT_RUN_SCRIPT && k <= RUNBOOK_EFFECT_STATUS) ? effect_names[k] : "?";
}

static int effect_kind_parse(const char *s, enum runbook_effect_kind *out)
{
    int i;

    for (i = RUNBOOK_EFFECT_RUN_SCRIPT; s && i <= RUNBOOK_EFFECT_STATUS; i++) {
        if (strcmp(s, effect_names[i]) == 0) {
            *out = (enum runbook_effect_kind)i;
            return 0;
        }
    }
    return CORDON_EINVAL;
}

/* ---------------------------------------------------------------------- */
/* Effects list                                                            */
/* ---------------------------------------------------------------------- */

void runbook_effects_init(struct runbook_effects *e)
{
    memset(e, 0, sizeof(*e));
}

void runbook_effects_clear(struct runbook_effects *e)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        json_decref(e->v[i].args);
    e->n = 0;
}

void runbook_effects_free(struct runbook_effects *e)
{
    runbook_effects_clear(e);
    free(e->v);
    memset(e, 0, sizeof(*e));
}

json_t *runbook_effect_to_json(const struct runbook_effect *e)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:O}", "kind",
                     runbook_effect_kind_name(e->kind), "id", e->id, "step", e->step, "attempt",
                     e->attempt, "timeoutMs", (json_int_t)e->timeout_ms, "dueMs",
                     (json_int_t)e->due_ms, "args", e->args ? e->args : json_null());
}

/* Append an effect; takes `args` (may be NULL → {}). */
static int emit(struct runbook_effects *out, enum runbook_effect_kind kind, const char *id,
                const char *step, int attempt, int64_t timeout_ms, int64_t due_ms, json_t *args)
{
    struct runbook_effect *e;

    if (!args)
        args = json_object();
    if (!args)
        return CORDON_ENOMEM;
    if (!out) {
        json_decref(args);
        return 0;
    }
    if (out->n == out->alloc) {
        size_t na = out->alloc ? out->alloc * 2 : 8;
        struct runbook_effect *v = realloc(out->v, na * sizeof(*v));
        if (!v) {
            json_decref(args);
            return CORDON_ENOMEM;
        }
        out->v = v;
        out->alloc = na;
    }
    e = &out->v[out->n++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    snprintf(e->id, sizeof(e->id), "%s", id);
    snprintf(e->step, sizeof(e->step), "%s", step ? step : "");
    e->attempt = attempt;
    e->timeout_ms = timeout_ms;
    e->due_ms = due_ms;
    e->args = args;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */
/* ---------------------------------------------------------------------- */

static const struct runbook_step *cur_step(const struct runbook_exec *x)
{
    return x->cur >= 0 ? &x->doc->steps[x->cur] : NULL;
}

static json_t *cur_rec(const struct runbook_exec *x)
{
    return x->rec >= 0 ? json_array_get(x->records, (size_t)x->rec) : NULL;
}

/* "{exec}/{seq}/{step}" of the current step execution. */
static const char *rec_id(const struct runbook_exec *x)
{
    json_t *r = cur_rec(x);

    return r ? json_string_value(json_object_get(r, "StepExecutionId")) : "";
}

static void rec_set(struct runbook_exec *x, const char *key, json_t *v)
{
    json_t *r = cur_rec(x);

    if (r && v)
        json_object_set_new(r, key, v);
    else
        json_decref(v);
}

static int emit_status(struct runbook_exec *x, struct runbook_effects *out, bool step_scope,
                       enum runbook_status st, const char *message)
{
    char id[LOCAL_ID];
    const struct runbook_step *s = step_scope ? cur_step(x) : NULL;

    if (step_scope)
        snprintf(id, sizeof(id), "%s/status/%s", rec_id(x), runbook_status_name(st));
    else
        snprintf(id, sizeof(id), "%s/status/%s", x->id, runbook_status_name(st));
    return emit(out, RUNBOOK_EFFECT_STATUS, id, s ? s->name : "", 0, 0, 0,
                json_pack("{s:s, s:s, s:s, s:s}", "scope", step_scope ? "step" : "execution",
                          "status", runbook_status_name(st), "step", s ? s->name : "", "message",
                          message ? message : ""));
}

/* Lookup context for templates. */
struct lookup_ctx {
    struct runbook_exec *x;
    int64_t now_ms;
    bool lenient; /* descriptions: a missing value renders as a marker */
};

static int lookup(void *vctx, const struct runbook_ref *ref, json_t **value, char *err,
                  size_t errlen)
{
    struct lookup_ctx *c = vctx;
    struct runbook_exec *x = c->x;
    json_t *v = NULL;
    char key[2 * RUNBOOK_NAME_MAX + 2];

    switch (ref->kind) {
    case RUNBOOK_REF_PARAM:
        v = json_object_get(x->params, ref->a);
        if (!v) {
            snprintf(err, errlen, "parameter '%s' has no value", ref->a);
            break;
        }
        *value = json_incref(v);
        return 0;
    case RUNBOOK_REF_OUTPUT:
        snprintf(key, sizeof(key), "%s.%s", ref->a, ref->b);
        v = json_object_get(x->outputs, key);
        if (!v) {
            snprintf(err, errlen,
                     "output '%s' has no value (step '%s' has not run or did not succeed)", key,
                     ref->a);
            break;
        }
        *value = json_incref(v);
        return 0;
    case RUNBOOK_REF_VARIABLE:
        v = json_object_get(x->vars, ref->a);
        if (!v) {
            snprintf(err, errlen, "variable '%s' has no value yet", ref->a);
            break;
        }
        *value = json_incref(v);
        return 0;
    case RUNBOOK_REF_AUTOMATION:
        *value = json_string(x->id);
        return *value ? 0 : CORDON_ENOMEM;
    case RUNBOOK_REF_GLOBAL:
        if (strcmp(ref->a, "ACCOUNT_ID") == 0) {
            *value = json_string(x->account_id ? x->account_id : "");
        } else if (strcmp(ref->a, "REGION") == 0) {
            *value = json_string(x->region ? x->region : "");
        } else if (strcmp(ref->a, "AWS_PARTITION") == 0) {
            *value = json_string(x->partition ? x->partition : "cordon");
        } else {
            time_t t = (time_t)(c->now_ms / 1000);
            struct tm tm;
            char buf[32];
            gmtime_r(&t, &tm);
            strftime(buf, sizeof(buf),
                     strcmp(ref->a, "DATE") == 0 ? "%Y-%m-%d" : "%Y-%m-%d_%H.%M.%S", &tm);
            *value = json_string(buf);
        }
        return *value ? 0 : CORDON_ENOMEM;
    case RUNBOOK_REF_SSM:
        snprintf(err, errlen, "{{ssm:%s}} is not supported", ref->a);
        break;
    }
    if (c->lenient) {
        char marker[2 * RUNBOOK_NAME_MAX + 32];
        snprintf(marker, sizeof(marker), "(no value yet)");
        *value = json_string(marker);
        return *value ? 0 : CORDON_ENOMEM;
    }
    return CORDON_EINVAL;
}

static bool valid_exec_id(const char *id)
{
    size_t n = id ? strlen(id) : 0;

    if (n == 0 || n > RUNBOOK_EXEC_ID_MAX)
        return false;
    for (; *id; id++)
        if (!isalnum((unsigned char)*id) && *id != '_' && *id != '.' && *id != '-')
            return false;
    return true;
}

static const char *on_failure_text(const struct runbook_step *st, char *buf, size_t len)
{
    if (st->on_failure == RUNBOOK_ON_FAILURE_ABORT)
        return "Abort";
    if (st->on_failure == RUNBOOK_ON_FAILURE_CONTINUE)
        return "Continue";
    snprintf(buf, len, "step:%s", "");
    return buf;
}

/* ---------------------------------------------------------------------- */
/* Lifecycle                                                               */
/* ---------------------------------------------------------------------- */

static int set_config(struct runbook_exec *x, const struct runbook_exec_config *cfg)
{
    free(x->account_id);
    free(x->region);
    free(x->partition);
    x->account_id = x->region = x->partition = NULL;
    x->interactive = cfg ? cfg->interactive : false;
    if (cfg && cfg->account_id && !(x->account_id = strdup(cfg->account_id)))
        return CORDON_ENOMEM;
    if (cfg && cfg->region && !(x->region = strdup(cfg->region)))
        return CORDON_ENOMEM;
    if (!(x->partition = strdup(cfg && cfg->partition ? cfg->partition : "cordon")))
        return CORDON_ENOMEM;
    return 0;
}

static struct runbook_exec *exec_alloc(const struct runbook_doc *doc)
{
    struct runbook_exec *x = calloc(1, sizeof(*x));

    if (!x)
        return NULL;
    x->doc = doc;
    x->cur = x->rec = -1;
    x->interactive_next = -1;
    x->abort_status = RUNBOOK_STATUS_PENDING;
    x->outputs = json_object();
    x->vars = json_object();
    x->records = json_array();
    x->exec_outputs = json_object();
    x->approvals = json_array();
    if (!x->outputs || !x->vars || !x->records || !x->exec_outputs || !x->approvals) {
        runbook_exec_free(x);
        return NULL;
    }
    return x;
}

void runbook_exec_free(struct runbook_exec *x)
{
    if (!x)
        return;
    free(x->account_id);
    free(x->region);
    free(x->partition);
    json_decref(x->params);
    json_decref(x->outputs);
    json_decref(x->vars);
    json_decref(x->records);
    json_decref(x->exec_outputs);
    json_decref(x->approvals);
    json_decref(x->effect_args);
    free(x);
}

int runbook_exec_new(struct runbook_exec **out, const struct runbook_doc *doc, const char *id,
                     const json_t *params, const struct runbook_exec_config *cfg,
                     struct cordon_diag *diag)
{
    struct runbook_exec *x;
    size_t i;
    int rc;

    *out = NULL;
    cordon_diag_clear(diag);
    if (!doc || !valid_exec_id(id)) {
        cordon_diag_set(diag, "InvalidExecutionId", 0, 0, 0,
                        "execution id: expected 1-%d characters from [A-Za-z0-9_.-]",
                        RUNBOOK_EXEC_ID_MAX);
        return CORDON_EINVAL;
    }
    x = exec_alloc(doc);
    if (!x)
        return CORDON_ENOMEM;
    snprintf(x->id, sizeof(x->id), "%s", id);
    rc = set_config(x, cfg);
    if (rc)
        goto fail;
    rc = runbook_params_resolve(doc, params, &x->params, diag);
    if (rc)
        goto fail;
    for (i = 0; i < doc->nvars; i++)
        if (doc->vars[i].def && json_object_set(x->vars, doc->vars[i].name, doc->vars[i].def)) {
            rc = CORDON_ENOMEM;
            goto fail;
        }
    *out = x;
    return 0;
fail:
    runbook_exec_free(x);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* The machine                                                             */
/* ---------------------------------------------------------------------- */

static int start_step(struct runbook_exec *x, int idx, int64_t now, struct runbook_effects *out);
static int step_failed(struct runbook_exec *x, int64_t now, const char *msg, const char *stage,
                       const char *type, bool timed_out, bool retryable,
                       struct runbook_effects *out);

static void clear_wait(struct runbook_exec *x)
{
    x->wait = WAIT_NONE;
    x->effect_id[0] = '\0';
    json_decref(x->effect_args);
    x->effect_args = NULL;
    x->deadline_ms = 0;
    x->wake_ms = 0;
}

static int cancel_inflight(struct runbook_exec *x, struct runbook_effects *out)
{
    char id[LOCAL_ID];
    const struct runbook_step *st = cur_step(x);

    if (x->wait != WAIT_ACTION || !x->effect_id[0])
        return 0;
    snprintf(id, sizeof(id), "%s/cancel", x->effect_id);
    return emit(out, RUNBOOK_EFFECT_CANCEL, id, st ? st->name : "", x->attempt, 0, 0,
                json_pack("{s:s}", "effectId", x->effect_id));
}

static int finish(struct runbook_exec *x, int64_t now, enum runbook_status st, const char *why,
                  struct runbook_effects *out)
{
    size_t i;

    clear_wait(x);
    x->cur = -1;
    x->rec = -1;
    x->status = st;
    x->end_ms = now;
    if (why && !x->failure[0])
        snprintf(x->failure, sizeof(x->failure), "%s", why);
    /* Execution outputs: whatever the named step outputs hold. */
    for (i = 0; i < x->doc->noutputs; i++) {
        json_t *v = json_object_get(x->outputs, x->doc->outputs[i]);
        if (v)
            json_object_set(x->exec_outputs, x->doc->outputs[i], v);
    }
    return emit_status(x, out, false, st, x->failure);
}

/* Final status when the run reaches its end without an abort (§17.4.6). */
static int finish_normally(struct runbook_exec *x, int64_t now, struct runbook_effects *out)
{
    if (x->cancel_path)
        return finish(x, now, RUNBOOK_STATUS_CANCELLED, "cancelled", out);
    return finish(x, now, x->critical_failed ? RUNBOOK_STATUS_FAILED : RUNBOOK_STATUS_SUCCESS,
                  x->critical_failed ? "a critical step failed" : NULL, out);
}

/* Move on to step `next` (-1 = the run finishes), honouring interactive mode. */
static int go_to(struct runbook_exec *x, int next, int64_t now, struct runbook_effects *out)
{
    char id[LOCAL_ID];
    const char *done_rec;

    if (x->cancel_path)
        return finish(x, now, RUNBOOK_STATUS_CANCELLED, "cancelled", out);
    if (!x->interactive)
        return next < 0 ? finish_normally(x, now, out) : start_step(x, next, now, out);
    /* Interactive: wait for Resume (run `next`) or StartStep. */
    done_rec = rec_id(x);
    snprintf(id, sizeof(id), "%s/interactive", done_rec[0] ? done_rec : x->id);
    clear_wait(x);
    x->cur = -1;
    x->rec = -1;
    x->wait = WAIT_INTERACTIVE;
    x->interactive_next = next;
    x->status = RUNBOOK_STATUS_WAITING;
    return emit(out, RUNBOOK_EFFECT_WAIT_SIGNAL, id, "", 0, 0, 0,
                json_pack("{s:[s,s], s:s?}", "signals", "Resume", "StartStep", "nextStep",
                          next >= 0 ? x->doc->steps[next].name : NULL));
}

/* Evaluate declared outputs against the response; 0 or a message in err. */
static int eval_outputs(struct runbook_exec *x, const struct runbook_step *st, const json_t *resp,
                        json_t *rec_outputs, char *err, size_t errlen)
{
    size_t i;
    char key[2 * RUNBOOK_NAME_MAX + 2];

    for (i = 0; i < st->noutputs; i++) {
        const struct runbook_output_decl *d = &st->outputs[i];
        const json_t *v = resp ? runbook_selector_eval(resp, d->selector) : NULL;
        if (!v) {
            snprintf(err, errlen, "output '%s': selector %s matches nothing in the response",
                     d->name, d->selector);
            return CORDON_EINVAL;
        }
        if (!runbook_type_check(d->type, v)) {
            snprintf(err, errlen, "output '%s': selector %s gave a value that is not a %s", d->name,
                     d->selector, runbook_type_name(d->type));
            return CORDON_EINVAL;
        }
        snprintf(key, sizeof(key), "%s.%s", st->name, d->name);
        if (json_object_set(x->outputs, key, (json_t *)v) ||
            json_object_set(rec_outputs, d->name, (json_t *)v))
            return CORDON_ENOMEM;
    }
    return 0;
}

static int set_builtin_output(struct runbook_exec *x, const struct runbook_step *st,
                              json_t *rec_outputs, const char *name, json_t *v)
{
    char key[2 * RUNBOOK_NAME_MAX + 2];

    if (!v)
        return CORDON_ENOMEM;
    snprintf(key, sizeof(key), "%s.%s", st->name, name);
    json_object_set(rec_outputs, name, v);
    json_object_set_new(x->outputs, key, v);
    return 0;
}

/*
 * The current step succeeded with `resp` (the response the selectors read,
 * may be NULL). `branch_next` is the chosen step for aws:branch (-1 none).
 */
static int step_succeeded(struct runbook_exec *x, int64_t now, const json_t *resp, int branch_next,
                          struct runbook_effects *out)
{
    const struct runbook_step *st = cur_step(x);
    json_t *rec_outputs = json_object();
    char err[400];
    int next, rc;

    if (!rec_outputs)
        return CORDON_ENOMEM;
    /* Built-in outputs. */
    if (st->action == RUNBOOK_ACTION_INVOKE_LAMBDA && resp) {
        const json_t *p = json_object_get(resp, "Payload");
        char *txt = p ? json_dumps(p, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        set_builtin_output(x, st, rec_outputs, "StatusCode",
                           json_integer(json_integer_value(json_object_get(resp, "StatusCode"))));
        set_builtin_output(x, st, rec_outputs, "Payload", json_string(txt ? txt : ""));
        free(txt);
    } else if (st->action == RUNBOOK_ACTION_EXECUTE_SCRIPT && resp) {
        const json_t *p = json_object_get(resp, "Payload");
        char *txt = p ? json_dumps(p, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        set_builtin_output(x, st, rec_outputs, "OutputPayload", json_string(txt ? txt : ""));
        free(txt);
    } else if (st->action == RUNBOOK_ACTION_HTTP_REQUEST && resp) {
        set_builtin_output(x, st, rec_outputs, "StatusCode",
                           json_integer(json_integer_value(json_object_get(resp, "StatusCode"))));
    } else if (st->action == RUNBOOK_ACTION_APPROVE) {
        set_builtin_output(x, st, rec_outputs, "ApprovalStatus", json_string("Approved"));
        set_builtin_output(x, st, rec_outputs, "ApproverDecisions", json_copy(x->approvals));
    }
    rc = eval_outputs(x, st, resp, rec_outputs, err, sizeof(err));
    if (rc) {
        json_decref(rec_outputs);
        if (rc == CORDON_ENOMEM)
            return rc;
        return step_failed(x, now, err, "PostVerification", "Verification", false, false, out);
    }
    rec_set(x, "Outputs", rec_outputs);
    if (resp)
        rec_set(x, "Response", json_deep_copy(resp));
    rec_set(x, "StepStatus", json_string("Success"));
    rec_set(x, "ExecutionEndTime", json_integer(now));
    rc = emit_status(x, out, true, RUNBOOK_STATUS_SUCCESS, NULL);
    if (rc)
        return rc;

    /* §17.4.4: isEnd; branch; nextStep; next in list. */
    if (st->action == RUNBOOK_ACTION_BRANCH) {
        if (branch_next >= 0)
            next = branch_next;
        else if (st->is_end)
            next = -1;
        else
            next = st->next_step >= 0 ? st->next_step
                                      : (x->cur + 1 < (int)x->doc->nsteps ? x->cur + 1 : -1);
    } else if (st->is_end) {
        next = -1;
    } else if (st->next_step >= 0) {
        next = st->next_step;
    } else {
        next = x->cur + 1 < (int)x->doc->nsteps ? x->cur + 1 : -1;
    }
    rec_set(x, "NextStep", json_string(next >= 0 ? x->doc->steps[next].name : ""));
    clear_wait(x);
    return go_to(x, next, now, out);
}

/* Emit the action effect for the current attempt. */
static int issue_attempt(struct runbook_exec *x, int64_t now, struct runbook_effects *out)
{
    const struct runbook_step *st = cur_step(x);
    char tid[LOCAL_ID];
    int64_t tmo = (int64_t)st->timeout_seconds * 1000;
    int rc;

    snprintf(x->effect_id, sizeof(x->effect_id), "%s/%d", rec_id(x), x->attempt);
    x->wait = WAIT_ACTION;
    x->deadline_ms = tmo > 0 ? now + tmo : 0;
    rec_set(x, "Attempts", json_integer(x->attempt));
    rc = emit(out, x->effect_kind, x->effect_id, st->name, x->attempt, tmo, 0,
              json_deep_copy(x->effect_args));
    if (rc || !x->deadline_ms)
        return rc;
    snprintf(tid, sizeof(tid), "%s/timeout", x->effect_id);
    return emit(out, RUNBOOK_EFFECT_WAIT_UNTIL, tid, st->name, x->attempt, 0, x->deadline_ms,
                json_pack("{s:s}", "purpose", "timeout"));
}

static int step_failed(struct runbook_exec *x, int64_t now, const char *msg, const char *stage,
                       const char *type, bool timed_out, bool retryable,
                       struct runbook_effects *out)
{
    const struct runbook_step *st = cur_step(x);
    enum runbook_status sst = timed_out ? RUNBOOK_STATUS_TIMED_OUT : RUNBOOK_STATUS_FAILED;
    int next, rc;

    if (!st)
        return CORDON_ESTATE;
    if (retryable && x->wait == WAIT_ACTION && x->attempt < st->max_attempts) {
        char line[600];
        json_t *r = cur_rec(x), *hist = r ? json_object_get(r, "AttemptFailures") : NULL;
        snprintf(line, sizeof(line), "attempt %d: %s", x->attempt, msg);
        if (r && !hist) {
            hist = json_array();
            json_object_set_new(r, "AttemptFailures", hist);
        }
        if (hist)
            json_array_append_new(hist, json_string(line));
        x->attempt++;
        return issue_attempt(x, now, out);
    }
    rec_set(x, "StepStatus", json_string(runbook_status_name(sst)));
    rec_set(x, "ExecutionEndTime", json_integer(now));
    rec_set(x, "FailureMessage", json_string(msg));
    rec_set(x, "FailureDetails",
            json_pack("{s:s, s:s}", "FailureStage", stage, "FailureType", type));
    rc = emit_status(x, out, true, sst, msg);
    if (rc)
        return rc;
    if (st->is_critical)
        x->critical_failed = true;
    clear_wait(x);
    if (x->cancel_path)
        return finish(x, now, RUNBOOK_STATUS_CANCELLED, "cancelled", out);
    if (st->is_end)
        return finish_normally(x, now, out);
    switch (st->on_failure) {
    case RUNBOOK_ON_FAILURE_ABORT: {
        char why[700];
        snprintf(why, sizeof(why), "step %s %s: %s", st->name, timed_out ? "timed out" : "failed",
                 msg);
        x->abort_status = sst;
        return finish(x, now, sst, why, out);
    }
    case RUNBOOK_ON_FAILURE_CONTINUE:
        next = x->cur + 1 < (int)x->doc->nsteps ? x->cur + 1 : -1;
        break;
    default:
        next = st->on_failure_step;
    }
    rec_set(x, "NextStep", json_string(next >= 0 ? x->doc->steps[next].name : ""));
    return go_to(x, next, now, out);
}

/* Build the action effect's args from rendered inputs. Returns 0 or a message. */
static int build_action(struct runbook_exec *x, const struct runbook_step *st, const json_t *in,
                        char *err, size_t errlen)
{
    json_t *a = NULL;
    const json_t *v;

    switch (st->action) {
    case RUNBOOK_ACTION_EXECUTE_SCRIPT:
        x->effect_kind = RUNBOOK_EFFECT_RUN_SCRIPT;
        {
            const char *rt = json_string_value(json_object_get(in, "Runtime"));
            if (rt && strcmp(rt, "bash") && strcmp(rt, "python3") &&
                !(strncmp(rt, "python3.", 8) == 0 && isdigit((unsigned char)rt[8]))) {
                snprintf(err, errlen, "Runtime '%s' is not supported", rt);
                return CORDON_EINVAL;
            }
        }
        v = json_object_get(in, "InputPayload");
        a = json_pack("{s:O?, s:O?, s:O?, s:O?, s:o}", "runtime", json_object_get(in, "Runtime"),
                      "handler", json_object_get(in, "Handler"), "script",
                      json_object_get(in, "Script"), "attachment",
                      json_object_get(in, "Attachment"), "inputPayload",
                      v ? json_deep_copy(v) : json_object());
        if (a && json_object_get(in, "Attachment") && x->doc->files)
            json_object_set(a, "attachmentInfo",
                            json_object_get(x->doc->files,
                                            json_string_value(json_object_get(in, "Attachment"))));
        break;
    case RUNBOOK_ACTION_INVOKE_LAMBDA: {
        json_t *payload;
        x->effect_kind = RUNBOOK_EFFECT_INVOKE_FUNCTION;
        if ((v = json_object_get(in, "InputPayload"))) {
            payload = json_incref((json_t *)v);
        } else if ((v = json_object_get(in, "Payload"))) {
            json_error_t je;
            payload = json_loads(json_string_value(v), JSON_DECODE_ANY, &je);
            if (!payload) {
                snprintf(err, errlen, "Payload is not JSON after rendering: %s", je.text);
                return CORDON_EINVAL;
            }
        } else {
            payload = json_object();
        }
        a = json_pack("{s:O, s:O?, s:s, s:s, s:O?, s:o}", "functionName",
                      json_object_get(in, "FunctionName"), "qualifier",
                      json_object_get(in, "Qualifier"), "invocationType",
                      json_string_value(json_object_get(in, "InvocationType"))
                          ? json_string_value(json_object_get(in, "InvocationType"))
                          : "RequestResponse",
                      "logType",
                      json_string_value(json_object_get(in, "LogType"))
                          ? json_string_value(json_object_get(in, "LogType"))
                          : "None",
                      "clientContext", json_object_get(in, "ClientContext"), "payload", payload);
        break;
    }
    case RUNBOOK_ACTION_EXECUTE_AWS_API: {
        json_t *params = json_deep_copy(in);
        x->effect_kind = RUNBOOK_EFFECT_CALL_API;
        if (params) {
            json_object_del(params, "Service");
            json_object_del(params, "Api");
        }
        a = json_pack("{s:O, s:O, s:o}", "service", json_object_get(in, "Service"), "api",
                      json_object_get(in, "Api"), "params", params ? params : json_object());
        break;
    }
    case RUNBOOK_ACTION_QUARANTINE_THING:
    case RUNBOOK_ACTION_RELEASE_THING: {
        json_t *things = json_array();
        x->effect_kind = st->action == RUNBOOK_ACTION_QUARANTINE_THING ? RUNBOOK_EFFECT_QUARANTINE
                                                                       : RUNBOOK_EFFECT_RELEASE;
        if ((v = json_object_get(in, "ThingNames")))
            json_array_extend(things, (json_t *)v);
        else if ((v = json_object_get(in, "ThingName")))
            json_array_append(things, (json_t *)v);
        if (json_array_size(things) == 0) {
            json_decref(things);
            snprintf(err, errlen, "no thing to %s (ThingName/ThingNames is empty)",
                     st->action == RUNBOOK_ACTION_QUARANTINE_THING ? "quarantine" : "release");
            return CORDON_EINVAL;
        }
        a = json_pack("{s:o, s:O?, s:O?}", "things", things, "reason",
                      json_object_get(in, "Reason"), "incidentId",
                      json_object_get(in, "IncidentId"));
        break;
    }
    case RUNBOOK_ACTION_NOTIFY:
        x->effect_kind = RUNBOOK_EFFECT_NOTIFY;
        a = json_pack("{s:O, s:O?, s:O?, s:O?}", "message", json_object_get(in, "Message"),
                      "subject", json_object_get(in, "Subject"), "targets",
                      json_object_get(in, "Targets"), "incidentId",
                      json_object_get(in, "IncidentId"));
        break;
    case RUNBOOK_ACTION_HTTP_REQUEST: {
        const char *url = json_string_value(json_object_get(in, "Url"));
        const json_t *body = json_object_get(in, "Body");
        json_t *btxt = NULL;
        x->effect_kind = RUNBOOK_EFFECT_HTTP_REQUEST;
        if (!url || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))) {
            snprintf(err, errlen, "Url: expected an http:// or https:// URL");
            return CORDON_EINVAL;
        }
        if (body && !json_is_string(body)) {
            char *s = json_dumps(body, JSON_COMPACT);
            btxt = s ? json_string(s) : NULL;
            free(s);
        } else if (body) {
            btxt = json_incref((json_t *)body);
        }
        v = json_object_get(in, "Headers");
        a = json_pack("{s:s, s:s, s:o, s:o?}", "method",
                      json_string_value(json_object_get(in, "Method"))
                          ? json_string_value(json_object_get(in, "Method"))
                          : "GET",
                      "url", url, "headers", v ? json_deep_copy(v) : json_object(), "body", btxt);
        break;
    }
    case RUNBOOK_ACTION_PUBLISH_MQTT: {
        const json_t *p = json_object_get(in, "Payload");
        char *s = json_is_string(p) ? strdup(json_string_value(p)) : json_dumps(p, JSON_COMPACT);
        x->effect_kind = RUNBOOK_EFFECT_PUBLISH_MQTT;
        if (!s)
            return CORDON_ENOMEM;
        a = json_pack("{s:O, s:s, s:I, s:b}", "topic", json_object_get(in, "Topic"), "payload", s,
                      "qos",
                      json_object_get(in, "Qos") ? json_integer_value(json_object_get(in, "Qos"))
                                                 : (json_int_t)0,
                      "retain", json_is_true(json_object_get(in, "Retain")));
        free(s);
        break;
    }
    default:
        snprintf(err, errlen, "internal: %s is not an action effect",
                 runbook_action_name(st->action));
        return CORDON_EINVAL;
    }
    if (!a)
        return CORDON_ENOMEM;
    json_decref(x->effect_args);
    x->effect_args = a;
    return 0;
}

/* Parse an ISO-8601 timestamp (YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)) to ms. */
static int timestamp_parse(const char *s, int64_t *ms)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, n = 0, oh = 0, om = 0;
    const char *p;
    time_t t;

    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
        return CORDON_EINVAL;
    p = s + n;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    if (*p == 'Z' && p[1] == '\0') {
        /* UTC */
    } else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 &&
               strlen(p) == 6) {
        if (*p == '-') {
            oh = -oh;
            om = -om;
        }
    } else {
        return CORDON_EINVAL;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return CORDON_EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    *ms = ((int64_t)t - (int64_t)oh * 3600 - (int64_t)om * 60) * 1000;
    return 0;
}

static int emit_wait_signal(struct runbook_exec *x, struct runbook_effects *out)
{
    const struct runbook_step *st = cur_step(x);
    char id[LOCAL_ID];
    json_t *r = cur_rec(x), *args;

    snprintf(id, sizeof(id), "%s/signal", rec_id(x));
    if (st->action == RUNBOOK_ACTION_APPROVE) {
        json_t *in = r ? json_object_get(r, "Inputs") : NULL;
        const json_t *appr = json_object_get(in, "Approvers");
        args = json_pack("{s:[s,s], s:o, s:I, s:O?, s:O?}", "signals", "Approve", "Reject",
                         "approvers", appr ? json_deep_copy(appr) : json_array(),
                         "minRequiredApprovals",
                         json_object_get(in, "MinRequiredApprovals")
                             ? json_integer_value(json_object_get(in, "MinRequiredApprovals"))
                             : (json_int_t)1,
                         "message", json_object_get(in, "Message"), "notificationArn",
                         json_object_get(in, "NotificationArn"));
    } else {
        args = json_pack("{s:[s], s:O?}", "signals", "Resume", "description",
                         r ? json_object_get(r, "Description") : NULL);
    }
    return emit(out, RUNBOOK_EFFECT_WAIT_SIGNAL, id, st->name, 0, 0, 0, args);
}

static int emit_deadline(struct runbook_exec *x, const char *suffix, int64_t due,
                         struct runbook_effects *out)
{
    char id[LOCAL_ID];
    const struct runbook_step *st = cur_step(x);

    snprintf(id, sizeof(id), "%s/%s", rec_id(x), suffix);
    return emit(out, RUNBOOK_EFFECT_WAIT_UNTIL, id, st ? st->name : "", 0, 0, due,
                json_pack("{s:s}", "purpose", strcmp(suffix, "wake") == 0 ? "sleep" : "timeout"));
}

/* The steps that may follow step idx (success or failure paths), for the record. */
static json_t *valid_next_steps(const struct runbook_doc *doc, int idx)
{
    const struct runbook_step *st = &doc->steps[idx];
    int cand[RUNBOOK_MAX_CHOICES + 4];
    size_t n = 0, i, j;
    json_t *a = json_array();
    int next_in_list = idx + 1 < (int)doc->nsteps ? idx + 1 : -1;

    if (!a)
        return NULL;
    for (i = 0; i < st->nchoices; i++)
        cand[n++] = st->choices[i].next;
    if (st->default_step >= 0)
        cand[n++] = st->default_step;
    if (!st->is_end) {
        cand[n++] = st->next_step >= 0 ? st->next_step : next_in_list;
        if (st->on_failure == RUNBOOK_ON_FAILURE_CONTINUE)
            cand[n++] = next_in_list;
        else if (st->on_failure == RUNBOOK_ON_FAILURE_STEP)
            cand[n++] = st->on_failure_step;
    }
    for (i = 0; i < n; i++) {
        bool dup = cand[i] < 0;
        for (j = 0; j < i && !dup; j++)
            dup = cand[j] == cand[i];
        if (!dup)
            json_array_append_new(a, json_string(doc->steps[cand[i]].name));
    }
    return a;
}

static int start_step(struct runbook_exec *x, int idx, int64_t now, struct runbook_effects *out)
{
    const struct runbook_step *st = &x->doc->steps[idx];
    struct lookup_ctx lc = { x, now, false };
    char sid[LOCAL_ID], err[600], ofb[16];
    json_t *rec, *in = NULL, *desc = NULL;
    int rc;

    if (x->seq >= RUNBOOK_MAX_STEP_EXECUTIONS) {
        x->abort_status = RUNBOOK_STATUS_FAILED;
        return finish(x, now, RUNBOOK_STATUS_FAILED,
                      "step execution limit reached (a nextStep loop ran too long)", out);
    }
    x->seq++;
    clear_wait(x);
    x->cur = idx;
    x->attempt = 1;
    json_array_clear(x->approvals);
    snprintf(sid, sizeof(sid), "%s/%d/%s", x->id, x->seq, st->name);
    rec = json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:i, s:s, s:b, s:b, s:i}", "StepName", st->name,
                    "Action", runbook_action_name(st->action), "StepExecutionId", sid, "StepStatus",
                    "InProgress", "ExecutionStartTime", (json_int_t)now, "MaxAttempts",
                    st->max_attempts, "TimeoutSeconds", st->timeout_seconds, "OnFailure",
                    on_failure_text(st, ofb, sizeof(ofb)), "IsEnd", st->is_end, "IsCritical",
                    st->is_critical, "Attempts", 1);
    if (!rec || json_array_append_new(x->records, rec))
        return CORDON_ENOMEM;
    x->rec = (int)json_array_size(x->records) - 1;
    if (st->on_failure == RUNBOOK_ON_FAILURE_STEP)
        rec_set(x, "OnFailure", json_sprintf("step:%s", x->doc->steps[st->on_failure_step].name));
    rec_set(x, "ValidNextSteps", valid_next_steps(x->doc, idx));
    x->status = x->cancel_path ? RUNBOOK_STATUS_CANCELLING : RUNBOOK_STATUS_IN_PROGRESS;

    /* Description, for display: missing values do not fail the step. */
    if (st->description) {
        lc.lenient = true;
        rc = runbook_template_render_string(st->description, lookup, &lc, &desc, err, sizeof(err));
        lc.lenient = false;
        if (rc == CORDON_ENOMEM)
            return rc;
        if (!rc && json_is_string(desc))
            rec_set(x, "Description", json_incref(desc));
        else if (!rc) {
            struct buf b;
            buf_init(&b, RUNBOOK_RENDER_MAX_BYTES);
            runbook_template_text(desc, &b);
            rec_set(x, "Description", json_string(b.ptr ? b.ptr : ""));
            buf_free(&b);
        }
        json_decref(desc);
    }
    rc = emit_status(x, out, true, RUNBOOK_STATUS_IN_PROGRESS, NULL);
    if (rc)
        return rc;

    /* §17.4.2: resolve inputs now (late binding). */
    if (st->action != RUNBOOK_ACTION_BRANCH) {
        rc = runbook_template_render(st->inputs, lookup, &lc, &in, err, sizeof(err));
        if (rc == CORDON_ENOMEM)
            return rc;
        if (rc)
            return step_failed(x, now, err, "InputValidation", "Action", false, false, out);
        rec_set(x, "Inputs", json_incref(in));
        rc = runbook_step_check_inputs(st, in, err, sizeof(err));
        if (rc) {
            json_decref(in);
            return step_failed(x, now, err, "InputValidation", "Action", false, false, out);
        }
    }

    switch (st->action) {
    case RUNBOOK_ACTION_PAUSE:
        json_decref(in);
        x->wait = WAIT_PAUSE;
        x->status = x->cancel_path ? RUNBOOK_STATUS_CANCELLING : RUNBOOK_STATUS_WAITING;
        rec_set(x, "StepStatus", json_string("Waiting"));
        if ((rc = emit_wait_signal(x, out)))
            return rc;
        if (st->timeout_explicit) {
            x->deadline_ms = now + (int64_t)st->timeout_seconds * 1000;
            return emit_deadline(x, "timeout", x->deadline_ms, out);
        }
        return 0;
    case RUNBOOK_ACTION_APPROVE: {
        const json_t *ap = json_object_get(in, "Approvers");
        const json_t *m = json_object_get(in, "MinRequiredApprovals");
        const json_t *msg = json_object_get(in, "Message");
        size_t nap = json_is_array(ap) ? json_array_size(ap) : 1;
        if (json_is_string(ap)) { /* one approver written as a string */
            json_t *list = json_pack("[O]", ap);
            json_object_set_new(in, "Approvers", list);
            rec_set(x, "Inputs", json_incref(in));
        }
        json_decref(in);
        if (nap == 0 || nap > RUNBOOK_APPROVERS_MAX)
            return step_failed(x, now, "Approvers: expected 1 to 10 approvers", "InputValidation",
                               "Action", false, false, out);
        if (m && (json_integer_value(m) < 1 || json_integer_value(m) > (json_int_t)nap))
            return step_failed(x, now,
                               "MinRequiredApprovals: expected 1 to the number of Approvers",
                               "InputValidation", "Action", false, false, out);
        if (msg && json_string_length(msg) > RUNBOOK_APPROVE_MESSAGE_MAX)
            return step_failed(x, now, "Message: longer than 4096 characters", "InputValidation",
                               "Action", false, false, out);
        x->wait = WAIT_APPROVE;
        x->status = x->cancel_path ? RUNBOOK_STATUS_CANCELLING : RUNBOOK_STATUS_WAITING;
        rec_set(x, "StepStatus", json_string("Waiting"));
        if ((rc = emit_wait_signal(x, out)))
            return rc;
        x->deadline_ms = now + (int64_t)st->timeout_seconds * 1000;
        return emit_deadline(x, "timeout", x->deadline_ms, out);
    }
    case RUNBOOK_ACTION_SLEEP: {
        const json_t *d = json_object_get(in, "Duration"), *ts = json_object_get(in, "Timestamp");
        int64_t wake;
        if (d) {
            double secs;
            if (runbook_duration_parse(json_string_value(d), &secs) ||
                secs > RUNBOOK_SLEEP_MAX_SECONDS) {
                snprintf(err, sizeof(err),
                         "Duration '%s': expected an ISO-8601 duration up to %d seconds",
                         json_string_value(d), RUNBOOK_SLEEP_MAX_SECONDS);
                json_decref(in);
                return step_failed(x, now, err, "InputValidation", "Action", false, false, out);
            }
            wake = now + (int64_t)(secs * 1000.0);
        } else {
            if (!ts || timestamp_parse(json_string_value(ts), &wake)) {
                snprintf(err, sizeof(err),
                         "Timestamp: expected ISO-8601 like 2026-01-01T00:00:00Z");
                json_decref(in);
                return step_failed(x, now, err, "InputValidation", "Action", false, false, out);
            }
            if (wake - now > (int64_t)RUNBOOK_SLEEP_MAX_SECONDS * 1000) {
                json_decref(in);
                return step_failed(x, now, "Timestamp is more than 604799 seconds ahead",
                                   "InputValidation", "Action", false, false, out);
            }
        }
        json_decref(in);
        if (wake <= now)
            return step_succeeded(x, now, NULL, -1, out);
        x->wait = WAIT_SLEEP;
        x->wake_ms = wake;
        if ((rc = emit_deadline(x, "wake", wake, out)))
            return rc;
        if (st->timeout_explicit && now + (int64_t)st->timeout_seconds * 1000 < wake) {
            x->deadline_ms = now + (int64_t)st->timeout_seconds * 1000;
            return emit_deadline(x, "timeout", x->deadline_ms, out);
        }
        return 0;
    }
    case RUNBOOK_ACTION_BRANCH: {
        int next = -1;
        rc = runbook_branch_choose(st, lookup, &lc, &next, err, sizeof(err));
        if (rc == CORDON_ENOMEM)
            return rc;
        if (rc)
            return step_failed(x, now, err, "InputValidation", "Action", false, false, out);
        return step_succeeded(x, now, NULL, next, out);
    }
    case RUNBOOK_ACTION_UPDATE_VARIABLE: {
        const char *name = json_string_value(json_object_get(in, "Name"));
        const json_t *val = json_object_get(in, "Value");
        size_t i;
        const struct runbook_variable *var = NULL;
        for (i = 0; name && i < x->doc->nvars; i++)
            if (strncmp(name, "variable:", 9) == 0 && strcmp(x->doc->vars[i].name, name + 9) == 0)
                var = &x->doc->vars[i];
        if (!var || !runbook_type_check(var->type, val)) {
            snprintf(err, sizeof(err), "Value: expected a %s for %s",
                     var ? runbook_type_name(var->type) : "declared variable", name ? name : "?");
            json_decref(in);
            return step_failed(x, now, err, "InputValidation", "Action", false, false, out);
        }
        json_object_set(x->vars, var->name, (json_t *)val);
        json_decref(in);
        return step_succeeded(x, now, NULL, -1, out);
    }
    default:
        break;
    }
    rc = build_action(x, st, in, err, sizeof(err));
    json_decref(in);
    if (rc == CORDON_ENOMEM)
        return rc;
    if (rc)
        return step_failed(x, now, err, "InputValidation", "Action", false, false, out);
    return issue_attempt(x, now, out);
}

int runbook_exec_start(struct runbook_exec *x, int64_t now_ms, struct runbook_effects *out)
{
    int rc;

    if (x->status != RUNBOOK_STATUS_PENDING)
        return CORDON_ESTATE;
    x->start_ms = now_ms;
    x->status = RUNBOOK_STATUS_IN_PROGRESS;
    rc = emit_status(x, out, false, RUNBOOK_STATUS_IN_PROGRESS, NULL);
    if (rc)
        return rc;
    if (x->interactive)
        return go_to(x, 0, now_ms, out);
    return start_step(x, 0, now_ms, out);
}

/* The response the selectors read, per action (docs/runbooks.md). */
static json_t *shape_response(const struct runbook_step *st, const json_t *resp)
{
    switch (st->action) {
    case RUNBOOK_ACTION_INVOKE_LAMBDA:
        return json_pack("{s:i, s:O}", "StatusCode", 200, "Payload", resp ? resp : json_null());
    case RUNBOOK_ACTION_EXECUTE_SCRIPT:
        return json_pack("{s:O}", "Payload", resp ? resp : json_null());
    default:
        return resp ? json_deep_copy(resp) : json_object();
    }
}

int runbook_exec_on_result(struct runbook_exec *x, const char *effect_id,
                           const struct runbook_result *r, int64_t now_ms,
                           struct runbook_effects *out)
{
    const struct runbook_step *st = cur_step(x);
    json_t *resp;
    int rc;

    if (!st || x->wait != WAIT_ACTION || !effect_id || strcmp(effect_id, x->effect_id) != 0)
        return CORDON_ENOTFOUND;
    if (!r->ok) {
        return step_failed(x, now_ms, r->error ? r->error : "the action failed", "Invocation",
                           "Action", r->timed_out, true, out);
    }
    if (r->response) {
        char *dump = json_dumps(r->response, JSON_COMPACT | JSON_ENCODE_ANY);
        size_t len = dump ? strlen(dump) : 0;
        free(dump);
        size_t cap = st->action == RUNBOOK_ACTION_EXECUTE_SCRIPT ? RUNBOOK_SCRIPT_PAYLOAD_MAX_BYTES
                                                                 : RUNBOOK_RESPONSE_MAX_BYTES;
        if (len > cap) {
            char msg[96];
            snprintf(msg, sizeof(msg), "the response is larger than %zu KiB", cap / 1024);
            return step_failed(x, now_ms, msg, "Invocation", "Action", false, false, out);
        }
    }
    if (st->action == RUNBOOK_ACTION_HTTP_REQUEST) {
        json_int_t code = json_integer_value(json_object_get(r->response, "StatusCode"));
        if (code < 200 || code > 299) {
            char msg[96];
            snprintf(msg, sizeof(msg), "HTTP status %lld", (long long)code);
            return step_failed(x, now_ms, msg, "Invocation", "Action", false, true, out);
        }
    }
    resp = shape_response(st, r->response);
    if (!resp)
        return CORDON_ENOMEM;
    rc = step_succeeded(x, now_ms, resp, -1, out);
    json_decref(resp);
    return rc;
}

int runbook_exec_on_timer(struct runbook_exec *x, int64_t now_ms, struct runbook_effects *out)
{
    const struct runbook_step *st = cur_step(x);

    if (runbook_status_terminal(x->status))
        return 0;
    if (x->cancel_path && x->cancel_deadline_ms && now_ms >= x->cancel_deadline_ms) {
        int rc = cancel_inflight(x, out);
        if (rc)
            return rc;
        if (cur_rec(x)) {
            rec_set(x, "StepStatus", json_string("Cancelled"));
            rec_set(x, "ExecutionEndTime", json_integer(now_ms));
            rec_set(x, "FailureMessage", json_string("the cancel path ran out of time (120 s)"));
        }
        return finish(x, now_ms, RUNBOOK_STATUS_CANCELLED,
                      "cancelled (the onCancel step ran out of time)", out);
    }
    if (!st)
        return 0;
    if (x->wait == WAIT_SLEEP && x->wake_ms && now_ms >= x->wake_ms &&
        (!x->deadline_ms || x->wake_ms <= x->deadline_ms))
        return step_succeeded(x, now_ms, NULL, -1, out);
    if (x->deadline_ms && now_ms >= x->deadline_ms) {
        char msg[160];
        bool action = x->wait == WAIT_ACTION;
        int rc = cancel_inflight(x, out);
        if (rc)
            return rc;
        snprintf(msg, sizeof(msg), "%s timed out after %d s",
                 action ? "the attempt" : runbook_action_name(st->action), st->timeout_seconds);
        if (st->action == RUNBOOK_ACTION_APPROVE) {
            json_t *r = cur_rec(x), *o = json_pack("{s:s, s:O}", "ApprovalStatus", "Waiting",
                                                   "ApproverDecisions", x->approvals);
            if (r && o)
                json_object_set(r, "Outputs", o);
            json_decref(o);
        }
        return step_failed(x, now_ms, msg, "Invocation", "Action", true, action, out);
    }
    return 0;
}

static int diag_err(struct cordon_diag *d, int rc, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int diag_err(struct cordon_diag *d, int rc, const char *code, const char *fmt, ...)
{
    char msg[CORDON_DIAG_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cordon_diag_set(d, code, 0, 0, 0, "%s", msg);
    return rc;
}

static int on_decision(struct runbook_exec *x, const struct runbook_signal *sig, int64_t now,
                       struct runbook_effects *out, struct cordon_diag *diag)
{
    const struct runbook_step *st = cur_step(x);
    json_t *r = cur_rec(x), *in = r ? json_object_get(r, "Inputs") : NULL;
    const json_t *ap = json_object_get(in, "Approvers");
    json_int_t min = json_object_get(in, "MinRequiredApprovals")
                         ? json_integer_value(json_object_get(in, "MinRequiredApprovals"))
                         : 1;
    bool approve = sig->kind == RUNBOOK_SIGNAL_APPROVE, listed = false;
    size_t i, approvals = 0;
    int rc;

    if (!st || x->wait != WAIT_APPROVE)
        return diag_err(diag, CORDON_ESTATE, "NotWaiting", "no aws:approve step is waiting");
    if (!sig->approver || !sig->approver[0])
        return diag_err(diag, CORDON_EINVAL, "InvalidSignal", "%s: expected an approver",
                        approve ? "Approve" : "Reject");
    for (i = 0; i < json_array_size(ap); i++)
        if (strcmp(json_string_value(json_array_get(ap, i)), sig->approver) == 0)
            listed = true;
    if (!listed)
        return diag_err(diag, CORDON_EINVAL, "NotAnApprover",
                        "'%s' is not in the Approvers of step %s", sig->approver, st->name);
    for (i = 0; i < json_array_size(x->approvals); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(x->approvals, i), "Approver")),
                   sig->approver) == 0)
            return diag_err(diag, CORDON_EINVAL, "AlreadyDecided",
                            "'%s' has already decided on step %s", sig->approver, st->name);
    if (json_array_append_new(x->approvals,
                              json_pack("{s:s, s:s, s:s, s:I}", "Approver", sig->approver,
                                        "Decision", approve ? "Approved" : "Rejected", "Comment",
                                        sig->comment ? sig->comment : "", "DecisionTime",
                                        (json_int_t)now)))
        return CORDON_ENOMEM;
    if (!approve) {
        char msg[300];
        json_t *o = json_pack("{s:s, s:O}", "ApprovalStatus", "Rejected", "ApproverDecisions",
                              x->approvals);
        rec_set(x, "Outputs", o);
        snprintf(msg, sizeof(msg), "rejected by %s%s%.200s", sig->approver,
                 sig->comment && sig->comment[0] ? ": " : "", sig->comment ? sig->comment : "");
        {
            char key[2 * RUNBOOK_NAME_MAX + 2];
            snprintf(key, sizeof(key), "%s.ApprovalStatus", st->name);
            json_object_set_new(x->outputs, key, json_string("Rejected"));
            snprintf(key, sizeof(key), "%s.ApproverDecisions", st->name);
            json_object_set_new(x->outputs, key, json_copy(x->approvals));
        }
        return step_failed(x, now, msg, "Invocation", "Action", false, false, out);
    }
    for (i = 0; i < json_array_size(x->approvals); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(x->approvals, i), "Decision")),
                   "Approved") == 0)
            approvals++;
    if ((json_int_t)approvals >= min)
        return step_succeeded(x, now, NULL, -1, out);
    rc = 0;
    return rc;
}

static int on_cancel(struct runbook_exec *x, int64_t now, struct runbook_effects *out)
{
    const struct runbook_step *st = cur_step(x);
    char id[LOCAL_ID];
    int rc;

    if (x->status == RUNBOOK_STATUS_CANCELLING)
        return 0;
    x->status = RUNBOOK_STATUS_CANCELLING;
    rc = emit_status(x, out, false, RUNBOOK_STATUS_CANCELLING, NULL);
    if (rc)
        return rc;
    if (!st) /* interactive wait or not started */
        return finish(x, now, RUNBOOK_STATUS_CANCELLED, "cancelled", out);
    rc = cancel_inflight(x, out);
    if (rc)
        return rc;
    rec_set(x, "StepStatus", json_string("Cancelled"));
    rec_set(x, "ExecutionEndTime", json_integer(now));
    if ((rc = emit_status(x, out, true, RUNBOOK_STATUS_CANCELLED, "execution cancelled")))
        return rc;
    if (st->on_cancel_step < 0)
        return finish(x, now, RUNBOOK_STATUS_CANCELLED, "cancelled", out);
    /* §17.4.7: run the onCancel step, bounded by 2 minutes. */
    x->cancel_path = true;
    x->cancel_deadline_ms = now + (int64_t)RUNBOOK_CANCEL_PATH_SECONDS * 1000;
    snprintf(id, sizeof(id), "%s/cancel-path", x->id);
    rc = emit(out, RUNBOOK_EFFECT_WAIT_UNTIL, id, "", 0, 0, x->cancel_deadline_ms,
              json_pack("{s:s}", "purpose", "cancel"));
    if (rc)
        return rc;
    return start_step(x, st->on_cancel_step, now, out);
}

int runbook_exec_signal(struct runbook_exec *x, const struct runbook_signal *sig, int64_t now_ms,
                        struct runbook_effects *out, struct cordon_diag *diag)
{
    const struct runbook_step *st = cur_step(x);

    cordon_diag_clear(diag);
    if (runbook_status_terminal(x->status) || x->status == RUNBOOK_STATUS_PENDING)
        return diag_err(diag, CORDON_ESTATE, "NotRunning", "execution %s is %s", x->id,
                        runbook_status_name(x->status));
    switch (sig->kind) {
    case RUNBOOK_SIGNAL_APPROVE:
    case RUNBOOK_SIGNAL_REJECT:
        return on_decision(x, sig, now_ms, out, diag);
    case RUNBOOK_SIGNAL_RESUME:
        if (x->wait == WAIT_PAUSE)
            return step_succeeded(x, now_ms, NULL, -1, out);
        if (x->wait == WAIT_INTERACTIVE) {
            int next = x->interactive_next;
            x->wait = WAIT_NONE;
            x->status = RUNBOOK_STATUS_IN_PROGRESS;
            return next < 0 ? finish_normally(x, now_ms, out) : start_step(x, next, now_ms, out);
        }
        return diag_err(diag, CORDON_ESTATE, "NotWaiting", "no aws:pause step is waiting");
    case RUNBOOK_SIGNAL_START_STEP: {
        int idx;
        if (x->wait != WAIT_INTERACTIVE)
            return diag_err(diag, CORDON_ESTATE, "NotInteractive",
                            "StartStep needs an interactive execution waiting between steps");
        idx = sig->step_name ? runbook_doc_step_index(x->doc, sig->step_name) : -1;
        if (idx < 0)
            return diag_err(diag, CORDON_EINVAL, "UnknownStep", "no step named '%s'",
                            sig->step_name ? sig->step_name : "");
        x->wait = WAIT_NONE;
        x->status = RUNBOOK_STATUS_IN_PROGRESS;
        return start_step(x, idx, now_ms, out);
    }
    case RUNBOOK_SIGNAL_STOP_STEP: {
        int rc;
        if (!st || !sig->step_execution_id || strcmp(sig->step_execution_id, rec_id(x)) != 0)
            return diag_err(diag, CORDON_EINVAL, "UnknownStepExecution",
                            "step execution '%s' is not running",
                            sig->step_execution_id ? sig->step_execution_id : "");
        rc = cancel_inflight(x, out);
        if (rc)
            return rc;
        /* A stopped step ends Cancelled; the run goes on as after a failure. */
        x->wait = WAIT_NONE;
        rc = step_failed(x, now_ms, "stopped by StopStep", "Invocation", "Action", false, false,
                         out);
        return rc;
    }
    case RUNBOOK_SIGNAL_CANCEL:
        return on_cancel(x, now_ms, out);
    }
    return diag_err(diag, CORDON_EINVAL, "InvalidSignal", "unknown signal");
}

int runbook_exec_next_deadline(const struct runbook_exec *x, int64_t *due_ms)
{
    int64_t best = 0;

    if (runbook_status_terminal(x->status))
        return CORDON_ENOTFOUND;
    if (x->wake_ms)
        best = x->wake_ms;
    if (x->deadline_ms && (!best || x->deadline_ms < best))
        best = x->deadline_ms;
    if (x->cancel_path && x->cancel_deadline_ms && (!best || x->cancel_deadline_ms < best))
        best = x->cancel_deadline_ms;
    if (!best)
        return CORDON_ENOTFOUND;
    *due_ms = best;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Persistence                                                             */
/* ---------------------------------------------------------------------- */

static const char *const wait_names[] = { "none",  "action",  "sleep",
                                          "pause", "approve", "interactive" };

int runbook_exec_to_json(const struct runbook_exec *x, json_t **out)
{
    char fp[32];
    json_t *j;

    *out = NULL;
    snprintf(fp, sizeof(fp), "%016" PRIx64, x->doc->fingerprint);
    j = json_pack("{s:i, s:s, s:s, s:{s:s?, s:s?, s:s?, s:b}, s:s, s:I, s:I, s:O, s:O, s:O, s:O,"
                  " s:O, s:s}",
                  "version", STATE_VERSION, "documentFingerprint", fp, "id", x->id, "config",
                  "accountId", x->account_id, "region", x->region, "partition", x->partition,
                  "interactive", x->interactive, "status", runbook_status_name(x->status),
                  "startMs", (json_int_t)x->start_ms, "endMs", (json_int_t)x->end_ms, "params",
                  x->params, "outputs", x->outputs, "variables", x->vars, "records", x->records,
                  "executionOutputs", x->exec_outputs, "failure", x->failure);
    if (!j)
        return CORDON_ENOMEM;
    if (json_object_set_new(
            j, "machine",
            json_pack("{s:s?, s:i, s:i, s:i, s:s, s:s, s:s, s:O?, s:I, s:I, s:O, s:s?, s:b, s:s,"
                      " s:b, s:I}",
                      "step", x->cur >= 0 ? x->doc->steps[x->cur].name : NULL, "record", x->rec,
                      "attempt", x->attempt, "seq", x->seq, "wait", wait_names[x->wait], "effectId",
                      x->effect_id, "effectKind", runbook_effect_kind_name(x->effect_kind),
                      "effectArgs", x->effect_args, "deadlineMs", (json_int_t)x->deadline_ms,
                      "wakeMs", (json_int_t)x->wake_ms, "approvals", x->approvals,
                      "interactiveNext",
                      x->interactive_next >= 0 ? x->doc->steps[x->interactive_next].name : NULL,
                      "criticalFailed", x->critical_failed, "abortStatus",
                      runbook_status_name(x->abort_status), "cancelPath", x->cancel_path,
                      "cancelDeadlineMs", (json_int_t)x->cancel_deadline_ms))) {
        json_decref(j);
        return CORDON_ENOMEM;
    }
    *out = j;
    return 0;
}

static int restore_fail(struct runbook_exec *x, struct cordon_diag *diag, const char *what)
{
    runbook_exec_free(x);
    cordon_diag_set(diag, "InvalidState", 0, 0, 0, "execution state: %s", what);
    return CORDON_EINVAL;
}

static int set_json(json_t **slot, json_t *v, bool object)
{
    if (!v || (object ? !json_is_object(v) : !json_is_array(v)))
        return CORDON_EINVAL;
    json_decref(*slot);
    *slot = json_deep_copy(v);
    return *slot ? 0 : CORDON_ENOMEM;
}

int runbook_exec_from_json(struct runbook_exec **out, const struct runbook_doc *doc,
                           const json_t *state, const struct runbook_exec_config *cfg,
                           struct cordon_diag *diag)
{
    struct runbook_exec *x;
    json_t *m, *c, *v;
    char fp[32];
    const char *s;
    size_t i;
    int rc;

    *out = NULL;
    cordon_diag_clear(diag);
    if (!json_is_object(state) ||
        json_integer_value(json_object_get(state, "version")) != STATE_VERSION)
        return restore_fail(NULL, diag, "unknown version");
    snprintf(fp, sizeof(fp), "%016" PRIx64, doc->fingerprint);
    s = json_string_value(json_object_get(state, "documentFingerprint"));
    if (!s || strcmp(s, fp) != 0)
        return restore_fail(NULL, diag, "it was made by a different document");
    x = exec_alloc(doc);
    if (!x)
        return CORDON_ENOMEM;
    s = json_string_value(json_object_get(state, "id"));
    if (!valid_exec_id(s))
        return restore_fail(x, diag, "bad id");
    snprintf(x->id, sizeof(x->id), "%s", s);
    c = json_object_get(state, "config");
    if (cfg) {
        rc = set_config(x, cfg);
    } else {
        struct runbook_exec_config sc = {
            json_string_value(json_object_get(c, "accountId")),
            json_string_value(json_object_get(c, "region")),
            json_string_value(json_object_get(c, "partition")),
            json_is_true(json_object_get(c, "interactive")),
        };
        rc = set_config(x, &sc);
    }
    if (rc) {
        runbook_exec_free(x);
        return rc;
    }
    if (status_parse(json_string_value(json_object_get(state, "status")), &x->status))
        return restore_fail(x, diag, "bad status");
    x->start_ms = json_integer_value(json_object_get(state, "startMs"));
    x->end_ms = json_integer_value(json_object_get(state, "endMs"));
    if (set_json(&x->params, json_object_get(state, "params"), true) ||
        set_json(&x->outputs, json_object_get(state, "outputs"), true) ||
        set_json(&x->vars, json_object_get(state, "variables"), true) ||
        set_json(&x->records, json_object_get(state, "records"), false) ||
        set_json(&x->exec_outputs, json_object_get(state, "executionOutputs"), true))
        return restore_fail(x, diag, "missing params, outputs, variables or records");
    snprintf(x->failure, sizeof(x->failure), "%s",
             json_string_value(json_object_get(state, "failure"))
                 ? json_string_value(json_object_get(state, "failure"))
                 : "");
    m = json_object_get(state, "machine");
    if (!json_is_object(m))
        return restore_fail(x, diag, "missing machine");
    s = json_string_value(json_object_get(m, "step"));
    x->cur = s ? runbook_doc_step_index(doc, s) : -1;
    if (s && x->cur < 0)
        return restore_fail(x, diag, "unknown current step");
    x->rec = (int)json_integer_value(json_object_get(m, "record"));
    if (x->rec >= (int)json_array_size(x->records) || x->rec < -1 || (x->cur >= 0 && x->rec < 0))
        return restore_fail(x, diag, "bad record index");
    x->attempt = (int)json_integer_value(json_object_get(m, "attempt"));
    x->seq = (int)json_integer_value(json_object_get(m, "seq"));
    s = json_string_value(json_object_get(m, "wait"));
    for (i = 0; s && i < sizeof(wait_names) / sizeof(wait_names[0]); i++)
        if (strcmp(s, wait_names[i]) == 0)
            x->wait = (enum wait_kind)i;
    s = json_string_value(json_object_get(m, "effectId"));
    snprintf(x->effect_id, sizeof(x->effect_id), "%s", s ? s : "");
    if (effect_kind_parse(json_string_value(json_object_get(m, "effectKind")), &x->effect_kind))
        return restore_fail(x, diag, "bad effect kind");
    v = json_object_get(m, "effectArgs");
    if (v && json_is_object(v))
        x->effect_args = json_deep_copy(v);
    if (x->wait == WAIT_ACTION && !x->effect_args)
        return restore_fail(x, diag, "action without its arguments");
    x->deadline_ms = json_integer_value(json_object_get(m, "deadlineMs"));
    x->wake_ms = json_integer_value(json_object_get(m, "wakeMs"));
    if (set_json(&x->approvals, json_object_get(m, "approvals"), false))
        return restore_fail(x, diag, "bad approvals");
    s = json_string_value(json_object_get(m, "interactiveNext"));
    x->interactive_next = s ? runbook_doc_step_index(doc, s) : -1;
    x->critical_failed = json_is_true(json_object_get(m, "criticalFailed"));
    if (status_parse(json_string_value(json_object_get(m, "abortStatus")), &x->abort_status))
        return restore_fail(x, diag, "bad abort status");
    x->cancel_path = json_is_true(json_object_get(m, "cancelPath"));
    x->cancel_deadline_ms = json_integer_value(json_object_get(m, "cancelDeadlineMs"));
    if (x->wait != WAIT_NONE && x->wait != WAIT_INTERACTIVE && x->cur < 0)
        return restore_fail(x, diag, "waiting without a step");
    *out = x;
    return 0;
}

int runbook_exec_recover(struct runbook_exec *x, int64_t now_ms, struct runbook_effects *out)
{
    const struct runbook_step *st = cur_step(x);
    char id[LOCAL_ID];
    int rc = 0;

    if (runbook_status_terminal(x->status) || x->status == RUNBOOK_STATUS_PENDING)
        return 0;
    if (x->cancel_path && x->cancel_deadline_ms) {
        snprintf(id, sizeof(id), "%s/cancel-path", x->id);
        rc = emit(out, RUNBOOK_EFFECT_WAIT_UNTIL, id, "", 0, 0, x->cancel_deadline_ms,
                  json_pack("{s:s}", "purpose", "cancel"));
        if (rc)
            return rc;
    }
    switch (x->wait) {
    case WAIT_ACTION: {
        char msg[160];
        /* The action's outcome is unknown: a lost attempt. */
        snprintf(msg, sizeof(msg), "interrupted by a restart during attempt %d", x->attempt);
        rc = cancel_inflight(x, out);
        if (rc)
            return rc;
        rc = step_failed(x, now_ms, msg, "Invocation", "Internal", false, true, out);
        if (rc)
            return rc;
        break;
    }
    case WAIT_SLEEP:
        rc = emit_deadline(x, "wake", x->wake_ms, out);
        if (!rc && x->deadline_ms)
            rc = emit_deadline(x, "timeout", x->deadline_ms, out);
        break;
    case WAIT_PAUSE:
    case WAIT_APPROVE:
        rc = emit_wait_signal(x, out);
        if (!rc && x->deadline_ms)
            rc = emit_deadline(x, "timeout", x->deadline_ms, out);
        break;
    case WAIT_INTERACTIVE:
        snprintf(id, sizeof(id), "%s/interactive", x->id);
        rc = emit(out, RUNBOOK_EFFECT_WAIT_SIGNAL, id, "", 0, 0, 0,
                  json_pack("{s:[s,s]}", "signals", "Resume", "StartStep"));
        break;
    case WAIT_NONE:
        break;
    }
    (void)st;
    if (rc)
        return rc;
    /* Deadlines that passed while the daemon was down fire now. */
    return runbook_exec_on_timer(x, now_ms, out);
}

/* ---------------------------------------------------------------------- */
/* Read access                                                             */
/* ---------------------------------------------------------------------- */

const char *runbook_exec_id(const struct runbook_exec *x)
{
    return x->id;
}

enum runbook_status runbook_exec_status(const struct runbook_exec *x)
{
    return x->status;
}

const char *runbook_exec_current_step(const struct runbook_exec *x)
{
    return x->cur >= 0 ? x->doc->steps[x->cur].name : NULL;
}

const char *runbook_exec_failure(const struct runbook_exec *x)
{
    return x->failure;
}

const json_t *runbook_exec_outputs(const struct runbook_exec *x)
{
    return x->exec_outputs;
}

const json_t *runbook_exec_records(const struct runbook_exec *x)
{
    return x->records;
}

static const json_t *latest_record(const struct runbook_exec *x, const char *step)
{
    size_t i = json_array_size(x->records);

    while (i-- > 0) {
        const json_t *r = json_array_get(x->records, i);
        if (strcmp(json_string_value(json_object_get(r, "StepName")), step) == 0)
            return r;
    }
    return NULL;
}

enum runbook_status runbook_exec_step_status(const struct runbook_exec *x, const char *step)
{
    const json_t *r = latest_record(x, step);
    enum runbook_status s = RUNBOOK_STATUS_PENDING;

    if (r)
        status_parse(json_string_value(json_object_get(r, "StepStatus")), &s);
    return s;
}

const char *runbook_exec_step_description(const struct runbook_exec *x, const char *step)
{
    const json_t *r = latest_record(x, step);

    return r ? json_string_value(json_object_get(r, "Description")) : NULL;
}

const json_t *runbook_exec_variable(const struct runbook_exec *x, const char *name)
{
    return json_object_get(x->vars, name);
}
