
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


#define NGX_AMS_METRICS_PER_STREAM   2048


typedef struct {
    u_char                   *pos;
    u_char                   *last;
    ngx_uint_t                streams;
} ngx_ams_metrics_out_t;


static void ngx_ams_metrics_count(ngx_ams_stream_t *st, void *data);
static void ngx_ams_metrics_stream(ngx_ams_stream_t *st, void *data);
static u_char *ngx_ams_metrics_label(u_char *p, u_char *last, u_char *v,
    size_t len);


/* HELP and TYPE lines of the per-stream families, written once */
static const char  ngx_ams_metrics_stream_help[] =
    "# HELP ams_stream_viewers Viewers of a live stream on this node.\n"
    "# TYPE ams_stream_viewers gauge\n"
    "# HELP ams_stream_received_bytes_total Media bytes received from the "
    "publisher.\n"
    "# TYPE ams_stream_received_bytes_total counter\n"
    "# HELP ams_stream_frames_total Frames written to the media bus.\n"
    "# TYPE ams_stream_frames_total counter\n"
    "# HELP ams_stream_frames_rejected_total Frames too big for the stream's "
    "ring (stream_buffer).\n"
    "# TYPE ams_stream_frames_rejected_total counter\n"
    "# HELP ams_stream_uptime_seconds Seconds since the stream started.\n"
    "# TYPE ams_stream_uptime_seconds gauge\n";


ngx_int_t
ngx_ams_metrics_handler(ngx_http_request_t *r)
{
    size_t                  size;
    ngx_int_t               rc;
    ngx_buf_t              *b;
    ngx_ams_main_conf_t    *amcf;
    ngx_ams_node_stats_t   *ns;
    ngx_ams_metrics_out_t   m;

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

    ngx_memzero(&m, sizeof(m));
    ngx_ams_bus_each(ngx_ams_metrics_count, &m);

    /* streams may start between counting and writing: room for more */
    size = 8192 + (m.streams + 16) * NGX_AMS_METRICS_PER_STREAM;

    b = ngx_create_temp_buf(r->pool, size);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    m.pos = b->pos;
    m.last = b->end;

    m.pos = ngx_slprintf(m.pos, m.last,
        "# HELP ams_streams_active Live streams on this node.\n"
        "# TYPE ams_streams_active gauge\n"
        "ams_streams_active %ui\n"
        "# HELP ams_node_cpu_percent CPU load, moving average of 5 "
        "one-second samples.\n"
        "# TYPE ams_node_cpu_percent gauge\n"
        "ams_node_cpu_percent %uA\n"
        "# HELP ams_process_cpu_percent CPU load of nginx's own processes, "
        "percent of the machine.\n"
        "# TYPE ams_process_cpu_percent gauge\n"
        "ams_process_cpu_percent %uA\n"
        "# HELP ams_node_cpu_limit_percent Load above which new work is "
        "refused (cpu_limit).\n"
        "# TYPE ams_node_cpu_limit_percent gauge\n"
        "ams_node_cpu_limit_percent %ui\n"
        "# HELP ams_node_memory_percent Memory in use.\n"
        "# TYPE ams_node_memory_percent gauge\n"
        "ams_node_memory_percent %uA\n"
        "# HELP ams_node_memory_limit_percent Memory use above which new "
        "work is refused (memory_limit).\n"
        "# TYPE ams_node_memory_limit_percent gauge\n"
        "ams_node_memory_limit_percent %ui\n"
        "# HELP ams_node_memory_total_bytes Physical memory.\n"
        "# TYPE ams_node_memory_total_bytes gauge\n"
        "ams_node_memory_total_bytes %uL\n"
        "# HELP ams_node_memory_available_bytes Memory available.\n"
        "# TYPE ams_node_memory_available_bytes gauge\n"
        "ams_node_memory_available_bytes %uL\n"
        "# HELP ams_node_disk_total_bytes Size of the storage file system.\n"
        "# TYPE ams_node_disk_total_bytes gauge\n"
        "ams_node_disk_total_bytes %uL\n"
        "# HELP ams_node_disk_free_bytes Free space of the storage file "
        "system.\n"
        "# TYPE ams_node_disk_free_bytes gauge\n"
        "ams_node_disk_free_bytes %uL\n"
        "# HELP ams_node_overloaded 1 while a resource limit is crossed.\n"
        "# TYPE ams_node_overloaded gauge\n"
        "ams_node_overloaded %d\n"
        "# HELP ams_refused_total New publishers and viewers refused for "
        "high resource usage.\n"
        "# TYPE ams_refused_total counter\n"
        "ams_refused_total{who=\"publisher\"} %uA\n"
        "ams_refused_total{who=\"viewer\"} %uA\n"
        "# HELP ams_bus_stream_slots Streams the bus zone can hold "
        "(max_streams).\n"
        "# TYPE ams_bus_stream_slots gauge\n"
        "ams_bus_stream_slots %ui\n"
        "# HELP ams_bus_workers Worker processes attached to the bus.\n"
        "# TYPE ams_bus_workers gauge\n"
        "ams_bus_workers %ui\n"
        "%s",
        m.streams, ns->cpu_percent, ns->process_cpu_percent, amcf->cpu_limit, ns->memory_percent,
        amcf->memory_limit, ns->memory_total, ns->memory_available,
        ns->disk_total, ns->disk_free, ns->overloaded ? 1 : 0,
        ns->refused_publishers, ns->refused_viewers, amcf->max_streams,
        ngx_ams_bus_workers(), ngx_ams_metrics_stream_help);

    ngx_ams_bus_each(ngx_ams_metrics_stream, &m);

    b->last = m.pos;

    return ngx_ams_api_send(r, NGX_HTTP_OK,
                            "text/plain; version=0.0.4; charset=utf-8", b);
}


static void
ngx_ams_metrics_count(ngx_ams_stream_t *st, void *data)
{
    ngx_ams_metrics_out_t  *m = data;

    m->streams++;
}


static void
ngx_ams_metrics_stream(ngx_ams_stream_t *st, void *data)
{
    ngx_ams_metrics_out_t  *m = data;

    u_char              *p, *last, labels[NGX_AMS_NAME_LEN * 2
                                          + NGX_AMS_APP_LEN * 2 + 32];
    ngx_str_t            name;
    ngx_uint_t           hls, dash;
    ngx_ams_app_conf_t  *app;

    if (m->last - m->pos < NGX_AMS_METRICS_PER_STREAM) {
        return;
    }

    name.data = st->app;
    name.len = st->app_len;
    app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &name);

    hls = app ? ngx_ams_broadcast_viewers(st, app, NGX_AMS_VIEWER_HLS) : 0;
    dash = app ? ngx_ams_broadcast_viewers(st, app, NGX_AMS_VIEWER_DASH) : 0;

    last = labels + sizeof(labels);
    p = ngx_slprintf(labels, last, "app=\"");
    p = ngx_ams_metrics_label(p, last, st->app, st->app_len);
    p = ngx_slprintf(p, last, "\",stream=\"");
    p = ngx_ams_metrics_label(p, last, st->name, st->name_len);
    p = ngx_slprintf(p, last, "\"");
    name.data = labels;
    name.len = p - labels;

    m->pos = ngx_slprintf(m->pos, m->last,
        "ams_stream_viewers{%V,protocol=\"rtmp\"} %uA\n"
        "ams_stream_viewers{%V,protocol=\"hls\"} %ui\n"
        "ams_stream_viewers{%V,protocol=\"dash\"} %ui\n"
        "ams_stream_received_bytes_total{%V} %uA\n"
        "ams_stream_frames_total{%V} %uA\n"
        "ams_stream_frames_rejected_total{%V} %uA\n"
        "ams_stream_uptime_seconds{%V} %T\n",
        &name, st->rtmp_viewers, &name, hls, &name, dash,
        &name, st->in_bytes, &name, st->frames, &name, st->rejected,
        &name, ngx_time() - st->started);
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
