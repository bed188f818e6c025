
/*
 * Copyright (C) nginx-ams authors
 *
 * The REST API's front door: who may call (ams_remote_allowed_cidr, or a
 * JWT where the application asks for one, checked before any body is
 * read), which application, the body, and the AMS-shaped answers.  Every
 * call reads (or discards) its body through
 * ngx_http_read_client_request_body, whose reference on the request is
 * released by the final response, which may come later from a
 * store task.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_api.h"
#include "ngx_ams_jwt.h"
#include "ngx_ams_log_escape.h"


static ngx_int_t ngx_ams_rest_split(ngx_ams_rest_t *rest, ngx_str_t *uri);
static ngx_str_t *ngx_ams_rest_jwt_key(ngx_ams_rest_t *rest);
static ngx_int_t ngx_ams_rest_jwt(ngx_ams_rest_t *rest);
static void ngx_ams_rest_body(ngx_http_request_t *r);
static ngx_uint_t ngx_ams_rest_is_data(ngx_ams_rest_t *rest);
static ngx_int_t ngx_ams_rest_body_text(ngx_http_request_t *r,
    ngx_str_t *text);
static ngx_int_t ngx_ams_rest_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *text, size_t len);
static ngx_int_t ngx_ams_rest_refuse(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *body);


/* other modules' endpoints (ngx_ams_rest_route_add) */
#define NGX_AMS_REST_ROUTES  8

static ngx_ams_rest_route_pt  ngx_ams_rest_routes[NGX_AMS_REST_ROUTES];
static ngx_uint_t             ngx_ams_rest_nroutes;


static ngx_str_t  ngx_ams_rest_not_rest = ngx_string(
    "{\"success\":false,\"message\":\"no such application or not a REST v2 "
    "path\",\"errorId\":0}");
static ngx_str_t  ngx_ams_rest_too_large = ngx_string(
    "{\"success\":false,\"message\":\"body larger than 16384 bytes\","
    "\"errorId\":0}");
static ngx_str_t  ngx_ams_rest_no_jwt = ngx_string(
    "{\"success\":false,\"message\":\"invalid or missing JWT token\","
    "\"errorId\":0}");
static ngx_str_t  ngx_ams_rest_not_allowed = ngx_string(
    "{\"success\":false,\"message\":\"not allowed from this address "
    "(ams_remote_allowed_cidr)\",\"errorId\":0}");


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
        if (!ngx_ams_api_allowed(r)) {
            /* a stranger learns nothing of which applications exist */
            goto not_allowed;
        }

        return ngx_ams_rest_refuse(r, NGX_HTTP_NOT_FOUND,
                                   &ngx_ams_rest_not_rest);
    }

    /* from elsewhere only with the application's JWT */
    if (!ngx_ams_api_allowed(r) && ngx_ams_rest_jwt_key(rest) == NULL) {
        goto not_allowed;
    }

    /* the token before the body: a caller without one is not read a
     * chunked body up to client_max_body_size, nor spooled to disk */
    if (ngx_ams_rest_jwt(rest) != NGX_OK) {
        return ngx_ams_rest_refuse(r, NGX_HTTP_FORBIDDEN,
                                   &ngx_ams_rest_no_jwt);
    }

    if (r->headers_in.content_length_n > NGX_AMS_REST_MAX_BODY) {
        return ngx_ams_rest_refuse(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   &ngx_ams_rest_too_large);
    }

    rc = ngx_http_read_client_request_body(r, ngx_ams_rest_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;

not_allowed:

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "ams rest: %V is not in ams_remote_allowed_cidr",
                  &r->connection->addr_text);

    return ngx_ams_rest_refuse(r, NGX_HTTP_FORBIDDEN,
                               &ngx_ams_rest_not_allowed);
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
    ngx_int_t        rc;
    ngx_str_t        text;
    ngx_uint_t       i;
    json_error_t     jerr;
    ngx_ams_rest_t  *rest;

    rest = ngx_http_get_module_ctx(r, ngx_ams_api_module);

    rc = ngx_ams_rest_body_text(r, &text);

    if (rc == NGX_DECLINED) {
        ngx_ams_rest_error(rest, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                           "body larger than %d bytes",
                           NGX_AMS_REST_MAX_BODY);
        return;
    }

    if (rc != NGX_OK) {
        ngx_ams_rest_error(rest, NGX_HTTP_INTERNAL_SERVER_ERROR,
                           "could not read the body");
        return;
    }

    rest->text = text;

    /* broadcasts/{id}/data takes any text, JSON or not */
    if (text.len && !ngx_ams_rest_is_data(rest)) {
        rest->body = json_loadb((const char *) text.data, text.len,
                                JSON_REJECT_DUPLICATES, &jerr);

        if (rest->body == NULL) {
            ngx_ams_rest_error(rest, NGX_HTTP_BAD_REQUEST,
                               "malformed JSON at line %d column %d: %s",
                               jerr.line, jerr.column, jerr.text);
            return;
        }
    }

    if (rest->segments >= 1 && rest->segment[0].len == 7
        && ngx_strncmp(rest->segment[0].data, "version", 7) == 0)
    {
        ngx_ams_rest_version(rest);
        return;
    }

    for (i = 0; i < ngx_ams_rest_nroutes; i++) {
        if (ngx_ams_rest_routes[i](rest) == NGX_OK) {
            return;
        }
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


static ngx_uint_t
ngx_ams_rest_is_data(ngx_ams_rest_t *rest)
{
    return rest->app != NULL && rest->segments == 3
           && rest->segment[0].len == 10
           && ngx_strncmp(rest->segment[0].data, "broadcasts", 10) == 0
           && rest->segment[2].len == 4
           && ngx_strncmp(rest->segment[2].data, "data", 4) == 0;
}


/*
 * The body in one piece: nginx hands it over as a chain (what came with
 * the headers, then what was read after them) and writes it to a
 * temporary file past client_body_buffer_size.  NGX_DECLINED: larger
 * than NGX_AMS_REST_MAX_BODY (a chunked body has no Content-Length to
 * refuse it by earlier).
 */
static ngx_int_t
ngx_ams_rest_body_text(ngx_http_request_t *r, ngx_str_t *text)
{
    off_t         size;
    ssize_t       n;
    u_char       *p;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    text->len = 0;
    text->data = NULL;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    size = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        size += ngx_buf_size(cl->buf);
    }

    if (size > NGX_AMS_REST_MAX_BODY) {
        return NGX_DECLINED;
    }

    if (size == 0) {
        return NGX_OK;
    }

    cl = r->request_body->bufs;

    if (cl->next == NULL && !cl->buf->in_file) {
        text->data = cl->buf->pos;
        text->len = (size_t) size;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, (size_t) size);
    if (p == NULL) {
        return NGX_ERROR;
    }

    text->data = p;

    for ( /* void */ ; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        /* at most 16 KiB nginx has just written: in the page cache */
        n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "ams rest: reading the body from \"%V\" failed",
                          &b->file->name);
            return NGX_ERROR;
        }

        p += n;
    }

    text->len = p - text->data;

    return NGX_OK;
}


/* the key of the REST JWTs this call needs, NULL if it needs none */
static ngx_str_t *
ngx_ams_rest_jwt_key(ngx_ams_rest_t *rest)
{
    ngx_ams_main_conf_t     *amcf;
    ngx_ams_api_app_conf_t  *aacf;

    if (rest->app) {
        aacf = ngx_ams_app_get_module_conf(rest->app, ngx_ams_api_app_module);

        return aacf->jwt_control ? &aacf->jwt_secret_key : NULL;
    }

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    return amcf->jwt_server_control ? &amcf->jwt_server_secret_key : NULL;
}


/* AMS sends the token bare in Authorization; "Bearer " is accepted too */
static ngx_int_t
ngx_ams_rest_jwt(ngx_ams_rest_t *rest)
{
    json_t                  *claims;
    ngx_str_t                token, *key;
    const char              *error;
    ngx_http_request_t      *r = rest->request;

    key = ngx_ams_rest_jwt_key(rest);

    if (key == NULL) {
        return NGX_OK;
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

    /* reals (CPU loads) as 12.34, not 12.339999999999999 */
    text = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(6))
               : NULL;

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
    char      escaped[NGX_AMS_LOG_ESCAPED_SIZE(sizeof(message))];

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

    /* the message may quote the URI or an id the client chose */
    ngx_log_error(NGX_LOG_INFO, rest->request->connection->log, 0,
                  "ams rest: %ui %s", status,
                  ngx_ams_log_escape(escaped, sizeof(escaped), message,
                                     p - message));

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


ngx_int_t
ngx_ams_rest_route_add(ngx_ams_rest_route_pt route)
{
    if (ngx_ams_rest_nroutes == NGX_AMS_REST_ROUTES) {
        return NGX_ERROR;
    }

    ngx_ams_rest_routes[ngx_ams_rest_nroutes++] = route;

    return NGX_OK;
}


void
ngx_ams_rest_routes_reset(void)
{
    ngx_ams_rest_nroutes = 0;
}
