
/*
 * Copyright (C) nginx-ams authors
 */


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
