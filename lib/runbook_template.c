#include "runbook_template.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool runbook_template_has(const char *s)
{
    return s && strstr(s, "{{") != NULL;
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Copy [p, p+n) into dst if it is a valid name; false otherwise. */
static bool take_name(char *dst, const char *p, size_t n)
{
    size_t i;

    if (n == 0 || n > RUNBOOK_NAME_MAX)
        return false;
    for (i = 0; i < n; i++)
        if (!name_char(p[i]))
            return false;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return true;
}

int runbook_template_next(const char *s, size_t from, struct runbook_ref *ref, const char **why,
                          size_t *errpos)
{
    const char *open, *close, *b, *e, *colon, *dot;

    if (!s || from > strlen(s))
        return 0;
    open = strstr(s + from, "{{");
    if (!open)
        return 0;
    *errpos = (size_t)(open - s);
    close = strstr(open + 2, "}}");
    if (!close) {
        *why = "unclosed '{{' (expected '}}')";
        return CORDON_EINVAL;
    }
    memset(ref, 0, sizeof(*ref));
    ref->start = (size_t)(open - s);
    ref->end = (size_t)(close - s) + 2;
    b = open + 2;
    e = close;
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    if (b == e) {
        *why = "empty reference '{{ }}'";
        return CORDON_EINVAL;
    }
    colon = memchr(b, ':', (size_t)(e - b));
    if (colon) {
        size_t plen = (size_t)(colon - b);
        if (plen == 8 && memcmp(b, "variable", 8) == 0)
            ref->kind = RUNBOOK_REF_VARIABLE;
        else if (plen == 10 && memcmp(b, "automation", 10) == 0)
            ref->kind = RUNBOOK_REF_AUTOMATION;
        else if (plen == 6 && memcmp(b, "global", 6) == 0)
            ref->kind = RUNBOOK_REF_GLOBAL;
        else if (plen == 3 && memcmp(b, "ssm", 3) == 0)
            ref->kind = RUNBOOK_REF_SSM;
        else {
            *why = "unknown reference prefix (expected variable:, automation:, global: or a "
                   "parameter or Step.Output name)";
            return CORDON_EINVAL;
        }
        if (ref->kind == RUNBOOK_REF_SSM) {
            size_t n = (size_t)(e - colon - 1);
            if (n == 0 || n > RUNBOOK_NAME_MAX) {
                *why = "invalid ssm: reference";
                return CORDON_EINVAL;
            }
            memcpy(ref->a, colon + 1, n);
            ref->a[n] = '\0';
            return 1;
        }
        if (!take_name(ref->a, colon + 1, (size_t)(e - colon - 1))) {
            *why = "invalid name after the prefix (expected letters, digits, '_' or '-')";
            return CORDON_EINVAL;
        }
        return 1;
    }
    dot = memchr(b, '.', (size_t)(e - b));
    if (dot) {
        ref->kind = RUNBOOK_REF_OUTPUT;
        if (!take_name(ref->a, b, (size_t)(dot - b)) ||
            !take_name(ref->b, dot + 1, (size_t)(e - dot - 1))) {
            *why = "invalid output reference (expected {{ Step.Output }})";
            return CORDON_EINVAL;
        }
        return 1;
    }
    ref->kind = RUNBOOK_REF_PARAM;
    if (!take_name(ref->a, b, (size_t)(e - b))) {
        *why = "invalid parameter name in reference (expected letters, digits, '_' or '-')";
        return CORDON_EINVAL;
    }
    return 1;
}

static int runbook_template_json(const json_t *v, struct buf *b)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    int rc;

    if (!s)
        return CORDON_ENOMEM;
    rc = buf_adds(b, s);
    free(s);
    return rc;
}

int runbook_template_text(const json_t *v, struct buf *b)
{
    size_t i;
    int rc;

    switch (json_typeof(v)) {
    case JSON_STRING:
        return buf_add(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return buf_printf(b, "%lld", (long long)json_integer_value(v));
    case JSON_REAL:
        return buf_printf(b, "%.17g", json_real_value(v));
    case JSON_TRUE:
        return buf_adds(b, "true");
    case JSON_FALSE:
        return buf_adds(b, "false");
    case JSON_NULL:
        return 0;
    case JSON_ARRAY: {
        bool strings = true;
        for (i = 0; i < json_array_size(v); i++)
            if (!json_is_string(json_array_get(v, i)))
                strings = false;
        if (strings) {
            for (i = 0; i < json_array_size(v); i++) {
                if (i && (rc = buf_adds(b, ", ")))
                    return rc;
                if ((rc = runbook_template_text(json_array_get(v, i), b)))
                    return rc;
            }
            return 0;
        }
        return runbook_template_json(v, b);
    }
    case JSON_OBJECT:
        return runbook_template_json(v, b);
    }
    return CORDON_EINVAL;
}

int runbook_template_render_string(const char *s, runbook_template_lookup_fn lookup, void *ctx,
                                   json_t **out, char *err, size_t errlen)
{
    struct runbook_ref ref;
    const char *why = NULL;
    size_t pos = 0, errpos = 0;
    struct buf b;
    json_t *v = NULL;
    int rc, found;

    *out = NULL;
    found = runbook_template_next(s, 0, &ref, &why, &errpos);
    if (found < 0) {
        snprintf(err, errlen, "%s at offset %zu", why, errpos);
        return found;
    }
    if (found == 0) {
        *out = json_string(s);
        return *out ? 0 : CORDON_ENOMEM;
    }
    if (ref.start == 0 && ref.end == strlen(s)) {
        /* Exactly one reference: the value keeps its type. */
        return lookup(ctx, &ref, out, err, errlen);
    }
    buf_init(&b, RUNBOOK_RENDER_MAX_BYTES);
    rc = 0;
    while (found == 1) {
        rc = buf_add(&b, s + pos, ref.start - pos);
        if (rc)
            goto fail;
        rc = lookup(ctx, &ref, &v, err, errlen);
        if (rc)
            goto fail;
        rc = runbook_template_text(v, &b);
        json_decref(v);
        v = NULL;
        if (rc)
            goto fail;
        pos = ref.end;
        found = runbook_template_next(s, pos, &ref, &why, &errpos);
        if (found < 0) {
            snprintf(err, errlen, "%s at offset %zu", why, errpos);
            rc = found;
            goto fail;
        }
    }
    rc = buf_adds(&b, s + pos);
    if (rc)
        goto fail;
    *out = json_stringn(b.ptr ? b.ptr : "", b.len);
    buf_free(&b);
    return *out ? 0 : CORDON_ENOMEM;
fail:
    if (rc == CORDON_ETOOBIG)
        snprintf(err, errlen, "rendered text is longer than %d bytes", RUNBOOK_RENDER_MAX_BYTES);
    buf_free(&b);
    return rc;
}

/* Is s exactly one reference? */
static bool whole_ref(const char *s)
{
    struct runbook_ref ref;
    const char *why;
    size_t errpos;

    return runbook_template_next(s, 0, &ref, &why, &errpos) == 1 && ref.start == 0 &&
           ref.end == strlen(s);
}

int runbook_template_render(const json_t *in, runbook_template_lookup_fn lookup, void *ctx,
                            json_t **out, char *err, size_t errlen)
{
    json_t *res = NULL, *v = NULL;
    int rc = 0;

    *out = NULL;
    switch (json_typeof(in)) {
    case JSON_STRING:
        return runbook_template_render_string(json_string_value(in), lookup, ctx, out, err, errlen);
    case JSON_ARRAY: {
        size_t i;
        res = json_array();
        if (!res)
            return CORDON_ENOMEM;
        for (i = 0; i < json_array_size(in); i++) {
            const json_t *el = json_array_get(in, i);
            rc = runbook_template_render(el, lookup, ctx, &v, err, errlen);
            if (rc)
                goto fail;
            if (json_is_string(el) && whole_ref(json_string_value(el)) && json_is_array(v)) {
                rc = json_array_extend(res, v) ? CORDON_ENOMEM : 0;
                json_decref(v);
            } else {
                rc = json_array_append_new(res, v) ? CORDON_ENOMEM : 0;
            }
            v = NULL;
            if (rc)
                goto fail;
        }
        *out = res;
        return 0;
    }
    case JSON_OBJECT: {
        const char *key;
        json_t *el;
        res = json_object();
        if (!res)
            return CORDON_ENOMEM;
        json_object_foreach((json_t *)in, key, el)
        {
            rc = runbook_template_render(el, lookup, ctx, &v, err, errlen);
            if (rc)
                goto fail;
            if (json_object_set_new(res, key, v)) {
                rc = CORDON_ENOMEM;
                goto fail;
            }
            v = NULL;
        }
        *out = res;
        return 0;
    }
    default:
        *out = json_deep_copy(in);
        return *out ? 0 : CORDON_ENOMEM;
    }
fail:
    json_decref(res);
    return rc;
}

/*
 * Walk a selector. With root == NULL only the syntax is checked. Returns 0
 * and sets *sel_out (may be NULL when the path does not exist), or
 * CORDON_EINVAL with *why.
 */
static int selector_walk(const json_t *root, const char *sel, const json_t **sel_out,
                         const char **why)
{
    const char *p = sel;
    const json_t *cur = root;
    char name[RUNBOOK_NAME_MAX + 1];

    if (*p != '$') {
        *why = "a selector starts with '$'";
        return CORDON_EINVAL;
    }
    p++;
    while (*p) {
        size_t n = 0;
        if (*p == '.') {
            p++;
            while (name_char(p[n]))
                n++;
            if (n == 0 || n > RUNBOOK_NAME_MAX) {
                *why = "expected a field name after '.'";
                return CORDON_EINVAL;
            }
            memcpy(name, p, n);
            name[n] = '\0';
            p += n;
            cur = json_is_object(cur) ? json_object_get(cur, name) : NULL;
        } else if (*p == '[' && (p[1] == '\'' || p[1] == '"')) {
            char q = p[1];
            const char *e = strchr(p + 2, q);
            if (!e || e[1] != ']' || e == p + 2 || (size_t)(e - p - 2) > RUNBOOK_NAME_MAX) {
                *why = "expected ['name'] in the selector";
                return CORDON_EINVAL;
            }
            n = (size_t)(e - p - 2);
            memcpy(name, p + 2, n);
            name[n] = '\0';
            p = e + 2;
            cur = json_is_object(cur) ? json_object_get(cur, name) : NULL;
        } else if (*p == '[' && isdigit((unsigned char)p[1])) {
            char *end;
            unsigned long idx = strtoul(p + 1, &end, 10);
            if (*end != ']' || idx > 1000000) {
                *why = "expected [index] with a non-negative integer";
                return CORDON_EINVAL;
            }
            p = end + 1;
            cur = json_is_array(cur) ? json_array_get(cur, idx) : NULL;
        } else {
            *why = "unsupported selector syntax (supported: $, .name, ['name'], [N])";
            return CORDON_EINVAL;
        }
    }
    *sel_out = cur;
    return 0;
}

int runbook_selector_check(const char *sel, const char **why)
{
    const json_t *dummy;

    return selector_walk(NULL, sel, &dummy, why);
}

const json_t *runbook_selector_eval(const json_t *root, const char *sel)
{
    const json_t *v = NULL;
    const char *why;

    if (selector_walk(root, sel, &v, &why))
        return NULL;
    return v;
}
