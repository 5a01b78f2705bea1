/*
 * test_runbook_stack.c — the `runbooks:` stack kind: parse (document
 * validated, positions), `file:` refused, write → parse round trip, diff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "runbook_stack.h"
#include "stack.h"

static const char GOOD[] = "runbooks:\n"
                           "  - name: nap\n"
                           "    content: |\n"
                           "      schemaVersion: '0.3'\n"
                           "      mainSteps:\n"
                           "        - name: Nap\n"
                           "          action: aws:sleep\n"
                           "          inputs: {Duration: PT1S}\n";

static void test_parse_and_round_trip(void **state)
{
    struct stack s, back;
    struct stack_changes ch;
    struct cordon_diag d;
    struct buf out;
    const struct stack_runbook *r;

    (void)state;
    stack_init(&s);
    assert_int_equal(stack_parse(&s, GOOD, strlen(GOOD), "s.yaml", &d), 0);
    assert_int_equal(stack_count(&s, "runbook"), 1);
    r = stack_get(&s, "runbook", 0);
    assert_string_equal(r->name, "nap");
    assert_non_null(strstr(r->content, "action: aws:sleep\n"));
    assert_int_equal(r->len, strlen(r->content));

    buf_init(&out, 1 << 20);
    assert_int_equal(stack_write(&s, &out), 0);
    stack_init(&back);
    assert_int_equal(stack_parse(&back, out.ptr, out.len, "back.yaml", &d), 0);
    stack_changes_init(&ch);
    assert_int_equal(stack_diff(&s, &back, &ch), 0);
    assert_int_equal(ch.len, 0);
    stack_changes_free(&ch);
    buf_free(&out);
    stack_free(&back);
    stack_free(&s);
}

static void test_invalid_document_is_positioned(void **state)
{
    const char *text = "runbooks:\n"
                       "  - name: bad\n"
                       "    content: |\n"
                       "      schemaVersion: '0.3'\n"
                       "      mainSteps:\n"
                       "        - name: X\n"
                       "          action: aws:runInstances\n"
                       "          inputs: {}\n";
    struct stack s;
    struct cordon_diag d;
    (void)state;
    stack_init(&s);
    assert_int_equal(stack_parse(&s, text, strlen(text), "s.yaml", &d), CORDON_EINVAL);
    /* the content's position in the stack, then the line:column inside the document */
    assert_non_null(strstr(d.message, "s.yaml:4:1: runbooks: bad: bad:4:13: "));
    assert_non_null(strstr(d.message, "aws:runInstances"));
    stack_free(&s);
}

static void test_file_and_unknown_fields_refused(void **state)
{
    const char *with_file = "runbooks:\n  - name: a\n    file: a.yaml\n";
    const char *unknown = "runbooks:\n  - name: a\n    colour: red\n";
    const char *no_content = "runbooks:\n  - name: a\n";
    const char *bad_name = "runbooks:\n  - name: 'a b'\n    content: x\n";
    struct stack s;
    struct cordon_diag d;
    (void)state;
    stack_init(&s);
    assert_int_equal(stack_parse(&s, with_file, strlen(with_file), "s.yaml", &d), CORDON_EINVAL);
    assert_non_null(strstr(d.message, "s.yaml:3:5:"));
    assert_non_null(strstr(d.message, "CLI"));
    stack_free(&s);
    stack_init(&s);
    assert_int_equal(stack_parse(&s, unknown, strlen(unknown), "s.yaml", &d), CORDON_EINVAL);
    assert_non_null(strstr(d.message, "colour"));
    stack_free(&s);
    stack_init(&s);
    assert_int_equal(stack_parse(&s, no_content, strlen(no_content), "s.yaml", &d), CORDON_EINVAL);
    assert_non_null(strstr(d.message, "content"));
    stack_free(&s);
    stack_init(&s);
    assert_int_equal(stack_parse(&s, bad_name, strlen(bad_name), "s.yaml", &d), CORDON_EINVAL);
    assert_non_null(strstr(d.message, "name"));
    stack_free(&s);
}

static void test_changed_content_is_an_update(void **state)
{
    struct stack a, b;
    struct stack_changes ch;
    struct stack_runbook *r1 = stack_runbook_new("nap", "x: 1\n", 5);
    struct stack_runbook *r2 = stack_runbook_new("nap", "x: 2\n", 5);
    (void)state;
    stack_init(&a);
    stack_init(&b);
    assert_int_equal(stack_add(&a, "runbook", r1), 0);
    assert_int_equal(stack_add(&b, "runbooks", r2), 0);
    stack_changes_init(&ch);
    assert_int_equal(stack_diff(&a, &b, &ch), 0);
    assert_int_equal(ch.len, 1);
    assert_int_equal(ch.items[0].action, STACK_UPDATE);
    assert_non_null(strstr(ch.items[0].reason, "content changed"));
    stack_changes_free(&ch);
    stack_free(&a);
    stack_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_round_trip),
        cmocka_unit_test(test_invalid_document_is_positioned),
        cmocka_unit_test(test_file_and_unknown_fields_refused),
        cmocka_unit_test(test_changed_content_is_an_update),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
