#include "runbook_doc.h"

#include "runbook_template.h"
#include "runbook_tree.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------- */
/* Tables                                                                  */
/* ---------------------------------------------------------------------- */

static const char *const action_names[RUNBOOK_ACTION_COUNT_] = {
    [RUNBOOK_ACTION_PAUSE] = "aws:pause",
    [RUNBOOK_ACTION_APPROVE] = "aws:approve",
    [RUNBOOK_ACTION_SLEEP] = "aws:sleep",
    [RUNBOOK_ACTION_BRANCH] = "aws:branch",
    [RUNBOOK_ACTION_EXECUTE_SCRIPT] = "aws:executeScript",
    [RUNBOOK_ACTION_EXECUTE_AWS_API] = "aws:executeAwsApi",
    [RUNBOOK_ACTION_INVOKE_LAMBDA] = "aws:invokeLambdaFunction",
    [RUNBOOK_ACTION_UPDATE_VARIABLE] = "aws:updateVariable",
    [RUNBOOK_ACTION_QUARANTINE_THING] = "cordon:quarantineThing",
    [RUNBOOK_ACTION_RELEASE_THING] = "cordon:releaseThing",
    [RUNBOOK_ACTION_NOTIFY] = "cordon:notify",
    [RUNBOOK_ACTION_HTTP_REQUEST] = "cordon:httpRequest",
    [RUNBOOK_ACTION_PUBLISH_MQTT] = "cordon:publishMqtt",
};

static const char supported_actions[] =
    "aws:pause, aws:approve, aws:sleep, aws:branch, aws:executeScript, aws:executeAwsApi, "
    "aws:invokeLambdaFunction, aws:updateVariable, cordon:quarantineThing, cordon:releaseThing, "
    "cordon:notify, cordon:httpRequest, cordon:publishMqtt";

static const char *const type_names[] = {
    [RUNBOOK_TYPE_STRING] = "String",    [RUNBOOK_TYPE_STRING_LIST] = "StringList",
    [RUNBOOK_TYPE_INTEGER] = "Integer",  [RUNBOOK_TYPE_BOOLEAN] = "Boolean",
    [RUNBOOK_TYPE_MAP_LIST] = "MapList", [RUNBOOK_TYPE_STRING_MAP] = "StringMap",
};

const char *runbook_action_name(enum runbook_action a)
{
    return (a >= 0 && a < RUNBOOK_ACTION_COUNT_) ? action_names[a] : "?";
}

const char *runbook_type_name(enum runbook_type t)
{
    return (t >= RUNBOOK_TYPE_STRING && t <= RUNBOOK_TYPE_STRING_MAP) ? type_names[t] : "?";
}

const char *runbook_supported_actions(void)
{
    return supported_actions;
}

bool runbook_type_check(enum runbook_type t, const json_t *v)
{
    size_t i;

    if (!v)
        return false;
    switch (t) {
    case RUNBOOK_TYPE_STRING:
        return json_is_string(v);
    case RUNBOOK_TYPE_INTEGER:
        return json_is_integer(v);
    case RUNBOOK_TYPE_BOOLEAN:
        return json_is_boolean(v);
    case RUNBOOK_TYPE_STRING_MAP:
        return json_is_object(v);
    case RUNBOOK_TYPE_STRING_LIST:
    case RUNBOOK_TYPE_MAP_LIST:
        if (!json_is_array(v))
            return false;
        for (i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            if (t == RUNBOOK_TYPE_STRING_LIST ? !json_is_string(e) : !json_is_object(e))
                return false;
        }
        return true;
    }
    return false;
}

static int type_parse(const char *s, enum runbook_type *t)
{
    int i;

    for (i = RUNBOOK_TYPE_STRING; i <= RUNBOOK_TYPE_STRING_MAP; i++) {
        if (strcmp(s, type_names[i]) == 0) {
            *t = (enum runbook_type)i;
            return 0;
        }
    }
    return CORDON_EINVAL;
}

/* Input value kinds accepted by an action input (checked on literal values at
 * load time and on rendered values when the step runs). */
#define IN_STR     0x01u
#define IN_INT     0x02u
#define IN_BOOL    0x04u
#define IN_LIST    0x08u /* list of strings */
#define IN_MAP     0x10u
#define IN_MAPLIST 0x20u
#define IN_ANY     0x3fu

struct input_spec {
    const char *name;
    unsigned kinds;
    bool required;
};

/* Per action: known inputs. Empty name ends a list. */
static const struct input_spec in_pause[] = { { NULL, 0, false } };
static const struct input_spec in_approve[] = { { "Approvers", IN_LIST | IN_STR, true },
                                                { "MinRequiredApprovals", IN_INT, false },
                                                { "Message", IN_STR, false },
                                                { "NotificationArn", IN_STR, false },
                                                { NULL, 0, false } };
static const struct input_spec in_sleep[] = { { "Duration", IN_STR, false },
                                              { "Timestamp", IN_STR, false },
                                              { NULL, 0, false } };
static const struct input_spec in_branch[] = { { "Choices", IN_MAPLIST, true },
                                               { "Default", IN_STR, false },
                                               { NULL, 0, false } };
static const struct input_spec in_script[] = {
    { "Runtime", IN_STR, true },     { "Handler", IN_STR, false },      { "Script", IN_STR, false },
    { "Attachment", IN_STR, false }, { "InputPayload", IN_MAP, false }, { NULL, 0, false }
};
static const struct input_spec in_lambda[] = {
    { "FunctionName", IN_STR, true },    { "Qualifier", IN_STR, false },
    { "InvocationType", IN_STR, false }, { "LogType", IN_STR, false },
    { "ClientContext", IN_STR, false },  { "InputPayload", IN_MAP, false },
    { "Payload", IN_STR, false },        { NULL, 0, false }
};
static const struct input_spec in_update_var[] = { { "Name", IN_STR, true },
                                                   { "Value", IN_ANY, true },
                                                   { NULL, 0, false } };
static const struct input_spec in_thing[] = { { "ThingName", IN_STR, false },
                                              { "ThingNames", IN_LIST, false },
                                              { "Reason", IN_STR, false },
                                              { "IncidentId", IN_STR, false },
                                              { NULL, 0, false } };
static const struct input_spec in_notify[] = { { "Message", IN_STR, true },
                                               { "Subject", IN_STR, false },
                                               { "Targets", IN_LIST, false },
                                               { "IncidentId", IN_STR, false },
                                               { NULL, 0, false } };
static const struct input_spec in_http[] = { { "Url", IN_STR, true },
                                             { "Method", IN_STR, false },
                                             { "Headers", IN_MAP, false },
                                             { "Body", IN_STR | IN_MAP | IN_MAPLIST, false },
                                             { NULL, 0, false } };
static const struct input_spec in_mqtt[] = { { "Topic", IN_STR, true },
                                             { "Payload", IN_STR | IN_MAP, true },
                                             { "Qos", IN_INT, false },
                                             { "Retain", IN_BOOL, false },
                                             { NULL, 0, false } };

static const struct input_spec *const action_inputs[RUNBOOK_ACTION_COUNT_] = {
    [RUNBOOK_ACTION_PAUSE] = in_pause,
    [RUNBOOK_ACTION_APPROVE] = in_approve,
    [RUNBOOK_ACTION_SLEEP] = in_sleep,
    [RUNBOOK_ACTION_BRANCH] = in_branch,
    [RUNBOOK_ACTION_EXECUTE_SCRIPT] = in_script,
    [RUNBOOK_ACTION_EXECUTE_AWS_API] = NULL, /* dispatch table below */
    [RUNBOOK_ACTION_INVOKE_LAMBDA] = in_lambda,
    [RUNBOOK_ACTION_UPDATE_VARIABLE] = in_update_var,
    [RUNBOOK_ACTION_QUARANTINE_THING] = in_thing,
    [RUNBOOK_ACTION_RELEASE_THING] = in_thing,
    [RUNBOOK_ACTION_NOTIFY] = in_notify,
    [RUNBOOK_ACTION_HTTP_REQUEST] = in_http,
    [RUNBOOK_ACTION_PUBLISH_MQTT] = in_mqtt,
};

/* aws:executeAwsApi dispatch table: the local services Cordon answers. */
struct api_spec {
    const char *service;
    const char *api;
    const struct input_spec *params;
};

static const struct input_spec p_add_thing[] = { { "thingGroupName", IN_STR, false },
                                                 { "thingGroupArn", IN_STR, false },
                                                 { "thingName", IN_STR, false },
                                                 { "thingArn", IN_STR, false },
                                                 { "overrideDynamicGroups", IN_BOOL, false },
                                                 { NULL, 0, false } };
static const struct input_spec p_remove_thing[] = { { "thingGroupName", IN_STR, false },
                                                    { "thingGroupArn", IN_STR, false },
                                                    { "thingName", IN_STR, false },
                                                    { "thingArn", IN_STR, false },
                                                    { NULL, 0, false } };
static const struct input_spec p_update_cert[] = { { "certificateId", IN_STR, true },
                                                   { "newStatus", IN_STR, true },
                                                   { NULL, 0, false } };
static const struct input_spec p_list_violations[] = { { "thingName", IN_STR, false },
                                                       { "securityProfileName", IN_STR, false },
                                                       { "behaviorCriteriaType", IN_STR, false },
                                                       { "listSuppressedAlerts", IN_BOOL, false },
                                                       { "verificationState", IN_STR, false },
                                                       { "nextToken", IN_STR, false },
                                                       { "maxResults", IN_INT, false },
                                                       { NULL, 0, false } };
static const struct input_spec p_update_incident[] = { { "arn", IN_STR, true },
                                                       { "title", IN_STR, false },
                                                       { "summary", IN_STR, false },
                                                       { "impact", IN_INT, false },
                                                       { "status", IN_STR, false },
                                                       { "chatChannel", IN_MAP, false },
                                                       { "notificationTargets", IN_MAPLIST, false },
                                                       { "clientToken", IN_STR, false },
                                                       { NULL, 0, false } };
static const struct input_spec p_timeline[] = { { "incidentRecordArn", IN_STR, true },
                                                { "eventTime", IN_STR | IN_INT, true },
                                                { "eventType", IN_STR, true },
                                                { "eventData", IN_STR, true },
                                                { "eventReferences", IN_MAPLIST, false },
                                                { "clientToken", IN_STR, false },
                                                { NULL, 0, false } };
static const struct input_spec p_related[] = { { "incidentRecordArn", IN_STR, true },
                                               { "relatedItemsUpdate", IN_MAP, true },
                                               { "clientToken", IN_STR, false },
                                               { NULL, 0, false } };

static const struct api_spec api_table[] = {
    { "iot", "AddThingToThingGroup", p_add_thing },
    { "iot", "RemoveThingFromThingGroup", p_remove_thing },
    { "iot", "UpdateCertificate", p_update_cert },
    { "iot", "ListActiveViolations", p_list_violations },
    { "ssm-incidents", "UpdateIncidentRecord", p_update_incident },
    { "ssm-incidents", "CreateTimelineEvent", p_timeline },
    { "ssm-incidents", "UpdateRelatedItems", p_related },
};

static const char supported_apis[] =
    "iot AddThingToThingGroup, iot RemoveThingFromThingGroup, iot UpdateCertificate, "
    "iot ListActiveViolations, ssm-incidents UpdateIncidentRecord, ssm-incidents "
    "CreateTimelineEvent, ssm-incidents UpdateRelatedItems";

static const char *const builtin_functions[] = { "cordon-contain", "aws-iot-incident-containment",
                                                 NULL };

/* Outputs every step of an action has without declaring them. */
struct builtin_output {
    enum runbook_action action;
    const char *name;
    enum runbook_type type;
};

static const struct builtin_output builtin_outputs[] = {
    { RUNBOOK_ACTION_APPROVE, "ApprovalStatus", RUNBOOK_TYPE_STRING },
    { RUNBOOK_ACTION_APPROVE, "ApproverDecisions", RUNBOOK_TYPE_MAP_LIST },
    { RUNBOOK_ACTION_INVOKE_LAMBDA, "StatusCode", RUNBOOK_TYPE_INTEGER },
    { RUNBOOK_ACTION_INVOKE_LAMBDA, "FunctionError", RUNBOOK_TYPE_STRING },
    { RUNBOOK_ACTION_INVOKE_LAMBDA, "LogResult", RUNBOOK_TYPE_STRING },
    { RUNBOOK_ACTION_INVOKE_LAMBDA, "Payload", RUNBOOK_TYPE_STRING },
    { RUNBOOK_ACTION_EXECUTE_SCRIPT, "OutputPayload", RUNBOOK_TYPE_STRING },
    { RUNBOOK_ACTION_HTTP_REQUEST, "StatusCode", RUNBOOK_TYPE_INTEGER },
};

/* Branch operators by name. */
static const struct {
    const char *name;
    enum runbook_op op;
} op_table[] = {
    { "StringEquals", RUNBOOK_OP_STRING_EQUALS },
    { "EqualsIgnoreCase", RUNBOOK_OP_EQUALS_IGNORE_CASE },
    { "StartsWith", RUNBOOK_OP_STARTS_WITH },
    { "EndsWith", RUNBOOK_OP_ENDS_WITH },
    { "Contains", RUNBOOK_OP_CONTAINS },
    { "NumericEquals", RUNBOOK_OP_NUMERIC_EQUALS },
    { "NumericGreater", RUNBOOK_OP_NUMERIC_GREATER },
    { "NumericLesser", RUNBOOK_OP_NUMERIC_LESSER },
    { "NumericGreaterOrEquals", RUNBOOK_OP_NUMERIC_GREATER_OR_EQUALS },
    { "NumericLesserOrEquals", RUNBOOK_OP_NUMERIC_LESSER_OR_EQUALS },
    { "BooleanEquals", RUNBOOK_OP_BOOLEAN_EQUALS },
};

static const char supported_ops[] =
    "StringEquals, EqualsIgnoreCase, StartsWith, EndsWith, Contains, NumericEquals, "
    "NumericGreater, NumericLesser, NumericGreaterOrEquals, NumericLesserOrEquals, "
    "BooleanEquals, And, Or, Not";

/* ---------------------------------------------------------------------- */
/* Loader context and errors                                               */
/* ---------------------------------------------------------------------- */

struct ld {
    struct runbook_tree *t;
    struct runbook_doc *doc;
    const struct runbook_doc_options *opt;
    struct cordon_diag *diag;
};

static int err_lc(struct ld *l, int rc, const char *code, int line, int column, const char *fmt,
                  ...) __attribute__((format(printf, 6, 7)));

static int err_lc(struct ld *l, int rc, const char *code, int line, int column, const char *fmt,
                  ...)
{
    char msg[CORDON_DIAG_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (l->t->file[0])
        cordon_diag_set(l->diag, code, 0, line, column, "%s:%d:%d: %s", l->t->file, line, column,
                        msg);
    else
        cordon_diag_set(l->diag, code, 0, line, column, "%d:%d: %s", line, column, msg);
    return rc;
}

#define ERR(l, node, code, ...)                                                                    \
    err_lc((l), CORDON_EINVAL, (code), (node)->line, (node)->column, __VA_ARGS__)

static const char *kind_name(const struct runbook_tree_node *n)
{
    if (n->type == RUNBOOK_TREE_MAP)
        return "a mapping";
    if (n->type == RUNBOOK_TREE_SEQ)
        return "a list";
    switch (n->stype) {
    case RUNBOOK_SCALAR_NULL:
        return "null";
    case RUNBOOK_SCALAR_BOOL:
        return "a boolean";
    case RUNBOOK_SCALAR_INT:
        return "an integer";
    case RUNBOOK_SCALAR_FLOAT:
        return "a number";
    default:
        return "a string";
    }
}

static int want_string(struct ld *l, const struct runbook_tree_node *n, const char *what)
{
    if (n->type != RUNBOOK_TREE_SCALAR || n->stype != RUNBOOK_SCALAR_STRING)
        return ERR(l, n, "InvalidType", "%s: expected a string, found %s", what, kind_name(n));
    return 0;
}

static int want_map(struct ld *l, const struct runbook_tree_node *n, const char *what)
{
    if (n->type != RUNBOOK_TREE_MAP)
        return ERR(l, n, "InvalidType", "%s: expected a mapping, found %s", what, kind_name(n));
    return 0;
}

static int want_int(struct ld *l, const struct runbook_tree_node *n, const char *what, long lo,
                    long hi, long *out)
{
    char *end;
    long v;

    if (n->type != RUNBOOK_TREE_SCALAR || n->stype != RUNBOOK_SCALAR_INT)
        return ERR(l, n, "InvalidType", "%s: expected an integer, found %s", what, kind_name(n));
    errno = 0;
    v = strtol(n->text, &end, 0);
    if (errno || *end || v < lo || v > hi)
        return ERR(l, n, "OutOfRange", "%s: expected an integer from %ld to %ld, found %s", what,
                   lo, hi, n->text);
    *out = v;
    return 0;
}

static int want_bool(struct ld *l, const struct runbook_tree_node *n, const char *what, bool *out)
{
    if (n->type != RUNBOOK_TREE_SCALAR || n->stype != RUNBOOK_SCALAR_BOOL)
        return ERR(l, n, "InvalidType", "%s: expected true or false, found %s", what, kind_name(n));
    *out = (n->text[0] == 't' || n->text[0] == 'T');
    return 0;
}

/* Check a mapping's keys against an allowed list (NULL-terminated). */
static int check_keys(struct ld *l, const struct runbook_tree_node *map, const char *const *allowed,
                      const char *where)
{
    size_t i;
    const char *const *a;
    char list[400];
    size_t off = 0;

    for (i = 0; i < map->n; i += 2) {
        const struct runbook_tree_node *k = map->items[i];
        for (a = allowed; *a; a++)
            if (strcmp(*a, k->text) == 0)
                break;
        if (*a)
            continue;
        list[0] = '\0';
        for (a = allowed; *a && off < sizeof(list); a++)
            off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
                                    a == allowed ? "" : ", ", *a);
        return ERR(l, k, "UnknownProperty", "unknown %s '%s' (expected one of: %s)", where, k->text,
                   list);
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Tree → JSON                                                             */
/* ---------------------------------------------------------------------- */

static int to_json(struct ld *l, const struct runbook_tree_node *n, json_t **out)
{
    size_t i;
    json_t *v = NULL, *c;
    int rc;

    *out = NULL;
    switch (n->type) {
    case RUNBOOK_TREE_SCALAR:
        switch (n->stype) {
        case RUNBOOK_SCALAR_NULL:
            v = json_null();
            break;
        case RUNBOOK_SCALAR_BOOL:
            v = (n->text[0] == 't' || n->text[0] == 'T') ? json_true() : json_false();
            break;
        case RUNBOOK_SCALAR_INT: {
            char *end;
            long long x;
            const char *s = n->text;
            int base = 10;
            bool neg = false;
            if (*s == '-' || *s == '+')
                neg = (*s++ == '-');
            if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
                base = s[1] == 'x' ? 16 : 8;
                s += 2;
            }
            errno = 0;
            x = strtoll(s, &end, base);
            if (errno || *end)
                return ERR(l, n, "OutOfRange", "integer %s is out of range", n->text);
            v = json_integer(neg ? -x : x);
            break;
        }
        case RUNBOOK_SCALAR_FLOAT: {
            double d = strtod(n->text, NULL);
            if (strstr(n->text, "inf") || strstr(n->text, "Inf") || strstr(n->text, "INF") ||
                strstr(n->text, "nan") || strstr(n->text, "NaN") || strstr(n->text, "NAN"))
                return ERR(l, n, "InvalidValue", "expected a finite number, found %s", n->text);
            v = json_real(d);
            break;
        }
        default:
            v = json_stringn(n->text, n->len);
        }
        break;
    case RUNBOOK_TREE_SEQ:
        v = json_array();
        for (i = 0; v && i < n->n; i++) {
            rc = to_json(l, n->items[i], &c);
            if (rc) {
                json_decref(v);
                return rc;
            }
            if (json_array_append_new(v, c)) {
                json_decref(v);
                return CORDON_ENOMEM;
            }
        }
        break;
    case RUNBOOK_TREE_MAP:
        v = json_object();
        for (i = 0; v && i + 1 < n->n; i += 2) {
            rc = to_json(l, n->items[i + 1], &c);
            if (rc) {
                json_decref(v);
                return rc;
            }
            if (json_object_set_new(v, n->items[i]->text, c)) {
                json_decref(v);
                return CORDON_ENOMEM;
            }
        }
        break;
    }
    if (!v)
        return CORDON_ENOMEM;
    *out = v;
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Names                                                                   */
/* ---------------------------------------------------------------------- */

static bool valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > RUNBOOK_NAME_MAX)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

int runbook_doc_step_index(const struct runbook_doc *doc, const char *name)
{
    size_t i;

    for (i = 0; i < doc->nsteps; i++)
        if (doc->steps[i].name && strcmp(doc->steps[i].name, name) == 0)
            return (int)i;
    return -1;
}

static const struct runbook_param *find_param(const struct runbook_doc *doc, const char *name)
{
    size_t i;

    for (i = 0; i < doc->nparams; i++)
        if (strcmp(doc->params[i].name, name) == 0)
            return &doc->params[i];
    return NULL;
}

const struct runbook_param *runbook_doc_param(const struct runbook_doc *doc, const char *name)
{
    return find_param(doc, name);
}

static const struct runbook_variable *find_var(const struct runbook_doc *doc, const char *name)
{
    size_t i;

    for (i = 0; i < doc->nvars; i++)
        if (strcmp(doc->vars[i].name, name) == 0)
            return &doc->vars[i];
    return NULL;
}

/* Does step `s` have output `name` (declared or built in)? */
static bool step_has_output(const struct runbook_step *s, const char *name)
{
    size_t i;

    for (i = 0; i < s->noutputs; i++)
        if (strcmp(s->outputs[i].name, name) == 0)
            return true;
    for (i = 0; i < sizeof(builtin_outputs) / sizeof(builtin_outputs[0]); i++)
        if (builtin_outputs[i].action == s->action && strcmp(builtin_outputs[i].name, name) == 0)
            return true;
    return false;
}

static void step_outputs_list(const struct runbook_step *s, char *list, size_t len)
{
    size_t i, off = 0;

    list[0] = '\0';
    for (i = 0; i < s->noutputs && off < len; i++)
        off += (size_t)snprintf(list + off, len - off, "%s%s", off ? ", " : "", s->outputs[i].name);
    for (i = 0; i < sizeof(builtin_outputs) / sizeof(builtin_outputs[0]) && off < len; i++)
        if (builtin_outputs[i].action == s->action)
            off += (size_t)snprintf(list + off, len - off, "%s%s", off ? ", " : "",
                                    builtin_outputs[i].name);
    if (!list[0])
        snprintf(list, len, "none");
}

/* ---------------------------------------------------------------------- */
/* Templates                                                               */
/* ---------------------------------------------------------------------- */

/* Position of the k-th "{{" of a scalar's source text, for messages. */
static void ref_position(struct ld *l, const struct runbook_tree_node *n, size_t k, int *line,
                         int *column)
{
    size_t i, seen = 0;
    const char *src = l->t->src;

    for (i = n->pos; i + 1 < n->end && i + 1 < l->t->src_len; i++) {
        if (src[i] == '{' && src[i + 1] == '{') {
            if (seen == k) {
                runbook_tree_linecol(l->t, i, line, column);
                return;
            }
            seen++;
            i++;
        }
    }
    *line = n->line;
    *column = n->column;
}

/*
 * Check every reference in a string scalar. `self` is the step the text
 * belongs to (-1 for document level).
 */
static int check_refs(struct ld *l, const struct runbook_tree_node *n, const char *text, int self)
{
    struct runbook_doc *doc = l->doc;
    struct runbook_ref ref;
    const char *why = NULL;
    size_t pos = 0, errpos = 0, k = 0;
    int found, line, col;

    for (;;) {
        found = runbook_template_next(text, pos, &ref, &why, &errpos);
        if (found == 0)
            return 0;
        ref_position(l, n, k, &line, &col);
        if (found < 0)
            return err_lc(l, CORDON_EINVAL, "InvalidReference", line, col, "%s", why);
        switch (ref.kind) {
        case RUNBOOK_REF_PARAM:
            if (!find_param(doc, ref.a))
                return err_lc(l, CORDON_EINVAL, "UndeclaredParameter", line, col,
                              "reference to undeclared parameter '%s' (declare it under "
                              "'parameters', or write {{ Step.Output }} for a step output)",
                              ref.a);
            break;
        case RUNBOOK_REF_OUTPUT: {
            int si = runbook_doc_step_index(doc, ref.a);
            char list[256];
            if (si < 0)
                return err_lc(l, CORDON_EINVAL, "UndeclaredOutput", line, col,
                              "reference to output '%s.%s' of unknown step '%s'", ref.a, ref.b,
                              ref.a);
            if (si == self)
                return err_lc(l, CORDON_EINVAL, "InvalidReference", line, col,
                              "step '%s' refers to its own output '%s' (only earlier steps' "
                              "outputs can be read)",
                              ref.a, ref.b);
            if (!step_has_output(&doc->steps[si], ref.b)) {
                step_outputs_list(&doc->steps[si], list, sizeof(list));
                return err_lc(l, CORDON_EINVAL, "UndeclaredOutput", line, col,
                              "reference to undeclared output '%s.%s' (step '%s' declares: %s; "
                              "declare it under the step's 'outputs' with a Selector and Type)",
                              ref.a, ref.b, ref.a, list);
            }
            break;
        }
        case RUNBOOK_REF_VARIABLE:
            if (!find_var(doc, ref.a))
                return err_lc(l, CORDON_EINVAL, "UndeclaredVariable", line, col,
                              "reference to undeclared variable '%s' (declare it under "
                              "'variables')",
                              ref.a);
            break;
        case RUNBOOK_REF_AUTOMATION:
            if (strcmp(ref.a, "EXECUTION_ID") != 0)
                return err_lc(l, CORDON_EINVAL, "InvalidReference", line, col,
                              "unknown automation variable '%s' (expected EXECUTION_ID)", ref.a);
            break;
        case RUNBOOK_REF_GLOBAL:
            if (strcmp(ref.a, "ACCOUNT_ID") && strcmp(ref.a, "REGION") &&
                strcmp(ref.a, "AWS_PARTITION") && strcmp(ref.a, "DATE") &&
                strcmp(ref.a, "DATE_TIME"))
                return err_lc(l, CORDON_EINVAL, "InvalidReference", line, col,
                              "unknown global variable '%s' (expected ACCOUNT_ID, REGION, "
                              "AWS_PARTITION, DATE or DATE_TIME)",
                              ref.a);
            break;
        case RUNBOOK_REF_SSM:
            return err_lc(l, CORDON_EUNSUPPORTED, "Unsupported", line, col,
                          "{{ssm:%s}}: parameter-store references are not supported in Cordon "
                          "documents",
                          ref.a);
        }
        pos = ref.end;
        k++;
    }
}

/* Check references in every string of a subtree; keys may not hold templates. */
static int check_refs_tree(struct ld *l, const struct runbook_tree_node *n, int self)
{
    size_t i;
    int rc;

    if (n->type == RUNBOOK_TREE_SCALAR)
        return n->stype == RUNBOOK_SCALAR_STRING ? check_refs(l, n, n->text, self) : 0;
    for (i = 0; i < n->n; i++) {
        const struct runbook_tree_node *c = n->items[i];
        if (n->type == RUNBOOK_TREE_MAP && (i % 2) == 0) {
            if (runbook_template_has(c->text))
                return ERR(l, c, "InvalidReference", "references are not supported in keys ('%s')",
                           c->text);
            continue;
        }
        rc = check_refs_tree(l, c, self);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Regex: AWS patterns (Java-like) to POSIX ERE                            */
/* ---------------------------------------------------------------------- */

/*
 * Translate the common Java/PCRE escapes to POSIX ERE: \d \w \s (and their
 * negations) outside brackets; inside brackets \d \w \s, \- \] \\ and other
 * escaped characters. Returns a malloc'd pattern or NULL.
 */
static char *pattern_to_ere(const char *p)
{
    struct buf b;
    bool ok = true;

    buf_init(&b, 4 * strlen(p) + 64);
    while (*p && ok) {
        if (*p == '\\' && p[1]) {
            char c = p[1];
            const char *rep = NULL;
            switch (c) {
            case 'd':
                rep = "[0-9]";
                break;
            case 'D':
                rep = "[^0-9]";
                break;
            case 'w':
                rep = "[[:alnum:]_]";
                break;
            case 'W':
                rep = "[^[:alnum:]_]";
                break;
            case 's':
                rep = "[[:space:]]";
                break;
            case 'S':
                rep = "[^[:space:]]";
                break;
            default:
                break;
            }
            if (rep)
                ok = buf_adds(&b, rep) == 0;
            else
                ok = buf_addc(&b, '\\') == 0 && buf_addc(&b, c) == 0;
            p += 2;
        } else if (*p == '[') {
            /* Collect a bracket expression. */
            bool neg = false, dash = false, rbr = false;
            struct buf in;
            buf_init(&in, 4 * strlen(p) + 64);
            p++;
            if (*p == '^') {
                neg = true;
                p++;
            }
            if (*p == ']') {
                rbr = true;
                p++;
            }
            while (*p && *p != ']' && ok) {
                if (*p == '\\' && p[1]) {
                    char c = p[1];
                    if (c == 'd')
                        ok = buf_adds(&in, "0-9") == 0;
                    else if (c == 'w')
                        ok = buf_adds(&in, "[:alnum:]_") == 0;
                    else if (c == 's')
                        ok = buf_adds(&in, "[:space:]") == 0;
                    else if (c == '-')
                        dash = true;
                    else if (c == ']')
                        rbr = true;
                    else if (c == 'n')
                        ok = buf_addc(&in, '\n') == 0;
                    else if (c == 't')
                        ok = buf_addc(&in, '\t') == 0;
                    else
                        ok = buf_addc(&in, c) == 0;
                    p += 2;
                } else if (*p == '[' && p[1] == ':') {
                    const char *e = strstr(p, ":]");
                    if (!e) {
                        ok = false;
                        break;
                    }
                    ok = buf_add(&in, p, (size_t)(e - p) + 2) == 0;
                    p = e + 2;
                } else {
                    ok = buf_addc(&in, *p) == 0;
                    p++;
                }
            }
            if (*p != ']')
                ok = false;
            else
                p++;
            if (ok)
                ok = buf_addc(&b, '[') == 0 && (!neg || buf_addc(&b, '^') == 0) &&
                     (!rbr || buf_addc(&b, ']') == 0) &&
                     (in.len == 0 || buf_add(&b, in.ptr, in.len) == 0) &&
                     (!dash || buf_addc(&b, '-') == 0) && buf_addc(&b, ']') == 0;
            buf_free(&in);
        } else {
            ok = buf_addc(&b, *p) == 0;
            p++;
        }
    }
    if (!ok || !b.ptr) {
        buf_free(&b);
        return ok ? strdup("") : NULL;
    }
    return b.ptr;
}

static bool pattern_match(const struct runbook_param *p, const char *s)
{
    return regexec(&p->re, s, 0, NULL, 0) == 0;
}

/* ---------------------------------------------------------------------- */
/* Value checks against a parameter declaration                            */
/* ---------------------------------------------------------------------- */

/*
 * Check `v` against p's type and constraints. Returns 0 or writes a reason
 * into why and returns CORDON_EINVAL.
 */
static int param_check_value(const struct runbook_param *p, const json_t *v, char *why, size_t len)
{
    size_t i, n = 1;
    const json_t *e;

    if (!runbook_type_check(p->type, v)) {
        snprintf(why, len, "expected %s %s value%s", p->type == RUNBOOK_TYPE_INTEGER ? "an" : "a",
                 runbook_type_name(p->type),
                 p->type == RUNBOOK_TYPE_BOOLEAN   ? " (true or false, not a string or a number)"
                 : p->type == RUNBOOK_TYPE_INTEGER ? " (a whole number, not a string)"
                                                   : "");
        return CORDON_EINVAL;
    }
    if (json_is_array(v)) {
        n = json_array_size(v);
        if (p->min_items >= 0 && (long)n < p->min_items) {
            snprintf(why, len, "expected at least %ld items, found %zu", p->min_items, n);
            return CORDON_EINVAL;
        }
        if (p->max_items >= 0 && (long)n > p->max_items) {
            snprintf(why, len, "expected at most %ld items, found %zu", p->max_items, n);
            return CORDON_EINVAL;
        }
    }
    for (i = 0; i < n; i++) {
        e = json_is_array(v) ? json_array_get(v, i) : v;
        if (json_is_string(e)) {
            const char *s = json_string_value(e);
            long cl = (long)json_string_length(e);
            if (p->min_chars >= 0 && cl < p->min_chars) {
                snprintf(why, len, "expected at least %ld characters, found %ld", p->min_chars, cl);
                return CORDON_EINVAL;
            }
            if (p->max_chars >= 0 && cl > p->max_chars) {
                snprintf(why, len, "expected at most %ld characters, found %ld", p->max_chars, cl);
                return CORDON_EINVAL;
            }
            if (p->pattern && !pattern_match(p, s)) {
                snprintf(why, len, "value '%.80s' does not match allowedPattern %.120s", s,
                         p->pattern);
                return CORDON_EINVAL;
            }
        }
        if (p->allowed_values && !json_is_object(e)) {
            size_t j;
            bool ok = false;
            for (j = 0; j < json_array_size(p->allowed_values) && !ok; j++)
                ok = json_equal(json_array_get(p->allowed_values, j), (json_t *)e);
            if (!ok) {
                char *dump = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
                snprintf(why, len, "value %.80s is not one of allowedValues", dump ? dump : "?");
                free(dump);
                return CORDON_EINVAL;
            }
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Parameters and variables                                                */
/* ---------------------------------------------------------------------- */

static int load_long_opt(struct ld *l, const struct runbook_tree_node *def, const char *key,
                         long *out)
{
    const struct runbook_tree_node *n = runbook_tree_get(def, key);

    *out = -1;
    if (!n)
        return 0;
    return want_int(l, n, key, 0, 1000000000L, out);
}

static int load_params(struct ld *l, const struct runbook_tree_node *map)
{
    static const char *const keys[] = {
        "type",           "description", "default",  "allowedValues",
        "allowedPattern", "displayType", "minItems", "maxItems",
        "minChars",       "maxChars",    NULL
    };
    struct runbook_doc *doc = l->doc;
    size_t i;
    int rc;

    rc = want_map(l, map, "parameters");
    if (rc)
        return rc;
    if (map->n / 2 > RUNBOOK_MAX_PARAMS)
        return err_lc(l, CORDON_ETOOBIG, "TooMany", map->line, map->column,
                      "more than %d parameters", RUNBOOK_MAX_PARAMS);
    doc->params = calloc(map->n / 2 + 1, sizeof(*doc->params));
    if (!doc->params)
        return CORDON_ENOMEM;
    for (i = 0; i + 1 < map->n; i += 2) {
        const struct runbook_tree_node *k = map->items[i], *def = map->items[i + 1], *n;
        struct runbook_param *p = &doc->params[doc->nparams];
        char why[256];

        if (!valid_name(k->text))
            return ERR(l, k, "InvalidName",
                       "parameter name '%s': expected letters, digits and '_' (1-%d)", k->text,
                       RUNBOOK_NAME_MAX);
        p->name = strdup(k->text);
        if (!p->name)
            return CORDON_ENOMEM;
        p->line = k->line;
        p->column = k->column;
        doc->nparams++;
        rc = want_map(l, def, "parameter definition");
        if (rc)
            return rc;
        rc = check_keys(l, def, keys, "parameter property");
        if (rc)
            return rc;
        n = runbook_tree_get(def, "type");
        if (!n)
            return ERR(l, def, "MissingProperty",
                       "parameter '%s': expected a 'type' (String, "
                       "StringList, Integer, Boolean, MapList, "
                       "StringMap)",
                       p->name);
        if ((rc = want_string(l, n, "type")))
            return rc;
        if (type_parse(n->text, &p->type))
            return ERR(l, n, "InvalidType",
                       "unknown parameter type '%s' (expected String, StringList, Integer, "
                       "Boolean, MapList or StringMap)",
                       n->text);
        n = runbook_tree_get(def, "description");
        if (n) {
            if ((rc = want_string(l, n, "description")))
                return rc;
            p->description = strdup(n->text);
            if (!p->description)
                return CORDON_ENOMEM;
        }
        n = runbook_tree_get(def, "displayType");
        if (n) {
            if ((rc = want_string(l, n, "displayType")))
                return rc;
            if (strcmp(n->text, "textfield") && strcmp(n->text, "textarea"))
                return ERR(l, n, "InvalidValue", "displayType: expected textfield or textarea");
        }
        if ((rc = load_long_opt(l, def, "minItems", &p->min_items)) ||
            (rc = load_long_opt(l, def, "maxItems", &p->max_items)) ||
            (rc = load_long_opt(l, def, "minChars", &p->min_chars)) ||
            (rc = load_long_opt(l, def, "maxChars", &p->max_chars)))
            return rc;
        n = runbook_tree_get(def, "allowedPattern");
        if (n) {
            char *ere;
            int rerr;
            if ((rc = want_string(l, n, "allowedPattern")))
                return rc;
            ere = pattern_to_ere(n->text);
            if (!ere)
                return ERR(l, n, "InvalidPattern",
                           "allowedPattern: cannot translate '%s' to a POSIX extended regular "
                           "expression",
                           n->text);
            rerr = regcomp(&p->re, ere, REG_EXTENDED | REG_NOSUB);
            free(ere);
            if (rerr) {
                char rmsg[128];
                regerror(rerr, NULL, rmsg, sizeof(rmsg));
                return ERR(l, n, "InvalidPattern",
                           "allowedPattern: expected a POSIX extended regular expression (%s)",
                           rmsg);
            }
            p->pattern = strdup(n->text);
            if (!p->pattern) {
                regfree(&p->re);
                return CORDON_ENOMEM;
            }
        }
        n = runbook_tree_get(def, "allowedValues");
        if (n) {
            if (n->type != RUNBOOK_TREE_SEQ)
                return ERR(l, n, "InvalidType", "allowedValues: expected a list, found %s",
                           kind_name(n));
            if ((rc = to_json(l, n, &p->allowed_values)))
                return rc;
        }
        n = runbook_tree_get(def, "default");
        if (n) {
            if (n->type == RUNBOOK_TREE_SCALAR && n->stype == RUNBOOK_SCALAR_STRING &&
                runbook_template_has(n->text)) {
                if (strstr(n->text, "ssm:"))
                    return err_lc(l, CORDON_EUNSUPPORTED, "Unsupported", n->line, n->column,
                                  "parameter '%s': {{ssm:}} parameter-store defaults are not "
                                  "supported by Cordon",
                                  p->name);
                return ERR(l, n, "InvalidReference",
                           "parameter '%s': a default may not refer to other values", p->name);
            }
            if ((rc = to_json(l, n, &p->def)))
                return rc;
            if (param_check_value(p, p->def, why, sizeof(why)))
                return ERR(l, n, "InvalidDefault", "default of parameter '%s': %s", p->name, why);
        }
    }
    return 0;
}

static int load_variables(struct ld *l, const struct runbook_tree_node *map)
{
    static const char *const keys[] = { "type", "description", "default", NULL };
    struct runbook_doc *doc = l->doc;
    size_t i;
    int rc;

    if ((rc = want_map(l, map, "variables")))
        return rc;
    if (map->n / 2 > RUNBOOK_MAX_VARIABLES)
        return err_lc(l, CORDON_ETOOBIG, "TooMany", map->line, map->column,
                      "more than %d variables", RUNBOOK_MAX_VARIABLES);
    doc->vars = calloc(map->n / 2 + 1, sizeof(*doc->vars));
    if (!doc->vars)
        return CORDON_ENOMEM;
    for (i = 0; i + 1 < map->n; i += 2) {
        const struct runbook_tree_node *k = map->items[i], *def = map->items[i + 1], *n;
        struct runbook_variable *v = &doc->vars[doc->nvars];

        if (!valid_name(k->text))
            return ERR(l, k, "InvalidName", "variable name '%s': expected letters, digits and '_'",
                       k->text);
        if (find_param(doc, k->text))
            return ERR(l, k, "DuplicateName", "variable '%s' has the name of a parameter", k->text);
        v->name = strdup(k->text);
        if (!v->name)
            return CORDON_ENOMEM;
        doc->nvars++;
        if ((rc = want_map(l, def, "variable definition")) ||
            (rc = check_keys(l, def, keys, "variable property")))
            return rc;
        n = runbook_tree_get(def, "type");
        if (!n)
            return ERR(l, def, "MissingProperty", "variable '%s': expected a 'type'", v->name);
        if ((rc = want_string(l, n, "type")))
            return rc;
        if (type_parse(n->text, &v->type))
            return ERR(l, n, "InvalidType",
                       "unknown variable type '%s' (expected String, StringList, Integer, "
                       "Boolean, MapList or StringMap)",
                       n->text);
        n = runbook_tree_get(def, "description");
        if (n) {
            if ((rc = want_string(l, n, "description")))
                return rc;
            v->description = strdup(n->text);
            if (!v->description)
                return CORDON_ENOMEM;
        }
        n = runbook_tree_get(def, "default");
        if (n) {
            if ((rc = to_json(l, n, &v->def)))
                return rc;
            if (!runbook_type_check(v->type, v->def))
                return ERR(l, n, "InvalidDefault", "default of variable '%s': expected a %s value",
                           v->name, runbook_type_name(v->type));
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Steps                                                                   */
/* ---------------------------------------------------------------------- */

static int step_target(struct ld *l, const struct runbook_tree_node *n, const char *what, int *out)
{
    int idx, rc;

    if ((rc = want_string(l, n, what)))
        return rc;
    idx = runbook_doc_step_index(l->doc, n->text);
    if (idx < 0)
        return ERR(l, n, "UnknownStep", "%s: no step named '%s'", what, n->text);
    *out = idx;
    return 0;
}

/* "Abort" | "Continue" | "step:NAME" (Continue only when allow_continue). */
static int flow_target(struct ld *l, const struct runbook_tree_node *n, const char *what,
                       bool allow_continue, enum runbook_on_failure *kind, int *target)
{
    int rc, idx;

    if ((rc = want_string(l, n, what)))
        return rc;
    *target = -1;
    if (strcmp(n->text, "Abort") == 0) {
        *kind = RUNBOOK_ON_FAILURE_ABORT;
        return 0;
    }
    if (allow_continue && strcmp(n->text, "Continue") == 0) {
        *kind = RUNBOOK_ON_FAILURE_CONTINUE;
        return 0;
    }
    if (strncmp(n->text, "step:", 5) == 0) {
        idx = runbook_doc_step_index(l->doc, n->text + 5);
        if (idx < 0)
            return ERR(l, n, "UnknownStep", "%s: no step named '%s'", what, n->text + 5);
        *kind = RUNBOOK_ON_FAILURE_STEP;
        *target = idx;
        return 0;
    }
    return ERR(l, n, "InvalidValue", "%s: expected Abort%s or step:NAME, found '%s'", what,
               allow_continue ? ", Continue" : "", n->text);
}

static unsigned json_kind(const json_t *v)
{
    size_t i;

    switch (json_typeof(v)) {
    case JSON_STRING:
        return IN_STR;
    case JSON_INTEGER:
        return IN_INT;
    case JSON_TRUE:
    case JSON_FALSE:
        return IN_BOOL;
    case JSON_OBJECT:
        return IN_MAP;
    case JSON_ARRAY: {
        unsigned k = 0;
        if (json_array_size(v) == 0)
            return IN_LIST | IN_MAPLIST;
        for (i = 0; i < json_array_size(v); i++)
            k |= json_is_string(json_array_get(v, i))   ? IN_LIST
                 : json_is_object(json_array_get(v, i)) ? IN_MAPLIST
                                                        : 0x80u;
        return (k == IN_LIST || k == IN_MAPLIST) ? k : 0x80u;
    }
    default:
        return 0x80u;
    }
}

static void kinds_text(unsigned kinds, char *out, size_t len)
{
    static const struct {
        unsigned k;
        const char *name;
    } names[] = { { IN_STR, "String" },      { IN_INT, "Integer" },   { IN_BOOL, "Boolean" },
                  { IN_LIST, "StringList" }, { IN_MAP, "StringMap" }, { IN_MAPLIST, "MapList" } };
    size_t i, off = 0;

    out[0] = '\0';
    for (i = 0; i < sizeof(names) / sizeof(names[0]) && off < len; i++)
        if (kinds & names[i].k)
            off += (size_t)snprintf(out + off, len - off, "%s%s", off ? " or " : "", names[i].name);
}

static bool is_templated(const json_t *v)
{
    return json_is_string(v) && runbook_template_has(json_string_value(v));
}

/*
 * Check inputs against a spec. Used at load (tree nodes give positions; a
 * templated value is checked when the step runs) and at run time (tree NULL).
 * Returns 0 or CORDON_EINVAL with a message in why (and the offending node
 * in *bad when tree is given).
 */
static int inputs_check_spec(const struct input_spec *spec, const json_t *inputs, const char *skip1,
                             const char *skip2, char *why, size_t len, const char **bad_key)
{
    const char *key;
    json_t *v;
    const struct input_spec *s;
    char kinds[96], list[512];
    size_t off = 0;

    *bad_key = NULL;
    json_object_foreach((json_t *)inputs, key, v)
    {
        if ((skip1 && strcmp(key, skip1) == 0) || (skip2 && strcmp(key, skip2) == 0))
            continue;
        for (s = spec; s->name; s++)
            if (strcmp(s->name, key) == 0)
                break;
        if (!s->name) {
            list[0] = '\0';
            for (s = spec; s->name && off < sizeof(list); s++)
                off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s", off ? ", " : "",
                                        s->name);
            snprintf(why, len, "unknown input '%s' (expected %s)", key, off ? list : "no inputs");
            *bad_key = key;
            return CORDON_EINVAL;
        }
        if (is_templated(v))
            continue;
        if (!(json_kind(v) & s->kinds)) {
            kinds_text(s->kinds, kinds, sizeof(kinds));
            snprintf(why, len, "input '%s': expected %s", key, kinds);
            *bad_key = key;
            return CORDON_EINVAL;
        }
    }
    for (s = spec; s->name; s++) {
        if (s->required && !json_object_get(inputs, s->name)) {
            snprintf(why, len, "missing required input '%s'", s->name);
            return CORDON_EINVAL;
        }
    }
    return 0;
}

static const struct api_spec *api_find(const char *service, const char *api)
{
    size_t i;

    for (i = 0; i < sizeof(api_table) / sizeof(api_table[0]); i++)
        if (strcmp(api_table[i].service, service) == 0 && strcmp(api_table[i].api, api) == 0)
            return &api_table[i];
    return NULL;
}

static bool function_known(const struct runbook_doc_options *opt, const char *name)
{
    const char *const *f;

    for (f = builtin_functions; *f; f++)
        if (strcmp(*f, name) == 0)
            return true;
    if (opt && opt->functions)
        for (f = opt->functions; *f; f++)
            if (strcmp(*f, name) == 0)
                return true;
    return false;
}

static bool runtime_valid(const char *r)
{
    char *end;
    long minor;

    if (strcmp(r, "python3") == 0 || strcmp(r, "bash") == 0)
        return true;
    if (strncmp(r, "python3.", 8) != 0 || !isdigit((unsigned char)r[8]))
        return false;
    minor = strtol(r + 8, &end, 10);
    return *end == '\0' && minor >= 8 && minor <= 99;
}

int runbook_duration_parse(const char *s, double *seconds)
{
    const char *p = s;
    bool time = false, any = false;
    double total = 0;

    if (*p++ != 'P')
        return CORDON_EINVAL;
    while (*p) {
        char *end;
        double v;
        if (*p == 'T') {
            if (time)
                return CORDON_EINVAL;
            time = true;
            p++;
            continue;
        }
        if (!isdigit((unsigned char)*p))
            return CORDON_EINVAL;
        v = strtod(p, &end);
        if (end == p || v < 0)
            return CORDON_EINVAL;
        switch (*end) {
        case 'W':
            if (time)
                return CORDON_EINVAL;
            total += v * 7 * 86400;
            break;
        case 'D':
            if (time)
                return CORDON_EINVAL;
            total += v * 86400;
            break;
        case 'H':
            if (!time)
                return CORDON_EINVAL;
            total += v * 3600;
            break;
        case 'M':
            if (!time)
                return CORDON_EINVAL;
            total += v * 60;
            break;
        case 'S':
            if (!time)
                return CORDON_EINVAL;
            total += v;
            break;
        default:
            return CORDON_EINVAL;
        }
        any = true;
        p = end + 1;
        if (total > 1e12)
            return CORDON_ERANGE;
    }
    if (!any)
        return CORDON_EINVAL;
    *seconds = total;
    return 0;
}

/* In a MAP node, the key node of `key` or NULL. */
static const struct runbook_tree_node *tree_key(const struct runbook_tree_node *map,
                                                const char *key)
{
    size_t i;

    if (!map || map->type != RUNBOOK_TREE_MAP)
        return NULL;
    for (i = 0; i + 1 < map->n; i += 2)
        if (strcmp(map->items[i]->text, key) == 0)
            return map->items[i];
    return NULL;
}

/* Action-specific checks on literal inputs (templated values wait for run time). */
static int check_action_inputs(struct ld *l, struct runbook_step *st,
                               const struct runbook_tree_node *in_node)
{
    const json_t *in = st->inputs, *v;
    const struct input_spec *spec = action_inputs[st->action];
    const char *bad = NULL;
    char why[600];
    int rc = 0;

#define IN_NODE(key)  (runbook_tree_get(in_node, (key)) ? runbook_tree_get(in_node, (key)) : in_node)
#define KEY_NODE(key) (tree_key(in_node, (key)) ? tree_key(in_node, (key)) : in_node)
#define STR_LIT(key)  ((v = json_object_get(in, (key))) && json_is_string(v) && !is_templated(v))

    if (st->action == RUNBOOK_ACTION_EXECUTE_AWS_API) {
        const json_t *svc = json_object_get(in, "Service"), *api = json_object_get(in, "Api");
        const struct api_spec *as;
        if (!svc || !api)
            return ERR(l, in_node, "MissingInput",
                       "aws:executeAwsApi: expected inputs 'Service' and 'Api' (supported: %s)",
                       supported_apis);
        if (!json_is_string(svc) || !json_is_string(api) || is_templated(svc) || is_templated(api))
            return ERR(l, in_node, "InvalidInput",
                       "aws:executeAwsApi: 'Service' and 'Api' must be literal strings");
        as = api_find(json_string_value(svc), json_string_value(api));
        if (!as)
            return err_lc(l, CORDON_EUNSUPPORTED, "UnsupportedApi", IN_NODE("Api")->line,
                          IN_NODE("Api")->column,
                          "aws:executeAwsApi %s %s is not supported by Cordon; supported: %s",
                          json_string_value(svc), json_string_value(api), supported_apis);
        rc = inputs_check_spec(as->params, in, "Service", "Api", why, sizeof(why), &bad);
        if (rc)
            return ERR(
                l, bad ? (strstr(why, "unknown input") ? KEY_NODE(bad) : IN_NODE(bad)) : in_node,
                "InvalidInput", "%s %s: %s", json_string_value(svc), json_string_value(api), why);
        if (strcmp(as->service, "iot") == 0 &&
            (strcmp(as->api, "AddThingToThingGroup") == 0 ||
             strcmp(as->api, "RemoveThingFromThingGroup") == 0)) {
            if (!json_object_get(in, "thingGroupName") && !json_object_get(in, "thingGroupArn"))
                return ERR(l, in_node, "MissingInput",
                           "iot %s: expected thingGroupName or thingGroupArn", as->api);
            if (!json_object_get(in, "thingName") && !json_object_get(in, "thingArn"))
                return ERR(l, in_node, "MissingInput", "iot %s: expected thingName or thingArn",
                           as->api);
        }
        if (STR_LIT("newStatus") &&
            !strstr(
                ",ACTIVE,INACTIVE,REVOKED,PENDING_TRANSFER,REGISTER_INACTIVE,PENDING_ACTIVATION,",
                json_string_value(v)))
            return ERR(l, IN_NODE("newStatus"), "InvalidInput",
                       "newStatus: expected ACTIVE, INACTIVE, REVOKED, PENDING_TRANSFER, "
                       "REGISTER_INACTIVE or PENDING_ACTIVATION");
        return 0;
    }
    if (st->action == RUNBOOK_ACTION_BRANCH)
        return 0; /* checked by load_branch */
    rc = inputs_check_spec(spec, in, NULL, NULL, why, sizeof(why), &bad);
    if (rc)
        return ERR(l, bad ? (strstr(why, "unknown input") ? KEY_NODE(bad) : IN_NODE(bad)) : in_node,
                   "InvalidInput", "%s: %s", runbook_action_name(st->action), why);

    switch (st->action) {
    case RUNBOOK_ACTION_APPROVE:
        v = json_object_get(in, "Approvers");
        if (v && json_is_array(v) &&
            (json_array_size(v) == 0 || json_array_size(v) > RUNBOOK_APPROVERS_MAX))
            return ERR(l, IN_NODE("Approvers"), "InvalidInput",
                       "Approvers: expected 1 to %d approvers", RUNBOOK_APPROVERS_MAX);
        if (STR_LIT("Message") && json_string_length(v) > RUNBOOK_APPROVE_MESSAGE_MAX)
            return ERR(l, IN_NODE("Message"), "InvalidInput",
                       "Message: expected at most %d characters", RUNBOOK_APPROVE_MESSAGE_MAX);
        v = json_object_get(in, "MinRequiredApprovals");
        if (v && json_is_integer(v)) {
            const json_t *ap = json_object_get(in, "Approvers");
            json_int_t m = json_integer_value(v);
            if (m < 1 || (ap && json_is_array(ap) && m > (json_int_t)json_array_size(ap)))
                return ERR(l, IN_NODE("MinRequiredApprovals"), "InvalidInput",
                           "MinRequiredApprovals: expected 1 to the number of Approvers");
        }
        break;
    case RUNBOOK_ACTION_SLEEP: {
        const json_t *d = json_object_get(in, "Duration"), *ts = json_object_get(in, "Timestamp");
        double secs;
        if ((d != NULL) == (ts != NULL))
            return ERR(l, in_node, "InvalidInput",
                       "aws:sleep: expected exactly one of Duration (e.g. PT10M) or Timestamp");
        if (STR_LIT("Duration")) {
            rc = runbook_duration_parse(json_string_value(v), &secs);
            if (rc || secs > RUNBOOK_SLEEP_MAX_SECONDS)
                return ERR(l, IN_NODE("Duration"), "InvalidInput",
                           "Duration: expected an ISO-8601 duration from PT0S to %d seconds "
                           "(e.g. PT10M), found '%s'",
                           RUNBOOK_SLEEP_MAX_SECONDS, json_string_value(v));
        }
        break;
    }
    case RUNBOOK_ACTION_EXECUTE_SCRIPT: {
        const json_t *sc = json_object_get(in, "Script"), *at = json_object_get(in, "Attachment");
        if ((sc != NULL) == (at != NULL))
            return ERR(l, in_node, "InvalidInput",
                       "aws:executeScript: expected exactly one of Script or Attachment");
        if (STR_LIT("Runtime") && !runtime_valid(json_string_value(v)))
            return ERR(l, IN_NODE("Runtime"), "InvalidInput",
                       "Runtime '%s' is not supported (expected python3.8 ... python3.N, python3 "
                       "or bash)",
                       json_string_value(v));
        if (STR_LIT("Runtime") && strncmp(json_string_value(v), "python", 6) == 0 &&
            !json_object_get(in, "Handler"))
            return ERR(l, in_node, "MissingInput",
                       "aws:executeScript: a python Runtime needs a Handler (function name)");
        if (STR_LIT("Attachment") &&
            !(l->doc->files && json_object_get(l->doc->files, json_string_value(v))))
            return ERR(l, IN_NODE("Attachment"), "InvalidInput",
                       "Attachment '%s' is not declared under 'files'", json_string_value(v));
        break;
    }
    case RUNBOOK_ACTION_INVOKE_LAMBDA:
        if (STR_LIT("FunctionName") && !function_known(l->opt, json_string_value(v)))
            return ERR(l, IN_NODE("FunctionName"), "UnknownFunction",
                       "function '%s' is not registered (built-in: cordon-contain, "
                       "aws-iot-incident-containment; others come from the configuration)",
                       json_string_value(v));
        if (STR_LIT("InvocationType") && strcmp(json_string_value(v), "RequestResponse") &&
            strcmp(json_string_value(v), "Event") && strcmp(json_string_value(v), "DryRun"))
            return ERR(l, IN_NODE("InvocationType"), "InvalidInput",
                       "InvocationType: expected RequestResponse, Event or DryRun");
        if (STR_LIT("LogType") && strcmp(json_string_value(v), "None") &&
            strcmp(json_string_value(v), "Tail"))
            return ERR(l, IN_NODE("LogType"), "InvalidInput", "LogType: expected None or Tail");
        if (STR_LIT("Payload")) {
            json_error_t je;
            json_t *pj = json_loads(json_string_value(v), JSON_DECODE_ANY, &je);
            if (!pj)
                return ERR(l, IN_NODE("Payload"), "InvalidInput",
                           "Payload: expected a JSON text (%s at position %d)", je.text,
                           je.position);
            json_decref(pj);
        }
        break;
    case RUNBOOK_ACTION_UPDATE_VARIABLE:
        if (STR_LIT("Name")) {
            const char *name = json_string_value(v);
            const struct runbook_variable *var;
            if (strncmp(name, "variable:", 9) != 0)
                return ERR(l, IN_NODE("Name"), "InvalidInput",
                           "Name: expected variable:NAME, found '%s'", name);
            var = find_var(l->doc, name + 9);
            if (!var)
                return ERR(l, IN_NODE("Name"), "UndeclaredVariable",
                           "aws:updateVariable: variable '%s' is not declared under 'variables'",
                           name + 9);
            v = json_object_get(in, "Value");
            if (v && !is_templated(v) && !runbook_type_check(var->type, v))
                return ERR(l, IN_NODE("Value"), "InvalidInput", "Value: variable '%s' is a %s",
                           var->name, runbook_type_name(var->type));
        } else {
            return ERR(l, IN_NODE("Name"), "InvalidInput",
                       "Name: expected a literal variable:NAME");
        }
        break;
    case RUNBOOK_ACTION_QUARANTINE_THING:
    case RUNBOOK_ACTION_RELEASE_THING:
        if ((json_object_get(in, "ThingName") != NULL) ==
            (json_object_get(in, "ThingNames") != NULL))
            return ERR(l, in_node, "InvalidInput",
                       "%s: expected exactly one of ThingName or ThingNames",
                       runbook_action_name(st->action));
        break;
    case RUNBOOK_ACTION_HTTP_REQUEST:
        if (STR_LIT("Url") && strncmp(json_string_value(v), "http://", 7) &&
            strncmp(json_string_value(v), "https://", 8))
            return ERR(l, IN_NODE("Url"), "InvalidInput",
                       "Url: expected an http:// or https:// URL");
        if (STR_LIT("Method") && !strstr(",GET,POST,PUT,PATCH,DELETE,HEAD,", json_string_value(v)))
            return ERR(l, IN_NODE("Method"), "InvalidInput",
                       "Method: expected GET, POST, PUT, PATCH, DELETE or HEAD");
        break;
    case RUNBOOK_ACTION_PUBLISH_MQTT:
        v = json_object_get(in, "Qos");
        if (v && json_is_integer(v) && (json_integer_value(v) < 0 || json_integer_value(v) > 2))
            return ERR(l, IN_NODE("Qos"), "InvalidInput", "Qos: expected 0, 1 or 2");
        if (STR_LIT("Topic") && (json_string_length(v) == 0 || strchr(json_string_value(v), '#') ||
                                 strchr(json_string_value(v), '+')))
            return ERR(l, IN_NODE("Topic"), "InvalidInput",
                       "Topic: expected a topic name without wildcards");
        break;
    default:
        break;
    }
#undef IN_NODE
#undef KEY_NODE
#undef STR_LIT
    return 0;
}

int runbook_step_check_inputs(const struct runbook_step *st, const json_t *inputs, char *why,
                              size_t len)
{
    const char *bad;

    if (st->action == RUNBOOK_ACTION_EXECUTE_AWS_API) {
        const struct api_spec *as =
            api_find(json_string_value(json_object_get(inputs, "Service"))
                         ? json_string_value(json_object_get(inputs, "Service"))
                         : "",
                     json_string_value(json_object_get(inputs, "Api"))
                         ? json_string_value(json_object_get(inputs, "Api"))
                         : "");
        if (!as) {
            snprintf(why, len, "unsupported Service/Api (supported: %s)", supported_apis);
            return CORDON_EINVAL;
        }
        return inputs_check_spec(as->params, inputs, "Service", "Api", why, len, &bad);
    }
    if (st->action == RUNBOOK_ACTION_BRANCH)
        return 0;
    return inputs_check_spec(action_inputs[st->action], inputs, NULL, NULL, why, len, &bad);
}

static int op_lookup(const char *name, enum runbook_op *op)
{
    size_t i;

    for (i = 0; i < sizeof(op_table) / sizeof(op_table[0]); i++) {
        if (strcmp(op_table[i].name, name) == 0) {
            *op = op_table[i].op;
            return 0;
        }
    }
    return CORDON_ENOTFOUND;
}

static void cond_free(struct runbook_cond *c)
{
    size_t i;

    for (i = 0; i < c->nkids; i++)
        cond_free(&c->kids[i]);
    free(c->kids);
    free(c->variable);
    json_decref(c->value);
    memset(c, 0, sizeof(*c));
}

/* A condition mapping (without NextStep), depth-limited by the tree. */
static int load_cond(struct ld *l, const struct runbook_tree_node *n, struct runbook_cond *c,
                     int self, bool top)
{
    const struct runbook_tree_node *var = NULL, *opk = NULL, *opv = NULL;
    size_t i;
    int rc;

    if ((rc = want_map(l, n, "branch condition")))
        return rc;
    for (i = 0; i + 1 < n->n; i += 2) {
        const struct runbook_tree_node *k = n->items[i], *v = n->items[i + 1];
        enum runbook_op op;
        if (top && strcmp(k->text, "NextStep") == 0)
            continue;
        if (strcmp(k->text, "Variable") == 0) {
            var = v;
            continue;
        }
        if (strcmp(k->text, "And") == 0 || strcmp(k->text, "Or") == 0 ||
            strcmp(k->text, "Not") == 0) {
            op = k->text[0] == 'A'   ? RUNBOOK_OP_AND
                 : k->text[0] == 'O' ? RUNBOOK_OP_OR
                                     : RUNBOOK_OP_NOT;
        } else if (op_lookup(k->text, &op)) {
            return ERR(l, k, "UnknownOperator",
                       "unknown operator '%s' in aws:branch (supported: %s)", k->text,
                       supported_ops);
        }
        if (opk)
            return ERR(l, k, "InvalidChoice", "a choice has one operator; found both '%s' and '%s'",
                       opk->text, k->text);
        opk = k;
        opv = v;
        c->op = op;
    }
    if (!opk)
        return ERR(l, n, "InvalidChoice", "a choice needs an operator (%s)", supported_ops);
    if (c->op == RUNBOOK_OP_AND || c->op == RUNBOOK_OP_OR || c->op == RUNBOOK_OP_NOT) {
        if (var)
            return ERR(l, var, "InvalidChoice", "Variable does not go with %s", opk->text);
        if (c->op == RUNBOOK_OP_NOT) {
            c->kids = calloc(1, sizeof(*c->kids));
            if (!c->kids)
                return CORDON_ENOMEM;
            c->nkids = 1;
            return load_cond(l, opv, &c->kids[0], self, false);
        }
        if (opv->type != RUNBOOK_TREE_SEQ || opv->n == 0)
            return ERR(l, opv, "InvalidChoice", "%s: expected a non-empty list of conditions",
                       opk->text);
        c->kids = calloc(opv->n, sizeof(*c->kids));
        if (!c->kids)
            return CORDON_ENOMEM;
        for (i = 0; i < opv->n; i++) {
            c->nkids++;
            if ((rc = load_cond(l, opv->items[i], &c->kids[i], self, false)))
                return rc;
        }
        return 0;
    }
    if (!var)
        return ERR(l, opk, "InvalidChoice", "%s: expected a 'Variable' to compare", opk->text);
    if ((rc = want_string(l, var, "Variable")))
        return rc;
    if (!runbook_template_has(var->text))
        return ERR(l, var, "InvalidChoice",
                   "Variable: expected a reference such as {{ Step.Output }} or {{ Param }}");
    if ((rc = check_refs(l, var, var->text, self)))
        return rc;
    if (opv->type != RUNBOOK_TREE_SCALAR)
        return ERR(l, opv, "InvalidChoice", "%s: expected a single value, found %s", opk->text,
                   kind_name(opv));
    if (opv->stype == RUNBOOK_SCALAR_STRING && (rc = check_refs(l, opv, opv->text, self)))
        return rc;
    if (opv->stype != RUNBOOK_SCALAR_STRING || !runbook_template_has(opv->text)) {
        bool ok;
        switch (c->op) {
        case RUNBOOK_OP_BOOLEAN_EQUALS:
            ok = opv->stype == RUNBOOK_SCALAR_BOOL;
            break;
        case RUNBOOK_OP_NUMERIC_EQUALS:
        case RUNBOOK_OP_NUMERIC_GREATER:
        case RUNBOOK_OP_NUMERIC_LESSER:
        case RUNBOOK_OP_NUMERIC_GREATER_OR_EQUALS:
        case RUNBOOK_OP_NUMERIC_LESSER_OR_EQUALS:
            ok = opv->stype == RUNBOOK_SCALAR_INT || opv->stype == RUNBOOK_SCALAR_FLOAT;
            break;
        default:
            ok = opv->stype == RUNBOOK_SCALAR_STRING;
        }
        if (!ok)
            return ERR(l, opv, "InvalidChoice", "%s: expected a %s operand, found %s", opk->text,
                       c->op == RUNBOOK_OP_BOOLEAN_EQUALS   ? "boolean"
                       : c->op >= RUNBOOK_OP_NUMERIC_EQUALS ? "numeric"
                                                            : "string",
                       kind_name(opv));
    }
    c->variable = strdup(var->text);
    if (!c->variable)
        return CORDON_ENOMEM;
    return to_json(l, opv, &c->value);
}

static int load_branch(struct ld *l, struct runbook_step *st, int self,
                       const struct runbook_tree_node *in_node)
{
    static const char *const keys[] = { "Choices", "Default", NULL };
    const struct runbook_tree_node *ch, *def;
    size_t i;
    int rc;

    if ((rc = check_keys(l, in_node, keys, "aws:branch input")))
        return rc;
    ch = runbook_tree_get(in_node, "Choices");
    if (!ch)
        return ERR(l, in_node, "MissingInput", "aws:branch: expected 'Choices'");
    if (ch->type != RUNBOOK_TREE_SEQ || ch->n == 0)
        return ERR(l, ch, "InvalidInput", "Choices: expected a non-empty list");
    if (ch->n > RUNBOOK_MAX_CHOICES)
        return err_lc(l, CORDON_ETOOBIG, "TooMany", ch->line, ch->column, "more than %d choices",
                      RUNBOOK_MAX_CHOICES);
    st->choices = calloc(ch->n, sizeof(*st->choices));
    if (!st->choices)
        return CORDON_ENOMEM;
    for (i = 0; i < ch->n; i++) {
        const struct runbook_tree_node *c = ch->items[i], *ns;
        struct runbook_choice *choice = &st->choices[i];
        st->nchoices++;
        if ((rc = want_map(l, c, "choice")))
            return rc;
        ns = runbook_tree_get(c, "NextStep");
        if (!ns)
            return ERR(l, c, "InvalidChoice", "a choice needs a 'NextStep'");
        if ((rc = step_target(l, ns, "NextStep", &choice->next)))
            return rc;
        if ((rc = load_cond(l, c, &choice->cond, self, true)))
            return rc;
    }
    def = runbook_tree_get(in_node, "Default");
    if (def && (rc = step_target(l, def, "Default", &st->default_step)))
        return rc;
    return 0;
}

static int load_outputs_decl(struct ld *l, struct runbook_step *st,
                             const struct runbook_tree_node *n)
{
    static const char *const keys[] = { "Name", "Selector", "Type", NULL };
    size_t i, j;
    int rc;

    if (n->type != RUNBOOK_TREE_SEQ)
        return ERR(l, n, "InvalidType", "outputs: expected a list of {Name, Selector, Type}");
    if (n->n > RUNBOOK_MAX_STEP_OUTPUTS)
        return err_lc(l, CORDON_ETOOBIG, "TooMany", n->line, n->column, "more than %d outputs",
                      RUNBOOK_MAX_STEP_OUTPUTS);
    st->outputs = calloc(n->n + 1, sizeof(*st->outputs));
    if (!st->outputs)
        return CORDON_ENOMEM;
    for (i = 0; i < n->n; i++) {
        const struct runbook_tree_node *o = n->items[i], *name, *sel, *type;
        struct runbook_output_decl *d = &st->outputs[i];
        const char *why;
        if ((rc = want_map(l, o, "output")) || (rc = check_keys(l, o, keys, "output property")))
            return rc;
        name = runbook_tree_get(o, "Name");
        sel = runbook_tree_get(o, "Selector");
        type = runbook_tree_get(o, "Type");
        if (!name || !sel || !type)
            return ERR(l, o, "MissingProperty", "an output needs Name, Selector and Type");
        if ((rc = want_string(l, name, "Name")) || (rc = want_string(l, sel, "Selector")) ||
            (rc = want_string(l, type, "Type")))
            return rc;
        if (!valid_name(name->text))
            return ERR(l, name, "InvalidName", "output name '%s': expected letters, digits and '_'",
                       name->text);
        for (j = 0; j < st->noutputs; j++)
            if (strcmp(st->outputs[j].name, name->text) == 0)
                return ERR(l, name, "DuplicateName", "output '%s' is declared twice", name->text);
        if (runbook_selector_check(sel->text, &why))
            return ERR(l, sel, "InvalidSelector", "Selector '%s': %s", sel->text, why);
        d->name = strdup(name->text);
        d->selector = strdup(sel->text);
        st->noutputs++;
        if (!d->name || !d->selector)
            return CORDON_ENOMEM;
        if (type_parse(type->text, &d->type))
            return ERR(l, type, "InvalidType",
                       "output type '%s': expected String, StringList, Integer, Boolean, "
                       "MapList or StringMap",
                       type->text);
    }
    return 0;
}

static bool action_lookup(const char *name, enum runbook_action *a)
{
    int i;

    for (i = 0; i < RUNBOOK_ACTION_COUNT_; i++) {
        if (strcmp(action_names[i], name) == 0) {
            *a = (enum runbook_action)i;
            return true;
        }
    }
    return false;
}

static bool action_name_shape(const char *s)
{
    const char *p;
    size_t n;

    if (strncmp(s, "aws:", 4) == 0)
        p = s + 4;
    else if (strncmp(s, "cordon:", 7) == 0)
        p = s + 7;
    else
        return false;
    n = strlen(p);
    if (n < 3 || n > 25)
        return false;
    for (; *p; p++)
        if (!isalpha((unsigned char)*p))
            return false;
    return true;
}

static int default_timeout(enum runbook_action a)
{
    switch (a) {
    case RUNBOOK_ACTION_EXECUTE_SCRIPT:
        return RUNBOOK_SCRIPT_MAX_SECONDS;
    case RUNBOOK_ACTION_INVOKE_LAMBDA:
        return RUNBOOK_FUNCTION_MAX_SECONDS;
    case RUNBOOK_ACTION_APPROVE:
        return RUNBOOK_APPROVE_DEFAULT_SECONDS;
    case RUNBOOK_ACTION_EXECUTE_AWS_API:
    case RUNBOOK_ACTION_QUARANTINE_THING:
    case RUNBOOK_ACTION_RELEASE_THING:
    case RUNBOOK_ACTION_NOTIFY:
    case RUNBOOK_ACTION_HTTP_REQUEST:
    case RUNBOOK_ACTION_PUBLISH_MQTT:
        return RUNBOOK_DEFAULT_ACTION_SECONDS;
    default:
        return 0;
    }
}

static int max_timeout(enum runbook_action a)
{
    switch (a) {
    case RUNBOOK_ACTION_EXECUTE_SCRIPT:
        return RUNBOOK_SCRIPT_MAX_SECONDS;
    case RUNBOOK_ACTION_INVOKE_LAMBDA:
        return RUNBOOK_FUNCTION_MAX_SECONDS;
    default:
        return RUNBOOK_APPROVE_MAX_SECONDS;
    }
}

/* Pass 1: names and actions (targets need every name first). */
static int load_step_names(struct ld *l, const struct runbook_tree_node *seq)
{
    struct runbook_doc *doc = l->doc;
    size_t i, j;
    int rc;

    if (seq->type != RUNBOOK_TREE_SEQ || seq->n == 0)
        return ERR(l, seq, "InvalidType", "mainSteps: expected a non-empty list of steps");
    if (seq->n > RUNBOOK_MAX_STEPS)
        return err_lc(l, CORDON_ETOOBIG, "TooMany", seq->line, seq->column, "more than %d steps",
                      RUNBOOK_MAX_STEPS);
    doc->steps = calloc(seq->n, sizeof(*doc->steps));
    if (!doc->steps)
        return CORDON_ENOMEM;
    for (i = 0; i < seq->n; i++) {
        const struct runbook_tree_node *s = seq->items[i], *name, *action;
        struct runbook_step *st = &doc->steps[i];
        st->on_failure_step = st->on_cancel_step = st->next_step = st->default_step = -1;
        st->line = s->line;
        st->column = s->column;
        doc->nsteps++;
        if ((rc = want_map(l, s, "step")))
            return rc;
        name = runbook_tree_get(s, "name");
        if (!name)
            return ERR(l, s, "MissingProperty", "a step needs a 'name'");
        if ((rc = want_string(l, name, "name")))
            return rc;
        if (!valid_name(name->text))
            return ERR(l, name, "InvalidName",
                       "step name '%s': expected letters, digits and '_' (1-%d characters)",
                       name->text, RUNBOOK_NAME_MAX);
        for (j = 0; j < i; j++)
            if (strcmp(doc->steps[j].name, name->text) == 0)
                return ERR(l, name, "DuplicateName",
                           "step name '%s' is used twice (first at line %d)", name->text,
                           doc->steps[j].line);
        st->name = strdup(name->text);
        if (!st->name)
            return CORDON_ENOMEM;
        action = runbook_tree_get(s, "action");
        if (!action)
            return ERR(l, s, "MissingProperty", "step '%s' needs an 'action'", st->name);
        if ((rc = want_string(l, action, "action")))
            return rc;
        if (!action_lookup(action->text, &st->action)) {
            if (!action_name_shape(action->text))
                return ERR(l, action, "InvalidAction",
                           "action '%s': expected aws: followed by 3-25 letters (supported: %s)",
                           action->text, supported_actions);
            return err_lc(l, CORDON_EUNSUPPORTED, "UnsupportedAction", action->line, action->column,
                          "action '%s' is not supported by Cordon; supported actions: %s",
                          action->text, supported_actions);
        }
    }
    return 0;
}

/* Pass 2a: everything but references (which need every step's outputs). */
static int load_step(struct ld *l, size_t idx, const struct runbook_tree_node *s)
{
    static const char *const keys[] = { "name",        "action",      "inputs",
                                        "description", "maxAttempts", "timeoutSeconds",
                                        "onFailure",   "onCancel",    "isEnd",
                                        "nextStep",    "isCritical",  "outputs",
                                        NULL };
    struct runbook_doc *doc = l->doc;
    struct runbook_step *st = &doc->steps[idx];
    const struct runbook_tree_node *n, *in_node;
    long v;
    int rc;

    if ((rc = check_keys(l, s, keys, "step property")))
        return rc;
    n = runbook_tree_get(s, "description");
    if (n) {
        if ((rc = want_string(l, n, "description")))
            return rc;
        st->description = strdup(n->text);
        if (!st->description)
            return CORDON_ENOMEM;
    }
    st->max_attempts = 1;
    n = runbook_tree_get(s, "maxAttempts");
    if (n) {
        if ((rc = want_int(l, n, "maxAttempts", 1, RUNBOOK_MAX_ATTEMPTS, &v)))
            return rc;
        st->max_attempts = (int)v;
    }
    st->timeout_seconds = default_timeout(st->action);
    n = runbook_tree_get(s, "timeoutSeconds");
    if (n) {
        if ((rc = want_int(l, n, "timeoutSeconds", 1, max_timeout(st->action), &v)))
            return rc;
        st->timeout_seconds = (int)v;
        st->timeout_explicit = true;
    }
    n = runbook_tree_get(s, "onFailure");
    st->on_failure = RUNBOOK_ON_FAILURE_ABORT;
    if (n) {
        if ((rc = flow_target(l, n, "onFailure", true, &st->on_failure, &st->on_failure_step)))
            return rc;
        if (st->on_failure_step == (int)idx)
            return ERR(l, n, "InvalidValue",
                       "onFailure: a step cannot be its own failure path "
                       "(use maxAttempts to retry)");
    }
    n = runbook_tree_get(s, "onCancel");
    if (n) {
        enum runbook_on_failure kind;
        if ((rc = flow_target(l, n, "onCancel", false, &kind, &st->on_cancel_step)))
            return rc;
        if (st->on_cancel_step >= 0) {
            enum runbook_action ta = doc->steps[st->on_cancel_step].action;
            if (ta == RUNBOOK_ACTION_PAUSE || ta == RUNBOOK_ACTION_APPROVE ||
                ta == RUNBOOK_ACTION_SLEEP)
                return ERR(l, n, "InvalidValue",
                           "onCancel: step '%s' is an %s step; the cancel path may not pause, "
                           "wait for approval or sleep",
                           doc->steps[st->on_cancel_step].name, runbook_action_name(ta));
        }
    }
    n = runbook_tree_get(s, "isEnd");
    if (n && (rc = want_bool(l, n, "isEnd", &st->is_end)))
        return rc;
    n = runbook_tree_get(s, "nextStep");
    if (n && (rc = step_target(l, n, "nextStep", &st->next_step)))
        return rc;
    n = runbook_tree_get(s, "isCritical");
    if (n) {
        if ((rc = want_bool(l, n, "isCritical", &st->is_critical)))
            return rc;
        st->is_critical_explicit = true;
    } else {
        st->is_critical = st->on_failure != RUNBOOK_ON_FAILURE_CONTINUE;
    }
    n = runbook_tree_get(s, "outputs");
    if (n && (rc = load_outputs_decl(l, st, n)))
        return rc;
    in_node = runbook_tree_get(s, "inputs");
    if (!in_node)
        return ERR(l, s, "MissingProperty", "step '%s' needs 'inputs' (use {} when there are none)",
                   st->name);
    if (in_node->type == RUNBOOK_TREE_SCALAR && in_node->stype == RUNBOOK_SCALAR_NULL) {
        st->inputs = json_object();
        if (!st->inputs)
            return CORDON_ENOMEM;
    } else {
        if ((rc = want_map(l, in_node, "inputs")))
            return rc;
        if ((rc = to_json(l, in_node, &st->inputs)))
            return rc;
    }
    return 0;
}

/* Pass 2b: references, action inputs, branches. */
static int load_step_refs(struct ld *l, size_t idx, const struct runbook_tree_node *s)
{
    struct runbook_step *st = &l->doc->steps[idx];
    const struct runbook_tree_node *n, *in_node = runbook_tree_get(s, "inputs");
    int rc;

    n = runbook_tree_get(s, "description");
    if (n && (rc = check_refs(l, n, n->text, (int)idx)))
        return rc;
    if (st->action == RUNBOOK_ACTION_BRANCH) {
        if (in_node->type != RUNBOOK_TREE_MAP)
            return ERR(l, in_node, "MissingInput", "aws:branch: expected 'Choices'");
        return load_branch(l, st, (int)idx, in_node);
    }
    if (in_node->type == RUNBOOK_TREE_MAP && (rc = check_refs_tree(l, in_node, (int)idx)))
        return rc;
    return check_action_inputs(l, st, in_node);
}

/* ---------------------------------------------------------------------- */
/* Graph check: a nextStep cycle no step can leave                         */
/* ---------------------------------------------------------------------- */

/* Success-path successors of step i; -2 stands for "the run finishes". */
static size_t successors(const struct runbook_doc *doc, size_t i, int *out)
{
    const struct runbook_step *st = &doc->steps[i];
    int next_in_list = (i + 1 < doc->nsteps) ? (int)i + 1 : -2;
    size_t n = 0, c;

    if (st->action == RUNBOOK_ACTION_BRANCH) {
        for (c = 0; c < st->nchoices; c++)
            out[n++] = st->choices[c].next;
        if (st->default_step >= 0)
            out[n++] = st->default_step;
        else if (st->is_end)
            out[n++] = -2;
        else
            out[n++] = st->next_step >= 0 ? st->next_step : next_in_list;
        return n;
    }
    if (st->is_end)
        out[n++] = -2;
    else if (st->next_step >= 0)
        out[n++] = st->next_step;
    else
        out[n++] = next_in_list;
    return n;
}

static int check_cycles(struct ld *l, const struct runbook_tree_node *seq)
{
    struct runbook_doc *doc = l->doc;
    bool *exits = calloc(doc->nsteps, sizeof(bool));
    int *succ = calloc(RUNBOOK_MAX_CHOICES + 2, sizeof(int));
    bool changed = true;
    size_t i, k, n;
    int rc = 0;

    if (!exits || !succ) {
        free(exits);
        free(succ);
        return CORDON_ENOMEM;
    }
    /* Fixed point: a step can finish if one of its successors is the end or can finish. */
    while (changed) {
        changed = false;
        for (i = 0; i < doc->nsteps; i++) {
            if (exits[i])
                continue;
            n = successors(doc, i, succ);
            for (k = 0; k < n; k++) {
                if (succ[k] == -2 || exits[succ[k]]) {
                    exits[i] = true;
                    changed = true;
                    break;
                }
            }
        }
    }
    for (i = 0; i < doc->nsteps; i++) {
        if (!exits[i]) {
            const struct runbook_tree_node *s = seq->items[i];
            const struct runbook_tree_node *ns = runbook_tree_get(s, "nextStep");
            char path[300];
            size_t off = 0, cur = i, hops;
            path[0] = '\0';
            for (hops = 0; hops < 8 && off < sizeof(path); hops++) {
                off += (size_t)snprintf(path + off, sizeof(path) - off, "%s%s", hops ? " -> " : "",
                                        doc->steps[cur].name);
                n = successors(doc, cur, succ);
                if (n == 0 || succ[0] < 0)
                    break;
                cur = (size_t)succ[0];
                if (cur == i) {
                    snprintf(path + off, sizeof(path) - off, " -> %s", doc->steps[cur].name);
                    break;
                }
            }
            rc = ERR(l, ns ? ns : s, "InfiniteLoop",
                     "step '%s' is in a nextStep cycle that no step can leave (%s); add isEnd, "
                     "an aws:branch exit or break the cycle",
                     doc->steps[i].name, path);
            break;
        }
    }
    free(exits);
    free(succ);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* Document                                                                */
/* ---------------------------------------------------------------------- */

static int load_doc_outputs(struct ld *l, const struct runbook_tree_node *n)
{
    struct runbook_doc *doc = l->doc;
    size_t i;
    int rc;

    if (n->type != RUNBOOK_TREE_SEQ)
        return ERR(l, n, "InvalidType", "outputs: expected a list of \"Step.Output\" strings");
    doc->outputs = calloc(n->n + 1, sizeof(char *));
    if (!doc->outputs)
        return CORDON_ENOMEM;
    for (i = 0; i < n->n; i++) {
        const struct runbook_tree_node *o = n->items[i];
        const char *dot;
        int si;
        char step[RUNBOOK_NAME_MAX + 1];
        if ((rc = want_string(l, o, "output")))
            return rc;
        dot = strchr(o->text, '.');
        if (!dot || (size_t)(dot - o->text) > RUNBOOK_NAME_MAX)
            return ERR(l, o, "InvalidOutput", "output '%s': expected Step.Output", o->text);
        memcpy(step, o->text, (size_t)(dot - o->text));
        step[dot - o->text] = '\0';
        si = runbook_doc_step_index(doc, step);
        if (si < 0 || !step_has_output(&doc->steps[si], dot + 1))
            return ERR(l, o, "UndeclaredOutput",
                       "output '%s': no step '%s' with a declared output '%s'", o->text, step,
                       dot + 1);
        doc->outputs[i] = strdup(o->text);
        if (!doc->outputs[i])
            return CORDON_ENOMEM;
        doc->noutputs++;
    }
    return 0;
}

static uint64_t fnv1a(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

int runbook_doc_load(struct runbook_doc **out, const char *src, size_t len, const char *file,
                     const struct runbook_doc_options *opt, struct cordon_diag *diag)
{
    static const char *const keys[] = { "schemaVersion", "description", "assumeRole",
                                        "parameters",    "variables",   "mainSteps",
                                        "outputs",       "files",       NULL };
    struct runbook_tree tree;
    struct runbook_doc *doc = NULL;
    struct ld l;
    const struct runbook_tree_node *root, *n, *steps;
    size_t max = (opt && opt->max_bytes) ? opt->max_bytes : RUNBOOK_DOC_MAX_BYTES;
    bool json;
    size_t i;
    int rc;

    *out = NULL;
    cordon_diag_clear(diag);
    memset(&tree, 0, sizeof(tree));
    snprintf(tree.file, sizeof(tree.file), "%s", file ? file : "");
    memset(&l, 0, sizeof(l));
    l.t = &tree;
    l.opt = opt;
    l.diag = diag;
    if (len > max)
        return err_lc(&l, CORDON_ETOOBIG, "TooBig", 1, 1,
                      "document is %zu bytes; the limit is %zu bytes", len, max);
    if (opt && opt->json >= 0) {
        json = opt->json == 1;
    } else {
        size_t fl = file ? strlen(file) : 0, k = 0;
        while (k < len && isspace((unsigned char)src[k]))
            k++;
        json = (fl > 5 && strcmp(file + fl - 5, ".json") == 0) || (k < len && src[k] == '{');
    }
    rc = runbook_tree_parse(&tree, src, len, file, json, RUNBOOK_DOC_MAX_DEPTH,
                            RUNBOOK_DOC_MAX_NODES, diag);
    if (rc)
        return rc;
    doc = calloc(1, sizeof(*doc));
    if (!doc) {
        rc = CORDON_ENOMEM;
        goto out;
    }
    l.doc = doc;
    doc->fingerprint = fnv1a(src, len);
    if (file && !(doc->file = strdup(file))) {
        rc = CORDON_ENOMEM;
        goto out;
    }
    root = tree.root;
    if ((rc = want_map(&l, root, "document")) || (rc = check_keys(&l, root, keys, "top-level key")))
        goto out;
    n = runbook_tree_get(root, "schemaVersion");
    if (!n) {
        rc = ERR(&l, root, "MissingProperty", "expected schemaVersion: '0.3'");
        goto out;
    }
    if (n->type != RUNBOOK_TREE_SCALAR || strcmp(n->text, "0.3") != 0) {
        rc = ERR(&l, n, "UnsupportedSchema",
                 "schemaVersion '%s' is not supported (expected '0.3', an Automation document)",
                 n->text ? n->text : "?");
        goto out;
    }
    n = runbook_tree_get(root, "description");
    if (n) {
        if ((rc = want_string(&l, n, "description")))
            goto out;
        if (!(doc->description = strdup(n->text))) {
            rc = CORDON_ENOMEM;
            goto out;
        }
    }
    n = runbook_tree_get(root, "files");
    if (n) {
        if ((rc = want_map(&l, n, "files")) || (rc = to_json(&l, n, &doc->files)))
            goto out;
    }
    n = runbook_tree_get(root, "parameters");
    if (n && (rc = load_params(&l, n)))
        goto out;
    n = runbook_tree_get(root, "variables");
    if (n && (rc = load_variables(&l, n)))
        goto out;
    n = runbook_tree_get(root, "assumeRole");
    if (n) {
        if ((rc = want_string(&l, n, "assumeRole")) || (rc = check_refs(&l, n, n->text, -1)))
            goto out;
        if (!(doc->assume_role = strdup(n->text))) {
            rc = CORDON_ENOMEM;
            goto out;
        }
    }
    steps = runbook_tree_get(root, "mainSteps");
    if (!steps) {
        rc = ERR(&l, root, "MissingProperty", "expected 'mainSteps', the list of steps");
        goto out;
    }
    if ((rc = load_step_names(&l, steps)))
        goto out;
    for (i = 0; i < steps->n; i++)
        if ((rc = load_step(&l, i, steps->items[i])))
            goto out;
    for (i = 0; i < steps->n; i++)
        if ((rc = load_step_refs(&l, i, steps->items[i])))
            goto out;
    if ((rc = check_cycles(&l, steps)))
        goto out;
    n = runbook_tree_get(root, "outputs");
    if (n && (rc = load_doc_outputs(&l, n)))
        goto out;
out:
    runbook_tree_free(&tree);
    if (rc) {
        if (rc == CORDON_ENOMEM && diag && !diag->message[0])
            cordon_diag_set(diag, "NoMemory", 0, 0, 0, "out of memory loading the document");
        runbook_doc_free(doc);
        return rc;
    }
    *out = doc;
    return 0;
}

void runbook_doc_free(struct runbook_doc *doc)
{
    size_t i, j;

    if (!doc)
        return;
    for (i = 0; i < doc->nparams; i++) {
        struct runbook_param *p = &doc->params[i];
        free(p->name);
        free(p->description);
        json_decref(p->def);
        json_decref(p->allowed_values);
        if (p->pattern) {
            regfree(&p->re);
            free(p->pattern);
        }
    }
    free(doc->params);
    for (i = 0; i < doc->nvars; i++) {
        free(doc->vars[i].name);
        free(doc->vars[i].description);
        json_decref(doc->vars[i].def);
    }
    free(doc->vars);
    for (i = 0; i < doc->nsteps; i++) {
        struct runbook_step *st = &doc->steps[i];
        free(st->name);
        free(st->description);
        json_decref(st->inputs);
        for (j = 0; j < st->noutputs; j++) {
            free(st->outputs[j].name);
            free(st->outputs[j].selector);
        }
        free(st->outputs);
        for (j = 0; j < st->nchoices; j++)
            cond_free(&st->choices[j].cond);
        free(st->choices);
    }
    free(doc->steps);
    for (i = 0; i < doc->noutputs; i++)
        free(doc->outputs[i]);
    free(doc->outputs);
    json_decref(doc->files);
    free(doc->description);
    free(doc->assume_role);
    free(doc->file);
    free(doc);
}

/* ---------------------------------------------------------------------- */
/* Parameters at execution start                                           */
/* ---------------------------------------------------------------------- */

static int params_finish(const struct runbook_doc *doc, json_t *res, struct cordon_diag *diag)
{
    size_t i;
    char why[300];

    for (i = 0; i < doc->nparams; i++) {
        const struct runbook_param *p = &doc->params[i];
        json_t *v = json_object_get(res, p->name);
        if (!v) {
            if (!p->def) {
                cordon_diag_set(diag, "MissingParameter", 0, 0, 0,
                                "parameter '%s' (%s) is required: it has no default", p->name,
                                runbook_type_name(p->type));
                return CORDON_EINVAL;
            }
            if (json_object_set(res, p->name, p->def))
                return CORDON_ENOMEM;
            continue;
        }
        if (param_check_value(p, v, why, sizeof(why))) {
            cordon_diag_set(diag, "InvalidParameter", 0, 0, 0, "parameter '%s': %s", p->name, why);
            return CORDON_EINVAL;
        }
    }
    return 0;
}

int runbook_params_resolve(const struct runbook_doc *doc, const json_t *given, json_t **resolved,
                           struct cordon_diag *diag)
{
    const char *key;
    json_t *v, *res;
    int rc;

    *resolved = NULL;
    if (given && !json_is_object(given)) {
        cordon_diag_set(diag, "InvalidParameter", 0, 0, 0, "parameters: expected an object");
        return CORDON_EINVAL;
    }
    res = json_object();
    if (!res)
        return CORDON_ENOMEM;
    if (given) {
        json_object_foreach((json_t *)given, key, v)
        {
            if (!find_param(doc, key)) {
                cordon_diag_set(diag, "UnknownParameter", 0, 0, 0,
                                "parameter '%s' is not declared by the document", key);
                json_decref(res);
                return CORDON_EINVAL;
            }
            if (json_object_set(res, key, v)) {
                json_decref(res);
                return CORDON_ENOMEM;
            }
        }
    }
    rc = params_finish(doc, res, diag);
    if (rc) {
        json_decref(res);
        return rc;
    }
    *resolved = res;
    return 0;
}

int runbook_params_resolve_strings(const struct runbook_doc *doc, const json_t *given,
                                   json_t **resolved, struct cordon_diag *diag)
{
    const char *key;
    json_t *v, *typed, *conv = NULL;
    int rc = CORDON_EINVAL;

    *resolved = NULL;
    if (given && !json_is_object(given)) {
        cordon_diag_set(diag, "InvalidParameter", 0, 0, 0, "parameters: expected an object");
        return CORDON_EINVAL;
    }
    typed = json_object();
    if (!typed)
        return CORDON_ENOMEM;
    if (given) {
        json_object_foreach((json_t *)given, key, v)
        {
            const struct runbook_param *p = find_param(doc, key);
            const char *s;
            if (!p) {
                cordon_diag_set(diag, "UnknownParameter", 0, 0, 0,
                                "parameter '%s' is not declared by the document", key);
                goto fail;
            }
            if (!runbook_type_check(RUNBOOK_TYPE_STRING_LIST, v)) {
                cordon_diag_set(diag, "InvalidParameter", 0, 0, 0,
                                "parameter '%s': expected a list of strings", key);
                goto fail;
            }
            if (p->type == RUNBOOK_TYPE_STRING_LIST) {
                conv = json_copy(v);
            } else {
                if (json_array_size(v) != 1) {
                    cordon_diag_set(diag, "InvalidParameter", 0, 0, 0,
                                    "parameter '%s' (%s): expected exactly one value", key,
                                    runbook_type_name(p->type));
                    goto fail;
                }
                s = json_string_value(json_array_get(v, 0));
                if (p->type == RUNBOOK_TYPE_STRING) {
                    conv = json_string(s);
                } else if (p->type == RUNBOOK_TYPE_BOOLEAN) {
                    if (strcmp(s, "true") && strcmp(s, "false")) {
                        cordon_diag_set(diag, "InvalidParameter", 0, 0, 0,
                                        "parameter '%s' (Boolean): expected true or false", key);
                        goto fail;
                    }
                    conv = json_boolean(s[0] == 't');
                } else if (p->type == RUNBOOK_TYPE_INTEGER) {
                    char *end;
                    long long x;
                    errno = 0;
                    x = strtoll(s, &end, 10);
                    if (errno || !*s || *end || isspace((unsigned char)*s) || *s == '+') {
                        cordon_diag_set(diag, "InvalidParameter", 0, 0, 0,
                                        "parameter '%s' (Integer): expected a whole number, found "
                                        "'%.60s'",
                                        key, s);
                        goto fail;
                    }
                    conv = json_integer(x);
                } else {
                    json_error_t je;
                    conv = json_loads(s, 0, &je);
                    if (!conv) {
                        cordon_diag_set(diag, "InvalidParameter", 0, 0, 0,
                                        "parameter '%s' (%s): expected JSON (%s)", key,
                                        runbook_type_name(p->type), je.text);
                        goto fail;
                    }
                }
            }
            if (!conv || json_object_set_new(typed, key, conv)) {
                rc = CORDON_ENOMEM;
                goto fail;
            }
        }
    }
    rc = params_finish(doc, typed, diag);
    if (rc)
        goto fail;
    *resolved = typed;
    return 0;
fail:
    json_decref(typed);
    return rc;
}
