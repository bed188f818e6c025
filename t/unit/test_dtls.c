
/*
 * Copyright (C) nginx-ams authors
 *
 * DTLS-SRTP: a client and a server endpoint in one process, wired by
 * in-memory datagram queues, complete a handshake for each SRTP profile;
 * their exported keys cross-match; SRTP and SRTCP packets round-trip
 * both ways and replays and tampered packets are refused; a wrong
 * fingerprint on either side fails the handshake; a lost first flight
 * is sent again by the retransmission timer; application data and
 * close_notify pass; garbage into a fresh server never crashes it.
 * Prints the median loopback handshake time.
 */


#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "ngx_ams_dtls.h"
#include "ngx_ams_srtp.h"


#define QMAX  64


typedef struct {
    ngx_ams_dtls_t  *dtls;
    uint8_t          q[QMAX][2048];
    size_t           qlen[QMAX];
    int              n;
    int              drop;        /* lose what is sent while set */
    int              dropped;
    int              sent;
    size_t           max_dgram;
    int              connected;
    int              failed;
    int              closed;
    uint8_t          app[2048];
    size_t           app_len;
} ep_t;


static int
ep_send(void *data, const uint8_t *p, size_t len)
{
    ep_t  *e = data;

    e->sent++;

    if (len > e->max_dgram) {
        e->max_dgram = len;
    }

    if (e->drop) {
        e->dropped++;
        return 0;
    }

    if (e->n == QMAX || len > sizeof(e->q[0])) {
        return -1;
    }

    memcpy(e->q[e->n], p, len);
    e->qlen[e->n++] = len;

    return 0;
}


static void
ep_recv(void *data, const uint8_t *p, size_t len)
{
    ep_t  *e = data;

    memcpy(e->app, p, len);
    e->app_len = len;
}


static void
ep_result(ep_t *e, int rc)
{
    switch (rc) {
    case NGX_AMS_DTLS_CONNECTED:
        e->connected++;
        break;
    case NGX_AMS_DTLS_ERROR:
        e->failed = 1;
        break;
    case NGX_AMS_DTLS_CLOSED:
        e->closed = 1;
        break;
    }
}


/* what "from" has sent, into "to" */
static int
deliver(ep_t *from, ep_t *to)
{
    int      i, n;
    uint8_t  q[QMAX][2048];
    size_t   qlen[QMAX];

    n = from->n;
    memcpy(q, from->q, sizeof(q));
    memcpy(qlen, from->qlen, sizeof(qlen));
    from->n = 0;

    for (i = 0; i < n; i++) {
        ep_result(to, ngx_ams_dtls_input(to->dtls, q[i], qlen[i]));
    }

    return n;
}


static void
pump(ep_t *a, ep_t *b)
{
    int  i;

    for (i = 0; i < 50; i++) {
        if (deliver(a, b) + deliver(b, a) == 0) {
            return;
        }
    }
}


static void
parse_fp(const char *s, uint8_t fp[32])
{
    int  i;

    for (i = 0; i < 32; i++) {
        fp[i] = (uint8_t) strtoul(s + i * 3, NULL, 16);
    }
}


static void
ep_init(ep_t *e, ngx_ams_dtls_ctx_t *ctx, unsigned client,
    const uint8_t fp[32])
{
    memset(e, 0, sizeof(ep_t));
    e->dtls = ngx_ams_dtls_create(ctx, client, fp, ep_send, ep_recv, e);
}


static double
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}


static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}


static void
rtp_packet(uint8_t *p, uint16_t seq, uint32_t ssrc, size_t payload)
{
    size_t  i;

    p[0] = 0x80;
    p[1] = 96;
    p[2] = seq >> 8;
    p[3] = seq & 0xff;
    p[4] = 0; p[5] = 0; p[6] = 0x12; p[7] = 0x34;
    p[8] = ssrc >> 24; p[9] = ssrc >> 16; p[10] = ssrc >> 8; p[11] = ssrc;

    for (i = 0; i < payload; i++) {
        p[12 + i] = (uint8_t) (i * 7 + seq);
    }
}


static void
rtcp_sr(uint8_t *p, uint32_t ssrc)
{
    int  i;

    /* SR, no report blocks: 28 bytes */
    p[0] = 0x80;
    p[1] = 200;
    p[2] = 0;
    p[3] = 6;
    p[4] = ssrc >> 24; p[5] = ssrc >> 16; p[6] = ssrc >> 8; p[7] = ssrc;

    for (i = 8; i < 28; i++) {
        p[i] = (uint8_t) i;
    }
}


/* one way: "tx" protects, "rx" unprotects */
static void
srtp_one_way(const char *what, ngx_ams_srtp_t *tx, ngx_ams_srtp_t *rx,
    size_t tag)
{
    int      rc;
    size_t   len, len2;
    uint8_t  orig[1500], p[1500 + NGX_AMS_SRTP_TRAILER];
    uint8_t  copy[1500 + NGX_AMS_SRTP_TRAILER];

    /* RTP */
    rtp_packet(orig, 1000, 0x11223344, 400);
    memcpy(p, orig, 412);
    len = 412;

    rc = ngx_ams_srtp_protect(tx, p, &len);
    is_int(rc, NGX_AMS_SRTP_OK, "%s: RTP protected", what);
    is_int(len, 412 + tag, "%s: with a %d-byte tag", what, (int) tag);
    ok(memcmp(p + 12, orig + 12, 400) != 0, "%s: payload encrypted", what);

    memcpy(copy, p, len);
    len2 = len;

    rc = ngx_ams_srtp_unprotect(rx, p, &len);
    is_int(rc, NGX_AMS_SRTP_OK, "%s: RTP unprotected", what);
    ok(len == 412 && memcmp(p, orig, 412) == 0, "%s: RTP round trip",
       what);

    rc = ngx_ams_srtp_unprotect(rx, copy, &len2);
    is_int(rc, NGX_AMS_SRTP_REPLAYED, "%s: RTP replay refused", what);

    /* the next one, tampered */
    rtp_packet(orig, 1001, 0x11223344, 400);
    memcpy(p, orig, 412);
    len = 412;
    (void) ngx_ams_srtp_protect(tx, p, &len);
    memcpy(copy, p, len);
    len2 = len;
    p[100] ^= 0x01;

    rc = ngx_ams_srtp_unprotect(rx, p, &len);
    is_int(rc, NGX_AMS_SRTP_AUTH_FAIL, "%s: tampered RTP refused", what);

    rc = ngx_ams_srtp_unprotect(rx, copy, &len2);
    is_int(rc, NGX_AMS_SRTP_OK, "%s: the untampered copy passes", what);

    /* RTCP */
    rtcp_sr(orig, 0x11223344);
    memcpy(p, orig, 28);
    len = 28;

    rc = ngx_ams_srtp_protect_rtcp(tx, p, &len);
    is_int(rc, NGX_AMS_SRTP_OK, "%s: RTCP protected", what);
    ok(len > 28, "%s: SRTCP is longer (%d)", what, (int) len);

    memcpy(copy, p, len);
    len2 = len;

    rc = ngx_ams_srtp_unprotect_rtcp(rx, p, &len);
    is_int(rc, NGX_AMS_SRTP_OK, "%s: RTCP unprotected", what);
    ok(len == 28 && memcmp(p, orig, 28) == 0, "%s: RTCP round trip", what);

    rc = ngx_ams_srtp_unprotect_rtcp(rx, copy, &len2);
    is_int(rc, NGX_AMS_SRTP_REPLAYED, "%s: RTCP replay refused", what);

    memcpy(p, orig, 28);
    len = 28;
    (void) ngx_ams_srtp_protect_rtcp(tx, p, &len);
    p[12] ^= 0x80;

    rc = ngx_ams_srtp_unprotect_rtcp(rx, p, &len);
    is_int(rc, NGX_AMS_SRTP_AUTH_FAIL, "%s: tampered RTCP refused", what);
}


static void
profile_case(const char *name, const char *client_profiles,
    unsigned want, size_t ks, size_t tag)
{
    int                  rc;
    ep_t                *a, *b;
    size_t               la, lb;
    uint8_t              fa[32], fb[32];
    uint8_t              al[NGX_AMS_SRTP_MAX_KEY_SALT];
    uint8_t              ar[NGX_AMS_SRTP_MAX_KEY_SALT];
    uint8_t              bl[NGX_AMS_SRTP_MAX_KEY_SALT];
    uint8_t              br[NGX_AMS_SRTP_MAX_KEY_SALT];
    unsigned             pa, pb;
    const char          *err;
    ngx_ams_srtp_t      *sa, *sb;
    ngx_ams_dtls_ctx_t  *ca, *cb;

    ca = ngx_ams_dtls_ctx_create(&err);
    cb = ngx_ams_dtls_ctx_create(&err);

    if (client_profiles) {
        is_int(ngx_ams_dtls_ctx_srtp_profiles(ca, client_profiles), 0,
               "%s: client offers %s only", name, client_profiles);
    }

    parse_fp(ngx_ams_dtls_ctx_fingerprint(ca), fa);
    parse_fp(ngx_ams_dtls_ctx_fingerprint(cb), fb);

    a = calloc(1, sizeof(ep_t));
    b = calloc(1, sizeof(ep_t));

    /* A: the client (setup:active), B: the server (setup:passive) */
    ep_init(a, ca, 1, fb);
    ep_init(b, cb, 0, fa);

    is_int(ngx_ams_dtls_start(a->dtls), NGX_AMS_DTLS_AGAIN,
           "%s: client started", name);
    ok(a->n >= 1, "%s: ClientHello sent", name);
    ok(ngx_ams_dtls_timeout(a->dtls) > 0
       && ngx_ams_dtls_timeout(a->dtls) <= 100,
       "%s: first retransmission within 100 ms (%lld)", name,
       (long long) ngx_ams_dtls_timeout(a->dtls));

    pump(a, b);

    is_int(a->connected, 1, "%s: client connected once", name);
    is_int(b->connected, 1, "%s: server connected once", name);
    ok(!a->failed && !b->failed, "%s: no errors", name);
    ok(a->max_dgram <= NGX_AMS_DTLS_MTU && b->max_dgram <= NGX_AMS_DTLS_MTU,
       "%s: every datagram within the MTU (%d, %d)", name,
       (int) a->max_dgram, (int) b->max_dgram);
    is_int(ngx_ams_dtls_timeout(a->dtls), -1, "%s: no timer once done",
           name);

    is_int(ngx_ams_dtls_srtp_keys(a->dtls, &pa, al, ar, &la), 0,
           "%s: client keys", name);
    is_int(ngx_ams_dtls_srtp_keys(b->dtls, &pb, bl, br, &lb), 0,
           "%s: server keys", name);
    is_int(pa, want, "%s: client's profile", name);
    is_int(pb, want, "%s: server's profile", name);
    is_int(la, ks, "%s: key and salt length", name);
    ok(la == lb && memcmp(al, br, la) == 0,
       "%s: client's local key is the server's remote", name);
    ok(memcmp(ar, bl, la) == 0,
       "%s: server's local key is the client's remote", name);
    ok(memcmp(al, ar, la) != 0, "%s: the two directions differ", name);

    sa = ngx_ams_srtp_create(pa, al, ar, la);
    sb = ngx_ams_srtp_create(pb, bl, br, lb);
    ok(sa && sb, "%s: SRTP sessions made", name);

    if (sa && sb) {
        char  what[64];

        snprintf(what, sizeof(what), "%s A->B", name);
        srtp_one_way(what, sa, sb, tag);
        snprintf(what, sizeof(what), "%s B->A", name);
        srtp_one_way(what, sb, sa, tag);
    }

    /* application data (SCTP's carrier) both ways */
    rc = ngx_ams_dtls_write(a->dtls, (const uint8_t *) "hello server", 12);
    is_int(rc, 0, "%s: client writes", name);
    pump(a, b);
    ok(b->app_len == 12 && memcmp(b->app, "hello server", 12) == 0,
       "%s: server reads it", name);

    rc = ngx_ams_dtls_write(b->dtls, (const uint8_t *) "hello client", 12);
    is_int(rc, 0, "%s: server writes", name);
    pump(a, b);
    ok(a->app_len == 12 && memcmp(a->app, "hello client", 12) == 0,
       "%s: client reads it", name);

    /* close_notify */
    ngx_ams_dtls_free(a->dtls);
    deliver(a, b);
    ok(b->closed, "%s: server sees close_notify", name);

    ngx_ams_dtls_free(b->dtls);
    ngx_ams_srtp_free(sa);
    ngx_ams_srtp_free(sb);
    ngx_ams_dtls_ctx_free(ca);
    ngx_ams_dtls_ctx_free(cb);
    free(a);
    free(b);
}


static uint32_t  rnd_state = 0x12345678;

static uint32_t
rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;

    return rnd_state;
}


int
main(void)
{
    int                  i, rc, bad, crashed;
    ep_t                *a, *b, *c;
    size_t               j, n, hello_len;
    double               t[20], t0;
    uint8_t              fa[32], fb[32], wrong[32], hello[2048], g[1500];
    const char          *err, *fp;
    ngx_ams_dtls_ctx_t  *ca, *cb;

    is_int(ngx_ams_srtp_init(), 0, "srtp_init");
    is_int(ngx_ams_srtp_init(), 0, "srtp_init twice is harmless");

    ca = ngx_ams_dtls_ctx_create(&err);
    cb = ngx_ams_dtls_ctx_create(&err);
    ok(ca != NULL && cb != NULL, "node certificates made");

    fp = ngx_ams_dtls_ctx_fingerprint(ca);
    is_int(strlen(fp), 95, "fingerprint is 95 chars");
    ok(fp[2] == ':' && fp[94] != ':', "colon-separated hex");
    ok(strcmp(fp, ngx_ams_dtls_ctx_fingerprint(cb)) != 0,
       "two certificates, two fingerprints");

    parse_fp(ngx_ams_dtls_ctx_fingerprint(ca), fa);
    parse_fp(ngx_ams_dtls_ctx_fingerprint(cb), fb);

    /* the default: GCM preferred; then each profile forced */
    profile_case("default", NULL, NGX_AMS_SRTP_AEAD_AES_128_GCM, 28, 16);
    profile_case("GCM", "SRTP_AEAD_AES_128_GCM",
                 NGX_AMS_SRTP_AEAD_AES_128_GCM, 28, 16);
    profile_case("CM", "SRTP_AES128_CM_SHA1_80",
                 NGX_AMS_SRTP_AES128_CM_SHA1_80, 30, 10);

    ok(ngx_ams_dtls_ctx_srtp_profiles(ca, "SRTP_NOT_A_PROFILE") != 0,
       "an unknown profile name is refused");

    a = calloc(1, sizeof(ep_t));
    b = calloc(1, sizeof(ep_t));
    c = calloc(1, sizeof(ep_t));

    /* the server has the wrong fingerprint for the client */
    memset(wrong, 0xab, sizeof(wrong));

    ep_init(a, ca, 1, fb);
    ep_init(b, cb, 0, wrong);
    (void) ngx_ams_dtls_start(a->dtls);
    pump(a, b);
    ok(b->failed && !b->connected, "server refuses a wrong client "
       "certificate");
    ok(strcmp(ngx_ams_dtls_error(b->dtls), "fingerprint mismatch") == 0,
       "server says: %s", ngx_ams_dtls_error(b->dtls));
    ok(!a->connected, "the client does not connect either");
    ok(ngx_ams_dtls_srtp_keys(b->dtls, &(unsigned) {0}, g, g, &n) == -1,
       "no keys after a failed handshake");
    is_int(ngx_ams_dtls_input(b->dtls, g, 20), NGX_AMS_DTLS_ERROR,
           "a failed endpoint stays failed");
    ngx_ams_dtls_free(a->dtls);
    ngx_ams_dtls_free(b->dtls);

    /* the client has the wrong fingerprint for the server */
    ep_init(a, ca, 1, wrong);
    ep_init(b, cb, 0, fa);
    (void) ngx_ams_dtls_start(a->dtls);
    pump(a, b);
    ok(a->failed && !a->connected, "client refuses a wrong server "
       "certificate");
    ok(strcmp(ngx_ams_dtls_error(a->dtls), "fingerprint mismatch") == 0,
       "client says: %s", ngx_ams_dtls_error(a->dtls));
    ok(!b->connected, "the server does not connect either (%s)",
       ngx_ams_dtls_error(b->dtls));
    ngx_ams_dtls_free(a->dtls);
    ngx_ams_dtls_free(b->dtls);

    /* the first flight lost: the timer sends it again */
    ep_init(a, ca, 1, fb);
    ep_init(b, cb, 0, fa);
    a->drop = 1;
    is_int(ngx_ams_dtls_start(a->dtls), NGX_AMS_DTLS_AGAIN, "client "
           "started, its ClientHello lost");
    ok(a->dropped >= 1 && a->n == 0, "nothing reached the server");
    a->drop = 0;

    rc = (int) ngx_ams_dtls_timeout(a->dtls);
    ok(rc > 0 && rc <= 100, "timer due in %d ms", rc);
    is_int(ngx_ams_dtls_handle_timeout(a->dtls), NGX_AMS_DTLS_AGAIN,
           "an early timer is harmless");
    is_int(a->n, 0, "and sends nothing");
    usleep(rc * 1000 + 2000);
    is_int(ngx_ams_dtls_handle_timeout(a->dtls), NGX_AMS_DTLS_AGAIN,
           "the timer fires");
    ok(a->n >= 1, "ClientHello sent again");
    rc = (int) ngx_ams_dtls_timeout(a->dtls);
    ok(rc > 100 && rc <= 200, "the next timer doubled (%d ms)", rc);

    /* and the server's first flight lost too */
    b->drop = 1;
    pump(a, b);
    ok(b->dropped >= 1 && !a->connected, "server's flight lost");
    b->drop = 0;
    rc = (int) ngx_ams_dtls_timeout(b->dtls);
    ok(rc > 0 && rc <= 100, "server's timer due in %d ms", rc);
    usleep(rc * 1000 + 2000);
    is_int(ngx_ams_dtls_handle_timeout(b->dtls), NGX_AMS_DTLS_AGAIN,
           "server's timer fires");
    pump(a, b);
    ok(a->connected == 1 && b->connected == 1, "handshake recovered");

    /* a lost last flight: the client's timer, the server answers */
    ngx_ams_dtls_free(a->dtls);
    ngx_ams_dtls_free(b->dtls);

    ep_init(a, ca, 1, fb);
    ep_init(b, cb, 0, fa);
    (void) ngx_ams_dtls_start(a->dtls);
    deliver(a, b);          /* ClientHello */
    deliver(b, a);          /* ServerHello .. ServerHelloDone */
    deliver(a, b);          /* Certificate .. Finished: server done */
    ok(b->connected == 1, "server connected");
    b->n = 0;               /* its ChangeCipherSpec, Finished lost */
    rc = (int) ngx_ams_dtls_timeout(a->dtls);
    ok(rc > 0, "client waits for the server's Finished (%d ms)", rc);
    usleep(rc * 1000 + 2000);
    is_int(ngx_ams_dtls_handle_timeout(a->dtls), NGX_AMS_DTLS_AGAIN,
           "client retransmits its last flight");
    pump(a, b);
    ok(a->connected == 1 && b->connected == 1 && !a->failed && !b->failed,
       "the connected server sent its last flight again");
    ngx_ams_dtls_free(a->dtls);
    ngx_ams_dtls_free(b->dtls);

    /* timing: loopback handshakes, nothing lost */
    for (i = 0; i < 20; i++) {
        t0 = now_ms();
        ep_init(a, ca, 1, fb);
        ep_init(b, cb, 0, fa);
        (void) ngx_ams_dtls_start(a->dtls);
        pump(a, b);
        t[i] = now_ms() - t0;
        bad = !(a->connected && b->connected);
        ngx_ams_dtls_free(a->dtls);
        ngx_ams_dtls_free(b->dtls);

        if (bad) {
            break;
        }
    }

    ok(i == 20, "20 handshakes");
    qsort(t, 20, sizeof(double), cmp_double);
    printf("# handshake in one process: median %.2f ms, min %.2f, "
           "max %.2f\n", (t[9] + t[10]) / 2, t[0], t[19]);

    /* a captured ClientHello for the garbage below */
    ep_init(a, ca, 1, fb);
    (void) ngx_ams_dtls_start(a->dtls);
    hello_len = a->qlen[0];
    memcpy(hello, a->q[0], hello_len);
    ngx_ams_dtls_free(a->dtls);
    ok(hello_len > 13 && hello[0] == 22, "ClientHello captured (%d bytes)",
       (int) hello_len);

    /* garbage into fresh servers: ERROR or AGAIN, never a crash */
    crashed = 0;

    for (i = 0; i < 300; i++) {
        ep_init(c, cb, 0, fa);

        for (j = 0; j < 4; j++) {
            n = 1 + rnd() % sizeof(g);

            if (i % 3 == 0) {
                /* a real ClientHello cut short or bit-flipped */
                n = 1 + rnd() % hello_len;
                memcpy(g, hello, n);
                g[rnd() % n] ^= 1 << (rnd() % 8);

            } else {
                size_t  k;

                for (k = 0; k < n; k++) {
                    g[k] = (uint8_t) rnd();
                }

                g[0] = 20 + rnd() % 44;

                if (n > 3) {
                    /* DTLS 1.2 or 1.0 */
                    g[1] = 0xfe;
                    g[2] = (i & 1) ? 0xfd : 0xff;
                }
            }

            rc = ngx_ams_dtls_input(c->dtls, g, n);

            if (rc != NGX_AMS_DTLS_AGAIN && rc != NGX_AMS_DTLS_ERROR) {
                crashed++;
            }
        }

        ngx_ams_dtls_free(c->dtls);
    }

    is_int(crashed, 0, "garbage gives AGAIN or ERROR");

    /* after garbage, the real ClientHello still works */
    ep_init(a, ca, 1, fb);
    ep_init(b, cb, 0, fa);
    (void) ngx_ams_dtls_start(a->dtls);
    memset(g, 0x16, 100);
    g[1] = 0xfe;
    g[2] = 0xfd;
    rc = ngx_ams_dtls_input(b->dtls, g, 100);
    ok(rc == NGX_AMS_DTLS_AGAIN, "a garbage record is dropped (%d: %s)",
       rc, ngx_ams_dtls_error(b->dtls));
    pump(a, b);
    ok(a->connected == 1 && b->connected == 1,
       "and the real handshake goes on");
    ngx_ams_dtls_free(a->dtls);
    ngx_ams_dtls_free(b->dtls);

    /* SRTP: malformed packets are refused, never read past */
    {
        uint8_t          k1[30], k2[30], pk[64 + NGX_AMS_SRTP_TRAILER];
        size_t           len;
        ngx_ams_srtp_t  *s1, *s2;

        memset(k1, 1, sizeof(k1));
        memset(k2, 2, sizeof(k2));
        s1 = ngx_ams_srtp_create(NGX_AMS_SRTP_AEAD_AES_128_GCM, k1, k2, 28);
        s2 = ngx_ams_srtp_create(NGX_AMS_SRTP_AES128_CM_SHA1_80, k1, k2, 30);
        ok(s1 && s2, "SRTP sessions from raw keys");

        for (i = 0; i < 2; i++) {
            ngx_ams_srtp_t  *s = i ? s2 : s1;

            memset(pk, 0, sizeof(pk));
            rtp_packet(pk, 5, 1, 8);
            pk[0] = 0x8f;           /* 15 CSRCs in a 20-byte packet */
            len = 20;
            ok(ngx_ams_srtp_unprotect(s, pk, &len) != NGX_AMS_SRTP_OK,
               "%s: CSRCs past the end refused", i ? "CM" : "GCM");

            rtp_packet(pk, 6, 1, 20);
            pk[0] = 0x90;           /* an extension longer than the packet */
            pk[12] = 0xbe; pk[13] = 0xde; pk[14] = 0xff; pk[15] = 0xff;
            len = 32;
            ok(ngx_ams_srtp_unprotect(s, pk, &len) != NGX_AMS_SRTP_OK,
               "%s: extension past the end refused", i ? "CM" : "GCM");

            len = 11;
            ok(ngx_ams_srtp_unprotect(s, pk, &len) == NGX_AMS_SRTP_FAIL,
               "%s: 11 bytes are no RTP", i ? "CM" : "GCM");

            len = 12;
            ok(ngx_ams_srtp_unprotect(s, pk, &len) != NGX_AMS_SRTP_OK,
               "%s: a bare header without a tag refused", i ? "CM" : "GCM");

            rtcp_sr(pk, 1);
            len = 12;
            ok(ngx_ams_srtp_unprotect_rtcp(s, pk, &len) != NGX_AMS_SRTP_OK,
               "%s: a short SRTCP packet refused", i ? "CM" : "GCM");

            len = 7;
            ok(ngx_ams_srtp_unprotect_rtcp(s, pk, &len) == NGX_AMS_SRTP_FAIL,
               "%s: 7 bytes are no RTCP", i ? "CM" : "GCM");
        }

        ngx_ams_srtp_free(s1);
        ngx_ams_srtp_free(s2);
    }

    /* SRTP: bad keys and profiles */
    ok(ngx_ams_srtp_create(99, fa, fb, 30) == NULL, "unknown profile");
    ok(ngx_ams_srtp_create(NGX_AMS_SRTP_AEAD_AES_128_GCM, fa, fb, 30)
       == NULL, "GCM wants 28 bytes of key and salt");

    ngx_ams_dtls_ctx_free(ca);
    ngx_ams_dtls_ctx_free(cb);
    free(a);
    free(b);
    free(c);

    return done_testing();
}
