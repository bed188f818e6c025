
/*
 * Copyright (C) nginx-ams authors
 *
 * AMS's AppSettings numbers in strings ("hlsTime": "2", "0.5") as
 * fixed-point integers, and back: what is refused, what round-trips.
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_settings_value.h"


/* the parsed value, or -1 when refused */
static long long
parse(const char *s, unsigned digits)
{
    int64_t  v;

    if (ngx_ams_settings_decimal_parse(s, strlen(s), digits, 1000000000,
                                       &v)
        != 0)
    {
        return -1;
    }

    return (long long) v;
}


static int
format(int64_t v, unsigned digits, const char *want)
{
    char    buf[32];
    size_t  n;

    n = ngx_ams_settings_decimal_format(buf, sizeof(buf), v, digits);

    return n == strlen(want) && strcmp(buf, want) == 0;
}


int
main(void)
{
    char  small[3];

    is_int(parse("2", 3), 2000, "\"2\" seconds is 2000 ms");
    is_int(parse("0.5", 3), 500, "\"0.5\" is 500 ms");
    is_int(parse("1.25", 3), 1250, "two decimals");
    is_int(parse("0.001", 3), 1, "three decimals");
    is_int(parse("007", 0), 7, "leading zeros");
    is_int(parse("15", 0), 15, "a whole number");
    is_int(parse("1000000", 3), 1000000000, "at the limit");

    is_int(parse("1000001", 3), -1, "over the limit");
    is_int(parse("0.0001", 3), -1, "too many decimals");
    is_int(parse("1.5", 0), -1, "no decimals where none are allowed");
    is_int(parse("", 3), -1, "empty");
    is_int(parse(".", 3), -1, "a dot alone");
    is_int(parse("1.", 3), -1, "a dot and no decimals");
    is_int(parse(".5", 3), 500, "no leading digit");
    is_int(parse("1.2.3", 3), -1, "two dots");
    is_int(parse("-1", 3), -1, "a sign");
    is_int(parse("+1", 3), -1, "a plus");
    is_int(parse("1e3", 3), -1, "an exponent");
    is_int(parse(" 1", 3), -1, "a space");
    is_int(parse("2s", 3), -1, "a unit");
    is_int(parse("99999999999999999999999", 0), -1, "overflow");

    ok(format(2000, 3, "2"), "2000 ms is \"2\"");
    ok(format(500, 3, "0.5"), "500 ms is \"0.5\"");
    ok(format(1250, 3, "1.25"), "1250 ms is \"1.25\"");
    ok(format(1, 3, "0.001"), "1 ms is \"0.001\"");
    ok(format(0, 3, "0"), "zero");
    ok(format(15, 0, "15"), "a whole number");
    is_int(ngx_ams_settings_decimal_format(small, sizeof(small), 1250, 3),
           0, "too small a buffer: nothing");
    is_int(ngx_ams_settings_decimal_format(small, sizeof(small), -5, 0),
           0, "a negative value: nothing");

    is_int(parse("1.25", 3), 1250, "parse ...");
    ok(format(parse("1.25", 3), 3, "1.25"), "... and format round-trip");

    return done_testing();
}
