
/*
 * Copyright (C) nginx-ams authors
 *
 * WHIP (RFC 9725) and WHEP signalling: the HTTP module of the .so.
 *
 *   location ~ ^/[^/]+/(whip|whep)/ { ams_webrtc on; }
 *
 *   POST    /{App}/whip/{id}            application/sdp offer -> 201,
 *           /{App}/whep/{id}            the answer, Location, ETag
 *   PATCH   /{App}/wh?p/{id}/{session}  trickle-ice-sdpfrag -> 204
 *   DELETE  /{App}/wh?p/{id}/{session}  -> 200, the session ends
 *   OPTIONS any of them                 -> 204, CORS
 *
 * Admission, cheapest first, before anything is allocated for the
 * session: the client's POST rate (a token bucket per address in this
 * worker), the worker's session limits, the node's CPU and memory
 * (core's node stats: 503 "highResourceUsage", new sessions only),
 * the Content-Type and size, the offer itself (422 before a one-time
 * token is spent on it), then the token (ngx_ams_access_check(), which
 * may ask the store and answer later), then the media layer (404: no
 * such live stream to play; 403: its webRTCViewerLimit is reached; 409:
 * the stream id is live already).  A
 * viewer of a stream this node pulls (a cluster's relay) waits up to 5 s
 * for it first (ngx_ams_webrtc_wait.c).
 *
 * The session lives in this worker: the answer's candidates carry this
 * worker's UDP port.  Its URL works from any worker: the node's session
 * table (ngx_ams_webrtc_registry.c) answers a PATCH landing elsewhere,
 * and a DELETE there asks the owner, which closes it within 100 ms.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_ws.h"
#include "ngx_ams_webrtc_transport.h"
#include "ngx_ams_webrtc_wait.h"
#include "ngx_ams_webrtc_registry.h"
#include "ngx_ams_webrtc_mailbox.h"
#include "ngx_ams_access.h"
#include "ngx_ams_stats.h"
#include "ngx_ams_stream_name.h"


/* nginx names no such status: WHIP's "offer we cannot use" */
#define NGX_HTTP_UNPROCESSABLE_ENTITY  422

/* client addresses whose POST rate a worker follows (webrtc_offer_rate) */
#define NGX_AMS_WEBRTC_RATE_SLOTS   512


typedef struct {
    ngx_flag_t                enable;
} ngx_ams_webrtc_loc_conf_t;


/* one signalling request */
typedef struct {
    ngx_http_request_t       *request;
    ngx_uint_t                direction;     /* NGX_AMS_WEBRTC_* */
    ngx_ams_app_conf_t       *app;
    ngx_str_t                 kind;          /* "whip", "whep" */
    ngx_str_t                 id;            /* the stream */
    ngx_str_t                 session;       /* the URL's 4th segment */
    ngx_ams_sdp_t            *offer;
    ngx_str_t                 text;          /* the offer as it came */
    ngx_ams_access_t         *pending;       /* the store decides */
    ngx_ams_webrtc_wait_t     wait;          /* for a pulled stream */
    ngx_ams_webrtc_registry_entry_t  entry;  /* PATCH, DELETE: the
                                                session, whoever's */
} ngx_ams_webrtc_http_ctx_t;


/* the token bucket of one client address */
typedef struct {
    u_char                    addr[16];
    size_t                    len;
    ngx_msec_t                last;
    ngx_uint_t                milli;         /* tokens x 1000 */
} ngx_ams_webrtc_rate_t;


static char *ngx_ams_webrtc_http(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_ams_webrtc_http_create_loc_conf(ngx_conf_t *cf);
static char *ngx_ams_webrtc_http_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_ams_webrtc_http_handler(ngx_http_request_t *r);
static ngx_int_t ngx_ams_webrtc_http_websocket(ngx_http_request_t *r);
static ngx_int_t ngx_ams_webrtc_http_split(ngx_http_request_t *r,
    ngx_ams_webrtc_http_ctx_t *ctx);
static ngx_int_t ngx_ams_webrtc_http_post(ngx_http_request_t *r,
    ngx_ams_webrtc_http_ctx_t *ctx);
static void ngx_ams_webrtc_http_offer(ngx_http_request_t *r);
static void ngx_ams_webrtc_http_admitted(void *data, const char *refused);
static void ngx_ams_webrtc_http_cleanup(void *data);
static ngx_int_t ngx_ams_webrtc_http_go(ngx_http_request_t *r,
    ngx_ams_webrtc_http_ctx_t *ctx);
static void ngx_ams_webrtc_http_waited(ngx_ams_webrtc_wait_t *w,
    ngx_uint_t live);
static ngx_int_t ngx_ams_webrtc_http_refused(ngx_http_request_t *r,
    const char *refused);
static ngx_int_t ngx_ams_webrtc_http_answer(ngx_http_request_t *r,
    ngx_ams_webrtc_http_ctx_t *ctx);
static ngx_ams_webrtc_session_t *ngx_ams_webrtc_http_session(
    ngx_ams_webrtc_http_ctx_t *ctx);
static ngx_int_t ngx_ams_webrtc_http_find(ngx_ams_webrtc_http_ctx_t *ctx);
static ngx_int_t ngx_ams_webrtc_http_delete(ngx_http_request_t *r,
    ngx_ams_webrtc_http_ctx_t *ctx);
static void ngx_ams_webrtc_http_patch(ngx_http_request_t *r);
static ngx_int_t ngx_ams_webrtc_http_rate(ngx_http_request_t *r,
    ngx_ams_webrtc_main_conf_t *wcf);
static ngx_int_t ngx_ams_webrtc_http_type(ngx_http_request_t *r,
    const char *type);
static ngx_int_t ngx_ams_webrtc_http_body(ngx_http_request_t *r,
    ngx_str_t *text);
static void ngx_ams_webrtc_http_token(ngx_http_request_t *r,
    ngx_str_t *token);
static ngx_int_t ngx_ams_webrtc_http_header(ngx_http_request_t *r,
    const char *key, u_char *value, size_t len);
static ngx_int_t ngx_ams_webrtc_http_cors(ngx_http_request_t *r);
static ngx_int_t ngx_ams_webrtc_http_send(ngx_http_request_t *r,
    ngx_uint_t status, const char *type, u_char *body, size_t len);
static ngx_int_t ngx_ams_webrtc_http_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *text);


static ngx_command_t  ngx_ams_webrtc_http_commands[] = {

    { ngx_string("ams_webrtc"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_ams_webrtc_http,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ams_webrtc_loc_conf_t, enable),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_ams_webrtc_http_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    ngx_ams_webrtc_http_create_loc_conf,   /* create location configuration */
    ngx_ams_webrtc_http_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_ams_webrtc_http_module = {
    NGX_MODULE_V1,
    &ngx_ams_webrtc_http_module_ctx,       /* module context */
    ngx_ams_webrtc_http_commands,          /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_ams_webrtc_rate_t  ngx_ams_webrtc_rates[NGX_AMS_WEBRTC_RATE_SLOTS];


static char *
ngx_ams_webrtc_http(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                      *rv;
    ngx_ams_main_conf_t       *amcf;
    ngx_http_core_loc_conf_t  *clcf;
    ngx_ams_webrtc_loc_conf_t *wlcf = conf;

    rv = ngx_conf_set_flag_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (!wlcf->enable) {
        return NGX_CONF_OK;
    }

    amcf = ngx_ams_get_main_conf(cf->cycle);
    if (amcf == NULL || amcf->shm_zone == NULL) {
        return "needs an \"ams\" block before \"http\"";
    }

    /* the node's session table: the same zone for every location */
    if (ngx_ams_webrtc_registry_zone(cf, &ngx_ams_webrtc_http_module)
        != NGX_OK
        || ngx_ams_webrtc_mailbox_zone(cf, &ngx_ams_webrtc_http_module)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_ams_webrtc_http_handler;

    return NGX_CONF_OK;
}


static void *
ngx_ams_webrtc_http_create_loc_conf(ngx_conf_t *cf)
{
    ngx_ams_webrtc_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ams_webrtc_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_ams_webrtc_http_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_ams_webrtc_loc_conf_t *prev = parent;
    ngx_ams_webrtc_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    return NGX_CONF_OK;
}


/*
 * "/{App}/websocket": Ant Media's WebSocket signalling takes the request
 * (what its handler returns), else NGX_DECLINED
 */
static ngx_int_t
ngx_ams_webrtc_http_websocket(ngx_http_request_t *r)
{
    u_char              *p, *end;
    ngx_str_t            app;
    ngx_ams_app_conf_t  *acf;

    static const char    suffix[] = "/websocket";

    p = r->uri.data;
    end = p + r->uri.len;

    if (r->uri.len < sizeof(suffix) + 1 || *p != '/'
        || ngx_strncmp(end - (sizeof(suffix) - 1), suffix,
                       sizeof(suffix) - 1) != 0)
    {
        return NGX_DECLINED;
    }

    app.data = p + 1;
    app.len = r->uri.len - 1 - (sizeof(suffix) - 1);

    if (ngx_strlchr(app.data, app.data + app.len, '/') != NULL) {
        return NGX_DECLINED;
    }

    acf = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &app);

    if (acf == NULL) {
        return NGX_HTTP_NOT_FOUND;
    }

    return ngx_ams_webrtc_ws_handler(r, acf);
}


static ngx_int_t
ngx_ams_webrtc_http_handler(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_ams_webrtc_http_ctx_t  *ctx;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    rc = ngx_ams_webrtc_http_websocket(r);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_ams_webrtc_http_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->request = r;
    ngx_http_set_ctx(r, ctx, ngx_ams_webrtc_http_module);

    rc = ngx_ams_webrtc_http_split(r, ctx);
    if (rc != NGX_OK) {
        return ngx_ams_webrtc_http_error(r, rc == NGX_DECLINED
                                            ? NGX_HTTP_NOT_FOUND
                                            : NGX_HTTP_BAD_REQUEST,
                                         rc == NGX_DECLINED
                                         ? "no such application or not a "
                                           "WHIP/WHEP path"
                                         : "not a valid stream id");
    }

    switch (r->method) {

    case NGX_HTTP_OPTIONS:
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        if (ngx_ams_webrtc_http_header(r, "Access-Control-Allow-Methods",
                                       (u_char *) "OPTIONS, POST, PATCH, "
                                       "DELETE", 28) != NGX_OK
            || ngx_ams_webrtc_http_header(r, "Access-Control-Allow-Headers",
                                          (u_char *) "Content-Type, "
                                          "Authorization, If-Match", 37)
               != NGX_OK
            || ngx_ams_webrtc_http_header(r, "Access-Control-Max-Age",
                                          (u_char *) "86400", 5) != NGX_OK
            || ngx_ams_webrtc_http_header(r, "Accept-Post",
                                          (u_char *) "application/sdp", 15)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_ams_webrtc_http_send(r, NGX_HTTP_NO_CONTENT, NULL, NULL,
                                        0);

    case NGX_HTTP_POST:
        if (ctx->session.len) {
            break;
        }

        return ngx_ams_webrtc_http_post(r, ctx);

    case NGX_HTTP_PATCH:
        if (ctx->session.len == 0) {
            break;
        }

        if (ngx_ams_webrtc_http_find(ctx) != NGX_OK) {
            return ngx_ams_webrtc_http_error(r, NGX_HTTP_NOT_FOUND,
                                             "no such session");
        }

        if (ngx_ams_webrtc_http_type(r, "application/trickle-ice-sdpfrag")
            != NGX_OK)
        {
            return ngx_ams_webrtc_http_error(r,
                                          NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                          "Content-Type must be "
                                          "application/trickle-ice-sdpfrag");
        }

        if (r->headers_in.content_length_n > NGX_AMS_SDP_MAX_LEN) {
            return ngx_ams_webrtc_http_error(r,
                                        NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        "larger than 65536 bytes");
        }

        rc = ngx_http_read_client_request_body(r, ngx_ams_webrtc_http_patch);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;

    case NGX_HTTP_DELETE:
        if (ctx->session.len == 0) {
            break;
        }

        return ngx_ams_webrtc_http_delete(r, ctx);

    default:
        break;
    }

    if (ngx_ams_webrtc_http_header(r, "Allow", (u_char *) (ctx->session.len
                                       ? "OPTIONS, PATCH, DELETE"
                                       : "OPTIONS, POST"),
                                   ctx->session.len ? 22 : 13)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_ams_webrtc_http_error(r, NGX_HTTP_NOT_ALLOWED,
                                     "method not allowed here");
}


/* "/{App}/whip/{id}" or "/{App}/whip/{id}/{session}": NGX_DECLINED
 * (404), NGX_ERROR (400: an id no stream may have) */
static ngx_int_t
ngx_ams_webrtc_http_split(ngx_http_request_t *r,
    ngx_ams_webrtc_http_ctx_t *ctx)
{
    u_char      *p, *last, *start;
    ngx_str_t    seg[4];
    ngx_uint_t   n;
    const char  *why;

    p = r->uri.data;
    last = p + r->uri.len;
    n = 0;

    while (p < last) {
        if (*p++ != '/' || p == last) {
            return NGX_DECLINED;
        }

        if (n == 4) {
            return NGX_DECLINED;
        }

        start = p;
        while (p < last && *p != '/') {
            p++;
        }

        if (p == start) {
            return NGX_DECLINED;
        }

        seg[n].data = start;
        seg[n].len = p - start;
        n++;
    }

    if (n < 3) {
        return NGX_DECLINED;
    }

    if (seg[1].len != 4
        || (ngx_strncmp(seg[1].data, "whip", 4) != 0
            && ngx_strncmp(seg[1].data, "whep", 4) != 0))
    {
        return NGX_DECLINED;
    }

    ctx->app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &seg[0]);
    if (ctx->app == NULL) {
        return NGX_DECLINED;
    }

    ctx->kind = seg[1];
    ctx->direction = (seg[1].data[2] == 'i') ? NGX_AMS_WEBRTC_PUBLISH
                                             : NGX_AMS_WEBRTC_PLAY;
    ctx->id = seg[2];

    if (n == 4) {
        ctx->session = seg[3];
    }

    /* a viewer may ask for a rendition by its own id */
    if (!ngx_ams_stream_name_valid(ctx->id.data, ctx->id.len,
                                   ctx->direction == NGX_AMS_WEBRTC_PLAY
                                   ? NGX_AMS_STREAM_NAME_RUNG : 0, &why))
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_ams_webrtc_http_post(ngx_http_request_t *r,
    ngx_ams_webrtc_http_ctx_t *ctx)
{
    ngx_int_t                    rc;
    ngx_addr_t                   client;
    ngx_ams_webrtc_main_conf_t  *wcf;

    wcf = ngx_ams_webrtc_main_conf();

    if (ngx_ams_webrtc_http_rate(r, wcf) != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "ams webrtc: %V sends POSTs faster than %ui a second "
                      "(webrtc_offer_rate)",
                      &r->connection->addr_text, wcf->offer_rate);

        if (ngx_ams_webrtc_http_header(r, "Retry-After", (u_char *) "1", 1)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_ams_webrtc_http_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                                         "too many requests");
    }

    if (wcf == NULL || wcf->dtls == NULL || !ngx_ams_webrtc_udp_ready()) {
        return ngx_ams_webrtc_http_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "WebRTC is not available on this "
                                         "worker (no UDP port)");
    }

    if (ngx_ams_webrtc_sessions() >= wcf->max_sessions) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "ams webrtc: webrtc_max_sessions (%ui) reached",
                      wcf->max_sessions);
        return ngx_ams_webrtc_http_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "too many WebRTC sessions");
    }

    if (wcf->sessions_per_address) {
        client.sockaddr = r->connection->sockaddr;
        client.socklen = r->connection->socklen;

        if (ngx_ams_webrtc_sessions_from(&client)
            >= wcf->sessions_per_address)
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "ams webrtc: %V has webrtc_sessions_per_address "
                          "(%ui) sessions", &r->connection->addr_text,
                          wcf->sessions_per_address);
            return ngx_ams_webrtc_http_error(r,
                                          NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "too many WebRTC sessions from "
                                          "this address");
        }
    }

    /* CPU and memory limits: new sessions only, never a running one */
    if (ngx_ams_stats_admit(ctx->direction == NGX_AMS_WEBRTC_PUBLISH,
                            r->connection->log)
        != NGX_AMS_STATS_OK)
    {
        return ngx_ams_webrtc_http_refused(r, NGX_AMS_REFUSED_RESOURCES);
    }

    if (ngx_ams_webrtc_http_type(r, "application/sdp") != NGX_OK) {
        return ngx_ams_webrtc_http_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                         "Content-Type must be "
                                         "application/sdp");
    }

    if (r->headers_in.content_length_n > NGX_AMS_SDP_MAX_LEN) {
        return ngx_ams_webrtc_http_error(r,
                                         NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         "an offer is at most 65536 bytes");
    }

    rc = ngx_http_read_client_request_body(r, ngx_ams_webrtc_http_offer);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* the body is read: the offer, then the token */
static void
ngx_ams_webrtc_http_offer(ngx_http_request_t *r)
{
    ngx_int_t                   rc;
    ngx_str_t                   text, token;
    const char                 *err, *refused;
    ngx_http_cleanup_t         *cln;
    ngx_ams_sdp_policy_t        policy;
    ngx_ams_sdp_selection_t     sel;
    ngx_ams_webrtc_http_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_ams_webrtc_http_module);

    rc = ngx_ams_webrtc_http_body(r, &text);

    if (rc == NGX_DECLINED) {
        ngx_http_finalize_request(r, ngx_ams_webrtc_http_error(r,
                                   NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   "an offer is at most 65536 bytes"));
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->offer = ngx_palloc(r->pool, sizeof(ngx_ams_sdp_t));
    if (ctx->offer == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    err = "empty";

    /* checked once before the token: a one-time token is not spent on
     * an offer we cannot answer (the profile wanted is known later) */
    ngx_memzero(&policy, sizeof(ngx_ams_sdp_policy_t));
    policy.role = (ctx->direction == NGX_AMS_WEBRTC_PUBLISH)
                  ? NGX_AMS_SDP_WE_RECEIVE : NGX_AMS_SDP_WE_SEND;

    if (text.len == 0
        || ngx_ams_sdp_parse((char *) text.data, text.len, ctx->offer, &err)
           != 0
        || ngx_ams_sdp_select(ctx->offer, &policy, &sel, &err) != 0
        || (!ctx->offer->has_fingerprint && (err = "no sha-256 fingerprint")))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ams webrtc: %V offer refused: %s", &ctx->kind, err);
        ngx_http_finalize_request(r, ngx_ams_webrtc_http_error(r,
                                      NGX_HTTP_UNPROCESSABLE_ENTITY, err));
        return;
    }

    ctx->text = text;

    ngx_ams_webrtc_http_token(r, &token);

    /* before the check: a request freed while the store decides (its
     * connection closed at worker_shutdown_timeout) cancels it */
    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_ams_webrtc_http_cleanup;
    cln->data = ctx;

    refused = NULL;

    /* the cycle's log: the store may answer after the request is gone */
    rc = ngx_ams_access_check(ctx->app, &ctx->id,
                              ctx->direction == NGX_AMS_WEBRTC_PUBLISH,
                              &token, ngx_cycle->log,
                              ngx_ams_webrtc_http_admitted, r, &refused,
                              &ctx->pending);

    switch (rc) {

    case NGX_OK:
        rc = ngx_ams_webrtc_http_go(r, ctx);

        if (rc != NGX_DONE) {
            ngx_http_finalize_request(r, rc);
        }

        return;

    case NGX_DECLINED:
        ngx_http_finalize_request(r, ngx_ams_webrtc_http_refused(r,
                                                                 refused));
        return;

    case NGX_AGAIN:
        /* the body's reference keeps the request until it is answered */
        return;

    default:
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }
}


static void
ngx_ams_webrtc_http_admitted(void *data, const char *refused)
{
    ngx_http_request_t  *r = data;

    ngx_connection_t           *c;
    ngx_int_t                   rc;
    ngx_ams_webrtc_http_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_ams_webrtc_http_module);
    ctx->pending = NULL;

    c = r->connection;

    rc = refused ? ngx_ams_webrtc_http_refused(r, refused)
                 : ngx_ams_webrtc_http_go(r, ctx);

    if (rc == NGX_DONE) {
        /* waiting for the stream: the body's reference keeps it */
        return;
    }

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/* admitted: a viewer of a stream this node is to pull waits for it
 * (NGX_DONE) before the answer */
static ngx_int_t
ngx_ams_webrtc_http_go(ngx_http_request_t *r, ngx_ams_webrtc_http_ctx_t *ctx)
{
    if (ctx->direction == NGX_AMS_WEBRTC_PLAY) {
        ctx->wait.handler = ngx_ams_webrtc_http_waited;
        ctx->wait.data = r;

        if (ngx_ams_webrtc_wait_start(&ctx->wait, ctx->app, &ctx->id,
                                      r->connection->log)
            == NGX_AGAIN)
        {
            /* a client that goes meanwhile ends the request, whose
             * cleanup ends the wait (as the upstream module does) */
            r->read_event_handler = ngx_http_test_reading;
            return NGX_DONE;
        }
    }

    return ngx_ams_webrtc_http_answer(r, ctx);
}


/* the stream came, or not in time: prepare tells which (404) */
static void
ngx_ams_webrtc_http_waited(ngx_ams_webrtc_wait_t *w, ngx_uint_t live)
{
    ngx_http_request_t  *r = w->data;

    ngx_connection_t           *c;
    ngx_ams_webrtc_http_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_ams_webrtc_http_module);
    c = r->connection;

    r->read_event_handler = ngx_http_block_reading;

    ngx_http_finalize_request(r, ngx_ams_webrtc_http_answer(r, ctx));
    ngx_http_run_posted_requests(c);
}


/* the request is being freed: the store's answer must not reach it */
static void
ngx_ams_webrtc_http_cleanup(void *data)
{
    ngx_ams_webrtc_http_ctx_t  *ctx = data;

    if (ctx->pending) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "ams webrtc: the request went before its admission "
                      "was decided");
        ngx_ams_access_cancel(ctx->pending);
        ctx->pending = NULL;
    }

    ngx_ams_webrtc_wait_cancel(&ctx->wait);
}


static ngx_int_t
ngx_ams_webrtc_http_refused(ngx_http_request_t *r, const char *refused)
{
    u_char      buf[128], *p;
    ngx_uint_t  status;

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "ams webrtc: refused: %s", refused);

    if (ngx_strcmp(refused, NGX_AMS_REFUSED_RESOURCES) == 0
        || ngx_strcmp(refused, NGX_AMS_REFUSED_STORE) == 0)
    {
        status = NGX_HTTP_SERVICE_UNAVAILABLE;

    } else if (ngx_strcmp(refused, NGX_AMS_REFUSED_IN_USE) == 0) {
        status = NGX_HTTP_CONFLICT;

    } else if (ngx_strcmp(refused, NGX_AMS_REFUSED_TOKEN) == 0) {
        status = NGX_HTTP_UNAUTHORIZED;

    } else {
        status = NGX_HTTP_FORBIDDEN;
    }

    /* Ant Media Server's definition, as its clients look for it */
    p = ngx_snprintf(buf, sizeof(buf),
                     "{\"success\":false,\"message\":\"%s\"}", refused);

    if (r->request_body == NULL) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_ams_webrtc_http_send(r, status, "application/json", buf,
                                    p - buf);
}


/* admitted: the session, the media layer, the answer */
static ngx_int_t
ngx_ams_webrtc_http_answer(ngx_http_request_t *r,
    ngx_ams_webrtc_http_ctx_t *ctx)
{
    u_char                    *loc, *p;
    size_t                     len;
    ngx_int_t                  rc, n;
    ngx_str_t                  answer, text, arg;
    const char                *err;
    ngx_ams_webrtc_session_t  *s;

    text = ctx->text;

    s = ngx_ams_webrtc_session_create(ctx->app, &ctx->id, ctx->direction,
                                      r->connection->sockaddr,
                                      r->connection->socklen,
                                      r->connection->log);
    if (s == NULL) {
        return ngx_ams_webrtc_http_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                         "no session could be made");
    }

    /* WHEP ?streamHeight=N: a rung from the start (AMS's
     * forceStreamQuality); anything else is automatic */
    if (ctx->direction == NGX_AMS_WEBRTC_PLAY
        && ngx_http_arg(r, (u_char *) "streamHeight", 12, &arg) == NGX_OK)
    {
        n = ngx_atoi(arg.data, arg.len);
        s->stream_height = (n > 0 && n <= 8192) ? (ngx_uint_t) n : 0;
    }

    err = "unknown error";

    rc = ngx_ams_webrtc_session_answer(s, text.data, text.len, &answer,
                                       &err);
    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ams webrtc: %V of \"%V\" refused: %s", &ctx->kind,
                      &s->stream_id, err);
        ngx_ams_webrtc_session_close(s, err);

        return ngx_ams_webrtc_http_error(r, rc, err);
    }

    /* the session's URL: "/{App}/whip/{id}/{session}", the id escaped:
     * it is the client's */
    len = 1 + ctx->app->name.len + 1 + 4 + 1
          + ctx->id.len + 2 * ngx_escape_uri(NULL, ctx->id.data, ctx->id.len,
                                             NGX_ESCAPE_URI_COMPONENT)
          + 1 + NGX_AMS_WEBRTC_ID_LEN;

    loc = ngx_pnalloc(r->pool, len);
    if (loc == NULL) {
        ngx_ams_webrtc_session_close(s, "out of memory");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(loc, "/%V/%V/", &ctx->app->name, &ctx->kind);
    p = (u_char *) ngx_escape_uri(p, ctx->id.data, ctx->id.len,
                                  NGX_ESCAPE_URI_COMPONENT);
    p = ngx_sprintf(p, "/%s", s->id);

    if (ngx_ams_webrtc_http_header(r, "Location", loc, p - loc) != NGX_OK) {
        ngx_ams_webrtc_session_close(s, "out of memory");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_pnalloc(r->pool, NGX_AMS_WEBRTC_UFRAG_LEN + 2);
    if (p == NULL
        || ngx_ams_webrtc_http_header(r, "ETag", p,
                                      ngx_sprintf(p, "\"%s\"",
                                                  s->local_ufrag) - p)
           != NGX_OK)
    {
        ngx_ams_webrtc_session_close(s, "out of memory");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                  "ams webrtc: %V answered: %s%s", &ctx->kind,
                  s->sel.audio >= 0 ? "audio " : "",
                  s->sel.video >= 0 ? "video" : "");

    /* the answer lives in the session's pool, which outlives this
     * response unless the session ends meanwhile: a copy */
    p = ngx_pnalloc(r->pool, answer.len);
    if (p == NULL) {
        ngx_ams_webrtc_session_close(s, "out of memory");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, answer.data, answer.len);

    return ngx_ams_webrtc_http_send(r, NGX_HTTP_CREATED, "application/sdp",
                                    p, answer.len);
}


/* the session of a PATCH or DELETE, of this URL, in this worker */
static ngx_ams_webrtc_session_t *
ngx_ams_webrtc_http_session(ngx_ams_webrtc_http_ctx_t *ctx)
{
    ngx_ams_webrtc_session_t  *s;

    s = ngx_ams_webrtc_session_find(ctx->session.data, ctx->session.len);

    if (s == NULL || s->app != ctx->app || s->direction != ctx->direction
        || s->stream_id.len != ctx->id.len
        || ngx_memcmp(s->stream_id.data, ctx->id.data, ctx->id.len) != 0)
    {
        return NULL;
    }

    return s;
}


/*
 * The session of the URL, this worker's or another's: NGX_OK with
 * ctx->entry (its owner, what a PATCH checks), or NGX_DECLINED
 */
static ngx_int_t
ngx_ams_webrtc_http_find(ngx_ams_webrtc_http_ctx_t *ctx)
{
    ngx_ams_webrtc_session_t         *s;
    ngx_ams_webrtc_registry_entry_t  *e = &ctx->entry;

    s = ngx_ams_webrtc_http_session(ctx);

    if (s) {
        e->pid = ngx_pid;
        ngx_memcpy(e->local_ufrag, s->local_ufrag,
                   NGX_AMS_WEBRTC_UFRAG_LEN);
        e->remote_ufrag_crc = ngx_crc32_short(s->remote_ufrag,
                                              ngx_strlen(s->remote_ufrag));
        return NGX_OK;
    }

    if (ngx_ams_webrtc_registry_find(ctx->session.data, ctx->session.len, e)
        != NGX_OK
        || (ngx_pid_t) e->pid == ngx_pid   /* ours, and closing */
        || e->direction != ctx->direction
        || e->app_len != ctx->app->name.len
        || ngx_memcmp(e->app, ctx->app->name.data, e->app_len) != 0
        || e->name_len != ctx->id.len
        || ngx_memcmp(e->name, ctx->id.data, e->name_len) != 0)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* DELETE: closed here, or asked of the worker that holds it */
static ngx_int_t
ngx_ams_webrtc_http_delete(ngx_http_request_t *r,
    ngx_ams_webrtc_http_ctx_t *ctx)
{
    ngx_int_t                  rc;
    ngx_ams_webrtc_session_t  *s;

    if (ngx_ams_webrtc_http_find(ctx) != NGX_OK) {
        return ngx_ams_webrtc_http_error(r, NGX_HTTP_NOT_FOUND,
                                         "no such session");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if ((ngx_pid_t) ctx->entry.pid == ngx_pid) {
        s = ngx_ams_webrtc_http_session(ctx);

        if (s) {
            ngx_ams_webrtc_session_close(s, "DELETE by the client");
        }

    } else if (ngx_ams_webrtc_registry_close(ctx->session.data,
                                             ctx->session.len,
                                             (ngx_pid_t) ctx->entry.pid)
               != NGX_OK)
    {
        return ngx_ams_webrtc_http_error(r, NGX_HTTP_NOT_FOUND,
                                         "no such session");
    }

    return ngx_ams_webrtc_http_send(r, NGX_HTTP_OK, NULL, NULL, 0);
}


/* trickle ICE: an ICE-lite server needs none of the peer's candidates
 * (its checks come to us), so a fragment is checked and acknowledged */
static void
ngx_ams_webrtc_http_patch(ngx_http_request_t *r)
{
    u_char                      etag[NGX_AMS_WEBRTC_UFRAG_LEN + 2];
    ngx_str_t                   text;
    const char                 *err;
    ngx_table_elt_t            *h;
    ngx_ams_sdp_t              *frag;
    ngx_ams_webrtc_http_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_ams_webrtc_http_module);

    /* it may have ended while the body came */
    if (ngx_ams_webrtc_http_find(ctx) != NGX_OK) {
        ngx_http_finalize_request(r, ngx_ams_webrtc_http_error(r,
                                      NGX_HTTP_NOT_FOUND, "no such session"));
        return;
    }

    ngx_sprintf(etag, "\"%*s\"", (size_t) NGX_AMS_WEBRTC_UFRAG_LEN,
                ctx->entry.local_ufrag);

    h = r->headers_in.if_match;

    if (h && !(h->value.len == 1 && h->value.data[0] == '*')
        && (h->value.len != NGX_AMS_WEBRTC_UFRAG_LEN + 2
            || ngx_memcmp(h->value.data, etag, h->value.len) != 0))
    {
        ngx_http_finalize_request(r, ngx_ams_webrtc_http_error(r,
                                      NGX_HTTP_PRECONDITION_FAILED,
                                      "If-Match names another ICE "
                                      "session"));
        return;
    }

    if (ngx_ams_webrtc_http_body(r, &text) != NGX_OK) {
        ngx_http_finalize_request(r, ngx_ams_webrtc_http_error(r,
                                      NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                      "larger than 65536 bytes"));
        return;
    }

    frag = ngx_palloc(r->pool, sizeof(ngx_ams_sdp_t));
    if (frag == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    err = "empty";

    if (text.len == 0
        || ngx_ams_sdp_parse_fragment((char *) text.data, text.len, frag,
                                      &err)
           != 0)
    {
        ngx_http_finalize_request(r, ngx_ams_webrtc_http_error(r,
                                      NGX_HTTP_BAD_REQUEST, err));
        return;
    }

    /* ICE-lite uses none of the peer's candidates: nothing to hand to
     * the owner, whichever worker answers */
    if (frag->ice_ufrag[0]
        && ngx_crc32_short((u_char *) frag->ice_ufrag,
                           ngx_strlen(frag->ice_ufrag))
           != ctx->entry.remote_ufrag_crc)
    {
        ngx_http_finalize_request(r, ngx_ams_webrtc_http_error(r,
                                      NGX_HTTP_UNPROCESSABLE_ENTITY,
                                      "ICE restarts are not supported: "
                                      "start a new session"));
        return;
    }

    if (ngx_ams_webrtc_http_header(r, "ETag", etag, sizeof(etag)) != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_http_finalize_request(r, ngx_ams_webrtc_http_send(r,
                                  NGX_HTTP_NO_CONTENT, NULL, NULL, 0));
}


/* a token bucket per client address, in this worker: a table of slots
 * by address hash, a newcomer taking a slot over (a cheap limit, not an
 * exact one: a flood from many addresses meets webrtc_max_sessions) */
static ngx_int_t
ngx_ams_webrtc_http_rate(ngx_http_request_t *r,
    ngx_ams_webrtc_main_conf_t *wcf)
{
    u_char                 *a;
    size_t                  len;
    ngx_msec_t              gone;
    ngx_uint_t              slot;
    struct sockaddr        *sa;
    ngx_ams_webrtc_rate_t  *rt;

    if (wcf->offer_rate == 0) {
        return NGX_OK;
    }

    sa = r->connection->sockaddr;

    switch (sa->sa_family) {

    case AF_INET:
        a = (u_char *) &((struct sockaddr_in *) sa)->sin_addr;
        len = 4;
        break;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        a = (u_char *) &((struct sockaddr_in6 *) sa)->sin6_addr;
        len = 16;
        break;
#endif

    default:
        return NGX_OK;                  /* a local proxy's: not ours */
    }

    slot = ngx_crc32_short(a, len) % NGX_AMS_WEBRTC_RATE_SLOTS;
    rt = &ngx_ams_webrtc_rates[slot];

    if (rt->len != len || ngx_memcmp(rt->addr, a, len) != 0) {
        ngx_memcpy(rt->addr, a, len);
        rt->len = len;
        rt->last = ngx_current_msec;
        rt->milli = wcf->offer_burst * 1000;
    }

    gone = ngx_current_msec - rt->last;
    rt->last = ngx_current_msec;

    rt->milli = ngx_min(rt->milli + gone * wcf->offer_rate,
                        wcf->offer_burst * 1000);

    if (rt->milli < 1000) {
        return NGX_DECLINED;
    }

    rt->milli -= 1000;

    return NGX_OK;
}


/* "application/sdp", parameters and case aside */
static ngx_int_t
ngx_ams_webrtc_http_type(ngx_http_request_t *r, const char *type)
{
    size_t            len, n;
    u_char           *p;
    ngx_table_elt_t  *h;

    h = r->headers_in.content_type;
    if (h == NULL) {
        return NGX_DECLINED;
    }

    len = ngx_strlen(type);
    p = h->value.data;
    n = h->value.len;

    if (n < len || ngx_strncasecmp(p, (u_char *) type, len) != 0) {
        return NGX_DECLINED;
    }

    if (n > len && p[len] != ';' && p[len] != ' ') {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* the body in one piece: NGX_DECLINED when over NGX_AMS_SDP_MAX_LEN (a
 * chunked body has no Content-Length to refuse it by earlier) */
static ngx_int_t
ngx_ams_webrtc_http_body(ngx_http_request_t *r, ngx_str_t *text)
{
    off_t         size;
    ssize_t       n;
    u_char       *p;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    text->len = 0;
    text->data = NULL;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        size += ngx_buf_size(cl->buf);
    }

    if (size > NGX_AMS_SDP_MAX_LEN) {
        return NGX_DECLINED;
    }

    /* one more byte: the parsers get a NUL after the text */
    p = ngx_pnalloc(r->pool, (size_t) size + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    text->data = p;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "ams webrtc: reading the body from \"%V\" failed",
                          &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    *p = '\0';
    text->len = p - text->data;

    return NGX_OK;
}


/* "?token=" (Ant Media Server's), else "Authorization: Bearer" (WHIP) */
static void
ngx_ams_webrtc_http_token(ngx_http_request_t *r, ngx_str_t *token)
{
    ngx_str_t  v;

    token->len = 0;
    token->data = NULL;

    if (r->args.len) {
        ngx_ams_access_token_arg(r->args.data, r->args.len, token);
        if (token->len) {
            return;
        }
    }

    if (r->headers_in.authorization == NULL) {
        return;
    }

    v = r->headers_in.authorization->value;

    if (v.len > 7 && ngx_strncasecmp(v.data, (u_char *) "Bearer ", 7) == 0) {
        token->data = v.data + 7;
        token->len = v.len - 7;

        while (token->len && token->data[0] == ' ') {
            token->data++;
            token->len--;
        }
    }
}


static ngx_int_t
ngx_ams_webrtc_http_header(ngx_http_request_t *r, const char *key,
    u_char *value, size_t len)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key.data = (u_char *) key;
    h->key.len = ngx_strlen(key);
    h->value.data = value;
    h->value.len = len;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    return NGX_OK;
}


/* on every answer: a page of another origin calls WHIP/WHEP by fetch()
 * and reads the Location and ETag */
static ngx_int_t
ngx_ams_webrtc_http_cors(ngx_http_request_t *r)
{
    if (ngx_ams_webrtc_http_header(r, "Access-Control-Allow-Origin",
                                   (u_char *) "*", 1) != NGX_OK
        || ngx_ams_webrtc_http_header(r, "Access-Control-Expose-Headers",
                                      (u_char *) "Location, ETag, Link", 20)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_ams_webrtc_http_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *type, u_char *body, size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (ngx_ams_webrtc_http_cors(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    if (type) {
        r->headers_out.content_type.data = (u_char *) type;
        r->headers_out.content_type.len = ngx_strlen(type);
        r->headers_out.content_type_len = r->headers_out.content_type.len;
    }

    if (len == 0) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body;
    b->last = body + len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* a short text saying why; the body (if any is still unread) is
 * discarded */
static ngx_int_t
ngx_ams_webrtc_http_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *text)
{
    size_t     len;
    u_char    *p;
    ngx_int_t  rc;

    if (r->request_body == NULL) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    len = ngx_strlen(text);

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, text, len);
    p[len] = '\n';

    return ngx_ams_webrtc_http_send(r, status, "text/plain", p, len + 1);
}
