/*
 * violations.h — violation events from the detect engine: stored with
 * their history, sent to the profile's alert targets (MQTT topic, webhook)
 * through the outbox unless suppressed, mitigation actions run on in-alarm,
 * then handed to listeners (incident integration).
 */
#ifndef CORDOND_VIOLATIONS_H
#define CORDOND_VIOLATIONS_H

#include "detect.h"

struct server;

/* A listener: called for every event after it was stored, alerted and mitigated. */
typedef void (*violations_fn)(struct server *s, void *arg, const struct detect_event *e);

int violations_init(struct server *s);
void violations_free(struct server *s);

/* Register a listener (e.g. incidents: start one on an unsuppressed in-alarm). */
int violations_listen(struct server *s, violations_fn fn, void *arg);

/* Handle n events of one evaluation (store, alert, mitigate, notify). */
void violations_handle(struct server *s, const struct detect_event *ev, size_t n);

#endif
