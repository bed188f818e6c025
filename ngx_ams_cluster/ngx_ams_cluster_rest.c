
/*
 * Copyright (C) nginx-ams authors
 *
 * The cluster's server-level REST endpoints, Ant Media Server's paths and
 * shapes (its ClusterRestServiceV2 and cluster-mode-status):
 *
 *   GET    /rest/v2/cluster/node-count             {"number":N}
 *   GET    /rest/v2/cluster/nodes/{offset}/{size}  [ClusterNode, ...]
 *   DELETE /rest/v2/cluster/node/{id}              {"success":bool}
 *   GET    /rest/v2/cluster-mode-status            {"success":bool}
 *
 * The answers read the store, not the snapshot: a user who just deleted
 * a node, or whose node just stopped, sees it at once.  The store's read
 * cache (ngx_ams_store_cache.c) keeps a dashboard's polling cheap.  A
 * node's "status" (ALIVE or DEAD) is computed here as the records are
 * read, never taken from the record.  Without "node_role" the node is
 * standalone: not in cluster mode, no nodes.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_api.h"
#include "ngx_ams_cluster.h"


/* AMS's lists cap their size at this */
#define NGX_AMS_CLUSTER_REST_MAX   250


static ngx_int_t ngx_ams_cluster_rest(ngx_ams_rest_t *rest);
static void ngx_ams_cluster_rest_count(ngx_ams_rest_t *rest);
static void ngx_ams_cluster_rest_nodes(ngx_ams_rest_t *rest);
static void ngx_ams_cluster_rest_delete(ngx_ams_rest_t *rest);
static void ngx_ams_cluster_rest_counted(ngx_ams_store_op_t *op);
static void ngx_ams_cluster_rest_listed(ngx_ams_store_op_t *op);
static void ngx_ams_cluster_rest_deleted(ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_cluster_rest_number(ngx_str_t *s);
static ngx_uint_t ngx_ams_cluster_rest_is(ngx_str_t *s, const char *text);


ngx_int_t
ngx_ams_cluster_rest_init(void)
{
    return ngx_ams_rest_route_add(ngx_ams_cluster_rest);
}


static ngx_int_t
ngx_ams_cluster_rest(ngx_ams_rest_t *rest)
{
    ngx_uint_t               method, standalone;
    ngx_str_t               *seg;
    ngx_ams_cluster_conf_t  *ccf;

    seg = rest->segment;

    if (rest->app || rest->segments == 0) {
        return NGX_DECLINED;
    }

    if (!(rest->segments == 1
          && ngx_ams_cluster_rest_is(&seg[0], "cluster-mode-status"))
        && !(rest->segments >= 2
             && ngx_ams_cluster_rest_is(&seg[0], "cluster")))
    {
        return NGX_DECLINED;
    }

    ccf = ngx_ams_cluster_conf((ngx_cycle_t *) ngx_cycle);
    standalone = (ccf == NULL || !ccf->enabled);
    method = rest->request->method;

    if (rest->segments == 1) {
        if (!(method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            goto not_allowed;
        }

        /* AMS: a Result whose "success" says the server is in cluster
         * mode */
        ngx_ams_rest_json(rest, NGX_HTTP_OK,
                          json_pack("{s:b, s:s}", "success", !standalone,
                                    "message", standalone ? "standalone"
                                                          : "cluster"));
        return NGX_OK;
    }

    if (rest->segments == 2 && ngx_ams_cluster_rest_is(&seg[1], "node-count"))
    {
        if (!(method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            goto not_allowed;
        }

        if (standalone) {
            ngx_ams_rest_json(rest, NGX_HTTP_OK,
                              json_pack("{s:i}", "number", 0));
            return NGX_OK;
        }

        ngx_ams_cluster_rest_count(rest);
        return NGX_OK;
    }

    if (rest->segments == 4 && ngx_ams_cluster_rest_is(&seg[1], "nodes")) {
        if (!(method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            goto not_allowed;
        }

        if (standalone) {
            ngx_ams_rest_json(rest, NGX_HTTP_OK, json_array());
            return NGX_OK;
        }

        ngx_ams_cluster_rest_nodes(rest);
        return NGX_OK;
    }

    if (rest->segments == 3 && ngx_ams_cluster_rest_is(&seg[1], "node")) {
        if (!(method & NGX_HTTP_DELETE)) {
            goto not_allowed;
        }

        if (standalone) {
            ngx_ams_rest_json(rest, NGX_HTTP_OK,
                              json_pack("{s:b, s:s}", "success", 0,
                                        "message", "not in cluster mode"));
            return NGX_OK;
        }

        ngx_ams_cluster_rest_delete(rest);
        return NGX_OK;
    }

    return NGX_DECLINED;   /* the API's own "no such endpoint" */

not_allowed:

    ngx_ams_rest_error(rest, NGX_HTTP_NOT_ALLOWED,
                       "method %V not allowed here",
                       &rest->request->method_name);
    return NGX_OK;
}


static void
ngx_ams_cluster_rest_count(ngx_ams_rest_t *rest)
{
    ngx_str_t            app;
    ngx_ams_store_op_t  *op;

    ngx_str_set(&app, "");

    op = ngx_ams_store_op(NGX_AMS_STORE_COUNT, NGX_AMS_COLL_NODE, &app, NULL,
                          rest->request->connection->log);
    if (op == NULL) {
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "out of memory");
        return;
    }

    ngx_ams_rest_post(rest, op, ngx_ams_cluster_rest_counted);
}


static void
ngx_ams_cluster_rest_counted(ngx_ams_store_op_t *op)
{
    ngx_ams_rest_t  *rest = op->data;

    if (op->rc != NGX_OK) {
        ngx_ams_rest_error(rest, NGX_HTTP_SERVICE_UNAVAILABLE,
                           "store error");

    } else {
        ngx_ams_rest_json(rest, NGX_HTTP_OK,
                          json_pack("{s:I}", "number",
                                    (json_int_t) op->count));
    }

    ngx_ams_store_free(op);
}


/* nodes/{offset}/{size}: in registration order, as AMS lists them */
static void
ngx_ams_cluster_rest_nodes(ngx_ams_rest_t *rest)
{
    ngx_int_t            offset, size;
    ngx_str_t            app;
    ngx_ams_store_op_t  *op;

    offset = ngx_ams_cluster_rest_number(&rest->segment[2]);
    size = ngx_ams_cluster_rest_number(&rest->segment[3]);

    if (offset == NGX_ERROR || size == NGX_ERROR) {
        ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                           "offset and size must be numbers");
        return;
    }

    if (size == 0) {
        ngx_ams_rest_json(rest, NGX_HTTP_OK, json_array());
        return;
    }

    ngx_str_set(&app, "");

    op = ngx_ams_store_op(NGX_AMS_STORE_LIST, NGX_AMS_COLL_NODE, &app, NULL,
                          rest->request->connection->log);
    if (op == NULL) {
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "out of memory");
        return;
    }

    op->offset = offset;
    op->size = ngx_min((ngx_uint_t) size, NGX_AMS_CLUSTER_REST_MAX);

    ngx_ams_rest_post(rest, op, ngx_ams_cluster_rest_listed);
}


static void
ngx_ams_cluster_rest_listed(ngx_ams_store_op_t *op)
{
    json_t                  *arr, *doc;
    size_t                   i;
    int64_t                  now;
    json_error_t             jerr;
    ngx_ams_rest_t          *rest = op->data;
    ngx_ams_cluster_conf_t  *ccf;

    if (op->rc != NGX_OK) {
        ngx_ams_rest_error(rest, NGX_HTTP_SERVICE_UNAVAILABLE,
                           "store error");
        ngx_ams_store_free(op);
        return;
    }

    arr = json_loadb(op->text ? op->text : "[]",
                     op->text ? op->text_len : 2, 0, &jerr);

    ngx_ams_store_free(op);

    if (!json_is_array(arr)) {
        json_decref(arr);
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "the store's list is not a JSON array");
        return;
    }

    ccf = ngx_ams_cluster_conf((ngx_cycle_t *) ngx_cycle);
    now = ngx_ams_store_now_ms();

    json_array_foreach(arr, i, doc) {
        if (json_is_object(doc)) {
            json_object_set_new(doc, "status",
                json_string(ngx_ams_cluster_node_alive(doc, now,
                                                       ccf->update_period)
                            ? "ALIVE" : "DEAD"));
        }
    }

    ngx_ams_rest_json(rest, NGX_HTTP_OK, arr);
}


/* AMS deletes whatever it is asked to: an ALIVE node writes its record
 * again at its next heartbeat */
static void
ngx_ams_cluster_rest_delete(ngx_ams_rest_t *rest)
{
    ngx_str_t            app, id;
    ngx_ams_store_op_t  *op;
    u_char               buf[NGX_AMS_CLUSTER_ID_LEN], *dst, *src;

    if (rest->segment[2].len >= NGX_AMS_CLUSTER_ID_LEN) {
        ngx_ams_rest_json(rest, NGX_HTTP_OK,
                          json_pack("{s:b, s:s}", "success", 0,
                                    "message", "no such node"));
        return;
    }

    /* "%3A" in an IPv6 address */
    dst = buf;
    src = rest->segment[2].data;
    ngx_unescape_uri(&dst, &src, rest->segment[2].len, NGX_UNESCAPE_URI);

    id.data = buf;
    id.len = dst - buf;

    ngx_str_set(&app, "");

    op = ngx_ams_store_op(NGX_AMS_STORE_DELETE, NGX_AMS_COLL_NODE, &app, &id,
                          rest->request->connection->log);
    if (op == NULL) {
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "out of memory");
        return;
    }

    ngx_ams_rest_post(rest, op, ngx_ams_cluster_rest_deleted);
}


static void
ngx_ams_cluster_rest_deleted(ngx_ams_store_op_t *op)
{
    ngx_ams_rest_t  *rest = op->data;

    if (op->rc == NGX_ERROR) {
        ngx_ams_rest_error(rest, NGX_HTTP_SERVICE_UNAVAILABLE,
                           "store error");

    } else if (op->rc == NGX_OK) {
        ngx_log_error(NGX_LOG_NOTICE, rest->request->connection->log, 0,
                      "ams cluster: node record \"%s\" deleted by the REST "
                      "API", op->id);
        ngx_ams_rest_success(rest, NULL);

    } else {
        ngx_ams_rest_json(rest, NGX_HTTP_OK,
                          json_pack("{s:b, s:s}", "success", 0,
                                    "message", "no such node"));
    }

    ngx_ams_store_free(op);
}


/* a non-negative decimal; NGX_ERROR otherwise */
static ngx_int_t
ngx_ams_cluster_rest_number(ngx_str_t *s)
{
    if (s->len == 0 || s->len > 9) {
        return NGX_ERROR;
    }

    return ngx_atoi(s->data, s->len);
}


static ngx_uint_t
ngx_ams_cluster_rest_is(ngx_str_t *s, const char *text)
{
    size_t  len;

    len = ngx_strlen(text);

    return s->len == len && ngx_strncmp(s->data, text, len) == 0;
}
