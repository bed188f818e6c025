
/*
 * Copyright (C) nginx-ams authors
 *
 * The media section of ngx_ams_webrtc.h: what flows once a session is
 * connected.  A session either sends (WHEP play: ngx_ams_webrtc_play.c,
 * a bus reader packetized into RTP) or receives (WHIP publish:
 * ngx_ams_webrtc_publish.c, RTP depacketized into a bus stream); this
 * file routes each call by the session's direction and keeps the few
 * helpers both sides use.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include <dlfcn.h>
#include <openssl/rand.h>

#include "ngx_ams_webrtc.h"
#include "ngx_ams_webrtc_media.h"


ngx_int_t
ngx_ams_webrtc_media_prepare(ngx_ams_webrtc_session_t *s,
    uint32_t *profile_level_id)
{
    *profile_level_id = 0;

    if (s->direction == NGX_AMS_WEBRTC_PLAY) {
        return ngx_ams_webrtc_play_prepare(s, profile_level_id);
    }

    return ngx_ams_webrtc_publish_prepare(s);
}


ngx_int_t
ngx_ams_webrtc_media_start(ngx_ams_webrtc_session_t *s)
{
    if (s->media == NULL) {
        /* prepare failed or was not called: nothing to start */
        return NGX_ERROR;
    }

    if (s->direction == NGX_AMS_WEBRTC_PLAY) {
        return ngx_ams_webrtc_play_start(s);
    }

    return ngx_ams_webrtc_publish_start(s);
}


void
ngx_ams_webrtc_media_connected(ngx_ams_webrtc_session_t *s)
{
    if (s->media == NULL) {
        return;
    }

    if (s->direction == NGX_AMS_WEBRTC_PLAY) {
        ngx_ams_webrtc_play_connected(s);

    } else {
        ngx_ams_webrtc_publish_connected(s);
    }
}


void
ngx_ams_webrtc_media_rtp(ngx_ams_webrtc_session_t *s,
    ngx_ams_rtp_header_t *h, u_char *p, size_t len)
{
    /* a viewer has nothing to send us but RTCP: its RTP is dropped */
    if (s->media == NULL || s->direction != NGX_AMS_WEBRTC_PUBLISH) {
        return;
    }

    ngx_ams_webrtc_publish_rtp(s, h, p, len);
}


void
ngx_ams_webrtc_media_rtcp(ngx_ams_webrtc_session_t *s, u_char *p,
    size_t len)
{
    if (s->media == NULL) {
        return;
    }

    if (s->direction == NGX_AMS_WEBRTC_PLAY) {
        ngx_ams_webrtc_play_rtcp(s, p, len);

    } else {
        ngx_ams_webrtc_publish_rtcp(s, p, len);
    }
}


void
ngx_ams_webrtc_media_close(ngx_ams_webrtc_session_t *s)
{
    if (s->media == NULL) {
        return;
    }

    if (s->direction == NGX_AMS_WEBRTC_PLAY) {
        ngx_ams_webrtc_play_close(s);

    } else {
        ngx_ams_webrtc_publish_close(s);
    }

    s->media = NULL;
}


uint64_t
ngx_ams_webrtc_now_usec(void)
{
    struct timeval  tv;

    ngx_gettimeofday(&tv);

    return (uint64_t) tv.tv_sec * 1000000 + tv.tv_usec;
}


uint32_t
ngx_ams_webrtc_random32(void)
{
    uint32_t  v;

    if (RAND_bytes((u_char *) &v, sizeof(v)) != 1) {
        v = (uint32_t) ngx_random() ^ ((uint32_t) ngx_random() << 16);
    }

    return v;
}


/*
 * The transcoder is optional: its functions are looked up in the
 * process (nginx loads modules RTLD_GLOBAL), never linked, so this
 * module loads without it.
 */

void *
ngx_ams_webrtc_transcoder_symbol(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}
