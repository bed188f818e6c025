
/*
 * Copyright (C) nginx-ams authors
 *
 * A small HTTP/1.1 client for webhooks: connect (ngx_event_connect_peer),
 * write the request, read the status line, close.  A failed attempt (no
 * connection, timeout, not 2xx) is retried after 1 s, 2 s, 4 s.  A
 * worker that exits has no event loop left: it posts once, blocking for
 * at most a second, two for all its hooks.
 *
 * liveStreamStarted / liveStreamEnded carry what Ant Media Server sends:
 * action, id, streamName (the broadcast's name) and category when the
 * record has one, read from the store first; a stream without a record
 * is named by its id.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include <poll.h>

#include "ngx_ams_core.h"
#include "ngx_ams_store.h"
#include "ngx_ams_webhook.h"


#define NGX_AMS_WEBHOOK_ATTEMPTS   4
#define NGX_AMS_WEBHOOK_TIMEOUT    5000
#define NGX_AMS_WEBHOOK_NOW_MS     1000   /* an exiting worker's one try */
#define NGX_AMS_WEBHOOK_EXIT_MS    2000   /* and all its tries together */


typedef struct {
    ngx_pool_t                 *pool;
    ngx_log_t                  *log;
    ngx_ams_webhook_target_t   *target;
    ngx_str_t                   request;
    size_t                      sent;
    u_char                      status[16];   /* "HTTP/1.1 200" */
    size_t                      got;
    ngx_uint_t                  attempt;
    ngx_peer_connection_t       peer;
    ngx_event_t                 retry;
} ngx_ams_webhook_t;


static void ngx_ams_webhook_connect(ngx_ams_webhook_t *wh);
static void ngx_ams_webhook_write(ngx_event_t *wev);
static void ngx_ams_webhook_read(ngx_event_t *rev);
static void ngx_ams_webhook_finish(ngx_ams_webhook_t *wh, ngx_uint_t ok,
    const char *why);
static void ngx_ams_webhook_retry(ngx_event_t *ev);
static void ngx_ams_webhook_stream(ngx_ams_stream_t *st,
    ngx_ams_app_conf_t *app, ngx_uint_t started, ngx_log_t *log);
static void ngx_ams_webhook_started(ngx_ams_store_op_t *op);
static void ngx_ams_webhook_ended(ngx_ams_store_op_t *op);
static void ngx_ams_webhook_record(ngx_ams_store_op_t *op,
    const char *action);
static void ngx_ams_webhook_send(ngx_ams_app_conf_t *app, const char *action,
    ngx_str_t *id, json_t *doc, ngx_log_t *log);
static ngx_int_t ngx_ams_webhook_post_now(ngx_ams_webhook_target_t *target,
    const char *content_type, u_char *body, size_t len, ngx_log_t *log);
static ngx_int_t ngx_ams_webhook_wait(ngx_socket_t s, short events,
    ngx_msec_t deadline);
static ngx_ams_webhook_target_t *ngx_ams_webhook_target_copy(
    ngx_pool_t *pool, ngx_ams_webhook_target_t *target);


static ngx_ams_publish_pt    ngx_ams_webhook_next_publish;
static ngx_ams_unpublish_pt  ngx_ams_webhook_next_unpublish;

/* set while an exiting worker reads a record and posts synchronously */
static ngx_uint_t            ngx_ams_webhook_exiting;

/* when an exiting worker stops waiting for hooks (0: not yet started) */
static ngx_msec_t            ngx_ams_webhook_exit_deadline;


char *
ngx_ams_webhook_parse(ngx_conf_t *cf, ngx_str_t *value,
    ngx_ams_webhook_target_t **target)
{
    ngx_ams_webhook_target_t  *t;

    if (value->len == 0) {
        *target = NULL;
        return NGX_CONF_OK;
    }

    if (ngx_strncasecmp(value->data, (u_char *) "http://", 7) != 0) {
        return "only http:// webhooks are supported";
    }

    t = ngx_pcalloc(cf->pool, sizeof(ngx_ams_webhook_target_t));
    if (t == NULL) {
        return NGX_CONF_ERROR;
    }

    t->url.url.data = value->data + 7;
    t->url.url.len = value->len - 7;
    t->url.default_port = 80;
    t->url.uri_part = 1;

    if (ngx_parse_url(cf->pool, &t->url) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "webhook \"%V\": %s", value,
                           t->url.err ? t->url.err : "invalid");
        return NGX_CONF_ERROR;
    }

    if (t->url.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "webhook \"%V\": host not found", value);
        return NGX_CONF_ERROR;
    }

    t->host = t->url.host;
    if (t->url.port != 80) {
        t->host.len = t->url.host.len + 1 + t->url.port_text.len;
        t->host.data = t->url.host.data;   /* "host:port" is contiguous */
    }

    t->uri = t->url.uri;
    if (t->uri.len == 0) {
        ngx_str_set(&t->uri, "/");
    }

    *target = t;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_ams_webhook_runtime_set(ngx_ams_webhook_runtime_t *rt, ngx_str_t *url,
    const char **error)
{
    u_char      *p, *last, *slash;
    size_t       len;
    ngx_int_t    rc;
    ngx_str_t    authority;
    ngx_addr_t   addr;
    ngx_pool_t  *pool;

    if (url->len < 8
        || ngx_strncasecmp(url->data, (u_char *) "http://", 7) != 0)
    {
        *error = "only http:// webhooks are supported";
        return NGX_DECLINED;
    }

    if (url->len > NGX_AMS_WEBHOOK_URL_LEN) {
        *error = "the webhook URL is too long";
        return NGX_DECLINED;
    }

    p = url->data + 7;
    last = url->data + url->len;

    for (slash = p; slash < last && *slash != '/'; slash++) {
        if (*slash == '?' || *slash == '#' || *slash == '@'
            || *slash <= ' ' || *slash >= 0x7f)
        {
            *error = "the webhook URL has no valid host";
            return NGX_DECLINED;
        }
    }

    authority.data = p;
    authority.len = slash - p;

    if (authority.len == 0) {
        *error = "the webhook URL has no host";
        return NGX_DECLINED;
    }

    for (p = slash; p < last; p++) {
        if (*p <= ' ' || *p >= 0x7f) {
            *error = "the webhook URL has a space or a control character";
            return NGX_DECLINED;
        }
    }

    pool = ngx_create_pool(512, ngx_cycle->log);
    if (pool == NULL) {
        *error = "out of memory";
        return NGX_DECLINED;
    }

    rc = ngx_parse_addr_port(pool, &addr, authority.data, authority.len);

    if (rc != NGX_OK || addr.socklen > sizeof(ngx_sockaddr_t)) {
        ngx_destroy_pool(pool);
        *error = "the webhook URL must name an IP address at runtime "
                 "(a host name needs nginx.conf's listener_hook_url: "
                 "resolving it here would block)";
        return NGX_DECLINED;
    }

    if (ngx_inet_get_port(addr.sockaddr) == 0) {
        ngx_inet_set_port(addr.sockaddr, 80);
    }

    /* valid: only now is "rt" rewritten */
    ngx_memcpy(&rt->sockaddr, addr.sockaddr, addr.socklen);
    ngx_destroy_pool(pool);

    ngx_memcpy(rt->text, url->data, url->len);

    rt->addr.sockaddr = &rt->sockaddr.sockaddr;
    rt->addr.socklen = addr.socklen;
    rt->addr.name.data = rt->name;
    rt->addr.name.len = ngx_sock_ntop(rt->addr.sockaddr, rt->addr.socklen,
                                      rt->name, NGX_SOCKADDR_STRLEN, 1);

    ngx_memzero(&rt->target, sizeof(ngx_ams_webhook_target_t));

    len = url->len - 7;
    rt->target.url.url.data = rt->text + 7;
    rt->target.url.url.len = len;
    rt->target.url.addrs = &rt->addr;
    rt->target.url.naddrs = 1;

    rt->target.host.data = rt->text + 7;
    rt->target.host.len = authority.len;

    rt->target.uri.data = rt->text + 7 + authority.len;
    rt->target.uri.len = len - authority.len;

    if (rt->target.uri.len == 0) {
        ngx_str_set(&rt->target.uri, "/");
    }

    return NGX_OK;
}


/* a post keeps its own copy of where it goes: application settings may
 * change the target while it is retried */
static ngx_ams_webhook_target_t *
ngx_ams_webhook_target_copy(ngx_pool_t *pool, ngx_ams_webhook_target_t *target)
{
    ngx_addr_t                *addr, *from;
    ngx_ams_webhook_target_t  *t;

    from = &target->url.addrs[0];

    t = ngx_pcalloc(pool, sizeof(ngx_ams_webhook_target_t));
    addr = ngx_pcalloc(pool, sizeof(ngx_addr_t));

    if (t == NULL || addr == NULL) {
        return NULL;
    }

    addr->sockaddr = ngx_pcalloc(pool, from->socklen);
    addr->name.data = ngx_pstrdup(pool, &from->name);
    t->url.url.data = ngx_pstrdup(pool, &target->url.url);

    if (addr->sockaddr == NULL || addr->name.data == NULL
        || t->url.url.data == NULL)
    {
        return NULL;
    }

    ngx_memcpy(addr->sockaddr, from->sockaddr, from->socklen);
    addr->socklen = from->socklen;
    addr->name.len = from->name.len;

    t->url.url.len = target->url.url.len;
    t->url.addrs = addr;
    t->url.naddrs = 1;

    return t;
}


/*
 * AMS tells the listener about streams its users published: an edge's
 * relay and a transcoder's rungs are not new broadcasts.
 */

static ngx_int_t
ngx_ams_webhook_publish(ngx_ams_stream_t *st, ngx_ams_app_conf_t *app,
    ngx_log_t *log)
{
    if (st->source_kind == NGX_AMS_SOURCE_PUBLISHER) {
        ngx_ams_webhook_stream(st, app, 1, log);
    }

    return ngx_ams_webhook_next_publish(st, app, log);
}


/* however the stream ended: its source left, its worker exits or died */
static void
ngx_ams_webhook_unpublish(ngx_ams_stream_t *st, ngx_log_t *log)
{
    ngx_str_t            name;
    ngx_ams_app_conf_t  *app;

    name.data = st->app;
    name.len = st->app_len;
    app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &name);

    if (app && st->source_kind == NGX_AMS_SOURCE_PUBLISHER) {
        ngx_ams_webhook_stream(st, app, 0, log);
    }

    ngx_ams_webhook_next_unpublish(st, log);
}


void
ngx_ams_webhook_init_chains(void)
{
    ngx_ams_webhook_next_publish = ngx_ams_publish_handler;
    ngx_ams_publish_handler = ngx_ams_webhook_publish;

    ngx_ams_webhook_next_unpublish = ngx_ams_unpublish_handler;
    ngx_ams_unpublish_handler = ngx_ams_webhook_unpublish;
}


/*
 * The record is read first, for its name and category.  An exiting
 * worker reads it now (its thread pools may be gone, or nothing would
 * wait for the answer) and, at NGX_AMS_END_SHUTDOWN, posts now too.
 */
static void
ngx_ams_webhook_stream(ngx_ams_stream_t *st, ngx_ams_app_conf_t *app,
    ngx_uint_t started, ngx_log_t *log)
{
    ngx_str_t            id;
    const char          *action;
    ngx_ams_store_op_t  *op;

    if (app->listener_hook == NULL) {
        return;
    }

    action = started ? "liveStreamStarted" : "liveStreamEnded";

    id.data = st->name;
    id.len = st->name_len;

    /* the cycle's log: the publisher's connection may be gone when the
     * record comes back */
    op = ngx_ams_store_op(NGX_AMS_STORE_GET, NGX_AMS_COLL_BROADCAST,
                          &app->name, &id, ngx_cycle->log);
    if (op == NULL) {
        ngx_ams_webhook_send(app, action, &id, NULL, log);
        return;
    }

    op->handler = started ? ngx_ams_webhook_started : ngx_ams_webhook_ended;
    op->data = app;

    if (st->end_reason == NGX_AMS_END_SHUTDOWN || ngx_exiting) {
        ngx_ams_webhook_exiting = (st->end_reason == NGX_AMS_END_SHUTDOWN);
        ngx_ams_store_run_now(op);
        ngx_ams_webhook_exiting = 0;
        return;
    }

    if (ngx_ams_store_post(op) != NGX_OK) {
        ngx_ams_store_free(op);
        ngx_ams_webhook_send(app, action, &id, NULL, log);
    }
}


static void
ngx_ams_webhook_started(ngx_ams_store_op_t *op)
{
    ngx_ams_webhook_record(op, "liveStreamStarted");
}


static void
ngx_ams_webhook_ended(ngx_ams_store_op_t *op)
{
    ngx_ams_webhook_record(op, "liveStreamEnded");
}


static void
ngx_ams_webhook_record(ngx_ams_store_op_t *op, const char *action)
{
    ngx_str_t  id;

    id.data = (u_char *) op->id;
    id.len = ngx_strlen(op->id);

    ngx_ams_webhook_send(op->data, action, &id,
                         op->rc == NGX_OK ? op->doc : NULL, op->log);

    ngx_ams_store_free(op);
}


/* AMS's fields, form-encoded: action, id, streamName, category */
static void
ngx_ams_webhook_send(ngx_ams_app_conf_t *app, const char *action,
    ngx_str_t *id, json_t *doc, ngx_log_t *log)
{
    u_char      *body, *p;
    size_t       size;
    json_t      *value;
    ngx_str_t    name, category;
    ngx_uint_t   i;
    ngx_str_t   *field[4];

    /* the record was read meanwhile: the hook may have been removed
     * through the application's settings */
    if (app->listener_hook == NULL) {
        return;
    }

    name = *id;
    ngx_str_null(&category);

    value = json_object_get(doc, "name");
    if (json_is_string(value) && json_string_length(value)) {
        name.data = (u_char *) json_string_value(value);
        name.len = json_string_length(value);
    }

    value = json_object_get(doc, "category");
    if (json_is_string(value) && json_string_length(value)) {
        category.data = (u_char *) json_string_value(value);
        category.len = json_string_length(value);
    }

    field[0] = id;
    field[1] = &app->name;
    field[2] = &name;
    field[3] = &category;

    size = sizeof("action=&id=&app=&streamName=&category=&timestamp=")
           + ngx_strlen(action) + NGX_INT64_LEN;

    for (i = 0; i < 4; i++) {
        size += 3 * field[i]->len;
    }

    body = ngx_alloc(size, log);
    if (body == NULL) {
        return;
    }

    p = ngx_sprintf(body, "action=%s&id=", action);
    p = (u_char *) ngx_escape_uri(p, id->data, id->len,
                                  NGX_ESCAPE_URI_COMPONENT);
    p = ngx_cpymem(p, "&app=", 5);
    p = (u_char *) ngx_escape_uri(p, app->name.data, app->name.len,
                                  NGX_ESCAPE_URI_COMPONENT);
    p = ngx_cpymem(p, "&streamName=", 12);
    p = (u_char *) ngx_escape_uri(p, name.data, name.len,
                                  NGX_ESCAPE_URI_COMPONENT);

    if (category.len) {
        p = ngx_cpymem(p, "&category=", 10);
        p = (u_char *) ngx_escape_uri(p, category.data, category.len,
                                      NGX_ESCAPE_URI_COMPONENT);
    }

    p = ngx_sprintf(p, "&timestamp=%L", ngx_ams_store_now_ms());

    if (ngx_ams_webhook_exiting) {
        (void) ngx_ams_webhook_post_now(app->listener_hook,
                                        "application/x-www-form-urlencoded",
                                        body, p - body, log);

    } else {
        ngx_ams_webhook_post(app->listener_hook,
                             "application/x-www-form-urlencoded",
                             body, p - body, log);
    }

    ngx_free(body);
}


void
ngx_ams_webhook_post(ngx_ams_webhook_target_t *target,
    const char *content_type, u_char *body, size_t len, ngx_log_t *log)
{
    size_t              size;
    ngx_pool_t         *pool;
    ngx_ams_webhook_t  *wh;

    pool = ngx_create_pool(1024, log);
    if (pool == NULL) {
        return;
    }

    wh = ngx_pcalloc(pool, sizeof(ngx_ams_webhook_t));
    if (wh == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    wh->pool = pool;
    wh->log = ngx_cycle->log;
    wh->target = ngx_ams_webhook_target_copy(pool, target);

    if (wh->target == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    size = sizeof("POST  HTTP/1.1\r\nHost: \r\nUser-Agent: nginx-ams/"
                  NGX_AMS_VERSION "\r\nContent-Type: \r\n"
                  "Content-Length: \r\nConnection: close\r\n\r\n")
           + target->uri.len + target->host.len + ngx_strlen(content_type)
           + NGX_SIZE_T_LEN + len;

    wh->request.data = ngx_pnalloc(pool, size);
    if (wh->request.data == NULL) {
        ngx_destroy_pool(pool);
        return;
    }

    wh->request.len = ngx_sprintf(wh->request.data,
                                  "POST %V HTTP/1.1\r\nHost: %V\r\n"
                                  "User-Agent: nginx-ams/" NGX_AMS_VERSION
                                  "\r\nContent-Type: %s\r\n"
                                  "Content-Length: %uz\r\n"
                                  "Connection: close\r\n\r\n%*s",
                                  &target->uri, &target->host, content_type,
                                  len, len, body)
                      - wh->request.data;

    wh->retry.handler = ngx_ams_webhook_retry;
    wh->retry.data = wh;
    wh->retry.log = wh->log;
    wh->retry.cancelable = 1;

    ngx_ams_webhook_connect(wh);
}


static void
ngx_ams_webhook_connect(ngx_ams_webhook_t *wh)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;
    ngx_addr_t        *addr;

    addr = &wh->target->url.addrs[0];

    ngx_memzero(&wh->peer, sizeof(ngx_peer_connection_t));
    wh->peer.sockaddr = addr->sockaddr;
    wh->peer.socklen = addr->socklen;
    wh->peer.name = &addr->name;
    wh->peer.get = ngx_event_get_peer;
    wh->peer.log = wh->log;
    wh->peer.log_error = NGX_ERROR_ERR;

    wh->sent = 0;
    wh->got = 0;
    wh->attempt++;

    rc = ngx_event_connect_peer(&wh->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_ams_webhook_finish(wh, 0, "cannot connect");
        return;
    }

    c = wh->peer.connection;
    c->data = wh;
    c->pool = wh->pool;
    c->read->handler = ngx_ams_webhook_read;
    c->write->handler = ngx_ams_webhook_write;

    ngx_add_timer(c->write, NGX_AMS_WEBHOOK_TIMEOUT);

    if (rc == NGX_OK) {
        ngx_ams_webhook_write(c->write);
    }
}


static void
ngx_ams_webhook_write(ngx_event_t *wev)
{
    ssize_t             n;
    ngx_connection_t   *c = wev->data;
    ngx_ams_webhook_t  *wh = c->data;

    if (wev->timedout) {
        ngx_ams_webhook_finish(wh, 0, "timed out");
        return;
    }

    while (wh->sent < wh->request.len) {
        n = c->send(c, wh->request.data + wh->sent,
                    wh->request.len - wh->sent);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_ams_webhook_finish(wh, 0, "write event");
            }
            return;
        }

        if (n == NGX_ERROR) {
            ngx_ams_webhook_finish(wh, 0, "cannot send");
            return;
        }

        wh->sent += n;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    ngx_add_timer(c->read, NGX_AMS_WEBHOOK_TIMEOUT);

    if (c->read->ready) {
        ngx_ams_webhook_read(c->read);
        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_ams_webhook_finish(wh, 0, "read event");
    }
}


static void
ngx_ams_webhook_read(ngx_event_t *rev)
{
    ssize_t             n;
    ngx_int_t           status;
    ngx_connection_t   *c = rev->data;
    ngx_ams_webhook_t  *wh = c->data;

    if (rev->timedout) {
        ngx_ams_webhook_finish(wh, 0, "timed out");
        return;
    }

    if (wh->sent < wh->request.len) {
        return;   /* the write handler reads once the request is out */
    }

    while (wh->got < sizeof("HTTP/1.1 200") - 1) {
        n = c->recv(c, wh->status + wh->got,
                    sizeof("HTTP/1.1 200") - 1 - wh->got);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_ams_webhook_finish(wh, 0, "read event");
            }
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_ams_webhook_finish(wh, 0, "no response");
            return;
        }

        wh->got += n;
    }

    if (ngx_strncmp(wh->status, "HTTP/1.", 7) != 0) {
        ngx_ams_webhook_finish(wh, 0, "not an HTTP response");
        return;
    }

    status = ngx_atoi(wh->status + 9, 3);

    ngx_ams_webhook_finish(wh, status >= 200 && status < 300,
                           "status not 2xx");
}


static void
ngx_ams_webhook_finish(ngx_ams_webhook_t *wh, ngx_uint_t ok,
    const char *why)
{
    if (wh->peer.connection) {
        ngx_close_connection(wh->peer.connection);
        wh->peer.connection = NULL;
    }

    if (ok) {
        ngx_log_error(NGX_LOG_INFO, wh->log, 0, "ams webhook: posted to %V",
                      &wh->target->url.url);
        ngx_destroy_pool(wh->pool);
        return;
    }

    if (wh->attempt >= NGX_AMS_WEBHOOK_ATTEMPTS) {
        ngx_log_error(NGX_LOG_ERR, wh->log, 0,
                      "ams webhook: %V: %s, giving up after %ui attempts",
                      &wh->target->url.url, why, wh->attempt);
        ngx_destroy_pool(wh->pool);
        return;
    }

    ngx_log_error(NGX_LOG_WARN, wh->log, 0,
                  "ams webhook: %V: %s, retrying", &wh->target->url.url, why);

    ngx_add_timer(&wh->retry, 1000 << (wh->attempt - 1));
}


static void
ngx_ams_webhook_retry(ngx_event_t *ev)
{
    ngx_ams_webhook_connect(ev->data);
}


/*
 * One blocking try, for a worker with no event loop left: connect, send,
 * read the status line, within NGX_AMS_WEBHOOK_NOW_MS in all.
 */
static ngx_int_t
ngx_ams_webhook_post_now(ngx_ams_webhook_target_t *target,
    const char *content_type, u_char *body, size_t len, ngx_log_t *log)
{
    int           err;
    size_t        size, sent, got;
    ssize_t       n;
    u_char       *request, *last;
    socklen_t     errlen;
    ngx_int_t     status;
    ngx_msec_t    deadline;
    ngx_addr_t   *addr;
    ngx_socket_t  s;
    const char   *why;
    u_char        line[16];

    addr = &target->url.addrs[0];
    why = NULL;
    status = 0;
    request = NULL;
    s = (ngx_socket_t) -1;

    /* many streams must not hold the exit for long: one budget for all */
    ngx_time_update();

    if (ngx_ams_webhook_exit_deadline == 0) {
        ngx_ams_webhook_exit_deadline = ngx_current_msec
                                        + NGX_AMS_WEBHOOK_EXIT_MS;
    }

    deadline = ngx_min(ngx_current_msec + NGX_AMS_WEBHOOK_NOW_MS,
                       ngx_ams_webhook_exit_deadline);

    if ((ngx_msec_int_t) (deadline - ngx_current_msec) <= 0) {
        why = "no time left";
        goto done;
    }

    s = ngx_socket(addr->sockaddr->sa_family, SOCK_STREAM, 0);
    if (s == (ngx_socket_t) -1) {
        why = "no socket";
        goto done;
    }

    if (ngx_nonblocking(s) == -1) {
        why = "no socket";
        goto done;
    }

    size = sizeof("POST  HTTP/1.1\r\nHost: \r\nUser-Agent: nginx-ams/"
                  NGX_AMS_VERSION "\r\nContent-Type: \r\n"
                  "Content-Length: \r\nConnection: close\r\n\r\n")
           + target->uri.len + target->host.len + ngx_strlen(content_type)
           + NGX_SIZE_T_LEN + len;

    request = ngx_alloc(size, log);
    if (request == NULL) {
        why = "no memory";
        goto done;
    }

    last = ngx_sprintf(request, "POST %V HTTP/1.1\r\nHost: %V\r\n"
                       "User-Agent: nginx-ams/" NGX_AMS_VERSION
                       "\r\nContent-Type: %s\r\n"
                       "Content-Length: %uz\r\n"
                       "Connection: close\r\n\r\n%*s",
                       &target->uri, &target->host, content_type,
                       len, len, body);

    if (connect(s, addr->sockaddr, addr->socklen) == -1
        && ngx_socket_errno != NGX_EINPROGRESS)
    {
        why = "cannot connect";
        goto done;
    }

    if (ngx_ams_webhook_wait(s, POLLOUT, deadline) != NGX_OK) {
        why = "cannot connect";
        goto done;
    }

    err = 0;
    errlen = sizeof(int);
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1 || err) {
        why = "cannot connect";
        goto done;
    }

    for (sent = 0; sent < (size_t) (last - request); sent += n) {
        n = send(s, request + sent, last - request - sent, 0);

        if (n == -1 && ngx_socket_errno == NGX_EAGAIN
            && ngx_ams_webhook_wait(s, POLLOUT, deadline) == NGX_OK)
        {
            n = 0;
            continue;
        }

        if (n <= 0) {
            why = "cannot send";
            goto done;
        }
    }

    for (got = 0; got < sizeof("HTTP/1.1 200") - 1; got += n) {
        if (ngx_ams_webhook_wait(s, POLLIN, deadline) != NGX_OK) {
            why = "timed out";
            goto done;
        }

        n = recv(s, line + got, sizeof("HTTP/1.1 200") - 1 - got, 0);

        if (n == -1 && ngx_socket_errno == NGX_EAGAIN) {
            n = 0;
            continue;
        }

        if (n <= 0) {
            why = "no response";
            goto done;
        }
    }

    if (ngx_strncmp(line, "HTTP/1.", 7) != 0) {
        why = "not an HTTP response";
        goto done;
    }

    status = ngx_atoi(line + 9, 3);

    if (status < 200 || status >= 300) {
        why = "status not 2xx";
    }

done:

    if (s != (ngx_socket_t) -1) {
        ngx_close_socket(s);
    }

    ngx_free(request);

    if (why) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ams webhook: %V: %s, not retried: the worker exits",
                      &target->url.url, why);
        return NGX_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, log, 0, "ams webhook: posted to %V",
                  &target->url.url);

    return NGX_OK;
}


static ngx_int_t
ngx_ams_webhook_wait(ngx_socket_t s, short events, ngx_msec_t deadline)
{
    int            n;
    struct pollfd  pfd;

    for ( ;; ) {
        ngx_time_update();

        if ((ngx_msec_int_t) (deadline - ngx_current_msec) <= 0) {
            return NGX_ERROR;
        }

        pfd.fd = s;
        pfd.events = events;
        pfd.revents = 0;

        n = poll(&pfd, 1, (int) (deadline - ngx_current_msec));

        if (n > 0) {
            return NGX_OK;
        }

        if (n == 0 || ngx_socket_errno != NGX_EINTR) {
            return NGX_ERROR;
        }
    }
}
