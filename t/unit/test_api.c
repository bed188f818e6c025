
/*
 * Copyright (C) nginx-ams authors
 *
 * What the HTTP side reads from the network before nginx-ams acts on it:
 * HLS/DASH request paths (which stream?) and REST Broadcast bodies
 * (which fields, of which types?), with malformed cases.
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_media_name.h"
#include "ngx_ams_broadcast_schema.h"


static int
media(const char *path, const char *app, const char *id, int kind)
{
    ngx_ams_media_name_t  n;

    if (ngx_ams_media_name((const unsigned char *) path, strlen(path), &n)
        != 0)
    {
        return app == NULL;
    }

    return app != NULL
           && n.app_len == strlen(app) && memcmp(n.app, app, n.app_len) == 0
           && n.id_len == strlen(id) && memcmp(n.id, id, n.id_len) == 0
           && n.kind == kind;
}


static int
fields(const char *body, char *error, size_t size, json_t **out)
{
    int      rc;
    json_t  *doc;

    doc = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
    if (doc == NULL) {
        snprintf(error, size, "not JSON");
        return -2;
    }

    rc = ngx_ams_broadcast_fields(doc, out, error, size);
    json_decref(doc);

    return rc;
}


int
main(void)
{
    json_t  *out;
    char     error[256];

    /* HLS and DASH names */
    ok(media("/LiveApp/streams/cam1.m3u8", "LiveApp", "cam1", NGX_AMS_MEDIA_HLS),
       "a playlist");
    ok(media("/LiveApp/streams/cam1_adaptive.m3u8", "LiveApp", "cam1", NGX_AMS_MEDIA_HLS),
       "the adaptive playlist");
    ok(media("/LiveApp/streams/cam1000000017.ts", "LiveApp", "cam1", NGX_AMS_MEDIA_HLS),
       "a TS segment");
    ok(media("/LiveApp/streams/cam1000000017.m4s", NULL, NULL, 0),
       "fMP4 segments are no longer beside the playlist");
    ok(media("/LiveApp/streams/cam1_init.mp4", NULL, NULL, 0),
       "nor init segments");
    ok(media("/LiveApp/streams/7000000001.ts", "LiveApp", "7", NGX_AMS_MEDIA_HLS),
       "a numeric id");
    ok(media("/LiveApp/streams/cam1/cam1.mpd", "LiveApp", "cam1",
             NGX_AMS_MEDIA_DASH), "a DASH manifest");
    ok(media("/LiveApp/streams/cam1/video.m3u8", "LiveApp", "cam1",
             NGX_AMS_MEDIA_HLS), "an fMP4 HLS media playlist");
    ok(media("/LiveApp/streams/cam1/video_3.m4s", "LiveApp", "cam1",
             NGX_AMS_MEDIA_SHARED), "a CMAF segment, HLS's and DASH's");
    ok(media("/LiveApp/streams/cam1/audio_init.mp4", "LiveApp", "cam1",
             NGX_AMS_MEDIA_SHARED), "a CMAF init segment");
    ok(media("/LiveApp/streams/cam1/video_init_3.mp4", "LiveApp", "cam1",
             NGX_AMS_MEDIA_SHARED), "an init segment after a new config");

    ok(media("", NULL, NULL, 0), "empty");
    ok(media("/", NULL, NULL, 0), "the root");
    ok(media("LiveApp/streams/a.m3u8", NULL, NULL, 0), "no leading slash");
    ok(media("//streams/a.m3u8", NULL, NULL, 0), "no application");
    ok(media("/LiveApp/stream/a.m3u8", NULL, NULL, 0), "not streams/");
    ok(media("/LiveApp/streams/", NULL, NULL, 0), "no file");
    ok(media("/LiveApp/streams//x.mpd", NULL, NULL, 0), "an empty DASH id");
    ok(media("/LiveApp/streams/noext", NULL, NULL, 0), "no extension");
    ok(media("/LiveApp/streams/.m3u8", NULL, NULL, 0), "an empty name");
    ok(media("/LiveApp/streams/cam12345678.ts", NULL, NULL, 0),
       "8 digits are not a segment number");
    ok(media("/LiveApp/streams/000000001.ts", NULL, NULL, 0),
       "a segment number without an id");
    ok(media("/LiveApp/streams/a.m3u8x", NULL, NULL, 0), "m3u8x");
    ok(media("/LiveApp/streams/.cam1.m3u8.tmp", NULL, NULL, 0),
       "a temporary playlist is nobody's");
    ok(media("/LiveApp/streams/.tmp/cam1.m3u8", NULL, NULL, 0),
       "nor a hidden directory");
    ok(media("/LiveApp/streams/cam1/cam1.mpd.tmp", NULL, NULL, 0),
       "nor an unknown file under {id}/");
    ok(media("/LiveApp/streams/cam1/other.mpd", NULL, NULL, 0),
       "nor another id's MPD name");
    ok(media("/LiveApp/streams/x.m3u8/x.m3u8.mpd", NULL, NULL, 0),
       "nor the files of a name no stream may take");
    ok(media("/LiveApp/streams/readme.txt", NULL, NULL, 0),
       "nor a file the packager never writes");
    ok(media("/LiveApp/streams/cam1/../cam2.m3u8", NULL, NULL, 0),
       "nor a dot segment");

    {
        ngx_ams_media_name_t  n;

        ok(ngx_ams_media_name((const unsigned char *)
                              "/LiveApp/streams/x_adaptive.m3u8", 32, &n)
           == 0 && n.id_len == 1 && n.variant == NGX_AMS_MEDIA_ADAPTIVE
           && n.parent_len == 1, "x_adaptive.m3u8 is x's adaptive playlist");
        ok(ngx_ams_media_name((const unsigned char *)
                              "/LiveApp/streams/cam1.m3u8", 26, &n)
           == 0 && n.variant == NGX_AMS_MEDIA_MAIN && n.parent == n.id
           && n.parent_len == 4, "cam1.m3u8 is cam1's own");
        ok(ngx_ams_media_name((const unsigned char *)
                              "/LiveApp/streams/x_720p2500kbps000000001.ts",
                              43, &n)
           == 0 && n.variant == NGX_AMS_MEDIA_RUNG && n.id_len == 14
           && n.parent_len == 1 && n.height == 720 && n.kbps == 2500,
           "a rung's segment: the rung's file, x's viewer");
    }

    /* Broadcast bodies */
    is_int(fields("{\"name\":\"n\",\"publicStream\":false,"
                  "\"plannedStartDate\":5,\"endPointList\":[]}",
                  error, sizeof(error), &out), 0, "known fields, right types");
    ok(json_object_size(out) == 4, "all kept");
    json_decref(out);

    is_int(fields("{\"status\":\"broadcasting\",\"date\":1,\"x\":{}}",
                  error, sizeof(error), &out), 0,
           "server fields and unknown ones are accepted");
    ok(json_object_size(out) == 0, "but not kept");
    json_decref(out);

    is_int(fields("{\"streamId\":\"s\"}", error, sizeof(error), &out), 0,
           "streamId is taken from the path, not the body");
    ok(json_object_size(out) == 0, "so it is not among the fields");
    json_decref(out);

    is_int(fields("{\"name\":null}", error, sizeof(error), &out), 0,
           "null is ignored");
    json_decref(out);

    is_int(fields("{\"name\":5}", error, sizeof(error), &out), -1,
           "a number for a string");
    ok(strstr(error, "\"name\" must be a string") != NULL, "%s", error);
    is_int(fields("{\"publicStream\":1}", error, sizeof(error), &out), -1,
           "a number for a boolean");
    is_int(fields("{\"plannedStartDate\":1.5}", error, sizeof(error), &out),
           -1, "a fraction for an integer");
    is_int(fields("{\"endPointList\":{}}", error, sizeof(error), &out), -1,
           "an object for an array");
    is_int(fields("{\"status\":7}", error, sizeof(error), &out), -1,
           "server fields are type-checked too");
    is_int(fields("[1]", error, sizeof(error), &out), -1, "not an object");
    is_int(fields("{\"a\":1,\"a\":2}", error, sizeof(error), &out), -2,
           "duplicate keys are refused by the parser");

    /* stream ids */
    ok(ngx_ams_broadcast_valid_id((const unsigned char *) "cam-1_a.b", 9),
       "letters, digits, - _ .");
    ok(!ngx_ams_broadcast_valid_id((const unsigned char *) "", 0), "empty");
    ok(!ngx_ams_broadcast_valid_id((const unsigned char *) ".hidden", 7),
       "a leading dot");
    ok(!ngx_ams_broadcast_valid_id((const unsigned char *) "a/b", 3),
       "a slash");
    ok(!ngx_ams_broadcast_valid_id((const unsigned char *) "a b", 3),
       "a space");
    {
        unsigned char  id[200];

        memset(id, 'a', sizeof(id));
        ok(ngx_ams_broadcast_valid_id(id, 127), "127 characters");
        ok(!ngx_ams_broadcast_valid_id(id, 128), "not 128");
    }

    /* defaults */
    out = ngx_ams_broadcast_new("s1", 1700000000000LL);
    ok(out && strcmp(json_string_value(json_object_get(out, "status")),
                     "created") == 0, "a new record is created");
    ok(json_integer_value(json_object_get(out, "date")) == 1700000000000LL,
       "dated in milliseconds");
    json_decref(out);

    /* other nodes' viewers: fresh entries add up, stale ones do not */
    out = json_loads("{\"hlsViewerCount\":2,\"rtmpViewerCount\":1,"
                     "\"nodeViewers\":{"
                     "\"127_0_0_21\":{\"hls\":3,\"rtmp\":1,\"dash\":0,"
                     "\"updateTime\":1000},"
                     "\"127_0_0_22\":{\"hls\":4,\"dash\":2,"
                     "\"updateTime\":999},"
                     "\"127_0_0_23\":{\"hls\":50,\"updateTime\":10},"
                     "\"bad\":{\"hls\":\"x\",\"updateTime\":1000},"
                     "\"gone\":null}}", 0, NULL);
    ngx_ams_broadcast_add_node_viewers(out, 500);
    is_int(json_integer_value(json_object_get(out, "hlsViewerCount")), 9,
           "hls: own 2 + 3 + 4, the stale node's 50 left out");
    is_int(json_integer_value(json_object_get(out, "rtmpViewerCount")), 2,
           "rtmp: own 1 + 1");
    is_int(json_integer_value(json_object_get(out, "dashViewerCount")), 2,
           "dash: a count the record lacked");
    ok(json_object_get(out, "nodeViewers") == NULL,
       "the map is not shown (AMS's shape)");
    json_decref(out);

    {
        char  key[16];

        ngx_ams_broadcast_node_key("10.0.0.1:5080", 13, key, sizeof(key));
        ok(strcmp(key, "10_0_0_1_5080") == 0, "a node's key has no dots");
        ngx_ams_broadcast_node_key("abcdefghijklmnopqrstuvwxyz", 26, key,
                                   sizeof(key));
        ok(strlen(key) == 15, "cut to its buffer");
    }

    return done_testing();
}
