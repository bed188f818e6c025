
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: the rung chooser and rung names.
 *
 * Byte 0 is the id's length (mod 16) for the name parser, run on the
 * rest.  Then the same bytes drive the chooser: byte 1 the number of
 * candidates, then samples of 4 bytes (ms to advance, estimate in
 * 10 kb/s units (2 bytes), loss; 255 is "no report").  Checked: the
 * choice is always a candidate, it moves at most once per
 * NGX_AMS_RUNG_DOWN_MS and up by one at a time.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ngx_ams_rung.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                  id_len, i;
    unsigned                h, k, n, prev, cur;
    uint64_t                now, changed, br[NGX_AMS_RUNG_MAX];
    ngx_ams_rung_chooser_t  c;

    if (size < 2) {
        return 0;
    }

    id_len = data[0] % 16;

    if (id_len <= size - 1) {
        (void) ngx_ams_rung_parse_name(data + 1, size - 1, data + 1, id_len,
                                       &h, &k);
    }

    n = data[1] % (NGX_AMS_RUNG_MAX + 2);

    for (i = 0; i < NGX_AMS_RUNG_MAX; i++) {
        br[i] = (uint64_t) (NGX_AMS_RUNG_MAX - i) * 400000;
    }

    now = 0;
    changed = 0;
    ngx_ams_rung_chooser_init(&c, br, n, 0, now);
    prev = c.current;

    for (i = 2; i + 4 <= size; i += 4) {
        now += data[i] * 20;
        cur = ngx_ams_rung_choose(&c, now,
                                  (uint64_t) (data[i + 1] << 8 | data[i + 2])
                                  * 10000,
                                  data[i + 3] == 255 ? -1 : data[i + 3]);

        if ((n > 1 && cur >= (n < NGX_AMS_RUNG_MAX ? n : NGX_AMS_RUNG_MAX))
            || (cur != prev && now - changed < NGX_AMS_RUNG_DOWN_MS
                && changed != 0)
            || (cur + 1 < prev))
        {
            abort();
        }

        if (cur != prev) {
            changed = now;
        }

        prev = cur;
    }

    return 0;
}
