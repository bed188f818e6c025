
/*
 * Copyright (C) nginx-ams authors
 *
 * HLS playlist text (RFC 8216): a media playlist from a plain list of
 * segments, the master playlist of a CMAF stream (video, with audio as
 * an alternative rendition), and an adaptive master over variants.
 * Appends to a buffer; no files, no clock, free of nginx types, so the
 * text is unit-tested as it is.
 */


#ifndef _NGX_AMS_M3U8_H_INCLUDED_
#define _NGX_AMS_M3U8_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_ts_mux.h"
#include "ngx_ams_segment.h"


typedef struct {
    unsigned              version;       /* 3 for MPEG-TS, 7 with a map */
    uint32_t              timescale;     /* of the durations */
    int64_t               target;        /* the least target duration */
    const char           *map;           /* EXT-X-MAP URI, or NULL: a
                                            segment of config n > 0 has
                                            the map "{map less .mp4}_{n}
                                            .mp4", written again before
                                            the first such segment */

    /* a segment's URI: prefix, seq zero-padded to digits, suffix */
    const char           *prefix;
    unsigned              digits;
    const char           *suffix;

    /* discontinuity tags that left the window: EXT-X-DISCONTINUITY-SEQUENCE
     * (RFC 8216, 4.3.3.3), written when not 0 */
    uint64_t              discontinuity_seq;

    unsigned              ended:1;       /* EXT-X-ENDLIST */

    /* EXT-X-PROGRAM-DATE-TIME of the first segment and of each after a
     * discontinuity: the wall clock (ms since the epoch) when the media
     * time "pdt_start" (timescale) was captured; 0: none.  Players align
     * an audio rendition with the video by it (hls.js does, by the
     * sequence number otherwise, which slips a segment when one playlist
     * is read just after the window slid and the other just before) */
    int64_t               pdt_ms;
    int64_t               pdt_start;

    /* low-latency HLS (RFC 8216bis): when part_target is not 0, the
     * parts of the listed segments and of the open one ("open_seq", the
     * segment being written, whose next part starts at "hint_offset" of
     * its file) with EXT-X-PART-INF, EXT-X-SERVER-CONTROL (blocking
     * reload) and EXT-X-PRELOAD-HINT */
    int64_t               part_target;   /* timescale */
    const ngx_ams_part_t *parts;         /* oldest first */
    size_t                nparts;
    uint64_t              open_seq;
    uint64_t              hint_offset;
    unsigned              open_discontinuity:1; /* the open segment
                                            follows a configuration change */
    uint32_t              open_config;
} ngx_ams_m3u8_media_t;


typedef struct {
    const char           *uri;           /* media playlist; NULL: none */
    const char           *codecs;        /* RFC 6381 */
    uint64_t              bandwidth;     /* bits/s, peak */
    unsigned              width;         /* video */
    unsigned              height;
    unsigned              channels;      /* audio */
} ngx_ams_m3u8_rendition_t;


/* a variant of an adaptive master playlist */
typedef struct {
    const char           *uri;
    const char           *codecs;        /* video and audio, RFC 6381 */
    uint64_t              bandwidth;     /* bits/s, the busiest segment,
                                            the audio rendition's included */
    uint64_t              average;       /* bits/s; 0: not stated */
    unsigned              width;
    unsigned              height;
    unsigned              fps_milli;     /* frames per 1000 s; 0: none */
} ngx_ams_m3u8_variant_t;


/* each returns 0, or -1 when out of memory */
int ngx_ams_m3u8_media(ngx_ams_buf_t *out, const ngx_ams_m3u8_media_t *pl,
    const ngx_ams_segment_t *segments, size_t n);
int ngx_ams_m3u8_master(ngx_ams_buf_t *out,
    const ngx_ams_m3u8_rendition_t *video,
    const ngx_ams_m3u8_rendition_t *audio);
/* variants in the order given; "audio" (its uri may be NULL: none) is
 * the rendition every variant plays its audio from */
int ngx_ams_m3u8_variants(ngx_ams_buf_t *out,
    const ngx_ams_m3u8_variant_t *v, size_t n,
    const ngx_ams_m3u8_rendition_t *audio);

/* a playlist read back from disk, for a stream that ended without us (its
 * worker died): 1 with "out" holding it ended (EXT-X-ENDLIST), 0 when it
 * needs nothing (a master, or ended already), -1 when it is not a
 * playlist or memory ran out */
int ngx_ams_m3u8_close(ngx_ams_buf_t *out, const char *text, size_t len);


#endif /* _NGX_AMS_M3U8_H_INCLUDED_ */
