
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: FLV audio/video tag bodies and the codec configurations they
 * carry (AVC decoder configuration with its SPS, AAC AudioSpecificConfig),
 * then a frame through the MPEG-TS muxer.
 */


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_flv.h"
#include "ngx_ams_avc.h"
#include "ngx_ams_aac.h"
#include "ngx_ams_ts_mux.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char            *err;
    ngx_ams_flv_tag_t      tag;
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
