/*
 * incident_yaml.c — strict YAML readers with positioned errors, and a
 * block YAML writer, for the contact and response-plan loaders.
 */
#include "incident_yaml.h"
#include "utf8.h"
#include "yaml_util.h"

#include "stack.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void mark_of(struct fy_node *n, int *line, int *col, size_t *pos)
{
    const struct fy_mark *m = yaml_node_mark(n, INCIDENT_YAML_MAX_DEPTH + 2);

    *line = m ? m->line + 1 : 0;
    *col = m ? m->column + 1 : 0;
    *pos = m ? m->input_pos : 0;
    if (!m && n) /* empty collection: ask libfyaml's diagnostics (lib/stack.c) */
        stack_node_position(n, line, col);
}

int incident_yaml_fail(const struct incident_yaml *y, struct fy_node *n, const char *path,
                       const char *fmt, ...)
{
    char msg[CORDON_DIAG_MSG_MAX];
    int line, col;
    size_t pos;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    mark_of(n, &line, &col, &pos);
    cordon_diag_set(y->diag, "InvalidField", pos, line, col, "%s:%d:%d: %s: %s",
                    y->file ? y->file : "<input>", line, col, path && *path ? path : "(document)",
                    msg);
    return CORDON_EINVAL;
}

/* Reject aliases anywhere (no alias expansion bombs) and over-deep nesting. */
static int check_tree(const struct incident_yaml *y, struct fy_node *n, int depth)
{
    void *it = NULL;

    if (!n)
        return 0;
    if (depth > INCIDENT_YAML_MAX_DEPTH)
        return incident_yaml_fail(y, n, "", "nesting deeper than %d levels",
                                  INCIDENT_YAML_MAX_DEPTH);
    if (fy_node_get_style(n) == FYNS_ALIAS)
        return incident_yaml_fail(y, n, "", "YAML aliases are not supported");
    if (fy_node_is_sequence(n)) {
        struct fy_node *c;
        while ((c = fy_node_sequence_iterate(n, &it)))
            if (check_tree(y, c, depth + 1))
                return CORDON_EINVAL;
    } else if (fy_node_is_mapping(n)) {
        struct fy_node_pair *p;
        while ((p = fy_node_mapping_iterate(n, &it))) {
            if (check_tree(y, fy_node_pair_key(p), depth + 1) ||
                check_tree(y, fy_node_pair_value(p), depth + 1))
                return CORDON_EINVAL;
        }
    }
    return 0;
}

/* libfyaml 0.7.12 reports parse errors through its diag output callback
 * ("<input>:LINE:COL: error: MESSAGE"); keep the first one. */
struct parse_err {
    bool have;
    int line, column;
    char msg[256];
};

static void parse_err_out(struct fy_diag *d, void *user, const char *buf, size_t len)
{
    struct parse_err *pe = user;
    char tmp[512];
    char *err, *p;
    size_t n = len < sizeof(tmp) - 1 ? len : sizeof(tmp) - 1;

    (void)d;
    if (pe->have)
        return;
    memcpy(tmp, buf, n);
    tmp[n] = '\0';
    err = strstr(tmp, ": error: ");
    if (!err)
        return;
    pe->have = true;
    snprintf(pe->msg, sizeof(pe->msg), "%s", err + 9);
    p = strchr(pe->msg, '\n');
    if (p)
        *p = '\0';
    *err = '\0';
    /* tmp ends with ":LINE:COL" */
    p = strrchr(tmp, ':');
    if (p) {
        pe->column = atoi(p + 1);
        *p = '\0';
        p = strrchr(tmp, ':');
        if (p)
            pe->line = atoi(p + 1);
    }
}

int incident_yaml_parse(const char *text, size_t len, const char *file, struct fy_document **out,
                        struct cordon_diag *diag)
{
    struct incident_yaml y = { file, diag };
    struct fy_diag_cfg dcfg;
    struct fy_diag *fyd = NULL;
    struct fy_parse_cfg cfg;
    struct fy_parser *fyp = NULL;
    struct fy_document *doc = NULL, *extra = NULL;
    struct parse_err pe = { 0 };
    size_t bad;
    int result = CORDON_EINVAL;

    *out = NULL;
    if (len > INCIDENT_YAML_MAX_BYTES) {
        cordon_diag_set(diag, "TooBig", 0, 0, 0, "%s: document is %zu bytes, limit %d",
                        file ? file : "<input>", len, INCIDENT_YAML_MAX_BYTES);
        return CORDON_ETOOBIG;
    }
    /* libfyaml 0.7.12 can loop on invalid UTF-8: check it first */
    if (utf8_check(text, len, &bad)) {
        int line, col;
        utf8_line_char_column(text, bad, &line, &col);
        cordon_diag_set(diag, "InvalidEncoding", bad, line, col,
                        "%s:%d:%d: invalid UTF-8 or NUL byte; expected UTF-8 text",
                        file ? file : "<input>", line, col);
        return CORDON_EINVAL;
    }
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = parse_err_out;
    dcfg.user = &pe;
    dcfg.colorize = false;
    dcfg.show_source = false;
    dcfg.show_position = true;
    fyd = fy_diag_create(&dcfg);
    if (!fyd)
        return CORDON_ENOMEM;
    memset(&cfg, 0, sizeof(cfg));
    cfg.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG;
    cfg.diag = fyd;
    fyp = fy_parser_create(&cfg);
    if (!fyp) {
        result = CORDON_ENOMEM;
        goto out;
    }
    if (fy_parser_set_string(fyp, text, len)) {
        result = CORDON_ENOMEM;
        goto out;
    }
    doc = fy_parse_load_document(fyp);
    if (doc && !fy_parser_get_stream_error(fyp)) {
        extra = fy_parse_load_document(fyp);
        if (extra) {
            incident_yaml_fail(&y, fy_document_root(extra), "",
                               "more than one YAML document; expected exactly one");
            goto out;
        }
    }
    if (!doc && !pe.have && !fy_parser_get_stream_error(fyp)) {
        cordon_diag_set(diag, "EmptyDocument", 0, 1, 1,
                        "%s:1:1: empty document; expected a mapping", file ? file : "<input>");
        goto out;
    }
    if (!doc || fy_parser_get_stream_error(fyp) || fy_diag_got_error(fyd)) {
        cordon_diag_set(diag, "SyntaxError", 0, pe.line, pe.column,
                        "%s:%d:%d: YAML syntax error: %s", file ? file : "<input>", pe.line,
                        pe.column, pe.have ? pe.msg : "invalid YAML");
        goto out;
    }
    if (!fy_document_root(doc)) {
        cordon_diag_set(diag, "EmptyDocument", 0, 1, 1,
                        "%s:1:1: empty document; expected a mapping", file ? file : "<input>");
        goto out;
    }
    if (check_tree(&y, fy_document_root(doc), 0))
        goto out;
    *out = doc;
    doc = NULL;
    result = 0;
out:
    if (extra)
        fy_document_destroy(extra);
    if (doc)
        fy_document_destroy(doc);
    if (fyp)
        fy_parser_destroy(fyp);
    fy_diag_destroy(fyd);
    return result;
}

const char *incident_yaml_kind(struct fy_node *n)
{
    if (!n)
        return "nothing";
    if (fy_node_is_mapping(n))
        return "a mapping";
    if (fy_node_is_sequence(n))
        return "a sequence";
    return "a scalar";
}

int incident_yaml_map(const struct incident_yaml *y, struct fy_node *n, const char *path)
{
    if (!n || !fy_node_is_mapping(n))
        return incident_yaml_fail(y, n, path, "expected a mapping, got %s", incident_yaml_kind(n));
    return 0;
}

int incident_yaml_seq(const struct incident_yaml *y, struct fy_node *n, const char *path,
                      size_t max)
{
    if (!n || !fy_node_is_sequence(n))
        return incident_yaml_fail(y, n, path, "expected a sequence, got %s", incident_yaml_kind(n));
    if ((size_t)fy_node_sequence_item_count(n) > max)
        return incident_yaml_fail(y, n, path, "expected at most %zu items, got %d", max,
                                  fy_node_sequence_item_count(n));
    return 0;
}

int incident_yaml_keys(const struct incident_yaml *y, struct fy_node *n, const char *path,
                       const char *const *allowed)
{
    void *it = NULL;
    struct fy_node_pair *p;

    while ((p = fy_node_mapping_iterate(n, &it))) {
        struct fy_node *k = fy_node_pair_key(p);
        const char *ks = k && fy_node_is_scalar(k) ? fy_node_get_scalar0(k) : NULL;
        size_t i;
        char list[256] = "";
        size_t used = 0;

        if (!ks)
            return incident_yaml_fail(y, k, path, "expected a scalar key");
        for (i = 0; allowed[i]; i++)
            if (!strcmp(ks, allowed[i]))
                break;
        if (allowed[i])
            continue;
        for (i = 0; allowed[i] && used < sizeof(list) - 1; i++) {
            int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", allowed[i]);
            if (w < 0)
                break;
            used += (size_t)w;
        }
        return incident_yaml_fail(y, k, path, "unknown key '%s'; expected one of: %s", ks, list);
    }
    return 0;
}

struct fy_node *incident_yaml_get(struct fy_node *n, const char *key)
{
    if (!n || !fy_node_is_mapping(n))
        return NULL;
    return fy_node_mapping_lookup_by_string(n, key, strlen(key));
}

static const char *scalar(struct fy_node *n, size_t *len)
{
    if (!n || !fy_node_is_scalar(n))
        return NULL;
    return fy_node_get_scalar(n, len);
}

int incident_yaml_str(const struct incident_yaml *y, struct fy_node *n, const char *path,
                      size_t min, size_t max, char *out)
{
    size_t len = 0;
    const char *s = scalar(n, &len);

    if (!s)
        return incident_yaml_fail(y, n, path, "expected a string, got %s", incident_yaml_kind(n));
    if (memchr(s, '\0', len))
        return incident_yaml_fail(y, n, path, "string contains a NUL character");
    if (len < min || len > max)
        return incident_yaml_fail(y, n, path, "expected a string of %zu to %zu characters, got %zu",
                                  min, max, len);
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

int incident_yaml_strdup(const struct incident_yaml *y, struct fy_node *n, const char *path,
                         size_t min, size_t max, char **out)
{
    size_t len = 0;
    const char *s = scalar(n, &len);
    char *p;

    *out = NULL;
    if (!s)
        return incident_yaml_fail(y, n, path, "expected a string, got %s", incident_yaml_kind(n));
    if (memchr(s, '\0', len))
        return incident_yaml_fail(y, n, path, "string contains a NUL character");
    if (len < min || len > max)
        return incident_yaml_fail(y, n, path, "expected a string of %zu to %zu characters, got %zu",
                                  min, max, len);
    p = malloc(len + 1);
    if (!p)
        return CORDON_ENOMEM;
    memcpy(p, s, len);
    p[len] = '\0';
    *out = p;
    return 0;
}

static bool plain(struct fy_node *n)
{
    return fy_node_get_style(n) == FYNS_PLAIN;
}

int incident_yaml_int(const struct incident_yaml *y, struct fy_node *n, const char *path,
                      long long min, long long max, long long *out)
{
    size_t len = 0;
    const char *s = scalar(n, &len);
    char tmp[32];
    char *end;
    long long v;

    if (!s || !plain(n) || len == 0 || len >= sizeof(tmp))
        return incident_yaml_fail(y, n, path, "expected an integer from %lld to %lld", min, max);
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    errno = 0;
    v = strtoll(tmp, &end, 10);
    if (errno || *end || (tmp[0] != '-' && (tmp[0] < '0' || tmp[0] > '9')))
        return incident_yaml_fail(y, n, path, "expected an integer from %lld to %lld, got '%s'",
                                  min, max, tmp);
    if (v < min || v > max)
        return incident_yaml_fail(y, n, path, "expected an integer from %lld to %lld, got %lld",
                                  min, max, v);
    *out = v;
    return 0;
}

int incident_yaml_bool(const struct incident_yaml *y, struct fy_node *n, const char *path,
                       bool *out)
{
    size_t len = 0;
    const char *s = scalar(n, &len);

    if (s && plain(n) && len == 4 && !memcmp(s, "true", 4)) {
        *out = true;
        return 0;
    }
    if (s && plain(n) && len == 5 && !memcmp(s, "false", 5)) {
        *out = false;
        return 0;
    }
    return incident_yaml_fail(y, n, path, "expected true or false");
}

int incident_yaml_enum(const struct incident_yaml *y, struct fy_node *n, const char *path,
                       const char *const *names, int *out)
{
    size_t len = 0, used = 0;
    const char *s = scalar(n, &len);
    char list[256] = "";
    int i;

    for (i = 0; s && names[i]; i++) {
        if (strlen(names[i]) == len && !memcmp(s, names[i], len)) {
            *out = i;
            return 0;
        }
    }
    for (i = 0; names[i] && used < sizeof(list) - 1; i++) {
        int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? " | " : "", names[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return incident_yaml_fail(y, n, path, "expected one of %s", list);
}

int incident_yaml_to_json(const struct incident_yaml *y, struct fy_node *n, const char *path,
                          int depth, json_t **out)
{
    void *it = NULL;
    json_t *v = NULL;

    *out = NULL;
    if (depth > INCIDENT_YAML_MAX_DEPTH)
        return incident_yaml_fail(y, n, path, "nesting too deep");
    if (fy_node_is_mapping(n)) {
        struct fy_node_pair *p;
        v = json_object();
        if (!v)
            return CORDON_ENOMEM;
        while ((p = fy_node_mapping_iterate(n, &it))) {
            struct fy_node *k = fy_node_pair_key(p);
            const char *ks = k && fy_node_is_scalar(k) ? fy_node_get_scalar0(k) : NULL;
            json_t *c;
            int r;
            if (!ks) {
                json_decref(v);
                return incident_yaml_fail(y, k, path, "expected a scalar key");
            }
            r = incident_yaml_to_json(y, fy_node_pair_value(p), path, depth + 1, &c);
            if (r) {
                json_decref(v);
                return r;
            }
            if (json_object_set_new(v, ks, c)) {
                json_decref(v);
                return CORDON_ENOMEM;
            }
        }
    } else if (fy_node_is_sequence(n)) {
        struct fy_node *e;
        v = json_array();
        if (!v)
            return CORDON_ENOMEM;
        while ((e = fy_node_sequence_iterate(n, &it))) {
            json_t *c;
            int r = incident_yaml_to_json(y, e, path, depth + 1, &c);
            if (r) {
                json_decref(v);
                return r;
            }
            json_array_append_new(v, c);
        }
    } else {
        size_t len = 0;
        const char *s = n ? fy_node_get_scalar(n, &len) : "";
        if (!s)
            s = "";
        if (n && plain(n) && len == 4 && !memcmp(s, "true", 4))
            v = json_true();
        else if (n && plain(n) && len == 5 && !memcmp(s, "false", 5))
            v = json_false();
        else if (!n || (plain(n) && (len == 0 || (len == 4 && !memcmp(s, "null", 4)))))
            v = json_null();
        else {
            char tmp[32], *end;
            long long iv;
            if (plain(n) && len > 0 && len < sizeof(tmp)) {
                memcpy(tmp, s, len);
                tmp[len] = '\0';
                errno = 0;
                iv = strtoll(tmp, &end, 10);
                if (!errno && !*end && (tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9'))) {
                    *out = json_integer(iv);
                    return *out ? 0 : CORDON_ENOMEM;
                }
            }
            v = json_stringn(s, len);
        }
        if (!v)
            return CORDON_ENOMEM;
    }
    *out = v;
    return 0;
}

/* ---- writer ----------------------------------------------------------- */

static int indent_to(struct buf *out, int indent)
{
    int i, r = 0;

    for (i = 0; i < indent && !r; i++)
        r = buf_addc(out, ' ');
    return r;
}

/* A string that reads back as the same string when written plain. */
static bool plain_safe(const char *s, size_t n)
{
    static const char *const words[] = { "true", "false", "null", "yes", "no", "on",
                                         "off",  "y",     "n",    "~",   NULL };
    size_t i;

    if (n == 0 || n > 200 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == '@' || c == '/'))
            return false;
    }
    for (i = 0; words[i]; i++)
        if (strlen(words[i]) == n && !strncasecmp(words[i], s, n))
            return false;
    return true;
}

static int emit_scalar(struct buf *out, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        if (plain_safe(json_string_value(v), json_string_length(v)))
            return buf_add(out, json_string_value(v), json_string_length(v));
        return buf_add_json_string(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        return buf_printf(out, "%.17g", json_real_value(v));
    case JSON_TRUE:
        return buf_adds(out, "true");
    case JSON_FALSE:
        return buf_adds(out, "false");
    case JSON_NULL:
        return buf_adds(out, "null");
    case JSON_OBJECT:
        return buf_adds(out, "{}");
    case JSON_ARRAY:
        return buf_adds(out, "[]");
    }
    return CORDON_EINVAL;
}

static bool is_block(const json_t *v)
{
    return (json_is_object(v) && json_object_size(v)) || (json_is_array(v) && json_array_size(v));
}

static bool plain_key(const char *k)
{
    return *k && incident_name_valid(k, ".");
}

int incident_yaml_emit(struct buf *out, const json_t *v, int indent)
{
    int r = 0;

    if (json_is_object(v) && json_object_size(v)) {
        const char *k;
        json_t *c;
        json_object_foreach((json_t *)v, k, c)
        {
            r = indent_to(out, indent);
            if (!r)
                r = plain_key(k) ? buf_adds(out, k) : buf_add_json_string(out, k, strlen(k));
            if (!r)
                r = buf_addc(out, ':');
            if (!r && is_block(c)) {
                r = buf_addc(out, '\n');
                if (!r)
                    r = incident_yaml_emit(out, c, json_is_array(c) ? indent : indent + 2);
            } else if (!r) {
                r = buf_addc(out, ' ');
                if (!r)
                    r = emit_scalar(out, c);
                if (!r)
                    r = buf_addc(out, '\n');
            }
            if (r)
                return r;
        }
        return 0;
    }
    if (json_is_array(v) && json_array_size(v)) {
        size_t i;
        json_t *c;
        json_array_foreach((json_t *)v, i, c)
        {
            r = indent_to(out, indent);
            if (!r)
                r = buf_adds(out, "- ");
            if (r)
                return r;
            if (json_is_object(c) && json_object_size(c)) {
                /* first key on the dash line, the rest aligned under it */
                struct buf tmp;
                buf_init(&tmp, out->cap);
                r = incident_yaml_emit(&tmp, c, indent + 2);
                if (!r)
                    r = buf_add(out, tmp.ptr + indent + 2, tmp.len - (size_t)(indent + 2));
                buf_free(&tmp);
            } else if (is_block(c)) {
                r = buf_addc(out, '\n');
                if (!r)
                    r = incident_yaml_emit(out, c, indent + 2);
            } else {
                r = emit_scalar(out, c);
                if (!r)
                    r = buf_addc(out, '\n');
            }
            if (r)
                return r;
        }
        return 0;
    }
    r = indent_to(out, indent);
    if (!r)
        r = emit_scalar(out, v);
    if (!r)
        r = buf_addc(out, '\n');
    return r;
}

bool incident_name_valid(const char *s, const char *extra)
{
    for (; *s; s++) {
        char c = *s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_')
            continue;
        if (extra && strchr(extra, c))
            continue;
        return false;
    }
    return true;
}

int incident_yaml_node_take(struct fy_document *fyd, struct buf *b, struct fy_node **out)
{
    /* the document owns the text: libfyaml keeps pointers into it */
    *out = fy_node_build_from_malloc_string(fyd, b->ptr, b->len);
    if (*out)
        return 0;
    buf_free(b);
    return CORDON_ENOMEM;
}
