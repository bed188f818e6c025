
/*
 * Copyright (C) nginx-ams authors
 *
 * H.264: the AVC decoder configuration record (ISO 14496-15) and the
 * fields of the SPS a packager needs.  Free of nginx types.
 */


#ifndef _NGX_AMS_AVC_H_INCLUDED_
#define _NGX_AMS_AVC_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_AVC_MAX_PS   8


typedef struct {
    const uint8_t  *data;
    uint16_t        len;
} ngx_ams_avc_ps_t;


typedef struct {
    uint8_t           profile;
    uint8_t           compat;
    uint8_t           level;
    uint8_t           nal_length_size;   /* 1, 2 or 4 */
    unsigned          nsps;
    unsigned          npps;
    ngx_ams_avc_ps_t  sps[NGX_AMS_AVC_MAX_PS];
    ngx_ams_avc_ps_t  pps[NGX_AMS_AVC_MAX_PS];
    uint32_t          width;             /* from the first SPS */
    uint32_t          height;
} ngx_ams_avc_config_t;


/* returns 0, or -1 with *err naming what is wrong */
int ngx_ams_avc_parse_config(const uint8_t *p, size_t len,
    ngx_ams_avc_config_t *cfg, const char **err);
int ngx_ams_avc_parse_sps(const uint8_t *p, size_t len, uint32_t *width,
    uint32_t *height);


#endif /* _NGX_AMS_AVC_H_INCLUDED_ */
