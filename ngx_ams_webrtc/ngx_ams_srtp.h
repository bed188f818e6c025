
/*
 * Copyright (C) nginx-ams authors
 *
 * SRTP/SRTCP (RFC 3711, RFC 7714) for one session, with libsrtp2: an
 * outbound context keyed with our key and an inbound one with the
 * peer's, for any SSRC; replay window of 1024 packets.  Packets are
 * protected in place: the buffer needs NGX_AMS_SRTP_TRAILER bytes of room
 * after the packet.
 *
 * Free of nginx types: unit-tested alone.
 */


#ifndef _NGX_AMS_SRTP_H_INCLUDED_
#define _NGX_AMS_SRTP_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_SRTP_TRAILER    148     /* libsrtp2's SRTP_MAX_TRAILER_LEN */
#define NGX_AMS_SRTP_REPLAY     1024

#define NGX_AMS_SRTP_OK          0
#define NGX_AMS_SRTP_REPLAYED   -2      /* a packet seen before: drop */
#define NGX_AMS_SRTP_AUTH_FAIL  -3      /* drop */
#define NGX_AMS_SRTP_FAIL       -1


typedef struct ngx_ams_srtp_s  ngx_ams_srtp_t;


/* once per process (libsrtp2's srtp_init): 0 or -1 */
int ngx_ams_srtp_init(void);

/* profile: NGX_AMS_SRTP_* of ngx_ams_dtls.h; keys as
 * ngx_ams_dtls_srtp_keys() gives them.  NULL on failure. */
ngx_ams_srtp_t *ngx_ams_srtp_create(unsigned profile, const uint8_t *local,
    const uint8_t *remote, size_t key_salt_len);
void ngx_ams_srtp_free(ngx_ams_srtp_t *s);

/* in place; *len is updated: NGX_AMS_SRTP_OK or an error above */
int ngx_ams_srtp_protect(ngx_ams_srtp_t *s, uint8_t *p, size_t *len);
int ngx_ams_srtp_unprotect(ngx_ams_srtp_t *s, uint8_t *p, size_t *len);
int ngx_ams_srtp_protect_rtcp(ngx_ams_srtp_t *s, uint8_t *p, size_t *len);
int ngx_ams_srtp_unprotect_rtcp(ngx_ams_srtp_t *s, uint8_t *p, size_t *len);


#endif /* _NGX_AMS_SRTP_H_INCLUDED_ */
