
/*
 * Copyright (C) nginx-ams authors
 *
 * WebRTC data channels of a session (RFC 8831) and their relay, as Ant
 * Media Server does it: a message from the publisher of a stream goes
 * to every player of that stream; a message from a player goes to the
 * publisher and to the other players.  The transport calls these from
 * ngx_ams_webrtc_session.c; nothing here is the media layer's.
 */


#ifndef _NGX_AMS_WEBRTC_DATA_H_INCLUDED_
#define _NGX_AMS_WEBRTC_DATA_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_dcmail.h"


/* per data session, per second: more is dropped with a log line */
#define NGX_AMS_WEBRTC_DATA_MSGS       200
#define NGX_AMS_WEBRTC_DATA_BYTES      (2 * 1024 * 1024)
/* a peer that sends this many times the bound in one second loses its
 * own session */
#define NGX_AMS_WEBRTC_DATA_FLOOD      5


/* DTLS connected: the SCTP association when the SDP agreed on data
 * channels (s->sel.application); nothing otherwise */
void ngx_ams_webrtc_data_connected(ngx_ams_webrtc_session_t *s,
    ngx_uint_t dtls_client, ngx_uint_t we_offered);
/* DTLS application data: an SCTP packet */
void ngx_ams_webrtc_data_input(ngx_ams_webrtc_session_t *s,
    const u_char *p, size_t len);
/* the session is freed: before its DTLS endpoint (an ABORT goes out) */
void ngx_ams_webrtc_data_close(ngx_ams_webrtc_session_t *s);
/* the worker exits, every session freed */
void ngx_ams_webrtc_data_exit(void);
/* a message another worker relayed (its mailbox): to this worker's
 * sessions of the stream, by the same rules */
void ngx_ams_webrtc_data_deliver(ngx_ams_dcmail_msg_t *m);
/* REST: to every session of {app, name} on the node (a
 * ngx_ams_data_send_pt) */
ngx_int_t ngx_ams_webrtc_data_send(ngx_str_t *app, ngx_str_t *name,
    u_char *text, size_t len, ngx_log_t *log);


#endif /* _NGX_AMS_WEBRTC_DATA_H_INCLUDED_ */
