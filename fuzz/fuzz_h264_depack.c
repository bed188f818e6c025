
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: H.264 over RTP.
 *
 * Input: byte 0 picks the packetizer's NAL length size (bits 0-1), its
 * keyframe flag (bit 2) and the depacketizer's max_au (bits 3-7, in KB,
 * 0: the default); byte 1 the packetizer's max_payload (3 + 5 * it);
 * bytes 2-3 the length of part A; then part A and part B.
 *
 * Part A is a run of packets, each [flags][length, 2 bytes][payload]
 * (flags: bit 0 marker, bit 1 lost, bit 2 next timestamp), pushed into a
 * depacketizer: every unit handed out must be AVCC with 4-byte lengths
 * that tile it exactly, hold no SPS/PPS/AUD/filler, fit max_au, and be
 * flagged keyframe exactly when it holds an IDR; an avcC made must parse.
 *
 * Part B is an AVCC access unit: packetized, every payload must fit
 * max_payload with one marker on the last; pushed into a depacketizer
 * that has seen SPS/PPS and an IDR, it must come back byte for byte
 * (SEI, AUD, filler and types 0, 24..31 left out), unless it carries
 * SPS/PPS of its own (those may not parse) or is too big to compare.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ngx_ams_avc.h"
#include "ngx_ams_rtp_h264.h"


/* x264's baseline 1280x720 SPS and a PPS */
static const uint8_t  sps[] = {
    0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xec, 0x04, 0x40, 0x00,
    0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x03, 0xc6, 0x0c, 0xa8
};

static const uint8_t  pps[] = { 0x68, 0xce, 0x0f, 0xc8 };

/* 1-byte lengths become 4-byte ones: up to 2.5 times the input */
static uint8_t        want[3 * 65536];
static uint8_t        pkt[1500];


static void
check_au(ngx_ams_h264_depack_t *d, const ngx_ams_h264_au_t *au,
    size_t max_au)
{
    size_t                 off, n, cfg_len;
    uint8_t                cfg[1024];
    unsigned               type, idr;
    const char            *err;
    ngx_ams_avc_config_t   c;

    if (au->len == 0 || au->len > max_au) {
        __builtin_trap();
    }

    idr = 0;

    for (off = 0; off < au->len; off += n) {
        if (au->len - off < 5) {
            __builtin_trap();
        }

        n = ((size_t) au->data[off] << 24) | (au->data[off + 1] << 16)
            | (au->data[off + 2] << 8) | au->data[off + 3];
        off += 4;

        if (n == 0 || n > au->len - off) {
            __builtin_trap();
        }

        type = au->data[off] & 0x1f;

        if (type == 0 || type > 23 || type == 7 || type == 8 || type == 9
            || type == 12)
        {
            __builtin_trap();
        }

        idr |= (type == 5);
    }

    if (idr != au->keyframe) {
        __builtin_trap();
    }

    cfg_len = ngx_ams_h264_depack_avcc(d, cfg, sizeof(cfg));

    if (au->keyframe && cfg_len == 0) {
        __builtin_trap();
    }

    if (cfg_len > 0 && ngx_ams_avc_parse_config(cfg, cfg_len, &c, &err) != 0)
    {
        __builtin_trap();
    }
}


static void
part_a(const uint8_t *p, size_t len, size_t max_au)
{
    int                      rc;
    size_t                   n;
    uint32_t                 ts;
    ngx_ams_h264_au_t        au;
    ngx_ams_h264_depack_t   *d;

    d = ngx_ams_h264_depack_create(max_au);
    if (d == NULL) {
        return;
    }

    ts = 0;

    while (len >= 3) {
        n = ((size_t) p[1] << 8) | p[2];
        if (n > len - 3) {
            n = len - 3;
        }

        if (p[0] & 4) {
            ts += 3000;
        }

        rc = ngx_ams_h264_depack_push(d, p + 3, n, ts, p[0] & 1,
                                      (p[0] >> 1) & 1, &au);

        if (rc == NGX_AMS_H264_DEPACK_FRAME) {
            check_au(d, &au, max_au ? max_au : NGX_AMS_H264_MAX_AU);

        } else if (rc != NGX_AMS_H264_DEPACK_AGAIN
                   && rc != NGX_AMS_H264_DEPACK_DROPPED)
        {
            __builtin_trap();
        }

        p += 3 + n;
        len -= 3 + n;
    }

    ngx_ams_h264_depack_free(d);
}


static void
part_b(const uint8_t *p, size_t len, unsigned nls, unsigned key,
    size_t max_payload)
{
    int                          n, rc, frames, broken;
    size_t                       wlen;
    unsigned                     marker, last_marker, has_ps;
    const char                  *err;
    ngx_ams_h264_au_t            au;
    ngx_ams_avc_nal_t            nal;
    ngx_ams_avc_nal_iter_t       it;
    ngx_ams_h264_depack_t       *d;
    ngx_ams_h264_packetizer_t    pk;
    static const uint8_t         idr[] = { 0x65, 0x88, 0x80 };

    /* what should come back */
    wlen = 0;
    has_ps = 0;
    broken = 0;
    ngx_ams_avc_nal_init(&it, p, len, nls);

    for ( ;; ) {
        rc = ngx_ams_avc_nal_next(&it, &nal, &err);
        if (rc != 1) {
            broken = (rc != 0);
            break;
        }

        if (nal.type == 7 || nal.type == 8
            || wlen + 4 + nal.len > sizeof(want))
        {
            has_ps = 1;
            continue;
        }

        if (nal.type == 0 || nal.type >= 24 || nal.type == 6
            || nal.type == 9 || nal.type == 12)
        {
            continue;
        }

        want[wlen++] = (uint8_t) (nal.len >> 24);
        want[wlen++] = (uint8_t) (nal.len >> 16);
        want[wlen++] = (uint8_t) (nal.len >> 8);
        want[wlen++] = (uint8_t) nal.len;
        memcpy(want + wlen, nal.data, nal.len);
        wlen += nal.len;
    }

    d = ngx_ams_h264_depack_create(0);
    if (d == NULL) {
        return;
    }

    /* primed: SPS/PPS and an IDR seen */
    ngx_ams_h264_depack_push(d, sps, sizeof(sps), 0, 0, 0, &au);
    ngx_ams_h264_depack_push(d, pps, sizeof(pps), 0, 0, 0, &au);

    if (ngx_ams_h264_depack_push(d, idr, sizeof(idr), 0, 1, 0, &au)
        != NGX_AMS_H264_DEPACK_FRAME)
    {
        __builtin_trap();
    }

    ngx_ams_h264_packetizer_init(&pk, p, len, nls, sps, sizeof(sps), pps,
                                 sizeof(pps), key, max_payload);

    frames = 0;
    last_marker = 0;

    for ( ;; ) {
        n = ngx_ams_h264_packetizer_next(&pk, pkt, sizeof(pkt), &marker);

        if (n < 0) {
            /* only an access unit found broken, before anything is sent */
            if (!broken || last_marker || frames) {
                __builtin_trap();
            }

            break;
        }

        if (n == 0) {
            break;
        }

        if ((size_t) n > max_payload || last_marker) {
            __builtin_trap();
        }

        last_marker = marker;

        rc = ngx_ams_h264_depack_push(d, pkt, (size_t) n, 9000, marker, 0,
                                      &au);

        if (rc == NGX_AMS_H264_DEPACK_FRAME) {
            frames++;

            if (!has_ps
                && (au.len != wlen || memcmp(au.data, want, wlen) != 0))
            {
                __builtin_trap();
            }
        }
    }

    if (!broken && !has_ps && (frames != (wlen > 0) || (wlen && !last_marker)))
    {
        __builtin_trap();
    }

    ngx_ams_h264_depack_free(d);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                 a_len, max_au;
    static const unsigned  sizes[4] = { 1, 2, 4, 4 };

    if (size < 4) {
        return 0;
    }

    max_au = (size_t) (data[0] >> 3) * 1024;

    a_len = ((size_t) data[2] << 8) | data[3];
    if (a_len > size - 4) {
        a_len = size - 4;
    }

    part_a(data + 4, a_len, max_au);
    part_b(data + 4 + a_len, size - 4 - a_len, sizes[data[0] & 3],
           (data[0] >> 2) & 1, 3 + (size_t) data[1] * 5);

    return 0;
}
