
/*
 * Copyright (C) nginx-ams authors
 *
 * Low-latency HLS: what a stream's CMAF writer has published, per track,
 * for the HLS gate's blocking requests in any worker (RFC 8216bis
 * 6.2.5.2, 6.2.6).  One writer (the packager's thread of the stream's
 * worker) and readers in every worker, in the bus zone (a field of
 * ngx_ams_stream_t): a seqlock, "lock" odd while the writer changes it.
 *
 * The writer publishes only after the playlists that list the new part
 * were renamed into place, so a reader that sees a part sees it in the
 * playlist and whole in its segment's file.  The decisions below (is it
 * there, is it too far ahead) are pure functions of a copy of the state,
 * unit-tested without nginx.
 */


#ifndef _NGX_AMS_LL_STATE_H_INCLUDED_
#define _NGX_AMS_LL_STATE_H_INCLUDED_


#include <stdint.h>
#include <string.h>


#define NGX_AMS_LL_TRACKS    2          /* video, audio (NGX_AMS_MP4_*) */

/* ngx_ams_ll_playlist() and ngx_ams_ll_segment() */
#define NGX_AMS_LL_READY     0          /* serve it now */
#define NGX_AMS_LL_WAIT      1          /* hold the request */
#define NGX_AMS_LL_AHEAD     2          /* too far ahead: 400 */


typedef struct {
    uint64_t            seq;            /* the open segment (being written) */
    uint64_t            bytes;          /* its parts' bytes in its file */
    uint32_t            parts;          /* its parts in the playlist */
    uint32_t            last_parts;     /* parts of the segment before it */
    uint32_t            listed;         /* a playlist of the track exists */
    uint32_t            pad;
} ngx_ams_ll_track_t;


typedef struct {
    volatile uint64_t   lock;           /* odd while written */
    uint64_t            generation;     /* the stream's, once set up */
    uint32_t            part_ms;        /* part target; 0: no parts */
    uint32_t            target_ms;      /* the playlists' target duration */
    uint32_t            ended;          /* the playlists have ENDLIST */
    uint32_t            pad;
    ngx_ams_ll_track_t  track[NGX_AMS_LL_TRACKS];
} ngx_ams_ll_state_t;


static inline void
ngx_ams_ll_write_begin(ngx_ams_ll_state_t *s)
{
    __atomic_add_fetch(&s->lock, 1, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}


static inline void
ngx_ams_ll_write_end(ngx_ams_ll_state_t *s)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    __atomic_add_fetch(&s->lock, 1, __ATOMIC_SEQ_CST);
}


/* a consistent copy: 0, or -1 when the writer kept changing it */

static inline int
ngx_ams_ll_read(const ngx_ams_ll_state_t *s, ngx_ams_ll_state_t *copy)
{
    unsigned  i;
    uint64_t  l1, l2;

    for (i = 0; i < 1000; i++) {
        l1 = __atomic_load_n(&s->lock, __ATOMIC_SEQ_CST);

        if (l1 & 1) {
            continue;
        }

        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        memcpy(copy, (const void *) s, sizeof(ngx_ams_ll_state_t));
        __atomic_thread_fence(__ATOMIC_SEQ_CST);

        l2 = __atomic_load_n(&s->lock, __ATOMIC_SEQ_CST);

        if (l1 == l2) {
            return 0;
        }
    }

    return -1;
}


/*
 * A media playlist asked for with _HLS_msn=msn and, when has_part,
 * _HLS_part=part (RFC 8216bis 6.2.5.2): ready once the playlist lists
 * segment msn (whole), or part "part" of it, or anything later; a part
 * past a segment's last is part 0 of the next.  Too far ahead: msn past
 * the last whole segment plus two, or a part more than the Advance Part
 * Limit (3 s of parts, at least 3) past the last part listed.
 */

static inline int
ngx_ams_ll_playlist(const ngx_ams_ll_state_t *s, unsigned track,
    uint64_t msn, int has_part, uint64_t part)
{
    uint64_t                   limit;
    const ngx_ams_ll_track_t  *t = &s->track[track];

    if (s->ended) {
        return NGX_AMS_LL_READY;        /* ENDLIST: directives ignored */
    }

    /* the last whole segment is t->seq - 1 */
    if (msn > t->seq + 1) {
        return NGX_AMS_LL_AHEAD;
    }

    if (!t->listed) {
        return NGX_AMS_LL_WAIT;
    }

    if (!has_part) {
        return msn < t->seq ? NGX_AMS_LL_READY : NGX_AMS_LL_WAIT;
    }

    if (msn + 1 < t->seq) {
        return NGX_AMS_LL_READY;
    }

    if (msn + 1 == t->seq) {
        /* the last whole segment: its parts, or part 0 of the open one */
        return (part < t->last_parts || t->parts > 0) ? NGX_AMS_LL_READY
                                                       : NGX_AMS_LL_WAIT;
    }

    limit = s->part_ms && s->part_ms < 1000 ? 3000 / s->part_ms : 3;

    if (msn == t->seq) {
        if (part < t->parts) {
            return NGX_AMS_LL_READY;
        }

        return part + 1 > t->parts + limit ? NGX_AMS_LL_AHEAD
                                           : NGX_AMS_LL_WAIT;
    }

    /* msn == t->seq + 1: the segment after the open one */
    return part + 1 > limit ? NGX_AMS_LL_AHEAD : NGX_AMS_LL_WAIT;
}


/*
 * Bytes from "start" (to "end" included, or to the end of the file when
 * end is -1) of segment "seq" of a track: ready when they are written
 * (the segment is whole, or the parts written cover them); *avail is then
 * the length of the file's whole parts while the segment is open (a
 * response must not send bytes of a part still being written, 6.2.6), or
 * -1 when the segment is whole.  A segment more than one past the open
 * one is no hint's (404 from the file system): ready.
 */

static inline int
ngx_ams_ll_segment(const ngx_ams_ll_state_t *s, unsigned track, uint64_t seq,
    int64_t start, int64_t end, int64_t *avail)
{
    const ngx_ams_ll_track_t  *t = &s->track[track];

    *avail = -1;

    if (s->ended || seq < t->seq || seq > t->seq + 1) {
        return NGX_AMS_LL_READY;
    }

    if (seq == t->seq + 1) {
        return NGX_AMS_LL_WAIT;         /* the hint of the next segment */
    }

    /* the open segment: bytes of whole parts only */
    if (start < 0 || (uint64_t) start >= t->bytes
        || (end >= 0 && (uint64_t) end >= t->bytes))
    {
        return NGX_AMS_LL_WAIT;
    }

    *avail = (int64_t) t->bytes;

    return NGX_AMS_LL_READY;
}


#endif /* _NGX_AMS_LL_STATE_H_INCLUDED_ */
