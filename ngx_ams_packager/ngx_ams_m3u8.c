
/*
 * Copyright (C) nginx-ams authors
 */


#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ngx_ams_m3u8.h"
#include "ngx_ams_text.h"


static int ngx_ams_m3u8_parts(ngx_ams_buf_t *out,
    const ngx_ams_m3u8_media_t *pl, uint64_t seq);
static int ngx_ams_m3u8_map(ngx_ams_buf_t *out,
    const ngx_ams_m3u8_media_t *pl, uint32_t config);
static int ngx_ams_m3u8_date(ngx_ams_buf_t *out,
    const ngx_ams_m3u8_media_t *pl, int64_t start);


int
ngx_ams_m3u8_media(ngx_ams_buf_t *out, const ngx_ams_m3u8_media_t *pl,
    const ngx_ams_segment_t *segments, size_t n)
{
    int      rc;
    size_t   i;
    int64_t  max;

    /* no EXTINF may round above the target duration (RFC 8216, 4.3.3.1) */
    max = pl->target;
    for (i = 0; i < n; i++) {
        if (segments[i].duration > max) {
            max = segments[i].duration;
        }
    }

    rc = ngx_ams_text(out, "#EXTM3U\n#EXT-X-VERSION:%u\n"
                      "#EXT-X-TARGETDURATION:%lld\n"
                      "#EXT-X-MEDIA-SEQUENCE:%llu\n", pl->version,
                      (long long) ((max + pl->timescale / 2) / pl->timescale),
                      (unsigned long long) (n ? segments[0].seq : 0));

    if (pl->part_target) {
        /* a player stays 3 parts (PART-HOLD-BACK) or 3 targets from the
         * end (RFC 8216bis 4.4.3.8); reloads may block (6.2.5.2) */
        rc |= ngx_ams_text(out, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
                           "PART-HOLD-BACK=%.3f,HOLD-BACK=%.3f\n"
                           "#EXT-X-PART-INF:PART-TARGET=%.3f\n",
                           3.0 * pl->part_target / pl->timescale,
                           3.0 * ((max + pl->timescale / 2) / pl->timescale),
                           (double) pl->part_target / pl->timescale);
    }

    if (pl->discontinuity_seq) {
        rc |= ngx_ams_text(out, "#EXT-X-DISCONTINUITY-SEQUENCE:%llu\n",
                           (unsigned long long) pl->discontinuity_seq);
    }

    if (pl->map) {
        rc |= ngx_ams_m3u8_map(out, pl, n ? segments[0].config
                                          : pl->open_config);
    }

    for (i = 0; i < n; i++) {
        /* segments were lost to write errors before this one, or the
         * codec configuration changed */
        if (segments[i].discontinuity) {
            rc |= ngx_ams_text(out, "#EXT-X-DISCONTINUITY\n");
        }

        /* a new configuration has its own init segment (RFC 8216 4.3.2.5:
         * EXT-X-MAP applies to the segments after it) */
        if (pl->map && i > 0 && segments[i].config != segments[i - 1].config)
        {
            rc |= ngx_ams_m3u8_map(out, pl, segments[i].config);
        }

        if (pl->pdt_ms && (i == 0 || segments[i].discontinuity)) {
            rc |= ngx_ams_m3u8_date(out, pl, segments[i].start);
        }

        if (pl->part_target) {
            rc |= ngx_ams_m3u8_parts(out, pl, segments[i].seq);
        }

        rc |= ngx_ams_text(out, "#EXTINF:%.3f,\n%s%0*llu%s\n",
                           (double) segments[i].duration / pl->timescale,
                           pl->prefix, (int) pl->digits,
                           (unsigned long long) segments[i].seq, pl->suffix);
    }

    if (pl->ended) {
        rc |= ngx_ams_text(out, "#EXT-X-ENDLIST\n");

    } else if (pl->part_target) {
        /* the segment being written: its parts so far, and the next */
        if (pl->hint_offset && pl->open_discontinuity) {
            rc |= ngx_ams_text(out, "#EXT-X-DISCONTINUITY\n");
        }

        if (pl->hint_offset && pl->map && n
            && pl->open_config != segments[n - 1].config)
        {
            rc |= ngx_ams_m3u8_map(out, pl, pl->open_config);
        }

        rc |= ngx_ams_m3u8_parts(out, pl, pl->open_seq);
        rc |= ngx_ams_text(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,"
                           "URI=\"%s%0*llu%s\",BYTERANGE-START=%llu\n",
                           pl->prefix, (int) pl->digits,
                           (unsigned long long) pl->open_seq, pl->suffix,
                           (unsigned long long) pl->hint_offset);
    }

    return rc ? -1 : 0;
}


/* EXT-X-MAP of a configuration: video_init.mp4, then video_init_1.mp4... */

static int
ngx_ams_m3u8_map(ngx_ams_buf_t *out, const ngx_ams_m3u8_media_t *pl,
    uint32_t config)
{
    size_t  len;

    len = strlen(pl->map);

    if (config == 0 || len < 4 || strcmp(pl->map + len - 4, ".mp4") != 0) {
        return ngx_ams_text(out, "#EXT-X-MAP:URI=\"%s\"\n", pl->map);
    }

    return ngx_ams_text(out, "#EXT-X-MAP:URI=\"%.*s_%u.mp4\"\n",
                        (int) (len - 4), pl->map, (unsigned) config);
}


/* EXT-X-PROGRAM-DATE-TIME of the segment that starts at "start" */

static int
ngx_ams_m3u8_date(ngx_ams_buf_t *out, const ngx_ams_m3u8_media_t *pl,
    int64_t start)
{
    time_t     t;
    int64_t    ms;
    struct tm  tm;

    ms = pl->pdt_ms + (start - pl->pdt_start) * 1000 / (int64_t) pl->timescale;
    t = (time_t) (ms / 1000);

    if (ms < 0 || gmtime_r(&t, &tm) == NULL) {
        return 0;
    }

    return ngx_ams_text(out, "#EXT-X-PROGRAM-DATE-TIME:"
                        "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\n",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (ms % 1000));
}


/* the parts of one segment, byte ranges of its file */

static int
ngx_ams_m3u8_parts(ngx_ams_buf_t *out, const ngx_ams_m3u8_media_t *pl,
    uint64_t seq)
{
    int                    rc;
    size_t                 i;
    const ngx_ams_part_t  *p;

    rc = 0;

    for (i = 0; i < pl->nparts; i++) {
        p = &pl->parts[i];

        if (p->seq != seq) {
            continue;
        }

        rc |= ngx_ams_text(out, "#EXT-X-PART:DURATION=%.3f,URI=\"%s%0*llu%s\","
                           "BYTERANGE=\"%llu@%llu\"%s\n",
                           (double) p->duration / pl->timescale, pl->prefix,
                           (int) pl->digits, (unsigned long long) seq,
                           pl->suffix, (unsigned long long) p->length,
                           (unsigned long long) p->offset,
                           p->independent ? ",INDEPENDENT=YES" : "");
    }

    return rc;
}


int
ngx_ams_m3u8_master(ngx_ams_buf_t *out, const ngx_ams_m3u8_rendition_t *video,
    const ngx_ams_m3u8_rendition_t *audio)
{
    int  rc;

    if (video->uri == NULL && audio->uri == NULL) {
        return -1;
    }

    /* every segment starts with a keyframe */
    rc = ngx_ams_text(out, "#EXTM3U\n#EXT-X-VERSION:7\n"
                      "#EXT-X-INDEPENDENT-SEGMENTS\n");

    if (video->uri == NULL) {
        /* audio only: the audio playlist is the variant itself */
        rc |= ngx_ams_text(out, "#EXT-X-STREAM-INF:BANDWIDTH=%llu,"
                           "CODECS=\"%s\"\n%s\n",
                           (unsigned long long) audio->bandwidth,
                           audio->codecs, audio->uri);

        return rc ? -1 : 0;
    }

    if (audio->uri) {
        rc |= ngx_ams_text(out, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\","
                           "NAME=\"audio\",DEFAULT=YES,AUTOSELECT=YES,"
                           "CHANNELS=\"%u\",URI=\"%s\"\n",
                           audio->channels, audio->uri);
    }

    /* BANDWIDTH counts the rendition too (RFC 8216, 4.3.4.2) */
    rc |= ngx_ams_text(out, "#EXT-X-STREAM-INF:BANDWIDTH=%llu,"
                       "CODECS=\"%s%s%s\",RESOLUTION=%ux%u%s\n%s\n",
                       (unsigned long long) (video->bandwidth
                                             + (audio->uri ? audio->bandwidth
                                                           : 0)),
                       video->codecs, audio->uri ? "," : "",
                       audio->uri ? audio->codecs : "",
                       video->width, video->height,
                       audio->uri ? ",AUDIO=\"audio\"" : "", video->uri);

    return rc ? -1 : 0;
}


int
ngx_ams_m3u8_variants(ngx_ams_buf_t *out, const ngx_ams_m3u8_variant_t *v,
    size_t n, const ngx_ams_m3u8_rendition_t *audio)
{
    int     rc;
    size_t  i;

    if (n == 0) {
        return -1;
    }

    /* every segment of every variant starts with a keyframe, the rungs'
     * at the same times as the original's */
    rc = ngx_ams_text(out, "#EXTM3U\n#EXT-X-VERSION:7\n"
                      "#EXT-X-INDEPENDENT-SEGMENTS\n");

    if (audio && audio->uri) {
        rc |= ngx_ams_text(out, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\","
                           "NAME=\"audio\",DEFAULT=YES,AUTOSELECT=YES,"
                           "CHANNELS=\"%u\",URI=\"%s\"\n",
                           audio->channels, audio->uri);
    }

    for (i = 0; i < n; i++) {
        rc |= ngx_ams_text(out, "#EXT-X-STREAM-INF:BANDWIDTH=%llu",
                           (unsigned long long) v[i].bandwidth);

        if (v[i].average) {
            rc |= ngx_ams_text(out, ",AVERAGE-BANDWIDTH=%llu",
                               (unsigned long long) v[i].average);
        }

        rc |= ngx_ams_text(out, ",CODECS=\"%s\"", v[i].codecs);

        if (v[i].width && v[i].height) {
            rc |= ngx_ams_text(out, ",RESOLUTION=%ux%u", v[i].width,
                               v[i].height);
        }

        if (v[i].fps_milli) {
            rc |= ngx_ams_text(out, ",FRAME-RATE=%u.%03u",
                               v[i].fps_milli / 1000, v[i].fps_milli % 1000);
        }

        rc |= ngx_ams_text(out, "%s\n%s\n",
                           (audio && audio->uri) ? ",AUDIO=\"audio\"" : "",
                           v[i].uri);
    }

    return rc ? -1 : 0;
}


static int
ngx_ams_m3u8_has(const char *text, size_t len, const char *s)
{
    size_t  i, n;

    n = strlen(s);

    for (i = 0; i + n <= len; i++) {
        if (text[i] == s[0] && memcmp(text + i, s, n) == 0) {
            return 1;
        }
    }

    return 0;
}


int
ngx_ams_m3u8_close(ngx_ams_buf_t *out, const char *text, size_t len)
{
    if (len < 7 || memcmp(text, "#EXTM3U", 7) != 0) {
        return -1;
    }

    if (ngx_ams_m3u8_has(text, len, "#EXT-X-STREAM-INF")
        || ngx_ams_m3u8_has(text, len, "#EXT-X-ENDLIST"))
    {
        return 0;
    }

    if (ngx_ams_buf_append(out, text, len) != 0
        || (text[len - 1] != '\n' && ngx_ams_buf_append(out, "\n", 1) != 0)
        || ngx_ams_text(out, "#EXT-X-ENDLIST\n") != 0)
    {
        return -1;
    }

    return 1;
}
