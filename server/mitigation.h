/*
 * mitigation.h — a profile's mitigation actions, run on in-alarm events
 * (not on suppressed ones): add to / remove from thing groups (QUARANTINED
 * means quarantine / release at the broker), revoke credentials, publish a
 * finding. Each is recorded as an action of the violation with its result
 * (the plugin's control response for broker commands).
 */
#ifndef CORDOND_MITIGATION_H
#define CORDOND_MITIGATION_H

#include "detect.h"

struct server;

void mitigation_run(struct server *s, const struct detect_event *e);

#endif
