
/*
 * Copyright (C) nginx-ams authors
 *
 * Data-channel messages between workers (ngx_ams_dcmail.c): a record
 * round-trips; truncated, lying or out-of-bounds records are refused;
 * the mailbox ring keeps records whole across its end, refuses what
 * does not fit, and empties itself on nonsense.
 */


#include <string.h>
#include <stdlib.h>
#include <stdio.h>

#include "tap.h"
/* nginx-free, built into this test (it is not in build.sh's list of
 * pure sources) */
#include "ngx_ams_dcmail.c"


static ngx_ams_dcmail_msg_t
message(const char *payload, const uint8_t *sender)
{
    ngx_ams_dcmail_msg_t  m;

    m.ppid = 51;
    m.from = NGX_AMS_DCMAIL_FROM_PLAYER;
    m.app = (const uint8_t *) "LiveApp";
    m.app_len = 7;
    m.name = (const uint8_t *) "chat";
    m.name_len = 4;
    m.sender = sender;
    m.payload = (const uint8_t *) payload;
    m.payload_len = strlen(payload);

    return m;
}


int
main(void)
{
    int                     i, rc;
    long                    n;
    size_t                  len, bad;
    uint8_t                 sender[32], rec[512], out[512], *big, *big_rec;
    ngx_ams_dcmail_msg_t    m, d;
    ngx_ams_dcmail_ring_t  *r;

    memset(sender, 'a', sizeof(sender));

    /* round trip */
    m = message("hello", sender);
    len = ngx_ams_dcmail_encode(rec, sizeof(rec), &m);
    is_int(len, 12 + 7 + 4 + 32 + 5, "a record's length");
    is_int(ngx_ams_dcmail_decode(rec, len, &d), 0, "it decodes");
    ok(d.ppid == 51 && d.from == NGX_AMS_DCMAIL_FROM_PLAYER
       && d.app_len == 7 && memcmp(d.app, "LiveApp", 7) == 0
       && d.name_len == 4 && memcmp(d.name, "chat", 4) == 0
       && d.sender && memcmp(d.sender, sender, 32) == 0
       && d.payload_len == 5 && memcmp(d.payload, "hello", 5) == 0,
       "to the same fields");

    m = message("", NULL);
    len = ngx_ams_dcmail_encode(rec, sizeof(rec), &m);
    ok(len == 12 + 11 && ngx_ams_dcmail_decode(rec, len, &d) == 0
       && d.sender == NULL && d.payload_len == 0,
       "no sender, empty payload");

    /* what is not encoded */
    m = message("x", NULL);
    m.name_len = 0;
    is_int(ngx_ams_dcmail_encode(rec, sizeof(rec), &m), 0,
           "no stream id: not encoded");
    m = message("x", NULL);
    m.from = 9;
    is_int(ngx_ams_dcmail_encode(rec, sizeof(rec), &m), 0,
           "an unknown sender kind: not encoded");
    m = message("x", NULL);
    is_int(ngx_ams_dcmail_encode(rec, 20, &m), 0,
           "a buffer too small: not encoded");
    big = calloc(1, NGX_AMS_DCMAIL_RECORD_MAX + 2);
    m = message("", NULL);
    m.payload = big;
    m.payload_len = NGX_AMS_DCMAIL_PAYLOAD_MAX + 1;
    is_int(ngx_ams_dcmail_size(&m), 0, "a payload over 64 KiB: no size");
    m.payload_len = NGX_AMS_DCMAIL_PAYLOAD_MAX;
    /* a record of its own: the payload must not overlap it */
    big_rec = calloc(1, NGX_AMS_DCMAIL_RECORD_MAX);
    len = ngx_ams_dcmail_encode(big_rec, NGX_AMS_DCMAIL_RECORD_MAX, &m);
    ok(len == 12 + 11 + NGX_AMS_DCMAIL_PAYLOAD_MAX, "64 KiB: encoded");
    free(big_rec);
    free(big);

    /* malformed and truncated records */
    m = message("hello", sender);
    len = ngx_ams_dcmail_encode(rec, sizeof(rec), &m);

    bad = 0;
    for (i = 0; i < (int) len; i++) {
        bad += ngx_ams_dcmail_decode(rec, i, &d) == -1;
    }
    is_int(bad, len, "every truncation is refused");

    memcpy(out, rec, len);
    out[len] = 0;
    is_int(ngx_ams_dcmail_decode(out, len + 1, &d), -1,
           "a trailing byte is refused");

    memcpy(out, rec, len);
    out[0] = (uint8_t) (len + 1);
    is_int(ngx_ams_dcmail_decode(out, len, &d), -1,
           "a record length over the bytes is refused");

    memcpy(out, rec, len);
    out[8] = 0;
    is_int(ngx_ams_dcmail_decode(out, len, &d), -1,
           "sender kind 0 is refused");

    memcpy(out, rec, len);
    out[9] = 65;
    is_int(ngx_ams_dcmail_decode(out, len, &d), -1,
           "an application of 65 is refused");

    memcpy(out, rec, len);
    out[10] = 0;
    is_int(ngx_ams_dcmail_decode(out, len, &d), -1,
           "an empty stream id is refused");

    memcpy(out, rec, len);
    out[10] = 129;
    is_int(ngx_ams_dcmail_decode(out, len, &d), -1,
           "a stream id of 129 is refused");

    memcpy(out, rec, len);
    out[11] = 16;
    is_int(ngx_ams_dcmail_decode(out, len, &d), -1,
           "a sender id of 16 is refused");

    memcpy(out, rec, len);
    out[9] = 60;
    out[10] = 128;
    is_int(ngx_ams_dcmail_decode(out, len, &d), -1,
           "lengths past the record are refused");

    /* the ring */
    r = calloc(1, sizeof(ngx_ams_dcmail_ring_t) + 100);
    ngx_ams_dcmail_ring_init(r, 100);

    is_int(ngx_ams_dcmail_get(r, out, sizeof(out)), 0, "empty: nothing");

    m = message("0123456789", NULL);       /* 33 bytes */
    len = ngx_ams_dcmail_encode(rec, sizeof(rec), &m);
    is_int(len, 33, "a 33-byte record");

    rc = 0;
    for (i = 0; i < 3; i++) {
        rc |= ngx_ams_dcmail_put(r, rec, len);
    }
    is_int(rc, 0, "three fit in 100 bytes");
    is_int(ngx_ams_dcmail_put(r, rec, len), -1, "a fourth does not");

    /* across the end, many times */
    bad = 0;
    for (i = 0; i < 50; i++) {
        n = ngx_ams_dcmail_get(r, out, sizeof(out));
        if (n != (long) len || memcmp(out, rec, len) != 0
            || ngx_ams_dcmail_decode(out, n, &d) != 0
            || ngx_ams_dcmail_put(r, rec, len) != 0)
        {
            bad++;
        }
    }
    is_int(bad, 0, "records come out whole across the ring's end");

    n = ngx_ams_dcmail_get(r, out, 20);
    is_int(n, -1, "a record over the reader's buffer: refused");
    is_int(ngx_ams_dcmail_get(r, out, sizeof(out)), 0,
           "and the ring emptied");

    /* a record length that lies */
    (void) ngx_ams_dcmail_put(r, rec, len);
    ((uint8_t *) (r + 1))[r->head % 100] = 90;
    is_int(ngx_ams_dcmail_get(r, out, sizeof(out)), -1,
           "a record length past what was written: refused");
    is_int(r->tail - r->head, 0, "and the ring emptied");
    free(r);

    return done_testing();
}
