
/*
 * Copyright (C) nginx-ams authors
 *
 * Internal to ngx_ams_core: setting the bus up in the zone and in each
 * worker.  Other modules use ngx_ams_core.h.
 */


#ifndef _NGX_AMS_BUS_H_INCLUDED_
#define _NGX_AMS_BUS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


ngx_int_t ngx_ams_bus_init_zone(ngx_shm_zone_t *shm_zone, void *data);
ngx_int_t ngx_ams_bus_init_worker(ngx_cycle_t *cycle);
void ngx_ams_bus_exit_worker(ngx_cycle_t *cycle);


#endif /* _NGX_AMS_BUS_H_INCLUDED_ */
