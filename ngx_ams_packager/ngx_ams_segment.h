
/*
 * Copyright (C) nginx-ams authors
 *
 * Where segments are cut, the same for HLS and DASH: a segment starts on
 * a video keyframe (on any audio frame when there is no video) and the
 * next one starts at the first such frame once the target length passed.
 */


#ifndef _NGX_AMS_SEGMENT_H_INCLUDED_
#define _NGX_AMS_SEGMENT_H_INCLUDED_


#include "ngx_ams_ring.h"


#define NGX_AMS_SEG_DROP    0    /* before the first segment: not kept */
#define NGX_AMS_SEG_ADD     1    /* goes into the open segment */
#define NGX_AMS_SEG_START   2    /* starts the first segment */
#define NGX_AMS_SEG_CUT     3    /* ends the open segment, starts the next */


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


#endif /* _NGX_AMS_SEGMENT_H_INCLUDED_ */
