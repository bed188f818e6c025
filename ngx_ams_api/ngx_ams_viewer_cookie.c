
/*
 * Copyright (C) nginx-ams authors
 *
 * Signed viewer cookies (see ngx_ams_viewer_cookie.h).
 */


#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ngx_ams_viewer_cookie.h"
#include "ngx_ams_stream_index.h"


#define NGX_AMS_VIEWER_MAC_LEN    16     /* bytes of the HMAC kept */
#define NGX_AMS_VIEWER_HEAD_LEN   32     /* E D R in hex */
#define NGX_AMS_VIEWER_NAMES_MAX  1024   /* app and id, far above any */


static const char  hex[] = "0123456789abcdef";


static void
ngx_ams_viewer_hex(char *dst, uint64_t v, int digits)
{
    int  i;

    for (i = digits - 1; i >= 0; i--) {
        dst[i] = hex[v & 15];
        v >>= 4;
    }
}


/* -1 on anything but lowercase hex */
static int
ngx_ams_viewer_unhex(const unsigned char *src, int digits, uint64_t *v)
{
    int  i;

    *v = 0;

    for (i = 0; i < digits; i++) {
        if (src[i] >= '0' && src[i] <= '9') {
            *v = *v << 4 | (uint64_t) (src[i] - '0');

        } else if (src[i] >= 'a' && src[i] <= 'f') {
            *v = *v << 4 | (uint64_t) (src[i] - 'a' + 10);

        } else {
            return -1;
        }
    }

    return 0;
}


/* the MAC over "EEEEEEEEDDDDDDDDRRRRRRRRRRRRRRRR" \0 app \0 id, as hex;
 * -1 for names longer than any stream's */
static int
ngx_ams_viewer_mac(char *dst, const unsigned char *secret,
    const char *head, const unsigned char *app, size_t app_len,
    const unsigned char *id, size_t id_len)
{
    int             i;
    unsigned int    len;
    unsigned char  *p, mac[EVP_MAX_MD_SIZE];
    unsigned char   msg[NGX_AMS_VIEWER_HEAD_LEN + 2
                        + NGX_AMS_VIEWER_NAMES_MAX];

    if (app_len + id_len > NGX_AMS_VIEWER_NAMES_MAX) {
        return -1;
    }

    p = msg;
    memcpy(p, head, NGX_AMS_VIEWER_HEAD_LEN);
    p += NGX_AMS_VIEWER_HEAD_LEN;
    *p++ = '\0';
    memcpy(p, app, app_len);
    p += app_len;
    *p++ = '\0';
    memcpy(p, id, id_len);
    p += id_len;

    if (HMAC(EVP_sha256(), secret, NGX_AMS_VIEWER_SECRET_LEN, msg,
             (size_t) (p - msg), mac, &len)
        == NULL
        || len < NGX_AMS_VIEWER_MAC_LEN)
    {
        return -1;
    }

    for (i = 0; i < NGX_AMS_VIEWER_MAC_LEN; i++) {
        dst[2 * i] = hex[mac[i] >> 4];
        dst[2 * i + 1] = hex[mac[i] & 15];
    }

    return 0;
}


void
ngx_ams_viewer_cookie_name(char *name, const unsigned char *app,
    size_t app_len, const unsigned char *id, size_t id_len)
{
    uint32_t  h;

    /* the registry's hash of app/id: it only spreads streams over names;
     * the MAC is what binds a value to its stream */
    h = ngx_ams_stream_index_hash(app, app_len, id, id_len);

    memcpy(name, "AMSVIEWER_", 10);
    ngx_ams_viewer_hex(name + 10, h, 8);
}


void
ngx_ams_viewer_cookie_make(char *value, const unsigned char *secret,
    const unsigned char *app, size_t app_len, const unsigned char *id,
    size_t id_len, uint64_t expires, uint64_t deadline, uint64_t key)
{
    if (deadline && expires > deadline) {
        expires = deadline;
    }

    ngx_ams_viewer_hex(value, expires & 0xffffffff, 8);
    ngx_ams_viewer_hex(value + 8, deadline & 0xffffffff, 8);
    ngx_ams_viewer_hex(value + 16, key, 16);

    if (ngx_ams_viewer_mac(value + NGX_AMS_VIEWER_HEAD_LEN, secret, value,
                           app, app_len, id, id_len)
        != 0)
    {
        /* no MAC (names too long): a value no check accepts */
        memset(value + NGX_AMS_VIEWER_HEAD_LEN, 'x',
               NGX_AMS_VIEWER_MAC_LEN * 2);
    }
}


int
ngx_ams_viewer_cookie_check(const unsigned char *value, size_t len,
    const unsigned char *secret, const unsigned char *app, size_t app_len,
    const unsigned char *id, size_t id_len, uint64_t now, uint64_t *key,
    uint64_t *expires, uint64_t *deadline)
{
    char  mac[NGX_AMS_VIEWER_MAC_LEN * 2];

    if (len != NGX_AMS_VIEWER_COOKIE_LEN
        || ngx_ams_viewer_unhex(value, 8, expires) != 0
        || ngx_ams_viewer_unhex(value + 8, 8, deadline) != 0
        || ngx_ams_viewer_unhex(value + 16, 16, key) != 0)
    {
        return -1;
    }

    if (ngx_ams_viewer_mac(mac, secret, (const char *) value, app, app_len,
                           id, id_len)
        != 0
        || CRYPTO_memcmp(mac, value + NGX_AMS_VIEWER_HEAD_LEN, sizeof(mac))
           != 0)
    {
        return -1;
    }

    /* made by make(), which never exceeds the deadline: checked anyway */
    if (*deadline && *expires > *deadline) {
        return -1;
    }

    return *expires > now ? 0 : -1;
}
