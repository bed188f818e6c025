
/*
 * Copyright (C) nginx-ams authors
 *
 * libFuzzer: the encoder_settings parser (AMS's encoderSettings JSON, as
 * REST and the cluster's settings deliver it), and writing it back.
 */


#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngx_ams_ladder.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char              err[160], suffix[32];
    char             *text;
    json_t           *j;
    unsigned          i;
    ngx_ams_ladder_t  l, again;

    if (ngx_ams_ladder_parse((const char *) data, size, &l, err, sizeof(err))
        != 0)
    {
        return 0;
    }

    for (i = 0; i < l.n; i++) {
        (void) ngx_ams_ladder_rung_suffix(&l.rung[i], suffix, sizeof(suffix));
    }

    /* what is accepted writes back to what reads the same */
    j = ngx_ams_ladder_to_json(&l);
    if (j == NULL) {
        return 0;
    }

    text = json_dumps(j, JSON_COMPACT);
    json_decref(j);

    if (text) {
        if (ngx_ams_ladder_parse(text, strlen(text), &again, err,
                                 sizeof(err))
            != 0
            || again.n != l.n)
        {
            abort();
        }

        free(text);
    }

    return 0;
}
