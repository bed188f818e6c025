
/*
 * Copyright (C) nginx-ams authors
 *
 * Application settings at runtime (AMS's AppSettings through
 * REST's applications/settings/{app}): what changed is kept in the store
 * and in the bus zone, and every worker of every node applies it to its
 * own configuration without a reload.  Each module exports and applies
 * its own fields (ngx_ams_app_module_t's settings_export/apply); the
 * helpers below read a field of AMS's JSON types for them.
 */


#ifndef _NGX_AMS_APP_SETTINGS_H_INCLUDED_
#define _NGX_AMS_APP_SETTINGS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <jansson.h>

#include "ngx_ams_core.h"


/* a secret kept at runtime (jwtStreamSecretKey, jwtSecretKey): at most */
#define NGX_AMS_SETTINGS_KEY_LEN   256


typedef void (*ngx_ams_app_settings_done_pt)(void *data, ngx_int_t rc,
    const char *error);


/* the application's settings now, in this worker: a new object */
json_t *ngx_ams_app_settings_export(ngx_ams_app_conf_t *app);

/*
 * A change through REST: "in" is checked by every module (NGX_DECLINED,
 * *error: nothing changed); its known fields are written to the store;
 * then this node's zone gets them (every worker applies them within a
 * second, this one at once) and "done" is called, unless the change was
 * cancelled (*handle) meanwhile.  NGX_DONE: nothing known to change,
 * "done" is not called.
 */
ngx_int_t ngx_ams_app_settings_change(ngx_ams_app_conf_t *app, json_t *in,
    ngx_ams_app_settings_done_pt done, void *data, void **handle,
    const char **error);
void ngx_ams_app_settings_cancel(void *handle);

ngx_int_t ngx_ams_app_settings_init_worker(ngx_cycle_t *cycle);

/*
 * A field of "in": NGX_OK (*out set), NGX_DECLINED (absent or null),
 * NGX_ERROR (of another type).  A decimal is what AMS sends as a string
 * ("2", "0.5"; a JSON number is taken too), scaled by 10^digits.
 */
ngx_int_t ngx_ams_settings_get_flag(json_t *in, const char *name,
    ngx_flag_t *out);
ngx_int_t ngx_ams_settings_get_str(json_t *in, const char *name,
    ngx_str_t *out);
ngx_int_t ngx_ams_settings_get_decimal(json_t *in, const char *name,
    unsigned digits, int64_t *out);
/* a string field: "" when unset */
json_t *ngx_ams_settings_string(ngx_str_t *value);
/* "2", "1.5" */
void ngx_ams_settings_set_decimal(json_t *out, const char *name,
    int64_t value, unsigned digits);

/* "value" differs from "old" */
ngx_uint_t ngx_ams_settings_str_changed(ngx_str_t *old, ngx_str_t *value);
/* copies "value" into "buf" (NGX_AMS_SETTINGS_KEY_LEN) and points *dst
 * at it; NGX_DECLINED if it does not fit */
ngx_int_t ngx_ams_settings_keep_str(ngx_str_t *dst, u_char *buf,
    ngx_str_t *value);


#endif /* _NGX_AMS_APP_SETTINGS_H_INCLUDED_ */
