
/*
 * Copyright (C) nginx-ams authors
 *
 * Ant Media Server's Broadcast object (no nginx types).
 */


#ifndef _NGX_AMS_BROADCAST_SCHEMA_H_INCLUDED_
#define _NGX_AMS_BROADCAST_SCHEMA_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <jansson.h>


#define NGX_AMS_BROADCAST_ID_MAX       128   /* NGX_AMS_NAME_LEN */

#define NGX_AMS_STATUS_CREATED         "created"
#define NGX_AMS_STATUS_BROADCASTING    "broadcasting"
#define NGX_AMS_STATUS_FINISHED        "finished"
#define NGX_AMS_STATUS_TERMINATED      "terminated_unexpectedly"


/* a new record with AMS's defaults; NULL on no memory */
json_t *ngx_ams_broadcast_new(const char *id, int64_t now_ms);

/*
 * Checks a REST body: known fields must have AMS's types; only fields a
 * user may write are copied into *fields (the rest are ignored, as AMS
 * ignores them).  -1 with "error" filled for a wrong type.
 */
int ngx_ams_broadcast_fields(json_t *body, json_t **fields, char *error,
    size_t size);

/* a valid stream id: 1..127 of [A-Za-z0-9_.-], not starting with '.' */
int ngx_ams_broadcast_valid_id(const unsigned char *id, size_t len);


#endif /* _NGX_AMS_BROADCAST_SCHEMA_H_INCLUDED_ */
