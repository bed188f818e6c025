
/*
 * Copyright (C) nginx-ams authors
 *
 * SRTP/SRTCP for one session with libsrtp2.  libsrtp2 allows one
 * "any SSRC" template per session, so a session of ours is two of
 * libsrtp2's: the outbound one keyed with our key (every SSRC we send)
 * and the inbound one keyed with the peer's (every SSRC it sends).
 *
 * Debian's libsrtp2 is built on NSS.  Checked: sessions made in a child
 * forked after the parent had used libsrtp2 work; still, the worker
 * (init_process) is the natural place for ngx_ams_srtp_init(), and
 * ngx_ams_srtp_create() calls it anyway.
 */


#include <stdlib.h>
#include <string.h>
#include <limits.h>

#include <srtp2/srtp.h>

#include "ngx_ams_dtls.h"
#include "ngx_ams_srtp.h"


struct ngx_ams_srtp_s {
    srtp_t   out;
    srtp_t   in;
};


static srtp_t ngx_ams_srtp_session(unsigned profile, const uint8_t *key,
    size_t key_salt_len, srtp_ssrc_type_t type);
static int ngx_ams_srtp_status(srtp_err_status_t st);


int
ngx_ams_srtp_init(void)
{
    static int  done;

    if (done) {
        return 0;
    }

    if (srtp_init() != srtp_err_status_ok) {
        return -1;
    }

    done = 1;

    return 0;
}


ngx_ams_srtp_t *
ngx_ams_srtp_create(unsigned profile, const uint8_t *local,
    const uint8_t *remote, size_t key_salt_len)
{
    ngx_ams_srtp_t  *s;

    if (ngx_ams_srtp_init() != 0) {
        return NULL;
    }

    s = calloc(1, sizeof(ngx_ams_srtp_t));
    if (s == NULL) {
        return NULL;
    }

    s->out = ngx_ams_srtp_session(profile, local, key_salt_len,
                                  ssrc_any_outbound);
    if (s->out == NULL) {
        free(s);
        return NULL;
    }

    s->in = ngx_ams_srtp_session(profile, remote, key_salt_len,
                                 ssrc_any_inbound);
    if (s->in == NULL) {
        srtp_dealloc(s->out);
        free(s);
        return NULL;
    }

    return s;
}


static srtp_t
ngx_ams_srtp_session(unsigned profile, const uint8_t *key,
    size_t key_salt_len, srtp_ssrc_type_t type)
{
    srtp_t         session;
    srtp_policy_t  policy;
    unsigned char  k[NGX_AMS_SRTP_MAX_KEY_SALT];

    memset(&policy, 0, sizeof(srtp_policy_t));

    switch (profile) {

    case NGX_AMS_SRTP_AES128_CM_SHA1_80:
        if (key_salt_len != 30) {
            return NULL;
        }

        srtp_crypto_policy_set_rtp_default(&policy.rtp);
        srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
        break;

    case NGX_AMS_SRTP_AEAD_AES_128_GCM:
        if (key_salt_len != 28) {
            return NULL;
        }

        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
        break;

    default:
        return NULL;
    }

    /* libsrtp2 keeps the pointer until srtp_create() returns */
    memcpy(k, key, key_salt_len);

    policy.ssrc.type = type;
    policy.key = k;
    policy.window_size = NGX_AMS_SRTP_REPLAY;
    /* retransmissions are sent as they were protected the first time */
    policy.allow_repeat_tx = 0;
    policy.next = NULL;

    if (srtp_create(&session, &policy) != srtp_err_status_ok) {
        session = NULL;
    }

    memset(k, 0, sizeof(k));

    return session;
}


void
ngx_ams_srtp_free(ngx_ams_srtp_t *s)
{
    if (s == NULL) {
        return;
    }

    srtp_dealloc(s->out);
    srtp_dealloc(s->in);
    free(s);
}


int
ngx_ams_srtp_protect(ngx_ams_srtp_t *s, uint8_t *p, size_t *len)
{
    int                n;
    srtp_err_status_t  st;

    if (*len < 12 || *len > INT_MAX - NGX_AMS_SRTP_TRAILER) {
        return NGX_AMS_SRTP_FAIL;
    }

    n = (int) *len;
    st = srtp_protect(s->out, p, &n);

    if (st != srtp_err_status_ok) {
        return ngx_ams_srtp_status(st);
    }

    *len = n;

    return NGX_AMS_SRTP_OK;
}


int
ngx_ams_srtp_unprotect(ngx_ams_srtp_t *s, uint8_t *p, size_t *len)
{
    int                n;
    srtp_err_status_t  st;

    if (*len < 12 || *len > INT_MAX) {
        return NGX_AMS_SRTP_FAIL;
    }

    n = (int) *len;
    st = srtp_unprotect(s->in, p, &n);

    if (st != srtp_err_status_ok) {
        return ngx_ams_srtp_status(st);
    }

    *len = n;

    return NGX_AMS_SRTP_OK;
}


int
ngx_ams_srtp_protect_rtcp(ngx_ams_srtp_t *s, uint8_t *p, size_t *len)
{
    int                n;
    srtp_err_status_t  st;

    if (*len < 8 || *len > INT_MAX - NGX_AMS_SRTP_TRAILER) {
        return NGX_AMS_SRTP_FAIL;
    }

    n = (int) *len;
    st = srtp_protect_rtcp(s->out, p, &n);

    if (st != srtp_err_status_ok) {
        return ngx_ams_srtp_status(st);
    }

    *len = n;

    return NGX_AMS_SRTP_OK;
}


int
ngx_ams_srtp_unprotect_rtcp(ngx_ams_srtp_t *s, uint8_t *p, size_t *len)
{
    int                n;
    srtp_err_status_t  st;

    if (*len < 8 || *len > INT_MAX) {
        return NGX_AMS_SRTP_FAIL;
    }

    n = (int) *len;
    st = srtp_unprotect_rtcp(s->in, p, &n);

    if (st != srtp_err_status_ok) {
        return ngx_ams_srtp_status(st);
    }

    *len = n;

    return NGX_AMS_SRTP_OK;
}


static int
ngx_ams_srtp_status(srtp_err_status_t st)
{
    switch (st) {

    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
        return NGX_AMS_SRTP_REPLAYED;

    case srtp_err_status_auth_fail:
        return NGX_AMS_SRTP_AUTH_FAIL;

    default:
        return NGX_AMS_SRTP_FAIL;
    }
}
