/*
 * diag.c — netlink inet_diag and RTM_GETADDR dumps. See diag.h.
 */
#include "diag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define DIAG_TCP_ESTABLISHED 1
#define DIAG_TCP_LISTEN      10

static int nl_open(int proto)
{
    struct timeval tv = { 2, 0 }; /* a dump never takes this long; never hang the loop */
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, proto);
    if (fd < 0)
        return -errno;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

int diag_init(struct diag *d)
{
    d->inet_fd = d->route_fd = -1;
    d->buf = malloc(DIAG_BUF);
    return d->buf ? 0 : -ENOMEM;
}

void diag_free(struct diag *d)
{
    if (d->inet_fd >= 0)
        close(d->inet_fd);
    if (d->route_fd >= 0)
        close(d->route_fd);
    free(d->buf);
    d->buf = NULL;
    d->inet_fd = d->route_fd = -1;
}

static int nl_send(int fd, void *req, size_t len)
{
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
    if (sendto(fd, req, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -errno;
    return 0;
}

/* Receive a dump; fn is called per message. Returns 0 at NLMSG_DONE. */
static int nl_dump(struct diag *d, int fd, uint32_t seq, int (*fn)(void *ctx, struct nlmsghdr *h),
                   void *ctx)
{
    for (;;) {
        ssize_t len = recv(fd, d->buf, DIAG_BUF, 0);
        struct nlmsghdr *h;
        if (len < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (len == 0)
            return -EIO;
        for (h = (struct nlmsghdr *)(void *)d->buf; NLMSG_OK(h, (size_t)len);
             h = NLMSG_NEXT(h, len)) {
            int result;
            if (h->nlmsg_seq != seq)
                continue;
            if (h->nlmsg_type == NLMSG_DONE)
                return 0;
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                return e->error ? e->error : -EIO;
            }
            if ((result = fn(ctx, h)))
                return result;
        }
    }
}

static int tcp_msg(void *ctx, struct nlmsghdr *h)
{
    struct collect *c = ctx;
    struct inet_diag_msg *m = NLMSG_DATA(h);
    struct procnet_sock s;
    size_t alen;

    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
        return -EIO;
    if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
        return 0;
    memset(&s, 0, sizeof(s));
    alen = m->idiag_family == AF_INET ? 4 : 16;
    s.local.family = s.remote.family = m->idiag_family == AF_INET ? 4 : 6;
    memcpy(s.local.addr, m->id.idiag_src, alen);
    memcpy(s.remote.addr, m->id.idiag_dst, alen);
    s.local_port = ntohs(m->id.idiag_sport);
    s.remote_port = ntohs(m->id.idiag_dport);
    s.state = m->idiag_state == DIAG_TCP_LISTEN        ? PROCNET_TCP_LISTEN
              : m->idiag_state == DIAG_TCP_ESTABLISHED ? PROCNET_TCP_ESTABLISHED
                                                       : 0;
    if (!s.state)
        return 0;
    return collect_add(c, m->idiag_family == AF_INET ? PROCNET_TCP : PROCNET_TCP6, &s) ? -ENOMEM
                                                                                       : 0;
}

int diag_tcp(struct diag *d, struct collect *c)
{
    static uint32_t seq;
    struct {
        struct nlmsghdr nh;
        struct inet_diag_req r;
    } req;
    int result;

    if (d->inet_fd < 0 && (d->inet_fd = nl_open(NETLINK_INET_DIAG)) < 0) {
        result = d->inet_fd;
        d->inet_fd = -1;
        return result;
    }
    memset(&req, 0, sizeof(req));
    req.nh.nlmsg_len = sizeof(req);
    /* the compat request dumps both families in one walk of the hash tables */
    req.nh.nlmsg_type = TCPDIAG_GETSOCK;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.nh.nlmsg_seq = ++seq;
    req.r.idiag_family = AF_INET;
    req.r.idiag_states = (1u << DIAG_TCP_LISTEN) | (1u << DIAG_TCP_ESTABLISHED);
    result = nl_send(d->inet_fd, &req, sizeof(req));
    if (!result)
        result = nl_dump(d, d->inet_fd, seq, tcp_msg, c);
    if (result) {
        close(d->inet_fd); /* drop any half-read dump */
        d->inet_fd = -1;
    }
    return result;
}

static int udp_msg(void *ctx, struct nlmsghdr *h)
{
    struct collect *c = ctx;
    struct inet_diag_msg *m = NLMSG_DATA(h);
    struct procnet_sock s;
    size_t alen;

    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
        return -EIO;
    if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
        return 0;
    memset(&s, 0, sizeof(s));
    alen = m->idiag_family == AF_INET ? 4 : 16;
    s.local.family = s.remote.family = m->idiag_family == AF_INET ? 4 : 6;
    memcpy(s.local.addr, m->id.idiag_src, alen);
    memcpy(s.remote.addr, m->id.idiag_dst, alen);
    s.local_port = ntohs(m->id.idiag_sport);
    s.remote_port = ntohs(m->id.idiag_dport);
    s.state = m->idiag_state; /* the kernel filtered on 07; collect_add applies R4 */
    return collect_add(c, m->idiag_family == AF_INET ? PROCNET_UDP : PROCNET_UDP6, &s) ? -ENOMEM
                                                                                       : 0;
}

int diag_udp(struct diag *d, struct collect *c)
{
    static uint32_t seq;
    static const uint8_t families[] = { AF_INET, AF_INET6 };
    struct {
        struct nlmsghdr nh;
        struct inet_diag_req_v2 r;
    } req;
    int result = 0;

    if (d->inet_fd < 0 && (d->inet_fd = nl_open(NETLINK_INET_DIAG)) < 0) {
        result = d->inet_fd;
        d->inet_fd = -1;
        return result;
    }
    for (size_t i = 0; i < sizeof(families) && !result; i++) {
        memset(&req, 0, sizeof(req));
        req.nh.nlmsg_len = sizeof(req);
        req.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
        req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        req.nh.nlmsg_seq = ++seq + 0x40000000u; /* apart from the TCP sequence */
        req.r.sdiag_family = families[i];
        req.r.sdiag_protocol = IPPROTO_UDP;
        req.r.idiag_states = 1u << PROCNET_UDP_CLOSE;
        result = nl_send(d->inet_fd, &req, sizeof(req));
        if (!result)
            result = nl_dump(d, d->inet_fd, req.nh.nlmsg_seq, udp_msg, c);
        /* IPv6 disabled: no handler for the family, like a missing udp6 */
        if (result == -ENOENT && families[i] == AF_INET6)
            result = 0;
    }
    if (result) {
        close(d->inet_fd);
        d->inet_fd = -1;
    }
    return result;
}

static int addr_msg(void *ctx, struct nlmsghdr *h)
{
    struct iftable *t = ctx;
    struct ifaddrmsg *a = NLMSG_DATA(h);
    struct rtattr *rta;
    int rlen;
    const void *local = NULL, *address = NULL;
    char name[IF_NAMESIZE];
    struct report_ip ip;

    if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(*a)))
        return 0;
    if (a->ifa_family != AF_INET && a->ifa_family != AF_INET6)
        return 0;
    rlen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*a)));
    for (rta = IFA_RTA(a); RTA_OK(rta, rlen); rta = RTA_NEXT(rta, rlen)) {
        if (rta->rta_type == IFA_LOCAL)
            local = RTA_DATA(rta);
        else if (rta->rta_type == IFA_ADDRESS)
            address = RTA_DATA(rta);
    }
    /* IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on
     * point-to-point links); IPv6 only sends IFA_ADDRESS */
    if (!local)
        local = address;
    if (!local || !if_indextoname(a->ifa_index, name))
        return 0;
    memset(&ip, 0, sizeof(ip));
    ip.family = a->ifa_family == AF_INET ? 4 : 6;
    memcpy(ip.addr, local, ip.family == 4 ? 4 : 16);
    iftable_add(t, name, &ip);
    return 0;
}

int diag_ifaddrs(struct diag *d, struct iftable *t)
{
    static uint32_t seq;
    struct {
        struct nlmsghdr nh;
        struct ifaddrmsg a;
    } req;
    int result;

    if (d->route_fd < 0 && (d->route_fd = nl_open(NETLINK_ROUTE)) < 0) {
        result = d->route_fd;
        d->route_fd = -1;
        return result;
    }
    memset(&req, 0, sizeof(req));
    req.nh.nlmsg_len = sizeof(req);
    req.nh.nlmsg_type = RTM_GETADDR;
    req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.nh.nlmsg_seq = ++seq;
    req.a.ifa_family = AF_UNSPEC;
    iftable_clear(t);
    result = nl_send(d->route_fd, &req, sizeof(req));
    if (!result)
        result = nl_dump(d, d->route_fd, seq, addr_msg, t);
    if (result) {
        close(d->route_fd);
        d->route_fd = -1;
    }
    return result;
}
