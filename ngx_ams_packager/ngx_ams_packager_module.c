
/*
 * Copyright (C) nginx-ams authors
 *
 * The packager follows every stream that starts in this worker: it
 * subscribes to the bus and hands the muxing and file writing to a thread
 * pool, one task in flight per stream so the muxer state stays sequential.
 * The event loop only notices new frames and posts tasks.
 *
 * A task per frame would cost a thread hand-off and an eventfd wake-up
 * per frame, so frames are batched: a task is posted at once when a
 * keyframe is waiting (it may close a segment, and the playlist should
 * name it without delay) or the stream ended, otherwise after
 * NGX_AMS_PACKAGER_BATCH frames or NGX_AMS_PACKAGER_PERIOD ms.  A
 * low-latency HLS stream (ll_hls) posts one whenever there is news (at
 * most once per wake_interval): a part must be listed as soon as it is
 * cut, not a second later.
 *
 * Files outlive the worker that wrote them: a worker that exits (stop,
 * reload) closes its streams' playlists at once, in the unpublish chain,
 * and drops its deletion timers; a worker that dies closes nothing, and
 * another worker closes what is on disk.  So worker 0 of each generation
 * sweeps: at start and then periodically, the files of streams that are
 * not live and ended longer than their deletion delay ago are removed
 * (with delete_hls_files_on_ended).
 *
 * A stream's name may be published again as soon as it ended, in any
 * worker, while its packager still closes or removes its files: the same
 * paths.  Right before it does (in the thread, where it writes), the
 * packager asks the bus whether a stream of that name is live under
 * another generation; if so, the files are the new stream's and are
 * left alone.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_core.h"
#include "ngx_ams_app_settings.h"
#include "ngx_ams_packager.h"
#include "ngx_ams_hls.h"
#include "ngx_ams_cmaf.h"
#include "ngx_ams_adaptive.h"
#include "ngx_ams_sweep.h"
#include "ngx_ams_stream_name.h"


#define NGX_AMS_PACKAGER_BATCH    512
#define NGX_AMS_PACKAGER_PERIOD   1000

/* the sweep: first run after start, most time between two, and the age
 * of a temporary file nobody renamed (its writer died) */
#define NGX_AMS_PACKAGER_SWEEP_FIRST   1000
#define NGX_AMS_PACKAGER_SWEEP_MAX     30000
#define NGX_AMS_PACKAGER_TMP_AGE       60


typedef struct {
    ngx_ams_reader_t         reader;
    ngx_ams_app_conf_t      *app;
    ngx_ams_packager_app_conf_t  *conf;
    ngx_pool_t              *pool;
    ngx_log_t                log;
    ngx_thread_task_t       *task;
    ngx_event_t              cleanup;
    ngx_event_t              batch;

    /* owned by the task while "busy" */
    ngx_ams_hls_t            hls;           /* MPEG-TS HLS */
    ngx_ams_cmaf_t           cmaf;          /* fMP4 HLS and DASH */
    ngx_ams_adaptive_t       adaptive;      /* with its rungs, or as one */
    uint8_t                 *frame;
    size_t                   frame_size;
    char                     error[256];
    time_t                   ended_at;

    /* the stream, to ask the bus about its name once it ended */
    ngx_uint_t               generation;
    size_t                   name_len;
    u_char                   name[NGX_AMS_NAME_LEN];
    volatile ngx_uint_t      superseded;    /* its name is live again: its
                                               files are not its own */

    ngx_uint_t               dropped;       /* malformed frames */
    ngx_uint_t               dropped_logged;
    char                     drop_error[128];

    /* write errors cost segments, not the stream: logged once an episode */
    unsigned                 io_failing:1;
    uint64_t                 io_dropped;    /* segments lost before the
                                               episode */

    ngx_queue_t              queue;         /* this worker's streams */

    unsigned                 hls_on:1;
    unsigned                 cmaf_on:1;
    unsigned                 ll:1;          /* low-latency HLS parts */
    unsigned                 opus_skipped:1; /* MPEG-TS HLS left out an
                                               Opus track: to be logged */
    unsigned                 opus_logged:1;
    unsigned                 busy:1;
    unsigned                 finished:1;    /* the task wrote ENDLIST */
    unsigned                 failed:1;
    unsigned                 closed:1;      /* finished on shutdown while
                                               a task was out: free when
                                               it is back */

    /* set by the thread as a task ends (not a bit field: the thread
     * writes it while the loop reads the bits beside it) */
    volatile ngx_uint_t      task_done;
} ngx_ams_packager_stream_t;


/* a stream whose worker died: what it left on disk, closed and removed */
typedef struct {
    ngx_pool_t              *pool;
    ngx_ams_packager_app_conf_t  *conf;
    ngx_thread_task_t       *task;
    ngx_event_t              cleanup;
    ngx_log_t                log;
    time_t                   ended_at;
    ngx_uint_t               generation;    /* the dead stream's */
    ngx_str_t                app_name;
    u_char                   app[NGX_AMS_APP_LEN];
    volatile ngx_uint_t      superseded;
    char                     dir[NGX_AMS_SEG_DIR_LEN];
    char                     tmp[NGX_AMS_SEG_DIR_LEN];
    char                     id[NGX_AMS_NAME_LEN];
    char                     error[NGX_AMS_SEG_PATH_LEN + 128];
} ngx_ams_packager_orphan_t;


/* worker 0's sweep of ended streams' files, one application at a time */
typedef struct {
    ngx_event_t              timer;
    ngx_thread_task_t       *task;
    ngx_log_t                log;
    ngx_msec_t               period;
    ngx_uint_t               app;           /* index in amcf->apps */
    ngx_ams_packager_app_conf_t  *conf;
    ngx_str_t                app_name;
    ngx_ams_sweep_t          sw;
    time_t                   cutoff;        /* files older are of ended
                                               streams */
    unsigned                 removing:1;    /* the second task */
    unsigned                 busy:1;
    char                     dir[NGX_AMS_SEG_DIR_LEN];
    char                     tmp[NGX_AMS_SEG_DIR_LEN];
} ngx_ams_packager_sweeper_t;


typedef struct {
    ngx_thread_pool_t       *thread_pool;
} ngx_ams_packager_conf_t;


static void *ngx_ams_packager_create_conf(ngx_cycle_t *cycle);
static char *ngx_ams_packager_init_conf(ngx_cycle_t *cycle, void *conf);
static void *ngx_ams_packager_create_app_conf(ngx_conf_t *cf);
static char *ngx_ams_packager_init_app_conf(ngx_conf_t *cf, void *conf);
static void ngx_ams_packager_settings_export(ngx_ams_app_conf_t *app,
    void *conf, json_t *out);
static ngx_int_t ngx_ams_packager_settings_apply(ngx_ams_app_conf_t *app,
    void *conf, json_t *in, ngx_uint_t check, const char **error);
static char *ngx_ams_packager_check_time(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_ams_packager_check_list_size(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_ams_packager_utc_timing(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ams_packager_check_part_time(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_ams_packager_init_process(ngx_cycle_t *cycle);
static void ngx_ams_packager_paths(ngx_ams_app_conf_t *app, char *dir,
    char *tmp);
static ngx_thread_pool_t *ngx_ams_packager_pool(void);
static ngx_uint_t ngx_ams_packager_superseded(ngx_str_t *app, u_char *name,
    size_t len, ngx_uint_t generation);
static ngx_int_t ngx_ams_packager_publish(ngx_ams_stream_t *st,
    ngx_ams_app_conf_t *app, ngx_log_t *log);
static ngx_int_t ngx_ams_packager_adaptive(ngx_ams_packager_stream_t *ps,
    ngx_ams_stream_t *st, char *dir, char *tmp, char *name, ngx_uint_t fmp4);
static void ngx_ams_packager_unpublish(ngx_ams_stream_t *st, ngx_log_t *log);
static void ngx_ams_packager_finish_now(ngx_ams_packager_stream_t *ps,
    ngx_log_t *log);
static int ngx_ams_packager_end(ngx_ams_packager_stream_t *ps);
static void ngx_ams_packager_orphan(ngx_ams_stream_t *st, ngx_log_t *log);
static void ngx_ams_packager_orphan_close(void *data, ngx_log_t *log);
static void ngx_ams_packager_orphan_closed(ngx_event_t *ev);
static void ngx_ams_packager_orphan_remove(void *data, ngx_log_t *log);
static void ngx_ams_packager_orphan_cleanup(ngx_event_t *ev);
static void ngx_ams_packager_sweep(ngx_event_t *ev);
static void ngx_ams_packager_sweep_next(ngx_ams_packager_sweeper_t *sp);
static void ngx_ams_packager_sweep_thread(void *data, ngx_log_t *log);
static void ngx_ams_packager_sweep_done(ngx_event_t *ev);
static void ngx_ams_packager_wake(ngx_ams_reader_t *rd);
static void ngx_ams_packager_schedule(ngx_ams_packager_stream_t *ps);
static void ngx_ams_packager_batch(ngx_event_t *ev);
static void ngx_ams_packager_post(ngx_ams_packager_stream_t *ps);
static void ngx_ams_packager_thread(void *data, ngx_log_t *log);
static void ngx_ams_packager_run(ngx_ams_packager_stream_t *ps,
    ngx_log_t *log);
static void ngx_ams_packager_done(ngx_event_t *ev);
static void ngx_ams_packager_log_io(ngx_ams_packager_stream_t *ps);
static void ngx_ams_packager_remove_thread(void *data, ngx_log_t *log);
static void ngx_ams_packager_cleanup(ngx_event_t *ev);
static void ngx_ams_packager_free(ngx_ams_packager_stream_t *ps);


static ngx_ams_publish_pt    ngx_ams_packager_next_publish;
static ngx_ams_unpublish_pt  ngx_ams_packager_next_unpublish;
static ngx_queue_t           ngx_ams_packager_streams;
static ngx_ams_packager_sweeper_t  ngx_ams_packager_sweeper;


/* checked where the directive is, so an error names it */
static ngx_conf_post_t  ngx_ams_packager_time_post =
    { ngx_ams_packager_check_time };
static ngx_conf_post_t  ngx_ams_packager_list_size_post =
    { ngx_ams_packager_check_list_size };
static ngx_conf_post_t  ngx_ams_packager_part_time_post =
    { ngx_ams_packager_check_part_time };


static ngx_conf_enum_t  ngx_ams_packager_segment_types[] = {
    { ngx_string("mpegts"), NGX_AMS_HLS_MPEGTS },
    { ngx_string("fmp4"), NGX_AMS_HLS_FMP4 },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_ams_packager_commands[] = {

    /* its own pool, so a slow disk stalls segments, not the store */
    { ngx_string("packager_thread_pool"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_ams_conf_set_thread_pool_slot,
      0,
      offsetof(ngx_ams_packager_conf_t, thread_pool),
      NULL },

    { ngx_string("hls"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, hls),
      NULL },

    { ngx_string("hls_time"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, hls_time),
      &ngx_ams_packager_time_post },

    { ngx_string("hls_list_size"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, hls_list_size),
      &ngx_ams_packager_list_size_post },

    { ngx_string("hls_segment_type"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, hls_segment_type),
      &ngx_ams_packager_segment_types },

    { ngx_string("dash"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, dash),
      NULL },

    { ngx_string("delete_hls_files_on_ended"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, delete_hls_files_on_ended),
      NULL },

    /* where DASH players read this node's clock (UTCTiming) */
    { ngx_string("dash_utc_timing"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_ams_packager_utc_timing,
      0,
      offsetof(ngx_ams_packager_app_conf_t, dash_utc_timing),
      NULL },

    { ngx_string("adaptive_original"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, adaptive_original),
      NULL },

    { ngx_string("ll_hls"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, ll_hls),
      NULL },

    { ngx_string("ll_hls_part_time"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_packager_app_conf_t, ll_hls_part_time),
      &ngx_ams_packager_part_time_post },

      ngx_null_command
};


static ngx_ams_app_module_t  ngx_ams_packager_app_owner = {
    &ngx_ams_packager_module,
    ngx_ams_packager_create_app_conf,
    ngx_ams_packager_init_app_conf,
    ngx_ams_packager_settings_export,
    ngx_ams_packager_settings_apply
};


static ngx_core_module_t  ngx_ams_packager_module_ctx = {
    ngx_string("ams_packager"),
    ngx_ams_packager_create_conf,
    ngx_ams_packager_init_conf
};


ngx_module_t  ngx_ams_packager_module = {
    NGX_MODULE_V1,
    &ngx_ams_packager_module_ctx,          /* module context */
    ngx_ams_packager_commands,             /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_ams_packager_init_process,         /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_ams_packager_create_conf(ngx_cycle_t *cycle)
{
    ngx_ams_packager_conf_t  *pcf;

    pcf = ngx_pcalloc(cycle->pool, sizeof(ngx_ams_packager_conf_t));
    if (pcf == NULL) {
        return NULL;
    }

    /* runs after the core's create_conf, which reset the chain and the
     * application settings' owners */
    if (ngx_ams_app_module_add(cycle, &ngx_ams_packager_app_owner)
        != NGX_OK)
    {
        return NULL;
    }

    ngx_ams_packager_next_publish = ngx_ams_publish_handler;
    ngx_ams_publish_handler = ngx_ams_packager_publish;

    ngx_ams_packager_next_unpublish = ngx_ams_unpublish_handler;
    ngx_ams_unpublish_handler = ngx_ams_packager_unpublish;

    return pcf;
}


static void *
ngx_ams_packager_create_app_conf(ngx_conf_t *cf)
{
    ngx_ams_packager_app_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ams_packager_app_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->hls = NGX_CONF_UNSET;
    conf->hls_time = NGX_CONF_UNSET_MSEC;
    conf->hls_list_size = NGX_CONF_UNSET_UINT;
    conf->hls_segment_type = NGX_CONF_UNSET_UINT;
    conf->dash = NGX_CONF_UNSET;
    conf->delete_hls_files_on_ended = NGX_CONF_UNSET;
    conf->adaptive_original = NGX_CONF_UNSET;
    conf->ll_hls = NGX_CONF_UNSET;
    conf->ll_hls_part_time = NGX_CONF_UNSET_MSEC;

    return conf;
}


/* defaults follow Ant Media Server's */
static char *
ngx_ams_packager_init_app_conf(ngx_conf_t *cf, void *conf)
{
    ngx_ams_packager_app_conf_t *pacf = conf;

    ngx_conf_init_value(pacf->hls, 1);
    ngx_conf_init_msec_value(pacf->hls_time, 2000);
    ngx_conf_init_uint_value(pacf->hls_list_size, 15);
    ngx_conf_init_uint_value(pacf->hls_segment_type, NGX_AMS_HLS_MPEGTS);
    ngx_conf_init_value(pacf->dash, 0);
    ngx_conf_init_value(pacf->delete_hls_files_on_ended, 1);
    ngx_conf_init_value(pacf->adaptive_original, 1);

    /* the location examples/ams_media.conf gives ams_time */
    if (pacf->dash_utc_timing.data == NULL) {
        ngx_str_set(&pacf->dash_utc_timing, "/ams/time");
    }

    ngx_conf_init_value(pacf->ll_hls, 0);
    ngx_conf_init_msec_value(pacf->ll_hls_part_time, 333);

    /* parts are CMAF chunks: fMP4 only */
    if (pacf->ll_hls && pacf->hls_segment_type != NGX_AMS_HLS_FMP4) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ll_hls\" needs \"hls_segment_type fmp4\"");
        return NGX_CONF_ERROR;
    }

    if (pacf->ll_hls && pacf->ll_hls_part_time >= pacf->hls_time) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ll_hls_part_time\" must be shorter than "
                           "\"hls_time\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * Runtime settings (AMS's AppSettings names: hlsTime and hlsListSize are
 * strings there).  A stream reads them when it is published, so a change
 * applies to the streams that start after it.
 */

static void
ngx_ams_packager_settings_export(ngx_ams_app_conf_t *app, void *conf,
    json_t *out)
{
    ngx_ams_packager_app_conf_t *pacf = conf;

    json_object_set_new(out, "hlsMuxingEnabled", json_boolean(pacf->hls));
    json_object_set_new(out, "dashMuxingEnabled", json_boolean(pacf->dash));
    ngx_ams_settings_set_decimal(out, "hlsTime", pacf->hls_time, 3);
    ngx_ams_settings_set_decimal(out, "hlsListSize", pacf->hls_list_size, 0);
    json_object_set_new(out, "deleteHLSFilesOnEnded",
                        json_boolean(pacf->delete_hls_files_on_ended));
}


static ngx_int_t
ngx_ams_packager_settings_apply(ngx_ams_app_conf_t *app, void *conf,
    json_t *in, ngx_uint_t check, const char **error)
{
    ngx_ams_packager_app_conf_t *pacf = conf;

    int64_t     time, size;
    ngx_flag_t  hls, dash, del;

    hls = pacf->hls;
    dash = pacf->dash;
    del = pacf->delete_hls_files_on_ended;
    time = pacf->hls_time;
    size = pacf->hls_list_size;

    if (ngx_ams_settings_get_flag(in, "hlsMuxingEnabled", &hls) == NGX_ERROR)
    {
        *error = "hlsMuxingEnabled must be a boolean";
        return NGX_DECLINED;
    }

    if (ngx_ams_settings_get_flag(in, "dashMuxingEnabled", &dash)
        == NGX_ERROR)
    {
        *error = "dashMuxingEnabled must be a boolean";
        return NGX_DECLINED;
    }

    if (ngx_ams_settings_get_flag(in, "deleteHLSFilesOnEnded", &del)
        == NGX_ERROR)
    {
        *error = "deleteHLSFilesOnEnded must be a boolean";
        return NGX_DECLINED;
    }

    if (ngx_ams_settings_get_decimal(in, "hlsTime", 3, &time) == NGX_ERROR
        || time < 100 || time > 3600000)
    {
        *error = "hlsTime must be seconds as a string, \"0.1\" to \"3600\"";
        return NGX_DECLINED;
    }

    if (ngx_ams_settings_get_decimal(in, "hlsListSize", 0, &size)
        == NGX_ERROR
        || size < 1 || size > 100000)
    {
        *error = "hlsListSize must be a whole number as a string, "
                 "\"1\" to \"100000\"";
        return NGX_DECLINED;
    }

    if (check) {
        return NGX_OK;
    }

    pacf->hls = hls;
    pacf->dash = dash;
    pacf->delete_hls_files_on_ended = del;
    pacf->hls_time = (ngx_msec_t) time;
    pacf->hls_list_size = (ngx_uint_t) size;

    return NGX_OK;
}


/*
 * Said against the directive's own line: an error returned from
 * init_app_conf would be reported against the block's last directive.
 */

static char *
ngx_ams_packager_check_time(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *ms = data;

    if (*ms < 100) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hls_time\" must be at least 100ms");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_ams_packager_check_list_size(ngx_conf_t *cf, void *post, void *data)
{
    ngx_uint_t  *n = data;

    if (*n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"hls_list_size\" must be at least 1");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a URL (relative ones resolve against the MPD's), or "off" */

static char *
ngx_ams_packager_utc_timing(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ams_packager_app_conf_t *pacf = conf;

    ngx_str_t  *value;

    if (pacf->dash_utc_timing.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&pacf->dash_utc_timing, "");
        return NGX_CONF_OK;
    }

    /* the cmaf writer's copy has room for 255 bytes */
    if (value[1].len == 0 || value[1].len > 255
        || ngx_strlchr(value[1].data, value[1].data + value[1].len, ' '))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"dash_utc_timing\" must be a URL of at most "
                           "255 bytes without spaces, or \"off\"");
        return NGX_CONF_ERROR;
    }

    pacf->dash_utc_timing = value[1];

    return NGX_CONF_OK;
}


/* RFC 8216bis suggests parts of about 1 s or less; below 200 ms a part
 * holds a few frames and the playlist churns for nothing */
static char *
ngx_ams_packager_check_part_time(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *ms = data;

    if (*ms < 200 || *ms > 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"ll_hls_part_time\" must be 200ms to 1s");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}



static char *
ngx_ams_packager_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_ams_packager_conf_t *pcf = conf;

    ngx_ams_main_conf_t  *amcf;

    /* by default the "ams {}" block's thread_pool */
    amcf = ngx_ams_get_main_conf(cycle);

    if (pcf->thread_pool == NULL && amcf) {
        pcf->thread_pool = amcf->thread_pool;
    }

    return NGX_CONF_OK;
}


static ngx_thread_pool_t *
ngx_ams_packager_pool(void)
{
    ngx_ams_packager_conf_t  *pcf;

    pcf = (ngx_ams_packager_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                                   ngx_ams_packager_module);

    return pcf->thread_pool;
}


/*
 * Context: event loop or thread pool (the bus's registry lock is a
 * process-shared one).  Whether a stream of this name is live under
 * another generation than the one that ended: then the files at its
 * paths are the new stream's.  The ended stream itself may still be
 * listed while its unpublish chain runs.
 */
static ngx_uint_t
ngx_ams_packager_superseded(ngx_str_t *app, u_char *name, size_t len,
    ngx_uint_t generation)
{
    ngx_str_t          id;
    ngx_ams_stream_t  *live;

    id.data = name;
    id.len = len;

    live = ngx_ams_bus_find(app, &id);

    return live != NULL && live->generation != generation;
}


static ngx_int_t
ngx_ams_packager_publish(ngx_ams_stream_t *st, ngx_ams_app_conf_t *app,
    ngx_log_t *log)
{
    size_t                        len;
    ngx_uint_t                    fmp4, outputs;
    ngx_pool_t                   *pool;
    ngx_ams_packager_stream_t    *ps;
    ngx_ams_packager_app_conf_t  *conf;
    char                          dir[NGX_AMS_HLS_DIR_LEN];
    char                          tmp[NGX_AMS_HLS_DIR_LEN];
    char                          name[NGX_AMS_NAME_LEN];

    conf = ngx_ams_packager_app_conf(app);

    /* a relay is another node's stream: its origin packages it, and this
     * node's HLS/DASH viewers get those files through nginx's proxy
     * cache (ngx_ams_cluster), so each stream is packaged once */
    if ((!conf->hls && !conf->dash) || st->source_kind == NGX_AMS_SOURCE_RELAY)
    {
        return ngx_ams_packager_next_publish(st, app, log);
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    ps = ngx_pcalloc(pool, sizeof(ngx_ams_packager_stream_t));
    if (ps == NULL) {
        ngx_destroy_pool(pool);
        return NGX_ERROR;
    }

    ps->pool = pool;
    ps->app = app;
    ps->conf = conf;
    ps->log = *ngx_cycle->log;
    ps->generation = st->generation;
    ps->name_len = ngx_min(st->name_len, NGX_AMS_NAME_LEN);
    ngx_memcpy(ps->name, st->name, ps->name_len);
    ngx_queue_init(&ps->queue);

    ngx_ams_packager_paths(app, dir, tmp);
    len = ngx_min(st->name_len, sizeof(name) - 1);
    ngx_memcpy(name, st->name, len);
    name[len] = '\0';

    /* fMP4 is muxed once, for HLS and DASH alike */
    fmp4 = conf->hls && conf->hls_segment_type == NGX_AMS_HLS_FMP4;
    outputs = (fmp4 ? NGX_AMS_CMAF_HLS : 0)
              | (conf->dash ? NGX_AMS_CMAF_DASH : 0);

    ps->hls_on = conf->hls && !fmp4;
    ps->cmaf_on = (outputs != 0);
    ps->ll = fmp4 && conf->ll_hls;

    if ((ps->hls_on
         && ngx_ams_hls_open(&ps->hls, dir, tmp, name, conf->hls_time,
                             conf->hls_list_size)
            != 0)
        || (ps->cmaf_on
            && ngx_ams_cmaf_open(&ps->cmaf, dir, tmp, name, conf->hls_time,
                                 conf->hls_list_size, outputs)
               != 0))
    {
        ngx_log_error(NGX_LOG_ERR, log, 0, "ams packager: \"%s\": %s", name,
                      ps->hls.error[0] ? ps->hls.error : ps->cmaf.error);
        ngx_ams_packager_free(ps);
        return ngx_ams_packager_next_publish(st, app, log);
    }

    if (ps->cmaf_on) {
        ngx_cpystrn((u_char *) ps->cmaf.utc_timing,
                    conf->dash_utc_timing.data,
                    ngx_min(conf->dash_utc_timing.len + 1,
                            sizeof(ps->cmaf.utc_timing)));
        ps->cmaf.undated = (st->source_kind == NGX_AMS_SOURCE_RENDITION);
    }

    if (ngx_ams_packager_adaptive(ps, st, dir, tmp, name, fmp4) != NGX_OK) {
        ngx_ams_packager_free(ps);
        return NGX_ERROR;
    }

    if (ps->ll) {
        /* hlsTime may have been lowered at runtime: parts stay shorter */
        ngx_ams_cmaf_low_latency(&ps->cmaf,
                                 ngx_min(conf->ll_hls_part_time,
                                         conf->hls_time / 2),
                                 &st->ll, st->generation);
    }

    ps->task = ngx_thread_task_alloc(pool, 0);
    if (ps->task == NULL) {
        ngx_ams_packager_free(ps);
        return NGX_ERROR;
    }

    ps->task->ctx = ps;
    ps->task->handler = ngx_ams_packager_thread;
    ps->task->event.data = ps;
    ps->task->event.handler = ngx_ams_packager_done;
    ps->task->event.log = &ps->log;

    ps->cleanup.handler = ngx_ams_packager_cleanup;
    ps->cleanup.data = ps;
    ps->cleanup.log = &ps->log;
    ps->cleanup.cancelable = 1;

    ps->batch.handler = ngx_ams_packager_batch;
    ps->batch.data = ps;
    ps->batch.log = &ps->log;
    ps->batch.cancelable = 1;

    ps->reader.latency = NGX_AMS_LATENCY_BATCHED;
    ps->reader.handler = ngx_ams_packager_wake;
    ps->reader.data = ps;

    if (ngx_ams_reader_open_stream(&ps->reader, st, log) != NGX_OK) {
        ngx_ams_packager_free(ps);
        return ngx_ams_packager_next_publish(st, app, log);
    }

    /* the largest frame the stream can carry; untouched pages cost
     * nothing */
    ps->frame_size = ngx_ams_reader_max_frame(&ps->reader);
    ps->frame = ngx_alloc(ps->frame_size, log);
    if (ps->frame == NULL) {
        ngx_ams_reader_close(&ps->reader);
        ngx_ams_packager_free(ps);
        return NGX_ERROR;
    }

    ngx_queue_insert_tail(&ngx_ams_packager_streams, &ps->queue);

    ngx_log_debug3(NGX_LOG_DEBUG_CORE, log, 0,
                   "ams packager: \"%s\" hls:%d cmaf:%d", name,
                   ps->hls_on, ps->cmaf_on);

    return ngx_ams_packager_next_publish(st, app, log);
}


/* a transcoder's rung joins its parent's adaptive group; any other
 * stream is a group rungs may join (ngx_ams_adaptive.h) */

static ngx_int_t
ngx_ams_packager_adaptive(ngx_ams_packager_stream_t *ps, ngx_ams_stream_t *st,
    char *dir, char *tmp, char *name, ngx_uint_t fmp4)
{
    unsigned     height, kbps;
    ngx_uint_t   rung;
    u_char       parent[NGX_AMS_NAME_LEN];

    height = 0;
    kbps = 0;
    rung = st->source_kind == NGX_AMS_SOURCE_RENDITION
           && st->parent_len && st->parent_len < NGX_AMS_NAME_LEN
           && ngx_ams_stream_name_rung(st->name, st->name_len, NULL, &height,
                                       &kbps);

    if (rung) {
        ngx_memcpy(parent, st->parent, st->parent_len);
        parent[st->parent_len] = '\0';
    }

    if (ngx_ams_adaptive_open(&ps->adaptive, ps->app, dir, tmp, name,
                              rung ? (char *) parent : NULL, st->parent_len,
                              height, kbps, ps->conf->hls_time,
                              ps->conf->hls_list_size,
                              (ps->hls_on ? NGX_AMS_ADAPTIVE_TS : 0)
                              | (fmp4 ? NGX_AMS_ADAPTIVE_FMP4 : 0)
                              | (ps->conf->dash ? NGX_AMS_ADAPTIVE_DASH : 0),
                              ps->conf->adaptive_original)
        != 0)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* Context: event loop, when the bus has news or the stream ended */

static void
ngx_ams_packager_wake(ngx_ams_reader_t *rd)
{
    ngx_ams_packager_schedule(rd->data);
}


static void
ngx_ams_packager_schedule(ngx_ams_packager_stream_t *ps)
{
    /* while a task runs it owns the reader; "done" schedules again */
    if (ps->busy || ps->finished || ps->failed) {
        return;
    }

    if (ps->reader.stream->state != NGX_AMS_STREAM_ACTIVE
        || ngx_ams_reader_key_waiting(&ps->reader)
        || ngx_ams_reader_backlog(&ps->reader) >= NGX_AMS_PACKAGER_BATCH
        || (ps->ll && ngx_ams_reader_has_news(&ps->reader)))
    {
        ngx_ams_packager_post(ps);
        return;
    }

    if (ngx_ams_reader_has_news(&ps->reader) && !ps->batch.timer_set) {
        ngx_add_timer(&ps->batch, NGX_AMS_PACKAGER_PERIOD);
    }
}


static void
ngx_ams_packager_batch(ngx_event_t *ev)
{
    ngx_ams_packager_stream_t  *ps = ev->data;

    if (!ps->busy && !ps->finished && !ps->failed
        && ngx_ams_reader_has_news(&ps->reader))
    {
        ngx_ams_packager_post(ps);
    }
}


static void
ngx_ams_packager_post(ngx_ams_packager_stream_t *ps)
{
    if (ps->batch.timer_set) {
        ngx_del_timer(&ps->batch);
    }

    /* the group's news for the parent's master and MPD */
    ngx_ams_adaptive_prepare(&ps->adaptive, ps->cmaf_on ? &ps->cmaf : NULL);

    ps->busy = 1;
    ps->task_done = 0;

    if (ngx_thread_task_post(ngx_ams_packager_pool(), ps->task) != NGX_OK) {
        /* queue full: try again a little later */
        ps->busy = 0;
        ngx_add_timer(&ps->batch, NGX_AMS_PACKAGER_PERIOD);
    }
}


/*
 * Context: thread pool.  Reads every frame there is (copied out of the
 * ring, so a frame overwritten meanwhile is noticed, never muxed), muxes,
 * writes; on the stream's end, closes the playlist.
 */

static void
ngx_ams_packager_thread(void *data, ngx_log_t *log)
{
    ngx_ams_packager_stream_t  *ps = data;

    ngx_ams_packager_run(ps, log);

    /* a failed write is tried again with the next task */
    (void) ngx_ams_adaptive_write(&ps->adaptive);

    ngx_memory_barrier();
    ps->task_done = 1;
}


static void
ngx_ams_packager_run(ngx_ams_packager_stream_t *ps, ngx_log_t *log)
{
    int                         rc, dropped;
    ngx_ams_bus_event_t         ev;

    if (ps->failed || ps->finished) {
        return;
    }

    while (ngx_ams_reader_read(&ps->reader, &ev, ps->frame, ps->frame_size)
           == NGX_OK)
    {
        switch (ev.type) {

        case NGX_AMS_EVENT_CONFIG:
            if (ev.track == NGX_AMS_TRACK_DATA || ev.len == 0) {
                break;
            }

            if ((ps->hls_on
                 && ngx_ams_hls_config(&ps->hls, ev.track, ev.data, ev.len)
                    != 0)
                || (ps->cmaf_on
                    && ngx_ams_cmaf_config(&ps->cmaf, ev.track, ev.data,
                                           ev.len)
                       != 0))
            {
                goto failed;
            }

            ngx_ams_adaptive_config(&ps->adaptive, ev.track, ev.codec,
                                    ev.data, ev.len);
            break;

        case NGX_AMS_EVENT_FRAME:
            /* 1: a malformed frame was dropped, the stream goes on */
            dropped = 0;

            if (ps->hls_on) {
                rc = ngx_ams_hls_frame(&ps->hls, &ev.frame, ps->frame);
                if (rc == -1) {
                    goto failed;
                }

                if (rc == 2) {
                    ps->opus_skipped = 1;

                } else if (rc == 1) {
                    dropped = 1;
                    ngx_cpystrn((u_char *) ps->drop_error,
                                (u_char *) ps->hls.error,
                                sizeof(ps->drop_error));
                    ps->hls.error[0] = '\0';
                }
            }

            if (ps->cmaf_on) {
                rc = ngx_ams_cmaf_frame(&ps->cmaf, &ev.frame, ps->frame);
                if (rc == -1) {
                    goto failed;
                }

                if (rc == 1) {
                    dropped = 1;
                    ngx_cpystrn((u_char *) ps->drop_error,
                                (u_char *) ps->cmaf.error,
                                sizeof(ps->drop_error));
                    ps->cmaf.error[0] = '\0';
                }
            }

            ps->dropped += dropped;

            if (!dropped) {
                ngx_ams_adaptive_frame(&ps->adaptive, &ev.frame);
            }

            break;

        case NGX_AMS_EVENT_END:
            if (ngx_ams_packager_superseded(&ps->app->name, ps->name,
                                            ps->name_len, ps->generation))
            {
                /* no ENDLIST over the new stream's playlist */
                ps->superseded = 1;
                ps->finished = 1;
                ps->ended_at = time(NULL);
                return;
            }

            if (ngx_ams_packager_end(ps) != 0) {
                goto failed;
            }

            return;

        default:   /* SKIP: the segmenter cuts at the keyframe it lands on */
            break;
        }
    }

    if (ps->hls_on && ngx_ams_hls_flush(&ps->hls) != 0) {
        goto failed;
    }

    return;

failed:

    ngx_cpystrn((u_char *) ps->error,
                (u_char *) (ps->hls.error[0] ? ps->hls.error : ps->cmaf.error),
                sizeof(ps->error));
    ps->failed = 1;
}


/* the stream ended and every frame was muxed: last segments, ENDLIST */

static int
ngx_ams_packager_end(ngx_ams_packager_stream_t *ps)
{
    if ((ps->hls_on
         && (ngx_ams_hls_flush(&ps->hls) != 0
             || ngx_ams_hls_finish(&ps->hls) != 0))
        || (ps->cmaf_on && ngx_ams_cmaf_finish(&ps->cmaf) != 0))
    {
        return -1;
    }

    ps->finished = 1;
    ps->ended_at = time(NULL);

    return 0;
}


/* Context: event loop, after a task */

static void
ngx_ams_packager_done(ngx_event_t *ev)
{
    ngx_msec_t                  delay;
    ngx_ams_packager_stream_t  *ps = ev->data;

    ps->busy = 0;

    if (ps->closed) {
        ngx_ams_packager_free(ps);
        return;
    }

    if (ps->dropped != ps->dropped_logged) {
        /* at most once a task, not once a frame */
        ngx_log_error(NGX_LOG_WARN, &ps->log, 0,
                      "ams packager: \"%*s\": %ui malformed video frames "
                      "dropped so far, the last: %s",
                      ps->reader.stream->name_len, ps->reader.stream->name,
                      ps->dropped, ps->drop_error);
        ps->dropped_logged = ps->dropped;
    }

    if (ps->opus_skipped && !ps->opus_logged) {
        ngx_log_error(NGX_LOG_NOTICE, &ps->log, 0,
                      "ams packager: \"%*s\": Opus audio left out of "
                      "MPEG-TS HLS, which carries AAC only (fMP4 HLS and "
                      "DASH carry it)",
                      ps->reader.stream->name_len, ps->reader.stream->name);
        ps->opus_logged = 1;
    }

    ngx_ams_packager_log_io(ps);

    ngx_ams_adaptive_update(&ps->adaptive, ps->cmaf_on ? &ps->cmaf : NULL);

    if (ps->failed || ps->finished) {
        /* the group's next master and MPD leave it out */
        ngx_ams_adaptive_leave(&ps->adaptive);
    }

    if (ps->failed) {
        ngx_log_error(NGX_LOG_ERR, &ps->log, 0,
                      "ams packager: \"%*s\" stopped: %s",
                      ps->reader.stream->name_len, ps->reader.stream->name,
                      ps->error);
        ngx_ams_reader_close(&ps->reader);
        ngx_ams_packager_free(ps);
        return;
    }

    if (ps->finished) {
        ngx_ams_reader_close(&ps->reader);

        if (!ps->conf->delete_hls_files_on_ended || ps->superseded) {
            ngx_ams_packager_free(ps);
            return;
        }

        /* give players time to fetch the last segments first */
        delay = ps->conf->hls_time * (ps->conf->hls_list_size + 1);
        ngx_add_timer(&ps->cleanup, delay);
        return;
    }

    ngx_ams_packager_schedule(ps);
}


/*
 * A write error (a full disk, a directory made read-only) loses the
 * segments it hits while the writers go on: said once as it begins, once
 * as writes succeed again, not once a frame.
 */

static void
ngx_ams_packager_log_io(ngx_ams_packager_stream_t *ps)
{
    unsigned           failing;
    uint64_t           dropped;
    ngx_ams_seg_io_t  *io;

    failing = (ps->hls_on && ps->hls.io.failing)
              || (ps->cmaf_on && ps->cmaf.io.failing);
    dropped = (ps->hls_on ? ps->hls.io.dropped : 0)
              + (ps->cmaf_on ? ps->cmaf.io.dropped : 0);

    if (ps->hls_on && ps->hls.io.failing) {
        io = &ps->hls.io;

    } else if (ps->cmaf_on && ps->cmaf.io.failing) {
        io = &ps->cmaf.io;

    } else {
        io = (ps->hls_on && ps->hls.io.failures) ? &ps->hls.io : &ps->cmaf.io;
    }

    if (failing && !ps->io_failing) {
        ngx_log_error(NGX_LOG_ERR, &ps->log, 0,
                      "ams packager: \"%*s\": %s; segments are dropped "
                      "until writes succeed again",
                      ps->reader.stream->name_len, ps->reader.stream->name,
                      io->error);

        ps->io_failing = 1;
        return;
    }

    if (failing || (!ps->io_failing && dropped == ps->io_dropped)) {
        return;
    }

    if (ps->io_failing) {
        ngx_log_error(NGX_LOG_NOTICE, &ps->log, 0,
                      "ams packager: \"%*s\": writes succeed again, "
                      "%uL segments dropped",
                      ps->reader.stream->name_len, ps->reader.stream->name,
                      dropped - ps->io_dropped);

    } else {
        /* began and ended within one batch */
        ngx_log_error(NGX_LOG_ERR, &ps->log, 0,
                      "ams packager: \"%*s\": %s; %uL segments dropped",
                      ps->reader.stream->name_len, ps->reader.stream->name,
                      io->error, dropped - ps->io_dropped);
    }

    ps->io_failing = 0;
    ps->io_dropped = dropped;
}


static void
ngx_ams_packager_cleanup(ngx_event_t *ev)
{
    ngx_ams_packager_stream_t  *ps = ev->data;

    ps->task->handler = ngx_ams_packager_remove_thread;
    ps->task->event.handler = ngx_ams_packager_cleanup;

    if (ps->busy) {
        /* the removal task came back */
        ngx_ams_packager_free(ps);
        return;
    }

    if (ngx_ams_packager_superseded(&ps->app->name, ps->name, ps->name_len,
                                    ps->generation))
    {
        ngx_log_error(NGX_LOG_INFO, &ps->log, 0,
                      "ams packager: \"%*s\" is live again: its files stay",
                      ps->name_len, ps->name);
        ngx_ams_packager_free(ps);
        return;
    }

    ps->busy = 1;

    if (ngx_thread_task_post(ngx_ams_packager_pool(), ps->task) != NGX_OK) {
        ngx_ams_packager_free(ps);
    }
}


/* Context: thread pool */

static void
ngx_ams_packager_remove_thread(void *data, ngx_log_t *log)
{
    ngx_ams_packager_stream_t  *ps = data;

    /* again: it may have been published since the timer */
    if (ngx_ams_packager_superseded(&ps->app->name, ps->name, ps->name_len,
                                    ps->generation))
    {
        return;
    }

    if (ps->hls_on) {
        ngx_ams_hls_remove(&ps->hls, ps->ended_at);
    }

    if (ps->cmaf_on) {
        ngx_ams_cmaf_remove(&ps->cmaf, ps->ended_at);
    }

    ngx_ams_adaptive_remove(&ps->adaptive, ps->ended_at);
}


static void
ngx_ams_packager_free(ngx_ams_packager_stream_t *ps)
{
    if (ngx_queue_next(&ps->queue)) {
        ngx_queue_remove(&ps->queue);
        ngx_queue_init(&ps->queue);
    }

    if (ps->cleanup.timer_set) {
        ngx_del_timer(&ps->cleanup);
    }

    if (ps->batch.timer_set) {
        ngx_del_timer(&ps->batch);
    }

    if (ps->hls_on) {
        ngx_ams_hls_close(&ps->hls);
    }

    ngx_ams_cmaf_close(&ps->cmaf);
    ngx_ams_adaptive_close(&ps->adaptive);

    if (ps->frame) {
        ngx_free(ps->frame);
    }

    ngx_destroy_pool(ps->pool);
}


/* {storage}/{App}/streams, and {storage}/{App}/.tmp for temporary files:
 * on the same file system, and served by no location */

static void
ngx_ams_packager_paths(ngx_ams_app_conf_t *app, char *dir, char *tmp)
{
    u_char               *p;
    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    p = ngx_snprintf((u_char *) dir, NGX_AMS_SEG_DIR_LEN - 1,
                     "%V/%V/streams", &amcf->storage, &app->name);
    *p = '\0';

    p = ngx_snprintf((u_char *) tmp, NGX_AMS_SEG_DIR_LEN - 1,
                     "%V/%V/.tmp", &amcf->storage, &app->name);
    *p = '\0';
}


/*
 * Context: unpublish chain.  A normal end reaches the packager as the
 * reader's END.  On shutdown the worker is exiting, its timers are
 * dropped and its readers closed right after: the stream is finished
 * here, synchronously.  A task that is out ends first: from exit_process
 * the thread pools are gone (every queued task has run), on a graceful
 * quit they still run it.  A stream whose worker died is finished from
 * what it left on disk.
 */

static void
ngx_ams_packager_unpublish(ngx_ams_stream_t *st, ngx_log_t *log)
{
    ngx_queue_t                *q;
    ngx_ams_packager_stream_t  *ps;

    if (st->end_reason == NGX_AMS_END_SHUTDOWN
        && ngx_queue_next(&ngx_ams_packager_streams))
    {
        for (q = ngx_queue_head(&ngx_ams_packager_streams);
             q != ngx_queue_sentinel(&ngx_ams_packager_streams);
             q = ngx_queue_next(q))
        {
            ps = ngx_queue_data(q, ngx_ams_packager_stream_t, queue);

            if (ps->reader.open && ps->reader.stream == st) {
                while (ps->busy && !ps->task_done) {
                    ngx_sched_yield();
                }

                ngx_memory_barrier();
                ngx_ams_packager_finish_now(ps, log);
                break;
            }
        }

    } else if (st->end_reason == NGX_AMS_END_WORKER_DIED
               && st->source_kind != NGX_AMS_SOURCE_RELAY)
    {
        ngx_ams_packager_orphan(st, log);
    }

    ngx_ams_packager_next_unpublish(st, log);
}


static void
ngx_ams_packager_finish_now(ngx_ams_packager_stream_t *ps, ngx_log_t *log)
{
    if (!ps->finished && !ps->failed) {
        /* what is left in the ring, then the last segments and ENDLIST;
         * the files are swept by a later worker after the delay */
        ngx_ams_packager_run(ps, log);

        if (!ps->finished && !ps->failed && ngx_ams_packager_end(ps) != 0) {
            ngx_cpystrn((u_char *) ps->error,
                        (u_char *) (ps->hls.error[0] ? ps->hls.error
                                                     : ps->cmaf.error),
                        sizeof(ps->error));
            ps->failed = 1;
        }

        if (ps->failed) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "ams packager: \"%*s\" not closed on shutdown: %s",
                          ps->reader.stream->name_len,
                          ps->reader.stream->name, ps->error);
        }
    }

    ngx_ams_reader_close(&ps->reader);

    if (ps->busy) {
        /* its completion may still come: it frees */
        ps->closed = 1;
        ps->finished = 1;
        return;
    }

    ngx_ams_packager_free(ps);
}


static void
ngx_ams_packager_orphan(ngx_ams_stream_t *st, ngx_log_t *log)
{
    ngx_str_t                     name;
    ngx_pool_t                   *pool;
    ngx_ams_app_conf_t           *app;
    ngx_ams_packager_orphan_t    *o;
    ngx_ams_packager_app_conf_t  *conf;

    name.data = st->app;
    name.len = st->app_len;

    app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &name);
    if (app == NULL) {
        return;
    }

    conf = ngx_ams_packager_app_conf(app);
    if (!conf->hls && !conf->dash) {
        return;
    }

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        return;
    }

    o = ngx_pcalloc(pool, sizeof(ngx_ams_packager_orphan_t));
    if (o == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    o->pool = pool;
    o->conf = conf;
    o->log = *ngx_cycle->log;
    o->generation = st->generation;
    o->app_name.len = ngx_min(st->app_len, NGX_AMS_APP_LEN);
    o->app_name.data = o->app;
    ngx_memcpy(o->app, st->app, o->app_name.len);

    ngx_ams_packager_paths(app, o->dir, o->tmp);
    ngx_memcpy(o->id, st->name, ngx_min(st->name_len, NGX_AMS_NAME_LEN - 1));

    o->task = ngx_thread_task_alloc(pool, 0);
    if (o->task == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    o->task->ctx = o;
    o->task->handler = ngx_ams_packager_orphan_close;
    o->task->event.data = o;
    o->task->event.handler = ngx_ams_packager_orphan_closed;
    o->task->event.log = &o->log;

    o->cleanup.handler = ngx_ams_packager_orphan_cleanup;
    o->cleanup.data = o;
    o->cleanup.log = &o->log;
    o->cleanup.cancelable = 1;

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "ams packager: \"%s\" ended with its worker: closing its "
                  "files", o->id);

    if (ngx_thread_task_post(ngx_ams_packager_pool(), o->task) != NGX_OK) {
        ngx_destroy_pool(pool);
    }
}


/* Context: thread pool */

static void
ngx_ams_packager_orphan_close(void *data, ngx_log_t *log)
{
    ngx_ams_packager_orphan_t  *o = data;

    o->ended_at = time(NULL);

    /* published again since its worker died: the files are the new
     * stream's */
    if (ngx_ams_packager_superseded(&o->app_name, (u_char *) o->id,
                                    ngx_strlen(o->id), o->generation))
    {
        o->superseded = 1;
        return;
    }

    (void) ngx_ams_sweep_close(o->dir, o->tmp, o->id, o->error,
                               sizeof(o->error));
}


static void
ngx_ams_packager_orphan_closed(ngx_event_t *ev)
{
    ngx_msec_t                  delay;
    ngx_ams_packager_orphan_t  *o = ev->data;

    if (o->error[0]) {
        ngx_log_error(NGX_LOG_ERR, &o->log, 0,
                      "ams packager: \"%s\": %s", o->id, o->error);
    }

    if (o->superseded) {
        ngx_log_error(NGX_LOG_INFO, &o->log, 0,
                      "ams packager: \"%s\" is live again: its files stay",
                      o->id);
    }

    if (!o->conf->delete_hls_files_on_ended || o->superseded) {
        ngx_destroy_pool(o->pool);
        return;
    }

    /* as for a normal end; if this worker exits first, the sweep will */
    delay = o->conf->hls_time * (o->conf->hls_list_size + 1);
    ngx_add_timer(&o->cleanup, delay);
}


static void
ngx_ams_packager_orphan_cleanup(ngx_event_t *ev)
{
    ngx_ams_packager_orphan_t  *o = ev->data;

    o->task->handler = ngx_ams_packager_orphan_remove;
    o->task->event.handler = ngx_ams_packager_orphan_cleanup;

    if (ev != &o->cleanup) {
        /* the removal task came back */
        ngx_destroy_pool(o->pool);
        return;
    }

    if (ngx_ams_packager_superseded(&o->app_name, (u_char *) o->id,
                                    ngx_strlen(o->id), o->generation))
    {
        ngx_destroy_pool(o->pool);
        return;
    }

    if (ngx_thread_task_post(ngx_ams_packager_pool(), o->task) != NGX_OK) {
        ngx_destroy_pool(o->pool);
    }
}


/* Context: thread pool */

static void
ngx_ams_packager_orphan_remove(void *data, ngx_log_t *log)
{
    ngx_ams_sweep_t             sw;
    ngx_ams_packager_orphan_t  *o = data;

    if (ngx_ams_packager_superseded(&o->app_name, (u_char *) o->id,
                                    ngx_strlen(o->id), o->generation))
    {
        return;
    }

    ngx_memzero(&sw, sizeof(ngx_ams_sweep_t));

    if (ngx_ams_sweep_add(&sw, o->id, ngx_strlen(o->id)) == 0) {
        ngx_ams_sweep_remove(&sw, o->dir, o->ended_at);
    }

    ngx_ams_sweep_free(&sw);
}


static ngx_int_t
ngx_ams_packager_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                    i;
    ngx_msec_t                    delay;
    ngx_ams_app_conf_t          **apps;
    ngx_ams_main_conf_t          *amcf;
    ngx_ams_packager_sweeper_t   *sp = &ngx_ams_packager_sweeper;
    ngx_ams_packager_app_conf_t  *conf;

    ngx_queue_init(&ngx_ams_packager_streams);

    if ((ngx_process != NGX_PROCESS_WORKER || ngx_worker != 0)
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    amcf = ngx_ams_get_main_conf(cycle);
    if (amcf == NULL || ngx_ams_packager_pool() == NULL) {
        return NGX_OK;
    }

    /* as often as the shortest deletion delay, within limits */
    sp->period = NGX_AMS_PACKAGER_SWEEP_MAX;
    apps = amcf->apps.elts;

    for (i = 0; i < amcf->apps.nelts; i++) {
        conf = ngx_ams_packager_app_conf(apps[i]);

        if ((conf->hls || conf->dash) && conf->delete_hls_files_on_ended) {
            delay = conf->hls_time * (conf->hls_list_size + 1);
            sp->period = ngx_min(sp->period, ngx_max(delay, 1000));
        }
    }

    sp->log = *cycle->log;

    sp->task = ngx_thread_task_alloc(cycle->pool, 0);
    if (sp->task == NULL) {
        return NGX_ERROR;
    }

    sp->task->ctx = sp;
    sp->task->handler = ngx_ams_packager_sweep_thread;
    sp->task->event.data = sp;
    sp->task->event.handler = ngx_ams_packager_sweep_done;
    sp->task->event.log = &sp->log;

    sp->timer.handler = ngx_ams_packager_sweep;
    sp->timer.data = sp;
    sp->timer.log = &sp->log;
    sp->timer.cancelable = 1;

    ngx_add_timer(&sp->timer, NGX_AMS_PACKAGER_SWEEP_FIRST);

    return NGX_OK;
}


/* Context: event loop.  Each application in turn: a task lists streams
 * whose files are all older than the delay, the loop drops those live on
 * the bus, a second task removes the rest. */

static void
ngx_ams_packager_sweep(ngx_event_t *ev)
{
    ngx_ams_packager_sweeper_t  *sp = ev->data;

    if (sp->busy || ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    sp->app = 0;
    ngx_ams_packager_sweep_next(sp);
}


static void
ngx_ams_packager_sweep_next(ngx_ams_packager_sweeper_t *sp)
{
    ngx_msec_t                    delay;
    ngx_ams_app_conf_t          **apps;
    ngx_ams_main_conf_t          *amcf;
    ngx_ams_packager_app_conf_t  *conf;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);
    apps = amcf->apps.elts;

    for ( /* void */ ; sp->app < amcf->apps.nelts; sp->app++) {
        conf = ngx_ams_packager_app_conf(apps[sp->app]);

        if (!(conf->hls || conf->dash) || !conf->delete_hls_files_on_ended) {
            continue;
        }

        delay = conf->hls_time * (conf->hls_list_size + 1);

        sp->conf = conf;
        sp->app_name = apps[sp->app]->name;
        sp->cutoff = ngx_time() - (time_t) ((delay + 999) / 1000);
        sp->removing = 0;
        ngx_ams_packager_paths(apps[sp->app], sp->dir, sp->tmp);

        sp->busy = 1;

        if (ngx_thread_task_post(ngx_ams_packager_pool(), sp->task)
            != NGX_OK)
        {
            sp->busy = 0;
            break;
        }

        return;
    }

    if (!ngx_exiting) {
        ngx_add_timer(&sp->timer, sp->period);
    }
}


/* Context: thread pool */

static void
ngx_ams_packager_sweep_thread(void *data, ngx_log_t *log)
{
    ngx_ams_packager_sweeper_t  *sp = data;

    if (sp->removing) {
        ngx_ams_sweep_remove(&sp->sw, sp->dir, sp->cutoff);
        ngx_ams_sweep_free(&sp->sw);
        ngx_ams_sweep_tmp(sp->tmp, time(NULL) - NGX_AMS_PACKAGER_TMP_AGE);
        return;
    }

    if (ngx_ams_sweep_scan(&sp->sw, sp->dir, sp->cutoff) != 0) {
        ngx_log_error(NGX_LOG_ERR, log, ngx_errno,
                      "ams packager: sweep of \"%s\" failed", sp->dir);
    }
}


static void
ngx_ams_packager_sweep_done(ngx_event_t *ev)
{
    size_t                       i;
    ngx_str_t                    id;
    ngx_ams_packager_sweeper_t  *sp = ev->data;

    sp->busy = 0;

    if (sp->removing || sp->sw.n == 0) {
        ngx_ams_sweep_free(&sp->sw);
        sp->app++;
        ngx_ams_packager_sweep_next(sp);
        return;
    }

    /* never a live stream's files, whatever their age */
    for (i = 0; i < sp->sw.n; /* void */ ) {
        id.data = (u_char *) sp->sw.ids[i];
        id.len = ngx_strlen(sp->sw.ids[i]);

        if (ngx_ams_bus_find(&sp->app_name, &id) != NULL) {
            ngx_ams_sweep_drop(&sp->sw, i);
            continue;
        }

        ngx_log_error(NGX_LOG_INFO, &sp->log, 0,
                      "ams packager: removing files of ended stream "
                      "\"%V/%V\"", &sp->app_name, &id);
        i++;
    }

    sp->removing = 1;
    sp->busy = 1;

    if (ngx_thread_task_post(ngx_ams_packager_pool(), sp->task) != NGX_OK) {
        sp->busy = 0;
        ngx_ams_sweep_free(&sp->sw);
        ngx_add_timer(&sp->timer, sp->period);
    }
}
