/*
 * api_registry.c — /api/v1/things, /api/v1/groups, credentials, datapoints
 * and quarantine (docs/api.md).
 */
#include "broker.h"
#include "ca.h"
#include "cordon.h"
#include "http.h"
#include "log.h"
#include "modules.h"
#include "registry.h"
#include "server.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD_BYTES 24
#define PWHASH_OPS     2
#define PWHASH_MEM     (16u * 1024 * 1024)

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *thing_json(struct server *s, const struct reg_thing *t)
{
    json_t *groups = json_array(), *attrs = json_loads(t->attributes, 0, NULL);
    const char *sorted[REGISTRY_THING_GROUPS_MAX];
    char type[16];
    json_t *cred = json_null();
    for (size_t i = 0; i < t->ngroups; i++)
        sorted[i] = t->groups[i];
    qsort(sorted, t->ngroups, sizeof(sorted[0]), cmp_str);
    for (size_t i = 0; i < t->ngroups; i++)
        json_array_append_new(groups, json_string(sorted[i]));
    if (t->registered && store_credential_type(s->store, t->name, type, sizeof(type)) == 0)
        cred = json_string(type);
    return json_pack(
        "{s:s,s:o,s:o,s:b,s:b,s:I,s:o,s:o,s:o}", "thingName", t->name, "attributes",
        attrs ? attrs : json_object(), "groups", groups, "quarantined",
        registry_thing_in(t, REGISTRY_QUARANTINED), "registered", t->registered, "createdAt",
        (json_int_t)t->created_at, "lastReportId",
        t->last_report_id >= 0 ? json_integer(t->last_report_id) : json_null(), "lastReportAt",
        t->last_report_at ? json_integer(t->last_report_at) : json_null(), "credentials", cred);
}

static int cmp_thing(const void *a, const void *b)
{
    return strcmp((*(struct reg_thing *const *)a)->name, (*(struct reg_thing *const *)b)->name);
}

static void things_list(struct server *s, struct http_req *req, struct http_res *res)
{
    size_t n = HASH_COUNT(s->registry->things), i = 0;
    struct reg_thing **v = calloc(n ? n : 1, sizeof(*v)), *t, *tmp;
    json_t *a = json_array();
    const char *group = http_query(req, "group");
    if (!v) {
        http_error(res, 500, "internal", "out of memory");
        return;
    }
    HASH_ITER(hh, s->registry->things, t, tmp)
    {
        if (!group || registry_thing_in(t, group))
            v[i++] = t;
    }
    qsort(v, i, sizeof(*v), cmp_thing);
    for (size_t k = 0; k < i; k++)
        json_array_append_new(a, thing_json(s, v[k]));
    free(v);
    http_json(res, 200, json_pack("{s:o}", "things", a));
}

static void things_create(struct server *s, struct http_req *req, struct http_res *res)
{
    json_t *b = http_body_json(req, res), *attrs;
    const char *name;
    char *text = NULL;
    struct reg_thing *t;
    int rc;
    if (!b)
        return;
    name = json_string_value(json_object_get(b, "thingName"));
    if (!name)
        name = json_string_value(json_object_get(b, "name"));
    attrs = json_object_get(b, "attributes");
    if (!name) {
        http_error(res, 400, "bad_request", "thingName: a string is required");
        goto out;
    }
    if (attrs && !json_is_object(attrs)) {
        http_error(res, 400, "bad_request", "attributes: expected an object");
        goto out;
    }
    if (attrs) {
        text = json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS);
        if (text && strlen(text) > REGISTRY_ATTRIBUTES_MAX) {
            http_error(res, 400, "bad_request", "attributes: over %d bytes",
                       REGISTRY_ATTRIBUTES_MAX);
            goto out;
        }
    }
    rc = registry_thing_create(s, name, text, true, &t);
    if (rc == CORDON_EINVAL)
        http_error(res, 400, "bad_request",
                   "thingName: 1..128 bytes, no control characters, no + # /");
    else if (rc == CORDON_EEXIST)
        http_error(res, 409, "conflict", "thing %s exists", name);
    else if (rc)
        http_error(res, 500, "internal", "%s", cordon_strerror(rc));
    else
        http_json(res, 201, thing_json(s, t));
out:
    free(text);
    json_decref(b);
}

static struct reg_thing *thing_or_404(struct server *s, const char *name, struct http_res *res)
{
    struct reg_thing *t = registry_thing(s, name);
    if (!t || !t->registered) {
        http_error(res, 404, "not_found", "no thing named %s", name);
        return NULL;
    }
    return t;
}

static void things_get(struct server *s, struct http_req *req, struct http_res *res)
{
    struct reg_thing *t = thing_or_404(s, req->params[0], res);
    if (t)
        http_json(res, 200, thing_json(s, t));
}

static void things_delete(struct server *s, struct http_req *req, struct http_res *res)
{
    int rc;
    if (!thing_or_404(s, req->params[0], res))
        return;
    rc = registry_thing_delete(s, req->params[0]);
    if (rc)
        http_error(res, 500, "internal", "%s", cordon_strerror(rc));
    else
        res->status = 204;
}

static void credentials_create(struct server *s, struct http_req *req, struct http_res *res)
{
    struct reg_thing *t = thing_or_404(s, req->params[0], res);
    json_t *b;
    const char *type;
    struct control_cmd cmd = { 0 };
    char key[300];
    int rc;
    if (!t)
        return;
    b = http_body_json(req, res);
    if (!b)
        return;
    type = json_string_value(json_object_get(b, "type"));
    snprintf(cmd.thing, sizeof(cmd.thing), "%s", t->name);
    cmd.type = CONTROL_CMD_SET_CREDENTIALS;
    snprintf(key, sizeof(key), "ctl:set-credentials:%s:%lld", t->name, (long long)server_now(s));
    if (type && strcmp(type, "password") == 0) {
        unsigned char raw[PASSWORD_BYTES];
        char pw[64], hash[crypto_pwhash_STRBYTES];
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2base64(pw, sizeof(pw), raw, sizeof(raw),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(raw, sizeof(raw));
        if (crypto_pwhash_str_alg(hash, pw, strlen(pw), PWHASH_OPS, PWHASH_MEM,
                                  crypto_pwhash_ALG_ARGON2ID13) != 0) {
            http_error(res, 500, "internal", "password hashing failed");
            goto out;
        }
        cmd.cred_kind = CONTROL_CRED_HASH;
        snprintf(cmd.secret, sizeof(cmd.secret), "%s", hash);
        rc = store_credential_put(s->store, t->name, "password", hash, server_now(s));
        if (!rc)
            rc = broker_command(s, &cmd, key, "", "SET_CREDENTIALS", "{\"type\":\"password\"}");
        sodium_memzero(cmd.secret, sizeof(cmd.secret));
        if (rc) {
            http_error(res, 500, "internal", "%s", cordon_strerror(rc));
        } else {
            http_json(res, 201,
                      json_pack("{s:s,s:s,s:s}", "thingName", t->name, "type", "password",
                                "password", pw));
            log_info("device password created", "thing=%s", t->name);
        }
        sodium_memzero(pw, sizeof(pw));
    } else if (type && strcmp(type, "certificate") == 0) {
        struct ca_issued out;
        rc = ca_issue(s, t->name, &out);
        if (rc) {
            http_error(res, 500, "internal", "certificate not issued: %s", cordon_strerror(rc));
            goto out;
        }
        cmd.cred_kind = CONTROL_CRED_CERTIFICATE;
        /* the broker accepts this certificate only: an older one with the same CN stops working */
        snprintf(cmd.secret, sizeof(cmd.secret), "%s", out.sha256);
        rc = store_credential_put(s->store, t->name, "certificate", out.cert_pem, server_now(s));
        if (!rc)
            rc = broker_command(s, &cmd, key, "", "SET_CREDENTIALS", "{\"type\":\"certificate\"}");
        if (rc)
            http_error(res, 500, "internal", "%s", cordon_strerror(rc));
        else
            http_json(res, 201,
                      json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "thingName", t->name, "type",
                                "certificate", "certificatePem", out.cert_pem, "privateKeyPem",
                                out.key_pem, "caPem", out.ca_pem, "certificateSha256", out.sha256));
        ca_issued_free(&out);
        if (!rc)
            log_info("device certificate issued", "thing=%s", t->name);
    } else {
        http_error(res, 400, "bad_request", "type: expected \"password\" or \"certificate\"");
    }
out:
    json_decref(b);
}

static void credentials_delete(struct server *s, struct http_req *req, struct http_res *res)
{
    struct reg_thing *t = thing_or_404(s, req->params[0], res);
    struct control_cmd cmd = { 0 };
    char key[300];
    int rc;
    if (!t)
        return;
    cmd.type = CONTROL_CMD_REVOKE;
    snprintf(cmd.thing, sizeof(cmd.thing), "%s", t->name);
    snprintf(key, sizeof(key), "ctl:revoke:%s:%lld", t->name, (long long)server_now(s));
    rc = store_credential_delete(s->store, t->name);
    if (!rc)
        rc = broker_command(s, &cmd, key, "", "REVOKE_CREDENTIALS", "{}");
    if (rc)
        http_error(res, 500, "internal", "%s", cordon_strerror(rc));
    else
        res->status = 204;
}

struct dp_ctx {
    json_t *a;
    int kind; /* -1 any */
};

static int dp_cb(void *ctx, const struct store_datapoint *d)
{
    struct dp_ctx *c = ctx;
    json_t *v;
    if (c->kind >= 0 && d->kind != c->kind)
        return 0;
    v = json_loadb(d->body, d->body_len, 0, NULL);
    json_array_append_new(c->a,
                          json_pack("{s:I,s:s,s:I,s:o}", "at", (json_int_t)d->at, "kind",
                                    d->kind == STORE_DP_CLOUD ? "cloud" : "report", "reportId",
                                    (json_int_t)d->report_id, "value", v ? v : json_null()));
    return 0;
}

static int64_t q_int(struct http_req *req, const char *name, int64_t dflt)
{
    const char *v = http_query(req, name);
    char *end;
    long long x;
    if (!v || !*v)
        return dflt;
    x = strtoll(v, &end, 10);
    return *end ? -1 : x;
}

static void datapoints_list(struct server *s, struct http_req *req, struct http_res *res)
{
    struct reg_thing *t = thing_or_404(s, req->params[0], res);
    int64_t since = q_int(req, "since", 0), until = q_int(req, "until", 0),
            limit = q_int(req, "limit", 100);
    const char *kind = http_query(req, "kind");
    struct dp_ctx c = { NULL, -1 };
    if (!t)
        return;
    if (since < 0 || until < 0 || limit <= 0 || limit > 1000) {
        http_error(res, 400, "bad_request", "since, until: epoch ms; limit: 1..1000");
        return;
    }
    if (kind && strcmp(kind, "report") == 0)
        c.kind = STORE_DP_REPORT;
    else if (kind && strcmp(kind, "cloud") == 0)
        c.kind = STORE_DP_CLOUD;
    else if (kind) {
        http_error(res, 400, "bad_request", "kind: expected report or cloud");
        return;
    }
    c.a = json_array();
    store_datapoints_list(s->store, t->name, since, until, (int)limit, dp_cb, &c);
    http_json(res, 200, json_pack("{s:o}", "datapoints", c.a));
}

/* ---- groups ---------------------------------------------------------------------- */

static json_t *group_json(struct server *s, const struct reg_group *g, bool with_things)
{
    json_t *attrs = json_loads(g->attributes ? g->attributes : "{}", 0, NULL);
    json_t *j =
        json_pack("{s:s,s:s,s:o,s:I,s:I}", "groupName", g->name, "description",
                  g->description ? g->description : "", "attributes", attrs ? attrs : json_object(),
                  "members", (json_int_t)g->members, "createdAt", (json_int_t)g->created_at);
    if (with_things) {
        size_t n = 0;
        const char **v = calloc(g->members + 1, sizeof(*v));
        struct reg_thing *t, *tmp;
        json_t *a = json_array();
        HASH_ITER(hh, s->registry->things, t, tmp)
        {
            if (v && n < g->members && registry_thing_in(t, g->name))
                v[n++] = t->name;
        }
        if (v) {
            qsort(v, n, sizeof(*v), cmp_str);
            for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_string(v[i]));
        }
        free(v);
        json_object_set_new(j, "things", a);
    }
    return j;
}

static int cmp_group(const void *a, const void *b)
{
    return strcmp((*(struct reg_group *const *)a)->name, (*(struct reg_group *const *)b)->name);
}

static void groups_list(struct server *s, struct http_req *req, struct http_res *res)
{
    size_t n = HASH_COUNT(s->registry->groups), i = 0;
    struct reg_group **v = calloc(n ? n : 1, sizeof(*v)), *g, *tmp;
    json_t *a = json_array();
    (void)req;
    if (!v) {
        http_error(res, 500, "internal", "out of memory");
        return;
    }
    HASH_ITER(hh, s->registry->groups, g, tmp)
    {
        v[i++] = g;
    }
    qsort(v, i, sizeof(*v), cmp_group);
    for (size_t k = 0; k < i; k++)
        json_array_append_new(a, group_json(s, v[k], false));
    free(v);
    http_json(res, 200, json_pack("{s:o}", "groups", a));
}

static void groups_create(struct server *s, struct http_req *req, struct http_res *res)
{
    json_t *b = http_body_json(req, res);
    const char *name, *desc;
    char *attrs = NULL;
    int rc;
    if (!b)
        return;
    name = json_string_value(json_object_get(b, "groupName"));
    if (!name)
        name = json_string_value(json_object_get(b, "name"));
    desc = json_string_value(json_object_get(b, "description"));
    {
        json_t *a = json_object_get(b, "attributes");
        const char *k;
        json_t *v;
        if (a && !json_is_object(a)) {
            http_error(res, 400, "bad_request", "attributes: expected an object of strings");
            json_decref(b);
            return;
        }
        json_object_foreach(a, k, v)
        {
            if (!json_is_string(v)) {
                http_error(res, 400, "bad_request", "attributes.%s: expected a string", k);
                json_decref(b);
                return;
            }
        }
        attrs = a ? json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    }
    if (!name) {
        http_error(res, 400, "bad_request", "groupName: a string is required");
    } else if ((rc = registry_group_create(s, name, desc, attrs)) == CORDON_EINVAL) {
        http_error(res, 400, "bad_request",
                   "groupName: 1..128 bytes, no control characters, no + # /");
    } else if (rc == CORDON_EEXIST) {
        http_error(res, 409, "conflict", "group %s exists", name);
    } else if (rc) {
        http_error(res, 500, "internal", "%s", cordon_strerror(rc));
    } else {
        http_json(res, 201, group_json(s, registry_group(s, name), true));
    }
    free(attrs);
    json_decref(b);
}

static void groups_get(struct server *s, struct http_req *req, struct http_res *res)
{
    struct reg_group *g = registry_group(s, req->params[0]);
    if (!g)
        http_error(res, 404, "not_found", "no group named %s", req->params[0]);
    else
        http_json(res, 200, group_json(s, g, true));
}

static void groups_delete(struct server *s, struct http_req *req, struct http_res *res)
{
    int rc = registry_group_delete(s, req->params[0]);
    if (rc == CORDON_ENOTFOUND)
        http_error(res, 404, "not_found", "no group named %s", req->params[0]);
    else if (rc == CORDON_ESTATE)
        http_error(res, 409, "conflict", "the QUARANTINED group cannot be deleted");
    else if (rc)
        http_error(res, 500, "internal", "%s", cordon_strerror(rc));
    else
        res->status = 204;
}

static void members_change(struct server *s, struct http_req *req, struct http_res *res, bool add)
{
    const char *group = req->params[0], *thing = req->params[1];
    int rc;
    if (strcmp(group, REGISTRY_QUARANTINED) != 0 && req->role < HTTP_ROLE_ADMIN) {
        http_error(res, 403, "forbidden", "role %s cannot change group %s",
                   http_role_name(req->role), group);
        return;
    }
    if (!registry_group(s, group)) {
        http_error(res, 404, "not_found", "no group named %s", group);
        return;
    }
    if (!thing_or_404(s, thing, res))
        return;
    rc = add ? registry_member_add(s, group, thing, "")
             : registry_member_remove(s, group, thing, "");
    if (rc == CORDON_ETOOBIG)
        http_error(res, 409, "conflict", "thing %s is in %d groups already", thing,
                   REGISTRY_THING_GROUPS_MAX);
    else if (rc)
        http_error(res, 500, "internal", "%s", cordon_strerror(rc));
    else
        http_json(res, 200, group_json(s, registry_group(s, group), true));
}

static void members_put(struct server *s, struct http_req *req, struct http_res *res)
{
    members_change(s, req, res, true);
}

static void members_delete(struct server *s, struct http_req *req, struct http_res *res)
{
    members_change(s, req, res, false);
}

/* ---- quarantine -------------------------------------------------------------------- */

static void quarantine_change(struct server *s, struct http_req *req, struct http_res *res, bool on)
{
    const char *thing = req->params[0];
    struct reg_thing *t = registry_thing(s, thing);
    int rc;
    if (!t) {
        http_error(res, 404, "not_found", "no thing named %s", thing);
        return;
    }
    rc = on ? registry_quarantine(s, thing, "") : registry_release(s, thing, "");
    if (rc) {
        http_error(res, 500, "internal", "%s", cordon_strerror(rc));
        return;
    }
    http_json(
        res, 200,
        json_pack("{s:s,s:b,s:s}", "thingName", thing, "quarantined", on, "status", "pending"));
}

static void quarantine_post(struct server *s, struct http_req *req, struct http_res *res)
{
    quarantine_change(s, req, res, true);
}

static void quarantine_delete(struct server *s, struct http_req *req, struct http_res *res)
{
    quarantine_change(s, req, res, false);
}

int api_registry_init(struct server *s)
{
    int rc = 0;
    rc |= http_route(s, "GET", "/api/v1/things", HTTP_ROLE_VIEWER, things_list);
    rc |= http_route(s, "POST", "/api/v1/things", HTTP_ROLE_ADMIN, things_create);
    rc |= http_route(s, "GET", "/api/v1/things/{name}", HTTP_ROLE_VIEWER, things_get);
    rc |= http_route(s, "DELETE", "/api/v1/things/{name}", HTTP_ROLE_ADMIN, things_delete);
    rc |= http_route(s, "POST", "/api/v1/things/{name}/credentials", HTTP_ROLE_ADMIN,
                     credentials_create);
    rc |= http_route(s, "DELETE", "/api/v1/things/{name}/credentials", HTTP_ROLE_ADMIN,
                     credentials_delete);
    rc |=
        http_route(s, "GET", "/api/v1/things/{name}/datapoints", HTTP_ROLE_VIEWER, datapoints_list);
    rc |= http_route(s, "GET", "/api/v1/groups", HTTP_ROLE_VIEWER, groups_list);
    rc |= http_route(s, "POST", "/api/v1/groups", HTTP_ROLE_ADMIN, groups_create);
    rc |= http_route(s, "GET", "/api/v1/groups/{name}", HTTP_ROLE_VIEWER, groups_get);
    rc |= http_route(s, "DELETE", "/api/v1/groups/{name}", HTTP_ROLE_ADMIN, groups_delete);
    rc |= http_route(s, "PUT", "/api/v1/groups/{name}/things/{thing}", HTTP_ROLE_RESPONDER,
                     members_put);
    rc |= http_route(s, "DELETE", "/api/v1/groups/{name}/things/{thing}", HTTP_ROLE_RESPONDER,
                     members_delete);
    rc |= http_route(s, "POST", "/api/v1/quarantine/{thing}", HTTP_ROLE_RESPONDER, quarantine_post);
    rc |= http_route(s, "DELETE", "/api/v1/quarantine/{thing}", HTTP_ROLE_RESPONDER,
                     quarantine_delete);
    return rc ? CORDON_ENOMEM : 0;
}
