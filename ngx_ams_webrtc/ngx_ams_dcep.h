
/*
 * Copyright (C) nginx-ams authors
 *
 * The Data Channel Establishment Protocol (RFC 8832): the
 * DATA_CHANNEL_OPEN message that opens a WebRTC data channel on an SCTP
 * stream, and the DATA_CHANNEL_ACK that answers it.  Both travel on
 * the channel's own stream with PPID 50.  Parse and write, nothing
 * else: the SCTP layer (ngx_ams_sctp.c) keeps the channels.
 *
 * Free of nginx types: unit-tested and fuzzed alone.
 */


#ifndef _NGX_AMS_DCEP_H_INCLUDED_
#define _NGX_AMS_DCEP_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* message types (RFC 8832 8.2.1) */
#define NGX_AMS_DCEP_ACK                    0x02
#define NGX_AMS_DCEP_OPEN                   0x03

/* channel types (RFC 8832 5.1) */
#define NGX_AMS_DCEP_RELIABLE               0x00
#define NGX_AMS_DCEP_RELIABLE_UNORDERED     0x80
#define NGX_AMS_DCEP_PARTIAL_REXMIT         0x01
#define NGX_AMS_DCEP_PARTIAL_REXMIT_UNORDERED 0x81
#define NGX_AMS_DCEP_PARTIAL_TIMED          0x02
#define NGX_AMS_DCEP_PARTIAL_TIMED_UNORDERED  0x82

#define NGX_AMS_DCEP_UNORDERED_BIT          0x80

/* the OPEN message's fixed part */
#define NGX_AMS_DCEP_OPEN_HEADER_LEN        12

/*
 * Our bound on a label and on a protocol, each (the format allows
 * 65535).  Browsers send short ones; a longer one would only cost the
 * memory kept per channel, so it is refused.
 */
#define NGX_AMS_DCEP_MAX_LABEL              1024

/* parse results */
#define NGX_AMS_DCEP_OK                     0
#define NGX_AMS_DCEP_MALFORMED             -1   /* lengths, type */
#define NGX_AMS_DCEP_TOO_LONG              -2   /* label/protocol over
                                                   NGX_AMS_DCEP_MAX_LABEL */


typedef struct {
    uint8_t             channel_type;        /* NGX_AMS_DCEP_RELIABLE... */
    uint16_t            priority;
    uint32_t            reliability;         /* retransmissions or ms;
                                                0 for reliable types */
    const uint8_t      *label;               /* into the message parsed;
                                                not NUL-terminated */
    size_t              label_len;
    const uint8_t      *protocol;
    size_t              protocol_len;
} ngx_ams_dcep_open_t;


/* the message type (first byte), or -1 for an empty message */
int ngx_ams_dcep_type(const uint8_t *p, size_t len);
/* a known channel type? */
int ngx_ams_dcep_valid_channel_type(uint8_t type);

/* DATA_CHANNEL_OPEN: NGX_AMS_DCEP_OK and *o filled, or an error */
int ngx_ams_dcep_parse_open(const uint8_t *p, size_t len,
    ngx_ams_dcep_open_t *o);
/* DATA_CHANNEL_ACK: NGX_AMS_DCEP_OK or NGX_AMS_DCEP_MALFORMED */
int ngx_ams_dcep_parse_ack(const uint8_t *p, size_t len);

/* the OPEN for *o into buf: its length, or 0 (no room, label or
 * protocol over the bound, unknown channel type) */
size_t ngx_ams_dcep_write_open(uint8_t *buf, size_t size,
    const ngx_ams_dcep_open_t *o);
/* the ACK: 1, or 0 with no room */
size_t ngx_ams_dcep_write_ack(uint8_t *buf, size_t size);


#endif /* _NGX_AMS_DCEP_H_INCLUDED_ */
