/*
 * detection.h — the detect engine (lib/detect.h) inside cordond: the
 * profile set (kept in the store as one YAML document, loaded at start and
 * on SIGHUP, replaced by config apply or the `profiles:` file), evaluation
 * of reports and cloud-side metrics, and the periodic sweep. Events go to
 * violations_handle() in the same turn.
 *
 * Engine state survives restarts at transitions: after an event the
 * thing's state is exported to the store (doc kind "detect"); streaks
 * between transitions are not persisted.
 */
#ifndef CORDOND_DETECTION_H
#define CORDOND_DETECTION_H

#include "control.h"
#include "detect.h"

struct server;
struct reg_thing;

#define DETECTION_SWEEP_MS 60000

int detection_init(struct server *s);
void detection_free(struct server *s);

/* Evaluate an accepted report of t. Returns 0 or CORDON_ENOMEM. */
int detection_eval_report(struct server *s, struct reg_thing *t, const struct report *r);
/* Evaluate one thing's cloud-side metrics from the plugin. */
int detection_eval_cloud(struct server *s, struct reg_thing *t,
                         const struct control_thing_metrics *m);
/* The thing's groups or registration changed. */
void detection_retarget(struct server *s, struct reg_thing *t);
/* The thing was deleted. */
void detection_remove(struct server *s, const char *thing);

/* Set the verification state of an active violation in the engine (no-op if not active). */
void detection_verify(struct server *s, const char *thing, const char *violation_id,
                      enum violation_verification v);

const struct profile_set *detection_profiles(struct server *s);
const struct metric_catalog *detection_catalog(struct server *s);

/*
 * Replace the profile set with set (taken, left empty) and store it.
 * Joins the turn's transaction. Returns 0 or an error.
 */
int detection_replace(struct server *s, struct profile_set *set);

#endif
