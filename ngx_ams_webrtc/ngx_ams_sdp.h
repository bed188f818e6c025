
/*
 * Copyright (C) nginx-ams authors
 *
 * SDP (RFC 8866) for WebRTC offer/answer (RFC 8829, RFC 8843 BUNDLE,
 * RFC 5761 rtcp-mux): parsing the offer a browser, OBS's WHIP output,
 * aiortc or Ant Media's JavaScript SDK sends; choosing what we take
 * from it; writing our answer, and our own offer (AMS's WebSocket play,
 * where the server offers).  Also the trickle fragments of WHIP/WHEP
 * PATCH (RFC 8840 application/trickle-ice-sdpfrag).
 *
 * Free of nginx types: unit-tested and fuzzed alone.  Every limit below
 * is a refusal with an error string, never a truncation.
 */


#ifndef _NGX_AMS_SDP_H_INCLUDED_
#define _NGX_AMS_SDP_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_SDP_MAX_LEN          65536   /* bytes of one offer */
#define NGX_AMS_SDP_MAX_MEDIA        8       /* m= sections */
#define NGX_AMS_SDP_MAX_CODECS       64      /* payload types per m=
                                                section: Chromium 156's
                                                recvonly video offers 34 */
#define NGX_AMS_SDP_MAX_EXTMAPS      16
#define NGX_AMS_SDP_MAX_SSRCS        8
#define NGX_AMS_SDP_MAX_CANDIDATES   32      /* per section: one UDP and
                                                one TCP per interface */
#define NGX_AMS_SDP_LINE_MAX         1024    /* bytes of one line */
#define NGX_AMS_SDP_ICE_MAX          256     /* ufrag, pwd: RFC 8839 */
#define NGX_AMS_SDP_TOKEN_MAX        64      /* mid, codec names, ... */
#define NGX_AMS_SDP_FMTP_MAX         256

#define NGX_AMS_SDP_AUDIO            1
#define NGX_AMS_SDP_VIDEO            2
#define NGX_AMS_SDP_APPLICATION      3       /* data channels: SCTP */

/* a=sendrecv etc., from the side that wrote the SDP */
#define NGX_AMS_SDP_SENDRECV         0
#define NGX_AMS_SDP_SENDONLY         1
#define NGX_AMS_SDP_RECVONLY         2
#define NGX_AMS_SDP_INACTIVE         3

/* a=setup (RFC 4145/5763) */
#define NGX_AMS_SDP_SETUP_NONE       0
#define NGX_AMS_SDP_SETUP_ACTPASS    1
#define NGX_AMS_SDP_SETUP_ACTIVE     2
#define NGX_AMS_SDP_SETUP_PASSIVE    3

/* the header extensions we use, by URI */
#define NGX_AMS_SDP_EXT_MID      "urn:ietf:params:rtp-hdrext:sdes:mid"
#define NGX_AMS_SDP_EXT_ABS_SEND_TIME \
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define NGX_AMS_SDP_EXT_TWCC \
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"


typedef struct {
    uint8_t             pt;
    char                name[NGX_AMS_SDP_TOKEN_MAX];  /* "H264", "opus" */
    uint32_t            clock;
    uint8_t             channels;                     /* 0: not given */
    char                fmtp[NGX_AMS_SDP_FMTP_MAX];   /* as written */
    /* from fmtp, H.264 (RFC 6184): */
    uint32_t            profile_level_id;   /* 0x42e01f; 0: absent */
    uint8_t             packetization_mode;
    uint8_t             level_asymmetry_allowed;
    /* rtx (RFC 4588): the payload type it repairs; 0: not rtx */
    uint8_t             rtx_apt;
    /* a=rtcp-fb */
    unsigned            fb_nack:1;
    unsigned            fb_nack_pli:1;
    unsigned            fb_ccm_fir:1;
    unsigned            fb_goog_remb:1;
    unsigned            fb_transport_cc:1;
} ngx_ams_sdp_codec_t;


typedef struct {
    uint8_t             id;
    char                uri[128];
} ngx_ams_sdp_extmap_t;


typedef struct {
    char                foundation[33];
    unsigned            component;
    unsigned            tcp:1;
    uint32_t            priority;
    char                addr[64];           /* as written (may be mDNS) */
    uint16_t            port;
    char                type[8];            /* host, srflx, prflx, relay */
} ngx_ams_sdp_candidate_t;


typedef struct {
    unsigned            kind;               /* NGX_AMS_SDP_AUDIO, ...;
                                               0: another media */
    char                name[16];           /* the m= line's media as
                                               written: "audio", "text" */
    uint16_t            port;               /* 0: rejected/disabled */
    unsigned            bundle_only:1;      /* a=bundle-only: port 0 but
                                               in use through BUNDLE */
    char                proto[NGX_AMS_SDP_TOKEN_MAX];  /* UDP/TLS/RTP/SAVPF */
    char                fmt[NGX_AMS_SDP_TOKEN_MAX];    /* not RTP: the first
                                               format ("webrtc-datachannel") */
    char                mid[NGX_AMS_SDP_TOKEN_MAX];
    unsigned            direction;          /* NGX_AMS_SDP_SENDRECV, ... */
    unsigned            rtcp_mux:1;
    unsigned            rtcp_rsize:1;

    ngx_ams_sdp_codec_t codec[NGX_AMS_SDP_MAX_CODECS];
    unsigned            ncodecs;            /* in the m= line's order */
    ngx_ams_sdp_extmap_t extmap[NGX_AMS_SDP_MAX_EXTMAPS];
    unsigned            nextmaps;

    uint32_t            ssrc[NGX_AMS_SDP_MAX_SSRCS];  /* a=ssrc, in order */
    unsigned            nssrcs;
    uint32_t            ssrc_rtx;           /* a=ssrc-group:FID's second;
                                               0: none */
    char                msid[128];          /* "stream track", or "" */

    /* per-section ICE/DTLS, when not at session level */
    char                ice_ufrag[NGX_AMS_SDP_ICE_MAX + 1];
    char                ice_pwd[NGX_AMS_SDP_ICE_MAX + 1];

    /* application: a=sctp-port, a=max-message-size */
    uint16_t            sctp_port;
    uint32_t            max_message_size;
} ngx_ams_sdp_media_t;


typedef struct {
    /* session level, or the first m= section's when only there */
    char                ice_ufrag[NGX_AMS_SDP_ICE_MAX + 1];
    char                ice_pwd[NGX_AMS_SDP_ICE_MAX + 1];
    uint8_t             fingerprint[32];    /* sha-256 only */
    unsigned            has_fingerprint:1;
    unsigned            ice_lite:1;
    unsigned            ice_trickle:1;
    unsigned            setup;              /* NGX_AMS_SDP_SETUP_* */
    /* with BUNDLE, the session-level ufrag/pwd/setup above come from the
     * section of the group's first mid (its transport) when the session
     * level has none; the candidates below are that section's only
     * (those of the others are never used once bundled) */
    char                bundle[NGX_AMS_SDP_MAX_MEDIA][NGX_AMS_SDP_TOKEN_MAX];
    unsigned            nbundle;            /* mids of a=group:BUNDLE */

    ngx_ams_sdp_media_t media[NGX_AMS_SDP_MAX_MEDIA];
    unsigned            nmedia;

    ngx_ams_sdp_candidate_t candidate[NGX_AMS_SDP_MAX_CANDIDATES];
    unsigned            ncandidates;
} ngx_ams_sdp_t;


/* what we take from an offer: filled by ngx_ams_sdp_select() */
typedef struct {
    int                 audio;              /* media index, -1: none */
    int                 video;
    int                 application;
    uint8_t             audio_pt;           /* opus/48000/2 */
    uint8_t             video_pt;           /* H264 (or VP8, see below) */
    uint8_t             video_rtx_pt;       /* 0: no rtx */
    unsigned            video_codec;        /* NGX_AMS_SDP_CODEC_* */
    uint32_t            profile_level_id;   /* of the H.264 chosen */
    uint8_t             ext_mid;            /* extmap ids; 0: not offered */
    uint8_t             ext_abs_send_time;
    uint8_t             ext_twcc;
    uint8_t             audio_ext_mid;
    uint8_t             audio_ext_twcc;
    unsigned            video_nack:1;
    unsigned            video_pli:1;
    unsigned            video_fir:1;
    unsigned            remb:1;
    unsigned            twcc:1;
    /* the application section: the peer's SCTP port (a=sctp-port, the
     * old form's format, else 5000); the old "DTLS/SCTP 5000" form
     * with a=sctpmap (Chrome before 2019, some SDKs) answered alike */
    uint16_t            sctp_port;
    unsigned            sctp_legacy:1;
    /* added: what the answer needs besides the offer */
    unsigned            role;               /* the policy's NGX_AMS_SDP_WE_* */
    unsigned            setup;              /* ours: PASSIVE to an actpass
                                               or active peer, ACTIVE to a
                                               passive one */
} ngx_ams_sdp_selection_t;

#define NGX_AMS_SDP_CODEC_H264       1
#define NGX_AMS_SDP_CODEC_VP8        2

/* what the server does with the session: it receives (WHIP, AMS publish)
 * or sends (WHEP, AMS play) */
#define NGX_AMS_SDP_WE_RECEIVE       1
#define NGX_AMS_SDP_WE_SEND          2

typedef struct {
    unsigned            role;               /* NGX_AMS_SDP_WE_* */
    /* play: the profile_level_id of the stream we will send (from its
     * avcC; 0: unknown, prefer 42e01f); publish: ignored */
    uint32_t            want_profile_level_id;
    unsigned            allow_vp8:1;        /* WebRTC-to-WebRTC only */
    /* transport-wide congestion control (the extmap and the rtcp-fb):
     * only when the media layer writes (we receive) or reads (we send)
     * its feedback; else REMB with abs-send-time, which a sender that
     * was offered transport-cc would ignore */
    unsigned            twcc:1;
    /* accept the application (SCTP) section: data channels */
    unsigned            data_channels:1;
} ngx_ams_sdp_policy_t;


/* our side of the answer (or of our offer) */
typedef struct {
    const char         *ice_ufrag;          /* 4+ chars, ice-char only */
    const char         *ice_pwd;            /* 22+ chars */
    const char         *fingerprint;        /* "AB:CD:..." (sha-256) */
    unsigned            setup;              /* answer: ACTIVE or PASSIVE;
                                               0: the selection's */
    /* host candidates: ICE-lite gathers nothing else */
    struct {
        const char     *addr;               /* IPv4/IPv6 literal */
        uint16_t        port;
        unsigned        tcp:1;              /* passive ICE-TCP (RFC 6544) */
    }                   candidate[NGX_AMS_SDP_MAX_CANDIDATES];
    unsigned            ncandidates;
    /* play: the SSRCs we send from, and a cname/msid for them */
    uint32_t            audio_ssrc;
    uint32_t            video_ssrc;
    uint32_t            video_rtx_ssrc;
    const char         *cname;
    const char         *stream_id;          /* msid's first half */
    uint32_t            session_id;         /* o= line */
    /* our offer: an application section (data channels) after the
     * media, in the BUNDLE group */
    unsigned            data_channels:1;
} ngx_ams_sdp_local_t;


/*
 * 0, or -1 with *err naming the first problem ("no ice-ufrag", ...): a
 * static string.  LF or CRLF line ends.  Needs ice-ufrag, ice-pwd and a
 * fingerprint line (of any hash: select wants sha-256).  sizeof(
 * ngx_ams_sdp_t) is about 200 KB: allocate it, not on a stack.
 */
int ngx_ams_sdp_parse(const char *text, size_t len, ngx_ams_sdp_t *sdp,
    const char **err);

/*
 * Chooses, for each of the offer's audio and video sections that is
 * usable (port != 0, in the BUNDLE group when there is one, a direction
 * that fits the role), Opus 48 kHz and H.264 packetization-mode 1 (the
 * profile_level_id closest to the policy's: same profile, then level;
 * constrained baseline 42e0xx is accepted for 42xxxx), or VP8 when
 * allowed and no H.264 fits; its rtx, and the extmaps and feedback we
 * use.  0, or -1 with *err when nothing usable is offered (no audio and
 * no video: the WHIP/WHEP answer is 422 then; a fingerprint other than
 * sha-256, no ice-ufrag/pwd, setup:passive offer we cannot be client
 * for, and the like also).
 *
 * As written: a section with port 0 is usable only with a=bundle-only
 * inside the BUNDLE group; a section needs UDP/TLS/RTP/SAVPF and
 * rtcp-mux; more than one usable section without a BUNDLE group is
 * refused ("no BUNDLE group": one transport per session); so is an
 * ICE-lite peer.  The application section is "UDP/DTLS/SCTP
 * webrtc-datachannel" (or TCP/), or the old "DTLS/SCTP <port>".  sel->setup is ours: PASSIVE, or ACTIVE to a passive
 * offer.  transport-cc only with policy->twcc, the application section
 * only with policy->data_channels.  When nothing is usable, *err says
 * why the last section was not.
 */
int ngx_ams_sdp_select(const ngx_ams_sdp_t *offer,
    const ngx_ams_sdp_policy_t *policy, ngx_ams_sdp_selection_t *sel,
    const char **err);

/*
 * The answer to "offer": one m= section per offered section, in order,
 * the same mids; those not selected with port 0 (and the application
 * section unless the policy took data channels), still with our
 * ufrag/pwd/fingerprint/setup (aiortc refuses a section without
 * them); BUNDLE of the accepted
 * mids (when offered); a=ice-lite, our ufrag/pwd/fingerprint/setup
 * (local->setup, else sel->setup) in each accepted section; a=rtcp-mux,
 * rtcp-rsize when offered; the chosen payload types with their rtpmap,
 * fmtp and rtcp-fb; direction recvonly (we receive) or sendonly (we
 * send) with a=msid and a=ssrc lines for what we send; the chosen
 * extmaps with the offer's ids; the candidates in each accepted section
 * and a=end-of-candidates.  CRLF line ends.  Returns the length (the
 * text is NUL-terminated after it), or 0 when "cap" is too small: 32 KB
 * holds any answer to an offer within the limits above (with our
 * candidates, stream id and cname under 1 KB); 4 KB a usual one.
 */
size_t ngx_ams_sdp_answer(char *out, size_t cap, const ngx_ams_sdp_t *offer,
    const ngx_ams_sdp_selection_t *sel, const ngx_ams_sdp_local_t *local);

/*
 * Our own offer, to send audio (Opus) and video (H.264 with the given
 * profile_level_id, packetization-mode 1, rtx) to a peer (AMS's
 * WebSocket play: the server offers).  setup:actpass; then
 * ngx_ams_sdp_parse() of the peer's answer and ngx_ams_sdp_select()
 * with role WE_SEND.  local->data_channels adds an application section
 * (mid 2, or the next).  Returns the length, or 0 when "cap" is too small.
 */
size_t ngx_ams_sdp_offer(char *out, size_t cap, uint32_t profile_level_id,
    unsigned audio, unsigned video, const ngx_ams_sdp_local_t *local);

/*
 * A trickle fragment (WHIP/WHEP PATCH): a=ice-ufrag/ice-pwd (a new pair
 * is an ICE restart), a=mid and a=candidate lines, a=end-of-candidates.
 * Fills the ufrag/pwd and candidates of "frag" (all sections'), and the
 * mid of each m= or a=mid it names; the rest is zeroed.  An empty
 * fragment is valid; a pwd without a ufrag is not.
 */
int ngx_ams_sdp_parse_fragment(const char *text, size_t len,
    ngx_ams_sdp_t *frag, const char **err);

/* the SCTP port of the old "DTLS/SCTP 5000" application format (1..65535):
 * 0, or -1 for anything else */
int ngx_ams_sdp_fmt_port(const char *fmt, uint16_t *port);


#endif /* _NGX_AMS_SDP_H_INCLUDED_ */
