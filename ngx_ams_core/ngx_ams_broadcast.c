
/*
 * Copyright (C) nginx-ams authors
 *
 * Broadcast records: the lifecycle of a stream in the store, following
 * the publish and unpublish chains.  What a stream writes depends on its
 * source: a publisher owns its record (status, originAdress, figures); a
 * relay (an edge pulling from an origin) only adds its viewers, never
 * taking the record from the origin that owns it; a transcoder's rung
 * has no record of its own, as in Ant Media Server.
 *
 * The publishing worker owns the record of each stream it publishes.  One
 * timer per worker, each second, collects the streams due for their 10 s
 * refresh and writes them in one transaction, so 500 streams cost 50 row
 * updates a second in a handful of thread-pool tasks.
 *
 * A record that a publish made (no REST call created it) is a "zombi",
 * as in Ant Media Server: it is deleted when its stream ends, however it
 * ends, so publishing any name does not leave a record of each forever.
 * A stream ends in one of three ways (st->end_reason): its source left
 * (the record is finished, in the store's thread pool), its worker is
 * exiting (finished too, written before the worker goes: a clean stop is
 * not a crash), or its worker died (another worker, which knows nothing
 * of the stream but its slot, marks it terminated_unexpectedly).
 *
 * Each publish writes its session into the record ("publishSession",
 * made from the stream's slot, so the worker that sees the publishing
 * worker die knows it too), and its refreshes and end touch only a
 * record of that session (or of none).  The end of one publish and the
 * start of the next one of the same name run in different workers'
 * thread pools, in any order: a late end must not finish, or delete, the
 * next publish's record.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_core.h"
#include "ngx_ams_store.h"
#include "ngx_ams_broadcast.h"
#include "ngx_ams_viewers.h"
#include "ngx_ams_viewer_limits.h"
#include "ngx_ams_log_escape.h"


#define NGX_AMS_BROADCAST_TICK   1000


typedef struct {
    ngx_queue_t               queue;
    ngx_ams_stream_t         *stream;
    ngx_uint_t                generation;
    ngx_ams_app_conf_t       *app;
    ngx_msec_t                refreshed;
    ngx_msec_t                limits_read;   /* the record's viewer limits */
    uint64_t                  bytes;         /* at the last refresh */
    ngx_uint_t                relay;
} ngx_ams_broadcast_local_t;


static void ngx_ams_broadcast_tick(ngx_event_t *ev);
static void ngx_ams_broadcast_read_limits(ngx_log_t *log);
static json_t *ngx_ams_broadcast_figures(ngx_ams_broadcast_local_t *b,
    ngx_msec_t elapsed);
static void ngx_ams_broadcast_post(ngx_ams_store_op_t *op);
static void ngx_ams_broadcast_post_end(ngx_ams_store_op_t *ops);
static void ngx_ams_broadcast_end_done(ngx_ams_store_op_t *ops);
static void ngx_ams_broadcast_end_retry(ngx_event_t *ev);
static ngx_int_t ngx_ams_broadcast_started(ngx_ams_stream_t *st,
    ngx_ams_app_conf_t *app, ngx_log_t *log);
static void ngx_ams_broadcast_ended(ngx_ams_stream_t *st, ngx_log_t *log);
static ngx_ams_store_op_t *ngx_ams_broadcast_end_op(ngx_ams_stream_t *st,
    ngx_ams_broadcast_local_t *b, ngx_str_t *app);
static void ngx_ams_broadcast_end(ngx_ams_stream_t *st, ngx_str_t *app,
    ngx_ams_store_op_t *op, ngx_log_t *log);
static void ngx_ams_broadcast_session(ngx_ams_stream_t *st, char *buf);
static json_t *ngx_ams_broadcast_node_entry(json_t *entry);


static ngx_ams_publish_pt    ngx_ams_broadcast_next_publish;
static ngx_ams_unpublish_pt  ngx_ams_broadcast_next_unpublish;


static ngx_queue_t   ngx_ams_broadcast_local;
static ngx_event_t   ngx_ams_broadcast_timer;


ngx_int_t
ngx_ams_broadcast_init_worker(ngx_cycle_t *cycle)
{
    ngx_queue_init(&ngx_ams_broadcast_local);

    ngx_ams_broadcast_timer.handler = ngx_ams_broadcast_tick;
    ngx_ams_broadcast_timer.log = cycle->log;
    ngx_ams_broadcast_timer.cancelable = 1;

    return NGX_OK;
}


void
ngx_ams_broadcast_init_chains(void)
{
    ngx_ams_broadcast_next_publish = ngx_ams_publish_handler;
    ngx_ams_publish_handler = ngx_ams_broadcast_started;

    ngx_ams_broadcast_next_unpublish = ngx_ams_unpublish_handler;
    ngx_ams_unpublish_handler = ngx_ams_broadcast_ended;
}


static ngx_int_t
ngx_ams_broadcast_started(ngx_ams_stream_t *st, ngx_ams_app_conf_t *app,
    ngx_log_t *log)
{
    json_t                     *set;
    int64_t                     now;
    ngx_str_t                   id;
    char                        session[NGX_AMS_STORE_SESSION_LEN];
    ngx_ams_store_op_t         *op;
    ngx_ams_main_conf_t        *amcf;
    ngx_ams_broadcast_local_t  *b;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    if (st->source_kind == NGX_AMS_SOURCE_RENDITION) {
        return ngx_ams_broadcast_next_publish(st, app, log);
    }

    b = ngx_calloc(sizeof(ngx_ams_broadcast_local_t), log);
    if (b == NULL) {
        return ngx_ams_broadcast_next_publish(st, app, log);
    }

    b->stream = st;
    b->generation = st->generation;
    b->app = app;
    b->refreshed = ngx_current_msec;
    /* the viewer limits are read at the first tick */
    b->limits_read = ngx_current_msec - NGX_AMS_VIEWER_LIMITS_MS;
    b->relay = (st->source_kind == NGX_AMS_SOURCE_RELAY);

    ngx_queue_insert_tail(&ngx_ams_broadcast_local, &b->queue);

    if (!ngx_ams_broadcast_timer.timer_set) {
        ngx_add_timer(&ngx_ams_broadcast_timer, NGX_AMS_BROADCAST_TICK);
    }

    if (b->relay) {
        /* the origin owns the record: refreshes add this node's viewers */
        return ngx_ams_broadcast_next_publish(st, app, log);
    }

    id.data = st->name;
    id.len = st->name_len;

    /* the cycle's log: the publisher's connection may be gone when the
     * operation completes */
    op = ngx_ams_store_op(NGX_AMS_STORE_UPSERT, NGX_AMS_COLL_BROADCAST,
                          &app->name, &id, ngx_cycle->log);
    if (op == NULL) {
        return ngx_ams_broadcast_next_publish(st, app, log);
    }

    now = op->now_ms;

    /* not op->session: this publish takes the record whoever had it */
    ngx_ams_broadcast_session(st, session);

    set = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s#, s:I, s:I, s:I,"
                    " s:I, s:I, s:I, s:I}",
                    "status", NGX_AMS_STATUS_BROADCASTING,
                    "publishSession", session,
                    "publishType", st->publish_type,
                    "startTime", (json_int_t) now,
                    "absoluteStartTimeMs", (json_int_t) now,
                    "updateTime", (json_int_t) now,
                    "originAdress", amcf->node_address.data,
                    (int) amcf->node_address.len,
                    "duration", (json_int_t) 0,
                    "receivedBytes", (json_int_t) 0,
                    "bitrate", (json_int_t) 0,
                    "hlsViewerCount", (json_int_t) 0,
                    "dashViewerCount", (json_int_t) 0,
                    "rtmpViewerCount", (json_int_t) 0,
                    "webRTCViewerCount", (json_int_t) 0);

    op->set = set;
    op->on_insert = ngx_ams_broadcast_new(op->id, now);

    /* no REST call made it: it goes when the stream ends */
    if (op->on_insert
        && json_object_set_new(op->on_insert, "zombi", json_true()) != 0)
    {
        json_decref(op->on_insert);
        op->on_insert = NULL;
    }

    if (set == NULL || op->on_insert == NULL) {
        ngx_ams_store_free(op);

    } else {
        ngx_ams_broadcast_post(op);
    }

    return ngx_ams_broadcast_next_publish(st, app, log);
}


/*
 * Only what makes the id taken: status, originAdress, updateTime.  Not
 * publishSession: a late end of this node's previous publish of the name
 * must still be told apart from the next one's record, and the session is
 * known only once the bus has a slot for the stream.  A claim whose
 * publish never starts (the client left, the bus refused it) leaves the
 * record broadcasting until broadcast_stale_timeout makes it read
 * terminated_unexpectedly (a zombi then stays until the name's next
 * publish or this node's cold start).
 */
ngx_ams_store_op_t *
ngx_ams_broadcast_claim(ngx_str_t *app, ngx_str_t *id, ngx_log_t *log)
{
    ngx_ams_store_op_t   *op;
    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    op = ngx_ams_store_op(NGX_AMS_STORE_CLAIM, NGX_AMS_COLL_BROADCAST, app,
                          id, log);
    if (op == NULL) {
        return NULL;
    }

    ngx_cpystrn((u_char *) op->origin, amcf->node_address.data,
                ngx_min(amcf->node_address.len + 1, sizeof(op->origin)));

    op->set = json_pack("{s:s, s:s#, s:I}",
                        "status", NGX_AMS_STATUS_BROADCASTING,
                        "originAdress", amcf->node_address.data,
                        (int) amcf->node_address.len,
                        "updateTime", (json_int_t) op->now_ms);

    op->on_insert = ngx_ams_broadcast_new(op->id, op->now_ms);

    if (op->on_insert
        && json_object_set_new(op->on_insert, "zombi", json_true()) != 0)
    {
        json_decref(op->on_insert);
        op->on_insert = NULL;
    }

    if (op->set == NULL || op->on_insert == NULL) {
        ngx_ams_store_free(op);
        return NULL;
    }

    return op;
}


static void
ngx_ams_broadcast_ended(ngx_ams_stream_t *st, ngx_log_t *log)
{
    ngx_str_t                   app;
    ngx_queue_t                *q;
    ngx_ams_store_op_t         *op;
    ngx_ams_broadcast_local_t  *b;

    b = NULL;

    for (q = ngx_queue_head(&ngx_ams_broadcast_local);
         q != ngx_queue_sentinel(&ngx_ams_broadcast_local);
         q = ngx_queue_next(q))
    {
        b = ngx_queue_data(q, ngx_ams_broadcast_local_t, queue);

        if (b->stream == st && b->generation == st->generation) {
            break;
        }

        b = NULL;
    }

    app.data = st->app;
    app.len = st->app_len;

    if (b) {
        ngx_queue_remove(&b->queue);
        op = ngx_ams_broadcast_end_op(st, b, &app);
        ngx_free(b);

    } else if (st->end_reason == NGX_AMS_END_WORKER_DIED
               && st->source_kind != NGX_AMS_SOURCE_RENDITION)
    {
        op = ngx_ams_broadcast_end_op(st, NULL, &app);

    } else {
        op = NULL;
    }

    if (op) {
        ngx_ams_broadcast_end(st, &app, op, log);
    }

    ngx_ams_broadcast_next_unpublish(st, log);
}


/*
 * What the end writes.  A publisher's record: finished with its duration
 * and last figures ("b", its worker's state), or terminated_unexpectedly
 * when its worker died (no "b": the figures died with it); a zombi
 * record is then deleted.  A relay: its viewers leave, the record stays.
 */
static ngx_ams_store_op_t *
ngx_ams_broadcast_end_op(ngx_ams_stream_t *st, ngx_ams_broadcast_local_t *b,
    ngx_str_t *app)
{
    json_t              *set;
    ngx_str_t            id;
    ngx_uint_t           relay;
    ngx_ams_store_op_t  *op, *zombi;

    id.data = st->name;
    id.len = st->name_len;

    relay = b ? b->relay : (st->source_kind == NGX_AMS_SOURCE_RELAY);

    /* the cycle's log: the publisher's connection is closing */
    op = ngx_ams_store_op(NGX_AMS_STORE_UPDATE, NGX_AMS_COLL_BROADCAST, app,
                          &id, ngx_cycle->log);
    if (op == NULL) {
        return NULL;
    }

    if (relay) {
        /* this node's entry goes (a JSON merge patch: null removes) */
        set = ngx_ams_broadcast_node_entry(json_null());

    } else if (b) {
        set = ngx_ams_broadcast_figures(b, ngx_current_msec - b->refreshed);

        if (set) {
            json_object_set_new(set, "status",
                                json_string(NGX_AMS_STATUS_FINISHED));
        }

    } else {
        set = json_pack("{s:s, s:I}",
                        "status", NGX_AMS_STATUS_TERMINATED,
                        "updateTime", (json_int_t) op->now_ms);
    }

    if (set && !relay) {
        json_object_set_new(set, "duration", json_integer(
            (json_int_t) (ngx_time() - st->started) * 1000));
        json_object_set_new(set, "hlsViewerCount", json_integer(0));
        json_object_set_new(set, "dashViewerCount", json_integer(0));
        json_object_set_new(set, "rtmpViewerCount", json_integer(0));
        json_object_set_new(set, "webRTCViewerCount", json_integer(0));
        json_object_set_new(set, "bitrate", json_integer(0));
    }

    if (set == NULL) {
        ngx_ams_store_free(op);
        return NULL;
    }

    op->set = set;

    if (relay) {
        return op;
    }

    /* only this publish's record: the next one's may be written already */
    ngx_ams_broadcast_session(st, op->session);

    /* the same transaction: the record ends, then goes if a zombi */
    zombi = ngx_ams_store_op(NGX_AMS_STORE_DELETE, NGX_AMS_COLL_BROADCAST,
                             app, &id, ngx_cycle->log);
    if (zombi) {
        zombi->zombi_only = 1;
        ngx_memcpy(zombi->session, op->session, sizeof(op->session));
        op->next = zombi;
    }

    return op;
}


/*
 * An exiting worker writes now: at NGX_AMS_END_SHUTDOWN its thread pools
 * are gone, and while it exits gracefully nothing would wait for a task
 * (the process may leave before a completion runs).
 */
static void
ngx_ams_broadcast_end(ngx_ams_stream_t *st, ngx_str_t *app,
    ngx_ams_store_op_t *op, ngx_log_t *log)
{
    char  name[NGX_AMS_LOG_ESCAPED_SIZE(NGX_AMS_NAME_LEN)];

    if (st->end_reason == NGX_AMS_END_SHUTDOWN || ngx_exiting) {
        ngx_ams_store_run_now(op);
        return;
    }

    if (st->end_reason == NGX_AMS_END_WORKER_DIED) {
        (void) ngx_ams_log_escape(name, sizeof(name), st->name,
                                  st->name_len);
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "ams broadcast: \"%V/%s\" ended: its worker %P died",
                      app, name, st->writer_pid);
    }

    ngx_ams_broadcast_post_end(op);
}


/*
 * The end of a stream must reach the record even when the store fails
 * for a while (a full disk): a refresh would not fix it later, the stream
 * is gone.  The chain is posted again every few seconds until it is
 * stored, for a few minutes.
 */

#define NGX_AMS_BROADCAST_END_RETRY   5000   /* ms */
#define NGX_AMS_BROADCAST_END_TRIES   60

typedef struct {
    ngx_event_t                retry;
    ngx_ams_store_op_t        *ops;
    ngx_uint_t                 tries;
} ngx_ams_broadcast_ending_t;


static void
ngx_ams_broadcast_post_end(ngx_ams_store_op_t *ops)
{
    ngx_ams_broadcast_ending_t  *e;

    e = ngx_calloc(sizeof(ngx_ams_broadcast_ending_t), ngx_cycle->log);
    if (e == NULL) {
        ngx_ams_broadcast_post(ops);
        return;
    }

    e->ops = ops;
    e->retry.handler = ngx_ams_broadcast_end_retry;
    e->retry.data = e;
    e->retry.log = ngx_cycle->log;
    e->retry.cancelable = 1;

    ops->handler = ngx_ams_broadcast_end_done;
    ops->data = e;

    if (ngx_ams_store_post(ops) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ams broadcast: cannot queue a store update");
        ngx_ams_store_free(ops);
        ngx_free(e);
    }
}


static void
ngx_ams_broadcast_end_done(ngx_ams_store_op_t *ops)
{
    ngx_uint_t                   failed;
    ngx_ams_store_op_t          *op;
    ngx_ams_broadcast_ending_t  *e = ops->data;

    failed = 0;

    for (op = ops; op; op = op->next) {
        if (op->rc == NGX_ERROR) {
            failed = 1;
        }
    }

    if (!failed || ++e->tries >= NGX_AMS_BROADCAST_END_TRIES
        || ngx_exiting || ngx_terminate || ngx_quit)
    {
        if (failed) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "ams broadcast: the end of \"%s/%s\" was not "
                          "recorded after %ui tries", ops->app, ops->id,
                          e->tries);

        } else if (e->tries) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "ams broadcast: the end of \"%s/%s\" is recorded "
                          "now", ops->app, ops->id);
        }

        ngx_ams_store_free(ops);
        ngx_free(e);
        return;
    }

    if (e->tries == 1) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ams broadcast: the end of \"%s/%s\" is not recorded "
                      "yet: trying again every %d s", ops->app, ops->id,
                      NGX_AMS_BROADCAST_END_RETRY / 1000);
    }

    for (op = ops; op; op = op->next) {
        op->rc = NGX_OK;
        op->error[0] = '\0';
        op->cached = 0;

        if (op->doc) {
            json_decref(op->doc);
            op->doc = NULL;
        }
    }

    ngx_add_timer(&e->retry, NGX_AMS_BROADCAST_END_RETRY);
}


static void
ngx_ams_broadcast_end_retry(ngx_event_t *ev)
{
    ngx_ams_broadcast_ending_t  *e = ev->data;

    if (ngx_ams_store_post(e->ops) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "ams broadcast: cannot queue a store update");
        ngx_ams_store_free(e->ops);
        ngx_free(e);
    }
}


/*
 * A publish's session: its slot's generation is unique while the bus
 * lives, its start time and pid tell two runs of the node apart.
 */
static void
ngx_ams_broadcast_session(ngx_ams_stream_t *st, char *buf)
{
    u_char  *p;

    p = ngx_snprintf((u_char *) buf, NGX_AMS_STORE_SESSION_LEN - 1,
                     "%T-%P-%ui", st->started, st->writer_pid,
                     st->generation);
    *p = '\0';
}


/* the refreshed fields of a live record */
static json_t *
ngx_ams_broadcast_figures(ngx_ams_broadcast_local_t *b, ngx_msec_t elapsed)
{
    json_t            *set, *figures;
    uint64_t           bytes, bitrate;
    ngx_ams_stream_t  *st;

    st = b->stream;
    bytes = st->in_bytes;
    bitrate = elapsed ? (bytes - b->bytes) * 8 * 1000 / elapsed : 0;

    b->bytes = bytes;

    /* a relay adds this node's viewers to its origin's record as an
     * entry of its own (ngx_ams_broadcast_schema.h) */
    if (b->relay) {
        return ngx_ams_broadcast_node_entry(json_pack(
                   "{s:I, s:I, s:I, s:I, s:I}",
                   "rtmp", (json_int_t) st->rtmp_viewers,
                   "hls", (json_int_t)
                       ngx_ams_broadcast_viewers(st, b->app,
                                                 NGX_AMS_VIEWER_HLS),
                   "dash", (json_int_t)
                       ngx_ams_broadcast_viewers(st, b->app,
                                                 NGX_AMS_VIEWER_DASH),
                   "webrtc", (json_int_t) ngx_ams_webrtc_viewers(st),
                   "updateTime", (json_int_t) ngx_ams_store_now_ms()));
    }

    set = json_pack("{s:I, s:I, s:I, s:I}",
                    "rtmpViewerCount", (json_int_t) st->rtmp_viewers,
                    "webRTCViewerCount", (json_int_t)
                        ngx_ams_webrtc_viewers(st),
                    "hlsViewerCount", (json_int_t)
                        ngx_ams_broadcast_viewers(st, b->app,
                                                  NGX_AMS_VIEWER_HLS),
                    "dashViewerCount", (json_int_t)
                        ngx_ams_broadcast_viewers(st, b->app,
                                                  NGX_AMS_VIEWER_DASH));

    if (set == NULL) {
        return NULL;
    }

    figures = json_pack("{s:I, s:I, s:I, s:I, s:I}",
                        "updateTime", (json_int_t) ngx_ams_store_now_ms(),
                        "receivedBytes", (json_int_t) bytes,
                        "bitrate", (json_int_t) bitrate,
                        "width", (json_int_t) st->width,
                        "height", (json_int_t) st->height);

    if (figures == NULL || json_object_update(set, figures) != 0) {
        json_decref(figures);
        json_decref(set);
        return NULL;
    }

    json_decref(figures);

    return set;
}


ngx_uint_t
ngx_ams_broadcast_viewers(ngx_ams_stream_t *st, ngx_ams_app_conf_t *app,
    ngx_uint_t type)
{
    return ngx_ams_viewer_count(st, type, app->viewer_timeout);
}


static void
ngx_ams_broadcast_tick(ngx_event_t *ev)
{
    ngx_str_t                   id;
    ngx_queue_t                *q;
    ngx_msec_t                  elapsed;
    ngx_ams_store_op_t         *op, *chain, **last;
    ngx_ams_broadcast_local_t  *b;

    chain = NULL;
    last = &chain;

    for (q = ngx_queue_head(&ngx_ams_broadcast_local);
         q != ngx_queue_sentinel(&ngx_ams_broadcast_local);
         q = ngx_queue_next(q))
    {
        b = ngx_queue_data(q, ngx_ams_broadcast_local_t, queue);

        elapsed = ngx_current_msec - b->refreshed;
        if (elapsed < NGX_AMS_BROADCAST_REFRESH_MS) {
            continue;
        }

        b->refreshed = ngx_current_msec;

        id.data = b->stream->name;
        id.len = b->stream->name_len;

        op = ngx_ams_store_op(NGX_AMS_STORE_UPDATE, NGX_AMS_COLL_BROADCAST,
                              &b->app->name, &id, ev->log);
        if (op == NULL) {
            continue;
        }

        op->set = ngx_ams_broadcast_figures(b, elapsed);
        if (op->set == NULL) {
            ngx_ams_store_free(op);
            continue;
        }

        if (!b->relay) {
            ngx_ams_broadcast_session(b->stream, op->session);
        }

        *last = op;
        last = &op->next;
    }

    if (chain) {
        ngx_ams_broadcast_post(chain);
    }

    ngx_ams_broadcast_read_limits(ev->log);

    if (!ngx_queue_empty(&ngx_ams_broadcast_local)) {
        ngx_add_timer(ev, NGX_AMS_BROADCAST_TICK);
    }
}


/*
 * The viewer limits of the streams due, from their records, in one
 * transaction: a REST change made on another node (or by any writer of
 * the store) reaches the stream's slot within NGX_AMS_VIEWER_LIMITS_MS.
 */
static void
ngx_ams_broadcast_read_limits(ngx_log_t *log)
{
    ngx_uint_t                     n;
    ngx_queue_t                   *q;
    ngx_ams_broadcast_local_t     *b;
    ngx_ams_viewer_limits_read_t  *rd;

    n = 0;

    for (q = ngx_queue_head(&ngx_ams_broadcast_local);
         q != ngx_queue_sentinel(&ngx_ams_broadcast_local);
         q = ngx_queue_next(q))
    {
        b = ngx_queue_data(q, ngx_ams_broadcast_local_t, queue);

        if (ngx_current_msec - b->limits_read >= NGX_AMS_VIEWER_LIMITS_MS) {
            n++;
        }
    }

    rd = ngx_ams_viewer_limits_read(n, log);
    if (rd == NULL) {
        return;
    }

    for (q = ngx_queue_head(&ngx_ams_broadcast_local);
         q != ngx_queue_sentinel(&ngx_ams_broadcast_local);
         q = ngx_queue_next(q))
    {
        b = ngx_queue_data(q, ngx_ams_broadcast_local_t, queue);

        if (ngx_current_msec - b->limits_read < NGX_AMS_VIEWER_LIMITS_MS) {
            continue;
        }

        b->limits_read = ngx_current_msec;

        if (ngx_ams_viewer_limits_read_add(rd, b->stream) == NGX_ERROR) {
            break;
        }
    }

    ngx_ams_viewer_limits_read_post(rd);
}


static void
ngx_ams_broadcast_post(ngx_ams_store_op_t *op)
{
    /* no handler: failures are logged by the store, records fixed by the
     * next refresh */
    if (ngx_ams_store_post(op) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, op->log, 0,
                      "ams broadcast: cannot queue a store update");
        ngx_ams_store_free(op);
    }
}


/* {"nodeViewers": {"<this node>": entry}}; takes "entry"'s reference */
static json_t *
ngx_ams_broadcast_node_entry(json_t *entry)
{
    char                  key[NGX_AMS_STORE_ID_LEN];
    ngx_ams_main_conf_t  *amcf;

    if (entry == NULL) {
        return NULL;
    }

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    ngx_ams_broadcast_node_key((const char *) amcf->node_address.data,
                               amcf->node_address.len, key, sizeof(key));

    return json_pack("{s:{s:o}}", NGX_AMS_BROADCAST_NODE_VIEWERS, key, entry);
}
