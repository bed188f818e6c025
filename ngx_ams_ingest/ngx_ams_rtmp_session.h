
/*
 * Copyright (C) nginx-ams authors
 *
 * Inside an RTMP session: what its files share.  The connection
 * (ngx_ams_rtmp_session.c) reads and parses bytes and owns the output
 * buffer; commands (ngx_ams_rtmp_commands.c) answer what the client asks
 * and admit it; a publisher writes into the bus (ngx_ams_rtmp_publish.c);
 * a player is fed from it (ngx_ams_rtmp_play.c); what each client
 * address buffers is counted in ngx_ams_rtmp_budget.c.  Private to these
 * files.
 */


#ifndef _NGX_AMS_RTMP_SESSION_H_INCLUDED_
#define _NGX_AMS_RTMP_SESSION_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_ams_rtmp.h"
#include "ngx_ams_amf0.h"


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

/* until a connection publishes, it sends commands only: its messages and
 * partial messages stay small (a JWT in "publish" takes up to 4 KiB) */
#define NGX_AMS_RTMP_COMMAND_MESSAGE   (32 * 1024)
#define NGX_AMS_RTMP_COMMAND_BUFFERED  (64 * 1024)

/* a publisher's partial messages: one of ams_rtmp_max_message, and
 * small audio and data messages interleaved with it */
#define NGX_AMS_RTMP_PUBLISH_MARGIN    (256 * 1024)


/* ngx_ams_rtmp_session.c: the connection and its output buffer */
void ngx_ams_rtmp_set_lowat(ngx_ams_rtmp_session_t *rs, int lowat);
void ngx_ams_rtmp_queue(ngx_ams_rtmp_session_t *rs, uint32_t csid,
    uint32_t ts, uint8_t type, uint32_t msid, const u_char *head,
    size_t head_len, const u_char *body, size_t body_len);
ngx_int_t ngx_ams_rtmp_flush(ngx_ams_rtmp_session_t *rs);
void ngx_ams_rtmp_finalize(ngx_ams_rtmp_session_t *rs);
void ngx_ams_rtmp_set_limits(ngx_ams_rtmp_session_t *rs,
    ngx_uint_t publisher);
void ngx_ams_rtmp_guard(ngx_ams_rtmp_session_t *rs, ngx_msec_t timeout);

/* ngx_ams_rtmp_budget.c: what each client address buffers */
ngx_int_t ngx_ams_rtmp_peer_attach(ngx_ams_rtmp_session_t *rs);
void ngx_ams_rtmp_peer_detach(ngx_ams_rtmp_session_t *rs);
size_t *ngx_ams_rtmp_peer_counter(ngx_ams_rtmp_session_t *rs);
ngx_str_t *ngx_ams_rtmp_peer_text(ngx_ams_rtmp_session_t *rs);
ngx_ams_rtmp_session_t *ngx_ams_rtmp_peer_largest(void);

/* ngx_ams_rtmp_commands.c: messages, commands, admission, replies */
extern ngx_ams_amf_arena_t  ngx_ams_rtmp_arena;

int ngx_ams_rtmp_on_message(void *ctx, ngx_ams_rtmp_msg_t *msg,
    const char **err);
void ngx_ams_rtmp_send_control(ngx_ams_rtmp_session_t *rs, uint8_t type,
    uint32_t value, int extra);
void ngx_ams_rtmp_send_user(ngx_ams_rtmp_session_t *rs, uint16_t event,
    uint32_t value);
void ngx_ams_rtmp_send_status(ngx_ams_rtmp_session_t *rs, const char *level,
    const char *code, const char *description);

/* ngx_ams_rtmp_publish.c: a publisher's media into the bus */
void ngx_ams_rtmp_publish_start(ngx_ams_rtmp_session_t *rs);
int ngx_ams_rtmp_on_data(ngx_ams_rtmp_session_t *rs, const u_char *p,
    size_t len);
int ngx_ams_rtmp_on_media(ngx_ams_rtmp_session_t *rs,
    ngx_ams_rtmp_msg_t *msg, const char **err);
void ngx_ams_rtmp_publish_stop(ngx_ams_rtmp_session_t *rs);

/* ngx_ams_rtmp_play.c: a player fed from the bus */
void ngx_ams_rtmp_play_init(ngx_ams_rtmp_session_t *rs);
void ngx_ams_rtmp_play_start(ngx_ams_rtmp_session_t *rs);
void ngx_ams_rtmp_pump(ngx_ams_rtmp_session_t *rs);
void ngx_ams_rtmp_play_stop(ngx_ams_rtmp_session_t *rs);


#endif /* _NGX_AMS_RTMP_SESSION_H_INCLUDED_ */
