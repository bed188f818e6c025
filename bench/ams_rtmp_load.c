
/*
 * Copyright (C) nginx-ams authors
 *
 * A light RTMP/HLS load client for the benchmarks and the fault-injection
 * scenario, used the same way against nginx-ams and nginx-rtmp:
 * publishers replay the tags of an FLV file at real time; players read,
 * counting the video frames they get and checking that their timestamps
 * only jump to a keyframe; HLS pollers follow playlists and fetch every
 * new segment, checking that media sequence numbers follow each other.
 * One thread, epoll, every connection non-blocking.
 *
 *   ams_rtmp_load [OPTIONS] publish PORT APP NAME COUNT SECONDS FILE.flv
 *                 [HLS_DIR]
 *       COUNT publishers of NAME0..NAME{COUNT-1} (NAME alone when COUNT
 *       is 1).  With HLS_DIR, the packaging delay of the first stream is
 *       measured: from the moment a keyframe was sent to the next time its
 *       playlist is renamed into place (inotify).
 *   ams_rtmp_load [OPTIONS] play PORT APP NAME COUNT SECONDS
 *       COUNT players of NAME for SECONDS
 *   ams_rtmp_load [OPTIONS] hls HTTP_PORT APP NAME COUNT SECONDS
 *       COUNT pollers of /APP/streams/NAME.m3u8 for SECONDS
 *
 * Options:
 *   -s N     players and pollers spread over N streams: the i-th follows
 *            NAME{i % N}
 *   -l       publishers loop the file, timestamps going on
 *   -i MS    players: the video frame interval; a timestamp step over
 *            1.5 intervals is a skip, allowed only to a keyframe
 *   -p MS    pollers: how often a playlist is read (default 1000)
 *   -r FILE  one line per connection at the end (see report()): frames
 *            sent or received, skips to keyframes and bad gaps, segments
 *            fetched and media sequence gaps, when it was closed; and at
 *            the start FILE.ports, each connection's local port, for the
 *            caller to find the server's worker at the other end
 *
 * Prints "key value" lines for the bench scripts.
 */


#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
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

#define PUBLISH      0
#define PLAY         1
#define HLS          2


typedef struct {
    uint8_t          type;
    uint32_t         ts;
    int              key;
    int              frame;      /* a video frame, not a sequence header */
    int              header;     /* metadata, sequence headers: sent once */
    const uint8_t   *data;
    uint32_t         len;
} tag_t;


typedef struct {
    long long        seq;
    double           dur;
    char             uri[128];
} seg_t;


typedef struct {
    int                          fd;
    int                          state;     /* RTMP: 0 handshake, 1 streaming;
                                               HLS: 0 idle, 1 waiting for a
                                               response, 2 done */
    int                          logs_keys;
    int                          key_pending;
    int                          lport;
    double                       start;     /* publishers: staggered */
    char                         name[256];
    uint8_t                      hs[1 + 2 * HS];
    size_t                       hs_got;
    uint8_t                     *out;       /* C2, commands, tags, requests */
    size_t                       out_cap, out_len, out_pos;
    size_t                       tag;       /* next tag to send */
    uint32_t                     offset;    /* ms added on each loop */
    ngx_ams_rtmp_chunk_parser_t  parser;
    uint64_t                     video;
    uint64_t                     keys;
    uint64_t                     bytes;
    int                          closed;
    double                       closed_at;

    /* publishers */
    int                          sent_any;
    uint32_t                     first_ts, last_ts;

    /* players */
    uint32_t                     prev_ts;
    uint64_t                     key_skips, skipped, bad_gaps, bad_start;
    int                          ended;

    /* HLS pollers */
    uint8_t                     *in;
    size_t                       in_cap, in_len;
    double                       next_at, sent_at;
    int                          want_seg;  /* the request is segs[seg_next] */
    seg_t                       *segs;
    size_t                       nsegs, segs_cap, seg_next;
    long long                    last_seq;
    long long                    first_seq;
    uint64_t                     seq_gaps, restarts, bad_segments,
                                 pl_errors, timeouts, fetched, retries;
    int                          retries_left;
    double                       dur;
} conn_t;


static int       mode;
static tag_t    *tags;
static size_t    ntags;
static size_t    first_frame;      /* where a loop starts again */
static uint32_t  loop_ms;
static int       loop;
static int       interval_ms;
static int       poll_ms = 1000;
static int       streams;
static double    last_key;         /* when stream 0 last sent a keyframe */
static double    delays[4096];
static int       ndelays;
static int       ep;
static const char  *app;
static struct sockaddr_in  sin_srv;


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


static void
reserve(uint8_t **buf, size_t *cap, size_t need)
{
    if (need > *cap) {
        *cap = need + need / 2 + 4096;
        *buf = realloc(*buf, *cap);
        if (*buf == NULL) {
            perror("realloc");
            exit(1);
        }
    }
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
    size_t    cap = 0;
    uint32_t  len, ts, last_video = 0, step = 0;

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

    first_frame = (size_t) -1;

    for (p = d + 13; p + 11 <= d + size; p += 11 + len + 4) {
        tag_t  *t;

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

        t = &tags[ntags];
        t->type = p[0];
        t->ts = ts;
        t->data = p + 11;          /* the file stays in memory */
        t->len = len;
        t->frame = (p[0] == 9 && len > 1 && p[12] == 1);
        t->key = t->frame && (p[11] >> 4) == 1;
        t->header = p[0] == 18 || (p[0] == 9 && !t->frame)
                    || (p[0] == 8 && len > 1 && (p[11] >> 4) == 10
                        && p[12] == 0);

        if (t->frame) {
            if (first_frame == (size_t) -1) {
                first_frame = ntags;
            }
            if (ts > last_video) {
                step = ts - last_video;
                last_video = ts;
            }
        }

        ntags++;
    }

    /* the next loop starts one frame interval after the last frame */
    loop_ms = last_video + step;

    if (first_frame == (size_t) -1 || !tags[first_frame].key) {
        fprintf(stderr, "%s: no video, or the first frame is no keyframe\n",
                path);
        exit(1);
    }
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


static void
on_video(conn_t *c, ngx_ams_rtmp_msg_t *msg)
{
    int       key;
    uint32_t  d;

    key = (msg->data[0] >> 4) == 1;

    if (c->video == 0) {
        c->bad_start += !key;

    } else if (interval_ms) {
        d = msg->timestamp - c->prev_ts;

        if ((int32_t) d < 0) {
            c->bad_gaps++;

        } else if (d * 2 > (uint32_t) interval_ms * 3) {
            /* frames went missing: only a skip to a keyframe is allowed */
            if (key) {
                c->key_skips++;
                c->skipped += (d + interval_ms / 2) / interval_ms - 1;

            } else {
                c->bad_gaps++;
            }
        }
    }

    c->prev_ts = msg->timestamp;
    c->video++;
    c->keys += key;
}


static int
on_message(void *ctx, ngx_ams_rtmp_msg_t *msg, const char **err)
{
    conn_t  *c = ctx;

    if (msg->type == 9 && msg->length > 1 && msg->data[1] == 1) {
        on_video(c, msg);
    }

    /* StreamEOF, or onStatus NetStream.Play.UnpublishNotify */
    if ((msg->type == 4 && msg->length >= 2 && msg->data[1] == 1)
        || (msg->type == 20
            && memmem(msg->data, msg->length, "UnpublishNotify", 15)))
    {
        c->ended = 1;
    }

    /* answer pings as real players do: PingRequest (6) -> PingResponse */
    if (msg->type == 4 && msg->length >= 6 && msg->data[1] == 6) {
        uint8_t  pong[6] = { 0, 7 };

        memcpy(pong + 2, msg->data + 2, 4);
        reserve(&c->out, &c->out_cap, c->out_len + 64);
        c->out_len += ngx_ams_rtmp_chunk_write(c->out + c->out_len, CHUNK, 2,
                                               0, 4, 0, pong, 6);
    }

    return 0;
}


static void
start(conn_t *c)
{
    uint8_t  *p;

    /* C2, chunk size, connect, createStream, publish or play */
    reserve(&c->out, &c->out_cap, HS + 2048);
    p = c->out;
    memcpy(p, c->hs + 1, HS);
    p += HS;
    p += ngx_ams_rtmp_chunk_write(p, 128, 2, 0, 1, 0,
                                  (const uint8_t *) "\0\0\x10\0", 4);
    p += command(p, 0, "connect", 1, app, 0);
    p += command(p, 0, "createStream", 2, NULL, 0);
    p += command(p, 1, mode == PUBLISH ? "publish" : "play", 0, c->name,
                 mode != PUBLISH);

    c->out_len = p - c->out;
    c->out_pos = 0;
    c->state = 1;
}


static void
close_conn(conn_t *c)
{
    if (!c->closed) {
        c->closed = 1;
        c->closed_at = now();
    }
}


static void
pump(conn_t *c, double elapsed)
{
    ssize_t   n;
    tag_t    *t;
    uint32_t  ts;

    for ( ;; ) {
        while (c->out_pos < c->out_len) {
            n = write(c->fd, c->out + c->out_pos, c->out_len - c->out_pos);
            if (n <= 0) {
                if (n < 0 && errno != EAGAIN) {
                    close_conn(c);
                }
                return;
            }
            c->out_pos += n;
        }

        c->out_pos = c->out_len = 0;

        if (c->key_pending) {
            last_key = now();
            c->key_pending = 0;
        }

        if (mode != PUBLISH || c->state != 1) {
            return;
        }

        if (c->tag == ntags) {
            if (!loop) {
                return;
            }
            c->tag = first_frame;
            c->offset += loop_ms;
        }

        t = &tags[c->tag];
        ts = t->ts + c->offset;

        if (ts > (elapsed - c->start) * 1000) {
            return;
        }

        c->tag++;

        if (c->offset && t->header) {
            continue;
        }

        reserve(&c->out, &c->out_cap,
                ngx_ams_rtmp_chunk_bound(t->len, CHUNK) + 64);
        c->out_len = ngx_ams_rtmp_chunk_write(c->out, CHUNK,
                                              t->type == 8 ? 6
                                              : (t->type == 9 ? 7 : 5),
                                              ts, t->type, 1, t->data,
                                              t->len);

        if (t->frame) {
            if (!c->sent_any) {
                c->first_ts = ts;
                c->sent_any = 1;
            }
            c->last_ts = ts;
            c->video++;
        }

        c->key_pending = t->key && c->logs_keys;
    }
}


static int
open_socket(conn_t *c)
{
    int                 fd, one = 1;
    socklen_t           len;
    struct sockaddr_in  local;

    fd = socket(AF_INET, SOCK_STREAM, 0);

    /* loopback: connect returns at once unless the backlog is full */
    if (fd < 0 || connect(fd, (struct sockaddr *) &sin_srv, sizeof(sin_srv))
                  != 0)
    {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }

    fcntl(fd, F_SETFL, O_NONBLOCK);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    len = sizeof(local);
    if (getsockname(fd, (struct sockaddr *) &local, &len) == 0) {
        c->lport = ntohs(local.sin_port);
    }

    return fd;
}


/* --- HLS pollers ---------------------------------------------------------- */


static void
hls_request(conn_t *c)
{
    struct epoll_event  ev;
    char                path[512];

    if (c->seg_next < c->nsegs) {
        snprintf(path, sizeof(path), "/%s/streams/%s", app,
                 c->segs[c->seg_next].uri);
        c->want_seg = 1;

    } else {
        snprintf(path, sizeof(path), "/%s/streams/%s.m3u8", app, c->name);
        c->want_seg = 0;
    }

    c->fd = open_socket(c);
    if (c->fd < 0) {
        c->pl_errors++;
        c->next_at = now() + poll_ms / 1000.0;
        return;
    }

    reserve(&c->out, &c->out_cap, 1024);
    c->out_len = snprintf((char *) c->out, 1024,
                          "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                          "User-Agent: ams_rtmp_load\r\n\r\n", path);
    c->out_pos = 0;
    c->in_len = 0;
    c->sent_at = now();
    c->state = 1;

    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}


static void
hls_playlist(conn_t *c, char *body)
{
    char       *line, *save = NULL;
    long long   seq = -1, s;
    double      dur = 0;
    int         ended = 0, i = 0;

    for (line = strtok_r(body, "\r\n", &save); line;
         line = strtok_r(NULL, "\r\n", &save))
    {
        if (strncmp(line, "#EXT-X-MEDIA-SEQUENCE:", 22) == 0) {
            seq = atoll(line + 22);

        } else if (strncmp(line, "#EXTINF:", 8) == 0) {
            dur = atof(line + 8);

        } else if (strcmp(line, "#EXT-X-ENDLIST") == 0) {
            ended = 1;

        } else if (line[0] != '#' && line[0] != '\0') {
            s = (seq < 0 ? 0 : seq) + i++;

            if (c->last_seq >= 0 && s <= c->last_seq) {
                continue;
            }

            if (c->last_seq >= 0 && s > c->last_seq + 1) {
                c->seq_gaps += s - c->last_seq - 1;
            }

            if (c->first_seq < 0) {
                c->first_seq = s;
            }

            if (c->nsegs == c->segs_cap) {
                c->segs_cap = c->segs_cap ? c->segs_cap * 2 : 64;
                c->segs = realloc(c->segs, c->segs_cap * sizeof(seg_t));
            }

            c->segs[c->nsegs].seq = s;
            c->segs[c->nsegs].dur = dur;
            snprintf(c->segs[c->nsegs].uri, sizeof(c->segs[0].uri), "%s",
                     line);
            c->nsegs++;
            c->last_seq = s;
        }
    }

    /* a playlist that starts over: a new publish of the same name */
    if (i && c->last_seq >= 0 && (seq < 0 ? 0 : seq) + i - 1 < c->last_seq) {
        c->restarts++;
    }

    c->ended = ended;
}


static void
hls_done(conn_t *c)
{
    char    *body, *p;
    int      status = 0;
    size_t   len;
    seg_t   *sg;

    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    c->state = 0;

    reserve(&c->in, &c->in_cap, c->in_len + 1);
    c->in[c->in_len] = '\0';

    p = strstr((char *) c->in, "\r\n\r\n");
    if (strncmp((char *) c->in, "HTTP/1.", 7) == 0 && c->in_len > 12) {
        status = atoi((char *) c->in + 9);
    }

    body = p ? p + 4 : (char *) c->in + c->in_len;
    len = (char *) c->in + c->in_len - body;

    if (c->want_seg) {
        sg = &c->segs[c->seg_next];

        /* no answer at all (its worker was killed): ask again, as players
         * do, three times */
        if (status == 0 && c->retries_left-- > 0) {
            c->retries++;
            c->next_at = now() + 0.2;
            return;
        }

        c->seg_next++;
        c->retries_left = 3;

        if (status == 200 && len >= 188 && len % 188 == 0
            && (uint8_t) body[0] == 0x47)
        {
            c->fetched++;
            c->dur += sg->dur;

        } else {
            c->bad_segments++;
            fprintf(stderr, "poller %s: segment %s: status %d, %zu bytes\n",
                    c->name, sg->uri, status, len);
        }

        c->next_at = now();

    } else {
        if (status == 200) {
            hls_playlist(c, body);

        } else if (c->last_seq >= 0 && !c->ended) {
            c->pl_errors++;
        }

        c->next_at = now() + poll_ms / 1000.0;
    }

    if (c->seg_next < c->nsegs) {
        c->next_at = now();

    } else if (c->ended) {
        c->state = 2;
    }
}


static void
hls_io(conn_t *c)
{
    ssize_t  n;

    if (c->state != 1) {
        return;
    }

    while (c->out_pos < c->out_len) {
        n = write(c->fd, c->out + c->out_pos, c->out_len - c->out_pos);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN) {
                c->in_len = 0;
                hls_done(c);
            }
            return;
        }
        c->out_pos += n;
    }

    for ( ;; ) {
        reserve(&c->in, &c->in_cap, c->in_len + 65536);
        n = read(c->fd, c->in + c->in_len, 65536);

        if (n > 0) {
            c->in_len += n;
            c->bytes += n;
            continue;
        }

        if (n < 0 && errno == EAGAIN) {
            if (now() - c->sent_at > 10) {
                c->timeouts++;
                c->in_len = 0;
                hls_done(c);
            }
            return;
        }

        hls_done(c);
        return;
    }
}


/* --- the report ----------------------------------------------------------- */


static void
report(const char *path, conn_t *conns, int count, double t0)
{
    int      i;
    FILE    *f;
    conn_t  *c;

    f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return;
    }

    for (i = 0; i < count; i++) {
        c = &conns[i];

        if (mode == PUBLISH) {
            fprintf(f, "publish %d %s lport=%d frames=%llu first_ts=%u "
                    "last_ts=%u closed=%d closed_at=%.2f\n", i, c->name,
                    c->lport, (unsigned long long) c->video, c->first_ts,
                    c->last_ts, c->closed,
                    c->closed ? c->closed_at - t0 : 0.0);

        } else if (mode == PLAY) {
            fprintf(f, "play %d %s lport=%d frames=%llu keys=%llu "
                    "key_skips=%llu skipped=%llu bad_gaps=%llu "
                    "bad_start=%llu ended=%d closed=%d closed_at=%.2f "
                    "last_ts=%u\n", i, c->name, c->lport,
                    (unsigned long long) c->video,
                    (unsigned long long) c->keys,
                    (unsigned long long) c->key_skips,
                    (unsigned long long) c->skipped,
                    (unsigned long long) c->bad_gaps,
                    (unsigned long long) c->bad_start, c->ended, c->closed,
                    c->closed ? c->closed_at - t0 : 0.0, c->prev_ts);

        } else {
            fprintf(f, "hls %d %s segments=%llu first_seq=%lld "
                    "last_seq=%lld seq_gaps=%llu bad_segments=%llu "
                    "pl_errors=%llu timeouts=%llu retries=%llu "
                    "restarts=%llu dur=%.3f ended=%d\n", i, c->name,
                    (unsigned long long) c->fetched, c->first_seq,
                    c->last_seq, (unsigned long long) c->seq_gaps,
                    (unsigned long long) c->bad_segments,
                    (unsigned long long) c->pl_errors,
                    (unsigned long long) c->timeouts,
                    (unsigned long long) c->retries,
                    (unsigned long long) c->restarts, c->dur, c->ended);
        }
    }

    fclose(f);
}


/* which local port each connection has, for the caller to find the
 * server's worker at the other end */
static void
ports(const char *report_file, conn_t *conns, int count)
{
    int    i;
    char   path[4096], tmp[4100];
    FILE  *f;

    snprintf(path, sizeof(path), "%s.ports", report_file);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        perror(path);
        return;
    }

    for (i = 0; i < count; i++) {
        fprintf(f, "%d %s %d\n", i, conns[i].name, conns[i].lport);
    }

    fclose(f);
    rename(tmp, path);
}


static void
usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [-l] [-s STREAMS] [-i MS] [-p MS] "
            "[-r REPORT] publish|play|hls PORT APP NAME COUNT SECONDS "
            "[FILE.flv [HLS_DIR]]\n", argv0);
    exit(2);
}


int
main(int argc, char **argv)
{
    int                  i, n, count, opt, ino = -1;
    char                 playlist[300];
    double               t0, seconds, elapsed;
    conn_t              *conns, *c;
    const char          *report_file = NULL, *name;
    uint64_t             published = 0, min, max, total;
    struct epoll_event   ev, evs[256];

    while ((opt = getopt(argc, argv, "ls:i:p:r:")) != -1) {
        switch (opt) {
        case 'l': loop = 1; break;
        case 's': streams = atoi(optarg); break;
        case 'i': interval_ms = atoi(optarg); break;
        case 'p': poll_ms = atoi(optarg); break;
        case 'r': report_file = optarg; break;
        default: usage(argv[0]);
        }
    }

    argc -= optind - 1;
    argv += optind - 1;

    if (argc < 7) {
        usage(argv[0]);
    }

    if (strcmp(argv[1], "publish") == 0) {
        mode = PUBLISH;
    } else if (strcmp(argv[1], "play") == 0) {
        mode = PLAY;
    } else if (strcmp(argv[1], "hls") == 0) {
        mode = HLS;
    } else {
        usage(argv[0]);
    }

    app = argv[3];
    name = argv[4];
    count = atoi(argv[5]);
    seconds = atof(argv[6]);

    signal(SIGPIPE, SIG_IGN);
    ep = epoll_create1(0);

    if (mode == PUBLISH) {
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
            snprintf(playlist, sizeof(playlist), "%s%s.m3u8", name,
                     count > 1 ? "0" : "");
            ev.events = EPOLLIN;
            ev.data.ptr = NULL;
            epoll_ctl(ep, EPOLL_CTL_ADD, ino, &ev);
        }
    }

    conns = calloc(count, sizeof(conn_t));

    memset(&sin_srv, 0, sizeof(sin_srv));
    sin_srv.sin_family = AF_INET;
    sin_srv.sin_port = htons(atoi(argv[2]));
    sin_srv.sin_addr.s_addr = htonl(0x7f000001);

    for (i = 0; i < count; i++) {
        c = &conns[i];

        if (mode == PUBLISH) {
            if (count > 1) {
                snprintf(c->name, sizeof(c->name), "%s%d", name, i);
            } else {
                snprintf(c->name, sizeof(c->name), "%s", name);
            }

        } else if (streams > 0) {
            snprintf(c->name, sizeof(c->name), "%s%d", name, i % streams);

        } else {
            snprintf(c->name, sizeof(c->name), "%s", name);
        }

        c->fd = -1;
        c->retries_left = 3;
        c->last_seq = -1;
        c->first_seq = -1;

        if (mode == HLS) {
            /* pollers start spread over one poll interval */
            c->next_at = now() + (double) (i * 7919 % 1000) / 1000
                                 * poll_ms / 1000;
            continue;
        }

        c->fd = open_socket(c);
        if (c->fd < 0) {
            perror("connect");
            return 1;
        }

        /* plain handshake: C0 and a zero C1 */
        reserve(&c->out, &c->out_cap, 1 + HS);
        c->out[0] = 3;
        memset(c->out + 1, 0, HS);
        c->out_len = 1 + HS;

        /* only one publisher logs keyframes; the rest start within 1 s */
        c->start = mode == PUBLISH
                   ? (i == 0 ? 0 : (double) (i * 7919 % 1000) / 1000) : 0;
        c->logs_keys = (i == 0 && ino != -1);

        ngx_ams_rtmp_chunk_init(&c->parser, 16 << 20, on_message, c);

        ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
        ev.data.ptr = c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }

    if (report_file && mode != HLS) {
        ports(report_file, conns, count);
    }

    t0 = now();

    while ((elapsed = now() - t0) < seconds) {
        n = epoll_wait(ep, evs, 256, 5);

        for (i = 0; i < n; i++) {
            uint8_t   buf[65536];
            ssize_t   r = -1;

            c = evs[i].data.ptr;

            if (c == NULL) {
                on_inotify(ino, playlist);
                continue;
            }

            if (mode == HLS) {
                hls_io(c);
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
                        start(c);

                        if (mode == PLAY && (size_t) r > k) {
                            ngx_ams_rtmp_chunk_parse(&c->parser, buf + k,
                                                     r - k);
                        }
                    }

                } else if (mode == PLAY) {
                    if (ngx_ams_rtmp_chunk_parse(&c->parser, buf, r) != 0) {
                        fprintf(stderr, "player %d: %s\n", (int) (c - conns),
                                c->parser.error);
                        close_conn(c);
                    }
                }
            }

            if (r == 0 || (r < 0 && errno != EAGAIN)) {
                close_conn(c);
            }
        }

        for (i = 0; i < count; i++) {
            c = &conns[i];

            if (mode == HLS) {
                if (c->state == 0 && now() >= c->next_at) {
                    hls_request(c);
                }
                if (c->state == 1) {
                    hls_io(c);
                }

            } else if (!c->closed) {
                pump(c, elapsed);
            }
        }
    }

    if (report_file) {
        report(report_file, conns, count, t0);
    }

    n = 0;

    if (mode == PUBLISH) {
        for (i = 0; i < count; i++) {
            published += conns[i].video;
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

    if (mode == HLS) {
        total = 0;
        for (i = 0; i < count; i++) {
            total += conns[i].fetched;
            n += conns[i].seq_gaps + conns[i].bad_segments;
        }

        printf("pollers %d\n", count);
        printf("segments_fetched %llu\n", (unsigned long long) total);
        printf("segments_missing_or_bad %d\n", n);
        return 0;
    }

    min = UINT64_MAX;
    max = 0;
    total = 0;

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
