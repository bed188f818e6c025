
/*
 * Copyright (C) nginx-ams authors
 *
 * A light RTMP load client for the benchmarks, used the same way against
 * nginx-ams and nginx-rtmp: publishers replay the tags of an FLV file at
 * real time; players read and discard, counting the video frames they get.
 * One thread, epoll, every connection non-blocking.
 *
 *   ams_rtmp_load publish PORT APP NAME COUNT SECONDS FILE.flv [HLS_DIR]
 *       COUNT publishers of NAME0..NAME{COUNT-1} (NAME alone when COUNT
 *       is 1).  With HLS_DIR, the packaging delay of the first stream is
 *       measured: from the moment a keyframe was sent to the next time its
 *       playlist is renamed into place (inotify).
 *   ams_rtmp_load play PORT APP NAME COUNT SECONDS
 *       COUNT players of NAME for SECONDS
 *
 * Prints "key value" lines for the bench scripts.
 */


#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ngx_ams_rtmp_chunk.h"
#include "ngx_ams_amf0.h"


#define CHUNK        4096
#define HS           1536


typedef struct {
    uint8_t      type;
    uint32_t     ts;
    int          key;
    int          frame;       /* a video frame, not a sequence header */
    size_t       off;         /* in the shared chunked stream */
    size_t       len;
} tag_t;


typedef struct {
    int                          fd;
    int                          state;       /* 0 handshake, 1 streaming */
    int                          publisher;
    int                          logs_keys;
    double                       start;       /* publishers: staggered */
    uint8_t                      hs[1 + 2 * HS];
    size_t                       hs_got;
    uint8_t                      out[8192];   /* C2 and commands */
    size_t                       out_len, out_pos;
    size_t                       tag;         /* next tag to send */
    size_t                       tag_pos;     /* bytes of it already sent */
    ngx_ams_rtmp_chunk_parser_t  parser;
    uint64_t                     video;
    uint64_t                     bytes;
    int                          closed;
} conn_t;


static tag_t    *tags;
static size_t    ntags;
static uint8_t  *stream;           /* every tag as chunks, once */
static size_t    stream_len;
static double    last_key;         /* when stream 0 last sent a keyframe */
static double    delays[4096];
static int       ndelays;


static double
now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


/* a playlist of stream 0 was renamed into place */
static void
on_inotify(int fd, const char *playlist)
{
    char                         buf[8192];
    ssize_t                      n, off;
    const struct inotify_event  *e;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        for (off = 0; off < n; off += sizeof(*e) + e->len) {
            e = (const struct inotify_event *) (buf + off);

            if (e->len && strcmp(e->name, playlist) == 0 && last_key > 0
                && ndelays < 4096)
            {
                delays[ndelays++] = now() - last_key;
                last_key = 0;
            }
        }
    }
}


static void
load_flv(const char *path)
{
    FILE     *f;
    long      size;
    uint8_t  *d, *p;
    size_t    cap = 0, n;
    uint32_t  len, ts;

    f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(1);
    }

    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    d = malloc(size);
    if (fread(d, 1, size, f) != (size_t) size) {
        perror("read");
        exit(1);
    }
    fclose(f);

    stream = malloc(size * 2 + 65536);

    for (p = d + 13; p + 11 <= d + size; p += 11 + len + 4) {
        len = (p[1] << 16) | (p[2] << 8) | p[3];
        ts = (p[4] << 16) | (p[5] << 8) | p[6] | ((uint32_t) p[7] << 24);

        if (p + 11 + len > d + size) {
            break;
        }

        if (p[0] != 8 && p[0] != 9 && p[0] != 18) {
            continue;
        }

        if (ntags == cap) {
            cap = cap ? cap * 2 : 4096;
            tags = realloc(tags, cap * sizeof(tag_t));
        }

        tags[ntags].type = p[0];
        tags[ntags].ts = ts;
        tags[ntags].frame = (p[0] == 9 && len > 1 && p[12] == 1);
        tags[ntags].key = tags[ntags].frame && (p[11] >> 4) == 1;
        tags[ntags].off = stream_len;

        n = ngx_ams_rtmp_chunk_write(stream + stream_len, CHUNK,
                                     p[0] == 8 ? 6 : (p[0] == 9 ? 7 : 5),
                                     ts, p[0], 1, p + 11, len);
        tags[ntags].len = n;
        stream_len += n;
        ntags++;
    }

    free(d);
}


static size_t
command(uint8_t *out, uint32_t msid, const char *name, double txn,
    const char *arg, int play)
{
    uint8_t               buf[512];
    ngx_ams_amf_writer_t  w = { buf, buf + sizeof(buf), 0 };

    ngx_ams_amf_put_cstring(&w, name);
    ngx_ams_amf_put_number(&w, txn);

    if (strcmp(name, "connect") == 0) {
        ngx_ams_amf_put_object_start(&w);
        ngx_ams_amf_put_key(&w, "app");
        ngx_ams_amf_put_cstring(&w, arg);
        ngx_ams_amf_put_key(&w, "tcUrl");
        ngx_ams_amf_put_cstring(&w, "rtmp://127.0.0.1/");
        ngx_ams_amf_put_object_end(&w);

    } else {
        ngx_ams_amf_put_null(&w);
        if (arg) {
            ngx_ams_amf_put_cstring(&w, arg);
            if (play) {
                ngx_ams_amf_put_number(&w, -1000);
            } else {
                ngx_ams_amf_put_cstring(&w, "live");
            }
        }
    }

    return ngx_ams_rtmp_chunk_write(out, CHUNK, 3, 0, 20, msid, buf,
                                    w.p - buf);
}


static int
on_message(void *ctx, ngx_ams_rtmp_msg_t *msg, const char **err)
{
    conn_t  *c = ctx;

    if (msg->type == 9 && msg->length > 1 && msg->data[1] == 1) {
        c->video++;
    }

    /* answer pings as real players do: PingRequest (6) -> PingResponse */
    if (msg->type == 4 && msg->length >= 6 && msg->data[1] == 6
        && c->out_len + 32 < sizeof(c->out))
    {
        uint8_t  pong[6] = { 0, 7 };

        memcpy(pong + 2, msg->data + 2, 4);
        c->out_len += ngx_ams_rtmp_chunk_write(c->out + c->out_len, CHUNK, 2,
                                               0, 4, 0, pong, 6);
    }

    return 0;
}


static void
start(conn_t *c, const char *app, const char *name)
{
    uint8_t  *p;

    /* C2, chunk size, connect, createStream, publish or play */
    p = c->out;
    memcpy(p, c->hs + 1, HS);
    p += HS;
    p += ngx_ams_rtmp_chunk_write(p, 128, 2, 0, 1, 0,
                                  (const uint8_t *) "\0\0\x10\0", 4);
    p += command(p, 0, "connect", 1, app, 0);
    p += command(p, 0, "createStream", 2, NULL, 0);
    p += command(p, 1, c->publisher ? "publish" : "play", 0, name,
                 !c->publisher);

    c->out_len = p - c->out;
    c->out_pos = 0;
    c->state = 1;
}


static void
pump(conn_t *c, double elapsed)
{
    ssize_t  n;

    if (c->out_pos == c->out_len) {
        c->out_pos = c->out_len = 0;
    }

    while (c->out_pos < c->out_len) {
        n = write(c->fd, c->out + c->out_pos, c->out_len - c->out_pos);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN) {
                c->closed = 1;
            }
            return;
        }
        c->out_pos += n;
    }

    if (!c->publisher || c->state != 1) {
        return;
    }

    while (c->tag < ntags && tags[c->tag].ts <= (elapsed - c->start) * 1000) {
        tag_t  *t = &tags[c->tag];

        n = write(c->fd, stream + t->off + c->tag_pos, t->len - c->tag_pos);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN) {
                c->closed = 1;
            }
            return;
        }

        c->tag_pos += n;

        if (c->tag_pos == t->len) {
            if (t->key && c->logs_keys) {
                last_key = now();
            }
            c->tag++;
            c->tag_pos = 0;
        }
    }
}


int
main(int argc, char **argv)
{
    int                  ep, i, n, count, port, publisher, ino = -1;
    char                 playlist[300];
    double               t0, seconds, elapsed;
    char                 name[256];
    conn_t              *conns;
    uint64_t             published = 0, min, max, total;
    struct sockaddr_in   sin;
    struct epoll_event   ev, evs[256];

    if (argc < 7) {
        fprintf(stderr, "usage: %s publish|play PORT APP NAME COUNT SECONDS "
                "[FILE.flv [KEYLOG]]\n", argv[0]);
        return 2;
    }

    publisher = strcmp(argv[1], "publish") == 0;
    port = atoi(argv[2]);
    count = atoi(argv[5]);
    seconds = atof(argv[6]);

    ep = epoll_create1(0);

    if (publisher) {
        if (argc < 8) {
            fprintf(stderr, "publish needs an FLV file\n");
            return 2;
        }
        load_flv(argv[7]);

        if (argc > 8) {
            ino = inotify_init1(IN_NONBLOCK);
            if (inotify_add_watch(ino, argv[8], IN_MOVED_TO) < 0) {
                perror(argv[8]);
                return 1;
            }
            snprintf(playlist, sizeof(playlist), "%s%s.m3u8", argv[4],
                     count > 1 ? "0" : "");
            ev.events = EPOLLIN;
            ev.data.ptr = NULL;
            epoll_ctl(ep, EPOLL_CTL_ADD, ino, &ev);
        }
    }

    conns = calloc(count, sizeof(conn_t));

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    sin.sin_addr.s_addr = htonl(0x7f000001);

    for (i = 0; i < count; i++) {
        conn_t  *c = &conns[i];

        c->publisher = publisher;
        c->fd = socket(AF_INET, SOCK_STREAM, 0);

        if (connect(c->fd, (struct sockaddr *) &sin, sizeof(sin)) != 0) {
            perror("connect");
            return 1;
        }

        fcntl(c->fd, F_SETFL, O_NONBLOCK);
        n = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &n, sizeof(n));

        /* plain handshake: C0 and a zero C1 */
        c->out[0] = 3;
        memset(c->out + 1, 0, HS);
        c->out_len = 1 + HS;

        /* only one publisher logs keyframes; the rest start within 1 s */
        c->start = publisher ? (i == 0 ? 0 : (double) (i * 7919 % 1000) / 1000)
                             : 0;
        c->logs_keys = (i == 0 && ino != -1);

        ngx_ams_rtmp_chunk_init(&c->parser, 16 << 20, on_message, c);

        ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
        ev.data.ptr = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }

    t0 = now();

    while ((elapsed = now() - t0) < seconds) {
        n = epoll_wait(ep, evs, 256, 5);

        for (i = 0; i < n; i++) {
            conn_t   *c = evs[i].data.ptr;
            uint8_t   buf[65536];
            ssize_t   r = -1;

            if (c == NULL) {
                on_inotify(ino, playlist);
                continue;
            }

            while (!c->closed
                   && (r = read(c->fd, buf, sizeof(buf))) > 0)
            {
                c->bytes += r;

                if (c->state == 0) {
                    size_t  k = (size_t) r < sizeof(c->hs) - c->hs_got
                                ? (size_t) r : sizeof(c->hs) - c->hs_got;

                    memcpy(c->hs + c->hs_got, buf, k);
                    c->hs_got += k;

                    if (c->hs_got == sizeof(c->hs)) {
                        if (publisher && count > 1) {
                            snprintf(name, sizeof(name), "%s%d", argv[4],
                                     (int) (c - conns));
                        } else {
                            snprintf(name, sizeof(name), "%s", argv[4]);
                        }
                        start(c, argv[3], name);

                        if (!publisher && (size_t) r > k) {
                            ngx_ams_rtmp_chunk_parse(&c->parser, buf + k,
                                                     r - k);
                        }
                    }

                } else if (!publisher) {
                    if (ngx_ams_rtmp_chunk_parse(&c->parser, buf, r) != 0) {
                        fprintf(stderr, "player %d: %s\n", (int) (c - conns),
                                c->parser.error);
                        c->closed = 1;
                    }
                }
            }

            if (r == 0) {
                c->closed = 1;
            }
        }

        for (i = 0; i < count; i++) {
            if (!conns[i].closed) {
                pump(&conns[i], elapsed);
            }
        }
    }

    n = 0;

    if (publisher) {
        for (i = 0; i < count; i++) {
            size_t  k;

            for (k = 0; k < conns[i].tag; k++) {
                published += tags[k].frame;
            }
        }

        for (i = 0; i < count; i++) {
            n += conns[i].closed;
        }

        printf("publishers %d\n", count);
        printf("closed %d\n", n);
        printf("video_frames_sent %llu\n", (unsigned long long) published);

        if (ndelays) {
            qsort(delays, ndelays, sizeof(double), cmp_double);
            printf("packaging_delay_samples %d\n", ndelays);
            printf("packaging_delay_median_ms %.1f\n",
                   delays[ndelays / 2] * 1000);
            printf("packaging_delay_p90_ms %.1f\n",
                   delays[ndelays * 9 / 10] * 1000);
        }

        return 0;
    }

    min = UINT64_MAX;
    max = 0;
    total = 0;
    n = 0;

    for (i = 0; i < count; i++) {
        if (conns[i].video < min) {
            min = conns[i].video;
        }
        if (conns[i].video > max) {
            max = conns[i].video;
        }
        total += conns[i].video;
        n += conns[i].closed;
    }

    printf("players %d\n", count);
    printf("closed %d\n", n);
    printf("video_frames_min %llu\n", (unsigned long long) min);
    printf("video_frames_max %llu\n", (unsigned long long) max);
    printf("video_frames_total %llu\n", (unsigned long long) total);

    return 0;
}
