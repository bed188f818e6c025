
/*
 * Copyright (C) nginx-ams authors
 *
 * The adaptive ladder as Ant Media Server writes it (encoderSettings,
 * encoderSettingsString):
 *
 *   [{"height":480,"videoBitrate":800000,"audioBitrate":64000,
 *     "forceEncode":false}, ...]
 *
 * parsed and written back in that form.  Bitrates are bits/s; a rung's
 * stream is {id}_{height}p{videoBitrate/1000}kbps.  No nginx types:
 * unit-tested and fuzzed alone.
 */


#ifndef _NGX_AMS_LADDER_H_INCLUDED_
#define _NGX_AMS_LADDER_H_INCLUDED_


#include <stddef.h>
#include <jansson.h>


#define NGX_AMS_LADDER_MAX        8       /* rungs of one application */
#define NGX_AMS_LADDER_MIN_HEIGHT 16
#define NGX_AMS_LADDER_MAX_HEIGHT 4320


typedef struct {
    unsigned            height;
    unsigned            video_bitrate;     /* bits/s */
    unsigned            audio_bitrate;     /* bits/s, 0: pass-through */
    unsigned            force;             /* forceEncode */
} ngx_ams_rung_t;


typedef struct {
    unsigned            n;
    ngx_ams_rung_t      rung[NGX_AMS_LADDER_MAX];
} ngx_ams_ladder_t;


/* 0 with "ladder" filled (rungs sorted tallest first), or -1 with a
 * message in "err"; "ladder" is untouched on error.  An empty array is
 * an empty ladder (no transcoding). */
int ngx_ams_ladder_parse(const char *text, size_t len,
    ngx_ams_ladder_t *ladder, char *err, size_t err_len);

/* the same from a JSON array already parsed */
int ngx_ams_ladder_from_json(json_t *array, ngx_ams_ladder_t *ladder,
    char *err, size_t err_len);

/* AMS's array of objects, a new reference */
json_t *ngx_ams_ladder_to_json(const ngx_ams_ladder_t *ladder);

/* "480p800kbps" into buf (at least 32 bytes): the rung's name suffix
 * after "{id}_"; returns its length */
size_t ngx_ams_ladder_rung_suffix(const ngx_ams_rung_t *r, char *buf,
    size_t size);


#endif /* _NGX_AMS_LADDER_H_INCLUDED_ */
