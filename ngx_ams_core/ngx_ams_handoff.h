
/*
 * Copyright (C) nginx-ams authors
 *
 * The hand-off of one stream from a media source on another thread (an
 * encoder in a thread-pool task, a libsrt or usrsctp thread, a libavformat
 * pull thread) to the worker's event loop, the only writer of the bus.
 *
 * A bounded single-producer, single-consumer queue in process memory,
 * lock-free: the producer owns "tail", the consumer owns "head", each on
 * its own cache line; a release store of one is what publishes the bytes
 * behind it to the other side (acquire load).  Messages of any size sit
 * in a byte ring, never split: one that does not fit before the end of the
 * area leaves a pad and starts again at 0, as the frame ring does.
 *
 * Free of nginx types so it can be unit-tested alone.
 *
 * The producer never waits.  A frame that finds no room is dropped and
 * counted.  After a dropped video frame every following video frame is
 * dropped too until a keyframe is queued, so the consumer never gets a
 * GOP with a hole in it; audio and data frames are unaffected.  A codec
 * configuration is never dropped for lack of room: the queue keeps the
 * track's newest one aside and queues it before the track's next frame
 * (frames of that track are dropped meanwhile, their decoder would need
 * it).  End-of-stream is a flag, never a message, so it always gets
 * through, after everything queued before it.
 *
 * One producer at a time.  Its calls may come from different threads
 * (successive thread-pool tasks) if each hands over to the next with a
 * happens-before, as the thread pool's queue lock gives.
 *
 * Wake-ups, without polling: a "notified" flag shared by both sides.
 *
 *   producer, after publishing a message (release store of tail):
 *       full fence; if notified == 0 and exchange(notified, 1) == 0,
 *       call notify();
 *   consumer, woken (ngx_ams_handoff_drain() does this):
 *       exchange(notified, 0); full fence; then pop until it finds the
 *       queue empty: that last look at tail is the re-check.
 *
 * The two fences order the producer's "tail, then flag" against the
 * consumer's "flag, then tail": either the consumer's re-check sees the
 * message, or the producer sees the cleared flag and notifies.  A message
 * is never left without a wake-up, and a burst costs one notify: the flag
 * stays set until the consumer comes.  notify() is called at most once
 * per clear (plus the first), from the producer's thread; it must not
 * call back into the queue (an eventfd write is what it is for).  Its data
 * must outlive the producer's last call (ngx_ams_handoff_end()).
 *
 * Lifetime: the queue is freed by whichever of ngx_ams_handoff_end()
 * (the producer's last call) and ngx_ams_handoff_destroy() (the
 * consumer's) comes second.  After the consumer has gone, pushes return
 * NGX_AMS_HANDOFF_CLOSED so the source can stop; it still calls end().
 */


#ifndef _NGX_AMS_HANDOFF_H_INCLUDED_
#define _NGX_AMS_HANDOFF_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>

#include "ngx_ams_ring.h"


#define NGX_AMS_HANDOFF_OK          0
#define NGX_AMS_HANDOFF_FULL        1   /* dropped and counted */
#define NGX_AMS_HANDOFF_DEFERRED    2   /* config: queued later, see above */
#define NGX_AMS_HANDOFF_CLOSED      3   /* consumer gone: dropped */
#define NGX_AMS_HANDOFF_EMPTY       4   /* consumer: nothing queued */
#define NGX_AMS_HANDOFF_AGAIN       5   /* drain stopped early: call again */
#define NGX_AMS_HANDOFF_END         6   /* drain delivered end-of-stream */
#define NGX_AMS_HANDOFF_TOO_BIG    -1   /* refused (frames: and counted) */
#define NGX_AMS_HANDOFF_INVALID    -2   /* refused: no such track */

/* message kinds */
#define NGX_AMS_HANDOFF_FRAME       1
#define NGX_AMS_HANDOFF_CONFIG      2
#define NGX_AMS_HANDOFF_EOS         3


typedef struct ngx_ams_handoff_s  ngx_ams_handoff_t;

typedef void (*ngx_ams_handoff_notify_pt)(void *data);


typedef struct {
    unsigned            kind;
    unsigned            track;      /* FRAME and CONFIG */
    uint32_t            codec;      /* FRAME and CONFIG */
    ngx_ams_frame_t     frame;      /* FRAME: the descriptor as pushed */
    const uint8_t      *data;       /* in the queue: valid until release */
    uint32_t            len;
} ngx_ams_handoff_msg_t;


/* nonzero from the handler stops the drain after this message */
typedef int (*ngx_ams_handoff_handler_pt)(void *data,
    const ngx_ams_handoff_msg_t *msg);


typedef struct {
    uint64_t            frames_in;          /* queued */
    uint64_t            frames_dropped;     /* every frame not queued */
    uint64_t            bytes_dropped;
    uint64_t            frames_too_big;     /* of those dropped */
    uint64_t            key_waits;          /* video drops that began a wait */
    uint64_t            configs_in;
    uint64_t            configs_deferred;
    uint64_t            notifies;
    uint64_t            popped;             /* messages the consumer took */
} ngx_ams_handoff_stats_t;


/*
 * capacity: bytes of the message area (at least twice the largest
 * configuration message, about 8.2 KB); a message may take half of it.
 * max_messages: how many may wait at once, 0 for no limit but the bytes.
 * Returns NULL when out of memory or the capacity is too small.
 */
ngx_ams_handoff_t *ngx_ams_handoff_create(size_t capacity,
    uint32_t max_messages, ngx_ams_handoff_notify_pt notify, void *data);

/* the largest frame this queue takes */
uint32_t ngx_ams_handoff_max_frame(ngx_ams_handoff_t *h);

/* statistics, from either side */
void ngx_ams_handoff_stats(ngx_ams_handoff_t *h,
    ngx_ams_handoff_stats_t *st);

/*
 * Context: the producer.  push_frame() copies the frame's descriptor (as
 * is: seq, pos and config_version are the bus's to set) and its size
 * bytes; it returns NGX_AMS_HANDOFF_OK, or FULL, CLOSED or TOO_BIG with
 * the frame dropped and counted, or INVALID for a track out of range.
 * push_config() returns OK, DEFERRED (kept aside, see above), CLOSED,
 * TOO_BIG (over NGX_AMS_CONFIG_MAX) or INVALID.  end() is the producer's
 * last call: end-of-stream follows what was queued; h may be gone after.
 */
int ngx_ams_handoff_push_frame(ngx_ams_handoff_t *h,
    const ngx_ams_frame_t *frame, const uint8_t *data);
int ngx_ams_handoff_push_config(ngx_ams_handoff_t *h, unsigned track,
    uint32_t codec, const uint8_t *data, uint32_t len);
void ngx_ams_handoff_end(ngx_ams_handoff_t *h);

/*
 * Context: the consumer.  rearm() clears the notify flag (drain() calls
 * it first).  peek() returns NGX_AMS_HANDOFF_OK with the oldest message,
 * its bytes left in place, or NGX_AMS_HANDOFF_EMPTY; once the producer
 * has ended and all is taken, it returns OK with an EOS message, again on
 * every call.  release() takes the message peek() returned.  drain()
 * hands up to max messages (0: no limit) to the handler, and returns
 * EMPTY (a later push will notify), AGAIN (stopped by max or the handler:
 * messages may remain, call again without waiting for a notify) or END.
 */
void ngx_ams_handoff_rearm(ngx_ams_handoff_t *h);
int ngx_ams_handoff_peek(ngx_ams_handoff_t *h, ngx_ams_handoff_msg_t *msg);
void ngx_ams_handoff_release(ngx_ams_handoff_t *h);
int ngx_ams_handoff_drain(ngx_ams_handoff_t *h,
    ngx_ams_handoff_handler_pt handler, void *data, unsigned max);
void ngx_ams_handoff_destroy(ngx_ams_handoff_t *h);


#endif /* _NGX_AMS_HANDOFF_H_INCLUDED_ */
