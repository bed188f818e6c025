
/*
 * Copyright (C) nginx-ams authors
 *
 * Data-channel messages between the workers of a node: a zone of its
 * own ("ams_webrtc_mail") with a mailbox per worker (a ring of
 * NGX_AMS_WEBRTC_MAILBOX_SIZE bytes); a worker relaying a message
 * appends it to every other worker's mailbox and wakes it through the
 * bus (ngx_ams_bus_news); the woken worker delivers it to its own
 * sessions of the stream.  A full mailbox drops the message (logged
 * once a second), never waits.
 */


#ifndef _NGX_AMS_WEBRTC_MAILBOX_H_INCLUDED_
#define _NGX_AMS_WEBRTC_MAILBOX_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_dcmail.h"


#define NGX_AMS_WEBRTC_MAILBOXES      64      /* workers, all generations */
#define NGX_AMS_WEBRTC_MAILBOX_SIZE   (512 * 1024)


/* the zone (the "ams_webrtc" directive, once per configuration) */
ngx_int_t ngx_ams_webrtc_mailbox_zone(ngx_conf_t *cf, void *tag);
/* the worker takes a mailbox (init_process) and gives it back */
void ngx_ams_webrtc_mailbox_init(ngx_cycle_t *cycle);
void ngx_ams_webrtc_mailbox_exit(void);
/* to every other worker's mailbox; m->payload_len over
 * NGX_AMS_DCMAIL_PAYLOAD_MAX is dropped with a log line */
void ngx_ams_webrtc_mailbox_post(ngx_ams_dcmail_msg_t *m, ngx_log_t *log);


#endif /* _NGX_AMS_WEBRTC_MAILBOX_H_INCLUDED_ */
