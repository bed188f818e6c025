
/*
 * Copyright (C) nginx-ams authors
 *
 * The HTTP side of a node: location directives.
 *
 *   location ~ ^/[^/]+/rest/ { ams_rest; }     per application
 *   location /rest/           { ams_rest; }     server level
 *   location = /metrics       { ams_metrics; }
 *   location = /ams/time      { ams_time; }      DASH players' clock
 *   location ~ ^/[^/]+/streams/ { ams_media; root ...; }
 *
 * The REST API and /metrics answer only the addresses in
 * ams_remote_allowed_cidr (AMS's remoteAllowedCIDR; loopback by default),
 * so a node on a public address does not hand out tokens or stop streams
 * for anyone: a REST call from elsewhere needs the application's JWT
 * (jwt_control_enabled) or a wider list.  Unix-socket clients only when
 * the list says "unix:" (a local proxy's clients are anyone's).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_api.h"


static char *ngx_ams_api_content(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_ams_api_allow(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_array_t *ngx_ams_api_loopback(ngx_conf_t *cf);
static void *ngx_ams_api_create_loc_conf(ngx_conf_t *cf);
static char *ngx_ams_api_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_ams_api_init(ngx_conf_t *cf);


static ngx_command_t  ngx_ams_api_commands[] = {

    { ngx_string("ams_rest"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ams_api_content,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_ams_rest_handler },

    { ngx_string("ams_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ams_api_content,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_ams_metrics_handler },

    { ngx_string("ams_time"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_ams_api_content,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      ngx_ams_time_handler },

    { ngx_string("ams_media"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_ams_api_loc_conf_t, media),
      NULL },

    { ngx_string("ams_remote_allowed_cidr"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_ams_api_allow,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_ams_api_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_ams_api_init,                      /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    ngx_ams_api_create_loc_conf,           /* create location configuration */
    ngx_ams_api_merge_loc_conf             /* merge location configuration */
};


ngx_module_t  ngx_ams_api_module = {
    NGX_MODULE_V1,
    &ngx_ams_api_module_ctx,               /* module context */
    ngx_ams_api_commands,                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static char *
ngx_ams_api_content(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ams_api_loc_conf_t *alcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (ngx_ams_get_main_conf(cf->cycle) == NULL
        || ngx_ams_get_main_conf(cf->cycle)->shm_zone == NULL)
    {
        return "needs an \"ams\" block before \"http\"";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = (ngx_http_handler_pt) cmd->post;

    /* an "ams_media on" of the server does not gate the API's own
     * location (its requests are no stream's files) */
    if (alcf->media == NGX_CONF_UNSET) {
        alcf->media = 0;
    }

    return NGX_CONF_OK;
}


static void *
ngx_ams_api_create_loc_conf(ngx_conf_t *cf)
{
    ngx_ams_api_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_ams_api_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->media = NGX_CONF_UNSET;
    conf->allowed = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_ams_api_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_ams_api_loc_conf_t *prev = parent;
    ngx_ams_api_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->media, prev->media, 0);

    if (conf->allowed == NGX_CONF_UNSET_PTR) {
        if (prev->allowed == NGX_CONF_UNSET_PTR) {
            prev->allowed = ngx_ams_api_loopback(cf);
            if (prev->allowed == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        conf->allowed = prev->allowed;
    }

    return NGX_CONF_OK;
}


/* "ams_remote_allowed_cidr 127.0.0.1 10.0.0.0/8 ::1 unix:;" or "... all;" */
static char *
ngx_ams_api_allow(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_ams_api_loc_conf_t *alcf = conf;

    ngx_int_t    rc;
    ngx_str_t   *value;
    ngx_uint_t   i;
    ngx_cidr_t  *cidr;

    if (alcf->allowed != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "all") == 0) {
        alcf->allowed = NULL;
        return NGX_CONF_OK;
    }

    alcf->allowed = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                     sizeof(ngx_cidr_t));
    if (alcf->allowed == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        cidr = ngx_array_push(alcf->allowed);
        if (cidr == NULL) {
            return NGX_CONF_ERROR;
        }

        /* as nginx's "allow unix:": a unix socket's clients are let in
         * only when named, for a reverse proxy in front of this server
         * passes on anyone's requests */
        if (value[i].len == 5
            && ngx_strncmp(value[i].data, "unix:", 5) == 0)
        {
#if (NGX_HAVE_UNIX_DOMAIN)
            ngx_memzero(cidr, sizeof(ngx_cidr_t));
            cidr->family = AF_UNIX;
            continue;
#else
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"unix:\": no unix domain sockets here");
            return NGX_CONF_ERROR;
#endif
        }

        rc = ngx_ptocidr(&value[i], cidr);

        if (rc == NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid address or CIDR \"%V\" (\"all\" "
                               "stands alone)", &value[i]);
            return NGX_CONF_ERROR;
        }

        if (rc == NGX_DONE) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "low address bits of %V are meaningless",
                               &value[i]);
        }
    }

    return NGX_CONF_OK;
}


/* the default, as Ant Media Server's remoteAllowedCIDR: this host only */
static ngx_array_t *
ngx_ams_api_loopback(ngx_conf_t *cf)
{
    ngx_str_t     text[] = { ngx_string("127.0.0.1"), ngx_string("::1") };
    ngx_uint_t    i, n;
    ngx_cidr_t   *cidr;
    ngx_array_t  *a;

#if (NGX_HAVE_INET6)
    n = 2;
#else
    n = 1;
#endif

    a = ngx_array_create(cf->pool, n, sizeof(ngx_cidr_t));
    if (a == NULL) {
        return NULL;
    }

    for (i = 0; i < n; i++) {
        cidr = ngx_array_push(a);
        if (cidr == NULL || ngx_ptocidr(&text[i], cidr) != NGX_OK) {
            return NULL;
        }
    }

    return a;
}


ngx_uint_t
ngx_ams_api_allowed(ngx_http_request_t *r)
{
    ngx_uint_t               i;
    in_addr_t                v4;
    ngx_cidr_t              *cidr;
    struct sockaddr         *sa;
    ngx_ams_api_loc_conf_t  *alcf;
#if (NGX_HAVE_INET6)
    u_char                  *p;
    ngx_uint_t               k;
    struct in6_addr         *v6;
#endif

    alcf = ngx_http_get_module_loc_conf(r, ngx_ams_api_module);

    if (alcf->allowed == NULL) {
        return 1;
    }

    sa = r->connection->sockaddr;
    v4 = INADDR_NONE;

    switch (sa->sa_family) {

    case AF_INET:
        v4 = ((struct sockaddr_in *) sa)->sin_addr.s_addr;
        break;

#if (NGX_HAVE_INET6)
    case AF_INET6:
        v6 = &((struct sockaddr_in6 *) sa)->sin6_addr;

        if (IN6_IS_ADDR_V4MAPPED(v6)) {
            /* a [::] listener's IPv4 client: match it as IPv4 */
            p = v6->s6_addr;
            v4 = htonl((in_addr_t) p[12] << 24 | (in_addr_t) p[13] << 16
                       | (in_addr_t) p[14] << 8 | p[15]);
            break;
        }

        cidr = alcf->allowed->elts;

        for (i = 0; i < alcf->allowed->nelts; i++) {
            if (cidr[i].family != AF_INET6) {
                continue;
            }

            for (k = 0; k < 16; k++) {
                if ((v6->s6_addr[k] & cidr[i].u.in6.mask.s6_addr[k])
                    != cidr[i].u.in6.addr.s6_addr[k])
                {
                    break;
                }
            }

            if (k == 16) {
                return 1;
            }
        }

        return 0;
#endif

#if (NGX_HAVE_UNIX_DOMAIN)
    case AF_UNIX:
        /* only when "unix:" is in the list (a local proxy's clients are
         * anyone's) */
        cidr = alcf->allowed->elts;

        for (i = 0; i < alcf->allowed->nelts; i++) {
            if (cidr[i].family == AF_UNIX) {
                return 1;
            }
        }

        return 0;
#endif

    default:
        return 0;
    }

    cidr = alcf->allowed->elts;

    for (i = 0; i < alcf->allowed->nelts; i++) {
        if (cidr[i].family == AF_INET
            && (v4 & cidr[i].u.in.mask) == cidr[i].u.in.addr)
        {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_ams_api_init(ngx_conf_t *cf)
{
    return ngx_ams_media_init(cf);
}


/* a whole response in one buffer: status, type, length, body */
ngx_int_t
ngx_ams_api_send(ngx_http_request_t *r, ngx_uint_t status, const char *type,
    ngx_buf_t *b)
{
    ngx_int_t     rc;
    ngx_chain_t   out;

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    r->headers_out.status = status;
    r->headers_out.content_length_n = b->last - b->pos;
    r->headers_out.content_type.data = (u_char *) type;
    r->headers_out.content_type.len = ngx_strlen(type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
