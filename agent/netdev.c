/*
 * netdev.c — /proc/net/dev counters and report deltas. See netdev.h.
 */
#include "netdev.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NETDEV_LINE_MAX 512

/* Parse one interface line: "  eth0: rxb rxp errs drop fifo frame compr mcast txb txp ...". */
static int netdev_parse_line(const char *line, size_t len, struct netdev_counters *c)
{
    char buf[NETDEV_LINE_MAX + 1];
    char *p, *colon, *end;
    uint64_t f[16];
    size_t nlen;

    if (len > NETDEV_LINE_MAX)
        return -1;
    memcpy(buf, line, len);
    buf[len] = '\0';
    p = buf;
    while (*p == ' ' || *p == '\t')
        p++;
    colon = strchr(p, ':');
    if (!colon)
        return -1;
    nlen = (size_t)(colon - p);
    if (nlen == 0 || nlen > IFNAME_MAX || memchr(p, ' ', nlen) || memchr(p, '|', nlen))
        return -1;
    memcpy(c->name, p, nlen);
    c->name[nlen] = '\0';
    p = colon + 1;
    for (int i = 0; i < 16; i++) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p < '0' || *p > '9')
            return -1;
        errno = 0;
        f[i] = strtoull(p, &end, 10);
        if (errno || end == p)
            return -1;
        p = end;
    }
    c->rx_bytes = f[0];
    c->rx_packets = f[1];
    c->tx_bytes = f[8];
    c->tx_packets = f[9];
    return 0;
}

int netdev_parse(const char *text, size_t len, struct netdev_snap *s, uint32_t *bad)
{
    const char *p = text, *end = text + len;

    s->n = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);

        /* header lines contain '|' */
        if (n > 0 && !memchr(p, '|', n)) {
            if (s->n < NETDEV_MAX && netdev_parse_line(p, n, &s->v[s->n]) == 0)
                s->n++;
            else if (bad)
                (*bad)++;
        }
        p = nl ? nl + 1 : end;
    }
    return 0;
}

static const struct netdev_counters *snap_find(const struct netdev_snap *s, const char *name)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}

bool netdev_delta(struct netdev_state *st, const struct netdev_snap *cur, bool include_lo,
                  struct report_netstats *out)
{
    uint64_t d[REPORT_NETSTAT_COUNT] = { 0 };
    bool valid = st->have;

    for (uint32_t i = 0; st->have && i < cur->n; i++) {
        const struct netdev_counters *c = &cur->v[i];
        const struct netdev_counters *p;

        if (!include_lo && strcmp(c->name, "lo") == 0)
            continue;
        p = snap_find(&st->prev, c->name);
        if (!p)
            continue; /* new interface: baseline only */
        if (c->rx_bytes < p->rx_bytes || c->tx_bytes < p->tx_bytes ||
            c->rx_packets < p->rx_packets || c->tx_packets < p->tx_packets) {
            valid = false; /* reset: re-baselined below, no stats this time */
            continue;
        }
        d[REPORT_BYTES_IN] += c->rx_bytes - p->rx_bytes;
        d[REPORT_BYTES_OUT] += c->tx_bytes - p->tx_bytes;
        d[REPORT_PACKETS_IN] += c->rx_packets - p->rx_packets;
        d[REPORT_PACKETS_OUT] += c->tx_packets - p->tx_packets;
    }
    st->prev = *cur;
    st->have = true;
    memset(out, 0, sizeof(*out));
    if (!valid)
        return false;
    out->present = true;
    out->has = (1u << REPORT_NETSTAT_COUNT) - 1;
    memcpy(out->v, d, sizeof(d));
    return true;
}
