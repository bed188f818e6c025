
/*
 * Copyright (C) nginx-ams authors
 *
 * The "ams {}" block: bus zone, storage, thread pool and applications.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"
#include "ngx_ams_bus.h"
#include "ngx_ams_store.h"
#include "ngx_ams_broadcast.h"
#include "ngx_ams_stats.h"
#include "ngx_ams_webhook.h"
#include "ngx_ams_viewers.h"
#include "ngx_ams_app_settings.h"
#include <ifaddrs.h>
#include <net/if.h>


/* live records are refreshed every 10 s: a shorter window loses them */
#define NGX_AMS_STALE_MIN   15000


static void *ngx_ams_core_create_conf(ngx_cycle_t *cycle);
static char *ngx_ams_core_init_conf(ngx_cycle_t *cycle, void *conf);
static char *ngx_ams_block(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_ams_application(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_ams_publish_end(ngx_ams_stream_t *st,
    ngx_ams_app_conf_t *app, ngx_log_t *log);
static void ngx_ams_unpublish_end(ngx_ams_stream_t *st, ngx_log_t *log);
static ngx_int_t ngx_ams_stream_missing_end(ngx_ams_app_conf_t *app,
    ngx_str_t *name, ngx_log_t *log);
static void ngx_ams_stream_free_end(ngx_ams_stream_t *st);
static ngx_int_t ngx_ams_core_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_ams_core_init_process(ngx_cycle_t *cycle);
static char *ngx_ams_node_address(ngx_conf_t *cf, ngx_str_t *addr);
static void ngx_ams_core_exit_process(ngx_cycle_t *cycle);


ngx_ams_publish_pt         ngx_ams_publish_handler;
ngx_ams_unpublish_pt       ngx_ams_unpublish_handler;
ngx_ams_stream_missing_pt  ngx_ams_stream_missing_handler;
ngx_ams_stream_free_pt     ngx_ams_stream_free_handler;


static ngx_command_t  ngx_ams_core_commands[] = {

    { ngx_string("ams"),
      NGX_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_BLOCK|NGX_CONF_NOARGS,
      ngx_ams_block,
      0,
      0,
      NULL },

    { ngx_string("bus_zone_size"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      0,
      offsetof(ngx_ams_main_conf_t, bus_size),
      NULL },

    { ngx_string("max_streams"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_main_conf_t, max_streams),
      NULL },

    { ngx_string("stream_buffer"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      0,
      offsetof(ngx_ams_main_conf_t, stream_buffer),
      NULL },

    { ngx_string("wake_interval"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_main_conf_t, wake_interval),
      NULL },

    { ngx_string("storage"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_main_conf_t, storage),
      NULL },

    { ngx_string("thread_pool"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_main_conf_t, thread_pool_name),
      NULL },

    { ngx_string("application"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_BLOCK|NGX_CONF_TAKE1,
      ngx_ams_application,
      0,
      0,
      NULL },

    { ngx_string("database"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_main_conf_t, database),
      NULL },

    { ngx_string("store_thread_pool"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_main_conf_t, store_thread_pool_name),
      NULL },

    { ngx_string("broadcast_stale_timeout"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_main_conf_t, broadcast_stale_timeout),
      NULL },

    { ngx_string("node_address"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_main_conf_t, node_address),
      NULL },

    /* how often the store's application settings are read (a cluster
     * node: its node_update_period unless set) */
    { ngx_string("settings_period"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_main_conf_t, settings_period),
      NULL },

    { ngx_string("cpu_limit"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_main_conf_t, cpu_limit),
      NULL },

    { ngx_string("memory_limit"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_main_conf_t, memory_limit),
      NULL },

    { ngx_string("publishers_per_address"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_main_conf_t, publishers_per_address),
      NULL },

    { ngx_string("status_webhook_url"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_main_conf_t, status_webhook_url),
      NULL },

    { ngx_string("jwt_server_control_enabled"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_main_conf_t, jwt_server_control),
      NULL },

    { ngx_string("jwt_server_secret_key"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_main_conf_t, jwt_server_secret_key),
      NULL },

    { ngx_string("accept_only_streams_in_data_store"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_app_conf_t, access.accept_only_streams_in_data_store),
      NULL },

    { ngx_string("publish_token_control_enabled"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_app_conf_t, access.publish_token_control),
      NULL },

    { ngx_string("play_token_control_enabled"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_app_conf_t, access.play_token_control),
      NULL },

    { ngx_string("publish_jwt_control_enabled"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_app_conf_t, access.publish_jwt_control),
      NULL },

    { ngx_string("play_jwt_control_enabled"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_app_conf_t, access.play_jwt_control),
      NULL },

    { ngx_string("jwt_stream_secret_key"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_app_conf_t, access.jwt_stream_secret_key),
      NULL },

    { ngx_string("listener_hook_url"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_app_conf_t, listener_hook_url),
      NULL },

    { ngx_string("viewer_timeout"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_app_conf_t, viewer_timeout),
      NULL },

      ngx_null_command
};


static ngx_core_module_t  ngx_ams_core_module_ctx = {
    ngx_string("ams_core"),
    ngx_ams_core_create_conf,
    ngx_ams_core_init_conf
};


ngx_module_t  ngx_ams_core_module = {
    NGX_MODULE_V1,
    &ngx_ams_core_module_ctx,              /* module context */
    ngx_ams_core_commands,                 /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_ams_core_init_module,              /* init module */
    ngx_ams_core_init_process,             /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_ams_core_exit_process,             /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_ams_core_create_conf(ngx_cycle_t *cycle)
{
    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_pcalloc(cycle->pool, sizeof(ngx_ams_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    amcf->bus_size = NGX_CONF_UNSET_SIZE;
    amcf->max_streams = NGX_CONF_UNSET_UINT;
    amcf->stream_buffer = NGX_CONF_UNSET_SIZE;
    amcf->wake_interval = NGX_CONF_UNSET_MSEC;
    amcf->cpu_limit = NGX_CONF_UNSET_UINT;
    amcf->memory_limit = NGX_CONF_UNSET_UINT;
    amcf->publishers_per_address = NGX_CONF_UNSET_UINT;
    amcf->jwt_server_control = NGX_CONF_UNSET;
    amcf->broadcast_stale_timeout = NGX_CONF_UNSET_MSEC;
    amcf->settings_period = NGX_CONF_UNSET_MSEC;

    if (ngx_array_init(&amcf->apps, cycle->pool, 4,
                       sizeof(ngx_ams_app_conf_t *))
        != NGX_OK
        || ngx_array_init(&amcf->app_modules, cycle->pool, 4,
                          sizeof(ngx_ams_app_module_t *))
           != NGX_OK)
    {
        return NULL;
    }

    /* every configuration cycle rebuilds the lifecycle chains (core's own
     * observers first, then modules loaded after core put themselves in
     * front in their create_conf) and the list of store backends */
    ngx_ams_publish_handler = ngx_ams_publish_end;
    ngx_ams_unpublish_handler = ngx_ams_unpublish_end;
    ngx_ams_stream_missing_handler = ngx_ams_stream_missing_end;
    ngx_ams_stream_free_handler = ngx_ams_stream_free_end;

    ngx_ams_viewers_init_chains();
    ngx_ams_webhook_init_chains();
    ngx_ams_broadcast_init_chains();
    ngx_ams_store_reset_backends();

    return amcf;
}


static char *
ngx_ams_core_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_ams_main_conf_t *amcf = conf;

    ngx_core_conf_t  *ccf;

    /* without an "ams {}" block the modules stay inert: no applications */
    if (amcf->shm_zone == NULL) {
        return NGX_CONF_OK;
    }

    /* nginx's core module resolved worker_processes (auto) before us.
     * The bus has a slot per worker; old generations keep theirs while
     * their connections drain after a reload, so there are 4 per worker,
     * and old workers leave early when fewer than a generation's are
     * free (ngx_ams_bus.c) */
    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    amcf->workers = ngx_max(ccf->worker_processes, 1);

    if (amcf->workers > NGX_AMS_MAX_WORKERS / 2) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams: at most %d worker_processes",
                      NGX_AMS_MAX_WORKERS / 2);
        return NGX_CONF_ERROR;
    }

    amcf->worker_slots = ngx_min(ngx_max(amcf->workers * 4, 64),
                                 NGX_AMS_MAX_WORKERS);

    return NGX_CONF_OK;
}


static char *
ngx_ams_block(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ams_main_conf_t *amcf = conf;

    char        *rv;
    ngx_str_t    name = ngx_string("ams_bus");
    ngx_conf_t   save;

    if (amcf->shm_zone) {
        return "is duplicate";
    }

    save = *cf;
    cf->cmd_type = NGX_AMS_MAIN_CONF;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    ngx_conf_init_size_value(amcf->bus_size, 512 * 1024 * 1024);
    ngx_conf_init_uint_value(amcf->max_streams, 1000);
    ngx_conf_init_size_value(amcf->stream_buffer, 4 * 1024 * 1024);
    ngx_conf_init_msec_value(amcf->wake_interval, 40);

    if (amcf->storage.data == NULL) {
        ngx_str_set(&amcf->storage, "media");
    }

    if (ngx_conf_full_name(cf->cycle, &amcf->storage, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (amcf->database.data == NULL) {
        ngx_str_set(&amcf->database, "data/ams.db");
    }

    if (amcf->node_address.data == NULL) {
        rv = ngx_ams_node_address(cf, &amcf->node_address);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    /* AMS's defaults: cpuLimit 75, memoryLimit 75 */
    ngx_conf_init_uint_value(amcf->cpu_limit, 75);
    ngx_conf_init_uint_value(amcf->memory_limit, 75);

    /* an address may hold this many live publishers: an anonymous
     * client cannot take every stream slot */
    ngx_conf_init_uint_value(amcf->publishers_per_address, 16);
    ngx_conf_init_value(amcf->jwt_server_control, 0);

    if (amcf->cpu_limit > 100 || amcf->memory_limit > 100) {
        return "\"cpu_limit\" and \"memory_limit\" are percentages, 0..100";
    }

    if (amcf->jwt_server_control && amcf->jwt_server_secret_key.len == 0) {
        return "\"jwt_server_secret_key\" is missing: "
               "\"jwt_server_control on\" needs it";
    }

    if (amcf->jwt_server_control && amcf->jwt_server_secret_key.len < 32) {
        return "\"jwt_server_secret_key\" must be at least 32 characters";
    }

    rv = ngx_ams_webhook_parse(cf, &amcf->status_webhook_url,
                               (ngx_ams_webhook_target_t **)
                               &amcf->status_webhook);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    if (amcf->thread_pool_name.data == NULL) {
        ngx_str_set(&amcf->thread_pool_name, "default");
    }

    if (amcf->store_thread_pool_name.data == NULL) {
        amcf->store_thread_pool_name = amcf->thread_pool_name;
    }

    ngx_conf_init_msec_value(amcf->broadcast_stale_timeout,
                             NGX_AMS_STORE_STALE_DEFAULT);

    if (amcf->broadcast_stale_timeout < NGX_AMS_STALE_MIN) {
        return "\"broadcast_stale_timeout\" must be at least 15s: "
               "live records are refreshed every 10s";
    }

    if (amcf->max_streams == 0 || amcf->max_streams > 100000) {
        return "\"max_streams\" must be between 1 and 100000";
    }

    if (amcf->settings_period != NGX_CONF_UNSET_MSEC
        && (amcf->settings_period < 100 || amcf->settings_period > 3600000))
    {
        return "\"settings_period\" must be between 100ms and 1h";
    }

    if (amcf->wake_interval > 1000) {
        return "\"wake_interval\" must be at most 1s";
    }

    if (amcf->stream_buffer < 256 * 1024
        || amcf->stream_buffer > 1024 * 1024 * 1024)
    {
        return "\"stream_buffer\" must be between 256k and 1g";
    }

    /* here, not in init_conf: the thread pool module's own init_conf runs
     * before ours and gives the "default" pool its threads */
    amcf->thread_pool = ngx_thread_pool_add(cf, &amcf->thread_pool_name);
    if (amcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    rv = ngx_ams_store_configure(cf, amcf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    amcf->shm_zone = ngx_shared_memory_add(cf, &name, amcf->bus_size,
                                           &ngx_ams_core_module);
    if (amcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    amcf->shm_zone->init = ngx_ams_bus_init_zone;
    amcf->shm_zone->data = amcf;

    return NGX_CONF_OK;
}


static char *
ngx_ams_application(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ams_main_conf_t *amcf = conf;

    char                  *rv;
    void                 **ctx;
    ngx_str_t             *value;
    ngx_uint_t             i;
    ngx_conf_t             save;
    ngx_ams_app_conf_t    *app, **appp;
    ngx_ams_access_conf_t *access;
    ngx_ams_app_module_t **m;

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len >= NGX_AMS_APP_LEN) {
        return "has an empty or too long name";
    }

    for (i = 0; i < value[1].len; i++) {
        if (value[1].data[i] == '/' || value[1].data[i] == '?'
            || value[1].data[i] == '.')
        {
            return "name must not contain '/', '?' or '.'";
        }
    }

    appp = amcf->apps.elts;
    for (i = 0; i < amcf->apps.nelts; i++) {
        if (appp[i]->name.len == value[1].len
            && ngx_strncmp(appp[i]->name.data, value[1].data, value[1].len)
               == 0)
        {
            return "is duplicate";
        }
    }

    app = ngx_pcalloc(cf->pool, sizeof(ngx_ams_app_conf_t));
    if (app == NULL) {
        return NGX_CONF_ERROR;
    }

    app->name = value[1];
    access = &app->access;
    access->accept_only_streams_in_data_store = NGX_CONF_UNSET;
    access->publish_token_control = NGX_CONF_UNSET;
    access->play_token_control = NGX_CONF_UNSET;
    access->publish_jwt_control = NGX_CONF_UNSET;
    access->play_jwt_control = NGX_CONF_UNSET;
    app->viewer_timeout = NGX_CONF_UNSET_MSEC;

    appp = ngx_array_push(&amcf->apps);
    if (appp == NULL) {
        return NGX_CONF_ERROR;
    }

    *appp = app;

    /*
     * directives of the block find their module's conf as their direct
     * conf; sized for every module nginx may load, so an index is never
     * out of range
     */
    ctx = ngx_pcalloc(cf->pool, ngx_max_module * sizeof(void *));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    app->ctx = ctx;
    ctx[ngx_ams_core_module.index] = app;

    m = amcf->app_modules.elts;

    for (i = 0; i < amcf->app_modules.nelts; i++) {
        ctx[m[i]->module->index] = m[i]->create_app_conf(cf);
        if (ctx[m[i]->module->index] == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    save = *cf;
    cf->ctx = ctx;
    cf->cmd_type = NGX_AMS_APP_CONF;

    rv = ngx_conf_parse(cf, NULL);

    *cf = save;

    if (rv != NGX_CONF_OK) {
        return rv;
    }

    /* defaults follow Ant Media Server's */
    ngx_conf_init_value(access->accept_only_streams_in_data_store, 0);
    ngx_conf_init_value(access->publish_token_control, 0);
    ngx_conf_init_value(access->play_token_control, 0);
    ngx_conf_init_value(access->publish_jwt_control, 0);
    ngx_conf_init_value(access->play_jwt_control, 0);
    ngx_conf_init_msec_value(app->viewer_timeout, 10000);

    if ((access->publish_jwt_control || access->play_jwt_control)
        && access->jwt_stream_secret_key.len == 0)
    {
        return "\"jwt_stream_secret_key\" is missing: JWT stream security "
               "needs it";
    }

    if ((access->publish_jwt_control || access->play_jwt_control)
        && access->jwt_stream_secret_key.len < 32)
    {
        return "\"jwt_stream_secret_key\" must be at least 32 characters";
    }

    rv = ngx_ams_webhook_parse(cf, &app->listener_hook_url,
                               (ngx_ams_webhook_target_t **)
                               &app->listener_hook);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    for (i = 0; i < amcf->app_modules.nelts; i++) {
        if (m[i]->init_app_conf == NULL) {
            continue;
        }

        rv = m[i]->init_app_conf(cf, ctx[m[i]->module->index]);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    return NGX_CONF_OK;
}


/*
 * Called by a module's create_conf.  A module loaded after the "ams {}"
 * block would find its applications already parsed without it.
 */
ngx_int_t
ngx_ams_app_module_add(ngx_cycle_t *cycle, ngx_ams_app_module_t *m)
{
    ngx_ams_main_conf_t    *amcf;
    ngx_ams_app_module_t  **mp;

    amcf = ngx_ams_get_main_conf(cycle);

    if (amcf == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams: \"%s\" needs ngx_ams_core_module.so loaded "
                      "first", m->module->name);
        return NGX_ERROR;
    }

    if (amcf->shm_zone) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams: \"%s\" must be loaded before the \"ams\" "
                      "block", m->module->name);
        return NGX_ERROR;
    }

    mp = ngx_array_push(&amcf->app_modules);
    if (mp == NULL) {
        return NGX_ERROR;
    }

    *mp = m;

    return NGX_OK;
}


static ngx_int_t
ngx_ams_publish_end(ngx_ams_stream_t *st, ngx_ams_app_conf_t *app,
    ngx_log_t *log)
{
    return NGX_OK;
}


static void
ngx_ams_unpublish_end(ngx_ams_stream_t *st, ngx_log_t *log)
{
}


static ngx_int_t
ngx_ams_stream_missing_end(ngx_ams_app_conf_t *app, ngx_str_t *name,
    ngx_log_t *log)
{
    /* a standalone node has nowhere to pull from */
    return NGX_DECLINED;
}


static void
ngx_ams_stream_free_end(ngx_ams_stream_t *st)
{
}


/* AMS's originAdress: this host's first non-loopback IPv4 address */
static char *
ngx_ams_node_address(ngx_conf_t *cf, ngx_str_t *addr)
{
    u_char          *p;
    struct ifaddrs  *ifa, *i;

    ngx_str_set(addr, "127.0.0.1");

    if (getifaddrs(&ifa) == -1) {
        return NGX_CONF_OK;
    }

    for (i = ifa; i; i = i->ifa_next) {
        if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET
            && !(i->ifa_flags & IFF_LOOPBACK))
        {
            p = ngx_pnalloc(cf->pool, NGX_INET_ADDRSTRLEN);
            if (p == NULL) {
                freeifaddrs(ifa);
                return NGX_CONF_ERROR;
            }

            addr->len = ngx_sock_ntop(i->ifa_addr, sizeof(struct sockaddr_in),
                                      p, NGX_INET_ADDRSTRLEN, 0);
            addr->data = p;
            break;
        }
    }

    freeifaddrs(ifa);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_ams_core_init_module(ngx_cycle_t *cycle)
{
    return ngx_ams_store_init_module(cycle);
}


ngx_ams_main_conf_t *
ngx_ams_get_main_conf(ngx_cycle_t *cycle)
{
    return (ngx_ams_main_conf_t *) ngx_get_conf(cycle->conf_ctx,
                                                ngx_ams_core_module);
}


ngx_ams_app_conf_t *
ngx_ams_app_find(ngx_cycle_t *cycle, ngx_str_t *name)
{
    ngx_uint_t            i;
    ngx_ams_app_conf_t  **appp;
    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_ams_get_main_conf(cycle);
    appp = amcf->apps.elts;

    for (i = 0; i < amcf->apps.nelts; i++) {
        if (appp[i]->name.len == name->len
            && ngx_strncmp(appp[i]->name.data, name->data, name->len) == 0)
        {
            return appp[i];
        }
    }

    return NULL;
}


static ngx_int_t
ngx_ams_core_init_process(ngx_cycle_t *cycle)
{
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    if (ngx_ams_get_main_conf(cycle) == NULL
        || ngx_ams_get_main_conf(cycle)->shm_zone == NULL)
    {
        return NGX_OK;
    }

    if (ngx_ams_bus_init_worker(cycle) != NGX_OK
        || ngx_ams_store_init_worker(cycle) != NGX_OK
        || ngx_ams_broadcast_init_worker(cycle) != NGX_OK
        || ngx_ams_app_settings_init_worker(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_ams_stats_init_worker(cycle);
}


static void
ngx_ams_core_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_ams_get_main_conf(cycle) == NULL
        || ngx_ams_get_main_conf(cycle)->shm_zone == NULL)
    {
        return;
    }

    /* the bus first: streams still live end through the unpublish chain,
     * whose observers write to the store */
    ngx_ams_bus_exit_worker(cycle);
    ngx_ams_store_exit_worker(cycle);
}


/* the pool is added while parsing, so nginx checks it is declared */

char *
ngx_ams_conf_set_thread_pool_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_thread_pool_t  **pool;
    ngx_str_t           *value;

    pool = (ngx_thread_pool_t **) ((u_char *) conf + cmd->offset);

    if (*pool) {
        return "is duplicate";
    }

    value = cf->args->elts;

    *pool = ngx_thread_pool_add(cf, &value[1]);

    return *pool ? NGX_CONF_OK : NGX_CONF_ERROR;
}
