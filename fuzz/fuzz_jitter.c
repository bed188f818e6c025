
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: the jitter buffer.
 *
 * Byte 0 picks the slots (1 << (it % 13)), byte 1 max_delay (ms).  Then
 * operations, each one byte (bits 0-1) with its argument bytes:
 *   0 push [seq step, signed byte] (bits 2-7: ms to advance)
 *   1 pop everything due
 *   2 missing [rtt byte]
 *   3 push [seq, 2 bytes] (far jumps)
 * Checked: a packet popped holds the bytes pushed for its sequence
 * number; one popped without the lost flag follows the last popped;
 * pop() gives something exactly when deadline() says it is due; the NACK
 * list never overflows "max".
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ngx_ams_jitter.h"


/* a packet's bytes are a function of its sequence number */

static size_t
fill(uint8_t *b, uint16_t seq)
{
    size_t  i, n;

    n = 1 + seq % 61;

    for (i = 0; i < n; i++) {
        b[i] = (uint8_t) (seq * 31 + i);
    }

    return n;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                      got;
    size_t                   i, len, n;
    uint8_t                  b[64];
    uint16_t                 seq, out, popped, q[16];
    unsigned                 lost, have_popped, k;
    uint64_t                 now, due;
    const uint8_t           *p;
    ngx_ams_jitter_t        *j;
    ngx_ams_jitter_stats_t   st;

    if (size < 2) {
        return 0;
    }

    j = ngx_ams_jitter_create(1u << (data[0] % 13), data[1]);
    if (j == NULL) {
        __builtin_trap();
    }

    now = 1000;
    seq = 0;
    popped = 0;
    have_popped = 0;

    for (i = 2; i < size; i++) {
        switch (data[i] & 3) {

        case 0:
            now += data[i] >> 2;

            if (i + 1 < size) {
                seq = (uint16_t) (seq + (int8_t) data[++i]);
            }

            n = fill(b, seq);
            ngx_ams_jitter_push(j, seq, b, n, now);
            break;

        case 3:
            if (i + 2 < size) {
                seq = (uint16_t) ((data[i + 1] << 8) | data[i + 2]);
                i += 2;
            }

            n = fill(b, seq);
            ngx_ams_jitter_push(j, seq, b, n, now);
            break;

        case 1:
            for ( ;; ) {
                due = ngx_ams_jitter_deadline(j);
                got = ngx_ams_jitter_pop(j, now, &p, &len, &out, &lost);

                if ((due <= now) != (got == 1)) {
                    __builtin_trap();
                }

                if (got != 1) {
                    break;
                }

                n = fill(b, out);

                if (len != n || memcmp(p, b, n) != 0) {
                    __builtin_trap();
                }

                if (have_popped && !lost && out != (uint16_t) (popped + 1)) {
                    __builtin_trap();
                }

                popped = out;
                have_popped = 1;
            }

            break;

        default: /* 2 */
            k = (i + 1 < size) ? data[++i] : 10;

            if (ngx_ams_jitter_missing(j, now, k, q, 1 + k % 16)
                > 1 + k % 16)
            {
                __builtin_trap();
            }

            now += k;
            break;
        }
    }

    ngx_ams_jitter_stats(j, &st);

    if (st.duplicates + st.late > st.received) {
        __builtin_trap();
    }

    ngx_ams_jitter_free(j);

    return 0;
}
