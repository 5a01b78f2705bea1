#include "runbook_branch.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *json_kind_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return "a String";
    case JSON_INTEGER:
        return "an Integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a Boolean";
    case JSON_ARRAY:
        return "a list";
    case JSON_OBJECT:
        return "a map";
    default:
        return "null";
    }
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);

    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

static int leaf(const struct runbook_cond *c, const json_t *var, const json_t *val, bool *res,
                char *err, size_t errlen)
{
    switch (c->op) {
    case RUNBOOK_OP_STRING_EQUALS:
    case RUNBOOK_OP_EQUALS_IGNORE_CASE:
    case RUNBOOK_OP_STARTS_WITH:
    case RUNBOOK_OP_ENDS_WITH:
    case RUNBOOK_OP_CONTAINS: {
        const char *a, *b;
        if (!json_is_string(val)) {
            snprintf(err, errlen, "the operand is %s, expected a String", json_kind_name(val));
            return CORDON_EINVAL;
        }
        b = json_string_value(val);
        if (c->op == RUNBOOK_OP_CONTAINS && json_is_array(var)) {
            size_t i;
            *res = false;
            for (i = 0; i < json_array_size(var); i++)
                if (json_is_string(json_array_get(var, i)) &&
                    strcmp(json_string_value(json_array_get(var, i)), b) == 0)
                    *res = true;
            return 0;
        }
        if (!json_is_string(var)) {
            snprintf(err, errlen, "Variable is %s, expected a String", json_kind_name(var));
            return CORDON_EINVAL;
        }
        a = json_string_value(var);
        switch (c->op) {
        case RUNBOOK_OP_STRING_EQUALS:
            *res = strcmp(a, b) == 0;
            break;
        case RUNBOOK_OP_EQUALS_IGNORE_CASE:
            *res = strcasecmp(a, b) == 0;
            break;
        case RUNBOOK_OP_STARTS_WITH:
            *res = strncmp(a, b, strlen(b)) == 0;
            break;
        case RUNBOOK_OP_ENDS_WITH:
            *res = ends_with(a, b);
            break;
        default:
            *res = strstr(a, b) != NULL;
        }
        return 0;
    }
    case RUNBOOK_OP_BOOLEAN_EQUALS:
        if (!json_is_boolean(var) || !json_is_boolean(val)) {
            snprintf(err, errlen, "BooleanEquals compares Booleans; Variable is %s",
                     json_kind_name(var));
            return CORDON_EINVAL;
        }
        *res = json_is_true(var) == json_is_true(val);
        return 0;
    default: {
        double a, b;
        if (!json_is_number(var) || !json_is_number(val)) {
            snprintf(err, errlen, "numeric comparison needs numbers; Variable is %s",
                     json_kind_name(var));
            return CORDON_EINVAL;
        }
        a = json_number_value(var);
        b = json_number_value(val);
        switch (c->op) {
        case RUNBOOK_OP_NUMERIC_EQUALS:
            *res = a == b;
            break;
        case RUNBOOK_OP_NUMERIC_GREATER:
            *res = a > b;
            break;
        case RUNBOOK_OP_NUMERIC_LESSER:
            *res = a < b;
            break;
        case RUNBOOK_OP_NUMERIC_GREATER_OR_EQUALS:
            *res = a >= b;
            break;
        default:
            *res = a <= b;
        }
        return 0;
    }
    }
}

int runbook_branch_eval(const struct runbook_cond *c, runbook_template_lookup_fn lookup, void *ctx,
                        bool *result, char *err, size_t errlen)
{
    json_t *var = NULL, *val = NULL;
    size_t i;
    bool r;
    int rc;

    switch (c->op) {
    case RUNBOOK_OP_AND:
    case RUNBOOK_OP_OR:
        for (i = 0; i < c->nkids; i++) {
            rc = runbook_branch_eval(&c->kids[i], lookup, ctx, &r, err, errlen);
            if (rc)
                return rc;
            if (c->op == RUNBOOK_OP_AND && !r) {
                *result = false;
                return 0;
            }
            if (c->op == RUNBOOK_OP_OR && r) {
                *result = true;
                return 0;
            }
        }
        *result = c->op == RUNBOOK_OP_AND;
        return 0;
    case RUNBOOK_OP_NOT:
        rc = runbook_branch_eval(&c->kids[0], lookup, ctx, &r, err, errlen);
        if (!rc)
            *result = !r;
        return rc;
    default:
        break;
    }
    rc = runbook_template_render_string(c->variable, lookup, ctx, &var, err, errlen);
    if (rc)
        return rc;
    rc = runbook_template_render(c->value, lookup, ctx, &val, err, errlen);
    if (!rc)
        rc = leaf(c, var, val, result, err, errlen);
    json_decref(var);
    json_decref(val);
    return rc;
}

int runbook_branch_choose(const struct runbook_step *st, runbook_template_lookup_fn lookup,
                          void *ctx, int *next, char *err, size_t errlen)
{
    size_t i;
    bool r;
    int rc;

    for (i = 0; i < st->nchoices; i++) {
        rc = runbook_branch_eval(&st->choices[i].cond, lookup, ctx, &r, err, errlen);
        if (rc)
            return rc;
        if (r) {
            *next = st->choices[i].next;
            return 0;
        }
    }
    *next = st->default_step;
    return 0;
}
