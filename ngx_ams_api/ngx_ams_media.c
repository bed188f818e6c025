
/*
 * Copyright (C) nginx-ams authors
 *
 * The gate in front of HLS and DASH files ("ams_media on" in their
 * location):
 *
 *  - which stream a request is for, from the packager's file names; a
 *    name that is no stream's file (a temporary playlist, anything the
 *    parser does not know) is refused with 404;
 *  - whether the client was admitted: a signed cookie of this node for
 *    this stream (ngx_ams_viewer_cookie.h) proves it; otherwise the
 *    request is admitted like an RTMP player (JWT, one-time token from
 *    the store) and gets that cookie;
 *  - who it is, for counting: the cookie's random key, a subscriberId
 *    argument choosing one of a few viewers under it (an application
 *    that admits anyone takes a cookieless client's subscriberId as its
 *    key).  subscriberId identifies, it never admits;
 *  - until when: the cookie is renewed while the viewer fetches, never
 *    past the admission's deadline (a JWT's exp, a one-time token's
 *    viewer_admission_time), so a shared cookie dies with it.
 *
 * Another node's request (an edge filling its proxy cache) carries a
 * node token (X-AMS-Cluster-Token, signed with cluster_communication_key):
 * it is admitted without viewer tokens, gets no cookie and is counted as
 * nobody, since the edge counts its own viewers; an invalid one is
 * refused (403).
 *
 * Access phase: the admission.  Header filter: a viewer is counted, and
 * its cookie set, only on a response that serves the file (200, 206,
 * 304): a 404 for a missing playlist counts nobody.  Resource limits
 * never refuse a viewer (ngx_ams_access.c).  Log phase: the bytes the
 * response put on the wire count as the node's HLS or DASH egress.
 *
 * The cookie's HMAC key is made once per node with the CSPRNG and kept
 * in a small shared zone, so every worker and the workers after a reload
 * accept the cookies of the others.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/rand.h>

#include "ngx_ams_api.h"
#include "ngx_ams_access.h"
#include "ngx_ams_viewers.h"
#include "ngx_ams_viewer_limits.h"
#include "ngx_ams_media_name.h"
#include "ngx_ams_viewer_cookie.h"
#include "ngx_ams_log_escape.h"
#include "ngx_ams_jwt.h"
#include "ngx_ams_node_token.h"
#include "ngx_ams_stats.h"


/* an admission lasts this long past viewer_timeout after the last request
 * that proved it, so a player pausing a little is not asked again */
#define NGX_AMS_MEDIA_GRACE      60

/* one cookie (one admission) names at most this many viewers, whatever
 * subscriberIds it is sent with: players sharing a browser's cookies are
 * told apart, a client looping over names does not fill the table */
#define NGX_AMS_MEDIA_SUBSCRIBERS  4


#define NGX_AMS_COOKIE_KEEP      0      /* valid, nothing to send */
#define NGX_AMS_COOKIE_RENEW     1      /* valid, half its life gone */
#define NGX_AMS_COOKIE_NEW       2      /* admitted now */


typedef struct {
    ngx_ams_app_conf_t       *app;
    ngx_str_t                 id;
    ngx_uint_t                type;          /* NGX_AMS_VIEWER_* */
    uint64_t                  key;           /* in the viewer table */
    uint64_t                  viewer;        /* the cookie's random key */
    uint64_t                  deadline;      /* of the admission; 0: none */
    ngx_uint_t                cookie;        /* NGX_AMS_COOKIE_* */
    ngx_ams_access_t         *pending;       /* while waiting */
    ngx_log_t                *log;
    unsigned                  waiting:1;     /* on the store */
    unsigned                  done:1;        /* the store answered */
    unsigned                  admitted:1;
    unsigned                  node:1;        /* another node's request */
    const char               *refused;
    void                     *wait;          /* ngx_ams_media_wait() */
} ngx_ams_media_ctx_t;


static ngx_int_t ngx_ams_media_access_handler(ngx_http_request_t *r);
static ngx_int_t ngx_ams_media_admit(ngx_http_request_t *r);
static ngx_int_t ngx_ams_media_parse(ngx_http_request_t *r,
    ngx_ams_media_ctx_t *ctx);
static ngx_int_t ngx_ams_media_node(ngx_http_request_t *r);
static ngx_uint_t ngx_ams_media_proved(ngx_http_request_t *r,
    ngx_ams_media_ctx_t *ctx);
static void ngx_ams_media_identify(ngx_http_request_t *r,
    ngx_ams_media_ctx_t *ctx);
static ngx_uint_t ngx_ams_media_limited(ngx_ams_media_ctx_t *ctx);
static void ngx_ams_media_admitted(void *data, const char *refused);
static void ngx_ams_media_cleanup(void *data);
static ngx_int_t ngx_ams_media_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_ams_media_log_handler(ngx_http_request_t *r);
static void ngx_ams_media_count(ngx_http_request_t *r,
    ngx_ams_media_ctx_t *ctx);
static ngx_int_t ngx_ams_media_set_cookie(ngx_http_request_t *r,
    ngx_ams_media_ctx_t *ctx);
static ngx_int_t ngx_ams_media_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static time_t ngx_ams_media_lifetime(ngx_ams_media_ctx_t *ctx);
static ngx_uint_t ngx_ams_media_guarded(ngx_ams_app_conf_t *app);
static uint64_t ngx_ams_media_deadline(ngx_ams_media_ctx_t *ctx,
    ngx_str_t *token);


static ngx_str_t                  ngx_ams_media_zone_name =
    ngx_string("ams_viewer_secret");
static u_char                    *ngx_ams_media_secret;
static time_t                     ngx_ams_media_full_logged;
static ngx_http_output_header_filter_pt  ngx_ams_media_next_header_filter;


/* postconfiguration: the access handler, the header filter, the zone */
ngx_int_t
ngx_ams_media_init(ngx_conf_t *cf)
{
    ngx_shm_zone_t             *shm_zone;
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_ams_media_access_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_ams_media_log_handler;

    ngx_ams_media_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_ams_media_header_filter;

    /* the smallest zone nginx's slab allocator takes; the same name,
     * size and tag on a reload keep it, and the secret with it */
    shm_zone = ngx_shared_memory_add(cf, &ngx_ams_media_zone_name,
                                     8 * ngx_pagesize, &ngx_ams_api_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_ams_media_init_zone;

    return NGX_OK;
}


static ngx_int_t
ngx_ams_media_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    u_char           *secret;
    ngx_slab_pool_t  *shpool;

    if (data) {
        /* a reload: the cookies of the last generation stay valid */
        shm_zone->data = data;
        ngx_ams_media_secret = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    secret = ngx_slab_alloc(shpool, NGX_AMS_VIEWER_SECRET_LEN);
    if (secret == NULL) {
        return NGX_ERROR;
    }

    if (RAND_bytes(secret, NGX_AMS_VIEWER_SECRET_LEN) != 1) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "ams media: RAND_bytes() failed: no viewer secret");
        return NGX_ERROR;
    }

    shm_zone->data = secret;
    ngx_ams_media_secret = secret;

    return NGX_OK;
}


static ngx_int_t
ngx_ams_media_access_handler(ngx_http_request_t *r)
{
    ngx_int_t             rc;
    ngx_ams_media_ctx_t  *ctx;

    rc = ngx_ams_media_admit(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* admitted: a low-latency HLS request may wait for its part */
    ctx = ngx_http_get_module_ctx(r, ngx_ams_api_module);

    return ngx_ams_media_wait(r, &ctx->wait);
}


static ngx_int_t
ngx_ams_media_admit(ngx_http_request_t *r)
{
    char                     escaped[NGX_AMS_LOG_ESCAPED_SIZE(
                                         NGX_AMS_NAME_LEN)];
    ngx_int_t                rc;
    ngx_str_t                token;
    const char              *refused;
    ngx_ams_access_t        *pending;
    ngx_http_cleanup_t      *cln;
    ngx_ams_media_ctx_t     *ctx;
    ngx_ams_api_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_ams_api_module);

    if (!alcf->media || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_ams_api_module);

    if (ctx) {
        if (ctx->admitted) {
            return NGX_OK;
        }

        if (ctx->waiting && !ctx->done) {
            return NGX_DONE;            /* still waiting for the store */
        }

        if (ctx->refused) {
            return NGX_HTTP_FORBIDDEN;
        }

        ctx->admitted = 1;
        return NGX_OK;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_ams_media_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_ams_media_parse(r, ctx) != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ams media: \"%s\" is no stream's file",
                      ngx_ams_log_escape(escaped, sizeof(escaped),
                                         r->uri.data, r->uri.len));
        return NGX_HTTP_NOT_FOUND;
    }

    ngx_http_set_ctx(r, ctx, ngx_ams_api_module);

    rc = ngx_ams_media_node(r);

    if (rc == NGX_OK) {
        ctx->node = 1;
        ctx->admitted = 1;
        return NGX_OK;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_FORBIDDEN;
    }

    if (ngx_ams_media_proved(r, ctx)) {
        ngx_ams_media_identify(r, ctx);
        ctx->admitted = 1;
        return NGX_OK;
    }

    /* a new viewer: its key from the CSPRNG, never from the request */
    if (RAND_bytes((u_char *) &ctx->viewer, sizeof(ctx->viewer)) != 1) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ams media: RAND_bytes() failed");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->cookie = NGX_AMS_COOKIE_NEW;
    ngx_ams_media_identify(r, ctx);

    token.len = 0;
    if (r->args.len) {
        ngx_ams_access_token_arg(r->args.data, r->args.len, &token);
    }

    ctx->deadline = ngx_ams_media_deadline(ctx, &token);

    /* before the tokens: a one-time token is not spent on a refusal */
    if (ngx_ams_media_limited(ctx)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ams media: \"%V/%s\" refused: "
                      NGX_AMS_VIEWER_LIMIT_REACHED, &ctx->app->name,
                      ngx_ams_log_escape(escaped, sizeof(escaped),
                                         ctx->id.data, ctx->id.len));
        return NGX_HTTP_FORBIDDEN;
    }

    /* before the check: a request freed while the store decides (its
     * connection closed at worker_shutdown_timeout) cancels it */
    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_ams_media_cleanup;
    cln->data = ctx;
    ctx->log = r->connection->log;

    refused = NULL;

    /* the cycle's log, not the connection's: the store may answer after
     * the request and its connection are freed, and the check logs
     * before it finds itself cancelled; the gate's own line says who */
    rc = ngx_ams_access_check(ctx->app, &ctx->id, 0, &token,
                              ngx_cycle->log, ngx_ams_media_admitted, r,
                              &refused, &pending);

    switch (rc) {

    case NGX_OK:
        ctx->admitted = 1;
        return NGX_OK;

    case NGX_DECLINED:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ams media: \"%V/%s\" refused: %s", &ctx->app->name,
                      ngx_ams_log_escape(escaped, sizeof(escaped),
                                         ctx->id.data, ctx->id.len),
                      refused);
        return NGX_HTTP_FORBIDDEN;

    case NGX_AGAIN:
        /* the request stays until the store answers */
        ctx->waiting = 1;
        ctx->pending = pending;
        r->main->count++;
        return NGX_DONE;

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


static void
ngx_ams_media_admitted(void *data, const char *refused)
{
    ngx_http_request_t  *r = data;

    char                  escaped[NGX_AMS_LOG_ESCAPED_SIZE(
                                      NGX_AMS_NAME_LEN)];
    ngx_connection_t     *c;
    ngx_ams_media_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_ams_api_module);
    ctx->done = 1;
    ctx->pending = NULL;
    ctx->refused = refused;

    if (refused) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ams media: \"%V/%s\" refused: %s", &ctx->app->name,
                      ngx_ams_log_escape(escaped, sizeof(escaped),
                                         ctx->id.data, ctx->id.len),
                      refused);
    }

    c = r->connection;

    r->main->count--;
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


/* the request is being freed: the store's answer must not reach it */
static void
ngx_ams_media_cleanup(void *data)
{
    ngx_ams_media_ctx_t  *ctx = data;

    if (ctx->pending) {
        ngx_log_error(NGX_LOG_INFO, ctx->log, 0,
                      "ams media: the request went before its admission "
                      "was decided");
        ngx_ams_access_cancel(ctx->pending);
        ctx->pending = NULL;
    }
}


static ngx_int_t
ngx_ams_media_parse(ngx_http_request_t *r, ngx_ams_media_ctx_t *ctx)
{
    ngx_str_t              app;
    ngx_ams_media_name_t   name;

    if (ngx_ams_media_name(r->uri.data, r->uri.len, &name) != 0) {
        return NGX_DECLINED;
    }

    app.data = (u_char *) name.app;
    app.len = name.app_len;

    ctx->app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &app);
    if (ctx->app == NULL) {
        return NGX_DECLINED;
    }

    /* a rung's files are its parent's: one token, one viewer */
    ctx->id.data = (u_char *) name.parent;
    ctx->id.len = name.parent_len;
    /* a shared CMAF file is the viewer's whichever it is known as; a new
     * viewer starting there (no playlist first) counts as HLS */
    ctx->type = (name.kind == NGX_AMS_MEDIA_DASH) ? NGX_AMS_VIEWER_DASH
                : (name.kind == NGX_AMS_MEDIA_SHARED) ? NGX_AMS_VIEWER_ANY
                : NGX_AMS_VIEWER_HLS;

    return NGX_OK;
}


/*
 * NGX_DECLINED: no X-AMS-Cluster-Token; NGX_OK: a valid node token;
 * NGX_ERROR: one that is not (logged)
 */
static ngx_int_t
ngx_ams_media_node(ngx_http_request_t *r)
{
    ngx_uint_t            i;
    const char           *error;
    ngx_list_part_t      *part;
    ngx_table_elt_t      *h, *token;
    ngx_ams_main_conf_t  *amcf;

    token = NULL;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == sizeof(NGX_AMS_NODE_TOKEN_HEADER) - 1
            && ngx_strncasecmp(h[i].key.data,
                               (u_char *) NGX_AMS_NODE_TOKEN_HEADER,
                               h[i].key.len)
               == 0)
        {
            token = &h[i];
            break;
        }
    }

    if (token == NULL) {
        return NGX_DECLINED;
    }

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    /* an empty key verifies nothing */
    if (ngx_ams_node_token_verify(token->value.data, token->value.len,
                                  amcf->cluster_key.data,
                                  amcf->cluster_key.len,
                                  (char *) amcf->node_address.data,
                                  amcf->node_address.len,
                                  (int64_t) ngx_time(), NULL, 0, &error)
        != 0)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "ams media: node request refused: "
                      NGX_AMS_NODE_TOKEN_HEADER ": %s", error);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* the request carries this node's unexpired cookie for this stream */
static ngx_uint_t
ngx_ams_media_proved(ngx_http_request_t *r, ngx_ams_media_ctx_t *ctx)
{
    char        name[NGX_AMS_VIEWER_COOKIE_NAME_LEN];
    uint64_t    expires;
    ngx_str_t   cookie_name, value;

    if (ngx_ams_media_secret == NULL) {
        return 0;
    }

    ngx_ams_viewer_cookie_name(name, ctx->app->name.data, ctx->app->name.len,
                               ctx->id.data, ctx->id.len);
    cookie_name.data = (u_char *) name;
    cookie_name.len = sizeof(name);

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies,
                                          &cookie_name, &value)
        == NGX_DECLINED)
    {
        return 0;
    }

    if (ngx_ams_viewer_cookie_check(value.data, value.len,
                                    ngx_ams_media_secret,
                                    ctx->app->name.data, ctx->app->name.len,
                                    ctx->id.data, ctx->id.len,
                                    (uint64_t) ngx_time(), &ctx->viewer,
                                    &expires, &ctx->deadline)
        != 0)
    {
        return 0;
    }

    /* made while the application was open: no deadline to keep to */
    if (ctx->deadline == 0 && ngx_ams_media_guarded(ctx->app)) {
        return 0;
    }

    /* renewed, but never past the admission's deadline */
    ctx->cookie = ((time_t) expires - ngx_time()
                       < ngx_ams_media_lifetime(ctx) / 2
                   && (ctx->deadline == 0 || expires < ctx->deadline))
                  ? NGX_AMS_COOKIE_RENEW : NGX_AMS_COOKIE_KEEP;

    return 1;
}


/*
 * The viewer table's key: the cookie's, subscriberId only choosing one of
 * NGX_AMS_MEDIA_SUBSCRIBERS under it.  In an application that admits
 * anyone, a new client's subscriberId is its key too, so a player that
 * keeps no cookies stays one viewer.
 */
static void
ngx_ams_media_identify(ngx_http_request_t *r, ngx_ams_media_ctx_t *ctx)
{
    size_t     i;
    uint64_t   h;
    ngx_str_t  value;

    if (ngx_http_arg(r, (u_char *) "subscriberId", 12, &value) != NGX_OK
        || value.len == 0)
    {
        ctx->key = ctx->viewer;
        return;
    }

    /* FNV-1a */
    h = 0xcbf29ce484222325ULL;
    for (i = 0; i < value.len; i++) {
        h = (h ^ value.data[i]) * 0x100000001b3ULL;
    }

    if (ctx->cookie == NGX_AMS_COOKIE_NEW && !ngx_ams_media_guarded(ctx->app))
    {
        ctx->viewer = h;
    }

    ctx->key = ctx->viewer ^ (h % NGX_AMS_MEDIA_SUBSCRIBERS);
}


/*
 * A new client, at the broadcast's hlsViewerLimit or dashViewerLimit: 1.
 * One the table knows already (a cookieless player's subscriberId in an
 * application that admits anyone) is a viewer counted, not a new one.
 */
static ngx_uint_t
ngx_ams_media_limited(ngx_ams_media_ctx_t *ctx)
{
    ngx_uint_t         type;
    ngx_ams_stream_t  *st;

    st = ngx_ams_bus_find(&ctx->app->name, &ctx->id);
    if (st == NULL) {
        return 0;
    }

    /* a shared CMAF file first: counted as HLS (ngx_ams_media_count) */
    type = (ctx->type == NGX_AMS_VIEWER_DASH) ? NGX_AMS_VIEWER_DASH
                                              : NGX_AMS_VIEWER_HLS;

    if ((type == NGX_AMS_VIEWER_DASH ? st->dash_viewer_limit
                                     : st->hls_viewer_limit) < 0)
    {
        return 0;
    }

    if (ngx_ams_viewer_find(st, ctx->key, ctx->type,
                            ctx->app->viewer_timeout)
        == NGX_OK)
    {
        return 0;
    }

    return ngx_ams_viewer_limit_reached(st, type, ctx->app->viewer_timeout);
}


/* a viewer is admitted by a token, not just by asking */
static ngx_uint_t
ngx_ams_media_guarded(ngx_ams_app_conf_t *app)
{
    return app->access.play_token_control || app->access.play_jwt_control;
}


/*
 * Until when a new admission lasts, 0 for ever (nothing to admit by): a
 * JWT's exp (ngx_ams_access.c insists on one), a one-time token's
 * viewer_admission_time, the earlier of the two when both are asked for.
 * The token is checked again by ngx_ams_access_check(); here it is only
 * read.
 */
static uint64_t
ngx_ams_media_deadline(ngx_ams_media_ctx_t *ctx, ngx_str_t *token)
{
    json_t                  *claims, *exp;
    ngx_str_t               *key;
    uint64_t                 deadline, e;
    const char              *error;
    ngx_ams_app_conf_t      *app;
    ngx_ams_api_app_conf_t  *aacf;

    app = ctx->app;
    deadline = 0;

    if (app->access.play_token_control) {
        aacf = ngx_ams_app_get_module_conf(app, ngx_ams_api_app_module);
        deadline = (uint64_t) (ngx_time() + aacf->viewer_admission_time);
    }

    if (app->access.play_jwt_control) {
        key = &app->access.jwt_stream_secret_key;

        if (ngx_ams_jwt_verify(token->data, token->len, key->data, key->len,
                               ngx_time(), &claims, &error)
            != 0)
        {
            return 1;               /* refused anyway: already past */
        }

        exp = json_object_get(claims, "exp");
        /* the cookie keeps 32 bits of it (until 2106) */
        e = !json_is_number(exp) || json_number_value(exp) < 1 ? 1
            : json_number_value(exp) >= 4294967295.0 ? 0xffffffff
            : (uint64_t) json_number_value(exp);
        json_decref(claims);

        if (deadline == 0 || e < deadline) {
            deadline = e;
        }
    }

    return deadline;
}


static ngx_int_t
ngx_ams_media_header_filter(ngx_http_request_t *r)
{
    ngx_uint_t               status;
    ngx_ams_media_ctx_t     *ctx;
    ngx_ams_api_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_ams_api_module);

    /* the module's ctx is a REST call's elsewhere */
    if (!alcf->media || r != r->main) {
        return ngx_ams_media_next_header_filter(r);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_ams_api_module);

    /* another node's request is no viewer: the edge counts its own */
    if (ctx == NULL || !ctx->admitted || ctx->app == NULL || ctx->node) {
        return ngx_ams_media_next_header_filter(r);
    }

    status = r->headers_out.status;

    /* only a file served makes a viewer (a 404 for a playlist not
     * written yet does not) */
    if (status == NGX_HTTP_OK || status == NGX_HTTP_PARTIAL_CONTENT
        || status == NGX_HTTP_NOT_MODIFIED)
    {
        ngx_ams_media_count(r, ctx);

        if (ctx->cookie != NGX_AMS_COOKIE_KEEP
            && ngx_ams_media_set_cookie(r, ctx) != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    return ngx_ams_media_next_header_filter(r);
}


/*
 * Whatever the status: a refusal is egress too.  c->sent is this
 * request's alone (nginx zeroes it for the next request of a keepalive
 * connection; an HTTP/2 stream has a connection of its own).  A shared
 * CMAF file (DASH's segments, fMP4 HLS's too) counts as its viewer's
 * kind (ngx_ams_media_count()); another node's request for one, which
 * has no viewer, as HLS.
 */
static ngx_int_t
ngx_ams_media_log_handler(ngx_http_request_t *r)
{
    ngx_ams_media_ctx_t     *ctx;
    ngx_ams_api_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_ams_api_module);

    if (!alcf->media) {
        return NGX_OK;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_ams_api_module);

    if (ctx == NULL || ctx->app == NULL) {
        return NGX_OK;
    }

    ngx_ams_stats_sent(ctx->type == NGX_AMS_VIEWER_DASH ? NGX_AMS_SENT_DASH
                                                        : NGX_AMS_SENT_HLS,
                       (size_t) r->connection->sent);

    return NGX_OK;
}


/* counted while the stream is live */
static void
ngx_ams_media_count(ngx_http_request_t *r, ngx_ams_media_ctx_t *ctx)
{
    char               escaped[NGX_AMS_LOG_ESCAPED_SIZE(NGX_AMS_NAME_LEN)];
    ngx_ams_stream_t  *st;

    st = ngx_ams_bus_find(&ctx->app->name, &ctx->id);
    if (st == NULL) {
        return;
    }

    if (ctx->type == NGX_AMS_VIEWER_ANY) {
        /* a shared CMAF file is its viewer's: a DASH one's, or else an
         * HLS one's (a new viewer starting there too); its bytes count
         * the same way (ngx_ams_media_log_handler) */
        if (ngx_ams_viewer_find(st, ctx->key, NGX_AMS_VIEWER_DASH,
                                ctx->app->viewer_timeout)
            == NGX_OK)
        {
            ctx->type = NGX_AMS_VIEWER_DASH;
            return;
        }

        ctx->type = NGX_AMS_VIEWER_HLS;
    }

    if (ngx_ams_viewer_find(st, ctx->key, ctx->type,
                            ctx->app->viewer_timeout)
        == NGX_OK)
    {
        return;
    }

    if (ngx_ams_viewer_add(st, ctx->key, ctx->type,
                           ctx->app->viewer_timeout)
        == NGX_BUSY
        && ngx_time() - ngx_ams_media_full_logged >= 10)
    {
        /* served all the same; said at most every 10 s per worker */
        ngx_ams_media_full_logged = ngx_time();
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "ams media: viewer table of \"%V/%s\" is full, "
                      "new viewers are not counted", &ctx->app->name,
                      ngx_ams_log_escape(escaped, sizeof(escaped),
                                         ctx->id.data, ctx->id.len));
    }
}


static time_t
ngx_ams_media_lifetime(ngx_ams_media_ctx_t *ctx)
{
    return (time_t) (ctx->app->viewer_timeout / 1000) + NGX_AMS_MEDIA_GRACE;
}


static ngx_int_t
ngx_ams_media_set_cookie(ngx_http_request_t *r, ngx_ams_media_ctx_t *ctx)
{
    u_char           *p;
    time_t            lifetime;
    ngx_table_elt_t  *h;
    char              name[NGX_AMS_VIEWER_COOKIE_NAME_LEN];
    char              value[NGX_AMS_VIEWER_COOKIE_LEN];

    if (ngx_ams_media_secret == NULL) {
        return NGX_OK;
    }

    lifetime = ngx_ams_media_lifetime(ctx);

    if (ctx->deadline && (uint64_t) (ngx_time() + lifetime) > ctx->deadline)
    {
        lifetime = (time_t) ctx->deadline - ngx_time();

        if (lifetime <= 0) {
            return NGX_OK;
        }
    }

    ngx_ams_viewer_cookie_name(name, ctx->app->name.data, ctx->app->name.len,
                               ctx->id.data, ctx->id.len);
    ngx_ams_viewer_cookie_make(value, ngx_ams_media_secret,
                               ctx->app->name.data, ctx->app->name.len,
                               ctx->id.data, ctx->id.len,
                               (uint64_t) (ngx_time() + lifetime),
                               ctx->deadline, ctx->viewer);

    p = ngx_pnalloc(r->pool, sizeof(name) + 1 + sizeof(value)
                             + sizeof("; Path=/; Max-Age=; HttpOnly; "
                                      "SameSite=Lax; Secure")
                             + NGX_TIME_T_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Set-Cookie");
    h->value.data = p;
    h->value.len = ngx_sprintf(p, "%*s=%*s; Path=/; Max-Age=%T; HttpOnly; "
                               "SameSite=Lax%s",
                               sizeof(name), name, sizeof(value), value,
                               lifetime,
#if (NGX_HTTP_SSL)
                               r->connection->ssl ? "; Secure" : ""
#else
                               ""
#endif
                               )
                   - p;

    return NGX_OK;
}
