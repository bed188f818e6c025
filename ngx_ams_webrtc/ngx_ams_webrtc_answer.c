
/*
 * Copyright (C) nginx-ams authors
 *
 * A session's offer/answer, for every signalling alike (WHIP/WHEP here,
 * Ant Media's WebSocket): the peer offers and we answer, or we offer
 * (AMS play) and take the peer's answer.  Either way, once the SDP is
 * agreed: the media layer set up (ngx_ams_webrtc_media_prepare before
 * choosing, for the stream's H.264 profile; _start after), then the
 * transport started (ngx_ams_webrtc_session_start: DTLS endpoint, the
 * tables, the handshake timer).
 *
 * Our side of the SDP: ICE-lite with the session's ufrag/pwd, the
 * node's certificate fingerprint, host candidates only: each
 * webrtc_public_address (else the node's address) with the port of this
 * worker.  DTLS: we are the server (setup:passive) unless the peer's
 * offer says passive, or its answer to our actpass says passive.
 *
 * A refusal is an HTTP status the signalling uses as is (404, 409, 422,
 * 503) with a short reason; the session is then the caller's to close.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <openssl/rand.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_transport.h"
#include "ngx_ams_viewer_limits.h"


#define NGX_AMS_WEBRTC_SDP_OUT   16384     /* doubled up to 4 times */

#define NGX_AMS_WEBRTC_422       422


/* our side's strings, alive while the SDP is written */
typedef struct {
    ngx_ams_sdp_local_t       local;
    char                      addr[NGX_AMS_SDP_MAX_CANDIDATES][64];
} ngx_ams_webrtc_side_t;


static ngx_int_t ngx_ams_webrtc_prepare(ngx_ams_webrtc_session_t *s,
    uint32_t *plid, const char **error);
static ngx_ams_sdp_t *ngx_ams_webrtc_parse(ngx_ams_webrtc_session_t *s,
    u_char *text, size_t len, const char **error);
static ngx_int_t ngx_ams_webrtc_side(ngx_ams_webrtc_session_t *s,
    ngx_ams_webrtc_side_t *lc, unsigned setup);
static ngx_int_t ngx_ams_webrtc_write(ngx_ams_webrtc_session_t *s,
    ngx_ams_sdp_t *offer, ngx_ams_webrtc_side_t *lc, uint32_t plid,
    ngx_str_t *out);
static ngx_int_t ngx_ams_webrtc_go(ngx_ams_webrtc_session_t *s,
    ngx_ams_sdp_t *sdp, ngx_uint_t client, const char **error);


ngx_int_t
ngx_ams_webrtc_session_answer(ngx_ams_webrtc_session_t *s, u_char *offer,
    size_t len, ngx_str_t *answer, const char **error)
{
    uint32_t                    plid, rnd[3];
    ngx_int_t                   rc;
    ngx_uint_t                  client;
    ngx_ams_sdp_t              *sdp;
    ngx_ams_sdp_media_t        *m;
    ngx_ams_sdp_policy_t        policy;
    ngx_ams_webrtc_side_t      lc;
    ngx_ams_webrtc_tsession_t  *ts = ngx_ams_webrtc_ts(s);

    if (ts->offered || ts->started || s->closing) {
        *error = "the session is negotiated already";
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sdp = ngx_ams_webrtc_parse(s, offer, len, error);
    if (sdp == NULL) {
        return NGX_AMS_WEBRTC_422;
    }

    plid = 0;

    rc = ngx_ams_webrtc_prepare(s, &plid, error);
    if (rc != NGX_OK) {
        goto done;
    }

    ngx_memzero(&policy, sizeof(ngx_ams_sdp_policy_t));
    policy.role = (s->direction == NGX_AMS_WEBRTC_PUBLISH)
                  ? NGX_AMS_SDP_WE_RECEIVE : NGX_AMS_SDP_WE_SEND;
    policy.want_profile_level_id = plid;
    policy.data_channels = 1;

    if (ngx_ams_sdp_select(sdp, &policy, &s->sel, error) != 0) {
        rc = NGX_AMS_WEBRTC_422;
        goto done;
    }

    if (RAND_bytes((u_char *) rnd, sizeof(rnd)) != 1) {
        *error = "no random numbers";
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    if (s->direction == NGX_AMS_WEBRTC_PUBLISH) {
        if (s->sel.audio >= 0) {
            m = &sdp->media[s->sel.audio];
            s->remote_audio_ssrc = m->nssrcs ? m->ssrc[0] : 0;
        }

        if (s->sel.video >= 0) {
            m = &sdp->media[s->sel.video];
            s->remote_video_ssrc = m->nssrcs ? m->ssrc[0] : 0;
            s->remote_video_rtx_ssrc = m->ssrc_rtx;
        }

    } else {
        /* random, and never 0 (which says "none") */
        s->local_audio_ssrc = (s->sel.audio >= 0) ? (rnd[0] | 1) : 0;
        s->local_video_ssrc = (s->sel.video >= 0) ? (rnd[1] | 1) : 0;
        s->local_video_rtx_ssrc = (s->sel.video >= 0 && s->sel.video_rtx_pt)
                                  ? (rnd[2] | 1) : 0;
    }

    /* the DTLS server unless the offer insists on being it */
    client = (sdp->setup == NGX_AMS_SDP_SETUP_PASSIVE);

    if (ngx_ams_webrtc_side(s, &lc, client ? NGX_AMS_SDP_SETUP_ACTIVE
                                            : NGX_AMS_SDP_SETUP_PASSIVE)
        != NGX_OK
        || ngx_ams_webrtc_write(s, sdp, &lc, 0, answer) != NGX_OK)
    {
        *error = "the answer could not be written";
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    rc = ngx_ams_webrtc_go(s, sdp, client, error);

done:

    ngx_free(sdp);

    return rc;
}


ngx_int_t
ngx_ams_webrtc_session_offer(ngx_ams_webrtc_session_t *s, ngx_str_t *offer,
    const char **error)
{
    uint32_t                    plid, rnd[3];
    ngx_int_t                   rc;
    ngx_ams_webrtc_side_t      lc;
    ngx_ams_webrtc_tsession_t  *ts = ngx_ams_webrtc_ts(s);

    if (ts->offered || ts->started || s->closing
        || s->direction != NGX_AMS_WEBRTC_PLAY)
    {
        *error = "the server offers only to play, once";
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    plid = 0;

    rc = ngx_ams_webrtc_prepare(s, &plid, error);
    if (rc != NGX_OK) {
        return rc;
    }

    if (RAND_bytes((u_char *) rnd, sizeof(rnd)) != 1) {
        *error = "no random numbers";
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    s->local_audio_ssrc = rnd[0] | 1;
    s->local_video_ssrc = rnd[1] | 1;
    s->local_video_rtx_ssrc = rnd[2] | 1;

    if (ngx_ams_webrtc_side(s, &lc, NGX_AMS_SDP_SETUP_ACTPASS) != NGX_OK) {
        *error = "the offer could not be written";
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    lc.local.data_channels = s->offer_data;

    if (ngx_ams_webrtc_write(s, NULL, &lc, plid ? plid : 0x42e01f, offer)
           != NGX_OK)
    {
        *error = "the offer could not be written";
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ts->offered = 1;
    ts->plid = plid;

    return NGX_OK;
}


ngx_int_t
ngx_ams_webrtc_session_take_answer(ngx_ams_webrtc_session_t *s,
    u_char *answer, size_t len, const char **error)
{
    ngx_int_t                   rc;
    ngx_uint_t                  client;
    ngx_ams_sdp_t              *sdp;
    ngx_ams_sdp_policy_t        policy;
    ngx_ams_webrtc_tsession_t  *ts = ngx_ams_webrtc_ts(s);

    if (!ts->offered || ts->started || s->closing) {
        *error = "no offer of ours waits for an answer";
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sdp = ngx_ams_webrtc_parse(s, answer, len, error);
    if (sdp == NULL) {
        return NGX_AMS_WEBRTC_422;
    }

    ngx_memzero(&policy, sizeof(ngx_ams_sdp_policy_t));
    policy.role = NGX_AMS_SDP_WE_SEND;
    policy.want_profile_level_id = ts->plid;
    policy.data_channels = s->offer_data;

    if (ngx_ams_sdp_select(sdp, &policy, &s->sel, error) != 0) {
        rc = NGX_AMS_WEBRTC_422;
        goto done;
    }

    if (s->sel.audio < 0) {
        s->local_audio_ssrc = 0;
    }

    if (s->sel.video < 0) {
        s->local_video_ssrc = 0;
        s->local_video_rtx_ssrc = 0;

    } else if (s->sel.video_rtx_pt == 0) {
        s->local_video_rtx_ssrc = 0;
    }

    /* our offer said actpass: the answer chooses */
    client = (sdp->setup == NGX_AMS_SDP_SETUP_PASSIVE);

    rc = ngx_ams_webrtc_go(s, sdp, client, error);

done:

    ngx_free(sdp);

    return rc;
}


/* the media layer first: which stream, and its H.264 profile */
static ngx_int_t
ngx_ams_webrtc_prepare(ngx_ams_webrtc_session_t *s, uint32_t *plid,
    const char **error)
{
    ngx_int_t  rc;

    rc = ngx_ams_webrtc_media_prepare(s, plid);

    switch (rc) {

    case NGX_OK:
        ngx_ams_webrtc_ts(s)->prepared = 1;
        return NGX_OK;

    case NGX_BUSY:
        *error = "the stream is live already";
        return NGX_HTTP_CONFLICT;

    case NGX_DECLINED:
        *error = "no such live stream";
        return NGX_HTTP_NOT_FOUND;

    case NGX_ABORT:
        *error = NGX_AMS_VIEWER_LIMIT_REACHED;
        return NGX_HTTP_FORBIDDEN;

    default:
        *error = "the stream cannot be set up";
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }
}


/* the peer's SDP, on the heap (it is large) for the call's time */
static ngx_ams_sdp_t *
ngx_ams_webrtc_parse(ngx_ams_webrtc_session_t *s, u_char *text, size_t len,
    const char **error)
{
    ngx_ams_sdp_t  *sdp;

    if (len == 0 || len > NGX_AMS_SDP_MAX_LEN) {
        *error = len ? "the SDP is larger than 65536 bytes" : "no SDP";
        return NULL;
    }

    sdp = ngx_alloc(sizeof(ngx_ams_sdp_t), &s->log);
    if (sdp == NULL) {
        *error = "out of memory";
        return NULL;
    }

    if (ngx_ams_sdp_parse((char *) text, len, sdp, error) != 0) {
        ngx_free(sdp);
        return NULL;
    }

    if (!sdp->has_fingerprint) {
        *error = "no sha-256 fingerprint";
        ngx_free(sdp);
        return NULL;
    }

    if (sdp->ice_ufrag[0] == '\0' || sdp->ice_pwd[0] == '\0') {
        *error = "no ice-ufrag or ice-pwd";
        ngx_free(sdp);
        return NULL;
    }

    ngx_cpystrn(s->remote_ufrag, (u_char *) sdp->ice_ufrag,
                sizeof(s->remote_ufrag));
    ngx_cpystrn(s->remote_pwd, (u_char *) sdp->ice_pwd,
                sizeof(s->remote_pwd));

    return sdp;
}


static ngx_int_t
ngx_ams_webrtc_side(ngx_ams_webrtc_session_t *s, ngx_ams_webrtc_side_t *lc,
    unsigned setup)
{
    uint32_t                     id;
    in_port_t                    port;
    ngx_str_t                   *addr;
    ngx_uint_t                   i, n;
    ngx_ams_main_conf_t         *amcf;
    ngx_ams_sdp_local_t         *local;
    ngx_ams_webrtc_main_conf_t  *wcf;

    wcf = ngx_ams_webrtc_main_conf();
    amcf = ngx_ams_get_main_conf((ngx_cycle_t *) ngx_cycle);

    if (wcf == NULL || wcf->dtls == NULL || amcf == NULL) {
        return NGX_ERROR;
    }

    if (RAND_bytes((u_char *) &id, sizeof(id)) != 1) {
        return NGX_ERROR;
    }

    local = &lc->local;
    ngx_memzero(local, sizeof(ngx_ams_sdp_local_t));

    local->ice_ufrag = (char *) s->local_ufrag;
    local->ice_pwd = (char *) s->local_pwd;
    local->fingerprint = ngx_ams_dtls_ctx_fingerprint(wcf->dtls);
    local->setup = setup;
    local->audio_ssrc = s->local_audio_ssrc;
    local->video_ssrc = s->local_video_ssrc;
    local->video_rtx_ssrc = s->local_video_rtx_ssrc;
    /* public in the SDP already, and no one's id */
    local->cname = (char *) s->local_ufrag;
    local->stream_id = (char *) s->stream_id.data;
    local->session_id = id & 0x7fffffff;

    /* each webrtc_public_address, else the node's; the port of this
     * worker, where the session lives */
    port = ngx_ams_webrtc_udp_port();

    if (wcf->public_addresses) {
        addr = wcf->public_addresses->elts;
        n = wcf->public_addresses->nelts;

    } else {
        addr = &amcf->node_address;
        n = 1;
    }

    for (i = 0; i < n && i < NGX_AMS_SDP_MAX_CANDIDATES; i++) {
        ngx_cpystrn((u_char *) lc->addr[i], addr[i].data,
                    ngx_min(addr[i].len + 1, sizeof(lc->addr[i])));
        local->candidate[i].addr = lc->addr[i];
        local->candidate[i].port = port;
        local->ncandidates++;
    }

    return NGX_OK;
}


/* an answer to "offer", or (offer NULL) our own offer, in s->pool */
static ngx_int_t
ngx_ams_webrtc_write(ngx_ams_webrtc_session_t *s, ngx_ams_sdp_t *offer,
    ngx_ams_webrtc_side_t *lc, uint32_t plid, ngx_str_t *out)
{
    size_t   cap, len;
    u_char  *p;

    for (cap = NGX_AMS_WEBRTC_SDP_OUT; ; cap *= 2) {
        p = ngx_pnalloc(s->pool, cap);
        if (p == NULL) {
            return NGX_ERROR;
        }

        len = offer ? ngx_ams_sdp_answer((char *) p, cap, offer, &s->sel,
                                         &lc->local)
                    : ngx_ams_sdp_offer((char *) p, cap, plid, 1, 1,
                                        &lc->local);

        if (len) {
            out->data = p;
            out->len = len;
            return NGX_OK;
        }

        ngx_pfree(s->pool, p);

        if (cap >= 8 * NGX_AMS_WEBRTC_SDP_OUT) {
            ngx_log_error(NGX_LOG_ERR, &s->log, 0,
                          "ams webrtc: the SDP did not fit %uz bytes", cap);
            return NGX_ERROR;
        }
    }
}


/* agreed: the media layer set up, the transport started */
static ngx_int_t
ngx_ams_webrtc_go(ngx_ams_webrtc_session_t *s, ngx_ams_sdp_t *sdp,
    ngx_uint_t client, const char **error)
{
    ngx_ams_webrtc_tsession_t  *ts = ngx_ams_webrtc_ts(s);

    if (ngx_ams_webrtc_media_start(s) != NGX_OK || s->closing) {
        *error = "the media could not start";
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    ts->media_started = 1;

    if (ngx_ams_webrtc_session_start(s, client, sdp->fingerprint) != NGX_OK)
    {
        *error = "the session could not start";
        return NGX_HTTP_SERVICE_UNAVAILABLE;
    }

    return NGX_OK;
}
