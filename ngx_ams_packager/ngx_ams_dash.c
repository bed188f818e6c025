
/*
 * Copyright (C) nginx-ams authors
 */


#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ngx_ams_dash.h"
#include "ngx_ams_file.h"
#include "ngx_ams_segment.h"


static const char  *ngx_ams_dash_kind[2] = { "video", "audio" };


static int ngx_ams_dash_cut(ngx_ams_dash_t *dash, int64_t end);
static int ngx_ams_dash_write_mpd(ngx_ams_dash_t *dash, int ended);


static unsigned
ngx_ams_dash_ring_size(ngx_ams_dash_t *dash)
{
    return dash->list_size + NGX_AMS_HLS_KEEP_EXTRA + 1;
}


int
ngx_ams_dash_open(ngx_ams_dash_t *dash, const char *dir, const char *name,
    unsigned seg_ms, unsigned list_size)
{
    unsigned  i;

    memset(dash, 0, sizeof(ngx_ams_dash_t));

    dash->target = (int64_t) seg_ms * (NGX_AMS_TIMEBASE / 1000);
    dash->list_size = list_size > NGX_AMS_HLS_MAX_LIST
                      ? NGX_AMS_HLS_MAX_LIST : list_size;

    /* /{App}/streams/{id}/{id}.mpd, as Ant Media Server lays it out */
    if (snprintf(dash->dir, sizeof(dash->dir), "%s/%s", dir, name)
        >= (int) sizeof(dash->dir)
        || snprintf(dash->name, sizeof(dash->name), "%s", name)
           >= (int) sizeof(dash->name))
    {
        snprintf(dash->error, sizeof(dash->error), "path too long");
        return -1;
    }

    for (i = 0; i < 2; i++) {
        dash->track[i].segments = calloc(ngx_ams_dash_ring_size(dash),
                                         sizeof(ngx_ams_dash_segment_t));
        if (dash->track[i].segments == NULL) {
            snprintf(dash->error, sizeof(dash->error), "out of memory");
            return -1;
        }
    }

    return 0;
}


int
ngx_ams_dash_config(ngx_ams_dash_t *dash, unsigned track, const uint8_t *data,
    size_t len)
{
    unsigned               kind;
    const char            *err = NULL;
    ngx_ams_dash_track_t  *t;

    if (track == NGX_AMS_TRACK_DATA) {
        return 0;
    }

    kind = (track == NGX_AMS_TRACK_VIDEO) ? NGX_AMS_MP4_VIDEO
                                          : NGX_AMS_MP4_AUDIO;
    t = &dash->track[kind];

    if (ngx_ams_mp4_track_config(&t->mp4, kind, 1, data, len, &err) != 0) {
        snprintf(dash->error, sizeof(dash->error), "%s", err);
        return -1;
    }

    t->init_written = 0;

    return 0;
}


static int
ngx_ams_dash_write_init(ngx_ams_dash_t *dash, ngx_ams_dash_track_t *t,
    unsigned kind)
{
    int                   rc;
    char                  path[NGX_AMS_HLS_PATH_LEN];
    ngx_ams_mp4_track_t  *mp4 = &t->mp4;

    dash->out.len = 0;

    if (ngx_ams_mp4_init_segment(&dash->out, &mp4, 1) != 0) {
        snprintf(dash->error, sizeof(dash->error), "out of memory");
        return -1;
    }

    snprintf(path, sizeof(path), "%s/%s_init.mp4", dash->dir,
             ngx_ams_dash_kind[kind]);

    rc = ngx_ams_file_replace(path, dash->out.data, dash->out.len,
                              dash->error, sizeof(dash->error));
    if (rc == 0) {
        t->init_written = 1;
    }

    return rc;
}


int
ngx_ams_dash_frame(ngx_ams_dash_t *dash, const ngx_ams_frame_t *frame,
    const uint8_t *data)
{
    int                    has_video;
    ngx_ams_dash_track_t  *t;

    if (frame->track == NGX_AMS_TRACK_DATA) {
        return 0;
    }

    t = &dash->track[frame->track == NGX_AMS_TRACK_VIDEO
                     ? NGX_AMS_MP4_VIDEO : NGX_AMS_MP4_AUDIO];

    if (!t->mp4.configured) {
        return 0;
    }

    has_video = dash->track[NGX_AMS_MP4_VIDEO].mp4.configured;

    switch (ngx_ams_segment_decide(frame, dash->open, has_video,
                                   dash->seg_start, dash->target))
    {
    case NGX_AMS_SEG_DROP:
        return 0;

    case NGX_AMS_SEG_START:
        dash->open = 1;
        dash->seg_start = frame->dts;
        dash->first_dts = frame->dts;
        dash->available = time(NULL);
        break;

    case NGX_AMS_SEG_CUT:
        if (ngx_ams_dash_cut(dash, frame->dts) != 0) {
            return -1;
        }
        dash->seg_start = frame->dts;
        break;
    }

    if (ngx_ams_mp4_add_sample(&t->mp4, frame->dts, frame->cts,
                               frame->flags & NGX_AMS_FRAME_KEY, data,
                               frame->size)
        != 0)
    {
        snprintf(dash->error, sizeof(dash->error), "out of memory");
        return -1;
    }

    if (frame->track == NGX_AMS_TRACK_VIDEO && frame->dts > dash->last_dts) {
        dash->last_duration = frame->dts - dash->last_dts;
    }

    if (frame->dts > dash->last_dts) {
        dash->last_dts = frame->dts;
    }

    return 0;
}


/* writes each track's fragment to its own file and lists it */

static int
ngx_ams_dash_cut(ngx_ams_dash_t *dash, int64_t end)
{
    char                     path[NGX_AMS_HLS_PATH_LEN];
    unsigned                 kind;
    uint64_t                 old;
    ngx_ams_mp4_track_t     *mp4;
    ngx_ams_dash_track_t    *t;
    ngx_ams_dash_segment_t  *seg;

    if (!dash->dir_ready) {
        if (ngx_ams_file_mkdir(dash->dir, dash->error, sizeof(dash->error))
            != 0)
        {
            return -1;
        }

        dash->dir_ready = 1;
    }

    dash->fragments++;

    for (kind = 0; kind < 2; kind++) {
        t = &dash->track[kind];
        mp4 = &t->mp4;

        if (!mp4->configured || mp4->nsamples == 0) {
            continue;
        }

        if (!t->init_written && ngx_ams_dash_write_init(dash, t, kind) != 0) {
            return -1;
        }

        dash->out.len = 0;

        if (ngx_ams_mp4_fragment(&dash->out, &mp4, 1, dash->fragments, end)
            != 0)
        {
            snprintf(dash->error, sizeof(dash->error), "out of memory");
            return -1;
        }

        snprintf(path, sizeof(path), "%s/%s_%llu.m4s", dash->dir,
                 ngx_ams_dash_kind[kind],
                 (unsigned long long) t->next_number);

        if (ngx_ams_file_replace(path, dash->out.data, dash->out.len,
                                 dash->error, sizeof(dash->error))
            != 0)
        {
            return -1;
        }

        seg = &t->segments[t->next_number % ngx_ams_dash_ring_size(dash)];
        seg->number = t->next_number;
        seg->t = mp4->fragment_start;
        seg->d = mp4->fragment_duration;

        t->bytes += mp4->fragment_bytes;
        t->duration += mp4->fragment_duration;
        t->next_number++;

        if (t->next_number > dash->list_size + NGX_AMS_HLS_KEEP_EXTRA) {
            old = t->next_number - 1 - dash->list_size
                  - NGX_AMS_HLS_KEEP_EXTRA;
            snprintf(path, sizeof(path), "%s/%s_%llu.m4s", dash->dir,
                     ngx_ams_dash_kind[kind], (unsigned long long) old);
            (void) unlink(path);
        }
    }

    return ngx_ams_dash_write_mpd(dash, 0);
}


static char *
ngx_ams_dash_time(char *buf, size_t size, time_t t)
{
    struct tm  tm;

    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);

    return buf;
}


static int
ngx_ams_dash_write_mpd(ngx_ams_dash_t *dash, int ended)
{
    int                      rc;
    char                    *buf, *p, *end;
    char                     path[NGX_AMS_HLS_PATH_LEN], t1[32], t2[32];
    size_t                   size;
    unsigned                 kind, n, i;
    uint64_t                 first, bandwidth;
    double                   seg, total;
    ngx_ams_mp4_track_t     *mp4;
    ngx_ams_dash_track_t    *t;
    ngx_ams_dash_segment_t  *s;

    size = 4096 + 2 * (size_t) ngx_ams_dash_ring_size(dash) * 64;
    buf = malloc(size);
    if (buf == NULL) {
        snprintf(dash->error, sizeof(dash->error), "out of memory");
        return -1;
    }

    p = buf;
    end = buf + size;
    seg = (double) dash->target / NGX_AMS_TIMEBASE;
    total = (double) (dash->last_dts + dash->last_duration - dash->first_dts)
            / NGX_AMS_TIMEBASE;

    p += snprintf(p, end - p,
                  "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                  "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" "
                  "profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" ");

    if (ended) {
        p += snprintf(p, end - p,
                      "type=\"static\" mediaPresentationDuration=\"PT%.3fS\" "
                      "minBufferTime=\"PT%.3fS\">\n", total, seg);

    } else {
        p += snprintf(p, end - p,
                      "type=\"dynamic\" availabilityStartTime=\"%s\" "
                      "publishTime=\"%s\" minimumUpdatePeriod=\"PT%.3fS\" "
                      "minBufferTime=\"PT%.3fS\" "
                      "timeShiftBufferDepth=\"PT%.3fS\" "
                      "suggestedPresentationDelay=\"PT%.3fS\">\n",
                      ngx_ams_dash_time(t1, sizeof(t1), dash->available),
                      ngx_ams_dash_time(t2, sizeof(t2), time(NULL)),
                      seg, seg, seg * dash->list_size, seg * 3);
    }

    p += snprintf(p, end - p, "  <Period id=\"0\" start=\"PT0S\">\n");

    for (kind = 0; kind < 2; kind++) {
        t = &dash->track[kind];
        mp4 = &t->mp4;

        if (!mp4->configured || t->next_number == 0) {
            continue;
        }

        bandwidth = t->duration ? t->bytes * 8 * mp4->timescale / t->duration
                                : 1;

        if (kind == NGX_AMS_MP4_VIDEO) {
            p += snprintf(p, end - p,
                          "    <AdaptationSet contentType=\"video\" "
                          "mimeType=\"video/mp4\" segmentAlignment=\"true\" "
                          "startWithSAP=\"1\">\n"
                          "      <Representation id=\"video\" "
                          "codecs=\"avc1.%02x%02x%02x\" width=\"%u\" "
                          "height=\"%u\" bandwidth=\"%llu\">\n",
                          mp4->config[1], mp4->config[2], mp4->config[3],
                          mp4->width, mp4->height,
                          (unsigned long long) bandwidth);
        } else {
            p += snprintf(p, end - p,
                          "    <AdaptationSet contentType=\"audio\" "
                          "mimeType=\"audio/mp4\" segmentAlignment=\"true\" "
                          "startWithSAP=\"1\">\n"
                          "      <Representation id=\"audio\" "
                          "codecs=\"mp4a.40.%u\" audioSamplingRate=\"%u\" "
                          "bandwidth=\"%llu\">\n"
                          "        <AudioChannelConfiguration schemeIdUri="
                          "\"urn:mpeg:dash:23003:3:audio_channel_configuration"
                          ":2011\" value=\"%u\"/>\n",
                          mp4->aac.object_type, mp4->aac.sample_rate,
                          (unsigned long long) bandwidth, mp4->aac.channels);
        }

        n = t->next_number < dash->list_size ? (unsigned) t->next_number
                                              : dash->list_size;
        first = t->next_number - n;

        p += snprintf(p, end - p,
                      "        <SegmentTemplate timescale=\"%u\" "
                      "presentationTimeOffset=\"%lld\" "
                      "initialization=\"%s_init.mp4\" "
                      "media=\"%s_$Number$.m4s\" startNumber=\"%llu\">\n"
                      "          <SegmentTimeline>\n",
                      mp4->timescale,
                      (long long) ngx_ams_mp4_rescale(mp4, dash->first_dts),
                      ngx_ams_dash_kind[kind], ngx_ams_dash_kind[kind],
                      (unsigned long long) first);

        for (i = 0; i < n; i++) {
            s = &t->segments[(first + i) % ngx_ams_dash_ring_size(dash)];
            p += snprintf(p, end - p,
                          "            <S t=\"%lld\" d=\"%lld\"/>\n",
                          (long long) s->t, (long long) s->d);
        }

        p += snprintf(p, end - p,
                      "          </SegmentTimeline>\n"
                      "        </SegmentTemplate>\n"
                      "      </Representation>\n"
                      "    </AdaptationSet>\n");
    }

    p += snprintf(p, end - p, "  </Period>\n</MPD>\n");

    snprintf(path, sizeof(path), "%s/%s.mpd", dash->dir, dash->name);

    rc = ngx_ams_file_replace(path, buf, p - buf, dash->error,
                              sizeof(dash->error));
    free(buf);

    return rc;
}


int
ngx_ams_dash_finish(ngx_ams_dash_t *dash)
{
    if (!dash->open) {
        return 0;
    }

    dash->open = 0;

    if (ngx_ams_dash_cut(dash, dash->last_dts + dash->last_duration) != 0) {
        return -1;
    }

    return ngx_ams_dash_write_mpd(dash, 1);
}


void
ngx_ams_dash_remove(ngx_ams_dash_t *dash, time_t not_after)
{
    char         path[NGX_AMS_HLS_PATH_LEN];
    unsigned     kind;
    uint64_t     n, from;
    struct stat  sb;

    snprintf(path, sizeof(path), "%s/%s.mpd", dash->dir, dash->name);

    if (stat(path, &sb) == 0 && sb.st_mtime > not_after) {
        return;                     /* a newer publisher owns the directory */
    }

    (void) unlink(path);

    for (kind = 0; kind < 2; kind++) {
        n = dash->track[kind].next_number;
        from = n > dash->list_size + NGX_AMS_HLS_KEEP_EXTRA
               ? n - dash->list_size - NGX_AMS_HLS_KEEP_EXTRA : 0;

        for ( ; from < n; from++) {
            snprintf(path, sizeof(path), "%s/%s_%llu.m4s", dash->dir,
                     ngx_ams_dash_kind[kind], (unsigned long long) from);
            (void) unlink(path);
        }

        snprintf(path, sizeof(path), "%s/%s_init.mp4", dash->dir,
                 ngx_ams_dash_kind[kind]);
        (void) unlink(path);
    }

    (void) rmdir(dash->dir);
}


void
ngx_ams_dash_close(ngx_ams_dash_t *dash)
{
    unsigned  i;

    for (i = 0; i < 2; i++) {
        ngx_ams_mp4_track_free(&dash->track[i].mp4);
        free(dash->track[i].segments);
        dash->track[i].segments = NULL;
    }

    ngx_ams_buf_free(&dash->out);
}
