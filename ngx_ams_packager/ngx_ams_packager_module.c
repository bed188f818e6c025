
/*
 * Copyright (C) nginx-ams authors
 *
 * The packager follows every stream that starts in this worker: it
 * subscribes to the bus and hands the muxing and file writing to a thread
 * pool, one task in flight per stream so the muxer state stays sequential.
 * The event loop only notices new frames and posts tasks.
 *
 * A task per frame would cost a thread hand-off and an eventfd wake-up
 * per frame, so frames are batched: a task is posted at once when a
 * keyframe is waiting (it may close a segment, and the playlist should
 * name it without delay) or the stream ended, otherwise after
 * NGX_AMS_PACKAGER_BATCH frames or NGX_AMS_PACKAGER_PERIOD ms.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_core.h"
#include "ngx_ams_packager.h"
#include "ngx_ams_hls.h"
#include "ngx_ams_cmaf.h"


#define NGX_AMS_PACKAGER_BATCH    512
#define NGX_AMS_PACKAGER_PERIOD   1000


typedef struct {
    ngx_ams_reader_t         reader;
    ngx_ams_app_conf_t      *app;
    ngx_ams_packager_app_conf_t  *conf;
    ngx_pool_t              *pool;
    ngx_log_t                log;
    ngx_thread_task_t       *task;
    ngx_event_t              cleanup;
    ngx_event_t              batch;

    /* owned by the task while "busy" */
    ngx_ams_hls_t            hls;           /* MPEG-TS HLS */
    ngx_ams_cmaf_t           cmaf;          /* fMP4 HLS and DASH */
    uint8_t                 *frame;
    size_t                   frame_size;
    char                     error[256];
    time_t                   ended_at;

    unsigned                 hls_on:1;
    unsigned                 cmaf_on:1;
    unsigned                 busy:1;
    unsigned                 finished:1;    /* the task wrote ENDLIST */
    unsigned                 failed:1;
} ngx_ams_packager_stream_t;


typedef struct {
    ngx_thread_pool_t       *thread_pool;
} ngx_ams_packager_conf_t;


static void *ngx_ams_packager_create_conf(ngx_cycle_t *cycle);
static char *ngx_ams_packager_init_conf(ngx_cycle_t *cycle, void *conf);
static char *ngx_ams_packager_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_ams_packager_create_app_conf(ngx_conf_t *cf);
static char *ngx_ams_packager_init_app_conf(ngx_conf_t *cf, void *conf);
static ngx_thread_pool_t *ngx_ams_packager_pool(void);
static ngx_int_t ngx_ams_packager_publish(ngx_ams_stream_t *st,
    ngx_ams_app_conf_t *app, ngx_log_t *log);
static void ngx_ams_packager_wake(ngx_ams_reader_t *rd);
static void ngx_ams_packager_schedule(ngx_ams_packager_stream_t *ps);
static void ngx_ams_packager_batch(ngx_event_t *ev);
static void ngx_ams_packager_post(ngx_ams_packager_stream_t *ps);
static void ngx_ams_packager_thread(void *data, ngx_log_t *log);
static void ngx_ams_packager_done(ngx_event_t *ev);
static void ngx_ams_packager_remove_thread(void *data, ngx_log_t *log);
static void ngx_ams_packager_cleanup(ngx_event_t *ev);
static void ngx_ams_packager_free(ngx_ams_packager_stream_t *ps);


static ngx_ams_publish_pt  ngx_ams_packager_next_publish;


static ngx_conf_enum_t  ngx_ams_packager_segment_types[] = {
    { ngx_string("mpegts"), NGX_AMS_HLS_MPEGTS },
    { ngx_string("fmp4"), NGX_AMS_HLS_FMP4 },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_ams_packager_commands[] = {

    /* its own pool, so a slow disk stalls segments, not the store */
    { ngx_string("packager_thread_pool"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_ams_packager_thread_pool,
      0,
      0,
      NULL },

    { ngx_string("hls"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, hls),
      NULL },

    { ngx_string("hls_time"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, hls_time),
      NULL },

    { ngx_string("hls_list_size"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, hls_list_size),
      NULL },

    { ngx_string("hls_segment_type"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, hls_segment_type),
      &ngx_ams_packager_segment_types },

    { ngx_string("dash"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, dash),
      NULL },

    { ngx_string("delete_hls_files_on_ended"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, delete_hls_files_on_ended),
      NULL },

      ngx_null_command
};


static ngx_ams_app_module_t  ngx_ams_packager_app_owner = {
    &ngx_ams_packager_module,
    ngx_ams_packager_create_app_conf,
    ngx_ams_packager_init_app_conf
};


static ngx_core_module_t  ngx_ams_packager_module_ctx = {
    ngx_string("ams_packager"),
    ngx_ams_packager_create_conf,
    ngx_ams_packager_init_conf
};


ngx_module_t  ngx_ams_packager_module = {
    NGX_MODULE_V1,
    &ngx_ams_packager_module_ctx,          /* module context */
    ngx_ams_packager_commands,             /* module directives */
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
ngx_ams_packager_create_conf(ngx_cycle_t *cycle)
{
    ngx_ams_packager_conf_t  *pcf;

    pcf = ngx_pcalloc(cycle->pool, sizeof(ngx_ams_packager_conf_t));
    if (pcf == NULL) {
        return NULL;
    }

    /* runs after the core's create_conf, which reset the chain and the
     * application settings' owners */
    if (ngx_ams_app_module_add(cycle, &ngx_ams_packager_app_owner)
        != NGX_OK)
    {
        return NULL;
    }

    ngx_ams_packager_next_publish = ngx_ams_publish_handler;
    ngx_ams_publish_handler = ngx_ams_packager_publish;

    return pcf;
}


static void *
ngx_ams_packager_create_app_conf(ngx_conf_t *cf)
{
    ngx_ams_packager_app_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ams_packager_app_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->hls = NGX_CONF_UNSET;
    conf->hls_time = NGX_CONF_UNSET_MSEC;
    conf->hls_list_size = NGX_CONF_UNSET_UINT;
    conf->hls_segment_type = NGX_CONF_UNSET_UINT;
    conf->dash = NGX_CONF_UNSET;
    conf->delete_hls_files_on_ended = NGX_CONF_UNSET;

    return conf;
}


/* defaults follow Ant Media Server's */
static char *
ngx_ams_packager_init_app_conf(ngx_conf_t *cf, void *conf)
{
    ngx_ams_packager_app_conf_t *pacf = conf;

    ngx_conf_init_value(pacf->hls, 1);
    ngx_conf_init_msec_value(pacf->hls_time, 2000);
    ngx_conf_init_uint_value(pacf->hls_list_size, 15);
    ngx_conf_init_uint_value(pacf->hls_segment_type, NGX_AMS_HLS_MPEGTS);
    ngx_conf_init_value(pacf->dash, 0);
    ngx_conf_init_value(pacf->delete_hls_files_on_ended, 1);

    if (pacf->hls_time < 100) {
        return "\"hls_time\" must be at least 100ms";
    }

    if (pacf->hls_list_size == 0) {
        return "\"hls_list_size\" must be at least 1";
    }

    return NGX_CONF_OK;
}


static char *
ngx_ams_packager_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ams_packager_conf_t *pcf = conf;

    ngx_str_t  *value;

    if (pcf->thread_pool) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* added while parsing: nginx checks every pool named is declared */
    pcf->thread_pool = ngx_thread_pool_add(cf, &value[1]);

    return pcf->thread_pool ? NGX_CONF_OK : NGX_CONF_ERROR;
}


static char *
ngx_ams_packager_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_ams_packager_conf_t *pcf = conf;

    ngx_ams_main_conf_t  *amcf;

    /* by default the "ams {}" block's thread_pool */
    amcf = ngx_ams_get_main_conf(cycle);

    if (pcf->thread_pool == NULL && amcf) {
        pcf->thread_pool = amcf->thread_pool;
    }

    return NGX_CONF_OK;
}


static ngx_thread_pool_t *
ngx_ams_packager_pool(void)
{
    ngx_ams_packager_conf_t  *pcf;

    pcf = (ngx_ams_packager_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                                   ngx_ams_packager_module);

    return pcf->thread_pool;
}


static ngx_int_t
ngx_ams_packager_publish(ngx_ams_stream_t *st, ngx_ams_app_conf_t *app,
    ngx_log_t *log)
{
    size_t                        len;
    u_char                       *p;
    ngx_uint_t                    fmp4, outputs;
    ngx_pool_t                   *pool;
    ngx_ams_main_conf_t          *amcf;
    ngx_ams_packager_stream_t    *ps;
    ngx_ams_packager_app_conf_t  *conf;
    char                          dir[NGX_AMS_HLS_DIR_LEN];
    char                          name[NGX_AMS_NAME_LEN];

    conf = ngx_ams_packager_app_conf(app);

    if (!conf->hls && !conf->dash) {
        return ngx_ams_packager_next_publish(st, app, log);
    }

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    ps = ngx_pcalloc(pool, sizeof(ngx_ams_packager_stream_t));
    if (ps == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    ps->pool = pool;
    ps->app = app;
    ps->conf = conf;
    ps->log = *ngx_cycle->log;


    p = ngx_snprintf((u_char *) dir, sizeof(dir) - 1, "%V/%V/streams",
                     &amcf->storage, &app->name);
    *p = '\0';
    len = ngx_min(st->name_len, sizeof(name) - 1);
    ngx_memcpy(name, st->name, len);
    name[len] = '\0';

    /* fMP4 is muxed once, for HLS and DASH alike */
    fmp4 = conf->hls && conf->hls_segment_type == NGX_AMS_HLS_FMP4;
    outputs = (fmp4 ? NGX_AMS_CMAF_HLS : 0)
              | (conf->dash ? NGX_AMS_CMAF_DASH : 0);

    ps->hls_on = conf->hls && !fmp4;
    ps->cmaf_on = (outputs != 0);

    if ((ps->hls_on
         && ngx_ams_hls_open(&ps->hls, dir, name, conf->hls_time,
                             conf->hls_list_size)
            != 0)
        || (ps->cmaf_on
            && ngx_ams_cmaf_open(&ps->cmaf, dir, name, conf->hls_time,
                                 conf->hls_list_size, outputs)
               != 0))
    {
        ngx_log_error(NGX_LOG_ERR, log, 0, "ams packager: \"%s\": %s", name,
                      ps->hls.error[0] ? ps->hls.error : ps->cmaf.error);
        ngx_ams_packager_free(ps);
        return ngx_ams_packager_next_publish(st, app, log);
    }

    ps->task = ngx_thread_task_alloc(pool, 0);
    if (ps->task == NULL) {
        ngx_ams_packager_free(ps);
        return NGX_ERROR;
    }

    ps->task->ctx = ps;
    ps->task->handler = ngx_ams_packager_thread;
    ps->task->event.data = ps;
    ps->task->event.handler = ngx_ams_packager_done;
    ps->task->event.log = &ps->log;

    ps->cleanup.handler = ngx_ams_packager_cleanup;
    ps->cleanup.data = ps;
    ps->cleanup.log = &ps->log;
    ps->cleanup.cancelable = 1;

    ps->batch.handler = ngx_ams_packager_batch;
    ps->batch.data = ps;
    ps->batch.log = &ps->log;
    ps->batch.cancelable = 1;

    ps->reader.latency = NGX_AMS_LATENCY_BATCHED;
    ps->reader.handler = ngx_ams_packager_wake;
    ps->reader.data = ps;

    if (ngx_ams_reader_open_stream(&ps->reader, st, log) != NGX_OK) {
        ngx_ams_packager_free(ps);
        return ngx_ams_packager_next_publish(st, app, log);
    }

    /* the largest frame the stream can carry; untouched pages cost
     * nothing */
    ps->frame_size = ngx_ams_reader_max_frame(&ps->reader);
    ps->frame = ngx_alloc(ps->frame_size, log);
    if (ps->frame == NULL) {
        ngx_ams_reader_close(&ps->reader);
        ngx_ams_packager_free(ps);
        return NGX_ERROR;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_CORE, log, 0,
                   "ams packager: \"%s\" hls:%d cmaf:%d", name,
                   ps->hls_on, ps->cmaf_on);

    return ngx_ams_packager_next_publish(st, app, log);
}


/* Context: event loop, when the bus has news or the stream ended */

static void
ngx_ams_packager_wake(ngx_ams_reader_t *rd)
{
    ngx_ams_packager_schedule(rd->data);
}


static void
ngx_ams_packager_schedule(ngx_ams_packager_stream_t *ps)
{
    /* while a task runs it owns the reader; "done" schedules again */
    if (ps->busy || ps->finished || ps->failed) {
        return;
    }

    if (ps->reader.stream->state != NGX_AMS_STREAM_ACTIVE
        || ngx_ams_reader_key_waiting(&ps->reader)
        || ngx_ams_reader_backlog(&ps->reader) >= NGX_AMS_PACKAGER_BATCH)
    {
        ngx_ams_packager_post(ps);
        return;
    }

    if (ngx_ams_reader_has_news(&ps->reader) && !ps->batch.timer_set) {
        ngx_add_timer(&ps->batch, NGX_AMS_PACKAGER_PERIOD);
    }
}


static void
ngx_ams_packager_batch(ngx_event_t *ev)
{
    ngx_ams_packager_stream_t  *ps = ev->data;

    if (!ps->busy && !ps->finished && !ps->failed
        && ngx_ams_reader_has_news(&ps->reader))
    {
        ngx_ams_packager_post(ps);
    }
}


static void
ngx_ams_packager_post(ngx_ams_packager_stream_t *ps)
{
    if (ps->batch.timer_set) {
        ngx_del_timer(&ps->batch);
    }

    ps->busy = 1;

    if (ngx_thread_task_post(ngx_ams_packager_pool(), ps->task) != NGX_OK) {
        /* queue full: try again a little later */
        ps->busy = 0;
        ngx_add_timer(&ps->batch, NGX_AMS_PACKAGER_PERIOD);
    }
}


/*
 * Context: thread pool.  Reads every frame there is (copied out of the
 * ring, so a frame overwritten meanwhile is noticed, never muxed), muxes,
 * writes; on the stream's end, closes the playlist.
 */

static void
ngx_ams_packager_thread(void *data, ngx_log_t *log)
{
    ngx_ams_bus_event_t         ev;
    ngx_ams_packager_stream_t  *ps = data;

    if (ps->failed || ps->finished) {
        return;
    }

    while (ngx_ams_reader_read(&ps->reader, &ev, ps->frame, ps->frame_size)
           == NGX_OK)
    {
        switch (ev.type) {

        case NGX_AMS_EVENT_CONFIG:
            if (ev.track == NGX_AMS_TRACK_DATA || ev.len == 0) {
                break;
            }

            if ((ps->hls_on
                 && ngx_ams_hls_config(&ps->hls, ev.track, ev.data, ev.len)
                    != 0)
                || (ps->cmaf_on
                    && ngx_ams_cmaf_config(&ps->cmaf, ev.track, ev.data,
                                           ev.len)
                       != 0))
            {
                goto failed;
            }

            break;

        case NGX_AMS_EVENT_FRAME:
            if ((ps->hls_on
                 && ngx_ams_hls_frame(&ps->hls, &ev.frame, ps->frame) != 0)
                || (ps->cmaf_on
                    && ngx_ams_cmaf_frame(&ps->cmaf, &ev.frame, ps->frame)
                       != 0))
            {
                goto failed;
            }

            break;

        case NGX_AMS_EVENT_END:
            if ((ps->hls_on
                 && (ngx_ams_hls_flush(&ps->hls) != 0
                     || ngx_ams_hls_finish(&ps->hls) != 0))
                || (ps->cmaf_on && ngx_ams_cmaf_finish(&ps->cmaf) != 0))
            {
                goto failed;
            }

            ps->finished = 1;
            ps->ended_at = time(NULL);
            return;

        default:   /* SKIP: the segmenter cuts at the keyframe it lands on */
            break;
        }
    }

    if (ps->hls_on && ngx_ams_hls_flush(&ps->hls) != 0) {
        goto failed;
    }

    return;

failed:

    ngx_cpystrn((u_char *) ps->error,
                (u_char *) (ps->hls.error[0] ? ps->hls.error : ps->cmaf.error),
                sizeof(ps->error));
    ps->failed = 1;
}


/* Context: event loop, after a task */

static void
ngx_ams_packager_done(ngx_event_t *ev)
{
    ngx_msec_t                  delay;
    ngx_ams_packager_stream_t  *ps = ev->data;

    ps->busy = 0;

    if (ps->failed) {
        ngx_log_error(NGX_LOG_ERR, &ps->log, 0,
                      "ams packager: \"%*s\" stopped: %s",
                      ps->reader.stream->name_len, ps->reader.stream->name,
                      ps->error);
        ngx_ams_reader_close(&ps->reader);
        ngx_ams_packager_free(ps);
        return;
    }

    if (ps->finished) {
        ngx_ams_reader_close(&ps->reader);

        if (!ps->conf->delete_hls_files_on_ended) {
            ngx_ams_packager_free(ps);
            return;
        }

        /* give players time to fetch the last segments first */
        delay = ps->conf->hls_time * (ps->conf->hls_list_size + 1);
        ngx_add_timer(&ps->cleanup, delay);
        return;
    }

    ngx_ams_packager_schedule(ps);
}


static void
ngx_ams_packager_cleanup(ngx_event_t *ev)
{
    ngx_ams_packager_stream_t  *ps = ev->data;

    ps->task->handler = ngx_ams_packager_remove_thread;
    ps->task->event.handler = ngx_ams_packager_cleanup;

    if (ps->busy) {
        /* the removal task came back */
        ngx_ams_packager_free(ps);
        return;
    }

    ps->busy = 1;

    if (ngx_thread_task_post(ngx_ams_packager_pool(), ps->task) != NGX_OK) {
        ngx_ams_packager_free(ps);
    }
}


/* Context: thread pool */

static void
ngx_ams_packager_remove_thread(void *data, ngx_log_t *log)
{
    ngx_ams_packager_stream_t  *ps = data;

    if (ps->hls_on) {
        ngx_ams_hls_remove(&ps->hls, ps->ended_at);
    }

    if (ps->cmaf_on) {
        ngx_ams_cmaf_remove(&ps->cmaf, ps->ended_at);
    }
}


static void
ngx_ams_packager_free(ngx_ams_packager_stream_t *ps)
{
    if (ps->cleanup.timer_set) {
        ngx_del_timer(&ps->cleanup);
    }

    if (ps->batch.timer_set) {
        ngx_del_timer(&ps->batch);
    }

    if (ps->hls_on) {
        ngx_ams_hls_close(&ps->hls);
    }

    ngx_ams_cmaf_close(&ps->cmaf);

    if (ps->frame) {
        ngx_free(ps->frame);
    }

    ngx_destroy_pool(ps->pool);
}
