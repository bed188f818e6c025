
/*
 * Copyright (C) nginx-ams authors
 *
 * An MPEG-TS muxer for one program with H.264 and AAC: PAT/PMT, PES with
 * PCR on the first packet of each video frame, Annex-B video with SPS/PPS
 * before keyframes, ADTS audio.  Appends to a growable buffer.
 * Free of nginx types.
 */


#ifndef _NGX_AMS_TS_MUX_H_INCLUDED_
#define _NGX_AMS_TS_MUX_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_aac.h"


#define NGX_AMS_TS_PACKET       188
#define NGX_AMS_TS_PMT_PID      0x1000
#define NGX_AMS_TS_VIDEO_PID    0x100
#define NGX_AMS_TS_AUDIO_PID    0x101


typedef struct {
    uint8_t      *data;
    size_t        len;
    size_t        cap;
} ngx_ams_buf_t;


typedef struct {
    ngx_ams_buf_t         out;
    ngx_ams_buf_t         pes;            /* scratch for one frame */

    uint8_t               cc_pat;
    uint8_t               cc_pmt;
    uint8_t               cc_video;
    uint8_t               cc_audio;

    unsigned              has_video:1;
    unsigned              has_audio:1;

    unsigned              nal_length_size;
    uint8_t               param_sets[4096];   /* SPS/PPS in Annex B */
    size_t                param_sets_len;

    ngx_ams_aac_config_t  aac;
} ngx_ams_ts_mux_t;


int ngx_ams_buf_reserve(ngx_ams_buf_t *b, size_t n);
int ngx_ams_buf_append(ngx_ams_buf_t *b, const void *p, size_t n);
void ngx_ams_buf_free(ngx_ams_buf_t *b);

void ngx_ams_ts_mux_init(ngx_ams_ts_mux_t *mux);
void ngx_ams_ts_mux_free(ngx_ams_ts_mux_t *mux);

/* 0, or -1 with *err set */
int ngx_ams_ts_mux_video_config(ngx_ams_ts_mux_t *mux, const uint8_t *avcc,
    size_t len, const char **err);
int ngx_ams_ts_mux_audio_config(ngx_ams_ts_mux_t *mux, const uint8_t *asc,
    size_t len, const char **err);

/* PAT and PMT, at the start of every segment */
int ngx_ams_ts_mux_tables(ngx_ams_ts_mux_t *mux);

/* timestamps in 90 kHz; video data is AVCC (length-prefixed NAL units) */
int ngx_ams_ts_mux_video(ngx_ams_ts_mux_t *mux, int64_t dts, int32_t cts,
    int key, const uint8_t *data, size_t len, const char **err);
int ngx_ams_ts_mux_audio(ngx_ams_ts_mux_t *mux, int64_t pts,
    const uint8_t *data, size_t len);


#endif /* _NGX_AMS_TS_MUX_H_INCLUDED_ */
