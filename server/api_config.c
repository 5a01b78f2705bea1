/*
 * api_config.c — configuration as code: POST /api/v1/config/plan,
 * POST /api/v1/config/apply, GET /api/v1/config/export (docs/api.md).
 *
 * lib/stack parses, diffs and writes stacks (thing groups and security
 * profiles today); this file builds the running stack from the registry and
 * the detect engine and applies changes in one store transaction.
 */
#include "cordon.h"
#include "detection.h"
#include "http.h"
#include "incidents_int.h"
#include "log.h"
#include "modules.h"
#include "registry.h"
#include "runbook_stack.h"
#include "runbooks.h"
#include "server.h"
#include "stack.h"

#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>

/* ---- the running configuration as a stack ---------------------------------------------- */

static int add_runbook(void *ctx, const char *name, const char *content)
{
    struct stack_runbook *r = stack_runbook_new(name, content, strlen(content));
    int rc = r ? stack_add(ctx, "runbook", r) : CORDON_ENOMEM;
    if (rc)
        stack_runbook_free(r);
    return rc;
}

/* Build the running stack. Profiles are deep copies (re-parsed from their YAML). */
static int running_stack(struct server *s, struct stack *st, bool with_profiles)
{
    struct reg_group *g, *tmp;
    const struct profile_set *set = detection_profiles(s);
    int rc = 0;

    stack_init(st);
    HASH_ITER(hh, s->registry->groups, g, tmp)
    {
        struct stack_group *sg;
        rc = stack_group_new(g->name, g->description && *g->description ? g->description : NULL,
                             &sg);
        if (rc)
            return rc;
        {
            json_t *attrs = json_loads(g->attributes ? g->attributes : "{}", 0, NULL);
            const char *k;
            json_t *v;
            json_object_foreach(attrs, k, v)
            {
                if (!rc && json_is_string(v))
                    rc = stack_group_attr_set(sg, k, json_string_value(v));
            }
            json_decref(attrs);
        }
        if (!rc)
            rc = stack_add(st, "thingGroup", sg);
        if (rc) {
            stack_group_free(sg);
            return rc;
        }
    }
    if (with_profiles && set->n) {
        struct buf b;
        struct profile_set copy;
        struct cordon_diag diag;
        buf_init(&b, PROFILE_YAML_MAX);
        profile_set_init(&copy);
        rc = profile_set_write_yaml(set, &b);
        if (!rc)
            rc = profile_set_parse(&copy, "running", b.ptr, b.len, detection_catalog(s), &diag);
        buf_free(&b);
        for (size_t i = 0; !rc && i < copy.n; i++) {
            struct profile *p = malloc(sizeof(*p));
            if (!p) {
                rc = CORDON_ENOMEM;
                break;
            }
            *p = copy.v[i];
            memset(&copy.v[i], 0, sizeof(copy.v[i]));
            rc = stack_add(st, "securityProfile", p);
            if (rc) {
                profile_free(p);
                free(p);
            }
        }
        profile_set_free(&copy);
    }
    if (!rc)
        rc = incidents_stack_add(s, st);
    if (!rc)
        rc = runbooks_each_latest(s, add_runbook, st);
    return rc;
}

/* Parse the request body; on failure fill res (422 / 400 / 413) and return nonzero. */
static int parse_body(struct server *s, struct http_req *req, struct http_res *res,
                      struct stack *st)
{
    struct cordon_diag diag;
    const char *file = http_header(req, "X-Cordon-Filename");
    int rc;
    (void)s;
    if (!file || !*file)
        file = "stack.yaml";
    stack_init(st);
    cordon_diag_clear(&diag);
    rc = stack_parse(st, req->body, req->body_len, file, &diag);
    if (rc == CORDON_ETOOBIG && req->body_len > STACK_MAX_BYTES) {
        http_error(res, 413, "too_large", "%s", diag.message);
        return rc;
    }
    if (rc) {
        http_json(res, 422,
                  json_pack("{s:{s:s,s:s,s:[s]}}", "error", "code", "invalid_config", "message",
                            diag.message, "errors", diag.message));
        return rc;
    }
    return 0;
}

static void config_plan(struct server *s, struct http_req *req, struct http_res *res)
{
    struct stack cur, want;
    struct stack_changes ch;
    stack_changes_init(&ch);
    if (parse_body(s, req, res, &want))
        return;
    if (running_stack(s, &cur, true) || stack_diff(&cur, &want, &ch)) {
        http_error(res, 500, "internal", "cannot compute the plan");
    } else {
        http_json(res, 200, stack_changes_json(&ch));
    }
    stack_changes_free(&ch);
    stack_free(&cur);
    stack_free(&want);
}

/* The attributes of a stack group as JSON object text (caller frees). */
static char *group_attrs(const struct stack_group *g)
{
    json_t *o = json_object();
    char *text;
    for (size_t i = 0; i < g->nattrs; i++)
        json_object_set_new(o, g->attrs[i].key, json_string(g->attrs[i].value));
    text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return text;
}

/* Apply the group changes of ch; profiles are replaced as a whole afterwards. */
static int apply_groups(struct server *s, const struct stack_changes *ch)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < ch->len; i++) {
        const struct stack_change *c = &ch->items[i];
        const struct stack_group *g;
        char *attrs = NULL;
        if (c->kind != &stack_kind_group)
            continue;
        g = c->desired;
        switch (c->action) {
        case STACK_CREATE:
            attrs = group_attrs(g);
            rc = attrs ? registry_group_create(s, c->name, g->description, attrs) : CORDON_ENOMEM;
            break;
        case STACK_UPDATE:
            attrs = group_attrs(g);
            rc = attrs ? registry_group_update(s, c->name, g->description, attrs) : CORDON_ENOMEM;
            break;
        case STACK_DELETE:
            rc = registry_group_delete(s, c->name);
            break;
        }
        free(attrs);
    }
    return rc;
}

/* Apply the runbook changes of ch (documents get a new version; deletes hide them). */
static int apply_runbooks(struct server *s, const struct stack_changes *ch)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < ch->len; i++) {
        const struct stack_change *c = &ch->items[i];
        const struct stack_runbook *r = c->desired;
        struct cordon_diag d;
        int version;
        bool created;
        if (c->kind != &stack_kind_runbook)
            continue;
        if (c->action == STACK_DELETE)
            rc = runbooks_delete_document(s, c->name);
        else
            rc = runbooks_put_document(s, c->name, r->content, r->len, &version, &created, &d);
    }
    return rc;
}

static void config_apply(struct server *s, struct http_req *req, struct http_res *res)
{
    struct stack cur, want;
    struct stack_changes ch;
    struct profile_set set;
    bool profiles_changed = false, incidents_changed = false;
    char err[512] = "";
    json_t *out;
    int rc;

    stack_changes_init(&ch);
    profile_set_init(&set);
    if (parse_body(s, req, res, &want))
        return;
    rc = running_stack(s, &cur, true);
    if (!rc)
        rc = stack_diff(&cur, &want, &ch);
    if (rc) {
        http_error(res, 500, "internal", "cannot compute the changes");
        goto out;
    }
    for (size_t i = 0; i < ch.len; i++)
        if (ch.items[i].kind == &stack_kind_profile)
            profiles_changed = true;
        else if (ch.items[i].kind != &stack_kind_group)
            incidents_changed = true; /* contacts, escalation plans, response plans */
    out = stack_changes_json(&ch);

    /* one transaction, all or nothing */
    server_commit(s);
    rc = store_begin(s->store);
    if (!rc)
        rc = apply_groups(s, &ch);
    if (!rc)
        rc = apply_runbooks(s, &ch);
    if (!rc && profiles_changed) {
        /* move the desired profiles out of the stack into a set */
        size_t n = stack_count(&want, "securityProfile");
        set.v = calloc(n ? n : 1, sizeof(*set.v));
        if (!set.v)
            rc = CORDON_ENOMEM;
        for (size_t i = 0; !rc && i < n; i++) {
            const struct profile *p = stack_get(&want, "securityProfile", i);
            set.v[set.n++] = *p;
            memset((void *)p, 0, sizeof(*p));
        }
        if (!rc)
            rc = detection_replace(s, &set);
    }
    if (!rc && incidents_changed)
        rc = incidents_stack_apply(s, &want, err, sizeof(err));
    if (!rc)
        rc = store_commit(s->store);
    if (rc && err[0]) {
        store_rollback(s->store);
        json_decref(out);
        http_json(res, 422,
                  json_pack("{s:{s:s,s:s,s:[s]}}", "error", "code", "invalid_config", "message",
                            err, "errors", err));
        goto out;
    }
    if (rc) {
        store_rollback(s->store);
        json_decref(out);
        log_error("config apply failed, rolled back", "error=%s", cordon_strerror(rc));
        http_error(res, 500, "internal", "apply failed (%s); nothing was applied",
                   cordon_strerror(rc));
        goto out;
    }
    json_object_set_new(out, "applied", json_true());
    log_info("config applied", "changes=%zu", ch.len);
    http_json(res, 200, out);
out:
    profile_set_free(&set);
    stack_changes_free(&ch);
    stack_free(&cur);
    stack_free(&want);
}

static void config_export(struct server *s, struct http_req *req, struct http_res *res)
{
    struct stack cur;
    (void)req;
    if (running_stack(s, &cur, true) || stack_write(&cur, &res->body)) {
        buf_reset(&res->body);
        http_error(res, 500, "internal", "cannot write the running configuration");
    } else {
        res->status = 200;
        res->content_type = "application/yaml";
    }
    stack_free(&cur);
}

int api_config_init(struct server *s)
{
    int rc = 0;
    rc |= http_route(s, "POST", "/api/v1/config/plan", HTTP_ROLE_ADMIN, config_plan);
    rc |= http_route(s, "POST", "/api/v1/config/apply", HTTP_ROLE_ADMIN, config_apply);
    rc |= http_route(s, "GET", "/api/v1/config/export", HTTP_ROLE_VIEWER, config_export);
    return rc ? CORDON_ENOMEM : 0;
}
