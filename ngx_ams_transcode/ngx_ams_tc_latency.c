
/*
 * Copyright (C) nginx-ams authors
 *
 * The engine's latency figures (see the header).
 */


#include <stddef.h>

#include "ngx_ams_tc_latency.h"


void
ngx_ams_tc_latency_arrived(ngx_ams_tc_latency_t *lt, int64_t pts,
    int64_t time)
{
    lt->arr_pts[lt->arr_next % NGX_AMS_TC_ARRIVALS] = pts;
    lt->arr_time[lt->arr_next % NGX_AMS_TC_ARRIVALS] = time;
    lt->arr_next++;
}


int64_t
ngx_ams_tc_latency_arrival(ngx_ams_tc_latency_t *lt, int64_t pts,
    int64_t now)
{
    unsigned  i, n, k;

    n = lt->arr_next < NGX_AMS_TC_ARRIVALS ? lt->arr_next
                                           : NGX_AMS_TC_ARRIVALS;

    for (i = 0; i < n; i++) {
        k = (lt->arr_next - 1 - i) % NGX_AMS_TC_ARRIVALS;

        if (lt->arr_pts[k] == pts) {
            return lt->arr_time[k];
        }
    }

    return now;
}


void
ngx_ams_tc_latency_picture(ngx_ams_tc_latency_t *lt, int64_t pts,
    int64_t arrival)
{
    ngx_ams_tc_pending_t  *e;

    if (lt->pend_n == NGX_AMS_TC_PENDING) {
        /* a rung that never catches up: forget the oldest */
        lt->pend_head = (lt->pend_head + 1) % NGX_AMS_TC_PENDING;
        lt->pend_n--;
    }

    e = &lt->pending[(lt->pend_head + lt->pend_n) % NGX_AMS_TC_PENDING];
    e->pts = pts;
    e->arrival = arrival;
    e->done = 0;
    lt->pend_n++;
}


void
ngx_ams_tc_latency_encoded(ngx_ams_tc_latency_t *lt, unsigned i,
    int64_t pts, uint32_t live, int64_t now)
{
    int64_t                ms;
    unsigned               k;
    ngx_ams_tc_pending_t  *e;

    for (k = 0; k < lt->pend_n; k++) {
        e = &lt->pending[(lt->pend_head + k) % NGX_AMS_TC_PENDING];

        if (e->pts != pts) {
            continue;
        }

        e->done |= 1u << i;

        if ((e->done & live) != live) {
            break;
        }

        ms = (now - e->arrival) / 1000000;
        if (ms < 0) {
            ms = 0;
        }

        lt->lat[ms < NGX_AMS_TC_LAT_BUCKETS ? ms : NGX_AMS_TC_LAT_BUCKETS]++;
        lt->samples++;

        /* encoders emit in decode order: entries before this one are
         * complete or never will be */
        e->done = live;
        break;
    }

    /* drop finished entries from the front */
    while (lt->pend_n) {
        e = &lt->pending[lt->pend_head];

        if ((e->done & live) != live) {
            break;
        }

        lt->pend_head = (lt->pend_head + 1) % NGX_AMS_TC_PENDING;
        lt->pend_n--;
    }
}


int
ngx_ams_tc_latency_figures(ngx_ams_tc_latency_t *lt, double *median,
    double *p99)
{
    uint64_t  total, acc, want50, want99;
    unsigned  i;
    int       got50;

    total = lt->samples;
    if (total == 0) {
        return -1;
    }

    want50 = (total + 1) / 2;
    want99 = (total * 99 + 99) / 100;
    acc = 0;
    got50 = 0;

    for (i = 0; i <= NGX_AMS_TC_LAT_BUCKETS; i++) {
        acc += lt->lat[i];

        if (!got50 && acc >= want50) {
            *median = i;
            got50 = 1;
        }

        if (acc >= want99) {
            *p99 = i;
            return 0;
        }
    }

    *p99 = NGX_AMS_TC_LAT_BUCKETS;

    return 0;
}
