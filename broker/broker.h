/*
 * broker.h — internals of cordon_mosquitto.so, the Mosquitto 2.0.11 plugin
 * (docs/broker.md). Shared by plugin.c (entry points, options, control
 * channel, TICK), acl.c (topic policy), auth.c (passwords), metrics.c
 * (cloud-side metrics) and state.c (identity table, persistence).
 *
 * Everything runs on the broker's single thread: no locks. Names follow
 * Mosquitto's plugin dialect: module__verb, MOSQ_ERR_* returns, uthash.
 */
#ifndef CORDON_BROKER_H
#define CORDON_BROKER_H

/* 2.0.11: mosquitto_plugin.h needs mosquitto_broker.h first */
#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

#include "control.h"

/* kicks waiting for the next TICK; when full, the next denied check queues again */
#define KICK_QUEUE_MAX 256
/* client ids longer than this are kicked by username instead */
#define KICK_NAME_MAX 256
/* keyed BLAKE2b of a verified password (verify cache) */
#define MAC_BYTES 32
/* after a failed Argon2id verify, the identity's next uncached verify waits this long */
#define AUTH_FAIL_BACKOFF_MS 1000

enum ident_cred {
    CRED_NONE = 0,    /* no credentials: refused (entry exists for quarantine/policy) */
    CRED_PASSWORD,    /* Argon2id hash in `hash` */
    CRED_CERTIFICATE, /* certificate listener only */
};

/* One identity (thing name), keyed by name in plugin->idents. */
struct ident {
    char name[CONTROL_IDENTITY_MAX + 1];
    enum ident_cred cred;
    char
        hash[CONTROL_SECRET_MAX + 1]; /* CRED_PASSWORD: the Argon2id hash; CRED_CERTIFICATE: the
                                       * pinned certificate's SHA-256 (hex), "" = any with the CN */
    bool quarantined;
    bool revoked;
    bool has_policy;
    struct control_policy policy; /* valid when has_policy */
    bool cache_valid;             /* cache holds the MAC of the last verified password */
    unsigned char cache[MAC_BYTES];
    int64_t last_fail_ms; /* monotonic time of the last failed verify (AUTH_FAIL_BACKOFF_MS) */
    /* the session last seen for this identity: a first ACL check from another one is a new
     * connection (certificate listeners have no BASIC_AUTH to count it). Compared, never
     * dereferenced. */
    const struct mosquitto *last_client;
    /* the last session refused for its certificate (acl.c); compared, never dereferenced */
    const struct mosquitto *last_refused;
    bool metrics_dirty; /* counters changed since the last metrics message */
    struct control_thing_metrics metrics;
    UT_hash_handle hh;
};

enum kick_by { KICK_USERNAME, KICK_CLIENTID };

struct kick {
    enum kick_by by;
    char name[KICK_NAME_MAX + 1];
};

struct plugin {
    mosquitto_plugin_id_t *pid;
    char *state_file;
    char server_identity[CONTROL_IDENTITY_MAX + 1];
    bool server_has_password;
    char server_hash[CONTROL_SECRET_MAX + 1];
    bool server_cache_valid;
    unsigned char server_cache[MAC_BYTES];
    int64_t server_last_fail_ms;
    bool clientid_must_match;
    unsigned long long opslimit;
    size_t memlimit;
    unsigned char mac_key[MAC_BYTES]; /* random per process: verify-cache key */
    int64_t metrics_interval_ms;      /* 0 = off */
    int64_t next_metrics_ms;          /* monotonic */
    uint64_t unknown_attempts;
    struct ident *idents;
    struct control_policy default_policy;
    struct control_policy quarantine_policy;
    bool default_custom; /* set by set-policy (persisted), else built in */
    bool quarantine_custom;
    struct kick kicks[KICK_QUEUE_MAX];
    size_t n_kicks;
};

/* ---- state.c ----------------------------------------------------------- */

/* The built-in default and quarantine policies. MOSQ_ERR_SUCCESS or NOMEM. */
int state__builtin_policies(struct plugin *p);
/* Lookup by name; NULL when absent. O(1). */
struct ident *state__find(struct plugin *p, const char *name);
/* Lookup or create (name must be a valid identity); NULL on NOMEM. */
struct ident *state__get(struct plugin *p, const char *name);
/* Remove id if it carries nothing worth keeping (no credentials, not quarantined/revoked, no
 * policy). */
void state__maybe_drop(struct plugin *p, struct ident *id);
/* Free every identity and policy. */
void state__free(struct plugin *p);
/*
 * Load p->state_file. Missing file: empty state, success. Unreadable or
 * corrupt: MOSQ_ERR_INVAL with a message in err (naming the file and what
 * is wrong); the caller refuses to start.
 */
int state__load(struct plugin *p, char *err, size_t errlen);
/*
 * Write the state atomically (<file>.new, fsync, rename, fsync of the
 * directory). MOSQ_ERR_SUCCESS or MOSQ_ERR_UNKNOWN with a message in err.
 */
int state__save(struct plugin *p, char *err, size_t errlen);

/* ---- auth.c ------------------------------------------------------------ */

int auth__basic_auth_cb(int event, void *event_data, void *userdata);
/* Argon2id-hash pw into out (CONTROL_SECRET_MAX+1 bytes) with p's limits. MOSQ_ERR_*. */
int auth__hash(struct plugin *p, const char *pw, char *out);
/* Read the server password file (hash or plaintext). MOSQ_ERR_INVAL with err on failure. */
int auth__load_server_password(struct plugin *p, const char *path, char *err, size_t errlen);

/* ---- acl.c ------------------------------------------------------------- */

int acl__check_cb(int event, void *event_data, void *userdata);

/* ---- metrics.c --------------------------------------------------------- */

/* The identity's counters changed: mark it for the next metrics message. */
static inline struct control_thing_metrics *metrics__of(struct ident *id)
{
    id->metrics_dirty = true;
    return &id->metrics;
}
/* Record the client's address for the identity (no allocation). */
void metrics__source_ip(struct ident *id, struct mosquitto *client);
int metrics__disconnect_cb(int event, void *event_data, void *userdata);
/* Publish the metrics message when due (now_ms: monotonic ms). */
void metrics__tick(struct plugin *p, int64_t now_ms);

/* ---- plugin.c ---------------------------------------------------------- */

/* CLOCK_MONOTONIC in milliseconds. */
int64_t plugin__monotonic_ms(void);

/* Queue a kick for the next TICK (deduplicated; dropped when the queue is full). */
void plugin__queue_kick(struct plugin *p, enum kick_by by, const char *name);

#endif
