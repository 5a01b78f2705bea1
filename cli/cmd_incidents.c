/*
 * cmd_incidents.c — cordon incidents list|get|update|note|resolve, ack,
 * analysis create|get, contacts list|get|activate (docs/cli.md).
 */
#include "cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_CAP 4096

static const char *js(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "-";
}

/* Send; on 2xx print raw JSON (--json) or call show(root); return the exit code. */
static int call_show(struct cli *c, const char *method, const char *path, json_t *body,
                     void (*show)(json_t *root))
{
    struct http_response r;
    json_t *root = NULL;
    int rc;
    http_response_init(&r);
    rc = http_call(c, method, path, body, &r, &root);
    if (!rc) {
        if (c->json || !show)
            out_raw(&r);
        else
            show(root);
    }
    json_decref(root);
    json_decref(body);
    http_response_free(&r);
    return rc;
}

static void show_incident(json_t *i)
{
    size_t k;
    json_t *e, *it;
    printf("Incident:     %s\nTitle:        %s\nStatus:       %s\nImpact:       %lld\n"
           "Plan:         %s\nCreated:      %s\n",
           js(i, "arn"), js(i, "title"), js(i, "status"),
           (long long)json_integer_value(json_object_get(i, "impact")), js(i, "responsePlan"),
           js(i, "creationTime"));
    if (json_object_get(i, "acknowledgedTime"))
        printf("Acknowledged: %s\n", js(i, "acknowledgedTime"));
    if (json_object_get(i, "containedTime"))
        printf("Contained:    %s\n", js(i, "containedTime"));
    if (json_object_get(i, "resolvedTime"))
        printf("Resolved:     %s\n", js(i, "resolvedTime"));
    printf("Summary:      %s\n", js(i, "summary"));
    printf("\nRelated items:\n");
    json_array_foreach(json_object_get(i, "relatedItems"), k, it)
    {
        json_t *id = json_object_get(it, "identifier");
        json_t *v = json_object_get(id, "value");
        const char *val = json_string_value(json_object_get(v, "url"));
        if (!val)
            val = json_string_value(json_object_get(v, "arn"));
        printf("  %-18s %-30s %s\n", js(id, "type"), js(it, "title"), val ? val : "-");
    }
    printf("\nTimeline:\n");
    json_array_foreach(json_object_get(i, "timeline"), k, e)
    {
        const char *d = js(e, "eventData");
        printf("  %s  %-26s %.160s\n", js(e, "eventTime"), js(e, "eventType"), d);
    }
}

static void show_incident_short(json_t *i)
{
    printf("%s %s (impact %lld): %s\n", js(i, "id"), js(i, "status"),
           (long long)json_integer_value(json_object_get(i, "impact")), js(i, "title"));
}

static void show_list(json_t *root)
{
    struct table t;
    size_t k;
    json_t *i;
    json_t *arr = json_object_get(root, "incidents");
    if (!json_array_size(arr)) {
        fprintf(stderr, "No incidents.\n");
        return;
    }
    table_init(&t, 6, "ID", "STATUS", "IMPACT", "PLAN", "CREATED", "TITLE");
    json_array_foreach(arr, k, i)
    {
        char imp[16];
        snprintf(imp, sizeof(imp), "%lld",
                 (long long)json_integer_value(json_object_get(i, "impact")));
        table_row(&t, js(i, "id"), js(i, "status"), imp, js(i, "responsePlan"),
                  js(i, "creationTime"), js(i, "title"));
    }
    table_print(&t);
    table_free(&t);
}

int cmd_incidents_list(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct buf q;
    const char *keys[] = { "status", "impact", "plan", "since", "until" };
    int rc;
    if ((rc = cli_opts_parse(c, &o, "status=,impact=,plan=,since=,until=", argc, argv)))
        return rc < 0 ? 0 : rc;
    if (o.npos)
        return cli_usage_error(c, "unexpected argument '%s'", o.pos[0]);
    buf_init(&q, PATH_CAP);
    buf_adds(&q, "/api/v1/incidents");
    for (size_t k = 0, n = 0; k < 5; k++) {
        const char *v = cli_opt(&o, keys[k]);
        if (!v)
            continue;
        buf_printf(&q, "%c%s=", n++ ? '&' : '?', keys[k]);
        http_escape(v, &q);
    }
    rc = call_show(c, "GET", q.ptr, NULL, show_list);
    buf_free(&q);
    return rc;
}

static int one_id(struct cli *c, struct cli_opts *o, const char *specs, int argc, char **argv,
                  int want)
{
    int rc = cli_opts_parse(c, o, specs, argc, argv);
    if (rc)
        return rc;
    if (o->npos != want)
        return cli_usage_error(c, "expected %d argument(s)", want);
    return 0;
}

int cmd_incidents_get(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct buf p;
    int rc = one_id(c, &o, "", argc, argv, 1);
    if (rc)
        return rc < 0 ? 0 : rc;
    buf_init(&p, PATH_CAP);
    http_path(&p, "/api/v1/incidents/%s", o.pos[0]);
    rc = call_show(c, "GET", p.ptr, NULL, show_incident);
    buf_free(&p);
    return rc;
}

int cmd_incidents_update(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct buf p;
    json_t *b = json_object();
    const char *v;
    int rc = one_id(c, &o, "title=,summary=,impact=,status=", argc, argv, 1);
    if (rc) {
        json_decref(b);
        return rc < 0 ? 0 : rc;
    }
    if ((v = cli_opt(&o, "title")))
        json_object_set_new(b, "title", json_string(v));
    if ((v = cli_opt(&o, "summary")))
        json_object_set_new(b, "summary", json_string(v));
    if ((v = cli_opt(&o, "status")))
        json_object_set_new(b, "status", json_string(v));
    if ((v = cli_opt(&o, "impact"))) {
        char *end;
        long i = strtol(v, &end, 10);
        if (*end || i < 1 || i > 5) {
            json_decref(b);
            return cli_usage_error(c, "--impact: expected 1 to 5, got '%s'", v);
        }
        json_object_set_new(b, "impact", json_integer(i));
    }
    if (!json_object_size(b)) {
        json_decref(b);
        return cli_usage_error(c, "nothing to update (--title, --summary, --impact, --status)");
    }
    buf_init(&p, PATH_CAP);
    http_path(&p, "/api/v1/incidents/%s", o.pos[0]);
    rc = call_show(c, "PATCH", p.ptr, b, show_incident_short);
    buf_free(&p);
    return rc;
}

int cmd_incidents_note(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct buf p;
    int rc = one_id(c, &o, "", argc, argv, 2);
    if (rc)
        return rc < 0 ? 0 : rc;
    buf_init(&p, PATH_CAP);
    http_path(&p, "/api/v1/incidents/%s/notes", o.pos[0]);
    rc = call_show(c, "POST", p.ptr, json_pack("{s:s}", "text", o.pos[1]), show_incident_short);
    buf_free(&p);
    return rc;
}

int cmd_incidents_resolve(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct buf p;
    int rc = one_id(c, &o, "", argc, argv, 1);
    if (rc)
        return rc < 0 ? 0 : rc;
    buf_init(&p, PATH_CAP);
    http_path(&p, "/api/v1/incidents/%s/resolve", o.pos[0]);
    rc = call_show(c, "POST", p.ptr, json_object(), show_incident_short);
    buf_free(&p);
    return rc;
}

static void show_ack(json_t *r)
{
    printf("Acknowledged %s%s\n", js(r, "incident"),
           json_is_true(json_object_get(r, "essential")) ? " (essential: paging stopped)" : "");
}

int cmd_ack(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    json_t *b;
    int rc = one_id(c, &o, "i|incident=,note=", argc, argv, 1);
    if (rc)
        return rc < 0 ? 0 : rc;
    b = json_pack("{s:s}", "code", o.pos[0]);
    if (cli_opt(&o, "incident"))
        json_object_set_new(b, "incident", json_string(cli_opt(&o, "incident")));
    if (cli_opt(&o, "note"))
        json_object_set_new(b, "note", json_string(cli_opt(&o, "note")));
    return call_show(c, "POST", "/api/v1/ack", b, show_ack);
}

/* Analysis: Markdown goes to stdout as is. */
static int analysis(struct cli *c, const char *method, int argc, char **argv)
{
    struct cli_opts o;
    struct buf p;
    struct http_response r;
    json_t *root = NULL;
    int rc = one_id(c, &o, "markdown", argc, argv, 1);
    bool md;
    if (rc)
        return rc < 0 ? 0 : rc;
    md = cli_opt(&o, "markdown") && !c->json;
    buf_init(&p, PATH_CAP);
    http_path(&p, "/api/v1/incidents/%s/analysis", o.pos[0]);
    if (md || !strcmp(method, "POST"))
        buf_adds(&p, md ? "?format=markdown" : "");
    http_response_init(&r);
    rc = http_call(c, method, p.ptr, !strcmp(method, "POST") ? json_object() : NULL, &r,
                   md ? NULL : &root);
    if (!rc) {
        if (md || c->json)
            out_raw(&r);
        else
            printf("Analysis of %s created (cordon analysis get %s --markdown)\n",
                   js(root, "incidentId"), o.pos[0]);
    }
    json_decref(root);
    http_response_free(&r);
    buf_free(&p);
    return rc;
}

int cmd_analysis_create(struct cli *c, int argc, char **argv)
{
    return analysis(c, "POST", argc, argv);
}

int cmd_analysis_get(struct cli *c, int argc, char **argv)
{
    /* get always prints something useful: Markdown unless --json */
    struct cli_opts o;
    struct buf p;
    struct http_response r;
    int rc = one_id(c, &o, "markdown", argc, argv, 1);
    if (rc)
        return rc < 0 ? 0 : rc;
    buf_init(&p, PATH_CAP);
    http_path(&p, "/api/v1/incidents/%s/analysis", o.pos[0]);
    if (!c->json)
        buf_adds(&p, "?format=markdown");
    http_response_init(&r);
    rc = http_call(c, "GET", p.ptr, NULL, &r, NULL);
    if (!rc)
        out_raw(&r);
    http_response_free(&r);
    buf_free(&p);
    return rc;
}

static void show_contacts(json_t *root)
{
    struct table t;
    size_t k, j;
    json_t *ct, *ch;
    json_t *arr = json_object_get(root, "contacts");
    if (!json_array_size(arr)) {
        fprintf(stderr, "No contacts (declare them in a stack: cordon apply).\n");
        return;
    }
    table_init(&t, 4, "ALIAS", "TYPE", "NAME", "CHANNELS");
    json_array_foreach(arr, k, ct)
    {
        char chans[2048] = "";
        size_t used = 0;
        json_array_foreach(json_object_get(ct, "channels"), j, ch)
        {
            int n = snprintf(chans + used, sizeof(chans) - used, "%s%s:%s(%s)", j ? " " : "",
                             js(ch, "name"), js(ch, "type"),
                             strcmp(js(ch, "activationStatus"), "ACTIVATED") ? "not activated"
                                                                             : "activated");
            if (n > 0 && (size_t)n < sizeof(chans) - used)
                used += (size_t)n;
        }
        table_row(&t, js(ct, "alias"), js(ct, "type"), js(ct, "displayName"), used ? chans : "-");
    }
    table_print(&t);
    table_free(&t);
}

int cmd_contacts_list(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    int rc = cli_opts_parse(c, &o, "", argc, argv);
    if (rc)
        return rc < 0 ? 0 : rc;
    return call_show(c, "GET", "/api/v1/contacts", NULL, show_contacts);
}

int cmd_contacts_get(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct buf p;
    int rc = one_id(c, &o, "", argc, argv, 1);
    if (rc)
        return rc < 0 ? 0 : rc;
    buf_init(&p, PATH_CAP);
    http_path(&p, "/api/v1/contacts/%s", o.pos[0]);
    rc = call_show(c, "GET", p.ptr, NULL, NULL);
    buf_free(&p);
    return rc;
}

static void show_activated(json_t *r)
{
    printf("Contact %s: channel activated\n", js(r, "alias"));
}

int cmd_contacts_activate(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct buf p;
    int rc = one_id(c, &o, "", argc, argv, 3);
    if (rc)
        return rc < 0 ? 0 : rc;
    buf_init(&p, PATH_CAP);
    http_path(&p, "/api/v1/contacts/%s/channels/%s/activate", o.pos[0], o.pos[1]);
    rc = call_show(c, "POST", p.ptr, json_pack("{s:s}", "code", o.pos[2]), show_activated);
    buf_free(&p);
    return rc;
}
