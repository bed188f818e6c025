
/*
 * Copyright (C) nginx-ams authors
 *
 * What the transcoder offers other modules (loaded after it).
 */


#ifndef _NGX_AMS_TRANSCODE_H_INCLUDED_
#define _NGX_AMS_TRANSCODE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"


extern ngx_module_t  ngx_ams_transcode_module;


#endif /* _NGX_AMS_TRANSCODE_H_INCLUDED_ */
