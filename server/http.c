/*
 * http.c — libmicrohttpd on the libuv loop, request bodies capped
 * (config api.max_body_bytes, default 1 MiB, 413 beyond), bearer-token auth,
 * routing and JSON error replies.
 */
#include "http.h"

#include "auth/tokens.h"
#include "cordon.h"
#include "log.h"
#include "server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_PATH_MAX 1024

struct http_route {
    char method[8];
    char *pattern;
    enum http_role role;
    http_handler fn;
    struct http_route *next;
};

struct http {
    struct server *s;
    struct MHD_Daemon *d;
    uv_poll_t poll;
    uv_timer_t timer;
    struct http_route *routes;
};

/* Per-request state between MHD's calls of the access handler. */
struct http_conn {
    struct buf body;
    int too_big;
};

static const char *role_names[] = { "none", "viewer", "responder", "admin" };

const char *http_role_name(enum http_role role)
{
    return role_names[role];
}

int http_route(struct server *s, const char *method, const char *pattern, enum http_role role,
               http_handler fn)
{
    struct http_route *r = calloc(1, sizeof(*r)), **tail = &s->http->routes;
    if (!r || !(r->pattern = strdup(pattern))) {
        free(r);
        return CORDON_ENOMEM;
    }
    snprintf(r->method, sizeof(r->method), "%s", method);
    r->role = role;
    r->fn = fn;
    while (*tail)
        tail = &(*tail)->next;
    *tail = r;
    return 0;
}

void http_routes_each(struct server *s,
                      void (*fn)(void *ctx, const char *method, const char *pattern,
                                 enum http_role role),
                      void *ctx)
{
    for (struct http_route *r = s->http->routes; r; r = r->next)
        fn(ctx, r->method, r->pattern, r->role);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode [p, p+len) into out; returns -1 on bad escapes or overflow. */
static int seg_decode(const char *p, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= len)
                return -1;
            h = hexval(p[i + 1]);
            l = hexval(p[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h * 16 + l);
            i += 2;
        }
        if (c == 0 || o + 1 >= outlen)
            return -1;
        out[o++] = c;
    }
    out[o] = 0;
    return 0;
}

/*
 * Match path against pattern; decoded {x} segments go into store (each
 * NUL-terminated) and req->params.
 */
static int route_match(const char *pattern, const char *path, struct http_req *req, char *store,
                       size_t storelen)
{
    const char *p = pattern, *u = path;
    size_t used = 0;
    req->nparams = 0;
    while (*p && *u) {
        const char *pe = strchr(p, '/'), *ue = strchr(u, '/');
        size_t pl = pe ? (size_t)(pe - p) : strlen(p);
        size_t ul = ue ? (size_t)(ue - u) : strlen(u);
        if (pl >= 2 && p[0] == '{') {
            if (ul == 0 || req->nparams >= HTTP_PARAMS_MAX)
                return 0;
            if (seg_decode(u, ul, store + used, storelen - used))
                return 0;
            req->params[req->nparams++] = store + used;
            used += strlen(store + used) + 1;
        } else if (pl != ul || memcmp(p, u, pl) != 0) {
            return 0;
        }
        p += pl;
        u += ul;
        if (*p == '/' && *u == '/') {
            p++;
            u++;
        } else if (*p || *u) {
            return 0;
        }
    }
    return *p == 0 && *u == 0;
}

const char *http_header(struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_query(struct http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

void http_json(struct http_res *res, int status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    res->status = status;
    res->content_type = "application/json";
    buf_reset(&res->body);
    if (!text) {
        res->status = 500;
        buf_adds(&res->body, "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
        return;
    }
    buf_adds(&res->body, text);
    free(text);
}

void http_error(struct http_res *res, int status, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    http_json(res, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

json_t *http_body_json(struct http_req *req, struct http_res *res)
{
    json_error_t e;
    json_t *j;
    if (req->body_len == 0) {
        http_error(res, 400, "bad_request", "a JSON object body is required");
        return NULL;
    }
    j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!j) {
        http_error(res, 400, "bad_request", "body: invalid JSON at byte %d: %s", e.position,
                   e.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        http_error(res, 400, "bad_request", "body: expected a JSON object");
        return NULL;
    }
    return j;
}

static enum MHD_Result send_res(struct MHD_Connection *conn, struct http_res *res)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(res->body.len, res->body.ptr, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type",
                            res->content_type ? res->content_type : "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    ret = MHD_queue_response(conn, (unsigned)res->status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum http_role role_parse(const char *r)
{
    for (int i = 1; i < 4; i++)
        if (strcmp(r, role_names[i]) == 0)
            return (enum http_role)i;
    return HTTP_ROLE_NONE;
}

static void dispatch(struct http *h, struct http_req *req, struct http_res *res)
{
    char store[HTTP_PATH_MAX];
    bool path_known = false;
    struct http_route *r;

    for (r = h->routes; r; r = r->next) {
        if (!route_match(r->pattern, req->path, req, store, sizeof(store)))
            continue;
        path_known = true;
        if (strcmp(r->method, req->method) == 0)
            break;
    }
    if (!r) {
        if (path_known)
            http_error(res, 405, "method_not_allowed", "%s is not allowed on %s", req->method,
                       req->path);
        else
            http_error(res, 404, "not_found", "no such endpoint: %s", req->path);
        return;
    }
    if (r->role != HTTP_ROLE_NONE) {
        const char *auth =
            MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
        char role[32];
        static char token_name[256]; /* valid during the handler call (one loop thread) */
        if (!auth || strncmp(auth, "Bearer ", 7) != 0) {
            http_error(res, 401, "unauthorized",
                       "an Authorization: Bearer TOKEN header is required");
            return;
        }
        if (tokens_check_name(h->s, auth + 7, role, sizeof(role), token_name, sizeof(token_name)) !=
            0) {
            http_error(res, 401, "unauthorized", "unknown or revoked token");
            return;
        }
        req->role = role_parse(role);
        req->token_name = token_name;
        if (req->role < r->role) {
            http_error(res, 403, "forbidden", "role %s cannot %s %s (needs %s)",
                       role_names[req->role], req->method, r->pattern, role_names[r->role]);
            return;
        }
    }
    r->fn(h->s, req, res);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http *h = cls;
    struct http_conn *c = *con_cls;
    struct http_req req;
    struct http_res res;
    enum MHD_Result ret;
    (void)version;

    if (!c) {
        const char *cl;
        c = calloc(1, sizeof(*c));
        if (!c)
            return MHD_NO;
        buf_init(&c->body, h->s->cfg.api_max_body);
        *con_cls = c;
        /* refuse early when the declared length is over the cap */
        cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > h->s->cfg.api_max_body)
            c->too_big = 1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!c->too_big && buf_add(&c->body, upload_data, *upload_data_size) != 0)
            c->too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }

    memset(&req, 0, sizeof(req));
    memset(&res, 0, sizeof(res));
    buf_init(&res.body, 64 * 1024 * 1024);
    res.status = 200;
    req.method = method;
    req.path = url;
    req.conn = conn;
    req.body = c->body.ptr ? c->body.ptr : "";
    req.body_len = c->body.len;
    h->s->stats.http_requests++;
    if (c->too_big)
        http_error(&res, 413, "too_large", "request body over %zu bytes", h->s->cfg.api_max_body);
    else if (strlen(url) >= HTTP_PATH_MAX)
        http_error(&res, 414, "bad_request", "path too long");
    else
        dispatch(h, &req, &res);
    if (res.status >= 500 || log_enabled(LOG_DEBUG)) {
        /* the path is the client's (decoded: it may hold newlines or quotes): quoted, so it
         * cannot forge a log line or a field */
        char qm[32], qp[HTTP_PATH_MAX + 8];
        log_q(method, qm, sizeof(qm));
        log_q(url, qp, sizeof(qp));
        if (res.status >= 500)
            log_warn("http request failed", "method=%s path=%s status=%d", qm, qp, res.status);
        else
            log_debug("http request", "method=%s path=%s status=%d", qm, qp, res.status);
    }
    ret = send_res(conn, &res);
    buf_free(&res.body);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_conn *c = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (c) {
        buf_free(&c->body);
        free(c);
        *con_cls = NULL;
    }
}

static void http_kick(struct http *h);

static void on_timer(uv_timer_t *t)
{
    struct http *h = t->data;
    MHD_run(h->d);
    http_kick(h);
}

/* Re-arm the timer from MHD's own timeout after every run. */
static void http_kick(struct http *h)
{
    MHD_UNSIGNED_LONG_LONG to;
    if (MHD_get_timeout(h->d, &to) == MHD_YES)
        uv_timer_start(&h->timer, on_timer, to, 0);
    else
        uv_timer_stop(&h->timer);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct http *h = p->data;
    (void)status;
    (void)events;
    MHD_run(h->d);
    http_kick(h);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = 0;
    log_warn("http server", "detail=\"%s\"", msg);
}

int http_init(struct server *s)
{
    struct http *h = calloc(1, sizeof(*h));
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;

    if (!h)
        return CORDON_ENOMEM;
    h->s = s;
    s->http = h;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)s->cfg.api_port);
    if (inet_pton(AF_INET, s->cfg.api_host, &sa.sin_addr) != 1) {
        log_error("api listen address must be an IPv4 address", "host=%s", s->cfg.api_host);
        return CORDON_EINVAL;
    }
    h->d = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)s->cfg.api_port, NULL,
                            NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
                            MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                            MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!h->d) {
        log_error("api cannot listen", "host=%s port=%d", s->cfg.api_host, s->cfg.api_port);
        return CORDON_ESTATE;
    }
    info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) {
        log_error("api has no epoll fd", "%s", "");
        return CORDON_ESTATE;
    }
    uv_poll_init(s->loop, &h->poll, info->epoll_fd);
    h->poll.data = h;
    uv_poll_start(&h->poll, UV_READABLE, on_poll);
    uv_timer_init(s->loop, &h->timer);
    h->timer.data = h;
    http_kick(h);
    log_info("api listening", "host=%s port=%d", s->cfg.api_host, s->cfg.api_port);
    return 0;
}

static void free_http(uv_handle_t *hd)
{
    struct http *h = hd->data;
    for (struct http_route *n, *r = h->routes; r; r = n) {
        n = r->next;
        free(r->pattern);
        free(r);
    }
    free(h);
}

void http_free(struct server *s)
{
    struct http *h = s->http;
    if (!h)
        return;
    s->http = NULL;
    if (h->d) {
        uv_poll_stop(&h->poll);
        uv_close((uv_handle_t *)&h->poll, NULL);
        uv_timer_stop(&h->timer);
        MHD_stop_daemon(h->d);
        uv_close((uv_handle_t *)&h->timer, free_http);
    } else {
        free_http((uv_handle_t *)&(uv_handle_t){ .data = h });
    }
}
