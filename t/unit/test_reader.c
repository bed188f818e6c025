
/*
 * Copyright (C) nginx-ams authors
 *
 * The reader's events over the ring (what the bus's reader API returns):
 * configurations before the frames that need them, metadata changes,
 * overrun as a skip with a count, torn frames refused at consume, the end
 * after the last frame; and a ring that grows under readers: a writer
 * thread, a reader in its process and a reader in another process.
 */


#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "ngx_ams_ring.h"


/* rings live in one shared arena, so a forked reader sees every ring the
 * writer makes later; nothing is freed */

static uint8_t  *arena;
static size_t    arena_used, arena_size;


static ngx_ams_ring_t *
new_ring(uint32_t index_size, uint32_t data_size)
{
    size_t           size = ngx_ams_ring_size(index_size, data_size);
    ngx_ams_ring_t  *ring;

    size = (size + 63) & ~(size_t) 63;

    if (arena_used + size > arena_size) {
        fprintf(stderr, "arena full\n");
        exit(2);
    }

    ring = (ngx_ams_ring_t *) (arena + arena_used);
    arena_used += size;

    ngx_ams_ring_init(ring, index_size, data_size);

    return ring;
}


/* frame n: "size" bytes of value n & 0xff, a keyframe every "gop" */
static int
put(ngx_ams_ring_t *ring, uint64_t n, uint32_t size, unsigned gop,
    unsigned track)
{
    static uint8_t   buf[1 << 20];
    ngx_ams_frame_t  f;

    memset(&f, 0, sizeof(f));
    memset(buf, (int) (n & 0xff), size);

    f.dts = (int64_t) n * 3000;
    f.size = size;
    f.track = track;
    f.codec = track == NGX_AMS_TRACK_VIDEO ? NGX_AMS_CODEC_H264
                                           : NGX_AMS_CODEC_AAC;
    f.flags = (track == NGX_AMS_TRACK_VIDEO && n % gop == 0)
              ? NGX_AMS_FRAME_KEY : 0;

    return ngx_ams_ring_write(ring, &f, buf);
}


static int
intact(ngx_ams_ring_event_t *ev)
{
    uint32_t  i;
    uint8_t   want = (uint8_t) ((ev->frame.dts / 3000) & 0xff);

    for (i = 0; i < ev->len; i++) {
        if (ev->data[i] != want) {
            return 0;
        }
    }

    return 1;
}


/* the next event, consumed; NGX_AMS_EVENT_* or 0 when there is none */
static int
take(ngx_ams_ring_t *ring, ngx_ams_ring_cursor_t *c, int ended,
    ngx_ams_ring_event_t *ev)
{
    if (ngx_ams_ring_next(ring, c, ended, ev) != NGX_AMS_RING_OK) {
        return 0;
    }

    if (ngx_ams_ring_consume(c, ev) != NGX_AMS_RING_OK) {
        return -1;
    }

    return ev->type;
}


static void
test_configs(void)
{
    ngx_ams_ring_t         *ring;
    ngx_ams_ring_cursor_t   c;
    ngx_ams_ring_event_t    ev;

    ring = new_ring(64, 100000);

    ngx_ams_ring_set_config(ring, NGX_AMS_TRACK_VIDEO, NGX_AMS_CODEC_H264,
                            (const uint8_t *) "avcC-1", 6);
    ngx_ams_ring_set_config(ring, NGX_AMS_TRACK_AUDIO, NGX_AMS_CODEC_AAC,
                            (const uint8_t *) "asc", 3);

    ngx_ams_ring_cursor_join(ring, &c);
    is_int(take(ring, &c, 0, &ev), 0, "an empty ring has no event");

    put(ring, 0, 100, 10, NGX_AMS_TRACK_VIDEO);
    put(ring, 1, 50, 10, NGX_AMS_TRACK_AUDIO);

    ok(take(ring, &c, 0, &ev) == NGX_AMS_EVENT_CONFIG
       && ev.track == NGX_AMS_TRACK_VIDEO && ev.len == 6
       && memcmp(ev.data, "avcC-1", 6) == 0,
       "the video configuration comes before the first video frame");
    ok(take(ring, &c, 0, &ev) == NGX_AMS_EVENT_FRAME && ev.frame.seq == 0
       && intact(&ev), "then the keyframe");
    ok(take(ring, &c, 0, &ev) == NGX_AMS_EVENT_CONFIG
       && ev.track == NGX_AMS_TRACK_AUDIO && ev.codec == NGX_AMS_CODEC_AAC,
       "the audio configuration before the first audio frame");
    ok(take(ring, &c, 0, &ev) == NGX_AMS_EVENT_FRAME && ev.frame.seq == 1,
       "then the audio frame");
    is_int(take(ring, &c, 0, &ev), 0, "nothing more");

    ngx_ams_ring_set_config(ring, NGX_AMS_TRACK_DATA, 0,
                            (const uint8_t *) "onMetaData", 10);
    ok(take(ring, &c, 0, &ev) == NGX_AMS_EVENT_CONFIG
       && ev.track == NGX_AMS_TRACK_DATA && ev.len == 10,
       "new metadata is an event of its own, without a frame");
    is_int(take(ring, &c, 0, &ev), 0, "once");

    /* a frame written before the change reaches the reader after it has
     * seen the newer configuration: it passes, no event loops */
    put(ring, 2, 100, 10, NGX_AMS_TRACK_VIDEO);
    ngx_ams_ring_set_config(ring, NGX_AMS_TRACK_VIDEO, NGX_AMS_CODEC_H264,
                            (const uint8_t *) "avcC-2", 6);
    put(ring, 10, 100, 10, NGX_AMS_TRACK_VIDEO);

    ok(take(ring, &c, 0, &ev) == NGX_AMS_EVENT_FRAME && ev.frame.seq == 2,
       "a frame of the old configuration");
    ok(take(ring, &c, 0, &ev) == NGX_AMS_EVENT_CONFIG
       && memcmp(ev.data, "avcC-2", 6) == 0,
       "the changed configuration before the frame that needs it");
    ok(take(ring, &c, 0, &ev) == NGX_AMS_EVENT_FRAME && ev.frame.seq == 3,
       "then that frame");

    is_int(take(ring, &c, 1, &ev), NGX_AMS_EVENT_END,
           "an ended stream, all read: the end");
    is_int(take(ring, &c, 1, &ev), NGX_AMS_EVENT_END, "and again");
}


/* frames on the data track (ID3, SCTE-35 to come) under older metadata */
static void
test_data_frames(void)
{
    ngx_ams_ring_t         *ring;
    ngx_ams_ring_cursor_t   c;
    ngx_ams_ring_event_t    ev;

    ring = new_ring(64, 100000);
    put(ring, 0, 100, 10, NGX_AMS_TRACK_VIDEO);
    ngx_ams_ring_cursor_join(ring, &c);

    ngx_ams_ring_set_config(ring, NGX_AMS_TRACK_DATA, 0,
                            (const uint8_t *) "meta-1", 6);
    put(ring, 1, 20, 10, NGX_AMS_TRACK_DATA);
    ngx_ams_ring_set_config(ring, NGX_AMS_TRACK_DATA, 0,
                            (const uint8_t *) "meta-2", 6);
    put(ring, 2, 20, 10, NGX_AMS_TRACK_DATA);

    is_int(take(ring, &c, 0, &ev), NGX_AMS_EVENT_CONFIG, "metadata first");
    ok(memcmp(ev.data, "meta-2", 6) == 0, "the newest");
    ok(take(ring, &c, 0, &ev) == NGX_AMS_EVENT_FRAME && ev.frame.seq == 0,
       "the keyframe");
    ok(take(ring, &c, 0, &ev) == NGX_AMS_EVENT_FRAME && ev.frame.seq == 1,
       "a data frame written under older metadata passes");
    ok(take(ring, &c, 0, &ev) == NGX_AMS_EVENT_FRAME && ev.frame.seq == 2,
       "and the next one");
    is_int(take(ring, &c, 0, &ev), 0, "nothing more");
}


static void
test_end_after_frames(void)
{
    ngx_ams_ring_t         *ring;
    ngx_ams_ring_cursor_t   c;
    ngx_ams_ring_event_t    ev;

    ring = new_ring(64, 100000);
    put(ring, 0, 100, 10, NGX_AMS_TRACK_VIDEO);
    ngx_ams_ring_cursor_join(ring, &c);
    put(ring, 1, 100, 10, NGX_AMS_TRACK_VIDEO);

    ok(take(ring, &c, 1, &ev) == NGX_AMS_EVENT_FRAME && ev.frame.seq == 0
       && take(ring, &c, 1, &ev) == NGX_AMS_EVENT_FRAME
       && ev.frame.seq == 1,
       "frames still in the ring come before the end");
    is_int(take(ring, &c, 1, &ev), NGX_AMS_EVENT_END, "then the end");
}


static void
test_skip_and_torn(void)
{
    int                     type;
    uint64_t                n;
    ngx_ams_ring_t         *ring;
    ngx_ams_ring_cursor_t   c;
    ngx_ams_ring_event_t    ev;

    ring = new_ring(64, 20000);
    put(ring, 0, 1000, 10, NGX_AMS_TRACK_VIDEO);
    ngx_ams_ring_cursor_join(ring, &c);

    for (n = 1; n < 50; n++) {
        put(ring, n, 1000, 10, NGX_AMS_TRACK_VIDEO);
    }

    type = take(ring, &c, 0, &ev);
    ok(type == NGX_AMS_EVENT_SKIP && ev.dropped > 0,
       "an overrun reader gets a skip with the frames lost (%llu)",
       (unsigned long long) ev.dropped);

    while ((type = take(ring, &c, 0, &ev)) == NGX_AMS_EVENT_CONFIG) {
        /* none here, but allowed */
    }

    ok(type == NGX_AMS_EVENT_FRAME && (ev.frame.flags & NGX_AMS_FRAME_KEY)
       && intact(&ev), "and goes on at an intact keyframe (frame %llu)",
       (unsigned long long) ev.frame.seq);

    /* peek a frame, let the writer overwrite it, then consume */
    ok(ngx_ams_ring_next(ring, &c, 0, &ev) == NGX_AMS_RING_OK
       && ev.type == NGX_AMS_EVENT_FRAME, "a frame peeked");

    for (n = 50; n < 80; n++) {
        put(ring, n, 1000, 10, NGX_AMS_TRACK_VIDEO);
    }

    is_int(ngx_ams_ring_consume(&c, &ev), NGX_AMS_RING_AGAIN,
           "consuming it after it was overwritten is refused");
    is_int(take(ring, &c, 0, &ev), NGX_AMS_EVENT_SKIP,
           "and the next event is a skip");
}


static void
test_move(void)
{
    int                     good;
    uint64_t                n, next;
    ngx_ams_ring_t         *small, *big;
    ngx_ams_ring_cursor_t   c;
    ngx_ams_ring_event_t    ev, held;

    small = new_ring(64, 20000);
    ngx_ams_ring_set_config(small, NGX_AMS_TRACK_VIDEO, NGX_AMS_CODEC_H264,
                            (const uint8_t *) "avcC", 4);

    for (n = 0; n < 30; n++) {
        put(small, n, 600, 10, NGX_AMS_TRACK_VIDEO);
    }

    ngx_ams_ring_cursor_join(small, &c);
    is_int(c.pos.next_seq, 20, "a reader joins at the last keyframe");

    is_int(take(small, &c, 0, &ev), NGX_AMS_EVENT_CONFIG, "config");
    ok(take(small, &c, 0, &ev) == NGX_AMS_EVENT_FRAME && ev.frame.seq == 20,
       "frame 20 from the small ring");

    /* a frame peeked from the old ring, consumed after the move */
    ok(ngx_ams_ring_next(small, &c, 0, &held) == NGX_AMS_RING_OK
       && held.frame.seq == 21, "frame 21 peeked");

    big = new_ring(256, 200000);
    ngx_ams_ring_move(big, small);

    is_int(big->write_seq, 30, "the new ring goes on at the same sequence");
    is_int(big->last_key_seq, 20, "with the same last keyframe");

    ok(ngx_ams_ring_consume(&c, &held) == NGX_AMS_RING_OK && intact(&held),
       "a frame being read from the old ring stays intact");

    for (n = 30; n < 200; n++) {
        put(big, n, 600 + (uint32_t) (n % 13) * 50, 10, NGX_AMS_TRACK_VIDEO);
    }

    good = 1;
    next = 22;

    while (take(big, &c, 0, &ev) == NGX_AMS_EVENT_FRAME) {
        if (ev.frame.seq != next++ || !intact(&ev)) {
            good = 0;
        }
    }

    ok(good && next == 200,
       "the reader carries on in the new ring without a loss (to %llu)",
       (unsigned long long) next);

    ngx_ams_ring_cursor_join(big, &c);
    ok(take(big, &c, 0, &ev) == NGX_AMS_EVENT_CONFIG && ev.len == 4
       && memcmp(ev.data, "avcC", 4) == 0,
       "a reader joining the new ring gets the configuration moved over");
}


/*
 * A writer thread grows the ring twice while a reader in another process
 * and a reader thread follow it: neither ever gets a torn frame, frames
 * come in order, and a gap is always announced by a skip.
 */

typedef struct {
    ngx_ams_ring_t * volatile  ring;
    volatile int               ended;
    uint64_t                   frames;
} shared_t;


static shared_t  *shared;


static int
follow(void)
{
    int                     type;
    uint64_t                expect, got;
    ngx_ams_ring_t         *ring;
    ngx_ams_ring_cursor_t   c;
    ngx_ams_ring_event_t    ev;

    ring = __atomic_load_n(&shared->ring, __ATOMIC_ACQUIRE);
    ngx_ams_ring_cursor_join(ring, &c);
    expect = c.pos.next_seq;
    got = 0;

    for ( ;; ) {
        int  ended = __atomic_load_n(&shared->ended, __ATOMIC_ACQUIRE);

        ring = __atomic_load_n(&shared->ring, __ATOMIC_ACQUIRE);

        if (ngx_ams_ring_next(ring, &c, ended, &ev) != NGX_AMS_RING_OK) {
            usleep(20);
            continue;
        }

        type = ev.type;

        if (type == NGX_AMS_EVENT_END) {
            break;
        }

        if (type == NGX_AMS_EVENT_SKIP) {
            expect = c.pos.next_seq;
            continue;
        }

        if (type == NGX_AMS_EVENT_FRAME) {
            if (ev.frame.seq != expect) {
                return 1;                            /* out of order */
            }

            if (!intact(&ev)) {
                if (ngx_ams_ring_consume(&c, &ev) == NGX_AMS_RING_OK) {
                    return 2;                        /* torn, accepted */
                }
                continue;
            }

            if (ngx_ams_ring_consume(&c, &ev) != NGX_AMS_RING_OK) {
                continue;
            }

            expect = ev.frame.seq + 1;
            got++;
            continue;
        }

        (void) ngx_ams_ring_consume(&c, &ev);
    }

    return got > 1000 ? 0 : 3;                       /* it did follow */
}


static void *
writer_thread(void *arg)
{
    uint64_t         n;
    ngx_ams_ring_t  *ring, *bigger;

    ring = shared->ring;

    for (n = 1; n < shared->frames; n++) {
        if (n == 5000 || n == 15000) {
            bigger = new_ring(ring->index_size * 2, ring->data_size * 4);
            ngx_ams_ring_move(bigger, ring);
            __atomic_store_n(&shared->ring, bigger, __ATOMIC_RELEASE);
            ring = bigger;
        }

        put(ring, n, 500 + (uint32_t) (n * 7919 % 3000), 30,
            NGX_AMS_TRACK_VIDEO);

        if (n % 64 == 0) {
            usleep(100);
        }
    }

    __atomic_store_n(&shared->ended, 1, __ATOMIC_RELEASE);

    return NULL;
}


static void
test_growth_across_processes(void)
{
    int                 status, rc;
    pid_t               pid;
    pthread_t           tid;
    ngx_ams_ring_t     *ring;

    shared = mmap(NULL, sizeof(shared_t), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    shared->frames = 30000;

    ring = new_ring(256, 64 * 1024);
    put(ring, 0, 2000, 30, NGX_AMS_TRACK_VIDEO);
    __atomic_store_n(&shared->ring, ring, __ATOMIC_RELEASE);

    pid = fork();

    if (pid == 0) {
        _exit(follow());
    }

    pthread_create(&tid, NULL, writer_thread, NULL);

    rc = follow();

    pthread_join(tid, NULL);
    waitpid(pid, &status, 0);

    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a reader in another process follows two ring moves: in order, "
       "intact, to the end (exit %d)",
       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    is_int(rc, 0, "so does a reader in the writer thread's process");
}


int
main(void)
{
    arena_size = 64 << 20;
    arena = mmap(NULL, arena_size, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (arena == MAP_FAILED) {
        perror("mmap");
        return 2;
    }

    test_configs();
    test_data_frames();
    test_end_after_frames();
    test_skip_and_torn();
    test_move();
    test_growth_across_processes();

    return done_testing();
}
