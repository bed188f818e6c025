
/*
 * Copyright (C) nginx-ams authors
 *
 * The StatsCollector: once a second one worker samples the node's CPU
 * (/proc/stat, moving average of 5 samples), memory (/proc/meminfo) and
 * the storage disk into the bus zone, off the event loop.  Above
 * cpu_limit or memory_limit the node refuses new publishers (and, later,
 * pulls, WebRTC sessions and transcoder starts), never viewers, and tells
 * status_webhook_url ("highResourceUsage").
 */


#ifndef _NGX_AMS_STATS_H_INCLUDED_
#define _NGX_AMS_STATS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"


#define NGX_AMS_STATS_OK          0
#define NGX_AMS_STATS_CPU         1
#define NGX_AMS_STATS_MEMORY      2

/* ngx_ams_node_stats_t's sent_bytes[], ams_sent_bytes_total{protocol} */
#define NGX_AMS_SENT_HLS          0
#define NGX_AMS_SENT_DASH         1
#define NGX_AMS_SENT_RTMP         2
#define NGX_AMS_SENT_WEBRTC       3


/* NGX_AMS_STATS_OK, or the limit that is crossed; counts the refusal.
 * For new work only ("publisher" 1): a viewer is never refused */
ngx_uint_t ngx_ams_stats_admit(ngx_uint_t publisher, ngx_log_t *log);

ngx_int_t ngx_ams_stats_init_worker(ngx_cycle_t *cycle);

/* n bytes written to the network for a protocol (NGX_AMS_SENT_*) */
void ngx_ams_stats_sent(ngx_uint_t protocol, size_t n);


#endif /* _NGX_AMS_STATS_H_INCLUDED_ */
