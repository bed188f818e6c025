
/*
 * Copyright (C) nginx-ams authors
 *
 * SDP: real offers (t/unit/sdp/: Chromium 156 as a WHIP publisher, a
 * WHEP player and Ant Media's webrtc_adaptor; aiortc 1.4 publishing and
 * playing; OBS's WHIP output through libdatachannel; and one written by
 * hand after Firefox's format, firefox_like_whip.sdp, as no Firefox was
 * at hand: session-level fingerprint, extmaps with a direction, fmtp
 * before rtpmap, ssrc-group after the ssrcs) parsed, chosen from
 * and answered, with CRLF and LF; our answer read back; our own offer;
 * trickle fragments (RFC 8840); malformed and hostile descriptions
 * refused with a reason.
 *
 * With arguments it is the tool t/unit/sdp/check_answer.* drive, so the
 * peers themselves judge the answers:
 *   test_sdp answer whip|whep [twcc] [data] < offer > answer
 *   test_sdp offer > offer;  test_sdp select < peer's answer
 */


#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "ngx_ams_sdp.h"


#define is_str(got, want, ...)                                               \
    do {                                                                     \
        if (!tap_ok(strcmp((got), (want)) == 0, __FILE__, __LINE__,          \
                    __VA_ARGS__))                                            \
        {                                                                    \
            printf("#   got \"%s\", expected \"%s\"\n", (got), (want));    \
        }                                                                    \
    } while (0)

#define has(text, line, ...)                                                 \
    do {                                                                     \
        if (!tap_ok(strstr((text), (line)) != NULL, __FILE__, __LINE__,      \
                    __VA_ARGS__))                                            \
        {                                                                    \
            printf("#   no \"%s\" in:\n%s\n", (line), (text));             \
        }                                                                    \
    } while (0)


static char           fixtures[1024];
static ngx_ams_sdp_t *sdp, *sdp2;

static const char    *fp_text =
    "0E:7B:60:64:8F:31:0C:46:1C:4D:5A:36:1E:99:04:3A:"
    "68:B9:8A:F8:C6:4B:0B:F7:7F:3E:28:0A:0B:64:55:E1";


static char *
slurp(const char *name, size_t *len)
{
    FILE    *f;
    char     path[1200], *buf;
    size_t   n;

    snprintf(path, sizeof(path), "%s/%s", fixtures, name);

    f = fopen(path, "rb");
    if (f == NULL) {
        printf("# cannot open %s\n", path);
        exit(1);
    }

    buf = malloc(NGX_AMS_SDP_MAX_LEN + 1);
    n = fread(buf, 1, NGX_AMS_SDP_MAX_LEN, f);
    fclose(f);
    buf[n] = '\0';
    *len = n;

    return buf;
}


/* the same text with LF line ends */
static char *
to_lf(const char *text, size_t *len)
{
    char    *out;
    size_t   i, n;

    out = malloc(*len + 1);

    for (i = 0, n = 0; i < *len; i++) {
        if (text[i] == '\r' && i + 1 < *len && text[i + 1] == '\n') {
            continue;
        }

        out[n++] = text[i];
    }

    out[n] = '\0';
    *len = n;

    return out;
}


/* "a=ice-ufrag:" and the like, read from the text itself */
static void
first_value(const char *text, const char *attr, char *out, size_t cap)
{
    const char  *p;
    size_t       n;

    out[0] = '\0';
    p = strstr(text, attr);

    if (p == NULL) {
        return;
    }

    p += strlen(attr);
    n = strcspn(p, "\r\n");

    if (n >= cap) {
        n = cap - 1;
    }

    memcpy(out, p, n);
    out[n] = '\0';
}


static void
local_init(ngx_ams_sdp_local_t *l)
{
    memset(l, 0, sizeof(ngx_ams_sdp_local_t));
    l->ice_ufrag = "amsU1234";
    l->ice_pwd = "amsPwd0123456789abcdefgh";
    l->fingerprint = fp_text;
    l->candidate[0].addr = "127.0.0.1";
    l->candidate[0].port = 50000;
    l->candidate[1].addr = "127.0.0.1";
    l->candidate[1].port = 50000;
    l->candidate[1].tcp = 1;
    l->ncandidates = 2;
    l->audio_ssrc = 11111111;
    l->video_ssrc = 22222222;
    l->video_rtx_ssrc = 33333333;
    l->cname = "amscname";
    l->stream_id = "stream1";
    l->session_id = 4242;
}


static int
answer_for(const ngx_ams_sdp_t *offer, unsigned role, unsigned twcc,
    unsigned data, ngx_ams_sdp_selection_t *sel, char *out, size_t cap,
    const char **err)
{
    ngx_ams_sdp_local_t   local;
    ngx_ams_sdp_policy_t  policy;

    memset(&policy, 0, sizeof(policy));
    policy.role = role;
    policy.twcc = twcc;
    policy.data_channels = data;

    if (ngx_ams_sdp_select(offer, &policy, sel, err) != 0) {
        return -1;
    }

    local_init(&local);

    return ngx_ams_sdp_answer(out, cap, offer, sel, &local) ? 0 : -1;
}


/* the fields every real offer must give, and the same with LF */
static void
check_common(const char *name, const char *text, size_t len)
{
    const char  *err;
    char         ufrag[300], *lf;
    size_t       n;

    err = "";
    is_int(ngx_ams_sdp_parse(text, len, sdp, &err), 0, "%s parses", name);
    if (err && *err) {
        printf("# %s\n", err);
    }

    first_value(text, "a=ice-ufrag:", ufrag, sizeof(ufrag));
    is_str(sdp->ice_ufrag, ufrag, "%s: ice-ufrag of its first section",
           name);
    ok(strlen(sdp->ice_pwd) >= 22, "%s: ice-pwd", name);
    ok(sdp->has_fingerprint, "%s: sha-256 fingerprint", name);
    is_int(sdp->setup, NGX_AMS_SDP_SETUP_ACTPASS, "%s: setup actpass", name);
    is_int(sdp->nbundle, sdp->nmedia, "%s: every section bundled", name);

    n = len;
    lf = to_lf(text, &n);
    ok(n < len, "%s: LF version shorter", name);
    is_int(ngx_ams_sdp_parse(lf, n, sdp2, &err), 0, "%s with LF parses",
           name);
    ok(memcmp(sdp, sdp2, sizeof(ngx_ams_sdp_t)) == 0,
       "%s: CRLF and LF read the same", name);
    free(lf);

    /* without its last line end */
    is_int(ngx_ams_sdp_parse(text, len - 2, sdp2, &err), 0,
           "%s without the last CRLF parses", name);
}


/* our answer read back by our own parser: what a peer would see */
static void
check_answer_back(const char *name, const char *answer, unsigned role,
    const ngx_ams_sdp_selection_t *sel)
{
    int                      i;
    const char              *err;
    ngx_ams_sdp_media_t     *m;
    ngx_ams_sdp_policy_t     policy;
    ngx_ams_sdp_selection_t  back;

    err = "";
    is_int(ngx_ams_sdp_parse(answer, strlen(answer), sdp2, &err), 0,
           "%s: our answer parses", name);
    if (err && *err) {
        printf("# %s\n", err);
    }

    is_str(sdp2->ice_ufrag, "amsU1234", "%s: answer ufrag", name);
    ok(sdp2->ice_lite, "%s: answer ice-lite", name);
    is_int(sdp2->setup, NGX_AMS_SDP_SETUP_PASSIVE, "%s: answer setup passive",
           name);
    is_int(sdp2->nmedia, sdp->nmedia, "%s: as many sections as offered",
           name);
    is_int(sdp2->ncandidates, 2, "%s: our two candidates", name);

    for (i = 0; i < (int) sdp2->nmedia; i++) {
        m = &sdp2->media[i];

        is_str(m->mid, sdp->media[i].mid, "%s: section %d mid", name, i);

        if (i == sel->audio || i == sel->video) {
            is_int(m->port, 50000, "%s: section %d port", name, i);
            ok(m->rtcp_mux, "%s: section %d rtcp-mux", name, i);
            is_int(m->direction, role == NGX_AMS_SDP_WE_RECEIVE
                                 ? NGX_AMS_SDP_RECVONLY : NGX_AMS_SDP_SENDONLY,
                   "%s: section %d direction", name, i);
            is_int(m->ncodecs, i == sel->video && sel->video_rtx_pt ? 2 : 1,
                   "%s: section %d codecs", name, i);

        } else if (i != sel->application) {
            is_int(m->port, 0, "%s: section %d rejected", name, i);
        }
    }

    /* the peer's view: what it sends or receives fits it */
    memset(&policy, 0, sizeof(policy));
    policy.role = role == NGX_AMS_SDP_WE_RECEIVE ? NGX_AMS_SDP_WE_SEND
                                                 : NGX_AMS_SDP_WE_RECEIVE;
    policy.allow_vp8 = 1;
    sdp2->ice_lite = 0;
    is_int(ngx_ams_sdp_select(sdp2, &policy, &back, &err), 0,
           "%s: the answer selects back", name);
    is_int(back.audio_pt, sel->audio_pt, "%s: same audio pt back", name);
    is_int(back.video_pt, sel->video_pt, "%s: same video pt back", name);
    is_int(back.video_rtx_pt, sel->video_rtx_pt, "%s: same rtx back", name);
    is_int(back.profile_level_id, sel->profile_level_id,
           "%s: same profile-level-id back", name);
    is_int(back.ext_mid, sel->ext_mid, "%s: same mid extmap back", name);
}


static void
test_chromium_whip(void)
{
    char                     *text, answer[16384];
    size_t                    len;
    const char               *err;
    ngx_ams_sdp_media_t      *a, *v;
    ngx_ams_sdp_selection_t   sel;

    text = slurp("chromium_whip.sdp", &len);
    check_common("chromium whip", text, len);

    is_int(sdp->nmedia, 2, "whip: two sections");
    a = &sdp->media[0];
    v = &sdp->media[1];
    is_int(a->kind, NGX_AMS_SDP_AUDIO, "whip: audio first");
    is_int(v->kind, NGX_AMS_SDP_VIDEO, "whip: video second");
    is_str(a->mid, "0", "whip: audio mid");
    is_str(sdp->bundle[1], "1", "whip: BUNDLE 0 1");
    is_int(a->direction, NGX_AMS_SDP_SENDONLY, "whip: audio sendonly");
    is_int(v->direction, NGX_AMS_SDP_SENDONLY, "whip: video sendonly");
    ok(a->rtcp_mux && a->rtcp_rsize, "whip: rtcp-mux, rtcp-rsize");
    is_int(a->ncodecs, 8, "whip: 8 audio payload types");
    is_int(v->ncodecs, 23, "whip: 23 video payload types");
    is_str(a->codec[0].name, "opus", "whip: opus first");
    is_int(a->codec[0].clock, 48000, "whip: opus clock");
    is_int(a->codec[0].channels, 2, "whip: opus channels");
    ok(a->codec[0].fb_transport_cc, "whip: opus transport-cc");
    is_int(v->codec[3].rtx_apt, 102, "whip: rtx 103 repairs 102");
    is_int(v->codec[2].profile_level_id, 0x42001f, "whip: 102 is 42001f");
    is_int(v->codec[2].packetization_mode, 1, "whip: 102 mode 1");
    ok(v->codec[2].fb_nack && v->codec[2].fb_nack_pli
       && v->codec[2].fb_ccm_fir && v->codec[2].fb_goog_remb
       && v->codec[2].fb_transport_cc, "whip: 102's feedback");
    is_int(v->nextmaps, 11, "whip: 11 video extmaps");
    is_int(v->nssrcs, 2, "whip: video and rtx ssrcs");
    ok(v->ssrc_rtx != 0 && v->ssrc_rtx == v->ssrc[1], "whip: FID rtx ssrc");
    ok(strlen(v->msid) > 10, "whip: msid");
    is_int(sdp->ncandidates, 4, "whip: the first section's 4 candidates");
    ok(sdp->candidate[2].tcp, "whip: a TCP candidate");
    is_str(sdp->candidate[0].type, "host", "whip: host candidate");
    ok(sdp->ice_trickle, "whip: trickle");
    ok(!sdp->ice_lite, "whip: not lite");

    is_int(answer_for(sdp, NGX_AMS_SDP_WE_RECEIVE, 0, 0, &sel, answer,
                      sizeof(answer), &err), 0, "whip: answered");
    is_int(sel.audio, 0, "whip: audio taken");
    is_int(sel.video, 1, "whip: video taken");
    is_int(sel.audio_pt, 111, "whip: opus 111");
    is_int(sel.video_pt, 108, "whip: H.264 42e01f (108)");
    is_int(sel.video_rtx_pt, 109, "whip: its rtx 109");
    is_int(sel.video_codec, NGX_AMS_SDP_CODEC_H264, "whip: H.264");
    is_int(sel.profile_level_id, 0x42e01f, "whip: 42e01f");
    is_int(sel.ext_mid, 4, "whip: mid extmap id 4");
    is_int(sel.ext_abs_send_time, 2, "whip: abs-send-time id 2");
    is_int(sel.ext_twcc, 0, "whip: no transport-cc without the policy");
    is_int(sel.audio_ext_mid, 4, "whip: audio mid id 4");
    ok(sel.video_nack && sel.video_pli && sel.video_fir && sel.remb,
       "whip: nack, pli, fir, remb");
    is_int(sel.setup, NGX_AMS_SDP_SETUP_PASSIVE, "whip: we are passive");

    has(answer, "a=group:BUNDLE 0 1\r\n", "whip answer: BUNDLE");
    has(answer, "a=ice-lite\r\n", "whip answer: ice-lite");
    has(answer, "m=audio 50000 UDP/TLS/RTP/SAVPF 111\r\n", "whip: m=audio");
    has(answer, "m=video 50000 UDP/TLS/RTP/SAVPF 108 109\r\n",
        "whip: m=video");
    has(answer, "c=IN IP4 127.0.0.1\r\n", "whip: c=");
    has(answer, "a=setup:passive\r\n", "whip: setup passive");
    has(answer, "a=recvonly\r\n", "whip: recvonly");
    has(answer, "a=rtcp-rsize\r\n", "whip: rtcp-rsize");
    has(answer, "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;"
        "profile-level-id=42e01f\r\n", "whip: H.264 fmtp");
    has(answer, "a=rtpmap:109 rtx/90000\r\na=fmtp:109 apt=108\r\n",
        "whip: rtx");
    has(answer, "a=rtcp-fb:108 goog-remb\r\n", "whip: remb");
    has(answer, "a=rtcp-fb:108 nack pli\r\n", "whip: pli");
    has(answer, "a=rtcp-fb:108 ccm fir\r\n", "whip: fir");
    has(answer, "a=extmap:2 " NGX_AMS_SDP_EXT_ABS_SEND_TIME "\r\n",
        "whip: abs-send-time with the offer's id");
    ok(strstr(answer, "transport-cc") == NULL, "whip: no transport-cc");
    has(answer, "a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n",
        "whip: UDP candidate");
    has(answer, "tcp 1526726399 127.0.0.1 50000 typ host tcptype passive\r\n",
        "whip: passive TCP candidate");
    has(answer, "a=end-of-candidates\r\n", "whip: end-of-candidates");
    ok(strstr(answer, "a=ssrc:") == NULL, "whip: no ssrc when receiving");
    check_answer_back("whip", answer, NGX_AMS_SDP_WE_RECEIVE, &sel);

    /* with transport-wide CC asked for */
    is_int(answer_for(sdp, NGX_AMS_SDP_WE_RECEIVE, 1, 0, &sel, answer,
                      sizeof(answer), &err), 0, "whip twcc: answered");
    is_int(sel.ext_twcc, 3, "whip twcc: id 3");
    is_int(sel.audio_ext_twcc, 3, "whip twcc: audio id 3");
    ok(sel.twcc, "whip twcc: on");
    has(answer, "a=extmap:3 " NGX_AMS_SDP_EXT_TWCC "\r\n", "whip twcc: ext");
    has(answer, "a=rtcp-fb:108 transport-cc\r\n", "whip twcc: video fb");
    has(answer, "a=rtcp-fb:111 transport-cc\r\n", "whip twcc: audio fb");

    /* a publisher's offer has nothing for a player */
    is_int(answer_for(sdp, NGX_AMS_SDP_WE_SEND, 0, 0, &sel, answer,
                      sizeof(answer), &err), -1, "whip offer to WHEP refused");
    printf("# %s\n", err);

    free(text);
}


static void
test_chromium_whep(void)
{
    char                     *text, answer[16384];
    size_t                    len;
    const char               *err;
    ngx_ams_sdp_policy_t      policy;
    ngx_ams_sdp_selection_t   sel;

    text = slurp("chromium_whep.sdp", &len);
    check_common("chromium whep", text, len);

    is_int(sdp->media[1].ncodecs, 34, "whep: 34 video payload types");
    is_int(sdp->media[0].direction, NGX_AMS_SDP_RECVONLY, "whep: recvonly");
    is_int(sdp->media[0].nssrcs, 0, "whep: no audio ssrc");

    is_int(answer_for(sdp, NGX_AMS_SDP_WE_SEND, 0, 0, &sel, answer,
                      sizeof(answer), &err), 0, "whep: answered");
    is_int(sel.video_pt, 108, "whep: 42e01f by default");
    has(answer, "a=sendonly\r\n", "whep: sendonly");
    has(answer, "a=msid:stream1 stream1-video\r\n", "whep: msid");
    has(answer, "a=ssrc-group:FID 22222222 33333333\r\n", "whep: FID");
    has(answer, "a=ssrc:22222222 cname:amscname\r\n", "whep: video cname");
    has(answer, "a=ssrc:11111111 cname:amscname\r\n", "whep: audio cname");
    check_answer_back("whep", answer, NGX_AMS_SDP_WE_SEND, &sel);

    /* the stream's own profile chooses */
    memset(&policy, 0, sizeof(policy));
    policy.role = NGX_AMS_SDP_WE_SEND;

    policy.want_profile_level_id = 0x4d0028;
    is_int(ngx_ams_sdp_select(sdp, &policy, &sel, &err), 0, "whep main");
    is_int(sel.profile_level_id, 0x4d001f, "whep: main stream, 4d001f");
    is_int(sel.video_pt, 116, "whep: main is 116");

    policy.want_profile_level_id = 0x640028;
    is_int(ngx_ams_sdp_select(sdp, &policy, &sel, &err), 0, "whep high");
    is_int(sel.profile_level_id, 0xf4001f,
           "whep: high stream, High 4:4:4 offered decodes it");

    policy.want_profile_level_id = 0x42c01e;
    is_int(ngx_ams_sdp_select(sdp, &policy, &sel, &err), 0, "whep cb");
    is_int(sel.profile_level_id, 0x42e01f,
           "whep: constrained baseline stream, 42e01f");

    policy.want_profile_level_id = 0x42001e;
    is_int(ngx_ams_sdp_select(sdp, &policy, &sel, &err), 0, "whep base");
    is_int(sel.profile_level_id, 0x42001f, "whep: baseline stream, 42001f");

    policy.role = NGX_AMS_SDP_WE_RECEIVE;
    is_int(ngx_ams_sdp_select(sdp, &policy, &sel, &err), -1,
           "whep offer to WHIP refused");
    printf("# %s\n", err);

    free(text);
}


static void
test_chromium_others(void)
{
    char                     *text, answer[16384];
    size_t                    len;
    const char               *err;
    ngx_ams_sdp_selection_t   sel;

    /* webrtc_adaptor publishing: sendrecv, and a data channel */
    text = slurp("chromium_adaptor.sdp", &len);
    check_common("chromium adaptor", text, len);
    is_int(sdp->nmedia, 3, "adaptor: three sections");
    is_int(sdp->media[2].kind, NGX_AMS_SDP_APPLICATION, "adaptor: data");
    is_str(sdp->media[2].proto, "UDP/DTLS/SCTP", "adaptor: SCTP proto");
    is_str(sdp->media[2].fmt, "webrtc-datachannel", "adaptor: format");
    is_int(sdp->media[2].sctp_port, 5000, "adaptor: sctp-port");
    is_int(sdp->media[2].max_message_size, 262144, "adaptor: max message");
    is_int(sdp->ncandidates, 0, "adaptor: trickled, no candidates");
    is_int(sdp->media[0].port, 9, "adaptor: port 9");

    is_int(answer_for(sdp, NGX_AMS_SDP_WE_RECEIVE, 0, 0, &sel, answer,
                      sizeof(answer), &err), 0, "adaptor: answered");
    is_int(sel.application, -1, "adaptor: no data channels by default");
    has(answer, "a=group:BUNDLE 0 1\r\n", "adaptor: BUNDLE without data");
    has(answer, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n",
        "adaptor: data section rejected");
    check_answer_back("adaptor", answer, NGX_AMS_SDP_WE_RECEIVE, &sel);

    is_int(answer_for(sdp, NGX_AMS_SDP_WE_RECEIVE, 0, 1, &sel, answer,
                      sizeof(answer), &err), 0, "adaptor data: answered");
    is_int(sel.application, 2, "adaptor data: taken");
    has(answer, "a=group:BUNDLE 0 1 2\r\n", "adaptor data: BUNDLE");
    has(answer, "m=application 50000 UDP/DTLS/SCTP webrtc-datachannel\r\n",
        "adaptor data: m=application");
    has(answer, "a=sctp-port:5000\r\n", "adaptor data: sctp-port");
    free(text);

    /* bundlePolicy max-bundle */
    text = slurp("chromium_whip_maxbundle.sdp", &len);
    check_common("chromium max-bundle", text, len);
    is_int(answer_for(sdp, NGX_AMS_SDP_WE_RECEIVE, 0, 0, &sel, answer,
                      sizeof(answer), &err), 0, "max-bundle: answered");
    ok(sel.audio == 0 && sel.video == 1, "max-bundle: both taken");
    free(text);
}


static void
test_aiortc(void)
{
    char                     *text, answer[16384], ufrag[300];
    size_t                    len;
    const char               *err;
    ngx_ams_sdp_selection_t   sel;

    text = slurp("aiortc_publish.sdp", &len);
    check_common("aiortc publish", text, len);

    /* aiortc 1.4 gives each section its own ICE credentials: the first
     * one's are the bundle's */
    first_value(strstr(text, "m=video"), "a=ice-ufrag:", ufrag,
                sizeof(ufrag));
    is_str(sdp->media[1].ice_ufrag, ufrag, "aiortc: video's own ufrag");
    ok(strcmp(sdp->ice_ufrag, sdp->media[1].ice_ufrag) != 0,
       "aiortc: the bundle's ufrag is the first section's");
    is_int(sdp->ncandidates, 2, "aiortc: the first section's candidates");

    is_int(answer_for(sdp, NGX_AMS_SDP_WE_RECEIVE, 1, 0, &sel, answer,
                      sizeof(answer), &err), 0, "aiortc publish: answered");
    is_int(sel.audio_pt, 96, "aiortc: opus 96");
    is_int(sel.video_pt, 101, "aiortc: H.264 42e01f (101)");
    is_int(sel.video_rtx_pt, 102, "aiortc: rtx 102");
    is_int(sel.ext_mid, 1, "aiortc: mid id 1");
    is_int(sel.ext_abs_send_time, 2, "aiortc: abs-send-time id 2");
    ok(!sel.twcc && !sel.ext_twcc, "aiortc: no transport-cc offered");
    ok(strstr(answer, "rtcp-rsize") == NULL, "aiortc: no rtcp-rsize");
    ok(strstr(answer, "level-asymmetry-allowed=1;packetization-mode=1;"
              "profile-level-id=42e01f") != NULL, "aiortc: H.264 fmtp");
    check_answer_back("aiortc publish", answer, NGX_AMS_SDP_WE_RECEIVE, &sel);
    free(text);

    text = slurp("aiortc_play.sdp", &len);
    check_common("aiortc play", text, len);
    is_int(answer_for(sdp, NGX_AMS_SDP_WE_SEND, 0, 0, &sel, answer,
                      sizeof(answer), &err), 0, "aiortc play: answered");
    check_answer_back("aiortc play", answer, NGX_AMS_SDP_WE_SEND, &sel);
    free(text);
}


static void
test_firefox_like(void)
{
    char                     *text, answer[16384];
    size_t                    len;
    const char               *err;
    ngx_ams_sdp_selection_t   sel;

    text = slurp("firefox_like_whip.sdp", &len);
    check_common("firefox-like whip", text, len);
    is_int(sdp->media[1].codec[4].profile_level_id, 0x42e01f,
           "firefox: fmtp before rtpmap read");
    is_int(sdp->media[1].ssrc_rtx, 2222222222u, "firefox: FID after ssrcs");
    is_int(sdp->media[0].extmap[1].id, 2, "firefox: extmap 2/recvonly");

    is_int(answer_for(sdp, NGX_AMS_SDP_WE_RECEIVE, 0, 0, &sel, answer,
                      sizeof(answer), &err), 0, "firefox: answered");
    is_int(sel.audio_pt, 109, "firefox: opus 109");
    is_int(sel.video_pt, 126, "firefox: H.264 mode 1 is 126, not 97");
    is_int(sel.video_rtx_pt, 127, "firefox: rtx 127");
    is_int(sel.ext_mid, 3, "firefox: mid id 3");
    is_int(sel.ext_abs_send_time, 4, "firefox: abs-send-time id 4");
    check_answer_back("firefox", answer, NGX_AMS_SDP_WE_RECEIVE, &sel);
    free(text);
}


static void
test_obs(void)
{
    char                     *text, answer[16384];
    size_t                    len;
    const char               *err;
    ngx_ams_sdp_selection_t   sel;

    /* libdatachannel: ICE and setup in the sections, no rtx, no extmap */
    text = slurp("obs_whip.sdp", &len);
    check_common("obs whip", text, len);
    is_int(sdp->ncandidates, 2, "obs: two candidates");
    ok(sdp->ice_trickle, "obs: ice2,trickle read");
    is_int(sdp->media[1].ssrc[0], 2345678, "obs: video ssrc");

    is_int(answer_for(sdp, NGX_AMS_SDP_WE_RECEIVE, 0, 0, &sel, answer,
                      sizeof(answer), &err), 0, "obs: answered");
    is_int(sel.audio_pt, 111, "obs: opus 111");
    is_int(sel.video_pt, 96, "obs: H.264 96");
    is_int(sel.video_rtx_pt, 0, "obs: no rtx");
    is_int(sel.profile_level_id, 0x42e01f, "obs: 42e01f");
    ok(sel.video_nack && sel.video_pli && sel.remb && !sel.video_fir,
       "obs: nack, pli, remb");
    ok(sel.ext_mid == 0 && sel.ext_abs_send_time == 0, "obs: no extmaps");
    has(answer, "m=video 50000 UDP/TLS/RTP/SAVPF 96\r\n", "obs: m=video");
    check_answer_back("obs", answer, NGX_AMS_SDP_WE_RECEIVE, &sel);
    free(text);
}


/* a fixture with one line replaced (or removed: "with" NULL) */
static char *
edit_at(const char *text, const char *from, const char *line,
    const char *with)
{
    const char  *p, *e;
    char        *out;
    size_t       n;

    p = strstr(from, line);
    if (p == NULL) {
        printf("# no \"%s\" to edit\n", line);
        exit(1);
    }

    e = strchr(p, '\n') + 1;
    n = strlen(text) + (with ? strlen(with) : 0) + 3;
    out = malloc(n);
    snprintf(out, n, "%.*s%s%s%s", (int) (p - text), text,
             with ? with : "", with ? "\r\n" : "", e);

    return out;
}


static char *
edit(const char *text, const char *line, const char *with)
{
    return edit_at(text, text, line, with);
}


/* every occurrence */
static char *
edit_all(const char *text, const char *line, const char *with)
{
    char    *cur, *next, *tail;
    size_t   off, n;

    cur = strdup(text);
    off = 0;

    while ((tail = strstr(cur + off, line)) != NULL) {
        off = tail - cur;
        next = edit_at(cur, tail, line, with);
        n = with ? strlen(with) + 2 : 0;
        free(cur);
        cur = next;
        off += n;
    }

    return cur;
}


static void
refused(const char *text, const char *want, const char *name)
{
    const char  *err = NULL;

    if (!ok(ngx_ams_sdp_parse(text, strlen(text), sdp, &err) == -1,
            "refused: %s", name))
    {
        return;
    }

    if (want && !ok(err && strstr(err, want), "refused %s: \"%s\"", name,
                    want))
    {
        printf("#   said \"%s\"\n", err ? err : "(null)");
    }
}


static void
not_selected(const char *text, unsigned role, const char *want,
    const char *name)
{
    const char               *err = NULL;
    ngx_ams_sdp_policy_t      policy;
    ngx_ams_sdp_selection_t   sel;

    if (!ok(ngx_ams_sdp_parse(text, strlen(text), sdp, &err) == 0,
            "parses: %s", name))
    {
        printf("#   %s\n", err);
        return;
    }

    memset(&policy, 0, sizeof(policy));
    policy.role = role;

    if (!ok(ngx_ams_sdp_select(sdp, &policy, &sel, &err) == -1,
            "not selected: %s", name))
    {
        return;
    }

    if (!ok(strstr(err, want) != NULL, "not selected %s: \"%s\"", name,
            want))
    {
        printf("#   said \"%s\"\n", err);
    }
}


static void
test_malformed(void)
{
    char                     *text, *t, *big, *p;
    size_t                    len, i;
    unsigned                  n;
    const char               *err;
    ngx_ams_sdp_policy_t      policy;
    ngx_ams_sdp_selection_t   sel;

    text = slurp("chromium_whip.sdp", &len);

    t = edit_all(text, "a=ice-ufrag:", NULL);
    refused(t, "no ice-ufrag", "no ice-ufrag");
    free(t);

    t = edit_all(text, "a=ice-pwd:", NULL);
    refused(t, "no ice-pwd", "no ice-pwd");
    free(t);

    t = edit_all(text, "a=fingerprint:", NULL);
    refused(t, "no fingerprint", "no fingerprint");
    free(t);

    t = edit_all(text, "a=fingerprint:", "a=fingerprint:sha-1 "
                 "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB");
    not_selected(t, NGX_AMS_SDP_WE_RECEIVE, "no sha-256 fingerprint",
                 "sha-1 fingerprint only");
    free(t);

    t = edit(text, "a=fingerprint:", "a=fingerprint:sha-256 00:11");
    refused(t, "bad sha-256 fingerprint", "short sha-256");
    free(t);

    t = edit(text, "a=fingerprint:", "a=fingerprint:sha-256 "
             "0E:7B:60:64:8F:31:0C:46:1C:4D:5A:36:1E:99:04:3A:"
             "68:B9:8A:F8:C6:4B:0B:F7:7F:3E:28:0A:0B:64:55:XX");
    refused(t, "bad fingerprint", "fingerprint not hex");
    free(t);

    t = edit(text, "a=fingerprint:", "a=fingerprint:sha-256 "
             "0E:7B:60:64:8F:31:0C:46:1C:4D:5A:36:1E:99:04:3A:"
             "68:B9:8A:F8:C6:4B:0B:F7:7F:3E:28:0A:0B:64:55:E1");
    refused(t, "two different sha-256", "two certificates");
    free(t);

    t = edit(text, "a=ice-ufrag:", "a=ice-ufrag:ab");
    refused(t, "bad ice-ufrag", "ufrag of 2 chars");
    free(t);

    t = edit(text, "a=ice-ufrag:", "a=ice-ufrag:ab;cd");
    refused(t, "bad ice-ufrag", "ufrag outside ice-char");
    free(t);

    t = edit(text, "a=ice-pwd:", "a=ice-pwd:short");
    refused(t, "bad ice-pwd", "pwd of 5 chars");
    free(t);

    big = malloc(400);
    memset(big, 'A', 399);
    big[399] = '\0';
    memcpy(big, "a=ice-pwd:", 10);
    t = edit(text, "a=ice-pwd:", big);
    refused(t, "bad ice-pwd", "pwd over 256 chars");
    free(t);
    free(big);

    /* too many sections: 9 audio sections */
    big = malloc(65536);
    p = big + sprintf(big, "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
                      "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n"
                      "a=fingerprint:sha-256 %s\r\n", fp_text);
    for (n = 0; n < 9; n++) {
        p += sprintf(p, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:%u\r\n"
                     "a=rtpmap:111 opus/48000/2\r\n", n);
    }
    refused(big, "too many m= sections", "9 m= sections");

    /* 8 are fine, but without BUNDLE only one could be served */
    p = strstr(big, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:8");
    *p = '\0';
    err = NULL;
    ok(ngx_ams_sdp_parse(big, strlen(big), sdp, &err) == 0, "8 m= sections");
    is_int(sdp->nmedia, 8, "8 sections read");
    not_selected(big, NGX_AMS_SDP_WE_RECEIVE, "no rtcp-mux",
                 "sections without rtcp-mux");

    /* too many payload types */
    p = big + sprintf(big, "v=0\r\na=ice-ufrag:abcd\r\n"
                      "a=ice-pwd:abcdefghijklmnopqrstuv\r\n"
                      "a=fingerprint:sha-256 %s\r\nm=video 9 "
                      "UDP/TLS/RTP/SAVPF", fp_text);
    for (n = 0; n < 65; n++) {
        p += sprintf(p, " %u", n + 33);
    }
    strcpy(p, "\r\n");
    refused(big, "too many payload types", "65 payload types");

    /* too many extmaps */
    p = big + sprintf(big, "v=0\r\na=ice-ufrag:abcd\r\n"
                      "a=ice-pwd:abcdefghijklmnopqrstuv\r\n"
                      "a=fingerprint:sha-256 %s\r\nm=video 9 "
                      "UDP/TLS/RTP/SAVPF 96\r\n", fp_text);
    for (n = 1; n <= 17; n++) {
        p += sprintf(p, "a=extmap:%u urn:x:%u\r\n", n + (n >= 15), n);
    }
    refused(big, "too many extmaps", "17 extmaps");

    /* too many candidates */
    p = big + sprintf(big, "v=0\r\na=ice-ufrag:abcd\r\n"
                      "a=ice-pwd:abcdefghijklmnopqrstuv\r\n"
                      "a=fingerprint:sha-256 %s\r\nm=video 9 "
                      "UDP/TLS/RTP/SAVPF 96\r\n", fp_text);
    for (n = 1; n <= 33; n++) {
        p += sprintf(p, "a=candidate:%u 1 udp 1 10.0.0.%u 5000 typ host\r\n",
                     n, n);
    }
    refused(big, "too many candidates", "33 candidates");

    /* too many ssrcs */
    p = big + sprintf(big, "v=0\r\na=ice-ufrag:abcd\r\n"
                      "a=ice-pwd:abcdefghijklmnopqrstuv\r\n"
                      "a=fingerprint:sha-256 %s\r\nm=video 9 "
                      "UDP/TLS/RTP/SAVPF 96\r\n", fp_text);
    for (n = 1; n <= 9; n++) {
        p += sprintf(p, "a=ssrc:%u cname:x\r\n", n);
    }
    refused(big, "too many ssrcs", "9 ssrcs");

    /* over 64 KB */
    memset(big, 0, 65536);
    t = malloc(NGX_AMS_SDP_MAX_LEN + 100);
    memcpy(t, text, len);
    memset(t + len, 'x', NGX_AMS_SDP_MAX_LEN + 100 - len);
    err = NULL;
    ok(ngx_ams_sdp_parse(t, NGX_AMS_SDP_MAX_LEN + 1, sdp, &err) == -1
       && strstr(err, "too long"), "over 64 KB refused");
    free(t);
    free(big);

    /* an overlong line, a long fmtp */
    big = malloc(1200);
    memset(big, 'a', 1100);
    memcpy(big, "a=x-long:", 9);
    big[1100] = '\0';
    t = edit(text, "a=rtcp-xr:", big);
    refused(t, "line too long", "line of 1100 bytes");
    free(t);
    memcpy(big, "a=fmtp:111 x=", 13);
    big[300] = '\0';
    t = edit(text, "a=fmtp:111", big);
    refused(t, "overlong fmtp", "fmtp of 287 bytes");
    free(t);
    memcpy(big, "a=msid:", 7);
    big[200] = '\0';
    t = edit(text, "a=msid:", big);
    refused(t, "msid too long", "msid of 193 bytes");
    free(t);
    free(big);

    /* bad numbers */
    t = edit(text, "m=audio", "m=audio 70000 UDP/TLS/RTP/SAVPF 111");
    refused(t, "bad m= port", "port 70000");
    free(t);
    t = edit(text, "m=audio", "m=audio 9/2 UDP/TLS/RTP/SAVPF 111");
    refused(t, "bad m= port", "port/count");
    free(t);
    t = edit(text, "m=audio", "m=audio 9 UDP/TLS/RTP/SAVPF 111 128");
    refused(t, "bad m= payload type", "payload type 128");
    free(t);
    t = edit(text, "m=audio", "m=audio 9 UDP/TLS/RTP/SAVPF 111 111");
    refused(t, "twice", "payload type twice");
    free(t);
    t = edit(text, "m=audio", "m=audio 9 UDP/TLS/RTP/SAVPF");
    refused(t, "no payload type", "no payload type");
    free(t);
    t = edit(text, "m=audio", "m=audio 9 UDP/TLS/RTP/SAVPF -1");
    refused(t, "bad m= payload type", "payload type -1");
    free(t);
    t = edit(text, "a=rtpmap:111", "a=rtpmap:111 opus/abc/2");
    refused(t, "clock rate", "clock abc");
    free(t);
    t = edit(text, "a=rtpmap:111", "a=rtpmap:111 opus/48000/0");
    refused(t, "channels", "0 channels");
    free(t);
    t = edit(text, "a=rtpmap:111", "a=rtpmap:111 opus");
    refused(t, "without a clock", "no clock");
    free(t);
    t = edit(text, "a=rtpmap:9 ", "a=rtpmap:111 opus/48000/2");
    refused(t, "two rtpmaps", "rtpmap twice");
    free(t);
    t = edit(text, "a=extmap:1 ", "a=extmap:0 urn:x");
    refused(t, "bad extmap id", "extmap 0");
    free(t);
    t = edit(text, "a=extmap:1 ", "a=extmap:256 urn:x");
    refused(t, "bad extmap id", "extmap 256");
    free(t);
    t = edit(text, "a=extmap:1 ", "a=extmap:2 urn:x");
    refused(t, "two extmaps", "extmap id twice");
    free(t);
    t = edit(text, "a=candidate:", "a=candidate:1 1 udp 1 10.0.0.1 99999 "
             "typ host");
    refused(t, "bad candidate port", "candidate port 99999");
    free(t);
    t = edit(text, "a=candidate:", "a=candidate:1 1 udp 4294967296 10.0.0.1 "
             "9 typ host");
    refused(t, "bad candidate priority", "priority 2^32");
    free(t);
    t = edit(text, "a=candidate:", "a=candidate:1 1 udp 1 10.0.0.1 9 typ "
             "bogus");
    refused(t, "bad candidate type", "candidate type bogus");
    free(t);
    t = edit(text, "a=candidate:", "a=candidate:1 0 udp 1 10.0.0.1 9 typ "
             "host");
    refused(t, "bad candidate component", "component 0");
    free(t);
    t = edit(text, "a=ssrc:", "a=ssrc:4294967296 cname:x");
    refused(t, "bad ssrc", "ssrc 2^32");
    free(t);
    t = edit(text, "a=ssrc-group:", "a=ssrc-group:FID 1");
    refused(t, "bad ssrc-group", "FID of one");
    free(t);
    t = edit(text, "a=fmtp:102", "a=fmtp:102 packetization-mode=1;"
             "profile-level-id=42e0zz");
    refused(t, "bad profile-level-id", "profile-level-id 42e0zz");
    free(t);
    t = edit(text, "a=fmtp:102", "a=fmtp:102 packetization-mode=3;"
             "profile-level-id=42e01f");
    refused(t, "bad packetization-mode", "packetization-mode 3");
    free(t);
    t = edit(text, "a=fmtp:103", "a=fmtp:103 apt=1000");
    refused(t, "bad apt", "apt 1000");
    free(t);
    t = edit(text, "a=setup:", "a=setup:holdconn");
    refused(t, "bad setup", "setup holdconn");
    free(t);

    /* structure */
    refused("v=1\r\n", "v=0", "v=1");
    refused("", "v=0", "empty");
    refused("o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\n", "v=0", "v= not first");
    t = edit(text, "s=-", "");
    refused(t, "empty SDP line", "an empty line inside");
    free(t);
    t = edit(text, "s=-", "s=\x01");
    refused(t, "control character", "control character");
    free(t);
    t = strdup(text);
    t[100] = '\0';
    err = NULL;
    ok(ngx_ams_sdp_parse(t, len, sdp, &err) == -1, "a NUL refused");
    free(t);
    t = edit(text, "s=-", "s=-\rt=0 0");
    refused(t, "control character", "a lone CR");
    free(t);
    t = edit(text, "s=-", "S=-");
    refused(t, "malformed SDP line", "upper-case type");
    free(t);
    t = edit(text, "s=-", "s-");
    refused(t, "malformed SDP line", "no =");
    free(t);
    t = edit(text, "s=-", "a=");
    refused(t, "empty attribute", "empty attribute");
    free(t);
    t = edit(text, "s=-", "a=candidate:1 1 udp 1 10.0.0.1 9 typ host");
    refused(t, "session level", "session-level candidate");
    free(t);
    t = edit(text, "a=mid:1", "a=mid:0");
    refused(t, "one mid", "two sections with mid 0");
    free(t);
    t = edit(text, "a=group:BUNDLE", "a=group:BUNDLE 0 1 2");
    refused(t, "BUNDLE names a mid", "BUNDLE of an unknown mid");
    free(t);
    t = edit(text, "a=group:BUNDLE", "a=group:BUNDLE");
    refused(t, "empty BUNDLE", "empty BUNDLE");
    free(t);
    t = edit(text, "a=mid:1", "a=mid:a b");
    refused(t, "bad mid", "mid with a space");
    free(t);

    /* what select refuses */
    t = edit(text, "a=group:BUNDLE", NULL);
    not_selected(t, NGX_AMS_SDP_WE_RECEIVE, "no BUNDLE", "no BUNDLE");
    free(t);

    t = edit_all(text, "a=rtcp-mux", NULL);
    not_selected(t, NGX_AMS_SDP_WE_RECEIVE, "no rtcp-mux", "no rtcp-mux");
    free(t);

    t = edit(text, "s=-", "a=ice-lite");
    not_selected(t, NGX_AMS_SDP_WE_RECEIVE, "ICE-lite too", "lite peer");
    free(t);

    t = edit(text, "m=audio", "m=audio 0 UDP/TLS/RTP/SAVPF 111");
    p = edit(t, "m=video", "m=video 0 UDP/TLS/RTP/SAVPF 96 97 102 103");
    not_selected(p, NGX_AMS_SDP_WE_RECEIVE, "port 0", "every port 0");
    free(p);

    /* one section disabled: the other is answered, this one rejected */
    err = NULL;
    ok(ngx_ams_sdp_parse(t, strlen(t), sdp, &err) == 0, "audio port 0");
    memset(&policy, 0, sizeof(policy));
    policy.role = NGX_AMS_SDP_WE_RECEIVE;
    ok(ngx_ams_sdp_select(sdp, &policy, &sel, &err) == 0
       && sel.audio == -1 && sel.video == 1, "audio port 0: video only");
    big = malloc(16384);
    {
        ngx_ams_sdp_local_t  local;

        local_init(&local);
        ok(ngx_ams_sdp_answer(big, 16384, sdp, &sel, &local) > 0,
           "audio port 0: answered");
    }
    has(big, "m=audio 0 UDP/TLS/RTP/SAVPF 111\r\n", "audio rejected");
    has(big, "a=group:BUNDLE 1\r\n", "BUNDLE of video only");
    free(big);
    free(t);

    /* bundle-only: port 0, still in use */
    t = edit(text, "m=video", "m=video 0 UDP/TLS/RTP/SAVPF 96 97 102 103");
    p = edit(t, "a=mid:1", "a=mid:1\r\na=bundle-only");
    ok(ngx_ams_sdp_parse(p, strlen(p), sdp, &err) == 0, "bundle-only");
    ok(sdp->media[1].bundle_only, "bundle-only read");
    ok(ngx_ams_sdp_select(sdp, &policy, &sel, &err) == 0 && sel.video == 1,
       "bundle-only video taken");
    free(p);
    free(t);

    t = edit_all(text, "a=rtpmap:102 H264", "a=rtpmap:102 H265/90000");
    p = edit_all(t, "a=rtpmap:108 H264", "a=rtpmap:108 H265/90000");
    free(t);
    t = edit_all(p, "a=rtpmap:116 H264", "a=rtpmap:116 H265/90000");
    ok(ngx_ams_sdp_parse(t, strlen(t), sdp, &err) == 0, "no H.264 mode 1");
    ok(ngx_ams_sdp_select(sdp, &policy, &sel, &err) == 0 && sel.video == -1
       && sel.audio == 0, "no H.264 mode 1: audio only");
    policy.allow_vp8 = 1;
    ok(ngx_ams_sdp_select(sdp, &policy, &sel, &err) == 0 && sel.video == 1
       && sel.video_codec == NGX_AMS_SDP_CODEC_VP8 && sel.video_pt == 96
       && sel.video_rtx_pt == 97, "VP8 when allowed");
    policy.allow_vp8 = 0;
    free(p);
    free(t);

    t = edit(text, "a=setup:", "a=setup:passive");
    p = edit(t, "a=setup:", "a=setup:passive");
    ok(ngx_ams_sdp_parse(p, strlen(p), sdp, &err) == 0, "setup passive");
    ok(ngx_ams_sdp_select(sdp, &policy, &sel, &err) == 0
       && sel.setup == NGX_AMS_SDP_SETUP_ACTIVE, "passive offer: we active");
    free(p);
    free(t);

    /* a single section needs no BUNDLE */
    t = strdup(text);
    p = strstr(t, "m=video");
    *p = '\0';
    p = edit(t, "a=group:BUNDLE", NULL);
    ok(ngx_ams_sdp_parse(p, strlen(p), sdp, &err) == 0
       && ngx_ams_sdp_select(sdp, &policy, &sel, &err) == 0,
       "one section without BUNDLE");
    big = malloc(16384);
    {
        ngx_ams_sdp_local_t  local;

        local_init(&local);
        ok(ngx_ams_sdp_answer(big, 16384, sdp, &sel, &local) > 0
           && strstr(big, "BUNDLE") == NULL, "answered without BUNDLE");
    }
    free(big);
    free(p);
    free(t);

    /* every prefix and every one-byte change: refused or read, no more */
    for (i = 0; i < len; i++) {
        (void) ngx_ams_sdp_parse(text, i, sdp, &err);
    }

    t = strdup(text);

    for (i = 0; i < len; i += 7) {
        t[i] ^= 0x5a;
        if (ngx_ams_sdp_parse(t, len, sdp, &err) == 0) {
            (void) ngx_ams_sdp_select(sdp, &policy, &sel, &err);
        }
        t[i] ^= 0x5a;
    }

    ok(1, "every prefix and a byte changed every 7: no crash");
    free(t);

    free(text);
}


static void
test_answer_cap(void)
{
    char                     *text, answer[16384], small[16384];
    size_t                    len, n, cap;
    const char               *err;
    ngx_ams_sdp_local_t       local;
    ngx_ams_sdp_selection_t   sel;

    text = slurp("chromium_whep.sdp", &len);
    (void) ngx_ams_sdp_parse(text, len, sdp, &err);
    ok(answer_for(sdp, NGX_AMS_SDP_WE_SEND, 1, 0, &sel, answer,
                  sizeof(answer), &err) == 0, "cap: answered");
    local_init(&local);
    n = strlen(answer);

    for (cap = 0; cap <= n; cap++) {
        if (ngx_ams_sdp_answer(small, cap, sdp, &sel, &local) != 0) {
            break;
        }
    }

    is_int(cap, n + 1, "answer: 0 until the room for it and its NUL");
    is_int(ngx_ams_sdp_answer(small, n + 1, sdp, &sel, &local), n,
           "answer: its length");
    ok(memcmp(small, answer, n + 1) == 0, "answer: the same text");
    free(text);
}


/* the largest answer: 8 sections with long mids, 3 taken, 32 of our
 * candidates, a 1000-byte stream id and cname: in 32 KB, as the header
 * says */
static void
test_answer_largest(void)
{
    char                     *text, *p, *big, id[1001], mid[64];
    unsigned                  i;
    size_t                    n;
    const char               *err;
    ngx_ams_sdp_local_t       local;
    ngx_ams_sdp_policy_t      policy;
    ngx_ams_sdp_selection_t   sel;
    static const char        *kind[] = { "audio", "video", "application" };

    text = malloc(65536);
    big = malloc(32768);
    memset(id, 'i', 1000);
    id[1000] = '\0';

    p = text + sprintf(text, "v=0\r\na=ice-ufrag:abcd\r\n"
                       "a=ice-pwd:abcdefghijklmnopqrstuv\r\n"
                       "a=fingerprint:sha-256 %s\r\na=group:BUNDLE", fp_text);
    for (i = 0; i < 8; i++) {
        memset(mid, 'a' + i, 63);
        mid[63] = '\0';
        p += sprintf(p, " %s", mid);
    }
    p += sprintf(p, "\r\n");

    for (i = 0; i < 8; i++) {
        memset(mid, 'a' + i, 63);
        mid[63] = '\0';
        p += sprintf(p, "m=%s 9 %s\r\na=mid:%s\r\na=rtcp-mux\r\n"
                     "a=rtcp-rsize\r\na=sendrecv\r\n", kind[i % 3],
                     i % 3 == 2 ? "UDP/DTLS/SCTP webrtc-datachannel"
                                : "UDP/TLS/RTP/SAVPF 96 97 111",
                     mid);
        p += sprintf(p, "a=rtpmap:96 H264/90000\r\n"
                     "a=fmtp:96 level-asymmetry-allowed=1;"
                     "packetization-mode=1;profile-level-id=42e01f\r\n"
                     "a=rtcp-fb:* nack\r\na=rtcp-fb:* nack pli\r\n"
                     "a=rtcp-fb:* ccm fir\r\na=rtcp-fb:* goog-remb\r\n"
                     "a=rtcp-fb:* transport-cc\r\n"
                     "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
                     "a=rtpmap:111 opus/48000/2\r\n"
                     "a=extmap:1 %s\r\na=extmap:2 %s\r\na=extmap:3 %s\r\n",
                     NGX_AMS_SDP_EXT_MID, NGX_AMS_SDP_EXT_ABS_SEND_TIME,
                     NGX_AMS_SDP_EXT_TWCC);
    }

    is_int(ngx_ams_sdp_parse(text, p - text, sdp, &err), 0, "largest: parses");

    memset(&policy, 0, sizeof(policy));
    policy.role = NGX_AMS_SDP_WE_SEND;
    policy.twcc = 1;
    policy.data_channels = 1;
    ok(ngx_ams_sdp_select(sdp, &policy, &sel, &err) == 0
       && sel.audio == 0 && sel.video == 1 && sel.application == 2,
       "largest: three taken");

    local_init(&local);
    local.cname = id;
    local.stream_id = id;

    for (i = 0; i < NGX_AMS_SDP_MAX_CANDIDATES; i++) {
        local.candidate[i].addr = "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff";
        local.candidate[i].port = 65535;
        local.candidate[i].tcp = i & 1;
    }

    local.ncandidates = NGX_AMS_SDP_MAX_CANDIDATES;
    n = ngx_ams_sdp_answer(big, 32768, sdp, &sel, &local);
    ok(n > 0, "largest: answered in 32 KB (%zu bytes)", n);

    free(big);
    free(text);
}


static void
test_offer(void)
{
    char                      buf[8192];
    size_t                    n, cap;
    const char               *err;
    ngx_ams_sdp_local_t       local;
    ngx_ams_sdp_policy_t      policy;
    ngx_ams_sdp_selection_t   sel;

    local_init(&local);
    n = ngx_ams_sdp_offer(buf, sizeof(buf), 0x640028, 1, 1, &local);
    ok(n > 0 && n == strlen(buf), "offer written");
    is_int(ngx_ams_sdp_parse(buf, n, sdp, &err), 0, "our offer parses");
    ok(sdp->ice_lite, "offer: ice-lite");
    is_int(sdp->setup, NGX_AMS_SDP_SETUP_ACTPASS, "offer: actpass");
    is_int(sdp->nbundle, 2, "offer: BUNDLE 0 1");
    is_int(sdp->media[1].codec[0].profile_level_id, 0x640028,
           "offer: the stream's profile-level-id");
    is_int(sdp->media[1].codec[1].rtx_apt, 102, "offer: rtx");
    is_int(sdp->media[1].ssrc_rtx, 33333333, "offer: rtx ssrc");
    is_int(sdp->media[0].direction, NGX_AMS_SDP_SENDONLY, "offer: sendonly");

    /* what a player would choose from it */
    memset(&policy, 0, sizeof(policy));
    policy.role = NGX_AMS_SDP_WE_RECEIVE;
    sdp->ice_lite = 0;
    ok(ngx_ams_sdp_select(sdp, &policy, &sel, &err) == 0
       && sel.audio_pt == 111 && sel.video_pt == 102
       && sel.video_rtx_pt == 103, "offer: selectable");

    n = ngx_ams_sdp_offer(buf, sizeof(buf), 0, 0, 1, &local);
    ok(n > 0 && strstr(buf, "a=group:BUNDLE 0\r\n")
       && strstr(buf, "profile-level-id=42e01f") && !strstr(buf, "m=audio"),
       "video-only offer, 42e01f by default");

    for (cap = 0; cap <= n; cap++) {
        if (ngx_ams_sdp_offer(buf, cap, 0, 0, 1, &local) != 0) {
            break;
        }
    }

    is_int(cap, n + 1, "offer: 0 until there is room");
    is_int(ngx_ams_sdp_offer(buf, sizeof(buf), 0, 0, 0, &local), 0,
           "offer of nothing: 0");
}


/* data channels: the old "DTLS/SCTP 5000" form (aiortc's offers), a
 * rejected application section that keeps its transport lines, and
 * our offer's application section */
static void
test_datachannel(void)
{
    char                     *text, *t, *p, answer[16384], buf[8192];
    size_t                    len, n;
    const char               *err;
    ngx_ams_sdp_local_t       local;
    ngx_ams_sdp_policy_t      policy;
    ngx_ams_sdp_selection_t   sel;

    text = slurp("chromium_adaptor.sdp", &len);

    t = edit(text, "m=application", "m=application 9 DTLS/SCTP 5001");
    p = edit(t, "a=sctp-port", "a=sctpmap:5001 webrtc-datachannel 65535");
    free(t);
    err = NULL;
    is_int(ngx_ams_sdp_parse(p, strlen(p), sdp, &err), 0, "legacy: parsed");
    is_str(sdp->media[2].proto, "DTLS/SCTP", "legacy: proto");
    is_str(sdp->media[2].fmt, "5001", "legacy: port as format");
    is_int(answer_for(sdp, NGX_AMS_SDP_WE_RECEIVE, 0, 1, &sel, answer,
                      sizeof(answer), &err), 0, "legacy: answered");
    is_int(sel.application, 2, "legacy: taken");
    ok(sel.sctp_legacy, "legacy: known as such");
    is_int(sel.sctp_port, 5001, "legacy: the peer's port");
    has(answer, "m=application 50000 DTLS/SCTP 5000\r\n",
        "legacy: answered in its form");
    has(answer, "a=sctpmap:5000 webrtc-datachannel 1024\r\n",
        "legacy: sctpmap");
    has(answer, "a=max-message-size:262144\r\n", "legacy: max message");
    free(p);

    /* a format that is no port: not taken, answered rejected */
    t = edit(text, "m=application", "m=application 9 DTLS/SCTP 0");
    is_int(ngx_ams_sdp_parse(t, strlen(t), sdp, &err), 0, "port 0 fmt");
    is_int(answer_for(sdp, NGX_AMS_SDP_WE_RECEIVE, 0, 1, &sel, answer,
                      sizeof(answer), &err), 0, "port 0 fmt: answered");
    is_int(sel.application, -1, "port 0 fmt: not taken");
    free(t);
    t = edit(text, "m=application", "m=application 9 DTLS/SCTP 99999");
    is_int(ngx_ams_sdp_parse(t, strlen(t), sdp, &err), 0, "big fmt");
    is_int(answer_for(sdp, NGX_AMS_SDP_WE_RECEIVE, 0, 1, &sel, answer,
                      sizeof(answer), &err), 0, "big fmt: answered");
    is_int(sel.application, -1, "big fmt: not taken");
    free(t);

    /* the new form: the peer's a=sctp-port kept */
    t = edit(text, "a=sctp-port", "a=sctp-port:6000");
    is_int(ngx_ams_sdp_parse(t, strlen(t), sdp, &err), 0, "sctp-port");
    is_int(answer_for(sdp, NGX_AMS_SDP_WE_RECEIVE, 0, 1, &sel, answer,
                      sizeof(answer), &err), 0, "sctp-port: answered");
    is_int(sel.sctp_port, 6000, "sctp-port: the peer's");
    ok(!sel.sctp_legacy, "sctp-port: not legacy");
    free(t);

    /* rejected: port 0, our transport lines still there */
    is_int(ngx_ams_sdp_parse(text, len, sdp, &err), 0, "rejected: parsed");
    is_int(answer_for(sdp, NGX_AMS_SDP_WE_RECEIVE, 0, 0, &sel, answer,
                      sizeof(answer), &err), 0, "rejected: answered");
    p = strstr(answer, "m=application 0 ");
    ok(p != NULL, "rejected: port 0");
    if (p) {
        ok(strstr(p, "a=ice-ufrag:amsU1234\r\n") != NULL,
           "rejected: ice-ufrag kept");
        ok(strstr(p, "a=ice-pwd:") != NULL, "rejected: ice-pwd kept");
        ok(strstr(p, "a=fingerprint:sha-256 ") != NULL,
           "rejected: fingerprint kept");
        ok(strstr(p, "a=setup:passive\r\n") != NULL, "rejected: setup kept");
        ok(strstr(p, "a=mid:2\r\n") != NULL, "rejected: mid kept");
    }
    check_answer_back("rejected application", answer,
                      NGX_AMS_SDP_WE_RECEIVE, &sel);
    free(text);

    /* our offer with data channels, and the peer's answer taken back */
    local_init(&local);
    local.data_channels = 1;
    n = ngx_ams_sdp_offer(buf, sizeof(buf), 0, 1, 1, &local);
    ok(n > 0, "offer with data: written");
    has(buf, "a=group:BUNDLE 0 1 2\r\n", "offer with data: BUNDLE");
    has(buf, "m=application 50000 UDP/DTLS/SCTP webrtc-datachannel\r\n",
        "offer with data: m=application");
    has(buf, "a=sctp-port:5000\r\n", "offer with data: sctp-port");
    is_int(ngx_ams_sdp_parse(buf, n, sdp, &err), 0, "offer with data: parses");
    is_int(sdp->nmedia, 3, "offer with data: three sections");
    is_str(sdp->media[2].mid, "2", "offer with data: mid 2");

    n = ngx_ams_sdp_offer(buf, sizeof(buf), 0, 0, 1, &local);
    has(buf, "a=group:BUNDLE 0 1\r\n", "video and data: BUNDLE");
    is_int(ngx_ams_sdp_parse(buf, n, sdp, &err), 0, "video and data: parses");
    is_str(sdp->media[1].mid, "1", "video and data: mid 1");

    /* the peer's view of it: the application section selectable */
    sdp->ice_lite = 0;
    memset(&policy, 0, sizeof(policy));
    policy.role = NGX_AMS_SDP_WE_RECEIVE;
    policy.data_channels = 1;
    is_int(ngx_ams_sdp_select(sdp, &policy, &sel, &err), 0,
           "video and data: selects");
    is_int(sel.application, 1, "video and data: application taken");
}


/* Chromium's answer to our offer, as webrtc_adaptor sends it back */
static void
test_answer_to_ours(void)
{
    char                     *text;
    size_t                    len;
    const char               *err;
    ngx_ams_sdp_policy_t      policy;
    ngx_ams_sdp_selection_t   sel;

    text = slurp("chromium_answer_to_ours.sdp", &len);
    err = "";
    is_int(ngx_ams_sdp_parse(text, len, sdp, &err), 0,
           "chromium's answer to our offer parses");
    is_int(sdp->setup, NGX_AMS_SDP_SETUP_ACTIVE, "it is DTLS client");
    ok(strstr(sdp->media[0].codec[0].fmtp, "; stereo=1") != NULL,
       "the adaptor's stereo munge read");

    memset(&policy, 0, sizeof(policy));
    policy.role = NGX_AMS_SDP_WE_SEND;
    ok(ngx_ams_sdp_select(sdp, &policy, &sel, &err) == 0, "selected");
    ok(sel.audio == 0 && sel.audio_pt == 111 && sel.video == 1
       && sel.video_pt == 102 && sel.video_rtx_pt == 103
       && sel.profile_level_id == 0x42e01f, "our payload types back");
    is_int(sel.setup, NGX_AMS_SDP_SETUP_PASSIVE, "we are DTLS server");
    ok(sel.video_nack && sel.video_pli && sel.remb, "feedback kept");
    free(text);
}


static void
test_fragment(void)
{
    const char  *err;
    const char  *whip =
        "a=ice-options:trickle ice2\r\n"
        "a=group:BUNDLE 0 1\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        "a=mid:0\r\n"
        "a=ice-ufrag:EsAw\r\n"
        "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n"
        "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host "
        "generation 0 ufrag EsAw network-id 1\r\n"
        "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host "
        "generation 0 ufrag EsAw network-id 2\r\n"
        "a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host "
        "tcptype active generation 0 ufrag EsAw network-id 1\r\n"
        "a=end-of-candidates\r\n";
    const char  *bare =
        "a=ice-ufrag:EsAw\n"
        "a=mid:0\n"
        "a=candidate:1 1 UDP 2122260223 192.0.2.1 61764 typ srflx raddr "
        "10.0.0.1 rport 5000\n";

    is_int(ngx_ams_sdp_parse_fragment(whip, strlen(whip), sdp, &err), 0,
           "WHIP trickle fragment parses");
    is_str(sdp->ice_ufrag, "EsAw", "fragment ufrag");
    is_str(sdp->ice_pwd, "P2uYro0UCOQ4zxjKXaWCBui1", "fragment pwd");
    is_int(sdp->ncandidates, 3, "fragment: three candidates");
    is_int(sdp->candidate[1].port, 61765, "fragment: second's port");
    ok(sdp->candidate[2].tcp, "fragment: the TCP one");
    is_str(sdp->media[0].mid, "0", "fragment: its mid");
    ok(sdp->ice_trickle, "fragment: trickle");

    is_int(ngx_ams_sdp_parse_fragment(bare, strlen(bare), sdp, &err), 0,
           "bare fragment with LF parses");
    is_int(sdp->ncandidates, 1, "bare: one candidate");
    is_str(sdp->candidate[0].type, "srflx", "bare: srflx");
    is_str(sdp->ice_ufrag, "EsAw", "bare: ufrag");

    is_int(ngx_ams_sdp_parse_fragment("", 0, sdp, &err), 0,
           "empty fragment: nothing");
    is_int(ngx_ams_sdp_parse_fragment("a=end-of-candidates\r\n", 21, sdp,
                                      &err), 0, "end-of-candidates only");
    ok(ngx_ams_sdp_parse_fragment("v=0\r\n", 5, sdp, &err) == -1,
       "a whole SDP is not a fragment");
    ok(ngx_ams_sdp_parse_fragment("a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\n",
                                  36, sdp, &err) == -1, "pwd alone refused");
    ok(ngx_ams_sdp_parse_fragment("a=candidate:1 1 udp x 1.2.3.4 1 typ host"
                                  "\r\n", 42, sdp, &err) == -1,
       "bad candidate refused");
    ok(ngx_ams_sdp_parse_fragment("garbage\r\n", 9, sdp, &err) == -1,
       "garbage refused");
}


/* the tool mode: one answer, offer or selection for the check scripts */
static int
tool(int argc, char **argv)
{
    int                       i;
    char                     *in, out[32768];
    size_t                    len;
    const char               *err;
    ngx_ams_sdp_local_t       local;
    ngx_ams_sdp_policy_t      policy;
    ngx_ams_sdp_selection_t   sel;

    local_init(&local);
    memset(&policy, 0, sizeof(policy));

    for (i = 2; i < argc; i++) {
        policy.twcc |= strcmp(argv[i], "twcc") == 0;
        policy.data_channels |= strcmp(argv[i], "data") == 0;
        policy.role = strcmp(argv[i], "whip") == 0 ? NGX_AMS_SDP_WE_RECEIVE
                      : strcmp(argv[i], "whep") == 0 ? NGX_AMS_SDP_WE_SEND
                      : policy.role;
    }

    if (strcmp(argv[1], "offer") == 0) {
        len = ngx_ams_sdp_offer(out, sizeof(out), 0x42e01f, 1, 1, &local);
        fwrite(out, 1, len, stdout);
        return len ? 0 : 1;
    }

    in = malloc(NGX_AMS_SDP_MAX_LEN + 2);
    len = fread(in, 1, NGX_AMS_SDP_MAX_LEN + 1, stdin);
    i = ngx_ams_sdp_parse(in, len, sdp, &err);
    free(in);

    if (i != 0) {
        fprintf(stderr, "parse: %s\n", err);
        return 1;
    }

    if (strcmp(argv[1], "select") == 0) {
        /* the peer's answer to our offer: we send */
        policy.role = NGX_AMS_SDP_WE_SEND;
        sdp->ice_lite = 0;

        if (ngx_ams_sdp_select(sdp, &policy, &sel, &err) != 0) {
            fprintf(stderr, "select: %s\n", err);
            return 1;
        }

        printf("audio %d pt %u video %d pt %u rtx %u plid %06x\n", sel.audio,
               sel.audio_pt, sel.video, sel.video_pt, sel.video_rtx_pt,
               (unsigned) sel.profile_level_id);
        return 0;
    }

    if (ngx_ams_sdp_select(sdp, &policy, &sel, &err) != 0) {
        fprintf(stderr, "select: %s\n", err);
        return 1;
    }

    len = ngx_ams_sdp_answer(out, sizeof(out), sdp, &sel, &local);
    fwrite(out, 1, len, stdout);

    return len ? 0 : 1;
}


int
main(int argc, char **argv)
{
    const char  *slash;

    sdp = malloc(sizeof(ngx_ams_sdp_t));
    sdp2 = malloc(sizeof(ngx_ams_sdp_t));

    if (argc > 1) {
        argc = tool(argc, argv);
        free(sdp);
        free(sdp2);
        return argc;
    }

    slash = strrchr(__FILE__, '/');
    snprintf(fixtures, sizeof(fixtures), "%.*s/sdp",
             slash ? (int) (slash - __FILE__) : 1, slash ? __FILE__ : ".");

    test_chromium_whip();
    test_chromium_whep();
    test_chromium_others();
    test_aiortc();
    test_obs();
    test_firefox_like();
    test_malformed();
    test_answer_cap();
    test_answer_largest();
    test_offer();
    test_answer_to_ours();
    test_fragment();
    test_datachannel();

    free(sdp);
    free(sdp2);

    return done_testing();
}
