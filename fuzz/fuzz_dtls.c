
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: datagrams from a peer into a fresh DTLS server endpoint, as
 * the transport hands them over before and during a handshake.  The
 * input is a sequence of datagrams, each after its length (two bytes,
 * big-endian); what does not parse so is the last datagram.  The seeds
 * are captured client flights.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_ams_dtls.h"


static ngx_ams_dtls_ctx_t  *ctx;
static size_t               sent;


static int
fuzz_send(void *data, const uint8_t *p, size_t len)
{
    sent += len;

    if (len > NGX_AMS_DTLS_MTU) {
        abort();
    }

    return 0;
}


static void
fuzz_recv(void *data, const uint8_t *p, size_t len)
{
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int              rc;
    size_t           n, ksl;
    uint8_t          fp[32], local[NGX_AMS_SRTP_MAX_KEY_SALT];
    uint8_t          remote[NGX_AMS_SRTP_MAX_KEY_SALT];
    unsigned         profile;
    const char      *err;
    ngx_ams_dtls_t  *d;

    if (ctx == NULL) {
        /* one certificate for the run: making one per input is slow */
        ctx = ngx_ams_dtls_ctx_create(&err);
        if (ctx == NULL) {
            abort();
        }
    }

    memset(fp, 0x5a, sizeof(fp));

    d = ngx_ams_dtls_create(ctx, 0, fp, fuzz_send, fuzz_recv, NULL);
    if (d == NULL) {
        return 0;
    }

    while (size) {
        n = size;

        if (size >= 2) {
            n = (size_t) data[0] << 8 | data[1];

            if (n <= size - 2) {
                data += 2;
                size -= 2;

            } else {
                n = size;
            }
        }

        rc = ngx_ams_dtls_input(d, data, n);

        if (rc == NGX_AMS_DTLS_CONNECTED || rc == NGX_AMS_DTLS_OK) {
            /* the fingerprint cannot match: never connected */
            abort();
        }

        data += n;
        size -= n;

        if (rc == NGX_AMS_DTLS_ERROR) {
            (void) ngx_ams_dtls_error(d);
            break;
        }
    }

    (void) ngx_ams_dtls_timeout(d);

    if (ngx_ams_dtls_srtp_keys(d, &profile, local, remote, &ksl) == 0) {
        abort();
    }

    ngx_ams_dtls_free(d);

    return 0;
}
