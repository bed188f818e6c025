
/*
 * Copyright (C) nginx-ams authors
 *
 * The registry's index: every live stream found by name, with long
 * chains (few buckets) as with short ones, removal anywhere in a chain,
 * slots reused.
 */


#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "ngx_ams_stream_index.h"


#define SLOTS  1000


static char     names[SLOTS][32];
static int      live[SLOTS];
static int32_t  bucket[4096], next[SLOTS];


static uint32_t
hash_of(int i)
{
    return ngx_ams_stream_index_hash((const uint8_t *) "LiveApp", 7,
                                     (const uint8_t *) names[i],
                                     strlen(names[i]));
}


/* the slot holding "name", as the bus looks it up; -1 if none */
static int32_t
find(ngx_ams_stream_index_t *ix, const char *name)
{
    int32_t   i;
    uint32_t  h;

    h = ngx_ams_stream_index_hash((const uint8_t *) "LiveApp", 7,
                                  (const uint8_t *) name, strlen(name));

    for (i = ngx_ams_stream_index_first(ix, h);
         i != NGX_AMS_INDEX_END;
         i = ngx_ams_stream_index_next(ix, i))
    {
        if (live[i] && strcmp(names[i], name) == 0) {
            return i;
        }
    }

    return -1;
}


static void
run(uint32_t buckets)
{
    int                     i, good;
    ngx_ams_stream_index_t  ix;

    ngx_ams_stream_index_init(&ix, buckets, bucket, next, SLOTS);

    for (i = 0; i < SLOTS; i++) {
        snprintf(names[i], sizeof(names[i]), "stream%d", i);
        live[i] = 1;
        ngx_ams_stream_index_insert(&ix, i, hash_of(i));
    }

    good = 1;
    for (i = 0; i < SLOTS; i++) {
        good &= (find(&ix, names[i]) == i);
    }
    ok(good, "%u buckets: every one of %d streams is found", buckets, SLOTS);
    is_int(find(&ix, "nosuch"), -1, "%u buckets: an unknown name is not",
           buckets);

    /* remove every other one: heads, middles and tails of chains */
    for (i = 0; i < SLOTS; i += 2) {
        ngx_ams_stream_index_remove(&ix, i, hash_of(i));
        live[i] = 0;
    }

    good = 1;
    for (i = 0; i < SLOTS; i++) {
        good &= (find(&ix, names[i]) == (i % 2 ? i : -1));
    }
    ok(good, "%u buckets: removed ones are gone, the others stay", buckets);

    /* a slot reused for another name */
    snprintf(names[0], sizeof(names[0]), "again");
    live[0] = 1;
    ngx_ams_stream_index_insert(&ix, 0, hash_of(0));
    ok(find(&ix, "again") == 0 && find(&ix, "stream0") == -1
       && find(&ix, "stream1") == 1, "%u buckets: a slot is reused",
       buckets);
}


int
main(void)
{
    int       i, longest, len;
    int32_t   s;
    uint32_t  b;
    ngx_ams_stream_index_t  ix;

    is_int(ngx_ams_stream_index_buckets(1), 64, "at least 64 buckets");
    is_int(ngx_ams_stream_index_buckets(1000), 2048,
           "two buckets a stream, a power of two");

    ok(ngx_ams_stream_index_hash((const uint8_t *) "a", 1,
                                 (const uint8_t *) "bc", 2)
       != ngx_ams_stream_index_hash((const uint8_t *) "ab", 1 + 1,
                                    (const uint8_t *) "c", 1),
       "the application and the name are kept apart in the hash");

    run(2048);
    run(64);

    /* chains stay short with the default size */
    b = ngx_ams_stream_index_buckets(SLOTS);
    ngx_ams_stream_index_init(&ix, b, bucket, next, SLOTS);
    for (i = 0; i < SLOTS; i++) {
        snprintf(names[i], sizeof(names[i]), "stream%d", i);
        ngx_ams_stream_index_insert(&ix, i, hash_of(i));
    }

    longest = 0;
    for (i = 0; i < (int) b; i++) {
        len = 0;
        for (s = bucket[i]; s != NGX_AMS_INDEX_END; s = next[s]) {
            len++;
        }
        longest = len > longest ? len : longest;
    }
    ok(longest <= 8, "the longest chain of %d streams is %d", SLOTS,
       longest);

    return done_testing();
}
