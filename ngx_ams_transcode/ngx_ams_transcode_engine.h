
/*
 * Copyright (C) nginx-ams authors
 *
 * The transcoding engine of one live stream, free of nginx types: bus
 * frames in (AVCC H.264, raw AAC, 90 kHz timestamps), one bus stream's
 * worth of frames out per rung.  Decodes once (libavcodec h264), scales
 * each rung from the rung above it (libswscale: the cascade is cheaper
 * than scaling every rung from the source), encodes each rung
 * (libavcodec, libx264 by default); audio is passed through, or re-encoded
 * as AAC at a rung's audioBitrate.
 *
 * Keyframe alignment: a rung's IDR frames are exactly the source's
 * keyframes (same pts), forced on the encoder; the encoder's own
 * keyframe decisions are off (scenecut 0, an infinite keyint), so the
 * packager's segmenter cuts every rung where it cuts the original.
 *
 * Context: whichever thread calls it, one at a time.
 */


#ifndef _NGX_AMS_TRANSCODE_ENGINE_H_INCLUDED_
#define _NGX_AMS_TRANSCODE_ENGINE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_ring.h"
#include "ngx_ams_handoff.h"
#include "ngx_ams_ladder.h"


#define NGX_AMS_TC_MSG_LEN     200
#define NGX_AMS_TC_MSGS        8


typedef struct ngx_ams_tc_s  ngx_ams_tc_t;


typedef struct {
    const char         *encoder;     /* "libx264", "h264_nvenc", ... */
    const char         *preset;      /* x264's; NULL or "": its default */
    const char         *profile;
    const char         *tune;
    unsigned            keyint_ms;   /* 0: IDRs only at source keyframes;
                                        else also after this long */
    unsigned            threads;     /* per encoder, 0: the encoder's */
} ngx_ams_tc_opts_t;


/*
 * What a rung produces, as a hand-off message: CONFIG (avcC or the
 * source's AudioSpecificConfig), FRAME, or EOS when the rung is gone (its
 * encoder did not open): the caller ends that rung's stream.
 */
typedef void (*ngx_ams_tc_out_pt)(void *data, unsigned rung,
    const ngx_ams_handoff_msg_t *msg);


typedef struct {
    uint64_t            frames_in;       /* video frames given */
    uint64_t            decoded;
    uint64_t            encoded;         /* frames out, all rungs */
    uint64_t            decode_errors;   /* each began a resync */
    uint64_t            concealed;       /* damaged, encoded as decoded */
    uint64_t            resync_dropped;  /* video frames before a key */
    uint64_t            not_opened;      /* encoders that failed to open */
    uint64_t            reopened;        /* encoders re-opened: a new size
                                            or a timeline that jumped */
    uint64_t            latency_samples;
} ngx_ams_tc_stats_t;


/* NULL with a message in "err" */
ngx_ams_tc_t *ngx_ams_tc_create(const ngx_ams_tc_opts_t *opts,
    const ngx_ams_rung_t *rungs, unsigned n, ngx_ams_tc_out_pt out,
    void *data, char *err, size_t err_len);

/* a track's codec configuration (CONFIG event): a new avcC re-opens the
 * decoder at the next keyframe */
void ngx_ams_tc_config(ngx_ams_tc_t *tc, unsigned track, uint32_t codec,
    const uint8_t *data, size_t len);

/* a frame; "arrival" (ns, any monotonic clock) is when it reached the
 * bus, for the latency figures */
void ngx_ams_tc_frame(ngx_ams_tc_t *tc, const ngx_ams_frame_t *frame,
    const uint8_t *data, int64_t arrival);

/* frames were lost (an overrun, frames dropped by the caller): decode
 * again from the next keyframe */
void ngx_ams_tc_resync(ngx_ams_tc_t *tc);

/* a rung's output is no longer wanted: it is not encoded any more */
void ngx_ams_tc_rung_stop(ngx_ams_tc_t *tc, unsigned rung);

/* the source ended: what the encoders hold, then what audio waits */
void ngx_ams_tc_flush(ngx_ams_tc_t *tc, int64_t now);

/* "now" on the clock of "arrival", for the latency samples */
void ngx_ams_tc_set_clock(ngx_ams_tc_t *tc, int64_t (*now)(void));

void ngx_ams_tc_stats(ngx_ams_tc_t *tc, ngx_ams_tc_stats_t *st);

/* arrival to encoded on every rung, in ms: 0 with the figures, -1 with
 * no samples */
int ngx_ams_tc_latency(ngx_ams_tc_t *tc, double *median, double *p99);

/* messages for the log since the last call (fallbacks, encoders that
 * did not open, size changes): how many, each in msgs[i] */
unsigned ngx_ams_tc_messages(ngx_ams_tc_t *tc,
    char msgs[][NGX_AMS_TC_MSG_LEN]);

void ngx_ams_tc_destroy(ngx_ams_tc_t *tc);


#endif /* _NGX_AMS_TRANSCODE_ENGINE_H_INCLUDED_ */
