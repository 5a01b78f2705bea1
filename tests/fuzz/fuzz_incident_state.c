/*
 * fuzz_incident_state.c — the JSON decoders of stored incident-response
 * state (incident, engagement, analysis), then the engagement machine run
 * on whatever decodes: nothing may crash, leak or loop.
 */
#include "analysis.h"
#include "contact.h"
#include "engagement.h"
#include "incident.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fill(void *ctx, void *buf, size_t n)
{
    memset(buf, 0x5a, n);
    (void)ctx;
    return 0;
}

static const char book_yaml[] =
    "contacts:\n"
    "  - alias: p\n    channels: [{name: e, type: EMAIL, deliveryAddress: p@x.org,\n"
    "      activationStatus: ACTIVATED}]\n"
    "    plan: {stages: [{durationSeconds: 5, targets: [{channel: e, retryIntervalSeconds: 1}]}]}\n"
    "escalationPlans:\n"
    "  - alias: esc\n    plan: {stages: [{durationSeconds: 3, targets: [{contact: p}]}]}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct contact_book book;
    static int ready;
    const struct incident_random rnd = { fill, NULL };
    struct cordon_diag d;
    struct incident inc;
    struct engagement e;
    struct analysis a;
    struct engagement_effects fx;
    json_t *j = json_loadb((const char *)data, size, 0, NULL), *out;
    struct buf md;

    if (!ready) {
        contact_book_init(&book);
        if (contact_book_load_yaml(&book, book_yaml, sizeof(book_yaml) - 1, "book", &d))
            abort();
        ready = 1;
    }
    if (!j)
        return 0;
    incident_init(&inc);
    if (incident_from_json(&inc, j, &d) == 0) {
        out = incident_to_json(&inc);
        json_decref(out);
    }
    incident_free(&inc);

    engagement_init(&e);
    if (engagement_from_json(&e, j, &d) == 0) {
        engagement_effects_init(&fx);
        engagement_tick(&e, &book, 10000, &rnd, &fx);
        engagement_ack_contact(&e, "p", NULL, "x", NULL, 10001, &fx, NULL);
        engagement_tick(&e, &book, 20000, &rnd, &fx);
        engagement_effects_free(&fx);
        out = engagement_to_json(&e);
        json_decref(out);
    }
    engagement_free(&e);

    analysis_init(&a);
    if (analysis_from_json(&a, j, &d) == 0) {
        buf_init(&md, ANALYSIS_MARKDOWN_MAX);
        analysis_to_markdown(&a, &md);
        buf_free(&md);
    }
    analysis_free(&a);
    json_decref(j);
    return 0;
}
