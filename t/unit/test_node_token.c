
/*
 * Copyright (C) nginx-ams authors
 *
 * Node-to-node tokens: round trip, expiry, another key, another subject,
 * no exp, no key, another node's audience.
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_jwt.h"
#include "ngx_ams_node_token.h"


#define KEY   "cluster-secret"
#define NOW   1900000000
#define AUD   "127.0.0.21"


static int
verify(const char *token, const char *key, int64_t now, char *iss,
    size_t size, const char **error)
{
    return ngx_ams_node_token_verify((const unsigned char *) token,
                                     strlen(token),
                                     (const unsigned char *) key,
                                     strlen(key), AUD, strlen(AUD), now,
                                     iss, size, error);
}


static char *
make(const char *payload)
{
    char    *token;
    json_t  *claims;

    claims = json_loads(payload, 0, NULL);
    token = ngx_ams_jwt_sign(claims, (const unsigned char *) KEY,
                             strlen(KEY));
    json_decref(claims);

    return token;
}


int
main(void)
{
    char        *t, iss[8];
    json_t      *claims;
    const char  *error;

    t = ngx_ams_node_token_sign((const unsigned char *) KEY, strlen(KEY),
                                "127.0.0.11", 10, AUD, strlen(AUD), NOW);
    ok(t != NULL, "signs");

    is_int(verify(t, KEY, NOW, iss, sizeof(iss), &error), 0, "verifies");
    ok(strcmp(iss, "127.0.0") == 0, "issuer, cut to the buffer: %s", iss);
    is_int(verify(t, KEY, NOW + 29, NULL, 0, &error), 0, "29 s later");
    is_int(verify(t, KEY, NOW + 30, NULL, 0, &error), -1, "30 s later");
    ok(strcmp(error, "token expired") == 0, "%s", error);
    is_int(verify(t, "another", NOW, NULL, 0, &error), -1, "another key");
    is_int(verify(t, "", NOW, NULL, 0, &error), -1, "no key here");

    /* the claims are those every node expects */
    ngx_ams_jwt_verify((const unsigned char *) t, strlen(t),
                       (const unsigned char *) KEY, strlen(KEY), NOW,
                       &claims, &error);
    ok(claims
       && strcmp(json_string_value(json_object_get(claims, "sub")),
                 "cluster") == 0
       && strcmp(json_string_value(json_object_get(claims, "iss")),
                 "127.0.0.11") == 0
       && strcmp(json_string_value(json_object_get(claims, "aud")),
                 AUD) == 0
       && json_integer_value(json_object_get(claims, "exp")) == NOW + 30,
       "claims sub, iss, aud, exp");

    /* for one node only */
    is_int(ngx_ams_node_token_verify((const unsigned char *) t, strlen(t),
                                     (const unsigned char *) KEY,
                                     strlen(KEY), "127.0.0.22", 10, NOW,
                                     NULL, 0, &error),
           -1, "another node refuses it");
    ok(strcmp(error, "not for this node (aud)") == 0, "%s", error);
    is_int(ngx_ams_node_token_verify((const unsigned char *) t, strlen(t),
                                     (const unsigned char *) KEY,
                                     strlen(KEY), "127.0.0.2", 9, NOW,
                                     NULL, 0, &error),
           -1, "so does one whose address is a prefix of it");
    json_decref(claims);
    free(t);

    ok(ngx_ams_node_token_sign((const unsigned char *) "", 0, "n", 1,
                               AUD, strlen(AUD), NOW)
       == NULL, "no key, no token");
    ok(ngx_ams_node_token_sign((const unsigned char *) KEY, strlen(KEY),
                               "n", 1, "", 0, NOW)
       == NULL, "no audience, no token");

    /* a stream JWT with the same key is not a node token */
    t = make("{\"streamId\":\"s\",\"type\":\"play\",\"exp\":2000000000}");
    is_int(verify(t, KEY, NOW, NULL, 0, &error), -1, "no sub");
    free(t);

    t = make("{\"sub\":\"user\",\"exp\":2000000000}");
    is_int(verify(t, KEY, NOW, NULL, 0, &error), -1, "sub not cluster");
    free(t);

    t = make("{\"sub\":\"cluster\",\"aud\":\"" AUD "\"}");
    is_int(verify(t, KEY, NOW, NULL, 0, &error), -1, "no exp");
    ok(strcmp(error, "no exp") == 0, "%s", error);
    free(t);

    t = make("{\"sub\":\"cluster\",\"exp\":2000000000}");
    is_int(verify(t, KEY, NOW, NULL, 0, &error), -1, "no aud");
    free(t);

    t = make("{\"sub\":\"cluster\",\"aud\":\"" AUD "\","
             "\"exp\":2000000000}");
    is_int(verify(t, KEY, NOW, iss, sizeof(iss), &error), 0,
           "no iss is fine");
    ok(iss[0] == '\0', "an empty issuer");
    free(t);

    is_int(verify("garbage", KEY, NOW, NULL, 0, &error), -1, "garbage");

    return done_testing();
}
