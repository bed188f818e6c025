
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: WebSocket frames from a client (ngx_ams_ws.c), read the way
 * the signalling handler does: frame after frame from one buffer.
 */


#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_ams_ws.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  rc;
    size_t               used;
    uint8_t             *p, *buf;
    ngx_ams_ws_msg_t     msg;
    ngx_ams_ws_reader_t  rd;

    p = malloc(size + 1);
    buf = malloc(4096);
    if (p == NULL || buf == NULL) {
        free(p);
        free(buf);
        return 0;
    }

    memcpy(p, data, size);
    ngx_ams_ws_reader_init(&rd, buf, 4096);

    while (size) {
        rc = ngx_ams_ws_read(&rd, p, size, &used, &msg);

        if (rc == NGX_AMS_WS_AGAIN || rc == NGX_AMS_WS_FAIL) {
            break;
        }

        if (used == 0 || used > size) {
            abort();
        }

        if ((rc == NGX_AMS_WS_MESSAGE || rc == NGX_AMS_WS_CONTROL)
            && msg.len && msg.data[msg.len - 1] == 0xff)
        {
            /* touch the bytes: ASan checks they are in bounds */
            buf[0] ^= 1;
        }

        memmove(p, p + used, size - used);
        size -= used;
    }

    free(p);
    free(buf);
    return 0;
}
