/*
 * runbook_stack.h — the `runbooks:` kind of configuration stacks (lib/stack.h):
 * items {name, content} where content is the runbook document text (SSM
 * Automation 0.3, YAML or JSON), validated with runbook_doc_load() at parse
 * time. The CLI resolves `file: PATH` (relative to the stack file) into
 * `content` before sending a stack; the server refuses `file:`.
 */
#ifndef CORDON_RUNBOOK_STACK_H
#define CORDON_RUNBOOK_STACK_H

#include "stack.h"

#include <stddef.h>

struct stack_runbook {
    char *name;    /* [A-Za-z0-9_.-]{1,128} */
    char *content; /* the document text */
    size_t len;
};

extern const struct stack_kind stack_kind_runbook;

/* A new item (for building the running stack); NULL on ENOMEM. Free with stack_runbook_free. */
struct stack_runbook *stack_runbook_new(const char *name, const char *content, size_t len);
void stack_runbook_free(struct stack_runbook *r);

/*
 * A scalar node in fyd holding exactly s (len bytes), written double-quoted
 * so that newlines survive emitting and parsing. NULL on ENOMEM.
 */
struct fy_node *stack_runbook_content_node(struct fy_document *fyd, const char *s, size_t len);

#endif
