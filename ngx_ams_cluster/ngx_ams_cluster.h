
/*
 * Copyright (C) nginx-ams authors
 *
 * ngx_ams_cluster: several nodes acting as one service, coordinated
 * through the store (MongoDB in production).  Each node registers itself
 * in "clusternode" and refreshes its record every node_update_period from
 * one worker; every worker reads the cluster's nodes from a snapshot in a
 * small shared-memory zone that the same worker refreshes, so nothing on
 * a viewer's path queries the store for nodes.
 *
 * Load after ngx_ams_core, ngx_ams_ingest and ngx_ams_api (it uses their
 * symbols): the MongoDB backend of the store, the node registry, the
 * cluster REST endpoints, origin lookups for edges, the cluster upstream.
 */


#ifndef _NGX_AMS_CLUSTER_H_INCLUDED_
#define _NGX_AMS_CLUSTER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"
#include "ngx_ams_store.h"


#define NGX_AMS_CLUSTER_ORIGIN       0
#define NGX_AMS_CLUSTER_EDGE         1
#define NGX_AMS_CLUSTER_BALANCER     2       /* reads the nodes, is none */

#define NGX_AMS_CLUSTER_MAX_NODES    256     /* in the snapshot */
#define NGX_AMS_CLUSTER_ID_LEN       64
#define NGX_AMS_CLUSTER_GROUP_LEN    64

/* a node is ALIVE while its last update is within this many periods */
#define NGX_AMS_CLUSTER_ALIVE_PERIODS  4

/* a node record stamped further ahead of this node's clock reads DEAD */
#define NGX_AMS_CLUSTER_CLOCK_SKEW   60000

/* node-to-node JWTs live this long (seconds) */
#define NGX_AMS_CLUSTER_TOKEN_TTL    60

/* the store's cluster-wide collections: app "" (AMS's "clusterdb") */
#define NGX_AMS_COLL_NODE            "clusternode"

/* per application: each group's relay of a stream whose origin is in
 * another group (ngx_ams_cluster_relay.c), id "{streamId}@{nodeGroup}" */
#define NGX_AMS_COLL_GROUP_RELAY     "grouprelay"


typedef struct {
    ngx_uint_t                role;          /* NGX_AMS_CLUSTER_* */
    ngx_str_t                 node_id;       /* default: node_address */
    ngx_str_t                 node_group;    /* default: "default" */
    ngx_msec_t                update_period; /* node_update_period */
    ngx_msec_t                dead_removal;  /* node_dead_removal */
    ngx_uint_t                http_port;     /* what other nodes connect */
    ngx_uint_t                rtmp_port;     /*   to: node_http_port, ... */
    ngx_str_t                 key;           /* cluster_communication_key */
    ngx_msec_t                relay_release; /* relay_release_time */
    ngx_msec_t                relay_timeout; /* relay_timeout */
    ngx_shm_zone_t           *shm_zone;
    ngx_uint_t                enabled;       /* set by the ams {} block's
                                                directives: a node role */
} ngx_ams_cluster_conf_t;


/* one node, as the snapshot holds it (copied out by readers) */
typedef struct {
    char                      id[NGX_AMS_CLUSTER_ID_LEN];
    char                      ip[NGX_AMS_CLUSTER_ID_LEN];
    char                      group[NGX_AMS_CLUSTER_GROUP_LEN];
    ngx_uint_t                role;
    in_port_t                 http_port;
    in_port_t                 rtmp_port;
    int64_t                   last_update_ms; /* wall clock */
    ngx_uint_t                alive;         /* as of the snapshot */
    ngx_uint_t                cpu_x100;
    ngx_uint_t                memory_x100;
    ngx_uint_t                streams;
    ngx_uint_t                viewers;
} ngx_ams_cluster_node_t;


/* the zone "ams_cluster" */
typedef struct {
    ngx_shmtx_t               lock;
    ngx_atomic_t              heartbeat_pid; /* the worker that refreshes:
                                                taken with a compare-and-
                                                set (ngx_ams_cluster_node.c) */
    ngx_atomic_t              beat_ms;       /* its last tick, wall clock:
                                                stale, another takes over */
    ngx_atomic_t              conf_generation; /* grows with each
                                                configuration the master
                                                loads: a reload's old
                                                workers see it moved */
    ngx_atomic_t              stopped;       /* this node's record was
                                                marked stopped */
    ngx_atomic_t              store_down;    /* the outage was logged */
    int64_t                   down_ms;       /* the last outage's start */
    int64_t                   back_ms;       /*   and end (wall clock) */
    int64_t                   refreshed_ms;  /* the snapshot's wall clock */
    ngx_uint_t                version;       /* grows with each refresh */
    ngx_uint_t                nodes_n;
    ngx_ams_cluster_node_t    nodes[NGX_AMS_CLUSTER_MAX_NODES];
} ngx_ams_cluster_shm_t;


extern ngx_module_t  ngx_ams_cluster_module;
extern ngx_ams_store_backend_t  ngx_ams_store_mongo;
extern ngx_ams_store_backend_t  ngx_ams_store_mongo_srv;


ngx_ams_cluster_conf_t *ngx_ams_cluster_conf(ngx_cycle_t *cycle);
ngx_ams_cluster_shm_t *ngx_ams_cluster_shm(void);

/*
 * The snapshot, copied out under its lock.  _find: the node whose "ip"
 * (AMS's originAdress) or "id" is "key"; NGX_DECLINED when none.
 */
ngx_int_t ngx_ams_cluster_node_find(ngx_str_t *key,
    ngx_ams_cluster_node_t *node);
ngx_uint_t ngx_ams_cluster_nodes(ngx_ams_cluster_node_t *nodes,
    ngx_uint_t max);

/* ngx_ams_cluster_node.c: registration and heartbeat */
ngx_int_t ngx_ams_cluster_node_init_module(ngx_cycle_t *cycle);
ngx_int_t ngx_ams_cluster_node_init_worker(ngx_cycle_t *cycle);
void ngx_ams_cluster_node_exit_worker(ngx_cycle_t *cycle);
/* ALIVE: a record (clusternode doc) updated within 4 periods, not
 * stopped, as of "now_ms" */
ngx_uint_t ngx_ams_cluster_node_alive(json_t *doc, int64_t now_ms,
    ngx_msec_t period);

/* ngx_ams_cluster_rest.c: /rest/v2/cluster/..., cluster-mode-status
 * (added to the API's routes on every configuration cycle) */
ngx_int_t ngx_ams_cluster_rest_init(void);


/*
 * ngx_ams_cluster_relay.c: where a stream lives, and the stream-missing
 * handler that pulls it from there.
 *
 * ngx_ams_cluster_locate(): stream "name" of application "app" is live
 * on another node when its broadcast record (the store, read through a
 * per-worker cache of NGX_AMS_CLUSTER_LOCATE_TTL ms that collapses a
 * burst of callers into one query) is "broadcasting" and fresh, and its
 * originAdress names a node of the snapshot that is ALIVE.  The node's
 * state is read from the snapshot at each call (never cached here).
 *
 *   NGX_OK        lc->origin is the node to fetch it from (ip,
 *                 rtmp_port, http_port): its origin, or, when the
 *                 origin's node_group is another than this node's, the
 *                 group's relay of the stream (lc->group_relay set) unless
 *                 this node is that relay (see "Node groups" below)
 *   NGX_DECLINED  not live on another ALIVE node: no record, not
 *                 broadcasting, stale, its origin DEAD or unknown, or
 *                 it is this node (lc->self set)
 *   NGX_AGAIN     the store is asked: lc->handler(lc) runs later on the
 *                 event loop with lc->rc NGX_OK / NGX_DECLINED /
 *                 NGX_ERROR, unless ngx_ams_cluster_locate_cancel(lc)
 *                 was called first (a request that went away)
 *   NGX_ERROR
 *
 * "lc" is the caller's (in its request, say) and must stay until the
 * handler ran or it was cancelled.  "app" and "name" are copied.
 *
 * Node groups: a stream whose origin is in another group crosses groups
 * once per group.  The group's relay of the stream is a claim in the
 * store (NGX_AMS_COLL_GROUP_RELAY, the CLAIM operation, made by the
 * first node of the group that locates the stream): the node holding it
 * is answered its origin, the group's other nodes that node while it is
 * ALIVE.  The worker whose pull holds the relay refreshes the claim
 * every node_update_period; a claim not refreshed for 4 periods goes to
 * the next node that asks, and a released relay deletes its claim.
 */

#define NGX_AMS_CLUSTER_LOCATE_TTL   1000

typedef struct ngx_ams_cluster_locate_s  ngx_ams_cluster_locate_t;

typedef void (*ngx_ams_cluster_locate_pt)(ngx_ams_cluster_locate_t *lc);

struct ngx_ams_cluster_locate_s {
    ngx_ams_cluster_locate_pt  handler;
    void                      *data;

    /* the answer */
    ngx_int_t                  rc;
    ngx_ams_cluster_node_t     origin;
    ngx_uint_t                 self;         /* the record names this node */
    ngx_uint_t                 group_relay;  /* "origin" is this group's
                                                relay of the stream */

    /* ngx_ams_cluster_relay.c's */
    ngx_queue_t                queue;
    void                      *entry;
};

ngx_int_t ngx_ams_cluster_locate(ngx_ams_cluster_locate_t *lc,
    ngx_str_t *app, ngx_str_t *name, ngx_log_t *log);
void ngx_ams_cluster_locate_cancel(ngx_ams_cluster_locate_t *lc);

/*
 * Pull stream "name" of "app" to this node if it lives on another one, as
 * the stream-missing handler does for a reader (an HLS/DASH gate that
 * wants the relay's viewer counting without a bus reader calls it):
 * NGX_OK when a locate and pull are under way (or one runs already);
 * NGX_DECLINED when this node is no cluster member with a key.  The pull
 * is released relay_release_time after its last local reader or HLS/DASH
 * viewer left.
 */
ngx_int_t ngx_ams_cluster_relay_start(ngx_ams_app_conf_t *app,
    ngx_str_t *name, ngx_log_t *log);

/* installs the stream-missing handler (from create_conf) */
void ngx_ams_cluster_relay_init_chain(void);

/* an exiting worker gives up the group relays it holds (an
 * ngx_ams_store_at_exit() hook, blocking) */
void ngx_ams_cluster_relay_exit_worker(ngx_cycle_t *cycle);


#endif /* _NGX_AMS_CLUSTER_H_INCLUDED_ */
