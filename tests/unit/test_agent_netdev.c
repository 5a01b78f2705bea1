/*
 * test_agent_netdev.c — /proc/net/dev counters and report deltas
 * (agent/netdev.c; spec device-defender-spec.md §10.2 R8).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "netdev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR                                                                                        \
    "Inter-|   Receive                                                |  Transmit\n"               \
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "     \
    "drop fifo colls carrier compressed\n"

static void dev(char *out, size_t n, unsigned long long lo_rx, unsigned long long eth_rxb,
                unsigned long long eth_rxp, unsigned long long eth_txb, unsigned long long eth_txp)
{
    snprintf(out, n,
             HDR "    lo: %llu 10 0 0 0 0 0 0 %llu 10 0 0 0 0 0 0\n"
                 "  eth0: %llu %llu 0 0 0 0 0 0 %llu %llu 0 0 0 0 0 0\n",
             lo_rx, lo_rx, eth_rxb, eth_rxp, eth_txb, eth_txp);
}

static struct netdev_snap snap;

static bool step(struct netdev_state *st, const char *text, bool lo, struct report_netstats *out)
{
    uint32_t bad = 0;
    assert_int_equal(netdev_parse(text, strlen(text), &snap, &bad), 0);
    assert_int_equal(bad, 0);
    return netdev_delta(st, &snap, lo, out);
}

static void test_parse_real_capture(void **state)
{
    FILE *f = fopen(CORDON_FIXTURES "/proc/mixed/net/dev", "rb");
    char text[8192];
    size_t n;
    uint32_t bad = 0;
    bool have_lo = false;
    (void)state;
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_int_equal(netdev_parse(text, n, &snap, &bad), 0);
    assert_int_equal(bad, 0);
    assert_true(snap.n >= 2);
    for (uint32_t i = 0; i < snap.n; i++)
        if (!strcmp(snap.v[i].name, "lo")) {
            have_lo = true;
            assert_true(snap.v[i].rx_bytes > 0);
        }
    assert_true(have_lo);
}

static void test_first_sample_has_no_stats_then_deltas(void **state)
{
    struct netdev_state st = { 0 };
    struct report_netstats out;
    char t[1024];
    (void)state;
    /* 64-bit values well past 2^32 */
    dev(t, sizeof(t), 1000, 5000000000ULL, 7000000000ULL, 9000000000ULL, 10);
    assert_false(step(&st, t, false, &out));
    assert_false(out.present);
    dev(t, sizeof(t), 9999, 5000001000ULL, 7000000010ULL, 9000000500ULL, 15);
    assert_true(step(&st, t, false, &out));
    assert_true(out.present);
    assert_int_equal(out.has, 0xf);
    assert_int_equal(out.v[REPORT_BYTES_IN], 1000);
    assert_int_equal(out.v[REPORT_PACKETS_IN], 10);
    assert_int_equal(out.v[REPORT_BYTES_OUT], 500);
    assert_int_equal(out.v[REPORT_PACKETS_OUT], 5);
}

static void test_loopback_configurable(void **state)
{
    struct netdev_state st = { 0 };
    struct report_netstats out;
    char t[1024];
    (void)state;
    dev(t, sizeof(t), 100, 0, 0, 0, 0);
    step(&st, t, true, &out);
    dev(t, sizeof(t), 150, 0, 0, 0, 0);
    assert_true(step(&st, t, true, &out));
    assert_int_equal(out.v[REPORT_BYTES_IN], 50);
    assert_int_equal(out.v[REPORT_BYTES_OUT], 50);
}

static void test_counter_reset_rebaselines(void **state)
{
    struct netdev_state st = { 0 };
    struct report_netstats out;
    char t[1024];
    (void)state;
    dev(t, sizeof(t), 0, 1000, 10, 1000, 10);
    step(&st, t, false, &out);
    dev(t, sizeof(t), 0, 40, 1, 1200, 12); /* rx went backwards: reset */
    assert_false(step(&st, t, false, &out));
    assert_false(out.present);
    dev(t, sizeof(t), 0, 140, 3, 1300, 13); /* deltas from the new baseline */
    assert_true(step(&st, t, false, &out));
    assert_int_equal(out.v[REPORT_BYTES_IN], 100);
    assert_int_equal(out.v[REPORT_PACKETS_IN], 2);
    assert_int_equal(out.v[REPORT_BYTES_OUT], 100);
    assert_int_equal(out.v[REPORT_PACKETS_OUT], 1);
}

static void test_new_interface_is_baseline_only(void **state)
{
    struct netdev_state st = { 0 };
    struct report_netstats out;
    const char *a = HDR "  eth0: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n";
    const char *b = HDR "  eth0: 200 2 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n"
                        " wlan0: 99999 99 0 0 0 0 0 0 99999 99 0 0 0 0 0 0\n";
    (void)state;
    step(&st, a, false, &out);
    assert_true(step(&st, b, false, &out));
    assert_int_equal(out.v[REPORT_BYTES_IN], 100);
    assert_int_equal(out.v[REPORT_BYTES_OUT], 0);
}

static void test_malformed_lines_counted(void **state)
{
    const char *t = HDR "  eth0: 1 2 3\nnocolon 1 2\n  eth1: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n";
    uint32_t bad = 0;
    (void)state;
    netdev_parse(t, strlen(t), &snap, &bad);
    assert_int_equal(bad, 2);
    assert_int_equal(snap.n, 1);
    assert_string_equal(snap.v[0].name, "eth1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_real_capture),
        cmocka_unit_test(test_first_sample_has_no_stats_then_deltas),
        cmocka_unit_test(test_loopback_configurable),
        cmocka_unit_test(test_counter_reset_rebaselines),
        cmocka_unit_test(test_new_interface_is_baseline_only),
        cmocka_unit_test(test_malformed_lines_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
