/*
 * acl.c — the topic policy (MOSQ_EVT_ACL_CHECK).
 *
 * The plugin is the only authority: it answers SUCCESS for what the
 * client's policy allows and ACL_DENIED for everything else, never DEFER.
 * READ runs once per message per subscriber, so this path does one hash
 * lookup, a few pattern matches, and no allocation.
 *
 * On certificate listeners Mosquitto 2.0.11 does not call BASIC_AUTH, so an
 * unknown or revoked identity (or a client id that is not the identity) is
 * first seen here: it is denied and its session kicked on the next TICK.
 */
#include "broker.h"

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

static bool acl__any_match(char *const *patterns, size_t n, const char *topic, const char *thing)
{
    for (size_t i = 0; i < n; i++)
        if (control_topic_match(patterns[i], topic, thing))
            return true;
    return false;
}

static bool acl__any_within(char *const *patterns, size_t n, const char *filter, const char *thing)
{
    for (size_t i = 0; i < n; i++)
        if (control_filter_within(patterns[i], filter, thing))
            return true;
    return false;
}

/*
 * A session first seen here with a client certificate (a certificate
 * listener: no BASIC_AUTH) may act as id only if id is a certificate identity (a password
 * identity's name in some certificate's CN is not its password), and, when
 * id pins one, only with that certificate (a re-issued or revoked one with
 * the same CN is refused). Costs one SHA-256 per session, not per message.
 */
static bool acl__certificate_ok(const struct ident *id, struct mosquitto *client)
{
    X509 *cert = mosquitto_client_certificate(client);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    bool ok;

    if (!cert)
        return true; /* no certificate: the session passed BASIC_AUTH (another session of the
                      * identity took last_client since) */
    ok = id->cred == CRED_CERTIFICATE;
    if (ok && id->hash[0]) {
        ok = X509_digest(cert, EVP_sha256(), md, &mdlen) && mdlen == 32;
        for (unsigned int i = 0; ok && i < mdlen; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
        ok = ok && !strcmp(hex, id->hash);
    }
    X509_free(cert);
    return ok;
}

int acl__check_cb(int event, void *event_data, void *userdata)
{
    struct mosquitto_evt_acl_check *ev = event_data;
    struct plugin *p = userdata;
    const char *user = mosquitto_client_username(ev->client), *cid;
    const struct control_policy *pol;
    struct ident *id;
    (void)event;

    if (!user || !ev->topic)
        return MOSQ_ERR_ACL_DENIED;
    if (!strcmp(user, p->server_identity))
        return MOSQ_ERR_SUCCESS;
    id = state__find(p, user);
    if (!id) {
        plugin__queue_kick(p, KICK_USERNAME, user);
        return MOSQ_ERR_ACL_DENIED;
    }
    if (id->last_client != ev->client) {
        /* a session that did not pass BASIC_AUTH: a certificate-listener connection. Its
         * certificate must be the one the identity holds; a refused session stays refused
         * (last_refused) and is kicked */
        if (id->last_refused == ev->client) {
            plugin__queue_kick(p, KICK_USERNAME, user);
            return MOSQ_ERR_ACL_DENIED;
        }
        metrics__of(id)->connection_attempts++;
        metrics__source_ip(id, ev->client);
        if (id->cred != CRED_NONE && !id->revoked && !acl__certificate_ok(id, ev->client)) {
            id->last_refused = ev->client;
            metrics__of(id)->authentication_failures++;
            mosquitto_log_printf(MOSQ_LOG_NOTICE,
                                 "cordon: refused %s: not the certificate this identity holds",
                                 user);
            plugin__queue_kick(p, KICK_USERNAME, user);
            return MOSQ_ERR_ACL_DENIED;
        }
        id->last_client = ev->client;
    }
    if (id->cred == CRED_NONE || id->revoked) {
        plugin__queue_kick(p, KICK_USERNAME, user);
        return MOSQ_ERR_ACL_DENIED;
    }
    if (p->clientid_must_match) {
        cid = mosquitto_client_id(ev->client);
        if (!cid || strcmp(cid, user)) {
            if (cid && strlen(cid) <= KICK_NAME_MAX)
                plugin__queue_kick(p, KICK_CLIENTID, cid);
            else
                plugin__queue_kick(p, KICK_USERNAME, user);
            return MOSQ_ERR_ACL_DENIED;
        }
    }
    pol = id->quarantined  ? &p->quarantine_policy
          : id->has_policy ? &id->policy
                           : &p->default_policy;
    switch (ev->access) {
    case MOSQ_ACL_READ:
        if (strncmp(ev->topic, "$CONTROL/", 9) &&
            acl__any_match(pol->subscribe, pol->n_subscribe, ev->topic, user)) {
            struct control_thing_metrics *m = metrics__of(id);
            m->messages_received++;
            m->bytes_received += ev->payloadlen;
            return MOSQ_ERR_SUCCESS;
        }
        return MOSQ_ERR_ACL_DENIED;
    case MOSQ_ACL_WRITE:
        if (strncmp(ev->topic, "$CONTROL/", 9) &&
            acl__any_match(pol->publish, pol->n_publish, ev->topic, user)) {
            struct control_thing_metrics *m = metrics__of(id);
            m->messages_sent++;
            m->bytes_sent += ev->payloadlen;
            if (ev->payloadlen > m->max_message_bytes)
                m->max_message_bytes = ev->payloadlen;
            metrics__source_ip(id, ev->client);
            return MOSQ_ERR_SUCCESS;
        }
        metrics__of(id)->authorization_failures++;
        return MOSQ_ERR_ACL_DENIED;
    case MOSQ_ACL_SUBSCRIBE:
        if (strncmp(ev->topic, "$CONTROL/", 9) &&
            acl__any_within(pol->subscribe, pol->n_subscribe, ev->topic, user)) {
            metrics__source_ip(id, ev->client);
            return MOSQ_ERR_SUCCESS;
        }
        metrics__of(id)->authorization_failures++;
        return MOSQ_ERR_ACL_DENIED;
    case MOSQ_ACL_UNSUBSCRIBE:
        return MOSQ_ERR_SUCCESS;
    }
    return MOSQ_ERR_ACL_DENIED;
}
