
/*
 * Copyright (C) nginx-ams authors
 *
 * The REST API's front door: which application, JWT, the body, and the
 * AMS-shaped answers.  Every call reads (or discards) its body through
 * ngx_http_read_client_request_body, whose reference on the request is
 * released by the final response, which may come later from a store task.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_api.h"
#include "ngx_ams_jwt.h"


static ngx_int_t ngx_ams_rest_split(ngx_ams_rest_t *rest, ngx_str_t *uri);
static ngx_int_t ngx_ams_rest_jwt(ngx_ams_rest_t *rest);
static void ngx_ams_rest_body(ngx_http_request_t *r);
static ngx_int_t ngx_ams_rest_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *text, size_t len);
static ngx_int_t ngx_ams_rest_refuse(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body);


static ngx_str_t  ngx_ams_rest_not_rest = ngx_string(
    "{\"success\":false,\"message\":\"no such application or not a REST v2 "
    "path\",\"errorId\":0}");
static ngx_str_t  ngx_ams_rest_too_large = ngx_string(
    "{\"success\":false,\"message\":\"body larger than 16384 bytes\","
    "\"errorId\":0}");


ngx_int_t
ngx_ams_rest_handler(ngx_http_request_t *r)
{
    ngx_int_t        rc;
    ngx_ams_rest_t  *rest;

    rest = ngx_pcalloc(r->pool, sizeof(ngx_ams_rest_t));
    if (rest == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rest->request = r;
    ngx_http_set_ctx(r, rest, ngx_ams_api_module);

    if (ngx_ams_rest_split(rest, &r->uri) != NGX_OK) {
        return ngx_ams_rest_refuse(r, NGX_HTTP_NOT_FOUND,
                                   &ngx_ams_rest_not_rest);
    }

    if (r->headers_in.content_length_n > NGX_AMS_REST_MAX_BODY) {
        return ngx_ams_rest_refuse(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   &ngx_ams_rest_too_large);
    }

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_ams_rest_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* before the body is read: the body is discarded, not parsed */
static ngx_int_t
ngx_ams_rest_refuse(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *body)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_ams_rest_send(r, status, (const char *) body->data, body->len);
}


/* "/{App}/rest/v2/a/b" or "/rest/v2/a/b" */
static ngx_int_t
ngx_ams_rest_split(ngx_ams_rest_t *rest, ngx_str_t *uri)
{
    u_char      *p, *last, *start;
    ngx_str_t    seg[9];
    ngx_uint_t   n, i, base;

    p = uri->data;
    last = uri->data + uri->len;
    n = 0;

    while (p < last) {
        while (p < last && *p == '/') {
            p++;
        }

        if (p == last) {
            break;
        }

        if (n == 9) {
            return NGX_ERROR;
        }

        start = p;
        while (p < last && *p != '/') {
            p++;
        }

        seg[n].data = start;
        seg[n].len = p - start;
        n++;
    }

    if (n >= 2 && seg[0].len == 4 && ngx_strncmp(seg[0].data, "rest", 4) == 0
        && seg[1].len == 2 && ngx_strncmp(seg[1].data, "v2", 2) == 0)
    {
        base = 2;

    } else if (n >= 3 && seg[1].len == 4
               && ngx_strncmp(seg[1].data, "rest", 4) == 0
               && seg[2].len == 2 && ngx_strncmp(seg[2].data, "v2", 2) == 0)
    {
        base = 3;
        rest->app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &seg[0]);

        if (rest->app == NULL) {
            return NGX_ERROR;
        }

    } else {
        return NGX_ERROR;
    }

    if (n - base > 6) {
        return NGX_ERROR;
    }

    for (i = base; i < n; i++) {
        rest->segment[rest->segments++] = seg[i];
    }

    return NGX_OK;
}


static void
ngx_ams_rest_body(ngx_http_request_t *r)
{
    ngx_buf_t       *b;
    ngx_chain_t     *cl;
    json_error_t     jerr;
    ngx_ams_rest_t  *rest;

    rest = ngx_http_get_module_ctx(r, ngx_ams_api_module);

    if (ngx_ams_rest_jwt(rest) != NGX_OK) {
        ngx_ams_rest_error(rest, NGX_HTTP_FORBIDDEN,
                           "invalid or missing JWT token");
        return;
    }

    if (r->request_body && r->request_body->bufs) {
        cl = r->request_body->bufs;
        b = cl->buf;

        if (cl->next || b->in_file
            || b->last - b->pos > NGX_AMS_REST_MAX_BODY)
        {
            ngx_ams_rest_error(rest, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                               "body larger than %d bytes",
                               NGX_AMS_REST_MAX_BODY);
            return;
        }

        if (b->last > b->pos) {
            rest->body = json_loadb((const char *) b->pos, b->last - b->pos,
                                    JSON_REJECT_DUPLICATES, &jerr);

            if (rest->body == NULL) {
                ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                                   "malformed JSON at line %d column %d: %s",
                                   jerr.line, jerr.column, jerr.text);
                return;
            }
        }
    }

    if (rest->segments >= 1 && rest->segment[0].len == 7
        && ngx_strncmp(rest->segment[0].data, "version", 7) == 0)
    {
        ngx_ams_rest_version(rest);
        return;
    }

    if (rest->app == NULL) {
        ngx_ams_rest_server(rest);
        return;
    }

    if (rest->segments >= 2 && rest->segment[0].len == 10
        && ngx_strncmp(rest->segment[0].data, "broadcasts", 10) == 0)
    {
        ngx_ams_rest_broadcasts(rest);
        return;
    }

    ngx_ams_rest_error(rest, NGX_HTTP_NOT_FOUND, "no such endpoint: %V",
                       &r->uri);
}


/* AMS sends the token bare in Authorization; "Bearer " is accepted too */
static ngx_int_t
ngx_ams_rest_jwt(ngx_ams_rest_t *rest)
{
    json_t                  *claims;
    ngx_str_t                token, *key;
    const char              *error;
    ngx_ams_main_conf_t     *amcf;
    ngx_ams_api_app_conf_t  *aacf;
    ngx_http_request_t      *r = rest->request;

    if (rest->app) {
        aacf = ngx_ams_app_get_module_conf(rest->app, ngx_ams_api_app_module);

        if (!aacf->jwt_control) {
            return NGX_OK;
        }

        key = &aacf->jwt_secret_key;

    } else {
        amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

        if (!amcf->jwt_server_control) {
            return NGX_OK;
        }

        key = &amcf->jwt_server_secret_key;
    }

    if (r->headers_in.authorization == NULL) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ams rest: no Authorization header");
        return NGX_DECLINED;
    }

    token = r->headers_in.authorization->value;

    if (token.len > 7 && ngx_strncasecmp(token.data, (u_char *) "Bearer ", 7)
                         == 0)
    {
        token.data += 7;
        token.len -= 7;
    }

    if (ngx_ams_jwt_verify(token.data, token.len, key->data, key->len,
                           ngx_time(), &claims, &error)
        != 0)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ams rest: JWT refused: %s", error);
        return NGX_DECLINED;
    }

    json_decref(claims);

    return NGX_OK;
}


ngx_int_t
ngx_ams_rest_arg(ngx_ams_rest_t *rest, const char *name, ngx_str_t *value)
{
    u_char     *dst, *src;
    ngx_str_t   raw;

    if (ngx_http_arg(rest->request, (u_char *) name, ngx_strlen(name), &raw)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    value->data = ngx_pnalloc(rest->request->pool, raw.len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    dst = value->data;
    src = raw.data;
    ngx_unescape_uri(&dst, &src, raw.len, NGX_UNESCAPE_URI);
    value->len = dst - value->data;
    *dst = '\0';

    return NGX_OK;
}


void
ngx_ams_rest_json(ngx_ams_rest_t *rest, ngx_uint_t status, json_t *doc)
{
    char  *text;

    text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

    if (doc) {
        json_decref(doc);
    }

    if (text == NULL) {
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "out of memory");
        return;
    }

    ngx_ams_rest_text(rest, status, text, ngx_strlen(text));
    free(text);
}


void
ngx_ams_rest_text(ngx_ams_rest_t *rest, ngx_uint_t status, const char *text,
    size_t len)
{
    ngx_http_request_t  *r = rest->request;

    if (rest->body) {
        json_decref(rest->body);
        rest->body = NULL;
    }

    ngx_http_finalize_request(r, ngx_ams_rest_send(r, status, text, len));
}


/* AMS's Result: {"success":false,"message":...} */
void
ngx_ams_rest_error(ngx_ams_rest_t *rest, ngx_uint_t status,
    const char *fmt, ...)
{
    json_t   *doc;
    va_list   args;
    u_char    message[512], *p;

    va_start(args, fmt);
    p = ngx_vslprintf(message, message + sizeof(message) - 1, fmt, args);
    va_end(args);
    *p = '\0';

    doc = json_pack("{s:b, s:s, s:i}", "success", 0, "message",
                    (char *) message, "errorId", 0);

    if (doc == NULL) {
        /* not valid UTF-8 from the request: say so without echoing it */
        doc = json_pack("{s:b, s:s, s:i}", "success", 0, "message",
                        "invalid request", "errorId", 0);
    }

    ngx_log_error(NGX_LOG_INFO, rest->request->connection->log, 0,
                  "ams rest: %ui %s", status, message);

    ngx_ams_rest_json(rest, status, doc);
}


void
ngx_ams_rest_success(ngx_ams_rest_t *rest, const char *data_id)
{
    json_t  *doc;

    doc = data_id
          ? json_pack("{s:b, s:s, s:s}", "success", 1, "message", "",
                      "dataId", data_id)
          : json_pack("{s:b, s:s}", "success", 1, "message", "");

    ngx_ams_rest_json(rest, NGX_HTTP_OK, doc);
}


static ngx_int_t
ngx_ams_rest_send(ngx_http_request_t *r, ngx_uint_t status, const char *text,
    size_t len)
{
    ngx_buf_t  *b;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_cpymem(b->pos, text, len);

    return ngx_ams_api_send(r, status, "application/json", b);
}
