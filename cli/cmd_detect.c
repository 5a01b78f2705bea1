/*
 * cmd_detect.c — cordon profiles list|get and violations list|get|verify.
 */
#define _XOPEN_SOURCE 700 /* strptime */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PATH_CAP 4096

/* ---- profiles ------------------------------------------------------------- */

int cmd_profiles_list(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    struct table t;
    struct buf targets;
    json_t *root = NULL, *profiles, *p;
    size_t i;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "", argc, argv)))
        return rc;
    if (o.npos)
        return cli_usage_error(c, "unexpected argument '%s'", o.pos[0]);
    http_response_init(&r);
    rc = http_call(c, "GET", "/api/v1/profiles", NULL, &r, &root);
    if (rc)
        goto out;
    if (c->json) {
        out_raw(&r);
        goto out;
    }
    profiles = json_object_get(root, "profiles");
    if (!json_array_size(profiles)) {
        fprintf(stderr, "No security profiles (declare them in a stack: cordon apply).\n");
        goto out;
    }
    buf_init(&targets, 1 << 16);
    table_init(&t, 4, "NAME", "TARGETS", "BEHAVIORS", "DESCRIPTION");
    json_array_foreach(profiles, i, p)
    {
        char n[32], desc[1024];
        snprintf(n, sizeof(n), "%zu", json_array_size(json_object_get(p, "behaviors")));
        table_row(
            &t, json_string_value(json_object_get(p, "securityProfileName")),
            out_join(json_object_get(p, "targets"), &targets), n,
            out_json_text(json_object_get(p, "securityProfileDescription"), desc, sizeof(desc)));
    }
    table_print(&t);
    table_free(&t);
    buf_free(&targets);
out:
    json_decref(root);
    http_response_free(&r);
    return rc;
}

static void print_profile(json_t *p)
{
    struct buf b;
    struct table t;
    json_t *behaviors = json_object_get(p, "behaviors"), *x;
    json_t *mitigations = json_object_get(p, "mitigationActions");
    json_t *alerts = json_object_get(p, "alertTargets");
    char cell[2048];
    size_t i;

    buf_init(&b, 1 << 16);
    printf("Name:         %s\n", json_string_value(json_object_get(p, "securityProfileName")));
    printf("Description:  %s\n",
           out_json_text(json_object_get(p, "securityProfileDescription"), cell, sizeof(cell)));
    printf("Targets:      %s\n", out_join(json_object_get(p, "targets"), &b));
    if (json_object_size(alerts) || json_array_size(alerts))
        printf("Alerts:       %s\n", out_json_text(alerts, cell, sizeof(cell)));
    json_array_foreach(mitigations, i, x)
    {
        printf("%s %s\n",
               i ? "             " : "Mitigations: ", out_json_text(x, cell, sizeof(cell)));
    }
    printf("Behaviors:    %zu\n", json_array_size(behaviors));
    if (json_array_size(behaviors)) {
        table_init(&t, 3, "  NAME", "METRIC", "CRITERIA");
        json_array_foreach(behaviors, i, x)
        {
            char name[300], crit[2048];
            snprintf(name, sizeof(name), "  %s", json_string_value(json_object_get(x, "name")));
            table_row(&t, name, json_string_value(json_object_get(x, "metric")),
                      out_json_text(json_object_get(x, "criteria"), crit, sizeof(crit)));
        }
        table_print(&t);
        table_free(&t);
    }
    buf_free(&b);
}

int cmd_profiles_get(struct cli *c, int argc, char **argv)
{
    return cli_show_one(c, argc, argv, "missing profile NAME", "one profile name expected",
                        "/api/v1/profiles/%s", print_profile);
}

/* ---- violations ----------------------------------------------------------- */

/*
 * TIME for --since/--until: milliseconds since the epoch, ISO 8601 UTC
 * (YYYY-MM-DD[THH:MM[:SS]][Z]) or an age (30s, 15m, 2h, 7d). 0 or -1.
 */
static int parse_time_arg(const char *s, long long *ms)
{
    char *end;
    long long v;
    struct tm tm;
    const char *rest;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (!errno && end != s && v >= 0) {
        long long unit = 0;
        if (!*end) {
            *ms = v;
            return 0;
        }
        if (!end[1]) {
            unit = *end == 's'   ? 1000LL
                   : *end == 'm' ? 60000LL
                   : *end == 'h' ? 3600000LL
                   : *end == 'd' ? 86400000LL
                                 : 0;
        }
        if (unit) {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            *ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 - v * unit;
            return 0;
        }
    }
    memset(&tm, 0, sizeof(tm));
    rest = strptime(s, "%Y-%m-%d", &tm);
    if (!rest)
        return -1;
    if (*rest == 'T' || *rest == ' ') {
        const char *r2 = strptime(rest + 1, "%H:%M:%S", &tm);
        if (!r2)
            r2 = strptime(rest + 1, "%H:%M", &tm);
        if (!r2)
            return -1;
        rest = r2;
    }
    if (*rest == 'Z')
        rest++;
    if (*rest)
        return -1;
    *ms = (long long)timegm(&tm) * 1000;
    return 0;
}

/* FALSE_POSITIVE from false-positive, False_Positive, ... ; NULL if unknown. */
static const char *verification_state(const char *s, char out[32])
{
    static const char *const states[] = { "FALSE_POSITIVE", "BENIGN_POSITIVE", "TRUE_POSITIVE",
                                          "UNKNOWN" };
    size_t i;

    for (i = 0; s[i] && i < 31; i++)
        out[i] = s[i] == '-' ? '_' : (char)toupper((unsigned char)s[i]);
    out[i] = '\0';
    if (s[i])
        return NULL;
    for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        if (!strcmp(out, states[i]))
            return states[i];
    return NULL;
}

int cmd_violations_list(struct cli *c, int argc, char **argv)
{
    static const char *const filters[] = { "thing", "profile", "behavior" };
    struct cli_opts o;
    struct http_response r;
    struct table t;
    struct buf path;
    json_t *root = NULL, *list, *v;
    const char *s, *sep = "?";
    char state[32];
    size_t i;
    int rc;

    if ((rc = cli_opts_parse(c, &o,
                             "active,past,thing=,profile=,behavior=,verification=,since=,until=,"
                             "limit=",
                             argc, argv)))
        return rc;
    if (o.npos)
        return cli_usage_error(c, "unexpected argument '%s'", o.pos[0]);
    if (cli_opt(&o, "active") && cli_opt(&o, "past"))
        return cli_usage_error(c, "--active and --past exclude each other");
    buf_init(&path, PATH_CAP);
    buf_adds(&path, "/api/v1/violations");
    if (cli_opt(&o, "active") || cli_opt(&o, "past")) {
        buf_printf(&path, "%sactive=%s", sep, cli_opt(&o, "active") ? "true" : "false");
        sep = "&";
    }
    for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
        if ((s = cli_opt(&o, filters[i]))) {
            buf_printf(&path, "%s%s=", sep, filters[i]);
            http_escape(s, &path);
            sep = "&";
        }
    if ((s = cli_opt(&o, "verification"))) {
        if (!verification_state(s, state)) {
            buf_free(&path);
            return cli_usage_error(c,
                                   "--verification '%s': expected FALSE_POSITIVE, "
                                   "BENIGN_POSITIVE, TRUE_POSITIVE or UNKNOWN",
                                   s);
        }
        buf_printf(&path, "%sverification=%s", sep, verification_state(s, state));
        sep = "&";
    }
    for (i = 0; i < 2; i++) {
        const char *name = i ? "until" : "since";
        long long ms;
        if ((s = cli_opt(&o, name))) {
            if (parse_time_arg(s, &ms)) {
                buf_free(&path);
                return cli_usage_error(c,
                                       "--%s '%s': expected milliseconds, an ISO 8601 UTC "
                                       "time or an age like 2h",
                                       name, s);
            }
            buf_printf(&path, "%s%s=%lld", sep, name, ms);
            sep = "&";
        }
    }
    if ((s = cli_opt(&o, "limit"))) {
        char *end;
        long n = strtol(s, &end, 10);
        if (end == s || *end || n < 1 || n > 1000) {
            buf_free(&path);
            return cli_usage_error(c, "--limit '%s': expected 1..1000", s);
        }
        buf_printf(&path, "%slimit=%ld", sep, n);
    }
    http_response_init(&r);
    rc = http_call(c, "GET", path.ptr, NULL, &r, &root);
    if (rc)
        goto out;
    if (c->json) {
        out_raw(&r);
        goto out;
    }
    list = json_object_get(root, "violations");
    if (!json_array_size(list)) {
        fprintf(stderr, "No violations.\n");
        goto out;
    }
    table_init(&t, 7, "ID", "THING", "PROFILE", "BEHAVIOR", "STATE", "STARTED", "VERIFICATION");
    json_array_foreach(list, i, v)
    {
        char started[32];
        table_row(&t, json_string_value(json_object_get(v, "violationId")),
                  json_string_value(json_object_get(v, "thingName")),
                  json_string_value(json_object_get(v, "securityProfileName")),
                  json_string_value(json_object_get(json_object_get(v, "behavior"), "name")),
                  json_string_value(json_object_get(v, "state")),
                  out_time(json_integer_value(json_object_get(v, "startTime")), started),
                  json_string_value(json_object_get(v, "verificationState")));
    }
    table_print(&t);
    table_free(&t);
out:
    json_decref(root);
    http_response_free(&r);
    buf_free(&path);
    return rc;
}

static void print_violation(json_t *v)
{
    json_t *behavior = json_object_get(v, "behavior"), *x;
    json_t *events = json_object_get(v, "events"), *actions = json_object_get(v, "actions");
    char tbuf[32], cell[2048];
    struct table t;
    size_t i;

    printf("Violation:     %s\n", json_string_value(json_object_get(v, "violationId")));
    printf("Thing:         %s\n", json_string_value(json_object_get(v, "thingName")));
    printf("Profile:       %s\n", json_string_value(json_object_get(v, "securityProfileName")));
    printf("Behavior:      %s (%s)\n", json_string_value(json_object_get(behavior, "name")),
           json_string_value(json_object_get(behavior, "metric")));
    printf("Criteria:      %s\n",
           out_json_text(json_object_get(behavior, "criteria"), cell, sizeof(cell)));
    printf("Value:         %s\n",
           out_json_text(json_object_get(v, "metricValue"), cell, sizeof(cell)));
    printf("State:         %s%s\n", json_string_value(json_object_get(v, "state")),
           json_is_true(json_object_get(v, "suppressed")) ? " (alerts suppressed)" : "");
    printf("Started:       %s\n",
           out_time(json_integer_value(json_object_get(v, "startTime")), tbuf));
    printf("Last event:    %s\n",
           out_time(json_integer_value(json_object_get(v, "lastEventTime")), tbuf));
    printf("Ended:         %s\n",
           out_time(json_integer_value(json_object_get(v, "endTime")), tbuf));
    printf("Verification:  %s", json_string_value(json_object_get(v, "verificationState")));
    x = json_object_get(v, "verificationStateDescription");
    if (json_string_length(x))
        printf(" — %s", json_string_value(x));
    printf("\n");
    if (json_array_size(events)) {
        printf("Events:\n");
        table_init(&t, 3, "  TIME", "EVENT", "VALUE");
        json_array_foreach(events, i, x)
        {
            char when[40], val[1024];
            snprintf(when, sizeof(when), "  %s",
                     out_time(json_integer_value(json_object_get(x, "violationEventTime")), tbuf));
            table_row(&t, when, json_string_value(json_object_get(x, "violationEventType")),
                      out_json_text(json_object_get(x, "metricValue"), val, sizeof(val)));
        }
        table_print(&t);
        table_free(&t);
    }
    if (json_array_size(actions)) {
        printf("Actions:\n");
        table_init(&t, 4, "  ACTION", "STATUS", "UPDATED", "RESULT");
        json_array_foreach(actions, i, x)
        {
            char name[200], res[1024];
            snprintf(name, sizeof(name), "  %s", json_string_value(json_object_get(x, "action")));
            table_row(&t, name, json_string_value(json_object_get(x, "status")),
                      out_time(json_integer_value(json_object_get(x, "updatedAt")), tbuf),
                      out_json_text(json_object_get(x, "result"), res, sizeof(res)));
        }
        table_print(&t);
        table_free(&t);
    }
}

int cmd_violations_get(struct cli *c, int argc, char **argv)
{
    return cli_show_one(c, argc, argv, "missing violation ID", "one violation ID expected",
                        "/api/v1/violations/%s", print_violation);
}

int cmd_violations_verify(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    struct buf path;
    json_t *body;
    const char *state, *desc;
    char norm[32];
    int rc;

    if ((rc = cli_opts_parse(c, &o, "description=", argc, argv)))
        return rc;
    if (o.npos != 2)
        return cli_usage_error(c, "expected ID and STATE");
    state = verification_state(o.pos[1], norm);
    if (!state)
        return cli_usage_error(c,
                               "STATE '%s': expected FALSE_POSITIVE, BENIGN_POSITIVE, "
                               "TRUE_POSITIVE or UNKNOWN",
                               o.pos[1]);
    desc = cli_opt(&o, "description");
    body = json_pack("{s:s, s:s}", "state", state, "description", desc ? desc : "");
    if (!body)
        return cli_usage_error(c, "--description must be UTF-8 text");
    buf_init(&path, PATH_CAP);
    http_path(&path, "/api/v1/violations/%s/verification", o.pos[0]);
    http_response_init(&r);
    rc = http_call(c, "PUT", path.ptr, body, &r, NULL);
    json_decref(body);
    if (!rc) {
        if (c->json)
            out_raw(&r);
        else
            printf("Violation %s verified as %s.\n", o.pos[0], state);
    }
    http_response_free(&r);
    buf_free(&path);
    return rc;
}
