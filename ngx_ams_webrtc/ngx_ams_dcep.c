
/*
 * Copyright (C) nginx-ams authors
 *
 * RFC 8832 messages.  DATA_CHANNEL_OPEN:
 *
 *    0: message type (0x03)   1: channel type   2-3: priority
 *    4-7: reliability parameter   8-9: label length
 *   10-11: protocol length   12-: label, then protocol
 *
 * A message whose lengths do not add up to exactly its size is refused:
 * nothing legitimate pads it, and a lenient parser is one more place
 * for two readings of the same bytes.
 */


#include <string.h>

#include "ngx_ams_dcep.h"


int
ngx_ams_dcep_type(const uint8_t *p, size_t len)
{
    return len ? p[0] : -1;
}


int
ngx_ams_dcep_valid_channel_type(uint8_t type)
{
    switch (type) {
    case NGX_AMS_DCEP_RELIABLE:
    case NGX_AMS_DCEP_RELIABLE_UNORDERED:
    case NGX_AMS_DCEP_PARTIAL_REXMIT:
    case NGX_AMS_DCEP_PARTIAL_REXMIT_UNORDERED:
    case NGX_AMS_DCEP_PARTIAL_TIMED:
    case NGX_AMS_DCEP_PARTIAL_TIMED_UNORDERED:
        return 1;
    }

    return 0;
}


int
ngx_ams_dcep_parse_open(const uint8_t *p, size_t len,
    ngx_ams_dcep_open_t *o)
{
    size_t  ll, pl;

    memset(o, 0, sizeof(ngx_ams_dcep_open_t));

    if (len < NGX_AMS_DCEP_OPEN_HEADER_LEN || p[0] != NGX_AMS_DCEP_OPEN
        || !ngx_ams_dcep_valid_channel_type(p[1]))
    {
        return NGX_AMS_DCEP_MALFORMED;
    }

    ll = (size_t) p[8] << 8 | p[9];
    pl = (size_t) p[10] << 8 | p[11];

    if (NGX_AMS_DCEP_OPEN_HEADER_LEN + ll + pl != len) {
        return NGX_AMS_DCEP_MALFORMED;
    }

    if (ll > NGX_AMS_DCEP_MAX_LABEL || pl > NGX_AMS_DCEP_MAX_LABEL) {
        return NGX_AMS_DCEP_TOO_LONG;
    }

    o->channel_type = p[1];
    o->priority = (uint16_t) (p[2] << 8 | p[3]);
    o->reliability = (uint32_t) p[4] << 24 | (uint32_t) p[5] << 16
                     | (uint32_t) p[6] << 8 | p[7];
    o->label = p + NGX_AMS_DCEP_OPEN_HEADER_LEN;
    o->label_len = ll;
    o->protocol = o->label + ll;
    o->protocol_len = pl;

    return NGX_AMS_DCEP_OK;
}


int
ngx_ams_dcep_parse_ack(const uint8_t *p, size_t len)
{
    /* RFC 8832 5.2: one byte; trailing bytes are not an ACK */
    return (len == 1 && p[0] == NGX_AMS_DCEP_ACK) ? NGX_AMS_DCEP_OK
                                                  : NGX_AMS_DCEP_MALFORMED;
}


size_t
ngx_ams_dcep_write_open(uint8_t *buf, size_t size,
    const ngx_ams_dcep_open_t *o)
{
    size_t    n;
    uint8_t  *p;

    if (o->label_len > NGX_AMS_DCEP_MAX_LABEL
        || o->protocol_len > NGX_AMS_DCEP_MAX_LABEL
        || !ngx_ams_dcep_valid_channel_type(o->channel_type))
    {
        return 0;
    }

    n = NGX_AMS_DCEP_OPEN_HEADER_LEN + o->label_len + o->protocol_len;

    if (n > size) {
        return 0;
    }

    p = buf;
    *p++ = NGX_AMS_DCEP_OPEN;
    *p++ = o->channel_type;
    *p++ = (uint8_t) (o->priority >> 8);
    *p++ = (uint8_t) o->priority;
    *p++ = (uint8_t) (o->reliability >> 24);
    *p++ = (uint8_t) (o->reliability >> 16);
    *p++ = (uint8_t) (o->reliability >> 8);
    *p++ = (uint8_t) o->reliability;
    *p++ = (uint8_t) (o->label_len >> 8);
    *p++ = (uint8_t) o->label_len;
    *p++ = (uint8_t) (o->protocol_len >> 8);
    *p++ = (uint8_t) o->protocol_len;

    if (o->label_len) {
        memcpy(p, o->label, o->label_len);
        p += o->label_len;
    }

    if (o->protocol_len) {
        memcpy(p, o->protocol, o->protocol_len);
    }

    return n;
}


size_t
ngx_ams_dcep_write_ack(uint8_t *buf, size_t size)
{
    if (size < 1) {
        return 0;
    }

    buf[0] = NGX_AMS_DCEP_ACK;

    return 1;
}
