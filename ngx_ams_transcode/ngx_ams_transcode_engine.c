
/*
 * Copyright (C) nginx-ams authors
 *
 * The transcoding engine (see the header): decode once, cascaded
 * scaling, one encoder per rung, forced IDRs at the source's keyframes,
 * audio passed through in step with each rung's video.
 *
 * Bad input never stops it: a packet the decoder refuses, a frame it
 * marks corrupt, or frames lost upstream make it wait for the next
 * keyframe; a new size (a new avcC, or an SPS in the stream) re-opens
 * the scalers and the rungs' encoders, whose new avcC the packager sees
 * as a discontinuity; a timeline that goes back re-opens the encoders
 * too (x264 wants increasing timestamps).
 *
 * Audio waits in a queue until every rung's video has been encoded past
 * it (encoders hold frames: lookahead, B-frames), so each rung is
 * interleaved as its source was and its segments carry the audio of
 * their own time span.
 */


#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavutil/opt.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>

#include "ngx_ams_avc.h"
#include "ngx_ams_tc_avcc.h"
#include "ngx_ams_tc_audio_hold.h"
#include "ngx_ams_tc_latency.h"
#include "ngx_ams_transcode_engine.h"
#include "ngx_ams_audio_convert.h"


#define ngx_ams_tc_frame_corrupt(f)  ((f)->flags & AV_FRAME_FLAG_CORRUPT)

#define NGX_AMS_TC_KEYS          16       /* source keyframes' pts kept */
#define NGX_AMS_TC_MAX_SIDE      8192

/* a source picture at most 4096x2304 (4K UHD, DCI 4K fit): refused in
 * the avcC's SPS before the decoder opens, and by the decoder itself
 * (max_pixels) for an SPS in the stream */
#define NGX_AMS_TC_MAX_PIXELS    (4096 * 2304)

/* a rung at most this wide, and at most 2.4 times its height (wider than
 * 21:9): a source of an extreme aspect is squeezed, never a 16000-pixel
 * wide rung */
#define NGX_AMS_TC_MAX_WIDTH     4096
#define ngx_ams_tc_max_width(h)  ((h) * 12 / 5)

/* a rung's encoder is re-opened (a new size, a timeline going back) at
 * most once in this long (ns): meanwhile the scaler absorbs the new size
 * and pictures behind the timeline are not encoded */
#define NGX_AMS_TC_REOPEN_GAP    (5 * (int64_t) 1000000000)

/* a new width within 1/50 of the encoder's keeps the encoder */
#define NGX_AMS_TC_SIZE_SLACK    50


typedef struct {
    ngx_ams_rung_t          conf;
    unsigned                live:1;        /* wanted, its encoder opens */
    unsigned                has_output:1;
    unsigned                config_sent:1;
    int                     width;         /* of the open encoder */
    int                     height;
    int                     want_width;    /* for the source's size now */
    AVCodecContext         *enc;
    struct SwsContext      *sws;
    AVFrame                *pic;           /* scaled picture */
    uint8_t                 avcc[NGX_AMS_CONFIG_MAX];
    size_t                  avcc_len;      /* of the open encoder */
    int64_t                 last_dts;
    int64_t                 last_pts_in;
    unsigned                has_pts_in:1;
    unsigned                reopened:1;
    int64_t                 reopened_at;   /* tc->now() of the last */

    /* audio: -1 passed through, else the rung whose converter (AAC at
     * audioBitrate) it shares: rungs of one audio bitrate share one */
    int                     aconv_owner;
    ngx_ams_audio_conv_t   *aconv;         /* when its own owner */
} ngx_ams_tc_rung_t;


struct ngx_ams_tc_s {
    ngx_ams_tc_opts_t       opts;
    char                    encoder[32];
    char                    preset[32];
    char                    profile[32];
    char                    tune[32];

    ngx_ams_tc_out_pt       out;
    void                   *data;
    int64_t               (*now)(void);

    unsigned                n;
    ngx_ams_tc_rung_t       rung[NGX_AMS_LADDER_MAX];

    AVCodecContext         *dec;
    AVPacket               *pkt;
    AVPacket               *opkt;
    AVFrame                *frame;
    uint8_t                *in;            /* a packet, padded */
    size_t                  in_size;
    uint8_t                *outbuf;        /* a rung's frame, AVCC */
    size_t                  outbuf_size;

    uint8_t                 avcc[NGX_AMS_CONFIG_MAX];
    size_t                  avcc_len;
    unsigned                need_key:1;
    unsigned                dec_failed:1;
    int                     src_w;
    int                     src_h;
    int                     src_fmt;
    int64_t                 last_dts;      /* of video packets */
    int64_t                 min_delta;     /* between two, > 0 */

    int64_t                 keys[NGX_AMS_TC_KEYS];
    unsigned                nkeys;
    int64_t                 last_key_pts;
    unsigned                has_key_pts:1;

    ngx_ams_tc_latency_t    lat;

    uint8_t                 audio_config[NGX_AMS_CONFIG_MAX];
    size_t                  audio_config_len;
    uint32_t                audio_codec;
    ngx_ams_tc_hold_t       audio;         /* waiting for video */
    int64_t                 size_msg_at;   /* the last size message */
    unsigned                size_msgs;

    ngx_ams_tc_stats_t      stats;

    unsigned                nmsgs;
    char                    msgs[NGX_AMS_TC_MSGS][NGX_AMS_TC_MSG_LEN];
};


static void ngx_ams_tc_msg(ngx_ams_tc_t *tc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int64_t ngx_ams_tc_clock(void);
static int ngx_ams_tc_open_decoder(ngx_ams_tc_t *tc);
static void ngx_ams_tc_decoded(ngx_ams_tc_t *tc, int64_t now);
static void ngx_ams_tc_picture(ngx_ams_tc_t *tc, AVFrame *src);
static void ngx_ams_tc_source_size(ngx_ams_tc_t *tc, AVFrame *src);
static int ngx_ams_tc_size_changed(ngx_ams_tc_rung_t *r);
static int ngx_ams_tc_may_reopen(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r);
static int ngx_ams_tc_config_size_ok(ngx_ams_tc_t *tc, const uint8_t *data,
    size_t len);
static int ngx_ams_tc_open_encoder(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r,
    unsigned i);
static enum AVPixelFormat ngx_ams_tc_pix_fmt(const AVCodec *codec);
static const AVCodec *ngx_ams_tc_try_encoder(ngx_ams_tc_t *tc,
    ngx_ams_tc_rung_t *r, const char *name);
static void ngx_ams_tc_close_encoder(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r,
    unsigned i);
static void ngx_ams_tc_encode(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r,
    unsigned i, AVFrame *pic);
static void ngx_ams_tc_packet(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r,
    unsigned i, AVPacket *pkt);
static void ngx_ams_tc_send_config(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r,
    unsigned i);
static void ngx_ams_tc_fail(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r,
    unsigned i);
static void ngx_ams_tc_audio_release(ngx_ams_tc_t *tc, int all);
static void ngx_ams_tc_audio_convert_open(ngx_ams_tc_t *tc);
static void ngx_ams_tc_audio_convert_out(ngx_ams_tc_t *tc, unsigned owner);
static void ngx_ams_tc_audio_convert_flush(ngx_ams_tc_t *tc);
static void ngx_ams_tc_emit(ngx_ams_tc_t *tc, unsigned i, unsigned kind,
    unsigned track, uint32_t codec, const ngx_ams_frame_t *f,
    const uint8_t *data, size_t len);
static int ngx_ams_tc_is_key(ngx_ams_tc_t *tc, int64_t pts);
static uint32_t ngx_ams_tc_live_mask(ngx_ams_tc_t *tc);


ngx_ams_tc_t *
ngx_ams_tc_create(const ngx_ams_tc_opts_t *opts, const ngx_ams_rung_t *rungs,
    unsigned n, ngx_ams_tc_out_pt out, void *data, char *err, size_t err_len)
{
    unsigned       i;
    ngx_ams_tc_t  *tc;

    if (n == 0 || n > NGX_AMS_LADDER_MAX) {
        snprintf(err, err_len, "no rungs to encode");
        return NULL;
    }

    tc = calloc(1, sizeof(ngx_ams_tc_t));
    if (tc == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }

    snprintf(tc->encoder, sizeof(tc->encoder), "%s",
             opts->encoder && opts->encoder[0] ? opts->encoder : "libx264");
    snprintf(tc->preset, sizeof(tc->preset), "%s",
             opts->preset ? opts->preset : "");
    snprintf(tc->profile, sizeof(tc->profile), "%s",
             opts->profile ? opts->profile : "");
    snprintf(tc->tune, sizeof(tc->tune), "%s",
             opts->tune ? opts->tune : "");
    tc->opts = *opts;

    tc->out = out;
    tc->data = data;
    tc->now = ngx_ams_tc_clock;
    tc->n = n;
    tc->need_key = 1;
    tc->src_fmt = -1;
    ngx_ams_tc_hold_init(&tc->audio);

    for (i = 0; i < n; i++) {
        tc->rung[i].conf = rungs[i];
        tc->rung[i].live = 1;
        tc->rung[i].aconv_owner = -1;
    }

    tc->pkt = av_packet_alloc();
    tc->opkt = av_packet_alloc();
    tc->frame = av_frame_alloc();

    if (tc->pkt == NULL || tc->opkt == NULL || tc->frame == NULL) {
        snprintf(err, err_len, "out of memory");
        ngx_ams_tc_destroy(tc);
        return NULL;
    }

    return tc;
}


void
ngx_ams_tc_set_clock(ngx_ams_tc_t *tc, int64_t (*now)(void))
{
    tc->now = now;
}


static int64_t
ngx_ams_tc_clock(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


static void
ngx_ams_tc_msg(ngx_ams_tc_t *tc, const char *fmt, ...)
{
    va_list  args;

    if (tc->nmsgs == NGX_AMS_TC_MSGS) {
        return;
    }

    va_start(args, fmt);
    vsnprintf(tc->msgs[tc->nmsgs++], NGX_AMS_TC_MSG_LEN, fmt, args);
    va_end(args);
}


unsigned
ngx_ams_tc_messages(ngx_ams_tc_t *tc, char msgs[][NGX_AMS_TC_MSG_LEN])
{
    unsigned  i, n;

    n = tc->nmsgs;

    for (i = 0; i < n; i++) {
        memcpy(msgs[i], tc->msgs[i], NGX_AMS_TC_MSG_LEN);
    }

    tc->nmsgs = 0;

    return n;
}


void
ngx_ams_tc_config(ngx_ams_tc_t *tc, unsigned track, uint32_t codec,
    const uint8_t *data, size_t len)
{
    if (track == NGX_AMS_TRACK_AUDIO) {
        if (len > sizeof(tc->audio_config)) {
            return;
        }

        /* what waits belongs to the old configuration */
        ngx_ams_tc_audio_release(tc, 1);
        ngx_ams_tc_audio_convert_flush(tc);

        memcpy(tc->audio_config, data, len);
        tc->audio_config_len = len;
        tc->audio_codec = codec;

        ngx_ams_tc_audio_convert_open(tc);

        return;
    }

    if (track != NGX_AMS_TRACK_VIDEO || codec != NGX_AMS_CODEC_H264
        || len == 0 || len > sizeof(tc->avcc))
    {
        return;
    }

    if (tc->dec && len == tc->avcc_len && memcmp(data, tc->avcc, len) == 0) {
        return;
    }

    /* what the old decoder holds is still the old picture: encode it */
    if (tc->dec && !tc->dec_failed) {
        if (avcodec_send_packet(tc->dec, NULL) == 0) {
            ngx_ams_tc_decoded(tc, tc->now());
        }
    }

    avcodec_free_context(&tc->dec);
    memcpy(tc->avcc, data, len);
    tc->avcc_len = len;
    tc->need_key = 1;
    tc->nkeys = 0;

    if (!ngx_ams_tc_config_size_ok(tc, data, len)) {
        /* frames wait for another avcC, the decoder never allocates */
        tc->dec_failed = 1;
        return;
    }

    tc->dec_failed = (ngx_ams_tc_open_decoder(tc) != 0);
}


/*
 * The picture size its SPS states, checked before the decoder opens
 * (libavcodec takes an SPS up to about 16000x16000 and allocates its
 * pictures at once): an avcC, or Annex B parameter sets (what an encoder
 * gives as extradata).  A size not found is left to the decoder's own
 * max_pixels.
 */

static int
ngx_ams_tc_config_size_ok(ngx_ams_tc_t *tc, const uint8_t *data, size_t len)
{
    size_t                 pos, n;
    uint32_t               w, h;
    const char            *err;
    const uint8_t         *nal;
    ngx_ams_avc_config_t   cfg;

    w = 0;
    h = 0;

    if (data[0] == 1) {
        if (ngx_ams_avc_parse_config(data, len, &cfg, &err) == 0) {
            w = cfg.width;
            h = cfg.height;
        }

    } else {
        pos = 0;

        while (ngx_ams_tc_annexb_next(data, len, &pos, &nal, &n)) {
            if ((nal[0] & 0x1f) == 7) {
                (void) ngx_ams_avc_parse_sps(nal, n, &w, &h);
                break;
            }
        }
    }

    if (w > NGX_AMS_TC_MAX_SIDE || h > NGX_AMS_TC_MAX_SIDE
        || (uint64_t) w * h > NGX_AMS_TC_MAX_PIXELS)
    {
        ngx_ams_tc_msg(tc, "the stream's picture (%ux%u) is over the "
                       "limit (%u pixels): not decoded", w, h,
                       (unsigned) NGX_AMS_TC_MAX_PIXELS);
        return 0;
    }

    return 1;
}


static int
ngx_ams_tc_open_decoder(ngx_ams_tc_t *tc)
{
    const AVCodec  *codec;

    codec = avcodec_find_decoder(AV_CODEC_ID_H264);
    if (codec == NULL) {
        ngx_ams_tc_msg(tc, "no H.264 decoder in libavcodec");
        return -1;
    }

    tc->dec = avcodec_alloc_context3(codec);
    if (tc->dec == NULL) {
        return -1;
    }

    tc->dec->extradata = av_mallocz(tc->avcc_len
                                    + AV_INPUT_BUFFER_PADDING_SIZE);
    if (tc->dec->extradata == NULL) {
        avcodec_free_context(&tc->dec);
        return -1;
    }

    memcpy(tc->dec->extradata, tc->avcc, tc->avcc_len);
    tc->dec->extradata_size = (int) tc->avcc_len;
    tc->dec->time_base = (AVRational) { 1, NGX_AMS_TIMEBASE };
    tc->dec->pkt_timebase = (AVRational) { 1, NGX_AMS_TIMEBASE };

    /* one thread: frame threads would hold frames back (latency) */
    tc->dec->thread_count = 1;

    /* an SPS in the stream may state any size: refused before the
     * decoder allocates a picture of it */
    tc->dec->max_pixels = NGX_AMS_TC_MAX_PIXELS;

    if (avcodec_open2(tc->dec, codec, NULL) < 0) {
        /* an avcC the decoder refuses: frames wait for the next one */
        ngx_ams_tc_msg(tc, "the decoder refused the stream's avcC; "
                       "waiting for another");
        avcodec_free_context(&tc->dec);
        return -1;
    }

    return 0;
}


void
ngx_ams_tc_frame(ngx_ams_tc_t *tc, const ngx_ams_frame_t *frame,
    const uint8_t *data, int64_t arrival)
{
    int       rc;
    size_t    size;
    uint8_t  *p;

    if (frame->track == NGX_AMS_TRACK_AUDIO) {
        if (ngx_ams_tc_hold_push(&tc->audio, frame, data) != 0) {
            return;
        }

        ngx_ams_tc_audio_release(tc, 0);
        return;
    }

    if (frame->track != NGX_AMS_TRACK_VIDEO
        || frame->codec != NGX_AMS_CODEC_H264)
    {
        return;
    }

    tc->stats.frames_in++;

    if (tc->stats.frames_in > 1 && frame->dts > tc->last_dts
        && (tc->min_delta == 0 || frame->dts - tc->last_dts < tc->min_delta))
    {
        tc->min_delta = frame->dts - tc->last_dts;
    }

    tc->last_dts = frame->dts;

    if (tc->dec == NULL) {
        tc->stats.resync_dropped++;
        return;
    }

    if (tc->need_key) {
        if (!(frame->flags & NGX_AMS_FRAME_KEY)) {
            tc->stats.resync_dropped++;
            return;
        }

        tc->need_key = 0;
    }

    size = frame->size + AV_INPUT_BUFFER_PADDING_SIZE;

    if (size > tc->in_size) {
        p = realloc(tc->in, size);
        if (p == NULL) {
            return;
        }

        tc->in = p;
        tc->in_size = size;
    }

    memcpy(tc->in, data, frame->size);
    memset(tc->in + frame->size, 0, AV_INPUT_BUFFER_PADDING_SIZE);

    tc->pkt->data = tc->in;
    tc->pkt->size = (int) frame->size;
    tc->pkt->dts = frame->dts;
    tc->pkt->pts = frame->dts + frame->cts;
    tc->pkt->flags = (frame->flags & NGX_AMS_FRAME_KEY) ? AV_PKT_FLAG_KEY : 0;

    if (frame->flags & NGX_AMS_FRAME_KEY) {
        tc->keys[tc->nkeys++ % NGX_AMS_TC_KEYS] = tc->pkt->pts;
    }

    ngx_ams_tc_latency_arrived(&tc->lat, tc->pkt->pts, arrival);

    rc = avcodec_send_packet(tc->dec, tc->pkt);

    tc->pkt->data = NULL;
    tc->pkt->size = 0;

    if (rc < 0 && rc != AVERROR(EAGAIN)) {
        tc->stats.decode_errors++;
        ngx_ams_tc_resync(tc);
        return;
    }

    ngx_ams_tc_decoded(tc, arrival);
}


static void
ngx_ams_tc_decoded(ngx_ams_tc_t *tc, int64_t now)
{
    int  rc;

    for ( ;; ) {
        rc = avcodec_receive_frame(tc->dec, tc->frame);
        if (rc < 0) {
            if (rc != AVERROR(EAGAIN) && rc != AVERROR_EOF) {
                tc->stats.decode_errors++;
                ngx_ams_tc_resync(tc);
            }

            return;
        }

        if (tc->frame->width <= 0 || tc->frame->height <= 0
            || tc->frame->width > NGX_AMS_TC_MAX_SIDE
            || tc->frame->height > NGX_AMS_TC_MAX_SIDE)
        {
            tc->stats.decode_errors++;
            av_frame_unref(tc->frame);
            ngx_ams_tc_resync(tc);
            return;
        }

        /* damaged but concealed by the decoder (noise on the wire): still
         * a picture, better than a hole of a whole GOP in every rung; the
         * decoder itself waits for a keyframe after what it cannot use */
        if (ngx_ams_tc_frame_corrupt(tc->frame)
            || tc->frame->decode_error_flags)
        {
            tc->stats.concealed++;
        }

        tc->stats.decoded++;
        ngx_ams_tc_picture(tc, tc->frame);
        av_frame_unref(tc->frame);
    }
}


void
ngx_ams_tc_resync(ngx_ams_tc_t *tc)
{
    tc->need_key = 1;
    tc->nkeys = 0;

    if (tc->dec) {
        /* reference frames of before the gap are no use after it */
        avcodec_flush_buffers(tc->dec);
    }
}


/* a decoded picture: its keyframe decision, then every rung */

static void
ngx_ams_tc_picture(ngx_ams_tc_t *tc, AVFrame *src)
{
    int                 key, back;
    int64_t             pts;
    unsigned            i, from;
    AVFrame            *in;
    ngx_ams_tc_rung_t  *r;

    pts = (src->pts != AV_NOPTS_VALUE) ? src->pts : src->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) {
        return;
    }

    src->pts = pts;

    if (src->width != tc->src_w || src->height != tc->src_h
        || src->format != tc->src_fmt)
    {
        ngx_ams_tc_source_size(tc, src);
    }

    key = ngx_ams_tc_is_key(tc, pts);

    if (!key && tc->opts.keyint_ms && tc->has_key_pts
        && pts - tc->last_key_pts
           >= (int64_t) tc->opts.keyint_ms * (NGX_AMS_TIMEBASE / 1000))
    {
        key = 1;
    }

    if (key) {
        tc->last_key_pts = pts;
        tc->has_key_pts = 1;
    }

    ngx_ams_tc_latency_picture(&tc->lat, pts,
                               ngx_ams_tc_latency_arrival(&tc->lat, pts,
                                                          tc->now()));

    from = (unsigned) -1;

    for (i = 0; i < tc->n; i++) {
        r = &tc->rung[i];

        if (!r->live) {
            continue;
        }

        /* the cascade: scaled from the nearest live rung above */
        in = (from == (unsigned) -1) ? src : tc->rung[from].pic;

        if (r->has_pts_in && pts <= r->last_pts_in) {
            back = (pts < r->last_pts_in);

            if (!back || !ngx_ams_tc_may_reopen(tc, r)) {
                /* the same time again, or a timeline going back too
                 * often: nothing to encode */
                continue;
            }

            /* the timeline went back: a new encoder, a new timeline */
            ngx_ams_tc_msg(tc, "rung %up: timestamps went back %.3f s, "
                           "encoder re-opened", r->conf.height,
                           (double) (r->last_pts_in - pts) / NGX_AMS_TIMEBASE);
            ngx_ams_tc_close_encoder(tc, r, i);
            tc->stats.reopened++;

            if (!r->live || !key) {
                /* a new encoder starts with an IDR: make it the source's
                 * next one so the rungs stay aligned */
                continue;
            }
        }

        if (r->enc == NULL && !key) {
            /* an encoder starts at a source keyframe */
            continue;
        }

        /* a new size: the encoder goes on (the scaler takes any input
         * size) until a keyframe, and is re-opened only for a change
         * that shows, at most once in NGX_AMS_TC_REOPEN_GAP */
        if (r->enc && key && ngx_ams_tc_size_changed(r)
            && ngx_ams_tc_may_reopen(tc, r))
        {
            ngx_ams_tc_close_encoder(tc, r, i);
            tc->stats.reopened++;

            if (!r->live) {
                /* the drain found the rung stopped */
                continue;
            }
        }

        if (r->enc == NULL && ngx_ams_tc_open_encoder(tc, r, i) != 0) {
            ngx_ams_tc_fail(tc, r, i);
            continue;
        }

        if (av_frame_make_writable(r->pic) < 0) {
            continue;
        }

        r->sws = sws_getCachedContext(r->sws, in->width, in->height,
                                      in->format, r->width, r->height,
                                      r->pic->format, SWS_BICUBIC,
                                      NULL, NULL, NULL);
        if (r->sws == NULL) {
            continue;
        }

        sws_scale(r->sws, (const uint8_t * const *) in->data, in->linesize,
                  0, in->height, r->pic->data, r->pic->linesize);

        r->pic->pts = pts;
        r->pic->pict_type = key ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
        r->last_pts_in = pts;
        r->has_pts_in = 1;

        ngx_ams_tc_encode(tc, r, i, r->pic);

        if (r->live) {
            from = i;
        }
    }

    ngx_ams_tc_audio_release(tc, 0);
}


/* the source's size (or pixel format) changed: each rung's width for
 * its height, even, keeping the picture's aspect */

static void
ngx_ams_tc_source_size(ngx_ams_tc_t *tc, AVFrame *src)
{
    int                 w;
    unsigned            i;
    ngx_ams_tc_rung_t  *r;

    int64_t             now;

    if (tc->src_w && (src->width != tc->src_w || src->height != tc->src_h)) {
        /* one message in NGX_AMS_TC_REOPEN_GAP: a size changing every
         * frame must not fill the log */
        now = tc->now();
        tc->size_msgs++;

        if (tc->size_msgs == 1 || now - tc->size_msg_at
                                  >= NGX_AMS_TC_REOPEN_GAP)
        {
            ngx_ams_tc_msg(tc, "source size %dx%d -> %dx%d (%u changes): "
                           "encoders re-opened at a keyframe", tc->src_w,
                           tc->src_h, src->width, src->height,
                           tc->size_msgs);
            tc->size_msg_at = now;
            tc->size_msgs = 0;
        }
    }

    tc->src_w = src->width;
    tc->src_h = src->height;
    tc->src_fmt = src->format;

    for (i = 0; i < tc->n; i++) {
        r = &tc->rung[i];

        w = (int) (((int64_t) src->width * r->conf.height
                    + src->height) / src->height / 2 * 2);

        if (w > NGX_AMS_TC_MAX_WIDTH) {
            w = NGX_AMS_TC_MAX_WIDTH;
        }

        if (w > (int) ngx_ams_tc_max_width(r->conf.height)) {
            w = (int) ngx_ams_tc_max_width(r->conf.height) / 2 * 2;
        }

        r->want_width = w < 2 ? 2 : w;
    }
}


/* the encoder's size is not the rung's for the source's size now */

static int
ngx_ams_tc_size_changed(ngx_ams_tc_rung_t *r)
{
    int  d;

    if (r->height != (int) r->conf.height) {
        return 1;
    }

    d = r->want_width - r->width;
    if (d < 0) {
        d = -d;
    }

    return d * NGX_AMS_TC_SIZE_SLACK > r->width;
}


/* a re-open is due: notes its time when it is allowed */

static int
ngx_ams_tc_may_reopen(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r)
{
    int64_t  now;

    now = tc->now();

    if (r->reopened && now - r->reopened_at < NGX_AMS_TC_REOPEN_GAP) {
        return 0;
    }

    r->reopened = 1;
    r->reopened_at = now;

    return 1;
}


/*
 * The rate for the encoders' level and lookahead: the SPS's when it is
 * plausible (an SPS may give its timebase instead: 45000 fps), else the
 * packets' spacing, else 30.  Rate control follows the timestamps.
 */

static AVRational
ngx_ams_tc_rate(ngx_ams_tc_t *tc)
{
    double  fps;

    if (tc->dec && tc->dec->framerate.num > 0 && tc->dec->framerate.den > 0) {
        fps = av_q2d(tc->dec->framerate);

        if (fps >= 1 && fps <= 240) {
            return tc->dec->framerate;
        }
    }

    if (tc->min_delta > 0 && tc->min_delta <= NGX_AMS_TIMEBASE) {
        return av_d2q((double) NGX_AMS_TIMEBASE / tc->min_delta, 1001000);
    }

    return (AVRational) { 30, 1 };
}


static int
ngx_ams_tc_open_encoder(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r, unsigned i)
{
    const AVCodec  *codec;

    r->width = r->want_width;
    r->height = (int) r->conf.height;

    /* no rung larger than the largest source decoded (a forceEncode
     * 4320p rung, a squeezed extreme aspect): its encoder is not opened */
    if ((int64_t) r->width * r->height > NGX_AMS_TC_MAX_PIXELS) {
        tc->stats.not_opened++;
        ngx_ams_tc_msg(tc, "rung %up: encoder %s did not open (%dx%d is "
                       "over %u pixels): the stream goes on without it",
                       r->conf.height, tc->encoder, r->width, r->height,
                       (unsigned) NGX_AMS_TC_MAX_PIXELS);
        return -1;
    }

    codec = NULL;

    if (strcmp(tc->encoder, "libx264") != 0) {
        codec = ngx_ams_tc_try_encoder(tc, r, tc->encoder);
        if (codec == NULL) {
            ngx_ams_tc_msg(tc, "rung %up: encoder \"%s\" unavailable here, "
                           "falling back to libx264", r->conf.height,
                           tc->encoder);
        }
    }

    if (codec == NULL) {
        codec = ngx_ams_tc_try_encoder(tc, r, "libx264");
        if (codec == NULL) {
            tc->stats.not_opened++;
            ngx_ams_tc_msg(tc, "rung %up: encoder libx264 did not open "
                           "(%dx%d, preset \"%s\", profile \"%s\", tune "
                           "\"%s\"): the stream goes on without it",
                           r->conf.height, r->width, r->height, tc->preset,
                           tc->profile, tc->tune);
            return -1;
        }
    }

    av_frame_free(&r->pic);

    r->pic = av_frame_alloc();
    if (r->pic == NULL) {
        return -1;
    }

    r->pic->format = r->enc->pix_fmt;
    r->pic->width = r->width;
    r->pic->height = r->height;

    if (av_frame_get_buffer(r->pic, 0) < 0) {
        return -1;
    }

    r->config_sent = 0;
    r->has_pts_in = 0;

    return 0;
}


/* 4:2:0 in system memory: yuv420p, or nv12 (h264_qsv); an encoder that
 * takes only hardware frames (h264_vaapi) does not open, and libx264
 * takes over */

static enum AVPixelFormat
ngx_ams_tc_pix_fmt(const AVCodec *codec)
{
    const enum AVPixelFormat  *f;

    if (codec->pix_fmts == NULL) {
        return AV_PIX_FMT_YUV420P;
    }

    for (f = codec->pix_fmts; *f != AV_PIX_FMT_NONE; f++) {
        if (*f == AV_PIX_FMT_YUV420P) {
            return *f;
        }
    }

    for (f = codec->pix_fmts; *f != AV_PIX_FMT_NONE; f++) {
        if (*f == AV_PIX_FMT_NV12) {
            return *f;
        }
    }

    return codec->pix_fmts[0];
}


static const AVCodec *
ngx_ams_tc_try_encoder(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r,
    const char *name)
{
    char               params[128];
    AVDictionary      *opts;
    const AVCodec     *codec;
    AVCodecContext    *enc;

    codec = avcodec_find_encoder_by_name(name);
    if (codec == NULL) {
        return NULL;
    }

    enc = avcodec_alloc_context3(codec);
    if (enc == NULL) {
        return NULL;
    }

    enc->width = r->width;
    enc->height = r->height;
    enc->pix_fmt = ngx_ams_tc_pix_fmt(codec);
    enc->time_base = (AVRational) { 1, NGX_AMS_TIMEBASE };
    enc->framerate = ngx_ams_tc_rate(tc);
    enc->sample_aspect_ratio = (AVRational) { 1, 1 };
    enc->bit_rate = r->conf.video_bitrate;
    enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    enc->thread_count = (int) tc->opts.threads;

    /* keyframes are the source's (forced), never the encoder's own */
    enc->gop_size = 1 << 30;
    enc->keyint_min = 1;

    opts = NULL;

    if (strcmp(codec->name, "libx264") == 0) {
        if (tc->preset[0]) {
            av_dict_set(&opts, "preset", tc->preset, 0);
        }

        if (tc->tune[0]) {
            av_dict_set(&opts, "tune", tc->tune, 0);
        }

        if (tc->profile[0]) {
            av_dict_set(&opts, "profile", tc->profile, 0);
        }

        av_dict_set(&opts, "forced-idr", "1", 0);
        av_dict_set(&opts, "sc_threshold", "0", 0);

        snprintf(params, sizeof(params),
                 "scenecut=0:open-gop=0:keyint=infinite:min-keyint=1");
        av_dict_set(&opts, "x264-params", params, 0);

    } else {
        /* hardware encoders: their own presets; IDRs where asked */
        av_dict_set(&opts, "forced-idr", "1", 0);
        enc->max_b_frames = 0;
    }

    if (avcodec_open2(enc, codec, &opts) < 0) {
        av_dict_free(&opts);
        avcodec_free_context(&enc);
        return NULL;
    }

    av_dict_free(&opts);

    /* its SPS and PPS as the rung's avcC: an encoder that gives none
     * did not open */
    r->avcc_len = (enc->extradata == NULL) ? 0
                  : ngx_ams_tc_avcc_build(enc->extradata,
                                          (size_t) enc->extradata_size,
                                          r->avcc, sizeof(r->avcc));
    if (r->avcc_len == 0) {
        avcodec_free_context(&enc);
        return NULL;
    }

    r->enc = enc;

    return codec;
}


/* drains what the encoder holds into the rung, then closes it */

static void
ngx_ams_tc_close_encoder(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r, unsigned i)
{
    if (r->enc == NULL) {
        return;
    }

    if (r->live) {
        ngx_ams_tc_encode(tc, r, i, NULL);
    }

    avcodec_free_context(&r->enc);
    r->has_pts_in = 0;
}


static void
ngx_ams_tc_encode(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r, unsigned i,
    AVFrame *pic)
{
    int  rc;

    rc = avcodec_send_frame(r->enc, pic);
    if (rc < 0 && rc != AVERROR_EOF) {
        return;
    }

    for ( ;; ) {
        rc = avcodec_receive_packet(r->enc, tc->opkt);
        if (rc < 0) {
            return;
        }

        ngx_ams_tc_packet(tc, r, i, tc->opkt);
        av_packet_unref(tc->opkt);

        if (!r->live) {
            return;
        }
    }
}


static void
ngx_ams_tc_packet(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r, unsigned i,
    AVPacket *pkt)
{
    size_t           len, cap;
    uint8_t         *p;
    ngx_ams_frame_t  f;

    if (!r->config_sent) {
        ngx_ams_tc_send_config(tc, r, i);
    }

    /* Annex B to AVCC: 4-byte lengths instead of 3- or 4-byte start
     * codes, so at most one byte more per NAL unit */
    cap = (size_t) pkt->size * 2 + 64;

    if (cap > tc->outbuf_size) {
        p = realloc(tc->outbuf, cap);
        if (p == NULL) {
            return;
        }

        tc->outbuf = p;
        tc->outbuf_size = cap;
    }

    len = ngx_ams_tc_annexb_to_avcc(pkt->data, (size_t) pkt->size,
                                    tc->outbuf, tc->outbuf_size);
    if (len == 0) {
        return;
    }

    memset(&f, 0, sizeof(f));
    f.dts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    f.cts = (int32_t) (pkt->pts - f.dts);
    f.track = NGX_AMS_TRACK_VIDEO;
    f.codec = NGX_AMS_CODEC_H264;
    f.flags = (pkt->flags & AV_PKT_FLAG_KEY) ? NGX_AMS_FRAME_KEY : 0;
    f.size = (uint32_t) len;

    r->last_dts = f.dts;
    r->has_output = 1;
    tc->stats.encoded++;

    ngx_ams_tc_emit(tc, i, NGX_AMS_HANDOFF_FRAME, NGX_AMS_TRACK_VIDEO,
                    NGX_AMS_CODEC_H264, &f, tc->outbuf, len);

    ngx_ams_tc_latency_encoded(&tc->lat, i, pkt->pts,
                               ngx_ams_tc_live_mask(tc), tc->now());
}


/* the rung's avcC (made when its encoder opened), before its first
 * frame */

static void
ngx_ams_tc_send_config(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r, unsigned i)
{
    ngx_ams_tc_emit(tc, i, NGX_AMS_HANDOFF_CONFIG, NGX_AMS_TRACK_VIDEO,
                    NGX_AMS_CODEC_H264, NULL, r->avcc, r->avcc_len);

    r->config_sent = 1;
}


static void
ngx_ams_tc_fail(ngx_ams_tc_t *tc, ngx_ams_tc_rung_t *r, unsigned i)
{
    r->live = 0;
    avcodec_free_context(&r->enc);
    sws_freeContext(r->sws);
    r->sws = NULL;
    av_frame_free(&r->pic);

    ngx_ams_tc_emit(tc, i, NGX_AMS_HANDOFF_EOS, 0, 0, NULL, NULL, 0);
}


void
ngx_ams_tc_rung_stop(ngx_ams_tc_t *tc, unsigned i)
{
    ngx_ams_tc_rung_t  *r;

    if (i >= tc->n || !tc->rung[i].live) {
        return;
    }

    r = &tc->rung[i];
    r->live = 0;
    avcodec_free_context(&r->enc);
    sws_freeContext(r->sws);
    r->sws = NULL;
    av_frame_free(&r->pic);
}


/*
 * Audio frames go to every rung once each rung's video was encoded past
 * them; a rung that produces nothing (yet) holds them at most
 * NGX_AMS_TC_AUDIO_HOLD, and the queue is bounded in frames and bytes
 * (ngx_ams_tc_audio_hold.c), so audio never waits forever on video.
 */

static void
ngx_ams_tc_audio_release(ngx_ams_tc_t *tc, int all)
{
    int64_t              upto;
    unsigned             i;
    ngx_ams_tc_audio_t  *a;

    /* how far every live rung's video has gone */
    upto = INT64_MAX;

    for (i = 0; i < tc->n; i++) {
        if (!tc->rung[i].live) {
            continue;
        }

        if (!tc->rung[i].has_output) {
            upto = INT64_MIN;
            break;
        }

        if (tc->rung[i].last_dts < upto) {
            upto = tc->rung[i].last_dts;
        }
    }

    while ((a = ngx_ams_tc_hold_due(&tc->audio, upto, all)) != NULL) {
        for (i = 0; i < tc->n; i++) {
            if (tc->rung[i].live && tc->rung[i].aconv_owner == -1) {
                ngx_ams_tc_emit(tc, i, NGX_AMS_HANDOFF_FRAME,
                                NGX_AMS_TRACK_AUDIO, a->frame.codec,
                                &a->frame, a->data, a->frame.size);
            }
        }

        for (i = 0; i < tc->n; i++) {
            if (tc->rung[i].aconv) {
                (void) ngx_ams_audio_conv_push(tc->rung[i].aconv, a->data,
                                               a->frame.size,
                                               a->frame.dts + a->frame.cts);
                ngx_ams_tc_audio_convert_out(tc, i);
            }
        }

        free(a);
    }
}


/*
 * Rungs with an audioBitrate get the source's audio re-encoded as AAC at
 * that rate (ngx_ams_audio_convert.c), one converter per distinct rate;
 * the others, and any whose converter cannot be made, pass it through.
 */

static void
ngx_ams_tc_audio_convert_open(ngx_ams_tc_t *tc)
{
    char                 err[160];
    size_t               len;
    unsigned             i, j;
    const uint8_t       *cfg;
    ngx_ams_tc_rung_t   *r;

    for (i = 0; i < tc->n; i++) {
        r = &tc->rung[i];
        r->aconv_owner = -1;

        if (!r->live || r->conf.audio_bitrate == 0
            || (tc->audio_codec != NGX_AMS_CODEC_AAC
                && tc->audio_codec != NGX_AMS_CODEC_OPUS))
        {
            continue;
        }

        for (j = 0; j < i; j++) {
            if (tc->rung[j].aconv
                && tc->rung[j].conf.audio_bitrate == r->conf.audio_bitrate)
            {
                r->aconv_owner = (int) j;
                break;
            }
        }

        if (r->aconv_owner != -1) {
            continue;
        }

        r->aconv = ngx_ams_audio_conv_create(tc->audio_codec,
                                             tc->audio_config,
                                             tc->audio_config_len,
                                             NGX_AMS_CODEC_AAC,
                                             r->conf.audio_bitrate,
                                             err, sizeof(err));
        if (r->aconv == NULL) {
            ngx_ams_tc_msg(tc, "rung %up: audio passed through, no AAC at "
                           "%u b/s: %s", r->conf.height,
                           r->conf.audio_bitrate, err);
            continue;
        }

        r->aconv_owner = (int) i;
    }

    for (i = 0; i < tc->n; i++) {
        r = &tc->rung[i];

        if (!r->live) {
            continue;
        }

        if (r->aconv_owner == -1) {
            ngx_ams_tc_emit(tc, i, NGX_AMS_HANDOFF_CONFIG,
                            NGX_AMS_TRACK_AUDIO, tc->audio_codec, NULL,
                            tc->audio_config, tc->audio_config_len);
            continue;
        }

        ngx_ams_audio_conv_config(tc->rung[r->aconv_owner].aconv, &cfg, &len);
        ngx_ams_tc_emit(tc, i, NGX_AMS_HANDOFF_CONFIG, NGX_AMS_TRACK_AUDIO,
                        NGX_AMS_CODEC_AAC, NULL, cfg, len);
    }
}


/* a converter's output to every live rung that shares it */

static void
ngx_ams_tc_audio_convert_out(ngx_ams_tc_t *tc, unsigned owner)
{
    size_t            len;
    int64_t           pts;
    unsigned          k;
    const uint8_t    *data;
    ngx_ams_frame_t   f;

    while (ngx_ams_audio_conv_pull(tc->rung[owner].aconv, &data, &len, &pts)
           == 1)
    {
        memset(&f, 0, sizeof(f));
        f.dts = pts;
        f.track = NGX_AMS_TRACK_AUDIO;
        f.codec = NGX_AMS_CODEC_AAC;
        f.size = (uint32_t) len;

        for (k = 0; k < tc->n; k++) {
            if (tc->rung[k].live && tc->rung[k].aconv_owner == (int) owner) {
                ngx_ams_tc_emit(tc, k, NGX_AMS_HANDOFF_FRAME,
                                NGX_AMS_TRACK_AUDIO, NGX_AMS_CODEC_AAC, &f,
                                data, len);
            }
        }
    }
}


/* what the converters hold, out; then they are gone */

static void
ngx_ams_tc_audio_convert_flush(ngx_ams_tc_t *tc)
{
    unsigned  i;

    for (i = 0; i < tc->n; i++) {
        if (tc->rung[i].aconv) {
            ngx_ams_audio_conv_flush(tc->rung[i].aconv);
            ngx_ams_tc_audio_convert_out(tc, i);
            ngx_ams_audio_conv_destroy(tc->rung[i].aconv);
            tc->rung[i].aconv = NULL;
        }

        tc->rung[i].aconv_owner = -1;
    }
}


static void
ngx_ams_tc_emit(ngx_ams_tc_t *tc, unsigned i, unsigned kind, unsigned track,
    uint32_t codec, const ngx_ams_frame_t *f, const uint8_t *data,
    size_t len)
{
    ngx_ams_handoff_msg_t  msg;

    memset(&msg, 0, sizeof(msg));
    msg.kind = kind;
    msg.track = track;
    msg.codec = codec;

    if (f) {
        msg.frame = *f;
    }

    msg.data = data;
    msg.len = (uint32_t) len;

    tc->out(tc->data, i, &msg);
}


static int
ngx_ams_tc_is_key(ngx_ams_tc_t *tc, int64_t pts)
{
    unsigned  i, n;

    n = tc->nkeys < NGX_AMS_TC_KEYS ? tc->nkeys : NGX_AMS_TC_KEYS;

    for (i = 0; i < n; i++) {
        if (tc->keys[i] == pts) {
            return 1;
        }
    }

    return 0;
}


static uint32_t
ngx_ams_tc_live_mask(ngx_ams_tc_t *tc)
{
    unsigned  i;
    uint32_t  m;

    m = 0;

    for (i = 0; i < tc->n; i++) {
        if (tc->rung[i].live && tc->rung[i].enc) {
            m |= 1u << i;
        }
    }

    return m;
}


int
ngx_ams_tc_latency(ngx_ams_tc_t *tc, double *median, double *p99)
{
    return ngx_ams_tc_latency_figures(&tc->lat, median, p99);
}


void
ngx_ams_tc_flush(ngx_ams_tc_t *tc, int64_t now)
{
    unsigned  i;

    if (tc->dec && !tc->dec_failed) {
        if (avcodec_send_packet(tc->dec, NULL) == 0) {
            ngx_ams_tc_decoded(tc, now);
        }
    }

    for (i = 0; i < tc->n; i++) {
        if (tc->rung[i].live && tc->rung[i].enc) {
            ngx_ams_tc_encode(tc, &tc->rung[i], i, NULL);
        }
    }

    ngx_ams_tc_audio_release(tc, 1);
    ngx_ams_tc_audio_convert_flush(tc);
}


void
ngx_ams_tc_stats(ngx_ams_tc_t *tc, ngx_ams_tc_stats_t *st)
{
    *st = tc->stats;
    st->latency_samples = tc->lat.samples;
}


void
ngx_ams_tc_destroy(ngx_ams_tc_t *tc)
{
    unsigned  i;

    for (i = 0; i < tc->n; i++) {
        avcodec_free_context(&tc->rung[i].enc);
        sws_freeContext(tc->rung[i].sws);
        av_frame_free(&tc->rung[i].pic);

        if (tc->rung[i].aconv) {
            ngx_ams_audio_conv_destroy(tc->rung[i].aconv);
        }
    }

    ngx_ams_tc_hold_free(&tc->audio);

    avcodec_free_context(&tc->dec);
    av_packet_free(&tc->pkt);
    av_packet_free(&tc->opkt);
    av_frame_free(&tc->frame);
    free(tc->in);
    free(tc->outbuf);
    free(tc);
}
