
/*
 * Copyright (C) nginx-ams authors
 *
 * Which stream an HLS/DASH request is for: /{App}/streams/ followed by
 * exactly one of the packager's file names (ngx_ams_stream_name.h lists
 * them); anything else is nobody's file and is refused.  Pure C:
 * unit-tested and fuzzed outside nginx.
 */


#ifndef _NGX_AMS_MEDIA_NAME_H_INCLUDED_
#define _NGX_AMS_MEDIA_NAME_H_INCLUDED_


#include <stddef.h>


/* whose file it is: HLS (playlists, TS segments), DASH (the MPD), or
 * fMP4 segments under {id}/ that HLS and DASH players share */
#define NGX_AMS_MEDIA_HLS        1
#define NGX_AMS_MEDIA_DASH       2
#define NGX_AMS_MEDIA_SHARED     3

/* which of the stream's outputs */
#define NGX_AMS_MEDIA_MAIN       0     /* the stream's own files */
#define NGX_AMS_MEDIA_ADAPTIVE   1     /* {id}_adaptive.m3u8: id is the
                                          stream whose rungs it lists */
#define NGX_AMS_MEDIA_RUNG       2     /* a rung's file: id is the rung
                                          ({parent}_{h}p{k}kbps), parent
                                          the stream viewers asked for */


typedef struct {
    const unsigned char      *app;
    size_t                    app_len;
    const unsigned char      *id;          /* the stream whose file it is */
    size_t                    id_len;
    int                       kind;        /* NGX_AMS_MEDIA_HLS, ... */
    int                       variant;     /* NGX_AMS_MEDIA_MAIN, ... */
    const unsigned char      *parent;      /* == id unless a rung's */
    size_t                    parent_len;
    unsigned                  height;      /* a rung's */
    unsigned                  kbps;
} ngx_ams_media_name_t;


/* 0 and "out" filled for a stream's file; -1 for anything else */
int ngx_ams_media_name(const unsigned char *path, size_t len,
    ngx_ams_media_name_t *out);


#endif /* _NGX_AMS_MEDIA_NAME_H_INCLUDED_ */
