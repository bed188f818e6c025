
/*
 * Copyright (C) nginx-ams authors
 *
 * Ant Media Server's WebSocket signalling at /{App}/websocket: the
 * connection (ngx_ams_webrtc_ws.c: nginx's HTTP upgrade taken over by
 * our own handler, frames in and out, a bounded send queue, an idle
 * timeout) and the protocol on it (ngx_ams_webrtc_ams.c: publish, play,
 * stop, takeConfiguration, takeCandidate, ping, getStreamInfo,
 * getIceServerConfig; start, notification, error out).
 */


#ifndef _NGX_AMS_WEBRTC_WS_H_INCLUDED_
#define _NGX_AMS_WEBRTC_WS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_core.h"


/* the longest message a client may send (an SDP offer with many codecs
 * is 10-20 KB) */
#define NGX_AMS_WEBRTC_WS_MAX_MESSAGE   (64 * 1024)
/* what may wait to be sent to a client before it is cut off as too
 * slow */
#define NGX_AMS_WEBRTC_WS_MAX_QUEUED    (1024 * 1024)
/* AMS's client pings every 3 s: a minute of silence is a dead peer */
#define NGX_AMS_WEBRTC_WS_IDLE          60000


typedef struct ngx_ams_webrtc_ws_s  ngx_ams_webrtc_ws_t;

struct ngx_ams_webrtc_ws_s {
    ngx_http_request_t       *request;
    ngx_connection_t         *connection;
    ngx_ams_app_conf_t       *app;
    void                     *ams;          /* the protocol's state */
    ngx_log_t                *log;
    /* private to ngx_ams_webrtc_ws.c */
    void                     *io;
};


/* the location handler's part for a request to /{App}/websocket */
ngx_int_t ngx_ams_webrtc_ws_handler(ngx_http_request_t *r,
    ngx_ams_app_conf_t *app);

/* a text message to the client: NGX_OK, or NGX_ERROR when the
 * connection is closing or the client is too slow (it is then closed) */
ngx_int_t ngx_ams_webrtc_ws_send(ngx_ams_webrtc_ws_t *ws, u_char *text,
    size_t len);
/* a close frame with "code", then the connection goes */
void ngx_ams_webrtc_ws_close(ngx_ams_webrtc_ws_t *ws, ngx_uint_t code);

/* the protocol (ngx_ams_webrtc_ams.c) */
ngx_int_t ngx_ams_webrtc_ams_open(ngx_ams_webrtc_ws_t *ws);
void ngx_ams_webrtc_ams_message(ngx_ams_webrtc_ws_t *ws, u_char *text,
    size_t len);
/* the connection is going: end its sessions quietly */
void ngx_ams_webrtc_ams_closed(ngx_ams_webrtc_ws_t *ws);


#endif /* _NGX_AMS_WEBRTC_WS_H_INCLUDED_ */
