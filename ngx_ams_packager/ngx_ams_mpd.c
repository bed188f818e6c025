
/*
 * Copyright (C) nginx-ams authors
 */


#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_ams_mpd.h"
#include "ngx_ams_text.h"


static char *
ngx_ams_mpd_time(char *buf, size_t size, time_t t)
{
    struct tm  tm;

    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);

    return buf;
}


/* xs:duration of milliseconds: PT2.000S */

static char *
ngx_ams_mpd_duration(char *buf, size_t size, int64_t ms)
{
    snprintf(buf, size, "PT%lld.%03lldS", (long long) (ms / 1000),
             (long long) (ms % 1000));

    return buf;
}


int
ngx_ams_mpd_write(ngx_ams_buf_t *out, const ngx_ams_mpd_t *mpd,
    const ngx_ams_mpd_representation_t *r, size_t n)
{
    int                                  rc;
    char                                 t1[32], t2[32], d1[32], d2[32];
    char                                 d3[32], d4[32];
    size_t                               i, k;
    const ngx_ams_segment_t             *s;
    const ngx_ams_mpd_representation_t  *rep;

    rc = ngx_ams_text(out,
                      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                      "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" "
                      "profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" ");

    if (mpd->ended) {
        rc |= ngx_ams_text(out,
                           "type=\"static\" mediaPresentationDuration=\"%s\" "
                           "minBufferTime=\"%s\">\n",
                           ngx_ams_mpd_duration(d1, sizeof(d1),
                                                mpd->duration_ms),
                           ngx_ams_mpd_duration(d2, sizeof(d2),
                                                mpd->segment_ms));

    } else {
        rc |= ngx_ams_text(out,
                           "type=\"dynamic\" availabilityStartTime=\"%s\" "
                           "publishTime=\"%s\" minimumUpdatePeriod=\"%s\" "
                           "minBufferTime=\"%s\" "
                           "timeShiftBufferDepth=\"%s\" "
                           "suggestedPresentationDelay=\"%s\">\n",
                           ngx_ams_mpd_time(t1, sizeof(t1), mpd->available),
                           ngx_ams_mpd_time(t2, sizeof(t2), mpd->published),
                           ngx_ams_mpd_duration(d1, sizeof(d1),
                                                mpd->segment_ms),
                           d1,
                           ngx_ams_mpd_duration(d3, sizeof(d3),
                                                mpd->segment_ms
                                                * mpd->list_size),
                           ngx_ams_mpd_duration(d4, sizeof(d4),
                                                mpd->segment_ms * 3));
    }

    rc |= ngx_ams_text(out, "  <Period id=\"0\" start=\"PT0S\">\n");

    for (i = 0; i < n; i++) {
        rep = &r[i];

        rc |= ngx_ams_text(out,
                           "    <AdaptationSet contentType=\"%s\" "
                           "mimeType=\"%s/mp4\" segmentAlignment=\"true\" "
                           "startWithSAP=\"1\">\n"
                           "      <Representation id=\"%s\" "
                           "codecs=\"%s\" ",
                           rep->video ? "video" : "audio",
                           rep->video ? "video" : "audio", rep->id,
                           rep->codecs);

        if (rep->video) {
            rc |= ngx_ams_text(out,
                               "width=\"%u\" height=\"%u\" "
                               "bandwidth=\"%llu\">\n",
                               rep->width, rep->height,
                               (unsigned long long) rep->bandwidth);

        } else {
            rc |= ngx_ams_text(out,
                               "audioSamplingRate=\"%u\" "
                               "bandwidth=\"%llu\">\n"
                               "        <AudioChannelConfiguration "
                               "schemeIdUri=\"urn:mpeg:dash:23003:3:"
                               "audio_channel_configuration:2011\" "
                               "value=\"%u\"/>\n",
                               rep->sample_rate,
                               (unsigned long long) rep->bandwidth,
                               rep->channels);
        }

        rc |= ngx_ams_text(out,
                           "        <SegmentTemplate timescale=\"%u\" "
                           "presentationTimeOffset=\"%lld\" "
                           "initialization=\"%s\" "
                           "media=\"%s\" startNumber=\"%llu\">\n"
                           "          <SegmentTimeline>\n",
                           rep->timescale, (long long) rep->offset,
                           rep->init, rep->media,
                           (unsigned long long) (rep->nsegments
                                                  ? rep->segments[0].seq : 0));

        for (k = 0; k < rep->nsegments; k++) {
            s = &rep->segments[k];
            rc |= ngx_ams_text(out,
                               "            <S t=\"%lld\" d=\"%lld\"/>\n",
                               (long long) s->start, (long long) s->duration);
        }

        rc |= ngx_ams_text(out,
                           "          </SegmentTimeline>\n"
                           "        </SegmentTemplate>\n"
                           "      </Representation>\n"
                           "    </AdaptationSet>\n");
    }

    rc |= ngx_ams_text(out, "  </Period>\n</MPD>\n");

    return rc ? -1 : 0;
}


/* the first "s" in [p, end), or NULL */
static const char *
ngx_ams_mpd_find(const char *p, const char *end, const char *s)
{
    size_t  n = strlen(s);

    for ( /* void */ ; p + n <= end; p++) {
        if (*p == s[0] && memcmp(p, s, n) == 0) {
            return p;
        }
    }

    return NULL;
}


/* the decimal digits at p, never past end (the text need not end in a
 * NUL); -1 if none or too long */
static long long
ngx_ams_mpd_number(const char *p, const char *end)
{
    long long  n;

    if (p >= end || *p < '0' || *p > '9') {
        return -1;
    }

    for (n = 0; p < end && *p >= '0' && *p <= '9'; p++) {
        if (n > (LLONG_MAX - 9) / 10) {
            return -1;
        }

        n = n * 10 + (*p - '0');
    }

    return n;
}


/* the number after name="  in [p, end), or -1 */
static long long
ngx_ams_mpd_attr(const char *p, const char *end, const char *name)
{
    p = ngx_ams_mpd_find(p, end, name);

    if (p == NULL) {
        return -1;
    }

    return ngx_ams_mpd_number(p + strlen(name), end);
}


int
ngx_ams_mpd_close(ngx_ams_buf_t *out, const char *text, size_t len)
{
    char         d[32];
    int64_t      ms, best;
    long long    ts, pto, t, dur;
    const char  *end, *type, *tag_end, *p, *tl_end, *s, *mbt, *mbt_end;

    end = text + len;

    type = ngx_ams_mpd_find(text, end, "<MPD ");
    if (type == NULL) {
        return -1;
    }

    tag_end = ngx_ams_mpd_find(type, end, ">");
    if (tag_end == NULL) {
        return -1;
    }

    if (ngx_ams_mpd_find(type, tag_end, "type=\"static\"")) {
        return 0;
    }

    type = ngx_ams_mpd_find(type, tag_end, "type=\"dynamic\"");
    mbt = ngx_ams_mpd_find(text, tag_end, "minBufferTime=\"");
    if (type == NULL || mbt == NULL) {
        return -1;
    }

    mbt += sizeof("minBufferTime=\"") - 1;
    mbt_end = memchr(mbt, '"', tag_end - mbt);
    if (mbt_end == NULL) {
        return -1;
    }

    /* each timeline's end, less where its presentation starts */
    best = 0;

    for (p = tag_end;
         (p = ngx_ams_mpd_find(p, end, "<SegmentTemplate ")) != NULL;
         p = tl_end)
    {
        tl_end = ngx_ams_mpd_find(p, end, "</SegmentTimeline>");
        if (tl_end == NULL) {
            return -1;
        }

        ts = ngx_ams_mpd_attr(p, tl_end, "timescale=\"");
        pto = ngx_ams_mpd_attr(p, tl_end, "presentationTimeOffset=\"");
        if (ts <= 0 || pto < 0) {
            return -1;
        }

        t = -1;
        dur = 0;

        for (s = p; (s = ngx_ams_mpd_find(s, tl_end, "<S t=\"")) != NULL;
             s++)
        {
            t = ngx_ams_mpd_number(s + 6, tl_end);
            dur = ngx_ams_mpd_attr(s, tl_end, "d=\"");
        }

        if (t >= 0 && dur > 0) {
            ms = (int64_t) (t + dur - pto) * 1000 / ts;
            if (ms > best) {
                best = ms;
            }
        }
    }

    if (ngx_ams_buf_append(out, text, type - text) != 0
        || ngx_ams_text(out, "type=\"static\" mediaPresentationDuration=\"%s\" "
                        "minBufferTime=\"%.*s\"",
                        ngx_ams_mpd_duration(d, sizeof(d), best),
                        (int) (mbt_end - mbt), mbt)
           != 0
        || ngx_ams_buf_append(out, tag_end, end - tag_end) != 0)
    {
        return -1;
    }

    return 1;
}
