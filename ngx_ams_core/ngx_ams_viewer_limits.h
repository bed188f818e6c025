
/*
 * Copyright (C) nginx-ams authors
 *
 * Per-broadcast viewer limits (AMS's hlsViewerLimit, dashViewerLimit,
 * webRTCViewerLimit; -1: none): a new viewer of a protocol is refused
 * while the stream's count of that protocol is at its limit.  A viewer
 * already watching is never cut.  RTMP has no limit, as in AMS.
 *
 * The limits live in the stream's slot, so the check at admission is a
 * read of shared memory, never a store query.  They get there from the
 * record: read by the publishing worker when the stream starts and every
 * NGX_AMS_VIEWER_LIMITS_MS (ngx_ams_broadcast.c's tick), and written at
 * once by a REST change made on this node.
 */


#ifndef _NGX_AMS_VIEWER_LIMITS_H_INCLUDED_
#define _NGX_AMS_VIEWER_LIMITS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "ngx_ams_core.h"


#define NGX_AMS_VIEWER_LIMITS_MS   3000   /* the record read this often */

#define NGX_AMS_VIEWER_LIMIT_REACHED  "viewerLimitReached"   /* AMS's */


typedef struct ngx_ams_viewer_limits_read_s  ngx_ams_viewer_limits_read_t;


/*
 * The limits among a record's fields ("doc": a whole record, or the
 * fields a REST update changed: a limit absent keeps its value).  "rest"
 * moves the stamp: a read of the store that began before does not
 * overwrite this.
 */
void ngx_ams_viewer_limits_apply(ngx_ams_stream_t *st, json_t *doc,
    ngx_uint_t rest);

/* 1 when a new HLS or DASH viewer (NGX_AMS_VIEWER_HLS, _DASH) of "st" is
 * to be refused */
ngx_uint_t ngx_ams_viewer_limit_reached(ngx_ams_stream_t *st,
    ngx_uint_t type, ngx_msec_t timeout);

/* 1 when a new WebRTC player of "name" (a rung counts on its {id}) is
 * to be refused */
ngx_uint_t ngx_ams_webrtc_viewer_limit_reached(ngx_str_t *app,
    ngx_str_t *name);

/* one transaction reading the records of up to "n" streams */
ngx_ams_viewer_limits_read_t *ngx_ams_viewer_limits_read(ngx_uint_t n,
    ngx_log_t *log);
ngx_int_t ngx_ams_viewer_limits_read_add(ngx_ams_viewer_limits_read_t *rd,
    ngx_ams_stream_t *st);
void ngx_ams_viewer_limits_read_post(ngx_ams_viewer_limits_read_t *rd);


#endif /* _NGX_AMS_VIEWER_LIMITS_H_INCLUDED_ */
