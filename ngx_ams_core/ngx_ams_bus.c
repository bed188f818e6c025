
/*
 * Copyright (C) nginx-ams authors
 *
 * The media bus: the stream registry in a shared-memory zone, the wake-ups
 * that carry "new frames" from the writing worker to readers in any
 * worker, and the requests readers send back to a stream's source.
 *
 * Streams are found by a hash of (application, name) chained through the
 * stream slots, under the zone mutex: an HLS request or a player joining
 * costs the same with one live stream or a thousand.
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
 * Batched readers run at most once per "wake_interval": a wake-up that
 * comes sooner leaves "pending" set (so writers send nothing more) and
 * arms a timer.  Each player then sends several frames per system call
 * instead of one, at the price of that much latency.  Immediate readers
 * (WebRTC) run on every wake-up; a worker that has any clears "pending"
 * each time, so its writers wake it per frame.  A keyframe written in this
 * worker runs its readers at once: it may close an HLS segment, and the
 * playlist should name it without delay.
 *
 * The same wake-up carries two other kinds of news: a request to one of
 * this worker's sources (stop, keyframe), flagged in the worker's slot,
 * and "a stream was published" for workers with readers waiting for one,
 * noticed by the zone's publish counter moving.  Other modules' news for
 * one worker (ngx_ams_bus_news: WebRTC data-channel mail) is a flag of
 * its slot too; the woken worker clears it, then calls the hook.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <sys/un.h>

#include "ngx_ams_core.h"
#include "ngx_ams_bus.h"
#include "ngx_ams_stream_index.h"
#include "ngx_ams_stream_name.h"
#include "ngx_ams_log_escape.h"


/* a publisher reserves little until media arrives: the ring grows */
#define NGX_AMS_RING_INITIAL_INDEX   256
#define NGX_AMS_RING_INITIAL_DATA    (16 * 1024)
#define NGX_AMS_RING_MAX_INDEX       65536

/* what two GOPs of n (bytes or frames) need, with room for a larger one */
#define ngx_ams_ring_room(n)         ((n) * 9 / 4)
#define NGX_AMS_RING_GRACE           10000   /* ms a retired ring lives */
#define NGX_AMS_BUS_WATCH            1000    /* ms between looks at workers */
#define NGX_AMS_BUS_SPIN_CHECK       4096    /* spins before asking if the
                                                holder of a lock is alive */


typedef struct {
    ngx_atomic_t             pid;
    ngx_atomic_t             pending;
    ngx_atomic_t             requests;       /* a source here was asked */
    ngx_atomic_t             news;           /* ngx_ams_bus_news() */
    ngx_atomic_t             exiting;        /* an old generation's worker */
    ngx_atomic_t             reaping;        /* dead; a worker ends its
                                                streams */
    ngx_atomic_t             claimed;        /* claim order: older first */
} ngx_ams_worker_slot_t;


typedef struct {
    uint64_t                 token;          /* names this zone's sockets */
    ngx_uint_t               max_streams;
    size_t                   ring_data_size; /* the most a ring may hold */
    ngx_uint_t               generation;
    ngx_atomic_t             publishes;      /* moves on every publish */
    ngx_ams_slot_set_t       waiters;        /* slots with waiting readers */
    ngx_ams_stream_index_t   index;          /* live streams by name */
    ngx_uint_t               nslots;         /* the slot table, sized from
                                                worker_processes */
    ngx_uint_t               slot_words;
    ngx_atomic_t             reserve;        /* slots a reload needs free */
    ngx_atomic_t             claims;
    ngx_ams_worker_slot_t   *slots;
    ngx_ams_node_stats_t     stats;
    ngx_ams_settings_sh_t    settings;
    ngx_ams_stream_t         streams[1];
} ngx_ams_bus_sh_t;


/* this worker's view of the bus */
typedef struct {
    ngx_ams_bus_sh_t        *sh;
    ngx_slab_pool_t         *shpool;
    ngx_int_t                slot;
    ngx_connection_t        *conn;           /* bound: receives wake-ups */
    ngx_socket_t             sender;         /* unbound: sends them */
    ngx_event_t              local_wake;
    ngx_event_t              tick;
    ngx_event_t              watch;          /* dead workers, old slots */
    ngx_cycle_t             *cycle;
    ngx_msec_t               interval;
    ngx_msec_t               last_run;
    ngx_uint_t               urgent;
    ngx_uint_t               seen_publishes;
    ngx_uint_t               slotless_logged;
    ngx_ams_slot_set_t       wake_after_claim;
    ngx_queue_t              batched;        /* open readers */
    ngx_queue_t              immediate;
    ngx_queue_t              waiting;        /* readers waiting for a stream */
    ngx_queue_t              sources;        /* streams published here */
    uint32_t                *local_readers;  /* per stream index */
    struct sockaddr_un      *addr;           /* each slot's socket */
    socklen_t                addr_len;
} ngx_ams_bus_worker_t;


static void ngx_ams_bus_slot_address(ngx_ams_bus_sh_t *sh, ngx_uint_t slot,
    struct sockaddr_un *sun, socklen_t *len);
static ngx_int_t ngx_ams_bus_claim_slot(ngx_cycle_t *cycle);
static void ngx_ams_bus_release_slot_locked(ngx_uint_t slot,
    ngx_ams_slot_set_t *wake);
static void ngx_ams_bus_watch(ngx_event_t *ev);
static void ngx_ams_bus_reap(ngx_uint_t slot, ngx_pid_t pid);
static void ngx_ams_bus_leave(void);
static void ngx_ams_bus_end_sources(void);
static size_t ngx_ams_bus_client_key(struct sockaddr *sa, u_char *key);
static ngx_uint_t ngx_ams_bus_address_busy_locked(ngx_ams_source_t *src,
    ngx_uint_t limit);
static ngx_int_t ngx_ams_bus_open_socket(ngx_cycle_t *cycle);
static void ngx_ams_bus_wake_handler(ngx_event_t *ev);
static void ngx_ams_bus_run_readers(ngx_event_t *ev);
static void ngx_ams_bus_run_queue(ngx_queue_t *queue);
static void ngx_ams_bus_run_requests(void);
static void ngx_ams_bus_run_news(void);
static void ngx_ams_bus_run_waiting(void);
static void ngx_ams_bus_wake_slot(ngx_uint_t i);
static void ngx_ams_bus_wake_set(ngx_ams_slot_set_t *set, ngx_int_t except);
static void ngx_ams_bus_notify(ngx_ams_stream_t *st);
static void ngx_ams_bus_hash_insert_locked(ngx_ams_stream_t *st);
static void ngx_ams_bus_end_locked(ngx_ams_stream_t *st);
static void ngx_ams_bus_free_stream_locked(ngx_ams_stream_t *st);
static ngx_uint_t ngx_ams_bus_pid_alive(ngx_pid_t pid);
static ngx_ams_stream_t *ngx_ams_bus_find_locked(ngx_str_t *app,
    ngx_str_t *name);
static void ngx_ams_bus_reader_attach_locked(ngx_ams_reader_t *rd,
    ngx_ams_stream_t *st, ngx_queue_t *queue);
static void ngx_ams_bus_stream_missing(ngx_str_t *app, ngx_str_t *name,
    ngx_log_t *log);
static ngx_uint_t ngx_ams_reader_ended(ngx_ams_reader_t *rd);
static ngx_int_t ngx_ams_bus_grow(ngx_ams_stream_t *st, ngx_ams_frame_t *f);
static ngx_uint_t ngx_ams_bus_retire(ngx_ams_stream_t *st);
static void ngx_ams_bus_ring_release_pages(ngx_ams_ring_t *ring);
static void ngx_ams_bus_request_locked(ngx_ams_stream_t *st, ngx_uint_t what);
static void ngx_ams_bus_ring_free_locked(ngx_ams_ring_t *ring);


static ngx_ams_bus_worker_t  ngx_ams_bus_worker = {
    .slot = -1, .sender = -1
};

/* per process, set by the modules that use them (ngx_ams_core.h) */
ngx_ams_bus_news_pt   ngx_ams_bus_news_handler;
ngx_ams_data_send_pt  ngx_ams_data_send_handler;


/* sets of worker slots: one bit per slot, as many words as the table */

static ngx_inline void
ngx_ams_slot_set_add(ngx_ams_slot_set_t *set, ngx_uint_t slot)
{
    __atomic_or_fetch(&set->word[slot >> 6], (uint64_t) 1 << (slot & 63),
                      __ATOMIC_SEQ_CST);
}


static ngx_inline void
ngx_ams_slot_set_remove(ngx_ams_slot_set_t *set, ngx_uint_t slot)
{
    __atomic_and_fetch(&set->word[slot >> 6], ~((uint64_t) 1 << (slot & 63)),
                       __ATOMIC_SEQ_CST);
}


static ngx_inline ngx_uint_t
ngx_ams_slot_set_has(ngx_ams_slot_set_t *set, ngx_uint_t slot)
{
    return (__atomic_load_n(&set->word[slot >> 6], __ATOMIC_SEQ_CST)
            >> (slot & 63)) & 1;
}


static ngx_uint_t
ngx_ams_slot_set_empty(ngx_ams_slot_set_t *set)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_ams_bus_worker.sh->slot_words; i++) {
        if (__atomic_load_n(&set->word[i], __ATOMIC_SEQ_CST)) {
            return 0;
        }
    }

    return 1;
}


/* dst |= src, dst being this worker's own */

static void
ngx_ams_slot_set_merge(ngx_ams_slot_set_t *dst, ngx_ams_slot_set_t *src)
{
    ngx_uint_t  i;

    for (i = 0; i < ngx_ams_bus_worker.sh->slot_words; i++) {
        dst->word[i] |= __atomic_load_n(&src->word[i], __ATOMIC_SEQ_CST);
    }
}


ngx_int_t
ngx_ams_bus_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_ams_main_conf_t *amcf = shm_zone->data;

    size_t             size;
    int32_t           *bucket, *next;
    uint32_t           buckets;
    ngx_uint_t         i;
    ngx_slab_pool_t   *shpool;
    ngx_ams_bus_sh_t  *sh;

    if (data) {
        /* a reload: the zone, its streams and their rings live on; the
         * slot table keeps its size, the new workers' count is what old
         * generations must leave free */
        shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
        sh = shpool->data;

        if (amcf->workers > sh->nslots / 2) {
            ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                          "ams: %ui worker_processes need a restart, not a "
                          "reload: the bus was made with %ui worker slots",
                          amcf->workers, sh->nslots);
            return NGX_ERROR;
        }

        sh->reserve = amcf->workers;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    size = sizeof(ngx_ams_bus_sh_t)
           + (amcf->max_streams - 1) * sizeof(ngx_ams_stream_t);

    sh = ngx_slab_calloc(shpool, size);
    if (sh) {
        sh->slots = ngx_slab_calloc(shpool, amcf->worker_slots
                                           * sizeof(ngx_ams_worker_slot_t));
    }

    if (sh == NULL || sh->slots == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "ams: bus_zone_size too small for %ui streams",
                      amcf->max_streams);
        return NGX_ERROR;
    }

    buckets = ngx_ams_stream_index_buckets(amcf->max_streams);
    bucket = ngx_slab_alloc(shpool, buckets * sizeof(int32_t));
    next = ngx_slab_alloc(shpool, amcf->max_streams * sizeof(int32_t));

    if (bucket == NULL || next == NULL) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "ams: bus_zone_size too small for %ui streams",
                      amcf->max_streams);
        return NGX_ERROR;
    }

    ngx_ams_stream_index_init(&sh->index, buckets, bucket, next,
                              amcf->max_streams);
    sh->token = ((uint64_t) ngx_random() << 32) ^ (uint64_t) ngx_random()
                ^ ((uint64_t) ngx_pid << 16) ^ (uint64_t) ngx_time();
    sh->max_streams = amcf->max_streams;
    sh->ring_data_size = amcf->stream_buffer;
    sh->nslots = amcf->worker_slots;
    sh->slot_words = (sh->nslots + 63) / 64;
    sh->reserve = ngx_min(amcf->workers, sh->nslots / 2);

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
    w->cycle = cycle;

    ngx_queue_init(&w->batched);
    ngx_queue_init(&w->immediate);
    ngx_queue_init(&w->waiting);
    ngx_queue_init(&w->sources);

    w->local_readers = ngx_pcalloc(cycle->pool,
                                   w->sh->max_streams * sizeof(uint32_t));
    w->addr = ngx_pcalloc(cycle->pool,
                          w->sh->nslots * sizeof(struct sockaddr_un));

    if (w->local_readers == NULL || w->addr == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < w->sh->nslots; i++) {
        ngx_ams_bus_slot_address(w->sh, i, &w->addr[i], &w->addr_len);
    }

    w->local_wake.handler = ngx_ams_bus_wake_handler;
    w->local_wake.log = cycle->log;
    w->local_wake.data = NULL;

    w->tick.handler = ngx_ams_bus_run_readers;
    w->tick.log = cycle->log;
    w->tick.cancelable = 1;
    w->interval = amcf->wake_interval;

    /* cancelable: it never keeps an exiting worker alive */
    w->watch.handler = ngx_ams_bus_watch;
    w->watch.log = cycle->log;
    w->watch.cancelable = 1;
    ngx_add_timer(&w->watch, NGX_AMS_BUS_WATCH);

    if (ngx_ams_bus_claim_slot(cycle) != NGX_OK) {
        /* not fatal: exiting workers of old generations give theirs up,
         * and the watch claims one then */
        return NGX_OK;
    }

    if (ngx_ams_bus_open_socket(cycle) != NGX_OK) {
        ngx_ams_bus_exit_worker(cycle);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_ams_bus_pid_alive(ngx_pid_t pid)
{
    return pid != 0 && (kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH);
}


/*
 * A worker takes a free slot.  Slots of dead workers are not taken here:
 * the watch of a live worker ends their streams first (the unpublish
 * chain must run), which frees them.
 */

static ngx_int_t
ngx_ams_bus_claim_slot(ngx_cycle_t *cycle)
{
    ngx_int_t              found;
    ngx_uint_t             i;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    found = -1;

    ngx_shmtx_lock(&w->shpool->mutex);

    for (i = 0; i < w->sh->nslots; i++) {
        if (w->sh->slots[i].pid == 0) {
            found = i;
            break;
        }
    }

    if (found != -1) {
        w->sh->slots[found].pid = ngx_pid;
        w->sh->slots[found].pending = 0;
        w->sh->slots[found].requests = 0;
        w->sh->slots[found].news = 0;
        w->sh->slots[found].exiting = 0;
        w->sh->slots[found].reaping = 0;
        w->sh->slots[found].claimed = ++w->sh->claims;
    }

    w->seen_publishes = w->sh->publishes;

    ngx_shmtx_unlock(&w->shpool->mutex);

    if (found == -1) {
        if (w->slotless_logged++) {
            return NGX_DECLINED;
        }

        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "ams bus: all %ui worker slots are taken by this and "
                      "older generations' workers: this worker serves no "
                      "streams until one is free (worker_shutdown_timeout "
                      "ends old generations sooner)", w->sh->nslots);
        return NGX_DECLINED;
    }

    w->slot = found;

    return NGX_OK;
}


/* streams written from "slot" end; "wake" gets the slots to tell */

static void
ngx_ams_bus_release_slot_locked(ngx_uint_t slot, ngx_ams_slot_set_t *wake)
{
    ngx_uint_t             i;
    ngx_ams_stream_t      *st;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    for (i = 0; i < w->sh->max_streams; i++) {
        st = &w->sh->streams[i];

        if (st->state == NGX_AMS_STREAM_FREE) {
            continue;
        }

        ngx_ams_slot_set_remove(&st->readers, slot);

        if (st->state == NGX_AMS_STREAM_ACTIVE && st->writer_slot == slot) {
            ngx_ams_bus_end_locked(st);
            ngx_ams_slot_set_merge(wake, &st->readers);
        }

        if (st->state == NGX_AMS_STREAM_ENDED
            && ngx_ams_slot_set_empty(&st->readers))
        {
            ngx_ams_bus_free_stream_locked(st);
        }
    }

    ngx_ams_slot_set_remove(&w->sh->waiters, slot);

    w->sh->slots[slot].pending = 0;
    w->sh->slots[slot].requests = 0;
    w->sh->slots[slot].exiting = 0;
    w->sh->slots[slot].reaping = 0;
    ngx_memory_barrier();
    w->sh->slots[slot].pid = 0;
}


static ngx_int_t
ngx_ams_bus_open_socket(ngx_cycle_t *cycle)
{
    ngx_socket_t           fd;
    ngx_connection_t      *c;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    /* wake-ups leave by a socket of their own, so that an exiting worker
     * can give up its slot's address before the slot itself: a worker
     * starting then may claim the slot and bind that address at once */
    w->sender = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd == -1 || w->sender == -1) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_socket_errno,
                      "ams bus: socket() failed");
        if (fd != -1) {
            ngx_close_socket(fd);
        }
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

    ngx_ams_bus_wake_set(&w->wake_after_claim, w->slot);
    ngx_memzero(&w->wake_after_claim, sizeof(ngx_ams_slot_set_t));

    return NGX_OK;
}


void
ngx_ams_bus_exit_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t             i;
    ngx_queue_t           *q;
    ngx_ams_reader_t      *rd;
    ngx_ams_slot_set_t     wake;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;
    ngx_queue_t           *queues[] = { &w->batched, &w->immediate,
                                        &w->waiting };

    if (w->watch.timer_set) {
        ngx_del_timer(&w->watch);
    }

    if (w->slot == -1) {
        return;
    }

    /* publishers still connected end as a stop, not as a crash */
    ngx_ams_bus_end_sources();

    for (i = 0; i < sizeof(queues) / sizeof(queues[0]); i++) {
        while (!ngx_queue_empty(queues[i])) {
            q = ngx_queue_head(queues[i]);
            rd = ngx_queue_data(q, ngx_ams_reader_t, queue);
            ngx_ams_reader_close(rd);
        }
    }

    ngx_memzero(&wake, sizeof(ngx_ams_slot_set_t));

    /* the address first, then the slot (see ngx_ams_bus_open_socket) */
    if (w->conn) {
        ngx_close_connection(w->conn);
        w->conn = NULL;
    }

    ngx_shmtx_lock(&w->shpool->mutex);
    ngx_ams_bus_release_slot_locked(w->slot, &wake);
    ngx_shmtx_unlock(&w->shpool->mutex);

    ngx_ams_bus_wake_set(&wake, w->slot);

    w->slot = -1;

    if (w->tick.timer_set) {
        ngx_del_timer(&w->tick);
    }

    if (w->sender != -1) {
        ngx_close_socket(w->sender);
        w->sender = -1;
    }
}


/*
 * A spinlock in shared memory whose holder may die (SIGKILL, a crash)
 * without hanging every worker: nginx's master frees only its own zones'
 * mutexes.  The lock word holds the holder's pid; a waiter that has spun
 * long asks whether that pid still exists and takes the lock over if not.
 * What the dead holder was changing may be half done: callers keep what
 * they guard tolerant of that (a viewer table entry, at worst, is wrong).
 */

void
ngx_ams_shm_lock(ngx_atomic_t *lock)
{
    ngx_uint_t         spins;
    ngx_atomic_uint_t  holder;

    for (spins = 1; /* void */ ; spins++) {
        holder = *lock;

        if (holder == 0 && ngx_atomic_cmp_set(lock, 0, ngx_pid)) {
            return;
        }

        if (spins % NGX_AMS_BUS_SPIN_CHECK == 0) {
            if (holder && !ngx_ams_bus_pid_alive((ngx_pid_t) holder)
                && ngx_atomic_cmp_set(lock, holder, ngx_pid))
            {
                ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                              "ams: took over a lock held by process %P, "
                              "which is gone", (ngx_pid_t) holder);
                return;
            }

            ngx_sched_yield();
            continue;
        }

        ngx_cpu_pause();
    }
}


/* the exiting worker's sources: the unpublish chain sees a shutdown */

static void
ngx_ams_bus_end_sources(void)
{
    ngx_queue_t           *q;
    ngx_ams_stream_t      *st;
    ngx_ams_source_t      *src;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    while (!ngx_queue_empty(&w->sources)) {
        q = ngx_queue_head(&w->sources);
        src = ngx_queue_data(q, ngx_ams_source_t, queue);
        st = src->stream;

        st->end_reason = NGX_AMS_END_SHUTDOWN;
        ngx_ams_bus_unpublish(st, ngx_cycle->log);
    }
}


/*
 * The watch, each second in every worker:
 *  - a worker that died (SIGKILL, a crash) leaves its slot with its pid;
 *    the first live worker to see it runs the unpublish chain for its
 *    streams (end reason "worker died": records, playlists and webhooks
 *    end as for a stop) and frees the slot;
 *  - an old generation's worker (after a reload) marks its slot, and
 *    gives it up at once, closing its connections as
 *    worker_shutdown_timeout would, when the slots left free are fewer
 *    than the next reload needs;
 *  - a worker that found no free slot tries again.
 */

static void
ngx_ams_bus_watch(ngx_event_t *ev)
{
    ngx_uint_t             i, free, exiting, older;
    ngx_pid_t              pid;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        if (ngx_exiting || ngx_terminate || ngx_quit) {
            return;
        }

        if (ngx_ams_bus_claim_slot(w->cycle) == NGX_OK) {
            w->slotless_logged = 0;
            ngx_log_error(NGX_LOG_NOTICE, ev->log, 0,
                          "ams bus: this worker has slot %i now", w->slot);

            if (ngx_ams_bus_open_socket(w->cycle) != NGX_OK) {
                ngx_ams_bus_exit_worker(w->cycle);
                return;
            }
        }

        ngx_add_timer(&w->watch, NGX_AMS_BUS_WATCH);
        return;
    }

    free = 0;
    exiting = 0;
    older = 0;

    for (i = 0; i < w->sh->nslots; i++) {
        pid = (ngx_pid_t) w->sh->slots[i].pid;

        if (pid == 0) {
            free++;
            continue;
        }

        if (w->sh->slots[i].exiting) {
            exiting++;

            if (w->sh->slots[i].claimed < w->sh->slots[w->slot].claimed) {
                older++;
            }
        }

        if (pid == ngx_pid || w->sh->slots[i].reaping
            || ngx_ams_bus_pid_alive(pid))
        {
            continue;
        }

        /* dead: whoever flags it first ends its streams */
        if (ngx_atomic_cmp_set(&w->sh->slots[i].reaping, 0, 1)) {
            ngx_ams_bus_reap(i, pid);
        }
    }

    if (ngx_exiting && !w->sh->slots[w->slot].exiting) {
        w->sh->slots[w->slot].exiting = 1;
    }

    /* room for the next generation and one more (reloads in a row); the
     * oldest exiting workers give theirs up first, as many as needed */
    if (ngx_exiting && free < 2 * w->sh->reserve
        && older < 2 * w->sh->reserve - free)
    {
        ngx_log_error(NGX_LOG_WARN, ev->log, 0,
                      "ams bus: %ui of %ui worker slots are free, %ui "
                      "held by old generations: this old worker closes "
                      "its connections now", free, w->sh->nslots, exiting);
        ngx_ams_bus_leave();
        return;
    }

    /* an old generation's worker looks more often: reloads may come
     * faster than once a second */
    ngx_add_timer(&w->watch, ngx_exiting ? NGX_AMS_BUS_WATCH / 5
                                         : NGX_AMS_BUS_WATCH);
}


static void
ngx_ams_bus_reap(ngx_uint_t slot, ngx_pid_t pid)
{
    ngx_uint_t             i;
    ngx_ams_stream_t      *st;
    ngx_ams_slot_set_t     wake;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    /* another worker may have reaped it first and a new worker taken
     * the slot since this one read the pid */
    ngx_shmtx_lock(&w->shpool->mutex);

    if (w->sh->slots[slot].pid != (ngx_atomic_uint_t) pid) {
        if (w->sh->slots[slot].pid == 0
            || ngx_ams_bus_pid_alive((ngx_pid_t) w->sh->slots[slot].pid))
        {
            w->sh->slots[slot].reaping = 0;
        }

        ngx_shmtx_unlock(&w->shpool->mutex);
        return;
    }

    ngx_shmtx_unlock(&w->shpool->mutex);

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "ams bus: worker %P (slot %ui) is gone: its streams end",
                  pid, slot);

    /* the dead worker's streams change no more: the chain reads them
     * without the lock, as their own worker would have */
    for (i = 0; i < w->sh->max_streams; i++) {
        st = &w->sh->streams[i];

        if (st->state != NGX_AMS_STREAM_ACTIVE || st->writer_slot != slot
            || st->writer_pid != pid)
        {
            continue;
        }

        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ams bus: stream \"%*s/%*s\" ended with worker %P",
                      st->app_len, st->app, st->name_len, st->name, pid);

        st->end_reason = NGX_AMS_END_WORKER_DIED;
        ngx_ams_unpublish_handler(st, ngx_cycle->log);
    }

    ngx_memzero(&wake, sizeof(ngx_ams_slot_set_t));

    ngx_shmtx_lock(&w->shpool->mutex);
    ngx_ams_bus_release_slot_locked(slot, &wake);
    ngx_shmtx_unlock(&w->shpool->mutex);

    ngx_ams_bus_wake_set(&wake, -1);
}


/* what nginx does at worker_shutdown_timeout: every connection closes */

static void
ngx_ams_bus_leave(void)
{
    ngx_uint_t             i;
    ngx_connection_t      *c;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    c = ngx_cycle->connections;

    for (i = 0; i < ngx_cycle->connection_n; i++) {
        if (c[i].fd == (ngx_socket_t) -1
            || c[i].read == NULL
            || c[i].read->accept
            || c[i].read->channel
            || c[i].read->resolver
            || &c[i] == w->conn)
        {
            continue;
        }

        c[i].close = 1;
        c[i].error = 1;

        c[i].read->handler(c[i].read);
    }

    /* what a handler left open (a source without a connection) */
    ngx_ams_bus_exit_worker((ngx_cycle_t *) ngx_cycle);
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

    ngx_ams_bus_run_news();

    since = ngx_current_msec - w->last_run;

    if (w->interval && since < w->interval && !w->urgent) {
        if (!w->tick.timer_set) {
            ngx_add_timer(&w->tick, w->interval - since);
        }

        if (!ngx_queue_empty(&w->immediate)) {
            /* the tick runs the batched ones; these cannot wait */
            __atomic_store_n(&w->sh->slots[w->slot].pending, 0,
                             __ATOMIC_SEQ_CST);
            ngx_ams_bus_run_queue(&w->immediate);
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
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return;
    }

    w->last_run = ngx_current_msec;
    w->urgent = 0;

    /* clear before looking, so a frame written meanwhile wakes us again */
    __atomic_store_n(&w->sh->slots[w->slot].pending, 0, __ATOMIC_SEQ_CST);

    ngx_ams_bus_run_requests();
    ngx_ams_bus_run_news();
    ngx_ams_bus_run_queue(&w->immediate);
    ngx_ams_bus_run_queue(&w->batched);
    ngx_ams_bus_run_waiting();
}


/* another module's news for this worker: cleared, then told, so news
 * posted meanwhile wakes us again */

static void
ngx_ams_bus_run_news(void)
{
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (!ngx_atomic_cmp_set(&w->sh->slots[w->slot].news, 1, 0)) {
        return;
    }

    if (ngx_ams_bus_news_handler) {
        ngx_ams_bus_news_handler();
    }
}


ngx_int_t
ngx_ams_bus_news(ngx_pid_t pid)
{
    ngx_uint_t             i;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->sh == NULL) {
        return NGX_DECLINED;
    }

    for (i = 0; i < w->sh->nslots; i++) {
        if ((ngx_pid_t) w->sh->slots[i].pid != pid) {
            continue;
        }

        __atomic_store_n(&w->sh->slots[i].news, 1, __ATOMIC_SEQ_CST);
        ngx_ams_bus_wake_slot(i);
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static void
ngx_ams_bus_run_queue(ngx_queue_t *queue)
{
    ngx_queue_t       *q, *next;
    ngx_ams_reader_t  *rd;

    for (q = ngx_queue_head(queue);
         q != ngx_queue_sentinel(queue);
         q = next)
    {
        next = ngx_queue_next(q);
        rd = ngx_queue_data(q, ngx_ams_reader_t, queue);

        if (ngx_ams_reader_has_news(rd)) {
            rd->handler(rd);
        }
    }
}


/* the sources of this worker that readers asked something of */

static void
ngx_ams_bus_run_requests(void)
{
    ngx_uint_t             req;
    ngx_queue_t           *q, *next;
    ngx_ams_source_t      *src;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (!ngx_atomic_cmp_set(&w->sh->slots[w->slot].requests, 1, 0)) {
        return;
    }

    for (q = ngx_queue_head(&w->sources);
         q != ngx_queue_sentinel(&w->sources);
         q = next)
    {
        next = ngx_queue_next(q);
        src = ngx_queue_data(q, ngx_ams_source_t, queue);

        req = __atomic_exchange_n(&src->stream->requests, 0,
                                  __ATOMIC_SEQ_CST);

        if ((req & NGX_AMS_REQUEST_KEYFRAME) && src->request_keyframe) {
            src->request_keyframe(src);
        }

        /* last: stopping may unpublish and free the source */
        if ((req & NGX_AMS_REQUEST_STOP) && src->stop) {
            src->stop(src);
        }
    }
}


/* readers waiting for a stream, once something was published anywhere */

static void
ngx_ams_bus_run_waiting(void)
{
    ngx_queue_t           *q, *next, opened;
    ngx_ams_stream_t      *st;
    ngx_ams_reader_t      *rd;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (ngx_queue_empty(&w->waiting)
        || w->seen_publishes == w->sh->publishes)
    {
        return;
    }

    w->seen_publishes = w->sh->publishes;
    ngx_queue_init(&opened);

    /* first open every reader whose stream is live, then tell them one by
     * one: a handler may close other readers, which takes them out of
     * "opened" too */

    ngx_shmtx_lock(&w->shpool->mutex);

    for (q = ngx_queue_head(&w->waiting);
         q != ngx_queue_sentinel(&w->waiting);
         q = next)
    {
        next = ngx_queue_next(q);
        rd = ngx_queue_data(q, ngx_ams_reader_t, queue);

        st = ngx_ams_bus_find_locked(&rd->wait_app, &rd->wait_name);
        if (st == NULL) {
            continue;
        }

        ngx_queue_remove(&rd->queue);
        rd->waiting = 0;
        ngx_ams_bus_reader_attach_locked(rd, st, &opened);
    }

    if (ngx_queue_empty(&w->waiting)) {
        ngx_ams_slot_set_remove(&w->sh->waiters, w->slot);
    }

    ngx_shmtx_unlock(&w->shpool->mutex);

    /* back to their queues one by one, each told as it goes */
    while (!ngx_queue_empty(&opened)) {
        q = ngx_queue_head(&opened);
        rd = ngx_queue_data(q, ngx_ams_reader_t, queue);

        ngx_queue_remove(q);
        ngx_queue_insert_tail(rd->latency == NGX_AMS_LATENCY_IMMEDIATE
                              ? &w->immediate : &w->batched, q);

        rd->handler(rd);
    }
}


static void
ngx_ams_bus_wake_slot(ngx_uint_t i)
{
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (!ngx_atomic_cmp_set(&w->sh->slots[i].pending, 0, 1)) {
        return;
    }

    if ((ngx_int_t) i == w->slot) {
        ngx_post_event(&w->local_wake, &ngx_posted_events);
        return;
    }

    /* a full queue means that worker has wake-ups waiting already */
    if (w->sender == -1) {
        return;
    }

    (void) sendto(w->sender, "", 1, MSG_DONTWAIT,
                  (struct sockaddr *) &w->addr[i], w->addr_len);
}


/* every slot of "set" but "except" (-1: none) */

static void
ngx_ams_bus_wake_set(ngx_ams_slot_set_t *set, ngx_int_t except)
{
    uint64_t    word;
    ngx_uint_t  i, slot;

    for (i = 0; i < ngx_ams_bus_worker.sh->slot_words; i++) {
        word = __atomic_load_n(&set->word[i], __ATOMIC_SEQ_CST);

        while (word) {
            slot = i * 64 + __builtin_ctzll(word);
            word &= word - 1;

            if ((ngx_int_t) slot != except) {
                ngx_ams_bus_wake_slot(slot);
            }
        }
    }
}


static void
ngx_ams_bus_notify(ngx_ams_stream_t *st)
{
    ngx_ams_bus_wake_set(&st->readers, -1);
}


static void
ngx_ams_bus_hash_insert_locked(ngx_ams_stream_t *st)
{
    ngx_ams_stream_index_insert(&ngx_ams_bus_worker.sh->index, st->index,
        ngx_ams_stream_index_hash(st->app, st->app_len, st->name,
                                  st->name_len));
}


/* an active stream ends: out of the registry, readers drain what is left */

static void
ngx_ams_bus_end_locked(ngx_ams_stream_t *st)
{
    ngx_ams_stream_index_remove(&ngx_ams_bus_worker.sh->index, st->index,
        ngx_ams_stream_index_hash(st->app, st->app_len, st->name,
                                  st->name_len));

    st->state = NGX_AMS_STREAM_ENDED;
}


static ngx_ams_stream_t *
ngx_ams_bus_find_locked(ngx_str_t *app, ngx_str_t *name)
{
    int32_t                  i;
    ngx_ams_stream_t        *st;
    ngx_ams_stream_index_t  *ix = &ngx_ams_bus_worker.sh->index;

    for (i = ngx_ams_stream_index_first(ix,
             ngx_ams_stream_index_hash(app->data, app->len, name->data,
                                       name->len));
         i != NGX_AMS_INDEX_END;
         i = ngx_ams_stream_index_next(ix, i))
    {
        st = &ngx_ams_bus_worker.sh->streams[i];

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
    for (i = 0; i < w->sh->nslots; i++) {
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
    for (i = 0; i < w->sh->nslots && n < max; i++) {
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


ngx_ams_settings_sh_t *
ngx_ams_bus_settings(void)
{
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    return w->sh ? &w->sh->settings : NULL;
}


/* the zone's pages in use and in all, in bytes: rings and viewer tables
 * come and go, so after streams end this returns to its baseline */

void
ngx_ams_bus_zone_usage(size_t *used, size_t *size)
{
    ngx_uint_t             pages;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    *used = 0;
    *size = 0;

    if (w->sh == NULL) {
        return;
    }

    pages = (w->shpool->end - w->shpool->start) / ngx_pagesize;

    *size = pages * ngx_pagesize;
    *used = (pages - ngx_min(w->shpool->pfree, pages)) * ngx_pagesize;
}


void *
ngx_ams_bus_shm_calloc(size_t size)
{
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return NULL;
    }

    return ngx_slab_calloc(w->shpool, size);
}


void
ngx_ams_bus_shm_free(void *p)
{
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    ngx_shmtx_lock(&w->shpool->mutex);
    ngx_slab_free_locked(w->shpool, p);
    ngx_shmtx_unlock(&w->shpool->mutex);
}


void
ngx_ams_bus_shm_free_locked(void *p)
{
    ngx_slab_free_locked(ngx_ams_bus_worker.shpool, p);
}


/* Context: the publishing worker's event loop */

ngx_int_t
ngx_ams_bus_publish(ngx_ams_app_conf_t *app, ngx_str_t *name,
    ngx_ams_source_t *src, ngx_log_t *log, ngx_ams_stream_t **out)
{
    size_t                 size, data_size;
    ngx_uint_t             i, limit;
    ngx_ams_ring_t        *ring;
    ngx_ams_stream_t      *st;
    const char            *why;
    u_char                 addr[NGX_SOCKADDR_STRLEN];
    ngx_str_t              text;
    ngx_ams_slot_set_t     waiters;
    ngx_ams_main_conf_t   *amcf;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;
    char                   esc[NGX_AMS_LOG_ESCAPED_SIZE(NGX_AMS_NAME_LEN)];

    *out = NULL;

    /* one stream's files must never take another's names */
    if (!ngx_ams_stream_name_valid(name->data, name->len,
                                   src->kind == NGX_AMS_SOURCE_PUBLISHER
                                   ? 0 : NGX_AMS_STREAM_NAME_RUNG, &why))
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ams bus: stream name \"%s\" refused: %s",
                      ngx_ams_log_escape(esc, sizeof(esc), name->data,
                                         name->len), why);
        return NGX_ERROR;
    }

    if (w->slot == -1) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "ams bus: no \"ams\" block");
        return NGX_ERROR;
    }

    if (name->len == 0 || name->len >= NGX_AMS_NAME_LEN
        || src->parent.len >= NGX_AMS_NAME_LEN)
    {
        return NGX_ERROR;
    }

    /* a ring starts small and grows with the stream's bitrate */
    data_size = ngx_min(NGX_AMS_RING_INITIAL_DATA, w->sh->ring_data_size);
    size = ngx_ams_ring_size(NGX_AMS_RING_INITIAL_INDEX, data_size);

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);
    limit = (src->kind == NGX_AMS_SOURCE_PUBLISHER && src->sockaddr)
            ? amcf->publishers_per_address : 0;

    ngx_shmtx_lock(&w->shpool->mutex);

    if (limit && ngx_ams_bus_address_busy_locked(src, limit)) {
        ngx_shmtx_unlock(&w->shpool->mutex);

        text.len = ngx_sock_ntop(src->sockaddr, src->socklen, addr,
                                 NGX_SOCKADDR_STRLEN, 0);
        text.data = addr;

        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "ams bus: publish refused: %V has %ui live publishers "
                      "already (publishers_per_address)", &text, limit);
        return NGX_DECLINED;
    }

    st = ngx_ams_bus_find_locked(&app->name, name);

    if (st) {
        /* live, or its worker died and the watch has not ended it yet
         * (within a second): its record and files are not finished */
        ngx_shmtx_unlock(&w->shpool->mutex);

        if (!ngx_ams_bus_pid_alive(st->writer_pid)) {
            ngx_log_error(NGX_LOG_INFO, log, 0,
                          "ams bus: \"%V\" is still ending: its worker "
                          "died a moment ago", name);
        }

        return NGX_BUSY;
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

    ring = ngx_slab_alloc_locked(w->shpool, size);
    if (ring == NULL) {
        ngx_shmtx_unlock(&w->shpool->mutex);
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ams bus: zone full, no room for a %uz byte ring "
                      "(bus_zone_size)", size);
        return NGX_ERROR;
    }

    ngx_ams_ring_init(ring, NGX_AMS_RING_INITIAL_INDEX, data_size);

    st->ring = ring;
    ngx_memzero(st->retired, sizeof(st->retired));
    st->retiring = 0;
    st->generation = ++w->sh->generation;
    ngx_memcpy(st->app, app->name.data, app->name.len);
    st->app_len = app->name.len;
    ngx_memcpy(st->name, name->data, name->len);
    st->name_len = name->len;
    st->source_kind = src->kind;
    ngx_memcpy(st->parent, src->parent.data, src->parent.len);
    st->parent_len = src->parent.len;
    st->addr_len = src->sockaddr
                   ? ngx_ams_bus_client_key(src->sockaddr, st->addr) : 0;
    st->requests = 0;
    st->writer_pid = ngx_pid;
    st->writer_slot = w->slot;
    ngx_memzero(&st->readers, sizeof(ngx_ams_slot_set_t));
    st->end_reason = NGX_AMS_END_NORMAL;
    st->started = ngx_time();
    st->in_bytes = 0;
    st->frames = 0;
    st->rejected = 0;
    st->dropped = 0;
    st->width = 0;
    st->height = 0;
    st->gop_bytes = 0;
    st->gop_frames = 0;
    st->key_pos = 0;
    st->key_seq = 0;
    ngx_cpystrn((u_char *) st->publish_type, (u_char *) src->publish_type,
                sizeof(st->publish_type));
    st->rtmp_viewers = 0;
    st->webrtc_viewers = NGX_AMS_WEBRTC_VIEWERS_INIT(st->generation);
    st->viewers = NULL;
    st->hls_viewer_limit = -1;      /* until the record is read */
    st->dash_viewer_limit = -1;
    st->webrtc_viewer_limit = -1;

    ngx_memory_barrier();
    st->state = NGX_AMS_STREAM_ACTIVE;
    ngx_ams_bus_hash_insert_locked(st);

    (void) ngx_atomic_fetch_add(&w->sh->publishes, 1);
    waiters = w->sh->waiters;

    ngx_shmtx_unlock(&w->shpool->mutex);

    src->stream = st;
    ngx_queue_insert_tail(&w->sources, &src->queue);

    *out = st;

    /* workers with readers waiting for a stream look for theirs */
    ngx_ams_bus_wake_set(&waiters, -1);

    return ngx_ams_publish_handler(st, app, log);
}


/*
 * Whose publisher it is, for publishers_per_address: an IPv4 address (an
 * IPv4-mapped IPv6 one too), or an IPv6 /64, the least a host is given.
 */

static size_t
ngx_ams_bus_client_key(struct sockaddr *sa, u_char *key)
{
#if (NGX_HAVE_INET6)
    u_char  *p;
#endif

    switch (sa->sa_family) {

    case AF_INET:
        ngx_memcpy(key, &((struct sockaddr_in *) sa)->sin_addr, 4);
        return 4;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        p = ((struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;

        if (IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *) sa)->sin6_addr)) {
            ngx_memcpy(key, p + 12, 4);
            return 4;
        }

        ngx_memcpy(key, p, 8);
        return 8;
#endif

    default:
        return 0;
    }
}


/* "limit" live publishers from the address of "src" already? */

static ngx_uint_t
ngx_ams_bus_address_busy_locked(ngx_ams_source_t *src, ngx_uint_t limit)
{
    size_t                 len;
    u_char                 key[16];
    ngx_uint_t             i, n;
    ngx_ams_stream_t      *st;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    len = ngx_ams_bus_client_key(src->sockaddr, key);

    if (len == 0) {
        return 0;
    }

    n = 0;

    for (i = 0; i < w->sh->max_streams; i++) {
        st = &w->sh->streams[i];

        if (st->state == NGX_AMS_STREAM_ACTIVE
            && st->source_kind == NGX_AMS_SOURCE_PUBLISHER
            && st->addr_len == len && ngx_memcmp(st->addr, key, len) == 0
            && ++n >= limit)
        {
            return 1;
        }
    }

    return 0;
}


ngx_int_t
ngx_ams_bus_write(ngx_ams_stream_t *st, ngx_ams_frame_t *frame,
    const u_char *data)
{
    uint64_t               gop;
    ngx_ams_ring_t        *ring;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    ring = st->ring;

    if (frame->size > w->sh->ring_data_size / 2) {
        /* larger than any ring of this stream may take */
        (void) ngx_atomic_fetch_add(&st->rejected, 1);
        return NGX_DECLINED;
    }

    if (frame->flags & NGX_AMS_FRAME_KEY) {
        /* a GOP closes: measure it */
        if (st->frames) {
            st->gop_bytes = ngx_max(st->gop_bytes, ring->head - st->key_pos);
            st->gop_frames = ngx_max(st->gop_frames,
                                     ring->write_seq - st->key_seq);
        }

        st->key_pos = ring->head;
        st->key_seq = ring->write_seq;
    }

    /* two GOPs and some room, the one growing included, and this frame
     * twice over must fit; else the ring grows before it overwrites them */
    gop = ngx_max(st->gop_bytes, ring->head + frame->size - st->key_pos);

    if ((ring->data_size < w->sh->ring_data_size
         || ring->index_size < NGX_AMS_RING_MAX_INDEX)
        && (ngx_ams_ring_room(gop) > ring->data_size
            || frame->size > ring->data_size / 2
            || ngx_ams_ring_room(ring->write_seq - st->key_seq)
               > ring->index_size
            || ngx_ams_ring_room(st->gop_frames) > ring->index_size)
        && ngx_ams_bus_grow(st, frame) == NGX_OK)
    {
        ring = st->ring;
    }

    if (st->retiring && ngx_ams_bus_retire(st) == 0) {
        st->retiring = 0;
    }

    if (ngx_ams_ring_write(ring, frame, data) != NGX_AMS_RING_OK) {
        (void) ngx_atomic_fetch_add(&st->rejected, 1);
        return NGX_DECLINED;
    }

    (void) ngx_atomic_fetch_add(&st->in_bytes, frame->size);
    (void) ngx_atomic_fetch_add(&st->frames, 1);

    ngx_ams_bus_notify(st);

    if ((frame->flags & NGX_AMS_FRAME_KEY)
        && ngx_ams_slot_set_has(&st->readers, w->slot))
    {
        w->urgent = 1;
        ngx_post_event(&w->local_wake, &ngx_posted_events);
    }

    return NGX_OK;
}


/*
 * Ring growth.  A stream starts with a small ring.  The writer measures
 * its GOPs (bytes and frames, the one in progress included) and, when two
 * and a half of them no longer fit, moves the stream to a ring twice as
 * large or more (at most stream_buffer), before anything a reader may
 * still want is overwritten.  Frames and codec configurations are copied
 * with their sequence numbers, so readers carry on across the switch:
 * they look up "st->ring" on every peek, and a frame they were copying
 * from the old ring stays intact because nothing writes there any more.
 * An outgrown ring is freed NGX_AMS_RING_GRACE later, far longer than any
 * reader holds a frame.
 */

static ngx_int_t
ngx_ams_bus_grow(ngx_ams_stream_t *st, ngx_ams_frame_t *f)
{
    size_t                 want, size;
    uint32_t               index, data;
    uint64_t               gop, frames;
    ngx_uint_t             i, slot;
    ngx_ams_ring_t        *ring, *fresh;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    ring = st->ring;
    slot = NGX_AMS_RETIRED_RINGS;

    (void) ngx_ams_bus_retire(st);

    for (i = 0; i < NGX_AMS_RETIRED_RINGS; i++) {
        if (st->retired[i] == NULL) {
            slot = i;
        }
    }

    if (slot == NGX_AMS_RETIRED_RINGS) {
        return NGX_DECLINED;
    }

    gop = ngx_max(st->gop_bytes, ring->head + f->size - st->key_pos);
    frames = ngx_max(st->gop_frames, ring->write_seq + 1 - st->key_seq);

    want = ngx_max(ngx_ams_ring_room(gop), (size_t) f->size * 2);
    want = ngx_min(want, w->sh->ring_data_size);

    index = ring->index_size;
    while (index < ngx_ams_ring_room(frames)
           && index < NGX_AMS_RING_MAX_INDEX)
    {
        index <<= st->gop_frames ? 1 : 2;
    }

    index = ngx_min(index, NGX_AMS_RING_MAX_INDEX);

    if (want <= ring->data_size && index == ring->index_size) {
        return NGX_DECLINED;
    }

    /* while the first GOP is measured, leap: each step retires a ring */
    data = ring->data_size;
    while (data < want) {
        data *= st->gop_bytes ? 2 : 4;
    }

    data = ngx_min(data, w->sh->ring_data_size);
    size = ngx_ams_ring_size(index, data);

    fresh = ngx_slab_alloc(w->shpool, size);
    if (fresh == NULL) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "ams bus: \"%*s\" keeps a %uD byte ring: zone full "
                      "(bus_zone_size)", st->name_len, st->name,
                      ring->data_size);
        return NGX_DECLINED;
    }

    ngx_ams_ring_init(fresh, index, data);
    ngx_ams_ring_move(fresh, ring);

    /* positions are the ring's own: carry the GOP's start across */
    gop = ring->head - st->key_pos;
    st->key_pos = fresh->head > gop ? fresh->head - gop : 0;

    ngx_log_debug4(NGX_LOG_DEBUG_CORE, ngx_cycle->log, 0,
                   "ams bus: \"%*s\" ring grows to %uD bytes, %uD frames",
                   st->name_len, st->name, data, index);

    __atomic_store_n(&st->ring, fresh, __ATOMIC_RELEASE);

    st->retired[slot] = ring;
    st->retired_at[slot] = ngx_current_msec;
    st->retiring = 1;

    return NGX_OK;
}


/* frees the outgrown rings whose grace has passed; how many remain */

static ngx_uint_t
ngx_ams_bus_retire(ngx_ams_stream_t *st)
{
    ngx_uint_t             i, left;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    left = 0;

    for (i = 0; i < NGX_AMS_RETIRED_RINGS; i++) {
        if (st->retired[i] == NULL) {
            continue;
        }

        if (ngx_current_msec - st->retired_at[i] < NGX_AMS_RING_GRACE) {
            left++;
            continue;
        }

        /* no reader reaches it any more: its pages go without the lock */
        ngx_ams_bus_ring_release_pages(st->retired[i]);

        ngx_shmtx_lock(&w->shpool->mutex);
        ngx_slab_free_locked(w->shpool, st->retired[i]);
        st->retired[i] = NULL;
        ngx_shmtx_unlock(&w->shpool->mutex);
    }

    return left;
}


/*
 * A ring is whole pages of the slab pool, data only (the slab keeps its
 * bookkeeping elsewhere): hand the pages back to the system before the
 * pool takes the block, so an outgrown or ended ring stops costing memory
 * until the pool gives it out again.
 */

static void
ngx_ams_bus_ring_release_pages(ngx_ams_ring_t *ring)
{
    size_t     size;
    uintptr_t  start, end;

    size = ngx_ams_ring_size(ring->index_size, ring->data_size);
    start = ngx_align((uintptr_t) ring, ngx_pagesize);
    end = ((uintptr_t) ring + size) & ~((uintptr_t) ngx_pagesize - 1);

    if (end > start) {
        (void) madvise((void *) start, end - start, MADV_REMOVE);
    }
}


static void
ngx_ams_bus_ring_free_locked(ngx_ams_ring_t *ring)
{
    ngx_ams_bus_ring_release_pages(ring);
    ngx_slab_free_locked(ngx_ams_bus_worker.shpool, ring);
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
    ngx_queue_t           *q;
    ngx_ams_source_t      *src;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    for (q = ngx_queue_head(&w->sources);
         q != ngx_queue_sentinel(&w->sources);
         q = ngx_queue_next(q))
    {
        src = ngx_queue_data(q, ngx_ams_source_t, queue);

        if (src->stream == st) {
            ngx_queue_remove(&src->queue);
            src->stream = NULL;
            break;
        }
    }

    /* a publisher that leaves while its worker exits (stop, reload,
     * worker_shutdown_timeout) ends with it */
    if (st->end_reason == NGX_AMS_END_NORMAL
        && (ngx_exiting || ngx_terminate || ngx_quit))
    {
        st->end_reason = NGX_AMS_END_SHUTDOWN;
    }

    /* observers first, while the stream's counters are still its own */
    if (st->state == NGX_AMS_STREAM_ACTIVE && st->writer_pid == ngx_pid) {
        ngx_ams_unpublish_handler(st, log);
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    if (st->state == NGX_AMS_STREAM_ACTIVE && st->writer_pid == ngx_pid) {
        ngx_ams_bus_end_locked(st);
    }

    ngx_memory_barrier();

    ngx_ams_bus_notify(st);

    if (st->state == NGX_AMS_STREAM_ENDED
        && ngx_ams_slot_set_empty(&st->readers))
    {
        ngx_ams_bus_free_stream_locked(st);
    }

    ngx_shmtx_unlock(&w->shpool->mutex);
}


/*
 * Requests to a source.  The stream is checked under the registry lock
 * (by name, or by the reader's generation), so a slot freed and reused
 * meanwhile never passes a request to another stream's source.
 */

ngx_int_t
ngx_ams_bus_request(ngx_str_t *app, ngx_str_t *name, ngx_uint_t what)
{
    ngx_ams_stream_t      *st;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return NGX_DECLINED;
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    st = ngx_ams_bus_find_locked(app, name);
    if (st) {
        ngx_ams_bus_request_locked(st, what);
    }

    ngx_shmtx_unlock(&w->shpool->mutex);

    if (st == NULL) {
        return NGX_DECLINED;
    }

    ngx_ams_bus_wake_slot(st->writer_slot);

    return NGX_OK;
}


ngx_int_t
ngx_ams_reader_request(ngx_ams_reader_t *rd, ngx_uint_t what)
{
    ngx_uint_t             slot;
    ngx_ams_stream_t      *st;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (!rd->open) {
        return NGX_DECLINED;
    }

    st = rd->stream;

    ngx_shmtx_lock(&w->shpool->mutex);

    if (ngx_ams_reader_ended(rd)) {
        ngx_shmtx_unlock(&w->shpool->mutex);
        return NGX_DECLINED;
    }

    ngx_ams_bus_request_locked(st, what);
    slot = st->writer_slot;

    ngx_shmtx_unlock(&w->shpool->mutex);

    ngx_ams_bus_wake_slot(slot);

    return NGX_OK;
}


static void
ngx_ams_bus_request_locked(ngx_ams_stream_t *st, ngx_uint_t what)
{
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    __atomic_or_fetch(&st->requests, what, __ATOMIC_SEQ_CST);
    __atomic_store_n(&w->sh->slots[st->writer_slot].requests, 1,
                     __ATOMIC_SEQ_CST);

    /* run at once, not after the writer's next batching interval */
    if ((ngx_int_t) st->writer_slot == w->slot) {
        w->urgent = 1;
    }
}


static void
ngx_ams_bus_free_stream_locked(ngx_ams_stream_t *st)
{
    ngx_uint_t  i;

    ngx_ams_stream_free_handler(st);

    if (st->ring) {
        ngx_ams_bus_ring_free_locked(st->ring);
        st->ring = NULL;
    }

    for (i = 0; i < NGX_AMS_RETIRED_RINGS; i++) {
        if (st->retired[i]) {
            ngx_ams_bus_ring_free_locked(st->retired[i]);
            st->retired[i] = NULL;
        }
    }

    st->state = NGX_AMS_STREAM_FREE;
}


/* Readers.  Context: the reader's worker (or the one thread owning it) */

/* "queue": where the reader goes, NULL for its latency class's */

static void
ngx_ams_bus_reader_attach_locked(ngx_ams_reader_t *rd, ngx_ams_stream_t *st,
    ngx_queue_t *queue)
{
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    rd->stream = st;
    rd->generation = st->generation;
    rd->ended = 0;
    ngx_ams_ring_cursor_join(st->ring, &rd->cursor);

    if (w->local_readers[st->index]++ == 0) {
        ngx_ams_slot_set_add(&st->readers, w->slot);
    }

    if (queue == NULL) {
        queue = (rd->latency == NGX_AMS_LATENCY_IMMEDIATE) ? &w->immediate
                                                            : &w->batched;
    }

    ngx_queue_insert_tail(queue, &rd->queue);
    rd->open = 1;
}


static void
ngx_ams_bus_stream_missing(ngx_str_t *app, ngx_str_t *name, ngx_log_t *log)
{
    ngx_ams_app_conf_t  *conf;

    conf = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, app);

    if (conf) {
        (void) ngx_ams_stream_missing_handler(conf, name, log);
    }
}


ngx_int_t
ngx_ams_reader_open(ngx_ams_reader_t *rd, ngx_str_t *app, ngx_str_t *name,
    ngx_log_t *log)
{
    ngx_ams_stream_t      *st;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    st = ngx_ams_bus_find_locked(app, name);

    if (st) {
        ngx_ams_bus_reader_attach_locked(rd, st, NULL);
    }

    ngx_shmtx_unlock(&w->shpool->mutex);

    if (st == NULL) {
        ngx_ams_bus_stream_missing(app, name, log);
        return NGX_DECLINED;
    }

    return NGX_OK;
}


ngx_int_t
ngx_ams_reader_open_stream(ngx_ams_reader_t *rd, ngx_ams_stream_t *st,
    ngx_log_t *log)
{
    ngx_int_t              rc;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    rc = NGX_DECLINED;

    if (st->state == NGX_AMS_STREAM_ACTIVE) {
        ngx_ams_bus_reader_attach_locked(rd, st, NULL);
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&w->shpool->mutex);

    return rc;
}


ngx_int_t
ngx_ams_reader_wait(ngx_ams_reader_t *rd, ngx_str_t *app, ngx_str_t *name,
    ngx_log_t *log)
{
    ngx_ams_stream_t      *st;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (w->slot == -1) {
        return NGX_ERROR;
    }

    ngx_shmtx_lock(&w->shpool->mutex);

    st = ngx_ams_bus_find_locked(app, name);

    if (st) {
        ngx_ams_bus_reader_attach_locked(rd, st, NULL);
        ngx_shmtx_unlock(&w->shpool->mutex);
        return NGX_OK;
    }

    /* under the lock: a publish after this is sure to wake us */
    rd->wait_app = *app;
    rd->wait_name = *name;
    rd->waiting = 1;
    ngx_queue_insert_tail(&w->waiting, &rd->queue);
    ngx_ams_slot_set_add(&w->sh->waiters, w->slot);

    ngx_shmtx_unlock(&w->shpool->mutex);

    ngx_ams_bus_stream_missing(app, name, log);

    return NGX_AGAIN;
}


void
ngx_ams_reader_close(ngx_ams_reader_t *rd)
{
    ngx_ams_stream_t      *st;
    ngx_ams_bus_worker_t  *w = &ngx_ams_bus_worker;

    if (rd->waiting) {
        rd->waiting = 0;
        ngx_queue_remove(&rd->queue);

        if (ngx_queue_empty(&w->waiting)) {
            ngx_ams_slot_set_remove(&w->sh->waiters, w->slot);
        }

        return;
    }

    if (!rd->open) {
        return;
    }

    rd->open = 0;
    ngx_queue_remove(&rd->queue);

    st = rd->stream;

    ngx_shmtx_lock(&w->shpool->mutex);

    if (--w->local_readers[st->index] == 0) {
        ngx_ams_slot_set_remove(&st->readers, w->slot);

        if (st->state == NGX_AMS_STREAM_ENDED
            && ngx_ams_slot_set_empty(&st->readers))
        {
            ngx_ams_bus_free_stream_locked(st);
        }
    }

    ngx_shmtx_unlock(&w->shpool->mutex);
}


static ngx_uint_t
ngx_ams_reader_ended(ngx_ams_reader_t *rd)
{
    return rd->stream->state != NGX_AMS_STREAM_ACTIVE
           || rd->stream->generation != rd->generation;
}


ngx_uint_t
ngx_ams_reader_has_news(ngx_ams_reader_t *rd)
{
    ngx_ams_ring_t  *ring;

    if (!rd->open) {
        return 0;
    }

    ring = __atomic_load_n(&rd->stream->ring, __ATOMIC_ACQUIRE);

    return ngx_ams_reader_ended(rd) || ngx_ams_ring_has_news(ring, &rd->cursor.pos);
}


ngx_uint_t
ngx_ams_reader_key_waiting(ngx_ams_reader_t *rd)
{
    uint64_t         key, next;
    ngx_ams_ring_t  *ring;

    ring = __atomic_load_n(&rd->stream->ring, __ATOMIC_ACQUIRE);
    key = __atomic_load_n(&ring->last_key_seq, __ATOMIC_ACQUIRE);
    next = __atomic_load_n(&rd->cursor.pos.next_seq, __ATOMIC_RELAXED);

    return key != NGX_AMS_RING_NO_SEQ && key >= next
           && key < __atomic_load_n(&ring->write_seq, __ATOMIC_ACQUIRE);
}


uint64_t
ngx_ams_reader_backlog(ngx_ams_reader_t *rd)
{
    uint64_t         ws, next;
    ngx_ams_ring_t  *ring;

    ring = __atomic_load_n(&rd->stream->ring, __ATOMIC_ACQUIRE);
    ws = __atomic_load_n(&ring->write_seq, __ATOMIC_ACQUIRE);
    next = __atomic_load_n(&rd->cursor.pos.next_seq, __ATOMIC_RELAXED);

    return ws > next ? ws - next : 0;
}


size_t
ngx_ams_reader_max_frame(ngx_ams_reader_t *rd)
{
    return ngx_ams_bus_worker.sh->ring_data_size / 2;
}


ngx_int_t
ngx_ams_reader_peek(ngx_ams_reader_t *rd, ngx_ams_bus_event_t *ev)
{
    ngx_uint_t       ended;
    ngx_ams_ring_t  *ring;

    /* in this order: once ended, the ring is the last one it will have */
    ended = ngx_ams_reader_ended(rd);
    ngx_memory_barrier();
    ring = __atomic_load_n(&rd->stream->ring, __ATOMIC_ACQUIRE);

    if (ngx_ams_ring_next(ring, &rd->cursor, ended, ev) != NGX_AMS_RING_OK) {
        return NGX_AGAIN;
    }

    if (ev->type == NGX_AMS_EVENT_END) {
        rd->ended = 1;
    }

    return NGX_OK;
}


ngx_int_t
ngx_ams_reader_commit(ngx_ams_reader_t *rd, ngx_ams_bus_event_t *ev)
{
    return ngx_ams_ring_consume(&rd->cursor, ev) == NGX_AMS_RING_OK
           ? NGX_OK : NGX_DECLINED;
}


ngx_int_t
ngx_ams_reader_read(ngx_ams_reader_t *rd, ngx_ams_bus_event_t *ev,
    u_char *buf, size_t cap)
{
    ngx_int_t  rc;

    for ( ;; ) {
        rc = ngx_ams_reader_peek(rd, ev);

        if (rc != NGX_OK) {
            return rc;
        }

        if (ev->type != NGX_AMS_EVENT_FRAME) {
            (void) ngx_ams_reader_commit(rd, ev);
            return NGX_OK;
        }

        if (ev->len > cap) {
            return NGX_ERROR;
        }

        ngx_memcpy(buf, ev->data, ev->len);

        if (ngx_ams_reader_commit(rd, ev) == NGX_OK) {
            ev->data = buf;
            return NGX_OK;
        }
    }
}
