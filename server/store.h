/*
 * store.h — cordond's persistent state behind one engine-neutral interface.
 *
 * The SQLite engine (store_sqlite.c) is the default; a PostgreSQL engine can
 * implement the same functions (nothing here names SQL, rowids or pragmas).
 *
 * Transactions: writes made during one loop turn share one transaction. A
 * write function opens it on first use (store_begin is idempotent) and the
 * loop's prepare/check hooks call store_commit once per turn, so a burst of
 * reports costs one commit. Code that must be all-or-nothing (config apply)
 * calls store_commit first, then store_begin/…/store_commit or
 * store_rollback explicitly.
 *
 * Strings passed in are copied; strings handed to callbacks are valid only
 * during the callback. All functions return 0 or a negative CORDON_E* code
 * (CORDON_ENOTFOUND, CORDON_EEXIST where stated), and never log: the caller
 * that handles the error logs it.
 */
#ifndef CORDOND_STORE_H
#define CORDOND_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* Open (creating and migrating) the store at path. err gets a message on failure. */
int store_open(struct store **out, const char *path, char *err, size_t errlen);
/* Commit any open transaction and close. Safe on NULL. */
void store_close(struct store *st);
/* Engine-specific message for the last error (for logs). */
const char *store_errmsg(struct store *st);

int store_begin(struct store *st);    /* no-op when a transaction is open */
int store_commit(struct store *st);   /* no-op when none is open */
int store_rollback(struct store *st); /* no-op when none is open */
bool store_in_txn(const struct store *st);
/*
 * Background maintenance of the store at path (SQLite: a passive WAL
 * checkpoint, the only step that fsyncs) on a connection of its own, so a
 * worker thread can run it while the loop keeps writing. Returns 0 or an error.
 */
int store_maintain(const char *path);

/* Schema version after migrations. */
int store_schema_version(struct store *st);

/* ---- things ------------------------------------------------------------ */
struct store_thing {
    const char *name;
    const char *attributes; /* JSON object text */
    int64_t created_at;     /* epoch ms */
    int64_t last_report_id; /* -1 = none */
    int64_t last_report_at; /* epoch ms, 0 = none */
};
typedef int (*store_thing_cb)(void *ctx, const struct store_thing *t);
int store_thing_put(struct store *st, const char *name, const char *attributes, int64_t created_at);
int store_thing_delete(struct store *st, const char *name); /* also memberships, credentials */
int store_thing_report(struct store *st, const char *name, int64_t report_id, int64_t at);
int store_things_load(struct store *st, store_thing_cb cb, void *ctx);

/* ---- thing groups (static) and membership ------------------------------ */
typedef int (*store_group_cb)(void *ctx, const char *name, const char *description,
                              const char *attributes, int64_t created_at);
typedef int (*store_member_cb)(void *ctx, const char *group, const char *thing);
/* attributes: JSON object text (string values), NULL = {} */
int store_group_put(struct store *st, const char *name, const char *description,
                    const char *attributes, int64_t created_at);
int store_group_delete(struct store *st, const char *name); /* also its memberships */
int store_groups_load(struct store *st, store_group_cb cb, void *ctx);
int store_member_put(struct store *st, const char *group, const char *thing);
int store_member_delete(struct store *st, const char *group, const char *thing);
int store_members_load(struct store *st, store_member_cb cb, void *ctx);

/* ---- device credentials ------------------------------------------------ */
/* type "password" (secret = Argon2id hash string) or "certificate" (secret = PEM). */
int store_credential_put(struct store *st, const char *thing, const char *type, const char *secret,
                         int64_t created_at);
int store_credential_delete(struct store *st, const char *thing);
/* Copies the type into type[typelen]; CORDON_ENOTFOUND when none. */
int store_credential_type(struct store *st, const char *thing, char *type, size_t typelen);

/* ---- datapoints (retained metrics) -------------------------------------- */
enum store_dp_kind { STORE_DP_REPORT = 0, STORE_DP_CLOUD = 1 };
struct store_datapoint {
    const char *thing;
    int64_t at;
    int kind; /* enum store_dp_kind */
    int64_t report_id;
    const char *body; /* the report (JSON) or the cloud metrics object */
    size_t body_len;
};
typedef int (*store_datapoint_cb)(void *ctx, const struct store_datapoint *d);
int store_datapoint_add(struct store *st, const struct store_datapoint *d);
int store_datapoints_list(struct store *st, const char *thing, int64_t since, int64_t until,
                          int limit, store_datapoint_cb cb, void *ctx);
/* For each thing with report datapoints at or after since: its highest
 * report id and latest time (rebuilds what store_thing_report last saw). */
typedef int (*store_last_report_cb)(void *ctx, const char *thing, int64_t report_id, int64_t at);
int store_last_reports(struct store *st, int64_t since, store_last_report_cb cb, void *ctx);
/* Delete datapoints older than before; *deleted gets the count (may be NULL). */
int store_datapoints_prune(struct store *st, int64_t before, int64_t *deleted);

/* ---- violations and their events --------------------------------------- */
struct store_violation {
    const char *id;
    const char *thing;
    const char *profile;
    const char *behavior;      /* behavior name */
    const char *behavior_json; /* {name, metric, criteria…} copy at event time */
    const char *value_json;    /* last metricValue */
    const char *state;         /* "active", "cleared", "invalidated" */
    int suppressed;
    int64_t started_at;
    int64_t updated_at;
    int64_t ended_at; /* 0 while active */
    const char *verification;
    const char *verification_desc;
};
struct store_violation_filter {
    int active;                                            /* -1 any, 1 active only, 0 past only */
    const char *thing, *profile, *behavior, *verification; /* NULL = any */
    int64_t since, until;                                  /* 0 = open */
    int limit;                                             /* 0 = 1000 */
};
struct store_violation_event {
    int64_t seq;
    const char *violation_id;
    const char *type; /* in-alarm, alarm-cleared, alarm-invalidated */
    int64_t at;
    const char *value_json;
};
typedef int (*store_violation_cb)(void *ctx, const struct store_violation *v);
typedef int (*store_vevent_cb)(void *ctx, const struct store_violation_event *e);
int store_violation_put(struct store *st, const struct store_violation *v); /* upsert by id */
int store_violation_event_add(struct store *st, const char *violation_id, const char *type,
                              int64_t at, const char *value_json);
int store_violation_verify(struct store *st, const char *id, const char *state,
                           const char *desc); /* CORDON_ENOTFOUND */
int store_violations_list(struct store *st, const struct store_violation_filter *f,
                          store_violation_cb cb, void *ctx);
int store_violation_get(struct store *st, const char *id, store_violation_cb cb, void *ctx);
int store_violation_events(struct store *st, const char *id, store_vevent_cb cb, void *ctx);

/* ---- mitigation action records ----------------------------------------- */
struct store_action {
    int64_t id;
    const char *violation_id; /* "" for manual actions (API quarantine) */
    const char *thing;
    const char *action; /* ADD_THINGS_TO_THING_GROUP, REMOVE_…, REVOKE_CREDENTIALS, … */
    const char *params; /* JSON */
    const char *status; /* pending, succeeded, failed */
    const char *result; /* JSON: the plugin's response, or an error */
    const char *key;    /* idempotency key of the outbox row that carries it ("" none) */
    int64_t created_at, updated_at;
};
typedef int (*store_action_cb)(void *ctx, const struct store_action *a);
int store_action_add(struct store *st, const struct store_action *a, int64_t *id);
/* Update by outbox key; CORDON_ENOTFOUND when no action carries it. */
int store_action_result(struct store *st, const char *key, const char *status, const char *result,
                        int64_t at);
int store_actions_list(struct store *st, const char *violation_id, const char *thing,
                       store_action_cb cb, void *ctx);

/* ---- outbox: effects that leave the process ----------------------------- */
struct store_outbox {
    int64_t id;
    const char *kind;   /* "mqtt", "webhook", or a module's kind */
    const char *key;    /* idempotency key, unique */
    const char *target; /* topic, URL, address… */
    const char *payload;
    size_t payload_len;
    int attempts;
    int64_t next_at; /* epoch ms: not before */
    int64_t created_at;
};
typedef int (*store_outbox_cb)(void *ctx, const struct store_outbox *o);
/* Insert; a row with the same key already present → CORDON_EEXIST, nothing written. */
int store_outbox_add(struct store *st, const struct store_outbox *o, int64_t *id);
int store_outbox_done(struct store *st, int64_t id, int64_t at);
int store_outbox_fail(struct store *st, int64_t id, const char *error, int64_t at); /* final */
int store_outbox_retry(struct store *st, int64_t id, int attempts, int64_t next_at,
                       const char *error);
int store_outbox_pending(struct store *st, store_outbox_cb cb, void *ctx);
int store_outbox_depth(struct store *st, int64_t *n);

/* ---- timers (rows with due_at) ------------------------------------------ */
typedef int (*store_timer_cb)(void *ctx, const char *key, const char *kind, int64_t due_at,
                              const char *payload);
int store_timer_put(struct store *st, const char *key, const char *kind, int64_t due_at,
                    const char *payload); /* upsert by key */
int store_timer_delete(struct store *st, const char *key);
int store_timers_load(struct store *st, store_timer_cb cb, void *ctx);

/* ---- API tokens ---------------------------------------------------------- */
typedef int (*store_token_cb)(void *ctx, const char *id, const char *name, const char *role,
                              int64_t created_at);
int store_token_add(struct store *st, const char *id, const char *name, const char *role,
                    const char *hash, int64_t created_at);
/* Role of the token whose hash is hash; CORDON_ENOTFOUND. */
int store_token_role(struct store *st, const char *hash, char *role, size_t rolelen);
/* Same, plus the token's name into name[namelen] (may be NULL). */
int store_token_lookup(struct store *st, const char *hash, char *role, size_t rolelen, char *name,
                       size_t namelen);
int store_token_delete(struct store *st, const char *id);
int store_tokens_list(struct store *st, store_token_cb cb, void *ctx);

/* ---- documents: configuration objects and modules' state ---------------- */
/* (kind, name) → JSON text. Profiles live here as kind "profile". */
typedef int (*store_doc_cb)(void *ctx, const char *kind, const char *name, const char *body);
int store_doc_put(struct store *st, const char *kind, const char *name, const char *body,
                  int64_t at);
int store_doc_delete(struct store *st, const char *kind, const char *name);
int store_doc_delete_kind(struct store *st, const char *kind);
int store_doc_get(struct store *st, const char *kind, const char *name, store_doc_cb cb,
                  void *ctx); /* CORDON_ENOTFOUND */
int store_docs_list(struct store *st, const char *kind, store_doc_cb cb, void *ctx);

/* ---- small key/value settings ------------------------------------------- */
int store_kv_put(struct store *st, const char *key, const char *value);
int store_kv_get(struct store *st, const char *key, char *value, size_t valuelen);

#endif
