
/*
 * Copyright (C) nginx-ams authors
 *
 * The packager's settings in an "application {}" block (hls, dash, ...),
 * for modules that need them.  Using them links a module to
 * ngx_ams_packager_module.so, which must then be loaded before it.
 */


#ifndef _NGX_AMS_PACKAGER_H_INCLUDED_
#define _NGX_AMS_PACKAGER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"


#define NGX_AMS_HLS_MPEGTS        0     /* hls_segment_type */
#define NGX_AMS_HLS_FMP4          1


typedef struct {
    ngx_flag_t                hls;
    ngx_msec_t                hls_time;
    ngx_uint_t                hls_list_size;
    ngx_uint_t                hls_segment_type;  /* NGX_AMS_HLS_* */
    ngx_flag_t                dash;
    ngx_flag_t                delete_hls_files_on_ended;
    ngx_str_t                 dash_utc_timing;   /* the time endpoint's URL
                                                    in live MPDs; empty:
                                                    none ("off") */
    ngx_flag_t                adaptive_original; /* the stream itself is a
                                                    variant of its adaptive
                                                    playlist and MPD */
    ngx_flag_t                ll_hls;            /* low-latency parts */
    ngx_msec_t                ll_hls_part_time;
} ngx_ams_packager_app_conf_t;


extern ngx_module_t  ngx_ams_packager_module;


#define ngx_ams_packager_app_conf(app)                                        \
    ((ngx_ams_packager_app_conf_t *)                                          \
         ngx_ams_app_get_module_conf(app, ngx_ams_packager_module))


#endif /* _NGX_AMS_PACKAGER_H_INCLUDED_ */
