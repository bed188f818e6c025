
/*
 * Copyright (C) nginx-ams authors
 *
 * An RTMP publisher: its stream in the bus from NetStream.Publish.Start
 * to unpublish, onMetaData and sequence headers as the stream's codec
 * configuration, audio and video messages as frames in its ring
 * (ngx_ams_flv_to_frame() does the conversion).  The writer never waits:
 * readers that fall behind skip in the ring.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_ams_rtmp_session.h"
#include "ngx_ams_flv.h"
#include "ngx_ams_avc.h"
#include "ngx_ams_aac.h"


static int ngx_ams_rtmp_on_config(ngx_ams_rtmp_session_t *rs,
    ngx_ams_frame_t *frame, const uint8_t *data, const char **err);


static void ngx_ams_rtmp_source_stop(ngx_ams_source_t *src);


void
ngx_ams_rtmp_publish_start(ngx_ams_rtmp_session_t *rs)
{
    ngx_int_t  rc;

    rs->source.kind = NGX_AMS_SOURCE_PUBLISHER;
    rs->source.publish_type = "RTMP";
    rs->source.stop = ngx_ams_rtmp_source_stop;
    rs->source.data = rs;
    rs->source.sockaddr = rs->connection->sockaddr;
    rs->source.socklen = rs->connection->socklen;

    rc = ngx_ams_bus_publish(rs->app, &rs->name, &rs->source,
                             rs->connection->log, &rs->stream);

    if (rc == NGX_DECLINED) {
        /* the bus logged the address and its limit */
        ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                      "ams rtmp: publish of \"%V/%V\" refused: too many "
                      "publishers from %V", &rs->app->name, &rs->name,
                      &rs->connection->addr_text);

        if (rs->stream) {
            ngx_ams_bus_unpublish(rs->stream, rs->connection->log);
            rs->stream = NULL;
        }

        ngx_ams_rtmp_send_status(rs, "error", "NetStream.Publish.Failed",
                                 "Too many publishers from your address");
        rs->closing = 1;
        return;
    }

    if (rc == NGX_BUSY) {
        ngx_log_error(NGX_LOG_ERR, rs->connection->log, 0,
                      "ams rtmp: publish refused: \"%V/%V\" is already "
                      "publishing", &rs->app->name, &rs->name);
        ngx_ams_rtmp_send_status(rs, "error", "NetStream.Publish.BadName",
                                 "Stream already publishing");
        rs->closing = 1;
        return;
    }

    if (rc != NGX_OK) {
        if (rs->stream) {
            ngx_ams_bus_unpublish(rs->stream, rs->connection->log);
            rs->stream = NULL;
        }

        ngx_ams_rtmp_send_status(rs, "error", "NetStream.Publish.Failed",
                                 "Cannot publish");
        rs->closing = 1;
        return;
    }

    rs->publishing = 1;
    rs->rate_start = ngx_current_msec;
    rs->rate_bytes = rs->in_bytes;

    /* media may come now: room for it, and a deadline for the first */
    ngx_ams_rtmp_set_limits(rs, 1);
    rs->last_media = ngx_current_msec;
    ngx_ams_rtmp_guard(rs, rs->conf->media_timeout);

    ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                  "ams rtmp: publish \"%V/%V\"", &rs->app->name, &rs->name);

    ngx_ams_rtmp_send_user(rs, NGX_AMS_USER_STREAM_BEGIN, NGX_AMS_RTMP_MSID);
    ngx_ams_rtmp_send_status(rs, "status", "NetStream.Publish.Start",
                             "Start publishing");
}


int
ngx_ams_rtmp_on_data(ngx_ams_rtmp_session_t *rs, const u_char *p, size_t len)
{
    ngx_ams_amf_t         *v, *meta, *w, *h;
    ngx_ams_amf_writer_t   wr;
    u_char                 buf[NGX_AMS_CONFIG_MAX];

    if (!rs->publishing) {
        return 0;
    }

    v = ngx_ams_amf_decode(&ngx_ams_rtmp_arena, p, len);

    if (v == NULL || !ngx_ams_amf_is_string(v)) {
        /* metadata is advisory: a broken one is dropped, not fatal */
        ngx_log_error(NGX_LOG_WARN, rs->connection->log, 0,
                      "ams rtmp: unreadable data message ignored");
        return 0;
    }

    if (v->len == 13 && ngx_strncmp(v->str, "@setDataFrame", 13) == 0) {
        v = v->next;
    }

    if (!ngx_ams_amf_is_string(v) || v->len != 10
        || ngx_strncmp(v->str, "onMetaData", 10) != 0)
    {
        return 0;
    }

    meta = v->next;
    if (meta == NULL) {
        return 0;
    }

    w = ngx_ams_amf_get(meta, "width");
    h = ngx_ams_amf_get(meta, "height");

    if (w && h && w->type == NGX_AMS_AMF_NUMBER
        && h->type == NGX_AMS_AMF_NUMBER && rs->stream->width == 0)
    {
        rs->stream->width = (uint32_t) w->num;
        rs->stream->height = (uint32_t) h->num;
    }

    /* players get "onMetaData" and the publisher's object as they are */
    wr.p = buf;
    wr.end = buf + sizeof(buf);
    wr.overflow = 0;
    ngx_ams_amf_put_cstring(&wr, "onMetaData");

    /* the object starts right after the "onMetaData" string */
    ngx_ams_amf_put_raw(&wr, v->str + v->len,
                        (size_t) (p + len - (v->str + v->len)));

    if (!wr.overflow) {
        ngx_ams_bus_set_config(rs->stream, NGX_AMS_TRACK_DATA, 0, buf,
                               wr.p - buf);
    }

    return 0;
}


int
ngx_ams_rtmp_on_media(ngx_ams_rtmp_session_t *rs, ngx_ams_rtmp_msg_t *msg,
    const char **err)
{
    int               rc;
    const uint8_t    *data;
    ngx_ams_frame_t   frame;

    if (!rs->publishing) {
        *err = "media before publish";
        return -1;
    }

    rs->last_media = ngx_current_msec;

    rc = ngx_ams_flv_to_frame(&rs->flv, msg->type == NGX_AMS_RTMP_MSG_VIDEO,
                              msg->timestamp, msg->data, msg->length, &frame,
                              &data, err);

    switch (rc) {

    case NGX_AMS_FLV_OK:
        break;

    case NGX_AMS_FLV_CONFIG:
        return ngx_ams_rtmp_on_config(rs, &frame, data, err);

    case NGX_AMS_FLV_NO_CONFIG:
        if (!rs->warned_no_config) {
            rs->warned_no_config = 1;
            ngx_log_error(NGX_LOG_WARN, rs->connection->log, 0,
                          "ams rtmp: \"%V\" media before its sequence "
                          "header dropped", &rs->name);
        }
        return 0;

    case NGX_AMS_FLV_SKIP:
        return 0;

    default: /* NGX_AMS_FLV_ERROR */
        return -1;
    }

    if (ngx_ams_bus_write(rs->stream, &frame, data) != NGX_OK) {
        ngx_log_error(NGX_LOG_WARN, rs->connection->log, 0,
                      "ams rtmp: \"%V\" frame of %uD bytes dropped: larger "
                      "than half of stream_buffer", &rs->name, frame.size);
    }

    return 0;
}


/* a sequence header: the track's codec configuration, for the bus */

static int
ngx_ams_rtmp_on_config(ngx_ams_rtmp_session_t *rs, ngx_ams_frame_t *frame,
    const uint8_t *data, const char **err)
{
    ngx_ams_avc_config_t  avc;
    ngx_ams_aac_config_t  aac;

    if (frame->track == NGX_AMS_TRACK_VIDEO) {
        if (ngx_ams_avc_parse_config(data, frame->size, &avc, err) != 0) {
            return -1;
        }

        rs->flv.has_video = 1;
        rs->stream->width = avc.width;
        rs->stream->height = avc.height;

        ngx_ams_bus_set_config(rs->stream, NGX_AMS_TRACK_VIDEO,
                               NGX_AMS_CODEC_H264, data, frame->size);

        ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                      "ams rtmp: \"%V\" video H.264 %uDx%uD",
                      &rs->name, avc.width, avc.height);

        return 0;
    }

    if (ngx_ams_aac_parse_config(data, frame->size, &aac, err) != 0) {
        return -1;
    }

    rs->flv.has_audio = 1;

    ngx_ams_bus_set_config(rs->stream, NGX_AMS_TRACK_AUDIO,
                           NGX_AMS_CODEC_AAC, data, frame->size);

    return 0;
}


/* Context: the publishing worker; a reader asked (REST deleted the
 * broadcast) */

static void
ngx_ams_rtmp_source_stop(ngx_ams_source_t *src)
{
    ngx_ams_rtmp_session_t  *rs = src->data;

    ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                  "ams rtmp: \"%V/%V\" stopped: its broadcast was deleted",
                  &rs->app->name, &rs->name);

    ngx_ams_rtmp_finalize(rs);
}


void
ngx_ams_rtmp_publish_stop(ngx_ams_rtmp_session_t *rs)
{
    if (!rs->publishing) {
        return;
    }

    rs->publishing = 0;

    /* back to commands only: the media buffers go */
    ngx_ams_rtmp_set_limits(rs, 0);

    if (rs->lowat) {
        /* commands that may follow must not wait for company */
        ngx_ams_rtmp_set_lowat(rs, 0);
    }

    ngx_log_error(NGX_LOG_INFO, rs->connection->log, 0,
                  "ams rtmp: unpublish \"%V/%V\", %uA frames",
                  &rs->app->name, &rs->name, rs->stream->frames);

    ngx_ams_bus_unpublish(rs->stream, rs->connection->log);
    rs->stream = NULL;
}
