
/*
 * Copyright (C) nginx-ams authors
 *
 * The frame ring of one live stream: one writer, any number of readers,
 * possibly in other processes (the ring lives in shared memory).
 *
 * Free of nginx types so it can be unit-tested and fuzzed alone.
 *
 * The writer never waits.  Frames are numbered by a 64-bit sequence; their
 * bytes sit in a data area addressed by a 64-bit "virtual position" that
 * only grows.  A frame is intact while the writer has not reserved past
 * its position plus the data area size; readers check that before and
 * after they touch the bytes (a seqlock), so a torn read is detected, never
 * returned.  A reader that fell behind skips to the next intact keyframe
 * and counts the frames it dropped.
 */


#ifndef _NGX_AMS_RING_H_INCLUDED_
#define _NGX_AMS_RING_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* all timestamps on the bus use this clock (MPEG-TS's) */
#define NGX_AMS_TIMEBASE            90000

#define NGX_AMS_TRACK_VIDEO         0
#define NGX_AMS_TRACK_AUDIO         1
#define NGX_AMS_TRACK_DATA          2
#define NGX_AMS_TRACKS              3

#define NGX_AMS_CODEC_NONE          0
#define NGX_AMS_CODEC_H264          1
#define NGX_AMS_CODEC_AAC           2
/* Opus: raw packets; the configuration is an OpusHead (RFC 7845 5.1) */
#define NGX_AMS_CODEC_OPUS          3

#define NGX_AMS_FRAME_KEY           0x01

#define NGX_AMS_RING_OK             0
#define NGX_AMS_RING_AGAIN          1     /* nothing new yet */
#define NGX_AMS_RING_SKIPPED        2     /* reader was overrun and moved */
#define NGX_AMS_RING_TOO_BIG       -1

#define NGX_AMS_RING_NO_SEQ         UINT64_MAX

/* codec configuration kept beside the ring, for readers joining late */
#define NGX_AMS_CONFIG_MAX          4096


typedef struct {
    uint64_t            seq;
    uint64_t            pos;        /* virtual position of the bytes */
    int64_t             dts;        /* NGX_AMS_TIMEBASE units */
    int32_t             cts;        /* pts - dts */
    uint32_t            size;
    uint8_t             track;
    uint8_t             codec;
    uint8_t             flags;
    uint8_t             reserved;
    uint32_t            config_version;
} ngx_ams_frame_t;


typedef struct {
    volatile uint32_t   version;    /* odd while the writer changes it */
    uint32_t            codec;
    uint32_t            len;
    uint8_t             data[NGX_AMS_CONFIG_MAX];
} ngx_ams_ring_config_t;


typedef struct {
    uint32_t            index_size;    /* frame slots, a power of two */
    uint32_t            data_size;     /* bytes */

    volatile uint64_t   write_seq;     /* frames [0, write_seq) are published */
    volatile uint64_t   reserve;       /* bytes below may be being written */
    volatile uint64_t   last_key_seq;
    uint64_t            head;          /* writer only: next free position */

    ngx_ams_ring_config_t  config[NGX_AMS_TRACKS];

    /* ngx_ams_frame_t index[index_size], then uint8_t data[data_size] */
} ngx_ams_ring_t;


typedef struct {
    uint64_t            next_seq;
    uint64_t            dropped;       /* frames skipped after overruns */
    uint64_t            skips;         /* how many times it was overrun */
    unsigned            started:1;     /* has found its first keyframe */
} ngx_ams_ring_reader_t;


/*
 * A reader's view as events, in order (the bus's reader API is built on
 * these; see ngx_ams_core.h):
 *   FRAME   a frame, its bytes in the ring until consumed
 *   CONFIG  a track's codec configuration, before the first frame that
 *           needs it, and the data track's (onMetaData) when it changes
 *   SKIP    overrun: moved to a keyframe, "dropped" frames lost
 *   END     the writer has ended and everything was read
 */

#define NGX_AMS_EVENT_FRAME         1
#define NGX_AMS_EVENT_CONFIG        2
#define NGX_AMS_EVENT_SKIP          3
#define NGX_AMS_EVENT_END           4


typedef struct {
    int                 type;
    ngx_ams_frame_t     frame;      /* FRAME; CONFIG: its config_version */
    const uint8_t      *data;       /* FRAME, CONFIG */
    uint32_t            len;
    uint32_t            track;      /* FRAME, CONFIG */
    uint32_t            codec;
    uint64_t            dropped;    /* SKIP */
    ngx_ams_ring_t     *ring;       /* where the frame's bytes are */
    uint8_t             config[NGX_AMS_CONFIG_MAX];
} ngx_ams_ring_event_t;


typedef struct {
    ngx_ams_ring_reader_t  pos;
    uint32_t               config_seen[NGX_AMS_TRACKS];
} ngx_ams_ring_cursor_t;


size_t ngx_ams_ring_size(uint32_t index_size, uint32_t data_size);
void ngx_ams_ring_init(ngx_ams_ring_t *ring, uint32_t index_size,
    uint32_t data_size);

/* writer side */
int ngx_ams_ring_write(ngx_ams_ring_t *ring, ngx_ams_frame_t *frame,
    const uint8_t *data);
void ngx_ams_ring_set_config(ngx_ams_ring_t *ring, unsigned track,
    uint32_t codec, const uint8_t *data, uint32_t len);
/* the writer moves its stream to a fresh, larger ring: the intact frames
 * keep their sequence numbers, so readers carry on in "to" */
void ngx_ams_ring_move(ngx_ams_ring_t *to, ngx_ams_ring_t *from);

/* reader side */
void ngx_ams_ring_reader_join(ngx_ams_ring_t *ring,
    ngx_ams_ring_reader_t *rd);
int ngx_ams_ring_peek(ngx_ams_ring_t *ring, ngx_ams_ring_reader_t *rd,
    ngx_ams_frame_t *frame, const uint8_t **data);
int ngx_ams_ring_intact(ngx_ams_ring_t *ring, const ngx_ams_frame_t *frame);
int ngx_ams_ring_read(ngx_ams_ring_t *ring, ngx_ams_ring_reader_t *rd,
    ngx_ams_frame_t *frame, uint8_t *buf, size_t cap);
int ngx_ams_ring_get_config(ngx_ams_ring_t *ring, unsigned track,
    uint32_t *codec, uint8_t *buf, uint32_t *len, uint32_t *version);
uint32_t ngx_ams_ring_config_version(ngx_ams_ring_t *ring, unsigned track);

/* events: "ended" must be read (acquire) before "ring" is looked up */
void ngx_ams_ring_cursor_join(ngx_ams_ring_t *ring, ngx_ams_ring_cursor_t *c);
int ngx_ams_ring_next(ngx_ams_ring_t *ring, ngx_ams_ring_cursor_t *c,
    int ended, ngx_ams_ring_event_t *ev);
/* NGX_AMS_RING_OK, or NGX_AMS_RING_AGAIN: the frame was overwritten while
 * the caller used it; the next event says what was lost */
int ngx_ams_ring_consume(ngx_ams_ring_cursor_t *c, ngx_ams_ring_event_t *ev);

/* the event loop may ask this of a reader a thread-pool task advances
 * (the packager's): a stale answer only costs a spurious call */
static inline int
ngx_ams_ring_has_news(ngx_ams_ring_t *ring, ngx_ams_ring_reader_t *rd)
{
    return __atomic_load_n(&ring->write_seq, __ATOMIC_ACQUIRE)
           > __atomic_load_n(&rd->next_seq, __ATOMIC_RELAXED);
}


#endif /* _NGX_AMS_RING_H_INCLUDED_ */
