
/*
 * Copyright (C) nginx-ams authors
 *
 * DASH MPD text (ISO/IEC 23009-1, DASH-IF live profile): one period, an
 * AdaptationSet per kind (consecutive representations of the same kind
 * share one: the rungs of an adaptive stream), each representation a
 * SegmentTemplate with a SegmentTimeline over a plain list of segments.
 * Dynamic while live, static once ended.  A live MPD says where players
 * read this node's clock (UTCTiming): the time endpoint (http-iso), then
 * the MPD's own time (direct) should that fail.  Appends to a buffer; no
 * files, no clock, free of nginx types, so the text is unit-tested as it
 * is.
 */


#ifndef _NGX_AMS_MPD_H_INCLUDED_
#define _NGX_AMS_MPD_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ngx_ams_ts_mux.h"
#include "ngx_ams_segment.h"


typedef struct {
    const char           *id;            /* "video" or "audio" */
    unsigned              video:1;
    const char           *codecs;        /* RFC 6381 */
    uint64_t              bandwidth;     /* bits/s */
    unsigned              width;         /* video */
    unsigned              height;
    unsigned              fps_num;       /* frameRate, when not 0 */
    unsigned              fps_den;
    unsigned              sample_rate;   /* audio */
    unsigned              channels;

    uint32_t              timescale;
    int64_t               offset;        /* presentationTimeOffset */
    const char           *init;          /* initialization URI */
    const char           *media;         /* media URI with $Number$ */
    const ngx_ams_segment_t  *segments; /* numbered without gaps */
    size_t                nsegments;
} ngx_ams_mpd_representation_t;


typedef struct {
    unsigned              ended:1;       /* static, else dynamic */
    int64_t               available_ms;  /* availabilityStartTime: the
                                            wall clock (ms since the
                                            epoch) of presentation time 0 */
    int64_t               published_ms;  /* publishTime, and the time of
                                            UTCTiming direct */
    int64_t               duration_ms;   /* mediaPresentationDuration */
    int64_t               segment_ms;    /* the target segment length */
    unsigned              list_size;     /* segments in the timeline */
    const char           *utc_timing;    /* the time endpoint's URL
                                            (http-iso), NULL: direct only */
    double                availability_time_offset;  /* seconds a segment
                                            is available before its end
                                            (low-latency DASH); 0: none */
    int64_t               latency_ms;    /* ServiceDescription's Latency
                                            target (low-latency DASH);
                                            0: none */
    int64_t               update_ms;     /* minimumUpdatePeriod; 0: one
                                            segment */
} ngx_ams_mpd_t;


/* 0, or -1 when out of memory */
int ngx_ams_mpd_write(ngx_ams_buf_t *out, const ngx_ams_mpd_t *mpd,
    const ngx_ams_mpd_representation_t *r, size_t n);

/* a dynamic MPD of ours read back from disk, for a stream that ended
 * without us (its worker died): 1 with "out" holding it static, its
 * duration taken from the timelines; 0 when it is static already; -1 when
 * it is not an MPD of ours or memory ran out */
int ngx_ams_mpd_close(ngx_ams_buf_t *out, const char *text, size_t len);


#endif /* _NGX_AMS_MPD_H_INCLUDED_ */
