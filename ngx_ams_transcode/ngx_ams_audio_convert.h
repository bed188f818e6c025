
/*
 * Copyright (C) nginx-ams authors
 *
 * Audio conversion between the bus's codecs: AAC -> Opus (48 kHz),
 * Opus -> AAC, and AAC -> AAC at another bitrate (a rung's audio).
 * libavcodec decodes and encodes, libswresample converts the sample
 * format, rate and layout, an audio FIFO re-frames (AAC's 1024 samples
 * per frame, Opus's 960 at 20 ms).  Runs in whatever thread owns it; no
 * nginx types.
 *
 * Configurations are what the bus carries: an AudioSpecificConfig for
 * AAC, an OpusHead (RFC 7845 5.1) for Opus.  Timestamps are the bus's
 * 90 kHz clock: an output frame's pts follows the input's, so audio
 * stays in step with the video it came with.
 */


#ifndef _NGX_AMS_AUDIO_CONVERT_H_INCLUDED_
#define _NGX_AMS_AUDIO_CONVERT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


typedef struct ngx_ams_audio_conv_s  ngx_ams_audio_conv_t;


/* in_codec/out_codec: NGX_AMS_CODEC_AAC or NGX_AMS_CODEC_OPUS; bitrate
 * in bits/s (0: the encoder's default for the layout); NULL with a
 * message in "err" when the input configuration is unusable or an
 * encoder is missing */
ngx_ams_audio_conv_t *ngx_ams_audio_conv_create(unsigned in_codec,
    const uint8_t *in_config, size_t in_config_len, unsigned out_codec,
    unsigned bitrate, char *err, size_t err_len);

/* the output's configuration, valid while the converter lives */
void ngx_ams_audio_conv_config(ngx_ams_audio_conv_t *cv,
    const uint8_t **data, size_t *len);

/* one input frame: 0, or -1 when it could not be decoded (dropped and
 * counted; the converter goes on with the next) */
int ngx_ams_audio_conv_push(ngx_ams_audio_conv_t *cv, const uint8_t *data,
    size_t len, int64_t pts);

/* 1 with an output frame (valid until the next call), 0 when none is
 * ready; after ngx_ams_audio_conv_flush() it drains what is buffered */
int ngx_ams_audio_conv_pull(ngx_ams_audio_conv_t *cv, const uint8_t **data,
    size_t *len, int64_t *pts);
void ngx_ams_audio_conv_flush(ngx_ams_audio_conv_t *cv);

uint64_t ngx_ams_audio_conv_dropped(ngx_ams_audio_conv_t *cv);
void ngx_ams_audio_conv_destroy(ngx_ams_audio_conv_t *cv);

/* the libavcodec encoder the converter uses ("libopus", "opus", "aac") */
const char *ngx_ams_audio_conv_encoder(ngx_ams_audio_conv_t *cv);
/* the output's sample rate and channels */
void ngx_ams_audio_conv_format(ngx_ams_audio_conv_t *cv,
    unsigned *sample_rate, unsigned *channels);


/* OpusHead (RFC 7845 5.1): the identification header, little-endian */

#define NGX_AMS_OPUS_HEAD_LEN       19    /* mapping family 0 */
#define NGX_AMS_OPUS_HEAD_MAX       (21 + 255)

typedef struct {
    unsigned    version;
    unsigned    channels;
    unsigned    pre_skip;          /* 48 kHz samples the decoder drops */
    uint32_t    input_rate;        /* informational */
    int         gain;              /* Q7.8 dB */
    unsigned    mapping_family;
    unsigned    streams;           /* family != 0 only */
    unsigned    coupled;
    uint8_t     mapping[255];
} ngx_ams_opus_head_t;

/* 0, or -1 with *err naming what is wrong */
int ngx_ams_opus_head_parse(const uint8_t *p, size_t len,
    ngx_ams_opus_head_t *h, const char **err);
/* family 0 (1 or 2 channels): writes NGX_AMS_OPUS_HEAD_LEN bytes */
size_t ngx_ams_opus_head_build(uint8_t *out, unsigned channels,
    unsigned pre_skip, uint32_t input_rate);


#endif /* _NGX_AMS_AUDIO_CONVERT_H_INCLUDED_ */
