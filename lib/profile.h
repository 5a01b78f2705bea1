/*
 * profile.h — security profiles: load from YAML (libfyaml) with
 * file:line:column errors, write back to YAML, compare.
 *
 * Spec: shared/reference/device-defender-spec.md §4, §8;
 * seed-scenario.md §2.2–2.4. Docs: docs/detect.md ("Profile format").
 *
 * A document holds one profile (a mapping with securityProfileName) or a
 * list of them under `securityProfiles:`. Unknown keys are errors.
 *
 * Ownership: a struct profile owns everything it points to; profile_free()
 * releases it. A struct profile_set owns its profiles.
 */
#ifndef CORDON_PROFILE_H
#define CORDON_PROFILE_H

#include "behavior.h"
#include "buf.h"
#include "cordon.h"
#include "metric.h"

#include <stdbool.h>
#include <stddef.h>

struct fy_node;

/* ---- limits (docs/detect.md) ------------------------------------------- */
#define PROFILE_NAME_MAX          128
#define PROFILE_DESCRIPTION_MAX   1000
#define PROFILE_BEHAVIORS_MAX     100
#define PROFILE_VALUES_MAX        1000 /* value elements over all behaviors of a profile */
#define PROFILE_TARGETS_MAX       100
#define PROFILE_ALERT_TARGETS_MAX 16
#define PROFILE_MITIGATIONS_MAX   16
#define PROFILE_GROUPS_MAX        10   /* thingGroupNames of one mitigation action */
#define PROFILE_SET_MAX           1000 /* profiles in one set */
#define PROFILE_YAML_MAX          (4 * 1024 * 1024)

enum profile_target_kind {
    PROFILE_TARGET_ALL,          /* all/things */
    PROFILE_TARGET_REGISTERED,   /* all/registered-things */
    PROFILE_TARGET_UNREGISTERED, /* all/unregistered-things */
    PROFILE_TARGET_GROUP,        /* thinggroup/NAME or a bare NAME */
};

struct profile_target {
    enum profile_target_kind kind;
    char *group; /* PROFILE_TARGET_GROUP */
};

enum profile_alert_kind {
    PROFILE_ALERT_MQTT,    /* {type: mqtt, topic: …} */
    PROFILE_ALERT_WEBHOOK, /* {type: webhook, url: …} */
};

struct profile_alert_target {
    enum profile_alert_kind kind;
    char *dest; /* topic or url */
};

enum profile_mitigation_kind {
    PROFILE_MITIGATION_ADD_THINGS_TO_THING_GROUP,
    PROFILE_MITIGATION_REMOVE_THING_FROM_THING_GROUP,
    PROFILE_MITIGATION_REVOKE_CREDENTIALS,
    PROFILE_MITIGATION_PUBLISH_FINDING,
};

struct profile_mitigation {
    enum profile_mitigation_kind kind;
    char **groups; /* thingGroupNames (ADD / REMOVE) */
    size_t ngroups;
    bool override_dynamic_groups;
    char *topic; /* PUBLISH_FINDING */
};

struct profile_retain {
    char *metric;
    char *dimension; /* NULL = none */
    bool dimension_not_in;
    bool export_metric;
};

struct profile {
    char *name;
    char *description; /* NULL = none */
    struct behavior *behaviors;
    size_t nbehaviors;
    struct profile_target *targets;
    size_t ntargets;
    struct profile_alert_target *alert_targets;
    size_t nalert_targets;
    struct profile_mitigation *mitigations;
    size_t nmitigations;
    struct profile_retain *retain; /* additionalMetricsToRetainV2 */
    size_t nretain;
    char *response_plan; /* NULL = none */
    char *export_topic;  /* metricsExportConfig.mqttTopic; NULL = none */
    char *export_role;   /* metricsExportConfig.roleArn (kept for round trip) */
    int line;            /* where the profile starts in its file (1-based) */
};

struct profile_set {
    struct profile *v;
    size_t n;
};

void profile_free(struct profile *p);
void profile_set_init(struct profile_set *set);
void profile_set_free(struct profile_set *set);
/* The profile named name, or NULL. */
const struct profile *profile_set_find(const struct profile_set *set, const char *name);

/*
 * Parse a YAML document buf[0..len) holding one profile or a list under
 * `securityProfiles:` into set (which must be empty/initialised). file
 * names the input in messages. Custom metrics are resolved in cat (may be
 * NULL: then only `aws:` metrics are known). Returns 0, or CORDON_EINVAL /
 * CORDON_ETOOBIG with diag->message
 * "FILE:LINE:COL: PATH: expected …, got …" and diag->line/column set;
 * set is left empty on failure.
 */
int profile_set_parse(struct profile_set *set, const char *file, const char *buf, size_t len,
                      const struct metric_catalog *cat, struct cordon_diag *diag);

/*
 * Parse one profile from a libfyaml mapping node (for loaders of files
 * holding many object kinds). path prefixes field paths in messages (e.g.
 * "securityProfiles[2]", may be "" ). On failure p is freed and zeroed.
 */
int profile_parse_node(struct profile *p, const char *file, const char *path, struct fy_node *node,
                       const struct metric_catalog *cat, struct cordon_diag *diag);

/*
 * Check cross-profile rules of a set (unique names). Returns 0 or
 * CORDON_EINVAL with diag.
 */
int profile_set_check(const struct profile_set *set, const char *file, struct cordon_diag *diag);

/* Append p as a YAML mapping (block style, top level) to out. Load of the
 * output gives an equal profile. */
int profile_write_yaml(const struct profile *p, struct buf *out);
/*
 * Build p as a libfyaml node inside fyd (not attached anywhere), for
 * writers of multi-kind files. Returns 0 and sets *out, or CORDON_ENOMEM
 * with *out NULL.
 */
struct fy_document;
int profile_write_node(const struct profile *p, struct fy_document *fyd, struct fy_node **out);

/* Append a set as `securityProfiles:` list. */
int profile_set_write_yaml(const struct profile_set *set, struct buf *out);

bool profile_equal(const struct profile *a, const struct profile *b);

const char *profile_mitigation_name(enum profile_mitigation_kind k);

#endif
