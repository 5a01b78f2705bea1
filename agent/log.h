/*
 * log.h — logfmt lines on stderr: level=info msg="..." key=value ...
 * Never pass secrets. Values that may hold spaces or quotes go through
 * log_q(), which quotes and escapes them.
 */
#ifndef CORDON_AGENT_LOG_H
#define CORDON_AGENT_LOG_H

#include "config.h"

#include <stddef.h>

void log_set_level(enum log_level level);
/* One line: level, msg, then the printf-formatted key=value tail (may be NULL). */
void log_at(enum log_level level, const char *msg, const char *kvfmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Quote s for a logfmt value into out (always quoted, escaped); returns out. */
const char *log_q(char *out, size_t outlen, const char *s);

#define log_debug(...) log_at(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_at(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_at(LOG_ERROR, __VA_ARGS__)

#endif
