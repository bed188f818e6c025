
/*
 * Copyright (C) nginx-ams authors
 *
 * /metrics in Prometheus' text exposition format (version 0.0.4): the
 * StatsCollector's figures, each live stream's counters and the bus's
 * health, read from shared memory without touching the store.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_api.h"
#include "ngx_ams_broadcast.h"
#include "ngx_ams_viewers.h"
#include "ngx_ams_stats.h"


/* a stream's 8 samples: their names, values, and the labels each */
#define NGX_AMS_METRICS_PER_STREAM   512


/* one live stream's figures, copied under the registry lock */
typedef struct {
    ngx_str_t                 labels;        /* app="..",stream=".." */
    ngx_uint_t                rtmp;
    ngx_uint_t                hls;
    ngx_uint_t                dash;
    ngx_uint_t                webrtc;
    uint64_t                  in_bytes;
    uint64_t                  frames;
    uint64_t                  rejected;
    time_t                    uptime;
} ngx_ams_metrics_stream_t;


typedef struct {
    ngx_pool_t               *pool;
    ngx_array_t               streams;       /* ngx_ams_metrics_stream_t */
    ngx_uint_t                error;
} ngx_ams_metrics_snap_t;


static void ngx_ams_metrics_snap(ngx_ams_stream_t *st, void *data);
static u_char *ngx_ams_metrics_family(u_char *p, u_char *last,
    const char *name, const char *type, const char *help);
static u_char *ngx_ams_metrics_x100(u_char *p, u_char *last,
    const char *name, ngx_uint_t value);
static u_char *ngx_ams_metrics_label(u_char *p, u_char *last, u_char *v,
    size_t len);


ngx_int_t
ngx_ams_metrics_handler(ngx_http_request_t *r)
{
    u_char                    *p, *last;
    size_t                     size, zone_used, zone_size;
    ngx_int_t                  rc;
    ngx_buf_t                 *b;
    ngx_uint_t                 i, n;
    ngx_ams_main_conf_t       *amcf;
    ngx_ams_node_stats_t      *ns;
    ngx_ams_metrics_snap_t     snap;
    ngx_ams_metrics_stream_t  *ms;

    if (!ngx_ams_api_allowed(r)) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "ams metrics: %V is not in ams_remote_allowed_cidr",
                      &r->connection->addr_text);
        return NGX_HTTP_FORBIDDEN;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ns = ngx_ams_bus_node_stats();
    if (ns == NULL) {
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    snap.pool = r->pool;
    snap.error = 0;

    if (ngx_array_init(&snap.streams, r->pool, 16,
                       sizeof(ngx_ams_metrics_stream_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_ams_bus_each(ngx_ams_metrics_snap, &snap);

    if (snap.error) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = snap.streams.nelts;
    ms = snap.streams.elts;

    size = 16384;   /* the node's families; streams add theirs */
    for (i = 0; i < n; i++) {
        size += NGX_AMS_METRICS_PER_STREAM + 8 * ms[i].labels.len;
    }

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = b->pos;
    last = b->end;

    /* the text format groups a family's samples right after its own
     * HELP and TYPE lines */
    p = ngx_ams_metrics_family(p, last, "ams_streams_active", "gauge",
                               "Live streams on this node.");
    p = ngx_slprintf(p, last, "ams_streams_active %ui\n", n);

    p = ngx_ams_metrics_family(p, last, "ams_node_cpu_percent", "gauge",
                               "CPU load, moving average of 5 one-second "
                               "samples.");
    p = ngx_ams_metrics_x100(p, last, "ams_node_cpu_percent",
                             ns->cpu_x100);

    p = ngx_ams_metrics_family(p, last, "ams_process_cpu_percent", "gauge",
                               "CPU load of nginx's own processes, percent "
                               "of the machine.");
    p = ngx_ams_metrics_x100(p, last, "ams_process_cpu_percent",
                             ns->process_cpu_x100);

    p = ngx_ams_metrics_family(p, last, "ams_node_cpu_limit_percent",
                               "gauge", "Load above which new publishers "
                               "are refused (cpu_limit).");
    p = ngx_slprintf(p, last, "ams_node_cpu_limit_percent %ui\n",
                     amcf->cpu_limit);

    p = ngx_ams_metrics_family(p, last, "ams_node_memory_percent", "gauge",
                               "Memory in use.");
    p = ngx_slprintf(p, last, "ams_node_memory_percent %uA\n",
                     ns->memory_percent);

    p = ngx_ams_metrics_family(p, last, "ams_node_memory_limit_percent",
                               "gauge", "Memory use above which new "
                               "publishers are refused (memory_limit).");
    p = ngx_slprintf(p, last, "ams_node_memory_limit_percent %ui\n",
                     amcf->memory_limit);

    p = ngx_ams_metrics_family(p, last, "ams_node_memory_total_bytes",
                               "gauge", "Physical memory.");
    p = ngx_slprintf(p, last, "ams_node_memory_total_bytes %uL\n",
                     ns->memory_total);

    p = ngx_ams_metrics_family(p, last, "ams_node_memory_available_bytes",
                               "gauge", "Memory available.");
    p = ngx_slprintf(p, last, "ams_node_memory_available_bytes %uL\n",
                     ns->memory_available);

    p = ngx_ams_metrics_family(p, last, "ams_node_disk_total_bytes",
                               "gauge", "Size of the storage file system.");
    p = ngx_slprintf(p, last, "ams_node_disk_total_bytes %uL\n",
                     ns->disk_total);

    p = ngx_ams_metrics_family(p, last, "ams_node_disk_free_bytes", "gauge",
                               "Free space of the storage file system.");
    p = ngx_slprintf(p, last, "ams_node_disk_free_bytes %uL\n",
                     ns->disk_free);

    p = ngx_ams_metrics_family(p, last, "ams_node_overloaded", "gauge",
                               "1 while a resource limit is crossed.");
    p = ngx_slprintf(p, last, "ams_node_overloaded %d\n",
                     ns->overloaded ? 1 : 0);

    p = ngx_ams_metrics_family(p, last, "ams_refused_total", "counter",
                               "New publishers refused for high resource "
                               "usage (viewers never are).");
    p = ngx_slprintf(p, last,
                     "ams_refused_total{who=\"publisher\"} %uA\n"
                     "ams_refused_total{who=\"viewer\"} %uA\n",
                     ns->refused_publishers, ns->refused_viewers);

    p = ngx_ams_metrics_family(p, last, "ams_sent_bytes_total", "counter",
                               "Bytes this node sent: HLS and DASH "
                               "responses, RTMP sessions, WebRTC "
                               "datagrams (the node's egress).");
    p = ngx_slprintf(p, last,
                     "ams_sent_bytes_total{protocol=\"hls\"} %uA\n"
                     "ams_sent_bytes_total{protocol=\"dash\"} %uA\n"
                     "ams_sent_bytes_total{protocol=\"rtmp\"} %uA\n"
                     "ams_sent_bytes_total{protocol=\"webrtc\"} %uA\n",
                     ns->sent_bytes[NGX_AMS_SENT_HLS],
                     ns->sent_bytes[NGX_AMS_SENT_DASH],
                     ns->sent_bytes[NGX_AMS_SENT_RTMP],
                     ns->sent_bytes[NGX_AMS_SENT_WEBRTC]);

    p = ngx_ams_metrics_family(p, last, "ams_bus_stream_slots", "gauge",
                               "Streams the bus zone can hold "
                               "(max_streams).");
    p = ngx_slprintf(p, last, "ams_bus_stream_slots %ui\n",
                     amcf->max_streams);

    p = ngx_ams_metrics_family(p, last, "ams_bus_workers", "gauge",
                               "Worker processes attached to the bus.");
    p = ngx_slprintf(p, last, "ams_bus_workers %ui\n",
                     ngx_ams_bus_workers());

    /* seconds, as Prometheus names units (promtool refuses "_ms") */
    p = ngx_ams_metrics_family(p, last, "ams_db_average_query_seconds",
                               "gauge", "Store queries (a chain of "
                               "operations), moving average of their "
                               "time (AMS's dbAverageQueryTimeMs / 1000).");
    p = ngx_slprintf(p, last, "ams_db_average_query_seconds %uA.%06uA\n",
                     ns->db_query_avg_us / 1000000,
                     ns->db_query_avg_us % 1000000);

    p = ngx_ams_metrics_family(p, last, "ams_db_queries_total", "counter",
                               "Store queries run.");
    p = ngx_slprintf(p, last, "ams_db_queries_total %uA\n",
                     ns->db_queries);

    p = ngx_ams_metrics_family(p, last, "ams_db_slow_queries_total",
                               "counter", "Store queries over 100 ms.");
    p = ngx_slprintf(p, last, "ams_db_slow_queries_total %uA\n",
                     ns->db_slow_queries);

    p = ngx_ams_metrics_family(p, last, "ams_db_up", "gauge",
                               "1 while the store answers, 0 during an "
                               "outage.");
    p = ngx_slprintf(p, last, "ams_db_up %d\n", ns->db_down_since ? 0 : 1);

    p = ngx_ams_metrics_family(p, last, "ams_db_outages_total", "counter",
                               "Store outages since the node started.");
    p = ngx_slprintf(p, last, "ams_db_outages_total %uA\n", ns->db_outages);

    p = ngx_ams_metrics_family(p, last, "ams_encoders_blocked", "gauge",
                               "Transcoded streams dropping frames before "
                               "encoding because their encoders fell "
                               "behind (AMS's encoders-blocked).");
    p = ngx_slprintf(p, last, "ams_encoders_blocked %uA\n",
                     ns->encoders_blocked);

    p = ngx_ams_metrics_family(p, last, "ams_encoders_not_opened_total",
                               "counter", "Rung encoders that failed to "
                               "open (AMS's encoders-not-opened).");
    p = ngx_slprintf(p, last, "ams_encoders_not_opened_total %uA\n",
                     ns->encoders_not_opened);

    p = ngx_ams_metrics_family(p, last, "ams_encode_dropped_frames_total",
                               "counter", "Source frames dropped before "
                               "encoding (AMS's dropFrameCountInEncoding).");
    p = ngx_slprintf(p, last, "ams_encode_dropped_frames_total %uA\n",
                     ns->encode_dropped_frames);

    p = ngx_ams_metrics_family(p, last, "ams_encoder_queue_frames", "gauge",
                               "Frames waiting for encoders on this node "
                               "(an origin's auto-scaling signal).");
    p = ngx_slprintf(p, last, "ams_encoder_queue_frames %uA\n",
                     ns->encoder_queue);

    p = ngx_ams_metrics_family(p, last, "ams_transcoded_streams", "gauge",
                               "Live streams being transcoded on this "
                               "node.");
    p = ngx_slprintf(p, last, "ams_transcoded_streams %uA\n",
                     ns->transcoded_streams);

    if (ns->cluster_on) {
        p = ngx_ams_metrics_family(p, last, "ams_cluster_nodes", "gauge",
                                   "Cluster nodes in this node's "
                                   "snapshot, by status (refreshed every "
                                   "node_update_period).");
        p = ngx_slprintf(p, last,
                         "ams_cluster_nodes{status=\"alive\"} %uA\n"
                         "ams_cluster_nodes{status=\"dead\"} %uA\n",
                         ns->cluster_alive, ns->cluster_dead);
    }

    ngx_ams_bus_zone_usage(&zone_used, &zone_size);

    p = ngx_ams_metrics_family(p, last, "ams_bus_zone_used_bytes", "gauge",
                               "Pages of the bus zone in use (rings, viewer "
                               "tables): back to its baseline when streams "
                               "end.");
    p = ngx_slprintf(p, last, "ams_bus_zone_used_bytes %uz\n", zone_used);

    p = ngx_ams_metrics_family(p, last, "ams_bus_zone_size_bytes", "gauge",
                               "Size of the bus zone (bus_zone_size).");
    p = ngx_slprintf(p, last, "ams_bus_zone_size_bytes %uz\n", zone_size);

    p = ngx_ams_metrics_family(p, last, "ams_stream_viewers", "gauge",
                               "Viewers of a live stream on this node.");
    for (i = 0; i < n; i++) {
        p = ngx_slprintf(p, last,
                         "ams_stream_viewers{%V,protocol=\"rtmp\"} %ui\n"
                         "ams_stream_viewers{%V,protocol=\"hls\"} %ui\n"
                         "ams_stream_viewers{%V,protocol=\"dash\"} %ui\n"
                         "ams_stream_viewers{%V,protocol=\"webrtc\"} %ui\n",
                         &ms[i].labels, ms[i].rtmp, &ms[i].labels,
                         ms[i].hls, &ms[i].labels, ms[i].dash,
                         &ms[i].labels, ms[i].webrtc);
    }

    p = ngx_ams_metrics_family(p, last, "ams_stream_received_bytes_total",
                               "counter", "Media bytes received from the "
                               "publisher.");
    for (i = 0; i < n; i++) {
        p = ngx_slprintf(p, last, "ams_stream_received_bytes_total{%V} %uL\n",
                         &ms[i].labels, ms[i].in_bytes);
    }

    p = ngx_ams_metrics_family(p, last, "ams_stream_frames_total",
                               "counter", "Frames written to the media "
                               "bus.");
    for (i = 0; i < n; i++) {
        p = ngx_slprintf(p, last, "ams_stream_frames_total{%V} %uL\n",
                         &ms[i].labels, ms[i].frames);
    }

    p = ngx_ams_metrics_family(p, last, "ams_stream_frames_rejected_total",
                               "counter", "Frames too big for the stream's "
                               "ring (stream_buffer).");
    for (i = 0; i < n; i++) {
        p = ngx_slprintf(p, last,
                         "ams_stream_frames_rejected_total{%V} %uL\n",
                         &ms[i].labels, ms[i].rejected);
    }

    p = ngx_ams_metrics_family(p, last, "ams_stream_uptime_seconds",
                               "gauge", "Seconds since the stream "
                               "started.");
    for (i = 0; i < n; i++) {
        p = ngx_slprintf(p, last, "ams_stream_uptime_seconds{%V} %T\n",
                         &ms[i].labels, ms[i].uptime);
    }

    b->last = p;

    return ngx_ams_api_send(r, NGX_HTTP_OK,
                            "text/plain; version=0.0.4; charset=utf-8", b);
}


/* under the registry lock: copy, format later */
static void
ngx_ams_metrics_snap(ngx_ams_stream_t *st, void *data)
{
    ngx_ams_metrics_snap_t  *snap = data;

    u_char                    *p, *last, *labels;
    size_t                     size;
    ngx_str_t                  name;
    ngx_ams_app_conf_t        *app;
    ngx_ams_metrics_stream_t  *ms;

    if (snap->error) {
        return;
    }

    ms = ngx_array_push(&snap->streams);

    /* each byte of a name escapes to 2 at most */
    size = sizeof("app=\"\",stream=\"\"") + 2 * (st->app_len + st->name_len);
    labels = ngx_pnalloc(snap->pool, size);

    if (ms == NULL || labels == NULL) {
        snap->error = 1;
        return;
    }

    name.data = st->app;
    name.len = st->app_len;
    app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &name);

    ms->rtmp = st->rtmp_viewers;
    ms->webrtc = ngx_ams_webrtc_viewers(st);
    ms->hls = app ? ngx_ams_broadcast_viewers(st, app, NGX_AMS_VIEWER_HLS)
                  : 0;
    ms->dash = app ? ngx_ams_broadcast_viewers(st, app, NGX_AMS_VIEWER_DASH)
                   : 0;
    ms->in_bytes = st->in_bytes;
    ms->frames = st->frames;
    ms->rejected = st->rejected;
    ms->uptime = ngx_time() - st->started;

    last = labels + size;
    p = ngx_slprintf(labels, last, "app=\"");
    p = ngx_ams_metrics_label(p, last, st->app, st->app_len);
    p = ngx_slprintf(p, last, "\",stream=\"");
    p = ngx_ams_metrics_label(p, last, st->name, st->name_len);
    p = ngx_slprintf(p, last, "\"");

    ms->labels.data = labels;
    ms->labels.len = p - labels;
}


static u_char *
ngx_ams_metrics_family(u_char *p, u_char *last, const char *name,
    const char *type, const char *help)
{
    return ngx_slprintf(p, last, "# HELP %s %s\n# TYPE %s %s\n",
                        name, help, name, type);
}


/* a load kept in hundredths of a percent, with its two decimals */
static u_char *
ngx_ams_metrics_x100(u_char *p, u_char *last, const char *name,
    ngx_uint_t value)
{
    return ngx_slprintf(p, last, "%s %ui.%02ui\n", name, value / 100,
                        value % 100);
}


/* label values escape backslash, double quote and newline */
static u_char *
ngx_ams_metrics_label(u_char *p, u_char *last, u_char *v, size_t len)
{
    size_t  i;

    for (i = 0; i < len && p < last - 2; i++) {
        if (v[i] == '\\' || v[i] == '"') {
            *p++ = '\\';
            *p++ = v[i];

        } else if (v[i] == '\n') {
            *p++ = '\\';
            *p++ = 'n';

        } else {
            *p++ = v[i];
        }
    }

    return p;
}
