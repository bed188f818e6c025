
/*
 * Copyright (C) nginx-ams authors
 *
 * An RTMP player: a batched bus reader.  It waits for the stream to be
 * published (the bus opens it then), joins at the last keyframe, and is
 * fed from shared memory by the pump while its unsent backlog stays under
 * ams_rtmp_out_queue, so a slow player falls behind in the ring, not in
 * memory.  Codec configuration arrives as events before the frames that
 * need it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_ams_rtmp_session.h"
#include "ngx_ams_flv.h"


static ngx_uint_t ngx_ams_rtmp_play_wait(ngx_ams_rtmp_session_t *rs);
static void ngx_ams_rtmp_play_open(ngx_ams_rtmp_session_t *rs);
static void ngx_ams_rtmp_reader_handler(ngx_ams_reader_t *rd);
static void ngx_ams_rtmp_send_config(ngx_ams_rtmp_session_t *rs,
    ngx_ams_bus_event_t *ev);


void
ngx_ams_rtmp_play_init(ngx_ams_rtmp_session_t *rs)
{
    rs->reader.latency = NGX_AMS_LATENCY_BATCHED;
    rs->reader.handler = ngx_ams_rtmp_reader_handler;
    rs->reader.data = rs;
}


void
ngx_ams_rtmp_play_start(ngx_ams_rtmp_session_t *rs)
{
    static u_char  access[] = {
        0x02, 0x00, 0x11, '|', 'R', 't', 'm', 'p', 'S', 'a', 'm', 'p', 'l',
        'e', 'A', 'c', 'c', 'e', 's', 's', 0x01, 0x01, 0x01, 0x01
    };

    ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                  "ams rtmp: play \"%V/%V\"", &rs->app->name, &rs->name);

    ngx_ams_rtmp_send_user(rs, NGX_AMS_USER_STREAM_BEGIN, NGX_AMS_RTMP_MSID);
    ngx_ams_rtmp_send_status(rs, "status", "NetStream.Play.Reset",
                             "Playing and resetting");
    ngx_ams_rtmp_send_status(rs, "status", "NetStream.Play.Start",
                             "Start playing");
    ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_STATUS, 0, NGX_AMS_RTMP_MSG_AMF_DATA,
                       NGX_AMS_RTMP_MSID, access, sizeof(access), NULL, 0);

    if (ngx_ams_rtmp_play_wait(rs)) {
        ngx_ams_rtmp_pump(rs);
    }
}


/* until the stream is live the player waits, as with nginx-rtmp; the bus
 * opens the reader when it is published.  1: it is live already (the
 * caller pumps) */

static ngx_uint_t
ngx_ams_rtmp_play_wait(ngx_ams_rtmp_session_t *rs)
{
    rs->waiting = 1;

    if (ngx_ams_reader_wait(&rs->reader, &rs->app->name, &rs->name,
                            rs->connection->log)
        != NGX_OK)
    {
        return 0;
    }

    ngx_ams_rtmp_play_open(rs);

    return 1;
}


static void
ngx_ams_rtmp_play_open(ngx_ams_rtmp_session_t *rs)
{
    rs->waiting = 0;
    rs->playing = 1;

    /* a node that pulls counts its own viewers */
    if (!rs->cluster_pull) {
        (void) ngx_atomic_fetch_add(&rs->reader.stream->rtmp_viewers, 1);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_STREAM, rs->connection->log, 0,
                   "ams rtmp: player joined \"%V\", %uL frames behind",
                   &rs->name, ngx_ams_reader_backlog(&rs->reader));
}


/* Context: the bus woke this worker (news, or the stream was published),
 * or the player's socket drained */

static void
ngx_ams_rtmp_reader_handler(ngx_ams_reader_t *rd)
{
    ngx_ams_rtmp_session_t  *rs = rd->data;

    if (rs->waiting) {
        ngx_ams_rtmp_play_open(rs);
    }

    ngx_ams_rtmp_pump(rs);
}


void
ngx_ams_rtmp_pump(ngx_ams_rtmp_session_t *rs)
{
    size_t               mark;
    uint32_t             ts;
    ngx_ams_bus_event_t  ev;
    u_char               head[5];

    if (!rs->playing || rs->closing) {
        return;
    }

    while (rs->out_last - rs->out_pos < rs->conf->out_queue) {

        if (ngx_ams_reader_peek(&rs->reader, &ev) != NGX_OK) {
            break;
        }

        if (ev.type == NGX_AMS_EVENT_END) {
            ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                          "ams rtmp: \"%V\" ended for this player after %uL "
                          "frames", &rs->name, rs->played_frames);

            ngx_ams_rtmp_play_stop(rs);
            ngx_ams_rtmp_send_user(rs, NGX_AMS_USER_STREAM_EOF,
                                   NGX_AMS_RTMP_MSID);
            ngx_ams_rtmp_send_status(rs, "status",
                                     "NetStream.Play.UnpublishNotify",
                                     "Stream is now unpublished");

            /* stay for a republish, as nginx-rtmp players do; one may
             * be live already: go on with it in this same loop */
            if (ngx_ams_rtmp_play_wait(rs)) {
                continue;
            }

            break;
        }

        if (ev.type == NGX_AMS_EVENT_SKIP) {
            rs->dropped_frames += ev.dropped;
            rs->skips++;
            continue;
        }

        /* FLV has no Opus: the player gets the video alone (the track's
         * configuration said so in the log, once) */
        if (ev.track == NGX_AMS_TRACK_AUDIO
            && ev.codec == NGX_AMS_CODEC_OPUS)
        {
            if (ev.type == NGX_AMS_EVENT_CONFIG) {
                ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                              "ams rtmp: \"%V\" carries Opus audio, which "
                              "RTMP cannot: this player gets no audio",
                              &rs->name);
            }

            (void) ngx_ams_reader_commit(&rs->reader, &ev);
            continue;
        }

        if (ev.type == NGX_AMS_EVENT_CONFIG) {
            ngx_ams_rtmp_send_config(rs, &ev);
            (void) ngx_ams_reader_commit(&rs->reader, &ev);

            if (rs->closing) {
                return;
            }

            continue;
        }

        mark = rs->out_last;
        ts = (uint32_t) (ev.frame.dts / (NGX_AMS_TIMEBASE / 1000));

        if (ev.track == NGX_AMS_TRACK_VIDEO) {
            ngx_ams_flv_video_header(head, ev.frame.flags & NGX_AMS_FRAME_KEY,
                                     0, ev.frame.cts
                                        / (NGX_AMS_TIMEBASE / 1000));
            ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_VIDEO, ts,
                               NGX_AMS_RTMP_MSG_VIDEO, NGX_AMS_RTMP_MSID,
                               head, 5, ev.data, ev.len);
        } else {
            ngx_ams_flv_audio_header(head, 0);
            ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_AUDIO, ts,
                               NGX_AMS_RTMP_MSG_AUDIO, NGX_AMS_RTMP_MSID,
                               head, 2, ev.data, ev.len);
        }

        if (rs->closing) {
            return;
        }

        if (ngx_ams_reader_commit(&rs->reader, &ev) != NGX_OK) {
            /* overwritten while we copied it: take it back */
            rs->out_last = mark;
            continue;
        }

        rs->played_frames++;
    }

    /* a full socket is no error: the write handler goes on */
    if (ngx_ams_rtmp_flush(rs) == NGX_ERROR) {
        ngx_ams_rtmp_finalize(rs);
    }
}


static void
ngx_ams_rtmp_send_config(ngx_ams_rtmp_session_t *rs, ngx_ams_bus_event_t *ev)
{
    u_char  head[5];

    if (ev->len == 0) {
        return;
    }

    switch (ev->track) {

    case NGX_AMS_TRACK_VIDEO:
        ngx_ams_flv_video_header(head, 1, 1, 0);
        ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_VIDEO, 0, NGX_AMS_RTMP_MSG_VIDEO,
                           NGX_AMS_RTMP_MSID, head, 5, ev->data, ev->len);
        break;

    case NGX_AMS_TRACK_AUDIO:
        ngx_ams_flv_audio_header(head, 1);
        ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_AUDIO, 0, NGX_AMS_RTMP_MSG_AUDIO,
                           NGX_AMS_RTMP_MSID, head, 2, ev->data, ev->len);
        break;

    default:
        ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_STATUS, 0,
                           NGX_AMS_RTMP_MSG_AMF_DATA, NGX_AMS_RTMP_MSID,
                           ev->data, ev->len, NULL, 0);
    }
}


void
ngx_ams_rtmp_play_stop(ngx_ams_rtmp_session_t *rs)
{
    if (rs->playing) {
        rs->playing = 0;

        if (!rs->cluster_pull) {
            (void) ngx_atomic_fetch_add(&rs->reader.stream->rtmp_viewers,
                                        -1);
        }

        if (rs->dropped_frames) {
            ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                          "ams rtmp: player of \"%V\" dropped %uL frames "
                          "in %ui skips", &rs->name,
                          rs->dropped_frames, rs->skips);
        }
    }

    rs->waiting = 0;

    /* an open reader, or one still waiting for its stream */
    ngx_ams_reader_close(&rs->reader);
}
