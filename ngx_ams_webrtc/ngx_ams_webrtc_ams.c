
/*
 * Copyright (C) nginx-ams authors
 *
 * Ant Media Server's WebSocket signalling protocol, as its JavaScript
 * SDK (@antmedia/webrtc_adaptor) speaks it: JSON text messages, each
 * with a "command".
 *
 *   publish {streamId, token}   admission, then "start": the client
 *                               offers (takeConfiguration offer), we
 *                               answer; "publish_started" once media
 *                               flows, "publish_finished" at the end
 *   play {streamId, token}      admission, then we offer
 *                               (takeConfiguration offer, with a data
 *                               channel section unless
 *                               "dataChannelEnabled": false), the client
 *                               answers; "play_started", "play_finished"
 *   stop {streamId}             ends that session
 *   takeCandidate               accepted and ignored: an ICE-lite server
 *                               learns the peer's address from its checks
 *   ping                        pong
 *   getStreamInfo {streamId}    streamInformation (size, bitrates, codec)
 *                               of the original and each live rung
 *   forceStreamQuality {streamId, streamHeight}
 *                               the player of streamId on this connection
 *                               moves to that rung (0: automatic, by the
 *                               viewer's feedback); no answer, as AMS
 *   getIceServerConfig          iceServerConfig (none: our candidates
 *                               are public addresses)
 *
 * Refusals are {"command":"error","definition":...} with AMS's names.
 * A connection holds a few sessions at most (a publisher and what it
 * plays back); they end with it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <jansson.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_ws.h"
#include "ngx_ams_webrtc_wait.h"
#include "ngx_ams_access.h"
#include "ngx_ams_viewer_limits.h"
#include "ngx_ams_stream_name.h"
#include "ngx_ams_webrtc_rung.h"


/* sessions of one WebSocket connection */
#define NGX_AMS_WEBRTC_AMS_MAX_STREAMS  8


typedef struct ngx_ams_webrtc_ams_s  ngx_ams_webrtc_ams_t;

typedef struct {
    ngx_queue_t                 queue;
    ngx_ams_webrtc_ams_t       *ams;
    ngx_uint_t                  direction;
    ngx_ams_webrtc_session_t   *session;    /* NULL while admitting */
    ngx_ams_access_t           *pending;    /* the admission in flight */
    ngx_ams_webrtc_wait_t       wait;       /* a player of a pulled stream */
    ngx_str_t                   id;
    u_char                      id_data[NGX_AMS_NAME_LEN];
    ngx_uint_t                  height;     /* forced while admitting */
    unsigned                    connected:1;
    unsigned                    no_data:1;  /* play without a data
                                               channel */
} ngx_ams_webrtc_ams_stream_t;


struct ngx_ams_webrtc_ams_s {
    ngx_ams_webrtc_ws_t        *ws;
    ngx_queue_t                 streams;
    ngx_uint_t                  nstreams;
    unsigned                    closed:1;
};


static void ngx_ams_webrtc_ams_start(ngx_ams_webrtc_ams_t *ams,
    json_t *msg, ngx_uint_t direction);
static void ngx_ams_webrtc_ams_admitted(void *data, const char *refused);
static void ngx_ams_webrtc_ams_begin(ngx_ams_webrtc_ams_stream_t *as);
static void ngx_ams_webrtc_ams_waited(ngx_ams_webrtc_wait_t *w,
    ngx_uint_t live);
static void ngx_ams_webrtc_ams_configuration(ngx_ams_webrtc_ams_t *ams,
    json_t *msg);
static void ngx_ams_webrtc_ams_stop(ngx_ams_webrtc_ams_t *ams, json_t *msg);
static void ngx_ams_webrtc_ams_quality(ngx_ams_webrtc_ams_t *ams,
    json_t *msg);
static void ngx_ams_webrtc_ams_stream_info(ngx_ams_webrtc_ams_t *ams,
    json_t *msg);
static void ngx_ams_webrtc_ams_event(ngx_ams_webrtc_session_t *s,
    ngx_uint_t event, void *data);
static ngx_ams_webrtc_ams_stream_t *ngx_ams_webrtc_ams_find(
    ngx_ams_webrtc_ams_t *ams, const char *id, size_t len);
static void ngx_ams_webrtc_ams_forget(ngx_ams_webrtc_ams_stream_t *as);
static const char *ngx_ams_webrtc_ams_refusal(const char *refused);
static void ngx_ams_webrtc_ams_send(ngx_ams_webrtc_ams_t *ams, json_t *doc);
static void ngx_ams_webrtc_ams_error(ngx_ams_webrtc_ams_t *ams,
    const char *definition, ngx_str_t *id);
static void ngx_ams_webrtc_ams_notify(ngx_ams_webrtc_ams_t *ams,
    const char *definition, ngx_str_t *id);


ngx_int_t
ngx_ams_webrtc_ams_open(ngx_ams_webrtc_ws_t *ws)
{
    ngx_ams_webrtc_ams_t  *ams;

    ams = ngx_pcalloc(ws->request->pool, sizeof(ngx_ams_webrtc_ams_t));
    if (ams == NULL) {
        return NGX_ERROR;
    }

    ams->ws = ws;
    ngx_queue_init(&ams->streams);
    ws->ams = ams;

    return NGX_OK;
}


void
ngx_ams_webrtc_ams_message(ngx_ams_webrtc_ws_t *ws, u_char *text,
    size_t len)
{
    json_t                *msg, *cmd;
    const char            *command;
    json_error_t           err;
    ngx_ams_webrtc_ams_t  *ams = ws->ams;

    msg = json_loadb((char *) text, len, JSON_REJECT_DUPLICATES, &err);

    if (msg == NULL || !json_is_object(msg)) {
        ngx_log_error(NGX_LOG_INFO, ws->log, 0,
                      "ams webrtc: a WebSocket message that is not a JSON "
                      "object: %s", msg ? "not an object" : err.text);
        json_decref(msg);
        ngx_ams_webrtc_ws_close(ws, 1007);
        return;
    }

    cmd = json_object_get(msg, "command");
    command = json_is_string(cmd) ? json_string_value(cmd) : "";

    if (ngx_strcmp(command, "ping") == 0) {
        ngx_ams_webrtc_ams_send(ams, json_pack("{ss}", "command", "pong"));

    } else if (ngx_strcmp(command, "publish") == 0) {
        ngx_ams_webrtc_ams_start(ams, msg, NGX_AMS_WEBRTC_PUBLISH);

    } else if (ngx_strcmp(command, "play") == 0) {
        ngx_ams_webrtc_ams_start(ams, msg, NGX_AMS_WEBRTC_PLAY);

    } else if (ngx_strcmp(command, "takeConfiguration") == 0) {
        ngx_ams_webrtc_ams_configuration(ams, msg);

    } else if (ngx_strcmp(command, "stop") == 0) {
        ngx_ams_webrtc_ams_stop(ams, msg);

    } else if (ngx_strcmp(command, "getStreamInfo") == 0) {
        ngx_ams_webrtc_ams_stream_info(ams, msg);

    } else if (ngx_strcmp(command, "forceStreamQuality") == 0) {
        ngx_ams_webrtc_ams_quality(ams, msg);

    } else if (ngx_strcmp(command, "getIceServerConfig") == 0) {
        /* empty: the SDK keeps its own list; ICE-lite needs none */
        ngx_ams_webrtc_ams_send(ams,
            json_pack("{ss ss ss ss}", "command", "iceServerConfig",
                      "stunServerUri", "", "turnServerUsername", "",
                      "turnServerCredential", ""));

    } else if (ngx_strcmp(command, "takeCandidate") == 0) {
        /* the peer's candidates: its checks tell us its address */

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ws->log, 0,
                       "ams webrtc: WebSocket command \"%s\" ignored",
                       command);
    }

    json_decref(msg);
}


/* publish or play: the stream id, the admission (tokens, limits) */

static void
ngx_ams_webrtc_ams_start(ngx_ams_webrtc_ams_t *ams, json_t *msg,
    ngx_uint_t direction)
{
    size_t                        len;
    ngx_int_t                     rc;
    ngx_str_t                     token, id;
    json_t                       *v;
    const char                   *why, *refused, *s;
    ngx_ams_webrtc_ams_stream_t  *as;

    v = json_object_get(msg, "streamId");
    s = json_is_string(v) ? json_string_value(v) : "";
    len = json_is_string(v) ? json_string_length(v) : 0;

    id.data = (u_char *) s;
    id.len = len;

    if (len == 0) {
        ngx_ams_webrtc_ams_error(ams, "noStreamNameSpecified", NULL);
        return;
    }

    if (len >= NGX_AMS_NAME_LEN
        || !ngx_ams_stream_name_valid((u_char *) s, len,
                                      direction == NGX_AMS_WEBRTC_PLAY
                                      ? NGX_AMS_STREAM_NAME_RUNG : 0, &why))
    {
        ngx_ams_webrtc_ams_error(ams, "invalidStreamName", NULL);
        return;
    }

    if (ngx_ams_webrtc_ams_find(ams, s, len)) {
        ngx_ams_webrtc_ams_error(ams,
                                 direction == NGX_AMS_WEBRTC_PUBLISH
                                 ? "already_publishing" : "already_playing",
                                 &id);
        return;
    }

    if (ams->nstreams >= NGX_AMS_WEBRTC_AMS_MAX_STREAMS) {
        ngx_ams_webrtc_ams_error(ams, "too_many_streams", &id);
        return;
    }

    as = ngx_calloc(sizeof(ngx_ams_webrtc_ams_stream_t), ams->ws->log);
    if (as == NULL) {
        ngx_ams_webrtc_ams_error(ams, "server_error", &id);
        return;
    }

    as->ams = ams;
    as->direction = direction;
    ngx_memcpy(as->id_data, s, len);
    as->id.data = as->id_data;
    as->id.len = len;

    ngx_queue_insert_tail(&ams->streams, &as->queue);
    ams->nstreams++;

    /* AMS (dataChannelEnabled) opens a data channel to each player,
     * which the SDK takes in ondatachannel; a client may say no */
    as->no_data = json_is_false(json_object_get(msg, "dataChannelEnabled"));

    v = json_object_get(msg, "token");
    token.data = (u_char *) (json_is_string(v) ? json_string_value(v) : "");
    token.len = json_is_string(v) ? json_string_length(v) : 0;

    refused = NGX_AMS_REFUSED_NONE;

    rc = ngx_ams_access_check(ams->ws->app, &as->id,
                              direction == NGX_AMS_WEBRTC_PUBLISH, &token,
                              ams->ws->log, ngx_ams_webrtc_ams_admitted, as,
                              &refused, &as->pending);

    if (rc == NGX_AGAIN) {
        return;
    }

    as->pending = NULL;

    ngx_ams_webrtc_ams_admitted(as, rc == NGX_OK ? NGX_AMS_REFUSED_NONE
                                    : refused ? refused : "error");
}


static void
ngx_ams_webrtc_ams_admitted(void *data, const char *refused)
{
    ngx_ams_webrtc_ams_stream_t  *as = data;

    as->pending = NULL;

    if (refused != NGX_AMS_REFUSED_NONE) {
        ngx_log_error(NGX_LOG_INFO, as->ams->ws->log, 0,
                      "ams webrtc: %s of \"%V\" over WebSocket refused: %s",
                      as->direction == NGX_AMS_WEBRTC_PUBLISH
                      ? "publish" : "play", &as->id, refused);
        ngx_ams_webrtc_ams_error(as->ams,
                                 ngx_ams_webrtc_ams_refusal(refused),
                                 &as->id);
        ngx_ams_webrtc_ams_forget(as);
        return;
    }

    /* a stream this node is to pull: its first frame, then our offer */
    if (as->direction == NGX_AMS_WEBRTC_PLAY) {
        as->wait.handler = ngx_ams_webrtc_ams_waited;
        as->wait.data = as;

        if (ngx_ams_webrtc_wait_start(&as->wait, as->ams->ws->app, &as->id,
                                      as->ams->ws->log)
            == NGX_AGAIN)
        {
            return;
        }
    }

    ngx_ams_webrtc_ams_begin(as);
}


static void
ngx_ams_webrtc_ams_waited(ngx_ams_webrtc_wait_t *w, ngx_uint_t live)
{
    ngx_ams_webrtc_ams_begin(w->data);
}


/* admitted: a session; a publisher is told to offer, a player gets ours */

static void
ngx_ams_webrtc_ams_begin(ngx_ams_webrtc_ams_stream_t *as)
{
    ngx_int_t                  rc;
    ngx_str_t                  offer;
    const char                *error;
    ngx_connection_t          *c;
    ngx_ams_webrtc_ams_t      *ams = as->ams;
    ngx_ams_webrtc_session_t  *s;

    c = ams->ws->connection;

    s = ngx_ams_webrtc_session_create(ams->ws->app, &as->id, as->direction,
                                      c->sockaddr, c->socklen,
                                      ams->ws->log);
    if (s == NULL) {
        ngx_ams_webrtc_ams_error(ams, "highResourceUsage", &as->id);
        ngx_ams_webrtc_ams_forget(as);
        return;
    }

    as->session = s;
    s->stream_height = as->height;
    ngx_ams_webrtc_session_on_event(s, ngx_ams_webrtc_ams_event, as);

    if (as->direction == NGX_AMS_WEBRTC_PUBLISH) {
        ngx_ams_webrtc_ams_send(ams,
            json_pack("{ss ss#}", "command", "start",
                      "streamId", as->id.data, as->id.len));
        return;
    }

    error = NULL;
    s->offer_data = !as->no_data;
    rc = ngx_ams_webrtc_session_offer(s, &offer, &error);

    if (rc != NGX_OK) {
        ngx_ams_webrtc_ams_error(ams, rc == NGX_HTTP_NOT_FOUND
                                      ? "no_stream_exist"
                                      : rc == NGX_HTTP_FORBIDDEN
                                      ? NGX_AMS_VIEWER_LIMIT_REACHED
                                      : "server_error",
                                 &as->id);
        ngx_ams_webrtc_session_close(s, error ? error : "no offer");
        return;
    }

    ngx_ams_webrtc_ams_send(ams,
        json_pack("{ss ss# ss ss#}", "command", "takeConfiguration",
                  "streamId", as->id.data, as->id.len, "type", "offer",
                  "sdp", offer.data, offer.len));
}


static void
ngx_ams_webrtc_ams_configuration(ngx_ams_webrtc_ams_t *ams, json_t *msg)
{
    ngx_int_t                     rc;
    ngx_str_t                     answer;
    json_t                       *id, *type, *sdp;
    const char                   *t, *error;
    ngx_ams_webrtc_ams_stream_t  *as;

    id = json_object_get(msg, "streamId");
    type = json_object_get(msg, "type");
    sdp = json_object_get(msg, "sdp");

    if (!json_is_string(id) || !json_is_string(type) || !json_is_string(sdp))
    {
        ngx_ams_webrtc_ams_error(ams, "invalid_configuration", NULL);
        return;
    }

    as = ngx_ams_webrtc_ams_find(ams, json_string_value(id),
                                 json_string_length(id));

    if (as == NULL || as->session == NULL) {
        ngx_ams_webrtc_ams_error(ams, "no_session", NULL);
        return;
    }

    t = json_string_value(type);
    error = NULL;

    if (as->direction == NGX_AMS_WEBRTC_PUBLISH
        && ngx_strcmp(t, "offer") == 0)
    {
        rc = ngx_ams_webrtc_session_answer(as->session,
                                           (u_char *) json_string_value(sdp),
                                           json_string_length(sdp), &answer,
                                           &error);
        if (rc == NGX_OK) {
            ngx_ams_webrtc_ams_send(ams,
                json_pack("{ss ss# ss ss#}", "command", "takeConfiguration",
                          "streamId", as->id.data, as->id.len,
                          "type", "answer",
                          "sdp", answer.data, answer.len));
            return;
        }

    } else if (as->direction == NGX_AMS_WEBRTC_PLAY
               && ngx_strcmp(t, "answer") == 0)
    {
        rc = ngx_ams_webrtc_session_take_answer(as->session,
                                 (u_char *) json_string_value(sdp),
                                 json_string_length(sdp), &error);
        if (rc == NGX_OK) {
            return;
        }

    } else {
        rc = NGX_HTTP_BAD_REQUEST;
        error = "an SDP of the wrong type";
    }

    ngx_log_error(NGX_LOG_INFO, ams->ws->log, 0,
                  "ams webrtc: \"%V\": %s", &as->id,
                  error ? error : "SDP refused");

    ngx_ams_webrtc_ams_error(ams, rc == NGX_HTTP_CONFLICT
                                  ? "streamIdInUse"
                                  : rc == NGX_HTTP_NOT_FOUND
                                  ? "no_stream_exist"
                                  : rc == NGX_HTTP_SERVICE_UNAVAILABLE
                                  ? "highResourceUsage"
                                  : "notSetRemoteDescription",
                             &as->id);

    /* the event handler forgets the stream */
    ngx_ams_webrtc_session_close(as->session, "SDP refused");
}


static void
ngx_ams_webrtc_ams_stop(ngx_ams_webrtc_ams_t *ams, json_t *msg)
{
    json_t                       *id;
    ngx_ams_webrtc_ams_stream_t  *as;

    id = json_object_get(msg, "streamId");

    if (!json_is_string(id)) {
        return;
    }

    as = ngx_ams_webrtc_ams_find(ams, json_string_value(id),
                                 json_string_length(id));
    if (as == NULL) {
        return;
    }

    if (as->session) {
        /* "publish_finished"/"play_finished" comes from the event */
        ngx_ams_webrtc_session_close(as->session, "stopped by the client");
        return;
    }

    ngx_ams_webrtc_ams_forget(as);
}


/* the stream's size and codec from the bus, and its rungs' */

static void
ngx_ams_webrtc_ams_quality(ngx_ams_webrtc_ams_t *ams, json_t *msg)
{
    json_t                       *id, *h;
    json_int_t                    height;
    ngx_ams_webrtc_ams_stream_t  *as;

    id = json_object_get(msg, "streamId");
    h = json_object_get(msg, "streamHeight");

    if (!json_is_string(id)) {
        ngx_ams_webrtc_ams_error(ams, "noStreamNameSpecified", NULL);
        return;
    }

    height = json_is_integer(h) ? json_integer_value(h)
             : json_is_string(h) ? atoi(json_string_value(h)) : 0;

    if (height < 0 || height > 8192) {
        height = 0;
    }

    as = ngx_ams_webrtc_ams_find(ams, json_string_value(id),
                                 json_string_length(id));

    if (as == NULL || as->direction != NGX_AMS_WEBRTC_PLAY) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ams->ws->log, 0,
                       "ams webrtc: forceStreamQuality of a stream not "
                       "played here, ignored");
        return;
    }

    as->height = (ngx_uint_t) height;

    if (as->session) {
        (void) ngx_ams_webrtc_play_quality(as->session,
                                           (ngx_uint_t) height);
    }
}


static void
ngx_ams_webrtc_ams_stream_info(ngx_ams_webrtc_ams_t *ams, json_t *msg)
{
    json_t                      *id, *list;
    time_t                       age;
    ngx_str_t                    name;
    ngx_uint_t                   i, n, width;
    ngx_ams_stream_t            *st;
    ngx_ams_webrtc_rung_info_t   rungs[NGX_AMS_WEBRTC_RUNG_LIST_MAX];

    id = json_object_get(msg, "streamId");

    if (!json_is_string(id)) {
        ngx_ams_webrtc_ams_error(ams, "noStreamNameSpecified", NULL);
        return;
    }

    name.data = (u_char *) json_string_value(id);
    name.len = json_string_length(id);

    st = ngx_ams_bus_find(&ams->ws->app->name, &name);

    if (st == NULL || st->state != NGX_AMS_STREAM_ACTIVE) {
        ngx_ams_webrtc_ams_error(ams, "no_stream_exist", &name);
        return;
    }

    list = json_array();
    if (list == NULL) {
        return;
    }

    /* the original's rate: what it brought in so far, on average */
    age = ngx_time() - st->started;

    json_array_append_new(list,
        json_pack("{si si si si ss}", "streamWidth", (json_int_t) st->width,
                  "streamHeight", (json_int_t) st->height,
                  "videoBitrate", (json_int_t) (age > 0
                      ? (json_int_t) (st->in_bytes * 8 / age) : 0),
                  "audioBitrate", (json_int_t) 0,
                  "videoCodec", "H264"));

    /* the rungs a player may force (forceStreamQuality) */
    n = ngx_ams_webrtc_rung_list(&ams->ws->app->name, &name, rungs,
                                 NGX_AMS_WEBRTC_RUNG_LIST_MAX);

    for (i = 0; i < n; i++) {
        width = rungs[i].width;

        if (width == 0 && st->height) {
            width = (st->width * rungs[i].height / st->height + 1) & ~1;
        }

        json_array_append_new(list,
            json_pack("{si si si si ss}", "streamWidth", (json_int_t) width,
                      "streamHeight", (json_int_t) rungs[i].height,
                      "videoBitrate", (json_int_t) rungs[i].kbps * 1000,
                      "audioBitrate", (json_int_t) 0,
                      "videoCodec", "H264"));
    }

    ngx_ams_webrtc_ams_send(ams,
        json_pack("{ss ss# so}", "command", "streamInformation",
                  "streamId", name.data, name.len, "streamInfo", list));
}


static void
ngx_ams_webrtc_ams_event(ngx_ams_webrtc_session_t *s, ngx_uint_t event,
    void *data)
{
    ngx_ams_webrtc_ams_stream_t  *as = data;
    ngx_uint_t                    publish;

    publish = (as->direction == NGX_AMS_WEBRTC_PUBLISH);

    if (event == NGX_AMS_WEBRTC_EVENT_CONNECTED) {
        as->connected = 1;
        ngx_ams_webrtc_ams_notify(as->ams, publish ? "publish_started"
                                                   : "play_started",
                                  &as->id);
        return;
    }

    /* closed: s is gone */
    as->session = NULL;

    if (!as->ams->closed) {
        ngx_ams_webrtc_ams_notify(as->ams, publish ? "publish_finished"
                                                   : "play_finished",
                                  &as->id);
    }

    ngx_ams_webrtc_ams_forget(as);
}


void
ngx_ams_webrtc_ams_closed(ngx_ams_webrtc_ws_t *ws)
{
    ngx_queue_t                  *q;
    ngx_ams_webrtc_ams_t         *ams = ws->ams;
    ngx_ams_webrtc_ams_stream_t  *as;

    if (ams == NULL) {
        return;
    }

    ams->closed = 1;

    while (!ngx_queue_empty(&ams->streams)) {
        q = ngx_queue_head(&ams->streams);
        as = ngx_queue_data(q, ngx_ams_webrtc_ams_stream_t, queue);

        if (as->session) {
            /* its CLOSED event forgets it */
            ngx_ams_webrtc_session_close(as->session,
                                         "the WebSocket connection closed");

            if (!ngx_queue_empty(&ams->streams)
                && ngx_queue_head(&ams->streams) == q)
            {
                /* the event did not come (the session was closing) */
                ngx_ams_webrtc_session_on_event(as->session, NULL, NULL);
                ngx_ams_webrtc_ams_forget(as);
            }

            continue;
        }

        ngx_ams_webrtc_ams_forget(as);
    }
}


static ngx_ams_webrtc_ams_stream_t *
ngx_ams_webrtc_ams_find(ngx_ams_webrtc_ams_t *ams, const char *id,
    size_t len)
{
    ngx_queue_t                  *q;
    ngx_ams_webrtc_ams_stream_t  *as;

    for (q = ngx_queue_head(&ams->streams);
         q != ngx_queue_sentinel(&ams->streams);
         q = ngx_queue_next(q))
    {
        as = ngx_queue_data(q, ngx_ams_webrtc_ams_stream_t, queue);

        if (as->id.len == len && ngx_memcmp(as->id.data, id, len) == 0) {
            return as;
        }
    }

    return NULL;
}


static void
ngx_ams_webrtc_ams_forget(ngx_ams_webrtc_ams_stream_t *as)
{
    if (as->pending) {
        ngx_ams_access_cancel(as->pending);
        as->pending = NULL;
    }

    ngx_ams_webrtc_wait_cancel(&as->wait);

    ngx_queue_remove(&as->queue);
    as->ams->nstreams--;
    ngx_free(as);
}


/* the core's refusals in AMS's words */

static const char *
ngx_ams_webrtc_ams_refusal(const char *refused)
{
    if (ngx_strcmp(refused, NGX_AMS_REFUSED_RESOURCES) == 0) {
        return "highResourceUsage";
    }

    if (ngx_strcmp(refused, NGX_AMS_REFUSED_NOT_IN_STORE) == 0) {
        return "not_allowed_unregistered_streams";
    }

    if (ngx_strcmp(refused, NGX_AMS_REFUSED_IN_USE) == 0) {
        return "streamIdInUse";
    }

    return "unauthorized_access";
}


static void
ngx_ams_webrtc_ams_send(ngx_ams_webrtc_ams_t *ams, json_t *doc)
{
    char  *text;

    if (doc == NULL || ams->closed) {
        json_decref(doc);
        return;
    }

    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);

    if (text == NULL) {
        return;
    }

    (void) ngx_ams_webrtc_ws_send(ams->ws, (u_char *) text,
                                  ngx_strlen(text));
    free(text);
}


static void
ngx_ams_webrtc_ams_error(ngx_ams_webrtc_ams_t *ams, const char *definition,
    ngx_str_t *id)
{
    if (id) {
        ngx_ams_webrtc_ams_send(ams,
            json_pack("{ss ss ss#}", "command", "error",
                      "definition", definition,
                      "streamId", id->data, id->len));
        return;
    }

    ngx_ams_webrtc_ams_send(ams,
        json_pack("{ss ss}", "command", "error", "definition", definition));
}


static void
ngx_ams_webrtc_ams_notify(ngx_ams_webrtc_ams_t *ams, const char *definition,
    ngx_str_t *id)
{
    ngx_ams_webrtc_ams_send(ams,
        json_pack("{ss ss ss#}", "command", "notification",
                  "definition", definition,
                  "streamId", id->data, id->len));
}
