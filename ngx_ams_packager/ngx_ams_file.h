
/*
 * Copyright (C) nginx-ams authors
 *
 * Blocking file helpers for the packager's threads: mkdir -p, whole-file
 * writes, and atomic replacement (a temporary file, then rename) so that
 * nginx never serves half a playlist, nor the temporary file: those are
 * written in a hidden directory beside "streams/" ({App}/.tmp), which no
 * location serves and no stream id can name.  Free of nginx types.
 */


#ifndef _NGX_AMS_FILE_H_INCLUDED_
#define _NGX_AMS_FILE_H_INCLUDED_


#include <stddef.h>


/* each returns 0, or -1 with a message in err */
int ngx_ams_file_mkdir(const char *path, char *err, size_t err_len);
int ngx_ams_file_write_all(int fd, const void *data, size_t len);
/* writes a temporary file in "tmpdir" (same file system as "path"), then
 * renames it to "path" */
int ngx_ams_file_replace(const char *tmpdir, const char *path,
    const void *data, size_t len, char *err, size_t err_len);


#endif /* _NGX_AMS_FILE_H_INCLUDED_ */
