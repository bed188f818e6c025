
/*
 * Copyright (C) nginx-ams authors
 *
 * WebRTC publish (WHIP): a browser's RTP published into the bus.
 *
 * Names: with the transcoder loaded, the publisher's raw stream (H.264
 * and Opus) is {id}_opus, a rendition of {id}, and the audio transform
 * in publisher mode publishes {id} itself (AAC audio, kind publisher,
 * publish type "WebRTC") for HLS, DASH and RTMP players; a stop of {id}
 * comes back to us as a stop of {id}_opus, and so do keyframe requests.
 * Without the transcoder {id} is published directly, with Opus audio.
 *
 * Each received track (by the offer's SSRCs, else by payload type; RTX
 * unwrapped to the packet it repairs) goes through a jitter buffer that
 * reorders, asks for what is missing (NACK every 20 ms) and gives a
 * hole up after 150 ms.  Video then goes through the H.264
 * depacketizer: access units in AVCC form, the avcC made from the
 * SPS/PPS seen set as the track's configuration before the first frame
 * and whenever it changes; while it waits for an IDR (at start, after a
 * loss) a PLI goes out at most every 500 ms, and one every 2 s asks for
 * the keyframes HLS and DASH segments start at (a browser sends them
 * only when asked: AMS's webRTCKeyframeTime).  Opus packets are frames
 * as they are, the configuration an OpusHead.
 *
 * Time: each track's RTP time is unwrapped to 64 bits and counted from
 * its first packet, which is placed on the bus's clock (90 kHz) at its
 * arrival since the session's first packet: audio and video start in
 * step within the network's jitter, and never drift apart since each
 * follows its own sender clock.
 *
 * Every second: RR for each track (loss, LSR/DLSR from the publisher's
 * SRs) and REMB at a ceiling, so a browser sends its full rate instead
 * of its cautious start.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_media.h"
#include "ngx_ams_rtp.h"
#include "ngx_ams_rtcp.h"
#include "ngx_ams_rtp_h264.h"
#include "ngx_ams_jitter.h"
#include "ngx_ams_avc.h"
#include "ngx_ams_audio_transform.h"


#define NGX_AMS_WEBRTC_PUBLISH_VIDEO_SLOTS   512
#define NGX_AMS_WEBRTC_PUBLISH_AUDIO_SLOTS   64
#define NGX_AMS_WEBRTC_PUBLISH_MAX_DELAY     150     /* ms */
#define NGX_AMS_WEBRTC_PUBLISH_FEEDBACK      20      /* ms: NACKs */
/* the round trip NACKs assume before asking again (loopback and LAN;
 * the jitter buffer asks at most 3 times within max_delay) */
#define NGX_AMS_WEBRTC_PUBLISH_RTT           40      /* ms */
#define NGX_AMS_WEBRTC_PUBLISH_NACKS         64      /* per packet */
/* a browser makes keyframes only when asked: one this often (AMS's
 * webRTCKeyframeTime), or HLS/DASH segments would never close */
#define NGX_AMS_WEBRTC_PUBLISH_KEYFRAME_TIME 2000    /* ms */

/* OpusHead (RFC 7845 5.1), family 0 */
#define NGX_AMS_WEBRTC_OPUS_HEAD_LEN         19


typedef ngx_int_t (*ngx_ams_webrtc_transform_publisher_pt)(ngx_str_t *app,
    ngx_str_t *raw, ngx_str_t *out, ngx_uint_t codec, ngx_uint_t bitrate,
    ngx_ams_source_t *as, ngx_log_t *log);


typedef struct {
    uint32_t                  ssrc;          /* 0 until known */
    ngx_uint_t                clock;         /* Hz */
    ngx_ams_jitter_t         *jitter;

    /* receiver report */
    ngx_ams_rtp_seq_ext_t     seq;
    uint64_t                  base_seq;
    uint64_t                  received;
    uint64_t                  expected_prior;
    uint64_t                  received_prior;
    uint32_t                  lsr;           /* middle of the last SR */
    uint64_t                  lsr_usec;      /* when it came */

    /* time: RTP unwrapped, placed on the bus's clock */
    uint32_t                  ts_last;
    int64_t                   ts_ext;
    int64_t                   start;         /* 90 kHz */
    int64_t                   last_dts;

    ngx_uint_t                frames;

    unsigned                  counting:1;
    unsigned                  timing:1;
} ngx_ams_webrtc_track_t;


typedef struct {
    ngx_ams_webrtc_session_t *session;
    ngx_ams_source_t          source;
    ngx_ams_source_t          as;            /* what the transform
                                                publishes {id} as */
    ngx_ams_stream_t         *stream;
    ngx_str_t                 name;          /* what we publish */
    u_char                    name_data[NGX_AMS_NAME_LEN];

    ngx_ams_webrtc_track_t    video;
    ngx_ams_webrtc_track_t    audio;
    ngx_ams_h264_depack_t    *depack;

    uint32_t                  rtcp_ssrc;     /* ours, in feedback */
    ngx_msec_t                base;          /* the first packet's time */
    ngx_msec_t                pli_at;
    ngx_msec_t                keyframe_at;   /* the last one published */
    uint8_t                   fir_seq;

    ngx_event_t               feedback_timer;
    ngx_event_t               rtcp_timer;

    ngx_uint_t                plis;
    ngx_uint_t                nacks;
    ngx_uint_t                dropped;       /* frames the bus refused */
    ngx_uint_t                unknown;       /* packets of no track */

    unsigned                  based:1;
    unsigned                  pli_ever:1;
    unsigned                  connected:1;
    unsigned                  transformed:1; /* {id}_opus behind {id} */

    u_char                    avcc[NGX_AMS_CONFIG_MAX];
    size_t                    avcc_len;
    u_char                    scratch[NGX_AMS_CONFIG_MAX];
    u_char                    rtx[NGX_AMS_RTP_MAX_PACKET];
    u_char                    rtcp[512 + NGX_AMS_SRTP_TRAILER];
} ngx_ams_webrtc_publish_t;


static void ngx_ams_webrtc_publish_source_init(ngx_ams_webrtc_publish_t *pb,
    ngx_uint_t kind);
static void ngx_ams_webrtc_publish_src_stop(ngx_ams_source_t *src);
static void ngx_ams_webrtc_publish_src_keyframe(ngx_ams_source_t *src);
static void ngx_ams_webrtc_publish_count(ngx_ams_webrtc_track_t *tr,
    uint16_t seq);
static void ngx_ams_webrtc_publish_drain(ngx_ams_webrtc_publish_t *pb,
    ngx_ams_webrtc_track_t *tr);
static void ngx_ams_webrtc_publish_video(ngx_ams_webrtc_publish_t *pb,
    ngx_ams_h264_au_t *au);
static void ngx_ams_webrtc_publish_audio(ngx_ams_webrtc_publish_t *pb,
    ngx_ams_rtp_header_t *h);
static int64_t ngx_ams_webrtc_publish_time(ngx_ams_webrtc_publish_t *pb,
    ngx_ams_webrtc_track_t *tr, uint32_t ts);
static void ngx_ams_webrtc_publish_pli(ngx_ams_webrtc_publish_t *pb);
static void ngx_ams_webrtc_publish_feedback(ngx_event_t *ev);
static void ngx_ams_webrtc_publish_report(ngx_event_t *ev);
static size_t ngx_ams_webrtc_publish_block(ngx_ams_webrtc_track_t *tr,
    ngx_ams_rtcp_report_t *r, uint64_t usec);


ngx_int_t
ngx_ams_webrtc_publish_prepare(ngx_ams_webrtc_session_t *s)
{
    ngx_int_t                               rc;
    ngx_ams_webrtc_publish_t               *pb;
    ngx_ams_webrtc_transform_publisher_pt   start;

    if (ngx_ams_bus_find(&s->app_name, &s->stream_id) != NULL) {
        return NGX_BUSY;
    }

    pb = ngx_pcalloc(s->pool, sizeof(ngx_ams_webrtc_publish_t));
    if (pb == NULL) {
        return NGX_ERROR;
    }

    pb->session = s;
    pb->video.clock = 90000;
    pb->audio.clock = 48000;

    start = (ngx_ams_webrtc_transform_publisher_pt)
                ngx_ams_webrtc_transcoder_symbol(
                                 "ngx_ams_audio_transform_start_publisher");

    if (start == NULL
        || s->stream_id.len + sizeof(NGX_AMS_AUDIO_OPUS_SUFFIX)
           > NGX_AMS_NAME_LEN)
    {
        /* {id} itself, Opus audio: HLS and RTMP players get video */
        pb->name = s->stream_id;
        ngx_ams_webrtc_publish_source_init(pb, NGX_AMS_SOURCE_PUBLISHER);

        rc = ngx_ams_bus_publish(s->app, &pb->name, &pb->source, &s->log,
                                 &pb->stream);
        goto published;
    }

    pb->transformed = 1;
    pb->name.data = pb->name_data;
    pb->name.len = ngx_sprintf(pb->name_data,
                               "%V" NGX_AMS_AUDIO_OPUS_SUFFIX, &s->stream_id)
                   - pb->name_data;

    ngx_ams_webrtc_publish_source_init(pb, NGX_AMS_SOURCE_RENDITION);
    pb->source.parent = s->stream_id;

    rc = ngx_ams_bus_publish(s->app, &pb->name, &pb->source, &s->log,
                             &pb->stream);

    if (rc == NGX_OK) {
        pb->as.kind = NGX_AMS_SOURCE_PUBLISHER;
        pb->as.publish_type = "WebRTC";
        pb->as.sockaddr = s->client.sockaddr;
        pb->as.socklen = s->client.socklen;

        rc = start(&s->app_name, &pb->name, &s->stream_id,
                   NGX_AMS_CODEC_AAC, 0, &pb->as, &s->log);

        if (rc != NGX_OK) {
            ngx_log_error(NGX_LOG_WARN, &s->log, 0,
                          "ams webrtc: session %s: \"%V\" not published "
                          "in front of \"%V\"%s", s->id, &s->stream_id,
                          &pb->name,
                          rc == NGX_BUSY ? ": it is live" : "");
        }
    }

published:

    if (rc != NGX_OK) {
        if (pb->stream) {
            ngx_ams_bus_unpublish(pb->stream, &s->log);
            pb->stream = NULL;
        }

        /* NGX_DECLINED: too many publishers from the address (the bus
         * logged it): over a limit, as a refusal by admission is */
        return rc == NGX_BUSY ? NGX_BUSY : NGX_ERROR;
    }

    s->media = pb;

    ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                  "ams webrtc: session %s publishes \"%V/%V\"%s", s->id,
                  &s->app_name, &pb->name,
                  pb->transformed ? " (AAC in front by the transcoder)" : "");

    return NGX_OK;
}


static void
ngx_ams_webrtc_publish_source_init(ngx_ams_webrtc_publish_t *pb,
    ngx_uint_t kind)
{
    ngx_ams_webrtc_session_t  *s = pb->session;

    pb->source.kind = kind;
    pb->source.publish_type = "WebRTC";
    pb->source.stop = ngx_ams_webrtc_publish_src_stop;
    pb->source.request_keyframe = ngx_ams_webrtc_publish_src_keyframe;
    pb->source.data = pb;

    if (kind == NGX_AMS_SOURCE_PUBLISHER) {
        pb->source.sockaddr = s->client.sockaddr;
        pb->source.socklen = s->client.socklen;
    }
}


ngx_int_t
ngx_ams_webrtc_publish_start(ngx_ams_webrtc_session_t *s)
{
    ngx_ams_webrtc_publish_t  *pb = s->media;
    u_char                     head[NGX_AMS_WEBRTC_OPUS_HEAD_LEN];

    if (s->sel.video >= 0) {
        pb->video.ssrc = s->remote_video_ssrc;
        pb->video.jitter = ngx_ams_jitter_create(
                                          NGX_AMS_WEBRTC_PUBLISH_VIDEO_SLOTS,
                                          NGX_AMS_WEBRTC_PUBLISH_MAX_DELAY);
        pb->depack = ngx_ams_h264_depack_create(NGX_AMS_H264_MAX_AU);

        if (pb->video.jitter == NULL || pb->depack == NULL) {
            return NGX_ERROR;
        }
    }

    if (s->sel.audio >= 0) {
        pb->audio.ssrc = s->remote_audio_ssrc;
        pb->audio.jitter = ngx_ams_jitter_create(
                                          NGX_AMS_WEBRTC_PUBLISH_AUDIO_SLOTS,
                                          NGX_AMS_WEBRTC_PUBLISH_MAX_DELAY);
        if (pb->audio.jitter == NULL) {
            return NGX_ERROR;
        }

        /* OpusHead: 2 channels (what "opus/48000/2" decodes to), no
         * pre-skip (a live stream joined midway has no priming to drop),
         * 48 kHz, gain 0, mapping family 0 */
        ngx_memcpy(head, "OpusHead", 8);
        head[8] = 1;
        head[9] = 2;
        head[10] = 0;
        head[11] = 0;
        head[12] = (u_char) (48000 & 0xff);
        head[13] = (u_char) ((48000 >> 8) & 0xff);
        head[14] = (u_char) ((48000 >> 16) & 0xff);
        head[15] = 0;
        head[16] = 0;
        head[17] = 0;
        head[18] = 0;

        ngx_ams_bus_set_config(pb->stream, NGX_AMS_TRACK_AUDIO,
                               NGX_AMS_CODEC_OPUS, head, sizeof(head));
    }

    pb->rtcp_ssrc = ngx_ams_webrtc_random32() | 1;

    pb->feedback_timer.handler = ngx_ams_webrtc_publish_feedback;
    pb->feedback_timer.data = pb;
    pb->feedback_timer.log = &s->log;
    pb->feedback_timer.cancelable = 1;

    pb->rtcp_timer.handler = ngx_ams_webrtc_publish_report;
    pb->rtcp_timer.data = pb;
    pb->rtcp_timer.log = &s->log;
    pb->rtcp_timer.cancelable = 1;

    return NGX_OK;
}


void
ngx_ams_webrtc_publish_connected(ngx_ams_webrtc_session_t *s)
{
    ngx_ams_webrtc_publish_t  *pb = s->media;

    pb->connected = 1;

    ngx_add_timer(&pb->feedback_timer, NGX_AMS_WEBRTC_PUBLISH_FEEDBACK);

    /* the REMB ceiling at once: the browser starts ramping up now */
    ngx_ams_webrtc_publish_report(&pb->rtcp_timer);
}


/* Context: the bus, in this worker: REST deleted the broadcast, or the
 * transform in front was stopped */

static void
ngx_ams_webrtc_publish_src_stop(ngx_ams_source_t *src)
{
    ngx_ams_webrtc_publish_t  *pb = src->data;

    ngx_ams_webrtc_session_close(pb->session,
                                 "stopped: its broadcast was deleted");
}


/* a reader (a new WebRTC viewer, the transform for its viewers) wants a
 * keyframe: the browser makes one */

static void
ngx_ams_webrtc_publish_src_keyframe(ngx_ams_source_t *src)
{
    ngx_ams_webrtc_publish_pli(src->data);
}


void
ngx_ams_webrtc_publish_rtp(ngx_ams_webrtc_session_t *s,
    ngx_ams_rtp_header_t *h, u_char *p, size_t len)
{
    size_t                     n;
    ngx_ams_rtp_header_t       rh;
    ngx_ams_webrtc_track_t    *tr;
    ngx_ams_webrtc_publish_t  *pb = s->media;

    if (pb->stream == NULL) {
        return;
    }

    if ((s->remote_video_rtx_ssrc && h->ssrc == s->remote_video_rtx_ssrc)
        || (s->sel.video_rtx_pt && h->pt == s->sel.video_rtx_pt))
    {
        /* RTX (RFC 4588): the original sequence number, then the
         * original payload; padding-only packets are bandwidth probes */
        if (pb->video.jitter == NULL || pb->video.ssrc == 0
            || h->payload_len < 3 || h->header_len > len)
        {
            return;
        }

        n = h->header_len;
        ngx_memcpy(pb->rtx, p, n);
        pb->rtx[0] &= ~0x20;                       /* no padding now */
        pb->rtx[1] = (u_char) ((p[1] & 0x80) | s->sel.video_pt);
        pb->rtx[2] = h->payload[0];
        pb->rtx[3] = h->payload[1];
        pb->rtx[8] = (u_char) (pb->video.ssrc >> 24);
        pb->rtx[9] = (u_char) (pb->video.ssrc >> 16);
        pb->rtx[10] = (u_char) (pb->video.ssrc >> 8);
        pb->rtx[11] = (u_char) pb->video.ssrc;

        if (n + h->payload_len - 2 > sizeof(pb->rtx)) {
            return;
        }

        ngx_memcpy(pb->rtx + n, h->payload + 2, h->payload_len - 2);
        n += h->payload_len - 2;

        if (ngx_ams_rtp_parse(pb->rtx, n, &rh) != 0) {
            return;
        }

        h = &rh;
        p = pb->rtx;
        len = n;
        tr = &pb->video;

    } else if (pb->video.jitter
               && (pb->video.ssrc ? h->ssrc == pb->video.ssrc
                                  : h->pt == s->sel.video_pt))
    {
        tr = &pb->video;

    } else if (pb->audio.jitter
               && (pb->audio.ssrc ? h->ssrc == pb->audio.ssrc
                                  : h->pt == s->sel.audio_pt))
    {
        tr = &pb->audio;

    } else {
        pb->unknown++;
        return;
    }

    /* a track known by its payload type keeps its first SSRC */
    if (tr->ssrc == 0) {
        tr->ssrc = h->ssrc;
    }

    ngx_ams_webrtc_publish_count(tr, h->seq);

    if (ngx_ams_jitter_push(tr->jitter, h->seq, p, len, ngx_current_msec)
        == 0)
    {
        ngx_ams_webrtc_publish_drain(pb, tr);
    }
}


static void
ngx_ams_webrtc_publish_count(ngx_ams_webrtc_track_t *tr, uint16_t seq)
{
    uint64_t  ext;

    ext = ngx_ams_rtp_seq_extend(&tr->seq, seq);

    if (!tr->counting) {
        tr->counting = 1;
        tr->base_seq = ext;
    }

    tr->received++;
}


/* what the jitter buffer can give now: in order, or past a hole given
 * up on */

static void
ngx_ams_webrtc_publish_drain(ngx_ams_webrtc_publish_t *pb,
    ngx_ams_webrtc_track_t *tr)
{
    int                        rc;
    size_t                     len;
    uint16_t                   seq;
    unsigned                   lost;
    const uint8_t             *p;
    ngx_ams_h264_au_t          au;
    ngx_ams_rtp_header_t       h;

    while (ngx_ams_jitter_pop(tr->jitter, ngx_current_msec, &p, &len, &seq,
                              &lost)
           == 1)
    {
        if (ngx_ams_rtp_parse(p, len, &h) != 0) {
            continue;
        }

        if (tr == &pb->audio) {
            ngx_ams_webrtc_publish_audio(pb, &h);
            continue;
        }

        rc = ngx_ams_h264_depack_push(pb->depack, h.payload, h.payload_len,
                                      h.ts, h.marker, lost, &au);

        if (rc == NGX_AMS_H264_DEPACK_FRAME) {
            ngx_ams_webrtc_publish_video(pb, &au);
        }

        if (pb->stream == NULL) {
            return;
        }
    }

    if (tr == &pb->video && ngx_ams_h264_depack_need_keyframe(pb->depack)) {
        ngx_ams_webrtc_publish_pli(pb);
    }
}


static void
ngx_ams_webrtc_publish_video(ngx_ams_webrtc_publish_t *pb,
    ngx_ams_h264_au_t *au)
{
    size_t                     n;
    const char                *err;
    ngx_ams_frame_t            frame;
    ngx_ams_avc_config_t       avc;
    ngx_ams_webrtc_session_t  *s = pb->session;

    if (au->config_changed || pb->avcc_len == 0) {
        n = ngx_ams_h264_depack_avcc(pb->depack, pb->scratch,
                                     sizeof(pb->scratch));

        if (n && (n != pb->avcc_len
                  || ngx_memcmp(pb->scratch, pb->avcc, n) != 0))
        {
            if (ngx_ams_avc_parse_config(pb->scratch, n, &avc, &err) != 0) {
                ngx_log_error(NGX_LOG_WARN, &s->log, 0,
                              "ams webrtc: session %s: SPS/PPS unusable: %s",
                              s->id, err);
                return;
            }

            ngx_memcpy(pb->avcc, pb->scratch, n);
            pb->avcc_len = n;

            pb->stream->width = avc.width;
            pb->stream->height = avc.height;

            ngx_ams_bus_set_config(pb->stream, NGX_AMS_TRACK_VIDEO,
                                   NGX_AMS_CODEC_H264, pb->avcc, n);

            ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                          "ams webrtc: session %s: \"%V\" video H.264 "
                          "%uDx%uD, profile-level-id %02xd%02xd%02xd",
                          s->id, &pb->name, avc.width, avc.height,
                          avc.profile, avc.compat, avc.level);
        }
    }

    if (pb->avcc_len == 0) {
        /* no SPS/PPS yet: nothing could decode it */
        return;
    }

    ngx_memzero(&frame, sizeof(ngx_ams_frame_t));
    frame.dts = ngx_ams_webrtc_publish_time(pb, &pb->video, au->ts);
    frame.cts = 0;
    frame.size = (uint32_t) au->len;
    frame.track = NGX_AMS_TRACK_VIDEO;
    frame.codec = NGX_AMS_CODEC_H264;
    frame.flags = au->keyframe ? NGX_AMS_FRAME_KEY : 0;

    if (ngx_ams_bus_write(pb->stream, &frame, au->data) != NGX_OK) {
        pb->dropped++;
        return;
    }

    if (au->keyframe) {
        pb->keyframe_at = ngx_current_msec;
    }

    pb->video.frames++;
}


static void
ngx_ams_webrtc_publish_audio(ngx_ams_webrtc_publish_t *pb,
    ngx_ams_rtp_header_t *h)
{
    ngx_ams_frame_t  frame;

    if (h->payload_len == 0) {
        return;
    }

    ngx_memzero(&frame, sizeof(ngx_ams_frame_t));
    frame.dts = ngx_ams_webrtc_publish_time(pb, &pb->audio, h->ts);
    frame.cts = 0;
    frame.size = (uint32_t) h->payload_len;
    frame.track = NGX_AMS_TRACK_AUDIO;
    frame.codec = NGX_AMS_CODEC_OPUS;
    /* readers start at audio only where there is no video */
    frame.flags = pb->video.jitter ? 0 : NGX_AMS_FRAME_KEY;

    if (ngx_ams_bus_write(pb->stream, &frame, h->payload) != NGX_OK) {
        pb->dropped++;
        return;
    }

    pb->audio.frames++;
}


/* a track's RTP time on the bus's 90 kHz clock */

static int64_t
ngx_ams_webrtc_publish_time(ngx_ams_webrtc_publish_t *pb,
    ngx_ams_webrtc_track_t *tr, uint32_t ts)
{
    int64_t  dts, t;

    if (!tr->timing) {
        tr->timing = 1;
        tr->ts_last = ts;
        tr->ts_ext = 0;

        if (!pb->based) {
            pb->based = 1;
            pb->base = ngx_current_msec;
        }

        tr->start = (int64_t) (ngx_current_msec - pb->base)
                    * (NGX_AMS_TIMEBASE / 1000);
        tr->last_dts = tr->start;

    } else {
        tr->ts_ext += (int32_t) (ts - tr->ts_last);
        tr->ts_last = ts;
    }

    t = tr->ts_ext;

    if (tr->clock != NGX_AMS_TIMEBASE) {
        t = t * NGX_AMS_TIMEBASE / (int64_t) tr->clock;
    }

    dts = tr->start + t;

    /* never backwards on the bus (a sender's clock stepping back) */
    if (dts < tr->last_dts) {
        dts = tr->last_dts;
    }

    tr->last_dts = dts;

    return dts;
}


static void
ngx_ams_webrtc_publish_pli(ngx_ams_webrtc_publish_t *pb)
{
    size_t                     n;
    ngx_ams_webrtc_session_t  *s = pb->session;

    if (!pb->connected || pb->video.ssrc == 0) {
        return;
    }

    if (pb->pli_ever
        && ngx_current_msec - pb->pli_at < NGX_AMS_WEBRTC_KEYFRAME_INTERVAL)
    {
        return;
    }

    if (s->sel.video_pli || !s->sel.video_fir) {
        n = ngx_ams_rtcp_write_pli(pb->rtcp, 512, pb->rtcp_ssrc,
                                   pb->video.ssrc);

    } else {
        n = ngx_ams_rtcp_write_fir(pb->rtcp, 512, pb->rtcp_ssrc,
                                   pb->video.ssrc, pb->fir_seq++);
    }

    if (n == 0) {
        return;
    }

    pb->pli_ever = 1;
    pb->pli_at = ngx_current_msec;
    pb->plis++;

    (void) ngx_ams_webrtc_send_rtcp(s, pb->rtcp, n);
}


/* every 20 ms: what the jitter buffers gave up on, and NACKs */

static void
ngx_ams_webrtc_publish_feedback(ngx_event_t *ev)
{
    size_t                     n;
    unsigned                   count;
    ngx_ams_webrtc_publish_t  *pb = ev->data;
    ngx_ams_webrtc_session_t  *s = pb->session;
    uint16_t                   seqs[NGX_AMS_WEBRTC_PUBLISH_NACKS];

    ngx_add_timer(&pb->feedback_timer, NGX_AMS_WEBRTC_PUBLISH_FEEDBACK);

    if (pb->audio.jitter) {
        ngx_ams_webrtc_publish_drain(pb, &pb->audio);
    }

    if (pb->video.jitter == NULL || pb->stream == NULL) {
        return;
    }

    ngx_ams_webrtc_publish_drain(pb, &pb->video);

    if (pb->stream == NULL) {
        return;
    }

    if (pb->keyframe_at
        && ngx_current_msec - pb->keyframe_at
           >= NGX_AMS_WEBRTC_PUBLISH_KEYFRAME_TIME)
    {
        ngx_ams_webrtc_publish_pli(pb);
    }

    if (!s->sel.video_nack || pb->video.ssrc == 0 || pb->stream == NULL) {
        return;
    }

    count = ngx_ams_jitter_missing(pb->video.jitter, ngx_current_msec,
                                   NGX_AMS_WEBRTC_PUBLISH_RTT, seqs,
                                   NGX_AMS_WEBRTC_PUBLISH_NACKS);
    if (count == 0) {
        return;
    }

    n = ngx_ams_rtcp_write_nack(pb->rtcp, 512, pb->rtcp_ssrc,
                                pb->video.ssrc, seqs, count);
    if (n) {
        pb->nacks += count;
        (void) ngx_ams_webrtc_send_rtcp(s, pb->rtcp, n);
    }
}


/* every second: RR for each track, REMB at the ceiling */

static void
ngx_ams_webrtc_publish_report(ngx_event_t *ev)
{
    size_t                     n, m;
    unsigned                   nr, ns;
    uint32_t                   ssrcs[2];
    uint64_t                   usec;
    ngx_ams_rtcp_report_t      r[2];
    ngx_ams_webrtc_publish_t  *pb = ev->data;
    ngx_ams_webrtc_session_t  *s = pb->session;

    ngx_add_timer(&pb->rtcp_timer, NGX_AMS_WEBRTC_RTCP_INTERVAL);

    usec = ngx_ams_webrtc_now_usec();
    nr = 0;
    ns = 0;

    if (pb->video.ssrc) {
        ssrcs[ns++] = pb->video.ssrc;
        nr += ngx_ams_webrtc_publish_block(&pb->video, &r[nr], usec);
    }

    if (pb->audio.ssrc) {
        ssrcs[ns++] = pb->audio.ssrc;
        nr += ngx_ams_webrtc_publish_block(&pb->audio, &r[nr], usec);
    }

    n = ngx_ams_rtcp_write_rr(pb->rtcp, 512, pb->rtcp_ssrc, r, nr);

    if (n && ns && s->sel.remb) {
        m = ngx_ams_rtcp_write_remb(pb->rtcp + n, 512 - n, pb->rtcp_ssrc,
                                    NGX_AMS_WEBRTC_REMB_CEILING, ssrcs, ns);
        n += m;
    }

    if (n) {
        (void) ngx_ams_webrtc_send_rtcp(s, pb->rtcp, n);
    }
}


/* a report block (RFC 3550 6.4.1, A.3): 1 when the track has one */

static size_t
ngx_ams_webrtc_publish_block(ngx_ams_webrtc_track_t *tr,
    ngx_ams_rtcp_report_t *r, uint64_t usec)
{
    int64_t   lost, lost_interval;
    uint64_t  expected, expected_interval, received_interval;

    if (!tr->counting) {
        return 0;
    }

    expected = tr->seq.highest - tr->base_seq + 1;
    lost = (int64_t) expected - (int64_t) tr->received;

    expected_interval = expected - tr->expected_prior;
    received_interval = tr->received - tr->received_prior;
    lost_interval = (int64_t) expected_interval
                    - (int64_t) received_interval;

    tr->expected_prior = expected;
    tr->received_prior = tr->received;

    ngx_memzero(r, sizeof(ngx_ams_rtcp_report_t));

    r->ssrc = tr->ssrc;
    r->fraction_lost = (expected_interval == 0 || lost_interval <= 0)
                       ? 0
                       : (uint8_t) ngx_min(255, (lost_interval << 8)
                                                / (int64_t) expected_interval);
    r->cumulative_lost = (int32_t) ngx_max(-8388608,
                                           ngx_min(8388607, lost));
    r->highest_seq = (uint32_t) tr->seq.highest;

    if (tr->lsr_usec) {
        r->lsr = tr->lsr;
        r->dlsr = (uint32_t) ((usec - tr->lsr_usec) * 65536 / 1000000);
    }

    return 1;
}


void
ngx_ams_webrtc_publish_rtcp(ngx_ams_webrtc_session_t *s, u_char *p,
    size_t len)
{
    ngx_ams_rtcp_iter_t        it;
    ngx_ams_rtcp_item_t        item;
    ngx_ams_webrtc_track_t    *tr;
    ngx_ams_webrtc_publish_t  *pb = s->media;

    ngx_ams_rtcp_iter_init(&it, p, len);

    while (ngx_ams_rtcp_next(&it, &item) == 1) {

        if (item.type != NGX_AMS_RTCP_SR) {
            continue;
        }

        /* for the LSR/DLSR of our reports: the sender's round trip */
        if (pb->video.ssrc && item.sender_ssrc == pb->video.ssrc) {
            tr = &pb->video;

        } else if (pb->audio.ssrc && item.sender_ssrc == pb->audio.ssrc) {
            tr = &pb->audio;

        } else {
            continue;
        }

        tr->lsr = ngx_ams_rtcp_ntp_mid(item.ntp);
        tr->lsr_usec = ngx_ams_webrtc_now_usec();
    }
}


void
ngx_ams_webrtc_publish_close(ngx_ams_webrtc_session_t *s)
{
    ngx_ams_jitter_stats_t     vs;
    ngx_ams_webrtc_publish_t  *pb = s->media;

    if (pb->feedback_timer.timer_set) {
        ngx_del_timer(&pb->feedback_timer);
    }

    if (pb->rtcp_timer.timer_set) {
        ngx_del_timer(&pb->rtcp_timer);
    }

    if (pb->stream) {
        ngx_memzero(&vs, sizeof(ngx_ams_jitter_stats_t));

        if (pb->video.jitter) {
            ngx_ams_jitter_stats(pb->video.jitter, &vs);
        }

        ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                      "ams webrtc: session %s unpublishes \"%V\": %ui video "
                      "and %ui audio frames, video packets %uL lost, %uL "
                      "recovered of %ui NACKed, %ui PLIs, %ui frames "
                      "refused by the bus", s->id, &pb->name,
                      pb->video.frames, pb->audio.frames, vs.lost,
                      vs.recovered, pb->nacks, pb->plis, pb->dropped);

        ngx_ams_bus_unpublish(pb->stream, &s->log);
        pb->stream = NULL;
    }

    if (pb->video.jitter) {
        ngx_ams_jitter_free(pb->video.jitter);
        pb->video.jitter = NULL;
    }

    if (pb->audio.jitter) {
        ngx_ams_jitter_free(pb->audio.jitter);
        pb->audio.jitter = NULL;
    }

    if (pb->depack) {
        ngx_ams_h264_depack_free(pb->depack);
        pb->depack = NULL;
    }
}
