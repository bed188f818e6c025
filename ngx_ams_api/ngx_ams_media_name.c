
/*
 * Copyright (C) nginx-ams authors
 *
 * Stream ids from HLS/DASH request paths.
 */


#include <string.h>

#include "ngx_ams_media_name.h"


#define NGX_AMS_SEGMENT_DIGITS   9     /* {id}000000001.ts */


static int
ngx_ams_media_ends(const unsigned char *p, size_t len, const char *suffix)
{
    size_t  n = strlen(suffix);

    return len >= n && memcmp(p + len - n, suffix, n) == 0;
}


int
ngx_ams_media_name(const unsigned char *path, size_t len,
    ngx_ams_media_name_t *out)
{
    size_t                i, name_len, digits;
    const unsigned char  *p, *last, *slash, *name, *dot;

    memset(out, 0, sizeof(ngx_ams_media_name_t));

    if (len < 2 || path[0] != '/') {
        return -1;
    }

    p = path + 1;
    last = path + len;

    slash = memchr(p, '/', last - p);
    if (slash == NULL || slash == p) {
        return -1;
    }

    out->app = p;
    out->app_len = slash - p;

    p = slash + 1;

    if (last - p < 9 || memcmp(p, "streams/", 8) != 0) {
        return -1;
    }

    p += 8;
    slash = memchr(p, '/', last - p);

    if (slash) {
        /* {id}/: the MPD, fMP4 HLS media playlists, and the CMAF files
         * both kinds of player fetch */
        out->id = p;
        out->id_len = slash - p;

        if (ngx_ams_media_ends(slash, last - slash, ".mpd")) {
            out->kind = NGX_AMS_MEDIA_DASH;

        } else if (ngx_ams_media_ends(slash, last - slash, ".m3u8")) {
            out->kind = NGX_AMS_MEDIA_HLS;

        } else {
            out->kind = NGX_AMS_MEDIA_SHARED;
        }

        return out->id_len ? 0 : -1;
    }

    out->kind = NGX_AMS_MEDIA_HLS;

    name = p;
    name_len = last - p;

    dot = NULL;
    for (i = name_len; i > 0; i--) {
        if (name[i - 1] == '.') {
            dot = name + i - 1;
            break;
        }
    }

    if (dot == NULL || dot == name) {
        return -1;
    }

    name_len = dot - name;

    if (ngx_ams_media_ends(dot, last - dot, ".m3u8")
        && last - dot == 5)
    {
        if (ngx_ams_media_ends(name, name_len, "_adaptive")
            && name_len > 9)
        {
            name_len -= 9;
        }

    } else if (ngx_ams_media_ends(name, name_len, "_init") && name_len > 5) {
        name_len -= 5;

    } else {
        for (digits = 0;
             digits < NGX_AMS_SEGMENT_DIGITS && digits < name_len
             && name[name_len - 1 - digits] >= '0'
             && name[name_len - 1 - digits] <= '9';
             digits++)
        {
            /* void */
        }

        if (digits != NGX_AMS_SEGMENT_DIGITS
            || name_len == NGX_AMS_SEGMENT_DIGITS)
        {
            return -1;
        }

        name_len -= NGX_AMS_SEGMENT_DIGITS;
    }

    out->id = name;
    out->id_len = name_len;

    return 0;
}
