/*
 * runbook_exec.h — the runbook interpreter: a pure state machine (§17.4).
 *
 * An execution runs one loaded document (runbook_doc.h). It never does I/O
 * and never reads a clock: every input carries `now_ms`, and everything the
 * outside world must do is returned as an *effect* appended to a caller's
 * `struct runbook_effects` list. The shell (cordond) runs the effects and
 * feeds back what happened:
 *
 *   runbook_exec_new()        validate parameters, create (status Pending)
 *   runbook_exec_start()      run the first step                 -> effects
 *   runbook_exec_on_result()  an action effect finished          -> effects
 *   runbook_exec_on_timer()   the clock reached a WAIT_UNTIL due -> effects
 *   runbook_exec_signal()     Approve/Reject/Resume/StartStep/StopStep/Cancel
 *   runbook_exec_to_json() / runbook_exec_from_json()  persist / restore
 *   runbook_exec_recover()    after a crash (see below)          -> effects
 *
 * Protocol for the shell: after each call, store the new state
 * (runbook_exec_to_json) together with the returned effects in one
 * transaction, then run the effects. Every effect has an `id` that is stable
 * and unique per execution, step execution, attempt and purpose; use it as
 * the idempotency key. A result for an effect that is no longer awaited
 * (the attempt timed out, the step was stopped) is refused with
 * CORDON_ENOTFOUND and changes nothing.
 *
 * Recovery rule (runbook_exec_recover, after kill -9 and restore): a sleep,
 * pause, approval or timeout continues where it was (its WAIT_* effects are
 * emitted again with the same ids and due times; deadlines already passed
 * fire at once); an action that was running (script, function, API call,
 * HTTP, MQTT, quarantine, notify) is considered lost: it is retried as a new
 * attempt if the step has attempts left, otherwise the step fails with
 * "interrupted by a restart" and the document's onFailure applies.
 */
#ifndef CORDON_RUNBOOK_EXEC_H
#define CORDON_RUNBOOK_EXEC_H

#include "cordon.h"
#include "runbook_doc.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define RUNBOOK_EXEC_ID_MAX              128 /* execution id: [A-Za-z0-9_.-]{1,128} */
#define RUNBOOK_EFFECT_ID_MAX            320
#define RUNBOOK_MAX_STEP_EXECUTIONS      1000         /* bounds backward nextStep loops */
#define RUNBOOK_RESPONSE_MAX_BYTES       (200 * 1024) /* response JSON fed back */
#define RUNBOOK_SCRIPT_PAYLOAD_MAX_BYTES (100 * 1024) /* aws:executeScript return value */

/* Execution and step statuses (§17.8). */
enum runbook_status {
    RUNBOOK_STATUS_PENDING,
    RUNBOOK_STATUS_IN_PROGRESS,
    RUNBOOK_STATUS_WAITING,
    RUNBOOK_STATUS_SUCCESS,
    RUNBOOK_STATUS_TIMED_OUT,
    RUNBOOK_STATUS_CANCELLING,
    RUNBOOK_STATUS_CANCELLED,
    RUNBOOK_STATUS_FAILED,
};

const char *runbook_status_name(enum runbook_status s);
bool runbook_status_terminal(enum runbook_status s);

/*
 * Effect kinds. `args` (a JSON object owned by the effect) holds the
 * kind-specific fields; docs/runbooks.md lists them:
 *  RUN_SCRIPT      runtime, handler, script | attachment, inputPayload
 *  INVOKE_FUNCTION functionName, qualifier, invocationType, logType, payload (JSON value)
 *  CALL_API        service, api, params (object)
 *  HTTP_REQUEST    method, url, headers (object), body (string|null)
 *  PUBLISH_MQTT    topic, payload (string), qos, retain
 *  QUARANTINE      things (array), reason, incidentId
 *  RELEASE         things (array), reason, incidentId
 *  NOTIFY          message, subject, targets (array), incidentId
 *  WAIT_UNTIL      (due_ms) purpose: "sleep" | "timeout" | "cancel"
 *  WAIT_SIGNAL     signals (array of names), plus approvers, minRequiredApprovals, message
 *                  for aws:approve; description (rendered) for aws:pause
 *  CANCEL          effectId: stop that running effect (kill the script, drop the call)
 *  STATUS          scope "step" | "execution", status, step, message: for the timeline
 * The first eight are *actions*: answer each with runbook_exec_on_result().
 */
enum runbook_effect_kind {
    RUNBOOK_EFFECT_RUN_SCRIPT,
    RUNBOOK_EFFECT_INVOKE_FUNCTION,
    RUNBOOK_EFFECT_CALL_API,
    RUNBOOK_EFFECT_HTTP_REQUEST,
    RUNBOOK_EFFECT_PUBLISH_MQTT,
    RUNBOOK_EFFECT_QUARANTINE,
    RUNBOOK_EFFECT_RELEASE,
    RUNBOOK_EFFECT_NOTIFY,
    RUNBOOK_EFFECT_WAIT_UNTIL,
    RUNBOOK_EFFECT_WAIT_SIGNAL,
    RUNBOOK_EFFECT_CANCEL,
    RUNBOOK_EFFECT_STATUS,
};

const char *runbook_effect_kind_name(enum runbook_effect_kind k);

struct runbook_effect {
    enum runbook_effect_kind kind;
    char id[RUNBOOK_EFFECT_ID_MAX];  /* idempotency key */
    char step[RUNBOOK_NAME_MAX + 1]; /* step name ("" for execution-level) */
    int attempt;                     /* 1-based; 0 when not an attempt */
    int64_t timeout_ms;              /* actions: give up after this long (0 = none) */
    int64_t due_ms;                  /* WAIT_UNTIL: when to call runbook_exec_on_timer */
    json_t *args;                    /* owned */
};

/* A growable list of effects the caller owns. */
struct runbook_effects {
    struct runbook_effect *v;
    size_t n;
    size_t alloc;
};

void runbook_effects_init(struct runbook_effects *e);
/* Drop every effect (decref args); keeps the list usable. */
void runbook_effects_clear(struct runbook_effects *e);
void runbook_effects_free(struct runbook_effects *e);
/* A new JSON object describing an effect (for an outbox row); NULL on ENOMEM. */
json_t *runbook_effect_to_json(const struct runbook_effect *e);

/* Deployment values for {{ global:* }} and the run mode. Strings are copied. */
struct runbook_exec_config {
    const char *account_id; /* {{global:ACCOUNT_ID}}, Cordon: deployment id */
    const char *region;     /* {{global:REGION}}, Cordon: site name */
    const char *partition;  /* {{global:AWS_PARTITION}}; NULL = "cordon" */
    bool interactive;       /* Mode Interactive: wait for Resume/StartStep between steps */
};

/* What happened to an action effect. */
struct runbook_result {
    bool ok;
    const json_t *response; /* ok: the action's answer (see docs/runbooks.md); may be NULL */
    const char *error;      /* !ok: why, for the step's FailureMessage */
    bool timed_out;         /* !ok: the shell enforced the timeout */
};

enum runbook_signal_kind {
    RUNBOOK_SIGNAL_APPROVE,
    RUNBOOK_SIGNAL_REJECT,
    RUNBOOK_SIGNAL_RESUME,
    RUNBOOK_SIGNAL_START_STEP,
    RUNBOOK_SIGNAL_STOP_STEP,
    RUNBOOK_SIGNAL_CANCEL,
};

struct runbook_signal {
    enum runbook_signal_kind kind;
    const char *approver;          /* Approve/Reject: who (must be listed in Approvers) */
    const char *comment;           /* Approve/Reject: optional */
    const char *step_name;         /* StartStep */
    const char *step_execution_id; /* StopStep */
};

struct runbook_exec;

/*
 * Create an execution of `doc` (borrowed: it must outlive the execution).
 * `params` are typed as runbook_params_resolve() expects (NULL = none) and
 * are validated here; a violation returns CORDON_EINVAL with the diag set
 * and no execution. `id` must match [A-Za-z0-9_.-]{1,128}. `cfg` may be
 * NULL. On success *out is Pending; free it with runbook_exec_free().
 */
int runbook_exec_new(struct runbook_exec **out, const struct runbook_doc *doc, const char *id,
                     const json_t *params, const struct runbook_exec_config *cfg,
                     struct cordon_diag *diag);

void runbook_exec_free(struct runbook_exec *x);

/* Start: InProgress, run mainSteps[0]. CORDON_ESTATE unless Pending. */
int runbook_exec_start(struct runbook_exec *x, int64_t now_ms, struct runbook_effects *out);

/*
 * An action effect finished. CORDON_ENOTFOUND when `effect_id` is not the
 * action currently awaited (stale or unknown): nothing changes. A response
 * larger than RUNBOOK_RESPONSE_MAX_BYTES fails the step.
 */
int runbook_exec_on_result(struct runbook_exec *x, const char *effect_id,
                           const struct runbook_result *r, int64_t now_ms,
                           struct runbook_effects *out);

/* The clock moved: fire every deadline at or before now_ms. Harmless when none is due. */
int runbook_exec_on_timer(struct runbook_exec *x, int64_t now_ms, struct runbook_effects *out);

/*
 * A request from a person or the API. CORDON_ESTATE when it does not apply
 * now (e.g. Resume while no pause waits), CORDON_EINVAL for a bad request
 * (an approver not in Approvers, a second decision by the same approver, an
 * unknown step), each with the diag set. Cancel on a finished execution is
 * CORDON_ESTATE; a second Cancel while Cancelling is a no-op.
 */
int runbook_exec_signal(struct runbook_exec *x, const struct runbook_signal *sig, int64_t now_ms,
                        struct runbook_effects *out, struct cordon_diag *diag);

/* The earliest pending deadline (sleep end, timeout, cancel limit); CORDON_ENOTFOUND if none. */
int runbook_exec_next_deadline(const struct runbook_exec *x, int64_t *due_ms);

/* Serialize the whole state. *out is a new JSON object. */
int runbook_exec_to_json(const struct runbook_exec *x, json_t **out);

/*
 * Restore from runbook_exec_to_json() output. `doc` must be the same
 * document (checked by fingerprint: CORDON_EINVAL otherwise). `cfg` NULL
 * keeps the stored configuration. Call runbook_exec_recover() next.
 */
int runbook_exec_from_json(struct runbook_exec **out, const struct runbook_doc *doc,
                           const json_t *state, const struct runbook_exec_config *cfg,
                           struct cordon_diag *diag);

/* Apply the recovery rule above after a restore. */
int runbook_exec_recover(struct runbook_exec *x, int64_t now_ms, struct runbook_effects *out);

/* ---- Read access (pointers stay valid until the next call that changes x) ---- */

const char *runbook_exec_id(const struct runbook_exec *x);
enum runbook_status runbook_exec_status(const struct runbook_exec *x);
/* Name of the step running or waiting, or NULL. */
const char *runbook_exec_current_step(const struct runbook_exec *x);
/* Why the execution failed / was cancelled, or "" */
const char *runbook_exec_failure(const struct runbook_exec *x);
/* Execution outputs (document `outputs`) as an object, borrowed. */
const json_t *runbook_exec_outputs(const struct runbook_exec *x);
/* Step execution records (§17.9 fields), an array of objects, borrowed. */
const json_t *runbook_exec_records(const struct runbook_exec *x);
/* Status of a step's latest execution (Pending if it never ran). */
enum runbook_status runbook_exec_step_status(const struct runbook_exec *x, const char *step);
/* Rendered description of a step's latest execution, or NULL. */
const char *runbook_exec_step_description(const struct runbook_exec *x, const char *step);
/* Current value of a runtime variable, borrowed, or NULL. */
const json_t *runbook_exec_variable(const struct runbook_exec *x, const char *name);

#endif
