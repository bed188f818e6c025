
/*
 * Copyright (C) nginx-ams authors
 *
 * The transport's own interface between its files (not the media
 * layer's business): the worker's UDP socket (ngx_ams_webrtc_udp.c), the
 * session table (ngx_ams_webrtc_session.c) and what the signalling
 * (ngx_ams_webrtc_http.c) asks of them.
 */


#ifndef _NGX_AMS_WEBRTC_TRANSPORT_H_INCLUDED_
#define _NGX_AMS_WEBRTC_TRANSPORT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_webrtc.h"


/* the module's configuration of the running cycle (NULL without one) */
ngx_ams_webrtc_main_conf_t *ngx_ams_webrtc_main_conf(void);

/* the UDP port of this worker: webrtc_udp_port_base + ngx_worker */
in_port_t ngx_ams_webrtc_udp_port(void);

/* ngx_ams_webrtc_udp.c: open in init_process, close in exit_process */
ngx_int_t ngx_ams_webrtc_udp_open(ngx_cycle_t *cycle);
void ngx_ams_webrtc_udp_close(void);
/* 1 when this worker's socket is open: sessions can be made */
ngx_uint_t ngx_ams_webrtc_udp_ready(void);
/* one datagram to "sa": NGX_OK, NGX_AGAIN (socket full: dropped),
 * NGX_ERROR */
ngx_int_t ngx_ams_webrtc_udp_send(struct sockaddr *sa, socklen_t len,
    u_char *p, size_t n);

/* ngx_ams_webrtc_session.c */
ngx_int_t ngx_ams_webrtc_sessions_init(ngx_cycle_t *cycle);
void ngx_ams_webrtc_sessions_exit(void);
/* a datagram from the worker's socket */
void ngx_ams_webrtc_session_input(struct sockaddr *sa, socklen_t len,
    u_char *p, size_t n);

/*
 * The signalling's part: a new session with its ids and ICE credentials
 * drawn (from the CSPRNG), its pool and log; not in the tables yet.
 * Then, once the answer is written, ngx_ams_webrtc_session_start()
 * makes its DTLS endpoint, enters it into the tables and starts the
 * handshake timer.  A session never started is freed with
 * ngx_ams_webrtc_session_free() (after ngx_ams_webrtc_media_close when
 * ngx_ams_webrtc_media_prepare succeeded: "prepared" says so).
 */
ngx_ams_webrtc_session_t *ngx_ams_webrtc_session_create(ngx_uint_t dir,
    ngx_ams_app_conf_t *app, ngx_str_t *stream_id, ngx_addr_t *client);
ngx_int_t ngx_ams_webrtc_session_start(ngx_ams_webrtc_session_t *s,
    ngx_uint_t client, const uint8_t *peer_fp);
void ngx_ams_webrtc_session_prepared(ngx_ams_webrtc_session_t *s);
void ngx_ams_webrtc_session_free(ngx_ams_webrtc_session_t *s);

/* this worker's session with that URL id, NULL if none (or closing) */
ngx_ams_webrtc_session_t *ngx_ams_webrtc_session_find(u_char *id,
    size_t len);
/* sessions of this worker, in all and from one client address */
ngx_uint_t ngx_ams_webrtc_sessions(void);
ngx_uint_t ngx_ams_webrtc_sessions_from(ngx_addr_t *client);


#endif /* _NGX_AMS_WEBRTC_TRANSPORT_H_INCLUDED_ */
