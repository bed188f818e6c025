
/*
 * Copyright (C) nginx-ams authors
 *
 * H.264 over RTP, packetization-mode 1 (RFC 6184): the packetizer that
 * turns a bus frame into payloads, and the depacketizer that rebuilds
 * access units from payloads in sequence order.
 *
 * The packetizer checks the whole access unit when it is set up, so a
 * frame with a broken length field sends nothing rather than half a
 * picture; it then walks the NAL units lazily, one payload per call,
 * and never copies more than one payload.
 *
 * The depacketizer writes NAL units straight into the unit being built
 * (a 4-byte length, then the NAL), FU-A fragments included, and takes
 * SPS/PPS back out when one completes.  Whatever it cannot rebuild
 * whole (a gap, a broken FU-A, an aggregation type mode 1 does not
 * allow, a unit over max_au) drops the unit and everything after it
 * until an IDR: a decoder fed a picture with missing references shows
 * garbage until the next keyframe anyway, and the caller asks for one.
 */


#include <stdlib.h>
#include <string.h>

#include "ngx_ams_avc.h"
#include "ngx_ams_rtp_h264.h"


#define NGX_AMS_H264_NAL_IDR      5
#define NGX_AMS_H264_NAL_SEI      6
#define NGX_AMS_H264_NAL_SPS      7
#define NGX_AMS_H264_NAL_PPS      8
#define NGX_AMS_H264_NAL_AUD      9
#define NGX_AMS_H264_NAL_FILLER   12
#define NGX_AMS_H264_STAP_A       24
#define NGX_AMS_H264_STAP_B       25
#define NGX_AMS_H264_MTAP16       26
#define NGX_AMS_H264_MTAP24       27
#define NGX_AMS_H264_FU_A         28
#define NGX_AMS_H264_FU_B         29

#define NGX_AMS_H264_FU_S         0x80
#define NGX_AMS_H264_FU_E         0x40

/* first size of the unit buffers: one 720p IDR fits, most frames less */
#define NGX_AMS_H264_BUF_START    (64 * 1024)


struct ngx_ams_h264_depack_s {
    size_t              max_au;

    uint8_t            *buf;                /* the unit being built */
    size_t              len;
    size_t              cap;
    uint8_t            *out;                /* the unit handed out */
    size_t              out_cap;

    uint32_t            ts;
    size_t              fu_start;           /* where the FU-A NAL's length
                                               field is in "buf" */

    /* the unit waiting in "buf" when "complete" */
    uint32_t            ready_ts;
    unsigned            ready_idr:1;
    unsigned            ready_config:1;

    unsigned            active:1;           /* "buf" holds packets of ts */
    unsigned            broken:1;           /* ... and is being dropped */
    unsigned            complete:1;         /* ... and is whole, not yet
                                               handed out */
    unsigned            fu:1;               /* inside a FU-A */
    unsigned            idr:1;              /* an IDR slice is in "buf" */
    unsigned            need_keyframe:1;
    unsigned            config_dirty:1;     /* SPS/PPS changed since the
                                               last unit handed out */

    size_t              sps_len;
    size_t              pps_len;
    uint8_t             sps[NGX_AMS_H264_PS_MAX];
    uint8_t             pps[NGX_AMS_H264_PS_MAX];
};


static unsigned ngx_ams_h264_dropped_type(unsigned type);
static int ngx_ams_h264_pk_advance(ngx_ams_h264_packetizer_t *pk);
static int ngx_ams_h264_grow(ngx_ams_h264_depack_t *d, size_t need);
static int ngx_ams_h264_put_nal(ngx_ams_h264_depack_t *d, const uint8_t *p,
    size_t len);
static int ngx_ams_h264_put_stap_a(ngx_ams_h264_depack_t *d,
    const uint8_t *p, size_t len);
static int ngx_ams_h264_put_fu_a(ngx_ams_h264_depack_t *d, const uint8_t *p,
    size_t len);
static int ngx_ams_h264_nal_done(ngx_ams_h264_depack_t *d, size_t start);
static int ngx_ams_h264_keep_ps(ngx_ams_h264_depack_t *d, unsigned type,
    const uint8_t *p, size_t len);
static int ngx_ams_h264_finish(ngx_ams_h264_depack_t *d);
static void ngx_ams_h264_hand_out(ngx_ams_h264_depack_t *d,
    ngx_ams_h264_au_t *au);
static unsigned ngx_ams_h264_sps_chroma(const uint8_t *sps, size_t len,
    uint8_t ext[3]);


/*
 * NAL units a WebRTC peer has no use for, and those of types 0 and
 * 24..31, which a receiver would take for aggregation or fragments
 */

static unsigned
ngx_ams_h264_dropped_type(unsigned type)
{
    return type == 0 || type >= NGX_AMS_H264_STAP_A
           || type == NGX_AMS_H264_NAL_SEI || type == NGX_AMS_H264_NAL_AUD
           || type == NGX_AMS_H264_NAL_FILLER;
}


/* --- packetizer --- */

void
ngx_ams_h264_packetizer_init(ngx_ams_h264_packetizer_t *pk,
    const uint8_t *au, size_t len, unsigned nal_length_size,
    const uint8_t *sps, size_t sps_len, const uint8_t *pps, size_t pps_len,
    unsigned keyframe, size_t max_payload)
{
    int                     rc;
    const char             *err;
    ngx_ams_avc_nal_t       nal;
    ngx_ams_avc_nal_iter_t  it;

    memset(pk, 0, sizeof(ngx_ams_h264_packetizer_t));

    pk->au = au;
    pk->au_len = len;
    pk->nal_length_size = nal_length_size;
    pk->max_payload = max_payload;
    pk->next = au;

    /* a FU-A needs its two header bytes and one of payload */
    if (max_payload < 3 || (au == NULL && len > 0)) {
        pk->malformed = 1;
        return;
    }

    /* the whole unit is checked now; the last NAL sent carries the marker */
    if (len > 0) {
        ngx_ams_avc_nal_init(&it, au, len, nal_length_size);

        while ((rc = ngx_ams_avc_nal_next(&it, &nal, &err)) == 1) {
            if (!ngx_ams_h264_dropped_type(nal.type)) {
                pk->last = nal.data;
            }
        }

        if (rc != 0) {
            pk->malformed = 1;
            return;
        }
    }

    if (!keyframe || sps == NULL || sps_len == 0 || pps == NULL
        || pps_len == 0)
    {
        return;
    }

    pk->sps = sps;
    pk->sps_len = sps_len;
    pk->pps = pps;
    pk->pps_len = pps_len;

    if (1 + 2 + sps_len + 2 + pps_len <= max_payload) {
        pk->ps_pending = 1;

    } else {
        pk->ps_stage = 1;
    }
}


int
ngx_ams_h264_packetizer_next(ngx_ams_h264_packetizer_t *pk, uint8_t *out,
    size_t cap, unsigned *marker)
{
    size_t    limit, n, chunk;
    uint8_t  *p;
    unsigned  start;

    *marker = 0;

    if (pk->done) {
        return 0;
    }

    limit = cap < pk->max_payload ? cap : pk->max_payload;

    if (pk->malformed || limit < 3) {
        pk->done = 1;
        return -1;
    }

    if (pk->ps_pending) {
        pk->ps_pending = 0;
        n = 1 + 2 + pk->sps_len + 2 + pk->pps_len;

        if (n <= limit) {
            p = out;

            /* F 0, NRI the larger of the two, type 24 */
            *p++ = (uint8_t) (((pk->sps[0] | pk->pps[0]) & 0x60)
                              | NGX_AMS_H264_STAP_A);
            *p++ = (uint8_t) (pk->sps_len >> 8);
            *p++ = (uint8_t) pk->sps_len;
            memcpy(p, pk->sps, pk->sps_len);
            p += pk->sps_len;
            *p++ = (uint8_t) (pk->pps_len >> 8);
            *p++ = (uint8_t) pk->pps_len;
            memcpy(p, pk->pps, pk->pps_len);

            if (pk->last == NULL) {
                *marker = 1;
                pk->done = 1;
            }

            return (int) n;
        }

        /* "cap" smaller than promised: each alone */
        pk->ps_stage = 1;
    }

    if (pk->nal == NULL && !ngx_ams_h264_pk_advance(pk)) {
        pk->done = 1;
        return 0;
    }

    if (pk->nal_off == 0 && pk->nal_len <= limit) {
        memcpy(out, pk->nal, pk->nal_len);
        n = pk->nal_len;
        *marker = pk->nal_last;
        pk->nal = NULL;

        return (int) n;
    }

    /* FU-A: the NAL header travels split between the two FU bytes */
    start = (pk->nal_off == 0);

    if (start) {
        pk->nal_off = 1;
    }

    chunk = pk->nal_len - pk->nal_off;
    if (chunk > limit - 2) {
        chunk = limit - 2;
    }

    out[0] = (uint8_t) ((pk->nal[0] & 0xe0) | NGX_AMS_H264_FU_A);
    out[1] = (uint8_t) (pk->nal[0] & 0x1f);

    if (start) {
        out[1] |= NGX_AMS_H264_FU_S;
    }

    memcpy(out + 2, pk->nal + pk->nal_off, chunk);
    pk->nal_off += chunk;

    if (pk->nal_off == pk->nal_len) {
        out[1] |= NGX_AMS_H264_FU_E;
        *marker = pk->nal_last;
        pk->nal = NULL;
    }

    return (int) (chunk + 2);
}


/* the next NAL to send into pk->nal: 1, or 0 when there is none */

static int
ngx_ams_h264_pk_advance(ngx_ams_h264_packetizer_t *pk)
{
    const char             *err;
    ngx_ams_avc_nal_t       nal;
    ngx_ams_avc_nal_iter_t  it;

    pk->nal_off = 0;

    if (pk->ps_stage == 1) {
        pk->ps_stage = 2;
        pk->nal = pk->sps;
        pk->nal_len = pk->sps_len;
        pk->nal_last = 0;
        return 1;
    }

    if (pk->ps_stage == 2) {
        pk->ps_stage = 0;
        pk->nal = pk->pps;
        pk->nal_len = pk->pps_len;
        pk->nal_last = (pk->last == NULL);
        return 1;
    }

    if (pk->last == NULL) {
        pk->nal = NULL;
        return 0;
    }

    ngx_ams_avc_nal_init(&it, pk->next, (size_t) (pk->au + pk->au_len
                                                  - pk->next),
                         pk->nal_length_size);

    while (ngx_ams_avc_nal_next(&it, &nal, &err) == 1) {
        pk->next = it.p;

        if (ngx_ams_h264_dropped_type(nal.type)) {
            continue;
        }

        pk->nal = nal.data;
        pk->nal_len = nal.len;
        pk->nal_last = (nal.data == pk->last);
        return 1;
    }

    pk->next = pk->au + pk->au_len;
    pk->nal = NULL;

    return 0;
}


/* --- depacketizer --- */

ngx_ams_h264_depack_t *
ngx_ams_h264_depack_create(size_t max_au)
{
    ngx_ams_h264_depack_t  *d;

    d = calloc(1, sizeof(ngx_ams_h264_depack_t));
    if (d == NULL) {
        return NULL;
    }

    d->max_au = max_au ? max_au : NGX_AMS_H264_MAX_AU;
    d->cap = d->max_au < NGX_AMS_H264_BUF_START ? d->max_au
                                                : NGX_AMS_H264_BUF_START;
    d->out_cap = d->cap;

    d->buf = malloc(d->cap);
    d->out = malloc(d->out_cap);

    if (d->buf == NULL || d->out == NULL) {
        ngx_ams_h264_depack_free(d);
        return NULL;
    }

    d->need_keyframe = 1;

    return d;
}


void
ngx_ams_h264_depack_free(ngx_ams_h264_depack_t *d)
{
    if (d == NULL) {
        return;
    }

    free(d->buf);
    free(d->out);
    free(d);
}


int
ngx_ams_h264_depack_push(ngx_ams_h264_depack_t *d, const uint8_t *p,
    size_t len, uint32_t ts, unsigned marker, unsigned lost,
    ngx_ams_h264_au_t *au)
{
    int       rc, fin, bad;
    unsigned  type;

    rc = NGX_AMS_H264_DEPACK_AGAIN;

    /* a unit completed by the last push, behind another one */
    if (d->complete) {
        ngx_ams_h264_hand_out(d, au);
        rc = NGX_AMS_H264_DEPACK_FRAME;
    }

    if (lost) {
        d->need_keyframe = 1;

        if (d->active) {
            d->broken = 1;
        }
    }

    if (len == 0 || p == NULL) {
        return rc;
    }

    if (d->active && ts != d->ts) {
        /* the last unit ended without its marker */
        fin = ngx_ams_h264_finish(d);

        if (fin == NGX_AMS_H264_DEPACK_FRAME) {
            /* "rc" is AGAIN: a held unit leaves "buf" empty */
            ngx_ams_h264_hand_out(d, au);
            rc = NGX_AMS_H264_DEPACK_FRAME;

        } else if (fin == NGX_AMS_H264_DEPACK_DROPPED) {
            rc = NGX_AMS_H264_DEPACK_DROPPED;
        }
    }

    if (!d->active) {
        d->active = 1;
        d->broken = 0;
        d->fu = 0;
        d->idr = 0;
        d->len = 0;
        d->ts = ts;
    }

    bad = 0;

    if (!d->broken) {
        type = p[0] & 0x1f;

        if (d->fu && type != NGX_AMS_H264_FU_A) {
            bad = 1;            /* the FU-A's end was lost */

        } else if (type >= 1 && type <= 23) {
            bad = ngx_ams_h264_put_nal(d, p, len);

        } else if (type == NGX_AMS_H264_STAP_A) {
            bad = ngx_ams_h264_put_stap_a(d, p, len);

        } else if (type == NGX_AMS_H264_FU_A) {
            bad = ngx_ams_h264_put_fu_a(d, p, len);

        } else if (type == NGX_AMS_H264_STAP_B || type == NGX_AMS_H264_MTAP16
                   || type == NGX_AMS_H264_MTAP24 || type == NGX_AMS_H264_FU_B)
        {
            /* interleaved mode only: part of the unit we cannot have */
            bad = 1;

        } else {
            /* 0, 30, 31: unspecified, ignored (RFC 6184 5.2) */
            if (rc == NGX_AMS_H264_DEPACK_AGAIN) {
                rc = NGX_AMS_H264_DEPACK_DROPPED;
            }
        }

        if (bad) {
            d->broken = 1;
            d->need_keyframe = 1;
        }
    }

    if (d->broken && rc == NGX_AMS_H264_DEPACK_AGAIN) {
        rc = NGX_AMS_H264_DEPACK_DROPPED;
    }

    if (!marker) {
        return rc;
    }

    fin = ngx_ams_h264_finish(d);

    if (fin == NGX_AMS_H264_DEPACK_FRAME) {
        if (rc == NGX_AMS_H264_DEPACK_FRAME) {
            d->complete = 1;        /* handed out by the next push */

        } else {
            ngx_ams_h264_hand_out(d, au);
            rc = NGX_AMS_H264_DEPACK_FRAME;
        }

    } else if (fin == NGX_AMS_H264_DEPACK_DROPPED
               && rc == NGX_AMS_H264_DEPACK_AGAIN)
    {
        rc = NGX_AMS_H264_DEPACK_DROPPED;
    }

    return rc;
}


unsigned
ngx_ams_h264_depack_need_keyframe(ngx_ams_h264_depack_t *d)
{
    return d->need_keyframe;
}


size_t
ngx_ams_h264_depack_avcc(ngx_ams_h264_depack_t *d, uint8_t *out,
    size_t cap)
{
    size_t    n;
    uint8_t  *p, ext[3];
    unsigned  high;

    if (d->sps_len < 4 || d->pps_len == 0) {
        return 0;
    }

    high = ngx_ams_h264_sps_chroma(d->sps, d->sps_len, ext);

    n = 6 + 2 + d->sps_len + 1 + 2 + d->pps_len + (high ? 4 : 0);

    if (n > cap) {
        return 0;
    }

    p = out;
    *p++ = 1;                       /* configurationVersion */
    *p++ = d->sps[1];               /* profile_idc */
    *p++ = d->sps[2];               /* constraint flags */
    *p++ = d->sps[3];               /* level_idc */
    *p++ = 0xff;                    /* lengthSizeMinusOne: 3 */
    *p++ = 0xe1;                    /* one SPS */
    *p++ = (uint8_t) (d->sps_len >> 8);
    *p++ = (uint8_t) d->sps_len;
    memcpy(p, d->sps, d->sps_len);
    p += d->sps_len;
    *p++ = 1;                       /* one PPS */
    *p++ = (uint8_t) (d->pps_len >> 8);
    *p++ = (uint8_t) d->pps_len;
    memcpy(p, d->pps, d->pps_len);
    p += d->pps_len;

    if (high) {
        *p++ = (uint8_t) (0xfc | ext[0]);   /* chroma_format */
        *p++ = (uint8_t) (0xf8 | ext[1]);   /* bit_depth_luma_minus8 */
        *p++ = (uint8_t) (0xf8 | ext[2]);   /* bit_depth_chroma_minus8 */
        *p++ = 0;                           /* no SPS extensions */
    }

    return n;
}


/* room for "need" more bytes in "buf", within max_au: 0, or -1 */

static int
ngx_ams_h264_grow(ngx_ams_h264_depack_t *d, size_t need)
{
    size_t    cap;
    uint8_t  *p;

    if (need > d->max_au - d->len) {
        return -1;
    }

    if (d->len + need <= d->cap) {
        return 0;
    }

    cap = d->cap;

    while (cap < d->len + need) {
        cap *= 2;
    }

    if (cap > d->max_au) {
        cap = d->max_au;
    }

    p = realloc(d->buf, cap);
    if (p == NULL) {
        return -1;
    }

    d->buf = p;
    d->cap = cap;

    return 0;
}


/* one whole NAL unit into the unit: 0, or 1 when the unit is broken */

static int
ngx_ams_h264_put_nal(ngx_ams_h264_depack_t *d, const uint8_t *p, size_t len)
{
    size_t  start;

    if (ngx_ams_h264_grow(d, 4 + len) != 0) {
        return 1;
    }

    start = d->len;

    d->buf[d->len++] = (uint8_t) (len >> 24);
    d->buf[d->len++] = (uint8_t) (len >> 16);
    d->buf[d->len++] = (uint8_t) (len >> 8);
    d->buf[d->len++] = (uint8_t) len;
    memcpy(d->buf + d->len, p, len);
    d->len += len;

    return ngx_ams_h264_nal_done(d, start);
}


static int
ngx_ams_h264_put_stap_a(ngx_ams_h264_depack_t *d, const uint8_t *p,
    size_t len)
{
    size_t    off, n;
    unsigned  type, count;

    /* checked whole first: a broken STAP-A adds nothing */
    count = 0;

    for (off = 1; off < len; off += n) {
        if (len - off < 2) {
            return 1;
        }

        n = ((size_t) p[off] << 8) | p[off + 1];
        off += 2;

        if (n == 0 || n > len - off) {
            return 1;
        }

        type = p[off] & 0x1f;

        /* aggregation inside aggregation is not allowed */
        if (type == 0 || type >= NGX_AMS_H264_STAP_A) {
            return 1;
        }

        count++;
    }

    if (count == 0) {
        return 1;
    }

    for (off = 1; off < len; off += n) {
        n = ((size_t) p[off] << 8) | p[off + 1];
        off += 2;

        if (ngx_ams_h264_put_nal(d, p + off, n) != 0) {
            return 1;
        }
    }

    return 0;
}


static int
ngx_ams_h264_put_fu_a(ngx_ams_h264_depack_t *d, const uint8_t *p,
    size_t len)
{
    size_t    n;
    unsigned  start, end, type;

    if (len < 3) {
        return 1;
    }

    start = p[1] & NGX_AMS_H264_FU_S;
    end = p[1] & NGX_AMS_H264_FU_E;
    type = p[1] & 0x1f;

    /* RFC 6184 5.8: a NAL is never sent whole in one FU */
    if ((start && end) || type == 0 || type >= NGX_AMS_H264_STAP_A) {
        return 1;
    }

    if (start) {
        if (d->fu || ngx_ams_h264_grow(d, 4 + 1 + len - 2) != 0) {
            return 1;
        }

        d->fu = 1;
        d->fu_start = d->len;
        d->len += 4;                        /* the length, at the end */
        d->buf[d->len++] = (uint8_t) ((p[0] & 0xe0) | type);

    } else {
        /* a middle or end without its start, or of another NAL */
        if (!d->fu || (d->buf[d->fu_start + 4] & 0x1f) != type) {
            return 1;
        }

        if (ngx_ams_h264_grow(d, len - 2) != 0) {
            return 1;
        }
    }

    memcpy(d->buf + d->len, p + 2, len - 2);
    d->len += len - 2;

    if (!end) {
        return 0;
    }

    d->fu = 0;
    n = d->len - d->fu_start - 4;

    d->buf[d->fu_start] = (uint8_t) (n >> 24);
    d->buf[d->fu_start + 1] = (uint8_t) (n >> 16);
    d->buf[d->fu_start + 2] = (uint8_t) (n >> 8);
    d->buf[d->fu_start + 3] = (uint8_t) n;

    return ngx_ams_h264_nal_done(d, d->fu_start);
}


/*
 * A NAL unit now whole in "buf" at "start" (its length field): SPS/PPS
 * are taken back out and kept, AUD and filler dropped, IDR noted.
 * 0, or 1 when the unit is broken.
 */

static int
ngx_ams_h264_nal_done(ngx_ams_h264_depack_t *d, size_t start)
{
    int       rc;
    uint8_t  *nal;
    unsigned  type;

    nal = d->buf + start + 4;
    type = nal[0] & 0x1f;

    switch (type) {

    case NGX_AMS_H264_NAL_SPS:
    case NGX_AMS_H264_NAL_PPS:
        rc = ngx_ams_h264_keep_ps(d, type, nal, d->len - start - 4);
        d->len = start;
        return rc;

    case NGX_AMS_H264_NAL_AUD:
    case NGX_AMS_H264_NAL_FILLER:
        d->len = start;
        return 0;

    case NGX_AMS_H264_NAL_IDR:
        d->idr = 1;
        return 0;

    default:
        return 0;
    }
}


static int
ngx_ams_h264_keep_ps(ngx_ams_h264_depack_t *d, unsigned type,
    const uint8_t *p, size_t len)
{
    size_t    *have;
    uint8_t   *to;
    uint32_t   w, h;

    if (len > NGX_AMS_H264_PS_MAX) {
        return 1;
    }

    if (type == NGX_AMS_H264_NAL_SPS) {
        if (ngx_ams_avc_parse_sps(p, len, &w, &h) != 0) {
            return 1;
        }

        to = d->sps;
        have = &d->sps_len;

    } else {
        if (len < 2) {
            return 1;
        }

        to = d->pps;
        have = &d->pps_len;
    }

    if (*have != len || memcmp(to, p, len) != 0) {
        memcpy(to, p, len);
        *have = len;
        d->config_dirty = 1;
    }

    return 0;
}


/*
 * The unit in "buf" has ended: NGX_AMS_H264_DEPACK_FRAME when it is to be
 * handed out (it stays in "buf", "ready_*" set), DROPPED when it is
 * dropped, AGAIN when it held nothing (parameter sets only).
 */

static int
ngx_ams_h264_finish(ngx_ams_h264_depack_t *d)
{
    d->active = 0;

    if (d->broken || d->fu) {
        d->need_keyframe = 1;
        return NGX_AMS_H264_DEPACK_DROPPED;
    }

    if (d->len == 0) {
        return NGX_AMS_H264_DEPACK_AGAIN;
    }

    if (d->need_keyframe) {
        if (!d->idr || d->sps_len == 0 || d->pps_len == 0) {
            return NGX_AMS_H264_DEPACK_DROPPED;
        }

        d->need_keyframe = 0;
    }

    d->ready_ts = d->ts;
    d->ready_idr = d->idr;
    d->ready_config = d->config_dirty;
    d->config_dirty = 0;

    return NGX_AMS_H264_DEPACK_FRAME;
}


/* the unit finished in "buf" goes to "out" (the buffers trade places) */

static void
ngx_ams_h264_hand_out(ngx_ams_h264_depack_t *d, ngx_ams_h264_au_t *au)
{
    size_t    cap;
    uint8_t  *p;

    p = d->out;
    cap = d->out_cap;
    d->out = d->buf;
    d->out_cap = d->cap;
    d->buf = p;
    d->cap = cap;

    au->data = d->out;
    au->len = d->len;
    au->ts = d->ready_ts;
    au->keyframe = d->ready_idr;
    au->config_changed = d->ready_config;

    d->len = 0;
    d->complete = 0;
    d->active = 0;
}


/*
 * For the High profiles the avcC carries chroma_format_idc and the bit
 * depths (ISO 14496-15 5.3.3.1.2): 1 with them in ext[], 0 for the
 * others.  The SPS was parsed when it was kept; a read past its end gives
 * zeros, which are the common values.
 */

static unsigned
ngx_ams_h264_sps_chroma(const uint8_t *sps, size_t len, uint8_t ext[3])
{
    size_t    i, n, bit;
    uint8_t   rbsp[32];
    unsigned  k, v, zeros, profile;

    profile = sps[1];

    /* the profiles whose SPS has these fields (H.264 7.3.2.1.1) */
    if (profile != 100 && profile != 110 && profile != 122 && profile != 244
        && profile != 44 && profile != 83 && profile != 86 && profile != 118
        && profile != 128 && profile != 138 && profile != 139
        && profile != 134 && profile != 135)
    {
        return 0;
    }

    /* the first bytes after the header, emulation prevention removed */
    for (i = 4, n = 0; i < len && n < sizeof(rbsp); i++) {
        if (i >= 6 && sps[i] == 3 && sps[i - 1] == 0 && sps[i - 2] == 0) {
            continue;
        }

        rbsp[n++] = sps[i];
    }

    bit = 0;

    /* seq_parameter_set_id, chroma_format_idc, [separate_colour_plane],
     * bit_depth_luma_minus8, bit_depth_chroma_minus8: ue(v) but one */
    for (k = 0; k < 5; k++) {
        if (k == 2) {
            if (ext[0] == 3) {
                bit++;
            }

            continue;
        }

        zeros = 0;

        while (bit < n * 8 && !((rbsp[bit / 8] >> (7 - bit % 8)) & 1)) {
            zeros++;
            bit++;
        }

        bit++;
        v = 0;

        for (i = 0; i < zeros && zeros < 32; i++, bit++) {
            v = (v << 1)
                | (bit < n * 8 ? (rbsp[bit / 8] >> (7 - bit % 8)) & 1 : 0);
        }

        v += (zeros < 32) ? (1u << zeros) - 1 : 0;

        if (k > 0) {
            ext[k == 1 ? 0 : k - 2] = (uint8_t) (v & 7);
        }
    }

    ext[0] &= 3;

    return 1;
}
