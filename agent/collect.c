/*
 * collect.c — /proc/net socket tables into report lists. See collect.h.
 */
#include "collect.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- interface addresses ---------------------------------------------- */

void iftable_clear(struct iftable *t)
{
    t->n = 0;
}

int iftable_add(struct iftable *t, const char *name, const struct report_ip *ip)
{
    size_t len = strlen(name);

    if (len == 0 || len > IFNAME_MAX)
        return CORDON_EINVAL;
    if (t->n >= IFTABLE_MAX)
        return CORDON_ETOOBIG;
    memcpy(t->v[t->n].name, name, len + 1);
    t->v[t->n].ip = *ip;
    t->n++;
    return 0;
}

/* Parse an IPv4 or IPv6 address in text form. */
static int ip_from_text(const char *s, struct report_ip *ip)
{
    memset(ip, 0, sizeof(*ip));
    if (inet_pton(AF_INET, s, ip->addr) == 1) {
        ip->family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, s, ip->addr) == 1) {
        ip->family = 6;
        return 0;
    }
    return CORDON_EINVAL;
}

int iftable_parse(struct iftable *t, const char *text, size_t len, struct cordon_diag *diag)
{
    const char *p = text, *end = text + len;
    int line = 0;

    iftable_clear(t);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        char buf[128], name[IFNAME_MAX + 2], addr[64], extra[2];
        struct report_ip ip;
        size_t n = (size_t)(le - p);
        int fields, result;

        line++;
        if (n >= sizeof(buf)) {
            cordon_diag_set(diag, "InvalidField", 0, line, 0, "line %d: longer than %zu bytes",
                            line, sizeof(buf) - 1);
            return CORDON_EINVAL;
        }
        memcpy(buf, p, n);
        buf[n] = '\0';
        p = nl ? nl + 1 : end;
        if (strchr(buf, '#'))
            *strchr(buf, '#') = '\0';
        fields = sscanf(buf, "%16s %63s %1s", name, addr, extra);
        if (fields <= 0)
            continue;
        if (fields != 2) {
            cordon_diag_set(diag, "InvalidField", 0, line, 0,
                            "line %d: expected \"IFNAME ADDRESS\"", line);
            return CORDON_EINVAL;
        }
        if (ip_from_text(addr, &ip)) {
            cordon_diag_set(diag, "InvalidField", 0, line, 0, "line %d: '%s' is not an address",
                            line, addr);
            return CORDON_EINVAL;
        }
        result = iftable_add(t, name, &ip);
        if (result) {
            cordon_diag_set(diag, "InvalidField", 0, line, 0, "line %d: %s", line,
                            result == CORDON_ETOOBIG ? "too many addresses"
                                                     : "interface name longer than 15 bytes");
            return result;
        }
    }
    return 0;
}

static const uint8_t v4mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void procnet_unmap_v4(struct report_ip *ip)
{
    if (ip->family == 6 && memcmp(ip->addr, v4mapped_prefix, 12) == 0) {
        memmove(ip->addr, ip->addr + 12, 4);
        memset(ip->addr + 4, 0, 12);
        ip->family = 4;
    }
}

static int iftable_find(const struct iftable *t, const struct report_ip *ip_in)
{
    struct report_ip ip = *ip_in;
    size_t alen;

    if (!t)
        return -1;
    procnet_unmap_v4(&ip);
    alen = ip.family == 4 ? 4 : 16;
    for (uint32_t i = 0; i < t->n; i++)
        if (t->v[i].ip.family == ip.family && memcmp(t->v[i].ip.addr, ip.addr, alen) == 0)
            return (int)i;
    return -1;
}

const char *iftable_lookup(const struct iftable *t, const struct report_ip *ip)
{
    int i = iftable_find(t, ip);
    return i < 0 ? NULL : t->v[i].name;
}

/* ---- one line ----------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Parse exactly n hex digits at *pp into *out; advance *pp. */
static int hex_take(const char **pp, const char *end, int n, uint32_t *out)
{
    uint32_t v = 0;
    const char *p = *pp;

    if (end - p < n)
        return CORDON_EINVAL;
    for (int i = 0; i < n; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return CORDON_EINVAL;
        v = (v << 4) | (uint32_t)h;
    }
    *pp = p + n;
    *out = v;
    return 0;
}

/*
 * "0100007F:0016" (v4) or 32 hex digits + ":PORT" (v6). The kernel prints
 * each 32-bit word of the network-order address as a host integer, so
 * storing the parsed word in host order gives back the network bytes.
 */
static int addr_take(const char **pp, const char *end, bool v6, struct report_ip *ip,
                     uint16_t *port)
{
    uint32_t w, pt;
    int words = v6 ? 4 : 1;

    memset(ip, 0, sizeof(*ip));
    ip->family = v6 ? 6 : 4;
    for (int i = 0; i < words; i++) {
        if (hex_take(pp, end, 8, &w))
            return CORDON_EINVAL;
        memcpy(ip->addr + 4 * i, &w, 4);
    }
    if (*pp >= end || **pp != ':')
        return CORDON_EINVAL;
    (*pp)++;
    if (hex_take(pp, end, 4, &pt))
        return CORDON_EINVAL;
    *port = (uint16_t)pt;
    if (*pp < end && **pp != ' ')
        return CORDON_EINVAL;
    return 0;
}

static void skip_spaces(const char **pp, const char *end)
{
    while (*pp < end && **pp == ' ')
        (*pp)++;
}

int procnet_parse_line(const char *line, size_t len, bool v6, struct procnet_sock *s)
{
    const char *p = line, *end = line + len;
    uint32_t st;

    if (len > PROC_LINE_MAX)
        return CORDON_EINVAL;
    skip_spaces(&p, end);
    if (end - p >= 2 && p[0] == 's' && p[1] == 'l')
        return 1;
    /* "sl:" — a decimal slot number and a colon */
    if (p >= end || *p < '0' || *p > '9')
        return CORDON_EINVAL;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    if (p >= end || *p != ':')
        return CORDON_EINVAL;
    p++;
    skip_spaces(&p, end);
    if (addr_take(&p, end, v6, &s->local, &s->local_port))
        return CORDON_EINVAL;
    skip_spaces(&p, end);
    if (addr_take(&p, end, v6, &s->remote, &s->remote_port))
        return CORDON_EINVAL;
    skip_spaces(&p, end);
    if (hex_take(&p, end, 2, &st))
        return CORDON_EINVAL;
    if (p < end && *p != ' ')
        return CORDON_EINVAL;
    s->state = (uint8_t)st;
    return 0;
}

/* ---- collection --------------------------------------------------------- */

int collect_init(struct collect *c, uint32_t cap)
{
    memset(c, 0, sizeof(*c));
    if (cap > LIST_CAP_MAX)
        return CORDON_ERANGE;
    c->cap = cap;
    c->heap = calloc(cap ? cap : 1, sizeof(*c->heap));
    if (!c->heap)
        return CORDON_ENOMEM;
    return 0;
}

void collect_free(struct collect *c)
{
    free(c->tcp.v);
    free(c->udp.v);
    free(c->heap);
    memset(c, 0, sizeof(*c));
}

void collect_begin(struct collect *c, const struct iftable *ift)
{
    c->ift = ift;
    c->tcp.n = c->udp.n = 0;
    c->tcp.overflow = c->udp.overflow = false;
    c->nheap = 0;
    c->conn_total = 0;
    c->bad_lines = 0;
}

static bool ip_is_zero(const struct report_ip *ip)
{
    size_t n = ip->family == 4 ? 4 : 16;
    for (size_t i = 0; i < n; i++)
        if (ip->addr[i])
            return false;
    return true;
}

static int list_push(struct collect_list *l, uint16_t port, int ifidx)
{
    if (l->n >= LISTENERS_MAX) {
        l->overflow = true;
        return 0;
    }
    if (l->n == l->alloc) {
        uint32_t na = l->alloc ? l->alloc * 2 : 64;
        struct collect_listener *nv = realloc(l->v, na * sizeof(*nv));
        if (!nv)
            return CORDON_ENOMEM;
        l->v = nv;
        l->alloc = na;
    }
    l->v[l->n].port = port;
    l->v[l->n].ifidx = (int16_t)ifidx;
    l->n++;
    return 0;
}

/* Order of connections for truncation (R9): remote port, remote address
 * (IPv4 before IPv6, then bytes), local port, local interface. */
static int conn_cmp(const struct report_conn *a, const struct report_conn *b)
{
    int d;

    if (a->remote_port != b->remote_port)
        return a->remote_port < b->remote_port ? -1 : 1;
    if (a->remote.family != b->remote.family)
        return a->remote.family < b->remote.family ? -1 : 1;
    d = memcmp(a->remote.addr, b->remote.addr, 16);
    if (d)
        return d;
    if (a->local_port != b->local_port)
        return a->local_port < b->local_port ? -1 : 1;
    return strcmp(a->local_iface, b->local_iface);
}

static void heap_sift_down(struct report_conn *h, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        struct report_conn t;
        if (l < n && conn_cmp(&h[l], &h[m]) > 0)
            m = l;
        if (r < n && conn_cmp(&h[r], &h[m]) > 0)
            m = r;
        if (m == i)
            return;
        t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_sift_up(struct report_conn *h, uint32_t i)
{
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        struct report_conn t;
        if (conn_cmp(&h[i], &h[p]) <= 0)
            return;
        t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

/* Keep the cap smallest connections: a bounded max-heap. */
static void conn_offer(struct collect *c, const struct report_conn *x)
{
    c->conn_total++;
    if (c->cap == 0)
        return;
    if (c->nheap < c->cap) {
        c->heap[c->nheap] = *x;
        heap_sift_up(c->heap, c->nheap);
        c->nheap++;
    } else if (conn_cmp(x, &c->heap[0]) < 0) {
        c->heap[0] = *x;
        heap_sift_down(c->heap, c->nheap, 0);
    }
}

int collect_add(struct collect *c, enum procnet_kind kind, const struct procnet_sock *s)
{
    bool tcp = kind == PROCNET_TCP || kind == PROCNET_TCP6;

    if (tcp && s->state == PROCNET_TCP_LISTEN && s->local_port != 0) {
        int ifidx = ip_is_zero(&s->local) ? -1 : iftable_find(c->ift, &s->local);
        return list_push(&c->tcp, s->local_port, ifidx);
    }
    /* R4: what `ss -uln` lists — unconnected, bound to a port */
    if (!tcp && s->state == PROCNET_UDP_CLOSE && s->local_port != 0 && s->remote_port == 0 &&
        ip_is_zero(&s->remote)) {
        int ifidx = ip_is_zero(&s->local) ? -1 : iftable_find(c->ift, &s->local);
        return list_push(&c->udp, s->local_port, ifidx);
    }
    if (tcp && s->state == PROCNET_TCP_ESTABLISHED) {
        struct report_conn x;
        const char *ifn = iftable_lookup(c->ift, &s->local);

        memset(&x, 0, sizeof(x));
        x.remote = s->remote;
        procnet_unmap_v4(&x.remote);
        x.remote_port = s->remote_port;
        x.local_port = s->local_port;
        if (ifn)
            memcpy(x.local_iface, ifn, strlen(ifn) + 1);
        conn_offer(c, &x);
    }
    return 0;
}

int collect_add_text(struct collect *c, enum procnet_kind kind, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    bool v6 = kind == PROCNET_TCP6 || kind == PROCNET_UDP6;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        struct procnet_sock s;
        int result;

        if (le > p) {
            result = procnet_parse_line(p, (size_t)(le - p), v6, &s);
            if (result == 0) {
                result = collect_add(c, kind, &s);
                if (result)
                    return result;
            } else if (result < 0) {
                c->bad_lines++;
            }
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

static const struct iftable *cmp_ift; /* qsort context; set only inside finish_list */

static const char *ifname_of(const struct iftable *t, int idx)
{
    return idx < 0 ? "" : t->v[idx].name;
}

static int listener_cmp(const void *pa, const void *pb)
{
    const struct collect_listener *a = pa, *b = pb;
    if (a->port != b->port)
        return a->port < b->port ? -1 : 1;
    return strcmp(ifname_of(cmp_ift, a->ifidx), ifname_of(cmp_ift, b->ifidx));
}

static void finish_list(struct collect *c, struct collect_list *l, struct report_ports *out)
{
    uint32_t uniq = 0;

    cmp_ift = c->ift;
    if (l->n > 1)
        qsort(l->v, l->n, sizeof(*l->v), listener_cmp);
    out->present = true;
    out->count = 0;
    for (uint32_t i = 0; i < l->n; i++) {
        if (uniq > 0 && listener_cmp(&l->v[i], &l->v[i - 1]) == 0)
            continue;
        uniq++;
        if (out->count < c->cap) {
            struct report_port *p = &out->v[out->count++];
            const char *ifn = ifname_of(c->ift, l->v[i].ifidx);
            memset(p, 0, sizeof(*p));
            p->port = l->v[i].port;
            memcpy(p->iface, ifn, strlen(ifn) + 1);
        }
    }
    cmp_ift = NULL;
    out->total = uniq;
}

static int conn_qcmp(const void *a, const void *b)
{
    return conn_cmp(a, b);
}

void collect_finish(struct collect *c, struct report *r)
{
    finish_list(c, &c->tcp, &r->tcp_ports);
    finish_list(c, &c->udp, &r->udp_ports);
    qsort(c->heap, c->nheap, sizeof(*c->heap), conn_qcmp);
    r->conns.present = true;
    r->conns.count = c->nheap;
    memcpy(r->conns.v, c->heap, c->nheap * sizeof(*c->heap));
    r->conns.total = c->conn_total;
}
