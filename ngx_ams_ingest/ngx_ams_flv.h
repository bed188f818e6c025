
/*
 * Copyright (C) nginx-ams authors
 *
 * FLV audio and video tag bodies, as RTMP carries them: which codec, key
 * or not, codec configuration or media, composition time.
 * Free of nginx types.
 */


#ifndef _NGX_AMS_FLV_H_INCLUDED_
#define _NGX_AMS_FLV_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_FLV_VIDEO_AVC        7
#define NGX_AMS_FLV_AUDIO_AAC        10

#define NGX_AMS_FLV_OK               0
#define NGX_AMS_FLV_SKIP             1    /* valid, carries no media */
#define NGX_AMS_FLV_ERROR           -1


typedef struct {
    unsigned         codec_id;     /* FLV's own codec number */
    unsigned         key:1;
    unsigned         config:1;     /* a sequence header */
    int32_t          cts;          /* milliseconds */
    const uint8_t   *data;
    size_t           len;
} ngx_ams_flv_tag_t;


int ngx_ams_flv_parse_video(const uint8_t *p, size_t len,
    ngx_ams_flv_tag_t *tag, const char **err);
int ngx_ams_flv_parse_audio(const uint8_t *p, size_t len,
    ngx_ams_flv_tag_t *tag, const char **err);

/* the 5-byte video / 2-byte audio tag body headers players expect */
void ngx_ams_flv_video_header(uint8_t out[5], int key, int config,
    int32_t cts);
void ngx_ams_flv_audio_header(uint8_t out[2], int config);


#endif /* _NGX_AMS_FLV_H_INCLUDED_ */
