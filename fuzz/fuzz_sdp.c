
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: an SDP offer as WHIP/WHEP POST and AMS's WebSocket bring it
 * (parse, select, answer), and a trickle fragment as PATCH brings it.
 * The first byte picks the policy (role, twcc, VP8, data channels, the
 * stream's profile) and whether the rest is a fragment.  Whatever we
 * answer must be an SDP we ourselves read back.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_ams_sdp.h"


static ngx_ams_sdp_t  *offer, *back;
static char            answer[65536];


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t                    n;
    unsigned                  mode;
    const char               *err;
    ngx_ams_sdp_local_t       local;
    ngx_ams_sdp_policy_t      policy;
    ngx_ams_sdp_selection_t   sel;
    static const uint32_t     plid[4] = { 0, 0x42e01f, 0x4d0028, 0x640032 };

    if (offer == NULL) {
        offer = malloc(sizeof(ngx_ams_sdp_t));
        back = malloc(sizeof(ngx_ams_sdp_t));
    }

    if (size == 0) {
        return 0;
    }

    mode = data[0];
    data++;
    size--;

    if (mode & 0x80) {
        (void) ngx_ams_sdp_parse_fragment((const char *) data, size, offer,
                                          &err);
        return 0;
    }

    if (ngx_ams_sdp_parse((const char *) data, size, offer, &err) != 0) {
        return 0;
    }

    memset(&policy, 0, sizeof(policy));
    policy.role = (mode & 1) ? NGX_AMS_SDP_WE_SEND : NGX_AMS_SDP_WE_RECEIVE;
    policy.twcc = (mode >> 1) & 1;
    policy.allow_vp8 = (mode >> 2) & 1;
    policy.data_channels = (mode >> 3) & 1;
    policy.want_profile_level_id = plid[(mode >> 4) & 3];

    if (ngx_ams_sdp_select(offer, &policy, &sel, &err) != 0) {
        return 0;
    }

    memset(&local, 0, sizeof(local));
    local.ice_ufrag = "amsU1234";
    local.ice_pwd = "amsPwd0123456789abcdefgh";
    local.fingerprint =
        "0E:7B:60:64:8F:31:0C:46:1C:4D:5A:36:1E:99:04:3A:"
        "68:B9:8A:F8:C6:4B:0B:F7:7F:3E:28:0A:0B:64:55:E1";
    local.candidate[0].addr = "192.0.2.1";
    local.candidate[0].port = 50000;
    local.ncandidates = 1;
    local.audio_ssrc = 1;
    local.video_ssrc = 2;
    local.video_rtx_ssrc = 3;
    local.cname = "c";
    local.stream_id = "s";

    n = ngx_ams_sdp_answer(answer, sizeof(answer), offer, &sel, &local);

    /* an offer within our bounds gets an answer within them */
    if (n == 0 || n != strlen(answer)) {
        abort();
    }

    if (ngx_ams_sdp_parse(answer, n, back, &err) != 0
        || back->nmedia != offer->nmedia || !back->ice_lite)
    {
        abort();
    }

    return 0;
}
