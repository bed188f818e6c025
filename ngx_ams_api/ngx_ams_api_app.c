
/*
 * Copyright (C) nginx-ams authors
 *
 * The REST API's settings in "application {}" blocks (AMS's
 * jwtControlEnabled, jwtSecretKey), and the HLS/DASH gate's
 * viewer_admission_time.  nginx looks directives up in core
 * modules only at that level, so the HTTP module's .so carries this small
 * core module too.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_api.h"
#include "ngx_ams_app_settings.h"


static void *ngx_ams_api_app_create_conf(ngx_cycle_t *cycle);
static void *ngx_ams_api_create_app_conf(ngx_conf_t *cf);
static char *ngx_ams_api_init_app_conf(ngx_conf_t *cf, void *conf);
static void ngx_ams_api_settings_export(ngx_ams_app_conf_t *app, void *conf,
    json_t *out);
static ngx_int_t ngx_ams_api_settings_apply(ngx_ams_app_conf_t *app,
    void *conf, json_t *in, ngx_uint_t check, const char **error);


static ngx_command_t  ngx_ams_api_app_commands[] = {

    { ngx_string("jwt_control_enabled"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      0,
      offsetof(ngx_ams_api_app_conf_t, jwt_control),
      NULL },

    { ngx_string("jwt_secret_key"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      0,
      offsetof(ngx_ams_api_app_conf_t, jwt_secret_key),
      NULL },

    /* how long the cookie of a viewer admitted by a one-time token may
     * be renewed (a JWT admits until its exp) */
    { ngx_string("viewer_admission_time"),
      NGX_AMS_APP_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      0,
      offsetof(ngx_ams_api_app_conf_t, viewer_admission_time),
      NULL },

      ngx_null_command
};


static ngx_core_module_t  ngx_ams_api_app_module_ctx = {
    ngx_string("ams_api_app"),
    ngx_ams_api_app_create_conf,
    NULL
};


ngx_module_t  ngx_ams_api_app_module = {
    NGX_MODULE_V1,
    &ngx_ams_api_app_module_ctx,           /* module context */
    ngx_ams_api_app_commands,              /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_ams_app_module_t  ngx_ams_api_app_owner = {
    &ngx_ams_api_app_module,
    ngx_ams_api_create_app_conf,
    ngx_ams_api_init_app_conf,
    ngx_ams_api_settings_export,
    ngx_ams_api_settings_apply
};


static void *
ngx_ams_api_app_create_conf(ngx_cycle_t *cycle)
{
    /* runs on every configuration cycle, after core's and before the
     * create_conf of modules loaded later, which add their routes */
    ngx_ams_rest_routes_reset();

    if (ngx_ams_rest_route_add(ngx_ams_rest_settings) != NGX_OK) {
        return NULL;
    }

    if (ngx_ams_app_module_add(cycle, &ngx_ams_api_app_owner) != NGX_OK) {
        return NULL;
    }

    return NGX_CONF_UNSET_PTR;   /* no settings outside applications */
}


static void *
ngx_ams_api_create_app_conf(ngx_conf_t *cf)
{
    ngx_ams_api_app_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ams_api_app_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->jwt_control = NGX_CONF_UNSET;
    conf->viewer_admission_time = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_ams_api_init_app_conf(ngx_conf_t *cf, void *conf)
{
    ngx_ams_api_app_conf_t *aacf = conf;

    ngx_conf_init_value(aacf->jwt_control, 0);
    ngx_conf_init_value(aacf->viewer_admission_time, 6 * 60 * 60);

    if (aacf->viewer_admission_time <= 0) {
        return "\"viewer_admission_time\" must be above 0";
    }

    if (aacf->jwt_control && aacf->jwt_secret_key.data == NULL) {
        return "\"jwt_secret_key\" is missing: \"jwt_control_enabled on\" "
               "needs it";
    }

    if (aacf->jwt_control && aacf->jwt_secret_key.len < 32) {
        return "\"jwt_secret_key\" must be at least 32 characters";
    }

    return NGX_CONF_OK;
}


/* AMS's jwtControlEnabled and jwtSecretKey, changed at runtime */

static void
ngx_ams_api_settings_export(ngx_ams_app_conf_t *app, void *conf, json_t *out)
{
    ngx_ams_api_app_conf_t *aacf = conf;

    json_object_set_new(out, "jwtControlEnabled",
                        json_boolean(aacf->jwt_control));
    json_object_set_new(out, "jwtSecretKey",
                        ngx_ams_settings_string(&aacf->jwt_secret_key));
}


static ngx_int_t
ngx_ams_api_settings_apply(ngx_ams_app_conf_t *app, void *conf, json_t *in,
    ngx_uint_t check, const char **error)
{
    ngx_ams_api_app_conf_t *aacf = conf;

    ngx_str_t   key;
    ngx_uint_t  changed;
    ngx_flag_t  control;

    control = aacf->jwt_control;
    key = aacf->jwt_secret_key;

    if (ngx_ams_settings_get_flag(in, "jwtControlEnabled", &control)
        == NGX_ERROR)
    {
        *error = "jwtControlEnabled must be a boolean";
        return NGX_DECLINED;
    }

    if (ngx_ams_settings_get_str(in, "jwtSecretKey", &key) == NGX_ERROR) {
        *error = "jwtSecretKey must be a string";
        return NGX_DECLINED;
    }

    changed = ngx_ams_settings_str_changed(&aacf->jwt_secret_key, &key);

    if (changed && key.len >= NGX_AMS_SETTINGS_KEY_LEN) {
        *error = "jwtSecretKey is too long";
        return NGX_DECLINED;
    }

    if (control && key.len < 32) {
        *error = "jwtControlEnabled needs a jwtSecretKey of at least 32 "
                 "characters";
        return NGX_DECLINED;
    }

    if (check) {
        return NGX_OK;
    }

    if (changed) {
        /* this worker's buffer for the application, made once */
        if (aacf->jwt_key_buf == NULL) {
            aacf->jwt_key_buf = ngx_pnalloc(ngx_cycle->pool,
                                            NGX_AMS_SETTINGS_KEY_LEN);
            if (aacf->jwt_key_buf == NULL) {
                *error = "out of memory";
                return NGX_DECLINED;
            }
        }

        (void) ngx_ams_settings_keep_str(&aacf->jwt_secret_key,
                                         aacf->jwt_key_buf, &key);
    }

    aacf->jwt_control = control;

    return NGX_OK;
}
