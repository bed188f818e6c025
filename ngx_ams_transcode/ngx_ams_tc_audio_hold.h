
/*
 * Copyright (C) nginx-ams authors
 *
 * The engine's audio waiting for video, free of nginx types: a queue
 * bounded in time (behind the largest timestamp queued), in frames and
 * in bytes, whatever the timestamps say.  The engine decides how far
 * video has gone; the queue says which frames are due.
 */


#ifndef _NGX_AMS_TC_AUDIO_HOLD_H_INCLUDED_
#define _NGX_AMS_TC_AUDIO_HOLD_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_ring.h"


#define NGX_AMS_TC_AUDIO_HOLD    (3 * NGX_AMS_TIMEBASE)
#define NGX_AMS_TC_AUDIO_FRAMES  512
#define NGX_AMS_TC_AUDIO_BYTES   (1024 * 1024)


typedef struct ngx_ams_tc_audio_s  ngx_ams_tc_audio_t;

struct ngx_ams_tc_audio_s {
    ngx_ams_tc_audio_t     *next;
    ngx_ams_frame_t         frame;
    uint8_t                 data[];
};


typedef struct {
    ngx_ams_tc_audio_t     *head;          /* oldest first */
    ngx_ams_tc_audio_t    **last;
    unsigned                n;
    size_t                  bytes;
    int64_t                 newest;        /* the largest dts queued */
} ngx_ams_tc_hold_t;


void ngx_ams_tc_hold_init(ngx_ams_tc_hold_t *h);

/* a copy of the frame, last; -1 out of memory */
int ngx_ams_tc_hold_push(ngx_ams_tc_hold_t *h, const ngx_ams_frame_t *f,
    const uint8_t *data);

/* the oldest frame, out of the queue, when it is due: "all", or its dts
 * is at most "upto" (where video has gone), or it is NGX_AMS_TC_AUDIO_HOLD
 * behind the newest, or the queue is over its bounds; else NULL.  The
 * caller frees it (free()). */
ngx_ams_tc_audio_t *ngx_ams_tc_hold_due(ngx_ams_tc_hold_t *h, int64_t upto,
    int all);

void ngx_ams_tc_hold_free(ngx_ams_tc_hold_t *h);


#endif /* _NGX_AMS_TC_AUDIO_HOLD_H_INCLUDED_ */
