
/*
 * Copyright (C) nginx-ams authors
 *
 * HS256 JWTs: a token made elsewhere (jwt.io's example), our own tokens
 * round-tripping, and every way a token can be bad.
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_jwt.h"


#define KEY  "your-256-bit-secret"

/* jwt.io's HS256 example: {"sub":"1234567890","name":"John Doe",
 * "iat":1516239022} signed with "your-256-bit-secret" */
static const char  jwtio[] =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";


static int
verify(const char *token, const char *key, int64_t now, const char **error)
{
    int      rc;
    json_t  *claims;

    rc = ngx_ams_jwt_verify((const unsigned char *) token, strlen(token),
                            (const unsigned char *) key, strlen(key), now,
                            &claims, error);
    if (claims) {
        json_decref(claims);
    }

    return rc;
}


static char *
make(const char *payload, const char *key)
{
    char    *token;
    json_t  *claims;

    claims = json_loads(payload, 0, NULL);
    token = ngx_ams_jwt_sign(claims, (const unsigned char *) key,
                             strlen(key));
    json_decref(claims);

    return token;
}


int
main(void)
{
    int          rc;
    char        *t, bad[512];
    json_t      *claims;
    const char  *error;

    /* interoperability */
    rc = ngx_ams_jwt_verify((const unsigned char *) jwtio, strlen(jwtio),
                            (const unsigned char *) KEY, strlen(KEY),
                            1700000000, &claims, &error);
    is_int(rc, 0, "jwt.io's example verifies");
    ok(claims && strcmp(json_string_value(json_object_get(claims, "name")),
                        "John Doe") == 0, "and its claims are read");
    json_decref(claims);

    is_int(verify(jwtio, "another-key", 1700000000, &error), -1,
           "another key does not verify it");
    ok(strcmp(error, "bad signature") == 0, "bad signature: %s", error);

    /* our tokens */
    t = make("{\"streamId\":\"s1\",\"type\":\"play\",\"exp\":2000000000}", KEY);
    ok(t != NULL, "signs");
    is_int(verify(t, KEY, 1900000000, &error), 0, "our token verifies");
    is_int(verify(t, KEY, 2000000000, &error), -1, "not at exp");
    ok(strcmp(error, "token expired") == 0, "expired: %s", error);
    free(t);

    t = make("{\"nbf\":1900000000}", KEY);
    is_int(verify(t, KEY, 1800000000, &error), -1, "not before nbf");
    is_int(verify(t, KEY, 1900000000, &error), 0, "from nbf on");
    free(t);

    t = make("{\"exp\":\"tomorrow\"}", KEY);
    is_int(verify(t, KEY, 1, &error), -1, "exp that is not a number");
    free(t);

    /* tampering: a payload changed, the signature kept */
    t = make("{\"streamId\":\"s1\"}", KEY);
    strcpy(bad, t);
    bad[strchr(bad, '.') - bad + 3] ^= 1;
    is_int(verify(bad, KEY, 1, &error), -1, "a changed payload is refused");
    free(t);

    /* alg none, and HS512 headers, signed or not */
    is_int(verify("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", KEY, 1, &error),
           -1, "alg none is refused");
    is_int(verify("eyJhbGciOiJIUzUxMiJ9.e30.", KEY, 1, &error), -1,
           "HS512 without a signature is refused");

    /* malformed */
    is_int(verify("", KEY, 1, &error), -1, "empty");
    is_int(verify("abc", KEY, 1, &error), -1, "no dots");
    ok(strcmp(error, "not a JWT (header.payload.signature)") == 0, "%s",
       error);
    is_int(verify("a.b", KEY, 1, &error), -1, "one dot");
    is_int(verify("a.b.c.d", KEY, 1, &error), -1, "three dots");
    is_int(verify("a.b.!!!", KEY, 1, &error), -1, "a signature not base64url");
    is_int(verify("a.b.c", KEY, 1, &error), -1, "a short signature");

    memset(bad, 'A', sizeof(bad) - 1);
    bad[sizeof(bad) - 1] = '\0';
    bad[10] = '.';
    bad[20] = '.';
    is_int(verify(bad, KEY, 1, &error), -1, "a long signature");

    /* a valid signature over a header that is not JSON */
    {
        char     *good, *sig, forged[256];
        json_t   *c = json_object();

        good = ngx_ams_jwt_sign(c, (const unsigned char *) KEY, strlen(KEY));
        json_decref(c);
        sig = strrchr(good, '.');
        snprintf(forged, sizeof(forged), "bm90IGpzb24.e30%s", sig);
        is_int(verify(forged, KEY, 1, &error), -1,
               "a header that is not JSON is refused");
        free(good);
    }

    return done_testing();
}
