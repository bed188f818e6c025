
/*
 * Copyright (C) nginx-ams authors
 *
 * The audio converter: a 1 kHz sine encoded to AAC here (libavcodec),
 * then AAC -> Opus -> AAC through the converter and decoded: the
 * duration within 1% of the input's and the tone's frequency kept;
 * timestamps that count samples; AAC -> AAC at another bitrate;
 * OpusHead; malformed input that gives errors, never a crash.
 */


#include <math.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>

#include "tap.h"
#include "ngx_ams_ring.h"
#include "ngx_ams_aac.h"
#include "ngx_ams_audio_convert.h"
#include "ngx_ams_mp4_mux.h"


#define SECONDS      10
#define RATE_IN      44100
#define TONE         1000.0
#define MAX_PACKETS  4096


typedef struct {
    uint8_t   *data[MAX_PACKETS];
    size_t     len[MAX_PACKETS];
    int64_t    pts[MAX_PACKETS];
    unsigned   n;
    uint8_t    config[512];
    size_t     config_len;
} packets_t;


static void
packets_free(packets_t *p)
{
    unsigned  i;

    for (i = 0; i < p->n; i++) {
        free(p->data[i]);
    }

    p->n = 0;
}


static void
packets_add(packets_t *p, const uint8_t *data, size_t len, int64_t pts)
{
    if (p->n == MAX_PACKETS) {
        return;
    }

    p->data[p->n] = malloc(len ? len : 1);
    memcpy(p->data[p->n], data, len);
    p->len[p->n] = len;
    p->pts[p->n] = pts;
    p->n++;
}


/* the source: SECONDS of a stereo sine, AAC-LC by libavcodec */

static int
make_aac(packets_t *out)
{
    int              i, ch, rc;
    int64_t          n;
    AVFrame         *f;
    AVPacket        *pkt;
    const AVCodec   *codec;
    AVCodecContext  *enc;

    codec = avcodec_find_encoder_by_name("aac");
    enc = avcodec_alloc_context3(codec);
    enc->sample_fmt = AV_SAMPLE_FMT_FLTP;
    enc->sample_rate = RATE_IN;
    enc->bit_rate = 128000;
    enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    enc->time_base = (AVRational) { 1, RATE_IN };
    av_channel_layout_default(&enc->ch_layout, 2);

    if (avcodec_open2(enc, codec, NULL) < 0) {
        return -1;
    }

    memcpy(out->config, enc->extradata, enc->extradata_size);
    out->config_len = enc->extradata_size;

    f = av_frame_alloc();
    pkt = av_packet_alloc();

    for (n = 0; ; n += enc->frame_size) {
        if (n < (int64_t) SECONDS * RATE_IN) {
            av_frame_unref(f);
            f->nb_samples = enc->frame_size;
            f->format = enc->sample_fmt;
            f->sample_rate = RATE_IN;
            av_channel_layout_copy(&f->ch_layout, &enc->ch_layout);
            av_frame_get_buffer(f, 0);

            for (ch = 0; ch < 2; ch++) {
                for (i = 0; i < f->nb_samples; i++) {
                    ((float *) f->data[ch])[i] =
                        0.5f * (float) sin(2 * M_PI * TONE * (n + i)
                                           / RATE_IN);
                }
            }

            f->pts = n;
            rc = avcodec_send_frame(enc, f);

        } else {
            rc = avcodec_send_frame(enc, NULL);
        }

        if (rc < 0) {
            break;
        }

        while (avcodec_receive_packet(enc, pkt) == 0) {
            /* the bus's 90 kHz, rounded per frame as ingest does */
            packets_add(out, pkt->data, pkt->size,
                        av_rescale(out->n * 1024, 90000, RATE_IN));
            av_packet_unref(pkt);
        }

        if (n >= (int64_t) SECONDS * RATE_IN) {
            break;
        }
    }

    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&enc);

    return 0;
}


static int
convert(unsigned in_codec, packets_t *in, unsigned out_codec,
    unsigned bitrate, packets_t *out, uint64_t *dropped, char *err)
{
    size_t                 len;
    int64_t                pts;
    unsigned               i;
    const uint8_t         *data;
    ngx_ams_audio_conv_t  *cv;

    cv = ngx_ams_audio_conv_create(in_codec, in->config, in->config_len,
                                   out_codec, bitrate, err, 256);
    if (cv == NULL) {
        return -1;
    }

    ngx_ams_audio_conv_config(cv, &data, &len);
    memcpy(out->config, data, len);
    out->config_len = len;

    for (i = 0; i < in->n; i++) {
        (void) ngx_ams_audio_conv_push(cv, in->data[i], in->len[i],
                                       in->pts[i]);

        while (ngx_ams_audio_conv_pull(cv, &data, &len, &pts)) {
            packets_add(out, data, len, pts);
        }
    }

    ngx_ams_audio_conv_flush(cv);

    while (ngx_ams_audio_conv_pull(cv, &data, &len, &pts)) {
        packets_add(out, data, len, pts);
    }

    *dropped = ngx_ams_audio_conv_dropped(cv);
    ngx_ams_audio_conv_destroy(cv);

    return 0;
}


/* decodes AAC packets: seconds of audio, the tone's frequency measured
 * by zero crossings over the middle of the stream */

static double
decode_aac(packets_t *in, double *freq, int *rate_out)
{
    int              rate;
    int64_t          total, crossings, span;
    unsigned         i;
    float            prev, v;
    AVFrame         *f;
    AVPacket        *pkt;
    const AVCodec   *codec;
    AVCodecContext  *dec;
    int              s;

    codec = avcodec_find_decoder(AV_CODEC_ID_AAC);
    dec = avcodec_alloc_context3(codec);
    dec->extradata = av_mallocz(in->config_len + AV_INPUT_BUFFER_PADDING_SIZE);
    memcpy(dec->extradata, in->config, in->config_len);
    dec->extradata_size = (int) in->config_len;

    if (avcodec_open2(dec, codec, NULL) < 0) {
        return -1;
    }

    f = av_frame_alloc();
    pkt = av_packet_alloc();
    total = 0;
    crossings = 0;
    span = 0;
    prev = 0;
    rate = 0;

    for (i = 0; i <= in->n; i++) {
        if (i < in->n) {
            av_new_packet(pkt, (int) in->len[i]);
            memcpy(pkt->data, in->data[i], in->len[i]);
            avcodec_send_packet(dec, pkt);
            av_packet_unref(pkt);

        } else {
            avcodec_send_packet(dec, NULL);
        }

        while (avcodec_receive_frame(dec, f) == 0) {
            rate = f->sample_rate;

            for (s = 0; s < f->nb_samples; s++) {
                /* seconds 3 to 7 */
                if (total + s >= 3 * rate && total + s < 7 * rate) {
                    v = f->format == AV_SAMPLE_FMT_FLTP
                        ? ((float *) f->data[0])[s] : 0;
                    if ((prev < 0 && v >= 0) || (prev >= 0 && v < 0)) {
                        crossings++;
                    }

                    prev = v;
                    span++;
                }
            }

            total += f->nb_samples;
            av_frame_unref(f);
        }
    }

    av_packet_free(&pkt);
    av_frame_free(&f);
    avcodec_free_context(&dec);

    *freq = span ? (double) crossings / 2 / ((double) span / rate) : 0;
    *rate_out = rate;

    return rate ? (double) total / rate : -1;
}


static int
increasing(packets_t *p)
{
    unsigned  i;

    for (i = 1; i < p->n; i++) {
        if (p->pts[i] <= p->pts[i - 1]) {
            return 0;
        }
    }

    return p->n > 0;
}


static void
test_round_trip(void)
{
    int                  rate, rc;
    char                 err[256];
    double               secs, freq, span;
    uint64_t             dropped;
    const char          *why;
    packets_t            aac, opus, back, rung;
    ngx_ams_opus_head_t  head;
    ngx_ams_aac_config_t  asc;

    memset(&aac, 0, sizeof(aac));
    memset(&opus, 0, sizeof(opus));
    memset(&back, 0, sizeof(back));
    memset(&rung, 0, sizeof(rung));

    rc = make_aac(&aac);
    ok(rc == 0 && aac.n > 400, "the source: %u AAC frames", aac.n);

    err[0] = '\0';
    ok(convert(NGX_AMS_CODEC_AAC, &aac, NGX_AMS_CODEC_OPUS, 0, &opus,
               &dropped, err) == 0, "AAC -> Opus converter (%s)", err);
    is_int(dropped, 0, "no AAC frame dropped");
    ok(ngx_ams_opus_head_parse(opus.config, opus.config_len, &head, &why)
       == 0, "its config is an OpusHead");
    is_int(head.channels, 2, "stereo");
    ok(head.pre_skip > 0 && head.pre_skip < 4000, "pre-skip %u (the "
       "encoder's priming)", head.pre_skip);
    is_int(head.input_rate, RATE_IN, "the source's rate, for information");
    ok(opus.n > 450 && increasing(&opus), "%u Opus packets, increasing "
       "timestamps", opus.n);

    /* 20 ms each: the timestamps count samples, they do not drift */
    span = (double) (opus.pts[opus.n - 1] - opus.pts[0]) / 90000
           + 0.020;
    ok(fabs(span - SECONDS) < SECONDS * 0.01, "Opus timestamps span %.3f s",
       span);
    ok(opus.pts[0] >= 0 && opus.pts[0] < 9000, "from the source's start "
       "(%lld)", (long long) opus.pts[0]);
    ok(opus.pts[1] - opus.pts[0] == 1800 && opus.pts[opus.n - 1]
       == opus.pts[0] + (int64_t) (opus.n - 1) * 1800, "exactly 1800 "
       "ticks apart");

    ok(convert(NGX_AMS_CODEC_OPUS, &opus, NGX_AMS_CODEC_AAC, 128000, &back,
               &dropped, err) == 0, "Opus -> AAC converter (%s)", err);
    is_int(dropped, 0, "no Opus packet dropped");
    ok(ngx_ams_aac_parse_config(back.config, back.config_len, &asc, &why)
       == 0 && asc.sample_rate == 48000 && asc.channels == 2,
       "its config: AudioSpecificConfig, 48 kHz stereo");
    ok(back.n > 400 && increasing(&back), "%u AAC frames, increasing "
       "timestamps", back.n);

    secs = decode_aac(&back, &freq, &rate);
    ok(fabs(secs - SECONDS) < SECONDS * 0.01, "AAC -> Opus -> AAC: %.3f s "
       "of audio for %d s", secs, SECONDS);
    ok(fabs(freq - TONE) < TONE * 0.01, "the tone is still %.1f Hz", freq);
    is_int(rate, 48000, "decoded at 48 kHz");

    ok(convert(NGX_AMS_CODEC_AAC, &aac, NGX_AMS_CODEC_AAC, 64000, &rung,
               &dropped, err) == 0, "AAC -> AAC at 64 kbit/s (%s)", err);
    secs = decode_aac(&rung, &freq, &rate);
    ok(fabs(secs - SECONDS) < SECONDS * 0.01 && rate == RATE_IN,
       "a rung's AAC: %.3f s at %d Hz", secs, rate);
    ok(fabs(freq - TONE) < TONE * 0.01, "the tone: %.1f Hz", freq);
    {
        size_t    bytes = 0;
        unsigned  i;

        for (i = 0; i < rung.n; i++) {
            bytes += rung.len[i];
        }

        ok(bytes * 8 / SECONDS < 64000 * 1.3, "at about 64 kbit/s (%zu)",
           bytes * 8 / SECONDS);
    }

    packets_free(&aac);
    packets_free(&opus);
    packets_free(&back);
    packets_free(&rung);
}


static const char *
head_err(const uint8_t *b, size_t len)
{
    const char           *why;
    ngx_ams_opus_head_t   h;

    return ngx_ams_opus_head_parse(b, len, &h, &why) == 0 ? NULL : why;
}


static void
test_opus_head(void)
{
    uint8_t              b[64];
    size_t               n;
    const char          *why;
    ngx_ams_opus_head_t  h;

    memset(b, 0, sizeof(b));
    n = ngx_ams_opus_head_build(b, 2, 312, 44100);
    is_int(n, 19, "OpusHead: 19 bytes");
    ok(memcmp(b, "OpusHead\x01\x02\x38\x01\x44\xac\x00\x00\x00\x00\x00", 19)
       == 0, "as RFC 7845 lays it out (little-endian)");
    ok(ngx_ams_opus_head_parse(b, n, &h, &why) == 0 && h.channels == 2
       && h.pre_skip == 312 && h.input_rate == 44100
       && h.mapping_family == 0, "parsed back");

    why = head_err(b, 18);
    ok(why != NULL, "truncated: %s", why);
    b[0] = 'o';
    why = head_err(b, n);
    ok(why != NULL, "bad magic: %s", why);
    b[0] = 'O';
    b[8] = 0x10;
    why = head_err(b, n);
    ok(why != NULL, "version 16: %s", why);
    b[8] = 0x01;
    b[9] = 0;
    why = head_err(b, n);
    ok(why != NULL, "no channels: %s", why);
    b[9] = 6;
    why = head_err(b, n);
    ok(why != NULL, "family 0, 6 channels: "
       "%s", why);
    b[18] = 1;
    why = head_err(b, 24);
    ok(why != NULL, "family 1, table "
       "truncated: %s", why);
    b[19] = 4; b[20] = 2;
    b[21] = 0; b[22] = 4; b[23] = 1; b[24] = 2; b[25] = 3; b[26] = 5;
    ok(ngx_ams_opus_head_parse(b, 27, &h, &why) == 0 && h.streams == 4
       && h.coupled == 2, "family 1, 5.1");
    b[26] = 9;
    why = head_err(b, 27);
    ok(why != NULL, "a mapping past the "
       "streams: %s", why);
}


static void
test_malformed(void)
{
    int                    i, rc, crashed;
    char                   err[256];
    size_t                 len;
    int64_t                pts;
    uint8_t                junk[2048];
    unsigned               seed;
    const uint8_t         *data;
    ngx_ams_audio_conv_t  *cv;
    uint8_t                asc[2] = { 0x12, 0x10 };   /* LC 44.1k stereo */
    uint8_t                lie[2] = { 0x15, 0x88 };   /* LC 8 kHz mono */
    uint8_t                head[19];
    packets_t              aac;

    err[0] = '\0';
    ok(ngx_ams_audio_conv_create(NGX_AMS_CODEC_AAC, (const uint8_t *) "\xf8",
                                 1, NGX_AMS_CODEC_OPUS, 0, err, sizeof(err))
       == NULL && err[0], "a 1-byte AudioSpecificConfig: %s", err);
    ok(ngx_ams_audio_conv_create(NGX_AMS_CODEC_AAC,
                                 (const uint8_t *) "\xf8\x10", 2,
                                 NGX_AMS_CODEC_OPUS, 0, err, sizeof(err))
       == NULL, "object type 31: %s", err);
    ok(ngx_ams_audio_conv_create(NGX_AMS_CODEC_OPUS, asc, 2,
                                 NGX_AMS_CODEC_AAC, 0, err, sizeof(err))
       == NULL, "an AAC config given as OpusHead: %s", err);
    ngx_ams_opus_head_build(head, 2, 312, 48000);
    head[9] = 0;
    ok(ngx_ams_audio_conv_create(NGX_AMS_CODEC_OPUS, head, 19,
                                 NGX_AMS_CODEC_AAC, 0, err, sizeof(err))
       == NULL, "an OpusHead with no channels: %s", err);
    ok(ngx_ams_audio_conv_create(NGX_AMS_CODEC_H264, asc, 2,
                                 NGX_AMS_CODEC_AAC, 0, err, sizeof(err))
       == NULL, "H.264 in: %s", err);

    /* garbage and empty frames: dropped and counted, the converter goes
     * on */
    err[0] = '\0';
    cv = ngx_ams_audio_conv_create(NGX_AMS_CODEC_AAC, asc, 2,
                                   NGX_AMS_CODEC_OPUS, 0, err, sizeof(err));
    ok(cv != NULL, "AAC -> Opus for junk (%s)", err);

    seed = 7;
    crashed = 0;
    rc = ngx_ams_audio_conv_push(cv, junk, 0, 0);
    is_int(rc, -1, "a zero-length frame is an error");
    rc = ngx_ams_audio_conv_push(cv, NULL, 10, 0);
    is_int(rc, -1, "no bytes at all");

    for (i = 0; i < 300; i++) {
        size_t  k, n = rand_r(&seed) % sizeof(junk);

        for (k = 0; k < n; k++) {
            junk[k] = (uint8_t) rand_r(&seed);
        }

        (void) ngx_ams_audio_conv_push(cv, junk, n, i * 2090);

        while (ngx_ams_audio_conv_pull(cv, &data, &len, &pts)) {
            if (len == 0) {
                crashed++;
            }
        }
    }

    ok(ngx_ams_audio_conv_dropped(cv) > 250, "junk dropped and counted "
       "(%llu of 302)",
       (unsigned long long) ngx_ams_audio_conv_dropped(cv));
    ngx_ams_audio_conv_flush(cv);
    while (ngx_ams_audio_conv_pull(cv, &data, &len, &pts)) { /* void */ }
    is_int(ngx_ams_audio_conv_push(cv, junk, 10, 0), -1,
           "a push after the flush is refused");
    ngx_ams_audio_conv_destroy(cv);
    ok(crashed == 0, "still standing");

    /* the config says 8 kHz mono, the frames are 44.1 kHz stereo: the
     * resampler follows what the decoder finds */
    memset(&aac, 0, sizeof(aac));
    make_aac(&aac);

    err[0] = '\0';
    cv = ngx_ams_audio_conv_create(NGX_AMS_CODEC_AAC, lie, 2,
                                   NGX_AMS_CODEC_OPUS, 0, err, sizeof(err));
    ok(cv != NULL, "a lying AudioSpecificConfig is taken (%s)", err);

    if (cv) {
        unsigned  outs = 0;

        for (i = 0; i < (int) aac.n; i++) {
            (void) ngx_ams_audio_conv_push(cv, aac.data[i], aac.len[i],
                                           aac.pts[i]);
            while (ngx_ams_audio_conv_pull(cv, &data, &len, &pts)) {
                outs++;
            }
        }

        ngx_ams_audio_conv_flush(cv);
        while (ngx_ams_audio_conv_pull(cv, &data, &len, &pts)) {
            outs++;
        }

        ok(1, "no crash: %u packets out, %llu frames dropped", outs,
           (unsigned long long) ngx_ams_audio_conv_dropped(cv));
        ngx_ams_audio_conv_destroy(cv);
    }

    /* Opus junk */
    ngx_ams_opus_head_build(head, 2, 312, 48000);
    err[0] = '\0';
    cv = ngx_ams_audio_conv_create(NGX_AMS_CODEC_OPUS, head, 19,
                                   NGX_AMS_CODEC_AAC, 0, err, sizeof(err));
    ok(cv != NULL, "Opus -> AAC for junk (%s)", err);

    for (i = 0; i < 300; i++) {
        size_t  k, n = 1 + rand_r(&seed) % 1500;

        for (k = 0; k < n; k++) {
            junk[k] = (uint8_t) rand_r(&seed);
        }

        (void) ngx_ams_audio_conv_push(cv, junk, n, i * 1800);
        while (ngx_ams_audio_conv_pull(cv, &data, &len, &pts)) { }
    }

    ngx_ams_audio_conv_flush(cv);
    while (ngx_ams_audio_conv_pull(cv, &data, &len, &pts)) { }
    ok(1, "Opus junk: %llu dropped, no crash",
       (unsigned long long) ngx_ams_audio_conv_dropped(cv));
    ngx_ams_audio_conv_destroy(cv);

    packets_free(&aac);
}


static const uint8_t *
find_box(const uint8_t *p, size_t len, const char *type)
{
    size_t  i;

    for (i = 4; i + 4 <= len; i++) {
        if (memcmp(p + i, type, 4) == 0) {
            return p + i - 4;
        }
    }

    return NULL;
}


/* the fMP4 muxer: an 'Opus' sample entry with dOps, 48 kHz timescale,
 * each packet's own duration at a fragment's end */

static void
test_mp4_opus(void)
{
    int                   i;
    char                  codecs[16];
    uint8_t               head[19], pkt[40];
    const char           *err = NULL;
    const uint8_t        *b;
    ngx_ams_buf_t         out;
    ngx_ams_mp4_track_t   t, *tp;
    static const uint8_t  dops[] = {
        0, 0, 0, 19, 'd', 'O', 'p', 's', 0, 2, 0x01, 0x38,
        0x00, 0x00, 0xac, 0x44, 0, 0, 0
    };

    memset(&t, 0, sizeof(t));
    memset(&out, 0, sizeof(out));
    tp = &t;

    ngx_ams_opus_head_build(head, 2, 312, 44100);
    ok(ngx_ams_mp4_track_config(&t, NGX_AMS_MP4_AUDIO, 2, head, 19, &err)
       == 0 && t.opus && t.timescale == 48000 && t.aac.channels == 2
       && t.aac.sample_rate == 48000, "an OpusHead configures an Opus "
       "track (%s)", err ? err : "");
    ngx_ams_mp4_codecs(&t, codecs, sizeof(codecs));
    ok(strcmp(codecs, "opus") == 0, "its codecs string: %s", codecs);

    ok(ngx_ams_mp4_init_segment(&out, &tp, 1) == 0, "init segment");
    b = find_box(out.data, out.len, "Opus");
    ok(b != NULL && b[4 + 4 + 6 + 2 + 8 + 1] == 2
       && b[32] == 0xbb && b[33] == 0x80, "an 'Opus' sample entry, "
       "2 channels, 48000 Hz");
    b = find_box(out.data, out.len, "dOps");
    ok(b != NULL && memcmp(b, dops, sizeof(dops)) == 0, "dOps: version 0, "
       "the OpusHead's fields big-endian");
    ok(find_box(out.data, out.len, "esds") == NULL, "no esds");

    head[9] = 3;
    ok(ngx_ams_mp4_track_config(&t, NGX_AMS_MP4_AUDIO, 2, head, 19, &err)
       != 0, "family 0 with 3 channels refused: %s", err);
    ok(ngx_ams_mp4_track_config(&t, NGX_AMS_MP4_AUDIO, 2, head, 12, &err)
       != 0, "a truncated OpusHead refused: %s", err);
    head[9] = 2;
    ngx_ams_mp4_track_config(&t, NGX_AMS_MP4_AUDIO, 2, head, 19, &err);

    /* CELT 20 ms packets (TOC config 31, one frame), then a 10 ms one */
    memset(pkt, 0, sizeof(pkt));
    for (i = 0; i < 5; i++) {
        pkt[0] = (i < 4) ? 0xfc : 0xf4;
        ngx_ams_mp4_add_sample(&t, 90000 + i * 1800, 0, 1, pkt, sizeof(pkt));
    }

    out.len = 0;
    i = ngx_ams_mp4_fragment(&out, &tp, 1, 1, 90000 + 5 * 1800);
    ok(i == 0 && t.fragment_start == 48000
       && t.fragment_duration == 4 * 960 + 480, "a fragment: starts at %lld, lasts %lld samples (the last packet's "
       "own 10 ms)", (long long) t.fragment_start,
       (long long) t.fragment_duration);

    ngx_ams_mp4_track_free(&t);
    ngx_ams_buf_free(&out);
}


int
main(void)
{
    av_log_set_level(AV_LOG_QUIET);

    test_opus_head();
    test_mp4_opus();
    test_round_trip();
    test_malformed();

    return done_testing();
}
