
/*
 * Copyright (C) nginx-ams authors
 *
 * AMS's encoderSettings: a JSON array of rungs, read strictly (numbers
 * must be whole and in range, unknown fields are ignored as AMS does),
 * so a bad setting is refused where it is written, never half applied.
 */


#include <stdio.h>
#include <string.h>

#include "ngx_ams_ladder.h"


static int ngx_ams_ladder_uint(json_t *obj, const char *key, unsigned min,
    unsigned max, unsigned *out, int required, char *err, size_t err_len,
    size_t i);


int
ngx_ams_ladder_parse(const char *text, size_t len, ngx_ams_ladder_t *ladder,
    char *err, size_t err_len)
{
    int           rc;
    json_t       *root;
    json_error_t  jerr;

    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        snprintf(err, err_len, "not JSON: %s at %d", jerr.text,
                 jerr.position);
        return -1;
    }

    rc = ngx_ams_ladder_from_json(root, ladder, err, err_len);

    json_decref(root);

    return rc;
}


int
ngx_ams_ladder_from_json(json_t *array, ngx_ams_ladder_t *ladder,
    char *err, size_t err_len)
{
    size_t            i, j;
    json_t           *obj, *v;
    ngx_ams_rung_t    r;
    ngx_ams_ladder_t  l;

    if (!json_is_array(array)) {
        snprintf(err, err_len, "the encoder settings must be an array");
        return -1;
    }

    if (json_array_size(array) > NGX_AMS_LADDER_MAX) {
        snprintf(err, err_len, "at most %d rungs", NGX_AMS_LADDER_MAX);
        return -1;
    }

    memset(&l, 0, sizeof(l));

    for (i = 0; i < json_array_size(array); i++) {
        obj = json_array_get(array, i);

        if (!json_is_object(obj)) {
            snprintf(err, err_len, "rung %zu is not an object", i);
            return -1;
        }

        memset(&r, 0, sizeof(r));

        if (ngx_ams_ladder_uint(obj, "height", NGX_AMS_LADDER_MIN_HEIGHT,
                                NGX_AMS_LADDER_MAX_HEIGHT, &r.height, 1,
                                err, err_len, i) != 0
            || ngx_ams_ladder_uint(obj, "videoBitrate", 10000, 100000000,
                                   &r.video_bitrate, 1, err, err_len, i)
               != 0
            || ngx_ams_ladder_uint(obj, "audioBitrate", 0, 1000000,
                                   &r.audio_bitrate, 0, err, err_len, i)
               != 0)
        {
            return -1;
        }

        if (r.height % 2) {
            snprintf(err, err_len, "rung %zu: \"height\" must be even", i);
            return -1;
        }

        v = json_object_get(obj, "forceEncode");
        if (v && !json_is_null(v)) {
            if (!json_is_boolean(v)) {
                snprintf(err, err_len,
                         "rung %zu: \"forceEncode\" must be a boolean", i);
                return -1;
            }

            r.force = json_is_true(v);
        }

        /* two rungs of one name would be one stream */
        for (j = 0; j < l.n; j++) {
            if (l.rung[j].height == r.height
                && l.rung[j].video_bitrate / 1000 == r.video_bitrate / 1000)
            {
                snprintf(err, err_len, "rung %zu repeats rung %zu", i, j);
                return -1;
            }
        }

        /* tallest first: each rung is scaled from the one above it */
        for (j = l.n; j > 0 && l.rung[j - 1].height < r.height; j--) {
            l.rung[j] = l.rung[j - 1];
        }

        l.rung[j] = r;
        l.n++;
    }

    *ladder = l;

    return 0;
}


static int
ngx_ams_ladder_uint(json_t *obj, const char *key, unsigned min, unsigned max,
    unsigned *out, int required, char *err, size_t err_len, size_t i)
{
    double      d;
    json_t     *v;
    json_int_t  n;

    v = json_object_get(obj, key);

    if (v == NULL || json_is_null(v)) {
        if (required) {
            snprintf(err, err_len, "rung %zu: \"%s\" is missing", i, key);
            return -1;
        }

        *out = 0;
        return 0;
    }

    if (json_is_integer(v)) {
        n = json_integer_value(v);

    } else if (json_is_real(v)) {
        /* 800000.0 is still a whole number */
        d = json_real_value(v);
        if (!(d >= 0 && d <= 4294967295.0) || d != (double) (json_int_t) d) {
            snprintf(err, err_len, "rung %zu: \"%s\" must be a whole number",
                     i, key);
            return -1;
        }

        n = (json_int_t) d;

    } else {
        snprintf(err, err_len, "rung %zu: \"%s\" must be a number", i, key);
        return -1;
    }

    if (n < (json_int_t) min || n > (json_int_t) max) {
        snprintf(err, err_len, "rung %zu: \"%s\" must be %u to %u", i, key,
                 min, max);
        return -1;
    }

    *out = (unsigned) n;

    return 0;
}


json_t *
ngx_ams_ladder_to_json(const ngx_ams_ladder_t *ladder)
{
    unsigned  i;
    json_t   *a, *o;

    a = json_array();
    if (a == NULL) {
        return NULL;
    }

    for (i = 0; i < ladder->n; i++) {
        o = json_pack("{s:I, s:I, s:I, s:b}",
                      "height", (json_int_t) ladder->rung[i].height,
                      "videoBitrate",
                      (json_int_t) ladder->rung[i].video_bitrate,
                      "audioBitrate",
                      (json_int_t) ladder->rung[i].audio_bitrate,
                      "forceEncode", (int) ladder->rung[i].force);

        if (o == NULL || json_array_append_new(a, o) != 0) {
            json_decref(a);
            return NULL;
        }
    }

    return a;
}


size_t
ngx_ams_ladder_rung_suffix(const ngx_ams_rung_t *r, char *buf, size_t size)
{
    int  n;

    n = snprintf(buf, size, "%up%ukbps", r->height, r->video_bitrate / 1000);

    return (n < 0 || (size_t) n >= size) ? 0 : (size_t) n;
}
