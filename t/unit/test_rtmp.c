
/*
 * Copyright (C) nginx-ams authors
 *
 * RTMP parsers: handshake, chunk stream, AMF0, FLV tag bodies and their
 * conversion to bus frames; good input and malformed input.
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_rtmp_handshake.h"
#include "ngx_ams_rtmp_chunk.h"
#include "ngx_ams_amf0.h"
#include "ngx_ams_flv.h"


static const uint8_t  fp_key[] = "Genuine Adobe Flash Player 001";
static const uint8_t  fms_key[] = "Genuine Adobe Flash Media Server 001";


static void
test_handshake(void)
{
    int          digest;
    uint8_t      c0c1[1537], out[3073];
    const char  *err = NULL;

    memset(c0c1, 0x5a, sizeof(c0c1));
    c0c1[0] = 3;
    memset(c0c1 + 5, 0, 4);

    ok(ngx_ams_rtmp_handshake_respond(c0c1, out, 1234, &digest, &err) == 0
       && !digest, "plain handshake answered");
    ok(out[0] == 3, "S0 is version 3");
    ok(memcmp(out + 1 + 1536, c0c1 + 1, 1536) == 0, "S2 echoes C1");

    /* a Flash-style C1: version set, digest at scheme 0's offset */
    c0c1[5] = 9; c0c1[6] = 0; c0c1[7] = 124; c0c1[8] = 2;
    ngx_ams_rtmp_digest_write(c0c1 + 1, 0, fp_key, 30);

    ok(ngx_ams_rtmp_handshake_respond(c0c1, out, 1234, &digest, &err) == 0
       && digest, "digest handshake recognised");
    ok(ngx_ams_rtmp_digest_check(out + 1, 0, fms_key, 36) == 0,
       "S1 carries a valid server digest");

    /* a digest that does not verify falls back to the plain handshake */
    c0c1[100] ^= 0xff;
    c0c1[900] ^= 0xff;
    ok(ngx_ams_rtmp_handshake_respond(c0c1, out, 1234, &digest, &err) == 0
       && !digest, "a broken digest gets the plain handshake");

    c0c1[0] = 6;
    ok(ngx_ams_rtmp_handshake_respond(c0c1, out, 0, &digest, &err) == -1
       && err != NULL, "version 6 (encrypted RTMPE) refused");

    c0c1[0] = 0x16;
    ok(ngx_ams_rtmp_handshake_respond(c0c1, out, 0, &digest, &err) == -1,
       "a TLS ClientHello is refused");
}


typedef struct {
    int       count;
    uint8_t   type[16];
    uint32_t  len[16];
    uint32_t  ts[16];
    uint32_t  csid[16];
    uint8_t   first[16];
} msgs_t;


static int
collect(void *ctx, ngx_ams_rtmp_msg_t *msg, const char **err)
{
    msgs_t  *m = ctx;

    if (m->count < 16) {
        m->type[m->count] = msg->type;
        m->len[m->count] = msg->length;
        m->ts[m->count] = msg->timestamp;
        m->csid[m->count] = msg->csid;
        m->first[m->count] = msg->length ? msg->data[0] : 0;
    }

    m->count++;
    return 0;
}


static int
parse_all(ngx_ams_rtmp_chunk_parser_t *p, const uint8_t *b, size_t n,
    int bytewise)
{
    size_t  i;

    if (!bytewise) {
        return ngx_ams_rtmp_chunk_parse(p, b, n);
    }

    for (i = 0; i < n; i++) {
        if (ngx_ams_rtmp_chunk_parse(p, b + i, 1) != 0) {
            return -1;
        }
    }

    return 0;
}


static void
test_chunks(void)
{
    int                          bytewise;
    size_t                       n, m;
    msgs_t                       got;
    uint8_t                      buf[8192], payload[1000];
    ngx_ams_rtmp_chunk_parser_t  p;

    for (bytewise = 0; bytewise < 2; bytewise++) {
        memset(&got, 0, sizeof(got));
        ngx_ams_rtmp_chunk_init(&p, 1 << 20, collect, &got);

        /* a 1000-byte video message in 128-byte chunks, then a second one
         * that repeats the header (fmt 3) */
        memset(payload, 0x17, sizeof(payload));
        n = ngx_ams_rtmp_chunk_write(buf, 128, 6, 40, 9, 1, payload, 1000);
        m = ngx_ams_rtmp_chunk_write(buf + n, 128, 70, 0x1000000, 8, 1,
                                     payload, 300);

        ok(parse_all(&p, buf, n + m, bytewise) == 0, "chunks parse (%s)",
           bytewise ? "byte by byte" : "at once");
        is_int(got.count, 2, "two messages");
        ok(got.type[0] == 9 && got.len[0] == 1000 && got.ts[0] == 40
           && got.csid[0] == 6 && got.first[0] == 0x17,
           "first: video, 1000 bytes, ts 40, csid 6");
        ok(got.type[1] == 8 && got.len[1] == 300 && got.ts[1] == 0x1000000
           && got.csid[1] == 70, "second: extended timestamp, 2-byte csid");

        ngx_ams_rtmp_chunk_free(&p);
    }

    /* Set Chunk Size then a message in bigger chunks */
    memset(&got, 0, sizeof(got));
    ngx_ams_rtmp_chunk_init(&p, 1 << 20, collect, &got);
    n = ngx_ams_rtmp_chunk_write(buf, 128, 2, 0, 1, 0,
                                 (const uint8_t *) "\0\0\x10\0", 4);
    n += ngx_ams_rtmp_chunk_write(buf + n, 4096, 6, 0, 9, 1, payload, 1000);
    ok(ngx_ams_rtmp_chunk_parse(&p, buf, n) == 0 && got.count == 2
       && p.chunk_size == 4096 && got.len[1] == 1000,
       "Set Chunk Size applies to what follows");
    ngx_ams_rtmp_chunk_free(&p);

    /* malformed */
    ngx_ams_rtmp_chunk_init(&p, 1 << 20, collect, &got);
    n = ngx_ams_rtmp_chunk_write(buf, 128, 2, 0, 1, 0,
                                 (const uint8_t *) "\0\0\0\0", 4);
    ok(ngx_ams_rtmp_chunk_parse(&p, buf, n) == -1 && p.error,
       "chunk size 0 refused");
    ok(ngx_ams_rtmp_chunk_parse(&p, buf, n) == -1,
       "a failed parser stays failed");
    ngx_ams_rtmp_chunk_free(&p);

    ngx_ams_rtmp_chunk_init(&p, 1 << 20, collect, &got);
    n = ngx_ams_rtmp_chunk_write(buf, 128, 2, 0, 1, 0,
                                 (const uint8_t *) "\x01\0\0\0", 4);
    ok(ngx_ams_rtmp_chunk_parse(&p, buf, n) == -1,
       "chunk size over 16 MiB refused");
    ngx_ams_rtmp_chunk_free(&p);

    ngx_ams_rtmp_chunk_init(&p, 1000, collect, &got);
    n = ngx_ams_rtmp_chunk_write(buf, 128, 6, 0, 9, 1, payload, 1000);
    ngx_ams_rtmp_chunk_init(&p, 999, collect, &got);
    ok(ngx_ams_rtmp_chunk_parse(&p, buf, n) == -1,
       "message over the limit refused");
    ngx_ams_rtmp_chunk_free(&p);

    ngx_ams_rtmp_chunk_init(&p, 1 << 20, collect, &got);
    buf[0] = 0xc5;             /* fmt 3 on a chunk stream never seen */
    ok(ngx_ams_rtmp_chunk_parse(&p, buf, 1) == -1,
       "continuation without a header refused");
    ngx_ams_rtmp_chunk_free(&p);

    ngx_ams_rtmp_chunk_init(&p, 1 << 20, collect, &got);
    for (n = 0; n < 40; n++) {
        m = ngx_ams_rtmp_chunk_write(buf, 128, 100 + (uint32_t) n, 0, 9, 1,
                                     payload, 200);
        if (ngx_ams_rtmp_chunk_parse(&p, buf, 2 + 11 + 128) != 0) {
            break;
        }
    }
    ok(n < 40 && p.error, "too many open chunk streams refused");
    ngx_ams_rtmp_chunk_free(&p);
}


/* sends the header of a command message of "announced" bytes on csid
 * and "body" bytes of it (whole chunks of "chunk" bytes) */

static int
feed_partial(ngx_ams_rtmp_chunk_parser_t *p, uint32_t csid, uint32_t chunk,
    size_t announced, size_t body)
{
    size_t          len;
    static uint8_t  out[1 << 17], payload[1 << 16];

    (void) ngx_ams_rtmp_chunk_write(out, chunk, csid, 0, 20, 0, payload,
                                    announced);

    len = 1 + 11 + body + (body ? (body - 1) / chunk : 0);

    return ngx_ams_rtmp_chunk_parse(p, out, len);
}


/* the worker's callback: frees the victim's buffers, once */
static ngx_ams_rtmp_chunk_parser_t  *reclaim_victim;
static size_t                        reclaim_need;

static int
reclaim_one(void *ctx, size_t need)
{
    reclaim_need = need;

    if (reclaim_victim == NULL) {
        return -1;
    }

    ngx_ams_rtmp_chunk_free(reclaim_victim);
    reclaim_victim = NULL;

    return 0;
}


/*
 * A group's counter (one client address's connections) has a limit of
 * its own; near any limit a parser first gives up its idle buffers; at
 * the worker's, the reclaim callback may free another parser's.
 */
static void
test_chunk_groups(void)
{
    size_t                       total, group, other;
    msgs_t                       got;
    ngx_ams_rtmp_chunk_parser_t  p, q, r;

    memset(&got, 0, sizeof(got));
    total = 0;
    group = 0;
    other = 0;

    /* two parsers of one group share its 40000 bytes */
    ngx_ams_rtmp_chunk_init(&p, 1 << 20, collect, &got);
    ngx_ams_rtmp_chunk_init(&q, 1 << 20, collect, &got);
    ngx_ams_rtmp_chunk_limits(&p, 32768, 65536, &total, 1 << 20);
    ngx_ams_rtmp_chunk_limits(&q, 32768, 65536, &total, 1 << 20);
    ngx_ams_rtmp_chunk_group(&p, &group, 40000);
    ngx_ams_rtmp_chunk_group(&q, &group, 40000);

    ok(feed_partial(&p, 3, 128, 30000, 29952) == 0 && group == 30000
       && total == 30000, "one holds 30000 bytes of its group's 40000");
    ok(feed_partial(&q, 3, 128, 16384, 15872) == -1 && q.over_limit
       && strstr(q.error, "address") != NULL,
       "the other passes the group's limit");
    ngx_ams_rtmp_chunk_free(&q);
    is_int((int) group, 30000, "the refused one held nothing");

    /* idle buffers go before a limit refuses: a finished 30000-byte
     * message's buffer makes room for a new one */
    ngx_ams_rtmp_chunk_init(&r, 1 << 20, collect, &got);
    ngx_ams_rtmp_chunk_limits(&r, 32768, 40000, &total, 1 << 20);
    ngx_ams_rtmp_chunk_group(&r, &other, 1 << 20);
    ok(feed_partial(&r, 4, 128, 30000, 30000) == 0 && r.buffered == 30000,
       "a whole message leaves its buffer (30000 bytes)");
    ok(feed_partial(&r, 5, 128, 20000, 19968) == 0 && r.buffered == 20000
       && other == 20000 && total == 50000,
       "a partial one of 20000 takes its place");
    ngx_ams_rtmp_chunk_free(&r);

    /* the worker's total (40000): the callback frees p's 30000 bytes */
    ngx_ams_rtmp_chunk_init(&r, 1 << 20, collect, &got);
    ngx_ams_rtmp_chunk_limits(&p, 32768, 65536, &total, 40000);
    ngx_ams_rtmp_chunk_limits(&r, 32768, 65536, &total, 40000);
    ngx_ams_rtmp_chunk_group(&r, &other, 1 << 20);
    r.reclaim = reclaim_one;
    reclaim_victim = &p;

    ok(feed_partial(&r, 3, 128, 20000, 19968) == 0 && p.buffered == 0
       && total == 20000 && group == 0,
       "at the worker's limit another parser's buffers make room");
    ok(reclaim_need > 0 && reclaim_need <= 16384,
       "the callback is asked for what is missing (%zu)", reclaim_need);
    ok(feed_partial(&r, 4, 128, 30000, 29952) == -1 && r.over_limit
       && strstr(r.error, "worker") != NULL,
       "with nothing left to free the sender is refused");

    ngx_ams_rtmp_chunk_free(&r);
    ngx_ams_rtmp_chunk_free(&p);
    is_int((int) (total + group + other), 0, "every counter back to zero");
}


/*
 * What a client can make a parser hold: each message's length, the
 * connection's partial messages, and a total shared by a worker's
 * parsers; growth past any of them fails, and the shared total goes back
 * to zero when the parsers are freed.
 */
static void
test_chunk_limits(void)
{
    size_t                       n, total;
    msgs_t                       got;
    uint8_t                      buf[8192], payload[1000];
    ngx_ams_rtmp_chunk_parser_t  p, q;

    memset(payload, 0x17, sizeof(payload));
    memset(&got, 0, sizeof(got));
    total = 0;

    /* three messages of 20000 announced, 23 chunks of each sent */
    ngx_ams_rtmp_chunk_init(&p, 1 << 20, collect, &got);
    ngx_ams_rtmp_chunk_limits(&p, 32768, 65536, &total, 1 << 20);

    for (n = 0; n < 3; n++) {
        ok(feed_partial(&p, 10 + (uint32_t) n, 128, 20000, 2944) == 0,
           "partial command %d taken", (int) n);
    }

    ok(p.buffered == 3 * 4096 && total == p.buffered,
       "buffers grow with what arrived (%zu bytes), counted in the total",
       p.buffered);

    ok(feed_partial(&p, 20, 128, 36864, 0) == -1 && p.over_limit,
       "a message over the length limit is refused (%s)", p.error);

    ngx_ams_rtmp_chunk_free(&p);
    is_int((int) total, 0, "freeing the parser takes its share back");

    /* the connection's partial messages: the 4th of 20000 passes 65536 */
    ngx_ams_rtmp_chunk_init(&p, 1 << 20, collect, &got);
    ngx_ams_rtmp_chunk_limits(&p, 32768, 65536, &total, 1 << 20);

    for (n = 0; n < 8; n++) {
        if (feed_partial(&p, 10 + (uint32_t) n, 128, 20000, 19968) != 0) {
            break;
        }
    }

    ok(n == 3 && p.over_limit && p.buffered <= 65536,
       "partial messages past the connection's limit refused (%s)",
       p.error);
    ok(total == p.buffered, "the total follows (%zu)", total);
    ngx_ams_rtmp_chunk_free(&p);
    is_int((int) total, 0, "and is zero when the parser is freed");

    /* the worker's total: two parsers share 20000 bytes */
    ngx_ams_rtmp_chunk_init(&p, 1 << 20, collect, &got);
    ngx_ams_rtmp_chunk_init(&q, 1 << 20, collect, &got);
    ngx_ams_rtmp_chunk_limits(&p, 32768, 65536, &total, 20000);
    ngx_ams_rtmp_chunk_limits(&q, 32768, 65536, &total, 20000);

    ok(feed_partial(&p, 3, 128, 16384, 15872) == 0 && total == 16384,
       "one connection holds 16384 bytes");
    ok(feed_partial(&q, 3, 128, 16384, 128) == -1 && q.over_limit,
       "the next is refused at the worker's limit (%s)", q.error);
    ngx_ams_rtmp_chunk_free(&q);
    is_int((int) total, 16384, "the refused one held nothing");
    ngx_ams_rtmp_chunk_free(&p);
    is_int((int) total, 0, "both freed: the total is zero");

    /* a publisher's limits, then commands again: idle buffers go */
    memset(&got, 0, sizeof(got));
    ngx_ams_rtmp_chunk_init(&p, 1 << 20, collect, &got);
    ngx_ams_rtmp_chunk_limits(&p, 1 << 20, 2 << 20, &total, 4 << 20);
    n = ngx_ams_rtmp_chunk_write(buf, 128, 6, 0, 9, 1, payload, 1000);
    n += ngx_ams_rtmp_chunk_write(buf + n, 128, 3, 0, 20, 0, payload, 100);
    ok(ngx_ams_rtmp_chunk_parse(&p, buf, n) == 0 && got.count == 2,
       "a publisher's video message, then a command");
    ngx_ams_rtmp_chunk_trim(&p);
    ngx_ams_rtmp_chunk_limits(&p, 32768, 65536, &total, 4 << 20);
    ok(p.cs[0].buf == NULL && p.cs[1].buf != NULL && total == 100
       && p.buffered == 100,
       "trimming frees the idle video buffer, keeps the last message's");
    ngx_ams_rtmp_chunk_free(&p);
    is_int((int) total, 0, "the total is zero again");
}


static void
test_amf(void)
{
    uint8_t               buf[4096];
    size_t                i;
    ngx_ams_amf_t        *v, *app;
    ngx_ams_amf_writer_t  w;
    ngx_ams_amf_arena_t   a;

    w.p = buf;
    w.end = buf + sizeof(buf);
    w.overflow = 0;
    ngx_ams_amf_put_cstring(&w, "connect");
    ngx_ams_amf_put_number(&w, 1);
    ngx_ams_amf_put_object_start(&w);
    ngx_ams_amf_put_key(&w, "app");
    ngx_ams_amf_put_cstring(&w, "LiveApp");
    ngx_ams_amf_put_key(&w, "fpad");
    ngx_ams_amf_put_bool(&w, 0);
    ngx_ams_amf_put_object_end(&w);
    ngx_ams_amf_put_null(&w);

    v = ngx_ams_amf_decode(&a, buf, w.p - buf);
    ok(v && ngx_ams_amf_is_string(v) && v->len == 7
       && memcmp(v->str, "connect", 7) == 0, "command name decodes");
    ok(ngx_ams_amf_nth(v, 1)->num == 1, "transaction id");
    app = ngx_ams_amf_get(ngx_ams_amf_nth(v, 2), "app");
    ok(app && app->len == 7 && memcmp(app->str, "LiveApp", 7) == 0,
       "object member by key");
    ok(ngx_ams_amf_nth(v, 3)->type == NGX_AMS_AMF_NULL, "null after it");

    /* every truncation of a valid message is an error, never a crash */
    for (i = 1; i < (size_t) (w.p - buf); i++) {
        if (ngx_ams_amf_decode(&a, buf, i) != NULL) {
            break;
        }
    }
    ok(i == 10,
       "truncations refused (the name alone, %zu bytes, is whole)", i);

    /* objects nested deeper than the limit */
    for (i = 0; i < 20; i++) {
        buf[i * 4] = NGX_AMS_AMF_OBJECT;
        buf[i * 4 + 1] = 0;
        buf[i * 4 + 2] = 1;
        buf[i * 4 + 3] = 'k';
    }
    buf[80] = NGX_AMS_AMF_NULL;
    v = ngx_ams_amf_decode(&a, buf, 81);
    ok(v == NULL && a.error && strstr(a.error, "deep"),
       "nesting too deep refused");

    buf[0] = 0x11;
    ok(ngx_ams_amf_decode(&a, buf, 1) == NULL && a.error,
       "unknown type refused");

    buf[0] = NGX_AMS_AMF_STRING;
    buf[1] = 0xff;
    buf[2] = 0xff;
    ok(ngx_ams_amf_decode(&a, buf, 10) == NULL, "string past the end refused");

    /* a strict array claiming 4 billion elements */
    memcpy(buf, "\x0a\xff\xff\xff\xff\x05", 6);
    ok(ngx_ams_amf_decode(&a, buf, 6) == NULL && a.error,
       "huge array count refused");

    w.p = buf;
    w.end = buf + 4;
    w.overflow = 0;
    ngx_ams_amf_put_cstring(&w, "too long");
    ok(w.overflow, "the writer never writes past its buffer");
}


static void
test_flv(void)
{
    const char         *err;
    ngx_ams_flv_tag_t   tag;

    ok(ngx_ams_flv_parse_video((const uint8_t *) "\x17\x00\x00\x00\x00\x01",
                               6, &tag, &err) == NGX_AMS_FLV_OK
       && tag.config && tag.key && tag.len == 1, "AVC sequence header");
    ok(ngx_ams_flv_parse_video((const uint8_t *) "\x27\x01\xff\xff\xfe\x00",
                               6, &tag, &err) == NGX_AMS_FLV_OK
       && !tag.key && !tag.config && tag.cts == -2,
       "AVC inter frame with negative composition time");
    ok(ngx_ams_flv_parse_video((const uint8_t *) "\x22\x00", 2, &tag, &err)
       == NGX_AMS_FLV_ERROR, "Sorenson H.263 refused");
    ok(ngx_ams_flv_parse_video((const uint8_t *) "\x90hvc1", 5, &tag, &err)
       == NGX_AMS_FLV_ERROR, "enhanced RTMP refused");
    ok(ngx_ams_flv_parse_video((const uint8_t *) "\x17\x01", 2, &tag, &err)
       == NGX_AMS_FLV_ERROR, "short AVC header refused");
    ok(ngx_ams_flv_parse_video((const uint8_t *) "", 0, &tag, &err)
       == NGX_AMS_FLV_ERROR, "empty video refused");
    ok(ngx_ams_flv_parse_audio((const uint8_t *) "\xaf\x00\x12\x10", 4,
                               &tag, &err) == NGX_AMS_FLV_OK
       && tag.config && tag.len == 2, "AAC sequence header");
    ok(ngx_ams_flv_parse_audio((const uint8_t *) "\x2f\x00", 2, &tag, &err)
       == NGX_AMS_FLV_ERROR, "MP3 refused");
    ok(ngx_ams_flv_parse_audio((const uint8_t *) "\xaf", 1, &tag, &err)
       == NGX_AMS_FLV_ERROR, "short AAC header refused");
}


static void
test_flv_to_frame(void)
{
    const char           *err;
    const uint8_t        *data;
    ngx_ams_frame_t       f;
    ngx_ams_flv_state_t   st;

    static const uint8_t  avc_config[] = { 0x17, 0x00, 0, 0, 0, 0x01, 0x42 };
    static const uint8_t  avc_key[] = { 0x17, 0x01, 0, 0, 0x28, 0, 0, 0, 1,
                                        0x65 };
    static const uint8_t  avc_inter[] = { 0x27, 0x01, 0xff, 0xff, 0xfe, 0, 0,
                                          0, 1, 0x41 };
    static const uint8_t  aac_config[] = { 0xaf, 0x00, 0x12, 0x10 };
    static const uint8_t  aac_raw[] = { 0xaf, 0x01, 0x21, 0x10, 0x04 };

    memset(&st, 0, sizeof(st));

    ok(ngx_ams_flv_to_frame(&st, 1, 1000, avc_key, sizeof(avc_key), &f,
                            &data, &err) == NGX_AMS_FLV_NO_CONFIG
       && st.last_ts == 0, "video before its sequence header: no frame, "
       "clock untouched");

    ok(ngx_ams_flv_to_frame(&st, 1, 0, avc_config, sizeof(avc_config), &f,
                            &data, &err) == NGX_AMS_FLV_CONFIG
       && f.track == NGX_AMS_TRACK_VIDEO && f.codec == NGX_AMS_CODEC_H264
       && f.size == 2 && data == avc_config + 5,
       "AVC sequence header is a video configuration");

    ok(ngx_ams_flv_to_frame(&st, 0, 0, aac_config, sizeof(aac_config), &f,
                            &data, &err) == NGX_AMS_FLV_CONFIG
       && f.track == NGX_AMS_TRACK_AUDIO && f.codec == NGX_AMS_CODEC_AAC
       && f.size == 2 && data == aac_config + 2,
       "AAC sequence header is an audio configuration");

    /* audio only: every audio frame is where a reader may start */
    st.has_audio = 1;
    ok(ngx_ams_flv_to_frame(&st, 0, 40, aac_raw, sizeof(aac_raw), &f,
                            &data, &err) == NGX_AMS_FLV_OK
       && f.flags == NGX_AMS_FRAME_KEY && f.dts == 40 * 90 && f.cts == 0
       && f.size == 3 && data == aac_raw + 2,
       "audio is key while there is no video");

    st.has_video = 1;
    ok(ngx_ams_flv_to_frame(&st, 0, 60, aac_raw, sizeof(aac_raw), &f,
                            &data, &err) == NGX_AMS_FLV_OK
       && f.flags == 0, "audio is not key once there is video");

    ok(ngx_ams_flv_to_frame(&st, 1, 80, avc_key, sizeof(avc_key), &f,
                            &data, &err) == NGX_AMS_FLV_OK
       && f.track == NGX_AMS_TRACK_VIDEO && f.flags == NGX_AMS_FRAME_KEY
       && f.dts == 80 * 90 && f.cts == 40 * 90 && f.size == 5
       && data == avc_key + 5, "key frame: 90 kHz dts, composition time");

    ok(ngx_ams_flv_to_frame(&st, 1, 120, avc_inter, sizeof(avc_inter), &f,
                            &data, &err) == NGX_AMS_FLV_OK
       && f.flags == 0 && f.dts == 120 * 90 && f.cts == -2 * 90,
       "inter frame with negative composition time");

    /* 49 days in, in steps under 2^31 ms: the 32-bit clock wraps */
    ngx_ams_flv_to_frame(&st, 1, 0x80000000, avc_inter, sizeof(avc_inter),
                         &f, &data, &err);
    ngx_ams_flv_to_frame(&st, 1, 0xffffff00, avc_inter, sizeof(avc_inter),
                         &f, &data, &err);
    ok(f.dts == (int64_t) 0xffffff00 * 90, "dts just before the wrap");
    ngx_ams_flv_to_frame(&st, 1, 0x100, avc_inter, sizeof(avc_inter), &f,
                         &data, &err);
    is_int(f.dts, ((int64_t) 1 << 32) * 90 + 0x100 * 90,
           "dts after the wrap keeps growing");
    ngx_ams_flv_to_frame(&st, 0, 0xfffffff0, aac_raw, sizeof(aac_raw), &f,
                         &data, &err);
    is_int(f.dts, (int64_t) 0xfffffff0 * 90,
           "audio a little late across the wrap stays before it");
    ngx_ams_flv_to_frame(&st, 1, 0x200, avc_inter, sizeof(avc_inter), &f,
                         &data, &err);
    is_int(f.dts, ((int64_t) 1 << 32) * 90 + 0x200 * 90,
           "the next frame is past the wrap, not a second one");

    memset(&st, 0, sizeof(st));
    st.has_video = 1;
    st.has_audio = 1;
    ngx_ams_flv_to_frame(&st, 1, 5000, avc_inter, sizeof(avc_inter), &f,
                         &data, &err);
    ngx_ams_flv_to_frame(&st, 1, 4000, avc_inter, sizeof(avc_inter), &f,
                         &data, &err);
    is_int(f.dts, 4000 * 90, "a small step back is not a wrap");

    memset(&st, 0, sizeof(st));
    st.has_video = 1;
    ngx_ams_flv_to_frame(&st, 1, 0xc0000000, avc_inter, sizeof(avc_inter),
                         &f, &data, &err);
    is_int(f.dts, (int64_t) 0xc0000000 * 90,
           "a first timestamp past 2^31 ms is taken as it is");

    memset(&st, 0, sizeof(st));
    st.has_video = 1;
    ngx_ams_flv_to_frame(&st, 1, 10, avc_inter, sizeof(avc_inter), &f, &data,
                         &err);
    ngx_ams_flv_to_frame(&st, 1, 0xfffffff6, avc_inter, sizeof(avc_inter),
                         &f, &data, &err);
    is_int(f.dts, 0, "a frame from before the stream began is at 0");
    ngx_ams_flv_to_frame(&st, 1, 50, avc_inter, sizeof(avc_inter), &f, &data,
                         &err);
    is_int(f.dts, 50 * 90, "and the clock goes on from where it was");

    err = NULL;
    ok(ngx_ams_flv_to_frame(&st, 1, 0, (const uint8_t *) "", 0, &f, &data,
                            &err) == NGX_AMS_FLV_ERROR && err != NULL,
       "empty video message refused");
    ok(ngx_ams_flv_to_frame(&st, 1, 0, (const uint8_t *) "\x17\x01\x00", 3,
                            &f, &data, &err) == NGX_AMS_FLV_ERROR,
       "video cut inside its AVC header refused");
    ok(ngx_ams_flv_to_frame(&st, 1, 0, (const uint8_t *) "\x17\x07\0\0\0\0",
                            6, &f, &data, &err) == NGX_AMS_FLV_ERROR,
       "unknown AVC packet type refused");
    ok(ngx_ams_flv_to_frame(&st, 0, 0, (const uint8_t *) "\xaf\x05\x00", 3,
                            &f, &data, &err) == NGX_AMS_FLV_ERROR,
       "unknown AAC packet type refused");
    ok(ngx_ams_flv_to_frame(&st, 0, 0, (const uint8_t *) "\x2f\x01\x00", 3,
                            &f, &data, &err) == NGX_AMS_FLV_ERROR,
       "MP3 audio refused");
    ok(ngx_ams_flv_to_frame(&st, 1, 0, (const uint8_t *) "\x17\x02\0\0\0",
                            5, &f, &data, &err) == NGX_AMS_FLV_SKIP,
       "AVC end of sequence carries no frame");
    ok(ngx_ams_flv_to_frame(&st, 1, 0, (const uint8_t *) "\x27\x01\0\0\0",
                            5, &f, &data, &err) == NGX_AMS_FLV_SKIP,
       "an empty AVC frame carries no frame");
    is_int(st.last_ts, 50, "refused and skipped messages leave the clock");
}


int
main(void)
{
    test_handshake();
    test_chunks();
    test_chunk_limits();
    test_chunk_groups();
    test_amf();
    test_flv();
    test_flv_to_frame();

    return done_testing();
}
