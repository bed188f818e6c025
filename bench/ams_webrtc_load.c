
/*
 * Copyright (C) nginx-ams authors
 *
 * A light WHEP load client for the benchmarks: COUNT players of one
 * stream in one process (epoll, non-blocking).  Each POSTs a recvonly
 * H.264 offer to /APP/whep/ID, checks the server's ICE-lite address with
 * a Binding request (USE-CANDIDATE, MESSAGE-INTEGRITY, FINGERPRINT),
 * completes DTLS as client and receives SRTP, which it decrypts and
 * counts.  ICE, DTLS and SRTP are the server's own nginx-free files
 * (ngx_ams_stun.c, ngx_ams_dtls.c, ngx_ams_srtp.c).
 *
 * Each player uses its own loopback source address (127.1.x.y) for both
 * its POST and its UDP: the server's per-address limits (POST rate,
 * sessions per address) are for real clients, not for this one.
 *
 *   ams_webrtc_load HTTP_PORT APP ID COUNT SECONDS [RATE]
 *
 * RATE: new sessions per second (default 50).  SECONDS counts from the
 * first POST.  Prints "key value" lines for the bench scripts.
 */


#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <zlib.h>

#include "ngx_ams_stun.h"
#include "ngx_ams_dtls.h"
#include "ngx_ams_srtp.h"


#define HTTP_MAX    16384
#define PKT_MAX     (1500 + NGX_AMS_SRTP_TRAILER)

enum { S_IDLE, S_HTTP, S_ICE, S_DTLS, S_MEDIA, S_FAILED };

typedef struct {
    int                 state;
    int                 tcp, udp;
    struct sockaddr_in  local;

    char                http[HTTP_MAX];
    size_t              http_len, sent;
    int                 reading;                /* the POST is sent */

    char                ufrag[9], pwd[25];      /* ours */
    char                rufrag[64], rpwd[64];   /* the server's */
    uint8_t             rfp[32];
    uint16_t            rport;

    ngx_ams_dtls_t     *dtls;
    ngx_ams_srtp_t     *srtp;

    int64_t             posted_ms, check_ms, first_rtp_ms;
    uint64_t            packets, bytes, bad;
} player_t;


static ngx_ams_dtls_ctx_t  *ctx;
static char                 offer_fp[96];
static int                  ep;


static int64_t
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static void
rand_chars(char *out, size_t n)
{
    static const char  a[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t            r[64];
    size_t             i;

    RAND_bytes(r, n);
    for (i = 0; i < n; i++) {
        out[i] = a[r[i] % 36];
    }
    out[n] = '\0';
}


static void
fail(player_t *p, const char *why)
{
    if (p->state != S_FAILED) {
        fprintf(stderr, "player %s: %s\n", inet_ntoa(p->local.sin_addr),
                why);
    }
    p->state = S_FAILED;
    if (p->tcp >= 0) {
        close(p->tcp);
        p->tcp = -1;
    }
}


/* --- WHEP ----------------------------------------------------------------- */

static void
post(player_t *p, int port, const char *app, const char *id)
{
    int                 n;
    char                sdp[2048];
    struct sockaddr_in  srv;
    struct epoll_event  ev;

    rand_chars(p->ufrag, 8);
    rand_chars(p->pwd, 24);

    n = snprintf(sdp, sizeof(sdp),
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "a=group:BUNDLE 0\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\n"
        "a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\n"
        "a=fingerprint:sha-256 %s\r\na=setup:active\r\na=mid:0\r\n"
        "a=recvonly\r\na=rtcp-mux\r\na=rtpmap:102 H264/90000\r\n"
        "a=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n"
        "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;"
        "profile-level-id=42e01f\r\n", p->ufrag, p->pwd, offer_fp);

    p->http_len = snprintf(p->http, sizeof(p->http),
        "POST /%s/whep/%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/sdp\r\nContent-Length: %d\r\n"
        "Connection: close\r\n\r\n%s", app, id, n, sdp);
    p->sent = 0;

    p->tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    memset(&srv, 0, sizeof(srv));
    srv.sin_family = AF_INET;
    srv.sin_port = htons(port);
    srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    if (p->tcp < 0
        || bind(p->tcp, (struct sockaddr *) &p->local, sizeof(p->local)) < 0
        || (connect(p->tcp, (struct sockaddr *) &srv, sizeof(srv)) < 0
            && errno != EINPROGRESS))
    {
        fail(p, strerror(errno));
        return;
    }

    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = p;
    epoll_ctl(ep, EPOLL_CTL_ADD, p->tcp, &ev);
    p->state = S_HTTP;
    p->posted_ms = now_ms();
}


static int
sdp_value(const char *sdp, const char *key, char *out, size_t cap)
{
    size_t       n;
    const char  *s, *e;

    s = strstr(sdp, key);
    if (s == NULL) {
        return -1;
    }
    s += strlen(key);
    e = s + strcspn(s, "\r\n");
    n = e - s;
    if (n >= cap) {
        return -1;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}


static void send_check(player_t *p);


/* the whole answer is in (the server closed): take its ICE and DTLS */
static void
answer(player_t *p)
{
    int                 i;
    char                fp[128], cand[256], *body;
    unsigned            b;
    struct sockaddr_in  srv;
    struct epoll_event  ev;

    p->http[p->http_len] = '\0';
    body = strstr(p->http, "\r\n\r\n");
    if (strncmp(p->http, "HTTP/1.1 201", 12) != 0 || body == NULL) {
        fail(p, p->http_len ? strtok(p->http, "\r\n") : "no answer");
        return;
    }

    if (sdp_value(body, "a=ice-ufrag:", p->rufrag, sizeof(p->rufrag))
        || sdp_value(body, "a=ice-pwd:", p->rpwd, sizeof(p->rpwd))
        || sdp_value(body, "a=fingerprint:sha-256 ", fp, sizeof(fp))
        || sdp_value(body, "a=candidate:", cand, sizeof(cand)))
    {
        fail(p, "an answer without ICE or DTLS");
        return;
    }

    for (i = 0; i < 32; i++) {
        if (sscanf(fp + i * 3, "%2x", &b) != 1) {
            fail(p, "a bad fingerprint");
            return;
        }
        p->rfp[i] = b;
    }

    /* "F 1 udp PRIO ADDR PORT typ host" */
    if (sscanf(cand, "%*s %*d %*s %*u %*s %hu", &p->rport) != 1) {
        fail(p, "a bad candidate");
        return;
    }

    memset(&srv, 0, sizeof(srv));
    srv.sin_family = AF_INET;
    srv.sin_port = htons(p->rport);
    srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    p->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (p->udp < 0
        || bind(p->udp, (struct sockaddr *) &p->local, sizeof(p->local)) < 0
        || connect(p->udp, (struct sockaddr *) &srv, sizeof(srv)) < 0)
    {
        fail(p, strerror(errno));
        return;
    }

    ev.events = EPOLLIN;
    ev.data.ptr = p;
    epoll_ctl(ep, EPOLL_CTL_ADD, p->udp, &ev);

    close(p->tcp);
    p->tcp = -1;
    p->state = S_ICE;
    send_check(p);
}


static void
http_event(player_t *p, uint32_t events)
{
    ssize_t             n;
    struct epoll_event  ev;

    if (!p->reading) {
        n = send(p->tcp, p->http + p->sent, p->http_len - p->sent,
                 MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN) {
                fail(p, strerror(errno));
            }
            return;
        }
        p->sent += n;
        if (p->sent == p->http_len) {
            p->http_len = 0;
            p->reading = 1;
            ev.events = EPOLLIN;
            ev.data.ptr = p;
            epoll_ctl(ep, EPOLL_CTL_MOD, p->tcp, &ev);
        }
        return;
    }

    for ( ;; ) {
        n = recv(p->tcp, p->http + p->http_len,
                 sizeof(p->http) - 1 - p->http_len, 0);
        if (n > 0) {
            p->http_len += n;
            continue;
        }
        if (n == 0) {
            answer(p);
        } else if (errno != EAGAIN) {
            fail(p, strerror(errno));
        }
        return;
    }
}


/* --- ICE: a controlling agent's Binding request --------------------------- */

static uint8_t *
attr(uint8_t *w, uint16_t type, const void *v, size_t len)
{
    w[0] = type >> 8;
    w[1] = type & 0xff;
    w[2] = len >> 8;
    w[3] = len & 0xff;
    memcpy(w + 4, v, len);
    memset(w + 4 + len, 0, (4 - len % 4) % 4);
    return w + 4 + len + (4 - len % 4) % 4;
}


static void
set_length(uint8_t *m, size_t len)
{
    m[2] = (len - NGX_AMS_STUN_HEADER_LEN) >> 8;
    m[3] = (len - NGX_AMS_STUN_HEADER_LEN) & 0xff;
}


static void
send_check(player_t *p)
{
    char       user[160];
    uint8_t    m[512], *w, v[8];
    uint32_t   prio, crc;
    unsigned   mac_len;
    uint64_t   tie;

    m[0] = 0x00;
    m[1] = 0x01;
    m[4] = 0x21; m[5] = 0x12; m[6] = 0xA4; m[7] = 0x42;
    RAND_bytes(m + 8, 12);
    w = m + NGX_AMS_STUN_HEADER_LEN;

    snprintf(user, sizeof(user), "%s:%s", p->rufrag, p->ufrag);
    w = attr(w, 0x0006, user, strlen(user));
    prio = htonl(0x6e7f00ff);
    w = attr(w, 0x0024, &prio, 4);
    RAND_bytes((uint8_t *) &tie, 8);
    memcpy(v, &tie, 8);
    w = attr(w, 0x802A, v, 8);                  /* ICE-CONTROLLING */
    w = attr(w, 0x0025, NULL, 0);               /* USE-CANDIDATE */

    /* MESSAGE-INTEGRITY over the message with its own length counted */
    set_length(m, w - m + 24);
    w[0] = 0x00; w[1] = 0x08; w[2] = 0; w[3] = 20;
    HMAC(EVP_sha1(), p->rpwd, strlen(p->rpwd), m, w - m, w + 4, &mac_len);
    w += 24;

    set_length(m, w - m + 8);
    crc = htonl(crc32(0, m, w - m) ^ 0x5354554e);
    w = attr(w, 0x8028, &crc, 4);

    send(p->udp, m, w - m, 0);
    p->check_ms = now_ms();
}


/* --- DTLS and SRTP -------------------------------------------------------- */

static int
dtls_send(void *data, const uint8_t *b, size_t len)
{
    player_t  *p = data;

    return send(p->udp, b, len, 0) == (ssize_t) len ? 0 : -1;
}


static void
dtls_recv(void *data, const uint8_t *b, size_t len)
{
}


static void
connected(player_t *p)
{
    size_t    len;
    unsigned  profile;
    uint8_t   local[NGX_AMS_SRTP_MAX_KEY_SALT];
    uint8_t   remote[NGX_AMS_SRTP_MAX_KEY_SALT];

    if (ngx_ams_dtls_srtp_keys(p->dtls, &profile, local, remote, &len) != 0
        || (p->srtp = ngx_ams_srtp_create(profile, local, remote, len))
           == NULL)
    {
        fail(p, "no SRTP keys");
        return;
    }
    p->state = S_MEDIA;
}


static void
udp_event(player_t *p)
{
    int                 rc;
    size_t              len;
    ssize_t             n;
    uint8_t             b[PKT_MAX];
    ngx_ams_stun_msg_t  m;

    for ( ;; ) {
        n = recv(p->udp, b, 1500, 0);
        if (n <= 0) {
            return;
        }

        switch (ngx_ams_rtc_classify(b, n)) {

        case NGX_AMS_RTC_STUN:
            if (p->state != S_ICE
                || ngx_ams_stun_parse(b, n, &m) != NGX_AMS_STUN_OK
                || m.type != NGX_AMS_STUN_BINDING_SUCCESS)
            {
                break;
            }
            p->dtls = ngx_ams_dtls_create(ctx, 1, p->rfp, dtls_send,
                                          dtls_recv, p);
            if (p->dtls == NULL
                || ngx_ams_dtls_start(p->dtls) == NGX_AMS_DTLS_ERROR)
            {
                fail(p, "DTLS start");
                return;
            }
            p->state = S_DTLS;
            break;

        case NGX_AMS_RTC_DTLS:
            if (p->dtls == NULL) {
                break;
            }
            rc = ngx_ams_dtls_input(p->dtls, b, n);
            if (rc == NGX_AMS_DTLS_CONNECTED) {
                connected(p);
            } else if (rc == NGX_AMS_DTLS_ERROR
                       || rc == NGX_AMS_DTLS_CLOSED)
            {
                fail(p, ngx_ams_dtls_error(p->dtls));
                return;
            }
            break;

        case NGX_AMS_RTC_RTP:
            if (p->state != S_MEDIA) {
                break;
            }
            len = n;
            if (ngx_ams_srtp_unprotect(p->srtp, b, &len) != NGX_AMS_SRTP_OK)
            {
                p->bad++;
                break;
            }
            if (p->packets++ == 0) {
                p->first_rtp_ms = now_ms();
            }
            p->bytes += len;
            break;

        default:                                 /* RTCP: SR, not counted */
            break;
        }
    }
}


/* retransmissions: ICE checks (and consent, every 5 s), DTLS's timers */
static void
timers(player_t *p, int64_t now)
{
    int64_t  t;

    if (p->state == S_ICE && now - p->check_ms >= 200) {
        send_check(p);

    } else if (p->state == S_MEDIA && now - p->check_ms >= 5000) {
        send_check(p);

    } else if (p->state == S_DTLS) {
        t = ngx_ams_dtls_timeout(p->dtls);
        if (t == 0 && ngx_ams_dtls_handle_timeout(p->dtls)
                      == NGX_AMS_DTLS_ERROR)
        {
            fail(p, ngx_ams_dtls_error(p->dtls));
        }
    }
}


static int
cmp64(const void *a, const void *b)
{
    int64_t  x = *(const int64_t *) a, y = *(const int64_t *) b;

    return (x > y) - (x < y);
}


int
main(int argc, char **argv)
{
    int                  i, n, count, seconds, rate, port, started;
    int                  media;
    int64_t              t0, now, *setup, *pk;
    uint64_t             packets, bytes, bad;
    player_t            *pl, *p;
    const char          *err;
    struct epoll_event   evs[256];

    if (argc < 6) {
        fprintf(stderr, "usage: ams_webrtc_load HTTP_PORT APP ID COUNT "
                "SECONDS [RATE]\n");
        return 2;
    }

    port = atoi(argv[1]);
    count = atoi(argv[4]);
    seconds = atoi(argv[5]);
    rate = argc > 6 ? atoi(argv[6]) : 50;

    if (ngx_ams_srtp_init() != 0
        || (ctx = ngx_ams_dtls_ctx_create(&err)) == NULL)
    {
        fprintf(stderr, "DTLS/SRTP init failed\n");
        return 1;
    }
    snprintf(offer_fp, sizeof(offer_fp), "%s",
             ngx_ams_dtls_ctx_fingerprint(ctx));

    ep = epoll_create1(0);
    pl = calloc(count, sizeof(player_t));
    setup = calloc(count, sizeof(int64_t));
    pk = calloc(count, sizeof(int64_t));

    for (i = 0; i < count; i++) {
        pl[i].tcp = -1;
        pl[i].udp = -1;
        pl[i].local.sin_family = AF_INET;
        pl[i].local.sin_addr.s_addr = htonl(0x7f010001 + (i / 250) * 256
                                            + i % 250);
    }

    t0 = now_ms();
    started = 0;

    for ( ;; ) {
        now = now_ms();
        if (now - t0 >= seconds * 1000) {
            break;
        }

        while (started < count && started * 1000 <= (now - t0) * rate) {
            post(&pl[started++], port, argv[2], argv[3]);
        }

        n = epoll_wait(ep, evs, 256, 10);
        for (i = 0; i < n; i++) {
            p = evs[i].data.ptr;
            if (p->state == S_HTTP) {
                http_event(p, evs[i].events);
            } else if (p->state != S_FAILED) {
                udp_event(p);
            }
        }

        now = now_ms();
        for (i = 0; i < started; i++) {
            timers(&pl[i], now);
        }
    }

    packets = bytes = bad = 0;
    media = 0;
    for (i = 0; i < count; i++) {
        p = &pl[i];
        packets += p->packets;
        bytes += p->bytes;
        bad += p->bad;
        pk[i] = p->packets;
        if (p->packets) {
            setup[media++] = p->first_rtp_ms - p->posted_ms;
        }
    }

    qsort(pk, count, sizeof(int64_t), cmp64);
    qsort(setup, media, sizeof(int64_t), cmp64);

    printf("players %d\n", count);
    printf("receiving %d\n", media);
    printf("packets %llu\n", (unsigned long long) packets);
    printf("bytes %llu\n", (unsigned long long) bytes);
    printf("srtp_failures %llu\n", (unsigned long long) bad);
    printf("packets_min %lld\n", (long long) pk[0]);
    printf("packets_median %lld\n", (long long) pk[count / 2]);
    printf("setup_median_ms %lld\n",
           (long long) (media ? setup[media / 2] : -1));
    printf("setup_max_ms %lld\n",
           (long long) (media ? setup[media - 1] : -1));

    return 0;
}
