
/*
 * Copyright (C) nginx-ams authors
 *
 * RTP (RFC 3550) packets: parsing and writing the fixed header, CSRCs
 * and one-byte/two-byte header extensions (RFC 8285), sequence number
 * arithmetic, and the history of packets sent that NACKs are answered
 * from (RFC 4585): the bytes kept are the encrypted ones, so a
 * retransmission is sent again as is (SRTP must never protect one
 * sequence number twice).
 *
 * Free of nginx types: unit-tested and fuzzed alone.
 */


#ifndef _NGX_AMS_RTP_H_INCLUDED_
#define _NGX_AMS_RTP_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_RTP_HEADER_LEN      12
#define NGX_AMS_RTP_MAX_PACKET      1500    /* a datagram, before SRTP */
/* what we put in one packet before SRTP adds its tag: IPv6 + UDP
 * headers, SRTP's 16 bytes, and room for extensions kept under a
 * 1280-byte path MTU */
#define NGX_AMS_RTP_MAX_PAYLOAD     1100


typedef struct {
    uint8_t             version;
    uint8_t             padding;
    uint8_t             extension;
    uint8_t             csrc_count;
    uint8_t             marker;
    uint8_t             pt;
    uint16_t            seq;
    uint32_t            ts;
    uint32_t            ssrc;
    /* the extension block (after its 4-byte header), when present */
    uint16_t            ext_profile;        /* 0xBEDE, 0x100x */
    const uint8_t      *ext;
    size_t              ext_len;
    const uint8_t      *payload;            /* after padding removed */
    size_t              payload_len;
    size_t              header_len;
} ngx_ams_rtp_header_t;


/* 0, or -1 when not a well-formed RTP packet (version 2, lengths,
 * padding count: at least 1, and no more than the payload) */
int ngx_ams_rtp_parse(const uint8_t *p, size_t len, ngx_ams_rtp_header_t *h);

/*
 * An extension element by id (RFC 8285, both forms): 1 with *data and
 * *len set, 0 when absent or when the block is malformed before it.  In
 * the one-byte form id 15 ends the block; in both, 0 bytes are padding.
 * A two-byte element may have no data (*len 0).
 */
int ngx_ams_rtp_ext_find(const ngx_ams_rtp_header_t *h, unsigned id,
    const uint8_t **data, size_t *len);

/*
 * Writes a 12-byte header, plus a one-byte-form extension block when
 * "ext_len" > 0 ("ext" holds the elements already encoded, padded here
 * to 4 bytes).  Returns the header length written.
 */
size_t ngx_ams_rtp_write_header(uint8_t *p, uint8_t pt, unsigned marker,
    uint16_t seq, uint32_t ts, uint32_t ssrc, const uint8_t *ext,
    size_t ext_len);

/* a one-byte extension element (id 1..14, len 1..16) appended at "p":
 * returns the bytes written (1 + len), 0 (nothing written) for an id or
 * length the form cannot carry */
size_t ngx_ams_rtp_ext_put(uint8_t *p, unsigned id, const uint8_t *data,
    size_t len);

/* sequence numbers: a - b as a signed distance (wraps at 65536) */
int32_t ngx_ams_rtp_seq_diff(uint16_t a, uint16_t b);

/*
 * 64-bit extended sequence numbers from 16-bit ones (RFC 3550 A.1): the
 * first packet seen is in cycle 0 (so "highest" is what an RR reports);
 * a packet is placed at the nearest distance from the highest (less than
 * 32768 either way).  A late packet from before the first one, across a
 * wrap, comes out below zero: compare extended numbers as int64_t.
 */
typedef struct {
    uint64_t            highest;            /* extended */
    unsigned            started:1;
} ngx_ams_rtp_seq_ext_t;

uint64_t ngx_ams_rtp_seq_extend(ngx_ams_rtp_seq_ext_t *e, uint16_t seq);


/*
 * Packets sent, by sequence number, for retransmission: "slots" packets
 * (a power of two) of up to NGX_AMS_RTP_MAX_PACKET bytes each, oldest
 * overwritten.  get() returns the bytes of "seq" if still held (and not
 * overwritten by a newer packet of the same slot), else NULL.
 */
typedef struct ngx_ams_rtp_history_s  ngx_ams_rtp_history_t;

ngx_ams_rtp_history_t *ngx_ams_rtp_history_create(unsigned slots);
void ngx_ams_rtp_history_put(ngx_ams_rtp_history_t *hi, uint16_t seq,
    const uint8_t *p, size_t len);
const uint8_t *ngx_ams_rtp_history_get(ngx_ams_rtp_history_t *hi,
    uint16_t seq, size_t *len);
void ngx_ams_rtp_history_free(ngx_ams_rtp_history_t *hi);


#endif /* _NGX_AMS_RTP_H_INCLUDED_ */
