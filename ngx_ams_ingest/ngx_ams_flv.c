
/*
 * Copyright (C) nginx-ams authors
 */


#include <string.h>

#include "ngx_ams_flv.h"


int
ngx_ams_flv_parse_video(const uint8_t *p, size_t len, ngx_ams_flv_tag_t *tag,
    const char **err)
{
    unsigned  frame_type;
    uint32_t  cts;

    memset(tag, 0, sizeof(ngx_ams_flv_tag_t));

    if (len < 1) {
        *err = "empty video message";
        return NGX_AMS_FLV_ERROR;
    }

    if (p[0] & 0x80) {
        *err = "enhanced RTMP video (HEVC, AV1, VP9) is not supported, "
               "only H.264";
        return NGX_AMS_FLV_ERROR;
    }

    frame_type = p[0] >> 4;
    tag->codec_id = p[0] & 0x0f;

    if (frame_type == 5) {
        /* video info / command frame */
        return NGX_AMS_FLV_SKIP;
    }

    if (tag->codec_id != NGX_AMS_FLV_VIDEO_AVC) {
        *err = "video codec is not supported, only H.264";
        return NGX_AMS_FLV_ERROR;
    }

    if (len < 5) {
        *err = "video message shorter than its AVC header";
        return NGX_AMS_FLV_ERROR;
    }

    switch (p[1]) {
    case 0:
        tag->config = 1;
        break;
    case 1:
        break;
    case 2:
        return NGX_AMS_FLV_SKIP;         /* end of sequence */
    default:
        *err = "unknown AVC packet type";
        return NGX_AMS_FLV_ERROR;
    }

    cts = ((uint32_t) p[2] << 16) | ((uint32_t) p[3] << 8) | p[4];
    tag->cts = (cts & 0x800000) ? (int32_t) (cts | 0xff000000) : (int32_t) cts;
    tag->key = (frame_type == 1);
    tag->data = p + 5;
    tag->len = len - 5;

    if (tag->len == 0) {
        return NGX_AMS_FLV_SKIP;
    }

    return NGX_AMS_FLV_OK;
}


int
ngx_ams_flv_parse_audio(const uint8_t *p, size_t len, ngx_ams_flv_tag_t *tag,
    const char **err)
{
    memset(tag, 0, sizeof(ngx_ams_flv_tag_t));

    if (len < 1) {
        *err = "empty audio message";
        return NGX_AMS_FLV_ERROR;
    }

    tag->codec_id = p[0] >> 4;

    if (tag->codec_id == 9) {
        *err = "enhanced RTMP audio is not supported, only AAC";
        return NGX_AMS_FLV_ERROR;
    }

    if (tag->codec_id != NGX_AMS_FLV_AUDIO_AAC) {
        *err = "audio codec is not supported, only AAC";
        return NGX_AMS_FLV_ERROR;
    }

    if (len < 2) {
        *err = "audio message shorter than its AAC header";
        return NGX_AMS_FLV_ERROR;
    }

    if (p[1] > 1) {
        *err = "unknown AAC packet type";
        return NGX_AMS_FLV_ERROR;
    }

    tag->config = (p[1] == 0);
    tag->key = 1;
    tag->data = p + 2;
    tag->len = len - 2;

    if (tag->len == 0) {
        return NGX_AMS_FLV_SKIP;
    }

    return NGX_AMS_FLV_OK;
}


int
ngx_ams_flv_to_frame(ngx_ams_flv_state_t *st, int video, uint32_t timestamp,
    const uint8_t *p, size_t len, ngx_ams_frame_t *frame,
    const uint8_t **data, const char **err)
{
    int                rc;
    ngx_ams_flv_tag_t  tag;

    if (video) {
        rc = ngx_ams_flv_parse_video(p, len, &tag, err);
    } else {
        rc = ngx_ams_flv_parse_audio(p, len, &tag, err);
    }

    if (rc != NGX_AMS_FLV_OK) {
        return rc;
    }

    memset(frame, 0, sizeof(ngx_ams_frame_t));
    frame->track = video ? NGX_AMS_TRACK_VIDEO : NGX_AMS_TRACK_AUDIO;
    frame->codec = video ? NGX_AMS_CODEC_H264 : NGX_AMS_CODEC_AAC;
    frame->size = (uint32_t) tag.len;
    *data = tag.data;

    if (tag.config) {
        return NGX_AMS_FLV_CONFIG;
    }

    if (video ? !st->has_video : !st->has_audio) {
        return NGX_AMS_FLV_NO_CONFIG;
    }

    /*
     * RTMP's 32-bit millisecond clock wraps after 49 days, and audio and
     * video may come a little out of order: the clock moves by the
     * signed distance from the last timestamp, whichever side of a wrap
     * either is.
     */
    if (st->started) {
        st->ms += (int32_t) (timestamp - st->last_ts);

    } else {
        st->ms = timestamp;
        st->started = 1;
    }

    st->last_ts = timestamp;

    frame->dts = (st->ms > 0 ? st->ms : 0) * (NGX_AMS_TIMEBASE / 1000);
    frame->cts = tag.cts * (NGX_AMS_TIMEBASE / 1000);

    if (video) {
        frame->flags = tag.key ? NGX_AMS_FRAME_KEY : 0;

    } else {
        /* audio is where readers may start only when there is no video */
        frame->flags = st->has_video ? 0 : NGX_AMS_FRAME_KEY;
    }

    return NGX_AMS_FLV_OK;
}


void
ngx_ams_flv_video_header(uint8_t out[5], int key, int config, int32_t cts)
{
    out[0] = (uint8_t) ((key ? 0x10 : 0x20) | NGX_AMS_FLV_VIDEO_AVC);
    out[1] = config ? 0 : 1;
    out[2] = (uint8_t) (cts >> 16);
    out[3] = (uint8_t) (cts >> 8);
    out[4] = (uint8_t) cts;
}


void
ngx_ams_flv_audio_header(uint8_t out[2], int config)
{
    /* AAC is always signalled as 44 kHz stereo 16-bit: the real format
     * is in the AudioSpecificConfig */
    out[0] = (NGX_AMS_FLV_AUDIO_AAC << 4) | 0x0f;
    out[1] = config ? 0 : 1;
}
