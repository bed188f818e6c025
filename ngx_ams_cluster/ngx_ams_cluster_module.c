
/*
 * Copyright (C) nginx-ams authors
 *
 * The cluster's settings in the "ams {}" block and its shared-memory
 * zone.  "node_role" turns a node into a cluster member; without it the
 * module only offers the MongoDB backend ("database mongodb://...").
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_cluster.h"


static void *ngx_ams_cluster_create_conf(ngx_cycle_t *cycle);
static char *ngx_ams_cluster_init_conf(ngx_cycle_t *cycle, void *conf);
static char *ngx_ams_cluster_role(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_ams_cluster_init_zone(ngx_shm_zone_t *zone, void *data);
static ngx_int_t ngx_ams_cluster_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_ams_cluster_init_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_ams_cluster_port_bounds = {
    ngx_conf_check_num_bounds, 1, 65535
};


static ngx_command_t  ngx_ams_cluster_commands[] = {

    { ngx_string("node_role"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_ams_cluster_role,
      0,
      0,
      NULL },

    { ngx_string("node_id"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_cluster_conf_t, node_id),
      NULL },

    { ngx_string("node_group"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_cluster_conf_t, node_group),
      NULL },

    { ngx_string("node_update_period"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_cluster_conf_t, update_period),
      NULL },

    { ngx_string("node_dead_removal"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_cluster_conf_t, dead_removal),
      NULL },

    { ngx_string("node_http_port"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_cluster_conf_t, http_port),
      &ngx_ams_cluster_port_bounds },

    { ngx_string("node_rtmp_port"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_cluster_conf_t, rtmp_port),
      &ngx_ams_cluster_port_bounds },

    { ngx_string("cluster_communication_key"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_cluster_conf_t, key),
      NULL },

    /* ngx_ams_cluster_relay.c: pulls of streams that live elsewhere */
    { ngx_string("relay_release_time"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_cluster_conf_t, relay_release),
      NULL },

    { ngx_string("relay_timeout"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_cluster_conf_t, relay_timeout),
      NULL },

      ngx_null_command
};


static ngx_core_module_t  ngx_ams_cluster_module_ctx = {
    ngx_string("ams_cluster"),
    ngx_ams_cluster_create_conf,
    ngx_ams_cluster_init_conf
};


ngx_module_t  ngx_ams_cluster_module = {
    NGX_MODULE_V1,
    &ngx_ams_cluster_module_ctx,           /* module context */
    ngx_ams_cluster_commands,              /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_ams_cluster_init_module,           /* init module */
    ngx_ams_cluster_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process: the node's is
                                              ngx_ams_store_at_exit()'s */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_ams_cluster_shm_t  *ngx_ams_cluster_zone;


static void *
ngx_ams_cluster_create_conf(ngx_cycle_t *cycle)
{
    ngx_ams_cluster_conf_t  *ccf;

    ccf = ngx_pcalloc(cycle->pool, sizeof(ngx_ams_cluster_conf_t));
    if (ccf == NULL) {
        return NULL;
    }

    ccf->role = NGX_CONF_UNSET_UINT;
    ccf->update_period = NGX_CONF_UNSET_MSEC;
    ccf->dead_removal = NGX_CONF_UNSET_MSEC;
    ccf->http_port = NGX_CONF_UNSET_UINT;
    ccf->rtmp_port = NGX_CONF_UNSET_UINT;
    ccf->relay_release = NGX_CONF_UNSET_MSEC;
    ccf->relay_timeout = NGX_CONF_UNSET_MSEC;

    /* a stream asked for here but live on another node is pulled */
    ngx_ams_cluster_relay_init_chain();

    /* core emptied the list of backends on this cycle; "database
     * mongodb://..." is resolved when the ams {} block ends, after us */
    if (ngx_ams_store_register(&ngx_ams_store_mongo) != NGX_OK
        || ngx_ams_store_register(&ngx_ams_store_mongo_srv) != NGX_OK
        || ngx_ams_store_at_exit(ngx_ams_cluster_node_exit_worker) != NGX_OK
        || ngx_ams_cluster_rest_init() != NGX_OK)
    {
        return NULL;
    }

    return ccf;
}


static char *
ngx_ams_cluster_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_ams_cluster_conf_t *ccf = conf;

    ngx_ams_main_conf_t  *amcf;

    ngx_conf_init_uint_value(ccf->role, NGX_AMS_CLUSTER_ORIGIN);
    ngx_conf_init_msec_value(ccf->update_period, 5000);
    ngx_conf_init_msec_value(ccf->dead_removal, 3600000);
    ngx_conf_init_uint_value(ccf->http_port, 5080);
    ngx_conf_init_uint_value(ccf->rtmp_port, 1935);
    ngx_conf_init_msec_value(ccf->relay_release, 5000);
    ngx_conf_init_msec_value(ccf->relay_timeout, 10000);

    if (ccf->node_group.data == NULL) {
        ngx_str_set(&ccf->node_group, "default");
    }

    if (!ccf->enabled) {
        return NGX_CONF_OK;
    }

    amcf = ngx_ams_get_main_conf(cycle);

    if (amcf == NULL || amcf->shm_zone == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams cluster: \"node_role\" needs an \"ams\" block");
        return NGX_CONF_ERROR;
    }

    if (ccf->node_id.data == NULL) {
        ccf->node_id = amcf->node_address;
    }

    if (ccf->node_id.len >= NGX_AMS_CLUSTER_ID_LEN
        || amcf->node_address.len >= NGX_AMS_CLUSTER_ID_LEN
        || ccf->node_group.len >= NGX_AMS_CLUSTER_GROUP_LEN)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams cluster: \"node_id\", \"node_address\" and "
                      "\"node_group\" must be shorter than %d characters",
                      NGX_AMS_CLUSTER_ID_LEN);
        return NGX_CONF_ERROR;
    }

    if (ccf->update_period < 1000 || ccf->update_period > 60000) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams cluster: \"node_update_period\" must be between "
                      "1s and 60s");
        return NGX_CONF_ERROR;
    }

    if (ccf->key.len && ccf->key.len < 32) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams cluster: \"cluster_communication_key\" must be "
                      "at least 32 characters");
        return NGX_CONF_ERROR;
    }

    /* core admits other nodes' pulls with it (ngx_ams_access.c) */
    amcf->cluster_key = ccf->key;

    /* publishers claim their stream id in the store (streamIdInUse) */
    amcf->cluster_member = 1;

    /* application settings changed on another node arrive within one
     * heartbeat (ngx_ams_app_settings.c) */
    if (amcf->settings_period == NGX_CONF_UNSET_MSEC) {
        amcf->settings_period = ccf->update_period;
    }

    /* a balancer neither pulls nor serves: it needs no key */
    if (ccf->key.len == 0 && ccf->role != NGX_AMS_CLUSTER_BALANCER) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "ams cluster: no \"cluster_communication_key\": "
                      "this node neither pulls from nor serves other "
                      "nodes");
    }

    return NGX_CONF_OK;
}


/* node_role origin|edge|balancer: the node joins the cluster */
static char *
ngx_ams_cluster_role(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ams_cluster_conf_t *ccf = conf;

    ngx_str_t  *value;
    ngx_str_t   name = ngx_string("ams_cluster");

    if (ccf->enabled) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "origin") == 0) {
        ccf->role = NGX_AMS_CLUSTER_ORIGIN;

    } else if (ngx_strcmp(value[1].data, "edge") == 0) {
        ccf->role = NGX_AMS_CLUSTER_EDGE;

    } else if (ngx_strcmp(value[1].data, "balancer") == 0) {
        /* ams_cluster_upstream's nodes, without being one of them */
        ccf->role = NGX_AMS_CLUSTER_BALANCER;

    } else {
        return "must be \"origin\", \"edge\" or \"balancer\"";
    }

    ccf->shm_zone = ngx_shared_memory_add(cf, &name,
                                          2 * sizeof(ngx_ams_cluster_shm_t)
                                          + 64 * 1024,
                                          &ngx_ams_cluster_module);
    if (ccf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    ccf->shm_zone->init = ngx_ams_cluster_init_zone;
    ccf->shm_zone->data = ccf;
    ccf->enabled = 1;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_ams_cluster_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_slab_pool_t        *shpool;
    ngx_ams_cluster_shm_t  *sh;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    /* a reload keeps the snapshot: nodes are still nodes */
    if (data) {
        zone->data = data;
        ngx_ams_cluster_zone = data;
        return NGX_OK;
    }

    if (zone->shm.exists) {
        zone->data = shpool->data;
        ngx_ams_cluster_zone = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_ams_cluster_shm_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    /* the zone's own slab lock word: nginx's master frees it when a
     * worker dies holding it (ngx_unlock_mutexes), which it would not
     * do for a word of ours.  Nothing allocates while holding it. */
    if (ngx_shmtx_create(&sh->lock, &shpool->lock, NULL) != NGX_OK) {
        return NGX_ERROR;
    }

    shpool->data = sh;
    zone->data = sh;
    ngx_ams_cluster_zone = sh;

    return NGX_OK;
}


ngx_ams_cluster_conf_t *
ngx_ams_cluster_conf(ngx_cycle_t *cycle)
{
    return (ngx_ams_cluster_conf_t *) ngx_get_conf(cycle->conf_ctx,
                                                   ngx_ams_cluster_module);
}


ngx_ams_cluster_shm_t *
ngx_ams_cluster_shm(void)
{
    return ngx_ams_cluster_zone;
}


ngx_int_t
ngx_ams_cluster_node_find(ngx_str_t *key, ngx_ams_cluster_node_t *node)
{
    ngx_int_t                rc;
    ngx_uint_t               i;
    ngx_ams_cluster_shm_t   *sh;
    ngx_ams_cluster_node_t  *n;

    sh = ngx_ams_cluster_zone;

    if (sh == NULL || key->len == 0 || key->len >= NGX_AMS_CLUSTER_ID_LEN) {
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    ngx_shmtx_lock(&sh->lock);

    for (i = 0; i < sh->nodes_n; i++) {
        n = &sh->nodes[i];

        if ((ngx_strlen(n->ip) == key->len
             && ngx_strncmp(n->ip, key->data, key->len) == 0)
            || (ngx_strlen(n->id) == key->len
                && ngx_strncmp(n->id, key->data, key->len) == 0))
        {
            *node = *n;
            rc = NGX_OK;
            break;
        }
    }

    ngx_shmtx_unlock(&sh->lock);

    return rc;
}


ngx_uint_t
ngx_ams_cluster_nodes(ngx_ams_cluster_node_t *nodes, ngx_uint_t max)
{
    ngx_uint_t              n;
    ngx_ams_cluster_shm_t  *sh;

    sh = ngx_ams_cluster_zone;

    if (sh == NULL) {
        return 0;
    }

    ngx_shmtx_lock(&sh->lock);

    n = ngx_min(sh->nodes_n, max);
    ngx_memcpy(nodes, sh->nodes, n * sizeof(ngx_ams_cluster_node_t));

    ngx_shmtx_unlock(&sh->lock);

    return n;
}


static ngx_int_t
ngx_ams_cluster_init_module(ngx_cycle_t *cycle)
{
    ngx_ams_cluster_conf_t  *ccf;

    ccf = ngx_ams_cluster_conf(cycle);

    if (ccf == NULL || !ccf->enabled) {
        return NGX_OK;
    }

    return ngx_ams_cluster_node_init_module(cycle);
}


static ngx_int_t
ngx_ams_cluster_init_process(ngx_cycle_t *cycle)
{
    ngx_ams_cluster_conf_t  *ccf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    ccf = ngx_ams_cluster_conf(cycle);

    if (ccf == NULL || !ccf->enabled) {
        return NGX_OK;
    }

    return ngx_ams_cluster_node_init_worker(cycle);
}
