
/*
 * Copyright (C) nginx-ams authors
 *
 * The audio converter (ngx_ams_audio_convert.h): decode, resample,
 * re-frame, encode.
 *
 * Time: the converter never trusts frame counts for timestamps.  It
 * counts the samples it hands to the encoder (at the output rate) and
 * places each output packet at base + samples / rate, "base" being the
 * input's time of the first sample decoded.  Input timestamps only move
 * the base when they jump (a gap or a restart of the source's clock,
 * over NGX_AMS_AUDIO_JUMP), so frame-to-frame rounding of the 90 kHz
 * clock (1024 samples at 44.1 kHz are 2089.8 ticks) never accumulates.
 *
 * An output packet's time is that of its first decoded sample, the
 * encoder's priming (AAC's 1024 samples, Opus's pre-skip) included: what
 * a player without edit lists presents.  So nothing is ever stamped
 * before the input's first frame.
 *
 * The decoded format may differ from what the configuration said (an
 * AudioSpecificConfig may lie, HE-AAC doubles the rate): the resampler
 * is set up from each decoded frame's own rate, format and layout, and
 * set up again when they change.
 */


#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mathematics.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "ngx_ams_ring.h"
#include "ngx_ams_aac.h"
#include "ngx_ams_audio_convert.h"


#define NGX_AMS_AUDIO_OPUS_RATE     48000
#define NGX_AMS_AUDIO_JUMP          (NGX_AMS_TIMEBASE / 2)   /* 0.5 s */
#define NGX_AMS_AUDIO_MAX_PACKETS   64    /* waiting for pull */
#define NGX_AMS_AUDIO_MAX_INPUT     (1 << 20)


struct ngx_ams_audio_conv_s {
    unsigned            in_codec;
    unsigned            out_codec;

    AVCodecContext     *dec;
    AVCodecContext     *enc;
    SwrContext         *swr;
    AVAudioFifo        *fifo;
    AVFrame            *decoded;
    AVFrame            *frame;          /* to the encoder */
    AVPacket           *in;
    AVPacket           *out[NGX_AMS_AUDIO_MAX_PACKETS];
    unsigned            out_head;
    unsigned            out_n;
    AVPacket           *current;        /* what pull returned last */

    /* what the resampler was set up for */
    int                 swr_rate;
    int                 swr_format;
    AVChannelLayout     swr_layout;

    unsigned            rate;           /* output */
    unsigned            channels;
    int                 priming;        /* encoder's, output samples */
    unsigned            in_skip;        /* Opus input's pre-skip, 48 kHz */

    int64_t             base;           /* 90 kHz, of sample 0 */
    int64_t             written;        /* samples into the FIFO */
    int64_t             encoded;        /* samples into the encoder */
    unsigned            have_base:1;
    unsigned            flushed:1;

    uint64_t            dropped;

    uint8_t            *buf;            /* input with libav's padding */
    size_t              buf_size;

    uint8_t             config[NGX_AMS_OPUS_HEAD_MAX + 64];
    size_t              config_len;
    const char         *encoder;
};


static int ngx_ams_audio_open_decoder(ngx_ams_audio_conv_t *cv,
    const uint8_t *config, size_t len, char *err, size_t err_len);
static int ngx_ams_audio_open_encoder(ngx_ams_audio_conv_t *cv,
    unsigned bitrate, char *err, size_t err_len);
static int ngx_ams_audio_resample(ngx_ams_audio_conv_t *cv, AVFrame *in);
static int ngx_ams_audio_drain_decoder(ngx_ams_audio_conv_t *cv,
    int64_t pts);
static int ngx_ams_audio_encode(ngx_ams_audio_conv_t *cv, int last);
static int ngx_ams_audio_drain_encoder(ngx_ams_audio_conv_t *cv);


ngx_ams_audio_conv_t *
ngx_ams_audio_conv_create(unsigned in_codec, const uint8_t *in_config,
    size_t in_config_len, unsigned out_codec, unsigned bitrate, char *err,
    size_t err_len)
{
    ngx_ams_audio_conv_t  *cv;

    if ((in_codec != NGX_AMS_CODEC_AAC && in_codec != NGX_AMS_CODEC_OPUS)
        || (out_codec != NGX_AMS_CODEC_AAC && out_codec != NGX_AMS_CODEC_OPUS))
    {
        snprintf(err, err_len, "conversion %u -> %u not supported",
                 in_codec, out_codec);
        return NULL;
    }

    cv = av_mallocz(sizeof(ngx_ams_audio_conv_t));
    if (cv == NULL) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }

    cv->in_codec = in_codec;
    cv->out_codec = out_codec;
    cv->swr_rate = -1;

    cv->decoded = av_frame_alloc();
    cv->frame = av_frame_alloc();
    cv->in = av_packet_alloc();
    cv->current = av_packet_alloc();

    if (cv->decoded == NULL || cv->frame == NULL || cv->in == NULL
        || cv->current == NULL)
    {
        snprintf(err, err_len, "out of memory");
        goto failed;
    }

    if (ngx_ams_audio_open_decoder(cv, in_config, in_config_len, err,
                                   err_len)
        != 0
        || ngx_ams_audio_open_encoder(cv, bitrate, err, err_len) != 0)
    {
        goto failed;
    }

    cv->fifo = av_audio_fifo_alloc(cv->enc->sample_fmt, cv->channels,
                                   cv->enc->frame_size * 4);
    if (cv->fifo == NULL) {
        snprintf(err, err_len, "out of memory");
        goto failed;
    }

    return cv;

failed:

    ngx_ams_audio_conv_destroy(cv);
    return NULL;
}


static int
ngx_ams_audio_open_decoder(ngx_ams_audio_conv_t *cv, const uint8_t *config,
    size_t len, char *err, size_t err_len)
{
    const char            *why;
    const AVCodec         *codec;
    ngx_ams_aac_config_t   aac;
    ngx_ams_opus_head_t    head;

    if (cv->in_codec == NGX_AMS_CODEC_AAC) {
        if (ngx_ams_aac_parse_config(config, len, &aac, &why) != 0) {
            snprintf(err, err_len, "input: %s", why);
            return -1;
        }

        codec = avcodec_find_decoder(AV_CODEC_ID_AAC);

    } else {
        if (ngx_ams_opus_head_parse(config, len, &head, &why) != 0) {
            snprintf(err, err_len, "input: %s", why);
            return -1;
        }

        cv->in_skip = head.pre_skip;
        codec = avcodec_find_decoder(AV_CODEC_ID_OPUS);
    }

    if (codec == NULL) {
        snprintf(err, err_len, "no %s decoder in libavcodec",
                 cv->in_codec == NGX_AMS_CODEC_AAC ? "AAC" : "Opus");
        return -1;
    }

    cv->dec = avcodec_alloc_context3(codec);
    if (cv->dec == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }

    /* the decoder reads the channels, rate and (Opus) pre-skip here */
    cv->dec->extradata = av_mallocz(len + AV_INPUT_BUFFER_PADDING_SIZE);
    if (cv->dec->extradata == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }

    memcpy(cv->dec->extradata, config, len);
    cv->dec->extradata_size = (int) len;

    if (cv->in_codec == NGX_AMS_CODEC_AAC) {
        cv->dec->sample_rate = (int) aac.sample_rate;
        av_channel_layout_default(&cv->dec->ch_layout, aac.channels);

    } else {
        cv->dec->sample_rate = NGX_AMS_AUDIO_OPUS_RATE;
        av_channel_layout_default(&cv->dec->ch_layout, (int) head.channels);
    }

    if (avcodec_open2(cv->dec, codec, NULL) < 0) {
        snprintf(err, err_len, "input: the %s decoder refused the "
                 "configuration", codec->name);
        return -1;
    }

    /* at most stereo out: what browsers' Opus and AAC-LC players take
     * everywhere; the resampler downmixes */
    cv->channels = cv->dec->ch_layout.nb_channels >= 2 ? 2 : 1;

    if (cv->out_codec == NGX_AMS_CODEC_OPUS) {
        cv->rate = NGX_AMS_AUDIO_OPUS_RATE;

    } else if (cv->in_codec == NGX_AMS_CODEC_AAC) {
        /* a rung's AAC keeps its source's rate */
        cv->rate = cv->dec->sample_rate > 0 ? cv->dec->sample_rate
                                            : NGX_AMS_AUDIO_OPUS_RATE;

    } else {
        cv->rate = NGX_AMS_AUDIO_OPUS_RATE;
    }

    return 0;
}


static int
ngx_ams_audio_open_encoder(ngx_ams_audio_conv_t *cv, unsigned bitrate,
    char *err, size_t err_len)
{
    int                      i;
    const AVCodec           *codec;
    enum AVSampleFormat      fmt;
    const enum AVSampleFormat  *f;

    if (cv->out_codec == NGX_AMS_CODEC_OPUS) {
        /* libopus when libavcodec has it; the native encoder is
         * experimental, a fallback only */
        codec = avcodec_find_encoder_by_name("libopus");
        if (codec == NULL) {
            codec = avcodec_find_encoder_by_name("opus");
        }

        if (bitrate == 0) {
            bitrate = cv->channels == 2 ? 96000 : 64000;
        }

    } else {
        codec = avcodec_find_encoder_by_name("aac");

        if (bitrate == 0) {
            bitrate = cv->channels == 2 ? 128000 : 64000;
        }
    }

    if (codec == NULL) {
        snprintf(err, err_len, "no %s encoder in libavcodec",
                 cv->out_codec == NGX_AMS_CODEC_OPUS ? "Opus" : "AAC");
        return -1;
    }

    cv->encoder = codec->name;

    cv->enc = avcodec_alloc_context3(codec);
    if (cv->enc == NULL) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }

    /* the encoder's preferred format among those it takes: interleaved
     * float for libopus, planar float for aac */
    fmt = AV_SAMPLE_FMT_NONE;

    for (f = codec->sample_fmts; f && *f != AV_SAMPLE_FMT_NONE; f++) {
        if (*f == AV_SAMPLE_FMT_FLT || *f == AV_SAMPLE_FMT_FLTP) {
            fmt = *f;
            break;
        }
    }

    if (fmt == AV_SAMPLE_FMT_NONE) {
        fmt = codec->sample_fmts ? codec->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
    }

    /* a rate the AAC encoder takes (it refuses odd ones) */
    if (codec->supported_samplerates) {
        for (i = 0; codec->supported_samplerates[i]; i++) {
            if ((unsigned) codec->supported_samplerates[i] == cv->rate) {
                break;
            }
        }

        if (codec->supported_samplerates[i] == 0) {
            cv->rate = NGX_AMS_AUDIO_OPUS_RATE;
        }
    }

    cv->enc->sample_fmt = fmt;
    cv->enc->sample_rate = (int) cv->rate;
    cv->enc->bit_rate = bitrate;
    cv->enc->time_base = (AVRational) { 1, (int) cv->rate };
    cv->enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    cv->enc->strict_std_compliance = FF_COMPLIANCE_EXPERIMENTAL;
    av_channel_layout_default(&cv->enc->ch_layout, (int) cv->channels);

    if (avcodec_open2(cv->enc, codec, NULL) < 0) {
        snprintf(err, err_len, "the %s encoder did not open (%u Hz, "
                 "%u channels, %u bit/s)", codec->name, cv->rate,
                 cv->channels, bitrate);
        return -1;
    }

    if (cv->enc->frame_size <= 0) {
        snprintf(err, err_len, "the %s encoder has no frame size",
                 codec->name);
        return -1;
    }

    cv->priming = cv->enc->initial_padding;

    if (cv->out_codec == NGX_AMS_CODEC_OPUS) {
        /* our own OpusHead, whatever the encoder's extradata says: the
         * pre-skip is the encoder's priming, at 48 kHz */
        cv->config_len = ngx_ams_opus_head_build(cv->config, cv->channels,
                              (unsigned) cv->priming,
                              (uint32_t) cv->dec->sample_rate);

    } else {
        if (cv->enc->extradata == NULL || cv->enc->extradata_size < 2
            || (size_t) cv->enc->extradata_size > sizeof(cv->config))
        {
            snprintf(err, err_len, "the %s encoder made no "
                     "AudioSpecificConfig", codec->name);
            return -1;
        }

        memcpy(cv->config, cv->enc->extradata, cv->enc->extradata_size);
        cv->config_len = cv->enc->extradata_size;
    }

    return 0;
}


void
ngx_ams_audio_conv_config(ngx_ams_audio_conv_t *cv, const uint8_t **data,
    size_t *len)
{
    *data = cv->config;
    *len = cv->config_len;
}


const char *
ngx_ams_audio_conv_encoder(ngx_ams_audio_conv_t *cv)
{
    return cv->encoder;
}


void
ngx_ams_audio_conv_format(ngx_ams_audio_conv_t *cv, unsigned *sample_rate,
    unsigned *channels)
{
    *sample_rate = cv->rate;
    *channels = cv->channels;
}


int
ngx_ams_audio_conv_push(ngx_ams_audio_conv_t *cv, const uint8_t *data,
    size_t len, int64_t pts)
{
    int  rc;

    /* an empty packet would read as the decoder's flush */
    if (cv->flushed || data == NULL || len == 0
        || len > NGX_AMS_AUDIO_MAX_INPUT)
    {
        cv->dropped++;
        return -1;
    }

    if (len + AV_INPUT_BUFFER_PADDING_SIZE > cv->buf_size) {
        av_free(cv->buf);
        cv->buf_size = len + AV_INPUT_BUFFER_PADDING_SIZE;
        cv->buf = av_malloc(cv->buf_size);
        if (cv->buf == NULL) {
            cv->buf_size = 0;
            cv->dropped++;
            return -1;
        }
    }

    /* libav's decoders read a little past the end */
    memcpy(cv->buf, data, len);
    memset(cv->buf + len, 0, AV_INPUT_BUFFER_PADDING_SIZE);

    cv->in->data = cv->buf;
    cv->in->size = (int) len;
    cv->in->pts = pts;

    rc = avcodec_send_packet(cv->dec, cv->in);

    cv->in->data = NULL;
    cv->in->size = 0;

    if (rc < 0) {
        cv->dropped++;
        /* what it decoded before is still to be taken */
        (void) ngx_ams_audio_drain_decoder(cv, pts);
        return -1;
    }

    if (ngx_ams_audio_drain_decoder(cv, pts) != 0) {
        cv->dropped++;
        return -1;
    }

    return ngx_ams_audio_encode(cv, 0);
}


/* every frame the decoder has, into the FIFO at the output's format */

static int
ngx_ams_audio_drain_decoder(ngx_ams_audio_conv_t *cv, int64_t pts)
{
    int      rc, failed;
    int64_t  expected, skip;

    failed = 0;

    for ( ;; ) {
        rc = avcodec_receive_frame(cv->dec, cv->decoded);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) {
            break;
        }

        if (rc < 0) {
            failed = 1;
            break;
        }

        if (cv->decoded->nb_samples <= 0 || cv->decoded->sample_rate <= 0) {
            av_frame_unref(cv->decoded);
            continue;
        }

        if (!cv->have_base) {
            /* the decoder dropped the Opus pre-skip from the first
             * packet: its first sample is that much later */
            skip = cv->in_codec == NGX_AMS_CODEC_OPUS ? cv->in_skip : 0;
            cv->base = pts + av_rescale(skip, NGX_AMS_TIMEBASE,
                                        NGX_AMS_AUDIO_OPUS_RATE);
            cv->have_base = 1;

        } else if (pts != INT64_MIN) {
            /* only a jump moves the base (see the top of the file) */
            expected = cv->base + av_rescale(cv->written, NGX_AMS_TIMEBASE,
                                             cv->rate);

            if (pts - expected > NGX_AMS_AUDIO_JUMP
                || expected - pts > NGX_AMS_AUDIO_JUMP)
            {
                cv->base += pts - expected;
            }
        }

        /* several frames of one packet: the next ones follow on */
        pts = INT64_MIN;

        rc = ngx_ams_audio_resample(cv, cv->decoded);
        av_frame_unref(cv->decoded);

        if (rc != 0) {
            failed = 1;
        }
    }

    return failed ? -1 : 0;
}


static int
ngx_ams_audio_resample(ngx_ams_audio_conv_t *cv, AVFrame *in)
{
    int        n, got;
    uint8_t  **out;

    if (cv->swr == NULL || in->sample_rate != cv->swr_rate
        || in->format != cv->swr_format
        || av_channel_layout_compare(&in->ch_layout, &cv->swr_layout) != 0)
    {
        /* first frame, or the stream's format changed: what the old
         * resampler still held is lost (a few samples) */
        swr_free(&cv->swr);
        av_channel_layout_uninit(&cv->swr_layout);

        if (in->ch_layout.nb_channels <= 0
            || swr_alloc_set_opts2(&cv->swr, &cv->enc->ch_layout,
                                   cv->enc->sample_fmt, cv->enc->sample_rate,
                                   &in->ch_layout, in->format,
                                   in->sample_rate, 0, NULL)
               < 0
            || swr_init(cv->swr) < 0)
        {
            swr_free(&cv->swr);
            cv->swr_rate = -1;
            return -1;
        }

        cv->swr_rate = in->sample_rate;
        cv->swr_format = in->format;
        if (av_channel_layout_copy(&cv->swr_layout, &in->ch_layout) < 0) {
            return -1;
        }
    }

    n = swr_get_out_samples(cv->swr, in->nb_samples);
    if (n <= 0) {
        return 0;
    }

    if (av_samples_alloc_array_and_samples(&out, NULL, (int) cv->channels, n,
                                           cv->enc->sample_fmt, 0)
        < 0)
    {
        return -1;
    }

    got = swr_convert(cv->swr, out, n, (const uint8_t **) in->extended_data,
                      in->nb_samples);

    if (got > 0) {
        if (av_audio_fifo_write(cv->fifo, (void **) out, got) < got) {
            got = -1;

        } else {
            cv->written += got;
        }
    }

    av_freep(&out[0]);
    av_freep(&out);

    return got < 0 ? -1 : 0;
}


/* whole encoder frames out of the FIFO; "last": the remainder too */

static int
ngx_ams_audio_encode(ngx_ams_audio_conv_t *cv, int last)
{
    int  n, rc;

    for ( ;; ) {
        n = av_audio_fifo_size(cv->fifo);

        if (n == 0 || (n < cv->enc->frame_size && !last)) {
            return 0;
        }

        if (n > cv->enc->frame_size) {
            n = cv->enc->frame_size;
        }

        av_frame_unref(cv->frame);
        cv->frame->nb_samples = n;
        cv->frame->format = cv->enc->sample_fmt;
        cv->frame->sample_rate = cv->enc->sample_rate;

        if (av_channel_layout_copy(&cv->frame->ch_layout,
                                   &cv->enc->ch_layout)
            < 0
            || av_frame_get_buffer(cv->frame, 0) < 0)
        {
            return -1;
        }

        if (av_audio_fifo_read(cv->fifo, (void **) cv->frame->data, n) < n) {
            return -1;
        }

        /* in samples: the encoder's packets carry it back */
        cv->frame->pts = cv->encoded;
        cv->encoded += n;

        rc = avcodec_send_frame(cv->enc, cv->frame);
        if (rc < 0) {
            return -1;
        }

        if (ngx_ams_audio_drain_encoder(cv) != 0) {
            return -1;
        }
    }
}


static int
ngx_ams_audio_drain_encoder(ngx_ams_audio_conv_t *cv)
{
    int        rc;
    unsigned   i;
    AVPacket  *pkt;

    for ( ;; ) {
        if (cv->out_n == NGX_AMS_AUDIO_MAX_PACKETS) {
            /* nobody pulls: the oldest goes */
            i = cv->out_head;
            av_packet_free(&cv->out[i]);
            cv->out_head = (i + 1) % NGX_AMS_AUDIO_MAX_PACKETS;
            cv->out_n--;
            cv->dropped++;
        }

        pkt = av_packet_alloc();
        if (pkt == NULL) {
            return -1;
        }

        rc = avcodec_receive_packet(cv->enc, pkt);
        if (rc < 0) {
            av_packet_free(&pkt);
            return (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) ? 0 : -1;
        }

        /* see the top of the file: samples, then 90 kHz, priming in */
        pkt->pts = cv->base + av_rescale(pkt->pts + cv->priming,
                                         NGX_AMS_TIMEBASE, cv->rate);

        i = (cv->out_head + cv->out_n) % NGX_AMS_AUDIO_MAX_PACKETS;
        cv->out[i] = pkt;
        cv->out_n++;
    }
}


int
ngx_ams_audio_conv_pull(ngx_ams_audio_conv_t *cv, const uint8_t **data,
    size_t *len, int64_t *pts)
{
    AVPacket  *pkt;

    if (cv->out_n == 0) {
        return 0;
    }

    pkt = cv->out[cv->out_head];
    cv->out[cv->out_head] = NULL;
    cv->out_head = (cv->out_head + 1) % NGX_AMS_AUDIO_MAX_PACKETS;
    cv->out_n--;

    av_packet_unref(cv->current);
    av_packet_move_ref(cv->current, pkt);
    av_packet_free(&pkt);

    *data = cv->current->data;
    *len = cv->current->size;
    *pts = cv->current->pts;

    return 1;
}


void
ngx_ams_audio_conv_flush(ngx_ams_audio_conv_t *cv)
{
    int        got;
    uint8_t  **out;

    if (cv->flushed) {
        return;
    }

    cv->flushed = 1;

    if (avcodec_send_packet(cv->dec, NULL) >= 0) {
        (void) ngx_ams_audio_drain_decoder(cv, INT64_MIN);
    }

    /* what the resampler holds back for its filter */
    if (cv->swr
        && av_samples_alloc_array_and_samples(&out, NULL, (int) cv->channels,
                                              4096, cv->enc->sample_fmt, 0)
           >= 0)
    {
        got = swr_convert(cv->swr, out, 4096, NULL, 0);
        if (got > 0 && av_audio_fifo_write(cv->fifo, (void **) out, got)
                       == got)
        {
            cv->written += got;
        }

        av_freep(&out[0]);
        av_freep(&out);
    }

    (void) ngx_ams_audio_encode(cv, 1);

    if (avcodec_send_frame(cv->enc, NULL) >= 0) {
        (void) ngx_ams_audio_drain_encoder(cv);
    }
}


uint64_t
ngx_ams_audio_conv_dropped(ngx_ams_audio_conv_t *cv)
{
    return cv->dropped;
}


void
ngx_ams_audio_conv_destroy(ngx_ams_audio_conv_t *cv)
{
    if (cv == NULL) {
        return;
    }

    while (cv->out_n) {
        av_packet_free(&cv->out[cv->out_head]);
        cv->out_head = (cv->out_head + 1) % NGX_AMS_AUDIO_MAX_PACKETS;
        cv->out_n--;
    }

    avcodec_free_context(&cv->dec);
    avcodec_free_context(&cv->enc);
    swr_free(&cv->swr);
    av_channel_layout_uninit(&cv->swr_layout);

    if (cv->fifo) {
        av_audio_fifo_free(cv->fifo);
    }

    av_frame_free(&cv->decoded);
    av_frame_free(&cv->frame);
    av_packet_free(&cv->in);
    av_packet_free(&cv->current);
    av_free(cv->buf);
    av_free(cv);
}


/* OpusHead, RFC 7845 5.1 */

int
ngx_ams_opus_head_parse(const uint8_t *p, size_t len, ngx_ams_opus_head_t *h,
    const char **err)
{
    unsigned  i;

    memset(h, 0, sizeof(ngx_ams_opus_head_t));

    if (p == NULL || len < NGX_AMS_OPUS_HEAD_LEN
        || memcmp(p, "OpusHead", 8) != 0)
    {
        *err = "not an OpusHead";
        return -1;
    }

    h->version = p[8];
    h->channels = p[9];
    h->pre_skip = p[10] | (p[11] << 8);
    h->input_rate = (uint32_t) p[12] | ((uint32_t) p[13] << 8)
                    | ((uint32_t) p[14] << 16) | ((uint32_t) p[15] << 24);
    h->gain = (int16_t) (p[16] | (p[17] << 8));
    h->mapping_family = p[18];

    /* the major version (upper 4 bits) is what a reader must know */
    if ((h->version >> 4) != 0) {
        *err = "OpusHead version not supported";
        return -1;
    }

    if (h->channels == 0) {
        *err = "OpusHead with no channels";
        return -1;
    }

    if (h->mapping_family == 0) {
        if (h->channels > 2) {
            *err = "OpusHead family 0 with more than 2 channels";
            return -1;
        }

        h->streams = 1;
        h->coupled = h->channels - 1;

        return 0;
    }

    if (len < 21 + (size_t) h->channels) {
        *err = "OpusHead channel mapping table truncated";
        return -1;
    }

    h->streams = p[19];
    h->coupled = p[20];

    if (h->streams == 0 || h->coupled > h->streams
        || h->streams + h->coupled > 255)
    {
        *err = "OpusHead stream counts invalid";
        return -1;
    }

    for (i = 0; i < h->channels; i++) {
        h->mapping[i] = p[21 + i];

        if (h->mapping[i] != 255
            && h->mapping[i] >= h->streams + h->coupled)
        {
            *err = "OpusHead channel mapping out of range";
            return -1;
        }
    }

    return 0;
}


size_t
ngx_ams_opus_head_build(uint8_t *out, unsigned channels, unsigned pre_skip,
    uint32_t input_rate)
{
    memcpy(out, "OpusHead", 8);
    out[8] = 1;                            /* version */
    out[9] = (uint8_t) channels;
    out[10] = (uint8_t) pre_skip;
    out[11] = (uint8_t) (pre_skip >> 8);
    out[12] = (uint8_t) input_rate;
    out[13] = (uint8_t) (input_rate >> 8);
    out[14] = (uint8_t) (input_rate >> 16);
    out[15] = (uint8_t) (input_rate >> 24);
    out[16] = 0;                           /* output gain */
    out[17] = 0;
    out[18] = 0;                           /* mapping family: mono/stereo */

    return NGX_AMS_OPUS_HEAD_LEN;
}
