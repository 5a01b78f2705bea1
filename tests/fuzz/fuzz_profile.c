/*
 * fuzz_profile.c — libFuzzer target for the security profile loader
 * (lib/profile.c).
 *
 * Any input must either load or fail with a positioned diagnostic; a loaded
 * set must write back as YAML that loads again into equal profiles (the
 * round trip `cordon export` relies on), and the loaded set must be usable
 * by the detect engine.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct metric_catalog cat;
    struct profile_set a, b, old;
    struct cordon_diag d;
    struct detect det;
    struct detect_events ev;
    struct buf out;

    metric_catalog_init(&cat);
    metric_catalog_add(&cat, "cpu", "number", NULL);
    metric_catalog_add(&cat, "mods", "string-list", NULL);
    metric_catalog_add(&cat, "codes", "number-list", NULL);
    metric_catalog_add(&cat, "peers", "ip-address-list", NULL);
    if (profile_set_parse(&a, "fuzz", (const char *)data, size, &cat, &d)) {
        if (!d.message[0] || !d.code[0] || a.n)
            abort(); /* every failure says what and where, and leaves nothing */
        metric_catalog_free(&cat);
        return 0;
    }
    buf_init(&out, 64 * PROFILE_YAML_MAX);
    if (profile_set_write_yaml(&a, &out))
        abort();
    if (profile_set_parse(&b, "written", out.ptr, out.len, &cat, &d))
        abort();
    if (a.n != b.n)
        abort();
    for (size_t i = 0; i < a.n; i++)
        if (!profile_equal(&a.v[i], &b.v[i]))
            abort();
    /* the engine takes any loaded set */
    detect_init(&det, NULL);
    detect_events_init(&ev);
    if (detect_set_profiles(&det, &a, 0, &ev, &old))
        abort();
    profile_set_free(&old);
    detect_events_free(&ev);
    detect_free(&det);
    profile_set_free(&b);
    buf_free(&out);
    metric_catalog_free(&cat);
    return 0;
}
