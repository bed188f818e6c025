
/*
 * Copyright (C) nginx-ams authors
 *
 * Client-chosen names escaped for the error log.
 */


#include "ngx_ams_log_escape.h"


char *
ngx_ams_log_escape(char *dst, size_t size, const unsigned char *src,
    size_t len)
{
    size_t                i, n;
    unsigned char         ch;
    static const char     hex[] = "0123456789abcdef";

    if (size == 0) {
        return dst;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        ch = src[i];

        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"') {
            if (n + 1 >= size) {
                break;
            }

            dst[n++] = (char) ch;
            continue;
        }

        if (n + 4 >= size) {
            break;
        }

        dst[n++] = '\\';
        dst[n++] = 'x';
        dst[n++] = hex[ch >> 4];
        dst[n++] = hex[ch & 0x0f];
    }

    dst[n] = '\0';

    return dst;
}
