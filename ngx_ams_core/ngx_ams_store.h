
/*
 * Copyright (C) nginx-ams authors
 *
 * The store: documents with Ant Media Server's field names, kept per
 * application and collection ("broadcast", "token"), as AMS keeps them in
 * MongoDB.  Operations are asynchronous: they run in the "ams" thread
 * pool and their handler is called back on the event loop.  A chain of
 * operations (op->next) runs as one transaction.
 *
 * Backends register themselves by URI scheme ("database sqlite:PATH",
 * "database mongodb://..."): core registers the embedded SQLite one
 * (ngx_ams_store_sqlite.c); a MongoDB backend fits the same operations:
 * find, insert, $set/$inc updates, upserts with $setOnInsert,
 * find-and-delete, sorted offset/size listing, an update of many.
 */


#ifndef _NGX_AMS_STORE_H_INCLUDED_
#define _NGX_AMS_STORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_thread_pool.h>
#include <jansson.h>

#include "ngx_ams_core.h"


#define NGX_AMS_STORE_GET        0   /* doc by id */
#define NGX_AMS_STORE_INSERT     1   /* "set" is the doc; NGX_BUSY if taken */
#define NGX_AMS_STORE_UPSERT     2   /* $set, or insert on_insert + set */
#define NGX_AMS_STORE_UPDATE     3   /* $set and $inc; NGX_DECLINED if none */
#define NGX_AMS_STORE_DELETE     4
#define NGX_AMS_STORE_TAKE       5   /* find and delete: one-time tokens */
#define NGX_AMS_STORE_LIST       6   /* offset/size/sort/search: "text" */
#define NGX_AMS_STORE_COUNT      7
#define NGX_AMS_STORE_RESET      8   /* this node's broadcasting records
                                        older than now_ms -> terminated,
                                        zombi ones deleted */
#define NGX_AMS_STORE_PURGE      9   /* every app's expired tokens */
#define NGX_AMS_STORE_EXPIRE    10   /* delete the docs of collection and
                                        app whose "time_field" (a number,
                                        ms) is below before_ms; count */
#define NGX_AMS_STORE_CLAIM     11   /* broadcast "id" for this origin:
                                        NGX_BUSY (doc: the record) when
                                        it is broadcasting, fresh, with
                                        another originAdress than
                                        "origin"; else upserted as
                                        UPSERT (set, on_insert), NGX_OK.
                                        Atomic: of two nodes racing for
                                        one id exactly one wins */

/* expired one-time tokens are purged this often, by one worker */
#define NGX_AMS_STORE_PURGE_MS   60000

#define NGX_AMS_STORE_ID_LEN     NGX_AMS_NAME_LEN
#define NGX_AMS_STORE_SESSION_LEN  64
#define NGX_AMS_STORE_KEY_LEN    (NGX_AMS_APP_LEN + 2 * NGX_AMS_STORE_ID_LEN \
                                  + 96)

/* broadcast_stale_timeout: a "broadcasting" record whose updateTime is
 * older than this reads as terminated_unexpectedly (AMS: 20 s) */
#define NGX_AMS_STORE_STALE_DEFAULT  20000

#define NGX_AMS_COLL_BROADCAST   "broadcast"
#define NGX_AMS_COLL_TOKEN       "token"
#define NGX_AMS_COLL_SETTINGS    "settings"   /* one doc per application,
                                                 id: the application's
                                                 name; what REST changed
                                                 (ngx_ams_app_settings.c) */

/*
 * op->app "" names no application: the cluster's own collections
 * ("clusternode", ngx_ams_cluster.h), AMS's database "clusterdb".  Each
 * collection has its id field: broadcast "streamId", token "tokenId",
 * clusternode and settings "id" (ngx_ams_store_id_field()).
 */


typedef struct ngx_ams_store_s          ngx_ams_store_t;
typedef struct ngx_ams_store_op_s       ngx_ams_store_op_t;
typedef struct ngx_ams_store_backend_s  ngx_ams_store_backend_t;

typedef void (*ngx_ams_store_handler_pt)(ngx_ams_store_op_t *op);


struct ngx_ams_store_op_s {
    /* what to do */
    ngx_uint_t                type;
    const char               *collection;
    char                      app[NGX_AMS_APP_LEN];
    char                      id[NGX_AMS_STORE_ID_LEN];
    json_t                   *set;
    json_t                   *inc;
    json_t                   *on_insert;
    ngx_uint_t                live_only;    /* COUNT: fresh broadcasting */
    ngx_uint_t                offset;
    ngx_uint_t                size;
    const char               *sort_by;      /* NULL, "name", "date", ... */
    ngx_uint_t                descending;
    char                      search[NGX_AMS_STORE_ID_LEN];
    int64_t                   now_ms;       /* wall clock, for staleness */
    ngx_msec_t                stale_ms;     /* broadcast_stale_timeout */
    char                      origin[NGX_AMS_STORE_ID_LEN]; /* RESET */
    ngx_uint_t                zombi_only;   /* DELETE: only a record that
                                               a publish made ("zombi") */
    const char               *time_field;   /* EXPIRE: a fixed name */
    int64_t                   before_ms;    /* EXPIRE */
    ngx_uint_t                quiet;        /* its errors are the
                                               caller's to log (once per
                                               outage, not per call) */
    char                      session[NGX_AMS_STORE_SESSION_LEN];
                                            /* UPDATE, DELETE: when set,
                                               only a record of this
                                               publish (publishSession),
                                               or of none */

    /* what came of it */
    ngx_int_t                 rc;    /* NGX_OK, NGX_DECLINED, NGX_BUSY,
                                        NGX_ERROR */
    json_t                   *doc;   /* GET, TAKE */
    char                     *text;  /* LIST: a JSON array (malloc) */
    size_t                    text_len;
    uint64_t                  count; /* COUNT, RESET, PURGE */
    uint64_t                  deleted;      /* RESET: zombi records */
    char                      error[128];
    ngx_uint_t                unavailable;  /* the backend could not
                                               reach its server (set
                                               with rc NGX_ERROR) */
    ngx_uint_t                retry;        /* the outage's probe
                                               (ngx_ams_store_health.c) */
    ngx_uint_t                refused;      /* failed at once: an outage */

    /* the read cache (ngx_ams_store_cache.c) */
    char                      cache_key[NGX_AMS_STORE_KEY_LEN];
    uint64_t                  cache_version;
    ngx_uint_t                cached;       /* answered from the cache */

    /* where it goes back to */
    ngx_ams_store_handler_pt  handler;
    void                     *data;
    ngx_log_t                *log;
    ngx_ams_store_op_t       *next;
    ngx_ams_store_t          *store;        /* set by ngx_ams_store_op() */
    ngx_thread_task_t         task;
};


/*
 * A backend.  Each function but "scheme" and "run" may be NULL.
 *
 * configure    config time: "uri" is what follows "scheme:"; sets *data
 * init_module  the master, before workers fork, on every configuration
 *              cycle: what must exist before workers run (a schema, a
 *              directory for the worker user).  "reset" is a RESET
 *              operation on a cold start (NULL on a reload): run it now,
 *              before any worker reads, or fail.  Connections opened
 *              here must be closed here.
 * init_worker  each worker after fork: its own connections (a worker
 *              may also open one per pool thread in "run")
 * exit_worker  the worker is leaving
 * run          a pool thread: one chain of operations, one transaction
 * version      the event loop, cheap, never blocking: a number that
 *              grows whenever anyone (any worker, node or tool)
 *              commits; NGX_DECLINED when it cannot tell.  The read
 *              cache keeps results only while it is unchanged.
 */
struct ngx_ams_store_backend_s {
    ngx_str_t                 scheme;
    char                   *(*configure)(ngx_conf_t *cf, ngx_str_t *uri,
                                         void **data);
    ngx_int_t               (*init_module)(ngx_cycle_t *cycle, void *data,
                                           ngx_ams_store_op_t *reset);
    ngx_int_t               (*init_worker)(ngx_cycle_t *cycle, void *data);
    void                    (*exit_worker)(ngx_cycle_t *cycle, void *data);
    void                    (*run)(ngx_ams_store_op_t *ops, void *data);
    ngx_int_t               (*version)(void *data, uint64_t *version);
};


/* the store of a configuration cycle (ngx_ams_main_conf_t's "store") */
struct ngx_ams_store_s {
    ngx_ams_store_backend_t  *backend;
    void                     *data;         /* the backend's */
    ngx_thread_pool_t        *thread_pool;  /* store_thread_pool */
    ngx_msec_t                stale;        /* broadcast_stale_timeout */
};


ngx_ams_store_op_t *ngx_ams_store_op(ngx_uint_t type, const char *collection,
    ngx_str_t *app, ngx_str_t *id, ngx_log_t *log);
ngx_int_t ngx_ams_store_post(ngx_ams_store_op_t *ops);

/*
 * The chain runs now, in the calling thread, and its handler is called
 * before this returns: for a worker that is exiting, whose thread pools
 * are gone (exit_process) or whose event loop may not run again.  It
 * blocks on the backend (SQLite: its lock, up to busy_timeout).
 */
void ngx_ams_store_run_now(ngx_ams_store_op_t *ops);

/*
 * "handler" runs in each exiting worker (exit_process) after the bus has
 * let go of the worker's streams and before the store closes: the place
 * for a last ngx_ams_store_run_now().  Add it in the module's
 * create_conf (the list is emptied on every configuration cycle).
 */
typedef void (*ngx_ams_store_exit_pt)(ngx_cycle_t *cycle);

ngx_int_t ngx_ams_store_at_exit(ngx_ams_store_exit_pt handler);
const char *ngx_ams_store_op_name(ngx_uint_t type);
void ngx_ams_store_free(ngx_ams_store_op_t *ops);
const char *ngx_ams_store_id_field(const char *collection);
int64_t ngx_ams_store_now_ms(void);

/*
 * Backends register in their module's create_conf (it runs on every
 * configuration cycle, after core's, which empties the list and adds
 * SQLite), before any "database" directive is resolved.
 */
ngx_int_t ngx_ams_store_register(ngx_ams_store_backend_t *backend);

/* ngx_ams_store.c: called by the core module */
void ngx_ams_store_reset_backends(void);
char *ngx_ams_store_configure(ngx_conf_t *cf, ngx_ams_main_conf_t *amcf);
ngx_int_t ngx_ams_store_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_ams_store_init_worker(ngx_cycle_t *cycle);
void ngx_ams_store_exit_worker(ngx_cycle_t *cycle);

extern ngx_ams_store_backend_t  ngx_ams_store_sqlite;


#endif /* _NGX_AMS_STORE_H_INCLUDED_ */
