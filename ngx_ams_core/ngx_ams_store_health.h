
/*
 * Copyright (C) nginx-ams authors
 *
 * Whether this worker can reach the store.  A chain that a backend could
 * not run because its server is unreachable (op->unavailable: MongoDB
 * down, a replica set without a primary) starts an outage: it is logged
 * once, and until a retry gets through, new operations fail at once
 * ("store unavailable") instead of each waiting out the driver's
 * timeouts.  One chain is let through at a time after a backoff (0.5 s,
 * doubling up to NGX_AMS_STORE_RETRY_MAX_MS); the first that succeeds
 * ends the outage, which is logged once more with how long it lasted and
 * what failed meanwhile.  Streams keep running throughout: the store is
 * asked for new work only.
 */


#ifndef _NGX_AMS_STORE_HEALTH_H_INCLUDED_
#define _NGX_AMS_STORE_HEALTH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_store.h"


#define NGX_AMS_STORE_RETRY_MIN_MS   500
#define NGX_AMS_STORE_RETRY_MAX_MS   4000


/* NGX_OK: run the chain; NGX_DECLINED: fail it now (an outage) */
ngx_int_t ngx_ams_store_health_admit(ngx_ams_store_op_t *ops);

/* a chain came back from the backend (not one failed by admit) */
void ngx_ams_store_health_result(ngx_ams_store_op_t *ops);

/* 0: reachable; else the wall clock (ms) the outage began at */
int64_t ngx_ams_store_health_down_since(void);


#endif /* _NGX_AMS_STORE_HEALTH_H_INCLUDED_ */
