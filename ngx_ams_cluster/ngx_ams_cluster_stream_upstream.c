
/*
 * Copyright (C) nginx-ams authors
 *
 * "ams_cluster_upstream edge|origin [group=NAME] [interval=T] [timeout=T];"
 * in a stream upstream {} block: the HTTP one's twin for RTMP (and RTMPS
 * ended at the balancer), whose servers are the ALIVE nodes' advertised
 * node_rtmp_port.  Same pools, same health zone and prober (a node is
 * probed on its HTTP port's liveness whichever port it is balanced on).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_ams_cluster_upstream.h"


typedef struct {
    ngx_ams_cluster_health_t *health;        /* NULL: no block uses us */
} ngx_ams_cluster_stream_ups_main_conf_t;


static void *ngx_ams_cluster_stream_ups_create_main_conf(ngx_conf_t *cf);
static void *ngx_ams_cluster_stream_ups_create_srv_conf(ngx_conf_t *cf);
static char *ngx_ams_cluster_stream_ups(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_ams_cluster_stream_ups_init(ngx_conf_t *cf,
    ngx_stream_upstream_srv_conf_t *us);
static ngx_int_t ngx_ams_cluster_stream_ups_init_peer(ngx_stream_session_t *s,
    ngx_stream_upstream_srv_conf_t *us);
static ngx_int_t ngx_ams_cluster_stream_ups_get(ngx_peer_connection_t *pc,
    void *data);
static void ngx_ams_cluster_stream_ups_free(ngx_peer_connection_t *pc,
    void *data, ngx_uint_t state);
static ngx_int_t ngx_ams_cluster_stream_ups_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_ams_cluster_stream_ups_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_ams_cluster_stream_ups_commands[] = {

    { ngx_string("ams_cluster_upstream"),
      NGX_STREAM_UPS_CONF|NGX_CONF_1MORE,
      ngx_ams_cluster_stream_ups,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  ngx_ams_cluster_stream_ups_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_ams_cluster_stream_ups_create_main_conf, /* create main conf */
    NULL,                                  /* init main configuration */

    ngx_ams_cluster_stream_ups_create_srv_conf, /* create server conf */
    NULL                                   /* merge server configuration */
};


ngx_module_t  ngx_ams_cluster_stream_upstream_module = {
    NGX_MODULE_V1,
    &ngx_ams_cluster_stream_ups_module_ctx, /* module context */
    ngx_ams_cluster_stream_ups_commands,   /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
    NULL,                                  /* init master */
    ngx_ams_cluster_stream_ups_init_module, /* init module */
    ngx_ams_cluster_stream_ups_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_ams_cluster_stream_ups_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool,
                       sizeof(ngx_ams_cluster_stream_ups_main_conf_t));
}


/* made for every server {} and upstream {}: only the latter use it */
static void *
ngx_ams_cluster_stream_ups_create_srv_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_ams_cluster_pool_t));
}


static char *
ngx_ams_cluster_stream_ups(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ams_cluster_pool_t *pool = conf;

    char                                    *rv;
    ngx_stream_upstream_server_t            *us;
    ngx_stream_upstream_srv_conf_t          *uscf;
    ngx_ams_cluster_stream_ups_main_conf_t  *mcf;

    if (pool->health) {
        return "is duplicate";
    }

    pool->rtmp = 1;

    rv = ngx_ams_cluster_pool_parse(cf, cf->args->elts, cf->args->nelts,
                                    pool);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    mcf = ngx_stream_conf_get_module_main_conf(cf,
                                     ngx_ams_cluster_stream_upstream_module);
    mcf->health = pool->health;

    uscf = ngx_stream_conf_get_module_srv_conf(cf,
                                               ngx_stream_upstream_module);

    if (uscf->peer.init_upstream) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "load balancing method redefined");
    }

    uscf->peer.init_upstream = ngx_ams_cluster_stream_ups_init;
    uscf->flags = NGX_STREAM_UPSTREAM_CREATE;

    /* a placeholder for the upstream {} block's "no servers" check */
    us = ngx_array_push(uscf->servers);
    if (us == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(us, sizeof(ngx_stream_upstream_server_t));
    ngx_str_set(&us->name, "ams_cluster_upstream");

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_ams_cluster_stream_ups_init(ngx_conf_t *cf,
    ngx_stream_upstream_srv_conf_t *us)
{
    if (us->servers->nelts != 1) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "upstream \"%V\" in %s:%ui: \"ams_cluster_upstream\" "
                      "takes its servers from the cluster, not from "
                      "\"server\" lines", &us->host, us->file_name,
                      us->line);
        return NGX_ERROR;
    }

    us->peer.init = ngx_ams_cluster_stream_ups_init_peer;

    return NGX_OK;
}


static ngx_int_t
ngx_ams_cluster_stream_ups_init_peer(ngx_stream_session_t *s,
    ngx_stream_upstream_srv_conf_t *us)
{
    ngx_uint_t               n;
    ngx_ams_cluster_pick_t  *pick;
    ngx_ams_cluster_pool_t  *pool;

    pool = ngx_stream_conf_upstream_srv_conf(us,
                                     ngx_ams_cluster_stream_upstream_module);

    pick = ngx_pcalloc(s->connection->pool, sizeof(ngx_ams_cluster_pick_t));
    if (pick == NULL) {
        return NGX_ERROR;
    }

    pick->pool = pool;

    n = ngx_ams_cluster_pool_refresh(pool);

    s->upstream->peer.data = pick;
    s->upstream->peer.get = ngx_ams_cluster_stream_ups_get;
    s->upstream->peer.free = ngx_ams_cluster_stream_ups_free;
    s->upstream->peer.tries = ngx_max(1, ngx_min(n,
                                              NGX_AMS_CLUSTER_TRIES_MAX));

    return NGX_OK;
}


static ngx_int_t
ngx_ams_cluster_stream_ups_get(ngx_peer_connection_t *pc, void *data)
{
    ngx_ams_cluster_pick_t *pick = data;

    return ngx_ams_cluster_pool_get(pick, pc);
}


static void
ngx_ams_cluster_stream_ups_free(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state)
{
    ngx_ams_cluster_pick_t *pick = data;

    ngx_ams_cluster_pool_free(pick, state & NGX_PEER_FAILED);

    if (pc->tries) {
        pc->tries--;
    }
}


static ngx_int_t
ngx_ams_cluster_stream_ups_init_module(ngx_cycle_t *cycle)
{
    ngx_ams_cluster_conf_t                  *ccf;
    ngx_ams_cluster_stream_ups_main_conf_t  *mcf;

    mcf = ngx_stream_cycle_get_module_main_conf(cycle,
                                     ngx_ams_cluster_stream_upstream_module);

    if (mcf == NULL || mcf->health == NULL) {
        return NGX_OK;
    }

    ccf = ngx_ams_cluster_conf(cycle);

    if (ccf == NULL || !ccf->enabled) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams cluster upstream: \"ams_cluster_upstream\" "
                      "needs \"node_role\" (e.g. \"node_role balancer\") "
                      "in the ams block: the nodes come from there");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_ams_cluster_stream_ups_init_process(ngx_cycle_t *cycle)
{
    ngx_ams_cluster_stream_ups_main_conf_t  *mcf;

    mcf = ngx_stream_cycle_get_module_main_conf(cycle,
                                     ngx_ams_cluster_stream_upstream_module);

    if (mcf == NULL || mcf->health == NULL) {
        return NGX_OK;
    }

    return ngx_ams_cluster_health_init_worker(cycle, mcf->health);
}
