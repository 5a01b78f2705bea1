/*
 * test_agent_collect.c — /proc/net socket tables into report lists
 * (agent/collect.c; spec device-defender-spec.md §10.2 R2–R9).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collect.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

#define HDR4                                                                                       \
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "  \
    "inode\n"

static void test_parse_line_v4(void **state)
{
    struct procnet_sock s;
    const char *l =
        "   0: 0100007F:0016 0200000A:D431 01 00000000:00000000 00:00000000 00000000   0 0 1 1";
    (void)state;
    assert_int_equal(procnet_parse_line(HDR4, strlen(HDR4) - 1, false, &s), 1);
    assert_int_equal(procnet_parse_line(l, strlen(l), false, &s), 0);
    assert_int_equal(s.local.family, 4);
    assert_memory_equal(s.local.addr, "\x7f\x00\x00\x01", 4);
    assert_int_equal(s.local_port, 22);
    assert_memory_equal(s.remote.addr, "\x0a\x00\x00\x02", 4);
    assert_int_equal(s.remote_port, 0xD431);
    assert_int_equal(s.state, PROCNET_TCP_ESTABLISHED);
}

static void test_parse_line_v6(void **state)
{
    struct procnet_sock s;
    /* ::1 port 631 LISTEN; ::ffff:192.0.2.7 */
    const char *l =
        "  12: 00000000000000000000000001000000:0277 0000000000000000FFFF0000070200C0:01BB 0A 0";
    static const uint8_t one[16] = { [15] = 1 };
    static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, 192, 0, 2, 7 };
    (void)state;
    assert_int_equal(procnet_parse_line(l, strlen(l), true, &s), 0);
    assert_int_equal(s.local.family, 6);
    assert_memory_equal(s.local.addr, one, 16);
    assert_int_equal(s.local_port, 631);
    assert_memory_equal(s.remote.addr, mapped, 16);
    procnet_unmap_v4(&s.remote);
    assert_int_equal(s.remote.family, 4);
    assert_memory_equal(s.remote.addr, "\xc0\x00\x02\x07", 4);
    assert_int_equal(s.state, PROCNET_TCP_LISTEN);
}

static void test_parse_line_bad(void **state)
{
    struct procnet_sock s;
    char longline[PROC_LINE_MAX + 50];
    const char *bad[] = {
        "",
        "0: 0100007F:0016",
        "x: 0100007F:0016 00000000:0000 0A",
        "0: 0100007G:0016 00000000:0000 0A",
        "0: 0100007F:016 00000000:0000 0A",
        "0: 0100007F0016 00000000:0000 0A",
        "0: 0100007F:0016 00000000:0000 0",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(procnet_parse_line(bad[i], strlen(bad[i]), false, &s), CORDON_EINVAL);
    /* a v4 line is not a v6 line */
    assert_int_equal(procnet_parse_line("0: 0100007F:0016 00000000:0000 0A", 33, true, &s),
                     CORDON_EINVAL);
    memset(longline, ' ', sizeof(longline));
    memcpy(longline, "0: 0100007F:0016 00000000:0000 0A", 33);
    assert_int_equal(procnet_parse_line(longline, sizeof(longline), false, &s), CORDON_EINVAL);
}

/* Build a report from text tables with the given interface table. */
static void run(struct report *r, uint32_t cap, const struct iftable *ift, const char *tcp,
                const char *tcp6, const char *udp, const char *udp6, uint32_t *bad)
{
    struct collect c;
    assert_int_equal(collect_init(&c, cap), 0);
    collect_begin(&c, ift);
    if (tcp)
        assert_int_equal(collect_add_text(&c, PROCNET_TCP, tcp, strlen(tcp)), 0);
    if (tcp6)
        assert_int_equal(collect_add_text(&c, PROCNET_TCP6, tcp6, strlen(tcp6)), 0);
    if (udp)
        assert_int_equal(collect_add_text(&c, PROCNET_UDP, udp, strlen(udp)), 0);
    if (udp6)
        assert_int_equal(collect_add_text(&c, PROCNET_UDP6, udp6, strlen(udp6)), 0);
    collect_finish(&c, r);
    if (bad)
        *bad = c.bad_lines;
    collect_free(&c);
}

static void test_wildcards_dedup_and_interfaces(void **state)
{
    struct report r;
    struct iftable ift;
    struct cordon_diag d;
    const char *ifs = "lo 127.0.0.1\nlo ::1\n# comment\neth0 192.0.2.2\n\n";
    const char *tcp =
        HDR4 "0: 00000000:0016 00000000:0000 0A\n"  /* 0.0.0.0:22 */
             "1: 0100007F:0277 00000000:0000 0A\n"  /* 127.0.0.1:631 */
             "2: 020200C0:01BB 00000000:0000 0A\n"  /* 192.0.2.2:443 */
             "3: 0200007F:1F90 00000000:0000 0A\n"  /* 127.0.0.2:8080: no interface, kept */
             "4: 00000000:0050 00000000:0000 06\n"; /* TIME_WAIT: nothing */
    const char *tcp6 =
        HDR4 "0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A\n"
             "1: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A\n";
    (void)state;
    assert_int_equal(iftable_parse(&ift, ifs, strlen(ifs), &d), 0);
    assert_int_equal(ift.n, 3);
    assert_int_equal(report_init(&r), 0);
    run(&r, 128, &ift, tcp, tcp6, NULL, NULL, NULL);
    assert_true(r.tcp_ports.present);
    assert_int_equal(r.tcp_ports.total, 4);
    assert_int_equal(r.tcp_ports.count, 4);
    assert_int_equal(r.tcp_ports.v[0].port, 22);
    assert_string_equal(r.tcp_ports.v[0].iface, "");
    assert_int_equal(r.tcp_ports.v[1].port, 443);
    assert_string_equal(r.tcp_ports.v[1].iface, "eth0");
    assert_int_equal(r.tcp_ports.v[2].port, 631);
    assert_string_equal(r.tcp_ports.v[2].iface, "lo");
    assert_int_equal(r.tcp_ports.v[3].port, 8080);
    assert_string_equal(r.tcp_ports.v[3].iface, "");
    assert_true(r.udp_ports.present);
    assert_int_equal(r.udp_ports.total, 0);
    report_free(&r);
}

static void test_udp_listening_rule(void **state)
{
    struct report r;
    const char *udp =
        HDR4 "0: 00000000:0035 00000000:0000 07\n"  /* 0.0.0.0:53 unconnected: listener */
             "1: 0100007F:A000 0100007F:0035 01\n"  /* connected client: not a listener */
             "2: 0100007F:A001 0100007F:0000 07\n"  /* remote address set: not a listener */
             "3: 00000000:0000 00000000:0000 07\n"  /* port 0: not a listener */
             "4: 00000000:0044 00000000:0000 0A\n"; /* 0A means nothing for UDP */
    const char *udp6 =
        HDR4 "0: 00000000000000000000000000000000:0035 00000000000000000000000000000000:0000 07\n";
    (void)state;
    assert_int_equal(report_init(&r), 0);
    run(&r, 128, NULL, NULL, NULL, udp, udp6, NULL);
    assert_int_equal(r.udp_ports.total, 1);
    assert_int_equal(r.udp_ports.v[0].port, 53);
    /* UDP never lands in the TCP list */
    assert_int_equal(r.tcp_ports.total, 0);
    report_free(&r);
}

static void test_connections_cap_and_order(void **state)
{
    struct report r;
    char tcp[8192];
    size_t o = 0;
    uint32_t bad;
    (void)state;
    o += (size_t)snprintf(tcp + o, sizeof(tcp) - o, "%s", HDR4);
    /* 20 connections to 10.0.0.1 with remote ports 1020..1001 (reverse order) */
    for (int i = 0; i < 20; i++)
        o += (size_t)snprintf(tcp + o, sizeof(tcp) - o, "%d: 0100007F:%04X 0100000A:%04X 01\n", i,
                              40000 + i, 1020 - i);
    o += (size_t)snprintf(tcp + o, sizeof(tcp) - o, "garbage line\n");
    assert_int_equal(report_init(&r), 0);
    run(&r, 3, NULL, tcp, NULL, NULL, NULL, &bad);
    assert_int_equal(bad, 1);
    assert_true(r.conns.present);
    assert_int_equal(r.conns.total, 20);
    assert_int_equal(r.conns.count, 3);
    assert_int_equal(r.conns.v[0].remote_port, 1001);
    assert_int_equal(r.conns.v[1].remote_port, 1002);
    assert_int_equal(r.conns.v[2].remote_port, 1003);
    assert_int_equal(r.conns.v[0].local_port, 40019);
    assert_memory_equal(r.conns.v[0].remote.addr, "\x0a\x00\x00\x01", 4);
    /* cap 0: totals only */
    run(&r, 0, NULL, tcp, NULL, NULL, NULL, NULL);
    assert_int_equal(r.conns.total, 20);
    assert_int_equal(r.conns.count, 0);
    report_free(&r);
}

static void test_ports_cap_keeps_true_total(void **state)
{
    struct report r;
    char tcp[8192];
    size_t o = 0;
    (void)state;
    o += (size_t)snprintf(tcp + o, sizeof(tcp) - o, "%s", HDR4);
    for (int i = 0; i < 50; i++)
        o += (size_t)snprintf(tcp + o, sizeof(tcp) - o, "%d: 00000000:%04X 00000000:0000 0A\n", i,
                              9000 - i);
    assert_int_equal(report_init(&r), 0);
    run(&r, 5, NULL, tcp, NULL, NULL, NULL, NULL);
    assert_int_equal(r.tcp_ports.total, 50);
    assert_int_equal(r.tcp_ports.count, 5);
    assert_int_equal(r.tcp_ports.v[0].port, 8951);
    assert_int_equal(r.tcp_ports.v[4].port, 8955);
    report_free(&r);
}

static void test_iftable_errors(void **state)
{
    struct iftable ift;
    struct cordon_diag d;
    const char *bad1 = "lo 127.0.0.1\neth0 not-an-ip\n";
    const char *bad2 = "averyveryverylongname0 10.0.0.1\n";
    const char *bad3 = "eth0\n";
    (void)state;
    assert_int_equal(iftable_parse(&ift, bad1, strlen(bad1), &d), CORDON_EINVAL);
    assert_int_equal(d.line, 2);
    assert_int_not_equal(iftable_parse(&ift, bad2, strlen(bad2), &d), 0);
    assert_int_equal(iftable_parse(&ift, bad3, strlen(bad3), &d), CORDON_EINVAL);
}

/* The captured fixture (tests/fixtures/proc/mixed, made by capture.py from
 * real sockets) gives exactly expected.json. */
static void test_fixture_mixed(void **state)
{
    static const char *names[] = { "tcp", "tcp6", "udp", "udp6" };
    const char *dir = CORDON_FIXTURES "/proc/mixed";
    struct report got, want;
    struct iftable ift;
    struct cordon_diag d;
    struct collect c;
    char path[512], *text;
    size_t len;
    (void)state;

    snprintf(path, sizeof(path), "%s/cordon-ifaddrs", dir);
    text = slurp(path, &len);
    assert_non_null(text);
    assert_int_equal(iftable_parse(&ift, text, len, &d), 0);
    free(text);
    assert_int_equal(report_init(&got), 0);
    assert_int_equal(report_init(&want), 0);
    assert_int_equal(collect_init(&c, LIST_CAP_DEFAULT), 0);
    collect_begin(&c, &ift);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/net/%s", dir, names[i]);
        text = slurp(path, &len);
        assert_non_null(text);
        assert_int_equal(collect_add_text(&c, (enum procnet_kind)i, text, len), 0);
        free(text);
    }
    assert_int_equal(c.bad_lines, 0);
    report_reset(&got);
    collect_finish(&c, &got);
    got.version_major = 1;
    snprintf(path, sizeof(path), "%s/expected.json", dir);
    text = slurp(path, &len);
    assert_non_null(text);
    if (report_decode(&want, text, len, NULL, &d))
        fail_msg("expected.json: %s", d.message);
    free(text);
    got.report_id = want.report_id;
    assert_int_equal(got.conns.total, want.conns.total);
    assert_int_equal(got.conns.count, want.conns.count);
    assert_int_equal(got.tcp_ports.total, want.tcp_ports.total);
    assert_int_equal(got.udp_ports.total, want.udp_ports.total);
    assert_true(report_equal(&got, &want));
    collect_free(&c);
    report_free(&got);
    report_free(&want);
}

/* Random and mutated lines never crash the parser or the collector (run
 * under ASan/UBSan in CI). */
static void test_random_lines(void **state)
{
    static const char alphabet[] = "0123456789ABCDEFabcdef: \t\nxsl-";
    const char *seed_line = "   0: 0100007F:0016 0200000A:D431 01 00000000:00000000 00:00000000";
    struct collect c;
    struct report r;
    char line[PROC_LINE_MAX + 64];
    uint32_t x = 12345;
    (void)state;
    assert_int_equal(report_init(&r), 0);
    assert_int_equal(collect_init(&c, 4), 0);
    collect_begin(&c, NULL);
    for (int i = 0; i < 200000; i++) {
        size_t n;
        x = x * 1103515245u + 12345u;
        n = (x >> 8) % sizeof(line);
        if (i % 2) {
            /* mutate a valid line */
            n = strlen(seed_line);
            memcpy(line, seed_line, n);
            for (int k = 0; k < 3; k++) {
                x = x * 1103515245u + 12345u;
                line[(x >> 8) % n] = alphabet[(x >> 20) % (sizeof(alphabet) - 1)];
            }
        } else {
            for (size_t k = 0; k < n; k++) {
                x = x * 1103515245u + 12345u;
                line[k] = alphabet[(x >> 16) % (sizeof(alphabet) - 1)];
            }
        }
        assert_int_equal(collect_add_text(&c, (enum procnet_kind)(i % 4), line, n), 0);
    }
    collect_finish(&c, &r);
    assert_true(r.conns.count <= 4);
    assert_true(r.tcp_ports.count <= 4 && r.udp_ports.count <= 4);
    collect_free(&c);
    report_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_line_v4),
        cmocka_unit_test(test_parse_line_v6),
        cmocka_unit_test(test_parse_line_bad),
        cmocka_unit_test(test_wildcards_dedup_and_interfaces),
        cmocka_unit_test(test_udp_listening_rule),
        cmocka_unit_test(test_connections_cap_and_order),
        cmocka_unit_test(test_ports_cap_keeps_true_total),
        cmocka_unit_test(test_iftable_errors),
        cmocka_unit_test(test_fixture_mixed),
        cmocka_unit_test(test_random_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
