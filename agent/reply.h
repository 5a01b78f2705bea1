/*
 * reply.h — the server's reply to a report (spec §2):
 * {"thingName":..,"reportId":N,"status":"ACCEPTED"|"REJECTED",
 *  "statusDetails":{"ErrorCode":..,"ErrorMessage":..}}
 * A small strict JSON reader for this one shape; pure, no allocation.
 */
#ifndef CORDON_AGENT_REPLY_H
#define CORDON_AGENT_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPLY_MAX_BYTES 65536 /* larger replies are ignored */

struct reply {
    bool has_id;
    int64_t report_id;
    char status[16];
    char error_code[64];
    char error_message[512]; /* truncated when longer */
};

/* Parse a reply. Returns 0, or -1 when buf is not a JSON object of that shape
 * (unknown keys are skipped). */
int reply_parse(const char *buf, size_t len, struct reply *out);

#endif
