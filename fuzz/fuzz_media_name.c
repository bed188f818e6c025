
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: stream ids from HLS/DASH request paths.
 */


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_media_name.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ngx_ams_media_name_t  n;

    if (ngx_ams_media_name(data, size, &n) == 0) {
        /* what was found lies inside the input */
        if (n.app < data || n.app + n.app_len > data + size
            || n.id < data || n.id + n.id_len > data + size
            || n.id_len == 0 || n.app_len == 0
            || n.parent != n.id || n.parent_len == 0
            || n.parent_len > n.id_len)
        {
            __builtin_trap();
        }
    }

    return 0;
}
