/* test_behavior.c — every operator at its boundaries, sets, CIDRs, windows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "behavior.h"
#include "detect_testutil.h"

/* Load a one-behavior profile: metric, operator and value given as YAML. */
static struct profile_set set;

static const struct behavior *one(const char *metric, const char *op, const char *value,
                                  const struct metric_catalog *cat)
{
    char yaml[2048];
    profile_set_free(&set);
    snprintf(yaml, sizeof(yaml),
             "securityProfileName: T\nbehaviors:\n  - name: B\n    metric: %s\n"
             "    criteria: { comparisonOperator: %s, value: { %s } }\n",
             metric, op, value);
    assert_int_equal(load_yaml(&set, yaml, cat), 0);
    return &set.v[0].behaviors[0];
}

static struct metric_datapoint count_dp(uint64_t v)
{
    struct metric_datapoint dp = { 0 };
    dp.type = METRIC_TYPE_COUNT;
    dp.count = v;
    return dp;
}

static void test_count_comparisons(void **state)
{
    const struct behavior *b;
    struct metric_datapoint lo = count_dp(99), eq = count_dp(100), hi = count_dp(101);
    (void)state;
    b = one("aws:all-bytes-out", "less-than", "count: 100", NULL);
    assert_true(behavior_violates(b, &lo));
    assert_false(behavior_violates(b, &eq));
    assert_false(behavior_violates(b, &hi));
    b = one("aws:all-bytes-out", "less-than-equals", "count: 100", NULL);
    assert_true(behavior_violates(b, &lo));
    assert_true(behavior_violates(b, &eq));
    assert_false(behavior_violates(b, &hi));
    b = one("aws:all-bytes-out", "greater-than", "count: 100", NULL);
    assert_false(behavior_violates(b, &lo));
    assert_false(behavior_violates(b, &eq));
    assert_true(behavior_violates(b, &hi));
    b = one("aws:all-bytes-out", "greater-than-equals", "count: 100", NULL);
    assert_false(behavior_violates(b, &lo));
    assert_true(behavior_violates(b, &eq));
    assert_true(behavior_violates(b, &hi));
    /* counts above 2^53 compare exactly */
    b = one("aws:all-bytes-out", "greater-than", "count: 9007199254740993", NULL);
    lo = count_dp(9007199254740993ULL);
    hi = count_dp(9007199254740994ULL);
    assert_false(behavior_violates(b, &lo));
    assert_true(behavior_violates(b, &hi));
    /* zero */
    b = one("aws:num-listening-udp-ports", "less-than", "count: 0", NULL);
    lo = count_dp(0);
    assert_false(behavior_violates(b, &lo));
}

static void test_number_comparisons(void **state)
{
    struct metric_catalog cat;
    const struct behavior *b;
    struct metric_datapoint dp = { 0 };
    (void)state;
    metric_catalog_init(&cat);
    metric_catalog_add(&cat, "temp", "number", NULL);
    dp.type = METRIC_TYPE_NUMBER;
    b = one("temp", "greater-than", "number: -2.5", &cat);
    dp.number = -2.5;
    assert_false(behavior_violates(b, &dp));
    dp.number = -2.4999;
    assert_true(behavior_violates(b, &dp));
    b = one("temp", "less-than-equals", "number: 0.1", &cat);
    dp.number = 0.1;
    assert_true(behavior_violates(b, &dp));
    dp.number = 0.10001;
    assert_false(behavior_violates(b, &dp));
    b = one("temp", "greater-than-equals", "number: 1e3", &cat);
    dp.number = 1000;
    assert_true(behavior_violates(b, &dp));
    b = one("temp", "less-than", "number: 1e3", &cat);
    assert_false(behavior_violates(b, &dp));
    metric_catalog_free(&cat);
}

static struct metric_datapoint ports_dp(struct report_port *v, int n, ...)
{
    struct metric_datapoint dp = { 0 };
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        v[i].port = (uint16_t)va_arg(ap, int);
        v[i].iface[0] = '\0';
    }
    va_end(ap);
    dp.type = METRIC_TYPE_PORTS;
    dp.n = (uint32_t)n;
    dp.ports = v;
    return dp;
}

static void test_port_sets(void **state)
{
    struct report_port v[8];
    struct metric_datapoint dp;
    const struct behavior *b;
    (void)state;
    /* allow-list: violation if any port is outside */
    b = one("aws:listening-tcp-ports", "in-port-set", "ports: [22, 53, 443]", NULL);
    dp = ports_dp(v, 2, 22, 443);
    assert_false(behavior_violates(b, &dp));
    dp = ports_dp(v, 3, 22, 443, 4444);
    assert_true(behavior_violates(b, &dp));
    dp = ports_dp(v, 1, 23); /* neighbour of an allowed port */
    assert_true(behavior_violates(b, &dp));
    dp = ports_dp(v, 0);
    assert_false(behavior_violates(b, &dp)); /* empty list: compliant */
    /* deny-list: violation if any port is inside */
    b = one("aws:listening-udp-ports", "not-in-port-set", "ports: [0, 65535, 69]", NULL);
    dp = ports_dp(v, 2, 68, 70);
    assert_false(behavior_violates(b, &dp));
    dp = ports_dp(v, 2, 68, 65535);
    assert_true(behavior_violates(b, &dp));
    dp = ports_dp(v, 1, 69);
    assert_true(behavior_violates(b, &dp));
    dp = ports_dp(v, 1, 65534);
    assert_false(behavior_violates(b, &dp));
    dp = ports_dp(v, 0);
    assert_false(behavior_violates(b, &dp));
    /* an empty allow-list forbids every port */
    b = one("aws:listening-tcp-ports", "in-port-set", "ports: []", NULL);
    dp = ports_dp(v, 1, 22);
    assert_true(behavior_violates(b, &dp));
}

static struct metric_datapoint ips_dp(struct report_ip *v, int n, ...)
{
    struct metric_datapoint dp = { 0 };
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        tr_ip(&v[i], va_arg(ap, const char *));
    va_end(ap);
    dp.type = METRIC_TYPE_IPS;
    dp.n = (uint32_t)n;
    dp.ips = v;
    return dp;
}

static void test_cidr_sets(void **state)
{
    struct report_ip v[8];
    struct report_conn conns[2];
    struct metric_datapoint dp;
    const struct behavior *b;
    (void)state;
    b = one("aws:destination-ip-addresses", "in-cidr-set",
            "cidrs: [10.0.0.0/8, 192.0.2.17, \"2001:db8::/32\", 198.51.100.0/25]", NULL);
    dp = ips_dp(v, 3, "10.0.0.0", "10.255.255.255", "192.0.2.17");
    assert_false(behavior_violates(b, &dp));
    dp = ips_dp(v, 1, "11.0.0.0");
    assert_true(behavior_violates(b, &dp));
    dp = ips_dp(v, 1, "9.255.255.255");
    assert_true(behavior_violates(b, &dp));
    dp = ips_dp(v, 1, "192.0.2.18"); /* /32 */
    assert_true(behavior_violates(b, &dp));
    dp = ips_dp(v, 2, "198.51.100.127", "2001:db8:ffff:ffff::1");
    assert_false(behavior_violates(b, &dp));
    dp = ips_dp(v, 1, "198.51.100.128"); /* /25 boundary */
    assert_true(behavior_violates(b, &dp));
    dp = ips_dp(v, 1, "2001:db9::");
    assert_true(behavior_violates(b, &dp));
    dp = ips_dp(v, 1, "::ffff:10.0.0.1"); /* families do not mix */
    assert_true(behavior_violates(b, &dp));
    dp = ips_dp(v, 0);
    assert_false(behavior_violates(b, &dp));
    /* from connections (remote address) */
    memset(conns, 0, sizeof(conns));
    tr_ip(&conns[0].remote, "10.1.2.3");
    tr_ip(&conns[1].remote, "8.8.8.8");
    dp.ips = NULL;
    dp.conns = conns;
    dp.n = 1;
    assert_false(behavior_violates(b, &dp));
    dp.n = 2;
    assert_true(behavior_violates(b, &dp));
    /* deny-list, and /0 */
    b = one("aws:destination-ip-addresses", "not-in-cidr-set", "cidrs: [\"::/0\"]", NULL);
    dp = ips_dp(v, 1, "192.0.2.1");
    assert_false(behavior_violates(b, &dp));
    dp = ips_dp(v, 2, "192.0.2.1", "fe80::1");
    assert_true(behavior_violates(b, &dp));
    b = one("aws:destination-ip-addresses", "not-in-cidr-set", "cidrs: [0.0.0.0/0]", NULL);
    dp = ips_dp(v, 1, "255.255.255.255");
    assert_true(behavior_violates(b, &dp));
}

static void test_cidr_parse(void **state)
{
    struct behavior_cidr c;
    (void)state;
    assert_int_equal(behavior_cidr_parse("10.0.0.0/8", 10, &c), 0);
    assert_int_equal(c.family, 4);
    assert_int_equal(c.prefix, 8);
    assert_int_equal(behavior_cidr_parse("2001:db8::/128", 14, &c), 0);
    assert_int_equal(c.prefix, 128);
    assert_int_equal(behavior_cidr_parse("1.2.3.4", 7, &c), 0);
    assert_int_equal(c.prefix, 32);
    assert_int_equal(behavior_cidr_parse("1.2.3.4/33", 10, &c), CORDON_EINVAL);
    assert_int_equal(behavior_cidr_parse("::/129", 6, &c), CORDON_EINVAL);
    assert_int_equal(behavior_cidr_parse("1.2.3/8", 7, &c), CORDON_EINVAL);
    assert_int_equal(behavior_cidr_parse("1.2.3.4/", 8, &c), CORDON_EINVAL);
    assert_int_equal(behavior_cidr_parse("host/8", 6, &c), CORDON_EINVAL);
    assert_int_equal(behavior_cidr_parse("1", 1, &c), CORDON_EINVAL);
}

static void test_value_sets(void **state)
{
    struct metric_catalog cat;
    struct metric_datapoint dp = { 0 };
    const struct behavior *b;
    double nums[3];
    struct report_str strs[2];
    const char *pool = "nf_conntrackrootkit";
    (void)state;
    metric_catalog_init(&cat);
    metric_catalog_add(&cat, "codes", "number-list", NULL);
    metric_catalog_add(&cat, "mods", "string-list", NULL);
    metric_catalog_add(&cat, "peers", "ip-address-list", NULL);
    b = one("codes", "in-set", "numbers: [0, 1.5, -2]", &cat);
    dp.type = METRIC_TYPE_NUMBERS;
    dp.numbers = nums;
    nums[0] = -2;
    nums[1] = 1.5;
    dp.n = 2;
    assert_false(behavior_violates(b, &dp));
    nums[1] = 1.25;
    assert_true(behavior_violates(b, &dp));
    dp.n = 0;
    assert_false(behavior_violates(b, &dp));
    b = one("codes", "not-in-set", "numbers: [7]", &cat);
    nums[0] = 7;
    dp.n = 1;
    assert_true(behavior_violates(b, &dp));
    nums[0] = 7.000001;
    assert_false(behavior_violates(b, &dp));

    memset(&dp, 0, sizeof(dp));
    dp.type = METRIC_TYPE_STRINGS;
    dp.strpool = pool;
    dp.strs = strs;
    strs[0].off = 0;
    strs[0].len = 12; /* nf_conntrack */
    strs[1].off = 12;
    strs[1].len = 7; /* rootkit */
    b = one("mods", "not-in-set", "strings: [rootkit, evil]", &cat);
    dp.n = 1;
    assert_false(behavior_violates(b, &dp));
    dp.n = 2;
    assert_true(behavior_violates(b, &dp));
    b = one("mods", "in-set", "strings: [nf_conntrack, nf_conntrack_ftp, nf]", &cat);
    dp.n = 1;
    assert_false(behavior_violates(b, &dp));
    strs[0].len = 11; /* prefix "nf_conntrac" is not an element */
    assert_true(behavior_violates(b, &dp));

    {
        struct report_ip v[2];
        b = one("peers", "in-cidr-set", "cidrs: [203.0.113.0/24]", &cat);
        dp = ips_dp(v, 1, "203.0.113.9");
        assert_false(behavior_violates(b, &dp));
        dp = ips_dp(v, 1, "203.0.114.9");
        assert_true(behavior_violates(b, &dp));
    }
    metric_catalog_free(&cat);
}

static void test_window_sums_trailing(void **state)
{
    struct behavior_window w;
    const int64_t m = 60000; /* one minute */
    (void)state;
    behavior_window_init(&w);
    /* 300 s window, reports every minute */
    assert_true(behavior_window_add(&w, 300, 0 * m, 100) == 100);
    assert_true(behavior_window_add(&w, 300, 1 * m, 100) == 200);
    assert_true(behavior_window_add(&w, 300, 2 * m, 100) == 300);
    assert_true(behavior_window_add(&w, 300, 3 * m, 100) == 400);
    assert_true(behavior_window_add(&w, 300, 4 * m, 100) == 500);
    /* the datapoint of minute 0 leaves the window at minute 5 */
    assert_true(behavior_window_add(&w, 300, 5 * m, 100) == 500);
    assert_true(behavior_window_add(&w, 300, 5 * m + 1000, 1) == 501);
    /* a long silence empties it */
    assert_true(behavior_window_add(&w, 300, 60 * m, 7) == 7);
    /* a clock step backwards counts in the newest bucket */
    assert_true(behavior_window_add(&w, 300, 59 * m, 3) == 10);
    /* 3600 s window: minute buckets */
    behavior_window_init(&w);
    for (int i = 0; i < 60; i++)
        behavior_window_add(&w, 3600, i * m, 1);
    assert_true(behavior_window_add(&w, 3600, 60 * m, 1) == 60);
}

static void test_statistics_and_equality(void **state)
{
    static const char *const names[] = { "p0",  "p0.1", "p0.01", "p1",     "p10", "p50",
                                         "p90", "p99",  "p99.9", "p99.99", "p100" };
    double p;
    struct profile_set a, b;
    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_int_equal(behavior_statistic_parse(names[i], strlen(names[i]), &p), 0);
    assert_int_equal(behavior_statistic_parse("p95", 3, &p), CORDON_EINVAL);
    assert_int_equal(behavior_statistic_parse("p99.9", 5, &p), 0);
    assert_true(p == 99.9);

    profile_set_init(&a);
    profile_set_init(&b);
    assert_int_equal(load_yaml(&a,
                               "securityProfileName: T\nbehaviors:\n  - name: B\n"
                               "    metric: aws:listening-tcp-ports\n"
                               "    criteria: { comparisonOperator: in-port-set, value: { ports: "
                               "[22] } }\n",
                               NULL),
                     0);
    assert_int_equal(load_yaml(&b,
                               "securityProfileName: T\nbehaviors:\n  - name: B\n"
                               "    metric: aws:listening-tcp-ports\n"
                               "    criteria: { comparisonOperator: in-port-set, value: { ports: "
                               "[23] } }\n",
                               NULL),
                     0);
    assert_true(behavior_equal(&a.v[0].behaviors[0], &a.v[0].behaviors[0]));
    assert_false(behavior_equal(&a.v[0].behaviors[0], &b.v[0].behaviors[0]));
    profile_set_free(&a);
    profile_set_free(&b);
}

static void test_behavior_json(void **state)
{
    const struct behavior *b;
    struct buf out;
    (void)state;
    buf_init(&out, 4096);
    b = one("aws:listening-tcp-ports", "in-port-set", "ports: [22, 53, 443]", NULL);
    assert_int_equal(behavior_json(b, &out), 0);
    assert_string_equal(out.ptr, "{\"name\":\"B\",\"metric\":\"aws:listening-tcp-ports\","
                                 "\"criteria\":{\"comparisonOperator\":\"in-port-set\","
                                 "\"value\":{\"ports\":[22,53,443]}}}");
    buf_free(&out);
}

static void test_behavior_value_write(void **state)
{
    const struct behavior *b;
    struct buf out;
    (void)state;
    buf_init(&out, 4096);
    b = one("aws:listening-tcp-ports", "in-port-set", "ports: [22, 53, 443]", NULL);
    assert_int_equal(behavior_value_write(&b->c, &out, ", "), 0);
    assert_string_equal(out.ptr, "[22, 53, 443]");
    buf_reset(&out);
    b = one("aws:destination-ip-addresses", "in-cidr-set", "cidrs: [10.0.0.0/8, \"2001:db8::/32\"]",
            NULL);
    assert_int_equal(behavior_value_write(&b->c, &out, ","), 0);
    assert_string_equal(out.ptr, "[\"10.0.0.0/8\",\"2001:db8::/32\"]");
    buf_reset(&out);
    b = one("aws:num-messages-sent", "greater-than", "count: 5", NULL);
    assert_int_equal(behavior_value_write(&b->c, &out, ", "), 0);
    assert_string_equal(out.ptr, "5");
    buf_free(&out);
}

static int teardown(void **state)
{
    (void)state;
    profile_set_free(&set);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_comparisons),
        cmocka_unit_test(test_number_comparisons),
        cmocka_unit_test(test_port_sets),
        cmocka_unit_test(test_cidr_sets),
        cmocka_unit_test(test_cidr_parse),
        cmocka_unit_test(test_value_sets),
        cmocka_unit_test(test_window_sums_trailing),
        cmocka_unit_test(test_statistics_and_equality),
        cmocka_unit_test(test_behavior_json),
        cmocka_unit_test(test_behavior_value_write),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
