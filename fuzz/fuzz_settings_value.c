
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: AMS's numbers in strings from a settings POST ("hlsTime":
 * "0.5"): parsed with 0 to 3 decimals and a bound from the input, and
 * what parses is written back and must parse to the same value.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ngx_ams_settings_value.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char      buf[64];
    size_t    n;
    int64_t   value, again, max;
    unsigned  digits;

    if (size < 1) {
        return 0;
    }

    digits = data[0] % 4;
    max = (int64_t) 1 << (data[0] % 40);

    if (ngx_ams_settings_decimal_parse((const char *) data + 1, size - 1,
                                       digits, max, &value)
        != 0)
    {
        return 0;
    }

    if (value < 0 || value > max) {
        abort();
    }

    n = ngx_ams_settings_decimal_format(buf, sizeof(buf), value, digits);

    if (n == 0
        || ngx_ams_settings_decimal_parse(buf, n, digits, max, &again) != 0
        || again != value)
    {
        abort();
    }

    return 0;
}
