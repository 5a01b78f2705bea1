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
    char sha256[65]; /* SHA-256 of the certificate's DER, lowercase hex: the broker pins it */
};

/* Issue a key and certificate for thing. Returns 0, CORDON_EINVAL (thing is
 * the broker's server identity) or another CORDON_E* code. */
int ca_issue(struct server *s, const char *thing, struct ca_issued *out);
void ca_issued_free(struct ca_issued *c);

#endif
