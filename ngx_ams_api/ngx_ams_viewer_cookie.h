
/*
 * Copyright (C) nginx-ams authors
 *
 * The cookie that proves an HLS/DASH viewer was admitted to a stream.
 * Admission (a one-time token, a JWT) happens once; the player's later
 * playlist and segment requests carry this cookie instead, so it must be
 * unforgeable and bound to its stream:
 *
 *   value   EEEEEEEE DDDDDDDD RRRRRRRRRRRRRRRR MMMM...(32)   64 hex digits
 *           expiry and admission deadline (unix seconds; deadline 0:
 *           none), the viewer's random key, and the first 128 bits of
 *           HMAC-SHA256(node secret, E D R \0 app \0 id)
 *   name    AMSVIEWER_HHHHHHHH, a hash of app/id, so a client watching
 *           two streams keeps one cookie for each
 *
 * The expiry is renewed while the viewer keeps fetching, never past the
 * deadline: the end of what admitted it (a JWT's exp, a one-time
 * token's viewer_admission_time); then the viewer is admitted again.
 * The random key (from the node's CSPRNG, never from the request) is the
 * viewer's entry in the stream's viewer table.  Pure C (OpenSSL):
 * unit-tested outside nginx.
 */


#ifndef _NGX_AMS_VIEWER_COOKIE_H_INCLUDED_
#define _NGX_AMS_VIEWER_COOKIE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_VIEWER_SECRET_LEN       32
#define NGX_AMS_VIEWER_COOKIE_LEN       64
#define NGX_AMS_VIEWER_COOKIE_NAME_LEN  (sizeof("AMSVIEWER_") - 1 + 8)


/* the cookie's name for a stream: NGX_AMS_VIEWER_COOKIE_NAME_LEN bytes */
void ngx_ams_viewer_cookie_name(char *name, const unsigned char *app,
    size_t app_len, const unsigned char *id, size_t id_len);

/*
 * A value of NGX_AMS_VIEWER_COOKIE_LEN bytes (no NUL) for "key"; its
 * expiry is "expires", or "deadline" if that is earlier (0: none).
 */
void ngx_ams_viewer_cookie_make(char *value, const unsigned char *secret,
    const unsigned char *app, size_t app_len, const unsigned char *id,
    size_t id_len, uint64_t expires, uint64_t deadline, uint64_t key);

/*
 * 0 with *key, *expires and *deadline when "value" was made by this node
 * for this stream and has not expired at "now"; -1 otherwise.
 */
int ngx_ams_viewer_cookie_check(const unsigned char *value, size_t len,
    const unsigned char *secret, const unsigned char *app, size_t app_len,
    const unsigned char *id, size_t id_len, uint64_t now, uint64_t *key,
    uint64_t *expires, uint64_t *deadline);


#endif /* _NGX_AMS_VIEWER_COOKIE_H_INCLUDED_ */
