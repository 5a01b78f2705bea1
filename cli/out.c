/*
 * out.c — output for people: aligned tables, times, errors.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void out_error(const char *fmt, ...)
{
    va_list ap;

    fputs("cordon: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

const char *out_time(long long ms, char out[32])
{
    time_t t;
    struct tm tm;

    if (ms <= 0) {
        strcpy(out, "-");
        return out;
    }
    t = (time_t)(ms / 1000);
    if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "%lld", ms);
    return out;
}

const char *out_join(json_t *array, struct buf *b)
{
    size_t i;
    json_t *v;

    buf_reset(b);
    json_array_foreach(array, i, v)
    {
        if (json_is_string(v))
            buf_printf(b, "%s%s", i ? "," : "", json_string_value(v));
    }
    return b->len ? b->ptr : "-";
}

void out_raw(const struct http_response *r)
{
    if (r->body.len) {
        fwrite(r->body.ptr, 1, r->body.len, stdout);
        if (r->body.ptr[r->body.len - 1] != '\n')
            fputc('\n', stdout);
    }
}

const char *out_json_text(json_t *v, char *out, size_t size)
{
    char *dump;

    if (!v || json_is_null(v)) {
        snprintf(out, size, "-");
    } else if (json_is_string(v)) {
        snprintf(out, size, "%s", json_string_value(v));
    } else if (json_is_true(v)) {
        snprintf(out, size, "yes");
    } else if (json_is_false(v)) {
        snprintf(out, size, "no");
    } else {
        dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(out, size, "%s", dump ? dump : "?");
        free(dump);
    }
    return out;
}

/* ---- tables --------------------------------------------------------------- */

void table_init(struct table *t, size_t ncols, ...)
{
    va_list ap;
    size_t i;

    memset(t, 0, sizeof(*t));
    t->ncols = ncols;
    t->alloc = ncols * 16;
    t->cells = calloc(t->alloc, sizeof(*t->cells));
    if (!t->cells) {
        fputs("cordon: out of memory\n", stderr);
        exit(CLI_EXIT_ERROR);
    }
    va_start(ap, ncols);
    for (i = 0; i < ncols; i++) {
        const char *h = va_arg(ap, const char *);
        t->cells[i] = strdup(h);
    }
    va_end(ap);
    t->nrows = 0; /* data rows; the header is row 0 of cells */
}

void table_row(struct table *t, ...)
{
    va_list ap;
    size_t i, base;

    /* make room for one more row (header + nrows rows + this one) */
    if ((t->nrows + 2) * t->ncols > t->alloc) {
        size_t n = t->alloc * 2;
        char **cells = realloc(t->cells, n * sizeof(*cells));
        if (!cells) {
            fputs("cordon: out of memory\n", stderr);
            exit(CLI_EXIT_ERROR);
        }
        t->cells = cells;
        t->alloc = n;
    }
    base = (t->nrows + 1) * t->ncols;
    va_start(ap, t);
    for (i = 0; i < t->ncols; i++) {
        const char *cell = va_arg(ap, const char *);
        /* one line per cell: newlines and tabs would break the columns */
        char *copy = strdup(cell && *cell ? cell : "-");
        char *p;
        if (!copy) {
            fputs("cordon: out of memory\n", stderr);
            exit(CLI_EXIT_ERROR);
        }
        for (p = copy; *p; p++)
            if (*p == '\n' || *p == '\t' || *p == '\r')
                *p = ' ';
        t->cells[base + i] = copy;
    }
    va_end(ap);
    t->nrows++;
}

/* Display width of UTF-8 text: code points (good enough for names and times). */
static size_t text_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

void table_print(struct table *t)
{
    size_t *width, r, i;

    width = calloc(t->ncols, sizeof(*width));
    if (!width)
        return;
    for (r = 0; r <= t->nrows; r++)
        for (i = 0; i < t->ncols; i++) {
            size_t w = text_width(t->cells[r * t->ncols + i]);
            if (w > width[i])
                width[i] = w;
        }
    for (r = 0; r <= t->nrows; r++) {
        for (i = 0; i < t->ncols; i++) {
            const char *cell = t->cells[r * t->ncols + i];
            if (i + 1 == t->ncols) {
                fputs(cell, stdout); /* no trailing blanks */
            } else {
                fputs(cell, stdout);
                for (size_t pad = text_width(cell); pad < width[i] + 2; pad++)
                    fputc(' ', stdout);
            }
        }
        fputc('\n', stdout);
    }
    free(width);
}

void table_free(struct table *t)
{
    size_t i;

    for (i = 0; i < (t->nrows + 1) * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}
