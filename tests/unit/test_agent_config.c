/*
 * test_agent_config.c — agent.conf parsing, flags, errors naming file:line
 * (agent/config.c), and the reply reader (agent/reply.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "reply.h"

#include <string.h>

static int parse(struct agent_config *c, const char *text, char *err, size_t errlen)
{
    return config_parse(c, text, strlen(text), "/etc/cordon/agent.conf", err, errlen);
}

static void test_file_and_defaults(void **state)
{
    struct agent_config c;
    char err[512];
    const char *text = "# Cordon agent\n"
                       "thing = pump-0042\n"
                       "  host=broker.example  \n"
                       "port = 8883\n"
                       "cafile = /etc/cordon/ca.pem\n"
                       "interval = 60\n"
                       "short-names = yes\n"
                       "spool_max_bytes = 2M\n"
                       "\n"
                       "metric.cpu_load.type = number\n"
                       "metric.cpu_load.command = /usr/bin/awk '{print $1}' \"/proc/load avg\"\n"
                       "metric.modules.type = string-list\n"
                       "metric.modules.file = /run/modules\n";
    (void)state;
    assert_int_equal(config_init(&c), 0);
    assert_int_equal(c.interval_s, 300);
    assert_int_equal(c.max_list, 128);
    assert_false(c.include_loopback);
    assert_int_equal(parse(&c, text, err, sizeof(err)), 0);
    assert_int_equal(config_check(&c, true, err, sizeof(err)), 0);
    assert_string_equal(c.thing, "pump-0042");
    assert_string_equal(c.host, "broker.example");
    assert_int_equal(c.port, 8883);
    assert_int_equal(c.interval_ms, 60000);
    assert_true(c.short_names);
    assert_int_equal(c.spool_max_bytes, 2 * 1024 * 1024);
    assert_int_equal(c.ncustom, 2);
    assert_string_equal(c.custom[0].argv[0], "/usr/bin/awk");
    assert_string_equal(c.custom[0].argv[1], "{print $1}");
    assert_string_equal(c.custom[0].argv[2], "/proc/load avg");
    assert_null(c.custom[0].argv[3]);
    assert_string_equal(c.custom[1].file, "/run/modules");
    /* a flag overrides the file */
    assert_int_equal(config_set(&c, "interval", "30", "--interval", err, sizeof(err)), 0);
    assert_int_equal(c.interval_s, 30);
    config_free(&c);
}

static void test_errors_name_file_and_line(void **state)
{
    struct agent_config c;
    char err[512];
    (void)state;
    assert_int_equal(config_init(&c), 0);
    assert_int_equal(parse(&c, "thing = a\ninterval = 4\n", err, sizeof(err)), CORDON_EINVAL);
    assert_non_null(strstr(err, "/etc/cordon/agent.conf:2"));
    assert_non_null(strstr(err, "interval"));
    assert_int_equal(parse(&c, "\n\nbogus_key = 1\n", err, sizeof(err)), CORDON_EINVAL);
    assert_non_null(strstr(err, "agent.conf:3: unknown key 'bogus_key'"));
    assert_int_equal(parse(&c, "no equals sign\n", err, sizeof(err)), CORDON_EINVAL);
    assert_non_null(strstr(err, "agent.conf:1: expected 'key = value'"));
    assert_int_equal(parse(&c, "short_names = maybe\n", err, sizeof(err)), CORDON_EINVAL);
    assert_int_equal(parse(&c, "mqtt_version = 4\n", err, sizeof(err)), CORDON_EINVAL);
    assert_int_equal(parse(&c, "max_list = 5000\n", err, sizeof(err)), CORDON_EINVAL);
    assert_int_equal(parse(&c, "metric.aws:x.type = number\n", err, sizeof(err)), CORDON_EINVAL);
    assert_int_equal(parse(&c, "metric.m.type = float\n", err, sizeof(err)), CORDON_EINVAL);
    assert_int_equal(parse(&c, "metric.m.command = relative/path\n", err, sizeof(err)),
                     CORDON_EINVAL);
    assert_int_equal(parse(&c, "metric.m.command = /bin/x 'open\n", err, sizeof(err)),
                     CORDON_EINVAL);
    assert_non_null(strstr(err, "unterminated quote"));
    config_free(&c);
}

static void test_check(void **state)
{
    struct agent_config c;
    char err[512];
    (void)state;
    assert_int_equal(config_init(&c), 0);
    assert_int_equal(config_check(&c, true, err, sizeof(err)), CORDON_EINVAL);
    assert_non_null(strstr(err, "thing"));
    assert_int_equal(config_check(&c, false, err, sizeof(err)), 0);
    assert_int_equal(parse(&c, "thing = bad/name\n", err, sizeof(err)), 0);
    assert_int_equal(config_check(&c, true, err, sizeof(err)), CORDON_EINVAL);
    assert_int_equal(parse(&c, "thing = ok\ncertfile = /c.pem\n", err, sizeof(err)), 0);
    assert_int_equal(config_check(&c, true, err, sizeof(err)), CORDON_EINVAL);
    config_free(&c);
    assert_int_equal(config_init(&c), 0);
    assert_int_equal(parse(&c, "thing = ok\nmetric.m.type = number\n", err, sizeof(err)), 0);
    assert_int_equal(config_check(&c, true, err, sizeof(err)), CORDON_EINVAL);
    assert_non_null(strstr(err, "agent.conf:2: metric m needs exactly one of command or file"));
    config_free(&c);
}

static void test_reply(void **state)
{
    struct reply rp;
    const char *acc = "{\"thingName\":\"pump-0042\",\"reportId\":1733000400123,"
                      "\"status\":\"ACCEPTED\",\"timestamp\":1733000400518}";
    const char *rej = "{\"thingName\":\"p\",\"reportId\":7,\"status\":\"REJECTED\",\"timestamp\":1,"
                      "\"statusDetails\":{\"ErrorCode\":\"InvalidPayload\",\"ErrorMessage\":"
                      "\"metrics.tp.pts[1].pt: expected \\\"integer\\\" 1..65535\"},"
                      "\"extra\":[1,{\"a\":null},true]}";
    (void)state;
    assert_int_equal(reply_parse(acc, strlen(acc), &rp), 0);
    assert_true(rp.has_id);
    assert_true(rp.report_id == 1733000400123LL);
    assert_string_equal(rp.status, "ACCEPTED");
    assert_int_equal(reply_parse(rej, strlen(rej), &rp), 0);
    assert_true(rp.report_id == 7);
    assert_string_equal(rp.error_code, "InvalidPayload");
    assert_string_equal(rp.error_message, "metrics.tp.pts[1].pt: expected \"integer\" 1..65535");
    assert_int_equal(reply_parse("{\"reportId\":1", 13, &rp), -1);
    assert_int_equal(reply_parse("[]", 2, &rp), -1);
    assert_int_equal(reply_parse("{\"reportId\":\"1\"}", 16, &rp), 0);
    assert_false(rp.has_id);
}

/* Truncated and mutated replies are refused or parsed, never overrun. */
static void test_reply_mutations(void **state)
{
    const char *good =
        "{\"thingName\":\"p\",\"reportId\":7,\"status\":\"REJECTED\",\"statusDetails\":"
        "{\"ErrorCode\":\"InvalidPayload\",\"ErrorMessage\":\"x\\u0041\\n\"},\"a\":[[[]]]}";
    char buf[256];
    size_t n = strlen(good);
    struct reply rp;
    uint32_t x = 99;
    (void)state;
    for (size_t len = 0; len <= n; len++)
        (void)reply_parse(good, len, &rp);
    assert_int_equal(reply_parse(good, n, &rp), 0);
    assert_string_equal(rp.error_message, "xA\n");
    for (int i = 0; i < 100000; i++) {
        memcpy(buf, good, n);
        for (int k = 0; k < 4; k++) {
            x = x * 1103515245u + 12345u;
            buf[(x >> 8) % n] = (char)(x >> 24);
        }
        (void)reply_parse(buf, n, &rp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_and_defaults),
        cmocka_unit_test(test_errors_name_file_and_line),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_reply),
        cmocka_unit_test(test_reply_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
