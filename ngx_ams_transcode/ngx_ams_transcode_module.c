
/*
 * Copyright (C) nginx-ams authors
 *
 * The transcoder: per live stream, decode once, scale once per rung,
 * encode each rung, publish each rung back into the bus as a
 * "rendition" source named {id}_{height}p{kbps}kbps.  The codec work
 * runs in its own thread pool, one task in flight per stream.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"
#include "ngx_ams_transcode.h"


static void *ngx_ams_transcode_create_conf(ngx_cycle_t *cycle);


static ngx_command_t  ngx_ams_transcode_commands[] = {
      ngx_null_command
};


static ngx_core_module_t  ngx_ams_transcode_module_ctx = {
    ngx_string("ams_transcode"),
    ngx_ams_transcode_create_conf,
    NULL
};


ngx_module_t  ngx_ams_transcode_module = {
    NGX_MODULE_V1,
    &ngx_ams_transcode_module_ctx,         /* module context */
    ngx_ams_transcode_commands,            /* module directives */
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


static void *
ngx_ams_transcode_create_conf(ngx_cycle_t *cycle)
{
    return NGX_CONF_UNSET_PTR;
}
