
/*
 * Copyright (C) nginx-ams authors
 *
 * Names a client chose (applications, streams, URIs) made safe for
 * error.log: a newline in a stream name must not forge a log line.
 * Pure C: unit-tested outside nginx.
 */


#ifndef _NGX_AMS_LOG_ESCAPE_H_INCLUDED_
#define _NGX_AMS_LOG_ESCAPE_H_INCLUDED_


#include <stddef.h>


/* room for a name of "len" bytes, escaped, with its NUL */
#define NGX_AMS_LOG_ESCAPED_SIZE(len)  ((len) * 4 + 1)


/*
 * Writes src into dst as printable ASCII, NUL-terminated: control
 * characters, DEL, '\\', '"' and bytes >= 0x80 become \xHH.  Stops early
 * (never in the middle of an escape) when dst is full; returns dst.
 */
char *ngx_ams_log_escape(char *dst, size_t size, const unsigned char *src,
    size_t len);


#endif /* _NGX_AMS_LOG_ESCAPE_H_INCLUDED_ */
