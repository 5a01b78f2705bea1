/*
 * test_agent_spool.c — the on-disk report spool and the persisted report id
 * (agent/spool.c; spec device-defender-spec.md R10, R12). Real files in a
 * temp dir.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "spool.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/cordon-spool-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_order_drop_remove_reopen(void **state)
{
    struct spool s;
    struct buf b;
    char why[512], sub[300], body[32];
    uint32_t dropped;
    (void)state;
    snprintf(sub, sizeof(sub), "%s/a/spool", dir);
    assert_int_equal(spool_open(&s, sub, 3, 1 << 20, why, sizeof(why)), 0);
    for (int i = 1; i <= 5; i++) {
        int n = snprintf(body, sizeof(body), "{\"r\":%d}", i);
        assert_int_equal(spool_add(&s, 1000 + i, body, (size_t)n, &dropped, why, sizeof(why)), 0);
        assert_int_equal(dropped, i > 3 ? 1 : 0);
    }
    assert_int_equal(s.n, 3);
    assert_int_equal(s.dropped, 2);
    assert_true(s.v[0].id == 1003 && s.v[2].id == 1005);
    assert_int_equal(spool_next(&s, -1), 0);
    assert_int_equal(spool_next(&s, 1003), 1);
    assert_int_equal(spool_next(&s, 1005), -1);
    buf_init(&b, 1024);
    assert_int_equal(spool_read(&s, 1004, &b), 0);
    assert_string_equal(b.ptr, "{\"r\":4}");
    assert_true(spool_remove(&s, 1004));
    assert_false(spool_remove(&s, 1004));
    spool_close(&s);
    /* a crash left a temp file behind: reopening indexes reports, drops the temp */
    snprintf(why, sizeof(why), "%s/.1006.json.tmp", sub);
    fclose(fopen(why, "w"));
    assert_int_equal(spool_open(&s, sub, 3, 1 << 20, why, sizeof(why)), 0);
    assert_int_equal(s.n, 2);
    assert_true(s.v[0].id == 1003 && s.v[1].id == 1005);
    snprintf(why, sizeof(why), "%s/.1006.json.tmp", sub);
    assert_int_not_equal(access(why, F_OK), 0);
    spool_close(&s);
    buf_free(&b);
}

static void test_byte_bound(void **state)
{
    struct spool s;
    char why[256], sub[300], body[100];
    uint32_t dropped;
    (void)state;
    memset(body, 'x', sizeof(body));
    snprintf(sub, sizeof(sub), "%s/b", dir);
    assert_int_equal(spool_open(&s, sub, 1000, 250, why, sizeof(why)), 0);
    for (int i = 1; i <= 4; i++)
        assert_int_equal(spool_add(&s, i, body, sizeof(body), &dropped, why, sizeof(why)), 0);
    assert_int_equal(s.n, 2);
    assert_true(s.bytes <= 250);
    spool_close(&s);
}

static void test_state_roundtrip(void **state)
{
    int64_t id;
    char sub[300];
    (void)state;
    snprintf(sub, sizeof(sub), "%s/state", dir);
    assert_int_equal(dir_make(sub, 0700), 0);
    assert_int_equal(state_load(sub, &id), 0);
    assert_true(id == 0);
    assert_int_equal(state_save(sub, 1795845402475LL), 0);
    assert_int_equal(state_load(sub, &id), 0);
    assert_true(id == 1795845402475LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_drop_remove_reopen),
        cmocka_unit_test(test_byte_bound),
        cmocka_unit_test(test_state_roundtrip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
