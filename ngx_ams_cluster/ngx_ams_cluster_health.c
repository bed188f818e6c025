
/*
 * Copyright (C) nginx-ams authors
 *
 * The cluster upstream's active health check.  Worker 0 of a balancer
 * probes every node the snapshot calls ALIVE with "GET /rest/v2/liveness"
 * over HTTP/1.0 each interval: a 200 within the timeout is up, anything
 * else (refused, reset, timed out, another status) is down.  The answer
 * goes to the zone "ams_cluster_upstream", read by every worker's pools.
 *
 * Why not wait for the store: a node killed with -9 stays ALIVE there for
 * up to 4 heartbeat periods, and its listening socket is gone at once.  A
 * worker whose request failed to reach a node marks it "suspect", and the
 * prober, which ticks every 100 ms, probes it then instead of at its
 * next interval: the node leaves every worker's pool within a tick or two
 * of the first failure, and within one interval when nothing is sent.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include "ngx_ams_cluster_upstream.h"


#define NGX_AMS_HEALTH_TICK          100
#define NGX_AMS_HEALTH_BUF           64


/* one node's probe, in the prober's memory; slot i of the zone */
typedef struct {
    ngx_peer_connection_t     pc;
    ngx_sockaddr_t            sockaddr;
    ngx_str_t                 name;
    u_char                    name_data[NGX_AMS_CLUSTER_NAME_LEN];
    ngx_log_t                 log;
    char                      ip[NGX_AMS_CLUSTER_ID_LEN];
    in_port_t                 port;
    ngx_uint_t                slot;
    ngx_uint_t                gen;
    ngx_uint_t                busy;
    ngx_msec_t                next;          /* when the next is due */
    ngx_msec_t                deadline;
    size_t                    sent;
    size_t                    len;
    u_char                    request[NGX_AMS_CLUSTER_ID_LEN + 64];
    size_t                    request_len;
    u_char                    buf[NGX_AMS_HEALTH_BUF];
} ngx_ams_cluster_probe_t;


typedef struct {
    ngx_ams_cluster_health_t *health;
    ngx_event_t               tick;
    ngx_uint_t                nodes_version;
    ngx_uint_t                synced;
    ngx_ams_cluster_probe_t   probes[NGX_AMS_CLUSTER_MAX_NODES];
} ngx_ams_cluster_prober_t;


static ngx_int_t ngx_ams_cluster_health_init_zone(ngx_shm_zone_t *zone,
    void *data);
static void ngx_ams_cluster_health_tick(ngx_event_t *ev);
static void ngx_ams_cluster_health_sync(ngx_ams_cluster_prober_t *pr);
static void ngx_ams_cluster_probe_start(ngx_ams_cluster_prober_t *pr,
    ngx_ams_cluster_probe_t *p);
static void ngx_ams_cluster_probe_write(ngx_event_t *wev);
static void ngx_ams_cluster_probe_read(ngx_event_t *rev);
static void ngx_ams_cluster_probe_done(ngx_ams_cluster_probe_t *p,
    ngx_uint_t state, const char *why);


static ngx_str_t  ngx_ams_cluster_health_zone_name =
    ngx_string("ams_cluster_upstream");

/* the prober lives in one worker; the others never allocate it */
static ngx_ams_cluster_prober_t  *ngx_ams_cluster_prober;


ngx_ams_cluster_health_t *
ngx_ams_cluster_health_add(ngx_conf_t *cf, ngx_msec_t interval,
    ngx_msec_t timeout)
{
    ngx_shm_zone_t            *zone;
    ngx_ams_cluster_health_t  *health;

    zone = ngx_shared_memory_add(cf, &ngx_ams_cluster_health_zone_name,
                                 sizeof(ngx_ams_cluster_health_shm_t)
                                 + 64 * 1024,
                                 &ngx_ams_cluster_module);
    if (zone == NULL) {
        return NULL;
    }

    health = zone->data;

    if (health == NULL) {
        health = ngx_pcalloc(cf->pool, sizeof(ngx_ams_cluster_health_t));
        if (health == NULL) {
            return NULL;
        }

        health->interval = interval;
        health->timeout = timeout;
        health->shm_zone = zone;

        zone->init = ngx_ams_cluster_health_init_zone;
        zone->data = health;
    }

    /* one prober for all the blocks: the most demanding one's pace */
    health->interval = ngx_min(health->interval, interval);
    health->timeout = ngx_min(health->timeout, timeout);

    return health;
}


static ngx_int_t
ngx_ams_cluster_health_init_zone(ngx_shm_zone_t *zone, void *data)
{
    ngx_ams_cluster_health_t *old = data;

    ngx_slab_pool_t               *shpool;
    ngx_ams_cluster_health_t      *health;
    ngx_ams_cluster_health_shm_t  *sh;

    health = zone->data;
    shpool = (ngx_slab_pool_t *) zone->shm.addr;

    /* a reload keeps what was probed */
    if (old) {
        health->sh = old->sh;
        return NGX_OK;
    }

    if (zone->shm.exists) {
        health->sh = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_ams_cluster_health_shm_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->mutex = &shpool->mutex;

    shpool->data = sh;
    health->sh = sh;

    return NGX_OK;
}


/* called by each glue module's init_process; the prober starts once */
ngx_int_t
ngx_ams_cluster_health_init_worker(ngx_cycle_t *cycle,
    ngx_ams_cluster_health_t *health)
{
    ngx_uint_t                 i;
    ngx_ams_cluster_prober_t  *pr;

    if (health == NULL || ngx_ams_cluster_prober != NULL) {
        return NGX_OK;
    }

    if (ngx_process != NGX_PROCESS_SINGLE
        && (ngx_process != NGX_PROCESS_WORKER || ngx_worker != 0))
    {
        return NGX_OK;
    }

    pr = ngx_pcalloc(cycle->pool, sizeof(ngx_ams_cluster_prober_t));
    if (pr == NULL) {
        return NGX_ERROR;
    }

    pr->health = health;

    for (i = 0; i < NGX_AMS_CLUSTER_MAX_NODES; i++) {
        pr->probes[i].slot = i;
    }

    pr->tick.handler = ngx_ams_cluster_health_tick;
    pr->tick.data = pr;
    pr->tick.log = cycle->log;
    pr->tick.cancelable = 1;

    ngx_ams_cluster_prober = pr;

    ngx_add_timer(&pr->tick, NGX_AMS_HEALTH_TICK);

    return NGX_OK;
}


/* any worker: its request could not reach the node */
void
ngx_ams_cluster_health_suspect(ngx_ams_cluster_health_t *health, char *ip,
    in_port_t port)
{
    ngx_uint_t                      i;
    ngx_ams_cluster_health_shm_t   *sh;
    ngx_ams_cluster_health_node_t  *hn;

    sh = health->sh;

    ngx_shmtx_lock(sh->mutex);

    for (i = 0; i < NGX_AMS_CLUSTER_MAX_NODES; i++) {
        hn = &sh->nodes[i];

        if (hn->port == port && ngx_strcmp(hn->ip, ip) == 0) {
            hn->suspect = 1;
            break;
        }
    }

    ngx_shmtx_unlock(sh->mutex);
}


static void
ngx_ams_cluster_health_tick(ngx_event_t *ev)
{
    ngx_ams_cluster_prober_t *pr = ev->data;

    ngx_uint_t                      i;
    ngx_ams_cluster_shm_t          *csh;
    ngx_ams_cluster_probe_t        *p;
    ngx_ams_cluster_health_shm_t   *sh;
    ngx_ams_cluster_health_node_t  *hn;
    u_char                          start[NGX_AMS_CLUSTER_MAX_NODES];

    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    csh = ngx_ams_cluster_shm();

    if (csh != NULL
        && (!pr->synced
            || *(volatile ngx_uint_t *) &csh->version != pr->nodes_version))
    {
        ngx_ams_cluster_health_sync(pr);
    }

    sh = pr->health->sh;
    ngx_memzero(start, sizeof(start));

    ngx_shmtx_lock(sh->mutex);

    for (i = 0; i < NGX_AMS_CLUSTER_MAX_NODES; i++) {
        p = &pr->probes[i];
        hn = &sh->nodes[i];

        if (p->busy || hn->ip[0] == '\0'
            || !(hn->suspect || hn->gen != p->gen
                 || (ngx_msec_int_t) (ngx_current_msec - p->next) >= 0))
        {
            continue;
        }

        start[i] = 1;
        hn->suspect = 0;

        if (hn->gen != p->gen) {
            /* the slot holds another node now */
            p->gen = hn->gen;
            p->port = hn->port;
            ngx_memcpy(p->ip, hn->ip, NGX_AMS_CLUSTER_ID_LEN);
            p->sockaddr.sockaddr_in.sin_family = AF_UNSPEC;
            p->request_len = ngx_snprintf(p->request, sizeof(p->request),
                                          "GET /rest/v2/liveness HTTP/1.0"
                                          "\r\nHost: %s\r\n\r\n", hn->ip)
                             - p->request;
            p->name.len = ngx_snprintf(p->name_data, sizeof(p->name_data),
                                       "%s:%d", hn->ip, (int) hn->port)
                          - p->name_data;
            p->name.data = p->name_data;
        }
    }

    ngx_shmtx_unlock(sh->mutex);

    /* outside the lock: a probe that fails at once records it */
    for (i = 0; i < NGX_AMS_CLUSTER_MAX_NODES; i++) {
        if (start[i]) {
            ngx_ams_cluster_probe_start(pr, &pr->probes[i]);
        }
    }

    ngx_add_timer(ev, NGX_AMS_HEALTH_TICK);
}


/* the zone's slots follow the snapshot's ALIVE nodes */
static void
ngx_ams_cluster_health_sync(ngx_ams_cluster_prober_t *pr)
{
    size_t                          len;
    ngx_uint_t                      i, k, n, found;
    ngx_ams_cluster_node_t         *node;
    ngx_ams_cluster_health_shm_t   *sh;
    ngx_ams_cluster_health_node_t  *hn;

    static ngx_ams_cluster_node_t   nodes[NGX_AMS_CLUSTER_MAX_NODES];
    static u_char                   seen[NGX_AMS_CLUSTER_MAX_NODES];

    pr->nodes_version = ngx_ams_cluster_shm()->version;
    pr->synced = 1;

    n = ngx_ams_cluster_nodes(nodes, NGX_AMS_CLUSTER_MAX_NODES);

    sh = pr->health->sh;
    ngx_memzero(seen, sizeof(seen));

    ngx_shmtx_lock(sh->mutex);

    for (k = 0; k < n; k++) {
        node = &nodes[k];
        len = ngx_strlen(node->ip);

        if (!node->alive || node->role == NGX_AMS_CLUSTER_BALANCER
            || len == 0 || len >= NGX_AMS_CLUSTER_ID_LEN)
        {
            continue;
        }

        found = NGX_AMS_CLUSTER_MAX_NODES;

        for (i = 0; i < NGX_AMS_CLUSTER_MAX_NODES; i++) {
            hn = &sh->nodes[i];

            if (hn->ip[0] == '\0') {
                if (found == NGX_AMS_CLUSTER_MAX_NODES) {
                    found = i;      /* the first free one, if need be */
                }

                continue;
            }

            if (hn->port == node->http_port
                && ngx_strcmp(hn->ip, node->ip) == 0)
            {
                found = i;
                break;
            }
        }

        if (found == NGX_AMS_CLUSTER_MAX_NODES) {
            continue;
        }

        hn = &sh->nodes[found];
        seen[found] = 1;

        if (hn->ip[0] == '\0') {
            ngx_memcpy(hn->ip, node->ip, len + 1);
            hn->port = node->http_port;
            hn->state = NGX_AMS_HEALTH_UNKNOWN;
            hn->suspect = 0;
            hn->gen++;
            sh->version++;
        }
    }

    /* gone from the snapshot, or DEAD there: not probed any more */
    for (i = 0; i < NGX_AMS_CLUSTER_MAX_NODES; i++) {
        hn = &sh->nodes[i];

        if (hn->ip[0] != '\0' && !seen[i]) {
            hn->ip[0] = '\0';
            hn->port = 0;
            hn->gen++;
            sh->version++;
        }
    }

    ngx_shmtx_unlock(sh->mutex);
}


static void
ngx_ams_cluster_probe_start(ngx_ams_cluster_prober_t *pr,
    ngx_ams_cluster_probe_t *p)
{
    in_addr_t          addr;
    ngx_int_t          rc;
    ngx_connection_t  *c;

    p->busy = 1;
    p->next = ngx_current_msec + pr->health->interval;

    if (p->sockaddr.sockaddr_in.sin_family == AF_UNSPEC) {
        /* node_address is an IPv4 address (ngx_ams_cluster_pool.c skips
         * other nodes too) */
        addr = ngx_inet_addr((u_char *) p->ip, ngx_strlen(p->ip));

        if (addr == INADDR_NONE) {
            ngx_ams_cluster_probe_done(p, NGX_AMS_HEALTH_DOWN,
                                       "not an IPv4 address");
            return;
        }

        ngx_memzero(&p->sockaddr, sizeof(ngx_sockaddr_t));
        p->sockaddr.sockaddr_in.sin_family = AF_INET;
        p->sockaddr.sockaddr_in.sin_addr.s_addr = addr;
        p->sockaddr.sockaddr_in.sin_port = htons(p->port);
    }

    /* connect() failures are this check's business, not the error
     * log's: a dead node is reported once, when it turns down */
    p->log = *ngx_cycle->log;
    p->log.log_level = NGX_LOG_CRIT;
    p->log.next = NULL;

    ngx_memzero(&p->pc, sizeof(ngx_peer_connection_t));
    p->pc.sockaddr = &p->sockaddr.sockaddr;
    p->pc.socklen = sizeof(struct sockaddr_in);
    p->pc.name = &p->name;
    p->pc.get = ngx_event_get_peer;
    p->pc.log = &p->log;
    p->pc.log_error = NGX_ERROR_IGNORE_ECONNRESET;

    p->sent = 0;
    p->len = 0;
    p->deadline = ngx_current_msec + pr->health->timeout;

    rc = ngx_event_connect_peer(&p->pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_ams_cluster_probe_done(p, NGX_AMS_HEALTH_DOWN,
                                   "cannot connect");
        return;
    }

    c = p->pc.connection;
    c->data = p;
    c->read->handler = ngx_ams_cluster_probe_read;
    c->write->handler = ngx_ams_cluster_probe_write;

    ngx_add_timer(c->write, pr->health->timeout);

    if (rc == NGX_OK) {
        ngx_ams_cluster_probe_write(c->write);
    }
}


static void
ngx_ams_cluster_probe_write(ngx_event_t *wev)
{
    ssize_t                   n;
    ngx_msec_int_t            left;
    ngx_connection_t         *c;
    ngx_ams_cluster_probe_t  *p;

    c = wev->data;
    p = c->data;

    if (wev->timedout) {
        ngx_ams_cluster_probe_done(p, NGX_AMS_HEALTH_DOWN, "timed out");
        return;
    }

    while (p->sent < p->request_len) {
        n = c->send(c, p->request + p->sent, p->request_len - p->sent);

        if (n == NGX_AGAIN) {
            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_ams_cluster_probe_done(p, NGX_AMS_HEALTH_DOWN,
                                           "send failed");
            }

            return;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_ams_cluster_probe_done(p, NGX_AMS_HEALTH_DOWN,
                                       "cannot connect");
            return;
        }

        p->sent += n;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    if (c->read->timer_set) {
        return;     /* already reading */
    }

    left = (ngx_msec_int_t) (p->deadline - ngx_current_msec);
    ngx_add_timer(c->read, left > 0 ? (ngx_msec_t) left : 1);

    if (c->read->ready) {
        ngx_ams_cluster_probe_read(c->read);
        return;
    }

    if (ngx_handle_read_event(c->read, 0) != NGX_OK) {
        ngx_ams_cluster_probe_done(p, NGX_AMS_HEALTH_DOWN, "read failed");
    }
}


static void
ngx_ams_cluster_probe_read(ngx_event_t *rev)
{
    ssize_t                   n;
    ngx_connection_t         *c;
    ngx_ams_cluster_probe_t  *p;

    c = rev->data;
    p = c->data;

    if (rev->timedout) {
        ngx_ams_cluster_probe_done(p, NGX_AMS_HEALTH_DOWN, "timed out");
        return;
    }

    if (p->sent < p->request_len) {
        /* a read event before the request is out: wait for write */
        return;
    }

    for ( ;; ) {
        n = c->recv(c, p->buf + p->len, NGX_AMS_HEALTH_BUF - p->len);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_ams_cluster_probe_done(p, NGX_AMS_HEALTH_DOWN,
                                           "read failed");
            }

            return;
        }

        if (n == NGX_ERROR || n == 0) {
            break;
        }

        p->len += n;

        /* "HTTP/1.x NNN" is all it takes */
        if (p->len >= 12 || p->len == NGX_AMS_HEALTH_BUF) {
            break;
        }
    }

    if (p->len >= 12
        && ngx_strncmp(p->buf, "HTTP/1.", 7) == 0
        && ngx_strncmp(p->buf + 8, " 200", 4) == 0)
    {
        ngx_ams_cluster_probe_done(p, NGX_AMS_HEALTH_UP, NULL);
        return;
    }

    ngx_ams_cluster_probe_done(p, NGX_AMS_HEALTH_DOWN,
                               p->len >= 12 ? "not 200" : "no answer");
}


static void
ngx_ams_cluster_probe_done(ngx_ams_cluster_probe_t *p, ngx_uint_t state,
    const char *why)
{
    ngx_ams_cluster_prober_t       *pr;
    ngx_ams_cluster_health_shm_t   *sh;
    ngx_ams_cluster_health_node_t  *hn;

    if (p->pc.connection) {
        ngx_close_connection(p->pc.connection);
        p->pc.connection = NULL;
    }

    p->busy = 0;

    pr = ngx_ams_cluster_prober;
    sh = pr->health->sh;
    hn = &sh->nodes[p->slot];

    ngx_shmtx_lock(sh->mutex);

    if (hn->gen == p->gen && hn->ip[0] != '\0' && hn->state != state) {
        hn->state = state;
        sh->version++;

        if (state == NGX_AMS_HEALTH_DOWN) {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "ams cluster upstream: node %V is down (%s): "
                          "out of the pool", &p->name, why);

        } else {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "ams cluster upstream: node %V is up", &p->name);
        }
    }

    ngx_shmtx_unlock(sh->mutex);
}
