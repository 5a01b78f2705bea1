/*
 * incidents.h — incidents, engagements and paging in cordond (issue 7).
 * The module listens to violation events (violations_listen), starts or
 * joins incidents per response plan (lib/incident.h), runs engagements
 * (lib/engagement.h) with durable timers and pages through the outbox, and
 * serves the incident API and the one-click acknowledgement link.
 *
 * Contract with the runbook module (runbooks.h): the built-in function
 * `cordon-contain` (alias `aws-iot-incident-containment`) asks for the
 * incident's involved things and quarantines exactly those; runbook step
 * outcomes are written to the incident's timeline.
 */
#ifndef CORDOND_INCIDENTS_H
#define CORDOND_INCIDENTS_H

#include <jansson.h>
#include <stdbool.h>

struct server;

int incidents_init(struct server *s);
void incidents_free(struct server *s);

/*
 * Thing names of the incident's INVOLVED_RESOURCE items as a new JSON array,
 * or NULL when no incident has that id (full id "cordon:incident/…" or its
 * trailing uuid).
 */
json_t *incidents_involved_things(struct server *s, const char *incident_id);

/* A runbook step or execution outcome for the incident's timeline (no-op for an unknown id). */
void incidents_note_runbook(struct server *s, const char *incident_id, const char *execution_id,
                            const char *step, const char *status, const char *message);

/* A quarantine / release of a thing on behalf of the incident (timeline; the
 * first enforced quarantine sets the time to contain). */
void incidents_note_quarantine(struct server *s, const char *incident_id, const char *thing,
                               bool enforced);
void incidents_note_release(struct server *s, const char *incident_id, const char *thing);

#endif
