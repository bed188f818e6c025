
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: an RTP packet as it comes out of SRTP: the header, its
 * extensions looked up by every id, the header written again from what
 * was read (which must read back the same), and the input's bytes as
 * sequence numbers and packets of the retransmission history.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ngx_ams_rtp.h"


static ngx_ams_rtp_history_t  *history;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                 i, n, len, hl;
    uint16_t               seq;
    uint64_t               e;
    const uint8_t         *d, *got;
    ngx_ams_rtp_header_t   h, h2;
    ngx_ams_rtp_seq_ext_t  x;
    uint8_t                out[NGX_AMS_RTP_MAX_PACKET + 64];

    if (history == NULL) {
        history = ngx_ams_rtp_history_create(16);
    }

    if (ngx_ams_rtp_parse(data, size, &h) == 0) {
        if (h.header_len + h.payload_len > size
            || h.payload + h.payload_len > data + size
            || (h.ext && h.ext + h.ext_len > data + size))
        {
            __builtin_trap();
        }

        for (i = 1; i < 256; i++) {
            if (ngx_ams_rtp_ext_find(&h, (unsigned) i, &d, &len)) {
                if (d < h.ext || d + len > h.ext + h.ext_len) {
                    __builtin_trap();
                }
            }
        }

        /* written again: the same fields, the same extension elements */
        if ((h.ext == NULL || h.ext_profile == 0xBEDE)
            && h.ext_len + h.payload_len + 16 <= sizeof(out))
        {
            hl = ngx_ams_rtp_write_header(out, h.pt, h.marker, h.seq, h.ts,
                                          h.ssrc, h.ext, h.ext_len);
            memcpy(out + hl, h.payload, h.payload_len);

            if (ngx_ams_rtp_parse(out, hl + h.payload_len, &h2) != 0
                || h2.pt != h.pt || h2.marker != h.marker
                || h2.seq != h.seq || h2.ts != h.ts || h2.ssrc != h.ssrc
                || h2.ext_len != h.ext_len
                || h2.payload_len != h.payload_len
                || memcmp(h2.payload, h.payload, h.payload_len) != 0)
            {
                __builtin_trap();
            }
        }
    }

    /* pairs of bytes as sequence numbers: the low 16 bits come back */
    memset(&x, 0, sizeof(x));

    for (i = 0; i + 1 < size && i < 512; i += 2) {
        seq = (uint16_t) (data[i] << 8 | data[i + 1]);
        e = ngx_ams_rtp_seq_extend(&x, seq);

        if ((uint16_t) e != seq || (int64_t) e > (int64_t) x.highest) {
            __builtin_trap();
        }
    }

    /* the input cut into packets put into and read from the history */
    for (i = 0; i + 3 <= size; i += 3 + n) {
        seq = (uint16_t) (data[i] << 8 | data[i + 1]);
        n = data[i + 2];

        if (n > size - i - 3) {
            n = size - i - 3;
        }

        ngx_ams_rtp_history_put(history, seq, data + i + 3, n);
        got = ngx_ams_rtp_history_get(history, seq, &len);

        if (n == 0 ? got != NULL
                   : got == NULL || len != n || memcmp(got, data + i + 3, n))
        {
            __builtin_trap();
        }
    }

    return 0;
}
