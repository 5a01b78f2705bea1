/*
 * fuzz_report.c — libFuzzer target for the report decoder (lib/report.c).
 *
 * Decode the input; when it is accepted, encode it with long and with short
 * key names, decode each again and abort() unless the result equals the
 * first decode (decode(encode(r)) == r), and unless encoding is stable.
 * Seeds: tests/fuzz/corpus/report/ (copies of tests/fixtures/reports/).
 */
#include "report.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int lookup(void *ctx, const char *name, size_t len)
{
    (void)ctx;
    /* a declared set, to reach UnknownCustomMetric and type mismatches */
    if (len >= 1 && name[0] == 'u')
        return -1;
    if (len >= 1 && name[0] == 'n')
        return REPORT_CUSTOM_NUMBER;
    return len % 4;
}

/* Messages go into JSON replies: they must be valid UTF-8 without controls. */
static int message_ok(const char *m)
{
    const unsigned char *p = (const unsigned char *)m;
    while (*p) {
        int n = *p < 0x80 ? 1 : *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC2 ? 2 : 0;
        if (n == 0 || (n == 1 && *p < 0x20))
            return 0;
        for (int i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += n;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct report r, r2;
    static int ready;
    struct cordon_diag diag;
    struct report_decode_opts opts = { .custom_lookup = lookup };
    struct report_decode_opts slow = { .no_fast_paths = true };
    struct cordon_diag diag2;
    int rc;
    struct buf out, out2;

    if (!ready) {
        if (report_init(&r) || report_init(&r2))
            abort();
        ready = 1;
    }
    /* report_ip_parse is inet_pton, without the NUL */
    if (size < 64) {
        char s[64];
        struct report_ip ip;
        uint8_t want[16];
        int ok;
        memcpy(s, data, size);
        s[size] = '\0';
        if (strlen(s) == size) {
            ok = inet_pton(memchr(s, ':', size) ? AF_INET6 : AF_INET, s, want) == 1;
            if ((report_ip_parse(s, size, &ip) == 0) != ok)
                abort();
            if (ok && memcmp(ip.addr, want, ip.family == 4 ? 4 : 16) != 0)
                abort();
        }
    }
    /* the first byte picks whether declared metrics are checked */
    if (size > 0 && (data[0] & 1))
        (void)report_decode(&r, (const char *)data, size, &opts, &diag);
    /* the speculative fast paths change nothing: same result, same diag */
    rc = report_decode(&r, (const char *)data, size, NULL, &diag);
    if (report_decode(&r2, (const char *)data, size, &slow, &diag2) != rc)
        abort();
    if (rc == 0 && (!report_equal(&r, &r2) || r.unknown_keys != r2.unknown_keys))
        abort();
    if (rc != 0 && (strcmp(diag.code, diag2.code) != 0 ||
                    strcmp(diag.message, diag2.message) != 0 || diag.offset != diag2.offset))
        abort();
    if (rc != 0) {
        if (diag.code[0] == '\0' || diag.offset > size || !message_ok(diag.message))
            abort();
        return 0;
    }
    for (int s = 0; s < 2; s++) {
        buf_init(&out, REPORT_MAX_BYTES * 8);
        buf_init(&out2, REPORT_MAX_BYTES * 8);
        if (report_encode(&r, s, &out) != 0)
            abort();
        if (report_decode(&r2, out.ptr, out.len,
                          &(struct report_decode_opts){ .max_bytes = out.len + 1 }, &diag) != 0)
            abort();
        if (!report_equal(&r, &r2))
            abort();
        if (report_encode(&r2, s, &out2) != 0 || out2.len != out.len ||
            memcmp(out.ptr, out2.ptr, out.len) != 0)
            abort();
        buf_free(&out);
        buf_free(&out2);
    }
    return 0;
}
