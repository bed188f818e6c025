
/*
 * Copyright (C) nginx-ams authors
 */


#include <string.h>

#include "ngx_ams_amf0.h"


typedef struct {
    const uint8_t  *p;
    const uint8_t  *end;
} ngx_ams_amf_cursor_t;


static ngx_ams_amf_t *ngx_ams_amf_value(ngx_ams_amf_arena_t *a,
    ngx_ams_amf_cursor_t *c, unsigned depth);


static ngx_ams_amf_t *
ngx_ams_amf_node(ngx_ams_amf_arena_t *a)
{
    ngx_ams_amf_t  *v;

    if (a->used == NGX_AMS_AMF_MAX_NODES) {
        a->error = "AMF0 has too many values";
        return NULL;
    }

    v = &a->nodes[a->used++];
    memset(v, 0, sizeof(ngx_ams_amf_t));

    return v;
}


static int
ngx_ams_amf_need(ngx_ams_amf_arena_t *a, ngx_ams_amf_cursor_t *c, size_t n)
{
    if ((size_t) (c->end - c->p) < n) {
        a->error = "AMF0 value truncated";
        return -1;
    }

    return 0;
}


static uint32_t
ngx_ams_amf_u16(ngx_ams_amf_cursor_t *c)
{
    uint32_t  v = ((uint32_t) c->p[0] << 8) | c->p[1];

    c->p += 2;
    return v;
}


static uint32_t
ngx_ams_amf_u32(ngx_ams_amf_cursor_t *c)
{
    uint32_t  v = ((uint32_t) c->p[0] << 24) | ((uint32_t) c->p[1] << 16)
                  | ((uint32_t) c->p[2] << 8) | c->p[3];

    c->p += 4;
    return v;
}


static double
ngx_ams_amf_double(ngx_ams_amf_cursor_t *c)
{
    int       i;
    double    d;
    uint64_t  v = 0;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | c->p[i];
    }

    c->p += 8;
    memcpy(&d, &v, sizeof(d));

    return d;
}


/* members of an object or ECMA array: key, value ... "" 0x09 */

static int
ngx_ams_amf_members(ngx_ams_amf_arena_t *a, ngx_ams_amf_cursor_t *c,
    ngx_ams_amf_t *obj, unsigned depth)
{
    uint32_t        klen;
    const uint8_t  *key;
    ngx_ams_amf_t  *v, **last;

    last = &obj->child;

    for ( ;; ) {
        if (ngx_ams_amf_need(a, c, 2) != 0) {
            return -1;
        }

        klen = ngx_ams_amf_u16(c);

        if (ngx_ams_amf_need(a, c, klen) != 0) {
            return -1;
        }

        key = c->p;
        c->p += klen;

        if (klen == 0) {
            if (ngx_ams_amf_need(a, c, 1) != 0) {
                return -1;
            }

            if (*c->p == NGX_AMS_AMF_OBJECT_END) {
                c->p++;
                return 0;
            }
        }

        v = ngx_ams_amf_value(a, c, depth + 1);
        if (v == NULL) {
            return -1;
        }

        v->key = key;
        v->key_len = klen;
        *last = v;
        last = &v->next;
    }
}


static ngx_ams_amf_t *
ngx_ams_amf_value(ngx_ams_amf_arena_t *a, ngx_ams_amf_cursor_t *c,
    unsigned depth)
{
    uint32_t        n, i;
    ngx_ams_amf_t  *v, *e, **last;

    if (depth > NGX_AMS_AMF_MAX_DEPTH) {
        a->error = "AMF0 nested too deep";
        return NULL;
    }

    if (ngx_ams_amf_need(a, c, 1) != 0) {
        return NULL;
    }

    v = ngx_ams_amf_node(a);
    if (v == NULL) {
        return NULL;
    }

    v->type = *c->p++;

    switch (v->type) {

    case NGX_AMS_AMF_NUMBER:
        if (ngx_ams_amf_need(a, c, 8) != 0) {
            return NULL;
        }
        v->num = ngx_ams_amf_double(c);
        break;

    case NGX_AMS_AMF_BOOLEAN:
        if (ngx_ams_amf_need(a, c, 1) != 0) {
            return NULL;
        }
        v->num = *c->p++ ? 1 : 0;
        break;

    case NGX_AMS_AMF_STRING:
    case NGX_AMS_AMF_LONG_STRING:
        n = (v->type == NGX_AMS_AMF_STRING) ? 2 : 4;
        if (ngx_ams_amf_need(a, c, n) != 0) {
            return NULL;
        }
        v->len = (n == 2) ? ngx_ams_amf_u16(c) : ngx_ams_amf_u32(c);
        if (ngx_ams_amf_need(a, c, v->len) != 0) {
            return NULL;
        }
        v->str = c->p;
        c->p += v->len;
        break;

    case NGX_AMS_AMF_NULL:
    case NGX_AMS_AMF_UNDEFINED:
        break;

    case NGX_AMS_AMF_REFERENCE:
        if (ngx_ams_amf_need(a, c, 2) != 0) {
            return NULL;
        }
        c->p += 2;
        v->type = NGX_AMS_AMF_UNDEFINED;
        break;

    case NGX_AMS_AMF_ECMA_ARRAY:
        if (ngx_ams_amf_need(a, c, 4) != 0) {
            return NULL;
        }
        c->p += 4;          /* the count is a hint; the end marker rules */

        /* fall through */

    case NGX_AMS_AMF_OBJECT:
        if (ngx_ams_amf_members(a, c, v, depth) != 0) {
            return NULL;
        }
        break;

    case NGX_AMS_AMF_STRICT_ARRAY:
        if (ngx_ams_amf_need(a, c, 4) != 0) {
            return NULL;
        }
        n = ngx_ams_amf_u32(c);
        last = &v->child;

        for (i = 0; i < n; i++) {
            e = ngx_ams_amf_value(a, c, depth + 1);
            if (e == NULL) {
                return NULL;
            }
            *last = e;
            last = &e->next;
        }
        break;

    case NGX_AMS_AMF_DATE:
        if (ngx_ams_amf_need(a, c, 10) != 0) {
            return NULL;
        }
        v->num = ngx_ams_amf_double(c);
        c->p += 2;
        break;

    default:
        a->error = "AMF0 type not supported";
        return NULL;
    }

    return v;
}


ngx_ams_amf_t *
ngx_ams_amf_decode(ngx_ams_amf_arena_t *a, const uint8_t *p, size_t len)
{
    ngx_ams_amf_t         *first, *v, **last;
    ngx_ams_amf_cursor_t   c;

    a->used = 0;
    a->error = NULL;

    c.p = p;
    c.end = p + len;

    first = NULL;
    last = &first;

    while (c.p < c.end) {
        v = ngx_ams_amf_value(a, &c, 0);
        if (v == NULL) {
            return NULL;
        }

        *last = v;
        last = &v->next;
    }

    return first;
}


ngx_ams_amf_t *
ngx_ams_amf_nth(ngx_ams_amf_t *v, unsigned n)
{
    while (v && n--) {
        v = v->next;
    }

    return v;
}


ngx_ams_amf_t *
ngx_ams_amf_get(ngx_ams_amf_t *obj, const char *key)
{
    size_t          len;
    ngx_ams_amf_t  *v;

    if (obj == NULL || (obj->type != NGX_AMS_AMF_OBJECT
                        && obj->type != NGX_AMS_AMF_ECMA_ARRAY))
    {
        return NULL;
    }

    len = strlen(key);

    for (v = obj->child; v; v = v->next) {
        if (v->key_len == len && memcmp(v->key, key, len) == 0) {
            return v;
        }
    }

    return NULL;
}


int
ngx_ams_amf_is_string(ngx_ams_amf_t *v)
{
    return v && (v->type == NGX_AMS_AMF_STRING
                 || v->type == NGX_AMS_AMF_LONG_STRING);
}


void
ngx_ams_amf_put_raw(ngx_ams_amf_writer_t *w, const void *p, size_t len)
{
    if (w->overflow || (size_t) (w->end - w->p) < len) {
        w->overflow = 1;
        return;
    }

    memcpy(w->p, p, len);
    w->p += len;
}


void
ngx_ams_amf_put_number(ngx_ams_amf_writer_t *w, double v)
{
    int       i;
    uint8_t   b[9];
    uint64_t  u;

    memcpy(&u, &v, sizeof(u));
    b[0] = NGX_AMS_AMF_NUMBER;

    for (i = 0; i < 8; i++) {
        b[1 + i] = (uint8_t) (u >> (56 - 8 * i));
    }

    ngx_ams_amf_put_raw(w, b, sizeof(b));
}


void
ngx_ams_amf_put_bool(ngx_ams_amf_writer_t *w, int v)
{
    uint8_t  b[2] = { NGX_AMS_AMF_BOOLEAN, v ? 1 : 0 };

    ngx_ams_amf_put_raw(w, b, sizeof(b));
}


void
ngx_ams_amf_put_string(ngx_ams_amf_writer_t *w, const void *s, size_t len)
{
    uint8_t  b[3];

    if (len > 0xffff) {
        len = 0xffff;
    }

    b[0] = NGX_AMS_AMF_STRING;
    b[1] = (uint8_t) (len >> 8);
    b[2] = (uint8_t) len;

    ngx_ams_amf_put_raw(w, b, sizeof(b));
    ngx_ams_amf_put_raw(w, s, len);
}


void
ngx_ams_amf_put_cstring(ngx_ams_amf_writer_t *w, const char *s)
{
    ngx_ams_amf_put_string(w, s, strlen(s));
}


void
ngx_ams_amf_put_null(ngx_ams_amf_writer_t *w)
{
    uint8_t  b = NGX_AMS_AMF_NULL;

    ngx_ams_amf_put_raw(w, &b, 1);
}


void
ngx_ams_amf_put_object_start(ngx_ams_amf_writer_t *w)
{
    uint8_t  b = NGX_AMS_AMF_OBJECT;

    ngx_ams_amf_put_raw(w, &b, 1);
}


void
ngx_ams_amf_put_ecma_start(ngx_ams_amf_writer_t *w, uint32_t count)
{
    uint8_t  b[5] = { NGX_AMS_AMF_ECMA_ARRAY, (uint8_t) (count >> 24),
                      (uint8_t) (count >> 16), (uint8_t) (count >> 8),
                      (uint8_t) count };

    ngx_ams_amf_put_raw(w, b, sizeof(b));
}


void
ngx_ams_amf_put_key(ngx_ams_amf_writer_t *w, const char *key)
{
    size_t   len = strlen(key);
    uint8_t  b[2] = { (uint8_t) (len >> 8), (uint8_t) len };

    ngx_ams_amf_put_raw(w, b, sizeof(b));
    ngx_ams_amf_put_raw(w, key, len);
}


void
ngx_ams_amf_put_object_end(ngx_ams_amf_writer_t *w)
{
    uint8_t  b[3] = { 0, 0, NGX_AMS_AMF_OBJECT_END };

    ngx_ams_amf_put_raw(w, b, sizeof(b));
}
