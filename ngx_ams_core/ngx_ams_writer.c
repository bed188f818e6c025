
/*
 * Copyright (C) nginx-ams authors
 *
 * Writers on other threads: the glue between a stream's hand-off queue
 * (ngx_ams_handoff.c, filled by an encoder task, a libsrt thread, ...) and
 * the bus, which only the event loop writes.
 *
 * Each worker has one eventfd of its own (nginx's notify belongs to the
 * thread pool).  A producer that makes its queue non-empty writes to it
 * once; the loop then drains every queue of the worker into the bus.  A
 * queue drained only in part (a burst larger than one pass) is drained
 * again from a posted event, so one stream's burst never holds up others
 * for long.  End-of-stream unpublishes the stream.
 *
 * The producer holds only the queue (ngx_ams_writer_queue()): the loop
 * may give the writer up at any time (ngx_ams_writer_close()), after
 * which the producer's pushes return NGX_AMS_HANDOFF_CLOSED, and the
 * queue lives until the producer's ngx_ams_handoff_end().  The writer's
 * owner on the loop holds it until ngx_ams_writer_close() or its "done"
 * handler (the producer ended and the stream was unpublished), whichever
 * comes first.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <sys/eventfd.h>

#include "ngx_ams_core.h"
#include "ngx_ams_handoff.h"


#define NGX_AMS_WRITER_PASS   256     /* messages per queue and pass */


struct ngx_ams_writer_s {
    ngx_ams_handoff_t        *queue;
    ngx_ams_stream_t         *stream;
    ngx_ams_writer_done_pt    done;
    void                     *data;
    ngx_log_t                *log;
    ngx_queue_t               link;
    uint64_t                  dropped;       /* already counted */
};


static void ngx_ams_writer_notify(void *data);
static void ngx_ams_writer_wake(ngx_event_t *ev);
static int ngx_ams_writer_put(void *data, const ngx_ams_handoff_msg_t *msg);
static void ngx_ams_writer_count(ngx_ams_writer_t *wr);
static void ngx_ams_writer_free(ngx_ams_writer_t *wr);


static ngx_connection_t  *ngx_ams_writer_conn;
static ngx_event_t        ngx_ams_writer_again;
static ngx_queue_t        ngx_ams_writers;
static ngx_socket_t       ngx_ams_writer_fd = -1;


/* Context: the event loop, the first time a worker needs it */

static ngx_int_t
ngx_ams_writer_init(ngx_log_t *log)
{
    ngx_connection_t  *c;

    if (ngx_ams_writer_conn) {
        return NGX_OK;
    }

    ngx_ams_writer_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ngx_ams_writer_fd == -1) {
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "ams writer: eventfd() failed");
        return NGX_ERROR;
    }

    c = ngx_get_connection(ngx_ams_writer_fd, log);
    if (c == NULL) {
        close(ngx_ams_writer_fd);
        ngx_ams_writer_fd = -1;
        return NGX_ERROR;
    }

    /* the worker's own descriptor, as nginx's channel is: no client's, so
     * an exiting worker neither closes it as one nor reports it left
     * open ("open socket left in connection") */
    c->read->channel = 1;

    c->read->handler = ngx_ams_writer_wake;
    c->read->log = ngx_cycle->log;
    c->write->log = ngx_cycle->log;

    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_close_connection(c);
        ngx_ams_writer_fd = -1;
        return NGX_ERROR;
    }

    ngx_ams_writer_again.handler = ngx_ams_writer_wake;
    ngx_ams_writer_again.log = ngx_cycle->log;

    ngx_queue_init(&ngx_ams_writers);
    ngx_ams_writer_conn = c;

    return NGX_OK;
}


ngx_ams_writer_t *
ngx_ams_writer_create(ngx_ams_stream_t *st, size_t capacity,
    ngx_ams_writer_done_pt done, void *data, ngx_log_t *log)
{
    ngx_ams_writer_t  *wr;

    if (ngx_ams_writer_init(log) != NGX_OK) {
        return NULL;
    }

    wr = ngx_calloc(sizeof(ngx_ams_writer_t), log);
    if (wr == NULL) {
        return NULL;
    }

    wr->queue = ngx_ams_handoff_create(capacity, 0, ngx_ams_writer_notify,
                                       NULL);
    if (wr->queue == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "ams writer: cannot make a %uz byte hand-off", capacity);
        ngx_free(wr);
        return NULL;
    }

    wr->stream = st;
    wr->done = done;
    wr->data = data;
    wr->log = ngx_cycle->log;
    ngx_queue_insert_tail(&ngx_ams_writers, &wr->link);

    return wr;
}


ngx_ams_handoff_t *
ngx_ams_writer_queue(ngx_ams_writer_t *wr)
{
    return wr->queue;
}


/* Context: the producer's thread */

static void
ngx_ams_writer_notify(void *data)
{
    uint64_t  one = 1;

    /* a full counter still wakes the loop: nothing to do on EAGAIN */
    (void) write(ngx_ams_writer_fd, &one, sizeof(one));
}


/* Context: the event loop */

static void
ngx_ams_writer_wake(ngx_event_t *ev)
{
    int                rc;
    uint64_t           n;
    ngx_uint_t         again;
    ngx_queue_t       *q, *next;
    ngx_ams_writer_t  *wr;

    if (ev != &ngx_ams_writer_again) {
        (void) read(ngx_ams_writer_fd, &n, sizeof(n));
    }

    again = 0;

    for (q = ngx_queue_head(&ngx_ams_writers);
         q != ngx_queue_sentinel(&ngx_ams_writers);
         q = next)
    {
        next = ngx_queue_next(q);
        wr = ngx_queue_data(q, ngx_ams_writer_t, link);

        rc = ngx_ams_handoff_drain(wr->queue, ngx_ams_writer_put, wr,
                                   NGX_AMS_WRITER_PASS);

        ngx_ams_writer_count(wr);

        if (rc == NGX_AMS_HANDOFF_AGAIN) {
            again = 1;

        } else if (rc == NGX_AMS_HANDOFF_END) {
            /* the producer is done: so is the stream, and its owner must
             * forget the writer */
            ngx_ams_bus_unpublish(wr->stream, wr->log);

            if (wr->done) {
                wr->done(wr->data);
            }

            ngx_ams_writer_free(wr);
        }
    }

    if (again && !ngx_ams_writer_again.posted) {
        ngx_post_event(&ngx_ams_writer_again, &ngx_posted_events);
    }
}


static int
ngx_ams_writer_put(void *data, const ngx_ams_handoff_msg_t *msg)
{
    ngx_ams_frame_t    frame;
    ngx_ams_writer_t  *wr = data;

    switch (msg->kind) {

    case NGX_AMS_HANDOFF_CONFIG:
        ngx_ams_bus_set_config(wr->stream, msg->track, msg->codec, msg->data,
                               msg->len);
        break;

    case NGX_AMS_HANDOFF_FRAME:
        frame = msg->frame;
        frame.size = msg->len;
        (void) ngx_ams_bus_write(wr->stream, &frame, msg->data);
        break;

    default:
        break;
    }

    return 0;
}


/* frames the producer could not queue join the stream's own count */

static void
ngx_ams_writer_count(ngx_ams_writer_t *wr)
{
    ngx_ams_handoff_stats_t  stats;

    ngx_ams_handoff_stats(wr->queue, &stats);

    if (stats.frames_dropped != wr->dropped) {
        (void) ngx_atomic_fetch_add(&wr->stream->dropped,
                                    stats.frames_dropped - wr->dropped);
        wr->dropped = stats.frames_dropped;
    }
}


/* the loop gives up a stream (its source was asked to stop): the
 * producer's next push says NGX_AMS_HANDOFF_CLOSED, and it still calls
 * end() */

void
ngx_ams_writer_close(ngx_ams_writer_t *wr)
{
    ngx_ams_bus_unpublish(wr->stream, wr->log);
    ngx_ams_writer_free(wr);
}


static void
ngx_ams_writer_free(ngx_ams_writer_t *wr)
{
    ngx_queue_remove(&wr->link);
    ngx_ams_handoff_destroy(wr->queue);
    ngx_free(wr);
}
