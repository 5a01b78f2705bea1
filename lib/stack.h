/*
 * stack.h — configuration as code.
 *
 * A stack is one YAML document that declares a fleet's configuration:
 *
 *   thingGroups:       [{name, description?, attributes?}]   (this module)
 *   securityProfiles:  [profile]        (struct profile, lib/profile.h)
 *   contacts, escalationPlans, responsePlans, runbooks       (reserved, later)
 *
 * stack_parse() reads such a document into a struct stack (objects of every
 * kind, sorted by name), stack_diff() compares the running configuration
 * with a desired one and lists what to create, update and delete, and
 * stack_write() renders a stack back as YAML (`cordon export`). The format
 * is documented in docs/config.md.
 *
 * Kinds. Every object kind is described by a struct stack_kind: the
 * top-level key, the singular kind name used in change lists, and the
 * functions that parse one list item from a libfyaml node, name it, write it
 * back as a node, compare two of them and free one. stack.c holds the table
 * of known kinds in canonical order; adding a kind is one line in that
 * table plus a `const struct stack_kind` exported by the kind's module (see
 * stack_kind_group below for the pattern). Keys reserved for kinds that are
 * not implemented yet are rejected with CORDON_EUNSUPPORTED and a position.
 *
 * The thing group `QUARANTINED` is implicit: stack_parse() adds it when the
 * document does not declare it, and stack_diff() never deletes it.
 *
 * Pure: no I/O. Positions in diagnostics are "file:line:column: ..." where
 * file is the name the caller passes (a path, or "request" for an API body).
 */
#ifndef CORDON_STACK_H
#define CORDON_STACK_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "cordon.h"

struct fy_node;
struct fy_document;

/* Named limits (documented in docs/config.md). */
#define STACK_MAX_BYTES       (1024 * 1024) /* a stack document */
#define STACK_OBJECTS_MAX     1000          /* objects of one kind */
#define STACK_NAME_MAX        128           /* an object name, bytes */
#define STACK_REASON_MAX      160           /* a change's reason, bytes incl. NUL */
#define STACK_KINDS_MAX       8             /* kinds in one table */
#define STACK_GROUP_DESC_MAX  2028          /* thing group description, bytes */
#define STACK_GROUP_ATTRS_MAX 50            /* attributes of one thing group */
#define STACK_ATTR_KEY_MAX    128           /* attribute key, bytes */
#define STACK_ATTR_VALUE_MAX  800           /* attribute value, bytes */

#define STACK_QUARANTINED             "QUARANTINED"
#define STACK_QUARANTINED_DESCRIPTION "Things isolated at the broker"

/* ---- kinds ---------------------------------------------------------------- */

struct stack_kind {
    const char *key;  /* top-level YAML key, plural: "thingGroups" */
    const char *kind; /* singular name in change lists and JSON: "thingGroup" */

    /*
     * Parse one item of the kind's list. `file` names the input in messages.
     * On success returns 0 and sets *obj to a new object (freed with free).
     * On failure returns a negative CORDON_E* code, leaves *obj NULL and
     * fills diag with a "file:line:column: field: problem" message.
     */
    int (*parse)(struct fy_node *node, const char *file, void **obj, struct cordon_diag *diag);
    /* The object's name; borrowed, valid while the object lives; never NULL. */
    const char *(*name)(const void *obj);
    /*
     * Build the YAML node of obj inside fyd (not attached anywhere). Returns
     * 0 and sets *out, or a negative code with *out NULL. Writing then
     * parsing must give an object that compares equal.
     */
    int (*write)(const void *obj, struct fy_document *fyd, struct fy_node **out);
    /*
     * Compare two objects of the kind with the same name. Returns 0 when
     * they are equal, 1 when they differ, then writes a short reason for
     * people ("description changed") into reason (always NUL-terminated).
     */
    int (*compare)(const void *a, const void *b, char *reason, size_t reason_size);
    /* Free an object (NULL is a no-op). */
    void (*free)(void *obj);
};

/* ---- thing groups (the kind this module owns) ----------------------------- */

struct stack_attr {
    char *key;
    char *value;
};

struct stack_group {
    char *name;
    char *description;        /* NULL when absent */
    struct stack_attr *attrs; /* sorted by key, unique keys */
    size_t nattrs;
    int implicit; /* 1: QUARANTINED added by stack_parse, not in the document */
};

extern const struct stack_kind stack_kind_group;

/*
 * Create a thing group (for building a stack from a store, e.g. export).
 * description may be NULL. Returns 0 and sets *out (free with
 * stack_group_free), CORDON_EINVAL for a bad name (diag-less: the caller
 * built it), CORDON_ENOMEM.
 */
int stack_group_new(const char *name, const char *description, struct stack_group **out);
/* Add or replace an attribute; keeps attrs sorted. 0, CORDON_EINVAL, CORDON_ETOOBIG, ENOMEM. */
int stack_group_attr_set(struct stack_group *g, const char *key, const char *value);
void stack_group_free(struct stack_group *g);

/* ---- security profiles: lib/profile's struct profile, key securityProfiles ---- */

extern const struct stack_kind stack_kind_profile;

/* ---- a stack -------------------------------------------------------------- */

struct stack_list {
    void **objs; /* sorted by name */
    size_t len;
    size_t alloc;
};

struct stack {
    const struct stack_kind *const *kinds;
    size_t nkinds;
    struct stack_list lists[STACK_KINDS_MAX]; /* lists[i] holds kinds[i] */
};

/* An empty stack with the default kinds. Usable on the stack; pair with stack_free. */
void stack_init(struct stack *s);
/*
 * An empty stack with a caller's kind table (n <= STACK_KINDS_MAX; the
 * table must outlive the stack). For tests and for tools that handle a
 * subset. Two stacks compared by stack_diff must share the table.
 */
void stack_init_kinds(struct stack *s, const struct stack_kind *const *kinds, size_t n);
/* Free every object; the stack is empty and reusable afterwards. */
void stack_free(struct stack *s);

/*
 * Parse a stack document of len bytes (need not be NUL-terminated) into s,
 * which must be empty. `file` names the input in messages (NULL: "stack").
 * Returns 0, or a negative code with diag filled and s left empty:
 *   CORDON_ETOOBIG       len > STACK_MAX_BYTES, or too many objects
 *   CORDON_EINVAL        YAML syntax, unknown key, wrong type, bad value,
 *                        duplicate name (diag names file:line:column)
 *   CORDON_EUNSUPPORTED  a reserved key whose kind is not implemented yet
 *   CORDON_ENOMEM
 * Adds the implicit QUARANTINED group when the kind table has thing groups.
 */
int stack_parse(struct stack *s, const char *text, size_t len, const char *file,
                struct cordon_diag *diag);

/* The kind named `kind` (singular, "thingGroup") or `key` (plural); NULL if unknown. */
const struct stack_kind *stack_kind_find(const struct stack *s, const char *kind_or_key);

/*
 * Add obj of the given kind (singular or plural name). On success the stack
 * owns obj. On failure the caller still owns it: CORDON_ENOTFOUND (unknown
 * kind), CORDON_EEXIST (same name already there), CORDON_ETOOBIG, ENOMEM.
 */
int stack_add(struct stack *s, const char *kind, void *obj);

/* Number of objects of a kind (0 for an unknown kind). */
size_t stack_count(const struct stack *s, const char *kind);
/* The i-th object of a kind in name order (borrowed); NULL when out of range. */
const void *stack_get(const struct stack *s, const char *kind, size_t i);
/* The object of a kind with that name (borrowed); NULL when absent. */
const void *stack_find(const struct stack *s, const char *kind, const char *name);

/*
 * Append the stack as one YAML document (block style, kinds in canonical
 * order, objects by name, empty kinds omitted) to out. Returns 0,
 * CORDON_ETOOBIG (out's cap), CORDON_ENOMEM, or a kind writer's error.
 */
int stack_write(const struct stack *s, struct buf *out);

/* ---- changes -------------------------------------------------------------- */

enum stack_action {
    STACK_CREATE,
    STACK_UPDATE,
    STACK_DELETE,
};

struct stack_change {
    enum stack_action action;
    const struct stack_kind *kind;
    const char *name;    /* borrowed from the object */
    const void *current; /* borrowed; NULL for a create */
    const void *desired; /* borrowed; NULL for a delete */
    char reason[STACK_REASON_MAX];
};

struct stack_changes {
    struct stack_change *items;
    size_t len;
    size_t alloc;
    size_t ncreate, nupdate, ndelete;
};

void stack_changes_init(struct stack_changes *c);
void stack_changes_free(struct stack_changes *c);

/*
 * What applying `desired` to `current` changes. Both stacks must use the
 * same kind table; the changes borrow from both, so they must outlive c.
 * Order (deterministic): creates and updates kind by kind in canonical order
 * (thing groups before the profiles that may target them), names in byte
 * order; then deletes kind by kind in reverse order, names in byte order.
 * The QUARANTINED group is never deleted, and never updated from an
 * implicit one. c must be empty (freshly initialised or freed).
 * Returns 0, CORDON_EINVAL (different kind tables), CORDON_ENOMEM.
 */
int stack_diff(const struct stack *current, const struct stack *desired, struct stack_changes *c);

/* "create" / "update" / "delete". */
const char *stack_action_name(enum stack_action a);

/*
 * The changes as the API returns them (docs/config.md):
 *   {"changes": [{"action": "create", "kind": "thingGroup", "name": "...",
 *                 "reason": "..."}, ...],
 *    "summary": {"create": N, "update": N, "delete": N}}
 * Returns a new reference, NULL on allocation failure.
 */
json_t *stack_changes_json(const struct stack_changes *c);

/* ---- helpers for kind parsers --------------------------------------------- */

/*
 * The 1-based line and column where node starts (0, 0 if unknown).
 */
void stack_node_position(struct fy_node *node, int *line, int *column);

/*
 * Fill diag with code and "file:line:column: <message>" for node (file NULL
 * means "stack"); returns CORDON_EINVAL so parsers can `return
 * stack_node_error(...)`.
 */
int stack_node_error(struct cordon_diag *diag, struct fy_node *node, const char *file,
                     const char *code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * The scalar text of node as a new NUL-terminated string of at most max
 * bytes, for a field named `field`. Rejects non-scalars, aliases, empty
 * values when `nonempty`, embedded NULs and control characters. Returns 0
 * and sets *out (caller frees), or CORDON_EINVAL / ETOOBIG / ENOMEM with diag.
 */
int stack_node_string(struct fy_node *node, const char *file, const char *field, size_t max,
                      int nonempty, char **out, struct cordon_diag *diag);

/*
 * A new string scalar in fyd that reads back as exactly s: plain when that
 * is unambiguous, double-quoted when s is empty or looks like a null, a
 * boolean or a number. NULL on allocation failure.
 */
struct fy_node *stack_node_new_string(struct fy_document *fyd, const char *s);

#endif
