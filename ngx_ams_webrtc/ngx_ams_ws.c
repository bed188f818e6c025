
/*
 * Copyright (C) nginx-ams authors
 */


#include <string.h>

#include <openssl/sha.h>

#include "ngx_ams_ws.h"


#define NGX_AMS_WS_GUID  "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


static const char  ngx_ams_ws_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";


static int ngx_ams_ws_fail(ngx_ams_ws_msg_t *msg, unsigned code,
    const char *error);


int
ngx_ams_ws_accept(const char *key, size_t len, char out[29])
{
    size_t         i;
    uint32_t       v;
    unsigned char  md[SHA_DIGEST_LENGTH], in[64];

    /* 16 bytes in base64: 22 characters and "==" */
    if (len != 24 || key[22] != '=' || key[23] != '=') {
        return -1;
    }

    for (i = 0; i < 22; i++) {
        if (strchr(ngx_ams_ws_b64, key[i]) == NULL || key[i] == '\0') {
            return -1;
        }
    }

    memcpy(in, key, 24);
    memcpy(in + 24, NGX_AMS_WS_GUID, sizeof(NGX_AMS_WS_GUID) - 1);
    SHA1(in, 24 + sizeof(NGX_AMS_WS_GUID) - 1, md);

    /* 20 bytes: six groups of three, then two bytes and one "=" */
    for (i = 0; i < 6; i++) {
        v = (uint32_t) md[3 * i] << 16 | (uint32_t) md[3 * i + 1] << 8
            | md[3 * i + 2];
        out[4 * i] = ngx_ams_ws_b64[(v >> 18) & 63];
        out[4 * i + 1] = ngx_ams_ws_b64[(v >> 12) & 63];
        out[4 * i + 2] = ngx_ams_ws_b64[(v >> 6) & 63];
        out[4 * i + 3] = ngx_ams_ws_b64[v & 63];
    }

    v = (uint32_t) md[18] << 16 | (uint32_t) md[19] << 8;
    out[24] = ngx_ams_ws_b64[(v >> 18) & 63];
    out[25] = ngx_ams_ws_b64[(v >> 12) & 63];
    out[26] = ngx_ams_ws_b64[(v >> 6) & 63];
    out[27] = '=';
    out[28] = '\0';

    return 0;
}


void
ngx_ams_ws_reader_init(ngx_ams_ws_reader_t *rd, uint8_t *buf,
    size_t max_message)
{
    memset(rd, 0, sizeof(ngx_ams_ws_reader_t));
    rd->buf = buf;
    rd->max_message = max_message;
}


int
ngx_ams_ws_read(ngx_ams_ws_reader_t *rd, uint8_t *p, size_t len,
    size_t *used, ngx_ams_ws_msg_t *msg)
{
    size_t    hlen, i;
    uint8_t  *payload, mask[4];
    uint64_t  plen;
    unsigned  fin, opcode;

    *used = 0;
    memset(msg, 0, sizeof(ngx_ams_ws_msg_t));

    if (len < 2) {
        return NGX_AMS_WS_AGAIN;
    }

    fin = p[0] >> 7;
    opcode = p[0] & 0x0f;

    if (p[0] & 0x70) {
        return ngx_ams_ws_fail(msg, NGX_AMS_WS_CLOSE_PROTOCOL,
                               "reserved bits set (no extension agreed)");
    }

    if (!(p[1] & 0x80)) {
        return ngx_ams_ws_fail(msg, NGX_AMS_WS_CLOSE_PROTOCOL,
                               "a client frame without a mask");
    }

    plen = p[1] & 0x7f;
    hlen = 2;

    if (plen == 126) {
        if (len < 4) {
            return NGX_AMS_WS_AGAIN;
        }

        plen = (uint64_t) p[2] << 8 | p[3];
        hlen = 4;

        if (plen < 126) {
            return ngx_ams_ws_fail(msg, NGX_AMS_WS_CLOSE_PROTOCOL,
                                   "a length not in its shortest form");
        }

    } else if (plen == 127) {
        if (len < 10) {
            return NGX_AMS_WS_AGAIN;
        }

        plen = 0;
        for (i = 2; i < 10; i++) {
            plen = plen << 8 | p[i];
        }

        hlen = 10;

        if (plen >> 63) {
            return ngx_ams_ws_fail(msg, NGX_AMS_WS_CLOSE_PROTOCOL,
                                   "a length with its top bit set");
        }

        if (plen < 65536) {
            return ngx_ams_ws_fail(msg, NGX_AMS_WS_CLOSE_PROTOCOL,
                                   "a length not in its shortest form");
        }
    }

    switch (opcode) {

    case NGX_AMS_WS_CLOSE:
    case NGX_AMS_WS_PING:
    case NGX_AMS_WS_PONG:
        if (!fin || plen > 125) {
            return ngx_ams_ws_fail(msg, NGX_AMS_WS_CLOSE_PROTOCOL,
                                   "a control frame fragmented or longer "
                                   "than 125 bytes");
        }
        break;

    case NGX_AMS_WS_TEXT:
    case NGX_AMS_WS_BINARY:
        if (rd->in_message) {
            return ngx_ams_ws_fail(msg, NGX_AMS_WS_CLOSE_PROTOCOL,
                                   "a new message inside a fragmented one");
        }
        break;

    case NGX_AMS_WS_CONTINUATION:
        if (!rd->in_message) {
            return ngx_ams_ws_fail(msg, NGX_AMS_WS_CLOSE_PROTOCOL,
                                   "a continuation without a message");
        }
        break;

    default:
        return ngx_ams_ws_fail(msg, NGX_AMS_WS_CLOSE_PROTOCOL,
                               "an unknown opcode");
    }

    if (opcode < NGX_AMS_WS_CLOSE
        && plen > rd->max_message - (rd->in_message ? rd->len : 0))
    {
        return ngx_ams_ws_fail(msg, NGX_AMS_WS_CLOSE_TOO_BIG,
                               "a message longer than allowed");
    }

    if (len - hlen < 4 || len - hlen - 4 < plen) {
        return NGX_AMS_WS_AGAIN;
    }

    memcpy(mask, p + hlen, 4);
    payload = p + hlen + 4;

    for (i = 0; i < plen; i++) {
        payload[i] ^= mask[i & 3];
    }

    *used = hlen + 4 + plen;

    if (opcode >= NGX_AMS_WS_CLOSE) {
        msg->opcode = opcode;
        msg->data = payload;
        msg->len = plen;

        if (opcode == NGX_AMS_WS_CLOSE) {
            if (plen == 1) {
                return ngx_ams_ws_fail(msg, NGX_AMS_WS_CLOSE_PROTOCOL,
                                       "a close frame of one byte");
            }

            if (plen >= 2) {
                msg->close_code = (unsigned) payload[0] << 8 | payload[1];

                if (!ngx_ams_ws_utf8_valid(payload + 2, plen - 2)) {
                    return ngx_ams_ws_fail(msg, NGX_AMS_WS_CLOSE_BAD_DATA,
                                           "a close reason not UTF-8");
                }
            }
        }

        return NGX_AMS_WS_CONTROL;
    }

    if (!rd->in_message) {
        rd->in_message = 1;
        rd->opcode = opcode;
        rd->len = 0;
    }

    memcpy(rd->buf + rd->len, payload, plen);
    rd->len += plen;

    if (!fin) {
        return NGX_AMS_WS_FRAME;
    }

    rd->in_message = 0;

    if (rd->opcode == NGX_AMS_WS_TEXT
        && !ngx_ams_ws_utf8_valid(rd->buf, rd->len))
    {
        return ngx_ams_ws_fail(msg, NGX_AMS_WS_CLOSE_BAD_DATA,
                               "a text message not UTF-8");
    }

    msg->opcode = rd->opcode;
    msg->data = rd->buf;
    msg->len = rd->len;

    return NGX_AMS_WS_MESSAGE;
}


static int
ngx_ams_ws_fail(ngx_ams_ws_msg_t *msg, unsigned code, const char *error)
{
    msg->close_code = code;
    msg->error = error;

    return NGX_AMS_WS_FAIL;
}


size_t
ngx_ams_ws_frame_header(uint8_t out[10], unsigned opcode, size_t len)
{
    int  i;

    out[0] = 0x80 | (opcode & 0x0f);

    if (len < 126) {
        out[1] = (uint8_t) len;
        return 2;
    }

    if (len < 65536) {
        out[1] = 126;
        out[2] = (uint8_t) (len >> 8);
        out[3] = (uint8_t) len;
        return 4;
    }

    out[1] = 127;

    for (i = 9; i >= 2; i--) {
        out[i] = (uint8_t) len;
        len >>= 8;
    }

    return 10;
}


size_t
ngx_ams_ws_close_frame(uint8_t out[4], unsigned code)
{
    out[0] = 0x80 | NGX_AMS_WS_CLOSE;
    out[1] = 2;
    out[2] = (uint8_t) (code >> 8);
    out[3] = (uint8_t) code;

    return 4;
}


int
ngx_ams_ws_utf8_valid(const uint8_t *p, size_t len)
{
    size_t    i, n, k;
    uint32_t  c, min;

    for (i = 0; i < len; /* void */) {
        c = p[i];

        if (c < 0x80) {
            i++;
            continue;
        }

        if ((c & 0xe0) == 0xc0) {
            n = 1;
            c &= 0x1f;
            min = 0x80;

        } else if ((c & 0xf0) == 0xe0) {
            n = 2;
            c &= 0x0f;
            min = 0x800;

        } else if ((c & 0xf8) == 0xf0) {
            n = 3;
            c &= 0x07;
            min = 0x10000;

        } else {
            return 0;
        }

        if (len - i - 1 < n) {
            return 0;
        }

        for (k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }

            c = c << 6 | (p[i + k] & 0x3f);
        }

        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            return 0;
        }

        i += n + 1;
    }

    return 1;
}
