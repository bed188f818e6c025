
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: the RTMP chunk stream parser, fed in pieces of varying size,
 * with every complete message decoded as AMF0 and as an FLV tag, as the
 * server would.
 */


#include <stddef.h>
#include <stdint.h>

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
    size_t                       off, n;
    ngx_ams_rtmp_chunk_parser_t  p;

    ngx_ams_rtmp_chunk_init(&p, 1 << 20, on_message, NULL);

    /* the first byte picks the piece size: partial headers get exercised */
    n = size ? (data[0] % 37) + 1 : 1;

    for (off = 1; off < size; off += n) {
        if (ngx_ams_rtmp_chunk_parse(&p, data + off,
                                     size - off < n ? size - off : n) != 0)
        {
            break;
        }
    }

    ngx_ams_rtmp_chunk_free(&p);

    return 0;
}
