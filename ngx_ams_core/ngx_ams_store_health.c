
/*
 * Copyright (C) nginx-ams authors
 *
 * The store's outages as this worker sees them (ngx_ams_store_health.h).
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"
#include "ngx_ams_store.h"
#include "ngx_ams_store_health.h"


typedef struct {
    int64_t                   down_since;    /* 0: reachable */
    ngx_msec_t                next_try;      /* ngx_current_msec */
    ngx_msec_t                backoff;
    ngx_uint_t                trying;        /* a retry is out */
    uint64_t                  failed;        /* chains failed at once */
} ngx_ams_store_health_t;


static ngx_ams_store_health_t  ngx_ams_store_health;


ngx_int_t
ngx_ams_store_health_admit(ngx_ams_store_op_t *ops)
{
    ngx_ams_store_health_t  *h = &ngx_ams_store_health;

    if (h->down_since == 0) {
        return NGX_OK;
    }

    if (!h->trying && (ngx_msec_int_t) (ngx_current_msec - h->next_try) >= 0)
    {
        /* this one finds out whether the store is back */
        h->trying = 1;
        ops->retry = 1;
        return NGX_OK;
    }

    h->failed++;

    return NGX_DECLINED;
}


void
ngx_ams_store_health_result(ngx_ams_store_op_t *ops)
{
    ngx_uint_t               unavailable;
    ngx_ams_store_op_t      *op;
    ngx_ams_node_stats_t    *ns;
    ngx_ams_store_health_t  *h = &ngx_ams_store_health;

    unavailable = 0;

    for (op = ops; op; op = op->next) {
        if (op->unavailable) {
            unavailable = 1;
            break;
        }
    }

    if (ops->retry) {
        h->trying = 0;
    }

    if (unavailable) {
        if (h->down_since == 0) {
            h->down_since = ngx_ams_store_now_ms();
            h->backoff = NGX_AMS_STORE_RETRY_MIN_MS;
            h->failed = 0;

            /* node-wide, for system-resources and /metrics: the first
             * worker to notice starts it */
            ns = ngx_ams_bus_node_stats();
            if (ns && ngx_atomic_cmp_set(&ns->db_down_since, 0,
                                         (ngx_atomic_uint_t) ngx_time()))
            {
                (void) ngx_atomic_fetch_add(&ns->db_outages, 1);
            }

            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "ams store: %s unreachable: %s; new requests fail "
                          "until it is back, live streams go on",
                          ops->store ? (char *) ops->store->backend->scheme.data
                                     : "-",
                          op->error);

        } else if (ops->retry) {
            h->backoff = ngx_min(h->backoff * 2, NGX_AMS_STORE_RETRY_MAX_MS);
        }

        h->next_try = ngx_current_msec + h->backoff;
        return;
    }

    /* any answer, even an error of the request's own, means it is back */
    if (h->down_since) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "ams store: reachable again after %L ms; %uL "
                      "requests failed meanwhile",
                      ngx_ams_store_now_ms() - h->down_since, h->failed);
        h->down_since = 0;
        h->trying = 0;
    }

    ns = ngx_ams_bus_node_stats();
    if (ns && ns->db_down_since) {
        ns->db_down_since = 0;
    }
}


int64_t
ngx_ams_store_health_down_since(void)
{
    return ngx_ams_store_health.down_since;
}
