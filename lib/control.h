/*
 * control.h — the broker control channel: JSON codec for the messages
 * exchanged between cordond and the Mosquitto plugin (cordon_mosquitto.so)
 * on $CONTROL/cordon/v1, plus the topic-policy matcher both sides share.
 *
 *   cordond ──$CONTROL/cordon/v1──────────▶ plugin   {"commands":[...]}
 *   cordond ◀─$CONTROL/cordon/v1/response── plugin   {"responses":[...]}
 *   cordond ◀─$CONTROL/cordon/v1/metrics─── plugin   {"timestamp":..,"things":[...]}
 *
 * cordond encodes commands and decodes responses and metrics; the plugin
 * decodes commands and encodes responses and metrics. Every shape is
 * documented in docs/broker.md ("Control protocol"); limits below are named
 * there too.
 *
 * Pure: no I/O, no clock (timestamps are arguments), no globals.
 *
 * Ownership: decoders fill caller-provided structs (usable on the stack) and
 * allocate what they hold; the matching *_free() releases it and is safe on
 * a zeroed struct or after a failed decode. Encoders append to a struct buf.
 */
#ifndef CORDON_CONTROL_H
#define CORDON_CONTROL_H

#include "buf.h"
#include "cordon.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- topics ------------------------------------------------------------ */
#define CONTROL_TOPIC          "$CONTROL/cordon/v1"
#define CONTROL_RESPONSE_TOPIC "$CONTROL/cordon/v1/response"
#define CONTROL_METRICS_TOPIC  "$CONTROL/cordon/v1/metrics"

/* ---- limits (docs/broker.md) ------------------------------------------- */
#define CONTROL_MAX_BYTES (256 * 1024) /* one control message */
/* one response message: a get-state answer lists every identity of the fleet (plugin output,
 * only the plugin and the server identity may publish it) */
#define CONTROL_RESPONSE_MAX_BYTES (64 * 1024 * 1024)
#define CONTROL_COMMANDS_MAX       256 /* commands in one message */
#define CONTROL_IDENTITY_MAX       128 /* identity (thing name) bytes */
#define CONTROL_CORRELATION_MAX    320 /* correlationId bytes (cordond uses outbox keys) */
#define CONTROL_SECRET_MAX         256 /* password or encoded hash bytes */
#define CONTROL_POLICY_MAX         64  /* topic patterns in one list */
#define CONTROL_PATTERN_MAX        256 /* bytes of one topic pattern */
#define CONTROL_ERROR_MAX          256 /* bytes of a response error text */
#define CONTROL_IP_MAX             63  /* source address text */
#define CONTROL_CERT_SHA256_HEX    64  /* SHA-256 of a certificate's DER, lowercase hex */
#define CONTROL_MAX_DEPTH          8   /* JSON nesting */

/* ---- commands ---------------------------------------------------------- */

enum control_cmd_type {
    CONTROL_CMD_QUARANTINE = 1,  /* "quarantine": hold thing to the quarantine policy, kick */
    CONTROL_CMD_RELEASE,         /* "release": back to its normal policy, kick */
    CONTROL_CMD_SET_CREDENTIALS, /* "set-credentials": create/replace an identity, un-revoke */
    CONTROL_CMD_REVOKE,          /* "revoke": refuse the identity from now on, kick */
    CONTROL_CMD_SET_POLICY,      /* "set-policy": default, quarantine or per-thing lists */
    CONTROL_CMD_GET_STATE,       /* "get-state": quarantine set, identities, revoked */
    CONTROL_CMD_KICK,            /* "kick": disconnect the thing's sessions */
    CONTROL_CMD_DELETE,          /* "delete-credentials": forget the identity */
};

/* How set-credentials authenticates the identity. */
enum control_cred_kind {
    CONTROL_CRED_PASSWORD = 1, /* "password": plaintext, hashed (Argon2id) by the plugin */
    CONTROL_CRED_HASH,         /* "passwordHash": a crypto_pwhash_str() "$argon2id$..." string */
    CONTROL_CRED_CERTIFICATE,  /* "certificate": true — TLS client certificate whose CN is the
                                * thing; with "certificateSha256" (secret) only that certificate */
};

enum control_policy_scope {
    CONTROL_SCOPE_DEFAULT = 1, /* "default": every device without its own policy */
    CONTROL_SCOPE_QUARANTINE,  /* "quarantine": every quarantined device */
    CONTROL_SCOPE_THING,       /* "thing": one device ("thing" names it) */
};

/*
 * A topic policy: MQTT topic filters ('+', '#' allowed) in which the token
 * ${thing} stands for the client's identity. `publish` bounds what it may
 * publish; `subscribe` bounds what it may subscribe to and receive.
 */
struct control_policy {
    char **publish;
    size_t n_publish;
    char **subscribe;
    size_t n_subscribe;
};

struct control_cmd {
    enum control_cmd_type type;
    char correlation_id[CONTROL_CORRELATION_MAX + 1]; /* "" when absent */
    char thing[CONTROL_IDENTITY_MAX + 1];             /* "" for get-state / non-thing scopes */
    /* set-credentials */
    enum control_cred_kind cred_kind;
    char secret[CONTROL_SECRET_MAX + 1]; /* password, hash, or the certificate's SHA-256 (hex,
                                          * "" = any certificate with the CN) */
    /* set-policy */
    enum control_policy_scope scope;
    bool clear; /* scope thing: drop the thing's own policy (back to default) */
    struct control_policy policy;
};

/*
 * One decoded command list. Commands that fail validation are kept in
 * place with errors[i] set (a person-readable message naming the field
 * path, e.g. "commands[2].thing: ..."), so the plugin can answer each
 * command, in order, and apply only the valid ones.
 */
struct control_batch {
    struct control_cmd *cmds;
    char (*errors)[CONTROL_ERROR_MAX]; /* errors[i][0] == '\0': command i is valid */
    char (*names)[24];                 /* the "command" text of each entry (for replies) */
    size_t n;
};

/* Name of a command type ("quarantine", ...); "" for an unknown value. */
const char *control_cmd_name(enum control_cmd_type t);

/*
 * True if s[0..len) is usable as a device identity: 1..CONTROL_IDENTITY_MAX
 * bytes, no '+', '#', '/', no control characters (< 0x20, 0x7f), no NUL.
 */
bool control_identity_valid(const char *s, size_t len);

/*
 * True if p is a valid policy pattern: a valid MQTT topic filter of
 * 1..CONTROL_PATTERN_MAX bytes ('#' only as the whole last level, '+' only
 * as a whole level) in which "${thing}" may appear inside any level.
 */
bool control_pattern_valid(const char *p);

/* True if s is CONTROL_CERT_SHA256_HEX lowercase hex digits (a certificate fingerprint). */
bool control_cert_sha256_valid(const char *s);

/*
 * Decode a command message {"commands":[...]} (data need not be
 * NUL-terminated). Returns 0 when the envelope is valid — individual
 * commands may still carry errors (see struct control_batch); otherwise
 * CORDON_EINVAL / CORDON_ETOOBIG / CORDON_ENOMEM with diag filled and *b
 * empty. Free b with control_batch_free() in every case.
 */
int control_batch_decode(struct control_batch *b, const char *data, size_t len,
                         struct cordon_diag *diag);

/* Release what control_batch_decode() allocated. Safe on a zeroed struct. */
void control_batch_free(struct control_batch *b);

/* Release the pattern lists of a policy (safe on a zeroed struct). */
void control_policy_free(struct control_policy *p);

/*
 * Deep-copy src into dst (dst is overwritten, not freed first). Returns 0
 * or CORDON_ENOMEM (dst is then zeroed).
 */
int control_policy_copy(struct control_policy *dst, const struct control_policy *src);

/*
 * Zero c and set its type, thing and correlation id (either may be NULL or
 * ""). For cordond, before filling kind-specific fields. Returns 0, or
 * CORDON_EINVAL when thing is not a valid identity or correlation_id is
 * longer than CONTROL_CORRELATION_MAX (c is then zeroed but for the type).
 */
int control_cmd_init(struct control_cmd *c, enum control_cmd_type type, const char *thing,
                     const char *correlation_id);

/*
 * Append a command message {"commands":[...]} holding cmds[0..n) to out.
 * For cordond. Returns 0, CORDON_EINVAL (a command is incomplete: no thing
 * where one is needed, unknown type) or the buf error.
 */
int control_batch_encode(const struct control_cmd *cmds, size_t n, struct buf *out);

/* ---- responses --------------------------------------------------------- */

/* The state answered to get-state. Every name is an allocated string. */
struct control_state {
    char **quarantined; /* quarantined identities */
    size_t n_quarantined;
    char **revoked; /* revoked identities */
    size_t n_revoked;
    char **identities; /* identities with credentials (never the hashes) */
    size_t n_identities;
    char **thing_policies; /* identities that have their own policy */
    size_t n_thing_policies;
};

struct control_response {
    char command[24];                                 /* the command's name as sent */
    char correlation_id[CONTROL_CORRELATION_MAX + 1]; /* "" when none */
    bool ok;
    char error[CONTROL_ERROR_MAX]; /* "" when ok */
    bool has_state;                /* get-state answered */
    struct control_state state;
};

struct control_responses {
    struct control_response *v;
    size_t n;
};

/* Append {"responses":[...]} holding v[0..n) to out. For the plugin. */
int control_responses_encode(const struct control_response *v, size_t n, struct buf *out);

/*
 * Decode a response message (at most CONTROL_RESPONSE_MAX_BYTES: a get-state
 * answer grows with the fleet). For cordond. Returns 0 or CORDON_EINVAL /
 * CORDON_ETOOBIG / CORDON_ENOMEM with diag. Free with
 * control_responses_free() in every case.
 */
int control_responses_decode(struct control_responses *r, const char *data, size_t len,
                             struct cordon_diag *diag);

void control_responses_free(struct control_responses *r);
void control_state_free(struct control_state *s);

/* ---- cloud-side metrics ------------------------------------------------ */

/*
 * Per-identity counters for one interval (deltas since the previous
 * metrics message). JSON keys are the aws: cloud-side metric names where
 * one exists, cordon: names otherwise (docs/broker.md).
 */
struct control_thing_metrics {
    char thing[CONTROL_IDENTITY_MAX + 1];
    uint64_t connection_attempts;       /* aws:num-connection-attempts */
    uint64_t authentication_failures;   /* cordon:num-authentication-failures */
    uint64_t authorization_failures;    /* aws:num-authorization-failures */
    uint64_t messages_sent;             /* aws:num-messages-sent (device → broker) */
    uint64_t bytes_sent;                /* cordon:bytes-sent (payload bytes) */
    uint64_t max_message_bytes;         /* aws:message-byte-size (largest in interval) */
    uint64_t messages_received;         /* aws:num-messages-received (broker → device) */
    uint64_t bytes_received;            /* cordon:bytes-received */
    uint64_t disconnects;               /* aws:num-disconnects */
    char source_ip[CONTROL_IP_MAX + 1]; /* aws:source-ip-address, "" unknown */
};

struct control_metrics {
    int64_t timestamp_ms;                 /* end of the interval, ms since the epoch */
    int64_t interval_s;                   /* configured interval */
    uint64_t unknown_connection_attempts; /* attempts with an unknown/invalid identity */
    struct control_thing_metrics *v;
    size_t n;
};

/* Append the metrics message to out. For the plugin. */
int control_metrics_encode(const struct control_metrics *m, struct buf *out);

/* Decode a metrics message. For cordond. Free with control_metrics_free(). */
int control_metrics_decode(struct control_metrics *m, const char *data, size_t len,
                           struct cordon_diag *diag);

void control_metrics_free(struct control_metrics *m);

/* ---- topic policy matching (shared by the plugin and tests) ------------ */

/*
 * True if the concrete topic matches pattern, with every "${thing}" in the
 * pattern standing for `thing`. MQTT rules: '+' one level, '#' the rest
 * (including the parent level), '$'-topics are not matched by a leading
 * wildcard. No allocation.
 */
bool control_topic_match(const char *pattern, const char *topic, const char *thing);

/*
 * True if every topic the subscription filter can match is matched by
 * pattern (after ${thing} substitution): the filter lies within the
 * pattern. A filter equal to the pattern is within it. No allocation.
 */
bool control_filter_within(const char *pattern, const char *filter, const char *thing);

#endif
