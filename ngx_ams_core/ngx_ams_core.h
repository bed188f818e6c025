
/*
 * Copyright (C) nginx-ams authors
 *
 * The interface every other nginx-ams module builds on: applications
 * (the "ams {}" block) and the media bus.
 *
 * The bus is the only thing modules share.  A producer (an RTMP publisher,
 * later SRT, WebRTC, a transcoder) publishes a stream and writes frames;
 * consumers (players, the packager) subscribe from any worker and are
 * woken when frames arrive.  Streams live in one shared-memory zone that
 * survives reloads.
 */


#ifndef _NGX_AMS_CORE_H_INCLUDED_
#define _NGX_AMS_CORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_thread_pool.h>

#include "ngx_ams_ring.h"


#define NGX_AMS_VERSION           "0.1.0"

#define NGX_AMS_APP_LEN           64
#define NGX_AMS_NAME_LEN          128
#define NGX_AMS_MAX_WORKERS       64     /* bits of a readers mask */

#define NGX_AMS_HLS_MPEGTS        0
#define NGX_AMS_HLS_FMP4          1

#define NGX_AMS_STREAM_FREE       0
#define NGX_AMS_STREAM_ACTIVE     1
#define NGX_AMS_STREAM_ENDED      2

/* directive contexts below nginx's main one: "ams {}" and "application {}";
 * any core module's directives may use them */
#define NGX_AMS_MAIN_CONF         0x40000000
#define NGX_AMS_APP_CONF          0x80000000


/* stream security (AMS: acceptOnlyStreamsInDataStore, ...), enforced by
 * ngx_ams_access.c */
typedef struct {
    ngx_flag_t                accept_only_streams_in_data_store;
    ngx_flag_t                publish_token_control;
    ngx_flag_t                play_token_control;
    ngx_flag_t                publish_jwt_control;
    ngx_flag_t                play_jwt_control;
    ngx_str_t                 jwt_stream_secret_key;
} ngx_ams_access_conf_t;


/*
 * An "application NAME {}" block: core's settings here, every other
 * module's in "ctx", by module index (ngx_ams_app_get_module_conf).
 */
typedef struct {
    ngx_str_t                 name;
    void                    **ctx;

    ngx_ams_access_conf_t     access;

    ngx_str_t                 listener_hook_url;   /* ngx_ams_webhook.c */
    void                     *listener_hook;  /* ngx_ams_webhook_target_t */
    ngx_msec_t                viewer_timeout;      /* ngx_ams_viewers.c */
} ngx_ams_app_conf_t;


/*
 * A module with settings in "application {}" blocks registers itself in
 * its create_conf with ngx_ams_app_module_add() (core's create_conf has
 * run by then, on every configuration cycle).  Each block then calls
 * create_app_conf, parses the module's NGX_AMS_APP_CONF|NGX_DIRECT_CONF
 * directives into that conf (nginx finds it by the module's index), and
 * calls init_app_conf after the block for defaults and checks: there is
 * nothing to merge, applications do not nest.  nginx looks directives
 * up in core modules only at this level: an HTTP or stream module adds a
 * small core module to its .so for its application settings.
 */
typedef struct {
    ngx_module_t             *module;
    void                   *(*create_app_conf)(ngx_conf_t *cf);
    char                   *(*init_app_conf)(ngx_conf_t *cf, void *conf);
} ngx_ams_app_module_t;

#define ngx_ams_app_get_module_conf(app, m)  ((app)->ctx[(m).index])


typedef struct {
    size_t                    bus_size;
    ngx_uint_t                max_streams;
    size_t                    stream_buffer;
    ngx_msec_t                wake_interval;
    ngx_str_t                 storage;
    ngx_str_t                 thread_pool_name;
    ngx_thread_pool_t        *thread_pool;
    ngx_array_t               apps;          /* ngx_ams_app_conf_t * */
    ngx_array_t               app_modules;   /* ngx_ams_app_module_t * */
    ngx_str_t                 database;      /* [scheme:]URI of the store */
    ngx_str_t                 store_thread_pool_name;
    ngx_msec_t                broadcast_stale_timeout;
    struct ngx_ams_store_s   *store;         /* ngx_ams_store.h */
    ngx_str_t                 node_address;  /* AMS originAdress */
    ngx_uint_t                cpu_limit;     /* percent */
    ngx_uint_t                memory_limit;  /* percent */
    ngx_str_t                 status_webhook_url;
    void                     *status_webhook; /* ngx_ams_webhook_target_t */
    ngx_flag_t                jwt_server_control;
    ngx_str_t                 jwt_server_secret_key;
    ngx_shm_zone_t           *shm_zone;
} ngx_ams_main_conf_t;


/* one live stream, in shared memory */
typedef struct {
    ngx_atomic_t              state;
    ngx_uint_t                index;
    ngx_uint_t                generation;

    u_char                    app[NGX_AMS_APP_LEN];
    size_t                    app_len;
    u_char                    name[NGX_AMS_NAME_LEN];
    size_t                    name_len;

    ngx_pid_t                 writer_pid;
    ngx_uint_t                writer_slot;
    volatile uint64_t         readers_mask;  /* worker slots with readers */

    ngx_ams_ring_t           *ring;
    time_t                    started;
    ngx_atomic_t              in_bytes;
    ngx_atomic_t              frames;
    ngx_atomic_t              rejected;      /* frames too big for the ring */
    uint32_t                  width;
    uint32_t                  height;

    char                      publish_type[8];   /* "RTMP", ... */
    ngx_atomic_t              rtmp_viewers;
    ngx_atomic_t              stop;          /* asked to end (REST delete) */
    ngx_atomic_t              viewers_lock;
    void                     *viewers;       /* HLS/DASH: ngx_ams_viewers.c */
} ngx_ams_stream_t;


/* the node's resources, sampled by the StatsCollector (ngx_ams_stats.c) */
typedef struct {
    ngx_atomic_t              sampled_at;    /* seconds, claims a sample */
    ngx_atomic_t              cpu_percent;   /* 5-sample moving average */
    ngx_atomic_t              cpu_instant;
    ngx_atomic_t              process_cpu_percent;  /* nginx's processes */
    uint64_t                  process_cpu_ms;       /* their CPU time */
    uint64_t                  prev_process;         /* their jiffies */
    ngx_atomic_t              memory_percent;
    uint64_t                  memory_total;  /* bytes */
    uint64_t                  memory_available;
    uint64_t                  swap_total;
    uint64_t                  swap_free;
    uint64_t                  disk_total;
    uint64_t                  disk_free;
    uint64_t                  disk_usable;
    ngx_atomic_t              cpu_count;
    ngx_atomic_t              overloaded;    /* 0, or which limit: 1 cpu,
                                                2 memory */
    ngx_atomic_t              refused_publishers;
    ngx_atomic_t              refused_viewers;
    uint64_t                  prev_total;    /* /proc/stat jiffies */
    uint64_t                  prev_idle;
    ngx_uint_t                recent[5];     /* last 5 one-second loads */
    ngx_uint_t                samples;
} ngx_ams_node_stats_t;


typedef struct ngx_ams_sub_s  ngx_ams_sub_t;

typedef void (*ngx_ams_sub_handler_pt)(ngx_ams_sub_t *sub);


/* a reader of one stream in this worker */
struct ngx_ams_sub_s {
    ngx_ams_stream_t         *stream;
    ngx_uint_t                generation;
    ngx_ams_ring_reader_t     reader;
    ngx_ams_sub_handler_pt    handler;       /* news, or the stream ended */
    void                     *data;
    ngx_queue_t               queue;
    unsigned                  active:1;
};


/*
 * Called in the publishing worker when a stream starts, so consumers that
 * follow every stream (the packager) can subscribe.  Modules chain
 * themselves in their create_conf, nginx-rtmp style: save the current
 * ngx_ams_publish_handler as "next", install their own, call next.
 */
typedef ngx_int_t (*ngx_ams_publish_pt)(ngx_ams_stream_t *st,
    ngx_ams_app_conf_t *app, ngx_log_t *log);

extern ngx_ams_publish_pt  ngx_ams_publish_handler;
extern ngx_module_t        ngx_ams_core_module;


ngx_ams_main_conf_t *ngx_ams_get_main_conf(ngx_cycle_t *cycle);
ngx_ams_app_conf_t *ngx_ams_app_find(ngx_cycle_t *cycle, ngx_str_t *name);
ngx_int_t ngx_ams_app_module_add(ngx_cycle_t *cycle, ngx_ams_app_module_t *m);

/* writer side: NGX_OK, NGX_BUSY (name taken), NGX_ERROR (no room) */
ngx_int_t ngx_ams_bus_publish(ngx_ams_app_conf_t *app, ngx_str_t *name,
    const char *publish_type, ngx_log_t *log, ngx_ams_stream_t **out);
ngx_int_t ngx_ams_bus_write(ngx_ams_stream_t *st, ngx_ams_frame_t *frame,
    const u_char *data);
void ngx_ams_bus_set_config(ngx_ams_stream_t *st, ngx_uint_t track,
    ngx_uint_t codec, const u_char *data, size_t len);
void ngx_ams_bus_unpublish(ngx_ams_stream_t *st, ngx_log_t *log);

/* reader side: NGX_OK, NGX_DECLINED (no such live stream), NGX_ERROR */
ngx_int_t ngx_ams_bus_subscribe(ngx_ams_sub_t *sub, ngx_str_t *app,
    ngx_str_t *name, ngx_log_t *log);
ngx_int_t ngx_ams_bus_subscribe_stream(ngx_ams_sub_t *sub,
    ngx_ams_stream_t *st, ngx_log_t *log);
void ngx_ams_bus_unsubscribe(ngx_ams_sub_t *sub);
ngx_uint_t ngx_ams_bus_sub_ended(ngx_ams_sub_t *sub);

ngx_ams_node_stats_t *ngx_ams_bus_node_stats(void);
ngx_uint_t ngx_ams_bus_workers(void);
ngx_uint_t ngx_ams_bus_worker_pids(ngx_pid_t *pids, ngx_uint_t max);

/* a live stream by name, for counters; NULL if none */
ngx_ams_stream_t *ngx_ams_bus_find(ngx_str_t *app, ngx_str_t *name);
/* calls "handler" for every live stream (under the registry lock) */
void ngx_ams_bus_each(void (*handler)(ngx_ams_stream_t *st, void *data),
    void *data);


#endif /* _NGX_AMS_CORE_H_INCLUDED_ */
