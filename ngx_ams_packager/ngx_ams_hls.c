
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
#include "ngx_ams_m3u8.h"
#include "ngx_ams_avc.h"


#define NGX_AMS_HLS_WRITE_SIZE  (64 * 1024)


static int ngx_ams_hls_write_out(ngx_ams_hls_t *hls);
static void ngx_ams_hls_drop_segment(ngx_ams_hls_t *hls);
static int ngx_ams_hls_start_segment(ngx_ams_hls_t *hls);
static int ngx_ams_hls_end_segment(ngx_ams_hls_t *hls);
static int ngx_ams_hls_write_playlist(ngx_ams_hls_t *hls, int ended);
static int ngx_ams_hls_avcc_check(ngx_ams_hls_t *hls, const uint8_t *data,
    size_t len);
static void ngx_ams_hls_segment_path(ngx_ams_hls_t *hls, uint64_t seq,
    char *path, size_t size);


int
ngx_ams_hls_open(ngx_ams_hls_t *hls, const char *dir, const char *tmp,
    const char *name, unsigned hls_time_ms, unsigned list_size)
{
    memset(hls, 0, sizeof(ngx_ams_hls_t));

    hls->fd = -1;
    hls->list_size = list_size == 0 ? 1
                     : list_size > NGX_AMS_SEG_MAX_LIST ? NGX_AMS_SEG_MAX_LIST
                     : list_size;

    ngx_ams_segmenter_init(&hls->seg, hls_time_ms);
    ngx_ams_ts_mux_init(&hls->mux);

    if (snprintf(hls->dir, sizeof(hls->dir), "%s", dir)
        >= (int) sizeof(hls->dir)
        || snprintf(hls->tmp, sizeof(hls->tmp), "%s", tmp)
           >= (int) sizeof(hls->tmp)
        || snprintf(hls->name, sizeof(hls->name), "%s", name)
           >= (int) sizeof(hls->name))
    {
        snprintf(hls->error, sizeof(hls->error), "path too long");
        return -1;
    }

    hls->segments = calloc(hls->list_size, sizeof(ngx_ams_segment_t));
    if (hls->segments == NULL) {
        snprintf(hls->error, sizeof(hls->error), "out of memory");
        return -1;
    }

    return 0;
}


/* FNV-1a: a configuration sent again is no change */

static uint64_t
ngx_ams_hls_hash(const uint8_t *data, size_t len)
{
    size_t    i;
    uint64_t  h = 14695981039346656037ULL;

    for (i = 0; i < len; i++) {
        h = (h ^ data[i]) * 1099511628211ULL;
    }

    return h;
}


int
ngx_ams_hls_config(ngx_ams_hls_t *hls, unsigned track, const uint8_t *data,
    size_t len)
{
    int          rc;
    uint64_t     hash;
    const char  *err = NULL;

    if (track == NGX_AMS_TRACK_VIDEO || track == NGX_AMS_TRACK_AUDIO) {
        hash = ngx_ams_hls_hash(data, len);

        /*
         * A new configuration mid-stream (a publisher changed resolution,
         * a rung was opened again at a new size): the open segment ends
         * here; the next keyframe starts one after EXT-X-DISCONTINUITY,
         * with the new SPS/PPS before its IDR.
         */
        if ((hls->config_seen & (1u << track))
            && hls->config_hash[track] != hash)
        {
            if (ngx_ams_segmenter_finish(&hls->seg) && hls->fd != -1
                && ngx_ams_hls_end_segment(hls) != 0)
            {
                return -1;
            }

            hls->config_gap = 1;
        }

        hls->config_seen |= 1u << track;
        hls->config_hash[track] = hash;
    }

    if (track == NGX_AMS_TRACK_VIDEO) {
        rc = ngx_ams_ts_mux_video_config(&hls->mux, data, len, &err);
    } else if (track == NGX_AMS_TRACK_AUDIO
               && len >= 8 && memcmp(data, "OpusHead", 8) == 0)
    {
        /* MPEG-TS HLS carries AAC: an Opus track is left out (its
         * frames are dropped as a track without configuration is) */
        hls->mux.has_audio = 0;
        hls->opus = 1;
        rc = 0;

    } else if (track == NGX_AMS_TRACK_AUDIO) {
        rc = ngx_ams_ts_mux_audio_config(&hls->mux, data, len, &err);
        hls->opus = 0;
    } else {
        return 0;
    }

    if (rc != 0) {
        snprintf(hls->error, sizeof(hls->error), "%s", err);
        return -1;
    }

    /* a track that appears mid-segment needs the new PMT now */
    if (hls->fd != -1 && ngx_ams_ts_mux_tables(&hls->mux) != 0) {
        snprintf(hls->error, sizeof(hls->error), "out of memory");
        return -1;
    }

    return 0;
}


static int
ngx_ams_hls_avcc_check(ngx_ams_hls_t *hls, const uint8_t *data, size_t len)
{
    int                     rc;
    const char             *err = NULL;
    ngx_ams_avc_nal_t       nal;
    ngx_ams_avc_nal_iter_t  it;

    ngx_ams_avc_nal_init(&it, data, len, hls->mux.nal_length_size);

    while ((rc = ngx_ams_avc_nal_next(&it, &nal, &err)) == 1) {
        /* void */
    }

    if (rc != 0) {
        snprintf(hls->error, sizeof(hls->error), "malformed AVCC frame: %s",
                 err ? err : "?");
        return -1;
    }

    return 0;
}


static void
ngx_ams_hls_segment_path(ngx_ams_hls_t *hls, uint64_t seq, char *path,
    size_t size)
{
    /* Ant Media's naming: stream id, then a 9-digit sequence */
    snprintf(path, size, "%s/%s%09llu.ts", hls->dir, hls->name,
             (unsigned long long) seq);
}


int
ngx_ams_hls_frame(ngx_ams_hls_t *hls, const ngx_ams_frame_t *frame,
    const uint8_t *data)
{
    int          rc;
    const char  *err = NULL;

    if (frame->track == NGX_AMS_TRACK_AUDIO && hls->opus) {
        if (hls->opus_said) {
            return 0;
        }

        /* the caller says it once a stream */
        hls->opus_said = 1;
        return 2;
    }

    if ((frame->track == NGX_AMS_TRACK_VIDEO && !hls->mux.has_video)
        || (frame->track == NGX_AMS_TRACK_AUDIO && !hls->mux.has_audio)
        || frame->track == NGX_AMS_TRACK_DATA)
    {
        return 0;
    }

    /* a malformed frame is dropped before the segmenter counts it: the
     * stream goes on */
    if (frame->track == NGX_AMS_TRACK_VIDEO
        && ngx_ams_hls_avcc_check(hls, data, frame->size) != 0)
    {
        return 1;
    }

    /* without video every frame may start a segment: after a write error
     * one try a segment length, not one a frame */
    if (!hls->mux.has_video && !hls->seg.open && hls->io.gap
        && frame->dts < hls->retry_dts)
    {
        return 0;
    }

    switch (ngx_ams_segmenter_frame(&hls->seg, frame, hls->mux.has_video)) {

    case NGX_AMS_SEG_DROP:
        return 0;

    case NGX_AMS_SEG_START:
        rc = ngx_ams_hls_start_segment(hls);
        if (rc != 0) {
            return rc == -1 ? -1 : 0;
        }
        break;

    case NGX_AMS_SEG_CUT:
        if (ngx_ams_hls_end_segment(hls) != 0) {
            return -1;
        }

        rc = ngx_ams_hls_start_segment(hls);
        if (rc != 0) {
            return rc == -1 ? -1 : 0;
        }
        break;
    }

    if (frame->track == NGX_AMS_TRACK_VIDEO) {
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

    /* a few writes a second cost less than holding a second of TS per
     * stream in memory */
    if (hls->mux.out.len >= NGX_AMS_HLS_WRITE_SIZE
        && ngx_ams_hls_write_out(hls) != 0)
    {
        /* the rest of the segment goes too, until the next keyframe */
        hls->seg.open = 0;
    }

    return 0;
}


/* what the muxer holds, to the open segment: 1 when that failed and the
 * segment was dropped */

static int
ngx_ams_hls_write_out(ngx_ams_hls_t *hls)
{
    if (hls->fd != -1
        && ngx_ams_file_write_all(hls->fd, hls->mux.out.data,
                                  hls->mux.out.len)
           != 0)
    {
        snprintf(hls->io.error, sizeof(hls->io.error),
                 "write to segment %s%09llu.ts: %s", hls->name,
                 (unsigned long long) hls->seq, strerror(errno));
        ngx_ams_hls_drop_segment(hls);
        return 1;
    }

    hls->mux.out.len = 0;

    return 0;
}


/* the open segment is lost to a write error: its number goes to the next
 * one, so the media sequence stays gapless, and a discontinuity marks it */

static void
ngx_ams_hls_drop_segment(ngx_ams_hls_t *hls)
{
    char  path[NGX_AMS_HLS_PATH_LEN];

    if (hls->fd != -1) {
        close(hls->fd);
        hls->fd = -1;

        ngx_ams_hls_segment_path(hls, hls->seq, path, sizeof(path));
        (void) unlink(path);
    }

    hls->mux.out.len = 0;
    ngx_ams_seg_io_failed(&hls->io, 1);
}


/* the end of a batch: what is muxed goes to disk, and a playlist that
 * could not be written is tried again */

int
ngx_ams_hls_flush(ngx_ams_hls_t *hls)
{
    if (ngx_ams_hls_write_out(hls) != 0) {
        hls->seg.open = 0;
    }

    if (hls->playlist_due && hls->nsegments
        && ngx_ams_hls_write_playlist(hls, 0) == -1)
    {
        return -1;
    }

    return 0;
}


/* 0; 1 when a write error lost the segment (the next keyframe starts
 * another); -1 when out of memory */

static int
ngx_ams_hls_start_segment(ngx_ams_hls_t *hls)
{
    char  path[NGX_AMS_HLS_PATH_LEN];

    hls->mux.out.len = 0;

    if (!hls->dir_ready) {
        if (ngx_ams_file_mkdir(hls->dir, hls->io.error,
                               sizeof(hls->io.error))
            != 0
            || ngx_ams_file_mkdir(hls->tmp, hls->io.error,
                                  sizeof(hls->io.error))
               != 0)
        {
            /* a path in the way is no disk hiccup: it stays */
            if (ngx_ams_file_in_the_way(errno)) {
                snprintf(hls->error, sizeof(hls->error), "%.3400s",
                         hls->io.error);
                return -1;
            }

            goto lost;
        }

        hls->dir_ready = 1;
    }

    ngx_ams_hls_segment_path(hls, hls->seq, path, sizeof(path));

    hls->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
                         | O_NOFOLLOW, 0644);
    if (hls->fd == -1) {
        snprintf(hls->io.error, sizeof(hls->io.error), "open(\"%s\"): %s",
                 path, strerror(errno));
        goto lost;
    }

    if (ngx_ams_ts_mux_tables(&hls->mux) != 0) {
        snprintf(hls->error, sizeof(hls->error), "out of memory");
        return -1;
    }

    return 0;

lost:

    ngx_ams_hls_drop_segment(hls);
    hls->seg.open = 0;
    hls->retry_dts = hls->seg.start + hls->seg.target;

    return 1;
}


/* closes the segment the segmenter closed and lists it */

static int
ngx_ams_hls_end_segment(ngx_ams_hls_t *hls)
{
    char                path[NGX_AMS_HLS_PATH_LEN];
    int64_t             d;
    ngx_ams_segment_t  *seg;

    if (ngx_ams_hls_write_out(hls) != 0) {
        return 0;
    }

    close(hls->fd);
    hls->fd = -1;

    d = hls->seg.closed_end - hls->seg.closed_start;

    seg = ngx_ams_segment_list(hls->segments, &hls->nsegments,
                               hls->list_size, &hls->discontinuities,
                               hls->io.gap || hls->config_gap);
    hls->io.gap = 0;
    hls->config_gap = 0;
    seg->seq = hls->seq;
    seg->start = hls->seg.closed_start;
    seg->duration = d > 0 ? d : 1;

    hls->seq++;

    if (ngx_ams_hls_write_playlist(hls, 0) == -1) {
        return -1;
    }

    /* the window and NGX_AMS_SEG_KEEP_EXTRA more stay, for slow players */
    if (hls->seq > hls->list_size + NGX_AMS_SEG_KEEP_EXTRA) {
        ngx_ams_hls_segment_path(hls, hls->seq - 1 - hls->list_size
                                      - NGX_AMS_SEG_KEEP_EXTRA,
                                 path, sizeof(path));
        (void) unlink(path);
    }

    return 0;
}


/* 0; 1 when the write failed (tried again later); -1 when out of memory */

static int
ngx_ams_hls_write_playlist(ngx_ams_hls_t *hls, int ended)
{
    char                  path[NGX_AMS_HLS_PATH_LEN];
    ngx_ams_m3u8_media_t  pl;

    memset(&pl, 0, sizeof(ngx_ams_m3u8_media_t));
    pl.version = 3;
    pl.part_target = 0;                 /* no low-latency parts */
    pl.timescale = NGX_AMS_TIMEBASE;
    pl.target = hls->seg.target;
    pl.map = NULL;
    pl.prefix = hls->name;
    pl.digits = 9;
    pl.suffix = ".ts";
    pl.ended = ended ? 1 : 0;
    pl.discontinuity_seq = hls->discontinuities;
    pl.pdt_ms = 0;

    hls->text.len = 0;

    if (ngx_ams_m3u8_media(&hls->text, &pl, hls->segments, hls->nsegments)
        != 0)
    {
        snprintf(hls->error, sizeof(hls->error), "out of memory");
        return -1;
    }

    snprintf(path, sizeof(path), "%s/%s.m3u8", hls->dir, hls->name);

    /* readers see the old playlist or the new one, never half of one */
    if (ngx_ams_file_replace(hls->tmp, path, hls->text.data, hls->text.len,
                             hls->io.error, sizeof(hls->io.error))
        != 0)
    {
        ngx_ams_seg_io_failed(&hls->io, 0);
        hls->playlist_due = 1;
        return 1;
    }

    hls->playlist_due = 0;
    hls->io.failing = 0;

    return 0;
}


int
ngx_ams_hls_finish(ngx_ams_hls_t *hls)
{
    int       rc;
    unsigned  i;

    if (ngx_ams_segmenter_finish(&hls->seg)) {
        if (hls->fd == -1) {
            /* the last segment was lost */
            hls->seg.open = 0;

        } else if (ngx_ams_hls_end_segment(hls) != 0) {
            return -1;
        }
    }

    if (hls->nsegments == 0) {
        return 0;
    }

    /* without ENDLIST players take the stream for live forever */
    for (i = 0; i < NGX_AMS_SEG_FINAL_TRIES; i++) {
        if (i) {
            usleep(NGX_AMS_SEG_FINAL_WAIT * 1000);
        }

        rc = ngx_ams_hls_write_playlist(hls, 1);
        if (rc != 1) {
            return rc;
        }
    }

    snprintf(hls->error, sizeof(hls->error), "playlist not ended: %.3400s",
             hls->io.error);

    return -1;
}


/* removes what this stream wrote, unless a newer publisher rewrote it */

void
ngx_ams_hls_remove(ngx_ams_hls_t *hls, time_t not_after)
{
    char         path[NGX_AMS_HLS_PATH_LEN];
    uint64_t     seq, from;
    struct stat  sb;

    from = hls->seq > hls->list_size + NGX_AMS_SEG_KEEP_EXTRA
           ? hls->seq - hls->list_size - NGX_AMS_SEG_KEEP_EXTRA : 0;

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
}


void
ngx_ams_hls_close(ngx_ams_hls_t *hls)
{
    if (hls->fd != -1) {
        close(hls->fd);
        hls->fd = -1;
    }

    ngx_ams_ts_mux_free(&hls->mux);
    ngx_ams_buf_free(&hls->text);
    free(hls->segments);
    hls->segments = NULL;
}
