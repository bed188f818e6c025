
/*
 * Copyright (C) nginx-ams authors
 *
 * Stream ids from HLS/DASH request paths.
 */


#include <string.h>

#include "ngx_ams_media_name.h"
#include "ngx_ams_stream_name.h"


int
ngx_ams_media_name(const unsigned char *path, size_t len,
    ngx_ams_media_name_t *out)
{
    const unsigned char    *p, *last, *slash;
    ngx_ams_stream_file_t   f;

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

    p = slash + 1;

    if (last - p < 9 || memcmp(p, "streams/", 8) != 0) {
        return -1;
    }

    if (ngx_ams_stream_file(p + 8, last - p - 8, &f) != 0) {
        return -1;
    }

    out->app = path + 1;
    out->app_len = slash - path - 1;
    out->id = f.id;
    out->id_len = f.id_len;
    out->parent = f.id;
    out->parent_len = f.parent_len;
    out->height = f.height;
    out->kbps = f.kbps;

    switch (f.type) {

    case NGX_AMS_STREAM_FILE_MPD:
        out->kind = NGX_AMS_MEDIA_DASH;
        break;

    case NGX_AMS_STREAM_FILE_CMAF:
        out->kind = NGX_AMS_MEDIA_SHARED;
        break;

    default:    /* playlists, TS segments, fMP4 HLS media playlists */
        out->kind = NGX_AMS_MEDIA_HLS;
    }

    out->variant = (f.type == NGX_AMS_STREAM_FILE_ADAPTIVE)
                   ? NGX_AMS_MEDIA_ADAPTIVE
                   : (f.parent_len != f.id_len) ? NGX_AMS_MEDIA_RUNG
                   : NGX_AMS_MEDIA_MAIN;

    return 0;
}
