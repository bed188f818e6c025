
/*
 * Copyright (C) nginx-ams authors
 *
 * The rung a WebRTC viewer gets (nginx-free, unit-tested): candidates
 * are the original and the transcoder's rungs, highest bitrate first;
 * the viewer's feedback (REMB estimate, RR fraction lost) moves the
 * choice down at once and up only after a stable period.
 *
 * A receiver's estimate follows what it receives (aiortc's stays near
 * 0.75x of it, Chrome's caps at 1.5x): it cannot show room for a rung
 * above, only congestion (it drops well under the rate received).  So
 * down is "loss, or an estimate under 60% of the rate", and up is "a
 * stable period without either"; an up that is followed by a down
 * doubles the wait before the next one, so a viewer whose link lies
 * between two rungs does not flap.
 */


#ifndef _NGX_AMS_RUNG_H_INCLUDED_
#define _NGX_AMS_RUNG_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_RUNG_MAX          9       /* the original and 8 rungs */

/* a step down at most this often: the new rate needs a moment to show */
#define NGX_AMS_RUNG_DOWN_MS      1000
/* a step up after this long of good feedback (and of no change),
 * doubled after each failed try up to NGX_AMS_RUNG_UP_MAX_MS */
#define NGX_AMS_RUNG_UP_MS        8000
#define NGX_AMS_RUNG_UP_MAX_MS    64000
/* RR fraction lost (of 256): over ~10% steps down, under ~2% may go up */
#define NGX_AMS_RUNG_LOSS_DOWN    26
#define NGX_AMS_RUNG_LOSS_OK      5
/* congestion: the estimate under this percentage of the rate played;
 * going up needs it at NGX_AMS_RUNG_UP_PCT or more (hysteresis) */
#define NGX_AMS_RUNG_DOWN_PCT     60
#define NGX_AMS_RUNG_UP_PCT       70


typedef struct {
    uint64_t    bitrate[NGX_AMS_RUNG_MAX];   /* b/s, highest first */
    unsigned    n;
    unsigned    current;
    uint64_t    last_change;                 /* ms */
    uint64_t    good_since;                  /* ms, valid when good */
    uint64_t    up_wait;                     /* ms */
    unsigned    good:1;
    unsigned    went_up:1;                   /* the last change */
} ngx_ams_rung_chooser_t;


/* n candidates (at most NGX_AMS_RUNG_MAX are used), "current" playing */
void ngx_ams_rung_chooser_init(ngx_ams_rung_chooser_t *c,
    const uint64_t *bitrate, unsigned n, unsigned current, uint64_t now);

/*
 * One feedback sample at "now" (ms): "estimate" the viewer's REMB in b/s
 * (0: none yet), "lost" the RR's fraction lost of 256 (-1: no report).
 * Returns the candidate to play (c->current).
 */
unsigned ngx_ams_rung_choose(ngx_ams_rung_chooser_t *c, uint64_t now,
    uint64_t estimate, int lost);

/*
 * A rung's bus name "{id}_{height}p{kbps}kbps": 0 and its height and
 * rate when "name" is one of stream "id"'s, -1 otherwise.
 */
int ngx_ams_rung_parse_name(const unsigned char *name, size_t len,
    const unsigned char *id, size_t id_len, unsigned *height,
    unsigned *kbps);


#endif /* _NGX_AMS_RUNG_H_INCLUDED_ */
