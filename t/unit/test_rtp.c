
/*
 * Copyright (C) nginx-ams authors
 *
 * RTP packets: the fixed header, CSRCs, one- and two-byte header
 * extensions as browsers send them, padding (Chromium's probes are all
 * padding), malformed lengths refused, sequence numbers across 65535,
 * and the retransmission history.
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_rtp.h"


static void
test_parse(void)
{
    ngx_ams_rtp_header_t  h;

    /* V=2, M=1 PT=96, seq 0x1234, ts 0xdeadbeef, ssrc 0x01020304 */
    static const uint8_t  pkt[] = {
        0x80, 0xe0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef,
        0x01, 0x02, 0x03, 0x04, 'a', 'b', 'c'
    };

    /* CC=2 */
    static const uint8_t  csrc[] = {
        0x82, 0x6f, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 2,
        0, 0, 0, 3, 0, 0, 0, 4, 'x'
    };

    ok(ngx_ams_rtp_parse(pkt, sizeof(pkt), &h) == 0, "a packet parses");
    is_int(h.version, 2, "version");
    is_int(h.marker, 1, "marker");
    is_int(h.pt, 96, "payload type");
    is_int(h.seq, 0x1234, "sequence number");
    ok(h.ts == 0xdeadbeef, "timestamp");
    ok(h.ssrc == 0x01020304, "ssrc");
    is_int(h.header_len, 12, "12-byte header");
    ok(h.payload == pkt + 12 && h.payload_len == 3, "payload after it");
    ok(h.ext == NULL && !h.extension && !h.padding, "no extension");

    ok(ngx_ams_rtp_parse(csrc, sizeof(csrc), &h) == 0, "CSRCs parse");
    is_int(h.csrc_count, 2, "two of them");
    is_int(h.header_len, 20, "header past them");
    is_int(h.payload_len, 1, "payload after them");
    is_int(h.marker, 0, "no marker");
    is_int(h.pt, 111, "pt 111");

    ok(ngx_ams_rtp_parse(csrc, 19, &h) == -1, "CSRCs past the end: refused");
    ok(ngx_ams_rtp_parse(csrc, 20, &h) == 0, "empty payload: fine");
    ok(ngx_ams_rtp_parse(pkt, 11, &h) == -1, "11 bytes: refused");
    ok(ngx_ams_rtp_parse(pkt, 0, &h) == -1, "0 bytes: refused");

    {
        uint8_t  v1[sizeof(pkt)];

        memcpy(v1, pkt, sizeof(pkt));
        v1[0] = 0x40;
        ok(ngx_ams_rtp_parse(v1, sizeof(v1), &h) == -1,
           "version 1: refused");
        v1[0] = 0xc0;
        ok(ngx_ams_rtp_parse(v1, sizeof(v1), &h) == -1,
           "version 3: refused");
    }
}


static void
test_padding(void)
{
    uint8_t               p[300];
    ngx_ams_rtp_header_t  h;

    memset(p, 0, sizeof(p));
    ngx_ams_rtp_write_header(p, 96, 0, 1, 2, 3, NULL, 0);
    p[0] |= 0x20;

    /* 10 bytes of payload, 4 of padding */
    p[12 + 10 + 3] = 4;
    ok(ngx_ams_rtp_parse(p, 26, &h) == 0, "padded packet parses");
    is_int(h.padding, 1, "padding bit");
    is_int(h.payload_len, 10, "payload without the padding");

    /* Chromium's bandwidth probes: padding only, up to 255 bytes */
    p[12 + 254] = 255;
    ok(ngx_ams_rtp_parse(p, 12 + 255, &h) == 0, "all-padding packet parses");
    is_int(h.payload_len, 0, "with an empty payload");

    p[12 + 9] = 11;
    ok(ngx_ams_rtp_parse(p, 12 + 10, &h) == -1,
       "padding longer than the payload: refused");

    p[12 + 9] = 0;
    ok(ngx_ams_rtp_parse(p, 12 + 10, &h) == -1, "padding count 0: refused");

    ok(ngx_ams_rtp_parse(p, 12, &h) == -1,
       "padding bit with no byte for the count: refused");
}


static void
test_extensions(void)
{
    size_t                n, hl, len;
    uint8_t               ext[64], p[128];
    const uint8_t        *d;
    ngx_ams_rtp_header_t  h;

    static const uint8_t  ast[3] = { 0x12, 0x34, 0x56 };
    static const uint8_t  twcc[2] = { 0xff, 0xfe };
    static const uint8_t  big[17] = { 0 };

    /* abs-send-time (id 3, 3 bytes) and transport-cc (id 5, 2 bytes),
     * as Chromium puts them: 1 + 3 + 1 + 2 = 7, padded to 8 */
    n = ngx_ams_rtp_ext_put(ext, 3, ast, 3);
    is_int(n, 4, "an element is its byte and its data");
    n += ngx_ams_rtp_ext_put(ext + n, 5, twcc, 2);
    is_int(n, 7, "two elements");

    ok(ngx_ams_rtp_ext_put(ext, 0, ast, 1) == 0, "id 0 cannot be written");
    ok(ngx_ams_rtp_ext_put(ext, 15, ast, 1) == 0, "nor id 15");
    ok(ngx_ams_rtp_ext_put(ext, 1, big, 17) == 0, "nor 17 bytes");
    ok(ngx_ams_rtp_ext_put(ext, 1, big, 0) == 0, "nor 0 bytes");

    hl = ngx_ams_rtp_write_header(p, 96, 1, 65535, 90000, 0xcafe, ext, n);
    is_int(hl, 12 + 4 + 8, "header with the block padded to 8");
    ok(p[0] == 0x90 && p[1] == 0xe0, "X bit and marker set");
    ok(p[12] == 0xbe && p[13] == 0xde && p[14] == 0 && p[15] == 2,
       "0xBEDE, 2 words");
    ok(p[12 + 4 + 7] == 0, "padded with a 0");

    memcpy(p + hl, "payload", 7);

    ok(ngx_ams_rtp_parse(p, hl + 7, &h) == 0, "round trip parses");
    is_int(h.seq, 65535, "seq");
    ok(h.ts == 90000 && h.ssrc == 0xcafe, "ts, ssrc");
    ok(h.ext_profile == 0xbede && h.ext_len == 8, "the block");
    ok(h.payload_len == 7 && memcmp(h.payload, "payload", 7) == 0,
       "payload after the block");

    ok(ngx_ams_rtp_ext_find(&h, 3, &d, &len) == 1 && len == 3
       && memcmp(d, ast, 3) == 0, "abs-send-time found");
    ok(ngx_ams_rtp_ext_find(&h, 5, &d, &len) == 1 && len == 2
       && memcmp(d, twcc, 2) == 0, "transport-cc found");
    ok(ngx_ams_rtp_ext_find(&h, 4, &d, &len) == 0, "id 4 absent");
    ok(ngx_ams_rtp_ext_find(&h, 0, &d, &len) == 0, "id 0 never found");

    /* a block claiming more words than the packet has */
    p[15] = 3;
    ok(ngx_ams_rtp_parse(p, hl, &h) == -1, "block past the end: refused");
    p[15] = 2;
    ok(ngx_ams_rtp_parse(p, 15, &h) == -1, "block header cut: refused");

    /* an element whose length runs past the block */
    {
        static const uint8_t  bad[] = {
            0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
            0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x2f, 0xbb
        };

        ok(ngx_ams_rtp_parse(bad, sizeof(bad), &h) == 0,
           "a block with a bad element still parses as RTP");
        ok(ngx_ams_rtp_ext_find(&h, 1, &d, &len) == 1 && len == 1
           && d[0] == 0xaa, "the element before it is found");
        ok(ngx_ams_rtp_ext_find(&h, 2, &d, &len) == 0,
           "the one running past the block is not");
    }

    /* padding bytes between elements, and id 15 ending the block */
    {
        static const uint8_t  pad[] = {
            0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
            0xbe, 0xde, 0x00, 0x02, 0x00, 0x00, 0x21, 0x01,
            0x02, 0xf0, 0x31, 0x05
        };

        ok(ngx_ams_rtp_parse(pad, sizeof(pad), &h) == 0, "parses");
        ok(ngx_ams_rtp_ext_find(&h, 2, &d, &len) == 1 && len == 2
           && d[0] == 1 && d[1] == 2, "element after padding bytes");
        ok(ngx_ams_rtp_ext_find(&h, 3, &d, &len) == 0,
           "nothing read after id 15");
    }

    /* the two-byte form (0x100 + appbits), 0-length elements allowed */
    {
        static const uint8_t  two[] = {
            0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
            0x10, 0x05, 0x00, 0x03,
            0x05, 0x00,                         /* id 5, empty */
            0x00,                               /* padding */
            0x14, 0x03, 'm', 'i', 'd',          /* id 20, "mid" */
            0xff, 0x02, 0x01, 0x02,             /* id 255 */
            'P'
        };

        ok(ngx_ams_rtp_parse(two, sizeof(two), &h) == 0,
           "two-byte block parses");
        ok(h.ext_profile == 0x1005 && h.ext_len == 12, "its profile");
        is_int(h.payload_len, 1, "payload after it");
        ok(ngx_ams_rtp_ext_find(&h, 5, &d, &len) == 1 && len == 0,
           "empty element found");
        ok(ngx_ams_rtp_ext_find(&h, 20, &d, &len) == 1 && len == 3
           && memcmp(d, "mid", 3) == 0, "id 20 found (past 14)");
        ok(ngx_ams_rtp_ext_find(&h, 255, &d, &len) == 1 && len == 2
           && d[1] == 2, "id 255 found");
        ok(ngx_ams_rtp_ext_find(&h, 6, &d, &len) == 0, "id 6 absent");
    }

    /* a profile RFC 8285 does not define */
    {
        static const uint8_t  other[] = {
            0x90, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1,
            0x12, 0x34, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00
        };

        ok(ngx_ams_rtp_parse(other, sizeof(other), &h) == 0,
           "unknown profile parses");
        ok(ngx_ams_rtp_ext_find(&h, 1, &d, &len) == 0,
           "its elements are not read");
    }
}


static void
test_seq(void)
{
    int                    i, mono;
    uint64_t               e, prev;
    ngx_ams_rtp_seq_ext_t  x;

    is_int(ngx_ams_rtp_seq_diff(0, 65535), 1, "0 follows 65535");
    is_int(ngx_ams_rtp_seq_diff(65535, 0), -1, "65535 precedes 0");
    is_int(ngx_ams_rtp_seq_diff(100, 50), 50, "100 - 50");
    is_int(ngx_ams_rtp_seq_diff(50, 100), -50, "50 - 100");
    is_int(ngx_ams_rtp_seq_diff(5, 5), 0, "equal");
    is_int(ngx_ams_rtp_seq_diff(32767, 0), 32767, "half way ahead");
    is_int(ngx_ams_rtp_seq_diff(32768, 0), -32768, "half way: behind");

    memset(&x, 0, sizeof(x));

    e = ngx_ams_rtp_seq_extend(&x, 65530);
    is_int(e, 65530, "the first is in cycle 0");

    mono = 1;
    prev = e;

    for (i = 65531; i < 65536 + 10; i++) {
        e = ngx_ams_rtp_seq_extend(&x, (uint16_t) i);
        mono = mono && e == prev + 1;
        prev = e;
    }

    ok(mono, "extended numbers rise by one across 65535 -> 0");
    is_int(x.highest, 65536 + 9, "highest in cycle 1");
    is_int(ngx_ams_rtp_seq_extend(&x, 65534), 65534,
           "a late packet from before the wrap keeps cycle 0");
    is_int(x.highest, 65536 + 9, "and leaves the highest");
    is_int(ngx_ams_rtp_seq_extend(&x, 9), 65536 + 9, "a duplicate");
    is_int(ngx_ams_rtp_seq_extend(&x, 30000), 65536 + 30000,
           "a jump forward");

    /* forward by big steps, many cycles */
    for (i = 0; i < 10; i++) {
        (void) ngx_ams_rtp_seq_extend(&x, (uint16_t) (30000 + 30000 * i));
    }

    ok(x.highest == 65536 + 30000 + 9 * 30000ULL, "many cycles counted");

    memset(&x, 0, sizeof(x));
    (void) ngx_ams_rtp_seq_extend(&x, 2);
    e = ngx_ams_rtp_seq_extend(&x, 65534);
    ok((int64_t) e == -2, "a packet from before the first, across a wrap,"
       " is below zero");
    is_int(x.highest, 2, "and leaves the highest");
}


static void
test_history(void)
{
    int                     i, all;
    size_t                  len;
    uint8_t                 pkt[NGX_AMS_RTP_MAX_PACKET + 1];
    const uint8_t          *got;
    ngx_ams_rtp_history_t  *hi;

    ok(ngx_ams_rtp_history_create(0) == NULL, "0 slots refused");
    ok(ngx_ams_rtp_history_create(100) == NULL, "100 slots refused");
    ok(ngx_ams_rtp_history_create(131072) == NULL, "past 65536 refused");

    hi = ngx_ams_rtp_history_create(64);
    ok(hi != NULL, "64 slots");

    ok(ngx_ams_rtp_history_get(hi, 0, &len) == NULL, "empty: nothing");

    /* 100 packets across the wrap: 65500 .. 65535, 0 .. 63 */
    for (i = 0; i < 100; i++) {
        memset(pkt, i, 200);
        ngx_ams_rtp_history_put(hi, (uint16_t) (65500 + i), pkt, 100 + i);
    }

    all = 1;

    for (i = 36; i < 100; i++) {
        got = ngx_ams_rtp_history_get(hi, (uint16_t) (65500 + i), &len);
        all = all && got != NULL && len == (size_t) (100 + i)
              && got[0] == i && got[len - 1] == i;
    }

    ok(all, "the last 64 are held, bytes and length");

    ok(ngx_ams_rtp_history_get(hi, 65535, &len) == NULL,
       "an overwritten one is gone");
    ok(ngx_ams_rtp_history_get(hi, 65500, &len) == NULL,
       "the oldest is gone");
    ok(ngx_ams_rtp_history_get(hi, 64, &len) == NULL,
       "one never sent is not there");

    memset(pkt, 7, sizeof(pkt));
    ngx_ams_rtp_history_put(hi, 63 + 64, pkt, sizeof(pkt));
    ok(ngx_ams_rtp_history_get(hi, 63 + 64, &len) == NULL,
       "one past the size is not kept");
    ok(ngx_ams_rtp_history_get(hi, 63, &len) == NULL,
       "and the older one of its slot is not answered for it");

    ngx_ams_rtp_history_put(hi, 1000, pkt, NGX_AMS_RTP_MAX_PACKET);
    got = ngx_ams_rtp_history_get(hi, 1000, &len);
    ok(got != NULL && len == NGX_AMS_RTP_MAX_PACKET && got[len - 1] == 7,
       "a full-size one is kept");

    ngx_ams_rtp_history_free(hi);
    ngx_ams_rtp_history_free(NULL);

    hi = ngx_ams_rtp_history_create(65536);
    ok(hi != NULL, "65536 slots");
    ngx_ams_rtp_history_put(hi, 65535, pkt, 10);
    ngx_ams_rtp_history_put(hi, 0, pkt, 20);
    ok(ngx_ams_rtp_history_get(hi, 65535, &len) != NULL && len == 10
       && ngx_ams_rtp_history_get(hi, 0, &len) != NULL && len == 20,
       "every sequence number its own slot");
    ngx_ams_rtp_history_free(hi);
}


int
main(void)
{
    test_parse();
    test_padding();
    test_extensions();
    test_seq();
    test_history();

    return done_testing();
}
