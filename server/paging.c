/*
 * paging.c — the outbox sender of kind "page": one row per PAGE effect of
 * lib/engagement, keyed by its idempotency key. Before delivering a row it
 * asks engagement_page_live(), so nothing is sent after an
 * acknowledgement. Channels: EMAIL over SMTP (libcurl on the loop's multi,
 * STARTTLS / TLS / plain, optional auth), WEBHOOK (generic JSON, Slack or
 * Mattermost), SMS and VOICE through a configurable HTTP gateway (generic
 * template or the Twilio-compatible preset). docs/paging.md "cordond".
 */
#include "cordon.h"
#include "incidents_int.h"
#include "log.h"
#include "outbox.h"
#include "server.h"
#include "webclient.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGING_MAIL_MAX (256 * 1024) /* one email message, headers included */

struct upload {
    size_t len, pos;
    char data[];
};

static size_t read_upload(char *out, size_t size, size_t n, void *arg)
{
    struct upload *u = arg;
    size_t left = u->len - u->pos, want = size * n;
    if (want > left)
        want = left;
    memcpy(out, u->data + u->pos, want);
    u->pos += want;
    return want;
}

static size_t discard(char *p, size_t size, size_t n, void *u)
{
    (void)p;
    (void)u;
    return size * n;
}

struct done_ctx {
    int64_t id; /* outbox row, 0 = not an outbox send */
    bool smtp;
};

static void page_done(struct server *s, void *arg, long status, const char *error)
{
    struct done_ctx *d = arg;
    struct incidents *g = incidents_of(s);
    bool ok = d->smtp ? (status >= 200 && status < 400 && !(error && *error))
                      : (status >= 200 && status < 300);
    char msg[300];
    if (!ok) {
        if (status)
            snprintf(msg, sizeof(msg), "%s %ld", d->smtp ? "SMTP" : "HTTP", status);
        else
            snprintf(msg, sizeof(msg), "%s", error && *error ? error : "transport error");
    }
    if (g) {
        if (ok && d->id)
            g->pages_sent++;
        else if (!ok)
            g->pages_failed++;
    }
    if (d->id)
        outbox_complete(s, d->id, ok, ok ? NULL : msg);
    else if (!ok)
        log_warn("activation message not delivered", "error=\"%s\"", msg);
    free(d);
}

/* RFC 5322 header value: no CR/LF. */
static void header_clean(char *dst, size_t n, const char *src)
{
    size_t i = 0;
    for (; src && *src && i + 1 < n; src++)
        dst[i++] = (*src == '\r' || *src == '\n') ? ' ' : *src;
    dst[i] = 0;
}

static int send_email(struct server *s, const char *to, const char *subject, const char *body,
                      const char *key, struct done_ctx *d)
{
    const struct config *c = &s->cfg;
    struct curl_slist *rcpt = NULL;
    struct upload *u;
    CURL *easy;
    char url[400], from[300], subj[600], date[64], rcpt_to[400];
    size_t cap = PAGING_MAIL_MAX;
    time_t now = (time_t)(server_now(s) / 1000);
    struct tm tm;
    int n;

    if (!c->smtp_host[0])
        return CORDON_EINVAL;
    u = malloc(sizeof(*u) + cap);
    easy = curl_easy_init();
    if (!u || !easy) {
        free(u);
        curl_easy_cleanup(easy);
        return CORDON_ENOMEM;
    }
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    header_clean(from, sizeof(from), c->smtp_from);
    header_clean(subj, sizeof(subj), subject);
    n = snprintf(u->data, cap,
                 "Date: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: %s\r\n"
                 "Message-ID: <%.200s@cordon>\r\nX-Cordon-Idempotency-Key: %.300s\r\n"
                 "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
                 date, from, to, subj, key, key);
    /* body: normalise line ends to CRLF, dot-stuffing is done by libcurl */
    for (const char *p = body ? body : ""; *p && n + 3 < (int)cap; p++) {
        if (*p == '\n' && (p == body || p[-1] != '\r'))
            u->data[n++] = '\r';
        u->data[n++] = *p;
    }
    n += snprintf(u->data + n, cap - (size_t)n, "\r\n");
    u->len = (size_t)n;
    u->pos = 0;
    snprintf(url, sizeof(url), "%s://%s:%d", strcmp(c->smtp_security, "tls") ? "smtp" : "smtps",
             c->smtp_host, c->smtp_port);
    snprintf(rcpt_to, sizeof(rcpt_to), "<%s>", to);
    rcpt = curl_slist_append(NULL, rcpt_to);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    if (!strcmp(c->smtp_security, "starttls"))
        curl_easy_setopt(easy, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (c->smtp_username[0]) {
        curl_easy_setopt(easy, CURLOPT_USERNAME, c->smtp_username);
        curl_easy_setopt(easy, CURLOPT_PASSWORD, c->smtp_password);
    }
    snprintf(rcpt_to, sizeof(rcpt_to), "<%s>", c->smtp_from);
    curl_easy_setopt(easy, CURLOPT_MAIL_FROM, rcpt_to);
    curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(easy, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(easy, CURLOPT_READDATA, u);
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u->len);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)WEBCLIENT_TIMEOUT_MS);
    d->smtp = true;
    return webclient_perform(s, easy, rcpt, u, page_done, d);
}

static int send_http(struct server *s, const char *url, const char *ctype, const char *body,
                     const char *user, const char *pass, const char *key, struct done_ctx *d)
{
    CURL *easy = curl_easy_init();
    struct curl_slist *h = NULL;
    char line[600];
    size_t len = strlen(body);
    char *copy = malloc(len + 1);
    if (!easy || !copy) {
        curl_easy_cleanup(easy);
        free(copy);
        return CORDON_ENOMEM;
    }
    memcpy(copy, body, len + 1);
    snprintf(line, sizeof(line), "Content-Type: %s", ctype);
    h = curl_slist_append(h, line);
    snprintf(line, sizeof(line), "Idempotency-Key: %.500s", key);
    h = curl_slist_append(h, line);
    h = curl_slist_append(h, "User-Agent: cordond/" CORDON_VERSION);
    curl_easy_setopt(easy, CURLOPT_URL, url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, copy);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)WEBCLIENT_TIMEOUT_MS);
    if (user && *user) {
        curl_easy_setopt(easy, CURLOPT_USERNAME, user);
        curl_easy_setopt(easy, CURLOPT_PASSWORD, pass);
    }
    return webclient_perform(s, easy, h, copy, page_done, d);
}

/* Append src to out escaped for ctype (JSON string body or form field). */
static void put_escaped(struct buf *out, const char *src, bool json)
{
    if (json) {
        struct buf t;
        buf_init(&t, 64 * 1024);
        if (!buf_add_json_string(&t, src, strlen(src)) && t.len >= 2)
            buf_add(out, t.ptr + 1, t.len - 2); /* without the quotes */
        buf_free(&t);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.~", *p))
            buf_add(out, (const char *)p, 1);
        else
            buf_printf(out, "%%%02X", *p);
    }
}

/* Render the gateway template: {{to}}, {{text}}, {{from}}, {{type}}. */
static int render_gateway(const char *tmpl, bool json, const char *to, const char *text,
                          const char *from, const char *type, struct buf *out)
{
    const char *p = tmpl;
    while (*p) {
        const char *o = strstr(p, "{{");
        const char *cl = o ? strstr(o, "}}") : NULL;
        if (!o || !cl) {
            buf_add(out, p, strlen(p));
            break;
        }
        buf_add(out, p, (size_t)(o - p));
        char name[16] = "";
        size_t nl = (size_t)(cl - o - 2);
        if (nl < sizeof(name))
            memcpy(name, o + 2, nl), name[nl] = 0;
        if (!strcmp(name, "to"))
            put_escaped(out, to, json);
        else if (!strcmp(name, "text"))
            put_escaped(out, text, json);
        else if (!strcmp(name, "from"))
            put_escaped(out, from, json);
        else if (!strcmp(name, "type"))
            put_escaped(out, type, json);
        else
            buf_add(out, o, (size_t)(cl + 2 - o));
        p = cl + 2;
    }
    return 0;
}

static int send_gateway(struct server *s, const char *type, const char *to, const char *text,
                        const char *key, struct done_ctx *d)
{
    const struct config *c = &s->cfg;
    bool twilio = !strcmp(c->gateway_preset, "twilio");
    const char *tmpl = c->gateway_template;
    const char *ctype = c->gateway_content_type;
    struct buf body, url;
    int rc;
    if (!c->gateway_url[0])
        return CORDON_EINVAL;
    if (!*tmpl)
        tmpl = twilio ? (strcmp(type, "VOICE") ? "To={{to}}&From={{from}}&Body={{text}}"
                                               : "To={{to}}&From={{from}}&Twiml=%3CResponse%3E%"
                                                 "3CSay%3E{{text}}%3C%2FSay%3E%3C%2FResponse%3E")
                      : "{\"type\":\"{{type}}\",\"to\":\"{{to}}\",\"from\":\"{{from}}\",\"text\":"
                        "\"{{text}}\"}";
    if (!*ctype)
        ctype = twilio ? "application/x-www-form-urlencoded" : "application/json";
    buf_init(&body, 64 * 1024);
    buf_init(&url, 4096);
    render_gateway(tmpl, strstr(ctype, "json") != NULL, to, text, c->gateway_from, type, &body);
    render_gateway(c->gateway_url, false, to, text, c->gateway_from, type, &url);
    if (twilio && !strcmp(type, "VOICE") && url.ptr) {
        /* the Twilio API places calls at …/Calls.json, messages at …/Messages.json */
        char *m = strstr(url.ptr, "/Messages.json");
        if (m) {
            struct buf u2;
            buf_init(&u2, 4096);
            buf_add(&u2, url.ptr, (size_t)(m - url.ptr));
            buf_add(&u2, "/Calls.json", 11);
            buf_add(&u2, m + 14, strlen(m + 14));
            buf_free(&url);
            url = u2;
        }
    }
    rc = send_http(s, url.ptr ? url.ptr : "", ctype, body.ptr ? body.ptr : "", c->gateway_username,
                   c->gateway_password, key, d);
    buf_free(&body);
    buf_free(&url);
    return rc;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static int send_page(struct server *s, void *arg, const struct outbox_item *it)
{
    json_t *p = json_loadb(it->payload, it->payload_len, 0, NULL);
    struct inc_entry *e;
    struct done_ctx *d;
    const char *type;
    int rc;
    (void)arg;
    if (!p) {
        log_error("bad page row", "key=%s", it->key);
        outbox_complete(s, it->id, 1, NULL);
        return 0;
    }
    e = incidents_find(s, jstr(p, "incident"));
    if (!e || !e->has_eng || !engagement_page_live(&e->eng, jstr(p, "pageId"))) {
        /* acknowledged, stopped or gone: never delivered */
        struct incidents *g = incidents_of(s);
        if (g)
            g->pages_dropped++;
        log_info("page dropped", "key=%s reason=not-live", it->key);
        outbox_complete(s, it->id, 1, NULL);
        json_decref(p);
        return 0;
    }
    d = calloc(1, sizeof(*d));
    if (!d) {
        json_decref(p);
        return CORDON_ENOMEM;
    }
    d->id = it->id;
    type = jstr(p, "type");
    if (!strcmp(type, "EMAIL"))
        rc = send_email(s, jstr(p, "address"), jstr(p, "subject"), jstr(p, "body"), it->key, d);
    else if (!strcmp(type, "WEBHOOK"))
        rc = send_http(s, jstr(p, "address"), "application/json", jstr(p, "webhookJson"), NULL,
                       NULL, it->key, d);
    else if (!strcmp(type, "SMS"))
        rc = send_gateway(s, "SMS", jstr(p, "address"), jstr(p, "shortText"), it->key, d);
    else
        rc = send_gateway(s, "VOICE", jstr(p, "address"), jstr(p, "body"), it->key, d);
    if (rc) {
        free(d);
        log_warn("page not sent", "key=%s type=%s error=%s", it->key, type,
                 rc == CORDON_EINVAL ? "transport not configured" : cordon_strerror(rc));
    }
    json_decref(p);
    return rc;
}

int paging_send_activation(struct server *s, const struct contact *c,
                           const struct contact_channel *ch, const char *code)
{
    struct done_ctx *d = calloc(1, sizeof(*d));
    char text[1400], key[600];
    int rc;
    if (!d)
        return CORDON_ENOMEM;
    snprintf(text, sizeof(text),
             "Cordon: your activation code for channel %s of contact %s is %s. "
             "Activate it with: cordon contacts activate %s %s %s",
             ch->name, c->alias, code, c->alias, ch->name, code);
    snprintf(key, sizeof(key), "activation:%.200s:%.200s:%lld", c->alias, ch->name,
             (long long)server_now(s));
    switch (ch->type) {
    case CONTACT_CHANNEL_EMAIL:
        rc = send_email(s, ch->address, "Cordon channel activation code", text, key, d);
        break;
    case CONTACT_CHANNEL_WEBHOOK: {
        json_t *j = json_pack("{s:s,s:s}", "text", text, "type", "activation");
        char *body = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        rc = body ? send_http(s, ch->address, "application/json", body, NULL, NULL, key, d)
                  : CORDON_ENOMEM;
        free(body);
        break;
    }
    default:
        rc = send_gateway(s, contact_channel_type_name(ch->type), ch->address, text, key, d);
    }
    if (rc)
        free(d);
    return rc;
}

int paging_init(struct server *s)
{
    return outbox_kind(s, INCIDENTS_PAGE_KIND, send_page, NULL);
}
