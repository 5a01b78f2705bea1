/*
 * diag.h — TCP sockets and interface addresses from netlink, the fast path
 * for the live system (spec R1 allows SOCK_DIAG).
 *
 * Reading /proc/net/tcp and /proc/net/tcp6 walks the kernel's whole
 * established-connection hash table once per file (262,144 buckets on a
 * 24 GiB machine: about 1 ms each, however few sockets there are). The
 * inet_diag TCPDIAG_GETSOCK dump returns IPv4 and IPv6 sockets in one walk,
 * already filtered to LISTEN and ESTABLISHED. RTM_GETADDR lists addresses
 * without the per-link statistics getifaddrs() also fetches.
 *
 * --proc-root (fixtures) always uses the /proc text parsers.
 */
#ifndef CORDON_AGENT_DIAG_H
#define CORDON_AGENT_DIAG_H

#include "collect.h"

#include <stddef.h>

/* Netlink sockets reused across collections. fd < 0 = not open. */
struct diag {
    int inet_fd;
    int route_fd;
    char *buf; /* DIAG_BUF bytes */
};

#define DIAG_BUF 65536

int diag_init(struct diag *d);
void diag_free(struct diag *d);

/* Add every LISTEN and ESTABLISHED TCP socket (both families) to c.
 * Returns 0, or a negative errno (the caller falls back to /proc). */
int diag_tcp(struct diag *d, struct collect *c);

/* Add every unconnected UDP socket (state 07, both families) to c.
 * Returns 0 or a negative errno (the caller falls back to /proc). */
int diag_udp(struct diag *d, struct collect *c);

/* Fill t with the addresses of every interface. Returns 0 or a negative
 * errno (the caller falls back to getifaddrs). */
int diag_ifaddrs(struct diag *d, struct iftable *t);

#endif
