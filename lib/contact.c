/*
 * contact.c — contacts, channels, engagement plans: YAML/JSON codecs,
 * validation, activation codes, and the contact book.
 */
#include "contact.h"

#include "incident_yaml.h"
#include "stack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = { "PERSONAL", "ESCALATION", NULL };
static const char *const channel_names[] = { "EMAIL", "SMS", "VOICE", "WEBHOOK", NULL };
static const char *const format_names[] = { "generic", "slack", "mattermost", NULL };
static const char *const activation_names[] = { "NOT_ACTIVATED", "ACTIVATED", NULL };

const char *contact_type_name(enum contact_type t)
{
    return t == CONTACT_ESCALATION ? "ESCALATION" : "PERSONAL";
}

const char *contact_channel_type_name(enum contact_channel_type t)
{
    return (unsigned)t < 4 ? channel_names[t] : "EMAIL";
}

const char *contact_webhook_format_name(enum contact_webhook_format f)
{
    return (unsigned)f < 3 ? format_names[f] : "generic";
}

void contact_init(struct contact *c)
{
    memset(c, 0, sizeof(*c));
}

void contact_free(struct contact *c)
{
    (void)c;
}

struct contact_channel *contact_channel_find(const struct contact *c, const char *name)
{
    size_t i;

    for (i = 0; i < c->nchannels; i++)
        if (!strcmp(c->channels[i].name, name))
            return (struct contact_channel *)&c->channels[i];
    return NULL;
}

/* ---- validation of delivery addresses ---------------------------------- */

static bool address_ok(enum contact_channel_type t, const char *a)
{
    size_t i, n = strlen(a);

    switch (t) {
    case CONTACT_CHANNEL_EMAIL: {
        const char *at = strchr(a, '@');
        if (!at || at == a || !at[1] || strchr(at + 1, '@'))
            return false;
        for (i = 0; i < n; i++)
            if ((unsigned char)a[i] <= ' ' || a[i] == '<' || a[i] == '>' || a[i] == ',')
                return false;
        return true;
    }
    case CONTACT_CHANNEL_SMS:
    case CONTACT_CHANNEL_VOICE:
        if (n < 9 || n > 16 || a[0] != '+' || a[1] == '0')
            return false;
        for (i = 1; i < n; i++)
            if (a[i] < '0' || a[i] > '9')
                return false;
        return true;
    case CONTACT_CHANNEL_WEBHOOK:
        if (strncmp(a, "http://", 7) && strncmp(a, "https://", 8))
            return false;
        for (i = 0; i < n; i++)
            if ((unsigned char)a[i] <= ' ')
                return false;
        return true;
    }
    return false;
}

static const char *address_expect(enum contact_channel_type t)
{
    switch (t) {
    case CONTACT_CHANNEL_EMAIL:
        return "an email address (local@domain)";
    case CONTACT_CHANNEL_SMS:
    case CONTACT_CHANNEL_VOICE:
        return "a phone number in E.164 form (+ country code, 8 to 15 digits)";
    case CONTACT_CHANNEL_WEBHOOK:
        return "an http:// or https:// URL";
    }
    return "an address";
}

static bool digits_ok(const char *s)
{
    size_t n = strlen(s), i;

    if (n < CONTACT_CODE_MIN || n > CONTACT_CODE_MAX)
        return false;
    for (i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* ---- YAML reader -------------------------------------------------------- */

static int read_duration(const struct incident_yaml *y, struct fy_node *m, const char *path,
                         const char *min_key, const char *sec_key, long long max_min, int64_t *ms,
                         bool *in_seconds, bool required)
{
    struct fy_node *a = incident_yaml_get(m, min_key), *b = incident_yaml_get(m, sec_key);
    char p[160];
    long long v;
    int r;

    if (a && b)
        return incident_yaml_fail(y, b, path, "give either %s or %s, not both", min_key, sec_key);
    *ms = 0;
    *in_seconds = false;
    if (a) {
        snprintf(p, sizeof(p), "%s.%s", path, min_key);
        r = incident_yaml_int(y, a, p, 0, max_min, &v);
        if (r)
            return r;
        *ms = v * 60000;
    } else if (b) {
        snprintf(p, sizeof(p), "%s.%s", path, sec_key);
        r = incident_yaml_int(y, b, p, 0, max_min * 60, &v);
        if (r)
            return r;
        *ms = v * 1000;
        *in_seconds = true;
    } else if (required) {
        return incident_yaml_fail(y, m, path, "missing %s (or %s)", min_key, sec_key);
    }
    return 0;
}

static int read_channel(const struct incident_yaml *y, struct fy_node *n, const char *path,
                        struct contact_channel *ch)
{
    static const char *const keys[] = {
        "name", "type", "deliveryAddress", "format", "activationStatus", "activationCode", NULL
    };
    char p[160];
    struct fy_node *v;
    int r, e;

    memset(ch, 0, sizeof(*ch));
    if ((r = incident_yaml_map(y, n, path)) || (r = incident_yaml_keys(y, n, path, keys)))
        return r;
    snprintf(p, sizeof(p), "%s.name", path);
    v = incident_yaml_get(n, "name");
    if (!v)
        return incident_yaml_fail(y, n, path, "missing name");
    if ((r = incident_yaml_str(y, v, p, 1, CONTACT_CHANNEL_NAME_MAX, ch->name)))
        return r;
    if (!incident_name_valid(ch->name, NULL))
        return incident_yaml_fail(y, v, p, "expected [a-zA-Z0-9_-] characters, got '%s'", ch->name);
    snprintf(p, sizeof(p), "%s.type", path);
    v = incident_yaml_get(n, "type");
    if (!v)
        return incident_yaml_fail(y, n, path, "missing type (EMAIL | SMS | VOICE | WEBHOOK)");
    if ((r = incident_yaml_enum(y, v, p, channel_names, &e)))
        return r;
    ch->type = (enum contact_channel_type)e;
    snprintf(p, sizeof(p), "%s.deliveryAddress", path);
    v = incident_yaml_get(n, "deliveryAddress");
    if (!v)
        return incident_yaml_fail(y, n, path, "missing deliveryAddress");
    if ((r = incident_yaml_str(y, v, p, 1, CONTACT_ADDRESS_MAX, ch->address)))
        return r;
    if (!address_ok(ch->type, ch->address))
        return incident_yaml_fail(y, v, p, "expected %s for a %s channel, got '%s'",
                                  address_expect(ch->type), channel_names[ch->type], ch->address);
    v = incident_yaml_get(n, "format");
    if (v) {
        snprintf(p, sizeof(p), "%s.format", path);
        if (ch->type != CONTACT_CHANNEL_WEBHOOK)
            return incident_yaml_fail(y, v, p, "format applies only to WEBHOOK channels");
        if ((r = incident_yaml_enum(y, v, p, format_names, &e)))
            return r;
        ch->format = (enum contact_webhook_format)e;
    }
    v = incident_yaml_get(n, "activationStatus");
    if (v) {
        snprintf(p, sizeof(p), "%s.activationStatus", path);
        if ((r = incident_yaml_enum(y, v, p, activation_names, &e)))
            return r;
        ch->activated = e == 1;
    }
    v = incident_yaml_get(n, "activationCode");
    if (v) {
        snprintf(p, sizeof(p), "%s.activationCode", path);
        if ((r = incident_yaml_str(y, v, p, CONTACT_CODE_MIN, CONTACT_CODE_MAX,
                                   ch->activation_code)))
            return r;
        if (!digits_ok(ch->activation_code))
            return incident_yaml_fail(y, v, p, "expected 6 to 10 digits");
    }
    return 0;
}

static int read_target(const struct incident_yaml *y, struct fy_node *n, const char *path,
                       const struct contact *c, struct contact_target *t)
{
    static const char *const pkeys[] = { "channel", "retryIntervalInMinutes",
                                         "retryIntervalSeconds", NULL };
    static const char *const ekeys[] = { "contact", "isEssential", NULL };
    char p[200];
    struct fy_node *v;
    int r;

    memset(t, 0, sizeof(*t));
    if ((r = incident_yaml_map(y, n, path)))
        return r;
    if (c->type == CONTACT_PERSONAL) {
        if ((r = incident_yaml_keys(y, n, path, pkeys)))
            return r;
        v = incident_yaml_get(n, "channel");
        if (!v)
            return incident_yaml_fail(y, n, path,
                                      "missing channel (a channel name of this contact)");
        snprintf(p, sizeof(p), "%s.channel", path);
        if ((r = incident_yaml_str(y, v, p, 1, CONTACT_CHANNEL_NAME_MAX, t->name)))
            return r;
        if (!contact_channel_find(c, t->name))
            return incident_yaml_fail(y, v, p, "no channel named '%s' in this contact", t->name);
        return read_duration(y, n, path, "retryIntervalInMinutes", "retryIntervalSeconds", 60,
                             &t->retry_interval_ms, &t->retry_in_seconds, false);
    }
    if ((r = incident_yaml_keys(y, n, path, ekeys)))
        return r;
    v = incident_yaml_get(n, "contact");
    if (!v)
        return incident_yaml_fail(y, n, path, "missing contact (a personal contact's alias)");
    snprintf(p, sizeof(p), "%s.contact", path);
    if ((r = incident_yaml_str(y, v, p, 1, CONTACT_ALIAS_MAX, t->name)))
        return r;
    if (!incident_name_valid(t->name, NULL))
        return incident_yaml_fail(y, v, p, "expected a contact alias [a-z0-9_-], got '%s'",
                                  t->name);
    v = incident_yaml_get(n, "isEssential");
    if (v) {
        snprintf(p, sizeof(p), "%s.isEssential", path);
        if ((r = incident_yaml_bool(y, v, p, &t->essential)))
            return r;
    }
    return 0;
}

static int read_plan(const struct incident_yaml *y, struct fy_node *n, struct contact *c)
{
    static const char *const keys[] = { "stages", NULL };
    static const char *const skeys[] = { "durationInMinutes", "durationSeconds", "targets", NULL };
    struct fy_node *stages, *s;
    void *it = NULL;
    int r;

    if ((r = incident_yaml_map(y, n, "plan")) || (r = incident_yaml_keys(y, n, "plan", keys)))
        return r;
    stages = incident_yaml_get(n, "stages");
    if (!stages)
        return incident_yaml_fail(y, n, "plan", "missing stages");
    if ((r = incident_yaml_seq(y, stages, "plan.stages", CONTACT_STAGES_MAX)))
        return r;
    while ((s = fy_node_sequence_iterate(stages, &it))) {
        struct contact_stage *st = &c->stages[c->nstages];
        char p[120], tp[160];
        struct fy_node *targets, *t;
        void *tit = NULL;

        snprintf(p, sizeof(p), "plan.stages[%zu]", c->nstages);
        memset(st, 0, sizeof(*st));
        if ((r = incident_yaml_map(y, s, p)) || (r = incident_yaml_keys(y, s, p, skeys)))
            return r;
        if ((r = read_duration(y, s, p, "durationInMinutes", "durationSeconds", 30,
                               &st->duration_ms, &st->duration_in_seconds, true)))
            return r;
        targets = incident_yaml_get(s, "targets");
        if (targets) {
            snprintf(tp, sizeof(tp), "%s.targets", p);
            if ((r = incident_yaml_seq(y, targets, tp, CONTACT_TARGETS_MAX)))
                return r;
            while ((t = fy_node_sequence_iterate(targets, &tit))) {
                snprintf(tp, sizeof(tp), "%s.targets[%zu]", p, st->ntargets);
                if ((r = read_target(y, t, tp, c, &st->targets[st->ntargets])))
                    return r;
                st->ntargets++;
            }
        }
        if (st->ntargets == 0 && st->duration_ms == 0)
            return incident_yaml_fail(y, s, p, "a stage without targets needs a duration above 0");
        c->nstages++;
    }
    return 0;
}

int contact_from_node(struct contact *c, struct fy_node *node, const char *file,
                      struct cordon_diag *diag)
{
    return contact_from_node_as(c, node, file, -1, diag);
}

int contact_from_node_as(struct contact *c, struct fy_node *node, const char *file,
                         int default_type, struct cordon_diag *diag)
{
    static const char *const keys[] = { "alias", "displayName", "type", "channels", "plan", NULL };
    struct incident_yaml y = { file, diag };
    struct fy_node *v, *ch;
    void *it = NULL;
    int r, e;

    contact_init(c);
    if ((r = incident_yaml_map(&y, node, "contact")) ||
        (r = incident_yaml_keys(&y, node, "contact", keys)))
        return r;
    v = incident_yaml_get(node, "alias");
    if (!v)
        return incident_yaml_fail(&y, node, "contact", "missing alias");
    if ((r = incident_yaml_str(&y, v, "alias", 1, CONTACT_ALIAS_MAX, c->alias)))
        return r;
    for (e = 0; c->alias[e]; e++)
        if (c->alias[e] >= 'A' && c->alias[e] <= 'Z')
            break;
    if (c->alias[e] || !incident_name_valid(c->alias, NULL))
        return incident_yaml_fail(&y, v, "alias", "expected [a-z0-9_-] characters, got '%s'",
                                  c->alias);
    v = incident_yaml_get(node, "displayName");
    if (v &&
        (r = incident_yaml_str(&y, v, "displayName", 0, CONTACT_DISPLAY_NAME_MAX, c->display_name)))
        return r;
    v = incident_yaml_get(node, "type");
    if (!v && default_type < 0)
        return incident_yaml_fail(&y, node, "contact", "missing type (PERSONAL | ESCALATION)");
    if (v) {
        if ((r = incident_yaml_enum(&y, v, "type", type_names, &e)))
            return r;
        if (default_type == CONTACT_ESCALATION && e != CONTACT_ESCALATION)
            return incident_yaml_fail(&y, v, "type",
                                      "expected ESCALATION in escalationPlans; personal contacts "
                                      "go under contacts");
        c->type = (enum contact_type)e;
    } else {
        c->type = (enum contact_type)default_type;
    }
    v = incident_yaml_get(node, "channels");
    if (v) {
        if (c->type != CONTACT_PERSONAL)
            return incident_yaml_fail(
                &y, v, "channels",
                "an ESCALATION contact has no channels; its plan targets contacts");
        if ((r = incident_yaml_seq(&y, v, "channels", CONTACT_CHANNELS_MAX)))
            return r;
        while ((ch = fy_node_sequence_iterate(v, &it))) {
            char p[64];
            snprintf(p, sizeof(p), "channels[%zu]", c->nchannels);
            if ((r = read_channel(&y, ch, p, &c->channels[c->nchannels])))
                return r;
            if (contact_channel_find(c, c->channels[c->nchannels].name))
                return incident_yaml_fail(&y, ch, p, "duplicate channel name '%s'",
                                          c->channels[c->nchannels].name);
            c->nchannels++;
        }
    }
    v = incident_yaml_get(node, "plan");
    if (v && (r = read_plan(&y, v, c)))
        return r;
    if (c->type == CONTACT_ESCALATION && c->nstages == 0)
        return incident_yaml_fail(&y, v ? v : node, "plan",
                                  "an ESCALATION contact needs at least one stage");
    return 0;
}

int contact_from_yaml(struct contact *c, const char *text, size_t len, const char *file,
                      struct cordon_diag *diag)
{
    struct fy_document *doc;
    int r = incident_yaml_parse(text, len, file, &doc, diag);

    if (r)
        return r;
    r = contact_from_node(c, fy_document_root(doc), file, diag);
    fy_document_destroy(doc);
    return r;
}

/* ---- JSON / YAML writer -------------------------------------------------- */

static int set_duration(json_t *o, const char *min_key, const char *sec_key, int64_t ms,
                        bool in_seconds)
{
    if (in_seconds)
        return json_object_set_new(o, sec_key, json_integer(ms / 1000));
    return json_object_set_new(o, min_key, json_integer(ms / 60000));
}

json_t *contact_to_json(const struct contact *c, bool with_state)
{
    json_t *o = json_object(), *chs, *plan, *stages;
    size_t i, j;

    if (!o)
        return NULL;
    json_object_set_new(o, "alias", json_string(c->alias));
    if (c->display_name[0])
        json_object_set_new(o, "displayName", json_string(c->display_name));
    json_object_set_new(o, "type", json_string(contact_type_name(c->type)));
    if (c->nchannels) {
        chs = json_array();
        for (i = 0; i < c->nchannels; i++) {
            const struct contact_channel *ch = &c->channels[i];
            json_t *x = json_object();
            json_object_set_new(x, "name", json_string(ch->name));
            json_object_set_new(x, "type", json_string(contact_channel_type_name(ch->type)));
            json_object_set_new(x, "deliveryAddress", json_string(ch->address));
            if (ch->type == CONTACT_CHANNEL_WEBHOOK)
                json_object_set_new(x, "format",
                                    json_string(contact_webhook_format_name(ch->format)));
            json_object_set_new(x, "activationStatus",
                                json_string(ch->activated ? "ACTIVATED" : "NOT_ACTIVATED"));
            if (with_state && ch->activation_code[0])
                json_object_set_new(x, "activationCode", json_string(ch->activation_code));
            json_array_append_new(chs, x);
        }
        json_object_set_new(o, "channels", chs);
    }
    if (c->nstages) {
        plan = json_object();
        stages = json_array();
        for (i = 0; i < c->nstages; i++) {
            const struct contact_stage *st = &c->stages[i];
            json_t *s = json_object(), *ts = json_array();
            set_duration(s, "durationInMinutes", "durationSeconds", st->duration_ms,
                         st->duration_in_seconds);
            for (j = 0; j < st->ntargets; j++) {
                const struct contact_target *t = &st->targets[j];
                json_t *x = json_object();
                if (c->type == CONTACT_PERSONAL) {
                    json_object_set_new(x, "channel", json_string(t->name));
                    if (t->retry_interval_ms || t->retry_in_seconds)
                        set_duration(x, "retryIntervalInMinutes", "retryIntervalSeconds",
                                     t->retry_interval_ms, t->retry_in_seconds);
                } else {
                    json_object_set_new(x, "contact", json_string(t->name));
                    json_object_set_new(x, "isEssential", json_boolean(t->essential));
                }
                json_array_append_new(ts, x);
            }
            json_object_set_new(s, "targets", ts);
            json_array_append_new(stages, s);
        }
        json_object_set_new(plan, "stages", stages);
        json_object_set_new(o, "plan", plan);
    }
    return o;
}

int contact_from_json(struct contact *c, const json_t *v, struct cordon_diag *diag)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    int r;

    if (!text)
        return CORDON_ENOMEM;
    r = contact_from_yaml(c, text, strlen(text), "<json>", diag);
    free(text);
    return r;
}

int contact_to_yaml(const struct contact *c, struct buf *out, int indent)
{
    json_t *j = contact_to_json(c, false);
    int r;

    if (!j)
        return CORDON_ENOMEM;
    r = incident_yaml_emit(out, j, indent);
    json_decref(j);
    return r;
}

/* ---- activation ---------------------------------------------------------- */

int contact_code_from_random(const uint8_t *random, size_t nrandom, int ndigits, char *out)
{
    size_t i = 0;
    int k = 0;

    if (ndigits < CONTACT_CODE_MIN || ndigits > CONTACT_CODE_MAX)
        return CORDON_EINVAL;
    while (k < ndigits) {
        if (i >= nrandom)
            return CORDON_EINVAL;
        if (random[i] < 250) /* 250 = 25 * 10: unbiased */
            out[k++] = (char)('0' + random[i] % 10);
        i++;
    }
    out[k] = '\0';
    return 0;
}

int contact_channel_begin_activation(struct contact_channel *ch, const uint8_t *random,
                                     size_t nrandom, int ndigits, char *code_out)
{
    char code[CONTACT_CODE_MAX + 1];
    int r = contact_code_from_random(random, nrandom, ndigits, code);

    if (r)
        return r;
    memcpy(ch->activation_code, code, sizeof(code));
    if (code_out)
        memcpy(code_out, code, sizeof(code));
    return 0;
}

int contact_channel_activate(struct contact_channel *ch, const char *code)
{
    size_t i, n = strlen(ch->activation_code);
    unsigned char diff = 0;

    if (!n)
        return CORDON_ESTATE;
    if (!code || strlen(code) != n)
        return CORDON_EINVAL;
    for (i = 0; i < n; i++) /* constant time for codes of the right length */
        diff |= (unsigned char)(ch->activation_code[i] ^ code[i]);
    if (diff)
        return CORDON_EINVAL;
    ch->activated = true;
    ch->activation_code[0] = '\0';
    return 0;
}

void contact_channel_deactivate(struct contact_channel *ch)
{
    ch->activated = false;
    ch->activation_code[0] = '\0';
}

/* ---- book ------------------------------------------------------------------ */

void contact_book_init(struct contact_book *b)
{
    memset(b, 0, sizeof(*b));
}

void contact_book_free(struct contact_book *b)
{
    size_t i;

    for (i = 0; i < b->n; i++) {
        contact_free(b->items[i]);
        free(b->items[i]);
    }
    free(b->items);
    memset(b, 0, sizeof(*b));
}

int contact_book_add(struct contact_book *b, struct contact *c)
{
    if (contact_book_find(b, c->alias))
        return CORDON_EEXIST;
    if (b->n >= CONTACT_BOOK_MAX)
        return CORDON_ETOOBIG;
    if (b->n == b->alloc) {
        size_t na = b->alloc ? b->alloc * 2 : 8;
        struct contact **p = realloc(b->items, na * sizeof(*p));
        if (!p)
            return CORDON_ENOMEM;
        b->items = p;
        b->alloc = na;
    }
    b->items[b->n++] = c;
    return 0;
}

const struct contact *contact_book_find(const struct contact_book *b, const char *alias)
{
    size_t i;

    for (i = 0; i < b->n; i++)
        if (!strcmp(b->items[i]->alias, alias))
            return b->items[i];
    return NULL;
}

int contact_book_validate(const struct contact_book *b, struct cordon_diag *diag)
{
    size_t i, s, t;

    for (i = 0; i < b->n; i++) {
        const struct contact *c = b->items[i];
        if (c->type != CONTACT_ESCALATION)
            continue;
        for (s = 0; s < c->nstages; s++) {
            for (t = 0; t < c->stages[s].ntargets; t++) {
                const char *a = c->stages[s].targets[t].name;
                const struct contact *x = contact_book_find(b, a);
                if (!x) {
                    cordon_diag_set(diag, "UnknownContact", 0, 0, 0,
                                    "contact %s: plan.stages[%zu].targets[%zu].contact: no contact "
                                    "with alias '%s'",
                                    c->alias, s, t, a);
                    return CORDON_EINVAL;
                }
                if (x->type != CONTACT_PERSONAL) {
                    cordon_diag_set(diag, "InvalidTarget", 0, 0, 0,
                                    "contact %s: plan.stages[%zu].targets[%zu].contact: '%s' is an "
                                    "escalation plan; expected a PERSONAL contact",
                                    c->alias, s, t, a);
                    return CORDON_EINVAL;
                }
            }
        }
    }
    return 0;
}

int contact_book_load_yaml(struct contact_book *b, const char *text, size_t len, const char *file,
                           struct cordon_diag *diag)
{
    struct incident_yaml y = { file, diag };
    struct fy_document *doc;
    struct fy_node *root, *list, *n;
    void *it = NULL;
    int r = incident_yaml_parse(text, len, file, &doc, diag);

    if (r)
        return r;
    root = fy_document_root(doc);
    list = root;
    if (fy_node_is_mapping(root) &&
        (incident_yaml_get(root, "contacts") || incident_yaml_get(root, "escalationPlans"))) {
        /* stack.yaml shape: contacts + escalationPlans lists, other keys ignored */
        static const char *const keys[] = { "contacts", "escalationPlans" };
        size_t k;
        for (k = 0; k < 2 && !r; k++) {
            struct fy_node *l = incident_yaml_get(root, keys[k]);
            if (!l)
                continue;
            if ((r = incident_yaml_seq(&y, l, keys[k], CONTACT_BOOK_MAX)))
                break;
            it = NULL;
            while ((n = fy_node_sequence_iterate(l, &it))) {
                struct contact *c = malloc(sizeof(*c));
                r = c ? contact_from_node_as(c, n, file, k ? CONTACT_ESCALATION : CONTACT_PERSONAL,
                                             diag)
                      : CORDON_ENOMEM;
                if (!r)
                    r = contact_book_add(b, c);
                if (r) {
                    free(c);
                    if (r == CORDON_EEXIST)
                        r = incident_yaml_fail(&y, incident_yaml_get(n, "alias"), "alias",
                                               "duplicate contact alias");
                    break;
                }
            }
        }
    } else if (fy_node_is_mapping(list)) {
        struct contact *c = malloc(sizeof(*c));
        r = c ? contact_from_node(c, list, file, diag) : CORDON_ENOMEM;
        if (!r)
            r = contact_book_add(b, c);
        if (r)
            free(c);
        if (r == CORDON_EEXIST)
            r = incident_yaml_fail(&y, list, "alias", "duplicate contact alias");
    } else if (!(r = incident_yaml_seq(&y, list, "contacts", CONTACT_BOOK_MAX))) {
        while ((n = fy_node_sequence_iterate(list, &it))) {
            struct contact *c = malloc(sizeof(*c));
            r = c ? contact_from_node(c, n, file, diag) : CORDON_ENOMEM;
            if (!r)
                r = contact_book_add(b, c);
            if (r) {
                free(c);
                if (r == CORDON_EEXIST)
                    r = incident_yaml_fail(&y, incident_yaml_get(n, "alias"), "alias",
                                           "duplicate contact alias");
                break;
            }
        }
    }
    fy_document_destroy(doc);
    if (!r)
        r = contact_book_validate(b, diag);
    return r;
}

/* ---- stack kinds (lib/stack.h) ------------------------------------------------ */

static int kind_parse(struct fy_node *node, const char *file, void **obj, int type,
                      struct cordon_diag *diag)
{
    struct contact *c = malloc(sizeof(*c));
    int r;

    *obj = NULL;
    if (!c)
        return CORDON_ENOMEM;
    r = contact_from_node_as(c, node, file, type, diag);
    if (r) {
        free(c);
        return r;
    }
    *obj = c;
    return 0;
}

static int kind_parse_contact(struct fy_node *node, const char *file, void **obj,
                              struct cordon_diag *diag)
{
    return kind_parse(node, file, obj, CONTACT_PERSONAL, diag);
}

static int kind_parse_escalation(struct fy_node *node, const char *file, void **obj,
                                 struct cordon_diag *diag)
{
    return kind_parse(node, file, obj, CONTACT_ESCALATION, diag);
}

static const char *kind_name(const void *obj)
{
    return ((const struct contact *)obj)->alias;
}

static int kind_write(const void *obj, struct fy_document *fyd, struct fy_node **out)
{
    struct buf b;
    int r;

    *out = NULL;
    buf_init(&b, INCIDENT_YAML_MAX_BYTES);
    r = contact_to_yaml(obj, &b, 0);
    if (r) {
        buf_free(&b);
        return r;
    }
    return incident_yaml_node_take(fyd, &b, out);
}

int incident_json_compare(const json_t *a, const json_t *b, char *reason, size_t size)
{
    const char *k;
    json_t *v;

    if (json_equal(a, b))
        return 0;
    json_object_foreach((json_t *)a, k, v)
    {
        if (!json_equal(v, json_object_get(b, k))) {
            snprintf(reason, size, "%s changed", k);
            return 1;
        }
    }
    json_object_foreach((json_t *)b, k, v)
    {
        if (!json_object_get(a, k)) {
            snprintf(reason, size, "%s added", k);
            return 1;
        }
    }
    snprintf(reason, size, "changed");
    return 1;
}

static int kind_compare(const void *a, const void *b, char *reason, size_t size)
{
    json_t *ja = contact_to_json(a, false), *jb = contact_to_json(b, false);
    int r = incident_json_compare(ja, jb, reason, size);

    json_decref(ja);
    json_decref(jb);
    return r;
}

static void kind_free(void *obj)
{
    if (obj)
        contact_free(obj);
    free(obj);
}

const struct stack_kind contact_stack_kind = {
    .key = "contacts",
    .kind = "contact",
    .parse = kind_parse_contact,
    .name = kind_name,
    .write = kind_write,
    .compare = kind_compare,
    .free = kind_free,
};

const struct stack_kind contact_stack_kind_escalation = {
    .key = "escalationPlans",
    .kind = "escalationPlan",
    .parse = kind_parse_escalation,
    .name = kind_name,
    .write = kind_write,
    .compare = kind_compare,
    .free = kind_free,
};
