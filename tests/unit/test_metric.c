/* test_metric.c — the metric catalog, custom metrics, datapoint extraction. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "detect_testutil.h"
#include "metric.h"

static const struct metric_def *find(const struct metric_catalog *cat, const char *name)
{
    return metric_find(cat, name, strlen(name));
}

static void test_every_builtin_by_name(void **state)
{
    static const char *const device[] = {
        "aws:all-bytes-out",
        "aws:all-bytes-in",
        "aws:all-packets-out",
        "aws:all-packets-in",
        "aws:num-listening-tcp-ports",
        "aws:num-listening-udp-ports",
        "aws:num-established-tcp-connections",
        "aws:listening-tcp-ports",
        "aws:listening-udp-ports",
        "aws:destination-ip-addresses",
    };
    static const char *const cloud[] = {
        "aws:message-byte-size",     "aws:num-messages-sent",
        "aws:num-messages-received", "aws:num-authorization-failures",
        "aws:source-ip-address",     "aws:num-connection-attempts",
        "aws:num-disconnects",       "aws:disconnect-duration",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(device) / sizeof(device[0]); i++) {
        const struct metric_def *d = find(NULL, device[i]);
        assert_non_null(d);
        assert_true(d->device_side);
        assert_string_equal(d->name, device[i]);
    }
    for (size_t i = 0; i < sizeof(cloud) / sizeof(cloud[0]); i++) {
        const struct metric_def *d = find(NULL, cloud[i]);
        assert_non_null(d);
        assert_false(d->device_side);
    }
    assert_null(find(NULL, "aws:nope"));
    assert_null(find(NULL, "cpu"));
}

static void test_operators_and_options(void **state)
{
    const struct metric_def *d;
    (void)state;
    d = find(NULL, "aws:listening-tcp-ports");
    assert_int_equal(d->type, METRIC_TYPE_PORTS);
    assert_true(d->ops & METRIC_OP_BIT(METRIC_OP_IN_PORT_SET));
    assert_true(d->ops & METRIC_OP_BIT(METRIC_OP_NOT_IN_PORT_SET));
    assert_false(d->ops & METRIC_OP_BIT(METRIC_OP_GT));
    assert_false(d->duration_ok);
    assert_false(d->ml_ok);
    assert_false(d->statistical_ok);
    d = find(NULL, "aws:destination-ip-addresses");
    assert_int_equal(d->type, METRIC_TYPE_IPS);
    assert_true(d->ops & METRIC_OP_BIT(METRIC_OP_NOT_IN_CIDR_SET));
    assert_false(d->ops & METRIC_OP_BIT(METRIC_OP_IN_PORT_SET));
    d = find(NULL, "aws:all-bytes-out");
    assert_int_equal(d->type, METRIC_TYPE_COUNT);
    assert_true(d->delta && d->duration_ok && d->statistical_ok && d->ml_ok);
    assert_false(d->ops & METRIC_OP_BIT(METRIC_OP_IN_SET));
    d = find(NULL, "aws:num-listening-tcp-ports");
    assert_false(d->delta);
    assert_true(d->duration_ok);
    d = find(NULL, "aws:disconnect-duration");
    assert_true(d->ops & METRIC_OP_BIT(METRIC_OP_LTE));
    assert_false(d->ops & METRIC_OP_BIT(METRIC_OP_GT));
    d = find(NULL, "aws:num-authorization-failures");
    assert_true(d->dimension_ok);
    d = find(NULL, "aws:source-ip-address");
    assert_true(d->dimension_ok);
    assert_false(d->ml_ok);
}

static void test_op_names(void **state)
{
    (void)state;
    for (int i = 0; i < METRIC_OP_COUNT_; i++) {
        const char *n = metric_op_name(i);
        assert_int_equal(metric_op_parse(n, strlen(n)), i);
    }
    assert_int_equal(metric_op_parse("less", 4), -1);
    assert_string_equal(metric_type_value_key(METRIC_TYPE_IPS), "cidrs");
}

static void test_custom_catalog(void **state)
{
    struct metric_catalog cat;
    struct cordon_diag d;
    (void)state;
    metric_catalog_init(&cat);
    assert_int_equal(metric_catalog_add(&cat, "cpu_load_pct", "number", &d), 0);
    assert_int_equal(metric_catalog_add(&cat, "mods", "string-list", &d), 0);
    assert_int_equal(metric_catalog_add(&cat, "codes", "number-list", &d), 0);
    assert_int_equal(metric_catalog_add(&cat, "peers", "ip-address-list", &d), 0);
    assert_int_equal(metric_catalog_add(&cat, "cpu_load_pct", "number", &d), CORDON_EEXIST);
    assert_int_equal(metric_catalog_add(&cat, "aws:mine", "number", &d), CORDON_EINVAL);
    assert_int_equal(metric_catalog_add(&cat, "bad name", "number", &d), CORDON_EINVAL);
    assert_int_equal(metric_catalog_add(&cat, "x", "float", &d), CORDON_EINVAL);
    assert_non_null(strstr(d.message, "float"));
    assert_int_equal(find(&cat, "cpu_load_pct")->type, METRIC_TYPE_NUMBER);
    assert_true(find(&cat, "cpu_load_pct")->ml_ok);
    assert_int_equal(find(&cat, "mods")->type, METRIC_TYPE_STRINGS);
    assert_int_equal(find(&cat, "peers")->type, METRIC_TYPE_IPS);
    /* the report decoder's lookup */
    assert_int_equal(metric_custom_lookup(&cat, "codes", 5), REPORT_CUSTOM_NUMBER_LIST);
    assert_int_equal(metric_custom_lookup(&cat, "peers", 5), REPORT_CUSTOM_IP_LIST);
    assert_int_equal(metric_custom_lookup(&cat, "nope", 4), -1);
    assert_int_equal(metric_custom_lookup(&cat, "aws:all-bytes-in", 16), -1);
    assert_int_equal(metric_custom_lookup(NULL, "codes", 5), -1);
    metric_catalog_free(&cat);
}

static void test_extract(void **state)
{
    struct treport t;
    struct metric_datapoint dp;
    struct metric_catalog cat;
    struct report_custom *c;
    (void)state;
    metric_catalog_init(&cat);
    metric_catalog_add(&cat, "cpu", "number", NULL);
    metric_catalog_add(&cat, "mods", "string-list", NULL);
    metric_catalog_add(&cat, "absent", "number", NULL);
    tr_init(&t);
    /* an empty report carries no datapoint at all */
    for (int id = 0; id < METRIC_BUILTIN_COUNT_; id++)
        assert_false(metric_extract(metric_builtin(id), &t.r, &dp));
    TR_TCP(&t, 3, 22, 443, 8080);
    t.r.tcp_ports.total = 7; /* truncated list: total is the true count */
    tr_conn(&t, "192.0.2.1");
    tr_net(&t, 10, 20, 30, 40);
    c = tr_custom(&t, "cpu", REPORT_CUSTOM_NUMBER);
    c->number = 17.25;
    c = tr_custom(&t, "mods", REPORT_CUSTOM_STRING_LIST);
    tr_custom_string(&t, c, "nf_conntrack");
    assert_true(metric_extract(find(NULL, "aws:listening-tcp-ports"), &t.r, &dp));
    assert_int_equal(dp.n, 3);
    assert_int_equal(dp.ports[2].port, 8080);
    assert_true(metric_extract(find(NULL, "aws:num-listening-tcp-ports"), &t.r, &dp));
    assert_int_equal(dp.count, 7);
    assert_false(metric_extract(find(NULL, "aws:listening-udp-ports"), &t.r, &dp));
    assert_true(metric_extract(find(NULL, "aws:all-bytes-in"), &t.r, &dp));
    assert_int_equal(dp.count, 10);
    assert_true(metric_extract(find(NULL, "aws:all-packets-out"), &t.r, &dp));
    assert_int_equal(dp.count, 40);
    assert_true(metric_extract(find(NULL, "aws:num-established-tcp-connections"), &t.r, &dp));
    assert_int_equal(dp.count, 1);
    assert_true(metric_extract(find(NULL, "aws:destination-ip-addresses"), &t.r, &dp));
    assert_int_equal(dp.n, 1);
    assert_false(metric_extract(find(NULL, "aws:num-messages-sent"), &t.r, &dp)); /* cloud */
    assert_true(metric_extract(find(&cat, "cpu"), &t.r, &dp));
    assert_true(dp.number == 17.25);
    assert_true(metric_extract(find(&cat, "mods"), &t.r, &dp));
    assert_int_equal(dp.n, 1);
    assert_memory_equal(dp.strpool + dp.strs[0].off, "nf_conntrack", 12);
    assert_false(metric_extract(find(&cat, "absent"), &t.r, &dp));
    /* a field of network_stats missing: no datapoint for that metric */
    t.r.net.has = 1u << REPORT_BYTES_IN;
    assert_false(metric_extract(find(NULL, "aws:all-bytes-out"), &t.r, &dp));
    metric_catalog_free(&cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_builtin_by_name),
        cmocka_unit_test(test_operators_and_options),
        cmocka_unit_test(test_op_names),
        cmocka_unit_test(test_custom_catalog),
        cmocka_unit_test(test_extract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
