
/*
 * Copyright (C) nginx-ams authors
 *
 * What an RTMP client says and what we answer: protocol control
 * messages, AMF commands (connect, createStream, publish, play,
 * deleteStream, ...), admission of a publisher or player before any
 * media, and the replies (_result, onStatus, control and user control
 * messages).  Audio, video and data messages go to
 * ngx_ams_rtmp_publish.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_ams_rtmp_session.h"
#include "ngx_ams_access.h"
#include "ngx_ams_jwt.h"
#include "ngx_ams_log_escape.h"


/* how much of a name a client chose the log shows, escaped */
#define NGX_AMS_RTMP_LOG_NAME  NGX_AMS_LOG_ESCAPED_SIZE(NGX_AMS_APP_LEN)


static int ngx_ams_rtmp_on_command(ngx_ams_rtmp_session_t *rs,
    ngx_ams_rtmp_msg_t *msg, const u_char *p, size_t len, const char **err);
static int ngx_ams_rtmp_cmd_connect(ngx_ams_rtmp_session_t *rs, double txn,
    ngx_ams_amf_t *obj, const char **err);
static ngx_int_t ngx_ams_rtmp_take_name(ngx_ams_rtmp_session_t *rs,
    ngx_ams_amf_t *v);
static int ngx_ams_rtmp_cmd_publish(ngx_ams_rtmp_session_t *rs,
    ngx_ams_amf_t *name, const char **err);
static int ngx_ams_rtmp_cmd_play(ngx_ams_rtmp_session_t *rs,
    ngx_ams_amf_t *name, const char **err);
static void ngx_ams_rtmp_admit(ngx_ams_rtmp_session_t *rs,
    ngx_uint_t publisher);
static void ngx_ams_rtmp_admitted(void *data, const char *refused);
static void ngx_ams_rtmp_admission(ngx_ams_rtmp_session_t *rs,
    ngx_uint_t publisher, const char *refused);
static void ngx_ams_rtmp_send_result(ngx_ams_rtmp_session_t *rs,
    double txn, const char *name);


/* AMF decoding scratch: a worker runs one session callback at a time */
ngx_ams_amf_arena_t  ngx_ams_rtmp_arena;


static uint32_t
ngx_ams_rtmp_be32(const u_char *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


int
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
#if (NGX_DEBUG)
    char             esc[NGX_AMS_RTMP_LOG_NAME];
#endif

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

#if (NGX_DEBUG)
    ngx_ams_log_escape(esc, sizeof(esc), cmd.data, cmd.len);
#endif

    ngx_log_debug2(NGX_LOG_DEBUG_STREAM, rs->connection->log, 0,
                   "ams rtmp: command \"%s\" txn %d", esc, (int) txn);

#define ngx_ams_cmd_is(name)                                                  \
    (cmd.len == sizeof(name) - 1 && ngx_strncmp(cmd.data, name, cmd.len) == 0)

    if (ngx_ams_cmd_is("connect")) {
        return ngx_ams_rtmp_cmd_connect(rs, txn, ngx_ams_amf_nth(v, 2), err);
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
        return ngx_ams_rtmp_cmd_publish(rs, ngx_ams_amf_nth(v, 3), err);
    }

    if (ngx_ams_cmd_is("play")) {
        return ngx_ams_rtmp_cmd_play(rs, ngx_ams_amf_nth(v, 3), err);
    }

    if (ngx_ams_cmd_is("deleteStream") || ngx_ams_cmd_is("closeStream")) {
        ngx_ams_rtmp_publish_stop(rs);
        ngx_ams_rtmp_play_stop(rs);

        /* it may publish or play again, or leave: not stay for free */
        ngx_ams_rtmp_guard(rs, rs->conf->handshake_timeout);
        return 0;
    }

#undef ngx_ams_cmd_is

    ngx_log_debug1(NGX_LOG_DEBUG_STREAM, rs->connection->log, 0,
                   "ams rtmp: command \"%s\" ignored", esc);

    return 0;
}


static int
ngx_ams_rtmp_cmd_connect(ngx_ams_rtmp_session_t *rs, double txn,
    ngx_ams_amf_t *obj, const char **err)
{
    u_char                *end;
    ngx_str_t              app;
    ngx_ams_amf_t         *v;
    ngx_ams_amf_writer_t   w;
    u_char                 buf[512];
    char                   esc[NGX_AMS_RTMP_LOG_NAME];

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

    /* the client chose it: a newline in it must not forge a log line */
    ngx_ams_log_escape(esc, sizeof(esc), app.data, app.len);

    if (rs->app == NULL) {
        ngx_log_error(NGX_LOG_ERR, rs->connection->log, 0,
                      "ams rtmp: connect to unknown application \"%s\"",
                      esc);

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
                  "ams rtmp: connect app \"%s\"", esc);

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
ngx_ams_rtmp_cmd_publish(ngx_ams_rtmp_session_t *rs, ngx_ams_amf_t *name,
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


static int
ngx_ams_rtmp_cmd_play(ngx_ams_rtmp_session_t *rs, ngx_ams_amf_t *name,
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

    rs->cluster_pull = ngx_ams_access_cluster_pull(&rs->token,
                                                   rs->connection->log);

    ngx_ams_rtmp_admit(rs, 0);

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

    /* a full socket is no error: the write handler goes on */
    if (ngx_ams_rtmp_flush(rs) == NGX_ERROR) {
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

    } else if (ngx_strcmp(refused, NGX_AMS_REFUSED_IN_USE) == 0) {
        /* AMS's WebSocket error name: the id is live on another origin */
        ngx_ams_rtmp_send_status(rs, "error", "NetStream.Publish.BadName",
                                 NGX_AMS_REFUSED_IN_USE ": the stream id is "
                                 "live on another origin");

    } else if (ngx_strcmp(refused, NGX_AMS_REFUSED_STORE) == 0) {
        ngx_ams_rtmp_send_status(rs, "error", "NetStream.Publish.Failed",
                                 NGX_AMS_REFUSED_STORE);

    } else if (publisher) {
        ngx_ams_rtmp_send_status(rs, "error", "NetStream.Publish.BadName",
                                 "You are not allowed to publish the stream.");

    } else {
        ngx_ams_rtmp_send_status(rs, "error", "NetStream.Failed",
                                 "You are not allowed to play the stream.");
    }

    rs->closing = 1;
}


/* extra: -1 for none, else one more byte (Set Peer Bandwidth's limit) */

void
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


void
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


void
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
