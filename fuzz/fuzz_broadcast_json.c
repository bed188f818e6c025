
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: a REST body as the API reads it: jansson's parser, then the
 * Broadcast field checks, then the merge into a new record.
 */


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_broadcast_schema.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t  *body, *fields, *doc;
    char     error[256];

    body = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES,
                      NULL);
    if (body == NULL) {
        return 0;
    }

    if (ngx_ams_broadcast_fields(body, &fields, error, sizeof(error)) == 0) {
        doc = ngx_ams_broadcast_new("fuzz", 1);
        if (doc) {
            json_object_update(doc, fields);
            free(json_dumps(doc, JSON_COMPACT));
            json_decref(doc);
        }
        json_decref(fields);
    }

    (void) ngx_ams_broadcast_valid_id(data, size);

    json_decref(body);

    return 0;
}
