
/*
 * Copyright (C) nginx-ams authors
 *
 * An RTMP player: it waits for the stream to be published, joins its
 * ring at the last keyframe, and is fed from shared memory by the pump
 * while its unsent backlog stays under ams_rtmp_out_queue, so a slow
 * player falls behind in the ring, not in memory.  Codec configuration
 * is sent before the first frame that needs it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_ams_rtmp_session.h"
#include "ngx_ams_flv.h"


#define NGX_AMS_RTMP_WAIT_PERIOD   500


static void ngx_ams_rtmp_wait_handler(ngx_event_t *ev);
static void ngx_ams_rtmp_sub_handler(ngx_ams_sub_t *sub);
static ngx_int_t ngx_ams_rtmp_send_config(ngx_ams_rtmp_session_t *rs,
    ngx_uint_t track);


void
ngx_ams_rtmp_play_init(ngx_ams_rtmp_session_t *rs)
{
    rs->wait.handler = ngx_ams_rtmp_wait_handler;
    rs->wait.data = rs;
    rs->wait.log = rs->connection->log;

    rs->sub.handler = ngx_ams_rtmp_sub_handler;
    rs->sub.data = rs;
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

    /* until the stream is live the player waits, as with nginx-rtmp */
    rs->waiting = 1;
    ngx_ams_rtmp_wait_handler(&rs->wait);
}


static void
ngx_ams_rtmp_wait_handler(ngx_event_t *ev)
{
    ngx_int_t                rc;
    ngx_ams_rtmp_session_t  *rs = ev->data;

    rc = ngx_ams_bus_subscribe(&rs->sub, &rs->app->name, &rs->name,
                               rs->connection->log);

    if (rc == NGX_OK) {
        rs->waiting = 0;
        rs->playing = 1;
        (void) ngx_atomic_fetch_add(&rs->sub.stream->rtmp_viewers, 1);
        ngx_memzero(rs->sent_config, sizeof(rs->sent_config));

        ngx_log_debug2(NGX_LOG_DEBUG_STREAM, rs->connection->log, 0,
                       "ams rtmp: player joined \"%V\" at frame %uL",
                       &rs->name, rs->sub.reader.next_seq);

        ngx_ams_rtmp_pump(rs);
        return;
    }

    ngx_add_timer(&rs->wait, NGX_AMS_RTMP_WAIT_PERIOD);
}


/* Context: the bus woke this worker, or the player's socket drained */

static void
ngx_ams_rtmp_sub_handler(ngx_ams_sub_t *sub)
{
    ngx_ams_rtmp_session_t  *rs = sub->data;

    ngx_ams_rtmp_pump(rs);
}


void
ngx_ams_rtmp_pump(ngx_ams_rtmp_session_t *rs)
{
    int                 rc;
    size_t              mark;
    uint32_t            ts;
    ngx_ams_ring_t     *ring;
    ngx_ams_frame_t     frame;
    const uint8_t      *data;
    u_char              head[5];

    if (!rs->playing || rs->closing) {
        return;
    }

    ring = rs->sub.stream->ring;

    while (rs->out_last - rs->out_pos < rs->conf->out_queue) {

        if (ngx_ams_ring_config_version(ring, NGX_AMS_TRACK_DATA)
            != rs->sent_config[NGX_AMS_TRACK_DATA])
        {
            if (ngx_ams_rtmp_send_config(rs, NGX_AMS_TRACK_DATA) != NGX_OK) {
                break;
            }
        }

        rc = ngx_ams_ring_peek(ring, &rs->sub.reader, &frame, &data);

        if (rc == NGX_AMS_RING_SKIPPED) {
            continue;
        }

        if (rc != NGX_AMS_RING_OK) {
            break;
        }

        if (frame.config_version != rs->sent_config[frame.track]) {
            if (ngx_ams_rtmp_send_config(rs, frame.track) != NGX_OK) {
                break;
            }
        }

        mark = rs->out_last;
        ts = (uint32_t) (frame.dts / (NGX_AMS_TIMEBASE / 1000));

        if (frame.track == NGX_AMS_TRACK_VIDEO) {
            ngx_ams_flv_video_header(head, frame.flags & NGX_AMS_FRAME_KEY, 0,
                                     frame.cts / (NGX_AMS_TIMEBASE / 1000));
            ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_VIDEO, ts,
                               NGX_AMS_RTMP_MSG_VIDEO, NGX_AMS_RTMP_MSID,
                               head, 5, data, frame.size);
        } else {
            ngx_ams_flv_audio_header(head, 0);
            ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_AUDIO, ts,
                               NGX_AMS_RTMP_MSG_AUDIO, NGX_AMS_RTMP_MSID,
                               head, 2, data, frame.size);
        }

        if (rs->closing) {
            return;
        }

        if (!ngx_ams_ring_intact(ring, &frame)) {
            /* overwritten while we copied it: take it back and skip */
            rs->out_last = mark;
            continue;
        }

        rs->sub.reader.next_seq = frame.seq + 1;
        rs->played_frames++;
    }

    if (ngx_ams_bus_sub_ended(&rs->sub)
        && !ngx_ams_ring_has_news(ring, &rs->sub.reader))
    {
        ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                      "ams rtmp: \"%V\" ended for this player after %uL "
                      "frames", &rs->name, rs->played_frames);

        ngx_ams_rtmp_play_stop(rs);
        ngx_ams_rtmp_send_user(rs, NGX_AMS_USER_STREAM_EOF,
                               NGX_AMS_RTMP_MSID);
        ngx_ams_rtmp_send_status(rs, "status",
                                 "NetStream.Play.UnpublishNotify",
                                 "Stream is now unpublished");

        /* stay for a republish, as nginx-rtmp players do */
        rs->waiting = 1;
        ngx_add_timer(&rs->wait, NGX_AMS_RTMP_WAIT_PERIOD);
    }

    if (ngx_ams_rtmp_flush(rs) != NGX_OK) {
        ngx_ams_rtmp_finalize(rs);
    }
}


static ngx_int_t
ngx_ams_rtmp_send_config(ngx_ams_rtmp_session_t *rs, ngx_uint_t track)
{
    uint32_t   codec, len, version;
    u_char     head[5];
    u_char     buf[NGX_AMS_CONFIG_MAX];

    if (ngx_ams_ring_get_config(rs->sub.stream->ring, track, &codec, buf,
                                &len, &version)
        != NGX_AMS_RING_OK)
    {
        return NGX_AGAIN;
    }

    rs->sent_config[track] = version;

    if (len == 0) {
        return NGX_OK;
    }

    switch (track) {

    case NGX_AMS_TRACK_VIDEO:
        ngx_ams_flv_video_header(head, 1, 1, 0);
        ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_VIDEO, 0, NGX_AMS_RTMP_MSG_VIDEO,
                           NGX_AMS_RTMP_MSID, head, 5, buf, len);
        break;

    case NGX_AMS_TRACK_AUDIO:
        ngx_ams_flv_audio_header(head, 1);
        ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_AUDIO, 0, NGX_AMS_RTMP_MSG_AUDIO,
                           NGX_AMS_RTMP_MSID, head, 2, buf, len);
        break;

    default:
        ngx_ams_rtmp_queue(rs, NGX_AMS_CSID_STATUS, 0,
                           NGX_AMS_RTMP_MSG_AMF_DATA, NGX_AMS_RTMP_MSID,
                           buf, len, NULL, 0);
    }

    return rs->closing ? NGX_ERROR : NGX_OK;
}


void
ngx_ams_rtmp_play_stop(ngx_ams_rtmp_session_t *rs)
{
    if (rs->playing) {
        rs->playing = 0;
        (void) ngx_atomic_fetch_add(&rs->sub.stream->rtmp_viewers, -1);
        ngx_ams_bus_unsubscribe(&rs->sub);

        if (rs->sub.reader.dropped) {
            ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                          "ams rtmp: player of \"%V\" dropped %uL frames "
                          "in %uL skips", &rs->name,
                          rs->sub.reader.dropped, rs->sub.reader.skips);
        }
    }

    if (rs->waiting) {
        rs->waiting = 0;
    }

    if (rs->wait.timer_set) {
        ngx_del_timer(&rs->wait);
    }
}
