
/*
 * Copyright (C) nginx-ams authors
 *
 * DTLS-SRTP endpoints with OpenSSL.  The node's certificate and SSL_CTX
 * are made once (in the master: every worker then advertises the same
 * fingerprint); each session owns an SSL whose read side is a memory BIO
 * fed one datagram at a time and whose write side is a BIO of our own
 * that hands each record to the caller's send callback as one datagram.
 *
 * The peer is authenticated by the digest of its self-signed certificate
 * alone (RFC 8122): the certificate verification callback replaces
 * OpenSSL's chain building and compares the leaf's SHA-256 with the one
 * the peer's SDP gave, so a mismatch aborts the handshake with an alert
 * before any key exists.
 *
 * Retransmissions: OpenSSL's default first timer is 1 s, which one lost
 * datagram turns into a second of setup; ours starts at 100 ms and
 * doubles up to 2 s (a spurious retransmission costs one flight, a late
 * one costs the viewer's first frame).
 *
 * OpenSSL's error queue belongs to the thread, shared by every session
 * of a worker: it is cleared before each call and emptied after it.
 */


#include <string.h>
#include <stdio.h>

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>

#include "ngx_ams_dtls.h"


#define NGX_AMS_DTLS_CN             "nginx-ams"
#define NGX_AMS_DTLS_FIRST_TIMER    100000      /* us */
#define NGX_AMS_DTLS_MAX_TIMER      2000000     /* us */
#define NGX_AMS_DTLS_SRTP_PROFILES  "SRTP_AEAD_AES_128_GCM:" \
                                    "SRTP_AES128_CM_SHA1_80"
/* ECDSA first (our certificate); RSA for a server peer that has one */
#define NGX_AMS_DTLS_CIPHERS                                                 \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"           \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:"             \
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"               \
    "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:"                         \
    "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA"

#define NGX_AMS_DTLS_HANDSHAKE      0
#define NGX_AMS_DTLS_CONNECTED_S    1
#define NGX_AMS_DTLS_CLOSED_S       2
#define NGX_AMS_DTLS_FAILED         3


struct ngx_ams_dtls_ctx_s {
    SSL_CTX                   *ssl_ctx;
    BIO_METHOD                *bio_method;
    X509                      *cert;
    EVP_PKEY                  *key;
    char                       fingerprint[96];
};


struct ngx_ams_dtls_s {
    SSL                       *ssl;
    BIO                       *rbio;
    ngx_ams_dtls_send_pt       send;
    ngx_ams_dtls_recv_pt       recv;
    void                      *data;
    uint8_t                    peer_fp[32];
    unsigned                   state;
    unsigned                   fp_mismatch:1;
    char                       err[160];
};


static EVP_PKEY *ngx_ams_dtls_make_key(void);
static X509 *ngx_ams_dtls_make_cert(EVP_PKEY *key);
static int ngx_ams_dtls_verify(X509_STORE_CTX *store, void *arg);
static unsigned int ngx_ams_dtls_timer(SSL *ssl, unsigned int us);
static int ngx_ams_dtls_bio_create(BIO *b);
static int ngx_ams_dtls_bio_write(BIO *b, const char *p, int len);
static long ngx_ams_dtls_bio_ctrl(BIO *b, int cmd, long num, void *ptr);
static int ngx_ams_dtls_handshake(ngx_ams_dtls_t *d);
static int ngx_ams_dtls_read(ngx_ams_dtls_t *d);
static int ngx_ams_dtls_fail(ngx_ams_dtls_t *d, const char *what);


ngx_ams_dtls_ctx_t *
ngx_ams_dtls_ctx_create(const char **err)
{
    int                  i;
    char                *p;
    unsigned int         n;
    unsigned char        md[EVP_MAX_MD_SIZE];
    ngx_ams_dtls_ctx_t  *ctx;

    ERR_clear_error();

    ctx = OPENSSL_zalloc(sizeof(ngx_ams_dtls_ctx_t));
    if (ctx == NULL) {
        *err = "out of memory";
        return NULL;
    }

    ctx->key = ngx_ams_dtls_make_key();
    if (ctx->key == NULL) {
        *err = "ECDSA P-256 key generation failed";
        goto failed;
    }

    ctx->cert = ngx_ams_dtls_make_cert(ctx->key);
    if (ctx->cert == NULL) {
        *err = "certificate generation failed";
        goto failed;
    }

    if (X509_digest(ctx->cert, EVP_sha256(), md, &n) != 1 || n != 32) {
        *err = "certificate digest failed";
        goto failed;
    }

    p = ctx->fingerprint;

    for (i = 0; i < 32; i++) {
        p += sprintf(p, i ? ":%02X" : "%02X", md[i]);
    }

    ctx->ssl_ctx = SSL_CTX_new(DTLS_method());
    if (ctx->ssl_ctx == NULL) {
        *err = "SSL_CTX_new(DTLS_method()) failed";
        goto failed;
    }

    if (SSL_CTX_set_min_proto_version(ctx->ssl_ctx, DTLS1_2_VERSION) != 1
        || SSL_CTX_use_certificate(ctx->ssl_ctx, ctx->cert) != 1
        || SSL_CTX_use_PrivateKey(ctx->ssl_ctx, ctx->key) != 1
        || SSL_CTX_check_private_key(ctx->ssl_ctx) != 1
        || SSL_CTX_set_cipher_list(ctx->ssl_ctx, NGX_AMS_DTLS_CIPHERS) != 1)
    {
        *err = "SSL_CTX setup failed";
        goto failed;
    }

    /* 0 is success here */
    if (SSL_CTX_set_tlsext_use_srtp(ctx->ssl_ctx, NGX_AMS_DTLS_SRTP_PROFILES)
        != 0)
    {
        *err = "SSL_CTX_set_tlsext_use_srtp() failed";
        goto failed;
    }

    /* both sides present a certificate: the fingerprints are the trust */
    SSL_CTX_set_verify(ctx->ssl_ctx,
                       SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       NULL);
    SSL_CTX_set_cert_verify_callback(ctx->ssl_ctx, ngx_ams_dtls_verify, NULL);

    /* every session is new: no resumption, no renegotiation; the MTU is
     * ours, never asked of a socket */
    SSL_CTX_set_session_cache_mode(ctx->ssl_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET
                                      | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_read_ahead(ctx->ssl_ctx, 1);

    ctx->bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                   "ams dtls datagram");
    if (ctx->bio_method == NULL
        || BIO_meth_set_create(ctx->bio_method, ngx_ams_dtls_bio_create) != 1
        || BIO_meth_set_write(ctx->bio_method, ngx_ams_dtls_bio_write) != 1
        || BIO_meth_set_ctrl(ctx->bio_method, ngx_ams_dtls_bio_ctrl) != 1)
    {
        *err = "BIO_meth_new() failed";
        goto failed;
    }

    ERR_clear_error();

    return ctx;

failed:

    ERR_clear_error();
    ngx_ams_dtls_ctx_free(ctx);

    return NULL;
}


int
ngx_ams_dtls_ctx_srtp_profiles(ngx_ams_dtls_ctx_t *ctx, const char *profiles)
{
    int  rc;

    rc = SSL_CTX_set_tlsext_use_srtp(ctx->ssl_ctx, profiles) == 0 ? 0 : -1;
    ERR_clear_error();

    return rc;
}


const char *
ngx_ams_dtls_ctx_fingerprint(ngx_ams_dtls_ctx_t *ctx)
{
    return ctx->fingerprint;
}


void
ngx_ams_dtls_ctx_free(ngx_ams_dtls_ctx_t *ctx)
{
    if (ctx == NULL) {
        return;
    }

    SSL_CTX_free(ctx->ssl_ctx);
    BIO_meth_free(ctx->bio_method);
    X509_free(ctx->cert);
    EVP_PKEY_free(ctx->key);
    OPENSSL_free(ctx);
}


static EVP_PKEY *
ngx_ams_dtls_make_key(void)
{
    EVP_PKEY      *key;
    EVP_PKEY_CTX  *pctx;

    key = NULL;

    pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
    if (pctx == NULL) {
        return NULL;
    }

    if (EVP_PKEY_keygen_init(pctx) != 1
        || EVP_PKEY_CTX_set_ec_paramgen_curve_nid(pctx, NID_X9_62_prime256v1)
           != 1
        || EVP_PKEY_CTX_set_ec_param_enc(pctx, OPENSSL_EC_NAMED_CURVE) != 1
        || EVP_PKEY_keygen(pctx, &key) != 1)
    {
        key = NULL;
    }

    EVP_PKEY_CTX_free(pctx);

    return key;
}


static X509 *
ngx_ams_dtls_make_cert(EVP_PKEY *key)
{
    X509          *x;
    BIGNUM        *bn;
    X509_NAME     *name;
    ASN1_INTEGER  *serial;

    x = X509_new();
    if (x == NULL) {
        return NULL;
    }

    bn = BN_new();
    serial = NULL;

    /* a random positive serial: two certificates never look alike */
    if (bn == NULL
        || BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1
        || (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL
        || X509_set_serialNumber(x, serial) != 1
        || X509_set_version(x, 2) != 1)
    {
        goto failed;
    }

    /* a month back for skewed clocks, a year ahead */
    if (X509_gmtime_adj(X509_getm_notBefore(x), -30L * 86400) == NULL
        || X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400) == NULL)
    {
        goto failed;
    }

    name = X509_get_subject_name(x);

    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                   (const unsigned char *) NGX_AMS_DTLS_CN,
                                   -1, -1, 0) != 1
        || X509_set_issuer_name(x, name) != 1
        || X509_set_pubkey(x, key) != 1
        || X509_sign(x, key, EVP_sha256()) == 0)
    {
        goto failed;
    }

    BN_free(bn);
    ASN1_INTEGER_free(serial);

    return x;

failed:

    BN_free(bn);
    ASN1_INTEGER_free(serial);
    X509_free(x);

    return NULL;
}


ngx_ams_dtls_t *
ngx_ams_dtls_create(ngx_ams_dtls_ctx_t *ctx, unsigned client,
    const uint8_t peer_fp[32], ngx_ams_dtls_send_pt send,
    ngx_ams_dtls_recv_pt recv, void *data)
{
    BIO             *wbio;
    ngx_ams_dtls_t  *d;

    ERR_clear_error();

    d = OPENSSL_zalloc(sizeof(ngx_ams_dtls_t));
    if (d == NULL) {
        return NULL;
    }

    memcpy(d->peer_fp, peer_fp, 32);
    d->send = send;
    d->recv = recv;
    d->data = data;
    d->state = NGX_AMS_DTLS_HANDSHAKE;

    d->ssl = SSL_new(ctx->ssl_ctx);
    if (d->ssl == NULL) {
        goto failed;
    }

    d->rbio = BIO_new(BIO_s_mem());
    if (d->rbio == NULL) {
        goto failed;
    }

    /* an empty read BIO means "wait for the next datagram", not EOF */
    BIO_set_mem_eof_return(d->rbio, -1);

    wbio = BIO_new(ctx->bio_method);
    if (wbio == NULL) {
        BIO_free(d->rbio);
        goto failed;
    }

    BIO_set_data(wbio, d);
    SSL_set_bio(d->ssl, d->rbio, wbio);
    SSL_set_app_data(d->ssl, d);

    /* it answers the MTU set, 0 on failure */
    if (SSL_set_mtu(d->ssl, NGX_AMS_DTLS_MTU) == 0) {
        goto failed;
    }

    DTLS_set_timer_cb(d->ssl, ngx_ams_dtls_timer);

    if (client) {
        SSL_set_connect_state(d->ssl);

    } else {
        SSL_set_accept_state(d->ssl);
    }

    ERR_clear_error();

    return d;

failed:

    ERR_clear_error();
    SSL_free(d->ssl);
    OPENSSL_free(d);

    return NULL;
}


int
ngx_ams_dtls_start(ngx_ams_dtls_t *d)
{
    switch (d->state) {

    case NGX_AMS_DTLS_FAILED:
        return NGX_AMS_DTLS_ERROR;

    case NGX_AMS_DTLS_HANDSHAKE:
        /* a server waits for the ClientHello */
        return SSL_is_server(d->ssl) ? NGX_AMS_DTLS_AGAIN
                                     : ngx_ams_dtls_handshake(d);

    default:
        return NGX_AMS_DTLS_AGAIN;
    }
}


int
ngx_ams_dtls_input(ngx_ams_dtls_t *d, const uint8_t *p, size_t len)
{
    int  rc;

    switch (d->state) {

    case NGX_AMS_DTLS_FAILED:
        return NGX_AMS_DTLS_ERROR;

    case NGX_AMS_DTLS_CLOSED_S:
        return NGX_AMS_DTLS_CLOSED;

    default:
        break;
    }

    if (len == 0 || len > 65535) {
        return d->state == NGX_AMS_DTLS_HANDSHAKE ? NGX_AMS_DTLS_AGAIN
                                                  : NGX_AMS_DTLS_OK;
    }

    /* one datagram at a time: what OpenSSL left of the last one (a
     * record it discarded the rest of) must not prefix this one */
    if (BIO_ctrl_pending(d->rbio)) {
        (void) BIO_reset(d->rbio);
    }

    if (BIO_write(d->rbio, p, (int) len) != (int) len) {
        ERR_clear_error();
        return ngx_ams_dtls_fail(d, "out of memory");
    }

    if (d->state == NGX_AMS_DTLS_HANDSHAKE) {
        rc = ngx_ams_dtls_handshake(d);

        if (rc != NGX_AMS_DTLS_CONNECTED) {
            return rc;
        }

        /* application data may follow Finished in the same datagram */
        if (ngx_ams_dtls_read(d) == NGX_AMS_DTLS_ERROR) {
            return NGX_AMS_DTLS_ERROR;
        }

        return NGX_AMS_DTLS_CONNECTED;
    }

    return ngx_ams_dtls_read(d);
}


static int
ngx_ams_dtls_handshake(ngx_ams_dtls_t *d)
{
    int            rc;
    X509          *peer;
    unsigned int   n;
    unsigned char  md[EVP_MAX_MD_SIZE];

    ERR_clear_error();

    rc = SSL_do_handshake(d->ssl);

    if (rc != 1) {
        switch (SSL_get_error(d->ssl, rc)) {

        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
            ERR_clear_error();
            return NGX_AMS_DTLS_AGAIN;

        default:
            return ngx_ams_dtls_fail(d, "handshake failed");
        }
    }

    /* the callback has compared it; make sure there was one to compare */
    peer = SSL_get1_peer_certificate(d->ssl);

    if (peer == NULL) {
        return ngx_ams_dtls_fail(d, "no peer certificate");
    }

    rc = X509_digest(peer, EVP_sha256(), md, &n);
    X509_free(peer);

    if (rc != 1 || n != 32 || CRYPTO_memcmp(md, d->peer_fp, 32) != 0) {
        d->fp_mismatch = 1;
        return ngx_ams_dtls_fail(d, NULL);
    }

    /* a peer that offered no SRTP profile connects too: the caller
     * finds out from ngx_ams_dtls_srtp_keys() */

    ERR_clear_error();
    d->state = NGX_AMS_DTLS_CONNECTED_S;

    return NGX_AMS_DTLS_CONNECTED;
}


static int
ngx_ams_dtls_read(ngx_ams_dtls_t *d)
{
    int      n;
    uint8_t  buf[16384];    /* a whole record: a datagram stays whole */

    for ( ;; ) {
        ERR_clear_error();

        n = SSL_read(d->ssl, buf, sizeof(buf));

        if (n > 0) {
            if (d->recv) {
                d->recv(d->data, buf, n);
            }

            continue;
        }

        switch (SSL_get_error(d->ssl, n)) {

        case SSL_ERROR_WANT_READ:
        case SSL_ERROR_WANT_WRITE:
            ERR_clear_error();
            return NGX_AMS_DTLS_OK;

        case SSL_ERROR_ZERO_RETURN:
            ERR_clear_error();
            d->state = NGX_AMS_DTLS_CLOSED_S;
            return NGX_AMS_DTLS_CLOSED;

        default:
            return ngx_ams_dtls_fail(d, "read failed");
        }
    }
}


static int
ngx_ams_dtls_fail(ngx_ams_dtls_t *d, const char *what)
{
    unsigned long  e;
    char           buf[120];

    d->state = NGX_AMS_DTLS_FAILED;

    if (d->fp_mismatch) {
        snprintf(d->err, sizeof(d->err), "fingerprint mismatch");
        ERR_clear_error();
        return NGX_AMS_DTLS_ERROR;
    }

    e = ERR_peek_last_error();

    if (e) {
        ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(d->err, sizeof(d->err), "%s: %s", what, buf);

    } else {
        snprintf(d->err, sizeof(d->err), "%s", what);
    }

    ERR_clear_error();

    return NGX_AMS_DTLS_ERROR;
}


int64_t
ngx_ams_dtls_timeout(ngx_ams_dtls_t *d)
{
    struct timeval  tv;

    if (d->state != NGX_AMS_DTLS_HANDSHAKE
        || DTLSv1_get_timeout(d->ssl, &tv) != 1)
    {
        return -1;
    }

    /* rounded up: a timer that fires early finds nothing due */
    return (int64_t) tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
}


int
ngx_ams_dtls_handle_timeout(ngx_ams_dtls_t *d)
{
    switch (d->state) {

    case NGX_AMS_DTLS_FAILED:
        return NGX_AMS_DTLS_ERROR;

    case NGX_AMS_DTLS_CLOSED_S:
        return NGX_AMS_DTLS_CLOSED;

    case NGX_AMS_DTLS_CONNECTED_S:
        return NGX_AMS_DTLS_OK;

    default:
        break;
    }

    ERR_clear_error();

    if (DTLSv1_handle_timeout(d->ssl) < 0) {
        return ngx_ams_dtls_fail(d, "retransmission failed");
    }

    ERR_clear_error();

    return NGX_AMS_DTLS_AGAIN;
}


int
ngx_ams_dtls_write(ngx_ams_dtls_t *d, const uint8_t *p, size_t len)
{
    int  n;

    if (d->state != NGX_AMS_DTLS_CONNECTED_S || len == 0 || len > 16384) {
        return -1;
    }

    ERR_clear_error();

    n = SSL_write(d->ssl, p, (int) len);

    if (n != (int) len) {
        ERR_clear_error();
        return -1;
    }

    return 0;
}


void
ngx_ams_dtls_free(ngx_ams_dtls_t *d)
{
    if (d == NULL) {
        return;
    }

    ERR_clear_error();

    if (d->state == NGX_AMS_DTLS_CONNECTED_S) {
        /* close_notify; we do not wait for the peer's */
        (void) SSL_shutdown(d->ssl);
    }

    SSL_free(d->ssl);
    ERR_clear_error();
    OPENSSL_free(d);
}


const char *
ngx_ams_dtls_error(ngx_ams_dtls_t *d)
{
    return d->err[0] ? d->err : "no error";
}


int
ngx_ams_dtls_srtp_keys(ngx_ams_dtls_t *d, unsigned *profile,
    uint8_t local[NGX_AMS_SRTP_MAX_KEY_SALT],
    uint8_t remote[NGX_AMS_SRTP_MAX_KEY_SALT], size_t *key_salt_len)
{
    int                             rc;
    size_t                          key, salt;
    uint8_t                         m[2 * NGX_AMS_SRTP_MAX_KEY_SALT];
    uint8_t                        *client, *server;
    SRTP_PROTECTION_PROFILE        *p;

    if (d->state != NGX_AMS_DTLS_CONNECTED_S) {
        return -1;
    }

    p = SSL_get_selected_srtp_profile(d->ssl);
    if (p == NULL) {
        return -1;
    }

    switch (p->id) {

    case SRTP_AES128_CM_SHA1_80:
        *profile = NGX_AMS_SRTP_AES128_CM_SHA1_80;
        key = 16;
        salt = 14;
        break;

    case SRTP_AEAD_AES_128_GCM:
        *profile = NGX_AMS_SRTP_AEAD_AES_128_GCM;
        key = 16;
        salt = 12;
        break;

    default:
        return -1;
    }

    ERR_clear_error();

    rc = SSL_export_keying_material(d->ssl, m, 2 * (key + salt),
                                    "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0);
    ERR_clear_error();

    if (rc != 1) {
        return -1;
    }

    /* RFC 5764 4.2: client key | server key | client salt | server salt;
     * each side sends with its own */
    if (SSL_is_server(d->ssl)) {
        server = local;
        client = remote;

    } else {
        client = local;
        server = remote;
    }

    memcpy(client, m, key);
    memcpy(server, m + key, key);
    memcpy(client + key, m + 2 * key, salt);
    memcpy(server + key, m + 2 * key + salt, salt);

    OPENSSL_cleanse(m, sizeof(m));

    *key_salt_len = key + salt;

    return 0;
}


static int
ngx_ams_dtls_verify(X509_STORE_CTX *store, void *arg)
{
    SSL             *ssl;
    X509            *cert;
    unsigned int     n;
    unsigned char    md[EVP_MAX_MD_SIZE];
    ngx_ams_dtls_t  *d;

    ssl = X509_STORE_CTX_get_ex_data(store,
                                     SSL_get_ex_data_X509_STORE_CTX_idx());
    cert = X509_STORE_CTX_get0_cert(store);

    if (ssl == NULL || cert == NULL) {
        return 0;
    }

    d = SSL_get_app_data(ssl);

    if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32
        || CRYPTO_memcmp(md, d->peer_fp, 32) != 0)
    {
        d->fp_mismatch = 1;
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
        return 0;
    }

    X509_STORE_CTX_set_error(store, X509_V_OK);

    return 1;
}


static unsigned int
ngx_ams_dtls_timer(SSL *ssl, unsigned int us)
{
    if (us == 0) {
        return NGX_AMS_DTLS_FIRST_TIMER;
    }

    us *= 2;

    return us > NGX_AMS_DTLS_MAX_TIMER ? NGX_AMS_DTLS_MAX_TIMER : us;
}


static int
ngx_ams_dtls_bio_create(BIO *b)
{
    BIO_set_init(b, 1);

    return 1;
}


static int
ngx_ams_dtls_bio_write(BIO *b, const char *p, int len)
{
    ngx_ams_dtls_t  *d;

    d = BIO_get_data(b);

    /* a datagram lost here is one lost on the way: DTLS retransmits */
    if (d != NULL && len > 0) {
        (void) d->send(d->data, (const uint8_t *) p, (size_t) len);
    }

    return len;
}


static long
ngx_ams_dtls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    switch (cmd) {

    case BIO_CTRL_FLUSH:
        return 1;

    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return NGX_AMS_DTLS_MTU;

    /* our MTU is the datagram's payload already */
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
        return 0;

    /* nothing is held back: each record has gone out as it came */
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
    default:
        return 0;
    }
}
