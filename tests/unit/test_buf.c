/*
 * test_buf.c — lib/buf: the capped buffer and its JSON writers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cordon.h"

static void test_add_double(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 256);
    assert_int_equal(buf_add_double(&b, 0.1), 0);
    assert_int_equal(buf_addc(&b, ' '), 0);
    assert_int_equal(buf_add_double(&b, 42), 0);
    assert_int_equal(buf_addc(&b, ' '), 0);
    assert_int_equal(buf_add_double(&b, -1.5e300), 0);
    assert_int_equal(buf_addc(&b, ' '), 0);
    /* not exact in 15 digits: 17 */
    assert_int_equal(buf_add_double(&b, 0.1 + 0.2), 0);
    assert_string_equal(b.ptr, "0.1 42 -1.5e+300 0.30000000000000004");
    assert_true(strtod(strrchr(b.ptr, ' ') + 1, NULL) == 0.1 + 0.2);
    buf_free(&b);
}

static void test_add_double_cap(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 4);
    assert_int_equal(buf_add_double(&b, 12.5), 0);
    assert_int_equal(buf_add_double(&b, 3.25), CORDON_ETOOBIG);
    assert_string_equal(b.ptr, "12.5");
    buf_free(&b);
}

static void test_json_string(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 64);
    assert_int_equal(buf_add_json_string(&b, "a\"b\\\n\x01", 6), 0);
    assert_string_equal(b.ptr, "\"a\\\"b\\\\\\n\\u0001\"");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_double),
        cmocka_unit_test(test_add_double_cap),
        cmocka_unit_test(test_json_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
