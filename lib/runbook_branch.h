/*
 * runbook_branch.h — aws:branch condition evaluation (§17.7).
 *
 * Operands are rendered with the same lookup as step inputs; typing is
 * strict: string operators need a String Variable (Contains also takes a
 * StringList and tests membership), numeric operators an Integer (or
 * number), BooleanEquals a Boolean. A type mismatch is an error that fails
 * the branch step, never a silent false.
 */
#ifndef CORDON_RUNBOOK_BRANCH_H
#define CORDON_RUNBOOK_BRANCH_H

#include "runbook_doc.h"
#include "runbook_template.h"

#include <stdbool.h>

/* Evaluate a condition. 0 with *result set, or a negative code with err. */
int runbook_branch_eval(const struct runbook_cond *c, runbook_template_lookup_fn lookup, void *ctx,
                        bool *result, char *err, size_t errlen);

/*
 * Choose the next step of a branch step: the first true choice, else
 * Default. *next is a step index, or -1 when nothing matched and there is
 * no Default (the caller then applies isEnd / the next step in the list).
 */
int runbook_branch_choose(const struct runbook_step *st, runbook_template_lookup_fn lookup,
                          void *ctx, int *next, char *err, size_t errlen);

#endif
