
/*
 * Copyright (C) nginx-ams authors
 *
 * The SQL of the embedded store (no nginx types): the schema and the
 * statement of each store operation, so they can be run against an
 * in-memory database by the unit tests.
 *
 * Every statement takes the same first five parameters, whether it uses
 * them or not (NGX_AMS_STORE_SQL_*); a statement's own start at
 * NGX_AMS_STORE_SQL_ARG.
 */


#ifndef _NGX_AMS_STORE_SQL_H_INCLUDED_
#define _NGX_AMS_STORE_SQL_H_INCLUDED_


#include <stddef.h>


#define NGX_AMS_STORE_SQL_NOW     1   /* wall clock, ms */
#define NGX_AMS_STORE_SQL_COLL    2
#define NGX_AMS_STORE_SQL_APP     3
#define NGX_AMS_STORE_SQL_ID      4
#define NGX_AMS_STORE_SQL_FRESH   5   /* "broadcasting" refreshed before
                                         this reads terminated_unexpectedly */
#define NGX_AMS_STORE_SQL_ARG     6

/*
 * UPDATE and the zombi DELETE also take ?99: a publish session, or NULL.
 * When set, only a record whose publishSession is that one (or that has
 * none: the REST API made it) matches, so the end of a stream cannot
 * finish or delete the record of the next publish of its name, which
 * another worker's thread may have written first.
 */
#define NGX_AMS_STORE_SQL_SESSION 99


extern const char  ngx_ams_store_sql_schema[];

/* ?6: nothing */
extern const char  ngx_ams_store_sql_get[];
extern const char  ngx_ams_store_sql_take[];
extern const char  ngx_ams_store_sql_delete[];
extern const char  ngx_ams_store_sql_delete_zombi[];
extern const char  ngx_ams_store_sql_count[];
extern const char  ngx_ams_store_sql_count_live[];

/* ?6: the document (JSON text) */
extern const char  ngx_ams_store_sql_insert[];

/* ?6: this node's originAdress; ?1 is the cold start: records refreshed
 * since then belong to this run and are left alone.  The zombi ones go
 * first (deleted, as their end would have), then the rest are ended. */
extern const char  ngx_ams_store_sql_reset_zombi[];
extern const char  ngx_ams_store_sql_reset[];

/* ?2 the collection of one-time tokens: those whose expireDate (seconds)
 * is not after ?1 (ms) are deleted, in every application */
extern const char  ngx_ams_store_sql_purge[];


/* ?6 a field name, ?7 ms: docs whose field is below it are deleted */
extern const char  ngx_ams_store_sql_expire[];

/* ?6 this node's originAdress: the doc, and 1 when another node's live
 * stream holds the id */
extern const char  ngx_ams_store_sql_claim[];


/*
 * ?6 the $set document (a JSON merge patch), then for each $inc a field
 * name and an integer (?7 ?8, ?9 ?10, ...).  0, or -1 if "size" is short.
 */
int ngx_ams_store_sql_update(char *buf, size_t size, unsigned incs);

/*
 * ?6 the search text (only when "search"), ?7 the size, ?8 the offset.
 * "sort_by" is NULL or a field name; only "name", "date" and "status"
 * sort, anything else keeps creation order.
 */
int ngx_ams_store_sql_list(char *buf, size_t size, const char *sort_by,
    int descending, int search);


#endif /* _NGX_AMS_STORE_SQL_H_INCLUDED_ */
