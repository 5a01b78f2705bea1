/*
 * engagement.c — escalation and paging state machine: schedule pages from
 * engagement plans, fire due pages and stage timers in time order, stop
 * on acknowledgement, serialize for crash recovery.
 */
#include "engagement.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const run_state_names[] = { "ACTIVE", "ACKNOWLEDGED", "EXHAUSTED", "STOPPED",
                                               NULL };
static const char *const page_state_names[] = { "PENDING", "SENT",      "CANCELLED",
                                                "SKIPPED", "COALESCED", NULL };
static const char *const via_names[] = { "ACCEPT_CODE", "LINK", "API", NULL };

const char *engagement_run_state_name(enum engagement_run_state s)
{
    return (unsigned)s < 4 ? run_state_names[s] : "ACTIVE";
}

const char *engagement_page_state_name(enum engagement_page_state s)
{
    return (unsigned)s < 5 ? page_state_names[s] : "PENDING";
}

static void copy(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

static char *xstrdup(const char *s)
{
    size_t n;
    char *p;

    if (!s)
        s = "";
    n = strlen(s) + 1;
    p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* ---- effects ------------------------------------------------------------- */

void engagement_effects_init(struct engagement_effects *fx)
{
    memset(fx, 0, sizeof(*fx));
}

void engagement_effects_free(struct engagement_effects *fx)
{
    size_t i;

    for (i = 0; i < fx->n; i++) {
        struct engagement_effect *x = &fx->items[i];
        free(x->page_id);
        free(x->idempotency_key);
        free(x->incident_id);
        free(x->contact);
        free(x->channel);
        free(x->address);
        free(x->ack_url);
        free(x->subject);
        free(x->body);
        free(x->short_text);
        free(x->voice_text);
        free(x->webhook_json);
        free(x->key);
        free(x->event_type);
        free(x->event_data);
    }
    free(fx->items);
    memset(fx, 0, sizeof(*fx));
}

static struct engagement_effect *fx_push(struct engagement_effects *fx,
                                         enum engagement_effect_type t)
{
    if (fx->n == fx->alloc) {
        size_t na = fx->alloc ? fx->alloc * 2 : 8;
        struct engagement_effect *p = realloc(fx->items, na * sizeof(*p));
        if (!p)
            return NULL;
        fx->items = p;
        fx->alloc = na;
    }
    memset(&fx->items[fx->n], 0, sizeof(fx->items[0]));
    fx->items[fx->n].type = t;
    return &fx->items[fx->n++];
}

/* A TIMELINE effect; j is stolen. */
static int timeline(struct engagement_effects *fx, const char *type, json_t *j)
{
    struct engagement_effect *x;

    if (!j)
        return CORDON_ENOMEM;
    x = fx_push(fx, ENGAGEMENT_EFFECT_TIMELINE);
    if (!x) {
        json_decref(j);
        return CORDON_ENOMEM;
    }
    x->event_type = xstrdup(type);
    x->event_data = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return x->event_type && x->event_data ? 0 : CORDON_ENOMEM;
}

/* ---- lifecycle ------------------------------------------------------------- */

void engagement_init(struct engagement *e)
{
    memset(e, 0, sizeof(*e));
    e->code_digits = ENGAGEMENT_DEFAULT_CODE_DIGITS;
}

void engagement_free(struct engagement *e)
{
    free(e->pages);
    memset(e, 0, sizeof(*e));
}

void engagement_set_brief(struct engagement *e, const struct incident *inc)
{
    struct engagement_brief *b = &e->brief;
    size_t i, used = 0;

    copy(b->incident_id, sizeof(b->incident_id), inc->id);
    copy(b->title, sizeof(b->title), inc->title);
    b->impact = inc->impact;
    copy(b->summary, sizeof(b->summary), inc->summary);
    b->links[0] = '\0';
    for (i = 0; i < inc->nitems && used < sizeof(b->links) - 1; i++) {
        const struct incident_item *it = &inc->items[i];
        int w;
        if (!it->is_url)
            continue;
        w = snprintf(b->links + used, sizeof(b->links) - used, "%s: %s\n", it->title, it->value);
        if (w < 0 || (size_t)w >= sizeof(b->links) - used) {
            b->links[used] = '\0'; /* drop a line that does not fit */
            break;
        }
        used += (size_t)w;
    }
}

int engagement_open(struct engagement *e, const struct incident *inc, const char *ack_url_template,
                    int code_digits)
{
    if (code_digits == 0)
        code_digits = ENGAGEMENT_DEFAULT_CODE_DIGITS;
    if (code_digits < CONTACT_CODE_MIN || code_digits > CONTACT_CODE_MAX)
        return CORDON_ERANGE;
    if (ack_url_template && strlen(ack_url_template) > ENGAGEMENT_URL_MAX)
        return CORDON_ETOOBIG;
    engagement_set_brief(e, inc);
    copy(e->ack_url_template, sizeof(e->ack_url_template), ack_url_template);
    e->code_digits = code_digits;
    return 0;
}

/* ---- lookups ------------------------------------------------------------------ */

static struct engagement_run *run_find(struct engagement *e, const char *alias)
{
    size_t i;

    for (i = 0; i < e->nruns; i++)
        if (!strcmp(e->runs[i].contact, alias))
            return &e->runs[i];
    return NULL;
}

static const struct engagement_ack *ack_of(const struct engagement *e, const char *contact)
{
    size_t i;

    for (i = 0; i < e->nacks; i++)
        if (!strcmp(e->acks[i].contact, contact))
            return &e->acks[i];
    return NULL;
}

static struct engagement_page *page_find(const struct engagement *e, const char *id)
{
    size_t i;

    for (i = 0; i < e->npages; i++)
        if (!strcmp(e->pages[i].id, id))
            return &e->pages[i];
    return NULL;
}

const struct engagement_page *engagement_page_by_code(const struct engagement *e, const char *code)
{
    size_t i;

    if (!code || !*code)
        return NULL;
    for (i = 0; i < e->npages; i++)
        if (e->pages[i].accept_code[0] && !strcmp(e->pages[i].accept_code, code))
            return &e->pages[i];
    return NULL;
}

const struct engagement_page *engagement_page_by_token(const struct engagement *e,
                                                       const char *token)
{
    size_t i;

    if (!token || strlen(token) != ENGAGEMENT_TOKEN_MAX)
        return NULL;
    for (i = 0; i < e->npages; i++) {
        const char *t = e->pages[i].link_token;
        unsigned char diff = 0;
        size_t k;
        if (!t[0])
            continue;
        for (k = 0; k < ENGAGEMENT_TOKEN_MAX; k++)
            diff |= (unsigned char)(t[k] ^ token[k]);
        if (!diff)
            return &e->pages[i];
    }
    return NULL;
}

bool engagement_page_live(const struct engagement *e, const char *page_id)
{
    const struct engagement_page *p = page_find(e, page_id);

    if (!p || p->state != ENGAGEMENT_PAGE_SENT || e->acknowledged || ack_of(e, p->contact))
        return false;
    return p->run < e->nruns && e->runs[p->run].state != ENGAGEMENT_RUN_STOPPED;
}

int64_t engagement_next_wake(const struct engagement *e)
{
    int64_t best = -1;
    size_t i;

    for (i = 0; i < e->npages; i++)
        if (e->pages[i].state == ENGAGEMENT_PAGE_PENDING && (best < 0 || e->pages[i].due_ms < best))
            best = e->pages[i].due_ms;
    for (i = 0; i < e->nruns; i++)
        if (e->runs[i].state == ENGAGEMENT_RUN_ACTIVE && e->runs[i].timer &&
            (best < 0 || e->runs[i].stage_end_ms < best))
            best = e->runs[i].stage_end_ms;
    return best;
}

static int push_wake(struct engagement *e, struct engagement_effects *fx)
{
    struct engagement_effect *x = fx_push(fx, ENGAGEMENT_EFFECT_WAKE);
    char key[INCIDENT_ID_MAX + 16];

    if (!x)
        return CORDON_ENOMEM;
    x->due_ms = engagement_next_wake(e);
    snprintf(key, sizeof(key), "engagement:%s", e->brief.incident_id);
    x->key = xstrdup(key);
    return x->key ? 0 : CORDON_ENOMEM;
}

/* ---- scheduling ------------------------------------------------------------------- */

static int page_add(struct engagement *e, size_t run, int stage, const char *contact, int pstage,
                    const char *channel, int attempt, int64_t due)
{
    struct engagement_page *p;
    char id[ENGAGEMENT_PAGE_ID_MAX + 1];
    int w;

    w = snprintf(id, sizeof(id), "p/%zu/%d/%s/%d/%s/%d", run, stage + 1, contact, pstage + 1,
                 channel, attempt);
    if (w < 0 || (size_t)w >= sizeof(id))
        return CORDON_ETOOBIG;
    if (page_find(e, id))
        return 0; /* already scheduled: engaging is idempotent */
    if (e->npages >= ENGAGEMENT_PAGES_MAX)
        return CORDON_ETOOBIG;
    if (e->npages == e->apages) {
        size_t na = e->apages ? e->apages * 2 : 16;
        struct engagement_page *np = realloc(e->pages, na * sizeof(*np));
        if (!np)
            return CORDON_ENOMEM;
        e->pages = np;
        e->apages = na;
    }
    p = &e->pages[e->npages++];
    memset(p, 0, sizeof(*p));
    memcpy(p->id, id, (size_t)w + 1);
    p->run = run;
    p->stage = stage;
    p->pstage = pstage;
    p->attempt = attempt;
    copy(p->contact, sizeof(p->contact), contact);
    copy(p->channel, sizeof(p->channel), channel);
    p->due_ms = due;
    p->state = ENGAGEMENT_PAGE_PENDING;
    return 0;
}

/* Schedule the pages of personal contact c engaged at t0 by stage `stage` of run ri. */
static int schedule_contact(struct engagement *e, size_t ri, int stage, const struct contact *c,
                            int64_t t0)
{
    int64_t offset = 0;
    size_t j, k;
    int a, r;

    for (j = 0; j < c->nstages; j++) {
        const struct contact_stage *ps = &c->stages[j];
        for (k = 0; k < ps->ntargets; k++) {
            const struct contact_target *t = &ps->targets[k];
            for (a = 0; a <= CONTACT_RETRIES_MAX; a++) {
                int64_t at = (int64_t)a * t->retry_interval_ms;
                if (a > 0 && (t->retry_interval_ms <= 0 || at >= ps->duration_ms))
                    break;
                r = page_add(e, ri, stage, c->alias, (int)j, t->name, a, t0 + offset + at);
                if (r)
                    return r;
            }
        }
        offset += ps->duration_ms;
    }
    return 0;
}

static int engage_stage(struct engagement *e, size_t ri, int k, const struct contact_book *book,
                        int64_t at, struct engagement_effects *fx)
{
    struct engagement_run *run = &e->runs[ri];
    const struct contact_stage *st = &run->stages[k];
    json_t *contacts = json_array();
    size_t i;
    int r = 0;

    run->engaged |= 1u << k;
    run->stage = k;
    run->timer = true;
    run->stage_end_ms = at + st->duration_ms;
    for (i = 0; i < st->ntargets && !r; i++) {
        const struct contact *c = contact_book_find(book, st->targets[i].name);
        if (!c || c->type != CONTACT_PERSONAL) {
            r = timeline(
                fx, INCIDENT_EVENT_ENGAGEMENT,
                json_pack("{ss ss si ss}", "engagement", run->contact, "contact",
                          st->targets[i].name, "stage", k + 1, "result",
                          c ? "skipped: not a personal contact" : "skipped: contact not found"));
            continue;
        }
        if (ack_of(e, c->alias))
            continue; /* already acknowledged: never paged again */
        r = schedule_contact(e, ri, k, c, at);
        if (r == CORDON_ETOOBIG)
            r = timeline(fx, INCIDENT_EVENT_ENGAGEMENT,
                         json_pack("{ss ss si ss}", "engagement", run->contact, "contact", c->alias,
                                   "stage", k + 1, "result",
                                   "page limit reached; later pages dropped"));
        json_array_append_new(contacts, json_string(c->alias));
    }
    if (r) {
        json_decref(contacts);
        return r;
    }
    return timeline(fx, INCIDENT_EVENT_ENGAGEMENT,
                    json_pack("{ss si si so sI}", "engagement", run->contact, "stage", k + 1,
                              "stages", (int)run->nstages, "contacts", contacts, "stageEndsMs",
                              (json_int_t)run->stage_end_ms));
}

static void cancel_pages(struct engagement *e, long run, const char *contact)
{
    size_t i;

    for (i = 0; i < e->npages; i++) {
        struct engagement_page *p = &e->pages[i];
        if (p->state != ENGAGEMENT_PAGE_PENDING)
            continue;
        if (run >= 0 && p->run != (size_t)run)
            continue;
        if (contact && strcmp(p->contact, contact))
            continue;
        p->state = ENGAGEMENT_PAGE_CANCELLED;
    }
}

/* ---- messages ---------------------------------------------------------------------- */

static const char *impact_label(int impact)
{
    static const char *const l[] = { "Unknown", "Critical", "High", "Medium", "Low", "No impact" };
    return impact >= 1 && impact <= 5 ? l[impact] : l[0];
}

static char *ack_url(const struct engagement *e, const char *token)
{
    const char *t = e->ack_url_template, *at;
    struct buf b;

    if (!t[0])
        return xstrdup("");
    buf_init(&b, ENGAGEMENT_URL_MAX + ENGAGEMENT_TOKEN_MAX + 1);
    at = strstr(t, "{{token}}");
    if (at) {
        buf_add(&b, t, (size_t)(at - t));
        buf_adds(&b, token);
        buf_adds(&b, at + 9);
    } else {
        buf_adds(&b, t);
        buf_adds(&b, token);
    }
    if (!b.ptr)
        return xstrdup("");
    return b.ptr; /* owned by the caller */
}

static int render_page(const struct engagement *e, const struct engagement_page *p,
                       const struct contact_channel *ch, struct engagement_effect *x)
{
    const struct engagement_brief *b = &e->brief;
    struct buf body, sms, subj;
    int r = 0;

    x->ack_url = ack_url(e, p->link_token);
    if (!x->ack_url)
        return CORDON_ENOMEM;
    buf_init(&subj, 400);
    buf_init(&body, 16384);
    buf_init(&sms, ENGAGEMENT_SMS_MAX);
    r |= buf_printf(&subj, "[Cordon] Impact %d (%s): %s", b->impact, impact_label(b->impact),
                    b->title);
    r |= buf_printf(&body, "Incident: %s\nImpact: %d (%s)\nIncident id: %s\n\n%s%s", b->title,
                    b->impact, impact_label(b->impact), b->incident_id, b->summary,
                    b->summary[0] ? "\n\n" : "");
    if (b->links[0])
        r |= buf_printf(&body, "Related items:\n%s\n", b->links);
    if (x->ack_url[0])
        r |= buf_printf(&body, "Acknowledge: %s\n", x->ack_url);
    r |= buf_printf(&body,
                    "Accept code: %s (reply with it by SMS, enter it in the console, or run "
                    "`cordon ack %s`)\n\nYou are paged as %s on channel %s, stage %d, attempt "
                    "%d.\n",
                    p->accept_code, p->accept_code, p->contact, p->channel, p->stage + 1,
                    p->attempt + 1);
    /* SMS: code first, so truncation never loses it */
    if (buf_printf(&sms, "Cordon ack code %s. Impact %d: %s", p->accept_code, b->impact,
                   b->title) == CORDON_ETOOBIG) {
        char tmp[ENGAGEMENT_SMS_MAX + 1];
        snprintf(tmp, sizeof(tmp), "Cordon ack code %s. Impact %d: %s", p->accept_code, b->impact,
                 b->title);
        buf_reset(&sms);
        r |= buf_adds(&sms, tmp);
    } else if (x->ack_url[0] && sms.len + 1 + strlen(x->ack_url) <= ENGAGEMENT_SMS_MAX) {
        r |= buf_printf(&sms, " %s", x->ack_url);
    }
    if (r) {
        buf_free(&subj);
        buf_free(&body);
        buf_free(&sms);
        return CORDON_ENOMEM;
    }
    x->subject = subj.ptr;
    x->body = body.ptr;
    x->short_text = sms.ptr;
    if (ch->type == CONTACT_CHANNEL_VOICE) {
        struct buf v;
        size_t k;
        buf_init(&v, 2048);
        r = buf_printf(&v,
                       "Cordon incident. Impact %d, %s: %.300s. Press 1 to acknowledge, or "
                       "enter the code",
                       b->impact, impact_label(b->impact), b->title);
        for (k = 0; !r && p->accept_code[k]; k++)
            r = buf_printf(&v, " %c", p->accept_code[k]);
        if (!r)
            r = buf_addc(&v, '.');
        if (r) {
            buf_free(&v);
            return CORDON_ENOMEM;
        }
        x->voice_text = v.ptr;
    }
    if (ch->type == CONTACT_CHANNEL_WEBHOOK) {
        json_t *j;
        if (ch->format == CONTACT_WEBHOOK_GENERIC)
            j = json_pack("{ss ss ss si ss ss ss ss si si}", "type", "page", "incidentId",
                          b->incident_id, "title", b->title, "impact", b->impact, "summary",
                          b->summary, "acceptCode", p->accept_code, "ackUrl", x->ack_url, "contact",
                          p->contact, "stage", p->stage + 1, "attempt", p->attempt + 1);
        else /* slack and mattermost incoming webhooks take {"text": markdown} */
            j = json_pack("{ss}", "text", x->body);
        x->webhook_json = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        if (!x->webhook_json)
            return CORDON_ENOMEM;
    }
    return 0;
}

static int random_hex(const struct incident_random *rnd, char *out, size_t nbytes)
{
    uint8_t b[64];
    size_t i;

    if (nbytes > sizeof(b) || !rnd || !rnd->fill || rnd->fill(rnd->ctx, b, nbytes))
        return CORDON_EINVAL;
    for (i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

static int new_code(const struct engagement *e, const struct incident_random *rnd, char *out)
{
    char code[CONTACT_CODE_MAX + 1];
    int tries, r;

    for (tries = 0; tries < 16; tries++) {
        uint8_t b[64];
        if (!rnd || !rnd->fill || rnd->fill(rnd->ctx, b, sizeof(b)))
            return CORDON_EINVAL;
        r = contact_code_from_random(b, sizeof(b), e->code_digits, code);
        if (r)
            continue;
        if (!engagement_page_by_code(e, code)) { /* unique within the incident */
            memcpy(out, code, sizeof(code));
            return 0;
        }
    }
    return CORDON_EINVAL;
}

/* Emit (or skip) a due page. */
static int fire_page(struct engagement *e, struct engagement_page *p,
                     const struct contact_book *book, int64_t now,
                     const struct incident_random *rnd, struct engagement_effects *fx)
{
    const struct contact *c = contact_book_find(book, p->contact);
    const struct contact_channel *ch = c ? contact_channel_find(c, p->channel) : NULL;
    struct engagement_effect *x;
    char key[INCIDENT_ID_MAX + ENGAGEMENT_PAGE_ID_MAX + 2];
    int r;

    if (!ch || !ch->activated) {
        p->state = ENGAGEMENT_PAGE_SKIPPED;
        return timeline(fx, INCIDENT_EVENT_PAGE,
                        json_pack("{ss ss ss si si ss}", "pageId", p->id, "contact", p->contact,
                                  "channel", p->channel, "stage", p->stage + 1, "attempt",
                                  p->attempt + 1, "result",
                                  !c    ? "skipped: contact not found"
                                  : !ch ? "skipped: channel not found"
                                        : "skipped: channel not activated"));
    }
    if ((r = new_code(e, rnd, p->accept_code)) ||
        (r = random_hex(rnd, p->link_token, ENGAGEMENT_TOKEN_BYTES)))
        return r;
    p->state = ENGAGEMENT_PAGE_SENT;
    p->sent_ms = now;
    x = fx_push(fx, ENGAGEMENT_EFFECT_PAGE);
    if (!x)
        return CORDON_ENOMEM;
    snprintf(key, sizeof(key), "%s#%s", e->brief.incident_id, p->id);
    x->page_id = xstrdup(p->id);
    x->idempotency_key = xstrdup(key);
    x->incident_id = xstrdup(e->brief.incident_id);
    x->contact = xstrdup(p->contact);
    x->channel = xstrdup(p->channel);
    x->address = xstrdup(ch->address);
    x->channel_type = ch->type;
    x->webhook_format = ch->format;
    x->stage = p->stage + 1;
    x->pstage = p->pstage + 1;
    x->attempt = p->attempt;
    memcpy(x->accept_code, p->accept_code, sizeof(x->accept_code));
    memcpy(x->link_token, p->link_token, sizeof(x->link_token));
    if (!x->page_id || !x->idempotency_key || !x->incident_id || !x->contact || !x->channel ||
        !x->address)
        return CORDON_ENOMEM;
    if ((r = render_page(e, p, ch, x)))
        return r;
    return timeline(fx, INCIDENT_EVENT_PAGE,
                    json_pack("{ss ss ss ss si si ss}", "pageId", p->id, "contact", p->contact,
                              "channel", p->channel, "channelType",
                              contact_channel_type_name(ch->type), "stage", p->stage + 1, "attempt",
                              p->attempt + 1, "result", "sent"));
}

/* A later attempt of the same channel in the same stage is also due: merge. */
static bool superseded(const struct engagement *e, const struct engagement_page *p, int64_t now)
{
    size_t i;

    for (i = 0; i < e->npages; i++) {
        const struct engagement_page *q = &e->pages[i];
        if (q != p && q->state == ENGAGEMENT_PAGE_PENDING && q->due_ms <= now && q->run == p->run &&
            q->stage == p->stage && q->pstage == p->pstage && q->attempt > p->attempt &&
            !strcmp(q->contact, p->contact) && !strcmp(q->channel, p->channel))
            return true;
    }
    return false;
}

static int stage_over(struct engagement *e, size_t ri, const struct contact_book *book,
                      struct engagement_effects *fx)
{
    struct engagement_run *run = &e->runs[ri];
    int64_t at = run->stage_end_ms;

    size_t k;

    /* the next stage not engaged yet (stages engaged by hand are skipped) */
    for (k = (size_t)run->stage + 1; k < run->nstages; k++)
        if (!(run->engaged & (1u << k)))
            return engage_stage(e, ri, (int)k, book, at, fx);
    /* final stage over */
    run->timer = false;
    run->state = ENGAGEMENT_RUN_EXHAUSTED;
    run->stopped_ms = at;
    cancel_pages(e, (long)ri, NULL);
    return timeline(fx, INCIDENT_EVENT_NOT_ACKED,
                    json_pack("{ss si ss}", "engagement", run->contact, "stages", (int)run->nstages,
                              "result",
                              "not acknowledged; engagement stays open without further pages"));
}

static int advance(struct engagement *e, const struct contact_book *book, int64_t now,
                   const struct incident_random *rnd, struct engagement_effects *fx)
{
    for (;;) {
        struct engagement_page *pg = NULL;
        long ri = -1;
        size_t i;
        int r;

        for (i = 0; i < e->npages; i++) {
            struct engagement_page *p = &e->pages[i];
            if (p->state == ENGAGEMENT_PAGE_PENDING && p->due_ms <= now &&
                (!pg || p->due_ms < pg->due_ms))
                pg = p;
        }
        for (i = 0; i < e->nruns; i++) {
            const struct engagement_run *run = &e->runs[i];
            if (run->state == ENGAGEMENT_RUN_ACTIVE && run->timer && run->stage_end_ms <= now &&
                (ri < 0 || run->stage_end_ms < e->runs[ri].stage_end_ms))
                ri = (long)i;
        }
        if (pg && (ri < 0 || pg->due_ms <= e->runs[ri].stage_end_ms)) {
            if (pg->run >= e->nruns || e->runs[pg->run].state != ENGAGEMENT_RUN_ACTIVE ||
                ack_of(e, pg->contact) || e->acknowledged)
                pg->state = ENGAGEMENT_PAGE_CANCELLED;
            else if (superseded(e, pg, now))
                pg->state = ENGAGEMENT_PAGE_COALESCED;
            else if ((r = fire_page(e, pg, book, now, rnd, fx)))
                return r;
            continue;
        }
        if (ri >= 0) {
            if ((r = stage_over(e, (size_t)ri, book, fx)))
                return r;
            continue;
        }
        return 0;
    }
}

int engagement_tick(struct engagement *e, const struct contact_book *book, int64_t now_ms,
                    const struct incident_random *rnd, struct engagement_effects *fx)
{
    int r = advance(e, book, now_ms, rnd, fx);

    if (r)
        return r;
    return push_wake(e, fx);
}

static bool stopped_all(const struct engagement *e)
{
    size_t i;

    if (e->acknowledged)
        return true;
    for (i = 0; i < e->nruns; i++)
        if (e->runs[i].state == ENGAGEMENT_RUN_STOPPED)
            return true;
    return false;
}

int engagement_start(struct engagement *e, const char *alias, const struct contact_book *book,
                     int64_t now_ms, const struct incident_random *rnd,
                     struct engagement_effects *fx)
{
    const struct contact *c = alias ? contact_book_find(book, alias) : NULL;
    struct engagement_run *run;
    size_t ri;
    int r;

    if (!c)
        return CORDON_ENOTFOUND;
    if (run_find(e, alias))
        return CORDON_EEXIST;
    if (stopped_all(e))
        return CORDON_ESTATE;
    if (e->nruns >= ENGAGEMENT_RUNS_MAX)
        return CORDON_ETOOBIG;
    ri = e->nruns;
    run = &e->runs[ri];
    memset(run, 0, sizeof(*run));
    copy(run->contact, sizeof(run->contact), alias);
    run->state = ENGAGEMENT_RUN_ACTIVE;
    run->stage = -1;
    run->started_ms = now_ms;
    if (c->type == CONTACT_ESCALATION) {
        run->escalation = true;
        run->nstages = c->nstages;
        memcpy(run->stages, c->stages, sizeof(c->stages));
    } else {
        /* a personal contact engaged directly: one stage, itself, essential,
         * lasting as long as its own plan */
        size_t j;
        run->nstages = 1;
        run->stages[0].ntargets = 1;
        copy(run->stages[0].targets[0].name, sizeof(run->stages[0].targets[0].name), alias);
        run->stages[0].targets[0].essential = true;
        for (j = 0; j < c->nstages; j++)
            run->stages[0].duration_ms += c->stages[j].duration_ms;
    }
    if (run->nstages == 0)
        return CORDON_EINVAL;
    e->nruns++;
    if ((r = timeline(fx, INCIDENT_EVENT_ENGAGEMENT,
                      json_pack("{ss ss ss}", "engagement", alias, "type",
                                contact_type_name(c->type), "result", "started"))))
        return r;
    if ((r = engage_stage(e, ri, 0, book, now_ms, fx)))
        return r;
    return engagement_tick(e, book, now_ms, rnd, fx);
}

/* ---- acknowledgement ------------------------------------------------------------------- */

/* Is an ack by `contact` essential for run r? */
static bool essential_in(const struct engagement_run *r, const char *contact)
{
    bool any_essential = false, present = false;
    size_t s, t;

    for (s = 0; s < r->nstages; s++) {
        for (t = 0; t < r->stages[s].ntargets; t++) {
            const struct contact_target *x = &r->stages[s].targets[t];
            any_essential |= x->essential;
            if (!strcmp(x->name, contact)) {
                present = true;
                if (x->essential)
                    return true;
            }
        }
    }
    return present && !any_essential;
}

static int ack(struct engagement *e, const char *contact, const struct engagement_page *pg,
               const char *channel, enum engagement_ack_via via, const char *who, const char *note,
               int64_t now, struct engagement_effects *fx, bool *essential_out)
{
    struct engagement_ack *a;
    bool essential = false, first = false, engaged = false;
    size_t i;
    int r;

    if (essential_out)
        *essential_out = false;
    for (i = 0; i < e->npages; i++)
        if (!strcmp(e->pages[i].contact, contact))
            engaged = true;
    for (i = 0; i < e->nruns && !engaged; i++) { /* a target not paged yet may step in */
        size_t s, t;
        for (s = 0; s < e->runs[i].nstages; s++)
            for (t = 0; t < e->runs[i].stages[s].ntargets; t++)
                if (!strcmp(e->runs[i].stages[s].targets[t].name, contact))
                    engaged = true;
    }
    if (!engaged)
        return CORDON_ENOTFOUND;
    if (ack_of(e, contact))
        return CORDON_EEXIST;
    if (e->nacks >= ENGAGEMENT_ACKS_MAX)
        return CORDON_ETOOBIG;
    if (note && strlen(note) > ENGAGEMENT_NOTE_MAX)
        return CORDON_ETOOBIG;
    for (i = 0; i < e->nruns; i++)
        if (essential_in(&e->runs[i], contact))
            essential = true;
    a = &e->acks[e->nacks++];
    memset(a, 0, sizeof(*a));
    copy(a->contact, sizeof(a->contact), contact);
    copy(a->channel, sizeof(a->channel), pg ? pg->channel : channel);
    copy(a->page_id, sizeof(a->page_id), pg ? pg->id : "");
    copy(a->who, sizeof(a->who), who ? who : contact);
    copy(a->note, sizeof(a->note), note);
    a->via = via;
    a->essential = essential;
    a->time_ms = now;
    /* every pending page and retry of this contact, all channels, all runs */
    cancel_pages(e, -1, contact);
    if (essential) {
        first = !e->acknowledged;
        e->acknowledged = true;
        if (first)
            e->acknowledged_ms = now;
        cancel_pages(e, -1, NULL);
        for (i = 0; i < e->nruns; i++) {
            if (e->runs[i].state == ENGAGEMENT_RUN_ACTIVE ||
                e->runs[i].state == ENGAGEMENT_RUN_EXHAUSTED) {
                e->runs[i].state = ENGAGEMENT_RUN_ACKNOWLEDGED;
                e->runs[i].timer = false;
                e->runs[i].stopped_ms = now;
            }
        }
    }
    if ((r = timeline(fx, INCIDENT_EVENT_ACK,
                      json_pack("{ss ss ss ss ss ss sb}", "contact", a->contact, "channel",
                                a->channel, "pageId", a->page_id, "via", via_names[via], "who",
                                a->who, "note", a->note, "essential", essential))))
        return r;
    if (first) {
        struct engagement_effect *x = fx_push(fx, ENGAGEMENT_EFFECT_ACKNOWLEDGED);
        if (!x)
            return CORDON_ENOMEM;
        x->contact = xstrdup(a->contact);
        x->channel = xstrdup(a->channel);
        x->incident_id = xstrdup(e->brief.incident_id);
        x->time_ms = now;
        if (!x->contact || !x->channel || !x->incident_id)
            return CORDON_ENOMEM;
    }
    if (essential_out)
        *essential_out = essential;
    return push_wake(e, fx);
}

int engagement_ack_code(struct engagement *e, const char *code, const char *note, int64_t now_ms,
                        struct engagement_effects *fx, bool *essential_out)
{
    const struct engagement_page *p = engagement_page_by_code(e, code);

    if (!p)
        return CORDON_ENOTFOUND;
    return ack(e, p->contact, p, NULL, ENGAGEMENT_ACK_CODE, NULL, note, now_ms, fx, essential_out);
}

int engagement_ack_token(struct engagement *e, const char *token, const char *note, int64_t now_ms,
                         struct engagement_effects *fx, bool *essential_out)
{
    const struct engagement_page *p = engagement_page_by_token(e, token);

    if (!p)
        return CORDON_ENOTFOUND;
    return ack(e, p->contact, p, NULL, ENGAGEMENT_ACK_LINK, NULL, note, now_ms, fx, essential_out);
}

int engagement_ack_contact(struct engagement *e, const char *contact, const char *channel,
                           const char *who, const char *note, int64_t now_ms,
                           struct engagement_effects *fx, bool *essential_out)
{
    if (!contact)
        return CORDON_EINVAL;
    return ack(e, contact, NULL, channel, ENGAGEMENT_ACK_API, who, note, now_ms, fx, essential_out);
}

/* ---- manual control ---------------------------------------------------------------------- */

int engagement_engage_stage(struct engagement *e, const char *alias, int stage,
                            const struct contact_book *book, int64_t now_ms,
                            const struct incident_random *rnd, struct engagement_effects *fx)
{
    struct engagement_run *run = alias ? run_find(e, alias) : NULL;
    int r;

    if (!run)
        return CORDON_ENOTFOUND;
    if (run->state != ENGAGEMENT_RUN_ACTIVE)
        return CORDON_ESTATE;
    if (stage < 1 || (size_t)stage > run->nstages)
        return CORDON_ERANGE;
    if (run->engaged & (1u << (stage - 1)))
        return CORDON_EEXIST;
    /* fire what was already due first, so the order of events stays true */
    if ((r = advance(e, book, now_ms, rnd, fx)))
        return r;
    if (run->state != ENGAGEMENT_RUN_ACTIVE)
        return CORDON_ESTATE;
    if (run->engaged & (1u << (stage - 1)))
        return CORDON_EEXIST;
    if ((r = timeline(fx, INCIDENT_EVENT_ENGAGEMENT,
                      json_pack("{ss si ss}", "engagement", run->contact, "stage", stage, "result",
                                "engaged by hand"))))
        return r;
    if ((r = engage_stage(e, (size_t)(run - e->runs), stage - 1, book, now_ms, fx)))
        return r;
    return engagement_tick(e, book, now_ms, rnd, fx);
}

int engagement_escalate(struct engagement *e, const char *alias, const struct contact_book *book,
                        int64_t now_ms, const struct incident_random *rnd,
                        struct engagement_effects *fx)
{
    struct engagement_run *run = alias ? run_find(e, alias) : NULL;

    if (!run)
        return CORDON_ENOTFOUND;
    if (run->state != ENGAGEMENT_RUN_ACTIVE || (size_t)run->stage + 1 >= run->nstages)
        return CORDON_ESTATE;
    return engagement_engage_stage(e, alias, run->stage + 2, book, now_ms, rnd, fx);
}

int engagement_stop(struct engagement *e, const char *reason, int64_t now_ms,
                    struct engagement_effects *fx)
{
    size_t i;
    int r;

    cancel_pages(e, -1, NULL);
    for (i = 0; i < e->nruns; i++) {
        struct engagement_run *run = &e->runs[i];
        if (run->state == ENGAGEMENT_RUN_ACTIVE || run->state == ENGAGEMENT_RUN_EXHAUSTED) {
            run->state = ENGAGEMENT_RUN_STOPPED;
            run->timer = false;
            run->stopped_ms = now_ms;
            if ((r = timeline(fx, INCIDENT_EVENT_ENGAGEMENT,
                              json_pack("{ss ss ss}", "engagement", run->contact, "result",
                                        "stopped", "reason", reason ? reason : ""))))
                return r;
        }
    }
    return push_wake(e, fx);
}

/* ---- JSON ------------------------------------------------------------------------------- */

static json_t *stages_json(const struct contact_stage *stages, size_t n)
{
    json_t *a = json_array();
    size_t i, j;

    for (i = 0; a && i < n; i++) {
        json_t *ts = json_array();
        for (j = 0; j < stages[i].ntargets; j++) {
            const struct contact_target *t = &stages[i].targets[j];
            json_array_append_new(
                ts, json_pack("{ss sb}", "contact", t->name, "isEssential", t->essential));
        }
        json_array_append_new(a, json_pack("{sI so}", "durationMs",
                                           (json_int_t)stages[i].duration_ms, "targets", ts));
    }
    return a;
}

json_t *engagement_to_json(const struct engagement *e)
{
    const struct engagement_brief *b = &e->brief;
    json_t *o, *runs = json_array(), *pages = json_array(), *acks = json_array();
    size_t i;

    for (i = 0; i < e->nruns; i++) {
        const struct engagement_run *r = &e->runs[i];
        json_array_append_new(
            runs, json_pack("{ss sb ss si sI sI sI sb sI so}", "contact", r->contact, "escalation",
                            r->escalation, "state", engagement_run_state_name(r->state), "stage",
                            r->stage, "engaged", (json_int_t)r->engaged, "startedMs",
                            (json_int_t)r->started_ms, "stoppedMs", (json_int_t)r->stopped_ms,
                            "timer", r->timer, "stageEndMs", (json_int_t)r->stage_end_ms, "stages",
                            stages_json(r->stages, r->nstages)));
    }
    for (i = 0; i < e->npages; i++) {
        const struct engagement_page *p = &e->pages[i];
        json_array_append_new(
            pages, json_pack("{ss sI si si si ss ss sI sI ss ss ss}", "id", p->id, "run",
                             (json_int_t)p->run, "stage", p->stage, "pstage", p->pstage, "attempt",
                             p->attempt, "contact", p->contact, "channel", p->channel, "dueMs",
                             (json_int_t)p->due_ms, "sentMs", (json_int_t)p->sent_ms, "state",
                             engagement_page_state_name(p->state), "acceptCode", p->accept_code,
                             "linkToken", p->link_token));
    }
    for (i = 0; i < e->nacks; i++) {
        const struct engagement_ack *a = &e->acks[i];
        json_array_append_new(acks,
                              json_pack("{ss ss ss ss ss ss sb sI}", "contact", a->contact,
                                        "channel", a->channel, "pageId", a->page_id, "who", a->who,
                                        "note", a->note, "via", via_names[a->via], "essential",
                                        a->essential, "timeMs", (json_int_t)a->time_ms));
    }
    o = json_pack("{s{ss ss si ss ss} ss si sb sI so so so}", "incident", "id", b->incident_id,
                  "title", b->title, "impact", b->impact, "summary", b->summary, "links", b->links,
                  "ackUrlTemplate", e->ack_url_template, "codeDigits", e->code_digits,
                  "acknowledged", e->acknowledged, "acknowledgedMs", (json_int_t)e->acknowledged_ms,
                  "runs", runs, "pages", pages, "acks", acks);
    return o;
}

json_t *engagement_to_public_json(const struct engagement *e)
{
    json_t *o = engagement_to_json(e), *pages, *pg;
    size_t i;

    if (!o)
        return NULL;
    pages = json_object_get(o, "pages");
    json_array_foreach(pages, i, pg)
    {
        json_object_del(pg, "acceptCode");
        json_object_del(pg, "linkToken");
    }
    json_object_del(o, "ackUrlTemplate");
    return o;
}

static int bad(struct cordon_diag *d, const char *what, size_t i)
{
    cordon_diag_set(d, "InvalidState", 0, 0, 0, "engagement state: %s[%zu]: missing or invalid",
                    what, i);
    return CORDON_EINVAL;
}

static int str_to(const json_t *o, const char *k, char *out, size_t n)
{
    const json_t *v = json_object_get(o, k);

    if (!json_is_string(v) || json_string_length(v) >= n)
        return -1;
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int enum_of(const json_t *o, const char *k, const char *const *names)
{
    const json_t *v = json_object_get(o, k);
    int i;

    for (i = 0; json_is_string(v) && names[i]; i++)
        if (!strcmp(names[i], json_string_value(v)))
            return i;
    return -1;
}

/* Stored times and durations stay far from INT64 limits, so sums cannot overflow. */
#define STATE_TIME_MAX (INT64_C(1) << 56)

static int64_t int_of(const json_t *o, const char *k)
{
    int64_t v = (int64_t)json_integer_value(json_object_get(o, k));

    return v > STATE_TIME_MAX ? STATE_TIME_MAX : v < -STATE_TIME_MAX ? -STATE_TIME_MAX : v;
}

int engagement_from_json(struct engagement *e, const json_t *v, struct cordon_diag *d)
{
    const json_t *b = json_object_get(v, "incident"), *a, *x;
    size_t i, j, k;

    engagement_free(e);
    engagement_init(e);
    if (!json_is_object(v) || str_to(b, "id", e->brief.incident_id, sizeof(e->brief.incident_id)) ||
        str_to(b, "title", e->brief.title, sizeof(e->brief.title)) ||
        str_to(b, "summary", e->brief.summary, sizeof(e->brief.summary)) ||
        str_to(b, "links", e->brief.links, sizeof(e->brief.links)) ||
        str_to(v, "ackUrlTemplate", e->ack_url_template, sizeof(e->ack_url_template)))
        return bad(d, "incident", 0);
    e->brief.impact = (int)int_of(b, "impact");
    e->code_digits = (int)int_of(v, "codeDigits");
    if (e->code_digits < CONTACT_CODE_MIN || e->code_digits > CONTACT_CODE_MAX)
        return bad(d, "codeDigits", 0);
    e->acknowledged = json_is_true(json_object_get(v, "acknowledged"));
    e->acknowledged_ms = int_of(v, "acknowledgedMs");
    a = json_object_get(v, "runs");
    if (!json_is_array(a) || json_array_size(a) > ENGAGEMENT_RUNS_MAX)
        return bad(d, "runs", 0);
    for (i = 0; i < json_array_size(a); i++) {
        const json_t *o = json_array_get(a, i), *st = json_object_get(o, "stages");
        struct engagement_run *r = &e->runs[i];
        int s = enum_of(o, "state", run_state_names);
        if (s < 0 || str_to(o, "contact", r->contact, sizeof(r->contact)) || !json_is_array(st) ||
            json_array_size(st) == 0 || json_array_size(st) > CONTACT_STAGES_MAX)
            return bad(d, "runs", i);
        r->state = (enum engagement_run_state)s;
        r->escalation = json_is_true(json_object_get(o, "escalation"));
        r->stage = (int)int_of(o, "stage");
        r->engaged = (uint32_t)int_of(o, "engaged");
        r->started_ms = int_of(o, "startedMs");
        r->stopped_ms = int_of(o, "stoppedMs");
        r->timer = json_is_true(json_object_get(o, "timer"));
        r->stage_end_ms = int_of(o, "stageEndMs");
        r->nstages = json_array_size(st);
        if (r->stage < -1 || r->stage >= (int)r->nstages)
            return bad(d, "runs", i);
        for (j = 0; j < r->nstages; j++) {
            const json_t *so = json_array_get(st, j), *ts = json_object_get(so, "targets");
            r->stages[j].duration_ms = int_of(so, "durationMs");
            if (r->stages[j].duration_ms < 0 ||
                r->stages[j].duration_ms > (int64_t)CONTACT_STAGES_MAX * CONTACT_STAGE_MAX_MS)
                return bad(d, "runs.stages", j);
            if (!json_is_array(ts) || json_array_size(ts) > CONTACT_TARGETS_MAX)
                return bad(d, "runs.stages", j);
            r->stages[j].ntargets = json_array_size(ts);
            for (k = 0; k < r->stages[j].ntargets; k++) {
                const json_t *t = json_array_get(ts, k);
                if (str_to(t, "contact", r->stages[j].targets[k].name,
                           sizeof(r->stages[j].targets[k].name)))
                    return bad(d, "runs.stages.targets", k);
                r->stages[j].targets[k].essential = json_is_true(json_object_get(t, "isEssential"));
            }
        }
        e->nruns++;
    }
    a = json_object_get(v, "pages");
    if (!json_is_array(a) || json_array_size(a) > ENGAGEMENT_PAGES_MAX)
        return bad(d, "pages", 0);
    e->apages = json_array_size(a) + 1;
    e->pages = calloc(e->apages, sizeof(*e->pages));
    if (!e->pages)
        return CORDON_ENOMEM;
    for (i = 0; i < json_array_size(a); i++) {
        const json_t *o = json_array_get(a, i);
        struct engagement_page *p = &e->pages[i];
        int s = enum_of(o, "state", page_state_names);
        if (s < 0 || str_to(o, "id", p->id, sizeof(p->id)) ||
            str_to(o, "contact", p->contact, sizeof(p->contact)) ||
            str_to(o, "channel", p->channel, sizeof(p->channel)) ||
            str_to(o, "acceptCode", p->accept_code, sizeof(p->accept_code)) ||
            str_to(o, "linkToken", p->link_token, sizeof(p->link_token)))
            return bad(d, "pages", i);
        p->state = (enum engagement_page_state)s;
        p->run = (size_t)int_of(o, "run");
        p->stage = (int)int_of(o, "stage");
        p->pstage = (int)int_of(o, "pstage");
        p->attempt = (int)int_of(o, "attempt");
        p->due_ms = int_of(o, "dueMs");
        p->sent_ms = int_of(o, "sentMs");
        if (p->run >= e->nruns)
            return bad(d, "pages", i);
        e->npages++;
    }
    a = json_object_get(v, "acks");
    if (!json_is_array(a) || json_array_size(a) > ENGAGEMENT_ACKS_MAX)
        return bad(d, "acks", 0);
    for (i = 0; i < json_array_size(a); i++) {
        const json_t *o = json_array_get(a, i);
        struct engagement_ack *ak = &e->acks[i];
        int via = enum_of(o, "via", via_names);
        if (via < 0 || str_to(o, "contact", ak->contact, sizeof(ak->contact)) ||
            str_to(o, "channel", ak->channel, sizeof(ak->channel)) ||
            str_to(o, "pageId", ak->page_id, sizeof(ak->page_id)) ||
            str_to(o, "who", ak->who, sizeof(ak->who)) ||
            str_to(o, "note", ak->note, sizeof(ak->note)))
            return bad(d, "acks", i);
        ak->via = (enum engagement_ack_via)via;
        ak->essential = json_is_true(json_object_get(o, "essential"));
        ak->time_ms = int_of(o, "timeMs");
        e->nacks++;
    }
    x = NULL;
    (void)x;
    return 0;
}
