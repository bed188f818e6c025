
/*
 * Copyright (C) nginx-ams authors
 *
 * One RTMP connection: handshake, commands, publishing into the bus and
 * playing from it.  Everything runs on the event loop and never blocks:
 * a publisher's frames go into the shared-memory ring, a player takes
 * frames from the ring only while its socket keeps up.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_ams_rtmp.h"
#include "ngx_ams_amf0.h"
#include "ngx_ams_flv.h"
#include "ngx_ams_avc.h"
#include "ngx_ams_aac.h"
#include "ngx_ams_access.h"
#include "ngx_ams_jwt.h"


#define NGX_AMS_RTMP_READ_BUF      65536
#define NGX_AMS_RTMP_WINDOW        5000000
#define NGX_AMS_RTMP_MSID          1

/* chunk stream ids of what we send */
#define NGX_AMS_CSID_CONTROL       2
#define NGX_AMS_CSID_COMMAND       3
#define NGX_AMS_CSID_STATUS        5
#define NGX_AMS_CSID_AUDIO         6
#define NGX_AMS_CSID_VIDEO         7

#define NGX_AMS_USER_STREAM_BEGIN  0
#define NGX_AMS_USER_STREAM_EOF    1
#define NGX_AMS_USER_PING_REQUEST  6
#define NGX_AMS_USER_PING_RESPONSE 7


/* publishers: their bitrate over each period sets the socket's low
 * watermark; while one is set, a timer looks for bytes held below it */
#define NGX_AMS_RTMP_RATE_PERIOD   2000
#define NGX_AMS_RTMP_MAX_LOWAT     16384
#define NGX_AMS_RTMP_LOWAT_POLL    500


static void ngx_ams_rtmp_read_handler(ngx_event_t *rev);
static void ngx_ams_rtmp_tune_lowat(ngx_ams_rtmp_session_t *rs);
static void ngx_ams_rtmp_set_lowat(ngx_ams_rtmp_session_t *rs, int lowat);
static void ngx_ams_rtmp_write_handler(ngx_event_t *wev);
static ngx_int_t ngx_ams_rtmp_feed(ngx_ams_rtmp_session_t *rs, u_char *p,
    size_t n);
static int ngx_ams_rtmp_on_message(void *ctx, ngx_ams_rtmp_msg_t *msg,
    const char **err);
static int ngx_ams_rtmp_on_command(ngx_ams_rtmp_session_t *rs,
    ngx_ams_rtmp_msg_t *msg, const u_char *p, size_t len, const char **err);
static int ngx_ams_rtmp_connect(ngx_ams_rtmp_session_t *rs, double txn,
    ngx_ams_amf_t *obj, const char **err);
static int ngx_ams_rtmp_publish(ngx_ams_rtmp_session_t *rs,
    ngx_ams_amf_t *name, const char **err);
static int ngx_ams_rtmp_play(ngx_ams_rtmp_session_t *rs, ngx_ams_amf_t *name,
    const char **err);
static void ngx_ams_rtmp_stop(ngx_ams_rtmp_session_t *rs);
static int ngx_ams_rtmp_on_media(ngx_ams_rtmp_session_t *rs,
    ngx_ams_rtmp_msg_t *msg, const char **err);
static int ngx_ams_rtmp_on_data(ngx_ams_rtmp_session_t *rs,
    const u_char *p, size_t len);
static ngx_int_t ngx_ams_rtmp_take_name(ngx_ams_rtmp_session_t *rs,
    ngx_ams_amf_t *v);
static void ngx_ams_rtmp_play_wait(ngx_ams_rtmp_session_t *rs);
static void ngx_ams_rtmp_play_open(ngx_ams_rtmp_session_t *rs);
static void ngx_ams_rtmp_source_stop(ngx_ams_source_t *src);
static void ngx_ams_rtmp_admit(ngx_ams_rtmp_session_t *rs,
    ngx_uint_t publisher);
static void ngx_ams_rtmp_admitted(void *data, const char *refused);
static void ngx_ams_rtmp_admission(ngx_ams_rtmp_session_t *rs,
    ngx_uint_t publisher, const char *refused);
static void ngx_ams_rtmp_publish_start(ngx_ams_rtmp_session_t *rs);
static void ngx_ams_rtmp_play_start(ngx_ams_rtmp_session_t *rs);
static void ngx_ams_rtmp_reader_handler(ngx_ams_reader_t *rd);
static void ngx_ams_rtmp_pump(ngx_ams_rtmp_session_t *rs);
static void ngx_ams_rtmp_send_config(ngx_ams_rtmp_session_t *rs,
    ngx_ams_bus_event_t *ev);
static u_char *ngx_ams_rtmp_reserve(ngx_ams_rtmp_session_t *rs, size_t n);
static void ngx_ams_rtmp_queue(ngx_ams_rtmp_session_t *rs, uint32_t csid,
    uint32_t ts, uint8_t type, uint32_t msid, const u_char *head,
    size_t head_len, const u_char *body, size_t body_len);
static void ngx_ams_rtmp_send_control(ngx_ams_rtmp_session_t *rs,
    uint8_t type, uint32_t value, int extra);
static void ngx_ams_rtmp_send_user(ngx_ams_rtmp_session_t *rs,
    uint16_t event, uint32_t value);
static void ngx_ams_rtmp_send_result(ngx_ams_rtmp_session_t *rs,
    double txn, const char *name);
static void ngx_ams_rtmp_send_status(ngx_ams_rtmp_session_t *rs,
    const char *level, const char *code, const char *description);
static ngx_int_t ngx_ams_rtmp_flush(ngx_ams_rtmp_session_t *rs);
static void ngx_ams_rtmp_finalize(ngx_ams_rtmp_session_t *rs);


/* AMF decoding scratch: a worker runs one session callback at a time */
static ngx_ams_amf_arena_t  ngx_ams_rtmp_arena;
static u_char               ngx_ams_rtmp_read_buf[NGX_AMS_RTMP_READ_BUF];


void
ngx_ams_rtmp_init_session(ngx_stream_session_t *s)
{
    ngx_connection_t         *c;
    ngx_ams_rtmp_session_t   *rs;

    c = s->connection;

    rs = ngx_pcalloc(c->pool, sizeof(ngx_ams_rtmp_session_t));
    if (rs == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    rs->session = s;
    rs->connection = c;
    rs->conf = ngx_stream_get_module_srv_conf(s, ngx_ams_ingest_module);
    rs->ack_window = NGX_AMS_RTMP_WINDOW;

    rs->hs = ngx_palloc(c->pool, 1 + 2 * NGX_AMS_RTMP_HANDSHAKE_SIZE);
    if (rs->hs == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_ams_rtmp_chunk_init(&rs->parser, rs->conf->max_message,
                            ngx_ams_rtmp_on_message, rs);

    rs->reader.latency = NGX_AMS_LATENCY_BATCHED;
    rs->reader.handler = ngx_ams_rtmp_reader_handler;
    rs->reader.data = rs;

    rs->source.kind = NGX_AMS_SOURCE_PUBLISHER;
    rs->source.publish_type = "RTMP";
    rs->source.stop = ngx_ams_rtmp_source_stop;
    rs->source.data = rs;

    ngx_stream_set_ctx(s, rs, ngx_ams_ingest_module);

    c->read->handler = ngx_ams_rtmp_read_handler;
    c->write->handler = ngx_ams_rtmp_write_handler;

    ngx_add_timer(c->read, rs->conf->timeout);

    ngx_ams_rtmp_read_handler(c->read);
}


static void
ngx_ams_rtmp_read_handler(ngx_event_t *rev)
{
    ssize_t                  n;
    ngx_uint_t               poll;
    ngx_connection_t        *c;
    ngx_stream_session_t    *s;
    ngx_ams_rtmp_session_t  *rs;

    c = rev->data;
    s = c->data;
    rs = ngx_stream_get_module_ctx(s, ngx_ams_ingest_module);
    poll = 0;

    if (rev->timedout) {
        rev->timedout = 0;

        /* a quiet player (playing, or waiting for a publisher) is asked
         * to answer a ping before it is dropped */
        if ((rs->playing || rs->waiting) && !rs->ping_sent) {
            rs->ping_sent = 1;
            ngx_ams_rtmp_send_user(rs, NGX_AMS_USER_PING_REQUEST,
                                   (uint32_t) ngx_current_msec);
            ngx_add_timer(rev, rs->conf->timeout);
            (void) ngx_ams_rtmp_flush(rs);
            return;
        }

        if (!rs->lowat) {
            ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                          "ams rtmp: client timed out");
            ngx_ams_rtmp_finalize(rs);
            return;
        }

        /* a low watermark may hold bytes back without an event: look */
        poll = 1;
        rev->ready = 1;
#if (NGX_HAVE_EPOLLRDHUP)
        rev->available = -1;
#endif
    }

    for ( ;; ) {
        n = c->recv(c, ngx_ams_rtmp_read_buf, NGX_AMS_RTMP_READ_BUF);

        if (n == NGX_AGAIN) {
            if (poll && ngx_current_msec - rs->last_read >= rs->conf->timeout)
            {
                ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                              "ams rtmp: client timed out");
                ngx_ams_rtmp_finalize(rs);
                return;
            }
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "ams rtmp: client closed the connection");
            ngx_ams_rtmp_finalize(rs);
            return;
        }

        rs->last_read = ngx_current_msec;
        rs->ping_sent = 0;

        if (ngx_ams_rtmp_feed(rs, ngx_ams_rtmp_read_buf, n) != NGX_OK) {
            ngx_ams_rtmp_finalize(rs);
            return;
        }

        if (rs->closing) {
            break;
        }
    }

    if (rs->publishing
        && ngx_current_msec - rs->rate_start >= NGX_AMS_RTMP_RATE_PERIOD)
    {
        ngx_ams_rtmp_tune_lowat(rs);
    }

    if (!rs->closing) {
        ngx_add_timer(rev, rs->lowat ? ngx_min(NGX_AMS_RTMP_LOWAT_POLL,
                                               rs->conf->timeout)
                                     : rs->conf->timeout);
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_ams_rtmp_finalize(rs);
        return;
    }

    if (ngx_ams_rtmp_flush(rs) != NGX_OK) {
        ngx_ams_rtmp_finalize(rs);
    }
}


/*
 * A publisher's frames arrive a few kilobytes at a time, each waking the
 * worker.  Its bitrate, measured over each NGX_AMS_RTMP_RATE_PERIOD, sets
 * the socket's low watermark to about wake_interval's worth of bytes: the
 * worker wakes a few times per interval instead of once per frame, with
 * no more delay than the bus adds anyway.  If the bitrate falls, a poll
 * timer bounds how long bytes below the mark can wait.
 */

static void
ngx_ams_rtmp_tune_lowat(ngx_ams_rtmp_session_t *rs)
{
    int                   lowat;
    uint64_t              rate;
    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    rate = (rs->in_bytes - rs->rate_bytes) * 1000
           / ngx_max(ngx_current_msec - rs->rate_start, 1);

    rs->rate_start = ngx_current_msec;
    rs->rate_bytes = rs->in_bytes;

    lowat = (int) ngx_min(rate * amcf->wake_interval / 1000,
                          NGX_AMS_RTMP_MAX_LOWAT);
    if (lowat < 1024) {
        lowat = 0;
    }

    /* small changes are not worth a system call */
    if (lowat == rs->lowat
        || (lowat && rs->lowat && ngx_abs(lowat - rs->lowat) < rs->lowat / 4))
    {
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_STREAM, rs->connection->log, 0,
                   "ams rtmp: %uL bytes/s, low watermark %d", rate, lowat);

    ngx_ams_rtmp_set_lowat(rs, lowat);
}


static void
ngx_ams_rtmp_set_lowat(ngx_ams_rtmp_session_t *rs, int lowat)
{
    int  v = lowat ? lowat : 1;

    if (setsockopt(rs->connection->fd, SOL_SOCKET, SO_RCVLOWAT, &v,
                   sizeof(int))
        == -1)
    {
        ngx_log_error(NGX_LOG_WARN, rs->connection->log, ngx_socket_errno,
                      "ams rtmp: setsockopt(SO_RCVLOWAT) failed");
        return;
    }

    rs->lowat = lowat;
}


static ngx_int_t
ngx_ams_rtmp_feed(ngx_ams_rtmp_session_t *rs, u_char *p, size_t n)
{
    int                 digest;
    size_t              need;
    u_char             *out;
    const char         *err;
    ngx_connection_t   *c;

    c = rs->connection;

    while (n && rs->state != NGX_AMS_RTMP_CHUNKS) {

        need = (rs->state == NGX_AMS_RTMP_HS_C0C1)
               ? 1 + NGX_AMS_RTMP_HANDSHAKE_SIZE : NGX_AMS_RTMP_HANDSHAKE_SIZE;
        need -= rs->hs_len;
        need = ngx_min(need, n);

        /* C2 is read and dropped: clients differ in what they put there */
        if (rs->state == NGX_AMS_RTMP_HS_C0C1) {
            ngx_memcpy(rs->hs + rs->hs_len, p, need);

            if (rs->hs_len == 0 && p[0] != NGX_AMS_RTMP_VERSION) {
                ngx_log_error(NGX_LOG_ERR, c->log, 0,
                              "ams rtmp: bad handshake: %s, disconnecting",
                              p[0] == 0x16 ? "TLS on a plain RTMP port"
                                           : "not RTMP (C0 is not 3)");
                return NGX_ERROR;
            }
        }

        rs->hs_len += need;
        p += need;
        n -= need;

        if (rs->state == NGX_AMS_RTMP_HS_C0C1
            && rs->hs_len == 1 + NGX_AMS_RTMP_HANDSHAKE_SIZE)
        {
            out = ngx_ams_rtmp_reserve(rs, 1 + 2 * NGX_AMS_RTMP_HANDSHAKE_SIZE);
            if (out == NULL) {
                return NGX_ERROR;
            }

            if (ngx_ams_rtmp_handshake_respond(rs->hs, out,
                                               (uint32_t) ngx_current_msec,
                                               &digest, &err)
                != 0)
            {
                ngx_log_error(NGX_LOG_ERR, c->log, 0,
                              "ams rtmp: bad handshake: %s, disconnecting",
                              err);
                return NGX_ERROR;
            }

            rs->out_last += 1 + 2 * NGX_AMS_RTMP_HANDSHAKE_SIZE;
            rs->state = NGX_AMS_RTMP_HS_C2;
            rs->hs_len = 0;

            ngx_log_debug1(NGX_LOG_DEBUG_STREAM, c->log, 0,
                           "ams rtmp: %s handshake",
                           digest ? "digest" : "plain");

        } else if (rs->state == NGX_AMS_RTMP_HS_C2
                   && rs->hs_len == NGX_AMS_RTMP_HANDSHAKE_SIZE)
        {
            rs->state = NGX_AMS_RTMP_CHUNKS;
        }
    }

    if (n == 0) {
        return NGX_OK;
    }

    rs->in_bytes += n;

    if (ngx_ams_rtmp_chunk_parse(&rs->parser, p, n) != 0) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "ams rtmp: %s, disconnecting", rs->parser.error);
        return NGX_ERROR;
    }

    if (rs->in_bytes - rs->in_acked >= rs->ack_window) {
        rs->in_acked = rs->in_bytes;
        ngx_ams_rtmp_send_control(rs, NGX_AMS_RTMP_MSG_ACK,
                                  (uint32_t) rs->in_bytes, -1);
    }

    return NGX_OK;
}


static uint32_t
ngx_ams_rtmp_be32(const u_char *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


static int
ngx_ams_rtmp_on_message(void *ctx, ngx_ams_rtmp_msg_t *msg, const char **err)
{
    ngx_ams_rtmp_session_t *rs = ctx;

    if (rs->closing) {
        return 0;
    }

    switch (msg->type) {

    case NGX_AMS_RTMP_MSG_CHUNK_SIZE:
    case NGX_AMS_RTMP_MSG_ABORT:
    case NGX_AMS_RTMP_MSG_ACK:
    case NGX_AMS_RTMP_MSG_BANDWIDTH:
        return 0;

    case NGX_AMS_RTMP_MSG_ACK_SIZE:
        if (msg->length < 4) {
            *err = "short Window Acknowledgement Size";
            return -1;
        }

        rs->ack_window = ngx_ams_rtmp_be32(msg->data);
        if (rs->ack_window == 0) {
            rs->ack_window = NGX_AMS_RTMP_WINDOW;
        }
        return 0;

    case NGX_AMS_RTMP_MSG_USER:
        if (msg->length >= 6 && msg->data[0] == 0
            && msg->data[1] == NGX_AMS_USER_PING_REQUEST)
        {
            ngx_ams_rtmp_send_user(rs, NGX_AMS_USER_PING_RESPONSE,
                                   ngx_ams_rtmp_be32(msg->data + 2));
        }
        return 0;

    case NGX_AMS_RTMP_MSG_AMF_CMD:
        return ngx_ams_rtmp_on_command(rs, msg, msg->data, msg->length, err);

    case NGX_AMS_RTMP_MSG_AMF3_CMD:
        /* AMF3 commands start with a format byte, then AMF0 values */
        if (msg->length < 1) {
            *err = "empty AMF3 command";
            return -1;
        }
        return ngx_ams_rtmp_on_command(rs, msg, msg->data + 1,
                                       msg->length - 1, err);

    case NGX_AMS_RTMP_MSG_AMF_DATA:
        return ngx_ams_rtmp_on_data(rs, msg->data, msg->length);

    case NGX_AMS_RTMP_MSG_AMF3_DATA:
        if (msg->length < 1) {
            return 0;
        }
        return ngx_ams_rtmp_on_data(rs, msg->data + 1, msg->length - 1);

    case NGX_AMS_RTMP_MSG_AUDIO:
    case NGX_AMS_RTMP_MSG_VIDEO:
        return ngx_ams_rtmp_on_media(rs, msg, err);

    case NGX_AMS_RTMP_MSG_AGGREGATE:
        *err = "aggregate messages are not supported";
        return -1;

    default:
        ngx_log_debug1(NGX_LOG_DEBUG_STREAM, rs->connection->log, 0,
                       "ams rtmp: message type %d ignored", msg->type);
        return 0;
    }
}


static int
ngx_ams_rtmp_on_command(ngx_ams_rtmp_session_t *rs, ngx_ams_rtmp_msg_t *msg,
    const u_char *p, size_t len, const char **err)
{
    double           txn;
    ngx_str_t        cmd;
    ngx_ams_amf_t   *v, *t;

    v = ngx_ams_amf_decode(&ngx_ams_rtmp_arena, p, len);

    if (v == NULL) {
        *err = ngx_ams_rtmp_arena.error ? ngx_ams_rtmp_arena.error
                                        : "empty command";
        return -1;
    }

    if (!ngx_ams_amf_is_string(v)) {
        *err = "command name is not a string";
        return -1;
    }

    cmd.data = (u_char *) v->str;
    cmd.len = v->len;

    t = ngx_ams_amf_nth(v, 1);
    txn = (t && t->type == NGX_AMS_AMF_NUMBER) ? t->num : 0;

    ngx_log_debug2(NGX_LOG_DEBUG_STREAM, rs->connection->log, 0,
                   "ams rtmp: command \"%V\" txn %d", &cmd, (int) txn);

#define ngx_ams_cmd_is(name)                                                  \
    (cmd.len == sizeof(name) - 1 && ngx_strncmp(cmd.data, name, cmd.len) == 0)

    if (ngx_ams_cmd_is("connect")) {
        return ngx_ams_rtmp_connect(rs, txn, ngx_ams_amf_nth(v, 2), err);
    }

    if (!rs->connected) {
        *err = "command before connect";
        return -1;
    }

    if (ngx_ams_cmd_is("createStream")) {
        ngx_ams_rtmp_send_result(rs, txn, NULL);
        return 0;
    }

    if (ngx_ams_cmd_is("releaseStream") || ngx_ams_cmd_is("FCPublish")
        || ngx_ams_cmd_is("FCUnpublish") || ngx_ams_cmd_is("FCSubscribe")
        || ngx_ams_cmd_is("getStreamLength") || ngx_ams_cmd_is("_checkbw"))
    {
        if (txn != 0) {
            ngx_ams_rtmp_send_result(rs, txn, "");
        }
        return 0;
    }

    if (ngx_ams_cmd_is("publish")) {
        return ngx_ams_rtmp_publish(rs, ngx_ams_amf_nth(v, 3), err);
    }

    if (ngx_ams_cmd_is("play")) {
        return ngx_ams_rtmp_play(rs, ngx_ams_amf_nth(v, 3), err);
    }

    if (ngx_ams_cmd_is("deleteStream") || ngx_ams_cmd_is("closeStream")) {
        ngx_ams_rtmp_stop(rs);
        return 0;
    }

#undef ngx_ams_cmd_is

    ngx_log_debug1(NGX_LOG_DEBUG_STREAM, rs->connection->log, 0,
                   "ams rtmp: command \"%V\" ignored", &cmd);

    return 0;
}


static int
ngx_ams_rtmp_connect(ngx_ams_rtmp_session_t *rs, double txn,
    ngx_ams_amf_t *obj, const char **err)
{
    u_char                *end;
    ngx_str_t              app;
    ngx_ams_amf_t         *v;
    ngx_ams_amf_writer_t   w;
    u_char                 buf[512];

    if (rs->connected) {
        *err = "second connect";
        return -1;
    }

    v = ngx_ams_amf_get(obj, "app");
    if (!ngx_ams_amf_is_string(v)) {
        *err = "connect without an app";
        return -1;
    }

    /* "LiveApp", "LiveApp/", "LiveApp?token=..", "LiveApp/_definst_" */
    app.data = (u_char *) v->str;
    end = app.data;
    while (end < app.data + v->len && *end != '/' && *end != '?') {
        end++;
    }
    app.len = end - app.data;

    rs->app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &app);

    if (rs->app == NULL) {
        ngx_log_error(NGX_LOG_ERR, rs->connection->log, 0,
                      "ams rtmp: connect to unknown application \"%V\"",
                      &app);

        w.p = buf;
        w.end = buf + sizeof(buf);
        w.overflow = 0;
        ngx_ams_amf_put_cstring(&w, "_error");
        ngx_ams_amf_put_number(&w, txn);
        ngx_ams_amf_put_null(&w);
        ngx_ams_amf_put_object_start(&w);
        ngx_ams_amf_put_key(&w, "level");
        ngx_ams_amf_put_cstring(&w, "error");
        ngx_ams_amf_put_key(&w, "code");
        ngx_ams_amf_put_cstring(&w, "NetConnection.Connect.Rejected");
        ngx_ams_amf_put_key(&w, "description");
        ngx_ams_amf_put_cstring(&w, "Unknown application");
        ngx_ams_amf_put_object_end(&w);

        ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_COMMAND, 0,
                           NGX_AMS_RTMP_MSG_AMF_CMD, 0, buf, w.p - buf,
                           NULL, 0);
        rs->closing = 1;
        return 0;
    }

    rs->connected = 1;

    ngx_ams_rtmp_send_control(rs, NGX_AMS_RTMP_MSG_ACK_SIZE,
                              NGX_AMS_RTMP_WINDOW, -1);
    ngx_ams_rtmp_send_control(rs, NGX_AMS_RTMP_MSG_BANDWIDTH,
                              NGX_AMS_RTMP_WINDOW, 2);
    ngx_ams_rtmp_send_control(rs, NGX_AMS_RTMP_MSG_CHUNK_SIZE,
                              (uint32_t) rs->conf->chunk_size, -1);

    w.p = buf;
    w.end = buf + sizeof(buf);
    w.overflow = 0;
    ngx_ams_amf_put_cstring(&w, "_result");
    ngx_ams_amf_put_number(&w, txn);
    ngx_ams_amf_put_object_start(&w);
    ngx_ams_amf_put_key(&w, "fmsVer");
    ngx_ams_amf_put_cstring(&w, "FMS/3,0,1,123");
    ngx_ams_amf_put_key(&w, "capabilities");
    ngx_ams_amf_put_number(&w, 31);
    ngx_ams_amf_put_object_end(&w);
    ngx_ams_amf_put_object_start(&w);
    ngx_ams_amf_put_key(&w, "level");
    ngx_ams_amf_put_cstring(&w, "status");
    ngx_ams_amf_put_key(&w, "code");
    ngx_ams_amf_put_cstring(&w, "NetConnection.Connect.Success");
    ngx_ams_amf_put_key(&w, "description");
    ngx_ams_amf_put_cstring(&w, "Connection succeeded.");
    ngx_ams_amf_put_key(&w, "objectEncoding");
    ngx_ams_amf_put_number(&w, 0);
    ngx_ams_amf_put_object_end(&w);

    ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_COMMAND, 0, NGX_AMS_RTMP_MSG_AMF_CMD,
                       0, buf, w.p - buf, NULL, 0);

    ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                  "ams rtmp: connect app \"%V\"", &app);

    return 0;
}


/* "stream1?token=abc" -> "stream1"; only names safe as file names */

static ngx_int_t
ngx_ams_rtmp_take_name(ngx_ams_rtmp_session_t *rs, ngx_ams_amf_t *v)
{
    size_t      i, len;
    u_char      ch;
    ngx_str_t   token;

    if (!ngx_ams_amf_is_string(v)) {
        return NGX_ERROR;
    }

    for (len = 0; len < v->len && v->str[len] != '?'; len++) {
        /* void */
    }

    if (len == 0 || len >= NGX_AMS_NAME_LEN || v->str[0] == '.') {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        ch = v->str[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'
              || ch == '.'))
        {
            return NGX_ERROR;
        }
    }

    ngx_memcpy(rs->name_buf, v->str, len);
    rs->name.data = rs->name_buf;
    rs->name.len = len;

    /* the AMF arena is reused by the next message: keep a copy */
    rs->token.len = 0;

    if (len < v->len) {
        ngx_ams_access_token_arg((u_char *) v->str + len + 1,
                                 v->len - len - 1, &token);

        if (token.len > NGX_AMS_JWT_MAX_LEN) {
            return NGX_ERROR;
        }

        if (token.len) {
            rs->token.data = ngx_pnalloc(rs->connection->pool, token.len);
            if (rs->token.data == NULL) {
                return NGX_ERROR;
            }

            ngx_memcpy(rs->token.data, token.data, token.len);
            rs->token.len = token.len;
        }
    }

    return NGX_OK;
}


static int
ngx_ams_rtmp_publish(ngx_ams_rtmp_session_t *rs, ngx_ams_amf_t *name,
    const char **err)
{
    if (rs->publishing || rs->playing || rs->waiting || rs->admitting) {
        *err = "publish on a busy stream";
        return -1;
    }

    if (ngx_ams_rtmp_take_name(rs, name) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, rs->connection->log, 0,
                      "ams rtmp: publish refused: invalid stream name");
        ngx_ams_rtmp_send_status(rs, "error", "NetStream.Publish.BadName",
                                 "Invalid stream name");
        rs->closing = 1;
        return 0;
    }

    ngx_ams_rtmp_admit(rs, 1);

    return 0;
}


/*
 * Limits, tokens and acceptOnlyStreamsInDataStore, before any media:
 * at once, or when the store has answered (ffmpeg and OBS wait for
 * NetStream.Publish.Start / Play.Start before they go on).
 */
static void
ngx_ams_rtmp_admit(ngx_ams_rtmp_session_t *rs, ngx_uint_t publisher)
{
    ngx_int_t    rc;
    const char  *refused;

    refused = NULL;

    rc = ngx_ams_access_check(rs->app, &rs->name, publisher, &rs->token,
                              rs->connection->log, ngx_ams_rtmp_admitted, rs,
                              &refused, &rs->access);

    if (rc == NGX_AGAIN) {
        rs->admitting = 1;
        rs->admitting_publisher = publisher;
        return;
    }

    if (rc == NGX_ERROR) {
        refused = "error";
    }

    ngx_ams_rtmp_admission(rs, publisher, refused);
}


static void
ngx_ams_rtmp_admitted(void *data, const char *refused)
{
    ngx_ams_rtmp_session_t *rs = data;

    rs->access = NULL;
    rs->admitting = 0;

    ngx_ams_rtmp_admission(rs, rs->admitting_publisher, refused);

    if (ngx_ams_rtmp_flush(rs) != NGX_OK) {
        ngx_ams_rtmp_finalize(rs);
    }
}


static void
ngx_ams_rtmp_admission(ngx_ams_rtmp_session_t *rs, ngx_uint_t publisher,
    const char *refused)
{
    if (refused == NULL) {
        if (publisher) {
            ngx_ams_rtmp_publish_start(rs);

        } else {
            ngx_ams_rtmp_play_start(rs);
        }

        return;
    }

    ngx_log_error(NGX_LOG_WARN, rs->connection->log, 0,
                  "ams rtmp: %s of \"%V/%V\" refused: %s",
                  publisher ? "publish" : "play", &rs->app->name, &rs->name,
                  refused);

    /* what Ant Media Server (Red5) answers */
    if (ngx_strcmp(refused, NGX_AMS_REFUSED_RESOURCES) == 0) {
        ngx_ams_rtmp_send_status(rs, "error", publisher
                                 ? "NetStream.Publish.Failed"
                                 : "NetStream.Play.Failed",
                                 NGX_AMS_REFUSED_RESOURCES);

    } else if (publisher) {
        ngx_ams_rtmp_send_status(rs, "error", "NetStream.Publish.BadName",
                                 "You are not allowed to publish the stream.");

    } else {
        ngx_ams_rtmp_send_status(rs, "error", "NetStream.Failed",
                                 "You are not allowed to play the stream.");
    }

    rs->closing = 1;
}


static void
ngx_ams_rtmp_publish_start(ngx_ams_rtmp_session_t *rs)
{
    ngx_int_t  rc;

    rc = ngx_ams_bus_publish(rs->app, &rs->name, &rs->source,
                             rs->connection->log, &rs->stream);

    if (rc == NGX_BUSY) {
        ngx_log_error(NGX_LOG_ERR, rs->connection->log, 0,
                      "ams rtmp: publish refused: \"%V/%V\" is already "
                      "publishing", &rs->app->name, &rs->name);
        ngx_ams_rtmp_send_status(rs, "error", "NetStream.Publish.BadName",
                                 "Stream already publishing");
        rs->closing = 1;
        return;
    }

    if (rc != NGX_OK) {
        if (rs->stream) {
            ngx_ams_bus_unpublish(rs->stream, rs->connection->log);
            rs->stream = NULL;
        }

        ngx_ams_rtmp_send_status(rs, "error", "NetStream.Publish.Failed",
                                 "Cannot publish");
        rs->closing = 1;
        return;
    }

    rs->publishing = 1;
    rs->rate_start = ngx_current_msec;
    rs->rate_bytes = rs->in_bytes;

    ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                  "ams rtmp: publish \"%V/%V\"", &rs->app->name, &rs->name);

    ngx_ams_rtmp_send_user(rs, NGX_AMS_USER_STREAM_BEGIN, NGX_AMS_RTMP_MSID);
    ngx_ams_rtmp_send_status(rs, "status", "NetStream.Publish.Start",
                             "Start publishing");
}


static int
ngx_ams_rtmp_play(ngx_ams_rtmp_session_t *rs, ngx_ams_amf_t *name,
    const char **err)
{
    if (rs->publishing || rs->playing || rs->waiting || rs->admitting) {
        *err = "play on a busy stream";
        return -1;
    }

    if (ngx_ams_rtmp_take_name(rs, name) != NGX_OK) {
        ngx_ams_rtmp_send_status(rs, "error", "NetStream.Play.StreamNotFound",
                                 "Invalid stream name");
        rs->closing = 1;
        return 0;
    }

    ngx_ams_rtmp_admit(rs, 0);

    return 0;
}


static void
ngx_ams_rtmp_play_start(ngx_ams_rtmp_session_t *rs)
{
    static u_char  access[] = {
        0x02, 0x00, 0x11, '|', 'R', 't', 'm', 'p', 'S', 'a', 'm', 'p', 'l',
        'e', 'A', 'c', 'c', 'e', 's', 's', 0x01, 0x01, 0x01, 0x01
    };

    ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                  "ams rtmp: play \"%V/%V\"", &rs->app->name, &rs->name);

    ngx_ams_rtmp_send_user(rs, NGX_AMS_USER_STREAM_BEGIN, NGX_AMS_RTMP_MSID);
    ngx_ams_rtmp_send_status(rs, "status", "NetStream.Play.Reset",
                             "Playing and resetting");
    ngx_ams_rtmp_send_status(rs, "status", "NetStream.Play.Start",
                             "Start playing");
    ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_STATUS, 0, NGX_AMS_RTMP_MSG_AMF_DATA,
                       NGX_AMS_RTMP_MSID, access, sizeof(access), NULL, 0);

    ngx_ams_rtmp_play_wait(rs);
}


/* until the stream is live the player waits, as with nginx-rtmp; the bus
 * opens the reader when it is published */

static void
ngx_ams_rtmp_play_wait(ngx_ams_rtmp_session_t *rs)
{
    ngx_int_t  rc;

    rs->waiting = 1;

    rc = ngx_ams_reader_wait(&rs->reader, &rs->app->name, &rs->name,
                             rs->connection->log);

    if (rc == NGX_OK) {
        ngx_ams_rtmp_play_open(rs);
    }
}


static void
ngx_ams_rtmp_play_open(ngx_ams_rtmp_session_t *rs)
{
    rs->waiting = 0;
    rs->playing = 1;
    (void) ngx_atomic_fetch_add(&rs->reader.stream->rtmp_viewers, 1);

    ngx_log_debug2(NGX_LOG_DEBUG_STREAM, rs->connection->log, 0,
                   "ams rtmp: player joined \"%V\", %uL frames behind",
                   &rs->name, ngx_ams_reader_backlog(&rs->reader));

    ngx_ams_rtmp_pump(rs);
}


/* Context: the publishing worker; a reader asked (REST deleted the
 * broadcast) */

static void
ngx_ams_rtmp_source_stop(ngx_ams_source_t *src)
{
    ngx_ams_rtmp_session_t  *rs = src->data;

    ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                  "ams rtmp: \"%V/%V\" stopped: its broadcast was deleted",
                  &rs->app->name, &rs->name);

    ngx_ams_rtmp_finalize(rs);
}


static void
ngx_ams_rtmp_stop(ngx_ams_rtmp_session_t *rs)
{
    if (rs->publishing) {
        rs->publishing = 0;

        if (rs->lowat) {
            /* commands that may follow must not wait for company */
            ngx_ams_rtmp_set_lowat(rs, 0);
        }

        ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                      "ams rtmp: unpublish \"%V/%V\", %uA frames",
                      &rs->app->name, &rs->name, rs->stream->frames);

        ngx_ams_bus_unpublish(rs->stream, rs->connection->log);
        rs->stream = NULL;
    }

    if (rs->playing) {
        rs->playing = 0;
        (void) ngx_atomic_fetch_add(&rs->reader.stream->rtmp_viewers, -1);

        if (rs->dropped_frames) {
            ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                          "ams rtmp: player of \"%V\" dropped %uL frames "
                          "in %ui skips", &rs->name,
                          rs->dropped_frames, rs->skips);
        }
    }

    rs->waiting = 0;

    /* an open reader, or one still waiting for its stream */
    ngx_ams_reader_close(&rs->reader);
}


static int
ngx_ams_rtmp_on_data(ngx_ams_rtmp_session_t *rs, const u_char *p, size_t len)
{
    ngx_ams_amf_t         *v, *meta, *w, *h;
    ngx_ams_amf_writer_t   wr;
    u_char                 buf[NGX_AMS_CONFIG_MAX];

    if (!rs->publishing) {
        return 0;
    }

    v = ngx_ams_amf_decode(&ngx_ams_rtmp_arena, p, len);

    if (v == NULL || !ngx_ams_amf_is_string(v)) {
        /* metadata is advisory: a broken one is dropped, not fatal */
        ngx_log_error(NGX_LOG_WARN, rs->connection->log, 0,
                      "ams rtmp: unreadable data message ignored");
        return 0;
    }

    if (v->len == 13 && ngx_strncmp(v->str, "@setDataFrame", 13) == 0) {
        v = v->next;
    }

    if (!ngx_ams_amf_is_string(v) || v->len != 10
        || ngx_strncmp(v->str, "onMetaData", 10) != 0)
    {
        return 0;
    }

    meta = v->next;
    if (meta == NULL) {
        return 0;
    }

    w = ngx_ams_amf_get(meta, "width");
    h = ngx_ams_amf_get(meta, "height");

    if (w && h && w->type == NGX_AMS_AMF_NUMBER
        && h->type == NGX_AMS_AMF_NUMBER && rs->stream->width == 0)
    {
        rs->stream->width = (uint32_t) w->num;
        rs->stream->height = (uint32_t) h->num;
    }

    /* players get "onMetaData" and the publisher's object as they are */
    wr.p = buf;
    wr.end = buf + sizeof(buf);
    wr.overflow = 0;
    ngx_ams_amf_put_cstring(&wr, "onMetaData");

    /* the object starts right after the "onMetaData" string */
    ngx_ams_amf_put_raw(&wr, v->str + v->len,
                        (size_t) (p + len - (v->str + v->len)));

    if (!wr.overflow) {
        ngx_ams_bus_set_config(rs->stream, NGX_AMS_TRACK_DATA, 0, buf,
                               wr.p - buf);
    }

    return 0;
}


static int
ngx_ams_rtmp_on_media(ngx_ams_rtmp_session_t *rs, ngx_ams_rtmp_msg_t *msg,
    const char **err)
{
    int                    rc;
    uint32_t               ts;
    ngx_ams_frame_t        frame;
    ngx_ams_flv_tag_t      tag;
    ngx_ams_avc_config_t   avc;
    ngx_ams_aac_config_t   aac;

    if (!rs->publishing) {
        *err = "media before publish";
        return -1;
    }

    if (msg->type == NGX_AMS_RTMP_MSG_VIDEO) {
        rc = ngx_ams_flv_parse_video(msg->data, msg->length, &tag, err);
    } else {
        rc = ngx_ams_flv_parse_audio(msg->data, msg->length, &tag, err);
    }

    if (rc == NGX_AMS_FLV_ERROR) {
        return -1;
    }

    if (rc == NGX_AMS_FLV_SKIP) {
        return 0;
    }

    if (tag.config) {
        if (msg->type == NGX_AMS_RTMP_MSG_VIDEO) {
            if (ngx_ams_avc_parse_config(tag.data, tag.len, &avc, err) != 0) {
                return -1;
            }

            rs->nal_length_size = avc.nal_length_size;
            rs->has_video = 1;
            rs->stream->width = avc.width;
            rs->stream->height = avc.height;

            ngx_ams_bus_set_config(rs->stream, NGX_AMS_TRACK_VIDEO,
                                   NGX_AMS_CODEC_H264, tag.data, tag.len);

            ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                          "ams rtmp: \"%V\" video H.264 %uDx%uD",
                          &rs->name, avc.width, avc.height);

        } else {
            if (ngx_ams_aac_parse_config(tag.data, tag.len, &aac, err) != 0) {
                return -1;
            }

            rs->has_audio = 1;

            ngx_ams_bus_set_config(rs->stream, NGX_AMS_TRACK_AUDIO,
                                   NGX_AMS_CODEC_AAC, tag.data, tag.len);
        }

        return 0;
    }

    if ((msg->type == NGX_AMS_RTMP_MSG_VIDEO && !rs->has_video)
        || (msg->type == NGX_AMS_RTMP_MSG_AUDIO && !rs->has_audio))
    {
        if (!rs->warned_no_config) {
            rs->warned_no_config = 1;
            ngx_log_error(NGX_LOG_WARN, rs->connection->log, 0,
                          "ams rtmp: \"%V\" media before its sequence "
                          "header dropped", &rs->name);
        }
        return 0;
    }

    /* RTMP's 32-bit millisecond clock wraps after 49 days */
    ts = msg->timestamp;
    if (ts < rs->last_ts && rs->last_ts - ts > 0x80000000) {
        rs->ts_wrap += (uint64_t) 1 << 32;
    }
    rs->last_ts = ts;

    ngx_memzero(&frame, sizeof(ngx_ams_frame_t));
    frame.dts = (int64_t) (rs->ts_wrap + ts) * (NGX_AMS_TIMEBASE / 1000);
    frame.cts = tag.cts * (NGX_AMS_TIMEBASE / 1000);
    frame.size = (uint32_t) tag.len;

    if (msg->type == NGX_AMS_RTMP_MSG_VIDEO) {
        frame.track = NGX_AMS_TRACK_VIDEO;
        frame.codec = NGX_AMS_CODEC_H264;
        frame.flags = tag.key ? NGX_AMS_FRAME_KEY : 0;

    } else {
        frame.track = NGX_AMS_TRACK_AUDIO;
        frame.codec = NGX_AMS_CODEC_AAC;
        /* audio is where readers may start only when there is no video */
        frame.flags = rs->has_video ? 0 : NGX_AMS_FRAME_KEY;
    }

    if (ngx_ams_bus_write(rs->stream, &frame, tag.data) != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, rs->connection->log, 0,
                      "ams rtmp: \"%V\" frame of %uz bytes dropped: larger "
                      "than half of stream_buffer", &rs->name, tag.len);
    }

    return 0;
}


/* Context: the bus woke this worker, or the player's socket drained */

static void
ngx_ams_rtmp_reader_handler(ngx_ams_reader_t *rd)
{
    ngx_ams_rtmp_session_t  *rs = rd->data;

    if (rs->waiting) {
        /* its stream was published */
        ngx_ams_rtmp_play_open(rs);
        return;
    }

    ngx_ams_rtmp_pump(rs);
}


static void
ngx_ams_rtmp_pump(ngx_ams_rtmp_session_t *rs)
{
    size_t               mark;
    uint32_t             ts;
    ngx_ams_bus_event_t  ev;
    u_char               head[5];

    if (!rs->playing || rs->closing) {
        return;
    }

    while (rs->out_last - rs->out_pos < rs->conf->out_queue) {

        if (ngx_ams_reader_peek(&rs->reader, &ev) != NGX_OK) {
            break;
        }

        if (ev.type == NGX_AMS_EVENT_END) {
            ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                          "ams rtmp: \"%V\" ended for this player after %uL "
                          "frames", &rs->name, rs->played_frames);

            ngx_ams_rtmp_stop(rs);
            ngx_ams_rtmp_send_user(rs, NGX_AMS_USER_STREAM_EOF,
                                   NGX_AMS_RTMP_MSID);
            ngx_ams_rtmp_send_status(rs, "status",
                                     "NetStream.Play.UnpublishNotify",
                                     "Stream is now unpublished");

            /* stay for a republish, as nginx-rtmp players do */
            ngx_ams_rtmp_play_wait(rs);
            break;
        }

        if (ev.type == NGX_AMS_EVENT_SKIP) {
            rs->dropped_frames += ev.dropped;
            rs->skips++;
            continue;
        }

        if (ev.type == NGX_AMS_EVENT_CONFIG) {
            ngx_ams_rtmp_send_config(rs, &ev);
            (void) ngx_ams_reader_commit(&rs->reader, &ev);

            if (rs->closing) {
                return;
            }

            continue;
        }

        mark = rs->out_last;
        ts = (uint32_t) (ev.frame.dts / (NGX_AMS_TIMEBASE / 1000));

        if (ev.track == NGX_AMS_TRACK_VIDEO) {
            ngx_ams_flv_video_header(head, ev.frame.flags & NGX_AMS_FRAME_KEY,
                                     0, ev.frame.cts
                                        / (NGX_AMS_TIMEBASE / 1000));
            ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_VIDEO, ts,
                               NGX_AMS_RTMP_MSG_VIDEO, NGX_AMS_RTMP_MSID,
                               head, 5, ev.data, ev.len);
        } else {
            ngx_ams_flv_audio_header(head, 0);
            ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_AUDIO, ts,
                               NGX_AMS_RTMP_MSG_AUDIO, NGX_AMS_RTMP_MSID,
                               head, 2, ev.data, ev.len);
        }

        if (rs->closing) {
            return;
        }

        if (ngx_ams_reader_commit(&rs->reader, &ev) != NGX_OK) {
            /* overwritten while we copied it: take it back */
            rs->out_last = mark;
            continue;
        }

        rs->played_frames++;
    }

    if (ngx_ams_rtmp_flush(rs) != NGX_OK) {
        ngx_ams_rtmp_finalize(rs);
    }
}


static void
ngx_ams_rtmp_send_config(ngx_ams_rtmp_session_t *rs, ngx_ams_bus_event_t *ev)
{
    u_char  head[5];

    if (ev->len == 0) {
        return;
    }

    switch (ev->track) {

    case NGX_AMS_TRACK_VIDEO:
        ngx_ams_flv_video_header(head, 1, 1, 0);
        ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_VIDEO, 0, NGX_AMS_RTMP_MSG_VIDEO,
                           NGX_AMS_RTMP_MSID, head, 5, ev->data, ev->len);
        break;

    case NGX_AMS_TRACK_AUDIO:
        ngx_ams_flv_audio_header(head, 1);
        ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_AUDIO, 0, NGX_AMS_RTMP_MSG_AUDIO,
                           NGX_AMS_RTMP_MSID, head, 2, ev->data, ev->len);
        break;

    default:
        ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_STATUS, 0,
                           NGX_AMS_RTMP_MSG_AMF_DATA, NGX_AMS_RTMP_MSID,
                           ev->data, ev->len, NULL, 0);
    }
}


/* room for n more bytes at the end of the output; grows as needed */

static u_char *
ngx_ams_rtmp_reserve(ngx_ams_rtmp_session_t *rs, size_t n)
{
    size_t   cap, pending;
    u_char  *p;

    if (rs->out_cap - rs->out_last >= n) {
        return rs->out + rs->out_last;
    }

    pending = rs->out_last - rs->out_pos;

    if (rs->out_pos && rs->out_cap - pending >= n) {
        ngx_memmove(rs->out, rs->out + rs->out_pos, pending);
        rs->out_pos = 0;
        rs->out_last = pending;
        return rs->out + rs->out_last;
    }

    cap = ngx_max(rs->out_cap * 2, 16384);
    while (cap < pending + n) {
        cap *= 2;
    }

    if (cap > 2 * rs->conf->max_message + rs->conf->out_queue) {
        ngx_log_error(NGX_LOG_ERR, rs->connection->log, 0,
                      "ams rtmp: output backlog over %uz bytes, "
                      "disconnecting", cap);
        rs->closing = 1;
        return NULL;
    }

    p = ngx_alloc(cap, rs->connection->log);
    if (p == NULL) {
        rs->closing = 1;
        return NULL;
    }

    if (pending) {
        ngx_memcpy(p, rs->out + rs->out_pos, pending);
    }

    if (rs->out) {
        ngx_free(rs->out);
    }

    rs->out = p;
    rs->out_cap = cap;
    rs->out_pos = 0;
    rs->out_last = pending;

    return rs->out + rs->out_last;
}


static void
ngx_ams_rtmp_queue(ngx_ams_rtmp_session_t *rs, uint32_t csid, uint32_t ts,
    uint8_t type, uint32_t msid, const u_char *head, size_t head_len,
    const u_char *body, size_t body_len)
{
    u_char  *p;

    p = ngx_ams_rtmp_reserve(rs,
                             ngx_ams_rtmp_chunk_bound(head_len + body_len,
                                                      rs->conf->chunk_size));
    if (p == NULL) {
        return;
    }

    rs->out_last += ngx_ams_rtmp_chunk_write2(p, rs->conf->chunk_size, csid,
                                              ts, type, msid, head, head_len,
                                              body, body_len);
}


/* extra: -1 for none, else one more byte (Set Peer Bandwidth's limit) */

static void
ngx_ams_rtmp_send_control(ngx_ams_rtmp_session_t *rs, uint8_t type,
    uint32_t value, int extra)
{
    u_char  b[5];

    b[0] = (u_char) (value >> 24);
    b[1] = (u_char) (value >> 16);
    b[2] = (u_char) (value >> 8);
    b[3] = (u_char) value;
    b[4] = (u_char) extra;

    ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_CONTROL, 0, type, 0, b,
                       extra < 0 ? 4 : 5, NULL, 0);
}


static void
ngx_ams_rtmp_send_user(ngx_ams_rtmp_session_t *rs, uint16_t event,
    uint32_t value)
{
    u_char  b[6];

    b[0] = (u_char) (event >> 8);
    b[1] = (u_char) event;
    b[2] = (u_char) (value >> 24);
    b[3] = (u_char) (value >> 16);
    b[4] = (u_char) (value >> 8);
    b[5] = (u_char) value;

    ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_CONTROL, 0, NGX_AMS_RTMP_MSG_USER, 0,
                       b, sizeof(b), NULL, 0);
}


/* _result for createStream (stream id) or others (name given: undefined) */

static void
ngx_ams_rtmp_send_result(ngx_ams_rtmp_session_t *rs, double txn,
    const char *name)
{
    u_char                buf[64];
    ngx_ams_amf_writer_t  w;

    w.p = buf;
    w.end = buf + sizeof(buf);
    w.overflow = 0;

    ngx_ams_amf_put_cstring(&w, "_result");
    ngx_ams_amf_put_number(&w, txn);
    ngx_ams_amf_put_null(&w);

    if (name == NULL) {
        ngx_ams_amf_put_number(&w, NGX_AMS_RTMP_MSID);
    } else {
        u_char  undefined = NGX_AMS_AMF_UNDEFINED;
        ngx_ams_amf_put_raw(&w, &undefined, 1);
    }

    ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_COMMAND, 0, NGX_AMS_RTMP_MSG_AMF_CMD,
                       0, buf, w.p - buf, NULL, 0);
}


static void
ngx_ams_rtmp_send_status(ngx_ams_rtmp_session_t *rs, const char *level,
    const char *code, const char *description)
{
    u_char                buf[512];
    ngx_ams_amf_writer_t  w;

    w.p = buf;
    w.end = buf + sizeof(buf);
    w.overflow = 0;

    ngx_ams_amf_put_cstring(&w, "onStatus");
    ngx_ams_amf_put_number(&w, 0);
    ngx_ams_amf_put_null(&w);
    ngx_ams_amf_put_object_start(&w);
    ngx_ams_amf_put_key(&w, "level");
    ngx_ams_amf_put_cstring(&w, level);
    ngx_ams_amf_put_key(&w, "code");
    ngx_ams_amf_put_cstring(&w, code);
    ngx_ams_amf_put_key(&w, "description");
    ngx_ams_amf_put_cstring(&w, description);
    ngx_ams_amf_put_object_end(&w);

    ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_STATUS, 0, NGX_AMS_RTMP_MSG_AMF_CMD,
                       NGX_AMS_RTMP_MSID, buf, w.p - buf, NULL, 0);
}


static ngx_int_t
ngx_ams_rtmp_flush(ngx_ams_rtmp_session_t *rs)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = rs->connection;

    while (rs->out_pos < rs->out_last) {
        n = c->send(c, rs->out + rs->out_pos, rs->out_last - rs->out_pos);

        if (n == NGX_ERROR) {
            c->error = 1;
            return NGX_ERROR;
        }

        if (n == NGX_AGAIN || n == 0) {
            if (!c->write->timer_set) {
                ngx_add_timer(c->write, rs->conf->timeout);
            }

            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                return NGX_ERROR;
            }

            return NGX_AGAIN;
        }

        rs->out_pos += n;
    }

    rs->out_pos = 0;
    rs->out_last = 0;

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (rs->closing) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_ams_rtmp_write_handler(ngx_event_t *wev)
{
    ngx_int_t                rc;
    ngx_connection_t        *c;
    ngx_stream_session_t    *s;
    ngx_ams_rtmp_session_t  *rs;

    c = wev->data;
    s = c->data;
    rs = ngx_stream_get_module_ctx(s, ngx_ams_ingest_module);

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "ams rtmp: client stopped reading, disconnecting");
        ngx_ams_rtmp_finalize(rs);
        return;
    }

    rc = ngx_ams_rtmp_flush(rs);

    if (rc == NGX_ERROR) {
        ngx_ams_rtmp_finalize(rs);
        return;
    }

    if (rc == NGX_OK && rs->playing) {
        ngx_ams_rtmp_pump(rs);
    }
}


static void
ngx_ams_rtmp_finalize(ngx_ams_rtmp_session_t *rs)
{
    ngx_ams_access_cancel(rs->access);
    rs->access = NULL;

    ngx_ams_rtmp_stop(rs);

    ngx_ams_rtmp_chunk_free(&rs->parser);

    if (rs->out) {
        ngx_free(rs->out);
        rs->out = NULL;
    }

    ngx_stream_finalize_session(rs->session, NGX_STREAM_OK);
}
