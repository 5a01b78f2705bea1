/*
 * detect.h — the detect engine: the loaded security profiles and the state
 * of every (thing, behavior). cordond feeds it decoded reports (and
 * cloud-side datapoints from the broker plugin) and gets violation events.
 *
 * Spec: shared/reference/device-defender-spec.md §4–§6.
 * Docs: docs/detect.md ("Engine").
 *
 * Pure: no I/O, no clock (now_ms is an argument), no globals, no threads.
 * Ownership: the caller allocates struct detect (stack or embedded) and
 * calls detect_init()/detect_free(). Events are appended to a caller-owned
 * struct detect_events; an event copies the thing name, points into the
 * profile set (profile, behavior: valid until the set is freed, see
 * detect_set_profiles) and into the report it came from (metric value
 * lists: valid until that report is reused).
 */
#ifndef CORDON_DETECT_H
#define CORDON_DETECT_H

#include "buf.h"
#include "cordon.h"
#include "metric.h"
#include "profile.h"
#include "report.h"
#include "violation.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits and defaults (docs/detect.md) ------------------------------ */
#define DETECT_SILENCE_DEFAULT_MS (2LL * 24 * 3600 * 1000) /* invalidate after 2 days silent */
#define DETECT_STAT_POOL_MAX      4096 /* datapoints kept per statistical behavior */
#define DETECT_STAT_EXACT_MAX     256  /* pools up to this size: percentile at every datapoint */
#define DETECT_STAT_REFRESH_MS    1000 /* larger pools: recomputed at most this often */
#define DETECT_STATE_JSON_MAX     (1 << 20) /* exported state of one thing */
#define DETECT_ML_WARMUP          30        /* datapoints before an ML baseline is ACTIVE */

struct detect_options {
    int64_t silence_ms;  /* 0 = DETECT_SILENCE_DEFAULT_MS */
    uint8_t id_seed[16]; /* random, fresh at each start: seeds violation ids */
};

/* The thing a report is about. groups: its thing group names (the engine
 * does not keep them). */
struct detect_thing {
    const char *name;
    const char *const *groups;
    size_t ngroups;
    bool registered;
};

struct detect_event {
    enum violation_event_type type;
    char violation_id[VIOLATION_ID_LEN + 1];
    char thing[THING_NAME_MAX + 1];
    const struct profile *profile;
    const struct behavior *behavior;
    int64_t time_ms;        /* violationEventTime */
    int64_t alarm_since_ms; /* when the violation started */
    bool has_value;         /* metricValue present (not for invalidations) */
    struct metric_datapoint value;
    bool suppressed; /* behavior.suppressAlerts: store, do not alert */
    enum violation_verification verification;
    enum behavior_confidence confidence; /* ML only */
    const char *response_plan;           /* behavior's, else profile's; NULL = none */
};

/* A growable event list, owned by the caller. The engine only grows it when
 * full (rare); keep it across calls and detect_events_reset() it. */
struct detect_events {
    struct detect_event *v;
    size_t n;
    size_t cap;
};

void detect_events_init(struct detect_events *ev);
void detect_events_reset(struct detect_events *ev);
void detect_events_free(struct detect_events *ev);

struct detect_slot;
struct detect_thing_state;
struct detect_metric_index;

/* The engine. Fields are private. */
struct detect {
    struct profile_set set;
    struct detect_slot *slots; /* one per evaluated behavior of every profile */
    size_t nslots;
    size_t *profile_first;                 /* first slot of profile i */
    struct detect_metric_index *by_metric; /* slots per metric */
    size_t nby_metric;
    struct detect_thing_state *things; /* uthash by name */
    size_t nthings;
    uint8_t *targeted; /* scratch: per profile */
    double *scratch;   /* scratch: percentile computation */
    struct violation_idgen idgen;
    int64_t silence_ms;
};

/* Init an empty engine (no profiles). Returns 0. */
int detect_init(struct detect *d, const struct detect_options *opts);
/* Release everything, including the current profile set. */
void detect_free(struct detect *d);

/*
 * Replace the profile set (initial load and config reload). The engine
 * takes set's content (set is left empty). State of behaviors whose
 * definition is unchanged (same profile name, behavior name, equal
 * behavior) is kept; alarms of removed or changed behaviors and profiles
 * are invalidated (events appended to ev). The previous set is moved to
 * *old: the caller frees it (profile_set_free) once it has handled the
 * events, which point into it. Returns 0 or CORDON_ENOMEM (engine unchanged).
 */
int detect_set_profiles(struct detect *d, struct profile_set *set, int64_t now_ms,
                        struct detect_events *ev, struct profile_set *old);

/* The current profile set (read only). */
const struct profile_set *detect_profiles(const struct detect *d);

/* The custom-metric lookup to use when decoding reports: hand
 * metric_custom_lookup and the catalog to report_decode_opts. */

/*
 * Evaluate one accepted report of thing t at now_ms: every behavior of every
 * profile that targets t and whose metric the report carries gets one
 * datapoint. Alarms of profiles that no longer target t are invalidated.
 * Events are appended to ev. No allocation once the thing has been seen
 * (except growing a full ev). Returns 0 or CORDON_ENOMEM.
 */
int detect_eval_report(struct detect *d, const struct detect_thing *t, const struct report *r,
                       int64_t now_ms, struct detect_events *ev);

/*
 * Evaluate one datapoint of a metric (cloud-side metrics from the broker
 * plugin, or any metric given directly). dimension is the dimension name
 * the value was counted under (NULL = none): behaviors with a
 * metricDimension only take datapoints of that dimension, the others only
 * datapoints without one. Returns 0, CORDON_ENOTFOUND (unknown metric) or
 * CORDON_ENOMEM.
 */
int detect_eval_metric(struct detect *d, const struct detect_thing *t, const char *metric,
                       const char *dimension, const struct metric_datapoint *dp, int64_t now_ms,
                       struct detect_events *ev);

/*
 * The thing's groups or registration changed: invalidate alarms of profiles
 * that no longer target it. Returns 0.
 */
int detect_thing_retarget(struct detect *d, const struct detect_thing *t, int64_t now_ms,
                          struct detect_events *ev);

/* The thing was deleted: invalidate its alarms and drop its state.
 * Returns 0 or CORDON_ENOTFOUND. */
int detect_thing_remove(struct detect *d, const char *name, int64_t now_ms,
                        struct detect_events *ev);

/*
 * Periodic: invalidate alarms whose behavior had no datapoint for longer
 * than the silence period. Call it every minute or so. Returns 0.
 */
int detect_sweep(struct detect *d, int64_t now_ms, struct detect_events *ev);

/*
 * Set the verification state of an active violation of thing (by id).
 * Returns 0 or CORDON_ENOTFOUND (not active: the store keeps the history).
 */
int detect_set_verification(struct detect *d, const char *thing, const char *violation_id,
                            enum violation_verification v);

/* Number of things with state; the active alarms of one thing. */
size_t detect_thing_count(const struct detect *d);
size_t detect_active_alarms(const struct detect *d, const char *thing);

/*
 * Append the event as the Device Defender alert JSON (spec §6.2):
 * {"violationEventTime":…,"thingName":…,"securityProfileName":…,
 *  "behavior":{…},"violationEventType":…,"metricValue":{…}?,
 *  "violationId":…,"verificationState":…,
 *  "violationEventAdditionalInfo":{"confidenceLevel":…}?}
 * Returns 0, CORDON_ETOOBIG or CORDON_ENOMEM.
 */
int detect_event_json(const struct detect_event *e, struct buf *out);

/* Append a datapoint as a Device Defender MetricValue object ({"ports":[…]}). */
int detect_value_json(const struct metric_datapoint *dp, struct buf *out);

/*
 * Export the state of one thing as JSON (docs/detect.md "State export"):
 * {"thing":…,"behaviors":[{"profile":…,"behavior":…,"inAlarm":…,
 *  "badStreak":…,"goodStreak":…,"lastDatapoint":…,"alarmSince":…,
 *  "violationId":…,"verification":…,"window"?:{…},"ml"?:{…}}]}
 * Returns 0, CORDON_ENOTFOUND, CORDON_ETOOBIG or CORDON_ENOMEM.
 */
int detect_thing_export(const struct detect *d, const char *thing, struct buf *out);

/*
 * Restore a thing's state from detect_thing_export() output (after a
 * restart, once the profiles are set). Entries of behaviors that no longer
 * exist are ignored. Returns 0, CORDON_EINVAL (diag) or CORDON_ENOMEM.
 */
int detect_thing_import(struct detect *d, const char *json, size_t len, struct cordon_diag *diag);

/* Call fn for every thing with state (for exporting all). */
void detect_thing_foreach(const struct detect *d, void (*fn)(void *ctx, const char *thing),
                          void *ctx);

/* ML model status of a behavior for a thing (spec §5). */
enum detect_ml_status {
    DETECT_ML_PENDING_BUILD = 1, /* fewer than DETECT_ML_WARMUP datapoints */
    DETECT_ML_ACTIVE = 2,
};

/*
 * The ML model status of (thing, profile, behavior); *datapoints (may be
 * NULL) gets the datapoints learned. Returns a DETECT_ML_* value or
 * CORDON_ENOTFOUND (no such ML behavior).
 */
int detect_ml_status(const struct detect *d, const char *thing, const char *profile,
                     const char *behavior, uint32_t *datapoints);

/* Bytes of state per (thing, rule behavior), for bench-detect. */
size_t detect_state_bytes(void);

#endif
