/*
 * broker.h — commands to the broker plugin over $CONTROL/cordon/v1
 * (lib/control.h codec), sent through the outbox (kind "mqtt") so they
 * survive a crash, each recorded as an action with the plugin's answer.
 *
 * The correlationId of every command is its outbox key, so a command
 * re-sent after a crash is recognisable (the plugin's operations are
 * idempotent: quarantining a quarantined thing is a no-op).
 *
 * Reconciliation: on every connection cordond sends get-state; the answer
 * is merged as a union — a thing quarantined at the broker but not in the
 * QUARANTINED group is added to it, a thing in the group but not
 * quarantined at the broker gets the quarantine command again. Quarantine
 * is never lifted by reconciliation, only by an explicit release
 * (docs/cordond.md "Quarantine reconciliation").
 */
#ifndef CORDOND_BROKER_H
#define CORDOND_BROKER_H

#include "control.h"

struct server;

int broker_init(struct server *s);
void broker_free(struct server *s);

/*
 * Queue cmd (its correlation_id is set here to key) and record the action
 * (violation_id "" for manual, action name, params JSON). key must be
 * unique per intended effect. Returns 0 or a store/encode error.
 */
int broker_command(struct server *s, struct control_cmd *cmd, const char *key,
                   const char *violation_id, const char *action, const char *params);

#endif
