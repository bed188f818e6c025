
/*
 * Copyright (C) nginx-ams authors
 *
 * Data channels on usrsctp without threads.  How usrsctp is driven:
 *
 *   - each association is an AF_CONN one-to-one socket whose "address"
 *     is a token (slot index and generation), not a pointer: a packet
 *     or upcall usrsctp produces for an association already freed finds
 *     no slot and is dropped instead of touching freed memory;
 *   - the socket is non-blocking and its upcall only marks the
 *     association readable; after every call into usrsctp returns
 *     (input, timers, send), the readable associations are drained with
 *     usrsctp_recvv() and our handlers run there, outside usrsctp's
 *     locks.  (usrsctp's receive callback would run inside its input
 *     path, where sending or closing on the same socket is unsafe.)
 *   - freeing from inside a handler is deferred to the end of that
 *     drain ("depth" counts how deep we are in usrsctp or handlers).
 *
 * Messages larger than a recvv buffer, or than usrsctp's partial
 * delivery point, come in pieces (no MSG_EOR until the last): they are
 * reassembled here up to NGX_AMS_SCTP_MAX_MESSAGE, bigger ones dropped.
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <usrsctp.h>

#include "ngx_ams_sctp.h"


/* send and receive buffers per association: a few largest messages */
#define NGX_AMS_SCTP_BUFFER         (1024 * 1024)
/* ticks after the last association is freed: usrsctp's clean-up
 * timers (inp and association kill) are tens of ms */
#define NGX_AMS_SCTP_LINGER         1000
#define NGX_AMS_SCTP_RECV_CHUNK     65536


typedef struct {
    ngx_ams_sctp_t             *a;
    uint32_t                    gen;
} ngx_ams_sctp_slot_t;


struct ngx_ams_sctp_s {
    struct socket              *so;
    const ngx_ams_sctp_handler_t  *h;
    void                       *data;
    uintptr_t                   token;
    uint32_t                    slot;

    ngx_ams_sctp_channel_t     *channels[NGX_AMS_SCTP_STREAMS];

    /* a message being reassembled */
    uint8_t                    *msg;
    size_t                      msg_len;
    size_t                      msg_size;
    uint16_t                    msg_sid;
    uint32_t                    msg_ppid;
    int                         msg_flags;

    ngx_ams_sctp_t             *next_pending;
    ngx_ams_sctp_t             *next_doomed;

    unsigned                    dtls_client:1;
    unsigned                    pending:1;
    unsigned                    freeing:1;
    unsigned                    mute:1;
    unsigned                    connected:1;
    unsigned                    closed:1;
    unsigned                    msg_busy:1;
    unsigned                    msg_drop:1;
};


static int ngx_ams_sctp_conn_output(void *addr, void *buf, size_t len,
    uint8_t tos, uint8_t set_df);
static void ngx_ams_sctp_upcall(struct socket *so, void *arg, int flags);
static ngx_ams_sctp_t *ngx_ams_sctp_lookup(uintptr_t token);
static int ngx_ams_sctp_slot_alloc(ngx_ams_sctp_t *a);
static int ngx_ams_sctp_configure(ngx_ams_sctp_t *a, uint16_t lport,
    uint16_t rport);
static void ngx_ams_sctp_enter(void);
static void ngx_ams_sctp_leave(void);
static void ngx_ams_sctp_flush(void);
static void ngx_ams_sctp_destroy(ngx_ams_sctp_t *a);
static void ngx_ams_sctp_read(ngx_ams_sctp_t *a);
static void ngx_ams_sctp_piece(ngx_ams_sctp_t *a, const uint8_t *p,
    size_t n, int flags, uint16_t sid, uint32_t ppid);
static void ngx_ams_sctp_deliver(ngx_ams_sctp_t *a, const uint8_t *p,
    size_t n, int flags, uint16_t sid, uint32_t ppid);
static void ngx_ams_sctp_notification(ngx_ams_sctp_t *a, const uint8_t *p,
    size_t n);
static void ngx_ams_sctp_message(ngx_ams_sctp_t *a, uint16_t sid,
    uint32_t ppid, const uint8_t *p, size_t n);
static void ngx_ams_sctp_dcep(ngx_ams_sctp_t *a, uint16_t sid,
    const uint8_t *p, size_t n);
static ngx_ams_sctp_channel_t *ngx_ams_sctp_channel_new(uint16_t sid,
    uint8_t type, uint16_t priority, uint32_t reliability,
    const void *label, size_t label_len, const void *protocol,
    size_t protocol_len);
static void ngx_ams_sctp_channel_free(ngx_ams_sctp_channel_t *ch);
static void ngx_ams_sctp_channel_gone(ngx_ams_sctp_t *a, uint16_t sid);
static int ngx_ams_sctp_send_open(ngx_ams_sctp_t *a,
    ngx_ams_sctp_channel_t *ch);
static int ngx_ams_sctp_sendv(ngx_ams_sctp_t *a, uint16_t sid,
    uint32_t ppid, const uint8_t *p, size_t len, unsigned unordered,
    uint16_t policy, uint32_t value);
static void ngx_ams_sctp_reset_stream(ngx_ams_sctp_t *a, uint16_t sid);
static void ngx_ams_sctp_closed(ngx_ams_sctp_t *a, const char *reason);


static int                   ngx_ams_sctp_initialized;
static ngx_ams_sctp_slot_t  *ngx_ams_sctp_slots;
static uint32_t              ngx_ams_sctp_nslots;
static unsigned              ngx_ams_sctp_alive;
static unsigned              ngx_ams_sctp_depth;
static ngx_ams_sctp_t       *ngx_ams_sctp_pending;
static ngx_ams_sctp_t       *ngx_ams_sctp_doomed;
static uint32_t              ngx_ams_sctp_linger;

/* notifications are read into it as structs: aligned */
static union {
    uint8_t                  b[NGX_AMS_SCTP_RECV_CHUNK];
    union sctp_notification  n;
} ngx_ams_sctp_rbuf;


int
ngx_ams_sctp_init(void)
{
    if (ngx_ams_sctp_initialized) {
        return 0;
    }

    usrsctp_init_nothreads(0, ngx_ams_sctp_conn_output, NULL);

    /*
     * As WebRTC stacks configure it: no ECN (DTLS over UDP carries no
     * ECN marks to us), no ASCONF and so no AUTH (one fixed "address"),
     * partial reliability and stream reconfiguration on (data channel
     * reliability and closing).
     */
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_sysctl_set_sctp_asconf_enable(0);
    usrsctp_sysctl_set_sctp_auto_asconf(0);
    usrsctp_sysctl_set_sctp_auth_enable(0);
    usrsctp_sysctl_set_sctp_pr_enable(1);
    usrsctp_sysctl_set_sctp_reconfig_enable(1);
    usrsctp_sysctl_set_sctp_sendspace(NGX_AMS_SCTP_BUFFER);
    usrsctp_sysctl_set_sctp_recvspace(NGX_AMS_SCTP_BUFFER);
    usrsctp_sysctl_set_sctp_nr_outgoing_streams_default(
                                                     NGX_AMS_SCTP_STREAMS);

    ngx_ams_sctp_initialized = 1;

    return 0;
}


void
ngx_ams_sctp_done(void)
{
    int  i;

    if (!ngx_ams_sctp_initialized || ngx_ams_sctp_alive) {
        return;
    }

    /* sockets closed lately are released by usrsctp's timers */
    for (i = 0; i < 50; i++) {
        if (usrsctp_finish() == 0) {
            break;
        }

        usrsctp_handle_timers(100);
    }

    free(ngx_ams_sctp_slots);
    ngx_ams_sctp_slots = NULL;
    ngx_ams_sctp_nslots = 0;
    ngx_ams_sctp_initialized = 0;
}


ngx_ams_sctp_t *
ngx_ams_sctp_create(const ngx_ams_sctp_handler_t *h, void *data,
    unsigned dtls_client, uint16_t local_port, uint16_t remote_port)
{
    ngx_ams_sctp_t  *a;

    if (!ngx_ams_sctp_initialized && ngx_ams_sctp_init() != 0) {
        return NULL;
    }

    a = calloc(1, sizeof(ngx_ams_sctp_t));
    if (a == NULL) {
        return NULL;
    }

    a->h = h;
    a->data = data;
    a->dtls_client = dtls_client ? 1 : 0;

    if (ngx_ams_sctp_slot_alloc(a) != 0) {
        free(a);
        return NULL;
    }

    ngx_ams_sctp_alive++;

    ngx_ams_sctp_enter();

    usrsctp_register_address((void *) a->token);

    if (ngx_ams_sctp_configure(a, local_port ? local_port
                                             : NGX_AMS_SCTP_PORT,
                               remote_port ? remote_port
                                           : NGX_AMS_SCTP_PORT)
        != 0)
    {
        /* nothing was sent: no handler may run for it */
        a->freeing = 1;
        a->mute = 1;
        a->next_doomed = ngx_ams_sctp_doomed;
        ngx_ams_sctp_doomed = a;
        ngx_ams_sctp_leave();
        return NULL;
    }

    ngx_ams_sctp_leave();

    return a;
}


static int
ngx_ams_sctp_configure(ngx_ams_sctp_t *a, uint16_t lport, uint16_t rport)
{
    int                      on;
    unsigned                 i;
    struct linger            lg;
    struct sctp_event        ev;
    struct sctp_initmsg      init;
    struct sockaddr_conn     sconn;
    struct sctp_assoc_value  av;
    struct sctp_paddrparams  pp;

    /* not SCTP_SEND_FAILED_EVENT: it would hand back every abandoned
     * partially reliable message whole */
    static const uint16_t    events[] = {
        SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT, SCTP_SHUTDOWN_EVENT
    };

    a->so = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL,
                           0, NULL);
    if (a->so == NULL) {
        return -1;
    }

    if (usrsctp_set_non_blocking(a->so, 1) != 0
        || usrsctp_set_upcall(a->so, ngx_ams_sctp_upcall,
                              (void *) a->token)
           != 0)
    {
        return -1;
    }

    /* closing aborts: the session is gone, nothing to linger for */
    lg.l_onoff = 1;
    lg.l_linger = 0;

    if (usrsctp_setsockopt(a->so, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))
        != 0)
    {
        return -1;
    }

    on = 1;

    if (usrsctp_setsockopt(a->so, IPPROTO_SCTP, SCTP_NODELAY, &on,
                           sizeof(on))
        != 0
        || usrsctp_setsockopt(a->so, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on,
                              sizeof(on))
           != 0)
    {
        return -1;
    }

    memset(&av, 0, sizeof(av));
    av.assoc_id = SCTP_FUTURE_ASSOC;
    av.assoc_value = SCTP_ENABLE_RESET_STREAM_REQ
                     | SCTP_ENABLE_CHANGE_ASSOC_REQ;

    if (usrsctp_setsockopt(a->so, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET,
                           &av, sizeof(av))
        != 0)
    {
        return -1;
    }

    for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        memset(&ev, 0, sizeof(ev));
        ev.se_assoc_id = SCTP_FUTURE_ASSOC;
        ev.se_type = events[i];
        ev.se_on = 1;

        if (usrsctp_setsockopt(a->so, IPPROTO_SCTP, SCTP_EVENT, &ev,
                               sizeof(ev))
            != 0)
        {
            return -1;
        }
    }

    memset(&init, 0, sizeof(init));
    init.sinit_num_ostreams = NGX_AMS_SCTP_STREAMS;
    init.sinit_max_instreams = NGX_AMS_SCTP_STREAMS;

    if (usrsctp_setsockopt(a->so, IPPROTO_SCTP, SCTP_INITMSG, &init,
                           sizeof(init))
        != 0)
    {
        return -1;
    }

    /* DTLS datagrams have a fixed size: no path MTU discovery; usrsctp
     * adds the common header's 12 bytes to an AF_CONN path's MTU */
    memset(&pp, 0, sizeof(pp));
    pp.spp_assoc_id = SCTP_FUTURE_ASSOC;
    pp.spp_flags = SPP_PMTUD_DISABLE;
    pp.spp_pathmtu = NGX_AMS_SCTP_MTU - 12;

    if (usrsctp_setsockopt(a->so, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp,
                           sizeof(pp))
        != 0)
    {
        return -1;
    }

    memset(&sconn, 0, sizeof(sconn));
    sconn.sconn_family = AF_CONN;
    sconn.sconn_port = htons(lport);
    sconn.sconn_addr = (void *) a->token;

    if (usrsctp_bind(a->so, (struct sockaddr *) &sconn, sizeof(sconn))
        != 0)
    {
        return -1;
    }

    sconn.sconn_port = htons(rport);

    if (usrsctp_connect(a->so, (struct sockaddr *) &sconn, sizeof(sconn))
        != 0
        && errno != EINPROGRESS)
    {
        return -1;
    }

    return 0;
}


void
ngx_ams_sctp_input(ngx_ams_sctp_t *a, const uint8_t *p, size_t len)
{
    if (a->freeing) {
        return;
    }

    ngx_ams_sctp_enter();
    usrsctp_conninput((void *) a->token, p, len, 0);
    ngx_ams_sctp_leave();
}


int64_t
ngx_ams_sctp_timer(uint32_t elapsed)
{
    if (!ngx_ams_sctp_initialized) {
        return -1;
    }

    ngx_ams_sctp_enter();
    usrsctp_handle_timers(elapsed);
    ngx_ams_sctp_leave();

    if (ngx_ams_sctp_alive) {
        return NGX_AMS_SCTP_TICK;
    }

    if (ngx_ams_sctp_linger > elapsed) {
        ngx_ams_sctp_linger -= elapsed;
        return NGX_AMS_SCTP_TICK;
    }

    ngx_ams_sctp_linger = 0;

    return -1;
}


unsigned
ngx_ams_sctp_count(void)
{
    return ngx_ams_sctp_alive;
}


int
ngx_ams_sctp_open_channel(ngx_ams_sctp_t *a, uint8_t type,
    uint16_t priority, uint32_t reliability, const char *label,
    size_t label_len, const char *protocol, size_t protocol_len)
{
    unsigned                 sid;
    ngx_ams_sctp_channel_t  *ch;

    if (a->freeing || a->closed || !ngx_ams_dcep_valid_channel_type(type)
        || label_len > NGX_AMS_DCEP_MAX_LABEL
        || protocol_len > NGX_AMS_DCEP_MAX_LABEL)
    {
        return -1;
    }

    for (sid = a->dtls_client ? 0 : 1; sid < NGX_AMS_SCTP_STREAMS; sid += 2)
    {
        if (a->channels[sid] == NULL) {
            break;
        }
    }

    if (sid >= NGX_AMS_SCTP_STREAMS) {
        return -1;
    }

    ch = ngx_ams_sctp_channel_new((uint16_t) sid, type, priority,
                                  reliability, label, label_len, protocol,
                                  protocol_len);
    if (ch == NULL) {
        return -1;
    }

    ch->local = 1;
    a->channels[sid] = ch;

    /* before the association is up, the OPEN waits for COMM_UP */
    if (a->connected && ngx_ams_sctp_send_open(a, ch) != NGX_AMS_SCTP_OK) {
        if (a->channels[sid] == ch) {
            a->channels[sid] = NULL;
            ngx_ams_sctp_channel_free(ch);
        }

        return -1;
    }

    return (int) sid;
}


ngx_ams_sctp_channel_t *
ngx_ams_sctp_channel(ngx_ams_sctp_t *a, uint16_t sid)
{
    return sid < NGX_AMS_SCTP_STREAMS ? a->channels[sid] : NULL;
}


int
ngx_ams_sctp_send(ngx_ams_sctp_t *a, uint16_t sid, uint32_t ppid,
    const uint8_t *p, size_t len)
{
    uint16_t                 policy;
    unsigned                 unordered;
    ngx_ams_sctp_channel_t  *ch;

    static const uint8_t     zero = 0;

    if (a->freeing || a->closed || !a->connected
        || sid >= NGX_AMS_SCTP_STREAMS || len > NGX_AMS_SCTP_MAX_MESSAGE)
    {
        return NGX_AMS_SCTP_ERROR;
    }

    ch = a->channels[sid];

    if (ch == NULL || ch->closing) {
        return NGX_AMS_SCTP_ERROR;
    }

    switch (ppid) {

    case NGX_AMS_SCTP_PPID_STRING:
    case NGX_AMS_SCTP_PPID_BINARY:
        if (len == 0) {
            /* RFC 8831 6.6: an empty message is one byte, ignored */
            ppid = (ppid == NGX_AMS_SCTP_PPID_STRING)
                   ? NGX_AMS_SCTP_PPID_STRING_EMPTY
                   : NGX_AMS_SCTP_PPID_BINARY_EMPTY;
            p = &zero;
            len = 1;
        }

        break;

    case NGX_AMS_SCTP_PPID_DCEP:
        if (len == 0) {
            return NGX_AMS_SCTP_ERROR;
        }

        break;

    default:
        return NGX_AMS_SCTP_ERROR;
    }

    /* RFC 8832 6: before our OPEN is acknowledged, send in order */
    unordered = (ch->type & NGX_AMS_DCEP_UNORDERED_BIT)
                && (!ch->local || ch->acked);

    switch (ch->type & ~NGX_AMS_DCEP_UNORDERED_BIT) {
    case NGX_AMS_DCEP_PARTIAL_REXMIT:
        policy = SCTP_PR_SCTP_RTX;
        break;
    case NGX_AMS_DCEP_PARTIAL_TIMED:
        policy = SCTP_PR_SCTP_TTL;
        break;
    default:
        policy = SCTP_PR_SCTP_NONE;
    }

    return ngx_ams_sctp_sendv(a, sid, ppid, p, len, unordered, policy,
                              policy == SCTP_PR_SCTP_NONE ? 0
                                                          : ch->reliability);
}


void
ngx_ams_sctp_channel_close(ngx_ams_sctp_t *a, uint16_t sid)
{
    ngx_ams_sctp_channel_t  *ch;

    if (a->freeing || sid >= NGX_AMS_SCTP_STREAMS) {
        return;
    }

    ch = a->channels[sid];

    if (ch == NULL || ch->closing) {
        return;
    }

    ch->closing = 1;

    if (!a->connected || a->closed) {
        ngx_ams_sctp_channel_gone(a, sid);
        return;
    }

    ngx_ams_sctp_reset_stream(a, sid);
}


void
ngx_ams_sctp_free(ngx_ams_sctp_t *a)
{
    if (a->freeing) {
        return;
    }

    a->freeing = 1;

    /* from inside a handler the caller's output may be gone by the time
     * the socket closes: no ABORT then (DTLS close_notify follows) */
    if (ngx_ams_sctp_depth) {
        a->mute = 1;
    }

    a->next_doomed = ngx_ams_sctp_doomed;
    ngx_ams_sctp_doomed = a;

    if (ngx_ams_sctp_depth == 0) {
        ngx_ams_sctp_flush();
    }
}


/* usrsctp's callbacks: both may run inside any usrsctp call */

static int
ngx_ams_sctp_conn_output(void *addr, void *buf, size_t len, uint8_t tos,
    uint8_t set_df)
{
    ngx_ams_sctp_t  *a;

    a = ngx_ams_sctp_lookup((uintptr_t) addr);

    if (a == NULL || a->mute || a->h->output == NULL) {
        return 0;
    }

    a->h->output(a->data, buf, len);

    return 0;
}


static void
ngx_ams_sctp_upcall(struct socket *so, void *arg, int flags)
{
    ngx_ams_sctp_t  *a;

    a = ngx_ams_sctp_lookup((uintptr_t) arg);

    if (a == NULL || a->freeing || a->pending) {
        return;
    }

    a->pending = 1;
    a->next_pending = ngx_ams_sctp_pending;
    ngx_ams_sctp_pending = a;
}


/* tokens: slot index + 1 in the low 32 bits, the slot's generation in
 * the high ones, so a freed slot's old tokens never match again */

static ngx_ams_sctp_t *
ngx_ams_sctp_lookup(uintptr_t token)
{
    uint32_t  i;

    i = (uint32_t) (token & 0xffffffff);

    if (i == 0 || i > ngx_ams_sctp_nslots
        || ngx_ams_sctp_slots[i - 1].gen != (uint32_t) (token >> 32))
    {
        return NULL;
    }

    return ngx_ams_sctp_slots[i - 1].a;
}


static int
ngx_ams_sctp_slot_alloc(ngx_ams_sctp_t *a)
{
    uint32_t              i, n;
    ngx_ams_sctp_slot_t  *s;

    for (i = 0; i < ngx_ams_sctp_nslots; i++) {
        if (ngx_ams_sctp_slots[i].a == NULL) {
            goto found;
        }
    }

    n = ngx_ams_sctp_nslots ? ngx_ams_sctp_nslots * 2 : 64;

    s = realloc(ngx_ams_sctp_slots, n * sizeof(ngx_ams_sctp_slot_t));
    if (s == NULL) {
        return -1;
    }

    memset(s + ngx_ams_sctp_nslots, 0,
           (n - ngx_ams_sctp_nslots) * sizeof(ngx_ams_sctp_slot_t));
    ngx_ams_sctp_slots = s;
    ngx_ams_sctp_nslots = n;

found:

    ngx_ams_sctp_slots[i].gen++;
    ngx_ams_sctp_slots[i].a = a;
    a->slot = i;
    a->token = ((uintptr_t) ngx_ams_sctp_slots[i].gen << 32) | (i + 1);

    return 0;
}


static void
ngx_ams_sctp_enter(void)
{
    ngx_ams_sctp_depth++;
}


static void
ngx_ams_sctp_leave(void)
{
    if (--ngx_ams_sctp_depth == 0) {
        ngx_ams_sctp_flush();
    }
}


/* at depth 0: run the handlers of readable associations, then free
 * those freed meanwhile */

static void
ngx_ams_sctp_flush(void)
{
    ngx_ams_sctp_t  *a;

    while (ngx_ams_sctp_pending || ngx_ams_sctp_doomed) {

        ngx_ams_sctp_depth++;

        while (ngx_ams_sctp_pending) {
            a = ngx_ams_sctp_pending;
            ngx_ams_sctp_pending = a->next_pending;
            a->pending = 0;

            if (!a->freeing) {
                ngx_ams_sctp_read(a);
            }
        }

        while (ngx_ams_sctp_doomed) {
            a = ngx_ams_sctp_doomed;
            ngx_ams_sctp_doomed = a->next_doomed;
            ngx_ams_sctp_destroy(a);
        }

        ngx_ams_sctp_depth--;
    }
}


static void
ngx_ams_sctp_destroy(ngx_ams_sctp_t *a)
{
    unsigned  i;

    if (a->so) {
        /* SO_LINGER 0: an ABORT, the association freed now */
        usrsctp_close(a->so);
    }

    usrsctp_deregister_address((void *) a->token);

    ngx_ams_sctp_slots[a->slot].a = NULL;

    for (i = 0; i < NGX_AMS_SCTP_STREAMS; i++) {
        if (a->channels[i]) {
            ngx_ams_sctp_channel_free(a->channels[i]);
        }
    }

    free(a->msg);
    free(a);

    if (--ngx_ams_sctp_alive == 0) {
        ngx_ams_sctp_linger = NGX_AMS_SCTP_LINGER;
    }
}


static void
ngx_ams_sctp_read(ngx_ams_sctp_t *a)
{
    int                   flags;
    ssize_t               n;
    socklen_t             fromlen, infolen;
    unsigned              infotype;
    struct sctp_rcvinfo   rcv;
    struct sockaddr_conn  from;

    while (!a->freeing) {
        fromlen = sizeof(from);
        infolen = sizeof(rcv);
        infotype = 0;
        flags = 0;
        memset(&rcv, 0, sizeof(rcv));

        n = usrsctp_recvv(a->so, ngx_ams_sctp_rbuf.b,
                          sizeof(ngx_ams_sctp_rbuf.b),
                          (struct sockaddr *) &from, &fromlen, &rcv,
                          &infolen, &infotype, &flags);

        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                ngx_ams_sctp_closed(a, "receive error");
            }

            return;
        }

        if (n == 0) {
            /* no DATA is empty: the association is shut down */
            ngx_ams_sctp_closed(a, "shut down");
            return;
        }

        if (!(flags & MSG_NOTIFICATION) && infotype != SCTP_RECVV_RCVINFO) {
            memset(&rcv, 0, sizeof(rcv));
        }

        ngx_ams_sctp_piece(a, ngx_ams_sctp_rbuf.b, (size_t) n, flags,
                           rcv.rcv_sid, ntohl(rcv.rcv_ppid));
    }
}


static void
ngx_ams_sctp_piece(ngx_ams_sctp_t *a, const uint8_t *p, size_t n,
    int flags, uint16_t sid, uint32_t ppid)
{
    size_t    size;
    uint8_t  *m;

    if (!a->msg_busy && (flags & MSG_EOR)) {
        ngx_ams_sctp_deliver(a, p, n, flags, sid, ppid);
        return;
    }

    if (!a->msg_busy) {
        a->msg_busy = 1;
        a->msg_drop = 0;
        a->msg_len = 0;
        a->msg_sid = sid;
        a->msg_ppid = ppid;
        a->msg_flags = flags;
    }

    if (!a->msg_drop) {
        if (a->msg_len + n > NGX_AMS_SCTP_MAX_MESSAGE) {
            a->msg_drop = 1;

        } else {
            if (a->msg_len + n > a->msg_size) {
                size = a->msg_size ? a->msg_size : 65536;

                while (size < a->msg_len + n) {
                    size *= 2;
                }

                m = realloc(a->msg, size);
                if (m == NULL) {
                    a->msg_drop = 1;
                    goto done;
                }

                a->msg = m;
                a->msg_size = size;
            }

            memcpy(a->msg + a->msg_len, p, n);
            a->msg_len += n;
        }
    }

done:

    if (!(flags & MSG_EOR)) {
        return;
    }

    a->msg_busy = 0;

    if (!a->msg_drop) {
        ngx_ams_sctp_deliver(a, a->msg, a->msg_len, a->msg_flags,
                             a->msg_sid, a->msg_ppid);

    } else if (!(a->msg_flags & MSG_NOTIFICATION) && !a->freeing
               && a->h->dropped)
    {
        a->h->dropped(a->data, a->msg_sid, a->msg_len);
    }

    /* a big buffer is not kept for the association's lifetime */
    if (a->msg_size > 65536 && !a->msg_busy) {
        free(a->msg);
        a->msg = NULL;
        a->msg_size = 0;
    }

    a->msg_len = 0;
}


static void
ngx_ams_sctp_deliver(ngx_ams_sctp_t *a, const uint8_t *p, size_t n,
    int flags, uint16_t sid, uint32_t ppid)
{
    if (flags & MSG_NOTIFICATION) {
        ngx_ams_sctp_notification(a, p, n);

    } else {
        ngx_ams_sctp_message(a, sid, ppid, p, n);
    }
}


static void
ngx_ams_sctp_notification(ngx_ams_sctp_t *a, const uint8_t *p, size_t n)
{
    size_t                          i, count;
    uint16_t                        sid;
    unsigned                        sf;
    ngx_ams_sctp_channel_t         *ch;
    struct sctp_assoc_change        ac;
    struct sctp_stream_reset_event  sr;

    if (n < sizeof(struct sctp_tlv)) {
        return;
    }

    switch (((const struct sctp_tlv *) p)->sn_type) {

    case SCTP_ASSOC_CHANGE:
        if (n < sizeof(ac)) {
            return;
        }

        memcpy(&ac, p, sizeof(ac));

        switch (ac.sac_state) {

        case SCTP_COMM_UP:
            if (a->connected) {
                return;
            }

            a->connected = 1;

            /* our channels opened before the association was up */
            for (i = 0; i < NGX_AMS_SCTP_STREAMS && !a->freeing; i++) {
                ch = a->channels[i];

                if (ch && ch->local && !ch->closing) {
                    (void) ngx_ams_sctp_send_open(a, ch);
                }
            }

            if (!a->freeing && a->h->connected) {
                a->h->connected(a->data);
            }

            return;

        case SCTP_COMM_LOST:
            ngx_ams_sctp_closed(a, "association lost");
            return;

        case SCTP_SHUTDOWN_COMP:
            ngx_ams_sctp_closed(a, "shut down");
            return;

        case SCTP_CANT_STR_ASSOC:
            ngx_ams_sctp_closed(a, "cannot start the association");
            return;
        }

        return;

    case SCTP_SHUTDOWN_EVENT:
        ngx_ams_sctp_closed(a, "the peer shut down");
        return;

    case SCTP_STREAM_RESET_EVENT:
        if (n < sizeof(sr)) {
            return;
        }

        memcpy(&sr, p, sizeof(sr));
        sf = sr.strreset_flags;

        if (sf & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) {
            return;
        }

        if (!(sf & SCTP_STREAM_RESET_INCOMING_SSN)) {
            /* our own reset done: the channel goes when the peer's
             * comes (RFC 8831 6.7) */
            return;
        }

        count = (sr.strreset_length < n ? sr.strreset_length : n);
        count = (count - sizeof(sr)) / sizeof(uint16_t);

        for (i = 0; i < count && !a->freeing; i++) {
            memcpy(&sid, p + sizeof(sr) + i * sizeof(uint16_t),
                   sizeof(uint16_t));

            if (sid >= NGX_AMS_SCTP_STREAMS) {
                continue;
            }

            ch = a->channels[sid];

            if (ch == NULL) {
                continue;
            }

            /* the peer closed its side: close ours */
            if (!ch->closing) {
                ch->closing = 1;
                ngx_ams_sctp_reset_stream(a, sid);
            }

            ngx_ams_sctp_channel_gone(a, sid);
        }

        return;
    }
}


static void
ngx_ams_sctp_message(ngx_ams_sctp_t *a, uint16_t sid, uint32_t ppid,
    const uint8_t *p, size_t n)
{
    ngx_ams_sctp_channel_t  *ch;

    switch (ppid) {

    case NGX_AMS_SCTP_PPID_DCEP:
        ngx_ams_sctp_dcep(a, sid, p, n);
        return;

    case NGX_AMS_SCTP_PPID_STRING:
    case NGX_AMS_SCTP_PPID_BINARY:
        break;

    case NGX_AMS_SCTP_PPID_STRING_EMPTY:
        ppid = NGX_AMS_SCTP_PPID_STRING;
        n = 0;
        break;

    case NGX_AMS_SCTP_PPID_BINARY_EMPTY:
        ppid = NGX_AMS_SCTP_PPID_BINARY;
        n = 0;
        break;

    default:
        /* 52, 54 (deprecated partial messages), unknown: dropped */
        return;
    }

    ch = ngx_ams_sctp_channel(a, sid);

    if (ch == NULL || a->h->message == NULL) {
        return;
    }

    a->h->message(a->data, ch, ppid, p, n);
}


static void
ngx_ams_sctp_dcep(ngx_ams_sctp_t *a, uint16_t sid, const uint8_t *p,
    size_t n)
{
    uint8_t                  ack[1];
    ngx_ams_dcep_open_t      o;
    ngx_ams_sctp_channel_t  *ch;

    if (sid >= NGX_AMS_SCTP_STREAMS) {
        return;
    }

    switch (ngx_ams_dcep_type(p, n)) {

    case NGX_AMS_DCEP_OPEN:

        if (a->channels[sid]) {
            /* a second OPEN on a stream in use: ignored */
            return;
        }

        /*
         * A malformed OPEN: refused by resetting the stream, which the
         * peer sees as the channel closing.  A free stream of our parity
         * is taken: aiortc chooses the parity by its ICE role, not its
         * DTLS role (RFC 8832 6), so as the offerer (ICE-controlling)
         * and DTLS client it opens on odd streams.
         */
        if (ngx_ams_dcep_parse_open(p, n, &o) != NGX_AMS_DCEP_OK) {
            ngx_ams_sctp_reset_stream(a, sid);
            return;
        }

        ch = ngx_ams_sctp_channel_new(sid, o.channel_type, o.priority,
                                      o.reliability, o.label, o.label_len,
                                      o.protocol, o.protocol_len);
        if (ch == NULL) {
            ngx_ams_sctp_reset_stream(a, sid);
            return;
        }

        a->channels[sid] = ch;

        (void) ngx_ams_dcep_write_ack(ack, sizeof(ack));

        if (ngx_ams_sctp_sendv(a, sid, NGX_AMS_SCTP_PPID_DCEP, ack, 1, 0,
                               SCTP_PR_SCTP_NONE, 0)
            != NGX_AMS_SCTP_OK)
        {
            if (a->channels[sid] == ch) {
                a->channels[sid] = NULL;
                ngx_ams_sctp_channel_free(ch);
            }

            return;
        }

        if (!a->freeing && a->channels[sid] == ch && a->h->open) {
            a->h->open(a->data, ch);
        }

        return;

    case NGX_AMS_DCEP_ACK:
        ch = a->channels[sid];

        if (ch && ch->local && ngx_ams_dcep_parse_ack(p, n) == 0) {
            ch->acked = 1;
        }

        return;
    }
}


static ngx_ams_sctp_channel_t *
ngx_ams_sctp_channel_new(uint16_t sid, uint8_t type, uint16_t priority,
    uint32_t reliability, const void *label, size_t label_len,
    const void *protocol, size_t protocol_len)
{
    ngx_ams_sctp_channel_t  *ch;

    /* the channel, its label and its protocol in one allocation */
    ch = calloc(1, sizeof(ngx_ams_sctp_channel_t) + label_len
                   + protocol_len + 2);
    if (ch == NULL) {
        return NULL;
    }

    ch->sid = sid;
    ch->type = type;
    ch->priority = priority;
    ch->reliability = reliability;
    ch->label = (char *) (ch + 1);
    ch->label_len = label_len;
    ch->protocol = ch->label + label_len + 1;
    ch->protocol_len = protocol_len;

    if (label_len) {
        memcpy(ch->label, label, label_len);
    }

    if (protocol_len) {
        memcpy(ch->protocol, protocol, protocol_len);
    }

    return ch;
}


static void
ngx_ams_sctp_channel_free(ngx_ams_sctp_channel_t *ch)
{
    free(ch);
}


static void
ngx_ams_sctp_channel_gone(ngx_ams_sctp_t *a, uint16_t sid)
{
    ngx_ams_sctp_channel_t  *ch;

    ch = a->channels[sid];
    a->channels[sid] = NULL;

    if (!a->freeing && a->h->close) {
        a->h->close(a->data, ch);
    }

    ngx_ams_sctp_channel_free(ch);
}


static int
ngx_ams_sctp_send_open(ngx_ams_sctp_t *a, ngx_ams_sctp_channel_t *ch)
{
    size_t               n;
    uint8_t              buf[NGX_AMS_DCEP_OPEN_HEADER_LEN
                             + 2 * NGX_AMS_DCEP_MAX_LABEL];
    ngx_ams_dcep_open_t  o;

    o.channel_type = ch->type;
    o.priority = ch->priority;
    o.reliability = ch->reliability;
    o.label = (const uint8_t *) ch->label;
    o.label_len = ch->label_len;
    o.protocol = (const uint8_t *) ch->protocol;
    o.protocol_len = ch->protocol_len;

    n = ngx_ams_dcep_write_open(buf, sizeof(buf), &o);

    if (n == 0) {
        return NGX_AMS_SCTP_ERROR;
    }

    /* the OPEN itself is reliable and ordered (RFC 8832 6) */
    return ngx_ams_sctp_sendv(a, ch->sid, NGX_AMS_SCTP_PPID_DCEP, buf, n, 0,
                              SCTP_PR_SCTP_NONE, 0);
}


static int
ngx_ams_sctp_sendv(ngx_ams_sctp_t *a, uint16_t sid, uint32_t ppid,
    const uint8_t *p, size_t len, unsigned unordered, uint16_t policy,
    uint32_t value)
{
    int                     err;
    ssize_t                 n;
    struct sctp_sendv_spa   spa;

    memset(&spa, 0, sizeof(spa));
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = sid;
    spa.sendv_sndinfo.snd_flags = unordered ? SCTP_UNORDERED : 0;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);

    if (policy != SCTP_PR_SCTP_NONE) {
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy = policy;
        spa.sendv_prinfo.pr_value = value;
    }

    ngx_ams_sctp_enter();

    n = usrsctp_sendv(a->so, p, len, NULL, 0, &spa, sizeof(spa),
                      SCTP_SENDV_SPA, 0);
    err = errno;

    ngx_ams_sctp_leave();

    if (n >= 0) {
        return NGX_AMS_SCTP_OK;
    }

    return (err == EAGAIN || err == EWOULDBLOCK) ? NGX_AMS_SCTP_AGAIN
                                                 : NGX_AMS_SCTP_ERROR;
}


static void
ngx_ams_sctp_reset_stream(ngx_ams_sctp_t *a, uint16_t sid)
{
    union {
        struct sctp_reset_streams  srs;
        uint8_t                    b[sizeof(struct sctp_reset_streams)
                                     + sizeof(uint16_t)];
    } r;

    memset(&r, 0, sizeof(r));
    r.srs.srs_assoc_id = SCTP_FUTURE_ASSOC;
    r.srs.srs_flags = SCTP_STREAM_RESET_OUTGOING;
    r.srs.srs_number_streams = 1;
    r.srs.srs_stream_list[0] = sid;

    ngx_ams_sctp_enter();

    /* best effort: a reset already pending is refused (EALREADY) */
    (void) usrsctp_setsockopt(a->so, IPPROTO_SCTP, SCTP_RESET_STREAMS, &r,
                              sizeof(r));

    ngx_ams_sctp_leave();
}


static void
ngx_ams_sctp_closed(ngx_ams_sctp_t *a, const char *reason)
{
    if (a->closed) {
        return;
    }

    a->closed = 1;

    if (!a->freeing && a->h->closed) {
        a->h->closed(a->data, reason);
    }
}
