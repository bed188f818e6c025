
/*
 * Copyright (C) nginx-ams authors
 *
 * Signed viewer cookies: a value made for a stream checks for it, until
 * it expires; changing any byte, the stream, the application or the
 * secret makes it fail.
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_viewer_cookie.h"


#define S(x)  (const unsigned char *) (x), strlen(x)


int
main(void)
{
    int            i, flipped;
    char           v[NGX_AMS_VIEWER_COOKIE_LEN + 1];
    char           w[NGX_AMS_VIEWER_COOKIE_LEN + 1];
    char           n1[NGX_AMS_VIEWER_COOKIE_NAME_LEN + 1];
    char           n2[NGX_AMS_VIEWER_COOKIE_NAME_LEN + 1];
    uint64_t       key, expires, deadline;
    unsigned char  secret[NGX_AMS_VIEWER_SECRET_LEN];
    unsigned char  other[NGX_AMS_VIEWER_SECRET_LEN];
    char           longid[2000];

    memset(secret, 7, sizeof(secret));
    memset(other, 8, sizeof(other));

    ngx_ams_viewer_cookie_make(v, secret, S("LiveApp"), S("cam"), 1000, 0,
                               0x0123456789abcdefULL);
    v[NGX_AMS_VIEWER_COOKIE_LEN] = '\0';

    ok(ngx_ams_viewer_cookie_check((unsigned char *) v, strlen(v), secret,
                                   S("LiveApp"), S("cam"), 999, &key,
                                   &expires, &deadline) == 0,
       "a cookie checks for its stream");
    ok(key == 0x0123456789abcdefULL, "with its key");
    is_int(expires, 1000, "and its expiry");
    is_int(deadline, 0, "and no deadline");

    ok(ngx_ams_viewer_cookie_check((unsigned char *) v, strlen(v), secret,
                                   S("LiveApp"), S("cam"), 1000, &key,
                                   &expires, &deadline) != 0,
       "not once expired");
    ok(ngx_ams_viewer_cookie_check((unsigned char *) v, strlen(v), secret,
                                   S("LiveApp"), S("cam2"), 999, &key,
                                   &expires, &deadline) != 0,
       "not for another stream");
    ok(ngx_ams_viewer_cookie_check((unsigned char *) v, strlen(v), secret,
                                   S("Other"), S("cam"), 999, &key,
                                   &expires, &deadline) != 0,
       "not for another application");
    ok(ngx_ams_viewer_cookie_check((unsigned char *) v, strlen(v), secret,
                                   S("LiveAp"), S("pcam"), 999, &key,
                                   &expires, &deadline) != 0,
       "not for names that concatenate alike");
    ok(ngx_ams_viewer_cookie_check((unsigned char *) v, strlen(v), other,
                                   S("LiveApp"), S("cam"), 999, &key,
                                   &expires, &deadline) != 0,
       "not under another node's secret");
    ok(ngx_ams_viewer_cookie_check((unsigned char *) v, strlen(v) - 1,
                                   secret, S("LiveApp"), S("cam"), 999, &key,
                                   &expires, &deadline) != 0,
       "not truncated");

    flipped = 0;
    for (i = 0; i < NGX_AMS_VIEWER_COOKIE_LEN; i++) {
        memcpy(w, v, sizeof(w));
        w[i] = (w[i] == '0') ? '1' : '0';
        flipped += ngx_ams_viewer_cookie_check((unsigned char *) w,
                                               strlen(w), secret,
                                               S("LiveApp"), S("cam"), 999,
                                               &key, &expires, &deadline) != 0;
    }
    is_int(flipped, NGX_AMS_VIEWER_COOKIE_LEN,
           "any changed digit (expiry, deadline, key, MAC) fails");

    memcpy(w, v, sizeof(w));
    w[30] = (char) (w[30] >= 'a' ? w[30] - 32 : 'G');
    ok(ngx_ams_viewer_cookie_check((unsigned char *) w, strlen(w), secret,
                                   S("LiveApp"), S("cam"), 999, &key,
                                   &expires, &deadline) != 0,
       "uppercase or non-hex fails");

    /* an admission's deadline: the expiry never passes it */
    ngx_ams_viewer_cookie_make(w, secret, S("LiveApp"), S("cam"), 5000, 1500,
                               42);
    w[NGX_AMS_VIEWER_COOKIE_LEN] = '\0';
    ok(ngx_ams_viewer_cookie_check((unsigned char *) w, strlen(w), secret,
                                   S("LiveApp"), S("cam"), 1499, &key,
                                   &expires, &deadline) == 0,
       "a cookie with a deadline checks before it");
    is_int(expires, 1500, "its expiry is cut to the deadline");
    is_int(deadline, 1500, "which it carries");
    ok(ngx_ams_viewer_cookie_check((unsigned char *) w, strlen(w), secret,
                                   S("LiveApp"), S("cam"), 1500, &key,
                                   &expires, &deadline) != 0,
       "not at the deadline");
    memcpy(v, w, sizeof(w));
    memcpy(v + 8, "00000000", 8);
    ok(ngx_ams_viewer_cookie_check((unsigned char *) v, strlen(v), secret,
                                   S("LiveApp"), S("cam"), 1499, &key,
                                   &expires, &deadline) != 0,
       "the deadline cannot be taken off");

    memset(longid, 'a', sizeof(longid));
    ngx_ams_viewer_cookie_make(w, secret, S("LiveApp"),
                               (unsigned char *) longid, sizeof(longid), 1000,
                               0, 1);
    w[NGX_AMS_VIEWER_COOKIE_LEN] = '\0';
    ok(ngx_ams_viewer_cookie_check((unsigned char *) w, strlen(w), secret,
                                   S("LiveApp"), (unsigned char *) longid,
                                   sizeof(longid), 999, &key, &expires, &deadline) != 0,
       "names too long make no valid cookie");

    ngx_ams_viewer_cookie_name(n1, S("LiveApp"), S("cam"));
    ngx_ams_viewer_cookie_name(n2, S("LiveApp"), S("cam2"));
    n1[NGX_AMS_VIEWER_COOKIE_NAME_LEN] = n2[NGX_AMS_VIEWER_COOKIE_NAME_LEN]
        = '\0';
    ok(strncmp(n1, "AMSVIEWER_", 10) == 0 && strlen(n1) == 18,
       "the name is AMSVIEWER_ and 8 hex digits (%s)", n1);
    ok(strcmp(n1, n2) != 0, "another stream's cookie has another name");

    return done_testing();
}
