
/*
 * Copyright (C) nginx-ams authors
 *
 * The audio bus transform: reads a live stream from the bus, passes its
 * video and data frames and configurations through unchanged, converts
 * its audio (ngx_ams_audio_convert.h), and publishes the result as a
 * rendition of it (NGX_AMS_SOURCE_RENDITION, parent = the source).  The
 * codec work runs in a thread-pool task, one in flight per transform;
 * the rendition is written through the writer hand-off.  It ends when
 * the source ends, or when stopped.
 *
 * What WebRTC needs (AAC publishers to Opus viewers, Opus publishers to
 * HLS), and what "transcode_opus on" uses: every publisher stream of the
 * application gets a companion {id}_opus (ngx_ams_stream_name.h reserves
 * the suffix for renditions).
 */


#ifndef _NGX_AMS_AUDIO_TRANSFORM_H_INCLUDED_
#define _NGX_AMS_AUDIO_TRANSFORM_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_ams_core.h"


/* the companion's name: {id} + this */
#define NGX_AMS_AUDIO_OPUS_SUFFIX   "_opus"


extern ngx_module_t  ngx_ams_audio_transform_module;


/*
 * Context: the event loop of any worker; this worker publishes "out".
 * Reads "app"/"name" (live on this node), publishes "app"/"out" with its
 * audio in "codec" (NGX_AMS_CODEC_OPUS or NGX_AMS_CODEC_AAC) at
 * "bitrate" bits/s (0: the encoder's default for the layout).  Audio
 * already in "codec" passes through.  NGX_OK; NGX_DECLINED: the source
 * is not live; NGX_BUSY: "out" is taken; NGX_ERROR.
 */
ngx_int_t ngx_ams_audio_transform_start(ngx_str_t *app, ngx_str_t *name,
    ngx_str_t *out, ngx_uint_t codec, ngx_uint_t bitrate, ngx_log_t *log);

/*
 * Publisher mode, for a WebRTC publisher: its raw stream "raw" (Opus
 * audio, a rendition of "out") is what it writes; "out" is published
 * by the transform as the stream users know, with the kind, publish
 * type and client address of "as" (the source's operations and data are
 * the transform's own: a stop of "out" is passed on to "raw", as are
 * keyframe requests).  Returns as ngx_ams_audio_transform_start().
 */
ngx_int_t ngx_ams_audio_transform_start_publisher(ngx_str_t *app,
    ngx_str_t *raw, ngx_str_t *out, ngx_uint_t codec, ngx_uint_t bitrate,
    ngx_ams_source_t *as, ngx_log_t *log);

/*
 * Context: the event loop of any worker.  Ends the rendition "out" (the
 * worker that publishes it is asked through the bus): NGX_OK, or
 * NGX_DECLINED when it is not live.
 */
ngx_int_t ngx_ams_audio_transform_stop(ngx_str_t *app, ngx_str_t *out);


#endif /* _NGX_AMS_AUDIO_TRANSFORM_H_INCLUDED_ */
