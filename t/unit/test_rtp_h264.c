
/*
 * Copyright (C) nginx-ams authors
 *
 * H.264 over RTP (RFC 6184 mode 1): real access units from x264
 * (t/unit/fixtures/h264_320x180.flv: 320x180 baseline, two slices a
 * picture, an IDR every 4 frames, SEI in the first) are packetized,
 * carried through the jitter buffer with reordering and loss, and
 * depacketized back, byte for byte; FU-A boundaries at max_payload;
 * malformed payloads.
 */


#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "ngx_ams_avc.h"
#include "ngx_ams_rtp_h264.h"
#include "ngx_ams_jitter.h"


#define MAX_FRAMES   16
#define MAX_PKTS     1024
#define PKT_CAP      1500


typedef struct {
    uint8_t      *data;
    size_t        len;
    uint32_t      ts;                   /* 90 kHz */
    unsigned      key;
} frame_t;


typedef struct {
    uint8_t       data[PKT_CAP];
    size_t        len;
    unsigned      marker;
    uint32_t      ts;
    uint16_t      seq;
} pkt_t;


static uint8_t    flv[65536];
static size_t     flv_len;
static uint8_t   *avcc_rec;
static size_t     avcc_len;
static frame_t    frames[MAX_FRAMES];
static unsigned   nframes;

static ngx_ams_avc_config_t  cfg;

static pkt_t      pkts[MAX_PKTS];
static unsigned   npkts;


/* the FLV's video tags: the avcC and AVCC frames (4-byte lengths) */

static int
load_flv(void)
{
    char         path[1024];
    FILE        *f;
    size_t       off, n;
    uint8_t     *b;
    uint32_t     ts;
    const char  *slash, *err;

    slash = strrchr(__FILE__, '/');
    snprintf(path, sizeof(path), "%.*s/fixtures/h264_320x180.flv",
             slash ? (int) (slash - __FILE__) : 1, slash ? __FILE__ : ".");

    f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }

    flv_len = fread(flv, 1, sizeof(flv), f);
    fclose(f);

    for (off = 9 + 4; off + 11 <= flv_len; off += 11 + n + 4) {
        n = ((size_t) flv[off + 1] << 16) | (flv[off + 2] << 8)
            | flv[off + 3];
        ts = ((uint32_t) flv[off + 4] << 16) | (flv[off + 5] << 8)
             | flv[off + 6];
        b = flv + off + 11;

        if (off + 11 + n > flv_len) {
            return -1;
        }

        if (flv[off] != 9 || n < 5) {
            continue;
        }

        if (b[1] == 0) {
            avcc_rec = b + 5;
            avcc_len = n - 5;

        } else if (b[1] == 1 && nframes < MAX_FRAMES) {
            frames[nframes].data = b + 5;
            frames[nframes].len = n - 5;
            frames[nframes].ts = ts * 90;
            frames[nframes].key = (b[0] >> 4) == 1;
            nframes++;
        }
    }

    if (avcc_rec == NULL
        || ngx_ams_avc_parse_config(avcc_rec, avcc_len, &cfg, &err) != 0)
    {
        return -1;
    }

    return 0;
}


/* all payloads of one unit into pkts[] from "first"; -1 on an error */

static int
packetize(const uint8_t *au, size_t len, unsigned nls, unsigned key,
    size_t max_payload, uint32_t ts)
{
    int                         n;
    unsigned                    marker;
    ngx_ams_h264_packetizer_t   pk;

    ngx_ams_h264_packetizer_init(&pk, au, len, nls,
                                 cfg.sps[0].data, cfg.sps[0].len,
                                 cfg.pps[0].data, cfg.pps[0].len,
                                 key, max_payload);

    for ( ;; ) {
        if (npkts == MAX_PKTS) {
            return -1;
        }

        n = ngx_ams_h264_packetizer_next(&pk, pkts[npkts].data, PKT_CAP,
                                         &marker);
        if (n < 0) {
            return -1;
        }

        if (n == 0) {
            return 0;
        }

        pkts[npkts].len = (size_t) n;
        pkts[npkts].marker = marker;
        pkts[npkts].ts = ts;
        pkts[npkts].seq = (uint16_t) (65500 + npkts);   /* wraps */
        npkts++;
    }
}


/* what the depacketizer should give for a unit: 4-byte lengths, no SEI,
 * AUD, filler, SPS or PPS */

static size_t
expected(const uint8_t *au, size_t len, unsigned nls, uint8_t *out)
{
    size_t                  n;
    const char             *err;
    ngx_ams_avc_nal_t       nal;
    ngx_ams_avc_nal_iter_t  it;

    n = 0;
    ngx_ams_avc_nal_init(&it, au, len, nls);

    while (ngx_ams_avc_nal_next(&it, &nal, &err) == 1) {
        if (nal.type == 6 || nal.type == 7 || nal.type == 8 || nal.type == 9
            || nal.type == 12 || nal.type == 0 || nal.type >= 24)
        {
            continue;
        }

        out[n++] = (uint8_t) (nal.len >> 24);
        out[n++] = (uint8_t) (nal.len >> 16);
        out[n++] = (uint8_t) (nal.len >> 8);
        out[n++] = (uint8_t) nal.len;
        memcpy(out + n, nal.data, nal.len);
        n += nal.len;
    }

    return n;
}


/* the fixture's frames, all packetized into pkts[] */

static void
packetize_all(size_t max_payload)
{
    unsigned  i;

    npkts = 0;

    for (i = 0; i < nframes; i++) {
        if (packetize(frames[i].data, frames[i].len, 4, frames[i].key,
                      max_payload, frames[i].ts) != 0)
        {
            break;
        }
    }
}


static void
test_packetizer(void)
{
    size_t    i, off, sps_len, pps_len;
    unsigned  markers, fu, bad;
    uint8_t   nal[8192];
    size_t    nal_len;

    npkts = 0;
    ok(packetize(frames[0].data, frames[0].len, 4, 1, 1100, 0) == 0,
       "the first IDR packetizes");

    /* STAP-A: F=0, NRI of the SPS, type 24; SPS then PPS */
    sps_len = cfg.sps[0].len;
    pps_len = cfg.pps[0].len;

    ok(npkts > 1 && (pkts[0].data[0] & 0x1f) == 24
       && (pkts[0].data[0] & 0x60) == (cfg.sps[0].data[0] & 0x60)
       && pkts[0].len == 1 + 2 + sps_len + 2 + pps_len
       && pkts[0].data[1] == 0 && pkts[0].data[2] == sps_len
       && memcmp(pkts[0].data + 3, cfg.sps[0].data, sps_len) == 0
       && pkts[0].data[3 + sps_len + 1] == pps_len
       && memcmp(pkts[0].data + 5 + sps_len, cfg.pps[0].data, pps_len) == 0,
       "a STAP-A of the stream's SPS and PPS goes first");

    markers = 0;
    bad = 0;

    for (i = 0; i < npkts; i++) {
        markers += pkts[i].marker;
        bad += pkts[i].len > 1100;
    }

    ok(markers == 1 && pkts[npkts - 1].marker, "one marker, on the last");
    ok(bad == 0, "no payload over max_payload");

    /* the SEI (628 bytes) is not sent; the two IDR slices go as FU-A and
     * come back whole */
    fu = 0;
    nal_len = 0;
    off = 4 + 628;          /* the first slice in the frame, after SEI */

    for (i = 1; i < npkts; i++) {
        if ((pkts[i].data[0] & 0x1f) != 28) {
            continue;
        }

        if (pkts[i].data[1] & 0x80) {
            nal[0] = (pkts[i].data[0] & 0xe0) | (pkts[i].data[1] & 0x1f);
            nal_len = 1;
        }

        memcpy(nal + nal_len, pkts[i].data + 2, pkts[i].len - 2);
        nal_len += pkts[i].len - 2;

        if (pkts[i].data[1] & 0x40) {
            if (fu == 0) {
                ok(nal_len == 2480
                   && memcmp(nal, frames[0].data + off + 4, nal_len) == 0,
                   "the first slice rebuilt from its FU-A fragments");
            }

            fu++;
        }
    }

    is_int(fu, 2, "both slices went as FU-A");
    is_int(npkts, 1 + 3 + 2, "STAP-A, 3 + 2 fragments");

    /* a P frame: two single NAL unit packets */
    npkts = 0;
    ok(packetize(frames[1].data, frames[1].len, 4, 0, 1100, 0) == 0
       && npkts == 2 && pkts[0].len == 687 && pkts[1].len == 513
       && !pkts[0].marker && pkts[1].marker
       && memcmp(pkts[0].data, frames[1].data + 4, 687) == 0,
       "a P frame: two single NAL unit packets, marker on the second");

    /* not a keyframe: no STAP-A even with SPS/PPS given */
    ok((pkts[0].data[0] & 0x1f) == 1, "no STAP-A before a P frame");
}


static void
test_nal_length_sizes(void)
{
    uint8_t   au2[4096], au1[512];
    size_t    n2, n1, off;
    unsigned  i, j, same;
    pkt_t     ref[16];
    unsigned  nref;

    /* frame 1 with 2-byte lengths */
    n2 = 0;
    for (off = 0; off < frames[1].len; ) {
        size_t l = ((size_t) frames[1].data[off] << 24)
                   | (frames[1].data[off + 1] << 16)
                   | (frames[1].data[off + 2] << 8) | frames[1].data[off + 3];
        au2[n2++] = (uint8_t) (l >> 8);
        au2[n2++] = (uint8_t) l;
        memcpy(au2 + n2, frames[1].data + off + 4, l);
        n2 += l;
        off += 4 + l;
    }

    npkts = 0;
    packetize(frames[1].data, frames[1].len, 4, 0, 1100, 0);
    nref = npkts;
    memcpy(ref, pkts, nref * sizeof(pkt_t));

    npkts = 0;
    packetize(au2, n2, 2, 0, 1100, 0);

    same = (npkts == nref);
    for (i = 0; same && i < npkts; i++) {
        same = pkts[i].len == ref[i].len
               && memcmp(pkts[i].data, ref[i].data, ref[i].len) == 0;
    }

    ok(same, "2-byte NAL lengths packetize as 4-byte ones");

    /* 1-byte lengths: small NALs */
    n1 = 0;
    for (j = 0; j < 3; j++) {
        au1[n1++] = 100;
        au1[n1] = 0x41;             /* NRI 2, non-IDR slice */
        memset(au1 + n1 + 1, (int) j, 99);
        n1 += 100;
    }

    npkts = 0;
    ok(packetize(au1, n1, 1, 0, 1100, 0) == 0 && npkts == 3
       && pkts[2].len == 100 && pkts[2].data[1] == 2 && pkts[2].marker,
       "1-byte NAL lengths");
}


static void
test_packetizer_malformed(void)
{
    int                         n;
    uint8_t                     au[64], out[PKT_CAP];
    unsigned                    marker;
    ngx_ams_h264_packetizer_t   pk;

    /* a length past the end: nothing sent */
    memset(au, 0x41, sizeof(au));
    au[0] = 0; au[1] = 0; au[2] = 0; au[3] = 10;
    au[14] = 0; au[15] = 0; au[16] = 1; au[17] = 0;

    ngx_ams_h264_packetizer_init(&pk, au, 40, 4, NULL, 0, NULL, 0, 0, 1100);
    n = ngx_ams_h264_packetizer_next(&pk, out, sizeof(out), &marker);
    is_int(n, -1, "a length past the end: -1 first");
    n = ngx_ams_h264_packetizer_next(&pk, out, sizeof(out), &marker);
    is_int(n, 0, "then 0");

    /* a length field cut short */
    ngx_ams_h264_packetizer_init(&pk, au, 16, 4, NULL, 0, NULL, 0, 0, 1100);
    is_int(ngx_ams_h264_packetizer_next(&pk, out, sizeof(out), &marker), -1,
           "a length field cut short: -1");

    ngx_ams_h264_packetizer_init(&pk, au, 14, 3, NULL, 0, NULL, 0, 0, 1100);
    is_int(ngx_ams_h264_packetizer_next(&pk, out, sizeof(out), &marker), -1,
           "3-byte lengths: -1");

    ngx_ams_h264_packetizer_init(&pk, au, 14, 4, NULL, 0, NULL, 0, 0, 2);
    is_int(ngx_ams_h264_packetizer_next(&pk, out, sizeof(out), &marker), -1,
           "max_payload 2: -1");

    /* an empty keyframe: the STAP-A alone, with the marker */
    ngx_ams_h264_packetizer_init(&pk, NULL, 0, 4, cfg.sps[0].data,
                                 cfg.sps[0].len, cfg.pps[0].data,
                                 cfg.pps[0].len, 1, 1100);
    n = ngx_ams_h264_packetizer_next(&pk, out, sizeof(out), &marker);
    ok(n > 0 && (out[0] & 0x1f) == 24 && marker,
       "an empty keyframe: the STAP-A, marked");
    is_int(ngx_ams_h264_packetizer_next(&pk, out, sizeof(out), &marker), 0,
           "and nothing more");

    /* only what is dropped: nothing */
    au[0] = 0; au[1] = 0; au[2] = 0; au[3] = 2; au[4] = 0x09; au[5] = 0xf0;
    au[6] = 0; au[7] = 0; au[8] = 0; au[9] = 3; au[10] = 0x06; au[11] = 1;
    au[12] = 0x80;
    au[13] = 0; au[14] = 0; au[15] = 0; au[16] = 2; au[17] = 0x1c;
    au[18] = 0x85;
    ngx_ams_h264_packetizer_init(&pk, au, 19, 4, NULL, 0, NULL, 0, 0, 1100);
    is_int(ngx_ams_h264_packetizer_next(&pk, out, sizeof(out), &marker), 0,
           "AUD, SEI and a NAL of type 28 are not sent");
}


/* NALs of many sizes around max_payload: each payload within it, and the
 * unit back whole */

static void
test_fu_boundaries(void)
{
    static uint8_t           au[20000], want[20000];
    size_t                   mps[] = { 3, 4, 5, 100, 1100, 1200 };
    size_t                   mp, sizes[16], len, wlen, n;
    unsigned                 i, k, over, m, frames_out, first_ok, exact;
    ngx_ams_h264_au_t        out;
    ngx_ams_h264_depack_t   *d;

    for (m = 0; m < sizeof(mps) / sizeof(mps[0]); m++) {
        mp = mps[m];

        /* mp - 1, mp, mp + 1, 2 (mp - 2) + 1 (two full fragments),
         * 2 (mp - 2) + 2, 1 */
        sizes[0] = mp - 1;
        sizes[1] = mp;
        sizes[2] = mp + 1;
        sizes[3] = 2 * (mp - 2) + 1;
        sizes[4] = 2 * (mp - 2) + 2;
        sizes[5] = 1;
        sizes[6] = 3 * (mp - 2) + 1;

        len = 0;
        for (i = 0; i < 7; i++) {
            n = sizes[i];
            au[len++] = (uint8_t) (n >> 24);
            au[len++] = (uint8_t) (n >> 16);
            au[len++] = (uint8_t) (n >> 8);
            au[len++] = (uint8_t) n;
            au[len] = (i == 0) ? 0x65 : 0x45;     /* IDR slices */
            for (k = 1; k < n; k++) {
                au[len + k] = (uint8_t) (k * 7 + i);
            }
            len += n;
        }

        npkts = 0;
        packetize(au, len, 4, 1, mp, 3000);

        over = 0;
        exact = 0;
        for (i = 0; i < npkts; i++) {
            over += pkts[i].len > mp;
            exact += pkts[i].len == mp;
        }

        ok(over == 0 && npkts > 0, "max_payload %zu: no payload over it",
           mp);

        /* which packets: a NAL of exactly mp goes whole, mp + 1 as two */
        if (mp == 1100) {
            /* STAP-A, 1099, 1100, FU 1100 + 4, FU 1100 + 1100,
             * FU 1100 + 1100 + 4, 1, FU 1100 * 3 */
            first_ok = npkts == 1 + 1 + 1 + 2 + 2 + 3 + 1 + 3
                       && pkts[2].len == 1100 && (pkts[2].data[0] & 0x1f) == 5
                       && pkts[3].len == 1100 && pkts[4].len == 2 + 2
                       && pkts[5].len == 1100 && pkts[6].len == 1100
                       && (pkts[5].data[1] & 0x80) && (pkts[6].data[1] & 0x40)
                       && pkts[9].len == 2 + 1;
            ok(first_ok, "max_payload 1100: FU-A split at the exact sizes");
        }

        d = ngx_ams_h264_depack_create(0);
        frames_out = 0;
        wlen = expected(au, len, 4, want);

        for (i = 0; i < npkts; i++) {
            if (ngx_ams_h264_depack_push(d, pkts[i].data, pkts[i].len,
                                         pkts[i].ts, pkts[i].marker, 0, &out)
                == NGX_AMS_H264_DEPACK_FRAME)
            {
                frames_out++;
                ok(out.len == wlen && memcmp(out.data, want, wlen) == 0
                   && out.keyframe && out.ts == 3000,
                   "max_payload %zu: the unit back byte for byte", mp);
            }
        }

        is_int(frames_out, 1, "max_payload %zu: one unit", mp);
        ngx_ams_h264_depack_free(d);
    }

    /* SPS/PPS that do not fit one STAP-A go alone (here: as FU-A) */
    npkts = 0;
    packetize(frames[0].data, frames[0].len, 4, 1, 12, 0);
    ok(npkts > 0 && (pkts[0].data[0] & 0x1f) == 28
       && (pkts[0].data[1] & 0x9f) == 0x87, "SPS alone (FU-A) when no room");

    d = ngx_ams_h264_depack_create(0);
    frames_out = 0;
    wlen = expected(frames[0].data, frames[0].len, 4, want);

    for (i = 0; i < npkts; i++) {
        if (ngx_ams_h264_depack_push(d, pkts[i].data, pkts[i].len, 0,
                                     pkts[i].marker, 0, &out)
            == NGX_AMS_H264_DEPACK_FRAME)
        {
            frames_out++;
            ok(out.len == wlen && memcmp(out.data, want, wlen) == 0,
               "an IDR in 12-byte payloads comes back whole");
        }
    }

    is_int(frames_out, 1, "one unit from 12-byte payloads");
    ngx_ams_h264_depack_free(d);
}


/* pkts[] through the jitter buffer in the order "order" (NULL: as is),
 * those with skip[i] set lost; the units compared with the fixture */

static unsigned
carry(const unsigned *order, const unsigned char *skip, unsigned *keys,
    uint8_t *flags, size_t max_au)
{
    int                      rc;
    size_t                   len, wlen;
    uint8_t                  want[8192], wire[PKT_CAP];
    unsigned                 i, k, f, lost, got;
    uint16_t                 seq;
    uint64_t                 now;
    const uint8_t           *p;
    ngx_ams_jitter_t        *j;
    ngx_ams_h264_au_t        au;
    ngx_ams_h264_depack_t   *d;

    j = ngx_ams_jitter_create(64, 100);
    d = ngx_ams_h264_depack_create(max_au);

    got = 0;
    *keys = 0;
    now = 1000;

    memset(flags, 0, MAX_FRAMES);

    for (k = 0; k <= npkts; k++, now += 5) {
        if (k < npkts) {
            i = order ? order[k] : k;

            if (skip == NULL || !skip[i]) {
                /* the jitter buffer carries timestamp, marker, payload */
                wire[0] = (uint8_t) (pkts[i].ts >> 24);
                wire[1] = (uint8_t) (pkts[i].ts >> 16);
                wire[2] = (uint8_t) (pkts[i].ts >> 8);
                wire[3] = (uint8_t) pkts[i].ts;
                wire[4] = (uint8_t) pkts[i].marker;
                memcpy(wire + 5, pkts[i].data, pkts[i].len);

                ngx_ams_jitter_push(j, pkts[i].seq, wire, 5 + pkts[i].len,
                                    now);
            }

        } else {
            now += 1000;            /* the end: give up on what is left */
        }

        while (ngx_ams_jitter_pop(j, now, &p, &len, &seq, &lost) == 1) {
            rc = ngx_ams_h264_depack_push(d, p + 5, len - 5,
                                          ((uint32_t) p[0] << 24)
                                          | (p[1] << 16) | (p[2] << 8) | p[3],
                                          p[4], lost, &au);
            if (rc != NGX_AMS_H264_DEPACK_FRAME) {
                continue;
            }

            for (f = 0; f < nframes; f++) {
                if (frames[f].ts == au.ts) {
                    break;
                }
            }

            wlen = (f < nframes) ? expected(frames[f].data, frames[f].len,
                                            4, want)
                                 : 0;

            if (f < nframes && au.len == wlen
                && memcmp(au.data, want, wlen) == 0
                && au.keyframe == frames[f].key)
            {
                flags[f] = 1 | (au.config_changed ? 2 : 0);
                got++;
                *keys += au.keyframe;
            }
        }
    }

    ngx_ams_jitter_free(j);
    ngx_ams_h264_depack_free(d);

    return got;
}


static void
test_round_trip(void)
{
    uint8_t        flags[MAX_FRAMES];
    uint8_t        buf[512];
    size_t         n;
    unsigned       i, got, keys, order[MAX_PKTS], t;
    unsigned char  skip[MAX_PKTS];
    ngx_ams_h264_depack_t   *d;
    ngx_ams_h264_au_t        au;

    packetize_all(1100);
    ok(npkts > 20, "the fixture: %u frames in %u packets", nframes, npkts);

    got = carry(NULL, NULL, &keys, flags, 0);
    is_int(got, nframes, "in order: every unit back byte for byte");
    is_int(keys, 2, "two of them keyframes");
    ok(flags[0] == 3 && flags[1] == 1 && flags[4] == 1,
       "config_changed on the first unit only");

    /* reordered: pairs swapped (but the first packet, which sets where
     * the jitter buffer starts), and one packet three places late */
    for (i = 0; i < npkts; i++) {
        order[i] = i;
    }

    for (i = 1; i + 1 < npkts; i += 2) {
        t = order[i];
        order[i] = order[i + 1];
        order[i + 1] = t;
    }

    t = order[5];
    order[5] = order[6];
    order[6] = order[7];
    order[7] = order[8];
    order[8] = t;

    got = carry(order, NULL, &keys, flags, 0);
    is_int(got, nframes, "reordered: every unit back byte for byte");

    /* the avcC made from the SPS/PPS seen is the FLV's own */
    d = ngx_ams_h264_depack_create(0);
    is_int(ngx_ams_h264_depack_avcc(d, buf, sizeof(buf)), 0,
           "no avcC before an SPS");
    ok(ngx_ams_h264_depack_need_keyframe(d), "waits for a keyframe at start");

    for (i = 0; i < npkts; i++) {
        if (ngx_ams_h264_depack_push(d, pkts[i].data, pkts[i].len, pkts[i].ts,
                                     pkts[i].marker, 0, &au)
            == NGX_AMS_H264_DEPACK_FRAME)
        {
            break;
        }
    }

    n = ngx_ams_h264_depack_avcc(d, buf, sizeof(buf));
    ok(n == avcc_len && memcmp(buf, avcc_rec, n) == 0,
       "the avcC equals the one x264/FFmpeg wrote");
    is_int(ngx_ams_h264_depack_avcc(d, buf, n - 1), 0, "cap too small: 0");
    ok(!ngx_ams_h264_depack_need_keyframe(d), "no wait after the IDR");
    ngx_ams_h264_depack_free(d);

    /* a packet of P frame 2 lost: it and the P frames after it are
     * dropped until the IDR of frame 4 */
    memset(skip, 0, sizeof(skip));

    for (i = 0; i < npkts; i++) {
        if (pkts[i].ts == frames[2].ts) {
            skip[i] = 1;
            break;
        }
    }

    got = carry(NULL, skip, &keys, flags, 0);
    ok(got == nframes - 2 && flags[0] && flags[1] && !flags[2] && !flags[3]
       && flags[4] && flags[7],
       "a P frame's packet lost: it and the next dropped until the IDR");

    /* a fragment of the first IDR lost: nothing until the second IDR */
    memset(skip, 0, sizeof(skip));
    skip[2] = 1;
    got = carry(NULL, skip, &keys, flags, 0);
    ok(got == 4 && !flags[0] && !flags[3] && flags[4] && flags[7]
       && (flags[4] & 2),
       "an IDR fragment lost: all dropped until the next IDR, which says"
       " config_changed");

    /* the last packet of frame 1 (its marker) lost */
    memset(skip, 0, sizeof(skip));
    for (i = 0; i < npkts; i++) {
        if (pkts[i].ts == frames[1].ts && pkts[i].marker) {
            skip[i] = 1;
        }
    }
    got = carry(NULL, skip, &keys, flags, 0);
    ok(got == nframes - 3 && flags[0] && !flags[1] && !flags[2]
       && !flags[3] && flags[4], "a marker packet lost");

    /* units over max_au are dropped, and what follows until an IDR fits:
     * the IDRs are 3667 and 4127 bytes */
    got = carry(NULL, NULL, &keys, flags, 3000);
    is_int(got, 0, "IDRs over max_au: nothing handed out");
    got = carry(NULL, NULL, &keys, flags, 4000);
    ok(got == 4 && flags[0] && flags[3] && !flags[4] && !flags[7],
       "max_au between the two IDRs' sizes: up to the second");
}


static int
push(ngx_ams_h264_depack_t *d, const uint8_t *p, size_t len, uint32_t ts,
    unsigned marker, unsigned lost, ngx_ams_h264_au_t *au)
{
    return ngx_ams_h264_depack_push(d, p, len, ts, marker, lost, au);
}


/* a depacketizer past its first keyframe (SPS/PPS known) */

static ngx_ams_h264_depack_t *
primed(void)
{
    uint8_t                  stap[256], idr[3] = { 0x65, 0x88, 0x80 };
    size_t                   n;
    ngx_ams_h264_au_t        au;
    ngx_ams_h264_depack_t   *d;

    n = 0;
    stap[n++] = 0x78;
    stap[n++] = 0;
    stap[n++] = (uint8_t) cfg.sps[0].len;
    memcpy(stap + n, cfg.sps[0].data, cfg.sps[0].len);
    n += cfg.sps[0].len;
    stap[n++] = 0;
    stap[n++] = (uint8_t) cfg.pps[0].len;
    memcpy(stap + n, cfg.pps[0].data, cfg.pps[0].len);
    n += cfg.pps[0].len;

    d = ngx_ams_h264_depack_create(0);
    push(d, stap, n, 0, 0, 0, &au);
    push(d, idr, 3, 0, 1, 0, &au);

    return d;
}


static void
test_malformed(void)
{
    int                      rc;
    unsigned                 i;
    ngx_ams_h264_au_t        au;
    ngx_ams_h264_depack_t   *d;

    static const struct {
        const char  *name;
        uint8_t      p[8];
        size_t       len;
    } bad[] = {
        { "FU-B", { 0x7d, 0x85, 1, 2, 3 }, 5 },
        { "STAP-B", { 0x79, 0, 0, 0, 2, 0x41, 1 }, 7 },
        { "MTAP16", { 0x7a, 0, 0, 0, 3, 0, 0x41 }, 7 },
        { "MTAP24", { 0x7b, 0, 0, 0, 3, 0, 0x41 }, 7 },
        { "STAP-A, a size past the end", { 0x78, 0, 9, 0x41, 1 }, 5 },
        { "STAP-A, a size cut short", { 0x78, 0, 2, 0x41, 1, 0 }, 6 },
        { "STAP-A, a size of 0", { 0x78, 0, 0, 0, 2, 0x41, 1 }, 7 },
        { "STAP-A, empty", { 0x78 }, 1 },
        { "STAP-A inside STAP-A", { 0x78, 0, 3, 0x78, 0, 0 }, 6 },
        { "STAP-A holding a FU-A", { 0x78, 0, 3, 0x7c, 0x85, 1 }, 6 },
        { "FU-A, start and end", { 0x7c, 0xc5, 1, 2 }, 4 },
        { "FU-A, 2 bytes", { 0x7c, 0x85 }, 2 },
        { "FU-A, a middle without start", { 0x7c, 0x05, 1, 2 }, 4 },
        { "FU-A, an end without start", { 0x7c, 0x45, 1, 2 }, 4 },
        { "FU-A of a STAP-A", { 0x7c, 0x98, 1, 2 }, 4 },
        { "FU-A of type 0", { 0x7c, 0x80, 1, 2 }, 4 },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        d = primed();
        ok(!ngx_ams_h264_depack_need_keyframe(d), "%s: primed", bad[i].name);

        rc = push(d, bad[i].p, bad[i].len, 9000, 1, 0, &au);
        ok(rc == NGX_AMS_H264_DEPACK_DROPPED
           && ngx_ams_h264_depack_need_keyframe(d),
           "%s: dropped, waits for a keyframe", bad[i].name);

        ngx_ams_h264_depack_free(d);
    }

    /* a FU-A cut by a single NAL, and by a fragment of another type */
    {
        static const uint8_t  s1[] = { 0x7c, 0x85, 1, 2 };
        static const uint8_t  s2[] = { 0x41, 9, 9 };
        static const uint8_t  s3[] = { 0x7c, 0x41, 3, 4 };

        d = primed();
        push(d, s1, sizeof(s1), 9000, 0, 0, &au);
        rc = push(d, s2, sizeof(s2), 9000, 1, 0, &au);
        ok(rc == NGX_AMS_H264_DEPACK_DROPPED
           && ngx_ams_h264_depack_need_keyframe(d),
           "a FU-A cut by a single NAL: dropped");
        ngx_ams_h264_depack_free(d);

        d = primed();
        push(d, s1, sizeof(s1), 9000, 0, 0, &au);
        rc = push(d, s3, sizeof(s3), 9000, 1, 0, &au);
        ok(rc == NGX_AMS_H264_DEPACK_DROPPED, "a FU-A ended as another type");
        ngx_ams_h264_depack_free(d);

        /* a FU-A whose end never came, and the timestamp moved on */
        d = primed();
        push(d, s1, sizeof(s1), 9000, 0, 0, &au);
        rc = push(d, s2, sizeof(s2), 12000, 1, 0, &au);
        ok(rc == NGX_AMS_H264_DEPACK_DROPPED, "a FU-A left open: dropped");
        ngx_ams_h264_depack_free(d);
    }

    /* types 0, 30, 31 are ignored: the unit stands */
    {
        static const uint8_t  t0[] = { 0x00, 1 }, t30[] = { 0x1e, 1 },
                              t31[] = { 0x1f, 1 }, p1[] = { 0x41, 7, 7 };

        d = primed();
        ok(push(d, t0, 2, 9000, 0, 0, &au) == NGX_AMS_H264_DEPACK_DROPPED
           && push(d, t30, 2, 9000, 0, 0, &au) == NGX_AMS_H264_DEPACK_DROPPED
           && push(d, p1, 3, 9000, 0, 0, &au) == NGX_AMS_H264_DEPACK_AGAIN
           && push(d, t31, 2, 9000, 1, 0, &au) == NGX_AMS_H264_DEPACK_FRAME
           && au.len == 7 && !au.keyframe
           && !ngx_ams_h264_depack_need_keyframe(d),
           "types 0, 30 and 31 ignored, the unit kept");
        ngx_ams_h264_depack_free(d);
    }

    /* an SPS that does not parse, and one over PS_MAX */
    {
        static const uint8_t  sps_bad[] = { 0x67, 0x42, 0, 0x1f, 0, 0, 0,
                                            0, 0, 0 };
        static uint8_t        big[NGX_AMS_H264_PS_MAX + 2];

        d = primed();
        ok(push(d, sps_bad, sizeof(sps_bad), 9000, 1, 0, &au)
           == NGX_AMS_H264_DEPACK_DROPPED
           && ngx_ams_h264_depack_need_keyframe(d), "an SPS that cannot parse");
        ngx_ams_h264_depack_free(d);

        memset(big, 0, sizeof(big));
        big[0] = 0x68;
        d = primed();
        ok(push(d, big, sizeof(big), 9000, 1, 0, &au)
           == NGX_AMS_H264_DEPACK_DROPPED, "a PPS over PS_MAX");
        ngx_ams_h264_depack_free(d);
    }
}


static void
test_depack_edges(void)
{
    int                      rc;
    size_t                   n;
    uint8_t                  buf[512], stap[512];
    ngx_ams_h264_au_t        au;
    ngx_ams_h264_depack_t   *d;
    static const uint8_t     p1[] = { 0x41, 1, 1 }, p2[] = { 0x41, 2, 2 },
                             p3[] = { 0x41, 3 }, aud[] = { 0x09, 0xf0 },
                             idr[] = { 0x65, 0x88, 0x84 },
                             fill[] = { 0x0c, 0xff, 0xff };

    /* a unit without marker ends when the timestamp changes; one packet
     * that completes a second unit waits for the next push */
    d = primed();
    is_int(push(d, p1, 3, 100, 0, 0, &au), NGX_AMS_H264_DEPACK_AGAIN,
           "no marker: waits");
    rc = push(d, p2, 3, 200, 1, 0, &au);
    ok(rc == NGX_AMS_H264_DEPACK_FRAME && au.ts == 100 && au.len == 7
       && au.data[4] == 0x41 && au.data[5] == 1,
       "the timestamp changed: the first unit");
    rc = push(d, p3, 2, 300, 0, 0, &au);
    ok(rc == NGX_AMS_H264_DEPACK_FRAME && au.ts == 200 && au.data[5] == 2,
       "the second one, with the next push");
    rc = push(d, p1, 3, 300, 1, 0, &au);
    ok(rc == NGX_AMS_H264_DEPACK_FRAME && au.ts == 300 && au.len == 6 + 7
       && au.data[3] == 2 && au.data[5] == 3,
       "and the third, two NALs");

    /* padding (empty payload) ignored, AUD and filler dropped */
    ok(push(d, NULL, 0, 999, 1, 0, &au) == NGX_AMS_H264_DEPACK_AGAIN
       && push(d, aud, 2, 400, 0, 0, &au) == NGX_AMS_H264_DEPACK_AGAIN
       && push(d, NULL, 0, 1, 1, 0, &au) == NGX_AMS_H264_DEPACK_AGAIN
       && push(d, p1, 3, 400, 0, 0, &au) == NGX_AMS_H264_DEPACK_AGAIN
       && push(d, fill, 3, 400, 1, 0, &au) == NGX_AMS_H264_DEPACK_FRAME
       && au.len == 7 && au.ts == 400,
       "padding ignored, AUD and filler taken out");

    /* an AU of AUD only: nothing handed out, nothing broken */
    ok(push(d, aud, 2, 500, 1, 0, &au) == NGX_AMS_H264_DEPACK_AGAIN
       && !ngx_ams_h264_depack_need_keyframe(d), "a unit of AUD alone: none");

    /* loss with a unit open: dropped; P frames after it too */
    push(d, p1, 3, 600, 0, 0, &au);
    ok(push(d, p2, 3, 600, 1, 1, &au) == NGX_AMS_H264_DEPACK_DROPPED
       && ngx_ams_h264_depack_need_keyframe(d), "loss inside a unit");
    ok(push(d, p2, 3, 700, 1, 0, &au) == NGX_AMS_H264_DEPACK_DROPPED,
       "a P frame after loss: dropped");

    /* an IDR alone (SPS/PPS known from before) ends the wait */
    rc = push(d, idr, 3, 800, 1, 0, &au);
    ok(rc == NGX_AMS_H264_DEPACK_FRAME && au.keyframe && !au.config_changed
       && !ngx_ams_h264_depack_need_keyframe(d), "an IDR ends the wait");

    /* loss between units: the next P frame is dropped */
    ok(push(d, p1, 3, 900, 1, 1, &au) == NGX_AMS_H264_DEPACK_DROPPED,
       "loss between units");
    ngx_ams_h264_depack_free(d);

    /* an IDR before any SPS/PPS: not handed out */
    d = ngx_ams_h264_depack_create(0);
    ok(push(d, idr, 3, 0, 1, 0, &au) == NGX_AMS_H264_DEPACK_DROPPED
       && ngx_ams_h264_depack_need_keyframe(d), "an IDR without SPS/PPS");

    /* a whole keyframe in one STAP-A, with a new SPS (another size) */
    n = 0;
    stap[n++] = 0x78;
    stap[n++] = 0;
    stap[n++] = (uint8_t) cfg.sps[0].len;
    memcpy(stap + n, cfg.sps[0].data, cfg.sps[0].len);
    n += cfg.sps[0].len;
    stap[n++] = 0;
    stap[n++] = (uint8_t) cfg.pps[0].len;
    memcpy(stap + n, cfg.pps[0].data, cfg.pps[0].len);
    n += cfg.pps[0].len;
    stap[n++] = 0;
    stap[n++] = 3;
    memcpy(stap + n, idr, 3);
    n += 3;

    rc = push(d, stap, n, 3000, 1, 0, &au);
    ok(rc == NGX_AMS_H264_DEPACK_FRAME && au.keyframe && au.config_changed
       && au.len == 7 && memcmp(au.data + 4, idr, 3) == 0,
       "a keyframe in one STAP-A: SPS/PPS taken out, config_changed");

    rc = push(d, stap, n, 6000, 1, 0, &au);
    ok(rc == NGX_AMS_H264_DEPACK_FRAME && !au.config_changed,
       "the same SPS/PPS again: not changed");
    ngx_ams_h264_depack_free(d);

    /* the High profile SPS/PPS of x264: the avcC FFmpeg writes, with the
     * chroma and bit depth bytes */
    {
        static const uint8_t  sps_hi[] = {
            0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0x9f, 0x9f,
            0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03,
            0x03, 0xc0, 0xf1, 0x42, 0x99, 0x60
        };
        static const uint8_t  pps_hi[] = {
            0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0
        };
        static const uint8_t  avcc_hi[] = {
            0x01, 0x64, 0x00, 0x0d, 0xff, 0xe1, 0x00, 0x1a,
            0x67, 0x64, 0x00, 0x0d, 0xac, 0xd9, 0x41, 0x41, 0x9f, 0x9f,
            0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03,
            0x03, 0xc0, 0xf1, 0x42, 0x99, 0x60,
            0x01, 0x00, 0x06, 0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0,
            0xfd, 0xf8, 0xf8, 0x00
        };
        ngx_ams_avc_config_t  c;
        const char           *err;

        d = ngx_ams_h264_depack_create(0);
        push(d, sps_hi, sizeof(sps_hi), 0, 0, 0, &au);
        push(d, pps_hi, sizeof(pps_hi), 0, 0, 0, &au);
        n = ngx_ams_h264_depack_avcc(d, buf, sizeof(buf));
        ok(n == sizeof(avcc_hi) && memcmp(buf, avcc_hi, n) == 0,
           "High profile: the avcC FFmpeg writes");
        ok(ngx_ams_avc_parse_config(buf, n, &c, &err) == 0
           && c.width == 320 && c.height == 180 && c.nal_length_size == 4,
           "and the core's parser reads it: 320x180");
        ngx_ams_h264_depack_free(d);
    }

    /* in-band SPS/PPS and AUD in a bus frame: SPS/PPS sent as NALs, the
     * AUD not; the depacketizer takes the SPS/PPS out */
    {
        uint8_t   au_in[8192], want[8192];
        size_t    len, wlen;
        unsigned  i, got;

        len = 0;
        au_in[len++] = 0; au_in[len++] = 0; au_in[len++] = 0;
        au_in[len++] = 2;
        au_in[len++] = 0x09; au_in[len++] = 0xf0;
        au_in[len++] = 0; au_in[len++] = 0; au_in[len++] = 0;
        au_in[len++] = (uint8_t) cfg.sps[0].len;
        memcpy(au_in + len, cfg.sps[0].data, cfg.sps[0].len);
        len += cfg.sps[0].len;
        au_in[len++] = 0; au_in[len++] = 0; au_in[len++] = 0;
        au_in[len++] = (uint8_t) cfg.pps[0].len;
        memcpy(au_in + len, cfg.pps[0].data, cfg.pps[0].len);
        len += cfg.pps[0].len;
        memcpy(au_in + len, frames[4].data, frames[4].len);
        len += frames[4].len;

        npkts = 0;
        packetize(au_in, len, 4, 0, 1100, 90);
        ok(npkts > 3 && pkts[0].len == cfg.sps[0].len
           && (pkts[0].data[0] & 0x1f) == 7 && (pkts[1].data[0] & 0x1f) == 8,
           "in-band SPS/PPS sent, the AUD not");

        d = ngx_ams_h264_depack_create(0);
        wlen = expected(au_in, len, 4, want);
        got = 0;

        for (i = 0; i < npkts; i++) {
            if (push(d, pkts[i].data, pkts[i].len, 90, pkts[i].marker, 0,
                     &au)
                == NGX_AMS_H264_DEPACK_FRAME)
            {
                got += au.len == wlen && memcmp(au.data, want, wlen) == 0
                       && au.keyframe && au.config_changed;
            }
        }

        is_int(got, 1, "the in-band SPS/PPS taken out of the unit");
        ngx_ams_h264_depack_free(d);
    }
}


int
main(void)
{
    if (!ok(load_flv() == 0, "the fixture loads")) {
        return done_testing();
    }

    ok(nframes == 8 && frames[0].key && frames[4].key && !frames[1].key,
       "8 frames, keyframes at 0 and 4");

    test_packetizer();
    test_nal_length_sizes();
    test_packetizer_malformed();
    test_fu_boundaries();
    test_round_trip();
    test_malformed();
    test_depack_edges();

    return done_testing();
}
