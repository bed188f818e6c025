
/*
 * Copyright (C) nginx-ams authors
 *
 * An RTMP client on the event loop that plays a stream from another node
 * and publishes it into this node's bus as a relay source of the same
 * application and name: what a cluster node does for a stream that lives
 * elsewhere (ngx_ams_cluster_relay.c).  One pull serves every local
 * reader, on any worker; it ends with the origin's stream (local readers
 * get the end as from a publisher), when the connection drops or goes
 * silent, when a check says the origin is gone, and "release" after the
 * last local reader (RTMP players, HLS/DASH viewers) left.
 */


#ifndef _NGX_AMS_RTMP_PULL_H_INCLUDED_
#define _NGX_AMS_RTMP_PULL_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"


/* 0 when the origin should no longer be pulled from (it turned DEAD) */
typedef ngx_uint_t (*ngx_ams_rtmp_pull_check_pt)(ngx_str_t *origin);


typedef struct {
    ngx_ams_app_conf_t           *app;
    ngx_str_t                     name;          /* the stream id */
    ngx_str_t                     host;          /* an IPv4/IPv6 address */
    in_port_t                     port;
    ngx_str_t                     token;         /* ?token=, may be empty */
    ngx_msec_t                    start_timeout; /* to NetStream.Play.Start */
    ngx_msec_t                    idle_timeout;  /* no media this long */
    ngx_msec_t                    release;       /* after the last reader */
    ngx_str_t                     origin;        /* for "check" */
    ngx_ams_rtmp_pull_check_pt    check;         /* may be NULL */
} ngx_ams_rtmp_pull_conf_t;


/*
 * Context: the event loop.  Everything in "conf" is copied.
 * NGX_OK: the stream is published here now (its readers open it, frames
 * follow once the origin sends them); NGX_BUSY: it is live on this node
 * already (another worker's pull, a publisher): nothing to do;
 * NGX_ERROR.
 */
ngx_int_t ngx_ams_rtmp_pull_start(ngx_ams_rtmp_pull_conf_t *conf,
    ngx_log_t *log);

/* pulls this worker started, and those running now (for tests, metrics) */
ngx_uint_t ngx_ams_rtmp_pull_count(ngx_uint_t running);


#endif /* _NGX_AMS_RTMP_PULL_H_INCLUDED_ */
