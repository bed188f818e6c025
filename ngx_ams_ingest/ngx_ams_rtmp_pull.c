
/*
 * Copyright (C) nginx-ams authors
 *
 * An RTMP pull: the client side of the protocol on nginx's event loop
 * (ngx_event_connect_peer), with the ingest's own chunk, AMF0 and FLV
 * code.  Plain handshake, connect(app), createStream, play(name?token=),
 * then audio, video and onMetaData into the bus as a publisher's would
 * go (ngx_ams_rtmp_publish.c).  The stream is published here before the
 * connection is made, so that of several workers asked at once exactly
 * one pulls (the bus refuses the others: NGX_BUSY) and their readers
 * open the stream at once and wait for its frames.
 *
 * One timer per pull watches the deadlines: NetStream.Play.Start within
 * start_timeout, media at least every idle_timeout, the origin's check,
 * and the local readers: when none has been left for "release" the pull
 * ends.  Each end unpublishes the stream: local players get its end as
 * from a publisher.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <openssl/rand.h>

#include "ngx_ams_core.h"
#include "ngx_ams_viewers.h"
#include "ngx_ams_broadcast.h"
#include "ngx_ams_avc.h"
#include "ngx_ams_aac.h"
#include "ngx_ams_amf0.h"
#include "ngx_ams_flv.h"
#include "ngx_ams_rtmp_chunk.h"
#include "ngx_ams_rtmp_handshake.h"
#include "ngx_ams_rtmp_pull.h"


#define NGX_AMS_PULL_TICK           250
#define NGX_AMS_PULL_READ_BUF       65536
#define NGX_AMS_PULL_CHUNK          4096      /* what we send: commands */
#define NGX_AMS_PULL_MAX_MESSAGE    (16 * 1024 * 1024)
#define NGX_AMS_PULL_MAX_BUFFERED   (32 * 1024 * 1024)
#define NGX_AMS_RTMP_PULL_MAX_OUT   (1024 * 1024)  /* unsent replies */
#define NGX_AMS_PULL_WINDOW         5000000
#define NGX_AMS_PULL_HS_IN          (1 + 2 * NGX_AMS_RTMP_HANDSHAKE_SIZE)

#define NGX_AMS_PULL_CSID_CONTROL   2
#define NGX_AMS_PULL_CSID_COMMAND   3
#define NGX_AMS_PULL_CSID_PLAY      8

#define NGX_AMS_PULL_TXN_CONNECT    1
#define NGX_AMS_PULL_TXN_CREATE     2

#define NGX_AMS_PULL_HANDSHAKE      0
#define NGX_AMS_PULL_CONNECTING     1         /* connect, createStream */
#define NGX_AMS_PULL_STARTING       2         /* play sent */
#define NGX_AMS_PULL_PLAYING        3


typedef struct {
    ngx_pool_t                   *pool;
    ngx_log_t                    *log;
    ngx_peer_connection_t         peer;
    ngx_addr_t                    addr;
    ngx_event_t                   timer;

    ngx_ams_app_conf_t           *app;
    ngx_str_t                     name;
    ngx_str_t                     host;
    in_port_t                     port;
    ngx_str_t                     token;
    ngx_str_t                     origin;
    ngx_ams_rtmp_pull_conf_t      conf;

    ngx_ams_source_t              source;
    ngx_ams_stream_t             *stream;
    ngx_ams_flv_state_t           flv;

    ngx_uint_t                    state;
    u_char                        hs[NGX_AMS_PULL_HS_IN];
    size_t                        hs_got;
    ngx_ams_rtmp_chunk_parser_t   parser;
    uint32_t                      msid;
    uint64_t                      in_bytes;
    uint64_t                      in_acked;
    uint32_t                      ack_window;

    u_char                       *out;
    size_t                        out_pos;
    size_t                        out_last;
    size_t                        out_cap;

    ngx_msec_t                    started;
    ngx_msec_t                    last_media;
    ngx_msec_t                    unread_since;  /* 0: someone reads */
    uint64_t                      frames;
    const char                   *done;          /* why it ends */
    unsigned                      parser_ready:1;
} ngx_ams_rtmp_pull_t;


static void ngx_ams_rtmp_pull_read(ngx_event_t *rev);
static void ngx_ams_rtmp_pull_write(ngx_event_t *wev);
static void ngx_ams_rtmp_pull_tick(ngx_event_t *ev);
static ngx_int_t ngx_ams_rtmp_pull_flush(ngx_ams_rtmp_pull_t *p);
static u_char *ngx_ams_rtmp_pull_reserve(ngx_ams_rtmp_pull_t *p, size_t n);
static void ngx_ams_rtmp_pull_send(ngx_ams_rtmp_pull_t *p, uint32_t csid,
    uint8_t type, uint32_t msid, const u_char *data, size_t len);
static void ngx_ams_rtmp_pull_handshaken(ngx_ams_rtmp_pull_t *p);
static int ngx_ams_rtmp_pull_message(void *ctx, ngx_ams_rtmp_msg_t *msg,
    const char **err);
static int ngx_ams_rtmp_pull_command(ngx_ams_rtmp_pull_t *p,
    const u_char *data, size_t len, const char **err);
static void ngx_ams_rtmp_pull_data(ngx_ams_rtmp_pull_t *p,
    const u_char *data, size_t len);
static int ngx_ams_rtmp_pull_media(ngx_ams_rtmp_pull_t *p,
    ngx_ams_rtmp_msg_t *msg, const char **err);
static void ngx_ams_rtmp_pull_stop(ngx_ams_source_t *src);
static void ngx_ams_rtmp_pull_end(ngx_ams_rtmp_pull_t *p,
    const char *reason);


static u_char               ngx_ams_rtmp_pull_buf[NGX_AMS_PULL_READ_BUF];
static ngx_ams_amf_arena_t  ngx_ams_rtmp_pull_arena;
static ngx_uint_t           ngx_ams_rtmp_pulls_started;
static ngx_uint_t           ngx_ams_rtmp_pulls_running;


static ngx_int_t
ngx_ams_rtmp_pull_copy(ngx_pool_t *pool, ngx_str_t *dst, ngx_str_t *src)
{
    dst->len = src->len;
    dst->data = ngx_pnalloc(pool, src->len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src->data, src->len);
    dst->data[src->len] = '\0';

    return NGX_OK;
}


ngx_int_t
ngx_ams_rtmp_pull_start(ngx_ams_rtmp_pull_conf_t *conf, ngx_log_t *log)
{
    u_char               *c0c1;
    ngx_int_t             rc;
    ngx_pool_t           *pool;
    ngx_connection_t     *c;
    ngx_ams_rtmp_pull_t  *p;

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pcalloc(pool, sizeof(ngx_ams_rtmp_pull_t));
    if (p == NULL) {
        goto failed;
    }

    p->pool = pool;
    p->log = ngx_cycle->log;
    p->conf = *conf;
    p->app = conf->app;
    p->port = conf->port;

    if (ngx_ams_rtmp_pull_copy(pool, &p->name, &conf->name) != NGX_OK
        || ngx_ams_rtmp_pull_copy(pool, &p->host, &conf->host) != NGX_OK
        || ngx_ams_rtmp_pull_copy(pool, &p->token, &conf->token) != NGX_OK
        || ngx_ams_rtmp_pull_copy(pool, &p->origin, &conf->origin)
           != NGX_OK)
    {
        goto failed;
    }

    if (ngx_parse_addr(pool, &p->addr, p->host.data, p->host.len)
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ams rtmp pull: \"%V\" is not an address", &p->host);
        goto failed;
    }

    ngx_inet_set_port(p->addr.sockaddr, p->port);

    /* the name first: of several workers asked at once, one pulls */
    p->source.kind = NGX_AMS_SOURCE_RELAY;
    p->source.publish_type = "RTMP";
    p->source.stop = ngx_ams_rtmp_pull_stop;
    p->source.data = p;

    rc = ngx_ams_bus_publish(p->app, &p->name, &p->source, log, &p->stream);

    if (rc != NGX_OK) {
        if (rc != NGX_BUSY && p->stream) {
            ngx_ams_bus_unpublish(p->stream, log);
        }

        ngx_destroy_pool(pool);

        return (rc == NGX_BUSY) ? NGX_BUSY : NGX_ERROR;
    }

    ngx_ams_rtmp_pulls_started++;
    ngx_ams_rtmp_pulls_running++;

    p->started = ngx_current_msec;
    p->last_media = p->started;
    p->unread_since = p->started;
    p->ack_window = NGX_AMS_PULL_WINDOW;

    p->timer.handler = ngx_ams_rtmp_pull_tick;
    p->timer.data = p;
    p->timer.log = p->log;
    p->timer.cancelable = 1;
    ngx_add_timer(&p->timer, NGX_AMS_PULL_TICK);

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "ams rtmp pull: \"%V/%V\" from %V:%d", &p->app->name,
                  &p->name, &p->host, (int) p->port);

    p->peer.sockaddr = p->addr.sockaddr;
    p->peer.socklen = p->addr.socklen;
    p->peer.name = &p->host;
    p->peer.get = ngx_event_get_peer;
    p->peer.log = p->log;
    p->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&p->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_ams_rtmp_pull_end(p, "cannot connect");
        return NGX_OK;
    }

    c = p->peer.connection;
    c->data = p;
    c->pool = pool;
    c->log = p->log;
    c->read->log = p->log;
    c->write->log = p->log;
    c->read->handler = ngx_ams_rtmp_pull_read;
    c->write->handler = ngx_ams_rtmp_pull_write;

    /* a worker that exits (stop, reload) closes it like a keepalive one */
    c->idle = 1;

    /* C0, and a C1 of version 0: the plain handshake */
    c0c1 = ngx_ams_rtmp_pull_reserve(p, 1 + NGX_AMS_RTMP_HANDSHAKE_SIZE);
    if (c0c1 == NULL) {
        ngx_ams_rtmp_pull_end(p, "no memory");
        return NGX_OK;
    }

    c0c1[0] = NGX_AMS_RTMP_VERSION;
    ngx_memzero(c0c1 + 1, 8);
    (void) RAND_bytes(c0c1 + 9, NGX_AMS_RTMP_HANDSHAKE_SIZE - 8);
    p->out_last += 1 + NGX_AMS_RTMP_HANDSHAKE_SIZE;

    if (rc == NGX_OK && ngx_ams_rtmp_pull_flush(p) != NGX_OK) {
        ngx_ams_rtmp_pull_end(p, "cannot send");
    }

    /* NGX_AGAIN: the write handler sends once it is connected */

    return NGX_OK;

failed:

    ngx_destroy_pool(pool);

    return NGX_ERROR;
}


ngx_uint_t
ngx_ams_rtmp_pull_count(ngx_uint_t running)
{
    return running ? ngx_ams_rtmp_pulls_running : ngx_ams_rtmp_pulls_started;
}


static void
ngx_ams_rtmp_pull_read(ngx_event_t *rev)
{
    size_t                take;
    ssize_t               n;
    ngx_connection_t     *c;
    ngx_ams_rtmp_pull_t  *p;
    u_char                ack[4];

    c = rev->data;
    p = c->data;

    if (c->close) {
        ngx_ams_rtmp_pull_end(p, "the worker exits");
        return;
    }

    for ( ;; ) {
        n = c->recv(c, ngx_ams_rtmp_pull_buf, NGX_AMS_PULL_READ_BUF);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_ams_rtmp_pull_end(p, n == 0 ? "the origin closed"
                                            : "connection error");
            return;
        }

        p->in_bytes += n;

        if (p->state == NGX_AMS_PULL_HANDSHAKE) {
            take = ngx_min((size_t) n, NGX_AMS_PULL_HS_IN - p->hs_got);
            ngx_memcpy(p->hs + p->hs_got, ngx_ams_rtmp_pull_buf, take);
            p->hs_got += take;

            if (p->hs_got < NGX_AMS_PULL_HS_IN) {
                continue;
            }

            if (p->hs[0] != NGX_AMS_RTMP_VERSION) {
                ngx_ams_rtmp_pull_end(p, "not RTMP (S0)");
                return;
            }

            ngx_ams_rtmp_pull_handshaken(p);

            if (p->done) {
                ngx_ams_rtmp_pull_end(p, p->done);
                return;
            }

            if ((size_t) n == take) {
                continue;
            }

            if (ngx_ams_rtmp_chunk_parse(&p->parser,
                                         ngx_ams_rtmp_pull_buf + take,
                                         n - take)
                != 0)
            {
                ngx_ams_rtmp_pull_end(p, p->done ? p->done
                                                 : p->parser.error);
                return;
            }

        } else if (ngx_ams_rtmp_chunk_parse(&p->parser,
                                            ngx_ams_rtmp_pull_buf, n)
                   != 0)
        {
            ngx_ams_rtmp_pull_end(p, p->done ? p->done : p->parser.error);
            return;
        }

        if (p->done) {
            ngx_ams_rtmp_pull_end(p, p->done);
            return;
        }

        if (p->in_bytes - p->in_acked >= p->ack_window) {
            p->in_acked = p->in_bytes;
            ack[0] = (u_char) (p->in_bytes >> 24);
            ack[1] = (u_char) (p->in_bytes >> 16);
            ack[2] = (u_char) (p->in_bytes >> 8);
            ack[3] = (u_char) p->in_bytes;
            ngx_ams_rtmp_pull_send(p, NGX_AMS_PULL_CSID_CONTROL,
                                   NGX_AMS_RTMP_MSG_ACK, 0, ack, 4);
        }
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_ams_rtmp_pull_end(p, "event error");
        return;
    }

    if (ngx_ams_rtmp_pull_flush(p) == NGX_ERROR) {
        ngx_ams_rtmp_pull_end(p, "cannot send");
    }
}


static void
ngx_ams_rtmp_pull_write(ngx_event_t *wev)
{
    ngx_connection_t     *c;
    ngx_ams_rtmp_pull_t  *p;

    c = wev->data;
    p = c->data;

    if (ngx_ams_rtmp_pull_flush(p) == NGX_ERROR) {
        ngx_ams_rtmp_pull_end(p, "cannot connect or send");
    }
}


static ngx_int_t
ngx_ams_rtmp_pull_flush(ngx_ams_rtmp_pull_t *p)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = p->peer.connection;

    while (p->out_pos < p->out_last) {
        n = c->send(c, p->out + p->out_pos, p->out_last - p->out_pos);

        if (n == NGX_ERROR) {
            return NGX_ERROR;
        }

        if (n == NGX_AGAIN || n == 0) {
            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                return NGX_ERROR;
            }

            return NGX_AGAIN;
        }

        p->out_pos += n;
    }

    p->out_pos = 0;
    p->out_last = 0;

    return NGX_OK;
}


static u_char *
ngx_ams_rtmp_pull_reserve(ngx_ams_rtmp_pull_t *p, size_t n)
{
    u_char  *out;
    size_t   cap;

    if (p->out_last + n <= p->out_cap) {
        return p->out + p->out_last;
    }

    /* an origin that makes us answer (pings, acknowledgements) and never
     * reads: the pull ends rather than buffer without end */
    if (p->out_last + n > NGX_AMS_RTMP_PULL_MAX_OUT) {
        p->done = "the origin does not read what it asks for";
        return NULL;
    }

    cap = ngx_max(p->out_cap * 2, p->out_last + n + 4096);

    out = ngx_alloc(cap, p->log);
    if (out == NULL) {
        return NULL;
    }

    if (p->out) {
        ngx_memcpy(out, p->out, p->out_last);
        ngx_free(p->out);
    }

    p->out = out;
    p->out_cap = cap;

    return p->out + p->out_last;
}


static void
ngx_ams_rtmp_pull_send(ngx_ams_rtmp_pull_t *p, uint32_t csid, uint8_t type,
    uint32_t msid, const u_char *data, size_t len)
{
    u_char  *out;

    out = ngx_ams_rtmp_pull_reserve(p,
                                    ngx_ams_rtmp_chunk_bound(len,
                                                      NGX_AMS_PULL_CHUNK));
    if (out == NULL) {
        p->done = p->done ? p->done : "no memory";
        return;
    }

    p->out_last += ngx_ams_rtmp_chunk_write(out, NGX_AMS_PULL_CHUNK, csid, 0,
                                            type, msid, data, len);
}


/* S0 S1 S2 came: C2 echoes S1, then our chunk size and connect(app) */

static void
ngx_ams_rtmp_pull_handshaken(ngx_ams_rtmp_pull_t *p)
{
    u_char                *c2, *tc;
    u_char                 size[4], buf[1024];
    ngx_ams_amf_writer_t   w;

    c2 = ngx_ams_rtmp_pull_reserve(p, NGX_AMS_RTMP_HANDSHAKE_SIZE);
    if (c2 == NULL) {
        p->done = p->done ? p->done : "no memory";
        return;
    }

    ngx_memcpy(c2, p->hs + 1, NGX_AMS_RTMP_HANDSHAKE_SIZE);
    p->out_last += NGX_AMS_RTMP_HANDSHAKE_SIZE;

    ngx_ams_rtmp_chunk_init(&p->parser, NGX_AMS_PULL_MAX_MESSAGE,
                            ngx_ams_rtmp_pull_message, p);
    ngx_ams_rtmp_chunk_limits(&p->parser, NGX_AMS_PULL_MAX_MESSAGE,
                              NGX_AMS_PULL_MAX_BUFFERED, NULL, 0);
    p->parser_ready = 1;
    p->state = NGX_AMS_PULL_CONNECTING;

    size[0] = 0;
    size[1] = 0;
    size[2] = (u_char) (NGX_AMS_PULL_CHUNK >> 8);
    size[3] = (u_char) NGX_AMS_PULL_CHUNK;
    ngx_ams_rtmp_pull_send(p, NGX_AMS_PULL_CSID_CONTROL,
                           NGX_AMS_RTMP_MSG_CHUNK_SIZE, 0, size, 4);

    tc = ngx_pnalloc(p->pool, sizeof("rtmp://[]:65535/") - 1 + p->host.len
                              + p->app->name.len);
    if (tc == NULL) {
        p->done = "no memory";
        return;
    }

    w.p = buf;
    w.end = buf + sizeof(buf);
    w.overflow = 0;
    ngx_ams_amf_put_cstring(&w, "connect");
    ngx_ams_amf_put_number(&w, NGX_AMS_PULL_TXN_CONNECT);
    ngx_ams_amf_put_object_start(&w);
    ngx_ams_amf_put_key(&w, "app");
    ngx_ams_amf_put_string(&w, p->app->name.data, p->app->name.len);
    ngx_ams_amf_put_key(&w, "type");
    ngx_ams_amf_put_cstring(&w, "nonprivate");
    ngx_ams_amf_put_key(&w, "flashVer");
    ngx_ams_amf_put_cstring(&w, "LNX 9,0,124,2 (nginx-ams pull)");
    ngx_ams_amf_put_key(&w, "tcUrl");
    ngx_ams_amf_put_string(&w, tc,
                           ngx_sprintf(tc, "rtmp://%s%V%s:%d/%V",
                                       p->addr.sockaddr->sa_family
                                       == AF_INET6 ? "[" : "", &p->host,
                                       p->addr.sockaddr->sa_family
                                       == AF_INET6 ? "]" : "",
                                       (int) p->port, &p->app->name)
                           - tc);
    ngx_ams_amf_put_key(&w, "fpad");
    ngx_ams_amf_put_bool(&w, 0);
    ngx_ams_amf_put_key(&w, "capabilities");
    ngx_ams_amf_put_number(&w, 15);
    ngx_ams_amf_put_key(&w, "audioCodecs");
    ngx_ams_amf_put_number(&w, 3191);
    ngx_ams_amf_put_key(&w, "videoCodecs");
    ngx_ams_amf_put_number(&w, 252);
    ngx_ams_amf_put_key(&w, "videoFunction");
    ngx_ams_amf_put_number(&w, 1);
    ngx_ams_amf_put_object_end(&w);

    if (w.overflow) {
        p->done = "connect too long";
        return;
    }

    ngx_ams_rtmp_pull_send(p, NGX_AMS_PULL_CSID_COMMAND,
                           NGX_AMS_RTMP_MSG_AMF_CMD, 0, buf, w.p - buf);
}


/* Context: the chunk parser, inside ngx_ams_rtmp_pull_read(); an end is
 * only noted (p->done): the parser's buffers are still in use */

static int
ngx_ams_rtmp_pull_message(void *ctx, ngx_ams_rtmp_msg_t *msg,
    const char **err)
{
    ngx_ams_rtmp_pull_t *p = ctx;

    u_char  pong[6];

    if (p->done) {
        return 0;
    }

    switch (msg->type) {

    case NGX_AMS_RTMP_MSG_ACK_SIZE:
        if (msg->length >= 4) {
            p->ack_window = (uint32_t) msg->data[0] << 24
                            | (uint32_t) msg->data[1] << 16
                            | (uint32_t) msg->data[2] << 8
                            | msg->data[3];
            if (p->ack_window == 0) {
                p->ack_window = NGX_AMS_PULL_WINDOW;
            }
        }
        return 0;

    case NGX_AMS_RTMP_MSG_USER:
        if (msg->length >= 6 && msg->data[0] == 0 && msg->data[1] == 6) {
            /* ping request: the same timestamp back */
            pong[0] = 0;
            pong[1] = 7;
            ngx_memcpy(pong + 2, msg->data + 2, 4);
            ngx_ams_rtmp_pull_send(p, NGX_AMS_PULL_CSID_CONTROL,
                                   NGX_AMS_RTMP_MSG_USER, 0, pong, 6);
        }
        return 0;

    case NGX_AMS_RTMP_MSG_AMF_CMD:
        return ngx_ams_rtmp_pull_command(p, msg->data, msg->length, err);

    case NGX_AMS_RTMP_MSG_AMF3_CMD:
        if (msg->length < 1) {
            return 0;
        }
        return ngx_ams_rtmp_pull_command(p, msg->data + 1, msg->length - 1,
                                         err);

    case NGX_AMS_RTMP_MSG_AMF_DATA:
        if (p->state == NGX_AMS_PULL_PLAYING) {
            ngx_ams_rtmp_pull_data(p, msg->data, msg->length);
        }
        return 0;

    case NGX_AMS_RTMP_MSG_AUDIO:
    case NGX_AMS_RTMP_MSG_VIDEO:
        if (p->state != NGX_AMS_PULL_PLAYING) {
            return 0;
        }
        return ngx_ams_rtmp_pull_media(p, msg, err);

    default:
        return 0;
    }
}


static int
ngx_ams_rtmp_pull_command(ngx_ams_rtmp_pull_t *p, const u_char *data,
    size_t len, const char **err)
{
    size_t                 n;
    ngx_ams_amf_t         *cmd, *txn, *v, *info, *code;
    ngx_ams_amf_writer_t   w;
    u_char                 buf[NGX_AMS_NAME_LEN + 4200];

    cmd = ngx_ams_amf_decode(&ngx_ams_rtmp_pull_arena, data, len);

    if (!ngx_ams_amf_is_string(cmd)) {
        return 0;
    }

    txn = cmd->next;

    if ((cmd->len == 7 && ngx_strncmp(cmd->str, "_result", 7) == 0)
        && txn && txn->type == NGX_AMS_AMF_NUMBER)
    {
        if (txn->num == NGX_AMS_PULL_TXN_CONNECT
            && p->state == NGX_AMS_PULL_CONNECTING)
        {
            w.p = buf;
            w.end = buf + sizeof(buf);
            w.overflow = 0;
            ngx_ams_amf_put_cstring(&w, "createStream");
            ngx_ams_amf_put_number(&w, NGX_AMS_PULL_TXN_CREATE);
            ngx_ams_amf_put_null(&w);
            ngx_ams_rtmp_pull_send(p, NGX_AMS_PULL_CSID_COMMAND,
                                   NGX_AMS_RTMP_MSG_AMF_CMD, 0, buf,
                                   w.p - buf);
            return 0;
        }

        if (txn->num == NGX_AMS_PULL_TXN_CREATE
            && p->state == NGX_AMS_PULL_CONNECTING)
        {
            v = ngx_ams_amf_nth(cmd, 3);
            p->msid = (v && v->type == NGX_AMS_AMF_NUMBER)
                      ? (uint32_t) v->num : 1;

            w.p = buf;
            w.end = buf + sizeof(buf);
            w.overflow = 0;
            ngx_ams_amf_put_cstring(&w, "play");
            ngx_ams_amf_put_number(&w, 0);
            ngx_ams_amf_put_null(&w);

            /* "name?token=..." */
            n = p->name.len;
            ngx_memcpy(buf + 1024, p->name.data, n);
            /* the name and its token after the first 1024 bytes, where
             * the command is written: both must fit in what is left */
            if (p->token.len
                && 1024 + n + 7 + p->token.len <= sizeof(buf))
            {
                ngx_memcpy(buf + 1024 + n, "?token=", 7);
                ngx_memcpy(buf + 1024 + n + 7, p->token.data, p->token.len);
                n += 7 + p->token.len;
            }
            ngx_ams_amf_put_string(&w, buf + 1024, n);
            ngx_ams_amf_put_number(&w, -2000);

            if (w.overflow) {
                p->done = "play too long";
                return 0;
            }

            ngx_ams_rtmp_pull_send(p, NGX_AMS_PULL_CSID_PLAY,
                                   NGX_AMS_RTMP_MSG_AMF_CMD, p->msid, buf,
                                   w.p - buf);
            p->state = NGX_AMS_PULL_STARTING;
        }

        return 0;
    }

    if (cmd->len == 6 && ngx_strncmp(cmd->str, "_error", 6) == 0) {
        p->done = "the origin refused (_error)";
        return 0;
    }

    if (!(cmd->len == 8 && ngx_strncmp(cmd->str, "onStatus", 8) == 0)) {
        return 0;
    }

    info = ngx_ams_amf_nth(cmd, 3);
    code = info ? ngx_ams_amf_get(info, "code") : NULL;

    if (!ngx_ams_amf_is_string(code)) {
        return 0;
    }

#define ngx_ams_pull_code(s)                                                 \
    (code->len == sizeof(s) - 1 && ngx_strncmp(code->str, s, code->len) == 0)

    if (ngx_ams_pull_code("NetStream.Play.Start")) {
        if (p->state == NGX_AMS_PULL_STARTING) {
            p->state = NGX_AMS_PULL_PLAYING;
            p->last_media = ngx_current_msec;

            ngx_log_error(NGX_LOG_INFO, p->log, 0,
                          "ams rtmp pull: \"%V/%V\" playing from %V:%d "
                          "after %M ms", &p->app->name, &p->name, &p->host,
                          (int) p->port, ngx_current_msec - p->started);
        }

        return 0;
    }

    if (ngx_ams_pull_code("NetStream.Play.UnpublishNotify")
        || ngx_ams_pull_code("NetStream.Play.Stop"))
    {
        p->done = "the origin's stream ended";
        return 0;
    }

    if (ngx_ams_pull_code("NetStream.Play.StreamNotFound")
        || ngx_ams_pull_code("NetStream.Play.Failed")
        || ngx_ams_pull_code("NetStream.Failed")
        || ngx_ams_pull_code("NetConnection.Connect.Rejected"))
    {
        p->done = "the origin refused the play";
    }

#undef ngx_ams_pull_code

    return 0;
}


/* onMetaData, as the origin's players get it: the data track's config */

static void
ngx_ams_rtmp_pull_data(ngx_ams_rtmp_pull_t *p, const u_char *data,
    size_t len)
{
    ngx_ams_amf_t  *v, *meta, *w, *h;

    /* the origin sends what its publisher's "@setDataFrame" carried:
     * "onMetaData" and its object */
    v = ngx_ams_amf_decode(&ngx_ams_rtmp_pull_arena, data, len);

    if (!ngx_ams_amf_is_string(v) || v->len != 10
        || ngx_strncmp(v->str, "onMetaData", 10) != 0)
    {
        return;
    }

    meta = v->next;

    if (meta) {
        w = ngx_ams_amf_get(meta, "width");
        h = ngx_ams_amf_get(meta, "height");

        if (w && h && w->type == NGX_AMS_AMF_NUMBER
            && h->type == NGX_AMS_AMF_NUMBER && p->stream->width == 0)
        {
            p->stream->width = (uint32_t) w->num;
            p->stream->height = (uint32_t) h->num;
        }
    }

    if (len <= NGX_AMS_CONFIG_MAX) {
        ngx_ams_bus_set_config(p->stream, NGX_AMS_TRACK_DATA, 0, data, len);
    }
}


static int
ngx_ams_rtmp_pull_media(ngx_ams_rtmp_pull_t *p, ngx_ams_rtmp_msg_t *msg,
    const char **err)
{
    int                    rc;
    const uint8_t         *data;
    ngx_ams_frame_t        frame;
    ngx_ams_avc_config_t   avc;
    ngx_ams_aac_config_t   aac;

    p->last_media = ngx_current_msec;

    rc = ngx_ams_flv_to_frame(&p->flv, msg->type == NGX_AMS_RTMP_MSG_VIDEO,
                              msg->timestamp, msg->data, msg->length, &frame,
                              &data, err);

    switch (rc) {

    case NGX_AMS_FLV_OK:
        break;

    case NGX_AMS_FLV_CONFIG:
        if (frame.track == NGX_AMS_TRACK_VIDEO) {
            if (ngx_ams_avc_parse_config(data, frame.size, &avc, err) != 0) {
                return -1;
            }

            p->flv.has_video = 1;
            p->stream->width = avc.width;
            p->stream->height = avc.height;
            ngx_ams_bus_set_config(p->stream, NGX_AMS_TRACK_VIDEO,
                                   NGX_AMS_CODEC_H264, data, frame.size);
            return 0;
        }

        if (ngx_ams_aac_parse_config(data, frame.size, &aac, err) != 0) {
            return -1;
        }

        p->flv.has_audio = 1;
        ngx_ams_bus_set_config(p->stream, NGX_AMS_TRACK_AUDIO,
                               NGX_AMS_CODEC_AAC, data, frame.size);
        return 0;

    case NGX_AMS_FLV_ERROR:
        return -1;

    default: /* NGX_AMS_FLV_NO_CONFIG, NGX_AMS_FLV_SKIP */
        return 0;
    }

    if (p->frames++ == 0) {
        ngx_log_error(NGX_LOG_INFO, p->log, 0,
                      "ams rtmp pull: \"%V/%V\" first frame after %M ms",
                      &p->app->name, &p->name,
                      ngx_current_msec - p->started);
    }

    (void) ngx_ams_bus_write(p->stream, &frame, data);

    return 0;
}


/* does anyone here still read the stream: an RTMP player, a WebRTC
 * session (bus readers, on any worker), an HLS/DASH viewer */

static ngx_uint_t
ngx_ams_rtmp_pull_read_here(ngx_ams_rtmp_pull_t *p)
{
    ngx_uint_t         i;
    ngx_ams_stream_t  *st;

    st = p->stream;

    for (i = 0; i < NGX_AMS_SLOT_WORDS; i++) {
        if (st->readers.word[i]) {
            return 1;
        }
    }

    return ngx_ams_broadcast_viewers(st, p->app, NGX_AMS_VIEWER_HLS)
           + ngx_ams_broadcast_viewers(st, p->app, NGX_AMS_VIEWER_DASH)
           != 0;
}


static void
ngx_ams_rtmp_pull_tick(ngx_event_t *ev)
{
    ngx_msec_t            now;
    ngx_ams_rtmp_pull_t  *p;

    p = ev->data;
    now = ngx_current_msec;

    if (p->state != NGX_AMS_PULL_PLAYING
        && now - p->started >= p->conf.start_timeout)
    {
        ngx_ams_rtmp_pull_end(p, "no NetStream.Play.Start in time");
        return;
    }

    if (p->state == NGX_AMS_PULL_PLAYING
        && now - p->last_media >= p->conf.idle_timeout)
    {
        ngx_ams_rtmp_pull_end(p, "no media in time");
        return;
    }

    if (p->conf.check && !p->conf.check(&p->origin)) {
        ngx_ams_rtmp_pull_end(p, "the origin is gone");
        return;
    }

    if (ngx_ams_rtmp_pull_read_here(p)) {
        p->unread_since = 0;

    } else if (p->unread_since == 0) {
        p->unread_since = now;

    } else if (now - p->unread_since >= p->conf.release) {
        ngx_ams_rtmp_pull_end(p, "no reader left");
        return;
    }

    ngx_add_timer(ev, NGX_AMS_PULL_TICK);
}


/* Context: the pulling worker; REST deleted the broadcast here */

static void
ngx_ams_rtmp_pull_stop(ngx_ams_source_t *src)
{
    ngx_ams_rtmp_pull_end(src->data, "stopped");
}


static void
ngx_ams_rtmp_pull_end(ngx_ams_rtmp_pull_t *p, const char *reason)
{
    ngx_log_error(NGX_LOG_INFO, p->log, 0,
                  "ams rtmp pull: \"%V/%V\" from %V:%d ended: %s, %uL "
                  "frames", &p->app->name, &p->name, &p->host, (int) p->port,
                  reason, p->frames);

    if (p->timer.timer_set) {
        ngx_del_timer(&p->timer);
    }

    if (p->stream) {
        ngx_ams_bus_unpublish(p->stream, p->log);
        p->stream = NULL;
    }

    if (p->peer.connection) {
        ngx_close_connection(p->peer.connection);
        p->peer.connection = NULL;
    }

    if (p->parser_ready) {
        ngx_ams_rtmp_chunk_free(&p->parser);
    }

    if (p->out) {
        ngx_free(p->out);
    }

    ngx_ams_rtmp_pulls_running--;

    ngx_destroy_pool(p->pool);
}
