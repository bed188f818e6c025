
/*
 * Copyright (C) nginx-ams authors
 */


#include <string.h>

#include "ngx_ams_avc.h"


#define NGX_AMS_SPS_MAX  1024


typedef struct {
    const uint8_t  *p;
    size_t          len;
    size_t          bit;
    int             overrun;
} ngx_ams_bits_t;


static uint32_t
ngx_ams_bits_u(ngx_ams_bits_t *b, unsigned n)
{
    uint32_t  v = 0;

    while (n--) {
        if (b->bit >= b->len * 8) {
            b->overrun = 1;
            return 0;
        }

        v = (v << 1) | ((b->p[b->bit / 8] >> (7 - b->bit % 8)) & 1);
        b->bit++;
    }

    return v;
}


/* Exp-Golomb, capped at 31 leading zeros: longer codes are malformed */

static uint32_t
ngx_ams_bits_ue(ngx_ams_bits_t *b)
{
    unsigned  zeros = 0;

    while (ngx_ams_bits_u(b, 1) == 0) {
        if (b->overrun || ++zeros > 31) {
            b->overrun = 1;
            return 0;
        }
    }

    return ((1u << zeros) - 1) + ngx_ams_bits_u(b, zeros);
}


static int32_t
ngx_ams_bits_se(ngx_ams_bits_t *b)
{
    uint32_t  v = ngx_ams_bits_ue(b);

    return (v & 1) ? (int32_t) ((v + 1) / 2) : -(int32_t) (v / 2);
}


int
ngx_ams_avc_parse_sps(const uint8_t *p, size_t len, uint32_t *width,
    uint32_t *height)
{
    size_t          i, n;
    uint8_t         rbsp[NGX_AMS_SPS_MAX];
    uint32_t        profile, chroma, w, h, fmo, crop_x, crop_y, l, r, t, bt;
    uint32_t        k, count, size, last, next;
    ngx_ams_bits_t  b;

    if (len < 4 || (p[0] & 0x1f) != 7) {
        return -1;
    }

    /* drop the emulation prevention bytes (00 00 03) */
    for (i = 1, n = 0; i < len && n < sizeof(rbsp); i++) {
        if (i >= 3 && p[i] == 3 && p[i - 1] == 0 && p[i - 2] == 0) {
            continue;
        }
        rbsp[n++] = p[i];
    }

    b.p = rbsp;
    b.len = n;
    b.bit = 0;
    b.overrun = 0;

    profile = ngx_ams_bits_u(&b, 8);
    ngx_ams_bits_u(&b, 16);                  /* constraints, level */
    ngx_ams_bits_ue(&b);                     /* seq_parameter_set_id */

    chroma = 1;

    if (profile == 100 || profile == 110 || profile == 122 || profile == 244
        || profile == 44 || profile == 83 || profile == 86 || profile == 118
        || profile == 128 || profile == 138 || profile == 139
        || profile == 134 || profile == 135)
    {
        chroma = ngx_ams_bits_ue(&b);
        if (chroma > 3) {
            return -1;
        }

        if (chroma == 3) {
            ngx_ams_bits_u(&b, 1);           /* separate_colour_plane */
        }

        ngx_ams_bits_ue(&b);                 /* bit depths */
        ngx_ams_bits_ue(&b);
        ngx_ams_bits_u(&b, 1);               /* qpprime_y_zero_bypass */

        if (ngx_ams_bits_u(&b, 1)) {         /* seq_scaling_matrix */
            count = (chroma == 3) ? 12 : 8;

            for (k = 0; k < count && !b.overrun; k++) {
                if (!ngx_ams_bits_u(&b, 1)) {
                    continue;
                }

                size = (k < 6) ? 16 : 64;
                last = 8;
                next = 8;

                for (i = 0; i < size && !b.overrun; i++) {
                    if (next != 0) {
                        next = (last + ngx_ams_bits_se(&b) + 256) % 256;
                    }
                    last = (next == 0) ? last : next;
                }
            }
        }
    }

    ngx_ams_bits_ue(&b);                     /* log2_max_frame_num */

    switch (ngx_ams_bits_ue(&b)) {           /* pic_order_cnt_type */
    case 0:
        ngx_ams_bits_ue(&b);
        break;

    case 1:
        ngx_ams_bits_u(&b, 1);
        ngx_ams_bits_se(&b);
        ngx_ams_bits_se(&b);
        count = ngx_ams_bits_ue(&b);
        if (count > 255) {
            return -1;
        }
        for (k = 0; k < count && !b.overrun; k++) {
            ngx_ams_bits_se(&b);
        }
        break;

    default:
        break;
    }

    ngx_ams_bits_ue(&b);                     /* max_num_ref_frames */
    ngx_ams_bits_u(&b, 1);                   /* gaps_in_frame_num */

    w = ngx_ams_bits_ue(&b) + 1;
    h = ngx_ams_bits_ue(&b) + 1;
    fmo = ngx_ams_bits_u(&b, 1);

    if (!fmo) {
        ngx_ams_bits_u(&b, 1);               /* mb_adaptive_frame_field */
    }

    ngx_ams_bits_u(&b, 1);                   /* direct_8x8_inference */

    l = r = t = bt = 0;

    if (ngx_ams_bits_u(&b, 1)) {
        l = ngx_ams_bits_ue(&b);
        r = ngx_ams_bits_ue(&b);
        t = ngx_ams_bits_ue(&b);
        bt = ngx_ams_bits_ue(&b);
    }

    if (b.overrun || w > 1024 || h > 1024) {
        return -1;
    }

    crop_x = (chroma == 1 || chroma == 2) ? 2 : 1;
    crop_y = ((chroma == 1) ? 2 : 1) * (2 - fmo);

    w *= 16;
    h *= 16 * (2 - fmo);

    if ((l + r) * crop_x >= w || (t + bt) * crop_y >= h) {
        return -1;
    }

    *width = w - (l + r) * crop_x;
    *height = h - (t + bt) * crop_y;

    return 0;
}


int
ngx_ams_avc_parse_config(const uint8_t *p, size_t len,
    ngx_ams_avc_config_t *cfg, const char **err)
{
    size_t     off;
    unsigned   i, n, kind;
    uint16_t   l;
    ngx_ams_avc_ps_t  *ps;

    memset(cfg, 0, sizeof(ngx_ams_avc_config_t));

    if (len < 7) {
        *err = "AVC config shorter than 7 bytes";
        return -1;
    }

    if (p[0] != 1) {
        *err = "AVC config version is not 1";
        return -1;
    }

    cfg->profile = p[1];
    cfg->compat = p[2];
    cfg->level = p[3];
    cfg->nal_length_size = (p[4] & 3) + 1;

    if (cfg->nal_length_size == 3) {
        *err = "AVC NAL length size of 3 bytes";
        return -1;
    }

    off = 5;

    for (kind = 0; kind < 2; kind++) {
        if (off >= len) {
            *err = "AVC config truncated before parameter set count";
            return -1;
        }

        n = (kind == 0) ? (p[off] & 0x1f) : p[off];
        off++;

        if (n > NGX_AMS_AVC_MAX_PS) {
            *err = "AVC config has too many parameter sets";
            return -1;
        }

        for (i = 0; i < n; i++) {
            if (off + 2 > len) {
                *err = "AVC config truncated in parameter set length";
                return -1;
            }

            l = (uint16_t) ((p[off] << 8) | p[off + 1]);
            off += 2;

            if (l == 0 || off + l > len) {
                *err = "AVC config parameter set length out of bounds";
                return -1;
            }

            ps = (kind == 0) ? &cfg->sps[i] : &cfg->pps[i];
            ps->data = p + off;
            ps->len = l;
            off += l;
        }

        if (kind == 0) {
            cfg->nsps = n;
        } else {
            cfg->npps = n;
        }
    }

    if (cfg->nsps == 0 || cfg->npps == 0) {
        *err = "AVC config without SPS or PPS";
        return -1;
    }

    if (ngx_ams_avc_parse_sps(cfg->sps[0].data, cfg->sps[0].len,
                              &cfg->width, &cfg->height) != 0)
    {
        *err = "AVC SPS cannot be parsed";
        return -1;
    }

    return 0;
}


void
ngx_ams_avc_nal_init(ngx_ams_avc_nal_iter_t *it, const uint8_t *p,
    size_t len, unsigned nal_length_size)
{
    it->p = p;
    it->end = p + len;
    it->nal_length_size = nal_length_size;
}


int
ngx_ams_avc_nal_next(ngx_ams_avc_nal_iter_t *it, ngx_ams_avc_nal_t *nal,
    const char **err)
{
    size_t    len, left;
    unsigned  i, n;

    n = it->nal_length_size;

    if (n != 1 && n != 2 && n != 4) {
        *err = "AVC NAL length size is not 1, 2 or 4";
        return -1;
    }

    for ( ;; ) {
        left = (size_t) (it->end - it->p);

        if (left == 0) {
            return 0;
        }

        if (left < n) {
            *err = "NAL unit length cut short at the end of the frame";
            return -1;
        }

        len = 0;
        for (i = 0; i < n; i++) {
            len = (len << 8) | it->p[i];
        }

        it->p += n;
        left -= n;

        if (len > left) {
            *err = "NAL unit length past the end of the frame";
            return -1;
        }

        if (len == 0) {
            continue;
        }

        nal->type = it->p[0] & 0x1f;
        nal->data = it->p;
        nal->len = len;

        it->p += len;

        return 1;
    }
}
