
/*
 * Copyright (C) nginx-ams authors
 *
 * The HTTP side of a node: location directives.
 *
 *   location ~ ^/[^/]+/rest/ { ams_rest; }     per application
 *   location /rest/           { ams_rest; }     server level
 *   location = /metrics       { ams_metrics; }
 *   location ~ ^/[^/]+/streams/ { ams_media; root ...; }
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_api.h"


static char *ngx_ams_api_content(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_ams_api_create_loc_conf(ngx_conf_t *cf);
static char *ngx_ams_api_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_ams_api_init(ngx_conf_t *cf);


static ngx_command_t  ngx_ams_api_commands[] = {

    { ngx_string("ams_rest"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ams_api_content,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_ams_rest_handler },

    { ngx_string("ams_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ams_api_content,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_ams_metrics_handler },

    { ngx_string("ams_media"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ams_api_loc_conf_t, media),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_ams_api_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_ams_api_init,                      /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    ngx_ams_api_create_loc_conf,           /* create location configuration */
    ngx_ams_api_merge_loc_conf             /* merge location configuration */
};


ngx_module_t  ngx_ams_api_module = {
    NGX_MODULE_V1,
    &ngx_ams_api_module_ctx,               /* module context */
    ngx_ams_api_commands,                  /* module directives */
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


static char *
ngx_ams_api_content(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    if (ngx_ams_get_main_conf(cf->cycle) == NULL
        || ngx_ams_get_main_conf(cf->cycle)->shm_zone == NULL)
    {
        return "needs an \"ams\" block before \"http\"";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = (ngx_http_handler_pt) cmd->post;

    return NGX_CONF_OK;
}


static void *
ngx_ams_api_create_loc_conf(ngx_conf_t *cf)
{
    ngx_ams_api_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ams_api_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->media = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_ams_api_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_ams_api_loc_conf_t *prev = parent;
    ngx_ams_api_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->media, prev->media, 0);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_ams_api_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_ams_media_access_handler;

    return NGX_OK;
}


/* a whole response in one buffer: status, type, length, body */
ngx_int_t
ngx_ams_api_send(ngx_http_request_t *r, ngx_uint_t status, const char *type,
    ngx_buf_t *b)
{
    ngx_int_t     rc;
    ngx_chain_t   out;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
