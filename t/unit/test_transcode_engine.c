
/*
 * Copyright (C) nginx-ams authors
 *
 * The transcoding engine alone: a source made with libx264 here (320x240,
 * keyframes every 25 frames, AAC-like audio frames beside it) through a
 * two-rung ladder.  Each rung starts with its avcC, has its IDRs exactly
 * at the source's keyframes, every frame, the rung's size, and the audio
 * in step; garbage frames and a new size mid-stream do not stop it.  A
 * rung with an audioBitrate gets its audio re-encoded, the others the
 * source's.
 */


#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>

#include "tap.h"
#include "ngx_ams_avc.h"
#include "ngx_ams_transcode_engine.h"
#include "ngx_ams_tc_avcc.h"


#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>


#define FRAMES  75
#define GOP     25
#define TICKS   3600        /* 25 fps at 90 kHz */


typedef struct {
    unsigned        configs;
    unsigned        frames;
    unsigned        keys;
    unsigned        keys_off;      /* IDRs not at a source keyframe */
    unsigned        audio;
    unsigned        audio_configs;
    uint64_t        audio_bytes;
    unsigned        audio_early;   /* audio out before its video */
    unsigned        ended;
    unsigned        before_config;
    uint32_t        width;
    uint32_t        height;
    int64_t         last_video_dts;
    int64_t         last_dts_seen;
    int             have_video;
} rung_t;


static rung_t   rungs[2];
static int64_t  source_keys[64];
static unsigned nsource_keys;


static void audio_rungs(void);
static void limits(void);
static void avcc_helpers(void);


static void
out(void *data, unsigned i, const ngx_ams_handoff_msg_t *msg)
{
    unsigned               k, is_src_key;
    int64_t                pts;
    rung_t                *r = &rungs[i];
    ngx_ams_avc_config_t   cfg;
    const char            *err;

    if (msg->kind == NGX_AMS_HANDOFF_EOS) {
        r->ended++;
        return;
    }

    if (msg->kind == NGX_AMS_HANDOFF_CONFIG) {
        r->audio_configs += (msg->track == NGX_AMS_TRACK_AUDIO);

        if (msg->track == NGX_AMS_TRACK_VIDEO
            && ngx_ams_avc_parse_config(msg->data, msg->len, &cfg, &err)
               == 0)
        {
            r->configs++;
            r->width = cfg.width;
            r->height = cfg.height;
        }

        return;
    }

    if (msg->track == NGX_AMS_TRACK_AUDIO) {
        r->audio++;
        r->audio_bytes += msg->len;
        if (r->have_video && msg->frame.dts > r->last_video_dts + TICKS) {
            r->audio_early++;
        }

        return;
    }

    if (r->configs == 0) {
        r->before_config++;
    }

    r->frames++;
    r->have_video = 1;
    r->last_video_dts = msg->frame.dts;
    pts = msg->frame.dts + msg->frame.cts;

    if (msg->frame.flags & NGX_AMS_FRAME_KEY) {
        r->keys++;
        is_src_key = 0;

        for (k = 0; k < nsource_keys; k++) {
            if (source_keys[k] == pts) {
                is_src_key = 1;
            }
        }

        r->keys_off += !is_src_key;
    }
}


/* a source of w x h, Annex B (the decoder takes it as the bus's AVCC
 * would be taken: extradata tells which) */

static AVCodecContext *
source_encoder(int w, int h)
{
    const AVCodec   *codec;
    AVCodecContext  *enc;

    codec = avcodec_find_encoder_by_name("libx264");
    if (codec == NULL) {
        return NULL;
    }

    enc = avcodec_alloc_context3(codec);
    enc->width = w;
    enc->height = h;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = (AVRational) { 1, 90000 };
    enc->framerate = (AVRational) { 25, 1 };
    enc->gop_size = GOP;
    enc->keyint_min = GOP;
    enc->max_b_frames = 2;
    enc->bit_rate = 300000;
    enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_opt_set(enc->priv_data, "preset", "ultrafast", 0);
    av_opt_set(enc->priv_data, "x264-params", "scenecut=0:bframes=2", 0);

    if (avcodec_open2(enc, codec, NULL) < 0) {
        avcodec_free_context(&enc);
        return NULL;
    }

    return enc;
}


static void
feed(ngx_ams_tc_t *tc, AVCodecContext *enc, AVPacket *pkt)
{
    ngx_ams_frame_t  f;

    while (avcodec_receive_packet(enc, pkt) == 0) {
        memset(&f, 0, sizeof(f));
        f.dts = pkt->dts;
        f.cts = (int32_t) (pkt->pts - pkt->dts);
        f.track = NGX_AMS_TRACK_VIDEO;
        f.codec = NGX_AMS_CODEC_H264;
        f.size = (uint32_t) pkt->size;

        if (pkt->flags & AV_PKT_FLAG_KEY) {
            f.flags = NGX_AMS_FRAME_KEY;
            source_keys[nsource_keys++ % 64] = pkt->pts;
        }

        ngx_ams_tc_frame(tc, &f, pkt->data, 0);
        av_packet_unref(pkt);
    }
}


static void
run_source(ngx_ams_tc_t *tc, int w, int h, int64_t start, int frames)
{
    int              i, x, y;
    AVFrame         *pic;
    AVPacket        *pkt;
    AVCodecContext  *enc;
    ngx_ams_frame_t  a;
    static uint8_t   aac[200];

    enc = source_encoder(w, h);
    if (enc == NULL) {
        return;
    }

    ngx_ams_tc_config(tc, NGX_AMS_TRACK_VIDEO, NGX_AMS_CODEC_H264,
                      enc->extradata, enc->extradata_size);

    pic = av_frame_alloc();
    pic->format = AV_PIX_FMT_YUV420P;
    pic->width = w;
    pic->height = h;
    av_frame_get_buffer(pic, 0);
    pkt = av_packet_alloc();

    for (i = 0; i < frames; i++) {
        av_frame_make_writable(pic);

        for (y = 0; y < h; y++) {
            for (x = 0; x < w; x++) {
                pic->data[0][y * pic->linesize[0] + x] =
                    (uint8_t) (x + y + i * 3);
            }
        }

        memset(pic->data[1], 128, pic->linesize[1] * h / 2);
        memset(pic->data[2], 128, pic->linesize[2] * h / 2);
        pic->pts = start + (int64_t) i * TICKS;

        avcodec_send_frame(enc, pic);
        feed(tc, enc, pkt);

        /* audio beside it, as a publisher interleaves */
        memset(&a, 0, sizeof(a));
        a.dts = pic->pts;
        a.track = NGX_AMS_TRACK_AUDIO;
        a.codec = NGX_AMS_CODEC_AAC;
        a.size = sizeof(aac);
        ngx_ams_tc_frame(tc, &a, aac, 0);
    }

    avcodec_send_frame(enc, NULL);
    feed(tc, enc, pkt);

    av_packet_free(&pkt);
    av_frame_free(&pic);
    avcodec_free_context(&enc);
}


int
main(void)
{
    char                err[160];
    double              median, p99;
    unsigned            i;
    ngx_ams_tc_t       *tc;
    ngx_ams_rung_t      ladder[2];
    ngx_ams_frame_t     f;
    ngx_ams_tc_opts_t   opts;
    ngx_ams_tc_stats_t  st;
    static const uint8_t  asc[2] = { 0x12, 0x10 };
    static uint8_t      junk[3000];

    av_log_set_level(AV_LOG_QUIET);

    if (avcodec_find_encoder_by_name("libx264") == NULL) {
        ok(1, "# SKIP no libx264 in this libavcodec");
        return done_testing();
    }

    memset(ladder, 0, sizeof(ladder));
    ladder[0].height = 240;          /* the source's own height */
    ladder[0].video_bitrate = 400000;
    ladder[1].height = 120;
    ladder[1].video_bitrate = 150000;

    memset(&opts, 0, sizeof(opts));
    opts.encoder = "libx264";
    opts.preset = "ultrafast";
    opts.threads = 1;

    tc = ngx_ams_tc_create(&opts, ladder, 2, out, NULL, err, sizeof(err));
    ok(tc != NULL, "engine made");

    ngx_ams_tc_config(tc, NGX_AMS_TRACK_AUDIO, NGX_AMS_CODEC_AAC, asc, 2);
    run_source(tc, 320, 240, 0, FRAMES);
    ngx_ams_tc_flush(tc, 0);

    for (i = 0; i < 2; i++) {
        is_int(rungs[i].configs, 1, "rung %u: one avcC", i);
        is_int(rungs[i].before_config, 0, "rung %u: before any frame", i);
        is_int(rungs[i].frames, FRAMES, "rung %u: every frame", i);
        is_int(rungs[i].keys, FRAMES / GOP, "rung %u: an IDR per source "
               "keyframe", i);
        is_int(rungs[i].keys_off, 0, "rung %u: each at a source keyframe's "
               "pts", i);
        is_int(rungs[i].audio, FRAMES, "rung %u: all the audio", i);
        is_int(rungs[i].audio_early, 0, "rung %u: audio never ahead of its "
               "video", i);
    }

    ok(rungs[0].width == 320 && rungs[0].height == 240,
       "rung 0 is 320x240 (%ux%u)", rungs[0].width, rungs[0].height);
    ok(rungs[1].width == 160 && rungs[1].height == 120,
       "rung 1 is 160x120 (%ux%u): the aspect kept", rungs[1].width,
       rungs[1].height);

    ok(ngx_ams_tc_latency(tc, &median, &p99) == 0 && p99 >= median,
       "latency figures: median %.0f ms, p99 %.0f ms", median, p99);

    /* garbage: frames that are no H.264, a keyframe cut short */
    memset(&f, 0, sizeof(f));
    f.track = NGX_AMS_TRACK_VIDEO;
    f.codec = NGX_AMS_CODEC_H264;

    for (i = 0; i < 20; i++) {
        junk[i * 7 % sizeof(junk)] = (uint8_t) (i * 37);
        f.dts = (FRAMES + i) * TICKS;
        f.size = 1 + i * 131 % sizeof(junk);
        f.flags = (i % 5 == 0) ? NGX_AMS_FRAME_KEY : 0;
        ngx_ams_tc_frame(tc, &f, junk, 0);
    }

    ngx_ams_tc_stats(tc, &st);
    ok(1, "garbage survived: %llu decode errors",
       (unsigned long long) st.decode_errors);

    /* a new size: a new avcC, the rungs re-opened at the new aspect */
    memset(rungs, 0, sizeof(rungs));
    nsource_keys = 0;
    run_source(tc, 480, 240, (FRAMES + 40) * TICKS, 50);
    ngx_ams_tc_flush(tc, 0);

    for (i = 0; i < 2; i++) {
        is_int(rungs[i].configs, 1, "rung %u: a new avcC after the new "
               "size", i);
        ok(rungs[i].frames >= 50 - GOP, "rung %u: %u frames after it", i,
           rungs[i].frames);
        is_int(rungs[i].keys_off, 0, "rung %u: IDRs still at source "
               "keyframes", i);
    }

    ok(rungs[0].width == 480 && rungs[1].width == 240,
       "widths follow the new aspect (%u, %u)", rungs[0].width,
       rungs[1].width);

    ngx_ams_tc_destroy(tc);

    /* an encoder that does not open: its rung ends, the other goes on */
    memset(rungs, 0, sizeof(rungs));
    opts.profile = "baseline";
    opts.tune = "no-such-tune";
    tc = ngx_ams_tc_create(&opts, ladder, 2, out, NULL, err, sizeof(err));
    run_source(tc, 320, 240, 0, 30);
    ngx_ams_tc_flush(tc, 0);
    ngx_ams_tc_stats(tc, &st);
    ok(rungs[0].ended && rungs[1].ended && st.not_opened == 2,
       "a bad tune: both rungs end, counted (%llu)",
       (unsigned long long) st.not_opened);
    ngx_ams_tc_destroy(tc);

    /* a hardware encoder this machine lacks: libx264 instead */
    memset(rungs, 0, sizeof(rungs));
    opts.encoder = "h264_nosuch";
    opts.tune = NULL;
    tc = ngx_ams_tc_create(&opts, ladder, 2, out, NULL, err, sizeof(err));
    run_source(tc, 320, 240, 0, 30);
    ngx_ams_tc_flush(tc, 0);
    ok(rungs[0].frames == 30 && rungs[1].frames == 30,
       "an unknown encoder falls back to libx264");
    {
        char      msgs[NGX_AMS_TC_MSGS][NGX_AMS_TC_MSG_LEN];
        unsigned  n;

        n = ngx_ams_tc_messages(tc, msgs);
        ok(n > 0 && strstr(msgs[0], "falling back") != NULL,
           "and says so: %s", n ? msgs[0] : "(nothing)");
    }
    ngx_ams_tc_destroy(tc);

    /* audioBitrate: rung 0's audio re-encoded as AAC at 32 kb/s from a
     * 128 kb/s source, rung 1's passed through */
    audio_rungs();

    /* what a publisher can make the engine spend (review of 2026-12-01) */
    limits();

    avcc_helpers();

    return done_testing();
}


static void
audio_rungs(void)
{
    int                  i, n;
    char                 err[160];
    AVFrame             *pcm;
    AVPacket            *pkt;
    ngx_ams_tc_t        *tc;
    const AVCodec       *codec;
    AVCodecContext      *aac;
    ngx_ams_frame_t      f;
    ngx_ams_rung_t       ladder[2];
    ngx_ams_tc_opts_t    opts;
    AVChannelLayout      stereo = AV_CHANNEL_LAYOUT_STEREO;

    codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    aac = avcodec_alloc_context3(codec);
    aac->sample_rate = 48000;
    aac->sample_fmt = AV_SAMPLE_FMT_FLTP;
    av_channel_layout_copy(&aac->ch_layout, &stereo);
    aac->bit_rate = 128000;
    aac->time_base = (AVRational) { 1, 48000 };
    aac->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

    if (avcodec_open2(aac, codec, NULL) < 0) {
        ok(0, "an AAC encoder for the source");
        return;
    }

    memset(ladder, 0, sizeof(ladder));
    ladder[0].height = 240;
    ladder[0].video_bitrate = 400000;
    ladder[0].audio_bitrate = 32000;
    ladder[1].height = 120;
    ladder[1].video_bitrate = 150000;

    memset(&opts, 0, sizeof(opts));
    opts.preset = "ultrafast";
    opts.threads = 1;

    memset(rungs, 0, sizeof(rungs));
    tc = ngx_ams_tc_create(&opts, ladder, 2, out, NULL, err, sizeof(err));
    ngx_ams_tc_config(tc, NGX_AMS_TRACK_AUDIO, NGX_AMS_CODEC_AAC,
                      aac->extradata, aac->extradata_size);

    pcm = av_frame_alloc();
    pcm->format = AV_SAMPLE_FMT_FLTP;
    pcm->nb_samples = aac->frame_size;
    pcm->sample_rate = 48000;
    av_channel_layout_copy(&pcm->ch_layout, &stereo);
    av_frame_get_buffer(pcm, 0);
    pkt = av_packet_alloc();
    n = 0;

    /* 4 s of a tone, no video: audio waits at most its bound */
    for (i = 0; i < 48000 * 4 / aac->frame_size; i++) {
        int  k;

        av_frame_make_writable(pcm);

        for (k = 0; k < pcm->nb_samples; k++) {
            ((float *) pcm->data[0])[k] = (float) ((k * 7 + i) % 100) / 200;
            ((float *) pcm->data[1])[k] = (float) ((k * 5 + i) % 100) / 200;
        }

        pcm->pts = (int64_t) i * aac->frame_size;
        avcodec_send_frame(aac, pcm);

        while (avcodec_receive_packet(aac, pkt) == 0) {
            memset(&f, 0, sizeof(f));
            f.dts = av_rescale(pkt->pts, 90000, 48000);
            f.track = NGX_AMS_TRACK_AUDIO;
            f.codec = NGX_AMS_CODEC_AAC;
            f.size = (uint32_t) pkt->size;
            ngx_ams_tc_frame(tc, &f, pkt->data, 0);
            av_packet_unref(pkt);
            n++;
        }
    }

    ngx_ams_tc_flush(tc, 0);

    is_int(rungs[1].audio, n, "pass-through: every source frame (%d)", n);
    ok(rungs[0].audio >= (unsigned) n - 3 && rungs[0].audio <= (unsigned) n + 3,
       "re-encoded: about as many frames (%u)", rungs[0].audio);
    ok(rungs[0].audio_configs == 1 && rungs[1].audio_configs == 1,
       "each rung got one audio config");
    ok(rungs[0].audio_bytes * 3 < rungs[1].audio_bytes,
       "re-encoded at 32 kb/s: %llu bytes against %llu passed through",
       (unsigned long long) rungs[0].audio_bytes,
       (unsigned long long) rungs[1].audio_bytes);

    av_packet_free(&pkt);
    av_frame_free(&pcm);
    avcodec_free_context(&aac);
    ngx_ams_tc_destroy(tc);
}


/* a stand-still clock: every re-open falls in one rate-limit window */

static int64_t
still_clock(void)
{
    return 0;
}


/* every frame an IDR, no delay; "global": parameter sets as extradata
 * only, else in front of every IDR (a size change in the stream) */

static AVCodecContext *
idr_encoder(int w, int h, int global)
{
    const AVCodec   *codec;
    AVCodecContext  *enc;

    codec = avcodec_find_encoder_by_name("libx264");
    enc = avcodec_alloc_context3(codec);
    enc->width = w;
    enc->height = h;
    enc->pix_fmt = AV_PIX_FMT_YUV420P;
    enc->time_base = (AVRational) { 1, 90000 };
    enc->framerate = (AVRational) { 25, 1 };
    enc->gop_size = 1;
    enc->max_b_frames = 0;
    enc->thread_count = 1;

    if (global) {
        enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    }

    av_opt_set(enc->priv_data, "preset", "ultrafast", 0);
    av_opt_set(enc->priv_data, "tune", "zerolatency", 0);

    if (avcodec_open2(enc, codec, NULL) < 0) {
        avcodec_free_context(&enc);
        return NULL;
    }

    return enc;
}


static void
encode_one(ngx_ams_tc_t *tc, AVCodecContext *enc, int64_t pts)
{
    AVFrame   *pic;
    AVPacket  *pkt;

    pic = av_frame_alloc();
    pic->format = AV_PIX_FMT_YUV420P;
    pic->width = enc->width;
    pic->height = enc->height;
    av_frame_get_buffer(pic, 0);
    memset(pic->data[0], (int) (pts / TICKS * 7 % 200),
           pic->linesize[0] * enc->height);
    memset(pic->data[1], 128, pic->linesize[1] * enc->height / 2);
    memset(pic->data[2], 128, pic->linesize[2] * enc->height / 2);
    pic->pts = pts;

    pkt = av_packet_alloc();
    avcodec_send_frame(enc, pic);
    feed(tc, enc, pkt);

    av_packet_free(&pkt);
    av_frame_free(&pic);
}


static int
said(ngx_ams_tc_t *tc, const char *what)
{
    char      msgs[NGX_AMS_TC_MSGS][NGX_AMS_TC_MSG_LEN];
    unsigned  i, n;

    n = ngx_ams_tc_messages(tc, msgs);

    for (i = 0; i < n; i++) {
        if (strstr(msgs[i], what)) {
            return 1;
        }
    }

    return 0;
}


static void
limits(void)
{
    int                  i;
    char                 err[160];
    ngx_ams_tc_t        *tc;
    ngx_ams_frame_t      f;
    AVCodecContext      *big, *small, *a, *b;
    ngx_ams_rung_t       ladder[2];
    ngx_ams_tc_opts_t    opts;
    ngx_ams_tc_stats_t   st;
    static uint8_t       aac[1000];
    static const uint8_t asc[2] = { 0x12, 0x10 };

    memset(ladder, 0, sizeof(ladder));
    ladder[0].height = 240;
    ladder[0].video_bitrate = 400000;
    ladder[1].height = 120;
    ladder[1].video_bitrate = 150000;

    memset(&opts, 0, sizeof(opts));
    opts.preset = "ultrafast";
    opts.threads = 1;

    /* 1. a rung's width: a 2048x120 source would make the 240p rung
     * 4096 wide; at most 2.4 times its height */
    memset(rungs, 0, sizeof(rungs));
    tc = ngx_ams_tc_create(&opts, ladder, 2, out, NULL, err, sizeof(err));
    run_source(tc, 2048, 120, 0, 10);
    ngx_ams_tc_flush(tc, 0);
    ok(rungs[0].frames > 0 && rungs[0].width <= 576
       && rungs[1].width <= 288,
       "rung_width_capped: a 2048x120 source, rungs %ux%u and %ux%u",
       rungs[0].width, rungs[0].height, rungs[1].width, rungs[1].height);
    ngx_ams_tc_destroy(tc);

    /* 2. a picture over 4096x2304: refused from the avcC's SPS before
     * the decoder opens, and from an SPS in the stream by the decoder */
    memset(rungs, 0, sizeof(rungs));
    tc = ngx_ams_tc_create(&opts, ladder, 2, out, NULL, err, sizeof(err));
    big = idr_encoder(4096, 2320, 1);
    ngx_ams_tc_config(tc, NGX_AMS_TRACK_VIDEO, NGX_AMS_CODEC_H264,
                      big->extradata, big->extradata_size);
    ok(said(tc, "over the limit"), "decoder_max_pixels: a 4096x2320 avcC "
       "is refused before the decoder opens");
    encode_one(tc, big, 0);
    ngx_ams_tc_stats(tc, &st);
    ok(st.decoded == 0, "decoder_max_pixels: and its frame not decoded "
       "(%llu)", (unsigned long long) st.decoded);
    avcodec_free_context(&big);
    ngx_ams_tc_destroy(tc);

    memset(rungs, 0, sizeof(rungs));
    tc = ngx_ams_tc_create(&opts, ladder, 2, out, NULL, err, sizeof(err));
    small = idr_encoder(320, 240, 1);
    big = idr_encoder(4096, 2320, 0);
    ngx_ams_tc_config(tc, NGX_AMS_TRACK_VIDEO, NGX_AMS_CODEC_H264,
                      small->extradata, small->extradata_size);
    encode_one(tc, big, 0);
    ngx_ams_tc_stats(tc, &st);
    ok(st.decoded == 0, "decoder_max_pixels: an SPS of 4096x2320 in the "
       "stream is not decoded (%llu)", (unsigned long long) st.decoded);
    avcodec_free_context(&big);
    avcodec_free_context(&small);
    ngx_ams_tc_destroy(tc);

    /* 3. audio standing still in time, no video out: the queue is
     * bounded, what is over the bound goes out */
    memset(rungs, 0, sizeof(rungs));
    tc = ngx_ams_tc_create(&opts, ladder, 2, out, NULL, err, sizeof(err));
    ngx_ams_tc_config(tc, NGX_AMS_TRACK_AUDIO, NGX_AMS_CODEC_AAC, asc, 2);

    for (i = 0; i < 5000; i++) {
        memset(&f, 0, sizeof(f));
        f.dts = 0;
        f.track = NGX_AMS_TRACK_AUDIO;
        f.codec = NGX_AMS_CODEC_AAC;
        f.size = sizeof(aac);
        ngx_ams_tc_frame(tc, &f, aac, 0);
    }

    ok(rungs[0].audio >= 5000 - 600 && rungs[1].audio == rungs[0].audio,
       "audio_hold_bounded: 5000 frames at dts 0, %u out before the end",
       rungs[0].audio);
    ngx_ams_tc_flush(tc, 0);
    is_int(rungs[0].audio, 5000, "audio_hold_bounded: the rest at the end");
    ngx_ams_tc_destroy(tc);

    /* 4. the picture size changing at every IDR: each rung's encoder
     * re-opened once in the window, not at every frame */
    memset(rungs, 0, sizeof(rungs));
    tc = ngx_ams_tc_create(&opts, ladder, 2, out, NULL, err, sizeof(err));
    ngx_ams_tc_set_clock(tc, still_clock);
    small = idr_encoder(640, 360, 1);
    a = idr_encoder(640, 360, 0);
    b = idr_encoder(480, 360, 0);
    ngx_ams_tc_config(tc, NGX_AMS_TRACK_VIDEO, NGX_AMS_CODEC_H264,
                      small->extradata, small->extradata_size);

    for (i = 0; i < 40; i++) {
        encode_one(tc, (i % 2) ? b : a, (int64_t) i * TICKS);
    }

    ngx_ams_tc_flush(tc, 0);
    ngx_ams_tc_stats(tc, &st);
    ok(st.reopened <= 2, "reopen_rate_limited: 40 alternating sizes, %llu "
       "re-opens", (unsigned long long) st.reopened);
    ok(rungs[0].configs <= 2 && rungs[1].configs <= 2,
       "reopen_rate_limited: avcCs %u and %u", rungs[0].configs,
       rungs[1].configs);
    ok(rungs[0].frames == 40 && rungs[1].frames == 40,
       "reopen_rate_limited: every picture encoded (%u, %u)",
       rungs[0].frames, rungs[1].frames);
    avcodec_free_context(&a);
    avcodec_free_context(&b);
    avcodec_free_context(&small);
    ngx_ams_tc_destroy(tc);
}


/* the one start-code scanner: 3- and 4-byte start codes, trailing zero
 * bytes, delimiters and parameter sets left out of a frame */

static void
avcc_helpers(void)
{
    size_t                 n;
    uint8_t                out[128];
    ngx_ams_avc_config_t   cfg;
    const char            *err;
    AVCodecContext        *enc;
    static const uint8_t   au[] = {
        0, 0, 0, 1, 0x09, 0xf0,                  /* AUD */
        0, 0, 1, 0x65, 0x88, 0x84, 0, 0, 3, 1,   /* IDR slice, 00 00 03 */
        0, 0,                                    /* trailing zeros */
        0, 0, 0, 1, 0x41, 0x9a, 0x02             /* a slice */
    };
    static const uint8_t   want[] = {
        0, 0, 0, 7, 0x65, 0x88, 0x84, 0, 0, 3, 1,
        0, 0, 0, 3, 0x41, 0x9a, 0x02
    };

    n = ngx_ams_tc_annexb_to_avcc(au, sizeof(au), out, sizeof(out));
    ok(n == sizeof(want) && memcmp(out, want, n) == 0,
       "annexb_to_avcc: two slices with 4-byte lengths (%zu bytes)", n);
    is_int(ngx_ams_tc_annexb_to_avcc(au, sizeof(au), out, 10), 0,
           "annexb_to_avcc: 0 when it does not fit");
    is_int(ngx_ams_tc_avcc_build(au, sizeof(au), out, sizeof(out)), 0,
           "avcc_build: 0 without SPS and PPS");

    enc = idr_encoder(320, 240, 1);
    n = ngx_ams_tc_avcc_build(enc->extradata, enc->extradata_size, out,
                              sizeof(out));
    ok(n > 0 && ngx_ams_avc_parse_config(out, n, &cfg, &err) == 0
       && cfg.width == 320 && cfg.height == 240,
       "avcc_build: x264's parameter sets as an avcC of 320x240");
    avcodec_free_context(&enc);
}
