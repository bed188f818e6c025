
/*
 * Copyright (C) nginx-ams authors
 *
 * WebRTC data channels (RFC 8831): SCTP over DTLS (RFC 8261) with
 * usrsctp, and channels opened by DCEP (RFC 8832, ngx_ams_dcep.h).
 *
 * usrsctp runs without threads (usrsctp_init_nothreads): packets go in
 * by ngx_ams_sctp_input() (the DTLS endpoint's application data), come
 * out through the association's output handler (to hand to
 * ngx_ams_dtls_write()), and timers advance only when the event loop
 * calls ngx_ams_sctp_timer().  usrsctp has no "next deadline" query in
 * 0.9.5, so the timer is a fixed tick (NGX_AMS_SCTP_TICK, 10 ms) while
 * associations exist, and a short while after the last one closes so
 * usrsctp's own clean-up timers run.
 *
 * One association per WebRTC session, over an AF_CONN socket.  Both
 * ends connect (SCTP simultaneous open, as Chrome, Firefox and Janus
 * do), so whether the browser's INIT or ours comes first, one
 * association results; ports are 5000 unless the SDP's a=sctp-port says.
 * Stream ids: the DTLS client opens channels on even streams, the
 * server on odd ones (RFC 8832 6); a peer's OPEN on any free stream is
 * taken (aiortc goes by its ICE role).
 *
 * Every handler is called outside usrsctp (after it returned), so a
 * handler may send, open or close channels, and free the association
 * (the free then happens once the handler returns).  The output handler
 * is the exception: usrsctp calls it from inside input, send and timer
 * calls; it must only pass the packet on.
 *
 * Free of nginx types: unit-tested (two associations back to back in
 * one process) and fuzzed alone.  One process, one thread.
 */


#ifndef _NGX_AMS_SCTP_H_INCLUDED_
#define _NGX_AMS_SCTP_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_dcep.h"


#define NGX_AMS_SCTP_PORT               5000
/* inbound and outbound streams we announce: channel ids 0..255; the
 * memory usrsctp keeps per stream makes 65535 costly per session */
#define NGX_AMS_SCTP_STREAMS            256
/* largest message taken in (reassembled) and sent; our SDP should say
 * a=max-message-size:262144 */
#define NGX_AMS_SCTP_MAX_MESSAGE        262144
/* SCTP packet size: one DTLS record of at most NGX_AMS_DTLS_MTU (1200)
 * with its header, IV, tag or MAC and padding */
#define NGX_AMS_SCTP_MTU                1130
/* the timer tick while associations exist, ms */
#define NGX_AMS_SCTP_TICK               10

/* payload protocol identifiers (RFC 8831 8) */
#define NGX_AMS_SCTP_PPID_DCEP          50
#define NGX_AMS_SCTP_PPID_STRING        51
#define NGX_AMS_SCTP_PPID_BINARY        53
#define NGX_AMS_SCTP_PPID_STRING_EMPTY  56
#define NGX_AMS_SCTP_PPID_BINARY_EMPTY  57

/* results */
#define NGX_AMS_SCTP_OK                 0
#define NGX_AMS_SCTP_ERROR             -1   /* no such channel, too big,
                                               the association is gone */
#define NGX_AMS_SCTP_AGAIN             -2   /* the send buffer is full:
                                               dropped */


typedef struct ngx_ams_sctp_s  ngx_ams_sctp_t;

typedef struct {
    uint16_t                sid;            /* SCTP stream id */
    uint8_t                 type;           /* NGX_AMS_DCEP_RELIABLE... */
    uint16_t                priority;
    uint32_t                reliability;
    char                   *label;          /* NUL-terminated copies */
    size_t                  label_len;
    char                   *protocol;
    size_t                  protocol_len;
    void                   *data;           /* the caller's */

    unsigned                local:1;        /* we sent the OPEN */
    unsigned                acked:1;        /* ours: the peer's ACK came */
    unsigned                closing:1;      /* our stream reset sent */
} ngx_ams_sctp_channel_t;

typedef struct {
    /* an SCTP packet to the peer: hand it to ngx_ams_dtls_write();
     * called from inside usrsctp: do nothing else here */
    void  (*output)(void *data, const uint8_t *p, size_t len);
    /* the association is established */
    void  (*connected)(void *data);
    /* the peer opened a channel (its DCEP OPEN; we ACKed) */
    void  (*open)(void *data, ngx_ams_sctp_channel_t *ch);
    /* a whole message on an open channel; ppid is
     * NGX_AMS_SCTP_PPID_STRING or _BINARY (empty ones: len 0) */
    void  (*message)(void *data, ngx_ams_sctp_channel_t *ch,
                     uint32_t ppid, const uint8_t *p, size_t len);
    /* a channel closed (either side's stream reset); ch is freed after */
    void  (*close)(void *data, ngx_ams_sctp_channel_t *ch);
    /* the association ended (peer's ABORT or SHUTDOWN, retransmissions
     * exhausted): the caller frees it */
    void  (*closed)(void *data, const char *reason);
    /* may be NULL: a message over NGX_AMS_SCTP_MAX_MESSAGE was dropped
     * (its first "len" bytes counted) */
    void  (*dropped)(void *data, uint16_t sid, size_t len);
} ngx_ams_sctp_handler_t;


/* per process (each worker, after the fork): 0 or -1; again: no-op */
int ngx_ams_sctp_init(void);
/* at process exit, once every association is freed */
void ngx_ams_sctp_done(void);

/*
 * Once DTLS is connected (so that output can be written): the
 * association, which sends its INIT at once.  "dtls_client": our DTLS
 * role (chooses the parity of our stream ids).  Ports: 0 means 5000.
 * The handler struct must outlive the association.
 */
ngx_ams_sctp_t *ngx_ams_sctp_create(const ngx_ams_sctp_handler_t *h,
    void *data, unsigned dtls_client, uint16_t local_port,
    uint16_t remote_port);
/* an SCTP packet from the peer (DTLS application data) */
void ngx_ams_sctp_input(ngx_ams_sctp_t *a, const uint8_t *p, size_t len);

/* open a channel ourselves (DCEP OPEN): its stream id, or -1 */
int ngx_ams_sctp_open_channel(ngx_ams_sctp_t *a, uint8_t type,
    uint16_t priority, uint32_t reliability, const char *label,
    size_t label_len, const char *protocol, size_t protocol_len);
ngx_ams_sctp_channel_t *ngx_ams_sctp_channel(ngx_ams_sctp_t *a,
    uint16_t sid);
/*
 * A message on an open channel with the channel's reliability and
 * order; ppid NGX_AMS_SCTP_PPID_STRING or _BINARY (an empty message is
 * sent as 56/57 with one zero byte as RFC 8831 6.6 says).
 * NGX_AMS_SCTP_OK, _AGAIN (buffer full: dropped) or _ERROR.
 */
int ngx_ams_sctp_send(ngx_ams_sctp_t *a, uint16_t sid, uint32_t ppid,
    const uint8_t *p, size_t len);
/* close a channel: our outgoing stream reset; the close handler runs
 * when the peer resets its side */
void ngx_ams_sctp_channel_close(ngx_ams_sctp_t *a, uint16_t sid);
/* ABORT to the peer and free; no handler is called after this */
void ngx_ams_sctp_free(ngx_ams_sctp_t *a);

/*
 * The event loop's timer: "elapsed" ms since the last call.  Returns ms
 * until the next call is due, or -1 when nothing needs a timer.
 */
int64_t ngx_ams_sctp_timer(uint32_t elapsed);

/* associations alive in this process */
unsigned ngx_ams_sctp_count(void);


#endif /* _NGX_AMS_SCTP_H_INCLUDED_ */
