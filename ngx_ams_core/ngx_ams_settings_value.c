
/*
 * Copyright (C) nginx-ams authors
 *
 * Fixed-point decimals as AMS's AppSettings carries them in strings.
 */


#include <stdio.h>

#include "ngx_ams_settings_value.h"


int
ngx_ams_settings_decimal_parse(const char *s, size_t len, unsigned digits,
    int64_t max, int64_t *out)
{
    size_t    i;
    int64_t   v;
    unsigned  frac, dot, any;

    v = 0;
    frac = 0;
    dot = 0;
    any = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (dot || digits == 0) {
                return -1;
            }

            dot = 1;
            continue;
        }

        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }

        if (dot && ++frac > digits) {
            return -1;
        }

        if (v > (INT64_MAX - 9) / 10) {
            return -1;
        }

        v = v * 10 + (s[i] - '0');
        any = 1;
    }

    if (!any || (dot && frac == 0)) {
        return -1;
    }

    for ( /* void */ ; frac < digits; frac++) {
        if (v > INT64_MAX / 10) {
            return -1;
        }

        v *= 10;
    }

    if (v > max) {
        return -1;
    }

    *out = v;

    return 0;
}


size_t
ngx_ams_settings_decimal_format(char *buf, size_t size, int64_t value,
    unsigned digits)
{
    int       n;
    int64_t   scale, ip, fp;
    unsigned  i, width;

    scale = 1;
    for (i = 0; i < digits; i++) {
        scale *= 10;
    }

    if (value < 0) {
        return 0;
    }

    ip = value / scale;
    fp = value % scale;
    width = digits;

    while (fp && fp % 10 == 0) {
        fp /= 10;
        width--;
    }

    if (fp == 0) {
        n = snprintf(buf, size, "%lld", (long long) ip);

    } else {
        n = snprintf(buf, size, "%lld.%0*lld", (long long) ip, (int) width,
                     (long long) fp);
    }

    if (n < 0 || (size_t) n >= size) {
        return 0;
    }

    return (size_t) n;
}
