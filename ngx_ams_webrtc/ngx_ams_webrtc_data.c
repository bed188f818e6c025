
/*
 * Copyright (C) nginx-ams authors
 *
 * Data channels of the worker's sessions: one SCTP association
 * (ngx_ams_sctp.c, usrsctp without threads) per session whose SDP
 * agreed on them, carried as DTLS application data; usrsctp's timers
 * run from one event-loop timer of the worker, armed while
 * associations exist (and a little after, for usrsctp's clean-up).
 *
 * Relay, as Ant Media Server does it: a message from the publisher of
 * {app, stream} goes to every player of it with an open channel; a
 * message from a player goes to the publisher and to the other
 * players.  Each session sends on its first open channel (the one the
 * peer opened, or, when we offered (AMS play), the one we opened with
 * the stream id as label).  Sessions of the stream in other workers
 * get it through their worker's mailbox (ngx_ams_webrtc_mailbox.c, up
 * to NGX_AMS_DCMAIL_PAYLOAD_MAX bytes), delivered by the same rules.
 * REST's broadcasts/{id}/data (ngx_ams_data_send_handler) sends to
 * every session of the stream, publisher and players.
 *
 * Bounds per sending session: NGX_AMS_WEBRTC_DATA_MSGS messages and
 * NGX_AMS_WEBRTC_DATA_BYTES per second, more is dropped (one log line
 * a second); a message over NGX_AMS_SCTP_MAX_MESSAGE is dropped by the
 * SCTP layer (logged here); a peer far over the bounds loses its own
 * session, no one else's.  A receiver whose send buffer is full loses
 * that message only.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_data.h"
#include "ngx_ams_sctp.h"
#include "ngx_ams_webrtc_mailbox.h"
#include "ngx_ams_webrtc_registry.h"


typedef struct {
    ngx_ams_webrtc_session_t  *s;
    ngx_ams_sctp_t            *sctp;
    ngx_queue_t                queue;       /* the worker's data sessions */
    int                        sid;         /* where we send; -1: none */

    ngx_msec_t                 window;      /* this second's start */
    ngx_uint_t                 msgs;        /* in it, taken or not */
    size_t                     bytes;
    ngx_uint_t                 dropped;

    unsigned                   connected:1;
} ngx_ams_webrtc_data_t;


static void ngx_ams_webrtc_data_output(void *data, const uint8_t *p,
    size_t len);
static void ngx_ams_webrtc_data_on_connected(void *data);
static void ngx_ams_webrtc_data_on_open(void *data,
    ngx_ams_sctp_channel_t *ch);
static void ngx_ams_webrtc_data_on_message(void *data,
    ngx_ams_sctp_channel_t *ch, uint32_t ppid, const uint8_t *p,
    size_t len);
static void ngx_ams_webrtc_data_on_close(void *data,
    ngx_ams_sctp_channel_t *ch);
static void ngx_ams_webrtc_data_on_closed(void *data, const char *reason);
static void ngx_ams_webrtc_data_on_dropped(void *data, uint16_t sid,
    size_t len);
static ngx_int_t ngx_ams_webrtc_data_admit(ngx_ams_webrtc_data_t *d,
    size_t len);
static void ngx_ams_webrtc_data_relay(ngx_ams_webrtc_data_t *from,
    uint32_t ppid, const uint8_t *p, size_t len);
static ngx_uint_t ngx_ams_webrtc_data_local(ngx_ams_dcmail_msg_t *m,
    ngx_ams_webrtc_data_t *from, ngx_log_t *log);
static void ngx_ams_webrtc_data_free(ngx_ams_webrtc_data_t *d);
static void ngx_ams_webrtc_data_arm(void);
static void ngx_ams_webrtc_data_tick(ngx_event_t *ev);


static const ngx_ams_sctp_handler_t  ngx_ams_webrtc_data_handler = {
    ngx_ams_webrtc_data_output,
    ngx_ams_webrtc_data_on_connected,
    ngx_ams_webrtc_data_on_open,
    ngx_ams_webrtc_data_on_message,
    ngx_ams_webrtc_data_on_close,
    ngx_ams_webrtc_data_on_closed,
    ngx_ams_webrtc_data_on_dropped
};


static ngx_queue_t   ngx_ams_webrtc_data_all;
static ngx_uint_t    ngx_ams_webrtc_data_inited;
static ngx_event_t   ngx_ams_webrtc_data_timer;
static ngx_msec_t    ngx_ams_webrtc_data_last;


void
ngx_ams_webrtc_data_connected(ngx_ams_webrtc_session_t *s,
    ngx_uint_t dtls_client, ngx_uint_t we_offered)
{
    int                     sid;
    ngx_ams_webrtc_data_t  *d;

    if (s->sel.application < 0 || s->datachannels || s->closing) {
        return;
    }

    if (!ngx_ams_webrtc_data_inited) {
        if (ngx_ams_sctp_init() != 0) {
            ngx_log_error(NGX_LOG_ERR, &s->log, 0,
                          "ams webrtc data: usrsctp did not start");
            return;
        }

        ngx_queue_init(&ngx_ams_webrtc_data_all);
        ngx_ams_webrtc_data_timer.handler = ngx_ams_webrtc_data_tick;
        ngx_ams_webrtc_data_timer.log = ngx_cycle->log;
        ngx_ams_webrtc_data_timer.cancelable = 1;
        ngx_ams_webrtc_data_inited = 1;
    }

    d = ngx_pcalloc(s->pool, sizeof(ngx_ams_webrtc_data_t));
    if (d == NULL) {
        return;
    }

    d->s = s;
    d->sid = -1;
    s->datachannels = d;

    d->sctp = ngx_ams_sctp_create(&ngx_ams_webrtc_data_handler, d,
                                  dtls_client, NGX_AMS_SCTP_PORT,
                                  s->sel.sctp_port);
    if (d->sctp == NULL) {
        ngx_log_error(NGX_LOG_ERR, &s->log, 0,
                      "ams webrtc data: no SCTP association");
        s->datachannels = NULL;
        return;
    }

    ngx_queue_insert_tail(&ngx_ams_webrtc_data_all, &d->queue);

    /* we offered (AMS play): we open the channel, as AMS does, named
     * after the stream; usable before the peer's ACK (RFC 8832 6) */
    if (we_offered) {
        sid = ngx_ams_sctp_open_channel(d->sctp, NGX_AMS_DCEP_RELIABLE, 0, 0,
                                        (char *) s->stream_id.data,
                                        s->stream_id.len, "", 0);
        if (sid >= 0) {
            d->sid = sid;
        }
    }

    ngx_ams_webrtc_data_arm();
}


void
ngx_ams_webrtc_data_input(ngx_ams_webrtc_session_t *s, const u_char *p,
    size_t len)
{
    ngx_ams_webrtc_data_t  *d = s->datachannels;

    if (d == NULL || d->sctp == NULL || s->closing) {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                       "ams webrtc data: %uz bytes of DTLS data ignored",
                       len);
        return;
    }

    ngx_ams_sctp_input(d->sctp, p, len);
}


void
ngx_ams_webrtc_data_close(ngx_ams_webrtc_session_t *s)
{
    ngx_ams_webrtc_data_t  *d = s->datachannels;

    if (d == NULL) {
        return;
    }

    ngx_ams_webrtc_data_free(d);
    s->datachannels = NULL;

    /* usrsctp's clean-up timers */
    ngx_ams_webrtc_data_arm();
}


void
ngx_ams_webrtc_data_exit(void)
{
    if (!ngx_ams_webrtc_data_inited) {
        return;
    }

    if (ngx_ams_webrtc_data_timer.timer_set) {
        ngx_del_timer(&ngx_ams_webrtc_data_timer);
    }

    ngx_ams_sctp_done();
    ngx_ams_webrtc_data_inited = 0;
}


/* context: inside usrsctp; only passes the packet on */
static void
ngx_ams_webrtc_data_output(void *data, const uint8_t *p, size_t len)
{
    ngx_ams_webrtc_data_t  *d = data;

    if (d->s->dtls == NULL || !d->s->connected) {
        return;
    }

    (void) ngx_ams_dtls_write(d->s->dtls, p, len);
}


static void
ngx_ams_webrtc_data_on_connected(void *data)
{
    ngx_ams_webrtc_data_t  *d = data;

    d->connected = 1;
    ngx_ams_webrtc_registry_data(d->s, 1);

    ngx_log_error(NGX_LOG_INFO, &d->s->log, 0,
                  "ams webrtc data: SCTP association up");
}


static void
ngx_ams_webrtc_data_on_open(void *data, ngx_ams_sctp_channel_t *ch)
{
    ngx_ams_webrtc_data_t  *d = data;

    ngx_log_error(NGX_LOG_INFO, &d->s->log, 0,
                  "ams webrtc data: channel \"%*s\" opened on stream %ui",
                  ch->label_len, ch->label, (ngx_uint_t) ch->sid);

    if (d->sid < 0) {
        d->sid = ch->sid;
    }
}


static void
ngx_ams_webrtc_data_on_message(void *data, ngx_ams_sctp_channel_t *ch,
    uint32_t ppid, const uint8_t *p, size_t len)
{
    ngx_ams_webrtc_data_t  *d = data;

    if (d->s->closing || ngx_ams_webrtc_data_admit(d, len) != NGX_OK) {
        return;
    }

    ngx_ams_webrtc_data_relay(d, ppid, p, len);
}


static void
ngx_ams_webrtc_data_on_close(void *data, ngx_ams_sctp_channel_t *ch)
{
    ngx_ams_webrtc_data_t  *d = data;

    ngx_log_error(NGX_LOG_INFO, &d->s->log, 0,
                  "ams webrtc data: channel on stream %ui closed",
                  (ngx_uint_t) ch->sid);

    if (d->sid == (int) ch->sid) {
        d->sid = -1;
    }
}


/* the peer ended the association: its media goes on */
static void
ngx_ams_webrtc_data_on_closed(void *data, const char *reason)
{
    ngx_ams_webrtc_data_t  *d = data;

    ngx_log_error(NGX_LOG_INFO, &d->s->log, 0,
                  "ams webrtc data: SCTP association ended: %s", reason);

    ngx_ams_webrtc_data_free(d);
    ngx_ams_webrtc_data_arm();
}


static void
ngx_ams_webrtc_data_on_dropped(void *data, uint16_t sid, size_t len)
{
    ngx_ams_webrtc_data_t  *d = data;

    ngx_log_error(NGX_LOG_WARN, &d->s->log, 0,
                  "ams webrtc data: a message over %d bytes dropped "
                  "(stream %ui)", NGX_AMS_SCTP_MAX_MESSAGE, (ngx_uint_t) sid);
}


/* the sender's bounds: NGX_OK, or NGX_DECLINED (dropped) */
static ngx_int_t
ngx_ams_webrtc_data_admit(ngx_ams_webrtc_data_t *d, size_t len)
{
    if (ngx_current_msec - d->window >= 1000) {
        if (d->dropped) {
            ngx_log_error(NGX_LOG_WARN, &d->s->log, 0,
                          "ams webrtc data: %ui messages over %d/s or "
                          "%d bytes/s dropped", d->dropped,
                          NGX_AMS_WEBRTC_DATA_MSGS,
                          NGX_AMS_WEBRTC_DATA_BYTES);
        }

        d->window = ngx_current_msec;
        d->msgs = 0;
        d->bytes = 0;
        d->dropped = 0;
    }

    d->msgs++;
    d->bytes += len;

    if (d->msgs <= NGX_AMS_WEBRTC_DATA_MSGS
        && d->bytes <= NGX_AMS_WEBRTC_DATA_BYTES)
    {
        return NGX_OK;
    }

    if (d->dropped++ == 0) {
        ngx_log_error(NGX_LOG_WARN, &d->s->log, 0,
                      "ams webrtc data: over %d messages/s or %d bytes/s: "
                      "dropped", NGX_AMS_WEBRTC_DATA_MSGS,
                      NGX_AMS_WEBRTC_DATA_BYTES);
    }

    if (d->msgs > NGX_AMS_WEBRTC_DATA_FLOOD * NGX_AMS_WEBRTC_DATA_MSGS
        || d->bytes > NGX_AMS_WEBRTC_DATA_FLOOD
                      * (size_t) NGX_AMS_WEBRTC_DATA_BYTES)
    {
        ngx_ams_webrtc_session_close(d->s, "data channel flood");
    }

    return NGX_DECLINED;
}


static void
ngx_ams_webrtc_data_relay(ngx_ams_webrtc_data_t *from, uint32_t ppid,
    const uint8_t *p, size_t len)
{
    ngx_ams_dcmail_msg_t       m;
    ngx_ams_webrtc_session_t  *fs;

    fs = from->s;

    m.ppid = ppid;
    m.from = fs->direction == NGX_AMS_WEBRTC_PUBLISH
             ? NGX_AMS_DCMAIL_FROM_PUBLISHER : NGX_AMS_DCMAIL_FROM_PLAYER;
    m.app = fs->app_name.data;
    m.app_len = fs->app_name.len;
    m.name = fs->stream_id.data;
    m.name_len = fs->stream_id.len;
    m.sender = fs->id;
    m.payload = p;
    m.payload_len = len;

    (void) ngx_ams_webrtc_data_local(&m, from, &fs->log);
    ngx_ams_webrtc_mailbox_post(&m, &fs->log);
}


/* Context: the worker's loop, a record from another worker's mailbox */

void
ngx_ams_webrtc_data_deliver(ngx_ams_dcmail_msg_t *m)
{
    if (!ngx_ams_webrtc_data_inited) {
        return;
    }

    (void) ngx_ams_webrtc_data_local(m, NULL, ngx_cycle->log);
}


/* REST broadcasts/{id}/data: the core's ngx_ams_data_send_handler */

ngx_int_t
ngx_ams_webrtc_data_send(ngx_str_t *app, ngx_str_t *name, u_char *text,
    size_t len, ngx_log_t *log)
{
    ngx_ams_dcmail_msg_t  m;

    if (len > NGX_AMS_DCMAIL_PAYLOAD_MAX || name->len == 0
        || name->len > NGX_AMS_DCMAIL_NAME_MAX
        || app->len > NGX_AMS_DCMAIL_APP_MAX)
    {
        return NGX_ERROR;
    }

    if (!ngx_ams_webrtc_registry_has_data(app, name)) {
        return NGX_DECLINED;
    }

    m.ppid = NGX_AMS_SCTP_PPID_STRING;
    m.from = NGX_AMS_DCMAIL_FROM_SERVER;
    m.app = app->data;
    m.app_len = app->len;
    m.name = name->data;
    m.name_len = name->len;
    m.sender = NULL;
    m.payload = text;
    m.payload_len = len;

    if (ngx_ams_webrtc_data_inited) {
        (void) ngx_ams_webrtc_data_local(&m, NULL, log);
    }

    ngx_ams_webrtc_mailbox_post(&m, log);

    return NGX_OK;
}


/* to this worker's sessions of the stream by the relay's rules: how
 * many took it */

static ngx_uint_t
ngx_ams_webrtc_data_local(ngx_ams_dcmail_msg_t *m,
    ngx_ams_webrtc_data_t *from, ngx_log_t *log)
{
    int                        rc;
    ngx_uint_t                 sent, full;
    ngx_queue_t               *q;
    ngx_ams_webrtc_data_t     *d;
    ngx_ams_webrtc_session_t  *s;

    sent = 0;
    full = 0;

    for (q = ngx_queue_head(&ngx_ams_webrtc_data_all);
         q != ngx_queue_sentinel(&ngx_ams_webrtc_data_all);
         q = ngx_queue_next(q))
    {
        d = ngx_queue_data(q, ngx_ams_webrtc_data_t, queue);
        s = d->s;

        if (d == from || d->sctp == NULL || d->sid < 0 || s->closing
            || (m->from == NGX_AMS_DCMAIL_FROM_PUBLISHER
                && s->direction != NGX_AMS_WEBRTC_PLAY)
            || (m->sender
                && ngx_memcmp(s->id, m->sender, NGX_AMS_WEBRTC_ID_LEN) == 0)
            || s->stream_id.len != m->name_len
            || s->app_name.len != m->app_len
            || ngx_memcmp(s->stream_id.data, m->name, m->name_len) != 0
            || ngx_memcmp(s->app_name.data, m->app, m->app_len) != 0)
        {
            continue;
        }

        rc = ngx_ams_sctp_send(d->sctp, (uint16_t) d->sid, m->ppid,
                               m->payload, m->payload_len);

        if (rc == NGX_AMS_SCTP_OK) {
            sent++;

        } else {
            full++;
        }
    }

    ngx_log_debug3(NGX_LOG_DEBUG_EVENT, log, 0,
                   "ams webrtc data: %uz bytes relayed to %ui, %ui dropped",
                   m->payload_len, sent, full);

    return sent;
}


static void
ngx_ams_webrtc_data_free(ngx_ams_webrtc_data_t *d)
{
    if (d->sctp == NULL) {
        return;
    }

    ngx_ams_webrtc_registry_data(d->s, 0);
    ngx_ams_sctp_free(d->sctp);
    d->sctp = NULL;
    d->sid = -1;
    ngx_queue_remove(&d->queue);
}


static void
ngx_ams_webrtc_data_arm(void)
{
    if (!ngx_ams_webrtc_data_inited
        || ngx_ams_webrtc_data_timer.timer_set)
    {
        return;
    }

    ngx_ams_webrtc_data_last = ngx_current_msec;
    ngx_add_timer(&ngx_ams_webrtc_data_timer, NGX_AMS_SCTP_TICK);
}


static void
ngx_ams_webrtc_data_tick(ngx_event_t *ev)
{
    int64_t     next;
    ngx_msec_t  elapsed;

    elapsed = ngx_current_msec - ngx_ams_webrtc_data_last;
    ngx_ams_webrtc_data_last = ngx_current_msec;

    next = ngx_ams_sctp_timer((uint32_t) elapsed);

    /* cancelable: a worker shutting down does not wait for it */
    if (next >= 0) {
        ngx_add_timer(ev, (ngx_msec_t) (next ? next : 1));
    }
}
