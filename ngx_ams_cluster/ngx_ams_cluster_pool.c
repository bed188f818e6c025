
/*
 * Copyright (C) nginx-ams authors
 *
 * One cluster upstream's peers in one worker: the snapshot's ALIVE nodes
 * of the role (and group) asked for, less those the health zone calls
 * down.  Rebuilt only when the snapshot's or the zone's version moved,
 * which is at most once a heartbeat plus once per health change: a
 * request reads two integers to know its pool is current.
 *
 * The choice is the peer with the fewest of this worker's connections
 * (nginx's least_conn without a zone counts the same way); ties go round
 * the pool, so sequential requests spread over idle nodes.  A request
 * with a key (hash=) takes the peer whose score for the key is highest
 * (rendezvous hashing): the same node on every worker and balancer, and
 * the next highest when it fails.  A peer that
 * failed a request is left aside by this worker for
 * NGX_AMS_CLUSTER_FAIL_TIMEOUT, unless nothing else is left, and the
 * prober is asked to look at it now.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include "ngx_ams_cluster_upstream.h"


static ngx_ams_cluster_peer_t *ngx_ams_cluster_pool_find(
    ngx_ams_cluster_pool_t *pool, struct sockaddr *sa, socklen_t len);
static ngx_uint_t ngx_ams_cluster_pick_tried(ngx_ams_cluster_pick_t *pick,
    ngx_ams_cluster_peer_t *peer);
static uint32_t ngx_ams_cluster_pool_score(uint32_t key, uint32_t peer);


/* "edge|origin [group=NAME] [interval=TIME] [timeout=TIME]" */
char *
ngx_ams_cluster_pool_parse(ngx_conf_t *cf, ngx_str_t *value,
    ngx_uint_t nargs, ngx_ams_cluster_pool_t *pool)
{
    ngx_str_t   s;
    ngx_uint_t  i;
    ngx_msec_t  interval, timeout;

    if (ngx_strcmp(value[1].data, "edge") == 0) {
        pool->role = NGX_AMS_CLUSTER_EDGE;

    } else if (ngx_strcmp(value[1].data, "origin") == 0) {
        pool->role = NGX_AMS_CLUSTER_ORIGIN;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\": the role must be \"edge\" or "
                           "\"origin\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    interval = 1000;
    timeout = 1000;

    for (i = 2; i < nargs; i++) {

        if (ngx_strncmp(value[i].data, "group=", 6) == 0) {
            pool->group.data = value[i].data + 6;
            pool->group.len = value[i].len - 6;

            if (pool->group.len == 0
                || pool->group.len >= NGX_AMS_CLUSTER_GROUP_LEN)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "interval=", 9) == 0) {
            s.data = value[i].data + 9;
            s.len = value[i].len - 9;

            interval = ngx_parse_time(&s, 0);
            if (interval == (ngx_msec_t) NGX_ERROR || interval < 100) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            s.data = value[i].data + 8;
            s.len = value[i].len - 8;

            timeout = ngx_parse_time(&s, 0);
            if (timeout == (ngx_msec_t) NGX_ERROR || timeout < 100) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    pool->health = ngx_ams_cluster_health_add(cf, interval, timeout);
    if (pool->health == NULL) {
        return NGX_CONF_ERROR;
    }

    return ngx_ams_cluster_pool_init(cf, pool) == NGX_OK ? NGX_CONF_OK
                                                         : NGX_CONF_ERROR;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


ngx_int_t
ngx_ams_cluster_pool_init(ngx_conf_t *cf, ngx_ams_cluster_pool_t *pool)
{
    size_t  size;

    size = NGX_AMS_CLUSTER_MAX_NODES * sizeof(ngx_ams_cluster_peer_t);

    /* before fork: every worker gets its own copy */
    pool->peers = ngx_palloc(cf->pool, size);
    pool->spare = ngx_palloc(cf->pool, size);

    if (pool->peers == NULL || pool->spare == NULL) {
        return NGX_ERROR;
    }

    pool->npeers = 0;
    pool->built = 0;

    return NGX_OK;
}


/* the pool as of the snapshot and the zone; its size */
ngx_uint_t
ngx_ams_cluster_pool_refresh(ngx_ams_cluster_pool_t *pool)
{
    size_t                          len;
    in_addr_t                       addr;
    in_port_t                       port;
    ngx_uint_t                      i, k, n, np, nv, hv, state;
    ngx_ams_cluster_shm_t          *csh;
    ngx_ams_cluster_peer_t         *peer, *old, *tmp;
    ngx_ams_cluster_node_t         *node;
    ngx_ams_cluster_health_shm_t   *sh;
    ngx_ams_cluster_health_node_t  *hn;

    static ngx_ams_cluster_node_t   nodes[NGX_AMS_CLUSTER_MAX_NODES];

    csh = ngx_ams_cluster_shm();
    sh = pool->health->sh;

    if (csh == NULL || sh == NULL) {
        return 0;
    }

    nv = *(volatile ngx_uint_t *) &csh->version;
    hv = *(volatile ngx_uint_t *) &sh->version;

    if (pool->built && nv == pool->nodes_version
        && hv == pool->health_version)
    {
        return pool->npeers;
    }

    n = ngx_ams_cluster_nodes(nodes, NGX_AMS_CLUSTER_MAX_NODES);

    np = 0;

    ngx_shmtx_lock(sh->mutex);

    /* read under the lock: a change after it is seen next time */
    hv = sh->version;

    for (k = 0; k < n; k++) {
        node = &nodes[k];

        if (!node->alive || node->role != pool->role) {
            continue;
        }

        if (pool->group.len
            && (ngx_strlen(node->group) != pool->group.len
                || ngx_strncmp(node->group, pool->group.data,
                               pool->group.len) != 0))
        {
            continue;
        }

        len = ngx_strlen(node->ip);
        addr = ngx_inet_addr((u_char *) node->ip, len);
        port = pool->rtmp ? node->rtmp_port : node->http_port;

        if (addr == INADDR_NONE || port == 0) {
            continue;
        }

        state = NGX_AMS_HEALTH_UNKNOWN;

        for (i = 0; i < NGX_AMS_CLUSTER_MAX_NODES; i++) {
            hn = &sh->nodes[i];

            if (hn->port == node->http_port
                && ngx_strcmp(hn->ip, node->ip) == 0)
            {
                state = hn->state;
                break;
            }
        }

        if (state == NGX_AMS_HEALTH_DOWN) {
            continue;
        }

        peer = &pool->spare[np++];

        ngx_memzero(&peer->sockaddr, sizeof(ngx_sockaddr_t));
        peer->sockaddr.sockaddr_in.sin_family = AF_INET;
        peer->sockaddr.sockaddr_in.sin_addr.s_addr = addr;
        peer->sockaddr.sockaddr_in.sin_port = htons(port);
        peer->socklen = sizeof(struct sockaddr_in);

        peer->name.data = peer->name_data;
        peer->name.len = ngx_sock_ntop(&peer->sockaddr.sockaddr,
                                       peer->socklen, peer->name_data,
                                       NGX_AMS_CLUSTER_NAME_LEN, 1);

        ngx_memcpy(peer->ip, node->ip, len + 1);
        peer->http_port = node->http_port;
        peer->hash = ngx_crc32_short(peer->name.data, peer->name.len);

        /* a peer that stays keeps its counts */
        old = ngx_ams_cluster_pool_find(pool, &peer->sockaddr.sockaddr,
                                        peer->socklen);
        peer->conns = old ? old->conns : 0;
        peer->failed = old ? old->failed : 0;
    }

    ngx_shmtx_unlock(sh->mutex);

    if (pool->built && np != pool->npeers) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "ams cluster upstream: %ui peers (were %ui)",
                      np, pool->npeers);
    }

    tmp = pool->peers;
    pool->peers = pool->spare;
    pool->spare = tmp;

    pool->npeers = np;
    pool->nodes_version = nv;
    pool->health_version = hv;
    pool->built = 1;

    return np;
}


ngx_int_t
ngx_ams_cluster_pool_get(ngx_ams_cluster_pick_t *pick,
    ngx_peer_connection_t *pc)
{
    ngx_uint_t               i, k, n, pass;
    ngx_ams_cluster_try_t   *t;
    ngx_ams_cluster_pool_t  *pool;
    ngx_ams_cluster_peer_t  *peer, *best;

    pool = pick->pool;

    n = ngx_ams_cluster_pool_refresh(pool);

    best = NULL;

    /* first pass: peers this worker saw fail lately are left aside */
    for (pass = 0; pass < 2 && best == NULL; pass++) {

        for (k = 0; k < n; k++) {
            i = (pool->next + k) % n;
            peer = &pool->peers[i];

            if (ngx_ams_cluster_pick_tried(pick, peer)) {
                continue;
            }

            if (pass == 0 && peer->failed
                && ngx_current_msec - peer->failed
                   < NGX_AMS_CLUSTER_FAIL_TIMEOUT)
            {
                continue;
            }

            if (pick->hashed) {
                /* rendezvous: the highest score of key and peer */
                if (best == NULL
                    || ngx_ams_cluster_pool_score(pick->key_hash, peer->hash)
                       > ngx_ams_cluster_pool_score(pick->key_hash,
                                                    best->hash))
                {
                    best = peer;
                }

                continue;
            }

            if (best == NULL || peer->conns < best->conns) {
                best = peer;
            }
        }
    }

    if (best == NULL) {
        pc->name = NULL;
        return NGX_BUSY;
    }

    pool->next = (best - pool->peers) + 1;

    best->conns++;

    /* tries are capped at NGX_AMS_CLUSTER_TRIES_MAX: a slot each */
    t = &pick->tried[ngx_min(pick->ntried, NGX_AMS_CLUSTER_TRIES_MAX - 1)];

    if (pick->ntried < NGX_AMS_CLUSTER_TRIES_MAX) {
        pick->ntried++;
    }

    t->sockaddr = best->sockaddr;
    t->socklen = best->socklen;
    ngx_memcpy(t->name_data, best->name_data, best->name.len);
    t->name.data = t->name_data;
    t->name.len = best->name.len;

    pick->current = 1;

    pc->sockaddr = &t->sockaddr.sockaddr;
    pc->socklen = t->socklen;
    pc->name = &t->name;

    return NGX_OK;
}


void
ngx_ams_cluster_pool_free(ngx_ams_cluster_pick_t *pick, ngx_uint_t failed)
{
    ngx_ams_cluster_try_t   *t;
    ngx_ams_cluster_peer_t  *peer;

    if (!pick->current) {
        return;
    }

    pick->current = 0;
    t = &pick->tried[pick->ntried - 1];

    peer = ngx_ams_cluster_pool_find(pick->pool, &t->sockaddr.sockaddr,
                                     t->socklen);
    if (peer == NULL) {
        return;     /* it left the pool meanwhile */
    }

    if (peer->conns) {
        peer->conns--;
    }

    if (failed) {
        peer->failed = ngx_current_msec ? ngx_current_msec : 1;
        ngx_ams_cluster_health_suspect(pick->pool->health, peer->ip,
                                       peer->http_port);

    } else {
        peer->failed = 0;
    }
}


static ngx_ams_cluster_peer_t *
ngx_ams_cluster_pool_find(ngx_ams_cluster_pool_t *pool, struct sockaddr *sa,
    socklen_t len)
{
    ngx_uint_t  i;

    for (i = 0; i < pool->npeers; i++) {
        if (ngx_cmp_sockaddr(&pool->peers[i].sockaddr.sockaddr,
                             pool->peers[i].socklen, sa, len, 1)
            == NGX_OK)
        {
            return &pool->peers[i];
        }
    }

    return NULL;
}


static ngx_uint_t
ngx_ams_cluster_pick_tried(ngx_ams_cluster_pick_t *pick,
    ngx_ams_cluster_peer_t *peer)
{
    ngx_uint_t  i;

    for (i = 0; i < pick->ntried; i++) {
        if (ngx_cmp_sockaddr(&pick->tried[i].sockaddr.sockaddr,
                             pick->tried[i].socklen,
                             &peer->sockaddr.sockaddr, peer->socklen, 1)
            == NGX_OK)
        {
            return 1;
        }
    }

    return 0;
}


/* a 32-bit finalizer (MurmurHash3's): the scores of two peers for one key
 * are as good as independent */
static uint32_t
ngx_ams_cluster_pool_score(uint32_t key, uint32_t peer)
{
    uint32_t  h;

    h = key ^ (peer * 0x9e3779b1);

    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;

    return h;
}
