
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: a datagram as the WebRTC transport meets it on its UDP port:
 * demultiplexed by its first byte, parsed as STUN, its MESSAGE-INTEGRITY
 * checked with the password of RFC 5769's samples, its USERNAME split,
 * and answered as the transport would (success, 400, 401 or 420).  The
 * answer must parse back with a correct FINGERPRINT, its
 * MESSAGE-INTEGRITY must verify and its address must be the peer's: a
 * writer that does not read back as its own parser wants aborts.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "ngx_ams_stun.h"


static const uint8_t  key[] = "VOkJxbRl1RmTxUk/WvJxBt";


static void
ngx_ams_fuzz_check_answer(const uint8_t *out, size_t n, int with_key,
    const uint8_t txid[12], const struct sockaddr *peer)
{
    ngx_ams_stun_msg_t        m;
    struct sockaddr_storage   ss;

    if (n == 0 || n > 128) {
        abort();
    }

    if (ngx_ams_stun_parse(out, n, &m) != NGX_AMS_STUN_OK
        || !m.has_fingerprint || memcmp(m.txid, txid, 12) != 0)
    {
        abort();
    }

    if (with_key
        && !ngx_ams_stun_check_integrity(out, n, &m, key, sizeof(key) - 1))
    {
        abort();
    }

    if (peer == NULL) {
        return;
    }

    if (!ngx_ams_stun_xor_mapped_address(&m, &ss)
        || ss.ss_family != peer->sa_family)
    {
        abort();
    }

    if (peer->sa_family == AF_INET
        && memcmp(&((struct sockaddr_in *) &ss)->sin_addr,
                  &((const struct sockaddr_in *) peer)->sin_addr, 4) != 0)
    {
        abort();
    }

    if (peer->sa_family == AF_INET6
        && memcmp(&((struct sockaddr_in6 *) &ss)->sin6_addr,
                  &((const struct sockaddr_in6 *) peer)->sin6_addr, 16)
           != 0)
    {
        abort();
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   rc, authentic;
    size_t                n, ll, rl;
    uint8_t               out[128];
    const uint8_t        *l, *r;
    ngx_ams_stun_msg_t    m;
    struct sockaddr_in    sin;
    struct sockaddr_in6   sin6;
    const struct sockaddr  *peer;

    (void) ngx_ams_rtc_classify(data, size);

    rc = ngx_ams_stun_parse(data, size, &m);

    if (rc != NGX_AMS_STUN_OK && rc != NGX_AMS_STUN_MALFORMED) {
        return 0;
    }

    if (rc == NGX_AMS_STUN_MALFORMED) {
        n = ngx_ams_stun_binding_error(out, sizeof(out), m.txid, 400,
                                       "Bad Request", NULL, 0, NULL, 0);
        ngx_ams_fuzz_check_answer(out, n, 0, m.txid, NULL);
        return 0;
    }

    if (m.username) {
        (void) ngx_ams_stun_split_username(m.username, m.username_len, &l,
                                           &ll, &r, &rl);
    }

    authentic = ngx_ams_stun_check_integrity(data, size, &m, key,
                                             sizeof(key) - 1);

    if (m.nunknown) {
        n = ngx_ams_stun_binding_error(out, sizeof(out), m.txid, 420,
                                       "Unknown Attribute", m.unknown,
                                       m.nunknown, key, sizeof(key) - 1);
        ngx_ams_fuzz_check_answer(out, n, 1, m.txid, NULL);
    }

    if (!authentic) {
        n = ngx_ams_stun_binding_error(out, sizeof(out), m.txid, 401,
                                       "Unauthorized", NULL, 0, NULL, 0);
        ngx_ams_fuzz_check_answer(out, n, 0, m.txid, NULL);
    }

    /* the peer's address from the transaction id, both families */
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    memcpy(&sin.sin_port, m.txid, 2);
    memcpy(&sin.sin_addr, m.txid + 2, 4);

    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    memcpy(&sin6.sin6_port, m.txid + 10, 2);
    memcpy(&sin6.sin6_addr, data + size - 16, 16);

    peer = (m.txid[11] & 1) ? (const struct sockaddr *) &sin6
                            : (const struct sockaddr *) &sin;

    n = ngx_ams_stun_binding_success(out, sizeof(out), m.txid, peer, key,
                                     sizeof(key) - 1);
    ngx_ams_fuzz_check_answer(out, n, 1, m.txid, peer);

    return 0;
}
