
/*
 * Copyright (C) nginx-ams authors
 *
 * AMS's AppSettings numbers sent as strings ("hlsTime": "2", "0.5"):
 * parsing and writing them as fixed-point integers.  No nginx types.
 */


#ifndef _NGX_AMS_SETTINGS_VALUE_H_INCLUDED_
#define _NGX_AMS_SETTINGS_VALUE_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>


/* "12", "1.5", "0.25" -> value * 10^digits; at most "digits" decimals,
 * no sign, no exponent, at most "max": 0, or -1 when invalid */
int ngx_ams_settings_decimal_parse(const char *s, size_t len,
    unsigned digits, int64_t max, int64_t *out);

/* value / 10^digits, without trailing zeros ("2", "1.5"); returns the
 * length written (a NUL follows), 0 if "size" is too small */
size_t ngx_ams_settings_decimal_format(char *buf, size_t size,
    int64_t value, unsigned digits);


#endif /* _NGX_AMS_SETTINGS_VALUE_H_INCLUDED_ */
