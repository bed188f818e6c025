
/*
 * Copyright (C) nginx-ams authors
 *
 * The node's WebRTC sessions by URL id (ngx_ams_webrtc_registry.h): a
 * fixed table in its own zone, open addressing over a window of 32
 * slots from the id's hash, under one lock that a dead holder does not
 * keep (ngx_ams_shm_lock).  Ids are 128 random bits, so they spread
 * evenly, and they are compared in constant time: the table answers
 * requests from anyone.
 *
 * Invariant: an entry's pid is a live worker's that holds the session,
 * or 0.  The owner writes and frees its entries; another worker only
 * sets "close" and moves the zone's request counter.  A worker that
 * died leaves its entries behind: they are taken back when found.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_transport.h"
#include "ngx_ams_webrtc_registry.h"


typedef struct {
    ngx_atomic_t                     lock;
    ngx_atomic_t                     requests;   /* moves on every mark */
    ngx_ams_webrtc_registry_entry_t  entry[NGX_AMS_WEBRTC_REGISTRY_SLOTS];
} ngx_ams_webrtc_registry_sh_t;


static ngx_int_t ngx_ams_webrtc_registry_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_uint_t ngx_ams_webrtc_registry_hash(u_char *id);
static ngx_uint_t ngx_ams_webrtc_registry_same(u_char *a, u_char *b);
static ngx_ams_webrtc_registry_entry_t *ngx_ams_webrtc_registry_lookup(
    u_char *id);
static ngx_uint_t ngx_ams_webrtc_registry_dead(ngx_pid_t pid);
static void ngx_ams_webrtc_registry_tick(ngx_event_t *ev);


static ngx_str_t  ngx_ams_webrtc_registry_name =
    ngx_string("ams_webrtc_sessions");

static ngx_ams_webrtc_registry_sh_t  *ngx_ams_webrtc_registry;
static ngx_uint_t                     ngx_ams_webrtc_registry_owned;
static ngx_atomic_uint_t              ngx_ams_webrtc_registry_seen;
static ngx_uint_t                     ngx_ams_webrtc_registry_full_logged;
static ngx_event_t                    ngx_ams_webrtc_registry_timer;


ngx_int_t
ngx_ams_webrtc_registry_zone(ngx_conf_t *cf, void *tag)
{
    size_t           size;
    ngx_shm_zone_t  *zone;

    /* the table, the slab allocator's page descriptors and headers */
    size = ngx_align(sizeof(ngx_ams_webrtc_registry_sh_t)
                     + 32 * ngx_pagesize, ngx_pagesize);

    zone = ngx_shared_memory_add(cf, &ngx_ams_webrtc_registry_name, size,
                                 tag);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_ams_webrtc_registry_init_zone;

    return NGX_OK;
}


static ngx_int_t
ngx_ams_webrtc_registry_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t               *shpool;
    ngx_ams_webrtc_registry_sh_t  *sh;

    if (data) {
        /* a reload: the old workers' sessions stay findable until they
         * leave (they close them as they exit) */
        shm_zone->data = data;
        ngx_ams_webrtc_registry = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    sh = ngx_slab_calloc(shpool, sizeof(ngx_ams_webrtc_registry_sh_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    shm_zone->data = sh;
    ngx_ams_webrtc_registry = sh;

    return NGX_OK;
}


void
ngx_ams_webrtc_registry_insert(ngx_ams_webrtc_session_t *s)
{
    ngx_uint_t                        i, h, k, stale;
    ngx_ams_webrtc_registry_sh_t     *sh = ngx_ams_webrtc_registry;
    ngx_ams_webrtc_registry_entry_t  *e;

    if (sh == NULL || ngx_ams_webrtc_ts(s)->registry) {
        return;
    }

    h = ngx_ams_webrtc_registry_hash(s->id);
    e = NULL;

    ngx_ams_shm_lock(&sh->lock);

    for (stale = 0; stale < 2 && e == NULL; stale++) {
        for (i = 0; i < NGX_AMS_WEBRTC_REGISTRY_PROBE; i++) {
            k = (h + i) % NGX_AMS_WEBRTC_REGISTRY_SLOTS;

            if (sh->entry[k].pid == 0
                || (stale && ngx_ams_webrtc_registry_dead(
                                 (ngx_pid_t) sh->entry[k].pid)))
            {
                e = &sh->entry[k];
                break;
            }
        }
    }

    if (e) {
        ngx_memcpy(e->id, s->id, NGX_AMS_WEBRTC_ID_LEN);
        e->close = 0;
        e->data = 0;
        e->direction = s->direction;
        ngx_memcpy(e->local_ufrag, s->local_ufrag,
                   NGX_AMS_WEBRTC_UFRAG_LEN);
        e->remote_ufrag_crc = ngx_crc32_short(s->remote_ufrag,
                                              ngx_strlen(s->remote_ufrag));
        e->app_len = ngx_min(s->app_name.len, NGX_AMS_APP_LEN);
        ngx_memcpy(e->app, s->app_name.data, e->app_len);
        e->name_len = ngx_min(s->stream_id.len, NGX_AMS_NAME_LEN);
        ngx_memcpy(e->name, s->stream_id.data, e->name_len);
        ngx_memory_barrier();
        e->pid = ngx_pid;
    }

    ngx_ams_shm_unlock(&sh->lock);

    if (e == NULL) {
        /* the session works; only a PATCH or DELETE reaching another
         * worker will not find it (404) */
        if (ngx_time() - (time_t) ngx_ams_webrtc_registry_full_logged >= 10)
        {
            ngx_ams_webrtc_registry_full_logged = ngx_time();
            ngx_log_error(NGX_LOG_WARN, &s->log, 0,
                          "ams webrtc: the session table is full here: "
                          "only this worker will find the session");
        }

        return;
    }

    ngx_ams_webrtc_ts(s)->registry = (e - sh->entry) + 1;

    if (ngx_ams_webrtc_registry_owned++ == 0) {
        ngx_ams_webrtc_registry_seen = sh->requests;

        ngx_ams_webrtc_registry_timer.handler = ngx_ams_webrtc_registry_tick;
        ngx_ams_webrtc_registry_timer.log = ngx_cycle->log;
        ngx_ams_webrtc_registry_timer.cancelable = 1;

        if (!ngx_ams_webrtc_registry_timer.timer_set) {
            ngx_add_timer(&ngx_ams_webrtc_registry_timer,
                          NGX_AMS_WEBRTC_REGISTRY_TICK);
        }
    }
}


void
ngx_ams_webrtc_registry_remove(ngx_ams_webrtc_session_t *s)
{
    ngx_uint_t                        k;
    ngx_ams_webrtc_registry_sh_t     *sh = ngx_ams_webrtc_registry;
    ngx_ams_webrtc_registry_entry_t  *e;

    k = ngx_ams_webrtc_ts(s)->registry;

    if (sh == NULL || k == 0) {
        return;
    }

    ngx_ams_webrtc_ts(s)->registry = 0;
    e = &sh->entry[k - 1];

    ngx_ams_shm_lock(&sh->lock);

    if ((ngx_pid_t) e->pid == ngx_pid
        && ngx_ams_webrtc_registry_same(e->id, s->id))
    {
        e->pid = 0;
        e->close = 0;
    }

    ngx_ams_shm_unlock(&sh->lock);

    if (--ngx_ams_webrtc_registry_owned == 0
        && ngx_ams_webrtc_registry_timer.timer_set)
    {
        ngx_del_timer(&ngx_ams_webrtc_registry_timer);
    }
}


void
ngx_ams_webrtc_registry_data(ngx_ams_webrtc_session_t *s, ngx_uint_t up)
{
    ngx_uint_t                     k;
    ngx_ams_webrtc_registry_sh_t  *sh = ngx_ams_webrtc_registry;

    k = ngx_ams_webrtc_ts(s)->registry;

    if (sh == NULL || k == 0) {
        return;
    }

    /* only the owner writes its entries: no lock for one word */
    __atomic_store_n(&sh->entry[k - 1].data, up, __ATOMIC_SEQ_CST);
}


/* a scan of the table: for REST calls, not per message */

ngx_uint_t
ngx_ams_webrtc_registry_has_data(ngx_str_t *app, ngx_str_t *name)
{
    ngx_uint_t                        i, found;
    ngx_ams_webrtc_registry_sh_t     *sh = ngx_ams_webrtc_registry;
    ngx_ams_webrtc_registry_entry_t  *e;

    if (sh == NULL) {
        return 0;
    }

    found = 0;

    ngx_ams_shm_lock(&sh->lock);

    for (i = 0; i < NGX_AMS_WEBRTC_REGISTRY_SLOTS && !found; i++) {
        e = &sh->entry[i];

        if (e->pid != 0 && e->data
            && e->app_len == app->len && e->name_len == name->len
            && ngx_memcmp(e->app, app->data, app->len) == 0
            && ngx_memcmp(e->name, name->data, name->len) == 0
            && !ngx_ams_webrtc_registry_dead((ngx_pid_t) e->pid))
        {
            found = 1;
        }
    }

    ngx_ams_shm_unlock(&sh->lock);

    return found;
}


void
ngx_ams_webrtc_registry_exit(void)
{
    if (ngx_ams_webrtc_registry_timer.timer_set) {
        ngx_del_timer(&ngx_ams_webrtc_registry_timer);
    }
}


ngx_int_t
ngx_ams_webrtc_registry_find(u_char *id, size_t len,
    ngx_ams_webrtc_registry_entry_t *copy)
{
    ngx_int_t                         rc;
    ngx_ams_webrtc_registry_sh_t     *sh = ngx_ams_webrtc_registry;
    ngx_ams_webrtc_registry_entry_t  *e;

    if (sh == NULL || len != NGX_AMS_WEBRTC_ID_LEN) {
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    ngx_ams_shm_lock(&sh->lock);

    e = ngx_ams_webrtc_registry_lookup(id);

    if (e) {
        if (ngx_ams_webrtc_registry_dead((ngx_pid_t) e->pid)) {
            e->pid = 0;

        } else {
            *copy = *e;
            rc = NGX_OK;
        }
    }

    ngx_ams_shm_unlock(&sh->lock);

    return rc;
}


ngx_int_t
ngx_ams_webrtc_registry_close(u_char *id, size_t len, ngx_pid_t pid)
{
    ngx_int_t                         rc;
    ngx_ams_webrtc_registry_sh_t     *sh = ngx_ams_webrtc_registry;
    ngx_ams_webrtc_registry_entry_t  *e;

    if (sh == NULL || len != NGX_AMS_WEBRTC_ID_LEN) {
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    ngx_ams_shm_lock(&sh->lock);

    e = ngx_ams_webrtc_registry_lookup(id);

    /* asked once: a second DELETE finds nothing, as from the owner */
    if (e && (ngx_pid_t) e->pid == pid && !e->close) {
        e->close = 1;
        (void) ngx_atomic_fetch_add(&sh->requests, 1);
        rc = NGX_OK;
    }

    ngx_ams_shm_unlock(&sh->lock);

    return rc;
}


/* Context: the owner, every 100 ms while it has sessions */

static void
ngx_ams_webrtc_registry_tick(ngx_event_t *ev)
{
    u_char                            ids[16][NGX_AMS_WEBRTC_ID_LEN];
    ngx_uint_t                        i, n, more;
    ngx_atomic_uint_t                 requests;
    ngx_ams_webrtc_session_t         *s;
    ngx_ams_webrtc_registry_sh_t     *sh = ngx_ams_webrtc_registry;
    ngx_ams_webrtc_registry_entry_t  *e;

    requests = sh->requests;
    n = 0;
    more = 0;

    if (requests != ngx_ams_webrtc_registry_seen) {
        ngx_ams_shm_lock(&sh->lock);

        for (i = 0; i < NGX_AMS_WEBRTC_REGISTRY_SLOTS; i++) {
            e = &sh->entry[i];

            if ((ngx_pid_t) e->pid != ngx_pid || !e->close) {
                continue;
            }

            if (n == 16) {
                more = 1;       /* the rest at the next tick */
                break;
            }

            e->close = 0;
            ngx_memcpy(ids[n++], e->id, NGX_AMS_WEBRTC_ID_LEN);
        }

        ngx_ams_shm_unlock(&sh->lock);

        if (!more) {
            ngx_ams_webrtc_registry_seen = requests;
        }
    }

    /* closing removes entries and may stop this timer */
    for (i = 0; i < n; i++) {
        s = ngx_ams_webrtc_session_find(ids[i], NGX_AMS_WEBRTC_ID_LEN);

        if (s) {
            ngx_ams_webrtc_session_close(s, "DELETE by the client (through "
                                         "another worker)");
        }
    }

    if (ngx_ams_webrtc_registry_owned
        && !ngx_ams_webrtc_registry_timer.timer_set)
    {
        ngx_add_timer(&ngx_ams_webrtc_registry_timer,
                      NGX_AMS_WEBRTC_REGISTRY_TICK);
    }
}


static ngx_uint_t
ngx_ams_webrtc_registry_hash(u_char *id)
{
    return ngx_crc32_short(id, NGX_AMS_WEBRTC_ID_LEN)
           % NGX_AMS_WEBRTC_REGISTRY_SLOTS;
}


/* constant time: how much of an id matched must not show */
static ngx_uint_t
ngx_ams_webrtc_registry_same(u_char *a, u_char *b)
{
    u_char      d;
    ngx_uint_t  i;

    d = 0;

    for (i = 0; i < NGX_AMS_WEBRTC_ID_LEN; i++) {
        d |= a[i] ^ b[i];
    }

    return d == 0;
}


/* under the lock */
static ngx_ams_webrtc_registry_entry_t *
ngx_ams_webrtc_registry_lookup(u_char *id)
{
    ngx_uint_t                        i, h, k;
    ngx_ams_webrtc_registry_entry_t  *e, *found;

    h = ngx_ams_webrtc_registry_hash(id);
    found = NULL;

    for (i = 0; i < NGX_AMS_WEBRTC_REGISTRY_PROBE; i++) {
        k = (h + i) % NGX_AMS_WEBRTC_REGISTRY_SLOTS;
        e = &ngx_ams_webrtc_registry->entry[k];

        if (e->pid != 0 && ngx_ams_webrtc_registry_same(e->id, id)) {
            found = e;
        }
    }

    return found;
}


static ngx_uint_t
ngx_ams_webrtc_registry_dead(ngx_pid_t pid)
{
    return pid != ngx_pid && kill(pid, 0) == -1 && ngx_errno == NGX_ESRCH;
}
