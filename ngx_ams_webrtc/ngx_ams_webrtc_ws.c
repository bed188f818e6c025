
/*
 * Copyright (C) nginx-ams authors
 *
 * The WebSocket connection of Ant Media's signalling.  The upgrade is
 * nginx's own (a 101 through the header filter, which writes
 * "Connection: upgrade"); from then on the request's read and write
 * handlers are ours and move frames with the connection's recv/send,
 * as the proxy module does for an upgraded connection.  Whatever ends
 * the connection only marks it and posts one event that finalizes the
 * request, so no callback ever runs on a freed request.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_ws.h"
#include "ngx_ams_ws.h"


extern ngx_module_t  ngx_ams_webrtc_http_module;


typedef struct {
    ngx_queue_t               queue;
    size_t                    len;
    size_t                    sent;
    u_char                    data[1];
} ngx_ams_webrtc_ws_out_t;


typedef struct {
    ngx_ams_webrtc_ws_t       ws;
    ngx_ams_ws_reader_t       reader;
    u_char                   *in;           /* received, not yet taken */
    size_t                    in_len;
    size_t                    in_size;
    ngx_queue_t               out;          /* ngx_ams_webrtc_ws_out_t */
    size_t                    out_bytes;
    ngx_event_t               finalize;
    unsigned                  close_sent:1; /* nothing more goes out */
    unsigned                  dead:1;       /* finalize is posted */
} ngx_ams_webrtc_ws_io_t;


static ngx_int_t ngx_ams_webrtc_ws_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
static ngx_uint_t ngx_ams_webrtc_ws_has_token(ngx_str_t *value,
    const char *token);
static void ngx_ams_webrtc_ws_read_handler(ngx_http_request_t *r);
static void ngx_ams_webrtc_ws_write_handler(ngx_http_request_t *r);
static void ngx_ams_webrtc_ws_input(ngx_ams_webrtc_ws_io_t *io);
static ngx_int_t ngx_ams_webrtc_ws_frame(ngx_ams_webrtc_ws_io_t *io,
    ngx_uint_t opcode, u_char *data, size_t len);
static void ngx_ams_webrtc_ws_flush(ngx_ams_webrtc_ws_io_t *io);
static void ngx_ams_webrtc_ws_die(ngx_ams_webrtc_ws_io_t *io);
static void ngx_ams_webrtc_ws_finalize(ngx_event_t *ev);
static void ngx_ams_webrtc_ws_cleanup(void *data);


ngx_int_t
ngx_ams_webrtc_ws_handler(ngx_http_request_t *r, ngx_ams_app_conf_t *app)
{
    char                     accept[29];
    size_t                   n;
    u_char                  *message;
    ngx_str_t                value;
    ngx_table_elt_t         *h;
    ngx_connection_t        *c;
    ngx_pool_cleanup_t      *cln;
    ngx_ams_webrtc_ws_io_t  *io;

    static ngx_str_t  upgrade = ngx_string("Upgrade");
    static ngx_str_t  connection = ngx_string("Connection");
    static ngx_str_t  version = ngx_string("Sec-WebSocket-Version");
    static ngx_str_t  key = ngx_string("Sec-WebSocket-Key");

    c = r->connection;

    if (r->method != NGX_HTTP_GET) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    if (r != r->main || r->http_version != NGX_HTTP_VERSION_11
        || ngx_ams_webrtc_ws_header(r, &upgrade, &value) != NGX_OK
        || !ngx_ams_webrtc_ws_has_token(&value, "websocket")
        || ngx_ams_webrtc_ws_header(r, &connection, &value) != NGX_OK
        || !ngx_ams_webrtc_ws_has_token(&value, "upgrade"))
    {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ams webrtc: not a WebSocket upgrade (HTTP/1.1 GET "
                      "with Upgrade: websocket)");
        return NGX_HTTP_BAD_REQUEST;
    }

    if (ngx_ams_webrtc_ws_header(r, &version, &value) != NGX_OK
        || value.len != 2 || ngx_strncmp(value.data, "13", 2) != 0)
    {
        /* RFC 6455 4.4: refuse, saying which version we speak */
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Sec-WebSocket-Version");
        ngx_str_set(&h->value, "13");

        return NGX_HTTP_BAD_REQUEST;
    }

    if (ngx_ams_webrtc_ws_header(r, &key, &value) != NGX_OK
        || ngx_ams_ws_accept((char *) value.data, value.len, accept) != 0)
    {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ams webrtc: WebSocket upgrade with a bad key");
        return NGX_HTTP_BAD_REQUEST;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    io = ngx_pcalloc(r->pool, sizeof(ngx_ams_webrtc_ws_io_t));
    if (io == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    io->in_size = NGX_AMS_WEBRTC_WS_MAX_MESSAGE + NGX_AMS_WS_MAX_HEADER;
    io->in = ngx_palloc(r->pool, io->in_size);
    message = ngx_palloc(r->pool, NGX_AMS_WEBRTC_WS_MAX_MESSAGE);
    if (io->in == NULL || message == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_ams_ws_reader_init(&io->reader, message,
                           NGX_AMS_WEBRTC_WS_MAX_MESSAGE);
    ngx_queue_init(&io->out);

    io->ws.request = r;
    io->ws.connection = c;
    io->ws.app = app;
    io->ws.log = c->log;
    io->ws.io = io;

    io->finalize.handler = ngx_ams_webrtc_ws_finalize;
    io->finalize.data = io;
    io->finalize.log = c->log;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_ams_webrtc_ams_open(&io->ws) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_ams_webrtc_ws_cleanup;
    cln->data = io;

    ngx_http_set_ctx(r, io, ngx_ams_webrtc_http_module);

    /* the 101 */
    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Upgrade");
    ngx_str_set(&h->value, "websocket");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Sec-WebSocket-Accept");
    h->value.len = 28;
    h->value.data = ngx_pnalloc(r->pool, 28);
    if (h->value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(h->value.data, accept, 28);

    r->headers_out.status = NGX_HTTP_SWITCHING_PROTOCOLS;
    ngx_str_set(&r->headers_out.status_line, "101 Switching Protocols");
    r->headers_out.content_length_n = -1;
    r->header_only = 1;
    r->keepalive = 0;

    if (ngx_http_send_header(r) == NGX_ERROR) {
        return NGX_ERROR;
    }

    c->log->action = "in Ant Media's WebSocket signalling";

    r->read_event_handler = ngx_ams_webrtc_ws_read_handler;
    r->write_event_handler = ngx_ams_webrtc_ws_write_handler;

    /* a client may have sent its first frame right behind the request */
    if (r->header_in->pos < r->header_in->last) {
        n = ngx_min((size_t) (r->header_in->last - r->header_in->pos),
                    io->in_size);

        ngx_memcpy(io->in, r->header_in->pos, n);
        io->in_len = n;
        r->header_in->pos += n;
    }

    ngx_add_timer(c->read, NGX_AMS_WEBRTC_WS_IDLE);

    r->main->count++;

    ngx_ams_webrtc_ws_flush(io);

    if (io->in_len) {
        ngx_ams_webrtc_ws_input(io);
    }

    if (!io->dead && c->read->ready) {
        ngx_post_event(c->read, &ngx_posted_events);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_ams_webrtc_ws_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NGX_DECLINED;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == name->len
            && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
        {
            *value = h[i].value;
            return NGX_OK;
        }
    }
}


/* "token" among the comma-separated values, any case */

static ngx_uint_t
ngx_ams_webrtc_ws_has_token(ngx_str_t *value, const char *token)
{
    size_t   len;
    u_char  *p, *end, *start;

    len = ngx_strlen(token);
    p = value->data;
    end = p + value->len;

    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }

        start = p;

        while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }

        if ((size_t) (p - start) == len
            && ngx_strncasecmp(start, (u_char *) token, len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static void
ngx_ams_webrtc_ws_read_handler(ngx_http_request_t *r)
{
    ssize_t                  n;
    ngx_connection_t        *c;
    ngx_ams_webrtc_ws_io_t  *io;

    c = r->connection;
    io = ngx_http_get_module_ctx(r, ngx_ams_webrtc_http_module);

    if (io == NULL || io->dead) {
        return;
    }

    if (c->read->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ams webrtc: WebSocket client silent for %M ms",
                      (ngx_msec_t) NGX_AMS_WEBRTC_WS_IDLE);
        ngx_ams_webrtc_ws_die(io);
        return;
    }

    if (c->close) {
        /* the worker is going (worker_shutdown_timeout) */
        ngx_ams_webrtc_ws_close(&io->ws, NGX_AMS_WS_CLOSE_GOING_AWAY);
        ngx_ams_webrtc_ws_die(io);
        return;
    }

    while (!io->dead && c->read->ready) {

        n = c->recv(c, io->in + io->in_len, io->in_size - io->in_len);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "ams webrtc: WebSocket client closed the "
                          "connection");
            ngx_ams_webrtc_ws_die(io);
            return;
        }

        io->in_len += n;

        ngx_ams_webrtc_ws_input(io);
    }

    if (io->dead) {
        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_ams_webrtc_ws_die(io);
        return;
    }

    ngx_add_timer(c->read, NGX_AMS_WEBRTC_WS_IDLE);
}


/* every whole frame received; a broken one closes with its code */

static void
ngx_ams_webrtc_ws_input(ngx_ams_webrtc_ws_io_t *io)
{
    int               rc;
    size_t            off, used;
    ngx_ams_ws_msg_t  msg;

    off = 0;

    while (off < io->in_len && !io->dead && !io->close_sent) {

        rc = ngx_ams_ws_read(&io->reader, io->in + off, io->in_len - off,
                             &used, &msg);

        if (rc == NGX_AMS_WS_AGAIN) {
            break;
        }

        if (rc == NGX_AMS_WS_FAIL) {
            ngx_log_error(NGX_LOG_INFO, io->ws.log, 0,
                          "ams webrtc: WebSocket client sent %s, closing "
                          "with %ui", msg.error, (ngx_uint_t) msg.close_code);
            ngx_ams_webrtc_ws_close(&io->ws, msg.close_code);
            break;
        }

        off += used;

        switch (rc) {

        case NGX_AMS_WS_MESSAGE:
            if (msg.opcode != NGX_AMS_WS_TEXT) {
                ngx_log_error(NGX_LOG_INFO, io->ws.log, 0,
                              "ams webrtc: a binary WebSocket message "
                              "ignored (the protocol is JSON text)");
                break;
            }

            ngx_ams_webrtc_ams_message(&io->ws, (u_char *) msg.data,
                                       msg.len);
            break;

        case NGX_AMS_WS_CONTROL:
            if (msg.opcode == NGX_AMS_WS_PING) {
                (void) ngx_ams_webrtc_ws_frame(io, NGX_AMS_WS_PONG,
                                               (u_char *) msg.data, msg.len);

            } else if (msg.opcode == NGX_AMS_WS_CLOSE) {
                /* the closing handshake: answered, then the end */
                ngx_ams_webrtc_ws_close(&io->ws, NGX_AMS_WS_CLOSE_NORMAL);
            }

            break;

        default: /* a fragment taken */
            break;
        }
    }

    if (io->dead) {
        return;
    }

    if (off) {
        ngx_memmove(io->in, io->in + off, io->in_len - off);
        io->in_len -= off;
    }
}


ngx_int_t
ngx_ams_webrtc_ws_send(ngx_ams_webrtc_ws_t *ws, u_char *text, size_t len)
{
    return ngx_ams_webrtc_ws_frame(ws->io, NGX_AMS_WS_TEXT, text, len);
}


void
ngx_ams_webrtc_ws_close(ngx_ams_webrtc_ws_t *ws, ngx_uint_t code)
{
    u_char                   frame[4];
    ngx_ams_webrtc_ws_io_t  *io = ws->io;

    if (io->close_sent || io->dead) {
        return;
    }

    (void) ngx_ams_ws_close_frame(frame, code);
    (void) ngx_ams_webrtc_ws_frame(io, NGX_AMS_WS_CLOSE, frame + 2, 2);

    /* what is queued goes out, then the connection: flush() finalizes */
    io->close_sent = 1;
    ngx_ams_webrtc_ws_flush(io);
}


static ngx_int_t
ngx_ams_webrtc_ws_frame(ngx_ams_webrtc_ws_io_t *io, ngx_uint_t opcode,
    u_char *data, size_t len)
{
    size_t                    hlen;
    u_char                    header[10];
    ngx_ams_webrtc_ws_out_t  *out;

    if (io->close_sent || io->dead) {
        return NGX_ERROR;
    }

    if (io->out_bytes + len > NGX_AMS_WEBRTC_WS_MAX_QUEUED) {
        ngx_log_error(NGX_LOG_INFO, io->ws.log, 0,
                      "ams webrtc: WebSocket client too slow: %uz bytes "
                      "wait for it", io->out_bytes);
        ngx_ams_webrtc_ws_die(io);
        return NGX_ERROR;
    }

    hlen = ngx_ams_ws_frame_header(header, opcode, len);

    out = ngx_alloc(offsetof(ngx_ams_webrtc_ws_out_t, data) + hlen + len,
                    io->ws.log);
    if (out == NULL) {
        ngx_ams_webrtc_ws_die(io);
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, header, hlen);
    if (len) {
        ngx_memcpy(out->data + hlen, data, len);
    }

    out->len = hlen + len;
    out->sent = 0;

    ngx_queue_insert_tail(&io->out, &out->queue);
    io->out_bytes += out->len;

    ngx_ams_webrtc_ws_flush(io);

    return io->dead ? NGX_ERROR : NGX_OK;
}


static void
ngx_ams_webrtc_ws_write_handler(ngx_http_request_t *r)
{
    ngx_ams_webrtc_ws_io_t  *io;

    io = ngx_http_get_module_ctx(r, ngx_ams_webrtc_http_module);

    if (io == NULL || io->dead) {
        return;
    }

    if (r->connection->write->timedout) {
        ngx_log_error(NGX_LOG_INFO, io->ws.log, 0,
                      "ams webrtc: WebSocket client stopped reading");
        ngx_ams_webrtc_ws_die(io);
        return;
    }

    ngx_ams_webrtc_ws_flush(io);
}


static void
ngx_ams_webrtc_ws_flush(ngx_ams_webrtc_ws_io_t *io)
{
    ssize_t                   n;
    ngx_queue_t              *q;
    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_ams_webrtc_ws_out_t  *out;

    r = io->ws.request;
    c = io->ws.connection;

    if (io->dead) {
        return;
    }

    /* the 101 first: nginx may still hold part of it */
    if (r->out) {
        if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
            ngx_ams_webrtc_ws_die(io);
            return;
        }
    }

    while (r->out == NULL && !ngx_queue_empty(&io->out)) {
        q = ngx_queue_head(&io->out);
        out = ngx_queue_data(q, ngx_ams_webrtc_ws_out_t, queue);

        n = c->send(c, out->data + out->sent, out->len - out->sent);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR) {
            ngx_ams_webrtc_ws_die(io);
            return;
        }

        out->sent += n;

        if (out->sent == out->len) {
            io->out_bytes -= out->len;
            ngx_queue_remove(q);
            ngx_free(out);
        }
    }

    if (r->out || !ngx_queue_empty(&io->out)) {
        if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
            ngx_ams_webrtc_ws_die(io);
            return;
        }

        if (!c->write->timer_set) {
            ngx_add_timer(c->write, NGX_AMS_WEBRTC_WS_IDLE);
        }

        return;
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (io->close_sent) {
        ngx_ams_webrtc_ws_die(io);
    }
}


/* the end, whatever the cause: once, from a posted event */

static void
ngx_ams_webrtc_ws_die(ngx_ams_webrtc_ws_io_t *io)
{
    if (io->dead) {
        return;
    }

    io->dead = 1;
    ngx_post_event(&io->finalize, &ngx_posted_events);
}


static void
ngx_ams_webrtc_ws_finalize(ngx_event_t *ev)
{
    ngx_ams_webrtc_ws_io_t  *io = ev->data;

    ngx_http_finalize_request(io->ws.request, NGX_DONE);
}


/* the request is freed: its sessions end, queued frames go */

static void
ngx_ams_webrtc_ws_cleanup(void *data)
{
    ngx_ams_webrtc_ws_io_t  *io = data;

    ngx_queue_t              *q;
    ngx_ams_webrtc_ws_out_t  *out;

    io->dead = 1;
    io->close_sent = 1;

    if (io->finalize.posted) {
        ngx_delete_posted_event(&io->finalize);
    }

    ngx_ams_webrtc_ams_closed(&io->ws);

    while (!ngx_queue_empty(&io->out)) {
        q = ngx_queue_head(&io->out);
        out = ngx_queue_data(q, ngx_ams_webrtc_ws_out_t, queue);
        ngx_queue_remove(q);
        ngx_free(out);
    }
}
