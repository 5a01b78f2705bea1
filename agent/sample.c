/*
 * sample.c — one collection from the system. See sample.h.
 */
#include "sample.h"

#include "custom.h"
#include "log.h"
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sample_init(struct sample *s, const struct agent_config *cfg)
{
    int result;

    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    buf_init(&s->text, PROC_NETDEV_MAX);
    s->chunk = malloc(PROC_CHUNK + PROC_LINE_MAX + 2);
    if (!s->chunk)
        return CORDON_ENOMEM;
    result = collect_init(&s->col, (uint32_t)cfg->max_list);
    if (result) {
        free(s->chunk);
        return result;
    }
    s->use_diag = strcmp(cfg->proc_root, "/proc") == 0;
    if (diag_init(&s->diag)) {
        collect_free(&s->col);
        free(s->chunk);
        return CORDON_ENOMEM;
    }
    return 0;
}

void sample_free(struct sample *s)
{
    collect_free(&s->col);
    diag_free(&s->diag);
    buf_free(&s->text);
    free(s->chunk);
    s->chunk = NULL;
}

/*
 * Stream one socket table through the parser with a fixed buffer; a line
 * longer than PROC_LINE_MAX is skipped up to its newline and counted.
 * Returns 0, -errno from open (-ENOENT when missing) or CORDON_ENOMEM.
 */
static int read_table(struct sample *s, const char *name, enum procnet_kind kind)
{
    char path[4200];
    size_t have = 0;
    bool skipping = false;
    int fd, result = 0;

    snprintf(path, sizeof(path), "%s/net/%s", s->cfg->proc_root, name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n = read(fd, s->chunk + have, PROC_CHUNK + PROC_LINE_MAX - have);
        char *last_nl;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            result = -errno;
            break;
        }
        if (n == 0) {
            if (have && !skipping)
                result = collect_add_text(&s->col, kind, s->chunk, have);
            break;
        }
        have += (size_t)n;
        if (skipping) {
            char *nl = memchr(s->chunk, '\n', have);
            if (!nl) {
                have = 0;
                continue;
            }
            have -= (size_t)(nl + 1 - s->chunk);
            memmove(s->chunk, nl + 1, have);
            skipping = false;
        }
        last_nl = NULL;
        for (size_t i = have; i > 0; i--)
            if (s->chunk[i - 1] == '\n') {
                last_nl = s->chunk + i - 1;
                break;
            }
        if (last_nl) {
            size_t used = (size_t)(last_nl + 1 - s->chunk);
            result = collect_add_text(&s->col, kind, s->chunk, used);
            if (result)
                break;
            have -= used;
            memmove(s->chunk, last_nl + 1, have);
        }
        if (have > PROC_LINE_MAX) {
            s->col.bad_lines++;
            skipping = true;
            have = 0;
        }
    }
    close(fd);
    return result;
}

static void load_ifaddrs_live(struct sample *s)
{
    struct ifaddrs *ifa, *i;

    if (s->use_diag && diag_ifaddrs(&s->diag, &s->ift) == 0)
        return;
    iftable_clear(&s->ift);
    if (getifaddrs(&ifa) < 0) {
        if (!s->warned_ifaddrs)
            log_warn("cannot list interface addresses; ports are reported without interface",
                     "error=\"%s\"", strerror(errno));
        s->warned_ifaddrs = true;
        return;
    }
    for (i = ifa; i; i = i->ifa_next) {
        struct report_ip ip;
        if (!i->ifa_addr || !i->ifa_name)
            continue;
        memset(&ip, 0, sizeof(ip));
        if (i->ifa_addr->sa_family == AF_INET) {
            ip.family = 4;
            memcpy(ip.addr, &((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr, 4);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            ip.family = 6;
            memcpy(ip.addr, &((struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr, 16);
        } else {
            continue;
        }
        if (iftable_add(&s->ift, i->ifa_name, &ip) == CORDON_ETOOBIG)
            break;
    }
    freeifaddrs(ifa);
}

static void load_ifaddrs(struct sample *s)
{
    char dflt[4200], q[600];
    const char *path = s->cfg->interfaces_file;
    struct cordon_diag diag;
    int result;

    if (!path) {
        snprintf(dflt, sizeof(dflt), "%s/cordon-ifaddrs", s->cfg->proc_root);
        if (access(dflt, F_OK) != 0) {
            load_ifaddrs_live(s);
            return;
        }
        path = dflt;
    }
    buf_reset(&s->text);
    iftable_clear(&s->ift);
    result = source_read_file(path, &s->text);
    if (result) {
        log_warn("cannot read the interfaces file", "file=%s error=\"%s\"",
                 log_q(q, sizeof(q), path),
                 result == CORDON_ETOOBIG ? "too large" : strerror(-result));
        return;
    }
    cordon_diag_clear(&diag);
    if (iftable_parse(&s->ift, s->text.ptr, s->text.len, &diag)) {
        log_warn("bad interfaces file", "file=%s error=%s", log_q(q, sizeof(q), path),
                 log_q(dflt, sizeof(dflt), diag.message));
        iftable_clear(&s->ift);
    }
}

static void collect_netdev(struct sample *s, struct report *r)
{
    char path[4200], q[600];
    uint32_t bad = 0;
    int result;

    snprintf(path, sizeof(path), "%s/net/dev", s->cfg->proc_root);
    buf_reset(&s->text);
    result = source_read_file(path, &s->text);
    if (result) {
        log_warn("cannot read traffic counters", "file=%s error=\"%s\"", log_q(q, sizeof(q), path),
                 result == CORDON_ETOOBIG ? "too large" : strerror(-result));
        s->nd.have = false; /* next good read is a new baseline */
        return;
    }
    netdev_parse(s->text.ptr, s->text.len, &s->snap, &bad);
    if (!netdev_delta(&s->nd, &s->snap, s->cfg->include_loopback, &r->net))
        log_debug("no network_stats in this report (first sample or counter reset)", NULL);
}

static void collect_custom(struct sample *s, struct report *r)
{
    char why[256], q[600], q2[600];

    for (int i = 0; i < s->cfg->ncustom; i++) {
        const struct custom_def *d = &s->cfg->custom[i];
        struct cordon_diag diag;
        struct buf out;
        int result;

        buf_init(&out, CUSTOM_OUTPUT_MAX);
        why[0] = '\0';
        if (d->argv) {
            result = source_run(d->argv, d->timeout_s * 1000, &out, why, sizeof(why));
        } else {
            result = source_read_file(d->file, &out);
            if (result)
                snprintf(why, sizeof(why), "%s",
                         result == CORDON_ETOOBIG ? "file too large" : strerror(-result));
        }
        if (result) {
            log_warn("custom metric skipped: source failed", "metric=%s error=%s", d->name,
                     log_q(q, sizeof(q), why));
        } else {
            cordon_diag_clear(&diag);
            if (custom_add(r, d->name, d->type, out.ptr ? out.ptr : "", out.len, &diag))
                log_warn("custom metric skipped: bad value", "metric=%s type=%s error=%s output=%s",
                         d->name, custom_type_name(d->type), log_q(q, sizeof(q), diag.message),
                         log_q(q2, 120, out.ptr ? out.ptr : ""));
        }
        buf_free(&out);
    }
}

int sample_collect(struct sample *s, struct report *r)
{
    static const struct {
        const char *name;
        enum procnet_kind kind;
        bool optional;
    } tables[] = {
        { "tcp", PROCNET_TCP, false },
        { "tcp6", PROCNET_TCP6, true },
        { "udp", PROCNET_UDP, false },
        { "udp6", PROCNET_UDP6, true },
    };
    char q[600];
    bool missing_tcp = false, missing_udp = false;
    int result;

    report_reset(r);
    load_ifaddrs(s);
    collect_begin(&s->col, &s->ift);
    if (s->use_diag) {
        result = diag_tcp(&s->diag, &s->col);
        if (!result)
            result = diag_udp(&s->diag, &s->col);
        if (result == -ENOMEM)
            return CORDON_ENOMEM;
        if (result) {
            log_warn("netlink socket dump unavailable; reading /proc/net from now on",
                     "error=\"%s\"", strerror(-result));
            s->use_diag = false;
            collect_begin(&s->col, &s->ift);
        }
    }
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        if (s->use_diag)
            break;
        result = read_table(s, tables[i].name, tables[i].kind);
        if (result == CORDON_ENOMEM)
            return result;
        if (result && !(result == -ENOENT && tables[i].optional)) {
            char path[4200];
            snprintf(path, sizeof(path), "%s/net/%s", s->cfg->proc_root, tables[i].name);
            log_warn("cannot read socket table", "file=%s error=\"%s\"", log_q(q, sizeof(q), path),
                     strerror(-result));
            if (tables[i].kind == PROCNET_TCP)
                missing_tcp = true;
            if (tables[i].kind == PROCNET_UDP)
                missing_udp = true;
        }
    }
    if (s->col.bad_lines)
        log_warn("malformed socket table lines skipped", "count=%u", s->col.bad_lines);
    if (s->col.tcp.overflow || s->col.udp.overflow)
        log_warn("more listening sockets than examined; total is a lower bound", "limit=%d",
                 LISTENERS_MAX);
    collect_finish(&s->col, r);
    /* an unreadable table is no evidence of "no listener": leave the group out */
    if (missing_tcp)
        r->tcp_ports.present = r->conns.present = false;
    if (missing_udp)
        r->udp_ports.present = false;
    collect_netdev(s, r);
    collect_custom(s, r);
    return 0;
}
