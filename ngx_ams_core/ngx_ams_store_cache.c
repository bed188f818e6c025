
/*
 * Copyright (C) nginx-ams authors
 *
 * A per-worker cache of read results (GET, LIST, COUNT), so a dashboard
 * polling the REST API does not send each call through the thread pool.
 *
 * An entry is good while the store's version it was read under is
 * current, and for at most NGX_AMS_STORE_CACHE_MS (a record's status also
 * depends on the clock: broadcasting turns stale).  The backend's version
 * changes whenever anyone commits: this worker, another one, another
 * node, an operator's sqlite3 (SQLite: PRAGMA data_version), so no write
 * is missed, wherever it came from.  A backend that cannot tell leaves
 * this worker's own write count as the version: other writers are then
 * seen within the TTL.  The version is read before a query is posted, so
 * a result that raced a write is filed under the older version and never
 * served after the write.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_core.h"
#include "ngx_ams_store.h"
#include "ngx_ams_store_cache.h"


#define NGX_AMS_STORE_CACHE_SIZE   64
#define NGX_AMS_STORE_CACHE_MS     1000


typedef struct {
    ngx_queue_t               queue;         /* most recent first */
    char                      key[NGX_AMS_STORE_KEY_LEN];
    uint64_t                  version;
    ngx_msec_t                stored;
    ngx_int_t                 rc;
    json_t                   *doc;
    char                     *text;
    size_t                    text_len;
    uint64_t                  count;
} ngx_ams_store_entry_t;


static ngx_uint_t ngx_ams_store_cache_key(ngx_ams_store_op_t *op, char *key);
static ngx_int_t ngx_ams_store_cache_version(ngx_ams_store_t *store,
    uint64_t *version);
static ngx_ams_store_entry_t *ngx_ams_store_cache_find(char *key);
static void ngx_ams_store_cache_clear(ngx_ams_store_entry_t *e);


static ngx_queue_t             ngx_ams_store_cache_lru;
static ngx_ams_store_entry_t   ngx_ams_store_cache_entries[
                                   NGX_AMS_STORE_CACHE_SIZE];
static ngx_uint_t              ngx_ams_store_cache_ready;
static uint64_t                ngx_ams_store_cache_writes;  /* this worker's */


static void
ngx_ams_store_cache_init(void)
{
    ngx_uint_t  i;

    ngx_queue_init(&ngx_ams_store_cache_lru);

    for (i = 0; i < NGX_AMS_STORE_CACHE_SIZE; i++) {
        ngx_queue_insert_tail(&ngx_ams_store_cache_lru,
                              &ngx_ams_store_cache_entries[i].queue);
    }

    ngx_ams_store_cache_ready = 1;
}


/* NGX_OK: "op" carries the cached result; NGX_DECLINED: ask the store */
ngx_int_t
ngx_ams_store_cache_get(ngx_ams_store_op_t *op)
{
    ngx_ams_store_entry_t  *e;

    if (op->next || !ngx_ams_store_cache_key(op, op->cache_key)) {
        return NGX_DECLINED;
    }

    if (ngx_ams_store_cache_version(op->store, &op->cache_version)
        != NGX_OK)
    {
        op->cache_key[0] = '\0';    /* nothing to file the result under */
        return NGX_DECLINED;
    }

    e = ngx_ams_store_cache_find(op->cache_key);

    if (e == NULL || e->version != op->cache_version
        || ngx_current_msec - e->stored >= NGX_AMS_STORE_CACHE_MS)
    {
        return NGX_DECLINED;
    }

    op->rc = e->rc;
    op->count = e->count;

    if (e->doc) {
        op->doc = json_deep_copy(e->doc);
        if (op->doc == NULL) {
            return NGX_DECLINED;
        }
    }

    if (e->text) {
        op->text = malloc(e->text_len);
        if (op->text == NULL) {
            if (op->doc) {
                json_decref(op->doc);
                op->doc = NULL;
            }
            return NGX_DECLINED;
        }

        ngx_memcpy(op->text, e->text, e->text_len);
        op->text_len = e->text_len;
    }

    ngx_queue_remove(&e->queue);
    ngx_queue_insert_head(&ngx_ams_store_cache_lru, &e->queue);

    return NGX_OK;
}


/* after a query: keep a read's result; a write moves the local version */
void
ngx_ams_store_cache_put(ngx_ams_store_op_t *ops)
{
    ngx_queue_t            *q;
    ngx_ams_store_op_t     *op;
    ngx_ams_store_entry_t  *e;

    for (op = ops; op; op = op->next) {
        if (op->type != NGX_AMS_STORE_GET && op->type != NGX_AMS_STORE_LIST
            && op->type != NGX_AMS_STORE_COUNT)
        {
            ngx_ams_store_cache_writes++;
            return;
        }
    }

    op = ops;

    if (op->cache_key[0] == '\0' || op->rc == NGX_ERROR) {
        return;
    }

    if (!ngx_ams_store_cache_ready) {
        ngx_ams_store_cache_init();
    }

    e = ngx_ams_store_cache_find(op->cache_key);

    if (e == NULL) {
        q = ngx_queue_last(&ngx_ams_store_cache_lru);
        e = ngx_queue_data(q, ngx_ams_store_entry_t, queue);
        ngx_memcpy(e->key, op->cache_key, sizeof(e->key));
    }

    ngx_ams_store_cache_clear(e);

    e->version = op->cache_version;
    e->stored = ngx_current_msec;
    e->rc = op->rc;
    e->count = op->count;

    if (op->doc) {
        e->doc = json_deep_copy(op->doc);
    }

    if (op->text) {
        e->text = malloc(op->text_len);
        if (e->text) {
            ngx_memcpy(e->text, op->text, op->text_len);
            e->text_len = op->text_len;
        }
    }

    if ((op->doc && e->doc == NULL) || (op->text && e->text == NULL)) {
        ngx_ams_store_cache_clear(e);
        e->key[0] = '\0';
        return;
    }

    ngx_queue_remove(&e->queue);
    ngx_queue_insert_head(&ngx_ams_store_cache_lru, &e->queue);
}


static ngx_uint_t
ngx_ams_store_cache_key(ngx_ams_store_op_t *op, char *key)
{
    if (op->type != NGX_AMS_STORE_GET && op->type != NGX_AMS_STORE_LIST
        && op->type != NGX_AMS_STORE_COUNT)
    {
        key[0] = '\0';
        return 0;
    }

    /* every field that changes the answer; '\x1f' cannot be in any */
    snprintf(key, NGX_AMS_STORE_KEY_LEN,
             "%u\x1f%s\x1f%s\x1f%s\x1f%u\x1f%u\x1f%u\x1f%s\x1f%u\x1f%s",
             (unsigned) op->type, op->collection, op->app, op->id,
             (unsigned) op->live_only, (unsigned) op->offset,
             (unsigned) op->size, op->sort_by ? op->sort_by : "",
             (unsigned) op->descending, op->search);

    return 1;
}


/*
 * The backend's version, else this worker's write count.  A backend's
 * version may be anything; this worker's writes are added in, so they
 * retire entries even if a backend's version could miss them.
 */
static ngx_int_t
ngx_ams_store_cache_version(ngx_ams_store_t *store, uint64_t *version)
{
    uint64_t  v;

    v = 0;

    if (store->backend->version
        && store->backend->version(store->data, &v) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    *version = v + ngx_ams_store_cache_writes;

    return NGX_OK;
}


static ngx_ams_store_entry_t *
ngx_ams_store_cache_find(char *key)
{
    ngx_queue_t            *q;
    ngx_ams_store_entry_t  *e;

    if (!ngx_ams_store_cache_ready) {
        return NULL;
    }

    for (q = ngx_queue_head(&ngx_ams_store_cache_lru);
         q != ngx_queue_sentinel(&ngx_ams_store_cache_lru);
         q = ngx_queue_next(q))
    {
        e = ngx_queue_data(q, ngx_ams_store_entry_t, queue);

        if (e->key[0] && ngx_strcmp(e->key, key) == 0) {
            return e;
        }
    }

    return NULL;
}


static void
ngx_ams_store_cache_clear(ngx_ams_store_entry_t *e)
{
    if (e->doc) {
        json_decref(e->doc);
        e->doc = NULL;
    }

    free(e->text);
    e->text = NULL;
    e->text_len = 0;
}
