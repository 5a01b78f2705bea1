/*
 * sample.h — one collection from the live system (or a --proc-root tree)
 * into a struct report: socket tables, interface addresses, traffic deltas,
 * custom metrics. The parsing itself is in collect.c, netdev.c, custom.c.
 *
 * Ownership: sample_init / sample_free; the config is borrowed.
 */
#ifndef CORDON_AGENT_SAMPLE_H
#define CORDON_AGENT_SAMPLE_H

#include "buf.h"
#include "collect.h"
#include "config.h"
#include "diag.h"
#include "netdev.h"
#include "report.h"

#define PROC_NETDEV_MAX (1024 * 1024) /* bytes of /proc/net/dev */
#define PROC_CHUNK      65536         /* read size for the socket tables */

struct sample {
    const struct agent_config *cfg;
    struct collect col;
    struct iftable ift;
    struct netdev_state nd;
    struct netdev_snap snap;
    struct buf text; /* scratch */
    char *chunk;     /* PROC_CHUNK + PROC_LINE_MAX bytes */
    bool warned_ifaddrs;
    struct diag diag;
    bool use_diag; /* live system: netlink for TCP and addresses */
};

int sample_init(struct sample *s, const struct agent_config *cfg);
void sample_free(struct sample *s);

/*
 * Fill r (reset first) with a new collection; the header is left to the
 * caller. Missing tcp6/udp6 files are not an error; a missing tcp/udp/dev
 * file or an unreadable interface table is logged and that group is left
 * out. A bad custom value is logged and left out. Returns 0 or
 * CORDON_ENOMEM.
 */
int sample_collect(struct sample *s, struct report *r);

#endif
