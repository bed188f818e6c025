
/*
 * Copyright (C) nginx-ams authors
 *
 * Broadcast records: what Ant Media Server keeps about each stream (its
 * "Broadcast" object, same field names), kept in the store.  A publish
 * makes the record "broadcasting", a live stream refreshes it every
 * 10 s (updateTime, bitrate, receivedBytes, viewer counts), its end makes
 * it "finished".
 */


#ifndef _NGX_AMS_BROADCAST_H_INCLUDED_
#define _NGX_AMS_BROADCAST_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "ngx_ams_core.h"
#include "ngx_ams_broadcast_schema.h"


#define NGX_AMS_BROADCAST_REFRESH_MS   10000



/* records follow the publish and unpublish chains */
void ngx_ams_broadcast_init_chains(void);

/*
 * A CLAIM of stream "id" for this node, for a cluster's publish
 * admission (ngx_ams_access.c): the record becomes broadcasting from
 * this node (originAdress, updateTime) unless another origin holds it;
 * a new record is a zombi as a publish makes it.  The publish that
 * follows writes the rest (session, type, figures).  NULL: no memory.
 */
struct ngx_ams_store_op_s *ngx_ams_broadcast_claim(ngx_str_t *app,
    ngx_str_t *id, ngx_log_t *log);

/* viewer counts of a live stream as AMS reports them */
ngx_uint_t ngx_ams_broadcast_viewers(ngx_ams_stream_t *st,
    ngx_ams_app_conf_t *app, ngx_uint_t type);

ngx_int_t ngx_ams_broadcast_init_worker(ngx_cycle_t *cycle);


#endif /* _NGX_AMS_BROADCAST_H_INCLUDED_ */
