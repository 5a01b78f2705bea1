/*
 * response_plan.c — response plan codec (YAML/JSON), validation and the
 * {{ variable }} templates of incident titles, dedupe strings and links.
 */
#include "response_plan.h"

#include "incident_yaml.h"
#include "stack.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct response_plan_related default_related[] = {
    { "IoT Logs Query URL", "{{consoleBaseUrl}}/things/{{thingName}}/logs?range=3600" },
    { "Thing additional information", "{{consoleBaseUrl}}/things/{{thingName}}" },
};

static const char *const variable_names[] = { "INCIDENT_RECORD_ARN", "INVOLVED_RESOURCES", NULL };
static const char *const account_names[] = { "RESPONSE_PLAN_OWNER_ACCOUNT", "IMPACTED_ACCOUNT",
                                             NULL };

void response_plan_init(struct response_plan *p)
{
    memset(p, 0, sizeof(*p));
}

void response_plan_free(struct response_plan *p)
{
    json_decref(p->incident_tags);
    json_decref(p->parameters);
    json_decref(p->chat_channel);
    json_decref(p->tags);
    p->incident_tags = p->parameters = p->chat_channel = p->tags = NULL;
}

size_t response_plan_related_items(const struct response_plan *p,
                                   const struct response_plan_related **items)
{
    if (p->related_set) {
        *items = p->related;
        return p->nrelated;
    }
    *items = default_related;
    return sizeof(default_related) / sizeof(default_related[0]);
}

int response_plan_check_contacts(const struct response_plan *p, const struct contact_book *book,
                                 struct cordon_diag *diag)
{
    size_t i;

    for (i = 0; i < p->nengagements; i++) {
        if (!contact_book_find(book, p->engagements[i])) {
            cordon_diag_set(diag, "UnknownContact", 0, 0, 0,
                            "responsePlan %s: engagements[%zu]: no contact or escalation plan "
                            "with alias '%s'",
                            p->name, i, p->engagements[i]);
            return CORDON_EINVAL;
        }
    }
    return 0;
}

/* ---- templates --------------------------------------------------------- */

static const char *const template_vars[] = { "violationId",    "thingName",  "securityProfileName",
                                             "behaviorName",   "metricName", "responsePlanName",
                                             "consoleBaseUrl", NULL };

static const char *var_value(const struct response_plan_vars *v, int i)
{
    const char *s = NULL;

    switch (i) {
    case 0:
        s = v->violation_id;
        break;
    case 1:
        s = v->thing_name;
        break;
    case 2:
        s = v->profile;
        break;
    case 3:
        s = v->behavior;
        break;
    case 4:
        s = v->metric;
        break;
    case 5:
        s = v->plan_name;
        break;
    case 6:
        s = v->console_base_url;
        break;
    }
    return s ? s : "";
}

/* Walk a template: for each {{ name }} call back with the variable index (or -1). */
static int template_walk(const char *t, struct buf *out, const struct response_plan_vars *vars,
                         bool url_mode, char *bad)
{
    int r = 0;

    while (*t) {
        const char *open = strstr(t, "{{"), *close, *a, *b;
        size_t n;
        int i;

        if (!open) {
            if (out)
                r = buf_adds(out, t);
            return r;
        }
        if (out && (r = buf_add(out, t, (size_t)(open - t))))
            return r;
        close = strstr(open + 2, "}}");
        if (!close) {
            if (bad)
                snprintf(bad, 64, "(unterminated {{)");
            return CORDON_EINVAL;
        }
        a = open + 2;
        b = close;
        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        n = (size_t)(b - a);
        for (i = 0; template_vars[i]; i++)
            if (strlen(template_vars[i]) == n && !memcmp(template_vars[i], a, n))
                break;
        if (!template_vars[i]) {
            if (bad)
                snprintf(bad, 64, "%.*s", (int)(n > 60 ? 60 : n), a);
            return CORDON_EINVAL;
        }
        if (out) {
            const char *v = var_value(vars, i);
            size_t k, len = strlen(v);
            if (i == 6) {
                while (len && v[len - 1] == '/')
                    len--;
                r = buf_add(out, v, len);
            } else if (!url_mode) {
                r = buf_adds(out, v);
            } else {
                for (k = 0; k < len && !r; k++) {
                    unsigned char c = (unsigned char)v[k];
                    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~')
                        r = buf_addc(out, (char)c);
                    else
                        r = buf_printf(out, "%%%02X", c);
                }
            }
            if (r)
                return r;
        }
        t = close + 2;
    }
    return 0;
}

int response_plan_template_check(const char *tmpl, char *bad)
{
    return template_walk(tmpl, NULL, NULL, false, bad);
}

int response_plan_render(const char *tmpl, const struct response_plan_vars *vars, bool url_mode,
                         struct buf *out)
{
    static const struct response_plan_vars none = { 0 };

    return template_walk(tmpl, out, vars ? vars : &none, url_mode, NULL);
}

/* ---- YAML reader --------------------------------------------------------- */

static int read_templated(const struct incident_yaml *y, struct fy_node *n, const char *path,
                          size_t min, size_t max, char *out)
{
    char bad[64];
    int r = incident_yaml_str(y, n, path, min, max, out);

    if (r)
        return r;
    if (response_plan_template_check(out, bad))
        return incident_yaml_fail(y, n, path,
                                  "unknown template variable '%s'; expected one of violationId, "
                                  "thingName, securityProfileName, behaviorName, metricName, "
                                  "responsePlanName, consoleBaseUrl",
                                  bad);
    return 0;
}

static int read_string_map(const struct incident_yaml *y, struct fy_node *n, const char *path,
                           json_t **out)
{
    void *it = NULL;
    struct fy_node_pair *p;
    json_t *o;
    int r;

    if ((r = incident_yaml_map(y, n, path)))
        return r;
    if (fy_node_mapping_item_count(n) > RESPONSE_PLAN_TAGS_MAX)
        return incident_yaml_fail(y, n, path, "expected at most %d entries",
                                  RESPONSE_PLAN_TAGS_MAX);
    o = json_object();
    if (!o)
        return CORDON_ENOMEM;
    while ((p = fy_node_mapping_iterate(n, &it))) {
        char k[RESPONSE_PLAN_TAG_MAX + 1], v[RESPONSE_PLAN_TAG_MAX + 1];
        if ((r = incident_yaml_str(y, fy_node_pair_key(p), path, 1, 128, k)) ||
            (r = incident_yaml_str(y, fy_node_pair_value(p), path, 0, RESPONSE_PLAN_TAG_MAX, v))) {
            json_decref(o);
            return r;
        }
        json_object_set_new(o, k, json_string(v));
    }
    *out = o;
    return 0;
}

static int read_template(const struct incident_yaml *y, struct fy_node *n, struct response_plan *p)
{
    static const char *const keys[] = {
        "title", "impact", "summary", "dedupeString", "incidentTags", "notificationTargets", NULL
    };
    static const char *const tkeys[] = { "mqttTopic", "webhookUrl", "snsTopicArn", NULL };
    const char *path = "incidentTemplate";
    struct fy_node *v, *t;
    long long impact;
    void *it = NULL;
    int r;

    if ((r = incident_yaml_map(y, n, path)) || (r = incident_yaml_keys(y, n, path, keys)))
        return r;
    v = incident_yaml_get(n, "title");
    if (!v)
        return incident_yaml_fail(y, n, path, "missing title");
    if ((r = read_templated(y, v, "incidentTemplate.title", 1, RESPONSE_PLAN_TITLE_MAX, p->title)))
        return r;
    v = incident_yaml_get(n, "impact");
    if (!v)
        return incident_yaml_fail(y, n, path, "missing impact (1 critical .. 5 no impact)");
    if ((r = incident_yaml_int(y, v, "incidentTemplate.impact", 1, 5, &impact)))
        return r;
    p->impact = (int)impact;
    v = incident_yaml_get(n, "summary");
    if (v && (r = read_templated(y, v, "incidentTemplate.summary", 0, RESPONSE_PLAN_SUMMARY_MAX,
                                 p->summary)))
        return r;
    v = incident_yaml_get(n, "dedupeString");
    if (v && (r = read_templated(y, v, "incidentTemplate.dedupeString", 0, RESPONSE_PLAN_DEDUPE_MAX,
                                 p->dedupe)))
        return r;
    v = incident_yaml_get(n, "incidentTags");
    if (v && (r = read_string_map(y, v, "incidentTemplate.incidentTags", &p->incident_tags)))
        return r;
    v = incident_yaml_get(n, "notificationTargets");
    if (v) {
        if ((r = incident_yaml_seq(y, v, "incidentTemplate.notificationTargets",
                                   RESPONSE_PLAN_TARGETS_MAX)))
            return r;
        while ((t = fy_node_sequence_iterate(v, &it))) {
            char path2[80];
            struct response_plan_target *tg = &p->targets[p->ntargets];
            struct fy_node *x;
            snprintf(path2, sizeof(path2), "incidentTemplate.notificationTargets[%zu]",
                     p->ntargets);
            if ((r = incident_yaml_map(y, t, path2)) ||
                (r = incident_yaml_keys(y, t, path2, tkeys)))
                return r;
            if (fy_node_mapping_item_count(t) != 1)
                return incident_yaml_fail(y, t, path2,
                                          "expected exactly one of mqttTopic, webhookUrl");
            if ((x = incident_yaml_get(t, "snsTopicArn")))
                return incident_yaml_fail(y, x, path2,
                                          "snsTopicArn is not supported; expected mqttTopic or "
                                          "webhookUrl");
            if ((x = incident_yaml_get(t, "mqttTopic"))) {
                tg->type = RESPONSE_PLAN_TARGET_MQTT;
                if ((r = incident_yaml_str(y, x, path2, 1, RESPONSE_PLAN_TARGET_MAX, tg->value)))
                    return r;
                if (strpbrk(tg->value, "+#"))
                    return incident_yaml_fail(y, x, path2,
                                              "expected an MQTT topic without wildcards");
            } else {
                x = incident_yaml_get(t, "webhookUrl");
                tg->type = RESPONSE_PLAN_TARGET_WEBHOOK;
                if ((r = incident_yaml_str(y, x, path2, 1, RESPONSE_PLAN_TARGET_MAX, tg->value)))
                    return r;
                if (strncmp(tg->value, "http://", 7) && strncmp(tg->value, "https://", 8))
                    return incident_yaml_fail(y, x, path2, "expected an http:// or https:// URL");
            }
            p->ntargets++;
        }
    }
    return 0;
}

static int read_params(const struct incident_yaml *y, struct fy_node *n, struct response_plan *p)
{
    const char *path = "actions[0].ssmAutomation.parameters";
    void *it = NULL;
    struct fy_node_pair *pr;
    int r;

    if ((r = incident_yaml_map(y, n, path)))
        return r;
    if (fy_node_mapping_item_count(n) > RESPONSE_PLAN_PARAMS_MAX)
        return incident_yaml_fail(y, n, path, "expected at most %d parameters",
                                  RESPONSE_PLAN_PARAMS_MAX);
    p->parameters = json_object();
    if (!p->parameters)
        return CORDON_ENOMEM;
    while ((pr = fy_node_mapping_iterate(n, &it))) {
        char key[RESPONSE_PLAN_PARAM_KEY_MAX + 1];
        struct fy_node *v = fy_node_pair_value(pr), *e;
        void *eit = NULL;
        json_t *arr;
        if ((r = incident_yaml_str(y, fy_node_pair_key(pr), path, 1, RESPONSE_PLAN_PARAM_KEY_MAX,
                                   key)))
            return r;
        arr = json_array();
        json_object_set_new(p->parameters, key, arr);
        if (v && fy_node_is_scalar(v)) { /* a single value is a one-item list */
            char val[RESPONSE_PLAN_PARAM_VALUE_MAX + 1];
            if ((r = incident_yaml_str(y, v, path, 0, RESPONSE_PLAN_PARAM_VALUE_MAX, val)))
                return r;
            json_array_append_new(arr, json_string(val));
            continue;
        }
        if ((r = incident_yaml_seq(y, v, path, RESPONSE_PLAN_PARAM_VALUES_MAX)))
            return r;
        while ((e = fy_node_sequence_iterate(v, &eit))) {
            char val[RESPONSE_PLAN_PARAM_VALUE_MAX + 1];
            if ((r = incident_yaml_str(y, e, path, 0, RESPONSE_PLAN_PARAM_VALUE_MAX, val)))
                return r;
            json_array_append_new(arr, json_string(val));
        }
    }
    return 0;
}

static int read_dynamic(const struct incident_yaml *y, struct fy_node *n, struct response_plan *p)
{
    const char *path = "actions[0].ssmAutomation.dynamicParameters";
    void *it = NULL;
    struct fy_node_pair *pr;
    int r, e;

    if ((r = incident_yaml_map(y, n, path)))
        return r;
    while ((pr = fy_node_mapping_iterate(n, &it))) {
        struct response_plan_dynamic *d = &p->dynamic[p->ndynamic];
        struct fy_node *v = fy_node_pair_value(pr);
        if (p->ndynamic >= RESPONSE_PLAN_PARAMS_MAX)
            return incident_yaml_fail(y, n, path, "expected at most %d parameters",
                                      RESPONSE_PLAN_PARAMS_MAX);
        if ((r = incident_yaml_str(y, fy_node_pair_key(pr), path, 1, RESPONSE_PLAN_PARAM_KEY_MAX,
                                   d->key)))
            return r;
        /* AWS JSON shape {variable: X} or the short form X */
        if (v && fy_node_is_mapping(v)) {
            static const char *const vk[] = { "variable", NULL };
            if ((r = incident_yaml_keys(y, v, path, vk)))
                return r;
            v = incident_yaml_get(v, "variable");
        }
        if ((r = incident_yaml_enum(y, v, path, variable_names, &e)))
            return r;
        d->variable = (enum response_plan_variable)e;
        if (p->parameters && json_object_get(p->parameters, d->key))
            return incident_yaml_fail(y, fy_node_pair_key(pr), path,
                                      "parameter '%s' is both static and dynamic", d->key);
        p->ndynamic++;
    }
    return 0;
}

static int read_actions(const struct incident_yaml *y, struct fy_node *n, struct response_plan *p)
{
    static const char *const akeys[] = { "ssmAutomation", NULL };
    static const char *const skeys[] = {
        "documentName", "documentVersion",   "roleArn", "targetAccount",
        "parameters",   "dynamicParameters", NULL
    };
    const char *path = "actions[0].ssmAutomation";
    struct fy_node *a, *s, *v;
    void *it = NULL;
    int r, e;

    if ((r = incident_yaml_seq(y, n, "actions", 1)))
        return r;
    a = fy_node_sequence_iterate(n, &it);
    if (!a)
        return 0;
    if ((r = incident_yaml_map(y, a, "actions[0]")) ||
        (r = incident_yaml_keys(y, a, "actions[0]", akeys)))
        return r;
    s = incident_yaml_get(a, "ssmAutomation");
    if (!s)
        return incident_yaml_fail(y, a, "actions[0]", "missing ssmAutomation");
    if ((r = incident_yaml_map(y, s, path)) || (r = incident_yaml_keys(y, s, path, skeys)))
        return r;
    v = incident_yaml_get(s, "documentName");
    if (!v)
        return incident_yaml_fail(y, s, path, "missing documentName");
    if ((r = incident_yaml_str(y, v, "actions[0].ssmAutomation.documentName", 3,
                               RESPONSE_PLAN_DOCUMENT_NAME_MAX, p->document_name)))
        return r;
    if (!incident_name_valid(p->document_name, ".:/"))
        return incident_yaml_fail(y, v, "actions[0].ssmAutomation.documentName",
                                  "expected [a-zA-Z0-9_.:/-] characters, got '%s'",
                                  p->document_name);
    v = incident_yaml_get(s, "documentVersion");
    if (v && (r = incident_yaml_str(y, v, "actions[0].ssmAutomation.documentVersion", 1,
                                    RESPONSE_PLAN_DOCUMENT_VERSION_MAX, p->document_version)))
        return r;
    v = incident_yaml_get(s, "roleArn");
    if (v && (r = incident_yaml_str(y, v, "actions[0].ssmAutomation.roleArn", 1,
                                    RESPONSE_PLAN_ROLE_MAX, p->role)))
        return r;
    v = incident_yaml_get(s, "targetAccount");
    if (v) {
        if ((r = incident_yaml_enum(y, v, "actions[0].ssmAutomation.targetAccount", account_names,
                                    &e)))
            return r;
        snprintf(p->target_account, sizeof(p->target_account), "%s", account_names[e]);
    }
    v = incident_yaml_get(s, "parameters");
    if (v && (r = read_params(y, v, p)))
        return r;
    v = incident_yaml_get(s, "dynamicParameters");
    if (v && (r = read_dynamic(y, v, p)))
        return r;
    p->has_runbook = true;
    return 0;
}

static int read_related(const struct incident_yaml *y, struct fy_node *n, struct response_plan *p)
{
    static const char *const keys[] = { "title", "url", NULL };
    struct fy_node *e, *v;
    void *it = NULL;
    int r;

    if ((r = incident_yaml_seq(y, n, "relatedItems", RESPONSE_PLAN_RELATED_MAX)))
        return r;
    p->related_set = true;
    while ((e = fy_node_sequence_iterate(n, &it))) {
        struct response_plan_related *ri = &p->related[p->nrelated];
        char path[64], path2[80];
        snprintf(path, sizeof(path), "relatedItems[%zu]", p->nrelated);
        if ((r = incident_yaml_map(y, e, path)) || (r = incident_yaml_keys(y, e, path, keys)))
            return r;
        v = incident_yaml_get(e, "title");
        if (!v)
            return incident_yaml_fail(y, e, path, "missing title");
        snprintf(path2, sizeof(path2), "%s.title", path);
        if ((r = incident_yaml_str(y, v, path2, 1, RESPONSE_PLAN_TITLE_MAX, ri->title)))
            return r;
        v = incident_yaml_get(e, "url");
        if (!v)
            return incident_yaml_fail(y, e, path, "missing url");
        snprintf(path2, sizeof(path2), "%s.url", path);
        if ((r = read_templated(y, v, path2, 1, RESPONSE_PLAN_URL_MAX, ri->url)))
            return r;
        p->nrelated++;
    }
    return 0;
}

int response_plan_from_node(struct response_plan *p, struct fy_node *node, const char *file,
                            struct cordon_diag *diag)
{
    static const char *const keys[] = { "name",        "displayName", "incidentTemplate",
                                        "engagements", "actions",     "relatedItems",
                                        "chatChannel", "tags",        "integrations",
                                        NULL };
    struct incident_yaml y = { file, diag };
    struct fy_node *v, *e;
    void *it = NULL;
    int r;

    response_plan_free(p);
    response_plan_init(p);
    if ((r = incident_yaml_map(&y, node, "responsePlan")) ||
        (r = incident_yaml_keys(&y, node, "responsePlan", keys)))
        return r;
    v = incident_yaml_get(node, "name");
    if (!v)
        return incident_yaml_fail(&y, node, "responsePlan", "missing name");
    if ((r = incident_yaml_str(&y, v, "name", 1, RESPONSE_PLAN_NAME_MAX, p->name)))
        return r;
    if (!incident_name_valid(p->name, NULL))
        return incident_yaml_fail(&y, v, "name", "expected [a-zA-Z0-9_-] characters, got '%s'",
                                  p->name);
    v = incident_yaml_get(node, "displayName");
    if (v && (r = incident_yaml_str(&y, v, "displayName", 0, RESPONSE_PLAN_DISPLAY_NAME_MAX,
                                    p->display_name)))
        return r;
    v = incident_yaml_get(node, "incidentTemplate");
    if (!v)
        return incident_yaml_fail(&y, node, "responsePlan", "missing incidentTemplate");
    if ((r = read_template(&y, v, p)))
        return r;
    v = incident_yaml_get(node, "engagements");
    if (v) {
        if ((r = incident_yaml_seq(&y, v, "engagements", RESPONSE_PLAN_ENGAGEMENTS_MAX)))
            return r;
        while ((e = fy_node_sequence_iterate(v, &it))) {
            char path[40];
            size_t i;
            snprintf(path, sizeof(path), "engagements[%zu]", p->nengagements);
            if ((r = incident_yaml_str(&y, e, path, 1, 255, p->engagements[p->nengagements])))
                return r;
            if (!incident_name_valid(p->engagements[p->nengagements], NULL))
                return incident_yaml_fail(&y, e, path, "expected a contact alias [a-z0-9_-]");
            for (i = 0; i < p->nengagements; i++)
                if (!strcmp(p->engagements[i], p->engagements[p->nengagements]))
                    return incident_yaml_fail(&y, e, path, "contact '%s' is listed twice",
                                              p->engagements[i]);
            p->nengagements++;
        }
    }
    v = incident_yaml_get(node, "actions");
    if (v && (r = read_actions(&y, v, p)))
        return r;
    v = incident_yaml_get(node, "relatedItems");
    if (v && (r = read_related(&y, v, p)))
        return r;
    v = incident_yaml_get(node, "chatChannel");
    if (v) {
        static const char *const ck[] = { "empty", "chatbotSns", NULL };
        if ((r = incident_yaml_map(&y, v, "chatChannel")) ||
            (r = incident_yaml_keys(&y, v, "chatChannel", ck)) ||
            (r = incident_yaml_to_json(&y, v, "chatChannel", 0, &p->chat_channel)))
            return r;
    }
    v = incident_yaml_get(node, "tags");
    if (v && (r = read_string_map(&y, v, "tags", &p->tags)))
        return r;
    v = incident_yaml_get(node, "integrations");
    if (v)
        return incident_yaml_fail(&y, v, "integrations",
                                  "PagerDuty integrations are not supported; use a WEBHOOK "
                                  "channel or a notification target");
    return 0;
}

int response_plan_from_yaml(struct response_plan *p, const char *text, size_t len, const char *file,
                            struct cordon_diag *diag)
{
    struct fy_document *doc;
    int r = incident_yaml_parse(text, len, file, &doc, diag);

    if (r)
        return r;
    r = response_plan_from_node(p, fy_document_root(doc), file, diag);
    fy_document_destroy(doc);
    return r;
}

/* ---- writer ---------------------------------------------------------------- */

json_t *response_plan_to_json(const struct response_plan *p)
{
    json_t *o = json_object(), *t, *a;
    size_t i;

    if (!o)
        return NULL;
    json_object_set_new(o, "name", json_string(p->name));
    if (p->display_name[0])
        json_object_set_new(o, "displayName", json_string(p->display_name));
    t = json_object();
    json_object_set_new(t, "title", json_string(p->title));
    json_object_set_new(t, "impact", json_integer(p->impact));
    if (p->summary[0])
        json_object_set_new(t, "summary", json_string(p->summary));
    if (p->dedupe[0])
        json_object_set_new(t, "dedupeString", json_string(p->dedupe));
    if (p->incident_tags)
        json_object_set(t, "incidentTags", p->incident_tags);
    if (p->ntargets) {
        a = json_array();
        for (i = 0; i < p->ntargets; i++)
            json_array_append_new(a, json_pack("{ss}",
                                               p->targets[i].type == RESPONSE_PLAN_TARGET_MQTT
                                                   ? "mqttTopic"
                                                   : "webhookUrl",
                                               p->targets[i].value));
        json_object_set_new(t, "notificationTargets", a);
    }
    json_object_set_new(o, "incidentTemplate", t);
    if (p->nengagements) {
        a = json_array();
        for (i = 0; i < p->nengagements; i++)
            json_array_append_new(a, json_string(p->engagements[i]));
        json_object_set_new(o, "engagements", a);
    }
    if (p->has_runbook) {
        json_t *s = json_object();
        json_object_set_new(s, "documentName", json_string(p->document_name));
        if (p->document_version[0])
            json_object_set_new(s, "documentVersion", json_string(p->document_version));
        if (p->role[0])
            json_object_set_new(s, "roleArn", json_string(p->role));
        if (p->target_account[0])
            json_object_set_new(s, "targetAccount", json_string(p->target_account));
        if (p->parameters)
            json_object_set(s, "parameters", p->parameters);
        if (p->ndynamic) {
            json_t *d = json_object();
            for (i = 0; i < p->ndynamic; i++)
                json_object_set_new(d, p->dynamic[i].key,
                                    json_string(variable_names[p->dynamic[i].variable]));
            json_object_set_new(s, "dynamicParameters", d);
        }
        json_object_set_new(o, "actions", json_pack("[{so}]", "ssmAutomation", s));
    }
    if (p->related_set) {
        a = json_array();
        for (i = 0; i < p->nrelated; i++)
            json_array_append_new(
                a, json_pack("{ssss}", "title", p->related[i].title, "url", p->related[i].url));
        json_object_set_new(o, "relatedItems", a);
    }
    if (p->chat_channel)
        json_object_set(o, "chatChannel", p->chat_channel);
    if (p->tags)
        json_object_set(o, "tags", p->tags);
    return o;
}

int response_plan_from_json(struct response_plan *p, const json_t *v, struct cordon_diag *diag)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    int r;

    if (!text)
        return CORDON_ENOMEM;
    r = response_plan_from_yaml(p, text, strlen(text), "<json>", diag);
    free(text);
    return r;
}

int response_plan_to_yaml(const struct response_plan *p, struct buf *out, int indent)
{
    json_t *j = response_plan_to_json(p);
    int r;

    if (!j)
        return CORDON_ENOMEM;
    r = incident_yaml_emit(out, j, indent);
    json_decref(j);
    return r;
}

/* ---- stack kind (lib/stack.h) ------------------------------------------------- */

static int kind_parse(struct fy_node *node, const char *file, void **obj, struct cordon_diag *diag)
{
    struct response_plan *p = malloc(sizeof(*p));
    int r;

    *obj = NULL;
    if (!p)
        return CORDON_ENOMEM;
    response_plan_init(p);
    r = response_plan_from_node(p, node, file, diag);
    if (r) {
        response_plan_free(p);
        free(p);
        return r;
    }
    *obj = p;
    return 0;
}

static const char *kind_name(const void *obj)
{
    return ((const struct response_plan *)obj)->name;
}

static int kind_write(const void *obj, struct fy_document *fyd, struct fy_node **out)
{
    struct buf b;
    int r;

    *out = NULL;
    buf_init(&b, INCIDENT_YAML_MAX_BYTES);
    r = response_plan_to_yaml(obj, &b, 0);
    if (r) {
        buf_free(&b);
        return r;
    }
    return incident_yaml_node_take(fyd, &b, out);
}

static int kind_compare(const void *a, const void *b, char *reason, size_t size)
{
    json_t *ja = response_plan_to_json(a), *jb = response_plan_to_json(b);
    int r = incident_json_compare(ja, jb, reason, size);

    json_decref(ja);
    json_decref(jb);
    return r;
}

static void kind_free(void *obj)
{
    if (obj)
        response_plan_free(obj);
    free(obj);
}

const struct stack_kind response_plan_stack_kind = {
    .key = "responsePlans",
    .kind = "responsePlan",
    .parse = kind_parse,
    .name = kind_name,
    .write = kind_write,
    .compare = kind_compare,
    .free = kind_free,
};
