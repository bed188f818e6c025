
/*
 * Copyright (C) nginx-ams authors
 *
 * An encoder's Annex B output in the bus's form, free of nginx types:
 * its parameter sets as an avcC, its packets with 4-byte NAL lengths.
 * One start-code scanner for both (and for the engine's look at an
 * extradata's SPS).
 */


#ifndef _NGX_AMS_TC_AVCC_H_INCLUDED_
#define _NGX_AMS_TC_AVCC_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/*
 * The next NAL unit of Annex B data at or after *pos: 1 with *nal and
 * *len (at least 1 byte, start code and trailing zero bytes left out),
 * *pos moved past it; 0 at the end.  A unit ends where 00 00 00 or
 * 00 00 01 begins (neither can occur inside one).
 */
int ngx_ams_tc_annexb_next(const uint8_t *p, size_t size, size_t *pos,
    const uint8_t **nal, size_t *len);

/* the first SPS and PPS of Annex B data as an avcC in out: its length,
 * or 0 when either is missing or it does not fit in cap */
size_t ngx_ams_tc_avcc_build(const uint8_t *p, size_t size, uint8_t *out,
    size_t cap);

/* Annex B to 4-byte lengths, delimiters and parameter sets left out (the
 * avcC carries those): the length written, 0 when nothing was found or it
 * does not fit in cap (size + 1 per unit is always enough) */
size_t ngx_ams_tc_annexb_to_avcc(const uint8_t *p, size_t size,
    uint8_t *out, size_t cap);


#endif /* _NGX_AMS_TC_AVCC_H_INCLUDED_ */
