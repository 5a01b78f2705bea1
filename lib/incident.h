/*
 * incident.h — incident records (incident-response-spec.md §5–§9, §16;
 * seed-scenario.md §2.5, §2.8, §6).
 *
 * Pure core: the caller (cordond) owns storage, time (now_ms) and
 * randomness (struct incident_random). Starting, merging and updating an
 * incident returns effects (engage contact, start runbook, notify) that the
 * caller executes; their results come back as timeline notes
 * (incident_note_*). Format and rules: docs/incidents.md.
 *
 * Driving it from a violation:
 *   route = incident_route(plan, v, known, nknown, &idx)
 *   START     → incident_start(&inc, plan, v, env, now, rnd, &fx)
 *   JOIN      → incident_join(known[idx], v, now, rnd, &fx)
 *   RECORD    → incident_record(known[idx], v, now, rnd)
 *   DUPLICATE / IGNORE → nothing
 */
#ifndef CORDON_INCIDENT_H
#define CORDON_INCIDENT_H

#include "buf.h"
#include "cordon.h"
#include "response_plan.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define INCIDENT_ID_MAX         300
#define INCIDENT_TITLE_MAX      200
#define INCIDENT_SUMMARY_MAX    8000
#define INCIDENT_DEDUPE_MAX     1000
#define INCIDENT_EVENT_TYPE_MAX 100
#define INCIDENT_EVENT_DATA_MAX 12000
#define INCIDENT_EVENT_REFS_MAX 10
#define INCIDENT_EVENTS_MAX     10000 /* timeline events kept per incident */
#define INCIDENT_ITEMS_MAX      100   /* related items per incident */
#define INCIDENT_ITEM_VALUE_MAX 4000
#define INCIDENT_TOKENS_MAX     1000 /* client tokens (violation ids) remembered */
#define INCIDENT_TOKEN_MAX      128
#define INCIDENT_WHO_MAX        256
#define INCIDENT_SOURCE_MAX     50
#define INCIDENT_JSON_MAX       (64 * 1024 * 1024) /* encoded incident, for decode */

/* Source of incidents started by the detect engine (spec §5 Cordon rule). */
#define INCIDENT_SOURCE_DETECT "cordon.detect"
#define INCIDENT_SOURCE_MANUAL "cordon.incidents.custom"

/* System timeline event types (spec §8). Users add "Custom Event" and "Note". */
#define INCIDENT_EVENT_TRIGGER    "SSM Incident Trigger"
#define INCIDENT_EVENT_UPDATE     "SSM Incident Record Update"
#define INCIDENT_EVENT_MERGE      "Cordon Incident Merge"
#define INCIDENT_EVENT_VIOLATION  "Cordon Violation Update"
#define INCIDENT_EVENT_ENGAGEMENT "Cordon Engagement"
#define INCIDENT_EVENT_PAGE       "Cordon Page"
#define INCIDENT_EVENT_ACK        "Cordon Acknowledgement"
#define INCIDENT_EVENT_NOT_ACKED  "Cordon Not Acknowledged"
#define INCIDENT_EVENT_RUNBOOK    "Cordon Runbook Step"
#define INCIDENT_EVENT_QUARANTINE "Cordon Quarantine"
#define INCIDENT_EVENT_RELEASE    "Cordon Release"
#define INCIDENT_EVENT_CUSTOM     "Custom Event"
#define INCIDENT_EVENT_NOTE       "Note"

/* Randomness supplied by the caller (lib has no RNG): fill buf with n bytes. */
struct incident_random {
    int (*fill)(void *ctx, void *buf, size_t n);
    void *ctx;
};

enum incident_status { INCIDENT_OPEN, INCIDENT_RESOLVED };

enum incident_violation_type {
    INCIDENT_VIOLATION_IN_ALARM,
    INCIDENT_VIOLATION_CLEARED,
    INCIDENT_VIOLATION_INVALIDATED,
};

enum incident_verification {
    INCIDENT_VERIFICATION_UNKNOWN,
    INCIDENT_VERIFICATION_TRUE_POSITIVE,
    INCIDENT_VERIFICATION_FALSE_POSITIVE,
    INCIDENT_VERIFICATION_BENIGN_POSITIVE,
};

/* A violation event as the detect engine reports it (borrowed strings). */
struct incident_violation {
    const char *violation_id; /* client token */
    const char *thing_name;
    const char *profile;           /* securityProfileName */
    const char *behavior;          /* behaviorName */
    const char *metric;            /* e.g. aws:listening-tcp-ports; may be NULL */
    const char *metric_value_json; /* e.g. {"ports":[4444]}; may be NULL */
    const char *thing_json;        /* the thing record for rawData; may be NULL */
    enum incident_violation_type type;
    int64_t time_ms;            /* event time */
    int64_t first_datapoint_ms; /* first violating datapoint (time to detect); 0 = unknown */
    bool suppressed;
    enum incident_verification verification;
};

struct detect_event;
/*
 * Map a detect engine event (lib/detect.h) onto v: ids, names, type,
 * suppression, verification; the metric value is written as JSON into
 * scratch (reset first) and the detect event JSON (detect_event_json) is not
 * copied. first_datapoint_ms = the violation's start (alarm_since_ms), else
 * the event time: with consecutiveDatapointsToAlarm > 1 the caller may pass
 * an earlier datapoint time. v borrows from ev and scratch.
 */
int incident_violation_from_detect(struct incident_violation *v, const struct detect_event *ev,
                                   struct buf *scratch);

/* Deployment settings the caller passes in. */
struct incident_env {
    const char *console_base_url; /* for related-item links */
    const char *invoked_by;       /* e.g. "cordond"; may be NULL */
};

enum incident_item_type {
    INCIDENT_ITEM_OTHER,
    INCIDENT_ITEM_INVOLVED_RESOURCE,
    INCIDENT_ITEM_PARENT,
    INCIDENT_ITEM_ATTACHMENT,
    INCIDENT_ITEM_METRIC,
    INCIDENT_ITEM_ANALYSIS,
    INCIDENT_ITEM_INCIDENT,
    INCIDENT_ITEM_AUTOMATION,
    INCIDENT_ITEM_TASK,
};

struct incident_item {
    char id[37]; /* generatedId, uuid */
    char title[INCIDENT_TITLE_MAX + 1];
    enum incident_item_type type;
    bool is_url;                             /* value kind: url, else arn */
    char value[INCIDENT_ITEM_VALUE_MAX + 1]; /* url, or resource id "cordon:thing/NAME" */
};

struct incident_event {
    char id[37]; /* uuid */
    int64_t time_ms;
    int64_t updated_ms;
    char type[INCIDENT_EVENT_TYPE_MAX + 1];
    char *data;   /* JSON text for system events, free text for notes */
    json_t *refs; /* array of {resource} / {relatedItemId}, or NULL */
};

struct incident {
    char id[INCIDENT_ID_MAX + 1]; /* cordon:incident/{plan}/{uuid} */
    char plan[RESPONSE_PLAN_NAME_MAX + 1];
    char title[INCIDENT_TITLE_MAX + 1];
    int impact;
    enum incident_status status;
    char *summary;
    char dedupe[INCIDENT_DEDUPE_MAX + 1];
    int64_t created_ms, resolved_ms, modified_ms;
    int64_t acknowledged_ms;    /* first essential ack (MTTA); 0 = none */
    int64_t contained_ms;       /* first quarantine enforced; 0 = none */
    int64_t first_datapoint_ms; /* of the triggering violation; 0 = unknown */
    char modified_by[INCIDENT_WHO_MAX + 1];
    char created_by[INCIDENT_WHO_MAX + 1];
    char invoked_by[INCIDENT_WHO_MAX + 1];
    char source[INCIDENT_SOURCE_MAX + 1];
    char resource[INCIDENT_ID_MAX + 1]; /* triggering resource (violation id) */
    json_t *tags;                       /* object or NULL */
    size_t ntargets;
    struct response_plan_target targets[RESPONSE_PLAN_TARGETS_MAX];
    /* trigger facts for the analysis */
    char thing[256], profile[256], behavior[256], metric[256];
    char *metric_value; /* JSON text or NULL */
    size_t nevents, aevents;
    struct incident_event *events;
    size_t nitems, aitems;
    struct incident_item *items;
    size_t ntokens, atokens;
    char **tokens; /* client tokens seen (violation ids), oldest dropped past the cap */
};

enum incident_effect_type {
    INCIDENT_EFFECT_ENGAGE,           /* contact: engage this contact alias (engagement_start) */
    INCIDENT_EFFECT_RUNBOOK,          /* start document with parameters */
    INCIDENT_EFFECT_NOTIFY,           /* publish/post payload to target */
    INCIDENT_EFFECT_STOP_ENGAGEMENTS, /* incident resolved: engagement_stop */
};

struct incident_effect {
    enum incident_effect_type type;
    char *contact;          /* ENGAGE */
    char *document_name;    /* RUNBOOK */
    char *document_version; /* RUNBOOK, may be NULL */
    json_t *parameters;     /* RUNBOOK: object key → array of strings (AWS shape) */
    json_t *dynamic;        /* RUNBOOK: object key → variable name, for the type rule */
    struct response_plan_target target; /* NOTIFY */
    char *payload;                      /* NOTIFY: JSON text */
};

struct incident_effects {
    size_t n, alloc;
    struct incident_effect *items;
};

void incident_effects_init(struct incident_effects *fx);
void incident_effects_free(struct incident_effects *fx);

void incident_init(struct incident *inc);
void incident_free(struct incident *inc);

const char *incident_status_name(enum incident_status s);
const char *incident_item_type_name(enum incident_item_type t);

enum incident_route {
    INCIDENT_ROUTE_IGNORE, /* nothing to do (suppressed, false positive, clear without incident) */
    INCIDENT_ROUTE_START,  /* open a new incident */
    INCIDENT_ROUTE_JOIN,   /* in-alarm merged into known[*index] */
    INCIDENT_ROUTE_RECORD, /* clear/invalidate written to known[*index]'s timeline */
    INCIDENT_ROUTE_DUPLICATE, /* exact retry: violationId already seen by known[*index] */
};

/*
 * Render the dedupe string of violation v under plan (the plan's
 * dedupeString, else RESPONSE_PLAN_DEFAULT_DEDUPE) into out (size
 * INCIDENT_DEDUPE_MAX+1). Never uses the event time.
 */
int incident_dedupe(const struct response_plan *plan, const struct incident_violation *v,
                    char *out);

/*
 * Decide what violation v does. `known` should hold every OPEN incident
 * whose dedupe string equals incident_dedupe(plan, v) and any incident
 * whose client tokens include v->violation_id (more is fine: all open
 * incidents). Only in-alarm events that are not suppressed and not
 * FALSE_POSITIVE/BENIGN_POSITIVE start or join; resolved incidents never
 * absorb; cleared/invalidated events are recorded in the open incident and
 * start nothing. *index is set for JOIN, RECORD and DUPLICATE.
 */
enum incident_route incident_route(const struct response_plan *plan,
                                   const struct incident_violation *v,
                                   struct incident *const *known, size_t nknown, size_t *index);

/*
 * Start an incident from violation v: id cordon:incident/{plan}/{uuid},
 * title/summary/impact/tags/notification targets from the plan's template,
 * related items (the plan's link templates, the thing as INVOLVED_RESOURCE),
 * trigger event in the timeline. Appends effects: one ENGAGE per plan
 * engagement, one RUNBOOK if the plan has one (parameters resolved), one
 * NOTIFY per notification target. inc must be freshly initialised.
 * Returns 0, CORDON_ENOMEM, or CORDON_EINVAL (plan template broken, random
 * source failed).
 */
int incident_start(struct incident *inc, const struct response_plan *plan,
                   const struct incident_violation *v, const struct incident_env *env,
                   int64_t now_ms, const struct incident_random *rnd, struct incident_effects *fx);

/* A manual start (API/CLI/console): title/impact override when non-NULL/non-zero. */
int incident_start_manual(struct incident *inc, const struct response_plan *plan, const char *title,
                          int impact, const char *created_by, const struct incident_env *env,
                          int64_t now_ms, const struct incident_random *rnd,
                          struct incident_effects *fx);

/* Merge in-alarm v into an OPEN incident: thing added as involved resource
 * (if new), a merge event, notify. CORDON_ESTATE if resolved, CORDON_EEXIST
 * on an exact retry (token already seen; nothing changes). */
int incident_join(struct incident *inc, const struct incident_violation *v, int64_t now_ms,
                  const struct incident_random *rnd, struct incident_effects *fx);

/* Write a cleared/invalidated event into the incident's timeline. */
int incident_record(struct incident *inc, const struct incident_violation *v, int64_t now_ms,
                    const struct incident_random *rnd);

/* Add a timeline event; data may be NULL; refs_json may be NULL (array text).
 * event_id_out (size 37) may be NULL. */
int incident_event_add(struct incident *inc, const char *type, const char *data,
                       const char *refs_json, int64_t now_ms, const struct incident_random *rnd,
                       char *event_id_out);
/* Edit or delete a user event (Custom Event / Note only: else CORDON_ESTATE). */
int incident_event_update(struct incident *inc, const char *event_id, const char *data,
                          int64_t now_ms);
int incident_event_delete(struct incident *inc, const char *event_id);

/* A user note (type Note). */
int incident_note(struct incident *inc, const char *who, const char *text, int64_t now_ms,
                  const struct incident_random *rnd);

/* Fields to change; NULL / 0 / -1 = unchanged. */
struct incident_update {
    const char *title;
    const char *summary;
    int impact; /* 1..5, 0 = unchanged */
    int status; /* INCIDENT_OPEN / INCIDENT_RESOLVED, -1 = unchanged */
};

/*
 * Apply an update by `who`: writes an SSM Incident Record Update event with
 * the changed fields, sets lastModified; RESOLVED sets resolvedTime and
 * appends STOP_ENGAGEMENTS; notifies targets. CORDON_EINVAL for bad values.
 */
int incident_update(struct incident *inc, const struct incident_update *u, const char *who,
                    int64_t now_ms, const struct incident_random *rnd, struct incident_effects *fx);
/* Shorthand for status RESOLVED. CORDON_ESTATE when already resolved. */
int incident_resolve(struct incident *inc, const char *who, int64_t now_ms,
                     const struct incident_random *rnd, struct incident_effects *fx);

/* Feedback from the daemon, each writes a system event. */
/* An essential acknowledgement; the first one sets acknowledged_ms (MTTA). */
int incident_note_ack(struct incident *inc, const char *contact, const char *channel,
                      const char *note, int64_t now_ms, const struct incident_random *rnd);
/* Quarantine of a thing: enforced=true sets contained_ms the first time. */
int incident_note_quarantine(struct incident *inc, const char *thing, bool enforced, int64_t now_ms,
                             const struct incident_random *rnd);
int incident_note_release(struct incident *inc, const char *thing, int64_t now_ms,
                          const struct incident_random *rnd);
/* A runbook step outcome (status: Success, Failed, Waiting, ...). */
int incident_note_runbook(struct incident *inc, const char *execution_id, const char *step,
                          const char *status, const char *message, int64_t now_ms,
                          const struct incident_random *rnd);

/* Related items: add (CORDON_EEXIST on same type+value), remove by id. */
int incident_item_add(struct incident *inc, enum incident_item_type type, const char *title,
                      const char *value, bool is_url, const struct incident_random *rnd);
int incident_item_remove(struct incident *inc, const char *item_id);
/* Thing names of INVOLVED_RESOURCE items, as a new JSON array of strings. */
json_t *incident_involved_things(const struct incident *inc);

/* Listing filter: AND across fields; zero fields match everything. */
struct incident_filter {
    unsigned status_mask;   /* bit (1 << status); 0 = any */
    unsigned impact_mask;   /* bit (1 << impact); 0 = any */
    int64_t created_after;  /* strictly after; 0 = none */
    int64_t created_before; /* strictly before; 0 = none */
    const char *plan;       /* NULL = any */
    const char *created_by; /* NULL = any */
};
bool incident_filter_match(const struct incident_filter *f, const struct incident *inc);

/* JSON for storage and the API (timeline included). New reference or NULL. */
json_t *incident_to_json(const struct incident *inc);
/* Decode; inc must be initialised. CORDON_EINVAL with diag on bad input. */
int incident_from_json(struct incident *inc, const json_t *v, struct cordon_diag *diag);

/* Format a time in ms as ISO 8601 UTC ("2026-01-02T03:04:05.678Z") into out (size ≥ 32). */
void incident_time_iso(int64_t ms, char *out, size_t n);
/* A uuid v4 string (size 37) from the caller's random source. */
int incident_uuid(const struct incident_random *rnd, char *out);

#endif
