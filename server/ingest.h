/*
 * ingest.h — metrics reports in, replies out.
 *
 * Subscribes to $aws/things/+/defender/metrics/json and to the plugin's
 * cloud-side metrics ($CONTROL/cordon/v1/metrics). A report is checked
 * (spec §1.4: thing name, payload cap, report_decode, DuplicateReportId,
 * Throttled), evaluated by the detect engine, stored as a datapoint, and
 * answered on …/json/accepted or …/json/rejected. Replies are published
 * after the turn's commit, so "accepted" means durable.
 *
 * Identity: the topic's thing name is the publisher's identity, because
 * the broker plugin's topic policy lets a device publish only under its own
 * name (docs/cordond.md "Who sent a report").
 */
#ifndef CORDOND_INGEST_H
#define CORDOND_INGEST_H

#define INGEST_TOPIC_FILTER "$aws/things/+/defender/metrics/json"
#define INGEST_REPLIES_MAX  65536 /* replies queued in one turn before an early flush */

struct server;

int ingest_init(struct server *s);
void ingest_free(struct server *s);

#endif
