
/*
 * Copyright (C) nginx-ams authors
 *
 * The RTMP(S) server: a stream module content handler.  A session is one
 * TCP (or TLS) connection: handshake, chunk stream, commands, then either
 * publishing into the bus or playing from it.  What the session's own
 * files share is in ngx_ams_rtmp_session.h.
 */


#ifndef _NGX_AMS_RTMP_H_INCLUDED_
#define _NGX_AMS_RTMP_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_ams_core.h"
#include "ngx_ams_access.h"
#include "ngx_ams_flv.h"
#include "ngx_ams_rtmp_chunk.h"
#include "ngx_ams_rtmp_handshake.h"


typedef struct {
    size_t                        worker_buffers; /* partial messages, all
                                                     connections */
    size_t                        address_buffers;  /* one address's */
} ngx_ams_rtmp_main_conf_t;


/* a client address and what its connections buffer (budget.c) */
typedef struct ngx_ams_rtmp_peer_s  ngx_ams_rtmp_peer_t;


typedef struct {
    ngx_flag_t                    enabled;
    size_t                        chunk_size;     /* what we send */
    size_t                        max_message;
    ngx_msec_t                    timeout;
    ngx_msec_t                    handshake_timeout;  /* to publish/play */
    ngx_msec_t                    media_timeout;  /* a publisher's */
    size_t                        out_queue;      /* player backlog */
} ngx_ams_rtmp_srv_conf_t;


typedef enum {
    NGX_AMS_RTMP_HS_C0C1 = 0,
    NGX_AMS_RTMP_HS_C2,
    NGX_AMS_RTMP_CHUNKS
} ngx_ams_rtmp_state_e;


typedef struct {
    ngx_stream_session_t         *session;
    ngx_connection_t             *connection;
    ngx_ams_rtmp_srv_conf_t      *conf;

    /* the deadline to publish or play, then a publisher's media timeout */
    ngx_event_t                   guard;

    ngx_ams_rtmp_state_e          state;
    u_char                       *hs;             /* handshake bytes */
    size_t                        hs_len;

    ngx_ams_rtmp_chunk_parser_t   parser;
    ngx_ams_rtmp_peer_t          *peer;           /* its address */
    ngx_queue_t                   peer_link;
    uint64_t                      in_bytes;
    uint64_t                      in_acked;
    uint32_t                      ack_window;

    u_char                       *out;            /* unsent bytes */
    size_t                        out_pos;
    size_t                        out_last;
    size_t                        out_cap;

    ngx_ams_app_conf_t           *app;
    ngx_str_t                     name;
    u_char                        name_buf[NGX_AMS_NAME_LEN];
    ngx_str_t                     token;          /* "?token=" */
    ngx_ams_access_t             *access;         /* being admitted */

    /* publishing */
    ngx_ams_source_t              source;
    ngx_ams_stream_t             *stream;
    ngx_msec_t                    rate_start;     /* bitrate measurement */
    uint64_t                      rate_bytes;
    int                           lowat;          /* SO_RCVLOWAT, 0: none */
    ngx_msec_t                    last_read;
    ngx_msec_t                    last_media;
    ngx_ams_flv_state_t           flv;            /* clock, tracks seen */
    unsigned                      warned_no_config:1;

    /* playing */
    ngx_ams_reader_t              reader;
    uint64_t                      played_frames;
    uint64_t                      dropped_frames;
    ngx_uint_t                    skips;

    unsigned                      connected:1;
    unsigned                      publishing:1;
    unsigned                      playing:1;
    unsigned                      waiting:1;
    unsigned                      ping_sent:1;
    unsigned                      closing:1;      /* after the flush */
    unsigned                      admitting:1;
    unsigned                      admitting_publisher:1;
    unsigned                      evicted:1;      /* buffers taken back */
    unsigned                      cluster_pull:1; /* another node's pull:
                                                     no viewer */
} ngx_ams_rtmp_session_t;


extern ngx_module_t  ngx_ams_ingest_module;


void ngx_ams_rtmp_init_session(ngx_stream_session_t *s);


#endif /* _NGX_AMS_RTMP_H_INCLUDED_ */
