
/*
 * Copyright (C) nginx-ams authors
 *
 * Between the transcoder's module (directives, settings) and its
 * streams' runtime, inside ngx_ams_transcode.
 */


#ifndef _NGX_AMS_TRANSCODE_STREAM_H_INCLUDED_
#define _NGX_AMS_TRANSCODE_STREAM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* the transcoder in the publish and unpublish chains (its create_conf) */
void ngx_ams_transcode_stream_hook(void);

/* a worker's list of transcoded streams (its init_process) */
void ngx_ams_transcode_stream_init(void);

/* transcode_thread_pool (ngx_ams_transcode_module.c) */
ngx_thread_pool_t *ngx_ams_transcode_pool(void);


#endif /* _NGX_AMS_TRANSCODE_STREAM_H_INCLUDED_ */
