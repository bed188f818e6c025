
/*
 * Copyright (C) nginx-ams authors
 *
 * SDP offer/answer for WebRTC: the parser of what a peer sends, the
 * choice of what we take from it, and the writers of our answer, our
 * offer and nothing else.
 *
 * The parser reads a line at a time (LF or CRLF) into fixed arrays: every
 * count, length and number is checked against its bound and a violation
 * refuses the whole description with a static error string, so a hostile
 * offer costs at most one pass over 64 KB and never a partial reading
 * that the session would act on.  Attributes we do not use are skipped
 * without a look, those we use are checked strictly.
 */


#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ngx_ams_sdp.h"


typedef struct {
    const char               *p;
    size_t                    len;
} ngx_ams_sdp_str_t;


/* what a section said about ICE and DTLS before we know the transport */
typedef struct {
    unsigned                  setup;
    ngx_ams_sdp_candidate_t   candidate[NGX_AMS_SDP_MAX_CANDIDATES];
    unsigned                  ncandidates;
} ngx_ams_sdp_section_t;


typedef struct {
    ngx_ams_sdp_t            *sdp;
    ngx_ams_sdp_media_t      *m;            /* NULL: session level */
    ngx_ams_sdp_section_t     sec;          /* the current section's */
    unsigned                  setup[NGX_AMS_SDP_MAX_MEDIA];
    unsigned                  fragment:1;   /* trickle: candidates kept
                                               from every section */
    unsigned                  fingerprints; /* a=fingerprint lines seen */
} ngx_ams_sdp_parse_t;


typedef struct {
    char                     *p;
    char                     *end;
    unsigned                  full:1;
} ngx_ams_sdp_out_t;


static int ngx_ams_sdp_parse_lines(ngx_ams_sdp_parse_t *ps, const char *text,
    size_t len, const char **err);
static int ngx_ams_sdp_line(ngx_ams_sdp_parse_t *ps, char type,
    ngx_ams_sdp_str_t v, const char **err);
static int ngx_ams_sdp_media_line(ngx_ams_sdp_parse_t *ps,
    ngx_ams_sdp_str_t v, const char **err);
static int ngx_ams_sdp_end_section(ngx_ams_sdp_parse_t *ps,
    const char **err);
static int ngx_ams_sdp_attr(ngx_ams_sdp_parse_t *ps, ngx_ams_sdp_str_t v,
    const char **err);
static int ngx_ams_sdp_attr_media(ngx_ams_sdp_parse_t *ps,
    ngx_ams_sdp_str_t name, ngx_ams_sdp_str_t v, const char **err);
static int ngx_ams_sdp_rtpmap(ngx_ams_sdp_media_t *m, ngx_ams_sdp_str_t v,
    const char **err);
static int ngx_ams_sdp_fmtp(ngx_ams_sdp_media_t *m, ngx_ams_sdp_str_t v,
    const char **err);
static int ngx_ams_sdp_rtcp_fb(ngx_ams_sdp_media_t *m, ngx_ams_sdp_str_t v,
    const char **err);
static int ngx_ams_sdp_extmap(ngx_ams_sdp_media_t *m, ngx_ams_sdp_str_t v,
    const char **err);
static int ngx_ams_sdp_ssrc(ngx_ams_sdp_media_t *m, ngx_ams_sdp_str_t v,
    const char **err);
static int ngx_ams_sdp_ssrc_group(ngx_ams_sdp_media_t *m,
    ngx_ams_sdp_str_t v, const char **err);
static int ngx_ams_sdp_candidate(ngx_ams_sdp_section_t *sec,
    ngx_ams_sdp_str_t v, const char **err);
static int ngx_ams_sdp_fingerprint(ngx_ams_sdp_parse_t *ps,
    ngx_ams_sdp_str_t v, const char **err);
static int ngx_ams_sdp_ice(char *dst, ngx_ams_sdp_str_t v, size_t min,
    const char *what, const char **err);
static int ngx_ams_sdp_setup(ngx_ams_sdp_str_t v, unsigned *setup,
    const char **err);
static int ngx_ams_sdp_group(ngx_ams_sdp_t *sdp, ngx_ams_sdp_str_t v,
    const char **err);
static int ngx_ams_sdp_finish(ngx_ams_sdp_parse_t *ps, const char **err);

static int ngx_ams_sdp_token(ngx_ams_sdp_str_t *v, ngx_ams_sdp_str_t *tok);
static int ngx_ams_sdp_number(ngx_ams_sdp_str_t s, uint32_t max,
    uint32_t *n);
static int ngx_ams_sdp_copy(char *dst, size_t cap, ngx_ams_sdp_str_t s);
static int ngx_ams_sdp_is(ngx_ams_sdp_str_t s, const char *lit);
static int ngx_ams_sdp_is_ci(ngx_ams_sdp_str_t s, const char *lit);
static ngx_ams_sdp_codec_t *ngx_ams_sdp_codec(ngx_ams_sdp_media_t *m,
    ngx_ams_sdp_str_t pt, const char **err);
static int ngx_ams_sdp_hex(int c);

static int ngx_ams_sdp_in_bundle(const ngx_ams_sdp_t *sdp,
    const ngx_ams_sdp_media_t *m);
static int ngx_ams_sdp_fmt_port(const char *fmt, uint16_t *port);
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
ngx_ams_sdp_parse(const char *text, size_t len, ngx_ams_sdp_t *sdp,
    const char **err)
{
    ngx_ams_sdp_parse_t  ps;

    memset(sdp, 0, sizeof(ngx_ams_sdp_t));
    memset(&ps, 0, sizeof(ngx_ams_sdp_parse_t));
    ps.sdp = sdp;

    if (len < 3 || memcmp(text, "v=0", 3) != 0
        || (len > 3 && text[3] != '\r' && text[3] != '\n'))
    {
        *err = "not an SDP: the first line is not v=0";
        return -1;
    }

    if (ngx_ams_sdp_parse_lines(&ps, text, len, err) != 0) {
        return -1;
    }

    return ngx_ams_sdp_finish(&ps, err);
}


int
ngx_ams_sdp_parse_fragment(const char *text, size_t len,
    ngx_ams_sdp_t *frag, const char **err)
{
    ngx_ams_sdp_parse_t  ps;

    memset(frag, 0, sizeof(ngx_ams_sdp_t));
    memset(&ps, 0, sizeof(ngx_ams_sdp_parse_t));
    ps.sdp = frag;
    ps.fragment = 1;

    if (ngx_ams_sdp_parse_lines(&ps, text, len, err) != 0) {
        return -1;
    }

    if (frag->ice_ufrag[0] == '\0' && frag->nmedia) {
        memcpy(frag->ice_ufrag, frag->media[0].ice_ufrag,
               sizeof(frag->ice_ufrag));
        memcpy(frag->ice_pwd, frag->media[0].ice_pwd, sizeof(frag->ice_pwd));
    }

    /* a ufrag alone names the generation the candidates belong to; a
     * pwd alone means nothing */
    if (frag->ice_ufrag[0] == '\0' && frag->ice_pwd[0] != '\0') {
        *err = "ice-pwd without ice-ufrag";
        return -1;
    }

    return 0;
}


static int
ngx_ams_sdp_parse_lines(ngx_ams_sdp_parse_t *ps, const char *text,
    size_t len, const char **err)
{
    const char         *p, *end, *eol, *q;
    ngx_ams_sdp_str_t   v;

    if (len > NGX_AMS_SDP_MAX_LEN) {
        *err = "SDP too long";
        return -1;
    }

    p = text;
    end = text + len;

    while (p < end) {
        eol = memchr(p, '\n', end - p);
        q = eol ? eol : end;

        if (q > p && q[-1] == '\r') {
            q--;
        }

        if ((size_t) (q - p) > NGX_AMS_SDP_LINE_MAX) {
            *err = "SDP line too long";
            return -1;
        }

        if (q == p) {
            /* an empty line: only as the last, after the last line end */
            if (eol == NULL || eol + 1 == end) {
                break;
            }

            *err = "empty SDP line";
            return -1;
        }

        for (v.p = p; v.p < q; v.p++) {
            if ((unsigned char) *v.p < 0x20 || *v.p == 0x7f) {
                *err = "control character in SDP";
                return -1;
            }
        }

        if (q - p < 2 || p[0] < 'a' || p[0] > 'z' || p[1] != '=') {
            *err = "malformed SDP line";
            return -1;
        }

        v.p = p + 2;
        v.len = q - v.p;

        if (ngx_ams_sdp_line(ps, p[0], v, err) != 0) {
            return -1;
        }

        p = eol ? eol + 1 : end;
    }

    if ((ps->m || ps->sec.ncandidates)
        && ngx_ams_sdp_end_section(ps, err) != 0)
    {
        return -1;
    }

    return 0;
}


static int
ngx_ams_sdp_line(ngx_ams_sdp_parse_t *ps, char type, ngx_ams_sdp_str_t v,
    const char **err)
{
    switch (type) {

    case 'm':
        return ngx_ams_sdp_media_line(ps, v, err);

    case 'a':
        return ngx_ams_sdp_attr(ps, v, err);

    case 'v':
        if (ps->fragment || ps->m || !ngx_ams_sdp_is(v, "0")) {
            *err = "unexpected v= line";
            return -1;
        }

        return 0;

    default:
        /* o=, s=, t=, c=, b= and the rest: nothing we use */
        return 0;
    }
}


static int
ngx_ams_sdp_media_line(ngx_ams_sdp_parse_t *ps, ngx_ams_sdp_str_t v,
    const char **err)
{
    uint32_t              n;
    unsigned              i;
    ngx_ams_sdp_str_t     tok;
    ngx_ams_sdp_t        *sdp = ps->sdp;
    ngx_ams_sdp_media_t  *m;
    ngx_ams_sdp_codec_t  *c;

    if ((ps->m || ps->sec.ncandidates)
        && ngx_ams_sdp_end_section(ps, err) != 0)
    {
        return -1;
    }

    if (sdp->nmedia == NGX_AMS_SDP_MAX_MEDIA) {
        *err = "too many m= sections";
        return -1;
    }

    m = &sdp->media[sdp->nmedia++];
    ps->m = m;
    memset(&ps->sec, 0, sizeof(ngx_ams_sdp_section_t));

    if (ngx_ams_sdp_token(&v, &tok) != 0
        || ngx_ams_sdp_copy(m->name, sizeof(m->name), tok) != 0)
    {
        *err = "bad m= media";
        return -1;
    }

    m->kind = ngx_ams_sdp_is(tok, "audio") ? NGX_AMS_SDP_AUDIO
              : ngx_ams_sdp_is(tok, "video") ? NGX_AMS_SDP_VIDEO
              : ngx_ams_sdp_is(tok, "application") ? NGX_AMS_SDP_APPLICATION
              : 0;

    if (ngx_ams_sdp_token(&v, &tok) != 0
        || ngx_ams_sdp_number(tok, 65535, &n) != 0)
    {
        *err = "bad m= port";
        return -1;
    }

    m->port = (uint16_t) n;
    m->direction = NGX_AMS_SDP_SENDRECV;

    if (ngx_ams_sdp_token(&v, &tok) != 0
        || ngx_ams_sdp_copy(m->proto, sizeof(m->proto), tok) != 0)
    {
        *err = "bad m= proto";
        return -1;
    }

    if (ps->fragment) {
        /* RFC 8840: a fragment's m= line names the section, no more */
        return 0;
    }

    if (strstr(m->proto, "RTP/") == NULL) {
        if (ngx_ams_sdp_token(&v, &tok) != 0
            || ngx_ams_sdp_copy(m->fmt, sizeof(m->fmt), tok) != 0)
        {
            *err = "bad m= format";
            return -1;
        }

        return 0;
    }

    while (ngx_ams_sdp_token(&v, &tok) == 0) {
        if (ngx_ams_sdp_number(tok, 127, &n) != 0) {
            *err = "bad m= payload type";
            return -1;
        }

        for (i = 0; i < m->ncodecs; i++) {
            if (m->codec[i].pt == n) {
                *err = "payload type twice on an m= line";
                return -1;
            }
        }

        if (m->ncodecs == NGX_AMS_SDP_MAX_CODECS) {
            *err = "too many payload types in an m= section";
            return -1;
        }

        c = &m->codec[m->ncodecs++];
        c->pt = (uint8_t) n;
    }

    if (m->ncodecs == 0) {
        *err = "no payload type on an m= line";
        return -1;
    }

    return 0;
}


/* a section ends: its candidates are kept when it is the transport's
 * (a fragment's: all of them, those before any section too) */
static int
ngx_ams_sdp_end_section(ngx_ams_sdp_parse_t *ps, const char **err)
{
    unsigned              i, transport;
    ngx_ams_sdp_t        *sdp = ps->sdp;
    ngx_ams_sdp_media_t  *m = ps->m;

    transport = 1;

    if (m) {
        i = (unsigned) (m - sdp->media);
        ps->setup[i] = ps->sec.setup;

        for (transport = 0; transport < i; transport++) {
            if (m->mid[0] && strcmp(sdp->media[transport].mid, m->mid) == 0)
            {
                *err = "two m= sections with one mid";
                return -1;
            }
        }

        if (ps->fragment) {
            transport = 1;

        } else if (sdp->nbundle) {
            transport = (strcmp(m->mid, sdp->bundle[0]) == 0);

        } else {
            transport = (i == 0);
        }
    }

    if (transport && ps->sec.ncandidates) {
        if (sdp->ncandidates + ps->sec.ncandidates
            > NGX_AMS_SDP_MAX_CANDIDATES)
        {
            *err = "too many candidates";
            return -1;
        }

        memcpy(&sdp->candidate[sdp->ncandidates], ps->sec.candidate,
               ps->sec.ncandidates * sizeof(ngx_ams_sdp_candidate_t));
        sdp->ncandidates += ps->sec.ncandidates;
    }

    ps->sec.ncandidates = 0;
    ps->m = NULL;

    return 0;
}


static int
ngx_ams_sdp_attr(ngx_ams_sdp_parse_t *ps, ngx_ams_sdp_str_t v,
    const char **err)
{
    const char         *colon;
    ngx_ams_sdp_t      *sdp = ps->sdp;
    ngx_ams_sdp_str_t   name, val;

    colon = memchr(v.p, ':', v.len);

    name.p = v.p;
    name.len = colon ? (size_t) (colon - v.p) : v.len;
    val.p = colon ? colon + 1 : v.p + v.len;
    val.len = v.len - name.len - (colon ? 1 : 0);

    if (name.len == 0) {
        *err = "empty attribute name";
        return -1;
    }

    if (ngx_ams_sdp_is(name, "ice-ufrag")) {
        return ngx_ams_sdp_ice(ps->m ? ps->m->ice_ufrag : sdp->ice_ufrag,
                               val, 4, "bad ice-ufrag", err);
    }

    if (ngx_ams_sdp_is(name, "ice-pwd")) {
        return ngx_ams_sdp_ice(ps->m ? ps->m->ice_pwd : sdp->ice_pwd,
                               val, 22, "bad ice-pwd", err);
    }

    if (ngx_ams_sdp_is(name, "candidate")) {
        if (ps->m == NULL && !ps->fragment) {
            *err = "a=candidate at session level";
            return -1;
        }

        return ngx_ams_sdp_candidate(&ps->sec, val, err);
    }

    if (ngx_ams_sdp_is(name, "ice-options")) {
        ngx_ams_sdp_str_t  tok;

        /* "trickle ice2" (RFC 8839), "ice2,trickle" (libdatachannel) */
        while (ngx_ams_sdp_token(&val, &tok) == 0) {
            const char  *p, *e = tok.p + tok.len;

            for (p = tok.p; p < e; p = tok.p) {
                tok.p = memchr(p, ',', e - p);
                tok.p = tok.p ? tok.p + 1 : e;

                if ((size_t) (tok.p - p) >= 7 && memcmp(p, "trickle", 7) == 0
                    && (p + 7 == e || p[7] == ','))
                {
                    sdp->ice_trickle = 1;
                }
            }
        }

        return 0;
    }

    if (ngx_ams_sdp_is(name, "mid")) {
        if (ps->m == NULL) {
            /* RFC 8840 fragments have a=mid at the top for one section */
            if (!ps->fragment) {
                *err = "a=mid at session level";
                return -1;
            }

            if (sdp->nmedia == NGX_AMS_SDP_MAX_MEDIA) {
                *err = "too many m= sections";
                return -1;
            }

            ps->m = &sdp->media[sdp->nmedia++];
        }

        if (val.len == 0
            || ngx_ams_sdp_copy(ps->m->mid, sizeof(ps->m->mid), val) != 0
            || memchr(val.p, ' ', val.len))
        {
            *err = "bad mid";
            return -1;
        }

        return 0;
    }

    if (ps->fragment) {
        if (ngx_ams_sdp_is(name, "group") && ps->m == NULL) {
            return ngx_ams_sdp_group(sdp, val, err);
        }

        return 0;
    }

    if (ngx_ams_sdp_is(name, "fingerprint")) {
        return ngx_ams_sdp_fingerprint(ps, val, err);
    }

    if (ngx_ams_sdp_is(name, "setup")) {
        return ngx_ams_sdp_setup(val, ps->m ? &ps->sec.setup : &sdp->setup,
                                 err);
    }

    if (ps->m == NULL) {
        if (ngx_ams_sdp_is(name, "group")) {
            return ngx_ams_sdp_group(sdp, val, err);
        }

        if (ngx_ams_sdp_is(name, "ice-lite")) {
            sdp->ice_lite = 1;
        }

        return 0;
    }

    return ngx_ams_sdp_attr_media(ps, name, val, err);
}


static int
ngx_ams_sdp_attr_media(ngx_ams_sdp_parse_t *ps, ngx_ams_sdp_str_t name,
    ngx_ams_sdp_str_t v, const char **err)
{
    uint32_t              n;
    ngx_ams_sdp_media_t  *m = ps->m;

    if (ngx_ams_sdp_is(name, "rtpmap")) {
        return ngx_ams_sdp_rtpmap(m, v, err);
    }

    if (ngx_ams_sdp_is(name, "fmtp")) {
        return ngx_ams_sdp_fmtp(m, v, err);
    }

    if (ngx_ams_sdp_is(name, "rtcp-fb")) {
        return ngx_ams_sdp_rtcp_fb(m, v, err);
    }

    if (ngx_ams_sdp_is(name, "extmap")) {
        return ngx_ams_sdp_extmap(m, v, err);
    }

    if (ngx_ams_sdp_is(name, "ssrc")) {
        return ngx_ams_sdp_ssrc(m, v, err);
    }

    if (ngx_ams_sdp_is(name, "ssrc-group")) {
        return ngx_ams_sdp_ssrc_group(m, v, err);
    }

    if (ngx_ams_sdp_is(name, "msid")) {
        if (ngx_ams_sdp_copy(m->msid, sizeof(m->msid), v) != 0) {
            *err = "a=msid too long";
            return -1;
        }

        return 0;
    }

    if (ngx_ams_sdp_is(name, "sendrecv")) {
        m->direction = NGX_AMS_SDP_SENDRECV;

    } else if (ngx_ams_sdp_is(name, "sendonly")) {
        m->direction = NGX_AMS_SDP_SENDONLY;

    } else if (ngx_ams_sdp_is(name, "recvonly")) {
        m->direction = NGX_AMS_SDP_RECVONLY;

    } else if (ngx_ams_sdp_is(name, "inactive")) {
        m->direction = NGX_AMS_SDP_INACTIVE;

    } else if (ngx_ams_sdp_is(name, "rtcp-mux")) {
        m->rtcp_mux = 1;

    } else if (ngx_ams_sdp_is(name, "rtcp-rsize")) {
        m->rtcp_rsize = 1;

    } else if (ngx_ams_sdp_is(name, "bundle-only")) {
        m->bundle_only = 1;

    } else if (ngx_ams_sdp_is(name, "sctp-port")) {
        if (ngx_ams_sdp_number(v, 65535, &n) != 0) {
            *err = "bad sctp-port";
            return -1;
        }

        m->sctp_port = (uint16_t) n;

    } else if (ngx_ams_sdp_is(name, "max-message-size")) {
        if (ngx_ams_sdp_number(v, 0xffffffff, &n) != 0) {
            *err = "bad max-message-size";
            return -1;
        }

        m->max_message_size = n;
    }

    return 0;
}


/* a=rtpmap:96 H264/90000, a=rtpmap:111 opus/48000/2 */
static int
ngx_ams_sdp_rtpmap(ngx_ams_sdp_media_t *m, ngx_ams_sdp_str_t v,
    const char **err)
{
    uint32_t              n;
    const char           *slash, *e;
    ngx_ams_sdp_str_t     tok, s;
    ngx_ams_sdp_codec_t  *c;

    if (ngx_ams_sdp_token(&v, &tok) != 0) {
        *err = "bad rtpmap";
        return -1;
    }

    c = ngx_ams_sdp_codec(m, tok, err);
    if (c == NULL) {
        return *err ? -1 : 0;
    }

    if (c->name[0]) {
        *err = "two rtpmaps for a payload type";
        return -1;
    }

    if (ngx_ams_sdp_token(&v, &tok) != 0 || v.len != 0) {
        *err = "bad rtpmap";
        return -1;
    }

    e = tok.p + tok.len;
    slash = memchr(tok.p, '/', tok.len);

    if (slash == NULL) {
        *err = "rtpmap without a clock rate";
        return -1;
    }

    s.p = tok.p;
    s.len = slash - tok.p;

    if (s.len == 0 || ngx_ams_sdp_copy(c->name, sizeof(c->name), s) != 0) {
        *err = "bad rtpmap encoding name";
        return -1;
    }

    s.p = slash + 1;
    slash = memchr(s.p, '/', e - s.p);
    s.len = (slash ? slash : e) - s.p;

    if (ngx_ams_sdp_number(s, 0xffffffff, &n) != 0 || n == 0) {
        *err = "bad rtpmap clock rate";
        return -1;
    }

    c->clock = n;

    if (slash) {
        s.p = slash + 1;
        s.len = e - s.p;

        if (ngx_ams_sdp_number(s, 255, &n) != 0 || n == 0) {
            *err = "bad rtpmap channels";
            return -1;
        }

        c->channels = (uint8_t) n;
    }

    return 0;
}


/* a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-... */
static int
ngx_ams_sdp_fmtp(ngx_ams_sdp_media_t *m, ngx_ams_sdp_str_t v,
    const char **err)
{
    int                   hi, lo;
    size_t                i;
    uint32_t              n;
    const char           *p, *e, *semi, *eq;
    ngx_ams_sdp_str_t     tok, key, val;
    ngx_ams_sdp_codec_t  *c;

    if (ngx_ams_sdp_token(&v, &tok) != 0) {
        *err = "bad fmtp";
        return -1;
    }

    c = ngx_ams_sdp_codec(m, tok, err);
    if (c == NULL) {
        return *err ? -1 : 0;
    }

    if (c->fmtp[0]) {
        *err = "two fmtps for a payload type";
        return -1;
    }

    if (v.len == 0 || ngx_ams_sdp_copy(c->fmtp, sizeof(c->fmtp), v) != 0) {
        *err = "bad or overlong fmtp";
        return -1;
    }

    e = v.p + v.len;

    for (p = v.p; p < e; p = semi + 1) {
        semi = memchr(p, ';', e - p);
        if (semi == NULL) {
            semi = e;
        }

        while (p < semi && *p == ' ') {
            p++;
        }

        eq = memchr(p, '=', semi - p);
        if (eq == NULL) {
            continue;               /* red's "111/111" */
        }

        key.p = p;
        key.len = eq - p;
        val.p = eq + 1;
        val.len = semi - val.p;

        if (ngx_ams_sdp_is_ci(key, "profile-level-id")) {
            if (val.len != 6) {
                *err = "bad profile-level-id";
                return -1;
            }

            n = 0;

            for (i = 0; i < 6; i += 2) {
                hi = ngx_ams_sdp_hex(val.p[i]);
                lo = ngx_ams_sdp_hex(val.p[i + 1]);

                if (hi < 0 || lo < 0) {
                    *err = "bad profile-level-id";
                    return -1;
                }

                n = n << 8 | (uint32_t) (hi << 4 | lo);
            }

            c->profile_level_id = n;

        } else if (ngx_ams_sdp_is_ci(key, "packetization-mode")) {
            if (ngx_ams_sdp_number(val, 2, &n) != 0) {
                *err = "bad packetization-mode";
                return -1;
            }

            c->packetization_mode = (uint8_t) n;

        } else if (ngx_ams_sdp_is_ci(key, "level-asymmetry-allowed")) {
            if (ngx_ams_sdp_number(val, 1, &n) != 0) {
                *err = "bad level-asymmetry-allowed";
                return -1;
            }

            c->level_asymmetry_allowed = (uint8_t) n;

        } else if (ngx_ams_sdp_is_ci(key, "apt")) {
            if (ngx_ams_sdp_number(val, 127, &n) != 0) {
                *err = "bad apt";
                return -1;
            }

            c->rtx_apt = (uint8_t) n;
        }

        if (semi == e) {
            break;
        }
    }

    return 0;
}


/* a=rtcp-fb:96 nack pli, a=rtcp-fb:* transport-cc */
static int
ngx_ams_sdp_rtcp_fb(ngx_ams_sdp_media_t *m, ngx_ams_sdp_str_t v,
    const char **err)
{
    unsigned              i, nack, pli, fir, remb, twcc;
    ngx_ams_sdp_str_t     pt, type, param, rest;
    ngx_ams_sdp_codec_t  *c, *one;

    if (ngx_ams_sdp_token(&v, &pt) != 0 || ngx_ams_sdp_token(&v, &type) != 0)
    {
        *err = "bad rtcp-fb";
        return -1;
    }

    one = NULL;

    if (!ngx_ams_sdp_is(pt, "*")) {
        one = ngx_ams_sdp_codec(m, pt, err);
        if (one == NULL) {
            return *err ? -1 : 0;
        }
    }

    param.len = 0;
    rest = v;
    (void) ngx_ams_sdp_token(&rest, &param);

    nack = ngx_ams_sdp_is(type, "nack") && param.len == 0;
    pli = ngx_ams_sdp_is(type, "nack") && ngx_ams_sdp_is(param, "pli");
    fir = ngx_ams_sdp_is(type, "ccm") && ngx_ams_sdp_is(param, "fir");
    remb = ngx_ams_sdp_is(type, "goog-remb");
    twcc = ngx_ams_sdp_is(type, "transport-cc");

    for (i = 0; i < m->ncodecs; i++) {
        c = &m->codec[i];

        if (one && c != one) {
            continue;
        }

        c->fb_nack |= nack;
        c->fb_nack_pli |= pli;
        c->fb_ccm_fir |= fir;
        c->fb_goog_remb |= remb;
        c->fb_transport_cc |= twcc;
    }

    return 0;
}


/* a=extmap:3 http://... (RFC 8285; a direction after the id) */
static int
ngx_ams_sdp_extmap(ngx_ams_sdp_media_t *m, ngx_ams_sdp_str_t v,
    const char **err)
{
    unsigned               i;
    uint32_t               n;
    const char            *slash;
    ngx_ams_sdp_str_t      tok, uri;
    ngx_ams_sdp_extmap_t  *x;

    if (ngx_ams_sdp_token(&v, &tok) != 0 || ngx_ams_sdp_token(&v, &uri) != 0)
    {
        *err = "bad extmap";
        return -1;
    }

    slash = memchr(tok.p, '/', tok.len);
    if (slash) {
        tok.len = slash - tok.p;
    }

    /* 1-14 one-byte headers, up to 255 two-byte ones; 15 is reserved */
    if (ngx_ams_sdp_number(tok, 255, &n) != 0 || n == 0 || n == 15) {
        *err = "bad extmap id";
        return -1;
    }

    for (i = 0; i < m->nextmaps; i++) {
        if (m->extmap[i].id == n) {
            *err = "two extmaps with one id";
            return -1;
        }
    }

    if (m->nextmaps == NGX_AMS_SDP_MAX_EXTMAPS) {
        *err = "too many extmaps";
        return -1;
    }

    x = &m->extmap[m->nextmaps];

    if (ngx_ams_sdp_copy(x->uri, sizeof(x->uri), uri) != 0) {
        *err = "extmap URI too long";
        return -1;
    }

    x->id = (uint8_t) n;
    m->nextmaps++;

    return 0;
}


static int
ngx_ams_sdp_add_ssrc(ngx_ams_sdp_media_t *m, ngx_ams_sdp_str_t tok,
    uint32_t *ssrc, const char **err)
{
    unsigned  i;

    if (ngx_ams_sdp_number(tok, 0xffffffff, ssrc) != 0) {
        *err = "bad ssrc";
        return -1;
    }

    for (i = 0; i < m->nssrcs; i++) {
        if (m->ssrc[i] == *ssrc) {
            return 0;
        }
    }

    if (m->nssrcs == NGX_AMS_SDP_MAX_SSRCS) {
        *err = "too many ssrcs";
        return -1;
    }

    m->ssrc[m->nssrcs++] = *ssrc;

    return 0;
}


/* a=ssrc:2512249248 cname:BD2HC/5URuXLIM+v */
static int
ngx_ams_sdp_ssrc(ngx_ams_sdp_media_t *m, ngx_ams_sdp_str_t v,
    const char **err)
{
    uint32_t           ssrc;
    ngx_ams_sdp_str_t  tok;

    if (ngx_ams_sdp_token(&v, &tok) != 0) {
        *err = "bad ssrc";
        return -1;
    }

    return ngx_ams_sdp_add_ssrc(m, tok, &ssrc, err);
}


/* a=ssrc-group:FID 966720867 2549678421 (RFC 5576, 4588) */
static int
ngx_ams_sdp_ssrc_group(ngx_ams_sdp_media_t *m, ngx_ams_sdp_str_t v,
    const char **err)
{
    unsigned           i, fid;
    uint32_t           ssrc;
    ngx_ams_sdp_str_t  tok;

    if (ngx_ams_sdp_token(&v, &tok) != 0) {
        *err = "bad ssrc-group";
        return -1;
    }

    fid = ngx_ams_sdp_is(tok, "FID");

    for (i = 0; ngx_ams_sdp_token(&v, &tok) == 0; i++) {
        if (ngx_ams_sdp_add_ssrc(m, tok, &ssrc, err) != 0) {
            return -1;
        }

        if (fid && i == 1 && m->ssrc_rtx == 0) {
            m->ssrc_rtx = ssrc;
        }
    }

    if (i == 0 || (fid && i != 2)) {
        *err = "bad ssrc-group";
        return -1;
    }

    return 0;
}


/* a=candidate:3272064616 1 udp 2122194687 192.0.2.2 44404 typ host ... */
static int
ngx_ams_sdp_candidate(ngx_ams_sdp_section_t *sec, ngx_ams_sdp_str_t v,
    const char **err)
{
    uint32_t                  n;
    ngx_ams_sdp_str_t         tok;
    ngx_ams_sdp_candidate_t   c;

    memset(&c, 0, sizeof(ngx_ams_sdp_candidate_t));

    if (ngx_ams_sdp_token(&v, &tok) != 0 || tok.len == 0
        || ngx_ams_sdp_copy(c.foundation, sizeof(c.foundation), tok) != 0)
    {
        *err = "bad candidate foundation";
        return -1;
    }

    if (ngx_ams_sdp_token(&v, &tok) != 0
        || ngx_ams_sdp_number(tok, 256, &n) != 0 || n == 0)
    {
        *err = "bad candidate component";
        return -1;
    }

    c.component = n;

    if (ngx_ams_sdp_token(&v, &tok) != 0) {
        *err = "bad candidate transport";
        return -1;
    }

    if (ngx_ams_sdp_is_ci(tok, "tcp")) {
        c.tcp = 1;

    } else if (!ngx_ams_sdp_is_ci(tok, "udp")) {
        /* another transport (RFC 8839 allows extensions): not ours */
        return 0;
    }

    if (ngx_ams_sdp_token(&v, &tok) != 0
        || ngx_ams_sdp_number(tok, 0xffffffff, &c.priority) != 0)
    {
        *err = "bad candidate priority";
        return -1;
    }

    if (ngx_ams_sdp_token(&v, &tok) != 0
        || ngx_ams_sdp_copy(c.addr, sizeof(c.addr), tok) != 0)
    {
        *err = "bad candidate address";
        return -1;
    }

    if (ngx_ams_sdp_token(&v, &tok) != 0
        || ngx_ams_sdp_number(tok, 65535, &n) != 0)
    {
        *err = "bad candidate port";
        return -1;
    }

    c.port = (uint16_t) n;

    if (ngx_ams_sdp_token(&v, &tok) != 0 || !ngx_ams_sdp_is(tok, "typ")
        || ngx_ams_sdp_token(&v, &tok) != 0
        || !(ngx_ams_sdp_is(tok, "host") || ngx_ams_sdp_is(tok, "srflx")
             || ngx_ams_sdp_is(tok, "prflx") || ngx_ams_sdp_is(tok, "relay")))
    {
        *err = "bad candidate type";
        return -1;
    }

    (void) ngx_ams_sdp_copy(c.type, sizeof(c.type), tok);

    if (sec->ncandidates == NGX_AMS_SDP_MAX_CANDIDATES) {
        *err = "too many candidates";
        return -1;
    }

    sec->candidate[sec->ncandidates++] = c;

    return 0;
}


/* a=fingerprint:sha-256 1B:8D:... (RFC 8122): sha-256 kept, others
 * checked for form only */
static int
ngx_ams_sdp_fingerprint(ngx_ams_sdp_parse_t *ps, ngx_ams_sdp_str_t v,
    const char **err)
{
    int                hi, lo;
    size_t             i, n;
    uint8_t            fp[64];
    ngx_ams_sdp_t     *sdp = ps->sdp;
    ngx_ams_sdp_str_t  alg, hex;

    if (ngx_ams_sdp_token(&v, &alg) != 0 || ngx_ams_sdp_token(&v, &hex) != 0
        || v.len != 0 || hex.len % 3 != 2 || hex.len > 3 * sizeof(fp))
    {
        *err = "bad fingerprint";
        return -1;
    }

    n = (hex.len + 1) / 3;

    for (i = 0; i < n; i++) {
        hi = ngx_ams_sdp_hex(hex.p[3 * i]);
        lo = ngx_ams_sdp_hex(hex.p[3 * i + 1]);

        if (hi < 0 || lo < 0 || (i + 1 < n && hex.p[3 * i + 2] != ':')) {
            *err = "bad fingerprint";
            return -1;
        }

        fp[i] = (uint8_t) (hi << 4 | lo);
    }

    ps->fingerprints++;

    if (!ngx_ams_sdp_is_ci(alg, "sha-256")) {
        return 0;
    }

    if (n != 32) {
        *err = "bad sha-256 fingerprint";
        return -1;
    }

    if (sdp->has_fingerprint) {
        /* one DTLS transport under BUNDLE: one certificate */
        if (memcmp(sdp->fingerprint, fp, 32) != 0) {
            *err = "two different sha-256 fingerprints";
            return -1;
        }

        return 0;
    }

    memcpy(sdp->fingerprint, fp, 32);
    sdp->has_fingerprint = 1;

    return 0;
}


/* ice-char = ALPHA / DIGIT / "+" / "/" (RFC 8839) */
static int
ngx_ams_sdp_ice(char *dst, ngx_ams_sdp_str_t v, size_t min, const char *what,
    const char **err)
{
    size_t  i;
    char    c;

    if (v.len < min || v.len > NGX_AMS_SDP_ICE_MAX) {
        *err = what;
        return -1;
    }

    for (i = 0; i < v.len; i++) {
        c = v.p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '+' || c == '/'))
        {
            *err = what;
            return -1;
        }
    }

    memcpy(dst, v.p, v.len);
    dst[v.len] = '\0';

    return 0;
}


static int
ngx_ams_sdp_setup(ngx_ams_sdp_str_t v, unsigned *setup, const char **err)
{
    if (ngx_ams_sdp_is(v, "actpass")) {
        *setup = NGX_AMS_SDP_SETUP_ACTPASS;

    } else if (ngx_ams_sdp_is(v, "active")) {
        *setup = NGX_AMS_SDP_SETUP_ACTIVE;

    } else if (ngx_ams_sdp_is(v, "passive")) {
        *setup = NGX_AMS_SDP_SETUP_PASSIVE;

    } else {
        /* holdconn, or garbage */
        *err = "bad setup";
        return -1;
    }

    return 0;
}


/* a=group:BUNDLE 0 1 (RFC 8843); other semantics (LS) are not ours */
static int
ngx_ams_sdp_group(ngx_ams_sdp_t *sdp, ngx_ams_sdp_str_t v, const char **err)
{
    ngx_ams_sdp_str_t  tok;

    if (ngx_ams_sdp_token(&v, &tok) != 0) {
        *err = "bad group";
        return -1;
    }

    if (!ngx_ams_sdp_is(tok, "BUNDLE")) {
        return 0;
    }

    if (sdp->nbundle) {
        *err = "two BUNDLE groups";
        return -1;
    }

    while (ngx_ams_sdp_token(&v, &tok) == 0) {
        if (sdp->nbundle == NGX_AMS_SDP_MAX_MEDIA) {
            *err = "too many mids in BUNDLE";
            return -1;
        }

        if (ngx_ams_sdp_copy(sdp->bundle[sdp->nbundle], NGX_AMS_SDP_TOKEN_MAX,
                             tok)
            != 0)
        {
            *err = "bad mid in BUNDLE";
            return -1;
        }

        sdp->nbundle++;
    }

    if (sdp->nbundle == 0) {
        *err = "empty BUNDLE group";
        return -1;
    }

    return 0;
}


/* the whole description read: the transport's ICE and DTLS */
static int
ngx_ams_sdp_finish(ngx_ams_sdp_parse_t *ps, const char **err)
{
    unsigned              i, j, t;
    ngx_ams_sdp_t        *sdp = ps->sdp;
    ngx_ams_sdp_media_t  *m;

    t = 0;

    for (i = 0; i < sdp->nbundle; i++) {
        for (j = 0; j < sdp->nmedia; j++) {
            if (strcmp(sdp->media[j].mid, sdp->bundle[i]) == 0) {
                break;
            }
        }

        if (j == sdp->nmedia) {
            *err = "BUNDLE names a mid no m= section has";
            return -1;
        }

        if (i == 0) {
            t = j;
        }
    }

    if (sdp->ice_ufrag[0] == '\0' && sdp->nmedia) {
        m = &sdp->media[t];

        for (i = 0; m->ice_ufrag[0] == '\0' && i < sdp->nmedia; i++) {
            m = &sdp->media[i];
        }

        memcpy(sdp->ice_ufrag, m->ice_ufrag, sizeof(sdp->ice_ufrag));

        if (sdp->ice_pwd[0] == '\0') {
            memcpy(sdp->ice_pwd, m->ice_pwd, sizeof(sdp->ice_pwd));
        }
    }

    if (sdp->ice_pwd[0] == '\0' && sdp->nmedia) {
        m = &sdp->media[t];

        for (i = 0; m->ice_pwd[0] == '\0' && i < sdp->nmedia; i++) {
            m = &sdp->media[i];
        }

        memcpy(sdp->ice_pwd, m->ice_pwd, sizeof(sdp->ice_pwd));
    }

    if (sdp->setup == NGX_AMS_SDP_SETUP_NONE && sdp->nmedia) {
        sdp->setup = ps->setup[t];

        for (i = 0; sdp->setup == NGX_AMS_SDP_SETUP_NONE && i < sdp->nmedia;
             i++)
        {
            sdp->setup = ps->setup[i];
        }
    }

    if (sdp->ice_ufrag[0] == '\0') {
        *err = "no ice-ufrag";
        return -1;
    }

    if (sdp->ice_pwd[0] == '\0') {
        *err = "no ice-pwd";
        return -1;
    }

    if (ps->fingerprints == 0) {
        *err = "no fingerprint";
        return -1;
    }

    return 0;
}


/* the next space-separated token of *v; -1 when none is left */
static int
ngx_ams_sdp_token(ngx_ams_sdp_str_t *v, ngx_ams_sdp_str_t *tok)
{
    const char  *p, *e;

    p = v->p;
    e = v->p + v->len;

    while (p < e && *p == ' ') {
        p++;
    }

    if (p == e) {
        v->p = e;
        v->len = 0;
        return -1;
    }

    tok->p = p;

    while (p < e && *p != ' ') {
        p++;
    }

    tok->len = p - tok->p;

    while (p < e && *p == ' ') {
        p++;
    }

    v->p = p;
    v->len = e - p;

    return 0;
}


/* decimal digits only, at most "max" */
static int
ngx_ams_sdp_number(ngx_ams_sdp_str_t s, uint32_t max, uint32_t *n)
{
    size_t    i;
    uint64_t  v;

    if (s.len == 0 || s.len > 10) {
        return -1;
    }

    v = 0;

    for (i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') {
            return -1;
        }

        v = v * 10 + (uint64_t) (s.p[i] - '0');
    }

    if (v > max) {
        return -1;
    }

    *n = (uint32_t) v;

    return 0;
}


static int
ngx_ams_sdp_copy(char *dst, size_t cap, ngx_ams_sdp_str_t s)
{
    if (s.len >= cap) {
        return -1;
    }

    memcpy(dst, s.p, s.len);
    dst[s.len] = '\0';

    return 0;
}


static int
ngx_ams_sdp_is(ngx_ams_sdp_str_t s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}


static int
ngx_ams_sdp_is_ci(ngx_ams_sdp_str_t s, const char *lit)
{
    return s.len == strlen(lit) && strncasecmp(s.p, lit, s.len) == 0;
}


/* the codec of an attribute's payload type: NULL with *err NULL when the
 * m= line does not list it (the attribute is then ignored) */
static ngx_ams_sdp_codec_t *
ngx_ams_sdp_codec(ngx_ams_sdp_media_t *m, ngx_ams_sdp_str_t pt,
    const char **err)
{
    unsigned  i;
    uint32_t  n;

    *err = NULL;

    if (ngx_ams_sdp_number(pt, 127, &n) != 0) {
        *err = "bad payload type in an attribute";
        return NULL;
    }

    for (i = 0; i < m->ncodecs; i++) {
        if (m->codec[i].pt == n) {
            return &m->codec[i];
        }
    }

    return NULL;
}


static int
ngx_ams_sdp_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


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


/* the old application format: the SCTP port, 1..65535 */
static int
ngx_ams_sdp_fmt_port(const char *fmt, uint16_t *port)
{
    uint32_t           n;
    ngx_ams_sdp_str_t  s;

    s.p = fmt;
    s.len = strlen(fmt);

    if (ngx_ams_sdp_number(s, 65535, &n) != 0 || n == 0) {
        return -1;
    }

    *port = (uint16_t) n;

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
