
/*
 * Copyright (C) nginx-ams authors
 *
 * Data channels over usrsctp: two associations in one process wired
 * back to back through in-memory queues (where DTLS would carry the
 * packets), timers driven by the test's own clock.  They connect by
 * simultaneous open (also when one INIT is lost); the client opens a
 * channel by DCEP, the server sees its label and protocol and ACKs;
 * strings, binary, empty messages, 64 KB and 200 KB messages both
 * ways; a server-opened unordered partially reliable channel; closing a
 * channel closes both sides; garbage input leaves the association
 * working; freeing from inside a handler; an ABORT reaches the peer.
 * Then the same over two real DTLS endpoints (ngx_ams_dtls.h), wired
 * as the transport will wire them: every datagram within the DTLS MTU.
 */


#include <string.h>
#include <stdlib.h>

#include "tap.h"
#include "ngx_ams_sctp.h"
#include "ngx_ams_dtls.h"


typedef struct pkt_s  pkt_t;

struct pkt_s {
    pkt_t      *next;
    size_t      len;
    uint8_t     data[];
};


typedef struct {
    const char              *name;
    ngx_ams_sctp_t          *a;
    pkt_t                   *head;
    pkt_t                  **tail;
    size_t                   max_packet;
    unsigned                 drop;            /* lose what it sends */
    int                      connected;
    int                      closed;
    const char              *reason;
    int                      opens;
    ngx_ams_sctp_channel_t  *opened;
    int                      closes;
    int                      closed_sid;
    int                      messages;
    uint32_t                 ppid;
    uint16_t                 sid;
    uint8_t                 *msg;
    size_t                   msg_len;
    int                      free_on_bye;

    ngx_ams_dtls_t          *dtls;            /* over DTLS: */
    unsigned                 dtls_client;
    size_t                   max_datagram;
} peer_t;


static const ngx_ams_sctp_handler_t  handler;


static void
out(void *data, const uint8_t *p, size_t len)
{
    pkt_t   *k;
    peer_t  *me = data;

    if (len > me->max_packet) {
        me->max_packet = len;
    }

    if (me->dtls) {
        /* what the transport does with an SCTP packet */
        (void) ngx_ams_dtls_write(me->dtls, p, len);
        return;
    }

    if (me->drop) {
        return;
    }

    k = malloc(sizeof(pkt_t) + len);
    k->next = NULL;
    k->len = len;
    memcpy(k->data, p, len);
    *me->tail = k;
    me->tail = &k->next;
}


/* DTLS: a datagram out, application data in */

static int
dtls_send(void *data, const uint8_t *p, size_t len)
{
    peer_t  *me = data;
    pkt_t   *k;

    if (len > me->max_datagram) {
        me->max_datagram = len;
    }

    k = malloc(sizeof(pkt_t) + len);
    k->next = NULL;
    k->len = len;
    memcpy(k->data, p, len);
    *me->tail = k;
    me->tail = &k->next;

    return 0;
}


static void
dtls_recv(void *data, const uint8_t *p, size_t len)
{
    peer_t  *me = data;

    if (me->a) {
        ngx_ams_sctp_input(me->a, p, len);
    }
}


static void
parse_fp(const char *s, uint8_t fp[32])
{
    int  i;

    for (i = 0; i < 32; i++) {
        fp[i] = (uint8_t) strtoul(s + i * 3, NULL, 16);
    }
}


static void
on_connected(void *data)
{
    ((peer_t *) data)->connected++;
}


static void
on_open(void *data, ngx_ams_sctp_channel_t *ch)
{
    peer_t  *me = data;

    me->opens++;
    me->opened = ch;
}


static void
on_message(void *data, ngx_ams_sctp_channel_t *ch, uint32_t ppid,
    const uint8_t *p, size_t len)
{
    peer_t  *me = data;

    me->messages++;
    me->ppid = ppid;
    me->sid = ch->sid;
    free(me->msg);
    me->msg = malloc(len + 1);
    memcpy(me->msg, p, len);
    me->msg_len = len;

    if (me->free_on_bye && len == 3 && memcmp(p, "bye", 3) == 0) {
        ngx_ams_sctp_free(me->a);
        me->a = NULL;
    }
}


static void
on_close(void *data, ngx_ams_sctp_channel_t *ch)
{
    peer_t  *me = data;

    me->closes++;
    me->closed_sid = ch->sid;
}


static void
on_closed(void *data, const char *reason)
{
    peer_t  *me = data;

    me->closed++;
    me->reason = reason;
}


static const ngx_ams_sctp_handler_t  handler = {
    out, on_connected, on_open, on_message, on_close, on_closed,
    NULL                        /* dropped: the sender refuses those */
};


static void
peer_init(peer_t *p, const char *name)
{
    memset(p, 0, sizeof(peer_t));
    p->name = name;
    p->tail = &p->head;
}


static int
deliver(peer_t *from, peer_t *to)
{
    int     n;
    pkt_t  *k;

    n = 0;

    while ((k = from->head) != NULL) {
        from->head = k->next;

        if (from->head == NULL) {
            from->tail = &from->head;
        }

        if (to->dtls) {
            /* the association is made once DTLS is connected */
            if (ngx_ams_dtls_input(to->dtls, k->data, k->len)
                == NGX_AMS_DTLS_CONNECTED)
            {
                to->a = ngx_ams_sctp_create(&handler, to, to->dtls_client,
                                            0, 0);
            }

        } else if (to->a) {
            ngx_ams_sctp_input(to->a, k->data, k->len);
        }

        free(k);
        n++;
    }

    return n;
}


static void
drain(peer_t *p)
{
    pkt_t  *k;

    while ((k = p->head) != NULL) {
        p->head = k->next;
        free(k);
    }

    p->tail = &p->head;
}


/* exchange packets; when both sides are quiet, 10 ms pass; until
 * "*flag >= want" or "ms" of simulated time */
static int
pump(peer_t *x, peer_t *y, int *flag, int want, int ms)
{
    int  t;

    t = 0;

    for ( ;; ) {
        if (flag && *flag >= want) {
            return 1;
        }

        if (deliver(x, y) + deliver(y, x)) {
            continue;
        }

        if (t >= ms) {
            return flag == NULL;
        }

        (void) ngx_ams_sctp_timer(NGX_AMS_SCTP_TICK);
        t += NGX_AMS_SCTP_TICK;
    }
}


static uint8_t *
pattern(size_t n, unsigned seed)
{
    size_t    i;
    uint8_t  *b;

    b = malloc(n);

    for (i = 0; i < n; i++) {
        b[i] = (uint8_t) (i * 131 + seed + (i >> 8));
    }

    return b;
}


int
main(void)
{
    int                      sid, rc, i, before;
    size_t                   n, j;
    uint8_t                 *big, junk[1500];
    peer_t                   s, c, e, f;
    ngx_ams_sctp_channel_t  *ch;

    ok(ngx_ams_sctp_init() == 0, "usrsctp initialised without threads");
    ok(ngx_ams_sctp_init() == 0, "a second init is a no-op");
    is_int(ngx_ams_sctp_timer(10), -1, "no association: no timer");

    peer_init(&s, "server");
    peer_init(&c, "client");

    s.a = ngx_ams_sctp_create(&handler, &s, 0, 0, 0);
    c.a = ngx_ams_sctp_create(&handler, &c, 1, 5000, 5000);
    ok(s.a && c.a, "two associations made");
    is_int(ngx_ams_sctp_count(), 2, "two alive");
    is_int(ngx_ams_sctp_timer(0), NGX_AMS_SCTP_TICK,
           "associations alive: the timer ticks every 10 ms");

    ok(pump(&s, &c, &c.connected, 1, 5000) && s.connected == 1,
       "both connect (simultaneous open)");

    /* the client opens a channel, as a browser does */
    sid = ngx_ams_sctp_open_channel(c.a, NGX_AMS_DCEP_RELIABLE, 256, 0,
                                    "chat", 4, "json", 4);
    is_int(sid, 0, "the DTLS client's first channel is stream 0");
    ok(pump(&s, &c, &s.opens, 1, 2000), "the server sees the DCEP OPEN");
    ok(s.opened && s.opened->sid == 0
       && strcmp(s.opened->label, "chat") == 0
       && strcmp(s.opened->protocol, "json") == 0
       && s.opened->type == NGX_AMS_DCEP_RELIABLE
       && s.opened->priority == 256 && !s.opened->local,
       "label, protocol, type and priority as opened");
    pump(&s, &c, NULL, 0, 300);
    ch = ngx_ams_sctp_channel(c.a, 0);
    ok(ch && ch->local && ch->acked, "the client's channel is ACKed");
    is_int(c.opens, 0, "no open handler for our own channel");

    /* messages both ways */
    rc = ngx_ams_sctp_send(s.a, 0, NGX_AMS_SCTP_PPID_STRING,
                           (const uint8_t *) "hello", 5);
    is_int(rc, NGX_AMS_SCTP_OK, "the server sends a string");
    ok(pump(&s, &c, &c.messages, 1, 1000) && c.ppid == 51
       && c.msg_len == 5 && memcmp(c.msg, "hello", 5) == 0 && c.sid == 0,
       "the client gets it, PPID 51");

    rc = ngx_ams_sctp_send(c.a, 0, NGX_AMS_SCTP_PPID_BINARY,
                           (const uint8_t *) "\0\1\2\377", 4);
    ok(rc == NGX_AMS_SCTP_OK && pump(&s, &c, &s.messages, 1, 1000)
       && s.ppid == 53 && s.msg_len == 4
       && memcmp(s.msg, "\0\1\2\377", 4) == 0,
       "binary the other way, PPID 53");

    ngx_ams_sctp_send(c.a, 0, NGX_AMS_SCTP_PPID_STRING, NULL, 0);
    ok(pump(&s, &c, &s.messages, 2, 1000) && s.ppid == 51
       && s.msg_len == 0, "an empty string (PPID 56) arrives empty");
    ngx_ams_sctp_send(s.a, 0, NGX_AMS_SCTP_PPID_BINARY, NULL, 0);
    ok(pump(&s, &c, &c.messages, 2, 1000) && c.ppid == 53
       && c.msg_len == 0, "an empty binary message (PPID 57) too");

    /* big messages: fragmented by SCTP, reassembled */
    big = pattern(65536, 7);
    rc = ngx_ams_sctp_send(c.a, 0, NGX_AMS_SCTP_PPID_BINARY, big, 65536);
    ok(rc == NGX_AMS_SCTP_OK && pump(&s, &c, &s.messages, 3, 10000)
       && s.msg_len == 65536 && memcmp(s.msg, big, 65536) == 0,
       "a 64 KB message client to server");
    free(big);

    big = pattern(200000, 3);
    rc = ngx_ams_sctp_send(s.a, 0, NGX_AMS_SCTP_PPID_BINARY, big, 200000);
    ok(rc == NGX_AMS_SCTP_OK && pump(&s, &c, &c.messages, 3, 20000)
       && c.msg_len == 200000 && memcmp(c.msg, big, 200000) == 0,
       "a 200 KB message server to client (more than a read at once)");
    free(big);

    ok(s.max_packet <= NGX_AMS_SCTP_MTU && c.max_packet <= NGX_AMS_SCTP_MTU
       && s.max_packet > 1000,
       "packets fill but never exceed the SCTP MTU (%zu, %zu)",
       s.max_packet, c.max_packet);

    big = pattern(NGX_AMS_SCTP_MAX_MESSAGE + 1, 1);
    is_int(ngx_ams_sctp_send(s.a, 0, NGX_AMS_SCTP_PPID_BINARY, big,
                             NGX_AMS_SCTP_MAX_MESSAGE + 1),
           NGX_AMS_SCTP_ERROR, "over the largest message: refused");
    free(big);
    is_int(ngx_ams_sctp_send(s.a, 4, NGX_AMS_SCTP_PPID_STRING,
                             (const uint8_t *) "x", 1),
           NGX_AMS_SCTP_ERROR, "no channel on the stream: refused");
    is_int(ngx_ams_sctp_send(s.a, 0, 99, (const uint8_t *) "x", 1),
           NGX_AMS_SCTP_ERROR, "an unknown PPID: refused");

    /* the server opens one: odd stream, unordered, 3 retransmissions */
    sid = ngx_ams_sctp_open_channel(s.a,
                                    NGX_AMS_DCEP_PARTIAL_REXMIT_UNORDERED,
                                    0, 3, "srv", 3, "", 0);
    is_int(sid, 1, "the DTLS server's first channel is stream 1");
    ok(pump(&s, &c, &c.opens, 1, 2000) && c.opened->sid == 1
       && c.opened->type == NGX_AMS_DCEP_PARTIAL_REXMIT_UNORDERED
       && c.opened->reliability == 3 && strcmp(c.opened->label, "srv") == 0
       && c.opened->protocol_len == 0,
       "the client sees the server's channel with its reliability");
    ngx_ams_sctp_send(s.a, 1, NGX_AMS_SCTP_PPID_STRING,
                      (const uint8_t *) "on one", 6);
    ok(pump(&s, &c, &c.messages, 4, 1000) && c.sid == 1 && c.msg_len == 6,
       "a message on it");

    /* a second OPEN, and a junk DCEP message, on a stream in use */
    before = s.opens;
    ngx_ams_sctp_send(c.a, 0, NGX_AMS_SCTP_PPID_DCEP,
                      (const uint8_t *) "\3\0\0\0\0\0\0\0\0\1\0\0x", 13);
    ngx_ams_sctp_send(c.a, 0, NGX_AMS_SCTP_PPID_DCEP,
                      (const uint8_t *) "\7junk", 5);
    pump(&s, &c, NULL, 0, 300);
    ok(s.opens == before && ngx_ams_sctp_channel(s.a, 0) != NULL,
       "a second OPEN and unknown DCEP on an open stream: ignored");

    /* closing a channel closes both sides */
    ngx_ams_sctp_channel_close(c.a, 0);
    ok(pump(&s, &c, &s.closes, 1, 2000) && s.closed_sid == 0,
       "the server sees the channel close");
    ok(pump(&s, &c, &c.closes, 1, 2000) && c.closed_sid == 0,
       "the client's side closes when the server resets its stream");
    ok(ngx_ams_sctp_channel(s.a, 0) == NULL
       && ngx_ams_sctp_channel(c.a, 0) == NULL, "stream 0 free again");
    is_int(ngx_ams_sctp_send(c.a, 0, NGX_AMS_SCTP_PPID_STRING,
                             (const uint8_t *) "x", 1),
           NGX_AMS_SCTP_ERROR, "no sending on a closed channel");

    /* garbage input */
    srand(1);

    for (i = 0; i < 2000; i++) {
        n = (size_t) rand() % sizeof(junk);

        for (j = 0; j < n; j++) {
            junk[j] = (uint8_t) rand();
        }

        if (i & 1 && n >= 12) {
            /* our ports, so it reaches the association's checks */
            junk[0] = 0x13; junk[1] = 0x88; junk[2] = 0x13; junk[3] = 0x88;
        }

        ngx_ams_sctp_input(s.a, junk, (i % 100 == 0) ? 0 : n);
    }

    drain(&s);
    before = c.messages;
    ngx_ams_sctp_send(s.a, 1, NGX_AMS_SCTP_PPID_STRING,
                      (const uint8_t *) "still here", 10);
    ok(pump(&s, &c, &c.messages, before + 1, 2000) && !s.closed
       && c.msg_len == 10, "after 2000 garbage packets the server works");

    /* freeing from inside a handler */
    c.free_on_bye = 1;
    ngx_ams_sctp_send(s.a, 1, NGX_AMS_SCTP_PPID_STRING,
                      (const uint8_t *) "bye", 3);
    pump(&s, &c, NULL, 0, 200);
    ok(c.a == NULL && ngx_ams_sctp_count() == 1,
       "an association freed in its own message handler");
    ngx_ams_sctp_free(s.a);
    drain(&s);
    is_int(ngx_ams_sctp_count(), 0, "none alive");
    is_int(ngx_ams_sctp_timer(10), NGX_AMS_SCTP_TICK,
           "the timer still ticks a moment for usrsctp's clean-up");
    for (i = 0; i < 200 && ngx_ams_sctp_timer(10) != -1; i++) { }
    is_int(ngx_ams_sctp_timer(10), -1, "then stops");

    /* one side's INIT is lost, the other's is not; then an ABORT */
    peer_init(&e, "e");
    peer_init(&f, "f");
    e.drop = 1;
    e.a = ngx_ams_sctp_create(&handler, &e, 0, 0, 0);
    e.drop = 0;
    f.a = ngx_ams_sctp_create(&handler, &f, 1, 0, 0);
    ok(pump(&e, &f, &e.connected, 1, 10000)
       && pump(&e, &f, &f.connected, 1, 1000),
       "our INIT lost: the browser's INIT still makes the association");

    ngx_ams_sctp_free(f.a);
    f.a = NULL;
    pump(&e, &f, &e.closed, 1, 1000);
    ok(e.closed == 1 && e.reason != NULL,
       "freeing one end aborts: the other is told (%s)",
       e.reason ? e.reason : "-");
    ngx_ams_sctp_free(e.a);
    drain(&e);
    drain(&f);

    /* data before DTLS... created after: a channel opened before the
     * association is up goes out on COMM_UP */
    peer_init(&e, "e2");
    peer_init(&f, "f2");
    e.a = ngx_ams_sctp_create(&handler, &e, 0, 0, 0);
    f.a = ngx_ams_sctp_create(&handler, &f, 1, 0, 0);
    sid = ngx_ams_sctp_open_channel(f.a, NGX_AMS_DCEP_RELIABLE, 0, 0,
                                    "early", 5, "", 0);
    ok(sid == 0 && pump(&e, &f, &e.opens, 1, 5000)
       && strcmp(e.opened->label, "early") == 0,
       "a channel opened before the association is up opens on COMM_UP");
    ngx_ams_sctp_free(e.a);
    ngx_ams_sctp_free(f.a);
    drain(&e);
    drain(&f);

    /* over DTLS: browser-like client, our server */
    {
        const char          *err;
        uint8_t              fs[32], fc[32];
        ngx_ams_dtls_ctx_t  *cs, *cc;

        cs = ngx_ams_dtls_ctx_create(&err);
        cc = ngx_ams_dtls_ctx_create(&err);
        parse_fp(ngx_ams_dtls_ctx_fingerprint(cs), fs);
        parse_fp(ngx_ams_dtls_ctx_fingerprint(cc), fc);

        free(s.msg);
        free(c.msg);
        peer_init(&s, "dtls server");
        peer_init(&c, "dtls client");
        c.dtls_client = 1;
        s.dtls = ngx_ams_dtls_create(cs, 0, fc, dtls_send, dtls_recv, &s);
        c.dtls = ngx_ams_dtls_create(cc, 1, fs, dtls_send, dtls_recv, &c);
        ngx_ams_dtls_start(c.dtls);

        ok(pump(&s, &c, &s.connected, 1, 5000)
           && pump(&s, &c, &c.connected, 1, 1000),
           "over DTLS: the association comes up after the handshake");

        sid = ngx_ams_sctp_open_channel(c.a, NGX_AMS_DCEP_RELIABLE, 0, 0,
                                        "dc", 2, "", 0);
        ok(sid == 0 && pump(&s, &c, &s.opens, 1, 2000)
           && strcmp(s.opened->label, "dc") == 0,
           "over DTLS: a channel opens");

        big = pattern(65536, 9);
        ngx_ams_sctp_send(c.a, 0, NGX_AMS_SCTP_PPID_BINARY, big, 65536);
        ok(pump(&s, &c, &s.messages, 1, 10000) && s.msg_len == 65536
           && memcmp(s.msg, big, 65536) == 0,
           "over DTLS: 64 KB client to server");
        ngx_ams_sctp_send(s.a, 0, NGX_AMS_SCTP_PPID_STRING,
                          (const uint8_t *) "pong", 4);
        ok(pump(&s, &c, &c.messages, 1, 1000) && c.msg_len == 4,
           "over DTLS: a string back");
        free(big);

        ok(s.max_datagram <= NGX_AMS_DTLS_MTU
           && c.max_datagram <= NGX_AMS_DTLS_MTU,
           "every DTLS datagram within the DTLS MTU (%zu, %zu)",
           s.max_datagram, c.max_datagram);

        ngx_ams_sctp_free(s.a);
        ngx_ams_sctp_free(c.a);
        ngx_ams_dtls_free(s.dtls);
        ngx_ams_dtls_free(c.dtls);
        drain(&s);
        drain(&c);
        ngx_ams_dtls_ctx_free(cs);
        ngx_ams_dtls_ctx_free(cc);
    }

    for (i = 0; i < 200 && ngx_ams_sctp_timer(10) != -1; i++) { }
    ngx_ams_sctp_done();

    free(s.msg);
    free(c.msg);
    free(e.msg);

    return done_testing();
}
