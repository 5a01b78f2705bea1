/*
 * registry.c — things, groups and membership: memory (uthash) written
 * through to the store in the turn's transaction.
 */
#include "registry.h"

#include "broker.h"
#include "cordon.h"
#include "detection.h"
#include "log.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct registry *R(struct server *s)
{
    return s->registry;
}

struct reg_thing *registry_thing(struct server *s, const char *name)
{
    struct reg_thing *t;
    HASH_FIND_STR(R(s)->things, name, t);
    return t;
}

struct reg_group *registry_group(struct server *s, const char *name)
{
    struct reg_group *g;
    HASH_FIND_STR(R(s)->groups, name, g);
    return g;
}

bool registry_thing_in(const struct reg_thing *t, const char *group)
{
    for (size_t i = 0; i < t->ngroups; i++)
        if (strcmp(t->groups[i], group) == 0)
            return true;
    return false;
}

static struct reg_thing *thing_new(struct registry *r, const char *name, const char *attrs,
                                   int64_t created_at)
{
    struct reg_thing *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->attributes = strdup(attrs && *attrs ? attrs : "{}");
    if (!t->attributes) {
        free(t);
        return NULL;
    }
    t->created_at = created_at;
    t->last_report_id = -1;
    HASH_ADD_STR(r->things, name, t);
    r->nthings++;
    return t;
}

static void thing_destroy(struct registry *r, struct reg_thing *t)
{
    if (r->cursor == t)
        r->cursor = t->hh.next;
    HASH_DEL(r->things, t);
    r->nthings--;
    free(t->attributes);
    free(t);
}

static struct reg_group *group_new(struct registry *r, const char *name, const char *desc,
                                   const char *attrs, int64_t created_at)
{
    struct reg_group *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    snprintf(g->name, sizeof(g->name), "%s", name);
    g->description = strdup(desc ? desc : "");
    g->attributes = strdup(attrs && *attrs ? attrs : "{}");
    g->created_at = created_at;
    HASH_ADD_STR(r->groups, name, g);
    return g;
}

bool registry_name_reserved(const struct server *s, const char *name)
{
    /* the broker grants its server identity everything: a thing (and so a fleet certificate
     * whose CN is the thing name) must never carry it */
    return !strcmp(name, s->cfg.broker_username[0] ? s->cfg.broker_username : "cordond");
}

int registry_thing_create(struct server *s, const char *name, const char *attributes,
                          bool registered, struct reg_thing **out)
{
    struct reg_thing *t;
    int rc;
    if (out)
        *out = NULL;
    if (report_thing_name_check(name, strlen(name)) || registry_name_reserved(s, name))
        return CORDON_EINVAL;
    t = registry_thing(s, name);
    if (t) {
        if (t->registered || !registered)
            return CORDON_EEXIST;
        /* an unregistered thing becomes registered */
        free(t->attributes);
        t->attributes = strdup(attributes && *attributes ? attributes : "{}");
        if (!t->attributes)
            return CORDON_ENOMEM;
    } else {
        t = thing_new(R(s), name, attributes, server_now(s));
        if (!t)
            return CORDON_ENOMEM;
    }
    if (registered) {
        rc = store_thing_put(s->store, name, t->attributes, t->created_at);
        if (rc)
            return rc;
        if (t->last_report_id >= 0)
            store_thing_report(s->store, name, t->last_report_id, t->last_report_at);
    }
    t->registered = registered;
    detection_retarget(s, t);
    if (out)
        *out = t;
    return 0;
}

int registry_thing_report(struct server *s, struct reg_thing *t, int64_t report_id, int64_t at)
{
    (void)s;
    t->last_report_id = report_id;
    t->last_report_at = at;
    t->report_dirty = t->registered;
    return 0;
}

#define FLUSHED_KEY "registry.reports_flushed_at"

/* Write last_report_* of dirty things, and when that was done. */
static void flush_reports(struct server *s)
{
    struct reg_thing *t, *tmp;
    char when[32];
    int64_t now = server_now(s);
    size_t n = 0;
    HASH_ITER(hh, R(s)->things, t, tmp)
    {
        if (!t->report_dirty)
            continue;
        if (store_thing_report(s->store, t->name, t->last_report_id, t->last_report_at))
            return;
        t->report_dirty = false;
        n++;
    }
    /* a margin of one minute covers reports of this same millisecond and clock steps */
    snprintf(when, sizeof(when), "%lld", (long long)(now - 60000));
    store_kv_put(s->store, FLUSHED_KEY, when);
    log_debug("registry reports flushed", "things=%zu", n);
}

/* One slice of the current pass; a finished pass moves the flushed-at mark. */
static void on_flush(uv_timer_t *h)
{
    struct server *s = h->data;
    struct registry *r = R(s);
    int64_t now = server_now(s);
    char when[32];

    if (!r->cursor) {
        if (now - r->last_pass_start < REGISTRY_FLUSH_MS || !r->things)
            return;
        r->cursor = r->things;
        r->pass_start = now;
        r->last_pass_start = now;
    }
    for (int n = 0; r->cursor && n < REGISTRY_FLUSH_SLICE;) {
        struct reg_thing *t = r->cursor;
        r->cursor = t->hh.next;
        if (!t->report_dirty)
            continue;
        if (store_thing_report(s->store, t->name, t->last_report_id, t->last_report_at)) {
            log_error("registry flush failed", "error=\"%s\"", store_errmsg(s->store));
            r->cursor = NULL;
            return;
        }
        t->report_dirty = false;
        n++;
    }
    if (!r->cursor) {
        snprintf(when, sizeof(when), "%lld", (long long)(r->pass_start - 60000));
        store_kv_put(s->store, FLUSHED_KEY, when);
    }
}

static int last_report_cb(void *ctx, const char *thing, int64_t report_id, int64_t at)
{
    struct reg_thing *t = registry_thing(ctx, thing);
    if (t && report_id > t->last_report_id) {
        t->last_report_id = report_id;
        t->report_dirty = true;
    }
    if (t && at > t->last_report_at)
        t->last_report_at = at;
    return 0;
}

static void group_drop_member(struct server *s, struct reg_thing *t, size_t i)
{
    struct reg_group *g = registry_group(s, t->groups[i]);
    if (g && g->members)
        g->members--;
    t->groups[i] = t->groups[--t->ngroups];
}

int registry_thing_delete(struct server *s, const char *name)
{
    struct reg_thing *t = registry_thing(s, name);
    char type[16];
    int rc;
    if (!t)
        return CORDON_ENOTFOUND;
    if (t->registered) {
        if (store_credential_type(s->store, name, type, sizeof(type)) == 0) {
            struct control_cmd cmd = { 0 };
            char key[256];
            cmd.type = CONTROL_CMD_DELETE;
            snprintf(cmd.thing, sizeof(cmd.thing), "%s", name);
            snprintf(key, sizeof(key), "ctl:delete-credentials:%s:%lld", name,
                     (long long)server_now(s));
            broker_command(s, &cmd, key, "", "DELETE_CREDENTIALS", "{}");
        }
        rc = store_thing_delete(s->store, name);
        if (rc && rc != CORDON_ENOTFOUND)
            return rc;
    }
    while (t->ngroups)
        group_drop_member(s, t, t->ngroups - 1);
    detection_remove(s, name);
    thing_destroy(R(s), t);
    return 0;
}

int registry_group_create(struct server *s, const char *name, const char *description,
                          const char *attributes)
{
    size_t len = strlen(name);
    int rc;
    if (len == 0 || len > REGISTRY_GROUP_NAME_MAX || report_thing_name_check(name, len))
        return CORDON_EINVAL;
    if (registry_group(s, name))
        return CORDON_EEXIST;
    rc = store_group_put(s->store, name, description, attributes, server_now(s));
    if (rc)
        return rc;
    return group_new(R(s), name, description, attributes, server_now(s)) ? 0 : CORDON_ENOMEM;
}

int registry_group_update(struct server *s, const char *name, const char *description,
                          const char *attributes)
{
    struct reg_group *g = registry_group(s, name);
    char *d, *a;
    if (!g)
        return CORDON_ENOTFOUND;
    d = strdup(description ? description : "");
    a = strdup(attributes && *attributes ? attributes : "{}");
    if (!d || !a) {
        free(d);
        free(a);
        return CORDON_ENOMEM;
    }
    free(g->description);
    free(g->attributes);
    g->description = d;
    g->attributes = a;
    return store_group_put(s->store, name, d, a, g->created_at);
}

int registry_group_delete(struct server *s, const char *name)
{
    struct reg_group *g = registry_group(s, name);
    struct reg_thing *t, *tmp;
    int rc;
    if (!g)
        return CORDON_ENOTFOUND;
    if (strcmp(name, REGISTRY_QUARANTINED) == 0)
        return CORDON_ESTATE;
    rc = store_group_delete(s->store, name);
    if (rc)
        return rc;
    HASH_ITER(hh, R(s)->things, t, tmp)
    {
        for (size_t i = 0; i < t->ngroups; i++) {
            if (t->groups[i] == g->name) {
                group_drop_member(s, t, i);
                detection_retarget(s, t);
                break;
            }
        }
    }
    HASH_DEL(R(s)->groups, g);
    free(g->description);
    free(g->attributes);
    free(g);
    return 0;
}

static int quarantine_cmd(struct server *s, const char *thing, bool on, const char *violation_id)
{
    struct control_cmd cmd = { 0 };
    char key[300], params[200];
    static uint32_t seq;
    cmd.type = on ? CONTROL_CMD_QUARANTINE : CONTROL_CMD_RELEASE;
    snprintf(cmd.thing, sizeof(cmd.thing), "%s", thing);
    if (violation_id && *violation_id)
        snprintf(key, sizeof(key), "ctl:%s:%s:%s", on ? "quarantine" : "release", thing,
                 violation_id);
    else
        snprintf(key, sizeof(key), "ctl:%s:%s:%lld.%u", on ? "quarantine" : "release", thing,
                 (long long)server_now(s), ++seq);
    snprintf(params, sizeof(params), "{\"thingGroupNames\":[\"%s\"]}", REGISTRY_QUARANTINED);
    return broker_command(s, &cmd, key, violation_id ? violation_id : "",
                          on ? "ADD_THINGS_TO_THING_GROUP" : "REMOVE_THING_FROM_THING_GROUP",
                          params);
}

int registry_member_add(struct server *s, const char *group, const char *thing,
                        const char *violation_id)
{
    struct reg_group *g = registry_group(s, group);
    struct reg_thing *t = registry_thing(s, thing);
    int rc;
    if (!g || !t)
        return CORDON_ENOTFOUND;
    if (registry_thing_in(t, group))
        return 0;
    if (t->ngroups >= REGISTRY_THING_GROUPS_MAX)
        return CORDON_ETOOBIG;
    if (!t->registered) {
        rc = registry_thing_create(s, thing, NULL, true, NULL);
        if (rc)
            return rc;
    }
    rc = store_member_put(s->store, group, thing);
    if (rc)
        return rc;
    t->groups[t->ngroups++] = g->name;
    g->members++;
    if (strcmp(group, REGISTRY_QUARANTINED) == 0) {
        rc = quarantine_cmd(s, thing, true, violation_id);
        log_info("thing quarantined", "thing=%s violation=%s", thing,
                 violation_id && *violation_id ? violation_id : "-");
    }
    detection_retarget(s, t);
    return rc;
}

int registry_member_remove(struct server *s, const char *group, const char *thing,
                           const char *violation_id)
{
    struct reg_group *g = registry_group(s, group);
    struct reg_thing *t = registry_thing(s, thing);
    int rc;
    if (!g || !t)
        return CORDON_ENOTFOUND;
    for (size_t i = 0; i < t->ngroups; i++) {
        if (strcmp(t->groups[i], group) != 0)
            continue;
        rc = store_member_delete(s->store, group, thing);
        if (rc)
            return rc;
        group_drop_member(s, t, i);
        if (strcmp(group, REGISTRY_QUARANTINED) == 0) {
            rc = quarantine_cmd(s, thing, false, violation_id);
            log_info("thing released", "thing=%s", thing);
        }
        detection_retarget(s, t);
        return rc;
    }
    return 0;
}

int registry_quarantine(struct server *s, const char *thing, const char *violation_id)
{
    if (!registry_thing(s, thing)) {
        int rc = registry_thing_create(s, thing, NULL, true, NULL);
        if (rc)
            return rc;
    }
    return registry_member_add(s, REGISTRY_QUARANTINED, thing, violation_id);
}

int registry_release(struct server *s, const char *thing, const char *violation_id)
{
    return registry_member_remove(s, REGISTRY_QUARANTINED, thing, violation_id);
}

/* ---- load ----------------------------------------------------------------- */

static int load_thing(void *ctx, const struct store_thing *st)
{
    struct server *s = ctx;
    struct reg_thing *t = thing_new(R(s), st->name, st->attributes, st->created_at);
    if (!t)
        return CORDON_ENOMEM;
    t->last_report_id = st->last_report_id;
    t->last_report_at = st->last_report_at;
    t->registered = true;
    return 0;
}

static int load_group(void *ctx, const char *name, const char *desc, const char *attrs,
                      int64_t created_at)
{
    struct server *s = ctx;
    return group_new(R(s), name, desc, attrs, created_at) ? 0 : CORDON_ENOMEM;
}

static int load_member(void *ctx, const char *group, const char *thing)
{
    struct server *s = ctx;
    struct reg_group *g = registry_group(s, group);
    struct reg_thing *t = registry_thing(s, thing);
    if (!g || !t || t->ngroups >= REGISTRY_THING_GROUPS_MAX)
        return 0;
    t->groups[t->ngroups++] = g->name;
    g->members++;
    return 0;
}

int registry_init(struct server *s)
{
    int rc;
    s->registry = calloc(1, sizeof(struct registry));
    if (!s->registry)
        return CORDON_ENOMEM;
    rc = store_things_load(s->store, load_thing, s);
    if (!rc)
        rc = store_groups_load(s->store, load_group, s);
    if (!rc)
        rc = store_members_load(s->store, load_member, s);
    if (rc)
        return rc;
    {
        char when[32] = "0";
        store_kv_get(s->store, FLUSHED_KEY, when, sizeof(when));
        rc = store_last_reports(s->store, strtoll(when, NULL, 10), last_report_cb, s);
        if (rc)
            return rc;
    }
    uv_timer_init(s->loop, &R(s)->flush);
    R(s)->flush.data = s;
    R(s)->last_pass_start = server_now(s);
    uv_timer_start(&R(s)->flush, on_flush, REGISTRY_FLUSH_TICK_MS, REGISTRY_FLUSH_TICK_MS);
    if (!registry_group(s, REGISTRY_QUARANTINED)) {
        rc = registry_group_create(s, REGISTRY_QUARANTINED, "Things isolated at the broker", NULL);
        if (rc)
            return rc;
    }
    log_info("registry loaded", "things=%zu groups=%u", R(s)->nthings, HASH_COUNT(R(s)->groups));
    return 0;
}

static void free_registry(uv_handle_t *h)
{
    free(h->data);
}

void registry_free(struct server *s)
{
    struct registry *r = s->registry;
    struct reg_thing *t, *tt;
    struct reg_group *g, *gt;
    if (!r)
        return;
    flush_reports(s);
    HASH_ITER(hh, r->things, t, tt)
    {
        thing_destroy(r, t);
    }
    HASH_ITER(hh, r->groups, g, gt)
    {
        HASH_DEL(r->groups, g);
        free(g->description);
        free(g->attributes);
        free(g);
    }
    s->registry = NULL;
    r->flush.data = r;
    uv_close((uv_handle_t *)&r->flush, free_registry);
}
