
/*
 * Copyright (C) nginx-ams authors
 *
 * The gate in front of HLS and DASH files ("ams_media on" in their
 * location), in nginx's access phase:
 *
 *  - which stream a request is for, from the packager's file names;
 *  - who is asking: a subscriberId argument, else an AMSVIEWER cookie
 *    (set on a viewer's first request; ffmpeg, hls.js and dash.js send it
 *    back), else a new viewer;
 *  - a known viewer passes at once; a new one is admitted like an RTMP
 *    player (limits, JWT, one-time token from the store) and counted.
 *
 * A client that keeps no cookies and sends no subscriberId is a new viewer
 * on every request, as with Ant Media Server's HTTP sessions.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_api.h"
#include "ngx_ams_access.h"
#include "ngx_ams_viewers.h"
#include "ngx_ams_media_name.h"


typedef struct {
    ngx_ams_app_conf_t       *app;
    ngx_str_t                 id;
    ngx_uint_t                type;
    uint64_t                  key;
    ngx_uint_t                new_cookie;    /* the key is ours: set it */
    ngx_uint_t                done;
    const char               *refused;
} ngx_ams_media_ctx_t;


static ngx_int_t ngx_ams_media_parse(ngx_http_request_t *r,
    ngx_ams_media_ctx_t *ctx);
static ngx_uint_t ngx_ams_media_viewer(ngx_http_request_t *r,
    ngx_ams_media_ctx_t *ctx);
static ngx_int_t ngx_ams_media_admit(ngx_http_request_t *r,
    ngx_ams_media_ctx_t *ctx, ngx_uint_t new_cookie);
static void ngx_ams_media_admitted(void *data, const char *refused);
static ngx_int_t ngx_ams_media_set_cookie(ngx_http_request_t *r,
    uint64_t key);


static ngx_str_t  ngx_ams_media_cookie = ngx_string("AMSVIEWER");
static time_t     ngx_ams_media_full_logged;


ngx_int_t
ngx_ams_media_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                rc;
    ngx_str_t                token;
    ngx_uint_t               cookie;
    const char              *refused;
    ngx_ams_stream_t        *st;
    ngx_ams_access_t        *pending;
    ngx_ams_media_ctx_t     *ctx;
    ngx_ams_api_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_ams_api_module);

    if (!alcf->media || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_ams_api_module);

    if (ctx) {
        if (!ctx->done) {
            return NGX_DONE;            /* still waiting for the store */
        }

        if (ctx->refused) {
            return NGX_HTTP_FORBIDDEN;
        }

        return ngx_ams_media_admit(r, ctx, 0);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_ams_media_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_ams_media_parse(r, ctx) != NGX_OK) {
        return NGX_DECLINED;            /* not a stream's file */
    }

    cookie = ngx_ams_media_viewer(r, ctx);

    st = ngx_ams_bus_find(&ctx->app->name, &ctx->id);

    if (st && cookie != 2
        && ngx_ams_viewer_find(st, ctx->key, ctx->type,
                               ctx->app->viewer_timeout)
           == NGX_OK)
    {
        return NGX_OK;                  /* a viewer already admitted */
    }

    token.len = 0;
    if (r->args.len) {
        ngx_ams_access_token_arg(r->args.data, r->args.len, &token);
    }

    refused = NULL;

    rc = ngx_ams_access_check(ctx->app, &ctx->id, 0, &token,
                              r->connection->log, ngx_ams_media_admitted, r,
                              &refused, &pending);

    switch (rc) {

    case NGX_OK:
        return ngx_ams_media_admit(r, ctx, cookie == 2);

    case NGX_DECLINED:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ams media: \"%V/%V\" refused: %s",
                      &ctx->app->name, &ctx->id, refused);
        return NGX_HTTP_FORBIDDEN;

    case NGX_AGAIN:
        /* the request stays until the store answers */
        ngx_http_set_ctx(r, ctx, ngx_ams_api_module);
        ctx->new_cookie = (cookie == 2);
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

    ngx_connection_t     *c;
    ngx_ams_media_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_ams_api_module);
    ctx->done = 1;
    ctx->refused = refused;

    if (refused) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ams media: \"%V/%V\" refused: %s",
                      &ctx->app->name, &ctx->id, refused);
    }

    c = r->connection;

    r->main->count--;
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


/* an admitted viewer: counted while the stream is live */
static ngx_int_t
ngx_ams_media_admit(ngx_http_request_t *r, ngx_ams_media_ctx_t *ctx,
    ngx_uint_t new_cookie)
{
    ngx_ams_stream_t  *st;

    st = ngx_ams_bus_find(&ctx->app->name, &ctx->id);
    if (st == NULL) {
        return NGX_OK;
    }

    if (ngx_ams_viewer_add(st, ctx->key,
                           ctx->type == NGX_AMS_VIEWER_ANY ? NGX_AMS_VIEWER_HLS
                                                           : ctx->type,
                           ctx->app->viewer_timeout)
        == NGX_BUSY
        && ngx_time() - ngx_ams_media_full_logged >= 10)
    {
        /* served all the same; said at most every 10 s per worker */
        ngx_ams_media_full_logged = ngx_time();
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "ams media: viewer table of \"%V/%V\" is full, "
                      "new viewers are not counted", &ctx->app->name,
                      &ctx->id);
    }

    if (new_cookie || ctx->new_cookie) {
        return ngx_ams_media_set_cookie(r, ctx->key);
    }

    return NGX_OK;
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

    ctx->id.data = (u_char *) name.id;
    ctx->id.len = name.id_len;
    /* a shared CMAF file is the viewer's whichever it is known as; a new
     * viewer starting there (no playlist first) counts as HLS */
    ctx->type = (name.kind == NGX_AMS_MEDIA_DASH) ? NGX_AMS_VIEWER_DASH
                : (name.kind == NGX_AMS_MEDIA_SHARED) ? NGX_AMS_VIEWER_ANY
                : NGX_AMS_VIEWER_HLS;

    return NGX_OK;
}


/* 0: known by subscriberId or cookie, 2: a new key (cookie to set) */
static ngx_uint_t
ngx_ams_media_viewer(ngx_http_request_t *r, ngx_ams_media_ctx_t *ctx)
{
    size_t     i;
    uint64_t   h;
    ngx_str_t  value;

    if (ngx_http_arg(r, (u_char *) "subscriberId", 12, &value) == NGX_OK
        && value.len)
    {
        /* FNV-1a */
        h = 0xcbf29ce484222325ULL;
        for (i = 0; i < value.len; i++) {
            h = (h ^ value.data[i]) * 0x100000001b3ULL;
        }

        ctx->key = h;
        return 0;
    }

    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies,
                                          &ngx_ams_media_cookie, &value)
        != NGX_DECLINED
        && value.len == 16)
    {
        h = 0;
        for (i = 0; i < 16; i++) {
            u_char  c = ngx_tolower(value.data[i]);

            if (c >= '0' && c <= '9') {
                h = h << 4 | (uint64_t) (c - '0');

            } else if (c >= 'a' && c <= 'f') {
                h = h << 4 | (uint64_t) (c - 'a' + 10);

            } else {
                break;
            }
        }

        if (i == 16) {
            ctx->key = h;
            return 0;
        }
    }

    ctx->key = (uint64_t) ngx_random() << 33 ^ (uint64_t) ngx_random() << 2
               ^ (uint64_t) ngx_random() ^ (uint64_t) r->connection->number;

    return 2;
}


static ngx_int_t
ngx_ams_media_set_cookie(ngx_http_request_t *r, uint64_t key)
{
    u_char           *p;
    ngx_table_elt_t  *h;

    p = ngx_pnalloc(r->pool, sizeof("AMSVIEWER=; Path=/; SameSite=Lax") + 16);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Set-Cookie");
    h->value.data = p;
    h->value.len = ngx_sprintf(p, "AMSVIEWER=%016xL; Path=/; SameSite=Lax",
                               key)
                   - p;

    return NGX_OK;
}
