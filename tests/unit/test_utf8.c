/*
 * test_utf8.c — lib/utf8: validation of text before libfyaml, and the
 * line/column of a bad byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "utf8.h"

static size_t bad_at(const char *s, size_t len)
{
    size_t off = (size_t)-1;
    if (utf8_check(s, len, &off) == 0)
        return (size_t)-1;
    return off;
}

#define BAD(lit) bad_at(lit, sizeof(lit) - 1)

static void test_clean(void **state)
{
    (void)state;
    assert_int_equal(utf8_check("", 0, NULL), 0);
    assert_int_equal(utf8_check("plain ascii\n", 12, NULL), 0);
    /* 2, 3 and 4-byte forms at their edges */
    assert_int_equal(BAD("\xc2\x80 \xdf\xbf"), (size_t)-1);
    assert_int_equal(BAD("\xe0\xa0\x80 \xef\xbf\xbf \xed\x9f\xbf \xee\x80\x80"), (size_t)-1);
    assert_int_equal(BAD("\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf"), (size_t)-1);
    assert_int_equal(BAD("caf\xc3\xa9 \xe2\x82\xac"), (size_t)-1);
}

static void test_bad(void **state)
{
    size_t off = 0;
    (void)state;
    assert_int_equal(utf8_check("ab\0c", 4, &off), -1); /* NUL */
    assert_int_equal(off, 2);
    assert_int_equal(utf8_check("ab\0c", 4, NULL), -1); /* bad_offset optional */
    assert_int_equal(BAD("a\x80"), 1);                  /* stray continuation */
    assert_int_equal(BAD("a\xc0\x80"), 1);              /* overlong lead */
    assert_int_equal(BAD("a\xc1\xbf"), 1);
    assert_int_equal(BAD("a\xe0\x9f\xbf"), 1);     /* overlong 3-byte */
    assert_int_equal(BAD("a\xf0\x8f\xbf\xbf"), 1); /* overlong 4-byte */
    assert_int_equal(BAD("a\xed\xa0\x80"), 1);     /* surrogate */
    assert_int_equal(BAD("a\xed\xbf\xbf"), 1);
    assert_int_equal(BAD("a\xf4\x90\x80\x80"), 1); /* above U+10FFFF */
    assert_int_equal(BAD("a\xf5\x80\x80\x80"), 1);
    assert_int_equal(BAD("a\xff"), 1);
    assert_int_equal(BAD("ab\xc3"), 2); /* truncated at the end */
    assert_int_equal(BAD("ab\xe2\x82"), 2);
    assert_int_equal(BAD("ab\xe2\x82x"), 2); /* continuation missing */
    assert_int_equal(BAD("\xc3\xa9\xc3"), 2);
}

static void test_line_column(void **state)
{
    const char *s = "ab\ncd\xc3\xa9x\n\xff";
    int line = 0, col = 0;
    (void)state;
    utf8_line_column(s, 0, &line, &col);
    assert_int_equal(line, 1);
    assert_int_equal(col, 1);
    utf8_line_column(s, 2, &line, &col);
    assert_int_equal(line, 1);
    assert_int_equal(col, 3);
    utf8_line_column(s, 3, &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 1);
    /* 'x' after a 2-byte character: byte column 5, character column 4 */
    utf8_line_column(s, 7, &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 5);
    utf8_line_char_column(s, 7, &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 4);
    utf8_line_column(s, 9, &line, &col);
    assert_int_equal(line, 3);
    assert_int_equal(col, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_line_column),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
