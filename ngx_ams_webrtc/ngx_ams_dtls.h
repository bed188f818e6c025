
/*
 * Copyright (C) nginx-ams authors
 *
 * DTLS for WebRTC (RFC 5763, RFC 5764, RFC 8827) with OpenSSL: one
 * self-signed ECDSA P-256 certificate for the node, made in the master
 * before the workers fork so every worker's fingerprint is the same;
 * one DTLS 1.2 endpoint per session driven by datagrams we hand it (a
 * memory read BIO) and writing through a callback one record per
 * datagram (a write BIO of our own that answers the MTU query); the
 * peer's certificate checked against the fingerprint of its SDP; the
 * SRTP keys exported (RFC 5764 4.2) once the handshake is done.  After
 * that the endpoint also carries application data (SCTP for data
 * channels).
 *
 * Timers are the caller's: after every call, ngx_ams_dtls_timeout()
 * says when ngx_ams_dtls_handle_timeout() is due (retransmissions).
 *
 * Free of nginx types: unit-tested (two endpoints in one process) and
 * fuzzed alone.
 */


#ifndef _NGX_AMS_DTLS_H_INCLUDED_
#define _NGX_AMS_DTLS_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_DTLS_MTU                1200

/* results of input/handle_timeout */
#define NGX_AMS_DTLS_AGAIN              0   /* handshake in progress */
#define NGX_AMS_DTLS_CONNECTED          1   /* just completed: keys ready */
#define NGX_AMS_DTLS_OK                 2   /* already connected */
#define NGX_AMS_DTLS_CLOSED             3   /* the peer sent close_notify */
#define NGX_AMS_DTLS_ERROR             -1   /* alert, bad fingerprint, ...:
                                               see ngx_ams_dtls_error() */

/* SRTP protection profiles (RFC 5764, RFC 7714) */
#define NGX_AMS_SRTP_AES128_CM_SHA1_80  1
#define NGX_AMS_SRTP_AEAD_AES_128_GCM   7

#define NGX_AMS_SRTP_MAX_KEY_SALT       30   /* CM: 16 + 14; GCM: 16 + 12 */


typedef struct ngx_ams_dtls_ctx_s  ngx_ams_dtls_ctx_t;
typedef struct ngx_ams_dtls_s      ngx_ams_dtls_t;

/* one datagram out (a whole record, at most NGX_AMS_DTLS_MTU); 0 sent,
 * -1 failed (the endpoint keeps going: DTLS retransmits) */
typedef int (*ngx_ams_dtls_send_pt)(void *data, const uint8_t *p,
    size_t len);
/* application data in (after the handshake) */
typedef void (*ngx_ams_dtls_recv_pt)(void *data, const uint8_t *p,
    size_t len);


/* the node's certificate and context: NULL on failure (*err says) */
ngx_ams_dtls_ctx_t *ngx_ams_dtls_ctx_create(const char **err);
/* "sha-256" fingerprint as SDP writes it: "AB:CD:..." (95 chars + NUL) */
const char *ngx_ams_dtls_ctx_fingerprint(ngx_ams_dtls_ctx_t *ctx);
void ngx_ams_dtls_ctx_free(ngx_ams_dtls_ctx_t *ctx);
/* the SRTP profiles offered (client) or accepted in this order (server),
 * OpenSSL's names ("SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80", the
 * default): 0 or -1 */
int ngx_ams_dtls_ctx_srtp_profiles(ngx_ams_dtls_ctx_t *ctx,
    const char *profiles);

/*
 * "client": we connect (our answer said setup:active) or accept
 * (setup:passive).  "peer_fp": the sha-256 digest of the peer's
 * certificate from its SDP (32 bytes); a handshake with any other
 * certificate fails.  The handshake's overall timeout is the caller's.
 */
ngx_ams_dtls_t *ngx_ams_dtls_create(ngx_ams_dtls_ctx_t *ctx,
    unsigned client, const uint8_t peer_fp[32], ngx_ams_dtls_send_pt send,
    ngx_ams_dtls_recv_pt recv, void *data);
/* a client sends its first flight: NGX_AMS_DTLS_AGAIN or ERROR */
int ngx_ams_dtls_start(ngx_ams_dtls_t *d);
/* a datagram from the peer (first byte 20..63) */
int ngx_ams_dtls_input(ngx_ams_dtls_t *d, const uint8_t *p, size_t len);
/* milliseconds until handle_timeout() is due, or -1 when no timer */
int64_t ngx_ams_dtls_timeout(ngx_ams_dtls_t *d);
int ngx_ams_dtls_handle_timeout(ngx_ams_dtls_t *d);
/* application data out, once connected: 0 or -1 */
int ngx_ams_dtls_write(ngx_ams_dtls_t *d, const uint8_t *p, size_t len);
/* close_notify to the peer (through the send callback, so its data must
 * still be good), then free */
void ngx_ams_dtls_free(ngx_ams_dtls_t *d);
/* what went wrong, for the log ("fingerprint mismatch", OpenSSL's) */
const char *ngx_ams_dtls_error(ngx_ams_dtls_t *d);

/*
 * Once connected: the negotiated profile (NGX_AMS_SRTP_*) and the key and
 * salt of each side, ours ("local": what we encrypt with) and the peer's
 * ("remote"), each key || salt; returns 0, or -1 when no SRTP profile
 * was negotiated.
 */
int ngx_ams_dtls_srtp_keys(ngx_ams_dtls_t *d, unsigned *profile,
    uint8_t local[NGX_AMS_SRTP_MAX_KEY_SALT],
    uint8_t remote[NGX_AMS_SRTP_MAX_KEY_SALT], size_t *key_salt_len);


#endif /* _NGX_AMS_DTLS_H_INCLUDED_ */
