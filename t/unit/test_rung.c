
/*
 * Copyright (C) nginx-ams authors
 *
 * The rung chooser: down at once on loss or a low estimate (at most once
 * a second), up one rung only after a stable period, no flapping near a
 * rung's rate, no estimate or one candidate changes nothing; rung names
 * parsed strictly.
 */


#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "ngx_ams_rung.h"


/* the original (2.5 Mb/s), 720p 1.5 Mb/s, 360p 600 kb/s, 240p 300 kb/s */
static const uint64_t  ladder[] = { 2500000, 1500000, 600000, 300000 };


static void
test_down(void)
{
    ngx_ams_rung_chooser_t  c;

    ngx_ams_rung_chooser_init(&c, ladder, 4, 0, 1000);

    is_int(ngx_ams_rung_choose(&c, 1100, 0, -1), 0, "no feedback: stays");
    is_int(ngx_ams_rung_choose(&c, 1200, 5000000, 0), 0,
           "a high estimate: stays on the original");

    /* 800 kb/s fits 600 kb/s (85%: 680) and not 1.5 Mb/s: two steps */
    is_int(ngx_ams_rung_choose(&c, 2100, 800000, 0), 2,
           "a low estimate: straight to the rung that fits");
    is_int(ngx_ams_rung_choose(&c, 2300, 200000, 0), 2,
           "another drop within a second waits");
    is_int(ngx_ams_rung_choose(&c, 3200, 200000, 0), 3,
           "then the lowest, which is all there is below");
    is_int(ngx_ams_rung_choose(&c, 9000, 100000, 0), 3,
           "below the lowest: stays on it");

    ngx_ams_rung_chooser_init(&c, ladder, 4, 0, 0);
    is_int(ngx_ams_rung_choose(&c, 2000, 0, 60), 1,
           "23%% loss without an estimate: one step down");
    is_int(ngx_ams_rung_choose(&c, 2500, 10000000, 60), 1,
           "loss again half a second later: waits");
    is_int(ngx_ams_rung_choose(&c, 3000, 10000000, 60), 2,
           "loss a second later: another step");
    is_int(ngx_ams_rung_choose(&c, 4000, 10000000, 20), 2,
           "8%% loss: neither down nor up");
}


static void
test_up(void)
{
    uint64_t                t;
    ngx_ams_rung_chooser_t  c;

    ngx_ams_rung_chooser_init(&c, ladder, 4, 3, 0);

    /* 1.5 Mb/s on the 300 kb/s rung: no congestion */
    for (t = 1000; t < 20000; t += 500) {
        if (ngx_ams_rung_choose(&c, t, 1500000, 0) != 3) {
            break;
        }
    }

    is_int((int) t, 9000, "one step up after 8 s of good reports");
    is_int(c.current, 2, "to the rung above");
    is_int(ngx_ams_rung_choose(&c, 10000, 1500000, 0), 2,
           "not two at once");

    /* a spike of loss resets the stable period */
    ngx_ams_rung_chooser_init(&c, ladder, 4, 2, 0);
    (void) ngx_ams_rung_choose(&c, 10000, 5000000, 0);
    (void) ngx_ams_rung_choose(&c, 15000, 5000000, 10);
    is_int(ngx_ams_rung_choose(&c, 18500, 5000000, 0), 2,
           "a lossy report restarts the wait");
    is_int(ngx_ams_rung_choose(&c, 26500, 5000000, 0), 1,
           "8 s of good reports after it: up");

    /* an estimate between 60% and 70% of the rate: neither way */
    ngx_ams_rung_chooser_init(&c, ladder, 4, 1, 0);
    for (t = 1000; t < 60000; t += 1000) {
        if (ngx_ams_rung_choose(&c, t, 1000000, 0) != 1) {
            break;
        }
    }

    is_int((int) t, 60000, "an estimate at 2/3 of the rate: stays");

    /* no REMB at all: the RRs' loss alone */
    ngx_ams_rung_chooser_init(&c, ladder, 4, 3, 0);
    (void) ngx_ams_rung_choose(&c, 1000, 0, 0);
    is_int(ngx_ams_rung_choose(&c, 9000, 0, 0), 2,
           "no estimate, no loss: up after the wait");

    /* a link between two rungs: the try up fails, the next waits longer */
    ngx_ams_rung_chooser_init(&c, ladder, 4, 2, 0);
    (void) ngx_ams_rung_choose(&c, 1000, 500000, 0);
    is_int(ngx_ams_rung_choose(&c, 9000, 500000, 0), 1,
           "500 kb/s on the 600 kb/s rung: a try up");
    is_int(ngx_ams_rung_choose(&c, 10000, 500000, 0), 2,
           "congestion on the 1.5 Mb/s rung: back down");

    for (t = 11000; t < 60000; t += 500) {
        if (ngx_ams_rung_choose(&c, t, 500000, 0) != 2) {
            break;
        }
    }

    is_int((int) t, 27000, "the next try after 16 s");
    (void) ngx_ams_rung_choose(&c, 28000, 500000, 0);
    for (t = 28500; t < 120000; t += 500) {
        if (ngx_ams_rung_choose(&c, t, 500000, 0) != 2) {
            break;
        }
    }

    is_int((int) t, 28500 + 32000, "and the one after that 32 s later");
}


static void
test_edges(void)
{
    ngx_ams_rung_chooser_t  c;
    uint64_t                many[12];

    ngx_ams_rung_chooser_init(&c, ladder, 1, 0, 0);
    is_int(ngx_ams_rung_choose(&c, 5000, 1000, 255), 0,
           "one candidate: nothing to choose");

    ngx_ams_rung_chooser_init(&c, ladder, 0, 5, 0);
    is_int(ngx_ams_rung_choose(&c, 5000, 1000, 255), 0, "none: 0");

    memset(many, 0, sizeof(many));
    ngx_ams_rung_chooser_init(&c, many, 12, 11, 0);
    is_int(c.n, NGX_AMS_RUNG_MAX, "candidates capped");
    is_int(c.current, 0, "an out of range current: the first");
}


static void
test_names(void)
{
    unsigned  h, k;

#define NAME(s)  (const unsigned char *) s, sizeof(s) - 1

    h = k = 0;
    ok(ngx_ams_rung_parse_name(NAME("cam_360p600kbps"), NAME("cam"), &h, &k)
       == 0 && h == 360 && k == 600, "cam_360p600kbps: 360, 600");
    ok(ngx_ams_rung_parse_name(NAME("a_b_240p0kbps"), NAME("a_b"), &h, &k)
       == 0 && h == 240 && k == 0, "an id with _ and a rate of 0");
    ok(ngx_ams_rung_parse_name(NAME("cam_opus"), NAME("cam"), &h, &k) < 0,
       "the Opus companion is no rung");
    ok(ngx_ams_rung_parse_name(NAME("cam"), NAME("cam"), &h, &k) < 0,
       "the stream itself");
    ok(ngx_ams_rung_parse_name(NAME("cam2_360p600kbps"), NAME("cam"), &h, &k)
       < 0, "another stream's rung");
    ok(ngx_ams_rung_parse_name(NAME("cam_360p600kbpsx"), NAME("cam"), &h, &k)
       < 0, "trailing bytes");
    ok(ngx_ams_rung_parse_name(NAME("cam_360p600kb"), NAME("cam"), &h, &k)
       < 0, "truncated");
    ok(ngx_ams_rung_parse_name(NAME("cam_p600kbps"), NAME("cam"), &h, &k)
       < 0, "no height");
    ok(ngx_ams_rung_parse_name(NAME("cam_360pkbps"), NAME("cam"), &h, &k)
       < 0, "no rate");
    ok(ngx_ams_rung_parse_name(NAME("cam_0p600kbps"), NAME("cam"), &h, &k)
       < 0, "height 0");
    ok(ngx_ams_rung_parse_name(NAME("cam_0360p600kbps"), NAME("cam"), &h, &k)
       < 0, "a leading zero");
    ok(ngx_ams_rung_parse_name(NAME("cam_1234567p600kbps"), NAME("cam"), &h,
                               &k)
       < 0, "seven digits");
    ok(ngx_ams_rung_parse_name(NAME("cam_-360p600kbps"), NAME("cam"), &h, &k)
       < 0, "a sign");
    ok(ngx_ams_rung_parse_name(NAME(""), NAME("cam"), &h, &k) < 0, "empty");

#undef NAME
}


int
main(void)
{
    test_down();
    test_up();
    test_edges();
    test_names();

    return done_testing();
}
