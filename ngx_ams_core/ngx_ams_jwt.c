
/*
 * Copyright (C) nginx-ams authors
 *
 * HS256 JWTs: header.payload.signature, each base64url without padding.
 */


#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ngx_ams_jwt.h"


static const char  b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


static size_t
ngx_ams_jwt_encode(char *dst, const unsigned char *src, size_t len)
{
    char    *p = dst;
    size_t   i;
    uint32_t v;

    for (i = 0; i + 2 < len; i += 3) {
        v = (uint32_t) src[i] << 16 | (uint32_t) src[i + 1] << 8 | src[i + 2];
        *p++ = b64url[v >> 18];
        *p++ = b64url[(v >> 12) & 63];
        *p++ = b64url[(v >> 6) & 63];
        *p++ = b64url[v & 63];
    }

    if (len - i == 1) {
        v = (uint32_t) src[i] << 16;
        *p++ = b64url[v >> 18];
        *p++ = b64url[(v >> 12) & 63];

    } else if (len - i == 2) {
        v = (uint32_t) src[i] << 16 | (uint32_t) src[i + 1] << 8;
        *p++ = b64url[v >> 18];
        *p++ = b64url[(v >> 12) & 63];
        *p++ = b64url[(v >> 6) & 63];
    }

    return p - dst;
}


/* -1 on a character outside the alphabet or an impossible length */
static long
ngx_ams_jwt_decode(unsigned char *dst, const unsigned char *src, size_t len)
{
    size_t          i, n;
    uint32_t        v;
    int             d;
    unsigned char  *p = dst;
    const char     *c;

    if (len % 4 == 1) {
        return -1;
    }

    v = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        if (src[i] == '\0' || (c = strchr(b64url, src[i])) == NULL) {
            return -1;
        }

        d = (int) (c - b64url);
        v = v << 6 | (uint32_t) d;

        if (++n == 4) {
            *p++ = (unsigned char) (v >> 16);
            *p++ = (unsigned char) (v >> 8);
            *p++ = (unsigned char) v;
            v = 0;
            n = 0;
        }
    }

    if (n == 2) {
        *p++ = (unsigned char) (v >> 4);

    } else if (n == 3) {
        *p++ = (unsigned char) (v >> 10);
        *p++ = (unsigned char) (v >> 2);
    }

    return (long) (p - dst);
}


static json_t *
ngx_ams_jwt_part(const unsigned char *src, size_t len)
{
    long            n;
    json_t         *json;
    unsigned char   buf[NGX_AMS_JWT_MAX_LEN];

    if (len > NGX_AMS_JWT_MAX_LEN) {
        return NULL;
    }

    n = ngx_ams_jwt_decode(buf, src, len);
    if (n < 0) {
        return NULL;
    }

    json = json_loadb((const char *) buf, (size_t) n, JSON_REJECT_DUPLICATES,
                      NULL);

    if (json && !json_is_object(json)) {
        json_decref(json);
        return NULL;
    }

    return json;
}


int
ngx_ams_jwt_verify(const unsigned char *token, size_t len,
    const unsigned char *key, size_t key_len, int64_t now,
    json_t **claims, const char **error)
{
    long                  n;
    json_t               *header, *payload, *v;
    unsigned int          mac_len;
    const unsigned char  *dot1, *dot2;
    unsigned char         mac[EVP_MAX_MD_SIZE], sig[64];

    *claims = NULL;

    if (len == 0 || len > NGX_AMS_JWT_MAX_LEN) {
        *error = "token missing or too long";
        return -1;
    }

    dot1 = memchr(token, '.', len);
    dot2 = dot1 ? memchr(dot1 + 1, '.', len - (dot1 + 1 - token)) : NULL;

    if (dot2 == NULL || memchr(dot2 + 1, '.', len - (dot2 + 1 - token))) {
        *error = "not a JWT (header.payload.signature)";
        return -1;
    }

    /* the signature first: nothing unsigned gets parsed further */
    if ((size_t) (token + len - (dot2 + 1)) > 86) {
        *error = "bad signature";
        return -1;
    }

    n = ngx_ams_jwt_decode(sig, dot2 + 1, token + len - (dot2 + 1));

    if (HMAC(EVP_sha256(), key, (int) key_len, token,
             (size_t) (dot2 - token), mac, &mac_len) == NULL
        || n != (long) mac_len || CRYPTO_memcmp(sig, mac, mac_len) != 0)
    {
        *error = "bad signature";
        return -1;
    }

    header = ngx_ams_jwt_part(token, (size_t) (dot1 - token));
    if (header == NULL) {
        *error = "bad header";
        return -1;
    }

    v = json_object_get(header, "alg");
    if (!json_is_string(v) || strcmp(json_string_value(v), "HS256") != 0) {
        json_decref(header);
        *error = "algorithm is not HS256";
        return -1;
    }

    json_decref(header);

    payload = ngx_ams_jwt_part(dot1 + 1, (size_t) (dot2 - dot1 - 1));
    if (payload == NULL) {
        *error = "bad payload";
        return -1;
    }

    v = json_object_get(payload, "exp");
    if (v && (!json_is_number(v) || json_number_value(v) <= (double) now)) {
        json_decref(payload);
        *error = "token expired";
        return -1;
    }

    v = json_object_get(payload, "nbf");
    if (v && (!json_is_number(v) || json_number_value(v) > (double) now)) {
        json_decref(payload);
        *error = "token not valid yet";
        return -1;
    }

    *claims = payload;

    return 0;
}


char *
ngx_ams_jwt_sign(json_t *claims, const unsigned char *key, size_t key_len)
{
    static const char  header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

    char          *payload, *out, *p;
    size_t         plen;
    unsigned int   mac_len;
    unsigned char  mac[EVP_MAX_MD_SIZE];

    payload = json_dumps(claims, JSON_COMPACT);
    if (payload == NULL) {
        return NULL;
    }

    plen = strlen(payload);

    out = malloc((sizeof(header) + plen + 32) * 4 / 3 + 96);
    if (out == NULL) {
        free(payload);
        return NULL;
    }

    p = out;
    p += ngx_ams_jwt_encode(p, (const unsigned char *) header,
                            sizeof(header) - 1);
    *p++ = '.';
    p += ngx_ams_jwt_encode(p, (const unsigned char *) payload, plen);
    free(payload);

    if (HMAC(EVP_sha256(), key, (int) key_len, (unsigned char *) out,
             (size_t) (p - out), mac, &mac_len) == NULL)
    {
        free(out);
        return NULL;
    }

    *p++ = '.';
    p += ngx_ams_jwt_encode(p, mac, mac_len);
    *p = '\0';

    return out;
}
