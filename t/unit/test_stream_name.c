
/*
 * Copyright (C) nginx-ams authors
 *
 * Stream ids and the packager's file names: every valid id maps to its
 * own files and each file back to its id, so no stream can take another's
 * names (publish "victim.m3u8", then "victim").
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_stream_name.h"


static int
valid(const char *name, unsigned flags)
{
    return ngx_ams_stream_name_valid((const unsigned char *) name,
                                     strlen(name), flags, NULL);
}


/* the id and type a file name parses to, or NULL */
static int
file(const char *path, const char *id, int type)
{
    ngx_ams_stream_file_t  f;

    if (ngx_ams_stream_file((const unsigned char *) path, strlen(path), &f)
        != 0)
    {
        return id == NULL;
    }

    return id != NULL && f.id_len == strlen(id)
           && memcmp(f.id, id, f.id_len) == 0 && f.type == type;
}


/* every file the packager makes of "id" parses back to "id" */
static int
round_trip(const char *id)
{
    char         path[512];
    size_t       i;
    const char  *fmt[] = {
        "%s.m3u8", "%s000000000.ts", "%s123456789.ts", "%s/%s.mpd",
        "%s/video.m3u8", "%s/audio.m3u8", "%s/video_init.mp4",
        "%s/audio_init.mp4", "%s/video_0.m4s", "%s/audio_17.m4s",
        "%s/video_init_1.mp4", "%s/audio_init_12.mp4", NULL
    };
    const int    type[] = {
        NGX_AMS_STREAM_FILE_PLAYLIST, NGX_AMS_STREAM_FILE_TS,
        NGX_AMS_STREAM_FILE_TS, NGX_AMS_STREAM_FILE_MPD,
        NGX_AMS_STREAM_FILE_MEDIA, NGX_AMS_STREAM_FILE_MEDIA,
        NGX_AMS_STREAM_FILE_CMAF, NGX_AMS_STREAM_FILE_CMAF,
        NGX_AMS_STREAM_FILE_CMAF, NGX_AMS_STREAM_FILE_CMAF,
        NGX_AMS_STREAM_FILE_CMAF, NGX_AMS_STREAM_FILE_CMAF
    };

    for (i = 0; fmt[i]; i++) {
        snprintf(path, sizeof(path), fmt[i], id, id);

        if (!file(path, id, type[i])) {
            printf("# %s is not %s's\n", path, id);
            return 0;
        }
    }

    return 1;
}


int
main(void)
{
    size_t                 parent;
    unsigned               h, k;
    const char            *why;
    unsigned char          name[200];
    ngx_ams_stream_file_t  f;

    /* ids */
    ok(valid("cam-1_a.b", 0), "letters, digits, - _ .");
    ok(valid("7", 0), "a digit");
    ok(valid("cam000000001", 0), "nine digits at the end are no segment");
    ok(valid("a.m3u8x", 0), "m3u8x is no suffix of ours");
    ok(!valid("", 0), "empty");
    ok(!valid(".hidden", 0), "a leading dot");
    ok(!valid("..", 0), "..");
    ok(!valid("a/b", 0), "a slash");
    ok(!valid("a b", 0), "a space");
    ok(!valid("a\nb", 0), "a newline");
    ok(!valid("caf\xc3\xa9", 0), "UTF-8");

    ok(!valid("victim.m3u8", 0), ".m3u8: its DASH directory would be "
       "victim's playlist");
    ok(!valid("victim.M3U8", 0), "in any case");
    ok(!valid("victim000000001.ts", 0), ".ts");
    ok(!valid("x.mpd", 0), ".mpd");
    ok(!valid("x.m4s", 0), ".m4s");
    ok(!valid("x.mp4", 0), ".mp4");
    ok(!valid("x.tmp", 0), ".tmp");
    ok(!valid("x_adaptive", 0), "_adaptive: x's adaptive playlist");
    ok(!valid("x_init", 0), "_init");
    ok(!valid("x_720p2500kbps", 0), "a publisher cannot take a rung's name");
    ok(valid("x_720p2500kbps", NGX_AMS_STREAM_NAME_RUNG),
       "a transcoder's rung can");
    ok(!valid("x_720p2500kbps_360p800kbps", NGX_AMS_STREAM_NAME_RUNG),
       "not a rung of a rung");
    ok(!valid("x.m3u8_720p2500kbps", NGX_AMS_STREAM_NAME_RUNG),
       "nor a rung of a refused name");
    ok(!valid("x_opus", 0), "a publisher cannot take an Opus companion's "
       "name");
    ok(!valid("x_OPUS", 0), "in any case");
    ok(valid("x_opus", NGX_AMS_STREAM_NAME_RUNG), "an audio transform can");
    ok(valid("_opus", 0), "_opus alone is a name, nobody's companion");
    ok(!valid("x_opus_opus", NGX_AMS_STREAM_NAME_RUNG)
       && !valid("x_720p2500kbps_opus", NGX_AMS_STREAM_NAME_RUNG),
       "not a companion of a companion or of a rung");
    ok(valid("x_opusx", 0) && valid("xopus", 0), "only the full suffix");
    ok(valid("x_720p", 0) && valid("x_p2500kbps", 0) && valid("_1p1kbps", 0)
       && valid("x_0720p1kbps", 0), "only a full rung suffix is a rung's");

    memset(name, 'a', sizeof(name));
    ok(ngx_ams_stream_name_valid(name, 127, 0, NULL), "127 characters");
    ok(!ngx_ams_stream_name_valid(name, 128, 0, &why), "not 128");
    ok(why && strstr(why, "127"), "why: %s", why ? why : "(null)");
    ngx_ams_stream_name_valid((const unsigned char *) "v.m3u8", 6, 0, &why);
    ok(why && strstr(why, "suffix"), "why: %s", why);

    ok(ngx_ams_stream_name_rung((const unsigned char *) "cam_1080p6000kbps",
                                17, &parent, &h, &k)
       && parent == 3 && h == 1080 && k == 6000, "a rung's parent and size");

    /* files */
    ok(round_trip("cam1"), "cam1's files are cam1's");
    ok(round_trip("7"), "a numeric id's");
    ok(round_trip("cam000000001"), "an id ending in nine digits");
    ok(round_trip("a.b-c_d"), "dots and dashes");
    ok(round_trip("cam_720p2500kbps"), "a rung's");
    ok(round_trip("cam_opus"), "an Opus companion's");

    ok(file("cam1_adaptive.m3u8", "cam1", NGX_AMS_STREAM_FILE_ADAPTIVE),
       "the adaptive playlist is cam1's, as what it is");
    ok(file("cam_720p2500kbps.m3u8", "cam_720p2500kbps",
            NGX_AMS_STREAM_FILE_PLAYLIST), "a rung's playlist");
    ngx_ams_stream_file((const unsigned char *) "cam_720p2500kbps000000003.ts",
                        28, &f);
    ok(f.parent_len == 3 && f.height == 720 && f.kbps == 2500,
       "a rung's segment names its parent and size");
    ngx_ams_stream_file((const unsigned char *) "cam.m3u8", 8, &f);
    ok(f.parent_len == 3 && f.height == 0, "a stream is its own parent");

    ok(file(".cam1.m3u8.tmp", NULL, 0), "a temporary playlist is nobody's");
    ok(file("cam1/.video.m3u8.tmp", NULL, 0), "nor under {id}/");
    ok(file("cam1_720p1kbps_adaptive.m3u8", NULL, 0),
       "a rung has no adaptive playlist");
    ok(file("x.m3u8.m3u8", NULL, 0), "the playlist of a refused id");
    ok(file("x.m3u8/x.m3u8.mpd", NULL, 0), "the MPD of a refused id");
    ok(file("_adaptive.m3u8", NULL, 0), "an adaptive playlist of nobody");
    ok(file("cam000000001.m4s", NULL, 0), "old fMP4 names are gone");
    ok(file("cam_init.mp4", NULL, 0), "old init names are gone");
    ok(file("cam12345678.ts", NULL, 0), "8 digits");
    ok(file("000000001.ts", NULL, 0), "a segment of no id");
    ok(file("cam/other.mpd", NULL, 0), "another id's MPD name");
    ok(file("cam/video_01.m4s", NULL, 0), "a leading zero");
    ok(file("cam/video_.m4s", NULL, 0), "no number");
    ok(file("cam/video_1x.m4s", NULL, 0), "not a number");
    ok(file("cam/video_init_0.mp4", NULL, 0), "init version 0 has no number");
    ok(file("cam/video_init_01.mp4", NULL, 0), "an init version's zero");
    ok(file("cam/video_init_.mp4", NULL, 0), "an init without a version");
    ok(file("cam/audio_init_2x.mp4", NULL, 0), "an init version not a number");
    ok(file("cam/x/video.m3u8", NULL, 0), "deeper");
    ok(file("cam/", NULL, 0), "the directory");
    ok(file("/video.m3u8", NULL, 0), "no id");
    ok(file("cam", NULL, 0), "no extension");
    ok(file("cam.M3U8", NULL, 0), "case is the packager's");
    ok(file("", NULL, 0), "empty");

    return done_testing();
}
