/*
 * cmd_runbooks.c — cordon runbooks put|get|list|validate and
 * cordon executions start|get|list|signal (docs/runbooks.md, docs/api.md).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Document name from a file path: basename without its extension. */
static void name_from_file(const char *file, char *out, size_t len)
{
    const char *b = strrchr(file, '/');
    char *dot;
    snprintf(out, len, "%s", b ? b + 1 : file);
    dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
}

/* Send text (a document) with method to path; print the error on non-2xx. */
static int send_text(struct cli *c, const char *method, const char *path, const char *file,
                     const struct buf *text, json_t **out)
{
    struct http_response r;
    char hdr[1200];
    const char *headers[] = { hdr, NULL };
    int rc;
    snprintf(hdr, sizeof(hdr), "X-Cordon-Filename: %s", file);
    http_response_init(&r);
    rc = http_request(c, method, path, text->ptr ? text->ptr : "", text->len, "application/yaml",
                      headers, &r);
    if (rc == CLI_EXIT_OK) {
        if (r.status < 200 || r.status >= 300) {
            rc = http_report_error(&r);
        } else if (c->json) {
            out_raw(&r);
        } else if (out) {
            *out = json_loadb(r.body.ptr ? r.body.ptr : "", r.body.len, 0, NULL);
        }
    }
    http_response_free(&r);
    return rc;
}

int cmd_runbooks_put(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct buf text, path;
    char name[256];
    json_t *res = NULL;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "n|name=", argc, argv)))
        return rc;
    if (o.npos != 1)
        return cli_usage_error(c, "one FILE expected");
    if (cli_opt(&o, "name"))
        snprintf(name, sizeof(name), "%s", cli_opt(&o, "name"));
    else
        name_from_file(o.pos[0], name, sizeof(name));
    buf_init(&text, CLI_FILE_MAX);
    if (cli_read_file(o.pos[0], &text)) {
        buf_free(&text);
        return CLI_EXIT_ERROR;
    }
    buf_init(&path, 4096);
    http_path(&path, "/api/v1/runbooks/%s", name);
    rc = send_text(c, "PUT", path.ptr, o.pos[0], &text, &res);
    if (rc == CLI_EXIT_OK && res)
        printf("%s version %lld%s\n", name,
               (long long)json_integer_value(json_object_get(res, "version")),
               json_is_true(json_object_get(res, "created")) ? " stored" : " (unchanged)");
    json_decref(res);
    buf_free(&path);
    buf_free(&text);
    return rc;
}

int cmd_runbooks_validate(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct buf text;
    json_t *res = NULL;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "", argc, argv)))
        return rc;
    if (o.npos != 1)
        return cli_usage_error(c, "one FILE expected");
    buf_init(&text, CLI_FILE_MAX);
    if (cli_read_file(o.pos[0], &text)) {
        buf_free(&text);
        return CLI_EXIT_ERROR;
    }
    rc = send_text(c, "POST", "/api/v1/runbooks/validate", o.pos[0], &text, &res);
    if (rc == CLI_EXIT_OK && res)
        printf("%s: valid (%lld steps)\n", o.pos[0],
               (long long)json_integer_value(json_object_get(res, "steps")));
    json_decref(res);
    buf_free(&text);
    return rc;
}

int cmd_runbooks_list(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    struct table t;
    json_t *root = NULL, *v;
    size_t i;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "", argc, argv)))
        return rc;
    http_response_init(&r);
    rc = http_call(c, "GET", "/api/v1/runbooks", NULL, &r, &root);
    if (rc == CLI_EXIT_OK && c->json) {
        out_raw(&r);
    } else if (rc == CLI_EXIT_OK) {
        table_init(&t, 2, "NAME", "LATEST");
        json_array_foreach(json_object_get(root, "runbooks"), i, v)
        {
            char ver[32];
            table_row(&t, json_string_value(json_object_get(v, "name")),
                      out_json_text(json_object_get(v, "latest"), ver, sizeof(ver)));
        }
        table_print(&t);
        table_free(&t);
    }
    json_decref(root);
    http_response_free(&r);
    return rc;
}

int cmd_runbooks_get(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    struct buf path;
    json_t *root = NULL;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "version=", argc, argv)))
        return rc;
    if (o.npos != 1)
        return cli_usage_error(c, "one document NAME expected");
    buf_init(&path, 4096);
    if (cli_opt(&o, "version"))
        http_path(&path, "/api/v1/runbooks/%s?version=%s", o.pos[0], cli_opt(&o, "version"));
    else
        http_path(&path, "/api/v1/runbooks/%s", o.pos[0]);
    http_response_init(&r);
    rc = http_call(c, "GET", path.ptr, NULL, &r, &root);
    if (rc == CLI_EXIT_OK && c->json)
        out_raw(&r);
    else if (rc == CLI_EXIT_OK)
        fputs(json_string_value(json_object_get(root, "content")), stdout);
    json_decref(root);
    http_response_free(&r);
    buf_free(&path);
    return rc;
}

int cmd_executions_start(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    json_t *body, *params, *root = NULL;
    const char *const *ps;
    int n = 0, rc;

    if ((rc = cli_opts_parse(c, &o, "p|param=,version=,incident=,interactive", argc, argv)))
        return rc;
    if (o.npos != 1)
        return cli_usage_error(c, "one document NAME expected");
    params = json_object();
    ps = cli_opt_all(&o, "param", &n);
    for (int i = 0; i < n; i++) {
        const char *eq = strchr(ps[i], '=');
        char key[256];
        json_t *list;
        if (!eq || eq == ps[i] || (size_t)(eq - ps[i]) >= sizeof(key)) {
            json_decref(params);
            return cli_usage_error(c, "--param wants KEY=VALUE, got '%s'", ps[i]);
        }
        memcpy(key, ps[i], (size_t)(eq - ps[i]));
        key[eq - ps[i]] = '\0';
        list = json_object_get(params, key);
        if (!list) {
            list = json_array();
            json_object_set_new(params, key, list);
        }
        json_array_append_new(list, json_string(eq + 1));
    }
    body = json_pack("{s:s, s:o}", "document", o.pos[0], "parameters", params);
    if (cli_opt(&o, "version"))
        json_object_set_new(body, "version", json_string(cli_opt(&o, "version")));
    if (cli_opt(&o, "incident"))
        json_object_set_new(body, "incidentId", json_string(cli_opt(&o, "incident")));
    if (cli_opt(&o, "interactive"))
        json_object_set_new(body, "mode", json_string("Interactive"));
    http_response_init(&r);
    rc = http_call(c, "POST", "/api/v1/executions", body, &r, &root);
    if (rc == CLI_EXIT_OK && c->json)
        out_raw(&r);
    else if (rc == CLI_EXIT_OK)
        printf("%s\n", json_string_value(json_object_get(root, "executionId")));
    json_decref(body);
    json_decref(root);
    http_response_free(&r);
    return rc;
}

static void print_execution(json_t *x)
{
    char a[64], b[4096];
    json_t *rec;
    size_t i;
    printf("Execution:  %s\n", json_string_value(json_object_get(x, "executionId")));
    printf("Document:   %s (version %s)\n", json_string_value(json_object_get(x, "document")),
           out_json_text(json_object_get(x, "documentVersion"), a, sizeof(a)));
    printf("Status:     %s\n", json_string_value(json_object_get(x, "status")));
    printf("Step:       %s\n", out_json_text(json_object_get(x, "currentStep"), b, sizeof(b)));
    if (json_string_length(json_object_get(x, "failureMessage")))
        printf("Failure:    %s\n", json_string_value(json_object_get(x, "failureMessage")));
    printf("Outputs:    %s\n", out_json_text(json_object_get(x, "outputs"), b, sizeof(b)));
    printf("Steps:\n");
    json_array_foreach(json_object_get(x, "stepExecutions"), i, rec)
    {
        printf("  %-24s %-24s %-10s %s\n", json_string_value(json_object_get(rec, "StepName")),
               json_string_value(json_object_get(rec, "Action")),
               json_string_value(json_object_get(rec, "StepStatus")),
               json_string_length(json_object_get(rec, "FailureMessage"))
                   ? json_string_value(json_object_get(rec, "FailureMessage"))
                   : out_json_text(json_object_get(rec, "Outputs"), b, sizeof(b)));
    }
}

int cmd_executions_get(struct cli *c, int argc, char **argv)
{
    return cli_show_one(c, argc, argv, "one execution ID expected", "one execution ID expected",
                        "/api/v1/executions/%s", print_execution);
}

int cmd_executions_list(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    struct buf path, q;
    struct table t;
    json_t *root = NULL, *v;
    size_t i;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "status=,document=", argc, argv)))
        return rc;
    buf_init(&path, 4096);
    buf_init(&q, 4096);
    if (cli_opt(&o, "status") && cli_opt(&o, "document"))
        http_path(&path, "/api/v1/executions?status=%s&document=%s", cli_opt(&o, "status"),
                  cli_opt(&o, "document"));
    else if (cli_opt(&o, "status"))
        http_path(&path, "/api/v1/executions?status=%s", cli_opt(&o, "status"));
    else if (cli_opt(&o, "document"))
        http_path(&path, "/api/v1/executions?document=%s", cli_opt(&o, "document"));
    else
        http_path(&path, "/api/v1/executions");
    http_response_init(&r);
    rc = http_call(c, "GET", path.ptr, NULL, &r, &root);
    if (rc == CLI_EXIT_OK && c->json) {
        out_raw(&r);
    } else if (rc == CLI_EXIT_OK) {
        table_init(&t, 4, "ID", "DOCUMENT", "STATUS", "STEP");
        json_array_foreach(json_object_get(root, "executions"), i, v)
        {
            table_row(&t, json_string_value(json_object_get(v, "executionId")),
                      json_string_value(json_object_get(v, "document")),
                      json_string_value(json_object_get(v, "status")),
                      json_string_value(json_object_get(v, "currentStep")));
        }
        table_print(&t);
        table_free(&t);
    }
    json_decref(root);
    http_response_free(&r);
    buf_free(&path);
    buf_free(&q);
    return rc;
}

int cmd_executions_signal(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    struct buf path;
    json_t *body, *root = NULL;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "step=,comment=,step-execution-id=", argc, argv)))
        return rc;
    if (o.npos != 2)
        return cli_usage_error(c, "ID and TYPE expected");
    body = json_pack("{s:s}", "type", o.pos[1]);
    if (cli_opt(&o, "step"))
        json_object_set_new(body, "step", json_string(cli_opt(&o, "step")));
    if (cli_opt(&o, "comment"))
        json_object_set_new(body, "comment", json_string(cli_opt(&o, "comment")));
    if (cli_opt(&o, "step-execution-id"))
        json_object_set_new(body, "stepExecutionId", json_string(cli_opt(&o, "step-execution-id")));
    buf_init(&path, 4096);
    http_path(&path, "/api/v1/executions/%s/signals", o.pos[0]);
    http_response_init(&r);
    rc = http_call(c, "POST", path.ptr, body, &r, &root);
    if (rc == CLI_EXIT_OK && c->json)
        out_raw(&r);
    else if (rc == CLI_EXIT_OK)
        printf("%s: %s (step %s)\n", o.pos[0],
               json_string_value(json_object_get(root, "status"))
                   ? json_string_value(json_object_get(root, "status"))
                   : "?",
               json_string_value(json_object_get(root, "currentStep"))
                   ? json_string_value(json_object_get(root, "currentStep"))
                   : "-");
    json_decref(body);
    json_decref(root);
    http_response_free(&r);
    buf_free(&path);
    return rc;
}
