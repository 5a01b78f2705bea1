/*
 * cmd_groups.c — cordon groups list|get|create|delete|add-thing|remove-thing,
 * and cordon quarantine add|remove.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_CAP 4096

int cmd_groups_list(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    struct table t;
    json_t *root = NULL, *groups, *g;
    size_t i;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "", argc, argv)))
        return rc;
    if (o.npos)
        return cli_usage_error(c, "unexpected argument '%s'", o.pos[0]);
    http_response_init(&r);
    rc = http_call(c, "GET", "/api/v1/groups", NULL, &r, &root);
    if (rc)
        goto out;
    if (c->json) {
        out_raw(&r);
        goto out;
    }
    groups = json_object_get(root, "groups");
    table_init(&t, 3, "NAME", "MEMBERS", "DESCRIPTION");
    json_array_foreach(groups, i, g)
    {
        char members[32], desc[2048];
        table_row(&t, json_string_value(json_object_get(g, "groupName")),
                  out_json_text(json_object_get(g, "members"), members, sizeof(members)),
                  out_json_text(json_object_get(g, "description"), desc, sizeof(desc)));
    }
    table_print(&t);
    table_free(&t);
out:
    json_decref(root);
    http_response_free(&r);
    return rc;
}

/* Print a group object (GET /groups/{name} and the membership calls answer one). */
static void print_group(json_t *g)
{
    char desc[2048];
    json_t *things = json_object_get(g, "things"), *th;
    size_t i;

    printf("Name:         %s\n", json_string_value(json_object_get(g, "groupName")));
    printf("Description:  %s\n",
           out_json_text(json_object_get(g, "description"), desc, sizeof(desc)));
    printf("Things:       %zu\n", json_array_size(things));
    json_array_foreach(things, i, th)
    {
        if (json_is_string(th))
            printf("  %s\n", json_string_value(th));
    }
}

int cmd_groups_get(struct cli *c, int argc, char **argv)
{
    return cli_show_one(c, argc, argv, "missing group NAME", "one group name expected",
                        "/api/v1/groups/%s", print_group);
}

int cmd_groups_create(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    json_t *body;
    const char *desc;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "description=", argc, argv)))
        return rc;
    if (o.npos != 1)
        return cli_usage_error(c, o.npos ? "one group name expected" : "missing group NAME");
    desc = cli_opt(&o, "description");
    body = desc ? json_pack("{s:s, s:s}", "groupName", o.pos[0], "description", desc)
                : json_pack("{s:s}", "groupName", o.pos[0]);
    http_response_init(&r);
    rc = http_call(c, "POST", "/api/v1/groups", body, &r, NULL);
    json_decref(body);
    if (!rc) {
        if (c->json)
            out_raw(&r);
        else
            printf("Created group %s.\n", o.pos[0]);
    }
    http_response_free(&r);
    return rc;
}

int cmd_groups_delete(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    struct buf path;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "", argc, argv)))
        return rc;
    if (o.npos != 1)
        return cli_usage_error(c, o.npos ? "one group name expected" : "missing group NAME");
    buf_init(&path, PATH_CAP);
    http_path(&path, "/api/v1/groups/%s", o.pos[0]);
    http_response_init(&r);
    rc = http_call(c, "DELETE", path.ptr, NULL, &r, NULL);
    if (!rc) {
        if (c->json)
            out_raw(&r);
        else
            printf("Deleted group %s.\n", o.pos[0]);
    }
    http_response_free(&r);
    buf_free(&path);
    return rc;
}

static int membership(struct cli *c, int argc, char **argv, const char *method, const char *done)
{
    struct cli_opts o;
    struct http_response r;
    struct buf path;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "", argc, argv)))
        return rc;
    if (o.npos != 2)
        return cli_usage_error(c, "expected GROUP and THING");
    buf_init(&path, PATH_CAP);
    http_path(&path, "/api/v1/groups/%s/things/%s", o.pos[0], o.pos[1]);
    http_response_init(&r);
    rc = http_call(c, method, path.ptr, NULL, &r, NULL);
    if (!rc) {
        if (c->json)
            out_raw(&r);
        else
            printf(done, o.pos[1], o.pos[0]);
    }
    http_response_free(&r);
    buf_free(&path);
    return rc;
}

int cmd_groups_add_thing(struct cli *c, int argc, char **argv)
{
    return membership(c, argc, argv, "PUT", "Added %s to %s.\n");
}

int cmd_groups_remove_thing(struct cli *c, int argc, char **argv)
{
    return membership(c, argc, argv, "DELETE", "Removed %s from %s.\n");
}

/* ---- quarantine ----------------------------------------------------------- */

static int quarantine(struct cli *c, int argc, char **argv, const char *method)
{
    struct cli_opts o;
    struct http_response r;
    struct buf path;
    json_t *root = NULL, *action;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "", argc, argv)))
        return rc;
    if (o.npos != 1)
        return cli_usage_error(c, o.npos ? "one thing name expected" : "missing THING");
    buf_init(&path, PATH_CAP);
    http_path(&path, "/api/v1/quarantine/%s", o.pos[0]);
    http_response_init(&r);
    rc = http_call(c, method, path.ptr, NULL, &r, &root);
    if (!rc) {
        if (c->json) {
            out_raw(&r);
        } else {
            const char *status;
            /* the broker's confirmation is asynchronous: pending until it answers */
            action = json_object_get(root, "action");
            status = json_string_value(json_object_get(action, "status"));
            if (!status)
                status = json_string_value(json_object_get(root, "status"));
            printf("%s %s", o.pos[0],
                   json_is_true(json_object_get(root, "quarantined")) ? "quarantined" : "released");
            if (status)
                printf(" (broker: %s)", status);
            printf(".\n");
        }
    }
    json_decref(root);
    http_response_free(&r);
    buf_free(&path);
    return rc;
}

int cmd_quarantine_add(struct cli *c, int argc, char **argv)
{
    return quarantine(c, argc, argv, "POST");
}

int cmd_quarantine_remove(struct cli *c, int argc, char **argv)
{
    return quarantine(c, argc, argv, "DELETE");
}
