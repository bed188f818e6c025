
/*
 * Copyright (C) nginx-ams authors
 *
 * The store's MongoDB backend through libmongoc.
 * (Skeleton: filled in by the MongoDB backend work.)
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_cluster.h"


static void ngx_ams_mongo_run(ngx_ams_store_op_t *ops, void *data);


ngx_ams_store_backend_t  ngx_ams_store_mongo = {
    ngx_string("mongodb"),
    NULL,
    NULL,
    NULL,
    NULL,
    ngx_ams_mongo_run,
    NULL
};


static void
ngx_ams_mongo_run(ngx_ams_store_op_t *ops, void *data)
{
    ngx_ams_store_op_t  *op;

    for (op = ops; op; op = op->next) {
        op->rc = NGX_ERROR;
        ngx_cpystrn((u_char *) op->error, (u_char *) "not built yet",
                    sizeof(op->error));
    }
}
