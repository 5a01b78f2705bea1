#include "cordon.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *cordon_strerror(int err)
{
    switch (err) {
    case CORDON_OK:
        return "success";
    case CORDON_ENOMEM:
        return "out of memory";
    case CORDON_EINVAL:
        return "invalid input";
    case CORDON_ETOOBIG:
        return "size limit exceeded";
    case CORDON_ENOTFOUND:
        return "not found";
    case CORDON_EEXIST:
        return "already exists";
    case CORDON_ERANGE:
        return "value out of range";
    case CORDON_ESTATE:
        return "not valid in the current state";
    case CORDON_EUNSUPPORTED:
        return "not supported";
    }
    return "unknown error";
}

void cordon_diag_clear(struct cordon_diag *d)
{
    if (d)
        memset(d, 0, sizeof(*d));
}

void cordon_diag_set(struct cordon_diag *d, const char *code, size_t offset, int line, int column,
                     const char *fmt, ...)
{
    va_list ap;

    if (!d)
        return;
    snprintf(d->code, sizeof(d->code), "%s", code ? code : "");
    d->offset = offset;
    d->line = line;
    d->column = column;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof(d->message), fmt, ap);
    va_end(ap);
}
