
/*
 * Copyright (C) nginx-ams authors
 *
 * The media bus: the stream registry in a shared-memory zone, and the
 * wake-ups that carry "new frames" from the writing worker to readers in
 * any worker.
 *
 * Each worker claims a slot in the zone and binds a datagram socket in the
 * abstract namespace named after the zone and the slot.  A stream keeps a
 * mask of the slots that have readers of it.  After writing a frame the
 * writer wakes each such slot at most once until that worker has run its
 * readers: a "pending" flag per slot is set by the writer (0 -> 1, which
 * sends one datagram, or posts an event in its own worker) and cleared by
 * the woken worker before it looks at its readers, so no frame is missed
 * and a burst of frames costs one wake-up.
 *
 * Readers run at most once per "wake_interval": a wake-up that comes
 * sooner leaves "pending" set (so writers send nothing more) and arms a
 * timer.  Each player then sends several frames per system call instead
 * of one, at the price of that much latency.  A keyframe written in this
 * worker runs its readers at once: it may close an HLS segment, and the
 * playlist should name it without delay.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <sys/un.h>

#include "ngx_ams_core.h"
#include "ngx_ams_bus.h"
#include "ngx_ams_viewers.h"
#include "ngx_ams_broadcast.h"


#define NGX_AMS_RING_INDEX   4096


typedef struct {
    ngx_atomic_t             pid;
    ngx_atomic_t             pending;
} ngx_ams_worker_slot_t;


typedef struct {
    uint64_t                 token;          /* names this zone's sockets */
    ngx_uint_t               max_streams;
    size_t                   ring_data_size;
    ngx_uint_t               generation;
    ngx_ams_worker_slot_t    slots[NGX_AMS_MAX_WORKERS];
    ngx_ams_node_stats_t     stats;
    ngx_ams_stream_t         streams[1];
} ngx_ams_bus_sh_t;


/* this worker's view of the bus */
typedef struct {
    ngx_ams_bus_sh_t        *sh;
    ngx_slab_pool_t         *shpool;
    ngx_int_t                slot;
    ngx_connection_t        *conn;
    ngx_event_t              local_wake;
    ngx_event_t              tick;
    ngx_msec_t               interval;
    ngx_msec_t               last_run;
    ngx_uint_t               urgent;
    ngx_queue_t              subs;
    uint32_t                *local_readers;  /* per stream index */
    struct sockaddr_un       addr[NGX_AMS_MAX_WORKERS];
    socklen_t                addr_len;
} ngx_ams_bus_worker_t;


static void ngx_ams_bus_slot_address(ngx_ams_bus_sh_t *sh, ngx_uint_t slot,
    struct sockaddr_un *sun, socklen_t *len);
static ngx_int_t ngx_ams_bus_claim_slot(ngx_cycle_t *cycle);
static void ngx_ams_bus_release_slot_locked(ngx_uint_t slot);
static ngx_int_t ngx_ams_bus_open_socket(ngx_cycle_t *cycle);
static void ngx_ams_bus_wake_handler(ngx_event_t *ev);
static void ngx_ams_bus_run_readers(ngx_event_t *ev);
static void ngx_ams_bus_notify(ngx_ams_stream_t *st);
static void ngx_ams_bus_free_stream_locked(ngx_ams_stream_t *st);
static ngx_uint_t ngx_ams_bus_pid_alive(ngx_pid_t pid);
static ngx_ams_stream_t *ngx_ams_bus_find_locked(ngx_str_t *app,
    ngx_str_t *name);
static void ngx_ams_bus_subscribe_locked(ngx_ams_sub_t *sub,
    ngx_ams_stream_t *st);


static ngx_ams_bus_worker_t  ngx_ams_bus_worker = { .slot = -1 };


ngx_int_t
ngx_ams_bus_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_ams_main_conf_t *amcf = shm_zone->data;

    size_t             size;
    ngx_uint_t         i;
    ngx_slab_pool_t   *shpool;
    ngx_ams_bus_sh_t  *sh;

    if (data) {
        /* a reload: the zone, its streams and their rings live on */
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    size = sizeof(ngx_ams_bus_sh_t)
           + (amcf->max_streams - 1) * sizeof(ngx_ams_stream_t);

    sh = ngx_slab_calloc(shpool, size);
    if (sh == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "ams: bus_zone_size too small for %ui streams",
                      amcf->max_streams);
        return NGX_ERROR;
    }

    sh->token = ((uint64_t) ngx_random() << 32) ^ (uint64_t) ngx_random()
                ^ ((uint64_t) ngx_pid << 16) ^ (uint64_t) ngx_time();
    sh->max_streams = amcf->max_streams;
    sh->ring_data_size = amcf->stream_buffer;

    for (i = 0; i < sh->max_streams; i++) {
        sh->streams[i].index = i;
    }

    shpool->data = sh;
    shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_ams_bus_slot_address(ngx_ams_bus_sh_t *sh, ngx_uint_t slot,
    struct sockaddr_un *sun, socklen_t *len)
{
    u_char  *p;

    ngx_memzero(sun, sizeof(struct sockaddr_un));
    sun->sun_family = AF_UNIX;

    /* abstract namespace: leading NUL, nothing on disk to clean up */
    p = ngx_snprintf((u_char *) sun->sun_path + 1,
                     sizeof(sun->sun_path) - 2, "nginx-ams.%016xL.%02ui",
                     sh->token, slot);

    *len = (socklen_t) (offsetof(struct sockaddr_un, sun_path)
                        + (p - (u_char *) sun->sun_path));
}


ngx_int_t
ngx_ams_bus_init_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t             i;
    ngx_ams_main_conf_t   *amcf;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    amcf = ngx_ams_get_main_conf(cycle);

    if (amcf == NULL || amcf->shm_zone == NULL) {
        return NGX_OK;
    }

    w->shpool = (ngx_slab_pool_t *) amcf->shm_zone->shm.addr;
    w->sh = w->shpool->data;

    ngx_queue_init(&w->subs);

    w->local_readers = ngx_pcalloc(cycle->pool,
                                   w->sh->max_streams * sizeof(uint32_t));
    if (w->local_readers == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < NGX_AMS_MAX_WORKERS; i++) {
        ngx_ams_bus_slot_address(w->sh, i, &w->addr[i], &w->addr_len);
    }

    w->local_wake.handler = ngx_ams_bus_wake_handler;
    w->local_wake.log = cycle->log;
    w->local_wake.data = NULL;

    w->tick.handler = ngx_ams_bus_run_readers;
    w->tick.log = cycle->log;
    w->tick.cancelable = 1;
    w->interval = amcf->wake_interval;

    if (ngx_ams_bus_claim_slot(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_ams_bus_open_socket(cycle);
}


static ngx_uint_t
ngx_ams_bus_pid_alive(ngx_pid_t pid)
{
    return pid != 0 && (kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH);
}


static ngx_int_t
ngx_ams_bus_claim_slot(ngx_cycle_t *cycle)
{
    ngx_int_t              found;
    ngx_uint_t             i;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    found = -1;

    ngx_shmtx_lock(&w->shpool->mutex);

    for (i = 0; i < NGX_AMS_MAX_WORKERS; i++) {
        if (w->sh->slots[i].pid != 0
            && !ngx_ams_bus_pid_alive((ngx_pid_t) w->sh->slots[i].pid))
        {
            /* a worker that crashed: its streams end, its reads stop */
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "ams bus: reclaiming slot %ui of dead worker %P",
                          i, (ngx_pid_t) w->sh->slots[i].pid);
            ngx_ams_bus_release_slot_locked(i);
        }

        if (found == -1 && w->sh->slots[i].pid == 0) {
            found = i;
        }
    }

    if (found != -1) {
        w->sh->slots[found].pid = ngx_pid;
        w->sh->slots[found].pending = 0;
    }

    ngx_shmtx_unlock(&w->shpool->mutex);

    if (found == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams bus: all %d worker slots are taken",
                      NGX_AMS_MAX_WORKERS);
        return NGX_ERROR;
    }

    w->slot = found;

    return NGX_OK;
}


static void
ngx_ams_bus_release_slot_locked(ngx_uint_t slot)
{
    ngx_uint_t             i;
    ngx_ams_stream_t      *st;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    for (i = 0; i < w->sh->max_streams; i++) {
        st = &w->sh->streams[i];

        if (st->state == NGX_AMS_STREAM_FREE) {
            continue;
        }

        __atomic_and_fetch(&st->readers_mask, ~((uint64_t) 1 << slot),
                           __ATOMIC_SEQ_CST);

        if (st->state == NGX_AMS_STREAM_ACTIVE && st->writer_slot == slot) {
            st->state = NGX_AMS_STREAM_ENDED;
        }

        if (st->state == NGX_AMS_STREAM_ENDED && st->readers_mask == 0) {
            ngx_ams_bus_free_stream_locked(st);
        }
    }

    w->sh->slots[slot].pid = 0;
    w->sh->slots[slot].pending = 0;
}


static ngx_int_t
ngx_ams_bus_open_socket(ngx_cycle_t *cycle)
{
    ngx_socket_t           fd;
    ngx_connection_t      *c;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      "ams bus: socket() failed");
        return NGX_ERROR;
    }

    if (bind(fd, (struct sockaddr *) &w->addr[w->slot], w->addr_len) == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      "ams bus: bind() of slot %i failed", w->slot);
        ngx_close_socket(fd);
        return NGX_ERROR;
    }

    c = ngx_get_connection(fd, cycle->log);
    if (c == NULL) {
        ngx_close_socket(fd);
        return NGX_ERROR;
    }

    c->recv = ngx_udp_recv;
    c->read->handler = ngx_ams_bus_wake_handler;
    c->read->log = cycle->log;
    c->write->log = cycle->log;
    c->data = NULL;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_close_connection(c);
        return NGX_ERROR;
    }

    w->conn = c;

    return NGX_OK;
}


void
ngx_ams_bus_exit_worker(ngx_cycle_t *cycle)
{
    ngx_queue_t           *q;
    ngx_ams_sub_t         *sub;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return;
    }

    while (!ngx_queue_empty(&w->subs)) {
        q = ngx_queue_head(&w->subs);
        sub = ngx_queue_data(q, ngx_ams_sub_t, queue);
        ngx_ams_bus_unsubscribe(sub);
    }

    ngx_shmtx_lock(&w->shpool->mutex);
    ngx_ams_bus_release_slot_locked(w->slot);
    ngx_shmtx_unlock(&w->shpool->mutex);

    w->slot = -1;

    if (w->tick.timer_set) {
        ngx_del_timer(&w->tick);
    }

    if (w->conn) {
        ngx_close_connection(w->conn);
        w->conn = NULL;
    }
}


/* Context: any worker; a writer said that streams moved */

static void
ngx_ams_bus_wake_handler(ngx_event_t *ev)
{
    u_char                 buf[64];
    ngx_msec_t             since;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (ev != &w->local_wake) {
        while (recv(w->conn->fd, buf, sizeof(buf), 0) > 0) {
            /* drain */
        }
    }

    if (w->slot == -1) {
        return;
    }

    since = ngx_current_msec - w->last_run;

    if (w->interval && since < w->interval && !w->urgent) {
        if (!w->tick.timer_set) {
            ngx_add_timer(&w->tick, w->interval - since);
        }
        return;
    }

    if (w->tick.timer_set) {
        ngx_del_timer(&w->tick);
    }

    ngx_ams_bus_run_readers(&w->tick);
}


static void
ngx_ams_bus_run_readers(ngx_event_t *ev)
{
    ngx_queue_t           *q, *next;
    ngx_ams_sub_t         *sub;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return;
    }

    w->last_run = ngx_current_msec;
    w->urgent = 0;

    /* clear before looking, so a frame written meanwhile wakes us again */
    __atomic_store_n(&w->sh->slots[w->slot].pending, 0, __ATOMIC_SEQ_CST);

    for (q = ngx_queue_head(&w->subs);
         q != ngx_queue_sentinel(&w->subs);
         q = next)
    {
        next = ngx_queue_next(q);
        sub = ngx_queue_data(q, ngx_ams_sub_t, queue);

        if (ngx_ams_ring_has_news(sub->stream->ring, &sub->reader)
            || ngx_ams_bus_sub_ended(sub))
        {
            sub->handler(sub);
        }
    }
}


static void
ngx_ams_bus_notify(ngx_ams_stream_t *st)
{
    ngx_uint_t              i;
    uint64_t                mask;
    ngx_ams_worker_slot_t  *slot;
    ngx_ams_bus_worker_t   *w = &ngx_ams_bus_worker;

    mask = __atomic_load_n(&st->readers_mask, __ATOMIC_SEQ_CST);

    while (mask) {
        i = __builtin_ctzll(mask);
        mask &= mask - 1;

        slot = &w->sh->slots[i];

        if (!ngx_atomic_cmp_set(&slot->pending, 0, 1)) {
            continue;
        }

        if ((ngx_int_t) i == w->slot) {
            ngx_post_event(&w->local_wake, &ngx_posted_events);
            continue;
        }

        /* a full queue means that worker has wake-ups waiting already */
        (void) sendto(w->conn->fd, "", 1, MSG_DONTWAIT,
                      (struct sockaddr *) &w->addr[i], w->addr_len);
    }
}


static ngx_ams_stream_t *
ngx_ams_bus_find_locked(ngx_str_t *app, ngx_str_t *name)
{
    ngx_uint_t             i;
    ngx_ams_stream_t      *st;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    for (i = 0; i < w->sh->max_streams; i++) {
        st = &w->sh->streams[i];

        if (st->state == NGX_AMS_STREAM_ACTIVE
            && st->app_len == app->len && st->name_len == name->len
            && ngx_memcmp(st->app, app->data, app->len) == 0
            && ngx_memcmp(st->name, name->data, name->len) == 0)
        {
            return st;
        }
    }

    return NULL;
}


ngx_ams_stream_t *
ngx_ams_bus_find(ngx_str_t *app, ngx_str_t *name)
{
    ngx_ams_stream_t      *st;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return NULL;
    }

    ngx_shmtx_lock(&w->shpool->mutex);
    st = ngx_ams_bus_find_locked(app, name);
    ngx_shmtx_unlock(&w->shpool->mutex);

    /* a slot is reused only after its stream ended and every reader left:
     * callers read counters of "st" and check its state */
    return st;
}


void
ngx_ams_bus_each(void (*handler)(ngx_ams_stream_t *st, void *data),
    void *data)
{
    ngx_uint_t             i;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return;
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    for (i = 0; i < w->sh->max_streams; i++) {
        if (w->sh->streams[i].state == NGX_AMS_STREAM_ACTIVE) {
            handler(&w->sh->streams[i], data);
        }
    }

    ngx_shmtx_unlock(&w->shpool->mutex);
}


ngx_uint_t
ngx_ams_bus_workers(void)
{
    ngx_uint_t             i, n;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return 0;
    }

    n = 0;
    for (i = 0; i < NGX_AMS_MAX_WORKERS; i++) {
        if (w->sh->slots[i].pid) {
            n++;
        }
    }

    return n;
}


ngx_uint_t
ngx_ams_bus_worker_pids(ngx_pid_t *pids, ngx_uint_t max)
{
    ngx_uint_t             i, n;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return 0;
    }

    n = 0;
    for (i = 0; i < NGX_AMS_MAX_WORKERS && n < max; i++) {
        if (w->sh->slots[i].pid) {
            pids[n++] = (ngx_pid_t) w->sh->slots[i].pid;
        }
    }

    return n;
}


ngx_ams_node_stats_t *
ngx_ams_bus_node_stats(void)
{
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    return w->slot == -1 ? NULL : &w->sh->stats;
}


ngx_int_t
ngx_ams_bus_publish(ngx_ams_app_conf_t *app, ngx_str_t *name,
    const char *publish_type, ngx_log_t *log, ngx_ams_stream_t **out)
{
    void                  *viewers;
    size_t                 size;
    ngx_uint_t             i;
    ngx_ams_ring_t        *ring;
    ngx_ams_stream_t      *st;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "ams bus: no \"ams\" block");
        return NGX_ERROR;
    }

    if (name->len == 0 || name->len >= NGX_AMS_NAME_LEN) {
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    st = ngx_ams_bus_find_locked(&app->name, name);

    if (st) {
        if (ngx_ams_bus_pid_alive(st->writer_pid)) {
            ngx_shmtx_unlock(&w->shpool->mutex);
            return NGX_BUSY;
        }

        st->state = NGX_AMS_STREAM_ENDED;
        if (st->readers_mask == 0) {
            ngx_ams_bus_free_stream_locked(st);
        }
    }

    st = NULL;

    for (i = 0; i < w->sh->max_streams; i++) {
        if (w->sh->streams[i].state == NGX_AMS_STREAM_FREE) {
            st = &w->sh->streams[i];
            break;
        }
    }

    if (st == NULL) {
        ngx_shmtx_unlock(&w->shpool->mutex);
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ams bus: all %ui stream slots are taken (max_streams)",
                      w->sh->max_streams);
        return NGX_ERROR;
    }

    size = ngx_ams_ring_size(NGX_AMS_RING_INDEX, w->sh->ring_data_size);

    ring = ngx_slab_alloc_locked(w->shpool, size);
    if (ring == NULL) {
        ngx_shmtx_unlock(&w->shpool->mutex);
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ams bus: zone full, no room for a %uz byte ring "
                      "(bus_zone_size, stream_buffer)", size);
        return NGX_ERROR;
    }

    viewers = ngx_slab_calloc_locked(w->shpool, ngx_ams_viewers_size());
    if (viewers == NULL) {
        ngx_slab_free_locked(w->shpool, ring);
        ngx_shmtx_unlock(&w->shpool->mutex);
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ams bus: zone full, no room for a viewer table "
                      "(bus_zone_size)");
        return NGX_ERROR;
    }

    ngx_ams_ring_init(ring, NGX_AMS_RING_INDEX, w->sh->ring_data_size);

    st->ring = ring;
    st->generation = ++w->sh->generation;
    ngx_memcpy(st->app, app->name.data, app->name.len);
    st->app_len = app->name.len;
    ngx_memcpy(st->name, name->data, name->len);
    st->name_len = name->len;
    st->writer_pid = ngx_pid;
    st->writer_slot = w->slot;
    st->readers_mask = 0;
    st->started = ngx_time();
    st->in_bytes = 0;
    st->frames = 0;
    st->rejected = 0;
    st->width = 0;
    st->height = 0;
    ngx_cpystrn((u_char *) st->publish_type, (u_char *) publish_type,
                sizeof(st->publish_type));
    st->rtmp_viewers = 0;
    st->stop = 0;
    st->viewers = viewers;

    ngx_memory_barrier();
    st->state = NGX_AMS_STREAM_ACTIVE;

    ngx_shmtx_unlock(&w->shpool->mutex);

    *out = st;

    return ngx_ams_publish_handler(st, app, log);
}


ngx_int_t
ngx_ams_bus_write(ngx_ams_stream_t *st, ngx_ams_frame_t *frame,
    const u_char *data)
{
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (ngx_ams_ring_write(st->ring, frame, data) != NGX_AMS_RING_OK) {
        (void) ngx_atomic_fetch_add(&st->rejected, 1);
        return NGX_DECLINED;
    }

    (void) ngx_atomic_fetch_add(&st->in_bytes, frame->size);
    (void) ngx_atomic_fetch_add(&st->frames, 1);

    ngx_ams_bus_notify(st);

    if ((frame->flags & NGX_AMS_FRAME_KEY)
        && (st->readers_mask & ((uint64_t) 1 << w->slot)))
    {
        w->urgent = 1;
        ngx_post_event(&w->local_wake, &ngx_posted_events);
    }

    return NGX_OK;
}


void
ngx_ams_bus_set_config(ngx_ams_stream_t *st, ngx_uint_t track,
    ngx_uint_t codec, const u_char *data, size_t len)
{
    ngx_ams_ring_set_config(st->ring, track, codec, data, len);
}


void
ngx_ams_bus_unpublish(ngx_ams_stream_t *st, ngx_log_t *log)
{
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    /* the record first, while the stream's counters are still its own */
    if (st->state == NGX_AMS_STREAM_ACTIVE && st->writer_pid == ngx_pid) {
        ngx_ams_broadcast_ended(st, log);
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    if (st->state == NGX_AMS_STREAM_ACTIVE && st->writer_pid == ngx_pid) {
        st->state = NGX_AMS_STREAM_ENDED;
    }

    ngx_memory_barrier();

    ngx_ams_bus_notify(st);

    if (st->state == NGX_AMS_STREAM_ENDED && st->readers_mask == 0) {
        ngx_ams_bus_free_stream_locked(st);
    }

    ngx_shmtx_unlock(&w->shpool->mutex);
}


static void
ngx_ams_bus_free_stream_locked(ngx_ams_stream_t *st)
{
    void                  *viewers;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (st->ring) {
        ngx_slab_free_locked(w->shpool, st->ring);
        st->ring = NULL;
    }

    viewers = ngx_ams_viewers_release(st);
    if (viewers) {
        ngx_slab_free_locked(w->shpool, viewers);
    }

    st->state = NGX_AMS_STREAM_FREE;
}


static void
ngx_ams_bus_subscribe_locked(ngx_ams_sub_t *sub, ngx_ams_stream_t *st)
{
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    sub->stream = st;
    sub->generation = st->generation;
    ngx_ams_ring_reader_join(st->ring, &sub->reader);

    if (w->local_readers[st->index]++ == 0) {
        __atomic_or_fetch(&st->readers_mask, (uint64_t) 1 << w->slot,
                          __ATOMIC_SEQ_CST);
    }

    ngx_queue_insert_tail(&w->subs, &sub->queue);
    sub->active = 1;
}


ngx_int_t
ngx_ams_bus_subscribe(ngx_ams_sub_t *sub, ngx_str_t *app, ngx_str_t *name,
    ngx_log_t *log)
{
    ngx_ams_stream_t      *st;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    st = ngx_ams_bus_find_locked(app, name);

    if (st == NULL) {
        ngx_shmtx_unlock(&w->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_ams_bus_subscribe_locked(sub, st);

    ngx_shmtx_unlock(&w->shpool->mutex);

    return NGX_OK;
}


ngx_int_t
ngx_ams_bus_subscribe_stream(ngx_ams_sub_t *sub, ngx_ams_stream_t *st,
    ngx_log_t *log)
{
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    if (st->state != NGX_AMS_STREAM_ACTIVE) {
        ngx_shmtx_unlock(&w->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_ams_bus_subscribe_locked(sub, st);

    ngx_shmtx_unlock(&w->shpool->mutex);

    return NGX_OK;
}


void
ngx_ams_bus_unsubscribe(ngx_ams_sub_t *sub)
{
    ngx_ams_stream_t      *st;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (!sub->active) {
        return;
    }

    sub->active = 0;
    ngx_queue_remove(&sub->queue);

    st = sub->stream;

    ngx_shmtx_lock(&w->shpool->mutex);

    if (--w->local_readers[st->index] == 0) {
        __atomic_and_fetch(&st->readers_mask, ~((uint64_t) 1 << w->slot),
                           __ATOMIC_SEQ_CST);

        if (st->state == NGX_AMS_STREAM_ENDED && st->readers_mask == 0) {
            ngx_ams_bus_free_stream_locked(st);
        }
    }

    ngx_shmtx_unlock(&w->shpool->mutex);
}


ngx_uint_t
ngx_ams_bus_sub_ended(ngx_ams_sub_t *sub)
{
    return sub->stream->state != NGX_AMS_STREAM_ACTIVE
           || sub->stream->generation != sub->generation;
}
