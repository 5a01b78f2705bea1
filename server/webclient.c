/*
 * webclient.c — the classic curl multi + libuv pairing.
 */
#include "webclient.h"

#include "cordon.h"
#include "log.h"
#include "outbox.h"
#include "server.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

struct webclient {
    struct server *s;
    CURLM *multi;
    uv_timer_t timer;
    int running;
};

struct sock_ctx {
    uv_poll_t poll;
    curl_socket_t fd;
    struct webclient *w;
};

struct req {
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    webclient_fn fn;
    void *arg;
    char error[CURL_ERROR_SIZE];
};

static void check_done(struct webclient *w)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(w->multi, &left))) {
        struct req *r;
        long status = 0;
        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (msg->data.result == CURLE_OK)
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        else if (!r->error[0])
            snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(msg->data.result));
        curl_multi_remove_handle(w->multi, msg->easy_handle);
        if (r->fn)
            r->fn(w->s, r->arg, status, r->error);
        curl_easy_cleanup(r->easy);
        curl_slist_free_all(r->headers);
        free(r->body);
        free(r);
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct sock_ctx *c = p->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->w->multi, c->fd, flags, &c->w->running);
    check_done(c->w);
}

static void on_timeout(uv_timer_t *t)
{
    struct webclient *w = t->data;
    curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &w->running);
    check_done(w);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct webclient *w = userp;
    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&w->timer);
    else
        uv_timer_start(&w->timer, on_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

static void free_sock(uv_handle_t *h)
{
    free(h->data);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct webclient *w = userp;
    struct sock_ctx *c = socketp;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            uv_poll_stop(&c->poll);
            uv_close((uv_handle_t *)&c->poll, free_sock);
            curl_multi_assign(w->multi, fd, NULL);
        }
        return 0;
    }
    if (!c) {
        c = calloc(1, sizeof(*c));
        if (!c)
            return -1;
        c->fd = fd;
        c->w = w;
        uv_poll_init_socket(w->s->loop, &c->poll, fd);
        c->poll.data = c;
        curl_multi_assign(w->multi, fd, c);
    }
    uv_poll_start(&c->poll,
                  (what & CURL_POLL_IN ? UV_READABLE : 0) |
                      (what & CURL_POLL_OUT ? UV_WRITABLE : 0),
                  on_poll);
    return 0;
}

static size_t discard(char *p, size_t size, size_t n, void *u)
{
    (void)p;
    (void)u;
    return size * n;
}

int webclient_post(struct server *s, const char *url, const char *ctype, const char *body,
                   size_t len, const char *idempotency_key, webclient_fn fn, void *arg)
{
    struct webclient *w = s->web;
    struct req *r = calloc(1, sizeof(*r));
    char h[600];
    if (!r)
        return CORDON_ENOMEM;
    r->easy = curl_easy_init();
    r->body = malloc(len + 1);
    if (!r->easy || !r->body) {
        curl_easy_cleanup(r->easy);
        free(r->body);
        free(r);
        return CORDON_ENOMEM;
    }
    memcpy(r->body, body, len);
    r->body[len] = 0;
    r->fn = fn;
    r->arg = arg;
    snprintf(h, sizeof(h), "Content-Type: %s", ctype);
    r->headers = curl_slist_append(NULL, h);
    if (idempotency_key) {
        snprintf(h, sizeof(h), "Idempotency-Key: %.500s", idempotency_key);
        r->headers = curl_slist_append(r->headers, h);
    }
    r->headers = curl_slist_append(r->headers, "User-Agent: cordond/" CORDON_VERSION);
    curl_easy_setopt(r->easy, CURLOPT_URL, url);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)WEBCLIENT_TIMEOUT_MS);
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->error);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    if (curl_multi_add_handle(w->multi, r->easy) != CURLM_OK) {
        curl_easy_cleanup(r->easy);
        curl_slist_free_all(r->headers);
        free(r->body);
        free(r);
        return CORDON_ESTATE;
    }
    return 0;
}

int webclient_perform(struct server *s, void *easy, void *headers, void *data, webclient_fn fn,
                      void *arg)
{
    struct req *r = calloc(1, sizeof(*r));
    if (!r) {
        curl_easy_cleanup(easy);
        curl_slist_free_all(headers);
        free(data);
        return CORDON_ENOMEM;
    }
    r->easy = easy;
    r->headers = headers;
    r->body = data;
    r->fn = fn;
    r->arg = arg;
    curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->error);
    curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
    if (curl_multi_add_handle(s->web->multi, r->easy) != CURLM_OK) {
        curl_easy_cleanup(r->easy);
        curl_slist_free_all(r->headers);
        free(r->body);
        free(r);
        return CORDON_ESTATE;
    }
    return 0;
}

/* ---- outbox kind "webhook" ------------------------------------------------------ */

static void webhook_done(struct server *s, void *arg, long status, const char *error)
{
    int64_t id = (int64_t)(intptr_t)arg;
    char msg[300];
    if (status >= 200 && status < 300) {
        outbox_complete(s, id, 1, NULL);
        return;
    }
    if (status)
        snprintf(msg, sizeof(msg), "HTTP %ld", status);
    else
        snprintf(msg, sizeof(msg), "%s", error && *error ? error : "transport error");
    outbox_complete(s, id, 0, msg);
}

static int send_webhook(struct server *s, void *arg, const struct outbox_item *it)
{
    (void)arg;
    return webclient_post(s, it->target, "application/json", it->payload, it->payload_len, it->key,
                          webhook_done, (void *)(intptr_t)it->id);
}

int webclient_init(struct server *s)
{
    struct webclient *w = calloc(1, sizeof(*w));
    if (!w)
        return CORDON_ENOMEM;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    w->s = s;
    w->multi = curl_multi_init();
    if (!w->multi) {
        free(w);
        return CORDON_ENOMEM;
    }
    s->web = w;
    uv_timer_init(s->loop, &w->timer);
    w->timer.data = w;
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    return outbox_kind(s, "webhook", send_webhook, NULL);
}

static void free_web(uv_handle_t *h)
{
    free(h->data);
}

void webclient_free(struct server *s)
{
    struct webclient *w = s->web;
    if (!w)
        return;
    s->web = NULL;
    curl_multi_cleanup(w->multi);
    uv_close((uv_handle_t *)&w->timer, free_web);
}
