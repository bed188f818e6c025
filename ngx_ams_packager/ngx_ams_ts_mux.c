
/*
 * Copyright (C) nginx-ams authors
 */


#include <stdlib.h>
#include <string.h>

#include "ngx_ams_ts_mux.h"
#include "ngx_ams_avc.h"


/* players want the first timestamps a little above zero, and PCR a
 * little before DTS so their buffer model has room */
#define NGX_AMS_TS_OFFSET       90000
#define NGX_AMS_TS_PCR_DELAY    63000
#define NGX_AMS_TS_MASK         0x1ffffffffLL


int
ngx_ams_buf_reserve(ngx_ams_buf_t *b, size_t n)
{
    size_t    cap;
    uint8_t  *p;

    if (b->cap - b->len >= n) {
        return 0;
    }

    cap = b->cap ? b->cap : 65536;
    while (cap - b->len < n) {
        cap *= 2;
    }

    p = realloc(b->data, cap);
    if (p == NULL) {
        return -1;
    }

    b->data = p;
    b->cap = cap;

    return 0;
}


int
ngx_ams_buf_append(ngx_ams_buf_t *b, const void *p, size_t n)
{
    if (ngx_ams_buf_reserve(b, n) != 0) {
        return -1;
    }

    memcpy(b->data + b->len, p, n);
    b->len += n;

    return 0;
}


void
ngx_ams_buf_free(ngx_ams_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof(ngx_ams_buf_t));
}


void
ngx_ams_ts_mux_init(ngx_ams_ts_mux_t *mux)
{
    memset(mux, 0, sizeof(ngx_ams_ts_mux_t));
}


void
ngx_ams_ts_mux_free(ngx_ams_ts_mux_t *mux)
{
    ngx_ams_buf_free(&mux->out);
    ngx_ams_buf_free(&mux->pes);
}


static uint32_t
ngx_ams_ts_crc32(const uint8_t *p, size_t len)
{
    int       i;
    uint32_t  crc = 0xffffffff;

    while (len--) {
        crc ^= (uint32_t) *p++ << 24;

        for (i = 0; i < 8; i++) {
            crc = (crc & 0x80000000) ? (crc << 1) ^ 0x04c11db7 : crc << 1;
        }
    }

    return crc;
}


int
ngx_ams_ts_mux_video_config(ngx_ams_ts_mux_t *mux, const uint8_t *avcc,
    size_t len, const char **err)
{
    unsigned              i;
    size_t                n;
    ngx_ams_avc_config_t  cfg;
    ngx_ams_avc_ps_t     *ps;
    static const uint8_t  start[4] = { 0, 0, 0, 1 };

    if (ngx_ams_avc_parse_config(avcc, len, &cfg, err) != 0) {
        return -1;
    }

    n = 0;

    for (i = 0; i < cfg.nsps + cfg.npps; i++) {
        ps = (i < cfg.nsps) ? &cfg.sps[i] : &cfg.pps[i - cfg.nsps];

        if (n + 4 + ps->len > sizeof(mux->param_sets)) {
            *err = "AVC parameter sets too large";
            return -1;
        }

        memcpy(mux->param_sets + n, start, 4);
        memcpy(mux->param_sets + n + 4, ps->data, ps->len);
        n += 4 + ps->len;
    }

    mux->param_sets_len = n;
    mux->nal_length_size = cfg.nal_length_size;
    mux->has_video = 1;

    return 0;
}


int
ngx_ams_ts_mux_audio_config(ngx_ams_ts_mux_t *mux, const uint8_t *asc,
    size_t len, const char **err)
{
    if (ngx_ams_aac_parse_config(asc, len, &mux->aac, err) != 0) {
        return -1;
    }

    mux->has_audio = 1;

    return 0;
}


static int
ngx_ams_ts_section(ngx_ams_ts_mux_t *mux, uint16_t pid, uint8_t *cc,
    const uint8_t *section, size_t len)
{
    uint8_t  *p;

    if (ngx_ams_buf_reserve(&mux->out, NGX_AMS_TS_PACKET) != 0) {
        return -1;
    }

    p = mux->out.data + mux->out.len;
    memset(p, 0xff, NGX_AMS_TS_PACKET);

    p[0] = 0x47;
    p[1] = (uint8_t) (0x40 | (pid >> 8));
    p[2] = (uint8_t) pid;
    p[3] = (uint8_t) (0x10 | (*cc & 0x0f));
    p[4] = 0;                                  /* pointer field */
    memcpy(p + 5, section, len);

    *cc = (*cc + 1) & 0x0f;
    mux->out.len += NGX_AMS_TS_PACKET;

    return 0;
}


int
ngx_ams_ts_mux_tables(ngx_ams_ts_mux_t *mux)
{
    size_t    n;
    uint8_t   s[64];
    uint16_t  pcr_pid;
    uint32_t  crc;

    /* PAT: one program, its PMT on NGX_AMS_TS_PMT_PID */
    n = 0;
    s[n++] = 0x00;
    s[n++] = 0xb0;
    s[n++] = 13;
    s[n++] = 0x00; s[n++] = 0x01;              /* transport stream id */
    s[n++] = 0xc1; s[n++] = 0x00; s[n++] = 0x00;
    s[n++] = 0x00; s[n++] = 0x01;              /* program 1 */
    s[n++] = 0xe0 | (NGX_AMS_TS_PMT_PID >> 8);
    s[n++] = NGX_AMS_TS_PMT_PID & 0xff;
    crc = ngx_ams_ts_crc32(s, n);
    s[n++] = crc >> 24; s[n++] = crc >> 16; s[n++] = crc >> 8; s[n++] = crc;

    if (ngx_ams_ts_section(mux, 0, &mux->cc_pat, s, n) != 0) {
        return -1;
    }

    pcr_pid = mux->has_video ? NGX_AMS_TS_VIDEO_PID : NGX_AMS_TS_AUDIO_PID;

    n = 0;
    s[n++] = 0x02;
    s[n++] = 0xb0;
    s[n++] = (uint8_t) (13 + 5 * (mux->has_video + mux->has_audio));
    s[n++] = 0x00; s[n++] = 0x01;              /* program 1 */
    s[n++] = 0xc1; s[n++] = 0x00; s[n++] = 0x00;
    s[n++] = 0xe0 | (pcr_pid >> 8);
    s[n++] = pcr_pid & 0xff;
    s[n++] = 0xf0; s[n++] = 0x00;              /* no program info */

    if (mux->has_video) {
        s[n++] = 0x1b;                         /* H.264 */
        s[n++] = 0xe0 | (NGX_AMS_TS_VIDEO_PID >> 8);
        s[n++] = NGX_AMS_TS_VIDEO_PID & 0xff;
        s[n++] = 0xf0; s[n++] = 0x00;
    }

    if (mux->has_audio) {
        s[n++] = 0x0f;                         /* AAC in ADTS */
        s[n++] = 0xe0 | (NGX_AMS_TS_AUDIO_PID >> 8);
        s[n++] = NGX_AMS_TS_AUDIO_PID & 0xff;
        s[n++] = 0xf0; s[n++] = 0x00;
    }

    crc = ngx_ams_ts_crc32(s, n);
    s[n++] = crc >> 24; s[n++] = crc >> 16; s[n++] = crc >> 8; s[n++] = crc;

    return ngx_ams_ts_section(mux, NGX_AMS_TS_PMT_PID, &mux->cc_pmt, s, n);
}


static uint8_t *
ngx_ams_ts_timestamp(uint8_t *p, unsigned prefix, int64_t t)
{
    t &= NGX_AMS_TS_MASK;

    *p++ = (uint8_t) ((prefix << 4) | (((t >> 30) & 7) << 1) | 1);
    *p++ = (uint8_t) (t >> 22);
    *p++ = (uint8_t) ((((t >> 15) & 0x7f) << 1) | 1);
    *p++ = (uint8_t) (t >> 7);
    *p++ = (uint8_t) (((t & 0x7f) << 1) | 1);

    return p;
}


/* cuts one PES (header + payload, already in mux->pes) into packets */

static int
ngx_ams_ts_packets(ngx_ams_ts_mux_t *mux, uint16_t pid, uint8_t *cc,
    int64_t pcr, int key)
{
    size_t          left, room, af, n, stuff;
    uint8_t        *p, *q;
    const uint8_t  *src;
    int             first;

    src = mux->pes.data;
    left = mux->pes.len;
    first = 1;

    if (ngx_ams_buf_reserve(&mux->out,
                            (left / 176 + 2) * NGX_AMS_TS_PACKET) != 0)
    {
        return -1;
    }

    while (left) {
        p = mux->out.data + mux->out.len;
        q = p + 4;

        p[0] = 0x47;
        p[1] = (uint8_t) ((first ? 0x40 : 0) | (pid >> 8));
        p[2] = (uint8_t) pid;

        af = 0;

        if (first && (pcr >= 0 || key)) {
            /* adaptation field: flags, then the PCR */
            q[1] = key ? 0x40 : 0;
            af = 2;

            if (pcr >= 0) {
                pcr &= NGX_AMS_TS_MASK;
                q[1] |= 0x10;
                q[2] = (uint8_t) (pcr >> 25);
                q[3] = (uint8_t) (pcr >> 17);
                q[4] = (uint8_t) (pcr >> 9);
                q[5] = (uint8_t) (pcr >> 1);
                q[6] = (uint8_t) (((pcr & 1) << 7) | 0x7e);
                q[7] = 0;
                af = 8;
            }
        }

        room = 184 - af;
        n = left < room ? left : room;
        stuff = room - n;

        if (stuff) {
            if (af == 0) {
                /* a one-byte field is just its length; longer ones have
                 * a flags byte then 0xff filler */
                if (stuff == 1) {
                    af = 1;
                } else {
                    q[1] = 0;
                    af = 2;
                    stuff -= 1;
                }
                stuff -= 1;
            }

            memset(q + af, 0xff, stuff);
            af += stuff;
        }

        if (af) {
            q[0] = (uint8_t) (af - 1);
            p[3] = (uint8_t) (0x30 | (*cc & 0x0f));
        } else {
            p[3] = (uint8_t) (0x10 | (*cc & 0x0f));
        }

        memcpy(q + af, src, n);

        *cc = (*cc + 1) & 0x0f;
        src += n;
        left -= n;
        first = 0;
        mux->out.len += NGX_AMS_TS_PACKET;
    }

    return 0;
}


int
ngx_ams_ts_mux_video(ngx_ams_ts_mux_t *mux, int64_t dts, int32_t cts,
    int key, const uint8_t *data, size_t len, const char **err)
{
    int                      rc;
    size_t                   pes_len;
    uint8_t                 *h;
    int64_t                  pts;
    ngx_ams_avc_nal_t        nal;
    ngx_ams_avc_nal_iter_t   it;
    static const uint8_t     aud[6] = { 0, 0, 0, 1, 0x09, 0xf0 };
    static const uint8_t     start[4] = { 0, 0, 0, 1 };

    if (!mux->has_video) {
        *err = "video frame before its configuration";
        return -1;
    }

    dts += NGX_AMS_TS_OFFSET;
    pts = dts + cts;

    mux->pes.len = 0;

    /* PES header with PTS and DTS: 19 bytes */
    if (ngx_ams_buf_reserve(&mux->pes, 19 + sizeof(aud)
                            + mux->param_sets_len + len * 2) != 0)
    {
        *err = "out of memory";
        return -1;
    }

    h = mux->pes.data;
    h[0] = 0; h[1] = 0; h[2] = 1; h[3] = 0xe0;
    h[4] = 0; h[5] = 0;              /* unbounded: video may exceed 64k */
    h[6] = 0x80;
    h[7] = 0xc0;
    h[8] = 10;
    ngx_ams_ts_timestamp(h + 9, 3, pts);
    ngx_ams_ts_timestamp(h + 14, 1, dts);
    mux->pes.len = 19;

    (void) ngx_ams_buf_append(&mux->pes, aud, sizeof(aud));

    if (key) {
        (void) ngx_ams_buf_append(&mux->pes, mux->param_sets,
                                  mux->param_sets_len);
    }

    ngx_ams_avc_nal_init(&it, data, len, mux->nal_length_size);

    while ((rc = ngx_ams_avc_nal_next(&it, &nal, err)) == 1) {

        if (nal.type == NGX_AMS_AVC_NAL_AUD) {
            continue;          /* we wrote our own access unit delimiter */
        }

        if (ngx_ams_buf_append(&mux->pes, start, 4) != 0
            || ngx_ams_buf_append(&mux->pes, nal.data, nal.len) != 0)
        {
            *err = "out of memory";
            return -1;
        }
    }

    if (rc != 0) {
        return -1;
    }

    pes_len = mux->pes.len - 6;
    if (pes_len <= 0xffff) {
        mux->pes.data[4] = (uint8_t) (pes_len >> 8);
        mux->pes.data[5] = (uint8_t) pes_len;
    }

    if (ngx_ams_ts_packets(mux, NGX_AMS_TS_VIDEO_PID, &mux->cc_video,
                           dts > NGX_AMS_TS_PCR_DELAY
                           ? dts - NGX_AMS_TS_PCR_DELAY : 0, key)
        != 0)
    {
        *err = "out of memory";
        return -1;
    }

    return 0;
}


int
ngx_ams_ts_mux_audio(ngx_ams_ts_mux_t *mux, int64_t pts, const uint8_t *data,
    size_t len)
{
    size_t    pes_len;
    uint8_t  *h;
    int64_t   pcr;

    if (!mux->has_audio || len > 8191 - NGX_AMS_ADTS_HEADER_LEN) {
        return -1;
    }

    pts += NGX_AMS_TS_OFFSET;

    mux->pes.len = 0;

    if (ngx_ams_buf_reserve(&mux->pes, 14 + NGX_AMS_ADTS_HEADER_LEN + len)
        != 0)
    {
        return -1;
    }

    pes_len = 8 + NGX_AMS_ADTS_HEADER_LEN + len;

    h = mux->pes.data;
    h[0] = 0; h[1] = 0; h[2] = 1; h[3] = 0xc0;
    h[4] = (uint8_t) (pes_len >> 8);
    h[5] = (uint8_t) pes_len;
    h[6] = 0x80;
    h[7] = 0x80;
    h[8] = 5;
    ngx_ams_ts_timestamp(h + 9, 2, pts);
    ngx_ams_aac_adts_header(&mux->aac, len, h + 14);
    memcpy(h + 14 + NGX_AMS_ADTS_HEADER_LEN, data, len);
    mux->pes.len = 14 + NGX_AMS_ADTS_HEADER_LEN + len;

    /* without video, audio carries the clock */
    pcr = -1;
    if (!mux->has_video) {
        pcr = pts > NGX_AMS_TS_PCR_DELAY ? pts - NGX_AMS_TS_PCR_DELAY : 0;
    }

    return ngx_ams_ts_packets(mux, NGX_AMS_TS_AUDIO_PID, &mux->cc_audio, pcr,
                              0);
}
