
/*
 * Copyright (C) nginx-ams authors
 */


#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ngx_ams_hls.h"
#include "ngx_ams_file.h"
#include "ngx_ams_segment.h"


static int ngx_ams_hls_start_segment(ngx_ams_hls_t *hls, int64_t dts);
static int ngx_ams_hls_end_segment(ngx_ams_hls_t *hls, int64_t end);
static int ngx_ams_hls_write_playlist(ngx_ams_hls_t *hls, int ended);
static void ngx_ams_hls_segment_path(ngx_ams_hls_t *hls, uint64_t seq,
    char *path, size_t size);
static int ngx_ams_hls_write_init(ngx_ams_hls_t *hls);
static unsigned ngx_ams_hls_tracks(ngx_ams_hls_t *hls,
    ngx_ams_mp4_track_t **t);


static unsigned
ngx_ams_hls_ring_size(ngx_ams_hls_t *hls)
{
    return hls->list_size + NGX_AMS_HLS_KEEP_EXTRA + 1;
}


int
ngx_ams_hls_open(ngx_ams_hls_t *hls, const char *dir, const char *name,
    unsigned hls_time_ms, unsigned list_size, int fmp4)
{
    memset(hls, 0, sizeof(ngx_ams_hls_t));

    hls->fd = -1;
    hls->fmp4 = fmp4 ? 1 : 0;
    hls->target = (int64_t) hls_time_ms * (NGX_AMS_TIMEBASE / 1000);
    hls->list_size = list_size > NGX_AMS_HLS_MAX_LIST
                     ? NGX_AMS_HLS_MAX_LIST : list_size;

    ngx_ams_ts_mux_init(&hls->mux);

    if (snprintf(hls->dir, sizeof(hls->dir), "%s", dir)
        >= (int) sizeof(hls->dir)
        || snprintf(hls->name, sizeof(hls->name), "%s", name)
           >= (int) sizeof(hls->name))
    {
        snprintf(hls->error, sizeof(hls->error), "path too long");
        return -1;
    }

    hls->segments = calloc(ngx_ams_hls_ring_size(hls),
                           sizeof(ngx_ams_hls_segment_t));
    if (hls->segments == NULL) {
        snprintf(hls->error, sizeof(hls->error), "out of memory");
        return -1;
    }

    return 0;
}


int
ngx_ams_hls_config(ngx_ams_hls_t *hls, unsigned track, const uint8_t *data,
    size_t len)
{
    int          rc;
    const char  *err = NULL;

    if (track == NGX_AMS_TRACK_VIDEO) {
        rc = ngx_ams_ts_mux_video_config(&hls->mux, data, len, &err);
    } else if (track == NGX_AMS_TRACK_AUDIO) {
        rc = ngx_ams_ts_mux_audio_config(&hls->mux, data, len, &err);
    } else {
        return 0;
    }

    if (rc == 0 && hls->fmp4) {
        rc = ngx_ams_mp4_track_config(track == NGX_AMS_TRACK_VIDEO
                                      ? &hls->video : &hls->audio,
                                      track == NGX_AMS_TRACK_VIDEO
                                      ? NGX_AMS_MP4_VIDEO : NGX_AMS_MP4_AUDIO,
                                      track + 1, data, len, &err);
        hls->init_written = 0;
    }

    if (rc != 0) {
        snprintf(hls->error, sizeof(hls->error), "%s", err);
        return -1;
    }

    /* a track that appears mid-segment needs the new PMT now */
    if (!hls->fmp4 && hls->fd != -1
        && ngx_ams_ts_mux_tables(&hls->mux) != 0)
    {
        snprintf(hls->error, sizeof(hls->error), "out of memory");
        return -1;
    }

    return 0;
}


static void
ngx_ams_hls_segment_path(ngx_ams_hls_t *hls, uint64_t seq, char *path,
    size_t size)
{
    /* Ant Media's naming: stream id, then a 9-digit sequence */
    snprintf(path, size, "%s/%s%09llu.%s", hls->dir, hls->name,
             (unsigned long long) seq, hls->fmp4 ? "m4s" : "ts");
}


int
ngx_ams_hls_frame(ngx_ams_hls_t *hls, const ngx_ams_frame_t *frame,
    const uint8_t *data)
{
    int                   rc;
    const char           *err = NULL;
    ngx_ams_mp4_track_t  *t;

    if ((frame->track == NGX_AMS_TRACK_VIDEO && !hls->mux.has_video)
        || (frame->track == NGX_AMS_TRACK_AUDIO && !hls->mux.has_audio)
        || frame->track == NGX_AMS_TRACK_DATA)
    {
        return 0;
    }

    switch (ngx_ams_segment_decide(frame, hls->fd != -1, hls->mux.has_video,
                                   hls->seg_start, hls->target))
    {
    case NGX_AMS_SEG_DROP:
        return 0;

    case NGX_AMS_SEG_START:
        if (ngx_ams_hls_start_segment(hls, frame->dts) != 0) {
            return -1;
        }
        break;

    case NGX_AMS_SEG_CUT:
        if (ngx_ams_hls_end_segment(hls, frame->dts) != 0
            || ngx_ams_hls_start_segment(hls, frame->dts) != 0)
        {
            return -1;
        }
        break;
    }

    if (hls->fmp4) {
        t = (frame->track == NGX_AMS_TRACK_VIDEO) ? &hls->video : &hls->audio;
        rc = ngx_ams_mp4_add_sample(t, frame->dts, frame->cts,
                                    frame->flags & NGX_AMS_FRAME_KEY, data,
                                    frame->size);
        err = "out of memory";

    } else if (frame->track == NGX_AMS_TRACK_VIDEO) {
        rc = ngx_ams_ts_mux_video(&hls->mux, frame->dts, frame->cts,
                                  frame->flags & NGX_AMS_FRAME_KEY, data,
                                  frame->size, &err);

    } else {
        rc = ngx_ams_ts_mux_audio(&hls->mux, frame->dts + frame->cts, data,
                                  frame->size);
        err = "AAC frame cannot be muxed";
    }

    if (rc != 0) {
        snprintf(hls->error, sizeof(hls->error), "%s", err);
        return -1;
    }

    if (frame->track == NGX_AMS_TRACK_VIDEO && frame->dts > hls->last_dts) {
        hls->last_duration = frame->dts - hls->last_dts;
    }

    if (frame->dts > hls->last_dts) {
        hls->last_dts = frame->dts;
    }

    if (hls->mux.out.len >= 1024 * 1024) {
        return ngx_ams_hls_flush(hls);
    }

    return 0;
}


static unsigned
ngx_ams_hls_tracks(ngx_ams_hls_t *hls, ngx_ams_mp4_track_t **t)
{
    unsigned  n = 0;

    if (hls->video.configured) {
        t[n++] = &hls->video;
    }

    if (hls->audio.configured) {
        t[n++] = &hls->audio;
    }

    return n;
}


/* the fMP4 initialization segment, rewritten when a codec config changes */

static int
ngx_ams_hls_write_init(ngx_ams_hls_t *hls)
{
    char                  path[NGX_AMS_HLS_PATH_LEN];
    unsigned              n;
    ngx_ams_buf_t         b = { NULL, 0, 0 };
    ngx_ams_mp4_track_t  *t[2];

    n = ngx_ams_hls_tracks(hls, t);

    if (ngx_ams_mp4_init_segment(&b, t, n) != 0) {
        snprintf(hls->error, sizeof(hls->error), "out of memory");
        ngx_ams_buf_free(&b);
        return -1;
    }

    snprintf(path, sizeof(path), "%s/%s_init.mp4", hls->dir, hls->name);

    if (ngx_ams_file_replace(path, b.data, b.len, hls->error,
                             sizeof(hls->error))
        != 0)
    {
        ngx_ams_buf_free(&b);
        return -1;
    }

    ngx_ams_buf_free(&b);
    hls->init_written = 1;

    return 0;
}


int
ngx_ams_hls_flush(ngx_ams_hls_t *hls)
{
    if (hls->fd != -1
        && ngx_ams_file_write_all(hls->fd, hls->mux.out.data,
                                  hls->mux.out.len)
           != 0)
    {
        snprintf(hls->error, sizeof(hls->error), "write to segment: %s",
                 strerror(errno));
        hls->mux.out.len = 0;
        return -1;
    }

    hls->mux.out.len = 0;

    return 0;
}


static int
ngx_ams_hls_start_segment(ngx_ams_hls_t *hls, int64_t dts)
{
    char  path[NGX_AMS_HLS_PATH_LEN];

    if (!hls->dir_ready) {
        if (ngx_ams_file_mkdir(hls->dir, hls->error, sizeof(hls->error))
            != 0)
        {
            return -1;
        }

        hls->dir_ready = 1;
    }

    ngx_ams_hls_segment_path(hls, hls->seq, path, sizeof(path));

    hls->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (hls->fd == -1) {
        snprintf(hls->error, sizeof(hls->error), "open(\"%s\"): %s", path,
                 strerror(errno));
        return -1;
    }

    hls->seg_start = dts;
    hls->mux.out.len = 0;

    if (hls->fmp4) {
        return hls->init_written ? 0 : ngx_ams_hls_write_init(hls);
    }

    if (ngx_ams_ts_mux_tables(&hls->mux) != 0) {
        snprintf(hls->error, sizeof(hls->error), "out of memory");
        return -1;
    }

    return 0;
}


static int
ngx_ams_hls_end_segment(ngx_ams_hls_t *hls, int64_t end)
{
    char                    path[NGX_AMS_HLS_PATH_LEN];
    unsigned                n;
    uint64_t                old;
    ngx_ams_mp4_track_t    *t[2];
    ngx_ams_hls_segment_t  *seg;

    if (hls->fmp4) {
        /* a fragment is written whole: its moof lists every sample */
        n = ngx_ams_hls_tracks(hls, t);

        if (ngx_ams_mp4_fragment(&hls->mux.out, t, n, ++hls->fragments, end)
            != 0)
        {
            snprintf(hls->error, sizeof(hls->error), "out of memory");
            return -1;
        }
    }

    if (ngx_ams_hls_flush(hls) != 0) {
        return -1;
    }

    close(hls->fd);
    hls->fd = -1;

    seg = &hls->segments[hls->seq % ngx_ams_hls_ring_size(hls)];
    seg->seq = hls->seq;
    seg->duration = end > hls->seg_start ? end - hls->seg_start : 1;

    hls->nsegments++;
    hls->seq++;

    if (ngx_ams_hls_write_playlist(hls, 0) != 0) {
        return -1;
    }

    if (hls->nsegments > hls->list_size + NGX_AMS_HLS_KEEP_EXTRA) {
        old = hls->seq - 1 - hls->list_size - NGX_AMS_HLS_KEEP_EXTRA;
        ngx_ams_hls_segment_path(hls, old, path, sizeof(path));
        (void) unlink(path);
    }

    return 0;
}


static int
ngx_ams_hls_write_playlist(ngx_ams_hls_t *hls, int ended)
{
    int                     rc;
    char                    path[NGX_AMS_HLS_PATH_LEN];
    char                   *buf, *p, *end;
    size_t                  size;
    unsigned                n, i;
    int64_t                 max;
    uint64_t                first;
    ngx_ams_hls_segment_t  *seg;

    n = hls->nsegments < hls->list_size ? hls->nsegments : hls->list_size;
    first = hls->seq - n;

    size = 512 + (size_t) n * (64 + strlen(hls->name));
    buf = malloc(size);
    if (buf == NULL) {
        snprintf(hls->error, sizeof(hls->error), "out of memory");
        return -1;
    }

    max = hls->target;
    for (i = 0; i < n; i++) {
        seg = &hls->segments[(first + i) % ngx_ams_hls_ring_size(hls)];
        if (seg->duration > max) {
            max = seg->duration;
        }
    }

    p = buf;
    end = buf + size;

    p += snprintf(p, end - p,
                  "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%lld\n"
                  "#EXT-X-MEDIA-SEQUENCE:%llu\n", hls->fmp4 ? 7 : 3,
                  (long long) ((max + NGX_AMS_TIMEBASE / 2) / NGX_AMS_TIMEBASE),
                  (unsigned long long) first);

    if (hls->fmp4) {
        p += snprintf(p, end - p, "#EXT-X-MAP:URI=\"%s_init.mp4\"\n",
                      hls->name);
    }

    for (i = 0; i < n; i++) {
        seg = &hls->segments[(first + i) % ngx_ams_hls_ring_size(hls)];
        p += snprintf(p, end - p, "#EXTINF:%.3f,\n%s%09llu.%s\n",
                      (double) seg->duration / NGX_AMS_TIMEBASE, hls->name,
                      (unsigned long long) seg->seq,
                      hls->fmp4 ? "m4s" : "ts");
    }

    if (ended) {
        p += snprintf(p, end - p, "#EXT-X-ENDLIST\n");
    }

    snprintf(path, sizeof(path), "%s/%s.m3u8", hls->dir, hls->name);

    /* readers see the old playlist or the new one, never half of one */
    rc = ngx_ams_file_replace(path, buf, p - buf, hls->error,
                              sizeof(hls->error));
    free(buf);

    return rc;
}


int
ngx_ams_hls_finish(ngx_ams_hls_t *hls)
{
    if (hls->fd != -1) {
        if (ngx_ams_hls_end_segment(hls, hls->last_dts + hls->last_duration)
            != 0)
        {
            return -1;
        }
    }

    if (hls->nsegments == 0) {
        return 0;
    }

    return ngx_ams_hls_write_playlist(hls, 1);
}


/* removes what this stream wrote, unless a newer publisher rewrote it */

void
ngx_ams_hls_remove(ngx_ams_hls_t *hls, time_t not_after)
{
    char         path[NGX_AMS_HLS_PATH_LEN];
    uint64_t     seq, from;
    struct stat  sb;

    from = hls->seq > hls->list_size + NGX_AMS_HLS_KEEP_EXTRA
           ? hls->seq - hls->list_size - NGX_AMS_HLS_KEEP_EXTRA : 0;

    for (seq = from; seq < hls->seq; seq++) {
        ngx_ams_hls_segment_path(hls, seq, path, sizeof(path));

        if (stat(path, &sb) == 0 && sb.st_mtime <= not_after) {
            (void) unlink(path);
        }
    }

    snprintf(path, sizeof(path), "%s/%s.m3u8", hls->dir, hls->name);

    if (stat(path, &sb) == 0 && sb.st_mtime <= not_after) {
        (void) unlink(path);
    }

    snprintf(path, sizeof(path), "%s/%s_init.mp4", hls->dir, hls->name);

    if (hls->fmp4 && stat(path, &sb) == 0 && sb.st_mtime <= not_after) {
        (void) unlink(path);
    }
}


void
ngx_ams_hls_close(ngx_ams_hls_t *hls)
{
    if (hls->fd != -1) {
        close(hls->fd);
        hls->fd = -1;
    }

    ngx_ams_ts_mux_free(&hls->mux);
    ngx_ams_mp4_track_free(&hls->video);
    ngx_ams_mp4_track_free(&hls->audio);
    free(hls->segments);
    hls->segments = NULL;
}
