/*
 * source.h — where collected text comes from: files read with a size cap,
 * and commands run as argv (fork/exec, no shell) with a timeout.
 */
#ifndef CORDON_AGENT_SOURCE_H
#define CORDON_AGENT_SOURCE_H

#include "buf.h"

#include <stddef.h>

/*
 * Append the content of path to out (whose cap bounds what is read).
 * Returns 0, -errno from open/read (-ENOENT when missing), or
 * CORDON_ETOOBIG when the file is larger than out's cap.
 */
int source_read_file(const char *path, struct buf *out);

/*
 * Run argv[0] (an absolute path) with argv, stdin and stderr on /dev/null,
 * stdout captured into out (bounded by out's cap), in its own process group,
 * with every other descriptor closed. After timeout_ms the group is killed.
 * Returns 0 when the command exited with status 0; otherwise a negative
 * code with why[] saying what happened ("timed out after 5 s", "exit
 * status 3", "output larger than 65536 bytes", ...).
 */
int source_run(char *const argv[], int timeout_ms, struct buf *out, char *why, size_t whylen);

#endif
