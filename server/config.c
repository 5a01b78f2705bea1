/*
 * config.c — YAML configuration. Strict: an unknown key or a value of the
 * wrong type is an error with its position, so a typo never silently falls
 * back to a default.
 */
#include "config.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void config_defaults(struct config *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->broker_host, sizeof(c->broker_host), "127.0.0.1");
    c->broker_port = 1883;
    snprintf(c->broker_client_id, sizeof(c->broker_client_id), "cordond");
    c->broker_keepalive_s = 30;
    snprintf(c->api_host, sizeof(c->api_host), "127.0.0.1");
    c->api_port = 8080;
    c->api_max_body = 1024 * 1024;
    snprintf(c->db_path, sizeof(c->db_path), "./var/cordon.db");
    snprintf(c->data_dir, sizeof(c->data_dir), "./var");
    c->retention_ms = 14LL * 24 * 3600 * 1000;
    c->throttle_ms = 5000;
    c->report_max_bytes = 128 * 1024;
    c->auto_create_things = 1;
    snprintf(c->console_url, sizeof(c->console_url), "http://127.0.0.1:8080");
    c->log_level = LOG_INFO;
    c->smtp_port = 25;
    snprintf(c->runbook_python, sizeof(c->runbook_python), "/usr/bin/python3");
    c->runbook_script_timeout_max_ms = 600 * 1000;
    snprintf(c->smtp_security, sizeof(c->smtp_security), "none");
    snprintf(c->smtp_from, sizeof(c->smtp_from), "cordon@localhost");
    snprintf(c->gateway_preset, sizeof(c->gateway_preset), "generic");
}

struct loader {
    const char *path;
    char *err;
    size_t errlen;
};

static int node_pos(struct fy_node *n, int *line, int *col)
{
    struct fy_token *t = n ? fy_node_get_scalar_token(n) : NULL;
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    *line = m ? m->line + 1 : 0;
    *col = m ? m->column + 1 : 0;
    return 0;
}

static int fail(struct loader *L, struct fy_node *at, const char *fmt, const char *a)
{
    int line, col;
    char what[256];
    node_pos(at, &line, &col);
    snprintf(what, sizeof(what), fmt, a);
    snprintf(L->err, L->errlen, "%s:%d:%d: %s", L->path, line, col, what);
    return -1;
}

static int get_str(struct loader *L, struct fy_node *k, struct fy_node *v, char *out, size_t outlen)
{
    size_t len;
    const char *s;
    if (!v || !fy_node_is_scalar(v))
        return fail(L, k, "%s: expected a string", fy_node_get_scalar0(k));
    s = fy_node_get_scalar(v, &len);
    if (len >= outlen)
        return fail(L, v, "%s: value too long", fy_node_get_scalar0(k));
    memcpy(out, s, len);
    out[len] = 0;
    return 0;
}

static int get_int(struct loader *L, struct fy_node *k, struct fy_node *v, long long lo,
                   long long hi, long long *out)
{
    char tmp[64], *end;
    long long x;
    if (get_str(L, k, v, tmp, sizeof(tmp)))
        return -1;
    errno = 0;
    x = strtoll(tmp, &end, 10);
    if (errno || end == tmp || *end || x < lo || x > hi) {
        char what[160];
        snprintf(what, sizeof(what), "%s: expected an integer %lld..%lld", fy_node_get_scalar0(k),
                 lo, hi);
        return fail(L, v, "%s", what);
    }
    *out = x;
    return 0;
}

/* "5s", "250ms", "2m", "1h", "14d" or a bare number of milliseconds. */
static int get_duration_ms(struct loader *L, struct fy_node *k, struct fy_node *v, int64_t *out)
{
    char tmp[64], *end;
    double x;
    double mult = 1;
    if (get_str(L, k, v, tmp, sizeof(tmp)))
        return -1;
    errno = 0;
    x = strtod(tmp, &end);
    if (errno || end == tmp || x < 0)
        goto bad;
    if (strcmp(end, "ms") == 0 || *end == 0)
        mult = 1;
    else if (strcmp(end, "s") == 0)
        mult = 1000;
    else if (strcmp(end, "m") == 0)
        mult = 60000;
    else if (strcmp(end, "h") == 0)
        mult = 3600000;
    else if (strcmp(end, "d") == 0)
        mult = 86400000;
    else
        goto bad;
    *out = (int64_t)(x * mult);
    return 0;
bad:
    return fail(L, v, "%s: expected a duration like 500ms, 5s, 2m, 1h or 14d",
                fy_node_get_scalar0(k));
}

static int host_port(struct loader *L, struct fy_node *k, struct fy_node *v, char *host,
                     size_t hostlen, int *port)
{
    char tmp[300];
    char *colon;
    long p;
    if (get_str(L, k, v, tmp, sizeof(tmp)))
        return -1;
    colon = strrchr(tmp, ':');
    if (!colon)
        return fail(L, v, "%s: expected HOST:PORT", fy_node_get_scalar0(k));
    *colon = 0;
    p = strtol(colon + 1, NULL, 10);
    if (p < 0 || p > 65535 || strlen(tmp) >= hostlen)
        return fail(L, v, "%s: expected HOST:PORT", fy_node_get_scalar0(k));
    snprintf(host, hostlen, "%s", tmp);
    *port = (int)p;
    return 0;
}

#define KEY(name) (strcmp(key, name) == 0)

/* runbooks.functions: NAME: {runtime: python3|bash, script: PATH, handler: NAME} */
static int load_functions(struct loader *L, struct config *c, struct fy_node *map)
{
    void *it = NULL;
    struct fy_node_pair *p;
    if (!map || !fy_node_is_mapping(map))
        return fail(L, map, "%s", "runbooks.functions: expected a mapping NAME: {runtime, script}");
    c->runbook_nfunctions = 0;
    while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        const char *name = fy_node_get_scalar0(k);
        struct config_function *f;
        void *it2 = NULL;
        struct fy_node_pair *q;
        if (!name || !*name || strlen(name) >= sizeof(f->name))
            return fail(L, k, "%s", "runbooks.functions: a name of 1 to 128 characters expected");
        if (c->runbook_nfunctions >= CONFIG_FUNCTIONS_MAX)
            return fail(L, k, "%s", "runbooks.functions: too many (32 at most)");
        if (!v || !fy_node_is_mapping(v))
            return fail(L, k, "%s: expected a mapping {runtime, script, handler}", name);
        f = &c->runbook_functions[c->runbook_nfunctions];
        memset(f, 0, sizeof(*f));
        snprintf(f->name, sizeof(f->name), "%s", name);
        snprintf(f->runtime, sizeof(f->runtime), "python3");
        snprintf(f->handler, sizeof(f->handler), "handler");
        while ((q = fy_node_mapping_iterate(v, &it2)) != NULL) {
            struct fy_node *k2 = fy_node_pair_key(q), *v2 = fy_node_pair_value(q);
            const char *key = fy_node_get_scalar0(k2);
            int rc;
            if (!key)
                return fail(L, k2, "%s", "runbooks.functions: keys must be strings");
            if (KEY("runtime")) {
                rc = get_str(L, k2, v2, f->runtime, sizeof(f->runtime));
                if (!rc && strcmp(f->runtime, "bash") && strncmp(f->runtime, "python3", 7))
                    return fail(L, v2, "%s: expected python3 or bash", key);
            } else if (KEY("script"))
                rc = get_str(L, k2, v2, f->script, sizeof(f->script));
            else if (KEY("handler"))
                rc = get_str(L, k2, v2, f->handler, sizeof(f->handler));
            else
                return fail(L, k2, "unknown key runbooks.functions.*.%s", key);
            if (rc)
                return rc;
        }
        if (!f->script[0])
            return fail(L, k, "%s: script (a file path) is required", name);
        c->runbook_nfunctions++;
    }
    return 0;
}

static int load_section(struct loader *L, struct config *c, const char *section,
                        struct fy_node *map)
{
    void *it = NULL;
    struct fy_node_pair *p;
    long long x;

    while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        const char *key = fy_node_get_scalar0(k);
        int rc = 0;
        if (!key)
            return fail(L, k, "%s: keys must be strings", section);
        if (strcmp(section, "broker") == 0) {
            if (KEY("host"))
                rc = get_str(L, k, v, c->broker_host, sizeof(c->broker_host));
            else if (KEY("port")) {
                rc = get_int(L, k, v, 1, 65535, &x);
                c->broker_port = (int)x;
            } else if (KEY("username") || KEY("identity"))
                rc = get_str(L, k, v, c->broker_username, sizeof(c->broker_username));
            else if (KEY("password"))
                rc = get_str(L, k, v, c->broker_password, sizeof(c->broker_password));
            else if (KEY("client_id"))
                rc = get_str(L, k, v, c->broker_client_id, sizeof(c->broker_client_id));
            else if (KEY("tls_ca"))
                rc = get_str(L, k, v, c->broker_tls_ca, sizeof(c->broker_tls_ca));
            else if (KEY("tls_cert"))
                rc = get_str(L, k, v, c->broker_tls_cert, sizeof(c->broker_tls_cert));
            else if (KEY("tls_key"))
                rc = get_str(L, k, v, c->broker_tls_key, sizeof(c->broker_tls_key));
            else if (KEY("keepalive")) {
                rc = get_int(L, k, v, 5, 3600, &x);
                c->broker_keepalive_s = (int)x;
            } else
                return fail(L, k, "unknown key broker.%s", key);
        } else if (strcmp(section, "api") == 0) {
            if (KEY("listen"))
                rc = host_port(L, k, v, c->api_host, sizeof(c->api_host), &c->api_port);
            else if (KEY("max_body_bytes")) {
                rc = get_int(L, k, v, 1024, 64LL * 1024 * 1024, &x);
                c->api_max_body = (size_t)x;
            } else
                return fail(L, k, "unknown key api.%s", key);
        } else if (strcmp(section, "store") == 0) {
            if (KEY("path"))
                rc = get_str(L, k, v, c->db_path, sizeof(c->db_path));
            else if (KEY("retention"))
                rc = get_duration_ms(L, k, v, &c->retention_ms);
            else
                return fail(L, k, "unknown key store.%s", key);
        } else if (strcmp(section, "ingest") == 0) {
            if (KEY("throttle_floor"))
                rc = get_duration_ms(L, k, v, &c->throttle_ms);
            else if (KEY("report_max_bytes")) {
                rc = get_int(L, k, v, 256, 16LL * 1024 * 1024, &x);
                c->report_max_bytes = (size_t)x;
            } else if (KEY("auto_create_things")) {
                char b[16];
                rc = get_str(L, k, v, b, sizeof(b));
                if (!rc && strcmp(b, "true") && strcmp(b, "false"))
                    return fail(L, v, "%s: expected true or false", key);
                c->auto_create_things = strcmp(b, "true") == 0;
            } else
                return fail(L, k, "unknown key ingest.%s", key);
        } else if (strcmp(section, "console") == 0) {
            if (KEY("base_url"))
                rc = get_str(L, k, v, c->console_url, sizeof(c->console_url));
            else if (KEY("web_root"))
                rc = get_str(L, k, v, c->console_web_root, sizeof(c->console_web_root));
            else
                return fail(L, k, "unknown key console.%s", key);
        } else if (strcmp(section, "smtp") == 0) {
            if (KEY("host"))
                rc = get_str(L, k, v, c->smtp_host, sizeof(c->smtp_host));
            else if (KEY("port")) {
                rc = get_int(L, k, v, 1, 65535, &x);
                c->smtp_port = (int)x;
            } else if (KEY("security")) {
                rc = get_str(L, k, v, c->smtp_security, sizeof(c->smtp_security));
                if (!rc && strcmp(c->smtp_security, "starttls") &&
                    strcmp(c->smtp_security, "tls") && strcmp(c->smtp_security, "none"))
                    return fail(L, v, "%s: expected starttls, tls or none", key);
            } else if (KEY("username"))
                rc = get_str(L, k, v, c->smtp_username, sizeof(c->smtp_username));
            else if (KEY("password"))
                rc = get_str(L, k, v, c->smtp_password, sizeof(c->smtp_password));
            else if (KEY("from"))
                rc = get_str(L, k, v, c->smtp_from, sizeof(c->smtp_from));
            else
                return fail(L, k, "unknown key smtp.%s", key);
        } else if (strcmp(section, "sms_gateway") == 0) {
            if (KEY("url"))
                rc = get_str(L, k, v, c->gateway_url, sizeof(c->gateway_url));
            else if (KEY("preset")) {
                rc = get_str(L, k, v, c->gateway_preset, sizeof(c->gateway_preset));
                if (!rc && strcmp(c->gateway_preset, "generic") &&
                    strcmp(c->gateway_preset, "twilio"))
                    return fail(L, v, "%s: expected generic or twilio", key);
            } else if (KEY("body"))
                rc = get_str(L, k, v, c->gateway_template, sizeof(c->gateway_template));
            else if (KEY("content_type"))
                rc = get_str(L, k, v, c->gateway_content_type, sizeof(c->gateway_content_type));
            else if (KEY("username"))
                rc = get_str(L, k, v, c->gateway_username, sizeof(c->gateway_username));
            else if (KEY("password"))
                rc = get_str(L, k, v, c->gateway_password, sizeof(c->gateway_password));
            else if (KEY("from"))
                rc = get_str(L, k, v, c->gateway_from, sizeof(c->gateway_from));
            else
                return fail(L, k, "unknown key sms_gateway.%s", key);
        } else if (strcmp(section, "runbooks") == 0) {
            if (KEY("python"))
                rc = get_str(L, k, v, c->runbook_python, sizeof(c->runbook_python));
            else if (KEY("script_timeout_max")) {
                rc = get_duration_ms(L, k, v, &c->runbook_script_timeout_max_ms);
                if (!rc && (c->runbook_script_timeout_max_ms < 1000 ||
                            c->runbook_script_timeout_max_ms > 600 * 1000))
                    return fail(L, v, "%s: expected 1s to 600s", key);
            } else if (KEY("functions")) {
                rc = load_functions(L, c, v);
            } else
                return fail(L, k, "unknown key runbooks.%s", key);
        } else if (strcmp(section, "paging") == 0) {
            if (KEY("ack_base_url"))
                rc = get_str(L, k, v, c->ack_base_url, sizeof(c->ack_base_url));
            else
                return fail(L, k, "unknown key paging.%s", key);
        } else if (strcmp(section, "log") == 0) {
            if (KEY("level")) {
                char b[16];
                rc = get_str(L, k, v, b, sizeof(b));
                if (!rc && log_level_parse(b, &c->log_level))
                    return fail(L, v, "%s: expected debug, info, warn or error", key);
            } else
                return fail(L, k, "unknown key log.%s", key);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int config_load(struct config *c, const char *path, char *err, size_t errlen)
{
    struct loader L = { path, err, errlen };
    struct fy_parse_cfg pcfg = { 0 };
    struct fy_diag_cfg dcfg;
    struct fy_diag *diag;
    struct fy_document *fyd;
    struct fy_node *root;
    void *it = NULL;
    struct fy_node_pair *p;
    int rc = 0;

    snprintf(c->path, sizeof(c->path), "%s", path);
    fy_diag_cfg_default(&dcfg);
    diag = fy_diag_create(&dcfg);
    if (!diag) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    fy_diag_set_collect_errors(diag, true);
    pcfg.flags = FYPCF_QUIET;
    pcfg.diag = diag;
    fyd = fy_document_build_from_file(&pcfg, path);
    if (!fyd) {
        void *eit = NULL;
        struct fy_diag_error *e = fy_diag_errors_iterate(diag, &eit);
        FILE *f = fopen(path, "r");
        if (!f)
            snprintf(err, errlen, "%s:0:0: cannot open: %s", path, strerror(errno));
        else if (e)
            snprintf(err, errlen, "%s:%d:%d: %s", path, e->line + 1, e->column + 1, e->msg);
        else
            snprintf(err, errlen, "%s:0:0: not valid YAML", path);
        if (f)
            fclose(f);
        fy_diag_unref(diag);
        return -1;
    }
    root = fy_document_root(fyd);
    if (!root) /* empty file: defaults */
        goto out;
    if (!fy_node_is_mapping(root)) {
        rc = fail(&L, root, "%s", "the configuration must be a mapping");
        goto out;
    }
    while ((p = fy_node_mapping_iterate(root, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        const char *key = fy_node_get_scalar0(k);
        if (!key) {
            rc = fail(&L, k, "%s", "keys must be strings");
            goto out;
        }
        if (strcmp(key, "data_dir") == 0) {
            rc = get_str(&L, k, v, c->data_dir, sizeof(c->data_dir));
        } else if (KEY("broker") || KEY("api") || KEY("store") || KEY("ingest") || KEY("console") ||
                   KEY("log") || KEY("smtp") || KEY("sms_gateway") || KEY("paging") ||
                   KEY("runbooks")) {
            if (!v || !fy_node_is_mapping(v)) {
                rc = fail(&L, k, "%s: expected a mapping", key);
                goto out;
            }
            rc = load_section(&L, c, key, v);
        } else {
            rc = fail(&L, k, "unknown key %s", key);
        }
        if (rc)
            goto out;
    }
out:
    fy_document_destroy(fyd);
    fy_diag_unref(diag);
    return rc;
}
