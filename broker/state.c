/*
 * state.c — the identity table and its persistence.
 *
 * The state file is JSON (docs/broker.md, "State file"):
 *   {"version":1,
 *    "identities":{"dev1":{"passwordHash":"$argon2id$..."},"dev2":{"certificate":true}},
 *    "quarantined":["dev1"], "revoked":["dev3"],
 *    "policies":{"default":{...},"quarantine":{...},"things":{"dev1":{"publish":[],"subscribe":[]}}}}
 * It is rewritten atomically on every change and read once at init; any
 * inconsistency is "corrupt" and stops the broker (fail closed).
 */
#include "broker.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_VERSION   1
#define STATE_MAX_BYTES (64 * 1024 * 1024) /* a state file larger than this is corrupt */

static const char *const builtin_default_publish[] = {
    "$aws/things/${thing}/defender/metrics/json",
    "$aws/things/${thing}/defender/metrics/cbor",
    "cordon/things/${thing}/logs",
    "cordon/things/${thing}/commands/result",
};
static const char *const builtin_subscribe[] = {
    "$aws/things/${thing}/defender/metrics/json/accepted",
    "$aws/things/${thing}/defender/metrics/json/rejected",
    "$aws/things/${thing}/defender/metrics/cbor/accepted",
    "$aws/things/${thing}/defender/metrics/cbor/rejected",
    "cordon/things/${thing}/commands",
};
/* quarantine: reports and logs keep flowing as evidence; commands and report replies readable */
static const char *const builtin_quarantine_publish[] = {
    "$aws/things/${thing}/defender/metrics/json",
    "$aws/things/${thing}/defender/metrics/cbor",
    "cordon/things/${thing}/logs",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int policy_from_consts(struct control_policy *dst, const char *const *pub, size_t npub,
                              const char *const *sub, size_t nsub)
{
    struct control_policy src;
    src.publish = (char **)pub;
    src.n_publish = npub;
    src.subscribe = (char **)sub;
    src.n_subscribe = nsub;
    return control_policy_copy(dst, &src) ? MOSQ_ERR_NOMEM : MOSQ_ERR_SUCCESS;
}

int state__builtin_policies(struct plugin *p)
{
    control_policy_free(&p->default_policy);
    control_policy_free(&p->quarantine_policy);
    p->default_custom = p->quarantine_custom = false;
    if (policy_from_consts(&p->default_policy, builtin_default_publish,
                           NELEM(builtin_default_publish), builtin_subscribe,
                           NELEM(builtin_subscribe)) ||
        policy_from_consts(&p->quarantine_policy, builtin_quarantine_publish,
                           NELEM(builtin_quarantine_publish), builtin_subscribe,
                           NELEM(builtin_subscribe)))
        return MOSQ_ERR_NOMEM;
    return MOSQ_ERR_SUCCESS;
}

/* ---- identity table ---------------------------------------------------- */

struct ident *state__find(struct plugin *p, const char *name)
{
    struct ident *id = NULL;
    HASH_FIND_STR(p->idents, name, id);
    return id;
}

struct ident *state__get(struct plugin *p, const char *name)
{
    struct ident *id = state__find(p, name);
    if (id)
        return id;
    id = calloc(1, sizeof(*id));
    if (!id)
        return NULL;
    snprintf(id->name, sizeof(id->name), "%s", name);
    snprintf(id->metrics.thing, sizeof(id->metrics.thing), "%s", name);
    HASH_ADD_STR(p->idents, name, id);
    return id;
}

static void ident_free(struct ident *id)
{
    control_policy_free(&id->policy);
    sodium_memzero(id->hash, sizeof(id->hash));
    free(id);
}

void state__maybe_drop(struct plugin *p, struct ident *id)
{
    if (!id || id->cred != CRED_NONE || id->quarantined || id->revoked || id->has_policy)
        return;
    HASH_DEL(p->idents, id);
    ident_free(id);
}

void state__free(struct plugin *p)
{
    struct ident *id, *tmp;
    HASH_ITER(hh, p->idents, id, tmp)
    {
        HASH_DEL(p->idents, id);
        ident_free(id);
    }
    control_policy_free(&p->default_policy);
    control_policy_free(&p->quarantine_policy);
}

/* ---- loading ----------------------------------------------------------- */

#define LOAD_ERR(...)                                                                              \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        goto corrupt;                                                                              \
    } while (0)

/* Parse {"publish":[...],"subscribe":[...]} into dst; false when invalid. */
static bool policy_from_json(json_t *o, struct control_policy *dst)
{
    json_t *lists[2] = { json_object_get(o, "publish"), json_object_get(o, "subscribe") };
    char ***out[2] = { &dst->publish, &dst->subscribe };
    size_t *nout[2] = { &dst->n_publish, &dst->n_subscribe };

    memset(dst, 0, sizeof(*dst));
    if (!json_is_object(o) || json_object_size(o) != 2)
        return false;
    for (int k = 0; k < 2; k++) {
        json_t *v;
        size_t i;
        if (!json_is_array(lists[k]) || json_array_size(lists[k]) > CONTROL_POLICY_MAX)
            return false;
        if (json_array_size(lists[k]) == 0)
            continue;
        *out[k] = calloc(json_array_size(lists[k]), sizeof(char *));
        if (!*out[k])
            return false;
        json_array_foreach(lists[k], i, v)
        {
            const char *s = json_string_value(v);
            if (!s || !control_pattern_valid(s) || !((*out[k])[i] = strdup(s)))
                return false;
            *nout[k] = i + 1;
        }
    }
    return true;
}

static bool name_ok(const char *s)
{
    return s && control_identity_valid(s, strlen(s));
}

int state__load(struct plugin *p, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = NULL, *v, *o, *pol;
    const char *k;
    size_t i;
    long size = 0;
    FILE *f;

    f = fopen(p->state_file, "rb");
    if (!f) {
        if (errno == ENOENT)
            return MOSQ_ERR_SUCCESS; /* first start: empty state */
        snprintf(err, errlen, "cannot open state file %s: %s", p->state_file, strerror(errno));
        return MOSQ_ERR_INVAL;
    }
    if (fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    rewind(f);
    if (size < 0 || size > STATE_MAX_BYTES) {
        fclose(f);
        snprintf(err, errlen, "state file %s is corrupt: larger than %d bytes", p->state_file,
                 STATE_MAX_BYTES);
        return MOSQ_ERR_INVAL;
    }
    root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    fclose(f);
    if (!root)
        LOAD_ERR("state file %s is corrupt: invalid JSON at line %d column %d: %s", p->state_file,
                 je.line, je.column, je.text);
    if (!json_is_object(root))
        LOAD_ERR("state file %s is corrupt: not a JSON object", p->state_file);
    v = json_object_get(root, "version");
    if (!json_is_integer(v) || json_integer_value(v) != STATE_VERSION)
        LOAD_ERR("state file %s is corrupt: \"version\" must be %d", p->state_file, STATE_VERSION);

    o = json_object_get(root, "identities");
    if (!json_is_object(o))
        LOAD_ERR("state file %s is corrupt: \"identities\" must be an object", p->state_file);
    json_object_foreach(o, k, v)
    {
        struct ident *id;
        json_t *h = json_object_get(v, "passwordHash"), *c = json_object_get(v, "certificate");
        if (!name_ok(k) || !json_is_object(v))
            LOAD_ERR("state file %s is corrupt: identities.\"%.128s\" invalid", p->state_file, k);
        if (!(id = state__get(p, k)))
            LOAD_ERR("out of memory loading %s", p->state_file);
        if (h) {
            const char *hs = json_string_value(h);
            if (!hs || strncmp(hs, "$argon2id$", 10) || strlen(hs) > CONTROL_SECRET_MAX || c)
                LOAD_ERR("state file %s is corrupt: identities.%s.passwordHash invalid",
                         p->state_file, k);
            snprintf(id->hash, sizeof(id->hash), "%s", hs);
            id->cred = CRED_PASSWORD;
        } else if (c) {
            json_t *fp = json_object_get(v, "certificateSha256");
            if (!json_is_true(c) || json_object_size(v) != (fp ? 2U : 1U))
                LOAD_ERR("state file %s is corrupt: identities.%s.certificate must be true",
                         p->state_file, k);
            if (fp && !control_cert_sha256_valid(json_string_value(fp)))
                LOAD_ERR("state file %s is corrupt: identities.%s.certificateSha256 invalid",
                         p->state_file, k);
            if (fp)
                snprintf(id->hash, sizeof(id->hash), "%s", json_string_value(fp));
            id->cred = CRED_CERTIFICATE;
        } else if (json_object_size(v) != 0) {
            LOAD_ERR("state file %s is corrupt: identities.%s has unknown fields", p->state_file,
                     k);
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        const char *key = pass ? "revoked" : "quarantined";
        o = json_object_get(root, key);
        if (!json_is_array(o))
            LOAD_ERR("state file %s is corrupt: \"%s\" must be an array", p->state_file, key);
        json_array_foreach(o, i, v)
        {
            struct ident *id;
            if (!name_ok(json_string_value(v)))
                LOAD_ERR("state file %s is corrupt: %s[%zu] is not a valid identity", p->state_file,
                         key, i);
            if (!(id = state__get(p, json_string_value(v))))
                LOAD_ERR("out of memory loading %s", p->state_file);
            if (pass)
                id->revoked = true;
            else
                id->quarantined = true;
        }
    }
    pol = json_object_get(root, "policies");
    if (!json_is_object(pol))
        LOAD_ERR("state file %s is corrupt: \"policies\" must be an object", p->state_file);
    for (int pass = 0; pass < 2; pass++) {
        const char *key = pass ? "quarantine" : "default";
        struct control_policy tmp;
        v = json_object_get(pol, key);
        if (!v)
            continue;
        if (!policy_from_json(v, &tmp)) {
            control_policy_free(&tmp);
            LOAD_ERR("state file %s is corrupt: policies.%s invalid", p->state_file, key);
        }
        if (pass) {
            control_policy_free(&p->quarantine_policy);
            p->quarantine_policy = tmp;
            p->quarantine_custom = true;
        } else {
            control_policy_free(&p->default_policy);
            p->default_policy = tmp;
            p->default_custom = true;
        }
    }
    o = json_object_get(pol, "things");
    if (o && !json_is_object(o))
        LOAD_ERR("state file %s is corrupt: policies.things must be an object", p->state_file);
    json_object_foreach(o, k, v)
    {
        struct ident *id;
        struct control_policy tmp;
        if (!name_ok(k) || !policy_from_json(v, &tmp)) {
            if (name_ok(k))
                control_policy_free(&tmp);
            LOAD_ERR("state file %s is corrupt: policies.things.\"%.128s\" invalid", p->state_file,
                     k);
        }
        if (!(id = state__get(p, k))) {
            control_policy_free(&tmp);
            LOAD_ERR("out of memory loading %s", p->state_file);
        }
        control_policy_free(&id->policy);
        id->policy = tmp;
        id->has_policy = true;
    }
    json_decref(root);
    return MOSQ_ERR_SUCCESS;
corrupt:
    json_decref(root);
    return MOSQ_ERR_INVAL;
}

/* ---- saving ------------------------------------------------------------ */

static json_t *policy_json(const struct control_policy *pol)
{
    json_t *o = json_object(), *pub = json_array(), *sub = json_array();
    for (size_t i = 0; i < pol->n_publish; i++)
        json_array_append_new(pub, json_string(pol->publish[i]));
    for (size_t i = 0; i < pol->n_subscribe; i++)
        json_array_append_new(sub, json_string(pol->subscribe[i]));
    json_object_set_new(o, "publish", pub);
    json_object_set_new(o, "subscribe", sub);
    return o;
}

static json_t *state_json(struct plugin *p)
{
    json_t *root = json_object(), *ids = json_object(), *q = json_array(), *r = json_array(),
           *pol = json_object(), *things = json_object();
    struct ident *id, *tmp;

    json_object_set_new(root, "version", json_integer(STATE_VERSION));
    json_object_set_new(root, "identities", ids);
    json_object_set_new(root, "quarantined", q);
    json_object_set_new(root, "revoked", r);
    json_object_set_new(root, "policies", pol);
    if (p->default_custom)
        json_object_set_new(pol, "default", policy_json(&p->default_policy));
    if (p->quarantine_custom)
        json_object_set_new(pol, "quarantine", policy_json(&p->quarantine_policy));
    json_object_set_new(pol, "things", things);
    HASH_ITER(hh, p->idents, id, tmp)
    {
        json_t *e = json_object();
        if (id->cred == CRED_PASSWORD)
            json_object_set_new(e, "passwordHash", json_string(id->hash));
        else if (id->cred == CRED_CERTIFICATE) {
            json_object_set_new(e, "certificate", json_true());
            if (id->hash[0])
                json_object_set_new(e, "certificateSha256", json_string(id->hash));
        }
        if (id->cred != CRED_NONE)
            json_object_set_new(ids, id->name, e);
        else
            json_decref(e);
        if (id->quarantined)
            json_array_append_new(q, json_string(id->name));
        if (id->revoked)
            json_array_append_new(r, json_string(id->name));
        if (id->has_policy)
            json_object_set_new(things, id->name, policy_json(&id->policy));
    }
    return root;
}

int state__save(struct plugin *p, char *err, size_t errlen)
{
    json_t *root = state_json(p);
    char *text = root ? json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
    char tmp[4096], dir[4096];
    size_t len, off = 0;
    int fd = -1, result = MOSQ_ERR_UNKNOWN;

    json_decref(root);
    if (!text) {
        snprintf(err, errlen, "out of memory serializing the state");
        return MOSQ_ERR_NOMEM;
    }
    len = strlen(text);
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.new", p->state_file) >= sizeof(tmp)) {
        snprintf(err, errlen, "state file path too long");
        goto out;
    }
    /* a fresh file: a leftover .new with a wider mode (O_TRUNC keeps it) or a planted symlink
     * must not receive the password hashes */
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)n;
    }
    if (write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot sync %s: %s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, p->state_file) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, p->state_file, strerror(errno));
        goto out;
    }
    /* make the rename itself durable */
    snprintf(dir, sizeof(dir), "%s", p->state_file);
    fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0)
        fsync(fd);
    result = MOSQ_ERR_SUCCESS;
out:
    if (fd >= 0)
        close(fd);
    if (result)
        unlink(tmp);
    free(text);
    return result;
}
