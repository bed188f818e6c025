
/*
 * Copyright (C) nginx-ams authors
 *
 * Codec helpers (AVC decoder configuration and SPS, NAL units of AVCC
 * frames, AAC config, ADTS) and the MPEG-TS muxer.
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_avc.h"
#include "ngx_ams_aac.h"
#include "ngx_ams_ts_mux.h"


/* SPS/PPS that x264 wrote for 1280x720 (baseline) and 1920x1080 (high) */
static const uint8_t  sps_720[] = {
    0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xec, 0x04, 0x40, 0x00,
    0x00, 0x03, 0x00, 0x40, 0x00, 0x00, 0x0f, 0x03, 0xc6, 0x0c, 0xa8
};

static const uint8_t  sps_1080[] = {
    0x67, 0x64, 0x00, 0x28, 0xac, 0xd9, 0x40, 0x78, 0x02, 0x27, 0xe5, 0xc0,
    0x44, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c,
    0x60, 0xc6, 0x58
};

static const uint8_t  pps[] = { 0x68, 0xce, 0x0f, 0xc8 };


static size_t
make_avcc(uint8_t *out, const uint8_t *sps, size_t sps_len)
{
    size_t  n = 0;

    out[n++] = 1;
    out[n++] = sps[1];
    out[n++] = sps[2];
    out[n++] = sps[3];
    out[n++] = 0xff;                 /* 4-byte NAL lengths */
    out[n++] = 0xe1;                 /* one SPS */
    out[n++] = 0;
    out[n++] = (uint8_t) sps_len;
    memcpy(out + n, sps, sps_len);
    n += sps_len;
    out[n++] = 1;                    /* one PPS */
    out[n++] = 0;
    out[n++] = sizeof(pps);
    memcpy(out + n, pps, sizeof(pps));
    n += sizeof(pps);

    return n;
}


static void
test_avc(void)
{
    size_t                n, i;
    uint8_t               avcc[128];
    const char           *err = NULL;
    ngx_ams_avc_config_t  cfg;

    n = make_avcc(avcc, sps_720, sizeof(sps_720));
    ok(ngx_ams_avc_parse_config(avcc, n, &cfg, &err) == 0, "720p config");
    ok(cfg.width == 1280 && cfg.height == 720, "SPS says 1280x720");
    ok(cfg.nal_length_size == 4 && cfg.nsps == 1 && cfg.npps == 1,
       "NAL length size and parameter set counts");

    n = make_avcc(avcc, sps_1080, sizeof(sps_1080));
    ok(ngx_ams_avc_parse_config(avcc, n, &cfg, &err) == 0
       && cfg.width == 1920 && cfg.height == 1080,
       "high profile with cropping: 1920x1080");

    /* every truncation is refused, never read past */
    for (i = 0; i < n; i++) {
        if (ngx_ams_avc_parse_config(avcc, i, &cfg, &err) == 0) {
            break;
        }
    }
    ok(i == n, "all %zu truncations refused", n);

    avcc[0] = 2;
    ok(ngx_ams_avc_parse_config(avcc, n, &cfg, &err) == -1,
       "version 2 refused");
    avcc[0] = 1;

    avcc[5] = 0xe0;
    ok(ngx_ams_avc_parse_config(avcc, n, &cfg, &err) == -1,
       "no SPS refused");
    avcc[5] = 0xe1;

    avcc[7] = 0xff;
    ok(ngx_ams_avc_parse_config(avcc, n, &cfg, &err) == -1,
       "SPS length past the end refused");
}


/* the NAL units of a frame, as "type:len" joined by spaces, or "error" */

static const char *
nal_list(const uint8_t *p, size_t len, unsigned size, char *out, size_t n)
{
    int                     rc;
    size_t                  used;
    const char             *err;
    ngx_ams_avc_nal_t       nal;
    ngx_ams_avc_nal_iter_t  it;

    out[0] = '\0';
    used = 0;
    err = NULL;

    ngx_ams_avc_nal_init(&it, p, len, size);

    while ((rc = ngx_ams_avc_nal_next(&it, &nal, &err)) == 1) {
        if (nal.data < p || nal.data + nal.len > p + len || nal.len == 0) {
            return "out of bounds";
        }

        used += snprintf(out + used, n - used, "%s%u:%zu", used ? " " : "",
                         nal.type, nal.len);
    }

    if (rc != 0) {
        return err ? "error" : "error without a message";
    }

    return out;
}


static void
test_nal(void)
{
    char  buf[256];

    static const uint8_t  frame4[] = {
        0, 0, 0, 2, 0x09, 0xf0,                  /* AUD */
        0, 0, 0, 0,                              /* empty: passed over */
        0, 0, 0, 3, 0x06, 0x05, 0x80,            /* SEI */
        0, 0, 0, 4, 0x65, 0x88, 0x84, 0x00       /* IDR slice */
    };
    static const uint8_t  frame2[] = { 0, 1, 0x41, 0, 2, 0x41, 0x9a };
    static const uint8_t  frame1[] = { 1, 0x41, 3, 0x65, 1, 2 };

    ok(strcmp(nal_list(frame4, sizeof(frame4), 4, buf, sizeof(buf)),
              "9:2 6:3 5:4") == 0, "4-byte lengths: AUD, SEI, IDR; the "
       "empty unit is passed over");
    ok(strcmp(nal_list(frame2, sizeof(frame2), 2, buf, sizeof(buf)),
              "1:1 1:2") == 0, "2-byte lengths");
    ok(strcmp(nal_list(frame1, sizeof(frame1), 1, buf, sizeof(buf)),
              "1:1 5:3") == 0, "1-byte lengths");
    ok(strcmp(nal_list(frame4, 0, 4, buf, sizeof(buf)), "") == 0,
       "an empty frame has no units");
    ok(strcmp(nal_list((const uint8_t *) "\0\0\0\0\0\0\0\0", 8, 4, buf,
                       sizeof(buf)), "") == 0,
       "only empty units: none returned");

    ok(strcmp(nal_list(frame4, sizeof(frame4) - 1, 4, buf, sizeof(buf)),
              "error") == 0, "a length past the end of the frame is refused");
    ok(strcmp(nal_list(frame4, 3, 4, buf, sizeof(buf)), "error") == 0,
       "a length field cut short is refused");
    ok(strcmp(nal_list(frame2, 6, 2, buf, sizeof(buf)), "error") == 0,
       "2-byte lengths: the last unit cut short is refused");
    ok(strcmp(nal_list(frame1, 5, 1, buf, sizeof(buf)), "error") == 0,
       "1-byte lengths: the last unit cut short is refused");
    ok(strcmp(nal_list((const uint8_t *) "\x7f\xff\xff\xff\x65", 5, 4, buf,
                       sizeof(buf)), "error") == 0
       && strcmp(nal_list((const uint8_t *) "\xff\xff\xff\xff\x65", 5, 4,
                          buf, sizeof(buf)), "error") == 0,
       "huge lengths are refused without overflow");
    ok(strcmp(nal_list(frame4, sizeof(frame4), 3, buf, sizeof(buf)),
              "error") == 0
       && strcmp(nal_list(frame4, sizeof(frame4), 0, buf, sizeof(buf)),
                 "error") == 0, "a length size of 3 or 0 is refused");
}


static void
test_aac(void)
{
    uint8_t               adts[7];
    const char           *err = NULL;
    ngx_ams_aac_config_t  cfg;

    ok(ngx_ams_aac_parse_config((const uint8_t *) "\x12\x10", 2, &cfg, &err)
       == 0 && cfg.object_type == 2 && cfg.sample_rate == 44100
       && cfg.channels == 2, "AAC-LC 44.1 kHz stereo");

    ngx_ams_aac_adts_header(&cfg, 100, adts);
    ok(adts[0] == 0xff && (adts[1] & 0xf0) == 0xf0, "ADTS sync word");
    ok((((adts[3] & 3) << 11) | (adts[4] << 3) | (adts[5] >> 5)) == 107,
       "ADTS frame length counts the header");

    ok(ngx_ams_aac_parse_config((const uint8_t *) "\x17\x90", 2, &cfg, &err)
       == -1, "sampling index 15 refused");
    ok(ngx_ams_aac_parse_config((const uint8_t *) "\x12", 1, &cfg, &err)
       == -1, "one byte refused");
    ok(ngx_ams_aac_parse_config((const uint8_t *) "\x12\x00", 2, &cfg, &err)
       == -1, "channel configuration 0 refused");
}


static void
test_ts(void)
{
    int               good, n;
    size_t            i, len;
    uint8_t           avcc[128], frame[3000], cc[8192];
    uint16_t          pid;
    const char       *err = NULL;
    ngx_ams_ts_mux_t  mux;

    memset(cc, 0xff, sizeof(cc));
    ngx_ams_ts_mux_init(&mux);

    len = make_avcc(avcc, sps_720, sizeof(sps_720));
    ok(ngx_ams_ts_mux_video_config(&mux, avcc, len, &err) == 0
       && ngx_ams_ts_mux_audio_config(&mux, (const uint8_t *) "\x12\x10", 2,
                                      &err) == 0, "configs accepted");

    ok(ngx_ams_ts_mux_tables(&mux) == 0 && mux.out.len == 2 * 188,
       "PAT and PMT are a packet each");

    /* one 2500-byte NAL unit per frame */
    memset(frame, 0x41, sizeof(frame));
    frame[0] = 0; frame[1] = 0; frame[2] = 0x09; frame[3] = 0xc4;
    frame[4] = 0x65;

    for (n = 0; n < 10; n++) {
        if (ngx_ams_ts_mux_video(&mux, n * 3000, 0, n == 0, frame, 2504,
                                 &err) != 0
            || ngx_ams_ts_mux_audio(&mux, n * 2089, frame + 4, 300) != 0)
        {
            break;
        }
    }
    ok(n == 10, "ten video and audio frames muxed");
    ok(mux.out.len % 188 == 0, "output is whole packets");

    good = 1;
    for (i = 0; i < mux.out.len; i += 188) {
        pid = ((mux.out.data[i + 1] & 0x1f) << 8) | mux.out.data[i + 2];

        if (mux.out.data[i] != 0x47) {
            good = 0;
        }

        if (cc[pid] != 0xff && ((cc[pid] + 1) & 0xf)
                               != (mux.out.data[i + 3] & 0xf))
        {
            good = 0;
        }

        cc[pid] = mux.out.data[i + 3] & 0xf;
    }
    ok(good, "sync bytes and continuity counters are right");

    ok(ngx_ams_ts_mux_video(&mux, 0, 0, 0, (const uint8_t *)
                            "\0\0\xff\xff\x65", 5, &err) == -1,
       "a NAL length past the frame is refused");

    ok(ngx_ams_ts_mux_video(&mux, 0, 0, 0, (const uint8_t *)
                            "\0\0\0\x01\x65\0\0", 7, &err) == -1,
       "a NAL length field cut short is refused");

    /* PES: 19-byte header, our AUD, then the one slice in Annex B */
    ok(ngx_ams_ts_mux_video(&mux, 0, 0, 0, (const uint8_t *)
                            "\0\0\0\x02\x09\xf0\0\0\0\0"
                            "\0\0\0\x02\x41\x9a", 16, &err) == 0
       && mux.pes.len == 19 + 6 + 6
       && memcmp(mux.pes.data + 19, "\0\0\0\x01\x09\xf0"
                                    "\0\0\0\x01\x41\x9a", 12) == 0,
       "the frame's own AUD and empty units are dropped");

    ngx_ams_ts_mux_free(&mux);
}


int
main(void)
{
    test_avc();
    test_nal();
    test_aac();
    test_ts();

    return done_testing();
}
