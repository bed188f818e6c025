
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: an OpusHead (RFC 7845 5.1), as the converter parses it and
 * as the fMP4 muxer turns it into an 'Opus' sample entry with dOps, and
 * Opus packets' TOC bytes as the muxer reads their durations.  The input
 * is the head, then packets of up to 255 bytes, each after its length.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ngx_ams_audio_convert.h"
#include "ngx_ams_mp4_mux.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                head, n;
    const char           *err;
    ngx_ams_buf_t         out;
    ngx_ams_mp4_track_t   t, *tp;
    ngx_ams_opus_head_t   h;
    int64_t               dts;

    if (size == 0) {
        return 0;
    }

    /* the first byte: how much of the rest is the head */
    head = data[0];
    data++;
    size--;

    if (head > size) {
        head = size;
    }

    (void) ngx_ams_opus_head_parse(data, head, &h, &err);

    memset(&t, 0, sizeof(t));
    memset(&out, 0, sizeof(out));
    tp = &t;

    /* "OpusHead" first, so the muxer takes it as Opus's */
    if (ngx_ams_mp4_track_config(&t, NGX_AMS_MP4_AUDIO, 2, data, head, &err)
        == 0)
    {
        (void) ngx_ams_mp4_init_segment(&out, &tp, 1);

        data += head;
        size -= head;
        dts = 0;

        while (size) {
            n = data[0];
            data++;
            size--;

            if (n > size) {
                n = size;
            }

            (void) ngx_ams_mp4_add_sample(&t, dts, 0, 1, data, n);
            dts += 1800;
            data += n;
            size -= n;
        }

        out.len = 0;
        (void) ngx_ams_mp4_fragment(&out, &tp, 1, 1, dts);
    }

    ngx_ams_mp4_track_free(&t);
    ngx_ams_buf_free(&out);

    return 0;
}
