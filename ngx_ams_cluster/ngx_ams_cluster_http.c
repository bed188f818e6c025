
/*
 * Copyright (C) nginx-ams authors
 *
 * The HTTP side of a node that serves streams it does not have (an
 * edge): HLS and DASH files come from the stream's origin through
 * nginx's own proxy_pass and proxy cache (request collapsing with
 * proxy_cache_lock), and this module only tells nginx where to go:
 *
 *   ams_cluster_origin on;   in the location: find the origin of the
 *                            requested stream in the access phase
 *   ams_cluster_local @name; streams published on this node are served
 *                            from its own files, by that named location
 *   $ams_origin              that origin's "ip:httpPort"
 *   $ams_cluster_token       a node-to-node JWT for X-AMS-Cluster-Token
 *
 * A variable cannot wait for the store, so the access handler resolves
 * the origin first (ngx_ams_cluster_locate: the broadcast record, cached
 * per worker for NGX_AMS_CLUSTER_LOCATE_TTL with a burst of callers
 * collapsed into one query, then the node snapshot), parking the request
 * meanwhile.  A stream that is not live on an ALIVE node is a 404 here,
 * so an origin's death turns its streams into 404s as soon as the
 * snapshot reads it DEAD.  The handler runs before the HLS/DASH gate
 * (ngx_ams_media.c: this module's postconfiguration runs later, and nginx
 * runs an access phase's handlers last-added first), so a viewer is
 * admitted and counted by the gate only for a stream that exists.
 *
 * Viewer counts of an edge hang on the stream's relay in its bus (the
 * gate counts a viewer only while the stream is live here, and the relay
 * adds this node's counts to the origin's record): a request for a
 * stream located elsewhere and not live here starts (or reuses) the pull
 * (ngx_ams_cluster_relay_start), released a while after the last local
 * reader or HLS/DASH viewer left.
 *
 * A node that publishes too (an origin) serves its own streams from its
 * files: a stream live here from a publisher, or whose record names this
 * node, goes to the "ams_cluster_local" named location before the gate
 * has run (it runs there, once), so one location serves every stream on
 * every node.  Without it such a request is a 404.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_cluster.h"
#include "ngx_ams_node_token.h"
#include "ngx_ams_media_name.h"
#include "ngx_ams_log_escape.h"


/* a token is made again when half its life is gone */


typedef struct {
    ngx_flag_t                origin;        /* ams_cluster_origin */
    ngx_str_t                 local;         /* ams_cluster_local */
} ngx_ams_cluster_http_loc_conf_t;


typedef struct {
    ngx_ams_cluster_locate_t  locate;
    ngx_http_request_t       *request;
    ngx_ams_app_conf_t       *app;
    ngx_str_t                 id;
    ngx_str_t                 origin;        /* "ip:port" */
    ngx_int_t                 status;        /* NGX_DECLINED: go on */
    unsigned                  local:1;       /* to ams_cluster_local */
    unsigned                  waiting:1;
    unsigned                  done:1;
} ngx_ams_cluster_http_ctx_t;


static ngx_int_t ngx_ams_cluster_http_preconf(ngx_conf_t *cf);
static ngx_int_t ngx_ams_cluster_http_init(ngx_conf_t *cf);
static void *ngx_ams_cluster_http_create_loc_conf(ngx_conf_t *cf);
static char *ngx_ams_cluster_http_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_ams_cluster_http_access(ngx_http_request_t *r);
static ngx_int_t ngx_ams_cluster_http_answer(ngx_http_request_t *r,
    ngx_ams_cluster_http_ctx_t *ctx, ngx_int_t rc);
static void ngx_ams_cluster_http_located(ngx_ams_cluster_locate_t *lc);
static void ngx_ams_cluster_http_local(ngx_http_request_t *r,
    ngx_ams_cluster_http_ctx_t *ctx);
static void ngx_ams_cluster_http_cleanup(void *data);
static ngx_int_t ngx_ams_cluster_http_origin_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_ams_cluster_http_token_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_command_t  ngx_ams_cluster_http_commands[] = {

    { ngx_string("ams_cluster_origin"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ams_cluster_http_loc_conf_t, origin),
      NULL },

    { ngx_string("ams_cluster_local"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ams_cluster_http_loc_conf_t, local),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_ams_cluster_http_module_ctx = {
    ngx_ams_cluster_http_preconf,          /* preconfiguration */
    ngx_ams_cluster_http_init,             /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_ams_cluster_http_create_loc_conf,  /* create location configuration */
    ngx_ams_cluster_http_merge_loc_conf    /* merge location configuration */
};


ngx_module_t  ngx_ams_cluster_http_module = {
    NGX_MODULE_V1,
    &ngx_ams_cluster_http_module_ctx,      /* module context */
    ngx_ams_cluster_http_commands,         /* module directives */
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


static ngx_http_variable_t  ngx_ams_cluster_http_vars[] = {

    { ngx_string("ams_origin"), NULL,
      ngx_ams_cluster_http_origin_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("ams_cluster_token"), NULL,
      ngx_ams_cluster_http_token_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


/* this worker's current node token, made again at half its life */


static ngx_int_t
ngx_ams_cluster_http_preconf(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_ams_cluster_http_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_ams_cluster_http_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_ams_cluster_http_access;

    return NGX_OK;
}


static void *
ngx_ams_cluster_http_create_loc_conf(ngx_conf_t *cf)
{
    ngx_ams_cluster_http_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ams_cluster_http_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->origin = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_ams_cluster_http_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_ams_cluster_http_loc_conf_t *prev = parent;
    ngx_ams_cluster_http_loc_conf_t *conf = child;

    ngx_ams_cluster_conf_t  *ccf;

    ngx_conf_merge_value(conf->origin, prev->origin, 0);
    ngx_conf_merge_str_value(conf->local, prev->local, "");

    if (conf->local.len && conf->local.data[0] != '@') {
        return "\"ams_cluster_local\" must name a location: \"@name\"";
    }

    if (conf->origin) {
        ccf = ngx_ams_cluster_conf(cf->cycle);

        if (ccf == NULL || !ccf->enabled) {
            return "\"ams_cluster_origin\" needs \"node_role\" in the "
                   "\"ams\" block";
        }
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_ams_cluster_http_access(ngx_http_request_t *r)
{
    char                              escaped[NGX_AMS_LOG_ESCAPED_SIZE(
                                                  NGX_AMS_NAME_LEN)];
    ngx_int_t                         rc;
    ngx_str_t                         app;
    ngx_ams_stream_t                 *st;
    ngx_http_cleanup_t               *cln;
    ngx_ams_media_name_t              name;
    ngx_ams_cluster_http_ctx_t       *ctx;
    ngx_ams_cluster_http_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_ams_cluster_http_module);

    if (!hlcf->origin || r != r->main) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_ams_cluster_http_module);

    if (ctx) {
        if (ctx->waiting && !ctx->done) {
            return NGX_DONE;
        }

        /* NGX_DECLINED, not NGX_OK: with "satisfy any" an NGX_OK would
         * skip the gate that admits viewers */
        return ctx->status;
    }

    if (ngx_ams_media_name(r->uri.data, r->uri.len, &name) != 0) {
        goto not_found;
    }

    app.data = (u_char *) name.app;
    app.len = name.app_len;

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_ams_cluster_http_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &app);
    if (ctx->app == NULL) {
        goto not_found;
    }

    /* a rung's files live where its parent does */
    ctx->id.data = (u_char *) name.parent;
    ctx->id.len = name.parent_len;
    ctx->request = r;
    ctx->locate.handler = ngx_ams_cluster_http_located;
    ctx->locate.data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_ams_cluster_http_module);

    /* published here: this node's files, no lookup */
    st = ngx_ams_bus_find(&ctx->app->name, &ctx->id);

    if (st && st->source_kind != NGX_AMS_SOURCE_RELAY && hlcf->local.len) {
        ngx_ams_cluster_http_local(r, ctx);
        return NGX_DONE;
    }

    /* before the lookup: a request freed while the store answers (its
     * connection closed) cancels it */
    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_ams_cluster_http_cleanup;
    cln->data = ctx;

    rc = ngx_ams_cluster_locate(&ctx->locate, &ctx->app->name, &ctx->id,
                                r->connection->log);

    if (rc == NGX_AGAIN) {
        ctx->waiting = 1;
        r->main->count++;
        return NGX_DONE;
    }

    rc = ngx_ams_cluster_http_answer(r, ctx, rc);

    if (ctx->local) {
        ngx_ams_cluster_http_local(r, ctx);
        return NGX_DONE;
    }

    return rc;

not_found:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "ams cluster: \"%s\" is no stream's file",
                  ngx_ams_log_escape(escaped, sizeof(escaped), r->uri.data,
                                     r->uri.len));
    return NGX_HTTP_NOT_FOUND;
}


/* what the lookup says about the request: go on to the proxy, or not */
static ngx_int_t
ngx_ams_cluster_http_answer(ngx_http_request_t *r,
    ngx_ams_cluster_http_ctx_t *ctx, ngx_int_t rc)
{
    char                     escaped[NGX_AMS_LOG_ESCAPED_SIZE(
                                         NGX_AMS_NAME_LEN)];
    u_char                           *p;
    ngx_ams_cluster_node_t           *node;
    ngx_ams_cluster_http_loc_conf_t  *hlcf;

    ngx_ams_log_escape(escaped, sizeof(escaped), ctx->id.data, ctx->id.len);

    if (rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ams cluster: origin of \"%V/%s\" unknown: the store "
                      "failed", &ctx->app->name, escaped);
        ctx->status = NGX_HTTP_SERVICE_UNAVAILABLE;
        return ctx->status;
    }

    hlcf = ngx_http_get_module_loc_conf(r, ngx_ams_cluster_http_module);

    if (rc == NGX_DECLINED && ctx->locate.self && hlcf->local.len) {
        ctx->local = 1;
        ctx->status = NGX_DONE;
        return ctx->status;
    }

    if (rc != NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ams cluster: \"%V/%s\" is not live on %s",
                      &ctx->app->name, escaped,
                      ctx->locate.self ? "another node (this node is its "
                                         "origin: no \"ams_cluster_local\")"
                                       : "any ALIVE origin");
        ctx->status = NGX_HTTP_NOT_FOUND;
        return ctx->status;
    }

    node = &ctx->locate.origin;

    p = ngx_pnalloc(r->pool, NGX_AMS_CLUSTER_ID_LEN + sizeof(":65535"));
    if (p == NULL) {
        ctx->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return ctx->status;
    }

    ctx->origin.data = p;
    ctx->origin.len = ngx_sprintf(p, "%s:%ud", node->ip,
                                  (ngx_uint_t) node->http_port)
                      - p;

    /* the edge's viewers are counted on the stream's relay here */
    if (ngx_ams_bus_find(&ctx->app->name, &ctx->id) == NULL) {
        (void) ngx_ams_cluster_relay_start(ctx->app, &ctx->id,
                                           r->connection->log);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "ams cluster: \"%V/%s\" from %V", &ctx->app->name,
                   escaped, &ctx->origin);

    ctx->status = NGX_DECLINED;
    return ctx->status;
}


static void
ngx_ams_cluster_http_located(ngx_ams_cluster_locate_t *lc)
{
    ngx_ams_cluster_http_ctx_t *ctx = lc->data;

    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    ctx->done = 1;

    (void) ngx_ams_cluster_http_answer(r, ctx, lc->rc);

    r->main->count--;

    if (ctx->local) {
        ngx_ams_cluster_http_local(r, ctx);

    } else {
        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_core_run_phases(r);
    }

    ngx_http_run_posted_requests(c);
}


/*
 * This node's own stream: its files, through the named location.  The
 * gate has not run yet (this handler runs before it), so it runs there,
 * once.  Module contexts are cleared by the jump; "ctx" stays in the
 * request's pool for the cleanup handler.
 */
static void
ngx_ams_cluster_http_local(ngx_http_request_t *r,
    ngx_ams_cluster_http_ctx_t *ctx)
{
    ngx_ams_cluster_http_loc_conf_t  *hlcf;

    hlcf = ngx_http_get_module_loc_conf(r, ngx_ams_cluster_http_module);

    ctx->local = 1;

    (void) ngx_http_named_location(r, &hlcf->local);
    ngx_http_finalize_request(r, NGX_DONE);
}


/* the request is being freed: the lookup's answer must not reach it */
static void
ngx_ams_cluster_http_cleanup(void *data)
{
    ngx_ams_cluster_http_ctx_t *ctx = data;

    if (ctx->waiting && !ctx->done) {
        ngx_ams_cluster_locate_cancel(&ctx->locate);
        ctx->done = 1;
    }
}


static ngx_int_t
ngx_ams_cluster_http_origin_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_ams_cluster_http_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_ams_cluster_http_module);

    if (ctx == NULL || ctx->origin.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->data = ctx->origin.data;
    v->len = ctx->origin.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * A token for the origin this request goes to (its "aud"), so that it
 * opens that node only.  Made for each evaluation: proxy_set_header
 * evaluates it only for a request that goes upstream (a cache miss).
 */
static ngx_int_t
ngx_ams_cluster_http_token_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    char                        *token;
    size_t                       len;
    ngx_ams_cluster_conf_t      *ccf;
    ngx_ams_cluster_http_ctx_t  *ctx;

    ccf = ngx_ams_cluster_conf((ngx_cycle_t *) ngx_cycle);
    ctx = ngx_http_get_module_ctx(r->main, ngx_ams_cluster_http_module);

    if (ccf == NULL || !ccf->enabled || ccf->key.len == 0 || ctx == NULL
        || ctx->origin.len == 0)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    token = ngx_ams_node_token_sign(ccf->key.data, ccf->key.len,
                                    (char *) ccf->node_id.data,
                                    ccf->node_id.len,
                                    ctx->locate.origin.ip,
                                    ngx_strlen(ctx->locate.origin.ip),
                                    (int64_t) ngx_time());
    if (token == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "ams cluster: no node token could be made");
        v->not_found = 1;
        return NGX_OK;
    }

    len = ngx_strlen(token);

    v->data = ngx_pnalloc(r->pool, len);
    if (v->data == NULL) {
        free(token);
        return NGX_ERROR;
    }

    ngx_memcpy(v->data, token, len);
    free(token);

    v->len = len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}
