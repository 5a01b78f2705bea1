/*
 * collect.h — device-side metrics from the text of /proc/net/{tcp,tcp6,udp,udp6}
 * into a struct report (spec device-defender-spec.md §10.2, R1–R9).
 *
 * Pure: the functions here take file contents and address tables; they read
 * no file, no clock. collect_io.c feeds them from the live system.
 *
 * Ownership: struct collect owns its scratch arrays (collect_init /
 * collect_free); it borrows the iftable given to collect_begin until
 * collect_finish returns.
 */
#ifndef CORDON_AGENT_COLLECT_H
#define CORDON_AGENT_COLLECT_H

#include "report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits (docs/agent.md) ------------------------------------------- */
#define PROC_LINE_MAX    512       /* bytes of one /proc/net line; longer = malformed */
#define LISTENERS_MAX    262144    /* listening sockets examined per protocol per report */
#define IFTABLE_MAX      512       /* interface addresses known per report */
#define LIST_CAP_DEFAULT 128       /* entries per list in a report (R9) */
#define LIST_CAP_MAX     PORTS_MAX /* largest configurable cap */

/* ---- interface addresses (R5) ------------------------------------------ */

struct iftable_entry {
    struct report_ip ip;
    char name[IFNAME_MAX + 1];
};

struct iftable {
    uint32_t n;
    struct iftable_entry v[IFTABLE_MAX];
};

void iftable_clear(struct iftable *t);
/* Add one address of interface `name`. Returns 0, CORDON_EINVAL (name too
 * long or empty) or CORDON_ETOOBIG (table full). */
int iftable_add(struct iftable *t, const char *name, const struct report_ip *ip);
/*
 * Parse the fixture form of an address table: one "IFNAME ADDRESS" per line,
 * blank lines and '#' comments ignored. Returns 0, or CORDON_EINVAL /
 * CORDON_ETOOBIG with diag->line set and diag->message naming the problem.
 */
int iftable_parse(struct iftable *t, const char *text, size_t len, struct cordon_diag *diag);
/* Interface owning ip, or NULL. An IPv4-mapped IPv6 address is looked up as IPv4. */
const char *iftable_lookup(const struct iftable *t, const struct report_ip *ip);

/* ---- one /proc/net line (R2) -------------------------------------------- */

enum procnet_kind { PROCNET_TCP, PROCNET_TCP6, PROCNET_UDP, PROCNET_UDP6 };

#define PROCNET_TCP_ESTABLISHED 0x01
#define PROCNET_TCP_LISTEN      0x0A
#define PROCNET_UDP_CLOSE       0x07 /* an unconnected UDP socket */

struct procnet_sock {
    struct report_ip local;
    struct report_ip remote;
    uint16_t local_port;
    uint16_t remote_port;
    uint8_t state;
};

/*
 * Parse one line (without its newline) of /proc/net/tcp (v6 false) or tcp6
 * (v6 true); udp files share the layout. Returns 0 with *s filled, 1 for the
 * header line, CORDON_EINVAL for anything malformed (including a line longer
 * than PROC_LINE_MAX).
 */
int procnet_parse_line(const char *line, size_t len, bool v6, struct procnet_sock *s);

/* Map ::ffff:a.b.c.d to a.b.c.d in place; other addresses are left alone. */
void procnet_unmap_v4(struct report_ip *ip);

/* ---- a collection ------------------------------------------------------- */

struct collect_listener {
    uint16_t port;
    int16_t ifidx; /* index into the iftable, -1 = no interface */
};

struct collect_list {
    struct collect_listener *v;
    uint32_t n, alloc;
    bool overflow; /* more than LISTENERS_MAX seen: total is a lower bound */
};

struct collect {
    uint32_t cap; /* entries per list in the report */
    const struct iftable *ift;
    struct collect_list tcp, udp;
    struct report_conn *heap; /* the `cap` smallest connections (max-heap) */
    uint32_t nheap;
    uint32_t conn_total;
    uint32_t bad_lines; /* malformed lines skipped */
};

/* Allocate scratch for lists capped at cap entries (0..LIST_CAP_MAX).
 * Returns 0, CORDON_ERANGE or CORDON_ENOMEM. */
int collect_init(struct collect *c, uint32_t cap);
void collect_free(struct collect *c);
/* Start a new collection; ift (may be NULL) is borrowed until collect_finish. */
void collect_begin(struct collect *c, const struct iftable *ift);
/* Account one parsed socket of the given file. Returns 0 or CORDON_ENOMEM. */
int collect_add(struct collect *c, enum procnet_kind kind, const struct procnet_sock *s);
/* Parse and add every line of one file's contents. Malformed lines are
 * skipped and counted in c->bad_lines. Returns 0 or CORDON_ENOMEM. */
int collect_add_text(struct collect *c, enum procnet_kind kind, const char *text, size_t len);
/*
 * Write listening_tcp_ports, listening_udp_ports and established connections
 * into r: deduplicated per (port, interface) (R6), sorted, truncated to the
 * cap with the true total (R9). Other fields of r are left alone.
 */
void collect_finish(struct collect *c, struct report *r);

#endif
