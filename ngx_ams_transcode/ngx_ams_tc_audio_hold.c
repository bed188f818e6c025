
/*
 * Copyright (C) nginx-ams authors
 *
 * The engine's audio waiting for video (see the header).
 */


#include <stdlib.h>
#include <string.h>

#include "ngx_ams_tc_audio_hold.h"


void
ngx_ams_tc_hold_init(ngx_ams_tc_hold_t *h)
{
    memset(h, 0, sizeof(ngx_ams_tc_hold_t));
    h->last = &h->head;
}


int
ngx_ams_tc_hold_push(ngx_ams_tc_hold_t *h, const ngx_ams_frame_t *f,
    const uint8_t *data)
{
    ngx_ams_tc_audio_t  *a;

    a = malloc(sizeof(ngx_ams_tc_audio_t) + f->size);
    if (a == NULL) {
        return -1;
    }

    a->next = NULL;
    a->frame = *f;
    memcpy(a->data, data, f->size);
    *h->last = a;
    h->last = &a->next;
    h->n++;
    h->bytes += f->size;

    /* the largest, so timestamps that stand still or go back do not keep
     * the queue; a jump back of more than the hold is a new timeline */
    if (h->n == 1 || f->dts > h->newest
        || h->newest - f->dts > NGX_AMS_TC_AUDIO_HOLD)
    {
        h->newest = f->dts;
    }

    return 0;
}


ngx_ams_tc_audio_t *
ngx_ams_tc_hold_due(ngx_ams_tc_hold_t *h, int64_t upto, int all)
{
    ngx_ams_tc_audio_t  *a;

    a = h->head;
    if (a == NULL) {
        return NULL;
    }

    if (!all && a->frame.dts > upto
        && h->newest - a->frame.dts < NGX_AMS_TC_AUDIO_HOLD
        && h->n <= NGX_AMS_TC_AUDIO_FRAMES
        && h->bytes <= NGX_AMS_TC_AUDIO_BYTES)
    {
        return NULL;
    }

    h->head = a->next;
    if (h->head == NULL) {
        h->last = &h->head;
    }

    h->n--;
    h->bytes -= a->frame.size;

    return a;
}


void
ngx_ams_tc_hold_free(ngx_ams_tc_hold_t *h)
{
    ngx_ams_tc_audio_t  *a;

    while ((a = h->head) != NULL) {
        h->head = a->next;
        free(a);
    }

    ngx_ams_tc_hold_init(h);
}
