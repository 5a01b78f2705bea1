/*
 * netdev.h — traffic counters from the text of /proc/net/dev and the deltas
 * a report carries (spec device-defender-spec.md §10.2, R8).
 *
 * Pure: parse text given to it, no file reads. Counters are 64-bit
 * (strtoull), so busy links do not wrap.
 */
#ifndef CORDON_AGENT_NETDEV_H
#define CORDON_AGENT_NETDEV_H

#include "report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETDEV_MAX 256 /* interfaces tracked; more are ignored (docs/agent.md) */

struct netdev_counters {
    char name[IFNAME_MAX + 1];
    uint64_t rx_bytes, rx_packets, tx_bytes, tx_packets;
};

struct netdev_snap {
    uint32_t n;
    struct netdev_counters v[NETDEV_MAX];
};

/*
 * Parse /proc/net/dev contents into s. The two header lines are skipped;
 * malformed lines are skipped and counted in *bad (may be NULL). Returns 0.
 */
int netdev_parse(const char *text, size_t len, struct netdev_snap *s, uint32_t *bad);

/* The previous sample, per interface. Zero it to start. */
struct netdev_state {
    bool have;
    struct netdev_snap prev;
};

/*
 * Compute the deltas since the previous sample and make cur the new
 * baseline. Returns true with *out filled (present, all four fields) when a
 * delta is valid; false on the first sample and when any counter of a
 * tracked interface went backwards (reset, interface re-created): that
 * interface is re-baselined and the report carries no network_stats (R8).
 * An interface seen for the first time only sets its baseline. The
 * interface named "lo" is skipped unless include_lo.
 */
bool netdev_delta(struct netdev_state *st, const struct netdev_snap *cur, bool include_lo,
                  struct report_netstats *out);

#endif
