
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

/* the address a datagram came to (IP_PKTINFO): a host with several
 * addresses answers from the one the peer sent to, or the peer's ICE
 * agent drops the answer ("source address mismatch") */
typedef struct {
    int                       family;        /* 0: not known */
    union {
        struct in_addr        v4;
#if (NGX_HAVE_INET6)
        struct in6_addr       v6;
#endif
    } u;
} ngx_ams_webrtc_local_t;


/* ngx_ams_webrtc_udp.c: open in init_process, close in exit_process */
ngx_int_t ngx_ams_webrtc_udp_open(ngx_cycle_t *cycle);
void ngx_ams_webrtc_udp_close(void);
/* 1 when this worker's socket is open: sessions can be made */
ngx_uint_t ngx_ams_webrtc_udp_ready(void);
/* one datagram to "sa" from "local" (NULL: the kernel's choice),
 * copied into the worker's queue, sent (sendmmsg, UDP GSO) at the end of
 * this event loop turn: NGX_OK (queued), NGX_AGAIN (socket full:
 * dropped), NGX_ERROR */
ngx_int_t ngx_ams_webrtc_udp_send(struct sockaddr *sa, socklen_t len,
    ngx_ams_webrtc_local_t *local, u_char *p, size_t n);

/* ngx_ams_webrtc_session.c */
ngx_int_t ngx_ams_webrtc_sessions_init(ngx_cycle_t *cycle);
void ngx_ams_webrtc_sessions_exit(void);
/* a datagram from the worker's socket */
void ngx_ams_webrtc_session_input(struct sockaddr *sa, socklen_t len,
    ngx_ams_webrtc_local_t *local, u_char *p, size_t n);

/* what the transport keeps beside the shared session: "s" first, so a
 * session's pointer is this one's */
typedef struct {
    ngx_ams_webrtc_session_t  s;
    u_char                    addr_key[19];  /* family, port, address */
    ngx_ams_webrtc_local_t    local;         /* where the selected check
                                                came to: we send from it */
    size_t                    addr_key_len;
    ngx_ams_webrtc_event_pt   on_event;
    void                     *on_event_data;
    ngx_queue_t               made;          /* every session of the
                                                worker until freed */
    ngx_uint_t                client;        /* we are the DTLS client */
    uint32_t                  plid;          /* offered: the profile */
    ngx_uint_t                registry;      /* its slot in the node's
                                                table + 1, 0: none */
    unsigned                  started:1;     /* in the tables */
    unsigned                  prepared:1;    /* media_prepare succeeded */
    unsigned                  media_started:1;
    unsigned                  in_addr_tree:1;
    unsigned                  dtls_started:1;
    unsigned                  offered:1;     /* offer() done: we wait
                                                for the answer */
} ngx_ams_webrtc_tsession_t;

#define ngx_ams_webrtc_ts(s)  ((ngx_ams_webrtc_tsession_t *) (s))


/*
 * ngx_ams_webrtc_answer.c negotiates (ngx_ams_webrtc.h's signalling
 * functions); once the SDP is agreed, start() makes the session's DTLS
 * endpoint (client or server, the peer's certificate digest), enters it
 * into the worker's tables and starts the handshake timer.
 */
ngx_int_t ngx_ams_webrtc_session_start(ngx_ams_webrtc_session_t *s,
    ngx_uint_t client, const uint8_t *peer_fp);

/* this worker's session with that URL id, NULL if none (or closing) */
ngx_ams_webrtc_session_t *ngx_ams_webrtc_session_find(u_char *id,
    size_t len);
/* sessions of this worker, in all and from one client address */
ngx_uint_t ngx_ams_webrtc_sessions(void);
ngx_uint_t ngx_ams_webrtc_sessions_from(ngx_addr_t *client);


#endif /* _NGX_AMS_WEBRTC_TRANSPORT_H_INCLUDED_ */
