
/*
 * Copyright (C) nginx-ams authors
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ngx_ams_adaptive.h"
#include "ngx_ams_avc.h"
#include "ngx_ams_file.h"
#include "ngx_ams_m3u8.h"
#include "ngx_ams_text.h"


/* what a sample costs in its container beyond its bytes, roughly: a trun
 * entry in fMP4; MPEG-TS adds its packet headers on top (TS_OVERHEAD) */
#define NGX_AMS_ADAPTIVE_SAMPLE_COST   16
#define NGX_AMS_ADAPTIVE_TS_OVERHEAD   108     /* percent */

/* a bit rate that moved this much (percent) since the master stated it
 * makes the master be written again */
#define NGX_AMS_ADAPTIVE_DRIFT         10


struct ngx_ams_adaptive_group_s {
    const void                *app;
    char                       id[NGX_AMS_SEG_NAME_LEN];
    ngx_ams_adaptive_t        *parent;
    ngx_ams_adaptive_t        *rungs;
    unsigned                   version;
    ngx_ams_adaptive_group_t  *next;
};


/* this worker's groups: only its event loop touches them */
static ngx_ams_adaptive_group_t  *ngx_ams_adaptive_groups;


static ngx_ams_adaptive_group_t *ngx_ams_adaptive_group(const void *app,
    const char *id, size_t len);
static unsigned ngx_ams_adaptive_fps(uint64_t frames, int64_t span);
static int ngx_ams_adaptive_moved(const ngx_ams_adaptive_info_t *now,
    const ngx_ams_adaptive_info_t *stated);
static size_t ngx_ams_adaptive_rungs(ngx_ams_adaptive_group_t *g,
    ngx_ams_adaptive_t **out);
static void ngx_ams_adaptive_reps(ngx_ams_adaptive_t *a,
    ngx_ams_cmaf_t *cmaf, ngx_ams_adaptive_t **rungs, size_t n);


int
ngx_ams_adaptive_open(ngx_ams_adaptive_t *a, const void *app,
    const char *dir, const char *tmp, const char *name, const char *parent,
    size_t parent_len, unsigned height, unsigned kbps, unsigned seg_ms,
    unsigned list_size, unsigned outputs, int original)
{
    ngx_ams_adaptive_group_t  *g;

    memset(a, 0, sizeof(ngx_ams_adaptive_t));

    snprintf(a->dir, sizeof(a->dir), "%s", dir);
    snprintf(a->tmp, sizeof(a->tmp), "%s", tmp);
    snprintf(a->name, sizeof(a->name), "%s", name);

    ngx_ams_segmenter_init(&a->stats.seg, seg_ms);
    a->outputs = outputs;
    a->list_size = list_size == 0 ? 1
                   : list_size > NGX_AMS_SEG_MAX_LIST ? NGX_AMS_SEG_MAX_LIST
                   : list_size;
    a->original = original ? 1 : 0;
    a->rung = (parent != NULL);
    a->height = height;
    a->kbps = kbps;

    if (a->rung && (outputs & NGX_AMS_ADAPTIVE_DASH)) {
        a->timeline = calloc(a->list_size, sizeof(ngx_ams_segment_t));
        if (a->timeline == NULL) {
            return -1;
        }
    }

    g = a->rung ? ngx_ams_adaptive_group(app, parent, parent_len)
                : ngx_ams_adaptive_group(app, name, strlen(name));
    if (g == NULL) {
        free(a->timeline);
        a->timeline = NULL;
        return -1;
    }

    if (a->rung) {
        a->next = g->rungs;
        g->rungs = a;

    } else {
        /* a new publish of the name while the last one still closes */
        g->parent = a;
    }

    a->group = g;
    g->version++;

    return 0;
}


static ngx_ams_adaptive_group_t *
ngx_ams_adaptive_group(const void *app, const char *id, size_t len)
{
    ngx_ams_adaptive_group_t  *g;

    if (len >= NGX_AMS_SEG_NAME_LEN) {
        return NULL;
    }

    for (g = ngx_ams_adaptive_groups; g; g = g->next) {
        if (g->app == app && strlen(g->id) == len
            && memcmp(g->id, id, len) == 0)
        {
            return g;
        }
    }

    g = calloc(1, sizeof(ngx_ams_adaptive_group_t));
    if (g == NULL) {
        return NULL;
    }

    g->app = app;
    memcpy(g->id, id, len);
    g->next = ngx_ams_adaptive_groups;
    ngx_ams_adaptive_groups = g;

    return g;
}


void
ngx_ams_adaptive_config(ngx_ams_adaptive_t *a, unsigned track,
    unsigned codec, const uint8_t *data, size_t len)
{
    const char                *err;
    ngx_ams_avc_config_t       avc;
    ngx_ams_adaptive_stats_t  *s = &a->stats;

    if (track == NGX_AMS_TRACK_VIDEO && codec == NGX_AMS_CODEC_H264
        && len >= 4)
    {
        /* avcC: version, profile, compatibility, level */
        snprintf(s->codecs[0], sizeof(s->codecs[0]), "avc1.%02x%02x%02x",
                 data[1], data[2], data[3]);

        if (ngx_ams_avc_parse_config(data, len, &avc, &err) == 0) {
            s->width = avc.width;
            s->height = avc.height;
        }

    } else if (track == NGX_AMS_TRACK_AUDIO && codec == NGX_AMS_CODEC_AAC
               && len >= 2)
    {
        /* AudioSpecificConfig: 5 bits of object type, 4 of rate index,
         * 4 of channels */
        snprintf(s->codecs[1], sizeof(s->codecs[1]), "mp4a.40.%u",
                 (unsigned) (data[0] >> 3));
        s->channels = (data[1] >> 3) & 0x0f;

    } else if (track == NGX_AMS_TRACK_AUDIO && codec == NGX_AMS_CODEC_OPUS
               && len >= 10)
    {
        /* OpusHead: magic, version, then the channel count */
        snprintf(s->codecs[1], sizeof(s->codecs[1]), "opus");
        s->channels = data[9];
    }
}


void
ngx_ams_adaptive_frame(ngx_ams_adaptive_t *a, const ngx_ams_frame_t *f)
{
    int64_t                    d;
    uint64_t                   bits;
    unsigned                   t;
    ngx_ams_adaptive_stats_t  *s = &a->stats;

    t = f->track;

    if ((t != NGX_AMS_TRACK_VIDEO && t != NGX_AMS_TRACK_AUDIO)
        || s->codecs[t][0] == '\0')
    {
        return;
    }

    switch (ngx_ams_segmenter_frame(&s->seg, f, s->codecs[0][0] != '\0')) {

    case NGX_AMS_SEG_DROP:
        return;

    case NGX_AMS_SEG_CUT:
        d = s->seg.closed_end - s->seg.closed_start;

        if (d > 0) {
            bits = (s->open_bytes[0] + s->open_bytes[1]) * 8
                   * NGX_AMS_TIMEBASE / (uint64_t) d;
            s->peak_all = bits > s->peak_all ? bits : s->peak_all;

            bits = s->open_bytes[0] * 8 * NGX_AMS_TIMEBASE / (uint64_t) d;
            s->peak[0] = bits > s->peak[0] ? bits : s->peak[0];

            bits = s->open_bytes[1] * 8 * NGX_AMS_TIMEBASE / (uint64_t) d;
            s->peak[1] = bits > s->peak[1] ? bits : s->peak[1];

            s->bytes[0] += s->open_bytes[0];
            s->bytes[1] += s->open_bytes[1];
            s->duration += d;
        }

        s->open_bytes[0] = 0;
        s->open_bytes[1] = 0;
        break;
    }

    s->open_bytes[t] += f->size + NGX_AMS_ADAPTIVE_SAMPLE_COST;

    if (t == NGX_AMS_TRACK_VIDEO) {
        if (s->frames++ == 0) {
            s->first_dts = f->dts;
        }

        s->last_dts = f->dts;
    }
}


/* frames per 1000 s, on the usual rates when that close to one */

static unsigned
ngx_ams_adaptive_fps(uint64_t frames, int64_t span)
{
    uint64_t   fps, c, d, best, best_d;
    unsigned   i;
    static const unsigned  common[] = {
        23976, 24000, 25000, 29970, 30000, 48000, 50000, 59940, 60000
    };

    if (frames < 2 || span <= 0) {
        return 0;
    }

    fps = (frames - 1) * NGX_AMS_TIMEBASE * 1000 / (uint64_t) span;

    best = 0;
    best_d = UINT64_MAX;

    for (i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
        c = common[i];
        d = fps > c ? fps - c : c - fps;

        if (d <= c / 200 && d < best_d) {
            best = c;
            best_d = d;
        }
    }

    return best ? (unsigned) best : (unsigned) ((fps + 500) / 1000 * 1000);
}


static int
ngx_ams_adaptive_moved(const ngx_ams_adaptive_info_t *now,
    const ngx_ams_adaptive_info_t *stated)
{
    uint64_t  a, b;

    if (now->ready != stated->ready || now->width != stated->width
        || now->height != stated->height
        || now->fps_milli != stated->fps_milli
        || memcmp(now->codecs, stated->codecs, sizeof(now->codecs)) != 0)
    {
        return 1;
    }

    a = now->peak_all;
    b = stated->peak_all;

    return a * 100 > b * (100 + NGX_AMS_ADAPTIVE_DRIFT)
           || a * (100 + NGX_AMS_ADAPTIVE_DRIFT) < b * 100;
}


void
ngx_ams_adaptive_update(ngx_ams_adaptive_t *a, const ngx_ams_cmaf_t *cmaf)
{
    unsigned                        t;
    const ngx_ams_cmaf_track_t     *v;
    ngx_ams_adaptive_info_t        *i = &a->info;
    const ngx_ams_adaptive_stats_t *s = &a->stats;

    memcpy(i->codecs, s->codecs, sizeof(i->codecs));
    i->width = s->width;
    i->height = s->height;
    i->channels = s->channels;
    i->fps_milli = ngx_ams_adaptive_fps(s->frames, s->last_dts - s->first_dts);
    i->peak[0] = s->peak[0];
    i->peak[1] = s->peak[1];
    i->peak_all = s->peak_all;
    i->ready = (s->duration > 0);

    for (t = 0; t < 2; t++) {
        i->average[t] = s->duration > 0
                        ? s->bytes[t] * 8 * NGX_AMS_TIMEBASE
                          / (uint64_t) s->duration
                        : 0;
    }

    if (a->group && ngx_ams_adaptive_moved(i, &a->stated)) {
        a->group->version++;
    }

    /* the video timeline, for the parent's MPD */
    if (!a->rung || a->timeline == NULL || cmaf == NULL) {
        return;
    }

    v = &cmaf->track[NGX_AMS_MP4_VIDEO];

    if (!v->mp4.configured || v->nsegments == 0 || v->mp4.config_len < 4) {
        a->ntimeline = 0;
        return;
    }

    a->ntimeline = v->nsegments < a->list_size ? v->nsegments : a->list_size;
    memcpy(a->timeline, v->segments + (v->nsegments - a->ntimeline),
           a->ntimeline * sizeof(ngx_ams_segment_t));
    a->timescale = v->mp4.timescale;
    a->width = v->mp4.width;
    a->height_px = v->mp4.height;
    a->bandwidth = v->duration > 0
                   ? v->bytes * 8 * v->mp4.timescale / (uint64_t) v->duration
                   : 1;
    snprintf(a->vcodecs, sizeof(a->vcodecs), "avc1.%02x%02x%02x",
             v->mp4.config[1], v->mp4.config[2], v->mp4.config[3]);
}


/* the group's rungs that have been measured, tallest first */

static size_t
ngx_ams_adaptive_rungs(ngx_ams_adaptive_group_t *g, ngx_ams_adaptive_t **out)
{
    size_t               n, i;
    ngx_ams_adaptive_t  *r, *x;

    n = 0;

    for (r = g->rungs; r; r = r->next) {
        if (!r->info.ready || n == NGX_AMS_ADAPTIVE_MAX) {
            continue;
        }

        for (i = n++; i > 0 && out[i - 1]->height < r->height; i--) {
            x = out[i - 1];
            out[i] = x;
        }

        out[i] = r;
    }

    return n;
}


void
ngx_ams_adaptive_prepare(ngx_ams_adaptive_t *a, ngx_ams_cmaf_t *cmaf)
{
    int                       rc;
    size_t                    n, i;
    const char               *names[NGX_AMS_ADAPTIVE_MAX];
    ngx_ams_adaptive_t       *rungs[NGX_AMS_ADAPTIVE_MAX];
    ngx_ams_adaptive_info_t   infos[NGX_AMS_ADAPTIVE_MAX];
    ngx_ams_adaptive_group_t *g = a->group;

    if (g == NULL || a->rung || g->parent != a) {
        return;
    }

    n = ngx_ams_adaptive_rungs(g, rungs);

    if ((a->outputs & (NGX_AMS_ADAPTIVE_TS | NGX_AMS_ADAPTIVE_FMP4))
        && a->version != g->version && !a->master_due
        && (n > 0 || a->listed))
    {
        memset(names, 0, sizeof(names));
        memset(infos, 0, sizeof(infos));

        for (i = 0; i < n; i++) {
            names[i] = rungs[i]->name;
            infos[i] = rungs[i]->info;
        }

        a->master.len = 0;

        rc = ngx_ams_adaptive_master(&a->master, a->name, &a->info,
                                     a->original, names, infos, n,
                                     a->outputs);
        if (rc == 0) {
            a->master_due = 1;
            a->listed = 1;
            a->stated = a->info;

            for (i = 0; i < n; i++) {
                rungs[i]->stated = rungs[i]->info;
            }
        }

        /* 1: nothing measured yet, the next update tells */
        if (rc != -1) {
            a->version = g->version;
        }
    }

    if ((a->outputs & NGX_AMS_ADAPTIVE_DASH) && cmaf) {
        ngx_ams_adaptive_reps(a, cmaf, rungs, n);
    }
}


/* the rungs' video representations in the parent's MPD: each its own
 * timeline, presentation time 0 where the parent's begins (the rungs'
 * timestamps are the parent's) */

static void
ngx_ams_adaptive_reps(ngx_ams_adaptive_t *a, ngx_ams_cmaf_t *cmaf,
    ngx_ams_adaptive_t **rungs, size_t n)
{
    size_t                         i, k, m;
    ngx_ams_adaptive_t            *r;
    ngx_ams_adaptive_view_t       *view;
    ngx_ams_mpd_representation_t  *rep;

    k = 0;

    for (i = 0; i < n; i++) {
        r = rungs[i];

        if (r->ntimeline == 0) {
            continue;
        }

        view = &a->views[k];

        if (view->segments == NULL) {
            view->segments = calloc(a->list_size, sizeof(ngx_ams_segment_t));
            if (view->segments == NULL) {
                break;
            }
        }

        m = r->ntimeline < a->list_size ? r->ntimeline : a->list_size;
        memcpy(view->segments, r->timeline + (r->ntimeline - m),
               m * sizeof(ngx_ams_segment_t));
        snprintf(view->id, sizeof(view->id), "%s", r->name);
        snprintf(view->codecs, sizeof(view->codecs), "%s", r->vcodecs);
        snprintf(view->init, sizeof(view->init), "../%s/video_init.mp4",
                 r->name);
        snprintf(view->media, sizeof(view->media),
                 "../%s/video_$Number$.m4s", r->name);

        rep = &a->reps[k++];
        memset(rep, 0, sizeof(ngx_ams_mpd_representation_t));

        rep->id = view->id;
        rep->video = 1;
        rep->codecs = view->codecs;
        rep->bandwidth = r->bandwidth;
        rep->width = r->width;
        rep->height = r->height_px;
        rep->timescale = r->timescale;
        rep->offset = cmaf->first_dts * (int64_t) r->timescale
                      / NGX_AMS_TIMEBASE;
        rep->init = view->init;
        rep->media = view->media;
        rep->segments = view->segments;
        rep->nsegments = m;

        switch (r->info.fps_milli) {
        case 23976:
        case 29970:
        case 59940:
            rep->fps_num = (r->info.fps_milli + 24) / 1000 * 1000;
            rep->fps_den = 1001;
            break;
        default:
            rep->fps_num = r->info.fps_milli % 1000 ? r->info.fps_milli
                                                    : r->info.fps_milli / 1000;
            rep->fps_den = r->info.fps_milli % 1000 ? 1000 : 1;
        }
    }

    cmaf->adaptive = k ? a->reps : NULL;
    cmaf->nadaptive = k;
    cmaf->adaptive_only = (k && !a->original);
}


/*
 * The variants: the original (when listed and measured) and the rungs,
 * the highest bit rate first.  fMP4 variants are video playlists that
 * play the original's audio rendition, so their bit rates and codecs
 * count that audio; MPEG-TS variants carry their own audio, and the
 * container's packets on top.  1 when there is nothing to list.
 */

int
ngx_ams_adaptive_master(ngx_ams_buf_t *out, const char *parent,
    const ngx_ams_adaptive_info_t *parent_info, int original,
    const char *const *rungs, const ngx_ams_adaptive_info_t *infos,
    size_t n, unsigned outputs)
{
    int                              fmp4;
    char                             uri[NGX_AMS_ADAPTIVE_MAX + 1][
                                         NGX_AMS_SEG_NAME_LEN + 16];
    char                             codecs[NGX_AMS_ADAPTIVE_MAX + 1][72];
    char                             audio_uri[NGX_AMS_SEG_NAME_LEN + 16];
    size_t                           i, k, j;
    const char                      *name;
    ngx_ams_m3u8_variant_t           v[NGX_AMS_ADAPTIVE_MAX + 1], x;
    ngx_ams_m3u8_rendition_t         audio;
    const ngx_ams_adaptive_info_t   *in;

    fmp4 = (outputs & NGX_AMS_ADAPTIVE_FMP4) != 0;

    memset(&audio, 0, sizeof(ngx_ams_m3u8_rendition_t));

    if (fmp4 && parent_info->ready && parent_info->codecs[1][0]) {
        snprintf(audio_uri, sizeof(audio_uri), "%s/audio.m3u8", parent);
        audio.uri = audio_uri;
        audio.codecs = parent_info->codecs[1];
        audio.channels = parent_info->channels;
    }

    k = 0;

    for (i = 0; i <= n && k <= NGX_AMS_ADAPTIVE_MAX; i++) {
        if (i == 0) {
            if (!original || !parent_info->ready) {
                continue;
            }

            name = parent;
            in = parent_info;

        } else {
            name = rungs[i - 1];
            in = &infos[i - 1];

            if (!in->ready) {
                continue;
            }
        }

        memset(&v[k], 0, sizeof(ngx_ams_m3u8_variant_t));

        if (fmp4) {
            if (in->codecs[0][0] == '\0') {
                continue;
            }

            snprintf(uri[k], sizeof(uri[k]), "%s/video.m3u8", name);
            snprintf(codecs[k], sizeof(codecs[k]), "%s%s%s", in->codecs[0],
                     audio.uri ? "," : "", audio.uri ? audio.codecs : "");
            v[k].bandwidth = in->peak[0]
                             + (audio.uri ? parent_info->peak[1] : 0);
            v[k].average = in->average[0]
                           + (audio.uri ? parent_info->average[1] : 0);

        } else {
            snprintf(uri[k], sizeof(uri[k]), "%s.m3u8", name);
            snprintf(codecs[k], sizeof(codecs[k]), "%s%s%s", in->codecs[0],
                     in->codecs[0][0] && in->codecs[1][0] ? "," : "",
                     in->codecs[1]);
            v[k].bandwidth = in->peak_all * NGX_AMS_ADAPTIVE_TS_OVERHEAD
                             / 100;
            v[k].average = (in->average[0] + in->average[1])
                           * NGX_AMS_ADAPTIVE_TS_OVERHEAD / 100;
        }

        v[k].uri = uri[k];
        v[k].codecs = codecs[k];
        v[k].bandwidth = v[k].bandwidth ? v[k].bandwidth : 1;
        v[k].width = in->width;
        v[k].height = in->height;
        v[k].fps_milli = in->fps_milli;
        k++;
    }

    if (k == 0) {
        return 1;
    }

    /* the highest first; the strings stay where they are */
    for (i = 1; i < k; i++) {
        x = v[i];

        for (j = i; j > 0 && v[j - 1].bandwidth < x.bandwidth; j--) {
            v[j] = v[j - 1];
        }

        v[j] = x;
    }

    return ngx_ams_m3u8_variants(out, v, k, &audio);
}


int
ngx_ams_adaptive_write(ngx_ams_adaptive_t *a)
{
    char  path[NGX_AMS_SEG_PATH_LEN];

    if (!a->master_due) {
        return 0;
    }

    snprintf(path, sizeof(path), "%s/%s_adaptive.m3u8", a->dir, a->name);

    if (ngx_ams_file_replace(a->tmp, path, a->master.data, a->master.len,
                             a->error, sizeof(a->error))
        != 0)
    {
        return 1;
    }

    a->master_due = 0;

    return 0;
}


void
ngx_ams_adaptive_remove(ngx_ams_adaptive_t *a, time_t not_after)
{
    char         path[NGX_AMS_SEG_PATH_LEN];
    struct stat  sb;

    if (a->rung || !a->listed) {
        return;
    }

    snprintf(path, sizeof(path), "%s/%s_adaptive.m3u8", a->dir, a->name);

    /* a newer publisher's */
    if (stat(path, &sb) == 0 && sb.st_mtime > not_after) {
        return;
    }

    (void) unlink(path);
}


void
ngx_ams_adaptive_leave(ngx_ams_adaptive_t *a)
{
    ngx_ams_adaptive_t         **r;
    ngx_ams_adaptive_group_t    *g, **gp;

    g = a->group;

    if (g == NULL) {
        return;
    }

    a->group = NULL;
    g->version++;

    if (g->parent == a) {
        g->parent = NULL;
    }

    for (r = &g->rungs; *r; r = &(*r)->next) {
        if (*r == a) {
            *r = a->next;
            break;
        }
    }

    a->next = NULL;

    if (g->parent || g->rungs) {
        return;
    }

    for (gp = &ngx_ams_adaptive_groups; *gp; gp = &(*gp)->next) {
        if (*gp == g) {
            *gp = g->next;
            break;
        }
    }

    free(g);
}


void
ngx_ams_adaptive_close(ngx_ams_adaptive_t *a)
{
    size_t  i;

    ngx_ams_adaptive_leave(a);

    free(a->timeline);
    a->timeline = NULL;

    for (i = 0; i < NGX_AMS_ADAPTIVE_MAX; i++) {
        free(a->views[i].segments);
        a->views[i].segments = NULL;
    }

    ngx_ams_buf_free(&a->master);
}
