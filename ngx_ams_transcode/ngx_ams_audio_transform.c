
/*
 * Copyright (C) nginx-ams authors
 *
 * The audio bus transform (ngx_ams_audio_transform.h), and the
 * application directives that start it: "transcode_opus on" gives every
 * publisher stream a companion {id}_opus with its audio in Opus.
 *
 * One transform: a reader of the source (immediate latency class: audio
 * for WebRTC should not wait for a batch), a thread-pool task that reads
 * what there is, converts, and pushes into the rendition's hand-off (one
 * task in flight, so the converter's state stays ordered), and the
 * rendition's writer on this worker's loop.
 *
 * Ownership: the loop owns the struct; a running task owns the reader,
 * the converter and the producer side of the queue.  The struct is freed
 * on the loop once no task runs, the producer has ended (the task's END
 * or CLOSED, or the loop's stop while idle) and the writer is gone (its
 * "done", or the loop closed it).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_thread_pool.h>

#include "ngx_ams_core.h"
#include "ngx_ams_audio_convert.h"
#include "ngx_ams_audio_transform.h"


/* the hand-off's bytes: a message may take half, and a keyframe of a
 * high-bitrate source is several hundred kilobytes */
#define NGX_AMS_AUDIO_TRANSFORM_QUEUE   (8 * 1024 * 1024)
/* frames per task before it yields its thread */
#define NGX_AMS_AUDIO_TRANSFORM_BATCH   512


typedef struct {
    ngx_thread_pool_t       *thread_pool;
} ngx_ams_audio_transform_conf_t;


typedef struct {
    ngx_flag_t               opus;          /* transcode_opus */
    ngx_uint_t               opus_bitrate;  /* transcode_opus_bitrate */
} ngx_ams_audio_transform_app_conf_t;


typedef struct {
    ngx_queue_t              queue;         /* this worker's transforms */
    ngx_log_t                log;
    ngx_ams_app_conf_t      *app;
    ngx_ams_source_t         source;
    ngx_ams_stream_t        *stream;        /* the rendition */
    ngx_ams_writer_t        *writer;
    ngx_ams_handoff_t       *handoff;       /* lives until the producer's
                                               end() */
    ngx_ams_reader_t         reader;
    ngx_thread_task_t       *task;
    ngx_thread_pool_t       *pool;
    ngx_event_t              retry;

    ngx_uint_t               codec;         /* the target */
    ngx_uint_t               bitrate;

    /* the task's */
    ngx_ams_audio_conv_t    *conv;
    u_char                  *frame;
    size_t                   frame_size;
    uint8_t                  audio_flags;   /* of the last input frame */
    uint64_t                 converted;
    uint64_t                 conv_dropped;  /* of converters gone */
    char                     error[256];    /* for the loop to log */
    char                     note[256];

    u_char                   name[NGX_AMS_NAME_LEN];
    size_t                   name_len;
    u_char                   parent[NGX_AMS_NAME_LEN];
    size_t                   parent_len;
    char                     publish_type[8];

    /* publisher mode (ngx_ams_audio_transform_start_publisher): "out" is
     * the stream its users know, the source the raw one behind it */
    ngx_str_t                app_name;
    struct sockaddr_storage  sockaddr;
    unsigned                 as_publisher:1;

    /* set by the task, read by the loop after it ("done"): not bit
     * fields, the loop writes the bits beside them meanwhile */
    ngx_uint_t               producer_ended;
    ngx_uint_t               source_ended;

    unsigned                 busy:1;
    unsigned                 stopping:1;
    unsigned                 reader_open:1;
} ngx_ams_audio_transform_t;


static void *ngx_ams_audio_transform_create_conf(ngx_cycle_t *cycle);
static char *ngx_ams_audio_transform_init_conf(ngx_cycle_t *cycle,
    void *conf);
static void *ngx_ams_audio_transform_create_app_conf(ngx_conf_t *cf);
static char *ngx_ams_audio_transform_init_app_conf(ngx_conf_t *cf,
    void *conf);
static ngx_int_t ngx_ams_audio_transform_init_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_ams_audio_transform_publish(ngx_ams_stream_t *st,
    ngx_ams_app_conf_t *app, ngx_log_t *log);
static ngx_int_t ngx_ams_audio_transform_open(ngx_ams_app_conf_t *app,
    ngx_ams_stream_t *src, ngx_str_t *out, ngx_uint_t codec,
    ngx_uint_t bitrate, ngx_ams_source_t *as, ngx_log_t *log);
static void ngx_ams_audio_transform_wake(ngx_ams_reader_t *rd);
static void ngx_ams_audio_transform_schedule(ngx_ams_audio_transform_t *tf);
static void ngx_ams_audio_transform_retry(ngx_event_t *ev);
static void ngx_ams_audio_transform_thread(void *data, ngx_log_t *log);
static int ngx_ams_audio_transform_audio(ngx_ams_audio_transform_t *tf,
    ngx_ams_bus_event_t *ev);
static int ngx_ams_audio_transform_config(ngx_ams_audio_transform_t *tf,
    ngx_ams_bus_event_t *ev);
static int ngx_ams_audio_transform_drain(ngx_ams_audio_transform_t *tf);
static void ngx_ams_audio_transform_end(ngx_ams_audio_transform_t *tf);
static void ngx_ams_audio_transform_done(ngx_event_t *ev);
static void ngx_ams_audio_transform_src_stop(ngx_ams_source_t *src);
static void ngx_ams_audio_transform_finish(ngx_ams_audio_transform_t *tf);
static void ngx_ams_audio_transform_src_keyframe(ngx_ams_source_t *src);
static void ngx_ams_audio_transform_writer_done(void *data);
static void ngx_ams_audio_transform_release(ngx_ams_audio_transform_t *tf);


static ngx_ams_publish_pt  ngx_ams_audio_transform_next_publish;
static ngx_queue_t         ngx_ams_audio_transforms;


static ngx_conf_num_bounds_t  ngx_ams_audio_transform_bitrate_bounds = {
    ngx_conf_check_num_bounds, 0, 510000
};


static ngx_command_t  ngx_ams_audio_transform_commands[] = {

    /* default: the "ams {}" block's thread_pool */
    { ngx_string("audio_transform_thread_pool"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_ams_conf_set_thread_pool_slot,
      0,
      offsetof(ngx_ams_audio_transform_conf_t, thread_pool),
      NULL },

    { ngx_string("transcode_opus"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_audio_transform_app_conf_t, opus),
      NULL },

    { ngx_string("transcode_opus_bitrate"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_audio_transform_app_conf_t, opus_bitrate),
      &ngx_ams_audio_transform_bitrate_bounds },

      ngx_null_command
};


static ngx_ams_app_module_t  ngx_ams_audio_transform_app_owner = {
    &ngx_ams_audio_transform_module,
    ngx_ams_audio_transform_create_app_conf,
    ngx_ams_audio_transform_init_app_conf,
    NULL,
    NULL
};


static ngx_core_module_t  ngx_ams_audio_transform_module_ctx = {
    ngx_string("ams_audio_transform"),
    ngx_ams_audio_transform_create_conf,
    ngx_ams_audio_transform_init_conf
};


ngx_module_t  ngx_ams_audio_transform_module = {
    NGX_MODULE_V1,
    &ngx_ams_audio_transform_module_ctx,   /* module context */
    ngx_ams_audio_transform_commands,      /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_ams_audio_transform_init_process,  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_ams_audio_transform_create_conf(ngx_cycle_t *cycle)
{
    ngx_ams_audio_transform_conf_t  *tcf;

    tcf = ngx_pcalloc(cycle->pool, sizeof(ngx_ams_audio_transform_conf_t));
    if (tcf == NULL) {
        return NULL;
    }

    /* runs after the core's create_conf, which reset the chain */
    if (ngx_ams_app_module_add(cycle, &ngx_ams_audio_transform_app_owner)
        != NGX_OK)
    {
        return NULL;
    }

    ngx_ams_audio_transform_next_publish = ngx_ams_publish_handler;
    ngx_ams_publish_handler = ngx_ams_audio_transform_publish;

    return tcf;
}



static char *
ngx_ams_audio_transform_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_ams_audio_transform_conf_t *tcf = conf;

    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_ams_get_main_conf(cycle);

    if (tcf->thread_pool == NULL && amcf) {
        tcf->thread_pool = amcf->thread_pool;
    }

    return NGX_CONF_OK;
}


static void *
ngx_ams_audio_transform_create_app_conf(ngx_conf_t *cf)
{
    ngx_ams_audio_transform_app_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ams_audio_transform_app_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->opus = NGX_CONF_UNSET;
    conf->opus_bitrate = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_ams_audio_transform_init_app_conf(ngx_conf_t *cf, void *conf)
{
    ngx_ams_audio_transform_app_conf_t *tacf = conf;

    ngx_conf_init_value(tacf->opus, 0);
    ngx_conf_init_uint_value(tacf->opus_bitrate, 0);

    if (tacf->opus_bitrate && tacf->opus_bitrate < 6000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"transcode_opus_bitrate\" must be 0 (the "
                           "encoder's default) or at least 6000");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_ams_audio_transform_init_process(ngx_cycle_t *cycle)
{
    ngx_queue_init(&ngx_ams_audio_transforms);

    return NGX_OK;
}


/* Context: the publishing worker's loop, once the source is live */

static ngx_int_t
ngx_ams_audio_transform_publish(ngx_ams_stream_t *st, ngx_ams_app_conf_t *app,
    ngx_log_t *log)
{
    ngx_int_t                            rc;
    ngx_str_t                            out;
    ngx_ams_audio_transform_app_conf_t  *conf;
    u_char                               name[NGX_AMS_NAME_LEN];

    rc = ngx_ams_audio_transform_next_publish(st, app, log);

    conf = ngx_ams_app_get_module_conf(app, ngx_ams_audio_transform_module);

    /* publishers only: a relay's companion is its origin's to make, a
     * rendition's would be a rendition of a rendition */
    if (rc != NGX_OK || conf == NULL || !conf->opus
        || st->source_kind != NGX_AMS_SOURCE_PUBLISHER)
    {
        return rc;
    }

    if (st->name_len + sizeof(NGX_AMS_AUDIO_OPUS_SUFFIX) > sizeof(name)) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "ams audio: \"%*s\" is too long for an Opus "
                      "companion", st->name_len, st->name);
        return rc;
    }

    out.data = name;
    out.len = ngx_sprintf(name, "%*s" NGX_AMS_AUDIO_OPUS_SUFFIX,
                          st->name_len, st->name)
              - name;

    /* the source goes on whatever becomes of its companion */
    /* a WebRTC publisher's raw stream is its companion already */
    if (ngx_ams_bus_find(&app->name, &out) != NULL) {
        return rc;
    }

    (void) ngx_ams_audio_transform_open(app, st, &out, NGX_AMS_CODEC_OPUS,
                                        conf->opus_bitrate, NULL, log);

    return rc;
}


ngx_int_t
ngx_ams_audio_transform_start(ngx_str_t *app, ngx_str_t *name,
    ngx_str_t *out, ngx_uint_t codec, ngx_uint_t bitrate, ngx_log_t *log)
{
    ngx_ams_stream_t    *st;
    ngx_ams_app_conf_t  *acf;

    acf = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, app);
    if (acf == NULL) {
        return NGX_DECLINED;
    }

    st = ngx_ams_bus_find(app, name);
    if (st == NULL) {
        return NGX_DECLINED;
    }

    return ngx_ams_audio_transform_open(acf, st, out, codec, bitrate, NULL,
                                        log);
}


ngx_int_t
ngx_ams_audio_transform_start_publisher(ngx_str_t *app, ngx_str_t *raw,
    ngx_str_t *out, ngx_uint_t codec, ngx_uint_t bitrate,
    ngx_ams_source_t *as, ngx_log_t *log)
{
    ngx_ams_stream_t    *st;
    ngx_ams_app_conf_t  *acf;

    acf = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, app);
    if (acf == NULL) {
        return NGX_DECLINED;
    }

    st = ngx_ams_bus_find(app, raw);
    if (st == NULL) {
        return NGX_DECLINED;
    }

    return ngx_ams_audio_transform_open(acf, st, out, codec, bitrate, as,
                                        log);
}


ngx_int_t
ngx_ams_audio_transform_stop(ngx_str_t *app, ngx_str_t *out)
{
    ngx_ams_stream_t  *st;

    /* only a rendition: never a publisher that took the name */
    st = ngx_ams_bus_find(app, out);
    if (st == NULL || st->source_kind != NGX_AMS_SOURCE_RENDITION) {
        return NGX_DECLINED;
    }

    return ngx_ams_bus_request(app, out, NGX_AMS_REQUEST_STOP);
}


static ngx_int_t
ngx_ams_audio_transform_open(ngx_ams_app_conf_t *app, ngx_ams_stream_t *src,
    ngx_str_t *out, ngx_uint_t codec, ngx_uint_t bitrate,
    ngx_ams_source_t *as, ngx_log_t *log)
{
    ngx_int_t                        rc;
    ngx_ams_audio_transform_t       *tf;
    ngx_ams_audio_transform_conf_t  *tcf;

    if (codec != NGX_AMS_CODEC_OPUS && codec != NGX_AMS_CODEC_AAC) {
        return NGX_ERROR;
    }

    tcf = (ngx_ams_audio_transform_conf_t *)
              ngx_get_conf(ngx_cycle->conf_ctx,
                           ngx_ams_audio_transform_module);

    if (tcf == NULL || tcf->thread_pool == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ams audio: no thread pool for \"%V\"", out);
        return NGX_ERROR;
    }

    if (out->len >= NGX_AMS_NAME_LEN || src->name_len >= NGX_AMS_NAME_LEN
        || (as && as->socklen > sizeof(struct sockaddr_storage)))
    {
        return NGX_ERROR;
    }

    tf = ngx_calloc(sizeof(ngx_ams_audio_transform_t), log);
    if (tf == NULL) {
        return NGX_ERROR;
    }

    tf->log = *ngx_cycle->log;
    tf->app = app;
    tf->codec = codec;
    tf->bitrate = bitrate;
    tf->pool = tcf->thread_pool;
    tf->name_len = out->len;
    ngx_memcpy(tf->name, out->data, out->len);
    tf->parent_len = src->name_len;
    ngx_memcpy(tf->parent, src->name, src->name_len);
    ngx_cpystrn((u_char *) tf->publish_type, (u_char *) src->publish_type,
                sizeof(tf->publish_type));

    tf->task = ngx_calloc(sizeof(ngx_thread_task_t), log);
    if (tf->task == NULL) {
        ngx_free(tf);
        return NGX_ERROR;
    }

    tf->task->ctx = tf;
    tf->task->handler = ngx_ams_audio_transform_thread;
    tf->task->event.data = tf;
    tf->task->event.handler = ngx_ams_audio_transform_done;
    tf->task->event.log = &tf->log;

    tf->retry.handler = ngx_ams_audio_transform_retry;
    tf->retry.data = tf;
    tf->retry.log = &tf->log;
    tf->retry.cancelable = 1;

    tf->reader.latency = NGX_AMS_LATENCY_IMMEDIATE;
    tf->reader.handler = ngx_ams_audio_transform_wake;
    tf->reader.data = tf;

    if (ngx_ams_reader_open_stream(&tf->reader, src, log) != NGX_OK) {
        ngx_free(tf->task);
        ngx_free(tf);
        return NGX_DECLINED;
    }

    tf->reader_open = 1;

    tf->frame_size = ngx_ams_reader_max_frame(&tf->reader);
    tf->frame = ngx_alloc(tf->frame_size, log);
    if (tf->frame == NULL) {
        goto failed;
    }

    tf->source.kind = NGX_AMS_SOURCE_RENDITION;
    tf->source.publish_type = tf->publish_type;
    tf->source.parent.data = tf->parent;
    tf->source.parent.len = tf->parent_len;

    if (as) {
        tf->as_publisher = 1;
        tf->app_name = app->name;
        tf->source.kind = as->kind;
        ngx_cpystrn((u_char *) tf->publish_type, (u_char *) as->publish_type,
                    sizeof(tf->publish_type));
        ngx_str_null(&tf->source.parent);

        if (as->sockaddr) {
            ngx_memcpy(&tf->sockaddr, as->sockaddr, as->socklen);
            tf->source.sockaddr = (struct sockaddr *) &tf->sockaddr;
            tf->source.socklen = as->socklen;
        }
    }

    tf->source.stop = ngx_ams_audio_transform_src_stop;
    tf->source.request_keyframe = ngx_ams_audio_transform_src_keyframe;
    tf->source.data = tf;

    rc = ngx_ams_bus_publish(app, out, &tf->source, log, &tf->stream);

    if (rc != NGX_OK) {
        if (tf->stream) {
            /* live, but a module of the publish chain failed */
            ngx_ams_bus_unpublish(tf->stream, log);
        }

        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "ams audio: \"%V\" not published%s", out,
                      rc == NGX_BUSY ? ": the name is taken" : "");
        ngx_free(tf->frame);
        ngx_ams_reader_close(&tf->reader);
        ngx_free(tf->task);
        ngx_free(tf);
        return rc == NGX_BUSY ? NGX_BUSY : NGX_ERROR;
    }

    tf->writer = ngx_ams_writer_create(tf->stream,
                                       ngx_max(NGX_AMS_AUDIO_TRANSFORM_QUEUE,
                                               2 * tf->frame_size + 65536),
                                       ngx_ams_audio_transform_writer_done,
                                       tf, log);
    if (tf->writer == NULL) {
        ngx_ams_bus_unpublish(tf->stream, log);
        goto failed;
    }

    tf->handoff = ngx_ams_writer_queue(tf->writer);

    ngx_queue_insert_tail(&ngx_ams_audio_transforms, &tf->queue);

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "ams audio: \"%V\" from \"%*s\", audio to %s", out,
                  tf->parent_len, tf->parent,
                  codec == NGX_AMS_CODEC_OPUS ? "Opus" : "AAC");

    ngx_ams_audio_transform_schedule(tf);

    return NGX_OK;

failed:

    ngx_free(tf->frame);
    ngx_ams_reader_close(&tf->reader);
    ngx_free(tf->task);
    ngx_free(tf);

    return NGX_ERROR;
}


/* Context: the loop, when the source has news or ended */

static void
ngx_ams_audio_transform_wake(ngx_ams_reader_t *rd)
{
    ngx_ams_audio_transform_schedule(rd->data);
}


static void
ngx_ams_audio_transform_schedule(ngx_ams_audio_transform_t *tf)
{
    /* while a task runs it owns the reader; "done" schedules again */
    if (tf->busy || tf->stopping || tf->producer_ended) {
        return;
    }

    if (!ngx_ams_reader_has_news(&tf->reader)
        && tf->reader.stream->state == NGX_AMS_STREAM_ACTIVE)
    {
        return;
    }

    if (tf->retry.timer_set) {
        ngx_del_timer(&tf->retry);
    }

    tf->busy = 1;

    if (ngx_thread_task_post(tf->pool, tf->task) != NGX_OK) {
        /* the pool's queue is full: a little later */
        tf->busy = 0;
        ngx_add_timer(&tf->retry, 20);
    }
}


static void
ngx_ams_audio_transform_retry(ngx_event_t *ev)
{
    ngx_ams_audio_transform_schedule(ev->data);
}


/*
 * Context: thread pool.  Everything the reader has (up to a batch):
 * video and data as they are, audio converted.  The stream's end flushes
 * the converter and ends the producer.
 */

static void
ngx_ams_audio_transform_thread(void *data, ngx_log_t *log)
{
    int                         rc;
    ngx_uint_t                  n;
    ngx_ams_bus_event_t         ev;
    ngx_ams_audio_transform_t  *tf = data;

    for (n = 0; n < NGX_AMS_AUDIO_TRANSFORM_BATCH; n++) {

        if (ngx_ams_reader_read(&tf->reader, &ev, tf->frame, tf->frame_size)
            != NGX_OK)
        {
            return;
        }

        rc = NGX_AMS_HANDOFF_OK;

        switch (ev.type) {

        case NGX_AMS_EVENT_CONFIG:
            if (ev.track == NGX_AMS_TRACK_AUDIO) {
                rc = ngx_ams_audio_transform_config(tf, &ev);

            } else if (ev.len) {
                rc = ngx_ams_handoff_push_config(tf->handoff, ev.track,
                                                 ev.codec, ev.data, ev.len);
            }

            break;

        case NGX_AMS_EVENT_FRAME:
            if (ev.track == NGX_AMS_TRACK_AUDIO) {
                rc = ngx_ams_audio_transform_audio(tf, &ev);

            } else {
                rc = ngx_ams_handoff_push_frame(tf->handoff, &ev.frame,
                                                ev.data);
            }

            break;

        case NGX_AMS_EVENT_END:
            tf->source_ended = 1;
            ngx_ams_audio_transform_end(tf);
            return;

        default:   /* SKIP: the converter's clock follows the jump */
            break;
        }

        if (rc == NGX_AMS_HANDOFF_CLOSED) {
            /* stopped: the loop gave the rendition up */
            ngx_ams_audio_transform_end(tf);
            return;
        }
    }
}


static int
ngx_ams_audio_transform_config(ngx_ams_audio_transform_t *tf,
    ngx_ams_bus_event_t *ev)
{
    int             rc;
    size_t          len;
    const uint8_t  *cfg;

    /* what the old converter holds belongs before the new configuration */
    if (tf->conv) {
        ngx_ams_audio_conv_flush(tf->conv);
        rc = ngx_ams_audio_transform_drain(tf);
        tf->conv_dropped += ngx_ams_audio_conv_dropped(tf->conv);
        ngx_ams_audio_conv_destroy(tf->conv);
        tf->conv = NULL;

        if (rc == NGX_AMS_HANDOFF_CLOSED) {
            return rc;
        }
    }

    if (ev->len == 0) {
        return NGX_AMS_HANDOFF_OK;
    }

    /* already in the target codec: as it is */
    if (ev->codec == tf->codec) {
        return ngx_ams_handoff_push_config(tf->handoff, ev->track, ev->codec,
                                           ev->data, ev->len);
    }

    tf->conv = ngx_ams_audio_conv_create((unsigned) ev->codec, ev->data,
                                         ev->len, (unsigned) tf->codec,
                                         (unsigned) tf->bitrate, tf->error,
                                         sizeof(tf->error));
    if (tf->conv == NULL) {
        /* its frames are dropped until a configuration that works */
        return NGX_AMS_HANDOFF_OK;
    }

    if (tf->note[0] == '\0') {
        unsigned  rate, channels;

        ngx_ams_audio_conv_format(tf->conv, &rate, &channels);
        (void) ngx_snprintf((u_char *) tf->note, sizeof(tf->note) - 1,
                            "%s, %ui Hz, %ui channel(s)%Z",
                            ngx_ams_audio_conv_encoder(tf->conv),
                            (ngx_uint_t) rate, (ngx_uint_t) channels);
    }

    ngx_ams_audio_conv_config(tf->conv, &cfg, &len);

    return ngx_ams_handoff_push_config(tf->handoff, NGX_AMS_TRACK_AUDIO,
                                       (uint32_t) tf->codec, cfg,
                                       (uint32_t) len);
}


static int
ngx_ams_audio_transform_audio(ngx_ams_audio_transform_t *tf,
    ngx_ams_bus_event_t *ev)
{
    if (ev->codec == tf->codec && tf->conv == NULL) {
        return ngx_ams_handoff_push_frame(tf->handoff, &ev->frame, ev->data);
    }

    if (tf->conv == NULL) {
        return NGX_AMS_HANDOFF_OK;
    }

    tf->audio_flags = ev->frame.flags;

    /* -1: dropped and counted by the converter, which goes on */
    (void) ngx_ams_audio_conv_push(tf->conv, ev->data, ev->len,
                                   ev->frame.dts + ev->frame.cts);

    return ngx_ams_audio_transform_drain(tf);
}


static int
ngx_ams_audio_transform_drain(ngx_ams_audio_transform_t *tf)
{
    int               rc;
    size_t            len;
    int64_t           pts;
    const uint8_t    *data;
    ngx_ams_frame_t   frame;

    rc = NGX_AMS_HANDOFF_OK;

    while (ngx_ams_audio_conv_pull(tf->conv, &data, &len, &pts)) {
        ngx_memzero(&frame, sizeof(ngx_ams_frame_t));
        frame.dts = pts;
        frame.cts = 0;
        frame.size = (uint32_t) len;
        frame.track = NGX_AMS_TRACK_AUDIO;
        frame.codec = (uint8_t) tf->codec;
        frame.flags = tf->audio_flags;

        rc = ngx_ams_handoff_push_frame(tf->handoff, &frame, data);
        if (rc == NGX_AMS_HANDOFF_CLOSED) {
            return rc;
        }

        tf->converted++;
    }

    return rc;
}


static void
ngx_ams_audio_transform_end(ngx_ams_audio_transform_t *tf)
{
    if (tf->conv) {
        ngx_ams_audio_conv_flush(tf->conv);
        (void) ngx_ams_audio_transform_drain(tf);
        tf->conv_dropped += ngx_ams_audio_conv_dropped(tf->conv);
        ngx_ams_audio_conv_destroy(tf->conv);
        tf->conv = NULL;
    }

    /* the queue may be gone after this */
    ngx_ams_handoff_end(tf->handoff);
    tf->handoff = NULL;
    tf->producer_ended = 1;
}


/* Context: the loop, after a task */

static void
ngx_ams_audio_transform_done(ngx_event_t *ev)
{
    ngx_ams_audio_transform_t  *tf = ev->data;

    tf->busy = 0;

    if (tf->error[0]) {
        ngx_log_error(NGX_LOG_ERR, &tf->log, 0,
                      "ams audio: \"%*s\": %s, its audio is left out until "
                      "a configuration that converts", tf->name_len,
                      tf->name, tf->error);
        tf->error[0] = '\0';
    }

    if (tf->note[0] && tf->note[0] != '-') {
        ngx_log_error(NGX_LOG_INFO, &tf->log, 0,
                      "ams audio: \"%*s\": encoding with %s",
                      tf->name_len, tf->name, tf->note);
        tf->note[0] = '-';
    }

    if (tf->producer_ended && tf->reader_open) {
        ngx_log_error(NGX_LOG_INFO, &tf->log, 0,
                      "ams audio: \"%*s\" %s after %uL audio frames, %uL "
                      "dropped", tf->name_len, tf->name,
                      tf->source_ended ? "ended with its source" : "stopped",
                      tf->converted, tf->conv_dropped);
        ngx_ams_reader_close(&tf->reader);
        tf->reader_open = 0;
    }

    if (tf->stopping) {
        ngx_ams_audio_transform_finish(tf);
        return;
    }

    if (tf->producer_ended) {
        ngx_ams_audio_transform_release(tf);
        return;
    }

    ngx_ams_audio_transform_schedule(tf);
}


/* Context: the loop; the bus asks (REST delete, _stop from any worker) */

static void
ngx_ams_audio_transform_src_stop(ngx_ams_source_t *src)
{
    ngx_ams_audio_transform_t  *tf = src->data;

    if (tf->stopping) {
        return;
    }

    tf->stopping = 1;

    if (tf->as_publisher && tf->reader_open) {
        /* stopping the stream its users know stops the raw one behind
         * it, and so its publisher */
        (void) ngx_ams_reader_request(&tf->reader, NGX_AMS_REQUEST_STOP);
    }

    if (tf->retry.timer_set) {
        ngx_del_timer(&tf->retry);
    }

    if (tf->writer) {
        /* unpublishes: the task's next push says CLOSED */
        ngx_ams_writer_close(tf->writer);
        tf->writer = NULL;
    }

    if (tf->busy) {
        return;        /* "done" finishes */
    }

    ngx_ams_audio_transform_finish(tf);
}


/* Context: the loop, stopping, no task running: the loop is the
 * producer now */

static void
ngx_ams_audio_transform_finish(ngx_ams_audio_transform_t *tf)
{
    if (!tf->producer_ended) {
        if (tf->conv) {
            tf->conv_dropped += ngx_ams_audio_conv_dropped(tf->conv);
            ngx_ams_audio_conv_destroy(tf->conv);
            tf->conv = NULL;
        }

        ngx_ams_handoff_end(tf->handoff);
        tf->handoff = NULL;
        tf->producer_ended = 1;
    }

    if (tf->reader_open) {
        ngx_log_error(NGX_LOG_INFO, &tf->log, 0,
                      "ams audio: \"%*s\" stopped after %uL audio frames, "
                      "%uL dropped", tf->name_len, tf->name, tf->converted,
                      tf->conv_dropped);
        ngx_ams_reader_close(&tf->reader);
        tf->reader_open = 0;
    }

    ngx_ams_audio_transform_release(tf);
}


/* a new reader of the rendition wants a keyframe: the source's */

static void
ngx_ams_audio_transform_src_keyframe(ngx_ams_source_t *src)
{
    ngx_ams_audio_transform_t  *tf = src->data;

    if (tf->reader_open) {
        (void) ngx_ams_reader_request(&tf->reader, NGX_AMS_REQUEST_KEYFRAME);
    }
}


/* the producer ended and the rendition was unpublished */

static void
ngx_ams_audio_transform_writer_done(void *data)
{
    ngx_ams_audio_transform_t  *tf = data;

    tf->writer = NULL;

    if (!tf->busy) {
        ngx_ams_audio_transform_release(tf);
    }
}


static void
ngx_ams_audio_transform_release(ngx_ams_audio_transform_t *tf)
{
    if (tf->busy || !tf->producer_ended || tf->writer) {
        return;
    }

    if (tf->reader_open) {
        ngx_ams_reader_close(&tf->reader);
        tf->reader_open = 0;
    }

    if (tf->retry.timer_set) {
        ngx_del_timer(&tf->retry);
    }

    if (tf->queue.next) {
        ngx_queue_remove(&tf->queue);
    }

    ngx_free(tf->frame);
    ngx_free(tf->task);
    ngx_free(tf);
}
