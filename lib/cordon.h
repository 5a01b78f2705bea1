/*
 * cordon.h — errors shared by every module of libcordon.
 *
 * Functions return int: 0 on success, a negative CORDON_E* code on failure
 * (libuv style). cordon_strerror() names a code. Bad input additionally
 * fills a struct cordon_diag with a machine code and a positioned message.
 */
#ifndef CORDON_H
#define CORDON_H

#include <stddef.h>

enum cordon_error {
    CORDON_OK = 0,
    CORDON_ENOMEM = -1,  /* allocation failed */
    CORDON_EINVAL = -2,  /* invalid argument or input; see the diag */
    CORDON_ETOOBIG = -3, /* a named size limit was exceeded */
    CORDON_ENOTFOUND = -4,
    CORDON_EEXIST = -5,
    CORDON_ERANGE = -6, /* value out of range */
    CORDON_ESTATE = -7, /* operation not valid in the current state */
    CORDON_EUNSUPPORTED = -8,
};

/* Text for a CORDON_E* code; never NULL. */
const char *cordon_strerror(int err);

/*
 * A diagnostic for bad input. `code` is a stable machine string (for example
 * "InvalidField"); `message` is for people and names the position (byte
 * offset for JSON, file:line:column for YAML) and the field path.
 */
#define CORDON_DIAG_CODE_MAX 40
#define CORDON_DIAG_MSG_MAX  512

struct cordon_diag {
    char code[CORDON_DIAG_CODE_MAX];
    char message[CORDON_DIAG_MSG_MAX];
    size_t offset; /* byte offset into the input, JSON */
    int line;      /* 1-based, YAML; 0 when unknown */
    int column;    /* 1-based, YAML; 0 when unknown */
};

/* Clear a diag (safe on NULL). */
void cordon_diag_clear(struct cordon_diag *d);

/* Fill a diag (safe on NULL d); printf-style message. */
void cordon_diag_set(struct cordon_diag *d, const char *code, size_t offset, int line, int column,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
