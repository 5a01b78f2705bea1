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

/*
 * SSM Incidents API calls made by runbooks (aws:executeAwsApi, service
 * ssm-incidents; incident-response-spec.md §6, §8, §9). params is the AWS
 * request object (camelCase or PascalCase keys); the incident is named by
 * its arn (full id "cordon:incident/…" or the uuid tail). On success
 * *response is a new AWS-shaped reference and the change is persisted in the
 * turn's transaction; on failure err names the bad field and a CORDON_E*
 * code is returned (CORDON_ENOTFOUND: no such incident).
 *
 * UpdateIncidentRecord {arn, title?, summary?, impact?, status?} → {}
 * (RESOLVED stops engagements like the API's resolve).
 */
int incidents_api_update(struct server *s, const json_t *params, json_t **response, char *err,
                         size_t errlen);
/* CreateTimelineEvent {incidentRecordArn, eventType?="Custom Event", eventData,
 * eventTime? (epoch seconds or ISO 8601), eventReferences?} → {eventId}. */
int incidents_api_timeline_event(struct server *s, const json_t *params, json_t **response,
                                 char *err, size_t errlen);
/* UpdateRelatedItems {incidentRecordArn, relatedItemsUpdate: {itemToAdd:
 * {identifier: {type, value: {url|arn}}, title} | itemToRemove: {type,
 * value: {url|arn}}}} → {}. */
int incidents_api_related_items(struct server *s, const json_t *params, json_t **response,
                                char *err, size_t errlen);

#endif
