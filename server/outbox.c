/*
 * outbox.c — the dispatcher of outbox rows.
 *
 * The scan reads pending rows only after a commit (they are durable then)
 * and only when something changed: a row was added, an attempt failed, the
 * transport came back, or a backoff expired (checked every second).
 */
#include "outbox.h"

#include "cordon.h"
#include "log.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <uthash.h>

struct outbox_kind {
    char *kind;
    outbox_send_fn fn;
    void *arg;
    struct outbox_kind *next;
};

struct inflight {
    int64_t id;
    int attempts; /* failed attempts before this one */
    UT_hash_handle hh;
};

struct outbox {
    struct outbox_kind *kinds;
    struct inflight *inflight;
    int dirty;
    int64_t next_retry_at; /* earliest next_at seen among pending rows, 0 = none */
    int64_t depth;
    uv_timer_t tick;
};

static struct outbox_kind *kind_find(struct outbox *o, const char *kind)
{
    for (struct outbox_kind *k = o->kinds; k; k = k->next)
        if (strcmp(k->kind, kind) == 0)
            return k;
    return NULL;
}

int outbox_kind(struct server *s, const char *kind, outbox_send_fn fn, void *arg)
{
    struct outbox_kind *k = calloc(1, sizeof(*k));
    if (!k || !(k->kind = strdup(kind))) {
        free(k);
        return CORDON_ENOMEM;
    }
    k->fn = fn;
    k->arg = arg;
    k->next = s->outbox->kinds;
    s->outbox->kinds = k;
    s->outbox->dirty = 1;
    return 0;
}

int outbox_add(struct server *s, const char *kind, const char *key, const char *target,
               const char *payload, size_t len)
{
    struct store_outbox row = {
        0, kind, key, target, payload, len, 0, server_now(s), server_now(s)
    };
    int rc = store_outbox_add(s->store, &row, NULL);
    if (rc == CORDON_EEXIST)
        return 0;
    if (!rc)
        s->outbox->dirty = 1;
    return rc;
}

void outbox_wake(struct server *s)
{
    s->outbox->dirty = 1;
}

/* Forget in-flight row id; returns its attempts count before this attempt (0 if unknown). */
static int inflight_del(struct outbox *o, int64_t id)
{
    struct inflight *f;
    int n = 0;
    HASH_FIND(hh, o->inflight, &id, sizeof(id), f);
    if (f) {
        n = f->attempts;
        HASH_DEL(o->inflight, f);
        free(f);
    }
    return n;
}

static int64_t backoff_ms(int attempts)
{
    int64_t ms = 1000;
    for (int i = 1; i < attempts && ms < OUTBOX_BACKOFF_MAX_MS; i++)
        ms *= 2;
    return ms > OUTBOX_BACKOFF_MAX_MS ? OUTBOX_BACKOFF_MAX_MS : ms;
}

void outbox_complete(struct server *s, int64_t id, int ok, const char *error)
{
    struct outbox *o = s->outbox;
    int n = inflight_del(o, id) + 1;

    if (ok) {
        if (store_outbox_done(s->store, id, server_now(s)))
            log_error("outbox cannot mark done", "id=%lld error=\"%s\"", (long long)id,
                      store_errmsg(s->store));
        return;
    }
    if (n >= OUTBOX_MAX_ATTEMPTS) {
        log_error("outbox gave up", "id=%lld attempts=%d error=\"%s\"", (long long)id, n,
                  error ? error : "");
        store_outbox_fail(s->store, id, error ? error : "", server_now(s));
        return;
    }
    log_warn("outbox attempt failed", "id=%lld attempts=%d retry_in_ms=%lld error=\"%s\"",
             (long long)id, n, (long long)backoff_ms(n), error ? error : "");
    store_outbox_retry(s->store, id, n, server_now(s) + backoff_ms(n), error ? error : "");
    o->dirty = 1;
}

static int scan_cb(void *ctx, const struct store_outbox *row)
{
    struct server *s = ctx;
    struct outbox *o = s->outbox;
    struct outbox_kind *k;
    struct inflight *f;
    struct outbox_item it;
    int rc;

    o->depth++;
    HASH_FIND(hh, o->inflight, &row->id, sizeof(row->id), f);
    if (f)
        return 0;
    if (row->next_at > server_now(s)) {
        if (!o->next_retry_at || row->next_at < o->next_retry_at)
            o->next_retry_at = row->next_at;
        return 0;
    }
    k = kind_find(o, row->kind);
    if (!k)
        return 0; /* its module is not loaded (yet): keep it pending */
    f = calloc(1, sizeof(*f));
    if (!f)
        return 0;
    f->id = row->id;
    f->attempts = row->attempts;
    HASH_ADD(hh, o->inflight, id, sizeof(f->id), f);
    it = (struct outbox_item){ row->id,      row->kind,        row->key,     row->target,
                               row->payload, row->payload_len, row->attempts };
    rc = k->fn(s, k->arg, &it);
    if (rc == CORDON_ESTATE)
        inflight_del(o, row->id);
    else if (rc) {
        outbox_complete(s, row->id, 0, cordon_strerror(rc));
    }
    return 0;
}

static void dispatch(struct server *s, void *arg)
{
    struct outbox *o = s->outbox;
    (void)arg;
    if (!o->dirty && !(o->next_retry_at && o->next_retry_at <= server_now(s)))
        return;
    o->dirty = 0;
    o->next_retry_at = 0;
    o->depth = 0;
    if (store_outbox_pending(s->store, scan_cb, s))
        log_error("outbox scan failed", "error=\"%s\"", store_errmsg(s->store));
}

int64_t outbox_depth(struct server *s)
{
    int64_t n = 0;
    store_outbox_depth(s->store, &n);
    return n;
}

static void on_tick(uv_timer_t *t)
{
    (void)t; /* the after-commit pass of this turn checks next_retry_at */
}

int outbox_init(struct server *s)
{
    struct outbox *o = calloc(1, sizeof(*o));
    if (!o)
        return CORDON_ENOMEM;
    s->outbox = o;
    o->dirty = 1; /* rows left pending by a previous run */
    uv_timer_init(s->loop, &o->tick);
    uv_timer_start(&o->tick, on_tick, 1000, 1000);
    return server_after_commit(s, dispatch, NULL);
}

static void free_outbox(uv_handle_t *h)
{
    struct outbox *o = h->data;
    for (struct outbox_kind *n, *k = o->kinds; k; k = n) {
        n = k->next;
        free(k->kind);
        free(k);
    }
    struct inflight *f, *tmp;
    HASH_ITER(hh, o->inflight, f, tmp)
    {
        HASH_DEL(o->inflight, f);
        free(f);
    }
    free(o);
}

void outbox_free(struct server *s)
{
    struct outbox *o = s->outbox;
    if (!o)
        return;
    s->outbox = NULL;
    o->tick.data = o;
    uv_close((uv_handle_t *)&o->tick, free_outbox);
}
