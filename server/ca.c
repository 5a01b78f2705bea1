/*
 * ca.c — the fleet CA.
 */
#include "ca.h"

#include "cordon.h"
#include "log.h"
#include "registry.h"
#include "server.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CA_DAYS     3650
#define DEVICE_DAYS 825

static char *bio_text(BIO *b)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *out = malloc((size_t)n + 1);
    if (!out)
        return NULL;
    memcpy(out, p, (size_t)n);
    out[n] = 0;
    return out;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ex;
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ex)
        return -1;
    X509_add_ext(cert, ex, -1);
    X509_EXTENSION_free(ex);
    return 0;
}

static X509 *cert_new(EVP_PKEY *key, const char *cn, int days)
{
    X509 *c = X509_new();
    unsigned char serial[16];
    BIGNUM *bn;
    if (!c)
        return NULL;
    X509_set_version(c, 2);
    RAND_bytes(serial, sizeof(serial));
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(c), -300);
    X509_gmtime_adj(X509_getm_notAfter(c), (long)days * 86400);
    X509_set_pubkey(c, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(c), "CN", MBSTRING_UTF8,
                               (const unsigned char *)cn, -1, -1, 0);
    return c;
}

/* Load the CA from the data dir, creating it on first use. */
static int ca_load(struct server *s, EVP_PKEY **key, X509 **cert)
{
    char kp[600], cp[600];
    FILE *f;
    snprintf(kp, sizeof(kp), "%s/fleet-ca.key", s->cfg.data_dir);
    snprintf(cp, sizeof(cp), "%s/fleet-ca.pem", s->cfg.data_dir);
    *key = NULL;
    *cert = NULL;
    f = fopen(kp, "r");
    if (f) {
        *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
        f = fopen(cp, "r");
        if (f) {
            *cert = PEM_read_X509(f, NULL, NULL, NULL);
            fclose(f);
        }
        if (*key && *cert)
            return 0;
        log_error("fleet CA unreadable", "key=%s cert=%s", kp, cp);
        EVP_PKEY_free(*key);
        X509_free(*cert);
        return CORDON_ESTATE;
    }
    *key = EVP_EC_gen("P-256");
    if (!*key)
        return CORDON_ENOMEM;
    *cert = cert_new(*key, "Cordon fleet CA", CA_DAYS);
    X509_set_issuer_name(*cert, X509_get_subject_name(*cert));
    add_ext(*cert, *cert, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(*cert, *cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(*cert, *cert, NID_subject_key_identifier, "hash");
    if (!X509_sign(*cert, *key, EVP_sha256()))
        goto fail;
    {
        mode_t old = umask(077);
        f = fopen(kp, "w");
        umask(old);
    }
    if (!f || !PEM_write_PrivateKey(f, *key, NULL, NULL, 0, NULL, NULL)) {
        if (f)
            fclose(f);
        goto fail;
    }
    fclose(f);
    f = fopen(cp, "w");
    if (!f || !PEM_write_X509(f, *cert)) {
        if (f)
            fclose(f);
        goto fail;
    }
    fclose(f);
    log_info("fleet CA created", "cert=%s", cp);
    return 0;
fail:
    log_error("fleet CA not created", "dir=%s", s->cfg.data_dir);
    EVP_PKEY_free(*key);
    X509_free(*cert);
    *key = NULL;
    *cert = NULL;
    return CORDON_ESTATE;
}

int ca_issue(struct server *s, const char *thing, struct ca_issued *out)
{
    EVP_PKEY *cakey = NULL, *key = NULL;
    X509 *cacert = NULL, *cert = NULL;
    BIO *b1 = NULL, *b2 = NULL, *b3 = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (registry_name_reserved(s, thing)) {
        log_error("refused to issue a certificate for the server identity", "thing=%s", thing);
        return CORDON_EINVAL;
    }
    rc = ca_load(s, &cakey, &cacert);
    if (rc)
        return rc;
    rc = CORDON_ENOMEM;
    key = EVP_EC_gen("P-256");
    if (!key)
        goto out;
    cert = cert_new(key, thing, DEVICE_DAYS);
    if (!cert)
        goto out;
    X509_set_issuer_name(cert, X509_get_subject_name(cacert));
    add_ext(cert, cacert, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert, cacert, NID_key_usage, "critical,digitalSignature");
    add_ext(cert, cacert, NID_ext_key_usage, "clientAuth");
    if (!X509_sign(cert, cakey, EVP_sha256()))
        goto out;
    b1 = BIO_new(BIO_s_mem());
    b2 = BIO_new(BIO_s_mem());
    b3 = BIO_new(BIO_s_mem());
    if (!b1 || !b2 || !b3 || !PEM_write_bio_X509(b1, cert) ||
        !PEM_write_bio_PrivateKey(b2, key, NULL, NULL, 0, NULL, NULL) ||
        !PEM_write_bio_X509(b3, cacert))
        goto out;
    out->cert_pem = bio_text(b1);
    out->key_pem = bio_text(b2);
    out->ca_pem = bio_text(b3);
    {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (!X509_digest(cert, EVP_sha256(), md, &mdlen) || mdlen != 32)
            goto out;
        for (unsigned int i = 0; i < mdlen; i++)
            snprintf(out->sha256 + 2 * i, 3, "%02x", md[i]);
    }
    rc = out->cert_pem && out->key_pem && out->ca_pem ? 0 : CORDON_ENOMEM;
out:
    BIO_free(b1);
    BIO_free(b2);
    BIO_free(b3);
    X509_free(cert);
    EVP_PKEY_free(key);
    X509_free(cacert);
    EVP_PKEY_free(cakey);
    if (rc)
        ca_issued_free(out);
    return rc;
}

void ca_issued_free(struct ca_issued *c)
{
    if (c->key_pem)
        OPENSSL_cleanse(c->key_pem, strlen(c->key_pem));
    free(c->cert_pem);
    free(c->key_pem);
    free(c->ca_pem);
    memset(c, 0, sizeof(*c));
}
