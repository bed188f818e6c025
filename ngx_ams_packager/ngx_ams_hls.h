
/*
 * Copyright (C) nginx-ams authors
 *
 * HLS of one stream in MPEG-TS segments: cuts segments where
 * ngx_ams_segment.h says, keeps a sliding playlist, removes segments that
 * left it, writes the playlist atomically (temporary file, rename) and
 * ends it with EXT-X-ENDLIST.  HLS in fMP4 is a CMAF output
 * (ngx_ams_cmaf.h).  Blocking file I/O: call it from a thread, never from
 * the event loop.  Free of nginx types.
 */


#ifndef _NGX_AMS_HLS_H_INCLUDED_
#define _NGX_AMS_HLS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ngx_ams_ring.h"
#include "ngx_ams_ts_mux.h"
#include "ngx_ams_segment.h"


#define NGX_AMS_HLS_DIR_LEN      NGX_AMS_SEG_DIR_LEN
#define NGX_AMS_HLS_NAME_LEN     NGX_AMS_SEG_NAME_LEN
#define NGX_AMS_HLS_PATH_LEN     NGX_AMS_SEG_PATH_LEN


typedef struct {
    char                  dir[NGX_AMS_HLS_DIR_LEN];
    char                  tmp[NGX_AMS_HLS_DIR_LEN];  /* temporary files */
    char                  name[NGX_AMS_HLS_NAME_LEN];
    unsigned              list_size;

    unsigned              dir_ready:1;   /* made by the first thread task */
    ngx_ams_ts_mux_t      mux;
    ngx_ams_segmenter_t   seg;
    int                   fd;            /* the open segment, or -1 */
    uint64_t              seq;           /* of the open segment */

    ngx_ams_segment_t    *segments;      /* the last list_size, oldest first */
    unsigned              nsegments;
    ngx_ams_buf_t         text;          /* the playlist being written */
    uint64_t              discontinuities; /* tags that left the list */
    int64_t               retry_dts;     /* audio only: no segment tried
                                            before this after a failure */
    unsigned              playlist_due:1; /* its last write failed */
    unsigned              opus:1;        /* the audio track is Opus: left
                                            out */
    unsigned              opus_said:1;
    unsigned              config_seen:2; /* bit per track configured */
    unsigned              config_gap:1;  /* a codec configuration changed:
                                            the next segment is a
                                            discontinuity */
    uint64_t              config_hash[2]; /* of each track's last one */
    ngx_ams_seg_io_t      io;            /* write errors, segments lost */

    char                  error[NGX_AMS_HLS_PATH_LEN + 128];
} ngx_ams_hls_t;


/* 0, or -1 with hls->error set; open only sets up memory (it runs on the
 * event loop), the directories ("dir" for the files, "tmp" for temporary
 * ones, on the same file system) are made with the first segment.
 * ngx_ams_hls_frame() returns 1 for a frame it dropped (malformed AVCC),
 * with hls->error saying why, and 2 once a stream for an Opus audio track
 * it leaves out (MPEG-TS HLS carries AAC only).  A write that fails is
 * no error: it costs the segment it hit (hls->io counts it, says why),
 * the next keyframe starts a new one, after an EXT-X-DISCONTINUITY (as
 * after a codec configuration change, which ends the open segment at
 * once); the playlist is written
 * again with the next segment, or by ngx_ams_hls_flush().  Finish tries
 * the last playlist a few times, then fails with hls->error set. */
int ngx_ams_hls_open(ngx_ams_hls_t *hls, const char *dir, const char *tmp,
    const char *name, unsigned hls_time_ms, unsigned list_size);
int ngx_ams_hls_config(ngx_ams_hls_t *hls, unsigned track,
    const uint8_t *data, size_t len);
int ngx_ams_hls_frame(ngx_ams_hls_t *hls, const ngx_ams_frame_t *frame,
    const uint8_t *data);
int ngx_ams_hls_flush(ngx_ams_hls_t *hls);
int ngx_ams_hls_finish(ngx_ams_hls_t *hls);
void ngx_ams_hls_remove(ngx_ams_hls_t *hls, time_t not_after);
void ngx_ams_hls_close(ngx_ams_hls_t *hls);


#endif /* _NGX_AMS_HLS_H_INCLUDED_ */
