/*
 * cli.h — the `cordon` command-line client: shared types.
 *
 * cordon is a client of the REST API only (docs/api.md). main.c resolves
 * the endpoint and token, finds the command in the command table and calls
 * its handler with the words after the command name. A handler returns an
 * exit code (CLI_EXIT_*); it prints its own results and errors.
 *
 * Adding a command: write `int cmd_x_y(struct cli *c, int argc, char **argv)`
 * in a cmd_*.c file, declare it below, add one row to the table in main.c
 * with its usage text. Nothing else.
 */
#ifndef CORDON_CLI_H
#define CORDON_CLI_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"

/* Exit codes (documented in `cordon --help` and docs/cli.md). */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,   /* the API refused or failed; invalid input file */
    CLI_EXIT_USAGE = 2,   /* bad command line */
    CLI_EXIT_CONNECT = 3, /* cannot reach the server */
    CLI_EXIT_AUTH = 4,    /* no token, token refused (401) or role too weak (403) */
};

#define CLI_RESPONSE_MAX (64 * 1024 * 1024) /* an API response body */
#define CLI_TOKEN_MAX    512                /* a token, bytes */
#define CLI_URL_MAX      1024               /* base URL */
#define CLI_FILE_MAX     (16 * 1024 * 1024) /* a file read by the CLI (stack, token) */

struct cli_command;

struct cli {
    char url[CLI_URL_MAX];         /* base URL, no trailing slash */
    char token[CLI_TOKEN_MAX];     /* "" = none */
    char token_source[1100];       /* where the token came from, for messages */
    int json;                      /* --json: raw API JSON on stdout */
    int verbose;                   /* -v: show requests on stderr */
    long timeout_s;                /* whole request */
    const struct cli_command *cmd; /* the command being run (for usage) */
};

/* One row of the command table. */
struct cli_command {
    const char *name; /* "things list" */
    int (*run)(struct cli *c, int argc, char **argv);
    const char *summary; /* one line for `cordon --help` */
    const char *usage;   /* full help: SYNOPSIS, DESCRIPTION, OPTIONS, EXAMPLES */
};

/* ---- http.c: one request to the API (libcurl easy) ------------------------ */

struct http_response {
    long status; /* HTTP status; 0 when no response */
    struct buf body;
    char content_type[128];
};

void http_response_init(struct http_response *r);
void http_response_free(struct http_response *r);

/*
 * Send METHOD url+path with the bearer token, an optional body (JSON unless
 * content_type says otherwise) and optional extra header lines (NULL-ended).
 * Returns CLI_EXIT_OK when a response arrived (any status; see r->status),
 * CLI_EXIT_CONNECT (message printed) when the server cannot be reached.
 */
int http_request(struct cli *c, const char *method, const char *path, const char *body,
                 size_t body_len, const char *content_type, const char *const *headers,
                 struct http_response *r);

/* Percent-encode s for one path segment or query value into out. */
int http_escape(const char *s, struct buf *out);

/* Build a path from fmt, where each %s is replaced by the next argument, percent-encoded. */
int http_path(struct buf *out, const char *fmt, ...);

/*
 * Common path: send, then for a 2xx parse JSON (when the body is JSON) into
 * *json (may be NULL when the caller wants the raw body) and return
 * CLI_EXIT_OK; for other statuses print `cordon: <code>: <message>` and
 * return CLI_EXIT_AUTH (401/403) or CLI_EXIT_ERROR.
 */
int http_call(struct cli *c, const char *method, const char *path, json_t *body,
              struct http_response *r, json_t **json);

/* Print the API error of a non-2xx response and return the exit code for it. */
int http_report_error(const struct http_response *r);

/* ---- out.c: output for people --------------------------------------------- */

struct table {
    size_t ncols;
    size_t nrows;
    char **cells; /* nrows+1 rows (header first) of ncols cells */
    size_t alloc;
};

void table_init(struct table *t, size_t ncols, ...); /* header cells */
void table_row(struct table *t, ...);                /* ncols cells (NULL prints "-") */
void table_print(struct table *t);                   /* aligned columns, stdout */
void table_free(struct table *t);

/* ms since the epoch as "2026-11-28T06:00:45Z" into out[32]; "-" for <= 0. */
const char *out_time(long long ms, char out[32]);
/* Print the raw body (for --json) with a trailing newline. */
void out_raw(const struct http_response *r);
/* A JSON value as text for a cell: strings as is, null as "-", others compact JSON. */
const char *out_json_text(json_t *v, char *out, size_t size);
/* The strings of a JSON array joined with "," into b (reset first); "-" when none. */
const char *out_join(json_t *array, struct buf *b);
/* `cordon: ` + message on stderr. */
void out_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- main.c: helpers for commands ----------------------------------------- */

/*
 * The `get` command of a resource: exactly one positional argument (else
 * usage with `missing` / `too_many`), GET path_fmt with it (one %s,
 * URL-escaped), then the raw body with --json or print(root). Returns the
 * exit code.
 */
int cli_show_one(struct cli *c, int argc, char **argv, const char *missing, const char *too_many,
                 const char *path_fmt, void (*print)(json_t *root));

/* Print the running command's usage to stderr; return CLI_EXIT_USAGE. */
int cli_usage_error(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A tiny option parser for one command. specs: "name" (flag) or "name="
 * (takes a value), long names; short aliases as "f|file=". Parses argv in
 * place: options may come anywhere, `--` ends them. Positional words are
 * collected into pos[] (npos). Returns 0 or CLI_EXIT_USAGE after printing
 * the usage. `--help` prints the full usage and returns -1 (exit 0).
 */
#define CLI_OPTS_MAX 16
#define CLI_POS_MAX  16
struct cli_opts {
    char names[CLI_OPTS_MAX][32];
    int takes_value[CLI_OPTS_MAX];
    const char *value[CLI_OPTS_MAX];      /* last value (or "1" for a flag); NULL = absent */
    const char *values[CLI_OPTS_MAX][32]; /* every value of a repeated option */
    int nvalues[CLI_OPTS_MAX];
    size_t n;
    const char *pos[CLI_POS_MAX];
    int npos;
};

int cli_opts_parse(struct cli *c, struct cli_opts *o, const char *specs, int argc, char **argv);
/* The value of option `name` (long name), or NULL. */
const char *cli_opt(const struct cli_opts *o, const char *name);
/* Every value of a repeatable option; count in *n. */
const char *const *cli_opt_all(const struct cli_opts *o, const char *name, int *n);

/* Read a whole file ("-" = stdin) into out (capped at CLI_FILE_MAX). 0 or -1 (message printed). */
int cli_read_file(const char *path, struct buf *out);

/* ---- commands ------------------------------------------------------------- */

int cmd_runbooks_put(struct cli *c, int argc, char **argv);
int cmd_runbooks_get(struct cli *c, int argc, char **argv);
int cmd_runbooks_list(struct cli *c, int argc, char **argv);
int cmd_runbooks_validate(struct cli *c, int argc, char **argv);
int cmd_executions_start(struct cli *c, int argc, char **argv);
int cmd_executions_get(struct cli *c, int argc, char **argv);
int cmd_executions_list(struct cli *c, int argc, char **argv);
int cmd_executions_signal(struct cli *c, int argc, char **argv);

int cmd_things_list(struct cli *c, int argc, char **argv);

int cmd_things_get(struct cli *c, int argc, char **argv);
int cmd_things_create(struct cli *c, int argc, char **argv);
int cmd_things_delete(struct cli *c, int argc, char **argv);
int cmd_things_credentials(struct cli *c, int argc, char **argv);

int cmd_groups_list(struct cli *c, int argc, char **argv);
int cmd_groups_get(struct cli *c, int argc, char **argv);
int cmd_groups_create(struct cli *c, int argc, char **argv);
int cmd_groups_delete(struct cli *c, int argc, char **argv);
int cmd_groups_add_thing(struct cli *c, int argc, char **argv);
int cmd_groups_remove_thing(struct cli *c, int argc, char **argv);

int cmd_profiles_list(struct cli *c, int argc, char **argv);
int cmd_profiles_get(struct cli *c, int argc, char **argv);

int cmd_violations_list(struct cli *c, int argc, char **argv);
int cmd_violations_get(struct cli *c, int argc, char **argv);
int cmd_violations_verify(struct cli *c, int argc, char **argv);

int cmd_quarantine_add(struct cli *c, int argc, char **argv);
int cmd_quarantine_remove(struct cli *c, int argc, char **argv);

int cmd_config_plan(struct cli *c, int argc, char **argv);
int cmd_config_apply(struct cli *c, int argc, char **argv);
int cmd_config_export(struct cli *c, int argc, char **argv);

int cmd_incidents_list(struct cli *c, int argc, char **argv);
int cmd_incidents_get(struct cli *c, int argc, char **argv);
int cmd_incidents_update(struct cli *c, int argc, char **argv);
int cmd_incidents_note(struct cli *c, int argc, char **argv);
int cmd_incidents_resolve(struct cli *c, int argc, char **argv);
int cmd_ack(struct cli *c, int argc, char **argv);
int cmd_analysis_create(struct cli *c, int argc, char **argv);
int cmd_analysis_get(struct cli *c, int argc, char **argv);
int cmd_contacts_list(struct cli *c, int argc, char **argv);
int cmd_contacts_get(struct cli *c, int argc, char **argv);
int cmd_contacts_activate(struct cli *c, int argc, char **argv);

int cmd_health(struct cli *c, int argc, char **argv);

#endif
