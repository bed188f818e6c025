
/*
 * Copyright (C) nginx-ams authors
 */


#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_ams_handoff.h"


#define NGX_AMS_HANDOFF_LINE      64
#define NGX_AMS_HANDOFF_MAX_SIZE  (1U << 30)

/* a record's kind when it only fills the end of the area */
#define NGX_AMS_HANDOFF_PAD       0x50414420

#define ngx_ams_handoff_align(n)  (((n) + 7) & ~(uint64_t) 7)

#define ngx_ams_load(p)           __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define ngx_ams_store(p, v)       __atomic_store_n(p, v, __ATOMIC_RELEASE)
#define ngx_ams_load_relaxed(p)   __atomic_load_n(p, __ATOMIC_RELAXED)
#define ngx_ams_fence()           __atomic_thread_fence(__ATOMIC_SEQ_CST)

/* counters have one writer; others may read them at any time */
#define ngx_ams_count(p, n)                                                  \
    __atomic_store_n(p, *(p) + (n), __ATOMIC_RELAXED)


/* every record starts 8-aligned; the area's size is a multiple of 8 */
typedef struct {
    uint32_t                   kind;
    uint32_t                   len;
    uint32_t                   track;
    uint32_t                   codec;
    ngx_ams_frame_t            frame;       /* frames only */
} ngx_ams_handoff_rec_t;


typedef struct {
    uint32_t                   codec;
    uint32_t                   len;
    uint8_t                    data[NGX_AMS_CONFIG_MAX];
} ngx_ams_handoff_aside_t;


struct ngx_ams_handoff_s {
    /* set at creation */
    uint8_t                   *data;
    uint64_t                   size;
    uint64_t                   max_messages;
    uint64_t                   max_rec;
    ngx_ams_handoff_notify_pt  notify;
    void                      *notify_data;

    /* the producer's: tail is published, the rest it keeps to itself */
    uint64_t                   tail
                                __attribute__((aligned(NGX_AMS_HANDOFF_LINE)));
    uint64_t                   pushed;
    uint64_t                   head_cache;
    uint64_t                   popped_cache;
    unsigned                   wait_key;
    unsigned                   pending;     /* tracks with a config aside */
    ngx_ams_handoff_stats_t    st;          /* but popped */

    /* the consumer's: head and popped are published */
    uint64_t                   head
                                __attribute__((aligned(NGX_AMS_HANDOFF_LINE)));
    uint64_t                   popped;
    uint64_t                   c_head;      /* head past any pad */
    uint64_t                   c_next;      /* head after the peeked one */
    uint64_t                   tail_cache;
    unsigned                   peeked;      /* 0, or the kind peeked */

    /* both write these */
    uint32_t                   notified
                                __attribute__((aligned(NGX_AMS_HANDOFF_LINE)));
    uint32_t                   eos;
    uint32_t                   detached;
    uint32_t                   refs;

    /* the producer's configurations waiting for room */
    ngx_ams_handoff_aside_t    aside[NGX_AMS_TRACKS]
                                __attribute__((aligned(NGX_AMS_HANDOFF_LINE)));
};


static int ngx_ams_handoff_reserve(ngx_ams_handoff_t *h, uint64_t rec,
    uint64_t *pos);
static void ngx_ams_handoff_publish(ngx_ams_handoff_t *h, uint64_t tail);
static int ngx_ams_handoff_queue_config(ngx_ams_handoff_t *h, unsigned track,
    uint32_t codec, const uint8_t *data, uint32_t len);
static void ngx_ams_handoff_flush_aside(ngx_ams_handoff_t *h);
static void ngx_ams_handoff_unref(ngx_ams_handoff_t *h);


ngx_ams_handoff_t *
ngx_ams_handoff_create(size_t capacity, uint32_t max_messages,
    ngx_ams_handoff_notify_pt notify, void *data)
{
    void               *p;
    uint64_t            size;
    ngx_ams_handoff_t  *h;

    size = ngx_ams_handoff_align((uint64_t) capacity);

    /* the largest configuration must fit in half the area */
    if (size < 2 * ngx_ams_handoff_align(sizeof(ngx_ams_handoff_rec_t)
                                         + NGX_AMS_CONFIG_MAX)
        || size > NGX_AMS_HANDOFF_MAX_SIZE
        || notify == NULL)
    {
        errno = EINVAL;
        return NULL;
    }

    if (posix_memalign(&p, NGX_AMS_HANDOFF_LINE,
                       sizeof(ngx_ams_handoff_t) + size)
        != 0)
    {
        errno = ENOMEM;
        return NULL;
    }

    h = p;
    memset(h, 0, sizeof(ngx_ams_handoff_t));

    h->data = (uint8_t *) (h + 1);
    h->size = size;
    h->max_messages = max_messages ? max_messages : UINT64_MAX;

    /*
     * half the area at most: a message then always fits in an empty
     * queue, whatever the padding before it
     */
    h->max_rec = (size / 2) & ~(uint64_t) 7;

    h->notify = notify;
    h->notify_data = data;
    h->refs = 2;

    return h;
}


uint32_t
ngx_ams_handoff_max_frame(ngx_ams_handoff_t *h)
{
    return (uint32_t) (h->max_rec - sizeof(ngx_ams_handoff_rec_t));
}


void
ngx_ams_handoff_stats(ngx_ams_handoff_t *h, ngx_ams_handoff_stats_t *st)
{
    st->frames_in = ngx_ams_load_relaxed(&h->st.frames_in);
    st->frames_dropped = ngx_ams_load_relaxed(&h->st.frames_dropped);
    st->bytes_dropped = ngx_ams_load_relaxed(&h->st.bytes_dropped);
    st->frames_too_big = ngx_ams_load_relaxed(&h->st.frames_too_big);
    st->key_waits = ngx_ams_load_relaxed(&h->st.key_waits);
    st->configs_in = ngx_ams_load_relaxed(&h->st.configs_in);
    st->configs_deferred = ngx_ams_load_relaxed(&h->st.configs_deferred);
    st->notifies = ngx_ams_load_relaxed(&h->st.notifies);
    st->popped = ngx_ams_load_relaxed(&h->popped);
}


/* Context: the producer */

int
ngx_ams_handoff_push_frame(ngx_ams_handoff_t *h, const ngx_ams_frame_t *frame,
    const uint8_t *data)
{
    int                     rc, video;
    uint64_t                rec, pos;
    ngx_ams_handoff_rec_t  *r;

    if (frame->track >= NGX_AMS_TRACKS) {
        return NGX_AMS_HANDOFF_INVALID;
    }

    video = (frame->track == NGX_AMS_TRACK_VIDEO);
    rec = ngx_ams_handoff_align(sizeof(ngx_ams_handoff_rec_t)
                                + (uint64_t) frame->size);

    if (rec > h->max_rec) {
        ngx_ams_count(&h->st.frames_too_big, 1);
        rc = NGX_AMS_HANDOFF_TOO_BIG;
        goto drop;
    }

    if (ngx_ams_load_relaxed(&h->detached)) {
        rc = NGX_AMS_HANDOFF_CLOSED;
        goto drop;
    }

    rc = NGX_AMS_HANDOFF_FULL;

    if (h->pending) {
        ngx_ams_handoff_flush_aside(h);

        /* its decoder needs the configuration first */
        if (h->pending & (1U << frame->track)) {
            goto drop;
        }
    }

    if (video && h->wait_key && !(frame->flags & NGX_AMS_FRAME_KEY)) {
        goto drop;
    }

    if (ngx_ams_handoff_reserve(h, rec, &pos) != NGX_AMS_HANDOFF_OK) {
        goto drop;
    }

    r = (ngx_ams_handoff_rec_t *) (h->data + pos % h->size);

    r->kind = NGX_AMS_HANDOFF_FRAME;
    r->len = frame->size;
    r->track = frame->track;
    r->codec = frame->codec;
    r->frame = *frame;
    memcpy(r + 1, data, frame->size);

    ngx_ams_count(&h->st.frames_in, 1);

    if (video) {
        /* a keyframe, or no wait */
        h->wait_key = 0;
    }

    ngx_ams_handoff_publish(h, pos + rec);

    return NGX_AMS_HANDOFF_OK;

drop:

    ngx_ams_count(&h->st.frames_dropped, 1);
    ngx_ams_count(&h->st.bytes_dropped, frame->size);

    /* what follows until the next keyframe would not decode */
    if (video && !h->wait_key) {
        h->wait_key = 1;
        ngx_ams_count(&h->st.key_waits, 1);
    }

    return rc;
}


int
ngx_ams_handoff_push_config(ngx_ams_handoff_t *h, unsigned track,
    uint32_t codec, const uint8_t *data, uint32_t len)
{
    ngx_ams_handoff_aside_t  *a;

    if (track >= NGX_AMS_TRACKS) {
        return NGX_AMS_HANDOFF_INVALID;
    }

    if (len > NGX_AMS_CONFIG_MAX) {
        return NGX_AMS_HANDOFF_TOO_BIG;
    }

    if (ngx_ams_load_relaxed(&h->detached)) {
        return NGX_AMS_HANDOFF_CLOSED;
    }

    if (h->pending) {
        ngx_ams_handoff_flush_aside(h);
    }

    if (!(h->pending & (1U << track))
        && ngx_ams_handoff_queue_config(h, track, codec, data, len)
           == NGX_AMS_HANDOFF_OK)
    {
        return NGX_AMS_HANDOFF_OK;
    }

    /* the newest replaces any older one: no frame came in between */
    a = &h->aside[track];
    a->codec = codec;
    a->len = len;
    memcpy(a->data, data, len);

    h->pending |= 1U << track;
    ngx_ams_count(&h->st.configs_deferred, 1);

    return NGX_AMS_HANDOFF_DEFERRED;
}


void
ngx_ams_handoff_end(ngx_ams_handoff_t *h)
{
    /* configurations still aside go: no frame needs them */
    h->pending = 0;

    ngx_ams_store(&h->eos, 1);
    ngx_ams_fence();

    if (ngx_ams_load_relaxed(&h->notified) == 0
        && __atomic_exchange_n(&h->notified, 1, __ATOMIC_SEQ_CST) == 0)
    {
        ngx_ams_count(&h->st.notifies, 1);
        h->notify(h->notify_data);
    }

    ngx_ams_handoff_unref(h);
}


static int
ngx_ams_handoff_reserve(ngx_ams_handoff_t *h, uint64_t rec, uint64_t *pos)
{
    uint64_t  tail, phys, waste;

    if (h->pushed - h->popped_cache >= h->max_messages) {
        h->popped_cache = ngx_ams_load(&h->popped);

        if (h->pushed - h->popped_cache >= h->max_messages) {
            return NGX_AMS_HANDOFF_FULL;
        }
    }

    tail = h->tail;
    phys = tail % h->size;

    /* a message is never split: the end of the area is left as a pad */
    waste = (phys + rec > h->size) ? h->size - phys : 0;

    if (tail + waste + rec - h->head_cache > h->size) {
        h->head_cache = ngx_ams_load(&h->head);

        if (tail + waste + rec - h->head_cache > h->size) {
            return NGX_AMS_HANDOFF_FULL;
        }
    }

    if (waste) {
        /* at least 8 bytes: the kind is all the consumer reads of it */
        *(uint32_t *) (h->data + phys) = NGX_AMS_HANDOFF_PAD;
    }

    *pos = tail + waste;

    return NGX_AMS_HANDOFF_OK;
}


static void
ngx_ams_handoff_publish(ngx_ams_handoff_t *h, uint64_t tail)
{
    h->pushed++;

    ngx_ams_store(&h->tail, tail);

    /* tail, then the flag; the consumer clears the flag, then looks */
    ngx_ams_fence();

    if (ngx_ams_load_relaxed(&h->notified) == 0
        && __atomic_exchange_n(&h->notified, 1, __ATOMIC_SEQ_CST) == 0)
    {
        ngx_ams_count(&h->st.notifies, 1);
        h->notify(h->notify_data);
    }
}


static int
ngx_ams_handoff_queue_config(ngx_ams_handoff_t *h, unsigned track,
    uint32_t codec, const uint8_t *data, uint32_t len)
{
    uint64_t                rec, pos;
    ngx_ams_handoff_rec_t  *r;

    rec = ngx_ams_handoff_align(sizeof(ngx_ams_handoff_rec_t) + len);

    if (ngx_ams_handoff_reserve(h, rec, &pos) != NGX_AMS_HANDOFF_OK) {
        return NGX_AMS_HANDOFF_FULL;
    }

    r = (ngx_ams_handoff_rec_t *) (h->data + pos % h->size);

    memset(r, 0, sizeof(ngx_ams_handoff_rec_t));
    r->kind = NGX_AMS_HANDOFF_CONFIG;
    r->len = len;
    r->track = track;
    r->codec = codec;
    memcpy(r + 1, data, len);

    ngx_ams_count(&h->st.configs_in, 1);

    ngx_ams_handoff_publish(h, pos + rec);

    return NGX_AMS_HANDOFF_OK;
}


static void
ngx_ams_handoff_flush_aside(ngx_ams_handoff_t *h)
{
    unsigned                  t;
    ngx_ams_handoff_aside_t  *a;

    for (t = 0; t < NGX_AMS_TRACKS; t++) {

        if (!(h->pending & (1U << t))) {
            continue;
        }

        a = &h->aside[t];

        if (ngx_ams_handoff_queue_config(h, t, a->codec, a->data, a->len)
            != NGX_AMS_HANDOFF_OK)
        {
            return;
        }

        h->pending &= ~(1U << t);
    }
}


/* Context: the consumer */

void
ngx_ams_handoff_rearm(ngx_ams_handoff_t *h)
{
    __atomic_store_n(&h->notified, 0, __ATOMIC_RELAXED);

    /* the flag, then tail: see the header */
    ngx_ams_fence();
}


int
ngx_ams_handoff_peek(ngx_ams_handoff_t *h, ngx_ams_handoff_msg_t *msg)
{
    uint64_t                head, phys;
    ngx_ams_handoff_rec_t  *r;

    for ( ;; ) {
        head = h->c_head;

        if (head == h->tail_cache) {
            h->tail_cache = ngx_ams_load(&h->tail);

            if (head == h->tail_cache) {

                if (!ngx_ams_load(&h->eos)) {
                    return NGX_AMS_HANDOFF_EMPTY;
                }

                /* the producer's last messages came before its eos */
                h->tail_cache = ngx_ams_load(&h->tail);

                if (head == h->tail_cache) {
                    memset(msg, 0, sizeof(ngx_ams_handoff_msg_t));
                    msg->kind = NGX_AMS_HANDOFF_EOS;
                    h->peeked = NGX_AMS_HANDOFF_EOS;
                    return NGX_AMS_HANDOFF_OK;
                }
            }
        }

        phys = head % h->size;
        r = (ngx_ams_handoff_rec_t *) (h->data + phys);

        if (r->kind == NGX_AMS_HANDOFF_PAD) {
            h->c_head = head + h->size - phys;
            continue;
        }

        msg->kind = r->kind;
        msg->frame = r->frame;
        msg->track = r->track;
        msg->codec = r->codec;
        msg->data = (const uint8_t *) (r + 1);
        msg->len = r->len;

        h->c_next = head + ngx_ams_handoff_align(sizeof(ngx_ams_handoff_rec_t)
                                                 + r->len);
        h->peeked = r->kind;

        return NGX_AMS_HANDOFF_OK;
    }
}


void
ngx_ams_handoff_release(ngx_ams_handoff_t *h)
{
    uint64_t  popped;

    if (h->peeked == 0 || h->peeked == NGX_AMS_HANDOFF_EOS) {
        h->peeked = 0;
        return;
    }

    h->peeked = 0;
    h->c_head = h->c_next;

    popped = h->popped + 1;

    /* the bytes are read: the producer may reuse them */
    ngx_ams_store(&h->head, h->c_head);
    ngx_ams_store(&h->popped, popped);
}


int
ngx_ams_handoff_drain(ngx_ams_handoff_t *h,
    ngx_ams_handoff_handler_pt handler, void *data, unsigned max)
{
    int                    stop;
    unsigned               n;
    ngx_ams_handoff_msg_t  msg;

    ngx_ams_handoff_rearm(h);

    for (n = 0; max == 0 || n < max; n++) {

        if (ngx_ams_handoff_peek(h, &msg) == NGX_AMS_HANDOFF_EMPTY) {
            return NGX_AMS_HANDOFF_EMPTY;
        }

        stop = handler(data, &msg);

        ngx_ams_handoff_release(h);

        if (msg.kind == NGX_AMS_HANDOFF_EOS) {
            return NGX_AMS_HANDOFF_END;
        }

        if (stop) {
            return NGX_AMS_HANDOFF_AGAIN;
        }
    }

    return NGX_AMS_HANDOFF_AGAIN;
}


void
ngx_ams_handoff_destroy(ngx_ams_handoff_t *h)
{
    ngx_ams_store(&h->detached, 1);

    ngx_ams_handoff_unref(h);
}


static void
ngx_ams_handoff_unref(ngx_ams_handoff_t *h)
{
    /* the second of the two sides to leave frees it */
    if (__atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(h);
    }
}
