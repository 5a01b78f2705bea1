/*
 * timers.h — durable timers: rows with due_at in the store, reloaded at
 * start, fired from one uv_timer. A fired timer's row is deleted in the same
 * turn's transaction as whatever its handler writes, so a crash before the
 * commit fires it again after restart (handlers must be idempotent).
 */
#ifndef CORDOND_TIMERS_H
#define CORDOND_TIMERS_H

#include <stdint.h>

struct server;

typedef void (*timers_fn)(struct server *s, void *arg, const char *key, const char *payload);

int timers_init(struct server *s);
void timers_free(struct server *s);

/* Register the handler of kind (before timers of that kind are due). */
int timers_kind(struct server *s, const char *kind, timers_fn fn, void *arg);
/* Set (or move) timer key of kind to fire at due_at (epoch ms) with payload. */
int timers_set(struct server *s, const char *key, const char *kind, int64_t due_at,
               const char *payload);
/* Cancel timer key; 0 also when it did not exist. */
int timers_cancel(struct server *s, const char *key);

#endif
