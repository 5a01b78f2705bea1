/*
 * analysis.h — post-incident analysis (incident-response-spec.md §15–§16,
 * seed-scenario.md §4): created from a resolved incident with the default
 * question template, prefilled overview and measured durations, recommended
 * action items and a checklist; exported as Markdown. Also MTTA/MTTR
 * aggregates over a set of incidents.
 *
 * Durations come from the incident's timestamps, which its timeline events
 * set: creation, first violating datapoint (from the trigger),
 * acknowledged (incident_note_ack), contained (incident_note_quarantine with
 * enforced), resolved. Format: docs/incidents.md.
 */
#ifndef CORDON_ANALYSIS_H
#define CORDON_ANALYSIS_H

#include "buf.h"
#include "cordon.h"
#include "incident.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define ANALYSIS_ACTIONS_MAX   50
#define ANALYSIS_CHECKS_MAX    50
#define ANALYSIS_QUESTIONS_MAX 32
#define ANALYSIS_TEXT_MAX      500
#define ANALYSIS_ANSWER_MAX    8000
#define ANALYSIS_MARKDOWN_MAX  (4 * 1024 * 1024)

enum analysis_action_status {
    ANALYSIS_ACTION_PROPOSED, /* recommended; accept or dismiss */
    ANALYSIS_ACTION_OPEN,
    ANALYSIS_ACTION_IN_PROGRESS,
    ANALYSIS_ACTION_DONE,
    ANALYSIS_ACTION_DISMISSED,
};

struct analysis_action {
    char title[ANALYSIS_TEXT_MAX + 1];
    char owner[INCIDENT_WHO_MAX + 1];
    int64_t due_ms; /* 0 = none */
    enum analysis_action_status status;
};

struct analysis_check {
    char text[ANALYSIS_TEXT_MAX + 1];
    bool done;
};

struct analysis_question {
    char group[16]; /* Detection | Diagnosis | Mitigation | Prevention */
    char text[ANALYSIS_TEXT_MAX + 1];
    char *answer; /* NULL until answered */
};

/* -1 = not measured */
struct analysis_metrics {
    int64_t detect_ms;  /* first violating datapoint → incident */
    int64_t ack_ms;     /* incident → first acknowledgement (TimeToFirstAcknowledgement) */
    int64_t contain_ms; /* incident → quarantine enforced */
    int64_t resolve_ms; /* incident → resolved (TimeToResolveIncident) */
};

struct analysis {
    char incident_id[INCIDENT_ID_MAX + 1];
    char title[INCIDENT_TITLE_MAX + 1];
    int impact;
    char plan[RESPONSE_PLAN_NAME_MAX + 1];
    char thing[256], profile[256], behavior[256], metric[256];
    char *metric_value; /* JSON text or NULL */
    char runbook_outcome[ANALYSIS_TEXT_MAX + 1];
    int64_t first_datapoint_ms, created_ms, acknowledged_ms, contained_ms, resolved_ms;
    struct analysis_metrics metrics;
    json_t *timeline; /* array copied from the incident */
    size_t nquestions;
    struct analysis_question questions[ANALYSIS_QUESTIONS_MAX];
    size_t nactions;
    struct analysis_action actions[ANALYSIS_ACTIONS_MAX];
    size_t nchecks;
    struct analysis_check checks[ANALYSIS_CHECKS_MAX];
};

void analysis_init(struct analysis *a);
void analysis_free(struct analysis *a);

/*
 * Create from a RESOLVED incident (CORDON_ESTATE otherwise). runbook_outcome
 * may be NULL: then the last runbook timeline event gives it. Fills the
 * overview, metrics, timeline copy, the default questions (§15), recommended
 * action items (status PROPOSED) and the default checklist.
 */
int analysis_from_incident(struct analysis *a, const struct incident *inc,
                           const char *runbook_outcome);

/* Measured durations of one incident (no analysis needed). */
void analysis_metrics_of(const struct incident *inc, struct analysis_metrics *m);

int analysis_answer(struct analysis *a, size_t question, const char *answer);
int analysis_action_add(struct analysis *a, const char *title, const char *owner, int64_t due_ms,
                        enum analysis_action_status status);
int analysis_action_set(struct analysis *a, size_t index, const char *owner, int64_t due_ms,
                        enum analysis_action_status status);
int analysis_check_add(struct analysis *a, const char *text);
int analysis_check_set(struct analysis *a, size_t index, bool done);
/* Checklist items not done plus action items still PROPOSED/OPEN/IN_PROGRESS
 * without an owner: closing with any of them should warn (§15). */
size_t analysis_open_items(const struct analysis *a);

/* Markdown export: Overview, Metrics, Timeline, Questions, Actions, Checklist. */
int analysis_to_markdown(const struct analysis *a, struct buf *out);
json_t *analysis_to_json(const struct analysis *a);
int analysis_from_json(struct analysis *a, const json_t *v, struct cordon_diag *diag);

const char *analysis_action_status_name(enum analysis_action_status s);

/* Aggregates (§16) over incidents matching filter (NULL = all). */
struct analysis_stats {
    size_t created;  /* NumberOfCreateIncidents */
    size_t resolved; /* NumberOfResolveIncidents */
    size_t acknowledged;
    size_t contained;
    double mtta_s; /* mean TimeToFirstAcknowledgement, seconds; 0 when none */
    double mttr_s; /* mean TimeToResolveIncident */
    double mttd_s; /* mean time to detect */
    double mttc_s; /* mean time to contain */
};
void analysis_aggregate(struct incident *const *incidents, size_t n,
                        const struct incident_filter *filter, struct analysis_stats *out);

/* "125 s (2 min 5 s)" style text for a duration in ms; "not measured" for < 0. */
void analysis_duration_text(int64_t ms, char *out, size_t n);

#endif
