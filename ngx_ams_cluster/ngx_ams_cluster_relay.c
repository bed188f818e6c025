
/*
 * Copyright (C) nginx-ams authors
 *
 * Where a stream lives, and pulling it from there.
 *
 * ngx_ams_cluster_locate() reads the stream's broadcast record: live on
 * another node when "broadcasting" (the store reads a record whose
 * updateTime is older than broadcast_stale_timeout as
 * terminated_unexpectedly) and its originAdress is an ALIVE node of the
 * snapshot.  Answers are kept per worker for NGX_AMS_CLUSTER_LOCATE_TTL
 * ms, and callers that ask while a query runs wait for that one: a burst
 * of players costs one store query per worker.  The node's state is read
 * from the snapshot at each call, so an origin turning DEAD is seen at
 * once.
 *
 * The stream-missing handler (a reader asked for a stream not live
 * here, on any node, origin or edge) locates the stream and starts an
 * RTMP pull from its origin (ngx_ams_rtmp_pull.c) with a node token.
 * Several workers asking at once each try; the bus lets one publish the
 * relay and refuses the others (NGX_BUSY), whose readers open the one
 * stream.  A worker starts at most one pull of a stream per
 * NGX_AMS_CLUSTER_RELAY_RETRY ms: a pull that fails at once (its origin
 * just died and is not DEAD yet) ends its players' wait, they ask again,
 * and this keeps that from turning into a loop of connections.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_cluster.h"
#include "ngx_ams_store.h"
#include "ngx_ams_broadcast_schema.h"
#include "ngx_ams_node_token.h"
#include "ngx_ams_rtmp_pull.h"


#define NGX_AMS_CLUSTER_LOCATE_ENTRIES  128
#define NGX_AMS_CLUSTER_RELAY_RETRY     1000

/* a stream asked for but live nowhere is looked for again every
 * NGX_AMS_CLUSTER_RELAY_RETRY this long: a player that waits for its
 * publisher (as RTMP players may) plays once it publishes on an origin */
#define NGX_AMS_CLUSTER_RELAY_WAIT      30000


typedef struct {
    ngx_queue_t               queue;         /* most recent first */
    u_char                    app[NGX_AMS_APP_LEN];
    size_t                    app_len;
    u_char                    name[NGX_AMS_NAME_LEN];
    size_t                    name_len;
    ngx_uint_t                used;
    ngx_uint_t                pending;       /* a store query runs */
    ngx_msec_t                fetched;       /* when its answer came */
    ngx_int_t                 rc;            /* NGX_OK: "origin" is set */
    u_char                    origin[NGX_AMS_CLUSTER_ID_LEN];
    size_t                    origin_len;
    ngx_queue_t               waiters;       /* ngx_ams_cluster_locate_t */
    ngx_msec_t                pulled;        /* this worker's last pull */
    ngx_msec_t                wanted;        /* last asked for */
    ngx_event_t               retry;         /* a pull put off */
    ngx_ams_app_conf_t       *retry_app;
    ngx_uint_t                relaying;      /* a locate for the relay */
    ngx_ams_cluster_locate_t  relay;
} ngx_ams_cluster_locate_entry_t;


static ngx_int_t ngx_ams_cluster_relay_missing(ngx_ams_app_conf_t *app,
    ngx_str_t *name, ngx_log_t *log);
static void ngx_ams_cluster_relay_located(ngx_ams_cluster_locate_t *lc);
static void ngx_ams_cluster_relay_retry(ngx_event_t *ev);
static void ngx_ams_cluster_relay_pull(ngx_ams_cluster_locate_entry_t *e,
    ngx_ams_app_conf_t *app);
static ngx_uint_t ngx_ams_cluster_relay_origin_alive(ngx_str_t *origin);
static void ngx_ams_cluster_locate_done(ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_cluster_locate_answer(
    ngx_ams_cluster_locate_entry_t *e, ngx_ams_cluster_locate_t *lc);


static ngx_ams_stream_missing_pt  ngx_ams_cluster_relay_next;

static ngx_ams_cluster_locate_entry_t
    ngx_ams_cluster_locate_entries[NGX_AMS_CLUSTER_LOCATE_ENTRIES];
static ngx_queue_t                 ngx_ams_cluster_locate_lru;
static ngx_uint_t                  ngx_ams_cluster_locate_ready;


void
ngx_ams_cluster_relay_init_chain(void)
{
    ngx_ams_cluster_relay_next = ngx_ams_stream_missing_handler;
    ngx_ams_stream_missing_handler = ngx_ams_cluster_relay_missing;
}


/* the entry of app/name: found, or the least recently used idle one */

static ngx_ams_cluster_locate_entry_t *
ngx_ams_cluster_locate_entry(ngx_str_t *app, ngx_str_t *name)
{
    ngx_uint_t                       i;
    ngx_queue_t                     *q;
    ngx_ams_cluster_locate_entry_t  *e;

    if (!ngx_ams_cluster_locate_ready) {
        ngx_queue_init(&ngx_ams_cluster_locate_lru);

        for (i = 0; i < NGX_AMS_CLUSTER_LOCATE_ENTRIES; i++) {
            e = &ngx_ams_cluster_locate_entries[i];
            ngx_queue_init(&e->waiters);
            ngx_queue_insert_tail(&ngx_ams_cluster_locate_lru, &e->queue);
        }

        ngx_ams_cluster_locate_ready = 1;
    }

    if (app->len >= NGX_AMS_APP_LEN || name->len >= NGX_AMS_NAME_LEN) {
        return NULL;
    }

    for (q = ngx_queue_head(&ngx_ams_cluster_locate_lru);
         q != ngx_queue_sentinel(&ngx_ams_cluster_locate_lru);
         q = ngx_queue_next(q))
    {
        e = ngx_queue_data(q, ngx_ams_cluster_locate_entry_t, queue);

        if (e->used && e->app_len == app->len && e->name_len == name->len
            && ngx_memcmp(e->app, app->data, app->len) == 0
            && ngx_memcmp(e->name, name->data, name->len) == 0)
        {
            ngx_queue_remove(q);
            ngx_queue_insert_head(&ngx_ams_cluster_locate_lru, q);
            return e;
        }
    }

    for (q = ngx_queue_last(&ngx_ams_cluster_locate_lru);
         q != ngx_queue_sentinel(&ngx_ams_cluster_locate_lru);
         q = ngx_queue_prev(q))
    {
        e = ngx_queue_data(q, ngx_ams_cluster_locate_entry_t, queue);

        if (e->pending || e->relaying || e->retry.timer_set) {
            continue;
        }

        ngx_memzero(e->app, sizeof(e->app));
        ngx_memcpy(e->app, app->data, app->len);
        e->app_len = app->len;
        ngx_memzero(e->name, sizeof(e->name));
        ngx_memcpy(e->name, name->data, name->len);
        e->name_len = name->len;
        e->used = 1;
        e->fetched = 0;
        e->rc = NGX_DECLINED;
        e->origin_len = 0;
        e->pulled = 0;

        ngx_queue_remove(q);
        ngx_queue_insert_head(&ngx_ams_cluster_locate_lru, q);

        return e;
    }

    return NULL;
}


ngx_int_t
ngx_ams_cluster_locate(ngx_ams_cluster_locate_t *lc, ngx_str_t *app,
    ngx_str_t *name, ngx_log_t *log)
{
    ngx_ams_store_op_t              *op;
    ngx_ams_cluster_locate_entry_t  *e;

    lc->rc = NGX_ERROR;
    lc->self = 0;
    lc->entry = NULL;

    e = ngx_ams_cluster_locate_entry(app, name);
    if (e == NULL) {
        return NGX_ERROR;
    }

    if (!e->pending && e->fetched
        && ngx_current_msec - e->fetched < NGX_AMS_CLUSTER_LOCATE_TTL)
    {
        return ngx_ams_cluster_locate_answer(e, lc);
    }

    if (!e->pending) {
        /* the log of whoever asks first may go before the answer */
        op = ngx_ams_store_op(NGX_AMS_STORE_GET, NGX_AMS_COLL_BROADCAST,
                              app, name, ngx_cycle->log);
        if (op == NULL) {
            return NGX_ERROR;
        }

        op->handler = ngx_ams_cluster_locate_done;
        op->data = e;

        if (ngx_ams_store_post(op) != NGX_OK) {
            ngx_ams_store_free(op);
            return NGX_ERROR;
        }

        e->pending = 1;
    }

    lc->entry = e;
    ngx_queue_insert_tail(&e->waiters, &lc->queue);

    return NGX_AGAIN;
}


void
ngx_ams_cluster_locate_cancel(ngx_ams_cluster_locate_t *lc)
{
    if (lc->entry) {
        ngx_queue_remove(&lc->queue);
        lc->entry = NULL;
    }
}


static void
ngx_ams_cluster_locate_done(ngx_ams_store_op_t *op)
{
    ngx_ams_cluster_locate_entry_t *e = op->data;

    size_t                     n;
    json_t                    *status, *origin;
    ngx_queue_t               *q;
    ngx_ams_cluster_locate_t  *lc;

    e->pending = 0;
    e->fetched = ngx_current_msec;
    e->rc = NGX_DECLINED;
    e->origin_len = 0;

    if (op->rc == NGX_OK && op->doc) {
        status = json_object_get(op->doc, "status");
        origin = json_object_get(op->doc, "originAdress");

        if (json_is_string(status)
            && ngx_strcmp(json_string_value(status),
                          NGX_AMS_STATUS_BROADCASTING) == 0
            && json_is_string(origin))
        {
            n = ngx_strlen(json_string_value(origin));

            if (n && n < sizeof(e->origin)) {
                ngx_memcpy(e->origin, json_string_value(origin), n);
                e->origin_len = n;
                e->rc = NGX_OK;
            }
        }

    } else if (op->rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ams cluster: cannot locate \"%*s/%*s\": %s",
                      e->app_len, e->app, e->name_len, e->name, op->error);
        e->rc = NGX_ERROR;
    }

    ngx_ams_store_free(op);

    /* a handler may ask again or cancel others: take them one by one */
    while (!ngx_queue_empty(&e->waiters)) {
        q = ngx_queue_head(&e->waiters);
        ngx_queue_remove(q);

        lc = ngx_queue_data(q, ngx_ams_cluster_locate_t, queue);
        lc->entry = NULL;
        lc->rc = ngx_ams_cluster_locate_answer(e, lc);
        lc->handler(lc);
    }
}


static ngx_int_t
ngx_ams_cluster_locate_answer(ngx_ams_cluster_locate_entry_t *e,
    ngx_ams_cluster_locate_t *lc)
{
    ngx_str_t                origin;
    ngx_ams_main_conf_t     *amcf;
    ngx_ams_cluster_conf_t  *ccf;

    lc->self = 0;

    if (e->rc != NGX_OK) {
        return e->rc;
    }

    origin.data = e->origin;
    origin.len = e->origin_len;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);
    ccf = ngx_ams_cluster_conf((ngx_cycle_t *) ngx_cycle);

    if ((origin.len == amcf->node_address.len
         && ngx_strncmp(origin.data, amcf->node_address.data, origin.len)
            == 0)
        || (ccf && origin.len == ccf->node_id.len
            && ngx_strncmp(origin.data, ccf->node_id.data, origin.len)
               == 0))
    {
        lc->self = 1;
        return NGX_DECLINED;
    }

    /* ALIVE as of the snapshot, refreshed every period (kept as it was
     * while the store is down: pulls go on) */
    if (ngx_ams_cluster_node_find(&origin, &lc->origin) != NGX_OK
        || !lc->origin.alive)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* Context: a reader's worker, inside the bus (ngx_ams_reader_wait() or
 * _open()): nothing is published from here, the work is posted */

static ngx_int_t
ngx_ams_cluster_relay_missing(ngx_ams_app_conf_t *app, ngx_str_t *name,
    ngx_log_t *log)
{
    if (ngx_ams_cluster_relay_start(app, name, log) == NGX_OK) {
        return NGX_OK;
    }

    return ngx_ams_cluster_relay_next(app, name, log);
}


ngx_int_t
ngx_ams_cluster_relay_start(ngx_ams_app_conf_t *app, ngx_str_t *name,
    ngx_log_t *log)
{
    ngx_ams_main_conf_t             *amcf;
    ngx_ams_cluster_conf_t          *ccf;
    ngx_ams_cluster_locate_entry_t  *e;

    ccf = ngx_ams_cluster_conf((ngx_cycle_t *) ngx_cycle);
    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    if (ccf == NULL || !ccf->enabled || amcf->cluster_key.len == 0) {
        return NGX_DECLINED;
    }

    e = ngx_ams_cluster_locate_entry(&app->name, name);
    if (e == NULL) {
        return NGX_DECLINED;
    }

    e->wanted = ngx_current_msec;

    if (e->relaying || e->retry.timer_set) {
        return NGX_OK;
    }

    /* put off: after a pull that ended at once, and to leave the bus */
    e->retry.handler = ngx_ams_cluster_relay_retry;
    e->retry.data = e;
    e->retry.log = ngx_cycle->log;
    e->retry.cancelable = 1;
    e->retry_app = app;

    if (e->pulled
        && ngx_current_msec - e->pulled < NGX_AMS_CLUSTER_RELAY_RETRY)
    {
        ngx_add_timer(&e->retry,
                      NGX_AMS_CLUSTER_RELAY_RETRY
                      - (ngx_current_msec - e->pulled));

    } else {
        ngx_add_timer(&e->retry, 1);
    }

    return NGX_OK;
}


static void
ngx_ams_cluster_relay_retry(ngx_event_t *ev)
{
    ngx_str_t                        app, name;
    ngx_int_t                        rc;
    ngx_ams_cluster_locate_entry_t  *e;

    e = ev->data;

    app.data = e->app;
    app.len = e->app_len;
    name.data = e->name;
    name.len = e->name_len;

    e->relay.handler = ngx_ams_cluster_relay_located;
    e->relay.data = e;
    e->relaying = 1;

    rc = ngx_ams_cluster_locate(&e->relay, &app, &name, ngx_cycle->log);

    if (rc == NGX_AGAIN) {
        return;
    }

    e->relay.rc = rc;
    ngx_ams_cluster_relay_located(&e->relay);
}


static void
ngx_ams_cluster_relay_located(ngx_ams_cluster_locate_t *lc)
{
    ngx_ams_cluster_locate_entry_t *e = lc->data;

    e->relaying = 0;

    if (lc->rc != NGX_OK) {
        ngx_log_debug3(NGX_LOG_DEBUG_CORE, ngx_cycle->log, 0,
                       "ams cluster: \"%*s\" not live elsewhere (%i)",
                       e->name_len, e->name, lc->rc);

        /* live here (or published here meanwhile): nothing to pull */
        if (!lc->self
            && ngx_current_msec - e->wanted < NGX_AMS_CLUSTER_RELAY_WAIT)
        {
            ngx_add_timer(&e->retry, NGX_AMS_CLUSTER_RELAY_RETRY);
        }

        return;
    }

    ngx_ams_cluster_relay_pull(e, e->retry_app);
}


static void
ngx_ams_cluster_relay_pull(ngx_ams_cluster_locate_entry_t *e,
    ngx_ams_app_conf_t *app)
{
    char                      *token;
    ngx_int_t                  rc;
    ngx_ams_main_conf_t       *amcf;
    ngx_ams_cluster_conf_t    *ccf;
    ngx_ams_cluster_node_t    *node;
    ngx_ams_rtmp_pull_conf_t   pc;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);
    ccf = ngx_ams_cluster_conf((ngx_cycle_t *) ngx_cycle);
    node = &e->relay.origin;

    /* the app may have gone with a reload; it is looked up again */
    app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &app->name);
    if (app == NULL) {
        return;
    }

    token = ngx_ams_node_token_sign(amcf->cluster_key.data,
                                    amcf->cluster_key.len,
                                    (char *) ccf->node_id.data,
                                    ccf->node_id.len, (int64_t) ngx_time());
    if (token == NULL) {
        return;
    }

    ngx_memzero(&pc, sizeof(ngx_ams_rtmp_pull_conf_t));
    pc.app = app;
    pc.name.data = e->name;
    pc.name.len = e->name_len;
    pc.host.data = (u_char *) node->ip;
    pc.host.len = ngx_strlen(node->ip);
    pc.port = node->rtmp_port;
    pc.token.data = (u_char *) token;
    pc.token.len = ngx_strlen(token);
    pc.start_timeout = ccf->relay_timeout;
    pc.idle_timeout = ccf->relay_timeout;
    pc.release = ccf->relay_release;
    pc.origin.data = e->origin;
    pc.origin.len = e->origin_len;
    pc.check = ngx_ams_cluster_relay_origin_alive;

    e->pulled = ngx_current_msec;

    rc = ngx_ams_rtmp_pull_start(&pc, ngx_cycle->log);

    free(token);

    if (rc == NGX_BUSY) {
        /* another worker pulls it, or it was published meanwhile */
        ngx_log_debug2(NGX_LOG_DEBUG_CORE, ngx_cycle->log, 0,
                       "ams cluster: \"%*s\" is live here already",
                       e->name_len, e->name);
    }
}


static ngx_uint_t
ngx_ams_cluster_relay_origin_alive(ngx_str_t *origin)
{
    ngx_ams_cluster_node_t  node;

    return ngx_ams_cluster_node_find(origin, &node) == NGX_OK
           && node.alive;
}
