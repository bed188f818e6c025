
/*
 * Copyright (C) nginx-ams authors
 *
 * What a worker's RTMP connections buffer, by client address.  Each
 * address (IPv6 by its /64, an IPv4-mapped IPv6 address as IPv4) has a
 * counter its connections' chunk parsers share, capped at
 * ams_rtmp_address_buffers, so that one address (or a few) cannot take
 * the worker's ams_rtmp_worker_buffers from everyone else.  When the
 * worker's cap is reached anyway, the largest holder goes: the biggest
 * connection of the address that holds most.  A small per-worker hash;
 * an address is forgotten with its last connection.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_ams_rtmp_session.h"


#define NGX_AMS_RTMP_PEER_BUCKETS  1024


struct ngx_ams_rtmp_peer_s {
    ngx_ams_rtmp_peer_t  *next;           /* in its bucket */
    ngx_queue_t           queue;          /* every address */
    ngx_queue_t           sessions;
    size_t                buffered;       /* its parsers' counter */
    ngx_uint_t            hash;
    u_char                key[17];        /* family, then 4 or 8 bytes */
    ngx_str_t             text;
    u_char                text_buf[NGX_INET6_ADDRSTRLEN + 4];
};


static ngx_ams_rtmp_peer_t  *ngx_ams_rtmp_peers[NGX_AMS_RTMP_PEER_BUCKETS];
static ngx_queue_t           ngx_ams_rtmp_peer_list;


/* the key of an address: what counts as one client */

static size_t
ngx_ams_rtmp_peer_key(struct sockaddr *sa, u_char *key, ngx_str_t *text)
{
    u_char               *p;
    struct sockaddr_in   *sin;
#if (NGX_HAVE_INET6)
    struct in6_addr       a6;
    struct sockaddr_in6  *sin6;
#endif

    switch (sa->sa_family) {

    case AF_INET:
        sin = (struct sockaddr_in *) sa;
        key[0] = 4;
        ngx_memcpy(key + 1, &sin->sin_addr, 4);
        text->len = ngx_inet_ntop(AF_INET, key + 1, text->data,
                                  NGX_INET6_ADDRSTRLEN);
        return 5;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        sin6 = (struct sockaddr_in6 *) sa;

        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
            key[0] = 4;
            ngx_memcpy(key + 1, &sin6->sin6_addr.s6_addr[12], 4);
            text->len = ngx_inet_ntop(AF_INET, key + 1, text->data,
                                      NGX_INET6_ADDRSTRLEN);
            return 5;
        }

        /* one host usually has a /64 to itself */
        key[0] = 6;
        ngx_memcpy(key + 1, sin6->sin6_addr.s6_addr, 8);

        ngx_memzero(&a6, sizeof(struct in6_addr));
        ngx_memcpy(a6.s6_addr, key + 1, 8);
        p = text->data + ngx_inet6_ntop(a6.s6_addr, text->data,
                                        NGX_INET6_ADDRSTRLEN);
        p = ngx_cpymem(p, "/64", 3);
        text->len = p - text->data;
        return 9;
#endif

    default:
        /* unix sockets: one local client */
        key[0] = 0;
        text->len = ngx_sprintf(text->data, "unix:") - text->data;
        return 1;
    }
}


ngx_int_t
ngx_ams_rtmp_peer_attach(ngx_ams_rtmp_session_t *rs)
{
    size_t                n;
    u_char                key[17], text[NGX_INET6_ADDRSTRLEN + 4];
    ngx_str_t             t;
    ngx_uint_t            hash;
    ngx_ams_rtmp_peer_t  *peer;

    if (ngx_ams_rtmp_peer_list.next == NULL) {
        ngx_queue_init(&ngx_ams_rtmp_peer_list);
    }

    ngx_memzero(key, sizeof(key));
    t.data = text;
    n = ngx_ams_rtmp_peer_key(rs->connection->sockaddr, key, &t);
    hash = ngx_crc32_short(key, n);

    for (peer = ngx_ams_rtmp_peers[hash % NGX_AMS_RTMP_PEER_BUCKETS];
         peer;
         peer = peer->next)
    {
        if (peer->hash == hash && ngx_memcmp(peer->key, key, 17) == 0) {
            break;
        }
    }

    if (peer == NULL) {
        peer = ngx_calloc(sizeof(ngx_ams_rtmp_peer_t), rs->connection->log);
        if (peer == NULL) {
            return NGX_ERROR;
        }

        peer->hash = hash;
        ngx_memcpy(peer->key, key, 17);
        peer->text.data = peer->text_buf;
        peer->text.len = t.len;
        ngx_memcpy(peer->text_buf, text, t.len);
        ngx_queue_init(&peer->sessions);
        ngx_queue_insert_tail(&ngx_ams_rtmp_peer_list, &peer->queue);

        peer->next = ngx_ams_rtmp_peers[hash % NGX_AMS_RTMP_PEER_BUCKETS];
        ngx_ams_rtmp_peers[hash % NGX_AMS_RTMP_PEER_BUCKETS] = peer;
    }

    rs->peer = peer;
    ngx_queue_insert_tail(&peer->sessions, &rs->peer_link);

    return NGX_OK;
}


/* after the session's parser has let go of its buffers */

void
ngx_ams_rtmp_peer_detach(ngx_ams_rtmp_session_t *rs)
{
    ngx_ams_rtmp_peer_t   *peer, **pp;

    peer = rs->peer;
    if (peer == NULL) {
        return;
    }

    rs->peer = NULL;
    ngx_queue_remove(&rs->peer_link);

    if (!ngx_queue_empty(&peer->sessions)) {
        return;
    }

    for (pp = &ngx_ams_rtmp_peers[peer->hash % NGX_AMS_RTMP_PEER_BUCKETS];
         *pp;
         pp = &(*pp)->next)
    {
        if (*pp == peer) {
            *pp = peer->next;
            break;
        }
    }

    ngx_queue_remove(&peer->queue);
    ngx_free(peer);
}


size_t *
ngx_ams_rtmp_peer_counter(ngx_ams_rtmp_session_t *rs)
{
    return &rs->peer->buffered;
}


ngx_str_t *
ngx_ams_rtmp_peer_text(ngx_ams_rtmp_session_t *rs)
{
    return &rs->peer->text;
}


/* the biggest connection of the address that holds most; NULL: nobody
 * holds anything */

ngx_ams_rtmp_session_t *
ngx_ams_rtmp_peer_largest(void)
{
    ngx_queue_t             *q;
    ngx_ams_rtmp_peer_t     *peer, *top;
    ngx_ams_rtmp_session_t  *rs, *big;

    if (ngx_ams_rtmp_peer_list.next == NULL) {
        return NULL;
    }

    top = NULL;

    for (q = ngx_queue_head(&ngx_ams_rtmp_peer_list);
         q != ngx_queue_sentinel(&ngx_ams_rtmp_peer_list);
         q = ngx_queue_next(q))
    {
        peer = ngx_queue_data(q, ngx_ams_rtmp_peer_t, queue);

        if (top == NULL || peer->buffered > top->buffered) {
            top = peer;
        }
    }

    if (top == NULL || top->buffered == 0) {
        return NULL;
    }

    big = NULL;

    for (q = ngx_queue_head(&top->sessions);
         q != ngx_queue_sentinel(&top->sessions);
         q = ngx_queue_next(q))
    {
        rs = ngx_queue_data(q, ngx_ams_rtmp_session_t, peer_link);

        if (big == NULL || rs->parser.buffered > big->parser.buffered) {
            big = rs;
        }
    }

    return (big && big->parser.buffered) ? big : NULL;
}
