
/*
 * Copyright (C) nginx-ams authors
 *
 * A WebRTC viewer's video moved between the original and the rungs
 * (AMS's forceStreamQuality, WHEP's ?streamHeight, or the automatic
 * choice of ngx_ams_rung.c from the viewer's REMB and loss).
 *
 * Play's reader (the original, or its Opus companion) keeps running:
 * its audio always goes out, its video only while the original is the
 * current source.  A rung is read by a second reader of this file.  A
 * switch opens a reader on the target (and asks it for a keyframe);
 * the current source goes on until its own next keyframe, where it
 * holds, and the target takes over at its first IDR later than the
 * last picture sent: the rungs' IDRs are the source's, with the same
 * pts, so the picture goes on where it stopped, with the target's
 * SPS/PPS before it, on the same SSRC, sequence and RTP clock.  No IDR
 * within NGX_AMS_WEBRTC_RUNG_SWITCH_WAIT: the current source resumes at
 * its next keyframe.  A reader given up is closed from a posted event,
 * never inside a reader's callback.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_rung.h"
#include "ngx_ams_rung.h"


#define NGX_AMS_WEBRTC_RUNG_SLOTS   3        /* current, target, closing */
#define NGX_AMS_WEBRTC_RUNG_MAIN    -1       /* play's own reader */
#define NGX_AMS_WEBRTC_RUNG_NONE    -2
/* the rung list is looked up again at most this often (automatic) */
#define NGX_AMS_WEBRTC_RUNG_RELIST  2000     /* ms */


typedef struct {
    ngx_ams_webrtc_rung_t          *rung;
    ngx_ams_reader_t                reader;
    ngx_str_t                       name;
    u_char                          name_data[NGX_AMS_NAME_LEN];
    ngx_uint_t                      height;
    u_char                          avcc[NGX_AMS_CONFIG_MAX];
    ngx_ams_avc_config_t            avc;
    unsigned                        used:1;
    unsigned                        closing:1;
} ngx_ams_webrtc_rung_slot_t;


struct ngx_ams_webrtc_rung_s {
    ngx_ams_webrtc_session_t       *session;
    ngx_ams_webrtc_rung_send_pt     send;
    ngx_ams_webrtc_rung_slot_t      slot[NGX_AMS_WEBRTC_RUNG_SLOTS];
    ngx_int_t                       cur;      /* a slot or MAIN */
    ngx_int_t                       next;     /* a slot, MAIN or NONE */
    ngx_uint_t                      height;   /* asked for, 0: automatic */

    int64_t                         last_pts; /* the last picture sent */

    /* the original's measured video rate, for the automatic choice */
    uint64_t                        main_bytes;
    ngx_msec_t                      main_since;
    uint64_t                        main_rate;

    ngx_ams_rung_chooser_t          chooser;
    ngx_ams_webrtc_rung_info_t      list[NGX_AMS_WEBRTC_RUNG_LIST_MAX];
    ngx_uint_t                      nlist;
    ngx_msec_t                      listed;
    uint64_t                        remb;

    ngx_event_t                     timer;    /* the switch's deadline */
    ngx_event_t                     reap;     /* closes given-up readers */

    unsigned                        connected:1;
    unsigned                        sent:1;   /* last_pts is set */
    unsigned                        held:1;   /* current waits at a key */
    unsigned                        need_key:1;
    unsigned                        chooser_ready:1;
    unsigned                        listed_ever:1;
};


typedef struct {
    ngx_str_t                      *app;
    ngx_str_t                      *id;
    ngx_ams_webrtc_rung_info_t     *list;
    ngx_uint_t                      n;
    ngx_uint_t                      max;
} ngx_ams_webrtc_rung_each_t;


static void ngx_ams_webrtc_rung_each(ngx_ams_stream_t *st, void *data);
static ngx_int_t ngx_ams_webrtc_rung_switch(ngx_ams_webrtc_rung_t *r,
    ngx_ams_webrtc_rung_info_t *to);
static void ngx_ams_webrtc_rung_give_up(ngx_ams_webrtc_rung_t *r,
    ngx_int_t i);
static ngx_uint_t ngx_ams_webrtc_rung_video(ngx_ams_webrtc_rung_t *r,
    ngx_int_t src, ngx_ams_bus_event_t *ev);
static void ngx_ams_webrtc_rung_handler(ngx_ams_reader_t *rd);
static void ngx_ams_webrtc_rung_config(ngx_ams_webrtc_rung_slot_t *sl,
    ngx_ams_bus_event_t *ev);
static void ngx_ams_webrtc_rung_expired(ngx_event_t *ev);
static void ngx_ams_webrtc_rung_reap(ngx_event_t *ev);
static ngx_uint_t ngx_ams_webrtc_rung_original_height(
    ngx_ams_webrtc_rung_t *r);


ngx_uint_t
ngx_ams_webrtc_rung_list(ngx_str_t *app, ngx_str_t *id,
    ngx_ams_webrtc_rung_info_t *list, ngx_uint_t max)
{
    ngx_uint_t                   i, j;
    ngx_ams_webrtc_rung_info_t   t;
    ngx_ams_webrtc_rung_each_t   e;

    e.app = app;
    e.id = id;
    e.list = list;
    e.n = 0;
    e.max = max;

    ngx_ams_bus_each(ngx_ams_webrtc_rung_each, &e);

    /* tallest first, then the higher rate */
    for (i = 1; i < e.n; i++) {
        for (j = i; j > 0; j--) {
            if (list[j].height < list[j - 1].height
                || (list[j].height == list[j - 1].height
                    && list[j].kbps <= list[j - 1].kbps))
            {
                break;
            }

            t = list[j];
            list[j] = list[j - 1];
            list[j - 1] = t;
        }
    }

    for (i = 0; i < e.n; i++) {
        list[i].name.data = list[i].name_data;
    }

    return e.n;
}


/* Context: under the bus's registry lock */

static void
ngx_ams_webrtc_rung_each(ngx_ams_stream_t *st, void *data)
{
    unsigned                     height, kbps;
    ngx_ams_webrtc_rung_info_t  *ri;
    ngx_ams_webrtc_rung_each_t  *e = data;

    if (e->n == e->max || st->source_kind != NGX_AMS_SOURCE_RENDITION
        || st->app_len != e->app->len
        || ngx_memcmp(st->app, e->app->data, st->app_len) != 0
        || st->parent_len != e->id->len
        || ngx_memcmp(st->parent, e->id->data, st->parent_len) != 0
        || ngx_ams_rung_parse_name(st->name, st->name_len, e->id->data,
                                   e->id->len, &height, &kbps)
           != 0)
    {
        return;
    }

    ri = &e->list[e->n++];
    ri->height = height;
    ri->width = st->width;
    ri->kbps = kbps;
    ri->name.len = st->name_len;
    ngx_memcpy(ri->name_data, st->name, st->name_len);
}


ngx_ams_webrtc_rung_t *
ngx_ams_webrtc_rung_create(ngx_ams_webrtc_session_t *s,
    ngx_ams_webrtc_rung_send_pt send)
{
    ngx_uint_t              i;
    ngx_ams_webrtc_rung_t  *r;

    r = ngx_pcalloc(s->pool, sizeof(ngx_ams_webrtc_rung_t));
    if (r == NULL) {
        return NULL;
    }

    r->session = s;
    r->send = send;
    r->cur = NGX_AMS_WEBRTC_RUNG_MAIN;
    r->next = NGX_AMS_WEBRTC_RUNG_NONE;
    r->height = s->stream_height;

    for (i = 0; i < NGX_AMS_WEBRTC_RUNG_SLOTS; i++) {
        r->slot[i].rung = r;
        r->slot[i].name.data = r->slot[i].name_data;
        r->slot[i].reader.latency = NGX_AMS_LATENCY_IMMEDIATE;
        r->slot[i].reader.handler = ngx_ams_webrtc_rung_handler;
        r->slot[i].reader.data = &r->slot[i];
    }

    r->timer.handler = ngx_ams_webrtc_rung_expired;
    r->timer.data = r;
    r->timer.log = &s->log;
    r->timer.cancelable = 1;

    r->reap.handler = ngx_ams_webrtc_rung_reap;
    r->reap.data = r;
    r->reap.log = &s->log;

    return r;
}


void
ngx_ams_webrtc_rung_connected(ngx_ams_webrtc_rung_t *r)
{
    r->connected = 1;
    r->main_since = ngx_current_msec;

    if (r->height) {
        (void) ngx_ams_webrtc_rung_select(r, r->height);
    }
}


ngx_int_t
ngx_ams_webrtc_rung_select(ngx_ams_webrtc_rung_t *r, ngx_uint_t height)
{
    ngx_uint_t                   i, n;
    ngx_ams_webrtc_session_t    *s = r->session;
    ngx_ams_webrtc_rung_info_t   list[NGX_AMS_WEBRTC_RUNG_LIST_MAX];

    r->height = height;

    if (!r->connected) {
        return NGX_OK;                      /* applied on connection */
    }

    if (height == 0) {
        /* automatic from the next feedback, from where it stands */
        r->chooser_ready = 0;
        return NGX_OK;
    }

    if (height == ngx_ams_webrtc_rung_original_height(r)) {
        return ngx_ams_webrtc_rung_switch(r, NULL);
    }

    n = ngx_ams_webrtc_rung_list(&s->app_name, &s->stream_id, list,
                                 NGX_AMS_WEBRTC_RUNG_LIST_MAX);

    for (i = 0; i < n; i++) {
        if (list[i].height == height) {
            return ngx_ams_webrtc_rung_switch(r, &list[i]);
        }
    }

    ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                  "ams webrtc: session %s: no %ui p rung of \"%V\"",
                  s->id, height, &s->stream_id);

    return NGX_DECLINED;
}


static ngx_uint_t
ngx_ams_webrtc_rung_original_height(ngx_ams_webrtc_rung_t *r)
{
    ngx_ams_stream_t  *st;

    st = ngx_ams_bus_find(&r->session->app_name, &r->session->stream_id);

    return st ? st->height : 0;
}


/* start moving to "to" (NULL: the original) */

static ngx_int_t
ngx_ams_webrtc_rung_switch(ngx_ams_webrtc_rung_t *r,
    ngx_ams_webrtc_rung_info_t *to)
{
    ngx_int_t                    i;
    ngx_ams_webrtc_rung_slot_t  *sl;
    ngx_ams_webrtc_session_t    *s = r->session;

    /* there already, or on the way */
    if (to == NULL) {
        if (r->next == NGX_AMS_WEBRTC_RUNG_MAIN
            || (r->cur == NGX_AMS_WEBRTC_RUNG_MAIN
                && r->next == NGX_AMS_WEBRTC_RUNG_NONE))
        {
            return NGX_OK;
        }

    } else {
        for (i = 0; i < NGX_AMS_WEBRTC_RUNG_SLOTS; i++) {
            sl = &r->slot[i];

            if ((i == r->cur || i == r->next) && sl->name.len == to->name.len
                && ngx_memcmp(sl->name.data, to->name.data, sl->name.len)
                   == 0)
            {
                if (i == r->cur && r->next != NGX_AMS_WEBRTC_RUNG_NONE) {
                    /* back to where it is: the switch is off */
                    ngx_ams_webrtc_rung_give_up(r, r->next);
                }

                return NGX_OK;
            }
        }
    }

    if (r->next != NGX_AMS_WEBRTC_RUNG_NONE) {
        ngx_ams_webrtc_rung_give_up(r, r->next);
    }

    if (to == NULL) {
        r->next = NGX_AMS_WEBRTC_RUNG_MAIN;

    } else {
        for (i = 0; i < NGX_AMS_WEBRTC_RUNG_SLOTS; i++) {
            if (!r->slot[i].used) {
                break;
            }
        }

        if (i == NGX_AMS_WEBRTC_RUNG_SLOTS) {
            return NGX_BUSY;
        }

        sl = &r->slot[i];
        sl->name.len = to->name.len;
        ngx_memcpy(sl->name_data, to->name.data, to->name.len);
        sl->height = to->height;
        ngx_memzero(&sl->avc, sizeof(ngx_ams_avc_config_t));

        if (ngx_ams_reader_open(&sl->reader, &s->app_name, &sl->name,
                                &s->log)
            != NGX_OK)
        {
            return NGX_DECLINED;
        }

        sl->used = 1;
        r->next = i;

        (void) ngx_ams_reader_request(&sl->reader, NGX_AMS_REQUEST_KEYFRAME);
    }

    ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                  "ams webrtc: session %s switches to \"%V\"", s->id,
                  to ? &to->name : &s->stream_id);

    if (r->timer.timer_set) {
        ngx_del_timer(&r->timer);
    }

    ngx_add_timer(&r->timer, NGX_AMS_WEBRTC_RUNG_SWITCH_WAIT);

    return NGX_OK;
}


/* slot i (or MAIN) is no longer wanted: its reader goes from an event */

static void
ngx_ams_webrtc_rung_give_up(ngx_ams_webrtc_rung_t *r, ngx_int_t i)
{
    if (i == r->next) {
        r->next = NGX_AMS_WEBRTC_RUNG_NONE;

        if (r->timer.timer_set) {
            ngx_del_timer(&r->timer);
        }

        if (r->held) {
            /* the current source stopped at a keyframe: its next one */
            r->held = 0;
            r->need_key = 1;
            (void) ngx_ams_webrtc_rung_keyframe(r);
        }
    }

    if (i < 0) {
        return;
    }

    r->slot[i].closing = 1;

    if (!r->reap.posted) {
        ngx_post_event(&r->reap, &ngx_posted_events);
    }
}


ngx_uint_t
ngx_ams_webrtc_rung_main(ngx_ams_webrtc_rung_t *r, ngx_ams_bus_event_t *ev)
{
    uint64_t  rate;

    /* the original's rate, measured over a second or more */
    r->main_bytes += ev->len;

    if (r->connected && ngx_current_msec - r->main_since >= 1000) {
        rate = r->main_bytes * 8000 / (ngx_current_msec - r->main_since);
        r->main_rate = r->main_rate ? (3 * r->main_rate + rate) / 4 : rate;
        r->main_bytes = 0;
        r->main_since = ngx_current_msec;
    }

    return ngx_ams_webrtc_rung_video(r, NGX_AMS_WEBRTC_RUNG_MAIN, ev);
}


/* whether source "src"'s video frame goes out; switches happen here */

static ngx_uint_t
ngx_ams_webrtc_rung_video(ngx_ams_webrtc_rung_t *r, ngx_int_t src,
    ngx_ams_bus_event_t *ev)
{
    int64_t                    pts;
    ngx_int_t                  old;
    ngx_uint_t                 key;
    ngx_ams_webrtc_session_t  *s = r->session;

    key = ev->frame.flags & NGX_AMS_FRAME_KEY;
    pts = ev->frame.dts + ev->frame.cts;

    if (src == r->next) {
        if (!key || (r->sent && pts <= r->last_pts)) {
            return 0;
        }

        old = r->cur;
        r->cur = src;
        r->next = NGX_AMS_WEBRTC_RUNG_NONE;
        r->held = 0;
        r->need_key = 0;

        if (r->timer.timer_set) {
            ngx_del_timer(&r->timer);
        }

        if (old >= 0) {
            ngx_ams_webrtc_rung_give_up(r, old);
        }

        ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                      "ams webrtc: session %s plays \"%V\" from pts %L",
                      s->id,
                      src >= 0 ? &r->slot[src].name : &s->stream_id, pts);
    }

    if (src != r->cur) {
        return 0;
    }

    if (key && r->next != NGX_AMS_WEBRTC_RUNG_NONE) {
        /* the target takes over from here */
        r->held = 1;
    }

    if (r->held) {
        return 0;
    }

    if (r->need_key) {
        if (!key) {
            return 0;
        }

        r->need_key = 0;
    }

    r->last_pts = pts;
    r->sent = 1;

    return 1;
}


/* Context: the bus woke this worker for a rung's reader */

static void
ngx_ams_webrtc_rung_handler(ngx_ams_reader_t *rd)
{
    ngx_int_t                    i;
    ngx_ams_bus_event_t          ev;
    ngx_ams_webrtc_rung_slot_t  *sl = rd->data;
    ngx_ams_webrtc_rung_t       *r = sl->rung;
    ngx_ams_webrtc_session_t    *s = r->session;

    i = sl - r->slot;

    for ( ;; ) {

        if (!sl->reader.open || sl->closing || s->closing || !r->connected) {
            return;
        }

        if (ngx_ams_reader_peek(&sl->reader, &ev) != NGX_OK) {
            return;
        }

        switch (ev.type) {

        case NGX_AMS_EVENT_END:
            ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                          "ams webrtc: session %s: rung \"%V\" ended",
                          s->id, &sl->name);

            if (i == r->cur) {
                /* the original again, from its next keyframe */
                r->cur = NGX_AMS_WEBRTC_RUNG_MAIN;
                r->held = 0;
                r->need_key = 1;
                r->chooser_ready = 0;

                if (r->next == NGX_AMS_WEBRTC_RUNG_MAIN) {
                    r->next = NGX_AMS_WEBRTC_RUNG_NONE;
                }
            }

            ngx_ams_webrtc_rung_give_up(r, i);
            return;

        case NGX_AMS_EVENT_SKIP:
            continue;

        case NGX_AMS_EVENT_CONFIG:
            ngx_ams_webrtc_rung_config(sl, &ev);
            (void) ngx_ams_reader_commit(&sl->reader, &ev);
            continue;

        default: /* NGX_AMS_EVENT_FRAME */
            break;
        }

        if (ev.track == NGX_AMS_TRACK_VIDEO && ev.codec == NGX_AMS_CODEC_H264
            && sl->avc.nsps && ngx_ams_webrtc_rung_video(r, i, &ev))
        {
            (void) r->send(s, &ev, &sl->avc);
        }

        (void) ngx_ams_reader_commit(&sl->reader, &ev);
    }
}


static void
ngx_ams_webrtc_rung_config(ngx_ams_webrtc_rung_slot_t *sl,
    ngx_ams_bus_event_t *ev)
{
    const char  *err;

    if (ev->track != NGX_AMS_TRACK_VIDEO) {
        return;
    }

    ngx_memzero(&sl->avc, sizeof(ngx_ams_avc_config_t));

    if (ev->codec != NGX_AMS_CODEC_H264 || ev->len == 0
        || ev->len > sizeof(sl->avcc))
    {
        return;
    }

    ngx_memcpy(sl->avcc, ev->data, ev->len);

    if (ngx_ams_avc_parse_config(sl->avcc, ev->len, &sl->avc, &err) != 0
        || sl->avc.nsps == 0 || sl->avc.npps == 0)
    {
        ngx_log_error(NGX_LOG_WARN, &sl->rung->session->log, 0,
                      "ams webrtc: session %s: rung \"%V\" avcC unusable",
                      sl->rung->session->id, &sl->name);
        ngx_memzero(&sl->avc, sizeof(ngx_ams_avc_config_t));
    }
}


/* no IDR of the target in time: the current source goes on */

static void
ngx_ams_webrtc_rung_expired(ngx_event_t *ev)
{
    ngx_ams_webrtc_rung_t     *r = ev->data;
    ngx_ams_webrtc_session_t  *s = r->session;

    if (r->next == NGX_AMS_WEBRTC_RUNG_NONE) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, &s->log, 0,
                  "ams webrtc: session %s: no keyframe of \"%V\" in %d ms, "
                  "stays on \"%V\"", s->id,
                  r->next >= 0 ? &r->slot[r->next].name : &s->stream_id,
                  NGX_AMS_WEBRTC_RUNG_SWITCH_WAIT,
                  r->cur >= 0 ? &r->slot[r->cur].name : &s->stream_id);

    ngx_ams_webrtc_rung_give_up(r, r->next);
    r->chooser_ready = 0;
}


static void
ngx_ams_webrtc_rung_reap(ngx_event_t *ev)
{
    ngx_uint_t              i;
    ngx_ams_webrtc_rung_t  *r = ev->data;

    for (i = 0; i < NGX_AMS_WEBRTC_RUNG_SLOTS; i++) {
        if (r->slot[i].closing) {
            ngx_ams_reader_close(&r->slot[i].reader);
            r->slot[i].closing = 0;
            r->slot[i].used = 0;
        }
    }
}


void
ngx_ams_webrtc_rung_feedback(ngx_ams_webrtc_rung_t *r, uint64_t remb,
    int lost)
{
    ngx_uint_t                 i, n, current, choice;
    uint64_t                   br[NGX_AMS_RUNG_MAX];
    ngx_ams_webrtc_session_t  *s = r->session;

    if (remb) {
        r->remb = remb;
    }

    if (r->height || !r->connected || r->next != NGX_AMS_WEBRTC_RUNG_NONE) {
        return;
    }

    /* the registry's lock at most every NGX_AMS_WEBRTC_RUNG_RELIST */
    if (!r->listed_ever
        || ngx_current_msec - r->listed >= NGX_AMS_WEBRTC_RUNG_RELIST)
    {
        r->listed_ever = 1;
        n = ngx_ams_webrtc_rung_list(&s->app_name, &s->stream_id, r->list,
                                     NGX_AMS_RUNG_MAX - 1);
        r->listed = ngx_current_msec;

        if (n == 0) {
            r->nlist = 0;
            r->chooser_ready = 0;
            return;
        }

        if (!r->chooser_ready || n != r->nlist) {
            r->nlist = n;

            /* the original's rate unmeasured: half again the top rung */
            br[0] = r->main_rate ? r->main_rate
                                 : (uint64_t) r->list[0].kbps * 1500;
            current = 0;

            for (i = 0; i < n; i++) {
                br[i + 1] = (uint64_t) r->list[i].kbps * 1000;

                if (r->cur >= 0
                    && r->slot[r->cur].name.len == r->list[i].name.len
                    && ngx_memcmp(r->slot[r->cur].name.data,
                                  r->list[i].name.data, r->list[i].name.len)
                       == 0)
                {
                    current = i + 1;
                }
            }

            ngx_ams_rung_chooser_init(&r->chooser, br, n + 1, current,
                                      ngx_current_msec);
            r->chooser_ready = 1;
        }
    }

    if (!r->chooser_ready) {
        return;
    }

    current = r->chooser.current;
    choice = ngx_ams_rung_choose(&r->chooser, ngx_current_msec, r->remb,
                                 lost);

    if (choice == current) {
        return;
    }

    ngx_log_error(NGX_LOG_INFO, &s->log, 0,
                  "ams webrtc: session %s: estimate %uL b/s, loss %d/256: "
                  "rung %ui of %ui", s->id, r->remb, lost, choice,
                  r->nlist + 1);

    if (ngx_ams_webrtc_rung_switch(r, choice ? &r->list[choice - 1] : NULL)
        != NGX_OK)
    {
        r->chooser_ready = 0;
    }
}


ngx_uint_t
ngx_ams_webrtc_rung_keyframe(ngx_ams_webrtc_rung_t *r)
{
    if (r->cur < 0) {
        return 0;
    }

    (void) ngx_ams_reader_request(&r->slot[r->cur].reader,
                                  NGX_AMS_REQUEST_KEYFRAME);
    return 1;
}


void
ngx_ams_webrtc_rung_close(ngx_ams_webrtc_rung_t *r)
{
    ngx_uint_t  i;

    if (r->timer.timer_set) {
        ngx_del_timer(&r->timer);
    }

    if (r->reap.posted) {
        ngx_delete_posted_event(&r->reap);
    }

    for (i = 0; i < NGX_AMS_WEBRTC_RUNG_SLOTS; i++) {
        if (r->slot[i].used) {
            ngx_ams_reader_close(&r->slot[i].reader);
            r->slot[i].used = 0;
            r->slot[i].closing = 0;
        }
    }
}
