
/*
 * Copyright (C) nginx-ams authors
 *
 * REST v2 at server level, AMS's paths: an application's runtime
 * settings (ngx_ams_app_settings.c in core, each module its own fields).
 *
 *   GET  /rest/v2/applications/settings/{app}   AppSettings (the fields
 *                                                this node can change)
 *   POST /rest/v2/applications/settings/{app}   a partial AppSettings:
 *        the fields given change, unknown ones are ignored (as AMS does),
 *        a field of the wrong type is a 400; Result {"success":true} once
 *        the store has it and this node applies it; other nodes apply it
 *        within one settings_period
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_api.h"
#include "ngx_ams_app_settings.h"


typedef struct {
    void                     *handle;        /* the change in flight */
    ngx_ams_rest_t           *rest;
} ngx_ams_rest_settings_ctx_t;


static void ngx_ams_rest_settings_done(void *data, ngx_int_t rc,
    const char *error);
static void ngx_ams_rest_settings_cleanup(void *data);


ngx_int_t
ngx_ams_rest_settings(ngx_ams_rest_t *rest)
{
    json_t               *doc;
    ngx_int_t             rc;
    ngx_str_t            *seg = rest->segment;
    const char           *error;
    ngx_http_cleanup_t   *cln;
    ngx_ams_app_conf_t   *app;
    ngx_http_request_t   *r = rest->request;

    ngx_ams_rest_settings_ctx_t  *ctx;

    if (rest->app || rest->segments != 3
        || seg[0].len != 12
        || ngx_strncmp(seg[0].data, "applications", 12) != 0
        || seg[1].len != 8 || ngx_strncmp(seg[1].data, "settings", 8) != 0)
    {
        return NGX_DECLINED;
    }

    app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &seg[2]);

    if (app == NULL) {
        ngx_ams_rest_error(rest, NGX_HTTP_NOT_FOUND, "no such application: "
                           "%V", &seg[2]);
        return NGX_OK;
    }

    if (r->method == NGX_HTTP_GET) {
        doc = ngx_ams_app_settings_export(app);
        if (doc == NULL) {
            ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                               "out of memory");
            return NGX_OK;
        }

        ngx_ams_rest_json(rest, NGX_HTTP_OK, doc);
        return NGX_OK;
    }

    if (r->method != NGX_HTTP_POST) {
        ngx_ams_rest_error(rest, NGX_HTTP_NOT_ALLOWED, "method %V not allowed "
                           "here", &r->method_name);
        return NGX_OK;
    }

    if (rest->body == NULL) {
        ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                           "the body must be a JSON object of AppSettings "
                           "fields");
        return NGX_OK;
    }

    /* a request freed before the store answers forgets the change's
     * completion (the change itself goes on) */
    cln = ngx_http_cleanup_add(r, sizeof(ngx_ams_rest_settings_ctx_t));
    if (cln == NULL) {
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "out of memory");
        return NGX_OK;
    }

    ctx = cln->data;
    ctx->handle = NULL;
    ctx->rest = rest;

    error = NULL;
    rc = ngx_ams_app_settings_change(app, rest->body,
                                     ngx_ams_rest_settings_done, rest,
                                     &ctx->handle, &error);

    switch (rc) {

    case NGX_OK:
        cln->handler = ngx_ams_rest_settings_cleanup;
        break;

    case NGX_DONE:
        ngx_ams_rest_success(rest, NULL);
        break;

    case NGX_DECLINED:
        ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST, "%s", error);
        break;

    default:
        ngx_ams_rest_error(rest, NGX_HTTP_SERVICE_UNAVAILABLE, "%s",
                           error ? error : "the change could not be made");
    }

    return NGX_OK;
}


static void
ngx_ams_rest_settings_done(void *data, ngx_int_t rc, const char *error)
{
    ngx_ams_rest_t  *rest = data;

    ngx_http_cleanup_t  *cln;

    /* answered: the cleanup has nothing left to cancel */
    for (cln = rest->request->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_ams_rest_settings_cleanup) {
            cln->handler = NULL;
        }
    }

    if (rc != NGX_OK) {
        ngx_ams_rest_error(rest, NGX_HTTP_SERVICE_UNAVAILABLE, "store: %s",
                           error);
        return;
    }

    ngx_ams_rest_success(rest, NULL);
}


/* the request is being freed before the store answered */
static void
ngx_ams_rest_settings_cleanup(void *data)
{
    ngx_ams_rest_settings_ctx_t  *ctx = data;

    if (ctx->handle) {
        ngx_ams_app_settings_cancel(ctx->handle);
        ctx->handle = NULL;
    }

    if (ctx->rest->body) {
        json_decref(ctx->rest->body);
        ctx->rest->body = NULL;
    }
}
