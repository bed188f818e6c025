
/*
 * Copyright (C) nginx-ams authors
 *
 * STUN (RFC 8489) as an ICE-lite agent needs it (RFC 8445 section 2.5,
 * 7.3): parsing Binding requests and indications, checking
 * MESSAGE-INTEGRITY (HMAC-SHA1 keyed with the local ICE password) and
 * FINGERPRINT (CRC-32 xor 0x5354554e), and writing Binding success and
 * error responses.  Also the first-byte demultiplexing of one UDP (or
 * ICE-TCP) port between STUN, DTLS and SRTP/SRTCP (RFC 7983).
 *
 * Free of nginx types: unit-tested and fuzzed alone.
 */


#ifndef _NGX_AMS_STUN_H_INCLUDED_
#define _NGX_AMS_STUN_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>


#define NGX_AMS_STUN_HEADER_LEN         20
#define NGX_AMS_STUN_MAGIC_COOKIE       0x2112A442

#define NGX_AMS_STUN_BINDING_REQUEST    0x0001
#define NGX_AMS_STUN_BINDING_INDICATION 0x0011
#define NGX_AMS_STUN_BINDING_SUCCESS    0x0101
#define NGX_AMS_STUN_BINDING_ERROR      0x0111

/* parse results */
#define NGX_AMS_STUN_OK                  0
#define NGX_AMS_STUN_NOT_STUN           -1   /* not a STUN message: drop */
#define NGX_AMS_STUN_MALFORMED          -2   /* STUN, but broken: drop or
                                                answer 400 (see .c) */
#define NGX_AMS_STUN_BAD_FINGERPRINT    -3   /* drop silently (8489 14.7) */

/* what came first on the wire (RFC 7983 section 7) */
#define NGX_AMS_RTC_STUN                 1   /* 0..3 */
#define NGX_AMS_RTC_DTLS                 2   /* 20..63 */
#define NGX_AMS_RTC_RTP                  3   /* 128..191, RTP */
#define NGX_AMS_RTC_RTCP                 4   /* 128..191, payload type
                                                192..223 (RFC 5761) */
#define NGX_AMS_RTC_UNKNOWN              0


#define NGX_AMS_STUN_MAX_UNKNOWN         8

/* an ERROR-CODE reason longer than this is cut (at a character), so that
 * an error response always fits in 128 bytes */
#define NGX_AMS_STUN_MAX_REASON          48

/* the longest USERNAME taken: two ICE ufrags of 256 and a colon
 * (RFC 8839 5.4), as browsers send them */
#define NGX_AMS_STUN_MAX_USERNAME        513


typedef struct {
    uint16_t            type;
    uint16_t            length;             /* of the attributes */
    uint8_t             txid[12];

    const uint8_t      *username;           /* NULL when absent */
    size_t              username_len;
    uint32_t            priority;
    uint64_t            tiebreaker;         /* ICE-CONTROLLING/-CONTROLLED */

    /* where MESSAGE-INTEGRITY's attribute header starts (its value is
     * 20 bytes after + 4); 0 when absent */
    size_t              integrity_offset;

    /* comprehension-required attributes not understood (0x0000-0x7FFF):
     * a request with any gets 420 with UNKNOWN-ATTRIBUTES */
    uint16_t            unknown[NGX_AMS_STUN_MAX_UNKNOWN];
    unsigned            nunknown;

    /* read from responses only (an ICE-lite agent sends no requests, so
     * this serves tests and tools): XOR-MAPPED-ADDRESS's value (NULL when
     * absent; see ngx_ams_stun_xor_mapped_address()) and ERROR-CODE as
     * class * 100 + number (0 when absent) */
    const uint8_t      *xor_mapped;
    size_t              xor_mapped_len;
    unsigned            error_code;

    unsigned            has_priority:1;
    unsigned            use_candidate:1;
    unsigned            ice_controlling:1;
    unsigned            ice_controlled:1;
    unsigned            has_integrity:1;
    unsigned            has_fingerprint:1;  /* present and correct */
} ngx_ams_stun_msg_t;


/* NGX_AMS_RTC_*, from the first bytes of a datagram (len >= 1; RTP vs
 * RTCP needs 2) */
int ngx_ams_rtc_classify(const uint8_t *p, size_t len);

/*
 * A whole message (one datagram, or one ICE-TCP frame): header checks
 * (top bits, cookie, length multiple of 4 and equal to what follows),
 * every attribute's bounds, FINGERPRINT (if present: must be last and
 * correct), attributes after MESSAGE-INTEGRITY ignored but FINGERPRINT.
 *
 * NOT_STUN: the header is wrong (RFC 8489 6.3: discard silently); "m"
 * is not to be read.  MALFORMED: the header is right, so m->type and
 * m->txid are set (a request may be answered 400) but an attribute is
 * broken: overrunning the message, a known one of the wrong size,
 * FINGERPRINT not last, USERNAME over NGX_AMS_STUN_MAX_USERNAME.
 * BAD_FINGERPRINT: discard silently.  Any method and class parse: the
 * caller checks m->type.  Of an attribute present twice, the first
 * counts.
 */
int ngx_ams_stun_parse(const uint8_t *p, size_t len, ngx_ams_stun_msg_t *m);

/* 1 when MESSAGE-INTEGRITY is present and matches "key" (the short-term
 * credential: the local ICE password as is), else 0 */
int ngx_ams_stun_check_integrity(const uint8_t *p, size_t len,
    const ngx_ams_stun_msg_t *m, const uint8_t *key, size_t key_len);

/*
 * Responses, written into "out" (cap >= 128 is always enough): the
 * request's transaction id, XOR-MAPPED-ADDRESS of "peer" (IPv4 or IPv6),
 * MESSAGE-INTEGRITY with "key" (when key is not NULL), FINGERPRINT.
 * Error responses carry ERROR-CODE (code 400, 401, 420, 487, 500) with
 * "reason", and UNKNOWN-ATTRIBUTES for 420.  Return the length, or 0 when
 * "cap" is too small or the address family is neither.
 */
size_t ngx_ams_stun_binding_success(uint8_t *out, size_t cap,
    const uint8_t txid[12], const struct sockaddr *peer,
    const uint8_t *key, size_t key_len);
size_t ngx_ams_stun_binding_error(uint8_t *out, size_t cap,
    const uint8_t txid[12], unsigned code, const char *reason,
    const uint16_t *unknown, unsigned nunknown,
    const uint8_t *key, size_t key_len);

/* a Binding success response with a SOFTWARE attribute first (padded
 * with spaces, as RFC 5769's samples are): "cap" must be 128 + its
 * length; "software" NULL is ngx_ams_stun_binding_success() */
size_t ngx_ams_stun_binding_success_software(uint8_t *out, size_t cap,
    const uint8_t txid[12], const struct sockaddr *peer,
    const uint8_t *key, size_t key_len, const char *software);

/* the address of a parsed message's XOR-MAPPED-ADDRESS into "ss"
 * (AF_INET or AF_INET6 with the port): 1, or 0 when absent or broken */
int ngx_ams_stun_xor_mapped_address(const ngx_ams_stun_msg_t *m,
    struct sockaddr_storage *ss);

/* the USERNAME of a check sent to us is "OURS:THEIRS" (RFC 8445 7.2.2):
 * 1 with the two halves set when it has exactly one colon and neither
 * half is empty */
int ngx_ams_stun_split_username(const uint8_t *u, size_t len,
    const uint8_t **local, size_t *local_len,
    const uint8_t **remote, size_t *remote_len);


#endif /* _NGX_AMS_STUN_H_INCLUDED_ */
