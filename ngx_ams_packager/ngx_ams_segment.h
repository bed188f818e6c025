
/*
 * Copyright (C) nginx-ams authors
 *
 * Where segments are cut, the same for MPEG-TS HLS and CMAF (fMP4 HLS,
 * DASH): a segment starts on a video keyframe (on any audio frame when
 * there is no video) and the next one starts at the first such frame once
 * the target length passed.  The segmenter also remembers where the last
 * frame ends, so the last segment of a stream gets its true length.
 */


#ifndef _NGX_AMS_SEGMENT_H_INCLUDED_
#define _NGX_AMS_SEGMENT_H_INCLUDED_


#include <string.h>

#include "ngx_ams_ring.h"


#define NGX_AMS_SEG_DROP    0    /* before the first segment: not kept */
#define NGX_AMS_SEG_ADD     1    /* goes into the open segment */
#define NGX_AMS_SEG_START   2    /* starts the first segment */
#define NGX_AMS_SEG_CUT     3    /* ends the open segment, starts the next */

/* segments kept on disk after they leave the playlist, for slow players */
#define NGX_AMS_SEG_KEEP_EXTRA   2
#define NGX_AMS_SEG_MAX_LIST     1024
/* the playlists that end a stream: tries, milliseconds between two */
#define NGX_AMS_SEG_FINAL_TRIES  5
#define NGX_AMS_SEG_FINAL_WAIT   200
#define NGX_AMS_SEG_DIR_LEN      3072
#define NGX_AMS_SEG_NAME_LEN     128
/* room for dir/name/ plus a file name with a 20-digit number, temp dots */
#define NGX_AMS_SEG_PATH_LEN                                                  \
    (NGX_AMS_SEG_DIR_LEN + 2 * NGX_AMS_SEG_NAME_LEN + 64)


/* a closed segment, as a playlist or an MPD lists it */
typedef struct {
    uint64_t        seq;             /* its number, which names its file */
    int64_t         start;           /* in its track's timescale */
    int64_t         duration;
    unsigned        discontinuity:1; /* follows segments lost to I/O or
                                        a codec configuration change */
    uint32_t        config;          /* fMP4: its init segment's version
                                        (a new one per configuration) */
} ngx_ams_segment_t;


/* low-latency HLS: a part of a segment (a CMAF chunk, moof + mdat), a
 * byte range of its segment's file, which grows part by part */
typedef struct {
    uint64_t        seq;             /* its segment's number */
    int64_t         duration;        /* in its track's timescale */
    uint64_t        offset;          /* in the segment's file */
    uint64_t        length;
    unsigned        independent:1;   /* starts with a keyframe */
} ngx_ams_part_t;


/*
 * A write that fails (a full disk, a directory made read-only, EIO) loses
 * the segment it hit, never the stream: the writer notes it here, goes on
 * at the next segment boundary and marks the gap as a discontinuity.  The
 * caller reads "failures" after each batch to log once an episode.
 */
typedef struct {
    uint64_t        failures;        /* I/O errors so far */
    uint64_t        dropped;         /* segments they cost */
    unsigned        failing:1;       /* the last write failed */
    unsigned        gap:1;           /* the next segment listed follows
                                        a lost one */
    char            error[NGX_AMS_SEG_PATH_LEN + 128];  /* the last */
} ngx_ams_seg_io_t;


typedef struct {
    int64_t         target;          /* segment length to reach, 90 kHz */
    int64_t         start;           /* dts where the open segment began */
    int64_t         last_dts[2];     /* of each track, video and audio */
    int64_t         last_step[2];    /* the interval before it */
    unsigned        seen;            /* bit per track with a frame kept */

    /* the segment the last CUT (or ngx_ams_segmenter_finish) closed */
    int64_t         closed_start;
    int64_t         closed_end;

    unsigned        open:1;
} ngx_ams_segmenter_t;


static inline int
ngx_ams_segment_decide(const ngx_ams_frame_t *f, int open, int has_video,
    int64_t seg_start, int64_t target)
{
    int  boundary;

    boundary = (f->track == NGX_AMS_TRACK_VIDEO)
               ? (f->flags & NGX_AMS_FRAME_KEY) != 0 : !has_video;

    if (!open) {
        return boundary ? NGX_AMS_SEG_START : NGX_AMS_SEG_DROP;
    }

    return (boundary && f->dts - seg_start >= target) ? NGX_AMS_SEG_CUT
                                                      : NGX_AMS_SEG_ADD;
}


static inline void
ngx_ams_segmenter_note(ngx_ams_segmenter_t *s, const ngx_ams_frame_t *f)
{
    unsigned  t = f->track, bit = 1u << f->track;

    if (t != NGX_AMS_TRACK_VIDEO && t != NGX_AMS_TRACK_AUDIO) {
        return;
    }

    if ((s->seen & bit) && f->dts > s->last_dts[t]) {
        s->last_step[t] = f->dts - s->last_dts[t];
    }

    if (!(s->seen & bit) || f->dts > s->last_dts[t]) {
        s->last_dts[t] = f->dts;
    }

    s->seen |= bit;
}


/* where the media kept so far ends: each track's last frame lasts as long
 * as the interval before it */

static inline int64_t
ngx_ams_segmenter_end(const ngx_ams_segmenter_t *s)
{
    int64_t   end, e;
    unsigned  t;

    end = s->start;

    for (t = 0; t < 2; t++) {
        e = s->last_dts[t] + s->last_step[t];

        if ((s->seen & (1u << t)) && e > end) {
            end = e;
        }
    }

    return end;
}


static inline void
ngx_ams_segmenter_init(ngx_ams_segmenter_t *s, unsigned target_ms)
{
    s->target = (int64_t) target_ms * (NGX_AMS_TIMEBASE / 1000);
    s->open = 0;
    s->seen = 0;
}


/* one of NGX_AMS_SEG_*; a frame that is not dropped is counted as kept */

static inline int
ngx_ams_segmenter_frame(ngx_ams_segmenter_t *s, const ngx_ams_frame_t *f,
    int has_video)
{
    int  rc;

    rc = ngx_ams_segment_decide(f, s->open, has_video, s->start, s->target);

    switch (rc) {

    case NGX_AMS_SEG_DROP:
        return rc;

    case NGX_AMS_SEG_START:
        s->open = 1;
        s->start = f->dts;
        s->seen = 0;
        break;

    case NGX_AMS_SEG_CUT:
        s->closed_start = s->start;
        s->closed_end = f->dts;
        s->start = f->dts;
        break;
    }

    ngx_ams_segmenter_note(s, f);

    return rc;
}


/* at the stream's end: 1 and the open segment closed where its last
 * frame ends, or 0 when no segment was open */

static inline int
ngx_ams_segmenter_finish(ngx_ams_segmenter_t *s)
{
    if (!s->open) {
        return 0;
    }

    s->open = 0;
    s->closed_start = s->start;
    s->closed_end = ngx_ams_segmenter_end(s);

    return 1;
}


/* a segment lost to a write error: the next one listed follows a gap */

static inline void
ngx_ams_seg_io_failed(ngx_ams_seg_io_t *io, int segment_lost)
{
    io->failures++;
    io->failing = 1;

    if (segment_lost) {
        io->dropped++;
        io->gap = 1;
    }
}


/* the slot of a segment that joins a sliding window of list_size: the
 * oldest leaves when it is full, and "left" counts the discontinuity
 * tags that leave with it (EXT-X-DISCONTINUITY-SEQUENCE) */

static inline ngx_ams_segment_t *
ngx_ams_segment_list(ngx_ams_segment_t *segments, unsigned *n,
    unsigned list_size, uint64_t *left, unsigned discontinuity)
{
    ngx_ams_segment_t  *seg;

    if (*n == list_size) {
        *left += segments[0].discontinuity;
        memmove(segments, segments + 1,
                (list_size - 1) * sizeof(ngx_ams_segment_t));
        (*n)--;
    }

    seg = &segments[(*n)++];
    seg->discontinuity = discontinuity ? 1 : 0;
    seg->config = 0;

    return seg;
}


#endif /* _NGX_AMS_SEGMENT_H_INCLUDED_ */
