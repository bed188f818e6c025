
/*
 * Copyright (C) nginx-ams authors
 *
 * H.264 over RTP (RFC 6184, packetization-mode 1).
 *
 * The packetizer turns one bus frame (an AVCC access unit: NAL units
 * with 1, 2 or 4-byte length prefixes) into RTP payloads: STAP-A with
 * the SPS and PPS (from the stream's avcC) before each IDR, single NAL
 * unit packets for what fits, FU-A fragments for what does not.  AUDs,
 * SEI and filler are dropped, and NAL types 0 and 24..31 (a receiver
 * would take them for aggregation packets or fragments).
 *
 * The depacketizer takes payloads in sequence order (after the jitter
 * buffer) and hands back whole access units in AVCC form (4-byte
 * lengths), with SPS/PPS taken out of the stream and kept (an avcC can
 * be made from them), and the keyframe flag.  A gap in sequence numbers
 * or a broken FU-A drops the access unit and waits for the next IDR
 * ("need_keyframe": the caller sends a PLI).
 *
 * Free of nginx types: unit-tested and fuzzed alone.
 */


#ifndef _NGX_AMS_RTP_H264_H_INCLUDED_
#define _NGX_AMS_RTP_H264_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_H264_MAX_AU         (4 * 1024 * 1024)   /* bytes */
#define NGX_AMS_H264_PS_MAX         256     /* one SPS or PPS */


/* --- packetizer --- */

typedef struct {
    /* the access unit, its NAL length size, and what goes first */
    const uint8_t      *au;
    size_t              au_len;
    unsigned            nal_length_size;
    const uint8_t      *sps;                /* NULL: none sent */
    size_t              sps_len;
    const uint8_t      *pps;
    size_t              pps_len;
    size_t              max_payload;        /* NGX_AMS_RTP_MAX_PAYLOAD */

    /* state */
    const uint8_t      *next;               /* the next length field */
    const uint8_t      *nal;                /* NAL being sent, NULL: none */
    size_t              nal_len;
    size_t              nal_off;            /* 0: not started */
    const uint8_t      *last;               /* the last NAL sent (its
                                               header byte), NULL: none */
    unsigned            ps_pending:1;       /* STAP-A of SPS+PPS next */
    unsigned            ps_stage:2;         /* 1: SPS, 2: PPS next, each
                                               alone (no room for STAP-A) */
    unsigned            nal_last:1;         /* "nal" ends the unit */
    unsigned            malformed:1;        /* found so by init */
    unsigned            done:1;
} ngx_ams_h264_packetizer_t;


/*
 * "keyframe": SPS/PPS go first in a STAP-A (if both are given; each in
 * its own packet when a STAP-A of both would not fit).  The access unit
 * is checked whole here: one with a broken length field sends nothing.
 * The marker bit goes on the last packet of the last NAL sent, SPS/PPS
 * included when nothing else is sent.
 */
void ngx_ams_h264_packetizer_init(ngx_ams_h264_packetizer_t *pk,
    const uint8_t *au, size_t len, unsigned nal_length_size,
    const uint8_t *sps, size_t sps_len, const uint8_t *pps, size_t pps_len,
    unsigned keyframe, size_t max_payload);

/* the next payload into "out" (cap >= max_payload): its length, with
 * *marker set on the access unit's last packet; 0 when done; -1 when the
 * access unit is malformed (the rest of it is dropped) */
int ngx_ams_h264_packetizer_next(ngx_ams_h264_packetizer_t *pk,
    uint8_t *out, size_t cap, unsigned *marker);


/* --- depacketizer --- */

typedef struct ngx_ams_h264_depack_s  ngx_ams_h264_depack_t;

#define NGX_AMS_H264_DEPACK_AGAIN    0      /* more packets needed */
#define NGX_AMS_H264_DEPACK_FRAME    1      /* an access unit is ready */
#define NGX_AMS_H264_DEPACK_DROPPED  2      /* this packet (or the unit it
                                               belonged to) was dropped */

typedef struct {
    const uint8_t      *data;               /* AVCC, 4-byte lengths; valid
                                               until the next push */
    size_t              len;
    uint32_t            ts;                 /* RTP timestamp, 90 kHz */
    unsigned            keyframe:1;         /* holds an IDR */
    unsigned            config_changed:1;   /* new SPS/PPS came with it */
} ngx_ams_h264_au_t;

/* "max_au": bytes of one unit at most (0: NGX_AMS_H264_MAX_AU); NULL when
 * out of memory */
ngx_ams_h264_depack_t *ngx_ams_h264_depack_create(size_t max_au);
void ngx_ams_h264_depack_free(ngx_ams_h264_depack_t *d);

/*
 * One RTP payload, in sequence order; "lost" says packets were missing
 * right before this one (the jitter buffer gave up on them).  An access
 * unit ends at the marker bit or when the timestamp changes; when one is
 * complete, returns NGX_AMS_H264_DEPACK_FRAME and fills *au.
 *
 * A unit that ends without a marker is handed out by the push whose
 * packet changes the timestamp; if that packet also completes a unit,
 * the second one is handed out by the next push (one packet late: only
 * senders that leave the marker off pay it).  Payloads of length 0
 * (padding probes) are ignored.  An SPS is kept when 4..PS_MAX bytes and
 * parsable, a PPS when 2..PS_MAX bytes; an IDR unit ends the wait for a
 * keyframe only once both are known.  AUD and filler NAL units are
 * dropped, SEI kept.
 */
int ngx_ams_h264_depack_push(ngx_ams_h264_depack_t *d, const uint8_t *p,
    size_t len, uint32_t ts, unsigned marker, unsigned lost,
    ngx_ams_h264_au_t *au);

/* 1 while it drops everything until an IDR (after a loss or at start) */
unsigned ngx_ams_h264_depack_need_keyframe(ngx_ams_h264_depack_t *d);

/* an avcC (ISO 14496-15) from the SPS/PPS last seen (4-byte lengths;
 * with the chroma/bit-depth bytes for the High profiles, as FFmpeg writes
 * it): its length, 0 when none seen yet or "cap" is too small */
size_t ngx_ams_h264_depack_avcc(ngx_ams_h264_depack_t *d, uint8_t *out,
    size_t cap);


#endif /* _NGX_AMS_RTP_H264_H_INCLUDED_ */
