/*
 * webclient.h — outbound HTTP (libcurl multi on the libuv loop:
 * CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION → uv_poll/uv_timer) and the outbox
 * sender of kind "webhook": POST the payload as JSON to the row's target
 * URL, done on 2xx, retried by the outbox otherwise. 10 s per attempt.
 */
#ifndef CORDOND_WEBCLIENT_H
#define CORDOND_WEBCLIENT_H

#include <stddef.h>
#include <stdint.h>

struct server;

#define WEBCLIENT_TIMEOUT_MS 10000

/* Completion of a request: status is the HTTP status, 0 on transport error (error set). */
typedef void (*webclient_fn)(struct server *s, void *arg, long status, const char *error);

int webclient_init(struct server *s);
void webclient_free(struct server *s);

/* POST body (copied) with Content-Type ctype to url; fn runs on completion. */
int webclient_post(struct server *s, const char *url, const char *ctype, const char *body,
                   size_t len, const char *idempotency_key, webclient_fn fn, void *arg);

/*
 * Run a prepared libcurl easy handle (any protocol: SMTP pages use it) on the
 * loop's multi. Takes ownership of easy, headers (curl_slist, may be NULL)
 * and data (malloc'd, freed after completion, may be NULL); sets
 * CURLOPT_PRIVATE and CURLOPT_ERRORBUFFER. fn gets the protocol's response
 * code (HTTP status, SMTP reply code), 0 on transport error. On failure
 * everything is freed and fn is not called.
 */
int webclient_perform(struct server *s, void *easy, void *headers, void *data, webclient_fn fn,
                      void *arg);
#endif
