
/*
 * Copyright (C) nginx-ams authors
 *
 * DASH of one stream: one fMP4 representation per track (video, audio),
 * segments cut where HLS cuts them, a SegmentTimeline MPD that is dynamic
 * while live and static once the stream ended, written atomically.
 * Blocking file I/O: call it from a thread.  Free of nginx types.
 */


#ifndef _NGX_AMS_DASH_H_INCLUDED_
#define _NGX_AMS_DASH_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ngx_ams_ring.h"
#include "ngx_ams_mp4_mux.h"
#include "ngx_ams_hls.h"


typedef struct {
    uint64_t              number;
    int64_t               t;             /* track timescale */
    int64_t               d;
} ngx_ams_dash_segment_t;


typedef struct {
    ngx_ams_mp4_track_t     mp4;
    ngx_ams_dash_segment_t *segments;    /* ring of list_size + extra */
    uint64_t                next_number;
    uint64_t                bytes;       /* for the bandwidth estimate */
    int64_t                 duration;
    unsigned                init_written:1;
} ngx_ams_dash_track_t;


typedef struct {
    char                  dir[NGX_AMS_HLS_DIR_LEN];
    char                  name[NGX_AMS_HLS_NAME_LEN];
    int64_t               target;
    unsigned              list_size;

    ngx_ams_dash_track_t  track[2];      /* NGX_AMS_MP4_VIDEO, _AUDIO */

    unsigned              open:1;
    unsigned              dir_ready:1;   /* made by the first thread task */
    int64_t               seg_start;
    int64_t               first_dts;     /* where the presentation starts */
    time_t                available;     /* wall clock of first_dts */
    int64_t               last_dts;
    int64_t               last_duration;
    uint32_t              fragments;
    ngx_ams_buf_t         out;

    char                  error[NGX_AMS_HLS_PATH_LEN + 128];
} ngx_ams_dash_t;


/* 0, or -1 with dash->error set; dir gets a subdirectory named "name",
 * made with the first segment (open runs on the event loop: no I/O) */
int ngx_ams_dash_open(ngx_ams_dash_t *dash, const char *dir,
    const char *name, unsigned seg_ms, unsigned list_size);
int ngx_ams_dash_config(ngx_ams_dash_t *dash, unsigned track,
    const uint8_t *data, size_t len);
int ngx_ams_dash_frame(ngx_ams_dash_t *dash, const ngx_ams_frame_t *frame,
    const uint8_t *data);
int ngx_ams_dash_finish(ngx_ams_dash_t *dash);
void ngx_ams_dash_remove(ngx_ams_dash_t *dash, time_t not_after);
void ngx_ams_dash_close(ngx_ams_dash_t *dash);


#endif /* _NGX_AMS_DASH_H_INCLUDED_ */
