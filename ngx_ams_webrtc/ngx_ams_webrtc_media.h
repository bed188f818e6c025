
/*
 * Copyright (C) nginx-ams authors
 *
 * The media layer's private interface: ngx_ams_webrtc_media.c routes the
 * media section of ngx_ams_webrtc.h to the play side
 * (ngx_ams_webrtc_play.c: bus -> RTP) or the publish side
 * (ngx_ams_webrtc_publish.c: RTP -> bus) by the session's direction, and
 * keeps what both use.
 */


#ifndef _NGX_AMS_WEBRTC_MEDIA_H_INCLUDED_
#define _NGX_AMS_WEBRTC_MEDIA_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_webrtc.h"


/* a keyframe is asked for (PLI to a publisher, a request to a source) at
 * most this often: a burst of PLIs from a lossy peer costs one keyframe */
#define NGX_AMS_WEBRTC_KEYFRAME_INTERVAL   500     /* ms */
#define NGX_AMS_WEBRTC_RTCP_INTERVAL       1000    /* ms: SR, RR, REMB */
/* what a publisher is told it may send (REMB): browsers ramp up to it */
#define NGX_AMS_WEBRTC_REMB_CEILING        2500000 /* bits/s */
/* room for one packet and what SRTP adds to it */
#define NGX_AMS_WEBRTC_PACKET_SIZE \
    (NGX_AMS_RTP_MAX_PACKET + NGX_AMS_SRTP_TRAILER)
#define NGX_AMS_WEBRTC_CNAME               "nginx-ams"


ngx_int_t ngx_ams_webrtc_play_prepare(ngx_ams_webrtc_session_t *s,
    uint32_t *profile_level_id);
ngx_int_t ngx_ams_webrtc_play_start(ngx_ams_webrtc_session_t *s);
void ngx_ams_webrtc_play_connected(ngx_ams_webrtc_session_t *s);
void ngx_ams_webrtc_play_rtcp(ngx_ams_webrtc_session_t *s, u_char *p,
    size_t len);
void ngx_ams_webrtc_play_close(ngx_ams_webrtc_session_t *s);

ngx_int_t ngx_ams_webrtc_publish_prepare(ngx_ams_webrtc_session_t *s);
ngx_int_t ngx_ams_webrtc_publish_start(ngx_ams_webrtc_session_t *s);
void ngx_ams_webrtc_publish_connected(ngx_ams_webrtc_session_t *s);
void ngx_ams_webrtc_publish_rtp(ngx_ams_webrtc_session_t *s,
    ngx_ams_rtp_header_t *h, u_char *p, size_t len);
void ngx_ams_webrtc_publish_rtcp(ngx_ams_webrtc_session_t *s, u_char *p,
    size_t len);
void ngx_ams_webrtc_publish_close(ngx_ams_webrtc_session_t *s);

/* wall-clock microseconds, for NTP times in RTCP and abs-send-time */
uint64_t ngx_ams_webrtc_now_usec(void);
/* a random 32-bit value (SSRCs of our RTCP, timestamp offsets) */
uint32_t ngx_ams_webrtc_random32(void);
/* the transform's entry points, when the transcoder is loaded */
void *ngx_ams_webrtc_transcoder_symbol(const char *name);


#endif /* _NGX_AMS_WEBRTC_MEDIA_H_INCLUDED_ */
