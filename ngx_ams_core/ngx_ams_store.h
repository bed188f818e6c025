
/*
 * Copyright (C) nginx-ams authors
 *
 * The store: documents with Ant Media Server's field names, kept per
 * application and collection ("broadcast", "token"), as AMS keeps them in
 * MongoDB.  Operations are asynchronous: they run in the "ams" thread
 * pool and their handler is called back on the event loop.  A chain of
 * operations (op->next) runs as one transaction.
 *
 * The embedded backend is SQLite (ngx_ams_store_sqlite.c); a MongoDB
 * backend fits the same operations: find, insert, $set/$inc updates,
 * upserts with $setOnInsert, find-and-delete, sorted offset/size listing.
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
#define NGX_AMS_STORE_RESET      8   /* left broadcasting -> terminated */

#define NGX_AMS_STORE_ID_LEN     NGX_AMS_NAME_LEN
#define NGX_AMS_STORE_KEY_LEN    (NGX_AMS_APP_LEN + 2 * NGX_AMS_STORE_ID_LEN \
                                  + 96)

/* a broadcast whose updateTime is older than this is not live any more */
#define NGX_AMS_BROADCAST_STALE_MS   20000

#define NGX_AMS_COLL_BROADCAST   "broadcast"
#define NGX_AMS_COLL_TOKEN       "token"


typedef struct ngx_ams_store_op_s  ngx_ams_store_op_t;

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

    /* what came of it */
    ngx_int_t                 rc;    /* NGX_OK, NGX_DECLINED, NGX_BUSY,
                                        NGX_ERROR */
    json_t                   *doc;   /* GET, TAKE */
    char                     *text;  /* LIST: a JSON array (malloc) */
    size_t                    text_len;
    uint64_t                  count; /* COUNT, RESET */
    char                      error[128];

    /* the read cache (ngx_ams_store_cache.c) */
    char                      cache_key[NGX_AMS_STORE_KEY_LEN];
    ngx_atomic_uint_t         cache_generation;
    ngx_uint_t                cached;       /* answered from the cache */

    /* where it goes back to */
    ngx_ams_store_handler_pt  handler;
    void                     *data;
    ngx_log_t                *log;
    ngx_ams_store_op_t       *next;
    ngx_thread_task_t         task;
};


/* the backend, called in a thread pool thread (run) or the master (open) */
typedef struct {
    const char               *name;
    ngx_int_t               (*open)(ngx_cycle_t *cycle, ngx_str_t *path,
                                    ngx_uint_t first_start);
    void                    (*run)(ngx_ams_store_op_t *ops);
} ngx_ams_store_backend_t;


ngx_ams_store_op_t *ngx_ams_store_op(ngx_uint_t type, const char *collection,
    ngx_str_t *app, ngx_str_t *id, ngx_log_t *log);
ngx_int_t ngx_ams_store_post(ngx_ams_store_op_t *ops);
void ngx_ams_store_free(ngx_ams_store_op_t *ops);
int64_t ngx_ams_store_now_ms(void);

/* ngx_ams_store.c: called by the core module */
ngx_int_t ngx_ams_store_init_module(ngx_cycle_t *cycle);

extern ngx_ams_store_backend_t  ngx_ams_store_sqlite;


#endif /* _NGX_AMS_STORE_H_INCLUDED_ */
