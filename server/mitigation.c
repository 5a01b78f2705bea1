/*
 * mitigation.c — run a profile's mitigation actions for one in-alarm event.
 */
#include "mitigation.h"

#include "broker.h"
#include "cordon.h"
#include "log.h"
#include "outbox.h"
#include "registry.h"
#include "server.h"

#include <stdio.h>
#include <string.h>

/* Record a local action (no broker round trip) with its final status. */
static void record(struct server *s, const struct detect_event *e, const char *action,
                   const char *params, int rc)
{
    struct store_action a = { 0 };
    char result[200];
    snprintf(result, sizeof(result), rc ? "{\"ok\":false,\"error\":\"%s\"}" : "{\"ok\":true}",
             cordon_strerror(rc));
    a.violation_id = e->violation_id;
    a.thing = e->thing;
    a.action = action;
    a.params = params;
    a.status = rc ? "failed" : "succeeded";
    a.result = result;
    a.key = "";
    a.created_at = server_now(s);
    store_action_add(s->store, &a, NULL);
}

static void group_action(struct server *s, const struct detect_event *e,
                         const struct profile_mitigation *m, bool add)
{
    for (size_t g = 0; g < m->ngroups; g++) {
        const char *group = m->groups[g];
        char params[300];
        int rc;
        if (strcmp(group, REGISTRY_QUARANTINED) == 0) {
            /* recorded by the registry with the broker's answer */
            rc = add ? registry_quarantine(s, e->thing, e->violation_id)
                     : registry_release(s, e->thing, e->violation_id);
            if (rc)
                log_error("mitigation failed", "action=%s thing=%s error=%s",
                          add ? "quarantine" : "release", e->thing, cordon_strerror(rc));
            continue;
        }
        if (add && !registry_thing(s, e->thing))
            registry_thing_create(s, e->thing, NULL, true, NULL);
        rc = add ? registry_member_add(s, group, e->thing, e->violation_id)
                 : registry_member_remove(s, group, e->thing, e->violation_id);
        snprintf(params, sizeof(params), "{\"thingGroupNames\":[\"%s\"]}", group);
        record(s, e, add ? "ADD_THINGS_TO_THING_GROUP" : "REMOVE_THING_FROM_THING_GROUP", params,
               rc);
    }
}

void mitigation_run(struct server *s, const struct detect_event *e)
{
    const struct profile *p = e->profile;
    for (size_t i = 0; i < p->nmitigations; i++) {
        const struct profile_mitigation *m = &p->mitigations[i];
        switch (m->kind) {
        case PROFILE_MITIGATION_ADD_THINGS_TO_THING_GROUP:
            group_action(s, e, m, true);
            break;
        case PROFILE_MITIGATION_REMOVE_THING_FROM_THING_GROUP:
            group_action(s, e, m, false);
            break;
        case PROFILE_MITIGATION_REVOKE_CREDENTIALS: {
            struct control_cmd cmd = { 0 };
            char key[300];
            cmd.type = CONTROL_CMD_REVOKE;
            snprintf(cmd.thing, sizeof(cmd.thing), "%s", e->thing);
            snprintf(key, sizeof(key), "ctl:revoke:%s:%s", e->thing, e->violation_id);
            if (broker_command(s, &cmd, key, e->violation_id, "REVOKE_CREDENTIALS", "{}"))
                log_error("mitigation failed", "action=revoke thing=%s", e->thing);
            break;
        }
        case PROFILE_MITIGATION_PUBLISH_FINDING: {
            struct buf b;
            char key[300], params[700];
            int rc;
            buf_init(&b, 1 << 20);
            rc = detect_event_json(e, &b);
            snprintf(key, sizeof(key), "finding:%s:%zu", e->violation_id, i);
            if (!rc)
                rc = outbox_add(s, "mqtt", key, m->topic, b.ptr, b.len);
            snprintf(params, sizeof(params), "{\"topic\":\"%.600s\"}", m->topic ? m->topic : "");
            record(s, e, "PUBLISH_FINDING", params, rc);
            buf_free(&b);
            break;
        }
        }
    }
}
