
/*
 * Copyright (C) nginx-ams authors
 *
 * FLV audio and video tag bodies, as RTMP carries them: which codec, key
 * or not, codec configuration or media, composition time; their
 * conversion to bus frames and back.  Free of nginx types.
 */


#ifndef _NGX_AMS_FLV_H_INCLUDED_
#define _NGX_AMS_FLV_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_ring.h"


#define NGX_AMS_FLV_VIDEO_AVC        7
#define NGX_AMS_FLV_AUDIO_AAC        10

#define NGX_AMS_FLV_OK               0
#define NGX_AMS_FLV_SKIP             1    /* valid, carries no media */
#define NGX_AMS_FLV_ERROR           -1
#define NGX_AMS_FLV_CONFIG           2    /* a sequence header */
#define NGX_AMS_FLV_NO_CONFIG        3    /* media before its header */


typedef struct {
    unsigned         codec_id;     /* FLV's own codec number */
    unsigned         key:1;
    unsigned         config:1;     /* a sequence header */
    int32_t          cts;          /* milliseconds */
    const uint8_t   *data;
    size_t           len;
} ngx_ams_flv_tag_t;


/*
 * What ngx_ams_flv_to_frame() keeps between the messages of one
 * publisher.  The caller sets has_video / has_audio once it has taken
 * that track's sequence header.
 */
typedef struct {
    uint32_t         last_ts;      /* RTMP's 32-bit millisecond clock */
    int64_t          ms;           /* last_ts, extended past its wraps */
    unsigned         started:1;
    unsigned         has_video:1;
    unsigned         has_audio:1;
} ngx_ams_flv_state_t;


int ngx_ams_flv_parse_video(const uint8_t *p, size_t len,
    ngx_ams_flv_tag_t *tag, const char **err);
int ngx_ams_flv_parse_audio(const uint8_t *p, size_t len,
    ngx_ams_flv_tag_t *tag, const char **err);

/*
 * An RTMP audio or video message (an FLV tag body and its millisecond
 * timestamp) as a bus frame: 90 kHz dts and cts, track, codec, key flag;
 * the 32-bit clock is extended by the signed difference from the last
 * timestamp, so it runs on past a wrap and a frame a little late across
 * one stays in place (a dts before 0 is sent as 0);
 * *data points at the frame's bytes in p.  Returns NGX_AMS_FLV_OK;
 * NGX_AMS_FLV_CONFIG with track, codec, size and *data set for a
 * sequence header; NGX_AMS_FLV_NO_CONFIG for media of a track whose
 * header has not come (the clock is left alone); NGX_AMS_FLV_SKIP;
 * NGX_AMS_FLV_ERROR with *err set.
 */
int ngx_ams_flv_to_frame(ngx_ams_flv_state_t *st, int video,
    uint32_t timestamp, const uint8_t *p, size_t len, ngx_ams_frame_t *frame,
    const uint8_t **data, const char **err);

/* the 5-byte video / 2-byte audio tag body headers players expect */
void ngx_ams_flv_video_header(uint8_t out[5], int key, int config,
    int32_t cts);
void ngx_ams_flv_audio_header(uint8_t out[2], int config);


#endif /* _NGX_AMS_FLV_H_INCLUDED_ */
