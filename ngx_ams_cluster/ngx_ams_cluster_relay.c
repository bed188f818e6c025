
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
 *
 * Node groups (AMS's multi-level cluster): a stream whose origin is in
 * another node_group crosses groups once per group.  Locate, after the
 * broadcast record, CLAIMs the group's relay of the stream in the store
 * (collection "grouprelay" of the app, id "{stream}@{group}", the
 * holder's node_id as originAdress, stale after 4 periods without a
 * refresh).  Won: this node is the group's relay and is answered the
 * origin; held by another node: that node, while it is ALIVE in the
 * snapshot (it pulls from the origin itself when asked, as any node
 * does).  The claim's answer is cached with the record's.  The worker
 * that won keeps the claim while its pull runs (a timer each period:
 * CLAIM again, which refreshes updateTime), lets it go when the pull
 * has ended (a DELETE that only removes this node's claim) and at exit.
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

/* a group relay claimed by this worker is kept this many periods
 * without a pull here (the pull is about to start) */
#define NGX_AMS_CLUSTER_GROUP_GRACE     2


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

    /* node groups: the origin is in another group */
    ngx_uint_t                grouped;       /* the answer names the
                                                group's relay: "holder" */
    u_char                    holder[NGX_AMS_CLUSTER_ID_LEN];
    size_t                    holder_len;    /* 0: this node */
    ngx_uint_t                held;          /* this worker holds it */
    ngx_uint_t                holding;       /* a refresh runs */
    ngx_msec_t                claimed;       /* our last CLAIM that won */
    ngx_event_t               hold;          /* refreshes each period */
} ngx_ams_cluster_locate_entry_t;


static ngx_ams_cluster_locate_entry_t *ngx_ams_cluster_locate_free(
    ngx_uint_t waiting);
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
static void ngx_ams_cluster_locate_wake(ngx_ams_cluster_locate_entry_t *e);
static ngx_uint_t ngx_ams_cluster_is_self(ngx_str_t *node);
static ngx_int_t ngx_ams_cluster_group_claim(
    ngx_ams_cluster_locate_entry_t *e);
static ngx_ams_store_op_t *ngx_ams_cluster_group_op(
    ngx_ams_cluster_locate_entry_t *e, ngx_uint_t type, ngx_log_t *log);
static void ngx_ams_cluster_group_claimed(ngx_ams_store_op_t *op);
static void ngx_ams_cluster_group_hold(ngx_ams_cluster_locate_entry_t *e);
static void ngx_ams_cluster_group_tick(ngx_event_t *ev);
static void ngx_ams_cluster_group_refreshed(ngx_ams_store_op_t *op);
static void ngx_ams_cluster_group_released(ngx_ams_store_op_t *op);


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

    /*
     * The least recently used entry that nothing holds; failing that, one
     * that only waits for its stream to appear somewhere (its retry
     * timer): players asking for names live nowhere (a stranger's made-up
     * ones) must not pin every entry and leave live streams unlocatable.
     */
    e = ngx_ams_cluster_locate_free(0);

    if (e == NULL) {
        e = ngx_ams_cluster_locate_free(1);

        if (e == NULL) {
            return NULL;
        }

        ngx_del_timer(&e->retry);
    }

    q = &e->queue;

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
    e->grouped = 0;
    e->holder_len = 0;

    ngx_queue_remove(q);
    ngx_queue_insert_head(&ngx_ams_cluster_locate_lru, q);

    return e;
}


/* the least recently used entry nothing holds ("waiting": or that only
 * waits for a retry) */
static ngx_ams_cluster_locate_entry_t *
ngx_ams_cluster_locate_free(ngx_uint_t waiting)
{
    ngx_queue_t                     *q;
    ngx_ams_cluster_locate_entry_t  *e;

    for (q = ngx_queue_last(&ngx_ams_cluster_locate_lru);
         q != ngx_queue_sentinel(&ngx_ams_cluster_locate_lru);
         q = ngx_queue_prev(q))
    {
        e = ngx_queue_data(q, ngx_ams_cluster_locate_entry_t, queue);

        if (e->pending || e->relaying || e->held || e->holding
            || (e->retry.timer_set && !waiting))
        {
            continue;
        }

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
    lc->group_relay = 0;
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

    size_t   n;
    json_t  *status, *origin;

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

    e->grouped = 0;
    e->holder_len = 0;

    if (e->rc == NGX_OK && ngx_ams_cluster_group_claim(e) == NGX_AGAIN) {
        /* still pending: the waiters are answered with the claim */
        e->pending = 1;
        return;
    }

    ngx_ams_cluster_locate_wake(e);
}


static void
ngx_ams_cluster_locate_wake(ngx_ams_cluster_locate_entry_t *e)
{
    ngx_queue_t               *q;
    ngx_ams_cluster_locate_t  *lc;

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
    ngx_str_t  origin, holder;

    lc->self = 0;
    lc->group_relay = 0;

    if (e->rc != NGX_OK) {
        return e->rc;
    }

    origin.data = e->origin;
    origin.len = e->origin_len;

    if (ngx_ams_cluster_is_self(&origin)) {
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

    if (!e->grouped || e->holder_len == 0) {
        /* same group, or this node is the group's relay */
        return NGX_OK;
    }

    /* another node of the group relays it: from there, or not yet (it
     * died: its claim goes stale within 4 periods, then this node or
     * another takes it over) */
    holder.data = e->holder;
    holder.len = e->holder_len;

    if (ngx_ams_cluster_node_find(&holder, &lc->origin) != NGX_OK
        || !lc->origin.alive)
    {
        return NGX_DECLINED;
    }

    lc->group_relay = 1;

    return NGX_OK;
}


/* "node" (an originAdress, a node id) is this node */
static ngx_uint_t
ngx_ams_cluster_is_self(ngx_str_t *node)
{
    ngx_ams_main_conf_t     *amcf;
    ngx_ams_cluster_conf_t  *ccf;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);
    ccf = ngx_ams_cluster_conf((ngx_cycle_t *) ngx_cycle);

    return (node->len == amcf->node_address.len
            && ngx_strncmp(node->data, amcf->node_address.data, node->len)
               == 0)
           || (ccf && node->len == ccf->node_id.len
               && ngx_strncmp(node->data, ccf->node_id.data, node->len)
                  == 0);
}


/*
 * After the broadcast record: is the origin in another group than this
 * node's?  NGX_AGAIN: the group relay's CLAIM was posted (its handler
 * answers the waiters); NGX_DECLINED: no group relay here (same group,
 * the origin's group unknown, the origin not in the snapshot, a name too
 * long for the claim's id): the origin is answered as it is.
 */
static ngx_int_t
ngx_ams_cluster_group_claim(ngx_ams_cluster_locate_entry_t *e)
{
    size_t                   n;
    ngx_str_t                origin;
    ngx_ams_store_op_t      *op;
    ngx_ams_cluster_conf_t  *ccf;
    ngx_ams_cluster_node_t   node;

    ccf = ngx_ams_cluster_conf((ngx_cycle_t *) ngx_cycle);
    if (ccf == NULL || !ccf->enabled) {
        return NGX_DECLINED;
    }

    origin.data = e->origin;
    origin.len = e->origin_len;

    if (ngx_ams_cluster_is_self(&origin)
        || ngx_ams_cluster_node_find(&origin, &node) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    n = ngx_strlen(node.group);

    if (n == 0
        || (n == ccf->node_group.len
            && ngx_strncmp(node.group, ccf->node_group.data, n) == 0))
    {
        return NGX_DECLINED;
    }

    op = ngx_ams_cluster_group_op(e, NGX_AMS_STORE_CLAIM, ngx_cycle->log);
    if (op == NULL) {
        return NGX_DECLINED;
    }

    op->handler = ngx_ams_cluster_group_claimed;
    op->data = e;

    if (ngx_ams_store_post(op) != NGX_OK) {
        ngx_ams_store_free(op);
        return NGX_DECLINED;
    }

    return NGX_AGAIN;
}


/*
 * The claim's operation, CLAIM (its record: this node holds the relay
 * as of now) or DELETE (only a claim of this node's: a "zombi" delete of
 * publishSession node_id, as both stores read it); NULL when the id
 * "{stream}@{group}" does not fit.
 */
static ngx_ams_store_op_t *
ngx_ams_cluster_group_op(ngx_ams_cluster_locate_entry_t *e,
    ngx_uint_t type, ngx_log_t *log)
{
    u_char                   buf[NGX_AMS_STORE_ID_LEN];
    ngx_str_t                app, id, name;
    ngx_ams_store_op_t      *op;
    ngx_ams_cluster_conf_t  *ccf;

    ccf = ngx_ams_cluster_conf((ngx_cycle_t *) ngx_cycle);

    if (e->name_len + 1 + ccf->node_group.len >= sizeof(buf)
        || ccf->node_id.len >= sizeof(op->session))
    {
        ngx_log_debug2(NGX_LOG_DEBUG_CORE, log, 0,
                       "ams cluster: \"%*s\": no group relay, the name is "
                       "too long", e->name_len, e->name);
        return NULL;
    }

    app.data = e->app;
    app.len = e->app_len;
    name.data = e->name;
    name.len = e->name_len;
    id.data = buf;
    id.len = ngx_sprintf(buf, "%V@%V", &name, &ccf->node_group) - buf;

    op = ngx_ams_store_op(type, NGX_AMS_COLL_GROUP_RELAY, &app, &id, log);
    if (op == NULL) {
        return NULL;
    }

    /* a claim is stale when its holder stopped refreshing it for as long
     * as it takes a node to read DEAD */
    op->stale_ms = NGX_AMS_CLUSTER_ALIVE_PERIODS * ccf->update_period;
    ngx_memcpy(op->origin, ccf->node_id.data, ccf->node_id.len);
    ngx_memcpy(op->session, ccf->node_id.data, ccf->node_id.len);

    if (type == NGX_AMS_STORE_DELETE) {
        op->zombi_only = 1;
        return op;
    }

    op->session[0] = '\0';

    op->set = json_pack("{s:s, s:s%, s:s%, s:s%, s:s, s:I, s:b, s:s}",
                        "id", op->id,
                        "streamId", (char *) name.data, name.len,
                        "nodeGroup", (char *) ccf->node_group.data,
                        ccf->node_group.len,
                        "originAdress", (char *) ccf->node_id.data,
                        ccf->node_id.len,
                        "status", NGX_AMS_STATUS_BROADCASTING,
                        "updateTime", (json_int_t) op->now_ms,
                        "zombi", 1,
                        "publishSession", op->origin);
    if (op->set == NULL) {
        ngx_ams_store_free(op);
        return NULL;
    }

    return op;
}


static void
ngx_ams_cluster_group_claimed(ngx_ams_store_op_t *op)
{
    ngx_ams_cluster_locate_entry_t *e = op->data;

    size_t   n;
    json_t  *holder;

    e->pending = 0;
    e->fetched = ngx_current_msec;
    e->grouped = 1;
    e->holder_len = 0;

    if (op->rc == NGX_OK) {
        if (!e->held) {
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "ams cluster: group relay \"%s/%s\" claimed",
                          op->app, op->id);
        }

        ngx_ams_cluster_group_hold(e);

    } else if (op->rc == NGX_BUSY) {
        holder = op->doc ? json_object_get(op->doc, "originAdress") : NULL;
        n = json_is_string(holder) ? ngx_strlen(json_string_value(holder))
                                   : 0;

        if (n && n < sizeof(e->holder)) {
            ngx_memcpy(e->holder, json_string_value(holder), n);
            e->holder_len = n;

        } else {
            e->rc = NGX_DECLINED;
        }

    } else {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ams cluster: cannot claim the group relay of "
                      "\"%*s/%*s\": %s", e->app_len, e->app, e->name_len,
                      e->name, op->error);
        e->rc = NGX_ERROR;
    }

    ngx_ams_store_free(op);

    ngx_ams_cluster_locate_wake(e);
}


/* this worker won the claim: it keeps it while its pull runs */
static void
ngx_ams_cluster_group_hold(ngx_ams_cluster_locate_entry_t *e)
{
    ngx_ams_cluster_conf_t  *ccf;

    e->claimed = ngx_current_msec;
    e->held = 1;

    if (e->hold.timer_set) {
        return;
    }

    ccf = ngx_ams_cluster_conf((ngx_cycle_t *) ngx_cycle);

    e->hold.handler = ngx_ams_cluster_group_tick;
    e->hold.data = e;
    e->hold.log = ngx_cycle->log;
    e->hold.cancelable = 1;

    ngx_add_timer(&e->hold, ccf->update_period);
}


static void
ngx_ams_cluster_group_tick(ngx_event_t *ev)
{
    ngx_ams_cluster_locate_entry_t *e = ev->data;

    ngx_str_t                app, name;
    ngx_uint_t               mine;
    ngx_ams_stream_t        *st;
    ngx_ams_store_op_t      *op;
    ngx_ams_cluster_conf_t  *ccf;

    ccf = ngx_ams_cluster_conf((ngx_cycle_t *) ngx_cycle);

    if (!e->held || ccf == NULL) {
        e->held = 0;
        return;
    }

    app.data = e->app;
    app.len = e->app_len;
    name.data = e->name;
    name.len = e->name_len;

    st = ngx_ams_bus_find(&app, &name);

    mine = st && st->source_kind == NGX_AMS_SOURCE_RELAY
           && st->writer_pid == ngx_pid;

    if (mine
        || ngx_current_msec - e->claimed
           < NGX_AMS_CLUSTER_GROUP_GRACE * ccf->update_period)
    {
        if (mine && !e->holding) {
            op = ngx_ams_cluster_group_op(e, NGX_AMS_STORE_CLAIM,
                                          ngx_cycle->log);
            if (op) {
                op->quiet = 1;
                op->handler = ngx_ams_cluster_group_refreshed;
                op->data = e;

                if (ngx_ams_store_post(op) == NGX_OK) {
                    e->holding = 1;

                } else {
                    ngx_ams_store_free(op);
                }
            }
        }

        ngx_add_timer(ev, ccf->update_period);
        return;
    }

    /* no pull here: the next locate claims again */
    e->held = 0;
    e->fetched = 0;

    if (st && st->source_kind == NGX_AMS_SOURCE_RELAY) {
        /* another worker of this node pulls it: it holds the claim */
        return;
    }

    op = ngx_ams_cluster_group_op(e, NGX_AMS_STORE_DELETE, ngx_cycle->log);
    if (op == NULL) {
        return;
    }

    op->quiet = 1;
    op->handler = ngx_ams_cluster_group_released;

    if (ngx_ams_store_post(op) != NGX_OK) {
        ngx_ams_store_free(op);
    }
}


static void
ngx_ams_cluster_group_refreshed(ngx_ams_store_op_t *op)
{
    ngx_ams_cluster_locate_entry_t *e = op->data;

    json_t  *holder;

    e->holding = 0;

    if (op->rc == NGX_OK) {
        if (e->held) {
            e->claimed = ngx_current_msec;
        }

    } else if (op->rc == NGX_BUSY) {
        /* not refreshed for 4 periods (a store outage): another node
         * took it; this pull serves its players until released */
        holder = op->doc ? json_object_get(op->doc, "originAdress") : NULL;

        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ams cluster: the group relay of \"%*s/%*s\" went "
                      "to node \"%s\"", e->app_len, e->app, e->name_len,
                      e->name,
                      json_is_string(holder) ? json_string_value(holder)
                                             : "?");
        e->held = 0;
        e->fetched = 0;

        if (e->hold.timer_set) {
            ngx_del_timer(&e->hold);
        }
    }

    /* NGX_ERROR (the store is down): tried again next period */

    ngx_ams_store_free(op);
}


static void
ngx_ams_cluster_group_released(ngx_ams_store_op_t *op)
{
    /* NGX_DECLINED: another worker of this node deleted it first, or
     * another node holds it now */
    if (op->rc == NGX_OK) {
        ngx_log_error(NGX_LOG_INFO, op->log, 0,
                      "ams cluster: group relay \"%s/%s\" released",
                      op->app, op->id);
    }

    ngx_ams_store_free(op);
}


/*
 * Each exiting worker, before the store closes: the claims it holds go
 * (its pulls ended with the bus's streams of this worker), so the
 * group's other nodes need not wait 4 periods to take them over.  A
 * claim whose stream another worker relays now (a reload's new one)
 * stays.  Blocking: the store's thread pool is gone.
 */
void
ngx_ams_cluster_relay_exit_worker(ngx_cycle_t *cycle)
{
    ngx_str_t                        app, name;
    ngx_uint_t                       i;
    ngx_ams_stream_t                *st;
    ngx_ams_store_op_t              *op;
    ngx_ams_cluster_locate_entry_t  *e;

    if (!ngx_ams_cluster_locate_ready
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return;
    }

    for (i = 0; i < NGX_AMS_CLUSTER_LOCATE_ENTRIES; i++) {
        e = &ngx_ams_cluster_locate_entries[i];

        if (!e->held) {
            continue;
        }

        e->held = 0;

        app.data = e->app;
        app.len = e->app_len;
        name.data = e->name;
        name.len = e->name_len;

        st = ngx_ams_bus_find(&app, &name);

        if (st && st->source_kind == NGX_AMS_SOURCE_RELAY
            && st->writer_pid != ngx_pid)
        {
            continue;
        }

        op = ngx_ams_cluster_group_op(e, NGX_AMS_STORE_DELETE, cycle->log);
        if (op == NULL) {
            continue;
        }

        op->quiet = 1;
        op->handler = ngx_ams_cluster_group_released;

        ngx_ams_store_run_now(op);
    }
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
                                    ccf->node_id.len, node->ip,
                                    ngx_strlen(node->ip),
                                    (int64_t) ngx_time());
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
    /* the node pulled from: the origin, or the group's relay */
    pc.origin.data = (u_char *) node->ip;
    pc.origin.len = ngx_strlen(node->ip);
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
