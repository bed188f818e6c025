
/*
 * Copyright (C) nginx-ams authors
 *
 * ngx_ams_webrtc: the module's configuration (a core module for the
 * "ams {}" directives) and the life of what the transport holds per
 * process:
 *
 *   init_module   (the master, before the fork, on every cycle) the
 *                 node's DTLS certificate, so every worker writes the
 *                 same fingerprint; the old cycle's is freed with its pool
 *   init_process  the worker's UDP socket, webrtc_udp_port_base +
 *                 ngx_worker, and its session table
 *   exit_process  every session closed, the socket closed
 *
 * Sessions do not survive a reload or a stop: the old worker's timers
 * are cancelable, so it leaves at once, and the new worker binds the
 * same port (SO_REUSEADDR) for the sessions it makes.
 *
 * The HTTP module of the .so (WHIP and WHEP) is ngx_ams_webrtc_http.c.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_transport.h"
#include "ngx_ams_webrtc_data.h"
#include "ngx_ams_webrtc_mailbox.h"


static void *ngx_ams_webrtc_create_conf(ngx_cycle_t *cycle);
static char *ngx_ams_webrtc_init_conf(ngx_cycle_t *cycle, void *conf);
static char *ngx_ams_webrtc_public_address(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_ams_webrtc_offer_rate(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_ams_webrtc_init_module(ngx_cycle_t *cycle);
static void ngx_ams_webrtc_dtls_cleanup(void *data);
static ngx_int_t ngx_ams_webrtc_init_process(ngx_cycle_t *cycle);
static void ngx_ams_webrtc_exit_process(ngx_cycle_t *cycle);


static ngx_conf_num_bounds_t  ngx_ams_webrtc_port_bounds = {
    ngx_conf_check_num_bounds, 1, 65535
};


static ngx_command_t  ngx_ams_webrtc_commands[] = {

    { ngx_string("webrtc_udp_port_base"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_webrtc_main_conf_t, udp_port_base),
      &ngx_ams_webrtc_port_bounds },

    { ngx_string("webrtc_public_address"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_1MORE,
      ngx_ams_webrtc_public_address,
      0,
      0,
      NULL },

    { ngx_string("webrtc_handshake_timeout"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_webrtc_main_conf_t, handshake_timeout),
      NULL },

    { ngx_string("webrtc_consent_timeout"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      0,
      offsetof(ngx_ams_webrtc_main_conf_t, consent_timeout),
      NULL },

    { ngx_string("webrtc_max_sessions"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_webrtc_main_conf_t, max_sessions),
      NULL },

    { ngx_string("webrtc_sessions_per_address"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      0,
      offsetof(ngx_ams_webrtc_main_conf_t, sessions_per_address),
      NULL },

    { ngx_string("webrtc_offer_rate"),
      NGX_AMS_MAIN_CONF|NGX_DIRECT_CONF|NGX_CONF_TAKE12,
      ngx_ams_webrtc_offer_rate,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_core_module_t  ngx_ams_webrtc_module_ctx = {
    ngx_string("ams_webrtc"),
    ngx_ams_webrtc_create_conf,
    ngx_ams_webrtc_init_conf
};


ngx_module_t  ngx_ams_webrtc_module = {
    NGX_MODULE_V1,
    &ngx_ams_webrtc_module_ctx,            /* module context */
    ngx_ams_webrtc_commands,               /* module directives */
    NGX_CORE_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_ams_webrtc_init_module,            /* init module */
    ngx_ams_webrtc_init_process,           /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_ams_webrtc_exit_process,           /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_ams_webrtc_create_conf(ngx_cycle_t *cycle)
{
    ngx_ams_webrtc_main_conf_t  *wcf;

    wcf = ngx_pcalloc(cycle->pool, sizeof(ngx_ams_webrtc_main_conf_t));
    if (wcf == NULL) {
        return NULL;
    }

    /* set by ngx_pcalloc(): public_addresses (NULL: node_address), dtls */

    wcf->udp_port_base = NGX_CONF_UNSET_UINT;
    wcf->handshake_timeout = NGX_CONF_UNSET_MSEC;
    wcf->consent_timeout = NGX_CONF_UNSET_MSEC;
    wcf->max_sessions = NGX_CONF_UNSET_UINT;
    wcf->sessions_per_address = NGX_CONF_UNSET_UINT;
    wcf->offer_rate = NGX_CONF_UNSET_UINT;
    wcf->offer_burst = NGX_CONF_UNSET_UINT;

    return wcf;
}


static char *
ngx_ams_webrtc_init_conf(ngx_cycle_t *cycle, void *conf)
{
    ngx_ams_webrtc_main_conf_t *wcf = conf;

    ngx_core_conf_t  *ccf;

    /* Ant Media Server's WebRTC range starts at 50000 */
    ngx_conf_init_uint_value(wcf->udp_port_base, 50000);
    ngx_conf_init_msec_value(wcf->handshake_timeout, 20000);
    ngx_conf_init_msec_value(wcf->consent_timeout, 30000);
    ngx_conf_init_uint_value(wcf->max_sessions, 2000);
    /* 0: no limit per address (a NAT holds many honest viewers) */
    ngx_conf_init_uint_value(wcf->sessions_per_address, 0);
    /* a player that reconnects now and then passes; a loop does not */
    ngx_conf_init_uint_value(wcf->offer_rate, 10);
    ngx_conf_init_uint_value(wcf->offer_burst, 2 * wcf->offer_rate);

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    if (wcf->udp_port_base + ngx_max(ccf->worker_processes, 1) - 1 > 65535) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "\"webrtc_udp_port_base\" %ui leaves no port for "
                      "worker %i", wcf->udp_port_base,
                      ccf->worker_processes - 1);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/*
 * "webrtc_offer_rate 10r/s [burst=20];" or "off": WHIP/WHEP POSTs one
 * client address may make, a token bucket in each worker (limit_req's
 * syntax; the burst defaults to two seconds' worth)
 */
static char *
ngx_ams_webrtc_offer_rate(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ams_webrtc_main_conf_t *wcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (wcf->offer_rate != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts > 2) {
            return "takes nothing after \"off\"";
        }

        wcf->offer_rate = 0;
        wcf->offer_burst = 0;
        return NGX_CONF_OK;
    }

    n = NGX_ERROR;

    if (value[1].len > 3
        && ngx_strcmp(value[1].data + value[1].len - 3, "r/s") == 0)
    {
        n = ngx_atoi(value[1].data, value[1].len - 3);
    }

    if (n <= 0 || n > 1000000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid rate \"%V\" (say \"10r/s\" or \"off\")",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    wcf->offer_rate = n;

    if (cf->args->nelts == 3) {
        n = NGX_ERROR;

        if (ngx_strncmp(value[2].data, "burst=", 6) == 0) {
            n = ngx_atoi(value[2].data + 6, value[2].len - 6);
        }

        if (n <= 0 || n > 1000000) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid burst \"%V\" (say \"burst=20\")",
                               &value[2]);
            return NGX_CONF_ERROR;
        }

        wcf->offer_burst = n;
    }

    return NGX_CONF_OK;
}


/* "webrtc_public_address 203.0.113.7 [2001:db8::7];": each an IP
 * literal, written into the answer's candidates as is */
static char *
ngx_ams_webrtc_public_address(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_ams_webrtc_main_conf_t *wcf = conf;

    u_char      *p;
    ngx_str_t   *value, *addr;
    ngx_uint_t   i;

    if (wcf->public_addresses == NULL) {
        wcf->public_addresses = ngx_array_create(cf->pool, 2,
                                                 sizeof(ngx_str_t));
        if (wcf->public_addresses == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        p = value[i].data;

        /* "[2001:db8::7]" as nginx writes IPv6 elsewhere */
        if (value[i].len > 2 && p[0] == '[' && p[value[i].len - 1] == ']') {
            value[i].data++;
            value[i].len -= 2;
            value[i].data[value[i].len] = '\0';
        }

        if (ngx_inet_addr(value[i].data, value[i].len) == INADDR_NONE
#if (NGX_HAVE_INET6)
            && ngx_inet6_addr(value[i].data, value[i].len, NULL) != NGX_OK
#endif
            )
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"webrtc_public_address\": \"%V\" is not "
                               "an IP address", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (wcf->public_addresses->nelts == NGX_AMS_SDP_MAX_CANDIDATES) {
            return "has too many addresses";
        }

        addr = ngx_array_push(wcf->public_addresses);
        if (addr == NULL) {
            return NGX_CONF_ERROR;
        }

        *addr = value[i];
    }

    return NGX_CONF_OK;
}


ngx_ams_webrtc_main_conf_t *
ngx_ams_webrtc_main_conf(void)
{
    if (ngx_cycle->conf_ctx == NULL) {
        return NULL;
    }

    return (ngx_ams_webrtc_main_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                                       ngx_ams_webrtc_module);
}


in_port_t
ngx_ams_webrtc_udp_port(void)
{
    ngx_ams_webrtc_main_conf_t  *wcf;

    wcf = ngx_ams_webrtc_main_conf();

    return (in_port_t) (wcf->udp_port_base + ngx_worker);
}


/* in the master, before the workers fork (and in "nginx -t") */
static ngx_int_t
ngx_ams_webrtc_init_module(ngx_cycle_t *cycle)
{
    const char                  *err;
    ngx_pool_cleanup_t          *cln;
    ngx_ams_main_conf_t         *amcf;
    ngx_ams_webrtc_main_conf_t  *wcf;

    amcf = ngx_ams_get_main_conf(cycle);

    if (amcf == NULL || amcf->shm_zone == NULL) {
        return NGX_OK;                  /* no "ams {}": nothing to do */
    }

    wcf = (ngx_ams_webrtc_main_conf_t *) ngx_get_conf(cycle->conf_ctx,
                                                      ngx_ams_webrtc_module);

    err = "unknown error";

    wcf->dtls = ngx_ams_dtls_ctx_create(&err);
    if (wcf->dtls == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams webrtc: the DTLS certificate could not be made: "
                      "%s", err);
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        ngx_ams_dtls_ctx_free(wcf->dtls);
        wcf->dtls = NULL;
        return NGX_ERROR;
    }

    cln->handler = ngx_ams_webrtc_dtls_cleanup;
    cln->data = wcf->dtls;

    ngx_log_error(NGX_LOG_INFO, cycle->log, 0,
                  "ams webrtc: DTLS certificate sha-256 %s",
                  ngx_ams_dtls_ctx_fingerprint(wcf->dtls));

    return NGX_OK;
}


static void
ngx_ams_webrtc_dtls_cleanup(void *data)
{
    ngx_ams_dtls_ctx_free(data);
}


static ngx_int_t
ngx_ams_webrtc_init_process(ngx_cycle_t *cycle)
{
    ngx_ams_main_conf_t         *amcf;
    ngx_ams_webrtc_main_conf_t  *wcf;
    static ngx_uint_t            srtp_ready;

    /* workers only: nginx's cache manager and loader (edges have a proxy
     * cache) run init_process too, with ngx_worker 0, and would bind
     * worker 0's port and take its datagrams */
    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    amcf = ngx_ams_get_main_conf(cycle);

    if (amcf == NULL || amcf->shm_zone == NULL) {
        return NGX_OK;
    }

    wcf = (ngx_ams_webrtc_main_conf_t *) ngx_get_conf(cycle->conf_ctx,
                                                      ngx_ams_webrtc_module);
    if (wcf->dtls == NULL) {
        return NGX_OK;
    }

    if (!srtp_ready) {
        if (ngx_ams_srtp_init() != 0) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "ams webrtc: libsrtp2 did not initialise");
            return NGX_ERROR;
        }

        srtp_ready = 1;
    }

    if (ngx_ams_webrtc_sessions_init(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    /* a port taken by something else costs WebRTC, not the worker */
    (void) ngx_ams_webrtc_udp_open(cycle);

    /* data channels across workers, and REST's broadcasts/{id}/data */
    ngx_ams_webrtc_mailbox_init(cycle);
    ngx_ams_data_send_handler = ngx_ams_webrtc_data_send;

    return NGX_OK;
}


static void
ngx_ams_webrtc_exit_process(ngx_cycle_t *cycle)
{
    ngx_ams_data_send_handler = NULL;
    ngx_ams_webrtc_mailbox_exit();
    ngx_ams_webrtc_sessions_exit();
    ngx_ams_webrtc_udp_close();
}
