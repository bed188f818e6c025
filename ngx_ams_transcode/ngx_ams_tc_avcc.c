
/*
 * Copyright (C) nginx-ams authors
 *
 * Annex B to the bus's AVCC (see the header).
 */


#include <string.h>

#include "ngx_ams_tc_avcc.h"


#define NGX_AMS_TC_NAL_SPS   7
#define NGX_AMS_TC_NAL_PPS   8
#define NGX_AMS_TC_NAL_AUD   9


int
ngx_ams_tc_annexb_next(const uint8_t *p, size_t size, size_t *pos,
    const uint8_t **nal, size_t *len)
{
    size_t  i, start, end;

    i = *pos;

    for ( ;; ) {
        while (i + 3 <= size
               && !(p[i] == 0 && p[i + 1] == 0 && p[i + 2] == 1))
        {
            i++;
        }

        if (i + 3 > size) {
            *pos = size;
            return 0;
        }

        start = i + 3;

        for (end = start; end + 3 <= size; end++) {
            if (p[end] == 0 && p[end + 1] == 0 && p[end + 2] <= 1) {
                break;
            }
        }

        if (end + 3 > size) {
            end = size;
        }

        i = end;

        if (end > start) {
            *nal = p + start;
            *len = end - start;
            *pos = end;
            return 1;
        }
    }
}


size_t
ngx_ams_tc_avcc_build(const uint8_t *p, size_t size, uint8_t *out,
    size_t cap)
{
    size_t          pos, n, o, slen, plen;
    const uint8_t  *nal, *sps, *pps;

    sps = NULL;
    pps = NULL;
    slen = 0;
    plen = 0;
    pos = 0;

    while (ngx_ams_tc_annexb_next(p, size, &pos, &nal, &n)) {
        if ((nal[0] & 0x1f) == NGX_AMS_TC_NAL_SPS && sps == NULL) {
            sps = nal;
            slen = n;

        } else if ((nal[0] & 0x1f) == NGX_AMS_TC_NAL_PPS && pps == NULL) {
            pps = nal;
            plen = n;
        }
    }

    if (sps == NULL || pps == NULL || slen < 4 || slen > 0xffff
        || plen > 0xffff || 11 + slen + plen + 4 > cap)
    {
        return 0;
    }

    o = 0;
    out[o++] = 1;
    out[o++] = sps[1];                 /* profile */
    out[o++] = sps[2];                 /* compatibility */
    out[o++] = sps[3];                 /* level */
    out[o++] = 0xff;                   /* 4-byte NAL lengths */
    out[o++] = 0xe1;                   /* one SPS */
    out[o++] = (uint8_t) (slen >> 8);
    out[o++] = (uint8_t) slen;
    memcpy(out + o, sps, slen);
    o += slen;
    out[o++] = 1;                      /* one PPS */
    out[o++] = (uint8_t) (plen >> 8);
    out[o++] = (uint8_t) plen;
    memcpy(out + o, pps, plen);
    o += plen;

    if (sps[1] != 66 && sps[1] != 77 && sps[1] != 88) {
        /* High profiles: 4:2:0, 8 bits, no SPS extensions */
        out[o++] = 0xfc | 1;
        out[o++] = 0xf8;
        out[o++] = 0xf8;
        out[o++] = 0;
    }

    return o;
}


size_t
ngx_ams_tc_annexb_to_avcc(const uint8_t *p, size_t size, uint8_t *out,
    size_t cap)
{
    size_t          pos, n, o;
    unsigned        type;
    const uint8_t  *nal;

    o = 0;
    pos = 0;

    while (ngx_ams_tc_annexb_next(p, size, &pos, &nal, &n)) {
        type = nal[0] & 0x1f;

        if (type == NGX_AMS_TC_NAL_AUD || type == NGX_AMS_TC_NAL_SPS
            || type == NGX_AMS_TC_NAL_PPS)
        {
            continue;
        }

        if (o + 4 + n > cap) {
            return 0;
        }

        out[o++] = (uint8_t) (n >> 24);
        out[o++] = (uint8_t) (n >> 16);
        out[o++] = (uint8_t) (n >> 8);
        out[o++] = (uint8_t) n;
        memcpy(out + o, nal, n);
        o += n;
    }

    return o;
}
