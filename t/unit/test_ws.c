
/*
 * Copyright (C) nginx-ams authors
 *
 * WebSocket framing (ngx_ams_ws.c): the handshake's accept value, a
 * client's masked frames into messages, fragmentation, control frames
 * between fragments, and every way a frame breaks the protocol.
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_ws.h"


/* a client frame: FIN/opcode byte, masked payload */
static size_t
client_frame(uint8_t *out, unsigned fin, unsigned opcode, const void *data,
    size_t len)
{
    size_t          h = 0, i;
    const uint8_t  *d = data;
    uint8_t         mask[4] = { 0x37, 0xfa, 0x21, 0x3d };

    out[h++] = (uint8_t) ((fin ? 0x80 : 0) | opcode);

    if (len < 126) {
        out[h++] = (uint8_t) (0x80 | len);

    } else if (len < 65536) {
        out[h++] = 0x80 | 126;
        out[h++] = (uint8_t) (len >> 8);
        out[h++] = (uint8_t) len;

    } else {
        out[h++] = 0x80 | 127;
        for (i = 0; i < 8; i++) {
            out[h++] = (uint8_t) ((uint64_t) len >> (56 - 8 * i));
        }
    }

    memcpy(out + h, mask, 4);
    h += 4;

    for (i = 0; i < len; i++) {
        out[h + i] = d[i] ^ mask[i & 3];
    }

    return h + len;
}


int
main(void)
{
    int                  rc;
    char                 accept[29];
    size_t               n, used, off;
    uint8_t              frame[70000], buf[65536], big[66000];
    ngx_ams_ws_msg_t     msg;
    ngx_ams_ws_reader_t  rd;

    /* RFC 6455 section 1.3's example */
    ok(ngx_ams_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", 24, accept) == 0
       && strcmp(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
       "Sec-WebSocket-Accept of the RFC's example");
    ok(ngx_ams_ws_accept("dGhlIHNhbXBsZSBub25jZQ=", 23, accept) == -1,
       "a key of the wrong length is refused");
    ok(ngx_ams_ws_accept("dGhlIHNhbXBsZSBub25j*Q==", 24, accept) == -1,
       "a key that is not base64 is refused");

    ngx_ams_ws_reader_init(&rd, buf, sizeof(buf));

    /* a whole text message, fed a byte at a time first */
    n = client_frame(frame, 1, NGX_AMS_WS_TEXT, "{\"command\":\"ping\"}", 18);

    for (off = 1; off < n; off++) {
        if (ngx_ams_ws_read(&rd, frame, off, &used, &msg) != NGX_AMS_WS_AGAIN
            || used != 0)
        {
            break;
        }
    }

    ok(off == n, "a frame cut short at any byte asks for more");

    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_MESSAGE && used == n && msg.len == 18
       && msg.opcode == NGX_AMS_WS_TEXT
       && memcmp(msg.data, "{\"command\":\"ping\"}", 18) == 0,
       "a masked text frame is one message, unmasked");

    /* a fragmented message with a ping between its fragments */
    off = client_frame(frame, 0, NGX_AMS_WS_TEXT, "hel", 3);
    off += client_frame(frame + off, 1, NGX_AMS_WS_PING, "p", 1);
    off += client_frame(frame + off, 1, NGX_AMS_WS_CONTINUATION, "lo", 2);

    rc = ngx_ams_ws_read(&rd, frame, off, &used, &msg);
    ok(rc == NGX_AMS_WS_FRAME, "the first fragment is taken");
    n = used;
    rc = ngx_ams_ws_read(&rd, frame + n, off - n, &used, &msg);
    ok(rc == NGX_AMS_WS_CONTROL && msg.opcode == NGX_AMS_WS_PING
       && msg.len == 1 && msg.data[0] == 'p',
       "a ping between fragments comes back at once");
    n += used;
    rc = ngx_ams_ws_read(&rd, frame + n, off - n, &used, &msg);
    ok(rc == NGX_AMS_WS_MESSAGE && msg.len == 5
       && memcmp(msg.data, "hello", 5) == 0,
       "the fragments make one message");

    /* 16-bit and 64-bit lengths */
    memset(big, 'a', sizeof(big));
    n = client_frame(frame, 1, NGX_AMS_WS_BINARY, big, 300);
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_MESSAGE && msg.len == 300 && used == n,
       "a 16-bit length");

    ngx_ams_ws_reader_init(&rd, buf, sizeof(buf));
    n = client_frame(frame, 1, NGX_AMS_WS_BINARY, big, 65536);
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_MESSAGE && msg.len == 65536,
       "a 64-bit length up to the limit");

    n = client_frame(frame, 1, NGX_AMS_WS_BINARY, big, 65537);
    rc = ngx_ams_ws_read(&rd, frame, 14, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL && msg.close_code == NGX_AMS_WS_CLOSE_TOO_BIG,
       "a frame over the limit fails from its header (1009)");

    /* fragments adding up past the limit */
    ngx_ams_ws_reader_init(&rd, buf, 100);
    n = client_frame(frame, 0, NGX_AMS_WS_TEXT, big, 60);
    ok(ngx_ams_ws_read(&rd, frame, n, &used, &msg) == NGX_AMS_WS_FRAME,
       "a first fragment under the limit");
    n = client_frame(frame, 1, NGX_AMS_WS_CONTINUATION, big, 60);
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL && msg.close_code == NGX_AMS_WS_CLOSE_TOO_BIG,
       "fragments adding up past the limit fail (1009)");

    /* protocol errors */
    ngx_ams_ws_reader_init(&rd, buf, sizeof(buf));

    n = client_frame(frame, 1, NGX_AMS_WS_TEXT, "x", 1);
    frame[1] &= 0x7f;
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL && msg.close_code == 1002,
       "an unmasked client frame fails (1002)");

    n = client_frame(frame, 1, NGX_AMS_WS_TEXT, "x", 1);
    frame[0] |= 0x40;
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL && msg.close_code == 1002,
       "a reserved bit fails (1002)");

    n = client_frame(frame, 1, 0x3, "x", 1);
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL && msg.close_code == 1002,
       "an unknown opcode fails (1002)");

    n = client_frame(frame, 1, NGX_AMS_WS_CONTINUATION, "x", 1);
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL, "a continuation without a message fails");

    n = client_frame(frame, 0, NGX_AMS_WS_PING, "x", 1);
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL, "a fragmented ping fails");

    n = client_frame(frame, 1, NGX_AMS_WS_PING, big, 126);
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL, "a ping longer than 125 bytes fails");

    n = client_frame(frame, 0, NGX_AMS_WS_TEXT, "a", 1);
    (void) ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    n = client_frame(frame, 1, NGX_AMS_WS_TEXT, "b", 1);
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL, "a new message inside a fragmented one fails");

    ngx_ams_ws_reader_init(&rd, buf, sizeof(buf));
    frame[0] = 0x81;
    frame[1] = 0x80 | 126;
    frame[2] = 0;
    frame[3] = 5;
    rc = ngx_ams_ws_read(&rd, frame, 8, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL, "a 16-bit length under 126 fails");

    frame[1] = 0x80 | 127;
    memset(frame + 2, 0, 8);
    frame[2] = 0x80;
    rc = ngx_ams_ws_read(&rd, frame, 14, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL, "a 64-bit length with its top bit fails");

    n = client_frame(frame, 1, NGX_AMS_WS_TEXT, "\xc0\xaf", 2);
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL && msg.close_code == 1007,
       "an overlong UTF-8 text fails (1007)");

    n = client_frame(frame, 1, NGX_AMS_WS_TEXT, "\xed\xa0\x80", 3);
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL && msg.close_code == 1007,
       "a UTF-16 surrogate fails (1007)");

    n = client_frame(frame, 1, NGX_AMS_WS_TEXT, "caf\xc3\xa9 \xf0\x9f\x8e\xa5",
                     10);
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_MESSAGE, "valid multibyte UTF-8 passes");

    /* close frames */
    n = client_frame(frame, 1, NGX_AMS_WS_CLOSE, "\x03\xe8", 2);
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_CONTROL && msg.opcode == NGX_AMS_WS_CLOSE
       && msg.close_code == 1000, "a close frame with its code");

    n = client_frame(frame, 1, NGX_AMS_WS_CLOSE, "\x03", 1);
    rc = ngx_ams_ws_read(&rd, frame, n, &used, &msg);
    ok(rc == NGX_AMS_WS_FAIL, "a close frame of one byte fails");

    /* our frames */
    is_int(ngx_ams_ws_frame_header(frame, NGX_AMS_WS_TEXT, 5), 2,
           "a short header");
    ok(frame[0] == 0x81 && frame[1] == 5, "FIN, text, no mask");
    is_int(ngx_ams_ws_frame_header(frame, NGX_AMS_WS_TEXT, 300), 4,
           "a 16-bit header");
    ok(frame[1] == 126 && frame[2] == 1 && frame[3] == 44, "its length");
    is_int(ngx_ams_ws_frame_header(frame, NGX_AMS_WS_BINARY, 70000), 10,
           "a 64-bit header");
    ok(frame[1] == 127 && frame[7] == 1 && frame[8] == 0x11
       && frame[9] == 0x70, "its length");
    is_int(ngx_ams_ws_close_frame(frame, 1009), 4, "a close frame");
    ok(frame[0] == 0x88 && frame[2] == 0x03 && frame[3] == 0xf1,
       "close 1009");

    return done_testing();
}
