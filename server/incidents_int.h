/*
 * incidents_int.h — what incidents.c shares with its API (api_incidents.c)
 * and page senders (paging.c). Internal to cordond.
 */
#ifndef CORDOND_INCIDENTS_INT_H
#define CORDOND_INCIDENTS_INT_H

#include "contact.h"
#include "engagement.h"
#include "incident.h"
#include "response_plan.h"

#include <stdbool.h>
#include <stdint.h>
#include <uthash.h>

struct server;
struct stack;

#define INCIDENTS_DOC_INCIDENT   "incident"
#define INCIDENTS_DOC_ENGAGEMENT "engagement"
#define INCIDENTS_DOC_ANALYSIS   "analysis"
#define INCIDENTS_DOC_CONTACT    "contact"
#define INCIDENTS_DOC_PLAN       "responsePlan"
#define INCIDENTS_TIMER_KIND     "engagement"
#define INCIDENTS_PAGE_KIND      "page"

/* One incident with its engagement state, keyed by the uuid tail of its id. */
struct inc_entry {
    char uuid[40];
    struct incident inc;
    struct engagement eng;
    bool has_eng;
    UT_hash_handle hh;
};

struct incidents {
    struct contact_book book;
    struct response_plan **plans;
    size_t nplans;
    struct inc_entry *all;
    /* counters for /metrics */
    uint64_t created, resolved, pages_sent, pages_failed, pages_dropped;
};

struct incidents *incidents_of(struct server *s);
/* Entry by uuid tail or full id (cordon:incident/PLAN/UUID, URL-decoded), or NULL. */
struct inc_entry *incidents_find(struct server *s, const char *id);
const struct response_plan *incidents_plan(struct server *s, const char *name);
/* Persist the entry's incident and engagement in the turn's transaction. */
int incidents_save(struct server *s, struct inc_entry *e);
/* Randomness for lib/ (libsodium). */
extern const struct incident_random incidents_rnd;
/* Execute engagement effects for e (outbox pages, timeline, ack, timer). */
void incidents_engagement_effects(struct server *s, struct inc_entry *e,
                                  struct engagement_effects *fx);
/* Execute incident effects for e (engage, runbook, notify, stop). */
void incidents_incident_effects(struct server *s, struct inc_entry *e, struct incident_effects *fx);
/* Start a manual incident from plan; *out = the new entry. */
int incidents_start_manual(struct server *s, const struct response_plan *plan, const char *title,
                           int impact, const char *who, struct inc_entry **out);
/* Persist one contact (with activation state). */
int incidents_contact_save(struct server *s, const struct contact *c);

/* Config as code (api_config.c): add copies of contacts, escalation plans
 * and response plans to st; replace them from a desired stack (validated:
 * escalation targets and plan engagements must name contacts). */
int incidents_stack_add(struct server *s, struct stack *st);
int incidents_stack_apply(struct server *s, const struct stack *want, char *err, size_t errlen);

/* Broker feedback (broker.c): a control command's outcome by its key. */
void incidents_on_control_result(struct server *s, const char *command, const char *key, bool ok);

/* Incident counters and MTTA/MTTR for GET /metrics (Prometheus text). */
struct buf;
void incidents_metrics_prom(struct server *s, struct buf *out);

/* paging.c */
int paging_init(struct server *s);
/* Send an activation code to a channel (not through the outbox: best effort). */
int paging_send_activation(struct server *s, const struct contact *c,
                           const struct contact_channel *ch, const char *code);

/* api_incidents.c */
int api_incidents_init(struct server *s);

#endif
