
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: SCTP packets to a server association, as a hostile peer
 * would send them inside DTLS.  usrsctp runs in-process without threads
 * (usrsctp_init_nothreads), so the run is driven entirely from here:
 * for each input a server and a client association are made, wired
 * back to back through in-memory queues, connected, and a channel is
 * opened by DCEP; then the input is read as a list of operations:
 *
 *   0: a raw packet to the server, with our ports, the server's
 *      verification tag, the client's next TSN in a first DATA chunk
 *      and a correct CRC32c, so that it passes usrsctp's packet checks
 *      and reaches the chunk parsers and the association's state;
 *   1: the same bytes unpatched (out of the blue, bad checksum);
 *   2: a message from the client on a channel (any PPID we send,
 *      including DCEP), which the server echoes from its handler;
 *   3: time passes (timers: retransmissions, SACKs, heartbeats).
 *
 * What is not deterministic: usrsctp draws verification tags and
 * initial TSNs at random and reads the real clock (RTT, cookie life);
 * the patching above makes the random values irrelevant to the path an
 * input takes, so coverage is stable enough to guide libFuzzer.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <usrsctp.h>

#include "ngx_ams_sctp.h"


#define MAX_OPS  64


typedef struct pkt_s  pkt_t;

struct pkt_s {
    pkt_t      *next;
    size_t      len;
    uint8_t     data[];
};


typedef struct {
    ngx_ams_sctp_t  *a;
    pkt_t           *head;
    pkt_t          **tail;
    int              connected;
    int              opens;
    int              closed;
    unsigned         client:1;
} peer_t;


static uint8_t   vtag[4];          /* the server's, as the client sends */
static uint32_t  next_tsn;         /* the client's next DATA TSN */


static void
out(void *data, const uint8_t *p, size_t len)
{
    peer_t  *me = data;
    pkt_t   *k;

    k = malloc(sizeof(pkt_t) + len);
    if (k == NULL) {
        return;
    }

    k->next = NULL;
    k->len = len;
    memcpy(k->data, p, len);
    *me->tail = k;
    me->tail = &k->next;
}


static void
on_connected(void *data)
{
    ((peer_t *) data)->connected = 1;
}


static void
on_open(void *data, ngx_ams_sctp_channel_t *ch)
{
    ((peer_t *) data)->opens++;
}


static void
on_message(void *data, ngx_ams_sctp_channel_t *ch, uint32_t ppid,
    const uint8_t *p, size_t len)
{
    peer_t  *me = data;

    /* the server echoes: sending from inside a handler */
    if (!me->client && me->a) {
        (void) ngx_ams_sctp_send(me->a, ch->sid, ppid, p, len);
    }
}


static void
on_close(void *data, ngx_ams_sctp_channel_t *ch)
{
}


static void
on_closed(void *data, const char *reason)
{
    ((peer_t *) data)->closed = 1;
}


static const ngx_ams_sctp_handler_t  handler = {
    out, on_connected, on_open, on_message, on_close, on_closed,
    NULL                        /* dropped: the sender refuses those */
};


/* what the client says: the server's tag and the client's TSNs */
static void
learn(const uint8_t *p, size_t len)
{
    size_t    off, clen;
    uint32_t  tsn;

    if (len < 12) {
        return;
    }

    /* an INIT carries tag 0: not the association's */
    if (len >= 16 && p[12] == 1) {
        return;
    }

    memcpy(vtag, p + 4, 4);

    for (off = 12; off + 4 <= len; off += (clen + 3) & ~(size_t) 3) {
        clen = (size_t) p[off + 2] << 8 | p[off + 3];

        if (clen < 4 || off + clen > len) {
            break;
        }

        if (p[off] == 0 && clen >= 16) {
            memcpy(&tsn, p + off + 4, 4);
            tsn = ntohl(tsn) + 1;

            if ((int32_t) (tsn - next_tsn) > 0) {
                next_tsn = tsn;
            }
        }
    }
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

        if (from->client) {
            learn(k->data, k->len);
        }

        if (to->a) {
            ngx_ams_sctp_input(to->a, k->data, k->len);
        }

        free(k);
        n++;
    }

    return n;
}


static void
pump(peer_t *s, peer_t *c, int ms)
{
    int  t, rounds;

    for (t = 0, rounds = 0; rounds < 1000; rounds++) {
        if (deliver(s, c) + deliver(c, s)) {
            continue;
        }

        if (t >= ms) {
            return;
        }

        (void) ngx_ams_sctp_timer(NGX_AMS_SCTP_TICK);
        t += NGX_AMS_SCTP_TICK;
    }
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


static void
raw(peer_t *s, const uint8_t *p, size_t len, int patch)
{
    uint8_t   pkt[NGX_AMS_SCTP_MTU];
    uint32_t  crc, tsn;

    if (len > sizeof(pkt)) {
        len = sizeof(pkt);
    }

    memcpy(pkt, p, len);

    if (patch && len >= 12) {
        pkt[0] = 5000 >> 8;
        pkt[1] = 5000 & 0xff;
        pkt[2] = 5000 >> 8;
        pkt[3] = 5000 & 0xff;
        memcpy(pkt + 4, vtag, 4);

        if (len >= 28 && pkt[12] == 0) {
            tsn = htonl(next_tsn);
            memcpy(pkt + 16, &tsn, 4);
        }

        memset(pkt + 8, 0, 4);
        crc = usrsctp_crc32c(pkt, len);
        memcpy(pkt + 8, &crc, 4);
    }

    ngx_ams_sctp_input(s->a, pkt, len);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int        ops;
    size_t     n;
    uint8_t    op;
    uint32_t   ppid;
    peer_t     s, c;

    static const uint32_t  ppids[] = {
        NGX_AMS_SCTP_PPID_STRING, NGX_AMS_SCTP_PPID_BINARY,
        NGX_AMS_SCTP_PPID_DCEP, NGX_AMS_SCTP_PPID_STRING
    };

    if (ngx_ams_sctp_init() != 0) {
        abort();
    }

    memset(&s, 0, sizeof(s));
    memset(&c, 0, sizeof(c));
    s.tail = &s.head;
    c.tail = &c.head;
    c.client = 1;
    memset(vtag, 0, sizeof(vtag));
    next_tsn = 0;

    s.a = ngx_ams_sctp_create(&handler, &s, 0, 0, 0);
    c.a = ngx_ams_sctp_create(&handler, &c, 1, 0, 0);

    if (s.a == NULL || c.a == NULL) {
        abort();
    }

    (void) ngx_ams_sctp_open_channel(c.a, NGX_AMS_DCEP_RELIABLE, 0, 0,
                                     "fuzz", 4, "", 0);
    pump(&s, &c, 100);

    if (!s.connected || !c.connected || s.opens != 1) {
        /* the harness itself failed: not the input's doing */
        abort();
    }

    for (ops = 0; size >= 3 && ops < MAX_OPS && s.a; ops++) {
        op = data[0];
        n = (size_t) data[1] << 8 | data[2];
        data += 3;
        size -= 3;

        if (n > size) {
            n = size;
        }

        switch (op & 3) {

        case 0:
        case 1:
            raw(&s, data, n, (op & 3) == 0);
            break;

        case 2:
            ppid = ppids[(op >> 2) & 3];
            (void) ngx_ams_sctp_send(c.a, (op & 0x10) ? 0 : 2, ppid,
                                     data, n);
            break;

        case 3:
            (void) ngx_ams_sctp_timer((uint32_t) (op >> 2) * 100);
            break;
        }

        data += n;
        size -= n;

        pump(&s, &c, 20);

        if (s.closed) {
            break;
        }
    }

    ngx_ams_sctp_free(s.a);
    ngx_ams_sctp_free(c.a);
    drain(&s);
    drain(&c);

    /* let usrsctp release what it keeps after a close */
    while (ngx_ams_sctp_timer(NGX_AMS_SCTP_TICK * 10) != -1) { }

    return 0;
}
