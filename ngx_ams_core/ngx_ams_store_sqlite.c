
/*
 * Copyright (C) nginx-ams authors
 *
 * The embedded store: one SQLite database in WAL mode, one table of JSON
 * documents keyed by (collection, app, id).  Fields that lists sort and
 * filter on are generated columns (computed on write) with indexes, so
 * the documents stay the shape MongoDB will hold.
 *
 * Every worker process opens its own connection in each thread-pool
 * thread that runs an operation (thread-local, never shared), so reads
 * run in parallel; writers from several workers queue on SQLite's lock
 * (busy_timeout).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <sqlite3.h>

#include "ngx_ams_core.h"
#include "ngx_ams_store.h"


#define NGX_AMS_SQLITE_BUSY_MS   5000


static ngx_int_t ngx_ams_sqlite_open(ngx_cycle_t *cycle, ngx_str_t *path,
    ngx_uint_t first_start);
static void ngx_ams_sqlite_run(ngx_ams_store_op_t *ops);
static sqlite3 *ngx_ams_sqlite_connect(char *error, size_t size);
static ngx_int_t ngx_ams_sqlite_exec(sqlite3 *db, ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_sqlite_get(sqlite3 *db, ngx_ams_store_op_t *op,
    ngx_uint_t take);
static ngx_int_t ngx_ams_sqlite_insert(sqlite3 *db, ngx_ams_store_op_t *op,
    json_t *doc);
static ngx_int_t ngx_ams_sqlite_update(sqlite3 *db, ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_sqlite_delete(sqlite3 *db, ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_sqlite_list(sqlite3 *db, ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_sqlite_count(sqlite3 *db, ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_sqlite_reset(sqlite3 *db, ngx_ams_store_op_t *op);
static sqlite3_stmt *ngx_ams_sqlite_cached(sqlite3 *db, const char *sql);
static void ngx_ams_sqlite_release(sqlite3_stmt *stmt);
static sqlite3_stmt *ngx_ams_sqlite_prepare(sqlite3 *db,
    ngx_ams_store_op_t *op, const char *sql);
static ngx_int_t ngx_ams_sqlite_fail(sqlite3 *db, ngx_ams_store_op_t *op,
    sqlite3_stmt *stmt);
static ngx_int_t ngx_ams_sqlite_script(sqlite3 *db, const char *sql,
    char *error, size_t size);


ngx_ams_store_backend_t  ngx_ams_store_sqlite = {
    "sqlite",
    ngx_ams_sqlite_open,
    ngx_ams_sqlite_run
};


#define NGX_AMS_SQLITE_STMTS     32


/* statements are compiled once per connection, by their text */
typedef struct {
    char                     *sql;
    sqlite3_stmt             *stmt;
} ngx_ams_sqlite_stmt_t;


static char               ngx_ams_sqlite_path[NGX_MAX_PATH];
static __thread sqlite3  *ngx_ams_sqlite_db;
static __thread ngx_ams_sqlite_stmt_t  ngx_ams_sqlite_stmts[
                                           NGX_AMS_SQLITE_STMTS];
static __thread ngx_uint_t             ngx_ams_sqlite_next_stmt;


static const char  ngx_ams_sqlite_schema[] =
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


/*
 * A document as readers see it: "broadcasting" with no refresh for
 * NGX_AMS_BROADCAST_STALE_MS was left by a node that died.  ?1 is now.
 */
#define NGX_AMS_SQLITE_STR(n)    NGX_AMS_SQLITE_STR2(n)
#define NGX_AMS_SQLITE_STR2(n)   #n
#define NGX_AMS_SQLITE_STALE     NGX_AMS_SQLITE_STR(NGX_AMS_BROADCAST_STALE_MS)

#define NGX_AMS_SQLITE_DOC                                                    \
    "CASE WHEN status = 'broadcasting'"                                       \
    " AND update_time < ?1 - " NGX_AMS_SQLITE_STALE                           \
    " THEN json_set(doc, '$.status', 'terminated_unexpectedly')"              \
    " ELSE doc END"


static ngx_int_t
ngx_ams_sqlite_open(ngx_cycle_t *cycle, ngx_str_t *path,
    ngx_uint_t first_start)
{
    u_char            *p;
    sqlite3           *db;
    ngx_uint_t         i;
    ngx_file_info_t    fi;
    ngx_core_conf_t   *ccf;
    ngx_ams_store_op_t op;
    char               error[256];
    static const char *suffix[] = { "", "-wal", "-shm" };

    if (path->len + 5 >= sizeof(ngx_ams_sqlite_path)) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams store: path too long: \"%V\"", path);
        return NGX_ERROR;
    }

    p = ngx_cpymem(ngx_ams_sqlite_path, path->data, path->len);
    *p = '\0';

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    /* the directory, writable by the workers (WAL files are made there) */
    p = (u_char *) strrchr(ngx_ams_sqlite_path, '/');
    if (p && p != (u_char *) ngx_ams_sqlite_path) {
        *p = '\0';

        if (ngx_file_info(ngx_ams_sqlite_path, &fi) == NGX_FILE_ERROR) {
            if (ngx_create_full_path((u_char *) ngx_ams_sqlite_path, 0755)
                != 0
                || ngx_create_dir(ngx_ams_sqlite_path, 0755)
                   == NGX_FILE_ERROR)
            {
                ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                              "ams store: cannot create \"%s\"",
                              ngx_ams_sqlite_path);
                return NGX_ERROR;
            }
        }

        if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT) {
            (void) chown(ngx_ams_sqlite_path, ccf->user, -1);
        }

        *p = '/';
    }

    db = ngx_ams_sqlite_connect(error, sizeof(error));
    if (db == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "ams store: %s", error);
        return NGX_ERROR;
    }

    if (ngx_ams_sqlite_script(db, ngx_ams_sqlite_schema, error, sizeof(error))
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams store: \"%s\": %s", ngx_ams_sqlite_path, error);
        sqlite3_close(db);
        return NGX_ERROR;
    }

    if (first_start) {
        ngx_memzero(&op, sizeof(ngx_ams_store_op_t));
        op.type = NGX_AMS_STORE_RESET;
        op.collection = NGX_AMS_COLL_BROADCAST;
        op.now_ms = ngx_ams_store_now_ms();

        if (ngx_ams_sqlite_reset(db, &op) != NGX_OK) {
            ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                          "ams store: \"%s\": %s", ngx_ams_sqlite_path,
                          op.error);
            sqlite3_close(db);
            return NGX_ERROR;
        }

        if (op.count) {
            ngx_log_error(NGX_LOG_NOTICE, cycle->log, 0,
                          "ams store: %uL broadcasts left by a previous run "
                          "marked terminated_unexpectedly", op.count);
        }
    }

    sqlite3_close(db);

    if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        for (i = 0; i < 3; i++) {
            char  name[NGX_MAX_PATH + 8];

            ngx_sprintf((u_char *) name, "%s%s%Z", ngx_ams_sqlite_path,
                        suffix[i]);
            (void) chown(name, ccf->user, -1);
        }
    }

    return NGX_OK;
}


static sqlite3 *
ngx_ams_sqlite_connect(char *error, size_t size)
{
    sqlite3  *db;

    if (sqlite3_open_v2(ngx_ams_sqlite_path, &db,
                        SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE
                        |SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK)
    {
        snprintf(error, size, "cannot open \"%.150s\": %.80s", ngx_ams_sqlite_path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }

    sqlite3_busy_timeout(db, NGX_AMS_SQLITE_BUSY_MS);

    /* WAL keeps the database consistent; a power cut may lose the last
     * commits, which the next refresh rewrites anyway */
    if (ngx_ams_sqlite_script(db, "PRAGMA synchronous=NORMAL;", error, size)
        != NGX_OK)
    {
        sqlite3_close(db);
        return NULL;
    }

    return db;
}


static ngx_int_t
ngx_ams_sqlite_script(sqlite3 *db, const char *sql, char *error, size_t size)
{
    char  *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(error, size, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_ams_sqlite_run(ngx_ams_store_op_t *ops)
{
    char                 error[128];
    ngx_uint_t           writes, n;
    ngx_ams_store_op_t  *op;

    if (ngx_ams_sqlite_db == NULL) {
        ngx_ams_sqlite_db = ngx_ams_sqlite_connect(error, sizeof(error));

        if (ngx_ams_sqlite_db == NULL) {
            for (op = ops; op; op = op->next) {
                op->rc = NGX_ERROR;
                ngx_cpystrn((u_char *) op->error, (u_char *) error,
                            sizeof(op->error));
            }
            return;
        }
    }

    writes = 0;
    n = 0;

    for (op = ops; op; op = op->next) {
        n++;
        if (op->type != NGX_AMS_STORE_GET && op->type != NGX_AMS_STORE_LIST
            && op->type != NGX_AMS_STORE_COUNT)
        {
            writes++;
        }
    }

    /* a chain is one transaction; a writer takes the lock up front so
     * it never has to upgrade (which could deadlock with another one) */
    if (n > 1 || writes) {
        if (ngx_ams_sqlite_script(ngx_ams_sqlite_db,
                                  writes ? "BEGIN IMMEDIATE" : "BEGIN",
                                  error, sizeof(error))
            != NGX_OK)
        {
            for (op = ops; op; op = op->next) {
                op->rc = NGX_ERROR;
                ngx_cpystrn((u_char *) op->error, (u_char *) error,
                            sizeof(op->error));
            }
            return;
        }
    }

    for (op = ops; op; op = op->next) {
        op->rc = ngx_ams_sqlite_exec(ngx_ams_sqlite_db, op);
    }

    if (n > 1 || writes) {
        if (ngx_ams_sqlite_script(ngx_ams_sqlite_db, "COMMIT", error,
                                  sizeof(error))
            != NGX_OK)
        {
            (void) ngx_ams_sqlite_script(ngx_ams_sqlite_db, "ROLLBACK",
                                         error, sizeof(error));
            for (op = ops; op; op = op->next) {
                op->rc = NGX_ERROR;
                ngx_cpystrn((u_char *) op->error, (u_char *) error,
                            sizeof(op->error));
            }
        }
    }
}


static ngx_int_t
ngx_ams_sqlite_exec(sqlite3 *db, ngx_ams_store_op_t *op)
{
    json_t     *doc;
    ngx_int_t   rc;

    switch (op->type) {

    case NGX_AMS_STORE_GET:
        return ngx_ams_sqlite_get(db, op, 0);

    case NGX_AMS_STORE_TAKE:
        return ngx_ams_sqlite_get(db, op, 1);

    case NGX_AMS_STORE_INSERT:
        return ngx_ams_sqlite_insert(db, op, op->set);

    case NGX_AMS_STORE_UPSERT:
        rc = ngx_ams_sqlite_update(db, op);
        if (rc != NGX_DECLINED) {
            return rc;
        }

        doc = json_deep_copy(op->on_insert ? op->on_insert : op->set);
        if (doc == NULL) {
            return NGX_ERROR;
        }

        if (op->on_insert && op->set) {
            json_object_update(doc, op->set);
        }

        rc = ngx_ams_sqlite_insert(db, op, doc);
        json_decref(doc);
        return rc;

    case NGX_AMS_STORE_UPDATE:
        return ngx_ams_sqlite_update(db, op);

    case NGX_AMS_STORE_DELETE:
        return ngx_ams_sqlite_delete(db, op);

    case NGX_AMS_STORE_LIST:
        return ngx_ams_sqlite_list(db, op);

    case NGX_AMS_STORE_COUNT:
        return ngx_ams_sqlite_count(db, op);

    case NGX_AMS_STORE_RESET:
        return ngx_ams_sqlite_reset(db, op);
    }

    snprintf(op->error, sizeof(op->error), "unknown operation %u",
             (unsigned) op->type);
    return NGX_ERROR;
}


static sqlite3_stmt *
ngx_ams_sqlite_cached(sqlite3 *db, const char *sql)
{
    ngx_uint_t              i;
    ngx_ams_sqlite_stmt_t  *s;

    if (db != ngx_ams_sqlite_db) {
        /* the master's one-off connection: nothing to keep */
        sqlite3_stmt  *stmt;

        return sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK
               ? stmt : NULL;
    }

    for (i = 0; i < NGX_AMS_SQLITE_STMTS; i++) {
        s = &ngx_ams_sqlite_stmts[i];

        if (s->sql && ngx_strcmp(s->sql, sql) == 0) {
            sqlite3_clear_bindings(s->stmt);
            return s->stmt;
        }
    }

    /* a new text replaces the oldest one kept */
    s = &ngx_ams_sqlite_stmts[ngx_ams_sqlite_next_stmt++
                              % NGX_AMS_SQLITE_STMTS];

    if (s->sql) {
        sqlite3_finalize(s->stmt);
        free(s->sql);
        s->sql = NULL;
    }

    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s->stmt,
                           NULL)
        != SQLITE_OK)
    {
        return NULL;
    }

    s->sql = strdup(sql);
    if (s->sql == NULL) {
        sqlite3_finalize(s->stmt);
        return NULL;
    }

    return s->stmt;
}


/* done with a statement: reset (kept) or finalized (master) */
static void
ngx_ams_sqlite_release(sqlite3_stmt *stmt)
{
    if (sqlite3_db_handle(stmt) == ngx_ams_sqlite_db) {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);   /* no pointers into freed ops */
        return;
    }

    sqlite3_finalize(stmt);
}


static sqlite3_stmt *
ngx_ams_sqlite_prepare(sqlite3 *db, ngx_ams_store_op_t *op, const char *sql)
{
    sqlite3_stmt  *stmt;

    stmt = ngx_ams_sqlite_cached(db, sql);

    if (stmt == NULL) {
        snprintf(op->error, sizeof(op->error), "%s", sqlite3_errmsg(db));
        return NULL;
    }

    /* ?1 now, ?2 collection, ?3 app, ?4 id: every statement's first four */
    sqlite3_bind_int64(stmt, 1, op->now_ms);
    sqlite3_bind_text(stmt, 2, op->collection, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, op->app, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, op->id, -1, SQLITE_STATIC);

    return stmt;
}


static ngx_int_t
ngx_ams_sqlite_fail(sqlite3 *db, ngx_ams_store_op_t *op, sqlite3_stmt *stmt)
{
    if (op->error[0] == '\0') {
        snprintf(op->error, sizeof(op->error), "%s", sqlite3_errmsg(db));
    }

    ngx_ams_sqlite_release(stmt);

    return NGX_ERROR;
}


static ngx_int_t
ngx_ams_sqlite_get(sqlite3 *db, ngx_ams_store_op_t *op, ngx_uint_t take)
{
    int            rc;
    const char    *text;
    json_error_t   jerr;
    sqlite3_stmt  *stmt;

    stmt = ngx_ams_sqlite_prepare(db, op, take
        ? "DELETE FROM docs WHERE ?1 IS NOT NULL AND coll = ?2 AND app = ?3"
          " AND id = ?4 RETURNING doc"
        : "SELECT " NGX_AMS_SQLITE_DOC " FROM docs"
          " WHERE coll = ?2 AND app = ?3 AND id = ?4");
    if (stmt == NULL) {
        return NGX_ERROR;
    }

    rc = sqlite3_step(stmt);

    if (rc == SQLITE_DONE) {
        ngx_ams_sqlite_release(stmt);
        return NGX_DECLINED;
    }

    if (rc != SQLITE_ROW) {
        return ngx_ams_sqlite_fail(db, op, stmt);
    }

    text = (const char *) sqlite3_column_text(stmt, 0);

    op->doc = json_loads(text ? text : "", 0, &jerr);
    if (op->doc == NULL) {
        snprintf(op->error, sizeof(op->error), "stored document: %.100s",
                 jerr.text);
        return ngx_ams_sqlite_fail(db, op, stmt);
    }

    /* RETURNING: the statement completes the delete when stepped out */
    while (rc == SQLITE_ROW) {
        rc = sqlite3_step(stmt);
    }

    if (rc != SQLITE_DONE) {
        return ngx_ams_sqlite_fail(db, op, stmt);
    }

    ngx_ams_sqlite_release(stmt);

    return NGX_OK;
}


static ngx_int_t
ngx_ams_sqlite_insert(sqlite3 *db, ngx_ams_store_op_t *op, json_t *doc)
{
    int            rc;
    char          *text;
    sqlite3_stmt  *stmt;

    if (doc == NULL) {
        snprintf(op->error, sizeof(op->error), "nothing to insert");
        return NGX_ERROR;
    }

    text = json_dumps(doc, JSON_COMPACT);
    if (text == NULL) {
        snprintf(op->error, sizeof(op->error), "out of memory");
        return NGX_ERROR;
    }

    stmt = ngx_ams_sqlite_prepare(db, op,
        "INSERT INTO docs (coll, app, id, doc)"
        " SELECT ?2, ?3, ?4, ?5 WHERE ?1 IS NOT NULL");
    if (stmt == NULL) {
        free(text);
        return NGX_ERROR;
    }

    sqlite3_bind_text(stmt, 5, text, -1, free);

    rc = sqlite3_step(stmt);

    if (rc == SQLITE_CONSTRAINT) {
        ngx_ams_sqlite_release(stmt);
        return NGX_BUSY;
    }

    if (rc != SQLITE_DONE) {
        return ngx_ams_sqlite_fail(db, op, stmt);
    }

    ngx_ams_sqlite_release(stmt);

    return NGX_OK;
}


/* $set as a JSON merge patch, each $inc as json_set(path, old + n) */
static ngx_int_t
ngx_ams_sqlite_update(sqlite3 *db, ngx_ams_store_op_t *op)
{
    int            rc, arg;
    char          *set, *p, *last;
    char           sql[2048];
    json_t        *value;
    const char    *key;
    sqlite3_stmt  *stmt;

    p = sql;
    last = sql + sizeof(sql);

    p += snprintf(p, last - p, "UPDATE docs SET doc = ");

    if (op->inc) {
        p += snprintf(p, last - p, "json_set(");
    }

    p += snprintf(p, last - p, "json_patch(doc, ?5)");

    if (op->inc) {
        arg = 6;

        json_object_foreach(op->inc, key, value) {
            if (p >= last - 128) {
                snprintf(op->error, sizeof(op->error), "too many $inc");
                return NGX_ERROR;
            }

            p += snprintf(p, last - p,
                          ", '$.' || ?%d,"
                          " coalesce(json_extract(doc, '$.' || ?%d), 0) + ?%d",
                          arg, arg, arg + 1);
            arg += 2;
        }

        p += snprintf(p, last - p, ")");
    }

    snprintf(p, last - p,
             " WHERE ?1 IS NOT NULL AND coll = ?2 AND app = ?3 AND id = ?4");

    set = json_dumps(op->set ? op->set : json_object(), JSON_COMPACT);
    if (set == NULL) {
        snprintf(op->error, sizeof(op->error), "out of memory");
        return NGX_ERROR;
    }

    stmt = ngx_ams_sqlite_prepare(db, op, sql);
    if (stmt == NULL) {
        free(set);
        return NGX_ERROR;
    }

    sqlite3_bind_text(stmt, 5, set, -1, free);

    if (op->inc) {
        arg = 6;

        json_object_foreach(op->inc, key, value) {
            sqlite3_bind_text(stmt, arg, key, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(stmt, arg + 1, json_integer_value(value));
            arg += 2;
        }
    }

    rc = sqlite3_step(stmt);

    if (rc != SQLITE_DONE) {
        return ngx_ams_sqlite_fail(db, op, stmt);
    }

    ngx_ams_sqlite_release(stmt);

    return sqlite3_changes(db) ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
ngx_ams_sqlite_delete(sqlite3 *db, ngx_ams_store_op_t *op)
{
    sqlite3_stmt  *stmt;

    stmt = ngx_ams_sqlite_prepare(db, op,
        "DELETE FROM docs"
        " WHERE ?1 IS NOT NULL AND coll = ?2 AND app = ?3 AND id = ?4");
    if (stmt == NULL) {
        return NGX_ERROR;
    }

    if (sqlite3_step(stmt) != SQLITE_DONE) {
        return ngx_ams_sqlite_fail(db, op, stmt);
    }

    ngx_ams_sqlite_release(stmt);

    return sqlite3_changes(db) ? NGX_OK : NGX_DECLINED;
}


static ngx_int_t
ngx_ams_sqlite_list(sqlite3 *db, ngx_ams_store_op_t *op)
{
    int            rc;
    char           sql[1024];
    size_t         len, size, n;
    const char    *order, *text;
    sqlite3_stmt  *stmt;

    /* sort keys are fixed column names, never text from the request */
    order = "rowid";

    if (op->sort_by) {
        if (ngx_strcmp(op->sort_by, "name") == 0) {
            order = "name";

        } else if (ngx_strcmp(op->sort_by, "date") == 0) {
            order = "date";

        } else if (ngx_strcmp(op->sort_by, "status") == 0) {
            order = "status";
        }
    }

    snprintf(sql, sizeof(sql),
             "SELECT " NGX_AMS_SQLITE_DOC " FROM docs"
             " WHERE coll = ?2 AND app = ?3 AND ?4 IS NOT NULL%s"
             " ORDER BY %s %s, rowid LIMIT ?6 OFFSET ?7",
             op->search[0]
                 ? " AND (instr(lower(id), lower(?5))"
                   " OR instr(lower(coalesce(name, '')), lower(?5)))"
                 : " AND ?5 IS NULL",
             order, op->descending ? "DESC" : "ASC");

    stmt = ngx_ams_sqlite_prepare(db, op, sql);
    if (stmt == NULL) {
        return NGX_ERROR;
    }

    if (op->search[0]) {
        sqlite3_bind_text(stmt, 5, op->search, -1, SQLITE_STATIC);
    }

    sqlite3_bind_int64(stmt, 6, (sqlite3_int64) op->size);
    sqlite3_bind_int64(stmt, 7, (sqlite3_int64) op->offset);

    size = 4096;
    len = 0;
    op->text = malloc(size);
    if (op->text == NULL) {
        snprintf(op->error, sizeof(op->error), "out of memory");
        return ngx_ams_sqlite_fail(db, op, stmt);
    }

    op->text[len++] = '[';

    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        text = (const char *) sqlite3_column_text(stmt, 0);
        n = sqlite3_column_bytes(stmt, 0);

        if (len + n + 2 > size) {
            char  *bigger;

            size = ngx_max(size * 2, len + n + 2);
            bigger = realloc(op->text, size);
            if (bigger == NULL) {
                snprintf(op->error, sizeof(op->error), "out of memory");
                return ngx_ams_sqlite_fail(db, op, stmt);
            }
            op->text = bigger;
        }

        if (len > 1) {
            op->text[len++] = ',';
        }

        ngx_memcpy(op->text + len, text, n);
        len += n;
        op->count++;
    }

    if (rc != SQLITE_DONE) {
        return ngx_ams_sqlite_fail(db, op, stmt);
    }

    ngx_ams_sqlite_release(stmt);

    op->text[len++] = ']';
    op->text_len = len;

    return NGX_OK;
}


static ngx_int_t
ngx_ams_sqlite_count(sqlite3 *db, ngx_ams_store_op_t *op)
{
    sqlite3_stmt  *stmt;

    stmt = ngx_ams_sqlite_prepare(db, op, op->live_only
        ? "SELECT count(*) FROM docs WHERE coll = ?2 AND app = ?3"
          " AND ?4 IS NOT NULL AND status = 'broadcasting'"
          " AND update_time >= ?1 - " NGX_AMS_SQLITE_STALE
        : "SELECT count(*) FROM docs WHERE ?1 IS NOT NULL AND coll = ?2"
          " AND app = ?3 AND ?4 IS NOT NULL");
    if (stmt == NULL) {
        return NGX_ERROR;
    }

    if (sqlite3_step(stmt) != SQLITE_ROW) {
        return ngx_ams_sqlite_fail(db, op, stmt);
    }

    op->count = sqlite3_column_int64(stmt, 0);

    ngx_ams_sqlite_release(stmt);

    return NGX_OK;
}


/* every app: a cold start means no stream of this node is live */
static ngx_int_t
ngx_ams_sqlite_reset(sqlite3 *db, ngx_ams_store_op_t *op)
{
    sqlite3_stmt  *stmt;

    stmt = ngx_ams_sqlite_prepare(db, op,
        "UPDATE docs SET doc = json_set(doc,"
        " '$.status', 'terminated_unexpectedly', '$.updateTime', ?1,"
        " '$.hlsViewerCount', 0, '$.dashViewerCount', 0,"
        " '$.rtmpViewerCount', 0, '$.webRTCViewerCount', 0)"
        " WHERE coll = ?2 AND ?3 IS NOT NULL AND ?4 IS NOT NULL"
        " AND status = 'broadcasting'");
    if (stmt == NULL) {
        return NGX_ERROR;
    }

    if (sqlite3_step(stmt) != SQLITE_DONE) {
        return ngx_ams_sqlite_fail(db, op, stmt);
    }

    op->count = sqlite3_changes(db);

    ngx_ams_sqlite_release(stmt);

    return NGX_OK;
}
