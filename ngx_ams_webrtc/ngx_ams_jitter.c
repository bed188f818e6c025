
/*
 * Copyright (C) nginx-ams authors
 *
 * The jitter buffer of one received RTP stream.
 *
 * Sequence numbers are extended to 64 bits against the next one to
 * deliver ("next"), so wrapping at 65535 needs no special case.  The
 * window is [next, highest]: every slot in it is either held (a packet
 * is there) or missing (noticed when a later packet arrived, with the
 * time it was noticed and its NACK count).  A slot is ring[ext & mask]
 * and remembers which extended number it is for, so a stale slot is
 * never taken for a current one.
 *
 * The window never spans more than "slots": once it is full, pop()
 * gives up on the holes at its start, up to the first packet held,
 * without waiting for max_delay.
 * A packet further ahead than the window can hold (a burst of loss
 * longer than the buffer, or a sender that jumped) restarts it there,
 * what was held before counted lost: it would only have reached the
 * depacketizer behind a hole, which waits for a keyframe anyway.
 */


#include <stdlib.h>
#include <string.h>

#include "ngx_ams_rtp.h"
#include "ngx_ams_jitter.h"


#define NGX_AMS_JITTER_MAX_SLOTS    4096
#define NGX_AMS_JITTER_MAX_NACKS    3

/* far-behind packets in a row that mean the sender started again with
 * lower numbers, not a late packet */
#define NGX_AMS_JITTER_RESTART      32

#define NGX_AMS_JITTER_MISSING      0
#define NGX_AMS_JITTER_HELD         1
#define NGX_AMS_JITTER_DONE         2       /* delivered */


typedef struct {
    uint64_t            ext;                /* extended seq it is for */
    uint64_t            since;              /* missing: noticed then */
    uint64_t            nacked_at;
    uint16_t            len;
    uint8_t             state;
    uint8_t             nacks;
} ngx_ams_jitter_slot_t;


struct ngx_ams_jitter_s {
    unsigned                 slots;
    uint64_t                 mask;
    unsigned                 max_delay;

    uint64_t                 next;          /* the next to deliver */
    uint64_t                 highest;       /* next - 1 when empty */

    unsigned                 started:1;
    unsigned                 popped:1;      /* next moved (a packet given
                                               or a hole given up on) */
    unsigned                 lost_pending:1;
    unsigned                 far_behind;

    ngx_ams_jitter_stats_t   st;

    ngx_ams_jitter_slot_t   *ring;
    uint8_t                 *data;          /* slots * MAX_PACKET */
};


static void ngx_ams_jitter_start(ngx_ams_jitter_t *j, uint64_t ext);
static void ngx_ams_jitter_missing_upto(ngx_ams_jitter_t *j, uint64_t from,
    uint64_t to, uint64_t now);
static void ngx_ams_jitter_store(ngx_ams_jitter_t *j, uint64_t ext,
    const uint8_t *p, size_t len);


ngx_ams_jitter_t *
ngx_ams_jitter_create(unsigned slots, unsigned max_delay)
{
    ngx_ams_jitter_t  *j;

    if (slots == 0 || slots > NGX_AMS_JITTER_MAX_SLOTS
        || (slots & (slots - 1)) != 0)
    {
        return NULL;
    }

    j = calloc(1, sizeof(ngx_ams_jitter_t));
    if (j == NULL) {
        return NULL;
    }

    j->slots = slots;
    j->mask = slots - 1;
    j->max_delay = max_delay;

    j->ring = calloc(slots, sizeof(ngx_ams_jitter_slot_t));
    j->data = malloc((size_t) slots * NGX_AMS_RTP_MAX_PACKET);

    if (j->ring == NULL || j->data == NULL) {
        ngx_ams_jitter_free(j);
        return NULL;
    }

    return j;
}


void
ngx_ams_jitter_free(ngx_ams_jitter_t *j)
{
    if (j == NULL) {
        return;
    }

    free(j->ring);
    free(j->data);
    free(j);
}


int
ngx_ams_jitter_push(ngx_ams_jitter_t *j, uint16_t seq, const uint8_t *p,
    size_t len, uint64_t now)
{
    int32_t                 d;
    uint64_t                ext;
    ngx_ams_jitter_slot_t  *s;

    j->st.received++;

    if (len == 0 || len > NGX_AMS_RTP_MAX_PACKET) {
        return 1;
    }

    if (!j->started) {
        /* far from 0, so numbers before the first stay positive */
        ngx_ams_jitter_start(j, ((uint64_t) 1 << 32) + seq);
    }

    d = (int32_t) ((seq - (uint16_t) j->next) & 0xffff);
    if (d >= 0x8000) {
        d -= 0x10000;
    }

    ext = j->next + d;

    if (d < 0) {
        /* before anything is popped, the first packet may have
         * overtaken others: the window grows back while it fits */
        if (!j->popped && j->highest + 1 - ext <= j->slots) {
            ngx_ams_jitter_missing_upto(j, ext + 1, j->next, now);
            j->next = ext;
            ngx_ams_jitter_store(j, ext, p, len);
            j->far_behind = 0;
            return 0;
        }

        if ((uint32_t) -d > j->slots) {
            if (++j->far_behind < NGX_AMS_JITTER_RESTART) {
                j->st.late++;
                return 1;
            }

            /* the sender numbers from elsewhere now: start again after
             * everything seen, so no old slot matches */
            j->st.lost += j->highest + 1 - j->next;
            ngx_ams_jitter_start(j, ((j->highest + 1) | 0xffff) + 1 + seq);
            j->lost_pending = 1;
            ngx_ams_jitter_store(j, j->next, p, len);
            return 0;
        }

        s = &j->ring[ext & j->mask];

        if (s->ext == ext && s->state == NGX_AMS_JITTER_DONE) {
            j->st.duplicates++;

        } else {
            j->st.late++;
        }

        return 1;
    }

    j->far_behind = 0;

    if (ext <= j->highest) {
        s = &j->ring[ext & j->mask];

        if (s->ext == ext && s->state == NGX_AMS_JITTER_HELD) {
            j->st.duplicates++;
            return 1;
        }

        if (s->ext == ext && s->nacks > 0) {
            j->st.recovered++;
        }

        ngx_ams_jitter_store(j, ext, p, len);
        return 0;
    }

    if (ext - j->next >= j->slots) {
        /* more lost in a row than the buffer holds: start again here */
        j->st.lost += ext - j->next;
        j->next = ext;
        j->highest = ext - 1;
        j->lost_pending = 1;
    }

    ngx_ams_jitter_missing_upto(j, j->highest + 1, ext, now);
    ngx_ams_jitter_store(j, ext, p, len);

    return 0;
}


int
ngx_ams_jitter_pop(ngx_ams_jitter_t *j, uint64_t now, const uint8_t **p,
    size_t *len, uint16_t *seq, unsigned *lost)
{
    unsigned                full;
    ngx_ams_jitter_slot_t  *s;

    if (!j->started) {
        return 0;
    }

    /* full: the holes up to the next packet held are all given up on */
    full = (j->highest + 1 - j->next >= j->slots);

    while (j->next <= j->highest) {
        s = &j->ring[j->next & j->mask];

        if (s->ext == j->next && s->state == NGX_AMS_JITTER_HELD) {
            *p = j->data + (j->next & j->mask) * NGX_AMS_RTP_MAX_PACKET;
            *len = s->len;
            *seq = (uint16_t) j->next;
            *lost = j->lost_pending;

            s->state = NGX_AMS_JITTER_DONE;
            j->lost_pending = 0;
            j->popped = 1;
            j->next++;

            return 1;
        }

        /* a hole: wait for it while there is time and room */
        if (s->ext == j->next && !full && now < s->since + j->max_delay) {
            return 0;
        }

        j->st.lost++;
        j->lost_pending = 1;
        j->popped = 1;
        j->next++;
    }

    return 0;
}


unsigned
ngx_ams_jitter_missing(ngx_ams_jitter_t *j, uint64_t now, unsigned rtt,
    uint16_t *seqs, unsigned max)
{
    uint64_t                e;
    unsigned                n;
    ngx_ams_jitter_slot_t  *s;

    n = 0;

    if (!j->started) {
        return 0;
    }

    for (e = j->next; e <= j->highest && n < max; e++) {
        s = &j->ring[e & j->mask];

        if (s->ext != e || s->state != NGX_AMS_JITTER_MISSING
            || s->nacks >= NGX_AMS_JITTER_MAX_NACKS
            || (s->nacks > 0 && now < s->nacked_at + rtt))
        {
            continue;
        }

        seqs[n++] = (uint16_t) e;
        s->nacks++;
        s->nacked_at = now;
        j->st.nacked++;
    }

    return n;
}


uint64_t
ngx_ams_jitter_deadline(ngx_ams_jitter_t *j)
{
    ngx_ams_jitter_slot_t  *s;

    if (!j->started || j->next > j->highest) {
        return UINT64_MAX;
    }

    s = &j->ring[j->next & j->mask];

    /* deliverable now, or given up on at once */
    if (s->ext != j->next || s->state == NGX_AMS_JITTER_HELD
        || j->highest - j->next + 1 >= j->slots)
    {
        return 0;
    }

    return s->since + j->max_delay;
}


void
ngx_ams_jitter_stats(ngx_ams_jitter_t *j, ngx_ams_jitter_stats_t *st)
{
    *st = j->st;
}


static void
ngx_ams_jitter_start(ngx_ams_jitter_t *j, uint64_t ext)
{
    j->started = 1;
    j->popped = 0;
    j->far_behind = 0;
    j->next = ext;
    j->highest = ext - 1;
}


/* the slots of [from, to) are missing since "now" */

static void
ngx_ams_jitter_missing_upto(ngx_ams_jitter_t *j, uint64_t from, uint64_t to,
    uint64_t now)
{
    uint64_t                e;
    ngx_ams_jitter_slot_t  *s;

    for (e = from; e < to; e++) {
        s = &j->ring[e & j->mask];
        s->ext = e;
        s->state = NGX_AMS_JITTER_MISSING;
        s->since = now;
        s->nacks = 0;
        s->len = 0;
    }
}


static void
ngx_ams_jitter_store(ngx_ams_jitter_t *j, uint64_t ext, const uint8_t *p,
    size_t len)
{
    ngx_ams_jitter_slot_t  *s;

    s = &j->ring[ext & j->mask];
    s->ext = ext;
    s->state = NGX_AMS_JITTER_HELD;
    s->len = (uint16_t) len;

    memcpy(j->data + (ext & j->mask) * NGX_AMS_RTP_MAX_PACKET, p, len);

    if (ext > j->highest) {
        j->highest = ext;
    }
}
