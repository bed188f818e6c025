
/*
 * Copyright (C) nginx-ams authors
 *
 * printf into a growable buffer, for the playlist and MPD writers.
 * Free of nginx types.
 */


#ifndef _NGX_AMS_TEXT_H_INCLUDED_
#define _NGX_AMS_TEXT_H_INCLUDED_


#include <stdarg.h>
#include <stdio.h>

#include "ngx_ams_ts_mux.h"


static inline int
ngx_ams_text(ngx_ams_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));


/* 0, or -1 when out of memory (the buffer keeps what it had) */

static inline int
ngx_ams_text(ngx_ams_buf_t *b, const char *fmt, ...)
{
    int      n;
    size_t   room;
    va_list  ap;

    room = b->cap - b->len;

    va_start(ap, fmt);
    n = vsnprintf(b->data ? (char *) b->data + b->len : NULL, room, fmt, ap);
    va_end(ap);

    if (n < 0) {
        return -1;
    }

    if ((size_t) n >= room) {
        /* the terminating zero needs room too */
        if (ngx_ams_buf_reserve(b, (size_t) n + 1) != 0) {
            return -1;
        }

        va_start(ap, fmt);
        vsnprintf((char *) b->data + b->len, (size_t) n + 1, fmt, ap);
        va_end(ap);
    }

    b->len += (size_t) n;

    return 0;
}


#endif /* _NGX_AMS_TEXT_H_INCLUDED_ */
