/* metrics_prom.h — Prometheus exposition of struct stats (server.h). */
#ifndef CORDOND_METRICS_PROM_H
#define CORDOND_METRICS_PROM_H

#include "buf.h"

struct server;

/* Count one detect evaluation that took seconds. */
void metrics_observe_eval(struct server *s, double seconds);
/* Append the exposition text to out. Returns 0 or CORDON_ETOOBIG/ENOMEM. */
int metrics_render(struct server *s, struct buf *out);

#endif
