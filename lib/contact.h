/*
 * contact.h — contacts, their channels and engagement plans (Incident
 * Manager's ssm-contacts model, incident-response-spec.md §10–§12).
 *
 * A PERSONAL contact owns channels (EMAIL, SMS, VOICE, and Cordon's
 * WEBHOOK) and a plan whose stages page channels; an ESCALATION contact's
 * plan stages engage other contacts. Durations are kept in milliseconds;
 * YAML accepts minutes (AWS fields) or seconds (Cordon's durationSeconds /
 * retryIntervalSeconds, so tests and demos run in seconds).
 *
 * Structs are fixed-size and caller-allocated: contact_init / contact_free.
 * Format and rules: docs/paging.md.
 */
#ifndef CORDON_CONTACT_H
#define CORDON_CONTACT_H

#include "buf.h"
#include "cordon.h"

#include <jansson.h>
#include <libfyaml.h>
#include <stdbool.h>
#include <stdint.h>

#define CONTACT_ALIAS_MAX        255 /* [a-z0-9_-], 1..255 */
#define CONTACT_DISPLAY_NAME_MAX 255
#define CONTACT_CHANNEL_NAME_MAX 255 /* [a-zA-Z0-9_-] */
#define CONTACT_ADDRESS_MAX      320
#define CONTACT_CHANNELS_MAX     10                 /* channels per personal contact */
#define CONTACT_STAGES_MAX       10                 /* stages per plan */
#define CONTACT_TARGETS_MAX      10                 /* targets per stage */
#define CONTACT_STAGE_MAX_MS     (30 * 60 * 1000LL) /* durationInMinutes 0..30 */
#define CONTACT_RETRY_MAX_MS     (60 * 60 * 1000LL) /* retryIntervalInMinutes 0..60 */
#define CONTACT_RETRIES_MAX      3                  /* Cordon rule: retries per channel per stage */
#define CONTACT_CODE_MIN         6                  /* activation / accept codes: 6..10 digits */
#define CONTACT_CODE_MAX         10
#define CONTACT_BOOK_MAX         1000 /* contacts in one book */

enum contact_type { CONTACT_PERSONAL, CONTACT_ESCALATION };

enum contact_channel_type {
    CONTACT_CHANNEL_EMAIL,
    CONTACT_CHANNEL_SMS,
    CONTACT_CHANNEL_VOICE,
    CONTACT_CHANNEL_WEBHOOK,
};

enum contact_webhook_format {
    CONTACT_WEBHOOK_GENERIC,
    CONTACT_WEBHOOK_SLACK,
    CONTACT_WEBHOOK_MATTERMOST,
};

struct contact_channel {
    char name[CONTACT_CHANNEL_NAME_MAX + 1];
    enum contact_channel_type type;
    enum contact_webhook_format format; /* WEBHOOK only */
    char address[CONTACT_ADDRESS_MAX + 1];
    bool activated;
    /* Pending activation code (digits), "" when none; server state, not config. */
    char activation_code[CONTACT_CODE_MAX + 1];
};

/* A stage target: a channel (personal plan) or a contact (escalation plan). */
struct contact_target {
    char name[CONTACT_ALIAS_MAX + 1]; /* channel name or contact alias */
    int64_t retry_interval_ms;        /* personal: 0 = no retry */
    bool essential;                   /* escalation: isEssential */
    bool retry_in_seconds;            /* written back as retryIntervalSeconds */
};

struct contact_stage {
    int64_t duration_ms;
    bool duration_in_seconds; /* written back as durationSeconds */
    size_t ntargets;
    struct contact_target targets[CONTACT_TARGETS_MAX];
};

struct contact {
    char alias[CONTACT_ALIAS_MAX + 1];
    char display_name[CONTACT_DISPLAY_NAME_MAX + 1];
    enum contact_type type;
    size_t nchannels;
    struct contact_channel channels[CONTACT_CHANNELS_MAX];
    size_t nstages;
    struct contact_stage stages[CONTACT_STAGES_MAX];
};

/* A set of contacts, looked up by alias (the engagement engine's view of config). */
struct contact_book {
    struct contact **items;
    size_t n;
    size_t alloc;
};

const char *contact_type_name(enum contact_type t);
const char *contact_channel_type_name(enum contact_channel_type t);
const char *contact_webhook_format_name(enum contact_webhook_format f);

/* Zero a contact (it owns no heap memory; contact_free is for symmetry). */
void contact_init(struct contact *c);
void contact_free(struct contact *c);

/*
 * Read one contact from a YAML mapping node (a stack.yaml loader calls this
 * per object). `file` names the input in messages. Validates every field
 * and limit; cross-references (channel names inside the plan) are checked
 * here; contact aliases in an escalation plan are checked by
 * contact_book_validate. On failure returns CORDON_EINVAL with diag set to
 * "file:line:col: path: expected ...", and *c is unspecified.
 */
int contact_from_node(struct contact *c, struct fy_node *node, const char *file,
                      struct cordon_diag *diag);
/* Same, with the type optional: default_type (CONTACT_PERSONAL or
 * CONTACT_ESCALATION) applies when the node has no `type`; with
 * CONTACT_ESCALATION a PERSONAL type is an error. -1 = type required. */
int contact_from_node_as(struct contact *c, struct fy_node *node, const char *file,
                         int default_type, struct cordon_diag *diag);
/* Parse a whole YAML or JSON document holding one contact. */
int contact_from_yaml(struct contact *c, const char *text, size_t len, const char *file,
                      struct cordon_diag *diag);

/*
 * JSON form for the API and the store (same field names as the YAML).
 * with_state adds server state (pending activation codes). Returns a new
 * reference, NULL on allocation failure.
 */
json_t *contact_to_json(const struct contact *c, bool with_state);
/* Decode a JSON value produced by contact_to_json (or an API body). */
int contact_from_json(struct contact *c, const json_t *v, struct cordon_diag *diag);
/* Append the contact as block YAML (a sequence item if item is set) for `cordon export`. */
int contact_to_yaml(const struct contact *c, struct buf *out, int indent);

/* Channel by name, or NULL. */
struct contact_channel *contact_channel_find(const struct contact *c, const char *name);

/*
 * Activation (§10). begin: store a fresh code made of `ndigits` digits
 * (6..10) from the caller's random bytes and copy it to code_out (size
 * CONTACT_CODE_MAX+1): the caller sends it to the channel. activate: compare
 * with the pending code; CORDON_EINVAL on mismatch, CORDON_ESTATE when no
 * activation is pending. deactivate: the channel is never paged again
 * until re-activated.
 */
int contact_channel_begin_activation(struct contact_channel *ch, const uint8_t *random,
                                     size_t nrandom, int ndigits, char *code_out);
int contact_channel_activate(struct contact_channel *ch, const char *code);
void contact_channel_deactivate(struct contact_channel *ch);

/* Turn random bytes into ndigits decimal digits (uniform, rejection sampling
 * over the bytes given; needs at least ndigits*2 bytes). Returns 0 or
 * CORDON_EINVAL when the bytes run out. */
int contact_code_from_random(const uint8_t *random, size_t nrandom, int ndigits, char *out);

void contact_book_init(struct contact_book *b);
/* Frees every contact in the book. */
void contact_book_free(struct contact_book *b);
/* Add a contact; the book takes ownership of c (malloc'd) on success only.
 * CORDON_EEXIST when the alias is taken. */
int contact_book_add(struct contact_book *b, struct contact *c);
const struct contact *contact_book_find(const struct contact_book *b, const char *alias);
/* Every escalation target names a PERSONAL contact of the book (no nested escalation). */
int contact_book_validate(const struct contact_book *b, struct cordon_diag *diag);
/*
 * Load a YAML document that is either one contact mapping, a sequence of
 * contacts, or a mapping with a `contacts:` sequence (stack.yaml shape; other
 * top-level keys are ignored there) into the book, then validate it.
 */
int contact_book_load_yaml(struct contact_book *b, const char *text, size_t len, const char *file,
                           struct cordon_diag *diag);

/*
 * Stack kinds (lib/stack.h) for configuration as code: `contacts:` (type
 * optional, default PERSONAL) and `escalationPlans:` (type optional,
 * ESCALATION). Objects are struct contact, named by alias. Escalation
 * targets are checked against the whole book by contact_book_validate.
 */
struct stack_kind;
extern const struct stack_kind contact_stack_kind;
extern const struct stack_kind contact_stack_kind_escalation;

#endif
