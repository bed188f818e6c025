
/*
 * Copyright (C) nginx-ams authors
 *
 * The MongoDB backend's documents and queries (no nginx types, no
 * server): JSON documents as BSON and back, the filters and updates each
 * store operation sends, and the database an application's collections
 * live in.  Unit-tested in t/unit/test_mongo_bson.c.
 *
 * Numbers: JSON integers are written as int64, reals as doubles.  Read
 * back, any number that is whole and exact in a double becomes a JSON
 * integer again (a wire server may hand int64 back as a double).  The
 * server's "_id" is never shown: documents are found by their
 * collection's id field (streamId, tokenId, id).
 */


#ifndef _NGX_AMS_MONGO_BSON_H_INCLUDED_
#define _NGX_AMS_MONGO_BSON_H_INCLUDED_


#include <stddef.h>
#include <stdint.h>
#include <bson/bson.h>
#include <jansson.h>


/* AMS's database of the cluster's own collections (application "") */
#define NGX_AMS_MONGO_CLUSTER_DB  "clusterdb"

#define NGX_AMS_MONGO_DB_LEN      64


/* appends each member of "obj" to "b": 0, or -1 (too deep, no memory) */
int ngx_ams_mongo_from_json(bson_t *b, json_t *obj);

/* a new JSON object of "b" without its top-level "_id"; NULL: no memory
 * or not a document */
json_t *ngx_ams_mongo_to_json(const bson_t *b);

/*
 * A "broadcasting" record whose updateTime (a number) is below "fresh"
 * was left by a node that died: it reads as terminated_unexpectedly.
 */
void ngx_ams_mongo_stale(json_t *doc, int64_t fresh);

/*
 * The database of application "app": its name, as Ant Media Server names
 * it, with what MongoDB refuses in database names ("/\\. \"$*<>:|?" and
 * control characters) as '_'; "clusterdb" for "".  "buf" holds
 * NGX_AMS_MONGO_DB_LEN bytes.
 */
void ngx_ams_mongo_db_name(const char *app, char *buf);

/*
 * An update of the store's UPDATE: "set" as a JSON merge patch ($set of
 * dotted paths, so an object merges into the stored one, and $unset for
 * nulls), "inc" ($inc; a field in both is incremented from its old
 * value, as the SQL store does), and always $set of the id field, so the
 * update is never empty.  Unlike json_patch(), an object patched into a
 * field that holds a scalar fails instead of replacing it.
 */
int ngx_ams_mongo_update_doc(bson_t *b, json_t *set, json_t *inc,
    const char *id_field, const char *id);

/*
 * The document an upsert inserts: "on_insert" with "set" over it and the
 * id field, under $setOnInsert (nothing else is written when the document
 * exists already).
 */
int ngx_ams_mongo_insert_doc(bson_t *b, json_t *on_insert, json_t *set,
    const char *id_field, const char *id);

/*
 * Appends the filter of one record: {id_field: id} and, when "session" is
 * not empty, only a record of that publish session or of none.  With
 * "zombi", only a record that a publish made.
 */
int ngx_ams_mongo_key(bson_t *b, const char *id_field, const char *id,
    const char *session, int zombi);

/*
 * The filter of a CLAIM's second step: the record of "id" that "origin"
 * may take: not broadcasting, or not refreshed since "fresh", or its own.
 */
int ngx_ams_mongo_claimable(bson_t *b, const char *id_field, const char *id,
    const char *session, const char *origin, int64_t fresh);

/* a LIST's search: "text" anywhere in the id or the name, any case */
int ngx_ams_mongo_search(bson_t *b, const char *id_field, const char *text);

/* the sort of a LIST: "sort_by" name, date or status, else creation */
int ngx_ams_mongo_sort(bson_t *b, const char *sort_by, int descending);

/* RESET's filter: this origin's records left broadcasting before "now" */
int ngx_ams_mongo_left_live(bson_t *b, const char *origin, int64_t now,
    int zombi);


#endif /* _NGX_AMS_MONGO_BSON_H_INCLUDED_ */
