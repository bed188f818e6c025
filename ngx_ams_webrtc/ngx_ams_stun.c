
/*
 * Copyright (C) nginx-ams authors
 *
 * STUN for an ICE-lite agent (see ngx_ams_stun.h).  Every byte read comes
 * from a peer nobody has authenticated yet, so the parser trusts no
 * length: the header's must equal the datagram's, and each attribute must
 * fit, padding included, before its value is looked at.  Nothing is
 * allocated and nothing is copied: the message points into the datagram.
 *
 * MESSAGE-INTEGRITY's HMAC covers the message up to the attribute with the
 * header's length set as if the attribute were the last one (RFC 8489
 * 14.5); the datagram is not ours to patch, so the HMAC is fed the
 * rewritten header and the rest in two pieces.  OpenSSL 3 deprecates
 * HMAC_CTX, and its EVP_MAC wants an algorithm fetched per process, so
 * HMAC (RFC 2104) is composed here from two EVP SHA-1 digests; the unit
 * test holds it to OpenSSL's HMAC() for keys of every size.
 */


#include <string.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ngx_ams_stun.h"


#define NGX_AMS_STUN_MAPPED_ADDRESS       0x0001
#define NGX_AMS_STUN_USERNAME             0x0006
#define NGX_AMS_STUN_MESSAGE_INTEGRITY    0x0008
#define NGX_AMS_STUN_ERROR_CODE           0x0009
#define NGX_AMS_STUN_UNKNOWN_ATTRIBUTES   0x000A
#define NGX_AMS_STUN_REALM                0x0014
#define NGX_AMS_STUN_NONCE                0x0015
#define NGX_AMS_STUN_MI_SHA256            0x001C
#define NGX_AMS_STUN_XOR_MAPPED_ADDRESS   0x0020
#define NGX_AMS_STUN_PRIORITY             0x0024
#define NGX_AMS_STUN_USE_CANDIDATE        0x0025
#define NGX_AMS_STUN_SOFTWARE             0x8022
#define NGX_AMS_STUN_FINGERPRINT          0x8028
#define NGX_AMS_STUN_ICE_CONTROLLED       0x8029
#define NGX_AMS_STUN_ICE_CONTROLLING      0x802A

#define NGX_AMS_STUN_FINGERPRINT_XOR      0x5354554e
#define NGX_AMS_STUN_HMAC_LEN             20
#define NGX_AMS_STUN_MI_ATTR_LEN          (4 + NGX_AMS_STUN_HMAC_LEN)
#define NGX_AMS_STUN_FP_ATTR_LEN          8
#define NGX_AMS_STUN_MAX_SOFTWARE         763     /* RFC 8489 14.14 */

#define ngx_ams_stun_pad(n)               (((n) + 3) & ~(size_t) 3)


static uint16_t ngx_ams_stun_get16(const uint8_t *p);
static uint32_t ngx_ams_stun_get32(const uint8_t *p);
static void ngx_ams_stun_put16(uint8_t *p, uint16_t v);
static void ngx_ams_stun_put32(uint8_t *p, uint32_t v);
static uint32_t ngx_ams_stun_crc32(const uint8_t *p, size_t len);
static int ngx_ams_stun_hmac_sha1(const uint8_t *key, size_t key_len,
    const uint8_t *hdr, const uint8_t *body, size_t body_len,
    uint8_t out[NGX_AMS_STUN_HMAC_LEN]);
static int ngx_ams_stun_understood(uint16_t type);
static size_t ngx_ams_stun_header(uint8_t *out, uint16_t type,
    const uint8_t txid[12]);
static size_t ngx_ams_stun_attr(uint8_t *out, uint16_t type,
    const void *value, size_t len, uint8_t pad);
static size_t ngx_ams_stun_finish(uint8_t *out, size_t n,
    const uint8_t *key, size_t key_len);


/* the CRC-32 of ISO-HDLC (zlib's), four bits at a time: the unit tests
 * and fuzz targets link no zlib, and messages are short */
static const uint32_t  ngx_ams_stun_crc_nibble[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
    0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
    0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c
};


int
ngx_ams_rtc_classify(const uint8_t *p, size_t len)
{
    if (len == 0) {
        return NGX_AMS_RTC_UNKNOWN;
    }

    /* RFC 7983 section 7; ZRTP (16..19) and TURN channels (64..79) are
     * not ours */

    if (p[0] <= 3) {
        return NGX_AMS_RTC_STUN;
    }

    if (p[0] >= 20 && p[0] <= 63) {
        return NGX_AMS_RTC_DTLS;
    }

    if (p[0] >= 128 && p[0] <= 191) {
        if (len < 2) {
            return NGX_AMS_RTC_UNKNOWN;
        }

        /* RTCP's packet types 192..223 are RTP's payload types 64..95
         * with the marker bit set; RFC 5761 4 keeps RTP off them */
        if (p[1] >= 192 && p[1] <= 223) {
            return NGX_AMS_RTC_RTCP;
        }

        return NGX_AMS_RTC_RTP;
    }

    return NGX_AMS_RTC_UNKNOWN;
}


int
ngx_ams_stun_parse(const uint8_t *p, size_t len, ngx_ams_stun_msg_t *m)
{
    size_t          off, alen, end;
    uint16_t        atype;
    const uint8_t  *v;

    memset(m, 0, sizeof(ngx_ams_stun_msg_t));

    if (len < NGX_AMS_STUN_HEADER_LEN || (p[0] & 0xc0) != 0
        || ngx_ams_stun_get32(p + 4) != NGX_AMS_STUN_MAGIC_COOKIE)
    {
        return NGX_AMS_STUN_NOT_STUN;
    }

    m->type = ngx_ams_stun_get16(p);
    m->length = ngx_ams_stun_get16(p + 2);

    if ((m->length & 3) != 0
        || (size_t) m->length != len - NGX_AMS_STUN_HEADER_LEN)
    {
        return NGX_AMS_STUN_NOT_STUN;
    }

    memcpy(m->txid, p + 8, 12);

    end = len;
    off = NGX_AMS_STUN_HEADER_LEN;

    while (off < end) {

        if (end - off < 4) {
            return NGX_AMS_STUN_MALFORMED;
        }

        atype = ngx_ams_stun_get16(p + off);
        alen = ngx_ams_stun_get16(p + off + 2);

        if (ngx_ams_stun_pad(alen) > end - off - 4) {
            return NGX_AMS_STUN_MALFORMED;
        }

        v = p + off + 4;

        if (atype == NGX_AMS_STUN_FINGERPRINT) {
            if (alen != 4 || off + NGX_AMS_STUN_FP_ATTR_LEN != end) {
                return NGX_AMS_STUN_MALFORMED;
            }

            if ((ngx_ams_stun_crc32(p, off) ^ NGX_AMS_STUN_FINGERPRINT_XOR)
                != ngx_ams_stun_get32(v))
            {
                return NGX_AMS_STUN_BAD_FINGERPRINT;
            }

            m->has_fingerprint = 1;
            break;
        }

        /* after MESSAGE-INTEGRITY only FINGERPRINT counts (8489 14.5),
         * but the rest must still fit, so the walk goes on */
        if (m->has_integrity) {
            off += 4 + ngx_ams_stun_pad(alen);
            continue;
        }

        switch (atype) {

        case NGX_AMS_STUN_USERNAME:
            if (alen > NGX_AMS_STUN_MAX_USERNAME) {
                return NGX_AMS_STUN_MALFORMED;
            }

            if (m->username == NULL) {
                m->username = v;
                m->username_len = alen;
            }

            break;

        case NGX_AMS_STUN_MESSAGE_INTEGRITY:
            if (alen != NGX_AMS_STUN_HMAC_LEN) {
                return NGX_AMS_STUN_MALFORMED;
            }

            m->integrity_offset = off;
            m->has_integrity = 1;
            break;

        case NGX_AMS_STUN_PRIORITY:
            if (alen != 4) {
                return NGX_AMS_STUN_MALFORMED;
            }

            if (!m->has_priority) {
                m->priority = ngx_ams_stun_get32(v);
                m->has_priority = 1;
            }

            break;

        case NGX_AMS_STUN_USE_CANDIDATE:
            if (alen != 0) {
                return NGX_AMS_STUN_MALFORMED;
            }

            m->use_candidate = 1;
            break;

        case NGX_AMS_STUN_ICE_CONTROLLED:
        case NGX_AMS_STUN_ICE_CONTROLLING:
            if (alen != 8) {
                return NGX_AMS_STUN_MALFORMED;
            }

            if (!m->ice_controlled && !m->ice_controlling) {
                m->tiebreaker = (uint64_t) ngx_ams_stun_get32(v) << 32
                                | ngx_ams_stun_get32(v + 4);
            }

            if (atype == NGX_AMS_STUN_ICE_CONTROLLED) {
                m->ice_controlled = 1;

            } else {
                m->ice_controlling = 1;
            }

            break;

        case NGX_AMS_STUN_XOR_MAPPED_ADDRESS:
            if (alen != 8 && alen != 20) {
                return NGX_AMS_STUN_MALFORMED;
            }

            if (m->xor_mapped == NULL) {
                m->xor_mapped = v;
                m->xor_mapped_len = alen;
            }

            break;

        case NGX_AMS_STUN_ERROR_CODE:
            /* 4 bytes, then a reason of at most 763 */
            if (alen < 4 || alen > 4 + 763) {
                return NGX_AMS_STUN_MALFORMED;
            }

            if (m->error_code == 0) {
                m->error_code = (v[2] & 7) * 100 + v[3];
            }

            break;

        default:
            /* comprehension-required, and not one of ours: 420 */
            if (atype < 0x8000 && !ngx_ams_stun_understood(atype)) {
                if (m->nunknown < NGX_AMS_STUN_MAX_UNKNOWN) {
                    m->unknown[m->nunknown++] = atype;
                }
            }

            break;
        }

        off += 4 + ngx_ams_stun_pad(alen);
    }

    return NGX_AMS_STUN_OK;
}


int
ngx_ams_stun_check_integrity(const uint8_t *p, size_t len,
    const ngx_ams_stun_msg_t *m, const uint8_t *key, size_t key_len)
{
    size_t   off;
    uint8_t  hdr[NGX_AMS_STUN_HEADER_LEN], mac[NGX_AMS_STUN_HMAC_LEN];

    if (!m->has_integrity) {
        return 0;
    }

    off = m->integrity_offset;

    /* the message is the caller's: do not trust that it is the parsed one */
    if (off < NGX_AMS_STUN_HEADER_LEN || len < NGX_AMS_STUN_MI_ATTR_LEN
        || off > len - NGX_AMS_STUN_MI_ATTR_LEN
        || ngx_ams_stun_get16(p + off) != NGX_AMS_STUN_MESSAGE_INTEGRITY
        || ngx_ams_stun_get16(p + off + 2) != NGX_AMS_STUN_HMAC_LEN)
    {
        return 0;
    }

    /* the length as if MESSAGE-INTEGRITY ended the message */
    memcpy(hdr, p, NGX_AMS_STUN_HEADER_LEN);
    ngx_ams_stun_put16(hdr + 2, (uint16_t) (off + NGX_AMS_STUN_MI_ATTR_LEN
                                            - NGX_AMS_STUN_HEADER_LEN));

    if (ngx_ams_stun_hmac_sha1(key, key_len, hdr,
                               p + NGX_AMS_STUN_HEADER_LEN,
                               off - NGX_AMS_STUN_HEADER_LEN, mac)
        != 0)
    {
        return 0;
    }

    return CRYPTO_memcmp(mac, p + off + 4, NGX_AMS_STUN_HMAC_LEN) == 0;
}


size_t
ngx_ams_stun_binding_success(uint8_t *out, size_t cap,
    const uint8_t txid[12], const struct sockaddr *peer,
    const uint8_t *key, size_t key_len)
{
    return ngx_ams_stun_binding_success_software(out, cap, txid, peer, key,
                                                 key_len, NULL);
}


size_t
ngx_ams_stun_binding_success_software(uint8_t *out, size_t cap,
    const uint8_t txid[12], const struct sockaddr *peer,
    const uint8_t *key, size_t key_len, const char *software)
{
    size_t                      n, xa_len, sw_len, need, i;
    uint8_t                     xa[20];
    const struct sockaddr_in   *sin;
    const struct sockaddr_in6  *sin6;

    sw_len = software ? strlen(software) : 0;

    if (sw_len > NGX_AMS_STUN_MAX_SOFTWARE) {
        return 0;
    }

    /* family 1 or 2, then the port and the address xor'ed with the cookie
     * (and, for IPv6, the transaction id after it) */
    xa[0] = 0;

    if (peer->sa_family == AF_INET) {
        sin = (const struct sockaddr_in *) peer;
        xa[1] = 0x01;
        memcpy(xa + 2, &sin->sin_port, 2);
        memcpy(xa + 4, &sin->sin_addr, 4);
        xa_len = 8;

    } else if (peer->sa_family == AF_INET6) {
        sin6 = (const struct sockaddr_in6 *) peer;
        xa[1] = 0x02;
        memcpy(xa + 2, &sin6->sin6_port, 2);
        memcpy(xa + 4, &sin6->sin6_addr, 16);
        xa_len = 20;

    } else {
        return 0;
    }

    xa[2] ^= 0x21;
    xa[3] ^= 0x12;
    xa[4] ^= 0x21;
    xa[5] ^= 0x12;
    xa[6] ^= 0xa4;
    xa[7] ^= 0x42;

    for (i = 8; i < xa_len; i++) {
        xa[i] ^= txid[i - 8];
    }

    need = NGX_AMS_STUN_HEADER_LEN
           + (software ? 4 + ngx_ams_stun_pad(sw_len) : 0)
           + 4 + xa_len
           + (key ? NGX_AMS_STUN_MI_ATTR_LEN : 0)
           + NGX_AMS_STUN_FP_ATTR_LEN;

    if (cap < need) {
        return 0;
    }

    n = ngx_ams_stun_header(out, NGX_AMS_STUN_BINDING_SUCCESS, txid);

    if (software) {
        n += ngx_ams_stun_attr(out + n, NGX_AMS_STUN_SOFTWARE, software,
                               sw_len, ' ');
    }

    n += ngx_ams_stun_attr(out + n, NGX_AMS_STUN_XOR_MAPPED_ADDRESS, xa,
                           xa_len, 0);

    return ngx_ams_stun_finish(out, n, key, key_len);
}


size_t
ngx_ams_stun_binding_error(uint8_t *out, size_t cap,
    const uint8_t txid[12], unsigned code, const char *reason,
    const uint16_t *unknown, unsigned nunknown,
    const uint8_t *key, size_t key_len)
{
    size_t    n, r_len, need;
    unsigned  i;
    uint8_t   ec[4 + NGX_AMS_STUN_MAX_REASON];
    uint8_t   ua[2 * NGX_AMS_STUN_MAX_UNKNOWN];

    if (code < 300 || code > 699) {
        return 0;
    }

    r_len = reason ? strlen(reason) : 0;

    if (r_len > NGX_AMS_STUN_MAX_REASON) {
        /* cut before a UTF-8 continuation byte, not inside a character */
        r_len = NGX_AMS_STUN_MAX_REASON;

        while (r_len > 0 && ((uint8_t) reason[r_len] & 0xc0) == 0x80) {
            r_len--;
        }
    }

    if (code != 420) {
        nunknown = 0;
    }

    if (nunknown > NGX_AMS_STUN_MAX_UNKNOWN) {
        nunknown = NGX_AMS_STUN_MAX_UNKNOWN;
    }

    need = NGX_AMS_STUN_HEADER_LEN
           + 4 + 4 + ngx_ams_stun_pad(r_len)
           + (nunknown ? 4 + ngx_ams_stun_pad(2 * nunknown) : 0)
           + (key ? NGX_AMS_STUN_MI_ATTR_LEN : 0)
           + NGX_AMS_STUN_FP_ATTR_LEN;

    if (cap < need) {
        return 0;
    }

    ec[0] = 0;
    ec[1] = 0;
    ec[2] = (uint8_t) (code / 100);
    ec[3] = (uint8_t) (code % 100);

    if (r_len) {
        memcpy(ec + 4, reason, r_len);
    }

    n = ngx_ams_stun_header(out, NGX_AMS_STUN_BINDING_ERROR, txid);
    n += ngx_ams_stun_attr(out + n, NGX_AMS_STUN_ERROR_CODE, ec, 4 + r_len,
                           0);

    if (nunknown) {
        for (i = 0; i < nunknown; i++) {
            ngx_ams_stun_put16(ua + 2 * i, unknown[i]);
        }

        n += ngx_ams_stun_attr(out + n, NGX_AMS_STUN_UNKNOWN_ATTRIBUTES, ua,
                               2 * nunknown, 0);
    }

    return ngx_ams_stun_finish(out, n, key, key_len);
}


int
ngx_ams_stun_split_username(const uint8_t *u, size_t len,
    const uint8_t **local, size_t *local_len,
    const uint8_t **remote, size_t *remote_len)
{
    size_t  i, colon;

    if (u == NULL) {
        return 0;
    }

    colon = len;

    for (i = 0; i < len; i++) {
        if (u[i] == ':') {
            if (colon != len) {
                return 0;
            }

            colon = i;
        }
    }

    if (colon == len || colon == 0 || colon == len - 1) {
        return 0;
    }

    *local = u;
    *local_len = colon;
    *remote = u + colon + 1;
    *remote_len = len - colon - 1;

    return 1;
}


int
ngx_ams_stun_xor_mapped_address(const ngx_ams_stun_msg_t *m,
    struct sockaddr_storage *ss)
{
    size_t                i;
    const uint8_t        *v;
    uint8_t               x[20];
    struct sockaddr_in   *sin;
    struct sockaddr_in6  *sin6;

    v = m->xor_mapped;

    if (v == NULL || m->xor_mapped_len < 8) {
        return 0;
    }

    x[0] = v[2] ^ 0x21;
    x[1] = v[3] ^ 0x12;
    x[2] = v[4] ^ 0x21;
    x[3] = v[5] ^ 0x12;
    x[4] = v[6] ^ 0xa4;
    x[5] = v[7] ^ 0x42;

    memset(ss, 0, sizeof(struct sockaddr_storage));

    if (v[1] == 0x01 && m->xor_mapped_len == 8) {
        sin = (struct sockaddr_in *) ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_port, x, 2);
        memcpy(&sin->sin_addr, x + 2, 4);
        return 1;
    }

    if (v[1] == 0x02 && m->xor_mapped_len == 20) {
        for (i = 0; i < 12; i++) {
            x[6 + i] = v[8 + i] ^ m->txid[i];
        }

        sin6 = (struct sockaddr_in6 *) ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_port, x, 2);
        memcpy(&sin6->sin6_addr, x + 2, 16);
        return 1;
    }

    return 0;
}


static uint16_t
ngx_ams_stun_get16(const uint8_t *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}


static uint32_t
ngx_ams_stun_get32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


static void
ngx_ams_stun_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) (v >> 8);
    p[1] = (uint8_t) v;
}


static void
ngx_ams_stun_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}


static uint32_t
ngx_ams_stun_crc32(const uint8_t *p, size_t len)
{
    uint32_t  c;

    c = 0xffffffff;

    while (len--) {
        c ^= *p++;
        c = (c >> 4) ^ ngx_ams_stun_crc_nibble[c & 15];
        c = (c >> 4) ^ ngx_ams_stun_crc_nibble[c & 15];
    }

    return c ^ 0xffffffff;
}


/* RFC 2104 over "hdr" (20 bytes) then "body"; 0, or -1 when OpenSSL
 * fails (out of memory) */
static int
ngx_ams_stun_hmac_sha1(const uint8_t *key, size_t key_len,
    const uint8_t *hdr, const uint8_t *body, size_t body_len,
    uint8_t out[NGX_AMS_STUN_HMAC_LEN])
{
    int             rc;
    size_t          i;
    unsigned int    n;
    uint8_t         k[64], pad[64], inner[NGX_AMS_STUN_HMAC_LEN];
    EVP_MD_CTX     *ctx;

    memset(k, 0, sizeof(k));

    if (key_len > sizeof(k)) {
        if (EVP_Digest(key, key_len, k, &n, EVP_sha1(), NULL) != 1) {
            return -1;
        }

    } else if (key_len) {
        memcpy(k, key, key_len);
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    for (i = 0; i < sizeof(k); i++) {
        pad[i] = k[i] ^ 0x36;
    }

    rc = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1
         && EVP_DigestUpdate(ctx, pad, sizeof(pad)) == 1
         && EVP_DigestUpdate(ctx, hdr, NGX_AMS_STUN_HEADER_LEN) == 1
         && (body_len == 0 || EVP_DigestUpdate(ctx, body, body_len) == 1)
         && EVP_DigestFinal_ex(ctx, inner, &n) == 1;

    if (rc) {
        for (i = 0; i < sizeof(k); i++) {
            pad[i] = k[i] ^ 0x5c;
        }

        rc = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1
             && EVP_DigestUpdate(ctx, pad, sizeof(pad)) == 1
             && EVP_DigestUpdate(ctx, inner, sizeof(inner)) == 1
             && EVP_DigestFinal_ex(ctx, out, &n) == 1;
    }

    EVP_MD_CTX_free(ctx);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));

    return rc ? 0 : -1;
}


/* the comprehension-required attributes (0x0000-0x7FFF) a request may
 * carry without a 420: ours, and RFC 8489's, which we read or ignore */
static int
ngx_ams_stun_understood(uint16_t type)
{
    switch (type) {

    case NGX_AMS_STUN_MAPPED_ADDRESS:
    case NGX_AMS_STUN_USERNAME:
    case NGX_AMS_STUN_MESSAGE_INTEGRITY:
    case NGX_AMS_STUN_ERROR_CODE:
    case NGX_AMS_STUN_UNKNOWN_ATTRIBUTES:
    case NGX_AMS_STUN_REALM:
    case NGX_AMS_STUN_NONCE:
    case NGX_AMS_STUN_MI_SHA256:
    case NGX_AMS_STUN_XOR_MAPPED_ADDRESS:
    case NGX_AMS_STUN_PRIORITY:
    case NGX_AMS_STUN_USE_CANDIDATE:
        return 1;

    default:
        return 0;
    }
}


static size_t
ngx_ams_stun_header(uint8_t *out, uint16_t type, const uint8_t txid[12])
{
    ngx_ams_stun_put16(out, type);
    ngx_ams_stun_put16(out + 2, 0);
    ngx_ams_stun_put32(out + 4, NGX_AMS_STUN_MAGIC_COOKIE);
    memcpy(out + 8, txid, 12);

    return NGX_AMS_STUN_HEADER_LEN;
}


/* type, length, value, padding to 4 with "pad"; the bytes written */
static size_t
ngx_ams_stun_attr(uint8_t *out, uint16_t type, const void *value,
    size_t len, uint8_t pad)
{
    size_t  padded;

    padded = ngx_ams_stun_pad(len);

    ngx_ams_stun_put16(out, type);
    ngx_ams_stun_put16(out + 2, (uint16_t) len);

    if (len) {
        memcpy(out + 4, value, len);
    }

    memset(out + 4 + len, pad, padded - len);

    return 4 + padded;
}


/* MESSAGE-INTEGRITY (when "key"), FINGERPRINT, the header's length as
 * each needs it; the whole length, or 0 when OpenSSL fails */
static size_t
ngx_ams_stun_finish(uint8_t *out, size_t n, const uint8_t *key,
    size_t key_len)
{
    if (key) {
        ngx_ams_stun_put16(out + 2, (uint16_t) (n + NGX_AMS_STUN_MI_ATTR_LEN
                                                - NGX_AMS_STUN_HEADER_LEN));
        ngx_ams_stun_put16(out + n, NGX_AMS_STUN_MESSAGE_INTEGRITY);
        ngx_ams_stun_put16(out + n + 2, NGX_AMS_STUN_HMAC_LEN);

        if (ngx_ams_stun_hmac_sha1(key, key_len, out,
                                   out + NGX_AMS_STUN_HEADER_LEN,
                                   n - NGX_AMS_STUN_HEADER_LEN, out + n + 4)
            != 0)
        {
            return 0;
        }

        n += NGX_AMS_STUN_MI_ATTR_LEN;
    }

    ngx_ams_stun_put16(out + 2, (uint16_t) (n + NGX_AMS_STUN_FP_ATTR_LEN
                                            - NGX_AMS_STUN_HEADER_LEN));
    ngx_ams_stun_put16(out + n, NGX_AMS_STUN_FINGERPRINT);
    ngx_ams_stun_put16(out + n + 2, 4);
    ngx_ams_stun_put32(out + n + 4, ngx_ams_stun_crc32(out, n)
                                    ^ NGX_AMS_STUN_FINGERPRINT_XOR);

    return n + NGX_AMS_STUN_FP_ATTR_LEN;
}
