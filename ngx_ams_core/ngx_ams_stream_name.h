
/*
 * Copyright (C) nginx-ams authors
 *
 * Stream ids and the files the packager makes of them, in one place: a
 * stream id maps to exactly one set of files under {App}/streams/, and
 * each of those files maps back to exactly one id.
 *
 *   {id}.m3u8                   HLS playlist (MPEG-TS media, fMP4 master)
 *   {id}NNNNNNNNN.ts            MPEG-TS segment, 9-digit sequence
 *   {id}_adaptive.m3u8          adaptive master playlist of {id}
 *   {id}/{id}.mpd               DASH MPD
 *   {id}/video.m3u8, audio.m3u8 fMP4 HLS media playlists
 *   {id}/video_init.mp4, audio_init.mp4, video_N.m4s, audio_N.m4s
 *                               CMAF files HLS and DASH share
 *
 * A transcoder's rung of {id} is a stream of its own named
 * {id}_{height}p{kbps}kbps, with the same set of files; so is an audio
 * transform's companion {id}_opus.  Hence the ids refused: ending in a
 * suffix that one of these names adds (".m3u8", ".ts", ...) or that
 * marks another stream's file ("_adaptive", a rung's or "_opus" for a
 * publisher), starting with '.' (the packager's own hidden files),
 * and characters outside Ant Media's [A-Za-z0-9_.-].  Pure C:
 * unit-tested and fuzzed outside nginx.
 */


#ifndef _NGX_AMS_STREAM_NAME_H_INCLUDED_
#define _NGX_AMS_STREAM_NAME_H_INCLUDED_


#include <stddef.h>


#define NGX_AMS_STREAM_NAME_MAX    128  /* NGX_AMS_NAME_LEN, NUL included */

/* ngx_ams_stream_name_valid() flags */
#define NGX_AMS_STREAM_NAME_RUNG   0x01 /* may be a rendition's:
                                           {parent}_{h}p{k}kbps or
                                           {parent}_opus */

#define NGX_AMS_STREAM_OPUS_SUFFIX  "_opus"

/* what a file is (ngx_ams_stream_file_t.type) */
#define NGX_AMS_STREAM_FILE_PLAYLIST   1  /* {id}.m3u8 */
#define NGX_AMS_STREAM_FILE_ADAPTIVE   2  /* {id}_adaptive.m3u8 */
#define NGX_AMS_STREAM_FILE_TS         3  /* {id}NNNNNNNNN.ts */
#define NGX_AMS_STREAM_FILE_MPD        4  /* {id}/{id}.mpd */
#define NGX_AMS_STREAM_FILE_MEDIA      5  /* {id}/video.m3u8, audio.m3u8 */
#define NGX_AMS_STREAM_FILE_CMAF       6  /* {id}/video_init.mp4, audio_3.m4s */


typedef struct {
    const unsigned char      *id;           /* the stream whose file it is */
    size_t                    id_len;
    int                       type;         /* NGX_AMS_STREAM_FILE_* */

    /* a rung ({parent}_{h}p{k}kbps): its parent's length, else id_len */
    size_t                    parent_len;
    unsigned                  height;       /* a rung's, else 0 */
    unsigned                  kbps;
} ngx_ams_stream_file_t;


/* 1 when "name" may be a stream id, else 0 with *why set (static text;
 * why may be NULL) */
int ngx_ams_stream_name_valid(const unsigned char *name, size_t len,
    unsigned flags, const char **why);

/* 1 when "name" ends in a rung's _{height}p{kbps}kbps after a non-empty
 * parent, with *parent_len, *height, *kbps set (each may be NULL) */
int ngx_ams_stream_name_rung(const unsigned char *name, size_t len,
    size_t *parent_len, unsigned *height, unsigned *kbps);

/* a path under {App}/streams/ ("cam1.m3u8", "cam1/video_3.m4s"): 0 with
 * "out" filled when it is exactly a file the packager makes of a valid
 * id, else -1 */
int ngx_ams_stream_file(const unsigned char *path, size_t len,
    ngx_ams_stream_file_t *out);


#endif /* _NGX_AMS_STREAM_NAME_H_INCLUDED_ */
