
/*
 * Copyright (C) nginx-ams authors
 *
 * This node's record in "clusternode" and the snapshot of every node's.
 *
 * Every worker ticks each node_update_period; one of them, the one whose
 * pid a compare-and-set put in the zone's heartbeat_pid, sends the
 * heartbeat: one chain of store operations (one transaction) that
 * upserts this node's record, now and then deletes the records that have
 * been DEAD longer than node_dead_removal (EXPIRE), and lists every
 * node, from which it refreshes the zone's snapshot.  The others take
 * the heartbeat over when its worker is gone (killed: its pid no longer
 * answers), exiting (a reload's old worker lets go) or stuck (no tick
 * for two periods).
 *
 * ALIVE is computed when read: a record updated within
 * NGX_AMS_CLUSTER_ALIVE_PERIODS of this node's own period, and not
 * stopped since.  A node that stops (nginx -s quit|stop, not a reload)
 * writes "stoppedTime" as its first worker exits, so it reads DEAD at
 * once; a killed node reads DEAD when its last update ages.
 *
 * The store down: the first failed heartbeat logs, later ones do not,
 * and the first that succeeds again says so; the snapshot is kept as it
 * was meanwhile (its nodes' "alive" goes on as of refreshed_ms).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_cluster.h"
#include "ngx_ams_broadcast.h"
#include "ngx_ams_viewers.h"


/* a stuck heartbeat worker is replaced after this many periods */
#define NGX_AMS_CLUSTER_STUCK_PERIODS   2

/* DEAD records are looked for at most this often (ms) */
#define NGX_AMS_CLUSTER_EXPIRE_MAX      60000


typedef struct {
    ngx_uint_t                streams;
    ngx_uint_t                viewers;
} ngx_ams_cluster_load_t;


static void ngx_ams_cluster_tick(ngx_event_t *ev);
static ngx_int_t ngx_ams_cluster_holder(ngx_ams_cluster_shm_t *sh,
    ngx_ams_cluster_conf_t *ccf, int64_t now);
static void ngx_ams_cluster_beat(ngx_ams_cluster_conf_t *ccf, int64_t now,
    ngx_log_t *log);
static json_t *ngx_ams_cluster_record(ngx_ams_cluster_conf_t *ccf,
    int64_t now);
static void ngx_ams_cluster_add_stream(ngx_ams_stream_t *st, void *data);
static void ngx_ams_cluster_beaten(ngx_ams_store_op_t *ops);
static void ngx_ams_cluster_refresh(ngx_ams_cluster_conf_t *ccf,
    ngx_ams_store_op_t *list, int64_t now);
static void ngx_ams_cluster_copy(char *dst, size_t size, json_t *doc,
    const char *field);
static int64_t ngx_ams_cluster_dead_window(ngx_ams_cluster_conf_t *ccf);
static ngx_uint_t ngx_ams_cluster_pid_alive(ngx_pid_t pid);
static ngx_uint_t ngx_ams_cluster_outage_grace(ngx_ams_cluster_conf_t *ccf,
    json_t *doc, int64_t now);
static ngx_uint_t ngx_ams_cluster_valid_address(char *ip);
static ngx_uint_t ngx_ams_cluster_valid_port(json_t *doc,
    const char *field);
static void ngx_ams_cluster_stopped(ngx_ams_store_op_t *op);


static ngx_event_t   ngx_ams_cluster_timer;
static ngx_uint_t    ngx_ams_cluster_in_flight;
static ngx_uint_t    ngx_ams_cluster_generation;  /* this worker's */
static int64_t       ngx_ams_cluster_expired_ms;


/* the master, on every configuration cycle: workers forked from an
 * earlier one see the generation move and know it is a reload */
ngx_int_t
ngx_ams_cluster_node_init_module(ngx_cycle_t *cycle)
{
    ngx_ams_cluster_shm_t  *sh;

    sh = ngx_ams_cluster_shm();

    if (sh) {
        (void) ngx_atomic_fetch_add(&sh->conf_generation, 1);
    }

    return NGX_OK;
}


ngx_int_t
ngx_ams_cluster_node_init_worker(ngx_cycle_t *cycle)
{
    ngx_ams_node_stats_t   *ns;
    ngx_ams_main_conf_t    *amcf;
    ngx_ams_cluster_shm_t  *sh;

    sh = ngx_ams_cluster_shm();
    amcf = ngx_ams_get_main_conf(cycle);

    if (sh == NULL || amcf == NULL) {
        return NGX_OK;
    }

    ngx_ams_cluster_generation = sh->conf_generation;

    ns = ngx_ams_bus_node_stats();
    if (ns) {
        ns->cluster_on = 1;
    }

    if (amcf->store == NULL) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "ams cluster: no \"database\": this node does not "
                      "register itself nor see other nodes");
        return NGX_OK;
    }

    ngx_ams_cluster_timer.handler = ngx_ams_cluster_tick;
    ngx_ams_cluster_timer.log = cycle->log;
    ngx_ams_cluster_timer.cancelable = 1;

    /* the first heartbeat at once: a node is in the cluster as it starts */
    ngx_add_timer(&ngx_ams_cluster_timer, 1);

    return NGX_OK;
}


static void
ngx_ams_cluster_tick(ngx_event_t *ev)
{
    int64_t                  now;
    ngx_pid_t                locker;
    ngx_ams_cluster_shm_t   *sh;
    ngx_ams_cluster_conf_t  *ccf;

    sh = ngx_ams_cluster_shm();
    ccf = ngx_ams_cluster_conf((ngx_cycle_t *) ngx_cycle);

    if (ngx_exiting || ngx_terminate || ngx_quit || sh->stopped) {
        /* a reload's old worker: the new generation takes over at once */
        (void) ngx_atomic_cmp_set(&sh->heartbeat_pid, ngx_pid, 0);
        return;
    }

    ngx_add_timer(ev, ccf->update_period);

    /* a worker killed while it held the snapshot's lock (SIGKILL, a
     * crash): nginx frees only its zones' slab mutexes */
    locker = (ngx_pid_t) *sh->lock.lock;

    if (locker && locker != ngx_pid
        && !ngx_ams_cluster_pid_alive(locker)
        && ngx_shmtx_force_unlock(&sh->lock, locker))
    {
        ngx_log_error(NGX_LOG_ALERT, ev->log, 0,
                      "ams cluster: the node snapshot's lock was held by "
                      "worker %P, which is gone: released", locker);
    }

    now = ngx_ams_store_now_ms();

    if (ngx_ams_cluster_holder(sh, ccf, now) != NGX_OK) {
        return;
    }

    sh->beat_ms = (ngx_atomic_uint_t) now;

    /* a store slower than a period: one heartbeat at a time */
    if (!ngx_ams_cluster_in_flight) {
        ngx_ams_cluster_beat(ccf, now, ev->log);
    }
}


/* NGX_OK: this worker sends the heartbeat (it had it, or took it over) */
static ngx_int_t
ngx_ams_cluster_holder(ngx_ams_cluster_shm_t *sh,
    ngx_ams_cluster_conf_t *ccf, int64_t now)
{
    ngx_pid_t  holder;

    holder = (ngx_pid_t) sh->heartbeat_pid;

    if (holder == ngx_pid) {
        return NGX_OK;
    }

    if (holder != 0
        && ngx_ams_cluster_pid_alive(holder)
        && now - (int64_t) sh->beat_ms
           < (int64_t) (NGX_AMS_CLUSTER_STUCK_PERIODS * ccf->update_period))
    {
        return NGX_DECLINED;
    }

    if (!ngx_atomic_cmp_set(&sh->heartbeat_pid, (ngx_atomic_uint_t) holder,
                            (ngx_atomic_uint_t) ngx_pid))
    {
        return NGX_DECLINED;   /* another worker was quicker */
    }

    if (holder) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "ams cluster: this worker sends the heartbeat now "
                      "(worker %P %s)", holder,
                      ngx_ams_cluster_pid_alive(holder) ? "missed it"
                                                        : "is gone");

    } else {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "ams cluster: this worker sends the heartbeat of "
                      "node \"%V\" every %M ms", &ccf->node_id,
                      ccf->update_period);
    }

    return NGX_OK;
}


/* how long a record goes without an update before EXPIRE takes it */
static int64_t
ngx_ams_cluster_dead_window(ngx_ams_cluster_conf_t *ccf)
{
    ngx_msec_t  dead;

    dead = NGX_AMS_CLUSTER_ALIVE_PERIODS * ccf->update_period;

    return (int64_t) ngx_max(ccf->dead_removal, dead);
}


static ngx_uint_t
ngx_ams_cluster_pid_alive(ngx_pid_t pid)
{
    return kill(pid, 0) == 0 || ngx_errno != NGX_ESRCH;
}


/* one chain, one transaction: UPSERT [EXPIRE] LIST */
static void
ngx_ams_cluster_beat(ngx_ams_cluster_conf_t *ccf, int64_t now,
    ngx_log_t *log)
{
    int64_t              every, window;
    ngx_str_t            app;
    ngx_ams_store_op_t  *ops, *op, **last;

    ngx_str_set(&app, "");

    ops = NULL;
    last = &ops;

    /* a balancer (ams_cluster_upstream) reads the nodes, is none */
    if (ccf->role != NGX_AMS_CLUSTER_BALANCER) {
        op = ngx_ams_store_op(NGX_AMS_STORE_UPSERT, NGX_AMS_COLL_NODE, &app,
                              &ccf->node_id, log);
        if (op == NULL) {
            return;
        }

        op->quiet = 1;
        *last = op;
        last = &op->next;

        op->set = ngx_ams_cluster_record(ccf, now);
        if (op->set == NULL) {
            goto failed;
        }
    }

    /* DEAD long enough: node_dead_removal, never less than it takes to
     * read DEAD; looked for a few times per node_dead_removal */
    window = ngx_ams_cluster_dead_window(ccf);
    every = ngx_min(window / 4, NGX_AMS_CLUSTER_EXPIRE_MAX);

    if (now - ngx_ams_cluster_expired_ms >= every) {
        op = ngx_ams_store_op(NGX_AMS_STORE_EXPIRE, NGX_AMS_COLL_NODE, &app,
                              NULL, log);
        if (op == NULL) {
            goto failed;
        }

        op->quiet = 1;
        op->time_field = "lastUpdateTime";
        op->before_ms = now - window;
        *last = op;
        last = &op->next;
        ngx_ams_cluster_expired_ms = now;
    }

    op = ngx_ams_store_op(NGX_AMS_STORE_LIST, NGX_AMS_COLL_NODE, &app, NULL,
                          log);
    if (op == NULL) {
        goto failed;
    }

    op->quiet = 1;
    op->size = NGX_AMS_CLUSTER_MAX_NODES;
    *last = op;

    ops->handler = ngx_ams_cluster_beaten;
    ops->data = ccf;

    if (ngx_ams_store_post(ops) != NGX_OK) {
        goto failed;
    }

    ngx_ams_cluster_in_flight = 1;

    return;

failed:

    ngx_log_error(NGX_LOG_ALERT, log, 0,
                  "ams cluster: could not send the heartbeat");
    ngx_ams_store_free(ops);
}


/*
 * The record, AMS's ClusterNode with our fields: cpu and memory in
 * percent (numbers), this node's streams and viewers from the bus.
 */
static json_t *
ngx_ams_cluster_record(ngx_ams_cluster_conf_t *ccf, int64_t now)
{
    json_t                 *doc;
    ngx_ams_main_conf_t    *amcf;
    ngx_ams_node_stats_t   *ns;
    ngx_ams_cluster_load_t  load;

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);
    ns = ngx_ams_bus_node_stats();

    ngx_memzero(&load, sizeof(load));
    ngx_ams_bus_each(ngx_ams_cluster_add_stream, &load);

    doc = json_pack("{s:s%, s:s%, s:s, s:s%, s:s, s:f, s:I, s:I, s:I,"
                    " s:I, s:I, s:I}",
                    "id", (char *) ccf->node_id.data, ccf->node_id.len,
                    "ip", (char *) amcf->node_address.data,
                    amcf->node_address.len,
                    "role", ccf->role == NGX_AMS_CLUSTER_EDGE ? "edge"
                                                               : "origin",
                    "nodeGroup", (char *) ccf->node_group.data,
                    ccf->node_group.len,
                    "version", NGX_AMS_VERSION,
                    "cpu", ns ? (double) ns->cpu_x100 / 100 : 0.0,
                    "memory", (json_int_t) (ns ? ns->memory_percent : 0),
                    "liveStreams", (json_int_t) load.streams,
                    "viewers", (json_int_t) load.viewers,
                    "httpPort", (json_int_t) ccf->http_port,
                    "rtmpPort", (json_int_t) ccf->rtmp_port,
                    "lastUpdateTime", (json_int_t) now);

    return doc;
}


static void
ngx_ams_cluster_add_stream(ngx_ams_stream_t *st, void *data)
{
    ngx_ams_cluster_load_t  *load = data;

    ngx_str_t            name;
    ngx_ams_app_conf_t  *app;

    /* a transcoder's renditions are their stream's, not streams */
    if (st->source_kind == NGX_AMS_SOURCE_RENDITION) {
        return;
    }

    load->streams++;
    load->viewers += st->rtmp_viewers + ngx_ams_webrtc_viewers(st);

    name.data = st->app;
    name.len = st->app_len;

    app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &name);

    if (app) {
        load->viewers += ngx_ams_broadcast_viewers(st, app,
                                                   NGX_AMS_VIEWER_HLS)
                         + ngx_ams_broadcast_viewers(st, app,
                                                     NGX_AMS_VIEWER_DASH);
    }
}


static void
ngx_ams_cluster_beaten(ngx_ams_store_op_t *ops)
{
    int64_t                  now;
    ngx_ams_store_op_t      *op, *failed;
    ngx_ams_cluster_shm_t   *sh;
    ngx_ams_cluster_conf_t  *ccf = ops->data;

    ngx_ams_cluster_in_flight = 0;

    sh = ngx_ams_cluster_shm();
    now = ngx_ams_store_now_ms();

    failed = NULL;

    for (op = ops; op; op = op->next) {
        if (op->rc == NGX_ERROR) {
            failed = op;
            break;
        }
    }

    if (failed) {
        /* once per outage, whichever worker sends the heartbeats */
        if (ngx_atomic_cmp_set(&sh->store_down, 0, 1)) {
            sh->down_ms = now;
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "ams cluster: heartbeat of node \"%V\" failed, "
                          "retried every %M ms, logged once until the "
                          "store answers again: %V %s: %s",
                          &ccf->node_id, ccf->update_period,
                          &ops->store->backend->scheme,
                          ngx_ams_store_op_name(failed->type),
                          failed->error);
        }

        ngx_ams_store_free(ops);
        return;
    }

    if (ngx_atomic_cmp_set(&sh->store_down, 1, 0)) {
        sh->back_ms = now;
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "ams cluster: heartbeat of node \"%V\" sent again: "
                      "the store answers", &ccf->node_id);
    }

    for (op = ops; op; op = op->next) {
        if (op->type == NGX_AMS_STORE_EXPIRE && op->count) {
            ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                          "ams cluster: %uL DEAD node records removed "
                          "(no update for %M ms)", op->count,
                          (ngx_msec_t) ngx_ams_cluster_dead_window(ccf));
        }

        if (op->type == NGX_AMS_STORE_LIST) {
            ngx_ams_cluster_refresh(ccf, op, now);
        }
    }

    ngx_ams_store_free(ops);
}


ngx_uint_t
ngx_ams_cluster_node_alive(json_t *doc, int64_t now_ms, ngx_msec_t period)
{
    double   last;
    json_t  *v, *stopped;

    v = json_object_get(doc, "lastUpdateTime");

    if (!json_is_number(v)) {
        return 0;
    }

    /* a real: the MongoDB test server returns int64s as doubles */
    last = json_number_value(v);

    /* stopped after its last update: a heartbeat of the same run that
     * lands after the mark is older than it, one of a later run (a
     * restart, a binary upgrade) is newer */
    stopped = json_object_get(doc, "stoppedTime");

    if (json_is_number(stopped) && json_number_value(stopped) >= last) {
        return 0;
    }

    /* a time ahead of this node's clock by more than clocks drift apart
     * would keep a record ALIVE long after its node is gone */
    if ((int64_t) last > now_ms + NGX_AMS_CLUSTER_CLOCK_SKEW) {
        return 0;
    }

    return now_ms - (int64_t) last
           <= (int64_t) (NGX_AMS_CLUSTER_ALIVE_PERIODS * period);
}


/*
 * After a store outage every node's record is as old as the outage: the
 * others could not write either.  A node that was ALIVE when it began
 * (an update within 4 periods of its start), and did not stop, keeps
 * reading ALIVE for 4 periods after this node saw the store again, time
 * for its own next heartbeat; one that died meanwhile reads DEAD then.
 * Without this the first node back would drop its pulls from every
 * origin, and viewers would lose what the outage itself never touched.
 */
static ngx_uint_t
ngx_ams_cluster_outage_grace(ngx_ams_cluster_conf_t *ccf, json_t *doc,
    int64_t now)
{
    double                  last;
    int64_t                 window;
    json_t                 *v, *stopped;
    ngx_ams_cluster_shm_t  *sh;

    sh = ngx_ams_cluster_shm();
    window = (int64_t) (NGX_AMS_CLUSTER_ALIVE_PERIODS * ccf->update_period);

    if (sh->back_ms == 0 || now - sh->back_ms > window) {
        return 0;
    }

    v = json_object_get(doc, "lastUpdateTime");
    stopped = json_object_get(doc, "stoppedTime");

    if (!json_is_number(v)
        || (json_is_number(stopped)
            && json_number_value(stopped) >= json_number_value(v)))
    {
        return 0;
    }

    last = json_number_value(v);

    return (int64_t) last >= sh->down_ms - window
           && (int64_t) last <= now + NGX_AMS_CLUSTER_CLOCK_SKEW;
}


/* an IPv4 or IPv6 address, nothing else (no host name, port or path) */
static ngx_uint_t
ngx_ams_cluster_valid_address(char *ip)
{
    size_t  len;
    u_char  buf[16];

    len = ngx_strlen(ip);

    if (len == 0) {
        return 0;
    }

    if (ngx_inet_addr((u_char *) ip, len) != INADDR_NONE) {
        return 1;
    }

#if (NGX_HAVE_INET6)
    if (ngx_inet6_addr((u_char *) ip, len, buf) == NGX_OK) {
        return 1;
    }
#endif

    return 0;
}


static ngx_uint_t
ngx_ams_cluster_valid_port(json_t *doc, const char *field)
{
    double   port;
    json_t  *v;

    v = json_object_get(doc, field);

    if (!json_is_number(v)) {
        return 0;
    }

    port = json_number_value(v);

    return port >= 1 && port <= 65535 && port == (double) (int) port;
}


/* the LIST's array of records into the zone's snapshot */
static void
ngx_ams_cluster_refresh(ngx_ams_cluster_conf_t *ccf,
    ngx_ams_store_op_t *list, int64_t now)
{
    json_t                  *arr, *doc, *v;
    size_t                   i;
    ngx_uint_t               n, alive;
    json_error_t             jerr;
    ngx_ams_node_stats_t    *ns;
    ngx_ams_cluster_shm_t   *sh;
    ngx_ams_cluster_node_t  *nodes, *node;

    arr = json_loadb(list->text ? list->text : "[]",
                     list->text ? list->text_len : 2, 0, &jerr);

    if (!json_is_array(arr)) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "ams cluster: the store's list of nodes is not a JSON "
                      "array: %s", jerr.text);
        json_decref(arr);
        return;
    }

    /* built here, copied in under the lock */
    nodes = ngx_alloc(NGX_AMS_CLUSTER_MAX_NODES
                      * sizeof(ngx_ams_cluster_node_t), ngx_cycle->log);
    if (nodes == NULL) {
        json_decref(arr);
        return;
    }

    n = 0;
    alive = 0;

    json_array_foreach(arr, i, doc) {
        if (n == NGX_AMS_CLUSTER_MAX_NODES) {
            break;
        }

        node = &nodes[n];
        ngx_memzero(node, sizeof(ngx_ams_cluster_node_t));

        ngx_ams_cluster_copy(node->id, sizeof(node->id), doc, "id");
        ngx_ams_cluster_copy(node->ip, sizeof(node->ip), doc, "ip");
        ngx_ams_cluster_copy(node->group, sizeof(node->group), doc,
                             "nodeGroup");

        if (node->id[0] == '\0') {
            continue;
        }

        v = json_object_get(doc, "role");
        node->role = (json_is_string(v)
                      && ngx_strcmp(json_string_value(v), "edge") == 0)
                     ? NGX_AMS_CLUSTER_EDGE : NGX_AMS_CLUSTER_ORIGIN;

        /* the address and ports go into proxy_pass and RTMP pulls: a
         * record that anyone with the store's credentials wrote must not
         * point this node (with its token) at an arbitrary host */
        if (!ngx_ams_cluster_valid_address(node->ip)
            || !ngx_ams_cluster_valid_port(doc, "httpPort")
            || !ngx_ams_cluster_valid_port(doc, "rtmpPort"))
        {
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "ams cluster: node record \"%s\" ignored: its ip "
                          "is not an IP address or a port is not 1..65535",
                          node->id);
            continue;
        }

        node->http_port = (in_port_t) json_number_value(
                              json_object_get(doc, "httpPort"));
        node->rtmp_port = (in_port_t) json_number_value(
                              json_object_get(doc, "rtmpPort"));
        node->last_update_ms = (int64_t) json_number_value(
                                   json_object_get(doc, "lastUpdateTime"));
        node->cpu_x100 = (ngx_uint_t) (json_number_value(
                              json_object_get(doc, "cpu")) * 100);
        node->memory_x100 = (ngx_uint_t) (json_number_value(
                                 json_object_get(doc, "memory")) * 100);
        node->streams = (ngx_uint_t) json_number_value(
                            json_object_get(doc, "liveStreams"));
        node->viewers = (ngx_uint_t) json_number_value(
                            json_object_get(doc, "viewers"));
        node->alive = ngx_ams_cluster_node_alive(doc, now,
                                                 ccf->update_period)
                      || ngx_ams_cluster_outage_grace(ccf, doc, now);

        alive += node->alive;
        n++;
    }

    json_decref(arr);

    sh = ngx_ams_cluster_shm();

    ngx_shmtx_lock(&sh->lock);

    ngx_memcpy(sh->nodes, nodes, n * sizeof(ngx_ams_cluster_node_t));
    sh->nodes_n = n;
    sh->refreshed_ms = now;
    sh->version++;

    ngx_shmtx_unlock(&sh->lock);

    ngx_free(nodes);

    ns = ngx_ams_bus_node_stats();
    if (ns) {
        ns->cluster_alive = alive;
        ns->cluster_dead = n - alive;
    }
}


static void
ngx_ams_cluster_copy(char *dst, size_t size, json_t *doc, const char *field)
{
    json_t  *v;

    v = json_object_get(doc, field);

    if (json_is_string(v)) {
        ngx_cpystrn((u_char *) dst, (u_char *) json_string_value(v), size);
    }
}


/*
 * Each exiting worker, before the store closes (ngx_ams_store_at_exit):
 * when the node stops (not a reload: the master has loaded no newer
 * configuration since this worker's), the first worker out writes the
 * record's "stoppedTime", so it reads DEAD at once.  Blocking, as the
 * worker is leaving: the store's thread pool is gone.
 */
void
ngx_ams_cluster_node_exit_worker(ngx_cycle_t *cycle)
{
    int64_t                  stopped;
    ngx_str_t                app;
    ngx_ams_store_op_t      *op;
    ngx_ams_cluster_shm_t   *sh;
    ngx_ams_cluster_conf_t  *ccf;

    ccf = ngx_ams_cluster_conf(cycle);
    sh = ngx_ams_cluster_shm();

    if (ccf == NULL || !ccf->enabled || sh == NULL
        || ccf->role == NGX_AMS_CLUSTER_BALANCER
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return;
    }

    (void) ngx_atomic_cmp_set(&sh->heartbeat_pid, ngx_pid, 0);

    if (!(ngx_terminate || ngx_quit || ngx_exiting)
        || sh->conf_generation != ngx_ams_cluster_generation
        || !ngx_atomic_cmp_set(&sh->stopped, 0, 1))
    {
        return;
    }

    ngx_str_set(&app, "");

    op = ngx_ams_store_op(NGX_AMS_STORE_UPDATE, NGX_AMS_COLL_NODE, &app,
                          &ccf->node_id, cycle->log);
    if (op == NULL) {
        return;
    }

    /* after every heartbeat this node has sent, whatever the workers'
     * cached clocks say */
    stopped = ngx_max(ngx_ams_store_now_ms(), (int64_t) sh->beat_ms) + 1;

    op->set = json_pack("{s:I}", "stoppedTime", (json_int_t) stopped);

    if (op->set == NULL) {
        ngx_ams_store_free(op);
        return;
    }

    op->handler = ngx_ams_cluster_stopped;

    ngx_ams_store_run_now(op);
}


static void
ngx_ams_cluster_stopped(ngx_ams_store_op_t *op)
{
    if (op->rc == NGX_OK) {
        ngx_log_error(NGX_LOG_NOTICE, op->log, 0,
                      "ams cluster: node \"%s\" stops: its record is "
                      "marked stopped (stoppedTime)", op->id);

    } else if (op->rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_NOTICE, op->log, 0,
                      "ams cluster: node \"%s\" stops: it has no record",
                      op->id);
    }

    /* NGX_ERROR: ngx_ams_store_complete() logged it */

    ngx_ams_store_free(op);
}
