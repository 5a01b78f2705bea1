/*
 * runbook_stack.c — the `runbooks:` stack kind (runbook_stack.h).
 */
#include "runbook_stack.h"

#include "buf.h"
#include "cordon.h"
#include "runbook_doc.h"

#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool rb_name_valid(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > RUNBOOK_NAME_MAX)
        return false;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') || (*n >= '0' && *n <= '9') ||
              *n == '-' || *n == '_' || *n == '.'))
            return false;
    return true;
}

struct stack_runbook *stack_runbook_new(const char *name, const char *content, size_t len)
{
    struct stack_runbook *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->name = strdup(name);
    r->content = malloc(len + 1);
    if (!r->name || !r->content) {
        stack_runbook_free(r);
        return NULL;
    }
    memcpy(r->content, content, len);
    r->content[len] = '\0';
    r->len = len;
    return r;
}

void stack_runbook_free(struct stack_runbook *r)
{
    if (!r)
        return;
    free(r->name);
    free(r->content);
    free(r);
}

static void rb_free(void *obj)
{
    stack_runbook_free(obj);
}

static int rb_parse(struct fy_node *node, const char *file, void **obj, struct cordon_diag *diag)
{
    struct fy_node_pair *p;
    struct fy_node *content = NULL;
    void *it = NULL;
    char *name = NULL;
    int rc = 0;

    *obj = NULL;
    if (!node || fy_node_get_type(node) != FYNT_MAPPING || fy_node_is_alias(node))
        return stack_node_error(diag, node, file, "InvalidType",
                                "runbooks: expected a mapping {name, content}");
    while ((p = fy_node_mapping_iterate(node, &it))) {
        struct fy_node *kn = fy_node_pair_key(p), *vn = fy_node_pair_value(p);
        size_t klen = 0;
        const char *k = kn ? fy_node_get_scalar(kn, &klen) : NULL;
        if (k && klen == 4 && !memcmp(k, "name", 4)) {
            free(name);
            name = NULL;
            rc = stack_node_string(vn ? vn : kn, file, "runbooks: name", RUNBOOK_NAME_MAX, 1, &name,
                                   diag);
            if (!rc && !rb_name_valid(name))
                rc = stack_node_error(diag, vn, file, "InvalidName",
                                      "runbooks: name '%s' may only hold letters, digits, '.', "
                                      "'_' and '-'",
                                      name);
        } else if (k && klen == 7 && !memcmp(k, "content", 7)) {
            content = vn ? vn : kn;
        } else if (k && klen == 4 && !memcmp(k, "file", 4)) {
            rc = stack_node_error(diag, kn, file, "Unsupported",
                                  "runbooks: 'file' is read by the cordon CLI (plan/apply) and "
                                  "sent as 'content'; send the document text as content");
        } else {
            rc = stack_node_error(diag, kn, file, "UnknownField",
                                  "runbooks: unknown field '%.*s' (expected name, content)",
                                  k ? (int)(klen > 64 ? 64 : klen) : 1, k ? k : "?");
        }
        if (rc)
            goto out;
    }
    if (!name) {
        rc = stack_node_error(diag, node, file, "MissingField", "runbooks: name is required");
        goto out;
    }
    {
        size_t len = 0;
        const char *text = content && fy_node_get_type(content) == FYNT_SCALAR
                               ? fy_node_get_scalar(content, &len)
                               : NULL;
        struct runbook_doc *doc = NULL;
        struct cordon_diag d;
        if (!text || !len) {
            rc = stack_node_error(diag, content ? content : node, file, "MissingField",
                                  "runbooks: %s: content (the document text) is required", name);
            goto out;
        }
        rc = runbook_doc_load(&doc, text, len, name, NULL, &d);
        if (rc) {
            int e = stack_node_error(diag, content, file, "InvalidRunbook", "runbooks: %s: %s",
                                     name, d.message);
            if (rc != CORDON_ENOMEM && rc != CORDON_ETOOBIG)
                rc = e; /* an unsupported action is a bad value in a stack */
            goto out;
        }
        runbook_doc_free(doc);
        *obj = stack_runbook_new(name, text, len);
        if (!*obj)
            rc = CORDON_ENOMEM;
    }
out:
    free(name);
    return rc;
}

static const char *rb_name(const void *obj)
{
    return ((const struct stack_runbook *)obj)->name;
}

struct fy_node *stack_runbook_content_node(struct fy_document *fyd, const char *s, size_t len)
{
    struct buf b;
    struct fy_node *n = NULL;
    char *text;
    buf_init(&b, len * 6 + 16);
    if (!buf_add_json_string(&b, s, len) && (text = malloc(b.len + 1))) {
        memcpy(text, b.ptr, b.len);
        text[b.len] = '\0';
        /* the document keeps (and frees) the text: libfyaml refers to its input */
        n = fy_node_build_from_malloc_string(fyd, text, b.len);
        if (!n)
            free(text);
    }
    buf_free(&b);
    return n;
}

static int rb_write(const void *obj, struct fy_document *fyd, struct fy_node **out)
{
    const struct stack_runbook *r = obj;
    struct fy_node *map = fy_node_create_mapping(fyd), *k1, *v1, *k2, *v2;
    *out = NULL;
    if (!map)
        return CORDON_ENOMEM;
    k1 = fy_node_create_scalar(fyd, "name", 4);
    v1 = stack_node_new_string(fyd, r->name);
    k2 = fy_node_create_scalar(fyd, "content", 7);
    v2 = stack_runbook_content_node(fyd, r->content, r->len);
    if (!k1 || !v1 || !k2 || !v2 || fy_node_mapping_append(map, k1, v1) ||
        fy_node_mapping_append(map, k2, v2)) {
        fy_node_free(map);
        return CORDON_ENOMEM;
    }
    *out = map;
    return 0;
}

static int rb_compare(const void *a, const void *b, char *reason, size_t reason_size)
{
    const struct stack_runbook *x = a, *y = b;
    if (x->len == y->len && memcmp(x->content, y->content, x->len) == 0) {
        if (reason_size)
            reason[0] = '\0';
        return 0;
    }
    snprintf(reason, reason_size, "content changed (a new version)");
    return 1;
}

const struct stack_kind stack_kind_runbook = {
    .key = "runbooks",
    .kind = "runbook",
    .parse = rb_parse,
    .name = rb_name,
    .write = rb_write,
    .compare = rb_compare,
    .free = rb_free,
};
