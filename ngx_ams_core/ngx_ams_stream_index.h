
/*
 * Copyright (C) nginx-ams authors
 *
 * The registry's index: live streams found by a hash of (application,
 * name), chained through arrays in shared memory, so a lookup costs the
 * same with one live stream or a thousand.  Entries are stream slot
 * numbers; the caller compares names and holds the registry lock.
 *
 * Free of nginx types so it can be unit-tested alone.
 */


#ifndef _NGX_AMS_STREAM_INDEX_H_INCLUDED_
#define _NGX_AMS_STREAM_INDEX_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_INDEX_END   (-1)


typedef struct {
    uint32_t            mask;       /* buckets - 1, a power of two */
    int32_t            *bucket;     /* first slot of each chain */
    int32_t            *next;       /* per slot: the next in its chain */
} ngx_ams_stream_index_t;


/* buckets for "slots" entries (two per slot, at least 64) */
uint32_t ngx_ams_stream_index_buckets(uint32_t slots);
void ngx_ams_stream_index_init(ngx_ams_stream_index_t *ix, uint32_t buckets,
    int32_t *bucket, int32_t *next, uint32_t slots);
uint32_t ngx_ams_stream_index_hash(const uint8_t *app, size_t app_len,
    const uint8_t *name, size_t name_len);
void ngx_ams_stream_index_insert(ngx_ams_stream_index_t *ix, int32_t slot,
    uint32_t hash);
void ngx_ams_stream_index_remove(ngx_ams_stream_index_t *ix, int32_t slot,
    uint32_t hash);

static inline int32_t
ngx_ams_stream_index_first(ngx_ams_stream_index_t *ix, uint32_t hash)
{
    return ix->bucket[hash & ix->mask];
}

static inline int32_t
ngx_ams_stream_index_next(ngx_ams_stream_index_t *ix, int32_t slot)
{
    return ix->next[slot];
}


#endif /* _NGX_AMS_STREAM_INDEX_H_INCLUDED_ */
