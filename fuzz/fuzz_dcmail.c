
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: a data-channel record between workers (ngx_ams_dcmail.c),
 * decoded as is and taken out of a mailbox ring that holds the input.  A
 * record that decodes must lie inside the input and encode back to the
 * same bytes; the ring never hands out more than it holds or than the
 * buffer takes.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* nginx-free, built into this target (not in build.sh's pure sources) */
#include "ngx_ams_dcmail.c"


static uint8_t  out[NGX_AMS_DCMAIL_RECORD_MAX];


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long                    n;
    size_t                  len;
    ngx_ams_dcmail_msg_t    m;
    ngx_ams_dcmail_ring_t  *r;

    if (ngx_ams_dcmail_decode(data, size, &m) == 0) {
        if (m.payload + m.payload_len != data + size) {
            abort();
        }

        len = ngx_ams_dcmail_encode(out, sizeof(out), &m);
        if (len != size || memcmp(out, data, size) != 0) {
            abort();
        }
    }

    /* the input as a ring's bytes, read from an offset inside it */
    if (size < 2 || size > 4096) {
        return 0;
    }

    r = malloc(sizeof(ngx_ams_dcmail_ring_t) + size);
    if (r == NULL) {
        return 0;
    }

    memcpy(r + 1, data, size);
    r->size = (uint32_t) size;
    r->head = data[0] % size;
    r->tail = r->head + data[1] % (size + 1);

    while ((n = ngx_ams_dcmail_get(r, out, sizeof(out))) > 0) {
        if ((size_t) n > size) {
            abort();
        }

        (void) ngx_ams_dcmail_decode(out, (size_t) n, &m);
    }

    free(r);

    return 0;
}
