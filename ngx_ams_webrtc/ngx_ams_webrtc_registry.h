
/*
 * Copyright (C) nginx-ams authors
 *
 * The node's WebRTC sessions by URL id, in a shared-memory zone of their
 * own ("ams_webrtc_sessions"), so a WHIP/WHEP PATCH or DELETE is served
 * whichever worker nginx gives the request to.  A session stays in the
 * worker whose UDP port its answer named; the table says which one
 * (its pid) and what a PATCH checks (ufrags, stream).  A DELETE landing
 * elsewhere marks the entry; the owner looks at its entries every
 * 100 ms while it has any, and closes what was asked.
 */


#ifndef _NGX_AMS_WEBRTC_REGISTRY_H_INCLUDED_
#define _NGX_AMS_WEBRTC_REGISTRY_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_webrtc.h"


#define NGX_AMS_WEBRTC_REGISTRY_SLOTS   4096
#define NGX_AMS_WEBRTC_REGISTRY_PROBE   32
#define NGX_AMS_WEBRTC_REGISTRY_TICK    100     /* ms: the owner looks */


/* one session, as another worker sees it */
typedef struct {
    u_char                    id[NGX_AMS_WEBRTC_ID_LEN];
    ngx_atomic_t              pid;           /* the owner; 0: free */
    ngx_atomic_t              close;         /* a DELETE elsewhere */
    ngx_atomic_t              data;          /* its SCTP association is
                                                up (data channels) */
    ngx_uint_t                direction;
    u_char                    local_ufrag[NGX_AMS_WEBRTC_UFRAG_LEN];
    uint32_t                  remote_ufrag_crc;  /* ICE restart check */
    size_t                    app_len;
    size_t                    name_len;
    u_char                    app[NGX_AMS_APP_LEN];
    u_char                    name[NGX_AMS_NAME_LEN];
} ngx_ams_webrtc_registry_entry_t;


/* the zone (the "ams_webrtc" directive, once per configuration) */
ngx_int_t ngx_ams_webrtc_registry_zone(ngx_conf_t *cf, void *tag);

/* the transport: a session enters when it starts, leaves when it closes */
void ngx_ams_webrtc_registry_insert(ngx_ams_webrtc_session_t *s);
void ngx_ams_webrtc_registry_remove(ngx_ams_webrtc_session_t *s);
/* the session's data channels are up (1) or gone (0) */
void ngx_ams_webrtc_registry_data(ngx_ams_webrtc_session_t *s,
    ngx_uint_t up);
/* any worker: whether a live session of {app, name} has data channels */
ngx_uint_t ngx_ams_webrtc_registry_has_data(ngx_str_t *app,
    ngx_str_t *name);
/* the worker exits: its timer goes */
void ngx_ams_webrtc_registry_exit(void);

/* the signalling: a copy of the entry of "id" (NGX_OK), NGX_DECLINED */
ngx_int_t ngx_ams_webrtc_registry_find(u_char *id, size_t len,
    ngx_ams_webrtc_registry_entry_t *copy);
/* asks the owner "pid" to close session "id": NGX_OK, NGX_DECLINED (it
 * is gone) */
ngx_int_t ngx_ams_webrtc_registry_close(u_char *id, size_t len,
    ngx_pid_t pid);


#endif /* _NGX_AMS_WEBRTC_REGISTRY_H_INCLUDED_ */
