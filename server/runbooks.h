/*
 * runbooks.h — runbook documents (SSM Automation 0.3, with versions) and
 * durable executions in cordond (issue 6), driving lib/runbook_exec.h:
 * every transition is stored before its effects run; scripts run as child
 * processes on the loop (uv_spawn, argv only); sleeps and timeouts are
 * durable timers; signals come from the API/CLI/console.
 */
#ifndef CORDOND_RUNBOOKS_H
#define CORDOND_RUNBOOKS_H

#include "cordon.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct server;

int runbooks_init(struct server *s);
void runbooks_free(struct server *s);

/*
 * Start an execution of document `name` (version NULL = the latest) with
 * `params`: either typed values (name → string / array / number / bool /
 * object, as the document declares) or the AWS wire form of response plans
 * (name → array of strings), converted by the document's declared types.
 * `incident_id` (may be NULL) binds the execution to an incident: its step
 * outcomes go to the incident timeline (incidents_note_runbook).
 * On success writes the execution id into exec_id (size exec_id_len) and
 * returns 0; else a negative CORDON_E* code with diag filled (unknown
 * document: CORDON_ENOTFOUND; bad parameters: CORDON_EINVAL).
 */
int runbooks_start(struct server *s, const char *name, const char *version, const json_t *params,
                   const char *incident_id, char *exec_id, size_t exec_id_len,
                   struct cordon_diag *diag);

/*
 * Store `text` as a new version of document `name` unless it equals the
 * latest version (then *created = false). Validated first: CORDON_EINVAL /
 * CORDON_EUNSUPPORTED / CORDON_ETOOBIG with diag ("NAME:LINE:COLUMN: …").
 * Writes join the turn's (or the caller's) transaction.
 */
int runbooks_put_document(struct server *s, const char *name, const char *text, size_t len,
                          int *version, bool *created, struct cordon_diag *diag);

/* Hide document `name` from lists and new executions (versions stay for running ones). */
int runbooks_delete_document(struct server *s, const char *name);

/* Call fn(ctx, name, latest content) for every document not deleted. */
int runbooks_each_latest(struct server *s,
                         int (*fn)(void *ctx, const char *name, const char *content), void *ctx);

#endif
