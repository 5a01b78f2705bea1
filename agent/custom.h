/*
 * custom.h — custom metric values (spec device-defender-spec.md §1.3, R13):
 * the text a command or file produced, checked strictly and added to a
 * report. Pure: no I/O.
 */
#ifndef CORDON_AGENT_CUSTOM_H
#define CORDON_AGENT_CUSTOM_H

#include "report.h"

#include <stdbool.h>
#include <stddef.h>

#define CUSTOM_OUTPUT_MAX (64 * 1024) /* bytes read from one command or file */

/* Parse a declared type name ("number", "number-list", "string-list",
 * "ip-address-list"). Returns 0 or CORDON_EINVAL. */
int custom_type_parse(const char *s, enum report_custom_type *type);
const char *custom_type_name(enum report_custom_type type);

/* A metric name: [a-zA-Z0-9:_-], 1..METRIC_NAME_MAX bytes, not "aws:…". */
bool custom_name_valid(const char *name);

/*
 * Check text[0..len) as a value of the given type and append it to r as
 * custom metric `name`. Numbers: JSON syntax, finite, at most 15 significant
 * digits. Lists: elements separated by whitespace or commas (an empty
 * output is an empty list); strings of A-Z a-z 0-9 : _ - / . only; IPv4 or
 * IPv6 addresses. Returns 0, or CORDON_EINVAL / CORDON_ETOOBIG with
 * diag->message saying what is wrong; r is then unchanged.
 */
int custom_add(struct report *r, const char *name, enum report_custom_type type, const char *text,
               size_t len, struct cordon_diag *diag);

#endif
