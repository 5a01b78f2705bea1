/*
 * http.h — the REST API server (libmicrohttpd, no thread of its own: its
 * epoll fd is watched by uv_poll; MHD_run on readiness and on
 * MHD_get_timeout) and a small router with roles.
 *
 * A handler runs on the loop, synchronously: it reads req, fills res and
 * returns. Store writes it makes join the turn's transaction; a handler that
 * must be all-or-nothing commits explicitly (see store.h).
 */
#ifndef CORDOND_HTTP_H
#define CORDOND_HTTP_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

struct server;

enum http_role { HTTP_ROLE_NONE = 0, HTTP_ROLE_VIEWER, HTTP_ROLE_RESPONDER, HTTP_ROLE_ADMIN };

#define HTTP_PARAMS_MAX 4

struct http_req {
    const char *method;
    const char *path;
    const char *params[HTTP_PARAMS_MAX]; /* {name} segments of the route, URL-decoded */
    int nparams;
    const char *body; /* NUL-terminated; "" when none */
    size_t body_len;
    enum http_role role; /* of the caller's token (NONE on open routes) */
    const char *token_name;
    void *conn; /* struct MHD_Connection */
};

struct http_res {
    int status;
    const char *content_type; /* static string; default application/json */
    struct buf body;
};

typedef void (*http_handler)(struct server *s, struct http_req *req, struct http_res *res);

int http_init(struct server *s);
void http_free(struct server *s);

/*
 * Route method + pattern ("/api/v1/things/{name}") to fn for callers with at
 * least role (HTTP_ROLE_NONE = no token needed). Patterns match whole path
 * segments; {x} matches one non-empty segment. Returns 0 or CORDON_ENOMEM.
 */
int http_route(struct server *s, const char *method, const char *pattern, enum http_role role,
               http_handler fn);

/* Request header name, or NULL. */
const char *http_header(struct http_req *req, const char *name);
/* Query parameter name, or NULL. */
const char *http_query(struct http_req *req, const char *name);

/* Set res to the JSON value j (stolen: decref'd here) with status. */
void http_json(struct http_res *res, int status, json_t *j);
/* Set res to {"error":{"code","message"}} with status. */
void http_error(struct http_res *res, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Parse req's body as a JSON object; on failure fill res with 400 and return NULL. */
json_t *http_body_json(struct http_req *req, struct http_res *res);

/* All registered routes, for the OpenAPI document: calls fn for each. */
void http_routes_each(struct server *s,
                      void (*fn)(void *ctx, const char *method, const char *pattern,
                                 enum http_role role),
                      void *ctx);
const char *http_role_name(enum http_role role);

#endif
