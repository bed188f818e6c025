
/*
 * Copyright (C) nginx-ams authors
 *
 * One RTMP connection: it reads until EAGAIN, answers the handshake,
 * hands chunks to the parser (whose messages go to
 * ngx_ams_rtmp_commands.c), and writes replies and media through one
 * output buffer.  A publisher's socket gets a low watermark sized to its
 * bitrate, so a burst of frames costs one wake-up.  Everything runs on
 * the event loop and never blocks.
 *
 * What a client costs before it is known is bounded: it must publish or
 * play within ams_rtmp_handshake_timeout, it may buffer commands only
 * until then, a publisher one message and a little more, one client
 * address ams_rtmp_address_buffers (a new connection from an address
 * that holds that much is refused, a message that would pass it
 * disconnects its sender), and a worker's partial messages (every
 * connection's) stay under ams_rtmp_worker_buffers: at that cap the
 * largest holder is disconnected, not the newcomer.  A publisher that
 * sends no audio or video for ams_rtmp_media_timeout is dropped.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_ams_rtmp_session.h"
#include "ngx_ams_stats.h"


#define NGX_AMS_RTMP_READ_BUF      65536

/* publishers: their bitrate over each period sets the socket's low
 * watermark; while one is set, a timer looks for bytes held below it */
#define NGX_AMS_RTMP_RATE_PERIOD   2000
#define NGX_AMS_RTMP_MAX_LOWAT     16384
#define NGX_AMS_RTMP_LOWAT_POLL    500


static ngx_int_t ngx_ams_rtmp_admit_connection(ngx_ams_rtmp_session_t *rs);
static int ngx_ams_rtmp_reclaim(void *ctx, size_t need);
static void ngx_ams_rtmp_evict(ngx_ams_rtmp_session_t *rs,
    ngx_ams_rtmp_session_t *for_rs);
static void ngx_ams_rtmp_guard_handler(ngx_event_t *ev);
static void ngx_ams_rtmp_read_handler(ngx_event_t *rev);
static void ngx_ams_rtmp_tune_lowat(ngx_ams_rtmp_session_t *rs);
static ngx_int_t ngx_ams_rtmp_feed(ngx_ams_rtmp_session_t *rs, u_char *p,
    size_t n);
static u_char *ngx_ams_rtmp_reserve(ngx_ams_rtmp_session_t *rs, size_t n);
static void ngx_ams_rtmp_write_handler(ngx_event_t *wev);


/* a worker reads one connection at a time */
static u_char  ngx_ams_rtmp_read_buf[NGX_AMS_RTMP_READ_BUF];

/* bytes of partial messages held by this worker's connections */
static size_t      ngx_ams_rtmp_buffered;

/* refused connections are logged once a second, with their count */
static ngx_msec_t  ngx_ams_rtmp_refused_logged;
static ngx_uint_t  ngx_ams_rtmp_refused;


void
ngx_ams_rtmp_init_session(ngx_stream_session_t *s)
{
    ngx_connection_t          *c;
    ngx_ams_rtmp_session_t    *rs;
    ngx_ams_rtmp_main_conf_t  *rmcf;

    c = s->connection;
    rmcf = ngx_stream_get_module_main_conf(s, ngx_ams_ingest_module);

    rs = ngx_pcalloc(c->pool, sizeof(ngx_ams_rtmp_session_t));
    if (rs == NULL) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    rs->session = s;
    rs->connection = c;
    rs->conf = ngx_stream_get_module_srv_conf(s, ngx_ams_ingest_module);
    rs->ack_window = NGX_AMS_RTMP_WINDOW;

    if (ngx_ams_rtmp_peer_attach(rs) != NGX_OK) {
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    if (ngx_ams_rtmp_admit_connection(rs) != NGX_OK) {
        ngx_ams_rtmp_peer_detach(rs);
        ngx_stream_finalize_session(s, NGX_STREAM_SERVICE_UNAVAILABLE);
        return;
    }

    rs->hs = ngx_palloc(c->pool, 1 + 2 * NGX_AMS_RTMP_HANDSHAKE_SIZE);
    if (rs->hs == NULL) {
        ngx_ams_rtmp_peer_detach(rs);
        ngx_stream_finalize_session(s, NGX_STREAM_INTERNAL_SERVER_ERROR);
        return;
    }

    ngx_ams_rtmp_chunk_init(&rs->parser, rs->conf->max_message,
                            ngx_ams_rtmp_on_message, rs);
    ngx_ams_rtmp_chunk_group(&rs->parser, ngx_ams_rtmp_peer_counter(rs),
                             rmcf->address_buffers);
    rs->parser.reclaim = ngx_ams_rtmp_reclaim;
    ngx_ams_rtmp_set_limits(rs, 0);

    ngx_ams_rtmp_play_init(rs);

    rs->guard.handler = ngx_ams_rtmp_guard_handler;
    rs->guard.data = rs;
    rs->guard.log = c->log;
    ngx_ams_rtmp_guard(rs, rs->conf->handshake_timeout);

    ngx_stream_set_ctx(s, rs, ngx_ams_ingest_module);

    c->read->handler = ngx_ams_rtmp_read_handler;
    c->write->handler = ngx_ams_rtmp_write_handler;

    ngx_add_timer(c->read, rs->conf->timeout);

    ngx_ams_rtmp_read_handler(c->read);
}


/*
 * A new connection needs room for its commands.  An address that holds
 * its share (ams_rtmp_address_buffers) gets none: it is the one filling
 * the worker.  At the worker's cap the largest holder makes room: a
 * newcomer from elsewhere is served.
 */

static ngx_int_t
ngx_ams_rtmp_admit_connection(ngx_ams_rtmp_session_t *rs)
{
    size_t                     held;
    ngx_ams_rtmp_session_t    *victim;
    ngx_ams_rtmp_main_conf_t  *rmcf;

    rmcf = ngx_stream_get_module_main_conf(rs->session,
                                           ngx_ams_ingest_module);

    held = *ngx_ams_rtmp_peer_counter(rs);

    if (held + NGX_AMS_RTMP_COMMAND_BUFFERED > rmcf->address_buffers) {
        ngx_ams_rtmp_refused++;

        if (ngx_current_msec - ngx_ams_rtmp_refused_logged >= 1000) {
            ngx_log_error(NGX_LOG_WARN, rs->connection->log, 0,
                          "ams rtmp: connection refused: %V holds %uz "
                          "bytes of partial messages "
                          "(ams_rtmp_address_buffers %uz), %ui refused "
                          "since the last such line",
                          ngx_ams_rtmp_peer_text(rs), held,
                          rmcf->address_buffers, ngx_ams_rtmp_refused);
            ngx_ams_rtmp_refused_logged = ngx_current_msec;
            ngx_ams_rtmp_refused = 0;
        }

        return NGX_ERROR;
    }

    while (ngx_ams_rtmp_buffered + NGX_AMS_RTMP_COMMAND_BUFFERED
           > rmcf->worker_buffers)
    {
        victim = ngx_ams_rtmp_peer_largest();
        if (victim == NULL) {
            return NGX_ERROR;
        }

        ngx_ams_rtmp_evict(victim, rs);
    }

    return NGX_OK;
}


/* the parser's callback at the worker's cap: the largest holder goes,
 * unless that is the sender itself (then its message is refused) */

static int
ngx_ams_rtmp_reclaim(void *ctx, size_t need)
{
    ngx_ams_rtmp_session_t  *rs = ctx;
    ngx_ams_rtmp_session_t  *victim;

    victim = ngx_ams_rtmp_peer_largest();

    if (victim == NULL || victim == rs) {
        return -1;
    }

    ngx_ams_rtmp_evict(victim, rs);

    return 0;
}


/*
 * Its buffers are freed now, so that the one asking has room at once;
 * the connection is finalized from its read event, posted, as this may
 * run inside another connection's handler.
 */

static void
ngx_ams_rtmp_evict(ngx_ams_rtmp_session_t *rs, ngx_ams_rtmp_session_t *for_rs)
{
    ngx_ams_rtmp_main_conf_t  *rmcf;

    rmcf = ngx_stream_get_module_main_conf(rs->session, ngx_ams_ingest_module);

    ngx_log_error(NGX_LOG_WARN, rs->connection->log, 0,
                  "ams rtmp: the worker's partial messages reached "
                  "ams_rtmp_worker_buffers (%uz): disconnecting the "
                  "largest holder, a %s from %V holding %uz bytes "
                  "(its address %uz), to make room for a client from %V",
                  rmcf->worker_buffers,
                  rs->publishing ? "publisher"
                                 : (rs->playing || rs->waiting) ? "player"
                                                                : "connection",
                  ngx_ams_rtmp_peer_text(rs), rs->parser.buffered,
                  *ngx_ams_rtmp_peer_counter(rs),
                  ngx_ams_rtmp_peer_text(for_rs));

    ngx_ams_rtmp_chunk_free(&rs->parser);
    rs->parser.error = "evicted";
    rs->evicted = 1;

    ngx_post_event(rs->connection->read, &ngx_posted_events);
}


/* a publisher may send media messages; anyone else only commands */

void
ngx_ams_rtmp_set_limits(ngx_ams_rtmp_session_t *rs, ngx_uint_t publisher)
{
    ngx_ams_rtmp_main_conf_t  *rmcf;

    rmcf = ngx_stream_get_module_main_conf(rs->session, ngx_ams_ingest_module);

    if (publisher) {
        /* a video message and what interleaves with it */
        ngx_ams_rtmp_chunk_limits(&rs->parser, rs->conf->max_message,
                                  rs->conf->max_message
                                  + NGX_AMS_RTMP_PUBLISH_MARGIN,
                                  &ngx_ams_rtmp_buffered,
                                  rmcf->worker_buffers);
        return;
    }

    ngx_ams_rtmp_chunk_trim(&rs->parser);
    ngx_ams_rtmp_chunk_limits(&rs->parser,
                              ngx_min(rs->conf->max_message,
                                      NGX_AMS_RTMP_COMMAND_MESSAGE),
                              NGX_AMS_RTMP_COMMAND_BUFFERED,
                              &ngx_ams_rtmp_buffered, rmcf->worker_buffers);
}


/* arms the guard; 0: off */

void
ngx_ams_rtmp_guard(ngx_ams_rtmp_session_t *rs, ngx_msec_t timeout)
{
    if (timeout) {
        ngx_add_timer(&rs->guard, timeout);

    } else if (rs->guard.timer_set) {
        ngx_del_timer(&rs->guard);
    }
}


/*
 * Until it publishes or plays, a connection has handshake_timeout in all
 * (a slow sender never reaches the idle timeout); a publisher must send
 * audio or video at least every media_timeout.  Players are watched by
 * the idle timeout and its ping.
 */

static void
ngx_ams_rtmp_guard_handler(ngx_event_t *ev)
{
    ngx_msec_t               quiet, t;
    ngx_ams_rtmp_session_t  *rs;

    rs = ev->data;

    if (rs->publishing) {
        t = rs->conf->media_timeout;
        quiet = ngx_current_msec - rs->last_media;

        if (t == 0) {
            return;
        }

        if (quiet < t) {
            ngx_add_timer(ev, t - quiet);
            return;
        }

        ngx_log_error(NGX_LOG_WARN, rs->connection->log, 0,
                      "ams rtmp: publisher of \"%V/%V\" sent no audio or "
                      "video for %M ms (ams_rtmp_media_timeout), "
                      "disconnecting", &rs->app->name, &rs->name, quiet);
        ngx_ams_rtmp_finalize(rs);
        return;
    }

    if (rs->playing || rs->waiting) {
        return;
    }

    if (rs->admitting) {
        /* the store answers soon; then it publishes, plays or leaves */
        ngx_ams_rtmp_guard(rs, rs->conf->handshake_timeout);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, rs->connection->log, NGX_ETIMEDOUT,
                  "ams rtmp: %s within %M ms (ams_rtmp_handshake_timeout), "
                  "disconnecting",
                  rs->state != NGX_AMS_RTMP_CHUNKS ? "no handshake"
                  : (!rs->connected ? "no connect"
                                    : "neither publishing nor playing"),
                  rs->conf->handshake_timeout);
    ngx_ams_rtmp_finalize(rs);
}


static void
ngx_ams_rtmp_read_handler(ngx_event_t *rev)
{
    ssize_t                  n;
    ngx_uint_t               poll;
    ngx_connection_t        *c;
    ngx_stream_session_t    *s;
    ngx_ams_rtmp_session_t  *rs;

    c = rev->data;
    s = c->data;
    rs = ngx_stream_get_module_ctx(s, ngx_ams_ingest_module);
    poll = 0;

    /* nginx closes connections this way when worker_shutdown_timeout
     * passes, and the bus when an old worker must give up its slot */
    if (c->close) {
        ngx_log_error(NGX_LOG_INFO, c->log, 0,
                      "ams rtmp: closing: the worker is shutting down");
        ngx_ams_rtmp_finalize(rs);
        return;
    }

    /* disconnected to make room (logged then) */
    if (rs->evicted) {
        ngx_ams_rtmp_finalize(rs);
        return;
    }

    if (rev->timedout) {
        rev->timedout = 0;

        /* a quiet player (playing, or waiting for a publisher) is asked
         * to answer a ping before it is dropped */
        if ((rs->playing || rs->waiting) && !rs->ping_sent) {
            rs->ping_sent = 1;
            ngx_ams_rtmp_send_user(rs, NGX_AMS_USER_PING_REQUEST,
                                   (uint32_t) ngx_current_msec);
            ngx_add_timer(rev, rs->conf->timeout);
            (void) ngx_ams_rtmp_flush(rs);
            return;
        }

        if (!rs->lowat) {
            ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                          "ams rtmp: client timed out");
            ngx_ams_rtmp_finalize(rs);
            return;
        }

        /* a low watermark may hold bytes back without an event: look */
        poll = 1;
        rev->ready = 1;
#if (NGX_HAVE_EPOLLRDHUP)
        rev->available = -1;
#endif
    }

    for ( ;; ) {
        n = c->recv(c, ngx_ams_rtmp_read_buf, NGX_AMS_RTMP_READ_BUF);

        if (n == NGX_AGAIN) {
            if (poll && ngx_current_msec - rs->last_read >= rs->conf->timeout)
            {
                ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                              "ams rtmp: client timed out");
                ngx_ams_rtmp_finalize(rs);
                return;
            }
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "ams rtmp: client closed the connection");
            ngx_ams_rtmp_finalize(rs);
            return;
        }

        rs->last_read = ngx_current_msec;
        rs->ping_sent = 0;

        if (ngx_ams_rtmp_feed(rs, ngx_ams_rtmp_read_buf, n) != NGX_OK) {
            ngx_ams_rtmp_finalize(rs);
            return;
        }

        if (rs->closing) {
            break;
        }
    }

    if (rs->publishing
        && ngx_current_msec - rs->rate_start >= NGX_AMS_RTMP_RATE_PERIOD)
    {
        ngx_ams_rtmp_tune_lowat(rs);
    }

    if (!rs->closing) {
        ngx_add_timer(rev, rs->lowat ? ngx_min(NGX_AMS_RTMP_LOWAT_POLL,
                                               rs->conf->timeout)
                                     : rs->conf->timeout);
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_ams_rtmp_finalize(rs);
        return;
    }

    /* a full socket is no error: the write handler goes on */
    if (ngx_ams_rtmp_flush(rs) == NGX_ERROR) {
        ngx_ams_rtmp_finalize(rs);
    }
}


/*
 * A publisher's frames arrive a few kilobytes at a time, each waking the
 * worker.  Its bitrate, measured over each NGX_AMS_RTMP_RATE_PERIOD, sets
 * the socket's low watermark to about wake_interval's worth of bytes: the
 * worker wakes a few times per interval instead of once per frame, with
 * no more delay than the bus adds anyway.  If the bitrate falls, a poll
 * timer bounds how long bytes below the mark can wait.
 */

static void
ngx_ams_rtmp_tune_lowat(ngx_ams_rtmp_session_t *rs)
{
    int                   lowat;
    uint64_t              rate;
    ngx_ams_main_conf_t  *amcf;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    rate = (rs->in_bytes - rs->rate_bytes) * 1000
           / ngx_max(ngx_current_msec - rs->rate_start, 1);

    rs->rate_start = ngx_current_msec;
    rs->rate_bytes = rs->in_bytes;

    lowat = (int) ngx_min(rate * amcf->wake_interval / 1000,
                          NGX_AMS_RTMP_MAX_LOWAT);
    if (lowat < 1024) {
        lowat = 0;
    }

    /* small changes are not worth a system call */
    if (lowat == rs->lowat
        || (lowat && rs->lowat && ngx_abs(lowat - rs->lowat) < rs->lowat / 4))
    {
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_STREAM, rs->connection->log, 0,
                   "ams rtmp: %uL bytes/s, low watermark %d", rate, lowat);

    ngx_ams_rtmp_set_lowat(rs, lowat);
}


void
ngx_ams_rtmp_set_lowat(ngx_ams_rtmp_session_t *rs, int lowat)
{
    int  v = lowat ? lowat : 1;

    if (setsockopt(rs->connection->fd, SOL_SOCKET, SO_RCVLOWAT, &v,
                   sizeof(int))
        == -1)
    {
        ngx_log_error(NGX_LOG_WARN, rs->connection->log, ngx_socket_errno,
                      "ams rtmp: setsockopt(SO_RCVLOWAT) failed");
        return;
    }

    rs->lowat = lowat;
}


static ngx_int_t
ngx_ams_rtmp_feed(ngx_ams_rtmp_session_t *rs, u_char *p, size_t n)
{
    int                 digest;
    size_t              need;
    u_char             *out;
    const char         *err;
    ngx_connection_t   *c;

    c = rs->connection;

    while (n && rs->state != NGX_AMS_RTMP_CHUNKS) {

        need = (rs->state == NGX_AMS_RTMP_HS_C0C1)
               ? 1 + NGX_AMS_RTMP_HANDSHAKE_SIZE : NGX_AMS_RTMP_HANDSHAKE_SIZE;
        need -= rs->hs_len;
        need = ngx_min(need, n);

        /* C2 is read and dropped: clients differ in what they put there */
        if (rs->state == NGX_AMS_RTMP_HS_C0C1) {
            ngx_memcpy(rs->hs + rs->hs_len, p, need);

            if (rs->hs_len == 0 && p[0] != NGX_AMS_RTMP_VERSION) {
                ngx_log_error(NGX_LOG_ERR, c->log, 0,
                              "ams rtmp: bad handshake: %s, disconnecting",
                              p[0] == 0x16 ? "TLS on a plain RTMP port"
                                           : "not RTMP (C0 is not 3)");
                return NGX_ERROR;
            }
        }

        rs->hs_len += need;
        p += need;
        n -= need;

        if (rs->state == NGX_AMS_RTMP_HS_C0C1
            && rs->hs_len == 1 + NGX_AMS_RTMP_HANDSHAKE_SIZE)
        {
            out = ngx_ams_rtmp_reserve(rs, 1 + 2 * NGX_AMS_RTMP_HANDSHAKE_SIZE);
            if (out == NULL) {
                return NGX_ERROR;
            }

            if (ngx_ams_rtmp_handshake_respond(rs->hs, out,
                                               (uint32_t) ngx_current_msec,
                                               &digest, &err)
                != 0)
            {
                ngx_log_error(NGX_LOG_ERR, c->log, 0,
                              "ams rtmp: bad handshake: %s, disconnecting",
                              err);
                return NGX_ERROR;
            }

            rs->out_last += 1 + 2 * NGX_AMS_RTMP_HANDSHAKE_SIZE;
            rs->state = NGX_AMS_RTMP_HS_C2;
            rs->hs_len = 0;

            ngx_log_debug1(NGX_LOG_DEBUG_STREAM, c->log, 0,
                           "ams rtmp: %s handshake",
                           digest ? "digest" : "plain");

        } else if (rs->state == NGX_AMS_RTMP_HS_C2
                   && rs->hs_len == NGX_AMS_RTMP_HANDSHAKE_SIZE)
        {
            rs->state = NGX_AMS_RTMP_CHUNKS;
        }
    }

    if (n == 0) {
        return NGX_OK;
    }

    rs->in_bytes += n;

    if (ngx_ams_rtmp_chunk_parse(&rs->parser, p, n) != 0) {
        if (rs->parser.over_limit) {
            ngx_log_error(NGX_LOG_WARN, c->log, 0,
                          "ams rtmp: %s (%s: message %uD, partial messages "
                          "%uz bytes; %V %uz of %uz; worker %uz of %uz), "
                          "disconnecting",
                          rs->parser.error,
                          rs->publishing ? "a publisher's limits"
                                         : "the limits for commands",
                          rs->parser.max_message, rs->parser.max_buffered,
                          ngx_ams_rtmp_peer_text(rs),
                          *ngx_ams_rtmp_peer_counter(rs),
                          rs->parser.max_group,
                          ngx_ams_rtmp_buffered, rs->parser.max_total);
            return NGX_ERROR;
        }

        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "ams rtmp: %s, disconnecting", rs->parser.error);
        return NGX_ERROR;
    }

    if (rs->in_bytes - rs->in_acked >= rs->ack_window) {
        rs->in_acked = rs->in_bytes;
        ngx_ams_rtmp_send_control(rs, NGX_AMS_RTMP_MSG_ACK,
                                  (uint32_t) rs->in_bytes, -1);
    }

    return NGX_OK;
}


/* room for n more bytes at the end of the output; grows as needed */

static u_char *
ngx_ams_rtmp_reserve(ngx_ams_rtmp_session_t *rs, size_t n)
{
    size_t   cap, pending, limit;
    u_char  *p;

    if (rs->out_cap - rs->out_last >= n) {
        return rs->out + rs->out_last;
    }

    pending = rs->out_last - rs->out_pos;

    if (rs->out_pos && rs->out_cap - pending >= n) {
        ngx_memmove(rs->out, rs->out + rs->out_pos, pending);
        rs->out_pos = 0;
        rs->out_last = pending;
        return rs->out + rs->out_last;
    }

    cap = ngx_max(rs->out_cap * 2, 16384);
    while (cap < pending + n) {
        cap *= 2;
    }

    /* a client that neither publishes nor plays gets replies only: one
     * that sends commands and never reads them grows nothing */
    limit = (rs->publishing || rs->playing || rs->waiting)
            ? 2 * rs->conf->max_message + rs->conf->out_queue
            : NGX_AMS_RTMP_COMMAND_BUFFERED;

    if (cap > limit) {
        ngx_log_error(NGX_LOG_ERR, rs->connection->log, 0,
                      "ams rtmp: output backlog over %uz bytes, "
                      "disconnecting", limit);
        rs->closing = 1;
        return NULL;
    }

    p = ngx_alloc(cap, rs->connection->log);
    if (p == NULL) {
        rs->closing = 1;
        return NULL;
    }

    if (pending) {
        ngx_memcpy(p, rs->out + rs->out_pos, pending);
    }

    if (rs->out) {
        ngx_free(rs->out);
    }

    rs->out = p;
    rs->out_cap = cap;
    rs->out_pos = 0;
    rs->out_last = pending;

    return rs->out + rs->out_last;
}


void
ngx_ams_rtmp_queue(ngx_ams_rtmp_session_t *rs, uint32_t csid, uint32_t ts,
    uint8_t type, uint32_t msid, const u_char *head, size_t head_len,
    const u_char *body, size_t body_len)
{
    u_char  *p;

    p = ngx_ams_rtmp_reserve(rs,
                             ngx_ams_rtmp_chunk_bound(head_len + body_len,
                                                      rs->conf->chunk_size));
    if (p == NULL) {
        return;
    }

    rs->out_last += ngx_ams_rtmp_chunk_write2(p, rs->conf->chunk_size, csid,
                                              ts, type, msid, head, head_len,
                                              body, body_len);
}


ngx_int_t
ngx_ams_rtmp_flush(ngx_ams_rtmp_session_t *rs)
{
    ssize_t            n;
    ngx_connection_t  *c;

    c = rs->connection;

    while (rs->out_pos < rs->out_last) {
        n = c->send(c, rs->out + rs->out_pos, rs->out_last - rs->out_pos);

        if (n == NGX_ERROR) {
            c->error = 1;
            return NGX_ERROR;
        }

        if (n == NGX_AGAIN || n == 0) {
            if (!c->write->timer_set) {
                ngx_add_timer(c->write, rs->conf->timeout);
            }

            if (ngx_handle_write_event(c->write, 0) != NGX_OK) {
                return NGX_ERROR;
            }

            return NGX_AGAIN;
        }

        /* every byte of a session goes out here: a player's media, a
         * publisher's replies and acknowledgements */
        ngx_ams_stats_sent(NGX_AMS_SENT_RTMP, n);

        rs->out_pos += n;
    }

    rs->out_pos = 0;
    rs->out_last = 0;

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (rs->closing) {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_ams_rtmp_write_handler(ngx_event_t *wev)
{
    ngx_int_t                rc;
    ngx_connection_t        *c;
    ngx_stream_session_t    *s;
    ngx_ams_rtmp_session_t  *rs;

    c = wev->data;
    s = c->data;
    rs = ngx_stream_get_module_ctx(s, ngx_ams_ingest_module);

    if (wev->timedout) {
        ngx_log_error(NGX_LOG_INFO, c->log, NGX_ETIMEDOUT,
                      "ams rtmp: client stopped reading, disconnecting");
        ngx_ams_rtmp_finalize(rs);
        return;
    }

    rc = ngx_ams_rtmp_flush(rs);

    if (rc == NGX_ERROR) {
        ngx_ams_rtmp_finalize(rs);
        return;
    }

    if (rc == NGX_OK && rs->playing) {
        ngx_ams_rtmp_pump(rs);
    }
}


void
ngx_ams_rtmp_finalize(ngx_ams_rtmp_session_t *rs)
{
    ngx_ams_access_cancel(rs->access);
    rs->access = NULL;

    ngx_ams_rtmp_publish_stop(rs);
    ngx_ams_rtmp_play_stop(rs);

    if (rs->guard.timer_set) {
        ngx_del_timer(&rs->guard);
    }

    ngx_ams_rtmp_chunk_free(&rs->parser);
    ngx_ams_rtmp_peer_detach(rs);

    if (rs->out) {
        ngx_free(rs->out);
        rs->out = NULL;
    }

    ngx_stream_finalize_session(rs->session, NGX_STREAM_OK);
}
