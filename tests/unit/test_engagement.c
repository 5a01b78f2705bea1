/*
 * test_engagement.c — escalation and paging state machine: the seed
 * scenario's escalation (seed-scenario.md §2.9), acknowledgement scope,
 * inactive channels, manual escalation, crash recovery via JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "contact.h"
#include "engagement.h"
#include "incident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN (60 * 1000LL)
#define T0  1700000000000LL

static int fill(void *ctx, void *buf, size_t n)
{
    uint64_t *state = ctx;
    uint8_t *b = buf;
    size_t i;

    for (i = 0; i < n; i++) {
        *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
        b[i] = (uint8_t)(*state >> 56);
    }
    return 0;
}

static uint64_t seed = 42;
static const struct incident_random rnd = { fill, &seed };

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

static void load_book(struct contact_book *b, const char *name)
{
    struct cordon_diag d;
    size_t n;
    char *t = slurp(name, &n);
    int r;

    contact_book_init(b);
    r = contact_book_load_yaml(b, t, n, name, &d);
    if (r)
        fprintf(stderr, "%s\n", d.message);
    assert_int_equal(r, 0);
    free(t);
}

static void fake_incident(struct incident *inc)
{
    incident_init(inc);
    snprintf(inc->id, sizeof(inc->id), "cordon:incident/IotResponsePlan/test");
    snprintf(inc->title, sizeof(inc->title), "Critical IoT Device Incident | v-1");
    inc->impact = 3;
    inc->summary = strdup("IoT Device Defender Security Profile Violation");
    assert_int_equal(incident_item_add(inc, INCIDENT_ITEM_OTHER, "IoT Logs Query URL",
                                       "http://console.test/things/dd-test-01/logs?range=3600",
                                       true, &rnd),
                     0);
}

static void open_engagement(struct engagement *e)
{
    struct incident inc;

    fake_incident(&inc);
    engagement_init(e);
    assert_int_equal(engagement_open(e, &inc, "http://console.test/ack/{{token}}", 0), 0);
    incident_free(&inc);
}

static size_t count(const struct engagement_effects *fx, enum engagement_effect_type t)
{
    size_t i, n = 0;

    for (i = 0; i < fx->n; i++)
        n += fx->items[i].type == t;
    return n;
}

static size_t count_pages(const struct engagement_effects *fx, const char *contact,
                          const char *channel)
{
    size_t i, n = 0;

    for (i = 0; i < fx->n; i++) {
        const struct engagement_effect *x = &fx->items[i];
        if (x->type != ENGAGEMENT_EFFECT_PAGE)
            continue;
        if (contact && strcmp(x->contact, contact))
            continue;
        if (channel && strcmp(x->channel, channel))
            continue;
        n++;
    }
    return n;
}

static const struct engagement_effect *page_of(const struct engagement_effects *fx,
                                               const char *contact, const char *channel)
{
    size_t i;

    for (i = 0; i < fx->n; i++) {
        const struct engagement_effect *x = &fx->items[i];
        if (x->type == ENGAGEMENT_EFFECT_PAGE && !strcmp(x->contact, contact) &&
            !strcmp(x->channel, channel))
            return x;
    }
    return NULL;
}

static bool has_timeline(const struct engagement_effects *fx, const char *type, const char *needle)
{
    size_t i;

    for (i = 0; i < fx->n; i++) {
        const struct engagement_effect *x = &fx->items[i];
        if (x->type == ENGAGEMENT_EFFECT_TIMELINE && !strcmp(x->event_type, type) &&
            (!needle || strstr(x->event_data, needle)))
            return true;
    }
    return false;
}

static int64_t last_wake(const struct engagement_effects *fx)
{
    size_t i = fx->n;

    while (i-- > 0)
        if (fx->items[i].type == ENGAGEMENT_EFFECT_WAKE)
            return fx->items[i].due_ms;
    fail_msg("no WAKE effect");
    return 0;
}

/* Serialize and restore, as the daemon does across a restart. */
static void reload(struct engagement *e)
{
    json_t *j = engagement_to_json(e);
    char *text = json_dumps(j, JSON_COMPACT);
    json_t *back = json_loads(text, 0, NULL);
    struct cordon_diag d;
    json_t *again;

    assert_non_null(back);
    engagement_free(e);
    assert_int_equal(engagement_from_json(e, back, &d), 0);
    again = engagement_to_json(e);
    assert_true(json_equal(j, again));
    json_decref(j);
    json_decref(back);
    json_decref(again);
    free(text);
}

/* §2.9: no ack — primary email, primary SMS (+retry), then secondary after 10 min. */
static void test_seed_escalation_without_ack(void **state)
{
    struct contact_book book;
    struct engagement e;
    struct engagement_effects fx;
    int64_t t;

    (void)state;
    load_book(&book, "contacts.yaml");
    open_engagement(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_start(&e, "iot-escalation", &book, T0, &rnd, &fx), 0);
    assert_int_equal(count_pages(&fx, NULL, NULL), 1);
    assert_int_equal(count_pages(&fx, "oncall-primary", "email"), 1);
    assert_int_equal(last_wake(&fx), T0 + 5 * MIN);
    engagement_effects_free(&fx);

    /* nothing new before the wake time, however often we tick */
    for (t = T0; t < T0 + 5 * MIN; t += 30 * 1000) {
        engagement_effects_init(&fx);
        assert_int_equal(engagement_tick(&e, &book, t, &rnd, &fx), 0);
        assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_PAGE), 0);
        engagement_effects_free(&fx);
    }
    engagement_effects_init(&fx);
    assert_int_equal(engagement_tick(&e, &book, T0 + 5 * MIN, &rnd, &fx), 0);
    assert_int_equal(count_pages(&fx, "oncall-primary", "sms"), 1);
    assert_int_equal(count_pages(&fx, NULL, NULL), 1);
    assert_int_equal(last_wake(&fx), T0 + 10 * MIN);
    engagement_effects_free(&fx);

    reload(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_tick(&e, &book, T0 + 10 * MIN, &rnd, &fx), 0);
    /* SMS retry of stage 2 and the escalation's stage 2: the secondary */
    assert_int_equal(count_pages(&fx, "oncall-primary", "sms"), 1);
    assert_int_equal(page_of(&fx, "oncall-primary", "sms")->attempt, 1);
    assert_int_equal(count_pages(&fx, "oncall-secondary", "email"), 1);
    assert_int_equal(page_of(&fx, "oncall-secondary", "email")->stage, 2);
    assert_true(has_timeline(&fx, INCIDENT_EVENT_ENGAGEMENT, "\"stage\":2"));
    engagement_effects_free(&fx);

    /* final stage ends at 20 min: not acknowledged, open, no pages */
    engagement_effects_init(&fx);
    assert_int_equal(engagement_tick(&e, &book, T0 + 20 * MIN, &rnd, &fx), 0);
    assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_PAGE), 0);
    assert_true(has_timeline(&fx, INCIDENT_EVENT_NOT_ACKED, NULL));
    assert_int_equal(last_wake(&fx), -1);
    assert_int_equal(e.runs[0].state, ENGAGEMENT_RUN_EXHAUSTED);
    engagement_effects_free(&fx);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_tick(&e, &book, T0 + 60 * MIN, &rnd, &fx), 0);
    assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_PAGE), 0);
    assert_false(has_timeline(&fx, INCIDENT_EVENT_NOT_ACKED, NULL));
    engagement_effects_free(&fx);
    engagement_free(&e);
    contact_book_free(&book);
}

/* Stage 2 is engaged exactly once under repeated ticks and save/restore ("kill -9"). */
static void test_stage_two_exactly_once(void **state)
{
    struct contact_book book;
    struct engagement e, crashed;
    struct engagement_effects fx, fx2;
    json_t *saved;
    struct cordon_diag d;
    size_t secondary = 0, i;
    int64_t t;

    (void)state;
    load_book(&book, "contacts.yaml");
    open_engagement(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_start(&e, "iot-escalation", &book, T0, &rnd, &fx), 0);
    engagement_effects_free(&fx);
    for (t = T0 + 9 * MIN; t <= T0 + 11 * MIN; t += 7 * 1000) {
        engagement_effects_init(&fx);
        assert_int_equal(engagement_tick(&e, &book, t, &rnd, &fx), 0);
        secondary += count_pages(&fx, "oncall-secondary", NULL);
        engagement_effects_free(&fx);
        reload(&e); /* every turn persisted and reloaded */
        engagement_effects_init(&fx);
        assert_int_equal(engagement_tick(&e, &book, t, &rnd, &fx), 0);
        secondary += count_pages(&fx, "oncall-secondary", NULL);
        engagement_effects_free(&fx);
    }
    assert_int_equal(secondary, 1);
    engagement_free(&e);

    /* A crash before commit: the state saved before the due time is reloaded; the
     * re-run emits the same pages with the same idempotency keys, once. */
    open_engagement(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_start(&e, "iot-escalation", &book, T0, &rnd, &fx), 0);
    engagement_effects_free(&fx);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_tick(&e, &book, T0 + 5 * MIN, &rnd, &fx), 0);
    engagement_effects_free(&fx);
    saved = engagement_to_json(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_tick(&e, &book, T0 + 10 * MIN, &rnd, &fx), 0); /* lost */
    engagement_init(&crashed);
    assert_int_equal(engagement_from_json(&crashed, saved, &d), 0);
    engagement_effects_init(&fx2);
    assert_int_equal(engagement_tick(&crashed, &book, T0 + 10 * MIN + 2500, &rnd, &fx2), 0);
    assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_PAGE), count(&fx2, ENGAGEMENT_EFFECT_PAGE));
    for (i = 0; i < fx.n; i++)
        if (fx.items[i].type == ENGAGEMENT_EFFECT_PAGE)
            assert_non_null(page_of(&fx2, fx.items[i].contact, fx.items[i].channel));
    for (i = 0; i < fx2.n; i++) {
        size_t k;
        bool found = false;
        if (fx2.items[i].type != ENGAGEMENT_EFFECT_PAGE)
            continue;
        for (k = 0; k < fx.n; k++)
            if (fx.items[k].type == ENGAGEMENT_EFFECT_PAGE &&
                !strcmp(fx.items[k].idempotency_key, fx2.items[i].idempotency_key))
                found = true;
        assert_true(found);
    }
    engagement_effects_free(&fx);
    engagement_effects_free(&fx2);
    /* after the recovered turn commits, nothing is due again */
    engagement_effects_init(&fx);
    assert_int_equal(engagement_tick(&crashed, &book, T0 + 10 * MIN + 5000, &rnd, &fx), 0);
    assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_PAGE), 0);
    engagement_effects_free(&fx);
    json_decref(saved);
    engagement_free(&crashed);
    engagement_free(&e);
    contact_book_free(&book);
}

/* An essential ack by SMS code stops every page: retries, other channels, later stages. */
static void test_ack_stops_everything(void **state)
{
    struct contact_book book;
    struct engagement e;
    struct engagement_effects fx;
    char code[CONTACT_CODE_MAX + 1], email_page[ENGAGEMENT_PAGE_ID_MAX + 1];
    bool essential = false;
    int64_t t;

    (void)state;
    load_book(&book, "contacts.yaml");
    open_engagement(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_start(&e, "iot-escalation", &book, T0, &rnd, &fx), 0);
    snprintf(email_page, sizeof(email_page), "%s",
             page_of(&fx, "oncall-primary", "email")->page_id);
    engagement_effects_free(&fx);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_tick(&e, &book, T0 + 6 * MIN, &rnd, &fx), 0);
    snprintf(code, sizeof(code), "%s", page_of(&fx, "oncall-primary", "sms")->accept_code);
    assert_int_equal(strlen(code), ENGAGEMENT_DEFAULT_CODE_DIGITS);
    engagement_effects_free(&fx);
    assert_true(engagement_page_live(&e, email_page));

    engagement_effects_init(&fx);
    assert_int_equal(engagement_ack_code(&e, code, "on it", T0 + 7 * MIN, &fx, &essential), 0);
    assert_true(essential);
    assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_ACKNOWLEDGED), 1);
    assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_PAGE), 0);
    assert_true(has_timeline(&fx, INCIDENT_EVENT_ACK, "\"channel\":\"sms\""));
    assert_true(has_timeline(&fx, INCIDENT_EVENT_ACK, "on it"));
    assert_int_equal(last_wake(&fx), -1);
    engagement_effects_free(&fx);
    assert_false(engagement_page_live(&e, email_page)); /* emitted, not delivered yet: drop */
    assert_int_equal(e.acknowledged_ms, T0 + 7 * MIN);

    reload(&e);
    for (t = T0 + 7 * MIN; t <= T0 + 40 * MIN; t += MIN) {
        engagement_effects_init(&fx);
        assert_int_equal(engagement_tick(&e, &book, t, &rnd, &fx), 0);
        assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_PAGE), 0);
        assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_TIMELINE), 0);
        engagement_effects_free(&fx);
    }
    /* the same code again: already acknowledged, nothing recorded */
    engagement_effects_init(&fx);
    assert_int_equal(engagement_ack_code(&e, code, NULL, T0 + 41 * MIN, &fx, NULL), CORDON_EEXIST);
    assert_int_equal(fx.n, 0);
    assert_int_equal(engagement_ack_code(&e, "00000000", NULL, T0 + 41 * MIN, &fx, NULL),
                     CORDON_ENOTFOUND);
    engagement_effects_free(&fx);
    assert_int_equal(e.nacks, 1);
    assert_string_equal(e.acks[0].contact, "oncall-primary");
    {
        json_t *pub = engagement_to_public_json(&e);
        char *text = json_dumps(pub, 0);
        assert_null(strstr(text, code)); /* no secrets in the API view */
        assert_null(strstr(text, "linkToken"));
        assert_non_null(strstr(text, "\"ACKNOWLEDGED\""));
        free(text);
        json_decref(pub);
    }
    assert_string_equal(e.acks[0].note, "on it");
    engagement_free(&e);
    contact_book_free(&book);
}

/* One-click link: single use; the secondary acks by link after stage 2 started. */
static void test_ack_by_link(void **state)
{
    struct contact_book book;
    struct engagement e;
    struct engagement_effects fx;
    char token[ENGAGEMENT_TOKEN_MAX + 1];
    const struct engagement_effect *p;

    (void)state;
    load_book(&book, "contacts.yaml");
    open_engagement(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_start(&e, "iot-escalation", &book, T0, &rnd, &fx), 0);
    engagement_effects_free(&fx);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_tick(&e, &book, T0 + 10 * MIN, &rnd, &fx), 0);
    p = page_of(&fx, "oncall-secondary", "email");
    assert_non_null(p);
    assert_int_equal(strlen(p->link_token), 48);
    snprintf(token, sizeof(token), "%s", p->link_token);
    /* the email carries title, impact, summary, related items, link and code */
    assert_non_null(strstr(p->subject, "Critical IoT Device Incident | v-1"));
    assert_non_null(strstr(p->body, "Impact: 3 (Medium)"));
    assert_non_null(strstr(p->body, "IoT Device Defender Security Profile Violation"));
    assert_non_null(strstr(p->body, "IoT Logs Query URL: http://console.test/things/dd-test-01"));
    assert_non_null(strstr(p->body, p->accept_code));
    assert_non_null(strstr(p->body, "http://console.test/ack/"));
    assert_non_null(strstr(p->ack_url, token));
    assert_non_null(strstr(p->short_text, p->accept_code));
    assert_true(strlen(p->short_text) <= ENGAGEMENT_SMS_MAX);
    assert_string_equal(p->address, "oncall-secondary@example.org");
    engagement_effects_free(&fx);

    engagement_effects_init(&fx);
    assert_int_equal(engagement_ack_token(&e, token, NULL, T0 + 11 * MIN, &fx, NULL), 0);
    assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_ACKNOWLEDGED), 1);
    assert_int_equal(engagement_ack_token(&e, token, NULL, T0 + 12 * MIN, &fx, NULL),
                     CORDON_EEXIST);
    token[0] = token[0] == 'a' ? 'b' : 'a';
    assert_int_equal(engagement_ack_token(&e, token, NULL, T0 + 12 * MIN, &fx, NULL),
                     CORDON_ENOTFOUND);
    engagement_effects_free(&fx);
    /* primary's pending SMS retry (at 10 min it was sent; none pending) and nothing else */
    engagement_effects_init(&fx);
    assert_int_equal(engagement_tick(&e, &book, T0 + 30 * MIN, &rnd, &fx), 0);
    assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_PAGE), 0);
    engagement_effects_free(&fx);
    engagement_free(&e);
    contact_book_free(&book);
}

/* A non-essential ack stops only that contact's pages; escalation goes on. */
static void test_non_essential_ack(void **state)
{
    struct contact_book book;
    struct engagement e;
    struct engagement_effects fx;
    char code[CONTACT_CODE_MAX + 1];
    bool essential = true;
    size_t watcher = 0, secondary = 0;
    int64_t t;

    (void)state;
    load_book(&book, "contacts-seconds.yaml");
    open_engagement(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_start(&e, "iot-escalation", &book, T0, &rnd, &fx), 0);
    assert_int_equal(count_pages(&fx, "watcher", "email"), 1);
    snprintf(code, sizeof(code), "%s", page_of(&fx, "watcher", "email")->accept_code);
    engagement_effects_free(&fx);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_ack_code(&e, code, "watching", T0 + 1000, &fx, &essential), 0);
    assert_false(essential);
    assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_ACKNOWLEDGED), 0);
    assert_false(e.acknowledged);
    engagement_effects_free(&fx);
    for (t = T0 + 1000; t <= T0 + 30000; t += 500) {
        engagement_effects_init(&fx);
        assert_int_equal(engagement_tick(&e, &book, t, &rnd, &fx), 0);
        watcher += count_pages(&fx, "watcher", NULL);
        secondary += count_pages(&fx, "oncall-secondary", NULL);
        engagement_effects_free(&fx);
    }
    assert_int_equal(watcher, 0);   /* its retries at 5, 10, 15 s were stopped */
    assert_int_equal(secondary, 2); /* email + chat webhook at stage 2 */
    engagement_free(&e);
    contact_book_free(&book);
}

/* A channel that is not activated is never paged. */
static void test_inactive_channel_never_paged(void **state)
{
    struct contact_book book;
    struct engagement e;
    struct engagement_effects fx;
    size_t voice = 0;
    bool skipped;
    int64_t t;

    (void)state;
    load_book(&book, "contacts-seconds.yaml");
    open_engagement(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_start(&e, "iot-escalation", &book, T0, &rnd, &fx), 0);
    voice += count_pages(&fx, "oncall-primary", "voice");
    skipped = has_timeline(&fx, INCIDENT_EVENT_PAGE, "skipped: channel not activated");
    engagement_effects_free(&fx);
    for (t = T0; t <= T0 + 30000; t += 1000) {
        engagement_effects_init(&fx);
        assert_int_equal(engagement_tick(&e, &book, t, &rnd, &fx), 0);
        voice += count_pages(&fx, "oncall-primary", "voice");
        engagement_effects_free(&fx);
    }
    assert_int_equal(voice, 0);
    assert_true(skipped);
    /* once activated, the voice page says how to acknowledge */
    engagement_free(&e);
    ((struct contact *)contact_book_find(&book, "oncall-primary"))->channels[2].activated = true;
    open_engagement(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_start(&e, "iot-escalation", &book, T0, &rnd, &fx), 0);
    assert_non_null(page_of(&fx, "oncall-primary", "voice"));
    assert_non_null(strstr(page_of(&fx, "oncall-primary", "voice")->voice_text, "Press 1"));
    engagement_effects_free(&fx);
    engagement_free(&e);
    contact_book_free(&book);
}

/* After downtime, overdue attempts of one channel in one stage collapse into one page. */
static void test_recovery_coalesces(void **state)
{
    struct contact_book book;
    struct engagement e;
    struct engagement_effects fx;

    (void)state;
    load_book(&book, "contacts-seconds.yaml");
    open_engagement(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_start(&e, "iot-escalation", &book, T0, &rnd, &fx), 0);
    engagement_effects_free(&fx);
    reload(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_recover(&e, &book, T0 + 60000, &rnd, &fx), 0);
    assert_int_equal(count_pages(&fx, "oncall-primary", "sms"), 1);
    assert_int_equal(page_of(&fx, "oncall-primary", "sms")->attempt, 3);
    assert_int_equal(count_pages(&fx, "watcher", "email"), 1);
    assert_int_equal(count_pages(&fx, "oncall-secondary", "email"), 1);
    assert_true(has_timeline(&fx, INCIDENT_EVENT_NOT_ACKED, NULL));
    engagement_effects_free(&fx);
    engagement_free(&e);
    contact_book_free(&book);
}

/* "Escalate now" and "engage stage N" (§18). */
static void test_manual_escalation(void **state)
{
    struct contact_book book;
    struct engagement e;
    struct engagement_effects fx;

    (void)state;
    load_book(&book, "contacts.yaml");
    open_engagement(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_start(&e, "iot-escalation", &book, T0, &rnd, &fx), 0);
    assert_int_equal(engagement_engage_stage(&e, "iot-escalation", 1, &book, T0, &rnd, &fx),
                     CORDON_EEXIST);
    assert_int_equal(engagement_engage_stage(&e, "iot-escalation", 3, &book, T0, &rnd, &fx),
                     CORDON_ERANGE);
    assert_int_equal(engagement_escalate(&e, "nobody", &book, T0, &rnd, &fx), CORDON_ENOTFOUND);
    engagement_effects_free(&fx);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_escalate(&e, "iot-escalation", &book, T0 + MIN, &rnd, &fx), 0);
    assert_int_equal(count_pages(&fx, "oncall-secondary", "email"), 1);
    assert_true(has_timeline(&fx, INCIDENT_EVENT_ENGAGEMENT, "engaged by hand"));
    assert_int_equal(last_wake(&fx), T0 + 5 * MIN); /* primary's SMS stage still comes */
    engagement_effects_free(&fx);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_escalate(&e, "iot-escalation", &book, T0 + 2 * MIN, &rnd, &fx),
                     CORDON_ESTATE);
    engagement_effects_free(&fx);
    /* the stage-1 timer no longer engages stage 2 a second time; run ends 10 min after */
    engagement_effects_init(&fx);
    assert_int_equal(engagement_tick(&e, &book, T0 + 11 * MIN, &rnd, &fx), 0);
    assert_int_equal(count_pages(&fx, "oncall-secondary", NULL), 0);
    assert_true(has_timeline(&fx, INCIDENT_EVENT_NOT_ACKED, NULL));
    engagement_effects_free(&fx);
    engagement_free(&e);
    contact_book_free(&book);
}

/* A personal contact engaged directly; ack by API; stop. */
static void test_direct_contact_and_stop(void **state)
{
    struct contact_book book;
    struct engagement e;
    struct engagement_effects fx;

    (void)state;
    load_book(&book, "contacts.yaml");
    open_engagement(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_start(&e, "oncall-primary", &book, T0, &rnd, &fx), 0);
    assert_int_equal(count_pages(&fx, "oncall-primary", "email"), 1);
    assert_int_equal(engagement_start(&e, "oncall-primary", &book, T0, &rnd, &fx), CORDON_EEXIST);
    assert_int_equal(engagement_start(&e, "ghost", &book, T0, &rnd, &fx), CORDON_ENOTFOUND);
    assert_int_equal(
        engagement_ack_contact(&e, "oncall-secondary", NULL, "alice", NULL, T0, &fx, NULL),
        CORDON_ENOTFOUND);
    engagement_effects_free(&fx);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_stop(&e, "incident resolved", T0 + MIN, &fx), 0);
    assert_int_equal(last_wake(&fx), -1);
    engagement_effects_free(&fx);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_tick(&e, &book, T0 + 30 * MIN, &rnd, &fx), 0);
    assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_PAGE), 0);
    assert_int_equal(engagement_start(&e, "oncall-secondary", &book, T0, &rnd, &fx), CORDON_ESTATE);
    engagement_effects_free(&fx);
    engagement_free(&e);

    /* ack by API records who and the channel */
    open_engagement(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_start(&e, "oncall-primary", &book, T0, &rnd, &fx), 0);
    assert_int_equal(engagement_ack_contact(&e, "oncall-primary", "email", "alice", "via console",
                                            T0 + 2000, &fx, NULL),
                     0);
    assert_string_equal(e.acks[0].who, "alice");
    assert_string_equal(e.acks[0].channel, "email");
    assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_ACKNOWLEDGED), 1);
    engagement_effects_free(&fx);
    engagement_free(&e);
    contact_book_free(&book);
}

/* An essential contact of a later stage may acknowledge before being paged. */
static void test_ack_before_paged(void **state)
{
    struct contact_book book;
    struct engagement e;
    struct engagement_effects fx;
    bool essential = false;

    (void)state;
    load_book(&book, "contacts.yaml");
    open_engagement(&e);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_start(&e, "iot-escalation", &book, T0, &rnd, &fx), 0);
    assert_int_equal(engagement_ack_contact(&e, "oncall-secondary", NULL, "bob", "taking it",
                                            T0 + MIN, &fx, &essential),
                     0);
    assert_true(essential);
    engagement_effects_free(&fx);
    engagement_effects_init(&fx);
    assert_int_equal(engagement_tick(&e, &book, T0 + 30 * MIN, &rnd, &fx), 0);
    assert_int_equal(count(&fx, ENGAGEMENT_EFFECT_PAGE), 0);
    engagement_effects_free(&fx);
    engagement_free(&e);
    contact_book_free(&book);
}

/* Corrupt state is refused with a message. */
static void test_bad_state(void **state)
{
    struct engagement e;
    struct cordon_diag d;
    json_t *j = json_loads("{\"incident\":{}}", 0, NULL);

    (void)state;
    engagement_init(&e);
    assert_int_equal(engagement_from_json(&e, j, &d), CORDON_EINVAL);
    assert_non_null(strstr(d.message, "engagement state"));
    engagement_free(&e);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_escalation_without_ack),
        cmocka_unit_test(test_stage_two_exactly_once),
        cmocka_unit_test(test_ack_stops_everything),
        cmocka_unit_test(test_ack_by_link),
        cmocka_unit_test(test_non_essential_ack),
        cmocka_unit_test(test_inactive_channel_never_paged),
        cmocka_unit_test(test_recovery_coalesces),
        cmocka_unit_test(test_manual_escalation),
        cmocka_unit_test(test_direct_contact_and_stop),
        cmocka_unit_test(test_ack_before_paged),
        cmocka_unit_test(test_bad_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
