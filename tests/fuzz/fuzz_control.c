/*
 * libFuzzer target: the control-message decoders of lib/control.c (the
 * command parser runs inside the broker on server input; the response and
 * metrics decoders in cordond on broker input), plus a re-encode of what
 * decoded and the topic matcher on fuzzed patterns.
 */
#include "control.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct control_batch b;
    struct control_responses r;
    struct control_metrics m;
    struct cordon_diag d;
    struct buf out;
    char *s;

    buf_init(&out, CONTROL_MAX_BYTES * 4);
    if (control_batch_decode(&b, (const char *)data, size, &d) == 0) {
        /* every valid command must re-encode and decode to the same count */
        for (size_t i = 0; i < b.n; i++) {
            if (b.errors[i][0])
                continue;
            buf_reset(&out);
            if (control_batch_encode(&b.cmds[i], 1, &out) == 0) {
                struct control_batch again;
                if (control_batch_decode(&again, out.ptr, out.len, &d) != 0 || again.n != 1 ||
                    again.errors[0][0])
                    abort();
                if (again.cmds[0].type != b.cmds[i].type ||
                    strcmp(again.cmds[0].thing, b.cmds[i].thing))
                    abort();
                control_batch_free(&again);
            }
        }
    }
    control_batch_free(&b);
    control_responses_decode(&r, (const char *)data, size, &d);
    control_responses_free(&r);
    control_metrics_decode(&m, (const char *)data, size, &d);
    control_metrics_free(&m);

    /* the matcher: split the input at the first two NULs into pattern, topic, thing */
    s = malloc(size + 3);
    if (s) {
        const char *pat, *topic, *thing;
        memcpy(s, data, size);
        s[size] = s[size + 1] = s[size + 2] = '\0';
        pat = s;
        topic = pat + strlen(pat) + 1;
        thing = topic + strlen(topic) + 1;
        if (topic <= s + size && thing <= s + size + 1) {
            if (control_pattern_valid(pat)) {
                (void)control_topic_match(pat, topic, thing);
                (void)control_filter_within(pat, topic, thing);
            }
        }
        free(s);
    }
    buf_free(&out);
    return 0;
}
