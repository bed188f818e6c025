
/*
 * Copyright (C) nginx-ams authors
 *
 * The cluster upstream: nginx's upstreams whose peers are the nodes the
 * store reports ALIVE (ngx_ams_cluster_nodes()), of one role and
 * optionally one group, less those the balancer's own health check finds
 * down.  Two halves, shared by the HTTP and stream glue:
 *
 *   health (ngx_ams_cluster_health.c): one worker of the balancer probes
 *   every ALIVE node's GET /rest/v2/liveness each interval and keeps the
 *   answer in a small zone of its own ("ams_cluster_upstream"), so a
 *   node killed with -9 leaves every worker's pool at its next probe, not
 *   4 heartbeats later when the store would call it DEAD;
 *
 *   pool (ngx_ams_cluster_pool.c): each worker's list of peers for one
 *   upstream block, rebuilt when the snapshot or the health zone changes
 *   (both carry a version), least connections first.  Connection counts
 *   are per worker, as nginx's own least_conn without a "zone".  With a
 *   key (http's hash=), the peer is the key's by rendezvous hashing
 *   instead: every worker and every balancer picks the same node for a
 *   key, and a node leaving moves only its own keys.
 */


#ifndef _NGX_AMS_CLUSTER_UPSTREAM_H_INCLUDED_
#define _NGX_AMS_CLUSTER_UPSTREAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>

#include "ngx_ams_cluster.h"


#define NGX_AMS_HEALTH_UNKNOWN       0       /* not probed yet: usable */
#define NGX_AMS_HEALTH_UP            1
#define NGX_AMS_HEALTH_DOWN          2

/* a peer that failed a request is skipped by that worker this long,
 * unless no other is left (the probe decides for everyone) */
#define NGX_AMS_CLUSTER_FAIL_TIMEOUT 1000

/* the peers one request tries at most */
#define NGX_AMS_CLUSTER_TRIES_MAX    16


/* one node's health, in the zone; a free slot has ip[0] == '\0' */
typedef struct {
    char                      ip[NGX_AMS_CLUSTER_ID_LEN];
    in_port_t                 port;          /* its HTTP port, probed */
    ngx_uint_t                state;         /* NGX_AMS_HEALTH_* */
    ngx_uint_t                gen;           /* grows when the slot is
                                                given to another node */
    ngx_uint_t                suspect;       /* a worker failed to reach
                                                it: probe it now */
} ngx_ams_cluster_health_node_t;


/* the zone "ams_cluster_upstream" */
typedef struct {
    ngx_shmtx_t              *mutex;         /* its slab pool's: nginx
                                                unlocks it for a worker
                                                that dies holding it */
    ngx_uint_t                version;       /* grows with each change */
    ngx_ams_cluster_health_node_t  nodes[NGX_AMS_CLUSTER_MAX_NODES];
} ngx_ams_cluster_health_shm_t;


/* per cycle: the zone's data */
typedef struct {
    ngx_msec_t                interval;      /* the smallest asked for */
    ngx_msec_t                timeout;
    ngx_shm_zone_t           *shm_zone;
    ngx_ams_cluster_health_shm_t  *sh;
} ngx_ams_cluster_health_t;


/* "127.0.0.1:65535": node addresses are IPv4 */
#define NGX_AMS_CLUSTER_NAME_LEN     (NGX_INET_ADDRSTRLEN + sizeof(":65535"))


/* a peer of one worker's pool */
typedef struct {
    ngx_sockaddr_t            sockaddr;
    socklen_t                 socklen;
    ngx_str_t                 name;
    u_char                    name_data[NGX_AMS_CLUSTER_NAME_LEN];
    char                      ip[NGX_AMS_CLUSTER_ID_LEN];
    in_port_t                 http_port;     /* the health zone's key */
    uint32_t                  hash;          /* of its name, for hash= */
    ngx_uint_t                conns;         /* this worker's */
    ngx_msec_t                failed;        /* when, 0: not lately */
} ngx_ams_cluster_peer_t;


/* one upstream block's pool, per worker */
typedef struct {
    ngx_uint_t                role;          /* NGX_AMS_CLUSTER_* */
    ngx_str_t                 group;         /* empty: any */
    ngx_uint_t                rtmp;          /* peers' RTMP port, not HTTP */
    ngx_ams_cluster_health_t *health;

    ngx_uint_t                built;
    ngx_uint_t                nodes_version;
    ngx_uint_t                health_version;
    ngx_uint_t                next;          /* where ties start */

    ngx_uint_t                npeers;
    ngx_ams_cluster_peer_t   *peers;         /* MAX_NODES each */
    ngx_ams_cluster_peer_t   *spare;
} ngx_ams_cluster_pool_t;


/* one try: the request's own copy, as $upstream_addr shows each try's
 * name when the request is logged, after the pool may have changed */
typedef struct {
    ngx_sockaddr_t            sockaddr;
    socklen_t                 socklen;
    ngx_str_t                 name;
    u_char                    name_data[NGX_AMS_CLUSTER_NAME_LEN];
} ngx_ams_cluster_try_t;


/* one request's (or session's) tries */
typedef struct {
    ngx_ams_cluster_pool_t   *pool;
    ngx_uint_t                current;       /* a peer is counted */
    ngx_uint_t                hashed;        /* hash=: by key_hash */
    uint32_t                  key_hash;
    ngx_uint_t                ntried;
    ngx_ams_cluster_try_t     tried[NGX_AMS_CLUSTER_TRIES_MAX];
} ngx_ams_cluster_pick_t;


/* ngx_ams_cluster_health.c */
ngx_ams_cluster_health_t *ngx_ams_cluster_health_add(ngx_conf_t *cf,
    ngx_msec_t interval, ngx_msec_t timeout);
ngx_int_t ngx_ams_cluster_health_init_worker(ngx_cycle_t *cycle,
    ngx_ams_cluster_health_t *health);
void ngx_ams_cluster_health_suspect(ngx_ams_cluster_health_t *health,
    char *ip, in_port_t port);

/* ngx_ams_cluster_pool.c */
ngx_int_t ngx_ams_cluster_pool_init(ngx_conf_t *cf,
    ngx_ams_cluster_pool_t *pool);
ngx_uint_t ngx_ams_cluster_pool_refresh(ngx_ams_cluster_pool_t *pool);
ngx_int_t ngx_ams_cluster_pool_get(ngx_ams_cluster_pick_t *pick,
    ngx_peer_connection_t *pc);
void ngx_ams_cluster_pool_free(ngx_ams_cluster_pick_t *pick,
    ngx_uint_t failed);
char *ngx_ams_cluster_pool_parse(ngx_conf_t *cf, ngx_str_t *args,
    ngx_uint_t nargs, ngx_ams_cluster_pool_t *pool);


#endif /* _NGX_AMS_CLUSTER_UPSTREAM_H_INCLUDED_ */
