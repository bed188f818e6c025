
/*
 * Copyright (C) nginx-ams authors
 *
 * Which stream an HLS/DASH request is for, from the packager's file
 * names.  Pure C: unit-tested and fuzzed outside nginx.
 *
 *   /{App}/streams/{id}.m3u8, {id}_adaptive.m3u8    HLS playlists
 *   /{App}/streams/{id}NNNNNNNNN.ts|.m4s            HLS segments
 *   /{App}/streams/{id}_init.mp4                    HLS fMP4 init
 *   /{App}/streams/{id}/{anything}                  DASH
 */


#ifndef _NGX_AMS_MEDIA_NAME_H_INCLUDED_
#define _NGX_AMS_MEDIA_NAME_H_INCLUDED_


#include <stddef.h>


/* whose file it is: HLS (playlists, TS segments), DASH (the MPD), or
 * fMP4 segments under {id}/ that HLS and DASH players share */
#define NGX_AMS_MEDIA_HLS        1
#define NGX_AMS_MEDIA_DASH       2
#define NGX_AMS_MEDIA_SHARED     3


typedef struct {
    const unsigned char      *app;
    size_t                    app_len;
    const unsigned char      *id;
    size_t                    id_len;
    int                       kind;          /* NGX_AMS_MEDIA_* */
} ngx_ams_media_name_t;


/* 0 and "out" filled for a stream's file; -1 for anything else */
int ngx_ams_media_name(const unsigned char *path, size_t len,
    ngx_ams_media_name_t *out);


#endif /* _NGX_AMS_MEDIA_NAME_H_INCLUDED_ */
