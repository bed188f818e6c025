
/*
 * Copyright (C) nginx-ams authors
 *
 * Configuration of the RTMP server: "ams_rtmp" in a stream server, its
 * limits and timeouts.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_ams_rtmp.h"


static void *ngx_ams_rtmp_create_main_conf(ngx_conf_t *cf);
static char *ngx_ams_rtmp_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_ams_rtmp_create_srv_conf(ngx_conf_t *cf);
static char *ngx_ams_rtmp_merge_srv_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_ams_rtmp(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);


static ngx_command_t  ngx_ams_rtmp_commands[] = {

    { ngx_string("ams_rtmp"),
      NGX_STREAM_SRV_CONF|NGX_CONF_NOARGS,
      ngx_ams_rtmp,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("ams_rtmp_chunk_size"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_ams_rtmp_srv_conf_t, chunk_size),
      NULL },

    { ngx_string("ams_rtmp_max_message"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_ams_rtmp_srv_conf_t, max_message),
      NULL },

    { ngx_string("ams_rtmp_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_ams_rtmp_srv_conf_t, timeout),
      NULL },

    { ngx_string("ams_rtmp_handshake_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_ams_rtmp_srv_conf_t, handshake_timeout),
      NULL },

    { ngx_string("ams_rtmp_media_timeout"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_ams_rtmp_srv_conf_t, media_timeout),
      NULL },

    { ngx_string("ams_rtmp_worker_buffers"),
      NGX_STREAM_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_MAIN_CONF_OFFSET,
      offsetof(ngx_ams_rtmp_main_conf_t, worker_buffers),
      NULL },

    { ngx_string("ams_rtmp_address_buffers"),
      NGX_STREAM_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_MAIN_CONF_OFFSET,
      offsetof(ngx_ams_rtmp_main_conf_t, address_buffers),
      NULL },

    { ngx_string("ams_rtmp_out_queue"),
      NGX_STREAM_MAIN_CONF|NGX_STREAM_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_SRV_CONF_OFFSET,
      offsetof(ngx_ams_rtmp_srv_conf_t, out_queue),
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  ngx_ams_ingest_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_ams_rtmp_create_main_conf,         /* create main configuration */
    ngx_ams_rtmp_init_main_conf,           /* init main configuration */

    ngx_ams_rtmp_create_srv_conf,          /* create server configuration */
    ngx_ams_rtmp_merge_srv_conf            /* merge server configuration */
};


ngx_module_t  ngx_ams_ingest_module = {
    NGX_MODULE_V1,
    &ngx_ams_ingest_module_ctx,            /* module context */
    ngx_ams_rtmp_commands,                 /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
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
ngx_ams_rtmp_create_main_conf(ngx_conf_t *cf)
{
    ngx_ams_rtmp_main_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ams_rtmp_main_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->worker_buffers = NGX_CONF_UNSET_SIZE;
    conf->address_buffers = NGX_CONF_UNSET_SIZE;

    return conf;
}


static char *
ngx_ams_rtmp_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_ams_rtmp_main_conf_t *rmcf = conf;

    ngx_conf_init_size_value(rmcf->worker_buffers, 256 * 1024 * 1024);

    /* room for at least one connection's commands */
    if (rmcf->worker_buffers < 64 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ams_rtmp_worker_buffers\" must be at least 64k");
        return NGX_CONF_ERROR;
    }

    /* a quarter by default: it takes four addresses to fill a worker */
    ngx_conf_init_size_value(rmcf->address_buffers,
                             ngx_max(rmcf->worker_buffers / 4, 64 * 1024));

    if (rmcf->address_buffers < 64 * 1024
        || rmcf->address_buffers > rmcf->worker_buffers)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ams_rtmp_address_buffers\" must be between "
                           "64k and \"ams_rtmp_worker_buffers\" (%uz)",
                           rmcf->worker_buffers);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_ams_rtmp_create_srv_conf(ngx_conf_t *cf)
{
    ngx_ams_rtmp_srv_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ams_rtmp_srv_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enabled = NGX_CONF_UNSET;
    conf->chunk_size = NGX_CONF_UNSET_SIZE;
    conf->max_message = NGX_CONF_UNSET_SIZE;
    conf->timeout = NGX_CONF_UNSET_MSEC;
    conf->handshake_timeout = NGX_CONF_UNSET_MSEC;
    conf->media_timeout = NGX_CONF_UNSET_MSEC;
    conf->out_queue = NGX_CONF_UNSET_SIZE;

    return conf;
}


static char *
ngx_ams_rtmp_merge_srv_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_ams_rtmp_srv_conf_t *prev = parent;
    ngx_ams_rtmp_srv_conf_t *conf = child;

    ngx_conf_merge_value(conf->enabled, prev->enabled, 0);
    ngx_conf_merge_size_value(conf->chunk_size, prev->chunk_size, 4096);
    ngx_conf_merge_size_value(conf->max_message, prev->max_message,
                              8 * 1024 * 1024);
    ngx_conf_merge_msec_value(conf->timeout, prev->timeout, 30000);
    ngx_conf_merge_msec_value(conf->handshake_timeout,
                              prev->handshake_timeout, 10000);
    ngx_conf_merge_msec_value(conf->media_timeout, prev->media_timeout,
                              10000);
    ngx_conf_merge_size_value(conf->out_queue, prev->out_queue, 256 * 1024);

    if (conf->chunk_size < 128 || conf->chunk_size > NGX_AMS_RTMP_MAX_CHUNK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ams_rtmp_chunk_size\" must be between 128 "
                           "and 16777215");
        return NGX_CONF_ERROR;
    }

    if (conf->max_message < 64 * 1024 || conf->max_message > 0xffffff) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ams_rtmp_max_message\" must be between 64k "
                           "and 16777215");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_ams_rtmp(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ams_rtmp_srv_conf_t *rscf = conf;

    ngx_stream_core_srv_conf_t  *cscf;

    if (rscf->enabled != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    rscf->enabled = 1;

    cscf = ngx_stream_conf_get_module_srv_conf(cf, ngx_stream_core_module);
    cscf->handler = ngx_ams_rtmp_init_session;

    return NGX_CONF_OK;
}
