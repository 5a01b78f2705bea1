/*
 * cmd_config.c — config as code: cordon plan|apply|export, and cordon health.
 *
 * plan and apply check the stack locally with lib/stack first (so errors
 * name the user's file), then send it as is; the server computes and
 * applies the plan (docs/config.md, docs/api.md).
 */
#include "cli.h"
#include "runbook_stack.h"
#include "stack.h"

#include <libfyaml.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * `runbooks:` items may say `file: PATH` (relative to the stack file): read
 * it here and send it as `content` (the server never reads client files).
 * Rewrites text only when some item has `file:`. 0 or an exit code.
 */
static int resolve_runbook_files(const char *file, struct buf *text)
{
    struct fy_document *fyd;
    struct fy_node *root, *list, *item;
    void *it = NULL;
    char dir[4096] = ".";
    int changed = 0, rc = 0;

    struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET };
    if (!text->len)
        return 0;
    fyd = fy_document_build_from_string(&cfg, text->ptr, text->len);
    if (!fyd)
        return 0; /* stack_parse reports the syntax error with its position */
    root = fy_document_root(fyd);
    list = root && fy_node_get_type(root) == FYNT_MAPPING
               ? fy_node_mapping_lookup_by_string(root, "runbooks", FY_NT)
               : NULL;
    if (strcmp(file, "-")) {
        const char *slash = strrchr(file, '/');
        if (slash)
            snprintf(dir, sizeof(dir), "%.*s", (int)(slash - file), file);
    }
    while (list && fy_node_get_type(list) == FYNT_SEQUENCE &&
           (item = fy_node_sequence_iterate(list, &it))) {
        struct fy_node *fn;
        const char *rel;
        size_t rlen;
        char path[8192];
        struct buf doc;
        if (fy_node_get_type(item) != FYNT_MAPPING)
            continue;
        fn = fy_node_mapping_lookup_by_string(item, "file", FY_NT);
        if (!fn || fy_node_get_type(fn) != FYNT_SCALAR)
            continue;
        rel = fy_node_get_scalar(fn, &rlen);
        if (rlen && rel[0] == '/')
            snprintf(path, sizeof(path), "%.*s", (int)rlen, rel);
        else
            snprintf(path, sizeof(path), "%s/%.*s", dir, (int)rlen, rel);
        buf_init(&doc, CLI_FILE_MAX);
        if (cli_read_file(path, &doc)) {
            buf_free(&doc);
            rc = CLI_EXIT_ERROR;
            break;
        }
        {
            struct fy_node *k = fy_node_create_scalar_copy(fyd, "content", 7);
            struct fy_node *v = stack_runbook_content_node(fyd, doc.ptr ? doc.ptr : "", doc.len);
            struct fy_node *old =
                fy_node_mapping_remove_by_key(item, fy_node_create_scalar_copy(fyd, "file", 4));
            fy_node_free(old);
            if (!k || !v || fy_node_mapping_append(item, k, v)) {
                buf_free(&doc);
                rc = CLI_EXIT_ERROR;
                break;
            }
        }
        buf_free(&doc);
        changed = 1;
    }
    if (!rc && changed) {
        char *out =
            fy_emit_document_to_string(fyd, FYECF_MODE_BLOCK | FYECF_INDENT_2 | FYECF_WIDTH_INF);
        if (!out) {
            rc = CLI_EXIT_ERROR;
        } else {
            buf_reset(text);
            if (buf_add(text, out, strlen(out)))
                rc = CLI_EXIT_ERROR;
            free(out);
        }
        if (rc)
            out_error("%s: cannot inline the runbook files", file);
    }
    fy_document_destroy(fyd);
    return rc;
}

/* Read and check a stack file; 0 or an exit code (message printed). */
static int stack_load(struct cli *c, const char *file, struct buf *text)
{
    struct stack s;
    struct cordon_diag d;
    int rc;

    (void)c;
    buf_init(text, CLI_FILE_MAX);
    if (cli_read_file(file, text))
        return CLI_EXIT_ERROR;
    if ((rc = resolve_runbook_files(file, text)))
        return rc;
    stack_init(&s);
    rc = stack_parse(&s, text->ptr ? text->ptr : "", text->len, strcmp(file, "-") ? file : "stdin",
                     &d);
    stack_free(&s);
    if (rc) {
        out_error("%s", d.message);
        return CLI_EXIT_ERROR;
    }
    return 0;
}

/* POST the stack to /config/{plan,apply}; *json gets the 2xx answer. */
static int stack_post(struct cli *c, const char *what, const char *file, const struct buf *text,
                      struct http_response *r, json_t **json)
{
    char header[512], path[64], name[256];
    const char *headers[2] = { header, NULL };
    size_t i;
    int rc;

    *json = NULL;
    /* the file name as the server should print it in error positions */
    snprintf(name, sizeof(name), "%s", strcmp(file, "-") ? file : "stdin");
    for (i = 0; name[i]; i++)
        if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e)
            name[i] = '_';
    snprintf(header, sizeof(header), "X-Cordon-Filename: %s", name);
    snprintf(path, sizeof(path), "/api/v1/config/%s", what);
    rc = http_request(c, "POST", path, text->ptr ? text->ptr : "", text->len, "application/yaml",
                      headers, r);
    if (rc)
        return rc;
    if (r->status < 200 || r->status > 299)
        return http_report_error(r);
    if (r->body.len) {
        json_error_t jerr;
        *json = json_loadb(r->body.ptr, r->body.len, 0, &jerr);
    }
    if (!*json) {
        out_error("the server's answer to %s is not JSON", path);
        return CLI_EXIT_ERROR;
    }
    return 0;
}

struct counts {
    size_t create, update, delete;
};

/* Print the changes like terraform to f; count them. */
static void plan_print(FILE *f, json_t *changes, struct counts *n)
{
    json_t *ch;
    size_t i;

    memset(n, 0, sizeof(*n));
    json_array_foreach(changes, i, ch)
    {
        const char *action = json_string_value(json_object_get(ch, "action"));
        const char *kind = json_string_value(json_object_get(ch, "kind"));
        const char *name = json_string_value(json_object_get(ch, "name"));
        const char *reason = json_string_value(json_object_get(ch, "reason"));
        char sign = '?';

        if (!action)
            action = "";
        if (!strcmp(action, "create")) {
            sign = '+';
            n->create++;
        } else if (!strcmp(action, "update")) {
            sign = '~';
            n->update++;
        } else if (!strcmp(action, "delete")) {
            sign = '-';
            n->delete ++;
        }
        fprintf(f, "  %c %s %s", sign, kind ? kind : "?", name ? name : "?");
        if (sign == '~' && reason && *reason)
            fprintf(f, "  (%s)", reason);
        fputc('\n', f);
    }
}

int cmd_config_plan(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    struct buf text;
    struct counts n;
    json_t *root = NULL, *changes;
    const char *file;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "f|file=", argc, argv)))
        return rc;
    if (o.npos)
        return cli_usage_error(c, "unexpected argument '%s' (the file goes after -f)", o.pos[0]);
    file = cli_opt(&o, "file");
    if (!file)
        return cli_usage_error(c, "missing -f FILE");
    rc = stack_load(c, file, &text);
    if (rc)
        goto out_text;
    http_response_init(&r);
    rc = stack_post(c, "plan", file, &text, &r, &root);
    if (rc)
        goto out;
    if (c->json) {
        out_raw(&r);
        goto out;
    }
    changes = json_object_get(root, "changes");
    if (!json_array_size(changes)) {
        printf("No changes: the running configuration matches %s.\n", file);
        goto out;
    }
    plan_print(stdout, changes, &n);
    printf("\nPlan: %zu to create, %zu to update, %zu to delete.\n", n.create, n.update, n.delete);
out:
    json_decref(root);
    http_response_free(&r);
out_text:
    buf_free(&text);
    return rc;
}

/* Ask on the terminal; 1 when the answer is "yes". */
static int confirm(const char *url)
{
    char line[64];

    fprintf(stderr, "\nApply these changes to %s? Only 'yes' is accepted: ", url);
    fflush(stderr);
    if (!fgets(line, sizeof(line), stdin))
        return 0;
    line[strcspn(line, "\r\n")] = '\0';
    return !strcmp(line, "yes");
}

int cmd_config_apply(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    struct buf text;
    struct counts n;
    json_t *root = NULL, *changes;
    const char *file;
    FILE *human;
    int rc, yes;

    if ((rc = cli_opts_parse(c, &o, "f|file=,y|yes", argc, argv)))
        return rc;
    if (o.npos)
        return cli_usage_error(c, "unexpected argument '%s' (the file goes after -f)", o.pos[0]);
    file = cli_opt(&o, "file");
    if (!file)
        return cli_usage_error(c, "missing -f FILE");
    yes = cli_opt(&o, "yes") != NULL;
    if (!yes && (!strcmp(file, "-") || !isatty(STDIN_FILENO)))
        return cli_usage_error(c, "no terminal to confirm on: add --yes to apply");
    rc = stack_load(c, file, &text);
    if (rc)
        goto out_text;
    human = c->json ? stderr : stdout; /* --json keeps stdout for the API's answer */
    http_response_init(&r);
    rc = stack_post(c, "plan", file, &text, &r, &root);
    if (rc)
        goto out;
    changes = json_object_get(root, "changes");
    if (!json_array_size(changes)) {
        fprintf(human, "No changes: the running configuration matches %s.\n", file);
        if (c->json)
            out_raw(&r);
        goto out;
    }
    plan_print(human, changes, &n);
    fprintf(human, "\nPlan: %zu to create, %zu to update, %zu to delete.\n", n.create, n.update,
            n.delete);
    fflush(human);
    if (!yes && !confirm(c->url)) {
        fprintf(stderr, "Apply cancelled: nothing changed.\n");
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    json_decref(root);
    root = NULL;
    http_response_free(&r);
    http_response_init(&r);
    rc = stack_post(c, "apply", file, &text, &r, &root);
    if (rc)
        goto out;
    if (c->json) {
        out_raw(&r);
        goto out;
    }
    changes = json_object_get(root, "changes");
    memset(&n, 0, sizeof(n));
    {
        json_t *ch;
        size_t i;
        json_array_foreach(changes, i, ch)
        {
            const char *a = json_string_value(json_object_get(ch, "action"));
            if (a && !strcmp(a, "create"))
                n.create++;
            else if (a && !strcmp(a, "update"))
                n.update++;
            else if (a && !strcmp(a, "delete"))
                n.delete ++;
        }
    }
    printf("Applied: %zu created, %zu updated, %zu deleted.\n", n.create, n.update, n.delete);
out:
    json_decref(root);
    http_response_free(&r);
out_text:
    buf_free(&text);
    return rc;
}

/* Write data to path through a temp file and rename: readers never see half a file. */
static int write_atomic(const char *path, const char *data, size_t len)
{
    char tmp[4096];
    FILE *f;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
        out_error("%s: path too long", path);
        return -1;
    }
    f = fopen(tmp, "wb");
    if (!f) {
        out_error("cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (fwrite(data, 1, len, f) != len || fflush(f) || fsync(fileno(f))) {
        out_error("cannot write %s: %s", tmp, strerror(errno));
        fclose(f);
        unlink(tmp);
        return -1;
    }
    if (fclose(f) || rename(tmp, path)) {
        out_error("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int cmd_config_export(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    const char *out;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "o|output=", argc, argv)))
        return rc;
    if (o.npos)
        return cli_usage_error(c, "unexpected argument '%s' (use -o FILE)", o.pos[0]);
    out = cli_opt(&o, "output");
    http_response_init(&r);
    rc = http_request(c, "GET", "/api/v1/config/export", NULL, 0, NULL, NULL, &r);
    if (rc)
        goto out;
    if (r.status < 200 || r.status > 299) {
        rc = http_report_error(&r);
        goto out;
    }
    if (out && strcmp(out, "-")) {
        if (write_atomic(out, r.body.ptr ? r.body.ptr : "", r.body.len))
            rc = CLI_EXIT_ERROR;
        else
            fprintf(stderr, "Wrote the running configuration to %s.\n", out);
    } else {
        out_raw(&r);
    }
out:
    http_response_free(&r);
    return rc;
}

int cmd_health(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    json_t *root = NULL;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "", argc, argv)))
        return rc;
    if (o.npos)
        return cli_usage_error(c, "unexpected argument '%s'", o.pos[0]);
    http_response_init(&r);
    rc = http_call(c, "GET", "/healthz", NULL, &r, &root);
    if (!rc) {
        if (c->json) {
            out_raw(&r);
        } else {
            char cell[128];
            printf("%s: %s", c->url,
                   out_json_text(json_object_get(root, "status"), cell, sizeof(cell)));
            printf(", cordond %s",
                   out_json_text(json_object_get(root, "version"), cell, sizeof(cell)));
            printf(", MQTT %s\n", out_json_text(json_object_get(root, "mqtt"), cell, sizeof(cell)));
        }
    }
    json_decref(root);
    http_response_free(&r);
    return rc;
}
