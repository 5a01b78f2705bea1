/*
 * modules.h — the init/free functions of cordond's modules and the list
 * main.c starts in order (after outbox, timers, mqtt, http, tokens and
 * api_core). Integrators: declare your pair here and append one line to
 * CORDOND_MODULES (docs/cordond-internals.md).
 */
#ifndef CORDOND_MODULES_H
#define CORDOND_MODULES_H

struct server;

int api_core_init(struct server *s); /* /healthz, /metrics, /api/v1/openapi.json */

#define CORDOND_MODULES

#endif
