
/*
 * Copyright (C) nginx-ams authors
 *
 * Node-to-node tokens over ngx_ams_jwt.c.
 */


#include <string.h>
#include <jansson.h>

#include "ngx_ams_jwt.h"
#include "ngx_ams_node_token.h"


char *
ngx_ams_node_token_sign(const unsigned char *key, size_t key_len,
    const char *iss, size_t iss_len, const char *aud, size_t aud_len,
    int64_t now)
{
    char    *token;
    json_t  *claims;

    if (key_len == 0) {
        return NULL;
    }

    if (aud == NULL || aud_len == 0) {
        return NULL;
    }

    claims = json_pack("{s:s, s:s#, s:s#, s:I}",
                       "sub", NGX_AMS_NODE_TOKEN_SUB,
                       "iss", iss ? iss : "", iss ? (int) iss_len : 0,
                       "aud", aud, (int) aud_len,
                       "exp", (json_int_t) (now + NGX_AMS_NODE_TOKEN_TTL));
    if (claims == NULL) {
        return NULL;
    }

    token = ngx_ams_jwt_sign(claims, key, key_len);
    json_decref(claims);

    return token;
}


int
ngx_ams_node_token_verify(const unsigned char *token, size_t len,
    const unsigned char *key, size_t key_len, const char *aud,
    size_t aud_len, int64_t now, char *iss, size_t iss_size,
    const char **error)
{
    size_t       n;
    json_t      *claims, *v;
    const char  *s;

    if (key_len == 0) {
        *error = "no cluster key here";
        return -1;
    }

    if (ngx_ams_jwt_verify(token, len, key, key_len, now, &claims, error)
        != 0)
    {
        return -1;
    }

    /* ngx_ams_jwt_verify() checks "exp" only when present: a node token
     * without one would never expire */
    if (!json_is_number(json_object_get(claims, "exp"))) {
        json_decref(claims);
        *error = "no exp";
        return -1;
    }

    v = json_object_get(claims, "sub");
    if (!json_is_string(v)
        || strcmp(json_string_value(v), NGX_AMS_NODE_TOKEN_SUB) != 0)
    {
        json_decref(claims);
        *error = "not a cluster token (sub)";
        return -1;
    }

    /* for this node only: a token that leaks (sniffed between regions,
     * sent to a host a bad record named) opens no other node */
    v = json_object_get(claims, "aud");
    if (!json_is_string(v) || aud == NULL
        || json_string_length(v) != aud_len
        || memcmp(json_string_value(v), aud, aud_len) != 0)
    {
        json_decref(claims);
        *error = "not for this node (aud)";
        return -1;
    }

    if (iss && iss_size) {
        v = json_object_get(claims, "iss");
        s = json_is_string(v) ? json_string_value(v) : "";
        n = strlen(s);
        if (n > iss_size - 1) {
            n = iss_size - 1;
        }

        memcpy(iss, s, n);
        iss[n] = '\0';
    }

    json_decref(claims);

    return 0;
}
