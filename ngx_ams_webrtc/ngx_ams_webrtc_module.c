
/*
 * Copyright (C) nginx-ams authors
 *
 * ngx_ams_webrtc: the module's configuration (a core module for the
 * "ams {}" and "application {}" directives) and its HTTP module (the
 * location handlers of WHIP and WHEP).  A skeleton until the transport
 * lands: it loads and does nothing.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_webrtc.h"


static ngx_core_module_t  ngx_ams_webrtc_module_ctx = {
    ngx_string("ams_webrtc"),
    NULL,
    NULL
};


ngx_module_t  ngx_ams_webrtc_module = {
    NGX_MODULE_V1,
    &ngx_ams_webrtc_module_ctx,            /* module context */
    NULL,                                  /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_module_t  ngx_ams_webrtc_http_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_ams_webrtc_http_module = {
    NGX_MODULE_V1,
    &ngx_ams_webrtc_http_module_ctx,       /* module context */
    NULL,                                  /* module directives */
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
