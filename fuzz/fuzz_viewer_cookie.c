
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: the signed viewer cookie a client sends back (hex, MAC,
 * expiry and deadline), checked against a fixed secret and stream; and a
 * cookie made here always checks.
 */


#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ngx_ams_viewer_cookie.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                  value[NGX_AMS_VIEWER_COOKIE_LEN];
    uint64_t              key, expires, deadline, k;
    static const uint8_t  secret[NGX_AMS_VIEWER_SECRET_LEN] = { 1, 2, 3 };

    (void) ngx_ams_viewer_cookie_check(data, size, secret,
                                       (const unsigned char *) "LiveApp", 7,
                                       (const unsigned char *) "s", 1, 1000,
                                       &key, &expires, &deadline);

    if (size < 8) {
        return 0;
    }

    memcpy(&k, data, 8);

    ngx_ams_viewer_cookie_make(value, secret,
                               (const unsigned char *) "LiveApp", 7,
                               data + 8, size - 8, 2000, 3000, k);

    if (ngx_ams_viewer_cookie_check((const unsigned char *) value,
                                    sizeof(value), secret,
                                    (const unsigned char *) "LiveApp", 7,
                                    data + 8, size - 8, 1000, &key,
                                    &expires, &deadline)
        != 0 || key != k)
    {
        __builtin_trap();
    }

    return 0;
}
