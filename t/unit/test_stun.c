
/*
 * Copyright (C) nginx-ams authors
 *
 * STUN for ICE-lite: RFC 5769's sample messages parse, their
 * MESSAGE-INTEGRITY and FINGERPRINT verify, and our writer reproduces the
 * two responses byte for byte; what a hostile peer can send (truncated,
 * padded, lying lengths, a wrong cookie, attributes overrunning the
 * message, a wrong fingerprint or HMAC) is refused with the right result;
 * the USERNAME split and the RFC 7983 first-byte demultiplexing.
 */


#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tap.h"
#include "ngx_ams_stun.h"


#define S(x)  (const uint8_t *) (x), strlen(x)


/* RFC 5769 2.1: a Binding request, short-term credentials */
static const uint8_t  rfc_request[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42,
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae,
    0x80, 0x22, 0x00, 0x10,                             /* SOFTWARE */
    'S', 'T', 'U', 'N', ' ', 't', 'e', 's',
    't', ' ', 'c', 'l', 'i', 'e', 'n', 't',
    0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,     /* PRIORITY */
    0x80, 0x29, 0x00, 0x08,                             /* ICE-CONTROLLED */
    0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
    0x00, 0x06, 0x00, 0x09,                             /* USERNAME */
    'e', 'v', 't', 'j', ':', 'h', '6', 'v', 'Y', 0x20, 0x20, 0x20,
    0x00, 0x08, 0x00, 0x14,                             /* M-I */
    0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56,
    0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2,
    0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf      /* FINGERPRINT */
};

/* 2.2: the success response, 192.0.2.1 port 32853 */
static const uint8_t  rfc_response4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42,
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae,
    0x80, 0x22, 0x00, 0x0b,
    't', 'e', 's', 't', ' ', 'v', 'e', 'c', 't', 'o', 'r', 0x20,
    0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47,
    0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14,
    0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
    0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53,
    0xf0, 0x6b, 0xe7, 0xd7,
    0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96
};

/* 2.3: the same, 2001:db8:1234:5678:11:2233:4455:6677 port 32853 */
static const uint8_t  rfc_response6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42,
    0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
    0xfa, 0x87, 0xdf, 0xae,
    0x80, 0x22, 0x00, 0x0b,
    't', 'e', 's', 't', ' ', 'v', 'e', 'c', 't', 'o', 'r', 0x20,
    0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47,
    0x01, 0x13, 0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79,
    0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
    0x00, 0x08, 0x00, 0x14,
    0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
    0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75,
    0xbf, 0xe3, 0xed, 0x41,
    0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c
};

static const char     *rfc_password = "VOkJxbRl1RmTxUk/WvJxBt";


/* a message put together attribute by attribute, for the broken ones */
typedef struct {
    uint8_t   b[2048];
    size_t    n;
} msg_t;


static void
msg_start(msg_t *m, uint16_t type)
{
    memset(m, 0, sizeof(msg_t));
    m->b[0] = type >> 8;
    m->b[1] = type & 0xff;
    m->b[4] = 0x21;
    m->b[5] = 0x12;
    m->b[6] = 0xa4;
    m->b[7] = 0x42;
    memcpy(m->b + 8, rfc_request + 8, 12);
    m->n = 20;
}


/* "len" is written as is; the value and its padding take "room" bytes */
static void
msg_attr_raw(msg_t *m, uint16_t type, uint16_t len, const void *v,
    size_t room)
{
    m->b[m->n] = type >> 8;
    m->b[m->n + 1] = type & 0xff;
    m->b[m->n + 2] = len >> 8;
    m->b[m->n + 3] = len & 0xff;
    memset(m->b + m->n + 4, 0, room);

    if (v) {
        memcpy(m->b + m->n + 4, v, len < room ? len : room);
    }

    m->n += 4 + room;
    m->b[2] = (m->n - 20) >> 8;
    m->b[3] = (m->n - 20) & 0xff;
}


static void
msg_attr(msg_t *m, uint16_t type, const void *v, size_t len)
{
    msg_attr_raw(m, type, (uint16_t) len, v, (len + 3) & ~(size_t) 3);
}


static int
parse(const uint8_t *p, size_t len, ngx_ams_stun_msg_t *m)
{
    return ngx_ams_stun_parse(p, len, m);
}


static void
test_classify(void)
{
    uint8_t  b[2];

    b[1] = 0;
    b[0] = 0;
    is_int(ngx_ams_rtc_classify(b, 1), NGX_AMS_RTC_STUN, "0: STUN");
    b[0] = 3;
    is_int(ngx_ams_rtc_classify(b, 1), NGX_AMS_RTC_STUN, "3: STUN");
    b[0] = 4;
    is_int(ngx_ams_rtc_classify(b, 1), NGX_AMS_RTC_UNKNOWN, "4: nothing");
    b[0] = 16;
    is_int(ngx_ams_rtc_classify(b, 1), NGX_AMS_RTC_UNKNOWN,
           "16: ZRTP, not ours");
    b[0] = 20;
    is_int(ngx_ams_rtc_classify(b, 1), NGX_AMS_RTC_DTLS, "20: DTLS");
    b[0] = 22;
    is_int(ngx_ams_rtc_classify(b, 1), NGX_AMS_RTC_DTLS,
           "22 (handshake): DTLS");
    b[0] = 63;
    is_int(ngx_ams_rtc_classify(b, 1), NGX_AMS_RTC_DTLS, "63: DTLS");
    b[0] = 64;
    is_int(ngx_ams_rtc_classify(b, 1), NGX_AMS_RTC_UNKNOWN,
           "64: a TURN channel, not ours");
    b[0] = 127;
    is_int(ngx_ams_rtc_classify(b, 2), NGX_AMS_RTC_UNKNOWN, "127: nothing");

    b[0] = 0x80;
    b[1] = 96;
    is_int(ngx_ams_rtc_classify(b, 2), NGX_AMS_RTC_RTP, "RTP, type 96");
    b[1] = 0x80 | 96;
    is_int(ngx_ams_rtc_classify(b, 2), NGX_AMS_RTC_RTP,
           "RTP, type 96 with the marker");
    b[1] = 0x80 | 111;
    is_int(ngx_ams_rtc_classify(b, 2), NGX_AMS_RTC_RTP,
           "RTP, type 111 with the marker (239)");
    b[1] = 191;
    is_int(ngx_ams_rtc_classify(b, 2), NGX_AMS_RTC_RTP, "191: RTP");
    b[1] = 192;
    is_int(ngx_ams_rtc_classify(b, 2), NGX_AMS_RTC_RTCP, "192: RTCP (FIR)");
    b[1] = 200;
    is_int(ngx_ams_rtc_classify(b, 2), NGX_AMS_RTC_RTCP, "200: RTCP (SR)");
    b[1] = 206;
    is_int(ngx_ams_rtc_classify(b, 2), NGX_AMS_RTC_RTCP,
           "206: RTCP (PSFB)");
    b[1] = 223;
    is_int(ngx_ams_rtc_classify(b, 2), NGX_AMS_RTC_RTCP, "223: RTCP");
    b[1] = 224;
    is_int(ngx_ams_rtc_classify(b, 2), NGX_AMS_RTC_RTP, "224: RTP");
    b[0] = 191;
    b[1] = 200;
    is_int(ngx_ams_rtc_classify(b, 2), NGX_AMS_RTC_RTCP,
           "first byte 191 is still RTP's range");
    b[0] = 192;
    is_int(ngx_ams_rtc_classify(b, 2), NGX_AMS_RTC_UNKNOWN,
           "first byte 192: nothing");
    b[0] = 0x80;
    is_int(ngx_ams_rtc_classify(b, 1), NGX_AMS_RTC_UNKNOWN,
           "RTP or RTCP needs a second byte");
    is_int(ngx_ams_rtc_classify(b, 0), NGX_AMS_RTC_UNKNOWN,
           "an empty datagram: nothing");
}


static void
test_rfc_request(void)
{
    size_t               ll, rl;
    const uint8_t       *l, *r;
    ngx_ams_stun_msg_t   m;
    uint8_t              buf[sizeof(rfc_request)];

    is_int(parse(rfc_request, sizeof(rfc_request), &m), NGX_AMS_STUN_OK,
           "RFC 5769 2.1: the sample request parses");
    is_int(m.type, NGX_AMS_STUN_BINDING_REQUEST, "a Binding request");
    is_int(m.length, 0x58, "its length");
    ok(memcmp(m.txid, rfc_request + 8, 12) == 0, "its transaction id");
    ok(m.username_len == 9 && memcmp(m.username, "evtj:h6vY", 9) == 0,
       "USERNAME evtj:h6vY, padding not included");
    ok(m.has_priority && m.priority == 0x6e0001ff, "PRIORITY");
    ok(m.ice_controlled && !m.ice_controlling, "ICE-CONTROLLED");
    ok(m.tiebreaker == 0x932ff9b151263b36ULL, "its tie breaker");
    ok(!m.use_candidate, "no USE-CANDIDATE");
    ok(m.has_integrity, "MESSAGE-INTEGRITY");
    is_int(m.integrity_offset, 76, "found where it is");
    ok(m.has_fingerprint, "FINGERPRINT present and correct");
    is_int(m.nunknown, 0, "nothing not understood");

    ok(ngx_ams_stun_check_integrity(rfc_request, sizeof(rfc_request), &m,
                                    S(rfc_password)),
       "MESSAGE-INTEGRITY verifies with the password");
    ok(!ngx_ams_stun_check_integrity(rfc_request, sizeof(rfc_request), &m,
                                     S("VOkJxbRl1RmTxUk/WvJxBT")),
       "not with another");
    ok(!ngx_ams_stun_check_integrity(rfc_request, sizeof(rfc_request), &m,
                                     S("")),
       "nor with an empty one");

    ok(ngx_ams_stun_split_username(m.username, m.username_len, &l, &ll, &r,
                                   &rl)
       && ll == 4 && memcmp(l, "evtj", 4) == 0
       && rl == 4 && memcmp(r, "h6vY", 4) == 0,
       "USERNAME splits into evtj (ours) and h6vY (theirs)");

    /* without its FINGERPRINT, the HMAC is still right: it never
     * covered what follows it */
    memcpy(buf, rfc_request, sizeof(buf));
    buf[3] = 0x50;
    is_int(parse(buf, sizeof(buf) - 8, &m), NGX_AMS_STUN_OK,
           "without FINGERPRINT the request parses");
    ok(!m.has_fingerprint, "and says so");
    ok(ngx_ams_stun_check_integrity(buf, sizeof(buf) - 8, &m,
                                    S(rfc_password)),
       "and MESSAGE-INTEGRITY still verifies");

    /* one changed byte before MESSAGE-INTEGRITY */
    buf[30] ^= 1;
    is_int(parse(buf, sizeof(buf) - 8, &m), NGX_AMS_STUN_OK,
           "a changed SOFTWARE byte still parses");
    ok(!ngx_ams_stun_check_integrity(buf, sizeof(buf) - 8, &m,
                                     S(rfc_password)),
       "but its MESSAGE-INTEGRITY fails");
    buf[30] ^= 1;

    buf[10] ^= 0x40;
    (void) parse(buf, sizeof(buf) - 8, &m);
    ok(!ngx_ams_stun_check_integrity(buf, sizeof(buf) - 8, &m,
                                     S(rfc_password)),
       "a changed transaction id fails MESSAGE-INTEGRITY");
    buf[10] ^= 0x40;

    buf[80] ^= 0x80;
    (void) parse(buf, sizeof(buf) - 8, &m);
    ok(!ngx_ams_stun_check_integrity(buf, sizeof(buf) - 8, &m,
                                     S(rfc_password)),
       "a changed HMAC fails");
    buf[80] ^= 0x80;

    (void) parse(buf, sizeof(buf) - 8, &m);
    ok(!ngx_ams_stun_check_integrity(buf, 80, &m, S(rfc_password)),
       "check_integrity reads no further than it is told");
}


static void
test_rfc_responses(void)
{
    size_t                    n;
    uint8_t                   out[256];
    ngx_ams_stun_msg_t        m;
    struct sockaddr_in        sin;
    struct sockaddr_in6       sin6;
    struct sockaddr_in       *s4;
    struct sockaddr_in6      *s6;
    struct sockaddr_storage   ss;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(32853);
    inet_pton(AF_INET, "192.0.2.1", &sin.sin_addr);

    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(32853);
    inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677",
              &sin6.sin6_addr);

    is_int(parse(rfc_response4, sizeof(rfc_response4), &m), NGX_AMS_STUN_OK,
           "RFC 5769 2.2: the IPv4 response parses");
    is_int(m.type, NGX_AMS_STUN_BINDING_SUCCESS, "a Binding success");
    ok(m.has_integrity && m.has_fingerprint,
       "with MESSAGE-INTEGRITY and a correct FINGERPRINT");
    ok(ngx_ams_stun_check_integrity(rfc_response4, sizeof(rfc_response4),
                                    &m, S(rfc_password)),
       "MESSAGE-INTEGRITY verifies");
    s4 = (struct sockaddr_in *) &ss;
    ok(ngx_ams_stun_xor_mapped_address(&m, &ss)
       && ss.ss_family == AF_INET && s4->sin_port == htons(32853)
       && s4->sin_addr.s_addr == sin.sin_addr.s_addr,
       "XOR-MAPPED-ADDRESS is 192.0.2.1:32853");

    n = ngx_ams_stun_binding_success_software(out, sizeof(out),
                                              rfc_request + 8,
                                              (struct sockaddr *) &sin,
                                              S(rfc_password),
                                              "test vector");
    ok(n == sizeof(rfc_response4)
       && memcmp(out, rfc_response4, n) == 0,
       "our writer makes the IPv4 response byte for byte");

    is_int(parse(rfc_response6, sizeof(rfc_response6), &m), NGX_AMS_STUN_OK,
           "2.3: the IPv6 response parses");
    ok(m.has_integrity && m.has_fingerprint,
       "with MESSAGE-INTEGRITY and a correct FINGERPRINT");
    ok(ngx_ams_stun_check_integrity(rfc_response6, sizeof(rfc_response6),
                                    &m, S(rfc_password)),
       "MESSAGE-INTEGRITY verifies");
    s6 = (struct sockaddr_in6 *) &ss;
    ok(ngx_ams_stun_xor_mapped_address(&m, &ss)
       && ss.ss_family == AF_INET6 && s6->sin6_port == htons(32853)
       && memcmp(&s6->sin6_addr, &sin6.sin6_addr, 16) == 0,
       "XOR-MAPPED-ADDRESS is [2001:db8:1234:5678:11:2233:4455:6677]:32853");

    n = ngx_ams_stun_binding_success_software(out, sizeof(out),
                                              rfc_request + 8,
                                              (struct sockaddr *) &sin6,
                                              S(rfc_password),
                                              "test vector");
    ok(n == sizeof(rfc_response6)
       && memcmp(out, rfc_response6, n) == 0,
       "our writer makes the IPv6 response byte for byte");

    /* what the transport sends: no SOFTWARE */
    n = ngx_ams_stun_binding_success(out, sizeof(out), rfc_request + 8,
                                     (struct sockaddr *) &sin,
                                     S(rfc_password));
    is_int(n, 20 + 12 + 24 + 8, "an IPv4 success: 64 bytes");
    ok(memcmp(out + 20, rfc_response4 + 36, 12) == 0,
       "its XOR-MAPPED-ADDRESS is the sample's");
    ok(parse(out, n, &m) == NGX_AMS_STUN_OK && m.has_fingerprint
       && ngx_ams_stun_check_integrity(out, n, &m, S(rfc_password))
       && memcmp(m.txid, rfc_request + 8, 12) == 0,
       "it parses, FINGERPRINT and MESSAGE-INTEGRITY right, same txid");

    n = ngx_ams_stun_binding_success(out, sizeof(out), rfc_request + 8,
                                     (struct sockaddr *) &sin6, NULL, 0);
    is_int(n, 20 + 24 + 8, "an IPv6 success without a key: 52 bytes");
    ok(parse(out, n, &m) == NGX_AMS_STUN_OK && m.has_fingerprint
       && !m.has_integrity
       && ngx_ams_stun_xor_mapped_address(&m, &ss)
       && memcmp(&s6->sin6_addr, &sin6.sin6_addr, 16) == 0,
       "it parses, no MESSAGE-INTEGRITY, the address comes back");

    n = ngx_ams_stun_binding_success(out, 64, rfc_request + 8,
                                     (struct sockaddr *) &sin,
                                     S(rfc_password));
    is_int(n, 64, "64 bytes of room are enough for 64");
    n = ngx_ams_stun_binding_success(out, 63, rfc_request + 8,
                                     (struct sockaddr *) &sin,
                                     S(rfc_password));
    is_int(n, 0, "63 are not: 0");

    sin.sin_family = AF_UNIX;
    n = ngx_ams_stun_binding_success(out, sizeof(out), rfc_request + 8,
                                     (struct sockaddr *) &sin,
                                     S(rfc_password));
    is_int(n, 0, "an address neither IPv4 nor IPv6: 0");
}


/* HMAC-SHA1 by OpenSSL's one-shot HMAC() over a copy whose length is
 * rewritten, to check ours for keys of every size */
static int
openssl_integrity(const uint8_t *p, size_t off, const uint8_t *key,
    size_t key_len)
{
    uint8_t       copy[256], mac[EVP_MAX_MD_SIZE];
    unsigned int  n;

    memcpy(copy, p, off);
    copy[2] = (off + 24 - 20) >> 8;
    copy[3] = (off + 24 - 20) & 0xff;

    if (HMAC(EVP_sha1(), key, (int) key_len, copy, off, mac, &n) == NULL) {
        return 0;
    }

    return memcmp(mac, p + off + 4, 20) == 0;
}


static void
test_keys(void)
{
    size_t               n, sizes[] = { 0, 1, 22, 63, 64, 65, 100, 256 };
    unsigned             i;
    uint8_t              key[256], out[256];
    ngx_ams_stun_msg_t   m;
    struct sockaddr_in   sin;
    int                  good;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(5000);
    sin.sin_addr.s_addr = htonl(0x7f000001);

    for (i = 0; i < sizeof(key); i++) {
        key[i] = (uint8_t) (i * 7 + 1);
    }

    good = 1;

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        n = ngx_ams_stun_binding_success(out, sizeof(out), rfc_request + 8,
                                         (struct sockaddr *) &sin, key,
                                         sizes[i]);

        if (n == 0 || parse(out, n, &m) != NGX_AMS_STUN_OK
            || !ngx_ams_stun_check_integrity(out, n, &m, key, sizes[i])
            || !openssl_integrity(out, m.integrity_offset, key, sizes[i])
            || (sizes[i] > 0
                && ngx_ams_stun_check_integrity(out, n, &m, key,
                                                sizes[i] - 1)))
        {
            good = 0;
            printf("# key of %zu bytes\n", sizes[i]);
        }
    }

    ok(good, "keys of 0 to 256 bytes (over a SHA-1 block too): our HMAC "
       "is OpenSSL's");
}


static void
test_errors(void)
{
    size_t               n;
    uint8_t              out[256];
    uint16_t             unk[10] = { 0x0003, 0x7fff, 0x0abc, 1, 2, 3, 4, 5,
                                     6, 7 };
    ngx_ams_stun_msg_t   m;
    char                 reason[200];

    n = ngx_ams_stun_binding_error(out, sizeof(out), rfc_request + 8, 401,
                                   "Unauthorized", NULL, 0, NULL, 0);
    is_int(n, 20 + 4 + 4 + 12 + 8, "a 401 without a key: 48 bytes");
    ok(parse(out, n, &m) == NGX_AMS_STUN_OK
       && m.type == NGX_AMS_STUN_BINDING_ERROR && m.error_code == 401
       && m.has_fingerprint && !m.has_integrity,
       "it parses: a Binding error, 401, FINGERPRINT");
    ok(memcmp(out + 20, "\x00\x09\x00\x10\x00\x00\x04\x01Unauthorized", 20)
       == 0, "ERROR-CODE: class 4, number 1, the reason");

    n = ngx_ams_stun_binding_error(out, sizeof(out), rfc_request + 8, 400,
                                   "Bad Request", NULL, 0, NULL, 0);
    ok(n && parse(out, n, &m) == NGX_AMS_STUN_OK && m.error_code == 400
       && out[20 + 3] == 15 && out[20 + 4 + 4 + 11] == 0,
       "400 Bad Request, reason of 11 padded with a zero");

    n = ngx_ams_stun_binding_error(out, sizeof(out), rfc_request + 8, 420,
                                   "Unknown Attribute", unk, 3,
                                   S(rfc_password));
    ok(n && parse(out, n, &m) == NGX_AMS_STUN_OK && m.error_code == 420
       && m.has_integrity && m.has_fingerprint
       && ngx_ams_stun_check_integrity(out, n, &m, S(rfc_password)),
       "420 with a key: MESSAGE-INTEGRITY and FINGERPRINT right");
    ok(memcmp(out + 20 + 4 + 4 + 20,
              "\x00\x0a\x00\x06\x00\x03\x7f\xff\x0a\xbc\x00\x00", 12) == 0,
       "UNKNOWN-ATTRIBUTES lists the three, padded");

    n = ngx_ams_stun_binding_error(out, sizeof(out), rfc_request + 8, 487,
                                   "Role Conflict", unk, 3, NULL, 0);
    ok(n == 20 + 4 + 4 + 16 + 8 && parse(out, n, &m) == NGX_AMS_STUN_OK
       && m.error_code == 487,
       "487: no UNKNOWN-ATTRIBUTES but for 420");

    n = ngx_ams_stun_binding_error(out, sizeof(out), rfc_request + 8, 500,
                                   NULL, NULL, 0, NULL, 0);
    ok(n == 20 + 8 + 8 && parse(out, n, &m) == NGX_AMS_STUN_OK
       && m.error_code == 500, "500 without a reason");

    memset(reason, 'x', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    n = ngx_ams_stun_binding_error(out, 128, rfc_request + 8, 420, reason,
                                   unk, 10, S(rfc_password));
    ok(n > 0 && n <= 128, "the longest error response fits in 128 (%zu)",
       n);
    ok(parse(out, n, &m) == NGX_AMS_STUN_OK
       && ngx_ams_stun_check_integrity(out, n, &m, S(rfc_password)),
       "and parses");
    is_int(out[23], 4 + NGX_AMS_STUN_MAX_REASON, "its reason cut to 48");
    is_int(out[20 + 8 + NGX_AMS_STUN_MAX_REASON + 3], 16,
           "eight UNKNOWN-ATTRIBUTES at most");

    /* "é" is two bytes: the cut must not split it */
    memset(reason, 'x', 47);
    memcpy(reason + 47, "\xc3\xa9yz", 5);
    n = ngx_ams_stun_binding_error(out, sizeof(out), rfc_request + 8, 400,
                                   reason, NULL, 0, NULL, 0);
    is_int(out[23], 4 + 47, "a reason is cut before a character, not in it");

    ok(ngx_ams_stun_binding_error(out, sizeof(out), rfc_request + 8, 299,
                                  "x", NULL, 0, NULL, 0) == 0
       && ngx_ams_stun_binding_error(out, sizeof(out), rfc_request + 8, 700,
                                     "x", NULL, 0, NULL, 0) == 0,
       "codes outside 300..699: 0");
    ok(ngx_ams_stun_binding_error(out, 47, rfc_request + 8, 401,
                                  "Unauthorized", NULL, 0, NULL, 0) == 0
       && ngx_ams_stun_binding_error(out, 48, rfc_request + 8, 401,
                                     "Unauthorized", NULL, 0, NULL, 0)
          == 48,
       "too little room: 0; just enough: the message");
}


static void
test_malformed(void)
{
    int                  rc, all;
    size_t               i;
    uint8_t              buf[sizeof(rfc_request) + 8];
    uint8_t              name[600];
    uint16_t             prio8[4] = { 0 };
    msg_t                b;
    ngx_ams_stun_msg_t   m;

    /* every truncation of the sample */
    all = 1;

    for (i = 0; i < sizeof(rfc_request); i++) {
        if (parse(rfc_request, i, &m) != NGX_AMS_STUN_NOT_STUN) {
            all = 0;
            printf("# truncated to %zu\n", i);
        }
    }

    ok(all, "the sample cut anywhere: not STUN (the length lies)");

    memcpy(buf, rfc_request, sizeof(rfc_request));
    memset(buf + sizeof(rfc_request), 0, 8);
    is_int(parse(buf, sizeof(buf), &m), NGX_AMS_STUN_NOT_STUN,
           "8 bytes more than the length says: not STUN");

    buf[3] = 0x60;
    is_int(parse(buf, sizeof(buf), &m), NGX_AMS_STUN_MALFORMED,
           "the length covering them: FINGERPRINT is no longer last, "
           "malformed");

    memcpy(buf, rfc_request, sizeof(rfc_request));
    buf[3] = 0x57;
    is_int(parse(buf, sizeof(rfc_request) - 1, &m), NGX_AMS_STUN_NOT_STUN,
           "a length not a multiple of 4: not STUN");
    buf[3] = 0x58;

    buf[4] = 0x22;
    is_int(parse(buf, sizeof(rfc_request), &m), NGX_AMS_STUN_NOT_STUN,
           "a wrong magic cookie: not STUN");
    buf[4] = 0x21;

    buf[0] = 0x40;
    is_int(parse(buf, sizeof(rfc_request), &m), NGX_AMS_STUN_NOT_STUN,
           "the top bits set: not STUN");
    buf[0] = 0x00;

    is_int(parse(buf, sizeof(rfc_request), &m), NGX_AMS_STUN_OK,
           "the sample restored parses");

    buf[sizeof(rfc_request) - 1] ^= 1;
    is_int(parse(buf, sizeof(rfc_request), &m),
           NGX_AMS_STUN_BAD_FINGERPRINT, "a wrong CRC: bad fingerprint");
    buf[sizeof(rfc_request) - 1] ^= 1;

    buf[25] ^= 1;
    is_int(parse(buf, sizeof(rfc_request), &m),
           NGX_AMS_STUN_BAD_FINGERPRINT,
           "a changed byte before it: bad fingerprint");
    buf[25] ^= 1;

    /* USERNAME's length past the end (its padding inside the message is
     * not enough) */
    buf[62] = 0x00;
    buf[63] = 0x2e;
    rc = parse(buf, sizeof(rfc_request), &m);
    is_int(rc, NGX_AMS_STUN_MALFORMED, "an attribute overrunning: malformed");
    ok(m.type == NGX_AMS_STUN_BINDING_REQUEST
       && memcmp(m.txid, rfc_request + 8, 12) == 0,
       "with the type and transaction id set, for a 400");

    buf[63] = 0x2c;
    is_int(parse(buf, sizeof(rfc_request), &m), NGX_AMS_STUN_OK,
           "USERNAME swallowing the rest to the byte parses");
    ok(!m.has_integrity && !m.has_fingerprint,
       "but has no MESSAGE-INTEGRITY left to check");

    buf[62] = 0xff;
    buf[63] = 0xff;
    is_int(parse(buf, sizeof(rfc_request), &m), NGX_AMS_STUN_MALFORMED,
           "an attribute of 65535: malformed");

    /* put together */
    msg_start(&b, NGX_AMS_STUN_BINDING_REQUEST);
    is_int(parse(b.b, b.n, &m), NGX_AMS_STUN_OK,
           "a request of the header alone parses");
    ok(!m.has_integrity && !m.has_fingerprint && m.username == NULL,
       "with nothing in it");
    ok(!ngx_ams_stun_check_integrity(b.b, b.n, &m, S(rfc_password)),
       "no MESSAGE-INTEGRITY does not verify");

    msg_start(&b, NGX_AMS_STUN_BINDING_REQUEST);
    msg_attr_raw(&b, 0x8022, 5, "abcd", 4);
    is_int(parse(b.b, b.n, &m), NGX_AMS_STUN_MALFORMED,
           "the last attribute one byte longer than the message: malformed");

    msg_start(&b, NGX_AMS_STUN_BINDING_REQUEST);
    msg_attr(&b, 0x0024, prio8, 8);
    is_int(parse(b.b, b.n, &m), NGX_AMS_STUN_MALFORMED,
           "PRIORITY of 8 bytes: malformed");

    msg_start(&b, NGX_AMS_STUN_BINDING_REQUEST);
    msg_attr(&b, 0x0025, prio8, 4);
    is_int(parse(b.b, b.n, &m), NGX_AMS_STUN_MALFORMED,
           "USE-CANDIDATE with a value: malformed");

    msg_start(&b, NGX_AMS_STUN_BINDING_REQUEST);
    msg_attr(&b, 0x802a, prio8, 4);
    is_int(parse(b.b, b.n, &m), NGX_AMS_STUN_MALFORMED,
           "ICE-CONTROLLING of 4 bytes: malformed");

    msg_start(&b, NGX_AMS_STUN_BINDING_REQUEST);
    msg_attr(&b, 0x0008, name, 16);
    is_int(parse(b.b, b.n, &m), NGX_AMS_STUN_MALFORMED,
           "MESSAGE-INTEGRITY of 16 bytes: malformed");

    msg_start(&b, NGX_AMS_STUN_BINDING_REQUEST);
    msg_attr(&b, 0x8028, prio8, 4);
    msg_attr(&b, 0x0024, prio8, 4);
    is_int(parse(b.b, b.n, &m), NGX_AMS_STUN_MALFORMED,
           "FINGERPRINT not last: malformed");

    msg_start(&b, NGX_AMS_STUN_BINDING_REQUEST);
    msg_attr(&b, 0x8028, prio8, 8);
    is_int(parse(b.b, b.n, &m), NGX_AMS_STUN_MALFORMED,
           "FINGERPRINT of 8 bytes: malformed");

    memset(name, 'u', sizeof(name));
    name[10] = ':';
    msg_start(&b, NGX_AMS_STUN_BINDING_REQUEST);
    msg_attr(&b, 0x0006, name, NGX_AMS_STUN_MAX_USERNAME);
    is_int(parse(b.b, b.n, &m), NGX_AMS_STUN_OK, "USERNAME of 513 parses");
    msg_start(&b, NGX_AMS_STUN_BINDING_REQUEST);
    msg_attr(&b, 0x0006, name, NGX_AMS_STUN_MAX_USERNAME + 1);
    is_int(parse(b.b, b.n, &m), NGX_AMS_STUN_MALFORMED,
           "USERNAME of 514: malformed");

    /* what is understood, what is not, and what is after
     * MESSAGE-INTEGRITY */
    msg_start(&b, NGX_AMS_STUN_BINDING_REQUEST);
    msg_attr(&b, 0x0006, "ab:cd", 5);
    msg_attr(&b, 0x0006, "xx:yy", 5);
    msg_attr(&b, 0x0025, NULL, 0);
    msg_attr(&b, 0x802a, "\1\2\3\4\5\6\7\x08", 8);
    msg_attr(&b, 0x0003, NULL, 0);
    msg_attr(&b, 0xc057, "\0\1\0\0", 4);
    msg_attr(&b, 0x7fff, "z", 1);
    msg_attr(&b, 0x0008, name, 20);
    msg_attr(&b, 0x0006, "zz:zz", 5);
    msg_attr(&b, 0x0004, NULL, 0);
    msg_attr(&b, 0x0024, prio8, 8);
    is_int(parse(b.b, b.n, &m), NGX_AMS_STUN_OK,
           "a request with one of everything parses");
    ok(m.username_len == 5 && memcmp(m.username, "ab:cd", 5) == 0,
       "of two USERNAMEs the first counts");
    ok(m.use_candidate && m.ice_controlling && !m.ice_controlled
       && m.tiebreaker == 0x0102030405060708ULL,
       "USE-CANDIDATE, ICE-CONTROLLING and its tie breaker");
    ok(m.nunknown == 2 && m.unknown[0] == 0x0003 && m.unknown[1] == 0x7fff,
       "two comprehension-required not understood; 0xC057 is optional");
    ok(m.has_integrity && !m.has_priority,
       "after MESSAGE-INTEGRITY nothing counts, a broken PRIORITY "
       "included");

    msg_start(&b, NGX_AMS_STUN_BINDING_REQUEST);

    for (i = 0; i < 12; i++) {
        msg_attr(&b, (uint16_t) (0x0100 + i), NULL, 0);
    }

    ok(parse(b.b, b.n, &m) == NGX_AMS_STUN_OK
       && m.nunknown == NGX_AMS_STUN_MAX_UNKNOWN && m.unknown[7] == 0x0107,
       "twelve not understood: the first eight kept");

    /* check_integrity does not trust "m" */
    msg_start(&b, NGX_AMS_STUN_BINDING_REQUEST);
    msg_attr(&b, 0x0008, name, 20);
    (void) parse(b.b, b.n, &m);
    m.integrity_offset = 40;
    ok(!ngx_ams_stun_check_integrity(b.b, b.n, &m, S(rfc_password)),
       "check_integrity with an offset past the message: 0");
    m.integrity_offset = 4;
    ok(!ngx_ams_stun_check_integrity(b.b, b.n, &m, S(rfc_password)),
       "check_integrity with an offset in the header: 0");
    m.integrity_offset = 20;
    ok(!ngx_ams_stun_check_integrity(b.b, b.n - 1, &m, S(rfc_password)),
       "check_integrity on a shorter buffer: 0");
}


static void
test_username(void)
{
    size_t          ll, rl;
    const uint8_t  *l, *r;

    ok(ngx_ams_stun_split_username(S("a:b"), &l, &ll, &r, &rl)
       && ll == 1 && *l == 'a' && rl == 1 && *r == 'b', "a:b splits");
    ok(!ngx_ams_stun_split_username(S(":b"), &l, &ll, &r, &rl),
       "an empty local half: no");
    ok(!ngx_ams_stun_split_username(S("a:"), &l, &ll, &r, &rl),
       "an empty remote half: no");
    ok(!ngx_ams_stun_split_username(S(":"), &l, &ll, &r, &rl),
       "a colon alone: no");
    ok(!ngx_ams_stun_split_username(S("ab"), &l, &ll, &r, &rl),
       "no colon: no");
    ok(!ngx_ams_stun_split_username(S("a:b:c"), &l, &ll, &r, &rl),
       "two colons: no");
    ok(!ngx_ams_stun_split_username(S(""), &l, &ll, &r, &rl), "empty: no");
    ok(!ngx_ams_stun_split_username(NULL, 0, &l, &ll, &r, &rl),
       "absent: no");
}


int
main(void)
{
    test_classify();
    test_rfc_request();
    test_rfc_responses();
    test_keys();
    test_errors();
    test_malformed();
    test_username();

    return done_testing();
}
