
/*
 * Copyright (C) nginx-ams authors
 *
 * The rung a WebRTC viewer gets (nginx-free, unit-tested): candidates
 * are the original and the transcoder's rungs, highest bitrate first;
 * the viewer's feedback (REMB estimate, RR fraction lost) moves the
 * choice down at once and up only after a stable period, so a viewer
 * near a rung's rate does not flap between two.
 */


#ifndef _NGX_AMS_RUNG_H_INCLUDED_
#define _NGX_AMS_RUNG_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_RUNG_MAX          9       /* the original and 8 rungs */

/* a step down at most this often: the new rate needs a moment to show */
#define NGX_AMS_RUNG_DOWN_MS      1000
/* a step up after this long of good feedback (and of no change) */
#define NGX_AMS_RUNG_UP_MS        8000
/* RR fraction lost (of 256): over ~10% steps down, under ~2% may go up */
#define NGX_AMS_RUNG_LOSS_DOWN    26
#define NGX_AMS_RUNG_LOSS_OK      5
/* a rung fits in this percentage of the estimate; going up needs the
 * stricter one (hysteresis) */
#define NGX_AMS_RUNG_FIT_PCT      85
#define NGX_AMS_RUNG_UP_PCT       70


typedef struct {
    uint64_t    bitrate[NGX_AMS_RUNG_MAX];   /* b/s, highest first */
    unsigned    n;
    unsigned    current;
    uint64_t    last_change;                 /* ms */
    uint64_t    good_since;                  /* ms, valid when good */
    unsigned    good:1;
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
