/*
 * fuzz_runbook_doc.c — libFuzzer target for the runbook loader and, when a
 * document loads and needs no parameters, for the interpreter: every action
 * is answered with success, pauses are resumed, the clock jumps ahead, and
 * the state goes through a serialize/restore/recover round trip.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runbook_doc.h"
#include "runbook_exec.h"

static void drive(const struct runbook_doc *doc)
{
    struct runbook_exec *x = NULL, *y = NULL;
    struct runbook_effects out;
    struct cordon_diag d;
    int64_t now = 1700000000000LL;
    json_t *state = NULL, *resp = json_object();
    int round;

    if (runbook_exec_new(&x, doc, "fuzz-1", NULL, NULL, &d))
        goto done;
    runbook_effects_init(&out);
    runbook_exec_start(x, now, &out);
    for (round = 0; round < 64 && !runbook_status_terminal(runbook_exec_status(x)); round++) {
        struct runbook_effects next;
        struct runbook_signal resume = { RUNBOOK_SIGNAL_RESUME, NULL, NULL, NULL, NULL };
        size_t i;

        runbook_effects_init(&next);
        now += 1000;
        for (i = 0; i < out.n; i++) {
            if (out.v[i].kind <= RUNBOOK_EFFECT_NOTIFY) {
                struct runbook_result r = { round % 3 != 2, resp, "fuzz failure", false };
                runbook_exec_on_result(x, out.v[i].id, &r, now, &next);
            }
        }
        runbook_exec_signal(x, &resume, now, &next, &d);
        if (round == 5) {
            struct runbook_signal cancel = { RUNBOOK_SIGNAL_CANCEL, NULL, NULL, NULL, NULL };
            if (runbook_exec_to_json(x, &state) == 0 &&
                runbook_exec_from_json(&y, doc, state, NULL, &d) == 0) {
                runbook_exec_free(x);
                x = y;
                y = NULL;
                runbook_exec_recover(x, now, &next);
            }
            json_decref(state);
            state = NULL;
            if (doc->nsteps % 2)
                runbook_exec_signal(x, &cancel, now, &next, &d);
        }
        now += 8LL * 86400 * 1000;
        runbook_exec_on_timer(x, now, &next);
        runbook_effects_free(&out);
        out = next;
    }
    runbook_effects_free(&out);
done:
    runbook_exec_free(x);
    json_decref(resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct runbook_doc *doc = NULL;
    struct cordon_diag d;

    if (runbook_doc_load(&doc, (const char *)data, size, "fuzz.yaml", NULL, &d) == 0) {
        drive(doc);
        runbook_doc_free(doc);
    }
    return 0;
}
