
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


/* the node's application settings (ngx_ams_app_settings.c): what the
 * store holds, as JSON text, and a version that moves when it changes */
typedef struct {
    ngx_atomic_t             lock;           /* ngx_ams_shm_lock() */
    ngx_atomic_t             version;
    u_char                  *text;           /* from the zone's slab pool */
    size_t                   len;
    size_t                   size;
} ngx_ams_settings_sh_t;


ngx_ams_settings_sh_t *ngx_ams_bus_settings(void);
ngx_int_t ngx_ams_bus_init_zone(ngx_shm_zone_t *shm_zone, void *data);
ngx_int_t ngx_ams_bus_init_worker(ngx_cycle_t *cycle);
void ngx_ams_bus_exit_worker(ngx_cycle_t *cycle);


#endif /* _NGX_AMS_BUS_H_INCLUDED_ */
