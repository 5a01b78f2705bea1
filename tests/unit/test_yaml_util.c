/*
 * test_yaml_util.c — lib/yaml_util: node positions over libfyaml 0.7.12.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libfyaml.h>
#include <string.h>

#include "yaml_util.h"

static const char doc_text[] = "top:\n"
                               "  list:\n"
                               "    - [a, b]\n"
                               "    - x\n"
                               "  empty: {}\n"
                               "  deep: [[[[z]]]]\n";

static void test_positions(void **state)
{
    struct fy_document *fyd = fy_document_build_from_string(NULL, doc_text, strlen(doc_text));
    struct fy_node *root, *n;
    int line = -1, col = -1;
    (void)state;
    assert_non_null(fyd);
    root = fy_document_root(fyd);

    /* a mapping starts at its first key */
    assert_true(yaml_node_line_column(root, 8, &line, &col));
    assert_int_equal(line, 1);
    assert_int_equal(col, 1);
    n = fy_node_by_path(root, "/top/list", (size_t)-1, FYNWF_DONT_FOLLOW);
    assert_true(yaml_node_line_column(n, 8, &line, &col));
    assert_int_equal(line, 3);
    assert_int_equal(col, 8); /* "a" of the first item's flow sequence */
    n = fy_node_by_path(root, "/top/list/1", (size_t)-1, FYNWF_DONT_FOLLOW);
    assert_non_null(yaml_node_mark(n, 0));
    assert_true(yaml_node_line_column(n, 0, &line, &col));
    assert_int_equal(line, 4);
    assert_int_equal(col, 7);

    /* no mark: NULL, an empty collection, deeper than allowed */
    line = col = -1;
    assert_null(yaml_node_mark(NULL, 8));
    n = fy_node_by_path(root, "/top/empty", (size_t)-1, FYNWF_DONT_FOLLOW);
    assert_non_null(n);
    assert_false(yaml_node_line_column(n, 8, &line, &col));
    assert_int_equal(line, -1);
    assert_int_equal(col, -1);
    n = fy_node_by_path(root, "/top/deep", (size_t)-1, FYNWF_DONT_FOLLOW);
    assert_null(yaml_node_mark(n, 3));
    assert_true(yaml_node_line_column(n, 4, &line, &col));
    assert_int_equal(line, 6);
    assert_int_equal(col, 13);
    fy_document_destroy(fyd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
