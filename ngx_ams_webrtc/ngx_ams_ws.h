
/*
 * Copyright (C) nginx-ams authors
 *
 * WebSocket (RFC 6455), the server's side, as Ant Media Server's
 * signalling needs it: the handshake's Sec-WebSocket-Accept, reading
 * the client's frames (masked, as the RFC requires of clients) into
 * whole messages, and writing our own (unmasked) frames.
 *
 * The reader works on the caller's buffer of bytes received: each call
 * takes at most one frame from its start, or asks for more.  Data frames
 * are unmasked and gathered into the message (fragmented messages too),
 * control frames (close, ping, pong) come back at once, even between the
 * fragments of a message.  What breaks the protocol returns the close
 * code to send (1002, 1007 text not UTF-8, 1009 too big) and the
 * connection goes.
 *
 * Free of nginx types: unit-tested and fuzzed alone.
 */


#ifndef _NGX_AMS_WS_H_INCLUDED_
#define _NGX_AMS_WS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_WS_CONTINUATION      0x0
#define NGX_AMS_WS_TEXT              0x1
#define NGX_AMS_WS_BINARY            0x2
#define NGX_AMS_WS_CLOSE             0x8
#define NGX_AMS_WS_PING              0x9
#define NGX_AMS_WS_PONG              0xA

#define NGX_AMS_WS_CLOSE_NORMAL      1000
#define NGX_AMS_WS_CLOSE_GOING_AWAY  1001
#define NGX_AMS_WS_CLOSE_PROTOCOL    1002
#define NGX_AMS_WS_CLOSE_BAD_DATA    1007
#define NGX_AMS_WS_CLOSE_POLICY      1008
#define NGX_AMS_WS_CLOSE_TOO_BIG     1009

/* the longest frame header: 2 + 8 (length) + 4 (mask) */
#define NGX_AMS_WS_MAX_HEADER        14

/* results of ngx_ams_ws_read() */
#define NGX_AMS_WS_AGAIN             0   /* need more bytes */
#define NGX_AMS_WS_FRAME             1   /* a data fragment taken; go on */
#define NGX_AMS_WS_MESSAGE           2   /* *msg: a whole text/binary */
#define NGX_AMS_WS_CONTROL           3   /* *msg: close, ping or pong */
#define NGX_AMS_WS_FAIL             -1   /* *msg: close_code to send */


typedef struct {
    size_t              max_message;    /* longest message taken */

    /* the message being gathered */
    uint8_t            *buf;            /* max_message bytes, caller's */
    size_t              len;
    unsigned            opcode;         /* of its first frame */
    unsigned            in_message:1;
} ngx_ams_ws_reader_t;


typedef struct {
    unsigned            opcode;
    const uint8_t      *data;           /* MESSAGE: reader's buf;
                                           CONTROL: the caller's bytes,
                                           unmasked in place */
    size_t              len;
    unsigned            close_code;     /* CLOSE received (0: none given)
                                           or FAIL: what to send */
    const char         *error;          /* FAIL: for the log */
} ngx_ams_ws_msg_t;


/* base64(SHA-1(key + GUID)): 28 characters and a NUL into "out";
 * 0, or -1 when the key is not 24 base64 characters (16 bytes) */
int ngx_ams_ws_accept(const char *key, size_t len, char out[29]);

void ngx_ams_ws_reader_init(ngx_ams_ws_reader_t *rd, uint8_t *buf,
    size_t max_message);

/*
 * One frame from "p" (len bytes received, not yet taken): returns one of
 * the results above, with *used the bytes taken (0 with AGAIN).  The
 * caller drops those bytes and calls again while it has some.  A frame
 * longer than max_message fails at once, before its bytes arrive, so the
 * caller's buffer needs max_message + NGX_AMS_WS_MAX_HEADER bytes.
 * Unmasks in place.
 */
int ngx_ams_ws_read(ngx_ams_ws_reader_t *rd, uint8_t *p, size_t len,
    size_t *used, ngx_ams_ws_msg_t *msg);

/* a server frame's header (FIN set, no mask) for "len" payload bytes:
 * returns its size (2, 4 or 10) */
size_t ngx_ams_ws_frame_header(uint8_t out[10], unsigned opcode, size_t len);

/* a whole close frame with "code" (and no reason): 4 bytes */
size_t ngx_ams_ws_close_frame(uint8_t out[4], unsigned code);

/* 1 when "p" is valid UTF-8 (RFC 3629: no overlongs, no surrogates) */
int ngx_ams_ws_utf8_valid(const uint8_t *p, size_t len);


#endif /* _NGX_AMS_WS_H_INCLUDED_ */
