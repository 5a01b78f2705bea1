/*
 * incident_yaml.h — YAML helpers shared by the incident-response loaders
 * (contact.c, response_plan.c): strict node readers that report
 * file:line:column and what was expected, and a block-style YAML writer
 * for `cordon export` that prints a JSON value.
 *
 * Internal to libcordon's incident modules; other modules may use it.
 */
#ifndef CORDON_INCIDENT_YAML_H
#define CORDON_INCIDENT_YAML_H

#include "buf.h"
#include "cordon.h"

#include <jansson.h>
#include <libfyaml.h>
#include <stdbool.h>
#include <stdint.h>

/* Largest YAML/JSON document the incident loaders accept (contacts, plans). */
#define INCIDENT_YAML_MAX_BYTES (1024 * 1024)
/* Deepest node nesting the loaders walk. */
#define INCIDENT_YAML_MAX_DEPTH 32

/* Reading context: the file name shown in messages and the diag to fill. */
struct incident_yaml {
    const char *file;
    struct cordon_diag *diag;
};

/*
 * Parse one YAML (or JSON) document from text. On success *out is the
 * document (caller frees it with fy_document_destroy). Syntax errors,
 * aliases, multiple documents and inputs over INCIDENT_YAML_MAX_BYTES fail
 * with CORDON_EINVAL/CORDON_ETOOBIG and a positioned diag.
 */
int incident_yaml_parse(const char *text, size_t len, const char *file, struct fy_document **out,
                        struct cordon_diag *diag);

/* Fill the diag with "file:line:col: path: message" at node n; returns CORDON_EINVAL. */
int incident_yaml_fail(const struct incident_yaml *y, struct fy_node *n, const char *path,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Node is a mapping (else error "expected a mapping"). */
int incident_yaml_map(const struct incident_yaml *y, struct fy_node *n, const char *path);
/* Node is a sequence of at most max items. */
int incident_yaml_seq(const struct incident_yaml *y, struct fy_node *n, const char *path,
                      size_t max);
/* Every key of mapping n is a scalar in the NULL-terminated list `allowed`. */
int incident_yaml_keys(const struct incident_yaml *y, struct fy_node *n, const char *path,
                       const char *const *allowed);
/* Value of key in mapping n, or NULL. */
struct fy_node *incident_yaml_get(struct fy_node *n, const char *key);
/* Human description of a node's kind, for "got ..." messages. */
const char *incident_yaml_kind(struct fy_node *n);

/* Scalar string of length min..max copied into out (size max+1). */
int incident_yaml_str(const struct incident_yaml *y, struct fy_node *n, const char *path,
                      size_t min, size_t max, char *out);
/* Same, allocated (caller frees *out). */
int incident_yaml_strdup(const struct incident_yaml *y, struct fy_node *n, const char *path,
                         size_t min, size_t max, char **out);
/* Plain integer scalar in [min, max]. */
int incident_yaml_int(const struct incident_yaml *y, struct fy_node *n, const char *path,
                      long long min, long long max, long long *out);
/* true/false scalar. */
int incident_yaml_bool(const struct incident_yaml *y, struct fy_node *n, const char *path,
                       bool *out);
/* Scalar equal to one of names[0..n-1] (NULL-terminated); *out = index. */
int incident_yaml_enum(const struct incident_yaml *y, struct fy_node *n, const char *path,
                       const char *const *names, int *out);
/* A YAML subtree converted to JSON (scalars become strings, except
 * plain true/false/null/integers). Caller owns *out. */
int incident_yaml_to_json(const struct incident_yaml *y, struct fy_node *n, const char *path,
                          int depth, json_t **out);

/*
 * Write a JSON value as block-style YAML at the given indent (spaces).
 * Strings are written double-quoted so every value round-trips.
 */
int incident_yaml_emit(struct buf *out, const json_t *v, int indent);

/*
 * A stack kind's write (lib/stack.h) from the YAML text in b: on 0 *out is
 * a node of fyd parsed from b, and fyd owns b's memory (libfyaml keeps
 * pointers into its input; do not free b); on error (CORDON_ENOMEM) *out is
 * NULL and b is freed.
 */
int incident_yaml_node_take(struct fy_document *fyd, struct buf *b, struct fy_node **out);

/* Compare two JSON objects for stack_diff: 0 when equal, else 1 and a
 * reason like "plan changed" naming the first differing key. */
int incident_json_compare(const json_t *a, const json_t *b, char *reason, size_t size);

/* Characters allowed in names: [a-zA-Z0-9_-] (plus '.' ':' '/' when extra is set). */
bool incident_name_valid(const char *s, const char *extra);

#endif
