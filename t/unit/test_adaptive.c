
/*
 * Copyright (C) nginx-ams authors
 *
 * The adaptive output (ngx_ams_adaptive.c): what a stream's task
 * measures of it (codecs, size, frame rate, peak and average bit rates),
 * the master playlist's text for MPEG-TS and fMP4 variants against
 * t/unit/golden/, the group of a stream and its rungs (a rung joining,
 * one leaving, the original left out), and the MPD with one video
 * representation per rung.
 *
 * AMS_GOLDEN_UPDATE=1 rewrites the golden files instead of comparing.
 */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "ngx_ams_adaptive.h"
#include "ngx_ams_m3u8.h"
#include "ngx_ams_mpd.h"
#include "ngx_ams_text.h"


/* avcC of a 160x96 baseline picture (level 1.1), as x264 wrote it */
static const uint8_t  avcc[] = {
    0x01, 0x42, 0xc0, 0x0b, 0xff, 0xe1, 0x00, 0x16,
    0x67, 0x42, 0xc0, 0x0b, 0xdc, 0x28, 0xdb, 0x01, 0x10, 0x00, 0x00, 0x03,
    0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0xb8,
    0x01, 0x00, 0x04, 0x68, 0xce, 0x0f, 0xc8
};

/* AAC-LC, 44.1 kHz, stereo */
static const uint8_t  asc[] = { 0x12, 0x10 };

static const char    *golden_dir;

#define is_str(got, want, ...)                                               \
    do {                                                                     \
        if (!tap_ok(strcmp((got), (want)) == 0, __FILE__, __LINE__,          \
                    __VA_ARGS__))                                            \
        {                                                                    \
            printf("#   got \"%s\", expected \"%s\"\n", (got), (want));    \
        }                                                                    \
    } while (0)

static int            app;            /* an application, by address */


static int
golden(const char *name, const ngx_ams_buf_t *text)
{
    int     same;
    char    path[1024], want[65536];
    FILE   *f;
    size_t  n;

    snprintf(path, sizeof(path), "%s/%s", golden_dir, name);

    if (getenv("AMS_GOLDEN_UPDATE")) {
        f = fopen(path, "wb");
        if (f == NULL) {
            return 0;
        }
        fwrite(text->data, 1, text->len, f);
        fclose(f);
        return 1;
    }

    f = fopen(path, "rb");
    if (f == NULL) {
        printf("# cannot read %s\n", path);
        return 0;
    }

    n = fread(want, 1, sizeof(want), f);
    fclose(f);

    same = (n == text->len && memcmp(want, text->data, n) == 0);

    if (!same) {
        printf("# %s differs; got:\n%.*s", name, (int) text->len,
               (const char *) text->data);
    }

    return same;
}


/* "seconds" of 30 fps video (a keyframe every 2 s, key_bytes then
 * bytes a frame) and AAC (1024 samples at 44.1 kHz, 200 bytes) */
static void
feed(ngx_ams_adaptive_t *a, int seconds, uint32_t key_bytes,
    uint32_t bytes)
{
    int              i;
    int64_t          vdts, adts, end;
    ngx_ams_frame_t  f;

    ngx_ams_adaptive_config(a, NGX_AMS_TRACK_VIDEO, NGX_AMS_CODEC_H264, avcc,
                            sizeof(avcc));
    ngx_ams_adaptive_config(a, NGX_AMS_TRACK_AUDIO, NGX_AMS_CODEC_AAC, asc,
                            sizeof(asc));

    end = (int64_t) seconds * 90000;
    adts = 0;

    for (i = 0, vdts = 0; vdts < end; i++, vdts = (int64_t) i * 3000) {
        while (adts <= vdts) {
            memset(&f, 0, sizeof(f));
            f.track = NGX_AMS_TRACK_AUDIO;
            f.codec = NGX_AMS_CODEC_AAC;
            f.dts = adts;
            f.size = 200;
            f.flags = NGX_AMS_FRAME_KEY;
            ngx_ams_adaptive_frame(a, &f);
            adts += 1024 * 90000 / 44100;
        }

        memset(&f, 0, sizeof(f));
        f.track = NGX_AMS_TRACK_VIDEO;
        f.codec = NGX_AMS_CODEC_H264;
        f.dts = vdts;
        f.flags = (i % 60 == 0) ? NGX_AMS_FRAME_KEY : 0;
        f.size = (i % 60 == 0) ? key_bytes : bytes;
        ngx_ams_adaptive_frame(a, &f);
    }
}


static void
test_stats(void)
{
    ngx_ams_adaptive_t  *a;

    a = calloc(1, sizeof(ngx_ams_adaptive_t));

    ok(ngx_ams_adaptive_open(a, &app, "/d", "/t", "s", NULL, 0, 0, 0, 2000,
                             5, NGX_AMS_ADAPTIVE_TS, 1)
       == 0, "a stream opens its group");

    ngx_ams_adaptive_update(a, NULL);
    ok(!a->info.ready, "nothing measured before a segment closed");

    feed(a, 7, 20000, 5000);
    ngx_ams_adaptive_update(a, NULL);

    ok(a->info.ready, "measured once a segment closed");
    is_str(a->info.codecs[0], "avc1.42c00b", "video codec from the avcC");
    is_str(a->info.codecs[1], "mp4a.40.2", "audio codec from the ASC");
    is_int(a->info.width, 160, "width from the SPS");
    is_int(a->info.height, 96, "height");
    is_int(a->info.channels, 2, "channels");
    is_int(a->info.fps_milli, 30000, "30 fps");

    /* a 2 s segment: 20016 + 59 * 5016 bytes of video */
    is_int(a->info.peak[0], (20016 + 59 * 5016) * 8 / 2,
           "video peak: the busiest segment's bits per second");
    ok(a->info.average[0] == a->info.peak[0],
       "average of equal segments is their rate");
    ok(a->info.peak_all > a->info.peak[0], "the peak of both tracks");

    ngx_ams_adaptive_close(a);
    free(a);
}


static void
info(ngx_ams_adaptive_info_t *i, unsigned w, unsigned h, uint64_t video,
    uint64_t audio)
{
    memset(i, 0, sizeof(ngx_ams_adaptive_info_t));
    snprintf(i->codecs[0], sizeof(i->codecs[0]), "avc1.64001f");
    snprintf(i->codecs[1], sizeof(i->codecs[1]), "mp4a.40.2");
    i->width = w;
    i->height = h;
    i->channels = 2;
    i->fps_milli = 29970;
    i->peak[0] = video * 5 / 4;
    i->peak[1] = audio;
    i->peak_all = i->peak[0] + audio;
    i->average[0] = video;
    i->average[1] = audio;
    i->ready = 1;
}


static void
test_master(void)
{
    ngx_ams_buf_t             out = { NULL, 0, 0 };
    ngx_ams_adaptive_info_t   parent, rungs[3];
    static const char        *names[] = {
        "cam_360p500kbps", "cam_720p2000kbps", "cam_480p800kbps"
    };

    info(&parent, 1920, 1080, 4000000, 128000);
    info(&rungs[0], 640, 360, 500000, 128000);
    info(&rungs[1], 1280, 720, 2000000, 128000);
    info(&rungs[2], 854, 480, 800000, 128000);

    ok(ngx_ams_adaptive_master(&out, "cam", &parent, 1, names, rungs, 3,
                               NGX_AMS_ADAPTIVE_TS)
       == 0 && golden("adaptive_ts.m3u8", &out),
       "MPEG-TS: {rung}.m3u8 variants with their own audio, the original "
       "on top, the highest bit rate first");

    out.len = 0;
    ok(ngx_ams_adaptive_master(&out, "cam", &parent, 1, names, rungs, 3,
                               NGX_AMS_ADAPTIVE_FMP4 | NGX_AMS_ADAPTIVE_DASH)
       == 0 && golden("adaptive_fmp4.m3u8", &out),
       "fMP4: {rung}/video.m3u8 variants sharing the original's audio "
       "rendition, its bit rate and codec counted in each");

    out.len = 0;
    rungs[2].ready = 0;
    ok(ngx_ams_adaptive_master(&out, "cam", &parent, 0, names, rungs, 3,
                               NGX_AMS_ADAPTIVE_TS)
       == 0 && golden("adaptive_no_original.m3u8", &out),
       "adaptive_original off: rungs only; a rung not measured yet waits");

    out.len = 0;
    rungs[0].ready = 0;
    rungs[1].ready = 0;
    is_int(ngx_ams_adaptive_master(&out, "cam", &parent, 0, names, rungs, 3,
                                   NGX_AMS_ADAPTIVE_TS),
           1, "nothing to list: no master");

    ngx_ams_buf_free(&out);
}


/* a CMAF writer's state as its task leaves it: a video track with two
 * segments from "first" (90 kHz) */
static void
fake_cmaf(ngx_ams_cmaf_t *c, ngx_ams_segment_t *segs, int64_t first,
    uint64_t seq, unsigned w, unsigned h)
{
    ngx_ams_cmaf_track_t  *t = &c->track[NGX_AMS_MP4_VIDEO];

    memset(c, 0, sizeof(ngx_ams_cmaf_t));
    memcpy(t->mp4.config, avcc, sizeof(avcc));
    t->mp4.config_len = sizeof(avcc);
    t->mp4.configured = 1;
    t->mp4.timescale = 90000;
    t->mp4.width = w;
    t->mp4.height = h;
    t->bytes = 500000;
    t->duration = 360000;

    segs[0].seq = seq;
    segs[0].start = first;
    segs[0].duration = 180000;
    segs[1].seq = seq + 1;
    segs[1].start = first + 180000;
    segs[1].duration = 180000;
    t->segments = segs;
    t->nsegments = 2;
    c->first_dts = first;
}


static void
test_group(void)
{
    size_t                         n;
    ngx_ams_buf_t                  out = { NULL, 0, 0 }, text = { NULL, 0, 0 };
    ngx_ams_mpd_t                  mpd;
    ngx_ams_cmaf_t                *pc, *rc;
    ngx_ams_segment_t              psegs[2], rsegs[2][2];
    ngx_ams_adaptive_t            *p, *r1, *r2, *other;
    ngx_ams_mpd_representation_t   reps[2 + NGX_AMS_CMAF_MAX_RUNGS];
    static const ngx_ams_segment_t  as[] = {
        { 7, 573440, 88064, 0, 0 }, { 8, 661504, 88064, 0, 0 }
    };

    p = calloc(1, sizeof(ngx_ams_adaptive_t));
    r1 = calloc(1, sizeof(ngx_ams_adaptive_t));
    r2 = calloc(1, sizeof(ngx_ams_adaptive_t));
    other = calloc(1, sizeof(ngx_ams_adaptive_t));
    pc = calloc(1, sizeof(ngx_ams_cmaf_t));
    rc = calloc(1, sizeof(ngx_ams_cmaf_t));

    ok(ngx_ams_adaptive_open(p, &app, "/d", "/t", "cam", NULL, 0, 0, 0, 2000,
                             4, NGX_AMS_ADAPTIVE_FMP4 | NGX_AMS_ADAPTIVE_DASH,
                             1)
       == 0, "the parent opens");
    ok(ngx_ams_adaptive_open(other, &golden_dir, "/d", "/t", "cam_360p500kbps",
                             "cam", 3, 360, 500, 2000, 4,
                             NGX_AMS_ADAPTIVE_DASH, 1)
       == 0, "a rung of another application's cam");

    feed(p, 5, 40000, 10000);
    fake_cmaf(pc, psegs, 630000, 3, 160, 96);
    ngx_ams_adaptive_update(p, pc);
    ngx_ams_adaptive_prepare(p, pc);
    ok(!p->master_due && pc->nadaptive == 0, "no rung: no adaptive output");

    ok(ngx_ams_adaptive_open(r1, &app, "/d", "/t", "cam_360p500kbps", "cam", 3,
                             360, 500, 2000, 4,
                             NGX_AMS_ADAPTIVE_FMP4 | NGX_AMS_ADAPTIVE_DASH, 1)
       == 0
       && ngx_ams_adaptive_open(r2, &app, "/d", "/t", "cam_720p2000kbps",
                                "cam", 3, 720, 2000, 2000, 4,
                                NGX_AMS_ADAPTIVE_FMP4 | NGX_AMS_ADAPTIVE_DASH,
                                1)
          == 0, "two rungs join");

    ngx_ams_adaptive_prepare(p, pc);
    ok(!p->master_due, "not listed before they are measured");

    feed(r1, 5, 4000, 1000);
    feed(r2, 5, 8000, 2000);
    fake_cmaf(rc, rsegs[0], 630000 + 180000, 0, 640, 360);
    ngx_ams_adaptive_update(r1, rc);
    fake_cmaf(rc, rsegs[1], 630000 + 180000, 0, 1280, 720);
    ngx_ams_adaptive_update(r2, rc);

    ngx_ams_adaptive_prepare(p, pc);
    ok(p->master_due, "the parent's next task writes the master");
    ok(p->master.len > 0
       && strstr((char *) p->master.data, "cam_720p2000kbps/video.m3u8")
       && strstr((char *) p->master.data, "cam_360p500kbps/video.m3u8")
       && strstr((char *) p->master.data, "\ncam/video.m3u8"),
       "listing both rungs and the original");
    is_int(pc->nadaptive, 2, "the MPD gets both rungs' representations");
    ok(pc->nadaptive == 2 && strcmp(pc->adaptive[0].id, "cam_720p2000kbps")
       == 0 && strcmp(pc->adaptive[1].id, "cam_360p500kbps") == 0,
       "tallest first");

    /* the MPD as the CMAF writer builds it: own video, rungs, audio */
    memset(reps, 0, sizeof(reps));
    reps[0].id = "video";
    reps[0].video = 1;
    reps[0].codecs = "avc1.42c00b";
    reps[0].bandwidth = 800000;
    reps[0].width = 160;
    reps[0].height = 96;
    reps[0].timescale = 90000;
    reps[0].offset = 630000;
    reps[0].init = "video_init.mp4";
    reps[0].media = "video_$Number$.m4s";
    reps[0].segments = psegs;
    reps[0].nsegments = 2;
    memcpy(&reps[1], pc->adaptive, pc->nadaptive * sizeof(reps[0]));
    n = 1 + pc->nadaptive;
    reps[n].id = "audio";
    reps[n].codecs = "mp4a.40.2";
    reps[n].bandwidth = 64000;
    reps[n].sample_rate = 44100;
    reps[n].channels = 2;
    reps[n].timescale = 44100;
    reps[n].offset = 308700;
    reps[n].init = "audio_init.mp4";
    reps[n].media = "audio_$Number$.m4s";
    reps[n].segments = as;
    reps[n].nsegments = 2;
    n++;

    memset(&mpd, 0, sizeof(mpd));
    mpd.available_ms = 1767225600123LL;
    mpd.published_ms = 1767225612456LL;
    mpd.segment_ms = 2000;
    mpd.list_size = 4;
    mpd.utc_timing = "/ams/time";
    ok(ngx_ams_mpd_write(&out, &mpd, reps, n) == 0
       && golden("adaptive.mpd", &out),
       "MPD: one video set with the original and each rung (its own "
       "timeline, ../{rung}/ paths, the parent's presentation offset), "
       "one audio set");

    /* written, then nothing new */
    p->master_due = 0;
    ngx_ams_adaptive_prepare(p, pc);
    ok(!p->master_due, "unchanged: not written again");

    ngx_ams_adaptive_leave(r2);
    ngx_ams_adaptive_prepare(p, pc);
    ok(p->master_due && !strstr((char *) p->master.data, "720p")
       && strstr((char *) p->master.data, "360p"),
       "a rung that ends leaves the master");
    is_int(pc->nadaptive, 1, "and the MPD");

    p->master_due = 0;
    ngx_ams_adaptive_leave(r1);
    ngx_ams_adaptive_prepare(p, pc);
    ok(p->master_due && strstr((char *) p->master.data, "cam/video.m3u8")
       && pc->nadaptive == 0,
       "the last one gone: the original alone");

    /* adaptive_original off */
    p->master_due = 0;
    p->original = 0;
    ok(ngx_ams_adaptive_open(r1, &app, "/d", "/t", "cam_360p500kbps", "cam",
                             3, 360, 500, 2000, 4,
                             NGX_AMS_ADAPTIVE_FMP4 | NGX_AMS_ADAPTIVE_DASH, 1)
       == 0, "a rung joins again");
    feed(r1, 5, 4000, 1000);
    fake_cmaf(rc, rsegs[0], 630000 + 180000, 0, 640, 360);
    ngx_ams_adaptive_update(r1, rc);
    ngx_ams_adaptive_prepare(p, pc);
    ok(p->master_due && !strstr((char *) p->master.data, "cam/video.m3u8")
       && pc->adaptive_only && pc->nadaptive == 1,
       "adaptive_original off: neither lists the original's video");

    ngx_ams_adaptive_close(r1);
    ngx_ams_adaptive_close(r2);
    ngx_ams_adaptive_close(other);
    ngx_ams_adaptive_close(p);
    ngx_ams_adaptive_close(p);
    ok(1, "close twice is safe");

    ngx_ams_buf_free(&out);
    ngx_ams_buf_free(&text);
    free(p);
    free(r1);
    free(r2);
    free(other);
    free(pc);
    free(rc);
}


int
main(void)
{
    char         dir[1024];
    const char  *slash;

    slash = strrchr(__FILE__, '/');
    snprintf(dir, sizeof(dir), "%.*s/golden",
             slash ? (int) (slash - __FILE__) : 1, slash ? __FILE__ : ".");
    golden_dir = dir;

    test_stats();
    test_master();
    test_group();

    return done_testing();
}
