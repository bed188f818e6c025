
/*
 * Copyright (C) nginx-ams authors
 *
 * HLS/DASH viewer tables: open addressing with a bounded probe window.
 * An entry whose last request is older than the timeout is free again, so
 * no tombstones or sweeps are needed.  A stream gets its table with its
 * first HLS/DASH viewer: a publisher alone reserves none.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"
#include "ngx_ams_viewers.h"


#define NGX_AMS_VIEWERS_PROBE    32


static ngx_int_t ngx_ams_viewers_attach(ngx_ams_stream_t *st);
static ngx_uint_t ngx_ams_webrtc_viewers_add(ngx_ams_stream_t *st,
    uint32_t generation, ngx_int_t delta);


static ngx_ams_stream_free_pt  ngx_ams_viewers_next_free;


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

    /* under the lock: the table is taken out under it when the stream
     * is freed (ngx_ams_viewers_free) */
    ngx_ams_shm_lock(&st->viewers_lock);

    table = st->viewers;
    if (table == NULL) {
        ngx_ams_shm_unlock(&st->viewers_lock);
        return NGX_DECLINED;
    }

    for (n = 0; n < NGX_AMS_VIEWERS_PROBE; n++) {
        i = (key + n) % NGX_AMS_VIEWERS_SLOTS;
        v = &table[i];

        if (v->key == key
            && (v->type == type || type == NGX_AMS_VIEWER_ANY)
            && ngx_ams_viewer_fresh(v, now, timeout))
        {
            v->last = now;
            rc = NGX_OK;
            break;
        }
    }

    ngx_ams_shm_unlock(&st->viewers_lock);

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

    ngx_ams_shm_lock(&st->viewers_lock);

    table = st->viewers;

    if (table == NULL) {
        ngx_ams_shm_unlock(&st->viewers_lock);

        if (ngx_ams_viewers_attach(st) != NGX_OK) {
            return NGX_BUSY;
        }

        ngx_ams_shm_lock(&st->viewers_lock);

        table = st->viewers;

        if (table == NULL) {
            ngx_ams_shm_unlock(&st->viewers_lock);
            return NGX_BUSY;
        }
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

    ngx_ams_shm_unlock(&st->viewers_lock);

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


/* Context: the publishing worker: every live stream gets a table */

/* the first viewer of a live stream brings its table */

ngx_int_t
ngx_ams_webrtc_viewer_join(ngx_str_t *app, ngx_str_t *name,
    ngx_ams_viewer_ticket_t *ticket)
{
    uint32_t           generation;
    ngx_ams_stream_t  *st;

    ticket->stream = NULL;

    st = ngx_ams_webrtc_viewer_stream(app, name, &generation);
    if (st == NULL) {
        return NGX_DECLINED;
    }

    if (!ngx_ams_webrtc_viewers_add(st, generation, 1)) {
        return NGX_DECLINED;
    }

    ticket->stream = st;
    ticket->generation = generation;

    return NGX_OK;
}


ngx_ams_stream_t *
ngx_ams_webrtc_viewer_stream(ngx_str_t *app, ngx_str_t *name,
    uint32_t *generation)
{
    u_char             parent[NGX_AMS_NAME_LEN];
    ngx_str_t          pname;
    ngx_ams_stream_t  *st;

    st = ngx_ams_bus_find(app, name);
    if (st == NULL) {
        return NULL;
    }

    *generation = (uint32_t) st->generation;
    ngx_memory_barrier();

    if (st->parent_len) {
        /* a rung: its parent's name, read while the slot is still the
         * rung's (a new publish changes the generation first) */
        pname.len = ngx_min(st->parent_len, NGX_AMS_NAME_LEN);
        pname.data = parent;
        ngx_memcpy(parent, st->parent, pname.len);
        ngx_memory_barrier();

        if ((uint32_t) st->generation != *generation) {
            return NULL;
        }

        st = ngx_ams_bus_find(app, &pname);
        if (st == NULL) {
            return NULL;
        }

        *generation = (uint32_t) st->generation;
    }

    return st;
}


void
ngx_ams_webrtc_viewer_leave(ngx_ams_viewer_ticket_t *ticket)
{
    if (ticket->stream) {
        (void) ngx_ams_webrtc_viewers_add(ticket->stream, ticket->generation,
                                          -1);
        ticket->stream = NULL;
    }
}


/* the count moves only while the slot holds "generation": 1 if it did */
static ngx_uint_t
ngx_ams_webrtc_viewers_add(ngx_ams_stream_t *st, uint32_t generation,
    ngx_int_t delta)
{
    uint64_t  old, new;

    old = __atomic_load_n(&st->webrtc_viewers, __ATOMIC_ACQUIRE);

    for ( ;; ) {
        if ((uint32_t) (old >> 32) != generation
            || (delta < 0 && (uint32_t) old == 0)
            || (delta > 0 && (uint32_t) old == 0xffffffff))
        {
            return 0;
        }

        new = (delta > 0) ? old + 1 : old - 1;

        if (__atomic_compare_exchange_n(&st->webrtc_viewers, &old, new, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        {
            return 1;
        }
    }
}


static ngx_int_t
ngx_ams_viewers_attach(ngx_ams_stream_t *st)
{
    void  *table;

    table = ngx_ams_bus_shm_calloc(ngx_ams_viewers_size());

    if (table == NULL) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ams viewers: zone full, \"%*s\" counts no HLS/DASH "
                      "viewers (bus_zone_size)", st->name_len, st->name);
        return NGX_ERROR;
    }

    /* a stream that ended meanwhile gets none: its free has run or will
     * find nothing to free */
    ngx_ams_shm_lock(&st->viewers_lock);

    if (st->viewers == NULL && st->state == NGX_AMS_STREAM_ACTIVE) {
        st->viewers = table;
        table = NULL;
    }

    ngx_ams_shm_unlock(&st->viewers_lock);

    if (table) {
        ngx_ams_bus_shm_free(table);
    }

    return NGX_OK;
}


/* the stream's slot is being freed (registry locked): take the table out
 * under its own lock, so no request is counting in it meanwhile */

static void
ngx_ams_viewers_free(ngx_ams_stream_t *st)
{
    void  *table;

    ngx_ams_shm_lock(&st->viewers_lock);
    table = st->viewers;
    st->viewers = NULL;
    ngx_ams_shm_unlock(&st->viewers_lock);

    if (table) {
        ngx_ams_bus_shm_free_locked(table);
    }

    ngx_ams_viewers_next_free(st);
}


void
ngx_ams_viewers_init_chains(void)
{
    ngx_ams_viewers_next_free = ngx_ams_stream_free_handler;
    ngx_ams_stream_free_handler = ngx_ams_viewers_free;
}
