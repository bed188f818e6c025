
/*
 * Copyright (C) nginx-ams authors
 *
 * The encoder_settings parser: AMS's encoderSettings as AMS writes it,
 * what it refuses, and the rung names it gives.
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_ladder.h"


static int
parse(const char *text, ngx_ams_ladder_t *l, char *err)
{
    return ngx_ams_ladder_parse(text, strlen(text), l, err, 160);
}


int
main(void)
{
    char              err[160], suffix[32];
    char             *text;
    json_t           *j;
    ngx_ams_ladder_t  l, keep;

    is_int(parse("[{\"height\":360,\"videoBitrate\":500000,"
                 "\"audioBitrate\":64000},"
                 "{\"height\":720,\"videoBitrate\":2000000,"
                 "\"audioBitrate\":128000,\"forceEncode\":true},"
                 "{\"height\":480,\"videoBitrate\":800000.0}]", &l, err),
           0, "AMS's encoderSettings parse");
    is_int(l.n, 3, "three rungs");
    ok(l.rung[0].height == 720 && l.rung[1].height == 480
       && l.rung[2].height == 360, "sorted tallest first (the cascade)");
    ok(l.rung[0].force && !l.rung[1].force, "forceEncode kept");
    is_int(l.rung[1].video_bitrate, 800000, "800000.0 is a whole number");
    is_int(l.rung[1].audio_bitrate, 0, "no audioBitrate: pass-through");
    is_int(l.rung[2].audio_bitrate, 64000, "audioBitrate kept");

    ngx_ams_ladder_rung_suffix(&l.rung[1], suffix, sizeof(suffix));
    ok(strcmp(suffix, "480p800kbps") == 0, "rung name suffix %s", suffix);

    j = ngx_ams_ladder_to_json(&l);
    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    is_int(parse(text, &keep, err), 0, "written back: %s", text);
    ok(keep.n == 3 && memcmp(&keep, &l, sizeof(l)) == 0,
       "and it reads the same");
    free(text);

    is_int(parse("[]", &l, err), 0, "an empty list is no transcoding");
    is_int(l.n, 0, "no rungs");

    keep = l;
    l.n = 7;
    is_int(parse("{\"height\":360}", &l, err), -1, "an object is refused");
    is_int(l.n, 7, "and the ladder is untouched");
    is_int(parse("[{\"videoBitrate\":500000}]", &l, err), -1,
           "a rung without height is refused: %s", err);
    is_int(parse("[{\"height\":361,\"videoBitrate\":500000}]", &l, err), -1,
           "an odd height is refused: %s", err);
    is_int(parse("[{\"height\":\"360\",\"videoBitrate\":500000}]", &l, err),
           -1, "a height in a string is refused: %s", err);
    is_int(parse("[{\"height\":360,\"videoBitrate\":5.5e5}]", &l, err), 0,
           "5.5e5 is 550000");
    is_int(parse("[{\"height\":360,\"videoBitrate\":500000.5}]", &l, err),
           -1, "a fraction is refused: %s", err);
    is_int(parse("[{\"height\":360,\"videoBitrate\":-1}]", &l, err), -1,
           "a negative bitrate is refused");
    is_int(parse("[{\"height\":99999,\"videoBitrate\":500000}]", &l, err), -1,
           "a height out of range is refused");
    is_int(parse("[{\"height\":360,\"videoBitrate\":500000},"
                 "{\"height\":360,\"videoBitrate\":500400}]", &l, err), -1,
           "two rungs of one name are refused: %s", err);
    is_int(parse("[{\"height\":360,\"videoBitrate\":500000,"
                 "\"forceEncode\":1}]", &l, err), -1,
           "forceEncode must be a boolean");
    is_int(parse("[1,2,3,4,5,6,7,8,9]", &l, err), -1, "at most 8 rungs");
    is_int(parse("[{\"height\":360,\"videoBitrate\":500000", &l, err), -1,
           "truncated JSON is refused: %s", err);
    is_int(parse("[{\"height\":360,\"videoBitrate\":500000,"
                 "\"codec\":\"h264\"}]", &l, err), 0,
           "unknown fields are ignored, as AMS does");

    return done_testing();
}
