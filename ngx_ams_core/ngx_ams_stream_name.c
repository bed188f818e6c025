
/*
 * Copyright (C) nginx-ams authors
 */


#include <string.h>

#include "ngx_ams_stream_name.h"


#define NGX_AMS_STREAM_TS_DIGITS  9     /* {id}000000001.ts */


/* suffixes the packager's names add, or that name another stream's file;
 * compared without case, for file systems that ignore it */
static const char  *ngx_ams_stream_reserved[] = {
    ".m3u8", ".mpd", ".ts", ".m4s", ".mp4", ".m4a", ".tmp",
    "_adaptive", "_init", NULL
};


static int
ngx_ams_stream_ends(const unsigned char *p, size_t len, const char *suffix,
    int nocase)
{
    size_t          i, n;
    unsigned char   a, b;

    n = strlen(suffix);

    if (len < n) {
        return 0;
    }

    p += len - n;

    for (i = 0; i < n; i++) {
        a = p[i];
        b = (unsigned char) suffix[i];

        if (nocase && a >= 'A' && a <= 'Z') {
            a = (unsigned char) (a - 'A' + 'a');
        }

        if (a != b) {
            return 0;
        }
    }

    return 1;
}


static int
ngx_ams_stream_is(const unsigned char *p, size_t len, const char *s)
{
    return len == strlen(s) && memcmp(p, s, len) == 0;
}


/* 1 to 5 digits without a leading zero, ending at p + len: their count */
static size_t
ngx_ams_stream_number_back(const unsigned char *p, size_t len,
    unsigned *value)
{
    size_t    n;
    unsigned  v, m;

    for (n = 0; n < len && n < 6 && p[len - 1 - n] >= '0'
                && p[len - 1 - n] <= '9'; n++)
    {
        /* void */
    }

    if (n == 0 || n > 5 || p[len - n] == '0') {
        return 0;
    }

    v = 0;
    for (m = 0; m < n; m++) {
        v = v * 10 + (p[len - n + m] - '0');
    }

    *value = v;

    return n;
}


int
ngx_ams_stream_name_rung(const unsigned char *name, size_t len,
    size_t *parent_len, unsigned *height, unsigned *kbps)
{
    size_t    n;
    unsigned  h, k;

    /* _{height}p{kbps}kbps, read from the end */
    if (!ngx_ams_stream_ends(name, len, "kbps", 0)) {
        return 0;
    }

    len -= 4;

    n = ngx_ams_stream_number_back(name, len, &k);
    if (n == 0) {
        return 0;
    }

    len -= n;

    if (len == 0 || name[len - 1] != 'p') {
        return 0;
    }

    len--;

    n = ngx_ams_stream_number_back(name, len, &h);
    if (n == 0) {
        return 0;
    }

    len -= n;

    if (len < 2 || name[len - 1] != '_') {
        return 0;
    }

    if (parent_len) {
        *parent_len = len - 1;
    }

    if (height) {
        *height = h;
    }

    if (kbps) {
        *kbps = k;
    }

    return 1;
}


int
ngx_ams_stream_name_valid(const unsigned char *name, size_t len,
    unsigned flags, const char **why)
{
    size_t        i, parent;
    const char   *dummy, **r;

    if (why == NULL) {
        why = &dummy;
    }

    if (len == 0) {
        *why = "empty";
        return 0;
    }

    if (len >= NGX_AMS_STREAM_NAME_MAX) {
        *why = "longer than 127 characters";
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= 'A' && name[i] <= 'Z')
              || (name[i] >= '0' && name[i] <= '9')
              || name[i] == '_' || name[i] == '-' || name[i] == '.'))
        {
            *why = "characters other than A-Z a-z 0-9 _ - .";
            return 0;
        }
    }

    if (name[0] == '.') {
        *why = "starts with '.'";
        return 0;
    }

    for (r = ngx_ams_stream_reserved; *r; r++) {
        if (ngx_ams_stream_ends(name, len, *r, 1)) {
            *why = "ends in a suffix of the packager's file names";
            return 0;
        }
    }

    /* an audio transform's companion {parent}_opus
     * (ngx_ams_audio_transform.h): compared without case, as the
     * packager's suffixes are */
    if (len > sizeof(NGX_AMS_STREAM_OPUS_SUFFIX) - 1
        && ngx_ams_stream_ends(name, len, NGX_AMS_STREAM_OPUS_SUFFIX, 1))
    {
        if (!(flags & NGX_AMS_STREAM_NAME_RUNG)) {
            *why = "ends in _opus, an audio companion's";
            return 0;
        }

        return ngx_ams_stream_name_valid(name,
                                         len - (sizeof(
                                             NGX_AMS_STREAM_OPUS_SUFFIX) - 1),
                                         0, why);
    }

    if (ngx_ams_stream_name_rung(name, len, &parent, NULL, NULL)) {
        if (!(flags & NGX_AMS_STREAM_NAME_RUNG)) {
            *why = "ends in a transcoder rung's _{height}p{kbps}kbps";
            return 0;
        }

        /* a rung of a rung is nobody's */
        return ngx_ams_stream_name_valid(name, parent, 0, why);
    }

    return 1;
}


static int
ngx_ams_stream_id(ngx_ams_stream_file_t *out, const unsigned char *id,
    size_t len, int type)
{
    if (!ngx_ams_stream_name_valid(id, len, NGX_AMS_STREAM_NAME_RUNG, NULL))
    {
        return -1;
    }

    out->id = id;
    out->id_len = len;
    out->type = type;
    out->parent_len = len;

    (void) ngx_ams_stream_name_rung(id, len, &out->parent_len, &out->height,
                                    &out->kbps);

    return 0;
}


/* a file of {id}/: the MPD, fMP4 media playlists, CMAF init and fragments */

static int
ngx_ams_stream_dir_file(const unsigned char *id, size_t id_len,
    const unsigned char *f, size_t len)
{
    size_t  i, n;

    if (len == id_len + 4 && memcmp(f, id, id_len) == 0
        && memcmp(f + id_len, ".mpd", 4) == 0)
    {
        return NGX_AMS_STREAM_FILE_MPD;
    }

    if (ngx_ams_stream_is(f, len, "video.m3u8")
        || ngx_ams_stream_is(f, len, "audio.m3u8"))
    {
        return NGX_AMS_STREAM_FILE_MEDIA;
    }

    if (ngx_ams_stream_is(f, len, "video_init.mp4")
        || ngx_ams_stream_is(f, len, "audio_init.mp4"))
    {
        return NGX_AMS_STREAM_FILE_CMAF;
    }

    /* video_init_{v}.mp4: the init segment after the v-th codec
     * configuration change, v decimal from 1 without leading zeros */
    if (len > sizeof("video_init_.mp4") - 1
        && (memcmp(f, "video_init_", 11) == 0
            || memcmp(f, "audio_init_", 11) == 0)
        && ngx_ams_stream_ends(f, len, ".mp4", 0))
    {
        n = len - 11 - 4;

        if (n > 10 || f[11] == '0') {
            return -1;
        }

        for (i = 0; i < n; i++) {
            if (f[11 + i] < '0' || f[11 + i] > '9') {
                return -1;
            }
        }

        return NGX_AMS_STREAM_FILE_CMAF;
    }

    /* video_{n}.m4s, n decimal without leading zeros */
    if (len < sizeof("video_0.m4s") - 1
        || (memcmp(f, "video_", 6) != 0 && memcmp(f, "audio_", 6) != 0)
        || !ngx_ams_stream_ends(f, len, ".m4s", 0))
    {
        return -1;
    }

    n = len - 6 - 4;

    if (n > 20 || (n > 1 && f[6] == '0')) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (f[6 + i] < '0' || f[6 + i] > '9') {
            return -1;
        }
    }

    return NGX_AMS_STREAM_FILE_CMAF;
}


int
ngx_ams_stream_file(const unsigned char *path, size_t len,
    ngx_ams_stream_file_t *out)
{
    int                   type;
    size_t                i, base;
    const unsigned char  *slash;

    memset(out, 0, sizeof(ngx_ams_stream_file_t));

    slash = memchr(path, '/', len);

    if (slash) {
        i = slash - path;

        if (memchr(slash + 1, '/', len - i - 1) != NULL) {
            return -1;
        }

        type = ngx_ams_stream_dir_file(path, i, slash + 1, len - i - 1);
        if (type == -1) {
            return -1;
        }

        return ngx_ams_stream_id(out, path, i, type);
    }

    if (ngx_ams_stream_ends(path, len, ".m3u8", 0)) {
        base = len - 5;

        if (ngx_ams_stream_ends(path, base, "_adaptive", 0)) {
            /* the adaptive playlist of {id}, never a rung's */
            if (ngx_ams_stream_id(out, path, base - 9,
                                  NGX_AMS_STREAM_FILE_ADAPTIVE)
                != 0
                || out->parent_len != out->id_len)
            {
                memset(out, 0, sizeof(ngx_ams_stream_file_t));
                return -1;
            }

            return 0;
        }

        return ngx_ams_stream_id(out, path, base,
                                 NGX_AMS_STREAM_FILE_PLAYLIST);
    }

    if (ngx_ams_stream_ends(path, len, ".ts", 0)) {
        base = len - 3;

        if (base <= NGX_AMS_STREAM_TS_DIGITS) {
            return -1;
        }

        for (i = base - NGX_AMS_STREAM_TS_DIGITS; i < base; i++) {
            if (path[i] < '0' || path[i] > '9') {
                return -1;
            }
        }

        return ngx_ams_stream_id(out, path, base - NGX_AMS_STREAM_TS_DIGITS,
                                 NGX_AMS_STREAM_FILE_TS);
    }

    return -1;
}
