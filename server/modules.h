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
int broker_init(struct server *s);
void broker_free(struct server *s);
int registry_init(struct server *s);
void registry_free(struct server *s);
int violations_init(struct server *s);
void violations_free(struct server *s);
int detection_init(struct server *s);
void detection_free(struct server *s);
int ingest_init(struct server *s);
void ingest_free(struct server *s);
int webclient_init(struct server *s);
void webclient_free(struct server *s);
int api_registry_init(struct server *s);
int api_violations_init(struct server *s);
int api_config_init(struct server *s);
int incidents_init(struct server *s); /* incidents, engagements, paging, their API */
void incidents_free(struct server *s);
int runbooks_init(struct server *s);
void runbooks_free(struct server *s);
int console_init(struct server *s); /* GET /, /console/{file} (docs/console.md) */

#define CORDOND_MODULES                                                                            \
    { "webclient", webclient_init, webclient_free }, { "broker", broker_init, broker_free },       \
        { "registry", registry_init, registry_free },                                              \
        { "violations", violations_init, violations_free },                                        \
        { "detection", detection_init, detection_free }, { "ingest", ingest_init, ingest_free },   \
        { "api_registry", api_registry_init, NULL },                                               \
        { "api_violations", api_violations_init, NULL }, { "api_config", api_config_init, NULL },  \
        { "incidents", incidents_init, incidents_free },                                           \
        { "runbooks", runbooks_init, runbooks_free }, { "console", console_init, NULL },

#endif
