
/*
 * Copyright (C) nginx-ams authors
 *
 * RTCP: the items of a compound (RFC 3550 6.1) or reduced-size (RFC
 * 5506) packet one at a time, each length checked before it is read,
 * and the packets we send, each written whole or not at all.
 */


#include <string.h>

#include "ngx_ams_rtcp.h"


#define NGX_AMS_RTCP_APP            204
#define NGX_AMS_RTCP_FMT_NACK       1
#define NGX_AMS_RTCP_FMT_TWCC       15
#define NGX_AMS_RTCP_FMT_PLI        1
#define NGX_AMS_RTCP_FMT_FIR        4
#define NGX_AMS_RTCP_FMT_AFB        15

#define NGX_AMS_RTCP_REPORT_LEN     24
#define NGX_AMS_RTCP_SENDER_INFO    20

/* seconds from 1900 (NTP's era 0) to 1970 */
#define NGX_AMS_RTCP_NTP_UNIX       2208988800ULL

#define NGX_AMS_RTCP_REMB_MANTISSA  0x3ffff     /* 18 bits */


static int ngx_ams_rtcp_reports(const uint8_t *p, size_t len, unsigned n,
    ngx_ams_rtcp_item_t *item);
static int ngx_ams_rtcp_sdes(const uint8_t *p, size_t len, unsigned n);
static int ngx_ams_rtcp_rtpfb(const uint8_t *p, size_t len,
    ngx_ams_rtcp_item_t *item);
static int ngx_ams_rtcp_psfb(const uint8_t *p, size_t len,
    ngx_ams_rtcp_item_t *item);
static uint8_t *ngx_ams_rtcp_header(uint8_t *p, unsigned count, unsigned pt,
    size_t len);
static uint8_t *ngx_ams_rtcp_w32(uint8_t *p, uint32_t v);


static uint32_t
ngx_ams_rtcp_r32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


static uint16_t
ngx_ams_rtcp_r16(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}


int
ngx_ams_rtcp_is_rtcp(const uint8_t *p, size_t len)
{
    return len >= 2 && p[1] >= 192 && p[1] <= 223;
}


void
ngx_ams_rtcp_iter_init(ngx_ams_rtcp_iter_t *it, const uint8_t *p, size_t len)
{
    it->p = p;
    it->end = p + len;
}


int
ngx_ams_rtcp_next(ngx_ams_rtcp_iter_t *it, ngx_ams_rtcp_item_t *item)
{
    size_t          left, total, len, pad;
    unsigned        count;
    const uint8_t  *p, *body;

    if (it->p == it->end) {
        return 0;
    }

    p = it->p;
    left = it->end - p;

    /* from here on a failure stops the iteration for good */
    it->p = it->end;

    if (left < 4 || p[0] >> 6 != 2 || p[1] < 192 || p[1] > 223) {
        return -1;
    }

    total = ((size_t) ngx_ams_rtcp_r16(p + 2) + 1) * 4;

    if (total > left) {
        return -1;
    }

    body = p + 4;
    len = total - 4;

    if (p[0] & 0x20) {
        /* the count includes itself, and padding is whole words of a
         * packet that has some body left (RFC 3550 6.4.1) */
        pad = p[total - 1];

        if (pad == 0 || pad > len) {
            return -1;
        }

        len -= pad;
    }

    memset(item, 0, sizeof(ngx_ams_rtcp_item_t));

    count = p[0] & 0x1f;
    item->type = p[1];
    item->fmt = (uint8_t) count;

    switch (item->type) {

    case NGX_AMS_RTCP_SR:
        if (len < 4 + NGX_AMS_RTCP_SENDER_INFO) {
            return -1;
        }

        item->sender_ssrc = ngx_ams_rtcp_r32(body);
        item->ntp = (uint64_t) ngx_ams_rtcp_r32(body + 4) << 32
                    | ngx_ams_rtcp_r32(body + 8);
        item->rtp_ts = ngx_ams_rtcp_r32(body + 12);
        item->packets = ngx_ams_rtcp_r32(body + 16);
        item->octets = ngx_ams_rtcp_r32(body + 20);

        if (ngx_ams_rtcp_reports(body + 24, len - 24, count, item) != 0) {
            return -1;
        }

        break;

    case NGX_AMS_RTCP_RR:
        if (len < 4) {
            return -1;
        }

        item->sender_ssrc = ngx_ams_rtcp_r32(body);

        if (ngx_ams_rtcp_reports(body + 4, len - 4, count, item) != 0) {
            return -1;
        }

        break;

    case NGX_AMS_RTCP_SDES:
        if (ngx_ams_rtcp_sdes(body, len, count) != 0) {
            return -1;
        }

        if (count) {
            item->sender_ssrc = ngx_ams_rtcp_r32(body);
        }

        break;

    case NGX_AMS_RTCP_BYE:
        if (len < 4 * (size_t) count) {
            return -1;
        }

        /* an optional reason: a length byte and that many bytes */
        if (len > 4 * (size_t) count
            && (size_t) body[4 * count] + 1 > len - 4 * (size_t) count)
        {
            return -1;
        }

        if (count) {
            item->sender_ssrc = ngx_ams_rtcp_r32(body);
        }

        break;

    case NGX_AMS_RTCP_APP:
        /* SSRC and a four-character name */
        if (len < 8) {
            return -1;
        }

        item->sender_ssrc = ngx_ams_rtcp_r32(body);
        break;

    case NGX_AMS_RTCP_RTPFB:
        if (ngx_ams_rtcp_rtpfb(body, len, item) != 0) {
            return -1;
        }

        break;

    case NGX_AMS_RTCP_PSFB:
        if (ngx_ams_rtcp_psfb(body, len, item) != 0) {
            return -1;
        }

        break;

    default:
        /* XR (207) and the rest: whatever they carry, an SSRC first */
        if (len >= 4) {
            item->sender_ssrc = ngx_ams_rtcp_r32(body);
        }

        break;
    }

    it->p = p + total;

    return 1;
}


static int
ngx_ams_rtcp_reports(const uint8_t *p, size_t len, unsigned n,
    ngx_ams_rtcp_item_t *item)
{
    unsigned                i;
    uint32_t                lost;
    ngx_ams_rtcp_report_t  *r;

    /* what follows the blocks is a profile's extension: ours has none */
    if (len < (size_t) n * NGX_AMS_RTCP_REPORT_LEN) {
        return -1;
    }

    for (i = 0; i < n; i++, p += NGX_AMS_RTCP_REPORT_LEN) {
        r = &item->report[i];

        r->ssrc = ngx_ams_rtcp_r32(p);
        r->fraction_lost = p[4];

        /* 24 bits, signed: duplicates can make it negative */
        lost = (uint32_t) p[5] << 16 | (uint32_t) p[6] << 8 | p[7];
        r->cumulative_lost = (lost & 0x800000)
                             ? (int32_t) lost - 0x1000000 : (int32_t) lost;

        r->highest_seq = ngx_ams_rtcp_r32(p + 8);
        r->jitter = ngx_ams_rtcp_r32(p + 12);
        r->lsr = ngx_ams_rtcp_r32(p + 16);
        r->dlsr = ngx_ams_rtcp_r32(p + 20);
    }

    item->nreports = n;

    return 0;
}


/* chunks: an SSRC, items (type, length, text) up to a 0 type, then 0s
 * up to the next 32-bit boundary (RFC 3550 6.5) */

static int
ngx_ams_rtcp_sdes(const uint8_t *p, size_t len, unsigned n)
{
    size_t    i;
    unsigned  c;

    i = 0;

    for (c = 0; c < n; c++) {
        if (len - i < 4) {
            return -1;
        }

        i += 4;

        for ( ;; ) {
            if (i >= len) {
                return -1;
            }

            if (p[i] == 0) {
                break;
            }

            if (len - i < 2 || (size_t) p[i + 1] > len - i - 2) {
                return -1;
            }

            i += 2 + p[i + 1];
        }

        /* the end of the list, then to the boundary */
        i = (i + 4) & ~(size_t) 3;

        if (i > len) {
            return -1;
        }
    }

    return 0;
}


static int
ngx_ams_rtcp_rtpfb(const uint8_t *p, size_t len, ngx_ams_rtcp_item_t *item)
{
    size_t    i;
    unsigned  b;
    uint16_t  pid, blp;

    if (len < 8) {
        return -1;
    }

    item->sender_ssrc = ngx_ams_rtcp_r32(p);
    item->media_ssrc = ngx_ams_rtcp_r32(p + 4);

    switch (item->fmt) {

    case NGX_AMS_RTCP_FMT_NACK:
        /* at least one FCI entry (RFC 4585 6.2.1) */
        if (len < 12) {
            return -1;
        }

        for (i = 8; i + 4 <= len; i += 4) {
            pid = ngx_ams_rtcp_r16(p + i);
            blp = ngx_ams_rtcp_r16(p + i + 2);

            if (item->nnacks == NGX_AMS_RTCP_MAX_NACKS) {
                break;
            }

            item->nack[item->nnacks++] = pid;

            for (b = 0; b < 16; b++) {
                if (!(blp & (1u << b))) {
                    continue;
                }

                if (item->nnacks == NGX_AMS_RTCP_MAX_NACKS) {
                    break;
                }

                item->nack[item->nnacks++] = (uint16_t) (pid + b + 1);
            }
        }

        break;

    case NGX_AMS_RTCP_FMT_TWCC:
        /* base sequence, status count, reference time, feedback count:
         * recognised, read by whoever sends with transport-cc */
        if (len < 16) {
            return -1;
        }

        break;

    default:
        break;
    }

    return 0;
}


static int
ngx_ams_rtcp_psfb(const uint8_t *p, size_t len, ngx_ams_rtcp_item_t *item)
{
    size_t    i;
    unsigned  n, exp;
    uint64_t  mantissa;

    if (len < 8) {
        return -1;
    }

    item->sender_ssrc = ngx_ams_rtcp_r32(p);
    item->media_ssrc = ngx_ams_rtcp_r32(p + 4);

    switch (item->fmt) {

    case NGX_AMS_RTCP_FMT_PLI:
        break;

    case NGX_AMS_RTCP_FMT_FIR:
        /* entries of SSRC, command sequence number, 24 reserved bits;
         * the header's media SSRC is unused (RFC 5104 4.3.1.2) */
        if (len < 16) {
            return -1;
        }

        item->media_ssrc = ngx_ams_rtcp_r32(p + 8);
        item->fir_seq = p[12];

        for (i = 8; i + 8 <= len && item->nfirs < 8; i += 8) {
            item->fir_ssrc[item->nfirs] = ngx_ams_rtcp_r32(p + i);
            item->fir_seqs[item->nfirs] = p[i + 4];
            item->nfirs++;
        }

        break;

    case NGX_AMS_RTCP_FMT_AFB:
        /* application layer feedback: only Google's REMB is read */
        if (len < 12 || memcmp(p + 8, "REMB", 4) != 0) {
            break;
        }

        if (len < 16) {
            return -1;
        }

        n = p[12];
        exp = p[13] >> 2;
        mantissa = (uint64_t) (p[13] & 3) << 16
                   | (uint64_t) p[14] << 8 | p[15];

        if (len - 16 < (size_t) n * 4) {
            return -1;
        }

        /* a bitrate past 64 bits is no bitrate */
        if (exp > 63 || ((mantissa << exp) >> exp) != mantissa) {
            return -1;
        }

        item->remb_bitrate = mantissa << exp;

        for (i = 0; i < n && i < 8; i++) {
            item->remb_ssrc[i] = ngx_ams_rtcp_r32(p + 16 + 4 * i);
        }

        item->nremb_ssrcs = n < 8 ? n : 8;

        break;

    default:
        break;
    }

    return 0;
}


static uint8_t *
ngx_ams_rtcp_header(uint8_t *p, unsigned count, unsigned pt, size_t len)
{
    size_t  words;

    words = len / 4 - 1;

    p[0] = (uint8_t) (0x80 | count);
    p[1] = (uint8_t) pt;
    p[2] = (uint8_t) (words >> 8);
    p[3] = (uint8_t) words;

    return p + 4;
}


static uint8_t *
ngx_ams_rtcp_w32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;

    return p + 4;
}


size_t
ngx_ams_rtcp_write_sr(uint8_t *p, size_t cap, uint32_t ssrc, uint64_t ntp,
    uint32_t rtp_ts, uint32_t packets, uint32_t octets)
{
    size_t  len;

    len = 4 + 4 + NGX_AMS_RTCP_SENDER_INFO;

    if (cap < len) {
        return 0;
    }

    p = ngx_ams_rtcp_header(p, 0, NGX_AMS_RTCP_SR, len);
    p = ngx_ams_rtcp_w32(p, ssrc);
    p = ngx_ams_rtcp_w32(p, (uint32_t) (ntp >> 32));
    p = ngx_ams_rtcp_w32(p, (uint32_t) ntp);
    p = ngx_ams_rtcp_w32(p, rtp_ts);
    p = ngx_ams_rtcp_w32(p, packets);
    (void) ngx_ams_rtcp_w32(p, octets);

    return len;
}


size_t
ngx_ams_rtcp_write_rr(uint8_t *p, size_t cap, uint32_t ssrc,
    const ngx_ams_rtcp_report_t *reports, unsigned n)
{
    size_t    len;
    unsigned  i;
    uint32_t  lost;

    len = 8 + (size_t) n * NGX_AMS_RTCP_REPORT_LEN;

    if (n > NGX_AMS_RTCP_MAX_REPORTS || cap < len) {
        return 0;
    }

    p = ngx_ams_rtcp_header(p, n, NGX_AMS_RTCP_RR, len);
    p = ngx_ams_rtcp_w32(p, ssrc);

    for (i = 0; i < n; i++) {
        p = ngx_ams_rtcp_w32(p, reports[i].ssrc);

        /* 24 bits, signed, clamped (RFC 3550 6.4.1) */
        if (reports[i].cumulative_lost > 0x7fffff) {
            lost = 0x7fffff;

        } else if (reports[i].cumulative_lost < -0x800000) {
            lost = 0x800000;

        } else {
            lost = (uint32_t) reports[i].cumulative_lost & 0xffffff;
        }

        p = ngx_ams_rtcp_w32(p, (uint32_t) reports[i].fraction_lost << 24
                                | lost);
        p = ngx_ams_rtcp_w32(p, reports[i].highest_seq);
        p = ngx_ams_rtcp_w32(p, reports[i].jitter);
        p = ngx_ams_rtcp_w32(p, reports[i].lsr);
        p = ngx_ams_rtcp_w32(p, reports[i].dlsr);
    }

    return len;
}


size_t
ngx_ams_rtcp_write_sdes_cname(uint8_t *p, size_t cap, uint32_t ssrc,
    const char *cname)
{
    size_t  n, len, chunk;

    n = strlen(cname);

    if (n > 255) {
        return 0;
    }

    /* SSRC, CNAME item, at least one 0 ending the list, to a boundary */
    chunk = (4 + 2 + n + 1 + 3) & ~(size_t) 3;
    len = 4 + chunk;

    if (cap < len) {
        return 0;
    }

    memset(p, 0, len);

    p = ngx_ams_rtcp_header(p, 1, NGX_AMS_RTCP_SDES, len);
    p = ngx_ams_rtcp_w32(p, ssrc);
    p[0] = 1;                                   /* CNAME */
    p[1] = (uint8_t) n;
    memcpy(p + 2, cname, n);

    return len;
}


/*
 * The lost sequence numbers, any order, duplicates allowed: a bit each
 * in a map of all 65536, counted from the point opposite the first one
 * (so that a run across 65535 -> 0 stays in one PID+BLP), then read in
 * that order, each PID taking the 16 that follow it into its BLP.
 */

size_t
ngx_ams_rtcp_write_nack(uint8_t *p, size_t cap, uint32_t sender,
    uint32_t media, const uint16_t *seqs, unsigned n)
{
    size_t     len;
    uint8_t   *fci;
    uint16_t   start, pid, blp;
    unsigned   i, w, b, k;
    uint64_t   map[65536 / 64];

    if (n == 0 || cap < 16) {
        return 0;
    }

    memset(map, 0, sizeof(map));

    start = (uint16_t) (seqs[0] + 32768);

    for (i = 0; i < n; i++) {
        k = (uint16_t) (seqs[i] - start);
        map[k >> 6] |= 1ULL << (k & 63);
    }

    fci = p + 12;
    len = 12;

    for (w = 0; w < 65536 / 64; w++) {

        while (map[w]) {
            k = w * 64 + (unsigned) __builtin_ctzll(map[w]);
            map[w] &= map[w] - 1;

            blp = 0;

            for (b = 0; b < 16 && k + b + 1 < 65536; b++) {
                i = k + b + 1;

                if (map[i >> 6] & (1ULL << (i & 63))) {
                    map[i >> 6] &= ~(1ULL << (i & 63));
                    blp |= (uint16_t) (1u << b);
                }
            }

            /* the length field counts 32-bit words in 16 bits */
            if (cap - len < 4 || (len + 4) / 4 - 1 > 0xffff) {
                return 0;
            }

            pid = (uint16_t) (k + start);

            fci[0] = (uint8_t) (pid >> 8);
            fci[1] = (uint8_t) pid;
            fci[2] = (uint8_t) (blp >> 8);
            fci[3] = (uint8_t) blp;
            fci += 4;
            len += 4;
        }
    }

    p = ngx_ams_rtcp_header(p, NGX_AMS_RTCP_FMT_NACK, NGX_AMS_RTCP_RTPFB,
                            len);
    p = ngx_ams_rtcp_w32(p, sender);
    (void) ngx_ams_rtcp_w32(p, media);

    return len;
}


size_t
ngx_ams_rtcp_write_pli(uint8_t *p, size_t cap, uint32_t sender,
    uint32_t media)
{
    if (cap < 12) {
        return 0;
    }

    p = ngx_ams_rtcp_header(p, NGX_AMS_RTCP_FMT_PLI, NGX_AMS_RTCP_PSFB, 12);
    p = ngx_ams_rtcp_w32(p, sender);
    (void) ngx_ams_rtcp_w32(p, media);

    return 12;
}


size_t
ngx_ams_rtcp_write_fir(uint8_t *p, size_t cap, uint32_t sender,
    uint32_t media, uint8_t seq)
{
    if (cap < 20) {
        return 0;
    }

    p = ngx_ams_rtcp_header(p, NGX_AMS_RTCP_FMT_FIR, NGX_AMS_RTCP_PSFB, 20);
    p = ngx_ams_rtcp_w32(p, sender);
    p = ngx_ams_rtcp_w32(p, 0);                 /* RFC 5104 4.3.1.2 */
    p = ngx_ams_rtcp_w32(p, media);
    (void) ngx_ams_rtcp_w32(p, (uint32_t) seq << 24);

    return 20;
}


size_t
ngx_ams_rtcp_write_remb(uint8_t *p, size_t cap, uint32_t sender,
    uint64_t bitrate, const uint32_t *ssrcs, unsigned n)
{
    size_t    len;
    unsigned  i, exp;

    len = 20 + 4 * (size_t) n;

    if (n > 255 || cap < len) {
        return 0;
    }

    /* the bitrate as mantissa << exp, rounded down, as libwebrtc does */
    for (exp = 0; bitrate > NGX_AMS_RTCP_REMB_MANTISSA; exp++) {
        bitrate >>= 1;
    }

    p = ngx_ams_rtcp_header(p, NGX_AMS_RTCP_FMT_AFB, NGX_AMS_RTCP_PSFB, len);
    p = ngx_ams_rtcp_w32(p, sender);
    p = ngx_ams_rtcp_w32(p, 0);
    memcpy(p, "REMB", 4);
    p += 4;

    p[0] = (uint8_t) n;
    p[1] = (uint8_t) (exp << 2 | (unsigned) (bitrate >> 16));
    p[2] = (uint8_t) (bitrate >> 8);
    p[3] = (uint8_t) bitrate;
    p += 4;

    for (i = 0; i < n; i++) {
        p = ngx_ams_rtcp_w32(p, ssrcs[i]);
    }

    return len;
}


uint64_t
ngx_ams_rtcp_ntp(uint64_t unix_usec)
{
    uint64_t  sec, frac;

    sec = unix_usec / 1000000 + NGX_AMS_RTCP_NTP_UNIX;
    frac = ((unix_usec % 1000000) << 32) / 1000000;

    return sec << 32 | frac;
}
