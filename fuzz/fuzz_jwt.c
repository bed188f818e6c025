
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: JWT verification (base64url, HMAC, JSON of header and
 * payload) with a fixed key, and a key taken from the input.
 */


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_jwt.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t      *claims;
    const char  *error;
    size_t       key_len;

    if (ngx_ams_jwt_verify(data, size, (const unsigned char *) "key", 3, 1,
                           &claims, &error)
        == 0)
    {
        json_decref(claims);
    }

    key_len = size ? data[0] % 64 : 0;

    if (key_len < size
        && ngx_ams_jwt_verify(data + key_len, size - key_len, data, key_len,
                              1, &claims, &error)
           == 0)
    {
        json_decref(claims);
    }

    return 0;
}
