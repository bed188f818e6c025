
/*
 * Copyright (C) nginx-ams authors
 *
 * Webhooks: HTTP POSTs sent from the event loop with nginx's own
 * connection machinery, retried, never waited for.  Ant Media Server's
 * actions: liveStreamStarted / liveStreamEnded to an application's
 * listener_hook_url (form-encoded, as AMS sends them), highResourceUsage
 * to the node's status_webhook_url (JSON).
 */


#ifndef _NGX_AMS_WEBHOOK_H_INCLUDED_
#define _NGX_AMS_WEBHOOK_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"


/* a webhook address, parsed (and its host resolved) with the config */
typedef struct {
    ngx_url_t                 url;
    ngx_str_t                 host;          /* Host: header */
    ngx_str_t                 uri;
} ngx_ams_webhook_target_t;


char *ngx_ams_webhook_parse(ngx_conf_t *cf, ngx_str_t *value,
    ngx_ams_webhook_target_t **target);


/* a target set at runtime (application settings through REST), in storage
 * its owner reuses for every change */
#define NGX_AMS_WEBHOOK_URL_LEN   1024

typedef struct {
    ngx_ams_webhook_target_t  target;
    ngx_addr_t                addr;
    ngx_sockaddr_t            sockaddr;
    u_char                    name[NGX_SOCKADDR_STRLEN];
    u_char                    text[NGX_AMS_WEBHOOK_URL_LEN];
} ngx_ams_webhook_runtime_t;

/* "http://IP[:port]/path": an address literal only, since resolving a
 * name would block the event loop; NGX_DECLINED with *error, "rt" then
 * untouched */
ngx_int_t ngx_ams_webhook_runtime_set(ngx_ams_webhook_runtime_t *rt,
    ngx_str_t *url, const char **error);

void ngx_ams_webhook_post(ngx_ams_webhook_target_t *target,
    const char *content_type, u_char *body, size_t len, ngx_log_t *log);

/* liveStreamStarted/Ended follow the publish and unpublish chains */
void ngx_ams_webhook_init_chains(void);


#endif /* _NGX_AMS_WEBHOOK_H_INCLUDED_ */
