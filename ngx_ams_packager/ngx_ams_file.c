
/*
 * Copyright (C) nginx-ams authors
 */


#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ngx_ams_file.h"


int
ngx_ams_file_mkdir(const char *path, char *err, size_t err_len)
{
    char         buf[PATH_MAX];
    char        *p;
    struct stat  sb;

    if (snprintf(buf, sizeof(buf), "%s", path) >= (int) sizeof(buf)) {
        snprintf(err, err_len, "path too long");
        errno = ENAMETOOLONG;
        return -1;
    }

    for (p = buf + 1; ; p++) {
        if (*p != '/' && *p != '\0') {
            continue;
        }

        char  c = *p;

        *p = '\0';
        if (mkdir(buf, 0755) != 0) {
            if (errno != EEXIST) {
                snprintf(err, err_len, "mkdir(\"%s\"): %s", buf,
                         strerror(errno));
                return -1;
            }

            /* what is there is not necessarily what we would have made */
            if (stat(buf, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
                snprintf(err, err_len, "\"%s\" exists and is not a "
                         "directory", buf);
                errno = ENOTDIR;
                return -1;
            }
        }
        *p = c;

        if (c == '\0') {
            return 0;
        }
    }
}


int
ngx_ams_file_write_all(int fd, const void *data, size_t len)
{
    ssize_t      n;
    const char  *p = data;

    while (len) {
        n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }

        p += n;
        len -= (size_t) n;
    }

    return 0;
}


int
ngx_ams_file_replace(const char *tmpdir, const char *path, const void *data,
    size_t len, char *err, size_t err_len)
{
    int          fd;
    char         tmp[PATH_MAX];
    const char  *slash;

    /*
     * A unique name in a hidden directory that no location serves, on the
     * same file system (rename is atomic): never a file of a stream, and
     * safe with threads and workers writing at once.
     */
    slash = strrchr(path, '/');
    if (snprintf(tmp, sizeof(tmp), "%s/%s.XXXXXX", tmpdir,
                 slash ? slash + 1 : path)
        >= (int) sizeof(tmp))
    {
        snprintf(err, err_len, "path too long");
        return -1;
    }

    fd = mkstemp(tmp);
    if (fd == -1) {
        snprintf(err, err_len, "mkstemp(\"%s\"): %s", tmp, strerror(errno));
        return -1;
    }

    if (fchmod(fd, 0644) != 0 || ngx_ams_file_write_all(fd, data, len) != 0)
    {
        snprintf(err, err_len, "write(\"%s\"): %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }

    close(fd);

    if (rename(tmp, path) != 0) {
        snprintf(err, err_len, "rename(\"%s\", \"%s\"): %s", tmp, path,
                 strerror(errno));
        unlink(tmp);
        return -1;
    }

    return 0;
}
