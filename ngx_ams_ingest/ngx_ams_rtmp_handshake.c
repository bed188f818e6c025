
/*
 * Copyright (C) nginx-ams authors
 */


#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "ngx_ams_rtmp_handshake.h"


#define NGX_AMS_DIGEST_LEN   32


/* the well-known keys: a text prefix then 32 shared bytes */
static const uint8_t  ngx_ams_rtmp_fms_key[] = {
    'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ',
    'F', 'l', 'a', 's', 'h', ' ', 'M', 'e', 'd', 'i', 'a', ' ',
    'S', 'e', 'r', 'v', 'e', 'r', ' ', '0', '0', '1',
    0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1,
    0x02, 0x9e, 0x7e, 0x57, 0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab,
    0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae
};

static const uint8_t  ngx_ams_rtmp_fp_key[] = {
    'G', 'e', 'n', 'u', 'i', 'n', 'e', ' ', 'A', 'd', 'o', 'b', 'e', ' ',
    'F', 'l', 'a', 's', 'h', ' ', 'P', 'l', 'a', 'y', 'e', 'r', ' ',
    '0', '0', '1',
    0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1,
    0x02, 0x9e, 0x7e, 0x57, 0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab,
    0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae
};

#define NGX_AMS_FMS_KEY_TEXT  36
#define NGX_AMS_FP_KEY_TEXT   30


static void
ngx_ams_rtmp_hmac(const uint8_t *key, size_t key_len, const uint8_t *a,
    size_t a_len, const uint8_t *b, size_t b_len, uint8_t *out)
{
    unsigned int   len = NGX_AMS_DIGEST_LEN;
    uint8_t        msg[NGX_AMS_RTMP_HANDSHAKE_SIZE];

    /* the digest covers the packet without the digest itself */
    memcpy(msg, a, a_len);
    memcpy(msg + a_len, b, b_len);

    HMAC(EVP_sha256(), key, (int) key_len, msg, a_len + b_len, out, &len);
}


size_t
ngx_ams_rtmp_digest_offset(const uint8_t *p, int scheme)
{
    size_t  base = (scheme == 0) ? 8 : 772;

    return ((size_t) p[base] + p[base + 1] + p[base + 2] + p[base + 3])
           % 728 + base + 4;
}


int
ngx_ams_rtmp_digest_check(const uint8_t *p, int scheme, const uint8_t *key,
    size_t key_len)
{
    size_t   off;
    uint8_t  digest[NGX_AMS_DIGEST_LEN];

    off = ngx_ams_rtmp_digest_offset(p, scheme);

    ngx_ams_rtmp_hmac(key, key_len, p, off, p + off + NGX_AMS_DIGEST_LEN,
                      NGX_AMS_RTMP_HANDSHAKE_SIZE - off - NGX_AMS_DIGEST_LEN,
                      digest);

    return memcmp(digest, p + off, NGX_AMS_DIGEST_LEN) == 0 ? 0 : -1;
}


void
ngx_ams_rtmp_digest_write(uint8_t *p, int scheme, const uint8_t *key,
    size_t key_len)
{
    size_t  off;

    off = ngx_ams_rtmp_digest_offset(p, scheme);

    ngx_ams_rtmp_hmac(key, key_len, p, off, p + off + NGX_AMS_DIGEST_LEN,
                      NGX_AMS_RTMP_HANDSHAKE_SIZE - off - NGX_AMS_DIGEST_LEN,
                      p + off);
}


int
ngx_ams_rtmp_handshake_respond(const uint8_t *c0c1, uint8_t *s0s1s2,
    uint32_t epoch, int *digest, const char **err)
{
    int             scheme;
    size_t          off;
    uint8_t         key[NGX_AMS_DIGEST_LEN];
    unsigned int    len;
    const uint8_t  *c1;
    uint8_t        *s1, *s2;

    if (c0c1[0] != NGX_AMS_RTMP_VERSION) {
        *err = (c0c1[0] == 0x16) ? "TLS on a plain RTMP port"
                                 : "unsupported RTMP version in C0";
        return -1;
    }

    c1 = c0c1 + 1;
    s1 = s0s1s2 + 1;
    s2 = s1 + NGX_AMS_RTMP_HANDSHAKE_SIZE;

    s0s1s2[0] = NGX_AMS_RTMP_VERSION;

    if (RAND_bytes(s1, 2 * NGX_AMS_RTMP_HANDSHAKE_SIZE) != 1) {
        *err = "no random bytes";
        return -1;
    }

    s1[0] = (uint8_t) (epoch >> 24);
    s1[1] = (uint8_t) (epoch >> 16);
    s1[2] = (uint8_t) (epoch >> 8);
    s1[3] = (uint8_t) epoch;

    scheme = -1;

    /* a zero version field in C1 means the plain handshake */
    if (c1[4] || c1[5] || c1[6] || c1[7]) {
        if (ngx_ams_rtmp_digest_check(c1, 0, ngx_ams_rtmp_fp_key,
                                      NGX_AMS_FP_KEY_TEXT) == 0)
        {
            scheme = 0;

        } else if (ngx_ams_rtmp_digest_check(c1, 1, ngx_ams_rtmp_fp_key,
                                             NGX_AMS_FP_KEY_TEXT) == 0)
        {
            scheme = 1;
        }
    }

    if (scheme == -1) {
        /* plain: S1 says version 0, S2 echoes C1 */
        memset(s1 + 4, 0, 4);
        memcpy(s2, c1, NGX_AMS_RTMP_HANDSHAKE_SIZE);
        *digest = 0;
        return 0;
    }

    /* digest: S1 signed with the server key, S2 with a key derived from
     * the client's digest */
    s1[4] = 4; s1[5] = 5; s1[6] = 0; s1[7] = 1;
    ngx_ams_rtmp_digest_write(s1, scheme, ngx_ams_rtmp_fms_key,
                              NGX_AMS_FMS_KEY_TEXT);

    off = ngx_ams_rtmp_digest_offset(c1, scheme);
    len = sizeof(key);
    HMAC(EVP_sha256(), ngx_ams_rtmp_fms_key, sizeof(ngx_ams_rtmp_fms_key),
         c1 + off, NGX_AMS_DIGEST_LEN, key, &len);

    len = NGX_AMS_DIGEST_LEN;
    HMAC(EVP_sha256(), key, sizeof(key), s2,
         NGX_AMS_RTMP_HANDSHAKE_SIZE - NGX_AMS_DIGEST_LEN,
         s2 + NGX_AMS_RTMP_HANDSHAKE_SIZE - NGX_AMS_DIGEST_LEN, &len);

    *digest = 1;

    return 0;
}
