/*
 * test_contact.c — contact YAML loader (positions, limits), writer round
 * trip, JSON, activation codes, the contact book.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "contact.h"
#include "response_plan.h"
#include "stack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *name, size_t *n)
{
    char path[512];
    FILE *f;
    char *b;

    snprintf(path, sizeof(path), "%s/incidents/%s", CORDON_FIXTURES, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    b = malloc(1 << 20);
    *n = fread(b, 1, (1 << 20) - 1, f);
    b[*n] = '\0';
    fclose(f);
    return b;
}

static void test_load_seed_contacts(void **state)
{
    struct contact_book b;
    struct cordon_diag d;
    size_t n;
    char *t = slurp("contacts.yaml", &n);
    const struct contact *p, *e;

    (void)state;
    contact_book_init(&b);
    assert_int_equal(contact_book_load_yaml(&b, t, n, "contacts.yaml", &d), 0);
    assert_int_equal(b.n, 3);
    p = contact_book_find(&b, "oncall-primary");
    assert_non_null(p);
    assert_int_equal(p->type, CONTACT_PERSONAL);
    assert_int_equal(p->nchannels, 2);
    assert_true(p->channels[1].activated);
    assert_int_equal(p->channels[1].type, CONTACT_CHANNEL_SMS);
    assert_int_equal(p->nstages, 2);
    assert_int_equal(p->stages[0].duration_ms, 5 * 60000);
    assert_int_equal(p->stages[1].targets[0].retry_interval_ms, 5 * 60000);
    e = contact_book_find(&b, "iot-escalation");
    assert_int_equal(e->type, CONTACT_ESCALATION);
    assert_int_equal(e->nstages, 2);
    assert_string_equal(e->stages[1].targets[0].name, "oncall-secondary");
    assert_true(e->stages[1].targets[0].essential);
    contact_book_free(&b);
    free(t);
}

/* Export then load again gives the same contacts (minutes and seconds forms). */
static void test_yaml_round_trip(void **state)
{
    const char *files[] = { "contacts.yaml", "contacts-seconds.yaml" };
    size_t f, i;

    (void)state;
    for (f = 0; f < 2; f++) {
        struct contact_book a, b;
        struct cordon_diag d;
        struct buf out;
        size_t n;
        char *t = slurp(files[f], &n);

        contact_book_init(&a);
        contact_book_init(&b);
        assert_int_equal(contact_book_load_yaml(&a, t, n, files[f], &d), 0);
        buf_init(&out, 1 << 20);
        assert_int_equal(buf_adds(&out, "contacts:\n"), 0);
        for (i = 0; i < a.n; i++) {
            struct buf one;
            buf_init(&one, 1 << 20);
            assert_int_equal(contact_to_yaml(a.items[i], &one, 4), 0);
            /* turn the block into a sequence item */
            one.ptr[2] = '-';
            assert_int_equal(buf_adds(&out, one.ptr), 0);
            buf_free(&one);
        }
        if (contact_book_load_yaml(&b, out.ptr, out.len, "export.yaml", &d))
            fail_msg("%s\n%s", d.message, out.ptr);
        assert_int_equal(a.n, b.n);
        for (i = 0; i < a.n; i++) {
            json_t *ja = contact_to_json(a.items[i], true), *jb = contact_to_json(b.items[i], true);
            assert_true(json_equal(ja, jb));
            json_decref(ja);
            json_decref(jb);
            assert_int_equal(memcmp(a.items[i], b.items[i], sizeof(struct contact)), 0);
        }
        buf_free(&out);
        contact_book_free(&a);
        contact_book_free(&b);
        free(t);
    }
}

static void test_json_round_trip_with_state(void **state)
{
    struct contact c, back;
    struct cordon_diag d;
    const char *y = "alias: bob\ntype: PERSONAL\nchannels:\n  - name: hook\n    type: WEBHOOK\n"
                    "    format: slack\n    deliveryAddress: https://hooks.example/x\n";
    uint8_t rnd[40];
    char code[CONTACT_CODE_MAX + 1];
    json_t *j;
    size_t i;

    (void)state;
    assert_int_equal(contact_from_yaml(&c, y, strlen(y), "inline.yaml", &d), 0);
    assert_int_equal(c.channels[0].format, CONTACT_WEBHOOK_SLACK);
    assert_false(c.channels[0].activated);
    for (i = 0; i < sizeof(rnd); i++)
        rnd[i] = (uint8_t)(i * 37 + 11);
    assert_int_equal(contact_channel_begin_activation(&c.channels[0], rnd, sizeof(rnd), 6, code),
                     0);
    assert_int_equal(strlen(code), 6);
    j = contact_to_json(&c, true);
    assert_int_equal(contact_from_json(&back, j, &d), 0);
    json_decref(j);
    assert_string_equal(back.channels[0].activation_code, code);
    assert_int_equal(
        contact_channel_activate(&back.channels[0], "000000") == 0 && strcmp(code, "000000"), 0);
    assert_int_equal(contact_channel_activate(&back.channels[0], code), 0);
    assert_true(back.channels[0].activated);
    assert_int_equal(contact_channel_activate(&back.channels[0], code), CORDON_ESTATE);
    contact_channel_deactivate(&back.channels[0]);
    assert_false(back.channels[0].activated);
    assert_int_equal(contact_code_from_random(rnd, 3, 6, code), CORDON_EINVAL);
}

/* Every bad fixture fails with file:line:column and what was expected. */
static void test_bad_fixtures(void **state)
{
    static const struct {
        const char *file, *where, *what;
    } cases[] = {
        { "contact-alias.yaml", "contact-alias.yaml:1:8: alias", "expected [a-z0-9_-]" },
        { "contact-both-durations.yaml", ":10:", "either durationInMinutes or durationSeconds" },
        { "contact-channel-type.yaml", "contact-channel-type.yaml:5:11: channels[0].type",
          "expected one of EMAIL | SMS | VOICE | WEBHOOK" },
        { "contact-duration.yaml", ":9:26: plan.stages[0].durationInMinutes",
          "expected an integer from 0 to 30, got 31" },
        { "contact-essential.yaml", ":8:24: plan.stages[0].targets[0].isEssential",
          "expected true or false" },
        { "contact-no-channel.yaml", ":11:20: plan.stages[0].targets[0].channel",
          "no channel named 'sms'" },
        { "contact-phone.yaml", ":6:23: channels[0].deliveryAddress", "E.164" },
        { "contact-unknown-key.yaml", ":7:5: channels[0]", "unknown key 'retry'" },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[128];
        struct contact c;
        struct cordon_diag d;
        size_t n;
        char *t;

        snprintf(name, sizeof(name), "bad/%s", cases[i].file);
        t = slurp(name, &n);
        cordon_diag_clear(&d);
        assert_int_equal(contact_from_yaml(&c, t, n, cases[i].file, &d), CORDON_EINVAL);
        if (!strstr(d.message, cases[i].where) || !strstr(d.message, cases[i].what))
            fail_msg("%s: got '%s'", cases[i].file, d.message);
        assert_true(d.line > 0 && d.column > 0);
        free(t);
    }
}

static void test_book_rules(void **state)
{
    struct contact_book b;
    struct cordon_diag d;
    const char *dangling = "- alias: esc\n  type: ESCALATION\n  plan:\n    stages:\n"
                           "      - durationSeconds: 10\n        targets: [{contact: nobody}]\n";
    const char *dup = "- {alias: a, type: PERSONAL}\n- {alias: a, type: PERSONAL}\n";
    const char *nested = "- alias: e1\n  type: ESCALATION\n  plan: {stages: [{durationSeconds: 1, "
                         "targets: [{contact: e2}]}]}\n- alias: e2\n  type: ESCALATION\n  plan: "
                         "{stages: [{durationSeconds: 1}]}\n";
    const char *two = "alias: a\ntype: PERSONAL\n---\nalias: b\ntype: PERSONAL\n";
    struct contact c;

    (void)state;
    contact_book_init(&b);
    assert_int_equal(contact_book_load_yaml(&b, dangling, strlen(dangling), "s.yaml", &d),
                     CORDON_EINVAL);
    assert_non_null(strstr(d.message, "no contact with alias 'nobody'"));
    contact_book_free(&b);
    contact_book_init(&b);
    assert_int_equal(contact_book_load_yaml(&b, dup, strlen(dup), "s.yaml", &d), CORDON_EINVAL);
    assert_non_null(strstr(d.message, "s.yaml:2:"));
    assert_non_null(strstr(d.message, "duplicate contact alias"));
    contact_book_free(&b);
    contact_book_init(&b);
    assert_int_equal(contact_book_load_yaml(&b, nested, strlen(nested), "s.yaml", &d),
                     CORDON_EINVAL);
    assert_non_null(strstr(d.message, "expected a PERSONAL contact"));
    contact_book_free(&b);
    assert_int_equal(contact_from_yaml(&c, two, strlen(two), "two.yaml", &d), CORDON_EINVAL);
    assert_non_null(strstr(d.message, "more than one YAML document"));
    assert_int_equal(contact_from_yaml(&c, "a: &x 1\nb: *x\n", 14, "alias.yaml", &d),
                     CORDON_EINVAL);
    assert_non_null(strstr(d.message, "aliases are not supported"));
}

/* The stack kinds: contacts + escalationPlans + responsePlans, written and read back. */
static void test_stack_kinds(void **state)
{
    static const struct stack_kind *const kinds[] = { &contact_stack_kind,
                                                      &contact_stack_kind_escalation,
                                                      &response_plan_stack_kind };
    const char *doc =
        "contacts:\n"
        "  - alias: oncall-primary\n"
        "    channels: [{name: email, type: EMAIL, deliveryAddress: a@example.org,\n"
        "                activationStatus: ACTIVATED}]\n"
        "    plan: {stages: [{durationSeconds: 5, targets: [{channel: email}]}]}\n"
        "escalationPlans:\n"
        "  - alias: iot-escalation\n"
        "    plan: {stages: [{durationSeconds: 10, targets: [{contact: oncall-primary, "
        "isEssential: true}]}]}\n"
        "responsePlans:\n"
        "  - name: IotResponsePlan\n"
        "    incidentTemplate: {title: 'Critical IoT Device Incident | {{violationId}}', impact: "
        "3}\n"
        "    engagements: [iot-escalation]\n";
    const char *bad = "escalationPlans:\n  - alias: x\n    type: PERSONAL\n";
    struct stack a, b;
    struct stack_changes ch;
    struct cordon_diag d;
    struct buf out;
    struct contact_book book;
    const struct contact *e;

    (void)state;
    stack_init_kinds(&a, kinds, 3);
    stack_init_kinds(&b, kinds, 3);
    if (stack_parse(&a, doc, strlen(doc), "stack.yaml", &d))
        fail_msg("%s", d.message);
    e = stack_find(&a, "escalationPlan", "iot-escalation");
    assert_non_null(e);
    assert_int_equal(e->type, CONTACT_ESCALATION);
    assert_int_equal(stack_count(&a, "contact"), 1);
    buf_init(&out, 1 << 20);
    assert_int_equal(stack_write(&a, &out), 0);
    if (stack_parse(&b, out.ptr, out.len, "export.yaml", &d))
        fail_msg("%s\n%s", d.message, out.ptr);
    stack_changes_init(&ch);
    assert_int_equal(stack_diff(&a, &b, &ch), 0);
    assert_int_equal(ch.len, 0);
    stack_changes_free(&ch);
    buf_free(&out);
    stack_free(&a);
    stack_free(&b);

    /* the same document feeds the daemon's contact book */
    contact_book_init(&book);
    assert_int_equal(contact_book_load_yaml(&book, doc, strlen(doc), "stack.yaml", &d), 0);
    assert_int_equal(book.n, 2);
    contact_book_free(&book);

    stack_init_kinds(&a, kinds, 3);
    assert_int_equal(stack_parse(&a, bad, strlen(bad), "stack.yaml", &d), CORDON_EINVAL);
    assert_non_null(strstr(d.message, "stack.yaml:3:11: type: expected ESCALATION"));
    stack_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_seed_contacts),
        cmocka_unit_test(test_yaml_round_trip),
        cmocka_unit_test(test_json_round_trip_with_state),
        cmocka_unit_test(test_bad_fixtures),
        cmocka_unit_test(test_book_rules),
        cmocka_unit_test(test_stack_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
