/*
 * detection.c — lib/detect on the loop.
 */
#include "detection.h"

#include "cordon.h"
#include "log.h"
#include "metrics_prom.h"
#include "registry.h"
#include "server.h"
#include "violations.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROFILES_DOC_KIND "config"
#define PROFILES_DOC_NAME "securityProfiles"
#define DETECT_DOC_KIND   "detect"

struct detection {
    struct detect d;
    struct metric_catalog cat;
    struct detect_events ev;
    struct buf state; /* export scratch */
    uv_timer_t sweep;
};

static struct detection *D(struct server *s)
{
    return s->detection;
}

void detection_verify(struct server *s, const char *thing, const char *violation_id,
                      enum violation_verification v)
{
    if (D(s) && thing)
        detect_set_verification(&D(s)->d, thing, violation_id, v);
}

const struct profile_set *detection_profiles(struct server *s)
{
    return detect_profiles(&D(s)->d);
}

const struct metric_catalog *detection_catalog(struct server *s)
{
    return &D(s)->cat;
}

static void thing_view(const struct reg_thing *t, struct detect_thing *out)
{
    out->name = t->name;
    out->groups = (const char *const *)t->groups;
    out->ngroups = t->ngroups;
    out->registered = t->registered;
}

/* Persist the engine state of things that had events, then hand events on. */
static void flush_events(struct server *s)
{
    struct detection *dn = D(s);
    if (dn->ev.n == 0)
        return;
    for (size_t i = 0; i < dn->ev.n; i++) {
        const char *thing = dn->ev.v[i].thing;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(dn->ev.v[j].thing, thing) == 0;
        if (seen)
            continue;
        buf_reset(&dn->state);
        if (detect_thing_export(&dn->d, thing, &dn->state) == 0)
            store_doc_put(s->store, DETECT_DOC_KIND, thing, dn->state.ptr, server_now(s));
        else
            store_doc_delete(s->store, DETECT_DOC_KIND, thing);
    }
    violations_handle(s, dn->ev.v, dn->ev.n);
    detect_events_reset(&dn->ev);
}

int detection_eval_report(struct server *s, struct reg_thing *t, const struct report *r)
{
    struct detection *dn = D(s);
    struct detect_thing dt;
    struct timespec a, b;
    int rc;

    thing_view(t, &dt);
    clock_gettime(CLOCK_MONOTONIC, &a);
    rc = detect_eval_report(&dn->d, &dt, r, server_now(s), &dn->ev);
    clock_gettime(CLOCK_MONOTONIC, &b);
    metrics_observe_eval(s, (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
    flush_events(s);
    return rc;
}

static void eval_count(struct server *s, const struct detect_thing *dt, const char *metric,
                       uint64_t v)
{
    struct metric_datapoint dp;
    memset(&dp, 0, sizeof(dp));
    dp.type = METRIC_TYPE_COUNT;
    dp.count = v;
    detect_eval_metric(&D(s)->d, dt, metric, NULL, &dp, server_now(s), &D(s)->ev);
}

int detection_eval_cloud(struct server *s, struct reg_thing *t,
                         const struct control_thing_metrics *m)
{
    struct detect_thing dt;
    thing_view(t, &dt);
    eval_count(s, &dt, "aws:num-connection-attempts", m->connection_attempts);
    eval_count(s, &dt, "aws:num-authorization-failures", m->authorization_failures);
    eval_count(s, &dt, "aws:num-messages-sent", m->messages_sent);
    eval_count(s, &dt, "aws:message-byte-size", m->max_message_bytes);
    eval_count(s, &dt, "aws:num-messages-received", m->messages_received);
    eval_count(s, &dt, "aws:num-disconnects", m->disconnects);
    if (m->source_ip[0]) {
        struct report_ip ip;
        if (report_ip_parse(m->source_ip, strlen(m->source_ip), &ip) == 0) {
            struct metric_datapoint dp;
            memset(&dp, 0, sizeof(dp));
            dp.type = METRIC_TYPE_IPS;
            dp.n = 1;
            dp.ips = &ip;
            detect_eval_metric(&D(s)->d, &dt, "aws:source-ip-address", NULL, &dp, server_now(s),
                               &D(s)->ev);
        }
    }
    flush_events(s);
    return 0;
}

void detection_retarget(struct server *s, struct reg_thing *t)
{
    struct detect_thing dt;
    if (!D(s))
        return;
    thing_view(t, &dt);
    detect_thing_retarget(&D(s)->d, &dt, server_now(s), &D(s)->ev);
    flush_events(s);
}

void detection_remove(struct server *s, const char *thing)
{
    if (!D(s))
        return;
    detect_thing_remove(&D(s)->d, thing, server_now(s), &D(s)->ev);
    flush_events(s);
    store_doc_delete(s->store, DETECT_DOC_KIND, thing);
}

int detection_replace(struct server *s, struct profile_set *set)
{
    struct detection *dn = D(s);
    struct profile_set old;
    struct buf yaml;
    int rc;

    buf_init(&yaml, PROFILE_YAML_MAX);
    rc = profile_set_write_yaml(set, &yaml);
    if (!rc)
        rc = store_doc_put(s->store, PROFILES_DOC_KIND, PROFILES_DOC_NAME, yaml.ptr ? yaml.ptr : "",
                           server_now(s));
    buf_free(&yaml);
    if (rc)
        return rc;
    profile_set_init(&old);
    rc = detect_set_profiles(&dn->d, set, server_now(s), &dn->ev, &old);
    if (rc)
        return rc;
    flush_events(s);
    profile_set_free(&old);
    log_info("security profiles loaded", "count=%zu", detect_profiles(&dn->d)->n);
    return 0;
}

/* ---- load from the store ------------------------------------------------------- */

static int load_profiles_cb(void *ctx, const char *kind, const char *name, const char *body)
{
    struct server *s = ctx;
    struct detection *dn = D(s);
    struct profile_set set, old;
    struct cordon_diag diag;
    (void)kind;
    (void)name;
    profile_set_init(&set);
    if (!*body || strspn(body, " \n\t") == strlen(body))
        return 0;
    if (profile_set_parse(&set, "store:securityProfiles", body, strlen(body), &dn->cat, &diag)) {
        log_error("stored security profiles do not load", "error=\"%s\"", diag.message);
        return 0;
    }
    profile_set_init(&old);
    if (detect_set_profiles(&dn->d, &set, server_now(s), &dn->ev, &old) == 0) {
        flush_events(s);
        profile_set_free(&old);
    }
    profile_set_free(&set);
    return 0;
}

static int load_state_cb(void *ctx, const char *kind, const char *name, const char *body)
{
    struct server *s = ctx;
    struct cordon_diag diag;
    (void)kind;
    if (detect_thing_import(&D(s)->d, body, strlen(body), &diag))
        log_warn("detect state of a thing not restored", "thing=%s error=\"%s\"", name,
                 diag.message);
    return 0;
}

static void reload(struct server *s, void *arg)
{
    (void)arg;
    store_doc_get(s->store, PROFILES_DOC_KIND, PROFILES_DOC_NAME, load_profiles_cb, s);
}

static void on_sweep(uv_timer_t *t)
{
    struct server *s = t->data;
    detect_sweep(&D(s)->d, server_now(s), &D(s)->ev);
    flush_events(s);
}

int detection_init(struct server *s)
{
    struct detection *dn = calloc(1, sizeof(*dn));
    struct detect_options opts = { 0 };
    if (!dn)
        return CORDON_ENOMEM;
    s->detection = dn;
    randombytes_buf(opts.id_seed, sizeof(opts.id_seed));
    metric_catalog_init(&dn->cat);
    detect_init(&dn->d, &opts);
    detect_events_init(&dn->ev);
    buf_init(&dn->state, DETECT_STATE_JSON_MAX);
    reload(s, NULL);
    store_docs_list(s->store, DETECT_DOC_KIND, load_state_cb, s);
    uv_timer_init(s->loop, &dn->sweep);
    dn->sweep.data = s;
    uv_timer_start(&dn->sweep, on_sweep, DETECTION_SWEEP_MS, DETECTION_SWEEP_MS);
    return server_on_reload(s, reload, NULL);
}

static void free_detection(uv_handle_t *h)
{
    struct detection *dn = h->data;
    detect_events_free(&dn->ev);
    detect_free(&dn->d);
    metric_catalog_free(&dn->cat);
    buf_free(&dn->state);
    free(dn);
}

void detection_free(struct server *s)
{
    struct detection *dn = D(s);
    if (!dn)
        return;
    s->detection = NULL;
    dn->sweep.data = dn;
    uv_close((uv_handle_t *)&dn->sweep, free_detection);
}
