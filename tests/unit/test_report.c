/*
 * test_report.c — the Device Defender report codec (lib/report.c).
 *
 * Fixtures: tests/fixtures/reports/good/ (each must decode and round-trip in
 * both key forms) and tests/fixtures/reports/bad/ (each listed in bad/INDEX
 * with the machine code and a part of the message it must be rejected with).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "report.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX CORDON_FIXTURES "/reports"

/* ---- helpers ----------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return p;
}

struct fx {
    struct report r, r2;
    struct cordon_diag diag;
    struct buf out;
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    if (!fx || report_init(&fx->r) || report_init(&fx->r2))
        return -1;
    buf_init(&fx->out, REPORT_MAX_BYTES * 4);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    report_free(&fx->r);
    report_free(&fx->r2);
    buf_free(&fx->out);
    free(fx);
    return 0;
}

static int dec(struct fx *fx, const char *json)
{
    return report_decode(&fx->r, json, strlen(json), NULL, &fx->diag);
}

/* Decode must succeed; print the diag otherwise. */
static void dec_ok(struct fx *fx, const char *json)
{
    int rc = dec(fx, json);
    if (rc)
        fail_msg("decode failed: %s %s\n  input: %.300s", fx->diag.code, fx->diag.message, json);
}

static void dec_bad(struct fx *fx, const char *json, const char *code, const char *frag)
{
    int rc = dec(fx, json);
    if (rc == 0)
        fail_msg("decode accepted: %.300s", json);
    if (strcmp(fx->diag.code, code) != 0 || (frag && !strstr(fx->diag.message, frag)))
        fail_msg("want %s \"%s\", got %s \"%s\"\n  input: %.300s", code, frag ? frag : "",
                 fx->diag.code, fx->diag.message, json);
}

/* encode r in both forms, decode each, compare; also encoding is stable. */
static void roundtrip(struct fx *fx, const struct report *r)
{
    for (int s = 0; s < 2; s++) {
        struct buf again;
        buf_reset(&fx->out);
        assert_int_equal(report_encode(r, s, &fx->out), 0);
        if (report_decode(&fx->r2, fx->out.ptr, fx->out.len, NULL, &fx->diag))
            fail_msg("re-decode failed: %s\n  %s", fx->diag.message, fx->out.ptr);
        if (!report_equal(r, &fx->r2))
            fail_msg("round trip (%s names) differs: %s", s ? "short" : "long", fx->out.ptr);
        buf_init(&again, REPORT_MAX_BYTES * 4);
        assert_int_equal(report_encode(&fx->r2, s, &again), 0);
        assert_int_equal(again.len, fx->out.len);
        assert_memory_equal(again.ptr, fx->out.ptr, again.len);
        buf_free(&again);
    }
}

static const char *H = "\"header\":{\"report_id\":1,\"version\":\"1.0\"}";

/* A report with the given metrics object. */
static char *with_metrics(const char *metrics)
{
    size_t n = strlen(metrics) + 128;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "{%s,\"metrics\":%s}", H, metrics);
    return s;
}

static char *with_custom(const char *custom)
{
    size_t n = strlen(custom) + 128;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "{%s,\"custom_metrics\":%s}", H, custom);
    return s;
}

/* ---- the spec's examples ------------------------------------------------ */

static void test_spec_examples(void **state)
{
    struct fx *fx = *state;
    size_t n1, n2;
    char *l = slurp(FIX "/good/spec-1.5-long.json", &n1);
    char *s = slurp(FIX "/good/spec-1.6-short.json", &n2);
    struct report *r = &fx->r;

    assert_int_equal(report_decode(&fx->r2, s, n2, NULL, &fx->diag), 0);
    assert_int_equal(report_decode(r, l, n1, NULL, &fx->diag), 0);
    assert_true(report_equal(r, &fx->r2));

    assert_true(r->report_id == 1733000400123LL);
    assert_int_equal(r->version_major, 1);
    assert_int_equal(r->version_minor, 0);
    assert_true(r->tcp_ports.present);
    assert_int_equal(r->tcp_ports.count, 2);
    assert_int_equal(r->tcp_ports.total, 2);
    assert_int_equal(r->tcp_ports.v[0].port, 22);
    assert_string_equal(r->tcp_ports.v[0].iface, "");
    assert_int_equal(r->tcp_ports.v[1].port, 443);
    assert_string_equal(r->tcp_ports.v[1].iface, "eth0");
    assert_true(r->udp_ports.present);
    assert_int_equal(r->udp_ports.count, 1);
    assert_int_equal(r->udp_ports.v[0].port, 90);
    assert_true(r->conns.present);
    assert_int_equal(r->conns.count, 2);
    assert_int_equal(r->conns.total, 2);
    assert_int_equal(r->conns.v[0].remote.family, 4);
    assert_memory_equal(r->conns.v[0].remote.addr, "\xc0\x00\x02\x11", 4);
    assert_int_equal(r->conns.v[0].remote_port, 8883);
    assert_int_equal(r->conns.v[0].local_port, 50412);
    assert_string_equal(r->conns.v[0].local_iface, "eth0");
    assert_int_equal(r->conns.v[1].remote.family, 6);
    assert_memory_equal(r->conns.v[1].remote.addr, "\x20\x01\x0d\xb8\x00\x10\0\0\0\0\0\0\0\0\0\x05",
                        16);
    assert_int_equal(r->conns.v[1].remote_port, 443);
    assert_true(r->net.present);
    assert_int_equal(r->net.has, 0xF);
    assert_int_equal(r->net.v[REPORT_BYTES_IN], 73110);
    assert_int_equal(r->net.v[REPORT_BYTES_OUT], 20544);
    assert_int_equal(r->net.v[REPORT_PACKETS_IN], 402);
    assert_int_equal(r->net.v[REPORT_PACKETS_OUT], 287);
    assert_int_equal(r->ncustom, 2);
    assert_string_equal(r->custom[0].name, "cpu_load_pct");
    assert_int_equal(r->custom[0].type, REPORT_CUSTOM_NUMBER);
    assert_true(r->custom[0].number == 17.25);
    assert_string_equal(r->custom[1].name, "loaded_modules");
    assert_int_equal(r->custom[1].type, REPORT_CUSTOM_STRING_LIST);
    assert_int_equal(r->custom[1].count, 2);
    {
        struct report_str *x = &r->strs[r->custom[1].first];
        assert_int_equal(x->len, 12);
        assert_memory_equal(r->strpool + x->off, "nf_conntrack", 12);
        x++;
        assert_memory_equal(r->strpool + x->off, "br_netfilter", 12);
    }
    assert_int_equal(r->unknown_keys, 0);
    roundtrip(fx, r);
    free(l);
    free(s);
}

/* ---- good corpus ------------------------------------------------------- */

static void test_good_corpus(void **state)
{
    struct fx *fx = *state;
    struct report_decode_opts slow = { .no_fast_paths = true };
    DIR *dir = opendir(FIX "/good");
    struct dirent *e;
    int count = 0;

    assert_non_null(dir);
    while ((e = readdir(dir))) {
        char path[512];
        size_t n;
        char *json;
        if (!strstr(e->d_name, ".json"))
            continue;
        snprintf(path, sizeof(path), FIX "/good/%s", e->d_name);
        json = slurp(path, &n);
        if (report_decode(&fx->r, json, n, NULL, &fx->diag))
            fail_msg("%s: %s %s", e->d_name, fx->diag.code, fx->diag.message);
        /* the general path alone gives the same report */
        assert_int_equal(report_decode(&fx->r2, json, n, &slow, &fx->diag), 0);
        assert_true(report_equal(&fx->r, &fx->r2));
        assert_int_equal(fx->r.unknown_keys, fx->r2.unknown_keys);
        roundtrip(fx, &fx->r);
        free(json);
        count++;
    }
    closedir(dir);
    assert_true(count >= 10);
}

/* ---- bad corpus -------------------------------------------------------- */

static void test_bad_corpus(void **state)
{
    struct fx *fx = *state;
    struct report_decode_opts slow = { .no_fast_paths = true };
    size_t n;
    char *index = slurp(FIX "/bad/INDEX", &n);
    char *line, *save = NULL;
    int count = 0;
    DIR *dir;
    struct dirent *e;

    for (line = strtok_r(index, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *name, *code, *frag, path[512], *json;
        size_t len;
        int rc;
        if (line[0] == '#')
            continue;
        name = line;
        code = strchr(name, '\t');
        assert_non_null(code);
        *code++ = '\0';
        frag = strchr(code, '\t');
        assert_non_null(frag);
        *frag++ = '\0';
        snprintf(path, sizeof(path), FIX "/bad/%s", name);
        json = slurp(path, &len);
        rc = report_decode(&fx->r, json, len, NULL, &fx->diag);
        if (rc == 0)
            fail_msg("%s: accepted", name);
        assert_true(rc == CORDON_EINVAL || rc == CORDON_ETOOBIG);
        if (strcmp(fx->diag.code, code) != 0 || !strstr(fx->diag.message, frag))
            fail_msg("%s: want %s \"%s\"\n  got %s \"%s\"", name, code, frag, fx->diag.code,
                     fx->diag.message);
        /* the general path alone rejects it the same way */
        {
            struct cordon_diag d2;
            assert_int_equal(report_decode(&fx->r2, json, len, &slow, &d2), rc);
            assert_string_equal(d2.code, fx->diag.code);
            assert_string_equal(d2.message, fx->diag.message);
        }
        /* every message names its byte offset */
        assert_true(fx->diag.offset <= len);
        assert_non_null(strstr(fx->diag.message, "(at byte "));
        free(json);
        count++;
    }
    free(index);
    assert_true(count >= 40);

    /* every file of bad/ is in the index */
    dir = opendir(FIX "/bad");
    assert_non_null(dir);
    index = slurp(FIX "/bad/INDEX", &n);
    while ((e = readdir(dir))) {
        char key[300];
        if (!strstr(e->d_name, ".json"))
            continue;
        snprintf(key, sizeof(key), "\n%s\t", e->d_name);
        if (!strstr(index, key))
            fail_msg("bad/%s is not listed in bad/INDEX", e->d_name);
    }
    closedir(dir);
    free(index);
}

/* ---- key forms --------------------------------------------------------- */

static const char *const key_pairs[][2] = {
    { "header", "hed" },
    { "report_id", "rid" },
    { "version", "v" },
    { "metrics", "met" },
    { "custom_metrics", "cmet" },
    { "tcp_connections", "tc" },
    { "established_connections", "ec" },
    { "connections", "cs" },
    { "remote_addr", "rad" },
    { "local_port", "lp" },
    { "local_interface", "li" },
    { "total", "t" },
    { "listening_tcp_ports", "tp" },
    { "listening_udp_ports", "up" },
    { "ports", "pts" },
    { "port", "pt" },
    { "interface", "if" },
    { "network_stats", "ns" },
    { "bytes_in", "bi" },
    { "bytes_out", "bo" },
    { "packets_in", "pi" },
    { "packets_out", "po" },
};

/* Replace every "from": with "to": in s. */
static char *replace_key(const char *s, const char *from, const char *to)
{
    char pat[64], rep[64];
    size_t pl, rl, cap;
    char *out, *o;

    snprintf(pat, sizeof(pat), "\"%s\":", from);
    snprintf(rep, sizeof(rep), "\"%s\":", to);
    pl = strlen(pat);
    rl = strlen(rep);
    cap = strlen(s) * 2 + 64;
    out = malloc(cap);
    assert_non_null(out);
    o = out;
    while (*s) {
        if (strncmp(s, pat, pl) == 0) {
            memcpy(o, rep, rl);
            o += rl;
            s += pl;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

/* Each field alone in short form inside a long report (and the reverse)
 * decodes to the same report. */
static void test_each_key_either_form(void **state)
{
    struct fx *fx = *state;
    size_t n1, n2;
    char *l = slurp(FIX "/good/spec-1.5-long.json", &n1);
    char *s = slurp(FIX "/good/spec-1.6-short.json", &n2);

    assert_int_equal(report_decode(&fx->r2, l, n1, NULL, &fx->diag), 0);
    for (size_t i = 0; i < sizeof(key_pairs) / sizeof(key_pairs[0]); i++) {
        char *a = replace_key(l, key_pairs[i][0], key_pairs[i][1]);
        char *b = replace_key(s, key_pairs[i][1], key_pairs[i][0]);
        assert_true(strcmp(a, l) != 0);
        assert_true(strcmp(b, s) != 0);
        dec_ok(fx, a);
        if (!report_equal(&fx->r, &fx->r2))
            fail_msg("%s -> %s changed the report", key_pairs[i][0], key_pairs[i][1]);
        dec_ok(fx, b);
        if (!report_equal(&fx->r, &fx->r2))
            fail_msg("%s -> %s changed the report", key_pairs[i][1], key_pairs[i][0]);
        free(a);
        free(b);
    }
    free(l);
    free(s);
}

/* The AWS sample agent's short mode: long port/interface inside short tp. */
static void test_mixed_forms(void **state)
{
    struct fx *fx = *state;
    dec_ok(fx, "{\"hed\":{\"report_id\":3,\"v\":\"1.0\"},\"met\":{\"tp\":{\"pts\":[{\"port\":22,"
               "\"interface\":\"eth0\"}],\"total\":1},\"ns\":{\"bytes_in\":1,\"bo\":2}}}");
    assert_int_equal(fx->r.tcp_ports.v[0].port, 22);
    assert_string_equal(fx->r.tcp_ports.v[0].iface, "eth0");
    assert_int_equal(fx->r.net.has, 3);
    roundtrip(fx, &fx->r);
}

static void test_duplicates_either_form(void **state)
{
    struct fx *fx = *state;
    char *m;
    for (size_t i = 0; i < sizeof(key_pairs) / sizeof(key_pairs[0]); i++) {
        /* only the leaf fields whose value is an integer, for a compact check */
        const char *k = key_pairs[i][0];
        char body[256];
        if (strcmp(k, "bytes_in") && strcmp(k, "bytes_out") && strcmp(k, "packets_in") &&
            strcmp(k, "packets_out"))
            continue;
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) {
                snprintf(body, sizeof(body), "{\"ns\":{\"%s\":1,\"%s\":2}}", key_pairs[i][a],
                         key_pairs[i][b]);
                m = with_metrics(body);
                dec_bad(fx, m, REPORT_E_INVALID_FIELD, "field given twice");
                free(m);
            }
    }
    m = with_metrics("{\"tp\":{\"pts\":[{\"port\":22,\"pt\":22}]}}");
    dec_bad(fx, m, REPORT_E_INVALID_FIELD, "metrics.tp.pts[0].pt: field given twice");
    free(m);
    m = with_metrics("{\"tp\":{\"pts\":[],\"ports\":[]}}");
    dec_bad(fx, m, REPORT_E_INVALID_FIELD, "metrics.tp.ports: field given twice");
    free(m);
    dec_bad(fx, "{\"header\":{\"report_id\":1,\"rid\":2,\"version\":\"1.0\"},\"metrics\":{}}",
            REPORT_E_INVALID_FIELD, "header.rid: field given twice (report_id / rid)");
    dec_bad(fx, "{\"header\":{\"report_id\":1,\"version\":\"1.0\"},\"met\":{},\"metrics\":{}}",
            REPORT_E_INVALID_FIELD, "metrics: field given twice");
    dec_bad(fx,
            "{\"header\":{\"report_id\":1,\"version\":\"1.0\"},\"cmet\":{},\"custom_metrics\":{}}",
            REPORT_E_INVALID_FIELD, "custom_metrics: field given twice");
}

/* The compact shapes agents write take a fast path; the result must be what
 * the general path gives, for accepted and rejected entries alike. */
static void test_compact_entries(void **state)
{
    struct fx *fx = *state;
    struct report_decode_opts slow = { .no_fast_paths = true };
    static const char *const metrics[] = {
        "{\"tp\":{\"pts\":[{\"pt\":22},{\"pt\":443,\"if\":\"eth0\"},{\"if\":\"wlan0\",\"pt\":1}]}}",
        "{\"tp\":{\"ports\":[{\"port\":65535},{\"port\":80,\"interface\":\"abcdefghijklmno\"},"
        "{\"interface\":\"e\",\"port\":9}]}}",
        "{\"tp\":{\"pts\":[{\"pt\":22,\"interface\":\"eth0\"},{\"port\":22,\"if\":\"eth0\"}]}}",
        "{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"1.2.3.4:5\"},{\"rad\":\"1.2.3.4:5\",\"lp\":0},"
        "{\"rad\":\"255.255.255.255:65535\",\"lp\":65535,\"li\":\"eth0\"}]}}}",
        "{\"tc\":{\"ec\":{\"cs\":[{\"remote_addr\":\"10.0.0.1:443\",\"local_port\":1,"
        "\"local_interface\":\"br-1\"},{\"remote_addr\":\"[::1]:443\"}]}}}",
        /* shapes the fast path must turn down */
        "{\"tp\":{\"pts\":[{\"pt\":0}]}}",
        "{\"tp\":{\"pts\":[{\"pt\":65536}]}}",
        "{\"tp\":{\"pts\":[{\"pt\":022}]}}",
        "{\"tp\":{\"pts\":[{\"pt\":22.0}]}}",
        "{\"tp\":{\"pts\":[{\"pt\":22,\"if\":\"\"}]}}",
        "{\"tp\":{\"pts\":[{\"pt\":22,\"if\":\"abcdefghijklmnop\"}]}}",
        "{\"tp\":{\"pts\":[{\"pt\":22,\"if\":\"eth0\",\"pt\":23}]}}",
        "{\"tp\":{\"pts\":[{\"if\":\"eth0\",\"pt\":0}]}}",
        "{\"tp\":{\"pts\":[{\"if\":\"eth0\"}]}}",
        "{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"1.2.3.4:0\"}]}}}",
        "{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"1.2.3.4:5\",\"lp\":65536}]}}}",
        "{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"1.2.3.4:5\",\"lp\":-1}]}}}",
        "{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"1.2.3.4:5\",\"lp\":01}]}}}",
        "{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"1.2.3.4:5\",\"lp\":1,\"li\":\"a/b\"}]}}}",
        "{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"01.2.3.4:5\"}]}}}",
        "{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"1.2.3.4:5\",\"rad\":\"1.2.3.4:5\"}]}}}",
        "{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"1.2.3.4:5\",\"lp\":1,\"li\":\"e\",\"x\":1}]}}}",
        "{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"1.2.3.4:5\"}]}}",
    };
    for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
        char *m = with_metrics(metrics[i]);
        struct cordon_diag d2;
        int rc = dec(fx, m);
        assert_int_equal(report_decode(&fx->r2, m, strlen(m), &slow, &d2), rc);
        if (rc == 0) {
            assert_true(report_equal(&fx->r, &fx->r2));
            assert_int_equal(fx->r.unknown_keys, fx->r2.unknown_keys);
            roundtrip(fx, &fx->r);
        } else {
            assert_string_equal(fx->diag.message, d2.message);
        }
        if ((i < 5 || i == 21) != (rc == 0)) /* 21: an unknown key, skipped */
            fail_msg("case %zu: %s", i, fx->diag.message);
        free(m);
    }
}

/* ---- null, unknown keys ------------------------------------------------- */

static void test_null_optional(void **state)
{
    struct fx *fx = *state;
    size_t n;
    char *json = slurp(FIX "/good/nulls.json", &n);
    struct report *r = &fx->r;

    assert_int_equal(report_decode(r, json, n, NULL, &fx->diag), 0);
    assert_true(r->tcp_ports.present);
    assert_string_equal(r->tcp_ports.v[0].iface, "");
    assert_int_equal(r->tcp_ports.total, 1); /* null total = list length */
    assert_false(r->udp_ports.present);
    assert_int_equal(r->conns.v[0].local_port, -1);
    assert_string_equal(r->conns.v[0].local_iface, "");
    assert_int_equal(r->net.has, 1 << REPORT_BYTES_IN);
    assert_int_equal(r->ncustom, 0);
    free(json);

    /* null for a required field is a missing field */
    dec_bad(fx, "{\"header\":{\"report_id\":null,\"version\":\"1.0\"},\"metrics\":{}}",
            REPORT_E_MISSING_FIELD, "header.report_id: required field missing");
    {
        char *m = with_metrics("{\"tc\":{\"ec\":{\"cs\":[{\"rad\":null}]}}}");
        dec_bad(fx, m, REPORT_E_MISSING_FIELD, "metrics.tc.ec.cs[0].rad: required field missing");
        free(m);
        m = with_metrics("{\"tp\":{\"pts\":[{\"pt\":null}]}}");
        dec_bad(fx, m, REPORT_E_MISSING_FIELD, "metrics.tp.pts[0].pt: required field missing");
        free(m);
    }
}

static void test_unknown_keys_counted(void **state)
{
    struct fx *fx = *state;
    size_t n;
    char *json = slurp(FIX "/good/unknown-keys.json", &n);

    assert_int_equal(report_decode(&fx->r, json, n, NULL, &fx->diag), 0);
    /* agent, pid, proc, sampled, future_metric, extension: keys inside an
     * unknown value are not counted again */
    assert_int_equal(fx->r.unknown_keys, 6);
    assert_int_equal(fx->r.version_minor, 7);
    assert_int_equal(fx->r.tcp_ports.v[0].port, 22);
    free(json);
    /* unknown keys are not compared */
    dec_ok(fx, "{\"header\":{\"report_id\":1,\"version\":\"1.0\"},\"metrics\":{}}");
    assert_int_equal(fx->r.unknown_keys, 0);
}

/* ---- addresses ----------------------------------------------------------- */

static void test_remote_addr(void **state)
{
    struct fx *fx = *state;
    static const struct {
        const char *addr;
        int family;
        unsigned port;
    } ok[] = {
        { "192.0.2.17:8883", 4, 8883 },
        { "0.0.0.0:1", 4, 1 },
        { "255.255.255.255:65535", 4, 65535 },
        { "[2001:db8:10::5]:443", 6, 443 },
        { "[::1]:22", 6, 22 },
        { "[::]:1", 6, 1 },
        { "[::ffff:192.0.2.1]:80", 6, 80 },
        { "[2001:0db8:0000:0000:0000:0000:0000:0001]:65535", 6, 65535 },
    };
    static const char *const bad[] = {
        "2001:db8::5:443", "[2001:db8::5]443",  "[2001:db8::5]:", "[2001:db8::5",
        "192.0.2.1",       "192.0.2.1:",        "192.0.2.1:0",    "192.0.2.1:65536",
        "192.0.2.1:080",   "192.0.2:80",        "192.0.2.1.5:80", "192.0.02.1:80",
        "[192.0.2.1]:80",  "[fe80::1%eth0]:22", "host:80",        " 192.0.2.1:80",
        "192.0.2.1:80 ",   "192.0.2.1:+80",     "[]:80",          "",
    };
    char json[512];

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(json, sizeof(json), "{%s,\"met\":{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"%s\"}]}}}}",
                 H, ok[i].addr);
        dec_ok(fx, json);
        assert_int_equal(fx->r.conns.v[0].remote.family, ok[i].family);
        assert_int_equal(fx->r.conns.v[0].remote_port, ok[i].port);
        roundtrip(fx, &fx->r);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(json, sizeof(json), "{%s,\"met\":{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"%s\"}]}}}}",
                 H, bad[i]);
        dec_bad(fx, json, REPORT_E_INVALID_FIELD, "met.tc.ec.cs[0].rad: \"");
    }
    /* the IPv6 form is written back in brackets */
    snprintf(json, sizeof(json),
             "{%s,\"met\":{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"[2001:db8::1]:443\"}]}}}}", H);
    dec_ok(fx, json);
    buf_reset(&fx->out);
    assert_int_equal(report_encode(&fx->r, true, &fx->out), 0);
    assert_non_null(strstr(fx->out.ptr, "\"rad\":\"[2001:db8::1]:443\""));
}

static void test_ip_helpers(void **state)
{
    struct report_ip ip;
    char text[46];
    static const char *const good[] = {
        "0.0.0.0", "192.0.2.1",   "255.255.255.255",  "::",
        "::1",     "2001:db8::1", "::ffff:192.0.2.1", "fe80::1:2:3:4"
    };
    static const char *const bad[] = {
        "",    "1.2.3",          "1.2.3.4.5",    "01.2.3.4", "256.0.0.1", "1.2.3.-4", "1..2.3",
        ":::", "2001:db8::1::2", "fe80::1%eth0", "g::1",     "1.2.3.4 ",  "[::1]"
    };
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(report_ip_parse(good[i], strlen(good[i]), &ip), 0);
        report_ip_format(&ip, text, sizeof(text));
        assert_string_equal(text, good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (report_ip_parse(bad[i], strlen(bad[i]), &ip) != CORDON_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
    /* length-delimited: no NUL needed */
    assert_int_equal(report_ip_parse("10.1.2.3xyz", 8, &ip), 0);
    assert_int_equal(ip.family, 4);
    assert_memory_equal(ip.addr, "\x0a\x01\x02\x03", 4);
    assert_int_equal(report_ip_parse("2001:db8::1", 11, &ip), 0);
    assert_int_equal(ip.family, 6);
    assert_int_equal(report_ip_parse("::1\0", 4, &ip), CORDON_EINVAL);
}

/* report_ip_parse accepts exactly what inet_pton accepts (random strings
 * over the address alphabet, and every well-formed shape we can think of). */
static void test_ip_parse_matches_inet_pton(void **state)
{
    static const char alpha[] = "0123456789abcdefABCDEF:.:.::x";
    static const char *const shapes[] = {
        "1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:7::",
        "::2:3:4:5:6:7:8",
        "1::8",
        "1:2:3:4:5:6:7:8::",
        "::1:2:3:4:5:6:7:8",
        "1:2:3:4:5:6:1.2.3.4",
        "1:2:3:4:5:6:7:1.2.3.4",
        "::1.2.3.4",
        "::ffff:1.2.3.4",
        "1::1.2.3.4",
        "1:2:3:4:5::1.2.3.4",
        "::01.2.3.4",
        "::1.2.3",
        "::1.2.3.4.5",
        "1.2.3.4::",
        ":1::",
        "1::2:",
        ":::",
        "1:::2",
        "12345::",
        "::fFfF",
        "0000:0000:0000:0000:0000:0000:0000:0000",
        "1:2:3:4:5:6:7",
        "::256.1.1.1",
        "1::2::3",
    };
    unsigned seed = 12345;
    (void)state;
    for (int t = 0; t < 300000 + (int)(sizeof(shapes) / sizeof(shapes[0])); t++) {
        char s[48];
        size_t len;
        struct report_ip ip;
        uint8_t want[16];
        int rc, ok;
        if (t < (int)(sizeof(shapes) / sizeof(shapes[0]))) {
            snprintf(s, sizeof(s), "%s", shapes[t]);
        } else if (t % 2) {
            /* groups of 0..5 hex digits, sometimes a dotted quad at the end */
            int groups;
            size_t o = 0;
            seed = seed * 1103515245u + 12345u;
            groups = 1 + (int)((seed >> 16) % 9);
            for (int g = 0; g < groups && o < 40; g++) {
                seed = seed * 1103515245u + 12345u;
                int nd = (int)((seed >> 16) % 6);
                if (g)
                    s[o++] = ':';
                for (int k = 0; k < nd && o < 44; k++)
                    s[o++] = "0123456789abcdef"[(seed >> (k * 4)) & 15];
            }
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 16) % 4 == 0 && o < 30)
                o += (size_t)snprintf(s + o, sizeof(s) - o, ":%u.%u.%u.%u", (seed >> 8) % 300,
                                      seed % 256, (seed >> 4) % 10, (seed >> 12) % 256);
            s[o] = '\0';
        } else {
            seed = seed * 1103515245u + 12345u;
            len = (seed >> 16) % 24;
            for (size_t i = 0; i < len; i++) {
                seed = seed * 1103515245u + 12345u;
                s[i] = alpha[(seed >> 16) % (sizeof(alpha) - 1)];
            }
            s[len] = '\0';
        }
        len = strlen(s);
        rc = report_ip_parse(s, len, &ip);
        if (strchr(s, ':'))
            ok = inet_pton(AF_INET6, s, want) == 1;
        else
            ok = inet_pton(AF_INET, s, want) == 1;
        if ((rc == 0) != ok)
            fail_msg("\"%s\": report_ip_parse %d, inet_pton %d", s, rc, ok);
        if (ok)
            assert_memory_equal(ip.addr, want, strchr(s, ':') ? 16 : 4);
    }
}

static void test_thing_name(void **state)
{
    char name[THING_NAME_MAX + 2];
    (void)state;
    assert_int_equal(report_thing_name_check("pump-0042", 9), 0);
    assert_int_equal(report_thing_name_check("caf\xc3\xa9:1_a.b", 11), 0);
    memset(name, 'a', sizeof(name));
    assert_int_equal(report_thing_name_check(name, THING_NAME_MAX), 0);
    assert_int_equal(report_thing_name_check(name, THING_NAME_MAX + 1), CORDON_EINVAL);
    assert_int_equal(report_thing_name_check("", 0), CORDON_EINVAL);
    assert_int_equal(report_thing_name_check("a+b", 3), CORDON_EINVAL);
    assert_int_equal(report_thing_name_check("a#b", 3), CORDON_EINVAL);
    assert_int_equal(report_thing_name_check("a/b", 3), CORDON_EINVAL);
    assert_int_equal(report_thing_name_check("a\nb", 3), CORDON_EINVAL);
    assert_int_equal(report_thing_name_check("a\0b", 3), CORDON_EINVAL);
    assert_int_equal(report_thing_name_check("a\x7f", 2), CORDON_EINVAL);
    assert_int_equal(report_thing_name_check("a\xc2\x85", 3), CORDON_EINVAL); /* C1 NEL */
    assert_int_equal(report_thing_name_check("a\xff", 2), CORDON_EINVAL);
    assert_int_equal(report_thing_name_check("a\xc3", 2), CORDON_EINVAL);
}

/* ---- custom metrics ------------------------------------------------------ */

static int lookup(void *ctx, const char *name, size_t len)
{
    (void)ctx;
    if (len == 4 && memcmp(name, "load", 4) == 0)
        return REPORT_CUSTOM_NUMBER;
    if (len == 4 && memcmp(name, "mods", 4) == 0)
        return REPORT_CUSTOM_STRING_LIST;
    return -1;
}

static void test_custom_declared(void **state)
{
    struct fx *fx = *state;
    struct report_decode_opts opts = { .custom_lookup = lookup };
    const char *j;

    j = "{\"hed\":{\"rid\":1,\"v\":\"1.0\"},\"cmet\":{\"load\":[{\"number\":1.5}],\"mods\":[{"
        "\"string_list\":[\"a\"]}]}}";
    assert_int_equal(report_decode(&fx->r, j, strlen(j), &opts, &fx->diag), 0);
    j = "{\"hed\":{\"rid\":1,\"v\":\"1.0\"},\"cmet\":{\"load\":[{\"number\":1.5}],\"temp\":[{"
        "\"number\":3}]}}";
    assert_int_equal(report_decode(&fx->r, j, strlen(j), &opts, &fx->diag), CORDON_EINVAL);
    assert_string_equal(fx->diag.code, REPORT_E_UNKNOWN_CUSTOM);
    assert_non_null(strstr(fx->diag.message, "cmet.temp: custom metric not declared"));
    assert_int_equal(fx->diag.offset, strstr(j, "\"temp\"") - j);
    j = "{\"hed\":{\"rid\":1,\"v\":\"1.0\"},\"cmet\":{\"load\":[{\"number_list\":[1]}]}}";
    assert_int_equal(report_decode(&fx->r, j, strlen(j), &opts, &fx->diag), CORDON_EINVAL);
    assert_string_equal(fx->diag.code, REPORT_E_INVALID_FIELD);
    assert_non_null(strstr(fx->diag.message,
                           "cmet.load[0].number_list: custom metric load is declared as number, "
                           "not number-list"));
}

static void test_custom_values(void **state)
{
    struct fx *fx = *state;
    size_t n;
    char *json = slurp(FIX "/good/custom-all-types.json", &n);
    struct report *r = &fx->r;
    char ip[46];

    assert_int_equal(report_decode(r, json, n, NULL, &fx->diag), 0);
    assert_int_equal(r->ncustom, 5);
    assert_true(r->custom[0].number == -17.25);
    assert_int_equal(r->custom[1].type, REPORT_CUSTOM_NUMBER_LIST);
    assert_int_equal(r->custom[1].count, 4);
    assert_true(r->numbers[r->custom[1].first + 2] == -3e-7);
    assert_true(r->numbers[r->custom[1].first + 3] == 123456789012345.0);
    assert_int_equal(r->custom[3].type, REPORT_CUSTOM_IP_LIST);
    assert_int_equal(r->custom[3].count, 4);
    report_ip_format(&r->ips[r->custom[3].first + 1], ip, sizeof(ip));
    assert_string_equal(ip, "2001:db8::1");
    assert_int_equal(r->custom[4].count, 0);
    roundtrip(fx, r);
    free(json);
}

static void test_custom_numbers(void **state)
{
    struct fx *fx = *state;
    static const char *const ok[] = { "0",
                                      "-0",
                                      "123456789012345",
                                      "-123456789012345",
                                      "0.000000000000001",
                                      "1.50000000000000000000",
                                      "100000000000000000000",
                                      "1e308",
                                      "-1.5E-300",
                                      "0.1",
                                      "1234567.12345678",
                                      "4.9e-324" };
    static const char *const bad[] = { "1234567890123456", "0.1234567890123456", "1e309",
                                       "12345678901234567890" };
    char c[128], *j;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(c, sizeof(c), "{\"x\":[{\"number\":%s}],\"y\":[{\"number_list\":[%s]}]}", ok[i],
                 ok[i]);
        j = with_custom(c);
        dec_ok(fx, j);
        assert_true(fx->r.custom[0].number == strtod(ok[i], NULL));
        roundtrip(fx, &fx->r);
        free(j);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(c, sizeof(c), "{\"x\":[{\"number\":%s}]}", bad[i]);
        j = with_custom(c);
        dec_bad(fx, j, REPORT_E_INVALID_FIELD, "custom_metrics.x[0].number: ");
        free(j);
    }
}

/* ---- limits at their boundary ------------------------------------------ */

/* n port entries in listening_tcp_ports */
static char *many_ports(int n)
{
    struct buf b;
    buf_init(&b, 1 << 24);
    assert_int_equal(buf_printf(&b, "{%s,\"metrics\":{\"tp\":{\"pts\":[", H), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(buf_printf(&b, "%s{\"pt\":%d}", i ? "," : "", 1 + i % 65535), 0);
    assert_int_equal(buf_adds(&b, "]}}}"), 0);
    return b.ptr;
}

static char *many_conns(int n)
{
    struct buf b;
    buf_init(&b, 1 << 24);
    assert_int_equal(buf_printf(&b, "{%s,\"metrics\":{\"tc\":{\"ec\":{\"cs\":[", H), 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(
            buf_printf(&b, "%s{\"rad\":\"10.0.%d.%d:80\"}", i ? "," : "", (i >> 8) & 255, i & 255),
            0);
    assert_int_equal(buf_adds(&b, "]}}}}"), 0);
    return b.ptr;
}

static void test_limits_lists(void **state)
{
    struct fx *fx = *state;
    struct report_decode_opts big = { .max_bytes = 1 << 24 };
    char *j;

    j = many_ports(PORTS_MAX);
    assert_int_equal(report_decode(&fx->r, j, strlen(j), &big, &fx->diag), 0);
    assert_int_equal(fx->r.tcp_ports.count, PORTS_MAX);
    roundtrip(fx, &fx->r);
    free(j);
    j = many_ports(PORTS_MAX + 1);
    assert_int_equal(report_decode(&fx->r, j, strlen(j), &big, &fx->diag), CORDON_ETOOBIG);
    assert_string_equal(fx->diag.code, REPORT_E_INVALID_FIELD);
    assert_non_null(strstr(fx->diag.message, "metrics.tp.pts: more than 1024 entries (PORTS_MAX)"));
    free(j);

    j = many_conns(CONNECTIONS_MAX);
    assert_int_equal(report_decode(&fx->r, j, strlen(j), &big, &fx->diag), 0);
    assert_int_equal(fx->r.conns.count, CONNECTIONS_MAX);
    assert_int_equal(fx->r.conns.total, CONNECTIONS_MAX);
    free(j);
    j = many_conns(CONNECTIONS_MAX + 1);
    assert_int_equal(report_decode(&fx->r, j, strlen(j), &big, &fx->diag), CORDON_ETOOBIG);
    assert_non_null(strstr(fx->diag.message, "more than 2048 entries (CONNECTIONS_MAX)"));
    free(j);
}

static void test_limits_size_and_depth(void **state)
{
    struct fx *fx = *state;
    struct report_decode_opts small = { .max_bytes = 0 };
    struct buf b;
    char *m;

    /* payload exactly at the cap passes, one byte more is rejected */
    buf_init(&b, REPORT_MAX_BYTES + 16);
    assert_int_equal(buf_printf(&b, "{%s,\"metrics\":{}}", H), 0);
    while (b.len < REPORT_MAX_BYTES)
        assert_int_equal(buf_addc(&b, ' '), 0);
    assert_int_equal(report_decode(&fx->r, b.ptr, b.len, NULL, &fx->diag), 0);
    assert_int_equal(buf_addc(&b, ' '), 0);
    assert_int_equal(report_decode(&fx->r, b.ptr, b.len, NULL, &fx->diag), CORDON_ETOOBIG);
    assert_string_equal(fx->diag.code, REPORT_E_INVALID_PAYLOAD);
    small.max_bytes = 100;
    assert_int_equal(report_decode(&fx->r, b.ptr, 101, &small, &fx->diag), CORDON_ETOOBIG);
    assert_non_null(strstr(fx->diag.message, "exceeds the limit of 100 bytes"));
    buf_free(&b);

    /* depth: root object (1), metrics object (2), 6 arrays = 8 passes, 9 fails */
    m = with_metrics("{\"x\":[[[[[[1]]]]]]}");
    dec_ok(fx, m);
    free(m);
    m = with_metrics("{\"x\":[[[[[[[1]]]]]]]}");
    dec_bad(fx, m, REPORT_E_INVALID_PAYLOAD, "nesting deeper than 8");
    free(m);
}

static void test_limits_strings(void **state)
{
    struct fx *fx = *state;
    char name[METRIC_NAME_MAX + 2], c[1024], *j;

    /* interface name 15 / 16 bytes */
    {
        char *m = with_metrics("{\"tp\":{\"pts\":[{\"pt\":1,\"if\":\"abcdefghijklmno\"}]}}");
        dec_ok(fx, m);
        assert_string_equal(fx->r.tcp_ports.v[0].iface, "abcdefghijklmno");
        free(m);
        m = with_metrics("{\"tp\":{\"pts\":[{\"pt\":1,\"if\":\"abcdefghijklmnop\"}]}}");
        dec_bad(fx, m, REPORT_E_INVALID_FIELD, "is not an interface name (1..15 bytes)");
        free(m);
    }
    /* metric name 128 / 129 */
    memset(name, 'm', sizeof(name));
    name[METRIC_NAME_MAX] = '\0';
    snprintf(c, sizeof(c), "{\"%s\":[{\"number\":1}]}", name);
    j = with_custom(c);
    dec_ok(fx, j);
    assert_int_equal(strlen(fx->r.custom[0].name), METRIC_NAME_MAX);
    roundtrip(fx, &fx->r);
    free(j);
    name[METRIC_NAME_MAX] = 'm';
    name[METRIC_NAME_MAX + 1] = '\0';
    snprintf(c, sizeof(c), "{\"%s\":[{\"number\":1}]}", name);
    j = with_custom(c);
    dec_bad(fx, j, REPORT_E_INVALID_FIELD, "invalid custom metric name (1..128 characters)");
    free(j);

    /* string_list element 256 / 257 bytes */
    {
        char el[CUSTOM_STRING_MAX + 2];
        memset(el, 's', sizeof(el));
        el[CUSTOM_STRING_MAX] = '\0';
        snprintf(c, sizeof(c), "{\"x\":[{\"string_list\":[\"%s\"]}]}", el);
        j = with_custom(c);
        dec_ok(fx, j);
        free(j);
        el[CUSTOM_STRING_MAX] = 's';
        el[CUSTOM_STRING_MAX + 1] = '\0';
        snprintf(c, sizeof(c), "{\"x\":[{\"string_list\":[\"%s\"]}]}", el);
        j = with_custom(c);
        dec_bad(fx, j, REPORT_E_INVALID_FIELD, "is not a string-list element (1..256 bytes)");
        free(j);
    }
}

static void test_limits_custom(void **state)
{
    struct fx *fx = *state;
    struct buf b;

    /* CUSTOM_METRICS_MAX metrics pass, one more is rejected */
    for (int extra = 0; extra < 2; extra++) {
        buf_init(&b, 1 << 20);
        assert_int_equal(buf_printf(&b, "{%s,\"cmet\":{", H), 0);
        for (int i = 0; i < CUSTOM_METRICS_MAX + extra; i++)
            assert_int_equal(buf_printf(&b, "%s\"m%d\":[{\"number\":%d}]", i ? "," : "", i, i), 0);
        assert_int_equal(buf_adds(&b, "}}"), 0);
        if (!extra) {
            dec_ok(fx, b.ptr);
            roundtrip(fx, &fx->r);
        } else {
            assert_int_equal(dec(fx, b.ptr), CORDON_ETOOBIG);
            assert_non_null(strstr(fx->diag.message, "more than 64 custom metrics"));
        }
        buf_free(&b);
    }
    /* CUSTOM_VALUES_MAX elements over all metrics */
    for (int extra = 0; extra < 2; extra++) {
        buf_init(&b, 1 << 20);
        assert_int_equal(buf_printf(&b, "{%s,\"cmet\":{\"a\":[{\"number_list\":[", H), 0);
        for (int i = 0; i < CUSTOM_VALUES_MAX / 2; i++)
            assert_int_equal(buf_printf(&b, "%s%d", i ? "," : "", i), 0);
        assert_int_equal(buf_adds(&b, "]}],\"b\":[{\"ip_list\":["), 0);
        for (int i = 0; i < CUSTOM_VALUES_MAX / 2 + extra; i++)
            assert_int_equal(buf_printf(&b, "%s\"10.0.%d.%d\"", i ? "," : "", i >> 8, i & 255), 0);
        assert_int_equal(buf_adds(&b, "]}]}}"), 0);
        if (!extra) {
            dec_ok(fx, b.ptr);
            assert_int_equal(fx->r.nvalues, CUSTOM_VALUES_MAX);
            roundtrip(fx, &fx->r);
        } else {
            assert_int_equal(dec(fx, b.ptr), CORDON_ETOOBIG);
            assert_non_null(strstr(fx->diag.message, "(CUSTOM_VALUES_MAX)"));
        }
        buf_free(&b);
    }
    /* CUSTOM_STRPOOL_MAX bytes of strings */
    for (int extra = 0; extra < 2; extra++) {
        char el[CUSTOM_STRING_MAX + 1];
        int count = CUSTOM_STRPOOL_MAX / CUSTOM_STRING_MAX;
        memset(el, 'z', CUSTOM_STRING_MAX);
        el[CUSTOM_STRING_MAX] = '\0';
        buf_init(&b, 1 << 20);
        assert_int_equal(buf_printf(&b, "{%s,\"cmet\":{\"s\":[{\"string_list\":[", H), 0);
        for (int i = 0; i < count; i++)
            assert_int_equal(buf_printf(&b, "%s\"%s\"", i ? "," : "", el), 0);
        if (extra)
            assert_int_equal(buf_adds(&b, ",\"z\""), 0);
        assert_int_equal(buf_adds(&b, "]}]}}"), 0);
        struct report_decode_opts big = { .max_bytes = 1 << 20 };
        if (!extra) {
            assert_int_equal(report_decode(&fx->r, b.ptr, b.len, &big, &fx->diag), 0);
            assert_int_equal(fx->r.strpool_len, CUSTOM_STRPOOL_MAX);
        } else {
            assert_int_equal(report_decode(&fx->r, b.ptr, b.len, &big, &fx->diag), CORDON_ETOOBIG);
            assert_non_null(strstr(fx->diag.message, "(CUSTOM_STRPOOL_MAX)"));
        }
        buf_free(&b);
    }
}

static void test_limits_integers(void **state)
{
    struct fx *fx = *state;
    char *m;

    m = with_metrics("{\"tp\":{\"pts\":[{\"pt\":1},{\"pt\":65535}],\"t\":4294967295},"
                     "\"ns\":{\"bi\":18446744073709551615,\"bo\":0}}");
    dec_ok(fx, m);
    assert_int_equal(fx->r.tcp_ports.total, UINT32_MAX);
    assert_true(fx->r.net.v[REPORT_BYTES_IN] == UINT64_MAX);
    roundtrip(fx, &fx->r);
    free(m);
    m = with_metrics("{\"tp\":{\"t\":4294967296}}");
    dec_bad(fx, m, REPORT_E_INVALID_FIELD, "metrics.tp.t: 4294967296 is not a count");
    free(m);
    m = with_metrics("{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"1.2.3.4:5\",\"lp\":0}]}}}");
    dec_ok(fx, m);
    assert_int_equal(fx->r.conns.v[0].local_port, 0);
    roundtrip(fx, &fx->r);
    free(m);
    m = with_metrics("{\"tc\":{\"ec\":{\"cs\":[{\"rad\":\"1.2.3.4:5\",\"lp\":-1}]}}}");
    dec_bad(fx, m, REPORT_E_INVALID_FIELD, "metrics.tc.ec.cs[0].lp: -1 is not a port number");
    free(m);
    dec_ok(fx, "{\"hed\":{\"rid\":9223372036854775807,\"v\":\"1.0\"},\"met\":{}}");
    assert_true(fx->r.report_id == INT64_MAX);
    dec_ok(fx, "{\"hed\":{\"rid\":0,\"v\":\"1.0\"},\"met\":{}}");
    assert_true(fx->r.report_id == 0);
}

/* ---- diagnostics ---------------------------------------------------------- */

static void test_diag_offset_and_path(void **state)
{
    struct fx *fx = *state;
    const char *j = "{\"header\":{\"report_id\":1,\"version\":\"1.0\"},\"metrics\":{"
                    "\"listening_tcp_ports\":{\"ports\":[{\"port\":1},{\"port\":2},{\"port\":3},"
                    "{\"port\":70000}]}}}";
    assert_int_equal(dec(fx, j), CORDON_EINVAL);
    assert_string_equal(fx->diag.code, REPORT_E_INVALID_FIELD);
    assert_int_equal(fx->diag.offset, strstr(j, "70000") - j);
    assert_string_equal(fx->diag.message,
                        "metrics.listening_tcp_ports.ports[3].port: 70000 is not a port (integer "
                        "1..65535) (at byte 126)");
    /* the path uses the keys as written, escapes included */
    j = "{\"header\":{\"report_id\":1,\"version\":\"1.0\"},\"m\\u0065trics\":{\"tp\":{\"pts\":[{"
        "\"pt\":0}]}}}";
    assert_int_equal(dec(fx, j), CORDON_EINVAL);
    assert_non_null(strstr(fx->diag.message, "m\\u0065trics.tp.pts[0].pt: 0 is not a port"));
    /* malformed JSON names the offset of the offending byte */
    j = "{\"header\":{\"report_id\":1,\"version\":\"1.0\"} \"metrics\":{}}";
    assert_int_equal(dec(fx, j), CORDON_EINVAL);
    assert_string_equal(fx->diag.code, REPORT_E_INVALID_PAYLOAD);
    assert_int_equal(fx->diag.offset, strchr(j, '}') - j + 2);
    assert_non_null(strstr(fx->diag.message, "expected ',' or '}'"));
    /* long keys are cut in the path on a character boundary */
    {
        struct buf b;
        buf_init(&b, 1 << 16);
        assert_int_equal(buf_printf(&b, "{%s,\"metrics\":{\"", H), 0);
        for (int i = 0; i < 6; i++) {
            for (int k = 0; k < 40 + i; k++)
                assert_int_equal(buf_adds(&b, "\xe2\x82\xac"), 0);
            assert_int_equal(buf_adds(&b, i < 5 ? "\":{\"" : "\":\"\x01\"}}}}}}}"), 0);
        }
        assert_int_equal(report_decode(&fx->r, b.ptr, b.len, NULL, &fx->diag), CORDON_EINVAL);
        assert_non_null(strstr(fx->diag.message, "\xe2\x82\xac...."));
        assert_non_null(strstr(fx->diag.message, "control character in string"));
        for (const unsigned char *p = (const unsigned char *)fx->diag.message; *p;) {
            int n = *p < 0x80 ? 1 : *p >= 0xE0 ? 3 : 2;
            for (int i = 1; i < n; i++)
                assert_int_equal(p[i] & 0xC0, 0x80);
            p += n;
        }
        buf_free(&b);
    }
    /* no input at all */
    assert_int_equal(report_decode(&fx->r, NULL, 0, NULL, &fx->diag), CORDON_EINVAL);
    assert_string_equal(fx->diag.code, REPORT_E_INVALID_PAYLOAD);
    /* a NULL diag is allowed */
    assert_int_equal(report_decode(&fx->r, j, strlen(j), NULL, NULL), CORDON_EINVAL);
}

static void test_strings_utf8_and_escapes(void **state)
{
    struct fx *fx = *state;
    size_t n;
    char *json = slurp(FIX "/good/escapes.json", &n);
    char *m;

    assert_int_equal(report_decode(&fx->r, json, n, NULL, &fx->diag), 0);
    assert_string_equal(fx->r.tcp_ports.v[0].iface, "eth0");
    assert_int_equal(fx->r.conns.v[0].remote_port, 80);
    assert_int_equal(fx->r.unknown_keys, 2);
    free(json);
    /* valid UTF-8 in unknown values passes; broken UTF-8 anywhere fails */
    m = with_metrics("{\"x\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}");
    dec_ok(fx, m);
    free(m);
    static const char *const broken[] = { "\x80",
                                          "\xc3",
                                          "\xe2\x82",
                                          "\xf0\x9f\x98",
                                          "\xf4\x90\x80\x80",
                                          "\xe0\x80\x80",
                                          "\xf8\x88\x80\x80\x80" };
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        char body[64];
        snprintf(body, sizeof(body), "{\"x\":\"a%sb\"}", broken[i]);
        m = with_metrics(body);
        dec_bad(fx, m, REPORT_E_INVALID_PAYLOAD, "invalid UTF-8 in string");
        free(m);
    }
    /* escaped control characters are valid JSON but not a valid interface */
    m = with_metrics("{\"tp\":{\"pts\":[{\"pt\":1,\"if\":\"eth\\u0000\"}]}}");
    dec_bad(fx, m, REPORT_E_INVALID_FIELD, "is not an interface name");
    free(m);
    m = with_metrics("{\"tp\":{\"pts\":[{\"pt\":1,\"if\":\"eth\\t0\"}]}}");
    dec_bad(fx, m, REPORT_E_INVALID_FIELD, "is not an interface name");
    free(m);
    /* a surrogate pair decodes into one 4-byte sequence */
    m = with_custom("{\"x\":[{\"string_list\":[\"\\ud83d\\ude00\"]}]}");
    dec_bad(fx, m, REPORT_E_INVALID_FIELD, "has a character other than");
    free(m);
    m = with_custom("{\"x\":[{\"string_list\":[\"a\\u002fb\"]}]}");
    dec_ok(fx, m);
    assert_memory_equal(fx->r.strpool, "a/b", 3);
    free(m);
}

/* ---- encoder ---------------------------------------------------------------- */

static void test_encode(void **state)
{
    struct fx *fx = *state;
    struct report *r = &fx->r;
    struct buf small;

    report_reset(r);
    r->report_id = 42;
    /* no metric group and no custom metric: "metrics" is still written */
    buf_reset(&fx->out);
    assert_int_equal(report_encode(r, false, &fx->out), 0);
    assert_string_equal(fx->out.ptr,
                        "{\"header\":{\"report_id\":42,\"version\":\"1.0\"},\"metrics\":{}}");
    buf_reset(&fx->out);
    assert_int_equal(report_encode(r, true, &fx->out), 0);
    assert_string_equal(fx->out.ptr, "{\"hed\":{\"rid\":42,\"v\":\"1.0\"},\"met\":{}}");
    roundtrip(fx, r);

    /* a number that needs more than 15 digits is refused, and can be rounded */
    r->ncustom = 1;
    strcpy(r->custom[0].name, "load");
    r->custom[0].type = REPORT_CUSTOM_NUMBER;
    r->custom[0].number = 1.0 / 3.0;
    buf_reset(&fx->out);
    assert_int_equal(report_encode(r, false, &fx->out), CORDON_ERANGE);
    assert_int_equal(fx->out.len, 0);
    r->custom[0].number = report_number_round(1.0 / 3.0);
    assert_int_equal(report_encode(r, false, &fx->out), 0);
    assert_non_null(strstr(fx->out.ptr, "\"number\":0.333333333333333}"));
    roundtrip(fx, r);

    /* the output cap is honoured and the buffer is left as it was */
    buf_init(&small, 20);
    assert_int_equal(buf_adds(&small, "x"), 0);
    assert_int_equal(report_encode(r, false, &small), CORDON_ETOOBIG);
    assert_int_equal(small.len, 1);
    assert_string_equal(small.ptr, "x");
    buf_free(&small);
}

/* A decode reuses the arrays: nothing of a previous report leaks into the next. */
static void test_reuse(void **state)
{
    struct fx *fx = *state;
    size_t n;
    char *json = slurp(FIX "/good/spec-1.5-long.json", &n);
    const char *small =
        "{\"hed\":{\"rid\":5,\"v\":\"1.0\"},\"met\":{\"tp\":{\"pts\":[{\"pt\":1}]}}}";

    assert_int_equal(report_decode(&fx->r, json, n, NULL, &fx->diag), 0);
    assert_int_equal(report_decode(&fx->r, small, strlen(small), NULL, &fx->diag), 0);
    assert_int_equal(report_decode(&fx->r2, small, strlen(small), NULL, &fx->diag), 0);
    assert_true(report_equal(&fx->r, &fx->r2));
    assert_false(fx->r.udp_ports.present);
    assert_false(fx->r.conns.present);
    assert_false(fx->r.net.present);
    assert_int_equal(fx->r.ncustom, 0);
    assert_string_equal(fx->r.tcp_ports.v[0].iface, "");
    /* a failed decode leaves no half report that equals a good one */
    assert_int_equal(report_decode(&fx->r, json, n - 3, NULL, &fx->diag), CORDON_EINVAL);
    free(json);
}

static void test_equal(void **state)
{
    struct fx *fx = *state;
    size_t n;
    char *json = slurp(FIX "/good/spec-1.5-long.json", &n);

    assert_int_equal(report_decode(&fx->r, json, n, NULL, &fx->diag), 0);
    assert_int_equal(report_decode(&fx->r2, json, n, NULL, &fx->diag), 0);
    assert_true(report_equal(&fx->r, &fx->r2));
    fx->r2.conns.v[1].local_port = 1;
    assert_false(report_equal(&fx->r, &fx->r2));
    fx->r2.conns.v[1].local_port = fx->r.conns.v[1].local_port;
    fx->r2.strpool[fx->r2.strs[fx->r2.custom[1].first].off] = 'X';
    assert_false(report_equal(&fx->r, &fx->r2));
    fx->r2.strpool[fx->r2.strs[fx->r2.custom[1].first].off] = 'n';
    assert_true(report_equal(&fx->r, &fx->r2));
    fx->r2.unknown_keys = 3;
    assert_true(report_equal(&fx->r, &fx->r2));
    fx->r2.net.v[REPORT_PACKETS_IN]++;
    assert_false(report_equal(&fx->r, &fx->r2));
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spec_examples, setup, teardown),
        cmocka_unit_test_setup_teardown(test_good_corpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_corpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_key_either_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mixed_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_either_form, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact_entries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_optional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_keys_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_remote_addr, setup, teardown),
        cmocka_unit_test(test_ip_helpers),
        cmocka_unit_test(test_ip_parse_matches_inet_pton),
        cmocka_unit_test(test_thing_name),
        cmocka_unit_test_setup_teardown(test_custom_declared, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_custom_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_size_and_depth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_custom, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_integers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diag_offset_and_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings_utf8_and_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_encode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_equal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
