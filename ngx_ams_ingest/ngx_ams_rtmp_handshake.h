
/*
 * Copyright (C) nginx-ams authors
 *
 * The server side of the RTMP handshake: the plain one (S2 echoes C1) and
 * the digest one that Flash-era and librtmp encoders send, where C1 and S1
 * carry an HMAC-SHA256 digest at an offset given by the packet itself.
 * Free of nginx types.
 */


#ifndef _NGX_AMS_RTMP_HANDSHAKE_H_INCLUDED_
#define _NGX_AMS_RTMP_HANDSHAKE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_RTMP_HANDSHAKE_SIZE  1536
#define NGX_AMS_RTMP_VERSION         3


/*
 * c0c1: 1 + 1536 bytes from the client; s0s1s2: 1 + 2 * 1536 bytes out.
 * Returns 0, or -1 with *err set when C0/C1 cannot be answered.
 * *digest says which handshake was answered.
 */
int ngx_ams_rtmp_handshake_respond(const uint8_t *c0c1, uint8_t *s0s1s2,
    uint32_t epoch, int *digest, const char **err);

/* offset of the 32-byte digest in a C1/S1 under scheme 0 or 1 */
size_t ngx_ams_rtmp_digest_offset(const uint8_t *p, int scheme);

/* 0 if the digest at scheme's offset is the one the key gives */
int ngx_ams_rtmp_digest_check(const uint8_t *p, int scheme,
    const uint8_t *key, size_t key_len);
void ngx_ams_rtmp_digest_write(uint8_t *p, int scheme, const uint8_t *key,
    size_t key_len);


#endif /* _NGX_AMS_RTMP_HANDSHAKE_H_INCLUDED_ */
