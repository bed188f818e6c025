
/*
 * Copyright (C) nginx-ams authors
 *
 * The worker's UDP socket: one port per worker (webrtc_udp_port_base +
 * ngx_worker), bound on 0.0.0.0 and, where the host has IPv6, on [::]
 * (IPV6_V6ONLY, so each family has its own socket).  Every session of
 * the worker shares it: ICE-lite never sends a check, so the port is the
 * only thing a peer needs, and one socket per worker keeps the number of
 * descriptors and epoll entries flat however many sessions there are.
 *
 * Reading drains the socket in batches of recvmmsg() (one system call
 * for up to NGX_AMS_WEBRTC_UDP_BATCH datagrams), at most
 * NGX_AMS_WEBRTC_UDP_ROUNDS batches per event so a flood cannot keep the
 * worker from its other connections: the rest is read from a posted
 * event.  Each datagram goes to ngx_ams_webrtc_session_input(), which
 * demultiplexes it (RFC 7983).
 *
 * Sending queues: a fan-out's packets leave at the end of the event loop
 * turn in one sendmmsg(), a peer's run of equal-size packets as one
 * UDP_SEGMENT message (ngx_ams_webrtc_udp_send() below).  A system call
 * and a route lookup per packet were half of a fan-out's CPU.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_transport.h"
#include "ngx_ams_stats.h"


#define NGX_AMS_WEBRTC_UDP_BATCH    32
#define NGX_AMS_WEBRTC_UDP_ROUNDS   16
#define NGX_AMS_WEBRTC_UDP_DGRAM    2048     /* larger ones are cut: no
                                                packet of ours is */
#define NGX_AMS_WEBRTC_UDP_BUFFER   (4 * 1024 * 1024)
#define NGX_AMS_WEBRTC_UDP_CMSG     64      /* one in6_pktinfo */

#ifndef ngx_aligned
#define ngx_aligned(n)  __attribute__((aligned(n)))
#endif

/* datagrams queued while one event is handled, sent when it ends */
#define NGX_AMS_WEBRTC_UDP_QUEUE    256
/* what one UDP_SEGMENT send may carry: the kernel's limits */
#define NGX_AMS_WEBRTC_UDP_GSO_SEGS 64
#define NGX_AMS_WEBRTC_UDP_GSO_MAX  60000
#define NGX_AMS_WEBRTC_UDP_SCMSG    96      /* in6_pktinfo, segment size */

#ifndef SOL_UDP
#define SOL_UDP  17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT  103                   /* Linux 4.18 */
#endif


static ngx_connection_t *ngx_ams_webrtc_udp_bind(ngx_cycle_t *cycle,
    int family, in_port_t port);
static void ngx_ams_webrtc_udp_read(ngx_event_t *rev);
static void ngx_ams_webrtc_udp_local(struct msghdr *msg,
    ngx_ams_webrtc_local_t *local);
static ngx_int_t ngx_ams_webrtc_udp_sendmsg(struct sockaddr *sa,
    socklen_t len, ngx_ams_webrtc_local_t *local, u_char *p, size_t n);
static void ngx_ams_webrtc_udp_flush_handler(ngx_event_t *ev);
static void ngx_ams_webrtc_udp_flush(void);
static ngx_uint_t ngx_ams_webrtc_udp_group(ngx_uint_t i);
static size_t ngx_ams_webrtc_udp_control(u_char *cmsg,
    ngx_ams_webrtc_local_t *local, size_t segment);
static void ngx_ams_webrtc_udp_drop(ngx_connection_t *c, ngx_err_t err,
    ngx_uint_t n);


static ngx_connection_t  *ngx_ams_webrtc_udp4;
static ngx_connection_t  *ngx_ams_webrtc_udp6;

/* this worker's receive buffers: one event loop reads them */
static u_char   ngx_ams_webrtc_udp_buf[NGX_AMS_WEBRTC_UDP_BATCH]
                                      [NGX_AMS_WEBRTC_UDP_DGRAM];
static u_char   ngx_ams_webrtc_udp_cmsg[NGX_AMS_WEBRTC_UDP_BATCH]
                                       [NGX_AMS_WEBRTC_UDP_CMSG]
                                       ngx_aligned(8);

/* sends the kernel refused (a full socket buffer): dropped */
static ngx_uint_t  ngx_ams_webrtc_udp_dropped;
static time_t      ngx_ams_webrtc_udp_drop_logged;

/* the send queue: a copy of each datagram (the callers reuse their
 * buffers), sent by sendmmsg() from a posted event, in order */
typedef struct {
    ngx_sockaddr_t            sa;
    socklen_t                 socklen;
    ngx_ams_webrtc_local_t    local;
    size_t                    len;
    u_char                    data[NGX_AMS_WEBRTC_UDP_DGRAM];
} ngx_ams_webrtc_udp_out_t;

static ngx_ams_webrtc_udp_out_t  ngx_ams_webrtc_udp_out[
                                     NGX_AMS_WEBRTC_UDP_QUEUE];
static ngx_uint_t                ngx_ams_webrtc_udp_nout;
static ngx_event_t               ngx_ams_webrtc_udp_flush_event;

static struct mmsghdr  ngx_ams_webrtc_udp_msg[NGX_AMS_WEBRTC_UDP_QUEUE];
static struct iovec    ngx_ams_webrtc_udp_iov[NGX_AMS_WEBRTC_UDP_QUEUE];
static u_char          ngx_ams_webrtc_udp_scmsg[NGX_AMS_WEBRTC_UDP_QUEUE]
                                               [NGX_AMS_WEBRTC_UDP_SCMSG]
                                               ngx_aligned(8);

/* a socket whose kernel (or route) refused UDP_SEGMENT: plain sends */
static ngx_uint_t  ngx_ams_webrtc_udp4_nogso;
static ngx_uint_t  ngx_ams_webrtc_udp6_nogso;


ngx_int_t
ngx_ams_webrtc_udp_open(ngx_cycle_t *cycle)
{
    in_port_t  port;

    port = ngx_ams_webrtc_udp_port();

    ngx_ams_webrtc_udp4 = ngx_ams_webrtc_udp_bind(cycle, AF_INET, port);

#if (NGX_HAVE_INET6)
    ngx_ams_webrtc_udp6 = ngx_ams_webrtc_udp_bind(cycle, AF_INET6, port);
#endif

    ngx_ams_webrtc_udp_flush_event.handler = ngx_ams_webrtc_udp_flush_handler;
    ngx_ams_webrtc_udp_flush_event.log = cycle->log;
    ngx_ams_webrtc_udp_nout = 0;

    if (ngx_ams_webrtc_udp4 == NULL && ngx_ams_webrtc_udp6 == NULL) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "ams webrtc: no UDP socket on port %d: this worker "
                      "refuses WebRTC sessions", (int) port);
        return NGX_ERROR;
    }

    ngx_log_error(NGX_LOG_INFO, cycle->log, 0,
                  "ams webrtc: worker %i receives on UDP port %d%s",
                  ngx_worker, (int) port,
                  ngx_ams_webrtc_udp6 ? " (IPv4 and IPv6)" : "");

    return NGX_OK;
}


static ngx_connection_t *
ngx_ams_webrtc_udp_bind(ngx_cycle_t *cycle, int family, in_port_t port)
{
    int                   on, size;
    socklen_t             len;
    ngx_socket_t          fd;
    ngx_event_t          *rev;
    ngx_connection_t     *c;
    struct sockaddr_in    sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6   sin6;
#endif
    struct sockaddr      *sa;

    fd = ngx_socket(family, SOCK_DGRAM, 0);
    if (fd == (ngx_socket_t) -1) {
        ngx_log_error((family == AF_INET ? NGX_LOG_ERR : NGX_LOG_INFO),
                      cycle->log, ngx_socket_errno,
                      "ams webrtc: socket(%s) failed",
                      family == AF_INET ? "IPv4" : "IPv6");
        return NULL;
    }

    /* the previous generation's worker may still hold the port while it
     * leaves (a reload): the new one takes it over */
    on = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(int)) == -1) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, ngx_socket_errno,
                      "ams webrtc: setsockopt(SO_REUSEADDR) failed");
        goto failed;
    }

    /* a burst of video for many viewers leaves in one event loop turn */
    size = NGX_AMS_WEBRTC_UDP_BUFFER;
    (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(int));
    (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(int));

    if (family == AF_INET) {
        if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(int)) == -1) {
            ngx_log_error(NGX_LOG_ERR, cycle->log, ngx_socket_errno,
                          "ams webrtc: setsockopt(IP_PKTINFO) failed");
            goto failed;
        }

        ngx_memzero(&sin, sizeof(struct sockaddr_in));
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        sin.sin_addr.s_addr = INADDR_ANY;
        sa = (struct sockaddr *) &sin;
        len = sizeof(struct sockaddr_in);

#if (NGX_HAVE_INET6)
    } else {
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(int))
            == -1)
        {
            ngx_log_error(NGX_LOG_ERR, cycle->log, ngx_socket_errno,
                          "ams webrtc: setsockopt(IPV6_V6ONLY) failed");
            goto failed;
        }

        if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(int))
            == -1)
        {
            ngx_log_error(NGX_LOG_ERR, cycle->log, ngx_socket_errno,
                          "ams webrtc: setsockopt(IPV6_RECVPKTINFO) failed");
            goto failed;
        }

        ngx_memzero(&sin6, sizeof(struct sockaddr_in6));
        sin6.sin6_family = AF_INET6;
        sin6.sin6_port = htons(port);
        sin6.sin6_addr = in6addr_any;
        sa = (struct sockaddr *) &sin6;
        len = sizeof(struct sockaddr_in6);
#else
    } else {
        goto failed;
#endif
    }

    if (bind(fd, sa, len) == -1) {
        ngx_log_error((family == AF_INET ? NGX_LOG_ERR : NGX_LOG_INFO),
                      cycle->log, ngx_socket_errno,
                      "ams webrtc: bind() to %s port %d failed",
                      family == AF_INET ? "0.0.0.0" : "[::]", (int) port);
        goto failed;
    }

    if (ngx_nonblocking(fd) == -1) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, ngx_socket_errno,
                      ngx_nonblocking_n " failed");
        goto failed;
    }

    c = ngx_get_connection(fd, cycle->log);
    if (c == NULL) {
        goto failed;
    }

    c->type = SOCK_DGRAM;
    c->log = cycle->log;
    c->recv = ngx_udp_recv;
    c->send = ngx_udp_send;

    rev = c->read;
    rev->log = cycle->log;
    rev->handler = ngx_ams_webrtc_udp_read;
    c->write->log = cycle->log;

    if (ngx_add_event(rev, NGX_READ_EVENT,
                      (ngx_event_flags & NGX_USE_CLEAR_EVENT)
                      ? NGX_CLEAR_EVENT : NGX_LEVEL_EVENT)
        != NGX_OK)
    {
        ngx_free_connection(c);
        goto failed;
    }

    return c;

failed:

    if (ngx_close_socket(fd) == -1) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, ngx_socket_errno,
                      ngx_close_socket_n " failed");
    }

    return NULL;
}


void
ngx_ams_webrtc_udp_close(void)
{
    if (ngx_ams_webrtc_udp_flush_event.posted) {
        ngx_delete_posted_event(&ngx_ams_webrtc_udp_flush_event);
    }

    ngx_ams_webrtc_udp_flush();

    if (ngx_ams_webrtc_udp4) {
        ngx_close_connection(ngx_ams_webrtc_udp4);
        ngx_ams_webrtc_udp4 = NULL;
    }

    if (ngx_ams_webrtc_udp6) {
        ngx_close_connection(ngx_ams_webrtc_udp6);
        ngx_ams_webrtc_udp6 = NULL;
    }
}


ngx_uint_t
ngx_ams_webrtc_udp_ready(void)
{
    return ngx_ams_webrtc_udp4 != NULL || ngx_ams_webrtc_udp6 != NULL;
}


static void
ngx_ams_webrtc_udp_read(ngx_event_t *rev)
{
    int                       i, n;
    ngx_err_t                 err;
    ngx_uint_t                round;
    ngx_connection_t         *c;
    struct iovec              iov[NGX_AMS_WEBRTC_UDP_BATCH];
    struct mmsghdr            msg[NGX_AMS_WEBRTC_UDP_BATCH];
    struct sockaddr_storage   from[NGX_AMS_WEBRTC_UDP_BATCH];
    ngx_ams_webrtc_local_t    local;

    c = rev->data;

    for (round = 0; round < NGX_AMS_WEBRTC_UDP_ROUNDS; round++) {

        for (i = 0; i < NGX_AMS_WEBRTC_UDP_BATCH; i++) {
            iov[i].iov_base = ngx_ams_webrtc_udp_buf[i];
            iov[i].iov_len = NGX_AMS_WEBRTC_UDP_DGRAM;
            ngx_memzero(&msg[i].msg_hdr, sizeof(struct msghdr));
            msg[i].msg_hdr.msg_name = &from[i];
            msg[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
            msg[i].msg_hdr.msg_iov = &iov[i];
            msg[i].msg_hdr.msg_iovlen = 1;
            msg[i].msg_hdr.msg_control = ngx_ams_webrtc_udp_cmsg[i];
            msg[i].msg_hdr.msg_controllen = NGX_AMS_WEBRTC_UDP_CMSG;
            msg[i].msg_len = 0;
        }

        n = recvmmsg(c->fd, msg, NGX_AMS_WEBRTC_UDP_BATCH, 0, NULL);

        if (n == -1) {
            err = ngx_socket_errno;

            if (err == NGX_EAGAIN) {
                rev->ready = 0;
                return;
            }

            if (err == NGX_EINTR) {
                continue;
            }

            /* an ICMP error of an earlier send (ECONNREFUSED and the
             * like): nothing is lost, read on */
            ngx_log_error(NGX_LOG_INFO, c->log, err,
                          "ams webrtc: recvmmsg() failed");
            continue;
        }

        for (i = 0; i < n; i++) {
            if (msg[i].msg_len == 0
                || (msg[i].msg_hdr.msg_flags & MSG_TRUNC))
            {
                continue;
            }

            ngx_ams_webrtc_udp_local(&msg[i].msg_hdr, &local);

            ngx_ams_webrtc_session_input(
                (struct sockaddr *) &from[i], msg[i].msg_hdr.msg_namelen,
                &local, ngx_ams_webrtc_udp_buf[i], msg[i].msg_len);
        }

        if (n < NGX_AMS_WEBRTC_UDP_BATCH) {
            if (!(ngx_event_flags & NGX_USE_CLEAR_EVENT)) {
                return;
            }

            /* edge-triggered: read until EAGAIN says the socket is
             * drained */
        }
    }

    /* more waits: after the other connections' events */
    rev->ready = 1;
    ngx_post_event(rev, &ngx_posted_events);
}


/* where the datagram came to, from its IP_PKTINFO */
static void
ngx_ams_webrtc_udp_local(struct msghdr *msg, ngx_ams_webrtc_local_t *local)
{
    struct cmsghdr      *cm;
    struct in_pktinfo   *pi;
#if (NGX_HAVE_INET6)
    struct in6_pktinfo  *pi6;
#endif

    local->family = 0;

    for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {

        if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
            pi = (struct in_pktinfo *) CMSG_DATA(cm);
            local->family = AF_INET;
            local->u.v4 = pi->ipi_addr;
            return;
        }

#if (NGX_HAVE_INET6)
        if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
            pi6 = (struct in6_pktinfo *) CMSG_DATA(cm);
            local->family = AF_INET6;
            local->u.v6 = pi6->ipi6_addr;
            return;
        }
#endif
    }
}


static ngx_int_t
ngx_ams_webrtc_udp_sendmsg(struct sockaddr *sa, socklen_t len,
    ngx_ams_webrtc_local_t *local, u_char *p, size_t n)
{
    ssize_t              rc;
    ngx_err_t            err;
    struct iovec         iov;
    struct msghdr        msg;
    struct cmsghdr      *cm;
    ngx_connection_t    *c;
    struct in_pktinfo   *pi;
    u_char               cmsg[NGX_AMS_WEBRTC_UDP_CMSG] ngx_aligned(8);
#if (NGX_HAVE_INET6)
    struct in6_pktinfo  *pi6;
#endif

    c = (sa->sa_family == AF_INET) ? ngx_ams_webrtc_udp4
                                   : ngx_ams_webrtc_udp6;
    if (c == NULL) {
        return NGX_ERROR;
    }

    iov.iov_base = p;
    iov.iov_len = n;

    ngx_memzero(&msg, sizeof(struct msghdr));
    msg.msg_name = sa;
    msg.msg_namelen = len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;

    /* from the address the peer sent to */
    if (local && local->family == sa->sa_family) {
        ngx_memzero(cmsg, sizeof(cmsg));
        msg.msg_control = cmsg;

        if (local->family == AF_INET) {
            msg.msg_controllen = CMSG_SPACE(sizeof(struct in_pktinfo));
            cm = CMSG_FIRSTHDR(&msg);
            cm->cmsg_level = IPPROTO_IP;
            cm->cmsg_type = IP_PKTINFO;
            cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
            pi = (struct in_pktinfo *) CMSG_DATA(cm);
            pi->ipi_spec_dst = local->u.v4;

#if (NGX_HAVE_INET6)
        } else {
            msg.msg_controllen = CMSG_SPACE(sizeof(struct in6_pktinfo));
            cm = CMSG_FIRSTHDR(&msg);
            cm->cmsg_level = IPPROTO_IPV6;
            cm->cmsg_type = IPV6_PKTINFO;
            cm->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
            pi6 = (struct in6_pktinfo *) CMSG_DATA(cm);
            pi6->ipi6_addr = local->u.v6;
#endif
        }
    }

    for ( ;; ) {
        rc = sendmsg(c->fd, &msg, 0);
        if (rc >= 0) {
            ngx_ams_stats_sent(NGX_AMS_SENT_WEBRTC, rc);
            return NGX_OK;
        }

        err = ngx_socket_errno;

        if (err == NGX_EINTR) {
            continue;
        }

        if (err == NGX_EAGAIN || err == ENOBUFS) {
            /* the socket buffer is full: real time has no use for a
             * late packet, NACKs repair what matters */
            ngx_ams_webrtc_udp_drop(c, err, 1);

            return NGX_AGAIN;
        }

        /* ICMP unreachable of an earlier packet and the like: the
         * session's consent timeout ends it if the peer is gone */
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, c->log, err,
                       "ams webrtc: sendto() failed, %z bytes", n);

        return NGX_ERROR;
    }
}


/*
 * A datagram is queued, not sent: a reader callback that writes a
 * frame's packets to every player of a stream, or a read event that
 * answers many peers, ends with one sendmmsg() (a system call for up to
 * NGX_AMS_WEBRTC_UDP_QUEUE datagrams) from an event posted for the end
 * of this event loop turn, never a timer: no packet waits longer than
 * the events handled in the same turn.  Runs of one peer's datagrams of
 * one size (a frame's FU-A fragments, the last may be shorter) go as
 * one UDP_SEGMENT send: one route lookup, one pass down the stack.
 */

ngx_int_t
ngx_ams_webrtc_udp_send(struct sockaddr *sa, socklen_t len,
    ngx_ams_webrtc_local_t *local, u_char *p, size_t n)
{
    ngx_connection_t          *c;
    ngx_ams_webrtc_udp_out_t  *o;

    c = (sa->sa_family == AF_INET) ? ngx_ams_webrtc_udp4
                                   : ngx_ams_webrtc_udp6;
    if (c == NULL || len > sizeof(ngx_sockaddr_t)) {
        return NGX_ERROR;
    }

    if (n > NGX_AMS_WEBRTC_UDP_DGRAM) {
        /* none of ours is: sent at once, after what was queued */
        ngx_ams_webrtc_udp_flush();
        return ngx_ams_webrtc_udp_sendmsg(sa, len, local, p, n);
    }

    if (ngx_ams_webrtc_udp_nout == NGX_AMS_WEBRTC_UDP_QUEUE) {
        ngx_ams_webrtc_udp_flush();
    }

    o = &ngx_ams_webrtc_udp_out[ngx_ams_webrtc_udp_nout++];

    ngx_memcpy(&o->sa, sa, len);
    o->socklen = len;

    if (local && local->family == sa->sa_family) {
        o->local = *local;

    } else {
        o->local.family = 0;
    }

    o->len = n;
    ngx_memcpy(o->data, p, n);

    if (!ngx_ams_webrtc_udp_flush_event.posted) {
        ngx_post_event(&ngx_ams_webrtc_udp_flush_event, &ngx_posted_events);
    }

    return NGX_OK;
}


static void
ngx_ams_webrtc_udp_flush_handler(ngx_event_t *ev)
{
    ngx_ams_webrtc_udp_flush();
}


static void
ngx_ams_webrtc_udp_flush(void)
{
    int                        rc;
    size_t                     segment, sent;
    ngx_err_t                  err;
    ngx_uint_t                 i, j, k, m, nmsg, family, plain, *nogso;
    ngx_connection_t          *c;
    struct iovec              *iov;
    struct msghdr             *mh;
    ngx_ams_webrtc_udp_out_t  *o;
    ngx_uint_t                 first[NGX_AMS_WEBRTC_UDP_QUEUE];
    ngx_uint_t                 count[NGX_AMS_WEBRTC_UDP_QUEUE];

    i = 0;
    plain = 0;                          /* entries before it: no GSO */

    while (i < ngx_ams_webrtc_udp_nout) {

        family = ngx_ams_webrtc_udp_out[i].sa.sockaddr.sa_family;

        if (family == AF_INET) {
            c = ngx_ams_webrtc_udp4;
            nogso = &ngx_ams_webrtc_udp4_nogso;

        } else {
            c = ngx_ams_webrtc_udp6;
            nogso = &ngx_ams_webrtc_udp6_nogso;
        }

        if (c == NULL) {
            i++;
            continue;
        }

        /* the messages of one socket from entry i on */
        nmsg = 0;
        j = i;

        while (j < ngx_ams_webrtc_udp_nout
               && ngx_ams_webrtc_udp_out[j].sa.sockaddr.sa_family == family)
        {
            o = &ngx_ams_webrtc_udp_out[j];
            k = (*nogso || j < plain) ? 1 : ngx_ams_webrtc_udp_group(j);
            segment = (k > 1) ? o->len : 0;

            for (m = j; m < j + k; m++) {
                iov = &ngx_ams_webrtc_udp_iov[m];
                iov->iov_base = ngx_ams_webrtc_udp_out[m].data;
                iov->iov_len = ngx_ams_webrtc_udp_out[m].len;
            }

            mh = &ngx_ams_webrtc_udp_msg[nmsg].msg_hdr;
            ngx_memzero(mh, sizeof(struct msghdr));
            mh->msg_name = &o->sa;
            mh->msg_namelen = o->socklen;
            mh->msg_iov = &ngx_ams_webrtc_udp_iov[j];
            mh->msg_iovlen = k;
            mh->msg_control = ngx_ams_webrtc_udp_scmsg[nmsg];
            mh->msg_controllen = ngx_ams_webrtc_udp_control(
                                     ngx_ams_webrtc_udp_scmsg[nmsg],
                                     &o->local, segment);
            if (mh->msg_controllen == 0) {
                mh->msg_control = NULL;
            }

            ngx_ams_webrtc_udp_msg[nmsg].msg_len = 0;
            first[nmsg] = j;
            count[nmsg] = k;
            nmsg++;
            j += k;
        }

        m = 0;

        while (m < nmsg) {
            rc = sendmmsg(c->fd, &ngx_ams_webrtc_udp_msg[m], nmsg - m, 0);

            if (rc > 0) {
                /* msg_len: the bytes of a message, all its segments */
                sent = 0;

                for (k = m; k < m + rc; k++) {
                    sent += ngx_ams_webrtc_udp_msg[k].msg_len;
                }

                ngx_ams_stats_sent(NGX_AMS_SENT_WEBRTC, sent);

                m += rc;
                continue;
            }

            err = ngx_socket_errno;

            if (err == NGX_EINTR) {
                continue;
            }

            if (count[m] > 1 && (err == EIO || err == EINVAL)) {
                /* no UDP GSO here (the device has no checksum offload,
                 * an old kernel): the rest is sent datagram by datagram */
                *nogso = 1;
                ngx_log_error(NGX_LOG_NOTICE, c->log, err,
                              "ams webrtc: UDP_SEGMENT refused, "
                              "sending without it");
                break;
            }

            if (count[m] > 1 && err == EMSGSIZE) {
                /* a segment over this peer's path MTU: its datagrams
                 * go one by one (IP may fragment them), GSO stays on */
                plain = first[m] + count[m];
                break;
            }

            if (err == NGX_EAGAIN || err == ENOBUFS) {
                ngx_ams_webrtc_udp_drop(c, err, count[m]);

            } else {
                ngx_log_debug1(NGX_LOG_DEBUG_EVENT, c->log, err,
                               "ams webrtc: sendmmsg() failed, %ui "
                               "datagrams dropped", count[m]);
            }

            m++;
        }

        i = (m < nmsg) ? first[m] : j;
    }

    ngx_ams_webrtc_udp_nout = 0;
}


/* how many entries from i on go as one UDP_SEGMENT send: one peer, from
 * one local address, all of one size but the last (not larger) */

static ngx_uint_t
ngx_ams_webrtc_udp_group(ngx_uint_t i)
{
    size_t                     total;
    ngx_uint_t                 j;
    ngx_ams_webrtc_udp_out_t  *a, *b;

    a = &ngx_ams_webrtc_udp_out[i];
    total = a->len;

    for (j = i + 1; j < ngx_ams_webrtc_udp_nout; j++) {
        b = &ngx_ams_webrtc_udp_out[j];

        if (j - i == NGX_AMS_WEBRTC_UDP_GSO_SEGS
            || total + b->len > NGX_AMS_WEBRTC_UDP_GSO_MAX
            || b->len > a->len
            || b->socklen != a->socklen
            || ngx_memcmp(&b->sa, &a->sa, a->socklen) != 0
            || b->local.family != a->local.family
            || (a->local.family
                && ngx_memcmp(&b->local.u, &a->local.u,
                              a->local.family == AF_INET
                              ? sizeof(struct in_addr)
                              : sizeof(a->local.u)) != 0))
        {
            break;
        }

        total += b->len;

        if (b->len < a->len) {
            return j - i + 1;             /* a shorter one ends the run */
        }
    }

    return j - i;
}


/* IP_PKTINFO (from the address the peer sent to) and UDP_SEGMENT */

static size_t
ngx_ams_webrtc_udp_control(u_char *cmsg, ngx_ams_webrtc_local_t *local,
    size_t segment)
{
    size_t               len;
    uint16_t             gso;
    struct msghdr        msg;
    struct cmsghdr      *cm;
    struct in_pktinfo   *pi;
#if (NGX_HAVE_INET6)
    struct in6_pktinfo  *pi6;
#endif

    ngx_memzero(cmsg, NGX_AMS_WEBRTC_UDP_SCMSG);
    ngx_memzero(&msg, sizeof(struct msghdr));
    msg.msg_control = cmsg;
    msg.msg_controllen = NGX_AMS_WEBRTC_UDP_SCMSG;

    cm = CMSG_FIRSTHDR(&msg);
    len = 0;

    if (local->family == AF_INET) {
        cm->cmsg_level = IPPROTO_IP;
        cm->cmsg_type = IP_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
        pi = (struct in_pktinfo *) CMSG_DATA(cm);
        pi->ipi_spec_dst = local->u.v4;
        len += CMSG_SPACE(sizeof(struct in_pktinfo));
        cm = (struct cmsghdr *) (cmsg + len);

#if (NGX_HAVE_INET6)
    } else if (local->family == AF_INET6) {
        cm->cmsg_level = IPPROTO_IPV6;
        cm->cmsg_type = IPV6_PKTINFO;
        cm->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
        pi6 = (struct in6_pktinfo *) CMSG_DATA(cm);
        pi6->ipi6_addr = local->u.v6;
        len += CMSG_SPACE(sizeof(struct in6_pktinfo));
        cm = (struct cmsghdr *) (cmsg + len);
#endif
    }

    if (segment) {
        gso = (uint16_t) segment;
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        ngx_memcpy(CMSG_DATA(cm), &gso, sizeof(uint16_t));
        len += CMSG_SPACE(sizeof(uint16_t));
    }

    return len;
}


/* the socket buffer is full: real time has no use for a late packet,
 * NACKs repair what matters; logged at most once a second */

static void
ngx_ams_webrtc_udp_drop(ngx_connection_t *c, ngx_err_t err, ngx_uint_t n)
{
    ngx_ams_webrtc_udp_dropped += n;

    if (ngx_time() != ngx_ams_webrtc_udp_drop_logged) {
        ngx_ams_webrtc_udp_drop_logged = ngx_time();
        ngx_log_error(NGX_LOG_WARN, c->log, err,
                      "ams webrtc: UDP send buffer full, %ui "
                      "packets dropped so far",
                      ngx_ams_webrtc_udp_dropped);
    }
}
