/*
 * control.c — JSON codec of the broker control channel and the topic-policy
 * matcher. See control.h and docs/broker.md.
 */
#include "control.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THING_TOKEN     "${thing}"
#define THING_TOKEN_LEN 8

/* ---- names ------------------------------------------------------------- */

static const struct {
    enum control_cmd_type type;
    const char *name;
} cmd_names[] = {
    { CONTROL_CMD_QUARANTINE, "quarantine" },
    { CONTROL_CMD_RELEASE, "release" },
    { CONTROL_CMD_SET_CREDENTIALS, "set-credentials" },
    { CONTROL_CMD_REVOKE, "revoke" },
    { CONTROL_CMD_SET_POLICY, "set-policy" },
    { CONTROL_CMD_GET_STATE, "get-state" },
    { CONTROL_CMD_KICK, "kick" },
    { CONTROL_CMD_DELETE, "delete-credentials" },
};

const char *control_cmd_name(enum control_cmd_type t)
{
    for (size_t i = 0; i < sizeof(cmd_names) / sizeof(cmd_names[0]); i++)
        if (cmd_names[i].type == t)
            return cmd_names[i].name;
    return "";
}

static enum control_cmd_type cmd_type_of(const char *name)
{
    for (size_t i = 0; i < sizeof(cmd_names) / sizeof(cmd_names[0]); i++)
        if (!strcmp(cmd_names[i].name, name))
            return cmd_names[i].type;
    return 0;
}

static const char *scope_names[] = { "", "default", "quarantine", "thing" };

/* ---- validation -------------------------------------------------------- */

bool control_identity_valid(const char *s, size_t len)
{
    if (!s || len == 0 || len > CONTROL_IDENTITY_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '+' || c == '#' || c == '/')
            return false;
    }
    return true;
}

bool control_cert_sha256_valid(const char *s)
{
    size_t n = 0;

    if (!s)
        return false;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == CONTROL_CERT_SHA256_HEX;
}

bool control_pattern_valid(const char *p)
{
    size_t len;
    const char *lvl;

    if (!p)
        return false;
    len = strlen(p);
    if (len == 0 || len > CONTROL_PATTERN_MAX)
        return false;
    lvl = p;
    for (;;) {
        const char *end = strchr(lvl, '/');
        size_t n = end ? (size_t)(end - lvl) : strlen(lvl);
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)lvl[i];
            if (c < 0x20 || c == 0x7f)
                return false;
            if ((c == '+' || c == '#') && n != 1)
                return false;
        }
        if (n == 1 && lvl[0] == '#' && end)
            return false; /* '#' must be last */
        if (!end)
            break;
        lvl = end + 1;
    }
    return true;
}

/* ---- matching ---------------------------------------------------------- */

/* Compare one pattern level (with ${thing} tokens) to one topic level. */
static bool level_eq(const char *p, size_t plen, const char *t, size_t tlen, const char *thing,
                     size_t thinglen)
{
    size_t i = 0, j = 0;

    while (i < plen) {
        if (plen - i >= THING_TOKEN_LEN && !memcmp(p + i, THING_TOKEN, THING_TOKEN_LEN)) {
            if (!thing || thinglen == 0 || tlen - j < thinglen || memcmp(t + j, thing, thinglen))
                return false;
            i += THING_TOKEN_LEN;
            j += thinglen;
            continue;
        }
        if (j >= tlen || p[i] != t[j])
            return false;
        i++;
        j++;
    }
    return j == tlen;
}

static size_t level_len(const char *s)
{
    const char *e = strchr(s, '/');
    return e ? (size_t)(e - s) : strlen(s);
}

bool control_topic_match(const char *pattern, const char *topic, const char *thing)
{
    const char *p = pattern, *t = topic;
    size_t thinglen = thing ? strlen(thing) : 0;

    if (!pattern || !topic)
        return false;
    if (topic[0] == '$' && (pattern[0] == '+' || pattern[0] == '#'))
        return false;
    for (;;) {
        size_t pl = level_len(p), tl = level_len(t);
        bool pmore, tmore;

        if (pl == 1 && p[0] == '#')
            return true;
        if (!(pl == 1 && p[0] == '+') && !level_eq(p, pl, t, tl, thing, thinglen))
            return false;
        pmore = p[pl] == '/';
        tmore = t[tl] == '/';
        if (!pmore && !tmore)
            return true;
        if (!tmore)
            return pmore && !strcmp(p + pl + 1, "#");
        if (!pmore)
            return false;
        p += pl + 1;
        t += tl + 1;
    }
}

bool control_filter_within(const char *pattern, const char *filter, const char *thing)
{
    const char *p = pattern, *f = filter;
    size_t thinglen = thing ? strlen(thing) : 0;

    if (!pattern || !filter)
        return false;
    if (filter[0] == '$' && (pattern[0] == '+' || pattern[0] == '#'))
        return false;
    for (;;) {
        size_t pl = level_len(p), fl = level_len(f);
        bool pmore, fmore;

        if (pl == 1 && p[0] == '#')
            return true;
        if (fl == 1 && f[0] == '#')
            return false;
        if (pl == 1 && p[0] == '+') {
            /* any single filter level, '+' included */
        } else if (fl == 1 && f[0] == '+') {
            return false;
        } else if (!level_eq(p, pl, f, fl, thing, thinglen)) {
            return false;
        }
        pmore = p[pl] == '/';
        fmore = f[fl] == '/';
        if (!pmore && !fmore)
            return true;
        if (!fmore)
            return pmore && !strcmp(p + pl + 1, "#");
        if (!pmore)
            return false;
        p += pl + 1;
        f += fl + 1;
    }
}

/* ---- helpers ----------------------------------------------------------- */

static void strlist_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void control_policy_free(struct control_policy *p)
{
    if (!p)
        return;
    strlist_free(p->publish, p->n_publish);
    strlist_free(p->subscribe, p->n_subscribe);
    memset(p, 0, sizeof(*p));
}

static int strlist_copy(char ***dst, size_t *dn, char *const *src, size_t n)
{
    *dst = NULL;
    *dn = 0;
    if (n == 0)
        return 0;
    *dst = calloc(n, sizeof(char *));
    if (!*dst)
        return CORDON_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        (*dst)[i] = strdup(src[i]);
        if (!(*dst)[i]) {
            strlist_free(*dst, i);
            *dst = NULL;
            return CORDON_ENOMEM;
        }
    }
    *dn = n;
    return 0;
}

int control_policy_copy(struct control_policy *dst, const struct control_policy *src)
{
    int result;

    memset(dst, 0, sizeof(*dst));
    result = strlist_copy(&dst->publish, &dst->n_publish, src->publish, src->n_publish);
    if (!result)
        result = strlist_copy(&dst->subscribe, &dst->n_subscribe, src->subscribe, src->n_subscribe);
    if (result)
        control_policy_free(dst);
    return result;
}

static int json_depth(const json_t *j, int depth)
{
    if (depth > CONTROL_MAX_DEPTH)
        return depth;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        int m = depth;
        json_object_foreach((json_t *)j, k, v)
        {
            int d = json_depth(v, depth + 1);
            if (d > m)
                m = d;
        }
        return m;
    }
    if (json_is_array(j)) {
        size_t i;
        json_t *v;
        int m = depth;
        json_array_foreach(j, i, v)
        {
            int d = json_depth(v, depth + 1);
            if (d > m)
                m = d;
        }
        return m;
    }
    return depth;
}

/* Parse data as a JSON object within the limits; NULL with diag on failure. */
static json_t *load_object(const char *data, size_t len, size_t max, int *err,
                           struct cordon_diag *diag)
{
    json_error_t je;
    json_t *root;

    cordon_diag_clear(diag);
    if (len > max) {
        cordon_diag_set(diag, "TooBig", 0, 0, 0, "control message of %zu bytes exceeds %zu", len,
                        max);
        *err = CORDON_ETOOBIG;
        return NULL;
    }
    root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        cordon_diag_set(diag, "InvalidJson", (size_t)je.position, 0, 0,
                        "invalid JSON at byte %d: %s", je.position, je.text);
        *err = CORDON_EINVAL;
        return NULL;
    }
    if (!json_is_object(root)) {
        cordon_diag_set(diag, "InvalidPayload", 0, 0, 0, "control message must be a JSON object");
        json_decref(root);
        *err = CORDON_EINVAL;
        return NULL;
    }
    if (json_depth(root, 1) > CONTROL_MAX_DEPTH) {
        cordon_diag_set(diag, "InvalidPayload", 0, 0, 0, "JSON nested deeper than %d",
                        CONTROL_MAX_DEPTH);
        json_decref(root);
        *err = CORDON_EINVAL;
        return NULL;
    }
    return root;
}

/* ---- command decoding -------------------------------------------------- */

#define CMD_ERR(...) snprintf(err, CONTROL_ERROR_MAX, __VA_ARGS__)

/* Copy a bounded string field; returns false with err set when invalid. */
static bool get_str(json_t *o, const char *key, bool required, size_t max, char *dst, size_t idx,
                    char *err)
{
    json_t *v = json_object_get(o, key);
    size_t n;

    dst[0] = '\0';
    if (!v) {
        if (required)
            CMD_ERR("commands[%zu].%s: missing", idx, key);
        return !required;
    }
    if (!json_is_string(v)) {
        CMD_ERR("commands[%zu].%s: must be a string", idx, key);
        return false;
    }
    n = json_string_length(v);
    if (n > max || memchr(json_string_value(v), '\0', n)) {
        CMD_ERR("commands[%zu].%s: longer than %zu bytes or contains NUL", idx, key, max);
        return false;
    }
    memcpy(dst, json_string_value(v), n);
    dst[n] = '\0';
    return true;
}

static bool get_patterns(json_t *o, const char *key, char ***out, size_t *nout, size_t idx,
                         char *err, bool *nomem)
{
    json_t *arr = json_object_get(o, key), *v;
    size_t i;

    *out = NULL;
    *nout = 0;
    if (!json_is_array(arr)) {
        CMD_ERR("commands[%zu].%s: must be an array of topic patterns", idx, key);
        return false;
    }
    if (json_array_size(arr) > CONTROL_POLICY_MAX) {
        CMD_ERR("commands[%zu].%s: more than %d patterns", idx, key, CONTROL_POLICY_MAX);
        return false;
    }
    if (json_array_size(arr) == 0)
        return true;
    *out = calloc(json_array_size(arr), sizeof(char *));
    if (!*out) {
        *nomem = true;
        return false;
    }
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || strlen(s) != json_string_length(v) || !control_pattern_valid(s)) {
            CMD_ERR("commands[%zu].%s[%zu]: not a valid topic pattern (1..%d bytes, '+'/'#' "
                    "whole levels, '#' last)",
                    idx, key, i, CONTROL_PATTERN_MAX);
            return false;
        }
        (*out)[i] = strdup(s);
        if (!(*out)[i]) {
            *nomem = true;
            return false;
        }
        *nout = i + 1;
    }
    return true;
}

static bool check_keys(json_t *o, const char *const *allowed, size_t idx, char *err)
{
    const char *k;
    json_t *v;

    json_object_foreach(o, k, v)
    {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (!strcmp(allowed[i], k))
                ok = true;
        if (!ok) {
            CMD_ERR("commands[%zu]: unknown field \"%s\"", idx, k);
            return false;
        }
    }
    return true;
}

static bool get_thing(json_t *o, size_t idx, struct control_cmd *c, char *err)
{
    if (!get_str(o, "thing", true, CONTROL_IDENTITY_MAX, c->thing, idx, err))
        return false;
    if (!control_identity_valid(c->thing, strlen(c->thing))) {
        CMD_ERR("commands[%zu].thing: invalid identity (1..%d bytes, no '+', '#', '/' or control "
                "characters)",
                idx, CONTROL_IDENTITY_MAX);
        return false;
    }
    return true;
}

/* Decode one command object into c; false with err set if invalid. */
static bool decode_cmd(json_t *o, size_t idx, struct control_cmd *c, char *name, char *err,
                       bool *nomem)
{
    static const char *const k_thing[] = { "command", "correlationId", "thing", NULL };
    static const char *const k_none[] = { "command", "correlationId", NULL };
    static const char *const k_cred[] = {
        "command",     "correlationId",     "thing", "password", "passwordHash",
        "certificate", "certificateSha256", NULL
    };
    static const char *const k_pol[] = { "command", "correlationId", "scope", "thing",
                                         "publish", "subscribe",     "clear", NULL };
    char cmdname[32];

    if (!json_is_object(o)) {
        CMD_ERR("commands[%zu]: must be an object", idx);
        return false;
    }
    /* correlationId first, so even a bad command is answered with it */
    if (!get_str(o, "correlationId", false, CONTROL_CORRELATION_MAX, c->correlation_id, idx, err))
        return false;
    if (!get_str(o, "command", true, sizeof(cmdname) - 1, cmdname, idx, err))
        return false;
    {
        size_t l = strlen(cmdname);
        if (l > 23)
            l = 23;
        memcpy(name, cmdname, l);
        name[l] = '\0';
    }
    c->type = cmd_type_of(cmdname);
    switch (c->type) {
    case CONTROL_CMD_QUARANTINE:
    case CONTROL_CMD_RELEASE:
    case CONTROL_CMD_REVOKE:
    case CONTROL_CMD_KICK:
    case CONTROL_CMD_DELETE:
        return check_keys(o, k_thing, idx, err) && get_thing(o, idx, c, err);
    case CONTROL_CMD_GET_STATE:
        return check_keys(o, k_none, idx, err);
    case CONTROL_CMD_SET_CREDENTIALS: {
        json_t *cert = json_object_get(o, "certificate");
        int kinds = 0;
        if (!check_keys(o, k_cred, idx, err) || !get_thing(o, idx, c, err))
            return false;
        if (json_object_get(o, "password")) {
            kinds++;
            c->cred_kind = CONTROL_CRED_PASSWORD;
            if (!get_str(o, "password", true, CONTROL_SECRET_MAX, c->secret, idx, err))
                return false;
            if (!c->secret[0]) {
                CMD_ERR("commands[%zu].password: empty", idx);
                return false;
            }
        }
        if (json_object_get(o, "passwordHash")) {
            kinds++;
            c->cred_kind = CONTROL_CRED_HASH;
            if (!get_str(o, "passwordHash", true, CONTROL_SECRET_MAX, c->secret, idx, err))
                return false;
            if (strncmp(c->secret, "$argon2id$", 10)) {
                CMD_ERR("commands[%zu].passwordHash: not an Argon2id hash ($argon2id$...)", idx);
                return false;
            }
        }
        if (cert) {
            if (!json_is_true(cert)) {
                CMD_ERR("commands[%zu].certificate: must be true when present", idx);
                return false;
            }
            kinds++;
            c->cred_kind = CONTROL_CRED_CERTIFICATE;
            if (!get_str(o, "certificateSha256", false, CONTROL_CERT_SHA256_HEX, c->secret, idx,
                         err))
                return false;
            if (c->secret[0] && !control_cert_sha256_valid(c->secret)) {
                CMD_ERR("commands[%zu].certificateSha256: %d lowercase hex digits expected", idx,
                        CONTROL_CERT_SHA256_HEX);
                return false;
            }
        } else if (json_object_get(o, "certificateSha256")) {
            CMD_ERR("commands[%zu].certificateSha256: only with \"certificate\": true", idx);
            return false;
        }
        if (kinds != 1) {
            CMD_ERR("commands[%zu]: exactly one of password, passwordHash, certificate required",
                    idx);
            return false;
        }
        return true;
    }
    case CONTROL_CMD_SET_POLICY: {
        char scope[16];
        json_t *clear = json_object_get(o, "clear");
        if (!check_keys(o, k_pol, idx, err))
            return false;
        if (!get_str(o, "scope", true, sizeof(scope) - 1, scope, idx, err))
            return false;
        if (!strcmp(scope, "default"))
            c->scope = CONTROL_SCOPE_DEFAULT;
        else if (!strcmp(scope, "quarantine"))
            c->scope = CONTROL_SCOPE_QUARANTINE;
        else if (!strcmp(scope, "thing"))
            c->scope = CONTROL_SCOPE_THING;
        else {
            CMD_ERR("commands[%zu].scope: must be \"default\", \"quarantine\" or \"thing\"", idx);
            return false;
        }
        if (c->scope == CONTROL_SCOPE_THING) {
            if (!get_thing(o, idx, c, err))
                return false;
        } else if (json_object_get(o, "thing")) {
            CMD_ERR("commands[%zu].thing: only with scope \"thing\"", idx);
            return false;
        }
        if (clear) {
            if (!json_is_boolean(clear) || c->scope != CONTROL_SCOPE_THING) {
                CMD_ERR("commands[%zu].clear: a boolean, only with scope \"thing\"", idx);
                return false;
            }
            c->clear = json_is_true(clear);
        }
        if (c->clear) {
            if (json_object_get(o, "publish") || json_object_get(o, "subscribe")) {
                CMD_ERR("commands[%zu]: clear excludes publish/subscribe", idx);
                return false;
            }
            return true;
        }
        return get_patterns(o, "publish", &c->policy.publish, &c->policy.n_publish, idx, err,
                            nomem) &&
               get_patterns(o, "subscribe", &c->policy.subscribe, &c->policy.n_subscribe, idx, err,
                            nomem);
    }
    }
    CMD_ERR("commands[%zu].command: unknown command \"%s\"", idx, cmdname);
    return false;
}

void control_batch_free(struct control_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; b->cmds && i < b->n; i++)
        control_policy_free(&b->cmds[i].policy);
    free(b->cmds);
    free(b->errors);
    free(b->names);
    memset(b, 0, sizeof(*b));
}

int control_batch_decode(struct control_batch *b, const char *data, size_t len,
                         struct cordon_diag *diag)
{
    int result = 0;
    json_t *root, *cmds, *v;
    const char *k;
    size_t i, n;

    memset(b, 0, sizeof(*b));
    root = load_object(data, len, CONTROL_MAX_BYTES, &result, diag);
    if (!root)
        return result;
    json_object_foreach(root, k, v)
    {
        if (strcmp(k, "commands")) {
            cordon_diag_set(diag, "InvalidPayload", 0, 0, 0, "unknown field \"%s\"", k);
            result = CORDON_EINVAL;
            goto out;
        }
    }
    cmds = json_object_get(root, "commands");
    if (!json_is_array(cmds) || json_array_size(cmds) == 0) {
        cordon_diag_set(diag, "InvalidPayload", 0, 0, 0, "commands: must be a non-empty array");
        result = CORDON_EINVAL;
        goto out;
    }
    n = json_array_size(cmds);
    if (n > CONTROL_COMMANDS_MAX) {
        cordon_diag_set(diag, "TooBig", 0, 0, 0, "commands: %zu commands exceed %d", n,
                        CONTROL_COMMANDS_MAX);
        result = CORDON_ETOOBIG;
        goto out;
    }
    b->cmds = calloc(n, sizeof(*b->cmds));
    b->errors = calloc(n, sizeof(*b->errors));
    b->names = calloc(n, sizeof(*b->names));
    if (!b->cmds || !b->errors || !b->names) {
        result = CORDON_ENOMEM;
        goto out;
    }
    b->n = n;
    json_array_foreach(cmds, i, v)
    {
        bool nomem = false;
        if (!decode_cmd(v, i, &b->cmds[i], b->names[i], b->errors[i], &nomem)) {
            if (nomem) {
                result = CORDON_ENOMEM;
                goto out;
            }
            if (!b->errors[i][0])
                snprintf(b->errors[i], CONTROL_ERROR_MAX, "commands[%zu]: invalid", i);
            control_policy_free(&b->cmds[i].policy);
        }
    }
out:
    if (result) {
        control_batch_free(b);
        if (result == CORDON_ENOMEM)
            cordon_diag_set(diag, "NoMemory", 0, 0, 0, "out of memory");
    }
    json_decref(root);
    return result;
}

/* ---- command encoding -------------------------------------------------- */

int control_cmd_init(struct control_cmd *c, enum control_cmd_type type, const char *thing,
                     const char *correlation_id)
{
    memset(c, 0, sizeof(*c));
    c->type = type;
    if (thing && thing[0]) {
        if (!control_identity_valid(thing, strlen(thing)))
            return CORDON_EINVAL;
        memcpy(c->thing, thing, strlen(thing) + 1);
    }
    if (correlation_id && correlation_id[0]) {
        size_t n = strlen(correlation_id);
        if (n > CONTROL_CORRELATION_MAX)
            return CORDON_EINVAL;
        memcpy(c->correlation_id, correlation_id, n + 1);
    }
    return 0;
}

static json_t *strlist_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

/* Serialize j (stolen) into out. */
static int dump_into(json_t *j, struct buf *out)
{
    char *s;
    int result;

    if (!j)
        return CORDON_ENOMEM;
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        return CORDON_ENOMEM;
    result = buf_adds(out, s);
    free(s);
    return result;
}

int control_batch_encode(const struct control_cmd *cmds, size_t n, struct buf *out)
{
    json_t *root = json_object(), *arr = json_array();

    if (!root || !arr) {
        json_decref(root);
        json_decref(arr);
        return CORDON_ENOMEM;
    }
    json_object_set_new(root, "commands", arr);
    for (size_t i = 0; i < n; i++) {
        const struct control_cmd *c = &cmds[i];
        const char *name = control_cmd_name(c->type);
        json_t *o;
        bool needs_thing = c->type != CONTROL_CMD_GET_STATE &&
                           !(c->type == CONTROL_CMD_SET_POLICY && c->scope != CONTROL_SCOPE_THING);

        if (!name[0] || (needs_thing && !control_identity_valid(c->thing, strlen(c->thing)))) {
            json_decref(root);
            return CORDON_EINVAL;
        }
        o = json_object();
        json_array_append_new(arr, o);
        json_object_set_new(o, "command", json_string(name));
        if (c->correlation_id[0])
            json_object_set_new(o, "correlationId", json_string(c->correlation_id));
        if (needs_thing)
            json_object_set_new(o, "thing", json_string(c->thing));
        if (c->type == CONTROL_CMD_SET_CREDENTIALS) {
            if (c->cred_kind == CONTROL_CRED_PASSWORD)
                json_object_set_new(o, "password", json_string(c->secret));
            else if (c->cred_kind == CONTROL_CRED_HASH)
                json_object_set_new(o, "passwordHash", json_string(c->secret));
            else if (c->cred_kind == CONTROL_CRED_CERTIFICATE) {
                json_object_set_new(o, "certificate", json_true());
                if (c->secret[0])
                    json_object_set_new(o, "certificateSha256", json_string(c->secret));
            } else {
                json_decref(root);
                return CORDON_EINVAL;
            }
        } else if (c->type == CONTROL_CMD_SET_POLICY) {
            if (c->scope < CONTROL_SCOPE_DEFAULT || c->scope > CONTROL_SCOPE_THING) {
                json_decref(root);
                return CORDON_EINVAL;
            }
            json_object_set_new(o, "scope", json_string(scope_names[c->scope]));
            if (c->clear) {
                json_object_set_new(o, "clear", json_true());
            } else {
                json_object_set_new(o, "publish",
                                    strlist_json(c->policy.publish, c->policy.n_publish));
                json_object_set_new(o, "subscribe",
                                    strlist_json(c->policy.subscribe, c->policy.n_subscribe));
            }
        }
    }
    return dump_into(root, out);
}

/* ---- responses --------------------------------------------------------- */

void control_state_free(struct control_state *s)
{
    if (!s)
        return;
    strlist_free(s->quarantined, s->n_quarantined);
    strlist_free(s->revoked, s->n_revoked);
    strlist_free(s->identities, s->n_identities);
    strlist_free(s->thing_policies, s->n_thing_policies);
    memset(s, 0, sizeof(*s));
}

void control_responses_free(struct control_responses *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->v && i < r->n; i++)
        control_state_free(&r->v[i].state);
    free(r->v);
    memset(r, 0, sizeof(*r));
}

int control_responses_encode(const struct control_response *v, size_t n, struct buf *out)
{
    json_t *root = json_object(), *arr = json_array();

    if (!root || !arr) {
        json_decref(root);
        json_decref(arr);
        return CORDON_ENOMEM;
    }
    json_object_set_new(root, "responses", arr);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        json_array_append_new(arr, o);
        json_object_set_new(o, "command", json_string(v[i].command));
        if (v[i].correlation_id[0])
            json_object_set_new(o, "correlationId", json_string(v[i].correlation_id));
        json_object_set_new(o, "ok", json_boolean(v[i].ok));
        if (!v[i].ok)
            json_object_set_new(o, "error", json_string(v[i].error[0] ? v[i].error : "failed"));
        if (v[i].has_state) {
            const struct control_state *s = &v[i].state;
            json_t *st = json_object();
            json_object_set_new(o, "state", st);
            json_object_set_new(st, "quarantined", strlist_json(s->quarantined, s->n_quarantined));
            json_object_set_new(st, "revoked", strlist_json(s->revoked, s->n_revoked));
            json_object_set_new(st, "identities", strlist_json(s->identities, s->n_identities));
            json_object_set_new(st, "thingPolicies",
                                strlist_json(s->thing_policies, s->n_thing_policies));
        }
    }
    return dump_into(root, out);
}

/* Copy a JSON array of strings into an allocated list. */
static int strlist_from_json(json_t *a, char ***out, size_t *n)
{
    json_t *v;
    size_t i;

    *out = NULL;
    *n = 0;
    if (!a)
        return 0;
    if (!json_is_array(a))
        return CORDON_EINVAL;
    if (json_array_size(a) == 0)
        return 0;
    *out = calloc(json_array_size(a), sizeof(char *));
    if (!*out)
        return CORDON_ENOMEM;
    json_array_foreach(a, i, v)
    {
        if (!json_is_string(v))
            return CORDON_EINVAL;
        (*out)[i] = strdup(json_string_value(v));
        if (!(*out)[i])
            return CORDON_ENOMEM;
        *n = i + 1;
    }
    return 0;
}

static void copy_str(char *dst, size_t cap, json_t *v)
{
    snprintf(dst, cap, "%s", json_is_string(v) ? json_string_value(v) : "");
}

int control_responses_decode(struct control_responses *r, const char *data, size_t len,
                             struct cordon_diag *diag)
{
    int result = 0;
    json_t *root, *arr, *o;
    size_t i;

    memset(r, 0, sizeof(*r));
    root = load_object(data, len, CONTROL_RESPONSE_MAX_BYTES, &result, diag);
    if (!root)
        return result;
    arr = json_object_get(root, "responses");
    if (!json_is_array(arr) || json_array_size(arr) > CONTROL_COMMANDS_MAX) {
        cordon_diag_set(diag, "InvalidPayload", 0, 0, 0,
                        "responses: must be an array of at most %d entries", CONTROL_COMMANDS_MAX);
        result = CORDON_EINVAL;
        goto out;
    }
    if (json_array_size(arr)) {
        r->v = calloc(json_array_size(arr), sizeof(*r->v));
        if (!r->v) {
            result = CORDON_ENOMEM;
            goto out;
        }
    }
    json_array_foreach(arr, i, o)
    {
        struct control_response *e = &r->v[i];
        json_t *ok = json_object_get(o, "ok"), *st;
        r->n = i + 1;
        if (!json_is_object(o) || !json_is_boolean(ok)) {
            cordon_diag_set(diag, "InvalidField", 0, 0, 0,
                            "responses[%zu]: must be an object with boolean \"ok\"", i);
            result = CORDON_EINVAL;
            goto out;
        }
        e->ok = json_is_true(ok);
        copy_str(e->command, sizeof(e->command), json_object_get(o, "command"));
        copy_str(e->correlation_id, sizeof(e->correlation_id), json_object_get(o, "correlationId"));
        copy_str(e->error, sizeof(e->error), json_object_get(o, "error"));
        st = json_object_get(o, "state");
        if (st) {
            if (!json_is_object(st) ||
                (result = strlist_from_json(json_object_get(st, "quarantined"),
                                            &e->state.quarantined, &e->state.n_quarantined)) ||
                (result = strlist_from_json(json_object_get(st, "revoked"), &e->state.revoked,
                                            &e->state.n_revoked)) ||
                (result = strlist_from_json(json_object_get(st, "identities"), &e->state.identities,
                                            &e->state.n_identities)) ||
                (result =
                     strlist_from_json(json_object_get(st, "thingPolicies"),
                                       &e->state.thing_policies, &e->state.n_thing_policies))) {
                if (!result)
                    result = CORDON_EINVAL;
                cordon_diag_set(diag, "InvalidField", 0, 0, 0,
                                "responses[%zu].state: lists of strings expected", i);
                goto out;
            }
            e->has_state = true;
        }
    }
out:
    if (result)
        control_responses_free(r);
    json_decref(root);
    return result;
}

/* ---- metrics ----------------------------------------------------------- */

static const char *const M_ATTEMPTS = "aws:num-connection-attempts";
static const char *const M_AUTHN = "cordon:num-authentication-failures";
static const char *const M_AUTHZ = "aws:num-authorization-failures";
static const char *const M_SENT = "aws:num-messages-sent";
static const char *const M_BSENT = "cordon:bytes-sent";
static const char *const M_MAXB = "aws:message-byte-size";
static const char *const M_RECV = "aws:num-messages-received";
static const char *const M_BRECV = "cordon:bytes-received";
static const char *const M_DISC = "aws:num-disconnects";
static const char *const M_IP = "aws:source-ip-address";

int control_metrics_encode(const struct control_metrics *m, struct buf *out)
{
    json_t *root = json_object(), *arr = json_array(), *unk = json_object();

    if (!root || !arr || !unk) {
        json_decref(root);
        json_decref(arr);
        json_decref(unk);
        return CORDON_ENOMEM;
    }
    json_object_set_new(root, "timestamp", json_integer(m->timestamp_ms));
    json_object_set_new(root, "intervalSeconds", json_integer(m->interval_s));
    json_object_set_new(unk, M_ATTEMPTS, json_integer((json_int_t)m->unknown_connection_attempts));
    json_object_set_new(root, "unknown", unk);
    json_object_set_new(root, "things", arr);
    for (size_t i = 0; i < m->n; i++) {
        const struct control_thing_metrics *t = &m->v[i];
        json_t *o = json_object();
        json_array_append_new(arr, o);
        json_object_set_new(o, "thing", json_string(t->thing));
        json_object_set_new(o, M_ATTEMPTS, json_integer((json_int_t)t->connection_attempts));
        json_object_set_new(o, M_AUTHN, json_integer((json_int_t)t->authentication_failures));
        json_object_set_new(o, M_AUTHZ, json_integer((json_int_t)t->authorization_failures));
        json_object_set_new(o, M_SENT, json_integer((json_int_t)t->messages_sent));
        json_object_set_new(o, M_BSENT, json_integer((json_int_t)t->bytes_sent));
        json_object_set_new(o, M_MAXB, json_integer((json_int_t)t->max_message_bytes));
        json_object_set_new(o, M_RECV, json_integer((json_int_t)t->messages_received));
        json_object_set_new(o, M_BRECV, json_integer((json_int_t)t->bytes_received));
        json_object_set_new(o, M_DISC, json_integer((json_int_t)t->disconnects));
        if (t->source_ip[0])
            json_object_set_new(o, M_IP, json_string(t->source_ip));
    }
    return dump_into(root, out);
}

void control_metrics_free(struct control_metrics *m)
{
    if (!m)
        return;
    free(m->v);
    memset(m, 0, sizeof(*m));
}

static bool get_count(json_t *o, const char *key, uint64_t *dst)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        *dst = 0;
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return false;
    *dst = (uint64_t)json_integer_value(v);
    return true;
}

int control_metrics_decode(struct control_metrics *m, const char *data, size_t len,
                           struct cordon_diag *diag)
{
    int result = 0;
    json_t *root, *arr, *o, *ts, *iv;
    size_t i;

    memset(m, 0, sizeof(*m));
    root = load_object(data, len, CONTROL_MAX_BYTES, &result, diag);
    if (!root)
        return result;
    ts = json_object_get(root, "timestamp");
    iv = json_object_get(root, "intervalSeconds");
    arr = json_object_get(root, "things");
    if (!json_is_integer(ts) || !json_is_integer(iv) || !json_is_array(arr)) {
        cordon_diag_set(diag, "MissingRequiredField", 0, 0, 0,
                        "metrics: timestamp, intervalSeconds (integers) and things (array) "
                        "required");
        result = CORDON_EINVAL;
        goto out;
    }
    m->timestamp_ms = json_integer_value(ts);
    m->interval_s = json_integer_value(iv);
    if (!get_count(json_object_get(root, "unknown"), M_ATTEMPTS, &m->unknown_connection_attempts))
        m->unknown_connection_attempts = 0;
    if (json_array_size(arr)) {
        m->v = calloc(json_array_size(arr), sizeof(*m->v));
        if (!m->v) {
            result = CORDON_ENOMEM;
            goto out;
        }
    }
    json_array_foreach(arr, i, o)
    {
        struct control_thing_metrics *t = &m->v[i];
        json_t *thing = json_object_get(o, "thing");
        if (!json_is_object(o) || !json_is_string(thing) ||
            !control_identity_valid(json_string_value(thing), json_string_length(thing)) ||
            !get_count(o, M_ATTEMPTS, &t->connection_attempts) ||
            !get_count(o, M_AUTHN, &t->authentication_failures) ||
            !get_count(o, M_AUTHZ, &t->authorization_failures) ||
            !get_count(o, M_SENT, &t->messages_sent) || !get_count(o, M_BSENT, &t->bytes_sent) ||
            !get_count(o, M_MAXB, &t->max_message_bytes) ||
            !get_count(o, M_RECV, &t->messages_received) ||
            !get_count(o, M_BRECV, &t->bytes_received) || !get_count(o, M_DISC, &t->disconnects)) {
            cordon_diag_set(diag, "InvalidField", 0, 0, 0,
                            "things[%zu]: a valid thing name and non-negative integer counts "
                            "required",
                            i);
            result = CORDON_EINVAL;
            goto out;
        }
        snprintf(t->thing, sizeof(t->thing), "%s", json_string_value(thing));
        copy_str(t->source_ip, sizeof(t->source_ip), json_object_get(o, M_IP));
        m->n = i + 1;
    }
out:
    if (result)
        control_metrics_free(m);
    json_decref(root);
    return result;
}
