
/*
 * Copyright (C) nginx-ams authors
 *
 * The engine's latency figures, free of nginx types: when each packet
 * reached the bus (by pts), each picture until every live rung encoded
 * it, a 1 ms histogram of arrival to encoded, its median and p99.
 */


#ifndef _NGX_AMS_TC_LATENCY_H_INCLUDED_
#define _NGX_AMS_TC_LATENCY_H_INCLUDED_


#include <stdint.h>


#define NGX_AMS_TC_ARRIVALS      256      /* packets' arrival kept */
#define NGX_AMS_TC_PENDING       512      /* frames not yet on every rung */
#define NGX_AMS_TC_LAT_BUCKETS   10000    /* 1 ms each */


typedef struct {
    int64_t                 pts;
    int64_t                 arrival;
    uint32_t                done;          /* rungs that encoded it */
} ngx_ams_tc_pending_t;


typedef struct {
    int64_t                 arr_pts[NGX_AMS_TC_ARRIVALS];
    int64_t                 arr_time[NGX_AMS_TC_ARRIVALS];
    unsigned                arr_next;

    ngx_ams_tc_pending_t    pending[NGX_AMS_TC_PENDING];
    unsigned                pend_head;
    unsigned                pend_n;

    uint64_t                samples;
    uint32_t                lat[NGX_AMS_TC_LAT_BUCKETS + 1];
} ngx_ams_tc_latency_t;


/* a packet of this pts reached the bus at "time" */
void ngx_ams_tc_latency_arrived(ngx_ams_tc_latency_t *lt, int64_t pts,
    int64_t time);

/* when the packet of this pts arrived, "now" if it is not known */
int64_t ngx_ams_tc_latency_arrival(ngx_ams_tc_latency_t *lt, int64_t pts,
    int64_t now);

/* a decoded picture, to be encoded on every live rung */
void ngx_ams_tc_latency_picture(ngx_ams_tc_latency_t *lt, int64_t pts,
    int64_t arrival);

/* rung i encoded the picture of this pts; "live": the rungs that count */
void ngx_ams_tc_latency_encoded(ngx_ams_tc_latency_t *lt, unsigned i,
    int64_t pts, uint32_t live, int64_t now);

/* in ms: 0 with the figures, -1 with no samples */
int ngx_ams_tc_latency_figures(ngx_ams_tc_latency_t *lt, double *median,
    double *p99);


#endif /* _NGX_AMS_TC_LATENCY_H_INCLUDED_ */
