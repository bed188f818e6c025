
/*
 * Copyright (C) nginx-ams authors
 *
 * HLS/DASH viewer tables: open addressing with a bounded probe window.
 * An entry whose last request is older than the timeout is free again, so
 * no tombstones or sweeps are needed.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"
#include "ngx_ams_viewers.h"


#define NGX_AMS_VIEWERS_PROBE    32


typedef struct {
    uint64_t                  key;
    uint32_t                  last;          /* ngx_current_msec, wraps */
    uint32_t                  type;
} ngx_ams_viewer_t;


static ngx_inline ngx_uint_t
ngx_ams_viewer_fresh(ngx_ams_viewer_t *v, uint32_t now, ngx_msec_t timeout)
{
    return v->type != 0 && (uint32_t) (now - v->last) < timeout;
}


size_t
ngx_ams_viewers_size(void)
{
    return NGX_AMS_VIEWERS_SLOTS * sizeof(ngx_ams_viewer_t);
}


ngx_int_t
ngx_ams_viewer_find(ngx_ams_stream_t *st, uint64_t key, ngx_uint_t type,
    ngx_msec_t timeout)
{
    uint32_t           now;
    ngx_int_t          rc;
    ngx_uint_t         i, n;
    ngx_ams_viewer_t  *table, *v;

    now = (uint32_t) ngx_current_msec;
    rc = NGX_DECLINED;

    /* under the lock: the bus frees the table under it when the stream
     * ends (ngx_ams_viewers_release) */
    ngx_spinlock(&st->viewers_lock, ngx_pid, 1024);

    table = st->viewers;
    if (table == NULL) {
        ngx_unlock(&st->viewers_lock);
        return NGX_DECLINED;
    }

    for (n = 0; n < NGX_AMS_VIEWERS_PROBE; n++) {
        i = (key + n) % NGX_AMS_VIEWERS_SLOTS;
        v = &table[i];

        if (v->key == key && v->type == type
            && ngx_ams_viewer_fresh(v, now, timeout))
        {
            v->last = now;
            rc = NGX_OK;
            break;
        }
    }

    ngx_unlock(&st->viewers_lock);

    return rc;
}


ngx_int_t
ngx_ams_viewer_add(ngx_ams_stream_t *st, uint64_t key, ngx_uint_t type,
    ngx_msec_t timeout)
{
    uint32_t           now;
    ngx_int_t          rc;
    ngx_uint_t         i, n;
    ngx_ams_viewer_t  *table, *v, *free;

    now = (uint32_t) ngx_current_msec;
    free = NULL;
    rc = NGX_BUSY;

    ngx_spinlock(&st->viewers_lock, ngx_pid, 1024);

    table = st->viewers;
    if (table == NULL) {
        ngx_unlock(&st->viewers_lock);
        return NGX_BUSY;
    }

    for (n = 0; n < NGX_AMS_VIEWERS_PROBE; n++) {
        i = (key + n) % NGX_AMS_VIEWERS_SLOTS;
        v = &table[i];

        if (!ngx_ams_viewer_fresh(v, now, timeout)) {
            if (free == NULL) {
                free = v;
            }
            continue;
        }

        if (v->key == key && v->type == type) {
            free = v;   /* admitted twice (two requests raced): one viewer */
            break;
        }
    }

    if (free) {
        free->key = key;
        free->type = (uint32_t) type;
        free->last = now;
        rc = NGX_OK;
    }

    ngx_unlock(&st->viewers_lock);

    return rc;
}


ngx_uint_t
ngx_ams_viewer_count(ngx_ams_stream_t *st, ngx_uint_t type,
    ngx_msec_t timeout)
{
    uint32_t           now;
    ngx_uint_t         i, count;
    ngx_ams_viewer_t  *table;

    table = st->viewers;
    if (table == NULL) {
        return 0;
    }

    now = (uint32_t) ngx_current_msec;
    count = 0;

    /* no lock: a torn entry is miscounted for one reading at worst, and a
     * table freed meanwhile is still mapped shared memory */
    for (i = 0; i < NGX_AMS_VIEWERS_SLOTS; i++) {
        if (table[i].type == type
            && ngx_ams_viewer_fresh(&table[i], now, timeout))
        {
            count++;
        }
    }

    return count;
}


/* the stream's slot is being freed: take the table out under the lock */
void *
ngx_ams_viewers_release(ngx_ams_stream_t *st)
{
    void  *table;

    ngx_spinlock(&st->viewers_lock, ngx_pid, 1024);
    table = st->viewers;
    st->viewers = NULL;
    ngx_unlock(&st->viewers_lock);

    return table;
}
