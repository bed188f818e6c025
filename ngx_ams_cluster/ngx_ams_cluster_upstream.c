
/*
 * Copyright (C) nginx-ams authors
 *
 * "ams_cluster_upstream edge|origin [group=NAME] [hash=KEY] [interval=T]
 * [timeout=T];" in an http upstream {} block: a balancing method, as
 * least_conn is (with hash=, as "hash KEY consistent" is: the requests of
 * one WebRTC session to one node), whose servers are the cluster's ALIVE
 * nodes of that role (their advertised node_http_port), health-checked
 * by the balancer itself.
 * The node needs "node_role balancer" (or any role) in its ams {} block
 * to read the cluster's snapshot.  "keepalive" may follow it.  The
 * stream twin is ngx_ams_cluster_stream_upstream.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_cluster_upstream.h"


typedef struct {
    ngx_ams_cluster_health_t *health;        /* NULL: no block uses us */
} ngx_ams_cluster_upstream_main_conf_t;


typedef struct {
    ngx_ams_cluster_pool_t    pool;
    ngx_http_complex_value_t *hash;          /* hash=KEY, or NULL */
} ngx_ams_cluster_upstream_srv_conf_t;


static void *ngx_ams_cluster_upstream_create_main_conf(ngx_conf_t *cf);
static void *ngx_ams_cluster_upstream_create_srv_conf(ngx_conf_t *cf);
static char *ngx_ams_cluster_upstream(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_ams_cluster_upstream_init(ngx_conf_t *cf,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_ams_cluster_upstream_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us);
static ngx_int_t ngx_ams_cluster_upstream_get(ngx_peer_connection_t *pc,
    void *data);
static void ngx_ams_cluster_upstream_free(ngx_peer_connection_t *pc,
    void *data, ngx_uint_t state);
static ngx_int_t ngx_ams_cluster_upstream_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_ams_cluster_upstream_init_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_ams_cluster_upstream_commands[] = {

    { ngx_string("ams_cluster_upstream"),
      NGX_HTTP_UPS_CONF|NGX_CONF_1MORE,
      ngx_ams_cluster_upstream,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_ams_cluster_upstream_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_ams_cluster_upstream_create_main_conf, /* create main conf */
    NULL,                                  /* init main configuration */

    ngx_ams_cluster_upstream_create_srv_conf, /* create server conf */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_ams_cluster_upstream_module = {
    NGX_MODULE_V1,
    &ngx_ams_cluster_upstream_module_ctx,  /* module context */
    ngx_ams_cluster_upstream_commands,     /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_ams_cluster_upstream_init_module,  /* init module */
    ngx_ams_cluster_upstream_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_ams_cluster_upstream_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool,
                       sizeof(ngx_ams_cluster_upstream_main_conf_t));
}


/* made for every server {} and upstream {}: only the latter use it */
static void *
ngx_ams_cluster_upstream_create_srv_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool,
                       sizeof(ngx_ams_cluster_upstream_srv_conf_t));
}


static char *
ngx_ams_cluster_upstream(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ams_cluster_upstream_srv_conf_t *ascf = conf;

    char                                  *rv;
    ngx_str_t                             *value, args[8];
    ngx_uint_t                             i, n;
    ngx_ams_cluster_pool_t                *pool;
    ngx_http_upstream_server_t            *us;
    ngx_http_upstream_srv_conf_t          *uscf;
    ngx_http_compile_complex_value_t       ccv;
    ngx_ams_cluster_upstream_main_conf_t  *mcf;

    pool = &ascf->pool;

    if (pool->health) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts > 8) {
        return "has too many parameters";
    }

    /* hash=KEY is http's own (a complex value); the rest is the pool's */
    n = 0;

    for (i = 0; i < cf->args->nelts; i++) {

        if (i < 2 || ngx_strncmp(value[i].data, "hash=", 5) != 0) {
            args[n++] = value[i];
            continue;
        }

        ascf->hash = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (ascf->hash == NULL) {
            return NGX_CONF_ERROR;
        }

        value[i].data += 5;
        value[i].len -= 5;

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));
        ccv.cf = cf;
        ccv.value = &value[i];
        ccv.complex_value = ascf->hash;

        if (value[i].len == 0
            || ngx_http_compile_complex_value(&ccv) != NGX_OK)
        {
            return "has an invalid \"hash=\" key";
        }
    }

    rv = ngx_ams_cluster_pool_parse(cf, args, n, pool);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    mcf = ngx_http_conf_get_module_main_conf(cf,
                                             ngx_ams_cluster_upstream_module);
    mcf->health = pool->health;

    uscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_upstream_module);

    if (uscf->peer.init_upstream) {
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "load balancing method redefined");
    }

    uscf->peer.init_upstream = ngx_ams_cluster_upstream_init;

    /* "server" lines have nothing to say here */
    uscf->flags = NGX_HTTP_UPSTREAM_CREATE;

    /* the upstream {} block wants a server in it: a placeholder, never
     * used (the peers come from the cluster) */
    us = ngx_array_push(uscf->servers);
    if (us == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(us, sizeof(ngx_http_upstream_server_t));
    ngx_str_set(&us->name, "ams_cluster_upstream");

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_ams_cluster_upstream_init(ngx_conf_t *cf,
    ngx_http_upstream_srv_conf_t *us)
{
    if (us->servers->nelts != 1) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "upstream \"%V\" in %s:%ui: \"ams_cluster_upstream\" "
                      "takes its servers from the cluster, not from "
                      "\"server\" lines", &us->host, us->file_name,
                      us->line);
        return NGX_ERROR;
    }

    us->peer.init = ngx_ams_cluster_upstream_init_peer;

    return NGX_OK;
}


static ngx_int_t
ngx_ams_cluster_upstream_init_peer(ngx_http_request_t *r,
    ngx_http_upstream_srv_conf_t *us)
{
    ngx_str_t                             key;
    ngx_uint_t                            n;
    ngx_ams_cluster_pick_t               *pick;
    ngx_ams_cluster_upstream_srv_conf_t  *ascf;

    ascf = ngx_http_conf_upstream_srv_conf(us,
                                           ngx_ams_cluster_upstream_module);

    pick = ngx_pcalloc(r->pool, sizeof(ngx_ams_cluster_pick_t));
    if (pick == NULL) {
        return NGX_ERROR;
    }

    pick->pool = &ascf->pool;

    if (ascf->hash) {
        if (ngx_http_complex_value(r, ascf->hash, &key) != NGX_OK) {
            return NGX_ERROR;
        }

        /* no key (no stream id in the request): least connections */
        if (key.len) {
            pick->hashed = 1;
            pick->key_hash = ngx_crc32_long(key.data, key.len);
        }
    }

    n = ngx_ams_cluster_pool_refresh(pick->pool);

    r->upstream->peer.data = pick;
    r->upstream->peer.get = ngx_ams_cluster_upstream_get;
    r->upstream->peer.free = ngx_ams_cluster_upstream_free;
    r->upstream->peer.tries = ngx_max(1, ngx_min(n,
                                              NGX_AMS_CLUSTER_TRIES_MAX));

    return NGX_OK;
}


static ngx_int_t
ngx_ams_cluster_upstream_get(ngx_peer_connection_t *pc, void *data)
{
    ngx_ams_cluster_pick_t *pick = data;

    return ngx_ams_cluster_pool_get(pick, pc);
}


static void
ngx_ams_cluster_upstream_free(ngx_peer_connection_t *pc, void *data,
    ngx_uint_t state)
{
    ngx_ams_cluster_pick_t *pick = data;

    ngx_ams_cluster_pool_free(pick, state & NGX_PEER_FAILED);

    if (pc->tries) {
        pc->tries--;
    }
}


/* after the whole configuration: the ams {} block may come after http */
static ngx_int_t
ngx_ams_cluster_upstream_init_module(ngx_cycle_t *cycle)
{
    ngx_ams_cluster_conf_t                *ccf;
    ngx_ams_cluster_upstream_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_ams_cluster_upstream_module);

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
ngx_ams_cluster_upstream_init_process(ngx_cycle_t *cycle)
{
    ngx_ams_cluster_upstream_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_ams_cluster_upstream_module);

    if (mcf == NULL || mcf->health == NULL) {
        return NGX_OK;
    }

    return ngx_ams_cluster_health_init_worker(cycle, mcf->health);
}
