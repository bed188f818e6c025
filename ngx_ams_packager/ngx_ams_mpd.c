
/*
 * Copyright (C) nginx-ams authors
 */


#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_ams_mpd.h"
#include "ngx_ams_text.h"


/* xs:dateTime of milliseconds since the epoch: 2026-01-01T00:00:00.123Z */

static char *
ngx_ams_mpd_time(char *buf, size_t size, int64_t ms)
{
    time_t     t;
    struct tm  tm;

    t = (time_t) (ms / 1000);
    gmtime_r(&t, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (ms % 1000));

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


/* text for an attribute's value between double quotes */

static int
ngx_ams_mpd_escape(ngx_ams_buf_t *out, const char *s)
{
    int  rc;

    for (rc = 0; *s; s++) {
        switch (*s) {
        case '&':
            rc |= ngx_ams_text(out, "&amp;");
            break;
        case '"':
            rc |= ngx_ams_text(out, "&quot;");
            break;
        case '<':
            rc |= ngx_ams_text(out, "&lt;");
            break;
        case '>':
            rc |= ngx_ams_text(out, "&gt;");
            break;
        default:
            rc |= ngx_ams_buf_append(out, s, 1);
        }
    }

    return rc;
}


static int
ngx_ams_mpd_representation(ngx_ams_buf_t *out, const ngx_ams_mpd_t *mpd,
    const ngx_ams_mpd_representation_t *rep)
{
    int                       rc;
    size_t                    k;
    int64_t                   d;
    const ngx_ams_segment_t  *s;

    rc = ngx_ams_text(out, "      <Representation id=\"%s\" codecs=\"%s\" ",
                      rep->id, rep->codecs);

    if (rep->video) {
        rc |= ngx_ams_text(out, "width=\"%u\" height=\"%u\" ",
                           rep->width, rep->height);

        if (rep->fps_num) {
            rc |= (rep->fps_den > 1)
                  ? ngx_ams_text(out, "frameRate=\"%u/%u\" ", rep->fps_num,
                                 rep->fps_den)
                  : ngx_ams_text(out, "frameRate=\"%u\" ", rep->fps_num);
        }

        rc |= ngx_ams_text(out, "bandwidth=\"%llu\">\n",
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
                       "presentationTimeOffset=\"%lld\" ",
                       rep->timescale, (long long) rep->offset);

    /* low-latency DASH: a segment may be fetched while it is written */
    if (!mpd->ended && mpd->availability_time_offset > 0) {
        rc |= ngx_ams_text(out, "availabilityTimeOffset=\"%.3f\" "
                           "availabilityTimeComplete=\"false\" ",
                           mpd->availability_time_offset);
    }

    rc |= ngx_ams_text(out,
                       "initialization=\"%s\" "
                       "media=\"%s\" startNumber=\"%llu\">\n"
                       "          <SegmentTimeline>\n",
                       rep->init, rep->media,
                       (unsigned long long) (rep->nsegments
                                              ? rep->segments[0].seq : 0));

    for (k = 0; k < rep->nsegments; k++) {
        s = &rep->segments[k];
        d = s->duration;

        /*
         * Each segment lasts until the next begins: an AAC frame across
         * a cut keeps its whole length while the next fragment starts at
         * its first frame's time, a few ticks apart after RTMP's
         * milliseconds are rescaled, and a timeline with such overlaps
         * is no continuous one to players.  The fragments' own times
         * (tfdt) stay as they are.  A gap left by lost segments stays.
         */
        if (k + 1 < rep->nsegments && !s[1].discontinuity
            && s[1].start > s->start)
        {
            d = s[1].start - s->start;
        }

        rc |= ngx_ams_text(out,
                           "            <S t=\"%lld\" d=\"%lld\"/>\n",
                           (long long) s->start, (long long) d);
    }

    rc |= ngx_ams_text(out,
                       "          </SegmentTimeline>\n"
                       "        </SegmentTemplate>\n"
                       "      </Representation>\n");

    return rc;
}


/*
 * The DASH-IF live profile (IOP 4.3): availabilityStartTime is the wall
 * clock of presentation time 0 (each timeline's presentationTimeOffset),
 * to the millisecond, so a segment's end is when it is listed;
 * minimumUpdatePeriod one segment (a new one is listed each time);
 * timeShiftBufferDepth the timeline's length; suggestedPresentationDelay
 * three segments, behind the newest whole segment a player can fetch;
 * publishTime changes with every MPD.  UTCTiming comes last in the MPD
 * element (its schema's order).
 */

int
ngx_ams_mpd_write(ngx_ams_buf_t *out, const ngx_ams_mpd_t *mpd,
    const ngx_ams_mpd_representation_t *r, size_t n)
{
    int                                  rc;
    char                                 t1[80], t2[80], d1[32], d2[32];
    char                                 d3[32], d4[32];
    size_t                               i;
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
                           ngx_ams_mpd_time(t1, sizeof(t1), mpd->available_ms),
                           ngx_ams_mpd_time(t2, sizeof(t2), mpd->published_ms),
                           ngx_ams_mpd_duration(d1, sizeof(d1),
                                                mpd->update_ms
                                                ? mpd->update_ms
                                                : mpd->segment_ms),
                           ngx_ams_mpd_duration(d2, sizeof(d2),
                                                mpd->segment_ms),
                           ngx_ams_mpd_duration(d3, sizeof(d3),
                                                mpd->segment_ms
                                                * mpd->list_size),
                           ngx_ams_mpd_duration(d4, sizeof(d4),
                                                mpd->segment_ms * 3));
    }

    /*
     * Low-latency DASH (DASH-IF "Low-latency Modes for DASH", 9.X.4.2):
     * the latency the service aims at, and how far players may speed up
     * or slow down to keep it; dash.js takes its live delay from it.
     */
    if (!mpd->ended && mpd->latency_ms > 0) {
        rc |= ngx_ams_text(out,
                           "  <ServiceDescription id=\"0\">\n"
                           "    <Latency target=\"%lld\" min=\"%lld\" "
                           "max=\"%lld\"/>\n"
                           "    <PlaybackRate min=\"0.96\" max=\"1.04\"/>\n"
                           "  </ServiceDescription>\n",
                           (long long) mpd->latency_ms,
                           (long long) mpd->latency_ms / 2,
                           (long long) mpd->latency_ms * 2);
    }

    rc |= ngx_ams_text(out, "  <Period id=\"0\" start=\"PT0S\">\n");

    for (i = 0; i < n; i++) {
        rep = &r[i];

        /* representations of one kind side by side: one set, so a player
         * switches between them */
        if (i == 0 || r[i - 1].video != rep->video) {
            rc |= ngx_ams_text(out,
                               "    <AdaptationSet contentType=\"%s\" "
                               "mimeType=\"%s/mp4\" "
                               "segmentAlignment=\"true\" "
                               "startWithSAP=\"1\">\n",
                               rep->video ? "video" : "audio",
                               rep->video ? "video" : "audio");
        }

        rc |= ngx_ams_mpd_representation(out, mpd, rep);

        if (i == n - 1 || r[i + 1].video != rep->video) {
            rc |= ngx_ams_text(out, "    </AdaptationSet>\n");
        }
    }

    rc |= ngx_ams_text(out, "  </Period>\n");

    if (!mpd->ended) {
        if (mpd->utc_timing && mpd->utc_timing[0]) {
            rc |= ngx_ams_text(out, "  <UTCTiming schemeIdUri=\"urn:mpeg:dash:"
                               "utc:http-iso:2014\" value=\"");
            rc |= ngx_ams_mpd_escape(out, mpd->utc_timing);
            rc |= ngx_ams_text(out, "\"/>\n");
        }

        /* stale by the MPD's age: a player behind it plays later, never
         * ahead of what is written */
        rc |= ngx_ams_text(out, "  <UTCTiming schemeIdUri=\"urn:mpeg:dash:"
                           "utc:direct:2014\" value=\"%s\"/>\n", t2);
    }

    rc |= ngx_ams_text(out, "</MPD>\n");

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
           != 0)
    {
        return -1;
    }

    /* the rest, less the UTCTiming elements: a static MPD has no clock */
    for (p = tag_end; p < end; p = s) {
        s = ngx_ams_mpd_find(p, end, "  <UTCTiming ");
        if (s == NULL) {
            s = end;
        }

        if (ngx_ams_buf_append(out, p, s - p) != 0) {
            return -1;
        }

        if (s < end) {
            s = ngx_ams_mpd_find(s, end, "/>\n");
            if (s == NULL) {
                return -1;
            }

            s += 3;
        }
    }

    return 1;
}
