
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: FLV audio/video tag bodies and the codec configurations they
 * carry (AVC decoder configuration with its SPS, AAC AudioSpecificConfig),
 * their conversion to bus frames, then a frame through the MPEG-TS muxer.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ngx_ams_flv.h"
#include "ngx_ams_avc.h"
#include "ngx_ams_aac.h"
#include "ngx_ams_ts_mux.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                    rc, video;
    uint32_t               ts;
    const char            *err;
    const uint8_t         *body;
    ngx_ams_frame_t        frame;
    ngx_ams_flv_tag_t      tag;
    ngx_ams_flv_state_t    st;
    ngx_ams_avc_config_t   avc;
    ngx_ams_aac_config_t   aac;
    ngx_ams_ts_mux_t       mux;

    if (ngx_ams_flv_parse_video(data, size, &tag, &err) == NGX_AMS_FLV_OK
        && tag.config)
    {
        (void) ngx_ams_avc_parse_config(tag.data, tag.len, &avc, &err);
    }

    if (ngx_ams_flv_parse_audio(data, size, &tag, &err) == NGX_AMS_FLV_OK
        && tag.config)
    {
        (void) ngx_ams_aac_parse_config(tag.data, tag.len, &aac, &err);
    }

    /* as bus frames: both tracks, clock and tracks seen from the input */
    memset(&st, 0, sizeof(st));
    st.has_video = size && (data[0] & 1);
    st.has_audio = size && (data[0] & 2);
    st.last_ts = size > 4 ? (uint32_t) data[1] << 24 | data[2] << 16
                            | data[3] << 8 | data[4] : 0;
    ts = ~st.last_ts;

    for (video = 0; video < 2; video++) {
        rc = ngx_ams_flv_to_frame(&st, video, ts, data, size, &frame, &body,
                                  &err);

        if ((rc == NGX_AMS_FLV_OK || rc == NGX_AMS_FLV_CONFIG)
            && (body < data || frame.size > (size_t) (data + size - body)))
        {
            __builtin_trap();
        }
    }

    (void) ngx_ams_avc_parse_config(data, size, &avc, &err);
    (void) ngx_ams_avc_parse_sps(data, size, &avc.width, &avc.height);

    /* with a fixed valid config, the frame bytes go through the muxer */
    ngx_ams_ts_mux_init(&mux);
    mux.has_video = 1;
    mux.nal_length_size = size ? (data[0] & 1 ? 4 : 2) : 4;
    (void) ngx_ams_ts_mux_video(&mux, 0, 0, 1, data, size, &err);
    ngx_ams_ts_mux_free(&mux);

    return 0;
}
