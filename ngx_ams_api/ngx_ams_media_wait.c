
/*
 * Copyright (C) nginx-ams authors
 *
 * Low-latency HLS in the HLS gate: requests that wait for a part (RFC
 * 8216bis 6.2.5.2, 6.2.6), called by ngx_ams_media.c once a request is
 * admitted:
 *
 *  - a media playlist ({id}/video.m3u8, audio.m3u8) asked for with
 *    _HLS_msn=M[&_HLS_part=P] is held until the playlist lists that
 *    segment or part, then nginx's static handler serves the file; a
 *    request too far ahead is a 400, one still unsatisfied after three
 *    target durations a 503;
 *  - a byte range of a segment being written ({id}/video_N.m4s, the
 *    preload hint's "bytes=S-") is held until a whole part starts at S,
 *    then served up to the end of the whole parts (never a byte of a part
 *    still being written);
 *  - a whole segment being written (a low-latency DASH player's request,
 *    or the next segment's) is sent while it is written: its whole parts
 *    at once, each next one as it is listed (chunked), the end with the
 *    segment's.
 *
 * What is there is the stream's ngx_ams_ll_state_t in the bus zone,
 * written by the packager's thread in the stream's worker after each
 * playlist it renamed into place.  Each worker polls the states its
 * waiting requests need every NGX_AMS_MEDIA_WAIT_POLL ms with one timer,
 * armed only while a request waits: a few reads of shared memory per
 * request and tick, and a part is served at most a tick after it is
 * listed.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_api.h"
#include "ngx_ams_media_name.h"


#define NGX_AMS_MEDIA_WAIT_POLL   10        /* ms */

/* ngx_ams_media_wait_check(): a segment to send while it is written */
#define NGX_AMS_MEDIA_WAIT_STREAM  1000


typedef struct {
    ngx_http_request_t       *request;
    ngx_ams_stream_t         *stream;
    ngx_uint_t                generation;
    unsigned                  track;        /* NGX_AMS_MP4_* order */
    unsigned                  playlist:1;   /* or a segment */
    unsigned                  has_part:1;
    unsigned                  queued:1;
    unsigned                  streaming:1;  /* its growing segment is sent */
    unsigned                  failed:1;     /* a send failed */
    uint64_t                  msn;          /* a playlist's directives */
    uint64_t                  part;
    uint64_t                  seq;          /* a segment's */
    int64_t                   start;        /* its range; -1: the whole */
    int64_t                   end;          /* -1: to the end */
    ngx_msec_t                deadline;
    ngx_int_t                 status;       /* once decided: NGX_OK, ... */
    ngx_file_t               *file;         /* streaming: the segment */
    off_t                     avail;        /* its whole parts' bytes */
    off_t                     sent;
    ngx_queue_t               queue;
} ngx_ams_media_wait_t;


static ngx_int_t ngx_ams_media_wait_parse(ngx_http_request_t *r,
    ngx_ams_media_wait_t *w, ngx_str_t *app, ngx_str_t *id);
static ngx_int_t ngx_ams_media_wait_uint(ngx_str_t *v, uint64_t *n);
static ngx_int_t ngx_ams_media_wait_range(ngx_http_request_t *r,
    ngx_ams_media_wait_t *w);
static ngx_int_t ngx_ams_media_wait_check(ngx_ams_media_wait_t *w);
static ngx_int_t ngx_ams_media_wait_clamp(ngx_ams_media_wait_t *w,
    int64_t avail);
static void ngx_ams_media_wait_poll(ngx_event_t *ev);
static void ngx_ams_media_wait_release(ngx_ams_media_wait_t *w,
    ngx_int_t status);
static void ngx_ams_media_wait_cleanup(void *data);
static ngx_int_t ngx_ams_media_wait_stream_start(ngx_ams_media_wait_t *w);
static void ngx_ams_media_wait_stream_tick(ngx_ams_media_wait_t *w);
static ngx_int_t ngx_ams_media_wait_stream_send(ngx_ams_media_wait_t *w,
    ngx_uint_t last);
static void ngx_ams_media_wait_stream_write(ngx_http_request_t *r);
static void ngx_ams_media_wait_stream_end(ngx_ams_media_wait_t *w,
    ngx_int_t rc);


static ngx_queue_t   ngx_ams_media_waiting;
static ngx_event_t   ngx_ams_media_wait_timer;


/*
 * NGX_OK: serve the request now; NGX_DONE: it waits (the access phase
 * runs again when it is decided); or an HTTP status.  *state keeps the
 * request's wait between the two runs.
 */
ngx_int_t
ngx_ams_media_wait(ngx_http_request_t *r, void **state)
{
    ngx_int_t              rc;
    ngx_str_t              app, id;
    ngx_pool_cleanup_t    *cln;
    ngx_ams_media_wait_t  *w;

    if (*state) {
        w = *state;
        return w->status;
    }

    w = ngx_pcalloc(r->pool, sizeof(ngx_ams_media_wait_t));
    if (w == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *state = w;
    w->request = r;
    w->status = NGX_OK;

    rc = ngx_ams_media_wait_parse(r, w, &app, &id);
    if (rc != NGX_AGAIN) {
        w->status = rc;
        return rc;
    }

    w->stream = ngx_ams_bus_find(&app, &id);
    if (w->stream == NULL) {
        return NGX_OK;              /* not live here: the files as they are */
    }

    w->generation = w->stream->generation;

    rc = ngx_ams_media_wait_check(w);
    if (rc != NGX_AGAIN && rc != NGX_AMS_MEDIA_WAIT_STREAM) {
        w->status = rc;
        return rc;
    }

    /* freed while it waits (its connection closed at shutdown): leaves
     * the queue */
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        w->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return w->status;
    }

    cln->handler = ngx_ams_media_wait_cleanup;
    cln->data = w;

    if (ngx_ams_media_waiting.next == NULL) {
        ngx_queue_init(&ngx_ams_media_waiting);
    }

    ngx_queue_insert_tail(&ngx_ams_media_waiting, &w->queue);
    w->queued = 1;
    w->status = NGX_HTTP_SERVICE_UNAVAILABLE;

    if (!ngx_ams_media_wait_timer.timer_set) {
        ngx_ams_media_wait_timer.handler = ngx_ams_media_wait_poll;
        ngx_ams_media_wait_timer.log = ngx_cycle->log;
        ngx_ams_media_wait_timer.data = NULL;
        ngx_add_timer(&ngx_ams_media_wait_timer, NGX_AMS_MEDIA_WAIT_POLL);
    }

    r->main->count++;

    if (rc == NGX_AMS_MEDIA_WAIT_STREAM) {
        rc = ngx_ams_media_wait_stream_start(w);

        if (rc != NGX_OK) {
            /* nothing sent: answered as any request */
            ngx_queue_remove(&w->queue);
            w->queued = 0;
            r->main->count--;
            w->status = rc;
            return rc;
        }
    }

    return NGX_DONE;
}


/*
 * What the request asks for.  NGX_AGAIN: a request that may wait, with
 * "w" filled; NGX_OK: one that never does; or an HTTP status.
 */
static ngx_int_t
ngx_ams_media_wait_parse(ngx_http_request_t *r, ngx_ams_media_wait_t *w,
    ngx_str_t *app, ngx_str_t *id)
{
    u_char                *p, *last, *file;
    uint64_t               seq;
    ngx_str_t              msn, part, num;
    ngx_ams_media_name_t   name;

    if (ngx_ams_media_name(r->uri.data, r->uri.len, &name) != 0) {
        return NGX_OK;
    }

    app->data = (u_char *) name.app;
    app->len = name.app_len;
    id->data = (u_char *) name.id;
    id->len = name.id_len;

    last = r->uri.data + r->uri.len;
    file = NULL;

    for (p = r->uri.data; p < last; p++) {
        if (*p == '/') {
            file = p + 1;
        }
    }

    /* only the files under {id}/: {id}.m3u8 of a stream named "video" is
     * a master playlist */
    if (file == NULL || (u_char *) name.id + name.id_len + 1 != file) {
        return NGX_OK;
    }

    if (last - file > 6 && ngx_strncmp(file, "video", 5) == 0) {
        w->track = 0;
        p = file + 5;

    } else if (last - file > 6 && ngx_strncmp(file, "audio", 5) == 0) {
        w->track = 1;
        p = file + 5;

    } else {
        return NGX_OK;              /* a master playlist, an MPD, ... */
    }

    if (last - p == 5 && ngx_strncmp(p, ".m3u8", 5) == 0) {
        w->playlist = 1;

        if (ngx_http_arg(r, (u_char *) "_HLS_msn", 8, &msn) != NGX_OK) {
            /* a part without its segment: 6.2.5.2 */
            return ngx_http_arg(r, (u_char *) "_HLS_part", 9, &part)
                   == NGX_OK ? NGX_HTTP_BAD_REQUEST : NGX_OK;
        }

        if (ngx_ams_media_wait_uint(&msn, &w->msn) != NGX_OK) {
            return NGX_HTTP_BAD_REQUEST;
        }

        if (ngx_http_arg(r, (u_char *) "_HLS_part", 9, &part) == NGX_OK) {
            if (ngx_ams_media_wait_uint(&part, &w->part) != NGX_OK) {
                return NGX_HTTP_BAD_REQUEST;
            }

            w->has_part = 1;
        }

        return NGX_AGAIN;
    }

    /* video_N.m4s */
    if (*p != '_' || last - p < 6
        || ngx_strncmp(last - 4, ".m4s", 4) != 0)
    {
        return NGX_OK;
    }

    num.data = p + 1;
    num.len = last - 4 - num.data;

    if (ngx_ams_media_wait_uint(&num, &seq) != NGX_OK) {
        return NGX_OK;
    }

    w->seq = seq;

    return ngx_ams_media_wait_range(r, w);
}


static ngx_int_t
ngx_ams_media_wait_uint(ngx_str_t *v, uint64_t *n)
{
    size_t  i;

    if (v->len == 0 || v->len > 19) {
        return NGX_ERROR;
    }

    *n = 0;

    for (i = 0; i < v->len; i++) {
        if (v->data[i] < '0' || v->data[i] > '9') {
            return NGX_ERROR;
        }

        *n = *n * 10 + (v->data[i] - '0');
    }

    return NGX_OK;
}


/* one range, "bytes=S-" or "bytes=S-E", the way players ask for a part;
 * anything else (several ranges, a suffix) is the static handler's */
static ngx_int_t
ngx_ams_media_wait_range(ngx_http_request_t *r, ngx_ams_media_wait_t *w)
{
    u_char     *p, *last, *dash;
    uint64_t    n;
    ngx_str_t   v;

    w->start = -1;
    w->end = -1;

    if (r->headers_in.range == NULL) {
        return NGX_AGAIN;
    }

    p = r->headers_in.range->value.data;
    last = p + r->headers_in.range->value.len;

    if (last - p < 8 || ngx_strncasecmp(p, (u_char *) "bytes=", 6) != 0) {
        return NGX_OK;
    }

    p += 6;

    dash = ngx_strlchr(p, last, '-');
    if (dash == NULL || dash == p) {
        return NGX_OK;
    }

    v.data = p;
    v.len = dash - p;

    if (ngx_ams_media_wait_uint(&v, &n) != NGX_OK
        || n > (uint64_t) INT64_MAX)
    {
        return NGX_OK;
    }

    w->start = (int64_t) n;

    v.data = dash + 1;
    v.len = last - v.data;

    if (v.len) {
        if (ngx_ams_media_wait_uint(&v, &n) != NGX_OK
            || n > (uint64_t) INT64_MAX || (int64_t) n < w->start)
        {
            return NGX_OK;
        }

        w->end = (int64_t) n;
    }

    return NGX_AGAIN;
}


/* NGX_AGAIN: wait; else what to answer now */
static ngx_int_t
ngx_ams_media_wait_check(ngx_ams_media_wait_t *w)
{
    int                  rc;
    int64_t              avail;
    ngx_ams_stream_t    *st = w->stream;
    ngx_ams_ll_state_t   ll;

    /* its stream is gone (the slot may be another's by now), or it has
     * no parts, or the state is being rewritten too often to read */
    if (st->generation != w->generation
        || st->state == NGX_AMS_STREAM_FREE
        || ngx_ams_ll_read(&st->ll, &ll) != 0
        || ll.generation != w->generation || ll.part_ms == 0)
    {
        return NGX_OK;
    }

    if (w->deadline == 0) {
        /* 6.2.5.2: 503 after three target durations */
        w->deadline = ngx_current_msec
                      + 3 * ngx_max(ll.target_ms, (uint32_t) 1000);
    }

    if (w->playlist) {
        rc = ngx_ams_ll_playlist(&ll, w->track, w->msn, w->has_part,
                                 w->part);

        return rc == NGX_AMS_LL_READY ? NGX_OK
               : rc == NGX_AMS_LL_AHEAD ? NGX_HTTP_BAD_REQUEST
               : NGX_AGAIN;
    }

    rc = ngx_ams_ll_segment(&ll, w->track, w->seq, w->start, w->end, &avail);

    if (rc != NGX_AMS_LL_READY) {
        /* the whole segment being written, once it has a part */
        if (w->start == -1 && ll.track[w->track].seq == w->seq
            && ll.track[w->track].bytes > 0)
        {
            w->avail = (off_t) ll.track[w->track].bytes;
            return NGX_AMS_MEDIA_WAIT_STREAM;
        }

        return NGX_AGAIN;
    }

    return ngx_ams_media_wait_clamp(w, avail);
}


/* a range of a segment still growing ends with its last whole part */
static ngx_int_t
ngx_ams_media_wait_clamp(ngx_ams_media_wait_t *w, int64_t avail)
{
    u_char              *p;
    ngx_table_elt_t     *h;
    ngx_http_request_t  *r = w->request;

    if (avail < 0 || (w->end >= 0 && w->end < avail)) {
        return NGX_OK;
    }

    h = r->headers_in.range;

    p = ngx_pnalloc(r->pool, sizeof("bytes=-") + 2 * NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->value.data = p;
    h->value.len = ngx_sprintf(p, "bytes=%L-%L", w->start, avail - 1) - p;

    return NGX_OK;
}


static void
ngx_ams_media_wait_poll(ngx_event_t *ev)
{
    ngx_int_t              rc;
    ngx_queue_t           *q, *next;
    ngx_ams_media_wait_t  *w;

    for (q = ngx_queue_head(&ngx_ams_media_waiting);
         q != ngx_queue_sentinel(&ngx_ams_media_waiting);
         q = next)
    {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_ams_media_wait_t, queue);

        if (w->streaming) {
            ngx_ams_media_wait_stream_tick(w);
            continue;
        }

        rc = ngx_ams_media_wait_check(w);

        if (rc == NGX_AMS_MEDIA_WAIT_STREAM) {
            rc = ngx_ams_media_wait_stream_start(w);
            if (rc == NGX_OK) {
                ngx_http_run_posted_requests(w->request->connection);
                continue;
            }
        }

        if (rc == NGX_AGAIN) {
            if ((ngx_msec_int_t) (ngx_current_msec - w->deadline) < 0) {
                continue;
            }

            rc = NGX_HTTP_SERVICE_UNAVAILABLE;
        }

        ngx_ams_media_wait_release(w, rc);
    }

    if (!ngx_queue_empty(&ngx_ams_media_waiting)) {
        ngx_add_timer(ev, NGX_AMS_MEDIA_WAIT_POLL);
    }
}


/* decided: the access phase runs again and returns "status" */
static void
ngx_ams_media_wait_release(ngx_ams_media_wait_t *w, ngx_int_t status)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r = w->request;

    ngx_queue_remove(&w->queue);
    w->queued = 0;
    w->status = status;

    c = r->connection;

    r->main->count--;
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


static void
ngx_ams_media_wait_cleanup(void *data)
{
    ngx_ams_media_wait_t  *w = data;

    if (w->queued) {
        ngx_queue_remove(&w->queue);
        w->queued = 0;
    }
}


/*
 * A segment sent while it is written: the response's header now (200, no
 * length: chunked), then the bytes of its whole parts as they come.
 * NGX_OK, or a status when nothing could be sent.
 */
static ngx_int_t
ngx_ams_media_wait_stream_start(ngx_ams_media_wait_t *w)
{
    size_t                     root;
    ngx_int_t                  rc;
    ngx_str_t                  path;
    ngx_file_t                *file;
    ngx_pool_cleanup_t        *cln;
    ngx_pool_cleanup_file_t   *clnf;
    ngx_http_request_t        *r = w->request;

    if (ngx_http_map_uri_to_path(r, &path, &root, 0) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    file = ngx_pcalloc(r->pool, sizeof(ngx_file_t));
    cln = ngx_pool_cleanup_add(r->pool, sizeof(ngx_pool_cleanup_file_t));
    if (file == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    file->fd = ngx_open_file(path.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file->fd == NGX_INVALID_FILE) {
        return NGX_HTTP_NOT_FOUND;
    }

    file->name.data = path.data;
    file->name.len = ngx_strlen(path.data);
    file->log = r->connection->log;

    cln->handler = ngx_pool_cleanup_file;
    clnf = cln->data;
    clnf->fd = file->fd;
    clnf->name = path.data;
    clnf->log = r->pool->log;

    w->file = file;
    w->sent = 0;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = -1;
    r->allow_ranges = 0;

    if (ngx_http_set_content_type(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK) {
        return rc == NGX_ERROR ? NGX_HTTP_INTERNAL_SERVER_ERROR : rc;
    }

    /* from here on the response is ours, ended by the next tick at the
     * earliest (never here: the access phase may be running) */
    w->streaming = 1;
    r->write_event_handler = ngx_ams_media_wait_stream_write;

    if (!r->header_only
        && ngx_ams_media_wait_stream_send(w, 0) == NGX_ERROR)
    {
        w->failed = 1;
    }

    return NGX_OK;
}


static void
ngx_ams_media_wait_stream_tick(ngx_ams_media_wait_t *w)
{
    ngx_int_t            rc;
    ngx_uint_t           last;
    ngx_file_info_t      fi;
    ngx_ams_stream_t    *st = w->stream;
    ngx_ams_ll_state_t   ll;

    if (w->failed) {
        ngx_ams_media_wait_stream_end(w, NGX_ERROR);
        return;
    }

    if (w->request->header_only) {
        ngx_ams_media_wait_stream_end(w, ngx_http_send_special(w->request,
                                                               NGX_HTTP_LAST));
        return;
    }

    last = 1;

    if (st->generation == w->generation
        && st->state != NGX_AMS_STREAM_FREE
        && ngx_ams_ll_read(&st->ll, &ll) == 0
        && ll.generation == w->generation && !ll.ended
        && ll.track[w->track].seq == w->seq)
    {
        last = 0;
        w->avail = (off_t) ll.track[w->track].bytes;
    }

    if (last) {
        /* whole (or its stream gone): what the file holds */
        if (ngx_fd_info(w->file->fd, &fi) == NGX_FILE_ERROR) {
            ngx_ams_media_wait_stream_end(w, NGX_ERROR);
            return;
        }

        w->avail = ngx_file_size(&fi);

    } else if ((ngx_msec_int_t) (ngx_current_msec - w->deadline) >= 0
               && w->avail == w->sent)
    {
        /* the stream stalled: the response is cut short */
        ngx_ams_media_wait_stream_end(w, NGX_ERROR);
        return;
    }

    if (w->avail == w->sent && !last) {
        return;
    }

    rc = ngx_ams_media_wait_stream_send(w, last);

    if (rc == NGX_ERROR || last) {
        ngx_ams_media_wait_stream_end(w, rc);
        return;
    }

    /* a part came: the stall deadline moves on */
    w->deadline = ngx_current_msec + 3000;
}


static ngx_int_t
ngx_ams_media_wait_stream_send(ngx_ams_media_wait_t *w, ngx_uint_t last)
{
    ngx_buf_t           *b;
    ngx_chain_t          out;
    ngx_http_request_t  *r = w->request;

    if (w->avail <= w->sent && !last) {
        return NGX_OK;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    if (w->avail > w->sent) {
        b->in_file = 1;
        b->file = w->file;
        b->file_pos = w->sent;
        b->file_last = w->avail;
        w->sent = w->avail;
    }

    b->flush = 1;
    b->last_buf = last;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* the client can take more of what is queued */
static void
ngx_ams_media_wait_stream_write(ngx_http_request_t *r)
{
    ngx_connection_t  *c = r->connection;

    if (c->write->timedout) {
        c->timedout = 1;
        ngx_http_finalize_request(r, NGX_ERROR);
        return;
    }

    if (ngx_http_output_filter(r, NULL) == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_ERROR);
    }
}


static void
ngx_ams_media_wait_stream_end(ngx_ams_media_wait_t *w, ngx_int_t rc)
{
    ngx_connection_t    *c;
    ngx_http_request_t  *r = w->request;

    if (w->queued) {
        ngx_queue_remove(&w->queue);
        w->queued = 0;
    }

    w->streaming = 0;
    c = r->connection;

    r->main->count--;
    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}
