
/*
 * Copyright (C) nginx-ams authors
 *
 * ams_time: this node's clock for DASH players, as the MPD's UTCTiming
 * names it (urn:mpeg:dash:utc:http-iso:2014): the time as ISO 8601 with
 * milliseconds, "2026-01-01T00:00:00.123Z".
 *
 *   location = /ams/time { ams_time; }
 *
 * A live MPD's availabilityStartTime is this node's wall clock, so a
 * player must know how far its own clock is from it: without a source it
 * falls back to a public time server it may not reach, or to the MPD's
 * Date header (whole seconds), and computes the live edge up to a second
 * off.  The answer is never cached and open to any origin (players on
 * another site fetch it like the MPD).  It tells nothing a Date header
 * does not, so it answers anyone.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_ams_api.h"


ngx_int_t
ngx_ams_time_handler(ngx_http_request_t *r)
{
    ngx_tm_t          tm;
    ngx_int_t         rc;
    ngx_buf_t        *b;
    struct timeval    tv;
    ngx_table_elt_t  *h;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return NGX_HTTP_NOT_ALLOWED;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    b = ngx_create_temp_buf(r->pool, sizeof("2026-01-01T00:00:00.000Z") - 1);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* now, not the event loop's cached time of this iteration */
    ngx_gettimeofday(&tv);
    ngx_gmtime(tv.tv_sec, &tm);

    b->last = ngx_sprintf(b->pos, "%4d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                          tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                          tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                          (int) (tv.tv_usec / 1000));

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Cache-Control");
    ngx_str_set(&h->value, "no-store");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Access-Control-Allow-Origin");
    ngx_str_set(&h->value, "*");

    return ngx_ams_api_send(r, NGX_HTTP_OK, "text/plain", b);
}
