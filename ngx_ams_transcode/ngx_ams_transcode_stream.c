
/*
 * Copyright (C) nginx-ams authors
 *
 * The transcoder's streams (the module and its settings are
 * ngx_ams_transcode_module.c): per live stream, decode once, scale once
 * per rung, encode each rung, publish each rung back into the bus.  The
 * codec work runs in its own thread pool, one task in flight per stream,
 * so codec state stays ordered and several streams use several threads.
 *
 * In the publishing worker the transcoder follows each publisher's
 * stream of an application with encoder_settings (never a relay: an edge
 * pulls the rungs like any stream; never a rendition) with an immediate
 * reader.  Once the stream's picture size is known (the publisher sets
 * it from the avcC or onMetaData) the rungs are published from this
 * worker, so each rung's packager runs beside its parent's, each with a
 * writer (ngx_ams_writer_create) whose hand-off queue the task fills.
 * Rungs taller than the source are left out unless forceEncode.
 *
 * Backpressure: a task that finds more than encoder_queue frames waiting
 * on the bus drops video before decoding it (never blocking ingest, whose
 * ring simply moves on), until a source keyframe finds the queue under
 * half that bound, where decoding resumes: IDRs stay aligned.  Counted in
 * the node's stats (encoders-blocked, dropFrameCountInEncoding, the
 * encoder queue) for REST and /metrics.
 *
 * Latency: each wake-up notes (the ring's write sequence, the time); a
 * frame's arrival is the first wake-up that saw it, and the engine times
 * it until every rung has encoded it.  The figures are logged when the
 * stream ends.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <time.h>

#include "ngx_ams_core.h"
#include "ngx_ams_transcode.h"
#include "ngx_ams_transcode_engine.h"
#include "ngx_ams_transcode_stream.h"


#define NGX_AMS_TC_TASK_FRAMES   64        /* frames per task at most */
#define NGX_AMS_TC_WAKES         256       /* wake-ups noted, a power of 2 */
#define NGX_AMS_TC_RUNG_QUEUE    (2 * 1024 * 1024)  /* at least */
#define NGX_AMS_TC_RETRY         20        /* ms, a post the pool refused */


typedef struct ngx_ams_tc_stream_s  ngx_ams_tc_stream_t;


typedef struct {
    ngx_ams_tc_stream_t             *ts;
    ngx_ams_rung_t                   conf;
    ngx_ams_source_t                 source;
    ngx_ams_stream_t                *stream;
    ngx_ams_writer_t                *writer;      /* the loop's */
    ngx_ams_handoff_t               *queue;       /* the task's, NULL once
                                                     ended */
    size_t                           name_len;
    u_char                           name[NGX_AMS_NAME_LEN];
} ngx_ams_tc_out_t;


struct ngx_ams_tc_stream_s {
    ngx_ams_reader_t                 reader;
    ngx_ams_app_conf_t              *app;
    ngx_ams_transcode_app_conf_t     conf;        /* as at publish */
    ngx_pool_t                      *pool;
    ngx_log_t                        log;
    ngx_thread_task_t               *task;
    ngx_event_t                      retry;       /* a refused post */
    ngx_ams_tc_t                    *tc;
    uint8_t                         *frame;
    size_t                           frame_size;

    ngx_uint_t                       nrungs;
    ngx_ams_tc_out_t                 rung[NGX_AMS_LADDER_MAX];
    ngx_uint_t                       writers;     /* not yet done */

    size_t                           name_len;
    u_char                           name[NGX_AMS_NAME_LEN];
    char                             publish_type[8];

    /* wake-ups: written by the loop, read by the task */
    uint64_t                         wake_seq[NGX_AMS_TC_WAKES];
    int64_t                          wake_time[NGX_AMS_TC_WAKES];
    uint64_t                         wake_tail;   /* the loop's */
    uint64_t                         wake_head;   /* the task's */

    /* the task's */
    uint64_t                         queue_reported;
    uint64_t                         dropped;
    ngx_uint_t                       dropping;

    ngx_queue_t                      queue;       /* this worker's */

    unsigned                         started:1;   /* rungs published */
    unsigned                         busy:1;
    unsigned                         closing:1;   /* shutdown teardown */
    unsigned                         counted:1;   /* transcoded_streams */

    /* set by the task (not a bit field: the loop reads the bits beside
     * it meanwhile) */
    ngx_uint_t                       finished;    /* the task saw END */
};


static ngx_int_t ngx_ams_transcode_publish(ngx_ams_stream_t *st,
    ngx_ams_app_conf_t *app, ngx_log_t *log);
static void ngx_ams_transcode_unpublish(ngx_ams_stream_t *st,
    ngx_log_t *log);
static void ngx_ams_transcode_wake(ngx_ams_reader_t *rd);
static void ngx_ams_transcode_schedule(ngx_ams_tc_stream_t *ts);
static void ngx_ams_transcode_retry(ngx_event_t *ev);
static void ngx_ams_transcode_end_queues(ngx_ams_tc_stream_t *ts);
static ngx_int_t ngx_ams_transcode_start(ngx_ams_tc_stream_t *ts);
static void ngx_ams_transcode_rung_stop(ngx_ams_source_t *src);
static void ngx_ams_transcode_rung_done(void *data);
static void ngx_ams_transcode_thread(void *data, ngx_log_t *log);
static void ngx_ams_transcode_out(void *data, unsigned rung,
    const ngx_ams_handoff_msg_t *msg);
static int64_t ngx_ams_transcode_arrival(ngx_ams_tc_stream_t *ts,
    uint64_t seq);
static void ngx_ams_transcode_queue_gauge(ngx_ams_tc_stream_t *ts,
    uint64_t backlog);
static void ngx_ams_transcode_done(ngx_event_t *ev);
static void ngx_ams_transcode_log_messages(ngx_ams_tc_stream_t *ts);
static void ngx_ams_transcode_finish(ngx_ams_tc_stream_t *ts);
static void ngx_ams_transcode_teardown(ngx_ams_tc_stream_t *ts);
static void ngx_ams_transcode_free(ngx_ams_tc_stream_t *ts);
static void ngx_ams_transcode_destroy_engine(ngx_ams_tc_t *tc);
static void ngx_ams_transcode_destroy_thread(void *data, ngx_log_t *log);
static void ngx_ams_transcode_destroy_done(ngx_event_t *ev);
static int64_t ngx_ams_transcode_now(void);


static ngx_ams_publish_pt    ngx_ams_transcode_next_publish;
static ngx_ams_unpublish_pt  ngx_ams_transcode_next_unpublish;
static ngx_queue_t           ngx_ams_transcode_streams;


/* Context: the transcoder's create_conf (after the core's, which reset
 * the chains) */

void
ngx_ams_transcode_stream_hook(void)
{
    ngx_ams_transcode_next_publish = ngx_ams_publish_handler;
    ngx_ams_publish_handler = ngx_ams_transcode_publish;

    ngx_ams_transcode_next_unpublish = ngx_ams_unpublish_handler;
    ngx_ams_unpublish_handler = ngx_ams_transcode_unpublish;
}


void
ngx_ams_transcode_stream_init(void)
{
    ngx_queue_init(&ngx_ams_transcode_streams);
}


static int64_t
ngx_ams_transcode_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


/* Context: publish chain, in the publishing worker */

static ngx_int_t
ngx_ams_transcode_publish(ngx_ams_stream_t *st, ngx_ams_app_conf_t *app,
    ngx_log_t *log)
{
    ngx_pool_t                    *pool;
    ngx_ams_tc_stream_t           *ts;
    ngx_ams_transcode_app_conf_t  *conf;

    conf = ngx_ams_app_get_module_conf(app, ngx_ams_transcode_module);

    if (conf == NULL || conf->ladder.n == 0
        || st->source_kind != NGX_AMS_SOURCE_PUBLISHER)
    {
        return ngx_ams_transcode_next_publish(st, app, log);
    }

    if (ngx_ams_transcode_pool() == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ams transcode: no thread pool (transcode_thread_pool "
                      "or the ams block's thread_pool): \"%*s\" is not "
                      "transcoded", st->name_len, st->name);
        return ngx_ams_transcode_next_publish(st, app, log);
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    ts = ngx_pcalloc(pool, sizeof(ngx_ams_tc_stream_t));
    if (ts == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    ts->pool = pool;
    ts->app = app;
    ts->conf = *conf;
    ts->log = *ngx_cycle->log;
    ts->name_len = ngx_min(st->name_len, NGX_AMS_NAME_LEN);
    ngx_memcpy(ts->name, st->name, ts->name_len);
    ngx_memcpy(ts->publish_type, st->publish_type,
               sizeof(ts->publish_type) - 1);
    ngx_queue_init(&ts->queue);

    ts->task = ngx_thread_task_alloc(pool, 0);
    if (ts->task == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    ts->task->ctx = ts;
    ts->task->handler = ngx_ams_transcode_thread;
    ts->task->event.data = ts;
    ts->task->event.handler = ngx_ams_transcode_done;
    ts->task->event.log = &ts->log;

    ts->retry.handler = ngx_ams_transcode_retry;
    ts->retry.data = ts;
    ts->retry.log = &ts->log;
    ts->retry.cancelable = 1;

    /* every frame, at once: an encoder's latency adds to the viewer's */
    ts->reader.latency = NGX_AMS_LATENCY_IMMEDIATE;
    ts->reader.handler = ngx_ams_transcode_wake;
    ts->reader.data = ts;

    if (ngx_ams_reader_open_stream(&ts->reader, st, log) != NGX_OK) {
        ngx_destroy_pool(pool);
        return ngx_ams_transcode_next_publish(st, app, log);
    }

    ts->frame_size = ngx_ams_reader_max_frame(&ts->reader);
    ts->frame = ngx_alloc(ts->frame_size, log);
    if (ts->frame == NULL) {
        ngx_ams_reader_close(&ts->reader);
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    ngx_queue_insert_tail(&ngx_ams_transcode_streams, &ts->queue);

    return ngx_ams_transcode_next_publish(st, app, log);
}


/* Context: event loop, when the bus has news or the stream ended */

static void
ngx_ams_transcode_wake(ngx_ams_reader_t *rd)
{
    uint64_t              tail, head;
    ngx_ams_ring_t       *ring;
    ngx_ams_tc_stream_t  *ts = rd->data;

    /* the time this wake-up saw the ring up to its write sequence */
    if (rd->open) {
        ring = __atomic_load_n(&rd->stream->ring, __ATOMIC_ACQUIRE);
        tail = ts->wake_tail;
        head = __atomic_load_n(&ts->wake_head, __ATOMIC_ACQUIRE);

        if (tail - head < NGX_AMS_TC_WAKES) {
            ts->wake_seq[tail % NGX_AMS_TC_WAKES] =
                __atomic_load_n(&ring->write_seq, __ATOMIC_ACQUIRE);
            ts->wake_time[tail % NGX_AMS_TC_WAKES] =
                ngx_ams_transcode_now();
            __atomic_store_n(&ts->wake_tail, tail + 1, __ATOMIC_RELEASE);
        }
    }

    ngx_ams_transcode_schedule(ts);
}


static void
ngx_ams_transcode_schedule(ngx_ams_tc_stream_t *ts)
{
    ngx_ams_stream_t  *st;

    /* while a task runs it owns the reader; "done" schedules again */
    if (ts->busy || ts->finished || ts->closing) {
        return;
    }

    st = ts->reader.stream;

    if (!ts->started) {
        if (st->state == NGX_AMS_STREAM_ACTIVE && st->height == 0) {
            /* the rungs wait for the picture's size */
            return;
        }

        if (st->state != NGX_AMS_STREAM_ACTIVE
            || ngx_ams_transcode_start(ts) != NGX_OK)
        {
            ngx_ams_transcode_finish(ts);
            return;
        }
    }

    if (!ngx_ams_reader_has_news(&ts->reader)
        && st->state == NGX_AMS_STREAM_ACTIVE)
    {
        return;
    }

    ts->busy = 1;

    if (ts->retry.timer_set) {
        ngx_del_timer(&ts->retry);
    }

    if (ngx_thread_task_post(ngx_ams_transcode_pool(), ts->task) != NGX_OK) {
        /* the pool's queue is full: again soon, whether or not the bus
         * wakes the reader again (END comes once) */
        ts->busy = 0;
        ngx_add_timer(&ts->retry, NGX_AMS_TC_RETRY);
    }
}


static void
ngx_ams_transcode_retry(ngx_event_t *ev)
{
    ngx_ams_transcode_schedule(ev->data);
}


/*
 * The rungs, once the source's height is known: each a rendition source
 * of this worker with a writer, and the engine for those published.
 */

static ngx_int_t
ngx_ams_transcode_start(ngx_ams_tc_stream_t *ts)
{
    char                   suffix[32], err[160];
    u_char                *p;
    ngx_int_t              rc;
    ngx_str_t              name;
    ngx_uint_t             i;
    ngx_ams_rung_t         rungs[NGX_AMS_LADDER_MAX];
    ngx_ams_stream_t      *st;
    ngx_ams_tc_out_t      *r;
    ngx_ams_tc_opts_t      opts;
    ngx_ams_node_stats_t  *ns;

    st = ts->reader.stream;
    ts->started = 1;

    /* above cpu_limit or memory_limit a node takes no new work: the
     * stream goes on untranscoded */
    ns = ngx_ams_bus_node_stats();
    if (ns && ns->overloaded) {
        ngx_log_error(NGX_LOG_WARN, &ts->log, 0,
                      "ams transcode: \"%*s\" not transcoded: high "
                      "resource usage (%s)", ts->name_len, ts->name,
                      ns->overloaded == 1 ? "cpu_limit" : "memory_limit");
        return NGX_DECLINED;
    }

    for (i = 0; i < ts->conf.ladder.n; i++) {
        r = &ts->rung[ts->nrungs];
        r->conf = ts->conf.ladder.rung[i];

        if (r->conf.height > st->height && !r->conf.force) {
            ngx_log_error(NGX_LOG_INFO, &ts->log, 0,
                          "ams transcode: \"%*s\": no %uDp rung for a %uDp "
                          "source (forceEncode makes one)",
                          ts->name_len, ts->name, r->conf.height,
                          st->height);
            continue;
        }

        ngx_ams_ladder_rung_suffix(&r->conf, suffix, sizeof(suffix));

        p = ngx_snprintf(r->name, NGX_AMS_NAME_LEN, "%*s_%s",
                         ts->name_len, ts->name, suffix);
        r->name_len = p - r->name;

        if (r->name_len >= NGX_AMS_NAME_LEN) {
            ngx_log_error(NGX_LOG_ERR, &ts->log, 0,
                          "ams transcode: \"%*s\": rung name too long",
                          ts->name_len, ts->name);
            continue;
        }

        r->ts = ts;
        r->source.kind = NGX_AMS_SOURCE_RENDITION;
        r->source.publish_type = ts->publish_type;
        r->source.parent.data = ts->name;
        r->source.parent.len = ts->name_len;
        r->source.stop = ngx_ams_transcode_rung_stop;
        r->source.data = r;

        name.data = r->name;
        name.len = r->name_len;

        rc = ngx_ams_bus_publish(ts->app, &name, &r->source, &ts->log,
                                 &r->stream);
        if (rc != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, &ts->log, 0,
                          "ams transcode: rung \"%V\" not published%s",
                          &name, rc == NGX_BUSY ? ": the name is live" : "");
            continue;
        }

        /* room for two of the largest frames the bus takes, as the
         * audio transform sizes its own: a tall rung's IDR fits */
        r->writer = ngx_ams_writer_create(r->stream,
                                          ngx_max(NGX_AMS_TC_RUNG_QUEUE,
                                                  2 * ts->frame_size
                                                  + 64 * 1024),
                                          ngx_ams_transcode_rung_done, r,
                                          &ts->log);
        if (r->writer == NULL) {
            ngx_ams_bus_unpublish(r->stream, &ts->log);
            continue;
        }

        r->queue = ngx_ams_writer_queue(r->writer);
        rungs[ts->nrungs] = r->conf;
        ts->nrungs++;
        ts->writers++;
    }

    if (ts->nrungs == 0) {
        return NGX_DECLINED;
    }

    ngx_memzero(&opts, sizeof(opts));
    opts.encoder = (char *) ts->conf.encoder.data;
    opts.preset = (char *) ts->conf.preset.data;
    opts.profile = (char *) ts->conf.profile.data;
    opts.tune = (char *) ts->conf.tune.data;
    opts.keyint_ms = (unsigned) ts->conf.keyint;
    opts.threads = (unsigned) ts->conf.threads;

    ts->tc = ngx_ams_tc_create(&opts, rungs, (unsigned) ts->nrungs,
                               ngx_ams_transcode_out, ts, err, sizeof(err));
    if (ts->tc == NULL) {
        ngx_log_error(NGX_LOG_ERR, &ts->log, 0,
                      "ams transcode: \"%*s\": %s", ts->name_len, ts->name,
                      err);

        /* the rungs end at once */
        for (i = 0; i < ts->nrungs; i++) {
            ngx_ams_handoff_end(ts->rung[i].queue);
            ts->rung[i].queue = NULL;
        }

        return NGX_DECLINED;
    }

    ngx_ams_tc_set_clock(ts->tc, ngx_ams_transcode_now);

    if (ns) {
        (void) ngx_atomic_fetch_add(&ns->transcoded_streams, 1);
        ts->counted = 1;
    }

    ngx_log_error(NGX_LOG_INFO, &ts->log, 0,
                  "ams transcode: \"%*s\" (%uDx%uD): %ui rungs with %V",
                  ts->name_len, ts->name, st->width, st->height,
                  ts->nrungs, &ts->conf.encoder);

    return NGX_OK;
}


/* a rung's source asked to stop (REST's delete of the rung) */

static void
ngx_ams_transcode_rung_stop(ngx_ams_source_t *src)
{
    ngx_ams_tc_out_t  *r = src->data;

    if (r->writer == NULL) {
        return;
    }

    /* the task's next push finds the queue closed and ends it */
    ngx_ams_writer_close(r->writer);
    r->writer = NULL;
    r->ts->writers--;

    if (r->ts->writers == 0 && r->ts->finished && !r->ts->busy) {
        ngx_ams_transcode_free(r->ts);
    }
}


/* a rung's queue delivered its end: the rung stream was unpublished */

static void
ngx_ams_transcode_rung_done(void *data)
{
    ngx_ams_tc_out_t  *r = data;

    r->writer = NULL;
    r->ts->writers--;

    if (r->ts->writers == 0 && r->ts->finished && !r->ts->busy
        && !r->ts->closing)
    {
        ngx_ams_transcode_free(r->ts);
    }
}


/*
 * Context: thread pool.  Reads what there is (at most a batch, so the
 * counters move), drops video while the stream is behind, hands the rest
 * to the engine.
 */

static void
ngx_ams_transcode_thread(void *data, ngx_log_t *log)
{
    uint64_t               backlog;
    ngx_uint_t             n, i;
    ngx_ams_bus_event_t    ev;
    ngx_ams_tc_stream_t   *ts = data;
    ngx_ams_node_stats_t  *ns;

    ns = ngx_ams_bus_node_stats();
    n = 0;
    backlog = 0;

    while (n < NGX_AMS_TC_TASK_FRAMES
           && ngx_ams_reader_read(&ts->reader, &ev, ts->frame,
                                  ts->frame_size)
              == NGX_OK)
    {
        switch (ev.type) {

        case NGX_AMS_EVENT_CONFIG:
            if (ev.track != NGX_AMS_TRACK_DATA && ev.len) {
                ngx_ams_tc_config(ts->tc, ev.track, ev.codec, ev.data,
                                  ev.len);
            }

            break;

        case NGX_AMS_EVENT_FRAME:
            n++;

            if (ev.frame.track != NGX_AMS_TRACK_VIDEO) {
                ngx_ams_tc_frame(ts->tc, &ev.frame, ev.data, 0);
                break;
            }

            backlog = ngx_ams_reader_backlog(&ts->reader);

            if (!ts->dropping && backlog > ts->conf.queue) {
                ts->dropping = 1;

                if (ns) {
                    (void) ngx_atomic_fetch_add(&ns->encoders_blocked, 1);
                }
            }

            if (ts->dropping) {
                if ((ev.frame.flags & NGX_AMS_FRAME_KEY)
                    && backlog <= ts->conf.queue / 2)
                {
                    /* caught up, at a keyframe: IDRs stay aligned */
                    ts->dropping = 0;
                    ngx_ams_tc_resync(ts->tc);

                    if (ns) {
                        (void) ngx_atomic_fetch_add(&ns->encoders_blocked,
                                                    (ngx_atomic_int_t) -1);
                    }

                } else {
                    ts->dropped++;

                    if (ns) {
                        (void) ngx_atomic_fetch_add(
                                                &ns->encode_dropped_frames, 1);
                    }

                    break;
                }
            }

            ngx_ams_tc_frame(ts->tc, &ev.frame, ev.data,
                             ngx_ams_transcode_arrival(ts, ev.frame.seq));
            break;

        case NGX_AMS_EVENT_SKIP:
            /* overrun: the ring moved on without us */
            ts->dropped += ev.dropped;

            if (ns) {
                (void) ngx_atomic_fetch_add(&ns->encode_dropped_frames,
                                            ev.dropped);
            }

            ngx_ams_tc_resync(ts->tc);
            break;

        case NGX_AMS_EVENT_END:
            ngx_ams_tc_flush(ts->tc, ngx_ams_transcode_now());

            for (i = 0; i < ts->nrungs; i++) {
                if (ts->rung[i].queue) {
                    ngx_ams_handoff_end(ts->rung[i].queue);
                    ts->rung[i].queue = NULL;
                }
            }

            ts->finished = 1;
            backlog = 0;
            goto done;

        default:
            break;
        }
    }

    backlog = ngx_ams_reader_backlog(&ts->reader);

    /* every rung gone (encoders that did not open, rungs stopped): the
     * stream goes on untranscoded */
    for (i = 0; i < ts->nrungs; i++) {
        if (ts->rung[i].queue) {
            break;
        }
    }

    if (i == ts->nrungs) {
        ts->finished = 1;
        backlog = 0;
    }

done:

    ngx_ams_transcode_queue_gauge(ts, backlog);
}


/* Context: thread pool, from the engine */

static void
ngx_ams_transcode_out(void *data, unsigned i,
    const ngx_ams_handoff_msg_t *msg)
{
    int                    rc;
    ngx_ams_frame_t        f;
    ngx_ams_tc_out_t      *r;
    ngx_ams_tc_stream_t   *ts = data;
    ngx_ams_node_stats_t  *ns;

    r = &ts->rung[i];

    if (r->queue == NULL) {
        return;
    }

    switch (msg->kind) {

    case NGX_AMS_HANDOFF_EOS:
        /* its encoder did not open: the stream goes on without it */
        ns = ngx_ams_bus_node_stats();
        if (ns) {
            (void) ngx_atomic_fetch_add(&ns->encoders_not_opened, 1);
        }

        ngx_ams_handoff_end(r->queue);
        r->queue = NULL;
        return;

    case NGX_AMS_HANDOFF_CONFIG:
        rc = ngx_ams_handoff_push_config(r->queue, msg->track, msg->codec,
                                         msg->data, msg->len);
        break;

    default:
        f = msg->frame;
        f.size = msg->len;
        rc = ngx_ams_handoff_push_frame(r->queue, &f, msg->data);
        break;
    }

    if (rc == NGX_AMS_HANDOFF_CLOSED) {
        /* the rung was stopped: no more work for it */
        ngx_ams_handoff_end(r->queue);
        r->queue = NULL;
        ngx_ams_tc_rung_stop(ts->tc, i);
    }
}


/* Context: thread pool.  The first wake-up that saw frame "seq". */

static int64_t
ngx_ams_transcode_arrival(ngx_ams_tc_stream_t *ts, uint64_t seq)
{
    uint64_t  head, tail;

    head = ts->wake_head;
    tail = __atomic_load_n(&ts->wake_tail, __ATOMIC_ACQUIRE);

    while (head < tail && ts->wake_seq[head % NGX_AMS_TC_WAKES] <= seq) {
        head++;
    }

    __atomic_store_n(&ts->wake_head, head, __ATOMIC_RELEASE);

    if (head < tail) {
        return ts->wake_time[head % NGX_AMS_TC_WAKES];
    }

    return ngx_ams_transcode_now();
}


/* the node's frames waiting for encoders: this stream's share */

static void
ngx_ams_transcode_queue_gauge(ngx_ams_tc_stream_t *ts, uint64_t backlog)
{
    ngx_ams_node_stats_t  *ns;

    ns = ngx_ams_bus_node_stats();

    if (ns == NULL || backlog == ts->queue_reported) {
        return;
    }

    (void) ngx_atomic_fetch_add(&ns->encoder_queue,
                                (ngx_atomic_int_t) (backlog
                                                    - ts->queue_reported));
    ts->queue_reported = backlog;
}


/* Context: event loop, after a task */

static void
ngx_ams_transcode_done(ngx_event_t *ev)
{
    ngx_ams_tc_stream_t  *ts = ev->data;

    ts->busy = 0;

    ngx_ams_transcode_log_messages(ts);

    if (ts->closing) {
        /* torn down on shutdown while this task was out */
        ngx_ams_transcode_end_queues(ts);
        ngx_ams_transcode_finish(ts);
        return;
    }

    if (ts->finished) {
        ngx_ams_transcode_finish(ts);
        return;
    }

    ngx_ams_transcode_schedule(ts);
}


static void
ngx_ams_transcode_log_messages(ngx_ams_tc_stream_t *ts)
{
    unsigned  i, n;
    char      msgs[NGX_AMS_TC_MSGS][NGX_AMS_TC_MSG_LEN];

    if (ts->tc == NULL) {
        return;
    }

    n = ngx_ams_tc_messages(ts->tc, msgs);

    for (i = 0; i < n; i++) {
        ngx_log_error(NGX_LOG_WARN, &ts->log, 0,
                      "ams transcode: \"%*s\": %s", ts->name_len, ts->name,
                      msgs[i]);
    }
}


/*
 * The source ended and the task drained it (or it never started): the
 * figures, the reader closed; the rungs' queues end on their own, and the
 * last writer's "done" frees the stream.
 */

static void
ngx_ams_transcode_finish(ngx_ams_tc_stream_t *ts)
{
    double                 median, p99;
    ngx_ams_tc_stats_t     s;
    ngx_ams_node_stats_t  *ns;

    ts->finished = 1;

    if (ts->tc) {
        ngx_ams_tc_stats(ts->tc, &s);

        if (ngx_ams_tc_latency(ts->tc, &median, &p99) != 0) {
            median = 0;
            p99 = 0;
        }

        ngx_log_error(NGX_LOG_NOTICE, &ts->log, 0,
                      "ams transcode: \"%*s\" ended: %uL frames decoded, "
                      "%uL encoded on %ui rungs, %uL dropped behind, "
                      "%uL decode errors, %uL concealed, %uL waited for "
                      "a keyframe, %uL encoders re-opened; latency median "
                      "%.0f ms p99 %.0f ms (%uL frames)",
                      ts->name_len, ts->name, s.decoded, s.encoded,
                      ts->nrungs, (uint64_t) ts->dropped, s.decode_errors,
                      s.concealed, s.resync_dropped, s.reopened, median, p99,
                      s.latency_samples);
    }

    if (ts->dropping) {
        ns = ngx_ams_bus_node_stats();
        if (ns) {
            (void) ngx_atomic_fetch_add(&ns->encoders_blocked,
                                        (ngx_atomic_int_t) -1);
        }

        ts->dropping = 0;
    }

    ngx_ams_transcode_queue_gauge(ts, 0);

    if (ts->reader.open || ts->reader.waiting) {
        ngx_ams_reader_close(&ts->reader);
    }

    if (ts->writers == 0 && !ts->busy) {
        ngx_ams_transcode_free(ts);
    }
}


/*
 * Context: unpublish chain.  A normal end reaches the transcoder as the
 * reader's END.  On shutdown the worker exits and no task will run: the
 * parent's rungs end here, synchronously.
 */

static void
ngx_ams_transcode_unpublish(ngx_ams_stream_t *st, ngx_log_t *log)
{
    ngx_queue_t          *q;
    ngx_ams_tc_stream_t  *ts;

    if (st->end_reason == NGX_AMS_END_SHUTDOWN
        && st->source_kind == NGX_AMS_SOURCE_PUBLISHER
        && ngx_queue_next(&ngx_ams_transcode_streams))
    {
        for (q = ngx_queue_head(&ngx_ams_transcode_streams);
             q != ngx_queue_sentinel(&ngx_ams_transcode_streams);
             q = ngx_queue_next(q))
        {
            ts = ngx_queue_data(q, ngx_ams_tc_stream_t, queue);

            if (ts->reader.open && ts->reader.stream == st && !ts->closing) {
                ngx_ams_transcode_teardown(ts);
                break;
            }
        }
    }

    ngx_ams_transcode_next_unpublish(st, log);
}


static void
ngx_ams_transcode_teardown(ngx_ams_tc_stream_t *ts)
{
    ngx_uint_t         i;
    ngx_ams_tc_out_t  *r;

    ts->closing = 1;

    if (ts->retry.timer_set) {
        ngx_del_timer(&ts->retry);
    }

    for (i = 0; i < ts->nrungs; i++) {
        r = &ts->rung[i];

        if (r->writer) {
            /* unpublishes the rung now, before the core reaches it; the
             * hand-off is counted, a task's pushes find it CLOSED */
            ngx_ams_writer_close(r->writer);
            r->writer = NULL;
            ts->writers--;
        }
    }

    if (ts->busy) {
        /* the task owns the queues and the reader: never wait for it on
         * the loop, its "done" (if it comes) finishes */
        return;
    }

    ngx_ams_transcode_end_queues(ts);
    ngx_ams_transcode_finish(ts);
}


/* Context: the loop, no task out: the loop is the producer now */

static void
ngx_ams_transcode_end_queues(ngx_ams_tc_stream_t *ts)
{
    ngx_uint_t  i;

    for (i = 0; i < ts->nrungs; i++) {
        if (ts->rung[i].queue) {
            ngx_ams_handoff_end(ts->rung[i].queue);
            ts->rung[i].queue = NULL;
        }
    }
}


static void
ngx_ams_transcode_free(ngx_ams_tc_stream_t *ts)
{
    ngx_ams_node_stats_t  *ns;

    if (ts->counted) {
        ns = ngx_ams_bus_node_stats();
        if (ns) {
            (void) ngx_atomic_fetch_add(&ns->transcoded_streams,
                                        (ngx_atomic_int_t) -1);
        }

        ts->counted = 0;
    }

    if (ts->tc) {
        ngx_ams_transcode_destroy_engine(ts->tc);
        ts->tc = NULL;
    }

    if (ngx_queue_next(&ts->queue)) {
        ngx_queue_remove(&ts->queue);
    }

    if (ts->retry.timer_set) {
        ngx_del_timer(&ts->retry);
    }

    if (ts->frame) {
        ngx_free(ts->frame);
    }

    ngx_destroy_pool(ts->pool);
}


/*
 * The engine is freed in the pool: closing an encoder joins its threads
 * (x264's lookahead and frame threads), not for the event loop to wait
 * on.  Where no task can be posted, here; so in an exiting worker too,
 * whose pools may be gone already (the core unpublishes in its
 * exit_process, after the thread pools' own).
 */

static void
ngx_ams_transcode_destroy_engine(ngx_ams_tc_t *tc)
{
    ngx_thread_task_t  *task;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        ngx_ams_tc_destroy(tc);
        return;
    }

    task = ngx_calloc(sizeof(ngx_thread_task_t), ngx_cycle->log);

    if (task) {
        task->ctx = tc;
        task->handler = ngx_ams_transcode_destroy_thread;
        task->event.data = task;
        task->event.handler = ngx_ams_transcode_destroy_done;
        task->event.log = ngx_cycle->log;

        if (ngx_thread_task_post(ngx_ams_transcode_pool(), task) == NGX_OK) {
            return;
        }

        ngx_free(task);
    }

    ngx_ams_tc_destroy(tc);
}


/* Context: thread pool */

static void
ngx_ams_transcode_destroy_thread(void *data, ngx_log_t *log)
{
    ngx_ams_tc_destroy(data);
}


static void
ngx_ams_transcode_destroy_done(ngx_event_t *ev)
{
    ngx_free(ev->data);
}
