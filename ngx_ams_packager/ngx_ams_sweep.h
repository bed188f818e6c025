
/*
 * Copyright (C) nginx-ams authors
 *
 * What the packager does with the files of a stream it has no state for:
 * streams that ended while their worker exited or died.  Finding them
 * (the newest of a stream's files tells when it ended), closing their
 * playlists and MPD on disk, and removing them, by the file names of
 * ngx_ams_stream_name.h only: nothing else under streams/ is touched.
 * Whether a stream is live is for the caller to check (the bus) between
 * scan and remove.  Blocking file I/O, free of nginx types.
 */


#ifndef _NGX_AMS_SWEEP_H_INCLUDED_
#define _NGX_AMS_SWEEP_H_INCLUDED_


#include <stddef.h>
#include <time.h>

#include "ngx_ams_stream_name.h"
#include "ngx_ams_ts_mux.h"


typedef struct {
    char                (*ids)[NGX_AMS_STREAM_NAME_MAX];   /* sorted */
    size_t                n;
    size_t                cap;
} ngx_ams_sweep_t;


/* adds to "sw" the streams in "dir" none of whose files was modified after
 * "ended_before": 0, or -1 when "dir" cannot be read or memory ran out */
int ngx_ams_sweep_scan(ngx_ams_sweep_t *sw, const char *dir,
    time_t ended_before);
/* 0, or -1 when memory ran out; keeps "sw" sorted */
int ngx_ams_sweep_add(ngx_ams_sweep_t *sw, const char *id, size_t len);
void ngx_ams_sweep_drop(ngx_ams_sweep_t *sw, size_t i);
/* removes the files of the streams in "sw" not modified after
 * "not_after", and their {id}/ directories once empty */
void ngx_ams_sweep_remove(ngx_ams_sweep_t *sw, const char *dir,
    time_t not_after);
/* removes temporary files left in "tmpdir" older than "before" */
void ngx_ams_sweep_tmp(const char *tmpdir, time_t before);
void ngx_ams_sweep_free(ngx_ams_sweep_t *sw);

/* closes what stream "id" left in "dir": EXT-X-ENDLIST at the end of its
 * media playlists, its MPD static.  0, or -1 with "err" set */
/* a playlist or MPD whole, NUL-terminated: 0, 1 if absent, -1 */
int ngx_ams_sweep_read(const char *path, ngx_ams_buf_t *b, char *err,
    size_t err_len);

int ngx_ams_sweep_close(const char *dir, const char *tmpdir, const char *id,
    char *err, size_t err_len);


#endif /* _NGX_AMS_SWEEP_H_INCLUDED_ */
