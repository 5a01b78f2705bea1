/*
 * log.h — logfmt lines on stderr: `ts=… level=info msg="…" key=value`.
 *
 * Call as log_info("mqtt connected", "host=%s port=%d", host, port): the
 * message is quoted, the printf-style tail is appended as is, so keys and
 * values are written by the caller (use log_q() to quote a free-form value).
 * Never pass secrets.
 */
#ifndef CORDOND_LOG_H
#define CORDOND_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Set the minimum level written (default LOG_INFO). */
void log_set_level(enum log_level level);
/* Parse "debug|info|warn|error"; returns 0 or -1. */
int log_level_parse(const char *s, enum log_level *out);
/* True when a line at this level would be written. */
int log_enabled(enum log_level level);

void log_write(enum log_level level, const char *msg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Quote s as a logfmt value into out (cut to outlen); returns out. */
const char *log_q(const char *s, char *out, size_t outlen);

#define log_debug(msg, ...)                                                                        \
    do {                                                                                           \
        if (log_enabled(LOG_DEBUG))                                                                \
            log_write(LOG_DEBUG, msg, __VA_ARGS__);                                                \
    } while (0)
#define log_info(msg, ...)  log_write(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...)  log_write(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_write(LOG_ERROR, msg, __VA_ARGS__)

#endif
