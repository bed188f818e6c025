
/*
 * Copyright (C) nginx-ams authors
 *
 * A WebRTC viewer of a stream not live on this node: the stream-missing
 * chain is told (a cluster node pulls it from its origin as a relay) and
 * the signalling waits, on a timer, for its first frame before it
 * answers.  A node with nowhere to pull from answers at once.
 */


#ifndef _NGX_AMS_WEBRTC_WAIT_H_INCLUDED_
#define _NGX_AMS_WEBRTC_WAIT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_core.h"


/* how long a viewer waits for a pulled stream's first frame */
#define NGX_AMS_WEBRTC_WAIT_TIMEOUT  5000    /* ms */
/* how often the bus is looked at meanwhile */
#define NGX_AMS_WEBRTC_WAIT_POLL     50      /* ms */


typedef struct ngx_ams_webrtc_wait_s  ngx_ams_webrtc_wait_t;

/* the wait is over: the stream has frames ("live" 1) or the time is up
 * (0); the caller goes on as without a wait (prepare answers 404 for a
 * stream still missing) */
typedef void (*ngx_ams_webrtc_wait_pt)(ngx_ams_webrtc_wait_t *w,
    ngx_uint_t live);

struct ngx_ams_webrtc_wait_s {
    ngx_event_t               timer;
    ngx_ams_app_conf_t       *app;
    ngx_str_t                 name;          /* the caller's, outlives it */
    ngx_msec_t                started;
    ngx_ams_webrtc_wait_pt    handler;
    void                     *data;
};


/*
 * NGX_OK: go on now (the stream has frames, is published locally, or
 * nothing will pull it); NGX_AGAIN: "handler" runs later, once; the
 * caller cancels the wait if it goes first.
 */
ngx_int_t ngx_ams_webrtc_wait_start(ngx_ams_webrtc_wait_t *w,
    ngx_ams_app_conf_t *app, ngx_str_t *name, ngx_log_t *log);
void ngx_ams_webrtc_wait_cancel(ngx_ams_webrtc_wait_t *w);


#endif /* _NGX_AMS_WEBRTC_WAIT_H_INCLUDED_ */
