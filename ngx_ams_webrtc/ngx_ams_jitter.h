
/*
 * Copyright (C) nginx-ams authors
 *
 * A jitter buffer for one received RTP stream: puts packets back in
 * sequence order, asks for what is missing (the NACK list), and gives up
 * on a hole after "max_delay" (milliseconds of the caller's clock) or
 * when the buffer is full, so a lost packet costs at most that much
 * latency.  Duplicates and packets older than what was delivered are
 * dropped.  The packets are copied in.  Until the first pop(), packets
 * numbered before the first one still find their place; after it they
 * are late.  A packet further ahead than "slots" (a longer loss, or a
 * sender that jumped) starts the buffer again from it, and so do 32 in
 * a row far behind (a sender that started again lower).
 *
 * Free of nginx types: unit-tested and fuzzed alone.
 */


#ifndef _NGX_AMS_JITTER_H_INCLUDED_
#define _NGX_AMS_JITTER_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


typedef struct ngx_ams_jitter_s  ngx_ams_jitter_t;


typedef struct {
    uint64_t            received;
    uint64_t            duplicates;
    uint64_t            late;               /* older than delivered */
    uint64_t            lost;               /* given up on */
    uint64_t            nacked;             /* asked for again */
    uint64_t            recovered;          /* arrived after a NACK */
} ngx_ams_jitter_stats_t;


/* "slots": packets held at most (a power of two, up to 4096; else NULL);
 * a slot takes NGX_AMS_RTP_MAX_PACKET bytes */
ngx_ams_jitter_t *ngx_ams_jitter_create(unsigned slots, unsigned max_delay);
void ngx_ams_jitter_free(ngx_ams_jitter_t *j);

/* a packet (its whole RTP bytes, 1..NGX_AMS_RTP_MAX_PACKET) with its
 * sequence number, at time "now": 0 kept, 1 dropped (duplicate, late,
 * too big) */
int ngx_ams_jitter_push(ngx_ams_jitter_t *j, uint16_t seq,
    const uint8_t *p, size_t len, uint64_t now);

/*
 * The next packet in order, if it is here, or if the hole before it was
 * given up on at "now" (then *lost is set): 1 with *p and *len (valid until
 * the next call), 0 when nothing can be delivered yet.
 */
int ngx_ams_jitter_pop(ngx_ams_jitter_t *j, uint64_t now, const uint8_t **p,
    size_t *len, uint16_t *seq, unsigned *lost);

/*
 * Sequence numbers missing now and not asked for in the last "rtt"
 * milliseconds (each is asked for at most 3 times): up to "max" into
 * "seqs", their count returned.
 */
unsigned ngx_ams_jitter_missing(ngx_ams_jitter_t *j, uint64_t now,
    unsigned rtt, uint16_t *seqs, unsigned max);

/* when pop() would next have something to give up on: a time (0 when
 * it has a packet to give now), or UINT64_MAX when nothing is held */
uint64_t ngx_ams_jitter_deadline(ngx_ams_jitter_t *j);

void ngx_ams_jitter_stats(ngx_ams_jitter_t *j, ngx_ams_jitter_stats_t *st);


#endif /* _NGX_AMS_JITTER_H_INCLUDED_ */
