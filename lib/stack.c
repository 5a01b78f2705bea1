/*
 * stack.c — configuration as code: parse, diff and write stack documents.
 * See stack.h for the contract and docs/config.md for the format.
 */
#include "stack.h"
#include "utf8.h"

#include "contact.h"
#include "profile.h"
#include "response_plan.h"
#include "runbook_stack.h"

#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the kind table ------------------------------------------------------- */

/*
 * Known kinds in canonical order: the order of keys in written stacks, of
 * creates in a plan (dependencies first) and, reversed, of deletes. Add a
 * kind here and drop its key from stack_reserved_keys.
 */
static const struct stack_kind *const stack_default_kinds[] = {
    &stack_kind_group,              /* thingGroups */
    &stack_kind_profile,            /* securityProfiles */
    &contact_stack_kind,            /* contacts */
    &contact_stack_kind_escalation, /* escalationPlans */
    &response_plan_stack_kind,      /* responsePlans */
    &stack_kind_runbook,            /* runbooks */
};

/* Keys whose kinds are planned but not implemented yet ("" = none left). */
static const char *const stack_reserved_keys[] = {
    "",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- node helpers --------------------------------------------------------- */

void stack_node_position(struct fy_node *node, int *line, int *column)
{
    struct fy_diag_cfg cfg;
    struct fy_diag *diag;
    struct fy_diag_error *e;
    void *it = NULL;

    *line = 0;
    *column = 0;
    if (!node)
        return;
    /*
     * libfyaml 0.7 exposes no node start mark, but reports a diagnostic at
     * a node's start; collect one on a private diag and read its position.
     */
    fy_diag_cfg_default(&cfg);
    cfg.fp = NULL;
    diag = fy_diag_create(&cfg);
    if (!diag)
        return;
    fy_diag_set_collect_errors(diag, true);
    fy_diag_node_report(diag, node, FYET_ERROR, "position");
    e = fy_diag_errors_iterate(diag, &it);
    if (e) {
        *line = e->line > 0 ? e->line : 0;
        *column = e->column > 0 ? e->column : 0;
    }
    fy_diag_destroy(diag);
}

static int stack_node_verror(struct cordon_diag *diag, struct fy_node *node, const char *file,
                             const char *code, const char *fmt, va_list ap)
{
    char msg[CORDON_DIAG_MSG_MAX];
    int line, column;

    stack_node_position(node, &line, &column);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (line > 0)
        cordon_diag_set(diag, code, 0, line, column, "%s:%d:%d: %s", file ? file : "stack", line,
                        column, msg);
    else
        cordon_diag_set(diag, code, 0, 0, 0, "%s: %s", file ? file : "stack", msg);
    return CORDON_EINVAL;
}

int stack_node_error(struct cordon_diag *diag, struct fy_node *node, const char *file,
                     const char *code, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = stack_node_verror(diag, node, file, code, fmt, ap);
    va_end(ap);
    return rc;
}

static int node_is_null(struct fy_node *node)
{
    const char *t;
    size_t len;

    if (!node)
        return 1;
    if (fy_node_get_type(node) != FYNT_SCALAR || fy_node_get_style(node) != FYNS_PLAIN)
        return 0;
    t = fy_node_get_scalar(node, &len);
    return !t || len == 0 || (len == 1 && t[0] == '~') ||
           (len == 4 && (!memcmp(t, "null", 4) || !memcmp(t, "Null", 4) || !memcmp(t, "NULL", 4)));
}

static const char *node_type_name(struct fy_node *node)
{
    if (!node || node_is_null(node))
        return "nothing";
    if (fy_node_is_alias(node))
        return "an alias (aliases are not supported)";
    switch (fy_node_get_type(node)) {
    case FYNT_SCALAR:
        return "a scalar";
    case FYNT_SEQUENCE:
        return "a list";
    case FYNT_MAPPING:
        return "a mapping";
    }
    return "an unknown node";
}

/* Text of a scalar key; NULL for a non-scalar or alias key. */
static const char *node_key_text(struct fy_node *key, size_t *len)
{
    if (!key || fy_node_get_type(key) != FYNT_SCALAR || fy_node_is_alias(key))
        return NULL;
    return fy_node_get_scalar(key, len);
}

int stack_node_string(struct fy_node *node, const char *file, const char *field, size_t max,
                      int nonempty, char **out, struct cordon_diag *diag)
{
    const char *t;
    size_t len, i;
    char *s;

    *out = NULL;
    if (!node || fy_node_get_type(node) != FYNT_SCALAR || fy_node_is_alias(node) ||
        (node_is_null(node) && nonempty))
        return stack_node_error(diag, node, file, "InvalidType", "%s: expected a string, got %s",
                                field, node_type_name(node));
    t = fy_node_get_scalar(node, &len);
    if (!t)
        len = 0;
    if (node_is_null(node))
        len = 0;
    if (nonempty && len == 0)
        return stack_node_error(diag, node, file, "InvalidValue", "%s: must not be empty", field);
    if (len > max) {
        stack_node_error(diag, node, file, "TooLong", "%s: %zu bytes, limit is %zu", field, len,
                         max);
        return CORDON_ETOOBIG;
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
            return stack_node_error(diag, node, file, "InvalidValue",
                                    "%s: control character 0x%02x at byte %zu", field, c, i);
    }
    s = malloc(len + 1);
    if (!s)
        return CORDON_ENOMEM;
    if (len)
        memcpy(s, t, len);
    s[len] = '\0';
    *out = s;
    return 0;
}

/* ---- thing groups --------------------------------------------------------- */

/* Thing group names as AWS IoT allows them: [a-zA-Z0-9:_-]+, 1..128 bytes. */
static int group_name_valid(const char *name)
{
    size_t len = strlen(name), i;

    if (len == 0 || len > STACK_NAME_MAX)
        return 0;
    for (i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Attribute keys as AWS IoT allows them: [a-zA-Z0-9_.,@/:#-]+. */
static int attr_key_valid(const char *key)
{
    size_t len = strlen(key), i;

    if (len == 0 || len > STACK_ATTR_KEY_MAX)
        return 0;
    for (i = 0; i < len; i++) {
        char c = key[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("_.,@/:#-", c)))
            return 0;
    }
    return 1;
}

void stack_group_free(struct stack_group *g)
{
    size_t i;

    if (!g)
        return;
    for (i = 0; i < g->nattrs; i++) {
        free(g->attrs[i].key);
        free(g->attrs[i].value);
    }
    free(g->attrs);
    free(g->name);
    free(g->description);
    free(g);
}

int stack_group_new(const char *name, const char *description, struct stack_group **out)
{
    struct stack_group *g;

    *out = NULL;
    if (!name || !group_name_valid(name))
        return CORDON_EINVAL;
    if (description && strlen(description) > STACK_GROUP_DESC_MAX)
        return CORDON_ETOOBIG;
    g = calloc(1, sizeof(*g));
    if (!g)
        return CORDON_ENOMEM;
    g->name = strdup(name);
    if (description)
        g->description = strdup(description);
    if (!g->name || (description && !g->description)) {
        stack_group_free(g);
        return CORDON_ENOMEM;
    }
    *out = g;
    return 0;
}

int stack_group_attr_set(struct stack_group *g, const char *key, const char *value)
{
    size_t lo = 0, hi = g->nattrs;
    struct stack_attr *attrs;
    char *k, *v;

    if (!attr_key_valid(key) || !value)
        return CORDON_EINVAL;
    if (strlen(value) > STACK_ATTR_VALUE_MAX)
        return CORDON_ETOOBIG;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(g->attrs[mid].key, key);
        if (c == 0) {
            v = strdup(value);
            if (!v)
                return CORDON_ENOMEM;
            free(g->attrs[mid].value);
            g->attrs[mid].value = v;
            return 0;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (g->nattrs >= STACK_GROUP_ATTRS_MAX)
        return CORDON_ETOOBIG;
    attrs = realloc(g->attrs, (g->nattrs + 1) * sizeof(*attrs));
    if (!attrs)
        return CORDON_ENOMEM;
    g->attrs = attrs;
    k = strdup(key);
    v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return CORDON_ENOMEM;
    }
    memmove(&attrs[lo + 1], &attrs[lo], (g->nattrs - lo) * sizeof(*attrs));
    attrs[lo].key = k;
    attrs[lo].value = v;
    g->nattrs++;
    return 0;
}

static int group_parse_attrs(struct stack_group *g, struct fy_node *map, const char *file,
                             struct cordon_diag *diag)
{
    struct fy_node_pair *p;
    void *it = NULL;
    int rc;

    if (node_is_null(map))
        return 0;
    if (fy_node_get_type(map) != FYNT_MAPPING || fy_node_is_alias(map))
        return stack_node_error(diag, map, file, "InvalidType",
                                "thingGroup %s: attributes: expected a mapping of strings, got %s",
                                g->name ? g->name : "", node_type_name(map));
    while ((p = fy_node_mapping_iterate(map, &it))) {
        struct fy_node *kn = fy_node_pair_key(p), *vn = fy_node_pair_value(p);
        char *key = NULL, *value = NULL;
        char field[STACK_ATTR_KEY_MAX + 32];

        rc = stack_node_string(kn, file, "attributes: key", STACK_ATTR_KEY_MAX, 1, &key, diag);
        if (rc)
            return rc;
        if (!attr_key_valid(key)) {
            rc = stack_node_error(diag, kn, file, "InvalidValue",
                                  "attributes: key '%s' may only hold letters, digits and "
                                  "_.,@/:#-",
                                  key);
            free(key);
            return rc;
        }
        snprintf(field, sizeof(field), "attributes: %s", key);
        if (vn && fy_node_get_type(vn) == FYNT_SCALAR && node_is_null(vn)) {
            rc = stack_node_error(diag, kn, file, "InvalidValue",
                                  "%s: value missing (quote an empty string: '')", field);
            free(key);
            return rc;
        }
        rc = stack_node_string(vn, file, field, STACK_ATTR_VALUE_MAX, 0, &value, diag);
        if (rc) {
            free(key);
            return rc;
        }
        if (g->nattrs >= STACK_GROUP_ATTRS_MAX) {
            stack_node_error(diag, kn, file, "TooMany", "attributes: more than %d",
                             STACK_GROUP_ATTRS_MAX);
            free(key);
            free(value);
            return CORDON_ETOOBIG;
        }
        rc = stack_group_attr_set(g, key, value);
        free(key);
        free(value);
        if (rc)
            return rc;
    }
    return 0;
}

static int group_parse(struct fy_node *node, const char *file, void **obj, struct cordon_diag *diag)
{
    struct stack_group *g;
    struct fy_node_pair *p;
    struct fy_node *attrs = NULL;
    void *it = NULL;
    int rc = 0;

    *obj = NULL;
    if (!node || fy_node_get_type(node) != FYNT_MAPPING || fy_node_is_alias(node))
        return stack_node_error(diag, node, file, "InvalidType",
                                "thingGroups: expected a mapping {name, description, "
                                "attributes}, got %s",
                                node_type_name(node));
    g = calloc(1, sizeof(*g));
    if (!g)
        return CORDON_ENOMEM;
    while ((p = fy_node_mapping_iterate(node, &it))) {
        struct fy_node *kn = fy_node_pair_key(p), *vn = fy_node_pair_value(p);
        size_t klen = 0;
        const char *k = node_key_text(kn, &klen);

        if (k && klen == 4 && !memcmp(k, "name", 4)) {
            rc = stack_node_string(vn ? vn : kn, file, "thingGroups: name", STACK_NAME_MAX, 1,
                                   &g->name, diag);
            if (!rc && !group_name_valid(g->name))
                rc = stack_node_error(diag, vn, file, "InvalidName",
                                      "thingGroups: name '%s' may only hold letters, digits, "
                                      "':', '_' and '-'",
                                      g->name);
        } else if (k && klen == 11 && !memcmp(k, "description", 11)) {
            rc = stack_node_string(vn ? vn : kn, file, "thingGroups: description",
                                   STACK_GROUP_DESC_MAX, 0, &g->description, diag);
        } else if (k && klen == 10 && !memcmp(k, "attributes", 10)) {
            attrs = vn; /* parsed after the name, so messages can name the group */
        } else {
            rc = stack_node_error(diag, kn, file, "UnknownField",
                                  "thingGroups: unknown field '%.*s' (expected name, "
                                  "description, attributes)",
                                  k ? (int)(klen > 64 ? 64 : klen) : 1, k ? k : "?");
        }
        if (rc)
            goto fail;
    }
    if (!g->name) {
        rc = stack_node_error(diag, node, file, "MissingField", "thingGroups: name is required");
        goto fail;
    }
    rc = group_parse_attrs(g, attrs, file, diag);
    if (rc)
        goto fail;
    *obj = g;
    return 0;
fail:
    stack_group_free(g);
    return rc;
}

static const char *group_name(const void *obj)
{
    return ((const struct stack_group *)obj)->name;
}

/*
 * Can this text be written as a plain scalar and read back as the same
 * string? Only simple words are: letters first, then letters, digits, a few
 * punctuation marks, single inner spaces, ':' not followed by a space.
 * Anything else (empty, numbers, null/bool words, indicators) is quoted.
 */
static int plain_is_safe(const char *s)
{
    static const char *const words[] = {
        "null", "true", "false", "yes", "no", "on", "off", "y", "n"
    };
    size_t i, len = strlen(s);

    if (!len || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_' ||
                  s[0] == '/'))
        return 0;
    if (s[len - 1] == ' ' || s[len - 1] == ':')
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("_./-@()+=;", c))
            continue;
        if (c == ' ' && s[i + 1] != ' ' && s[i + 1] != '#')
            continue;
        if (c == ':' && s[i + 1] != ' ')
            continue;
        return 0;
    }
    for (i = 0; i < ARRAY_LEN(words); i++)
        if (!strcasecmp(s, words[i]))
            return 0;
    return 1;
}

struct fy_node *stack_node_new_string(struct fy_document *fyd, const char *s)
{
    struct buf b;
    struct fy_node *n;

    if (plain_is_safe(s))
        return fy_node_create_scalar_copy(fyd, s, strlen(s));
    /* Force a double-quoted scalar: parse a JSON string literal (valid YAML). */
    buf_init(&b, 4 * STACK_MAX_BYTES);
    if (buf_add_json_string(&b, s, strlen(s))) {
        buf_free(&b);
        return NULL;
    }
    n = fy_node_build_from_malloc_string(fyd, b.ptr, b.len);
    if (!n)
        buf_free(&b);
    return n;
}

static struct fy_node *scalar_new(struct fy_document *fyd, const char *s)
{
    return stack_node_new_string(fyd, s);
}

static int map_add(struct fy_document *fyd, struct fy_node *map, const char *key,
                   struct fy_node *value)
{
    struct fy_node *k;

    if (!value)
        return CORDON_ENOMEM;
    k = scalar_new(fyd, key);
    if (!k || fy_node_mapping_append(map, k, value)) {
        fy_node_free(k);
        fy_node_free(value);
        return CORDON_ENOMEM;
    }
    return 0;
}

static int group_write(const void *obj, struct fy_document *fyd, struct fy_node **out)
{
    const struct stack_group *g = obj;
    struct fy_node *map, *attrs;
    size_t i;
    int rc;

    *out = NULL;
    map = fy_node_create_mapping(fyd);
    if (!map)
        return CORDON_ENOMEM;
    rc = map_add(fyd, map, "name", scalar_new(fyd, g->name));
    if (!rc && g->description)
        rc = map_add(fyd, map, "description", scalar_new(fyd, g->description));
    if (!rc && g->nattrs) {
        attrs = fy_node_create_mapping(fyd);
        for (i = 0; attrs && !rc && i < g->nattrs; i++)
            rc = map_add(fyd, attrs, g->attrs[i].key, scalar_new(fyd, g->attrs[i].value));
        if (rc)
            fy_node_free(attrs);
        else
            rc = map_add(fyd, map, "attributes", attrs);
    }
    if (rc) {
        fy_node_free(map);
        return rc;
    }
    *out = map;
    return 0;
}

/* Append "; "-separated text to a reason, truncating quietly. */
static void reason_add(char *reason, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reason_add(char *reason, size_t size, const char *fmt, ...)
{
    size_t used = strlen(reason);
    va_list ap;

    if (used + 3 >= size)
        return;
    if (used) {
        memcpy(reason + used, "; ", 3);
        used += 2;
    }
    va_start(ap, fmt);
    vsnprintf(reason + used, size - used, fmt, ap);
    va_end(ap);
}

static int group_compare(const void *a, const void *b, char *reason, size_t reason_size)
{
    const struct stack_group *x = a, *y = b;
    const char *dx = x->description ? x->description : "";
    const char *dy = y->description ? y->description : "";
    size_t i = 0, j = 0;

    reason[0] = '\0';
    if (strcmp(dx, dy))
        reason_add(reason, reason_size, "description changed");
    while (i < x->nattrs || j < y->nattrs) {
        int c = i == x->nattrs ? 1 : j == y->nattrs ? -1 : strcmp(x->attrs[i].key, y->attrs[j].key);
        if (c < 0) {
            reason_add(reason, reason_size, "attribute %s removed", x->attrs[i].key);
            i++;
        } else if (c > 0) {
            reason_add(reason, reason_size, "attribute %s added", y->attrs[j].key);
            j++;
        } else {
            if (strcmp(x->attrs[i].value, y->attrs[j].value))
                reason_add(reason, reason_size, "attribute %s changed", x->attrs[i].key);
            i++;
            j++;
        }
    }
    return reason[0] != '\0';
}

static void group_free(void *obj)
{
    stack_group_free(obj);
}

const struct stack_kind stack_kind_group = {
    .key = "thingGroups",
    .kind = "thingGroup",
    .parse = group_parse,
    .name = group_name,
    .write = group_write,
    .compare = group_compare,
    .free = group_free,
};

/* ---- security profiles (lib/profile) -------------------------------------- */

static int profile_kind_parse(struct fy_node *node, const char *file, void **obj,
                              struct cordon_diag *diag)
{
    struct profile *p;
    int rc;

    *obj = NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return CORDON_ENOMEM;
    /* Custom metrics are not declared in stacks yet: only aws: metrics resolve. */
    rc = profile_parse_node(p, file, "securityProfiles", node, NULL, diag);
    if (rc) {
        free(p);
        return rc;
    }
    *obj = p;
    return 0;
}

static const char *profile_kind_name(const void *obj)
{
    return ((const struct profile *)obj)->name;
}

static int profile_kind_write(const void *obj, struct fy_document *fyd, struct fy_node **out)
{
    struct buf b;
    struct fy_node *n;
    int rc;

    *out = NULL;
    buf_init(&b, PROFILE_YAML_MAX);
    rc = profile_write_yaml(obj, &b);
    if (rc) {
        buf_free(&b);
        return rc;
    }
    /* libfyaml owns (and frees) the text from here on */
    n = fy_node_build_from_malloc_string(fyd, b.ptr, b.len);
    if (!n) {
        buf_free(&b);
        return CORDON_EINVAL;
    }
    *out = n;
    return 0;
}

static int str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int profile_kind_compare(const void *a, const void *b, char *reason, size_t size)
{
    const struct profile *x = a, *y = b;
    size_t i, j;

    reason[0] = '\0';
    if (profile_equal(x, y))
        return 0;
    if (!str_same(x->description, y->description))
        reason_add(reason, size, "description changed");
    /* behaviors by name: added, removed, changed */
    for (i = 0; i < x->nbehaviors; i++) {
        for (j = 0; j < y->nbehaviors; j++)
            if (!strcmp(x->behaviors[i].name, y->behaviors[j].name))
                break;
        if (j == y->nbehaviors)
            reason_add(reason, size, "behavior %s removed", x->behaviors[i].name);
        else if (!behavior_equal(&x->behaviors[i], &y->behaviors[j]))
            reason_add(reason, size, "behavior %s changed", x->behaviors[i].name);
    }
    for (j = 0; j < y->nbehaviors; j++) {
        for (i = 0; i < x->nbehaviors; i++)
            if (!strcmp(x->behaviors[i].name, y->behaviors[j].name))
                break;
        if (i == x->nbehaviors)
            reason_add(reason, size, "behavior %s added", y->behaviors[j].name);
    }
    if (x->ntargets != y->ntargets)
        reason_add(reason, size, "targets changed");
    else
        for (i = 0; i < x->ntargets; i++)
            if (x->targets[i].kind != y->targets[i].kind ||
                !str_same(x->targets[i].group, y->targets[i].group)) {
                reason_add(reason, size, "targets changed");
                break;
            }
    if (x->nalert_targets != y->nalert_targets)
        reason_add(reason, size, "alert targets changed");
    if (x->nmitigations != y->nmitigations)
        reason_add(reason, size, "mitigation actions changed");
    if (!str_same(x->response_plan, y->response_plan))
        reason_add(reason, size, "response plan changed");
    if (!reason[0]) /* retained metrics, export settings, behavior order */
        snprintf(reason, size, "definition changed");
    return 1;
}

static void profile_kind_free(void *obj)
{
    if (obj) {
        profile_free(obj);
        free(obj);
    }
}

const struct stack_kind stack_kind_profile = {
    .key = "securityProfiles",
    .kind = "securityProfile",
    .parse = profile_kind_parse,
    .name = profile_kind_name,
    .write = profile_kind_write,
    .compare = profile_kind_compare,
    .free = profile_kind_free,
};

/* ---- the stack ------------------------------------------------------------ */

void stack_init_kinds(struct stack *s, const struct stack_kind *const *kinds, size_t n)
{
    memset(s, 0, sizeof(*s));
    s->kinds = kinds;
    s->nkinds = n > STACK_KINDS_MAX ? STACK_KINDS_MAX : n;
}

void stack_init(struct stack *s)
{
    stack_init_kinds(s, stack_default_kinds, ARRAY_LEN(stack_default_kinds));
}

void stack_free(struct stack *s)
{
    size_t k, i;

    for (k = 0; k < s->nkinds; k++) {
        struct stack_list *l = &s->lists[k];
        for (i = 0; i < l->len; i++)
            s->kinds[k]->free(l->objs[i]);
        free(l->objs);
        memset(l, 0, sizeof(*l));
    }
}

static int kind_index(const struct stack *s, const char *kind_or_key)
{
    size_t k;

    if (!kind_or_key)
        return -1;
    for (k = 0; k < s->nkinds; k++)
        if (!strcmp(s->kinds[k]->kind, kind_or_key) || !strcmp(s->kinds[k]->key, kind_or_key))
            return (int)k;
    return -1;
}

static int kind_index_of(const struct stack *s, const struct stack_kind *kind)
{
    size_t k;

    for (k = 0; k < s->nkinds; k++)
        if (s->kinds[k] == kind)
            return (int)k;
    return -1;
}

const struct stack_kind *stack_kind_find(const struct stack *s, const char *kind_or_key)
{
    int k = kind_index(s, kind_or_key);
    return k < 0 ? NULL : s->kinds[k];
}

/* Binary search: index of name, or where it would go (*found = 0). */
static size_t list_search(const struct stack_kind *kind, const struct stack_list *l,
                          const char *name, int *found)
{
    size_t lo = 0, hi = l->len;

    *found = 0;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(kind->name(l->objs[mid]), name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int list_insert(const struct stack_kind *kind, struct stack_list *l, void *obj)
{
    int found;
    size_t at = list_search(kind, l, kind->name(obj), &found);

    if (found)
        return CORDON_EEXIST;
    if (l->len >= STACK_OBJECTS_MAX)
        return CORDON_ETOOBIG;
    if (l->len == l->alloc) {
        size_t n = l->alloc ? l->alloc * 2 : 16;
        void **objs = realloc(l->objs, n * sizeof(*objs));
        if (!objs)
            return CORDON_ENOMEM;
        l->objs = objs;
        l->alloc = n;
    }
    memmove(&l->objs[at + 1], &l->objs[at], (l->len - at) * sizeof(*l->objs));
    l->objs[at] = obj;
    l->len++;
    return 0;
}

int stack_add(struct stack *s, const char *kind, void *obj)
{
    int k = kind_index(s, kind);

    if (k < 0)
        return CORDON_ENOTFOUND;
    return list_insert(s->kinds[k], &s->lists[k], obj);
}

size_t stack_count(const struct stack *s, const char *kind)
{
    int k = kind_index(s, kind);
    return k < 0 ? 0 : s->lists[k].len;
}

const void *stack_get(const struct stack *s, const char *kind, size_t i)
{
    int k = kind_index(s, kind);
    return k < 0 || i >= s->lists[k].len ? NULL : s->lists[k].objs[i];
}

const void *stack_find(const struct stack *s, const char *kind, const char *name)
{
    int k = kind_index(s, kind), found;
    size_t at;

    if (k < 0 || !name)
        return NULL;
    at = list_search(s->kinds[k], &s->lists[k], name, &found);
    return found ? s->lists[k].objs[at] : NULL;
}

/* ---- parse ---------------------------------------------------------------- */

static int parse_list(struct stack *s, size_t k, struct fy_node *seq, struct fy_node *keynode,
                      const char *file, struct cordon_diag *diag)
{
    const struct stack_kind *kind = s->kinds[k];
    struct fy_node *item;
    struct fy_node **items = NULL; /* item node of each object parsed so far, for messages */
    const void **objs = NULL;
    size_t n = 0, count;
    void *it = NULL;
    int rc = 0;

    if (node_is_null(seq))
        return 0;
    if (fy_node_get_type(seq) != FYNT_SEQUENCE || fy_node_is_alias(seq))
        return stack_node_error(diag, seq ? seq : keynode, file, "InvalidType",
                                "%s: expected a list, got %s", kind->key, node_type_name(seq));
    count = (size_t)fy_node_sequence_item_count(seq);
    if (count > STACK_OBJECTS_MAX) {
        stack_node_error(diag, seq, file, "TooMany", "%s: %zu objects, limit is %d", kind->key,
                         count, STACK_OBJECTS_MAX);
        return CORDON_ETOOBIG;
    }
    items = calloc(count ? count : 1, sizeof(*items));
    objs = calloc(count ? count : 1, sizeof(*objs));
    if (!items || !objs) {
        rc = CORDON_ENOMEM;
        goto out;
    }
    while ((item = fy_node_sequence_iterate(seq, &it)) && n < count) {
        void *obj = NULL;

        rc = kind->parse(item, file, &obj, diag);
        if (rc)
            goto out;
        rc = list_insert(kind, &s->lists[k], obj);
        if (rc == CORDON_EEXIST) {
            const void *first = stack_find(s, kind->kind, kind->name(obj));
            int line = 0, column = 0;
            size_t i;

            for (i = 0; i < n; i++)
                if (objs[i] == first)
                    stack_node_position(items[i], &line, &column);
            stack_node_error(diag, item, file, "DuplicateName",
                             "%s: duplicate name '%s' (first declared at line %d)", kind->key,
                             kind->name(obj), line);
            kind->free(obj);
            rc = CORDON_EINVAL;
            goto out;
        }
        if (rc) {
            kind->free(obj);
            goto out;
        }
        items[n] = item;
        objs[n++] = obj;
    }
out:
    free(items);
    free(objs);
    return rc;
}

static int add_implicit_quarantined(struct stack *s)
{
    int k = kind_index_of(s, &stack_kind_group);
    struct stack_group *g;
    int rc;

    if (k < 0 || stack_find(s, stack_kind_group.kind, STACK_QUARANTINED))
        return 0;
    rc = stack_group_new(STACK_QUARANTINED, STACK_QUARANTINED_DESCRIPTION, &g);
    if (rc)
        return rc;
    g->implicit = 1;
    rc = list_insert(&stack_kind_group, &s->lists[k], g);
    if (rc)
        stack_group_free(g);
    return rc;
}

static void known_keys(const struct stack *s, char *out, size_t size)
{
    size_t k, used = 0;

    out[0] = '\0';
    for (k = 0; k < s->nkinds && used < size; k++) {
        int n = snprintf(out + used, size - used, "%s%s", k ? ", " : "", s->kinds[k]->key);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Does the stack declare thing group `name` (QUARANTINED always exists)? */
static int group_declared(const struct stack *s, const char *name, size_t len)
{
    char tmp[STACK_NAME_MAX + 1];

    if (len > STACK_NAME_MAX)
        return 0;
    memcpy(tmp, name, len);
    tmp[len] = '\0';
    return !strcmp(tmp, STACK_QUARANTINED) || stack_find(s, stack_kind_group.kind, tmp) != NULL;
}

static int check_group_ref(const struct stack *s, struct fy_node *n, const char *file,
                           const char *profile, const char *what, int target,
                           struct cordon_diag *diag)
{
    const char *t;
    size_t len;

    if (!n || fy_node_get_type(n) != FYNT_SCALAR)
        return 0; /* shapes were checked by the profile parser */
    t = fy_node_get_scalar(n, &len);
    if (!t)
        return 0;
    if (target) {
        if (len >= 4 && !memcmp(t, "all/", 4))
            return 0;
        if (len > 11 && !memcmp(t, "thinggroup/", 11)) {
            t += 11;
            len -= 11;
        }
    }
    if (group_declared(s, t, len))
        return 0;
    return stack_node_error(diag, n, file, "UnknownReference",
                            "securityProfiles: %s: %s names thing group '%.*s', which the stack "
                            "does not declare under thingGroups",
                            profile, what, (int)(len > STACK_NAME_MAX ? STACK_NAME_MAX : len), t);
}

/*
 * Cross-kind references: the thing groups a profile targets or moves things
 * into must be declared in the same stack (apply deletes the others).
 */
static int check_references(const struct stack *s, struct fy_node *root, const char *file,
                            struct cordon_diag *diag)
{
    struct fy_node *seq, *prof;
    void *it = NULL;
    int rc;

    if (kind_index_of(s, &stack_kind_group) < 0 || kind_index_of(s, &stack_kind_profile) < 0)
        return 0;
    seq = fy_node_mapping_lookup_by_string(root, "securityProfiles", FY_NT);
    if (!seq || fy_node_get_type(seq) != FYNT_SEQUENCE)
        return 0;
    while ((prof = fy_node_sequence_iterate(seq, &it))) {
        struct fy_node *targets, *actions, *n, *act;
        const char *name;
        void *it2 = NULL;

        if (fy_node_get_type(prof) != FYNT_MAPPING)
            continue;
        n = fy_node_mapping_lookup_by_string(prof, "securityProfileName", FY_NT);
        name = n && fy_node_get_type(n) == FYNT_SCALAR ? fy_node_get_scalar0(n) : NULL;
        if (!name)
            name = "?";
        targets = fy_node_mapping_lookup_by_string(prof, "targets", FY_NT);
        if (targets && fy_node_get_type(targets) == FYNT_SEQUENCE)
            while ((n = fy_node_sequence_iterate(targets, &it2)))
                if ((rc = check_group_ref(s, n, file, name, "target", 1, diag)))
                    return rc;
        actions = fy_node_mapping_lookup_by_string(prof, "mitigationActions", FY_NT);
        it2 = NULL;
        if (actions && fy_node_get_type(actions) == FYNT_SEQUENCE)
            while ((act = fy_node_sequence_iterate(actions, &it2))) {
                struct fy_node *groups;
                void *it3 = NULL;

                if (fy_node_get_type(act) != FYNT_MAPPING)
                    continue;
                groups = fy_node_mapping_lookup_by_string(act, "thingGroupNames", FY_NT);
                if (!groups || fy_node_get_type(groups) != FYNT_SEQUENCE)
                    continue;
                while ((n = fy_node_sequence_iterate(groups, &it3)))
                    if ((rc = check_group_ref(s, n, file, name, "mitigation action", 0, diag)))
                        return rc;
            }
    }
    return 0;
}

int stack_parse(struct stack *s, const char *text, size_t len, const char *file,
                struct cordon_diag *diag)
{
    struct fy_diag_cfg dcfg;
    struct fy_diag *fdiag = NULL;
    struct fy_parse_cfg pcfg;
    struct fy_parser *fyp = NULL;
    struct fy_document *doc = NULL, *extra = NULL;
    struct fy_node *root;
    struct fy_node_pair *p;
    void *it = NULL;
    int rc = 0;

    cordon_diag_clear(diag);
    if (!file)
        file = "stack";
    if (len > STACK_MAX_BYTES) {
        cordon_diag_set(diag, "TooBig", 0, 0, 0, "%s: %zu bytes, limit is %d", file, len,
                        STACK_MAX_BYTES);
        return CORDON_ETOOBIG;
    }
    if (!text)
        text = "";
    {
        int line, column;
        size_t bad;
        /* libfyaml 0.7.12 can loop on invalid UTF-8; jansson rejects it */
        if (utf8_check(text, len, &bad)) {
            utf8_line_column(text, bad, &line, &column);
            cordon_diag_set(diag, "InvalidEncoding", 0, line, column,
                            "%s:%d:%d: not UTF-8 text (or a NUL byte)", file, line, column);
            return CORDON_EINVAL;
        }
    }
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    fdiag = fy_diag_create(&dcfg);
    if (!fdiag)
        return CORDON_ENOMEM;
    fy_diag_set_collect_errors(fdiag, true);
    memset(&pcfg, 0, sizeof(pcfg));
    /* YAML 1.2, no alias resolution (aliases are rejected where values are read). */
    pcfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_JSON_NONE;
    pcfg.diag = fdiag;
    fyp = fy_parser_create(&pcfg);
    if (!fyp || fy_parser_set_string(fyp, text, len)) {
        rc = CORDON_ENOMEM;
        goto out;
    }
    doc = fy_parse_load_document(fyp);
    if (!doc && !fy_parser_get_stream_error(fyp)) {
        cordon_diag_set(diag, "EmptyStack", 0, 1, 1,
                        "%s:1:1: empty stack: expected a mapping with thingGroups, "
                        "securityProfiles, ...",
                        file);
        rc = CORDON_EINVAL;
        goto out;
    }
    if (doc) {
        /* A stack is exactly one document: a second one is an error, not ignored. */
        extra = fy_parse_load_document(fyp);
        if (extra) {
            struct fy_node *r2 = fy_document_root(extra);
            if (r2)
                stack_node_error(diag, r2, file, "MultipleDocuments",
                                 "a stack is one YAML document; found another one");
            else
                cordon_diag_set(diag, "MultipleDocuments", 0, 0, 0,
                                "%s: a stack is one YAML document; found another one", file);
            rc = CORDON_EINVAL;
            goto out;
        }
    }
    if (!doc || fy_parser_get_stream_error(fyp)) {
        struct fy_diag_error *e;
        void *eit = NULL;

        e = fy_diag_errors_iterate(fdiag, &eit);
        if (e)
            cordon_diag_set(diag, "YamlSyntax", 0, e->line, e->column, "%s:%d:%d: YAML: %s", file,
                            e->line, e->column, e->msg ? e->msg : "syntax error");
        else
            cordon_diag_set(diag, "YamlSyntax", 0, 0, 0, "%s: YAML: cannot parse the document",
                            file);
        rc = CORDON_EINVAL;
        goto out;
    }
    root = fy_document_root(doc);
    if (!root) {
        cordon_diag_set(diag, "EmptyStack", 0, 1, 1,
                        "%s:1:1: empty stack: expected a mapping with thingGroups, "
                        "securityProfiles, ...",
                        file);
        rc = CORDON_EINVAL;
        goto out;
    }
    if (fy_node_get_type(root) != FYNT_MAPPING || fy_node_is_alias(root)) {
        rc = stack_node_error(diag, root, file, "InvalidType",
                              "a stack is a mapping of kinds (thingGroups: ...), got %s",
                              node_type_name(root));
        goto out;
    }
    while ((p = fy_node_mapping_iterate(root, &it))) {
        struct fy_node *kn = fy_node_pair_key(p), *vn = fy_node_pair_value(p);
        size_t klen = 0, r;
        const char *k = node_key_text(kn, &klen);
        char key[64], keys[256];
        int ki;

        if (!k || klen == 0 || klen >= sizeof(key)) {
            known_keys(s, keys, sizeof(keys));
            rc = stack_node_error(diag, kn, file, "UnknownKey",
                                  "unknown top-level key (expected %s)", keys);
            goto out;
        }
        memcpy(key, k, klen);
        key[klen] = '\0';
        ki = -1;
        for (size_t i = 0; i < s->nkinds; i++)
            if (!strcmp(s->kinds[i]->key, key))
                ki = (int)i;
        if (ki < 0) {
            for (r = 0; r < ARRAY_LEN(stack_reserved_keys); r++)
                if (stack_reserved_keys[r][0] && !strcmp(stack_reserved_keys[r], key))
                    break;
            if (r < ARRAY_LEN(stack_reserved_keys)) {
                stack_node_error(diag, kn, file, "Unsupported",
                                 "%s: not supported yet by this version of Cordon", key);
                rc = CORDON_EUNSUPPORTED;
                goto out;
            }
            known_keys(s, keys, sizeof(keys));
            rc = stack_node_error(diag, kn, file, "UnknownKey",
                                  "unknown top-level key '%s' (expected %s)", key, keys);
            goto out;
        }
        rc = parse_list(s, (size_t)ki, vn, kn, file, diag);
        if (rc)
            goto out;
    }
    rc = check_references(s, root, file, diag);
    if (!rc)
        rc = add_implicit_quarantined(s);
out:
    if (rc)
        stack_free(s);
    if (extra)
        fy_parse_document_destroy(fyp, extra);
    if (doc)
        fy_parse_document_destroy(fyp, doc);
    if (fyp)
        fy_parser_destroy(fyp);
    fy_diag_destroy(fdiag);
    return rc;
}

/* ---- write ---------------------------------------------------------------- */

/*
 * A copy of n in fyd where quoted scalars that read the same plain are
 * plain: kind writers quote defensively, exports are for people. Depth is
 * bounded by what the parsers accepted. NULL on allocation failure.
 */
static struct fy_node *node_restyle(struct fy_document *fyd, struct fy_node *n, int depth)
{
    struct fy_node *copy, *k, *v;
    void *it = NULL;

    if (depth > 64 || fy_node_is_alias(n))
        return fy_node_copy(fyd, n);
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR: {
        enum fy_node_style st = fy_node_get_style(n);
        size_t len;
        const char *t = fy_node_get_scalar(n, &len);
        char tmp[STACK_NAME_MAX + 1];

        if ((st == FYNS_DOUBLE_QUOTED || st == FYNS_SINGLE_QUOTED) && t && len < sizeof(tmp) &&
            !memchr(t, '\0', len)) {
            memcpy(tmp, t, len);
            tmp[len] = '\0';
            if (plain_is_safe(tmp))
                return fy_node_create_scalar_copy(fyd, t, len);
        }
        return fy_node_copy(fyd, n);
    }
    case FYNT_SEQUENCE: {
        struct fy_node *item;

        copy = fy_node_create_sequence(fyd);
        while (copy && (item = fy_node_sequence_iterate(n, &it))) {
            v = node_restyle(fyd, item, depth + 1);
            if (!v || fy_node_sequence_append(copy, v)) {
                fy_node_free(v);
                fy_node_free(copy);
                return NULL;
            }
        }
        return copy;
    }
    case FYNT_MAPPING: {
        struct fy_node_pair *p;

        copy = fy_node_create_mapping(fyd);
        while (copy && (p = fy_node_mapping_iterate(n, &it))) {
            k = node_restyle(fyd, fy_node_pair_key(p), depth + 1);
            v = node_restyle(fyd, fy_node_pair_value(p), depth + 1);
            if (!k || !v || fy_node_mapping_append(copy, k, v)) {
                fy_node_free(k);
                fy_node_free(v);
                fy_node_free(copy);
                return NULL;
            }
        }
        return copy;
    }
    }
    return fy_node_copy(fyd, n);
}

int stack_write(const struct stack *s, struct buf *out)
{
    struct fy_document *fyd;
    struct fy_node *root, *seq, *node;
    char *text = NULL;
    size_t k, i;
    int rc = 0;

    fyd = fy_document_create(NULL);
    if (!fyd)
        return CORDON_ENOMEM;
    root = fy_node_create_mapping(fyd);
    if (!root || fy_document_set_root(fyd, root)) {
        fy_node_free(root);
        rc = CORDON_ENOMEM;
        goto out;
    }
    for (k = 0; k < s->nkinds && !rc; k++) {
        const struct stack_list *l = &s->lists[k];
        if (!l->len)
            continue;
        seq = fy_node_create_sequence(fyd);
        if (!seq) {
            rc = CORDON_ENOMEM;
            break;
        }
        for (i = 0; i < l->len && !rc; i++) {
            rc = s->kinds[k]->write(l->objs[i], fyd, &node);
            if (!rc && fy_node_sequence_append(seq, node)) {
                fy_node_free(node);
                rc = CORDON_ENOMEM;
            }
        }
        if (rc)
            fy_node_free(seq);
        else
            rc = map_add(fyd, root, s->kinds[k]->key, seq);
    }
    if (rc)
        goto out;
    if (fy_node_mapping_item_count(root) == 0) {
        rc = buf_adds(out, "{}\n");
        goto out;
    }
    {
        /* restyle into a second document, then emit that one */
        struct fy_document *pretty = fy_document_create(NULL);
        struct fy_node *r2 = pretty ? node_restyle(pretty, root, 0) : NULL;

        if (!r2 || fy_document_set_root(pretty, r2)) {
            fy_node_free(r2);
            if (pretty)
                fy_document_destroy(pretty);
            rc = CORDON_ENOMEM;
            goto out;
        }
        fy_document_destroy(fyd);
        fyd = pretty;
    }
    text = fy_emit_document_to_string(fyd, FYECF_MODE_BLOCK | FYECF_INDENT_2 | FYECF_WIDTH_INF |
                                               FYECF_DOC_START_MARK_OFF | FYECF_DOC_END_MARK_OFF);
    if (!text) {
        rc = CORDON_ENOMEM;
        goto out;
    }
    rc = buf_adds(out, text);
out:
    free(text);
    fy_document_destroy(fyd);
    return rc;
}

/* ---- diff ----------------------------------------------------------------- */

void stack_changes_init(struct stack_changes *c)
{
    memset(c, 0, sizeof(*c));
}

void stack_changes_free(struct stack_changes *c)
{
    free(c->items);
    memset(c, 0, sizeof(*c));
}

const char *stack_action_name(enum stack_action a)
{
    switch (a) {
    case STACK_CREATE:
        return "create";
    case STACK_UPDATE:
        return "update";
    case STACK_DELETE:
        return "delete";
    }
    return "unknown";
}

static struct stack_change *change_add(struct stack_changes *c, enum stack_action a,
                                       const struct stack_kind *kind, const char *name,
                                       const void *current, const void *desired)
{
    struct stack_change *ch;

    if (c->len == c->alloc) {
        size_t n = c->alloc ? c->alloc * 2 : 16;
        struct stack_change *items = realloc(c->items, n * sizeof(*items));
        if (!items)
            return NULL;
        c->items = items;
        c->alloc = n;
    }
    ch = &c->items[c->len++];
    memset(ch, 0, sizeof(*ch));
    ch->action = a;
    ch->kind = kind;
    ch->name = name;
    ch->current = current;
    ch->desired = desired;
    if (a == STACK_CREATE)
        c->ncreate++;
    else if (a == STACK_UPDATE)
        c->nupdate++;
    else
        c->ndelete++;
    return ch;
}

static int is_quarantined(const struct stack_kind *kind, const char *name)
{
    return kind == &stack_kind_group && !strcmp(name, STACK_QUARANTINED);
}

static int diff_kind_upserts(const struct stack_list *cur, const struct stack_list *des,
                             const struct stack_kind *kind, struct stack_changes *c)
{
    size_t i = 0, j = 0;

    /* Both lists are sorted by name: one merge pass. */
    while (j < des->len) {
        const void *d = des->objs[j];
        const char *dn = kind->name(d);
        int cmp = i < cur->len ? strcmp(kind->name(cur->objs[i]), dn) : 1;
        struct stack_change *ch;

        if (cmp < 0) {
            i++;
            continue;
        }
        if (cmp > 0) {
            ch = change_add(c, STACK_CREATE, kind, dn, NULL, d);
            if (!ch)
                return CORDON_ENOMEM;
            snprintf(ch->reason, sizeof(ch->reason), "not in the running configuration");
        } else {
            char reason[STACK_REASON_MAX];
            const void *cu = cur->objs[i++];

            if (!(kind == &stack_kind_group && ((const struct stack_group *)d)->implicit) &&
                kind->compare(cu, d, reason, sizeof(reason))) {
                ch = change_add(c, STACK_UPDATE, kind, dn, cu, d);
                if (!ch)
                    return CORDON_ENOMEM;
                memcpy(ch->reason, reason, sizeof(reason));
                ch->reason[sizeof(ch->reason) - 1] = '\0';
            }
        }
        j++;
    }
    return 0;
}

static int diff_kind_deletes(const struct stack_list *cur, const struct stack_list *des,
                             const struct stack_kind *kind, struct stack_changes *c)
{
    size_t i;
    int found;

    for (i = 0; i < cur->len; i++) {
        const char *name = kind->name(cur->objs[i]);
        struct stack_change *ch;

        list_search(kind, des, name, &found);
        if (found || is_quarantined(kind, name))
            continue;
        ch = change_add(c, STACK_DELETE, kind, name, cur->objs[i], NULL);
        if (!ch)
            return CORDON_ENOMEM;
        snprintf(ch->reason, sizeof(ch->reason), "not in the stack");
    }
    return 0;
}

int stack_diff(const struct stack *current, const struct stack *desired, struct stack_changes *c)
{
    size_t k;
    int rc;

    if (current->kinds != desired->kinds || current->nkinds != desired->nkinds)
        return CORDON_EINVAL;
    for (k = 0; k < current->nkinds; k++) {
        rc = diff_kind_upserts(&current->lists[k], &desired->lists[k], current->kinds[k], c);
        if (rc)
            goto fail;
    }
    for (k = current->nkinds; k-- > 0;) {
        rc = diff_kind_deletes(&current->lists[k], &desired->lists[k], current->kinds[k], c);
        if (rc)
            goto fail;
    }
    return 0;
fail:
    stack_changes_free(c);
    return rc;
}

json_t *stack_changes_json(const struct stack_changes *c)
{
    json_t *root, *arr;
    size_t i;

    arr = json_array();
    if (!arr)
        return NULL;
    for (i = 0; i < c->len; i++) {
        const struct stack_change *ch = &c->items[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "action", stack_action_name(ch->action),
                              "kind", ch->kind->kind, "name", ch->name, "reason", ch->reason);
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            return NULL;
        }
    }
    root = json_pack("{s:o, s:{s:I, s:I, s:I}}", "changes", arr, "summary", "create",
                     (json_int_t)c->ncreate, "update", (json_int_t)c->nupdate, "delete",
                     (json_int_t)c->ndelete);
    return root;
}
