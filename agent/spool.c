/*
 * spool.c — durable report queue and last report id. See spool.h.
 */
#include "spool.h"

#include "cordon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int dir_make(const char *dir, unsigned mode)
{
    char tmp[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(tmp))
        return -ENAMETOOLONG;
    memcpy(tmp, dir, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), result = 0;
    if (fd < 0)
        return -errno;
    if (fsync(fd) < 0)
        result = -errno;
    close(fd);
    return result;
}

/* Write path atomically: PATH.tmp, fsync, rename, fsync the directory. */
static int write_atomic(const char *dir, const char *name, const char *data, size_t len)
{
    char path[4352], tmp[4352];
    int fd, result = 0;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    while (len > 0) {
        ssize_t w = write(fd, data, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            result = -errno;
            break;
        }
        data += w;
        len -= (size_t)w;
    }
    if (!result && fsync(fd) < 0)
        result = -errno;
    if (close(fd) < 0 && !result)
        result = -errno;
    if (!result && rename(tmp, path) < 0)
        result = -errno;
    if (result) {
        unlink(tmp);
        return result;
    }
    return fsync_dir(dir);
}

static int ent_cmp(const void *a, const void *b)
{
    int64_t x = ((const struct spool_ent *)a)->id, y = ((const struct spool_ent *)b)->id;
    return x < y ? -1 : x > y;
}

static int spool_push(struct spool *s, int64_t id, uint32_t size)
{
    if (s->n == s->alloc) {
        uint32_t na = s->alloc ? s->alloc * 2 : 64;
        struct spool_ent *nv = realloc(s->v, na * sizeof(*nv));
        if (!nv)
            return CORDON_ENOMEM;
        s->v = nv;
        s->alloc = na;
    }
    s->v[s->n].id = id;
    s->v[s->n].size = size;
    s->n++;
    s->bytes += size;
    return 0;
}

/* "1733000400123.json" → id; false for anything else. */
static bool name_to_id(const char *name, int64_t *id)
{
    char *end;
    long long v;

    if (name[0] < '0' || name[0] > '9')
        return false;
    errno = 0;
    v = strtoll(name, &end, 10);
    if (errno || strcmp(end, ".json") != 0 || v < 0)
        return false;
    *id = v;
    return true;
}

int spool_open(struct spool *s, const char *dir, uint32_t max_reports, int64_t max_bytes, char *why,
               size_t whylen)
{
    DIR *d;
    struct dirent *de;
    int result;

    memset(s, 0, sizeof(*s));
    s->max_reports = max_reports;
    s->max_bytes = max_bytes;
    s->dir = strdup(dir);
    if (!s->dir)
        return -ENOMEM;
    result = dir_make(dir, 0700);
    if (result) {
        snprintf(why, whylen, "cannot create spool directory %s: %s", dir, strerror(-result));
        return result;
    }
    d = opendir(dir);
    if (!d) {
        result = -errno;
        snprintf(why, whylen, "cannot open spool directory %s: %s", dir, strerror(errno));
        return result;
    }
    while ((de = readdir(d)) != NULL) {
        char path[4352];
        struct stat st;
        int64_t id;

        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp")) {
            unlink(path); /* a write interrupted by a crash */
            continue;
        }
        if (!name_to_id(de->d_name, &id) || stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (spool_push(s, id, (uint32_t)st.st_size)) {
            closedir(d);
            snprintf(why, whylen, "out of memory");
            return -ENOMEM;
        }
    }
    closedir(d);
    if (s->n > 1)
        qsort(s->v, s->n, sizeof(*s->v), ent_cmp);
    return 0;
}

void spool_close(struct spool *s)
{
    free(s->dir);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static void spool_unlink(const struct spool *s, int64_t id)
{
    char path[4352];
    snprintf(path, sizeof(path), "%s/%" PRId64 ".json", s->dir, id);
    unlink(path);
}

static void spool_drop_at(struct spool *s, uint32_t i)
{
    s->bytes -= s->v[i].size;
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
    s->n--;
}

int spool_add(struct spool *s, int64_t id, const char *body, size_t len, uint32_t *dropped_now,
              char *why, size_t whylen)
{
    char name[40];
    int result;

    *dropped_now = 0;
    while (s->n > 0 && (s->n + 1 > s->max_reports || s->bytes + (int64_t)len > s->max_bytes)) {
        spool_unlink(s, s->v[0].id);
        spool_drop_at(s, 0);
        s->dropped++;
        (*dropped_now)++;
    }
    snprintf(name, sizeof(name), "%" PRId64 ".json", id);
    result = write_atomic(s->dir, name, body, len);
    if (result) {
        snprintf(why, whylen, "cannot write %s/%s: %s", s->dir, name, strerror(-result));
        return result;
    }
    if (spool_push(s, id, (uint32_t)len)) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    if (s->n > 1 && s->v[s->n - 2].id > id)
        qsort(s->v, s->n, sizeof(*s->v), ent_cmp);
    return 0;
}

int spool_read(struct spool *s, int64_t id, struct buf *out)
{
    char path[4352], chunk[8192];
    int fd, result = 0;

    buf_reset(out);
    snprintf(path, sizeof(path), "%s/%" PRId64 ".json", s->dir, id);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            result = -errno;
            break;
        }
        if (n == 0)
            break;
        if (buf_add(out, chunk, (size_t)n)) {
            result = -EFBIG;
            break;
        }
    }
    close(fd);
    return result;
}

bool spool_remove(struct spool *s, int64_t id)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->v[i].id == id) {
            spool_unlink(s, id);
            spool_drop_at(s, i);
            return true;
        }
    return false;
}

int spool_next(const struct spool *s, int64_t after)
{
    for (uint32_t i = 0; i < s->n; i++)
        if (s->v[i].id > after)
            return (int)i;
    return -1;
}

int state_load(const char *dir, int64_t *id)
{
    char path[4352], text[32];
    int fd;
    ssize_t n;
    char *end;

    *id = 0;
    snprintf(path, sizeof(path), "%s/report_id", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    n = read(fd, text, sizeof(text) - 1);
    close(fd);
    if (n < 0)
        return -EIO;
    text[n] = '\0';
    errno = 0;
    *id = strtoll(text, &end, 10);
    if (errno || end == text || *id < 0) {
        *id = 0;
        return -EINVAL;
    }
    return 0;
}

int state_save(const char *dir, int64_t id)
{
    char text[32];
    int n = snprintf(text, sizeof(text), "%" PRId64 "\n", id);
    return write_atomic(dir, "report_id", text, (size_t)n);
}
