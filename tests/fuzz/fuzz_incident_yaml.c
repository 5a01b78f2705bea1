/*
 * fuzz_incident_yaml.c — the contact and response-plan YAML loaders, and the
 * export writers' round trip on whatever loads.
 */
#include "contact.h"
#include "response_plan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cordon_diag d;
    struct contact_book book;
    struct response_plan p, q;
    struct buf out;

    contact_book_init(&book);
    if (contact_book_load_yaml(&book, (const char *)data, size, "fuzz", &d) == 0) {
        size_t i;
        for (i = 0; i < book.n; i++) {
            struct contact c;
            buf_init(&out, 1 << 22);
            if (contact_to_yaml(book.items[i], &out, 0) == 0 &&
                contact_from_yaml(&c, out.ptr, out.len, "export", &d) != 0)
                abort(); /* what we write must load */
            buf_free(&out);
        }
    }
    contact_book_free(&book);

    response_plan_init(&p);
    response_plan_init(&q);
    if (response_plan_from_yaml(&p, (const char *)data, size, "fuzz", &d) == 0) {
        buf_init(&out, 1 << 22);
        if (response_plan_to_yaml(&p, &out, 0) == 0 &&
            response_plan_from_yaml(&q, out.ptr, out.len, "export", &d) != 0)
            abort();
        buf_free(&out);
    }
    response_plan_free(&p);
    response_plan_free(&q);
    return 0;
}
