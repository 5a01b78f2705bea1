/*
 * auth.c — username/password authentication (MOSQ_EVT_BASIC_AUTH).
 *
 * Passwords are stored as Argon2id hashes (libsodium crypto_pwhash_str).
 * Verifying one costs tens of milliseconds of the broker's only thread, so
 * after a successful verify the identity keeps a keyed BLAKE2b MAC of the
 * password (key random per process, never persisted); a reconnect with the
 * same password is then checked in microseconds. The cache is dropped when
 * credentials change. Certificate listeners never reach this callback
 * (Mosquitto 2.0.11); acl.c enforces identity there.
 */
#include "broker.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define PASSWORD_FILE_MAX 1024

static void auth__mac(struct plugin *p, const char *pw, unsigned char out[MAC_BYTES])
{
    crypto_generichash(out, MAC_BYTES, (const unsigned char *)pw, strlen(pw), p->mac_key,
                       sizeof(p->mac_key));
}

/*
 * True if pw matches hash; uses and refreshes the verify cache. A failed
 * Argon2id verify blocks further uncached verifies of the same identity for
 * AUTH_FAIL_BACKOFF_MS: a password guesser cannot make the broker's only
 * thread hash more than once a second per known identity, while a device
 * whose password is cached still logs in at once.
 */
static bool auth__verify(struct plugin *p, const char *hash, bool *cache_valid,
                         unsigned char cache[MAC_BYTES], int64_t *last_fail_ms, const char *pw)
{
    unsigned char mac[MAC_BYTES];
    int64_t now;

    auth__mac(p, pw, mac);
    if (*cache_valid && sodium_memcmp(mac, cache, MAC_BYTES) == 0)
        return true;
    now = plugin__monotonic_ms();
    if (*last_fail_ms && now - *last_fail_ms < AUTH_FAIL_BACKOFF_MS)
        return false;
    if (crypto_pwhash_str_verify(hash, pw, strlen(pw)) != 0) {
        *last_fail_ms = now ? now : 1;
        return false;
    }
    memcpy(cache, mac, MAC_BYTES);
    *cache_valid = true;
    return true;
}

int auth__hash(struct plugin *p, const char *pw, char *out)
{
    char h[crypto_pwhash_STRBYTES];

    if (crypto_pwhash_str(h, pw, strlen(pw), p->opslimit, p->memlimit) != 0)
        return MOSQ_ERR_NOMEM;
    snprintf(out, CONTROL_SECRET_MAX + 1, "%s", h);
    sodium_memzero(h, sizeof(h));
    return MOSQ_ERR_SUCCESS;
}

int auth__load_server_password(struct plugin *p, const char *path, char *err, size_t errlen)
{
    char line[PASSWORD_FILE_MAX + 2];
    size_t n;
    FILE *f = fopen(path, "r");
    int result = MOSQ_ERR_INVAL;

    if (!f) {
        snprintf(err, errlen, "cannot open server_password_file %s: %s", path, strerror(errno));
        return MOSQ_ERR_INVAL;
    }
    if (!fgets(line, sizeof(line), f)) {
        snprintf(err, errlen, "server_password_file %s is empty", path);
        goto out;
    }
    n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n == 0 || n > CONTROL_SECRET_MAX) {
        snprintf(err, errlen, "server_password_file %s: first line must hold 1..%d bytes", path,
                 CONTROL_SECRET_MAX);
        goto out;
    }
    if (!strncmp(line, "$argon2id$", 10)) {
        snprintf(p->server_hash, sizeof(p->server_hash), "%s", line);
    } else if (auth__hash(p, line, p->server_hash) != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "cannot hash the server password (memlimit too large?)");
        goto out;
    }
    p->server_has_password = true;
    result = MOSQ_ERR_SUCCESS;
out:
    sodium_memzero(line, sizeof(line));
    fclose(f);
    return result;
}

int auth__basic_auth_cb(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_basic_auth *ev = event_data;
    struct plugin *p = userdata;
    const char *user = ev->username, *pw = ev->password, *cid;
    struct ident *id;
    (void)event;

    if (!user || !control_identity_valid(user, strlen(user))) {
        p->unknown_attempts++;
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cordon: refused a connection without a valid "
                                              "identity (no username, or '+', '#', '/' or control "
                                              "characters)");
        return MOSQ_ERR_AUTH;
    }
    if (!strcmp(user, p->server_identity)) {
        if (p->server_has_password && pw &&
            auth__verify(p, p->server_hash, &p->server_cache_valid, p->server_cache,
                         &p->server_last_fail_ms, pw))
            return MOSQ_ERR_SUCCESS;
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cordon: refused server identity %s: bad password",
                             user);
        return MOSQ_ERR_AUTH;
    }
    id = state__find(p, user);
    if (!id) {
        p->unknown_attempts++;
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cordon: refused unknown identity %s", user);
        return MOSQ_ERR_AUTH;
    }
    metrics__of(id)->connection_attempts++;
    metrics__source_ip(id, ev->client);
    if (id->revoked || id->cred != CRED_PASSWORD || !pw ||
        !auth__verify(p, id->hash, &id->cache_valid, id->cache, &id->last_fail_ms, pw)) {
        metrics__of(id)->authentication_failures++;
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "cordon: refused %s: %s", user,
                             id->revoked                 ? "credentials revoked"
                             : id->cred == CRED_NONE     ? "no credentials"
                             : id->cred != CRED_PASSWORD ? "certificate-only identity"
                                                         : "bad password");
        return MOSQ_ERR_AUTH;
    }
    cid = mosquitto_client_id(ev->client);
    if (p->clientid_must_match && (!cid || strcmp(cid, user))) {
        metrics__of(id)->authentication_failures++;
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                             "cordon: refused %s: client id must equal the identity", user);
        return MOSQ_ERR_AUTH;
    }
    id->last_client = ev->client;
    return MOSQ_ERR_SUCCESS;
}
