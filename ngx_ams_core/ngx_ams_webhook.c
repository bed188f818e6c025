
/*
 * Copyright (C) nginx-ams authors
 *
 * A small HTTP/1.1 client for webhooks: connect (ngx_event_connect_peer),
 * write the request, read the status line, close.  A failed attempt (no
 * connection, timeout, not 2xx) is retried after 1 s, 2 s, 4 s.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include "ngx_ams_core.h"
#include "ngx_ams_webhook.h"


#define NGX_AMS_WEBHOOK_ATTEMPTS   4
#define NGX_AMS_WEBHOOK_TIMEOUT    5000


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
static void ngx_ams_webhook_stream(ngx_ams_app_conf_t *app, ngx_str_t *id,
    const char *action, ngx_log_t *log);


static ngx_ams_publish_pt    ngx_ams_webhook_next_publish;
static ngx_ams_unpublish_pt  ngx_ams_webhook_next_unpublish;


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


/*
 * AMS tells the listener about streams its users published: an edge's
 * relay and a transcoder's rungs are not new broadcasts.
 */

static ngx_int_t
ngx_ams_webhook_publish(ngx_ams_stream_t *st, ngx_ams_app_conf_t *app,
    ngx_log_t *log)
{
    ngx_str_t  id;

    if (st->source_kind == NGX_AMS_SOURCE_PUBLISHER) {
        id.data = st->name;
        id.len = st->name_len;
        ngx_ams_webhook_stream(app, &id, "liveStreamStarted", log);
    }

    return ngx_ams_webhook_next_publish(st, app, log);
}


static void
ngx_ams_webhook_unpublish(ngx_ams_stream_t *st, ngx_log_t *log)
{
    ngx_str_t            id, name;
    ngx_ams_app_conf_t  *app;

    name.data = st->app;
    name.len = st->app_len;
    app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &name);

    if (app && st->source_kind == NGX_AMS_SOURCE_PUBLISHER) {
        id.data = st->name;
        id.len = st->name_len;
        ngx_ams_webhook_stream(app, &id, "liveStreamEnded", log);
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


static void
ngx_ams_webhook_stream(ngx_ams_app_conf_t *app, ngx_str_t *id,
    const char *action, ngx_log_t *log)
{
    u_char     *p, *last;
    uintptr_t   escape;
    u_char      body[NGX_AMS_NAME_LEN * 6 + NGX_AMS_APP_LEN * 3 + 128];

    if (app->listener_hook == NULL) {
        return;
    }

    /* AMS's fields: action, id, app, name (x-www-form-urlencoded) */
    escape = ngx_escape_uri(NULL, id->data, id->len, NGX_ESCAPE_ARGS);
    if (id->len + 2 * escape > NGX_AMS_NAME_LEN * 3) {
        return;
    }

    last = body + sizeof(body);
    p = ngx_slprintf(body, last, "action=%s&id=", action);
    p = (u_char *) ngx_escape_uri(p, id->data, id->len, NGX_ESCAPE_ARGS);
    p = ngx_slprintf(p, last, "&app=%V&name=", &app->name);
    p = (u_char *) ngx_escape_uri(p, id->data, id->len, NGX_ESCAPE_ARGS);

    ngx_ams_webhook_post(app->listener_hook,
                         "application/x-www-form-urlencoded",
                         body, p - body, log);
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
    wh->target = target;

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
