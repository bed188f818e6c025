
/*
 * Copyright (C) nginx-ams authors
 *
 * SDP offer/answer for WebRTC, our side: the choice of what we take from
 * a peer's offer (ngx_ams_sdp_select()) and the writers of our answer
 * and our offer.  The parser is ngx_ams_sdp.c.
 *
 * Writers print into a caller's buffer of fixed size: one that would
 * overflow is a refusal, never a truncated description.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ngx_ams_sdp.h"


typedef struct {
    char                     *p;
    char                     *end;
    unsigned                  full:1;
} ngx_ams_sdp_out_t;


static int ngx_ams_sdp_in_bundle(const ngx_ams_sdp_t *sdp,
    const ngx_ams_sdp_media_t *m);
static int ngx_ams_sdp_h264_score(uint32_t offered, uint32_t want);
static int ngx_ams_sdp_h264_rank(unsigned profile_idc);
static uint8_t ngx_ams_sdp_ext_id(const ngx_ams_sdp_media_t *m,
    const char *uri);

static void ngx_ams_sdp_put(ngx_ams_sdp_out_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void ngx_ams_sdp_put_head(ngx_ams_sdp_out_t *o,
    const ngx_ams_sdp_local_t *local);
static void ngx_ams_sdp_put_conn(ngx_ams_sdp_out_t *o, const char *name,
    const char *proto, const ngx_ams_sdp_local_t *local);
static void ngx_ams_sdp_put_transport(ngx_ams_sdp_out_t *o,
    const ngx_ams_sdp_local_t *local, unsigned setup);
static void ngx_ams_sdp_put_candidates(ngx_ams_sdp_out_t *o,
    const ngx_ams_sdp_local_t *local);
static void ngx_ams_sdp_put_ssrc(ngx_ams_sdp_out_t *o, uint32_t ssrc,
    uint32_t rtx, const ngx_ams_sdp_local_t *local, const char *track);
static void ngx_ams_sdp_put_fb(ngx_ams_sdp_out_t *o, unsigned pt,
    unsigned nack, unsigned pli, unsigned fir, unsigned remb,
    unsigned twcc);


/* the proto of every audio/video section we take (RFC 5764, 8829) */
#define NGX_AMS_SDP_PROTO_RTP     "UDP/TLS/RTP/SAVPF"

/* what we write for ourselves */
#define NGX_AMS_SDP_OUR_OPUS_FMTP "minptime=10;useinbandfec=1"
#define NGX_AMS_SDP_SCTP_PORT     5000
#define NGX_AMS_SDP_MAX_MESSAGE   262144
#define NGX_AMS_SDP_OFFER_OPUS    111
#define NGX_AMS_SDP_OFFER_H264    102
#define NGX_AMS_SDP_OFFER_RTX     103


int
ngx_ams_sdp_select(const ngx_ams_sdp_t *offer,
    const ngx_ams_sdp_policy_t *policy, ngx_ams_sdp_selection_t *sel,
    const char **err)
{
    int                          score, best, used;
    unsigned                     i, j, dir;
    uint32_t                     want, plid;
    const char                  *why;
    const ngx_ams_sdp_codec_t   *c, *v;
    const ngx_ams_sdp_media_t   *m;

    memset(sel, 0, sizeof(ngx_ams_sdp_selection_t));
    sel->audio = -1;
    sel->video = -1;
    sel->application = -1;
    sel->role = policy->role;

    if (policy->role != NGX_AMS_SDP_WE_RECEIVE
        && policy->role != NGX_AMS_SDP_WE_SEND)
    {
        *err = "no role";
        return -1;
    }

    if (offer->ice_ufrag[0] == '\0') {
        *err = "no ice-ufrag";
        return -1;
    }

    if (offer->ice_pwd[0] == '\0') {
        *err = "no ice-pwd";
        return -1;
    }

    if (!offer->has_fingerprint) {
        *err = "no sha-256 fingerprint";
        return -1;
    }

    if (offer->ice_lite) {
        /* two lite agents: nobody would send a check */
        *err = "the peer is ICE-lite too";
        return -1;
    }

    /* we are DTLS server unless the peer insists on being it */
    sel->setup = offer->setup == NGX_AMS_SDP_SETUP_PASSIVE
                 ? NGX_AMS_SDP_SETUP_ACTIVE : NGX_AMS_SDP_SETUP_PASSIVE;

    /* the peer's direction we can serve */
    dir = policy->role == NGX_AMS_SDP_WE_RECEIVE
          ? NGX_AMS_SDP_SENDONLY : NGX_AMS_SDP_RECVONLY;

    want = policy->role == NGX_AMS_SDP_WE_SEND && policy->want_profile_level_id
           ? policy->want_profile_level_id : 0x42e01f;

    why = "no audio or video section";
    used = 0;

    for (i = 0; i < offer->nmedia; i++) {
        m = &offer->media[i];

        if (m->kind == 0
            || (m->kind == NGX_AMS_SDP_AUDIO && sel->audio >= 0)
            || (m->kind == NGX_AMS_SDP_VIDEO && sel->video >= 0)
            || (m->kind == NGX_AMS_SDP_APPLICATION
                && (sel->application >= 0 || !policy->data_channels)))
        {
            continue;
        }

        if (offer->nbundle && !ngx_ams_sdp_in_bundle(offer, m)) {
            why = "a section outside the BUNDLE group";
            continue;
        }

        if (m->port == 0 && !(m->bundle_only && offer->nbundle)) {
            why = "every section disabled (port 0)";
            continue;
        }

        if (m->kind == NGX_AMS_SDP_APPLICATION) {
            if ((strcmp(m->proto, "UDP/DTLS/SCTP") == 0
                 || strcmp(m->proto, "TCP/DTLS/SCTP") == 0)
                && strcmp(m->fmt, "webrtc-datachannel") == 0)
            {
                /* RFC 8841 */
                sel->sctp_port = m->sctp_port ? m->sctp_port
                                              : NGX_AMS_SDP_SCTP_PORT;

            } else if (strcmp(m->proto, "DTLS/SCTP") == 0
                       && ngx_ams_sdp_fmt_port(m->fmt, &sel->sctp_port)
                          == 0)
            {
                /* draft-ietf-mmusic-sctp-sdp-05: the port as format */
                sel->sctp_legacy = 1;

            } else {
                continue;
            }

            sel->application = (int) i;
            used++;
            continue;
        }

        if (strcmp(m->proto, NGX_AMS_SDP_PROTO_RTP) != 0) {
            why = "not UDP/TLS/RTP/SAVPF";
            continue;
        }

        if (!m->rtcp_mux) {
            why = "no rtcp-mux";
            continue;
        }

        if (m->direction != dir && m->direction != NGX_AMS_SDP_SENDRECV) {
            why = policy->role == NGX_AMS_SDP_WE_RECEIVE
                  ? "nothing sent to us (WHIP wants sendonly)"
                  : "nothing we may send (WHEP wants recvonly)";
            continue;
        }

        if (m->kind == NGX_AMS_SDP_AUDIO) {
            for (j = 0; j < m->ncodecs; j++) {
                c = &m->codec[j];

                if (strcasecmp(c->name, "opus") == 0 && c->clock == 48000
                    && c->channels == 2)
                {
                    break;
                }
            }

            if (j == m->ncodecs) {
                why = "no Opus 48000/2";
                continue;
            }

            sel->audio = (int) i;
            sel->audio_pt = c->pt;
            sel->audio_ext_mid = ngx_ams_sdp_ext_id(m, NGX_AMS_SDP_EXT_MID);

            if (policy->twcc) {
                sel->audio_ext_twcc = ngx_ams_sdp_ext_id(m,
                                                         NGX_AMS_SDP_EXT_TWCC);
                sel->twcc |= sel->audio_ext_twcc && c->fb_transport_cc;
            }

            used++;
            continue;
        }

        /* video: the H.264 closest to what we want, else VP8 if allowed */
        v = NULL;
        best = 0;

        for (j = 0; j < m->ncodecs; j++) {
            c = &m->codec[j];

            if (strcasecmp(c->name, "H264") != 0 || c->clock != 90000
                || c->packetization_mode != 1)
            {
                continue;
            }

            /* RFC 6184: absent means baseline 1.0 */
            plid = c->profile_level_id ? c->profile_level_id : 0x42000a;
            score = ngx_ams_sdp_h264_score(plid, want);

            if (score > best) {
                best = score;
                v = c;
            }
        }

        if (v) {
            sel->video_codec = NGX_AMS_SDP_CODEC_H264;
            sel->profile_level_id = v->profile_level_id ? v->profile_level_id
                                                        : 0x42000a;

        } else if (policy->allow_vp8) {
            for (j = 0; j < m->ncodecs; j++) {
                c = &m->codec[j];

                if (strcasecmp(c->name, "VP8") == 0 && c->clock == 90000) {
                    v = c;
                    sel->video_codec = NGX_AMS_SDP_CODEC_VP8;
                    break;
                }
            }
        }

        if (v == NULL) {
            why = policy->allow_vp8 ? "no H.264 packetization-mode 1 or VP8"
                                    : "no H.264 packetization-mode 1";
            continue;
        }

        sel->video = (int) i;
        sel->video_pt = v->pt;

        for (j = 0; j < m->ncodecs; j++) {
            c = &m->codec[j];

            if (strcasecmp(c->name, "rtx") == 0 && c->clock == 90000
                && c->rtx_apt == v->pt && c->pt != v->pt)
            {
                sel->video_rtx_pt = c->pt;
                break;
            }
        }

        sel->video_nack = v->fb_nack;
        sel->video_pli = v->fb_nack_pli;
        sel->video_fir = v->fb_ccm_fir;
        sel->remb = v->fb_goog_remb;
        sel->ext_mid = ngx_ams_sdp_ext_id(m, NGX_AMS_SDP_EXT_MID);
        sel->ext_abs_send_time = ngx_ams_sdp_ext_id(m,
                                               NGX_AMS_SDP_EXT_ABS_SEND_TIME);

        if (policy->twcc) {
            sel->ext_twcc = ngx_ams_sdp_ext_id(m, NGX_AMS_SDP_EXT_TWCC);
            sel->twcc |= sel->ext_twcc && v->fb_transport_cc;
        }

        used++;
    }

    if (sel->audio < 0 && sel->video < 0) {
        *err = why;
        return -1;
    }

    if (used > 1 && offer->nbundle == 0) {
        /* one port, one ICE and DTLS transport per session */
        *err = "no BUNDLE group";
        return -1;
    }

    if (!sel->twcc) {
        sel->ext_twcc = 0;
        sel->audio_ext_twcc = 0;
    }

    return 0;
}


static int
ngx_ams_sdp_in_bundle(const ngx_ams_sdp_t *sdp, const ngx_ams_sdp_media_t *m)
{
    unsigned  i;

    if (m->mid[0] == '\0') {
        return 0;
    }

    for (i = 0; i < sdp->nbundle; i++) {
        if (strcmp(sdp->bundle[i], m->mid) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * How well an offered profile-level-id suits the stream: the same
 * profile with the same constraints first, then the same profile_idc
 * with the same constrained-baseline bit (constraint_set1: 42e0xx for a
 * 42c0xx stream), then the same profile_idc (42e0xx for 42xxxx), then a
 * profile that decodes more (High 4:4:4 > High > Main > Baseline), then
 * anything (browsers decode beyond what they offer); within each, a
 * level at or above the stream's, the nearest first.  Always > 0.
 */
static int
ngx_ams_sdp_h264_score(uint32_t offered, uint32_t want)
{
    int       base, diff;
    unsigned  po, pw, lo, lw;

    po = offered >> 16;
    pw = want >> 16;
    lo = offered & 0xff;
    lw = want & 0xff;

    if ((offered >> 8) == (want >> 8)) {
        base = 5;

    } else if (po == pw && (offered & 0x4000) == (want & 0x4000)) {
        base = 4;

    } else if (po == pw) {
        base = 3;

    } else if (ngx_ams_sdp_h264_rank(po) > ngx_ams_sdp_h264_rank(pw)) {
        base = 2;

    } else {
        base = 1;
    }

    diff = (int) lo - (int) lw;

    return base * 10000 + (diff >= 0 ? 5000 - diff : 2000 + diff);
}


/* which profiles decode which: each decodes those ranked below it */
static int
ngx_ams_sdp_h264_rank(unsigned profile_idc)
{
    switch (profile_idc) {
    case 0x42: return 1;                /* (constrained) baseline */
    case 0x4d: return 2;                /* main */
    case 0x64: return 3;                /* high */
    case 0x6e: return 4;                /* high 10 */
    case 0x7a: return 5;                /* high 4:2:2 */
    case 0xf4: return 6;                /* high 4:4:4 predictive */
    default:   return 0;
    }
}


static uint8_t
ngx_ams_sdp_ext_id(const ngx_ams_sdp_media_t *m, const char *uri)
{
    unsigned  i;

    for (i = 0; i < m->nextmaps; i++) {
        if (strcmp(m->extmap[i].uri, uri) == 0) {
            return m->extmap[i].id;
        }
    }

    return 0;
}


size_t
ngx_ams_sdp_answer(char *out, size_t cap, const ngx_ams_sdp_t *offer,
    const ngx_ams_sdp_selection_t *sel, const ngx_ams_sdp_local_t *local)
{
    int                         send;
    unsigned                    i, j, setup;
    const char                 *name;
    ngx_ams_sdp_out_t           o;
    const ngx_ams_sdp_codec_t  *c;
    const ngx_ams_sdp_media_t  *m;

    if (cap == 0) {
        return 0;
    }

    o.p = out;
    o.end = out + cap;
    o.full = 0;

    send = (sel->role == NGX_AMS_SDP_WE_SEND);
    setup = (local->setup == NGX_AMS_SDP_SETUP_ACTIVE
             || local->setup == NGX_AMS_SDP_SETUP_PASSIVE)
            ? local->setup : sel->setup;

    ngx_ams_sdp_put_head(&o, local);

    if (offer->nbundle) {
        ngx_ams_sdp_put(&o, "a=group:BUNDLE");

        for (i = 0; i < offer->nmedia; i++) {
            if ((int) i == sel->audio || (int) i == sel->video
                || (int) i == sel->application)
            {
                ngx_ams_sdp_put(&o, " %s", offer->media[i].mid);
            }
        }

        ngx_ams_sdp_put(&o, "\r\n");
    }

    ngx_ams_sdp_put(&o, "a=ice-lite\r\n");

    if (send) {
        ngx_ams_sdp_put(&o, "a=msid-semantic:WMS %s\r\n",
                        local->stream_id ? local->stream_id : "ams");
    }

    for (i = 0; i < offer->nmedia; i++) {
        m = &offer->media[i];

        if ((int) i != sel->audio && (int) i != sel->video
            && (int) i != sel->application)
        {
            /* rejected (RFC 8829 5.3.1): port 0, the offer's proto;
             * the transport's lines stay (aiortc refuses a section
             * without ice-ufrag) */
            if (m->ncodecs) {
                ngx_ams_sdp_put(&o, "m=%s 0 %s %u\r\n", m->name, m->proto,
                                (unsigned) m->codec[0].pt);

            } else {
                ngx_ams_sdp_put(&o, "m=%s 0 %s %s\r\n", m->name, m->proto,
                                m->fmt[0] ? m->fmt : "0");
            }

            ngx_ams_sdp_put_transport(&o, local, setup);

            if (m->mid[0]) {
                ngx_ams_sdp_put(&o, "a=mid:%s\r\n", m->mid);
            }

            if (m->ncodecs) {
                ngx_ams_sdp_put(&o, "a=inactive\r\n");
            }

            continue;
        }

        if ((int) i == sel->application) {
            ngx_ams_sdp_put_conn(&o, m->name, m->proto, local);
            ngx_ams_sdp_put(&o, " %s\r\n", sel->sctp_legacy ? "5000"
                                                          : m->fmt);
            ngx_ams_sdp_put_transport(&o, local, setup);

            if (m->mid[0]) {
                ngx_ams_sdp_put(&o, "a=mid:%s\r\n", m->mid);
            }

            if (sel->sctp_legacy) {
                ngx_ams_sdp_put(&o, "a=sctpmap:%d webrtc-datachannel "
                                "1024\r\n", NGX_AMS_SDP_SCTP_PORT);

            } else {
                ngx_ams_sdp_put(&o, "a=sctp-port:%d\r\n",
                                NGX_AMS_SDP_SCTP_PORT);
            }

            ngx_ams_sdp_put(&o, "a=max-message-size:%d\r\n",
                            NGX_AMS_SDP_MAX_MESSAGE);
            ngx_ams_sdp_put_candidates(&o, local);
            continue;
        }

        ngx_ams_sdp_put_conn(&o, m->name, m->proto, local);

        if ((int) i == sel->audio) {
            ngx_ams_sdp_put(&o, " %u\r\n", (unsigned) sel->audio_pt);

        } else if (sel->video_rtx_pt) {
            ngx_ams_sdp_put(&o, " %u %u\r\n", (unsigned) sel->video_pt,
                            (unsigned) sel->video_rtx_pt);

        } else {
            ngx_ams_sdp_put(&o, " %u\r\n", (unsigned) sel->video_pt);
        }

        ngx_ams_sdp_put_transport(&o, local, setup);

        if (m->mid[0]) {
            ngx_ams_sdp_put(&o, "a=mid:%s\r\n", m->mid);
        }

        if ((int) i == sel->audio) {
            if (sel->audio_ext_mid) {
                ngx_ams_sdp_put(&o, "a=extmap:%u %s\r\n",
                                (unsigned) sel->audio_ext_mid,
                                NGX_AMS_SDP_EXT_MID);
            }

            if (sel->audio_ext_twcc) {
                ngx_ams_sdp_put(&o, "a=extmap:%u %s\r\n",
                                (unsigned) sel->audio_ext_twcc,
                                NGX_AMS_SDP_EXT_TWCC);
            }

        } else {
            if (sel->ext_mid) {
                ngx_ams_sdp_put(&o, "a=extmap:%u %s\r\n",
                                (unsigned) sel->ext_mid, NGX_AMS_SDP_EXT_MID);
            }

            if (sel->ext_abs_send_time) {
                ngx_ams_sdp_put(&o, "a=extmap:%u %s\r\n",
                                (unsigned) sel->ext_abs_send_time,
                                NGX_AMS_SDP_EXT_ABS_SEND_TIME);
            }

            if (sel->ext_twcc) {
                ngx_ams_sdp_put(&o, "a=extmap:%u %s\r\n",
                                (unsigned) sel->ext_twcc,
                                NGX_AMS_SDP_EXT_TWCC);
            }
        }

        name = (int) i == sel->audio ? "audio" : "video";

        if (send) {
            ngx_ams_sdp_put(&o, "a=sendonly\r\na=msid:%s %s-%s\r\n",
                            local->stream_id ? local->stream_id : "ams",
                            local->stream_id ? local->stream_id : "ams",
                            name);

        } else {
            ngx_ams_sdp_put(&o, "a=recvonly\r\n");
        }

        ngx_ams_sdp_put(&o, "a=rtcp-mux\r\n");

        if (m->rtcp_rsize) {
            ngx_ams_sdp_put(&o, "a=rtcp-rsize\r\n");
        }

        if ((int) i == sel->audio) {
            ngx_ams_sdp_put(&o, "a=rtpmap:%u opus/48000/2\r\n",
                            (unsigned) sel->audio_pt);

            if (sel->audio_ext_twcc) {
                ngx_ams_sdp_put_fb(&o, sel->audio_pt, 0, 0, 0, 0, 1);
            }

            ngx_ams_sdp_put(&o, "a=fmtp:%u " NGX_AMS_SDP_OUR_OPUS_FMTP "\r\n",
                            (unsigned) sel->audio_pt);

            if (send && local->audio_ssrc) {
                ngx_ams_sdp_put_ssrc(&o, local->audio_ssrc, 0, local, name);
            }

            ngx_ams_sdp_put_candidates(&o, local);
            continue;
        }

        ngx_ams_sdp_put(&o, "a=rtpmap:%u %s/90000\r\n",
                        (unsigned) sel->video_pt,
                        sel->video_codec == NGX_AMS_SDP_CODEC_VP8
                        ? "VP8" : "H264");
        ngx_ams_sdp_put_fb(&o, sel->video_pt, sel->video_nack, sel->video_pli,
                           sel->video_fir, sel->remb, sel->ext_twcc != 0);

        if (sel->video_codec == NGX_AMS_SDP_CODEC_H264) {
            /* the offer's own profile-level-id: an answer may not change
             * the profile, and a lower level would only cap the sender */
            c = NULL;

            for (j = 0; j < m->ncodecs; j++) {
                if (m->codec[j].pt == sel->video_pt) {
                    c = &m->codec[j];
                    break;
                }
            }

            ngx_ams_sdp_put(&o, "a=fmtp:%u %spacketization-mode=1;"
                            "profile-level-id=%06x\r\n",
                            (unsigned) sel->video_pt,
                            c && c->level_asymmetry_allowed
                            ? "level-asymmetry-allowed=1;" : "",
                            (unsigned) sel->profile_level_id);
        }

        if (sel->video_rtx_pt) {
            ngx_ams_sdp_put(&o, "a=rtpmap:%u rtx/90000\r\na=fmtp:%u apt=%u\r\n",
                            (unsigned) sel->video_rtx_pt,
                            (unsigned) sel->video_rtx_pt,
                            (unsigned) sel->video_pt);
        }

        if (send && local->video_ssrc) {
            ngx_ams_sdp_put_ssrc(&o, local->video_ssrc,
                                 sel->video_rtx_pt ? local->video_rtx_ssrc : 0,
                                 local, name);
        }

        ngx_ams_sdp_put_candidates(&o, local);
    }

    if (o.full || o.p >= o.end) {
        return 0;
    }

    *o.p = '\0';

    return o.p - out;
}


size_t
ngx_ams_sdp_offer(char *out, size_t cap, uint32_t profile_level_id,
    unsigned audio, unsigned video, const ngx_ams_sdp_local_t *local)
{
    unsigned           mid;
    const char        *sid;
    ngx_ams_sdp_out_t  o;

    if (cap == 0 || (!audio && !video)) {
        return 0;
    }

    o.p = out;
    o.end = out + cap;
    o.full = 0;

    sid = local->stream_id ? local->stream_id : "ams";

    if (profile_level_id == 0) {
        profile_level_id = 0x42e01f;
    }

    ngx_ams_sdp_put_head(&o, local);
    ngx_ams_sdp_put(&o, "a=group:BUNDLE%s%s",
                    audio ? " 0" : "", video ? (audio ? " 1" : " 0") : "");

    if (local->data_channels) {
        ngx_ams_sdp_put(&o, " %u", (audio != 0) + (video != 0));
    }

    ngx_ams_sdp_put(&o, "\r\n");
    ngx_ams_sdp_put(&o, "a=ice-lite\r\na=msid-semantic:WMS %s\r\n", sid);

    mid = 0;

    if (audio) {
        ngx_ams_sdp_put_conn(&o, "audio", NGX_AMS_SDP_PROTO_RTP, local);
        ngx_ams_sdp_put(&o, " %d\r\n", NGX_AMS_SDP_OFFER_OPUS);
        ngx_ams_sdp_put_transport(&o, local, NGX_AMS_SDP_SETUP_ACTPASS);
        ngx_ams_sdp_put(&o, "a=mid:%u\r\na=extmap:1 %s\r\n"
                        "a=sendonly\r\na=msid:%s %s-audio\r\n"
                        "a=rtcp-mux\r\n"
                        "a=rtpmap:%d opus/48000/2\r\n"
                        "a=fmtp:%d " NGX_AMS_SDP_OUR_OPUS_FMTP "\r\n",
                        mid++, NGX_AMS_SDP_EXT_MID, sid, sid,
                        NGX_AMS_SDP_OFFER_OPUS, NGX_AMS_SDP_OFFER_OPUS);

        if (local->audio_ssrc) {
            ngx_ams_sdp_put_ssrc(&o, local->audio_ssrc, 0, local, "audio");
        }

        ngx_ams_sdp_put_candidates(&o, local);
    }

    if (video) {
        ngx_ams_sdp_put_conn(&o, "video", NGX_AMS_SDP_PROTO_RTP, local);
        ngx_ams_sdp_put(&o, " %d %d\r\n", NGX_AMS_SDP_OFFER_H264,
                        NGX_AMS_SDP_OFFER_RTX);
        ngx_ams_sdp_put_transport(&o, local, NGX_AMS_SDP_SETUP_ACTPASS);
        ngx_ams_sdp_put(&o, "a=mid:%u\r\na=extmap:1 %s\r\na=extmap:2 %s\r\n"
                        "a=sendonly\r\na=msid:%s %s-video\r\n"
                        "a=rtcp-mux\r\na=rtcp-rsize\r\n"
                        "a=rtpmap:%d H264/90000\r\n",
                        mid, NGX_AMS_SDP_EXT_MID,
                        NGX_AMS_SDP_EXT_ABS_SEND_TIME, sid, sid,
                        NGX_AMS_SDP_OFFER_H264);
        ngx_ams_sdp_put_fb(&o, NGX_AMS_SDP_OFFER_H264, 1, 1, 1, 1, 0);
        ngx_ams_sdp_put(&o, "a=fmtp:%d level-asymmetry-allowed=1;"
                        "packetization-mode=1;profile-level-id=%06x\r\n"
                        "a=rtpmap:%d rtx/90000\r\na=fmtp:%d apt=%d\r\n",
                        NGX_AMS_SDP_OFFER_H264,
                        (unsigned) (profile_level_id & 0xffffff),
                        NGX_AMS_SDP_OFFER_RTX, NGX_AMS_SDP_OFFER_RTX,
                        NGX_AMS_SDP_OFFER_H264);

        if (local->video_ssrc) {
            ngx_ams_sdp_put_ssrc(&o, local->video_ssrc, local->video_rtx_ssrc,
                                 local, "video");
        }

        ngx_ams_sdp_put_candidates(&o, local);
        mid++;
    }

    if (local->data_channels) {
        ngx_ams_sdp_put_conn(&o, "application", "UDP/DTLS/SCTP", local);
        ngx_ams_sdp_put(&o, " webrtc-datachannel\r\n");
        ngx_ams_sdp_put_transport(&o, local, NGX_AMS_SDP_SETUP_ACTPASS);
        ngx_ams_sdp_put(&o, "a=mid:%u\r\na=sctp-port:%d\r\n"
                        "a=max-message-size:%d\r\n", mid,
                        NGX_AMS_SDP_SCTP_PORT, NGX_AMS_SDP_MAX_MESSAGE);
        ngx_ams_sdp_put_candidates(&o, local);
    }

    if (o.full || o.p >= o.end) {
        return 0;
    }

    *o.p = '\0';

    return o.p - out;
}


static void
ngx_ams_sdp_put(ngx_ams_sdp_out_t *o, const char *fmt, ...)
{
    int      n;
    va_list  ap;

    if (o->full) {
        return;
    }

    va_start(ap, fmt);
    n = vsnprintf(o->p, o->end - o->p, fmt, ap);
    va_end(ap);

    if (n < 0 || n >= o->end - o->p) {
        o->full = 1;
        return;
    }

    o->p += n;
}


static void
ngx_ams_sdp_put_head(ngx_ams_sdp_out_t *o, const ngx_ams_sdp_local_t *local)
{
    ngx_ams_sdp_put(o, "v=0\r\no=- %u 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
                    (unsigned) local->session_id);
}


/* "m=audio 50000 UDP/TLS/RTP/SAVPF", the caller writes the formats: the
 * port of the first UDP candidate (RFC 8839 5.1: the default candidate;
 * the c= line of ngx_ams_sdp_put_transport() has its address), or the
 * dummy 9 of an agent without candidates */
static void
ngx_ams_sdp_put_conn(ngx_ams_sdp_out_t *o, const char *name,
    const char *proto, const ngx_ams_sdp_local_t *local)
{
    unsigned  i, port;

    port = 9;

    for (i = 0; i < local->ncandidates; i++) {
        if (!local->candidate[i].tcp) {
            port = local->candidate[i].port;
            break;
        }
    }

    ngx_ams_sdp_put(o, "m=%s %u %s", name, port, proto);
}


static void
ngx_ams_sdp_put_transport(ngx_ams_sdp_out_t *o,
    const ngx_ams_sdp_local_t *local, unsigned setup)
{
    unsigned     i;
    const char  *addr;

    addr = "0.0.0.0";

    for (i = 0; i < local->ncandidates; i++) {
        if (!local->candidate[i].tcp) {
            addr = local->candidate[i].addr;
            break;
        }
    }

    ngx_ams_sdp_put(o, "c=IN %s %s\r\n", strchr(addr, ':') ? "IP6" : "IP4",
                    addr);
    ngx_ams_sdp_put(o, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n"
                    "a=fingerprint:sha-256 %s\r\na=setup:%s\r\n",
                    local->ice_ufrag, local->ice_pwd, local->fingerprint,
                    setup == NGX_AMS_SDP_SETUP_ACTPASS ? "actpass"
                    : setup == NGX_AMS_SDP_SETUP_ACTIVE ? "active"
                    : "passive");
}


static void
ngx_ams_sdp_put_candidates(ngx_ams_sdp_out_t *o,
    const ngx_ams_sdp_local_t *local)
{
    unsigned  i, pref;

    for (i = 0; i < local->ncandidates; i++) {
        /* RFC 8445 5.1.2.1: host type preference 126; passive TCP below
         * every UDP candidate (RFC 6544 4.2) */
        pref = 65535 - i;

        if (local->candidate[i].tcp) {
            ngx_ams_sdp_put(o, "a=candidate:%u 1 tcp %u %s %u typ host "
                            "tcptype passive\r\n", i + 1,
                            90u << 24 | pref << 8 | 255,
                            local->candidate[i].addr,
                            (unsigned) local->candidate[i].port);

        } else {
            ngx_ams_sdp_put(o, "a=candidate:%u 1 udp %u %s %u typ host\r\n",
                            i + 1, 126u << 24 | pref << 8 | 255,
                            local->candidate[i].addr,
                            (unsigned) local->candidate[i].port);
        }
    }

    ngx_ams_sdp_put(o, "a=end-of-candidates\r\n");
}


static void
ngx_ams_sdp_put_ssrc(ngx_ams_sdp_out_t *o, uint32_t ssrc, uint32_t rtx,
    const ngx_ams_sdp_local_t *local, const char *track)
{
    const char  *cname, *sid;

    cname = local->cname ? local->cname : "ams";
    sid = local->stream_id ? local->stream_id : "ams";

    if (rtx) {
        ngx_ams_sdp_put(o, "a=ssrc-group:FID %u %u\r\n", (unsigned) ssrc,
                        (unsigned) rtx);
    }

    ngx_ams_sdp_put(o, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:%s %s-%s\r\n",
                    (unsigned) ssrc, cname, (unsigned) ssrc, sid, sid, track);

    if (rtx) {
        ngx_ams_sdp_put(o, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:%s %s-%s\r\n",
                        (unsigned) rtx, cname, (unsigned) rtx, sid, sid,
                        track);
    }
}


static void
ngx_ams_sdp_put_fb(ngx_ams_sdp_out_t *o, unsigned pt, unsigned nack,
    unsigned pli, unsigned fir, unsigned remb, unsigned twcc)
{
    if (remb) {
        ngx_ams_sdp_put(o, "a=rtcp-fb:%u goog-remb\r\n", pt);
    }

    if (twcc) {
        ngx_ams_sdp_put(o, "a=rtcp-fb:%u transport-cc\r\n", pt);
    }

    if (fir) {
        ngx_ams_sdp_put(o, "a=rtcp-fb:%u ccm fir\r\n", pt);
    }

    if (nack) {
        ngx_ams_sdp_put(o, "a=rtcp-fb:%u nack\r\n", pt);
    }

    if (pli) {
        ngx_ams_sdp_put(o, "a=rtcp-fb:%u nack pli\r\n", pt);
    }
}
