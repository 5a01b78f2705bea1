/*
 * tokens.c — API tokens: creation, hashing, lookup, the first admin token,
 * and the /api/v1/tokens endpoints.
 */
#include "auth/tokens.h"

#include "cordon.h"
#include "http.h"
#include "log.h"
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void token_hash(const char *token, char hex[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
    sodium_bin2hex(hex, 65, h, sizeof(h));
}

int tokens_check_name(struct server *s, const char *token, char *role, size_t rolelen, char *name,
                      size_t namelen)
{
    char hex[65];
    size_t n = strlen(token);
    if (n < 8 || n >= TOKEN_TEXT_MAX)
        return CORDON_ENOTFOUND;
    token_hash(token, hex);
    return store_token_lookup(s->store, hex, role, rolelen, name, namelen);
}

int tokens_check(struct server *s, const char *token, char *role, size_t rolelen)
{
    return tokens_check_name(s, token, role, rolelen, NULL, 0);
}

static int role_ok(const char *role)
{
    return strcmp(role, "admin") == 0 || strcmp(role, "responder") == 0 ||
           strcmp(role, "viewer") == 0;
}

int tokens_create(struct server *s, const char *name, const char *role, char *out, char *id)
{
    unsigned char raw[32], idraw[8];
    char hex[65], rawhex[65];
    if (!role_ok(role))
        return CORDON_EINVAL;
    randombytes_buf(raw, sizeof(raw));
    randombytes_buf(idraw, sizeof(idraw));
    sodium_bin2hex(rawhex, sizeof(rawhex), raw, sizeof(raw));
    snprintf(out, TOKEN_TEXT_MAX, "cdt_%s", rawhex);
    sodium_bin2hex(id, 40, idraw, sizeof(idraw));
    token_hash(out, hex);
    sodium_memzero(raw, sizeof(raw));
    return store_token_add(s->store, id, name, role, hex, server_now(s));
}

/* Write the first admin token to DATA_DIR/admin.token, 0600, never logged. */
static int first_admin(struct server *s)
{
    char flag[8], token[TOKEN_TEXT_MAX], id[40], path[600], tmp[620];
    int fd, rc;
    if (store_kv_get(s->store, "admin_token_created", flag, sizeof(flag)) == 0)
        return 0;
    rc = tokens_create(s, "admin (first start)", "admin", token, id);
    if (rc)
        return rc;
    snprintf(path, sizeof(path), "%s/admin.token", s->cfg.data_dir);
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    /* written to a fresh temp file and renamed: readers never see a partial token. A leftover
     * admin.token.new (wider mode, or a symlink planted in the data dir) is removed first: O_TRUNC
     * would keep its mode, and open() would follow the link */
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        log_error("cannot write the admin token", "path=%s error=\"%s\"", path, strerror(errno));
        store_rollback(s->store);
        return CORDON_ESTATE;
    }
    if (write(fd, token, strlen(token)) < 0 || write(fd, "\n", 1) < 0 || fsync(fd) < 0) {
        log_error("cannot write the admin token", "path=%s error=\"%s\"", path, strerror(errno));
        close(fd);
        store_rollback(s->store);
        return CORDON_ESTATE;
    }
    close(fd);
    sodium_memzero(token, sizeof(token));
    if (rename(tmp, path) != 0) {
        log_error("cannot write the admin token", "path=%s error=\"%s\"", path, strerror(errno));
        unlink(tmp);
        store_rollback(s->store);
        return CORDON_ESTATE;
    }
    rc = store_kv_put(s->store, "admin_token_created", "1");
    if (!rc)
        rc = server_commit(s);
    if (!rc)
        log_info("admin token written", "path=%s", path);
    return rc;
}

/* ---- /api/v1/tokens ------------------------------------------------------- */

static int list_cb(void *ctx, const char *id, const char *name, const char *role,
                   int64_t created_at)
{
    json_array_append_new(ctx, json_pack("{s:s,s:s,s:s,s:I}", "id", id, "name", name, "role", role,
                                         "createdAt", (json_int_t)created_at));
    return 0;
}

static void api_tokens_list(struct server *s, struct http_req *req, struct http_res *res)
{
    json_t *a = json_array();
    (void)req;
    if (store_tokens_list(s->store, list_cb, a)) {
        json_decref(a);
        http_error(res, 500, "internal", "store: %s", store_errmsg(s->store));
        return;
    }
    http_json(res, 200, json_pack("{s:o}", "tokens", a));
}

static void api_tokens_create(struct server *s, struct http_req *req, struct http_res *res)
{
    json_t *b = http_body_json(req, res);
    const char *name, *role;
    char token[TOKEN_TEXT_MAX], id[40];
    int rc;
    if (!b)
        return;
    name = json_string_value(json_object_get(b, "name"));
    role = json_string_value(json_object_get(b, "role"));
    if (!name || !*name || strlen(name) > 128) {
        http_error(res, 400, "bad_request", "name: a string of 1..128 bytes is required");
    } else if (!role || !role_ok(role)) {
        http_error(res, 400, "bad_request", "role: expected admin, responder or viewer");
    } else if ((rc = tokens_create(s, name, role, token, id)) != 0) {
        http_error(res, 500, "internal", "store: %s", cordon_strerror(rc));
    } else {
        http_json(
            res, 201,
            json_pack("{s:s,s:s,s:s,s:s}", "id", id, "name", name, "role", role, "token", token));
        sodium_memzero(token, sizeof(token));
    }
    json_decref(b);
}

static void api_tokens_delete(struct server *s, struct http_req *req, struct http_res *res)
{
    int rc = store_token_delete(s->store, req->params[0]);
    if (rc == CORDON_ENOTFOUND)
        http_error(res, 404, "not_found", "no token with id %s", req->params[0]);
    else if (rc)
        http_error(res, 500, "internal", "store: %s", cordon_strerror(rc));
    else
        res->status = 204;
}

int tokens_init(struct server *s)
{
    if (sodium_init() < 0)
        return CORDON_ESTATE;
    if (first_admin(s))
        return CORDON_ESTATE;
    http_route(s, "GET", "/api/v1/tokens", HTTP_ROLE_ADMIN, api_tokens_list);
    http_route(s, "POST", "/api/v1/tokens", HTTP_ROLE_ADMIN, api_tokens_create);
    http_route(s, "DELETE", "/api/v1/tokens/{id}", HTTP_ROLE_ADMIN, api_tokens_delete);
    return 0;
}

void tokens_free(struct server *s)
{
    (void)s;
}
