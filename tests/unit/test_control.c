/* Unit tests for lib/control.c: the broker control-channel codec and matcher. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int decode(struct control_batch *b, const char *s, struct cordon_diag *d)
{
    return control_batch_decode(b, s, strlen(s), d);
}

static void test_quarantine_decodes(void **state)
{
    struct control_batch b;
    struct cordon_diag d;
    (void)state;
    assert_int_equal(decode(&b,
                            "{\"commands\":[{\"command\":\"quarantine\",\"thing\":\"dev1\","
                            "\"correlationId\":\"c1\"}]}",
                            &d),
                     0);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.errors[0], "");
    assert_int_equal(b.cmds[0].type, CONTROL_CMD_QUARANTINE);
    assert_string_equal(b.cmds[0].thing, "dev1");
    assert_string_equal(b.cmds[0].correlation_id, "c1");
    assert_string_equal(b.names[0], "quarantine");
    control_batch_free(&b);
}

static void test_bad_commands_get_errors_in_place(void **state)
{
    struct control_batch b;
    struct cordon_diag d;
    (void)state;
    assert_int_equal(
        decode(&b,
               "{\"commands\":["
               "{\"command\":\"explode\",\"correlationId\":\"x\"},"
               "{\"command\":\"quarantine\",\"thing\":\"a/b\"},"
               "{\"command\":\"quarantine\",\"thing\":\"ok\"},"
               "{\"command\":\"kick\"},"
               "{\"command\":\"release\",\"thing\":\"x\",\"extra\":1},"
               "{\"command\":\"set-credentials\",\"thing\":\"x\"},"
               "{\"command\":\"set-credentials\",\"thing\":\"x\",\"passwordHash\":\"md5\"},"
               "{\"command\":\"set-policy\",\"scope\":\"default\",\"publish\":[\"a/#/b\"],"
               "\"subscribe\":[]},"
               "7]}",
               &d),
        0);
    assert_int_equal(b.n, 9);
    assert_non_null(strstr(b.errors[0], "unknown command"));
    assert_string_equal(b.cmds[0].correlation_id, "x");
    assert_string_equal(b.names[0], "explode");
    assert_non_null(strstr(b.errors[1], "commands[1].thing"));
    assert_string_equal(b.errors[2], "");
    assert_non_null(strstr(b.errors[3], "commands[3].thing: missing"));
    assert_non_null(strstr(b.errors[4], "unknown field \"extra\""));
    assert_non_null(strstr(b.errors[5], "exactly one"));
    assert_non_null(strstr(b.errors[6], "Argon2id"));
    assert_non_null(strstr(b.errors[7], "publish[0]"));
    assert_non_null(strstr(b.errors[8], "must be an object"));
    control_batch_free(&b);
}

static void test_malformed_envelope(void **state)
{
    struct control_batch b;
    struct cordon_diag d;
    (void)state;
    assert_int_equal(decode(&b, "{\"commands\":[", &d), CORDON_EINVAL);
    assert_string_equal(d.code, "InvalidJson");
    assert_int_equal(b.n, 0);
    assert_int_equal(decode(&b, "[1]", &d), CORDON_EINVAL);
    assert_int_equal(decode(&b, "{\"commands\":[]}", &d), CORDON_EINVAL);
    assert_int_equal(decode(&b, "{\"commands\":[],\"x\":1}", &d), CORDON_EINVAL);
    assert_int_equal(
        decode(&b, "{\"commands\":[{\"command\":\"get-state\",\"a\":[[[[[[[[[1]]]]]]]]]}]}", &d),
        CORDON_EINVAL);
    control_batch_free(&b);
}

static void test_encode_decode_roundtrip(void **state)
{
    struct control_cmd c[3];
    struct control_batch b;
    struct buf out;
    struct cordon_diag d;
    char *pubs[] = { "$aws/things/${thing}/defender/metrics/json", "cordon/things/${thing}/logs" };
    char *subs[] = { "cordon/things/${thing}/commands" };
    (void)state;
    memset(c, 0, sizeof(c));
    c[0].type = CONTROL_CMD_SET_CREDENTIALS;
    strcpy(c[0].thing, "dev1");
    strcpy(c[0].correlation_id, "k1");
    c[0].cred_kind = CONTROL_CRED_PASSWORD;
    strcpy(c[0].secret, "s3cret\"x");
    c[1].type = CONTROL_CMD_SET_POLICY;
    c[1].scope = CONTROL_SCOPE_QUARANTINE;
    c[1].policy.publish = pubs;
    c[1].policy.n_publish = 2;
    c[1].policy.subscribe = subs;
    c[1].policy.n_subscribe = 1;
    c[2].type = CONTROL_CMD_GET_STATE;
    buf_init(&out, CONTROL_MAX_BYTES);
    assert_int_equal(control_batch_encode(c, 3, &out), 0);
    assert_int_equal(control_batch_decode(&b, out.ptr, out.len, &d), 0);
    assert_int_equal(b.n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(b.errors[i], "");
    assert_string_equal(b.cmds[0].secret, "s3cret\"x");
    assert_int_equal(b.cmds[0].cred_kind, CONTROL_CRED_PASSWORD);
    assert_int_equal(b.cmds[1].scope, CONTROL_SCOPE_QUARANTINE);
    assert_int_equal(b.cmds[1].policy.n_publish, 2);
    assert_string_equal(b.cmds[1].policy.subscribe[0], "cordon/things/${thing}/commands");
    assert_int_equal(b.cmds[2].type, CONTROL_CMD_GET_STATE);
    control_batch_free(&b);
    /* a thing command without a thing cannot be encoded */
    memset(c, 0, sizeof(c));
    c[0].type = CONTROL_CMD_QUARANTINE;
    assert_int_equal(control_batch_encode(c, 1, &out), CORDON_EINVAL);
    buf_free(&out);
}

static void test_responses_roundtrip(void **state)
{
    struct control_response r[2];
    struct control_responses dec;
    struct buf out;
    struct cordon_diag d;
    char *q[] = { "dev1", "dev2" };
    (void)state;
    memset(r, 0, sizeof(r));
    strcpy(r[0].command, "quarantine");
    strcpy(r[0].correlation_id, "c1");
    r[0].ok = true;
    strcpy(r[1].command, "get-state");
    r[1].ok = true;
    r[1].has_state = true;
    r[1].state.quarantined = q;
    r[1].state.n_quarantined = 2;
    buf_init(&out, CONTROL_MAX_BYTES);
    assert_int_equal(control_responses_encode(r, 2, &out), 0);
    assert_int_equal(control_responses_decode(&dec, out.ptr, out.len, &d), 0);
    assert_int_equal(dec.n, 2);
    assert_true(dec.v[0].ok);
    assert_string_equal(dec.v[0].correlation_id, "c1");
    assert_true(dec.v[1].has_state);
    assert_int_equal(dec.v[1].state.n_quarantined, 2);
    assert_string_equal(dec.v[1].state.quarantined[1], "dev2");
    control_responses_free(&dec);
    buf_reset(&out);
    r[0].ok = false;
    strcpy(r[0].error, "no such thing");
    assert_int_equal(control_responses_encode(r, 1, &out), 0);
    assert_non_null(strstr(out.ptr, "\"error\":\"no such thing\""));
    buf_free(&out);
}

static void test_metrics_roundtrip(void **state)
{
    struct control_thing_metrics t[1];
    struct control_metrics m = { 0 }, dec;
    struct buf out;
    struct cordon_diag d;
    (void)state;
    memset(t, 0, sizeof(t));
    strcpy(t[0].thing, "dev1");
    t[0].connection_attempts = 3;
    t[0].authorization_failures = 2;
    t[0].messages_sent = 10;
    t[0].bytes_sent = 1000;
    t[0].max_message_bytes = 400;
    t[0].disconnects = 1;
    strcpy(t[0].source_ip, "127.0.0.1");
    m.timestamp_ms = 1700000000000;
    m.interval_s = 60;
    m.unknown_connection_attempts = 4;
    m.v = t;
    m.n = 1;
    buf_init(&out, CONTROL_MAX_BYTES);
    assert_int_equal(control_metrics_encode(&m, &out), 0);
    assert_non_null(strstr(out.ptr, "\"aws:num-authorization-failures\":2"));
    assert_int_equal(control_metrics_decode(&dec, out.ptr, out.len, &d), 0);
    assert_int_equal(dec.n, 1);
    assert_int_equal(dec.timestamp_ms, 1700000000000);
    assert_int_equal(dec.unknown_connection_attempts, 4);
    assert_int_equal(dec.v[0].bytes_sent, 1000);
    assert_int_equal(dec.v[0].max_message_bytes, 400);
    assert_string_equal(dec.v[0].source_ip, "127.0.0.1");
    control_metrics_free(&dec);
    buf_free(&out);
}

static void test_identity_rules(void **state)
{
    (void)state;
    assert_true(control_identity_valid("dev-1.a_b", 9));
    assert_false(control_identity_valid("", 0));
    assert_false(control_identity_valid("a+b", 3));
    assert_false(control_identity_valid("a#", 2));
    assert_false(control_identity_valid("a/b", 3));
    assert_false(control_identity_valid("a\nb", 3));
    assert_false(control_identity_valid("a\x7f", 2));
    char big[CONTROL_IDENTITY_MAX + 2];
    memset(big, 'a', sizeof(big));
    assert_true(control_identity_valid(big, CONTROL_IDENTITY_MAX));
    assert_false(control_identity_valid(big, CONTROL_IDENTITY_MAX + 1));
}

static void test_topic_match(void **state)
{
    const char *p = "$aws/things/${thing}/defender/metrics/json";
    (void)state;
    assert_true(control_topic_match(p, "$aws/things/dev1/defender/metrics/json", "dev1"));
    assert_false(control_topic_match(p, "$aws/things/dev2/defender/metrics/json", "dev1"));
    assert_false(control_topic_match(p, "$aws/things/dev10/defender/metrics/json", "dev1"));
    assert_false(control_topic_match(p, "$aws/things/dev/defender/metrics/json", "dev1"));
    assert_false(control_topic_match(p, "$aws/things/dev1/defender/metrics/json/x", "dev1"));
    assert_true(control_topic_match("a/${thing}-x/b", "a/d-x/b", "d"));
    assert_true(control_topic_match("a/+/c", "a/b/c", "t"));
    assert_true(control_topic_match("a/#", "a", "t"));
    assert_true(control_topic_match("a/#", "a/b/c", "t"));
    assert_false(control_topic_match("#", "$CONTROL/cordon/v1", "t"));
    assert_false(control_topic_match("+/cordon/v1", "$CONTROL/cordon/v1", "t"));
    assert_true(control_topic_match("$CONTROL/cordon/#", "$CONTROL/cordon/v1", "t"));
    assert_false(control_topic_match("a/b", "a", "t"));
    assert_false(control_topic_match("a", "a/b", "t"));
}

static void test_filter_within(void **state)
{
    const char *p = "cordon/things/${thing}/commands";
    (void)state;
    assert_true(control_filter_within(p, "cordon/things/dev1/commands", "dev1"));
    assert_false(control_filter_within(p, "cordon/things/+/commands", "dev1"));
    assert_false(control_filter_within(p, "cordon/things/#", "dev1"));
    assert_false(control_filter_within(p, "#", "dev1"));
    assert_true(control_filter_within("a/+/c", "a/+/c", "t"));
    assert_true(control_filter_within("a/#", "a/+/c", "t"));
    assert_true(control_filter_within("a/#", "a/#", "t"));
    assert_true(control_filter_within("a/#", "a", "t"));
    assert_false(control_filter_within("a/+", "a/#", "t"));
    assert_false(control_filter_within("#", "$aws/x", "t"));
}

static void test_pattern_valid(void **state)
{
    (void)state;
    assert_true(control_pattern_valid("a/${thing}/b"));
    assert_true(control_pattern_valid("a/+/#"));
    assert_true(control_pattern_valid("#"));
    assert_false(control_pattern_valid(""));
    assert_false(control_pattern_valid("a/#/b"));
    assert_false(control_pattern_valid("a/b+"));
    assert_false(control_pattern_valid("a/b#"));
}

static void test_limits(void **state)
{
    struct control_batch b;
    struct cordon_diag d;
    struct buf in;
    struct control_cmd c;
    char corr[CONTROL_CORRELATION_MAX + 2];
    (void)state;
    buf_init(&in, CONTROL_MAX_BYTES * 2);
    assert_int_equal(buf_adds(&in, "{\"commands\":["), 0);
    for (int i = 0; i <= CONTROL_COMMANDS_MAX; i++)
        assert_int_equal(
            buf_adds(&in, i ? ",{\"command\":\"get-state\"}" : "{\"command\":\"get-state\"}"), 0);
    assert_int_equal(buf_adds(&in, "]}"), 0);
    assert_int_equal(control_batch_decode(&b, in.ptr, in.len, &d), CORDON_ETOOBIG);
    assert_non_null(strstr(d.message, "257 commands"));
    assert_int_equal(control_batch_decode(&b, in.ptr, CONTROL_MAX_BYTES + 1, &d), CORDON_ETOOBIG);
    buf_free(&in);

    assert_int_equal(control_cmd_init(&c, CONTROL_CMD_KICK, "dev1", "k"), 0);
    assert_string_equal(c.thing, "dev1");
    assert_int_equal(control_cmd_init(&c, CONTROL_CMD_KICK, "de+v1", NULL), CORDON_EINVAL);
    memset(corr, 'c', sizeof(corr));
    corr[sizeof(corr) - 1] = '\0';
    assert_int_equal(control_cmd_init(&c, CONTROL_CMD_GET_STATE, NULL, corr), CORDON_EINVAL);
}

/* A get-state answer lists the whole fleet: it must decode past CONTROL_MAX_BYTES (cordond
 * refused it and never reconciled quarantine with a large fleet). */
static void test_large_state_response_decodes(void **state)
{
    enum { N = 4000 };
    static char names[N][CONTROL_IDENTITY_MAX + 1];
    char *ptrs[N];
    struct control_response v;
    struct control_responses r;
    struct cordon_diag d;
    struct buf out;
    (void)state;

    for (size_t i = 0; i < N; i++) {
        memset(names[i], 'z', CONTROL_IDENTITY_MAX);
        snprintf(names[i], 8, "%06zu", i);
        names[i][6] = '-';
        names[i][CONTROL_IDENTITY_MAX] = '\0';
        ptrs[i] = names[i];
    }
    memset(&v, 0, sizeof(v));
    snprintf(v.command, sizeof(v.command), "get-state");
    v.ok = true;
    v.has_state = true;
    v.state.identities = ptrs;
    v.state.n_identities = N;
    v.state.quarantined = ptrs;
    v.state.n_quarantined = 1;
    buf_init(&out, CONTROL_RESPONSE_MAX_BYTES);
    assert_int_equal(control_responses_encode(&v, 1, &out), 0);
    assert_true(out.len > CONTROL_MAX_BYTES);
    assert_int_equal(control_responses_decode(&r, out.ptr, out.len, &d), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0].state.n_identities, N);
    assert_int_equal(r.v[0].state.n_quarantined, 1);
    assert_string_equal(r.v[0].state.quarantined[0], names[0]);
    control_responses_free(&r);
    buf_free(&out);
}

/* set-credentials may pin a certificate: 64 lowercase hex digits, with certificate: true only */
static void test_certificate_pin(void **state)
{
    struct control_batch b;
    struct cordon_diag d;
    struct buf out;
    const char *fp = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    char msg[512];
    (void)state;

    snprintf(msg, sizeof(msg),
             "{\"commands\":[{\"command\":\"set-credentials\",\"thing\":\"cam1\","
             "\"certificate\":true,\"certificateSha256\":\"%s\"},"
             "{\"command\":\"set-credentials\",\"thing\":\"cam1\",\"certificate\":true,"
             "\"certificateSha256\":\"9F86\"},"
             "{\"command\":\"set-credentials\",\"thing\":\"cam1\",\"password\":\"x\","
             "\"certificateSha256\":\"%s\"}]}",
             fp, fp);
    assert_int_equal(decode(&b, msg, &d), 0);
    assert_int_equal(b.n, 3);
    assert_string_equal(b.errors[0], "");
    assert_int_equal(b.cmds[0].cred_kind, CONTROL_CRED_CERTIFICATE);
    assert_string_equal(b.cmds[0].secret, fp);
    assert_true(b.errors[1][0] != '\0');
    assert_true(b.errors[2][0] != '\0');
    buf_init(&out, CONTROL_MAX_BYTES);
    assert_int_equal(control_batch_encode(&b.cmds[0], 1, &out), 0);
    assert_non_null(strstr(out.ptr, fp));
    buf_free(&out);
    control_batch_free(&b);
    assert_true(control_cert_sha256_valid(fp));
    assert_false(control_cert_sha256_valid("9F86"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quarantine_decodes),
        cmocka_unit_test(test_bad_commands_get_errors_in_place),
        cmocka_unit_test(test_malformed_envelope),
        cmocka_unit_test(test_encode_decode_roundtrip),
        cmocka_unit_test(test_responses_roundtrip),
        cmocka_unit_test(test_metrics_roundtrip),
        cmocka_unit_test(test_identity_rules),
        cmocka_unit_test(test_topic_match),
        cmocka_unit_test(test_filter_within),
        cmocka_unit_test(test_pattern_valid),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_large_state_response_decodes),
        cmocka_unit_test(test_certificate_pin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
