
/*
 * Copyright (C) nginx-ams authors
 *
 * H.264: the AVC decoder configuration record (ISO 14496-15), the fields
 * of the SPS a packager needs, and the NAL units of an AVCC frame (each
 * preceded by its length in nal_length_size bytes).  Free of nginx types.
 */


#ifndef _NGX_AMS_AVC_H_INCLUDED_
#define _NGX_AMS_AVC_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


#define NGX_AMS_AVC_MAX_PS   8

#define NGX_AMS_AVC_NAL_AUD  9           /* access unit delimiter */


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


typedef struct {
    const uint8_t    *p;                 /* the next length field */
    const uint8_t    *end;
    unsigned          nal_length_size;
} ngx_ams_avc_nal_iter_t;


typedef struct {
    unsigned          type;              /* nal_unit_type, 5 bits */
    const uint8_t    *data;              /* from the NAL header byte */
    size_t            len;               /* at least 1 */
} ngx_ams_avc_nal_t;


/* returns 0, or -1 with *err naming what is wrong */
int ngx_ams_avc_parse_config(const uint8_t *p, size_t len,
    ngx_ams_avc_config_t *cfg, const char **err);
int ngx_ams_avc_parse_sps(const uint8_t *p, size_t len, uint32_t *width,
    uint32_t *height);

/*
 * NAL units of an AVCC frame, in order.  Units of length 0 carry nothing
 * and are passed over.  next() returns 1 with *nal set, 0 at the end of
 * the frame, or -1 with *err set when a length field is cut short or a
 * length runs past the end; a nal_length_size other than 1, 2 or 4 is
 * refused on the first call.
 */
void ngx_ams_avc_nal_init(ngx_ams_avc_nal_iter_t *it, const uint8_t *p,
    size_t len, unsigned nal_length_size);
int ngx_ams_avc_nal_next(ngx_ams_avc_nal_iter_t *it, ngx_ams_avc_nal_t *nal,
    const char **err);


#endif /* _NGX_AMS_AVC_H_INCLUDED_ */
