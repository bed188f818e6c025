
/*
 * Copyright (C) nginx-ams authors
 *
 * Publish/play admission.  JWTs and limits (publishers only: viewers are
 * never refused for CPU or memory) are checked at once; a
 * one-time token (taken from the store: found and deleted in one step, so
 * it admits exactly once) and the record lookup of
 * acceptOnlyStreamsInDataStore go through the thread pool as one chain.
 *
 * In a cluster a publisher then claims its stream id: the store's CLAIM
 * marks the broadcast record broadcasting from this node (originAdress)
 * unless another origin holds it live, atomically, so of two origins
 * racing for one id exactly one wins (streamIdInUse for the other).  It
 * is the last step, in its own transaction, so a publisher refused for
 * its token never touches the record; a loser's CLAIM writes nothing,
 * so it never touches the winner's record either.  The winner's publish
 * then writes the rest of the record (ngx_ams_broadcast.c).
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"
#include "ngx_ams_access.h"
#include "ngx_ams_broadcast.h"
#include "ngx_ams_jwt.h"
#include "ngx_ams_log_escape.h"
#include "ngx_ams_node_token.h"
#include "ngx_ams_stats.h"
#include "ngx_ams_store.h"


struct ngx_ams_access_s {
    ngx_ams_access_pt         handler;
    void                     *data;
    ngx_uint_t                publish;
    ngx_uint_t                cancelled;
    ngx_uint_t                claim;         /* still to claim the id */
    ngx_str_t                 app;           /* for the claim */
    ngx_log_t                *log;
    ngx_ams_store_op_t       *ops;           /* in flight */
    char                      id[NGX_AMS_STORE_ID_LEN];  /* the stream */
};


static ngx_int_t ngx_ams_access_jwt(ngx_ams_app_conf_t *app, ngx_str_t *id,
    ngx_uint_t publish, ngx_str_t *token, ngx_log_t *log);
static void ngx_ams_access_done(ngx_ams_store_op_t *ops);
static ngx_int_t ngx_ams_access_claim(ngx_ams_access_t *acc);
static const char *ngx_ams_access_claimed(ngx_ams_access_t *acc,
    ngx_ams_store_op_t *op);
static ngx_uint_t ngx_ams_access_token_valid(ngx_ams_access_t *acc,
    ngx_ams_store_op_t *op);
static ngx_uint_t ngx_ams_access_node_token(ngx_str_t *token,
    ngx_log_t *log, char *iss, size_t size);


ngx_int_t
ngx_ams_access_check(ngx_ams_app_conf_t *app, ngx_str_t *id,
    ngx_uint_t publish, ngx_str_t *token, ngx_log_t *log,
    ngx_ams_access_pt handler, void *data, const char **refused,
    ngx_ams_access_t **pending)
{
    char                 escaped[NGX_AMS_LOG_ESCAPED_SIZE(
                                     NGX_AMS_NAME_LEN)];
    char                 iss[NGX_AMS_STORE_ID_LEN];
    ngx_uint_t           one_time, in_store, claim;
    ngx_ams_access_t    *acc;
    ngx_ams_main_conf_t *amcf;
    ngx_ams_store_op_t  *chain, *op;

    *pending = NULL;

    /* resources limit new work only: a viewer (RTMP, HLS, DASH) of a
     * stream already packaged costs little, and refusing a player
     * mid-stream freezes it (Ant Media Server checks publishers, pulls
     * and WebRTC sessions, never HLS/DASH requests) */
    if (publish && ngx_ams_stats_admit(publish, log) != 0) {
        *refused = NGX_AMS_REFUSED_RESOURCES;
        return NGX_DECLINED;
    }

    /* another node's pull: the stream's viewers are admitted there */
    if (!publish && ngx_ams_access_node_token(token, log, iss, sizeof(iss))) {
        ngx_log_error(NGX_LOG_INFO, log, 0,
                      "ams access: cluster pull from node \"%s\"", iss);
        return NGX_OK;
    }

    if (publish ? app->access.publish_jwt_control
                : app->access.play_jwt_control)
    {
        if (ngx_ams_access_jwt(app, id, publish, token, log) != NGX_OK) {
            *refused = NGX_AMS_REFUSED_TOKEN;
            return NGX_DECLINED;
        }
    }

    one_time = publish ? app->access.publish_token_control
                       : app->access.play_token_control;
    in_store = publish && app->access.accept_only_streams_in_data_store;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);
    claim = publish && amcf->cluster_member;

    if (!one_time && !in_store && !claim) {
        return NGX_OK;
    }

    if (one_time && (token->len == 0 || token->len >= NGX_AMS_STORE_ID_LEN)) {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "ams access: %s of \"%s\" refused: no valid token",
                      publish ? "publish" : "play",
                      ngx_ams_log_escape(escaped, sizeof(escaped), id->data,
                                         id->len));
        *refused = NGX_AMS_REFUSED_TOKEN;
        return NGX_DECLINED;
    }

    acc = ngx_calloc(sizeof(ngx_ams_access_t), log);
    if (acc == NULL) {
        return NGX_ERROR;
    }

    acc->handler = handler;
    acc->data = data;
    acc->publish = publish;
    acc->log = log;
    acc->claim = claim;
    acc->app = app->name;
    ngx_cpystrn((u_char *) acc->id, id->data,
                ngx_min(id->len + 1, sizeof(acc->id)));

    if (!one_time && !in_store) {
        if (ngx_ams_access_claim(acc) != NGX_OK) {
            ngx_free(acc);
            return NGX_ERROR;
        }

        *pending = acc;
        return NGX_AGAIN;
    }

    chain = NULL;

    if (in_store) {
        chain = ngx_ams_store_op(NGX_AMS_STORE_GET, NGX_AMS_COLL_BROADCAST,
                                 &app->name, id, log);
        if (chain == NULL) {
            ngx_free(acc);
            return NGX_ERROR;
        }
    }

    if (one_time) {
        op = ngx_ams_store_op(NGX_AMS_STORE_TAKE, NGX_AMS_COLL_TOKEN,
                              &app->name, token, log);
        if (op == NULL) {
            ngx_ams_store_free(chain);
            ngx_free(acc);
            return NGX_ERROR;
        }

        op->next = chain;
        chain = op;
    }

    chain->handler = ngx_ams_access_done;
    chain->data = acc;

    if (ngx_ams_store_post(chain) != NGX_OK) {
        ngx_ams_store_free(chain);
        ngx_free(acc);
        return NGX_ERROR;
    }

    acc->ops = chain;
    *pending = acc;

    return NGX_AGAIN;
}


ngx_uint_t
ngx_ams_access_cluster_pull(ngx_str_t *token, ngx_log_t *log)
{
    char  iss[NGX_AMS_STORE_ID_LEN];

    return ngx_ams_access_node_token(token, log, iss, sizeof(iss));
}


static ngx_uint_t
ngx_ams_access_node_token(ngx_str_t *token, ngx_log_t *log, char *iss,
    size_t size)
{
    const char           *error;
    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    if (token->len == 0 || amcf == NULL || amcf->cluster_key.len == 0) {
        return 0;
    }

    if (ngx_ams_node_token_verify(token->data, token->len,
                                  amcf->cluster_key.data,
                                  amcf->cluster_key.len,
                                  (char *) amcf->node_address.data,
                                  amcf->node_address.len,
                                  (int64_t) ngx_time(), iss, size, &error)
        != 0)
    {
        /* most tokens are viewers' own: not a node's, nothing to say */
        ngx_log_debug1(NGX_LOG_DEBUG_CORE, log, 0,
                       "ams access: not a node token: %s", error);
        return 0;
    }

    return 1;
}


void
ngx_ams_access_cancel(ngx_ams_access_t *pending)
{
    ngx_ams_store_op_t  *op;

    if (pending == NULL) {
        return;
    }

    /* the caller's log goes with the caller (a connection's pool) */
    pending->cancelled = 1;
    pending->log = ngx_cycle->log;

    for (op = pending->ops; op; op = op->next) {
        op->log = ngx_cycle->log;
    }

    pending->ops->task.event.log = ngx_cycle->log;
}


static void
ngx_ams_access_done(ngx_ams_store_op_t *ops)
{
    ngx_ams_access_t *acc = ops->data;

    char                 escaped[NGX_AMS_LOG_ESCAPED_SIZE(
                                     NGX_AMS_STORE_ID_LEN)];
    const char          *refused;
    ngx_ams_store_op_t  *op;

    refused = NULL;

    if (ops->type == NGX_AMS_STORE_CLAIM) {
        refused = ngx_ams_access_claimed(acc, ops);
        ngx_ams_store_free(ops);
        goto done;
    }

    for (op = ops; op; op = op->next) {
        if (ngx_strcmp(op->collection, NGX_AMS_COLL_TOKEN) == 0) {
            if (!ngx_ams_access_token_valid(acc, op)) {
                refused = NGX_AMS_REFUSED_TOKEN;
            }

        } else if (op->rc != NGX_OK && refused == NULL) {
            ngx_log_error(NGX_LOG_WARN, acc->log, 0,
                          "ams access: publish of \"%s\" refused: no such "
                          "broadcast (accept_only_streams_in_data_store)",
                          ngx_ams_log_escape(escaped, sizeof(escaped),
                                             (u_char *) op->id,
                                             ngx_strlen(op->id)));
            refused = NGX_AMS_REFUSED_NOT_IN_STORE;
        }
    }

    ngx_ams_store_free(ops);

    if (refused == NULL && acc->claim && !acc->cancelled) {
        if (ngx_ams_access_claim(acc) == NGX_OK) {
            return;
        }

        refused = NGX_AMS_REFUSED_STORE;
    }

done:

    if (!acc->cancelled) {
        acc->handler(acc->data, refused);
    }

    ngx_free(acc);
}


/* the broadcast record for this origin, or streamIdInUse */
static ngx_int_t
ngx_ams_access_claim(ngx_ams_access_t *acc)
{
    ngx_str_t            id;
    ngx_ams_store_op_t  *op;

    acc->claim = 0;

    id.data = (u_char *) acc->id;
    id.len = ngx_strlen(acc->id);

    op = ngx_ams_broadcast_claim(&acc->app, &id, acc->log);
    if (op == NULL) {
        return NGX_ERROR;
    }

    op->handler = ngx_ams_access_done;
    op->data = acc;

    if (ngx_ams_store_post(op) != NGX_OK) {
        ngx_ams_store_free(op);
        return NGX_ERROR;
    }

    acc->ops = op;

    return NGX_OK;
}


static const char *
ngx_ams_access_claimed(ngx_ams_access_t *acc, ngx_ams_store_op_t *op)
{
    char         escaped[NGX_AMS_LOG_ESCAPED_SIZE(NGX_AMS_STORE_ID_LEN)];
    char         where[NGX_AMS_LOG_ESCAPED_SIZE(NGX_AMS_STORE_ID_LEN)];
    json_t      *origin;
    const char  *text;

    if (op->rc == NGX_OK) {
        return NULL;
    }

    ngx_ams_log_escape(escaped, sizeof(escaped), (u_char *) acc->id,
                       ngx_strlen(acc->id));

    if (op->rc == NGX_BUSY) {
        origin = json_object_get(op->doc, "originAdress");
        text = json_is_string(origin) ? json_string_value(origin) : "?";
        ngx_ams_log_escape(where, sizeof(where), (u_char *) text,
                           ngx_min(ngx_strlen(text), NGX_AMS_STORE_ID_LEN));

        ngx_log_error(NGX_LOG_WARN, acc->log, 0,
                      "ams access: publish of \"%s\" refused: "
                      "streamIdInUse, live on origin \"%s\"",
                      escaped, where);
        return NGX_AMS_REFUSED_IN_USE;
    }

    ngx_log_error(NGX_LOG_ERR, acc->log, 0,
                  "ams access: publish of \"%s\" refused: the stream id "
                  "could not be claimed: %s", escaped, op->error);

    return NGX_AMS_REFUSED_STORE;
}


/* AMS's Token: {tokenId, streamId, expireDate (s), type} */
static ngx_uint_t
ngx_ams_access_token_valid(ngx_ams_access_t *acc, ngx_ams_store_op_t *op)
{
    char         escaped[NGX_AMS_LOG_ESCAPED_SIZE(NGX_AMS_STORE_ID_LEN)];
    json_t      *stream, *type, *expire;
    ngx_uint_t   publish;
    const char  *why;

    publish = acc->publish;

    if (op->rc != NGX_OK) {
        why = op->rc == NGX_DECLINED ? "unknown or used token" : "store error";
        goto invalid;
    }

    stream = json_object_get(op->doc, "streamId");
    type = json_object_get(op->doc, "type");
    expire = json_object_get(op->doc, "expireDate");

    if (!json_is_string(stream)
        || ngx_strcmp(json_string_value(stream), acc->id) != 0)
    {
        why = "token of another stream";
        goto invalid;
    }

    if (!json_is_string(type)
        || ngx_strcmp(json_string_value(type), publish ? "publish" : "play")
           != 0)
    {
        why = "token of the other type";
        goto invalid;
    }

    if (!json_is_integer(expire)
        || json_integer_value(expire) <= (json_int_t) ngx_time())
    {
        why = "expired token";
        goto invalid;
    }

    return 1;

invalid:

    ngx_log_error(NGX_LOG_WARN, op->log, 0,
                  "ams access: %s of \"%s\" refused: %s",
                  publish ? "publish" : "play",
                  ngx_ams_log_escape(escaped, sizeof(escaped),
                                     (u_char *) acc->id,
                                     ngx_strlen(acc->id)),
                  why);
    return 0;
}


static ngx_int_t
ngx_ams_access_jwt(ngx_ams_app_conf_t *app, ngx_str_t *id,
    ngx_uint_t publish, ngx_str_t *token, ngx_log_t *log)
{
    char         escaped[NGX_AMS_LOG_ESCAPED_SIZE(NGX_AMS_NAME_LEN)];
    json_t      *claims, *stream, *type;
    ngx_str_t   *key;
    const char  *error;

    key = &app->access.jwt_stream_secret_key;

    if (ngx_ams_jwt_verify(token->data, token->len, key->data, key->len,
                           ngx_time(), &claims, &error)
        != 0)
    {
        goto refused;
    }

    stream = json_object_get(claims, "streamId");
    type = json_object_get(claims, "type");

    if (json_object_get(claims, "exp") == NULL) {
        /* a stream token without exp would admit forever */
        error = "no exp claim";

    } else if (!json_is_string(stream)
               || ngx_strlen(json_string_value(stream)) != id->len
               || ngx_strncmp(json_string_value(stream), id->data, id->len)
                  != 0)
    {
        error = "token of another stream";

    } else if (!json_is_string(type)
               || ngx_strcmp(json_string_value(type),
                             publish ? "publish" : "play") != 0)
    {
        error = "token of the other type";

    } else {
        json_decref(claims);
        return NGX_OK;
    }

    json_decref(claims);

refused:

    ngx_log_error(NGX_LOG_WARN, log, 0,
                  "ams access: %s of \"%s\" refused: JWT: %s",
                  publish ? "publish" : "play",
                  ngx_ams_log_escape(escaped, sizeof(escaped), id->data,
                                     id->len),
                  error);
    return NGX_DECLINED;
}


void
ngx_ams_access_token_arg(u_char *args, size_t len, ngx_str_t *token)
{
    u_char  *p, *last, *end;

    token->len = 0;
    token->data = NULL;

    last = args + len;

    for (p = args; p < last; p = end + 1) {
        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        if (end - p > 6 && ngx_strncmp(p, "token=", 6) == 0) {
            token->data = p + 6;
            token->len = end - p - 6;
            return;
        }
    }
}
