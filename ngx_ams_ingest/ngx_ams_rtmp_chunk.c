
/*
 * Copyright (C) nginx-ams authors
 */


#include <stdlib.h>
#include <string.h>

#include "ngx_ams_rtmp_chunk.h"


static uint32_t
ngx_ams_be24(const uint8_t *p)
{
    return ((uint32_t) p[0] << 16) | ((uint32_t) p[1] << 8) | p[2];
}


static uint32_t
ngx_ams_be32(const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


void
ngx_ams_rtmp_chunk_init(ngx_ams_rtmp_chunk_parser_t *p, uint32_t max_message,
    ngx_ams_rtmp_msg_pt handler, void *ctx)
{
    memset(p, 0, sizeof(ngx_ams_rtmp_chunk_parser_t));

    p->chunk_size = NGX_AMS_RTMP_DEFAULT_CHUNK;
    p->max_message = max_message;
    p->max_buffered = (size_t) -1;
    p->handler = handler;
    p->ctx = ctx;
}


void
ngx_ams_rtmp_chunk_limits(ngx_ams_rtmp_chunk_parser_t *p,
    uint32_t max_message, size_t max_buffered, size_t *total,
    size_t max_total)
{
    if (p->total != total) {
        if (p->total) {
            *p->total -= p->buffered;
        }

        if (total) {
            *total += p->buffered;
        }
    }

    p->max_message = max_message;
    p->max_buffered = max_buffered;
    p->total = total;
    p->max_total = max_total;
}


void
ngx_ams_rtmp_chunk_group(ngx_ams_rtmp_chunk_parser_t *p, size_t *group,
    size_t max_group)
{
    if (p->group != group) {
        if (p->group) {
            *p->group -= p->buffered;
        }

        if (group) {
            *group += p->buffered;
        }
    }

    p->group = group;
    p->max_group = max_group;
}


static void
ngx_ams_rtmp_cs_release(ngx_ams_rtmp_chunk_parser_t *p, ngx_ams_rtmp_cs_t *cs)
{
    p->buffered -= cs->cap;

    if (p->total) {
        *p->total -= cs->cap;
    }

    if (p->group) {
        *p->group -= cs->cap;
    }

    free(cs->buf);
    cs->buf = NULL;
    cs->cap = 0;
}


void
ngx_ams_rtmp_chunk_free(ngx_ams_rtmp_chunk_parser_t *p)
{
    unsigned  i;

    for (i = 0; i < NGX_AMS_RTMP_CSID_STATES; i++) {
        ngx_ams_rtmp_cs_release(p, &p->cs[i]);
    }
}


void
ngx_ams_rtmp_chunk_trim(ngx_ams_rtmp_chunk_parser_t *p)
{
    unsigned  i;

    for (i = 0; i < NGX_AMS_RTMP_CSID_STATES; i++) {
        /* the last chunk's stream keeps its buffer: its message may be
         * the one being handled */
        if (p->cs[i].got == 0 && p->cur != &p->cs[i]) {
            ngx_ams_rtmp_cs_release(p, &p->cs[i]);
        }
    }
}


static ngx_ams_rtmp_cs_t *
ngx_ams_rtmp_chunk_stream(ngx_ams_rtmp_chunk_parser_t *p, uint32_t csid)
{
    unsigned            i;
    ngx_ams_rtmp_cs_t  *free_cs = NULL;

    for (i = 0; i < NGX_AMS_RTMP_CSID_STATES; i++) {
        if (p->cs[i].used && p->cs[i].csid == csid) {
            return &p->cs[i];
        }

        if (!p->cs[i].used && free_cs == NULL) {
            free_cs = &p->cs[i];
        }
    }

    if (free_cs) {
        free_cs->used = 1;
        free_cs->csid = csid;
    }

    return free_cs;
}


/* how many header bytes this chunk needs, given what has arrived */

static uint32_t
ngx_ams_rtmp_header_need(ngx_ams_rtmp_chunk_parser_t *p, uint32_t *basic,
    uint32_t *csid)
{
    static const uint32_t  mh[4] = { 11, 7, 3, 0 };

    uint32_t            fmt, need;
    ngx_ams_rtmp_cs_t  *cs;

    fmt = p->hdr[0] >> 6;

    switch (p->hdr[0] & 0x3f) {
    case 0:
        *basic = 2;
        break;
    case 1:
        *basic = 3;
        break;
    default:
        *basic = 1;
    }

    need = *basic + mh[fmt];

    if (p->hdr_len < need) {
        return need;
    }

    switch (*basic) {
    case 2:
        *csid = 64 + p->hdr[1];
        break;
    case 3:
        *csid = 64 + p->hdr[1] + ((uint32_t) p->hdr[2] << 8);
        break;
    default:
        *csid = p->hdr[0] & 0x3f;
    }

    if (fmt < 3) {
        if (ngx_ams_be24(p->hdr + *basic) == 0xffffff) {
            need += 4;
        }

    } else {
        cs = ngx_ams_rtmp_chunk_stream(p, *csid);
        if (cs && cs->ext) {
            need += 4;
        }
    }

    return need;
}


/*
 * Whether grow more bytes fit every limit.  A limit about to be passed
 * first costs the parser its idle buffers (chunk streams between
 * messages, but cs, about to grow): what it holds then is only what is
 * still arriving.  The worker's total may then be made room in by the
 * reclaim callback (other parsers' buffers freed).
 */

static int
ngx_ams_rtmp_chunk_room(ngx_ams_rtmp_chunk_parser_t *p, ngx_ams_rtmp_cs_t *cs,
    size_t grow)
{
    unsigned  i;

    if (p->buffered + grow <= p->max_buffered
        && (p->group == NULL || *p->group + grow <= p->max_group)
        && (p->total == NULL || *p->total + grow <= p->max_total))
    {
        return 0;
    }

    for (i = 0; i < NGX_AMS_RTMP_CSID_STATES; i++) {
        if (p->cs[i].got == 0 && &p->cs[i] != cs && p->cs[i].buf) {
            ngx_ams_rtmp_cs_release(p, &p->cs[i]);
        }
    }

    if (p->buffered + grow > p->max_buffered) {
        p->error = "partial messages over the connection's limit";
        p->over_limit = 1;
        return -1;
    }

    if (p->group && *p->group + grow > p->max_group) {
        p->error = "partial messages over the address's limit";
        p->over_limit = 1;
        return -1;
    }

    while (p->total && *p->total + grow > p->max_total) {
        if (p->reclaim == NULL
            || p->reclaim(p->ctx, *p->total + grow - p->max_total) != 0)
        {
            p->error = "partial messages over the worker's limit";
            p->over_limit = 1;
            return -1;
        }
    }

    return 0;
}


static int
ngx_ams_rtmp_header_done(ngx_ams_rtmp_chunk_parser_t *p, uint32_t basic,
    uint32_t csid)
{
    size_t              grow;
    uint32_t            fmt, ts, left;
    uint8_t            *h, *nb;
    ngx_ams_rtmp_cs_t  *cs;

    fmt = p->hdr[0] >> 6;
    h = p->hdr + basic;

    cs = ngx_ams_rtmp_chunk_stream(p, csid);
    if (cs == NULL) {
        p->error = "too many chunk streams";
        return -1;
    }

    if (fmt < 3) {
        ts = ngx_ams_be24(h);
        cs->ext = (ts == 0xffffff);
        if (cs->ext) {
            ts = ngx_ams_be32(h + (fmt == 2 ? 3 : (fmt == 1 ? 7 : 11)));
        }

        if (cs->got) {
            /* a new header in the middle of a message: start over */
            cs->got = 0;
        }

        if (fmt <= 1) {
            cs->length = ngx_ams_be24(h + 3);
            cs->type = h[6];
        }

        if (fmt == 0) {
            cs->msid = h[7] | ((uint32_t) h[8] << 8) | ((uint32_t) h[9] << 16)
                       | ((uint32_t) h[10] << 24);
            cs->timestamp = ts;
            cs->delta = ts;

        } else {
            cs->delta = ts;
            cs->timestamp += ts;
        }

    } else if (cs->got == 0) {
        if (cs->length == 0 && cs->type == 0) {
            p->error = "continuation chunk on a new chunk stream";
            return -1;
        }

        /* a new message that repeats the previous header */
        cs->timestamp += cs->delta;
    }

    if (cs->length > p->max_message) {
        p->error = "message longer than the limit";
        p->over_limit = 1;
        return -1;
    }

    left = cs->length - cs->got;
    p->chunk_left = left < p->chunk_size ? left : p->chunk_size;

    if (cs->got + p->chunk_left > cs->cap) {
        /* grow with the data that arrives, not with what is announced */
        uint32_t  cap = cs->cap ? cs->cap : 4096;

        while (cap < cs->got + p->chunk_left) {
            cap *= 2;
        }

        if (cap > cs->length) {
            cap = cs->length;
        }

        grow = cap - cs->cap;

        if (ngx_ams_rtmp_chunk_room(p, cs, grow) != 0) {
            return -1;
        }

        nb = realloc(cs->buf, cap);
        if (nb == NULL) {
            p->error = "out of memory";
            return -1;
        }

        cs->buf = nb;
        cs->cap = cap;

        p->buffered += grow;

        if (p->total) {
            *p->total += grow;
        }

        if (p->group) {
            *p->group += grow;
        }
    }

    p->cur = cs;
    p->in_body = 1;

    return 0;
}


static int
ngx_ams_rtmp_message_done(ngx_ams_rtmp_chunk_parser_t *p,
    ngx_ams_rtmp_cs_t *cs)
{
    uint32_t            v, i;
    ngx_ams_rtmp_msg_t  msg;

    msg.csid = cs->csid;
    msg.timestamp = cs->timestamp;
    msg.type = cs->type;
    msg.msid = cs->msid;
    msg.length = cs->length;
    msg.data = cs->buf;

    cs->got = 0;

    switch (msg.type) {

    case NGX_AMS_RTMP_MSG_CHUNK_SIZE:
        if (msg.length < 4) {
            p->error = "short Set Chunk Size";
            return -1;
        }

        v = ngx_ams_be32(msg.data) & 0x7fffffff;

        if (v == 0 || v > NGX_AMS_RTMP_MAX_CHUNK) {
            p->error = "chunk size out of range (1..16777215)";
            return -1;
        }

        p->chunk_size = v;
        break;

    case NGX_AMS_RTMP_MSG_ABORT:
        if (msg.length < 4) {
            p->error = "short Abort";
            return -1;
        }

        v = ngx_ams_be32(msg.data);

        for (i = 0; i < NGX_AMS_RTMP_CSID_STATES; i++) {
            if (p->cs[i].used && p->cs[i].csid == v) {
                p->cs[i].got = 0;
            }
        }
        break;
    }

    if (p->handler(p->ctx, &msg, &p->error) != 0) {
        if (p->error == NULL) {
            p->error = "message refused";
        }
        return -1;
    }

    return 0;
}


int
ngx_ams_rtmp_chunk_parse(ngx_ams_rtmp_chunk_parser_t *p, const uint8_t *buf,
    size_t len)
{
    uint32_t            need, basic, csid, n;
    ngx_ams_rtmp_cs_t  *cs;

    if (p->error) {
        return -1;
    }

    while (len) {

        if (!p->in_body) {
            if (p->hdr_len == 0) {
                p->hdr[p->hdr_len++] = *buf++;
                len--;
            }

            /* the needed length grows as fields become known */
            for ( ;; ) {
                csid = 0;
                need = ngx_ams_rtmp_header_need(p, &basic, &csid);

                if (p->hdr_len >= need) {
                    break;
                }

                if (len == 0) {
                    return 0;
                }

                n = need - p->hdr_len;
                if (n > len) {
                    n = (uint32_t) len;
                }

                memcpy(p->hdr + p->hdr_len, buf, n);
                p->hdr_len += n;
                buf += n;
                len -= n;
            }

            p->hdr_len = 0;

            if (ngx_ams_rtmp_header_done(p, basic, csid) != 0) {
                return -1;
            }

            cs = p->cur;

            if (cs->length == 0) {
                p->in_body = 0;
                if (ngx_ams_rtmp_message_done(p, cs) != 0) {
                    return -1;
                }
            }

            continue;
        }

        cs = p->cur;

        n = p->chunk_left;
        if (n > len) {
            n = (uint32_t) len;
        }

        memcpy(cs->buf + cs->got, buf, n);
        cs->got += n;
        p->chunk_left -= n;
        buf += n;
        len -= n;

        if (p->chunk_left) {
            continue;
        }

        p->in_body = 0;

        if (cs->got == cs->length) {
            if (ngx_ams_rtmp_message_done(p, cs) != 0) {
                return -1;
            }
        }
    }

    return 0;
}


size_t
ngx_ams_rtmp_chunk_bound(size_t len, uint32_t chunk_size)
{
    size_t  chunks = len ? (len + chunk_size - 1) / chunk_size : 1;

    return NGX_AMS_RTMP_MAX_HEADER + (chunks - 1) * 7 + len;
}


static uint8_t *
ngx_ams_rtmp_basic_header(uint8_t *p, uint32_t fmt, uint32_t csid)
{
    if (csid < 64) {
        *p++ = (uint8_t) ((fmt << 6) | csid);

    } else if (csid < 320) {
        *p++ = (uint8_t) (fmt << 6);
        *p++ = (uint8_t) (csid - 64);

    } else {
        *p++ = (uint8_t) ((fmt << 6) | 1);
        *p++ = (uint8_t) ((csid - 64) & 0xff);
        *p++ = (uint8_t) ((csid - 64) >> 8);
    }

    return p;
}


size_t
ngx_ams_rtmp_chunk_write2(uint8_t *out, uint32_t chunk_size, uint32_t csid,
    uint32_t timestamp, uint8_t type, uint32_t msid, const uint8_t *head,
    size_t head_len, const uint8_t *body, size_t body_len)
{
    int             ext;
    size_t          len, left, n, k;
    uint8_t        *p;
    const uint8_t  *src;

    len = head_len + body_len;
    ext = timestamp >= 0xffffff;

    p = ngx_ams_rtmp_basic_header(out, 0, csid);

    k = ext ? 0xffffff : timestamp;
    *p++ = (uint8_t) (k >> 16);
    *p++ = (uint8_t) (k >> 8);
    *p++ = (uint8_t) k;
    *p++ = (uint8_t) (len >> 16);
    *p++ = (uint8_t) (len >> 8);
    *p++ = (uint8_t) len;
    *p++ = type;
    *p++ = (uint8_t) msid;
    *p++ = (uint8_t) (msid >> 8);
    *p++ = (uint8_t) (msid >> 16);
    *p++ = (uint8_t) (msid >> 24);

    if (ext) {
        *p++ = (uint8_t) (timestamp >> 24);
        *p++ = (uint8_t) (timestamp >> 16);
        *p++ = (uint8_t) (timestamp >> 8);
        *p++ = (uint8_t) timestamp;
    }

    left = chunk_size;
    src = head;
    n = head_len;

    for (k = 0; k < 2; k++) {
        while (n) {
            if (left == 0) {
                p = ngx_ams_rtmp_basic_header(p, 3, csid);

                if (ext) {
                    *p++ = (uint8_t) (timestamp >> 24);
                    *p++ = (uint8_t) (timestamp >> 16);
                    *p++ = (uint8_t) (timestamp >> 8);
                    *p++ = (uint8_t) timestamp;
                }

                left = chunk_size;
            }

            len = n < left ? n : left;
            memcpy(p, src, len);
            p += len;
            src += len;
            n -= len;
            left -= len;
        }

        src = body;
        n = body_len;
    }

    return (size_t) (p - out);
}


size_t
ngx_ams_rtmp_chunk_write(uint8_t *out, uint32_t chunk_size, uint32_t csid,
    uint32_t timestamp, uint8_t type, uint32_t msid, const uint8_t *payload,
    size_t len)
{
    return ngx_ams_rtmp_chunk_write2(out, chunk_size, csid, timestamp, type,
                                     msid, payload, len, NULL, 0);
}
