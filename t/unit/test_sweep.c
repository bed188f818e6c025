
/*
 * Copyright (C) nginx-ams authors
 *
 * The sweep against a directory swapped for a link between its look and
 * its removal, and what it reads for the parsers.  lstat() and fstatat()
 * are this program's own: the sweep's look at a stream's directory also
 * swaps it for a link to a directory outside streams/, as another
 * process could at that moment.
 */


#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "ngx_ams_sweep.h"
#include "ngx_ams_mpd.h"
#include "ngx_ams_ts_mux.h"


static char  victim[1100];     /* streams/s1 */
static char  outside[1024];    /* where the link points */
static int   swapped;


static void
swap_victim(const char *name)
{
    char         real[1200];
    const char  *base;

    base = strrchr(name, '/');
    base = base ? base + 1 : name;

    if (swapped || victim[0] == '\0' || strcmp(base, "s1") != 0) {
        return;
    }

    swapped = 1;
    snprintf(real, sizeof(real), "%s.real", victim);

    if (rename(victim, real) != 0 || symlink(outside, victim) != 0) {
        printf("# swap: %s\n", strerror(errno));
    }
}


int
fstatat(int fd, const char *name, struct stat *sb, int flags)
{
    int  rc;

    rc = (int) syscall(SYS_newfstatat, fd, name, sb, flags);
    swap_victim(name);

    return rc;
}


int
lstat(const char *path, struct stat *sb)
{
    int  rc;

    rc = (int) syscall(SYS_newfstatat, AT_FDCWD, path, sb,
                       AT_SYMLINK_NOFOLLOW);
    swap_victim(path);

    return rc;
}


static void
put(const char *dir, const char *name, const char *text, time_t mtime)
{
    FILE            *f;
    char             path[1100];
    struct timeval   tv[2];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }

    tv[0].tv_sec = mtime;
    tv[0].tv_usec = 0;
    tv[1] = tv[0];
    utimes(path, tv);
}


static int
exists(const char *dir, const char *name)
{
    char         path[1100];
    struct stat  sb;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &sb) == 0;
}


static void
test_swapped_dir(const char *base)
{
    char             dir[1024];
    time_t           old;
    ngx_ams_sweep_t  sw;

    old = time(NULL) - 100;

    snprintf(dir, sizeof(dir), "%s/streams", base);
    snprintf(victim, sizeof(victim), "%s/s1", dir);
    snprintf(outside, sizeof(outside), "%s/outside", base);
    mkdir(dir, 0755);
    mkdir(victim, 0755);
    mkdir(outside, 0755);

    put(victim, "video.m3u8", "#EXTM3U\n", old);
    put(outside, "video.m3u8", "not the sweep's", old);

    memset(&sw, 0, sizeof(sw));
    ok(ngx_ams_sweep_add(&sw, "s1", 2) == 0, "s1 is to be removed");

    swapped = 0;
    ngx_ams_sweep_remove(&sw, dir, time(NULL));

    ok(swapped, "its directory was swapped for a link after its look");
    ok(exists(outside, "video.m3u8"),
       "the sweep did not follow the link: the file it points to stays");

    ngx_ams_sweep_free(&sw);
    victim[0] = '\0';
}


static void
test_read(const char *base)
{
    char           path[1100], err[256] = "";
    ngx_ams_buf_t  b = { NULL, 0, 0 };

    snprintf(path, sizeof(path), "%s/a.mpd", base);
    put(base, "a.mpd", "<MPD type=\"dynamic\">123", time(NULL));

    /* what a previous read left in the buffer */
    if (ngx_ams_buf_reserve(&b, 65536) == 0) {
        memset(b.data, '7', b.cap);
    }

    ok(ngx_ams_sweep_read(path, &b, err, sizeof(err)) == 0, "read: %s",
       err);
    is_int(b.len, 23, "the file whole");
    ok(b.cap > b.len && b.data[b.len] == '\0',
       "a NUL after it: a parser stops there, not in old bytes");

    snprintf(path, sizeof(path), "%s/none.mpd", base);
    is_int(ngx_ams_sweep_read(path, &b, err, sizeof(err)), 1,
           "a file that is not there");

    ngx_ams_buf_free(&b);
}


/* numbers are read within the text given, never past it */
static void
test_mpd_bounds(void)
{
    char            *text;
    size_t           len;
    ngx_ams_buf_t    out = { NULL, 0, 0 };
    static const char  mpd[] =
        "<MPD type=\"dynamic\" minBufferTime=\"PT2S\">\n"
        "<SegmentTemplate timescale=\"1000\" presentationTimeOffset=\"0\">\n"
        "<SegmentTimeline>\n"
        "<S t=\"0\" d=\"2000\"/>\n"
        "</SegmentTimeline>\n"
        "</SegmentTemplate>\n"
        "</MPD>\n";

    /* exactly its bytes, no NUL after them */
    len = sizeof(mpd) - 1;
    text = malloc(len);
    memcpy(text, mpd, len);

    is_int(ngx_ams_mpd_close(&out, text, len), 1, "a live MPD is closed");
    ok(out.len && memmem(out.data, out.len,
                         "mediaPresentationDuration=\"PT2", 30) != NULL,
       "its duration is its timeline's");

    out.len = 0;
    is_int(ngx_ams_mpd_close(&out, text, strstr(mpd, "</SegmentTimeline>")
                                         - mpd),
           -1, "a text cut before its timeline ends is refused");

    free(text);
    ngx_ams_buf_free(&out);
}


int
main(void)
{
    char  base[] = "/tmp/ams_sweep_XXXXXX";
    char  cmd[128];

    if (mkdtemp(base) == NULL) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }

    test_swapped_dir(base);
    test_read(base);
    test_mpd_bounds();

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    if (system(cmd) != 0) {
        printf("# could not remove %s\n", base);
    }

    return done_testing();
}
