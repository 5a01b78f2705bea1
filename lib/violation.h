/*
 * violation.h — the violation state machine of one (thing, profile,
 * behavior): consecutive datapoints to alarm and to clear, the violation id,
 * invalidation, and the verification state.
 *
 * Spec: shared/reference/device-defender-spec.md §4.4 (pseudocode), §6.
 * Docs: docs/detect.md ("Violations").
 *
 * The state is a small plain struct (sizeof is printed by bench-detect)
 * with no pointers, so the engine keeps an array of them per thing and can
 * export it as is.
 */
#ifndef CORDON_VIOLATION_H
#define CORDON_VIOLATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIOLATION_ID_LEN 36 /* UUID text, without the NUL */

enum violation_event_type {
    VIOLATION_NONE = 0, /* no transition */
    VIOLATION_IN_ALARM,
    VIOLATION_ALARM_CLEARED,
    VIOLATION_ALARM_INVALIDATED,
};

enum violation_verification {
    VIOLATION_UNKNOWN = 0,
    VIOLATION_TRUE_POSITIVE,
    VIOLATION_BENIGN_POSITIVE,
    VIOLATION_FALSE_POSITIVE,
};

struct violation_state {
    int64_t last_datapoint_ms; /* 0 = no datapoint yet */
    int64_t alarm_since_ms;    /* time of the in-alarm event; 0 when not in alarm */
    uint8_t id[16];            /* current (or last) violation id */
    uint8_t in_alarm;
    uint8_t bad_streak;   /* consecutive violating datapoints (saturates at 255) */
    uint8_t good_streak;  /* consecutive compliant datapoints (saturates at 255) */
    uint8_t verification; /* enum violation_verification of the current violation */
};

/*
 * Violation ids: 128-bit values derived from a caller-given random seed and
 * a counter (libcordon has no RNG). The same seed and counter give the same
 * id; give a fresh random seed at each start. Ids print as UUID version 4.
 */
struct violation_idgen {
    uint64_t k0, k1;
    uint64_t counter;
};

void violation_idgen_init(struct violation_idgen *g, const uint8_t seed[16]);
void violation_idgen_next(struct violation_idgen *g, uint8_t out[16]);

/* Write the id as "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" + NUL into out[37]. */
void violation_id_format(const uint8_t id[16], char out[VIOLATION_ID_LEN + 1]);
/* Parse a UUID text back; returns 0 or -1. */
int violation_id_parse(const char *s, size_t len, uint8_t id[16]);

void violation_state_init(struct violation_state *s);

/*
 * Feed one datapoint (violating or not) at now_ms. Returns VIOLATION_IN_ALARM
 * (a new id is drawn from g), VIOLATION_ALARM_CLEARED (same id) or
 * VIOLATION_NONE.
 */
enum violation_event_type violation_datapoint(struct violation_state *s, bool violating,
                                              uint8_t to_alarm, uint8_t to_clear, int64_t now_ms,
                                              struct violation_idgen *g);

/*
 * Invalidate: when in alarm, leave the alarm and return
 * VIOLATION_ALARM_INVALIDATED; else VIOLATION_NONE. Streaks are reset.
 */
enum violation_event_type violation_invalidate(struct violation_state *s);

/* True when in alarm and the last datapoint is older than silence_ms. */
bool violation_silent(const struct violation_state *s, int64_t now_ms, int64_t silence_ms);

const char *violation_event_type_name(enum violation_event_type t);
const char *violation_verification_name(enum violation_verification v);
/* Parse "UNKNOWN" … "FALSE_POSITIVE"; returns the value or -1. */
int violation_verification_parse(const char *s, size_t len);

#endif
