#include "runbook_tree.h"
#include "utf8.h"

#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TREE_MAP_MAX_KEYS 1024 /* keys per mapping; the duplicate check is quadratic */

struct anchor {
    char *name;
    struct runbook_tree_node *node;
    struct anchor *next;
};

struct parse_ctx {
    struct runbook_tree *tree;
    struct runbook_tree_node **stack;
    int depth;
    int max_depth;
    size_t max_nodes;
    struct anchor *anchors;
    struct cordon_diag *diag;
};

static void tree_err(struct runbook_tree *t, struct cordon_diag *d, const char *code, int line,
                     int column, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void tree_err(struct runbook_tree *t, struct cordon_diag *d, const char *code, int line,
                     int column, const char *fmt, ...)
{
    char msg[CORDON_DIAG_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (t->file[0])
        cordon_diag_set(d, code, 0, line, column, "%s:%d:%d: %s", t->file, line, column, msg);
    else
        cordon_diag_set(d, code, 0, line, column, "%d:%d: %s", line, column, msg);
}

void runbook_tree_free(struct runbook_tree *tree)
{
    struct runbook_tree_node *n, *next;

    if (!tree)
        return;
    for (n = tree->all; n; n = next) {
        next = n->next_all;
        free(n->text);
        free(n->items);
        free(n);
    }
    tree->all = NULL;
    tree->root = NULL;
}

void runbook_tree_linecol(const struct runbook_tree *tree, size_t pos, int *line, int *column)
{
    utf8_line_column(tree->src, pos < tree->src_len ? pos : tree->src_len, line, column);
}

struct runbook_tree_node *runbook_tree_get(const struct runbook_tree_node *map, const char *key)
{
    size_t i;

    if (!map || map->type != RUNBOOK_TREE_MAP)
        return NULL;
    for (i = 0; i + 1 < map->n; i += 2)
        if (strcmp(map->items[i]->text, key) == 0)
            return map->items[i + 1];
    return NULL;
}

static struct runbook_tree_node *node_new(struct runbook_tree *t, enum runbook_tree_type type,
                                          struct fy_event *e)
{
    struct runbook_tree_node *n = calloc(1, sizeof(*n));
    const struct fy_mark *m;

    if (!n)
        return NULL;
    n->type = type;
    n->weight = 1;
    m = fy_event_start_mark(e);
    if (m) {
        n->pos = m->input_pos;
        n->line = m->line + 1;
        n->column = m->column + 1;
    }
    m = fy_event_end_mark(e);
    n->end = m ? m->input_pos : n->pos;
    n->next_all = t->all;
    t->all = n;
    return n;
}

static bool match_any(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0)
            return true;
    return false;
}

/* YAML 1.2 core schema for plain scalars (what JSON numbers and literals are too). */
static enum runbook_tree_scalar resolve_plain(const char *s)
{
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
    static const char *const bools[] = { "true", "True", "TRUE", "false", "False", "FALSE", NULL };
    static const char *const special[] = { ".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf",
                                           "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
                                           ".NaN",  ".NAN",  NULL };
    const char *p = s;
    bool digits = false, dot = false, exp = false;

    if (match_any(s, nulls))
        return RUNBOOK_SCALAR_NULL;
    if (match_any(s, bools))
        return RUNBOOK_SCALAR_BOOL;
    if (match_any(s, special))
        return RUNBOOK_SCALAR_FLOAT;
    if (*p == '-' || *p == '+')
        p++;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'o') && p[2]) {
        const char *q = p + 2;
        for (; *q; q++)
            if (!(p[1] == 'x' ? strchr("0123456789abcdefABCDEF", *q) : strchr("01234567", *q)))
                return RUNBOOK_SCALAR_STRING;
        return RUNBOOK_SCALAR_INT;
    }
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            digits = true;
        } else if (*p == '.' && !dot && !exp) {
            dot = true;
        } else if ((*p == 'e' || *p == 'E') && digits && !exp) {
            exp = true;
            if (p[1] == '+' || p[1] == '-')
                p++;
            if (!(p[1] >= '0' && p[1] <= '9'))
                return RUNBOOK_SCALAR_STRING;
        } else {
            return RUNBOOK_SCALAR_STRING;
        }
    }
    if (!digits)
        return RUNBOOK_SCALAR_STRING;
    return (dot || exp) ? RUNBOOK_SCALAR_FLOAT : RUNBOOK_SCALAR_INT;
}

static int node_append(struct runbook_tree_node *parent, struct runbook_tree_node *child)
{
    if (parent->n == parent->alloc) {
        size_t na = parent->alloc ? parent->alloc * 2 : 8;
        struct runbook_tree_node **it = realloc(parent->items, na * sizeof(*it));
        if (!it)
            return CORDON_ENOMEM;
        parent->items = it;
        parent->alloc = na;
    }
    parent->items[parent->n++] = child;
    return 0;
}

static size_t weight_add(size_t a, size_t b)
{
    return (a > SIZE_MAX - b) ? SIZE_MAX : a + b;
}

/* Attach `child` to the open container on top of the stack (or make it the root). */
static int attach(struct parse_ctx *c, struct runbook_tree_node *child)
{
    struct runbook_tree *t = c->tree;
    struct runbook_tree_node *top;
    int rc;

    if (c->depth == 0) {
        t->root = child;
        return 0;
    }
    top = c->stack[c->depth - 1];
    if (top->type == RUNBOOK_TREE_MAP && (top->n % 2) == 0) {
        size_t i;
        if (child->type != RUNBOOK_TREE_SCALAR) {
            tree_err(t, c->diag, "InvalidKey", child->line, child->column,
                     "a mapping key must be a plain string, not a %s",
                     child->type == RUNBOOK_TREE_MAP ? "mapping" : "sequence");
            return CORDON_EINVAL;
        }
        if (top->n / 2 >= TREE_MAP_MAX_KEYS) {
            tree_err(t, c->diag, "TooManyKeys", child->line, child->column,
                     "more than %d keys in one mapping", TREE_MAP_MAX_KEYS);
            return CORDON_ETOOBIG;
        }
        for (i = 0; i < top->n; i += 2) {
            if (strcmp(top->items[i]->text, child->text) == 0) {
                tree_err(t, c->diag, "DuplicateKey", child->line, child->column,
                         "duplicate key '%s' (first at line %d)", child->text, top->items[i]->line);
                return CORDON_EINVAL;
            }
        }
    }
    rc = node_append(top, child);
    if (rc)
        return rc;
    return 0;
}

static int anchor_add(struct parse_ctx *c, struct fy_token *tok, struct runbook_tree_node *n)
{
    struct anchor *a;
    size_t len;
    const char *name;

    if (!tok)
        return 0;
    name = fy_token_get_text(tok, &len);
    if (!name)
        return 0;
    a = calloc(1, sizeof(*a));
    if (!a)
        return CORDON_ENOMEM;
    a->name = strndup(name, len);
    if (!a->name) {
        free(a);
        return CORDON_ENOMEM;
    }
    a->node = n;
    a->next = c->anchors; /* newest first: a redefined anchor shadows the old one */
    c->anchors = a;
    return 0;
}

static int check_tag(struct parse_ctx *c, struct fy_token *tag, struct runbook_tree_node *n,
                     bool *force_string)
{
    const char *txt;

    *force_string = false;
    if (!tag)
        return 0;
    txt = fy_token_get_text0(tag);
    if (txt && n->type == RUNBOOK_TREE_SCALAR &&
        (strcmp(txt, "tag:yaml.org,2002:str") == 0 || strcmp(txt, "!!str") == 0)) {
        *force_string = true;
        return 0;
    }
    tree_err(c->tree, c->diag, "UnsupportedTag", n->line, n->column,
             "YAML tag '%s' is not supported (only !!str)", txt ? txt : "?");
    return CORDON_EINVAL;
}

static bool has_quote_pair(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i + 1 < len; i++)
        if (s[i] == '\'' && s[i + 1] == '\'')
            return true;
    return false;
}

/*
 * The value of a single-quoted scalar from its source text (between the
 * quotes): '' is a quote; a line break and the blanks around it fold into one
 * space, or into n-1 newlines for n breaks (YAML 1.2 §7.3.2).
 */
static char *single_quoted_decode(const char *raw, size_t len, size_t *outlen)
{
    char *out = malloc(len + 1);
    size_t i = 0, o = 0;

    if (!out)
        return NULL;
    while (i < len) {
        char c = raw[i];
        if (c == '\'' && i + 1 < len && raw[i + 1] == '\'') {
            out[o++] = '\'';
            i += 2;
        } else if (c == '\n' || c == '\r') {
            size_t breaks = 0;
            while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
                o--;
            while (i < len &&
                   (raw[i] == '\n' || raw[i] == '\r' || raw[i] == ' ' || raw[i] == '\t')) {
                if (raw[i] == '\n')
                    breaks++;
                i++;
            }
            if (breaks <= 1)
                out[o++] = ' ';
            else
                while (--breaks > 0)
                    out[o++] = '\n';
        } else {
            out[o++] = c;
            i++;
        }
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

static int on_event(struct parse_ctx *c, struct fy_event *e, int *docs)
{
    struct runbook_tree *t = c->tree;
    struct runbook_tree_node *n;
    const struct fy_mark *m = fy_event_start_mark(e);
    bool force_string;
    int rc;

    switch (e->type) {
    case FYET_DOCUMENT_START:
        if (++*docs > 1) {
            tree_err(t, c->diag, "MultipleDocuments", m ? m->line + 1 : 0, m ? m->column + 1 : 0,
                     "expected one YAML document, found a second one");
            return CORDON_EINVAL;
        }
        return 0;
    case FYET_SCALAR: {
        size_t len = 0;
        const char *txt = NULL;
        n = node_new(t, RUNBOOK_TREE_SCALAR, e);
        if (!n)
            return CORDON_ENOMEM;
        if (fy_token_scalar_style(e->scalar.value) == FYSS_SINGLE_QUOTED && n->end > n->pos &&
            n->end <= t->src_len && has_quote_pair(t->src + n->pos, n->end - n->pos)) {
            /* libfyaml 0.7.12 leaks the text of single-quoted scalars with many ''
             * escapes; decode those from the source instead. */
            n->text = single_quoted_decode(t->src + n->pos, n->end - n->pos, &n->len);
        } else {
            txt = fy_token_get_text(e->scalar.value, &len);
            n->text = strndup(txt ? txt : "", txt ? len : 0);
            n->len = txt ? len : 0;
        }
        if (!n->text)
            return CORDON_ENOMEM;
        if (strlen(n->text) != n->len) {
            tree_err(t, c->diag, "InvalidScalar", n->line, n->column,
                     "expected text without NUL characters");
            return CORDON_EINVAL;
        }
        rc = check_tag(c, e->scalar.tag, n, &force_string);
        if (rc)
            return rc;
        {
            /* Point at the opening quote of a quoted scalar, where people look. */
            enum fy_scalar_style sty = fy_token_scalar_style(e->scalar.value);
            if ((sty == FYSS_SINGLE_QUOTED || sty == FYSS_DOUBLE_QUOTED) && n->pos > 0 &&
                n->pos <= t->src_len && n->column > 1 &&
                t->src[n->pos - 1] == (sty == FYSS_SINGLE_QUOTED ? '\'' : '"')) {
                n->pos--;
                n->column--;
            }
        }
        n->stype = (!force_string && fy_token_scalar_style(e->scalar.value) == FYSS_PLAIN)
                       ? resolve_plain(n->text)
                       : RUNBOOK_SCALAR_STRING;
        rc = anchor_add(c, e->scalar.anchor, n);
        if (rc)
            return rc;
        return attach(c, n);
    }
    case FYET_ALIAS: {
        size_t len;
        const char *name = fy_token_get_text(e->alias.anchor, &len);
        struct anchor *a;
        for (a = c->anchors; a; a = a->next)
            if (name && strlen(a->name) == len && memcmp(a->name, name, len) == 0)
                break;
        if (!a) {
            tree_err(t, c->diag, "UnknownAlias", m ? m->line + 1 : 0, m ? m->column + 1 : 0,
                     "alias to an unknown anchor");
            return CORDON_EINVAL;
        }
        if (a->node->weight > c->max_nodes) {
            tree_err(t, c->diag, "TooBig", m ? m->line + 1 : 0, m ? m->column + 1 : 0,
                     "aliases expand past the limit of %zu nodes", c->max_nodes);
            return CORDON_ETOOBIG;
        }
        /* An alias to a collection still open on the stack would be a cycle. */
        for (int i = 0; i < c->depth; i++) {
            if (c->stack[i] == a->node) {
                tree_err(t, c->diag, "RecursiveAlias", m ? m->line + 1 : 0, m ? m->column + 1 : 0,
                         "an alias may not refer to its own parent");
                return CORDON_EINVAL;
            }
        }
        return attach(c, a->node);
    }
    case FYET_MAPPING_START:
    case FYET_SEQUENCE_START:
        n = node_new(t, e->type == FYET_MAPPING_START ? RUNBOOK_TREE_MAP : RUNBOOK_TREE_SEQ, e);
        if (!n)
            return CORDON_ENOMEM;
        rc = check_tag(c,
                       e->type == FYET_MAPPING_START ? e->mapping_start.tag : e->sequence_start.tag,
                       n, &force_string);
        if (rc)
            return rc;
        rc = anchor_add(
            c, e->type == FYET_MAPPING_START ? e->mapping_start.anchor : e->sequence_start.anchor,
            n);
        if (rc)
            return rc;
        rc = attach(c, n);
        if (rc)
            return rc;
        if (c->depth >= c->max_depth) {
            tree_err(t, c->diag, "TooDeep", n->line, n->column,
                     "nesting deeper than the limit of %d levels", c->max_depth);
            return CORDON_ETOOBIG;
        }
        c->stack[c->depth++] = n;
        return 0;
    case FYET_MAPPING_END:
    case FYET_SEQUENCE_END: {
        size_t i, w = 1;
        if (c->depth == 0)
            return CORDON_EINVAL;
        n = c->stack[--c->depth];
        {
            const struct fy_mark *me = fy_event_end_mark(e);
            if (me)
                n->end = me->input_pos;
        }
        for (i = 0; i < n->n; i++)
            w = weight_add(w, n->items[i]->weight);
        n->weight = w;
        if (w > c->max_nodes) {
            tree_err(t, c->diag, "TooBig", n->line, n->column,
                     "document has more than %zu nodes (aliases expanded)", c->max_nodes);
            return CORDON_ETOOBIG;
        }
        return 0;
    }
    default:
        return 0;
    }
}

int runbook_tree_parse(struct runbook_tree *tree, const char *src, size_t len, const char *file,
                       bool json, int max_depth, size_t max_nodes, struct cordon_diag *diag)
{
    struct fy_diag_cfg dcfg;
    struct fy_diag *fyd = NULL;
    struct fy_parser *fyp = NULL;
    struct fy_parse_cfg pcfg;
    struct parse_ctx c;
    struct fy_event *e;
    int rc = 0, docs = 0;
    struct anchor *a, *an;

    memset(tree, 0, sizeof(*tree));
    tree->src = src;
    tree->src_len = len;
    snprintf(tree->file, sizeof(tree->file), "%s", file ? file : "");
    memset(&c, 0, sizeof(c));
    c.tree = tree;
    c.max_depth = max_depth;
    c.max_nodes = max_nodes;
    c.diag = diag;
    c.stack = calloc((size_t)max_depth + 1, sizeof(*c.stack));
    if (!c.stack)
        return CORDON_ENOMEM;

    {
        size_t bad;
        /* libfyaml 0.7.12 can loop forever on some invalid UTF-8 */
        if (utf8_check(src, len, &bad)) {
            int line, col;
            runbook_tree_linecol(tree, bad, &line, &col);
            tree_err(tree, diag, "InvalidEncoding", line, col,
                     "expected UTF-8 text, found byte 0x%02x", (unsigned char)src[bad]);
            rc = CORDON_EINVAL;
            goto out;
        }
    }
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = NULL;
    dcfg.level = FYET_ERROR;
    fyd = fy_diag_create(&dcfg);
    if (!fyd) {
        rc = CORDON_ENOMEM;
        goto out;
    }
    fy_diag_set_collect_errors(fyd, true);
    memset(&pcfg, 0, sizeof(pcfg));
    pcfg.flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_DISABLE_RECYCLING |
                 (json ? FYPCF_JSON_FORCE : FYPCF_JSON_NONE);
    pcfg.diag = fyd;
    fyp = fy_parser_create(&pcfg);
    if (!fyp) {
        rc = CORDON_ENOMEM;
        goto out;
    }
    if (fy_parser_set_string(fyp, src, len)) {
        rc = CORDON_ENOMEM;
        goto out;
    }
    while ((e = fy_parser_parse(fyp)) != NULL) {
        rc = on_event(&c, e, &docs);
        fy_parser_event_free(fyp, e);
        if (rc)
            goto out;
    }
    if (fy_parser_get_stream_error(fyp)) {
        void *it = NULL;
        struct fy_diag_error *de = fy_diag_errors_iterate(fyd, &it);
        tree_err(tree, diag, "InvalidYaml", de ? de->line : 0, de ? de->column : 0, "%s: %s",
                 json ? "invalid JSON" : "invalid YAML", de && de->msg ? de->msg : "syntax error");
        rc = CORDON_EINVAL;
        goto out;
    }
    if (!tree->root) {
        tree_err(tree, diag, "EmptyDocument", 1, 1, "expected a document, found nothing");
        rc = CORDON_EINVAL;
    }
out:
    for (a = c.anchors; a; a = an) {
        an = a->next;
        free(a->name);
        free(a);
    }
    free(c.stack);
    if (fyp)
        fy_parser_destroy(fyp);
    if (fyd)
        fy_diag_destroy(fyd);
    if (rc)
        runbook_tree_free(tree);
    return rc;
}
