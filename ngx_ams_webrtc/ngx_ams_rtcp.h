
/*
 * Copyright (C) nginx-ams authors
 *
 * RTCP (RFC 3550, RFC 4585, RFC 5104): reading the compound (or reduced
 * size, RFC 5506) packets a browser sends, and writing the ones we send:
 * SR, RR, NACK, PLI, FIR, REMB (draft-alvestrand-rmcat-remb) and the
 * transport-wide feedback of TWCC
 * (draft-holmer-rmcat-transport-wide-cc-extensions) when we receive.
 *
 * Free of nginx types: unit-tested and fuzzed alone.
 */


#ifndef _NGX_AMS_RTCP_H_INCLUDED_
#define _NGX_AMS_RTCP_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_RTCP_SR             200
#define NGX_AMS_RTCP_RR             201
#define NGX_AMS_RTCP_SDES           202
#define NGX_AMS_RTCP_BYE            203
#define NGX_AMS_RTCP_RTPFB          205     /* FMT 1 NACK, 15 TWCC */
#define NGX_AMS_RTCP_PSFB           206     /* FMT 1 PLI, 4 FIR, 15 REMB */

#define NGX_AMS_RTCP_MAX_REPORTS    31
#define NGX_AMS_RTCP_MAX_NACKS      256     /* sequence numbers per packet */


typedef struct {
    uint32_t            ssrc;               /* the source reported on */
    uint8_t             fraction_lost;
    int32_t             cumulative_lost;
    uint32_t            highest_seq;
    uint32_t            jitter;
    uint32_t            lsr;
    uint32_t            dlsr;
} ngx_ams_rtcp_report_t;


/* one item of a compound packet, as ngx_ams_rtcp_next() returns it */
typedef struct {
    uint8_t             type;               /* NGX_AMS_RTCP_* */
    uint8_t             fmt;                /* RTPFB/PSFB; count otherwise */
    uint32_t            sender_ssrc;
    uint32_t            media_ssrc;         /* RTPFB/PSFB */

    /* SR */
    uint64_t            ntp;
    uint32_t            rtp_ts;
    uint32_t            packets;
    uint32_t            octets;
    /* SR, RR */
    ngx_ams_rtcp_report_t  report[NGX_AMS_RTCP_MAX_REPORTS];
    unsigned            nreports;
    /* NACK: the lost sequence numbers, expanded from PID+BLP */
    uint16_t            nack[NGX_AMS_RTCP_MAX_NACKS];
    unsigned            nnacks;
    /* FIR: the command sequence number for our SSRC (media_ssrc set to
     * the FCI's SSRC) */
    uint8_t             fir_seq;
    /* FIR: every FCI entry (the first 8), for a sender of several SSRCs */
    uint32_t            fir_ssrc[8];
    uint8_t             fir_seqs[8];
    unsigned            nfirs;
    /* REMB: bits per second, and the SSRCs it covers (first 8) */
    uint64_t            remb_bitrate;
    uint32_t            remb_ssrc[8];
    unsigned            nremb_ssrcs;
} ngx_ams_rtcp_item_t;


typedef struct {
    const uint8_t      *p;
    const uint8_t      *end;
} ngx_ams_rtcp_iter_t;


void ngx_ams_rtcp_iter_init(ngx_ams_rtcp_iter_t *it, const uint8_t *p,
    size_t len);
/*
 * 1 with *item, 0 at the end, -1 on a malformed packet (stop there:
 * what came before was valid).  Types we do not use (SDES, BYE, APP,
 * XR, TWCC feedback, other feedback) are returned with only type/fmt/
 * sender_ssrc (and media_ssrc for feedback) set, once their lengths
 * are checked.  Malformed: a version other than 2, a length past the
 * end, a padding count that does not fit, a payload type outside
 * 192..223, an item shorter than its type needs (SR/RR report blocks,
 * SDES chunks, BYE SSRCs, a NACK or FIR without an FCI entry, a REMB's
 * SSRC list or a bitrate past 64 bits).  A NACK's sequence numbers past
 * NGX_AMS_RTCP_MAX_NACKS are left out.
 */
int ngx_ams_rtcp_next(ngx_ams_rtcp_iter_t *it, ngx_ams_rtcp_item_t *item);

/*
 * Writers: each returns the bytes written at "p" (0 when "cap" is too
 * small) and may be concatenated into one compound packet (SR or RR
 * first, RFC 3550 6.1; reduced size is also fine for browsers).
 */
size_t ngx_ams_rtcp_write_sr(uint8_t *p, size_t cap, uint32_t ssrc,
    uint64_t ntp, uint32_t rtp_ts, uint32_t packets, uint32_t octets);
size_t ngx_ams_rtcp_write_rr(uint8_t *p, size_t cap, uint32_t ssrc,
    const ngx_ams_rtcp_report_t *reports, unsigned n);
size_t ngx_ams_rtcp_write_sdes_cname(uint8_t *p, size_t cap, uint32_t ssrc,
    const char *cname);
/* lost sequence numbers, any order: packed into PID+BLP items */
size_t ngx_ams_rtcp_write_nack(uint8_t *p, size_t cap, uint32_t sender,
    uint32_t media, const uint16_t *seqs, unsigned n);
size_t ngx_ams_rtcp_write_pli(uint8_t *p, size_t cap, uint32_t sender,
    uint32_t media);
size_t ngx_ams_rtcp_write_fir(uint8_t *p, size_t cap, uint32_t sender,
    uint32_t media, uint8_t seq);
size_t ngx_ams_rtcp_write_remb(uint8_t *p, size_t cap, uint32_t sender,
    uint64_t bitrate, const uint32_t *ssrcs, unsigned n);

/* NTP time (RFC 3550: seconds since 1900 in the high 32 bits) of a
 * Unix time in microseconds */
uint64_t ngx_ams_rtcp_ntp(uint64_t unix_usec);

/* the middle 32 bits of an NTP time: an SR's as an RR's "lsr", and the
 * unit (1/65536 s) of "dlsr" and of round-trip times computed from them */
#define ngx_ams_rtcp_ntp_mid(ntp)   ((uint32_t) ((ntp) >> 16))

/*
 * With rtcp-mux (RFC 5761 4): 1 when a packet (SRTP or SRTCP, RFC 7983
 * already said it is one of them) is RTCP: its second byte is a payload
 * type 192..223; 0 when RTP.
 */
int ngx_ams_rtcp_is_rtcp(const uint8_t *p, size_t len);


#endif /* _NGX_AMS_RTCP_H_INCLUDED_ */
