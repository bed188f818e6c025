
/*
 * Copyright (C) nginx-ams authors
 *
 * What the transcoder offers other modules (loaded after it): its
 * application settings.
 */


#ifndef _NGX_AMS_TRANSCODE_H_INCLUDED_
#define _NGX_AMS_TRANSCODE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"
#include "ngx_ams_ladder.h"


/* an application's transcoding settings (encoder_* directives) */
typedef struct {
    ngx_ams_ladder_t          ladder;      /* encoder_settings; empty: none */
    ngx_flag_t                ladder_set;
    ngx_str_t                 encoder;     /* encoder_name */
    ngx_str_t                 preset;
    ngx_str_t                 profile;
    ngx_str_t                 tune;
    ngx_msec_t                keyint;      /* encoder_keyframe_interval */
    ngx_uint_t                threads;
    ngx_uint_t                queue;       /* frames waiting before drops */
} ngx_ams_transcode_app_conf_t;


extern ngx_module_t  ngx_ams_transcode_module;


#endif /* _NGX_AMS_TRANSCODE_H_INCLUDED_ */
