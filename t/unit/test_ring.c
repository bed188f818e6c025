
/*
 * Copyright (C) nginx-ams authors
 *
 * The frame ring: wrap-around, overrun, joining mid-GOP, config, and a
 * reader in another process.
 */


#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "ngx_ams_ring.h"


static ngx_ams_ring_t *
new_ring(uint32_t index_size, uint32_t data_size)
{
    size_t           size = ngx_ams_ring_size(index_size, data_size);
    ngx_ams_ring_t  *ring;

    ring = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                -1, 0);
    if (ring == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }

    ngx_ams_ring_init(ring, index_size, data_size);

    return ring;
}


/* frame n: n bytes... of value n & 0xff, keyframe every gop frames */
static int
put(ngx_ams_ring_t *ring, uint64_t n, uint32_t size, unsigned gop)
{
    uint8_t          buf[65536];
    ngx_ams_frame_t  f;

    memset(&f, 0, sizeof(f));
    memset(buf, (int) (n & 0xff), size);

    f.dts = (int64_t) n * 3000;
    f.size = size;
    f.track = NGX_AMS_TRACK_VIDEO;
    f.codec = NGX_AMS_CODEC_H264;
    f.flags = (n % gop == 0) ? NGX_AMS_FRAME_KEY : 0;

    return ngx_ams_ring_write(ring, &f, buf);
}


static int
check_frame(const ngx_ams_frame_t *f, const uint8_t *data)
{
    uint32_t  i;
    uint8_t   want = (uint8_t) ((f->dts / 3000) & 0xff);

    for (i = 0; i < f->size; i++) {
        if (data[i] != want) {
            return 0;
        }
    }

    return 1;
}


static void
test_basic_and_wrap(void)
{
    int                    rc, good;
    uint64_t               n, read;
    uint8_t                buf[65536];
    ngx_ams_ring_t        *ring;
    ngx_ams_frame_t        f;
    ngx_ams_ring_reader_t  rd;

    ring = new_ring(64, 10000);

    ngx_ams_ring_reader_join(ring, &rd);
    ok(!rd.started, "a reader of an empty ring waits for a keyframe");
    is_int(ngx_ams_ring_read(ring, &rd, &f, buf, sizeof(buf)),
           NGX_AMS_RING_AGAIN, "nothing to read yet");

    /* 1000-byte frames in a 10000-byte area: wraps every few frames */
    good = 1;
    read = 0;

    for (n = 0; n < 200; n++) {
        if (put(ring, n, 1000 + (uint32_t) (n % 7) * 100, 10)
            != NGX_AMS_RING_OK)
        {
            good = 0;
        }

        while ((rc = ngx_ams_ring_read(ring, &rd, &f, buf, sizeof(buf)))
               == NGX_AMS_RING_OK)
        {
            if (f.seq != read || !check_frame(&f, buf)) {
                good = 0;
            }
            read++;
        }
    }

    ok(good, "a reader keeping up gets every frame intact across wraps");
    is_int(read, 200, "200 frames read");
    is_int(rd.dropped, 0, "nothing dropped");

    f.size = 6000;
    f.track = 0;
    f.flags = 0;
    is_int(ngx_ams_ring_write(ring, &f, buf), NGX_AMS_RING_TOO_BIG,
           "a frame over half the area is refused");
}


static void
test_overrun(void)
{
    int                    rc;
    uint64_t               n;
    uint8_t                buf[65536];
    ngx_ams_ring_t        *ring;
    ngx_ams_frame_t        f;
    ngx_ams_ring_reader_t  rd;

    ring = new_ring(64, 20000);

    put(ring, 0, 500, 10);
    ngx_ams_ring_reader_join(ring, &rd);

    rc = ngx_ams_ring_read(ring, &rd, &f, buf, sizeof(buf));
    ok(rc == NGX_AMS_RING_OK && f.seq == 0, "reader takes the first frame");

    /* the writer runs far ahead: the reader's position is overwritten */
    for (n = 1; n < 300; n++) {
        put(ring, n, 500, 10);
    }

    rc = ngx_ams_ring_read(ring, &rd, &f, buf, sizeof(buf));
    ok(rc == NGX_AMS_RING_OK, "an overrun reader still reads");
    ok(f.flags & NGX_AMS_FRAME_KEY, "and resumes at a keyframe");
    ok(check_frame(&f, buf), "which is intact");
    ok(rd.skips == 1, "one skip counted");
    ok(rd.dropped > 0 && rd.dropped == f.seq - 1,
       "dropped frames counted (%llu)", (unsigned long long) rd.dropped);
    ok(f.seq > 300 - 64, "resumed inside the index window (seq %llu)",
       (unsigned long long) f.seq);
}


static void
test_join_mid_gop(void)
{
    uint64_t               n;
    uint8_t                buf[65536];
    ngx_ams_ring_t        *ring;
    ngx_ams_frame_t        f;
    ngx_ams_ring_reader_t  rd;

    ring = new_ring(256, 100000);

    for (n = 0; n < 25; n++) {     /* keyframes at 0, 10, 20 */
        put(ring, n, 100, 10);
    }

    ngx_ams_ring_reader_join(ring, &rd);
    ok(rd.started && rd.next_seq == 20, "a late reader starts at the last "
       "keyframe (seq %llu)", (unsigned long long) rd.next_seq);

    ngx_ams_ring_read(ring, &rd, &f, buf, sizeof(buf));
    ok((f.flags & NGX_AMS_FRAME_KEY) && f.seq == 20, "its first frame is "
       "that keyframe");
    ok(f.dts == 60000, "with its timestamp");
}


static void
test_config(void)
{
    uint8_t          buf[NGX_AMS_CONFIG_MAX];
    uint32_t         codec, len, version;
    ngx_ams_ring_t  *ring;
    ngx_ams_frame_t  f;

    ring = new_ring(16, 4096);

    ngx_ams_ring_set_config(ring, NGX_AMS_TRACK_AUDIO, NGX_AMS_CODEC_AAC,
                            (const uint8_t *) "\x12\x10", 2);

    ok(ngx_ams_ring_get_config(ring, NGX_AMS_TRACK_AUDIO, &codec, buf, &len,
                               &version) == NGX_AMS_RING_OK
       && codec == NGX_AMS_CODEC_AAC && len == 2
       && memcmp(buf, "\x12\x10", 2) == 0, "config reads back");

    memset(&f, 0, sizeof(f));
    f.size = 4;
    f.track = NGX_AMS_TRACK_AUDIO;
    f.flags = NGX_AMS_FRAME_KEY;
    ngx_ams_ring_write(ring, &f, (const uint8_t *) "abcd");

    ok(f.config_version == version, "frames carry the config version "
       "they were written under");
}


/* a reader in another process, while the writer writes */
static void
test_other_process(void)
{
    int                    status, rc;
    pid_t                  pid;
    uint64_t               n, got, bad;
    uint8_t                buf[65536];
    ngx_ams_ring_t        *ring;
    ngx_ams_frame_t        f;
    ngx_ams_ring_reader_t  rd;

    ring = new_ring(1024, 1 << 20);

    put(ring, 0, 2000, 30);

    pid = fork();

    if (pid == 0) {
        ngx_ams_ring_reader_join(ring, &rd);
        got = 0;
        bad = 0;

        while (rd.next_seq < 20000) {
            rc = ngx_ams_ring_read(ring, &rd, &f, buf, sizeof(buf));

            if (rc == NGX_AMS_RING_OK) {
                got++;
                if (!check_frame(&f, buf)) {
                    bad++;
                }

            } else {
                usleep(50);
            }
        }

        /* exit code: 0 all good, 1 torn frame returned, 2 nothing read */
        _exit(bad ? 1 : (got == 0 ? 2 : 0));
    }

    for (n = 1; n <= 20000; n++) {
        put(ring, n, 1000 + (uint32_t) (n * 7919 % 9000), 30);
    }

    waitpid(pid, &status, 0);

    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "a reader in another process never gets a torn frame (exit %d)",
       WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}


int
main(void)
{
    test_basic_and_wrap();
    test_overrun();
    test_join_mid_gop();
    test_config();
    test_other_process();

    return done_testing();
}
