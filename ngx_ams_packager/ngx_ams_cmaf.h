
/*
 * Copyright (C) nginx-ams authors
 *
 * The CMAF writer of one stream: each track (H.264, AAC) is muxed once
 * into fragmented MP4, an init segment and one fragment (moof + mdat) per
 * segment, cut where ngx_ams_segment.h says, each file written once.  Both
 * outputs list the same files:
 *
 *   {dir}/{name}.m3u8              HLS master: video, audio as a rendition
 *   {dir}/{name}/video.m3u8        HLS media playlists
 *   {dir}/{name}/audio.m3u8
 *   {dir}/{name}/{name}.mpd        DASH MPD, one representation per track
 *   {dir}/{name}/video_init.mp4    init segments
 *   {dir}/{name}/audio_init.mp4
 *   {dir}/{name}/video_init_{v}.mp4  after the v-th configuration change
 *   {dir}/{name}/video_{n}.m4s     fragments, n from 0
 *   {dir}/{name}/audio_{n}.m4s
 *
 * Playlists and the MPD are rewritten atomically after each segment.
 *
 * Low-latency HLS (ngx_ams_cmaf_low_latency()): a segment is written as
 * a sequence of parts (CMAF chunks, one moof + mdat each) appended to its
 * file as each is cut, every part_ms or so; the media playlists list the
 * parts as byte ranges of that file (EXT-X-PART) and are rewritten after
 * each part, then the shared state tells the HLS gate (blocking reload).
 * One file per segment: the same files serve DASH, and LL-DASH can serve
 * a segment while it grows.
 * Blocking file I/O: call it from a thread, never from the event loop.
 * Free of nginx types.
 */


#ifndef _NGX_AMS_CMAF_H_INCLUDED_
#define _NGX_AMS_CMAF_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ngx_ams_ring.h"
#include "ngx_ams_mp4_mux.h"
#include "ngx_ams_segment.h"
#include "ngx_ams_mpd.h"
#include "ngx_ams_ll_state.h"


#define NGX_AMS_CMAF_HLS     0x01       /* HLS playlists of the fragments */
#define NGX_AMS_CMAF_DASH    0x02       /* a DASH MPD of the fragments */

/* transcoder rungs an MPD lists beside the stream's own video */
#define NGX_AMS_CMAF_MAX_RUNGS  8


typedef struct {
    ngx_ams_mp4_track_t   mp4;
    ngx_ams_segment_t    *segments;     /* the last list_size, oldest first */
    unsigned              nsegments;
    uint64_t              next_seq;
    uint64_t              bytes;        /* of every fragment */
    int64_t               duration;     /* track timescale */
    uint64_t              peak;         /* bits/s of the busiest segment */
    uint64_t              discontinuities; /* tags that left the list */
    unsigned              init_written:1;
    uint32_t              config_version; /* of its init segment: 0
                                           {kind}_init.mp4, n > 0
                                           {kind}_init_{n}.mp4 */

    /* low-latency HLS: the open segment (next_seq), written part by part */
    unsigned              fd_open:1;
    int                   fd;           /* its file, while fd_open */
    uint64_t              seg_bytes;    /* its parts' bytes */
    int64_t               seg_start;    /* track timescale */
    int64_t               seg_duration;
    uint32_t              seg_parts;
    uint32_t              last_parts;   /* of the segment before it */
    ngx_ams_part_t       *parts;        /* listed, oldest first */
    unsigned              nparts;
    unsigned              parts_cap;
} ngx_ams_cmaf_track_t;


typedef struct {
    char                  dir[NGX_AMS_SEG_DIR_LEN];
    char                  tmp[NGX_AMS_SEG_DIR_LEN];  /* temporary files */
    char                  name[NGX_AMS_SEG_NAME_LEN];
    unsigned              list_size;
    unsigned              outputs;      /* NGX_AMS_CMAF_HLS, _DASH */

    ngx_ams_segmenter_t   seg;
    ngx_ams_cmaf_track_t  track[2];     /* NGX_AMS_MP4_VIDEO, _AUDIO */
    uint32_t              fragments;    /* the last moof's sequence */
    int64_t               first_dts;    /* where the presentation starts */
    int64_t               available_ms; /* wall clock of first_dts, ms */
    char                  utc_timing[256]; /* the MPD's time endpoint, ""
                                           for none (set after open) */

    unsigned              dir_ready:1;  /* made by the first thread task */
    unsigned              started:1;    /* first_dts is set */
    unsigned              config_gap:1; /* a codec configuration changed:
                                           the next segment is a
                                           discontinuity */
    unsigned              master_due:1; /* HLS master to (re)write */
    unsigned              playlists_due:1; /* their last write failed */
    ngx_ams_seg_io_t      io;           /* write errors, segments lost */

    /* the rungs' video representations for the MPD, set by the event
     * loop before each task (ngx_ams_adaptive.c); adaptive_only: the
     * stream's own video is not one of them (adaptive_original off) */
    const ngx_ams_mpd_representation_t  *adaptive;
    size_t                nadaptive;
    unsigned              adaptive_only:1;
    /* no EXT-X-PROGRAM-DATE-TIME: a transcoder's rung, whose wall clock
     * starts later than its group's (players would misalign by it) */
    unsigned              undated:1;
    /* low-latency HLS; part_target 0: whole segments only */
    int64_t               part_target;  /* 90 kHz */
    int64_t               part_start;   /* dts where the open part began */
    int64_t               part_last;    /* of the last frame parts cut at */
    int64_t               part_step;    /* the interval before it */
    unsigned              seg_lost:1;   /* a part of the open segment was
                                           lost: so is the segment */
    ngx_ams_ll_state_t   *ll;           /* shared with the HLS gate */

    ngx_ams_buf_t         out;
    char                  error[NGX_AMS_SEG_PATH_LEN + 128];
} ngx_ams_cmaf_t;


/* each returns 0, or -1 with cmaf->error set.  Open only sets up memory
 * (it runs on the event loop); the directories ("tmp" for temporary
 * files, on the file system of "dir") come with the first segment.
 * ngx_ams_cmaf_frame() returns 1 for a frame it dropped (malformed AVCC),
 * with cmaf->error saying why.  A write that fails is no error: it costs
 * the segment it hit, on every track (cmaf->io counts it, says why); the
 * numbers go on without a gap, the HLS playlists mark it with
 * EXT-X-DISCONTINUITY, the MPD's timeline with the time it skips; the
 * playlists and the MPD are written again with the next segment.  Finish
 * tries them a few times, then fails with cmaf->error set.  Close is safe
 * on a zeroed or half-opened writer. */
int ngx_ams_cmaf_open(ngx_ams_cmaf_t *cmaf, const char *dir,
    const char *tmp, const char *name, unsigned seg_ms, unsigned list_size,
    unsigned outputs);
/* parts of about part_ms (to be called after open, before any frame);
 * "ll", when not NULL, is set up for "generation" and then follows what
 * the playlists list */
void ngx_ams_cmaf_low_latency(ngx_ams_cmaf_t *cmaf, unsigned part_ms,
    ngx_ams_ll_state_t *ll, uint64_t generation);
int ngx_ams_cmaf_config(ngx_ams_cmaf_t *cmaf, unsigned track,
    const uint8_t *data, size_t len);
int ngx_ams_cmaf_frame(ngx_ams_cmaf_t *cmaf, const ngx_ams_frame_t *frame,
    const uint8_t *data);
int ngx_ams_cmaf_finish(ngx_ams_cmaf_t *cmaf);
void ngx_ams_cmaf_remove(ngx_ams_cmaf_t *cmaf, time_t not_after);
void ngx_ams_cmaf_close(ngx_ams_cmaf_t *cmaf);


#endif /* _NGX_AMS_CMAF_H_INCLUDED_ */
