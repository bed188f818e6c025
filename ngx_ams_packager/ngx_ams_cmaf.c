
/*
 * Copyright (C) nginx-ams authors
 */


#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ngx_ams_cmaf.h"
#include "ngx_ams_file.h"
#include "ngx_ams_m3u8.h"
#include "ngx_ams_mpd.h"
#include "ngx_ams_avc.h"


static const char  *ngx_ams_cmaf_kind[2] = { "video", "audio" };


#define ngx_ams_cmaf_min(a, b)  ((a) < (b) ? (a) : (b))


static void ngx_ams_cmaf_path(ngx_ams_cmaf_t *cmaf, char *path,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int ngx_ams_cmaf_avcc_check(ngx_ams_cmaf_t *cmaf,
    ngx_ams_mp4_track_t *mp4, const uint8_t *data, size_t len);
static int ngx_ams_cmaf_cut(ngx_ams_cmaf_t *cmaf);
static int ngx_ams_cmaf_dir(ngx_ams_cmaf_t *cmaf, int *lost);
static int ngx_ams_cmaf_part_due(ngx_ams_cmaf_t *cmaf,
    const ngx_ams_frame_t *frame, int has_video);
static int ngx_ams_cmaf_part(ngx_ams_cmaf_t *cmaf, int64_t end_dts,
    int publish);
static int ngx_ams_cmaf_part_write(ngx_ams_cmaf_t *cmaf, unsigned kind,
    int64_t end_dts);
static void ngx_ams_cmaf_lose_segment(ngx_ams_cmaf_t *cmaf);
static int ngx_ams_cmaf_cut_parts(ngx_ams_cmaf_t *cmaf);
static void ngx_ams_cmaf_ll_publish(ngx_ams_cmaf_t *cmaf, int ended);
static void ngx_ams_cmaf_init_name(ngx_ams_cmaf_t *cmaf, unsigned kind,
    uint32_t version, char *buf, size_t size);
static int ngx_ams_cmaf_write_init(ngx_ams_cmaf_t *cmaf, unsigned kind);
static int ngx_ams_cmaf_write_fragment(ngx_ams_cmaf_t *cmaf, unsigned kind,
    int lost);
static void ngx_ams_cmaf_list_fragment(ngx_ams_cmaf_t *cmaf, unsigned kind);
static int ngx_ams_cmaf_publish(ngx_ams_cmaf_t *cmaf, int ended);
static int ngx_ams_cmaf_write_hls(ngx_ams_cmaf_t *cmaf, int ended);
static int ngx_ams_cmaf_write_master(ngx_ams_cmaf_t *cmaf);
static int ngx_ams_cmaf_write_mpd(ngx_ams_cmaf_t *cmaf, int ended);
static int64_t ngx_ams_cmaf_now_ms(void);


int
ngx_ams_cmaf_open(ngx_ams_cmaf_t *cmaf, const char *dir, const char *tmp,
    const char *name, unsigned seg_ms, unsigned list_size, unsigned outputs)
{
    unsigned  i;

    memset(cmaf, 0, sizeof(ngx_ams_cmaf_t));

    ngx_ams_segmenter_init(&cmaf->seg, seg_ms);
    cmaf->outputs = outputs;
    cmaf->master_due = 1;
    cmaf->list_size = list_size == 0 ? 1
                      : list_size > NGX_AMS_SEG_MAX_LIST ? NGX_AMS_SEG_MAX_LIST
                      : list_size;

    if (snprintf(cmaf->dir, sizeof(cmaf->dir), "%s", dir)
        >= (int) sizeof(cmaf->dir)
        || snprintf(cmaf->tmp, sizeof(cmaf->tmp), "%s", tmp)
           >= (int) sizeof(cmaf->tmp)
        || snprintf(cmaf->name, sizeof(cmaf->name), "%s", name)
           >= (int) sizeof(cmaf->name))
    {
        snprintf(cmaf->error, sizeof(cmaf->error), "path too long");
        return -1;
    }

    for (i = 0; i < 2; i++) {
        cmaf->track[i].segments = calloc(cmaf->list_size,
                                         sizeof(ngx_ams_segment_t));
        if (cmaf->track[i].segments == NULL) {
            snprintf(cmaf->error, sizeof(cmaf->error), "out of memory");
            return -1;
        }
    }

    return 0;
}


void
ngx_ams_cmaf_low_latency(ngx_ams_cmaf_t *cmaf, unsigned part_ms,
    ngx_ams_ll_state_t *ll, uint64_t generation)
{
    cmaf->part_target = (int64_t) part_ms * (NGX_AMS_TIMEBASE / 1000);
    cmaf->ll = ll;

    if (ll == NULL) {
        return;
    }

    ngx_ams_ll_write_begin(ll);
    ll->generation = generation;
    ll->part_ms = part_ms;
    ll->target_ms = (uint32_t) (cmaf->seg.target / (NGX_AMS_TIMEBASE / 1000));
    ll->ended = 0;
    memset(ll->track, 0, sizeof(ll->track));
    ngx_ams_ll_write_end(ll);
}


/* a file of the stream's directory: {dir}/{name}/... */

static void
ngx_ams_cmaf_path(ngx_ams_cmaf_t *cmaf, char *path, const char *fmt, ...)
{
    int      n;
    va_list  ap;

    n = snprintf(path, NGX_AMS_SEG_PATH_LEN, "%s/%s/", cmaf->dir, cmaf->name);

    va_start(ap, fmt);
    vsnprintf(path + n, NGX_AMS_SEG_PATH_LEN - n, fmt, ap);
    va_end(ap);
}


int
ngx_ams_cmaf_config(ngx_ams_cmaf_t *cmaf, unsigned track, const uint8_t *data,
    size_t len)
{
    int                    rc;
    unsigned               kind;
    const char            *err = NULL;
    ngx_ams_cmaf_track_t  *t;

    if (track != NGX_AMS_TRACK_VIDEO && track != NGX_AMS_TRACK_AUDIO) {
        return 0;
    }

    kind = (track == NGX_AMS_TRACK_VIDEO) ? NGX_AMS_MP4_VIDEO
                                          : NGX_AMS_MP4_AUDIO;
    t = &cmaf->track[kind];

    /* a publisher may send the same configuration again */
    if (t->mp4.configured && t->mp4.config_len == len
        && memcmp(t->mp4.config, data, len) == 0)
    {
        return 0;
    }

    /*
     * A new configuration mid-stream (a publisher changed resolution, a
     * rung was opened again at a new size): the open segment ends here,
     * with the configuration it was muxed for; the next keyframe starts
     * one after a discontinuity, with an init segment of a new name, so
     * a player that cached the old one never mixes them.
     */
    if (t->mp4.configured) {
        if (cmaf->seg.open && ngx_ams_segmenter_finish(&cmaf->seg)) {
            rc = ngx_ams_cmaf_cut(cmaf);
            if (rc == -1
                || ((rc == 0 || cmaf->playlists_due)
                    && ngx_ams_cmaf_publish(cmaf, 0) == -1))
            {
                return -1;
            }
        }

        t->config_version++;
        cmaf->config_gap = 1;
    }

    if (ngx_ams_mp4_track_config(&t->mp4, kind, kind + 1, data, len, &err)
        != 0)
    {
        snprintf(cmaf->error, sizeof(cmaf->error), "%s", err);
        return -1;
    }

    t->init_written = 0;
    cmaf->master_due = 1;

    return 0;
}


static int
ngx_ams_cmaf_avcc_check(ngx_ams_cmaf_t *cmaf, ngx_ams_mp4_track_t *mp4,
    const uint8_t *data, size_t len)
{
    int                     rc;
    const char             *err = NULL;
    ngx_ams_avc_nal_t       nal;
    ngx_ams_avc_nal_iter_t  it;

    /* avcC: lengthSizeMinusOne in the low bits of its fifth byte */
    ngx_ams_avc_nal_init(&it, data, len,
                         mp4->config_len > 4 ? (mp4->config[4] & 3) + 1 : 4);

    while ((rc = ngx_ams_avc_nal_next(&it, &nal, &err)) == 1) {
        /* void */
    }

    if (rc != 0) {
        snprintf(cmaf->error, sizeof(cmaf->error), "malformed AVCC frame: %s",
                 err ? err : "?");
        return -1;
    }

    return 0;
}


int
ngx_ams_cmaf_frame(ngx_ams_cmaf_t *cmaf, const ngx_ams_frame_t *frame,
    const uint8_t *data)
{
    int                    rc, has_video;
    ngx_ams_cmaf_track_t  *t;

    if (frame->track != NGX_AMS_TRACK_VIDEO
        && frame->track != NGX_AMS_TRACK_AUDIO)
    {
        return 0;
    }

    t = &cmaf->track[frame->track == NGX_AMS_TRACK_VIDEO
                     ? NGX_AMS_MP4_VIDEO : NGX_AMS_MP4_AUDIO];

    if (!t->mp4.configured) {
        return 0;
    }

    if (frame->track == NGX_AMS_TRACK_VIDEO
        && ngx_ams_cmaf_avcc_check(cmaf, &t->mp4, data, frame->size) != 0)
    {
        return 1;           /* dropped before the segmenter counts it */
    }

    has_video = cmaf->track[NGX_AMS_MP4_VIDEO].mp4.configured;

    switch (ngx_ams_segmenter_frame(&cmaf->seg, frame, has_video)) {

    case NGX_AMS_SEG_DROP:
        return 0;

    case NGX_AMS_SEG_START:
        /* again after a configuration change: the presentation goes on */
        if (!cmaf->started) {
            cmaf->first_dts = frame->dts;
            cmaf->available_ms = ngx_ams_cmaf_now_ms();
            cmaf->started = 1;
        }

        cmaf->part_start = frame->dts;
        cmaf->part_last = frame->dts;
        break;

    case NGX_AMS_SEG_CUT:
        /* this frame starts the next segment even when the last is lost */
        rc = ngx_ams_cmaf_cut(cmaf);
        if (rc == -1
            || ((rc == 0 || cmaf->playlists_due)
                && ngx_ams_cmaf_publish(cmaf, 0) == -1))
        {
            return -1;
        }

        cmaf->part_start = frame->dts;
        cmaf->part_last = frame->dts;
        break;

    default:   /* NGX_AMS_SEG_ADD */
        if (cmaf->part_target
            && ngx_ams_cmaf_part_due(cmaf, frame, has_video)
            && ngx_ams_cmaf_part(cmaf, frame->dts, 1) == -1)
        {
            return -1;
        }
    }

    if (ngx_ams_mp4_add_sample(&t->mp4, frame->dts, frame->cts,
                               frame->flags & NGX_AMS_FRAME_KEY, data,
                               frame->size)
        != 0)
    {
        snprintf(cmaf->error, sizeof(cmaf->error), "out of memory");
        return -1;
    }

    return 0;
}


/* the segment the segmenter closed: one fragment file per track.  0; 1
 * when a write error lost it, on every track, so that the tracks keep
 * the same numbers and discontinuities; -1 when out of memory */

static int
ngx_ams_cmaf_cut(ngx_ams_cmaf_t *cmaf)
{
    int                    rc, lost;
    char                   path[NGX_AMS_SEG_PATH_LEN];
    unsigned               kind, written;
    ngx_ams_cmaf_track_t  *t;

    if (cmaf->part_target) {
        return ngx_ams_cmaf_cut_parts(cmaf);
    }

    lost = 0;
    written = 0;

    if (ngx_ams_cmaf_dir(cmaf, &lost) == -1) {
        return -1;
    }

    cmaf->fragments++;

    for (kind = 0; kind < 2; kind++) {
        t = &cmaf->track[kind];

        if (!t->mp4.configured || t->mp4.nsamples == 0) {
            continue;
        }

        if (!lost && !t->init_written) {
            rc = ngx_ams_cmaf_write_init(cmaf, kind);
            if (rc == -1) {
                return -1;
            }

            lost = rc;
        }

        /* a lost segment's samples are muxed all the same, and dropped */
        rc = ngx_ams_cmaf_write_fragment(cmaf, kind, lost);
        if (rc == -1) {
            return -1;
        }

        lost |= rc;

        if (!lost) {
            written |= 1u << kind;
        }
    }

    if (lost) {
        for (kind = 0; kind < 2; kind++) {
            if (written & (1u << kind)) {
                ngx_ams_cmaf_path(cmaf, path, "%s_%llu.m4s",
                                  ngx_ams_cmaf_kind[kind],
                                  (unsigned long long)
                                  cmaf->track[kind].next_seq);
                (void) unlink(path);
            }
        }

        ngx_ams_seg_io_failed(&cmaf->io, 1);

        return 1;
    }

    for (kind = 0; kind < 2; kind++) {
        if (written & (1u << kind)) {
            ngx_ams_cmaf_list_fragment(cmaf, kind);
        }
    }

    cmaf->io.gap = 0;
    cmaf->config_gap = 0;

    return 0;
}


/* the stream's directories, made by the first segment: -1 when a path
 * is in the way, or *lost = 1 when the disk failed */

static int
ngx_ams_cmaf_dir(ngx_ams_cmaf_t *cmaf, int *lost)
{
    char  path[NGX_AMS_SEG_PATH_LEN];

    if (cmaf->dir_ready) {
        return 0;
    }

    ngx_ams_cmaf_path(cmaf, path, "%s", "");

    if (ngx_ams_file_mkdir(path, cmaf->io.error, sizeof(cmaf->io.error)) != 0
        || ngx_ams_file_mkdir(cmaf->tmp, cmaf->io.error,
                              sizeof(cmaf->io.error))
           != 0)
    {
        /* a path in the way is no disk hiccup: it stays */
        if (ngx_ams_file_in_the_way(errno)) {
            snprintf(cmaf->error, sizeof(cmaf->error), "%.3400s",
                     cmaf->io.error);
            return -1;
        }

        *lost = 1;
        return 0;
    }

    cmaf->dir_ready = 1;

    return 0;
}


/*
 * Low-latency HLS: whether "frame" starts a new part of the open segment.
 * Parts are cut at video frames (audio ones without video), at the frame
 * nearest to the part target, so that a segment of whole parts is cut in
 * parts of the target (give or take the publisher's millisecond rounding:
 * 1 ms is let pass).  Audio follows video's cuts: its parts vary by one
 * AAC frame around the target.
 */

static int
ngx_ams_cmaf_part_due(ngx_ams_cmaf_t *cmaf, const ngx_ams_frame_t *frame,
    int has_video)
{
    int64_t  step;

    if (frame->track != (has_video ? NGX_AMS_TRACK_VIDEO
                                   : NGX_AMS_TRACK_AUDIO))
    {
        return 0;
    }

    step = frame->dts - cmaf->part_last;
    if (step > 0) {
        cmaf->part_step = step;
        cmaf->part_last = frame->dts;
    }

    return frame->dts > cmaf->part_start
           && frame->dts - cmaf->part_start + cmaf->part_step / 2
              > cmaf->part_target + NGX_AMS_TIMEBASE / 1000;
}


/* the part gathered so far, ending at end_dts, appended to the segment's
 * files; then (publish) the playlists that list it and the shared state.
 * 0, or -1 (out of memory, a path in the way) */

static int
ngx_ams_cmaf_part(ngx_ams_cmaf_t *cmaf, int64_t end_dts, int publish)
{
    int                    rc, lost, wrote;
    unsigned               kind;
    ngx_ams_cmaf_track_t  *t;

    lost = 0;
    wrote = 0;

    if (ngx_ams_cmaf_dir(cmaf, &lost) == -1) {
        return -1;
    }

    if (lost && !cmaf->seg_lost) {
        ngx_ams_cmaf_lose_segment(cmaf);
    }

    cmaf->fragments++;

    for (kind = 0; kind < 2; kind++) {
        t = &cmaf->track[kind];

        if (!t->mp4.configured || t->mp4.nsamples == 0) {
            continue;
        }

        if (!cmaf->seg_lost && !t->init_written) {
            rc = ngx_ams_cmaf_write_init(cmaf, kind);
            if (rc == -1) {
                return -1;
            }

            if (rc) {
                ngx_ams_cmaf_lose_segment(cmaf);
            }
        }

        rc = ngx_ams_cmaf_part_write(cmaf, kind, end_dts);
        if (rc == -1) {
            return -1;
        }

        wrote |= (rc == 0);
    }

    cmaf->part_start = end_dts;

    /* the playlists start with the first whole segment */
    if (!publish || !wrote || cmaf->seg_lost
        || (cmaf->track[0].nsegments == 0 && cmaf->track[1].nsegments == 0))
    {
        return 0;
    }

    rc = ngx_ams_cmaf_write_hls(cmaf, 0);
    if (rc == -1) {
        return -1;
    }

    if (rc) {
        /* written again with the next part or segment */
        ngx_ams_seg_io_failed(&cmaf->io, 0);
        cmaf->playlists_due = 1;
        return 0;
    }

    /* low-latency DASH: the MPD lists a segment from its first part on */
    if ((cmaf->outputs & NGX_AMS_CMAF_DASH)
        && (cmaf->track[0].seg_parts == 1 || cmaf->track[1].seg_parts == 1))
    {
        rc = ngx_ams_cmaf_write_mpd(cmaf, 0);
        if (rc == -1) {
            return -1;
        }

        if (rc) {
            ngx_ams_seg_io_failed(&cmaf->io, 0);
            cmaf->playlists_due = 1;
            return 0;
        }
    }

    ngx_ams_cmaf_ll_publish(cmaf, 0);

    return 0;
}


/* one track's part: muxed (its samples are always taken), appended to
 * the segment's file and listed unless the segment is lost.  0; 1 when
 * not written (the segment is lost); -1 when out of memory */

static int
ngx_ams_cmaf_part_write(ngx_ams_cmaf_t *cmaf, unsigned kind, int64_t end_dts)
{
    int                    independent;
    char                   path[NGX_AMS_SEG_PATH_LEN];
    ngx_ams_part_t        *p;
    ngx_ams_mp4_track_t   *mp4;
    ngx_ams_cmaf_track_t  *t;

    t = &cmaf->track[kind];
    mp4 = &t->mp4;

    /* sample_is_non_sync_sample (ISO/IEC 14496-12 8.8.3.1) */
    independent = (mp4->samples[0].flags & 0x00010000) == 0;

    cmaf->out.len = 0;

    if (ngx_ams_mp4_fragment(&cmaf->out, &mp4, 1, cmaf->fragments, end_dts)
        != 0)
    {
        snprintf(cmaf->error, sizeof(cmaf->error), "out of memory");
        return -1;
    }

    if (cmaf->seg_lost) {
        return 1;
    }

    if (t->nparts == t->parts_cap) {
        unsigned  cap = t->parts_cap ? t->parts_cap * 2 : 64;

        p = realloc(t->parts, cap * sizeof(ngx_ams_part_t));
        if (p == NULL) {
            snprintf(cmaf->error, sizeof(cmaf->error), "out of memory");
            return -1;
        }

        t->parts = p;
        t->parts_cap = cap;
    }

    if (!t->fd_open) {
        /* written in place, part by part: players read its parts while
         * it grows.  A file of that name may remain from an earlier
         * publisher: truncated */
        ngx_ams_cmaf_path(cmaf, path, "%s_%llu.m4s", ngx_ams_cmaf_kind[kind],
                          (unsigned long long) t->next_seq);

        t->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (t->fd == -1) {
            snprintf(cmaf->io.error, sizeof(cmaf->io.error),
                     "open(\"%.3400s\") failed: %s", path, strerror(errno));
            ngx_ams_cmaf_lose_segment(cmaf);
            return 1;
        }

        t->fd_open = 1;
    }

    if (ngx_ams_file_write_all(t->fd, cmaf->out.data, cmaf->out.len) != 0) {
        ngx_ams_cmaf_path(cmaf, path, "%s_%llu.m4s", ngx_ams_cmaf_kind[kind],
                          (unsigned long long) t->next_seq);
        snprintf(cmaf->io.error, sizeof(cmaf->io.error),
                 "write(\"%.3400s\") failed: %s", path, strerror(errno));
        ngx_ams_cmaf_lose_segment(cmaf);
        return 1;
    }

    if (t->seg_parts == 0) {
        t->seg_start = mp4->fragment_start;
    }

    p = &t->parts[t->nparts++];
    p->seq = t->next_seq;
    p->duration = mp4->fragment_duration;
    p->offset = t->seg_bytes;
    p->length = cmaf->out.len;
    p->independent = independent;

    t->seg_bytes += cmaf->out.len;
    t->seg_duration += mp4->fragment_duration;
    t->seg_parts++;

    return 0;
}


/* a part could not be written: the open segment is lost on every track
 * (its files and parts go); its parts to come are muxed and dropped */

static void
ngx_ams_cmaf_lose_segment(ngx_ams_cmaf_t *cmaf)
{
    char                   path[NGX_AMS_SEG_PATH_LEN];
    unsigned               kind, i, n, opened;
    ngx_ams_cmaf_track_t  *t;

    cmaf->seg_lost = 1;

    for (kind = 0; kind < 2; kind++) {
        t = &cmaf->track[kind];
        opened = t->fd_open;

        if (t->fd_open) {
            (void) close(t->fd);
            t->fd_open = 0;
        }

        if (opened || t->seg_parts) {
            ngx_ams_cmaf_path(cmaf, path, "%s_%llu.m4s",
                              ngx_ams_cmaf_kind[kind],
                              (unsigned long long) t->next_seq);
            (void) unlink(path);
        }

        for (i = 0, n = 0; i < t->nparts; i++) {
            if (t->parts[i].seq != t->next_seq) {
                t->parts[n++] = t->parts[i];
            }
        }

        t->nparts = n;
        t->seg_bytes = 0;
        t->seg_duration = 0;
        t->seg_parts = 0;
    }
}


/* low-latency HLS: the segment closed, its last part ending where it
 * does.  As ngx_ams_cmaf_cut(): 0; 1 when lost; -1 */

static int
ngx_ams_cmaf_cut_parts(ngx_ams_cmaf_t *cmaf)
{
    unsigned               kind, i, n;
    ngx_ams_mp4_track_t   *mp4;
    ngx_ams_cmaf_track_t  *t;

    if (ngx_ams_cmaf_part(cmaf, cmaf->seg.closed_end, 0) == -1) {
        return -1;
    }

    for (kind = 0; kind < 2; kind++) {
        t = &cmaf->track[kind];

        if (t->fd_open) {
            (void) close(t->fd);
            t->fd_open = 0;
        }
    }

    if (cmaf->seg_lost) {
        cmaf->seg_lost = 0;
        ngx_ams_seg_io_failed(&cmaf->io, 1);
        return 1;
    }

    for (kind = 0; kind < 2; kind++) {
        t = &cmaf->track[kind];

        if (t->seg_parts == 0) {
            continue;
        }

        /* the segment is the sum of its parts */
        mp4 = &t->mp4;
        mp4->fragment_start = t->seg_start;
        mp4->fragment_duration = t->seg_duration;
        mp4->fragment_bytes = t->seg_bytes;

        ngx_ams_cmaf_list_fragment(cmaf, kind);

        t->last_parts = t->seg_parts;
        t->seg_bytes = 0;
        t->seg_duration = 0;
        t->seg_parts = 0;

        /* parts stay listed for the last two whole segments (RFC 8216bis
         * 6.2.2: no longer than three target durations) */
        for (i = 0, n = 0; i < t->nparts; i++) {
            if (t->parts[i].seq + 2 >= t->next_seq) {
                t->parts[n++] = t->parts[i];
            }
        }

        t->nparts = n;
    }

    cmaf->io.gap = 0;
    cmaf->config_gap = 0;

    return 0;
}


/* what the playlists now list, for the HLS gate of any worker */

static void
ngx_ams_cmaf_ll_publish(ngx_ams_cmaf_t *cmaf, int ended)
{
    unsigned               kind;
    ngx_ams_ll_track_t    *lt;
    ngx_ams_cmaf_track_t  *t;

    if (cmaf->ll == NULL) {
        return;
    }

    ngx_ams_ll_write_begin(cmaf->ll);

    for (kind = 0; kind < 2; kind++) {
        t = &cmaf->track[kind];
        lt = &cmaf->ll->track[kind];

        lt->seq = t->next_seq;
        lt->bytes = t->seg_bytes;
        lt->parts = t->seg_parts;
        lt->last_parts = t->last_parts;
        lt->listed = (t->nsegments > 0);
    }

    cmaf->ll->ended = ended ? 1 : 0;

    ngx_ams_ll_write_end(cmaf->ll);
}


/* video_init.mp4, then video_init_1.mp4 after a configuration change */

static void
ngx_ams_cmaf_init_name(ngx_ams_cmaf_t *cmaf, unsigned kind, uint32_t version,
    char *buf, size_t size)
{
    if (version == 0) {
        snprintf(buf, size, "%s_init.mp4", ngx_ams_cmaf_kind[kind]);

    } else {
        snprintf(buf, size, "%s_init_%u.mp4", ngx_ams_cmaf_kind[kind],
                 (unsigned) version);
    }
}


static int
ngx_ams_cmaf_write_init(ngx_ams_cmaf_t *cmaf, unsigned kind)
{
    char                  path[NGX_AMS_SEG_PATH_LEN], name[32];
    ngx_ams_mp4_track_t  *mp4 = &cmaf->track[kind].mp4;

    cmaf->out.len = 0;

    if (ngx_ams_mp4_init_segment(&cmaf->out, &mp4, 1) != 0) {
        snprintf(cmaf->error, sizeof(cmaf->error), "out of memory");
        return -1;
    }

    ngx_ams_cmaf_init_name(cmaf, kind, cmaf->track[kind].config_version,
                           name, sizeof(name));
    ngx_ams_cmaf_path(cmaf, path, "%s", name);

    if (ngx_ams_file_replace(cmaf->tmp, path, cmaf->out.data, cmaf->out.len,
                             cmaf->io.error, sizeof(cmaf->io.error))
        != 0)
    {
        return 1;
    }

    cmaf->track[kind].init_written = 1;

    return 0;
}


/* muxes the track's samples into a fragment and, unless the segment is
 * lost already, writes it: 0, 1 when the write failed, -1 */

static int
ngx_ams_cmaf_write_fragment(ngx_ams_cmaf_t *cmaf, unsigned kind, int lost)
{
    char                   path[NGX_AMS_SEG_PATH_LEN];
    ngx_ams_mp4_track_t   *mp4;
    ngx_ams_cmaf_track_t  *t;

    t = &cmaf->track[kind];
    mp4 = &t->mp4;

    cmaf->out.len = 0;

    /* a fragment is written whole: its moof lists every sample */
    if (ngx_ams_mp4_fragment(&cmaf->out, &mp4, 1, cmaf->fragments,
                             cmaf->seg.closed_end)
        != 0)
    {
        snprintf(cmaf->error, sizeof(cmaf->error), "out of memory");
        return -1;
    }

    if (lost) {
        return 0;
    }

    /* atomic: a file of that name may remain from an earlier publisher */
    ngx_ams_cmaf_path(cmaf, path, "%s_%llu.m4s", ngx_ams_cmaf_kind[kind],
                      (unsigned long long) t->next_seq);

    if (ngx_ams_file_replace(cmaf->tmp, path, cmaf->out.data, cmaf->out.len,
                             cmaf->io.error, sizeof(cmaf->io.error))
        != 0)
    {
        return 1;
    }

    return 0;
}


/* the fragment written joins the track's window */

static void
ngx_ams_cmaf_list_fragment(ngx_ams_cmaf_t *cmaf, unsigned kind)
{
    char                   path[NGX_AMS_SEG_PATH_LEN];
    uint64_t               bits;
    ngx_ams_segment_t     *seg;
    ngx_ams_mp4_track_t   *mp4;
    ngx_ams_cmaf_track_t  *t;

    t = &cmaf->track[kind];
    mp4 = &t->mp4;

    seg = ngx_ams_segment_list(t->segments, &t->nsegments, cmaf->list_size,
                               &t->discontinuities,
                               cmaf->io.gap || cmaf->config_gap);
    seg->seq = t->next_seq;
    seg->config = t->config_version;
    seg->start = mp4->fragment_start;
    seg->duration = mp4->fragment_duration;

    t->bytes += mp4->fragment_bytes;
    t->duration += mp4->fragment_duration;

    if (mp4->fragment_duration > 0) {
        bits = (uint64_t) mp4->fragment_bytes * 8 * mp4->timescale
               / (uint64_t) mp4->fragment_duration;
        if (bits > t->peak) {
            t->peak = bits;
        }
    }

    t->next_seq++;

    /* the window and NGX_AMS_SEG_KEEP_EXTRA more stay, for slow players */
    if (t->next_seq > cmaf->list_size + NGX_AMS_SEG_KEEP_EXTRA) {
        ngx_ams_cmaf_path(cmaf, path, "%s_%llu.m4s", ngx_ams_cmaf_kind[kind],
                          (unsigned long long) (t->next_seq - 1
                                                - cmaf->list_size
                                                - NGX_AMS_SEG_KEEP_EXTRA));
        (void) unlink(path);
    }
}


/* the playlists and the MPD: 0; 1 when a write failed (all are written
 * again with the next segment); -1 when out of memory */

static int
ngx_ams_cmaf_publish(ngx_ams_cmaf_t *cmaf, int ended)
{
    int  rc, hls, dash;

    hls = (cmaf->outputs & NGX_AMS_CMAF_HLS)
          ? ngx_ams_cmaf_write_hls(cmaf, ended) : 0;
    if (hls == -1) {
        return -1;
    }

    dash = (cmaf->outputs & NGX_AMS_CMAF_DASH)
           ? ngx_ams_cmaf_write_mpd(cmaf, ended) : 0;
    if (dash == -1) {
        return -1;
    }

    rc = hls | dash;

    if (rc) {
        ngx_ams_seg_io_failed(&cmaf->io, 0);
        cmaf->playlists_due = 1;
        return 1;
    }

    cmaf->playlists_due = 0;
    cmaf->io.failing = 0;

    if (cmaf->outputs & NGX_AMS_CMAF_HLS) {
        ngx_ams_cmaf_ll_publish(cmaf, ended);
    }

    return 0;
}


/* a media playlist per track; the master once every track is listed */

static int
ngx_ams_cmaf_write_hls(ngx_ams_cmaf_t *cmaf, int ended)
{
    char                   path[NGX_AMS_SEG_PATH_LEN];
    char                   map[32], prefix[16];
    unsigned               kind;
    ngx_ams_cmaf_track_t  *t;
    ngx_ams_m3u8_media_t   pl;

    for (kind = 0; kind < 2; kind++) {
        t = &cmaf->track[kind];

        if (t->nsegments == 0) {
            continue;
        }

        snprintf(map, sizeof(map), "%s_init.mp4", ngx_ams_cmaf_kind[kind]);
        snprintf(prefix, sizeof(prefix), "%s_", ngx_ams_cmaf_kind[kind]);

        memset(&pl, 0, sizeof(ngx_ams_m3u8_media_t));
        pl.version = 7;
        pl.timescale = t->mp4.timescale;
        pl.target = ngx_ams_mp4_rescale(&t->mp4, cmaf->seg.target);
        pl.map = map;
        pl.prefix = prefix;
        pl.digits = 0;
        pl.suffix = ".m4s";
        pl.ended = ended ? 1 : 0;
        pl.discontinuity_seq = t->discontinuities;
        /* the wall clock of the first frame, as the MPD's
         * availabilityStartTime */
        pl.pdt_ms = cmaf->undated ? 0 : cmaf->available_ms;
        pl.pdt_start = ngx_ams_mp4_rescale(&t->mp4, cmaf->first_dts);
        pl.part_target = cmaf->part_target
                         ? ngx_ams_mp4_rescale(&t->mp4, cmaf->part_target)
                         : 0;
        pl.parts = t->parts;
        pl.nparts = t->nparts;
        pl.open_seq = t->next_seq;
        pl.hint_offset = t->seg_bytes;
        pl.open_discontinuity = cmaf->config_gap;
        pl.open_config = t->config_version;

        cmaf->out.len = 0;

        if (ngx_ams_m3u8_media(&cmaf->out, &pl, t->segments, t->nsegments)
            != 0)
        {
            snprintf(cmaf->error, sizeof(cmaf->error), "out of memory");
            return -1;
        }

        ngx_ams_cmaf_path(cmaf, path, "%s.m3u8", ngx_ams_cmaf_kind[kind]);

        /* readers see the old playlist or the new one, never half of one */
        if (ngx_ams_file_replace(cmaf->tmp, path, cmaf->out.data, cmaf->out.len,
                                 cmaf->io.error, sizeof(cmaf->io.error))
            != 0)
        {
            return 1;
        }
    }

    return cmaf->master_due ? ngx_ams_cmaf_write_master(cmaf) : 0;
}


static int
ngx_ams_cmaf_write_master(ngx_ams_cmaf_t *cmaf)
{
    char                       path[NGX_AMS_SEG_PATH_LEN];
    char                       uri[2][NGX_AMS_SEG_NAME_LEN + 16];
    char                       codecs[2][32];
    unsigned                   kind, due;
    ngx_ams_cmaf_track_t      *t;
    ngx_ams_m3u8_rendition_t   r[2];

    due = 0;

    for (kind = 0; kind < 2; kind++) {
        t = &cmaf->track[kind];

        memset(&r[kind], 0, sizeof(ngx_ams_m3u8_rendition_t));

        if (t->nsegments == 0) {
            /* configured but not in a segment yet: list it later */
            due |= t->mp4.configured;
            continue;
        }

        snprintf(uri[kind], sizeof(uri[kind]), "%s/%s.m3u8", cmaf->name,
                 ngx_ams_cmaf_kind[kind]);
        ngx_ams_mp4_codecs(&t->mp4, codecs[kind], sizeof(codecs[kind]));

        r[kind].uri = uri[kind];
        r[kind].codecs = codecs[kind];
        r[kind].bandwidth = t->peak ? t->peak : 1;
        r[kind].width = t->mp4.width;
        r[kind].height = t->mp4.height;
        r[kind].channels = t->mp4.aac.channels;
    }

    cmaf->out.len = 0;

    if (ngx_ams_m3u8_master(&cmaf->out, &r[NGX_AMS_MP4_VIDEO],
                            &r[NGX_AMS_MP4_AUDIO])
        != 0)
    {
        snprintf(cmaf->error, sizeof(cmaf->error), "out of memory");
        return -1;
    }

    snprintf(path, sizeof(path), "%s/%s.m3u8", cmaf->dir, cmaf->name);

    if (ngx_ams_file_replace(cmaf->tmp, path, cmaf->out.data, cmaf->out.len,
                             cmaf->io.error, sizeof(cmaf->io.error))
        != 0)
    {
        return 1;
    }

    cmaf->master_due = due;

    return 0;
}


static int
ngx_ams_cmaf_write_mpd(ngx_ams_cmaf_t *cmaf, int ended)
{
    char                           path[NGX_AMS_SEG_PATH_LEN];
    int                            rc;
    char                           codecs[2][32], init[2][32], media[2][32];
    size_t                         n;
    unsigned                       kind;
    ngx_ams_mpd_t                  mpd;
    ngx_ams_segment_t             *grow[2], *seg;
    ngx_ams_cmaf_track_t          *t;
    ngx_ams_mpd_representation_t   r[2 + NGX_AMS_CMAF_MAX_RUNGS], *rep;

    n = 0;
    grow[0] = NULL;
    grow[1] = NULL;

    for (kind = 0; kind < 2; kind++) {
        t = &cmaf->track[kind];

        /* the rungs beside the video, in its adaptation set */
        if (kind == NGX_AMS_MP4_AUDIO && cmaf->nadaptive) {
            memcpy(&r[n], cmaf->adaptive, ngx_ams_cmaf_min(cmaf->nadaptive,
                   NGX_AMS_CMAF_MAX_RUNGS) * sizeof(r[0]));
            n += ngx_ams_cmaf_min(cmaf->nadaptive, NGX_AMS_CMAF_MAX_RUNGS);
        }

        if (!t->mp4.configured || t->nsegments == 0
            || (kind == NGX_AMS_MP4_VIDEO && cmaf->adaptive_only
                && cmaf->nadaptive))
        {
            continue;
        }

        rep = &r[n++];
        memset(rep, 0, sizeof(ngx_ams_mpd_representation_t));

        ngx_ams_mp4_codecs(&t->mp4, codecs[kind], sizeof(codecs[kind]));
        ngx_ams_cmaf_init_name(cmaf, kind, t->config_version, init[kind],
                               sizeof(init[kind]));
        snprintf(media[kind], sizeof(media[kind]), "%s_$Number$.m4s",
                 ngx_ams_cmaf_kind[kind]);

        rep->id = ngx_ams_cmaf_kind[kind];
        rep->video = (kind == NGX_AMS_MP4_VIDEO);
        rep->codecs = codecs[kind];
        rep->bandwidth = t->duration > 0
                         ? t->bytes * 8 * t->mp4.timescale
                           / (uint64_t) t->duration
                         : 1;
        rep->width = t->mp4.width;
        rep->height = t->mp4.height;
        rep->sample_rate = t->mp4.aac.sample_rate;
        rep->channels = t->mp4.aac.channels;
        rep->timescale = t->mp4.timescale;
        rep->offset = ngx_ams_mp4_rescale(&t->mp4, cmaf->first_dts);
        rep->init = init[kind];
        rep->media = media[kind];
        rep->segments = t->segments;
        rep->nsegments = t->nsegments;

        /*
         * Low-latency DASH: the segment being written is listed from its
         * first part on, lasting the target (the next MPD says how long
         * it really was); availabilityTimeOffset makes it available a
         * part after it began, and the HLS gate serves it as it grows.
         */
        if (cmaf->part_target && !ended && t->seg_parts && !cmaf->seg_lost) {
            grow[kind] = malloc((t->nsegments + 1)
                                * sizeof(ngx_ams_segment_t));
            if (grow[kind] == NULL) {
                free(grow[0]);
                snprintf(cmaf->error, sizeof(cmaf->error), "out of memory");
                return -1;
            }

            memcpy(grow[kind], t->segments,
                   t->nsegments * sizeof(ngx_ams_segment_t));

            seg = &grow[kind][t->nsegments];
            memset(seg, 0, sizeof(ngx_ams_segment_t));
            seg->seq = t->next_seq;
            seg->start = t->seg_start;
            seg->duration = ngx_ams_mp4_rescale(&t->mp4, cmaf->seg.target);
            if (seg->duration < t->seg_duration) {
                seg->duration = t->seg_duration;
            }

            rep->segments = grow[kind];
            rep->nsegments = t->nsegments + 1;
        }
    }

    memset(&mpd, 0, sizeof(ngx_ams_mpd_t));
    mpd.ended = ended ? 1 : 0;
    mpd.available_ms = cmaf->available_ms;
    mpd.published_ms = ngx_ams_cmaf_now_ms();
    mpd.utc_timing = cmaf->utc_timing;
    mpd.duration_ms = (ngx_ams_segmenter_end(&cmaf->seg) - cmaf->first_dts
                       + NGX_AMS_TIMEBASE / 2000)
                      / (NGX_AMS_TIMEBASE / 1000);
    mpd.segment_ms = cmaf->seg.target / (NGX_AMS_TIMEBASE / 1000);
    mpd.list_size = cmaf->list_size;

    if (cmaf->part_target) {
        /* DASH-IF low-latency: available once its first chunk is, the
         * MPD read again per part, the latency of PART-HOLD-BACK and a
         * part's more for the MPD's age */
        mpd.availability_time_offset = (double) (cmaf->seg.target
                                                 - cmaf->part_target)
                                       / NGX_AMS_TIMEBASE;
        mpd.update_ms = cmaf->part_target / (NGX_AMS_TIMEBASE / 1000);
        mpd.latency_ms = 4 * mpd.update_ms;
    }

    cmaf->out.len = 0;

    rc = ngx_ams_mpd_write(&cmaf->out, &mpd, r, n);

    free(grow[0]);
    free(grow[1]);

    if (rc != 0) {
        snprintf(cmaf->error, sizeof(cmaf->error), "out of memory");
        return -1;
    }

    ngx_ams_cmaf_path(cmaf, path, "%s.mpd", cmaf->name);

    return ngx_ams_file_replace(cmaf->tmp, path, cmaf->out.data, cmaf->out.len,
                                cmaf->io.error, sizeof(cmaf->io.error))
           ? 1 : 0;
}


/* the wall clock the MPD's times are in */

static int64_t
ngx_ams_cmaf_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


int
ngx_ams_cmaf_finish(ngx_ams_cmaf_t *cmaf)
{
    int       rc;
    unsigned  i;

    if (ngx_ams_segmenter_finish(&cmaf->seg)) {
        /* the last segment may be lost, the end is still written */
        if (ngx_ams_cmaf_cut(cmaf) == -1) {
            return -1;
        }

    } else if (cmaf->track[0].nsegments == 0
               && cmaf->track[1].nsegments == 0)
    {
        return 0;
    }

    /* else a configuration change closed the last segment: the end is
     * still written */

    /* without ENDLIST players take the stream for live forever */
    for (i = 0; i < NGX_AMS_SEG_FINAL_TRIES; i++) {
        if (i) {
            usleep(NGX_AMS_SEG_FINAL_WAIT * 1000);
        }

        rc = ngx_ams_cmaf_publish(cmaf, 1);
        if (rc != 1) {
            return rc;
        }
    }

    snprintf(cmaf->error, sizeof(cmaf->error), "playlists not ended: %.3400s",
             cmaf->io.error);

    return -1;
}


static int
ngx_ams_cmaf_newer(const char *path, time_t not_after)
{
    struct stat  sb;

    return stat(path, &sb) == 0 && sb.st_mtime > not_after;
}


/* removes what this stream wrote, unless a newer publisher rewrote it */

void
ngx_ams_cmaf_remove(ngx_ams_cmaf_t *cmaf, time_t not_after)
{
    char                   path[NGX_AMS_SEG_PATH_LEN];
    unsigned               kind;
    uint64_t               seq, from;
    ngx_ams_cmaf_track_t  *t;

    if (cmaf->outputs & NGX_AMS_CMAF_HLS) {
        snprintf(path, sizeof(path), "%s/%s.m3u8", cmaf->dir, cmaf->name);

        if (!ngx_ams_cmaf_newer(path, not_after)) {
            (void) unlink(path);
        }
    }

    /* a newer publisher owns the directory once it rewrote a manifest */
    ngx_ams_cmaf_path(cmaf, path, "%s.mpd", cmaf->name);
    if (ngx_ams_cmaf_newer(path, not_after)) {
        return;
    }

    for (kind = 0; kind < 2; kind++) {
        ngx_ams_cmaf_path(cmaf, path, "%s.m3u8", ngx_ams_cmaf_kind[kind]);
        if (ngx_ams_cmaf_newer(path, not_after)) {
            return;
        }
    }

    ngx_ams_cmaf_path(cmaf, path, "%s.mpd", cmaf->name);
    (void) unlink(path);

    for (kind = 0; kind < 2; kind++) {
        t = &cmaf->track[kind];

        ngx_ams_cmaf_path(cmaf, path, "%s.m3u8", ngx_ams_cmaf_kind[kind]);
        (void) unlink(path);

        from = t->next_seq > cmaf->list_size + NGX_AMS_SEG_KEEP_EXTRA
               ? t->next_seq - cmaf->list_size - NGX_AMS_SEG_KEEP_EXTRA : 0;

        for (seq = from; seq < t->next_seq; seq++) {
            ngx_ams_cmaf_path(cmaf, path, "%s_%llu.m4s",
                              ngx_ams_cmaf_kind[kind],
                              (unsigned long long) seq);
            (void) unlink(path);
        }

        ngx_ams_cmaf_path(cmaf, path, "%s_init.mp4", ngx_ams_cmaf_kind[kind]);
        (void) unlink(path);

        for (seq = 1; seq <= t->config_version; seq++) {
            ngx_ams_cmaf_path(cmaf, path, "%s_init_%u.mp4",
                              ngx_ams_cmaf_kind[kind], (unsigned) seq);
            (void) unlink(path);
        }
    }

    ngx_ams_cmaf_path(cmaf, path, "%s", "");
    (void) rmdir(path);
}


void
ngx_ams_cmaf_close(ngx_ams_cmaf_t *cmaf)
{
    unsigned  i;

    for (i = 0; i < 2; i++) {
        if (cmaf->track[i].fd_open) {
            (void) close(cmaf->track[i].fd);
            cmaf->track[i].fd_open = 0;
        }

        ngx_ams_mp4_track_free(&cmaf->track[i].mp4);
        free(cmaf->track[i].segments);
        cmaf->track[i].segments = NULL;
        free(cmaf->track[i].parts);
        cmaf->track[i].parts = NULL;
        cmaf->track[i].nparts = 0;
        cmaf->track[i].parts_cap = 0;
    }

    ngx_ams_buf_free(&cmaf->out);
}
