
/*
 * Copyright (C) nginx-ams authors
 *
 * The store: its backends (registered by URI scheme), operations
 * (allocation, hand-off to the store's thread pool, completion on the
 * event loop; the backend does the work in the thread) and its life:
 * prepared in the master, opened in each worker after fork, and kept
 * small: one worker purges expired one-time tokens every minute.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_core.h"
#include "ngx_ams_store.h"
#include "ngx_ams_store_cache.h"
#include "ngx_ams_store_health.h"


#define NGX_AMS_STORE_BACKENDS   8
#define NGX_AMS_STORE_EXITS      4

/* a chain that runs longer than this is logged, once per 10 s at most */
#define NGX_AMS_STORE_SLOW_MS    100
#define NGX_AMS_STORE_SLOW_LOG   10


static void ngx_ams_store_thread(void *data, ngx_log_t *log);
static void ngx_ams_store_run(ngx_ams_store_op_t *ops);
static void ngx_ams_store_timed(ngx_ams_store_op_t *ops, uint64_t us);
static void ngx_ams_store_done(ngx_event_t *ev);
static void ngx_ams_store_hold(ngx_event_t *ev);
static void ngx_ams_store_complete(ngx_ams_store_op_t *ops);
static void ngx_ams_store_refuse(ngx_ams_store_op_t *ops);
static void ngx_ams_store_purge(ngx_event_t *ev);
static void ngx_ams_store_purged(ngx_ams_store_op_t *op);
static void ngx_ams_store_copy(char *dst, size_t size, ngx_str_t *src);
static ngx_int_t ngx_ams_store_reset_done(ngx_ams_store_op_t *op);


/* this configuration cycle's backends, core's SQLite first */
static ngx_ams_store_backend_t  *ngx_ams_store_backends[
                                     NGX_AMS_STORE_BACKENDS];
static ngx_uint_t                ngx_ams_store_nbackends;

/* called as a worker exits, while the store is still open */
static ngx_ams_store_exit_pt     ngx_ams_store_exits[NGX_AMS_STORE_EXITS];
static ngx_uint_t                ngx_ams_store_nexits;

static ngx_event_t               ngx_ams_store_purge_timer;

/* operations in flight keep an exiting worker until they come back: a
 * REST client or a publisher waits for the answer (nginx leaves when no
 * timer but cancelable ones is left, whatever connections are open) */
static ngx_uint_t                ngx_ams_store_in_flight;
static ngx_event_t               ngx_ams_store_holder;
static ngx_uint_t                ngx_ams_store_purging;


void
ngx_ams_store_reset_backends(void)
{
    ngx_ams_store_nbackends = 0;
    ngx_ams_store_nexits = 0;

    (void) ngx_ams_store_register(&ngx_ams_store_sqlite);
}


ngx_int_t
ngx_ams_store_at_exit(ngx_ams_store_exit_pt handler)
{
    if (ngx_ams_store_nexits == NGX_AMS_STORE_EXITS) {
        return NGX_ERROR;
    }

    ngx_ams_store_exits[ngx_ams_store_nexits++] = handler;

    return NGX_OK;
}


ngx_int_t
ngx_ams_store_register(ngx_ams_store_backend_t *backend)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_ams_store_nbackends; i++) {
        if (ngx_ams_store_backends[i]->scheme.len == backend->scheme.len
            && ngx_strncmp(ngx_ams_store_backends[i]->scheme.data,
                           backend->scheme.data, backend->scheme.len)
               == 0)
        {
            /* a later module takes the scheme over */
            ngx_ams_store_backends[i] = backend;
            return NGX_OK;
        }
    }

    if (ngx_ams_store_nbackends == NGX_AMS_STORE_BACKENDS) {
        return NGX_ERROR;
    }

    ngx_ams_store_backends[ngx_ams_store_nbackends++] = backend;

    return NGX_OK;
}


/*
 * "database": "scheme:rest" picks a registered backend; a value without
 * a scheme (letters, digits, "+-." before a ":") is a SQLite path, as it
 * always was.  Called at the end of the "ams {}" block: every module's
 * create_conf, and so every registration, has run by then.
 */
char *
ngx_ams_store_configure(ngx_conf_t *cf, ngx_ams_main_conf_t *amcf)
{
    char                     *rv;
    u_char                   *p, *last;
    ngx_str_t                 scheme, uri;
    ngx_uint_t                i;
    ngx_ams_store_t          *store;
    ngx_ams_store_backend_t  *backend;

    p = amcf->database.data;
    last = p + amcf->database.len;

    ngx_str_set(&scheme, "sqlite");
    uri = amcf->database;

    if (p < last && ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')) {
        for (p++; p < last; p++) {
            if (*p == ':') {
                scheme.data = amcf->database.data;
                scheme.len = p - scheme.data;
                uri.data = p + 1;
                uri.len = last - uri.data;
                break;
            }

            if (!(((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')
                  || (*p >= '0' && *p <= '9')
                  || *p == '+' || *p == '-' || *p == '.'))
            {
                break;
            }
        }
    }

    backend = NULL;

    for (i = 0; i < ngx_ams_store_nbackends; i++) {
        if (ngx_ams_store_backends[i]->scheme.len == scheme.len
            && ngx_strncasecmp(ngx_ams_store_backends[i]->scheme.data,
                               scheme.data, scheme.len)
               == 0)
        {
            backend = ngx_ams_store_backends[i];
            break;
        }
    }

    if (backend == NULL) {
        if (scheme.len == 7
            && ngx_strncasecmp(scheme.data, (u_char *) "mongodb", 7) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"database\" \"%V\" needs ngx_ams_cluster "
                               "(load ngx_ams_cluster_module.so after the "
                               "core module)", &amcf->database);

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"database\" \"%V\": no store backend for "
                               "\"%V:\"", &amcf->database, &scheme);
        }

        return NGX_CONF_ERROR;
    }

    store = ngx_pcalloc(cf->pool, sizeof(ngx_ams_store_t));
    if (store == NULL) {
        return NGX_CONF_ERROR;
    }

    store->backend = backend;
    store->stale = amcf->broadcast_stale_timeout;

    if (backend->configure) {
        rv = backend->configure(cf, &uri, &store->data);

        if (rv != NGX_CONF_OK) {
            if (rv != NGX_CONF_ERROR) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "\"database\" \"%V\" %s",
                                   &amcf->database, rv);
            }

            return NGX_CONF_ERROR;
        }
    }

    store->thread_pool = ngx_thread_pool_add(cf,
                                             &amcf->store_thread_pool_name);
    if (store->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    amcf->store = store;

    return NGX_CONF_OK;
}


ngx_ams_store_op_t *
ngx_ams_store_op(ngx_uint_t type, const char *collection, ngx_str_t *app,
    ngx_str_t *id, ngx_log_t *log)
{
    ngx_ams_store_op_t  *op;

    op = ngx_calloc(sizeof(ngx_ams_store_op_t), log);
    if (op == NULL) {
        return NULL;
    }

    op->type = type;
    op->collection = collection;
    op->log = log;
    op->now_ms = ngx_ams_store_now_ms();
    op->store = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle)->store;
    op->stale_ms = op->store ? op->store->stale
                             : NGX_AMS_STORE_STALE_DEFAULT;

    if (app) {
        ngx_ams_store_copy(op->app, sizeof(op->app), app);
    }

    if (id) {
        ngx_ams_store_copy(op->id, sizeof(op->id), id);
    }

    return op;
}


static void
ngx_ams_store_copy(char *dst, size_t size, ngx_str_t *src)
{
    size_t  n;

    n = ngx_min(src->len, size - 1);
    ngx_memcpy(dst, src->data, n);
    dst[n] = '\0';
}


int64_t
ngx_ams_store_now_ms(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}


ngx_int_t
ngx_ams_store_post(ngx_ams_store_op_t *ops)
{
    if (ops->store == NULL) {
        return NGX_ERROR;
    }

    ops->task.ctx = ops;
    ops->task.handler = ngx_ams_store_thread;
    ops->task.event.handler = ngx_ams_store_done;
    ops->task.event.data = ops;
    ops->task.event.log = ops->log;

    if (ngx_ams_store_cache_get(ops) == NGX_OK) {
        /* answered later in this loop iteration, as if from the thread */
        ops->cached = 1;
        ngx_post_event(&ops->task.event, &ngx_posted_events);

    } else if (ngx_ams_store_health_admit(ops) != NGX_OK) {
        /* an outage: fail now rather than wait out the driver's timeout */
        ngx_ams_store_refuse(ops);
        ngx_post_event(&ops->task.event, &ngx_posted_events);

    } else if (ngx_thread_task_post(ops->store->thread_pool, &ops->task)
               != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_ams_store_in_flight++ == 0 && !ngx_ams_store_holder.timer_set) {
        ngx_ams_store_holder.handler = ngx_ams_store_hold;
        ngx_ams_store_holder.log = ngx_cycle->log;
        ngx_add_timer(&ngx_ams_store_holder, 1000);
    }

    return NGX_OK;
}


static void
ngx_ams_store_hold(ngx_event_t *ev)
{
    if (ngx_ams_store_in_flight) {
        ngx_add_timer(ev, 1000);
    }
}


static void
ngx_ams_store_thread(void *data, ngx_log_t *log)
{
    ngx_ams_store_run(data);
}


/*
 * The backend runs the chain, timed (AMS's dbAverageQueryTimeMs): a
 * monotonic clock, as ngx_current_msec is the event loop's and does not
 * move in a pool thread.
 */
static void
ngx_ams_store_run(ngx_ams_store_op_t *ops)
{
    int64_t          us;
    struct timespec  start, end;

    (void) clock_gettime(CLOCK_MONOTONIC, &start);

    ops->store->backend->run(ops, ops->store->data);

    (void) clock_gettime(CLOCK_MONOTONIC, &end);

    us = (int64_t) (end.tv_sec - start.tv_sec) * 1000000
         + (end.tv_nsec - start.tv_nsec) / 1000;

    ngx_ams_store_timed(ops, us > 0 ? (uint64_t) us : 0);
}


/*
 * Any thread, any worker: the node's moving average in the bus zone
 * (each query weighs 1/16), and a warning for a slow one, at most one
 * per NGX_AMS_STORE_SLOW_LOG seconds for the whole node.
 */
static void
ngx_ams_store_timed(ngx_ams_store_op_t *ops, uint64_t us)
{
    time_t                 now;
    ngx_atomic_uint_t      avg, next, logged;
    ngx_ams_store_op_t    *op;
    ngx_ams_node_stats_t  *ns;

    ns = ngx_ams_bus_node_stats();

    if (ns == NULL) {
        return;   /* an exiting worker without a bus slot */
    }

    (void) ngx_atomic_fetch_add(&ns->db_queries, 1);

    do {
        avg = ns->db_query_avg_us;
        next = (ns->db_queries == 1) ? us
               : (ngx_atomic_uint_t) (((uint64_t) avg * 15 + us) / 16);
    } while (!ngx_atomic_cmp_set(&ns->db_query_avg_us, avg, next));

    if (us < NGX_AMS_STORE_SLOW_MS * 1000) {
        return;
    }

    /* a store that does not answer is an error, logged as one (by the
     * caller, or once per outage), not a slow query */
    for (op = ops; op; op = op->next) {
        if (op->rc == NGX_ERROR) {
            return;
        }
    }

    (void) ngx_atomic_fetch_add(&ns->db_slow_queries, 1);

    now = time(NULL);
    logged = ns->db_slow_logged;

    if ((time_t) logged + NGX_AMS_STORE_SLOW_LOG > now
        || !ngx_atomic_cmp_set(&ns->db_slow_logged, logged,
                               (ngx_atomic_uint_t) now))
    {
        return;
    }

    /* the cycle's log: an operation's may be a connection's, freed on the
     * event loop while this runs */
    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "ams store: %V: a query took %uL ms (%s %s/%s, over "
                  "%d ms; %uA slow so far, logged once per %d s)",
                  &ops->store->backend->scheme, us / 1000,
                  ngx_ams_store_op_name(ops->type), ops->collection,
                  ops->app[0] ? ops->app : "-", NGX_AMS_STORE_SLOW_MS,
                  ns->db_slow_queries, NGX_AMS_STORE_SLOW_LOG);
}


/* for logs */
const char *
ngx_ams_store_op_name(ngx_uint_t type)
{
    static const char  *names[] = {
        "get", "insert", "upsert", "update", "delete", "take", "list",
        "count", "reset", "purge", "expire", "claim"
    };

    return type < sizeof(names) / sizeof(names[0]) ? names[type] : "op";
}


static void
ngx_ams_store_refuse(ngx_ams_store_op_t *ops)
{
    int64_t              since;
    ngx_ams_store_op_t  *op;

    since = ngx_ams_store_health_down_since();

    for (op = ops; op; op = op->next) {
        op->rc = NGX_ERROR;
        op->refused = 1;
        ngx_snprintf((u_char *) op->error, sizeof(op->error) - 1,
                     "store unavailable for %L s, retrying%Z",
                     (ngx_ams_store_now_ms() - since) / 1000);
    }
}


void
ngx_ams_store_run_now(ngx_ams_store_op_t *ops)
{
    if (ops->store == NULL) {
        ngx_cpystrn((u_char *) ops->error, (u_char *) "no store",
                    sizeof(ops->error));
        ops->rc = NGX_ERROR;

    } else {
        ngx_ams_store_run(ops);
        ngx_ams_store_cache_put(ops);
    }

    ngx_ams_store_complete(ops);
}


static void
ngx_ams_store_done(ngx_event_t *ev)
{
    ngx_ams_store_op_t  *ops = ev->data;

    ngx_ams_store_in_flight--;

    if (!ops->cached && !ops->refused) {
        ngx_ams_store_health_result(ops);
        ngx_ams_store_cache_put(ops);
    }

    ngx_ams_store_complete(ops);
}


static void
ngx_ams_store_complete(ngx_ams_store_op_t *ops)
{
    ngx_ams_store_op_t  *op;

    for (op = ops; op; op = op->next) {
        /* an outage is logged once, by ngx_ams_store_health.c; a
         * caller that logs its own failures (the heartbeat) is quiet */
        if (op->rc == NGX_ERROR && !op->quiet && !op->refused
            && !op->unavailable)
        {
            ngx_log_error(NGX_LOG_ERR, op->log, 0,
                          "ams store: %s %s/%s: %s",
                          op->store
                              ? (char *) op->store->backend->scheme.data
                              : "-",
                          op->collection, op->id, op->error);
        }
    }

    if (ops->handler) {
        ops->handler(ops);   /* it owns the chain now */

    } else {
        ngx_ams_store_free(ops);
    }
}


void
ngx_ams_store_free(ngx_ams_store_op_t *ops)
{
    ngx_ams_store_op_t  *op, *next;

    for (op = ops; op; op = next) {
        next = op->next;

        if (op->set) {
            json_decref(op->set);
        }

        if (op->inc) {
            json_decref(op->inc);
        }

        if (op->on_insert) {
            json_decref(op->on_insert);
        }

        if (op->doc) {
            json_decref(op->doc);
        }

        free(op->text);
        ngx_free(op);
    }
}


/*
 * In the master, before workers fork, on every configuration cycle: the
 * backend prepares what workers need (SQLite: the schema, the directory
 * for the worker user).  On a cold start (not a reload: streams live on
 * in the bus) this node's records a crash left "broadcasting" become
 * terminated_unexpectedly, before any worker can read them.
 */
ngx_int_t
ngx_ams_store_init_module(ngx_cycle_t *cycle)
{
    ngx_ams_store_t      *store;
    ngx_ams_store_op_t    reset;
    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_ams_get_main_conf(cycle);

    if (amcf == NULL || amcf->store == NULL || ngx_test_config) {
        return NGX_OK;
    }

    store = amcf->store;

    if (store->backend->init_module == NULL) {
        return NGX_OK;
    }

    if (!ngx_is_init_cycle(cycle->old_cycle)) {
        return store->backend->init_module(cycle, store->data, NULL);
    }

    ngx_memzero(&reset, sizeof(ngx_ams_store_op_t));
    reset.type = NGX_AMS_STORE_RESET;
    reset.collection = NGX_AMS_COLL_BROADCAST;
    reset.now_ms = ngx_ams_store_now_ms();
    reset.stale_ms = store->stale;
    reset.store = store;
    reset.log = cycle->log;
    ngx_cpystrn((u_char *) reset.origin, amcf->node_address.data,
                ngx_min(amcf->node_address.len + 1, sizeof(reset.origin)));

    if (store->backend->init_module(cycle, store->data, &reset) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_ams_store_reset_done(&reset);
}


static ngx_int_t
ngx_ams_store_reset_done(ngx_ams_store_op_t *op)
{
    if (op->rc == NGX_ERROR) {
        ngx_log_error(NGX_LOG_EMERG, op->log, 0,
                      "ams store: %V: marking this node's broadcasts left "
                      "by a previous run: %s", &op->store->backend->scheme,
                      op->error);
        return NGX_ERROR;
    }

    if (op->count) {
        ngx_log_error(NGX_LOG_NOTICE, op->log, 0,
                      "ams store: %uL broadcasts left by a previous run "
                      "marked terminated_unexpectedly (originAdress %s)",
                      op->count, op->origin);
    }

    if (op->deleted) {
        ngx_log_error(NGX_LOG_NOTICE, op->log, 0,
                      "ams store: %uL zombi broadcasts left by a previous "
                      "run deleted (originAdress %s)",
                      op->deleted, op->origin);
    }

    return NGX_OK;
}


/*
 * Each worker after fork: the backend opens its own connections.  The
 * first worker of each generation purges expired tokens: soon after it
 * starts, then every NGX_AMS_STORE_PURGE_MS (an exiting generation's
 * timer is cancelable and goes with it).
 */
ngx_int_t
ngx_ams_store_init_worker(ngx_cycle_t *cycle)
{
    ngx_ams_store_t  *store;

    store = ngx_ams_get_main_conf(cycle)->store;

    if (store == NULL) {
        return NGX_OK;
    }

    if (ngx_worker == 0) {
        ngx_ams_store_purge_timer.handler = ngx_ams_store_purge;
        ngx_ams_store_purge_timer.log = cycle->log;
        ngx_ams_store_purge_timer.cancelable = 1;
        ngx_add_timer(&ngx_ams_store_purge_timer, 1000);
    }

    if (store->backend->init_worker == NULL) {
        return NGX_OK;
    }

    return store->backend->init_worker(cycle, store->data);
}


/* in the store's thread pool, never on the event loop: it may be long */
static void
ngx_ams_store_purge(ngx_event_t *ev)
{
    ngx_ams_store_op_t  *op;

    ngx_add_timer(ev, NGX_AMS_STORE_PURGE_MS);

    if (ngx_ams_store_purging) {
        return;
    }

    op = ngx_ams_store_op(NGX_AMS_STORE_PURGE, NGX_AMS_COLL_TOKEN, NULL,
                          NULL, ev->log);
    if (op == NULL) {
        return;
    }

    op->handler = ngx_ams_store_purged;

    if (ngx_ams_store_post(op) != NGX_OK) {
        ngx_ams_store_free(op);
        return;
    }

    ngx_ams_store_purging = 1;
}


static void
ngx_ams_store_purged(ngx_ams_store_op_t *op)
{
    ngx_ams_store_purging = 0;

    if (op->rc == NGX_OK && op->count) {
        ngx_log_error(NGX_LOG_NOTICE, op->log, 0,
                      "ams store: %uL expired tokens purged", op->count);
    }

    ngx_ams_store_free(op);
}


void
ngx_ams_store_exit_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t        i;
    ngx_ams_store_t  *store;

    store = ngx_ams_get_main_conf(cycle)->store;

    if (store == NULL) {
        return;
    }

    /* other modules' last writes (a cluster node's "stopped"), with
     * ngx_ams_store_run_now(): the thread pools are gone by now */
    for (i = 0; i < ngx_ams_store_nexits; i++) {
        ngx_ams_store_exits[i](cycle);
    }

    if (store->backend->exit_worker) {
        store->backend->exit_worker(cycle, store->data);
    }
}


/* the field that holds a document's id, as AMS names it */
const char *
ngx_ams_store_id_field(const char *collection)
{
    if (ngx_strcmp(collection, NGX_AMS_COLL_BROADCAST) == 0) {
        return "streamId";
    }

    if (ngx_strcmp(collection, NGX_AMS_COLL_TOKEN) == 0) {
        return "tokenId";
    }

    return "id";
}
