
/*
 * Copyright (C) nginx-ams authors
 *
 * The sessions of one worker: ICE-lite, DTLS, SRTP, timers, close.
 *
 * Two tables find a session for a datagram.  STUN checks carry our ICE
 * ufrag in their USERNAME ("OURS:THEIRS"): the ufrag tree.  DTLS, SRTP
 * and SRTCP carry nothing but their source address: the address tree,
 * which holds the one address each session has selected.  An address
 * enters it only by an authenticated check (MESSAGE-INTEGRITY with the
 * session's ICE password) with USE-CANDIDATE, and another such check
 * moves it; so a datagram from anywhere else is dropped before any
 * parser sees it, and nothing is ever sent to an address that did not
 * prove it knows the session's password (no reflection, no media to a
 * spoofed address).
 *
 * A session's one timer (its ngx_event_t) serves, in turn: DTLS
 * retransmissions and the handshake deadline (ICE and DTLS within
 * webrtc_handshake_timeout of the answer), then consent freshness
 * (RFC 7675: no authenticated check from the selected address for
 * webrtc_consent_timeout ends it).  The timer is cancelable: a worker
 * that is leaving does not wait for WebRTC sessions.
 *
 * Closing unlinks the session at once (no datagram reaches it after)
 * and frees it from a posted event: whoever called close (the media
 * layer in its reader's handler, a DTLS alert in the middle of input)
 * returns through its own frames before anything is freed.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include <openssl/rand.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_transport.h"
#include "ngx_ams_webrtc_registry.h"


#define NGX_AMS_WEBRTC_ADDR_KEY   19       /* family, port, IPv6 address */


static u_char *ngx_ams_webrtc_session_log(ngx_log_t *log, u_char *buf,
    size_t len);
static void ngx_ams_webrtc_random_chars(u_char *dst, u_char *rnd,
    size_t n);
static void ngx_ams_webrtc_stun(struct sockaddr *sa, socklen_t salen,
    ngx_ams_webrtc_local_t *local, u_char *p, size_t n);
static void ngx_ams_webrtc_stun_error(struct sockaddr *sa, socklen_t salen,
    ngx_ams_webrtc_local_t *local, ngx_ams_stun_msg_t *m, unsigned code,
    const char *reason, ngx_ams_webrtc_session_t *s);
static void ngx_ams_webrtc_select(ngx_ams_webrtc_tsession_t *ts,
    struct sockaddr *sa, socklen_t salen, ngx_ams_webrtc_local_t *local);
static void ngx_ams_webrtc_dtls_result(ngx_ams_webrtc_session_t *s,
    int rc);
static void ngx_ams_webrtc_connected(ngx_ams_webrtc_session_t *s);
static void ngx_ams_webrtc_srtp_in(ngx_ams_webrtc_session_t *s,
    ngx_uint_t rtcp, u_char *p, size_t n);
static int ngx_ams_webrtc_dtls_send(void *data, const uint8_t *p,
    size_t len);
static void ngx_ams_webrtc_dtls_recv(void *data, const uint8_t *p,
    size_t len);
static void ngx_ams_webrtc_schedule(ngx_ams_webrtc_session_t *s);
static void ngx_ams_webrtc_timer(ngx_event_t *ev);
static void ngx_ams_webrtc_finish(ngx_event_t *ev);
static size_t ngx_ams_webrtc_addr_key(struct sockaddr *sa, u_char *key);
static ngx_ams_webrtc_tsession_t *ngx_ams_webrtc_by_ufrag(
    const u_char *ufrag, size_t len);
static ngx_ams_webrtc_tsession_t *ngx_ams_webrtc_by_addr(
    struct sockaddr *sa);
static void ngx_ams_webrtc_ufrag_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static void ngx_ams_webrtc_addr_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);


/* this worker's sessions */
static ngx_rbtree_t       ngx_ams_webrtc_ufrags;
static ngx_rbtree_node_t  ngx_ams_webrtc_ufrag_sentinel;
static ngx_rbtree_t       ngx_ams_webrtc_addrs;
static ngx_rbtree_node_t  ngx_ams_webrtc_addr_sentinel;
static ngx_queue_t        ngx_ams_webrtc_all;
static ngx_uint_t         ngx_ams_webrtc_count;
static ngx_uint_t         ngx_ams_webrtc_ready;
/* started or not, until freed: the worker's exit frees them all */
static ngx_queue_t        ngx_ams_webrtc_made;


static u_char  ngx_ams_webrtc_ice_chars[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";


ngx_int_t
ngx_ams_webrtc_sessions_init(ngx_cycle_t *cycle)
{
    ngx_rbtree_init(&ngx_ams_webrtc_ufrags, &ngx_ams_webrtc_ufrag_sentinel,
                    ngx_ams_webrtc_ufrag_insert);
    ngx_rbtree_init(&ngx_ams_webrtc_addrs, &ngx_ams_webrtc_addr_sentinel,
                    ngx_ams_webrtc_addr_insert);
    ngx_queue_init(&ngx_ams_webrtc_all);
    ngx_queue_init(&ngx_ams_webrtc_made);
    ngx_ams_webrtc_count = 0;
    ngx_ams_webrtc_ready = 1;

    return NGX_OK;
}


/* the worker exits: posted events will not run again */
void
ngx_ams_webrtc_sessions_exit(void)
{
    ngx_queue_t                *q;
    ngx_ams_webrtc_tsession_t  *ts;

    if (!ngx_ams_webrtc_ready) {
        return;
    }

    while (!ngx_queue_empty(&ngx_ams_webrtc_made)) {
        q = ngx_queue_head(&ngx_ams_webrtc_made);
        ts = ngx_queue_data(q, ngx_ams_webrtc_tsession_t, made);

        ngx_ams_webrtc_session_close(&ts->s, "the worker exits");

        if (ts->s.timer.posted) {
            ngx_delete_posted_event(&ts->s.timer);
        }

        ngx_ams_webrtc_finish(&ts->s.timer);
    }

    ngx_ams_webrtc_registry_exit();
    ngx_ams_webrtc_ready = 0;
}


ngx_ams_webrtc_session_t *
ngx_ams_webrtc_session_create(ngx_ams_app_conf_t *app, ngx_str_t *stream_id,
    ngx_uint_t direction, struct sockaddr *client, socklen_t client_len,
    ngx_log_t *log)
{
    u_char                     *p;
    u_char                      rnd[16 + NGX_AMS_WEBRTC_UFRAG_LEN
                                    + NGX_AMS_WEBRTC_PWD_LEN];
    ngx_pool_t                 *pool;
    ngx_ams_webrtc_session_t   *s;
    ngx_ams_webrtc_tsession_t  *ts;

    if (!ngx_ams_webrtc_ready) {
        return NULL;
    }

    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ams webrtc: RAND_bytes() failed");
        return NULL;
    }

    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == NULL) {
        return NULL;
    }

    ts = ngx_pcalloc(pool, sizeof(ngx_ams_webrtc_tsession_t));
    if (ts == NULL) {
        goto failed;
    }

    s = &ts->s;
    s->pool = pool;
    s->direction = direction;
    s->app = app;
    s->sel.audio = -1;
    s->sel.video = -1;
    s->sel.application = -1;

    /* the id in its URL: 128 bits from the CSPRNG, never guessable
     * from another session's */
    ngx_hex_dump(s->id, rnd, 16);
    s->id[NGX_AMS_WEBRTC_ID_LEN] = '\0';
    ngx_ams_webrtc_random_chars(s->local_ufrag, rnd + 16,
                                NGX_AMS_WEBRTC_UFRAG_LEN);
    ngx_ams_webrtc_random_chars(s->local_pwd,
                                rnd + 16 + NGX_AMS_WEBRTC_UFRAG_LEN,
                                NGX_AMS_WEBRTC_PWD_LEN);

    /* the signalling's log may be a connection's, gone before the
     * session: its file and level, our own context */
    s->log = *log;
    s->log.connection = 0;
    s->log.handler = ngx_ams_webrtc_session_log;
    s->log.data = s;
    s->log.action = NULL;
    pool->log = &s->log;

    p = ngx_pnalloc(pool, app->name.len + 1 + stream_id->len + 1);
    if (p == NULL) {
        goto failed;
    }

    s->app_name.data = p;
    s->app_name.len = app->name.len;
    p = ngx_cpymem(p, app->name.data, app->name.len);
    *p++ = '\0';

    s->stream_id.data = p;
    s->stream_id.len = stream_id->len;
    p = ngx_cpymem(p, stream_id->data, stream_id->len);
    *p = '\0';

    if (client) {
        s->client.sockaddr = ngx_pnalloc(pool, client_len);
        s->client.name.data = ngx_pnalloc(pool, NGX_SOCKADDR_STRLEN);
        if (s->client.sockaddr == NULL || s->client.name.data == NULL) {
            goto failed;
        }

        ngx_memcpy(s->client.sockaddr, client, client_len);
        s->client.socklen = client_len;
        s->client.name.len = ngx_sock_ntop(client, client_len,
                                           s->client.name.data,
                                           NGX_SOCKADDR_STRLEN, 0);
    }

    s->timer.handler = ngx_ams_webrtc_timer;
    s->timer.data = s;
    s->timer.log = &s->log;
    s->timer.cancelable = 1;

    s->created = ngx_current_msec;
    ngx_queue_init(&s->queue);
    ngx_queue_insert_tail(&ngx_ams_webrtc_made, &ts->made);

    return s;

failed:

    ngx_destroy_pool(pool);
    return NULL;
}


void
ngx_ams_webrtc_session_on_event(ngx_ams_webrtc_session_t *s,
    ngx_ams_webrtc_event_pt handler, void *data)
{
    ngx_ams_webrtc_ts(s)->on_event = handler;
    ngx_ams_webrtc_ts(s)->on_event_data = data;
}


/* ice-chars (RFC 8839): letters and digits are enough, and every one of
 * them is safe in SDP, STUN and logs */
static void
ngx_ams_webrtc_random_chars(u_char *dst, u_char *rnd, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        dst[i] = ngx_ams_webrtc_ice_chars[rnd[i] % 62];
    }

    dst[n] = '\0';
}


static u_char *
ngx_ams_webrtc_session_log(ngx_log_t *log, u_char *buf, size_t len)
{
    ngx_ams_webrtc_session_t  *s = log->data;

    return ngx_snprintf(buf, len, ", webrtc %s session %s of \"%V/%V\"",
                        s->direction == NGX_AMS_WEBRTC_PUBLISH
                        ? "publish" : "play",
                        s->id, &s->app_name, &s->stream_id);
}


ngx_int_t
ngx_ams_webrtc_session_start(ngx_ams_webrtc_session_t *s, ngx_uint_t client,
    const uint8_t *peer_fp)
{
    ngx_ams_webrtc_main_conf_t  *wcf;
    ngx_ams_webrtc_tsession_t   *ts = ngx_ams_webrtc_ts(s);

    wcf = ngx_ams_webrtc_main_conf();

    s->dtls = ngx_ams_dtls_create(wcf->dtls, client, peer_fp,
                                  ngx_ams_webrtc_dtls_send,
                                  ngx_ams_webrtc_dtls_recv, s);
    if (s->dtls == NULL) {
        ngx_log_error(NGX_LOG_ERR, &s->log, 0,
                      "ams webrtc: no DTLS endpoint");
        return NGX_ERROR;
    }

    ts->client = client;

    s->ufrag_node.key = ngx_crc32_short(s->local_ufrag,
                                        NGX_AMS_WEBRTC_UFRAG_LEN);
    ngx_rbtree_insert(&ngx_ams_webrtc_ufrags, &s->ufrag_node);
    ngx_queue_insert_tail(&ngx_ams_webrtc_all, &s->queue);
    ngx_ams_webrtc_count++;
    ts->started = 1;

    /* its URL now works from any worker */
    ngx_ams_webrtc_registry_insert(s);

    ngx_ams_webrtc_schedule(s);

    ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                  "ams webrtc: session from %V waits for ICE on port %d, "
                  "DTLS %s", &s->client.name,
                  (int) ngx_ams_webrtc_udp_port(),
                  client ? "client" : "server");

    return NGX_OK;
}


void
ngx_ams_webrtc_session_close(ngx_ams_webrtc_session_t *s,
    const char *reason)
{
    ngx_ams_webrtc_tsession_t  *ts = ngx_ams_webrtc_ts(s);

    if (s->closing) {
        return;
    }

    s->closing = 1;

    ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                  "ams webrtc: session closed: %s (%M ms)", reason,
                  (ngx_msec_t) (ngx_current_msec - s->created));

    if (ts->started) {
        ngx_rbtree_delete(&ngx_ams_webrtc_ufrags, &s->ufrag_node);

        if (ts->in_addr_tree) {
            ngx_rbtree_delete(&ngx_ams_webrtc_addrs, &s->addr_node);
            ts->in_addr_tree = 0;
        }

        ngx_queue_remove(&s->queue);
        ngx_ams_webrtc_count--;
        ts->started = 0;

        ngx_ams_webrtc_registry_remove(s);
    }

    if (s->timer.timer_set) {
        ngx_del_timer(&s->timer);
    }

    s->timer.handler = ngx_ams_webrtc_finish;
    ngx_post_event(&s->timer, &ngx_posted_events);
}


/* from a posted event: whoever closed it has returned */
static void
ngx_ams_webrtc_finish(ngx_event_t *ev)
{
    ngx_ams_webrtc_session_t   *s = ev->data;
    ngx_ams_webrtc_tsession_t  *ts = ngx_ams_webrtc_ts(s);

    if (ts->on_event) {
        ts->on_event(s, NGX_AMS_WEBRTC_EVENT_CLOSED, ts->on_event_data);
        ts->on_event = NULL;
    }

    if (ts->prepared) {
        ts->prepared = 0;
        ngx_ams_webrtc_media_close(s);
    }

    if (s->timer.timer_set) {
        ngx_del_timer(&s->timer);
    }

    if (s->dtls) {
        /* close_notify to the peer, if it has an address */
        ngx_ams_dtls_free(s->dtls);
        s->dtls = NULL;
    }

    if (s->srtp) {
        ngx_ams_srtp_free(s->srtp);
        s->srtp = NULL;
    }

    ngx_queue_remove(&ts->made);
    ngx_destroy_pool(s->pool);
}


ngx_ams_webrtc_session_t *
ngx_ams_webrtc_session_find(u_char *id, size_t len)
{
    ngx_queue_t               *q;
    ngx_ams_webrtc_session_t  *s;

    if (!ngx_ams_webrtc_ready || len != NGX_AMS_WEBRTC_ID_LEN) {
        return NULL;
    }

    /* DELETE and PATCH are rare: a walk is cheaper than a third tree */
    for (q = ngx_queue_head(&ngx_ams_webrtc_all);
         q != ngx_queue_sentinel(&ngx_ams_webrtc_all);
         q = ngx_queue_next(q))
    {
        s = ngx_queue_data(q, ngx_ams_webrtc_session_t, queue);

        if (ngx_memcmp(s->id, id, NGX_AMS_WEBRTC_ID_LEN) == 0) {
            return s;
        }
    }

    return NULL;
}


ngx_uint_t
ngx_ams_webrtc_sessions(void)
{
    return ngx_ams_webrtc_count;
}


ngx_uint_t
ngx_ams_webrtc_sessions_from(ngx_addr_t *client)
{
    ngx_uint_t                 n;
    ngx_queue_t               *q;
    ngx_ams_webrtc_session_t  *s;

    n = 0;

    if (!ngx_ams_webrtc_ready) {
        return 0;
    }

    for (q = ngx_queue_head(&ngx_ams_webrtc_all);
         q != ngx_queue_sentinel(&ngx_ams_webrtc_all);
         q = ngx_queue_next(q))
    {
        s = ngx_queue_data(q, ngx_ams_webrtc_session_t, queue);

        if (s->client.sockaddr
            && ngx_cmp_sockaddr(s->client.sockaddr, s->client.socklen,
                                client->sockaddr, client->socklen, 0)
               == NGX_OK)
        {
            n++;
        }
    }

    return n;
}


/* --- datagrams in --- */


void
ngx_ams_webrtc_session_input(struct sockaddr *sa, socklen_t salen,
    ngx_ams_webrtc_local_t *local, u_char *p, size_t n)
{
    ngx_ams_webrtc_tsession_t  *ts;

    if (!ngx_ams_webrtc_ready) {
        return;
    }

    switch (ngx_ams_rtc_classify(p, n)) {

    case NGX_AMS_RTC_STUN:
        ngx_ams_webrtc_stun(sa, salen, local, p, n);
        return;

    case NGX_AMS_RTC_DTLS:
        /* only from the address an authenticated check selected */
        ts = ngx_ams_webrtc_by_addr(sa);
        if (ts == NULL) {
            return;
        }

        ngx_ams_webrtc_dtls_result(&ts->s,
                                   ngx_ams_dtls_input(ts->s.dtls, p, n));
        return;

    case NGX_AMS_RTC_RTP:
    case NGX_AMS_RTC_RTCP:
        ts = ngx_ams_webrtc_by_addr(sa);
        if (ts == NULL || !ts->s.connected) {
            return;
        }

        ngx_ams_webrtc_srtp_in(&ts->s,
                               ngx_ams_rtc_classify(p, n)
                               == NGX_AMS_RTC_RTCP, p, n);
        return;

    default:
        /* RFC 7983: drop what is none of them */
        return;
    }
}


/*
 * A STUN Binding request: RFC 8489 and ICE's additions (RFC 8445 7.3).
 * Answered to its source address whatever it is (a check's answer is
 * what finds the path), never larger than the request by much: no
 * amplification.  Indications and responses need no answer: ICE-lite
 * sends no checks, and consent is refreshed by requests only.
 */
static void
ngx_ams_webrtc_stun(struct sockaddr *sa, socklen_t salen,
    ngx_ams_webrtc_local_t *local, u_char *p, size_t n)
{
    int                         rc;
    size_t                      len, local_len, remote_len;
    u_char                      out[256];
    ngx_uint_t                  authenticated;
    const uint8_t              *ours, *theirs;
    ngx_ams_stun_msg_t          m;
    ngx_ams_webrtc_session_t   *s;
    ngx_ams_webrtc_tsession_t  *ts;

    rc = ngx_ams_stun_parse(p, n, &m);

    if (rc != NGX_AMS_STUN_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, ngx_cycle->log, 0,
                       "ams webrtc: STUN message dropped (%d)", rc);
        return;
    }

    if (m.type != NGX_AMS_STUN_BINDING_REQUEST) {
        return;
    }

    ts = NULL;
    authenticated = 0;

    if (m.username
        && ngx_ams_stun_split_username(m.username, m.username_len,
                                       &ours, &local_len,
                                       &theirs, &remote_len))
    {
        ts = ngx_ams_webrtc_by_ufrag(ours, local_len);
    }

    if (ts && m.has_integrity
        && ngx_ams_stun_check_integrity(p, n, &m, ts->s.local_pwd,
                                        NGX_AMS_WEBRTC_PWD_LEN))
    {
        authenticated = 1;
    }

    s = authenticated ? &ts->s : NULL;

    if (m.nunknown) {
        ngx_ams_webrtc_stun_error(sa, salen, local, &m, 420,
                                  "Unknown Attribute", s);
        return;
    }

    /* ICE (RFC 8445 7.3) needs them all; integrity in the answer only
     * where the request proved it knows the key */
    if (m.username == NULL || !m.has_integrity || !m.has_fingerprint
        || !m.has_priority)
    {
        ngx_ams_webrtc_stun_error(sa, salen, local, &m, 400, "Bad Request",
                                  s);
        return;
    }

    if (!authenticated) {
        ngx_ams_webrtc_stun_error(sa, salen, local, &m, 401, "Unauthorized",
                                  NULL);
        return;
    }

    len = ngx_ams_stun_binding_success(out, sizeof(out), m.txid, sa,
                                       s->local_pwd, NGX_AMS_WEBRTC_PWD_LEN);
    if (len) {
        (void) ngx_ams_webrtc_udp_send(sa, salen, local, out, len);
    }

    if (m.use_candidate) {
        ngx_ams_webrtc_select(ts, sa, salen, local);
        return;
    }

    /* consent (RFC 7675) is the selected path's */
    if (s->selected
        && ngx_cmp_sockaddr((struct sockaddr *) &s->peer, s->peer_len,
                            sa, salen, 1) == NGX_OK)
    {
        s->last_check = ngx_current_msec;
    }
}


static void
ngx_ams_webrtc_stun_error(struct sockaddr *sa, socklen_t salen,
    ngx_ams_webrtc_local_t *local, ngx_ams_stun_msg_t *m, unsigned code,
    const char *reason, ngx_ams_webrtc_session_t *s)
{
    size_t  len;
    u_char  out[256];

    len = ngx_ams_stun_binding_error(out, sizeof(out), m->txid, code, reason,
                                     m->unknown, m->nunknown,
                                     s ? s->local_pwd : NULL,
                                     s ? NGX_AMS_WEBRTC_PWD_LEN : 0);

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, ngx_cycle->log, 0,
                   "ams webrtc: STUN error %ud", code);

    if (len) {
        (void) ngx_ams_webrtc_udp_send(sa, salen, local, out, len);
    }
}


/* an authenticated check with USE-CANDIDATE: this is the path */
static void
ngx_ams_webrtc_select(ngx_ams_webrtc_tsession_t *ts, struct sockaddr *sa,
    socklen_t salen, ngx_ams_webrtc_local_t *local)
{
    u_char                      text[NGX_SOCKADDR_STRLEN];
    size_t                      tlen;
    ngx_uint_t                  first;
    ngx_ams_webrtc_session_t   *s = &ts->s;
    ngx_ams_webrtc_tsession_t  *other;

    s->last_check = ngx_current_msec;
    ts->local = *local;

    if (s->selected
        && ngx_cmp_sockaddr((struct sockaddr *) &s->peer, s->peer_len,
                            sa, salen, 1) == NGX_OK)
    {
        return;
    }

    if (salen > sizeof(struct sockaddr_storage)) {
        return;
    }

    first = !s->selected;

    if (ts->in_addr_tree) {
        ngx_rbtree_delete(&ngx_ams_webrtc_addrs, &s->addr_node);
        ts->in_addr_tree = 0;
    }

    /* one address, one session: another that held it (the same client's
     * earlier session) loses it, and its consent runs out */
    other = ngx_ams_webrtc_by_addr(sa);
    if (other) {
        ngx_rbtree_delete(&ngx_ams_webrtc_addrs, &other->s.addr_node);
        other->in_addr_tree = 0;
        other->s.selected = 0;

        ngx_log_error(NGX_LOG_INFO, &other->s.log, 0,
                      "ams webrtc: peer address taken by session %s",
                      s->id);
    }

    ngx_memcpy(&s->peer, sa, salen);
    s->peer_len = salen;
    s->selected = 1;

    ts->addr_key_len = ngx_ams_webrtc_addr_key(sa, ts->addr_key);
    s->addr_node.key = ngx_crc32_short(ts->addr_key, ts->addr_key_len);
    ngx_rbtree_insert(&ngx_ams_webrtc_addrs, &s->addr_node);
    ts->in_addr_tree = 1;

    tlen = ngx_sock_ntop(sa, salen, text, NGX_SOCKADDR_STRLEN, 1);

    ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                  "ams webrtc: ICE %s %*s (%M ms)",
                  first ? "selected" : "moved to", tlen, text,
                  (ngx_msec_t) (ngx_current_msec - s->created));

    if (first && ts->client && !ts->dtls_started) {
        /* our answer said setup:active: the first flight is ours, now
         * that there is somewhere to send it */
        ts->dtls_started = 1;
        ngx_ams_webrtc_dtls_result(s, ngx_ams_dtls_start(s->dtls));
    }
}


static void
ngx_ams_webrtc_dtls_result(ngx_ams_webrtc_session_t *s, int rc)
{
    switch (rc) {

    case NGX_AMS_DTLS_AGAIN:
        if (!s->connected) {
            if (s->timer.timer_set) {
                ngx_del_timer(&s->timer);
            }

            ngx_ams_webrtc_schedule(s);
        }

        return;

    case NGX_AMS_DTLS_CONNECTED:
        ngx_ams_webrtc_connected(s);
        return;

    case NGX_AMS_DTLS_OK:
        return;

    case NGX_AMS_DTLS_CLOSED:
        ngx_ams_webrtc_session_close(s, "the peer closed DTLS");
        return;

    default:
        ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                      "ams webrtc: DTLS failed: %s",
                      ngx_ams_dtls_error(s->dtls));
        ngx_ams_webrtc_session_close(s, "DTLS failed");
        return;
    }
}


static void
ngx_ams_webrtc_connected(ngx_ams_webrtc_session_t *s)
{
    size_t    key_salt_len;
    uint8_t   local[NGX_AMS_SRTP_MAX_KEY_SALT];
    uint8_t   remote[NGX_AMS_SRTP_MAX_KEY_SALT];
    unsigned  profile;

    if (ngx_ams_dtls_srtp_keys(s->dtls, &profile, local, remote,
                               &key_salt_len)
        != 0)
    {
        ngx_ams_webrtc_session_close(s, "no SRTP profile negotiated");
        return;
    }

    s->srtp = ngx_ams_srtp_create(profile, local, remote, key_salt_len);

    ngx_explicit_memzero(local, sizeof(local));
    ngx_explicit_memzero(remote, sizeof(remote));

    if (s->srtp == NULL) {
        ngx_ams_webrtc_session_close(s, "SRTP keys refused by libsrtp2");
        return;
    }

    s->connected = 1;

    ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                  "ams webrtc: DTLS connected, SRTP %s (%M ms)",
                  profile == NGX_AMS_SRTP_AEAD_AES_128_GCM
                  ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80",
                  (ngx_msec_t) (ngx_current_msec - s->created));

    if (s->timer.timer_set) {
        ngx_del_timer(&s->timer);
    }

    ngx_ams_webrtc_schedule(s);

    ngx_ams_webrtc_media_connected(s);

    if (!s->closing && ngx_ams_webrtc_ts(s)->on_event) {
        ngx_ams_webrtc_ts(s)->on_event(s, NGX_AMS_WEBRTC_EVENT_CONNECTED,
                                       ngx_ams_webrtc_ts(s)->on_event_data);
    }
}


static void
ngx_ams_webrtc_srtp_in(ngx_ams_webrtc_session_t *s, ngx_uint_t rtcp,
    u_char *p, size_t n)
{
    int                    rc;
    ngx_ams_rtp_header_t   h;

    if (rtcp) {
        rc = ngx_ams_srtp_unprotect_rtcp(s->srtp, p, &n);
        if (rc != NGX_AMS_SRTP_OK) {
            ngx_log_debug1(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                           "ams webrtc: SRTCP dropped (%d)", rc);
            return;
        }

        ngx_ams_webrtc_media_rtcp(s, p, n);
        return;
    }

    rc = ngx_ams_srtp_unprotect(s->srtp, p, &n);
    if (rc != NGX_AMS_SRTP_OK) {
        ngx_log_debug1(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                       "ams webrtc: SRTP dropped (%d)", rc);
        return;
    }

    if (ngx_ams_rtp_parse(p, n, &h) != 0) {
        return;
    }

    ngx_ams_webrtc_media_rtp(s, &h, p, n);
}


static int
ngx_ams_webrtc_dtls_send(void *data, const uint8_t *p, size_t len)
{
    ngx_ams_webrtc_session_t  *s = data;

    if (!s->selected) {
        return -1;
    }

    return ngx_ams_webrtc_udp_send((struct sockaddr *) &s->peer, s->peer_len,
                                   &ngx_ams_webrtc_ts(s)->local,
                                   (u_char *) p, len)
           == NGX_OK ? 0 : -1;
}


/* application data over DTLS: SCTP of data channels, not yet */
static void
ngx_ams_webrtc_dtls_recv(void *data, const uint8_t *p, size_t len)
{
    ngx_ams_webrtc_session_t  *s = data;

    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, &s->log, 0,
                   "ams webrtc: %uz bytes of DTLS data ignored", len);
}


/* --- for the media layer --- */


ngx_int_t
ngx_ams_webrtc_protect_rtp(ngx_ams_webrtc_session_t *s, u_char *p,
    size_t *len)
{
    if (s->srtp == NULL || s->closing) {
        return NGX_ERROR;
    }

    return ngx_ams_srtp_protect(s->srtp, p, len) == NGX_AMS_SRTP_OK
           ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_ams_webrtc_send(ngx_ams_webrtc_session_t *s, u_char *p, size_t len)
{
    if (!s->selected || !s->connected || s->closing) {
        return NGX_ERROR;
    }

    return ngx_ams_webrtc_udp_send((struct sockaddr *) &s->peer, s->peer_len,
                                   &ngx_ams_webrtc_ts(s)->local, p, len);
}


ngx_int_t
ngx_ams_webrtc_send_rtcp(ngx_ams_webrtc_session_t *s, u_char *p,
    size_t len)
{
    if (s->srtp == NULL || s->closing) {
        return NGX_ERROR;
    }

    if (ngx_ams_srtp_protect_rtcp(s->srtp, p, &len) != NGX_AMS_SRTP_OK) {
        return NGX_ERROR;
    }

    return ngx_ams_webrtc_send(s, p, len);
}


/* --- the timer --- */


static void
ngx_ams_webrtc_schedule(ngx_ams_webrtc_session_t *s)
{
    int64_t                      dtls;
    ngx_msec_int_t               left;
    ngx_ams_webrtc_main_conf_t  *wcf;

    if (s->closing) {
        return;
    }

    wcf = ngx_ams_webrtc_main_conf();

    if (!s->connected) {
        left = (ngx_msec_int_t) (s->created + wcf->handshake_timeout
                                 - ngx_current_msec);

        if (s->dtls && s->selected) {
            dtls = ngx_ams_dtls_timeout(s->dtls);

            if (dtls >= 0 && dtls < left) {
                left = (ngx_msec_int_t) dtls;
            }
        }

    } else {
        left = (ngx_msec_int_t) (s->last_check + wcf->consent_timeout
                                 - ngx_current_msec);
    }

    ngx_add_timer(&s->timer, left > 0 ? (ngx_msec_t) left : 0);
}


static void
ngx_ams_webrtc_timer(ngx_event_t *ev)
{
    ngx_ams_webrtc_session_t  *s = ev->data;

    ngx_msec_int_t               gone;
    ngx_ams_webrtc_main_conf_t  *wcf;

    wcf = ngx_ams_webrtc_main_conf();

    /* a cancelable timer's handler runs when the worker starts leaving */
    if (ngx_exiting) {
        ngx_ams_webrtc_session_close(s, "the worker is shutting down");
        return;
    }

    if (!s->connected) {
        gone = (ngx_msec_int_t) (ngx_current_msec - s->created);

        if (gone >= (ngx_msec_int_t) wcf->handshake_timeout) {
            ngx_ams_webrtc_session_close(s, s->selected
                                         ? "DTLS handshake timed out"
                                         : "ICE timed out: no "
                                           "authenticated check with "
                                           "USE-CANDIDATE");
            return;
        }

        if (s->selected && ngx_ams_dtls_timeout(s->dtls) == 0) {
            ngx_ams_webrtc_dtls_result(s,
                                       ngx_ams_dtls_handle_timeout(s->dtls));
            if (s->closing || s->timer.timer_set) {
                return;
            }
        }

        ngx_ams_webrtc_schedule(s);
        return;
    }

    gone = (ngx_msec_int_t) (ngx_current_msec - s->last_check);

    if (gone >= (ngx_msec_int_t) wcf->consent_timeout) {
        ngx_ams_webrtc_session_close(s, "consent expired: no authenticated "
                                        "check from the peer");
        return;
    }

    ngx_ams_webrtc_schedule(s);
}


/* --- the tables --- */


static size_t
ngx_ams_webrtc_addr_key(struct sockaddr *sa, u_char *key)
{
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6  *sin6;
#endif

    switch (sa->sa_family) {

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;
        key[0] = 6;
        ngx_memcpy(key + 1, &sin6->sin6_port, 2);
        ngx_memcpy(key + 3, &sin6->sin6_addr, 16);
        return 19;
#endif

    default: /* AF_INET */
        sin = (struct sockaddr_in *) sa;
        key[0] = 4;
        ngx_memcpy(key + 1, &sin->sin_port, 2);
        ngx_memcpy(key + 3, &sin->sin_addr, 4);
        return 7;
    }
}


static ngx_ams_webrtc_tsession_t *
ngx_ams_webrtc_by_ufrag(const u_char *ufrag, size_t len)
{
    ngx_int_t                   rc;
    ngx_uint_t                  key;
    ngx_rbtree_node_t          *node, *sentinel;
    ngx_ams_webrtc_session_t   *s;

    if (len != NGX_AMS_WEBRTC_UFRAG_LEN) {
        return NULL;
    }

    key = ngx_crc32_short((u_char *) ufrag, len);

    node = ngx_ams_webrtc_ufrags.root;
    sentinel = ngx_ams_webrtc_ufrags.sentinel;

    while (node != sentinel) {
        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        s = (ngx_ams_webrtc_session_t *)
                ((u_char *) node
                 - offsetof(ngx_ams_webrtc_session_t, ufrag_node));

        rc = ngx_memcmp(ufrag, s->local_ufrag, len);

        if (rc == 0) {
            return ngx_ams_webrtc_ts(s);
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_ams_webrtc_ufrag_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t         **p;
    ngx_ams_webrtc_session_t   *a, *b;

    for ( ;; ) {
        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            a = (ngx_ams_webrtc_session_t *)
                    ((u_char *) node
                     - offsetof(ngx_ams_webrtc_session_t, ufrag_node));
            b = (ngx_ams_webrtc_session_t *)
                    ((u_char *) temp
                     - offsetof(ngx_ams_webrtc_session_t, ufrag_node));

            p = (ngx_memcmp(a->local_ufrag, b->local_ufrag,
                            NGX_AMS_WEBRTC_UFRAG_LEN) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_ams_webrtc_tsession_t *
ngx_ams_webrtc_by_addr(struct sockaddr *sa)
{
    u_char                      k[NGX_AMS_WEBRTC_ADDR_KEY];
    size_t                      len;
    ngx_int_t                   rc;
    ngx_uint_t                  key;
    ngx_rbtree_node_t          *node, *sentinel;
    ngx_ams_webrtc_tsession_t  *ts;

    if (sa->sa_family != AF_INET
#if (NGX_HAVE_INET6)
        && sa->sa_family != AF_INET6
#endif
        )
    {
        return NULL;
    }

    len = ngx_ams_webrtc_addr_key(sa, k);
    key = ngx_crc32_short(k, len);

    node = ngx_ams_webrtc_addrs.root;
    sentinel = ngx_ams_webrtc_addrs.sentinel;

    while (node != sentinel) {
        if (key != node->key) {
            node = (key < node->key) ? node->left : node->right;
            continue;
        }

        ts = (ngx_ams_webrtc_tsession_t *)
                 ((u_char *) node
                  - offsetof(ngx_ams_webrtc_session_t, addr_node));

        rc = (len != ts->addr_key_len)
             ? (ngx_int_t) len - (ngx_int_t) ts->addr_key_len
             : ngx_memcmp(k, ts->addr_key, len);

        if (rc == 0) {
            return ts;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_ams_webrtc_addr_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_int_t                   rc;
    ngx_rbtree_node_t         **p;
    ngx_ams_webrtc_tsession_t  *a, *b;

    for ( ;; ) {
        if (node->key != temp->key) {
            p = (node->key < temp->key) ? &temp->left : &temp->right;

        } else {
            a = (ngx_ams_webrtc_tsession_t *)
                    ((u_char *) node
                     - offsetof(ngx_ams_webrtc_session_t, addr_node));
            b = (ngx_ams_webrtc_tsession_t *)
                    ((u_char *) temp
                     - offsetof(ngx_ams_webrtc_session_t, addr_node));

            rc = (a->addr_key_len != b->addr_key_len)
                 ? (ngx_int_t) a->addr_key_len - (ngx_int_t) b->addr_key_len
                 : ngx_memcmp(a->addr_key, b->addr_key, a->addr_key_len);

            p = (rc < 0) ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}
