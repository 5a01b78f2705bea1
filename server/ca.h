/*
 * ca.h — Cordon's own fleet CA (OpenSSL): created on first use in the data
 * dir (fleet-ca.key 0600, fleet-ca.pem), it signs device certificates
 * whose subject CN is the thing name (EC P-256 keys, 825 days).
 */
#ifndef CORDOND_CA_H
#define CORDOND_CA_H

struct server;

struct ca_issued {
    char *cert_pem;
    char *key_pem;
    char *ca_pem;
};

/* Issue a key and certificate for thing. Returns 0 or a CORDON_E* code. */
int ca_issue(struct server *s, const char *thing, struct ca_issued *out);
void ca_issued_free(struct ca_issued *c);

#endif
