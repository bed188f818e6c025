
/*
 * Copyright (C) nginx-ams authors
 *
 * Server-level REST under /rest/v2/: liveness, system-resources and
 * cpu-status in the shapes of Ant Media Server's RestServiceV2 (minus the
 * JVM figures, which have no counterpart here), and version.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <sys/utsname.h>

#include "ngx_ams_api.h"
#include "ngx_ams_broadcast.h"
#include "ngx_ams_viewers.h"


typedef struct {
    ngx_uint_t                streams;
    ngx_uint_t                rtmp;
    ngx_uint_t                hls;
    ngx_uint_t                dash;
    ngx_uint_t                webrtc;
    ngx_uint_t                webrtc_streams;
} ngx_ams_rest_totals_t;


static json_t *ngx_ams_rest_cpu(ngx_ams_node_stats_t *ns);
static void ngx_ams_rest_add_stream(ngx_ams_stream_t *st, void *data);


void
ngx_ams_rest_version(ngx_ams_rest_t *rest)
{
    ngx_ams_rest_json(rest, NGX_HTTP_OK,
                      json_pack("{s:s, s:s, s:s}",
                                "versionName", NGX_AMS_VERSION,
                                "versionType", "nginx-ams",
                                "buildNumber", NGX_AMS_VERSION));
}


void
ngx_ams_rest_server(ngx_ams_rest_t *rest)
{
    json_t                 *doc;
    ngx_str_t              *seg;
    struct utsname          un;
    ngx_ams_node_stats_t   *ns;
    ngx_ams_rest_totals_t   t;

    seg = rest->segment;

    if (rest->segments != 1) {
        ngx_ams_rest_error(rest, NGX_HTTP_NOT_FOUND, "no such endpoint: %V",
                           &rest->request->uri);
        return;
    }

    if (!(rest->request->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        ngx_ams_rest_error(rest, NGX_HTTP_NOT_ALLOWED,
                           "method %V not allowed here",
                           &rest->request->method_name);
        return;
    }

    ns = ngx_ams_bus_node_stats();
    if (ns == NULL) {
        ngx_ams_rest_error(rest, NGX_HTTP_SERVICE_UNAVAILABLE,
                           "the media bus is not running");
        return;
    }

    if (seg[0].len == 8 && ngx_strncmp(seg[0].data, "liveness", 8) == 0) {
        /* the cycle's hostname is not NUL-terminated: past its end lie
         * whatever bytes the pool holds, often not UTF-8 after reloads */
        ngx_ams_rest_json(rest, NGX_HTTP_OK,
                          json_pack("{s:s#, s:s}", "host",
                                    (char *) ngx_cycle->hostname.data,
                                    (int) ngx_cycle->hostname.len,
                                    "status", "ok"));
        return;
    }

    if (seg[0].len == 10 && ngx_strncmp(seg[0].data, "cpu-status", 10) == 0)
    {
        ngx_ams_rest_json(rest, NGX_HTTP_OK, ngx_ams_rest_cpu(ns));
        return;
    }

    if (seg[0].len != 16
        || ngx_strncmp(seg[0].data, "system-resources", 16) != 0)
    {
        ngx_ams_rest_error(rest, NGX_HTTP_NOT_FOUND, "no such endpoint: %V",
                           &rest->request->uri);
        return;
    }

    if (uname(&un) == -1) {
        ngx_cpystrn((u_char *) un.machine, (u_char *) "unknown",
                    sizeof(un.machine));
    }

    ngx_memzero(&t, sizeof(t));
    ngx_ams_bus_each(ngx_ams_rest_add_stream, &t);

    doc = json_pack("{s:o, s:{s:s, s:s, s:i},"
                    " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I},"
                    " s:{s:I, s:I, s:I, s:I},"
                    " s:[], s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i,"
                    " s:f}",
                    "cpuUsage", ngx_ams_rest_cpu(ns),
                    "systemInfo",
                        "osName", "Linux",
                        "osArch", un.machine,
                        "processorCount", (int) ns->cpu_count,
                    "systemMemoryInfo",
                        "virtualMemory", (json_int_t) 0,
                        "totalMemory", (json_int_t) ns->memory_total,
                        "freeMemory", (json_int_t) ns->memory_available,
                        "usedMemory", (json_int_t)
                            (ns->memory_total - ns->memory_available),
                        "availableMemory", (json_int_t) ns->memory_available,
                        "totalSwapSpace", (json_int_t) ns->swap_total,
                        "freeSwapSpace", (json_int_t) ns->swap_free,
                        "inUseSwapSpace", (json_int_t)
                            (ns->swap_total - ns->swap_free),
                    "fileSystemInfo",
                        "usableSpace", (json_int_t) ns->disk_usable,
                        "totalSpace", (json_int_t) ns->disk_total,
                        "freeSpace", (json_int_t) ns->disk_free,
                        "inUseSpace", (json_int_t)
                            (ns->disk_total - ns->disk_free),
                    "gpuUsageInfo",
                    "totalLiveStreamSize", (int) t.streams,
                    "localWebRTCLiveStreams", (int) t.webrtc_streams,
                    "localWebRTCViewers", (int) t.webrtc,
                    "localHLSViewers", (int) t.hls,
                    "localDASHViewers", (int) t.dash,
                    "localRTMPViewers", (int) t.rtmp,
                    "cpuLimit", (int) ngx_ams_get_main_conf(
                        (ngx_cycle_t *) ngx_cycle)->cpu_limit,
                    "memoryUsagePercent", (int) ns->memory_percent,
                    "dbAverageQueryTimeMs",
                        (double) ns->db_query_avg_us / 1000);

    /* transcoding, with AMS's names (ngx_ams_transcode counts them);
     * encoderQueueSize: frames waiting for encoders on this node */
    if (doc) {
        json_object_set_new(doc, "encoders-blocked",
                            json_integer((json_int_t) ns->encoders_blocked));
        json_object_set_new(doc, "encoders-not-opened",
                            json_integer((json_int_t)
                                         ns->encoders_not_opened));
        json_object_set_new(doc, "dropFrameCountInEncoding",
                            json_integer((json_int_t)
                                         ns->encode_dropped_frames));
        json_object_set_new(doc, "encoderQueueSize",
                            json_integer((json_int_t) ns->encoder_queue));
        json_object_set_new(doc, "transcodedStreams",
                            json_integer((json_int_t)
                                         ns->transcoded_streams));
    }

    /* ours: whether the store answers, and since when it does not */
    if (doc) {
        json_object_set_new(doc, "dbReachable",
                            json_boolean(ns->db_down_since == 0));
        json_object_set_new(doc, "dbUnreachableSeconds", json_integer(
            ns->db_down_since ? (json_int_t) (ngx_time()
                                              - ns->db_down_since) : 0));
    }

    ngx_ams_rest_json(rest, NGX_HTTP_OK, doc);
}


/* AMS's figures: loads in percent of the machine (with two decimals: a
 * stream's packaging is a fraction of a percent), process CPU time in ms;
 * "the process" is nginx: its master and workers */
static json_t *
ngx_ams_rest_cpu(ngx_ams_node_stats_t *ns)
{
    return json_pack("{s:f, s:f, s:I}",
                     "systemCPULoad", (double) ns->cpu_x100 / 100,
                     "processCPULoad", (double) ns->process_cpu_x100 / 100,
                     "processCPUTime", (json_int_t) ns->process_cpu_ms);
}


static void
ngx_ams_rest_add_stream(ngx_ams_stream_t *st, void *data)
{
    ngx_ams_rest_totals_t  *t = data;
    ngx_ams_app_conf_t     *app;
    ngx_str_t               name;

    name.data = st->app;
    name.len = st->app_len;

    app = ngx_ams_app_find((ngx_cycle_t *) ngx_cycle, &name);

    t->streams++;
    t->rtmp += st->rtmp_viewers;
    t->webrtc += ngx_ams_webrtc_viewers(st);

    /* AMS counts the streams its WebRTC adaptor holds: published over
     * WebRTC, or sent to WebRTC players; a rung is its stream's */
    if (st->parent_len == 0
        && (ngx_ams_webrtc_viewers(st)
            || ngx_strcmp(st->publish_type, "WebRTC") == 0))
    {
        t->webrtc_streams++;
    }

    if (app) {
        t->hls += ngx_ams_broadcast_viewers(st, app, NGX_AMS_VIEWER_HLS);
        t->dash += ngx_ams_broadcast_viewers(st, app, NGX_AMS_VIEWER_DASH);
    }
}
