
/*
 * Copyright (C) nginx-ams authors
 *
 * HLS and DASH viewers of a live stream.  HTTP has no "disconnect", so a
 * viewer is a client (a cookie, a subscriberId, or its address) that
 * fetched a playlist or segment within the application's viewer_timeout.
 * Each stream has a fixed table in the bus zone; lookups probe a short
 * window, so the cost per request stays constant.
 */


#ifndef _NGX_AMS_VIEWERS_H_INCLUDED_
#define _NGX_AMS_VIEWERS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"


#define NGX_AMS_VIEWER_HLS       1
#define NGX_AMS_VIEWER_DASH      2
#define NGX_AMS_VIEWER_ANY       3      /* find: either kind */

#define NGX_AMS_VIEWERS_SLOTS    4096   /* per stream and node */


size_t ngx_ams_viewers_size(void);

/*
 * A request of viewer "key": NGX_OK and its time refreshed if it is a
 * viewer already, NGX_DECLINED if not (the caller admits it or not).
 */
ngx_int_t ngx_ams_viewer_find(ngx_ams_stream_t *st, uint64_t key,
    ngx_uint_t type, ngx_msec_t timeout);
/* an admitted viewer; NGX_BUSY when the table is full (not counted) */
ngx_int_t ngx_ams_viewer_add(ngx_ams_stream_t *st, uint64_t key,
    ngx_uint_t type, ngx_msec_t timeout);
void ngx_ams_viewers_init_chains(void);
ngx_uint_t ngx_ams_viewer_count(ngx_ams_stream_t *st, ngx_uint_t type,
    ngx_msec_t timeout);


/*
 * WebRTC players have a connection, so they are counted exactly: join
 * when the player connects, leave once when it ends.  A player of a rung
 * or of the Opus companion is counted on the stream it belongs to
 * ({id}, the rung's parent).  The ticket remembers that stream and its
 * generation: a leave after the slot was taken by another stream does
 * nothing.  join: NGX_OK, or NGX_DECLINED (not live: nobody counted).
 */
typedef struct {
    ngx_ams_stream_t         *stream;       /* NULL: not counted */
    uint32_t                  generation;
} ngx_ams_viewer_ticket_t;

ngx_int_t ngx_ams_webrtc_viewer_join(ngx_str_t *app, ngx_str_t *name,
    ngx_ams_viewer_ticket_t *ticket);
void ngx_ams_webrtc_viewer_leave(ngx_ams_viewer_ticket_t *ticket);
/* the stream whose players those of "name" are ({id} for a rung), and
 * its generation; NULL when not live */
ngx_ams_stream_t *ngx_ams_webrtc_viewer_stream(ngx_str_t *app,
    ngx_str_t *name, uint32_t *generation);


#endif /* _NGX_AMS_VIEWERS_H_INCLUDED_ */
