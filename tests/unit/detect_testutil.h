/*
 * detect_testutil.h — helpers shared by the detect unit tests: a struct
 * report built by hand (fixed arrays, no decoder) and profile loading.
 */
#ifndef DETECT_TESTUTIL_H
#define DETECT_TESTUTIL_H

#include "profile.h"
#include "report.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct treport {
    struct report r;
    struct report_port tcp[64], udp[64];
    struct report_conn conns[64];
    struct report_custom custom[8];
    double numbers[64];
    struct report_ip ips[64];
    struct report_str strs[64];
    char strpool[1024];
};

static inline void tr_init(struct treport *t)
{
    memset(t, 0, sizeof(*t));
    t->r.version_major = 1;
    t->r.tcp_ports.v = t->tcp;
    t->r.udp_ports.v = t->udp;
    t->r.conns.v = t->conns;
    t->r.custom = t->custom;
    t->r.numbers = t->numbers;
    t->r.ips = t->ips;
    t->r.strs = t->strs;
    t->r.strpool = t->strpool;
}

/* Set a ports group: n ports, then the port numbers. */
static inline void tr_ports(struct report_ports *g, struct report_port *v, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    g->present = true;
    g->count = g->total = (uint32_t)n;
    for (int i = 0; i < n; i++) {
        v[i].port = (uint16_t)va_arg(ap, int);
        v[i].iface[0] = '\0';
    }
    va_end(ap);
}
#define TR_TCP(t, n, ...) tr_ports(&(t)->r.tcp_ports, (t)->tcp, n, __VA_ARGS__)
#define TR_UDP(t, n, ...) tr_ports(&(t)->r.udp_ports, (t)->udp, n, __VA_ARGS__)

static inline void tr_ip(struct report_ip *ip, const char *s)
{
    memset(ip, 0, sizeof(*ip));
    if (strchr(s, ':')) {
        ip->family = 6;
        inet_pton(AF_INET6, s, ip->addr);
    } else {
        ip->family = 4;
        inet_pton(AF_INET, s, ip->addr);
    }
}

/* Add an established connection to remote address s. */
static inline void tr_conn(struct treport *t, const char *s)
{
    struct report_conn *c = &t->conns[t->r.conns.count++];
    t->r.conns.present = true;
    t->r.conns.total = t->r.conns.count;
    tr_ip(&c->remote, s);
    c->remote_port = 443;
    c->local_port = -1;
}

static inline void tr_net(struct treport *t, uint64_t bi, uint64_t bo, uint64_t pi, uint64_t po)
{
    t->r.net.present = true;
    t->r.net.has = 0xf;
    t->r.net.v[REPORT_BYTES_IN] = bi;
    t->r.net.v[REPORT_BYTES_OUT] = bo;
    t->r.net.v[REPORT_PACKETS_IN] = pi;
    t->r.net.v[REPORT_PACKETS_OUT] = po;
}

static inline struct report_custom *tr_custom(struct treport *t, const char *name,
                                              enum report_custom_type type)
{
    struct report_custom *c = &t->custom[t->r.ncustom++];
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->type = type;
    c->first = t->r.nvalues;
    return c;
}

static inline void tr_custom_string(struct treport *t, struct report_custom *c, const char *s)
{
    size_t len = strlen(s);
    t->strs[t->r.nvalues].off = t->r.strpool_len;
    t->strs[t->r.nvalues].len = (uint32_t)len;
    memcpy(t->strpool + t->r.strpool_len, s, len);
    t->r.strpool_len += (uint32_t)len;
    t->r.nvalues++;
    c->count++;
}

static inline void tr_custom_number(struct treport *t, struct report_custom *c, double v)
{
    t->numbers[t->r.nvalues++] = v;
    c->count++;
}

static inline void tr_custom_ip(struct treport *t, struct report_custom *c, const char *s)
{
    tr_ip(&t->ips[t->r.nvalues++], s);
    c->count++;
}

/* Read a fixture file into a malloc'd NUL-terminated buffer. */
static inline char *fixture_read(const char *rel, size_t *len)
{
    char path[1024];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s", CORDON_FIXTURES, rel);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

/* Parse YAML text into set (aborts the test on failure, printing the diag). */
static inline int load_yaml(struct profile_set *set, const char *yaml,
                            const struct metric_catalog *cat)
{
    struct cordon_diag d;
    int r = profile_set_parse(set, "test.yaml", yaml, strlen(yaml), cat, &d);
    if (r)
        fprintf(stderr, "load_yaml: %s\n", d.message);
    return r;
}

#endif
