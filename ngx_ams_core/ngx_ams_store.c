
/*
 * Copyright (C) nginx-ams authors
 *
 * Store operations: allocation, hand-off to the thread pool, completion
 * on the event loop.  The backend does the work in the thread.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_core.h"
#include "ngx_ams_store.h"
#include "ngx_ams_store_cache.h"


static void ngx_ams_store_thread(void *data, ngx_log_t *log);
static void ngx_ams_store_done(ngx_event_t *ev);
static void ngx_ams_store_copy(char *dst, size_t size, ngx_str_t *src);


static ngx_ams_store_backend_t  *ngx_ams_store_backend = &ngx_ams_store_sqlite;


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
    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    if (amcf == NULL || amcf->thread_pool == NULL) {
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
        return NGX_OK;
    }

    return ngx_thread_task_post(amcf->thread_pool, &ops->task);
}


static void
ngx_ams_store_thread(void *data, ngx_log_t *log)
{
    ngx_ams_store_op_t  *ops = data;

    ngx_ams_store_backend->run(ops);
}


static void
ngx_ams_store_done(ngx_event_t *ev)
{
    ngx_ams_store_op_t  *ops = ev->data, *op;

    if (!ops->cached) {
        ngx_ams_store_cache_put(ops);
    }

    for (op = ops; op; op = op->next) {
        if (op->rc == NGX_ERROR) {
            ngx_log_error(NGX_LOG_ERR, op->log, 0,
                          "ams store: %s %s/%s: %s", ngx_ams_store_backend->name,
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
 * In the master, before workers start: create the store's directory for
 * the workers' user and, on a cold start (not a reload), mark records a
 * crash left "broadcasting" as terminated_unexpectedly.
 */
ngx_int_t
ngx_ams_store_init_module(ngx_cycle_t *cycle)
{
    ngx_uint_t            first_start;
    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_ams_get_main_conf(cycle);

    if (amcf == NULL || amcf->shm_zone == NULL || ngx_test_config) {
        return NGX_OK;
    }

    first_start = ngx_is_init_cycle(cycle->old_cycle);

    return ngx_ams_store_backend->open(cycle, &amcf->database, first_start);
}
