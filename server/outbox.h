/*
 * outbox.h — effects that leave the process (control messages, alerts,
 * webhooks, later pages) are written as outbox rows in the same store
 * transaction as the state change that caused them, with an idempotency
 * key. After the turn's commit a dispatcher hands pending rows to the
 * sender registered for their kind; the sender reports completion with
 * outbox_complete(). Failures are retried with exponential backoff (1 s
 * doubling to 5 min, OUTBOX_MAX_ATTEMPTS tries). After a crash, pending rows
 * are sent again: receivers dedupe by key.
 */
#ifndef CORDOND_OUTBOX_H
#define CORDOND_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

struct server;

#define OUTBOX_MAX_ATTEMPTS   12
#define OUTBOX_BACKOFF_MAX_MS (5 * 60 * 1000)

struct outbox_item {
    int64_t id;
    const char *kind;
    const char *key;
    const char *target;
    const char *payload;
    size_t payload_len;
    int attempts; /* failed attempts so far */
};

/*
 * A sender. Return 0 when sending started (then call outbox_complete later,
 * possibly from within the call), CORDON_ESTATE for "not now" (transport
 * down: the row stays pending, no attempt counted, retried on the next
 * scan), another negative code for a failed attempt (retried with backoff).
 * Strings in it are valid during the call only.
 */
typedef int (*outbox_send_fn)(struct server *s, void *arg, const struct outbox_item *it);

int outbox_init(struct server *s);
void outbox_free(struct server *s);

/* Register the sender of kind (copied). Returns 0 or CORDON_ENOMEM. */
int outbox_kind(struct server *s, const char *kind, outbox_send_fn fn, void *arg);

/*
 * Add a row in the turn's transaction. A key already in the outbox is not
 * added again and returns 0 (idempotent). Returns 0 or a store error.
 */
int outbox_add(struct server *s, const char *kind, const char *key, const char *target,
               const char *payload, size_t len);

/* Report the end of an attempt for row id: ok → done; else retry or fail. */
void outbox_complete(struct server *s, int64_t id, int ok, const char *error);

/* Scan pending rows on the next after-commit pass (e.g. after a reconnect). */
void outbox_wake(struct server *s);

/* Rows pending in the store (for /metrics). */
int64_t outbox_depth(struct server *s);

#endif
