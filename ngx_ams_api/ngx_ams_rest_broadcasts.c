
/*
 * Copyright (C) nginx-ams authors
 *
 * /{App}/rest/v2/broadcasts/...: Ant Media Server's BroadcastRestService
 * over the store.  Each call validates what it was given, posts one store
 * operation and answers when it completes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <openssl/rand.h>

#include "ngx_ams_api.h"
#include "ngx_ams_store.h"
#include "ngx_ams_broadcast.h"
#include "ngx_ams_viewers.h"
#include "ngx_ams_viewer_limits.h"
#include "ngx_ams_jwt.h"
#include "ngx_ams_stream_name.h"


#define NGX_AMS_REST_LIST_MAX    250     /* AMS caps list sizes here */
#define NGX_AMS_TOKEN_LEN        32


static ngx_uint_t ngx_ams_rest_is(ngx_str_t *s, const char *name);
static ngx_uint_t ngx_ams_rest_method(ngx_ams_rest_t *rest,
    ngx_uint_t allowed);
static void ngx_ams_rest_create(ngx_ams_rest_t *rest);
static void ngx_ams_rest_created(ngx_ams_store_op_t *op);
static void ngx_ams_rest_get(ngx_ams_rest_t *rest, ngx_str_t *id,
    ngx_uint_t statistics);
static void ngx_ams_rest_got(ngx_ams_store_op_t *op);
static void ngx_ams_rest_update(ngx_ams_rest_t *rest, ngx_str_t *id);
static void ngx_ams_rest_delete(ngx_ams_rest_t *rest, ngx_str_t *id);
static void ngx_ams_rest_changed(ngx_ams_store_op_t *op);
static void ngx_ams_rest_list(ngx_ams_rest_t *rest);
static void ngx_ams_rest_listed(ngx_ams_store_op_t *op);
static void ngx_ams_rest_listed_nodes(ngx_ams_rest_t *rest,
    ngx_ams_store_op_t *op);
static void ngx_ams_rest_count(ngx_ams_rest_t *rest, ngx_uint_t live);
static void ngx_ams_rest_counted(ngx_ams_store_op_t *op);
static void ngx_ams_rest_token(ngx_ams_rest_t *rest, ngx_str_t *id,
    ngx_uint_t jwt);
static void ngx_ams_rest_token_made(ngx_ams_store_op_t *op);
static void ngx_ams_rest_data(ngx_ams_rest_t *rest, ngx_str_t *id);
static ngx_ams_store_op_t *ngx_ams_rest_op(ngx_ams_rest_t *rest,
    ngx_uint_t type, const char *collection, ngx_str_t *id);
static void ngx_ams_rest_done(ngx_ams_store_op_t *op);
static void ngx_ams_rest_cleanup(void *data);
static void ngx_ams_rest_failed(ngx_ams_rest_t *rest,
    ngx_ams_store_op_t *op);
static void ngx_ams_rest_random_id(char *out, size_t len);


void
ngx_ams_rest_broadcasts(ngx_ams_rest_t *rest)
{
    ngx_str_t  *seg = rest->segment;

    if (ngx_ams_rest_is(&seg[1], "create") && rest->segments == 2) {
        if (ngx_ams_rest_method(rest, NGX_HTTP_POST)) {
            ngx_ams_rest_create(rest);
        }
        return;
    }

    if (ngx_ams_rest_is(&seg[1], "list") && rest->segments == 4) {
        if (ngx_ams_rest_method(rest, NGX_HTTP_GET)) {
            ngx_ams_rest_list(rest);
        }
        return;
    }

    if (ngx_ams_rest_is(&seg[1], "count") && rest->segments == 2) {
        if (ngx_ams_rest_method(rest, NGX_HTTP_GET)) {
            ngx_ams_rest_count(rest, 0);
        }
        return;
    }

    if (ngx_ams_rest_is(&seg[1], "active-live-stream-count")
        && rest->segments == 2)
    {
        if (ngx_ams_rest_method(rest, NGX_HTTP_GET)) {
            ngx_ams_rest_count(rest, 1);
        }
        return;
    }

    if (!ngx_ams_broadcast_valid_id(seg[1].data, seg[1].len)) {
        ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                           "invalid stream id: letters, digits, '_', '-' "
                           "and '.' only, at most %d",
                           NGX_AMS_STORE_ID_LEN - 1);
        return;
    }

    if (rest->segments == 2) {
        if (!ngx_ams_rest_method(rest,
                                 NGX_HTTP_GET|NGX_HTTP_PUT|NGX_HTTP_DELETE))
        {
            return;
        }

        switch (rest->request->method) {
        case NGX_HTTP_GET:
            ngx_ams_rest_get(rest, &seg[1], 0);
            return;
        case NGX_HTTP_PUT:
            ngx_ams_rest_update(rest, &seg[1]);
            return;
        default:
            ngx_ams_rest_delete(rest, &seg[1]);
            return;
        }
    }

    if (rest->segments == 3 && ngx_ams_rest_is(&seg[2], "data")) {
        if (ngx_ams_rest_method(rest, NGX_HTTP_POST)) {
            ngx_ams_rest_data(rest, &seg[1]);
        }
        return;
    }

    if (rest->segments == 3) {
        if (!ngx_ams_rest_method(rest, NGX_HTTP_GET)) {
            return;
        }

        if (ngx_ams_rest_is(&seg[2], "broadcast-statistics")) {
            ngx_ams_rest_get(rest, &seg[1], 1);
            return;
        }

        if (ngx_ams_rest_is(&seg[2], "token")) {
            ngx_ams_rest_token(rest, &seg[1], 0);
            return;
        }

        if (ngx_ams_rest_is(&seg[2], "jwt-token")) {
            ngx_ams_rest_token(rest, &seg[1], 1);
            return;
        }
    }

    ngx_ams_rest_error(rest, NGX_HTTP_NOT_FOUND, "no such endpoint: %V",
                       &rest->request->uri);
}


static ngx_uint_t
ngx_ams_rest_is(ngx_str_t *s, const char *name)
{
    size_t  len = ngx_strlen(name);

    return s->len == len && ngx_strncmp(s->data, name, len) == 0;
}


static ngx_uint_t
ngx_ams_rest_method(ngx_ams_rest_t *rest, ngx_uint_t allowed)
{
    if (rest->request->method & allowed) {
        return 1;
    }

    ngx_ams_rest_error(rest, NGX_HTTP_NOT_ALLOWED, "method %V not allowed "
                       "here", &rest->request->method_name);
    return 0;
}


/* a store operation for this call, or NULL and the call answered */
static ngx_ams_store_op_t *
ngx_ams_rest_op(ngx_ams_rest_t *rest, ngx_uint_t type, const char *collection,
    ngx_str_t *id)
{
    ngx_ams_store_op_t  *op;

    op = ngx_ams_store_op(type, collection, &rest->app->name, id,
                          rest->request->connection->log);
    if (op == NULL) {
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "out of memory");
    }

    return op;
}


/* what did not go: no such record (404) or the store failed (500) */
static void
ngx_ams_rest_failed(ngx_ams_rest_t *rest, ngx_ams_store_op_t *op)
{
    if (op->rc == NGX_DECLINED) {
        ngx_ams_rest_error(rest, NGX_HTTP_NOT_FOUND,
                           "broadcast \"%s\" not found", op->id);

    } else if (op->refused || op->unavailable) {
        ngx_ams_rest_error(rest, NGX_HTTP_SERVICE_UNAVAILABLE, "%s",
                           op->error);

    } else {
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "store error");
    }

    ngx_ams_store_free(op);
}


/*
 * The request may be freed before the operation completes: nginx closes
 * every connection at worker_shutdown_timeout (and the bus closes an old
 * worker's), and a client may go.  A cleanup on the request then cancels
 * the operation: its completion only frees it.
 */
void
ngx_ams_rest_post(ngx_ams_rest_t *rest, ngx_ams_store_op_t *op,
    ngx_ams_store_handler_pt handler)
{
    ngx_http_cleanup_t  *cln;

    if (op->store == NULL) {
        ngx_ams_store_free(op);
        ngx_ams_rest_error(rest, NGX_HTTP_SERVICE_UNAVAILABLE,
                           "no \"database\" configured");
        return;
    }

    cln = ngx_http_cleanup_add(rest->request, 0);
    if (cln == NULL) {
        ngx_ams_store_free(op);
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "out of memory");
        return;
    }

    cln->handler = ngx_ams_rest_cleanup;
    cln->data = rest;

    op->handler = ngx_ams_rest_done;
    op->data = rest;

    if (ngx_ams_store_post(op) != NGX_OK) {
        ngx_ams_store_free(op);
        ngx_ams_rest_error(rest, NGX_HTTP_SERVICE_UNAVAILABLE,
                           "the store is busy");
        return;
    }

    rest->op = op;
    rest->handler = handler;
}


static void
ngx_ams_rest_done(ngx_ams_store_op_t *op)
{
    ngx_ams_rest_t  *rest = op->data;

    rest->op = NULL;
    rest->handler(op);
}


/* the request is being freed: nothing of it may be touched later */
static void
ngx_ams_rest_cleanup(void *data)
{
    ngx_ams_rest_t  *rest = data;

    ngx_ams_store_op_t  *op;

    if (rest->body) {
        json_decref(rest->body);
        rest->body = NULL;
    }

    if (rest->op == NULL) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, rest->request->connection->log, 0,
                  "ams rest: the request went before the store answered");

    /* no handler: ngx_ams_store_complete() frees the chain; its log was
     * the connection's, freed with it (read only in this thread) */
    for (op = rest->op; op; op = op->next) {
        op->log = ngx_cycle->log;
    }

    rest->op->task.event.log = ngx_cycle->log;
    rest->op->handler = NULL;
    rest->op->data = NULL;
    rest->op = NULL;
}


/* POST broadcasts/create: the new record, status "created" */
static void
ngx_ams_rest_create(ngx_ams_rest_t *rest)
{
    json_t              *fields, *id, *doc;
    ngx_str_t            sid;
    ngx_ams_store_op_t  *op;
    char                 error[256], generated[16];
    const char          *why;

    if (rest->body == NULL) {
        rest->body = json_object();
    }

    if (ngx_ams_broadcast_fields(rest->body, &fields, error, sizeof(error))
        != 0)
    {
        ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST, "%s", error);
        return;
    }

    id = json_object_get(rest->body, "streamId");

    if (json_is_string(id) && json_string_length(id) > 0) {
        sid.data = (u_char *) json_string_value(id);
        sid.len = json_string_length(id);

        if (!ngx_ams_broadcast_valid_id(sid.data, sid.len)) {
            json_decref(fields);
            ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                               "invalid stream id: letters, digits, '_', "
                               "'-' and '.' only, at most %d",
                               NGX_AMS_STORE_ID_LEN - 1);
            return;
        }

        /* a record no publisher could ever take is refused now */
        if (!ngx_ams_stream_name_valid(sid.data, sid.len, 0, &why)) {
            json_decref(fields);
            ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                               "invalid stream id: %s", why);
            return;
        }

    } else {
        ngx_ams_rest_random_id(generated, 15);
        sid.data = (u_char *) generated;
        sid.len = 15;
    }

    op = ngx_ams_rest_op(rest, NGX_AMS_STORE_INSERT, NGX_AMS_COLL_BROADCAST, &sid);
    if (op == NULL) {
        json_decref(fields);
        return;
    }

    doc = ngx_ams_broadcast_new(op->id, op->now_ms);
    if (doc == NULL) {
        json_decref(fields);
        ngx_ams_store_free(op);
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "out of memory");
        return;
    }

    json_object_update(doc, fields);
    json_decref(fields);

    op->set = doc;

    ngx_ams_rest_post(rest, op, ngx_ams_rest_created);
}


static void
ngx_ams_rest_created(ngx_ams_store_op_t *op)
{
    ngx_ams_rest_t  *rest = op->data;

    if (op->rc == NGX_OK) {
        ngx_ams_rest_json(rest, NGX_HTTP_OK, json_incref(op->set));

    } else if (op->rc == NGX_BUSY) {
        ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                           "stream id \"%s\" is already being used", op->id);

    } else {
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "store error");
    }

    ngx_ams_store_free(op);
}


/* GET broadcasts/{id} and broadcasts/{id}/broadcast-statistics */
static void
ngx_ams_rest_get(ngx_ams_rest_t *rest, ngx_str_t *id, ngx_uint_t statistics)
{
    ngx_ams_store_op_t  *op;

    op = ngx_ams_rest_op(rest, NGX_AMS_STORE_GET, NGX_AMS_COLL_BROADCAST, id);
    if (op == NULL) {
        return;
    }

    rest->statistics = statistics;

    ngx_ams_rest_post(rest, op, ngx_ams_rest_got);
}


static void
ngx_ams_rest_got(ngx_ams_store_op_t *op)
{
    ngx_ams_rest_t *rest = op->data;

    json_t              *doc;
    ngx_str_t            app, id;
    ngx_ams_stream_t    *st;

    if (op->rc != NGX_OK) {
        ngx_ams_rest_failed(rest, op);
        return;
    }

    /* a stream live on this node: counts as of now, not of the last
     * refresh */
    app = rest->app->name;
    id.data = (u_char *) op->id;
    id.len = ngx_strlen(op->id);

    st = ngx_ams_bus_find(&app, &id);

    /* (a relay's counts are its entry in nodeViewers, added below) */
    if (st && st->source_kind == NGX_AMS_SOURCE_PUBLISHER) {
        json_object_set_new(op->doc, "rtmpViewerCount",
                            json_integer(st->rtmp_viewers));
        json_object_set_new(op->doc, "webRTCViewerCount",
                            json_integer(ngx_ams_webrtc_viewers(st)));
        json_object_set_new(op->doc, "hlsViewerCount", json_integer(
            ngx_ams_broadcast_viewers(st, rest->app, NGX_AMS_VIEWER_HLS)));
        json_object_set_new(op->doc, "dashViewerCount", json_integer(
            ngx_ams_broadcast_viewers(st, rest->app, NGX_AMS_VIEWER_DASH)));
    }

    ngx_ams_broadcast_add_node_viewers(op->doc,
                                       op->now_ms - (int64_t) op->stale_ms);

    if (rest->statistics) {
        doc = json_pack("{s:O?, s:O?, s:O?, s:O?}",
                        "totalRTMPWatchersCount",
                        json_object_get(op->doc, "rtmpViewerCount"),
                        "totalHLSWatchersCount",
                        json_object_get(op->doc, "hlsViewerCount"),
                        "totalWebRTCWatchersCount",
                        json_object_get(op->doc, "webRTCViewerCount"),
                        "totalDASHWatchersCount",
                        json_object_get(op->doc, "dashViewerCount"));

    } else {
        doc = json_incref(op->doc);
    }

    ngx_ams_store_free(op);

    ngx_ams_rest_json(rest, NGX_HTTP_OK, doc);
}


/* PUT broadcasts/{id}: the writable fields given */
static void
ngx_ams_rest_update(ngx_ams_rest_t *rest, ngx_str_t *id)
{
    json_t              *fields;
    ngx_ams_store_op_t  *op;
    char                 error[256];

    if (rest->body == NULL) {
        ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                           "a Broadcast object is needed in the body");
        return;
    }

    if (ngx_ams_broadcast_fields(rest->body, &fields, error, sizeof(error))
        != 0)
    {
        ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST, "%s", error);
        return;
    }

    op = ngx_ams_rest_op(rest, NGX_AMS_STORE_UPDATE, NGX_AMS_COLL_BROADCAST, id);
    if (op == NULL) {
        json_decref(fields);
        return;
    }

    op->set = fields;

    ngx_ams_rest_post(rest, op, ngx_ams_rest_changed);
}


/* DELETE broadcasts/{id}: a live stream is stopped too, as in AMS */
static void
ngx_ams_rest_delete(ngx_ams_rest_t *rest, ngx_str_t *id)
{
    ngx_ams_store_op_t  *op;

    op = ngx_ams_rest_op(rest, NGX_AMS_STORE_DELETE, NGX_AMS_COLL_BROADCAST, id);
    if (op == NULL) {
        return;
    }

    rest->stopped_live = (ngx_ams_bus_request(&rest->app->name, id,
                                              NGX_AMS_REQUEST_STOP)
                          == NGX_OK);

    ngx_ams_rest_post(rest, op, ngx_ams_rest_changed);
}


static void
ngx_ams_rest_changed(ngx_ams_store_op_t *op)
{
    ngx_ams_rest_t *rest = op->data;

    ngx_str_t          id;
    ngx_ams_stream_t  *st;

    /* a zombi's publisher, stopped above, may delete its own record
     * before this DELETE reaches the store: the broadcast went all the
     * same */
    if (op->rc == NGX_DECLINED && op->type == NGX_AMS_STORE_DELETE
        && rest->stopped_live)
    {
        op->rc = NGX_OK;
    }

    if (op->rc != NGX_OK) {
        ngx_ams_rest_failed(rest, op);
        return;
    }

    /* new viewer limits of a stream live here hold from now on (other
     * nodes read them from the record: ngx_ams_viewer_limits.h) */
    if (op->type == NGX_AMS_STORE_UPDATE) {
        id.data = (u_char *) op->id;
        id.len = ngx_strlen(op->id);

        st = ngx_ams_bus_find(&rest->app->name, &id);
        if (st) {
            ngx_ams_viewer_limits_apply(st, op->set, 1);
        }
    }

    ngx_ams_rest_success(rest, op->id);
    ngx_ams_store_free(op);
}


/* GET broadcasts/list/{offset}/{size}?sort_by=&order_by=&search= */
static void
ngx_ams_rest_list(ngx_ams_rest_t *rest)
{
    ngx_int_t            offset, size;
    ngx_str_t            sort_by, order_by, search;
    ngx_ams_store_op_t  *op;

    offset = ngx_atoi(rest->segment[2].data, rest->segment[2].len);
    size = ngx_atoi(rest->segment[3].data, rest->segment[3].len);

    if (offset == NGX_ERROR || size == NGX_ERROR) {
        ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                           "offset and size must be non-negative integers");
        return;
    }

    op = ngx_ams_rest_op(rest, NGX_AMS_STORE_LIST, NGX_AMS_COLL_BROADCAST, NULL);
    if (op == NULL) {
        return;
    }

    op->offset = offset;
    op->size = ngx_min((ngx_uint_t) size, NGX_AMS_REST_LIST_MAX);

    if (ngx_ams_rest_arg(rest, "sort_by", &sort_by) == NGX_OK
        && sort_by.len)
    {
        if (ngx_ams_rest_is(&sort_by, "name")) {
            op->sort_by = "name";

        } else if (ngx_ams_rest_is(&sort_by, "date")) {
            op->sort_by = "date";

        } else if (ngx_ams_rest_is(&sort_by, "status")) {
            op->sort_by = "status";

        } else {
            ngx_ams_store_free(op);
            ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                               "sort_by must be name, date or status");
            return;
        }
    }

    if (ngx_ams_rest_arg(rest, "order_by", &order_by) == NGX_OK
        && order_by.len)
    {
        if (ngx_ams_rest_is(&order_by, "desc")) {
            op->descending = 1;

        } else if (!ngx_ams_rest_is(&order_by, "asc")) {
            ngx_ams_store_free(op);
            ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                               "order_by must be asc or desc");
            return;
        }
    }

    if (ngx_ams_rest_arg(rest, "search", &search) == NGX_OK && search.len) {
        if (search.len >= sizeof(op->search)) {
            ngx_ams_store_free(op);
            ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                               "search is longer than %d characters",
                               (int) sizeof(op->search) - 1);
            return;
        }

        ngx_memcpy(op->search, search.data, search.len + 1);
    }

    ngx_ams_rest_post(rest, op, ngx_ams_rest_listed);
}


static void
ngx_ams_rest_listed(ngx_ams_store_op_t *op)
{
    ngx_ams_rest_t  *rest = op->data;

    if (op->rc != NGX_OK) {
        ngx_ams_rest_failed(rest, op);
        return;
    }

    if (ngx_strnstr((u_char *) op->text, NGX_AMS_BROADCAST_NODE_VIEWERS,
                    op->text_len))
    {
        ngx_ams_rest_listed_nodes(rest, op);
        return;
    }

    ngx_ams_rest_text(rest, NGX_HTTP_OK, op->text, op->text_len);
    ngx_ams_store_free(op);
}


/* a list with other nodes' viewers in it: added to each record's totals */
static void
ngx_ams_rest_listed_nodes(ngx_ams_rest_t *rest, ngx_ams_store_op_t *op)
{
    size_t         i;
    json_t        *list;
    json_error_t   jerr;

    list = json_loadb(op->text, op->text_len, 0, &jerr);

    if (!json_is_array(list)) {
        json_decref(list);
        ngx_ams_store_free(op);
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "stored records: %s", jerr.text);
        return;
    }

    for (i = 0; i < json_array_size(list); i++) {
        ngx_ams_broadcast_add_node_viewers(json_array_get(list, i),
                                           op->now_ms
                                           - (int64_t) op->stale_ms);
    }

    ngx_ams_store_free(op);

    ngx_ams_rest_json(rest, NGX_HTTP_OK, list);
}


/* GET broadcasts/count, broadcasts/active-live-stream-count */
static void
ngx_ams_rest_count(ngx_ams_rest_t *rest, ngx_uint_t live)
{
    ngx_ams_store_op_t  *op;

    op = ngx_ams_rest_op(rest, NGX_AMS_STORE_COUNT, NGX_AMS_COLL_BROADCAST, NULL);
    if (op == NULL) {
        return;
    }

    op->live_only = live;

    ngx_ams_rest_post(rest, op, ngx_ams_rest_counted);
}


static void
ngx_ams_rest_counted(ngx_ams_store_op_t *op)
{
    ngx_ams_rest_t  *rest = op->data;

    if (op->rc != NGX_OK) {
        ngx_ams_rest_failed(rest, op);
        return;
    }

    ngx_ams_rest_json(rest, NGX_HTTP_OK,
                      json_pack("{s:I}", "number", (json_int_t) op->count));
    ngx_ams_store_free(op);
}


/*
 * GET broadcasts/{id}/token?expireDate=S&type=publish|play: a one-time
 * token kept in the store; .../jwt-token: a JWT signed with the
 * application's jwt_stream_secret_key, kept nowhere.
 */
static void
ngx_ams_rest_token(ngx_ams_rest_t *rest, ngx_str_t *id, ngx_uint_t jwt)
{
    char                *signed_jwt;
    json_t              *doc, *claims;
    ngx_int_t            expire;
    ngx_str_t            arg, type, tid, *key;
    ngx_ams_store_op_t  *op;
    char                 token[NGX_AMS_TOKEN_LEN + 1];

    if (ngx_ams_rest_arg(rest, "expireDate", &arg) != NGX_OK
        || (expire = ngx_atoi(arg.data, arg.len)) == NGX_ERROR
        || expire <= ngx_time())
    {
        ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                           "expireDate must be a time in the future, in "
                           "seconds since 1970");
        return;
    }

    if (ngx_ams_rest_arg(rest, "type", &type) != NGX_OK) {
        ngx_str_set(&type, "play");
    }

    if (!ngx_ams_rest_is(&type, "play") && !ngx_ams_rest_is(&type, "publish"))
    {
        ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                           "type must be publish or play");
        return;
    }

    if (jwt) {
        key = &rest->app->access.jwt_stream_secret_key;

        if (key->len == 0) {
            ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                               "jwt_stream_secret_key is not set for %V",
                               &rest->app->name);
            return;
        }

        claims = json_pack("{s:s%, s:s%, s:I}", "streamId", id->data,
                           id->len, "type", type.data, type.len, "exp",
                           (json_int_t) expire);
        signed_jwt = claims
                     ? ngx_ams_jwt_sign(claims, key->data, key->len)
                     : NULL;
        if (claims) {
            json_decref(claims);
        }

        if (signed_jwt == NULL) {
            ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                               "cannot sign");
            return;
        }

        doc = json_pack("{s:s, s:s%, s:I, s:s%, s:s}", "tokenId", signed_jwt,
                        "streamId", id->data, id->len,
                        "expireDate", (json_int_t) expire,
                        "type", type.data, type.len, "roomId", "");
        free(signed_jwt);

        ngx_ams_rest_json(rest, NGX_HTTP_OK, doc);
        return;
    }

    ngx_ams_rest_random_id(token, NGX_AMS_TOKEN_LEN);
    tid.data = (u_char *) token;
    tid.len = NGX_AMS_TOKEN_LEN;

    op = ngx_ams_rest_op(rest, NGX_AMS_STORE_INSERT, NGX_AMS_COLL_TOKEN, &tid);
    if (op == NULL) {
        return;
    }

    op->set = json_pack("{s:s, s:s%, s:I, s:s%, s:s}", "tokenId", token,
                        "streamId", id->data, id->len,
                        "expireDate", (json_int_t) expire,
                        "type", type.data, type.len, "roomId", "");
    if (op->set == NULL) {
        ngx_ams_store_free(op);
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "out of memory");
        return;
    }

    ngx_ams_rest_post(rest, op, ngx_ams_rest_token_made);
}


static void
ngx_ams_rest_token_made(ngx_ams_store_op_t *op)
{
    ngx_ams_rest_t  *rest = op->data;

    if (op->rc != NGX_OK) {
        ngx_ams_rest_failed(rest, op);
        return;
    }

    ngx_ams_rest_json(rest, NGX_HTTP_OK, json_incref(op->set));
    ngx_ams_store_free(op);
}


/*
 * AMS's sendMessage: the body, as text, to every WebRTC data channel of
 * the stream on this node (publisher and players, whichever worker holds
 * them: ngx_ams_webrtc_data.c).  As AMS, 200 either way; success false
 * when no data channel of it is open here.
 */
static void
ngx_ams_rest_data(ngx_ams_rest_t *rest, ngx_str_t *id)
{
    ngx_int_t  rc;

    if (ngx_ams_data_send_handler == NULL) {
        ngx_ams_rest_error(rest, NGX_HTTP_OK, "no data channel: WebRTC is "
                           "not enabled on this server");
        return;
    }

    rc = ngx_ams_data_send_handler(&rest->app->name, id, rest->text.data,
                                   rest->text.len,
                                   rest->request->connection->log);

    switch (rc) {
    case NGX_OK:
        ngx_ams_rest_success(rest, NULL);
        return;
    case NGX_DECLINED:
        ngx_ams_rest_error(rest, NGX_HTTP_OK, "no data channel of stream "
                           "%V on this server", id);
        return;
    default:
        ngx_ams_rest_error(rest, NGX_HTTP_OK, "the message could not be "
                           "sent");
        return;
    }
}


/* letters and digits from the OpenSSL generator: ids and tokens */
static void
ngx_ams_rest_random_id(char *out, size_t len)
{
    size_t          i;
    unsigned char   bytes[64];
    static char     alphabet[] = "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

    if (RAND_bytes(bytes, (int) len) != 1) {
        for (i = 0; i < len; i++) {
            bytes[i] = (unsigned char) ngx_random();
        }
    }

    for (i = 0; i < len; i++) {
        /* 248 = 4 * 62: no bias */
        while (bytes[i] >= 248) {
            if (RAND_bytes(&bytes[i], 1) != 1) {
                bytes[i] = (unsigned char) (ngx_random() % 248);
            }
        }

        out[i] = alphabet[bytes[i] % 62];
    }

    out[len] = '\0';
}
