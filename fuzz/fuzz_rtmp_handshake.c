
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: the server's answer to any C0+C1.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ngx_ams_rtmp_handshake.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          digest;
    uint8_t      c0c1[1 + NGX_AMS_RTMP_HANDSHAKE_SIZE];
    uint8_t      out[1 + 2 * NGX_AMS_RTMP_HANDSHAKE_SIZE];
    const char  *err;

    memset(c0c1, 0, sizeof(c0c1));
    memcpy(c0c1, data, size < sizeof(c0c1) ? size : sizeof(c0c1));

    (void) ngx_ams_rtmp_handshake_respond(c0c1, out, 0, &digest, &err);

    return 0;
}
