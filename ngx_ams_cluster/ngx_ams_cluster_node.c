
/*
 * Copyright (C) nginx-ams authors
 *
 * This node's record in "clusternode" and the snapshot of every node's.
 * (Skeleton: filled in by the node registry work.)
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_cluster.h"


ngx_int_t
ngx_ams_cluster_node_init_worker(ngx_cycle_t *cycle)
{
    return NGX_OK;
}


void
ngx_ams_cluster_node_exit_worker(ngx_cycle_t *cycle)
{
}
