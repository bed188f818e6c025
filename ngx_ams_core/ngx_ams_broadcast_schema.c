
/*
 * Copyright (C) nginx-ams authors
 *
 * Ant Media Server's Broadcast object: its defaults, which fields a REST
 * body may set and with which JSON types, and what a stream id may be.
 * Pure C (jansson): unit-tested and fuzzed outside nginx.
 */


#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ngx_ams_broadcast_schema.h"


typedef struct {
    const char               *name;
    json_type                 type;          /* JSON_TRUE: any boolean */
    int                       writable;
} ngx_ams_broadcast_field_t;


/* the Broadcast fields of AMS's REST API this node knows */
static ngx_ams_broadcast_field_t  ngx_ams_broadcast_schema[] = {
    { "streamId",            JSON_STRING,  1 },
    { "name",                JSON_STRING,  1 },
    { "description",         JSON_STRING,  1 },
    { "type",                JSON_STRING,  1 },
    { "publishType",         JSON_STRING,  1 },
    { "category",            JSON_STRING,  1 },
    { "username",            JSON_STRING,  1 },
    { "password",            JSON_STRING,  1 },
    { "listenerHookURL",     JSON_STRING,  1 },
    { "streamUrl",           JSON_STRING,  1 },
    { "ipAddr",              JSON_STRING,  1 },
    { "metaData",            JSON_STRING,  1 },
    { "subFolder",           JSON_STRING,  1 },
    { "mainTrackStreamId",   JSON_STRING,  1 },
    { "latitude",            JSON_STRING,  1 },
    { "longitude",           JSON_STRING,  1 },
    { "altitude",            JSON_STRING,  1 },
    { "publicStream",        JSON_TRUE,    1 },
    { "publish",             JSON_TRUE,    1 },
    { "is360",               JSON_TRUE,    1 },
    { "plannedStartDate",    JSON_INTEGER, 1 },
    { "plannedEndDate",      JSON_INTEGER, 1 },
    { "expireDurationMS",    JSON_INTEGER, 1 },
    { "hlsViewerLimit",      JSON_INTEGER, 1 },
    { "dashViewerLimit",     JSON_INTEGER, 1 },
    { "webRTCViewerLimit",   JSON_INTEGER, 1 },
    { "endPointList",        JSON_ARRAY,   1 },

    /* the server's to write */
    { "status",              JSON_STRING,  0 },
    { "date",                JSON_INTEGER, 0 },
    { "startTime",           JSON_INTEGER, 0 },
    { "updateTime",          JSON_INTEGER, 0 },
    { "duration",            JSON_INTEGER, 0 },
    { "originAdress",        JSON_STRING,  0 },
    { "receivedBytes",       JSON_INTEGER, 0 },
    { "bitrate",             JSON_INTEGER, 0 },
    { "width",               JSON_INTEGER, 0 },
    { "height",              JSON_INTEGER, 0 },
    { "hlsViewerCount",      JSON_INTEGER, 0 },
    { "dashViewerCount",     JSON_INTEGER, 0 },
    { "rtmpViewerCount",     JSON_INTEGER, 0 },
    { "webRTCViewerCount",   JSON_INTEGER, 0 },
    { "absoluteStartTimeMs", JSON_INTEGER, 0 },
    { "zombi",               JSON_TRUE,    0 },
    { NULL, 0, 0 }
};


json_t *
ngx_ams_broadcast_new(const char *id, int64_t now_ms)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:I, s:I,"
                     " s:I, s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I,"
                     " s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:[]}",
                     "streamId", id,
                     "name", id,
                     "description", "",
                     "status", NGX_AMS_STATUS_CREATED,
                     "type", "liveStream",
                     "publish", 1,
                     "publicStream", 1,
                     "zombi", 0,
                     "date", (json_int_t) now_ms,
                     "startTime", (json_int_t) 0,
                     "updateTime", (json_int_t) now_ms,
                     "duration", (json_int_t) 0,
                     "absoluteStartTimeMs", (json_int_t) 0,
                     "listenerHookURL", "",
                     "originAdress", "",
                     "receivedBytes", (json_int_t) 0,
                     "bitrate", (json_int_t) 0,
                     "width", (json_int_t) 0,
                     "height", (json_int_t) 0,
                     "hlsViewerCount", (json_int_t) 0,
                     "dashViewerCount", (json_int_t) 0,
                     "rtmpViewerCount", (json_int_t) 0,
                     "webRTCViewerCount", (json_int_t) 0,
                     "hlsViewerLimit", (json_int_t) -1,
                     "dashViewerLimit", (json_int_t) -1,
                     "webRTCViewerLimit", (json_int_t) -1,
                     "expireDurationMS", (json_int_t) 0,
                     "plannedStartDate", (json_int_t) 0,
                     "endPointList");
}


int
ngx_ams_broadcast_fields(json_t *body, json_t **fields, char *error,
    size_t size)
{
    int                         ok;
    json_t                     *value, *out;
    const char                 *key;
    ngx_ams_broadcast_field_t  *f;

    if (!json_is_object(body)) {
        snprintf(error, size, "the body must be a JSON object");
        return -1;
    }

    out = json_object();
    if (out == NULL) {
        snprintf(error, size, "out of memory");
        return -1;
    }

    json_object_foreach(body, key, value) {

        for (f = ngx_ams_broadcast_schema; f->name; f++) {
            if (strcmp(f->name, key) == 0) {
                break;
            }
        }

        /* unknown fields and null values are ignored, as AMS does */
        if (f->name == NULL || json_is_null(value)) {
            continue;
        }

        switch (f->type) {
        case JSON_TRUE:
            ok = json_is_boolean(value);
            break;
        case JSON_INTEGER:
            ok = json_is_integer(value);
            break;
        default:
            ok = json_typeof(value) == f->type;
        }

        if (!ok) {
            snprintf(error, size, "field \"%s\" must be %s", key,
                     f->type == JSON_TRUE ? "a boolean"
                     : f->type == JSON_INTEGER ? "an integer"
                     : f->type == JSON_ARRAY ? "an array" : "a string");
            json_decref(out);
            return -1;
        }

        if (f->writable && strcmp(key, "streamId") != 0) {
            json_object_set(out, key, value);
        }
    }

    *fields = out;

    return 0;
}


int
ngx_ams_broadcast_valid_id(const unsigned char *id, size_t len)
{
    size_t  i;

    if (len == 0 || len >= NGX_AMS_BROADCAST_ID_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!(isalnum(id[i]) || id[i] == '_' || id[i] == '-'
              || id[i] == '.'))
        {
            return 0;
        }
    }

    return id[0] != '.';
}




void
ngx_ams_broadcast_add_node_viewers(json_t *doc, int64_t fresh_ms)
{
    size_t       i;
    json_t      *nodes, *entry, *t, *v;
    const char  *key;

    static const char  *fields[][2] = {
        { "hls", "hlsViewerCount" },
        { "dash", "dashViewerCount" },
        { "rtmp", "rtmpViewerCount" },
        { "webrtc", "webRTCViewerCount" },
    };

    nodes = json_object_get(doc, NGX_AMS_BROADCAST_NODE_VIEWERS);

    if (json_is_object(nodes)) {
        json_object_foreach(nodes, key, entry) {
            t = json_object_get(entry, "updateTime");

            if (!json_is_number(t) || json_number_value(t) < fresh_ms) {
                continue;
            }

            for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                v = json_object_get(entry, fields[i][0]);

                if (!json_is_integer(v) || json_integer_value(v) <= 0) {
                    continue;
                }

                t = json_object_get(doc, fields[i][1]);

                json_object_set_new(doc, fields[i][1], json_integer(
                    (json_is_integer(t) ? json_integer_value(t) : 0)
                    + json_integer_value(v)));
            }
        }
    }

    json_object_del(doc, NGX_AMS_BROADCAST_NODE_VIEWERS);
}


void
ngx_ams_broadcast_node_key(const char *address, size_t len, char *key,
    size_t size)
{
    size_t  i;

    if (size == 0) {
        return;
    }

    for (i = 0; i < len && i < size - 1; i++) {
        key[i] = (address[i] == '.' || address[i] == ':' || address[i] == '$')
                 ? '_' : address[i];
    }

    key[i] = '\0';
}
