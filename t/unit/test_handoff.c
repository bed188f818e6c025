
/*
 * Copyright (C) nginx-ams authors
 *
 * The writer hand-off queue: order and wrap-around, a full queue and its
 * drop counts, drop-until-keyframe, configurations kept aside, oversize
 * messages, wake-ups, end-of-stream, and a writer thread pushing a
 * million frames to a consumer thread woken by an eventfd.
 *
 * AMS_HANDOFF_FRAMES sets the threaded test's frame count (a sanitizer
 * build wants fewer).
 */


#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "ngx_ams_handoff.h"


#define SMALL_CAP       16384


static uint64_t  notifies;


static void
count_notify(void *data)
{
    notifies++;
}


static uint64_t
xorshift(uint64_t *s)
{
    uint64_t  x = *s;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;

    return x;
}


static uint64_t
checksum(const uint8_t *p, uint32_t len)
{
    uint32_t  i;
    uint64_t  c, w;

    c = 0xcbf29ce484222325ULL ^ len;

    for (i = 0; i + 8 <= len; i += 8) {
        memcpy(&w, p + i, 8);
        c = (c ^ w) * 0x100000001b3ULL;
    }

    for ( /* void */ ; i < len; i++) {
        c = (c ^ p[i]) * 0x100000001b3ULL;
    }

    return c;
}


/* len pseudo-random bytes from n; returns their checksum */
static uint64_t
fill(uint8_t *p, uint32_t len, uint64_t n)
{
    uint32_t  i;
    uint64_t  s, w;

    s = n * 0x9e3779b97f4a7c15ULL + 1;

    for (i = 0; i < len; i += 8) {
        w = xorshift(&s);
        memcpy(p + i, &w, 8);
    }

    return checksum(p, len);
}


static int
push(ngx_ams_handoff_t *h, unsigned track, unsigned key, uint32_t size,
    uint64_t n)
{
    uint8_t          buf[32768];
    ngx_ams_frame_t  f;

    memset(&f, 0, sizeof(f));
    memset(buf, (int) (n & 0xff), size);

    f.seq = n;
    f.dts = (int64_t) n * 3000;
    f.size = size;
    f.track = (uint8_t) track;
    f.codec = track == NGX_AMS_TRACK_VIDEO ? NGX_AMS_CODEC_H264
                                           : NGX_AMS_CODEC_AAC;
    f.flags = key ? NGX_AMS_FRAME_KEY : 0;

    return ngx_ams_handoff_push_frame(h, &f, buf);
}


/* pops one frame; 1 if it is frame n, whole and intact */
static int
pop(ngx_ams_handoff_t *h, uint64_t n)
{
    int                    good;
    uint32_t               i;
    ngx_ams_handoff_msg_t  m;

    if (ngx_ams_handoff_peek(h, &m) != NGX_AMS_HANDOFF_OK
        || m.kind != NGX_AMS_HANDOFF_FRAME)
    {
        return 0;
    }

    good = m.frame.seq == n && m.frame.dts == (int64_t) n * 3000
           && m.len == m.frame.size && m.track == m.frame.track;

    for (i = 0; good && i < m.len; i++) {
        good = m.data[i] == (uint8_t) (n & 0xff);
    }

    ngx_ams_handoff_release(h);

    return good;
}


static void
test_create(void)
{
    ngx_ams_handoff_t  *h;

    ok(ngx_ams_handoff_create(4096, 0, count_notify, NULL) == NULL,
       "a queue too small for a configuration is refused");

    h = ngx_ams_handoff_create(SMALL_CAP, 0, count_notify, NULL);
    ok(h != NULL, "a queue of 16 KB");
    ok(ngx_ams_handoff_max_frame(h) > 8000
       && ngx_ams_handoff_max_frame(h) < SMALL_CAP / 2,
       "it takes frames up to half its area (%u bytes)",
       ngx_ams_handoff_max_frame(h));

    ngx_ams_handoff_end(h);
    ngx_ams_handoff_destroy(h);
}


static void
test_order_and_wrap(void)
{
    int                    good, kinds;
    uint8_t                cf[64];
    uint32_t               size;
    uint64_t               n, next, bytes;
    ngx_ams_handoff_t     *h;
    ngx_ams_handoff_msg_t  m;

    h = ngx_ams_handoff_create(SMALL_CAP, 0, count_notify, NULL);

    ok(ngx_ams_handoff_peek(h, &m) == NGX_AMS_HANDOFF_EMPTY,
       "a new queue is empty");

    /* three in, two out: the queue fills, wraps, then drains */
    good = 1;
    next = 0;
    bytes = 0;

    for (n = 0; n < 3000 && good; n++) {
        size = (uint32_t) ((n * 977) % 2500);

        if (push(h, NGX_AMS_TRACK_AUDIO, 0, size, n) != NGX_AMS_HANDOFF_OK) {
            /* full: take everything, then retry */
            while (next < n && good) {
                good = pop(h, next++);
            }

            good = good && push(h, NGX_AMS_TRACK_AUDIO, 0, size, n)
                           == NGX_AMS_HANDOFF_OK;
        }

        bytes += size;

        if (n % 3 == 2) {
            good = good && pop(h, next++) && (next > n || pop(h, next++));
        }
    }

    while (next < n && good) {
        good = pop(h, next++);
    }

    ok(good, "3000 frames of 0-2500 bytes come out whole and in order");
    ok(bytes > 50 * SMALL_CAP, "the area wrapped around (%llu bytes)",
       (unsigned long long) bytes);
    ok(ngx_ams_handoff_peek(h, &m) == NGX_AMS_HANDOFF_EMPTY,
       "and the queue is empty again");

    /* kinds keep their order too */
    memset(cf, 7, sizeof(cf));
    push(h, NGX_AMS_TRACK_VIDEO, 1, 100, 1);
    is_int(ngx_ams_handoff_push_config(h, NGX_AMS_TRACK_AUDIO,
                                       NGX_AMS_CODEC_AAC, cf, 2),
           NGX_AMS_HANDOFF_OK, "a configuration is queued");
    push(h, NGX_AMS_TRACK_AUDIO, 0, 10, 2);

    kinds = 0;

    if (ngx_ams_handoff_peek(h, &m) == NGX_AMS_HANDOFF_OK
        && m.kind == NGX_AMS_HANDOFF_FRAME && m.track == NGX_AMS_TRACK_VIDEO
        && (m.frame.flags & NGX_AMS_FRAME_KEY))
    {
        kinds++;
    }

    /* a second peek without release gives the same message */
    if (ngx_ams_handoff_peek(h, &m) == NGX_AMS_HANDOFF_OK
        && m.kind == NGX_AMS_HANDOFF_FRAME && m.frame.seq == 1)
    {
        kinds++;
    }

    ngx_ams_handoff_release(h);

    if (ngx_ams_handoff_peek(h, &m) == NGX_AMS_HANDOFF_OK
        && m.kind == NGX_AMS_HANDOFF_CONFIG && m.track == NGX_AMS_TRACK_AUDIO
        && m.codec == NGX_AMS_CODEC_AAC && m.len == 2 && m.data[1] == 7)
    {
        kinds++;
    }

    ngx_ams_handoff_release(h);

    if (pop(h, 2)) {
        kinds++;
    }

    is_int(kinds, 4, "frame, configuration, frame: in order, peek repeats");

    ngx_ams_handoff_end(h);
    ngx_ams_handoff_destroy(h);
}


static void
test_full(void)
{
    int                      rc, good;
    uint64_t                 n, in;
    ngx_ams_handoff_t       *h;
    ngx_ams_handoff_stats_t  st;

    h = ngx_ams_handoff_create(SMALL_CAP, 0, count_notify, NULL);

    for (n = 0; n < 100; n++) {
        rc = push(h, NGX_AMS_TRACK_AUDIO, 0, 1000, n);
        if (rc != NGX_AMS_HANDOFF_OK) {
            break;
        }
    }

    in = n;
    is_int(rc, NGX_AMS_HANDOFF_FULL, "a full queue answers FULL");
    ok(in >= 13 && in <= 16, "after %llu frames of 1000 bytes in 16 KB",
       (unsigned long long) in);

    for (n = in + 1; n < in + 10; n++) {
        push(h, NGX_AMS_TRACK_AUDIO, 0, 500, n);
    }

    ngx_ams_handoff_stats(h, &st);
    is_int(st.frames_in, in, "frames queued are counted");
    is_int(st.frames_dropped, 10, "frames dropped are counted");
    is_int(st.bytes_dropped, 1000 + 9 * 500, "and their bytes");
    is_int(st.key_waits, 0, "audio drops wait for no keyframe");

    good = pop(h, 0);
    is_int(push(h, NGX_AMS_TRACK_AUDIO, 0, 1000, 1000), NGX_AMS_HANDOFF_OK,
           "one taken, one more goes in");

    for (n = 1; n < in && good; n++) {
        good = pop(h, n);
    }

    ok(good && pop(h, 1000), "the frames kept are intact, in order");

    ngx_ams_handoff_stats(h, &st);
    is_int(st.popped, in + 1, "the consumer's count");

    ngx_ams_handoff_end(h);
    ngx_ams_handoff_destroy(h);

    /* the message limit, with bytes to spare */
    h = ngx_ams_handoff_create(SMALL_CAP, 4, count_notify, NULL);

    for (n = 0; n < 4; n++) {
        push(h, NGX_AMS_TRACK_AUDIO, 0, 10, n);
    }

    is_int(push(h, NGX_AMS_TRACK_AUDIO, 0, 10, 4), NGX_AMS_HANDOFF_FULL,
           "a queue of 4 messages at most refuses a fifth");
    pop(h, 0);
    is_int(push(h, NGX_AMS_TRACK_AUDIO, 0, 10, 5), NGX_AMS_HANDOFF_OK,
           "and takes one when one has left");

    ngx_ams_handoff_end(h);
    ngx_ams_handoff_destroy(h);
}


static void
test_keyframe_wait(void)
{
    int                      rc;
    uint64_t                 n;
    ngx_ams_handoff_t       *h;
    ngx_ams_handoff_msg_t    m;
    ngx_ams_handoff_stats_t  st;

    h = ngx_ams_handoff_create(SMALL_CAP, 0, count_notify, NULL);

    /* a keyframe and deltas until the queue is full */
    rc = push(h, NGX_AMS_TRACK_VIDEO, 1, 1000, 0);

    for (n = 1; rc == NGX_AMS_HANDOFF_OK; n++) {
        rc = push(h, NGX_AMS_TRACK_VIDEO, 0, 1000, n);
    }

    /* frame n - 1 was dropped: empty the queue */
    while (ngx_ams_handoff_peek(h, &m) == NGX_AMS_HANDOFF_OK) {
        ngx_ams_handoff_release(h);
    }

    is_int(push(h, NGX_AMS_TRACK_VIDEO, 0, 1000, n), NGX_AMS_HANDOFF_FULL,
           "after a dropped video frame, the next delta is dropped too");
    is_int(push(h, NGX_AMS_TRACK_AUDIO, 0, 100, n + 1), NGX_AMS_HANDOFF_OK,
           "audio goes on meanwhile");
    is_int(push(h, NGX_AMS_TRACK_VIDEO, 0, 1000, n + 2), NGX_AMS_HANDOFF_FULL,
           "and video deltas stay dropped");
    is_int(push(h, NGX_AMS_TRACK_VIDEO, 1, 1000, n + 3), NGX_AMS_HANDOFF_OK,
           "until a keyframe");
    is_int(push(h, NGX_AMS_TRACK_VIDEO, 0, 1000, n + 4), NGX_AMS_HANDOFF_OK,
           "after which deltas go in again");

    ok(pop(h, n + 1) && pop(h, n + 3) && pop(h, n + 4),
       "the consumer gets the audio, the keyframe, the delta");

    ngx_ams_handoff_stats(h, &st);
    is_int(st.key_waits, 1, "one wait for a keyframe");
    is_int(st.frames_dropped, 3, "three video frames dropped");

    /* a dropped keyframe starts a wait as well */
    for (n = 100; push(h, NGX_AMS_TRACK_AUDIO, 0, 1000, n)
                  == NGX_AMS_HANDOFF_OK; n++)
    {
        /* void */
    }

    is_int(push(h, NGX_AMS_TRACK_VIDEO, 1, 1000, 200), NGX_AMS_HANDOFF_FULL,
           "a keyframe finds the queue full");

    while (ngx_ams_handoff_peek(h, &m) == NGX_AMS_HANDOFF_OK) {
        ngx_ams_handoff_release(h);
    }

    is_int(push(h, NGX_AMS_TRACK_VIDEO, 0, 1000, 201), NGX_AMS_HANDOFF_FULL,
           "the deltas after it are dropped");
    is_int(push(h, NGX_AMS_TRACK_VIDEO, 1, 1000, 202), NGX_AMS_HANDOFF_OK,
           "until the next keyframe");

    ngx_ams_handoff_stats(h, &st);
    is_int(st.key_waits, 2, "two waits for a keyframe");

    ngx_ams_handoff_end(h);
    ngx_ams_handoff_destroy(h);
}


static void
test_config_aside(void)
{
    int                    rc, order;
    uint8_t                cf[NGX_AMS_CONFIG_MAX];
    uint64_t               n;
    ngx_ams_handoff_t     *h;
    ngx_ams_handoff_msg_t  m;

    h = ngx_ams_handoff_create(SMALL_CAP, 0, count_notify, NULL);

    for (n = 0; push(h, NGX_AMS_TRACK_AUDIO, 0, 1000, n)
                == NGX_AMS_HANDOFF_OK; n++)
    {
        /* void */
    }

    memset(cf, 1, sizeof(cf));
    is_int(ngx_ams_handoff_push_config(h, NGX_AMS_TRACK_VIDEO,
                                       NGX_AMS_CODEC_H264, cf, 3000),
           NGX_AMS_HANDOFF_DEFERRED, "a configuration finding no room waits");

    memset(cf, 2, sizeof(cf));
    is_int(ngx_ams_handoff_push_config(h, NGX_AMS_TRACK_VIDEO,
                                       NGX_AMS_CODEC_H264, cf, 3001),
           NGX_AMS_HANDOFF_DEFERRED, "a newer one replaces it");

    /* room for one frame, not for the configuration too */
    pop(h, 0);
    pop(h, 1);

    is_int(push(h, NGX_AMS_TRACK_VIDEO, 1, 600, 500), NGX_AMS_HANDOFF_FULL,
           "video waits for its configuration");

    while (ngx_ams_handoff_peek(h, &m) == NGX_AMS_HANDOFF_OK) {
        ngx_ams_handoff_release(h);
    }

    is_int(push(h, NGX_AMS_TRACK_VIDEO, 0, 600, 501), NGX_AMS_HANDOFF_FULL,
           "a delta after the dropped keyframe is dropped");
    is_int(push(h, NGX_AMS_TRACK_VIDEO, 1, 600, 502), NGX_AMS_HANDOFF_OK,
           "a keyframe goes in once there is room");

    order = 0;
    rc = ngx_ams_handoff_peek(h, &m);

    if (rc == NGX_AMS_HANDOFF_OK && m.kind == NGX_AMS_HANDOFF_CONFIG
        && m.track == NGX_AMS_TRACK_VIDEO && m.len == 3001 && m.data[0] == 2)
    {
        order++;
    }

    ngx_ams_handoff_release(h);

    if (pop(h, 502)) {
        order++;
    }

    is_int(order, 2, "the newest configuration comes before the keyframe");

    ok(ngx_ams_handoff_push_config(h, NGX_AMS_TRACK_VIDEO, 1, cf,
                                   NGX_AMS_CONFIG_MAX + 1)
       == NGX_AMS_HANDOFF_TOO_BIG, "a configuration over 4 KB is refused");
    ok(ngx_ams_handoff_push_config(h, NGX_AMS_TRACKS, 1, cf, 1)
       == NGX_AMS_HANDOFF_INVALID, "a track out of range is refused");

    ngx_ams_handoff_end(h);
    ngx_ams_handoff_destroy(h);
}


static void
test_oversize(void)
{
    int                      good;
    uint32_t                 max;
    uint64_t                 n;
    ngx_ams_handoff_t       *h;
    ngx_ams_handoff_stats_t  st;

    h = ngx_ams_handoff_create(SMALL_CAP, 0, count_notify, NULL);
    max = ngx_ams_handoff_max_frame(h);

    is_int(push(h, NGX_AMS_TRACK_AUDIO, 0, max + 1, 0),
           NGX_AMS_HANDOFF_TOO_BIG, "a frame over the largest is refused");

    ngx_ams_handoff_stats(h, &st);
    is_int(st.frames_too_big, 1, "counted as too big");
    is_int(st.frames_dropped, 1, "and as dropped");
    is_int(st.bytes_dropped, max + 1, "with its bytes");

    /* the largest fits an empty queue wherever the area is at */
    good = 1;

    for (n = 0; n < 200 && good; n++) {
        good = push(h, NGX_AMS_TRACK_AUDIO, 0, (uint32_t) n * 8, n)
                   == NGX_AMS_HANDOFF_OK
               && pop(h, n)
               && push(h, NGX_AMS_TRACK_AUDIO, 0, max, 1000 + n)
                   == NGX_AMS_HANDOFF_OK
               && pop(h, 1000 + n);
    }

    ok(good, "a frame of the largest size fits an empty queue at any "
       "offset");

    ngx_ams_handoff_end(h);
    ngx_ams_handoff_destroy(h);
}


static void
test_notify_and_end(void)
{
    uint64_t                 n;
    ngx_ams_handoff_t       *h;
    ngx_ams_handoff_msg_t    m;
    ngx_ams_handoff_stats_t  st;

    notifies = 0;
    h = ngx_ams_handoff_create(SMALL_CAP, 0, count_notify, NULL);

    for (n = 0; n < 5; n++) {
        push(h, NGX_AMS_TRACK_AUDIO, 0, 10, n);
    }

    is_int(notifies, 1, "a burst into an empty queue notifies once");

    ngx_ams_handoff_rearm(h);
    pop(h, 0);
    pop(h, 1);
    push(h, NGX_AMS_TRACK_AUDIO, 0, 10, 5);
    push(h, NGX_AMS_TRACK_AUDIO, 0, 10, 6);
    is_int(notifies, 2, "pushes after the consumer rearmed notify once more");

    while (ngx_ams_handoff_peek(h, &m) == NGX_AMS_HANDOFF_OK) {
        ngx_ams_handoff_release(h);
    }

    push(h, NGX_AMS_TRACK_AUDIO, 0, 10, 7);
    is_int(notifies, 2, "no notify until the consumer rearms");

    pop(h, 7);
    ngx_ams_handoff_stats(h, &st);
    is_int(st.notifies, 2, "notifies are counted");

    push(h, NGX_AMS_TRACK_AUDIO, 0, 10, 8);
    ngx_ams_handoff_rearm(h);
    ngx_ams_handoff_end(h);

    is_int(notifies, 3, "end-of-stream notifies");
    ok(pop(h, 8), "what came before end-of-stream comes first");
    ok(ngx_ams_handoff_peek(h, &m) == NGX_AMS_HANDOFF_OK
       && m.kind == NGX_AMS_HANDOFF_EOS, "then end-of-stream");
    ngx_ams_handoff_release(h);
    ok(ngx_ams_handoff_peek(h, &m) == NGX_AMS_HANDOFF_OK
       && m.kind == NGX_AMS_HANDOFF_EOS, "again on every look");

    ngx_ams_handoff_destroy(h);

    /* the consumer leaves first */
    h = ngx_ams_handoff_create(SMALL_CAP, 0, count_notify, NULL);
    ngx_ams_handoff_destroy(h);
    is_int(push(h, NGX_AMS_TRACK_AUDIO, 0, 10, 0), NGX_AMS_HANDOFF_CLOSED,
           "a push after the consumer left says CLOSED");
    is_int(ngx_ams_handoff_push_config(h, NGX_AMS_TRACK_AUDIO, 1,
                                       (const uint8_t *) "x", 1),
           NGX_AMS_HANDOFF_CLOSED, "a configuration too");
    ngx_ams_handoff_end(h);
}


/* the threaded test */

#define T_CAP           (256 * 1024)
#define T_GOP           50
#define T_STALL         131072


typedef struct {
    ngx_ams_handoff_t  *h;
    int                 efd;
    uint64_t            frames;
    uint64_t            configs;
    uint64_t            wakeups;

    /* the consumer asks for a full queue now and then, to see drops */
    uint32_t            want_full;
    uint32_t            producer_done;

    /* consumer's findings */
    uint64_t            delivered;
    uint64_t            delivered_bytes;
    uint64_t            configs_seen;
    uint64_t            last_seq;
    int64_t             last_video;
    uint64_t            bad_order;
    uint64_t            bad_data;
    uint64_t            broken_gop;
    uint64_t            bad_config;
    int                 lost_wakeup;
} t_ctx_t;


static void
t_notify(void *data)
{
    t_ctx_t   *t = data;
    uint64_t   one = 1;

    if (write(t->efd, &one, 8) != 8) {
        perror("eventfd write");
    }
}


static void *
t_producer(void *arg)
{
    t_ctx_t          *t = arg;
    int               rc;
    uint8_t          *buf, cf[64];
    uint64_t          n, s, r, video;
    ngx_ams_frame_t   f;

    buf = malloc(40000);
    s = 88172645463325252ULL;
    video = 0;

    for (n = 0; n < t->frames; n++) {
        r = xorshift(&s);

        memset(&f, 0, sizeof(f));
        f.seq = n;
        f.dts = (int64_t) n;

        if (n % 4 == 3) {
            f.track = NGX_AMS_TRACK_AUDIO;
            f.size = 64 + r % 400;

        } else {
            f.track = NGX_AMS_TRACK_VIDEO;
            f.cts = (int32_t) video;

            if (video % T_GOP == 0) {
                f.flags = NGX_AMS_FRAME_KEY;
                f.size = 8000 + r % 24000;

            } else {
                f.size = 100 + r % 3000;
            }

            video++;
        }

        if (n % 10000 == 0) {
            memset(cf, (int) (t->configs & 0xff), sizeof(cf));
            ngx_ams_handoff_push_config(t->h, NGX_AMS_TRACK_VIDEO,
                                        NGX_AMS_CODEC_H264, cf, sizeof(cf));
            t->configs++;
        }

        f.pos = fill(buf, f.size, n);

        rc = ngx_ams_handoff_push_frame(t->h, &f, buf);

        if (rc == NGX_AMS_HANDOFF_FULL) {
            __atomic_store_n(&t->want_full, 0, __ATOMIC_RELAXED);

            /* dropped all the same; lets the consumer catch up */
            sched_yield();
        }
    }

    __atomic_store_n(&t->producer_done, 1, __ATOMIC_RELAXED);
    ngx_ams_handoff_end(t->h);
    free(buf);

    return NULL;
}


static int
t_handle(void *data, const ngx_ams_handoff_msg_t *m)
{
    t_ctx_t  *t = data;

    if (m->kind == NGX_AMS_HANDOFF_CONFIG) {
        t->configs_seen++;

        if (m->len != 64 || m->track != NGX_AMS_TRACK_VIDEO) {
            t->bad_config++;
        }

        return 0;
    }

    if (m->kind != NGX_AMS_HANDOFF_FRAME) {
        return 0;
    }

    if (t->delivered && m->frame.seq <= t->last_seq) {
        t->bad_order++;
    }

    t->last_seq = m->frame.seq;

    if (m->len != m->frame.size || m->frame.dts != (int64_t) m->frame.seq
        || checksum(m->data, m->len) != m->frame.pos)
    {
        t->bad_data++;
    }

    if (m->track == NGX_AMS_TRACK_VIDEO) {
        /* a video frame that does not follow the last one must be key */
        if (m->frame.cts != t->last_video + 1
            && !(m->frame.flags & NGX_AMS_FRAME_KEY))
        {
            t->broken_gop++;
        }

        t->last_video = m->frame.cts;
    }

    t->delivered++;
    t->delivered_bytes += m->len;

    /* now and then stop until the producer has found the queue full */
    if (t->delivered % T_STALL == 0) {
        __atomic_store_n(&t->want_full, 1, __ATOMIC_RELAXED);

        while (__atomic_load_n(&t->want_full, __ATOMIC_RELAXED)
               && !__atomic_load_n(&t->producer_done, __ATOMIC_RELAXED))
        {
            sched_yield();
        }
    }

    return 0;
}


static void *
t_consumer(void *arg)
{
    t_ctx_t        *t = arg;
    int             rc;
    uint64_t        v;
    struct pollfd   pfd;

    pfd.fd = t->efd;
    pfd.events = POLLIN;

    for ( ;; ) {
        /* a lost wake-up shows as a 10 s wait */
        if (poll(&pfd, 1, 10000) != 1) {
            t->lost_wakeup = 1;
            break;
        }

        if (read(t->efd, &v, 8) != 8) {
            perror("eventfd read");
        }

        t->wakeups++;

        rc = ngx_ams_handoff_drain(t->h, t_handle, t, 0);

        if (rc == NGX_AMS_HANDOFF_END) {
            break;
        }
    }

    return NULL;
}


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
test_threads(void)
{
    double                   t0, t1;
    pthread_t                prod, cons;
    const char              *env;
    t_ctx_t                  t;
    ngx_ams_handoff_stats_t  st;

    memset(&t, 0, sizeof(t));
    t.frames = 1000000;
    t.last_video = -1;

    env = getenv("AMS_HANDOFF_FRAMES");
    if (env) {
        t.frames = strtoull(env, NULL, 10);
    }

    t.efd = eventfd(0, EFD_CLOEXEC);
    t.h = ngx_ams_handoff_create(T_CAP, 1024, t_notify, &t);

    t0 = now();
    pthread_create(&cons, NULL, t_consumer, &t);
    pthread_create(&prod, NULL, t_producer, &t);
    pthread_join(prod, NULL);
    pthread_join(cons, NULL);
    t1 = now();

    ngx_ams_handoff_stats(t.h, &st);

    ok(!t.lost_wakeup, "the consumer was always woken");
    is_int(t.bad_order, 0, "frames arrive in order");
    is_int(t.bad_data, 0, "frames arrive intact (checksums)");
    is_int(t.broken_gop, 0, "after a video gap comes a keyframe");
    is_int(t.delivered, st.frames_in, "every frame queued is delivered");
    is_int(t.delivered + st.frames_dropped, t.frames,
           "delivered + dropped = sent");
    ok(st.frames_dropped > 0, "some were dropped (%llu, %llu bytes, "
       "%llu waits for a keyframe)",
       (unsigned long long) st.frames_dropped,
       (unsigned long long) st.bytes_dropped,
       (unsigned long long) st.key_waits);
    is_int(t.configs_seen, st.configs_in, "configurations delivered");
    is_int(t.bad_config, 0, "configurations intact");
    is_int(st.popped, t.delivered + t.configs_seen, "the consumer's count");

    /* each wake-up read >= 1 notify; each notify but the first followed
     * a rearm, and each wake-up rearms once */
    ok(t.wakeups <= st.notifies && st.notifies <= t.wakeups + 1,
       "one notify per empty to non-empty transition (%llu notifies, "
       "%llu wake-ups)", (unsigned long long) st.notifies,
       (unsigned long long) t.wakeups);

    printf("# %llu frames, %.1f MB in %.2f s: %.0f frames/s delivered\n",
           (unsigned long long) t.frames, t.delivered_bytes / 1e6, t1 - t0,
           t.delivered / (t1 - t0));

    ngx_ams_handoff_destroy(t.h);
    close(t.efd);
}


/* messages per second of 200 bytes: one thread, then two */

#define B_FRAMES        2000000


static void
nothing(void *data)
{
}


static void *
b_producer(void *arg)
{
    uint8_t             buf[200];
    uint64_t            n;
    ngx_ams_frame_t     f;
    ngx_ams_handoff_t  *h = arg;

    memset(buf, 1, sizeof(buf));
    memset(&f, 0, sizeof(f));
    f.track = NGX_AMS_TRACK_AUDIO;
    f.size = sizeof(buf);

    for (n = 0; n < B_FRAMES; n++) {
        f.seq = n;

        while (ngx_ams_handoff_push_frame(h, &f, buf) != NGX_AMS_HANDOFF_OK) {
            sched_yield();
        }
    }

    ngx_ams_handoff_end(h);

    return NULL;
}


static void
test_bench(void)
{
    double                   t0, t1;
    uint8_t                  buf[200];
    uint64_t                 n, got, bad;
    pthread_t                prod;
    ngx_ams_frame_t          f;
    ngx_ams_handoff_t       *h;
    ngx_ams_handoff_msg_t    m;
    ngx_ams_handoff_stats_t  st;

    h = ngx_ams_handoff_create(1024 * 1024, 0, nothing, NULL);

    memset(buf, 1, sizeof(buf));
    memset(&f, 0, sizeof(f));
    f.track = NGX_AMS_TRACK_AUDIO;
    f.size = sizeof(buf);

    t0 = now();

    for (n = 0; n < B_FRAMES; n++) {
        ngx_ams_handoff_push_frame(h, &f, buf);
        ngx_ams_handoff_peek(h, &m);
        ngx_ams_handoff_release(h);
    }

    t1 = now();

    printf("# 200-byte frames, one thread: %.1f M messages/s\n",
           B_FRAMES / (t1 - t0) / 1e6);

    ngx_ams_handoff_end(h);
    ngx_ams_handoff_destroy(h);

    /* a spinning consumer: here only the queue's atomics order the two */
    h = ngx_ams_handoff_create(1024 * 1024, 0, nothing, NULL);
    got = 0;
    bad = 0;

    t0 = now();
    pthread_create(&prod, NULL, b_producer, h);

    for ( ;; ) {
        if (ngx_ams_handoff_peek(h, &m) != NGX_AMS_HANDOFF_OK) {
            sched_yield();
            continue;
        }

        if (m.kind == NGX_AMS_HANDOFF_EOS) {
            break;
        }

        if (m.frame.seq != got || m.len != 200 || m.data[199] != 1) {
            bad++;
        }

        got++;
        ngx_ams_handoff_release(h);
    }

    pthread_join(prod, NULL);
    t1 = now();

    ngx_ams_handoff_stats(h, &st);

    ok(got == B_FRAMES && bad == 0 && st.frames_in == B_FRAMES,
       "a producer that retries loses nothing");
    printf("# 200-byte frames, two threads: %.1f M messages/s\n",
           got / (t1 - t0) / 1e6);

    ngx_ams_handoff_destroy(h);
}


int
main(void)
{
    test_create();
    test_order_and_wrap();
    test_full();
    test_keyframe_wait();
    test_config_aside();
    test_oversize();
    test_notify_and_end();
    test_threads();
    test_bench();

    return done_testing();
}
