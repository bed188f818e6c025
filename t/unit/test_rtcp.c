
/*
 * Copyright (C) nginx-ams authors
 *
 * RTCP: what we write reads back the same; the packets Chromium sends
 * (written here byte by byte from the RFC 3550/4585/5104 and REMB draft
 * layouts) read as they mean; a compound packet is walked item by item;
 * malformed lengths stop the walk with what came before kept.
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_rtcp.h"


static int
ngx_ams_test_next(const uint8_t *p, size_t len, ngx_ams_rtcp_item_t *item)
{
    ngx_ams_rtcp_iter_t  it;

    ngx_ams_rtcp_iter_init(&it, p, len);

    return ngx_ams_rtcp_next(&it, item);
}


static void
test_sr_rr(void)
{
    size_t                 n;
    uint8_t                p[1500];
    ngx_ams_rtcp_item_t    item;
    ngx_ams_rtcp_report_t  r[32];

    n = ngx_ams_rtcp_write_sr(p, sizeof(p), 0x11223344,
                              0xe1234567890abcdeULL, 900000, 1000, 123456);
    is_int(n, 28, "an SR without reports is 28 bytes");
    ok(p[0] == 0x80 && p[1] == 200 && p[2] == 0 && p[3] == 6,
       "V=2 RC=0 PT=200 length 6");
    ok(ngx_ams_rtcp_write_sr(p, 27, 1, 2, 3, 4, 5) == 0,
       "not into 27 bytes");

    is_int(ngx_ams_test_next(p, n, &item), 1, "SR reads back");
    is_int(item.type, NGX_AMS_RTCP_SR, "as an SR");
    ok(item.sender_ssrc == 0x11223344, "sender");
    ok(item.ntp == 0xe1234567890abcdeULL, "NTP time");
    ok(item.rtp_ts == 900000 && item.packets == 1000
       && item.octets == 123456, "RTP time and counts");
    is_int(item.nreports, 0, "no reports");

    memset(r, 0, sizeof(r));
    r[0].ssrc = 0xaaaa;
    r[0].fraction_lost = 25;
    r[0].cumulative_lost = 1234;
    r[0].highest_seq = 0x1fffe;
    r[0].jitter = 77;
    r[0].lsr = 0x45678901;
    r[0].dlsr = 65536;
    r[1].ssrc = 0xbbbb;
    r[1].cumulative_lost = -3;

    n = ngx_ams_rtcp_write_rr(p, sizeof(p), 0x55, r, 2);
    is_int(n, 8 + 48, "an RR with 2 blocks");
    ok(p[0] == 0x82 && p[1] == 201 && p[3] == 13, "RC=2 PT=201 length 13");

    is_int(ngx_ams_test_next(p, n, &item), 1, "RR reads back");
    is_int(item.type, NGX_AMS_RTCP_RR, "as an RR");
    is_int(item.nreports, 2, "2 reports");
    ok(item.report[0].ssrc == 0xaaaa && item.report[0].fraction_lost == 25
       && item.report[0].cumulative_lost == 1234
       && item.report[0].highest_seq == 0x1fffe
       && item.report[0].jitter == 77 && item.report[0].lsr == 0x45678901
       && item.report[0].dlsr == 65536, "the first block's fields");
    is_int(item.report[1].cumulative_lost, -3, "a negative loss (24 bits)");

    r[0].cumulative_lost = 0x7fffffff;
    r[1].cumulative_lost = -0x7fffffff;
    n = ngx_ams_rtcp_write_rr(p, sizeof(p), 0x55, r, 2);
    (void) ngx_ams_test_next(p, n, &item);
    is_int(item.report[0].cumulative_lost, 0x7fffff, "clamped high");
    is_int(item.report[1].cumulative_lost, -0x800000, "clamped low");

    ok(ngx_ams_rtcp_write_rr(p, sizeof(p), 1, r, 32) == 0,
       "32 reports cannot be written");
    ok(ngx_ams_rtcp_write_rr(p, 8 + 24, 1, r, 2) == 0, "nor past cap");
    is_int(ngx_ams_rtcp_write_rr(p, 8, 1, r, 0), 8, "an empty RR: 8 bytes");

    n = ngx_ams_rtcp_write_rr(p, sizeof(p), 0x55, r, 31);
    is_int(ngx_ams_test_next(p, n, &item), 1, "31 reports read");
    is_int(item.nreports, 31, "all of them");
}


static void
test_sdes_bye(void)
{
    size_t               n;
    uint8_t              p[400];
    char                 name[300];
    ngx_ams_rtcp_item_t  item;

    static const uint8_t  want[] = {
        0x81, 0xca, 0x00, 0x03, 0x01, 0x02, 0x03, 0x04,
        0x01, 0x03, 'a', 'b', 'c', 0x00, 0x00, 0x00
    };

    /* two chunks, the second with two items; then a BYE with a reason */
    static const uint8_t  sdes2[] = {
        0x82, 0xca, 0x00, 0x06,
        0, 0, 0, 1, 0x01, 0x02, 'x', 'y', 0x00, 0x00, 0x00, 0x00,
        0, 0, 0, 2, 0x01, 0x01, 'z', 0x06, 0x01, 'q', 0x00, 0x00,
        0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 9, 3, 'b', 'y', 'e'
    };

    n = ngx_ams_rtcp_write_sdes_cname(p, sizeof(p), 0x01020304, "abc");
    ok(n == sizeof(want) && memcmp(p, want, n) == 0,
       "SDES CNAME: the bytes of RFC 3550 6.5");
    is_int(ngx_ams_test_next(p, n, &item), 1, "reads back");
    ok(item.type == NGX_AMS_RTCP_SDES && item.sender_ssrc == 0x01020304,
       "SDES, its SSRC");

    n = ngx_ams_rtcp_write_sdes_cname(p, sizeof(p), 1, "abcdef");
    is_int(n, 20, "a 6-byte CNAME takes another word for its end");
    is_int(ngx_ams_test_next(p, n, &item), 1, "reads back");

    memset(name, 'n', 255);
    name[255] = '\0';
    n = ngx_ams_rtcp_write_sdes_cname(p, sizeof(p), 1, name);
    is_int(n, 4 + 264, "255-byte CNAME");
    is_int(ngx_ams_test_next(p, n, &item), 1, "reads back");
    name[255] = 'n';
    name[256] = '\0';
    ok(ngx_ams_rtcp_write_sdes_cname(p, sizeof(p), 1, name) == 0,
       "256 bytes cannot be written");
    ok(ngx_ams_rtcp_write_sdes_cname(p, 15, 1, "abc") == 0, "nor past cap");

    {
        ngx_ams_rtcp_iter_t  it;

        ngx_ams_rtcp_iter_init(&it, sdes2, sizeof(sdes2));
        ok(ngx_ams_rtcp_next(&it, &item) == 1
           && item.type == NGX_AMS_RTCP_SDES && item.fmt == 2
           && item.sender_ssrc == 1, "two SDES chunks");
        ok(ngx_ams_rtcp_next(&it, &item) == 1
           && item.type == NGX_AMS_RTCP_BYE && item.sender_ssrc == 9,
           "then a BYE with a reason");
        is_int(ngx_ams_rtcp_next(&it, &item), 0, "then the end");
    }

    {
        uint8_t  bad[sizeof(sdes2)];

        memcpy(bad, sdes2, sizeof(sdes2));
        bad[26] = 'r';      /* the second chunk's list never ends */
        is_int(ngx_ams_test_next(bad, 28, &item), -1,
               "SDES chunk without its end: refused");

        memcpy(bad, sdes2, sizeof(sdes2));
        bad[24] = 9;        /* an item past the packet */
        is_int(ngx_ams_test_next(bad, 28, &item), -1,
               "SDES item past the end: refused");

        memcpy(bad, sdes2, sizeof(sdes2));
        bad[0] = 0x83;      /* a third chunk that is not there */
        is_int(ngx_ams_test_next(bad, 28, &item), -1,
               "SDES count past its chunks: refused");

        memcpy(bad, sdes2, sizeof(sdes2));
        bad[36] = 4;        /* BYE reason longer than the packet */
        is_int(ngx_ams_test_next(bad + 28, 12, &item), -1,
               "BYE reason past the end: refused");

        memcpy(bad, sdes2, sizeof(sdes2));
        bad[28] = 0x82;     /* BYE of 2 SSRCs in one word */
        bad[31] = 0;
        is_int(ngx_ams_test_next(bad + 28, 8, &item), -1,
               "BYE SSRCs past the end: refused");
    }
}


static void
test_nack(void)
{
    int                  same, found;
    size_t               n;
    unsigned             i, j, k;
    uint8_t              p[2000];
    uint16_t             seqs[300];
    ngx_ams_rtcp_item_t  item;

    /* Chromium's NACK: lost 100, and 101 and 103 in the BLP (bits 0, 2) */
    static const uint8_t  chrome[] = {
        0x81, 0xcd, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,
        0x12, 0x34, 0x56, 0x78, 0x00, 0x64, 0x00, 0x05
    };

    is_int(ngx_ams_test_next(chrome, sizeof(chrome), &item), 1,
           "Chromium's NACK reads");
    ok(item.type == NGX_AMS_RTCP_RTPFB && item.fmt == 1, "RTPFB, FMT 1");
    ok(item.sender_ssrc == 1 && item.media_ssrc == 0x12345678, "SSRCs");
    ok(item.nnacks == 3 && item.nack[0] == 100 && item.nack[1] == 101
       && item.nack[2] == 103, "100, 101, 103");

    /* the same, written */
    seqs[0] = 103;
    seqs[1] = 100;
    seqs[2] = 101;
    seqs[3] = 100;
    n = ngx_ams_rtcp_write_nack(p, sizeof(p), 1, 0x12345678, seqs, 4);
    ok(n == sizeof(chrome) && memcmp(p, chrome, n) == 0,
       "written from any order with a duplicate: the same bytes");

    /* across the wrap: one item */
    seqs[0] = 0;
    seqs[1] = 65535;
    seqs[2] = 1;
    seqs[3] = 65534;
    seqs[4] = 20;
    n = ngx_ams_rtcp_write_nack(p, sizeof(p), 1, 2, seqs, 5);
    is_int(n, 20, "65534..1 and 20: two items");
    ok(p[12] == 0xff && p[13] == 0xfe && p[14] == 0x00 && p[15] == 0x07,
       "PID 65534, BLP 65535, 0, 1");
    ok(p[16] == 0 && p[17] == 20 && p[18] == 0 && p[19] == 0,
       "PID 20 alone");

    is_int(ngx_ams_test_next(p, n, &item), 1, "reads back");
    ok(item.nnacks == 5 && item.nack[0] == 65534 && item.nack[1] == 65535
       && item.nack[2] == 0 && item.nack[3] == 1 && item.nack[4] == 20,
       "the BLP expands across 65535 -> 0");

    /* 18 in a row: a PID and 16 in its BLP, the 18th in its own item */
    for (i = 0; i < 18; i++) {
        seqs[i] = (uint16_t) (500 + i);
    }

    n = ngx_ams_rtcp_write_nack(p, sizeof(p), 1, 2, seqs, 17);
    ok(n == 16 && p[14] == 0xff && p[15] == 0xff, "17 in a row: one item");
    n = ngx_ams_rtcp_write_nack(p, sizeof(p), 1, 2, seqs, 18);
    ok(n == 20 && p[14] == 0xff && p[15] == 0xff && p[16] == (517 >> 8)
       && p[17] == (517 & 0xff), "18 in a row: then one more PID");

    ok(ngx_ams_rtcp_write_nack(p, 19, 1, 2, seqs, 18) == 0,
       "not past cap");
    ok(ngx_ams_rtcp_write_nack(p, sizeof(p), 1, 2, seqs, 0) == 0,
       "nothing for no sequence numbers");

    /* round trips of scattered sets */
    same = 1;

    for (k = 1; k < 40; k++) {
        unsigned  m = 0;

        for (i = 0; i < 200; i++) {
            if ((i * 7 + k) % 3 == 0) {
                seqs[m++] = (uint16_t) (65400 + i * (k % 5 + 1));
            }
        }

        n = ngx_ams_rtcp_write_nack(p, sizeof(p), 1, 2, seqs, m);

        if (ngx_ams_test_next(p, n, &item) != 1 || item.nnacks != m) {
            same = 0;
            break;
        }

        for (i = 0; i < m; i++) {
            found = 0;

            for (j = 0; j < item.nnacks; j++) {
                found = found || item.nack[j] == seqs[i];
            }

            same = same && found;
        }
    }

    ok(same, "scattered sets round trip");

    /* more than 256 expanded: the rest is left out */
    for (i = 0; i < 300; i++) {
        seqs[i] = (uint16_t) i;
    }

    n = ngx_ams_rtcp_write_nack(p, sizeof(p), 1, 2, seqs, 300);
    is_int(ngx_ams_test_next(p, n, &item), 1, "300 lost reads");
    is_int(item.nnacks, NGX_AMS_RTCP_MAX_NACKS, "256 of them kept");

    is_int(ngx_ams_test_next(chrome, 12, &item), -1, "a cut NACK: refused");

    {
        uint8_t  bad[sizeof(chrome)];

        memcpy(bad, chrome, sizeof(chrome));
        bad[3] = 2;
        is_int(ngx_ams_test_next(bad, 12, &item), -1,
               "a NACK without an FCI entry: refused");
    }
}


static void
test_psfb(void)
{
    size_t               n;
    uint8_t              p[200];
    uint32_t             ssrcs[10];
    uint64_t             b;
    ngx_ams_rtcp_item_t  item;

    static const uint8_t  pli[] = {
        0x81, 0xce, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
        0xab, 0xcd, 0xef, 0x01
    };

    static const uint8_t  fir[] = {
        0x84, 0xce, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0xab, 0xcd, 0xef, 0x01,
        0x07, 0x00, 0x00, 0x00
    };

    /* REMB as Chromium sends it: 1,000,000 b/s = 250000 << 2, one SSRC */
    static const uint8_t  remb[] = {
        0x8f, 0xce, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 'R', 'E', 'M', 'B',
        0x01, 0x0b, 0xd0, 0x90, 0xab, 0xcd, 0xef, 0x01
    };

    n = ngx_ams_rtcp_write_pli(p, sizeof(p), 1, 0xabcdef01);
    ok(n == sizeof(pli) && memcmp(p, pli, n) == 0, "PLI bytes");
    is_int(ngx_ams_test_next(pli, sizeof(pli), &item), 1, "PLI reads");
    ok(item.type == NGX_AMS_RTCP_PSFB && item.fmt == 1
       && item.sender_ssrc == 1 && item.media_ssrc == 0xabcdef01,
       "PSFB FMT 1 for the media SSRC");
    ok(ngx_ams_rtcp_write_pli(p, 11, 1, 2) == 0, "not past cap");

    n = ngx_ams_rtcp_write_fir(p, sizeof(p), 1, 0xabcdef01, 7);
    ok(n == sizeof(fir) && memcmp(p, fir, n) == 0, "FIR bytes");
    is_int(ngx_ams_test_next(fir, sizeof(fir), &item), 1, "FIR reads");
    ok(item.fmt == 4 && item.media_ssrc == 0xabcdef01 && item.fir_seq == 7,
       "FMT 4, the FCI's SSRC and sequence number");
    ok(item.nfirs == 1 && item.fir_ssrc[0] == 0xabcdef01
       && item.fir_seqs[0] == 7, "one FCI entry");
    is_int(ngx_ams_test_next(fir, 12, &item), -1, "cut FIR refused");
    {
        uint8_t  bad[sizeof(fir)];

        memcpy(bad, fir, sizeof(fir));
        bad[3] = 2;
        is_int(ngx_ams_test_next(bad, 12, &item), -1,
               "FIR without an entry refused");
    }
    ok(ngx_ams_rtcp_write_fir(p, 19, 1, 2, 3) == 0, "not past cap");

    ssrcs[0] = 0xabcdef01;
    n = ngx_ams_rtcp_write_remb(p, sizeof(p), 1, 1000000, ssrcs, 1);
    ok(n == sizeof(remb) && memcmp(p, remb, n) == 0, "REMB bytes");
    is_int(ngx_ams_test_next(remb, sizeof(remb), &item), 1, "REMB reads");
    ok(item.fmt == 15 && item.remb_bitrate == 1000000, "1 Mb/s");
    ok(item.nremb_ssrcs == 1 && item.remb_ssrc[0] == 0xabcdef01,
       "for the SSRC");

    for (b = 1; b < (1ULL << 62); b = b * 3 + 1) {
        n = ngx_ams_rtcp_write_remb(p, sizeof(p), 1, b, ssrcs, 0);

        if (ngx_ams_test_next(p, n, &item) != 1 || item.remb_bitrate > b
            || item.remb_bitrate < b - (b >> 17))
        {
            break;
        }
    }

    ok(b >= (1ULL << 62), "bitrates round trip to 18 bits, rounded down");

    n = ngx_ams_rtcp_write_remb(p, sizeof(p), 1, UINT64_MAX, ssrcs, 0);
    ok(ngx_ams_test_next(p, n, &item) == 1
       && item.remb_bitrate == 0x3ffffULL << 46, "the largest bitrate");

    for (n = 0; n < 10; n++) {
        ssrcs[n] = (uint32_t) n + 100;
    }

    n = ngx_ams_rtcp_write_remb(p, sizeof(p), 1, 5000, ssrcs, 10);
    is_int(n, 60, "REMB of 10 SSRCs");
    ok(ngx_ams_test_next(p, n, &item) == 1 && item.nremb_ssrcs == 8
       && item.remb_ssrc[7] == 107 && item.remb_bitrate == 5000,
       "the first 8 kept");
    ok(ngx_ams_rtcp_write_remb(p, 59, 1, 5000, ssrcs, 10) == 0,
       "not past cap");

    {
        uint8_t  bad[sizeof(remb)];

        memcpy(bad, remb, sizeof(remb));
        bad[16] = 2;        /* 2 SSRCs, one there */
        is_int(ngx_ams_test_next(bad, sizeof(bad), &item), -1,
               "REMB SSRC list past the end: refused");

        memcpy(bad, remb, sizeof(remb));
        bad[17] = 0xfc | 0x03;  /* exponent 63, mantissa past 1 */
        is_int(ngx_ams_test_next(bad, sizeof(bad), &item), -1,
               "REMB past 64 bits: refused");

        memcpy(bad, remb, sizeof(remb));
        bad[12] = 'X';
        ok(ngx_ams_test_next(bad, sizeof(bad), &item) == 1
           && item.fmt == 15 && item.remb_bitrate == 0,
           "other application feedback: recognised, not read");
    }
}


static void
test_compound(void)
{
    size_t               n, m;
    uint8_t              p[1500];
    ngx_ams_rtcp_item_t  item;
    ngx_ams_rtcp_iter_t  it;

    /* TWCC as libwebrtc pads it: base 1, 3 statuses, a run-length chunk,
     * three small deltas, 3 bytes of padding (P bit, count last) */
    static const uint8_t  twcc[] = {
        0xaf, 0xcd, 0x00, 0x06, 0x00, 0x00, 0x00, 0x01,
        0xab, 0xcd, 0xef, 0x01, 0x00, 0x01, 0x00, 0x03,
        0x00, 0x00, 0x01, 0x00, 0x20, 0x03, 0x04, 0x04,
        0x04, 0x00, 0x00, 0x03
    };

    /* an RR, then SDES, then a REMB: what Chromium sends as a receiver */
    n = ngx_ams_rtcp_write_rr(p, sizeof(p), 7, NULL, 0);
    n += ngx_ams_rtcp_write_sdes_cname(p + n, sizeof(p) - n, 7, "cname");
    n += ngx_ams_rtcp_write_remb(p + n, sizeof(p) - n, 7, 300000, NULL, 0);
    n += ngx_ams_rtcp_write_pli(p + n, sizeof(p) - n, 7, 9);
    memcpy(p + n, twcc, sizeof(twcc));
    n += sizeof(twcc);

    ngx_ams_rtcp_iter_init(&it, p, n);
    ok(ngx_ams_rtcp_next(&it, &item) == 1 && item.type == 201
       && item.sender_ssrc == 7, "compound: RR");
    ok(ngx_ams_rtcp_next(&it, &item) == 1 && item.type == 202, "SDES");
    ok(ngx_ams_rtcp_next(&it, &item) == 1 && item.type == 206
       && item.fmt == 15 && item.remb_bitrate == 300000, "REMB");
    ok(ngx_ams_rtcp_next(&it, &item) == 1 && item.type == 206
       && item.fmt == 1 && item.media_ssrc == 9, "PLI");
    ok(ngx_ams_rtcp_next(&it, &item) == 1 && item.type == 205
       && item.fmt == 15 && item.media_ssrc == 0xabcdef01
       && item.nnacks == 0, "TWCC recognised");
    is_int(ngx_ams_rtcp_next(&it, &item), 0, "the end");
    is_int(ngx_ams_rtcp_next(&it, &item), 0, "still the end");

    /* cut in the last item: the ones before still read */
    ngx_ams_rtcp_iter_init(&it, p, n - 1);

    for (m = 0; ngx_ams_rtcp_next(&it, &item) == 1; m++) { /* void */ }

    is_int(m, 4, "cut compound: 4 items before the cut one");
    is_int(ngx_ams_rtcp_next(&it, &item), 0, "then nothing more");

    ngx_ams_rtcp_iter_init(&it, p, 0);
    is_int(ngx_ams_rtcp_next(&it, &item), 0, "empty: the end");

    /* a version 1 item second */
    p[8] = 0x41;
    ngx_ams_rtcp_iter_init(&it, p, n);
    ok(ngx_ams_rtcp_next(&it, &item) == 1, "RR");
    is_int(ngx_ams_rtcp_next(&it, &item), -1, "then version 1: refused");
    is_int(ngx_ams_rtcp_next(&it, &item), 0, "and the walk stopped");
    p[8] = 0x81;

    {
        uint8_t  bad[sizeof(twcc)];

        memcpy(bad, twcc, sizeof(twcc));
        bad[27] = 0;
        is_int(ngx_ams_test_next(bad, sizeof(bad), &item), -1,
               "padding count 0: refused");
        bad[27] = 25;
        is_int(ngx_ams_test_next(bad, sizeof(bad), &item), -1,
               "padding past the body: refused");
        bad[27] = 24;
        is_int(ngx_ams_test_next(bad, sizeof(bad), &item), -1,
               "padding leaving a TWCC too short: refused");

        memcpy(bad, twcc, sizeof(twcc));
        bad[3] = 7;
        is_int(ngx_ams_test_next(bad, sizeof(bad), &item), -1,
               "length past the end: refused");

        memcpy(bad, twcc, sizeof(twcc));
        bad[1] = 100;
        is_int(ngx_ams_test_next(bad, sizeof(bad), &item), -1,
               "payload type 100 is not RTCP: refused");

        is_int(ngx_ams_test_next(twcc, 3, &item), -1,
               "3 bytes: refused");
    }

    {
        /* SR claiming a report block it lacks; RR too short */
        static const uint8_t  sr[] = {
            0x81, 0xc8, 0x00, 0x06, 0, 0, 0, 1,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0
        };
        static const uint8_t  rr[] = { 0x80, 0xc9, 0x00, 0x00 };
        static const uint8_t  xr[] = {
            0x80, 0xcf, 0x00, 0x02, 0, 0, 0, 5, 4, 0, 0, 0
        };
        static const uint8_t  app[] = {
            0x80, 0xcc, 0x00, 0x01, 0, 0, 0, 5
        };

        is_int(ngx_ams_test_next(sr, sizeof(sr), &item), -1,
               "SR with RC=1 and no block: refused");
        is_int(ngx_ams_test_next(sr, 24, &item), -1, "cut SR refused");
        is_int(ngx_ams_test_next(rr, sizeof(rr), &item), -1,
               "RR without its SSRC: refused");
        ok(ngx_ams_test_next(xr, sizeof(xr), &item) == 1 && item.type == 207
           && item.sender_ssrc == 5, "XR returned with its SSRC");
        is_int(ngx_ams_test_next(app, sizeof(app), &item), -1,
               "APP without its name: refused");
    }
}


static void
test_misc(void)
{
    uint64_t  t;

    static const uint8_t  rtp[] = { 0x80, 0xe0 };    /* PT 96, marker */
    static const uint8_t  rtp2[] = { 0x80, 0x6f };   /* PT 111 */
    static const uint8_t  sr[] = { 0x80, 200 };
    static const uint8_t  psfb[] = { 0x81, 206 };

    t = ngx_ams_rtcp_ntp(0);
    ok(t == 2208988800ULL << 32, "the Unix epoch in NTP");
    t = ngx_ams_rtcp_ntp(1500000);
    ok(t == ((2208988800ULL + 1) << 32 | 0x80000000), "1.5 s");
    t = ngx_ams_rtcp_ntp(1764547200ULL * 1000000 + 250000);
    ok(t >> 32 == 1764547200ULL + 2208988800ULL
       && (uint32_t) t == 0x40000000, "2025-12-01 + 0.25 s");
    ok(ngx_ams_rtcp_ntp_mid(0x1122334455667788ULL) == 0x33445566,
       "the middle 32 bits");

    ok(!ngx_ams_rtcp_is_rtcp(rtp, 2) && !ngx_ams_rtcp_is_rtcp(rtp2, 2),
       "RTP is not RTCP");
    ok(ngx_ams_rtcp_is_rtcp(sr, 2) && ngx_ams_rtcp_is_rtcp(psfb, 2),
       "SR and PSFB are");
    ok(!ngx_ams_rtcp_is_rtcp(sr, 1), "one byte is neither");
}


int
main(void)
{
    test_sr_rr();
    test_sdes_bye();
    test_nack();
    test_psfb();
    test_compound();
    test_misc();

    return done_testing();
}
