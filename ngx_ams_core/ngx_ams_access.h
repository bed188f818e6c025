
/*
 * Copyright (C) nginx-ams authors
 *
 * Who may publish or play a stream, checked before any media flows, for
 * every protocol alike: resource limits, JWT stream tokens, one-time
 * tokens from the store, acceptOnlyStreamsInDataStore, and in a
 * cluster the publisher's claim of its stream id (streamIdInUse).
 */


#ifndef _NGX_AMS_ACCESS_H_INCLUDED_
#define _NGX_AMS_ACCESS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"


#define NGX_AMS_REFUSED_NONE          NULL
#define NGX_AMS_REFUSED_RESOURCES     "highResourceUsage"
#define NGX_AMS_REFUSED_TOKEN         "unauthorized"
#define NGX_AMS_REFUSED_NOT_IN_STORE  "notInDataStore"
#define NGX_AMS_REFUSED_IN_USE        "streamIdInUse"   /* another origin */
#define NGX_AMS_REFUSED_STORE         "dataStoreError"  /* could not tell */


typedef struct ngx_ams_access_s  ngx_ams_access_t;

/* "refused" is NULL when admitted, else one of NGX_AMS_REFUSED_* */
typedef void (*ngx_ams_access_pt)(void *data, const char *refused);


/*
 * NGX_OK: admitted; NGX_DECLINED: refused (*refused says why);
 * NGX_AGAIN: the store decides, "handler" is called later unless the
 * caller gives up first with ngx_ams_access_cancel(*pending).
 */
ngx_int_t ngx_ams_access_check(ngx_ams_app_conf_t *app, ngx_str_t *id,
    ngx_uint_t publish, ngx_str_t *token, ngx_log_t *log,
    ngx_ams_access_pt handler, void *data, const char **refused,
    ngx_ams_access_t **pending);
void ngx_ams_access_cancel(ngx_ams_access_t *pending);

/*
 * 1 when "token" is a valid node-to-node token (ngx_ams_node_token.h,
 * amcf->cluster_key): another node of the cluster pulling a stream.
 * ngx_ams_access_check() admits such a play without the application's
 * play tokens or JWT; an RTMP player with one is not counted as a viewer
 * (the node that pulls counts its own viewers).
 */
ngx_uint_t ngx_ams_access_cluster_pull(ngx_str_t *token, ngx_log_t *log);

/* the "token" argument of a query string ("a=b&token=X") */
void ngx_ams_access_token_arg(u_char *args, size_t len, ngx_str_t *token);


#endif /* _NGX_AMS_ACCESS_H_INCLUDED_ */
