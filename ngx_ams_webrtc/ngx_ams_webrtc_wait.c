
/*
 * Copyright (C) nginx-ams authors
 *
 * A WebRTC viewer's wait for a stream this node pulls (an edge's relay).
 *
 * An RTMP player waits in the bus for as long as it likes; a WHEP POST or
 * an AMS "play" must answer with an SDP that names the stream's H.264
 * profile and whether its audio needs the Opus transform, which the
 * stream's configuration tells only once the pull has brought it.  So:
 * a stream with frames (or published here, whatever it has) is answered
 * at once; a missing one is handed to the stream-missing chain, and when
 * the chain says someone will publish it (the cluster's relay) the
 * caller waits for the first frame, polling the bus every 50 ms for at
 * most 5 s (a relay publishes its name before it connects: the name
 * alone says nothing yet).  A standalone node's chain declines: 404 at
 * once, as before.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_webrtc_wait.h"


static ngx_uint_t ngx_ams_webrtc_wait_ready(ngx_ams_app_conf_t *app,
    ngx_str_t *name, ngx_uint_t *found);
static void ngx_ams_webrtc_wait_tick(ngx_event_t *ev);


/* 1: playable now; "found": it is in the bus at all */
static ngx_uint_t
ngx_ams_webrtc_wait_ready(ngx_ams_app_conf_t *app, ngx_str_t *name,
    ngx_uint_t *found)
{
    ngx_ams_stream_t  *st;

    st = ngx_ams_bus_find(&app->name, name);

    *found = (st != NULL);

    if (st == NULL) {
        return 0;
    }

    /* a publisher here: as it is (its configuration comes with it);
     * a relay: once its pull has brought configuration and frames */
    return st->source_kind != NGX_AMS_SOURCE_RELAY
           || ngx_atomic_fetch_add(&st->frames, 0) > 0;
}


ngx_int_t
ngx_ams_webrtc_wait_start(ngx_ams_webrtc_wait_t *w, ngx_ams_app_conf_t *app,
    ngx_str_t *name, ngx_log_t *log)
{
    ngx_uint_t  found;

    if (ngx_ams_webrtc_wait_ready(app, name, &found)) {
        return NGX_OK;
    }

    if (!found
        && ngx_ams_stream_missing_handler(app, name, log) != NGX_OK)
    {
        /* nowhere to pull it from */
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_INFO, log, 0,
                  "ams webrtc: \"%V\" is not here yet: waiting for its "
                  "pull", name);

    w->app = app;
    w->name = *name;
    w->started = ngx_current_msec;

    w->timer.handler = ngx_ams_webrtc_wait_tick;
    w->timer.data = w;
    w->timer.log = ngx_cycle->log;
    /* a leaving worker does not wait for it */
    w->timer.cancelable = 1;

    ngx_add_timer(&w->timer, NGX_AMS_WEBRTC_WAIT_POLL);

    return NGX_AGAIN;
}


void
ngx_ams_webrtc_wait_cancel(ngx_ams_webrtc_wait_t *w)
{
    if (w->timer.timer_set) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "ams webrtc: the viewer went before \"%V\" came",
                      &w->name);
        ngx_del_timer(&w->timer);
    }
}


static void
ngx_ams_webrtc_wait_tick(ngx_event_t *ev)
{
    ngx_ams_webrtc_wait_t  *w = ev->data;

    ngx_uint_t  found;

    if (ngx_ams_webrtc_wait_ready(w->app, &w->name, &found)) {
        ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                      "ams webrtc: \"%V\" is here after %M ms", &w->name,
                      ngx_current_msec - w->started);
        w->handler(w, 1);
        return;
    }

    if (ngx_exiting || ngx_terminate
        || ngx_current_msec - w->started >= NGX_AMS_WEBRTC_WAIT_TIMEOUT)
    {
        ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                      "ams webrtc: \"%V\" did not come in %M ms", &w->name,
                      ngx_current_msec - w->started);
        w->handler(w, 0);
        return;
    }

    /* the chain forgets a name nobody asks for: ask again while waiting */
    if (!found) {
        (void) ngx_ams_stream_missing_handler(w->app, &w->name, ev->log);
    }

    ngx_add_timer(&w->timer, NGX_AMS_WEBRTC_WAIT_POLL);
}
