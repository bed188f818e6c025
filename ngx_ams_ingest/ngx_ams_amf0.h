
/*
 * Copyright (C) nginx-ams authors
 *
 * AMF0 (the encoding of RTMP commands and metadata): a decoder into a
 * small tree whose strings point into the input, with a node budget and a
 * nesting limit, and an encoder writing into a bounded buffer.
 * Free of nginx types.
 */


#ifndef _NGX_AMS_AMF0_H_INCLUDED_
#define _NGX_AMS_AMF0_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_AMF_NUMBER        0x00
#define NGX_AMS_AMF_BOOLEAN       0x01
#define NGX_AMS_AMF_STRING        0x02
#define NGX_AMS_AMF_OBJECT        0x03
#define NGX_AMS_AMF_NULL          0x05
#define NGX_AMS_AMF_UNDEFINED     0x06
#define NGX_AMS_AMF_REFERENCE     0x07
#define NGX_AMS_AMF_ECMA_ARRAY    0x08
#define NGX_AMS_AMF_OBJECT_END    0x09
#define NGX_AMS_AMF_STRICT_ARRAY  0x0a
#define NGX_AMS_AMF_DATE          0x0b
#define NGX_AMS_AMF_LONG_STRING   0x0c

#define NGX_AMS_AMF_MAX_DEPTH     8
#define NGX_AMS_AMF_MAX_NODES     512


typedef struct ngx_ams_amf_s  ngx_ams_amf_t;

struct ngx_ams_amf_s {
    uint8_t          type;
    double           num;            /* number, boolean, date */
    const uint8_t   *str;            /* string; key of an object member */
    uint32_t         len;
    const uint8_t   *key;
    uint32_t         key_len;
    ngx_ams_amf_t   *child;          /* first member of object/array */
    ngx_ams_amf_t   *next;           /* next member or next top value */
};


typedef struct {
    ngx_ams_amf_t    nodes[NGX_AMS_AMF_MAX_NODES];
    unsigned         used;
    const char      *error;
} ngx_ams_amf_arena_t;


/* decodes consecutive values; returns the first, or NULL with a->error
 * set (an empty input gives NULL with no error) */
ngx_ams_amf_t *ngx_ams_amf_decode(ngx_ams_amf_arena_t *a, const uint8_t *p,
    size_t len);

/* the n-th value of a list, and an object member by key */
ngx_ams_amf_t *ngx_ams_amf_nth(ngx_ams_amf_t *v, unsigned n);
ngx_ams_amf_t *ngx_ams_amf_get(ngx_ams_amf_t *obj, const char *key);
int ngx_ams_amf_is_string(ngx_ams_amf_t *v);


typedef struct {
    uint8_t   *p;
    uint8_t   *end;
    int        overflow;
} ngx_ams_amf_writer_t;


void ngx_ams_amf_put_number(ngx_ams_amf_writer_t *w, double v);
void ngx_ams_amf_put_bool(ngx_ams_amf_writer_t *w, int v);
void ngx_ams_amf_put_string(ngx_ams_amf_writer_t *w, const void *s,
    size_t len);
void ngx_ams_amf_put_cstring(ngx_ams_amf_writer_t *w, const char *s);
void ngx_ams_amf_put_null(ngx_ams_amf_writer_t *w);
void ngx_ams_amf_put_object_start(ngx_ams_amf_writer_t *w);
void ngx_ams_amf_put_ecma_start(ngx_ams_amf_writer_t *w, uint32_t count);
void ngx_ams_amf_put_key(ngx_ams_amf_writer_t *w, const char *key);
void ngx_ams_amf_put_object_end(ngx_ams_amf_writer_t *w);
void ngx_ams_amf_put_raw(ngx_ams_amf_writer_t *w, const void *p, size_t len);


#endif /* _NGX_AMS_AMF0_H_INCLUDED_ */
