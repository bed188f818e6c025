
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: the AMF0 decoder, and lookups over what it returns.
 */


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_amf0.h"


static ngx_ams_amf_arena_t  arena;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_ams_amf_t  *v;

    v = ngx_ams_amf_decode(&arena, data, size);

    if (v) {
        (void) ngx_ams_amf_get(ngx_ams_amf_nth(v, 2), "app");
        (void) ngx_ams_amf_is_string(ngx_ams_amf_nth(v, 3));
    }

    return 0;
}
