
/*
 * Copyright (C) nginx-ams authors
 *
 * Per-broadcast viewer limits: the record's fields kept in the stream's
 * slot, and the checks the gates make on a new viewer.
 *
 * The counts a limit is compared with are those of this node: in a
 * cluster each node holds a stream's viewers to its limit on its own.  A
 * WebRTC player is counted from DTLS on (ngx_ams_viewers.c), so players
 * whose sessions are still connecting are not yet counted: offers that
 * arrive together may pass a limit by that many.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"
#include "ngx_ams_store.h"
#include "ngx_ams_viewers.h"
#include "ngx_ams_viewer_limits.h"


typedef struct {
    ngx_ams_stream_t         *stream;
    ngx_uint_t                generation;
    ngx_atomic_uint_t         stamp;
} ngx_ams_viewer_limits_item_t;


struct ngx_ams_viewer_limits_read_s {
    ngx_ams_store_op_t       *chain;
    ngx_ams_store_op_t      **last;
    ngx_uint_t                n;
    ngx_uint_t                max;
    ngx_log_t                *log;
    ngx_ams_viewer_limits_item_t  item[1];
};


static void ngx_ams_viewer_limit_set(ngx_atomic_int_t *limit, json_t *doc,
    const char *field, ngx_uint_t keep);
static void ngx_ams_viewer_limits_read_done(ngx_ams_store_op_t *ops);


void
ngx_ams_viewer_limits_apply(ngx_ams_stream_t *st, json_t *doc,
    ngx_uint_t rest)
{
    if (rest) {
        (void) ngx_atomic_fetch_add(&st->limits_stamp, 1);
    }

    ngx_ams_viewer_limit_set(&st->hls_viewer_limit, doc, "hlsViewerLimit",
                             rest);
    ngx_ams_viewer_limit_set(&st->dash_viewer_limit, doc, "dashViewerLimit",
                             rest);
    ngx_ams_viewer_limit_set(&st->webrtc_viewer_limit, doc,
                             "webRTCViewerLimit", rest);
}


/* a field absent: kept ("keep", a REST change of other fields) or none
 * (a whole record from before the field existed) */
static void
ngx_ams_viewer_limit_set(ngx_atomic_int_t *limit, json_t *doc,
    const char *field, ngx_uint_t keep)
{
    json_t      *v;
    json_int_t   n;

    v = json_object_get(doc, field);

    if (v == NULL && keep) {
        return;
    }

    n = json_is_integer(v) ? json_integer_value(v) : -1;

    *limit = (n < 0) ? -1 : (ngx_atomic_int_t) ngx_min(n, NGX_MAX_INT32_VALUE);
}


ngx_uint_t
ngx_ams_viewer_limit_reached(ngx_ams_stream_t *st, ngx_uint_t type,
    ngx_msec_t timeout)
{
    ngx_atomic_int_t  limit;

    limit = (type == NGX_AMS_VIEWER_DASH) ? st->dash_viewer_limit
                                          : st->hls_viewer_limit;
    if (limit < 0) {
        return 0;
    }

    return ngx_ams_viewer_count(st, type, timeout) >= (ngx_uint_t) limit;
}


ngx_uint_t
ngx_ams_webrtc_viewer_limit_reached(ngx_str_t *app, ngx_str_t *name)
{
    uint32_t           generation;
    uint64_t           viewers;
    ngx_atomic_int_t   limit;
    ngx_ams_stream_t  *st;

    st = ngx_ams_webrtc_viewer_stream(app, name, &generation);
    if (st == NULL) {
        return 0;
    }

    limit = st->webrtc_viewer_limit;
    if (limit < 0) {
        return 0;
    }

    viewers = __atomic_load_n(&st->webrtc_viewers, __ATOMIC_ACQUIRE);

    /* the slot went to another stream meanwhile: nothing to compare */
    if ((uint32_t) (viewers >> 32) != generation) {
        return 0;
    }

    return (uint32_t) viewers >= (uint64_t) limit;
}


ngx_ams_viewer_limits_read_t *
ngx_ams_viewer_limits_read(ngx_uint_t n, ngx_log_t *log)
{
    ngx_ams_viewer_limits_read_t  *rd;

    if (n == 0 || ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle)->store
                  == NULL)
    {
        return NULL;
    }

    rd = ngx_alloc(sizeof(ngx_ams_viewer_limits_read_t)
                   + (n - 1) * sizeof(ngx_ams_viewer_limits_item_t), log);
    if (rd == NULL) {
        return NULL;
    }

    rd->chain = NULL;
    rd->last = &rd->chain;
    rd->n = 0;
    rd->max = n;
    rd->log = log;

    return rd;
}


ngx_int_t
ngx_ams_viewer_limits_read_add(ngx_ams_viewer_limits_read_t *rd,
    ngx_ams_stream_t *st)
{
    ngx_str_t                      app, id;
    ngx_ams_store_op_t            *op;
    ngx_ams_viewer_limits_item_t  *item;

    if (rd == NULL || rd->n == rd->max) {
        return NGX_DECLINED;
    }

    app.data = st->app;
    app.len = st->app_len;
    id.data = st->name;
    id.len = st->name_len;

    op = ngx_ams_store_op(NGX_AMS_STORE_GET, NGX_AMS_COLL_BROADCAST, &app,
                          &id, rd->log);
    if (op == NULL) {
        return NGX_ERROR;
    }

    /* its failures are nobody's concern: the next read tries again */
    op->quiet = 1;

    item = &rd->item[rd->n++];
    item->stream = st;
    item->generation = st->generation;
    item->stamp = st->limits_stamp;

    *rd->last = op;
    rd->last = &op->next;

    return NGX_OK;
}


void
ngx_ams_viewer_limits_read_post(ngx_ams_viewer_limits_read_t *rd)
{
    if (rd == NULL) {
        return;
    }

    if (rd->chain == NULL) {
        ngx_free(rd);
        return;
    }

    rd->chain->handler = ngx_ams_viewer_limits_read_done;
    rd->chain->data = rd;

    if (ngx_ams_store_post(rd->chain) != NGX_OK) {
        ngx_ams_store_free(rd->chain);
        ngx_free(rd);
    }
}


/* Context: the publishing worker's event loop */
static void
ngx_ams_viewer_limits_read_done(ngx_ams_store_op_t *ops)
{
    ngx_ams_viewer_limits_read_t *rd = ops->data;

    ngx_uint_t                     i;
    ngx_ams_store_op_t            *op;
    ngx_ams_stream_t              *st;
    ngx_ams_viewer_limits_item_t  *item;

    for (op = ops, i = 0; op && i < rd->n; op = op->next, i++) {
        item = &rd->item[i];
        st = item->stream;

        /* the stream ended, or REST changed its limits since: this
         * answer is older than what the slot holds */
        if (op->rc == NGX_ERROR
            || st->state != NGX_AMS_STREAM_ACTIVE
            || st->generation != item->generation
            || st->limits_stamp != item->stamp)
        {
            continue;
        }

        /* no record (NGX_DECLINED): no limits */
        ngx_ams_viewer_limits_apply(st, op->rc == NGX_OK ? op->doc : NULL,
                                    0);
    }

    ngx_ams_store_free(ops);
    ngx_free(rd);
}
