/*
 * runbook_tree.h — a positioned YAML/JSON tree for the runbook loader.
 *
 * libfyaml's event parser fills a small tree in which every node keeps its
 * line, column and byte span, so that every later validation error can name
 * where it is. Anchored nodes are shared by their aliases (never copied);
 * `weight` counts a subtree as if aliases were expanded, which bounds any
 * walk (billion-laughs documents are rejected by that weight). All nodes
 * belong to the tree and are freed together by runbook_tree_free().
 * Internal to libcordon's runbook modules.
 */
#ifndef CORDON_RUNBOOK_TREE_H
#define CORDON_RUNBOOK_TREE_H

#include "cordon.h"

#include <stdbool.h>
#include <stddef.h>

enum runbook_tree_type {
    RUNBOOK_TREE_SCALAR,
    RUNBOOK_TREE_SEQ,
    RUNBOOK_TREE_MAP,
};

/* What a scalar is, after YAML 1.2 core-schema resolution of plain scalars. */
enum runbook_tree_scalar {
    RUNBOOK_SCALAR_STRING,
    RUNBOOK_SCALAR_NULL,
    RUNBOOK_SCALAR_BOOL,
    RUNBOOK_SCALAR_INT,
    RUNBOOK_SCALAR_FLOAT,
};

struct runbook_tree_node {
    enum runbook_tree_type type;
    enum runbook_tree_scalar stype; /* scalars */
    int line;                       /* 1-based */
    int column;                     /* 1-based */
    size_t pos, end;                /* byte span in the source */
    char *text;                     /* scalars: NUL-terminated value */
    size_t len;
    struct runbook_tree_node **items; /* SEQ: n items; MAP: n pairs as key,value,key,value */
    size_t n;
    size_t alloc;
    size_t weight; /* nodes in the subtree with aliases expanded */
    struct runbook_tree_node *next_all;
};

struct runbook_tree {
    struct runbook_tree_node *root;
    struct runbook_tree_node *all;
    const char *src; /* borrowed, for positions inside scalars */
    size_t src_len;
    char file[256];
};

/*
 * Parse one YAML (or JSON, when `json` is true) document from src[0..len).
 * Rejects streams with more than one document, nesting deeper than
 * max_depth, more than max_nodes nodes after alias expansion, duplicate or
 * non-scalar mapping keys, and tags other than !!str. On failure returns
 * CORDON_EINVAL (or ENOMEM/ETOOBIG) with `diag` set ("file:line:col: ...")
 * and leaves `tree` empty. src must outlive the tree.
 */
int runbook_tree_parse(struct runbook_tree *tree, const char *src, size_t len, const char *file,
                       bool json, int max_depth, size_t max_nodes, struct cordon_diag *diag);

/* Free every node; the tree can be parsed into again. Safe on a zeroed tree. */
void runbook_tree_free(struct runbook_tree *tree);

/* In a MAP node, the value of `key` or NULL. */
struct runbook_tree_node *runbook_tree_get(const struct runbook_tree_node *map, const char *key);

/* 1-based line and column of byte `pos` in the tree's source. */
void runbook_tree_linecol(const struct runbook_tree *tree, size_t pos, int *line, int *column);

#endif
