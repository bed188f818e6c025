
/*
 * Copyright (C) nginx-ams authors
 */


#include <string.h>

#include "ngx_ams_aac.h"


static const uint32_t  ngx_ams_aac_rates[13] = {
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000,
    12000, 11025, 8000, 7350
};


int
ngx_ams_aac_parse_config(const uint8_t *p, size_t len,
    ngx_ams_aac_config_t *cfg, const char **err)
{
    memset(cfg, 0, sizeof(ngx_ams_aac_config_t));

    if (len < 2) {
        *err = "AAC config shorter than 2 bytes";
        return -1;
    }

    cfg->object_type = p[0] >> 3;
    cfg->freq_index = ((p[0] & 7) << 1) | (p[1] >> 7);
    cfg->channels = (p[1] >> 3) & 0xf;

    if (cfg->object_type == 0 || cfg->object_type == 31) {
        *err = "AAC object type not supported";
        return -1;
    }

    if (cfg->freq_index >= 13) {
        *err = "AAC sampling frequency index not supported";
        return -1;
    }

    if (cfg->channels == 0 || cfg->channels > 7) {
        *err = "AAC channel configuration not supported";
        return -1;
    }

    cfg->sample_rate = ngx_ams_aac_rates[cfg->freq_index];

    return 0;
}


void
ngx_ams_aac_adts_header(const ngx_ams_aac_config_t *cfg, size_t frame_len,
    uint8_t out[NGX_AMS_ADTS_HEADER_LEN])
{
    size_t   n;
    uint8_t  profile;

    n = frame_len + NGX_AMS_ADTS_HEADER_LEN;

    /* ADTS can only say profiles 1-4; HE-AAC is signalled as LC */
    profile = (cfg->object_type >= 1 && cfg->object_type <= 4)
              ? cfg->object_type - 1 : 1;

    out[0] = 0xff;
    out[1] = 0xf1;                       /* MPEG-4, layer 0, no CRC */
    out[2] = (uint8_t) ((profile << 6) | (cfg->freq_index << 2)
                        | (cfg->channels >> 2));
    out[3] = (uint8_t) (((cfg->channels & 3) << 6) | ((n >> 11) & 3));
    out[4] = (uint8_t) (n >> 3);
    out[5] = (uint8_t) (((n & 7) << 5) | 0x1f);
    out[6] = 0xfc;
}
