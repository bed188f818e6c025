
/*
 * Copyright (C) nginx-ams authors
 */


#include "ngx_ams_stream_index.h"


uint32_t
ngx_ams_stream_index_buckets(uint32_t slots)
{
    uint32_t  n;

    for (n = 64; n < 2 * slots && n < 0x40000000; n <<= 1) {
        /* void */
    }

    return n;
}


void
ngx_ams_stream_index_init(ngx_ams_stream_index_t *ix, uint32_t buckets,
    int32_t *bucket, int32_t *next, uint32_t slots)
{
    uint32_t  i;

    ix->mask = buckets - 1;
    ix->bucket = bucket;
    ix->next = next;

    for (i = 0; i < buckets; i++) {
        bucket[i] = NGX_AMS_INDEX_END;
    }

    for (i = 0; i < slots; i++) {
        next[i] = NGX_AMS_INDEX_END;
    }
}


/* FNV-1a over "app/name" */

uint32_t
ngx_ams_stream_index_hash(const uint8_t *app, size_t app_len,
    const uint8_t *name, size_t name_len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < app_len; i++) {
        h = (h ^ app[i]) * 16777619u;
    }

    h = (h ^ '/') * 16777619u;

    for (i = 0; i < name_len; i++) {
        h = (h ^ name[i]) * 16777619u;
    }

    return h;
}


void
ngx_ams_stream_index_insert(ngx_ams_stream_index_t *ix, int32_t slot,
    uint32_t hash)
{
    ix->next[slot] = ix->bucket[hash & ix->mask];
    ix->bucket[hash & ix->mask] = slot;
}


void
ngx_ams_stream_index_remove(ngx_ams_stream_index_t *ix, int32_t slot,
    uint32_t hash)
{
    int32_t  *link;

    for (link = &ix->bucket[hash & ix->mask];
         *link != NGX_AMS_INDEX_END;
         link = &ix->next[*link])
    {
        if (*link == slot) {
            *link = ix->next[slot];
            break;
        }
    }

    ix->next[slot] = NGX_AMS_INDEX_END;
}
