
/*
 * Copyright (C) nginx-ams authors
 *
 * A WebRTC viewer's video moved between the original and the
 * transcoder's rungs ({id}_{height}p{kbps}kbps) without renegotiation:
 * ngx_ams_webrtc_rung.c.  Play keeps its one SSRC, sequence and clock;
 * this file decides, frame by frame, which reader's video goes out.
 */


#ifndef _NGX_AMS_WEBRTC_RUNG_H_INCLUDED_
#define _NGX_AMS_WEBRTC_RUNG_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_avc.h"


/* a switch not done by then (no IDR came) is given up */
#define NGX_AMS_WEBRTC_RUNG_SWITCH_WAIT   3000     /* ms */
#define NGX_AMS_WEBRTC_RUNG_LIST_MAX      8


typedef struct ngx_ams_webrtc_rung_s  ngx_ams_webrtc_rung_t;

/* play's packetizer: one video frame with "avc"'s SPS/PPS */
typedef ngx_uint_t (*ngx_ams_webrtc_rung_send_pt)(
    ngx_ams_webrtc_session_t *s, ngx_ams_bus_event_t *ev,
    ngx_ams_avc_config_t *avc);


typedef struct {
    ngx_uint_t                height;
    ngx_uint_t                width;         /* 0 until its avcC came */
    ngx_uint_t                kbps;          /* from its name */
    ngx_str_t                 name;
    u_char                    name_data[NGX_AMS_NAME_LEN];
} ngx_ams_webrtc_rung_info_t;


/* the live rungs of "id" in "app", tallest first: their number */
ngx_uint_t ngx_ams_webrtc_rung_list(ngx_str_t *app, ngx_str_t *id,
    ngx_ams_webrtc_rung_info_t *list, ngx_uint_t max);

ngx_ams_webrtc_rung_t *ngx_ams_webrtc_rung_create(
    ngx_ams_webrtc_session_t *s, ngx_ams_webrtc_rung_send_pt send);
/* the session is connected: a height chosen before applies now */
void ngx_ams_webrtc_rung_connected(ngx_ams_webrtc_rung_t *r);
/* a height to play (0: automatic): NGX_OK, NGX_DECLINED (no such
 * rung), NGX_BUSY */
ngx_int_t ngx_ams_webrtc_rung_select(ngx_ams_webrtc_rung_t *r,
    ngx_uint_t height);
/* one video frame of play's own reader: 1 to send it */
ngx_uint_t ngx_ams_webrtc_rung_main(ngx_ams_webrtc_rung_t *r,
    ngx_ams_bus_event_t *ev);
/* the viewer's REMB (0: none) and RR fraction lost (-1: none) */
void ngx_ams_webrtc_rung_feedback(ngx_ams_webrtc_rung_t *r,
    uint64_t remb, int lost);
/* a PLI while a rung plays: asked of the rung; 0 when the original plays */
ngx_uint_t ngx_ams_webrtc_rung_keyframe(ngx_ams_webrtc_rung_t *r);
void ngx_ams_webrtc_rung_close(ngx_ams_webrtc_rung_t *r);


#endif /* _NGX_AMS_WEBRTC_RUNG_H_INCLUDED_ */
