/*
 * config.h — cordon-agent configuration: `key = value` lines in
 * /etc/cordon/agent.conf, every key also a `--key` flag (flags override the
 * file). Keys are listed, with defaults, in config.c's table, which also
 * prints --help; docs/agent.md documents them.
 *
 * Ownership: config_init / config_free; strings are owned by the config.
 */
#ifndef CORDON_AGENT_CONFIG_H
#define CORDON_AGENT_CONFIG_H

#include "report.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_DEFAULT_PATH  "/etc/cordon/agent.conf"
#define CONFIG_FILE_MAX      (256 * 1024) /* bytes of the config file */
#define CONFIG_LINE_MAX      4096         /* bytes of one config line */
#define INTERVAL_MIN_S       5            /* R11 */
#define INTERVAL_DEFAULT_S   300
#define CUSTOM_ARGV_MAX      64 /* words of one custom metric command */
#define CUSTOM_TIMEOUT_MAX_S 60

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

struct custom_def {
    char name[METRIC_NAME_MAX + 1];
    bool has_type;
    enum report_custom_type type;
    char **argv; /* NULL-terminated, or NULL when the source is a file */
    char *file;
    int timeout_s;
    char where[300]; /* file:line of its first key, for later errors */
};

struct agent_config {
    char *thing;
    char *host;
    int port; /* 0 = 8883 with TLS, else 1883 */
    char *cafile, *capath, *certfile, *keyfile;
    char *username, *password, *password_file;
    int mqtt_version; /* 5 (falls back to 3.1.1 when refused) or 311 */
    int keepalive;
    int interval_s;
    int64_t interval_ms; /* effective interval; set by config_check */
    int jitter_pct;
    bool short_names;
    int max_list;
    bool include_loopback;
    char *proc_root;
    char *interfaces_file;
    char *state_dir;
    char *spool_dir; /* NULL = STATE_DIR/spool */
    int spool_max_reports;
    int64_t spool_max_bytes;
    int reconnect_min_s, reconnect_max_s;
    enum log_level log_level;
    struct custom_def custom[CUSTOM_METRICS_MAX];
    int ncustom;
};

/* Defaults. Returns 0 or CORDON_ENOMEM. */
int config_init(struct agent_config *c);
void config_free(struct agent_config *c);

/*
 * Set key (underscores or dashes) to value. `where` names the origin for
 * errors ("FILE:LINE" or "--flag"). Returns 0, or CORDON_EINVAL with
 * err = "WHERE: what is wrong".
 */
int config_set(struct agent_config *c, const char *key, const char *value, const char *where,
               char *err, size_t errlen);
/* True when key is a boolean key (a flag may then omit its value). */
bool config_key_is_bool(const char *key);
/* True when key names a configuration key. */
bool config_key_known(const char *key);

/* Parse a whole config file's text. Same errors as config_set, plus syntax
 * errors ("FILE:LINE: expected key = value"). */
int config_parse(struct agent_config *c, const char *text, size_t len, const char *filename,
                 char *err, size_t errlen);

/* Cross-key checks once everything is set (thing required unless
 * need_thing is false, key with cert, custom metrics complete). */
int config_check(struct agent_config *c, bool need_thing, char *err, size_t errlen);

/* Split a command line into argv words: whitespace separates, '...' and
 * "..." quote (no escapes inside '...', \" and \\ inside "..."), nothing is
 * expanded. Returns a NULL-terminated array (free with config_argv_free) or
 * NULL with err set. */
char **config_split_argv(const char *s, char *err, size_t errlen);
void config_argv_free(char **argv);

/* Print the usage text (every option and its default). */
void config_usage(FILE *out);

#endif
