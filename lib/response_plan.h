/*
 * response_plan.h — response plans (incident-response-spec.md §2–§4,
 * seed-scenario.md §2.5/§2.8): what an incident started from a trigger
 * looks like, who is engaged, which runbook starts, which links are added.
 *
 * Text fields of the incident template and related-item URLs are templates
 * with {{ variable }} references, checked at load time (an unknown variable
 * is an error with its line). Variables (struct response_plan_vars):
 *   violationId, thingName, securityProfileName, behaviorName, metricName,
 *   responsePlanName, consoleBaseUrl
 * In related-item URLs every value except consoleBaseUrl is percent-encoded.
 *
 * Caller-allocated: response_plan_init / response_plan_free.
 * Format: docs/incidents.md.
 */
#ifndef CORDON_RESPONSE_PLAN_H
#define CORDON_RESPONSE_PLAN_H

#include "buf.h"
#include "contact.h"
#include "cordon.h"

#include <jansson.h>
#include <libfyaml.h>
#include <stdbool.h>

#define RESPONSE_PLAN_NAME_MAX             200
#define RESPONSE_PLAN_DISPLAY_NAME_MAX     200
#define RESPONSE_PLAN_TITLE_MAX            200
#define RESPONSE_PLAN_SUMMARY_MAX          8000
#define RESPONSE_PLAN_DEDUPE_MAX           1000
#define RESPONSE_PLAN_TARGETS_MAX          10   /* notificationTargets */
#define RESPONSE_PLAN_TARGET_MAX           1024 /* an MQTT topic or webhook URL */
#define RESPONSE_PLAN_ENGAGEMENTS_MAX      5
#define RESPONSE_PLAN_RELATED_MAX          10 /* related-item templates */
#define RESPONSE_PLAN_URL_MAX              2000
#define RESPONSE_PLAN_DOCUMENT_NAME_MAX    128
#define RESPONSE_PLAN_DOCUMENT_VERSION_MAX 128
#define RESPONSE_PLAN_PARAMS_MAX           50 /* static + dynamic parameters */
#define RESPONSE_PLAN_PARAM_KEY_MAX        50
#define RESPONSE_PLAN_PARAM_VALUES_MAX     100
#define RESPONSE_PLAN_PARAM_VALUE_MAX      512
#define RESPONSE_PLAN_TAGS_MAX             50
#define RESPONSE_PLAN_TAG_MAX              256 /* tag key or value */
#define RESPONSE_PLAN_ROLE_MAX             1000

/* Default dedupe template for violations (Cordon rule, spec §7). */
#define RESPONSE_PLAN_DEFAULT_DEDUPE "{{thingName}}/{{securityProfileName}}/{{behaviorName}}"

enum response_plan_target_type { RESPONSE_PLAN_TARGET_MQTT, RESPONSE_PLAN_TARGET_WEBHOOK };

struct response_plan_target {
    enum response_plan_target_type type;
    char value[RESPONSE_PLAN_TARGET_MAX + 1];
};

enum response_plan_variable {
    RESPONSE_PLAN_VAR_INCIDENT_RECORD_ARN,
    RESPONSE_PLAN_VAR_INVOLVED_RESOURCES,
};

struct response_plan_dynamic {
    char key[RESPONSE_PLAN_PARAM_KEY_MAX + 1];
    enum response_plan_variable variable;
};

struct response_plan_related {
    char title[RESPONSE_PLAN_TITLE_MAX + 1];
    char url[RESPONSE_PLAN_URL_MAX + 1]; /* template */
};

struct response_plan {
    char name[RESPONSE_PLAN_NAME_MAX + 1];
    char display_name[RESPONSE_PLAN_DISPLAY_NAME_MAX + 1];
    /* incidentTemplate */
    char title[RESPONSE_PLAN_TITLE_MAX + 1];
    int impact;
    char summary[RESPONSE_PLAN_SUMMARY_MAX + 1];
    char dedupe[RESPONSE_PLAN_DEDUPE_MAX + 1]; /* "" = not set */
    json_t *incident_tags;                     /* object string → string, or NULL */
    size_t ntargets;
    struct response_plan_target targets[RESPONSE_PLAN_TARGETS_MAX];
    /* engagements: contact aliases (personal or escalation) */
    size_t nengagements;
    char engagements[RESPONSE_PLAN_ENGAGEMENTS_MAX][256];
    /* actions[0].ssmAutomation */
    bool has_runbook;
    char document_name[RESPONSE_PLAN_DOCUMENT_NAME_MAX + 1];
    char document_version[RESPONSE_PLAN_DOCUMENT_VERSION_MAX + 1];
    char role[RESPONSE_PLAN_ROLE_MAX + 1];
    char target_account[32];
    json_t *parameters; /* object key → array of strings, or NULL */
    size_t ndynamic;
    struct response_plan_dynamic dynamic[RESPONSE_PLAN_PARAMS_MAX];
    /* relatedItems; when the key is absent the §2.8 defaults apply */
    bool related_set;
    size_t nrelated;
    struct response_plan_related related[RESPONSE_PLAN_RELATED_MAX];
    json_t *chat_channel; /* kept for round-trip, or NULL */
    json_t *tags;         /* object, or NULL */
};

/* Values for template variables; NULL fields render as "". */
struct response_plan_vars {
    const char *violation_id;
    const char *thing_name;
    const char *profile;
    const char *behavior;
    const char *metric;
    const char *plan_name;
    const char *console_base_url; /* no trailing slash needed; one is stripped */
};

void response_plan_init(struct response_plan *p);
void response_plan_free(struct response_plan *p);

/*
 * Read one response plan from a YAML mapping node (a stack.yaml loader calls
 * this per object). Unknown keys, missing required fields, bad limits and
 * unknown template variables fail with CORDON_EINVAL and a diag
 * "file:line:col: path: expected ...". On failure *p holds partial data;
 * call response_plan_free either way.
 */
int response_plan_from_node(struct response_plan *p, struct fy_node *node, const char *file,
                            struct cordon_diag *diag);
/* Parse a whole YAML or JSON document holding one response plan. */
int response_plan_from_yaml(struct response_plan *p, const char *text, size_t len, const char *file,
                            struct cordon_diag *diag);
/* JSON for the API and the store (same field names as YAML). New reference or NULL. */
json_t *response_plan_to_json(const struct response_plan *p);
int response_plan_from_json(struct response_plan *p, const json_t *v, struct cordon_diag *diag);
/* Block YAML for `cordon export`; loading it back gives an equal plan. */
int response_plan_to_yaml(const struct response_plan *p, struct buf *out, int indent);

/*
 * Render a template. url_mode percent-encodes every value except
 * consoleBaseUrl. Fails with CORDON_EINVAL on an unknown variable (never
 * renders it literally), CORDON_ETOOBIG past the buffer's cap.
 */
int response_plan_render(const char *tmpl, const struct response_plan_vars *vars, bool url_mode,
                         struct buf *out);
/* Check a template; on an unknown variable returns CORDON_EINVAL and copies
 * its name to bad (size 64). */
int response_plan_template_check(const char *tmpl, char *bad);

/* Every engagement names a contact of the book (personal or escalation);
 * CORDON_EINVAL with "responsePlan NAME: engagements[i]: no contact ..." otherwise. */
int response_plan_check_contacts(const struct response_plan *p, const struct contact_book *book,
                                 struct cordon_diag *diag);

/* The related-item templates in effect (the plan's, or the §2.8 defaults). */
size_t response_plan_related_items(const struct response_plan *p,
                                   const struct response_plan_related **items);

/* Stack kind (lib/stack.h) for `responsePlans:`; objects are struct response_plan. */
struct stack_kind;
extern const struct stack_kind response_plan_stack_kind;

#endif
