/*
 * config.h — cordond's configuration: embedded defaults, overridden by an
 * optional YAML file (libfyaml). Every error names FILE:LINE:COLUMN.
 * Reference: docs/cordond.md "Configuration".
 */
#ifndef CORDOND_CONFIG_H
#define CORDOND_CONFIG_H

#include "log.h"

#include <stddef.h>
#include <stdint.h>

#define CONFIG_STR_MAX       512
#define CONFIG_FUNCTIONS_MAX 32 /* runbooks.functions entries */

struct config {
    char path[CONFIG_STR_MAX]; /* "" = embedded defaults only */

    /* broker (MQTT client identity of the server) */
    char broker_host[256];
    int broker_port;
    char broker_username[256];
    char broker_password[256]; /* secret: never logged */
    char broker_client_id[256];
    char broker_tls_ca[CONFIG_STR_MAX];
    char broker_tls_cert[CONFIG_STR_MAX];
    char broker_tls_key[CONFIG_STR_MAX];
    int broker_keepalive_s;

    /* REST API */
    char api_host[256];
    int api_port;
    size_t api_max_body; /* bytes; larger request bodies get 413 */

    /* store */
    char db_path[CONFIG_STR_MAX];
    char data_dir[CONFIG_STR_MAX]; /* fleet CA, admin token file */
    int64_t retention_ms;          /* datapoints older than this are pruned */

    /* ingest */
    int64_t throttle_ms;     /* minimum spacing of two reports of a thing */
    size_t report_max_bytes; /* payload cap */
    int auto_create_things;  /* create a thing on its first authenticated report */

    char console_url[CONFIG_STR_MAX];
    char console_web_root[CONFIG_STR_MAX]; /* "" = default (docs/console.md) */

    /* paging (docs/paging.md "cordond"): SMTP for EMAIL channels */
    char smtp_host[256]; /* "" = email pages fail (retried) with "smtp not configured" */
    int smtp_port;
    char smtp_security[16]; /* starttls | tls | none */
    char smtp_username[256];
    char smtp_password[256]; /* secret: never logged */
    char smtp_from[256];
    /* SMS / VOICE through an HTTP gateway (no provider required) */
    char gateway_url[CONFIG_STR_MAX]; /* {{to}} may appear; "" = SMS/VOICE pages fail */
    char gateway_preset[32];          /* generic | twilio */
    char gateway_template[2048];      /* request body; {{to}} {{text}} {{from}} {{type}} */
    char gateway_content_type[128];
    char gateway_username[256];
    char gateway_password[256]; /* secret */
    char gateway_from[64];
    char ack_base_url[CONFIG_STR_MAX]; /* "" = console base URL */
    enum log_level log_level;

    /* runbooks (docs/runbooks.md §9): interpreter, script timeout cap, registered functions */
    char runbook_python[CONFIG_STR_MAX];   /* default /usr/bin/python3 */
    int64_t runbook_script_timeout_max_ms; /* default 600 s; caps timeoutSeconds */
    struct config_function {
        char name[129];              /* aws:invokeLambdaFunction FunctionName */
        char runtime[16];            /* python3 | bash */
        char script[CONFIG_STR_MAX]; /* path of the script file */
        char handler[129];           /* python: function to call (default handler) */
    } runbook_functions[CONFIG_FUNCTIONS_MAX];
    int runbook_nfunctions;
};

/* Fill c with the embedded defaults. */
void config_defaults(struct config *c);

/*
 * Load path over the defaults already in c. Returns 0, or -1 with err
 * ("FILE:LINE:COLUMN: what is wrong") filled; c may be partly updated then,
 * so load into a scratch copy when the old config must survive (SIGHUP).
 */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

#endif
