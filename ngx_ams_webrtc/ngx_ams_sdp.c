
/*
 * Copyright (C) nginx-ams authors
 *
 * SDP offer/answer for WebRTC: the parser of what a peer sends (an
 * offer, an answer to our offer, a trickle fragment).  What we take from
 * it and what we write back are in ngx_ams_sdp_answer.c.
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


/* the old application format: the SCTP port, 1..65535 */
int
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
