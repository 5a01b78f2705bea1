/*
 * plugin.c — entry points of cordon_mosquitto.so, its options, the control
 * channel ($CONTROL/cordon/v1) and the TICK handler (queued kicks, metrics).
 *
 * Only the three mosquitto_plugin_* symbols are exported (visibility hidden
 * plus a version script). See docs/broker.md.
 */
#include "broker.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CORDON_EXPORT __attribute__((visibility("default")))

#define DEFAULT_SERVER_IDENTITY  "cordond"
#define DEFAULT_METRICS_INTERVAL 60
#define DEFAULT_OPSLIMIT         2ULL
#define DEFAULT_MEMLIMIT         (19U * 1024U * 1024U) /* OWASP's Argon2id floor: 19 MiB, t=2 */
#define METRICS_INTERVAL_MAX     86400
#define ERR_MAX                  512

static struct plugin *plugin_g; /* the broker loads one instance; needed by cleanup */

/* ---- kicks ------------------------------------------------------------- */

void plugin__queue_kick(struct plugin *p, enum kick_by by, const char *name)
{
    struct kick *k;

    if (strlen(name) > KICK_NAME_MAX)
        return;
    for (size_t i = 0; i < p->n_kicks; i++)
        if (p->kicks[i].by == by && !strcmp(p->kicks[i].name, name))
            return;
    if (p->n_kicks == KICK_QUEUE_MAX)
        return; /* the next check of that client queues it again */
    k = &p->kicks[p->n_kicks++];
    k->by = by;
    snprintf(k->name, sizeof(k->name), "%s", name);
}

static void plugin__run_kicks(struct plugin *p)
{
    size_t n = p->n_kicks;

    p->n_kicks = 0; /* a kick's DISCONNECT callback may not queue into what we iterate */
    for (size_t i = 0; i < n; i++) {
        struct kick k = p->kicks[i];
        int rc = k.by == KICK_USERNAME ? mosquitto_kick_client_by_username(k.name, false)
                                       : mosquitto_kick_client_by_clientid(k.name, false);
        if (rc == MOSQ_ERR_SUCCESS)
            mosquitto_log_printf(MOSQ_LOG_NOTICE, "cordon: kicked %s %s",
                                 k.by == KICK_USERNAME ? "identity" : "client id", k.name);
    }
}

int64_t plugin__monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int plugin__tick_cb(int event, void *event_data, void *userdata)
{
    struct plugin *p = userdata;
    (void)event;
    (void)event_data; /* 2.0.11 leaves its time fields 0: read our own clock */

    if (p->n_kicks)
        plugin__run_kicks(p);
    metrics__tick(p, plugin__monotonic_ms());
    return MOSQ_ERR_SUCCESS;
}

/* ---- control channel --------------------------------------------------- */

static void plugin__state_of(struct plugin *p, struct control_state *s, bool *nomem)
{
    struct ident *id, *tmp;
    size_t n = HASH_COUNT(p->idents);

    memset(s, 0, sizeof(*s));
    if (n == 0)
        return;
    s->quarantined = calloc(n, sizeof(char *));
    s->revoked = calloc(n, sizeof(char *));
    s->identities = calloc(n, sizeof(char *));
    s->thing_policies = calloc(n, sizeof(char *));
    if (!s->quarantined || !s->revoked || !s->identities || !s->thing_policies) {
        *nomem = true;
        return;
    }
    HASH_ITER(hh, p->idents, id, tmp)
    {
        /* the names are borrowed from the table; plugin__control_cb frees only the arrays */
        if (id->quarantined)
            s->quarantined[s->n_quarantined++] = id->name;
        if (id->revoked)
            s->revoked[s->n_revoked++] = id->name;
        if (id->cred != CRED_NONE)
            s->identities[s->n_identities++] = id->name;
        if (id->has_policy)
            s->thing_policies[s->n_thing_policies++] = id->name;
    }
}

static void plugin__forget_creds(struct ident *id)
{
    id->cred = CRED_NONE;
    sodium_memzero(id->hash, sizeof(id->hash));
    id->cache_valid = false;
    id->last_fail_ms = 0;
}

/*
 * Apply one valid command. Returns true when the persistent state changed.
 * Failures are written into r (ok = false).
 */
static bool plugin__apply(struct plugin *p, const struct control_cmd *c, struct control_response *r)
{
    struct ident *id;
    struct control_policy copy;
    bool nomem = false;

    r->ok = true;
    switch (c->type) {
    case CONTROL_CMD_QUARANTINE:
        if (!(id = state__get(p, c->thing)))
            goto nomem;
        if (id->quarantined)
            return false;
        id->quarantined = true;
        plugin__queue_kick(p, KICK_USERNAME, c->thing);
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cordon: quarantined %s", c->thing);
        return true;
    case CONTROL_CMD_RELEASE:
        id = state__find(p, c->thing);
        if (!id || !id->quarantined)
            return false;
        id->quarantined = false;
        plugin__queue_kick(p, KICK_USERNAME, c->thing);
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cordon: released %s", c->thing);
        state__maybe_drop(p, id);
        return true;
    case CONTROL_CMD_SET_CREDENTIALS: {
        char hash[CONTROL_SECRET_MAX + 1];
        if (!strcmp(c->thing, p->server_identity)) {
            snprintf(r->error, sizeof(r->error), "%s is the server identity (set by options)",
                     c->thing);
            r->ok = false;
            return false;
        }
        if (c->cred_kind == CONTROL_CRED_PASSWORD && auth__hash(p, c->secret, hash)) {
            snprintf(r->error, sizeof(r->error), "cannot hash the password");
            r->ok = false;
            return false;
        }
        if (!(id = state__get(p, c->thing)))
            goto nomem;
        plugin__forget_creds(id);
        id->revoked = false;
        if (c->cred_kind == CONTROL_CRED_CERTIFICATE) {
            id->cred = CRED_CERTIFICATE;
            snprintf(id->hash, sizeof(id->hash), "%s", c->secret); /* pinned SHA-256 or "" */
            id->last_client = NULL; /* re-check the certificate of every session */
            id->last_refused = NULL;
        } else {
            id->cred = CRED_PASSWORD;
            snprintf(id->hash, sizeof(id->hash), "%s",
                     c->cred_kind == CONTROL_CRED_PASSWORD ? hash : c->secret);
        }
        sodium_memzero(hash, sizeof(hash));
        return true;
    }
    case CONTROL_CMD_REVOKE:
        if (!(id = state__get(p, c->thing)))
            goto nomem;
        plugin__forget_creds(id);
        id->revoked = true;
        plugin__queue_kick(p, KICK_USERNAME, c->thing);
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cordon: revoked %s", c->thing);
        return true;
    case CONTROL_CMD_DELETE:
        if (!(id = state__find(p, c->thing)) || id->cred == CRED_NONE)
            return false;
        plugin__forget_creds(id);
        plugin__queue_kick(p, KICK_USERNAME, c->thing);
        state__maybe_drop(p, id);
        return true;
    case CONTROL_CMD_SET_POLICY:
        if (c->scope == CONTROL_SCOPE_THING && c->clear) {
            if (!(id = state__find(p, c->thing)) || !id->has_policy)
                return false;
            control_policy_free(&id->policy);
            id->has_policy = false;
            state__maybe_drop(p, id);
            return true;
        }
        if (control_policy_copy(&copy, &c->policy))
            goto nomem;
        if (c->scope == CONTROL_SCOPE_DEFAULT) {
            control_policy_free(&p->default_policy);
            p->default_policy = copy;
            p->default_custom = true;
        } else if (c->scope == CONTROL_SCOPE_QUARANTINE) {
            control_policy_free(&p->quarantine_policy);
            p->quarantine_policy = copy;
            p->quarantine_custom = true;
        } else {
            if (!(id = state__get(p, c->thing))) {
                control_policy_free(&copy);
                goto nomem;
            }
            control_policy_free(&id->policy);
            id->policy = copy;
            id->has_policy = true;
        }
        return true;
    case CONTROL_CMD_GET_STATE:
        r->has_state = true;
        plugin__state_of(p, &r->state, &nomem);
        if (nomem)
            goto nomem;
        return false;
    case CONTROL_CMD_KICK:
        plugin__queue_kick(p, KICK_USERNAME, c->thing);
        return false;
    }
    snprintf(r->error, sizeof(r->error), "unsupported command");
    r->ok = false;
    return false;
nomem:
    snprintf(r->error, sizeof(r->error), "out of memory");
    r->ok = false;
    return false;
}

static void plugin__respond(struct control_response *v, size_t n)
{
    struct buf out;

    buf_init(&out, CONTROL_RESPONSE_MAX_BYTES);
    if (control_responses_encode(v, n, &out) == 0)
        mosquitto_broker_publish_copy(NULL, CONTROL_RESPONSE_TOPIC, (int)out.len, out.ptr, 1, false,
                                      NULL);
    else
        mosquitto_log_printf(MOSQ_LOG_WARNING, "cordon: cannot encode a control response");
    buf_free(&out);
}

static int plugin__control_cb(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_control *ev = event_data;
    struct plugin *p = userdata;
    const char *user = mosquitto_client_username(ev->client);
    struct control_batch b;
    struct control_response *resp;
    struct cordon_diag diag;
    bool changed = false;
    bool *mutating;
    int rc;
    (void)event;

    if (!user || strcmp(user, p->server_identity)) {
        /* the ACL already denies this; defense in depth */
        mosquitto_log_printf(MOSQ_LOG_WARNING, "cordon: control message from %s refused",
                             user ? user : "(anonymous)");
        return MOSQ_ERR_ACL_DENIED;
    }
    rc = control_batch_decode(&b, ev->payload, ev->payloadlen, &diag);
    if (rc) {
        struct control_response e;
        memset(&e, 0, sizeof(e));
        snprintf(e.error, sizeof(e.error), "%.250s", diag.message[0] ? diag.message : "invalid");
        plugin__respond(&e, 1);
        control_batch_free(&b);
        return MOSQ_ERR_SUCCESS;
    }
    resp = calloc(b.n, sizeof(*resp));
    mutating = calloc(b.n, sizeof(*mutating));
    if (!resp || !mutating) {
        free(resp);
        free(mutating);
        control_batch_free(&b);
        return MOSQ_ERR_NOMEM;
    }
    for (size_t i = 0; i < b.n; i++) {
        snprintf(resp[i].command, sizeof(resp[i].command), "%s", b.names[i]);
        snprintf(resp[i].correlation_id, sizeof(resp[i].correlation_id), "%s",
                 b.cmds[i].correlation_id);
        if (b.errors[i][0]) {
            resp[i].ok = false;
            snprintf(resp[i].error, sizeof(resp[i].error), "%s", b.errors[i]);
            continue;
        }
        mutating[i] = plugin__apply(p, &b.cmds[i], &resp[i]);
        changed |= mutating[i];
    }
    if (changed) {
        char err[ERR_MAX];
        if (state__save(p, err, sizeof(err)) != MOSQ_ERR_SUCCESS) {
            mosquitto_log_printf(MOSQ_LOG_ERR, "cordon: state not persisted: %s", err);
            for (size_t i = 0; i < b.n; i++)
                if (mutating[i]) {
                    resp[i].ok = false;
                    snprintf(resp[i].error, sizeof(resp[i].error),
                             "applied but not persisted: %.200s", err);
                }
        }
    }
    plugin__respond(resp, b.n);
    for (size_t i = 0; i < b.n; i++) {
        /* state names are borrowed (plugin__state_of): free the arrays only */
        free(resp[i].state.quarantined);
        free(resp[i].state.revoked);
        free(resp[i].state.identities);
        free(resp[i].state.thing_policies);
    }
    free(resp);
    free(mutating);
    control_batch_free(&b);
    return MOSQ_ERR_SUCCESS;
}

/* ---- options ----------------------------------------------------------- */

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    unsigned long long v;

    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes"))
        *out = true;
    else if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no"))
        *out = false;
    else
        return false;
    return true;
}

static int plugin__options(struct plugin *p, struct mosquitto_opt *opts, int n, char *err,
                           size_t errlen)
{
    const char *pwfile = NULL;
    unsigned long long v;

    for (int i = 0; i < n; i++) {
        const char *k = opts[i].key, *val = opts[i].value ? opts[i].value : "";
        if (!strcmp(k, "state_file")) {
            free(p->state_file);
            if (!(p->state_file = strdup(val)))
                return MOSQ_ERR_NOMEM;
        } else if (!strcmp(k, "server_identity")) {
            if (!control_identity_valid(val, strlen(val))) {
                snprintf(err, errlen, "plugin_opt_server_identity \"%s\" is not a valid identity",
                         val);
                return MOSQ_ERR_INVAL;
            }
            snprintf(p->server_identity, sizeof(p->server_identity), "%s", val);
        } else if (!strcmp(k, "server_password_file")) {
            pwfile = val;
        } else if (!strcmp(k, "metrics_interval")) {
            if (!parse_uint(val, METRICS_INTERVAL_MAX, &v)) {
                snprintf(err, errlen, "plugin_opt_metrics_interval \"%s\": seconds 0..%d expected",
                         val, METRICS_INTERVAL_MAX);
                return MOSQ_ERR_INVAL;
            }
            p->metrics_interval_ms = (int64_t)v * 1000;
        } else if (!strcmp(k, "clientid_must_match")) {
            if (!parse_bool(val, &p->clientid_must_match)) {
                snprintf(err, errlen, "plugin_opt_clientid_must_match \"%s\": true or false", val);
                return MOSQ_ERR_INVAL;
            }
        } else if (!strcmp(k, "pwhash_opslimit")) {
            if (!parse_uint(val, crypto_pwhash_OPSLIMIT_MAX, &v) ||
                v < crypto_pwhash_OPSLIMIT_MIN) {
                snprintf(err, errlen, "plugin_opt_pwhash_opslimit \"%s\": %llu.. expected", val,
                         (unsigned long long)crypto_pwhash_OPSLIMIT_MIN);
                return MOSQ_ERR_INVAL;
            }
            p->opslimit = v;
        } else if (!strcmp(k, "pwhash_memlimit")) {
            if (!parse_uint(val, (unsigned long long)1 << 32, &v) ||
                v < crypto_pwhash_MEMLIMIT_MIN) {
                snprintf(err, errlen, "plugin_opt_pwhash_memlimit \"%s\": bytes %llu.. expected",
                         val, (unsigned long long)crypto_pwhash_MEMLIMIT_MIN);
                return MOSQ_ERR_INVAL;
            }
            p->memlimit = (size_t)v;
        } else {
            snprintf(err, errlen, "unknown option plugin_opt_%s (see docs/broker.md)", k);
            return MOSQ_ERR_INVAL;
        }
    }
    if (!p->state_file || !p->state_file[0]) {
        snprintf(err, errlen,
                 "plugin_opt_state_file is required (quarantine must survive "
                 "restarts)");
        return MOSQ_ERR_INVAL;
    }
    /* after the hashing limits are known: a plaintext password is hashed at load */
    if (pwfile)
        return auth__load_server_password(p, pwfile, err, errlen);
    return MOSQ_ERR_SUCCESS;
}

/* ---- entry points ------------------------------------------------------ */

static void plugin__free(struct plugin *p)
{
    if (!p)
        return;
    state__free(p);
    free(p->state_file);
    sodium_memzero(p, sizeof(*p));
    free(p);
}

CORDON_EXPORT int mosquitto_plugin_version(int supported_version_count,
                                           const int *supported_versions)
{
    for (int i = 0; i < supported_version_count; i++)
        if (supported_versions[i] == 5)
            return 5;
    return -1;
}

CORDON_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                                        struct mosquitto_opt *options, int option_count)
{
    struct plugin *p;
    char err[ERR_MAX] = "";
    int rc;

    if (sodium_init() < 0) {
        mosquitto_log_printf(MOSQ_LOG_ERR, "cordon: libsodium failed to initialise");
        return MOSQ_ERR_UNKNOWN;
    }
    p = calloc(1, sizeof(*p));
    if (!p)
        return MOSQ_ERR_NOMEM;
    p->pid = identifier;
    snprintf(p->server_identity, sizeof(p->server_identity), "%s", DEFAULT_SERVER_IDENTITY);
    p->metrics_interval_ms = (int64_t)DEFAULT_METRICS_INTERVAL * 1000;
    p->clientid_must_match = true;
    p->opslimit = DEFAULT_OPSLIMIT;
    p->memlimit = DEFAULT_MEMLIMIT;
    randombytes_buf(p->mac_key, sizeof(p->mac_key));

    rc = state__builtin_policies(p);
    if (rc)
        goto fail;
    rc = plugin__options(p, options, option_count, err, sizeof(err));
    if (rc)
        goto fail;
    rc = state__load(p, err, sizeof(err));
    if (rc) {
        snprintf(err + strlen(err), sizeof(err) - strlen(err),
                 "; refusing to start (fail closed): fix or restore the file");
        goto fail;
    }
    /* rewrite it now: a state file we cannot write must stop us at start, not at the first
     * quarantine */
    rc = state__save(p, err, sizeof(err));
    if (rc) {
        snprintf(err + strlen(err), sizeof(err) - strlen(err),
                 "; refusing to start: quarantine could not be persisted");
        goto fail;
    }
    p->next_metrics_ms = plugin__monotonic_ms() + p->metrics_interval_ms;

    if ((rc = mosquitto_callback_register(p->pid, MOSQ_EVT_BASIC_AUTH, auth__basic_auth_cb, NULL,
                                          p)) ||
        (rc = mosquitto_callback_register(p->pid, MOSQ_EVT_ACL_CHECK, acl__check_cb, NULL, p)) ||
        (rc = mosquitto_callback_register(p->pid, MOSQ_EVT_CONTROL, plugin__control_cb,
                                          CONTROL_TOPIC, p)) ||
        (rc = mosquitto_callback_register(p->pid, MOSQ_EVT_TICK, plugin__tick_cb, NULL, p)) ||
        (rc = mosquitto_callback_register(p->pid, MOSQ_EVT_DISCONNECT, metrics__disconnect_cb, NULL,
                                          p))) {
        snprintf(err, sizeof(err), "cannot register callbacks (error %d)", rc);
        goto fail;
    }
    mosquitto_log_printf(MOSQ_LOG_INFO,
                         "cordon: plugin ready: %u identities, state %s, server identity %s",
                         HASH_COUNT(p->idents), p->state_file, p->server_identity);
    *userdata = p;
    plugin_g = p;
    return MOSQ_ERR_SUCCESS;
fail:
    mosquitto_log_printf(MOSQ_LOG_ERR, "cordon: %s", err[0] ? err : "out of memory");
    plugin__free(p);
    return rc ? rc : MOSQ_ERR_UNKNOWN;
}

CORDON_EXPORT int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options,
                                           int option_count)
{
    struct plugin *p = userdata ? userdata : plugin_g;
    (void)options;
    (void)option_count;

    if (!p)
        return MOSQ_ERR_SUCCESS;
    mosquitto_callback_unregister(p->pid, MOSQ_EVT_BASIC_AUTH, auth__basic_auth_cb, NULL);
    mosquitto_callback_unregister(p->pid, MOSQ_EVT_ACL_CHECK, acl__check_cb, NULL);
    mosquitto_callback_unregister(p->pid, MOSQ_EVT_CONTROL, plugin__control_cb, CONTROL_TOPIC);
    mosquitto_callback_unregister(p->pid, MOSQ_EVT_TICK, plugin__tick_cb, NULL);
    mosquitto_callback_unregister(p->pid, MOSQ_EVT_DISCONNECT, metrics__disconnect_cb, NULL);
    plugin__free(p);
    plugin_g = NULL;
    return MOSQ_ERR_SUCCESS;
}
