
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
 *   ams_webrtc_load --janus URL --mountpoint N COUNT SECONDS [RATE]
 *
 * RATE: new sessions per second (default 50).  SECONDS counts from the
 * first POST (SIGTERM ends the run sooner).  Prints "key value" lines
 * for the bench scripts; "all_receiving_ms T" on stderr as soon as every
 * player has had media (the scripts count the server's CPU from then).
 *
 * --janus: the same players of a Janus streaming-plugin mountpoint
 * (URL: http://127.0.0.1:PORT/janus), for the fan-out comparison.
 * Janus's HTTP API: create a session, attach janus.plugin.streaming,
 * "watch" N, long-poll GET for the event with Janus's SDP offer, answer
 * with "start" (the answer made by the module's own ngx_ams_sdp.c, as it
 * answers a browser's offer), a keepalive every 25 s (Janus drops a
 * session after 60 s of silence).  Janus is a full ICE agent and the
 * controlling one; the answer says ICE-lite (as the module's answers do)
 * and the player only answers Janus's checks (the module's STUN code),
 * starting DTLS as client once the first check has come.
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
#include <signal.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <zlib.h>

#include "ngx_ams_stun.h"
#include "ngx_ams_dtls.h"
#include "ngx_ams_srtp.h"
#include "ngx_ams_sdp.h"


#define HTTP_MAX    16384
#define PKT_MAX     (1500 + NGX_AMS_SRTP_TRAILER)

enum { S_IDLE, S_HTTP, S_ICE, S_DTLS, S_MEDIA, S_FAILED };

/* the Janus signalling steps: the request in flight */
enum { J_CREATE = 1, J_ATTACH, J_WATCH, J_POLL, J_START, J_DONE,
       J_KEEPALIVE };

#define KEEPALIVE_MS  25000

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

    /* Janus */
    int                 jstep;
    unsigned long long  jsession, jhandle;
    int64_t             keepalive_ms;
    unsigned            connected:1;            /* UDP to Janus's address */
} player_t;


static ngx_ams_dtls_ctx_t  *ctx;
static char                 offer_fp[96];
static int                  receiving, players;
static int64_t              start_ms;
static volatile sig_atomic_t  stop;
static int                  ep;
static player_t            *pl;

static int                  janus;              /* --janus given */
static int                  janus_port, janus_mountpoint;
static char                 janus_path[256];
static ngx_ams_sdp_t        janus_offer;        /* ~200 KB: not on a stack */

#define TCP_FD  0
#define UDP_FD  1


/* epoll's data: the player's index and which of its sockets */
static void
watch(player_t *p, int fd, int kind, int op, uint32_t events)
{
    struct epoll_event  ev;

    ev.events = events;
    ev.data.u64 = (uint64_t) (p - pl) << 1 | kind;
    epoll_ctl(ep, op, fd, &ev);
}


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
    if (p->udp >= 0) {          /* else epoll reports its packets forever */
        close(p->udp);
        p->udp = -1;
    }
}


/* --- WHEP ----------------------------------------------------------------- */

/* the request in p->http (http_len) to 127.0.0.1:port, from p->local */
static void
connect_http(player_t *p, int port)
{
    struct sockaddr_in  srv;

    p->sent = 0;
    p->reading = 0;

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

    watch(p, p->tcp, TCP_FD, EPOLL_CTL_ADD, EPOLLIN | EPOLLOUT);
}


static void
post(player_t *p, int port, const char *app, const char *id)
{
    int                 n;
    char                sdp[2048];

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

    p->state = S_HTTP;
    p->posted_ms = now_ms();
    connect_http(p, port);
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

    watch(p, p->udp, UDP_FD, EPOLL_CTL_ADD, EPOLLIN);
    p->connected = 1;

    close(p->tcp);
    p->tcp = -1;
    p->state = S_ICE;
    send_check(p);
}


static void janus_response(player_t *p);


static void
http_event(player_t *p, uint32_t events)
{
    ssize_t             n;

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
            watch(p, p->tcp, TCP_FD, EPOLL_CTL_MOD, EPOLLIN);
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
            if (janus) {
                janus_response(p);
            } else {
                answer(p);
            }
        } else if (errno != EAGAIN) {
            fail(p, strerror(errno));
        }
        return;
    }
}


/* --- Janus: its HTTP API, and an answer to its offer ---------------------- */

static void
janus_request(player_t *p, int step, const char *path, const char *body)
{
    if (body == NULL) {
        p->http_len = snprintf(p->http, sizeof(p->http),
            "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Connection: close\r\n\r\n", path);
    } else {
        p->http_len = snprintf(p->http, sizeof(p->http),
            "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: application/json\r\nContent-Length: %zu\r\n"
            "Connection: close\r\n\r\n%s", path, strlen(body), body);
    }

    if (p->http_len >= sizeof(p->http)) {
        fail(p, "a Janus request too long");
        return;
    }

    p->jstep = step;
    connect_http(p, janus_port);
}


static void
janus_create(player_t *p)
{
    p->state = S_HTTP;
    p->posted_ms = now_ms();
    janus_request(p, J_CREATE, janus_path,
                  "{\"janus\":\"create\",\"transaction\":\"c\"}");
}


static void
janus_keepalive(player_t *p)
{
    char  path[320];

    snprintf(path, sizeof(path), "%s/%llu", janus_path, p->jsession);
    p->keepalive_ms = now_ms();
    janus_request(p, J_KEEPALIVE, path,
                  "{\"janus\":\"keepalive\",\"transaction\":\"k\"}");
}


/* "data":{"id":N} of a success response: 0 when absent */
static unsigned long long
janus_id(const char *body)
{
    const char  *s;

    s = strstr(body, "\"data\"");
    if (s == NULL || (s = strstr(s, "\"id\"")) == NULL) {
        return 0;
    }
    s += 4;
    s += strspn(s, " \t\r\n:");
    return strtoull(s, NULL, 10);
}


/* the JSON string after "key": unescaped into out: its length, or -1 */
static int
json_string(const char *body, const char *key, char *out, size_t cap)
{
    size_t       n;
    const char  *s;

    s = strstr(body, key);
    if (s == NULL) {
        return -1;
    }
    s += strlen(key);
    s += strspn(s, " \t\r\n:");
    if (*s++ != '"') {
        return -1;
    }

    for (n = 0; *s != '"'; s++) {
        if (*s == '\0' || n + 1 >= cap) {
            return -1;
        }
        if (*s == '\\') {
            s++;
            switch (*s) {
            case 'r': out[n++] = '\r'; break;
            case 'n': out[n++] = '\n'; break;
            case 't': out[n++] = '\t'; break;
            case '"': case '\\': case '/': out[n++] = *s; break;
            default: return -1;                 /* \u: not in an SDP */
            }
            continue;
        }
        out[n++] = *s;
    }

    out[n] = '\0';
    return n;
}


/*
 * Janus's offer in: our answer (the module's SDP code: the offer parsed
 * and selected as a server receiving, answered with our ICE, DTLS as
 * client, our UDP socket's address as the host candidate), sent with
 * the "start" request
 */
static void
janus_offer_in(player_t *p, const char *body)
{
    int                   n, i;
    char                 *o, addr[INET_ADDRSTRLEN], path[320];
    char                  sdp[8192], ans[8192], js[12288];
    socklen_t             sl;
    const char           *err, *a;
    struct sockaddr_in    sin;
    ngx_ams_sdp_local_t   local;
    ngx_ams_sdp_policy_t  policy;
    ngx_ams_sdp_selection_t  sel;
    ngx_ams_sdp_candidate_t *c;

    n = json_string(body, "\"sdp\"", sdp, sizeof(sdp));
    if (n < 0) {
        fail(p, "no SDP in Janus's offer event");
        return;
    }

    if (ngx_ams_sdp_parse(sdp, n, &janus_offer, &err) != 0) {
        fail(p, err);
        return;
    }

    memset(&policy, 0, sizeof(policy));
    policy.role = NGX_AMS_SDP_WE_RECEIVE;
    if (ngx_ams_sdp_select(&janus_offer, &policy, &sel, &err) != 0) {
        fail(p, err);
        return;
    }

    memcpy(p->rfp, janus_offer.fingerprint, 32);

    /*
     * Janus gathers no loopback candidate, and libnice ties each socket
     * to its interface (IP_UNICAST_IF): a check to 127.x would leave by
     * eth0.  Our UDP is on the address of Janus's IPv4 host candidate
     * (this machine's, so still delivered locally), any port.
     */
    for (i = 0; i < (int) janus_offer.ncandidates; i++) {
        c = &janus_offer.candidate[i];
        if (!c->tcp && inet_pton(AF_INET, c->addr, &sin.sin_addr) == 1) {
            break;
        }
    }
    if (i == (int) janus_offer.ncandidates) {
        fail(p, "no IPv4 candidate in Janus's offer");
        return;
    }
    sin.sin_family = AF_INET;
    sin.sin_port = 0;

    p->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sl = sizeof(sin);
    if (p->udp < 0
        || bind(p->udp, (struct sockaddr *) &sin, sizeof(sin)) < 0
        || getsockname(p->udp, (struct sockaddr *) &sin, &sl) < 0)
    {
        fail(p, strerror(errno));
        return;
    }
    watch(p, p->udp, UDP_FD, EPOLL_CTL_ADD, EPOLLIN);

    inet_ntop(AF_INET, &sin.sin_addr, addr, sizeof(addr));
    memset(&local, 0, sizeof(local));
    local.ice_ufrag = p->ufrag;
    local.ice_pwd = p->pwd;
    local.fingerprint = offer_fp;
    local.setup = NGX_AMS_SDP_SETUP_ACTIVE;
    local.candidate[0].addr = addr;
    local.candidate[0].port = ntohs(sin.sin_port);
    local.ncandidates = 1;
    local.cname = "load";
    local.stream_id = "load";
    RAND_bytes((uint8_t *) &local.session_id, 4);

    if (ngx_ams_sdp_answer(ans, sizeof(ans), &janus_offer, &sel, &local)
        == 0)
    {
        fail(p, "no room for the answer");
        return;
    }

    /* the answer as a JSON string */
    o = js + snprintf(js, sizeof(js),
        "{\"janus\":\"message\",\"transaction\":\"s\","
        "\"body\":{\"request\":\"start\"},"
        "\"jsep\":{\"type\":\"answer\",\"sdp\":\"");
    for (a = ans; *a; a++) {
        if (o + 8 >= js + sizeof(js)) {
            fail(p, "no room for the answer");
            return;
        }
        if (*a == '\r' || *a == '\n') {
            *o++ = '\\';
            *o++ = *a == '\r' ? 'r' : 'n';
        } else {
            if (*a == '"' || *a == '\\') {
                *o++ = '\\';
            }
            *o++ = *a;
        }
    }
    if (o + 4 >= js + sizeof(js)) {
        fail(p, "no room for the answer");
        return;
    }
    memcpy(o, "\"}}", 4);

    snprintf(path, sizeof(path), "%s/%llu/%llu", janus_path, p->jsession,
             p->jhandle);
    p->state = S_ICE;
    p->keepalive_ms = now_ms();
    janus_request(p, J_START, path, js);
}


/* a chunked body (libmicrohttpd's) joined in place: 0, or -1 */
static int
dechunk(char *body)
{
    char           *w, *r, *e;
    unsigned long   n;

    w = r = body;
    for ( ;; ) {
        n = strtoul(r, &e, 16);
        if (e == r || (e = strstr(e, "\r\n")) == NULL) {
            return -1;
        }
        if (n == 0) {
            *w = '\0';
            return 0;
        }
        r = e + 2;
        if (strlen(r) < n + 2) {
            return -1;
        }
        memmove(w, r, n);
        w += n;
        r += n + 2;
    }
}


/* a whole response in (Janus closed): the next step */
static void
janus_response(player_t *p)
{
    int    step;
    char  *body, path[320], req[256];

    p->http[p->http_len] = '\0';
    close(p->tcp);
    p->tcp = -1;

    body = strstr(p->http, "\r\n\r\n");
    if (strncmp(p->http, "HTTP/1.1 200", 12) != 0 || body == NULL
        || strstr(body, "\"error\"") != NULL)
    {
        fail(p, p->http_len ? (body ? body + 4 : p->http) : "no response");
        return;
    }

    body += 4;
    if (strcasestr(p->http, "\r\nTransfer-Encoding: chunked") != NULL
        && dechunk(body) != 0)
    {
        fail(p, "a bad chunked response");
        return;
    }

    step = p->jstep;
    p->jstep = J_DONE;

    switch (step) {

    case J_CREATE:
        if ((p->jsession = janus_id(body)) == 0) {
            fail(p, "no session id");
            return;
        }
        snprintf(path, sizeof(path), "%s/%llu", janus_path, p->jsession);
        janus_request(p, J_ATTACH, path, "{\"janus\":\"attach\","
                      "\"plugin\":\"janus.plugin.streaming\","
                      "\"transaction\":\"a\"}");
        return;

    case J_ATTACH:
        if ((p->jhandle = janus_id(body)) == 0) {
            fail(p, "no handle id");
            return;
        }
        snprintf(path, sizeof(path), "%s/%llu/%llu", janus_path,
                 p->jsession, p->jhandle);
        snprintf(req, sizeof(req), "{\"janus\":\"message\","
                 "\"transaction\":\"w\",\"body\":{\"request\":\"watch\","
                 "\"id\":%d}}", janus_mountpoint);
        janus_request(p, J_WATCH, path, req);
        return;

    case J_WATCH:
    case J_POLL:
        if (step == J_POLL && strstr(body, "\"jsep\"") != NULL) {
            janus_offer_in(p, body);
            return;
        }
        /* the ack, or a poll that ended without the offer */
        snprintf(path, sizeof(path), "%s/%llu?maxev=1", janus_path,
                 p->jsession);
        janus_request(p, J_POLL, path, NULL);
        return;

    default:                /* start's ack, a keepalive's: nothing to do */
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
start_dtls(player_t *p)
{
    p->dtls = ngx_ams_dtls_create(ctx, 1, p->rfp, dtls_send, dtls_recv, p);
    if (p->dtls == NULL || ngx_ams_dtls_start(p->dtls) == NGX_AMS_DTLS_ERROR)
    {
        fail(p, "DTLS start");
        return;
    }
    p->state = S_DTLS;
}


/*
 * Janus's connectivity checks (and its consent checks later): answered
 * as an ICE-lite agent does; the first good one fixes Janus's address
 * (the socket is connected to it) and starts DTLS
 */
static void
janus_check(player_t *p, const uint8_t *b, size_t n,
    struct sockaddr_in *from)
{
    size_t              len;
    uint8_t             out[128];
    ngx_ams_stun_msg_t  m;

    if (ngx_ams_stun_parse(b, n, &m) != NGX_AMS_STUN_OK
        || m.type != NGX_AMS_STUN_BINDING_REQUEST
        || !ngx_ams_stun_check_integrity(b, n, &m, (uint8_t *) p->pwd,
                                         strlen(p->pwd)))
    {
        return;
    }

    len = ngx_ams_stun_binding_success(out, sizeof(out), m.txid,
                                       (struct sockaddr *) from,
                                       (uint8_t *) p->pwd, strlen(p->pwd));
    sendto(p->udp, out, len, 0, (struct sockaddr *) from, sizeof(*from));

    if (p->connected) {
        return;
    }

    if (connect(p->udp, (struct sockaddr *) from, sizeof(*from)) < 0) {
        fail(p, strerror(errno));
        return;
    }
    p->connected = 1;
    start_dtls(p);
}


static void
udp_event(player_t *p)
{
    int                 rc;
    size_t              len;
    ssize_t             n;
    uint8_t             b[PKT_MAX];
    socklen_t           sl;
    ngx_ams_stun_msg_t  m;
    struct sockaddr_in  from;

    for ( ;; ) {
        sl = sizeof(from);
        n = recvfrom(p->udp, b, 1500, 0, (struct sockaddr *) &from, &sl);
        if (n <= 0) {
            return;
        }

        switch (ngx_ams_rtc_classify(b, n)) {

        case NGX_AMS_RTC_STUN:
            if (janus) {
                janus_check(p, b, n, &from);
                if (p->state == S_FAILED) {
                    return;
                }
                break;
            }
            if (p->state != S_ICE
                || ngx_ams_stun_parse(b, n, &m) != NGX_AMS_STUN_OK
                || m.type != NGX_AMS_STUN_BINDING_SUCCESS)
            {
                break;
            }
            start_dtls(p);
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
                if (++receiving == players) {
                    fprintf(stderr, "all_receiving_ms %lld\n",
                            (long long) (p->first_rtp_ms - start_ms));
                }
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

    if (janus) {
        if (p->tcp < 0 && p->jsession && p->state != S_FAILED
            && now - p->keepalive_ms >= KEEPALIVE_MS)
        {
            janus_keepalive(p);
        }
        if (p->state == S_DTLS) {
            t = ngx_ams_dtls_timeout(p->dtls);
            if (t == 0 && ngx_ams_dtls_handle_timeout(p->dtls)
                          == NGX_AMS_DTLS_ERROR)
            {
                fail(p, ngx_ams_dtls_error(p->dtls));
            }
        }
        return;
    }

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


static void
on_term(int sig)
{
    stop = 1;
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
    player_t            *p;
    const char          *err, *app, *id;
    struct epoll_event   evs[256];

    if (argc >= 7 && strcmp(argv[1], "--janus") == 0
        && strcmp(argv[3], "--mountpoint") == 0)
    {
        /* http://127.0.0.1:PORT/PATH */
        janus = 1;
        if (sscanf(argv[2], "http://127.0.0.1:%d%255s", &janus_port,
                   janus_path) != 2)
        {
            fprintf(stderr, "--janus: http://127.0.0.1:PORT/PATH\n");
            return 2;
        }
        janus_mountpoint = atoi(argv[4]);
        argv++;                 /* COUNT SECONDS [RATE] where WHEP's are */
        argc--;
    }

    if (argc < 6) {
        fprintf(stderr, "usage: ams_webrtc_load HTTP_PORT APP ID COUNT "
                "SECONDS [RATE]\n"
                "       ams_webrtc_load --janus URL --mountpoint N COUNT "
                "SECONDS [RATE]\n");
        return 2;
    }

    port = atoi(argv[1]);
    app = argv[2];
    id = argv[3];
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

    players = count;
    start_ms = t0;
    signal(SIGTERM, on_term);

    for ( ;; ) {
        now = now_ms();
        if (now - t0 >= seconds * 1000 || stop) {
            break;
        }

        while (started < count && started * 1000 <= (now - t0) * rate) {
            p = &pl[started++];
            rand_chars(p->ufrag, 8);
            rand_chars(p->pwd, 24);
            if (janus) {
                janus_create(p);
            } else {
                post(p, port, app, id);
            }
        }

        n = epoll_wait(ep, evs, 256, 10);
        for (i = 0; i < n; i++) {
            p = &pl[evs[i].data.u64 >> 1];
            if (p->state == S_FAILED) {
                continue;
            }
            if ((evs[i].data.u64 & 1) == TCP_FD) {
                if (p->tcp >= 0) {
                    http_event(p, evs[i].events);
                }
            } else if (p->udp >= 0) {
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
    printf("elapsed_ms %lld\n", (long long) (now_ms() - t0));
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
