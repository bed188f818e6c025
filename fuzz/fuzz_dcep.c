
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: a DCEP message (RFC 8832) as it arrives on a data channel
 * stream with PPID 50.  An OPEN that parses must lie inside the input,
 * respect our label bound, and write back to exactly the same bytes; an
 * ACK is exactly one byte.  A writer that disagrees with the parser
 * aborts.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_ams_dcep.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  rc;
    size_t               n;
    uint8_t              out[NGX_AMS_DCEP_OPEN_HEADER_LEN
                             + 2 * NGX_AMS_DCEP_MAX_LABEL];
    ngx_ams_dcep_open_t  o;

    (void) ngx_ams_dcep_type(data, size);

    if (ngx_ams_dcep_parse_ack(data, size) == NGX_AMS_DCEP_OK
        && (size != 1 || data[0] != NGX_AMS_DCEP_ACK))
    {
        abort();
    }

    rc = ngx_ams_dcep_parse_open(data, size, &o);

    if (rc != NGX_AMS_DCEP_OK) {
        return 0;
    }

    if (o.label < data + NGX_AMS_DCEP_OPEN_HEADER_LEN
        || o.protocol != o.label + o.label_len
        || o.protocol + o.protocol_len != data + size
        || o.label_len > NGX_AMS_DCEP_MAX_LABEL
        || o.protocol_len > NGX_AMS_DCEP_MAX_LABEL
        || !ngx_ams_dcep_valid_channel_type(o.channel_type))
    {
        abort();
    }

    n = ngx_ams_dcep_write_open(out, sizeof(out), &o);

    if (n != size || memcmp(out, data, size) != 0) {
        abort();
    }

    /* one byte short of room: nothing written */
    if (ngx_ams_dcep_write_open(out, size - 1, &o) != 0) {
        abort();
    }

    return 0;
}
