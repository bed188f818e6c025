
/*
 * Copyright (C) nginx-ams authors
 *
 * Data-channel messages between workers: records and the mailbox ring
 * (ngx_ams_dcmail.h).  The caller holds the mailbox's lock; nothing here
 * trusts what the ring holds (another process wrote it).
 */


#include <string.h>

#include "ngx_ams_dcmail.h"


#define ngx_ams_dcmail_data(r)   ((uint8_t *) ((r) + 1))


static void
ngx_ams_dcmail_w32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
    p[2] = (uint8_t) (v >> 16);
    p[3] = (uint8_t) (v >> 24);
}


static uint32_t
ngx_ams_dcmail_r32(const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
           | (uint32_t) p[3] << 24;
}


size_t
ngx_ams_dcmail_size(const ngx_ams_dcmail_msg_t *m)
{
    if (m->app_len > NGX_AMS_DCMAIL_APP_MAX
        || m->name_len == 0 || m->name_len > NGX_AMS_DCMAIL_NAME_MAX
        || m->payload_len > NGX_AMS_DCMAIL_PAYLOAD_MAX
        || m->from < NGX_AMS_DCMAIL_FROM_PUBLISHER
        || m->from > NGX_AMS_DCMAIL_FROM_SERVER)
    {
        return 0;
    }

    return NGX_AMS_DCMAIL_HEADER + m->app_len + m->name_len
           + (m->sender ? NGX_AMS_DCMAIL_SENDER_LEN : 0) + m->payload_len;
}


size_t
ngx_ams_dcmail_encode(uint8_t *buf, size_t size,
    const ngx_ams_dcmail_msg_t *m)
{
    size_t    len;
    uint8_t  *p;

    len = ngx_ams_dcmail_size(m);
    if (len == 0 || len > size) {
        return 0;
    }

    ngx_ams_dcmail_w32(buf, (uint32_t) len);
    ngx_ams_dcmail_w32(buf + 4, m->ppid);
    buf[8] = (uint8_t) m->from;
    buf[9] = (uint8_t) m->app_len;
    buf[10] = (uint8_t) m->name_len;
    buf[11] = m->sender ? NGX_AMS_DCMAIL_SENDER_LEN : 0;

    p = buf + NGX_AMS_DCMAIL_HEADER;
    memcpy(p, m->app, m->app_len);
    p += m->app_len;
    memcpy(p, m->name, m->name_len);
    p += m->name_len;

    if (m->sender) {
        memcpy(p, m->sender, NGX_AMS_DCMAIL_SENDER_LEN);
        p += NGX_AMS_DCMAIL_SENDER_LEN;
    }

    if (m->payload_len) {
        memcpy(p, m->payload, m->payload_len);
    }

    return len;
}


int
ngx_ams_dcmail_decode(const uint8_t *p, size_t len, ngx_ams_dcmail_msg_t *m)
{
    size_t  rec, fixed;

    if (len < NGX_AMS_DCMAIL_HEADER) {
        return -1;
    }

    rec = ngx_ams_dcmail_r32(p);

    m->ppid = ngx_ams_dcmail_r32(p + 4);
    m->from = p[8];
    m->app_len = p[9];
    m->name_len = p[10];

    if (rec != len
        || m->from < NGX_AMS_DCMAIL_FROM_PUBLISHER
        || m->from > NGX_AMS_DCMAIL_FROM_SERVER
        || m->app_len > NGX_AMS_DCMAIL_APP_MAX
        || m->name_len == 0 || m->name_len > NGX_AMS_DCMAIL_NAME_MAX
        || (p[11] != 0 && p[11] != NGX_AMS_DCMAIL_SENDER_LEN))
    {
        return -1;
    }

    fixed = NGX_AMS_DCMAIL_HEADER + m->app_len + m->name_len + p[11];

    if (fixed > len || len - fixed > NGX_AMS_DCMAIL_PAYLOAD_MAX) {
        return -1;
    }

    m->app = p + NGX_AMS_DCMAIL_HEADER;
    m->name = m->app + m->app_len;
    m->sender = p[11] ? m->name + m->name_len : NULL;
    m->payload = p + fixed;
    m->payload_len = len - fixed;

    return 0;
}


void
ngx_ams_dcmail_ring_init(ngx_ams_dcmail_ring_t *r, uint32_t size)
{
    r->head = 0;
    r->tail = 0;
    r->size = size;
    r->pad = 0;
}


/* len bytes at offset "at" of the ring, across its end */
static void
ngx_ams_dcmail_copy_in(ngx_ams_dcmail_ring_t *r, uint64_t at,
    const uint8_t *p, size_t len)
{
    size_t  off, first;

    off = (size_t) (at % r->size);
    first = r->size - off < len ? r->size - off : len;

    memcpy(ngx_ams_dcmail_data(r) + off, p, first);
    memcpy(ngx_ams_dcmail_data(r), p + first, len - first);
}


static void
ngx_ams_dcmail_copy_out(ngx_ams_dcmail_ring_t *r, uint64_t at, uint8_t *p,
    size_t len)
{
    size_t  off, first;

    off = (size_t) (at % r->size);
    first = r->size - off < len ? r->size - off : len;

    memcpy(p, ngx_ams_dcmail_data(r) + off, first);
    memcpy(p + first, ngx_ams_dcmail_data(r), len - first);
}


int
ngx_ams_dcmail_put(ngx_ams_dcmail_ring_t *r, const uint8_t *rec, size_t len)
{
    uint64_t  used;

    used = r->tail - r->head;

    if (r->size == 0 || used > r->size || len > r->size - used) {
        return -1;
    }

    ngx_ams_dcmail_copy_in(r, r->tail, rec, len);
    r->tail += len;

    return 0;
}


long
ngx_ams_dcmail_get(ngx_ams_dcmail_ring_t *r, uint8_t *buf, size_t size)
{
    uint8_t   hdr[4];
    uint64_t  used;
    uint32_t  len;

    used = r->tail - r->head;

    if (used == 0) {
        return 0;
    }

    if (r->size == 0 || used > r->size || used < NGX_AMS_DCMAIL_HEADER) {
        goto bad;
    }

    ngx_ams_dcmail_copy_out(r, r->head, hdr, 4);
    len = ngx_ams_dcmail_r32(hdr);

    if (len < NGX_AMS_DCMAIL_HEADER || len > used || len > size) {
        goto bad;
    }

    ngx_ams_dcmail_copy_out(r, r->head, buf, len);
    r->head += len;

    return (long) len;

bad:

    r->head = r->tail;
    return -1;
}
