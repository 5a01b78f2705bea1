/*
 * spool.h — the on-disk queue of reports not yet acknowledged by the broker
 * (spec device-defender-spec.md R10, R12), and the persisted last report id.
 *
 * One file per report, SPOOL_DIR/ID.json, written atomically (temp file,
 * fsync, rename, fsync of the directory). Bounded by a count and a byte
 * total; when full the oldest report is dropped and counted. A report is
 * removed only when its publish was acknowledged (PUBACK).
 *
 * Ownership: spool_open / spool_close; the index is in memory, sorted by id.
 */
#ifndef CORDON_AGENT_SPOOL_H
#define CORDON_AGENT_SPOOL_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spool_ent {
    int64_t id;
    uint32_t size;
};

struct spool {
    char *dir;
    struct spool_ent *v; /* sorted by id */
    uint32_t n, alloc;
    uint32_t max_reports;
    int64_t max_bytes, bytes;
    uint64_t dropped; /* reports dropped because the spool was full */
};

/*
 * Open (creating it, mode 0700) the spool directory and index the reports
 * in it; leftover temp files are removed. Returns 0 or -errno with why set.
 */
int spool_open(struct spool *s, const char *dir, uint32_t max_reports, int64_t max_bytes, char *why,
               size_t whylen);
void spool_close(struct spool *s);

/*
 * Store report `id` (greater than every id in the spool). Oldest reports are
 * dropped first while the new one would not fit; *dropped_now tells how many.
 * Returns 0 or -errno with why set.
 */
int spool_add(struct spool *s, int64_t id, const char *body, size_t len, uint32_t *dropped_now,
              char *why, size_t whylen);

/* Read report id's body into out (reset first). Returns 0 or -errno. */
int spool_read(struct spool *s, int64_t id, struct buf *out);

/* Delete report id (acknowledged). Returns true when it was in the spool. */
bool spool_remove(struct spool *s, int64_t id);

/* Index of the first report with id > after, or -1. */
int spool_next(const struct spool *s, int64_t after);

/*
 * The last report id, kept in DIR/report_id. state_load returns 0 with *id
 * (0 when the file does not exist) or -errno. state_save writes it
 * atomically (temp, fsync, rename, fsync dir); returns 0 or -errno.
 */
int state_load(const char *dir, int64_t *id);
int state_save(const char *dir, int64_t id);

/* Create dir (and missing parents) with the given mode. Returns 0 or -errno. */
int dir_make(const char *dir, unsigned mode);

#endif
