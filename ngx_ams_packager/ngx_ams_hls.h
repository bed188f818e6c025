
/*
 * Copyright (C) nginx-ams authors
 *
 * HLS of one stream, in MPEG-TS or fragmented MP4 segments: cuts segments
 * on keyframes once hls_time has passed, keeps a sliding playlist, removes
 * segments that left it, writes the playlist atomically (temporary file,
 * rename) and ends it with EXT-X-ENDLIST.  Blocking file I/O: call it
 * from a thread, never from the event loop.  Free of nginx types.
 */


#ifndef _NGX_AMS_HLS_H_INCLUDED_
#define _NGX_AMS_HLS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <limits.h>

#include "ngx_ams_ring.h"
#include "ngx_ams_ts_mux.h"
#include "ngx_ams_mp4_mux.h"


/* segments kept on disk after they leave the playlist, for slow players */
#define NGX_AMS_HLS_KEEP_EXTRA   2
#define NGX_AMS_HLS_MAX_LIST     1024
#define NGX_AMS_HLS_DIR_LEN      3072
#define NGX_AMS_HLS_NAME_LEN     128
/* room for dir/name plus a 20-digit sequence, extension, temp prefix */
#define NGX_AMS_HLS_PATH_LEN     (NGX_AMS_HLS_DIR_LEN + NGX_AMS_HLS_NAME_LEN \
                                  + 64)


typedef struct {
    uint64_t          seq;
    int64_t           duration;        /* 90 kHz */
} ngx_ams_hls_segment_t;


typedef struct {
    char              dir[NGX_AMS_HLS_DIR_LEN];
    char              name[NGX_AMS_HLS_NAME_LEN];
    int64_t           target;          /* hls_time, 90 kHz */
    unsigned          list_size;

    unsigned          fmp4:1;
    unsigned          dir_ready:1;     /* made by the first thread task */
    unsigned          init_written:1;
    ngx_ams_ts_mux_t  mux;             /* TS muxer; its out buffer for both */
    ngx_ams_mp4_track_t  video;        /* fMP4 tracks */
    ngx_ams_mp4_track_t  audio;
    uint32_t          fragments;
    int               fd;              /* the open segment, or -1 */
    uint64_t          seq;             /* of the open segment */
    int64_t           seg_start;
    int64_t           last_dts;
    int64_t           last_duration;   /* of the last frame, to end on */

    ngx_ams_hls_segment_t  *segments;  /* ring of list_size + extra */
    unsigned          nsegments;       /* ever closed */
    uint64_t          first_seq;

    char              error[NGX_AMS_HLS_PATH_LEN + 128];
} ngx_ams_hls_t;


/* 0, or -1 with hls->error set; open only sets up memory (it runs on the
 * event loop), the directory is made with the first segment */
int ngx_ams_hls_open(ngx_ams_hls_t *hls, const char *dir, const char *name,
    unsigned hls_time_ms, unsigned list_size, int fmp4);
int ngx_ams_hls_config(ngx_ams_hls_t *hls, unsigned track,
    const uint8_t *data, size_t len);
int ngx_ams_hls_frame(ngx_ams_hls_t *hls, const ngx_ams_frame_t *frame,
    const uint8_t *data);
int ngx_ams_hls_flush(ngx_ams_hls_t *hls);
int ngx_ams_hls_finish(ngx_ams_hls_t *hls);
void ngx_ams_hls_remove(ngx_ams_hls_t *hls, time_t not_after);
void ngx_ams_hls_close(ngx_ams_hls_t *hls);


#endif /* _NGX_AMS_HLS_H_INCLUDED_ */
