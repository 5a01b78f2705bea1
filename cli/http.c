/*
 * http.c — the CLI's API requests (libcurl easy: one blocking request at a
 * time is all a command-line client needs).
 */
#include "cli.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void http_response_init(struct http_response *r)
{
    r->status = 0;
    buf_init(&r->body, CLI_RESPONSE_MAX);
    r->content_type[0] = '\0';
}

void http_response_free(struct http_response *r)
{
    buf_free(&r->body);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct http_response *r = userp;
    size_t n = size * nmemb;

    if (buf_add(&r->body, data, n))
        return 0; /* over CLI_RESPONSE_MAX: curl aborts with CURLE_WRITE_ERROR */
    return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
    struct http_response *r = userp;
    size_t n = size * nmemb;

    if (n > 13 && !strncasecmp(data, "content-type:", 13)) {
        size_t i = 13, len;
        while (i < n && (data[i] == ' ' || data[i] == '\t'))
            i++;
        len = n - i;
        while (len && (data[i + len - 1] == '\r' || data[i + len - 1] == '\n'))
            len--;
        if (len >= sizeof(r->content_type))
            len = sizeof(r->content_type) - 1;
        memcpy(r->content_type, data + i, len);
        r->content_type[len] = '\0';
    }
    return n;
}

int http_escape(const char *s, struct buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;

    for (; *s && !rc; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~' || ch == ':')
            rc = buf_addc(out, (char)ch);
        else
            rc = buf_printf(out, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
    }
    return rc;
}

int http_path(struct buf *out, const char *fmt, ...)
{
    va_list ap;
    int rc = 0;

    va_start(ap, fmt);
    for (; *fmt && !rc; fmt++) {
        if (fmt[0] == '%' && fmt[1] == 's') {
            rc = http_escape(va_arg(ap, const char *), out);
            fmt++;
        } else {
            rc = buf_addc(out, *fmt);
        }
    }
    va_end(ap);
    return rc;
}

int http_request(struct cli *c, const char *method, const char *path, const char *body,
                 size_t body_len, const char *content_type, const char *const *headers,
                 struct http_response *r)
{
    CURL *curl;
    CURLcode res;
    struct curl_slist *hdrs = NULL, *tmp;
    char line[CLI_TOKEN_MAX + 64], url[CLI_URL_MAX + 2048], errbuf[CURL_ERROR_SIZE];
    int rc = CLI_EXIT_OK;

    if (snprintf(url, sizeof(url), "%s%s", c->url, path) >= (int)sizeof(url)) {
        out_error("request URL too long");
        return CLI_EXIT_USAGE;
    }
    curl = curl_easy_init();
    if (!curl) {
        out_error("cannot initialise libcurl");
        return CLI_EXIT_ERROR;
    }
    errbuf[0] = '\0';
#define ADD_HEADER(text)                                                                           \
    do {                                                                                           \
        tmp = curl_slist_append(hdrs, (text));                                                     \
        if (!tmp) {                                                                                \
            rc = CLI_EXIT_ERROR;                                                                   \
            goto out;                                                                              \
        }                                                                                          \
        hdrs = tmp;                                                                                \
    } while (0)
    if (c->token[0]) {
        snprintf(line, sizeof(line), "Authorization: Bearer %s", c->token);
        ADD_HEADER(line);
    }
    ADD_HEADER("Accept: application/json");
    if (body) {
        snprintf(line, sizeof(line), "Content-Type: %s",
                 content_type ? content_type : "application/json");
        ADD_HEADER(line);
    }
    ADD_HEADER("Expect:"); /* no 100-continue round trip */
    for (; headers && *headers; headers++)
        ADD_HEADER(*headers);
#undef ADD_HEADER

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, c->timeout_s);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "cordon-cli/" CORDON_VERSION);
    /* never follow redirects: the token must not travel to another host */
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else if (!strcmp(method, "POST") || !strcmp(method, "PUT")) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    if (c->verbose)
        fprintf(stderr, "> %s %s\n", method, url);

    res = curl_easy_perform(curl);
    if (res != CURLE_OK) {
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(res);
        if (res == CURLE_WRITE_ERROR && r->body.len + 1 >= CLI_RESPONSE_MAX) {
            out_error("response from %s is larger than %d bytes", c->url, CLI_RESPONSE_MAX);
            rc = CLI_EXIT_ERROR;
        } else {
            out_error("cannot connect to %s: %s", c->url, why);
            rc = CLI_EXIT_CONNECT;
        }
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (c->verbose)
        fprintf(stderr, "< %ld (%zu bytes)\n", r->status, r->body.len);
out:
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(curl);
    return rc;
}

int http_report_error(const struct http_response *r)
{
    json_t *root = NULL, *err, *errors;
    json_error_t jerr;
    const char *code = NULL, *message = NULL;
    int rc = r->status == 401 || r->status == 403 ? CLI_EXIT_AUTH : CLI_EXIT_ERROR;

    if (r->body.len)
        root = json_loadb(r->body.ptr, r->body.len, 0, &jerr);
    err = root ? json_object_get(root, "error") : NULL;
    if (err) {
        code = json_string_value(json_object_get(err, "code"));
        message = json_string_value(json_object_get(err, "message"));
    }
    if (code || message) {
        out_error("%s: %s", code ? code : "error", message ? message : "(no message)");
        errors = json_object_get(err, "errors");
        if (json_is_array(errors) && json_array_size(errors) > 1) {
            size_t i;
            json_t *e;
            json_array_foreach(errors, i, e)
            {
                if (i > 0 && json_is_string(e))
                    fprintf(stderr, "  %s\n", json_string_value(e));
            }
        }
    } else {
        /* not our API's error shape: show the status and the first line */
        size_t n = 0;
        while (n < r->body.len && n < 200 && r->body.ptr[n] != '\n')
            n++;
        out_error("http_%ld: %.*s", r->status, (int)n, r->body.len ? r->body.ptr : "");
    }
    if (r->status == 401)
        fprintf(stderr, "cordon: hint: check the token (--token-file, CORDON_TOKEN; see cordon "
                        "--help)\n");
    json_decref(root);
    return rc;
}

int http_call(struct cli *c, const char *method, const char *path, json_t *body,
              struct http_response *r, json_t **json)
{
    char *text = NULL;
    int rc;

    if (json)
        *json = NULL;
    if (body) {
        text = json_dumps(body, JSON_COMPACT);
        if (!text) {
            out_error("out of memory");
            return CLI_EXIT_ERROR;
        }
    }
    rc = http_request(c, method, path, text, text ? strlen(text) : 0, NULL, NULL, r);
    free(text);
    if (rc)
        return rc;
    if (r->status < 200 || r->status > 299)
        return http_report_error(r);
    if (json && r->body.len) {
        json_error_t jerr;
        *json = json_loadb(r->body.ptr, r->body.len, 0, &jerr);
        if (!*json) {
            out_error("the server sent invalid JSON (%s at byte %d)", jerr.text, jerr.position);
            return CLI_EXIT_ERROR;
        }
    }
    return CLI_EXIT_OK;
}
