
/*
 * Copyright (C) nginx-ams authors
 *
 * The embedded store's SQL: one table of JSON documents keyed by
 * (collection, app, id).  Fields that lists sort and filter on are stored
 * generated columns (computed on write) with indexes, so the documents
 * stay the shape MongoDB will hold.
 *
 * Staleness is applied on read: a "broadcasting" record whose updateTime
 * is older than ?5 (now less the broadcast_stale_timeout) was left by a
 * node that died, and reads as terminated_unexpectedly.  Nothing has to
 * sweep, and a node that never comes back cannot leave a stream "live".
 */


#include <stdio.h>
#include <string.h>

#include "ngx_ams_store_sql.h"


const char  ngx_ams_store_sql_schema[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS docs ("
    "  coll TEXT NOT NULL, app TEXT NOT NULL, id TEXT NOT NULL,"
    "  doc TEXT NOT NULL,"
    "  name TEXT GENERATED ALWAYS AS (json_extract(doc, '$.name')) STORED,"
    "  status TEXT"
    "    GENERATED ALWAYS AS (json_extract(doc, '$.status')) STORED,"
    "  date INTEGER"
    "    GENERATED ALWAYS AS (json_extract(doc, '$.date')) STORED,"
    "  update_time INTEGER"
    "    GENERATED ALWAYS AS (json_extract(doc, '$.updateTime')) STORED,"
    "  UNIQUE (coll, app, id));"
    /* (coll, app) is also (coll, app, rowid): creation order, no sort */
    "CREATE INDEX IF NOT EXISTS docs_app ON docs (coll, app);"
    "CREATE INDEX IF NOT EXISTS docs_name ON docs (coll, app, name);"
    "CREATE INDEX IF NOT EXISTS docs_date ON docs (coll, app, date);"
    "CREATE INDEX IF NOT EXISTS docs_status ON docs (coll, app, status);";


/* a document as readers see it */
#define NGX_AMS_STORE_SQL_DOC                                                 \
    "CASE WHEN status = 'broadcasting' AND update_time < ?5"                  \
    " THEN json_set(doc, '$.status', 'terminated_unexpectedly')"              \
    " ELSE doc END"

#define NGX_AMS_STORE_SQL_KEY                                                 \
    " WHERE ?1 IS NOT NULL AND coll = ?2 AND app = ?3 AND id = ?4"

/* ?99: NGX_AMS_STORE_SQL_SESSION */
#define NGX_AMS_STORE_SQL_OF_SESSION                                          \
    " AND (?99 IS NULL"                                                       \
    " OR coalesce(json_extract(doc, '$.publishSession'), ?99) = ?99)"


const char  ngx_ams_store_sql_get[] =
    "SELECT " NGX_AMS_STORE_SQL_DOC " FROM docs" NGX_AMS_STORE_SQL_KEY;

/* RETURNING: found and deleted in one statement, so a token admits once */
const char  ngx_ams_store_sql_take[] =
    "DELETE FROM docs" NGX_AMS_STORE_SQL_KEY " RETURNING doc";

const char  ngx_ams_store_sql_delete[] =
    "DELETE FROM docs" NGX_AMS_STORE_SQL_KEY;

/*
 * A "zombi" broadcast was made by a publish, not by the REST API: Ant
 * Media Server deletes it when its stream ends, so a node that takes
 * any name does not keep a record of each forever.  JSON true reads 1.
 */
const char  ngx_ams_store_sql_delete_zombi[] =
    "DELETE FROM docs" NGX_AMS_STORE_SQL_KEY
    " AND json_extract(doc, '$.zombi') = 1" NGX_AMS_STORE_SQL_OF_SESSION;

const char  ngx_ams_store_sql_count[] =
    "SELECT count(*) FROM docs WHERE ?1 IS NOT NULL AND coll = ?2"
    " AND app = ?3 AND ?4 IS NOT NULL";

const char  ngx_ams_store_sql_count_live[] =
    "SELECT count(*) FROM docs WHERE ?1 IS NOT NULL AND coll = ?2"
    " AND app = ?3 AND ?4 IS NOT NULL AND status = 'broadcasting'"
    " AND update_time >= ?5";

const char  ngx_ams_store_sql_insert[] =
    "INSERT INTO docs (coll, app, id, doc)"
    " SELECT ?2, ?3, ?4, ?6 WHERE ?1 IS NOT NULL";

/*
 * Every application, only this node's records: in a shared store the
 * other nodes' live streams are theirs to end.
 */
#define NGX_AMS_STORE_SQL_LEFT_LIVE                                           \
    " WHERE coll = ?2 AND ?3 IS NOT NULL AND ?4 IS NOT NULL"                  \
    " AND status = 'broadcasting' AND coalesce(update_time, 0) < ?1"          \
    " AND json_extract(doc, '$.originAdress') = ?6"

const char  ngx_ams_store_sql_reset_zombi[] =
    "DELETE FROM docs" NGX_AMS_STORE_SQL_LEFT_LIVE
    " AND json_extract(doc, '$.zombi') = 1";

const char  ngx_ams_store_sql_reset[] =
    "UPDATE docs SET doc = json_set(doc,"
    " '$.status', 'terminated_unexpectedly', '$.updateTime', ?1,"
    " '$.hlsViewerCount', 0, '$.dashViewerCount', 0,"
    " '$.rtmpViewerCount', 0, '$.webRTCViewerCount', 0)"
    NGX_AMS_STORE_SQL_LEFT_LIVE;

/* AMS's tokens: expireDate in seconds; the (coll, app) index finds them */
const char  ngx_ams_store_sql_purge[] =
    "DELETE FROM docs WHERE coll = ?2 AND ?3 IS NOT NULL AND ?4 IS NOT NULL"
    " AND json_extract(doc, '$.expireDate') * 1000 <= ?1";


/* ?6 a fixed field name, ?7 the time (ms) below which docs go */
const char  ngx_ams_store_sql_expire[] =
    "DELETE FROM docs WHERE ?1 IS NOT NULL AND coll = ?2 AND app = ?3"
    " AND ?4 IS NOT NULL AND json_extract(doc, '$.' || ?6) < ?7";

/*
 * CLAIM: the record of ?4 as readers see it, with whether it is taken by
 * another origin (?6): broadcasting, refreshed after ?5, elsewhere.  In
 * the chain's write transaction (BEGIN IMMEDIATE), so nobody writes
 * between this and the upsert that follows it.
 */
const char  ngx_ams_store_sql_claim[] =
    "SELECT " NGX_AMS_STORE_SQL_DOC ","
    " status = 'broadcasting' AND update_time >= ?5"
    " AND coalesce(json_extract(doc, '$.originAdress'), '') != ?6"
    " FROM docs" NGX_AMS_STORE_SQL_KEY;


/* $set as a JSON merge patch, each $inc as json_set(path, old + n) */
int
ngx_ams_store_sql_update(char *buf, size_t size, unsigned incs)
{
    int       n;
    size_t    len;
    unsigned  i, arg;

    len = 0;

#define NGX_AMS_STORE_SQL_ADD(...)                                            \
    n = snprintf(buf + len, size - len, __VA_ARGS__);                         \
    if (n < 0 || (size_t) n >= size - len) {                                  \
        return -1;                                                            \
    }                                                                         \
    len += n

    NGX_AMS_STORE_SQL_ADD("UPDATE docs SET doc = %s",
                          incs ? "json_set(" : "");
    NGX_AMS_STORE_SQL_ADD("json_patch(doc, ?6)");

    arg = NGX_AMS_STORE_SQL_ARG + 1;

    for (i = 0; i < incs; i++) {
        NGX_AMS_STORE_SQL_ADD(", '$.' || ?%u,"
                              " coalesce(json_extract(doc, '$.' || ?%u), 0)"
                              " + ?%u", arg, arg, arg + 1);
        arg += 2;
    }

    NGX_AMS_STORE_SQL_ADD("%s" NGX_AMS_STORE_SQL_KEY
                          NGX_AMS_STORE_SQL_OF_SESSION, incs ? ")" : "");

#undef NGX_AMS_STORE_SQL_ADD

    return 0;
}


int
ngx_ams_store_sql_list(char *buf, size_t size, const char *sort_by,
    int descending, int search)
{
    int          n;
    const char  *order;

    /* sort keys are fixed column names, never text from the request */
    order = "rowid";

    if (sort_by) {
        if (strcmp(sort_by, "name") == 0) {
            order = "name";

        } else if (strcmp(sort_by, "date") == 0) {
            order = "date";

        } else if (strcmp(sort_by, "status") == 0) {
            order = "status";
        }
    }

    n = snprintf(buf, size,
                 "SELECT " NGX_AMS_STORE_SQL_DOC " FROM docs"
                 " WHERE coll = ?2 AND app = ?3 AND ?4 IS NOT NULL%s"
                 " ORDER BY %s %s, rowid LIMIT ?7 OFFSET ?8",
                 search
                     ? " AND (instr(lower(id), lower(?6))"
                       " OR instr(lower(coalesce(name, '')), lower(?6)))"
                     : " AND ?6 IS NULL",
                 order, descending ? "DESC" : "ASC");

    return (n < 0 || (size_t) n >= size) ? -1 : 0;
}
