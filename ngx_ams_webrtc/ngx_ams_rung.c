
/*
 * Copyright (C) nginx-ams authors
 *
 * The rung chooser: see ngx_ams_rung.h.  Down is fast (loss over ~10%
 * steps down one rung, an estimate under 60% of the rung's rate goes
 * straight to the highest rung it is 60% of), up is slow (one rung after
 * NGX_AMS_RUNG_UP_MS of little loss and an estimate of 70% of the rate
 * played or more, the wait doubled after each try that failed).
 */


#include <string.h>

#include "ngx_ams_rung.h"


static unsigned ngx_ams_rung_fit(ngx_ams_rung_chooser_t *c,
    uint64_t estimate, unsigned from);
static int ngx_ams_rung_number(const unsigned char **p,
    const unsigned char *end, unsigned *v);


void
ngx_ams_rung_chooser_init(ngx_ams_rung_chooser_t *c, const uint64_t *bitrate,
    unsigned n, unsigned current, uint64_t now)
{
    memset(c, 0, sizeof(ngx_ams_rung_chooser_t));

    if (n > NGX_AMS_RUNG_MAX) {
        n = NGX_AMS_RUNG_MAX;
    }

    memcpy(c->bitrate, bitrate, n * sizeof(uint64_t));
    c->n = n;
    c->current = (n && current < n) ? current : 0;
    c->last_change = now;
    c->up_wait = NGX_AMS_RUNG_UP_MS;
}


unsigned
ngx_ams_rung_choose(ngx_ams_rung_chooser_t *c, uint64_t now,
    uint64_t estimate, int lost)
{
    unsigned  target;

    if (c->n < 2) {
        return c->current;
    }

    target = c->current;

    if (lost >= NGX_AMS_RUNG_LOSS_DOWN) {
        if (target + 1 < c->n) {
            target++;
        }

    } else if (estimate
               && estimate * 100
                  < c->bitrate[c->current] * NGX_AMS_RUNG_DOWN_PCT)
    {
        target = ngx_ams_rung_fit(c, estimate, c->current);

    } else {
        /* good for going up? */
        if (c->current == 0 || lost > NGX_AMS_RUNG_LOSS_OK
            || (estimate
                && estimate * 100
                   < c->bitrate[c->current] * NGX_AMS_RUNG_UP_PCT))
        {
            c->good = 0;
            return c->current;
        }

        if (!c->good) {
            c->good = 1;
            c->good_since = now;
        }

        if (now - c->good_since >= c->up_wait
            && now - c->last_change >= c->up_wait)
        {
            c->current--;
            c->last_change = now;
            c->good = 0;
            c->went_up = 1;
        }

        return c->current;
    }

    /* bad: down, at most one change per NGX_AMS_RUNG_DOWN_MS */
    c->good = 0;

    if (target != c->current
        && now - c->last_change >= NGX_AMS_RUNG_DOWN_MS)
    {
        if (c->went_up && now - c->last_change < 2 * c->up_wait) {
            /* the last try up failed: wait longer before the next */
            c->up_wait = c->up_wait * 2 < NGX_AMS_RUNG_UP_MAX_MS
                         ? c->up_wait * 2 : NGX_AMS_RUNG_UP_MAX_MS;
        }

        c->current = target;
        c->last_change = now;
        c->went_up = 0;
    }

    return c->current;
}


/* the highest rung at or below "from" the estimate is 60% of, else the
 * lowest */

static unsigned
ngx_ams_rung_fit(ngx_ams_rung_chooser_t *c, uint64_t estimate, unsigned from)
{
    unsigned  i;

    for (i = from; i < c->n; i++) {
        if (c->bitrate[i] * NGX_AMS_RUNG_DOWN_PCT <= estimate * 100) {
            return i;
        }
    }

    return c->n - 1;
}


int
ngx_ams_rung_parse_name(const unsigned char *name, size_t len,
    const unsigned char *id, size_t id_len, unsigned *height, unsigned *kbps)
{
    const unsigned char  *p, *end;

    if (len < id_len + 1 + 1 + 1 + 1 + 4
        || memcmp(name, id, id_len) != 0 || name[id_len] != '_')
    {
        return -1;
    }

    p = name + id_len + 1;
    end = name + len;

    if (ngx_ams_rung_number(&p, end, height) != 0
        || p == end || *p++ != 'p'
        || ngx_ams_rung_number(&p, end, kbps) != 0
        || end - p != 4 || memcmp(p, "kbps", 4) != 0
        || *height == 0)
    {
        return -1;
    }

    return 0;
}


/* a decimal number of 1 to 6 digits, no leading zero */

static int
ngx_ams_rung_number(const unsigned char **p, const unsigned char *end,
    unsigned *v)
{
    unsigned              n;
    const unsigned char  *s = *p;

    if (s == end || *s < '0' || *s > '9' || (*s == '0' && s + 1 < end
                                             && s[1] >= '0' && s[1] <= '9'))
    {
        return -1;
    }

    n = 0;

    while (s < end && *s >= '0' && *s <= '9') {
        if (s - *p >= 6) {
            return -1;
        }

        n = n * 10 + (*s++ - '0');
    }

    *v = n;
    *p = s;

    return 0;
}
