
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


#include <errno.h>
#include <stddef.h>


/* each returns 0, or -1 with a message in err and errno set; mkdir's
 * errno is ENOTDIR when something else is in the way, ENAMETOOLONG when
 * the path is too long: no later try can succeed (see
 * ngx_ams_file_in_the_way()) */
int ngx_ams_file_mkdir(const char *path, char *err, size_t err_len);
int ngx_ams_file_write_all(int fd, const void *data, size_t len);
/* writes a temporary file in "tmpdir" (same file system as "path"), then
 * renames it to "path" */
int ngx_ams_file_replace(const char *tmpdir, const char *path,
    const void *data, size_t len, char *err, size_t err_len);



/* after a failed ngx_ams_file_mkdir(): 1 when the path itself is wrong (a
 * file where a directory should be, a name too long), not the disk */
#define ngx_ams_file_in_the_way(err)                                          \
    ((err) == ENOTDIR || (err) == ENAMETOOLONG)


#endif /* _NGX_AMS_FILE_H_INCLUDED_ */
