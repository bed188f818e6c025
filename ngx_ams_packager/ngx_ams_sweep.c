
/*
 * Copyright (C) nginx-ams authors
 */


#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ngx_ams_sweep.h"
#include "ngx_ams_file.h"
#include "ngx_ams_m3u8.h"
#include "ngx_ams_mpd.h"


#define NGX_AMS_SWEEP_MAX_FILE   (4 * 1024 * 1024)  /* a playlist or MPD */


typedef struct {
    char                  id[NGX_AMS_STREAM_NAME_MAX];
    time_t                mtime;
} ngx_ams_sweep_file_t;


static int
ngx_ams_sweep_cmp_file(const void *a, const void *b)
{
    return strcmp(((const ngx_ams_sweep_file_t *) a)->id,
                  ((const ngx_ams_sweep_file_t *) b)->id);
}


static int
ngx_ams_sweep_cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}


/*
 * Directories are walked by descriptor, never by path: an entry is
 * looked at without following a link (fstatat), a stream's directory is
 * opened with O_NOFOLLOW and its files unlinked relative to it, so a
 * link swapped in between the look and the removal takes the sweep
 * nowhere outside streams/.
 */
static DIR *
ngx_ams_sweep_opendir(int at, const char *name, int nofollow)
{
    int   fd;
    DIR  *d;

    fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC
                          | (nofollow ? O_NOFOLLOW : 0));
    if (fd == -1) {
        return NULL;
    }

    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
    }

    return d;
}


/*
 * The stream an entry of streams/ ("dfd") belongs to, into id: a
 * directory named as a valid id, or one of the packager's file names.
 * Returns 1 for a directory, 0 for a file, -1 for anything else (left
 * alone).
 */
static int
ngx_ams_sweep_entry(int dfd, const char *name, char *id, time_t *mtime)
{
    size_t                 len;
    struct stat            sb;
    ngx_ams_stream_file_t  f;

    len = strlen(name);

    if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
        return -1;
    }

    *mtime = sb.st_mtime;

    if (S_ISDIR(sb.st_mode)) {
        if (!ngx_ams_stream_name_valid((const unsigned char *) name, len,
                                       NGX_AMS_STREAM_NAME_RUNG, NULL))
        {
            return -1;
        }

        memcpy(id, name, len + 1);
        return 1;
    }

    if (!S_ISREG(sb.st_mode)
        || ngx_ams_stream_file((const unsigned char *) name, len, &f) != 0)
    {
        return -1;
    }

    memcpy(id, f.id, f.id_len);
    id[f.id_len] = '\0';

    return 0;
}


/* the newest of id's files in {dir}/{id}/ (by our names only), removing
 * those not newer than not_after when asked */
static time_t
ngx_ams_sweep_dir(int dfd, const char *id, time_t not_after, int remove)
{
    DIR                    *d;
    int                     sfd;
    char                    rel[NGX_AMS_STREAM_NAME_MAX + NAME_MAX + 2];
    time_t                  newest;
    struct stat             sb;
    struct dirent          *de;
    ngx_ams_stream_file_t   f;

    newest = 0;

    d = ngx_ams_sweep_opendir(dfd, id, 1);
    if (d == NULL) {
        return 0;
    }

    sfd = dirfd(d);

    while ((de = readdir(d)) != NULL) {
        snprintf(rel, sizeof(rel), "%s/%s", id, de->d_name);

        if (ngx_ams_stream_file((const unsigned char *) rel, strlen(rel), &f)
            != 0)
        {
            continue;
        }

        if (fstatat(sfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0
            || !S_ISREG(sb.st_mode))
        {
            continue;
        }

        if (sb.st_mtime > newest) {
            newest = sb.st_mtime;
        }

        if (remove && sb.st_mtime <= not_after) {
            (void) unlinkat(sfd, de->d_name, 0);
        }
    }

    closedir(d);

    if (remove) {
        /* only once empty; a directory, never what a link points to */
        (void) unlinkat(dfd, id, AT_REMOVEDIR);
    }

    return newest;
}


int
ngx_ams_sweep_add(ngx_ams_sweep_t *sw, const char *id, size_t len)
{
    size_t   cap, i;
    void    *p;

    if (len >= NGX_AMS_STREAM_NAME_MAX) {
        return 0;
    }

    if (sw->n == sw->cap) {
        cap = sw->cap ? sw->cap * 2 : 16;
        p = realloc(sw->ids, cap * NGX_AMS_STREAM_NAME_MAX);
        if (p == NULL) {
            return -1;
        }

        sw->ids = p;
        sw->cap = cap;
    }

    /* kept sorted for bsearch; scans add in order, so this is cheap */
    for (i = sw->n; i > 0; i--) {
        if (strncmp(sw->ids[i - 1], id, NGX_AMS_STREAM_NAME_MAX) < 0) {
            break;
        }
    }

    memmove(sw->ids[i + 1], sw->ids[i], (sw->n - i) * NGX_AMS_STREAM_NAME_MAX);
    memcpy(sw->ids[i], id, len);
    sw->ids[i][len] = '\0';
    sw->n++;

    return 0;
}


void
ngx_ams_sweep_drop(ngx_ams_sweep_t *sw, size_t i)
{
    memmove(sw->ids[i], sw->ids[i + 1],
            (sw->n - i - 1) * NGX_AMS_STREAM_NAME_MAX);
    sw->n--;
}


int
ngx_ams_sweep_scan(ngx_ams_sweep_t *sw, const char *dir, time_t ended_before)
{
    DIR                   *d;
    int                    rc;
    time_t                 mtime, newest;
    size_t                 n, cap, i, j;
    struct dirent         *de;
    ngx_ams_sweep_file_t  *files, *p;

    d = ngx_ams_sweep_opendir(AT_FDCWD, dir, 0);
    if (d == NULL) {
        return errno == ENOENT ? 0 : -1;
    }

    files = NULL;
    n = 0;
    cap = 0;
    rc = 0;

    while ((de = readdir(d)) != NULL) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            p = realloc(files, cap * sizeof(ngx_ams_sweep_file_t));
            if (p == NULL) {
                rc = -1;
                break;
            }

            files = p;
        }

        switch (ngx_ams_sweep_entry(dirfd(d), de->d_name, files[n].id,
                                    &mtime))
        {
        case 1:
            /* its files tell; an empty one, its own time */
            newest = ngx_ams_sweep_dir(dirfd(d), files[n].id, 0, 0);
            files[n].mtime = newest ? newest : mtime;
            n++;
            break;

        case 0:
            files[n].mtime = mtime;
            n++;
            break;

        default:
            break;
        }
    }

    closedir(d);

    if (rc == 0 && n) {
        qsort(files, n, sizeof(ngx_ams_sweep_file_t), ngx_ams_sweep_cmp_file);

        for (i = 0; i < n; i = j) {
            newest = files[i].mtime;

            for (j = i + 1; j < n && strcmp(files[j].id, files[i].id) == 0;
                 j++)
            {
                if (files[j].mtime > newest) {
                    newest = files[j].mtime;
                }
            }

            if (newest < ended_before
                && ngx_ams_sweep_add(sw, files[i].id, strlen(files[i].id))
                   != 0)
            {
                rc = -1;
                break;
            }
        }
    }

    free(files);

    return rc;
}


void
ngx_ams_sweep_remove(ngx_ams_sweep_t *sw, const char *dir, time_t not_after)
{
    DIR            *d;
    int             kind;
    char            id[NGX_AMS_STREAM_NAME_MAX];
    time_t          mtime;
    struct dirent  *de;

    if (sw->n == 0) {
        return;
    }

    d = ngx_ams_sweep_opendir(AT_FDCWD, dir, 0);
    if (d == NULL) {
        return;
    }

    while ((de = readdir(d)) != NULL) {
        kind = ngx_ams_sweep_entry(dirfd(d), de->d_name, id, &mtime);

        if (kind == -1
            || bsearch(id, sw->ids, sw->n, NGX_AMS_STREAM_NAME_MAX,
                       ngx_ams_sweep_cmp_id)
               == NULL)
        {
            continue;
        }

        if (kind == 1) {
            (void) ngx_ams_sweep_dir(dirfd(d), id, not_after, 1);
            continue;
        }

        /* a newer publisher of the same name rewrote it: its file now */
        if (mtime <= not_after) {
            (void) unlinkat(dirfd(d), de->d_name, 0);
        }
    }

    closedir(d);
}


void
ngx_ams_sweep_tmp(const char *tmpdir, time_t before)
{
    DIR            *d;
    struct stat     sb;
    struct dirent  *de;

    d = ngx_ams_sweep_opendir(AT_FDCWD, tmpdir, 0);
    if (d == NULL) {
        return;
    }

    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }

        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0
            && S_ISREG(sb.st_mode) && sb.st_mtime < before)
        {
            (void) unlinkat(dirfd(d), de->d_name, 0);
        }
    }

    closedir(d);
}


void
ngx_ams_sweep_free(ngx_ams_sweep_t *sw)
{
    free(sw->ids);
    sw->ids = NULL;
    sw->n = 0;
    sw->cap = 0;
}


/* reads a small regular file whole, NUL-terminated past b->len (parsers
 * may stop at it): 0, 1 when there is none, -1 */
int
ngx_ams_sweep_read(const char *path, ngx_ams_buf_t *b, char *err,
    size_t err_len)
{
    int          fd;
    ssize_t      n;
    struct stat  sb;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd == -1) {
        if (errno == ENOENT) {
            return 1;
        }

        snprintf(err, err_len, "open(\"%s\"): %s", path, strerror(errno));
        return -1;
    }

    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)
        || sb.st_size > NGX_AMS_SWEEP_MAX_FILE)
    {
        snprintf(err, err_len, "\"%s\" is not a file of ours", path);
        close(fd);
        return -1;
    }

    b->len = 0;

    if (ngx_ams_buf_reserve(b, (size_t) sb.st_size + 1) != 0) {
        snprintf(err, err_len, "out of memory");
        close(fd);
        return -1;
    }

    /* one byte kept for the NUL, even if the file grew since fstat() */
    do {
        n = read(fd, b->data + b->len, b->cap - 1 - b->len);
        if (n > 0) {
            b->len += (size_t) n;
        }
    } while (n > 0 || (n == -1 && errno == EINTR));

    close(fd);

    if (n == -1) {
        snprintf(err, err_len, "read(\"%s\"): %s", path, strerror(errno));
        return -1;
    }

    b->data[b->len] = '\0';

    return 0;
}


static int
ngx_ams_sweep_close_file(const char *tmpdir, const char *path, int mpd,
    ngx_ams_buf_t *in, ngx_ams_buf_t *out, char *err, size_t err_len)
{
    int  rc;

    rc = ngx_ams_sweep_read(path, in, err, err_len);
    if (rc != 0) {
        return rc == 1 ? 0 : -1;
    }

    out->len = 0;

    rc = mpd ? ngx_ams_mpd_close(out, (char *) in->data, in->len)
             : ngx_ams_m3u8_close(out, (char *) in->data, in->len);

    if (rc == -1) {
        snprintf(err, err_len, "\"%s\" cannot be closed", path);
        return -1;
    }

    if (rc == 0) {
        return 0;
    }

    return ngx_ams_file_replace(tmpdir, path, out->data, out->len, err,
                                err_len);
}


int
ngx_ams_sweep_close(const char *dir, const char *tmpdir, const char *id,
    char *err, size_t err_len)
{
    int            rc;
    char           path[PATH_MAX];
    ngx_ams_buf_t  in, out;

    memset(&in, 0, sizeof(ngx_ams_buf_t));
    memset(&out, 0, sizeof(ngx_ams_buf_t));

    rc = 0;

    /* an MPEG-TS stream's playlist; a CMAF stream's master needs nothing */
    snprintf(path, sizeof(path), "%s/%s.m3u8", dir, id);
    rc |= ngx_ams_sweep_close_file(tmpdir, path, 0, &in, &out, err, err_len);

    snprintf(path, sizeof(path), "%s/%s/video.m3u8", dir, id);
    rc |= ngx_ams_sweep_close_file(tmpdir, path, 0, &in, &out, err, err_len);

    snprintf(path, sizeof(path), "%s/%s/audio.m3u8", dir, id);
    rc |= ngx_ams_sweep_close_file(tmpdir, path, 0, &in, &out, err, err_len);

    snprintf(path, sizeof(path), "%s/%s/%s.mpd", dir, id, id);
    rc |= ngx_ams_sweep_close_file(tmpdir, path, 1, &in, &out, err, err_len);

    ngx_ams_buf_free(&in);
    ngx_ams_buf_free(&out);

    return rc ? -1 : 0;
}
