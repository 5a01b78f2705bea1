/*
 * fuzz_stack.c — libFuzzer target for the stack parser (lib/stack.c).
 *
 * Any input must either parse or fail with a positioned diagnostic; a parsed
 * stack must write, the written text must parse again and diff to nothing
 * against the original (the round trip `cordon export` relies on).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stack a, b;
    struct stack_changes c;
    struct cordon_diag d;
    struct buf out;
    json_t *j;

    stack_init(&a);
    if (stack_parse(&a, (const char *)data, size, "fuzz", &d)) {
        if (!d.message[0] || !d.code[0])
            abort(); /* every failure says what and where */
        return 0;
    }
    buf_init(&out, 4 * STACK_MAX_BYTES);
    if (stack_write(&a, &out))
        abort();
    if (out.len > STACK_MAX_BYTES) { /* quoting can grow a stack past the limit */
        buf_free(&out);
        stack_free(&a);
        return 0;
    }
    stack_init(&b);
    if (stack_parse(&b, out.ptr, out.len, "written", &d))
        abort();
    stack_changes_init(&c);
    if (stack_diff(&a, &b, &c) || c.len)
        abort();
    j = stack_changes_json(&c);
    json_decref(j);
    stack_changes_free(&c);
    stack_free(&b);
    buf_free(&out);
    stack_free(&a);
    return 0;
}
