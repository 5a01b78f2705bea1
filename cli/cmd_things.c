/*
 * cmd_things.c — cordon things list|get|create|delete|credentials.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_CAP 4096

int cmd_things_list(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    struct table t;
    struct buf groups;
    json_t *root = NULL, *things, *th;
    size_t i;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "", argc, argv)))
        return rc;
    if (o.npos)
        return cli_usage_error(c, "unexpected argument '%s'", o.pos[0]);
    http_response_init(&r);
    rc = http_call(c, "GET", "/api/v1/things", NULL, &r, &root);
    if (rc)
        goto out;
    if (c->json) {
        out_raw(&r);
        goto out;
    }
    things = json_object_get(root, "things");
    if (!json_array_size(things)) {
        fprintf(stderr, "No things.\n");
        goto out;
    }
    buf_init(&groups, 1 << 20);
    table_init(&t, 5, "NAME", "CREDENTIALS", "QUARANTINED", "GROUPS", "LAST REPORT");
    json_array_foreach(things, i, th)
    {
        char last[32], cred[64];
        table_row(&t, json_string_value(json_object_get(th, "thingName")),
                  out_json_text(json_object_get(th, "credentials"), cred, sizeof(cred)),
                  json_is_true(json_object_get(th, "quarantined")) ? "yes" : "no",
                  out_join(json_object_get(th, "groups"), &groups),
                  out_time(json_integer_value(json_object_get(th, "lastReportAt")), last));
    }
    table_print(&t);
    table_free(&t);
    buf_free(&groups);
out:
    json_decref(root);
    http_response_free(&r);
    return rc;
}

static void print_thing(json_t *th)
{
    char tbuf[32], cell[1024];
    struct buf groups;
    json_t *attrs = json_object_get(th, "attributes"), *v;
    const char *k;

    buf_init(&groups, 1 << 20);
    printf("Name:         %s\n", json_string_value(json_object_get(th, "thingName")));
    printf("Credentials:  %s\n",
           out_json_text(json_object_get(th, "credentials"), cell, sizeof(cell)));
    printf("Quarantined:  %s\n", json_is_true(json_object_get(th, "quarantined")) ? "yes" : "no");
    printf("Groups:       %s\n", out_join(json_object_get(th, "groups"), &groups));
    printf("Created:      %s\n",
           out_time(json_integer_value(json_object_get(th, "createdAt")), tbuf));
    printf("Last report:  %s",
           out_time(json_integer_value(json_object_get(th, "lastReportAt")), tbuf));
    if (json_is_integer(json_object_get(th, "lastReportId")))
        printf(" (report %lld)",
               (long long)json_integer_value(json_object_get(th, "lastReportId")));
    printf("\n");
    if (json_object_size(attrs)) {
        struct table t;
        printf("Attributes:\n");
        table_init(&t, 2, "  KEY", "VALUE");
        json_object_foreach(attrs, k, v)
        {
            char key[300];
            snprintf(key, sizeof(key), "  %s", k);
            table_row(&t, key, out_json_text(v, cell, sizeof(cell)));
        }
        table_print(&t);
        table_free(&t);
    }
    buf_free(&groups);
}

int cmd_things_get(struct cli *c, int argc, char **argv)
{
    return cli_show_one(c, argc, argv, "missing thing NAME", "one thing name expected",
                        "/api/v1/things/%s", print_thing);
}

/* ---- credentials ---------------------------------------------------------- */

struct cert_files {
    char crt[PATH_CAP], key[PATH_CAP], ca[PATH_CAP];
};

/* Check before asking the server: a certificate must not be issued and then lost. */
static int cert_files_prepare(const char *dir, const char *name, struct cert_files *f)
{
    struct stat st;

    if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
        out_error("--out %s: not a directory", dir);
        return CLI_EXIT_USAGE;
    }
    if (access(dir, W_OK)) {
        out_error("--out %s: not writable: %s", dir, strerror(errno));
        return CLI_EXIT_ERROR;
    }
    snprintf(f->crt, sizeof(f->crt), "%s/%s.crt", dir, name);
    snprintf(f->key, sizeof(f->key), "%s/%s.key", dir, name);
    snprintf(f->ca, sizeof(f->ca), "%s/ca.crt", dir);
    if (!access(f->crt, F_OK) || !access(f->key, F_OK)) {
        out_error("%s or %s exists already: remove it or choose another --out", f->crt, f->key);
        return CLI_EXIT_ERROR;
    }
    return 0;
}

static int write_secret(const char *path, const char *text, int exclusive)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : O_TRUNC), 0600);
    size_t len = strlen(text), off = 0;

    if (fd < 0) {
        out_error("cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            out_error("cannot write %s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    if (fsync(fd) || close(fd)) {
        out_error("cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * Ask for a new credential of `name` and hand it over: print the password,
 * or write the certificate files. *json_out gets the response (for --json).
 */
static int issue_credentials(struct cli *c, const char *name, int cert, const struct cert_files *f,
                             json_t **json_out)
{
    struct buf path;
    struct http_response r;
    json_t *body, *root = NULL;
    int rc;

    *json_out = NULL;
    buf_init(&path, PATH_CAP);
    http_path(&path, "/api/v1/things/%s/credentials", name);
    body = json_pack("{s:s}", "type", cert ? "certificate" : "password");
    http_response_init(&r);
    rc = http_call(c, "POST", path.ptr, body, &r, &root);
    json_decref(body);
    buf_free(&path);
    http_response_free(&r);
    if (rc)
        return rc;
    if (cert) {
        const char *crt = json_string_value(json_object_get(root, "certificatePem"));
        const char *key = json_string_value(json_object_get(root, "privateKeyPem"));
        const char *ca = json_string_value(json_object_get(root, "caPem"));
        if (!crt || !key) {
            out_error("the server's answer lacks certificatePem or privateKeyPem");
            json_decref(root);
            return CLI_EXIT_ERROR;
        }
        if (write_secret(f->key, key, 1) || write_secret(f->crt, crt, 1) ||
            (ca && write_secret(f->ca, ca, 0))) {
            fprintf(stderr,
                    "cordon: the certificate was issued but not saved; issue a new one "
                    "with `cordon things credentials %s --cert`\n",
                    name);
            json_decref(root);
            return CLI_EXIT_ERROR;
        }
        if (!c->json) {
            printf("Certificate for %s written (the key is shown nowhere else):\n", name);
            printf("  certificate  %s\n  private key  %s\n", f->crt, f->key);
            if (ca)
                printf("  CA           %s\n", f->ca);
        }
    } else {
        const char *pw = json_string_value(json_object_get(root, "password"));
        if (!pw) {
            out_error("the server's answer lacks the password");
            json_decref(root);
            return CLI_EXIT_ERROR;
        }
        if (!c->json)
            printf("Password for %s (shown once, store it now):\n%s\n", name, pw);
    }
    *json_out = root;
    return 0;
}

int cmd_things_create(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    struct cert_files files;
    json_t *body = NULL, *attrs, *thing = NULL, *creds = NULL;
    const char *const *av;
    const char *name;
    int rc, nattr, cert, none, i;

    if ((rc = cli_opts_parse(c, &o, "attr=,cert,out=,no-credentials", argc, argv)))
        return rc;
    if (o.npos != 1)
        return cli_usage_error(c, o.npos ? "one thing name expected" : "missing thing NAME");
    name = o.pos[0];
    cert = cli_opt(&o, "cert") != NULL;
    none = cli_opt(&o, "no-credentials") != NULL;
    if (cert && none)
        return cli_usage_error(c, "--cert and --no-credentials exclude each other");
    if (cli_opt(&o, "out") && !cert)
        return cli_usage_error(c, "--out only goes with --cert");
    if (cert &&
        (rc = cert_files_prepare(cli_opt(&o, "out") ? cli_opt(&o, "out") : ".", name, &files)))
        return rc;
    attrs = json_object();
    av = cli_opt_all(&o, "attr", &nattr);
    for (i = 0; i < nattr; i++) {
        const char *eq = strchr(av[i], '=');
        char key[256];
        if (!eq || eq == av[i] || (size_t)(eq - av[i]) >= sizeof(key)) {
            json_decref(attrs);
            return cli_usage_error(c, "--attr '%s': expected KEY=VALUE", av[i]);
        }
        memcpy(key, av[i], (size_t)(eq - av[i]));
        key[eq - av[i]] = '\0';
        json_object_set_new(attrs, key, json_string(eq + 1));
    }
    body = json_pack("{s:s, s:o}", "thingName", name, "attributes", attrs);
    http_response_init(&r);
    rc = http_call(c, "POST", "/api/v1/things", body, &r, &thing);
    json_decref(body);
    http_response_free(&r);
    if (rc)
        goto out;
    if (!c->json)
        printf("Created thing %s.\n", name);
    if (!none) {
        rc = issue_credentials(c, name, cert, &files, &creds);
        if (rc) {
            fprintf(stderr,
                    "cordon: the thing exists without a credential; retry with `cordon "
                    "things credentials %s%s`\n",
                    name, cert ? " --cert" : "");
            goto out;
        }
    }
    if (c->json) {
        json_t *both = json_pack("{s:O, s:O}", "thing", thing ? thing : json_null(), "credentials",
                                 creds ? creds : json_null());
        char *text = both ? json_dumps(both, JSON_INDENT(2)) : NULL;
        if (text)
            printf("%s\n", text);
        free(text);
        json_decref(both);
    }
out:
    json_decref(thing);
    json_decref(creds);
    return rc;
}

int cmd_things_credentials(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct cert_files files;
    json_t *creds = NULL;
    int rc, cert;

    if ((rc = cli_opts_parse(c, &o, "cert,out=", argc, argv)))
        return rc;
    if (o.npos != 1)
        return cli_usage_error(c, o.npos ? "one thing name expected" : "missing thing NAME");
    cert = cli_opt(&o, "cert") != NULL;
    if (cli_opt(&o, "out") && !cert)
        return cli_usage_error(c, "--out only goes with --cert");
    if (cert &&
        (rc = cert_files_prepare(cli_opt(&o, "out") ? cli_opt(&o, "out") : ".", o.pos[0], &files)))
        return rc;
    rc = issue_credentials(c, o.pos[0], cert, &files, &creds);
    if (!rc && c->json) {
        char *text = json_dumps(creds, JSON_INDENT(2));
        if (text)
            printf("%s\n", text);
        free(text);
    }
    json_decref(creds);
    return rc;
}

int cmd_things_delete(struct cli *c, int argc, char **argv)
{
    struct cli_opts o;
    struct http_response r;
    struct buf path;
    int rc;

    if ((rc = cli_opts_parse(c, &o, "", argc, argv)))
        return rc;
    if (o.npos != 1)
        return cli_usage_error(c, o.npos ? "one thing name expected" : "missing thing NAME");
    buf_init(&path, PATH_CAP);
    http_path(&path, "/api/v1/things/%s", o.pos[0]);
    http_response_init(&r);
    rc = http_call(c, "DELETE", path.ptr, NULL, &r, NULL);
    if (!rc && !c->json)
        printf("Deleted thing %s.\n", o.pos[0]);
    else if (!rc)
        out_raw(&r);
    http_response_free(&r);
    buf_free(&path);
    return rc;
}
