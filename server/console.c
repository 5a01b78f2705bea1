/*
 * console.c — the operator console's static files (docs/console.md):
 * GET / serves index.html, GET /console/{file} the other files, from the
 * web root (config console.web_root; default <dir of cordond>/../../web when
 * it exists, else /usr/share/cordon/web). No token: the page's API calls
 * carry it. Only plain file names in the root itself are served.
 */
#include "cordon.h"
#include "http.h"
#include "log.h"
#include "modules.h"
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONSOLE_FILE_MAX     (1024 * 1024) /* docs/console.md: largest static file served */
#define CONSOLE_DEFAULT_ROOT "/usr/share/cordon/web"

static char console_root[PATH_MAX]; /* resolved web root; "" = none */

static const char *console_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        { ".html", "text/html; charset=utf-8" },
        { ".css", "text/css; charset=utf-8" },
        { ".js", "text/javascript; charset=utf-8" },
        { ".json", "application/json" },
        { ".svg", "image/svg+xml" },
        { ".png", "image/png" },
        { ".ico", "image/x-icon" },
        { ".txt", "text/plain; charset=utf-8" },
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

/* A plain file name: [A-Za-z0-9._-], not starting with '.', no "..". */
static int console_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 128 || name[0] == '.' || strstr(name, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static void console_send(struct http_res *res, const char *name)
{
    char path[PATH_MAX], real[PATH_MAX];
    const char *type = console_type(name);
    size_t rootlen = strlen(console_root);
    struct stat st;
    FILE *f;
    char chunk[8192];
    size_t n;

    if (!console_root[0]) {
        http_error(res, 404, "not_found", "the console is not installed (console.web_root)");
        return;
    }
    if (!console_name_ok(name) || !type) {
        http_error(res, 404, "not_found", "no such console file");
        return;
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", console_root, name) >= sizeof(path) ||
        !realpath(path, real) || strncmp(real, console_root, rootlen) != 0 ||
        real[rootlen] != '/' || stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        http_error(res, 404, "not_found", "no such console file");
        return;
    }
    if (st.st_size > CONSOLE_FILE_MAX) {
        http_error(res, 500, "internal", "console file over %d bytes", CONSOLE_FILE_MAX);
        return;
    }
    f = fopen(real, "rb");
    if (!f) {
        http_error(res, 404, "not_found", "no such console file");
        return;
    }
    buf_reset(&res->body);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (res->body.len + n > CONSOLE_FILE_MAX || buf_add(&res->body, chunk, n) != 0) {
            fclose(f);
            http_error(res, 500, "internal", "console file over %d bytes", CONSOLE_FILE_MAX);
            return;
        }
    }
    fclose(f);
    res->status = 200;
    res->content_type = type;
}

static void console_index(struct server *s, struct http_req *req, struct http_res *res)
{
    (void)s;
    (void)req;
    console_send(res, "index.html");
}

static void console_file(struct server *s, struct http_req *req, struct http_res *res)
{
    (void)s;
    console_send(res, req->params[0]);
}

/* Resolve the web root into console_root ("" when none is usable). */
static void console_root_find(struct server *s)
{
    char exe[PATH_MAX], cand[PATH_MAX + 16];
    ssize_t n;
    struct stat st;

    console_root[0] = 0;
    if (s->cfg.console_web_root[0]) {
        if (!realpath(s->cfg.console_web_root, console_root) || stat(console_root, &st) != 0 ||
            !S_ISDIR(st.st_mode)) {
            log_warn("console web root unusable", "path=%s err=%s", s->cfg.console_web_root,
                     strerror(errno));
            console_root[0] = 0;
        }
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        char *slash;
        exe[n] = 0;
        slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(cand, sizeof(cand), "%s/../../web", exe);
            if (realpath(cand, console_root) && stat(console_root, &st) == 0 && S_ISDIR(st.st_mode))
                return;
        }
    }
    if (!realpath(CONSOLE_DEFAULT_ROOT, console_root) || stat(console_root, &st) != 0 ||
        !S_ISDIR(st.st_mode))
        console_root[0] = 0;
}

int console_init(struct server *s)
{
    int rc;
    console_root_find(s);
    log_info("console", "web_root=%s", console_root[0] ? console_root : "(none)");
    if ((rc = http_route(s, "GET", "/", HTTP_ROLE_NONE, console_index)) != 0 ||
        (rc = http_route(s, "GET", "/console/{file}", HTTP_ROLE_NONE, console_file)) != 0)
        return rc;
    return 0;
}
