/*
 * registry.h — things, static thing groups and membership, held in memory
 * (uthash) and written through to the store. The QUARANTINED group is
 * special: membership equals quarantine at the broker, so adding or
 * removing a member also queues the quarantine / release control command
 * (broker.h) in the same transaction.
 */
#ifndef CORDOND_REGISTRY_H
#define CORDOND_REGISTRY_H

#include "report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uthash.h>
#include <uv.h>

struct server;

#define REGISTRY_QUARANTINED      "QUARANTINED"
#define REGISTRY_THING_GROUPS_MAX 32 /* groups one thing can belong to */
#define REGISTRY_GROUP_NAME_MAX   128
#define REGISTRY_ATTRIBUTES_MAX   8192 /* bytes of a thing's attributes JSON */

struct reg_group {
    char name[REGISTRY_GROUP_NAME_MAX + 1];
    char *description;
    char *attributes; /* JSON object text */
    int64_t created_at;
    size_t members;
    UT_hash_handle hh;
};

struct reg_thing {
    char name[THING_NAME_MAX + 1];
    char *attributes; /* JSON object text */
    int64_t created_at;
    int64_t last_report_id; /* -1 none */
    int64_t last_report_at; /* 0 none */
    bool registered;        /* false: seen in reports only (auto-create off) */
    bool report_dirty;      /* last_report_* not yet written to the things row */
    const char *groups[REGISTRY_THING_GROUPS_MAX]; /* names owned by reg_group */
    size_t ngroups;
    UT_hash_handle hh;
};

struct registry {
    struct reg_thing *things;
    struct reg_group *groups;
    size_t nthings;
    uv_timer_t flush;         /* writes last_report_* of dirty things, a slice per tick */
    struct reg_thing *cursor; /* next thing of the current pass; NULL = no pass running */
    int64_t pass_start;       /* when the current pass began */
    int64_t last_pass_start;
};

#define REGISTRY_FLUSH_MS      60000 /* a pass over every thing at most this often */
#define REGISTRY_FLUSH_TICK_MS 250   /* one slice per tick … */
#define REGISTRY_FLUSH_SLICE   500   /* … of at most this many things (bounds the loop stall) */

int registry_init(struct server *s);
void registry_free(struct server *s);

struct reg_thing *registry_thing(struct server *s, const char *name);
struct reg_group *registry_group(struct server *s, const char *name);
bool registry_thing_in(const struct reg_thing *t, const char *group);

/*
 * True when name is the broker's server identity (cfg broker.username, by
 * default "cordond"): no thing may take it, since the broker plugin grants
 * that identity every topic, $CONTROL included (docs/security.md).
 */
bool registry_name_reserved(const struct server *s, const char *name);

/*
 * Create thing name (registered: persisted; else memory only) with
 * attributes (JSON object text, NULL = {}). Returns 0 and *out,
 * CORDON_EEXIST, CORDON_EINVAL (bad name) or a store error.
 */
int registry_thing_create(struct server *s, const char *name, const char *attributes,
                          bool registered, struct reg_thing **out);
/* Delete a thing: memberships, credentials (the broker forgets them), detect state. */
int registry_thing_delete(struct server *s, const char *name);

/* attributes: JSON object text or NULL ({}) */
int registry_group_create(struct server *s, const char *name, const char *description,
                          const char *attributes);
/* CORDON_ENOTFOUND, CORDON_ESTATE for QUARANTINED. */
int registry_group_delete(struct server *s, const char *name);
int registry_group_update(struct server *s, const char *name, const char *description,
                          const char *attributes);

/*
 * Add / remove a membership. For QUARANTINED this quarantines / releases at
 * the broker (control command through the outbox, recorded as an action of
 * violation_id, "" for manual). Idempotent: 0 when already (not) a member.
 * Returns 0, CORDON_ENOTFOUND (group or thing), CORDON_ETOOBIG.
 */
int registry_member_add(struct server *s, const char *group, const char *thing,
                        const char *violation_id);
int registry_member_remove(struct server *s, const char *group, const char *thing,
                           const char *violation_id);

/* Shorthands for the QUARANTINED group; the thing is created when unknown. */
int registry_quarantine(struct server *s, const char *thing, const char *violation_id);
int registry_release(struct server *s, const char *thing, const char *violation_id);

/*
 * Record an accepted report. Hot path: memory only — the report's datapoint
 * row (same transaction) is the durable record; things rows are refreshed
 * by a pass every REGISTRY_FLUSH_MS (in slices) and at stop, and at start the registry takes the
 * newest datapoints since the last refresh into account.
 */
int registry_thing_report(struct server *s, struct reg_thing *t, int64_t report_id, int64_t at);

#endif
