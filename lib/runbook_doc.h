/*
 * runbook_doc.h — automation documents (SSM Automation schema 0.3) for Cordon.
 *
 * runbook_doc_load() parses a YAML or JSON document, validates it with AWS's
 * rules plus Cordon's stricter ones (incident-response-spec.md §17), and
 * returns a read-only, resolved form the interpreter (runbook_exec.h) runs:
 * step targets are indexes, effective isCritical is computed, branch
 * conditions are compiled, inputs are jansson values still holding their
 * `{{ }}` templates (late binding: rendered when the step starts).
 *
 * Every error fills the diag with a stable code and a message that starts
 * with "file:line:column: " (file omitted when not given) and says what was
 * expected. Nothing is silently skipped: an action Cordon cannot run is an
 * error that lists the supported ones.
 *
 * Limits (documented in docs/runbooks.md) are the RUNBOOK_* macros below.
 */
#ifndef CORDON_RUNBOOK_DOC_H
#define CORDON_RUNBOOK_DOC_H

#include "cordon.h"

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUNBOOK_DOC_MAX_BYTES           (1024 * 1024) /* default document size cap */
#define RUNBOOK_DOC_MAX_DEPTH           32            /* nesting levels of mappings/sequences */
#define RUNBOOK_DOC_MAX_NODES           100000        /* YAML nodes, aliases expanded */
#define RUNBOOK_MAX_STEPS               200
#define RUNBOOK_MAX_PARAMS              100
#define RUNBOOK_MAX_VARIABLES           100
#define RUNBOOK_MAX_STEP_OUTPUTS        50
#define RUNBOOK_MAX_CHOICES             50
#define RUNBOOK_NAME_MAX                128 /* step, parameter, variable and output names */
#define RUNBOOK_MAX_ATTEMPTS            10
#define RUNBOOK_SCRIPT_MAX_SECONDS      600
#define RUNBOOK_FUNCTION_MAX_SECONDS    300
#define RUNBOOK_DEFAULT_ACTION_SECONDS  3600 /* api, http, mqtt, quarantine, notify */
#define RUNBOOK_SLEEP_MAX_SECONDS       604799
#define RUNBOOK_APPROVE_DEFAULT_SECONDS (7 * 86400)
#define RUNBOOK_APPROVE_MAX_SECONDS     (30 * 86400)
#define RUNBOOK_APPROVERS_MAX           10
#define RUNBOOK_APPROVE_MESSAGE_MAX     4096
#define RUNBOOK_CANCEL_PATH_SECONDS     120

/* Parameter, variable and output types (§17.2). */
enum runbook_type {
    RUNBOOK_TYPE_STRING,
    RUNBOOK_TYPE_STRING_LIST,
    RUNBOOK_TYPE_INTEGER,
    RUNBOOK_TYPE_BOOLEAN,
    RUNBOOK_TYPE_MAP_LIST,
    RUNBOOK_TYPE_STRING_MAP,
};

enum runbook_action {
    RUNBOOK_ACTION_PAUSE,
    RUNBOOK_ACTION_APPROVE,
    RUNBOOK_ACTION_SLEEP,
    RUNBOOK_ACTION_BRANCH,
    RUNBOOK_ACTION_EXECUTE_SCRIPT,
    RUNBOOK_ACTION_EXECUTE_AWS_API,
    RUNBOOK_ACTION_INVOKE_LAMBDA,
    RUNBOOK_ACTION_UPDATE_VARIABLE,
    RUNBOOK_ACTION_QUARANTINE_THING, /* cordon:quarantineThing */
    RUNBOOK_ACTION_RELEASE_THING,    /* cordon:releaseThing */
    RUNBOOK_ACTION_NOTIFY,           /* cordon:notify */
    RUNBOOK_ACTION_HTTP_REQUEST,     /* cordon:httpRequest */
    RUNBOOK_ACTION_PUBLISH_MQTT,     /* cordon:publishMqtt */
    RUNBOOK_ACTION_COUNT_,
};

enum runbook_on_failure {
    RUNBOOK_ON_FAILURE_ABORT,
    RUNBOOK_ON_FAILURE_CONTINUE,
    RUNBOOK_ON_FAILURE_STEP, /* step:NAME, see on_failure_step */
};

/* Branch operators (§17.7). */
enum runbook_op {
    RUNBOOK_OP_AND,
    RUNBOOK_OP_OR,
    RUNBOOK_OP_NOT,
    RUNBOOK_OP_STRING_EQUALS,
    RUNBOOK_OP_EQUALS_IGNORE_CASE,
    RUNBOOK_OP_STARTS_WITH,
    RUNBOOK_OP_ENDS_WITH,
    RUNBOOK_OP_CONTAINS,
    RUNBOOK_OP_NUMERIC_EQUALS,
    RUNBOOK_OP_NUMERIC_GREATER,
    RUNBOOK_OP_NUMERIC_LESSER,
    RUNBOOK_OP_NUMERIC_GREATER_OR_EQUALS,
    RUNBOOK_OP_NUMERIC_LESSER_OR_EQUALS,
    RUNBOOK_OP_BOOLEAN_EQUALS,
};

struct runbook_cond {
    enum runbook_op op;
    char *variable;            /* leaf: the Variable template, e.g. "{{ Step.Out }}" */
    json_t *value;             /* leaf: the operand (may hold a template string) */
    struct runbook_cond *kids; /* And/Or: n kids; Not: 1 kid */
    size_t nkids;
};

struct runbook_choice {
    struct runbook_cond cond;
    int next; /* step index of NextStep */
};

struct runbook_param {
    char *name;
    enum runbook_type type;
    char *description;
    json_t *def;            /* default value, NULL when none (the parameter is required) */
    json_t *allowed_values; /* array or NULL */
    char *pattern;          /* allowedPattern as written, or NULL */
    regex_t re;             /* compiled POSIX ERE form of pattern */
    long min_items, max_items, min_chars, max_chars; /* -1 when not set */
    int line, column;
};

struct runbook_variable {
    char *name;
    enum runbook_type type;
    char *description;
    json_t *def; /* initial value; NULL = unset until aws:updateVariable */
};

struct runbook_output_decl {
    char *name;
    char *selector; /* "$.Payload.x" */
    enum runbook_type type;
};

struct runbook_step {
    char *name;
    enum runbook_action action;
    char *description; /* template, rendered when the step starts; NULL when none */
    json_t *inputs;    /* object; string leaves may hold templates */
    int max_attempts;
    int timeout_seconds; /* effective per-attempt timeout; 0 = none (pause, branch...) */
    bool timeout_explicit;
    enum runbook_on_failure on_failure;
    int on_failure_step; /* index when RUNBOOK_ON_FAILURE_STEP, else -1 */
    int on_cancel_step;  /* index for onCancel step:X, -1 for Abort */
    bool is_end;
    int next_step;    /* explicit nextStep index, -1 when not set */
    bool is_critical; /* effective value (§17.3) */
    bool is_critical_explicit;
    struct runbook_output_decl *outputs;
    size_t noutputs;
    struct runbook_choice *choices; /* aws:branch */
    size_t nchoices;
    int default_step; /* aws:branch Default, -1 when none */
    int line, column;
};

struct runbook_doc {
    char *file;
    char *description;
    char *assume_role;
    struct runbook_param *params;
    size_t nparams;
    struct runbook_variable *vars;
    size_t nvars;
    struct runbook_step *steps;
    size_t nsteps;
    char **outputs; /* execution outputs, "Step.Output" */
    size_t noutputs;
    json_t *files;        /* `files` as written (object) or NULL */
    uint64_t fingerprint; /* FNV-1a of the source bytes, checked on restore */
};

struct runbook_doc_options {
    size_t max_bytes; /* 0 = RUNBOOK_DOC_MAX_BYTES */
    int json;         /* 1 JSON, 0 YAML, -1 guess (".json" file name or leading '{') */
    /* Function names aws:invokeLambdaFunction may call besides the built-ins
     * (cordon-contain, aws-iot-incident-containment). NULL-terminated, or NULL. */
    const char *const *functions;
};

/*
 * Parse and validate a document. `file` (may be NULL) only names the input
 * in messages. `opt` may be NULL for defaults. On success *out is a new
 * document the caller frees with runbook_doc_free(); on failure *out is
 * NULL, the diag is set and CORDON_EINVAL, CORDON_ETOOBIG, CORDON_EUNSUPPORTED
 * (an action or feature Cordon does not run) or CORDON_ENOMEM is returned.
 */
int runbook_doc_load(struct runbook_doc **out, const char *src, size_t len, const char *file,
                     const struct runbook_doc_options *opt, struct cordon_diag *diag);

/* Free a document (safe on NULL). Executions using it must be freed first. */
void runbook_doc_free(struct runbook_doc *doc);

/*
 * The declaration of parameter `name`, or NULL. Lets the caller enforce the
 * dynamic-parameter type rule (§4: INCIDENT_RECORD_ARN only into a String,
 * INVOLVED_RESOURCES only into a StringList) before starting an execution.
 */
const struct runbook_param *runbook_doc_param(const struct runbook_doc *doc, const char *name);

/* Index of the step named `name`, or -1. */
int runbook_doc_step_index(const struct runbook_doc *doc, const char *name);

/*
 * Check the parameters given at execution start against the declarations
 * (§17.2): strict type, allowedValues, allowedPattern, min/max, unknown
 * names, required values; defaults fill what is missing. `given` is a JSON
 * object (NULL = none) whose values are typed (String = JSON string, Integer
 * = JSON integer, Boolean = JSON true/false, StringList = array of strings,
 * StringMap = object, MapList = array of objects); no coercion. On success
 * *resolved is a new object (caller decrefs) holding every declared
 * parameter that has a value; on failure *resolved is NULL, the diag names
 * the parameter and CORDON_EINVAL is returned.
 */
int runbook_params_resolve(const struct runbook_doc *doc, const json_t *given, json_t **resolved,
                           struct cordon_diag *diag);

/*
 * Same, for the AWS wire form used by response plans (§4): every value is a
 * list of strings. A String, Integer or Boolean parameter takes exactly one
 * string in canonical form ("42", "true"/"false"); a StringList takes the
 * list; StringMap and MapList take one string holding JSON.
 */
int runbook_params_resolve_strings(const struct runbook_doc *doc, const json_t *given,
                                   json_t **resolved, struct cordon_diag *diag);

/* "aws:pause", ... for an action; "String", ... for a type. */
const char *runbook_action_name(enum runbook_action a);
const char *runbook_type_name(enum runbook_type t);

/* Does `v` have type `t` (strict, §17.2)? */
bool runbook_type_check(enum runbook_type t, const json_t *v);

/*
 * Check a step's rendered inputs (no templates left) against its action's
 * input table: known names, value types, required inputs, executeAwsApi
 * dispatch table. Returns 0, or CORDON_EINVAL with a reason in `why`.
 */
int runbook_step_check_inputs(const struct runbook_step *st, const json_t *inputs, char *why,
                              size_t len);

/* ISO-8601 duration (PnW, PnDTnHnMnS) to seconds; CORDON_EINVAL when malformed. */
int runbook_duration_parse(const char *s, double *seconds);

/* Comma-separated list of the actions Cordon supports (for messages and docs). */
const char *runbook_supported_actions(void);

#endif
