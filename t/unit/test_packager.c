
/*
 * Copyright (C) nginx-ams authors
 *
 * The packager's nginx-free parts: the fMP4 writer (its boxes parsed
 * back), the M3U8 and MPD writers (against t/unit/golden/), the CMAF
 * writer and MPEG-TS HLS on a temporary directory.
 *
 *   test_packager              runs the tests (TAP)
 *   test_packager --write DIR  writes a 4 s CMAF stream "golden" (HLS
 *                              and DASH) under DIR, for t/packager_files.t
 *                              to check with ffprobe
 *
 * AMS_GOLDEN_UPDATE=1 rewrites the golden files instead of comparing.
 */


#define _GNU_SOURCE                  /* memmem */

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "ngx_ams_mp4_mux.h"
#include "ngx_ams_m3u8.h"
#include "ngx_ams_mpd.h"
#include "ngx_ams_cmaf.h"
#include "ngx_ams_hls.h"
#include "ngx_ams_file.h"
#include "ngx_ams_sweep.h"


/* 160x96 baseline, as x264 wrote it: SPS, PPS and two IDR pictures (a
 * grey frame, idr_pic_id 0 and 1), so that ffmpeg decodes the output */
static const uint8_t  sps[] = {
    0x67, 0x42, 0xc0, 0x0b, 0xdc, 0x28, 0xdb, 0x01, 0x10, 0x00, 0x00, 0x03,
    0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x42, 0xb8
};

static const uint8_t  pps[] = { 0x68, 0xce, 0x0f, 0xc8 };

static const uint8_t  idr0[] = {
    0x65, 0x88, 0x84, 0x3a, 0x26, 0x28, 0x0c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c,
    0x9c, 0x9c, 0x9c, 0x9c, 0x9d, 0x75, 0xd7, 0x5d, 0x75, 0xd7, 0x5d, 0x75,
    0xd7, 0x5d, 0x75, 0xd7, 0x5d, 0x75, 0xd7, 0x5d, 0x75, 0xd7, 0x5d, 0x75,
    0xd7, 0x5d, 0x75, 0xd7, 0x5d, 0x75, 0xd7, 0x5d, 0x75, 0xd7, 0x5d, 0x75,
    0xd7, 0x5d, 0x75, 0xd7, 0x5e, 0x00
};

static const uint8_t  idr1[] = {
    0x65, 0x88, 0x82, 0x02, 0x68, 0x98, 0xa0, 0x00, 0x4e, 0x4e, 0x4e, 0x4e,
    0x4e, 0x4e, 0x4e, 0x4e, 0x4e, 0x4e, 0xba, 0xeb, 0xae, 0xba, 0xeb, 0xae,
    0xba, 0xeb, 0xae, 0xba, 0xeb, 0xae, 0xba, 0xeb, 0xae, 0xba, 0xeb, 0xae,
    0xba, 0xeb, 0xae, 0xba, 0xeb, 0xae, 0xba, 0xeb, 0xae, 0xba, 0xeb, 0xae,
    0xba, 0xeb, 0xae, 0xba, 0xeb, 0xae, 0xba, 0xf0
};

/* AAC-LC, 44.1 kHz, stereo; one frame of silence */
static const uint8_t  asc[] = { 0x12, 0x10 };
static const uint8_t  aac_silence[] = { 0x21, 0x10, 0x04, 0x60, 0x8c, 0x1c };


static const char  *golden_dir;


/* --- helpers -------------------------------------------------------------- */

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}


static uint64_t
be64(const uint8_t *p)
{
    return (uint64_t) be32(p) << 32 | be32(p + 4);
}


static size_t
make_avcc(uint8_t *out)
{
    size_t  n = 0;

    out[n++] = 1;
    out[n++] = sps[1];
    out[n++] = sps[2];
    out[n++] = sps[3];
    out[n++] = 0xff;                 /* 4-byte NAL lengths */
    out[n++] = 0xe1;                 /* one SPS */
    out[n++] = 0;
    out[n++] = sizeof(sps);
    memcpy(out + n, sps, sizeof(sps));
    n += sizeof(sps);
    out[n++] = 1;                    /* one PPS */
    out[n++] = 0;
    out[n++] = sizeof(pps);
    memcpy(out + n, pps, sizeof(pps));
    n += sizeof(pps);

    return n;
}


/* a picture as RTMP carries it: one length-prefixed NAL unit */
static size_t
make_picture(uint8_t *out, unsigned n)
{
    const uint8_t  *nal = (n & 1) ? idr1 : idr0;
    size_t          len = (n & 1) ? sizeof(idr1) : sizeof(idr0);

    out[0] = 0;
    out[1] = 0;
    out[2] = 0;
    out[3] = (uint8_t) len;
    memcpy(out + 4, nal, len);

    return len + 4;
}


/* ISO BMFF boxes: a box at p, and its children tiling [from, to) */

typedef struct {
    const uint8_t  *p;
    size_t          size;
    char            type[5];
} box_t;


static int
box_read(const uint8_t *p, size_t len, box_t *b)
{
    if (len < 8) {
        return -1;
    }

    b->p = p;
    b->size = be32(p);
    memcpy(b->type, p + 4, 4);
    b->type[4] = '\0';

    return (b->size >= 8 && b->size <= len) ? 0 : -1;
}


/* the children of a region, which must fill it exactly; -1 if not */
static int
box_children(const uint8_t *p, size_t len, box_t *out, int max)
{
    int  n = 0;

    while (len) {
        if (n == max || box_read(p, len, &out[n]) != 0) {
            return -1;
        }

        p += out[n].size;
        len -= out[n].size;
        n++;
    }

    return n;
}


static const box_t *
box_find(const box_t *boxes, int n, const char *type, int nth)
{
    int  i;

    for (i = 0; i < n; i++) {
        if (memcmp(boxes[i].type, type, 4) == 0 && nth-- == 0) {
            return &boxes[i];
        }
    }

    return NULL;
}


/* a box by path, "moov/trak/mdia/mdhd", through plain containers only */
static int
box_path(const uint8_t *p, size_t len, const char *path, int nth, box_t *out)
{
    int           n;
    char          type[5];
    box_t         kids[16];
    const box_t  *b;

    for ( ;; ) {
        memcpy(type, path, 4);
        type[4] = '\0';

        n = box_children(p, len, kids, 16);
        if (n < 0) {
            return -1;
        }

        b = box_find(kids, n, type, path[4] == '\0' ? nth : 0);
        if (b == NULL) {
            return -1;
        }

        if (path[4] == '\0') {
            *out = *b;
            return 0;
        }

        p = b->p + 8;
        len = b->size - 8;
        path += 5;
    }
}


static int
read_file(const char *path, ngx_ams_buf_t *b)
{
    FILE    *f;
    size_t   n;
    uint8_t  chunk[65536];

    b->len = 0;

    f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }

    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (ngx_ams_buf_append(b, chunk, n) != 0) {
            fclose(f);
            return -1;
        }
    }

    fclose(f);

    return 0;
}


static int
exists(const char *path)
{
    struct stat  sb;

    return stat(path, &sb) == 0;
}


/* compares text with t/unit/golden/NAME, or rewrites that file */
static int
golden(const char *name, const ngx_ams_buf_t *text)
{
    int            same;
    char           path[1024];
    FILE          *f;
    ngx_ams_buf_t  want = { NULL, 0, 0 };

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

    if (read_file(path, &want) != 0) {
        printf("# cannot read %s\n", path);
        return 0;
    }

    same = want.len == text->len
           && memcmp(want.data, text->data, text->len) == 0;

    if (!same) {
        printf("# %s differs; got:\n%.*s", name, (int) text->len,
               (const char *) text->data);
    }

    ngx_ams_buf_free(&want);

    return same;
}


/* --- the fMP4 writer ------------------------------------------------------ */

static void
test_init_segment(void)
{
    int                   n;
    size_t                len;
    uint8_t               avcc[128];
    box_t                 top[4], moov[8], b, e;
    const char           *err = NULL;
    ngx_ams_buf_t         out = { NULL, 0, 0 };
    ngx_ams_mp4_track_t   v, a, *t[2];

    memset(&v, 0, sizeof(v));
    memset(&a, 0, sizeof(a));

    len = make_avcc(avcc);
    ok(ngx_ams_mp4_track_config(&v, NGX_AMS_MP4_VIDEO, 1, avcc, len, &err)
       == 0, "video track configured");
    is_int(v.width, 160, "width from the SPS");
    is_int(v.height, 96, "height from the SPS");
    is_int(v.timescale, 90000, "video timescale 90 kHz");
    ok(ngx_ams_mp4_track_config(&a, NGX_AMS_MP4_AUDIO, 2, asc, sizeof(asc),
                                &err) == 0, "audio track configured");
    is_int(a.timescale, 44100, "audio timescale is the sample rate");

    t[0] = &v;
    t[1] = &a;
    ok(ngx_ams_mp4_init_segment(&out, t, 2) == 0, "init segment written");

    n = box_children(out.data, out.len, top, 4);
    is_int(n, 2, "ftyp and moov fill the init segment exactly");
    ok(n == 2 && memcmp(top[0].type, "ftyp", 4) == 0
       && memcmp(top[0].p + 8, "iso6", 4) == 0, "ftyp, major brand iso6");
    ok(n == 2 && memcmp(top[0].p + 16, "iso6cmfc", 8) == 0,
       "compatible with CMAF (cmfc)");

    n = box_children(top[1].p + 8, top[1].size - 8, moov, 8);
    is_int(n, 4, "moov holds mvhd, two trak, mvex, nothing else");
    ok(n == 4 && memcmp(moov[0].type, "mvhd", 4) == 0
       && memcmp(moov[3].type, "mvex", 4) == 0, "in that order");

    ok(box_path(out.data, out.len, "moov/trak/tkhd", 0, &b) == 0
       && be32(b.p + 20) == 1 && be32(b.p + 84) == 160u << 16
       && be32(b.p + 88) == 96u << 16,
       "video tkhd: track 1, 160x96");
    ok(box_path(out.data, out.len, "moov/trak/mdia/mdhd", 0, &b) == 0
       && be32(b.p + 20) == 90000, "video mdhd timescale 90000");
    ok(box_path(out.data, out.len, "moov/trak/mdia/hdlr", 0, &b) == 0
       && memcmp(b.p + 16, "vide", 4) == 0, "video handler");

    ok(box_path(out.data, out.len, "moov/trak/mdia/minf/stbl/stsd", 0, &b)
       == 0 && be32(b.p + 12) == 1, "one sample description");
    ok(box_read(b.p + 16, b.size - 16, &e) == 0
       && memcmp(e.type, "avc1", 4) == 0 && e.size == b.size - 16
       && be32(e.p + 32) == (160u << 16 | 96),
       "avc1 sample entry, 160x96");
    ok(box_read(e.p + 86, e.size - 86, &b) == 0
       && memcmp(b.type, "avcC", 4) == 0 && b.size == 8 + len
       && memcmp(b.p + 8, avcc, len) == 0, "avcC is the configuration");

    n = box_children(top[1].p + 8, top[1].size - 8, moov, 8);
    ok(n == 4 && box_path(moov[2].p + 8, moov[2].size - 8, "tkhd", 0, &b)
       == 0 && be32(b.p + 20) == 2, "audio tkhd: track 2");
    ok(n == 4 && box_path(moov[2].p + 8, moov[2].size - 8, "mdia/mdhd", 0, &b)
       == 0 && be32(b.p + 20) == 44100, "audio mdhd timescale 44100");
    ok(n == 4
       && box_path(moov[2].p + 8, moov[2].size - 8, "mdia/minf/stbl/stsd", 0,
                   &b) == 0
       && box_read(b.p + 16, b.size - 16, &e) == 0
       && memcmp(e.type, "mp4a", 4) == 0
       && memmem(e.p, e.size, asc, sizeof(asc)) != NULL,
       "mp4a with the AudioSpecificConfig in its esds");

    ok(box_path(out.data, out.len, "moov/mvex/trex", 0, &b) == 0
       && be32(b.p + 12) == 1 && be32(b.p + 16) == 1, "trex of track 1");
    ok(box_path(out.data, out.len, "moov/mvex/trex", 1, &b) == 0
       && be32(b.p + 12) == 2, "trex of track 2");

    ngx_ams_buf_free(&out);
    ngx_ams_mp4_track_free(&v);
    ngx_ams_mp4_track_free(&a);
}


/* a trun's samples: duration, size, flags, composition offset */
typedef struct {
    uint32_t  duration;
    uint32_t  size;
    uint32_t  flags;
    int32_t   cts;
} trun_sample_t;


static int
parse_traf(const box_t *traf, uint32_t *track_id, uint64_t *base,
    uint32_t *offset, trun_sample_t *s, uint32_t max)
{
    uint32_t  i, n;
    box_t     b;

    if (box_path(traf->p + 8, traf->size - 8, "tfhd", 0, &b) != 0
        || be32(b.p + 8) != 0x020000)
    {
        return -1;
    }

    *track_id = be32(b.p + 12);

    if (box_path(traf->p + 8, traf->size - 8, "tfdt", 0, &b) != 0
        || b.p[8] != 1 || b.size != 20)
    {
        return -1;
    }

    *base = be64(b.p + 12);

    if (box_path(traf->p + 8, traf->size - 8, "trun", 0, &b) != 0
        || be32(b.p + 8) != 0x01000f01)
    {
        return -1;
    }

    n = be32(b.p + 12);
    if (n > max || b.size != 20 + 16 * n) {
        return -1;
    }

    *offset = be32(b.p + 16);

    for (i = 0; i < n; i++) {
        s[i].duration = be32(b.p + 20 + 16 * i);
        s[i].size = be32(b.p + 24 + 16 * i);
        s[i].flags = be32(b.p + 28 + 16 * i);
        s[i].cts = (int32_t) be32(b.p + 32 + 16 * i);
    }

    return (int) n;
}


static void
test_fragment_video(void)
{
    int                   n, good;
    size_t                len, total;
    uint8_t               avcc[128], data[16][64];
    uint32_t              i, id = 0, offset = 0;
    uint64_t              base = 0;
    box_t                 top[4], b;
    const char           *err = NULL;
    trun_sample_t         s[16];
    ngx_ams_buf_t         out = { NULL, 0, 0 };
    ngx_ams_mp4_track_t   v, *t;

    memset(&v, 0, sizeof(v));
    len = make_avcc(avcc);
    ngx_ams_mp4_track_config(&v, NGX_AMS_MP4_VIDEO, 1, avcc, len, &err);

    /* ten frames at 30 fps from dts 900000, a B-frame-like offset on odd
     * ones, a keyframe first; each frame's bytes say which it is */
    total = 0;
    for (i = 0; i < 10; i++) {
        memset(data[i], 'a' + i, 10 + i);
        ngx_ams_mp4_add_sample(&v, 900000 + 3000 * i, (i & 1) ? 6000 : 0,
                               i == 0, data[i], 10 + i);
        total += 10 + i;
    }

    is_int(v.nsamples, 10, "ten samples gathered");

    t = &v;
    ok(ngx_ams_mp4_fragment(&out, &t, 1, 7, 930000) == 0, "fragment written");

    n = box_children(out.data, out.len, top, 4);
    ok(n == 2 && memcmp(top[0].type, "moof", 4) == 0
       && memcmp(top[1].type, "mdat", 4) == 0,
       "moof and mdat fill the fragment exactly");

    ok(box_path(out.data, out.len, "moof/mfhd", 0, &b) == 0
       && be32(b.p + 12) == 7, "mfhd sequence number 7");

    ok(box_path(out.data, out.len, "moof/traf", 0, &b) == 0
       && (n = parse_traf(&b, &id, &base, &offset, s, 16)) == 10,
       "traf: tfhd, tfdt (version 1), trun of 10 samples");
    is_int(id, 1, "tfhd names track 1");
    is_int(base, 900000, "tfdt is the first dts");
    is_int(offset, top[0].size + 8, "trun data offset: the mdat payload");

    good = 1;
    for (i = 0; i < 10; i++) {
        good &= s[i].duration == 3000 && s[i].size == 10 + i
                && s[i].cts == ((i & 1) ? 6000 : 0)
                && s[i].flags == (i == 0 ? 0x02000000u : 0x01010000u);
    }
    ok(good, "durations 3000 (the last to end_dts), sizes, flags, offsets");

    ok(top[1].size == 8 + total && top[1].p[8] == 'a'
       && top[1].p[8 + 10] == 'b' && top[1].p[7 + total] == 'j',
       "mdat holds the samples in order");

    is_int(v.fragment_start, 900000, "fragment start kept for the lists");
    is_int(v.fragment_duration, 30000, "fragment duration kept");
    is_int(v.fragment_bytes, total, "fragment bytes kept");
    is_int(v.nsamples, 0, "and the track is empty again");

    ngx_ams_buf_free(&out);
    ngx_ams_mp4_track_free(&v);
}


static void
test_fragment_audio(void)
{
    int                   n, good;
    uint32_t              i, id = 0, offset = 0;
    uint64_t              base = 0;
    int64_t               dts;
    box_t                 b;
    const char           *err = NULL;
    trun_sample_t         s[64];
    ngx_ams_buf_t         out = { NULL, 0, 0 };
    ngx_ams_mp4_track_t   a, *t;

    memset(&a, 0, sizeof(a));
    ngx_ams_mp4_track_config(&a, NGX_AMS_MP4_AUDIO, 2, asc, sizeof(asc), &err);

    /* 90 kHz dts of 1024-sample frames are rounded; the track's own
     * timescale gets exact 1024 steps back */
    for (i = 0; i < 43; i++) {
        dts = ((int64_t) i * 1024 * 90000 + 22050) / 44100;
        ngx_ams_mp4_add_sample(&a, dts, 0, 0, aac_silence,
                               sizeof(aac_silence));
    }

    t = &a;
    ngx_ams_mp4_fragment(&out, &t, 1, 1, 90000);

    ok(box_path(out.data, out.len, "moof/traf", 0, &b) == 0
       && (n = parse_traf(&b, &id, &base, &offset, s, 64)) == 43,
       "audio trun of 43 frames");
    is_int(id, 2, "track 2");

    good = 1;
    for (i = 0; i < 43; i++) {
        good &= s[i].duration == 1024 && s[i].flags == 0x02000000u;
    }
    ok(good, "every frame lasts 1024 samples and is a sync sample");
    is_int(a.fragment_duration, 43 * 1024,
           "the last frame keeps its length across the cut");

    /* the next fragment starts where this one ended */
    dts = ((int64_t) 43 * 1024 * 90000 + 22050) / 44100;
    ngx_ams_mp4_add_sample(&a, dts, 0, 0, aac_silence, sizeof(aac_silence));
    out.len = 0;
    ngx_ams_mp4_fragment(&out, &t, 1, 2, 180000);
    ok(box_path(out.data, out.len, "moof/traf", 0, &b) == 0
       && parse_traf(&b, &id, &base, &offset, s, 64) == 1
       && base == 43 * 1024, "audio fragments are contiguous");

    ngx_ams_buf_free(&out);
    ngx_ams_mp4_track_free(&a);
}


static void
test_fragment_two_tracks(void)
{
    uint8_t               avcc[128], vdata[100], adata[7];
    uint32_t              id = 0, off_v = 0, off_a = 0;
    uint64_t              base;
    size_t                len;
    box_t                 top[4], b;
    const char           *err = NULL;
    trun_sample_t         s[4];
    ngx_ams_buf_t         out = { NULL, 0, 0 };
    ngx_ams_mp4_track_t   v, a, *t[2];

    memset(&v, 0, sizeof(v));
    memset(&a, 0, sizeof(a));
    len = make_avcc(avcc);
    ngx_ams_mp4_track_config(&v, NGX_AMS_MP4_VIDEO, 1, avcc, len, &err);
    ngx_ams_mp4_track_config(&a, NGX_AMS_MP4_AUDIO, 2, asc, sizeof(asc), &err);

    memset(vdata, 'V', sizeof(vdata));
    memset(adata, 'A', sizeof(adata));
    ngx_ams_mp4_add_sample(&v, 0, 0, 1, vdata, sizeof(vdata));
    ngx_ams_mp4_add_sample(&a, 0, 0, 0, adata, sizeof(adata));

    t[0] = &v;
    t[1] = &a;
    ngx_ams_mp4_fragment(&out, t, 2, 1, 3000);

    ok(box_children(out.data, out.len, top, 4) == 2
       && box_path(out.data, out.len, "moof/traf", 0, &b) == 0
       && parse_traf(&b, &id, &base, &off_v, s, 4) == 1 && id == 1
       && box_path(out.data, out.len, "moof/traf", 1, &b) == 0
       && parse_traf(&b, &id, &base, &off_a, s, 4) == 1 && id == 2,
       "a muxed fragment has a traf per track");
    ok(off_v == top[0].size + 8 && off_v < out.len && out.data[off_v] == 'V',
       "video data offset points at video bytes");
    ok(off_a == off_v + sizeof(vdata) && off_a < out.len
       && out.data[off_a] == 'A',
       "audio data offset follows the video bytes");

    ngx_ams_buf_free(&out);
    ngx_ams_mp4_track_free(&v);
    ngx_ams_mp4_track_free(&a);
}


/* --- M3U8 and MPD text ---------------------------------------------------- */

static void
test_m3u8(void)
{
    ngx_ams_buf_t              out = { NULL, 0, 0 };
    ngx_ams_m3u8_media_t       pl;
    ngx_ams_m3u8_rendition_t   v, a, none;
    static const ngx_ams_segment_t  ts[] = {
        { 12, 1080000, 180000, 0, 0 }, { 13, 1260000, 183000, 0, 0 },
        { 14, 1443000, 240300, 0, 0 }
    };
    static const ngx_ams_segment_t  aac[] = {
        { 0, 0, 88064, 0, 0 }, { 1, 88064, 88064, 0, 0 },
        { 2, 176128, 44032, 0, 0 }
    };

    memset(&pl, 0, sizeof(pl));
    pl.version = 3;
    pl.timescale = 90000;
    pl.target = 180000;
    pl.prefix = "stream1";
    pl.digits = 9;
    pl.suffix = ".ts";

    ok(ngx_ams_m3u8_media(&out, &pl, ts, 3) == 0
       && golden("ts_live.m3u8", &out),
       "MPEG-TS live playlist: target rounded from the longest segment");

    pl.version = 7;
    pl.timescale = 44100;
    pl.target = 88200;
    pl.map = "audio_init.mp4";
    pl.prefix = "audio_";
    pl.digits = 0;
    pl.suffix = ".m4s";
    pl.ended = 1;

    out.len = 0;
    ok(ngx_ams_m3u8_media(&out, &pl, aac, 3) == 0
       && golden("audio_ended.m3u8", &out),
       "fMP4 audio playlist: EXT-X-MAP, own timescale, ENDLIST");

    /* the first segment's wall clock, from the stream's: media time
     * 44100 was captured at 2026-12-01 07:00:00.250 UTC, and the first
     * segment listed starts 43964 samples (0.996 s) later */
    pl.pdt_ms = 1796108400250LL;
    pl.pdt_start = 44100;
    out.len = 0;
    ok(ngx_ams_m3u8_media(&out, &pl, &aac[1], 2) == 0
       && ngx_ams_buf_append(&out, "", 1) == 0
       && strstr((char *) out.data, "#EXT-X-MAP:URI=\"audio_init.mp4\"\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2026-12-01T07:00:01.246Z\n"
                 "#EXTINF:1.997,\naudio_1.m4s\n#EXTINF:0.998,\n") != NULL,
       "EXT-X-PROGRAM-DATE-TIME on the first segment only");
    pl.pdt_ms = 0;

    memset(&none, 0, sizeof(none));
    memset(&v, 0, sizeof(v));
    v.uri = "s1/video.m3u8";
    v.codecs = "avc1.42c00b";
    v.bandwidth = 1500000;
    v.width = 160;
    v.height = 96;
    memset(&a, 0, sizeof(a));
    a.uri = "s1/audio.m3u8";
    a.codecs = "mp4a.40.2";
    a.bandwidth = 64000;
    a.channels = 2;

    out.len = 0;
    ok(ngx_ams_m3u8_master(&out, &v, &a) == 0
       && golden("master.m3u8", &out),
       "master: video variant with the audio rendition");

    out.len = 0;
    ok(ngx_ams_m3u8_master(&out, &none, &a) == 0
       && golden("master_audio.m3u8", &out),
       "master of an audio-only stream");

    out.len = 0;
    ok(ngx_ams_m3u8_master(&out, &v, &none) == 0
       && golden("master_video.m3u8", &out),
       "master of a video-only stream");

    ok(ngx_ams_m3u8_master(&out, &none, &none) == -1,
       "no master without a track");

    ngx_ams_buf_free(&out);
}


static void
test_mpd(void)
{
    ngx_ams_mpd_t                  mpd;
    ngx_ams_buf_t                  out = { NULL, 0, 0 };
    ngx_ams_mpd_representation_t   r[2];
    static const ngx_ams_segment_t  vs[] = {
        { 3, 1170000, 180000, 0, 0 }, { 4, 1350000, 180000, 0, 0 }
    };
    static const ngx_ams_segment_t  as[] = {
        { 3, 573440, 88064, 0, 0 }, { 4, 661504, 88064, 0, 0 }
    };

    memset(r, 0, sizeof(r));
    r[0].id = "video";
    r[0].video = 1;
    r[0].codecs = "avc1.42c00b";
    r[0].bandwidth = 1234567;
    r[0].width = 160;
    r[0].height = 96;
    r[0].timescale = 90000;
    r[0].offset = 630000;
    r[0].init = "video_init.mp4";
    r[0].media = "video_$Number$.m4s";
    r[0].segments = vs;
    r[0].nsegments = 2;

    r[1].id = "audio";
    r[1].codecs = "mp4a.40.2";
    r[1].bandwidth = 64000;
    r[1].sample_rate = 44100;
    r[1].channels = 2;
    r[1].timescale = 44100;
    r[1].offset = 308700;
    r[1].init = "audio_init.mp4";
    r[1].media = "audio_$Number$.m4s";
    r[1].segments = as;
    r[1].nsegments = 2;

    memset(&mpd, 0, sizeof(mpd));
    mpd.available_ms = 1767225600123LL;  /* 2026-01-01T00:00:00.123Z */
    mpd.published_ms = 1767225612456LL;
    mpd.segment_ms = 2000;
    mpd.list_size = 15;
    mpd.utc_timing = "/ams/time?a=1&b=\"2\"";

    ok(ngx_ams_mpd_write(&out, &mpd, r, 2) == 0 && golden("live.mpd", &out),
       "dynamic MPD: times to the millisecond, timelines, numbering from "
       "the first segment, UTCTiming (the endpoint escaped, then direct)");

    {
        /* audio cut mid-frame: 10 ticks of overlap, then a lost segment */
        static const ngx_ams_segment_t  jitter[] = {
            { 3, 1014, 89092, 0, 0 }, { 4, 90096, 88078, 0, 0 },
            { 6, 266000, 88000, 1, 0 }
        };

        r[1].segments = jitter;
        r[1].nsegments = 3;
        out.len = 0;
        ok(ngx_ams_mpd_write(&out, &mpd, r, 2) == 0
           && strstr((char *) out.data, "<S t=\"1014\" d=\"89082\"/>")
           && strstr((char *) out.data, "<S t=\"90096\" d=\"88078\"/>")
           && strstr((char *) out.data, "<S t=\"266000\" d=\"88000\"/>"),
           "a segment lasts until the next begins; a gap of lost segments "
           "stays");
        r[1].segments = as;
        r[1].nsegments = 2;
    }

    mpd.availability_time_offset = 1.5;
    mpd.latency_ms = 3000;
    mpd.update_ms = 500;
    mpd.utc_timing = NULL;
    out.len = 0;
    ok(ngx_ams_mpd_write(&out, &mpd, r, 2) == 0
       && golden("live_ato.mpd", &out),
       "low-latency: availabilityTimeOffset on each template, a "
       "ServiceDescription, updates per part; without an endpoint "
       "UTCTiming is direct only");
    mpd.availability_time_offset = 0;
    mpd.latency_ms = 0;
    mpd.update_ms = 0;
    mpd.utc_timing = "/ams/time";

    mpd.ended = 1;
    mpd.duration_ms = 9871;

    out.len = 0;
    ok(ngx_ams_mpd_write(&out, &mpd, r, 2) == 0
       && golden("ended.mpd", &out),
       "static MPD with its duration");

    {
        ngx_ams_buf_t  live = { NULL, 0, 0 }, closed = { NULL, 0, 0 };

        /* read back from disk after its worker died: static, the duration
         * from the longest timeline (video: 10 s, audio 9.997 s) */
        mpd.ended = 0;
        (void) ngx_ams_mpd_write(&live, &mpd, r, 2);
        mpd.ended = 1;
        mpd.duration_ms = 10000;
        out.len = 0;
        (void) ngx_ams_mpd_write(&out, &mpd, r, 2);

        is_int(ngx_ams_mpd_close(&closed, (char *) live.data, live.len), 1,
               "a dynamic MPD on disk is closed");
        ok(closed.len == out.len
           && memcmp(closed.data, out.data, out.len) == 0,
           "as the writer would have ended it");
        closed.len = 0;
        is_int(ngx_ams_mpd_close(&closed, (char *) out.data, out.len), 0,
               "a static one needs nothing");
        is_int(ngx_ams_mpd_close(&closed, "<html/>", 7), -1,
               "something else is not ours");

        ngx_ams_buf_free(&live);
        ngx_ams_buf_free(&closed);
    }

    ngx_ams_buf_free(&out);
}


static void
test_m3u8_close(void)
{
    ngx_ams_buf_t  out = { NULL, 0, 0 };
    const char    *live = "#EXTM3U\n#EXT-X-VERSION:3\n"
                          "#EXT-X-TARGETDURATION:2\n"
                          "#EXT-X-MEDIA-SEQUENCE:0\n"
                          "#EXTINF:2.000,\ns000000000.ts\n";
    const char    *master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n"
                            "s/video.m3u8\n";

    is_int(ngx_ams_m3u8_close(&out, live, strlen(live)), 1,
           "a live playlist on disk is closed");
    ok(out.len == strlen(live) + 15
       && memcmp(out.data + strlen(live), "#EXT-X-ENDLIST\n", 15) == 0,
       "with EXT-X-ENDLIST at its end");
    out.len = 0;
    is_int(ngx_ams_m3u8_close(&out, "#EXTM3U\n#EXT-X-ENDLIST\n", 23), 0,
           "an ended one needs nothing");
    is_int(ngx_ams_m3u8_close(&out, master, strlen(master)), 0,
           "nor a master playlist");
    is_int(ngx_ams_m3u8_close(&out, "<html>", 6), -1, "nor something else");

    ngx_ams_buf_free(&out);
}


/* --- the CMAF writer and MPEG-TS HLS on disk ------------------------------ */

/* a publisher: 30 fps video (keyframe every kf frames) and 44.1 kHz AAC
 * interleaved by dts, from dts 90000 for the given seconds */
typedef struct {
    int       (*frame)(void *w, const ngx_ams_frame_t *f, const uint8_t *d);
    void       *w;
} sink_t;


static int
cmaf_sink(void *w, const ngx_ams_frame_t *f, const uint8_t *d)
{
    return ngx_ams_cmaf_frame(w, f, d);
}


static int
hls_sink(void *w, const ngx_ams_frame_t *f, const uint8_t *d)
{
    return ngx_ams_hls_frame(w, f, d);
}


static int
publish_span(sink_t *sink, unsigned from, unsigned seconds, unsigned kf)
{
    size_t           len;
    unsigned         v, a;
    int64_t          vdts, adts;
    uint8_t          pic[128];
    ngx_ams_frame_t  f;

    /* the first frames at or after "from" seconds: 30 fps, 44.1 kHz AAC */
    v = from * 30;
    a = (from * 44100 + 1023) / 1024;

    for ( ;; ) {
        vdts = 90000 + (int64_t) v * 3000;
        adts = 90000 + ((int64_t) a * 1024 * 90000 + 22050) / 44100;

        if (vdts >= 90000 + (int64_t) seconds * 90000
            && adts >= 90000 + (int64_t) seconds * 90000)
        {
            return 0;
        }

        memset(&f, 0, sizeof(f));

        if (vdts <= adts) {
            len = make_picture(pic, v);
            f.track = NGX_AMS_TRACK_VIDEO;
            f.dts = vdts;
            f.flags = (v % kf == 0) ? NGX_AMS_FRAME_KEY : 0;
            f.size = (uint32_t) len;
            v++;

            if (sink->frame(sink->w, &f, pic) != 0) {
                return -1;
            }

        } else {
            f.track = NGX_AMS_TRACK_AUDIO;
            f.dts = adts;
            f.size = sizeof(aac_silence);
            a++;

            if (sink->frame(sink->w, &f, aac_silence) != 0) {
                return -1;
            }
        }
    }
}


static int
publish(sink_t *sink, unsigned seconds, unsigned kf)
{
    return publish_span(sink, 0, seconds, kf);
}


static int
write_cmaf(const char *dir, const char *name, unsigned seconds,
    unsigned list_size, unsigned outputs, ngx_ams_cmaf_t *c)
{
    char      tmp[4096];
    size_t    len;
    uint8_t   avcc[128];
    sink_t    sink = { cmaf_sink, c };

    len = make_avcc(avcc);
    snprintf(tmp, sizeof(tmp), "%s/.tmp", dir);

    if (ngx_ams_cmaf_open(c, dir, tmp, name, 1000, list_size, outputs) != 0
        || ngx_ams_cmaf_config(c, NGX_AMS_TRACK_VIDEO, avcc, len) != 0
        || ngx_ams_cmaf_config(c, NGX_AMS_TRACK_AUDIO, asc, sizeof(asc))
           != 0
        || publish(&sink, seconds, 30) != 0)
    {
        printf("# %s\n", c->error);
        return -1;
    }

    return 0;
}


static char *
slurp(const char *path, ngx_ams_buf_t *b)
{
    if (read_file(path, b) != 0 || ngx_ams_buf_append(b, "", 1) != 0) {
        return (char *) "";
    }

    return (char *) b->data;
}


static int
fragment_timing(const char *path, uint64_t *base, uint64_t *duration)
{
    int            n, i;
    uint32_t       id, offset;
    box_t          top[4], traf;
    trun_sample_t  s[128];
    ngx_ams_buf_t  b = { NULL, 0, 0 };

    n = -1;

    if (read_file(path, &b) == 0
        && box_children(b.data, b.len, top, 4) == 2
        && box_path(b.data, b.len, "moof/traf", 0, &traf) == 0)
    {
        n = parse_traf(&traf, &id, base, &offset, s, 128);
        *duration = 0;
        for (i = 0; i < n; i++) {
            *duration += s[i].duration;
        }
    }

    ngx_ams_buf_free(&b);

    return n;
}


static void
test_cmaf_writer(const char *tmp)
{
    int             good;
    char            path[1024], *text;
    unsigned        i;
    uint64_t        base, d, next;
    box_t           box;
    ngx_ams_buf_t   b = { NULL, 0, 0 };
    ngx_ams_cmaf_t  c;

    ok(write_cmaf(tmp, "s1", 6, 3, NGX_AMS_CMAF_HLS | NGX_AMS_CMAF_DASH, &c)
       == 0, "6 s muxed once for HLS and DASH");

    /* live: five segments closed, the sixth open */
    snprintf(path, sizeof(path), "%s/s1/video.m3u8", tmp);
    text = slurp(path, &b);
    ok(strstr(text, "#EXT-X-MEDIA-SEQUENCE:2\n#EXT-X-MAP:URI=\"video_init.mp4\""
                    "\n#EXT-X-PROGRAM-DATE-TIME:") != NULL
       && strstr(text, "Z\n#EXTINF:1.000,\nvideo_2.m4s\n") != NULL
       && strstr(text, "video_4.m4s\n") != NULL
       && strstr(text, "ENDLIST") == NULL,
       "the video playlist slides over the last 3 segments");

    snprintf(path, sizeof(path), "%s/s1.m3u8", tmp);
    text = slurp(path, &b);
    ok(strstr(text, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio\","
                    "DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\","
                    "URI=\"s1/audio.m3u8\"\n") != NULL
       && strstr(text, "CODECS=\"avc1.42c00b,mp4a.40.2\",RESOLUTION=160x96,"
                       "AUDIO=\"audio\"\ns1/video.m3u8\n") != NULL,
       "the master playlist names both media playlists");

    snprintf(path, sizeof(path), "%s/s1/s1.mpd", tmp);
    text = slurp(path, &b);
    ok(strstr(text, "type=\"dynamic\"") != NULL
       && strstr(text, "media=\"video_$Number$.m4s\" startNumber=\"2\"")
          != NULL
       && strstr(text, "<S t=\"270000\" d=\"90000\"/>") != NULL,
       "the MPD lists the same files");

    ok(ngx_ams_cmaf_finish(&c) == 0, "finished");

    snprintf(path, sizeof(path), "%s/s1/video_0.m4s", tmp);
    ok(!exists(path), "a segment 3 places past the window is removed");
    snprintf(path, sizeof(path), "%s/s1/video_1.m4s", tmp);
    ok(exists(path), "one closer stays for slow players");

    snprintf(path, sizeof(path), "%s/s1/audio.m3u8", tmp);
    text = slurp(path, &b);
    ok(strstr(text, "#EXT-X-MAP:URI=\"audio_init.mp4\"") != NULL
       && strstr(text, "audio_5.m4s\n#EXT-X-ENDLIST\n") != NULL,
       "the audio playlist ends");

    snprintf(path, sizeof(path), "%s/s1/s1.mpd", tmp);
    text = slurp(path, &b);
    ok(strstr(text, "type=\"static\" mediaPresentationDuration=\"PT6.0")
       != NULL, "the MPD turns static, 6 s long");

    /* each fragment file: one track, timed by its own timescale */
    good = 1;
    for (i = 1; i < 5; i++) {
        snprintf(path, sizeof(path), "%s/s1/video_%u.m4s", tmp, i);
        good &= fragment_timing(path, &base, &d) == 30
                && base == 90000 + 90000 * i && d == 90000;
    }
    ok(good, "video fragments: 30 frames, tfdt on the second, 1 s each");

    good = 1;
    next = 0;
    for (i = 1; i < 6; i++) {
        snprintf(path, sizeof(path), "%s/s1/audio_%u.m4s", tmp, i);
        good &= fragment_timing(path, &base, &d) > 0
                && (i == 1 || base == next) && d % 1024 == 0;
        next = base + d;
    }
    ok(good, "audio fragments are contiguous, whole AAC frames");

    snprintf(path, sizeof(path), "%s/s1/video_init.mp4", tmp);
    ok(read_file(path, &b) == 0
       && box_path(b.data, b.len, "moov/trak", 0, &box) == 0
       && box_path(b.data, b.len, "moov/trak", 1, &box) != 0
       && box_path(b.data, b.len, "moov/trak/tkhd", 0, &box) == 0
       && be32(box.p + 20) == 1, "a per-track init segment: one trak");

    ngx_ams_cmaf_remove(&c, time(NULL) + 1);

    snprintf(path, sizeof(path), "%s/s1", tmp);
    ok(!exists(path), "remove takes the directory");
    snprintf(path, sizeof(path), "%s/s1.m3u8", tmp);
    ok(!exists(path), "and the master playlist");

    ngx_ams_cmaf_close(&c);

    /* DASH alone writes no HLS playlist; a newer publisher keeps its files */
    ok(write_cmaf(tmp, "s2", 3, 5, NGX_AMS_CMAF_DASH, &c) == 0
       && ngx_ams_cmaf_finish(&c) == 0, "DASH alone");
    snprintf(path, sizeof(path), "%s/s2/video.m3u8", tmp);
    ok(!exists(path), "writes no HLS playlist");
    snprintf(path, sizeof(path), "%s/s2.m3u8", tmp);
    ok(!exists(path), "nor a master");

    ngx_ams_cmaf_remove(&c, time(NULL) - 3600);
    snprintf(path, sizeof(path), "%s/s2/s2.mpd", tmp);
    ok(exists(path), "files newer than the stream's end stay");
    ngx_ams_cmaf_remove(&c, time(NULL) + 1);
    ngx_ams_cmaf_close(&c);

    ngx_ams_buf_free(&b);
}


static void
test_ts_hls(const char *tmp)
{
    size_t          len;
    char            path[1024], *text;
    uint8_t         avcc[128];
    sink_t          sink;
    ngx_ams_buf_t   b = { NULL, 0, 0 };
    ngx_ams_hls_t   hls;

    len = make_avcc(avcc);
    sink.frame = hls_sink;
    sink.w = &hls;

    snprintf(path, sizeof(path), "%s/.tmp", tmp);

    ok(ngx_ams_hls_open(&hls, tmp, path, "t1", 2000, 2) == 0
       && ngx_ams_hls_config(&hls, NGX_AMS_TRACK_VIDEO, avcc, len) == 0
       && ngx_ams_hls_config(&hls, NGX_AMS_TRACK_AUDIO, asc, sizeof(asc))
          == 0
       && publish(&sink, 9, 60) == 0 && ngx_ams_hls_flush(&hls) == 0,
       "MPEG-TS HLS: 9 s");

    snprintf(path, sizeof(path), "%s/t1.m3u8", tmp);
    text = slurp(path, &b);
    ok(strcmp(text, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n"
                    "#EXT-X-MEDIA-SEQUENCE:2\n#EXTINF:2.000,\n"
                    "t1000000002.ts\n#EXTINF:2.000,\nt1000000003.ts\n") == 0,
       "a sliding playlist of 2 s segments");

    ok(ngx_ams_hls_finish(&hls) == 0, "finished");
    text = slurp(path, &b);
    ok(strstr(text, "#EXTINF:1.009,\nt1000000004.ts\n#EXT-X-ENDLIST\n")
       != NULL, "the last segment lasts to its last frame and the list ends");

    snprintf(path, sizeof(path), "%s/t1000000000.ts", tmp);
    ok(!exists(path), "old segments are removed");
    snprintf(path, sizeof(path), "%s/t1000000004.ts", tmp);
    ok(read_file(path, &b) == 0 && b.len % 188 == 0 && b.len > 0
       && b.data[0] == 0x47, "segments are MPEG-TS");

    ngx_ams_hls_remove(&hls, time(NULL) + 1);
    snprintf(path, sizeof(path), "%s/t1.m3u8", tmp);
    ok(!exists(path), "remove takes the playlist");
    ngx_ams_hls_close(&hls);

    ngx_ams_buf_free(&b);
}


/*
 * A disk hiccup: the output directory turns into a file (ENOTDIR, which
 * fails for root too, where chmod would not), then comes back.  The
 * writer loses the segments in between, never the stream.
 */

static int
break_dir(const char *dir, int broken)
{
    int   fd;
    char  away[1024];

    snprintf(away, sizeof(away), "%s.away", dir);

    if (broken) {
        if (rename(dir, away) != 0) {
            return -1;
        }

        fd = open(dir, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd == -1) {
            return -1;
        }

        close(fd);
        return 0;
    }

    return (unlink(dir) == 0 && rename(away, dir) == 0) ? 0 : -1;
}


/* the segments a playlist lists: numbered one by one from its media
 * sequence, "prefix" and the number naming each */

static int
playlist_gapless(const char *text, const char *prefix, unsigned digits)
{
    char                pat[64];
    const char         *p;
    unsigned long long  first, seq, n;

    p = strstr(text, "#EXT-X-MEDIA-SEQUENCE:");
    if (p == NULL || sscanf(p, "#EXT-X-MEDIA-SEQUENCE:%llu", &first) != 1) {
        return 0;
    }

    n = 0;

    for (p = strstr(p, "#EXTINF:"); p; p = strstr(p + 1, "#EXTINF:")) {
        snprintf(pat, sizeof(pat), "\n%s%%%ullu", prefix, digits);
        if (sscanf(strchr(p, '\n'), pat, &seq) != 1 || seq != first + n) {
            return 0;
        }

        n++;
    }

    return n > 0;
}


static void
test_disk_errors(const char *tmp)
{
    int             failing;
    char            dir[1024], tdir[1024], path[1200], *text;
    size_t          len;
    uint8_t         avcc[128];
    sink_t          sink;
    ngx_ams_buf_t   b = { NULL, 0, 0 };
    ngx_ams_hls_t   hls;
    ngx_ams_cmaf_t  c;

    len = make_avcc(avcc);

    /* MPEG-TS HLS, 2 s segments, a keyframe every 2 s */
    snprintf(dir, sizeof(dir), "%s/io1", tmp);
    snprintf(tdir, sizeof(tdir), "%s/io1/.tmp", tmp);
    mkdir(dir, 0755);

    sink.frame = hls_sink;
    sink.w = &hls;

    ok(ngx_ams_hls_open(&hls, dir, tdir, "e", 2000, 8) == 0
       && ngx_ams_hls_config(&hls, NGX_AMS_TRACK_VIDEO, avcc, len) == 0
       && ngx_ams_hls_config(&hls, NGX_AMS_TRACK_AUDIO, asc, sizeof(asc))
          == 0
       && publish_span(&sink, 0, 5, 60) == 0 && ngx_ams_hls_flush(&hls) == 0,
       "TS HLS with write errors: 5 s written");

    ok(break_dir(dir, 1) == 0, "the directory breaks");

    ok(publish_span(&sink, 5, 9, 60) == 0 && ngx_ams_hls_flush(&hls) == 0,
       "4 s more while writes fail: no error, the muxer goes on");
    failing = hls.io.failing;
    ok(failing && hls.io.dropped >= 2 && hls.io.error[0] != '\0',
       "the lost segments are counted, the error kept");
    printf("# %s\n", hls.io.error);

    ok(break_dir(dir, 0) == 0, "the directory is back");

    ok(publish_span(&sink, 9, 15, 60) == 0 && ngx_ams_hls_flush(&hls) == 0
       && !hls.io.failing, "writes succeed again");

    snprintf(path, sizeof(path), "%s/e.m3u8", dir);
    text = slurp(path, &b);
    ok(strstr(text, "#EXT-X-MEDIA-SEQUENCE:0\n") != NULL
       && strstr(text, "e000000002.ts\n#EXT-X-DISCONTINUITY\n"
                       "#EXTINF:2.000,\ne000000003.ts\n") != NULL
       && strstr(text, "e000000004.ts\n") != NULL
       && strstr(text, "ENDLIST") == NULL,
       "the playlist goes on after a discontinuity");
    ok(playlist_gapless(text, "e", 9), "its media sequence has no gap");

    snprintf(path, sizeof(path), "%s/e000000003.ts", dir);
    ok(read_file(path, &b) == 0 && b.len > 0 && b.data[0] == 0x47,
       "the segment after the gap is MPEG-TS");

    ok(ngx_ams_hls_finish(&hls) == 0, "finished");
    snprintf(path, sizeof(path), "%s/e.m3u8", dir);
    text = slurp(path, &b);
    ok(strstr(text, "e000000005.ts\n#EXT-X-ENDLIST\n") != NULL
       && playlist_gapless(text, "e", 9), "the playlist ends");

    ngx_ams_hls_close(&hls);

    /* the discontinuity leaves a window of 2: its sequence is counted */
    snprintf(dir, sizeof(dir), "%s/io2", tmp);
    snprintf(tdir, sizeof(tdir), "%s/io2/.tmp", tmp);
    mkdir(dir, 0755);

    ok(ngx_ams_hls_open(&hls, dir, tdir, "e", 2000, 2) == 0
       && ngx_ams_hls_config(&hls, NGX_AMS_TRACK_VIDEO, avcc, len) == 0
       && publish_span(&sink, 0, 5, 60) == 0 && break_dir(dir, 1) == 0
       && publish_span(&sink, 5, 9, 60) == 0 && break_dir(dir, 0) == 0
       && publish_span(&sink, 9, 17, 60) == 0 && ngx_ams_hls_flush(&hls) == 0,
       "TS HLS, a window of 2");
    snprintf(path, sizeof(path), "%s/e.m3u8", dir);
    text = slurp(path, &b);
    ok(strstr(text, "#EXT-X-DISCONTINUITY-SEQUENCE:1\n") != NULL
       && strstr(text, "#EXT-X-DISCONTINUITY\n") == NULL
       && playlist_gapless(text, "e", 9),
       "EXT-X-DISCONTINUITY-SEQUENCE once the tag left");

    /* the end while writes fail: tried, then an error */
    ok(break_dir(dir, 1) == 0 && ngx_ams_hls_finish(&hls) == -1
       && strstr(hls.error, "playlist not ended") != NULL,
       "a last playlist that cannot be written is an error");
    break_dir(dir, 0);
    ngx_ams_hls_close(&hls);

    /* audio only: every frame may start a segment, one try a segment */
    snprintf(dir, sizeof(dir), "%s/io4", tmp);
    snprintf(tdir, sizeof(tdir), "%s/io4/.tmp", tmp);
    mkdir(dir, 0755);

    ok(ngx_ams_hls_open(&hls, dir, tdir, "a", 2000, 8) == 0
       && ngx_ams_hls_config(&hls, NGX_AMS_TRACK_AUDIO, asc, sizeof(asc))
          == 0
       && publish_span(&sink, 0, 5, 60) == 0 && break_dir(dir, 1) == 0
       && publish_span(&sink, 5, 9, 60) == 0 && break_dir(dir, 0) == 0,
       "audio-only TS HLS while writes fail");
    ok(hls.io.dropped >= 2 && hls.io.dropped <= 3,
       "a segment length between two tries (%llu lost)",
       (unsigned long long) hls.io.dropped);
    ok(publish_span(&sink, 9, 15, 60) == 0 && ngx_ams_hls_finish(&hls) == 0,
       "and it goes on");
    snprintf(path, sizeof(path), "%s/a.m3u8", dir);
    text = slurp(path, &b);
    ok(strstr(text, "#EXT-X-DISCONTINUITY\n") != NULL
       && strstr(text, "#EXT-X-ENDLIST\n") != NULL
       && playlist_gapless(text, "a", 9), "its playlist too");
    ngx_ams_hls_close(&hls);

    /* CMAF: fMP4 HLS and DASH */
    snprintf(dir, sizeof(dir), "%s/io3", tmp);
    snprintf(tdir, sizeof(tdir), "%s/io3/.tmp", tmp);
    mkdir(dir, 0755);

    sink.frame = cmaf_sink;
    sink.w = &c;

    ok(ngx_ams_cmaf_open(&c, dir, tdir, "f", 2000, 8,
                         NGX_AMS_CMAF_HLS | NGX_AMS_CMAF_DASH) == 0
       && ngx_ams_cmaf_config(&c, NGX_AMS_TRACK_VIDEO, avcc, len) == 0
       && ngx_ams_cmaf_config(&c, NGX_AMS_TRACK_AUDIO, asc, sizeof(asc))
          == 0
       && publish_span(&sink, 0, 5, 60) == 0 && break_dir(dir, 1) == 0
       && publish_span(&sink, 5, 9, 60) == 0,
       "CMAF with write errors: no error");
    ok(c.io.failing && c.io.dropped == 2, "two segments lost");

    ok(break_dir(dir, 0) == 0 && publish_span(&sink, 9, 15, 60) == 0
       && !c.io.failing, "writes succeed again");

    snprintf(path, sizeof(path), "%s/f/video.m3u8", dir);
    text = slurp(path, &b);
    ok(strstr(text, "video_1.m4s\n#EXT-X-DISCONTINUITY\n"
                    "#EXT-X-PROGRAM-DATE-TIME:") != NULL
       && strstr(text, "Z\n#EXTINF:2.000,\nvideo_2.m4s\n") != NULL
       && playlist_gapless(text, "video_", 0),
       "the video playlist: a discontinuity, no gap in numbers");
    snprintf(path, sizeof(path), "%s/f/audio.m3u8", dir);
    text = slurp(path, &b);
    ok(strstr(text, "audio_1.m4s\n#EXT-X-DISCONTINUITY\n") != NULL
       && playlist_gapless(text, "audio_", 0),
       "the audio playlist too");

    snprintf(path, sizeof(path), "%s/f/f.mpd", dir);
    text = slurp(path, &b);
    ok(strstr(text, "media=\"video_$Number$.m4s\" startNumber=\"0\"")
       != NULL && strstr(text, "<S t=\"810000\" d=\"180000\"/>") != NULL,
       "the MPD: numbers go on, the timeline skips the lost time");

    ok(ngx_ams_cmaf_finish(&c) == 0, "finished");
    snprintf(path, sizeof(path), "%s/f/video.m3u8", dir);
    text = slurp(path, &b);
    ok(strstr(text, "#EXT-X-ENDLIST\n") != NULL, "the playlist ends");
    snprintf(path, sizeof(path), "%s/f/f.mpd", dir);
    text = slurp(path, &b);
    ok(strstr(text, "type=\"static\"") != NULL, "the MPD turns static");

    ngx_ams_cmaf_close(&c);
    ngx_ams_buf_free(&b);
}


static void
rm_rf(const char *dir);


static void
touch(const char *dir, const char *name, const char *text, time_t mtime)
{
    char            path[1024];
    FILE           *f;
    struct timeval  tv[2];

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }

    tv[0].tv_sec = mtime;
    tv[0].tv_usec = 0;
    tv[1] = tv[0];
    utimes(path, tv);
}


static int
in_dir(const char *dir, const char *name)
{
    char         path[1024];
    struct stat  sb;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    return lstat(path, &sb) == 0;
}


/* files of streams nobody has state for: closed, found, removed */
static void
test_sweep(const char *base)
{
    char             dir[1024], tmp[1024], err[256], sub[1100];
    time_t           now, old;
    ngx_ams_buf_t    b = { NULL, 0, 0 };
    ngx_ams_sweep_t  sw;

    now = time(NULL);
    old = now - 100;

    snprintf(dir, sizeof(dir), "%s/sweep/streams", base);
    snprintf(tmp, sizeof(tmp), "%s/sweep/.tmp", base);
    ok(ngx_ams_file_mkdir(dir, err, sizeof(err)) == 0
       && ngx_ams_file_mkdir(tmp, err, sizeof(err)) == 0, "directories");

    touch(dir, "blocker", "", now);
    snprintf(sub, sizeof(sub), "%s/blocker", dir);
    ok(ngx_ams_file_mkdir(sub, err, sizeof(err)) == -1
       && strstr(err, "exists and is not a directory"),
       "a file where a directory should be is refused: %s", err);

    ok(ngx_ams_file_replace(tmp, sub, "x", 1, err, sizeof(err)) == 0
       && in_dir(dir, "blocker"), "a file is replaced");
    {
        DIR            *d;
        int             n = 0;
        struct dirent  *e;

        d = opendir(tmp);
        while (d && (e = readdir(d)) != NULL) {
            n += e->d_name[0] != '.';
        }
        if (d) {
            closedir(d);
        }
        is_int(n, 0, "its temporary file left nothing behind");
    }
    unlink(sub);

    /* "old" ended long ago (MPEG-TS and CMAF), "new" just now */
    touch(dir, "old.m3u8", "#EXTM3U\n#EXTINF:2.000,\nold000000000.ts\n",
          old);
    touch(dir, "old000000000.ts", "ts", old);
    snprintf(sub, sizeof(sub), "%s/old", dir);
    ngx_ams_file_mkdir(sub, err, sizeof(err));
    touch(sub, "old.mpd", "<MPD type=\"static\">", old);
    touch(sub, "video_0.m4s", "m4s", old);
    touch(sub, "notes.txt", "not ours", old);
    touch(dir, "new.m3u8", "#EXTM3U\n", now);
    touch(dir, "new000000000.ts", "ts", old);
    touch(dir, "readme.txt", "not ours", old);
    touch(dir, "x.m3u8.m3u8", "no stream's", old);
    touch(tmp, "video.m3u8.abcdef", "left by a dead writer", old);

    memset(&sw, 0, sizeof(sw));
    ok(ngx_ams_sweep_scan(&sw, dir, now - 10) == 0, "a scan");
    ok(sw.n == 1 && strcmp(sw.ids[0], "old") == 0,
       "finds the one stream whose files are all old (%zu)", sw.n);

    ngx_ams_sweep_remove(&sw, dir, now - 10);
    ok(!in_dir(dir, "old.m3u8") && !in_dir(dir, "old000000000.ts")
       && !in_dir(sub, "old.mpd") && !in_dir(sub, "video_0.m4s"),
       "its files are removed");
    ok(in_dir(sub, "notes.txt"), "but not a file of another kind in its "
       "directory, which stays");
    ok(in_dir(dir, "new.m3u8") && in_dir(dir, "new000000000.ts"),
       "a stream with a recent file keeps them all");
    ok(in_dir(dir, "readme.txt") && in_dir(dir, "x.m3u8.m3u8"),
       "files of no stream are never touched");
    ngx_ams_sweep_free(&sw);

    ngx_ams_sweep_tmp(tmp, now - 60);
    ok(!in_dir(tmp, "video.m3u8.abcdef"), "old temporary files go");

    /* a stream whose worker died: closed on disk */
    touch(dir, "dead.m3u8", "#EXTM3U\n#EXTINF:2.000,\ndead000000000.ts\n",
          old);
    ok(ngx_ams_sweep_close(dir, tmp, "dead", err, sizeof(err)) == 0,
       "a dead worker's stream is closed: %s", err);
    snprintf(sub, sizeof(sub), "%s/dead.m3u8", dir);
    ok(strstr(slurp(sub, &b), "#EXT-X-ENDLIST\n") != NULL,
       "its playlist has EXT-X-ENDLIST");
    ok(ngx_ams_sweep_close(dir, tmp, "dead", err, sizeof(err)) == 0,
       "closing again changes nothing");

    ngx_ams_buf_free(&b);
}


static void
rm_rf(const char *dir)
{
    DIR            *d;
    char            path[1024];
    struct stat     sb;
    struct dirent  *e;

    d = opendir(dir);
    if (d == NULL) {
        return;
    }

    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);

        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            rm_rf(path);
        } else {
            unlink(path);
        }
    }

    closedir(d);
    rmdir(dir);
}


static void
like_text(const char *text, const char *want, const char *name)
{
    ok(strstr(text, want) != NULL, "%s", name);
}


/*
 * Low-latency HLS: segments written part by part, the parts listed as
 * byte ranges with the tags of RFC 8216bis, their durations adding up to
 * the segment's, the shared state following the playlists.
 */
static void
test_cmaf_ll(const char *tmp)
{
    char                 path[1024], tdir[1024], *text, *p;
    size_t               len;
    uint8_t              avcc[128];
    unsigned             parts, indep;
    double               sum, d, extinf;
    uint64_t             off, expect_off, length;
    sink_t               sink;
    ngx_ams_buf_t        b = { NULL, 0, 0 };
    ngx_ams_cmaf_t       c;
    ngx_ams_ll_state_t   ll, copy;

    memset(&ll, 0, sizeof(ll));
    snprintf(tdir, sizeof(tdir), "%s/.tmp", tmp);
    len = make_avcc(avcc);
    sink.frame = cmaf_sink;
    sink.w = &c;

    ok(ngx_ams_cmaf_open(&c, tmp, tdir, "ll", 2000, 5, NGX_AMS_CMAF_HLS)
       == 0, "LL: opened");
    ngx_ams_cmaf_low_latency(&c, 500, &ll, 7);
    is_int((int) ll.generation, 7, "LL: the shared state is the stream's");

    ok(ngx_ams_cmaf_config(&c, NGX_AMS_TRACK_VIDEO, avcc, len) == 0
       && ngx_ams_cmaf_config(&c, NGX_AMS_TRACK_AUDIO, asc, sizeof(asc)) == 0
       && publish_span(&sink, 0, 5, 60) == 0, "LL: 5 s published");
    if (c.error[0]) {
        printf("# %s\n", c.error);
    }

    snprintf(path, sizeof(path), "%s/ll/video.m3u8", tmp);
    text = slurp(path, &b);

    like_text(text, "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
              "PART-HOLD-BACK=1.500,HOLD-BACK=6.000\n", "LL: server control");
    like_text(text, "#EXT-X-PART-INF:PART-TARGET=0.500\n", "LL: part target");
    like_text(text, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"video_2.m4s\","
              "BYTERANGE-START=", "LL: the next part is hinted");

    /* segment 0: its parts tile its file and add up to its EXTINF */
    sum = 0;
    parts = 0;
    indep = 0;
    expect_off = 0;
    for (p = text; (p = strstr(p, "#EXT-X-PART:DURATION=")) != NULL; p++) {
        if (sscanf(p, "#EXT-X-PART:DURATION=%lf,URI=\"video_0.m4s\","
                   "BYTERANGE=\"%llu@%llu\"", &d,
                   (unsigned long long *) &length,
                   (unsigned long long *) &off)
            != 3)
        {
            continue;
        }

        ok(off == expect_off, "LL: part %u at %llu", parts,
           (unsigned long long) off);
        expect_off = off + length;
        sum += d;
        parts++;
        indep += strstr(p, "INDEPENDENT=YES\n") != NULL
                 && strstr(p, "INDEPENDENT=YES\n") < strchr(p, '\n') + 1;
    }

    p = strstr(text, "#EXTINF:");
    extinf = p ? atof(p + 8) : 0;
    is_int((int) parts, 4, "LL: 2 s segment 0 has 4 parts");
    ok(fabs(sum - extinf) < 0.0025, "LL: parts add up to EXTINF (%.3f)",
       extinf);
    is_int((int) indep, 1, "LL: the keyframe's part is independent");

    snprintf(path, sizeof(path), "%s/ll/video_0.m4s", tmp);
    b.len = 0;
    ok(read_file(path, &b) == 0 && b.len == expect_off,
       "LL: the segment's file is its parts");

    ok(ngx_ams_ll_read(&ll, &copy) == 0 && copy.track[0].seq == 2
       && copy.track[0].parts == 1 && copy.track[0].last_parts == 4
       && copy.track[0].bytes > 0,
       "LL: the state follows the playlist");
    is_int(ngx_ams_ll_playlist(&copy, 0, 2, 1, 0), NGX_AMS_LL_READY,
           "LL: a listed part is ready");
    is_int(ngx_ams_ll_playlist(&copy, 0, 2, 1, 1), NGX_AMS_LL_WAIT,
           "LL: the next one waits");
    is_int(ngx_ams_ll_playlist(&copy, 0, 1, 1, 4), NGX_AMS_LL_READY,
           "LL: past a segment's last part is the next segment's first");
    is_int(ngx_ams_ll_playlist(&copy, 0, 2, 1, 9), NGX_AMS_LL_AHEAD,
           "LL: past the Advance Part Limit is refused");
    is_int(ngx_ams_ll_playlist(&copy, 0, 4, 0, 0), NGX_AMS_LL_AHEAD,
           "LL: two segments past the last is refused");
    is_int(ngx_ams_ll_playlist(&copy, 0, 2, 0, 0), NGX_AMS_LL_WAIT,
           "LL: a whole segment not yet whole waits");

    {
        int64_t   avail;
        uint64_t  n = copy.track[0].bytes;

        is_int(ngx_ams_ll_segment(&copy, 0, 1, -1, -1, &avail),
               NGX_AMS_LL_READY, "LL: a whole segment is served");
        ok(avail == -1, "LL: as it is");
        is_int(ngx_ams_ll_segment(&copy, 0, 2, -1, -1, &avail),
               NGX_AMS_LL_WAIT, "LL: the open one, whole, waits");
        is_int(ngx_ams_ll_segment(&copy, 0, 2, 0, -1, &avail),
               NGX_AMS_LL_READY, "LL: a range of its whole parts is served");
        ok(avail == (int64_t) n, "LL: up to their end");
        is_int(ngx_ams_ll_segment(&copy, 0, 2, (int64_t) n, -1, &avail),
               NGX_AMS_LL_WAIT, "LL: the hinted range waits for its part");
        is_int(ngx_ams_ll_segment(&copy, 0, 2, 0, (int64_t) n, &avail),
               NGX_AMS_LL_WAIT, "LL: so does a range past the whole parts");
        is_int(ngx_ams_ll_segment(&copy, 0, 3, 0, -1, &avail),
               NGX_AMS_LL_WAIT, "LL: the next segment's first part waits");
        is_int(ngx_ams_ll_segment(&copy, 0, 4, 0, -1, &avail),
               NGX_AMS_LL_READY, "LL: further is no hint's (404)");
    }

    ok(ngx_ams_cmaf_finish(&c) == 0, "LL: finished");
    ok(ngx_ams_ll_read(&ll, &copy) == 0 && copy.ended, "LL: state ended");

    ngx_ams_cmaf_close(&c);
    ngx_ams_buf_free(&b);
}

int
main(int argc, char **argv)
{
    char            dir[1024], tmp[] = "/tmp/ams_packager_XXXXXX";
    const char     *slash;
    ngx_ams_cmaf_t  c;

    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        if (write_cmaf(argv[2], "golden", 4, 10,
                       NGX_AMS_CMAF_HLS | NGX_AMS_CMAF_DASH, &c)
            != 0
            || ngx_ams_cmaf_finish(&c) != 0)
        {
            fprintf(stderr, "test_packager: %s\n", c.error);
            return 1;
        }

        ngx_ams_cmaf_close(&c);
        return 0;
    }

    /* the goldens beside this source file */
    slash = strrchr(__FILE__, '/');
    snprintf(dir, sizeof(dir), "%.*s/golden",
             slash ? (int) (slash - __FILE__) : 1, slash ? __FILE__ : ".");
    golden_dir = dir;

    test_init_segment();
    test_fragment_video();
    test_fragment_audio();
    test_fragment_two_tracks();
    test_m3u8();
    test_m3u8_close();
    test_mpd();

    if (mkdtemp(tmp) == NULL) {
        ok(0, "mkdtemp");
        return done_testing();
    }

    test_cmaf_writer(tmp);
    test_cmaf_ll(tmp);
    test_ts_hls(tmp);
    test_disk_errors(tmp);
    test_sweep(tmp);
    if (!getenv("KEEP")) rm_rf(tmp); else printf("# %s\n", tmp);

    return done_testing();
}
