
/*
 * Copyright (C) nginx-ams authors
 *
 * ngx_ams_api: what a node shows over HTTP.  Ant Media Server's REST API
 * v2 (ams_rest), Prometheus metrics (ams_metrics), and the gate in front
 * of HLS/DASH files (ams_media: tokens, limits, viewer counting).
 */


#ifndef _NGX_AMS_API_H_INCLUDED_
#define _NGX_AMS_API_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_ams_core.h"


/* REST bodies are Broadcast objects: a few hundred bytes */
#define NGX_AMS_REST_MAX_BODY    16384


typedef struct {
    ngx_flag_t                media;
    ngx_array_t              *allowed;       /* of ngx_cidr_t; NULL: all */
} ngx_ams_api_loc_conf_t;


/* an application's REST API (AMS: jwtControlEnabled, jwtSecretKey) and
 * how long a one-time token admits an HLS/DASH viewer */
typedef struct {
    ngx_flag_t                jwt_control;
    ngx_str_t                 jwt_secret_key;
    time_t                    viewer_admission_time;
    u_char                   *jwt_key_buf;   /* jwtSecretKey set at runtime
                                                (REST settings) */
} ngx_ams_api_app_conf_t;


/* one REST call */
typedef struct {
    ngx_http_request_t       *request;
    ngx_ams_app_conf_t       *app;           /* NULL: server level */
    ngx_str_t                 segment[6];    /* the path after rest/v2/ */
    ngx_uint_t                segments;
    json_t                   *body;
    ngx_str_t                 text;          /* the body as it came */
    ngx_uint_t                statistics;    /* broadcast-statistics */
    ngx_uint_t                stopped_live;  /* a DELETE stopped its
                                                live stream */
    /* the store operation in flight, NULL when none: a request freed
     * before it completes (a connection closed at
     * worker_shutdown_timeout) cancels it so its completion never
     * touches the request (ngx_ams_rest_cleanup) */
    struct ngx_ams_store_op_s *op;
    void                     (*handler)(struct ngx_ams_store_op_s *op);
} ngx_ams_rest_t;


extern ngx_module_t  ngx_ams_api_module;
extern ngx_module_t  ngx_ams_api_app_module;   /* ngx_ams_api_app.c */


/* the client's address is in ams_remote_allowed_cidr */
ngx_uint_t ngx_ams_api_allowed(ngx_http_request_t *r);
ngx_int_t ngx_ams_api_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, ngx_buf_t *b);
ngx_int_t ngx_ams_rest_handler(ngx_http_request_t *r);
ngx_int_t ngx_ams_metrics_handler(ngx_http_request_t *r);
/* ngx_ams_time.c: the clock DASH players synchronise against */
ngx_int_t ngx_ams_time_handler(ngx_http_request_t *r);
/* ngx_ams_media.c: the HLS/DASH gate's handler, filter and zone */
ngx_int_t ngx_ams_media_init(ngx_conf_t *cf);
/* low-latency HLS: an admitted request that waits for its part
 * (ngx_ams_media_wait.c); *state is the request's, NULL at first */
ngx_int_t ngx_ams_media_wait(ngx_http_request_t *r, void **state);

/* ngx_ams_rest.c: responses; each finalizes the request */
void ngx_ams_rest_json(ngx_ams_rest_t *rest, ngx_uint_t status,
    json_t *doc);
void ngx_ams_rest_text(ngx_ams_rest_t *rest, ngx_uint_t status,
    const char *text, size_t len);
void ngx_ams_rest_error(ngx_ams_rest_t *rest, ngx_uint_t status,
    const char *fmt, ...);
void ngx_ams_rest_success(ngx_ams_rest_t *rest, const char *data_id);
ngx_int_t ngx_ams_rest_arg(ngx_ams_rest_t *rest, const char *name,
    ngx_str_t *value);

/*
 * Endpoints of modules loaded after this one (the cluster's): a route
 * looks at rest->segment and rest->app and answers (NGX_OK: it took the
 * call and will finalize it) or NGX_DECLINED.  Routes are asked in the
 * order added, after "version" and before the API's own endpoints; add
 * them in the module's create_conf (the list is emptied on every
 * configuration cycle).  Access (remote_allowed_cidr, JWT) and the body
 * are done before any route runs.
 */
typedef ngx_int_t (*ngx_ams_rest_route_pt)(ngx_ams_rest_t *rest);

ngx_int_t ngx_ams_rest_route_add(ngx_ams_rest_route_pt route);
void ngx_ams_rest_routes_reset(void);

/* ngx_ams_rest_settings.c: applications/settings/{app}, a route */
ngx_int_t ngx_ams_rest_settings(ngx_ams_rest_t *rest);

/*
 * A store operation for a REST call (ngx_ams_rest_broadcasts.c): its
 * "handler" runs with the answer unless the request was freed first (a
 * cleanup then cancels it, and the completion only frees it).  On a
 * failure to post, the call is answered here.
 */
void ngx_ams_rest_post(ngx_ams_rest_t *rest, struct ngx_ams_store_op_s *op,
    void (*handler)(struct ngx_ams_store_op_s *op));

/* ngx_ams_rest_broadcasts.c and ngx_ams_rest_server.c */
void ngx_ams_rest_broadcasts(ngx_ams_rest_t *rest);
void ngx_ams_rest_server(ngx_ams_rest_t *rest);
void ngx_ams_rest_version(ngx_ams_rest_t *rest);


#endif /* _NGX_AMS_API_H_INCLUDED_ */
