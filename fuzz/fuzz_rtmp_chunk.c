
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: the RTMP chunk stream parser, fed in pieces of varying size,
 * with every complete message decoded as AMF0 and as an FLV tag, as the
 * server would; its buffers counted against a connection's and a worker's
 * limits (small ones, so they are reached), which must add up to zero
 * once the parser is freed.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ngx_ams_rtmp_chunk.h"
#include "ngx_ams_amf0.h"
#include "ngx_ams_flv.h"


static ngx_ams_amf_arena_t  arena;


static int
on_message(void *ctx, ngx_ams_rtmp_msg_t *msg, const char **err)
{
    ngx_ams_flv_tag_t  tag;

    switch (msg->type) {
    case NGX_AMS_RTMP_MSG_AMF_CMD:
    case NGX_AMS_RTMP_MSG_AMF_DATA:
        (void) ngx_ams_amf_decode(&arena, msg->data, msg->length);
        break;
    case NGX_AMS_RTMP_MSG_VIDEO:
        (void) ngx_ams_flv_parse_video(msg->data, msg->length, &tag, err);
        break;
    case NGX_AMS_RTMP_MSG_AUDIO:
        (void) ngx_ams_flv_parse_audio(msg->data, msg->length, &tag, err);
        break;
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                       off, n, total;
    ngx_ams_rtmp_chunk_parser_t  p;

    total = 0;

    ngx_ams_rtmp_chunk_init(&p, 1 << 20, on_message, NULL);
    ngx_ams_rtmp_chunk_limits(&p, 1 << 16, 1 << 17, &total, 1 << 18);

    /* the first byte picks the piece size: partial headers get exercised */
    n = size ? (data[0] % 37) + 1 : 1;

    for (off = 1; off < size; off += n) {
        if (ngx_ams_rtmp_chunk_parse(&p, data + off,
                                     size - off < n ? size - off : n) != 0)
        {
            break;
        }

        if (total != p.buffered) {
            abort();
        }

        /* as a publisher that stops: back to the limits for commands */
        if (off == 1 + 64 * n) {
            ngx_ams_rtmp_chunk_trim(&p);
            ngx_ams_rtmp_chunk_limits(&p, 1 << 12, 1 << 14, &total, 1 << 18);
        }
    }

    ngx_ams_rtmp_chunk_free(&p);

    if (total != 0) {
        abort();
    }

    return 0;
}
