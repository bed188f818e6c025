
/*
 * Copyright (C) nginx-ams authors
 *
 * Application settings at runtime, the same on every node, without a
 * reload.  nginx.conf gives every application its settings; what is
 * changed through REST (ngx_ams_api's applications/settings) is kept in
 * the store (collection "settings", one document per application, only
 * the fields changed) and, on each node, in the bus zone as JSON text of
 * all applications with a version that moves when it changes.
 *
 *   POST (any worker)   checks, writes the store, merges into the zone,
 *                       bumps the version, applies at once
 *   worker 0            reads the store every settings_period (the
 *                       cluster's node_update_period) and replaces the
 *                       zone's text when it differs: a change made on
 *                       another node arrives within one heartbeat
 *   every worker        looks at the version every second and applies
 *                       nginx.conf's values overlaid with the zone's
 *
 * Applying from nginx.conf's values each time means a field removed from
 * the store returns to its nginx.conf value.  Each module applies its own
 * fields to this worker's copy of its configuration
 * (ngx_ams_app_module_t's settings_apply); what reads them at the start
 * of a stream or an admission sees the change from then on.  A store
 * that cannot be read leaves the settings as they are (logged once).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_core.h"
#include "ngx_ams_bus.h"
#include "ngx_ams_store.h"
#include "ngx_ams_webhook.h"
#include "ngx_ams_app_settings.h"
#include "ngx_ams_settings_value.h"


#define NGX_AMS_SETTINGS_CHECK_MS   1000
#define NGX_AMS_SETTINGS_PERIOD     5000
#define NGX_AMS_SETTINGS_MAX_TEXT   (256 * 1024)


/* core's runtime state of one application, in this worker */
typedef struct {
    json_t                     *defaults;    /* nginx.conf's settings */
    ngx_str_t                   conf_hook_url;
    void                       *conf_hook;
    ngx_ams_webhook_runtime_t   hook;
    u_char                      jwt_key[NGX_AMS_SETTINGS_KEY_LEN];
} ngx_ams_app_settings_t;


/* a POST's store write in flight */
typedef struct {
    ngx_ams_app_settings_done_pt  done;      /* NULL: cancelled */
    void                         *data;
} ngx_ams_app_settings_change_t;


static void ngx_ams_core_settings_export(ngx_ams_app_conf_t *app,
    void *conf, json_t *out);
static ngx_int_t ngx_ams_core_settings_apply(ngx_ams_app_conf_t *app,
    void *conf, json_t *in, ngx_uint_t check, const char **error);
static ngx_int_t ngx_ams_app_settings_apply(ngx_ams_app_conf_t *app,
    json_t *in, ngx_uint_t check, const char **error);
static void ngx_ams_app_settings_written(ngx_ams_store_op_t *op);
static void ngx_ams_app_settings_check(ngx_event_t *ev);
static void ngx_ams_app_settings_load(ngx_log_t *log);
static void ngx_ams_app_settings_fetch(ngx_event_t *ev);
static void ngx_ams_app_settings_fetched(ngx_ams_store_op_t *ops);
static ngx_int_t ngx_ams_app_settings_store_text(ngx_ams_settings_sh_t *sh,
    char *text, ngx_log_t *log);


static ngx_ams_app_module_t  ngx_ams_core_settings_owner = {
    &ngx_ams_core_module,
    NULL,
    NULL,
    ngx_ams_core_settings_export,
    ngx_ams_core_settings_apply
};


static ngx_event_t  ngx_ams_app_settings_check_ev;
static ngx_event_t  ngx_ams_app_settings_fetch_ev;
static ngx_uint_t   ngx_ams_app_settings_applied;   /* zone version */
static ngx_uint_t   ngx_ams_app_settings_fetching;
static ngx_uint_t   ngx_ams_app_settings_store_down;
static ngx_uint_t   ngx_ams_app_settings_ready;


json_t *
ngx_ams_app_settings_export(ngx_ams_app_conf_t *app)
{
    json_t                 *out;
    ngx_uint_t              i;
    ngx_ams_main_conf_t    *amcf;
    ngx_ams_app_module_t  **m;

    out = json_object();
    if (out == NULL) {
        return NULL;
    }

    ngx_ams_core_settings_export(app, app, out);

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);
    m = amcf->app_modules.elts;

    for (i = 0; i < amcf->app_modules.nelts; i++) {
        if (m[i]->settings_export) {
            m[i]->settings_export(app, app->ctx[m[i]->module->index], out);
        }
    }

    return out;
}


/*
 * Every module in turn.  Checking stops at the first field refused;
 * applying goes on with the other modules (each module applies all of
 * its fields or none) and reports the first refusal.
 */
static ngx_int_t
ngx_ams_app_settings_apply(ngx_ams_app_conf_t *app, json_t *in,
    ngx_uint_t check, const char **error)
{
    ngx_int_t               rc;
    ngx_uint_t              i;
    const char             *err;
    ngx_ams_main_conf_t    *amcf;
    ngx_ams_app_module_t  **m;

    rc = ngx_ams_core_settings_owner.settings_apply(app, app, in, check,
                                                    error);
    if (rc != NGX_OK && check) {
        return rc;
    }

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);
    m = amcf->app_modules.elts;

    for (i = 0; i < amcf->app_modules.nelts; i++) {
        if (m[i]->settings_apply == NULL) {
            continue;
        }

        if (m[i]->settings_apply(app, app->ctx[m[i]->module->index], in,
                                 check, &err)
            == NGX_OK)
        {
            continue;
        }

        if (check) {
            *error = err;
            return NGX_DECLINED;
        }

        if (rc == NGX_OK) {
            *error = err;
            rc = NGX_DECLINED;
        }
    }

    return rc;
}


ngx_int_t
ngx_ams_app_settings_change(ngx_ams_app_conf_t *app, json_t *in,
    ngx_ams_app_settings_done_pt done, void *data, void **handle,
    const char **error)
{
    json_t                         *known, *set, *value;
    const char                     *key;
    ngx_ams_store_op_t             *op;
    ngx_ams_app_settings_change_t  *ch;

    if (!json_is_object(in)) {
        *error = "the body must be a JSON object of AppSettings fields";
        return NGX_DECLINED;
    }

    if (ngx_ams_app_settings_apply(app, in, 1, error) != NGX_OK) {
        return NGX_DECLINED;
    }

    /* the fields some module knows, as sent; others are ignored, as AMS
     * ignores unknown properties */
    known = ngx_ams_app_settings_export(app);
    set = json_object();

    if (known == NULL || set == NULL) {
        json_decref(known);
        json_decref(set);
        return NGX_ERROR;
    }

    json_object_foreach(in, key, value) {
        if (json_object_get(known, key) && !json_is_null(value)) {
            json_object_set(set, key, value);
        }
    }

    json_decref(known);

    if (json_object_size(set) == 0) {
        json_decref(set);
        return NGX_DONE;
    }

    json_object_set_new(set, "updateTime",
                        json_integer(ngx_ams_store_now_ms()));

    ch = ngx_alloc(sizeof(ngx_ams_app_settings_change_t), ngx_cycle->log);
    op = ngx_ams_store_op(NGX_AMS_STORE_UPSERT, NGX_AMS_COLL_SETTINGS,
                          &app->name, &app->name, ngx_cycle->log);

    if (ch == NULL || op == NULL) {
        ngx_free(ch);
        if (op) {
            ngx_ams_store_free(op);
        }
        json_decref(set);
        return NGX_ERROR;
    }

    ch->done = done;
    ch->data = data;

    op->set = set;
    op->handler = ngx_ams_app_settings_written;
    op->data = ch;

    if (ngx_ams_store_post(op) != NGX_OK) {
        ngx_ams_store_free(op);
        ngx_free(ch);
        *error = "the store is busy";
        return NGX_ERROR;
    }

    *handle = ch;

    return NGX_OK;
}


void
ngx_ams_app_settings_cancel(void *handle)
{
    ngx_ams_app_settings_change_t  *ch = handle;

    /* the store write and the zone's update go on: only the caller
     * (a REST request being freed) is forgotten */
    ch->done = NULL;
    ch->data = NULL;
}


/* the store has the change: this node's zone gets it too */
static void
ngx_ams_app_settings_written(ngx_ams_store_op_t *op)
{
    char                           *text;
    json_t                         *all, *doc, *set;
    ngx_int_t                       rc;
    const char                     *error;
    json_error_t                    jerr;
    ngx_ams_settings_sh_t          *sh;
    ngx_ams_app_settings_change_t  *ch;

    ch = op->data;
    rc = op->rc;
    error = NULL;

    if (rc != NGX_OK) {
        error = op->error[0] ? op->error : "the store refused the change";
        goto done;
    }

    sh = ngx_ams_bus_settings();
    set = op->set;

    if (sh == NULL) {
        goto done;
    }

    ngx_ams_shm_lock(&sh->lock);

    all = sh->len ? json_loadb((char *) sh->text, sh->len, 0, &jerr) : NULL;

    if (!json_is_object(all)) {
        json_decref(all);
        all = json_object();
    }

    doc = json_object_get(all, op->app);

    if (!json_is_object(doc)) {
        doc = json_object();
        json_object_set_new(all, op->app, doc);
    }

    text = NULL;

    if (doc && json_object_update(doc, set) == 0) {
        text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    }

    if (text == NULL
        || ngx_ams_app_settings_store_text(sh, text, op->log) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, op->log, 0,
                      "ams settings: \"%s\" changed in the store, but not "
                      "in this node's zone: it applies at the next read "
                      "of the store", op->app);
    }

    ngx_ams_shm_unlock(&sh->lock);

    free(text);
    json_decref(all);

    ngx_ams_app_settings_load(op->log);

done:

    if (ch->done) {
        ch->done(ch->data, rc == NGX_OK ? NGX_OK : NGX_ERROR, error);
    }

    ngx_free(ch);
    ngx_ams_store_free(op);
}


/* under sh->lock; the version moves */
static ngx_int_t
ngx_ams_app_settings_store_text(ngx_ams_settings_sh_t *sh, char *text,
    ngx_log_t *log)
{
    size_t   len, size;
    u_char  *p;

    len = ngx_strlen(text);

    if (len > NGX_AMS_SETTINGS_MAX_TEXT) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ams settings: %uz bytes of settings, more than %d",
                      len, NGX_AMS_SETTINGS_MAX_TEXT);
        return NGX_ERROR;
    }

    if (len + 1 > sh->size) {
        size = ngx_max(ngx_align(len + 1, 4096), 4096);

        p = ngx_ams_bus_shm_calloc(size);
        if (p == NULL) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "ams settings: no room in the bus zone");
            return NGX_ERROR;
        }

        if (sh->text) {
            ngx_ams_bus_shm_free(sh->text);
        }

        sh->text = p;
        sh->size = size;
    }

    ngx_memcpy(sh->text, text, len + 1);
    sh->len = len;
    sh->version++;

    return NGX_OK;
}


/*
 * Each worker: nginx.conf's settings of every application are kept
 * (what applying starts from), then what the zone holds is applied
 * before the worker serves anything.
 */
ngx_int_t
ngx_ams_app_settings_init_worker(ngx_cycle_t *cycle)
{
    ngx_uint_t               i;
    ngx_ams_app_conf_t     **appp;
    ngx_ams_main_conf_t     *amcf;
    ngx_ams_app_settings_t  *as;

    amcf = ngx_ams_get_main_conf(cycle);
    appp = amcf->apps.elts;

    for (i = 0; i < amcf->apps.nelts; i++) {
        as = ngx_pcalloc(cycle->pool, sizeof(ngx_ams_app_settings_t));
        if (as == NULL) {
            return NGX_ERROR;
        }

        as->conf_hook_url = appp[i]->listener_hook_url;
        as->conf_hook = appp[i]->listener_hook;
        appp[i]->settings = as;

        as->defaults = ngx_ams_app_settings_export(appp[i]);
        if (as->defaults == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_ams_app_settings_ready = 1;
    ngx_ams_app_settings_applied = 0;

    ngx_ams_app_settings_load(cycle->log);

    ngx_ams_app_settings_check_ev.handler = ngx_ams_app_settings_check;
    ngx_ams_app_settings_check_ev.log = cycle->log;
    ngx_ams_app_settings_check_ev.cancelable = 1;
    ngx_add_timer(&ngx_ams_app_settings_check_ev, NGX_AMS_SETTINGS_CHECK_MS);

    if (ngx_worker == 0 && amcf->store && amcf->apps.nelts) {
        ngx_ams_app_settings_fetch_ev.handler = ngx_ams_app_settings_fetch;
        ngx_ams_app_settings_fetch_ev.log = cycle->log;
        ngx_ams_app_settings_fetch_ev.cancelable = 1;
        ngx_add_timer(&ngx_ams_app_settings_fetch_ev, 10);
    }

    return NGX_OK;
}


static void
ngx_ams_app_settings_check(ngx_event_t *ev)
{
    ngx_ams_settings_sh_t  *sh;

    if (ngx_exiting) {
        return;
    }

    sh = ngx_ams_bus_settings();

    if (sh && sh->version != ngx_ams_app_settings_applied) {
        ngx_ams_app_settings_load(ev->log);
    }

    ngx_add_timer(ev, NGX_AMS_SETTINGS_CHECK_MS);
}


/* nginx.conf's settings overlaid with the zone's, for every application */
static void
ngx_ams_app_settings_load(ngx_log_t *log)
{
    char                    *text;
    char                     name[NGX_AMS_APP_LEN];
    json_t                  *all, *doc, *in;
    ngx_uint_t               i, version;
    const char              *error;
    json_error_t             jerr;
    ngx_ams_app_conf_t     **appp;
    ngx_ams_main_conf_t     *amcf;
    ngx_ams_settings_sh_t   *sh;
    ngx_ams_app_settings_t  *as;

    sh = ngx_ams_bus_settings();

    if (sh == NULL || !ngx_ams_app_settings_ready) {
        return;
    }

    ngx_ams_shm_lock(&sh->lock);

    version = sh->version;
    text = NULL;

    if (sh->len) {
        text = malloc(sh->len + 1);
        if (text) {
            ngx_memcpy(text, sh->text, sh->len + 1);
        }
    }

    ngx_ams_shm_unlock(&sh->lock);

    if (version == ngx_ams_app_settings_applied) {
        free(text);
        return;
    }

    if (version && text == NULL) {
        /* out of memory: tried again in a second */
        return;
    }

    all = text ? json_loads(text, 0, &jerr) : json_object();
    free(text);

    if (!json_is_object(all)) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ams settings: the zone's settings are not a JSON "
                      "object: %s", jerr.text);
        json_decref(all);
        ngx_ams_app_settings_applied = version;
        return;
    }

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);
    appp = amcf->apps.elts;

    for (i = 0; i < amcf->apps.nelts; i++) {
        as = appp[i]->settings;
        (void) ngx_cpystrn((u_char *) name, appp[i]->name.data,
                           ngx_min(appp[i]->name.len + 1, sizeof(name)));
        doc = json_object_get(all, name);

        in = json_copy(as->defaults);
        if (in == NULL) {
            continue;
        }

        if (json_is_object(doc)) {
            json_object_update(in, doc);
        }

        if (ngx_ams_app_settings_apply(appp[i], in, 0, &error) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "ams settings: application \"%V\": %s: kept as "
                          "it was", &appp[i]->name, error);
        }

        json_decref(in);
    }

    json_decref(all);

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "ams settings: application settings of version %ui "
                  "applied", version);

    ngx_ams_app_settings_applied = version;
}


/* worker 0: every application's document, in one chain */
static void
ngx_ams_app_settings_fetch(ngx_event_t *ev)
{
    ngx_msec_t               period;
    ngx_uint_t               i;
    ngx_ams_app_conf_t     **appp;
    ngx_ams_store_op_t      *ops, *op, **last;
    ngx_ams_main_conf_t     *amcf;
    ngx_ams_settings_sh_t   *sh;

    if (ngx_exiting) {
        return;
    }

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    period = amcf->settings_period == NGX_CONF_UNSET_MSEC
             ? NGX_AMS_SETTINGS_PERIOD : amcf->settings_period;

    ngx_add_timer(ev, period);

    sh = ngx_ams_bus_settings();

    if (ngx_ams_app_settings_fetching || sh == NULL) {
        return;
    }

    appp = amcf->apps.elts;
    ops = NULL;
    last = &ops;

    for (i = 0; i < amcf->apps.nelts; i++) {
        op = ngx_ams_store_op(NGX_AMS_STORE_GET, NGX_AMS_COLL_SETTINGS,
                              &appp[i]->name, &appp[i]->name, ev->log);
        if (op == NULL) {
            ngx_ams_store_free(ops);
            return;
        }

        *last = op;
        last = &op->next;
    }

    /* a POST's merge after this read began must not be undone by it */
    ops->handler = ngx_ams_app_settings_fetched;
    ops->data = (void *) (uintptr_t) sh->version;

    if (ngx_ams_store_post(ops) != NGX_OK) {
        ngx_ams_store_free(ops);
        return;
    }

    ngx_ams_app_settings_fetching = 1;
}


static void
ngx_ams_app_settings_fetched(ngx_ams_store_op_t *ops)
{
    char                   *text;
    json_t                 *all;
    ngx_uint_t              changed;
    ngx_ams_store_op_t     *op;
    ngx_ams_settings_sh_t  *sh;

    ngx_ams_app_settings_fetching = 0;

    for (op = ops; op; op = op->next) {
        if (op->rc == NGX_ERROR) {
            if (!ngx_ams_app_settings_store_down) {
                ngx_log_error(NGX_LOG_WARN, op->log, 0,
                              "ams settings: the store cannot be read "
                              "(%s): application settings stay as they "
                              "are until it can", op->error);
                ngx_ams_app_settings_store_down = 1;
            }

            ngx_ams_store_free(ops);
            return;
        }
    }

    if (ngx_ams_app_settings_store_down) {
        ngx_log_error(NGX_LOG_NOTICE, ops->log, 0,
                      "ams settings: the store can be read again");
        ngx_ams_app_settings_store_down = 0;
    }

    all = json_object();
    if (all == NULL) {
        ngx_ams_store_free(ops);
        return;
    }

    for (op = ops; op; op = op->next) {
        if (op->rc == NGX_OK && json_is_object(op->doc)) {
            json_object_set(all, op->app, op->doc);
        }
    }

    text = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(all);

    sh = ngx_ams_bus_settings();
    changed = 0;

    if (text && sh) {
        ngx_ams_shm_lock(&sh->lock);

        if (sh->version == (ngx_uint_t) (uintptr_t) ops->data
            && (sh->len != ngx_strlen(text)
                || ngx_memcmp(sh->text, text, sh->len) != 0)
            && !(sh->len == 0 && ngx_strcmp(text, "{}") == 0))
        {
            changed = (ngx_ams_app_settings_store_text(sh, text, ops->log)
                       == NGX_OK);
        }

        ngx_ams_shm_unlock(&sh->lock);
    }

    free(text);

    if (changed) {
        ngx_ams_app_settings_load(ops->log);
    }

    ngx_ams_store_free(ops);
}


/* core's own fields: stream security and the listener hook */

static void
ngx_ams_core_settings_export(ngx_ams_app_conf_t *app, void *conf, json_t *out)
{
    ngx_ams_access_conf_t  *access = &app->access;

    json_object_set_new(out, "acceptOnlyStreamsInDataStore",
                        json_boolean(
                            access->accept_only_streams_in_data_store));
    json_object_set_new(out, "publishTokenControlEnabled",
                        json_boolean(access->publish_token_control));
    json_object_set_new(out, "playTokenControlEnabled",
                        json_boolean(access->play_token_control));
    json_object_set_new(out, "publishJwtControlEnabled",
                        json_boolean(access->publish_jwt_control));
    json_object_set_new(out, "playJwtControlEnabled",
                        json_boolean(access->play_jwt_control));
    json_object_set_new(out, "jwtStreamSecretKey",
                        ngx_ams_settings_string(
                            &access->jwt_stream_secret_key));
    json_object_set_new(out, "listenerHookURL",
                        ngx_ams_settings_string(&app->listener_hook_url));
}


static ngx_int_t
ngx_ams_core_settings_apply(ngx_ams_app_conf_t *app, void *conf, json_t *in,
    ngx_uint_t check, const char **error)
{
    ngx_str_t                   key, url;
    ngx_int_t                   rc;
    ngx_uint_t                  i, key_changed;
    ngx_flag_t                 *flag[5], value[5];
    ngx_ams_access_conf_t      *access = &app->access;
    ngx_ams_app_settings_t     *as;
    ngx_ams_webhook_runtime_t  *hook, probe;

    static const char  *names[5] = {
        "acceptOnlyStreamsInDataStore", "publishTokenControlEnabled",
        "playTokenControlEnabled", "publishJwtControlEnabled",
        "playJwtControlEnabled"
    };

    static const char  *wrong[5] = {
        "acceptOnlyStreamsInDataStore must be a boolean",
        "publishTokenControlEnabled must be a boolean",
        "playTokenControlEnabled must be a boolean",
        "publishJwtControlEnabled must be a boolean",
        "playJwtControlEnabled must be a boolean"
    };

    flag[0] = &access->accept_only_streams_in_data_store;
    flag[1] = &access->publish_token_control;
    flag[2] = &access->play_token_control;
    flag[3] = &access->publish_jwt_control;
    flag[4] = &access->play_jwt_control;

    for (i = 0; i < 5; i++) {
        value[i] = *flag[i];

        if (ngx_ams_settings_get_flag(in, names[i], &value[i]) == NGX_ERROR) {
            *error = wrong[i];
            return NGX_DECLINED;
        }
    }

    key = access->jwt_stream_secret_key;
    rc = ngx_ams_settings_get_str(in, "jwtStreamSecretKey", &key);

    if (rc == NGX_ERROR) {
        *error = "jwtStreamSecretKey must be a string";
        return NGX_DECLINED;
    }

    key_changed = ngx_ams_settings_str_changed(&access->jwt_stream_secret_key,
                                               &key);

    if (key_changed && key.len >= NGX_AMS_SETTINGS_KEY_LEN) {
        *error = "jwtStreamSecretKey is too long";
        return NGX_DECLINED;
    }

    if ((value[3] || value[4]) && key.len < 32) {
        *error = "publishJwtControlEnabled and playJwtControlEnabled need "
                 "a jwtStreamSecretKey of at least 32 characters";
        return NGX_DECLINED;
    }

    as = app->settings;
    url = app->listener_hook_url;
    rc = ngx_ams_settings_get_str(in, "listenerHookURL", &url);

    if (rc == NGX_ERROR) {
        *error = "listenerHookURL must be a string";
        return NGX_DECLINED;
    }

    hook = NULL;

    /* nginx.conf's own URL keeps its target (it may name a host,
     * resolved with the configuration); another one is checked and, when
     * applied, parsed into this application's buffer: the last check, so
     * nothing fails after it */
    if (rc == NGX_OK && url.len
        && !(as && url.len == as->conf_hook_url.len
             && ngx_strncmp(url.data, as->conf_hook_url.data, url.len) == 0))
    {
        hook = (check || as == NULL) ? &probe : &as->hook;

        if (ngx_ams_webhook_runtime_set(hook, &url, error) != NGX_OK) {
            return NGX_DECLINED;
        }
    }

    if (check || as == NULL) {
        return NGX_OK;
    }

    if (hook) {
        app->listener_hook_url.data = as->hook.text;
        app->listener_hook_url.len = url.len;
        app->listener_hook = &as->hook.target;

    } else if (rc == NGX_OK) {
        if (url.len) {
            app->listener_hook_url = as->conf_hook_url;
            app->listener_hook = as->conf_hook;

        } else {
            ngx_str_null(&app->listener_hook_url);
            app->listener_hook = NULL;
        }
    }

    for (i = 0; i < 5; i++) {
        *flag[i] = value[i];
    }

    if (key_changed) {
        (void) ngx_ams_settings_keep_str(&access->jwt_stream_secret_key,
                                         as->jwt_key, &key);
    }

    return NGX_OK;
}


/* helpers for the modules' settings_apply */

ngx_int_t
ngx_ams_settings_get_flag(json_t *in, const char *name, ngx_flag_t *out)
{
    json_t  *v;

    v = json_object_get(in, name);

    if (v == NULL || json_is_null(v)) {
        return NGX_DECLINED;
    }

    if (!json_is_boolean(v)) {
        return NGX_ERROR;
    }

    *out = json_is_true(v);

    return NGX_OK;
}


ngx_int_t
ngx_ams_settings_get_str(json_t *in, const char *name, ngx_str_t *out)
{
    json_t  *v;

    v = json_object_get(in, name);

    if (v == NULL || json_is_null(v)) {
        return NGX_DECLINED;
    }

    if (!json_is_string(v)) {
        return NGX_ERROR;
    }

    out->data = (u_char *) json_string_value(v);
    out->len = json_string_length(v);

    return NGX_OK;
}


ngx_int_t
ngx_ams_settings_get_decimal(json_t *in, const char *name, unsigned digits,
    int64_t *out)
{
    char     buf[32];
    json_t  *v;
    size_t   len;

    v = json_object_get(in, name);

    if (v == NULL || json_is_null(v)) {
        return NGX_DECLINED;
    }

    if (json_is_string(v)) {
        return ngx_ams_settings_decimal_parse(json_string_value(v),
                                              json_string_length(v), digits,
                                              INT64_MAX / 1000, out)
               == 0 ? NGX_OK : NGX_ERROR;
    }

    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        len = ngx_sprintf((u_char *) buf, "%L", json_integer_value(v))
              - (u_char *) buf;

    } else if (json_is_real(v) && json_real_value(v) >= 0
               && json_real_value(v) < 1e12)
    {
        /* as the client meant it: 0.3 is "0.3", not 0.299999... */
        len = snprintf(buf, sizeof(buf), "%.*f", (int) digits,
                       json_real_value(v));
        while (digits && len > 1 && buf[len - 1] == '0') {
            len--;
        }
        if (len > 1 && buf[len - 1] == '.') {
            len--;
        }

    } else {
        return NGX_ERROR;
    }

    return ngx_ams_settings_decimal_parse(buf, len, digits,
                                          INT64_MAX / 1000, out)
           == 0 ? NGX_OK : NGX_ERROR;
}


json_t *
ngx_ams_settings_string(ngx_str_t *value)
{
    /* an unset string is "", as AMS sends it */
    return json_stringn(value->data ? (char *) value->data : "", value->len);
}


void
ngx_ams_settings_set_decimal(json_t *out, const char *name, int64_t value,
    unsigned digits)
{
    char    buf[32];
    size_t  len;

    len = ngx_ams_settings_decimal_format(buf, sizeof(buf), value, digits);

    json_object_set_new(out, name, json_stringn(buf, len));
}


ngx_uint_t
ngx_ams_settings_str_changed(ngx_str_t *old, ngx_str_t *value)
{
    return old->len != value->len
           || (value->len
               && ngx_memcmp(old->data, value->data, value->len) != 0);
}


ngx_int_t
ngx_ams_settings_keep_str(ngx_str_t *dst, u_char *buf, ngx_str_t *value)
{
    if (value->len >= NGX_AMS_SETTINGS_KEY_LEN) {
        return NGX_DECLINED;
    }

    /* memmove: "value" may be this very buffer */
    ngx_memmove(buf, value->data, value->len);
    buf[value->len] = '\0';

    dst->data = buf;
    dst->len = value->len;

    return NGX_OK;
}
