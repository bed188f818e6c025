
/*
 * Copyright (C) nginx-ams authors
 *
 * Adaptive output: a stream and its transcoder rungs ({id}_{h}p{k}kbps,
 * rendition streams whose parent is {id}) form one group in the worker
 * that packages them (the transcoder publishes rungs from the parent's
 * worker).  The parent's packager task writes, beside its own files:
 *
 *   {dir}/{id}_adaptive.m3u8   HLS master: a variant per rung and the
 *                              stream itself (adaptive_original), with
 *                              BANDWIDTH (the busiest segment),
 *                              AVERAGE-BANDWIDTH, RESOLUTION, CODECS,
 *                              FRAME-RATE; MPEG-TS variants {rung}.m3u8,
 *                              fMP4 ones {rung}/video.m3u8 sharing the
 *                              stream's audio rendition {id}/audio.m3u8
 *   {dir}/{id}/{id}.mpd        one video Representation per rung (its
 *                              own timeline, ../{rung}/video_$Number$.m4s)
 *                              in the stream's video AdaptationSet
 *
 * Each packaged stream measures what a master playlist says of it while
 * its task reads frames (stats: the task's); after each task the event
 * loop takes a snapshot (info, and the CMAF video timeline for the MPD),
 * and before each of the parent's tasks hands it the master text when
 * the group changed and the rungs' timelines.  So no thread reads
 * another stream's state: every copy between streams is made on the
 * loop while neither task runs.  A rung that ends leaves the group and
 * the next master and MPD.  Free of nginx types.
 */


#ifndef _NGX_AMS_ADAPTIVE_H_INCLUDED_
#define _NGX_AMS_ADAPTIVE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ngx_ams_ring.h"
#include "ngx_ams_segment.h"
#include "ngx_ams_cmaf.h"
#include "ngx_ams_mpd.h"


#define NGX_AMS_ADAPTIVE_MAX      NGX_AMS_CMAF_MAX_RUNGS

/* the parent's outputs that list rungs */
#define NGX_AMS_ADAPTIVE_TS       0x01  /* HLS, variants {rung}.m3u8 */
#define NGX_AMS_ADAPTIVE_FMP4     0x02  /* HLS, variants {rung}/video.m3u8 */
#define NGX_AMS_ADAPTIVE_DASH     0x04  /* the MPD */


typedef struct ngx_ams_adaptive_s        ngx_ams_adaptive_t;
typedef struct ngx_ams_adaptive_group_s  ngx_ams_adaptive_group_t;


/* what the task measures as frames go by (its own segment cuts, the
 * same as the outputs') */
typedef struct {
    ngx_ams_segmenter_t   seg;
    uint64_t              open_bytes[2];  /* the open segment, per track */
    uint64_t              bytes[2];       /* closed segments */
    int64_t               duration;       /* closed segments, 90 kHz */
    uint64_t              peak[2];        /* bits/s, busiest segment */
    uint64_t              peak_all;       /* both tracks together */
    uint64_t              frames;         /* video frames */
    int64_t               first_dts;      /* video, for the frame rate */
    int64_t               last_dts;
    char                  codecs[2][32];  /* RFC 6381, "" when none */
    unsigned              width;
    unsigned              height;
    unsigned              channels;
} ngx_ams_adaptive_stats_t;


/* a snapshot of the above, as the master playlist states it */
typedef struct {
    char                  codecs[2][32];
    unsigned              width;
    unsigned              height;
    unsigned              channels;
    unsigned              fps_milli;      /* frames per 1000 s, 0: none */
    uint64_t              peak[2];
    uint64_t              peak_all;
    uint64_t              average[2];
    unsigned              ready:1;        /* a segment was measured */
} ngx_ams_adaptive_info_t;


typedef struct {
    ngx_ams_segment_t    *segments;       /* list_size of them */
    char                  id[NGX_AMS_SEG_NAME_LEN];
    char                  codecs[32];
    char                  init[NGX_AMS_SEG_NAME_LEN + 32];
    char                  media[NGX_AMS_SEG_NAME_LEN + 32];
} ngx_ams_adaptive_view_t;


struct ngx_ams_adaptive_s {
    ngx_ams_adaptive_stats_t   stats;     /* the task's */

    /* the event loop's */
    ngx_ams_adaptive_group_t  *group;
    ngx_ams_adaptive_t        *next;      /* the group's rungs */
    char                       name[NGX_AMS_SEG_NAME_LEN];
    unsigned                   height;    /* a rung's, from its name */
    unsigned                   kbps;
    unsigned                   outputs;   /* NGX_AMS_ADAPTIVE_* */
    unsigned                   list_size;
    unsigned                   rung:1;
    unsigned                   original:1;  /* adaptive_original */
    unsigned                   listed:1;    /* a master was written */
    ngx_ams_adaptive_info_t    info;
    ngx_ams_adaptive_info_t    stated;    /* as the group's master says */

    /* its CMAF video track, for the parent's MPD */
    ngx_ams_segment_t         *timeline;
    unsigned                   ntimeline;
    uint32_t                   timescale;
    uint64_t                   bandwidth; /* average, bits/s */
    unsigned                   width;
    unsigned                   height_px;
    char                       vcodecs[32];

    /* the parent's: what its next task writes (the task's while busy) */
    unsigned                   version;   /* of the group, last built */
    unsigned                   master_due:1;
    ngx_ams_buf_t              master;
    ngx_ams_mpd_representation_t  reps[NGX_AMS_ADAPTIVE_MAX];
    ngx_ams_adaptive_view_t    views[NGX_AMS_ADAPTIVE_MAX];
    char                       dir[NGX_AMS_SEG_DIR_LEN];
    char                       tmp[NGX_AMS_SEG_DIR_LEN];
    char                       error[NGX_AMS_SEG_PATH_LEN + 128];
};


/* Context: event loop.  "app" only tells applications apart; parent is
 * NULL for a stream that is no rung.  0, or -1 when out of memory. */
int ngx_ams_adaptive_open(ngx_ams_adaptive_t *a, const void *app,
    const char *dir, const char *tmp, const char *name, const char *parent,
    size_t parent_len, unsigned height, unsigned kbps, unsigned seg_ms,
    unsigned list_size, unsigned outputs, int original);

/* Context: the stream's task */
void ngx_ams_adaptive_config(ngx_ams_adaptive_t *a, unsigned track,
    unsigned codec, const uint8_t *data, size_t len);
void ngx_ams_adaptive_frame(ngx_ams_adaptive_t *a,
    const ngx_ams_frame_t *frame);
/* writes the master playlist when due: 0, 1 when the write failed (it is
 * tried again with the next task, a->error says why) */
int ngx_ams_adaptive_write(ngx_ams_adaptive_t *a);
/* the master, unless written after not_after (a newer publisher's) */
void ngx_ams_adaptive_remove(ngx_ams_adaptive_t *a, time_t not_after);

/* Context: event loop, after the stream's task ("cmaf": its CMAF writer,
 * or NULL) */
void ngx_ams_adaptive_update(ngx_ams_adaptive_t *a,
    const ngx_ams_cmaf_t *cmaf);
/* Context: event loop, before the parent's task: hands it the master when
 * the group changed, and the rungs' representations to its CMAF writer */
void ngx_ams_adaptive_prepare(ngx_ams_adaptive_t *a, ngx_ams_cmaf_t *cmaf);
/* Context: event loop: the stream ended (the group's next master and MPD
 * leave it out); close also frees.  Both are safe on a zeroed one. */
void ngx_ams_adaptive_leave(ngx_ams_adaptive_t *a);
void ngx_ams_adaptive_close(ngx_ams_adaptive_t *a);

/* the master's text for a set of streams, the parent first: for the unit
 * tests and ngx_ams_adaptive_prepare() */
int ngx_ams_adaptive_master(ngx_ams_buf_t *out, const char *parent,
    const ngx_ams_adaptive_info_t *parent_info, int original,
    const char *const *rungs, const ngx_ams_adaptive_info_t *infos,
    size_t n, unsigned outputs);


#endif /* _NGX_AMS_ADAPTIVE_H_INCLUDED_ */
