
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: a compound RTCP packet walked item by item; every SR, RR,
 * NACK and REMB read is written again with our writers and must read
 * back the same.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ngx_ams_rtcp.h"


static void
fuzz_check(const ngx_ams_rtcp_item_t *a)
{
    size_t                n;
    unsigned              i, j, found;
    uint8_t               out[2048];
    ngx_ams_rtcp_iter_t   it;
    static ngx_ams_rtcp_item_t  b;

    n = 0;

    if (a->nreports > NGX_AMS_RTCP_MAX_REPORTS
        || a->nnacks > NGX_AMS_RTCP_MAX_NACKS || a->nremb_ssrcs > 8
        || a->nfirs > 8)
    {
        __builtin_trap();
    }

    if (a->type == NGX_AMS_RTCP_SR && a->nreports == 0) {
        n = ngx_ams_rtcp_write_sr(out, sizeof(out), a->sender_ssrc, a->ntp,
                                  a->rtp_ts, a->packets, a->octets);

    } else if (a->type == NGX_AMS_RTCP_RR) {
        n = ngx_ams_rtcp_write_rr(out, sizeof(out), a->sender_ssrc,
                                  a->report, a->nreports);

    } else if (a->type == NGX_AMS_RTCP_RTPFB && a->fmt == 1) {
        n = ngx_ams_rtcp_write_nack(out, sizeof(out), a->sender_ssrc,
                                    a->media_ssrc, a->nack, a->nnacks);

    } else if (a->type == NGX_AMS_RTCP_PSFB && a->fmt == 15
               && a->remb_bitrate)
    {
        n = ngx_ams_rtcp_write_remb(out, sizeof(out), a->sender_ssrc,
                                    a->remb_bitrate, a->remb_ssrc,
                                    a->nremb_ssrcs);
    }

    if (n == 0) {
        return;
    }

    ngx_ams_rtcp_iter_init(&it, out, n);

    if (ngx_ams_rtcp_next(&it, &b) != 1 || ngx_ams_rtcp_next(&it, &b) != 0) {
        __builtin_trap();
    }

    ngx_ams_rtcp_iter_init(&it, out, n);
    (void) ngx_ams_rtcp_next(&it, &b);

    if (b.type != a->type || b.sender_ssrc != a->sender_ssrc) {
        __builtin_trap();
    }

    switch (a->type) {

    case NGX_AMS_RTCP_SR:
        if (b.ntp != a->ntp || b.rtp_ts != a->rtp_ts
            || b.packets != a->packets || b.octets != a->octets)
        {
            __builtin_trap();
        }

        break;

    case NGX_AMS_RTCP_RR:
        if (b.nreports != a->nreports
            || memcmp(b.report, a->report,
                      a->nreports * sizeof(ngx_ams_rtcp_report_t)) != 0)
        {
            __builtin_trap();
        }

        break;

    case NGX_AMS_RTCP_RTPFB:
        if (b.media_ssrc != a->media_ssrc) {
            __builtin_trap();
        }

        /* the same set, each way (duplicates are written once) */
        for (i = 0; i < b.nnacks; i++) {
            for (found = 0, j = 0; j < a->nnacks && !found; j++) {
                found = b.nack[i] == a->nack[j];
            }

            if (!found) {
                __builtin_trap();
            }
        }

        if (b.nnacks < NGX_AMS_RTCP_MAX_NACKS) {
            for (i = 0; i < a->nnacks; i++) {
                for (found = 0, j = 0; j < b.nnacks && !found; j++) {
                    found = a->nack[i] == b.nack[j];
                }

                if (!found) {
                    __builtin_trap();
                }
            }
        }

        break;

    default:
        if (b.remb_bitrate != a->remb_bitrate
            || b.nremb_ssrcs != a->nremb_ssrcs
            || memcmp(b.remb_ssrc, a->remb_ssrc, a->nremb_ssrcs * 4) != 0)
        {
            __builtin_trap();
        }

        break;
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                          rc;
    unsigned                     items;
    ngx_ams_rtcp_iter_t          it;
    static ngx_ams_rtcp_item_t   item;

    ngx_ams_rtcp_iter_init(&it, data, size);

    for (items = 0; (rc = ngx_ams_rtcp_next(&it, &item)) == 1; items++) {
        fuzz_check(&item);

        if (items > size / 4) {
            __builtin_trap();
        }
    }

    /* a failure ends the walk */
    if (rc == -1 && ngx_ams_rtcp_next(&it, &item) != 0) {
        __builtin_trap();
    }

    (void) ngx_ams_rtcp_is_rtcp(data, size);

    return 0;
}
