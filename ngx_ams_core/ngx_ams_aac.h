
/*
 * Copyright (C) nginx-ams authors
 *
 * AAC: the AudioSpecificConfig (ISO 14496-3) and ADTS headers.
 * Free of nginx types.
 */


#ifndef _NGX_AMS_AAC_H_INCLUDED_
#define _NGX_AMS_AAC_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_ADTS_HEADER_LEN  7


typedef struct {
    uint8_t    object_type;      /* 2 = AAC-LC */
    uint8_t    freq_index;
    uint8_t    channels;
    uint32_t   sample_rate;
} ngx_ams_aac_config_t;


/* returns 0, or -1 with *err naming what is wrong */
int ngx_ams_aac_parse_config(const uint8_t *p, size_t len,
    ngx_ams_aac_config_t *cfg, const char **err);
void ngx_ams_aac_adts_header(const ngx_ams_aac_config_t *cfg,
    size_t frame_len, uint8_t out[NGX_AMS_ADTS_HEADER_LEN]);


#endif /* _NGX_AMS_AAC_H_INCLUDED_ */
