
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: SRTP and SRTCP packets from a peer into libsrtp2 through
 * ngx_ams_srtp_unprotect*() (libsrtp2 walks the RTP header, its CSRCs
 * and extension before it checks the tag).  The first byte picks the
 * profile (bit 0) and RTP or RTCP (bit 1); the rest is the packet.  The
 * seeds are packets protected with the keys below, so they pass.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_ams_dtls.h"
#include "ngx_ams_srtp.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                     rc;
    size_t                  len;
    uint8_t                *p;
    ngx_ams_srtp_t         *s;
    static uint8_t          local[30], remote[30];
    static ngx_ams_srtp_t  *gcm, *cm;

    if (gcm == NULL) {
        memset(local, 0x11, sizeof(local));
        memset(remote, 0x22, sizeof(remote));

        gcm = ngx_ams_srtp_create(NGX_AMS_SRTP_AEAD_AES_128_GCM, local,
                                  remote, 28);
        cm = ngx_ams_srtp_create(NGX_AMS_SRTP_AES128_CM_SHA1_80, local,
                                 remote, 30);
        if (gcm == NULL || cm == NULL) {
            abort();
        }
    }

    if (size < 1) {
        return 0;
    }

    s = (data[0] & 1) ? cm : gcm;
    len = size - 1;

    /* a buffer of the packet's own size: reads past it are caught */
    p = malloc(len ? len : 1);
    if (p == NULL) {
        return 0;
    }

    memcpy(p, data + 1, len);

    if (data[0] & 2) {
        rc = ngx_ams_srtp_unprotect_rtcp(s, p, &len);

    } else {
        rc = ngx_ams_srtp_unprotect(s, p, &len);
    }

    if (rc == NGX_AMS_SRTP_OK && len > size - 1) {
        abort();
    }

    free(p);

    return 0;
}
