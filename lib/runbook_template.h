/*
 * runbook_template.h — `{{ }}` references in runbook documents (§17.5).
 *
 * A reference is `{{ NAME }}` (parameter), `{{ Step.Output }}`,
 * `{{ variable:NAME }}`, `{{ automation:EXECUTION_ID }}`, `{{ global:X }}`
 * or `{{ ssm:NAME }}` (recognised only to be rejected). Spaces inside the
 * braces are allowed. Rendering rules:
 *  - a string that is exactly one reference takes the referenced value with
 *    its type (so `MinRequiredApprovals: "{{ N }}"` is an Integer);
 *  - in a sequence, an element that is exactly one StringList reference is
 *    replaced by the list's elements;
 *  - otherwise values are written into the string: strings as they are,
 *    integers in decimal, booleans as true/false, a StringList as its
 *    elements joined with ", " (Cordon rule), maps and MapLists as compact
 *    JSON.
 * No nested expansion: a rendered value is never scanned again.
 */
#ifndef CORDON_RUNBOOK_TEMPLATE_H
#define CORDON_RUNBOOK_TEMPLATE_H

#include "buf.h"
#include "runbook_doc.h"

#include <jansson.h>

#define RUNBOOK_RENDER_MAX_BYTES (256 * 1024) /* a rendered string */

enum runbook_ref_kind {
    RUNBOOK_REF_PARAM,
    RUNBOOK_REF_OUTPUT,     /* a = step, b = output */
    RUNBOOK_REF_VARIABLE,   /* a = variable name */
    RUNBOOK_REF_AUTOMATION, /* a = EXECUTION_ID */
    RUNBOOK_REF_GLOBAL,     /* a = ACCOUNT_ID | REGION | AWS_PARTITION | DATE | DATE_TIME */
    RUNBOOK_REF_SSM,        /* a = parameter-store name; never resolvable */
};

struct runbook_ref {
    enum runbook_ref_kind kind;
    char a[RUNBOOK_NAME_MAX + 1];
    char b[RUNBOOK_NAME_MAX + 1];
    size_t start, end; /* byte offsets of "{{" and one past "}}" */
};

/*
 * Find the first reference in s at or after byte `from`. Returns 1 and fills
 * `ref`, 0 when there is none, or CORDON_EINVAL for a malformed one (an
 * unclosed "{{", an empty or invalid name, an unknown "prefix:"), with *why
 * set to a static explanation and *errpos to the offset of its "{{".
 */
int runbook_template_next(const char *s, size_t from, struct runbook_ref *ref, const char **why,
                          size_t *errpos);

/* Does s contain "{{"? */
bool runbook_template_has(const char *s);

/*
 * Resolve one reference: set *value to a new reference (caller decrefs) and
 * return 0, or return a negative code with a message in err.
 */
typedef int (*runbook_template_lookup_fn)(void *ctx, const struct runbook_ref *ref, json_t **value,
                                          char *err, size_t errlen);

/* Render a string by the rules above. *out is a new reference. */
int runbook_template_render_string(const char *s, runbook_template_lookup_fn lookup, void *ctx,
                                   json_t **out, char *err, size_t errlen);

/* Render every string leaf of a JSON value (keys are never templated). */
int runbook_template_render(const json_t *in, runbook_template_lookup_fn lookup, void *ctx,
                            json_t **out, char *err, size_t errlen);

/*
 * Output selectors (JSONPath subset): "$" then any of ".name", "['name']",
 * "[\"name\"]" and "[N]" (N >= 0). Names are letters, digits, '_' and '-'.
 * runbook_selector_check() returns 0 when `sel` is in the subset, else
 * CORDON_EINVAL with *why set. runbook_selector_eval() returns the borrowed
 * value it selects in root, or NULL.
 */
int runbook_selector_check(const char *sel, const char **why);
const json_t *runbook_selector_eval(const json_t *root, const char *sel);

/* Append the text form of a value (the interpolation rule above) to b. */
int runbook_template_text(const json_t *v, struct buf *b);

#endif
