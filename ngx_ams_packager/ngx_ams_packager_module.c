
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
#include "ngx_ams_hls.h"
#include "ngx_ams_cmaf.h"


#define NGX_AMS_PACKAGER_BATCH    512
#define NGX_AMS_PACKAGER_PERIOD   1000


typedef struct {
    ngx_ams_sub_t            sub;
    ngx_ams_app_conf_t      *app;
    ngx_pool_t              *pool;
    ngx_log_t                log;
    ngx_thread_task_t       *task;
    ngx_event_t              cleanup;
    ngx_event_t              batch;

    /* owned by the task while "busy" */
    ngx_ams_hls_t            hls;           /* MPEG-TS HLS */
    ngx_ams_cmaf_t           cmaf;          /* fMP4 HLS and DASH */
    uint32_t                 config_version[NGX_AMS_TRACKS];
    uint8_t                 *frame;
    size_t                   frame_size;
    char                     error[256];
    time_t                   ended_at;

    unsigned                 hls_on:1;      /* MPEG-TS HLS */
    unsigned                 cmaf_on:1;
    unsigned                 busy:1;
    unsigned                 finished:1;    /* the task wrote ENDLIST */
    unsigned                 failed:1;
} ngx_ams_packager_stream_t;


static void *ngx_ams_packager_create_conf(ngx_cycle_t *cycle);
static ngx_int_t ngx_ams_packager_publish(ngx_ams_stream_t *st,
    ngx_ams_app_conf_t *app, ngx_log_t *log);
static void ngx_ams_packager_wake(ngx_ams_sub_t *sub);
static void ngx_ams_packager_schedule(ngx_ams_packager_stream_t *ps);
static void ngx_ams_packager_batch(ngx_event_t *ev);
static void ngx_ams_packager_post(ngx_ams_packager_stream_t *ps);
static void ngx_ams_packager_thread(void *data, ngx_log_t *log);
static void ngx_ams_packager_done(ngx_event_t *ev);
static void ngx_ams_packager_remove_thread(void *data, ngx_log_t *log);
static void ngx_ams_packager_cleanup(ngx_event_t *ev);
static void ngx_ams_packager_free(ngx_ams_packager_stream_t *ps);


static ngx_ams_publish_pt  ngx_ams_packager_next_publish;


static ngx_core_module_t  ngx_ams_packager_module_ctx = {
    ngx_string("ams_packager"),
    ngx_ams_packager_create_conf,
    NULL
};


ngx_module_t  ngx_ams_packager_module = {
    NGX_MODULE_V1,
    &ngx_ams_packager_module_ctx,          /* module context */
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


static void *
ngx_ams_packager_create_conf(ngx_cycle_t *cycle)
{
    /* runs after the core's create_conf, which reset the chain */
    ngx_ams_packager_next_publish = ngx_ams_publish_handler;
    ngx_ams_publish_handler = ngx_ams_packager_publish;

    return NGX_CONF_UNSET_PTR;   /* no configuration of its own */
}


static ngx_int_t
ngx_ams_packager_publish(ngx_ams_stream_t *st, ngx_ams_app_conf_t *app,
    ngx_log_t *log)
{
    size_t                      len;
    u_char                     *p;
    ngx_pool_t                 *pool;
    ngx_ams_main_conf_t        *amcf;
    ngx_uint_t                  fmp4, outputs;
    ngx_ams_packager_stream_t  *ps;
    char                        dir[NGX_AMS_HLS_DIR_LEN];
    char                        name[NGX_AMS_NAME_LEN];

    if (!app->hls && !app->dash) {
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
    ps->log = *ngx_cycle->log;

    /* the largest frame the ring can hold */
    ps->frame_size = st->ring->data_size / 2;
    ps->frame = ngx_alloc(ps->frame_size, log);
    if (ps->frame == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    p = ngx_snprintf((u_char *) dir, sizeof(dir) - 1, "%V/%V/streams",
                     &amcf->storage, &app->name);
    *p = '\0';
    len = ngx_min(st->name_len, sizeof(name) - 1);
    ngx_memcpy(name, st->name, len);
    name[len] = '\0';

    /* fMP4 is muxed once, for HLS and DASH alike */
    fmp4 = app->hls && app->hls_segment_type == NGX_AMS_HLS_FMP4;
    outputs = (fmp4 ? NGX_AMS_CMAF_HLS : 0)
              | (app->dash ? NGX_AMS_CMAF_DASH : 0);

    ps->hls_on = app->hls && !fmp4;
    ps->cmaf_on = (outputs != 0);

    if ((ps->hls_on
         && ngx_ams_hls_open(&ps->hls, dir, name, app->hls_time,
                             app->hls_list_size)
            != 0)
        || (ps->cmaf_on
            && ngx_ams_cmaf_open(&ps->cmaf, dir, name, app->hls_time,
                                 app->hls_list_size, outputs)
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

    ps->sub.handler = ngx_ams_packager_wake;
    ps->sub.data = ps;

    if (ngx_ams_bus_subscribe_stream(&ps->sub, st, log) != NGX_OK) {
        ngx_ams_packager_free(ps);
        return ngx_ams_packager_next_publish(st, app, log);
    }

    ngx_log_debug3(NGX_LOG_DEBUG_CORE, log, 0,
                   "ams packager: \"%s\" hls:%d cmaf:%d", name,
                   ps->hls_on, ps->cmaf_on);

    return ngx_ams_packager_next_publish(st, app, log);
}


/* Context: event loop, when the bus has news or the stream ended */

static void
ngx_ams_packager_wake(ngx_ams_sub_t *sub)
{
    ngx_ams_packager_schedule(sub->data);
}


static void
ngx_ams_packager_schedule(ngx_ams_packager_stream_t *ps)
{
    uint64_t         key;
    ngx_ams_ring_t  *ring;

    /* while a task runs it owns the reader; "done" schedules again */
    if (ps->busy || ps->finished || ps->failed) {
        return;
    }

    ring = ps->sub.stream->ring;
    key = ring->last_key_seq;

    if (ngx_ams_bus_sub_ended(&ps->sub)
        || (key != NGX_AMS_RING_NO_SEQ && key >= ps->sub.reader.next_seq
            && key < ring->write_seq)
        || ring->write_seq - ps->sub.reader.next_seq >= NGX_AMS_PACKAGER_BATCH)
    {
        ngx_ams_packager_post(ps);
        return;
    }

    if (ngx_ams_ring_has_news(ring, &ps->sub.reader) && !ps->batch.timer_set) {
        ngx_add_timer(&ps->batch, NGX_AMS_PACKAGER_PERIOD);
    }
}


static void
ngx_ams_packager_batch(ngx_event_t *ev)
{
    ngx_ams_packager_stream_t  *ps = ev->data;

    if (!ps->busy && !ps->finished && !ps->failed
        && ngx_ams_ring_has_news(ps->sub.stream->ring, &ps->sub.reader))
    {
        ngx_ams_packager_post(ps);
    }
}


static void
ngx_ams_packager_post(ngx_ams_packager_stream_t *ps)
{
    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    if (ps->batch.timer_set) {
        ngx_del_timer(&ps->batch);
    }

    ps->busy = 1;

    if (ngx_thread_task_post(amcf->thread_pool, ps->task) != NGX_OK) {
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
    int                         rc;
    uint32_t                    codec, len, version;
    ngx_ams_ring_t             *ring;
    ngx_ams_frame_t             frame;
    ngx_ams_packager_stream_t  *ps = data;
    uint8_t                     config[NGX_AMS_CONFIG_MAX];

    if (ps->failed || ps->finished) {
        return;
    }

    ring = ps->sub.stream->ring;

    for ( ;; ) {
        rc = ngx_ams_ring_read(ring, &ps->sub.reader, &frame, ps->frame,
                               ps->frame_size);

        if (rc != NGX_AMS_RING_OK) {
            break;
        }

        if (frame.config_version != ps->config_version[frame.track]) {
            if (ngx_ams_ring_get_config(ring, frame.track, &codec, config,
                                        &len, &version)
                == NGX_AMS_RING_OK)
            {
                ps->config_version[frame.track] = frame.config_version;

                if ((ps->hls_on
                     && ngx_ams_hls_config(&ps->hls, frame.track, config,
                                           len) != 0)
                    || (ps->cmaf_on
                        && ngx_ams_cmaf_config(&ps->cmaf, frame.track,
                                               config, len) != 0))
                {
                    goto failed;
                }
            }
        }

        if ((ps->hls_on
             && ngx_ams_hls_frame(&ps->hls, &frame, ps->frame) != 0)
            || (ps->cmaf_on
                && ngx_ams_cmaf_frame(&ps->cmaf, &frame, ps->frame) != 0))
        {
            goto failed;
        }
    }

    if (ps->hls_on && ngx_ams_hls_flush(&ps->hls) != 0) {
        goto failed;
    }

    /* the writer ends the stream after its last frame: nothing follows */
    if (ngx_ams_bus_sub_ended(&ps->sub)
        && !ngx_ams_ring_has_news(ring, &ps->sub.reader))
    {
        if ((ps->hls_on && ngx_ams_hls_finish(&ps->hls) != 0)
            || (ps->cmaf_on && ngx_ams_cmaf_finish(&ps->cmaf) != 0))
        {
            goto failed;
        }

        ps->finished = 1;
        ps->ended_at = time(NULL);
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
                      ps->sub.stream->name_len, ps->sub.stream->name,
                      ps->error);
        ngx_ams_bus_unsubscribe(&ps->sub);
        ngx_ams_packager_free(ps);
        return;
    }

    if (ps->finished) {
        ngx_ams_bus_unsubscribe(&ps->sub);

        if (!ps->app->delete_hls_files_on_ended) {
            ngx_ams_packager_free(ps);
            return;
        }

        /* give players time to fetch the last segments first */
        delay = ps->app->hls_time * (ps->app->hls_list_size + 1);
        ngx_add_timer(&ps->cleanup, delay);
        return;
    }

    ngx_ams_packager_schedule(ps);
}


static void
ngx_ams_packager_cleanup(ngx_event_t *ev)
{
    ngx_ams_main_conf_t        *amcf;
    ngx_ams_packager_stream_t  *ps = ev->data;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    ps->task->handler = ngx_ams_packager_remove_thread;
    ps->task->event.handler = ngx_ams_packager_cleanup;

    if (ps->busy) {
        /* the removal task came back */
        ngx_ams_packager_free(ps);
        return;
    }

    ps->busy = 1;

    if (ngx_thread_task_post(amcf->thread_pool, ps->task) != NGX_OK) {
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
