
/*
 * Copyright (C) nginx-ams authors
 *
 * RTP packets (RFC 3550 5.1) and their header extensions (RFC 8285),
 * sequence number arithmetic, and the history NACKs are answered from.
 * Every length is checked against the bytes received before it is used:
 * these are a peer's bytes.
 */


#include <stdlib.h>
#include <string.h>

#include "ngx_ams_rtp.h"


#define NGX_AMS_RTP_EXT_ONE_BYTE    0xBEDE
/* the two-byte form: 0x100 in the top 12 bits, "appbits" in the low 4 */
#define NGX_AMS_RTP_EXT_TWO_BYTE    0x1000
#define NGX_AMS_RTP_EXT_TWO_MASK    0xFFF0


struct ngx_ams_rtp_history_s {
    unsigned            mask;
    uint8_t            *data;              /* slots * MAX_PACKET */
    struct {
        uint16_t        seq;
        uint16_t        len;                /* 0: empty */
    }                  *slot;
};


static uint16_t
ngx_ams_rtp_r16(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}


static uint32_t
ngx_ams_rtp_r32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


int
ngx_ams_rtp_parse(const uint8_t *p, size_t len, ngx_ams_rtp_header_t *h)
{
    size_t  hl, words, pad;

    memset(h, 0, sizeof(ngx_ams_rtp_header_t));

    if (len < NGX_AMS_RTP_HEADER_LEN || p[0] >> 6 != 2) {
        return -1;
    }

    h->version = 2;
    h->padding = (p[0] >> 5) & 1;
    h->extension = (p[0] >> 4) & 1;
    h->csrc_count = p[0] & 0x0f;
    h->marker = p[1] >> 7;
    h->pt = p[1] & 0x7f;
    h->seq = ngx_ams_rtp_r16(p + 2);
    h->ts = ngx_ams_rtp_r32(p + 4);
    h->ssrc = ngx_ams_rtp_r32(p + 8);

    hl = NGX_AMS_RTP_HEADER_LEN + 4 * (size_t) h->csrc_count;

    if (hl > len) {
        return -1;
    }

    if (h->extension) {
        if (hl + 4 > len) {
            return -1;
        }

        h->ext_profile = ngx_ams_rtp_r16(p + hl);
        words = ngx_ams_rtp_r16(p + hl + 2);
        hl += 4;

        if (words * 4 > len - hl) {
            return -1;
        }

        h->ext = p + hl;
        h->ext_len = words * 4;
        hl += words * 4;
    }

    pad = 0;

    if (h->padding) {
        /* the count includes itself (RFC 3550 5.1), so 0 is no count */
        pad = p[len - 1];

        if (pad == 0 || pad > len - hl) {
            return -1;
        }
    }

    h->header_len = hl;
    h->payload = p + hl;
    h->payload_len = len - hl - pad;

    return 0;
}


int
ngx_ams_rtp_ext_find(const ngx_ams_rtp_header_t *h, unsigned id,
    const uint8_t **data, size_t *len)
{
    size_t          i, n;
    unsigned        eid;
    const uint8_t  *e;

    if (h->ext == NULL || id == 0) {
        return 0;
    }

    e = h->ext;
    n = h->ext_len;

    if (h->ext_profile == NGX_AMS_RTP_EXT_ONE_BYTE) {
        if (id > 14) {
            return 0;
        }

        for (i = 0; i < n; /* void */) {
            eid = e[i] >> 4;

            if (eid == 0) {
                /* padding: a single 0 byte (its length bits ignored) */
                i++;
                continue;
            }

            if (eid == 15) {
                return 0;
            }

            if ((size_t) (e[i] & 0x0f) + 1 > n - i - 1) {
                return 0;
            }

            if (eid == id) {
                *data = e + i + 1;
                *len = (e[i] & 0x0f) + 1;
                return 1;
            }

            i += 1 + (e[i] & 0x0f) + 1;
        }

        return 0;
    }

    if ((h->ext_profile & NGX_AMS_RTP_EXT_TWO_MASK)
        == NGX_AMS_RTP_EXT_TWO_BYTE)
    {
        if (id > 255) {
            return 0;
        }

        for (i = 0; i < n; /* void */) {
            eid = e[i];

            if (eid == 0) {
                i++;
                continue;
            }

            if (n - i < 2 || e[i + 1] > n - i - 2) {
                return 0;
            }

            if (eid == id) {
                *data = e + i + 2;
                *len = e[i + 1];
                return 1;
            }

            i += 2 + e[i + 1];
        }
    }

    /* a profile RFC 8285 does not define: nothing we can read */
    return 0;
}


size_t
ngx_ams_rtp_write_header(uint8_t *p, uint8_t pt, unsigned marker,
    uint16_t seq, uint32_t ts, uint32_t ssrc, const uint8_t *ext,
    size_t ext_len)
{
    size_t  words, hl;

    p[0] = 0x80 | (ext_len ? 0x10 : 0);
    p[1] = (uint8_t) ((marker ? 0x80 : 0) | (pt & 0x7f));
    p[2] = (uint8_t) (seq >> 8);
    p[3] = (uint8_t) seq;
    p[4] = (uint8_t) (ts >> 24);
    p[5] = (uint8_t) (ts >> 16);
    p[6] = (uint8_t) (ts >> 8);
    p[7] = (uint8_t) ts;
    p[8] = (uint8_t) (ssrc >> 24);
    p[9] = (uint8_t) (ssrc >> 16);
    p[10] = (uint8_t) (ssrc >> 8);
    p[11] = (uint8_t) ssrc;

    if (ext_len == 0) {
        return NGX_AMS_RTP_HEADER_LEN;
    }

    words = (ext_len + 3) / 4;

    p[12] = NGX_AMS_RTP_EXT_ONE_BYTE >> 8;
    p[13] = NGX_AMS_RTP_EXT_ONE_BYTE & 0xff;
    p[14] = (uint8_t) (words >> 8);
    p[15] = (uint8_t) words;

    hl = NGX_AMS_RTP_HEADER_LEN + 4;

    /* memmove: a caller may have encoded the elements in place */
    memmove(p + hl, ext, ext_len);
    memset(p + hl + ext_len, 0, words * 4 - ext_len);

    return hl + words * 4;
}


size_t
ngx_ams_rtp_ext_put(uint8_t *p, unsigned id, const uint8_t *data,
    size_t len)
{
    if (id < 1 || id > 14 || len < 1 || len > 16) {
        return 0;
    }

    p[0] = (uint8_t) (id << 4 | (len - 1));
    memcpy(p + 1, data, len);

    return 1 + len;
}


int32_t
ngx_ams_rtp_seq_diff(uint16_t a, uint16_t b)
{
    return (int16_t) (uint16_t) (a - b);
}


uint64_t
ngx_ams_rtp_seq_extend(ngx_ams_rtp_seq_ext_t *e, uint16_t seq)
{
    int32_t   d;
    uint64_t  ext;

    if (!e->started) {
        e->started = 1;
        e->highest = seq;
        return seq;
    }

    d = ngx_ams_rtp_seq_diff(seq, (uint16_t) e->highest);

    /* unsigned arithmetic: below zero wraps, and reads back as int64_t */
    ext = e->highest + (uint64_t) (int64_t) d;

    if (d > 0) {
        e->highest = ext;
    }

    return ext;
}


ngx_ams_rtp_history_t *
ngx_ams_rtp_history_create(unsigned slots)
{
    ngx_ams_rtp_history_t  *hi;

    /* a power of two, and no more slots than sequence numbers */
    if (slots == 0 || (slots & (slots - 1)) || slots > 65536) {
        return NULL;
    }

    hi = calloc(1, sizeof(ngx_ams_rtp_history_t));
    if (hi == NULL) {
        return NULL;
    }

    hi->mask = slots - 1;
    hi->slot = calloc(slots, sizeof(hi->slot[0]));
    hi->data = malloc((size_t) slots * NGX_AMS_RTP_MAX_PACKET);

    if (hi->slot == NULL || hi->data == NULL) {
        ngx_ams_rtp_history_free(hi);
        return NULL;
    }

    return hi;
}


void
ngx_ams_rtp_history_put(ngx_ams_rtp_history_t *hi, uint16_t seq,
    const uint8_t *p, size_t len)
{
    unsigned  i;

    i = seq & hi->mask;

    if (len == 0 || len > NGX_AMS_RTP_MAX_PACKET) {
        /* not kept: what the slot held is older, and must not be sent
         * for this sequence number either */
        hi->slot[i].len = 0;
        return;
    }

    memcpy(hi->data + (size_t) i * NGX_AMS_RTP_MAX_PACKET, p, len);
    hi->slot[i].seq = seq;
    hi->slot[i].len = (uint16_t) len;
}


const uint8_t *
ngx_ams_rtp_history_get(ngx_ams_rtp_history_t *hi, uint16_t seq,
    size_t *len)
{
    unsigned  i;

    i = seq & hi->mask;

    if (hi->slot[i].len == 0 || hi->slot[i].seq != seq) {
        return NULL;
    }

    *len = hi->slot[i].len;

    return hi->data + (size_t) i * NGX_AMS_RTP_MAX_PACKET;
}


void
ngx_ams_rtp_history_free(ngx_ams_rtp_history_t *hi)
{
    if (hi == NULL) {
        return;
    }

    free(hi->slot);
    free(hi->data);
    free(hi);
}
