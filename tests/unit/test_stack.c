/*
 * test_stack.c — config-as-code stacks: parse (with positioned errors),
 * diff, write → parse round trip, and the per-kind hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "contact.h"
#include "profile.h"
#include "response_plan.h"
#include "stack.h"

static char *read_fixture(const char *name, size_t *len)
{
    char path[512];
    FILE *f;
    char *text;
    long n;

    snprintf(path, sizeof(path), "%s/stacks/%s", CORDON_FIXTURES, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    text = malloc((size_t)n + 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    text[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return text;
}

static int parse_text(struct stack *s, const char *text, struct cordon_diag *d)
{
    stack_init(s);
    return stack_parse(s, text, strlen(text), "test.yaml", d);
}

static const struct stack_group *group(const struct stack *s, const char *name)
{
    return stack_find(s, "thingGroup", name);
}

/* ---- parse ---------------------------------------------------------------- */

static void test_parse_groups(void **state)
{
    struct stack s;
    struct cordon_diag d;
    const struct stack_group *g;
    size_t len;
    char *text = read_fixture("groups.yaml", &len);

    (void)state;
    stack_init(&s);
    assert_int_equal(stack_parse(&s, text, len, "groups.yaml", &d), 0);
    assert_int_equal(stack_count(&s, "thingGroups"), 4);
    assert_int_equal(stack_count(&s, "thingGroup"), 4);
    /* sorted by name, byte order */
    assert_string_equal(((const struct stack_group *)stack_get(&s, "thingGroup", 0))->name,
                        "QUARANTINED");
    assert_string_equal(((const struct stack_group *)stack_get(&s, "thingGroup", 3))->name,
                        "sensors");
    assert_null(stack_get(&s, "thingGroup", 4));

    g = group(&s, "sensors");
    assert_non_null(g);
    assert_string_equal(g->description, "Temperature and humidity sensors in the field");
    assert_int_equal(g->nattrs, 2);
    assert_string_equal(g->attrs[0].key, "site");
    assert_string_equal(g->attrs[0].value, "lyon");
    assert_string_equal(g->attrs[1].key, "tier");
    assert_string_equal(g->attrs[1].value, "1");

    g = group(&s, "cameras");
    assert_non_null(g);
    assert_null(g->description);
    assert_int_equal(g->nattrs, 3);
    assert_string_equal(g->attrs[0].key, "empty");
    assert_string_equal(g->attrs[0].value, "");

    g = group(&s, "QUARANTINED");
    assert_non_null(g);
    assert_int_equal(g->implicit, 0);
    assert_null(group(&s, "nope"));
    assert_null(stack_find(&s, "widget", "sensors"));
    assert_int_equal(stack_count(&s, "widgets"), 0);

    stack_free(&s);
    free(text);
}

static void test_quarantined_is_implicit(void **state)
{
    struct stack s;
    struct cordon_diag d;
    const struct stack_group *g;
    const char *docs[] = { "thingGroups: []\n", "{}\n", "thingGroups:\n",
                           "thingGroups:\n  - name: sensors\n" };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        assert_int_equal(parse_text(&s, docs[i], &d), 0);
        g = group(&s, STACK_QUARANTINED);
        assert_non_null(g);
        assert_int_equal(g->implicit, 1);
        assert_string_equal(g->description, STACK_QUARANTINED_DESCRIPTION);
        stack_free(&s);
    }
}

struct bad_case {
    const char *file;
    int rc;
    const char *code;
    int line, column;
    const char *needle; /* a piece of the message a user needs */
};

static const struct bad_case bad_cases[] = {
    { "bad-syntax.yaml", CORDON_EINVAL, "YamlSyntax", 4, 1, "YAML:" },
    { "bad-unknown-key.yaml", CORDON_EINVAL, "UnknownKey", 3, 1, "'things'" },
    { "bad-duplicate-name.yaml", CORDON_EINVAL, "DuplicateName", 4, 5,
      "duplicate name 'sensors' (first declared at line 2)" },
    { "bad-unknown-field.yaml", CORDON_EINVAL, "UnknownField", 3, 5, "'colour'" },
    { "bad-missing-name.yaml", CORDON_EINVAL, "MissingField", 3, 5, "name is required" },
    { "bad-name.yaml", CORDON_EINVAL, "InvalidName", 2, 12, "'field sensors'" },
    { "bad-not-a-list.yaml", CORDON_EINVAL, "InvalidType", 2, 3, "expected a list" },
    { "bad-attr-value.yaml", CORDON_EINVAL, "InvalidType", 4, 13, "attributes: site" },
    { "bad-attr-key.yaml", CORDON_EINVAL, "InvalidValue", 4, 8, "'site name'" },
    { "bad-two-documents.yaml", CORDON_EINVAL, "MultipleDocuments", 4, 1, "one YAML document" },
    { "bad-alias.yaml", CORDON_EINVAL, "InvalidType", 4, 6, "aliases are not supported" },
    { "bad-root-list.yaml", CORDON_EINVAL, "InvalidType", 1, 1, "mapping of kinds" },
    { "bad-duplicate-key.yaml", CORDON_EINVAL, "YamlSyntax", 4, 5, "duplicate key" },
    { "bad-attr-missing-value.yaml", CORDON_EINVAL, "InvalidValue", 4, 7, "value missing" },
    { "bad-empty.yaml", CORDON_EINVAL, "EmptyStack", 1, 1, "empty stack" },
    { "bad-encoding.yaml", CORDON_EINVAL, "InvalidEncoding", 3, 21, "not UTF-8" },
    { "bad-profile-field.yaml", CORDON_EINVAL, "InvalidField", 4, 5, "\"behaviours\"" },
    { "bad-profile-target.yaml", CORDON_EINVAL, "UnknownReference", 5, 33, "'valves'" },
    { "bad-profile-mitigation-group.yaml", CORDON_EINVAL, "UnknownReference", 10, 40,
      "'isolated'" },
    { "bad-profile-duplicate.yaml", CORDON_EINVAL, "DuplicateName", 7, 5,
      "duplicate name 'Baseline' (first declared at line 2)" },
    { "bad-description-type.yaml", CORDON_EINVAL, "InvalidType", 3, 18, "description" },
};

static void test_bad_stacks(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct stack s;
        struct cordon_diag d;
        char prefix[128];
        size_t len;
        char *text = read_fixture(c->file, &len);
        int rc;

        stack_init(&s);
        rc = stack_parse(&s, text, len, c->file, &d);
        print_message("%s -> %d %s: %s\n", c->file, rc, d.code, d.message);
        assert_int_equal(rc, c->rc);
        assert_string_equal(d.code, c->code);
        assert_int_equal(d.line, c->line);
        assert_int_equal(d.column, c->column);
        snprintf(prefix, sizeof(prefix), "%s:%d:%d: ", c->file, c->line, c->column);
        assert_memory_equal(d.message, prefix, strlen(prefix));
        assert_non_null(strstr(d.message, c->needle));
        /* a failed parse leaves the stack empty */
        assert_int_equal(stack_count(&s, "thingGroup"), 0);
        assert_int_equal(stack_count(&s, "securityProfile"), 0);
        stack_free(&s);
        free(text);
    }
}

static void test_reserved_keys(void **state)
{
    const char *keys[] = { "securityProfiles", "contacts", "escalationPlans", "responsePlans",
                           "runbooks" };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        struct stack s;
        struct cordon_diag d;
        char text[128];

        stack_init(&s);
        if (stack_kind_find(&s, keys[i])) {
            stack_free(&s);
            continue; /* implemented by now */
        }
        snprintf(text, sizeof(text), "thingGroups: []\n%s: []\n", keys[i]);
        assert_int_equal(stack_parse(&s, text, strlen(text), "r.yaml", &d), CORDON_EUNSUPPORTED);
        assert_int_equal(d.line, 2);
        assert_int_equal(d.column, 1);
        assert_non_null(strstr(d.message, "not supported yet"));
        stack_free(&s);
    }
}

static void test_limits(void **state)
{
    struct stack s;
    struct cordon_diag d;
    struct buf b;
    int i;

    (void)state;
    /* the document itself */
    stack_init(&s);
    assert_int_equal(stack_parse(&s, "{}", STACK_MAX_BYTES + 1, "big.yaml", &d), CORDON_ETOOBIG);
    assert_non_null(strstr(d.message, "big.yaml"));

    /* a name one byte too long */
    buf_init(&b, 1 << 20);
    buf_adds(&b, "thingGroups:\n  - name: ");
    for (i = 0; i < STACK_NAME_MAX + 1; i++)
        buf_addc(&b, 'n');
    buf_adds(&b, "\n");
    assert_int_equal(parse_text(&s, b.ptr, &d), CORDON_ETOOBIG);
    assert_int_equal(d.line, 2);
    assert_int_equal(d.column, 11);

    /* a description one byte too long */
    buf_reset(&b);
    buf_adds(&b, "thingGroups:\n  - name: g\n    description: ");
    for (i = 0; i < STACK_GROUP_DESC_MAX + 1; i++)
        buf_addc(&b, 'd');
    buf_adds(&b, "\n");
    assert_int_equal(parse_text(&s, b.ptr, &d), CORDON_ETOOBIG);
    assert_int_equal(d.line, 3);

    /* one attribute too many */
    buf_reset(&b);
    buf_adds(&b, "thingGroups:\n  - name: g\n    attributes:\n");
    for (i = 0; i < STACK_GROUP_ATTRS_MAX + 1; i++)
        buf_printf(&b, "      k%d: v\n", i);
    assert_int_equal(parse_text(&s, b.ptr, &d), CORDON_ETOOBIG);
    assert_int_equal(d.line, 4 + STACK_GROUP_ATTRS_MAX);

    /* one object too many */
    buf_reset(&b);
    buf_adds(&b, "thingGroups:\n");
    for (i = 0; i < STACK_OBJECTS_MAX + 1; i++)
        buf_printf(&b, "  - name: g%d\n", i);
    assert_int_equal(parse_text(&s, b.ptr, &d), CORDON_ETOOBIG);
    assert_non_null(strstr(d.message, "limit is"));

    /* exactly at the limit is fine */
    buf_reset(&b);
    buf_adds(&b, "thingGroups:\n");
    for (i = 0; i < STACK_OBJECTS_MAX - 1; i++) /* + the implicit QUARANTINED */
        buf_printf(&b, "  - name: g%d\n", i);
    assert_int_equal(parse_text(&s, b.ptr, &d), 0);
    assert_int_equal(stack_count(&s, "thingGroup"), STACK_OBJECTS_MAX);
    stack_free(&s);

    /* control characters */
    assert_int_equal(
        parse_text(&s, "thingGroups:\n  - name: g\n    description: \"a\\u0001b\"\n", &d),
        CORDON_EINVAL);
    assert_non_null(strstr(d.message, "control character"));
    buf_free(&b);
}

/* ---- building stacks ------------------------------------------------------ */

static void test_group_new_and_add(void **state)
{
    struct stack s;
    struct stack_group *g, *g2;

    (void)state;
    assert_int_equal(stack_group_new("bad name", NULL, &g), CORDON_EINVAL);
    assert_null(g);
    assert_int_equal(stack_group_new("", NULL, &g), CORDON_EINVAL);
    assert_int_equal(stack_group_new("sensors", "d", &g), 0);
    assert_int_equal(stack_group_attr_set(g, "b", "2"), 0);
    assert_int_equal(stack_group_attr_set(g, "a", "1"), 0);
    assert_int_equal(stack_group_attr_set(g, "b", "3"), 0);
    assert_int_equal(stack_group_attr_set(g, "bad key", "3"), CORDON_EINVAL);
    assert_int_equal(g->nattrs, 2);
    assert_string_equal(g->attrs[0].key, "a");
    assert_string_equal(g->attrs[1].value, "3");

    stack_init(&s);
    assert_int_equal(stack_add(&s, "thingGroup", g), 0);
    assert_int_equal(stack_group_new("sensors", NULL, &g2), 0);
    assert_int_equal(stack_add(&s, "thingGroups", g2), CORDON_EEXIST);
    assert_int_equal(stack_add(&s, "widget", g2), CORDON_ENOTFOUND);
    stack_group_free(g2);
    assert_ptr_equal(stack_find(&s, "thingGroup", "sensors"), g);
    stack_free(&s);
    assert_int_equal(stack_count(&s, "thingGroup"), 0);
}

/* ---- diff ----------------------------------------------------------------- */

static void test_diff(void **state)
{
    struct stack cur, des;
    struct stack_changes c;
    struct cordon_diag d;
    json_t *j;
    char *dump;

    (void)state;
    assert_int_equal(parse_text(&cur,
                                "thingGroups:\n"
                                "  - {name: a}\n"
                                "  - {name: b, description: x}\n"
                                "  - {name: c, attributes: {site: lyon, tier: '1'}}\n"
                                "  - {name: QUARANTINED, description: custom}\n",
                                &d),
                     0);
    assert_int_equal(parse_text(&des,
                                "thingGroups:\n"
                                "  - {name: b, description: y}\n"
                                "  - {name: c, attributes: {site: paris, zone: z}}\n"
                                "  - {name: d}\n",
                                &d),
                     0);
    stack_changes_init(&c);
    assert_int_equal(stack_diff(&cur, &des, &c), 0);
    assert_int_equal(c.len, 4);
    assert_int_equal(c.ncreate, 1);
    assert_int_equal(c.nupdate, 2);
    assert_int_equal(c.ndelete, 1);
    /* QUARANTINED is implicit in des: neither updated nor deleted */
    assert_int_equal(c.items[0].action, STACK_UPDATE);
    assert_string_equal(c.items[0].name, "b");
    assert_string_equal(c.items[0].reason, "description changed");
    assert_int_equal(c.items[1].action, STACK_UPDATE);
    assert_string_equal(c.items[1].name, "c");
    assert_string_equal(c.items[1].reason,
                        "attribute site changed; attribute tier removed; attribute zone added");
    assert_int_equal(c.items[2].action, STACK_CREATE);
    assert_string_equal(c.items[2].name, "d");
    assert_null(c.items[2].current);
    assert_ptr_equal(c.items[2].desired, group(&des, "d"));
    assert_int_equal(c.items[3].action, STACK_DELETE);
    assert_string_equal(c.items[3].name, "a");
    assert_null(c.items[3].desired);
    assert_string_equal(c.items[3].kind->kind, "thingGroup");

    j = stack_changes_json(&c);
    assert_non_null(j);
    dump = json_dumps(j, JSON_COMPACT);
    assert_string_equal(
        dump,
        "{\"changes\":["
        "{\"action\":\"update\",\"kind\":\"thingGroup\",\"name\":\"b\",\"reason\":\"description "
        "changed\"},"
        "{\"action\":\"update\",\"kind\":\"thingGroup\",\"name\":\"c\",\"reason\":\"attribute "
        "site changed; attribute tier removed; attribute zone added\"},"
        "{\"action\":\"create\",\"kind\":\"thingGroup\",\"name\":\"d\",\"reason\":\"not in the "
        "running configuration\"},"
        "{\"action\":\"delete\",\"kind\":\"thingGroup\",\"name\":\"a\",\"reason\":\"not in the "
        "stack\"}],"
        "\"summary\":{\"create\":1,\"update\":2,\"delete\":1}}");
    free(dump);
    json_decref(j);
    stack_changes_free(&c);
    stack_free(&cur);
    stack_free(&des);
}

static void test_diff_quarantined(void **state)
{
    struct stack cur, des;
    struct stack_changes c;
    struct cordon_diag d;
    struct stack_group *g;

    (void)state;
    /* The running configuration lacks QUARANTINED: the implicit one is created. */
    stack_init(&cur);
    assert_int_equal(parse_text(&des, "{}", &d), 0);
    stack_changes_init(&c);
    assert_int_equal(stack_diff(&cur, &des, &c), 0);
    assert_int_equal(c.len, 1);
    assert_int_equal(c.items[0].action, STACK_CREATE);
    assert_string_equal(c.items[0].name, STACK_QUARANTINED);
    stack_changes_free(&c);
    stack_free(&des);

    /* A desired stack built without it (not parsed) never deletes it. */
    assert_int_equal(stack_group_new(STACK_QUARANTINED, "x", &g), 0);
    assert_int_equal(stack_add(&cur, "thingGroup", g), 0);
    stack_init(&des);
    assert_int_equal(stack_diff(&cur, &des, &c), 0);
    assert_int_equal(c.len, 0);
    stack_changes_free(&c);

    /* Declared explicitly, it is updated like any group. */
    assert_int_equal(parse_text(&des, "thingGroups: [{name: QUARANTINED, description: y}]", &d), 0);
    assert_int_equal(stack_diff(&cur, &des, &c), 0);
    assert_int_equal(c.len, 1);
    assert_int_equal(c.items[0].action, STACK_UPDATE);
    stack_changes_free(&c);
    stack_free(&des);
    stack_free(&cur);
}

static void test_diff_identical(void **state)
{
    struct stack a, b;
    struct stack_changes c;
    struct cordon_diag d;
    size_t len;
    char *text = read_fixture("groups.yaml", &len);
    json_t *j;

    (void)state;
    stack_init(&a);
    stack_init(&b);
    assert_int_equal(stack_parse(&a, text, len, NULL, &d), 0);
    assert_int_equal(stack_parse(&b, text, len, NULL, &d), 0);
    stack_changes_init(&c);
    assert_int_equal(stack_diff(&a, &b, &c), 0);
    assert_int_equal(c.len, 0);
    j = stack_changes_json(&c);
    assert_int_equal(json_array_size(json_object_get(j, "changes")), 0);
    json_decref(j);
    stack_changes_free(&c);
    stack_free(&a);
    stack_free(&b);
    free(text);
}

/* ---- write → parse -------------------------------------------------------- */

static void round_trip(const char *text, size_t len)
{
    struct stack a, b;
    struct stack_changes c;
    struct cordon_diag d;
    struct buf out, out2;

    stack_init(&a);
    stack_init(&b);
    buf_init(&out, STACK_MAX_BYTES);
    buf_init(&out2, STACK_MAX_BYTES);
    if (stack_parse(&a, text, len, "in.yaml", &d))
        fail_msg("%s\n%s", d.message, text);
    assert_int_equal(stack_write(&a, &out), 0);
    if (stack_parse(&b, out.ptr, out.len, "out.yaml", &d))
        fail_msg("written stack does not parse: %s\n%s", d.message, out.ptr);
    stack_changes_init(&c);
    assert_int_equal(stack_diff(&a, &b, &c), 0);
    if (c.len)
        fail_msg("round trip changed %s: %s\n%s", c.items[0].name, c.items[0].reason, out.ptr);
    /* writing is deterministic */
    assert_int_equal(stack_write(&b, &out2), 0);
    assert_string_equal(out.ptr, out2.ptr);
    stack_changes_free(&c);
    buf_free(&out);
    buf_free(&out2);
    stack_free(&a);
    stack_free(&b);
}

static void test_round_trip_fixture(void **state)
{
    size_t len;
    char *text = read_fixture("groups.yaml", &len);

    (void)state;
    round_trip(text, len);
    free(text);
}

static void test_round_trip_awkward_strings(void **state)
{
    const char *values[] = { "",       "yes",    "No",          "123",    "1.5e3",  "-1",
                             "~",      "null",   "a: b",        "#x",     "x #y",   "- dash",
                             " lead",  "trail ", "multi\nline", "tab\tx", "café ☕", "'q'",
                             "\"dq\"", "{a: 1}", "[1]",         "*x",     "&y",     "!tag",
                             "%pct",   "@at",    "`bt`",        "a,b",    "?",      "|" };
    struct stack s;
    struct buf b;
    size_t i;

    (void)state;
    stack_init(&s);
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct stack_group *g;
        char key[16];

        snprintf(key, sizeof(key), "k%zu", i);
        assert_int_equal(stack_group_new("awkward", values[i], &g), 0);
        assert_int_equal(stack_group_attr_set(g, key, values[i]), 0);
        snprintf(key, sizeof(key), "g%zu", i);
        free(g->name);
        g->name = strdup(key);
        assert_int_equal(stack_add(&s, "thingGroup", g), 0);
    }
    buf_init(&b, STACK_MAX_BYTES);
    assert_int_equal(stack_write(&s, &b), 0);
    round_trip(b.ptr, b.len);
    buf_free(&b);
    stack_free(&s);
}

static void test_write_empty(void **state)
{
    struct stack s;
    struct buf b;

    (void)state;
    stack_init(&s);
    buf_init(&b, 64);
    assert_int_equal(stack_write(&s, &b), 0);
    assert_string_equal(b.ptr, "{}\n");
    round_trip(b.ptr, b.len);
    buf_free(&b);
    buf_init(&b, 4); /* too small: the cap is honoured */
    assert_int_equal(parse_text(&s, "thingGroups: [{name: a}]", &(struct cordon_diag){ 0 }), 0);
    assert_int_equal(stack_write(&s, &b), CORDON_ETOOBIG);
    buf_free(&b);
    stack_free(&s);
}

/* ---- security profiles in a stack ------------------------------------------ */

/*
 * Do what the cordon CLI does before sending a stack: replace each runbook's
 * `file: PATH` (relative to examples/) by `content: |` and the file's lines.
 */
static char *inline_runbook_files(char *text, size_t *len)
{
    static const char key[] = "file: ";
    char *at = strstr(text, key);

    while (at) {
        char path[512], rel[256], *eol = strchr(at, '\n');
        struct buf b;
        FILE *f;
        char line[1024];
        size_t n = eol ? (size_t)(eol - at) - strlen(key) : strlen(at + strlen(key));

        assert_true(n < sizeof(rel));
        memcpy(rel, at + strlen(key), n);
        rel[n] = '\0';
        snprintf(path, sizeof(path), "%s/../../examples/%s", CORDON_FIXTURES, rel);
        f = fopen(path, "rb");
        assert_non_null(f);
        buf_init(&b, STACK_MAX_BYTES);
        assert_int_equal(buf_add(&b, text, (size_t)(at - text)), 0);
        assert_int_equal(buf_adds(&b, "content: |\n"), 0);
        while (fgets(line, sizeof(line), f))
            assert_int_equal(buf_printf(&b, "      %s", line), 0);
        fclose(f);
        if (eol)
            assert_int_equal(buf_adds(&b, eol + 1), 0);
        free(text);
        text = b.ptr;
        *len = b.len;
        at = strstr(text, key);
    }
    return text;
}

static char *read_example(size_t *len)
{
    char path[512];
    FILE *f;
    char *text;

    snprintf(path, sizeof(path), "%s/../../examples/stack.yaml", CORDON_FIXTURES);
    f = fopen(path, "rb");
    assert_non_null(f);
    text = malloc(STACK_MAX_BYTES + 1);
    assert_non_null(text);
    *len = fread(text, 1, STACK_MAX_BYTES, f);
    text[*len] = '\0';
    fclose(f);
    return inline_runbook_files(text, len);
}

static void test_example_stack(void **state)
{
    struct stack s;
    struct cordon_diag d;
    const struct profile *p;
    size_t len;
    char *text = read_example(&len);

    (void)state;
    stack_init(&s);
    if (stack_parse(&s, text, len, "examples/stack.yaml", &d))
        fail_msg("%s", d.message);
    assert_int_equal(stack_count(&s, "thingGroup"), 1);
    assert_int_equal(stack_count(&s, "securityProfiles"), 2);
    p = stack_get(&s, "securityProfile", 0);
    assert_string_equal(p->name, "DeviceMLBaseline");
    p = stack_find(&s, "securityProfile", "DeviceRuleBaseline");
    assert_non_null(p);
    assert_int_equal(p->nbehaviors, 2);
    assert_string_equal(p->behaviors[0].name, "AuthorizedTcpPorts");
    assert_int_equal(p->ntargets, 1);
    assert_int_equal(p->targets[0].kind, PROFILE_TARGET_ALL);
    stack_free(&s);
    round_trip(text, len);
    free(text);
}

static void test_profile_update_reasons(void **state)
{
    struct stack cur, des;
    struct stack_changes c;
    struct cordon_diag d;
    size_t len;
    char *text = read_example(&len), *changed, *at;

    (void)state;
    /* the desired stack opens port 8080 and drops the ML profile */
    changed = malloc(len + 64);
    assert_non_null(changed);
    at = strstr(text, "ports: [22, 53, 443]");
    assert_non_null(at);
    snprintf(changed, len + 64, "%.*sports: [22, 53, 443, 8080]%s", (int)(at - text), text,
             at + strlen("ports: [22, 53, 443]"));
    /* cut the ML profile: from its comment to the next top-level line */
    at = strstr(changed, "  # ML baseline");
    assert_non_null(at);
    {
        char *next = at;
        while ((next = strchr(next, '\n')) && (next[1] == ' ' || next[1] == '\n'))
            next++;
        memmove(at, next ? next + 1 : at + strlen(at),
                strlen(next ? next + 1 : at + strlen(at)) + 1);
    }
    stack_init(&cur);
    stack_init(&des);
    assert_int_equal(stack_parse(&cur, text, len, "a.yaml", &d), 0);
    if (stack_parse(&des, changed, strlen(changed), "b.yaml", &d))
        fail_msg("%s", d.message);
    stack_changes_init(&c);
    assert_int_equal(stack_diff(&cur, &des, &c), 0);
    assert_int_equal(c.len, 2);
    assert_int_equal(c.items[0].action, STACK_UPDATE);
    assert_string_equal(c.items[0].kind->kind, "securityProfile");
    assert_string_equal(c.items[0].name, "DeviceRuleBaseline");
    assert_string_equal(c.items[0].reason, "behavior AuthorizedTcpPorts changed");
    assert_int_equal(c.items[1].action, STACK_DELETE);
    assert_string_equal(c.items[1].name, "DeviceMLBaseline");
    stack_changes_free(&c);
    stack_free(&cur);
    stack_free(&des);
    free(changed);
    free(text);
}

/* ---- the per-kind hook: a mock kind beside thing groups -------------------- */

struct widget {
    char *name;
    char *size;
};

static int widget_parse(struct fy_node *node, const char *file, void **obj,
                        struct cordon_diag *diag)
{
    struct widget *w;
    struct fy_node *n;
    int rc;

    *obj = NULL;
    if (fy_node_get_type(node) != FYNT_MAPPING)
        return stack_node_error(diag, node, file, "InvalidType", "widgets: expected a mapping");
    w = calloc(1, sizeof(*w));
    n = fy_node_mapping_lookup_by_string(node, "name", 4);
    if (!n) {
        free(w);
        return stack_node_error(diag, node, file, "MissingField", "widgets: name is required");
    }
    rc = stack_node_string(n, file, "widgets: name", STACK_NAME_MAX, 1, &w->name, diag);
    n = fy_node_mapping_lookup_by_string(node, "size", 4);
    if (!rc && n)
        rc = stack_node_string(n, file, "widgets: size", 16, 1, &w->size, diag);
    if (rc) {
        free(w->name);
        free(w);
        return rc;
    }
    *obj = w;
    return 0;
}

static const char *widget_name(const void *obj)
{
    return ((const struct widget *)obj)->name;
}

static int widget_write(const void *obj, struct fy_document *fyd, struct fy_node **out)
{
    const struct widget *w = obj;
    struct fy_node *m = fy_node_create_mapping(fyd);

    fy_node_mapping_append(m, stack_node_new_string(fyd, "name"),
                           stack_node_new_string(fyd, w->name));
    if (w->size)
        fy_node_mapping_append(m, stack_node_new_string(fyd, "size"),
                               stack_node_new_string(fyd, w->size));
    *out = m;
    return 0;
}

static int widget_compare(const void *a, const void *b, char *reason, size_t size)
{
    const struct widget *x = a, *y = b;

    if (!x->size != !y->size || (x->size && strcmp(x->size, y->size))) {
        snprintf(reason, size, "size changed");
        return 1;
    }
    reason[0] = '\0';
    return 0;
}

static void widget_free(void *obj)
{
    struct widget *w = obj;

    if (w) {
        free(w->name);
        free(w->size);
        free(w);
    }
}

static const struct stack_kind widget_kind = {
    .key = "widgets",
    .kind = "widget",
    .parse = widget_parse,
    .name = widget_name,
    .write = widget_write,
    .compare = widget_compare,
    .free = widget_free,
};

static const struct stack_kind *const test_kinds[] = { &stack_kind_group, &widget_kind };

static void test_custom_kind(void **state)
{
    struct stack cur, des, other;
    struct stack_changes c;
    struct cordon_diag d;
    struct buf b;
    const char *t1 = "thingGroups: [{name: a}, {name: z}]\nwidgets: [{name: w1, size: S}, "
                     "{name: w2}]\n";
    const char *t2 = "widgets:\n  - {name: w1, size: M}\n  - {name: w3}\n"
                     "thingGroups: [{name: b}, {name: z}]\n";

    (void)state;
    stack_init_kinds(&cur, test_kinds, 2);
    stack_init_kinds(&des, test_kinds, 2);
    assert_int_equal(stack_parse(&cur, t1, strlen(t1), "t1.yaml", &d), 0);
    assert_int_equal(stack_parse(&des, t2, strlen(t2), "t2.yaml", &d), 0);
    assert_int_equal(stack_count(&des, "widget"), 2);
    assert_non_null(stack_kind_find(&des, "widgets"));

    stack_changes_init(&c);
    assert_int_equal(stack_diff(&cur, &des, &c), 0);
    /* upserts in kind order (groups, widgets); deletes in reverse kind order */
    assert_int_equal(c.len, 5);
    assert_string_equal(c.items[0].name, "b");
    assert_int_equal(c.items[0].action, STACK_CREATE);
    assert_string_equal(c.items[1].name, "w1");
    assert_int_equal(c.items[1].action, STACK_UPDATE);
    assert_string_equal(c.items[1].reason, "size changed");
    assert_string_equal(c.items[2].name, "w3");
    assert_int_equal(c.items[2].action, STACK_CREATE);
    assert_string_equal(c.items[3].name, "w2");
    assert_int_equal(c.items[3].action, STACK_DELETE);
    assert_string_equal(c.items[3].kind->kind, "widget");
    assert_string_equal(c.items[4].name, "a");
    assert_int_equal(c.items[4].action, STACK_DELETE);
    stack_changes_free(&c);

    /* a kind's own error, positioned by the helper */
    stack_free(&cur);
    assert_int_equal(stack_parse(&cur, "widgets:\n  - size: S\n", 21, "w.yaml", &d), CORDON_EINVAL);
    assert_string_equal(d.message, "w.yaml:2:5: widgets: name is required");

    /* written in canonical kind order, whatever the input order */
    buf_init(&b, STACK_MAX_BYTES);
    assert_int_equal(stack_write(&des, &b), 0);
    assert_non_null(strstr(b.ptr, "thingGroups:"));
    assert_true(strstr(b.ptr, "thingGroups:") < strstr(b.ptr, "widgets:"));
    buf_free(&b);

    /* stacks of different kind tables do not compare */
    stack_init(&other);
    assert_int_equal(stack_diff(&other, &des, &c), CORDON_EINVAL);
    stack_free(&other);
    stack_free(&cur);
    stack_free(&des);
}

/* ---- the incident helpers' kinds plug in through a kind table ------------- */

static const struct stack_kind *const incident_kinds[] = {
    &stack_kind_group,         &contact_stack_kind, &contact_stack_kind_escalation,
    &response_plan_stack_kind, &stack_kind_profile,
};

static void test_incident_kinds_plug_in(void **state)
{
    struct stack a, b, empty;
    struct stack_changes c;
    struct cordon_diag d;
    struct buf out;
    size_t len;
    char *text = read_fixture("incident-kinds.yaml", &len);

    (void)state;
    stack_init_kinds(&a, incident_kinds, 5);
    if (stack_parse(&a, text, len, "incident-kinds.yaml", &d))
        fail_msg("%s", d.message);
    assert_int_equal(stack_count(&a, "contacts"), 2);
    assert_int_equal(stack_count(&a, "escalationPlans"), 1);
    assert_int_equal(stack_count(&a, "responsePlans"), 1);
    assert_non_null(stack_find(&a, "contact", "oncall-primary"));
    assert_non_null(stack_find(&a, "escalationPlan", "iot-escalation"));
    assert_non_null(stack_find(&a, "responsePlan", "IotResponsePlan"));

    /* write -> parse -> no changes */
    buf_init(&out, STACK_MAX_BYTES);
    assert_int_equal(stack_write(&a, &out), 0);
    stack_init_kinds(&b, incident_kinds, 5);
    if (stack_parse(&b, out.ptr, out.len, "written.yaml", &d))
        fail_msg("%s\n%s", d.message, out.ptr);
    stack_changes_init(&c);
    assert_int_equal(stack_diff(&a, &b, &c), 0);
    if (c.len)
        fail_msg("%s %s: %s", c.items[0].kind->kind, c.items[0].name, c.items[0].reason);

    /* creates follow the table (dependencies first), deletes the reverse */
    stack_init_kinds(&empty, incident_kinds, 5);
    assert_int_equal(stack_diff(&empty, &a, &c), 0);
    assert_int_equal(c.len, 5);
    assert_string_equal(c.items[0].kind->kind, "thingGroup");
    assert_string_equal(c.items[1].name, "oncall-primary");
    assert_string_equal(c.items[3].kind->kind, "escalationPlan");
    assert_string_equal(c.items[4].kind->kind, "responsePlan");
    stack_changes_free(&c);
    assert_int_equal(stack_diff(&a, &empty, &c), 0);
    assert_int_equal(c.len, 4); /* QUARANTINED is never deleted */
    assert_string_equal(c.items[0].kind->kind, "responsePlan");
    assert_string_equal(c.items[3].kind->kind, "contact");
    stack_changes_free(&c);

    /* a kind's own positioned error comes through */
    stack_free(&b);
    {
        const char *bad = "contacts:\n  - alias: x\n    bogus: 1\n";
        assert_int_equal(stack_parse(&b, bad, strlen(bad), "c.yaml", &d), CORDON_EINVAL);
    }
    assert_int_equal(d.line, 3);
    assert_non_null(strstr(d.message, "c.yaml:3:"));

    buf_free(&out);
    stack_free(&empty);
    stack_free(&b);
    stack_free(&a);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_groups),
        cmocka_unit_test(test_quarantined_is_implicit),
        cmocka_unit_test(test_bad_stacks),
        cmocka_unit_test(test_reserved_keys),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_group_new_and_add),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_diff_quarantined),
        cmocka_unit_test(test_diff_identical),
        cmocka_unit_test(test_round_trip_fixture),
        cmocka_unit_test(test_round_trip_awkward_strings),
        cmocka_unit_test(test_write_empty),
        cmocka_unit_test(test_example_stack),
        cmocka_unit_test(test_profile_update_reasons),
        cmocka_unit_test(test_custom_kind),
        cmocka_unit_test(test_incident_kinds_plug_in),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
