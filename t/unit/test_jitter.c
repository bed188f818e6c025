
/*
 * Copyright (C) nginx-ams authors
 *
 * The jitter buffer: order restored, holes given up on after max_delay
 * or when full, wrapping at 65535, duplicates and late packets, the NACK
 * list's spacing and retry limit, a sender that jumps.
 */


#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "ngx_ams_rtp.h"
#include "ngx_ams_jitter.h"


/* a packet's bytes tell its sequence number: popped data is checked */

static int
put(ngx_ams_jitter_t *j, uint16_t seq, uint64_t now)
{
    uint8_t  b[16];

    memset(b, 0xa5, sizeof(b));
    b[0] = (uint8_t) (seq >> 8);
    b[1] = (uint8_t) seq;

    return ngx_ams_jitter_push(j, seq, b, 2 + seq % 14, now);
}


/* pops all it can at "now" into out[] (their seqs), lost flags into
 * lost[]: their count; -1 when the data does not match the seq */

static int
take(ngx_ams_jitter_t *j, uint64_t now, uint16_t *out, unsigned *lost,
    unsigned max)
{
    int             n;
    size_t          len;
    uint16_t        seq;
    unsigned        l;
    const uint8_t  *p;

    n = 0;

    while ((unsigned) n < max
           && ngx_ams_jitter_pop(j, now, &p, &len, &seq, &l) == 1)
    {
        if (len != 2 + (size_t) (seq % 14) || p[0] != (seq >> 8)
            || p[1] != (seq & 0xff) || (len > 2 && p[2] != 0xa5))
        {
            return -1;
        }

        out[n] = seq;
        lost[n] = l;
        n++;
    }

    return n;
}


static void
test_order(void)
{
    int                      n;
    uint16_t                 s[16];
    unsigned                 l[16];
    ngx_ams_jitter_t        *j;
    ngx_ams_jitter_stats_t   st;

    ok(ngx_ams_jitter_create(0, 100) == NULL
       && ngx_ams_jitter_create(48, 100) == NULL
       && ngx_ams_jitter_create(8192, 100) == NULL,
       "slots: 0, not a power of two, over 4096 refused");

    j = ngx_ams_jitter_create(64, 100);
    is_int(ngx_ams_jitter_deadline(j), -1, "empty: no deadline (UINT64_MAX)");
    is_int(take(j, 0, s, l, 16), 0, "empty: nothing");

    put(j, 1000, 0);
    is_int(ngx_ams_jitter_deadline(j), 0, "a packet held: deadline now");
    n = take(j, 0, s, l, 16);
    ok(n == 1 && s[0] == 1000 && !l[0], "in order: given at once");

    /* 1001 overtaken by 1002 and 1003 */
    put(j, 1002, 10);
    put(j, 1003, 11);
    is_int(take(j, 11, s, l, 16), 0, "a hole: nothing given");
    is_int(ngx_ams_jitter_deadline(j), 110, "deadline: noticed + max_delay");
    put(j, 1001, 20);
    n = take(j, 20, s, l, 16);
    ok(n == 3 && s[0] == 1001 && s[1] == 1002 && s[2] == 1003
       && !l[0] && !l[1] && !l[2], "the hole filled: 1001..1003, no loss");

    /* a reversed burst */
    put(j, 1009, 30);
    put(j, 1008, 30);
    put(j, 1007, 30);
    put(j, 1006, 30);
    put(j, 1005, 30);
    put(j, 1004, 30);
    n = take(j, 30, s, l, 16);
    ok(n == 6 && s[0] == 1004 && s[5] == 1009, "a reversed burst: in order");

    ngx_ams_jitter_stats(j, &st);
    ok(st.received == 10 && st.lost == 0 && st.late == 0
       && st.duplicates == 0, "stats: 10 received, nothing lost");

    ngx_ams_jitter_free(j);

    /* before the first pop, packets numbered before the first find their
     * place */
    j = ngx_ams_jitter_create(64, 100);
    put(j, 502, 0);
    put(j, 500, 0);
    put(j, 501, 1);
    n = take(j, 1, s, l, 16);
    ok(n == 3 && s[0] == 500 && s[2] == 502 && !l[0],
       "the first packets reordered: 500, 501, 502");
    is_int(put(j, 499, 2), 1, "after the first pop, an older one is late");
    ngx_ams_jitter_free(j);
}


static void
test_loss(void)
{
    int                      n;
    uint16_t                 s[16];
    unsigned                 l[16];
    ngx_ams_jitter_t        *j;
    ngx_ams_jitter_stats_t   st;

    j = ngx_ams_jitter_create(64, 100);

    put(j, 10, 1000);
    take(j, 1000, s, l, 16);

    /* 11 and 12 lost, noticed at 1000; 14 lost, noticed at 1050 */
    put(j, 13, 1000);
    put(j, 15, 1050);

    is_int(take(j, 1099, s, l, 16), 0, "1 ms before max_delay: nothing");
    is_int(ngx_ams_jitter_deadline(j), 1100, "deadline 1100");

    n = take(j, 1100, s, l, 16);
    ok(n == 1 && s[0] == 13 && l[0], "at max_delay: 13, marked lost");
    is_int(ngx_ams_jitter_deadline(j), 1150, "the next hole's deadline 1150");
    is_int(take(j, 1149, s, l, 16), 0, "14 still waited for");

    /* 14 arrives in time */
    put(j, 14, 1120);
    n = take(j, 1120, s, l, 16);
    ok(n == 2 && s[0] == 14 && s[1] == 15 && !l[0] && !l[1],
       "14 arrives in time: 14, 15, no loss");

    ngx_ams_jitter_stats(j, &st);
    is_int(st.lost, 2, "2 lost");

    /* 11 comes, too late */
    is_int(put(j, 11, 1200), 1, "11 after it was given up on: dropped");
    ngx_ams_jitter_stats(j, &st);
    is_int(st.late, 1, "counted late");

    ngx_ams_jitter_free(j);

    /* full: the hole is given up on at once */
    j = ngx_ams_jitter_create(8, 1000);
    put(j, 1, 0);
    take(j, 0, s, l, 16);
    put(j, 4, 0);
    put(j, 5, 0);
    put(j, 6, 0);
    put(j, 7, 0);
    put(j, 8, 0);
    is_int(take(j, 0, s, l, 16), 0, "2..8 in 7 of 8 slots: waits");
    put(j, 9, 0);
    is_int(ngx_ams_jitter_deadline(j), 0, "full: deadline now");
    n = take(j, 0, s, l, 16);
    ok(n == 6 && s[0] == 4 && l[0] && s[5] == 9 && !l[1],
       "full: 2 and 3 given up on at once, 4..9 given");

    /* a jump further than the buffer holds: starts again there */
    put(j, 100, 10);
    n = take(j, 10, s, l, 16);
    ok(n == 1 && s[0] == 100 && l[0], "a jump of 91: given, marked lost");
    ngx_ams_jitter_stats(j, &st);
    is_int(st.lost, 2 + 90, "the 90 skipped counted lost");
    put(j, 102, 11);
    put(j, 101, 11);
    n = take(j, 11, s, l, 16);
    ok(n == 2 && s[0] == 101 && s[1] == 102, "and goes on from there");

    ngx_ams_jitter_free(j);
}


static void
test_wrap(void)
{
    int                      n;
    uint16_t                 s[32];
    unsigned                 l[32], i, in_order;
    ngx_ams_jitter_t        *j;
    ngx_ams_jitter_stats_t   st;

    j = ngx_ams_jitter_create(64, 100);

    put(j, 65530, 0);
    take(j, 0, s, l, 32);

    /* across the wrap, reordered: 65532 65531 0 65534 65533 1 65535 2 */
    put(j, 65532, 1);
    put(j, 65531, 1);
    put(j, 0, 2);
    put(j, 65534, 2);
    put(j, 65533, 2);
    put(j, 1, 3);
    put(j, 65535, 3);
    put(j, 2, 4);

    n = take(j, 4, s, l, 32);
    in_order = (n == 8);
    for (i = 0; in_order && i < 8; i++) {
        in_order = s[i] == (uint16_t) (65531 + i) && !l[i];
    }

    ok(in_order, "across 65535: 65531..2 in order, no loss");

    /* a hole across the wrap */
    put(j, 5, 10);                  /* 3 and 4 missing */
    n = take(j, 110, s, l, 32);
    ok(n == 1 && s[0] == 5 && l[0], "a hole at 3, 4 given up on: 5");

    /* many wraps in order */
    for (i = 0; i < 3 * 65536; i++) {
        put(j, (uint16_t) (6 + i), 200);
        if (take(j, 200, s, l, 32) != 1 || s[0] != (uint16_t) (6 + i)) {
            break;
        }
    }

    is_int(i, 3 * 65536, "three wraps in order, one at a time");
    ngx_ams_jitter_stats(j, &st);
    is_int(st.lost, 2, "and nothing more lost");

    ngx_ams_jitter_free(j);
}


static void
test_duplicates(void)
{
    uint16_t                 s[16];
    unsigned                 l[16];
    uint8_t                  big[NGX_AMS_RTP_MAX_PACKET + 1];
    ngx_ams_jitter_t        *j;
    ngx_ams_jitter_stats_t   st;

    j = ngx_ams_jitter_create(64, 100);

    is_int(put(j, 7, 0), 0, "kept");
    is_int(put(j, 7, 0), 1, "the same again before pop: dropped");
    take(j, 0, s, l, 16);
    is_int(put(j, 7, 1), 1, "the same again after pop: dropped");

    put(j, 9, 2);
    is_int(put(j, 9, 2), 1, "a duplicate behind a hole: dropped");

    memset(big, 0, sizeof(big));
    is_int(ngx_ams_jitter_push(j, 8, big, sizeof(big), 3), 1,
           "over NGX_AMS_RTP_MAX_PACKET: dropped");
    is_int(ngx_ams_jitter_push(j, 8, big, 0, 3), 1, "empty: dropped");

    ngx_ams_jitter_stats(j, &st);
    ok(st.duplicates == 3 && st.late == 0 && st.received == 7,
       "3 duplicates, none late, 7 received");

    is_int(take(j, 3, s, l, 16), 0, "8 still waited for");
    put(j, 8, 4);
    is_int(take(j, 4, s, l, 16), 2, "then 8 and 9");

    ngx_ams_jitter_free(j);
}


static void
test_nack(void)
{
    unsigned                 n;
    uint16_t                 q[16];
    ngx_ams_jitter_t        *j;
    ngx_ams_jitter_stats_t   st;

    j = ngx_ams_jitter_create(64, 1000);

    is_int(ngx_ams_jitter_missing(j, 0, 50, q, 16), 0, "empty: none");

    put(j, 65534, 0);
    put(j, 1, 0);                   /* 65535 and 0 missing */

    n = ngx_ams_jitter_missing(j, 0, 50, q, 16);
    ok(n == 2 && q[0] == 65535 && q[1] == 0, "65535 and 0 asked for");
    is_int(ngx_ams_jitter_missing(j, 49, 50, q, 16), 0,
           "not again within an rtt");

    put(j, 4, 10);                  /* 2 and 3 missing */
    n = ngx_ams_jitter_missing(j, 10, 50, q, 16);
    ok(n == 2 && q[0] == 2 && q[1] == 3, "a new hole asked for at once");

    n = ngx_ams_jitter_missing(j, 50, 50, q, 16);
    ok(n == 2 && q[0] == 65535 && q[1] == 0, "after an rtt: again");

    n = ngx_ams_jitter_missing(j, 100, 50, q, 1);
    ok(n == 1 && q[0] == 65535, "max 1: only the first");
    n = ngx_ams_jitter_missing(j, 100, 50, q, 16);
    ok(n == 3 && q[0] == 0 && q[1] == 2 && q[2] == 3,
       "the rest at the next call");

    n = ngx_ams_jitter_missing(j, 200, 50, q, 16);
    ok(n == 2 && q[0] == 2 && q[1] == 3,
       "65535 and 0 asked for 3 times: not again");

    n = ngx_ams_jitter_missing(j, 300, 50, q, 16);
    is_int(n, 0, "each at most 3 times");

    /* 0 comes back */
    put(j, 0, 310);
    ngx_ams_jitter_stats(j, &st);
    ok(st.recovered == 1 && st.nacked == 12,
       "a recovered packet counted; 12 asked for");

    ngx_ams_jitter_free(j);

    /* what pop gave up on is not asked for */
    j = ngx_ams_jitter_create(64, 100);
    put(j, 1, 0);
    put(j, 3, 0);
    {
        uint16_t  s[4];
        unsigned  l[4];

        take(j, 200, s, l, 4);
    }
    is_int(ngx_ams_jitter_missing(j, 200, 50, q, 16), 0,
           "a hole given up on: not asked for");
    ngx_ams_jitter_free(j);
}


static void
test_restart(void)
{
    int                      n;
    uint16_t                 s[64];
    unsigned                 l[64], i;
    ngx_ams_jitter_t        *j;

    /* a sender that goes on 20000 lower: late at first, then followed */
    j = ngx_ams_jitter_create(64, 100);
    put(j, 30000, 0);
    take(j, 0, s, l, 64);

    for (i = 0; i < 31; i++) {
        if (put(j, (uint16_t) (10000 + i), 1) != 1) {
            break;
        }
    }

    is_int(i, 31, "31 far behind: dropped as late");
    is_int(put(j, 10031, 1), 0, "the 32nd: kept, the buffer starts again");
    n = take(j, 1, s, l, 64);
    ok(n == 1 && s[0] == 10031 && l[0], "given, marked lost");
    put(j, 10032, 2);
    n = take(j, 2, s, l, 64);
    ok(n == 1 && s[0] == 10032 && !l[0], "and followed");

    ngx_ams_jitter_free(j);
}


int
main(void)
{
    test_order();
    test_loss();
    test_wrap();
    test_duplicates();
    test_nack();
    test_restart();

    return done_testing();
}
