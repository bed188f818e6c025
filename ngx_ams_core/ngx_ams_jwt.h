
/*
 * Copyright (C) nginx-ams authors
 *
 * JSON Web Tokens (RFC 7519) signed with HMAC-SHA256 (HS256, RFC 7518),
 * the only algorithm Ant Media Server's JWT filters accept.  Pure C
 * (OpenSSL, jansson): unit-tested and fuzzed outside nginx.
 */


#ifndef _NGX_AMS_JWT_H_INCLUDED_
#define _NGX_AMS_JWT_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <jansson.h>


#define NGX_AMS_JWT_MAX_LEN   4096


/*
 * Checks signature, "alg" and, when present, "exp" and "nbf" against now
 * (seconds).  0 and *claims (the caller's to json_decref) on success; -1
 * and *error (a static string) otherwise.
 */
int ngx_ams_jwt_verify(const unsigned char *token, size_t len,
    const unsigned char *key, size_t key_len, int64_t now,
    json_t **claims, const char **error);

/* a signed token for "claims" (malloc'ed, NUL-terminated) or NULL */
char *ngx_ams_jwt_sign(json_t *claims, const unsigned char *key,
    size_t key_len);


#endif /* _NGX_AMS_JWT_H_INCLUDED_ */
