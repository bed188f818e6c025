
/*
 * Copyright (C) nginx-ams authors
 *
 * Names written to error.log: control characters never pass raw.
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_log_escape.h"


static int
escaped(const char *in, size_t len, size_t size, const char *want)
{
    char  buf[256];

    ngx_ams_log_escape(buf, size, (const unsigned char *) in, len);

    return strcmp(buf, want) == 0;
}


int
main(void)
{
    char  buf[8];

    ok(escaped("live", 4, 64, "live"), "a plain name is unchanged");
    ok(escaped("a\nb", 3, 64, "a\\x0ab"), "a newline is escaped");
    ok(escaped("a\r\n[alert] x", 12, 64, "a\\x0d\\x0a[alert] x"),
       "a forged log line stays on one line");
    ok(escaped("q\"\\", 3, 64, "q\\x22\\x5c"), "quote and backslash");
    ok(escaped("\xff\x7f", 2, 64, "\\xff\\x7f"), "high bytes and DEL");
    ok(escaped("a\0b", 3, 64, "a\\x00b"), "a NUL does not end the name");
    ok(escaped("abcdef", 6, 4, "abc"), "truncated to the buffer");
    ok(escaped("ab\n", 3, 5, "ab"), "never half an escape");
    ok(escaped("", 0, 1, ""), "empty");

    memset(buf, 'x', sizeof(buf));
    ngx_ams_log_escape(buf, 0, (const unsigned char *) "a", 1);
    ok(buf[0] == 'x', "a zero-sized buffer is left alone");

    return done_testing();
}
