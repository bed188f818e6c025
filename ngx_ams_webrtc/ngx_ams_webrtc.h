
/*
 * Copyright (C) nginx-ams authors
 *
 * ngx_ams_webrtc: WebRTC publish and play inside nginx.  What its files
 * share:
 *
 *   transport (ngx_ams_webrtc_udp.c, ngx_ams_webrtc_session.c): each
 *     worker's UDP port (webrtc_udp_port_base + ngx_worker), ICE-lite
 *     (STUN checks authenticated with the session's ufrag/pwd), DTLS,
 *     SRTP, timers, consent freshness; the session table of the worker
 *   signalling (ngx_ams_webrtc_http.c): WHIP and WHEP over HTTP; later
 *     Ant Media's WebSocket protocol
 *   media (ngx_ams_webrtc_play.c, ngx_ams_webrtc_publish.c): the bus
 *     reader that packetizes a stream for a viewer, the depacketizer
 *     that publishes a WebRTC publisher's stream into the bus, and the
 *     RTCP each needs (SR/RR, NACK, PLI/FIR, REMB)
 *   data channels (ngx_ams_webrtc_data.c): SCTP over the session's DTLS,
 *     messages relayed between a stream's publisher and players
 *
 * A session lives in the worker that wrote its SDP answer: that answer
 * advertises this worker's port, so its STUN, DTLS and SRTP arrive here.
 */


#ifndef _NGX_AMS_WEBRTC_H_INCLUDED_
#define _NGX_AMS_WEBRTC_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_core.h"
#include "ngx_ams_sdp.h"
#include "ngx_ams_stun.h"
#include "ngx_ams_dtls.h"
#include "ngx_ams_srtp.h"
#include "ngx_ams_rtp.h"


#define NGX_AMS_WEBRTC_PUBLISH      1       /* we receive: WHIP */
#define NGX_AMS_WEBRTC_PLAY         2       /* we send: WHEP */

#define NGX_AMS_WEBRTC_UFRAG_LEN    8       /* ours: ice-chars */
#define NGX_AMS_WEBRTC_PWD_LEN      24
#define NGX_AMS_WEBRTC_ID_LEN       32      /* session id in its URL: hex
                                               of 128 random bits */


typedef struct {
    ngx_uint_t                udp_port_base;     /* webrtc_udp_port_base */
    ngx_array_t              *public_addresses;  /* of ngx_str_t: what the
                                                    SDP's candidates say;
                                                    NULL: node_address */
    ngx_msec_t                handshake_timeout; /* ICE + DTLS: 20s */
    ngx_msec_t                consent_timeout;   /* no check: 30s */
    ngx_uint_t                max_sessions;      /* per worker */
    ngx_uint_t                sessions_per_address;
    ngx_uint_t                offer_rate;        /* POSTs a second per
                                                    address; 0: no limit */
    ngx_uint_t                offer_burst;

    ngx_ams_dtls_ctx_t       *dtls;              /* made before the fork */
} ngx_ams_webrtc_main_conf_t;


typedef struct ngx_ams_webrtc_session_s  ngx_ams_webrtc_session_t;

struct ngx_ams_webrtc_session_s {
    ngx_uint_t                direction;         /* NGX_AMS_WEBRTC_* */
    ngx_ams_app_conf_t       *app;
    ngx_str_t                 app_name;          /* allocated with it */
    ngx_str_t                 stream_id;
    u_char                    id[NGX_AMS_WEBRTC_ID_LEN + 1];

    /* ICE: ours, and the peer's from its offer */
    u_char                    local_ufrag[NGX_AMS_WEBRTC_UFRAG_LEN + 1];
    u_char                    local_pwd[NGX_AMS_WEBRTC_PWD_LEN + 1];
    u_char                    remote_ufrag[NGX_AMS_SDP_ICE_MAX + 1];
    u_char                    remote_pwd[NGX_AMS_SDP_ICE_MAX + 1];

    /* what the offer and our answer agreed on */
    ngx_ams_sdp_selection_t   sel;
    uint32_t                  remote_audio_ssrc;  /* publish: from the
                                                     offer, 0 if none */
    uint32_t                  remote_video_ssrc;
    uint32_t                  remote_video_rtx_ssrc;
    uint32_t                  local_audio_ssrc;   /* play: what we send */
    uint32_t                  local_video_ssrc;
    uint32_t                  local_video_rtx_ssrc;
    ngx_uint_t                stream_height;      /* play: a rung asked
                                                     for, 0: automatic */

    /* the peer's address: set by the first authenticated check with
     * USE-CANDIDATE, moved only by another authenticated one; media is
     * never sent anywhere else */
    struct sockaddr_storage   peer;
    socklen_t                 peer_len;
    ngx_addr_t                client;           /* the signalling client's
                                                   address: limits, logs */

    ngx_ams_dtls_t           *dtls;
    ngx_ams_srtp_t           *srtp;              /* NULL until connected */

    void                     *media;             /* the media layer's */
    void                     *datachannels;      /* ngx_ams_webrtc_data.c's:
                                                    NULL without SCTP */

    ngx_event_t               timer;             /* DTLS retransmission,
                                                    handshake, consent */
    ngx_msec_t                created;
    ngx_msec_t                last_check;        /* consent freshness */
    ngx_pool_t               *pool;
    ngx_log_t                 log;
    ngx_rbtree_node_t         ufrag_node;        /* the worker's tables */
    ngx_rbtree_node_t         addr_node;
    ngx_queue_t               queue;

    unsigned                  selected:1;        /* a peer address chosen */
    unsigned                  connected:1;       /* DTLS done, SRTP keys */
    unsigned                  closing:1;
    unsigned                  offer_data:1;      /* set before offer(): a
                                                    data channel section
                                                    in our offer */
};


extern ngx_module_t  ngx_ams_webrtc_module;


/* --- transport, for the media layer --- */

/* protect an RTP packet in place (room for NGX_AMS_SRTP_TRAILER after
 * it): NGX_OK with *len updated, or NGX_ERROR */
ngx_int_t ngx_ams_webrtc_protect_rtp(ngx_ams_webrtc_session_t *s,
    u_char *p, size_t *len);
/* a protected packet to the peer's selected address: NGX_OK, NGX_AGAIN
 * (the socket is full: dropped and counted), NGX_ERROR */
ngx_int_t ngx_ams_webrtc_send(ngx_ams_webrtc_session_t *s, u_char *p,
    size_t len);
/* RTCP: protect (same room) and send */
ngx_int_t ngx_ams_webrtc_send_rtcp(ngx_ams_webrtc_session_t *s, u_char *p,
    size_t len);
/* end the session (the stream ended, a fatal error): logs "reason" */
void ngx_ams_webrtc_session_close(ngx_ams_webrtc_session_t *s,
    const char *reason);


/*
 * --- sessions, for signalling (WHIP/WHEP, Ant Media's WebSocket) ---
 *
 * create() makes a session of this worker for "stream_id" of "app"
 * after admission (tokens, limits: the signalling's).  Then either the
 * peer offers (WHIP, WHEP, AMS publish): answer() parses the offer,
 * chooses (ngx_ams_sdp_select), prepares the media and writes our
 * answer; or we offer (AMS play): offer() writes ours, take_answer()
 * takes the peer's.  Those return NGX_OK, or an HTTP status to refuse
 * with (404 no such stream, 409 taken, 422 unusable SDP, 503) and
 * *error, a short reason for logs and AMS error messages.  Strings
 * written live in s->pool.  "on_event" (may be NULL) is told when the
 * session connects and when it closes (after which s is gone).
 */

#define NGX_AMS_WEBRTC_EVENT_CONNECTED  1
#define NGX_AMS_WEBRTC_EVENT_CLOSED     2

typedef void (*ngx_ams_webrtc_event_pt)(ngx_ams_webrtc_session_t *s,
    ngx_uint_t event, void *data);

ngx_ams_webrtc_session_t *ngx_ams_webrtc_session_create(
    ngx_ams_app_conf_t *app, ngx_str_t *stream_id, ngx_uint_t direction,
    struct sockaddr *client, socklen_t client_len, ngx_log_t *log);
ngx_int_t ngx_ams_webrtc_session_answer(ngx_ams_webrtc_session_t *s,
    u_char *offer, size_t len, ngx_str_t *answer, const char **error);
ngx_int_t ngx_ams_webrtc_session_offer(ngx_ams_webrtc_session_t *s,
    ngx_str_t *offer, const char **error);
ngx_int_t ngx_ams_webrtc_session_take_answer(ngx_ams_webrtc_session_t *s,
    u_char *answer, size_t len, const char **error);
void ngx_ams_webrtc_session_on_event(ngx_ams_webrtc_session_t *s,
    ngx_ams_webrtc_event_pt handler, void *data);


/* --- media, for the transport and signalling --- */

/*
 * Before the answer is written, on the signalling request's worker:
 * publish: takes the stream id on the bus (NGX_BUSY: it is live, 409);
 * play: checks the stream is live (NGX_DECLINED: 404) and sets
 * *profile_level_id from its avcC (0 when unknown) for the SDP policy.
 * NGX_ERROR: 503.
 */
ngx_int_t ngx_ams_webrtc_media_prepare(ngx_ams_webrtc_session_t *s,
    uint32_t *profile_level_id);
/* the answer is agreed (s->sel, the SSRCs): set up, nothing sent yet */
ngx_int_t ngx_ams_webrtc_media_start(ngx_ams_webrtc_session_t *s);
/* DTLS done, SRTP ready: play starts sending at a keyframe */
void ngx_ams_webrtc_media_connected(ngx_ams_webrtc_session_t *s);
/* a decrypted RTP packet (h parsed from p) */
void ngx_ams_webrtc_media_rtp(ngx_ams_webrtc_session_t *s,
    ngx_ams_rtp_header_t *h, u_char *p, size_t len);
/* a decrypted RTCP compound packet */
void ngx_ams_webrtc_media_rtcp(ngx_ams_webrtc_session_t *s, u_char *p,
    size_t len);
/* the session ends: close the reader, unpublish; s->media is freed */
void ngx_ams_webrtc_media_close(ngx_ams_webrtc_session_t *s);
/* play: the video's rung by height (0: automatic, by the viewer's
 * feedback): NGX_OK, NGX_DECLINED (no such rung, not a player), NGX_BUSY */
ngx_int_t ngx_ams_webrtc_play_quality(ngx_ams_webrtc_session_t *s,
    ngx_uint_t height);


#endif /* _NGX_AMS_WEBRTC_H_INCLUDED_ */
