
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: a JSON document (a REST body, a record) through the MongoDB
 * backend's conversions and updates: to BSON and back it is the same
 * document (a whole real may come back an integer), and every update
 * built from it is valid BSON; and any bytes read as a BSON document
 * (what a server sends) convert without crashing.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <math.h>

#include "ngx_ams_mongo_bson.h"


/* equal, but a real that is a whole number may have become an integer */
static int
same(json_t *a, json_t *b)
{
    size_t       i;
    json_t      *v;
    const char  *key;

    if (json_is_number(a) && json_is_number(b)) {
        return json_number_value(a) == json_number_value(b)
               || (isnan(json_number_value(a)) && json_is_null(b));
    }

    if (json_typeof(a) != json_typeof(b)) {
        return 0;
    }

    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b)) {
            return 0;
        }

        json_object_foreach(a, key, v) {
            if (!same(v, json_object_get(b, key))) {
                return 0;
            }
        }

        return 1;
    }

    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) {
            return 0;
        }

        for (i = 0; i < json_array_size(a); i++) {
            if (!same(json_array_get(a, i), json_array_get(b, i))) {
                return 0;
            }
        }

        return 1;
    }

    return json_equal(a, b);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bson_t   b, *raw;
    json_t  *doc, *back;

    raw = bson_new_from_data(data, size);
    if (raw) {
        back = ngx_ams_mongo_to_json(raw);
        json_decref(back);
        bson_destroy(raw);
    }

    doc = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES,
                     NULL);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return 0;
    }

    bson_init(&b);

    /* deeper than the converter goes, or a key with a NUL: refused */
    if (ngx_ams_mongo_from_json(&b, doc) == 0) {
        back = ngx_ams_mongo_to_json(&b);

        json_object_del(doc, "_id");

        if (back == NULL || !same(doc, back)) {
            __builtin_trap();
        }

        json_decref(back);
    }

    bson_reinit(&b);
    (void) ngx_ams_mongo_update_doc(&b, doc, doc, "streamId", "s");
    bson_reinit(&b);
    (void) ngx_ams_mongo_insert_doc(&b, doc, doc, "streamId", "s");
    bson_destroy(&b);

    json_decref(doc);

    return 0;
}
