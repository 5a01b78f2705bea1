/*
 * metrics_prom.c — GET /metrics in the Prometheus text format (0.0.4).
 */
#include "metrics_prom.h"

#include "incidents_int.h"
#include "mqtt.h"
#include "outbox.h"
#include "server.h"

/* Upper bounds (seconds) of the evaluation latency histogram buckets. */
static const double lat_bounds[STATS_LAT_BUCKETS] = { 0.00001, 0.000025, 0.00005, 0.0001,
                                                      0.00025, 0.0005,   0.001,   0.0025,
                                                      0.005,   0.01,     0.05,    0.25 };

void metrics_observe_eval(struct server *s, double seconds)
{
    s->stats.eval_count++;
    s->stats.eval_sum_s += seconds;
    for (int i = 0; i < STATS_LAT_BUCKETS; i++) {
        if (seconds <= lat_bounds[i]) {
            s->stats.eval_buckets[i]++;
            break;
        }
    }
}

int metrics_render(struct server *s, struct buf *out)
{
    const struct stats *st = &s->stats;
    static const char *vtypes[3] = { "in-alarm", "alarm-cleared", "alarm-invalidated" };
    uint64_t cum = 0;

    buf_adds(out, "# HELP cordon_reports_accepted_total Metrics reports accepted.\n"
                  "# TYPE cordon_reports_accepted_total counter\n");
    buf_printf(out, "cordon_reports_accepted_total %llu\n",
               (unsigned long long)st->reports_accepted);
    buf_adds(out, "# HELP cordon_reports_rejected_total Metrics reports rejected, by error code.\n"
                  "# TYPE cordon_reports_rejected_total counter\n");
    for (int i = 0; i < STATS_REJECT_CODES; i++)
        buf_printf(out, "cordon_reports_rejected_total{code=\"%s\"} %llu\n", stats_reject_codes[i],
                   (unsigned long long)st->reports_rejected[i]);
    buf_adds(out, "# HELP cordon_report_unknown_keys_total Unknown keys ignored in reports.\n"
                  "# TYPE cordon_report_unknown_keys_total counter\n");
    buf_printf(out, "cordon_report_unknown_keys_total %llu\n",
               (unsigned long long)st->unknown_keys);
    buf_adds(out, "# HELP cordon_cloud_metrics_total Cloud-side metric records received.\n"
                  "# TYPE cordon_cloud_metrics_total counter\n");
    buf_printf(out, "cordon_cloud_metrics_total %llu\n", (unsigned long long)st->cloud_metrics);
    buf_adds(out, "# HELP cordon_evaluation_seconds Detect evaluation time per report.\n"
                  "# TYPE cordon_evaluation_seconds histogram\n");
    for (int i = 0; i < STATS_LAT_BUCKETS; i++) {
        cum += st->eval_buckets[i];
        buf_printf(out, "cordon_evaluation_seconds_bucket{le=\"%g\"} %llu\n", lat_bounds[i],
                   (unsigned long long)cum);
    }
    buf_printf(out, "cordon_evaluation_seconds_bucket{le=\"+Inf\"} %llu\n",
               (unsigned long long)st->eval_count);
    buf_printf(out, "cordon_evaluation_seconds_sum %.9f\n", st->eval_sum_s);
    buf_printf(out, "cordon_evaluation_seconds_count %llu\n", (unsigned long long)st->eval_count);
    buf_adds(out, "# HELP cordon_violation_events_total Violation events, by type.\n"
                  "# TYPE cordon_violation_events_total counter\n");
    for (int i = 0; i < 3; i++)
        buf_printf(out, "cordon_violation_events_total{type=\"%s\"} %llu\n", vtypes[i],
                   (unsigned long long)st->violation_events[i]);
    buf_adds(out, "# HELP cordon_alerts_sent_total Alerts queued to alert targets.\n"
                  "# TYPE cordon_alerts_sent_total counter\n");
    buf_printf(out, "cordon_alerts_sent_total %llu\n", (unsigned long long)st->alerts_sent);
    buf_adds(out, "# HELP cordon_outbox_depth Outbox rows pending delivery.\n"
                  "# TYPE cordon_outbox_depth gauge\n");
    buf_printf(out, "cordon_outbox_depth %lld\n", (long long)outbox_depth(s));
    buf_adds(out, "# HELP cordon_store_commits_total Store transactions committed.\n"
                  "# TYPE cordon_store_commits_total counter\n");
    buf_printf(out, "cordon_store_commits_total %llu\n", (unsigned long long)st->commits);
    buf_printf(out, "cordon_store_commit_failures_total %llu\n",
               (unsigned long long)st->commit_failures);
    incidents_metrics_prom(s, out);
    buf_adds(out, "# HELP cordon_mqtt_connected 1 when connected to the broker.\n"
                  "# TYPE cordon_mqtt_connected gauge\n");
    return buf_printf(out, "cordon_mqtt_connected %d\n", mqtt_connected(s) ? 1 : 0);
}
