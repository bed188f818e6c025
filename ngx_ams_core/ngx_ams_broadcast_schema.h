
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

/*
 * Viewers of other nodes: each node that relays a stream keeps its own
 * counts under "nodeViewers" in the origin's record, one entry per node
 * (written whole with $set, so nodes never overwrite each other and a
 * write lost or repeated changes nothing), with its updateTime.  A
 * reader adds the entries refreshed since "fresh_ms" to the record's
 * totals and drops the map: a node that died stops counting once its
 * entry is older than the broadcast staleness window.
 */
#define NGX_AMS_BROADCAST_NODE_VIEWERS  "nodeViewers"

void ngx_ams_broadcast_add_node_viewers(json_t *doc, int64_t fresh_ms);

/* a node's key in "nodeViewers": its address, '.' and ':' as '_'
 * (MongoDB reads dots in a field name as a path) */
void ngx_ams_broadcast_node_key(const char *address, size_t len, char *key,
    size_t size);

/* a valid stream id: 1..127 of [A-Za-z0-9_.-], not starting with '.' */
int ngx_ams_broadcast_valid_id(const unsigned char *id, size_t len);


#endif /* _NGX_AMS_BROADCAST_SCHEMA_H_INCLUDED_ */
