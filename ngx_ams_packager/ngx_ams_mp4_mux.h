
/*
 * Copyright (C) nginx-ams authors
 *
 * Fragmented MP4 (CMAF-style) for H.264, AAC and Opus: an init segment (ftyp,
 * moov with mvex) and media fragments (moof with one traf per track, then
 * mdat).  The CMAF writer (ngx_ams_cmaf.c) gives it one track at a time,
 * a file per track.  Free of nginx types.
 */


#ifndef _NGX_AMS_MP4_MUX_H_INCLUDED_
#define _NGX_AMS_MP4_MUX_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_ts_mux.h"
#include "ngx_ams_aac.h"


#define NGX_AMS_MP4_VIDEO   0
#define NGX_AMS_MP4_AUDIO   1


typedef struct {
    uint32_t        size;
    uint32_t        duration;
    int32_t         cts;
    uint32_t        flags;
} ngx_ams_mp4_sample_t;


typedef struct {
    unsigned              kind;          /* NGX_AMS_MP4_VIDEO or _AUDIO */
    uint32_t              track_id;
    uint32_t              timescale;     /* 90000, or the sample rate */
    uint8_t               config[4096];  /* avcC, AudioSpecificConfig or
                                            OpusHead */
    size_t                config_len;
    uint32_t              width;
    uint32_t              height;
    ngx_ams_aac_config_t  aac;           /* Opus: its rate and channels */
    unsigned              configured:1;
    unsigned              opus:1;        /* an 'Opus' sample entry, dOps
                                            (ISO/IEC 23003-5 / the Opus
                                            in ISOBMFF spec) */

    /* the fragment being gathered */
    ngx_ams_mp4_sample_t *samples;
    size_t                nsamples;
    size_t                cap;
    ngx_ams_buf_t         data;
    int64_t               first_dts;     /* track timescale */
    int64_t               last_dts;

    /* what the last ngx_ams_mp4_fragment() wrote of this track */
    int64_t               fragment_start;
    int64_t               fragment_duration;
    size_t                fragment_bytes;
} ngx_ams_mp4_track_t;


/* 0, or -1 with *err set; an audio config starting "OpusHead" is Opus's
 * (RFC 7845 5.1), otherwise an AudioSpecificConfig */
int ngx_ams_mp4_track_config(ngx_ams_mp4_track_t *t, unsigned kind,
    uint32_t track_id, const uint8_t *config, size_t len, const char **err);
int ngx_ams_mp4_init_segment(ngx_ams_buf_t *out, ngx_ams_mp4_track_t **t,
    unsigned n);

/* dts and cts in 90 kHz; converted to the track's timescale */
int ngx_ams_mp4_add_sample(ngx_ams_mp4_track_t *t, int64_t dts, int32_t cts,
    int key, const uint8_t *data, size_t len);

/* writes moof + mdat of what the tracks gathered and empties them;
 * end_dts (90 kHz) is where the fragment ends, for the last durations */
int ngx_ams_mp4_fragment(ngx_ams_buf_t *out, ngx_ams_mp4_track_t **t,
    unsigned n, uint32_t sequence, int64_t end_dts);

void ngx_ams_mp4_track_free(ngx_ams_mp4_track_t *t);

/* the RFC 6381 codecs string of a configured track: "avc1.64001f",
 * "mp4a.40.2", "opus" */
void ngx_ams_mp4_codecs(const ngx_ams_mp4_track_t *t, char *buf,
    size_t size);

/* track time in its own timescale, from 90 kHz */
int64_t ngx_ams_mp4_rescale(const ngx_ams_mp4_track_t *t, int64_t ts90k);


#endif /* _NGX_AMS_MP4_MUX_H_INCLUDED_ */
