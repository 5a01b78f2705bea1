/*
 * metrics.c — cloud-side metrics per identity.
 *
 * Counters live in each identity (no allocation on the message path) and
 * are published as deltas every metrics_interval seconds from TICK to
 * $CONTROL/cordon/v1/metrics (shape: lib/control.h, docs/broker.md).
 * Only known identities get counters, so unknown names cannot grow memory.
 */
#include "broker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void metrics__source_ip(struct ident *id, struct mosquitto *client)
{
    const char *ip = mosquitto_client_address(client);
    size_t n;

    if (!ip || !strcmp(ip, id->metrics.source_ip))
        return;
    n = strlen(ip);
    if (n > CONTROL_IP_MAX)
        n = CONTROL_IP_MAX;
    memcpy(id->metrics.source_ip, ip, n);
    id->metrics.source_ip[n] = '\0';
    id->metrics_dirty = true;
}

int metrics__disconnect_cb(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_disconnect *ev = event_data;
    struct plugin *p = userdata;
    const char *user;
    struct ident *id;
    (void)event;

    /* a connection refused at authentication has no client id yet (2.0.11) */
    if (!mosquitto_client_id(ev->client))
        return MOSQ_ERR_SUCCESS;
    user = mosquitto_client_username(ev->client);
    if (!user || !(id = state__find(p, user)))
        return MOSQ_ERR_SUCCESS;
    metrics__of(id)->disconnects++;
    if (id->last_client == ev->client)
        id->last_client = NULL;
    if (id->last_refused == ev->client)
        id->last_refused = NULL;
    return MOSQ_ERR_SUCCESS;
}

/*
 * Things per metrics message. cordond refuses control messages over
 * CONTROL_MAX_BYTES (256 KiB); one entry is at most ~1 KiB (a 128-byte name
 * escaped, a 63-byte address, nine 20-digit counters and their keys), so
 * 200 entries stay well under the cap however large the fleet.
 */
#define METRICS_THINGS_PER_MESSAGE 200

static void metrics__publish(struct control_metrics *m)
{
    struct buf out;

    buf_init(&out, CONTROL_MAX_BYTES);
    if (control_metrics_encode(m, &out) == 0)
        mosquitto_broker_publish_copy(NULL, CONTROL_METRICS_TOPIC, (int)out.len, out.ptr, 1, false,
                                      NULL);
    else
        mosquitto_log_printf(MOSQ_LOG_WARNING, "cordon: cannot encode the metrics message");
    buf_free(&out);
}

void metrics__tick(struct plugin *p, int64_t now_ms)
{
    struct control_metrics m;
    struct control_thing_metrics *all = NULL;
    struct ident *id, *tmp;
    struct timespec ts;
    size_t n = 0, total = 0, off = 0;

    if (p->metrics_interval_ms <= 0 || now_ms < p->next_metrics_ms)
        return;
    p->next_metrics_ms = now_ms + p->metrics_interval_ms;

    HASH_ITER(hh, p->idents, id, tmp)
    {
        if (id->metrics_dirty)
            n++;
    }
    if (n) {
        all = calloc(n, sizeof(*all));
        if (!all) {
            mosquitto_log_printf(MOSQ_LOG_WARNING, "cordon: out of memory building metrics");
            return;
        }
    }
    HASH_ITER(hh, p->idents, id, tmp)
    {
        if (!id->metrics_dirty)
            continue;
        all[total++] = id->metrics;
        memset(&id->metrics, 0, sizeof(id->metrics));
        snprintf(id->metrics.thing, sizeof(id->metrics.thing), "%s", id->name);
        id->metrics_dirty = false;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    /* one message per METRICS_THINGS_PER_MESSAGE things (at least one: the unknown counter);
     * the unknown-identity count goes in the first */
    do {
        memset(&m, 0, sizeof(m));
        m.v = all ? all + off : NULL;
        m.n = total - off < METRICS_THINGS_PER_MESSAGE ? total - off : METRICS_THINGS_PER_MESSAGE;
        m.timestamp_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        m.interval_s = p->metrics_interval_ms / 1000;
        m.unknown_connection_attempts = off == 0 ? p->unknown_attempts : 0;
        metrics__publish(&m);
        off += m.n;
    } while (off < total);
    p->unknown_attempts = 0;
    free(all);
}
