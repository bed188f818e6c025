
/*
 * Copyright (C) nginx-ams authors
 *
 * Internal to the store: the per-worker cache of read results.
 */


#ifndef _NGX_AMS_STORE_CACHE_H_INCLUDED_
#define _NGX_AMS_STORE_CACHE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_store.h"


ngx_int_t ngx_ams_store_cache_get(ngx_ams_store_op_t *op);
void ngx_ams_store_cache_put(ngx_ams_store_op_t *ops);


#endif /* _NGX_AMS_STORE_CACHE_H_INCLUDED_ */
