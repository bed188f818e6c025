
/*
 * Copyright (C) nginx-ams authors
 *
 * The interface every other nginx-ams module builds on: applications
 * (the "ams {}" block) and the media bus.
 *
 * The bus is the only thing modules share.  A producer (an RTMP publisher,
 * later SRT, WebRTC, a transcoder) publishes a stream and writes frames;
 * consumers (players, the packager) subscribe from any worker and are
 * woken when frames arrive.  Streams live in one shared-memory zone that
 * survives reloads.
 */


#ifndef _NGX_AMS_CORE_H_INCLUDED_
#define _NGX_AMS_CORE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_thread_pool.h>

#include "ngx_ams_ring.h"
#include "ngx_ams_handoff.h"
#include "ngx_ams_ll_state.h"


#define NGX_AMS_VERSION           "0.1.0"

#define NGX_AMS_APP_LEN           64
#define NGX_AMS_NAME_LEN          128
#define NGX_AMS_MAX_WORKERS       1024   /* the most worker slots a bus has */
#define NGX_AMS_SLOT_WORDS        (NGX_AMS_MAX_WORKERS / 64)
#define NGX_AMS_RETIRED_RINGS     8      /* rings outgrown, still readable */

#define NGX_AMS_STREAM_FREE       0
#define NGX_AMS_STREAM_ACTIVE     1
#define NGX_AMS_STREAM_ENDED      2

/* directive contexts below nginx's main one: "ams {}" and "application {}";
 * any core module's directives may use them */
#define NGX_AMS_MAIN_CONF         0x40000000
#define NGX_AMS_APP_CONF          0x80000000


/* stream security (AMS: acceptOnlyStreamsInDataStore, ...), enforced by
 * ngx_ams_access.c */
typedef struct {
    ngx_flag_t                accept_only_streams_in_data_store;
    ngx_flag_t                publish_token_control;
    ngx_flag_t                play_token_control;
    ngx_flag_t                publish_jwt_control;
    ngx_flag_t                play_jwt_control;
    ngx_str_t                 jwt_stream_secret_key;
} ngx_ams_access_conf_t;


/*
 * An "application NAME {}" block: core's settings here, every other
 * module's in "ctx", by module index (ngx_ams_app_get_module_conf).
 */
typedef struct {
    ngx_str_t                 name;
    void                    **ctx;

    ngx_ams_access_conf_t     access;

    ngx_str_t                 listener_hook_url;   /* ngx_ams_webhook.c */
    void                     *listener_hook;  /* ngx_ams_webhook_target_t */
    ngx_msec_t                viewer_timeout;      /* ngx_ams_viewers.c */

    void                     *settings;  /* this worker's runtime settings
                                            state: ngx_ams_app_settings.c */
} ngx_ams_app_conf_t;


/*
 * A module with settings in "application {}" blocks registers itself in
 * its create_conf with ngx_ams_app_module_add() (core's create_conf has
 * run by then, on every configuration cycle).  Each block then calls
 * create_app_conf, parses the module's NGX_AMS_APP_CONF|NGX_DIRECT_CONF
 * directives into that conf (nginx finds it by the module's index), and
 * calls init_app_conf after the block for defaults and checks: there is
 * nothing to merge, applications do not nest.  nginx looks directives
 * up in core modules only at this level: an HTTP or stream module adds a
 * small core module to its .so for its application settings.
 */
typedef struct json_t  ngx_ams_json_t;   /* jansson's json_t */

/*
 * Runtime settings (REST's applications/settings, the same on every node:
 * ngx_ams_app_settings.c), optional.  "settings_export" adds the
 * module's fields to "out" under AMS's AppSettings names and JSON types.
 * "settings_apply" reads the module's fields of "in" (others are not its
 * business), checks them all, and only if every one is valid, applies
 * them to "conf": NGX_OK; NGX_DECLINED with *error (a static string
 * naming the field) and "conf" untouched.  With "check" set it only
 * checks.  Both run in each worker on its own copy of the configuration;
 * a value applied affects what starts after it (streams, admissions),
 * never a reload.  Strings kept must live in a buffer the module reuses
 * (a change must not leak).
 */
typedef void (*ngx_ams_settings_export_pt)(ngx_ams_app_conf_t *app,
    void *conf, ngx_ams_json_t *out);
typedef ngx_int_t (*ngx_ams_settings_apply_pt)(ngx_ams_app_conf_t *app,
    void *conf, ngx_ams_json_t *in, ngx_uint_t check, const char **error);

typedef struct {
    ngx_module_t             *module;
    void                   *(*create_app_conf)(ngx_conf_t *cf);
    char                   *(*init_app_conf)(ngx_conf_t *cf, void *conf);
    ngx_ams_settings_export_pt  settings_export;   /* may be NULL */
    ngx_ams_settings_apply_pt   settings_apply;    /* may be NULL */
} ngx_ams_app_module_t;

#define ngx_ams_app_get_module_conf(app, m)  ((app)->ctx[(m).index])


typedef struct {
    size_t                    bus_size;
    ngx_uint_t                max_streams;
    size_t                    stream_buffer;
    ngx_msec_t                wake_interval;
    ngx_str_t                 storage;
    ngx_str_t                 thread_pool_name;
    ngx_thread_pool_t        *thread_pool;
    ngx_array_t               apps;          /* ngx_ams_app_conf_t * */
    ngx_array_t               app_modules;   /* ngx_ams_app_module_t * */
    ngx_str_t                 database;      /* [scheme:]URI of the store */
    ngx_str_t                 store_thread_pool_name;
    ngx_msec_t                broadcast_stale_timeout;
    struct ngx_ams_store_s   *store;         /* ngx_ams_store.h */
    ngx_str_t                 node_address;  /* AMS originAdress */
    ngx_str_t                 cluster_key;   /* set by ngx_ams_cluster:
                                                node-to-node JWTs */
    ngx_msec_t                settings_period;  /* reading the store's
                                                application settings;
                                                unset: the cluster's
                                                node_update_period, or 5s */
    ngx_flag_t                cluster_member; /* set by ngx_ams_cluster
                                                (node_role): publishers
                                                claim their stream id in
                                                the store first */
    ngx_uint_t                cpu_limit;     /* percent */
    ngx_uint_t                memory_limit;  /* percent */
    ngx_uint_t                publishers_per_address;  /* 0: no limit */
    ngx_uint_t                worker_slots;  /* from worker_processes */
    ngx_uint_t                workers;
    ngx_str_t                 status_webhook_url;
    void                     *status_webhook; /* ngx_ams_webhook_target_t */
    ngx_flag_t                jwt_server_control;
    ngx_str_t                 jwt_server_secret_key;
    ngx_shm_zone_t           *shm_zone;
} ngx_ams_main_conf_t;


/*
 * Sources.  Whoever publishes a stream says what kind of source it is
 * and what the bus may ask of it.  The operations run on the event loop
 * of the publishing worker; any worker asks through ngx_ams_bus_request()
 * or ngx_ams_reader_request(), which wake that worker.
 */

#define NGX_AMS_SOURCE_PUBLISHER  0     /* RTMP, SRT, WebRTC ingest */
#define NGX_AMS_SOURCE_RELAY      1     /* pulled from another node */
#define NGX_AMS_SOURCE_RENDITION  2     /* a transcoder's rung of "parent" */

#define NGX_AMS_REQUEST_STOP      0x01  /* end the publish (REST delete) */
#define NGX_AMS_REQUEST_KEYFRAME  0x02  /* a new reader wants one soon */

/* why a stream ended, for the unpublish chain's observers */
#define NGX_AMS_END_NORMAL        0     /* the source left or was stopped */
#define NGX_AMS_END_SHUTDOWN      1     /* its worker exits: stop or reload */
#define NGX_AMS_END_WORKER_DIED   2     /* its worker died; another ends it */

typedef struct ngx_ams_source_s  ngx_ams_source_t;

typedef void (*ngx_ams_source_op_pt)(ngx_ams_source_t *src);

struct ngx_ams_source_s {
    ngx_uint_t                kind;
    const char               *publish_type;  /* AMS publishType: "RTMP" */
    ngx_str_t                 parent;        /* rendition: its stream id */
    ngx_ams_source_op_pt      stop;          /* may be NULL */
    ngx_ams_source_op_pt      request_keyframe;  /* may be NULL */
    void                     *data;
    struct sockaddr          *sockaddr;      /* the client's, when one: the
                                                per-address publisher limit */
    socklen_t                 socklen;

    /* the bus's */
    struct ngx_ams_stream_s  *stream;
    ngx_queue_t               queue;         /* this worker's sources */
};


/* a set of worker slots (readers of a stream, workers waiting for one);
 * only the first "slot_words" words of the bus's table are used */
typedef struct {
    volatile uint64_t         word[NGX_AMS_SLOT_WORDS];
} ngx_ams_slot_set_t;


/* one live stream, in shared memory */
typedef struct ngx_ams_stream_s {
    ngx_atomic_t              state;
    ngx_uint_t                index;
    ngx_uint_t                generation;

    u_char                    app[NGX_AMS_APP_LEN];
    size_t                    app_len;
    u_char                    name[NGX_AMS_NAME_LEN];
    size_t                    name_len;

    ngx_uint_t                source_kind;   /* NGX_AMS_SOURCE_* */
    u_char                    addr[16];      /* the publisher's address */
    size_t                    addr_len;      /* 4 (IPv4), 8 (an IPv6 /64),
                                                or 0: none */
    u_char                    parent[NGX_AMS_NAME_LEN];
    size_t                    parent_len;
    ngx_atomic_t              requests;      /* NGX_AMS_REQUEST_* pending */
    ngx_uint_t                end_reason;    /* NGX_AMS_END_*, set before
                                                the unpublish chain runs */

    ngx_pid_t                 writer_pid;
    ngx_uint_t                writer_slot;
    ngx_ams_slot_set_t        readers;       /* worker slots with readers */

    ngx_ams_ring_t           *ring;          /* may be replaced: it grows */
    ngx_ams_ring_t           *retired[NGX_AMS_RETIRED_RINGS];
    ngx_msec_t                retired_at[NGX_AMS_RETIRED_RINGS];
    ngx_uint_t                retiring;      /* some wait to be freed */
    uint64_t                  gop_bytes;     /* the largest GOP seen */
    uint64_t                  gop_frames;
    uint64_t                  key_pos;       /* where this GOP began */
    uint64_t                  key_seq;
    time_t                    started;
    ngx_atomic_t              in_bytes;
    ngx_atomic_t              frames;
    ngx_atomic_t              rejected;      /* frames too big for the ring */
    ngx_atomic_t              dropped;       /* a thread could not queue */
    uint32_t                  width;
    uint32_t                  height;

    char                      publish_type[8];   /* "RTMP", ... */
    ngx_atomic_t              rtmp_viewers;
    /* WebRTC players of this stream and of its rungs: the count in the
     * low 32 bits, the stream's generation above it, so a player that
     * leaves after the slot went to another stream takes nothing off
     * that one (ngx_ams_viewers.c) */
    volatile uint64_t         webrtc_viewers;
    ngx_atomic_t              viewers_lock;  /* ngx_ams_shm_lock() */
    void                     *viewers;       /* HLS/DASH: ngx_ams_viewers.c */

    /* the broadcast record's hlsViewerLimit, dashViewerLimit and
     * webRTCViewerLimit (-1: none), as last read from the store or set by
     * REST (ngx_ams_viewer_limits.c); "limits_stamp" moves at each REST
     * change, so a read that began before it does not undo it */
    ngx_atomic_int_t          hls_viewer_limit;
    ngx_atomic_int_t          dash_viewer_limit;
    ngx_atomic_int_t          webrtc_viewer_limit;
    ngx_atomic_t              limits_stamp;

    /* low-latency HLS: the parts the packager published, for the HLS
     * gate's blocking requests; valid while ll.generation == generation */
    ngx_ams_ll_state_t        ll;
} ngx_ams_stream_t;


/* a stream's WebRTC players (st->webrtc_viewers), and its value when the
 * slot is (re)published with "generation" */
#define ngx_ams_webrtc_viewers(st)                                           \
    ((ngx_uint_t) (uint32_t) (st)->webrtc_viewers)
#define NGX_AMS_WEBRTC_VIEWERS_INIT(generation)                              \
    ((uint64_t) (uint32_t) (generation) << 32)


/* the node's resources, sampled by the StatsCollector (ngx_ams_stats.c) */
typedef struct {
    ngx_atomic_t              sampled_at;    /* seconds, claims a sample */
    /* CPU loads in hundredths of a percent of the machine: a stream's
     * packaging is a fraction of a percent on a many-core host */
    ngx_atomic_t              cpu_x100;      /* 5-sample moving average */
    ngx_atomic_t              cpu_instant_x100;
    ngx_atomic_t              process_cpu_x100;     /* nginx's processes */
    uint64_t                  process_cpu_ms;       /* their CPU time */
    uint64_t                  prev_process;         /* their jiffies */
    ngx_atomic_t              memory_percent;
    uint64_t                  memory_total;  /* bytes */
    uint64_t                  memory_available;
    uint64_t                  swap_total;
    uint64_t                  swap_free;
    uint64_t                  disk_total;
    uint64_t                  disk_free;
    uint64_t                  disk_usable;
    ngx_atomic_t              cpu_count;
    ngx_atomic_t              overloaded;    /* 0, or which limit: 1 cpu,
                                                2 memory */
    ngx_atomic_t              refused_publishers;
    ngx_atomic_t              refused_viewers;
    uint64_t                  prev_total;    /* /proc/stat jiffies */
    uint64_t                  prev_idle;
    ngx_uint_t                recent[5];     /* last 5 one-second loads,
                                                x100 */
    ngx_uint_t                samples;
    /* the store (ngx_ams_store.c): each chain of operations timed in the
     * pool thread, a moving average of 1/16 weight per query */
    ngx_atomic_t              db_query_avg_us;
    ngx_atomic_t              db_queries;
    ngx_atomic_t              db_slow_queries;   /* over 100 ms */
    ngx_atomic_t              db_slow_logged;    /* seconds: rate limit */
    /* outages (ngx_ams_store_health.c): since when (seconds, 0: up) */
    ngx_atomic_t              db_down_since;
    ngx_atomic_t              db_outages;
    /* the cluster's nodes in this node's snapshot (ngx_ams_cluster, which
     * api cannot call: it shows them from here) */
    ngx_atomic_t              cluster_on;
    ngx_atomic_t              cluster_alive;
    ngx_atomic_t              cluster_dead;
    /* transcoding (ngx_ams_transcode, which api cannot call): AMS's
     * encoders-blocked, encoders-not-opened, dropFrameCountInEncoding,
     * and the frames waiting for encoders across the node's streams */
    ngx_atomic_t              encoders_blocked;
    ngx_atomic_t              encoders_not_opened;
    ngx_atomic_t              encode_dropped_frames;
    ngx_atomic_t              encoder_queue;
    ngx_atomic_t              transcoded_streams;
    /* bytes sent, by protocol (NGX_AMS_SENT_*): the node's egress, each
     * counted where its protocol writes (ngx_ams_stats_sent()) */
    ngx_atomic_t              sent_bytes[4];
} ngx_ams_node_stats_t;


/*
 * Readers.  A reader follows one stream from any worker: open, then
 * peek/commit (or read, which copies) events in order:
 *
 *   FRAME   a frame; its bytes stay in the ring, valid until commit,
 *           which says whether they were overwritten meanwhile
 *   CONFIG  a track's codec configuration changed (or is first seen):
 *           avcC, AudioSpecificConfig, or onMetaData for the data track;
 *           always before the first frame that needs it
 *   SKIP    the reader was overrun and moved to a keyframe; "dropped"
 *           frames were lost
 *   END     the publisher stopped and every frame was read
 *
 * The reader's handler runs on its worker's event loop when there is
 * news.  BATCHED readers (players, HLS/DASH) run at most once per
 * wake_interval, so each run carries several frames; IMMEDIATE readers
 * (WebRTC, low-latency parts) run on every frame.  A reader may be
 * driven by a thread-pool task as long as one thread owns it at a time;
 * ngx_ams_reader_has_news() is safe to ask from the event loop meanwhile.
 */

#define NGX_AMS_LATENCY_BATCHED    0
#define NGX_AMS_LATENCY_IMMEDIATE  1

/* NGX_AMS_EVENT_FRAME, CONFIG, SKIP, END: see ngx_ams_ring.h */
typedef ngx_ams_ring_event_t  ngx_ams_bus_event_t;


typedef struct ngx_ams_reader_s  ngx_ams_reader_t;

typedef void (*ngx_ams_reader_handler_pt)(ngx_ams_reader_t *rd);

struct ngx_ams_reader_s {
    ngx_uint_t                latency;       /* NGX_AMS_LATENCY_* */
    ngx_ams_reader_handler_pt handler;       /* news, end, or it opened */
    void                     *data;

    /* the bus's; "stream" may be read (counters, name) while open */
    ngx_ams_stream_t         *stream;
    ngx_uint_t                generation;
    ngx_ams_ring_cursor_t     cursor;
    ngx_str_t                 wait_app;      /* while waiting: the caller's */
    ngx_str_t                 wait_name;
    ngx_queue_t               queue;
    unsigned                  open:1;
    unsigned                  waiting:1;
    unsigned                  ended:1;
};


/* NGX_OK, or NGX_DECLINED (not live here: the "stream missing" chain was
 * told) */
ngx_int_t ngx_ams_reader_open(ngx_ams_reader_t *rd, ngx_str_t *app,
    ngx_str_t *name, ngx_log_t *log);
ngx_int_t ngx_ams_reader_open_stream(ngx_ams_reader_t *rd,
    ngx_ams_stream_t *st, ngx_log_t *log);
/* open now (NGX_OK) or when it is published (NGX_AGAIN; the handler runs
 * once it is open); "app" and "name" must outlive the wait */
ngx_int_t ngx_ams_reader_wait(ngx_ams_reader_t *rd, ngx_str_t *app,
    ngx_str_t *name, ngx_log_t *log);
/* NGX_OK with an event, NGX_AGAIN when there is none yet */
ngx_int_t ngx_ams_reader_peek(ngx_ams_reader_t *rd, ngx_ams_bus_event_t *ev);
/* NGX_OK; NGX_DECLINED: the frame was overwritten while the caller used
 * its bytes: discard what was made of it and peek again */
ngx_int_t ngx_ams_reader_commit(ngx_ams_reader_t *rd,
    ngx_ams_bus_event_t *ev);
/* peek, copy a frame's bytes into "buf" (ev->data then points there),
 * commit: NGX_OK, NGX_AGAIN, or NGX_ERROR when a frame exceeds "cap" */
ngx_int_t ngx_ams_reader_read(ngx_ams_reader_t *rd, ngx_ams_bus_event_t *ev,
    u_char *buf, size_t cap);
void ngx_ams_reader_close(ngx_ams_reader_t *rd);
ngx_uint_t ngx_ams_reader_has_news(ngx_ams_reader_t *rd);
ngx_uint_t ngx_ams_reader_key_waiting(ngx_ams_reader_t *rd);
uint64_t ngx_ams_reader_backlog(ngx_ams_reader_t *rd);
/* the largest frame this stream can carry */
size_t ngx_ams_reader_max_frame(ngx_ams_reader_t *rd);


/*
 * Lifecycle chains, nginx filter style: a module saves the current
 * handler as its "next" and installs its own in its create_conf (the core
 * resets each chain first on every configuration cycle), and calls next.
 *
 *   publish         in the publishing worker, after the stream is live
 *   unpublish       in the publishing worker, before readers see the end;
 *                   the stream's counters are still its own.  With
 *                   st->end_reason NGX_AMS_END_WORKER_DIED it runs once,
 *                   in the worker that noticed the publishing worker's
 *                   death (st->writer_pid): that worker has no local state
 *                   for the stream and finishes what is on disk or in the
 *                   store.  NGX_AMS_END_SHUTDOWN: the publishing worker is
 *                   exiting (stop, reload); thread pools are gone by then,
 *                   so observers finish synchronously.
 *   stream missing  a reader asked for a stream not live on this node
 *                   (where an edge starts its pull); NGX_OK if someone
 *                   will publish it
 *   free            the stream's slot is released (under the registry
 *                   lock, in whichever worker let go last): free what
 *                   was hung on it in shared memory
 */

typedef ngx_int_t (*ngx_ams_publish_pt)(ngx_ams_stream_t *st,
    ngx_ams_app_conf_t *app, ngx_log_t *log);
typedef void (*ngx_ams_unpublish_pt)(ngx_ams_stream_t *st, ngx_log_t *log);
typedef ngx_int_t (*ngx_ams_stream_missing_pt)(ngx_ams_app_conf_t *app,
    ngx_str_t *name, ngx_log_t *log);
typedef void (*ngx_ams_stream_free_pt)(ngx_ams_stream_t *st);

extern ngx_ams_publish_pt         ngx_ams_publish_handler;
extern ngx_ams_unpublish_pt       ngx_ams_unpublish_handler;
extern ngx_ams_stream_missing_pt  ngx_ams_stream_missing_handler;
extern ngx_ams_stream_free_pt     ngx_ams_stream_free_handler;
extern ngx_module_t               ngx_ams_core_module;


ngx_ams_main_conf_t *ngx_ams_get_main_conf(ngx_cycle_t *cycle);

/* a lock in shared memory that a dead holder does not keep forever */
void ngx_ams_shm_lock(ngx_atomic_t *lock);
#define ngx_ams_shm_unlock(lock)  ngx_unlock(lock)
ngx_ams_app_conf_t *ngx_ams_app_find(ngx_cycle_t *cycle, ngx_str_t *name);
/* a directive naming a thread pool: a ngx_thread_pool_t * at cmd->offset */
char *ngx_ams_conf_set_thread_pool_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_ams_app_module_add(ngx_cycle_t *cycle, ngx_ams_app_module_t *m);

/* writer side, on the publishing worker's event loop: NGX_OK, NGX_BUSY
 * (name taken), NGX_DECLINED (too many publishers from src->sockaddr),
 * NGX_ERROR (no room) */
ngx_int_t ngx_ams_bus_publish(ngx_ams_app_conf_t *app, ngx_str_t *name,
    ngx_ams_source_t *src, ngx_log_t *log, ngx_ams_stream_t **out);
ngx_int_t ngx_ams_bus_write(ngx_ams_stream_t *st, ngx_ams_frame_t *frame,
    const u_char *data);
void ngx_ams_bus_set_config(ngx_ams_stream_t *st, ngx_uint_t track,
    ngx_uint_t codec, const u_char *data, size_t len);
void ngx_ams_bus_unpublish(ngx_ams_stream_t *st, ngx_log_t *log);

/*
 * A source on another thread (encoder, libsrt, usrsctp, a pull) publishes
 * on the event loop as usual, then makes a writer: its thread pushes into
 * ngx_ams_writer_queue(wr) with ngx_ams_handoff_push_frame() / _config()
 * and ends with ngx_ams_handoff_end() (ngx_ams_handoff.h), never waiting;
 * the loop drains the queue into the bus and unpublishes the stream at
 * its end, then calls "done".  ngx_ams_writer_close() is the loop giving
 * up first (stop); after either, the writer is gone.
 */
typedef struct ngx_ams_writer_s  ngx_ams_writer_t;

/* the producer ended, the stream was unpublished: the writer is gone */
typedef void (*ngx_ams_writer_done_pt)(void *data);

ngx_ams_writer_t *ngx_ams_writer_create(ngx_ams_stream_t *st,
    size_t capacity, ngx_ams_writer_done_pt done, void *data,
    ngx_log_t *log);
ngx_ams_handoff_t *ngx_ams_writer_queue(ngx_ams_writer_t *wr);
void ngx_ams_writer_close(ngx_ams_writer_t *wr);

/* from any worker: ask a live stream's source (NGX_AMS_REQUEST_*), by
 * name or as one of its readers; NGX_DECLINED if it is not live */
ngx_int_t ngx_ams_bus_request(ngx_str_t *app, ngx_str_t *name,
    ngx_uint_t what);
ngx_int_t ngx_ams_reader_request(ngx_ams_reader_t *rd, ngx_uint_t what);

/* shared memory hung on a stream (freed in the "free" chain) */
void ngx_ams_bus_zone_usage(size_t *used, size_t *size);
void *ngx_ams_bus_shm_calloc(size_t size);
void ngx_ams_bus_shm_free(void *p);
void ngx_ams_bus_shm_free_locked(void *p);

/* news for the worker "pid" from another module (WebRTC data-channel
 * mail): that worker wakes and calls ngx_ams_bus_news_handler (set by
 * the module in init_process) on its event loop, once per burst of news.
 * NGX_DECLINED: no such worker on the bus */
typedef void (*ngx_ams_bus_news_pt)(void);
extern ngx_ams_bus_news_pt        ngx_ams_bus_news_handler;
ngx_int_t ngx_ams_bus_news(ngx_pid_t pid);

/* a message for every WebRTC data channel of {app, name} on this node
 * (REST broadcasts/{id}/data), set by the WebRTC module in init_process:
 * NGX_OK, NGX_DECLINED (no data channel of it here), NGX_ERROR (too
 * large, or no WebRTC); NULL without the module */
typedef ngx_int_t (*ngx_ams_data_send_pt)(ngx_str_t *app, ngx_str_t *name,
    u_char *text, size_t len, ngx_log_t *log);
extern ngx_ams_data_send_pt       ngx_ams_data_send_handler;

ngx_ams_node_stats_t *ngx_ams_bus_node_stats(void);
ngx_uint_t ngx_ams_bus_workers(void);
ngx_uint_t ngx_ams_bus_worker_pids(ngx_pid_t *pids, ngx_uint_t max);

/* a live stream by name, for counters; NULL if none */
ngx_ams_stream_t *ngx_ams_bus_find(ngx_str_t *app, ngx_str_t *name);
/* calls "handler" for every live stream (under the registry lock) */
void ngx_ams_bus_each(void (*handler)(ngx_ams_stream_t *st, void *data),
    void *data);


#endif /* _NGX_AMS_CORE_H_INCLUDED_ */
