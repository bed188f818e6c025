
/*
 * Copyright (C) nginx-ams authors
 *
 * WebRTC play (WHEP): a bus stream sent to a browser as RTP.
 *
 * Which stream: a viewer of {id} reads {id}_opus when it is live (the
 * audio transform's companion, Opus audio); else {id} when its audio is
 * Opus or it has none; else it starts the transform {id} -> {id}_opus
 * (looked up in the process, so the transcoder stays optional; without
 * it the viewer gets video alone) and waits for it a few seconds.
 *
 * The reader is an immediate one: every frame is packetized as it
 * arrives (H.264: STAP-A with SPS/PPS from the avcC before each IDR,
 * FU-A; Opus: one packet per frame), protected, kept (encrypted) for
 * NACKs and sent.  On connection the reader joins at the GOP cache's
 * keyframe; that backlog is sent at once, stamped a millisecond apart
 * and just before the live edge, so the browser decodes the whole GOP
 * and shows the newest picture at once instead of playing the GOP out
 * late (its audio is dropped).  From then on RTP time is bus time
 * (video: pts at 90 kHz, audio: 48 kHz) plus a per-track offset.
 *
 * B-frames: a frame the decoder does not keep (nal_ref_idc 0) whose
 * slice is B is dropped, counted and logged once; WebRTC decoders do
 * not reorder.  Reference B-frames (x264's B-pyramid) cannot be dropped
 * without breaking the pictures that use them: they are sent, and such
 * sources should be published without B-frames.
 *
 * RTCP: SR + SDES per SSRC every second; NACK answered from the history;
 * PLI/FIR passed to the source as a keyframe request (at most every
 * 500 ms: a WebRTC publisher sends one, an RTMP source cannot and the
 * request is a no-op); REMB and the RRs' loss go to the rung choice.
 *
 * Rungs: the video may move to a transcoder's rung and back on the same
 * SSRC, sequence and clock (ngx_ams_webrtc_rung.c decides which
 * reader's video goes out; this file packetizes it).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_media.h"
#include "ngx_ams_rtp.h"
#include "ngx_ams_rtcp.h"
#include "ngx_ams_rtp_h264.h"
#include "ngx_ams_avc.h"
#include "ngx_ams_viewers.h"
#include "ngx_ams_viewer_limits.h"
#include "ngx_ams_audio_transform.h"
#include "ngx_ams_webrtc_rung.h"


/* packets kept for NACKs: ~0.5 s of video at 4 Mb/s */
#define NGX_AMS_WEBRTC_PLAY_HISTORY       256
/* the companion {id}_opus must be live by then, or video alone */
#define NGX_AMS_WEBRTC_PLAY_COMPANION_WAIT  5000     /* ms */
/* packets per run while the GOP backlog goes out, then a 1 ms pause so
 * the socket drains */
#define NGX_AMS_WEBRTC_PLAY_BURST         128
/* retransmissions a viewer may ask for per second: a NACK storm costs
 * its own session this much, never the worker */
#define NGX_AMS_WEBRTC_PLAY_RESEND_MAX    1000
/* catch-up frames are this far apart in RTP time (90 kHz) */
#define NGX_AMS_WEBRTC_PLAY_CATCHUP_STEP  90


#define NGX_AMS_WEBRTC_PLAY_DIRECT        0   /* read {id} */
#define NGX_AMS_WEBRTC_PLAY_COMPANION     1   /* read {id}_opus */
#define NGX_AMS_WEBRTC_PLAY_TRANSFORM     2   /* start it, then read it */


typedef ngx_int_t (*ngx_ams_webrtc_transform_start_pt)(ngx_str_t *app,
    ngx_str_t *name, ngx_str_t *out, ngx_uint_t codec, ngx_uint_t bitrate,
    ngx_log_t *log);


typedef struct {
    ngx_ams_webrtc_session_t  *session;
    ngx_ams_reader_t           reader;
    ngx_uint_t                 mode;          /* NGX_AMS_WEBRTC_PLAY_* */
    ngx_str_t                  name;          /* what the reader reads */
    ngx_str_t                  companion;     /* {id}_opus */
    u_char                     companion_data[NGX_AMS_NAME_LEN];

    ngx_event_t                rtcp_timer;
    ngx_event_t                wait_timer;    /* the companion's */
    ngx_event_t                pump_timer;    /* catch-up pacing */

    ngx_ams_rtp_history_t     *history;       /* video, encrypted */
    ngx_ams_viewer_ticket_t    viewer;        /* counted on {id} */
    ngx_ams_webrtc_rung_t     *rung;          /* the video's rung */

    /* the video track's avcC (a copy: events' bytes do not last) */
    u_char                     avcc[NGX_AMS_CONFIG_MAX];
    ngx_ams_avc_config_t       avc;

    uint16_t                   video_seq;
    uint32_t                   video_offset;  /* RTP = pts + this */
    uint32_t                   video_ts;      /* last sent */
    int64_t                    video_pts;
    uint32_t                   video_packets; /* for SR */
    uint32_t                   video_octets;

    uint16_t                   audio_seq;
    uint32_t                   audio_offset;  /* RTP = dts*48/90 + this */
    uint32_t                   audio_packets;
    uint32_t                   audio_octets;

    /* bus time of the last frame sent and when: SR's RTP times */
    int64_t                    anchor_pts;
    uint64_t                   anchor_usec;

    ngx_msec_t                 keyframe_asked;
    uint64_t                   remb;          /* the viewer's estimate */

    ngx_uint_t                 frames;
    ngx_uint_t                 packets_dropped;
    ngx_uint_t                 b_dropped;
    ngx_uint_t                 skipped;
    ngx_uint_t                 torn;
    ngx_uint_t                 nacked;
    ngx_uint_t                 resent;
    ngx_uint_t                 resend_budget;
    ngx_msec_t                 resend_second;

    unsigned                   waiting:1;     /* for the stream to open */
    unsigned                   connected:1;
    unsigned                   started:1;     /* a keyframe went out */
    unsigned                   catchup:1;
    unsigned                   keyframe_ever:1;
    unsigned                   anchored:1;
    unsigned                   no_h264_logged:1;
    unsigned                   ref_b_logged:1;

    u_char                     packet[NGX_AMS_WEBRTC_PACKET_SIZE];
} ngx_ams_webrtc_play_t;


static void ngx_ams_webrtc_play_open(ngx_ams_webrtc_play_t *pl);
static void ngx_ams_webrtc_play_handler(ngx_ams_reader_t *rd);
static void ngx_ams_webrtc_play_wait_expired(ngx_event_t *ev);
static void ngx_ams_webrtc_play_pump_event(ngx_event_t *ev);
static void ngx_ams_webrtc_play_pump(ngx_ams_webrtc_play_t *pl);
static void ngx_ams_webrtc_play_config(ngx_ams_webrtc_play_t *pl,
    ngx_ams_bus_event_t *ev);
static ngx_uint_t ngx_ams_webrtc_play_video(ngx_ams_webrtc_play_t *pl,
    ngx_ams_bus_event_t *ev, ngx_ams_avc_config_t *avc);
static ngx_uint_t ngx_ams_webrtc_play_rung_video(ngx_ams_webrtc_session_t *s,
    ngx_ams_bus_event_t *ev, ngx_ams_avc_config_t *avc);
static ngx_uint_t ngx_ams_webrtc_play_audio(ngx_ams_webrtc_play_t *pl,
    ngx_ams_bus_event_t *ev);
static size_t ngx_ams_webrtc_play_header(ngx_ams_webrtc_play_t *pl,
    uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc);
static void ngx_ams_webrtc_play_send(ngx_ams_webrtc_play_t *pl, size_t len,
    ngx_uint_t video);
static ngx_uint_t ngx_ams_webrtc_play_disposable(ngx_ams_webrtc_play_t *pl,
    ngx_ams_avc_config_t *avc, const u_char *p, size_t len);
static void ngx_ams_webrtc_play_keyframe(ngx_ams_webrtc_play_t *pl);
static void ngx_ams_webrtc_play_rtcp_timer(ngx_event_t *ev);


ngx_int_t
ngx_ams_webrtc_play_prepare(ngx_ams_webrtc_session_t *s,
    uint32_t *profile_level_id)
{
    uint32_t                codec, len, version;
    ngx_ams_ring_t         *ring;
    ngx_ams_stream_t       *st;
    ngx_ams_webrtc_play_t  *pl;

    st = ngx_ams_bus_find(&s->app_name, &s->stream_id);
    if (st == NULL) {
        return NGX_DECLINED;
    }

    /* the broadcast's webRTCViewerLimit: new players only */
    if (ngx_ams_webrtc_viewer_limit_reached(&s->app_name, &s->stream_id)) {
        return NGX_ABORT;
    }

    pl = ngx_pcalloc(s->pool, sizeof(ngx_ams_webrtc_play_t));
    if (pl == NULL) {
        return NGX_ERROR;
    }

    pl->session = s;
    pl->name = s->stream_id;
    pl->mode = NGX_AMS_WEBRTC_PLAY_DIRECT;

    /* the avcC's profile_idc, constraint flags and level_idc are the
     * SDP's profile-level-id; pl->avcc is scratch room until start */
    ring = __atomic_load_n(&st->ring, __ATOMIC_ACQUIRE);

    if (ngx_ams_ring_get_config(ring, NGX_AMS_TRACK_VIDEO, &codec, pl->avcc,
                                &len, &version)
        == NGX_AMS_RING_OK
        && codec == NGX_AMS_CODEC_H264 && len >= 4)
    {
        *profile_level_id = ((uint32_t) pl->avcc[1] << 16)
                            | ((uint32_t) pl->avcc[2] << 8) | pl->avcc[3];
    }

    if (s->stream_id.len + sizeof(NGX_AMS_AUDIO_OPUS_SUFFIX)
        <= NGX_AMS_NAME_LEN)
    {
        pl->companion.data = pl->companion_data;
        pl->companion.len = ngx_sprintf(pl->companion_data,
                                        "%V" NGX_AMS_AUDIO_OPUS_SUFFIX,
                                        &s->stream_id)
                            - pl->companion_data;

        if (ngx_ams_bus_find(&s->app_name, &pl->companion) != NULL) {
            pl->mode = NGX_AMS_WEBRTC_PLAY_COMPANION;

        } else if (ngx_ams_ring_get_config(ring, NGX_AMS_TRACK_AUDIO, &codec,
                                           pl->avcc, &len, &version)
                   == NGX_AMS_RING_OK
                   && len > 0 && codec != NGX_AMS_CODEC_OPUS)
        {
            pl->mode = NGX_AMS_WEBRTC_PLAY_TRANSFORM;
        }
    }

    s->media = pl;

    return NGX_OK;
}


ngx_int_t
ngx_ams_webrtc_play_start(ngx_ams_webrtc_session_t *s)
{
    ngx_int_t                           rc;
    ngx_ams_webrtc_play_t              *pl = s->media;
    ngx_ams_webrtc_transform_start_pt   start;

    if (s->sel.video < 0 && s->sel.audio < 0) {
        return NGX_ERROR;
    }

    if (s->sel.video >= 0) {
        pl->history = ngx_ams_rtp_history_create(
                                              NGX_AMS_WEBRTC_PLAY_HISTORY);
        if (pl->history == NULL) {
            return NGX_ERROR;
        }

        pl->rung = ngx_ams_webrtc_rung_create(s,
                                          ngx_ams_webrtc_play_rung_video);
        if (pl->rung == NULL) {
            return NGX_ERROR;
        }
    }

    pl->video_seq = (uint16_t) ngx_ams_webrtc_random32();
    pl->audio_seq = (uint16_t) ngx_ams_webrtc_random32();
    pl->video_offset = ngx_ams_webrtc_random32();
    pl->video_ts = pl->video_offset;
    pl->audio_offset = ngx_ams_webrtc_random32();

    pl->reader.latency = NGX_AMS_LATENCY_IMMEDIATE;
    pl->reader.handler = ngx_ams_webrtc_play_handler;
    pl->reader.data = pl;

    pl->rtcp_timer.handler = ngx_ams_webrtc_play_rtcp_timer;
    pl->rtcp_timer.data = pl;
    pl->rtcp_timer.log = &s->log;
    pl->rtcp_timer.cancelable = 1;

    pl->wait_timer.handler = ngx_ams_webrtc_play_wait_expired;
    pl->wait_timer.data = pl;
    pl->wait_timer.log = &s->log;
    pl->wait_timer.cancelable = 1;

    pl->pump_timer.handler = ngx_ams_webrtc_play_pump_event;
    pl->pump_timer.data = pl;
    pl->pump_timer.log = &s->log;
    pl->pump_timer.cancelable = 1;

    if (pl->mode == NGX_AMS_WEBRTC_PLAY_TRANSFORM && s->sel.audio < 0) {
        /* no audio agreed: nothing to convert */
        pl->mode = NGX_AMS_WEBRTC_PLAY_DIRECT;
    }

    if (pl->mode == NGX_AMS_WEBRTC_PLAY_TRANSFORM) {
        start = (ngx_ams_webrtc_transform_start_pt)
                    ngx_ams_webrtc_transcoder_symbol(
                                           "ngx_ams_audio_transform_start");

        if (start == NULL) {
            ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                          "ams webrtc: session %s: \"%V\" has AAC audio and "
                          "the transcoder is not loaded: video only",
                          s->id, &s->stream_id);
            pl->mode = NGX_AMS_WEBRTC_PLAY_DIRECT;

        } else {
            rc = start(&s->app_name, &s->stream_id, &pl->companion,
                       NGX_AMS_CODEC_OPUS, 0, &s->log);

            /* NGX_BUSY: another viewer started it a moment ago */
            if (rc == NGX_OK || rc == NGX_BUSY) {
                pl->mode = NGX_AMS_WEBRTC_PLAY_COMPANION;
                ngx_add_timer(&pl->wait_timer,
                              NGX_AMS_WEBRTC_PLAY_COMPANION_WAIT);

            } else {
                ngx_log_error(NGX_LOG_WARN, &s->log, 0,
                              "ams webrtc: session %s: no Opus companion "
                              "for \"%V\": video only", s->id,
                              &s->stream_id);
                pl->mode = NGX_AMS_WEBRTC_PLAY_DIRECT;
            }
        }
    }

    if (pl->mode == NGX_AMS_WEBRTC_PLAY_COMPANION) {
        pl->name = pl->companion;
    }

    pl->waiting = 1;

    rc = ngx_ams_reader_wait(&pl->reader, &s->app_name, &pl->name, &s->log);

    if (rc == NGX_ERROR) {
        pl->waiting = 0;
        return NGX_ERROR;
    }

    if (rc == NGX_OK) {
        ngx_ams_webrtc_play_open(pl);
    }

    return NGX_OK;
}


static void
ngx_ams_webrtc_play_open(ngx_ams_webrtc_play_t *pl)
{
    pl->waiting = 0;

    if (pl->wait_timer.timer_set) {
        ngx_del_timer(&pl->wait_timer);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, &pl->session->log, 0,
                   "ams webrtc: session %s reads \"%V\"", pl->session->id,
                   &pl->name);
}


/* Context: the bus woke this worker: news, the end, or the stream we
 * waited for is open */

static void
ngx_ams_webrtc_play_handler(ngx_ams_reader_t *rd)
{
    ngx_ams_webrtc_play_t  *pl = rd->data;

    if (pl->waiting) {
        ngx_ams_webrtc_play_open(pl);
    }

    if (pl->connected && !pl->pump_timer.timer_set) {
        ngx_ams_webrtc_play_pump(pl);
    }
}


/* the companion did not come: the source itself, video alone */

static void
ngx_ams_webrtc_play_wait_expired(ngx_event_t *ev)
{
    ngx_ams_webrtc_play_t     *pl = ev->data;
    ngx_ams_webrtc_session_t  *s = pl->session;

    if (!pl->waiting) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, &s->log, 0,
                  "ams webrtc: session %s: \"%V\" not live after %d ms: "
                  "\"%V\" without audio", s->id, &pl->name,
                  NGX_AMS_WEBRTC_PLAY_COMPANION_WAIT, &s->stream_id);

    ngx_ams_reader_close(&pl->reader);

    pl->mode = NGX_AMS_WEBRTC_PLAY_DIRECT;
    pl->name = s->stream_id;

    if (ngx_ams_reader_wait(&pl->reader, &s->app_name, &pl->name, &s->log)
        == NGX_OK)
    {
        ngx_ams_webrtc_play_open(pl);

        if (pl->connected) {
            ngx_ams_webrtc_play_pump(pl);
        }
    }
}


void
ngx_ams_webrtc_play_connected(ngx_ams_webrtc_session_t *s)
{
    ngx_ams_webrtc_play_t  *pl = s->media;

    pl->connected = 1;
    pl->catchup = 1;

    /* the reader opened at the answer; join again now, at the newest
     * keyframe, so the backlog is one GOP at most */
    if (pl->reader.open) {
        ngx_ams_reader_close(&pl->reader);

        if (ngx_ams_reader_open(&pl->reader, &s->app_name, &pl->name,
                                &s->log)
            != NGX_OK)
        {
            pl->waiting = 1;

            if (ngx_ams_reader_wait(&pl->reader, &s->app_name, &pl->name,
                                    &s->log)
                == NGX_OK)
            {
                ngx_ams_webrtc_play_open(pl);
            }
        }
    }

    /* a viewer from DTLS on, until the session ends (any way) */
    if (pl->viewer.stream == NULL) {
        (void) ngx_ams_webrtc_viewer_join(&s->app_name, &s->stream_id,
                                          &pl->viewer);
    }

    ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                  "ams webrtc: session %s plays \"%V/%V\"%s", s->id,
                  &s->app_name, &pl->name,
                  pl->waiting ? ", waiting for it" : "");

    ngx_add_timer(&pl->rtcp_timer, NGX_AMS_WEBRTC_RTCP_INTERVAL);

    /* a WebRTC source sends a fresh keyframe; others ignore it */
    ngx_ams_webrtc_play_keyframe(pl);

    if (pl->reader.open) {
        ngx_ams_webrtc_play_pump(pl);
    }

    if (pl->rung && !s->closing) {
        ngx_ams_webrtc_rung_connected(pl->rung);
    }
}


static void
ngx_ams_webrtc_play_pump_event(ngx_event_t *ev)
{
    ngx_ams_webrtc_play_pump(ev->data);
}


/*
 * Everything the reader has, as RTP.  The frame's bytes are used in the
 * ring (peek/commit): a viewer at the live edge cannot be overrun while
 * one frame is packetized; one that was (commit says so) has sent a torn
 * frame, which its decoder reports with a PLI.
 */

static void
ngx_ams_webrtc_play_pump(ngx_ams_webrtc_play_t *pl)
{
    ngx_uint_t                 sent;
    ngx_ams_bus_event_t        ev;
    ngx_ams_webrtc_session_t  *s = pl->session;

    sent = 0;

    for ( ;; ) {

        if (!pl->reader.open || s->closing) {
            return;
        }

        if (pl->catchup && sent >= NGX_AMS_WEBRTC_PLAY_BURST) {
            /* the rest of the GOP after a pause: the socket drains */
            ngx_add_timer(&pl->pump_timer, 1);
            return;
        }

        if (ngx_ams_reader_peek(&pl->reader, &ev) != NGX_OK) {
            break;
        }

        switch (ev.type) {

        case NGX_AMS_EVENT_END:
            ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                          "ams webrtc: session %s: \"%V\" ended after %ui "
                          "frames", s->id, &pl->name, pl->frames);
            ngx_ams_webrtc_session_close(s, "stream ended");
            return;

        case NGX_AMS_EVENT_SKIP:
            /* the reader moved to a keyframe: carry on from there */
            pl->skipped += ev.dropped;
            continue;

        case NGX_AMS_EVENT_CONFIG:
            ngx_ams_webrtc_play_config(pl, &ev);
            (void) ngx_ams_reader_commit(&pl->reader, &ev);
            continue;

        default: /* NGX_AMS_EVENT_FRAME */
            break;
        }

        if (ev.track == NGX_AMS_TRACK_VIDEO) {
            if (pl->rung == NULL || ngx_ams_webrtc_rung_main(pl->rung, &ev)) {
                sent += ngx_ams_webrtc_play_video(pl, &ev, &pl->avc);
            }

        } else if (ev.track == NGX_AMS_TRACK_AUDIO) {
            sent += ngx_ams_webrtc_play_audio(pl, &ev);
        }

        if (s->closing) {
            return;
        }

        if (ngx_ams_reader_commit(&pl->reader, &ev) != NGX_OK) {
            pl->torn++;
            continue;
        }

        pl->frames++;
    }

    if (pl->catchup) {
        /* the backlog is out: live frames follow the last one sent at
         * their own spacing */
        pl->catchup = 0;

        if (pl->started) {
            pl->video_offset = pl->video_ts - (uint32_t) pl->video_pts;
        }

        ngx_log_debug2(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                       "ams webrtc: session %s at the live edge after %ui "
                       "frames", s->id, pl->frames);
    }
}


static void
ngx_ams_webrtc_play_config(ngx_ams_webrtc_play_t *pl, ngx_ams_bus_event_t *ev)
{
    const char                *err;
    ngx_ams_webrtc_session_t  *s = pl->session;

    if (ev->track != NGX_AMS_TRACK_VIDEO) {
        /* Opus needs nothing out of band; AAC is not sent */
        return;
    }

    ngx_memzero(&pl->avc, sizeof(ngx_ams_avc_config_t));

    if (ev->codec != NGX_AMS_CODEC_H264 || ev->len == 0
        || ev->len > sizeof(pl->avcc))
    {
        if (!pl->no_h264_logged) {
            pl->no_h264_logged = 1;
            ngx_log_error(NGX_LOG_WARN, &s->log, 0,
                          "ams webrtc: session %s: \"%V\" video is not "
                          "H.264: not sent", s->id, &pl->name);
        }

        return;
    }

    ngx_memcpy(pl->avcc, ev->data, ev->len);

    if (ngx_ams_avc_parse_config(pl->avcc, ev->len, &pl->avc, &err) != 0
        || pl->avc.nsps == 0 || pl->avc.npps == 0)
    {
        ngx_log_error(NGX_LOG_WARN, &s->log, 0,
                      "ams webrtc: session %s: \"%V\" avcC unusable: %s",
                      s->id, &pl->name,
                      pl->avc.nsps ? err : "no SPS/PPS");
        ngx_memzero(&pl->avc, sizeof(ngx_ams_avc_config_t));
        return;
    }

    /* the stream changed (a republish, new encoder settings): the next
     * picture sent is a keyframe carrying the new SPS/PPS */
    pl->started = 0;
}


/* a rung's video frame, with the rung's SPS/PPS */

static ngx_uint_t
ngx_ams_webrtc_play_rung_video(ngx_ams_webrtc_session_t *s,
    ngx_ams_bus_event_t *ev, ngx_ams_avc_config_t *avc)
{
    return ngx_ams_webrtc_play_video(s->media, ev, avc);
}


ngx_int_t
ngx_ams_webrtc_play_quality(ngx_ams_webrtc_session_t *s, ngx_uint_t height)
{
    ngx_ams_webrtc_play_t  *pl = s->media;

    if (s->direction != NGX_AMS_WEBRTC_PLAY || pl == NULL
        || pl->rung == NULL)
    {
        return NGX_DECLINED;
    }

    return ngx_ams_webrtc_rung_select(pl->rung, height);
}


/* one video frame, "avc" the SPS/PPS of its stream: its packets (count
 * returned) */

static ngx_uint_t
ngx_ams_webrtc_play_video(ngx_ams_webrtc_play_t *pl, ngx_ams_bus_event_t *ev,
    ngx_ams_avc_config_t *avc)
{
    int                         n;
    size_t                      hlen;
    int64_t                     pts;
    uint32_t                    ts;
    unsigned                    marker;
    ngx_uint_t                  key, sent;
    ngx_ams_h264_packetizer_t   pk;
    ngx_ams_webrtc_session_t   *s = pl->session;

    if (s->sel.video < 0 || avc->nsps == 0
        || ev->codec != NGX_AMS_CODEC_H264)
    {
        return 0;
    }

    key = ev->frame.flags & NGX_AMS_FRAME_KEY;

    if (!pl->started) {
        if (!key) {
            return 0;
        }

        pl->started = 1;
    }

    if (!key && ngx_ams_webrtc_play_disposable(pl, avc, ev->data, ev->len))
    {
        if (pl->b_dropped++ == 0) {
            ngx_log_error(NGX_LOG_WARN, &s->log, 0,
                          "ams webrtc: session %s: \"%V\" has B-frames, "
                          "which WebRTC players do not reorder: its "
                          "non-reference ones are dropped (publish without "
                          "B-frames)", s->id, &pl->name);
        }

        return 0;
    }

    pts = ev->frame.dts + ev->frame.cts;

    if (pl->catchup) {
        /* the GOP backlog: a millisecond apart, whatever its real times */
        ts = pl->video_ts + NGX_AMS_WEBRTC_PLAY_CATCHUP_STEP;

    } else {
        ts = (uint32_t) pts + pl->video_offset;
        pl->anchor_pts = pts;
        pl->anchor_usec = ngx_ams_webrtc_now_usec();
        pl->anchored = 1;
    }

    pl->video_ts = ts;
    pl->video_pts = pts;

    ngx_ams_h264_packetizer_init(&pk, ev->data, ev->len,
                                 avc->nal_length_size,
                                 key ? avc->sps[0].data : NULL,
                                 avc->sps[0].len,
                                 key ? avc->pps[0].data : NULL,
                                 avc->pps[0].len, key,
                                 NGX_AMS_RTP_MAX_PAYLOAD);

    sent = 0;

    for ( ;; ) {
        hlen = ngx_ams_webrtc_play_header(pl, s->sel.video_pt,
                                          pl->video_seq, ts,
                                          s->local_video_ssrc);

        n = ngx_ams_h264_packetizer_next(&pk, pl->packet + hlen,
                                         NGX_AMS_RTP_MAX_PACKET - hlen,
                                         &marker);
        if (n <= 0) {
            if (n < 0) {
                ngx_log_debug1(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                               "ams webrtc: session %s: malformed access "
                               "unit, the rest of it dropped", s->id);
            }

            break;
        }

        if (marker) {
            pl->packet[1] |= 0x80;
        }

        ngx_ams_webrtc_play_send(pl, hlen + n, 1);

        pl->video_seq++;
        pl->video_packets++;
        pl->video_octets += n;
        sent++;
    }

    return sent;
}


static ngx_uint_t
ngx_ams_webrtc_play_audio(ngx_ams_webrtc_play_t *pl, ngx_ams_bus_event_t *ev)
{
    size_t                     hlen;
    uint32_t                   ts;
    ngx_ams_webrtc_session_t  *s = pl->session;

    /* the backlog's audio is old: sound starts at the live edge */
    if (s->sel.audio < 0 || ev->codec != NGX_AMS_CODEC_OPUS || pl->catchup
        || ev->len == 0)
    {
        return 0;
    }

    /* 48 kHz from the bus's 90 kHz */
    ts = (uint32_t) (ev->frame.dts * 8 / 15) + pl->audio_offset;

    hlen = ngx_ams_webrtc_play_header(pl, s->sel.audio_pt, pl->audio_seq,
                                      ts, s->local_audio_ssrc);

    if (ev->len > NGX_AMS_RTP_MAX_PACKET - hlen) {
        pl->packets_dropped++;
        return 0;
    }

    ngx_memcpy(pl->packet + hlen, ev->data, ev->len);

    if (!pl->started || s->sel.video < 0) {
        pl->anchor_pts = ev->frame.dts;
        pl->anchor_usec = ngx_ams_webrtc_now_usec();
        pl->anchored = 1;
    }

    ngx_ams_webrtc_play_send(pl, hlen + ev->len, 0);

    pl->audio_seq++;
    pl->audio_packets++;
    pl->audio_octets += ev->len;

    return 1;
}


/* the RTP header and the extensions agreed, at pl->packet */

static size_t
ngx_ams_webrtc_play_header(ngx_ams_webrtc_play_t *pl, uint8_t pt,
    uint16_t seq, uint32_t ts, uint32_t ssrc)
{
    size_t                     ext_len;
    uint64_t                   abs;
    uint8_t                    ext[8], v[3];
    ngx_ams_webrtc_session_t  *s = pl->session;

    ext_len = 0;

    /* abs-send-time (6.18 fixed point seconds): the viewer's bandwidth
     * estimate, whose REMB says what it can take */
    if (s->sel.ext_abs_send_time >= 1 && s->sel.ext_abs_send_time <= 14) {
        abs = (ngx_ams_webrtc_now_usec() << 18) / 1000000;
        v[0] = (uint8_t) (abs >> 16);
        v[1] = (uint8_t) (abs >> 8);
        v[2] = (uint8_t) abs;
        ext_len = ngx_ams_rtp_ext_put(ext, s->sel.ext_abs_send_time, v, 3);
    }

    return ngx_ams_rtp_write_header(pl->packet, pt, 0, seq, ts, ssrc,
                                    ext_len ? ext : NULL, ext_len);
}


/* protect in place, keep the encrypted bytes for NACKs, send */

static void
ngx_ams_webrtc_play_send(ngx_ams_webrtc_play_t *pl, size_t len,
    ngx_uint_t video)
{
    uint16_t                   seq;
    ngx_ams_webrtc_session_t  *s = pl->session;

    seq = (uint16_t) ((pl->packet[2] << 8) | pl->packet[3]);

    if (ngx_ams_webrtc_protect_rtp(s, pl->packet, &len) != NGX_OK) {
        pl->packets_dropped++;
        return;
    }

    if (video && pl->history) {
        ngx_ams_rtp_history_put(pl->history, seq, pl->packet, len);
    }

    /* NGX_AGAIN: the socket was full, counted by the transport; the
     * viewer NACKs what it misses */
    (void) ngx_ams_webrtc_send(s, pl->packet, len);
}


/*
 * A B-frame no other picture refers to (its first slice's nal_ref_idc
 * is 0, as every slice's of a picture must be): dropping it breaks
 * nothing.  Dropping a reference B-frame would: x264's P-frames refer
 * to its B-pyramid's (measured: 18 dB PSNR when all B-frames go).
 */

static ngx_uint_t
ngx_ams_webrtc_play_disposable(ngx_ams_webrtc_play_t *pl,
    ngx_ams_avc_config_t *avc, const u_char *p, size_t len)
{
    size_t                   i, bit, nbits;
    ngx_uint_t               n, zeros, slice_type, value, v;
    const char              *err;
    ngx_ams_avc_nal_t        nal;
    ngx_ams_avc_nal_iter_t   it;

    ngx_ams_avc_nal_init(&it, p, len, avc->nal_length_size);

    while (ngx_ams_avc_nal_next(&it, &nal, &err) == 1) {

        if (nal.type != 1 && nal.type != 5) {
            continue;
        }

        if (nal.type == 5) {
            return 0;
        }

        /* slice header: first_mb_in_slice ue(v), slice_type ue(v) */
        nbits = (ngx_min(nal.len, 8) - 1) * 8;
        bit = 0;
        slice_type = 0;

        for (n = 0; n < 2; n++) {
            zeros = 0;

            while (bit < nbits
                   && !(nal.data[1 + bit / 8] & (0x80 >> (bit % 8))))
            {
                zeros++;
                bit++;
            }

            if (bit >= nbits || zeros > 16) {
                return 0;
            }

            bit++;
            value = 0;

            for (i = 0; i < zeros; i++, bit++) {
                if (bit >= nbits) {
                    return 0;
                }

                v = (nal.data[1 + bit / 8] >> (7 - bit % 8)) & 1;
                value = (value << 1) | v;
            }

            slice_type = ((ngx_uint_t) 1 << zeros) - 1 + value;
        }

        if (slice_type % 5 != 1) {
            return 0;
        }

        if ((nal.data[0] & 0x60) == 0) {
            return 1;                     /* no picture refers to it */
        }

        if (!pl->ref_b_logged) {
            pl->ref_b_logged = 1;
            ngx_log_error(NGX_LOG_WARN, &pl->session->log, 0,
                          "ams webrtc: session %s: \"%V\" has reference "
                          "B-frames (B-pyramid): they are sent, out of "
                          "order, since later pictures need them; publish "
                          "without B-frames for WebRTC players",
                          pl->session->id, &pl->name);
        }

        return 0;
    }

    return 0;
}


static void
ngx_ams_webrtc_play_keyframe(ngx_ams_webrtc_play_t *pl)
{
    if (pl->keyframe_ever
        && ngx_current_msec - pl->keyframe_asked
           < NGX_AMS_WEBRTC_KEYFRAME_INTERVAL)
    {
        return;
    }

    if (ngx_ams_reader_request(&pl->reader, NGX_AMS_REQUEST_KEYFRAME)
        == NGX_OK)
    {
        pl->keyframe_ever = 1;
        pl->keyframe_asked = ngx_current_msec;
    }
}


void
ngx_ams_webrtc_play_rtcp(ngx_ams_webrtc_session_t *s, u_char *p, size_t len)
{
    int                     rc;
    size_t                  n;
    unsigned                i;
    const uint8_t          *pkt;
    ngx_ams_rtcp_iter_t     it;
    ngx_ams_rtcp_item_t     item;
    ngx_ams_webrtc_play_t  *pl = s->media;

    ngx_ams_rtcp_iter_init(&it, p, len);

    while ((rc = ngx_ams_rtcp_next(&it, &item)) == 1) {

        switch (item.type) {

        case NGX_AMS_RTCP_RTPFB:
            if (item.fmt != 1 || item.media_ssrc != s->local_video_ssrc
                || pl->history == NULL)
            {
                break;
            }

            if (ngx_current_msec - pl->resend_second >= 1000) {
                pl->resend_second = ngx_current_msec;
                pl->resend_budget = NGX_AMS_WEBRTC_PLAY_RESEND_MAX;
            }

            for (i = 0; i < item.nnacks; i++) {
                pl->nacked++;

                if (pl->resend_budget == 0) {
                    continue;
                }

                /* encrypted already: sent again as it was */
                pkt = ngx_ams_rtp_history_get(pl->history, item.nack[i], &n);

                if (pkt && n <= sizeof(pl->packet)) {
                    ngx_memcpy(pl->packet, pkt, n);
                    (void) ngx_ams_webrtc_send(s, pl->packet, n);
                    pl->resent++;
                    pl->resend_budget--;
                }
            }

            break;

        case NGX_AMS_RTCP_PSFB:
            if (item.fmt == 1 || item.fmt == 4) {
                /* PLI, FIR: the decoder lost its picture */
                if (pl->rung == NULL
                    || !ngx_ams_webrtc_rung_keyframe(pl->rung))
                {
                    ngx_ams_webrtc_play_keyframe(pl);
                }

            } else if (item.fmt == 15) {
                pl->remb = item.remb_bitrate;

                if (pl->rung) {
                    ngx_ams_webrtc_rung_feedback(pl->rung, pl->remb, -1);
                }
            }

            break;

        case NGX_AMS_RTCP_SR:
        case NGX_AMS_RTCP_RR:
            for (i = 0; pl->rung && i < item.nreports; i++) {
                if (item.report[i].ssrc == s->local_video_ssrc) {
                    ngx_ams_webrtc_rung_feedback(pl->rung, 0,
                                             item.report[i].fraction_lost);
                }
            }

            break;

        default:
            break;
        }
    }

    if (rc < 0) {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                       "ams webrtc: session %s: malformed RTCP, the rest "
                       "ignored", s->id);
    }
}


/* SR + SDES for each SSRC that sent something, every second */

static void
ngx_ams_webrtc_play_rtcp_timer(ngx_event_t *ev)
{
    size_t                     n;
    int64_t                    now90;
    uint64_t                   usec, ntp;
    ngx_ams_webrtc_play_t     *pl = ev->data;
    ngx_ams_webrtc_session_t  *s = pl->session;
    u_char                     buf[256 + NGX_AMS_SRTP_TRAILER];

    ngx_add_timer(&pl->rtcp_timer, NGX_AMS_WEBRTC_RTCP_INTERVAL);

    if (!pl->anchored || pl->catchup) {
        return;
    }

    usec = ngx_ams_webrtc_now_usec();
    ntp = ngx_ams_rtcp_ntp(usec);

    /* the bus time now: the last frame's plus the time since it went */
    now90 = pl->anchor_pts + (int64_t) (usec - pl->anchor_usec) * 9 / 100;

    if (pl->video_packets) {
        n = ngx_ams_rtcp_write_sr(buf, 256, s->local_video_ssrc, ntp,
                                  (uint32_t) now90 + pl->video_offset,
                                  pl->video_packets, pl->video_octets);
        n += ngx_ams_rtcp_write_sdes_cname(buf + n, 256 - n,
                                           s->local_video_ssrc,
                                           NGX_AMS_WEBRTC_CNAME);
        (void) ngx_ams_webrtc_send_rtcp(s, buf, n);
    }

    if (pl->audio_packets) {
        n = ngx_ams_rtcp_write_sr(buf, 256, s->local_audio_ssrc, ntp,
                                  (uint32_t) (now90 * 8 / 15)
                                  + pl->audio_offset,
                                  pl->audio_packets, pl->audio_octets);
        n += ngx_ams_rtcp_write_sdes_cname(buf + n, 256 - n,
                                           s->local_audio_ssrc,
                                           NGX_AMS_WEBRTC_CNAME);
        (void) ngx_ams_webrtc_send_rtcp(s, buf, n);
    }
}


void
ngx_ams_webrtc_play_close(ngx_ams_webrtc_session_t *s)
{
    ngx_ams_webrtc_play_t  *pl = s->media;

    if (pl->rtcp_timer.timer_set) {
        ngx_del_timer(&pl->rtcp_timer);
    }

    if (pl->wait_timer.timer_set) {
        ngx_del_timer(&pl->wait_timer);
    }

    if (pl->pump_timer.timer_set) {
        ngx_del_timer(&pl->pump_timer);
    }

    if (pl->rung) {
        ngx_ams_webrtc_rung_close(pl->rung);
    }

    /* an open reader, or one still waiting for its stream */
    ngx_ams_reader_close(&pl->reader);
    pl->waiting = 0;

    ngx_ams_webrtc_viewer_leave(&pl->viewer);

    if (pl->connected) {
        ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                      "ams webrtc: session %s stopped playing \"%V\": %ui "
                      "frames, %ui B-frames dropped, %ui skipped, %ui torn, "
                      "%ui of %ui NACKed packets resent, last REMB %uL b/s",
                      s->id, &pl->name, pl->frames, pl->b_dropped,
                      pl->skipped, pl->torn, pl->resent, pl->nacked,
                      pl->remb);
    }

    if (pl->history) {
        ngx_ams_rtp_history_free(pl->history);
        pl->history = NULL;
    }
}
