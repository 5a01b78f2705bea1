/*
 * engagement.h — paging and escalation state machine of one incident
 * (incident-response-spec.md §11, §12, §14, §18; seed-scenario.md §2.9).
 *
 * One struct engagement holds every engagement ("run") of one incident:
 * each run engages a contact from the response plan — an escalation plan
 * (stages of contacts) or a personal contact (treated as a one-stage plan
 * whose only target is that contact, essential). Engaging a personal
 * contact schedules its pages: for each stage of its plan and each channel
 * target, attempt 0 at the stage's start and retries every
 * retryInterval while inside the stage's duration, at most
 * CONTACT_RETRIES_MAX per channel per stage.
 *
 * Pure: time is now_ms, randomness comes from the caller. Every call that
 * changes state appends effects the caller executes:
 *   PAGE          send this page (idempotency key inside); store first
 *   WAKE          call engagement_tick at due_ms (-1 = no timer); one timer
 *                 per engagement, key = "engagement:{incident id}"; a later
 *                 WAKE replaces the earlier one
 *   TIMELINE      append this event to the incident (incident_event_add)
 *   ACKNOWLEDGED  first essential ack: incident_note_ack (sets MTTA)
 * Store the state (engagement_to_json) and the effects in one transaction.
 * After a crash, reload the state and call engagement_tick(now): overdue
 * stage timers fire exactly once; overdue attempts of one channel in one
 * stage collapse into one page; a page already emitted is never emitted
 * again. Rules and timers: docs/paging.md.
 */
#ifndef CORDON_ENGAGEMENT_H
#define CORDON_ENGAGEMENT_H

#include "buf.h"
#include "contact.h"
#include "cordon.h"
#include "incident.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define ENGAGEMENT_RUNS_MAX            10 /* engaged contacts per incident (plan allows 5 + manual) */
#define ENGAGEMENT_PAGES_MAX           4096 /* scheduled pages per incident */
#define ENGAGEMENT_ACKS_MAX            100  /* acknowledgement records per incident */
#define ENGAGEMENT_PAGE_ID_MAX         800
#define ENGAGEMENT_TOKEN_BYTES         24 /* link token: 192 bits, 48 hex characters */
#define ENGAGEMENT_TOKEN_MAX           (ENGAGEMENT_TOKEN_BYTES * 2)
#define ENGAGEMENT_NOTE_MAX            1000
#define ENGAGEMENT_URL_MAX             2000
#define ENGAGEMENT_SMS_MAX             320 /* short text for SMS (two segments) */
#define ENGAGEMENT_DEFAULT_CODE_DIGITS 8

enum engagement_page_state {
    ENGAGEMENT_PAGE_PENDING,   /* scheduled, not yet due */
    ENGAGEMENT_PAGE_SENT,      /* emitted as a PAGE effect */
    ENGAGEMENT_PAGE_CANCELLED, /* stopped by an ack, stop or exhaustion */
    ENGAGEMENT_PAGE_SKIPPED,   /* channel missing or not activated when due */
    ENGAGEMENT_PAGE_COALESCED, /* overdue attempt merged into a later one */
};

struct engagement_page {
    char
        id[ENGAGEMENT_PAGE_ID_MAX + 1]; /* p/{run}/{stage}/{contact}/{pstage}/{channel}/{attempt} */
    size_t run;
    int stage;   /* escalation stage, 0-based */
    int pstage;  /* personal plan stage, 0-based */
    int attempt; /* 0 = first page, 1..3 = retries */
    char contact[CONTACT_ALIAS_MAX + 1];
    char channel[CONTACT_CHANNEL_NAME_MAX + 1];
    int64_t due_ms;
    int64_t sent_ms;
    enum engagement_page_state state;
    char accept_code[CONTACT_CODE_MAX + 1];
    char link_token[ENGAGEMENT_TOKEN_MAX + 1];
};

enum engagement_run_state {
    ENGAGEMENT_RUN_ACTIVE,
    ENGAGEMENT_RUN_ACKNOWLEDGED, /* an essential ack ended it */
    ENGAGEMENT_RUN_EXHAUSTED,    /* final stage over, not acknowledged; stays open, no pages */
    ENGAGEMENT_RUN_STOPPED,      /* engagement_stop (incident resolved, manual) */
};

struct engagement_run {
    char contact[CONTACT_ALIAS_MAX + 1]; /* the engaged alias from the plan */
    bool escalation;                     /* contact is an ESCALATION plan */
    enum engagement_run_state state;
    int stage;        /* current escalation stage, -1 before the first */
    uint32_t engaged; /* bit i: stage i engaged */
    int64_t started_ms, stopped_ms;
    bool timer;           /* stage_end_ms is armed */
    int64_t stage_end_ms; /* when the current stage ends */
    size_t nstages;       /* snapshot of the plan taken at start */
    struct contact_stage stages[CONTACT_STAGES_MAX];
};

enum engagement_ack_via {
    ENGAGEMENT_ACK_CODE, /* accept code: SMS reply, voice keypad, console, `cordon ack` */
    ENGAGEMENT_ACK_LINK, /* one-click link token from the email */
    ENGAGEMENT_ACK_API,  /* by contact, from API/console */
};

struct engagement_ack {
    char contact[CONTACT_ALIAS_MAX + 1];
    char channel[CONTACT_CHANNEL_NAME_MAX + 1]; /* "" when by API without a page */
    char page_id[ENGAGEMENT_PAGE_ID_MAX + 1];
    char who[INCIDENT_WHO_MAX + 1]; /* authenticated user for API acks, else the contact */
    char note[ENGAGEMENT_NOTE_MAX + 1];
    enum engagement_ack_via via;
    bool essential;
    int64_t time_ms;
};

/* What the pages say about the incident (snapshot; refresh with engagement_set_brief). */
struct engagement_brief {
    char incident_id[INCIDENT_ID_MAX + 1];
    char title[INCIDENT_TITLE_MAX + 1];
    int impact;
    char summary[1001]; /* first 1000 characters of the summary */
    char links[4096];   /* related-item lines "title: url\n" */
};

struct engagement {
    struct engagement_brief brief;
    char ack_url_template[ENGAGEMENT_URL_MAX + 1]; /* "{{token}}" replaced; appended if absent */
    int code_digits;                               /* accept code length, 6..10 */
    bool acknowledged;                             /* an essential ack happened */
    int64_t acknowledged_ms;
    size_t nruns;
    struct engagement_run runs[ENGAGEMENT_RUNS_MAX];
    size_t npages, apages;
    struct engagement_page *pages;
    size_t nacks;
    struct engagement_ack acks[ENGAGEMENT_ACKS_MAX];
};

enum engagement_effect_type {
    ENGAGEMENT_EFFECT_PAGE,
    ENGAGEMENT_EFFECT_WAKE,
    ENGAGEMENT_EFFECT_TIMELINE,
    ENGAGEMENT_EFFECT_ACKNOWLEDGED,
};

struct engagement_effect {
    enum engagement_effect_type type;
    /* PAGE */
    char *page_id; /* unique within the incident */
    char *
        idempotency_key; /* {incident}#{page_id} = (engagement, stage, contact, channel, attempt) */
    char *incident_id;
    char *contact;
    char *channel;
    enum contact_channel_type channel_type;
    enum contact_webhook_format webhook_format;
    char *address;
    int stage, pstage, attempt; /* stage is 1-based here, as shown to people */
    char accept_code[CONTACT_CODE_MAX + 1];
    char link_token[ENGAGEMENT_TOKEN_MAX + 1];
    char *ack_url;
    char *subject; /* EMAIL / VOICE full text */
    char *body;
    char *short_text;   /* SMS */
    char *voice_text;   /* VOICE: spoken text ("press 1", code digit by digit) */
    char *webhook_json; /* WEBHOOK body in the channel's format */
    /* WAKE */
    int64_t due_ms; /* -1 = no timer needed */
    char *key;
    /* TIMELINE: event_type + event_data (JSON) */
    char *event_type;
    char *event_data;
    /* ACKNOWLEDGED: contact, channel (may be ""), time */
    int64_t time_ms;
};

struct engagement_effects {
    size_t n, alloc;
    struct engagement_effect *items;
};

void engagement_effects_init(struct engagement_effects *fx);
void engagement_effects_free(struct engagement_effects *fx);

/* Zero an engagement; then engagement_open. engagement_free releases it. */
void engagement_init(struct engagement *e);
void engagement_free(struct engagement *e);

/*
 * Bind to an incident: copy what pages show (title, impact, summary,
 * related-item links), the ack URL template (e.g.
 * "https://cordon.example/ack/{{token}}") and the accept code length
 * (0 = ENGAGEMENT_DEFAULT_CODE_DIGITS). Call once before engagement_start.
 */
int engagement_open(struct engagement *e, const struct incident *inc, const char *ack_url_template,
                    int code_digits);
/* Refresh the incident snapshot after title/impact/summary changes. */
void engagement_set_brief(struct engagement *e, const struct incident *inc);

/*
 * Engage contact `alias` (escalation plan or personal contact, looked up in
 * book) at now_ms: stage 1 starts, due pages are emitted. CORDON_ENOTFOUND
 * when the alias is not in the book, CORDON_EEXIST when already engaged,
 * CORDON_ESTATE after an essential ack or stop, CORDON_ETOOBIG past
 * ENGAGEMENT_RUNS_MAX.
 */
int engagement_start(struct engagement *e, const char *alias, const struct contact_book *book,
                     int64_t now_ms, const struct incident_random *rnd,
                     struct engagement_effects *fx);

/*
 * Advance to now_ms: emit every due page (in time order), engage the next
 * stage of each run whose stage ended without an essential ack, exhaust
 * runs whose final stage ended. Idempotent: calling it again at the same or
 * an earlier time emits nothing new. Always ends with one WAKE effect.
 * Also the recovery entry point after a restart.
 */
int engagement_tick(struct engagement *e, const struct contact_book *book, int64_t now_ms,
                    const struct incident_random *rnd, struct engagement_effects *fx);
#define engagement_recover engagement_tick

/* Earliest pending page or stage end, or -1 when nothing is scheduled. */
int64_t engagement_next_wake(const struct engagement *e);

/*
 * Acknowledge. By the accept code of a sent page, by a page's link token
 * (single use), or by contact alias (API; channel may be NULL; who names the
 * authenticated user). Stops every pending page and retry of that contact;
 * an essential ack (the contact is essential in a run, or the run has no
 * essential target) stops every run of the incident and, the first time,
 * emits ACKNOWLEDGED. Records who, when, channel, note; emits TIMELINE.
 * CORDON_ENOTFOUND for an unknown code/token/contact, CORDON_EEXIST when that
 * contact already acknowledged (nothing recorded). *essential_out may be NULL.
 */
int engagement_ack_code(struct engagement *e, const char *code, const char *note, int64_t now_ms,
                        struct engagement_effects *fx, bool *essential_out);
int engagement_ack_token(struct engagement *e, const char *token, const char *note, int64_t now_ms,
                         struct engagement_effects *fx, bool *essential_out);
int engagement_ack_contact(struct engagement *e, const char *contact, const char *channel,
                           const char *who, const char *note, int64_t now_ms,
                           struct engagement_effects *fx, bool *essential_out);

/*
 * Manual escalation (§18) of the run that engaged `alias`: escalate engages
 * the next stage now; engage_stage engages stage `stage` (1-based) now.
 * The stage timer restarts from now. CORDON_ESTATE when the run is not
 * active or (escalate) at its final stage; CORDON_EEXIST when that stage
 * was already engaged; CORDON_ERANGE for a stage outside the plan.
 */
int engagement_escalate(struct engagement *e, const char *alias, const struct contact_book *book,
                        int64_t now_ms, const struct incident_random *rnd,
                        struct engagement_effects *fx);
int engagement_engage_stage(struct engagement *e, const char *alias, int stage,
                            const struct contact_book *book, int64_t now_ms,
                            const struct incident_random *rnd, struct engagement_effects *fx);

/* Stop every run (incident resolved, manual stop): pending pages cancelled. */
int engagement_stop(struct engagement *e, const char *reason, int64_t now_ms,
                    struct engagement_effects *fx);

/*
 * Whether a page emitted earlier should still be delivered: false once its
 * contact acknowledged or its run ended. The daemon asks before sending an
 * outbox row, so an ack also stops pages emitted but not yet delivered.
 */
bool engagement_page_live(const struct engagement *e, const char *page_id);

/* Find a sent page by accept code / link token (NULL if none). */
const struct engagement_page *engagement_page_by_code(const struct engagement *e, const char *code);
const struct engagement_page *engagement_page_by_token(const struct engagement *e,
                                                       const char *token);

/* Whole state as JSON for the store; decode restores it exactly. Holds the
 * accept codes and link tokens: never serve it through the API. */
json_t *engagement_to_json(const struct engagement *e);
/* The API/console view: runs (Engaged / Acknowledged / ...), pages without
 * codes or tokens, ack records. New reference or NULL. */
json_t *engagement_to_public_json(const struct engagement *e);
int engagement_from_json(struct engagement *e, const json_t *v, struct cordon_diag *diag);

const char *engagement_run_state_name(enum engagement_run_state s);
const char *engagement_page_state_name(enum engagement_page_state s);

#endif
