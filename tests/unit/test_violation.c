/* test_violation.c — the violation state machine, ids, verification names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "violation.h"

#include <string.h>

static const uint8_t seed[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static void test_alarm_after_consecutive_datapoints(void **state)
{
    struct violation_state s;
    struct violation_idgen g;
    (void)state;
    violation_idgen_init(&g, seed);
    violation_state_init(&s);
    /* to_alarm = 3: two bad, one good resets the streak */
    assert_int_equal(violation_datapoint(&s, true, 3, 1, 1000, &g), VIOLATION_NONE);
    assert_int_equal(violation_datapoint(&s, true, 3, 1, 2000, &g), VIOLATION_NONE);
    assert_int_equal(violation_datapoint(&s, false, 3, 1, 3000, &g), VIOLATION_NONE);
    assert_int_equal(s.bad_streak, 0);
    assert_int_equal(violation_datapoint(&s, true, 3, 1, 4000, &g), VIOLATION_NONE);
    assert_int_equal(violation_datapoint(&s, true, 3, 1, 5000, &g), VIOLATION_NONE);
    assert_false(s.in_alarm);
    assert_int_equal(violation_datapoint(&s, true, 3, 1, 6000, &g), VIOLATION_IN_ALARM);
    assert_true(s.in_alarm);
    assert_int_equal(s.alarm_since_ms, 6000);
    /* further bad datapoints do not raise it again */
    assert_int_equal(violation_datapoint(&s, true, 3, 1, 7000, &g), VIOLATION_NONE);
    assert_int_equal(s.last_datapoint_ms, 7000);
}

static void test_clear_after_consecutive_datapoints(void **state)
{
    struct violation_state s;
    struct violation_idgen g;
    uint8_t id[16];
    (void)state;
    violation_idgen_init(&g, seed);
    violation_state_init(&s);
    assert_int_equal(violation_datapoint(&s, true, 1, 2, 1, &g), VIOLATION_IN_ALARM);
    memcpy(id, s.id, 16);
    assert_int_equal(violation_datapoint(&s, false, 1, 2, 2, &g), VIOLATION_NONE);
    assert_int_equal(violation_datapoint(&s, true, 1, 2, 3, &g), VIOLATION_NONE); /* resets */
    assert_int_equal(violation_datapoint(&s, false, 1, 2, 4, &g), VIOLATION_NONE);
    assert_true(s.in_alarm);
    assert_int_equal(violation_datapoint(&s, false, 1, 2, 5, &g), VIOLATION_ALARM_CLEARED);
    assert_false(s.in_alarm);
    assert_memory_equal(s.id, id, 16); /* the clear carries the same id */
    /* a new alarm gets a new id */
    assert_int_equal(violation_datapoint(&s, true, 1, 2, 6, &g), VIOLATION_IN_ALARM);
    assert_memory_not_equal(s.id, id, 16);
}

static void test_defaults_one_and_one(void **state)
{
    struct violation_state s;
    struct violation_idgen g;
    (void)state;
    violation_idgen_init(&g, seed);
    violation_state_init(&s);
    assert_int_equal(violation_datapoint(&s, false, 1, 1, 1, &g), VIOLATION_NONE);
    assert_int_equal(violation_datapoint(&s, true, 1, 1, 2, &g), VIOLATION_IN_ALARM);
    assert_int_equal(violation_datapoint(&s, false, 1, 1, 3, &g), VIOLATION_ALARM_CLEARED);
}

static void test_streaks_saturate(void **state)
{
    struct violation_state s;
    struct violation_idgen g;
    (void)state;
    violation_idgen_init(&g, seed);
    violation_state_init(&s);
    for (int i = 0; i < 1000; i++)
        violation_datapoint(&s, false, 10, 10, i, &g);
    assert_int_equal(s.good_streak, 255);
}

static void test_invalidate_and_silence(void **state)
{
    struct violation_state s;
    struct violation_idgen g;
    (void)state;
    violation_idgen_init(&g, seed);
    violation_state_init(&s);
    assert_int_equal(violation_invalidate(&s), VIOLATION_NONE);
    violation_datapoint(&s, true, 1, 1, 1000, &g);
    assert_false(violation_silent(&s, 1000 + 500, 500));
    assert_true(violation_silent(&s, 1000 + 501, 500));
    assert_int_equal(violation_invalidate(&s), VIOLATION_ALARM_INVALIDATED);
    assert_false(s.in_alarm);
    assert_false(violation_silent(&s, 1000000, 500));
    assert_int_equal(violation_invalidate(&s), VIOLATION_NONE);
}

static void test_ids(void **state)
{
    struct violation_idgen a, b;
    uint8_t x[16], y[16], z[16], back[16];
    char text[VIOLATION_ID_LEN + 1];
    (void)state;
    violation_idgen_init(&a, seed);
    violation_idgen_init(&b, seed);
    violation_idgen_next(&a, x);
    violation_idgen_next(&b, y);
    assert_memory_equal(x, y, 16); /* deterministic */
    violation_idgen_next(&a, z);
    assert_memory_not_equal(x, z, 16);
    violation_id_format(x, text);
    assert_int_equal(strlen(text), 36);
    assert_int_equal(strspn(text, "0123456789abcdef-"), 36);
    assert_int_equal(text[8], '-');
    assert_int_equal(text[14], '4'); /* version 4 */
    assert_non_null(strchr("89ab", text[19]));
    assert_int_equal(violation_id_parse(text, 36, back), 0);
    assert_memory_equal(back, x, 16);
    assert_int_equal(violation_id_parse(text, 35, back), -1);
    text[3] = 'g';
    assert_int_equal(violation_id_parse(text, 36, back), -1);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(violation_event_type_name(VIOLATION_IN_ALARM), "in-alarm");
    assert_string_equal(violation_event_type_name(VIOLATION_ALARM_CLEARED), "alarm-cleared");
    assert_string_equal(violation_event_type_name(VIOLATION_ALARM_INVALIDATED),
                        "alarm-invalidated");
    assert_int_equal(violation_verification_parse("BENIGN_POSITIVE", 15),
                     VIOLATION_BENIGN_POSITIVE);
    assert_int_equal(violation_verification_parse("FALSE_POSITIVE", 14), VIOLATION_FALSE_POSITIVE);
    assert_int_equal(violation_verification_parse("TRUE_POSITIVE", 13), VIOLATION_TRUE_POSITIVE);
    assert_int_equal(violation_verification_parse("UNKNOWN", 7), VIOLATION_UNKNOWN);
    assert_int_equal(violation_verification_parse("MAYBE", 5), -1);
    assert_string_equal(violation_verification_name(VIOLATION_FALSE_POSITIVE), "FALSE_POSITIVE");
}

static void test_state_is_small(void **state)
{
    (void)state;
    assert_true(sizeof(struct violation_state) <= 40);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alarm_after_consecutive_datapoints),
        cmocka_unit_test(test_clear_after_consecutive_datapoints),
        cmocka_unit_test(test_defaults_one_and_one),
        cmocka_unit_test(test_streaks_saturate),
        cmocka_unit_test(test_invalidate_and_silence),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_state_is_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
