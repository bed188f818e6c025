
/*
 * Copyright (C) nginx-ams authors
 *
 * The transcoder: per live stream, decode once, scale once per rung,
 * encode each rung, publish each rung back into the bus as a
 * "rendition" source named {id}_{height}p{kbps}kbps.  This file: the
 * module, its directives (transcode_thread_pool, encoder_*) and the
 * application settings REST reads and changes (encoderSettings).  A
 * stream's runtime is ngx_ams_transcode_stream.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <libavutil/log.h>

#include "ngx_ams_core.h"
#include "ngx_ams_app_settings.h"
#include "ngx_ams_transcode.h"
#include "ngx_ams_transcode_stream.h"
#include "ngx_ams_ladder.h"


#define NGX_AMS_TC_MAX_THREADS   4         /* encoder_threads' default */


typedef struct {
    ngx_thread_pool_t               *thread_pool;
    ngx_thread_pool_t               *default_pool;  /* nginx's "default" */
    ngx_uint_t                       shared;        /* the ams block's */
} ngx_ams_transcode_conf_t;


static void *ngx_ams_transcode_create_conf(ngx_cycle_t *cycle);
static char *ngx_ams_transcode_init_conf(ngx_cycle_t *cycle, void *conf);
static char *ngx_ams_transcode_encoder_settings(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static void *ngx_ams_transcode_create_app_conf(ngx_conf_t *cf);
static char *ngx_ams_transcode_init_app_conf(ngx_conf_t *cf, void *conf);
static void ngx_ams_transcode_settings_export(ngx_ams_app_conf_t *app,
    void *conf, json_t *out);
static ngx_int_t ngx_ams_transcode_settings_apply(ngx_ams_app_conf_t *app,
    void *conf, json_t *in, ngx_uint_t check, const char **error);
static ngx_int_t ngx_ams_transcode_init_process(ngx_cycle_t *cycle);


/* a settings error for REST, the ladder parser's own words (the loop's,
 * read before the next apply) */
static u_char                ngx_ams_transcode_error[224];


static ngx_str_t  ngx_ams_transcode_presets[] = {
    ngx_string("ultrafast"), ngx_string("superfast"),
    ngx_string("veryfast"), ngx_string("faster"), ngx_string("fast"),
    ngx_string("medium"), ngx_string("slow"), ngx_string("slower"),
    ngx_string("veryslow"), ngx_null_string
};

static ngx_str_t  ngx_ams_transcode_profiles[] = {
    ngx_string("baseline"), ngx_string("main"), ngx_string("high"),
    ngx_null_string
};

static ngx_str_t  ngx_ams_transcode_tunes[] = {
    ngx_string("film"), ngx_string("animation"), ngx_string("grain"),
    ngx_string("stillimage"), ngx_string("psnr"), ngx_string("ssim"),
    ngx_string("fastdecode"), ngx_string("zerolatency"), ngx_null_string
};


static char *ngx_ams_transcode_check_word(ngx_conf_t *cf, void *post,
    void *data);

/* checked where the directive is, so an error names it */
static ngx_conf_post_t  ngx_ams_transcode_preset_post =
    { ngx_ams_transcode_check_word };
static ngx_conf_post_t  ngx_ams_transcode_profile_post =
    { ngx_ams_transcode_check_word };
static ngx_conf_post_t  ngx_ams_transcode_tune_post =
    { ngx_ams_transcode_check_word };


static ngx_command_t  ngx_ams_transcode_commands[] = {

    /* its own pool: encoding must not hold up segments or the store;
     * by default nginx's "default" pool, never the ams block's unless
     * that is "default" too */
    { ngx_string("transcode_thread_pool"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_ams_conf_set_thread_pool_slot,
      0,
      offsetof(ngx_ams_transcode_conf_t, thread_pool),
      NULL },

    { ngx_string("encoder_settings"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_ams_transcode_encoder_settings,
      0,
      0,
      NULL },

    { ngx_string("encoder_name"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_transcode_app_conf_t, encoder),
      NULL },

    { ngx_string("encoder_preset"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_transcode_app_conf_t, preset),
      &ngx_ams_transcode_preset_post },

    { ngx_string("encoder_profile"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_transcode_app_conf_t, profile),
      &ngx_ams_transcode_profile_post },

    { ngx_string("encoder_tune"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_transcode_app_conf_t, tune),
      &ngx_ams_transcode_tune_post },

    { ngx_string("encoder_keyframe_interval"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_transcode_app_conf_t, keyint),
      NULL },

    { ngx_string("encoder_threads"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_transcode_app_conf_t, threads),
      NULL },

    { ngx_string("encoder_queue"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_transcode_app_conf_t, queue),
      NULL },

      ngx_null_command
};


static ngx_ams_app_module_t  ngx_ams_transcode_app_owner = {
    &ngx_ams_transcode_module,
    ngx_ams_transcode_create_app_conf,
    ngx_ams_transcode_init_app_conf,
    ngx_ams_transcode_settings_export,
    ngx_ams_transcode_settings_apply
};


static ngx_core_module_t  ngx_ams_transcode_module_ctx = {
    ngx_string("ams_transcode"),
    ngx_ams_transcode_create_conf,
    ngx_ams_transcode_init_conf
};


ngx_module_t  ngx_ams_transcode_module = {
    NGX_MODULE_V1,
    &ngx_ams_transcode_module_ctx,         /* module context */
    ngx_ams_transcode_commands,            /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_ams_transcode_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_ams_transcode_create_conf(ngx_cycle_t *cycle)
{
    ngx_ams_transcode_conf_t  *tcf;

    tcf = ngx_pcalloc(cycle->pool, sizeof(ngx_ams_transcode_conf_t));
    if (tcf == NULL) {
        return NULL;
    }

    /* runs after the core's create_conf, which reset the chains and the
     * application settings' owners */
    if (ngx_ams_app_module_add(cycle, &ngx_ams_transcode_app_owner)
        != NGX_OK)
    {
        return NULL;
    }

    ngx_ams_transcode_stream_hook();

    return tcf;
}



static char *
ngx_ams_transcode_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_ams_transcode_conf_t *tcf = conf;

    ngx_ams_main_conf_t  *amcf;

    /* by default nginx's "default" pool (32 threads), added by the first
     * application; the "ams {}" block's only without an application */
    amcf = ngx_ams_get_main_conf(cycle);

    if (tcf->thread_pool == NULL) {
        tcf->thread_pool = tcf->default_pool;
    }

    if (tcf->thread_pool == NULL && amcf) {
        tcf->thread_pool = amcf->thread_pool;
    }

    /* segments and the store wait behind encoding tasks there */
    tcf->shared = (amcf && tcf->thread_pool == amcf->thread_pool);

    return NGX_CONF_OK;
}


ngx_thread_pool_t *
ngx_ams_transcode_pool(void)
{
    ngx_ams_transcode_conf_t  *tcf;

    tcf = (ngx_ams_transcode_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                                    ngx_ams_transcode_module);

    return tcf->thread_pool;
}


static char *
ngx_ams_transcode_encoder_settings(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_ams_transcode_app_conf_t *tacf = conf;

    char        err[160];
    ngx_str_t  *value;

    if (tacf->ladder_set) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_ams_ladder_parse((char *) value[1].data, value[1].len,
                             &tacf->ladder, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid \"encoder_settings\": %s", err);
        return NGX_CONF_ERROR;
    }

    tacf->ladder_set = 1;

    return NGX_CONF_OK;
}


/* a value from the directive's list, said against its own line */

static char *
ngx_ams_transcode_check_word(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *value = data;
    ngx_str_t  *list;
    ngx_str_t  *args;

    list = (post == &ngx_ams_transcode_preset_post)
           ? ngx_ams_transcode_presets
           : (post == &ngx_ams_transcode_profile_post)
             ? ngx_ams_transcode_profiles : ngx_ams_transcode_tunes;

    for ( /* void */ ; list->len; list++) {
        if (list->len == value->len
            && ngx_strncmp(list->data, value->data, value->len) == 0)
        {
            return NGX_CONF_OK;
        }
    }

    args = cf->args->elts;

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "unknown \"%V\" value \"%V\"", &args[0], value);

    return NGX_CONF_ERROR;
}


static void *
ngx_ams_transcode_create_app_conf(ngx_conf_t *cf)
{
    ngx_ams_transcode_app_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ams_transcode_app_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /* set by ngx_pcalloc(): ladder (empty: no transcoding), ladder_set,
     * encoder, preset, profile, tune (empty strings) */

    conf->keyint = NGX_CONF_UNSET_MSEC;
    conf->threads = NGX_CONF_UNSET_UINT;
    conf->queue = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_ams_transcode_init_app_conf(ngx_conf_t *cf, void *conf)
{
    ngx_ams_transcode_app_conf_t *tacf = conf;

    ngx_ams_transcode_conf_t  *tcf;

    /* here, with a "cf": nginx gives the "default" pool its threads in
     * its own init_conf, which runs before the transcoder's */
    tcf = (ngx_ams_transcode_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                                    ngx_ams_transcode_module);

    if (tcf && tcf->default_pool == NULL) {
        tcf->default_pool = ngx_thread_pool_add(cf, NULL);
        if (tcf->default_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (tacf->encoder.len == 0) {
        ngx_str_set(&tacf->encoder, "libx264");
    }

    if (tacf->preset.len == 0) {
        ngx_str_set(&tacf->preset, "veryfast");
    }

    ngx_conf_init_msec_value(tacf->keyint, 0);
    /* x264's own (0) is 1.5 x the cores per encoder, frame threads that
     * add latency and memory: a few per encoder by default */
    ngx_conf_init_uint_value(tacf->threads,
                             ngx_min((ngx_uint_t) ngx_ncpu,
                                     NGX_AMS_TC_MAX_THREADS));
    ngx_conf_init_uint_value(tacf->queue, 150);

    if (tacf->queue < 2) {
        tacf->queue = 2;
    }

    return NGX_CONF_OK;
}


/*
 * Runtime settings: AMS's encoderSettings (the list of rungs) and its
 * string form encoderSettingsString.  A stream reads the ladder when it
 * is published, so a change applies to the streams that start after it.
 */

static void
ngx_ams_transcode_settings_export(ngx_ams_app_conf_t *app, void *conf,
    json_t *out)
{
    ngx_ams_transcode_app_conf_t *tacf = conf;

    char    *text;
    json_t  *list;

    list = ngx_ams_ladder_to_json(&tacf->ladder);
    if (list == NULL) {
        return;
    }

    text = json_dumps(list, JSON_COMPACT);

    json_object_set_new(out, "encoderSettings", list);

    if (text) {
        json_object_set_new(out, "encoderSettingsString", json_string(text));
        free(text);
    }
}


static ngx_int_t
ngx_ams_transcode_settings_apply(ngx_ams_app_conf_t *app, void *conf,
    json_t *in, ngx_uint_t check, const char **error)
{
    ngx_ams_transcode_app_conf_t *tacf = conf;

    char               err[160];
    json_t            *list, *text;
    ngx_ams_ladder_t   ladder;

    list = json_object_get(in, "encoderSettings");
    text = json_object_get(in, "encoderSettingsString");

    if (list && !json_is_null(list)) {
        if (ngx_ams_ladder_from_json(list, &ladder, err, sizeof(err)) != 0) {
            ngx_snprintf(ngx_ams_transcode_error,
                         sizeof(ngx_ams_transcode_error) - 1,
                         "encoderSettings: %s%Z", err);
            *error = (const char *) ngx_ams_transcode_error;
            return NGX_DECLINED;
        }

    } else if (text && json_is_string(text)) {
        if (json_string_length(text) == 0) {
            ladder.n = 0;

        } else if (ngx_ams_ladder_parse(json_string_value(text),
                                        json_string_length(text), &ladder,
                                        err, sizeof(err))
                   != 0)
        {
            ngx_snprintf(ngx_ams_transcode_error,
                         sizeof(ngx_ams_transcode_error) - 1,
                         "encoderSettingsString: %s%Z", err);
            *error = (const char *) ngx_ams_transcode_error;
            return NGX_DECLINED;
        }

    } else if (text && !json_is_null(text)) {
        *error = "encoderSettingsString must be a string";
        return NGX_DECLINED;

    } else {
        return NGX_OK;
    }

    if (check) {
        return NGX_OK;
    }

    tacf->ladder = ladder;

    return NGX_OK;
}


static ngx_int_t
ngx_ams_transcode_init_process(ngx_cycle_t *cycle)
{
    ngx_ams_transcode_conf_t  *tcf;

    ngx_ams_transcode_stream_init();

    tcf = (ngx_ams_transcode_conf_t *) ngx_get_conf(cycle->conf_ctx,
                                                    ngx_ams_transcode_module);

    if (tcf && tcf->shared && ngx_worker == 0) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "ams transcode: encoding shares the ams block's "
                      "thread pool: segments and the store wait behind it "
                      "(transcode_thread_pool names another)");
    }

    /* corrupt input would fill the error log with the decoder's
     * complaints; what matters is logged by the transcoder itself */
    av_log_set_level(AV_LOG_QUIET);

    return NGX_OK;
}
