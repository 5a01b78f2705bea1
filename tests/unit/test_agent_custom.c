/*
 * test_agent_custom.c — custom metric values checked strictly
 * (agent/custom.c; spec device-defender-spec.md §1.3, R13).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "custom.h"

#include <string.h>

static struct report r;

static int setup(void **state)
{
    (void)state;
    return report_init(&r);
}

static int teardown(void **state)
{
    (void)state;
    report_free(&r);
    return 0;
}

static int add(const char *name, enum report_custom_type t, const char *text)
{
    struct cordon_diag d;
    return custom_add(&r, name, t, text, strlen(text), &d);
}

static void test_numbers(void **state)
{
    (void)state;
    report_reset(&r);
    assert_int_equal(add("load", REPORT_CUSTOM_NUMBER, "17.25\n"), 0);
    assert_int_equal(add("neg", REPORT_CUSTOM_NUMBER, "  -3e2 "), 0);
    assert_int_equal(add("d15", REPORT_CUSTOM_NUMBER, "123456789012345"), 0);
    assert_int_equal(add("zeros", REPORT_CUSTOM_NUMBER, "0.000000000000000001"), 0);
    assert_int_equal(r.ncustom, 4);
    assert_true(r.custom[0].number == 17.25);
    assert_true(r.custom[1].number == -300);
    /* rejected: 16 significant digits, not a number, two numbers, JSON-invalid forms */
    assert_int_equal(add("d16", REPORT_CUSTOM_NUMBER, "1234567890123456"), CORDON_EINVAL);
    assert_int_equal(add("x", REPORT_CUSTOM_NUMBER, "abc"), CORDON_EINVAL);
    assert_int_equal(add("x", REPORT_CUSTOM_NUMBER, "1 2"), CORDON_EINVAL);
    assert_int_equal(add("x", REPORT_CUSTOM_NUMBER, ""), CORDON_EINVAL);
    assert_int_equal(add("x", REPORT_CUSTOM_NUMBER, "+1"), CORDON_EINVAL);
    assert_int_equal(add("x", REPORT_CUSTOM_NUMBER, "01"), CORDON_EINVAL);
    assert_int_equal(add("x", REPORT_CUSTOM_NUMBER, ".5"), CORDON_EINVAL);
    assert_int_equal(add("x", REPORT_CUSTOM_NUMBER, "1e999"), CORDON_EINVAL);
    assert_int_equal(add("x", REPORT_CUSTOM_NUMBER, "nan"), CORDON_EINVAL);
    assert_int_equal(r.ncustom, 4);
}

static void test_lists(void **state)
{
    (void)state;
    report_reset(&r);
    assert_int_equal(add("nl", REPORT_CUSTOM_NUMBER_LIST, "1, 2.5\n-3\n"), 0);
    assert_int_equal(
        add("sl", REPORT_CUSTOM_STRING_LIST, "nf_conntrack\nbr_netfilter\n/usr/bin:x-1.2\n"), 0);
    assert_int_equal(add("ip", REPORT_CUSTOM_IP_LIST, "192.0.2.1 2001:db8::5\n"), 0);
    assert_int_equal(add("empty", REPORT_CUSTOM_STRING_LIST, "\n"), 0);
    assert_int_equal(r.ncustom, 4);
    assert_int_equal(r.custom[0].count, 3);
    assert_true(r.numbers[r.custom[0].first + 1] == 2.5);
    assert_int_equal(r.custom[1].count, 3);
    assert_int_equal(r.strs[r.custom[1].first + 1].len, strlen("br_netfilter"));
    assert_memory_equal(r.strpool + r.strs[r.custom[1].first + 1].off, "br_netfilter", 12);
    assert_int_equal(r.custom[2].count, 2);
    assert_int_equal(r.ips[r.custom[2].first].family, 4);
    assert_int_equal(r.ips[r.custom[2].first + 1].family, 6);
    assert_int_equal(r.custom[3].count, 0);
}

static void test_bad_value_leaves_report_unchanged(void **state)
{
    uint32_t nvalues, pool;
    (void)state;
    report_reset(&r);
    assert_int_equal(add("ok", REPORT_CUSTOM_STRING_LIST, "a b"), 0);
    nvalues = r.nvalues;
    pool = r.strpool_len;
    assert_int_equal(add("bad", REPORT_CUSTOM_STRING_LIST, "fine not$fine"), CORDON_EINVAL);
    assert_int_equal(add("bad", REPORT_CUSTOM_STRING_LIST, "with space\"quote"), CORDON_EINVAL);
    assert_int_equal(add("bad", REPORT_CUSTOM_IP_LIST, "192.0.2.1 300.1.1.1"), CORDON_EINVAL);
    assert_int_equal(add("bad", REPORT_CUSTOM_IP_LIST, "example.com"), CORDON_EINVAL);
    assert_int_equal(add("bad", REPORT_CUSTOM_NUMBER_LIST, "1 2 x"), CORDON_EINVAL);
    assert_int_equal(r.ncustom, 1);
    assert_int_equal(r.nvalues, nvalues);
    assert_int_equal(r.strpool_len, pool);
}

static void test_encoded_report_decodes(void **state)
{
    struct report back;
    struct buf out;
    struct cordon_diag d;
    (void)state;
    report_reset(&r);
    r.report_id = 42;
    r.version_major = 1;
    assert_int_equal(add("cpu_load_pct", REPORT_CUSTOM_NUMBER, "17.25"), 0);
    assert_int_equal(add("mods", REPORT_CUSTOM_STRING_LIST, "nf_conntrack br_netfilter"), 0);
    assert_int_equal(add("peers", REPORT_CUSTOM_IP_LIST, "10.0.0.1 ::1"), 0);
    buf_init(&out, REPORT_MAX_BYTES);
    assert_int_equal(report_encode(&r, false, &out), 0);
    assert_int_equal(report_init(&back), 0);
    if (report_decode(&back, out.ptr, out.len, NULL, &d))
        fail_msg("%s: %s", d.message, out.ptr);
    assert_true(report_equal(&r, &back));
    report_free(&back);
    buf_free(&out);
}

static void test_names_and_types(void **state)
{
    enum report_custom_type t;
    char longname[METRIC_NAME_MAX + 2];
    (void)state;
    assert_true(custom_name_valid("cpu_load:pct-1"));
    assert_false(custom_name_valid(""));
    assert_false(custom_name_valid("aws:num"));
    assert_false(custom_name_valid("has space"));
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(custom_name_valid(longname));
    longname[METRIC_NAME_MAX] = '\0';
    assert_true(custom_name_valid(longname));
    assert_int_equal(custom_type_parse("ip-address-list", &t), 0);
    assert_int_equal(t, REPORT_CUSTOM_IP_LIST);
    assert_int_equal(custom_type_parse("ip_list", &t), CORDON_EINVAL);
    assert_string_equal(custom_type_name(REPORT_CUSTOM_NUMBER_LIST), "number-list");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_bad_value_leaves_report_unchanged),
        cmocka_unit_test(test_encoded_report_decodes),
        cmocka_unit_test(test_names_and_types),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
