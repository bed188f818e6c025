
/*
 * Copyright (C) nginx-ams authors
 *
 * DCEP (RFC 8832): DATA_CHANNEL_OPEN messages as browsers send them
 * parse to their fields, our writer reproduces them byte for byte, the
 * ACK; and what a hostile peer can send (short, lying lengths, trailing
 * bytes, unknown types, labels over our bound) is refused.
 */


#include <string.h>
#include <stdlib.h>

#include "tap.h"
#include "ngx_ams_dcep.h"


/* createDataChannel("chat"): reliable, ordered, priority 256 */
static const uint8_t  open_chat[] = {
    0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x04, 0x00, 0x00, 'c', 'h', 'a', 't'
};

/* { ordered: false, maxRetransmits: 5, protocol: "json" }, label "a" */
static const uint8_t  open_rexmit[] = {
    0x03, 0x81, 0x00, 0x80, 0x00, 0x00, 0x00, 0x05,
    0x00, 0x01, 0x00, 0x04, 'a', 'j', 's', 'o', 'n'
};

/* { maxPacketLifeTime: 3000 }, empty label */
static const uint8_t  open_timed[] = {
    0x03, 0x02, 0x02, 0x00, 0x00, 0x00, 0x0b, 0xb8,
    0x00, 0x00, 0x00, 0x00
};


static int
malformed(const uint8_t *p, size_t len)
{
    ngx_ams_dcep_open_t  o;

    return ngx_ams_dcep_parse_open(p, len, &o) == NGX_AMS_DCEP_MALFORMED
           && o.label == NULL;
}


int
main(void)
{
    size_t               n;
    uint8_t              buf[3000], m[64], *big;
    ngx_ams_dcep_open_t  o, w;

    is_int(ngx_ams_dcep_type(open_chat, sizeof(open_chat)),
           NGX_AMS_DCEP_OPEN, "type of an OPEN");
    is_int(ngx_ams_dcep_type(open_chat, 0), -1, "type of nothing");

    /* known messages */
    is_int(ngx_ams_dcep_parse_open(open_chat, sizeof(open_chat), &o),
           NGX_AMS_DCEP_OK, "a reliable OPEN parses");
    ok(o.channel_type == NGX_AMS_DCEP_RELIABLE && o.priority == 256
       && o.reliability == 0 && o.label_len == 4
       && memcmp(o.label, "chat", 4) == 0 && o.protocol_len == 0,
       "its type, priority, label and empty protocol");

    is_int(ngx_ams_dcep_parse_open(open_rexmit, sizeof(open_rexmit), &o),
           NGX_AMS_DCEP_OK, "a partially reliable unordered OPEN parses");
    ok(o.channel_type == NGX_AMS_DCEP_PARTIAL_REXMIT_UNORDERED
       && o.priority == 128 && o.reliability == 5 && o.label_len == 1
       && o.label[0] == 'a' && o.protocol_len == 4
       && memcmp(o.protocol, "json", 4) == 0,
       "its retransmissions, label and protocol");

    is_int(ngx_ams_dcep_parse_open(open_timed, sizeof(open_timed), &o),
           NGX_AMS_DCEP_OK, "a timed OPEN with an empty label parses");
    ok(o.channel_type == NGX_AMS_DCEP_PARTIAL_TIMED && o.priority == 512
       && o.reliability == 3000 && o.label_len == 0 && o.protocol_len == 0,
       "its lifetime");

    /* the writer gives the same bytes */
    memset(&w, 0, sizeof(w));
    w.channel_type = NGX_AMS_DCEP_RELIABLE;
    w.priority = 256;
    w.label = (const uint8_t *) "chat";
    w.label_len = 4;
    n = ngx_ams_dcep_write_open(m, sizeof(m), &w);
    ok(n == sizeof(open_chat) && memcmp(m, open_chat, n) == 0,
       "write_open reproduces the reliable OPEN");

    (void) ngx_ams_dcep_parse_open(open_rexmit, sizeof(open_rexmit), &o);
    n = ngx_ams_dcep_write_open(m, sizeof(m), &o);
    ok(n == sizeof(open_rexmit) && memcmp(m, open_rexmit, n) == 0,
       "parse then write round-trips");

    is_int(ngx_ams_dcep_write_open(m, sizeof(open_rexmit) - 1, &o), 0,
           "no room: 0");
    w.channel_type = 0x03;
    is_int(ngx_ams_dcep_write_open(m, sizeof(m), &w), 0,
           "an unknown channel type is not written");

    /* ACK */
    is_int(ngx_ams_dcep_write_ack(m, sizeof(m)), 1, "ACK is one byte");
    ok(m[0] == 0x02, "0x02");
    is_int(ngx_ams_dcep_write_ack(m, 0), 0, "no room for the ACK: 0");
    is_int(ngx_ams_dcep_parse_ack(m, 1), NGX_AMS_DCEP_OK, "ACK parses");
    is_int(ngx_ams_dcep_parse_ack((const uint8_t *) "\2\0", 2),
           NGX_AMS_DCEP_MALFORMED, "an ACK with a trailing byte: malformed");
    is_int(ngx_ams_dcep_parse_ack(m, 0), NGX_AMS_DCEP_MALFORMED,
           "an empty ACK: malformed");
    is_int(ngx_ams_dcep_parse_ack(open_chat, 1), NGX_AMS_DCEP_MALFORMED,
           "an OPEN byte is not an ACK");

    /* malformed OPENs */
    ok(malformed(open_chat, 11), "shorter than the header");
    ok(malformed(open_chat, 0), "empty");
    ok(malformed(open_chat, sizeof(open_chat) - 1), "label cut short");
    ok(malformed(open_rexmit, sizeof(open_rexmit) - 1),
       "protocol cut short");

    memcpy(buf, open_chat, sizeof(open_chat));
    buf[sizeof(open_chat)] = 'x';
    ok(malformed(buf, sizeof(open_chat) + 1), "a trailing byte");

    memcpy(buf, open_chat, sizeof(open_chat));
    buf[0] = 0x02;
    ok(malformed(buf, sizeof(open_chat)), "an ACK type with OPEN's body");

    buf[0] = 0x03;
    buf[1] = 0x03;
    ok(malformed(buf, sizeof(open_chat)), "channel type 0x03");
    buf[1] = 0x83;
    ok(malformed(buf, sizeof(open_chat)), "channel type 0x83");
    buf[1] = 0x7f;
    ok(malformed(buf, sizeof(open_chat)), "channel type 0x7f");

    memcpy(buf, open_chat, sizeof(open_chat));
    buf[8] = 0xff;
    buf[9] = 0xff;
    ok(malformed(buf, sizeof(open_chat)), "label length 65535");
    buf[8] = 0;
    buf[9] = 4;
    buf[10] = 0xff;
    buf[11] = 0xfc;
    ok(malformed(buf, sizeof(open_chat)),
       "label and protocol adding up past the message");

    /* our bound on label and protocol */
    big = calloc(1, 12 + 2 * 1025);
    memcpy(big, open_chat, 12);
    big[8] = 1024 >> 8;
    big[9] = 1024 & 0xff;
    big[10] = 1024 >> 8;
    big[11] = 1024 & 0xff;
    is_int(ngx_ams_dcep_parse_open(big, 12 + 2048, &o), NGX_AMS_DCEP_OK,
           "label and protocol of 1024 bytes each: taken");
    n = ngx_ams_dcep_write_open(buf, sizeof(buf), &o);
    ok(n == 12 + 2048 && memcmp(buf, big, n) == 0, "and written back");

    big[9] = 1025 & 0xff;
    is_int(ngx_ams_dcep_parse_open(big, 12 + 2049, &o),
           NGX_AMS_DCEP_TOO_LONG, "a label of 1025: too long");
    big[9] = 1024 & 0xff;
    big[11] = 1025 & 0xff;
    is_int(ngx_ams_dcep_parse_open(big, 12 + 2049, &o),
           NGX_AMS_DCEP_TOO_LONG, "a protocol of 1025: too long");

    w.channel_type = NGX_AMS_DCEP_RELIABLE;
    w.label = big;
    w.label_len = 1025;
    is_int(ngx_ams_dcep_write_open(buf, sizeof(buf), &w), 0,
           "a label of 1025 is not written");
    free(big);

    ok(ngx_ams_dcep_valid_channel_type(0x82)
       && !ngx_ams_dcep_valid_channel_type(0x04),
       "channel types known and not");

    return done_testing();
}
