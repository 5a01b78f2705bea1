/*
 * timers.c — the durable timer wheel (a plain list: timers are few —
 * escalations, runbook waits, housekeeping — and firing is O(n) per due).
 */
#include "timers.h"

#include "cordon.h"
#include "log.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

struct timer_kind {
    char *kind;
    timers_fn fn;
    void *arg;
    struct timer_kind *next;
};

struct timer {
    char *key, *kind, *payload;
    int64_t due_at;
    struct timer *next;
};

struct timers {
    struct server *s;
    struct timer_kind *kinds;
    struct timer *list;
    uv_timer_t uv;
};

static void timer_free1(struct timer *t)
{
    free(t->key);
    free(t->kind);
    free(t->payload);
    free(t);
}

static void rearm(struct timers *T);

static void on_fire(uv_timer_t *h)
{
    struct timers *T = h->data;
    struct server *s = T->s;
    int64_t now = s->epoch_base + (int64_t)uv_now(s->loop);
    struct timer **pp = &T->list;

    s->now_ms = now;
    while (*pp) {
        struct timer *t = *pp;
        struct timer_kind *k;
        if (t->due_at > now) {
            pp = &t->next;
            continue;
        }
        *pp = t->next;
        for (k = T->kinds; k; k = k->next)
            if (strcmp(k->kind, t->kind) == 0)
                break;
        if (store_timer_delete(s->store, t->key))
            log_error("timer delete failed", "key=%s", t->key);
        if (k)
            k->fn(s, k->arg, t->key, t->payload);
        else
            log_warn("timer without handler dropped", "key=%s kind=%s", t->key, t->kind);
        timer_free1(t);
        pp = &T->list; /* the handler may have changed the list */
    }
    rearm(T);
}

static void rearm(struct timers *T)
{
    int64_t min = INT64_MAX, now;
    struct server *s = T->s;
    for (struct timer *t = T->list; t; t = t->next)
        if (t->due_at < min)
            min = t->due_at;
    if (min == INT64_MAX) {
        uv_timer_stop(&T->uv);
        return;
    }
    now = s->epoch_base + (int64_t)uv_now(s->loop);
    uv_timer_start(&T->uv, on_fire, min > now ? (uint64_t)(min - now) : 0, 0);
}

static int mem_set(struct timers *T, const char *key, const char *kind, int64_t due_at,
                   const char *payload)
{
    struct timer *t;
    for (t = T->list; t; t = t->next)
        if (strcmp(t->key, key) == 0)
            break;
    if (!t) {
        t = calloc(1, sizeof(*t));
        if (!t || !(t->key = strdup(key))) {
            free(t);
            return CORDON_ENOMEM;
        }
        t->next = T->list;
        T->list = t;
    }
    free(t->kind);
    free(t->payload);
    t->kind = strdup(kind);
    t->payload = strdup(payload ? payload : "");
    t->due_at = due_at;
    if (!t->kind || !t->payload)
        return CORDON_ENOMEM;
    return 0;
}

int timers_set(struct server *s, const char *key, const char *kind, int64_t due_at,
               const char *payload)
{
    struct timers *T = s->timers;
    int rc = store_timer_put(s->store, key, kind, due_at, payload ? payload : "");
    if (!rc)
        rc = mem_set(T, key, kind, due_at, payload);
    if (!rc)
        rearm(T);
    return rc;
}

int timers_cancel(struct server *s, const char *key)
{
    struct timers *T = s->timers;
    for (struct timer **pp = &T->list; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            struct timer *t = *pp;
            *pp = t->next;
            timer_free1(t);
            break;
        }
    }
    rearm(T);
    return store_timer_delete(s->store, key);
}

int timers_kind(struct server *s, const char *kind, timers_fn fn, void *arg)
{
    struct timer_kind *k = calloc(1, sizeof(*k));
    if (!k || !(k->kind = strdup(kind))) {
        free(k);
        return CORDON_ENOMEM;
    }
    k->fn = fn;
    k->arg = arg;
    k->next = s->timers->kinds;
    s->timers->kinds = k;
    return 0;
}

static int load_cb(void *ctx, const char *key, const char *kind, int64_t due_at,
                   const char *payload)
{
    return mem_set(ctx, key, kind, due_at, payload);
}

int timers_init(struct server *s)
{
    struct timers *T = calloc(1, sizeof(*T));
    int rc;
    if (!T)
        return CORDON_ENOMEM;
    T->s = s;
    s->timers = T;
    uv_timer_init(s->loop, &T->uv);
    T->uv.data = T;
    rc = store_timers_load(s->store, load_cb, T);
    if (rc)
        return rc;
    /* fire after every module registered its kinds: first run of the loop */
    rearm(T);
    return 0;
}

static void free_timers(uv_handle_t *h)
{
    struct timers *T = h->data;
    for (struct timer *n, *t = T->list; t; t = n) {
        n = t->next;
        timer_free1(t);
    }
    for (struct timer_kind *n, *k = T->kinds; k; k = n) {
        n = k->next;
        free(k->kind);
        free(k);
    }
    free(T);
}

void timers_free(struct server *s)
{
    struct timers *T = s->timers;
    if (!T)
        return;
    s->timers = NULL;
    uv_close((uv_handle_t *)&T->uv, free_timers);
}
