
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: the NAL units of an AVCC frame.  The first byte picks the
 * length size (1, 2 or 4, and now and then an invalid one); every unit
 * the iterator returns must lie inside the frame and be read whole.
 */


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_avc.h"


/* keeps the reads of every byte from being optimised away */
volatile unsigned  ngx_ams_fuzz_avc_sink;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                     rc;
    size_t                  i, total;
    unsigned                sum;
    const char             *err;
    ngx_ams_avc_nal_t       nal;
    ngx_ams_avc_nal_iter_t  it;
    static const unsigned   sizes[8] = { 1, 2, 4, 4, 4, 2, 0, 3 };

    if (size == 0) {
        return 0;
    }

    ngx_ams_avc_nal_init(&it, data + 1, size - 1, sizes[data[0] & 7]);

    err = NULL;
    total = 0;
    sum = 0;

    while ((rc = ngx_ams_avc_nal_next(&it, &nal, &err)) == 1) {
        if (nal.len == 0 || nal.data < data + 1
            || nal.len > (size_t) (data + size - nal.data)
            || nal.type != (nal.data[0] & 0x1fu))
        {
            __builtin_trap();
        }

        /* every byte of the unit: ASan catches a read past the input */
        for (i = 0; i < nal.len; i++) {
            sum += nal.data[i];
        }

        total += nal.len;
    }

    if (total > size || (rc != 0 && rc != -1) || (rc == -1 && err == NULL)) {
        __builtin_trap();
    }

    ngx_ams_fuzz_avc_sink = sum;

    return 0;
}
