
/*
 * Copyright (C) nginx-ams authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_ams_mp4_mux.h"
#include "ngx_ams_avc.h"
#include "ngx_ams_ring.h"


#define NGX_AMS_MP4_KEY_FLAGS      0x02000000   /* depends on nothing */
#define NGX_AMS_MP4_DELTA_FLAGS    0x01010000   /* depends, not a sync */
#define NGX_AMS_MP4_OPUS_RATE      48000
#define NGX_AMS_MP4_OPUS_HEAD_LEN  19


/* writing into a buffer whose allocation failures are checked once, at
 * the end: a failed buffer has ok == 0 and ignores further writes */

typedef struct {
    ngx_ams_buf_t  *b;
    int             ok;
} ngx_ams_mp4_w_t;


static void
put(ngx_ams_mp4_w_t *w, const void *p, size_t n)
{
    if (w->ok && ngx_ams_buf_append(w->b, p, n) != 0) {
        w->ok = 0;
    }
}


static void
put8(ngx_ams_mp4_w_t *w, uint32_t v)
{
    uint8_t  b = (uint8_t) v;

    put(w, &b, 1);
}


static void
put16(ngx_ams_mp4_w_t *w, uint32_t v)
{
    uint8_t  b[2] = { (uint8_t) (v >> 8), (uint8_t) v };

    put(w, b, 2);
}


static void
put32(ngx_ams_mp4_w_t *w, uint32_t v)
{
    uint8_t  b[4] = { (uint8_t) (v >> 24), (uint8_t) (v >> 16),
                      (uint8_t) (v >> 8), (uint8_t) v };

    put(w, b, 4);
}


static void
put64(ngx_ams_mp4_w_t *w, uint64_t v)
{
    put32(w, (uint32_t) (v >> 32));
    put32(w, (uint32_t) v);
}


static void
put_zeros(ngx_ams_mp4_w_t *w, size_t n)
{
    static const uint8_t  z[64];

    while (n) {
        size_t  k = n < sizeof(z) ? n : sizeof(z);
        put(w, z, k);
        n -= k;
    }
}


static size_t
box(ngx_ams_mp4_w_t *w, const char *type)
{
    size_t  start = w->b->len;

    put32(w, 0);
    put(w, type, 4);

    return start;
}


static size_t
full_box(ngx_ams_mp4_w_t *w, const char *type, uint32_t version_flags)
{
    size_t  start = box(w, type);

    put32(w, version_flags);

    return start;
}


static void
box_end(ngx_ams_mp4_w_t *w, size_t start)
{
    uint32_t  size;

    if (!w->ok) {
        return;
    }

    size = (uint32_t) (w->b->len - start);
    w->b->data[start] = (uint8_t) (size >> 24);
    w->b->data[start + 1] = (uint8_t) (size >> 16);
    w->b->data[start + 2] = (uint8_t) (size >> 8);
    w->b->data[start + 3] = (uint8_t) size;
}


/* an OpusHead (RFC 7845 5.1) the dOps box can say: 0, or -1 */

static int
ngx_ams_mp4_opus_head(ngx_ams_mp4_track_t *t, const uint8_t *p, size_t len,
    const char **err)
{
    unsigned  channels;

    if (len < NGX_AMS_MP4_OPUS_HEAD_LEN || (p[8] >> 4) != 0) {
        *err = "OpusHead truncated or of an unknown version";
        return -1;
    }

    channels = p[9];

    if (channels == 0
        || (p[18] == 0 && channels > 2)
        || (p[18] != 0 && (len < 21 + (size_t) channels || p[19] == 0)))
    {
        *err = "OpusHead channels or mapping invalid";
        return -1;
    }

    memset(&t->aac, 0, sizeof(ngx_ams_aac_config_t));
    t->aac.channels = (uint8_t) channels;
    t->aac.sample_rate = NGX_AMS_MP4_OPUS_RATE;   /* Opus decodes at 48k */

    return 0;
}


int
ngx_ams_mp4_track_config(ngx_ams_mp4_track_t *t, unsigned kind,
    uint32_t track_id, const uint8_t *config, size_t len, const char **err)
{
    ngx_ams_avc_config_t  avc;

    if (len > sizeof(t->config)) {
        *err = "codec configuration too large";
        return -1;
    }

    if (kind == NGX_AMS_MP4_VIDEO) {
        if (ngx_ams_avc_parse_config(config, len, &avc, err) != 0) {
            return -1;
        }

        t->width = avc.width;
        t->height = avc.height;
        t->timescale = NGX_AMS_TIMEBASE;
        t->opus = 0;

    } else if (len >= 8 && memcmp(config, "OpusHead", 8) == 0) {
        /* an AudioSpecificConfig never starts so: object type 9 (HVXC) */
        if (ngx_ams_mp4_opus_head(t, config, len, err) != 0) {
            return -1;
        }

        t->timescale = NGX_AMS_MP4_OPUS_RATE;
        t->opus = 1;

    } else {
        if (ngx_ams_aac_parse_config(config, len, &t->aac, err) != 0) {
            return -1;
        }

        t->timescale = t->aac.sample_rate;
        t->opus = 0;
    }

    t->kind = kind;
    t->track_id = track_id;
    memcpy(t->config, config, len);
    t->config_len = len;
    t->configured = 1;

    return 0;
}


int64_t
ngx_ams_mp4_rescale(const ngx_ams_mp4_track_t *t, int64_t ts90k)
{
    if (t->timescale == NGX_AMS_TIMEBASE) {
        return ts90k;
    }

    /* rounded, so a run of AAC frames keeps exact 1024-sample steps */
    return (ts90k * t->timescale + NGX_AMS_TIMEBASE / 2) / NGX_AMS_TIMEBASE;
}


/*
 * "Encapsulation of Opus in ISO Base Media File Format" (Opus in MP4):
 * an 'Opus' AudioSampleEntry at 48 kHz with a dOps box, the OpusHead's
 * fields big-endian and without its magic; version 0.
 */

static void
ngx_ams_mp4_opus_entry(ngx_ams_mp4_w_t *w, ngx_ams_mp4_track_t *t)
{
    size_t          e, c;
    unsigned        i;
    const uint8_t  *h = t->config;

    e = box(w, "Opus");
    put_zeros(w, 6);
    put16(w, 1);                           /* data reference index */
    put_zeros(w, 8);
    put16(w, h[9]);                        /* channel count */
    put16(w, 16);                          /* sample size */
    put32(w, 0);
    put32(w, (uint32_t) NGX_AMS_MP4_OPUS_RATE << 16);

    c = box(w, "dOps");
    put8(w, 0);                            /* version */
    put8(w, h[9]);                         /* output channel count */
    put16(w, h[10] | (h[11] << 8));        /* pre-skip */
    put32(w, (uint32_t) h[12] | ((uint32_t) h[13] << 8)
             | ((uint32_t) h[14] << 16) | ((uint32_t) h[15] << 24));
    put16(w, h[16] | (h[17] << 8));        /* output gain */
    put8(w, h[18]);                        /* channel mapping family */

    if (h[18] != 0) {
        put8(w, h[19]);                    /* stream count */
        put8(w, h[20]);                    /* coupled count */

        for (i = 0; i < h[9]; i++) {
            put8(w, h[21 + i]);
        }
    }

    box_end(w, c);
    box_end(w, e);
}


/* an Opus packet's length in 48 kHz samples, from its TOC (RFC 6716
 * 3.1); 960 (20 ms) when it cannot say */

static uint32_t
ngx_ams_mp4_opus_duration(const uint8_t *p, size_t len)
{
    unsigned  config, frames, size;

    static const unsigned  silk[4] = { 480, 960, 1920, 2880 };
    static const unsigned  celt[4] = { 120, 240, 480, 960 };

    if (len == 0) {
        return 960;
    }

    config = p[0] >> 3;

    if (config < 12) {
        size = silk[config & 3];

    } else if (config < 16) {
        size = (config & 1) ? 960 : 480;

    } else {
        size = celt[config & 3];
    }

    switch (p[0] & 3) {
    case 0:
        frames = 1;
        break;
    case 3:
        frames = len > 1 ? (p[1] & 0x3f) : 0;
        break;
    default:
        frames = 2;
    }

    /* at most 120 ms a packet */
    if (frames == 0 || frames * size > 5760) {
        return 960;
    }

    return frames * size;
}


static void
ngx_ams_mp4_sample_entry(ngx_ams_mp4_w_t *w, ngx_ams_mp4_track_t *t)
{
    size_t   e, c;
    uint8_t  name[32];

    if (t->kind == NGX_AMS_MP4_VIDEO) {
        e = box(w, "avc1");
        put_zeros(w, 6);
        put16(w, 1);                       /* data reference index */
        put_zeros(w, 16);
        put16(w, t->width);
        put16(w, t->height);
        put32(w, 0x00480000);              /* 72 dpi */
        put32(w, 0x00480000);
        put32(w, 0);
        put16(w, 1);                       /* frame count */
        memset(name, 0, sizeof(name));
        put(w, name, sizeof(name));
        put16(w, 0x0018);                  /* depth */
        put16(w, 0xffff);
        c = box(w, "avcC");
        put(w, t->config, t->config_len);
        box_end(w, c);
        box_end(w, e);
        return;
    }

    if (t->opus) {
        ngx_ams_mp4_opus_entry(w, t);
        return;
    }

    e = box(w, "mp4a");
    put_zeros(w, 6);
    put16(w, 1);
    put_zeros(w, 8);
    put16(w, t->aac.channels > 2 ? t->aac.channels : 2);
    put16(w, 16);
    put32(w, 0);
    put32(w, (t->aac.sample_rate > 0xffff ? 0 : t->aac.sample_rate) << 16);

    /* esds: ES, decoder config (AAC), decoder specific info, SL config */
    c = full_box(w, "esds", 0);
    put8(w, 0x03);
    put8(w, (uint32_t) (3 + 2 + 13 + 2 + t->config_len + 3));
    put16(w, 0);                           /* ES id */
    put8(w, 0);
    put8(w, 0x04);
    put8(w, (uint32_t) (13 + 2 + t->config_len));
    put8(w, 0x40);                         /* MPEG-4 audio */
    put8(w, 0x15);                         /* audio stream */
    put8(w, 0); put16(w, 0);               /* buffer size */
    put32(w, 0);                           /* max bitrate */
    put32(w, 0);                           /* average bitrate */
    put8(w, 0x05);
    put8(w, (uint32_t) t->config_len);
    put(w, t->config, t->config_len);
    put8(w, 0x06);
    put8(w, 1);
    put8(w, 0x02);
    box_end(w, c);
    box_end(w, e);
}


int
ngx_ams_mp4_init_segment(ngx_ams_buf_t *out, ngx_ams_mp4_track_t **tracks,
    unsigned n)
{
    size_t                b, moov, trak, mdia, minf, stbl, mvex, s;
    unsigned              i;
    ngx_ams_mp4_w_t       w = { out, 1 };
    ngx_ams_mp4_track_t  *t;
    static const uint32_t  matrix[9] = {
        0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000
    };

    b = box(&w, "ftyp");
    put(&w, "iso6", 4);
    put32(&w, 0);
    put(&w, "iso6cmfcmp41dash", 16);
    box_end(&w, b);

    moov = box(&w, "moov");

    b = full_box(&w, "mvhd", 0);
    put32(&w, 0);
    put32(&w, 0);
    put32(&w, 1000);                       /* timescale */
    put32(&w, 0);                          /* duration: fragmented */
    put32(&w, 0x00010000);                 /* rate */
    put16(&w, 0x0100);                     /* volume */
    put_zeros(&w, 10);
    for (i = 0; i < 9; i++) {
        put32(&w, matrix[i]);
    }
    put_zeros(&w, 24);
    put32(&w, 0xffffffff);                 /* next track id: any */
    box_end(&w, b);

    for (i = 0; i < n; i++) {
        t = tracks[i];

        trak = box(&w, "trak");

        b = full_box(&w, "tkhd", 3);       /* enabled, in movie */
        put32(&w, 0);
        put32(&w, 0);
        put32(&w, t->track_id);
        put32(&w, 0);
        put32(&w, 0);                      /* duration */
        put_zeros(&w, 8);
        put16(&w, 0);                      /* layer */
        put16(&w, 0);                      /* alternate group */
        put16(&w, t->kind == NGX_AMS_MP4_AUDIO ? 0x0100 : 0);
        put16(&w, 0);
        for (s = 0; s < 9; s++) {
            put32(&w, matrix[s]);
        }
        put32(&w, t->kind == NGX_AMS_MP4_VIDEO ? t->width << 16 : 0);
        put32(&w, t->kind == NGX_AMS_MP4_VIDEO ? t->height << 16 : 0);
        box_end(&w, b);

        mdia = box(&w, "mdia");

        b = full_box(&w, "mdhd", 0);
        put32(&w, 0);
        put32(&w, 0);
        put32(&w, t->timescale);
        put32(&w, 0);
        put16(&w, 0x55c4);                 /* "und" */
        put16(&w, 0);
        box_end(&w, b);

        b = full_box(&w, "hdlr", 0);
        put32(&w, 0);
        put(&w, t->kind == NGX_AMS_MP4_VIDEO ? "vide" : "soun", 4);
        put_zeros(&w, 12);
        put(&w, t->kind == NGX_AMS_MP4_VIDEO ? "VideoHandler" : "SoundHandler",
            13);
        box_end(&w, b);

        minf = box(&w, "minf");

        if (t->kind == NGX_AMS_MP4_VIDEO) {
            b = full_box(&w, "vmhd", 1);
            put_zeros(&w, 8);
        } else {
            b = full_box(&w, "smhd", 0);
            put_zeros(&w, 4);
        }
        box_end(&w, b);

        b = box(&w, "dinf");
        s = full_box(&w, "dref", 0);
        put32(&w, 1);
        box_end(&w, full_box(&w, "url ", 1));
        box_end(&w, s);
        box_end(&w, b);

        stbl = box(&w, "stbl");

        b = full_box(&w, "stsd", 0);
        put32(&w, 1);
        ngx_ams_mp4_sample_entry(&w, t);
        box_end(&w, b);

        b = full_box(&w, "stts", 0);
        put32(&w, 0);
        box_end(&w, b);
        b = full_box(&w, "stsc", 0);
        put32(&w, 0);
        box_end(&w, b);
        b = full_box(&w, "stsz", 0);
        put32(&w, 0);
        put32(&w, 0);
        box_end(&w, b);
        b = full_box(&w, "stco", 0);
        put32(&w, 0);
        box_end(&w, b);

        box_end(&w, stbl);
        box_end(&w, minf);
        box_end(&w, mdia);
        box_end(&w, trak);
    }

    mvex = box(&w, "mvex");

    for (i = 0; i < n; i++) {
        b = full_box(&w, "trex", 0);
        put32(&w, tracks[i]->track_id);
        put32(&w, 1);                      /* sample description */
        put32(&w, 0);
        put32(&w, 0);
        put32(&w, 0);
        box_end(&w, b);
    }

    box_end(&w, mvex);
    box_end(&w, moov);

    return w.ok ? 0 : -1;
}


int
ngx_ams_mp4_add_sample(ngx_ams_mp4_track_t *t, int64_t dts, int32_t cts,
    int key, const uint8_t *data, size_t len)
{
    int64_t                d;
    ngx_ams_mp4_sample_t  *s;

    if (t->nsamples == t->cap) {
        size_t  cap = t->cap ? t->cap * 2 : 256;

        s = realloc(t->samples, cap * sizeof(ngx_ams_mp4_sample_t));
        if (s == NULL) {
            return -1;
        }

        t->samples = s;
        t->cap = cap;
    }

    if (ngx_ams_buf_append(&t->data, data, len) != 0) {
        return -1;
    }

    d = ngx_ams_mp4_rescale(t, dts);

    if (t->nsamples == 0) {
        t->first_dts = d;

    } else {
        /* the previous sample lasts until this one */
        s = &t->samples[t->nsamples - 1];
        s->duration = d > t->last_dts ? (uint32_t) (d - t->last_dts) : 0;
    }

    s = &t->samples[t->nsamples++];
    s->size = (uint32_t) len;
    /* an Opus packet says how long it is: the last one of a fragment
     * keeps that (the next sample's dts replaces it otherwise) */
    s->duration = t->opus ? ngx_ams_mp4_opus_duration(data, len) : 0;
    s->cts = (int32_t) ngx_ams_mp4_rescale(t, cts);
    s->flags = (key || t->kind == NGX_AMS_MP4_AUDIO)
               ? NGX_AMS_MP4_KEY_FLAGS : NGX_AMS_MP4_DELTA_FLAGS;

    t->last_dts = d;

    return 0;
}


int
ngx_ams_mp4_fragment(ngx_ams_buf_t *out, ngx_ams_mp4_track_t **tracks,
    unsigned n, uint32_t sequence, int64_t end_dts)
{
    size_t                 moof, traf, b, k, offsets[2], mdat_start;
    unsigned               i;
    int64_t                end;
    ngx_ams_mp4_w_t        w = { out, 1 };
    ngx_ams_mp4_track_t   *t;
    ngx_ams_mp4_sample_t  *s;

    if (n > 2) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        t = tracks[i];

        if (t->nsamples) {
            s = &t->samples[t->nsamples - 1];
            end = ngx_ams_mp4_rescale(t, end_dts);

            if (t->kind == NGX_AMS_MP4_AUDIO && t->opus) {
                /* its own length: set by ngx_ams_mp4_add_sample() */

            } else if (t->kind == NGX_AMS_MP4_AUDIO) {
                /* an AAC frame straddling the cut keeps its length, so
                 * the next fragment starts where this one ends */
                s->duration = 1024;

            } else if (end > t->last_dts) {
                s->duration = (uint32_t) (end - t->last_dts);

            } else {
                s->duration = t->nsamples > 1 ? t->samples[0].duration : 3000;
            }
        }
    }

    moof = box(&w, "moof");

    b = full_box(&w, "mfhd", 0);
    put32(&w, sequence);
    box_end(&w, b);

    for (i = 0; i < n; i++) {
        t = tracks[i];

        traf = box(&w, "traf");

        b = full_box(&w, "tfhd", 0x020000);   /* default-base-is-moof */
        put32(&w, t->track_id);
        box_end(&w, b);

        b = full_box(&w, "tfdt", 0x01000000);
        put64(&w, (uint64_t) t->first_dts);
        box_end(&w, b);

        /* version 1: signed composition offsets; duration, size, flags,
         * composition offset per sample; data offset patched below */
        b = full_box(&w, "trun", 0x01000f01);
        put32(&w, (uint32_t) t->nsamples);
        offsets[i] = w.b->len;
        put32(&w, 0);

        for (k = 0; k < t->nsamples; k++) {
            s = &t->samples[k];
            put32(&w, s->duration);
            put32(&w, s->size);
            put32(&w, s->flags);
            put32(&w, (uint32_t) s->cts);
        }

        box_end(&w, b);
        box_end(&w, traf);
    }

    box_end(&w, moof);

    mdat_start = box(&w, "mdat");

    for (i = 0; i < n; i++) {
        t = tracks[i];

        if (w.ok) {
            size_t    off = w.b->len - moof;
            uint8_t  *p = w.b->data + offsets[i];

            p[0] = (uint8_t) (off >> 24);
            p[1] = (uint8_t) (off >> 16);
            p[2] = (uint8_t) (off >> 8);
            p[3] = (uint8_t) off;
        }

        if (t->data.len) {
            put(&w, t->data.data, t->data.len);
        }

        t->fragment_start = t->first_dts;
        t->fragment_duration = 0;
        for (k = 0; k < t->nsamples; k++) {
            t->fragment_duration += t->samples[k].duration;
        }
        t->fragment_bytes = t->data.len;

        t->nsamples = 0;
        t->data.len = 0;
    }

    box_end(&w, mdat_start);

    return w.ok ? 0 : -1;
}


void
ngx_ams_mp4_track_free(ngx_ams_mp4_track_t *t)
{
    free(t->samples);
    t->samples = NULL;
    t->nsamples = 0;
    t->cap = 0;
    ngx_ams_buf_free(&t->data);
}


void
ngx_ams_mp4_codecs(const ngx_ams_mp4_track_t *t, char *buf, size_t size)
{
    if (t->kind == NGX_AMS_MP4_VIDEO) {
        /* avcC: version, profile, compatibility, level */
        snprintf(buf, size, "avc1.%02x%02x%02x", t->config[1], t->config[2],
                 t->config[3]);

    } else if (t->opus) {
        snprintf(buf, size, "opus");

    } else {
        snprintf(buf, size, "mp4a.40.%u", t->aac.object_type);
    }
}
