
/*
 * Copyright (C) nginx-ams authors
 */


#include <string.h>

#include "ngx_ams_ring.h"


#define ngx_ams_load(p)       __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define ngx_ams_store(p, v)   __atomic_store_n(p, v, __ATOMIC_RELEASE)
#define ngx_ams_fence_rel()   __atomic_thread_fence(__ATOMIC_RELEASE)
#define ngx_ams_fence_acq()   __atomic_thread_fence(__ATOMIC_ACQUIRE)


static ngx_ams_frame_t *ngx_ams_ring_index(ngx_ams_ring_t *ring);
static uint8_t *ngx_ams_ring_data(ngx_ams_ring_t *ring);
static int ngx_ams_ring_load_frame(ngx_ams_ring_t *ring, uint64_t seq,
    ngx_ams_frame_t *frame);
static void ngx_ams_ring_skip(ngx_ams_ring_t *ring, ngx_ams_ring_reader_t *rd,
    uint64_t write_seq);


size_t
ngx_ams_ring_size(uint32_t index_size, uint32_t data_size)
{
    return sizeof(ngx_ams_ring_t) + index_size * sizeof(ngx_ams_frame_t)
           + data_size;
}


void
ngx_ams_ring_init(ngx_ams_ring_t *ring, uint32_t index_size,
    uint32_t data_size)
{
    uint32_t          i;
    ngx_ams_frame_t  *index;

    memset(ring, 0, sizeof(ngx_ams_ring_t));

    ring->index_size = index_size;
    ring->data_size = data_size;
    ring->last_key_seq = NGX_AMS_RING_NO_SEQ;

    index = ngx_ams_ring_index(ring);

    for (i = 0; i < index_size; i++) {
        index[i].seq = NGX_AMS_RING_NO_SEQ;
    }
}


static ngx_ams_frame_t *
ngx_ams_ring_index(ngx_ams_ring_t *ring)
{
    return (ngx_ams_frame_t *) (ring + 1);
}


static uint8_t *
ngx_ams_ring_data(ngx_ams_ring_t *ring)
{
    return (uint8_t *) (ngx_ams_ring_index(ring) + ring->index_size);
}


/* Context: the one writer process */

int
ngx_ams_ring_write(ngx_ams_ring_t *ring, ngx_ams_frame_t *frame,
    const uint8_t *data)
{
    uint64_t          seq, pos, phys;
    ngx_ams_frame_t  *slot;

    /* half the area at most, so readers always have room to catch up */
    if (frame->size > ring->data_size / 2) {
        return NGX_AMS_RING_TOO_BIG;
    }

    seq = ring->write_seq;
    pos = ring->head;
    phys = pos % ring->data_size;

    if (phys + frame->size > ring->data_size) {
        /* a frame is never split: waste the tail and wrap */
        pos += ring->data_size - phys;
        phys = 0;
    }

    /* announce the bytes about to be overwritten before touching them */
    __atomic_store_n(&ring->reserve, pos + frame->size, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    memcpy(ngx_ams_ring_data(ring) + phys, data, frame->size);

    slot = &ngx_ams_ring_index(ring)[seq & (ring->index_size - 1)];

    __atomic_store_n(&slot->seq, NGX_AMS_RING_NO_SEQ, __ATOMIC_RELAXED);
    ngx_ams_fence_rel();

    slot->pos = pos;
    slot->dts = frame->dts;
    slot->cts = frame->cts;
    slot->size = frame->size;
    slot->track = frame->track;
    slot->codec = frame->codec;
    slot->flags = frame->flags;
    slot->config_version = ring->config[frame->track].version;

    ngx_ams_store(&slot->seq, seq);

    frame->seq = seq;
    frame->pos = pos;
    frame->config_version = slot->config_version;

    ring->head = pos + frame->size;

    if (frame->flags & NGX_AMS_FRAME_KEY) {
        ngx_ams_store(&ring->last_key_seq, seq);
    }

    ngx_ams_store(&ring->write_seq, seq + 1);

    return NGX_AMS_RING_OK;
}


/*
 * Context: the one writer.  Readers may still be reading "from": nothing
 * writes there any more, so what they copy stays intact.  "to" is not
 * visible to readers until the caller publishes it.
 */

void
ngx_ams_ring_move(ngx_ams_ring_t *to, ngx_ams_ring_t *from)
{
    uint64_t          seq, first, ws;
    uint32_t          phys;
    ngx_ams_frame_t   f, *slot;

    ws = from->write_seq;
    first = ws > from->index_size ? ws - from->index_size : 0;

    /* overwritten frames are the oldest ones: the intact ones follow */
    while (first < ws
           && !(ngx_ams_ring_load_frame(from, first, &f)
                && ngx_ams_ring_intact(from, &f)))
    {
        first++;
    }

    memcpy(to->config, from->config, sizeof(to->config));

    for (seq = first; seq < ws; seq++) {
        if (!ngx_ams_ring_load_frame(from, seq, &f)
            || to->head + f.size > to->data_size
            || seq + to->index_size < ws)
        {
            continue;
        }

        phys = (uint32_t) (to->head % to->data_size);

        memcpy(ngx_ams_ring_data(to) + phys,
               ngx_ams_ring_data(from) + f.pos % from->data_size, f.size);

        slot = &ngx_ams_ring_index(to)[seq & (to->index_size - 1)];
        *slot = f;
        slot->pos = to->head;

        to->head += f.size;
    }

    to->reserve = to->head;
    to->last_key_seq = from->last_key_seq;
    to->write_seq = ws;
}


void
ngx_ams_ring_set_config(ngx_ams_ring_t *ring, unsigned track, uint32_t codec,
    const uint8_t *data, uint32_t len)
{
    uint32_t                v;
    ngx_ams_ring_config_t  *cf;

    cf = &ring->config[track];

    if (len > NGX_AMS_CONFIG_MAX) {
        len = NGX_AMS_CONFIG_MAX;
    }

    v = cf->version;
    __atomic_store_n(&cf->version, v + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    cf->codec = codec;
    cf->len = len;
    memcpy(cf->data, data, len);

    ngx_ams_store(&cf->version, v + 2);
}


int
ngx_ams_ring_get_config(ngx_ams_ring_t *ring, unsigned track, uint32_t *codec,
    uint8_t *buf, uint32_t *len, uint32_t *version)
{
    int                     tries;
    uint32_t                v1, v2, n;
    ngx_ams_ring_config_t  *cf;

    cf = &ring->config[track];

    for (tries = 0; tries < 100; tries++) {
        v1 = ngx_ams_load(&cf->version);

        if (v1 & 1) {
            continue;
        }

        n = cf->len;
        if (n > NGX_AMS_CONFIG_MAX) {
            continue;
        }

        *codec = cf->codec;
        memcpy(buf, cf->data, n);

        ngx_ams_fence_acq();
        v2 = __atomic_load_n(&cf->version, __ATOMIC_RELAXED);

        if (v1 == v2) {
            *len = n;
            *version = v1;
            return NGX_AMS_RING_OK;
        }
    }

    return NGX_AMS_RING_AGAIN;
}


uint32_t
ngx_ams_ring_config_version(ngx_ams_ring_t *ring, unsigned track)
{
    return ngx_ams_load(&ring->config[track].version);
}


/* Context: any reader, any process */

void
ngx_ams_ring_reader_join(ngx_ams_ring_t *ring, ngx_ams_ring_reader_t *rd)
{
    uint64_t  key;

    memset(rd, 0, sizeof(ngx_ams_ring_reader_t));

    key = ngx_ams_load(&ring->last_key_seq);

    if (key != NGX_AMS_RING_NO_SEQ) {
        rd->next_seq = key;
        rd->started = 1;

    } else {
        rd->next_seq = ngx_ams_load(&ring->write_seq);
    }
}


static int
ngx_ams_ring_load_frame(ngx_ams_ring_t *ring, uint64_t seq,
    ngx_ams_frame_t *frame)
{
    ngx_ams_frame_t  *slot;

    slot = &ngx_ams_ring_index(ring)[seq & (ring->index_size - 1)];

    if (ngx_ams_load(&slot->seq) != seq) {
        return 0;
    }

    *frame = *slot;

    ngx_ams_fence_acq();

    return __atomic_load_n(&slot->seq, __ATOMIC_RELAXED) == seq
           && frame->seq == seq;
}


int
ngx_ams_ring_intact(ngx_ams_ring_t *ring, const ngx_ams_frame_t *frame)
{
    ngx_ams_fence_acq();

    return __atomic_load_n(&ring->reserve, __ATOMIC_RELAXED)
           <= frame->pos + ring->data_size;
}


/*
 * Moves an overrun reader to the oldest keyframe that is still intact and
 * not about to be overwritten, or to the latest keyframe if none is.
 */

static void
ngx_ams_ring_skip(ngx_ams_ring_t *ring, ngx_ams_ring_reader_t *rd,
    uint64_t write_seq)
{
    uint64_t         seq, from, target, safe;
    ngx_ams_frame_t  f;

    from = rd->next_seq + 1;
    if (write_seq - from > ring->index_size) {
        from = write_seq - ring->index_size;
    }

    target = write_seq;
    safe = ring->data_size - ring->data_size / 4;

    for (seq = from; seq < write_seq; seq++) {
        if (!ngx_ams_ring_load_frame(ring, seq, &f)) {
            continue;
        }

        if ((f.flags & NGX_AMS_FRAME_KEY)
            && ngx_ams_load(&ring->reserve) <= f.pos + safe)
        {
            target = seq;
            break;
        }
    }

    if (target == write_seq) {
        seq = ngx_ams_load(&ring->last_key_seq);
        if (seq != NGX_AMS_RING_NO_SEQ && seq >= from) {
            target = seq;
        }
    }

    rd->dropped += target - rd->next_seq;
    rd->skips++;
    rd->next_seq = target;
    rd->started = (target != write_seq);
}


int
ngx_ams_ring_peek(ngx_ams_ring_t *ring, ngx_ams_ring_reader_t *rd,
    ngx_ams_frame_t *frame, const uint8_t **data)
{
    uint64_t  ws, key;

    ws = ngx_ams_load(&ring->write_seq);

    if (!rd->started) {
        /* a reader begins at a keyframe: wait for one */
        key = ngx_ams_load(&ring->last_key_seq);

        if (key != NGX_AMS_RING_NO_SEQ && key >= rd->next_seq && key < ws) {
            rd->next_seq = key;
            rd->started = 1;

        } else {
            rd->next_seq = ws;
            return NGX_AMS_RING_AGAIN;
        }
    }

    if (rd->next_seq >= ws) {
        return NGX_AMS_RING_AGAIN;
    }

    if (ws - rd->next_seq > ring->index_size
        || !ngx_ams_ring_load_frame(ring, rd->next_seq, frame)
        || !ngx_ams_ring_intact(ring, frame))
    {
        ngx_ams_ring_skip(ring, rd, ws);
        return NGX_AMS_RING_SKIPPED;
    }

    *data = ngx_ams_ring_data(ring) + frame->pos % ring->data_size;

    return NGX_AMS_RING_OK;
}


/* a copying read: peek, copy, check the copy is intact, advance */

int
ngx_ams_ring_read(ngx_ams_ring_t *ring, ngx_ams_ring_reader_t *rd,
    ngx_ams_frame_t *frame, uint8_t *buf, size_t cap)
{
    int             rc;
    const uint8_t  *data;

    for ( ;; ) {
        rc = ngx_ams_ring_peek(ring, rd, frame, &data);

        if (rc == NGX_AMS_RING_SKIPPED) {
            continue;
        }

        if (rc != NGX_AMS_RING_OK) {
            return rc;
        }

        if (frame->size > cap) {
            return NGX_AMS_RING_TOO_BIG;
        }

        memcpy(buf, data, frame->size);

        if (!ngx_ams_ring_intact(ring, frame)) {
            ngx_ams_ring_skip(ring, rd, ngx_ams_load(&ring->write_seq));
            continue;
        }

        rd->next_seq = frame->seq + 1;

        return NGX_AMS_RING_OK;
    }
}


/* Context: any reader, any process */

void
ngx_ams_ring_cursor_join(ngx_ams_ring_t *ring, ngx_ams_ring_cursor_t *c)
{
    memset(c, 0, sizeof(ngx_ams_ring_cursor_t));
    ngx_ams_ring_reader_join(ring, &c->pos);
}


int
ngx_ams_ring_next(ngx_ams_ring_t *ring, ngx_ams_ring_cursor_t *c, int ended,
    ngx_ams_ring_event_t *ev)
{
    int             rc;
    uint32_t        codec, len, version;
    uint64_t        dropped;
    const uint8_t  *data;

    ev->ring = ring;

    /* metadata belongs to no frame: announce it whenever it changes */
    if (ngx_ams_ring_config_version(ring, NGX_AMS_TRACK_DATA)
        != c->config_seen[NGX_AMS_TRACK_DATA]
        && ngx_ams_ring_get_config(ring, NGX_AMS_TRACK_DATA, &codec,
                                   ev->config, &len, &version)
           == NGX_AMS_RING_OK)
    {
        ev->type = NGX_AMS_EVENT_CONFIG;
        ev->track = NGX_AMS_TRACK_DATA;
        ev->codec = codec;
        ev->data = ev->config;
        ev->len = len;
        ev->frame.config_version = version;
        return NGX_AMS_RING_OK;
    }

    dropped = c->pos.dropped;

    rc = ngx_ams_ring_peek(ring, &c->pos, &ev->frame, &data);

    if (rc == NGX_AMS_RING_SKIPPED) {
        ev->type = NGX_AMS_EVENT_SKIP;
        ev->dropped = c->pos.dropped - dropped;
        return NGX_AMS_RING_OK;
    }

    if (rc != NGX_AMS_RING_OK) {
        /* the writer ends the stream after its last frame */
        if (ended) {
            ev->type = NGX_AMS_EVENT_END;
            return NGX_AMS_RING_OK;
        }

        return NGX_AMS_RING_AGAIN;
    }

    ev->track = ev->frame.track;

    /* the data track's configuration was announced above, by itself */
    if (ev->frame.track != NGX_AMS_TRACK_DATA
        && ev->frame.config_version != c->config_seen[ev->frame.track])
    {
        if (ngx_ams_ring_get_config(ring, ev->frame.track, &codec,
                                    ev->config, &len, &version)
            != NGX_AMS_RING_OK)
        {
            return NGX_AMS_RING_AGAIN;
        }

        ev->type = NGX_AMS_EVENT_CONFIG;
        ev->codec = codec;
        ev->data = ev->config;
        ev->len = len;
        return NGX_AMS_RING_OK;
    }

    ev->type = NGX_AMS_EVENT_FRAME;
    ev->codec = ev->frame.codec;
    ev->data = data;
    ev->len = ev->frame.size;

    return NGX_AMS_RING_OK;
}


int
ngx_ams_ring_consume(ngx_ams_ring_cursor_t *c, ngx_ams_ring_event_t *ev)
{
    switch (ev->type) {

    case NGX_AMS_EVENT_FRAME:
        if (!ngx_ams_ring_intact(ev->ring, &ev->frame)) {
            /* the next event finds it overwritten and skips */
            return NGX_AMS_RING_AGAIN;
        }

        __atomic_store_n(&c->pos.next_seq, ev->frame.seq + 1,
                         __ATOMIC_RELAXED);
        break;

    case NGX_AMS_EVENT_CONFIG:
        /* a frame written under an older version passes too: the reader
         * has the newest configuration */
        c->config_seen[ev->track] = ev->frame.config_version;
        break;

    default:
        break;
    }

    return NGX_AMS_RING_OK;
}
