/*
 * tokens.h — API bearer tokens with roles (admin, responder, viewer).
 * Tokens are 32 random bytes (libsodium), shown once as "cdt_" + hex; only
 * their BLAKE2b hash (crypto_generichash) is stored. The first start writes
 * an admin token to DATA_DIR/admin.token (mode 0600) and logs the path.
 */
#ifndef CORDOND_TOKENS_H
#define CORDOND_TOKENS_H

#include <stddef.h>

struct server;

#define TOKEN_TEXT_MAX 80

int tokens_init(struct server *s);
void tokens_free(struct server *s);

/* Role of token into role[rolelen]; returns 0 or CORDON_ENOTFOUND. */
int tokens_check(struct server *s, const char *token, char *role, size_t rolelen);
/* Same, plus the token's name into name[namelen] (the approver of runbook signals). */
int tokens_check_name(struct server *s, const char *token, char *role, size_t rolelen, char *name,
                      size_t namelen);

/*
 * Create a token named name with role; the clear text goes into
 * out[TOKEN_TEXT_MAX] and id[40]. Joins the turn's transaction.
 * Returns 0, CORDON_EINVAL (bad role) or a store error.
 */
int tokens_create(struct server *s, const char *name, const char *role, char *out, char *id);

#endif
