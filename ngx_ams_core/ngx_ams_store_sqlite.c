
/*
 * Copyright (C) nginx-ams authors
 *
 * The embedded store backend ("database sqlite:PATH", or a plain PATH):
 * one SQLite database in WAL mode; its SQL is ngx_ams_store_sql.c.
 *
 * The master opens it only to create the schema, give the directory to
 * the worker user and, on a cold start, run the reset; it closes it
 * before the workers fork.  Every worker then opens its own connections:
 * one in each thread-pool thread that runs an operation (thread-local,
 * never shared), so reads run in parallel and writers from several
 * workers queue on SQLite's lock (busy_timeout); and one on the event
 * loop that only reads PRAGMA data_version for the read cache.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <sqlite3.h>

#include "ngx_ams_core.h"
#include "ngx_ams_store.h"
#include "ngx_ams_store_sql.h"


#define NGX_AMS_SQLITE_BUSY_MS   5000


typedef struct {
    char                      path[NGX_MAX_PATH];
    sqlite3                  *version_db;   /* this worker's event loop */
    sqlite3_stmt             *version;
} ngx_ams_sqlite_t;


static char *ngx_ams_sqlite_configure(ngx_conf_t *cf, ngx_str_t *uri,
    void **data);
static ngx_int_t ngx_ams_sqlite_init_module(ngx_cycle_t *cycle, void *data,
    ngx_ams_store_op_t *reset);
static ngx_int_t ngx_ams_sqlite_init_worker(ngx_cycle_t *cycle, void *data);
static void ngx_ams_sqlite_exit_worker(ngx_cycle_t *cycle, void *data);
static ngx_int_t ngx_ams_sqlite_version(void *data, uint64_t *version);
static void ngx_ams_sqlite_run(ngx_ams_store_op_t *ops, void *data);
static sqlite3 *ngx_ams_sqlite_connect(const char *path, int busy_ms,
    char *error, size_t size);
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
static ngx_int_t ngx_ams_sqlite_expire(sqlite3 *db, ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_sqlite_claim(sqlite3 *db, ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_sqlite_changes(sqlite3 *db, ngx_ams_store_op_t *op,
    const char *sql, const char *arg, uint64_t *changes);
static void ngx_ams_sqlite_failed(ngx_ams_store_op_t *ops,
    const char *error);
static sqlite3_stmt *ngx_ams_sqlite_cached(sqlite3 *db, const char *sql);
static void ngx_ams_sqlite_release(sqlite3_stmt *stmt);
static sqlite3_stmt *ngx_ams_sqlite_prepare(sqlite3 *db,
    ngx_ams_store_op_t *op, const char *sql);
static ngx_int_t ngx_ams_sqlite_fail(sqlite3 *db, ngx_ams_store_op_t *op,
    sqlite3_stmt *stmt);
static ngx_int_t ngx_ams_sqlite_script(sqlite3 *db, const char *sql,
    char *error, size_t size);


ngx_ams_store_backend_t  ngx_ams_store_sqlite = {
    ngx_string("sqlite"),
    ngx_ams_sqlite_configure,
    ngx_ams_sqlite_init_module,
    ngx_ams_sqlite_init_worker,
    ngx_ams_sqlite_exit_worker,
    ngx_ams_sqlite_run,
    ngx_ams_sqlite_version
};


#define NGX_AMS_SQLITE_STMTS     32


/* statements are compiled once per connection, by their text */
typedef struct {
    char                     *sql;
    sqlite3_stmt             *stmt;
} ngx_ams_sqlite_stmt_t;


static __thread sqlite3  *ngx_ams_sqlite_db;
static __thread ngx_ams_sqlite_stmt_t  ngx_ams_sqlite_stmts[
                                           NGX_AMS_SQLITE_STMTS];
static __thread ngx_uint_t             ngx_ams_sqlite_next_stmt;


static char *
ngx_ams_sqlite_configure(ngx_conf_t *cf, ngx_str_t *uri, void **data)
{
    u_char            *p;
    ngx_str_t          path;
    ngx_ams_sqlite_t  *sq;

    if (uri->len == 0) {
        return "needs a path after \"sqlite:\"";
    }

    path = *uri;

    if (ngx_conf_full_name(cf->cycle, &path, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    sq = ngx_pcalloc(cf->pool, sizeof(ngx_ams_sqlite_t));
    if (sq == NULL) {
        return NGX_CONF_ERROR;
    }

    /* room for the "-wal" and "-shm" files' names too */
    if (path.len + 5 >= sizeof(sq->path)) {
        return "has a path that is too long";
    }

    p = ngx_cpymem(sq->path, path.data, path.len);
    *p = '\0';

    *data = sq;

    return NGX_CONF_OK;
}


/* the master: the directory and schema, the reset; closed before fork */
static ngx_int_t
ngx_ams_sqlite_init_module(ngx_cycle_t *cycle, void *data,
    ngx_ams_store_op_t *reset)
{
    ngx_ams_sqlite_t *sq = data;

    u_char            *p;
    sqlite3           *db;
    ngx_uint_t         i;
    ngx_file_info_t    fi;
    ngx_core_conf_t   *ccf;
    char               error[256], name[NGX_MAX_PATH + 8];
    static const char *suffix[] = { "", "-wal", "-shm" };

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    /* the directory, writable by the workers (WAL files are made there) */
    p = (u_char *) strrchr(sq->path, '/');
    if (p && p != (u_char *) sq->path) {
        *p = '\0';

        if (ngx_file_info(sq->path, &fi) == NGX_FILE_ERROR) {
            if (ngx_create_full_path((u_char *) sq->path, 0755) != 0
                || ngx_create_dir(sq->path, 0755) == NGX_FILE_ERROR)
            {
                ngx_log_error(NGX_LOG_EMERG, cycle->log, ngx_errno,
                              "ams store: cannot create \"%s\"", sq->path);
                *p = '/';
                return NGX_ERROR;
            }
        }

        if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT) {
            (void) chown(sq->path, ccf->user, -1);
        }

        *p = '/';
    }

    db = ngx_ams_sqlite_connect(sq->path, NGX_AMS_SQLITE_BUSY_MS, error,
                                sizeof(error));
    if (db == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "ams store: %s", error);
        return NGX_ERROR;
    }

    if (ngx_ams_sqlite_script(db, ngx_ams_store_sql_schema, error,
                              sizeof(error))
        != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams store: \"%s\": %s", sq->path, error);
        sqlite3_close(db);
        return NGX_ERROR;
    }

    if (reset) {
        reset->rc = ngx_ams_sqlite_exec(db, reset);
    }

    sqlite3_close(db);

    if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        for (i = 0; i < 3; i++) {
            ngx_sprintf((u_char *) name, "%s%s%Z", sq->path, suffix[i]);
            (void) chown(name, ccf->user, -1);
        }
    }

    return NGX_OK;
}


/*
 * A worker's event-loop connection, for PRAGMA data_version only: it
 * changes whenever another connection (a pool thread of any worker, the
 * sqlite3 tool, another node on a shared disk) has committed.  It never
 * waits for a lock: busy means "cannot tell" and the cache asks the
 * thread pool instead.
 */
static ngx_int_t
ngx_ams_sqlite_init_worker(ngx_cycle_t *cycle, void *data)
{
    ngx_ams_sqlite_t *sq = data;

    char  error[256];

    /* opening may wait (another process may be recovering the WAL);
     * reading the version later never does */
    sq->version_db = ngx_ams_sqlite_connect(sq->path, NGX_AMS_SQLITE_BUSY_MS,
                                            error, sizeof(error));
    if (sq->version_db == NULL) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0, "ams store: %s", error);
        return NGX_OK;
    }

    if (sqlite3_prepare_v3(sq->version_db, "PRAGMA data_version", -1,
                           SQLITE_PREPARE_PERSISTENT, &sq->version, NULL)
        != SQLITE_OK)
    {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "ams store: \"%s\": %s", sq->path,
                      sqlite3_errmsg(sq->version_db));
        sqlite3_close(sq->version_db);
        sq->version_db = NULL;
        return NGX_OK;
    }

    sqlite3_busy_timeout(sq->version_db, 0);

    return NGX_OK;
}


static void
ngx_ams_sqlite_exit_worker(ngx_cycle_t *cycle, void *data)
{
    ngx_ams_sqlite_t *sq = data;

    if (sq->version_db) {
        sqlite3_finalize(sq->version);
        sqlite3_close(sq->version_db);
        sq->version_db = NULL;
        sq->version = NULL;
    }
}


static ngx_int_t
ngx_ams_sqlite_version(void *data, uint64_t *version)
{
    ngx_ams_sqlite_t *sq = data;

    int  rc;

    if (sq->version == NULL) {
        return NGX_DECLINED;
    }

    rc = sqlite3_step(sq->version);

    if (rc == SQLITE_ROW) {
        *version = (uint64_t) sqlite3_column_int64(sq->version, 0);
    }

    sqlite3_reset(sq->version);

    return rc == SQLITE_ROW ? NGX_OK : NGX_DECLINED;
}


static sqlite3 *
ngx_ams_sqlite_connect(const char *path, int busy_ms, char *error,
    size_t size)
{
    sqlite3  *db;

    if (sqlite3_open_v2(path, &db,
                        SQLITE_OPEN_READWRITE|SQLITE_OPEN_CREATE
                        |SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK)
    {
        snprintf(error, size, "cannot open \"%.150s\": %.80s", path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }

    sqlite3_busy_timeout(db, busy_ms);

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
ngx_ams_sqlite_run(ngx_ams_store_op_t *ops, void *data)
{
    ngx_ams_sqlite_t *sq = data;

    char                 error[128], unused[128];
    ngx_uint_t           writes, n;
    ngx_ams_store_op_t  *op, *failed;

    if (ngx_ams_sqlite_db == NULL) {
        ngx_ams_sqlite_db = ngx_ams_sqlite_connect(sq->path,
                                                   NGX_AMS_SQLITE_BUSY_MS,
                                                   error, sizeof(error));

        if (ngx_ams_sqlite_db == NULL) {
            ngx_ams_sqlite_failed(ops, error);
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

    if (n == 1 && !writes) {
        ops->rc = ngx_ams_sqlite_exec(ngx_ams_sqlite_db, ops);
        return;
    }

    /* a chain is one transaction; a writer takes the lock up front so
     * it never has to upgrade (which could deadlock with another one) */
    if (ngx_ams_sqlite_script(ngx_ams_sqlite_db,
                              writes ? "BEGIN IMMEDIATE" : "BEGIN",
                              error, sizeof(error))
        != NGX_OK)
    {
        ngx_ams_sqlite_failed(ops, error);
        return;
    }

    failed = NULL;

    for (op = ops; op; op = op->next) {
        op->rc = ngx_ams_sqlite_exec(ngx_ams_sqlite_db, op);

        if (op->rc == NGX_ERROR) {
            failed = op;
            break;
        }
    }

    if (failed == NULL
        && ngx_ams_sqlite_script(ngx_ams_sqlite_db, "COMMIT", error,
                                 sizeof(error))
           == NGX_OK)
    {
        return;
    }

    /*
     * The first error is the one that says what went wrong ("database or
     * disk is full"): SQLite may have rolled the transaction back itself
     * already, and the ROLLBACK's own complaint ("no transaction is
     * active") must not replace it.
     */
    if (failed) {
        ngx_cpystrn((u_char *) error, (u_char *) failed->error,
                    sizeof(error));
    }

    if (sqlite3_get_autocommit(ngx_ams_sqlite_db) == 0) {
        (void) ngx_ams_sqlite_script(ngx_ams_sqlite_db, "ROLLBACK", unused,
                                     sizeof(unused));
    }

    ngx_ams_sqlite_failed(ops, error);
}


/* the whole chain failed (nothing of it was kept) with this error */
static void
ngx_ams_sqlite_failed(ngx_ams_store_op_t *ops, const char *error)
{
    ngx_ams_store_op_t  *op;

    for (op = ops; op; op = op->next) {
        op->rc = NGX_ERROR;

        if (op->error[0] == '\0') {
            ngx_cpystrn((u_char *) op->error, (u_char *) error,
                        sizeof(op->error));
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

    case NGX_AMS_STORE_PURGE:
        return ngx_ams_sqlite_changes(db, op, ngx_ams_store_sql_purge, NULL,
                                      &op->count);

    case NGX_AMS_STORE_EXPIRE:
        return ngx_ams_sqlite_expire(db, op);

    case NGX_AMS_STORE_CLAIM:
        rc = ngx_ams_sqlite_claim(db, op);
        if (rc != NGX_OK) {
            return rc;
        }

        op->type = NGX_AMS_STORE_UPSERT;
        rc = ngx_ams_sqlite_exec(db, op);
        op->type = NGX_AMS_STORE_CLAIM;
        return rc;
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

    /* every statement's first five (ngx_ams_store_sql.h) */
    sqlite3_bind_int64(stmt, NGX_AMS_STORE_SQL_NOW, op->now_ms);
    sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_COLL, op->collection, -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_APP, op->app, -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_ID, op->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, NGX_AMS_STORE_SQL_FRESH,
                       op->now_ms - (int64_t) op->stale_ms);

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

    stmt = ngx_ams_sqlite_prepare(db, op, take ? ngx_ams_store_sql_take
                                               : ngx_ams_store_sql_get);
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

    stmt = ngx_ams_sqlite_prepare(db, op, ngx_ams_store_sql_insert);
    if (stmt == NULL) {
        free(text);
        return NGX_ERROR;
    }

    sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_ARG, text, -1, free);

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


static ngx_int_t
ngx_ams_sqlite_update(sqlite3 *db, ngx_ams_store_op_t *op)
{
    int            rc, arg;
    char          *set;
    char           sql[2048];
    json_t        *value;
    const char    *key;
    sqlite3_stmt  *stmt;

    if (ngx_ams_store_sql_update(sql, sizeof(sql),
                                 op->inc ? json_object_size(op->inc) : 0)
        != 0)
    {
        snprintf(op->error, sizeof(op->error), "too many $inc");
        return NGX_ERROR;
    }

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

    sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_ARG, set, -1, free);

    if (op->session[0]) {
        sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_SESSION, op->session, -1,
                          SQLITE_STATIC);
    }

    if (op->inc) {
        arg = NGX_AMS_STORE_SQL_ARG + 1;

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

    stmt = ngx_ams_sqlite_prepare(db, op, op->zombi_only
                                          ? ngx_ams_store_sql_delete_zombi
                                          : ngx_ams_store_sql_delete);
    if (stmt == NULL) {
        return NGX_ERROR;
    }

    if (op->zombi_only && op->session[0]) {
        sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_SESSION, op->session, -1,
                          SQLITE_STATIC);
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
    const char    *text;
    sqlite3_stmt  *stmt;

    if (ngx_ams_store_sql_list(sql, sizeof(sql), op->sort_by,
                               op->descending, op->search[0] != '\0')
        != 0)
    {
        snprintf(op->error, sizeof(op->error), "list statement too long");
        return NGX_ERROR;
    }

    stmt = ngx_ams_sqlite_prepare(db, op, sql);
    if (stmt == NULL) {
        return NGX_ERROR;
    }

    if (op->search[0]) {
        sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_ARG, op->search, -1,
                          SQLITE_STATIC);
    }

    sqlite3_bind_int64(stmt, NGX_AMS_STORE_SQL_ARG + 1,
                       (sqlite3_int64) op->size);
    sqlite3_bind_int64(stmt, NGX_AMS_STORE_SQL_ARG + 2,
                       (sqlite3_int64) op->offset);

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
                                          ? ngx_ams_store_sql_count_live
                                          : ngx_ams_store_sql_count);
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


/*
 * Every app: a cold start means no stream of this node is live.  Its
 * zombi records are deleted, as their ends would have, the others end.
 */
static ngx_int_t
ngx_ams_sqlite_reset(sqlite3 *db, ngx_ams_store_op_t *op)
{
    if (ngx_ams_sqlite_changes(db, op, ngx_ams_store_sql_reset_zombi,
                               op->origin, &op->deleted)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_ams_sqlite_changes(db, op, ngx_ams_store_sql_reset,
                                  op->origin, &op->count);
}


/* a statement run for the rows it changes; "arg" (may be NULL) is ?6 */
static ngx_int_t
ngx_ams_sqlite_expire(sqlite3 *db, ngx_ams_store_op_t *op)
{
    sqlite3_stmt  *stmt;

    if (op->time_field == NULL) {
        snprintf(op->error, sizeof(op->error), "expire: no time field");
        return NGX_ERROR;
    }

    stmt = ngx_ams_sqlite_prepare(db, op, ngx_ams_store_sql_expire);
    if (stmt == NULL) {
        return NGX_ERROR;
    }

    sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_ARG, op->time_field, -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(stmt, NGX_AMS_STORE_SQL_ARG + 1, op->before_ms);

    if (sqlite3_step(stmt) != SQLITE_DONE) {
        return ngx_ams_sqlite_fail(db, op, stmt);
    }

    op->count = sqlite3_changes(db);

    ngx_ams_sqlite_release(stmt);

    return NGX_OK;
}


/*
 * NGX_OK: the id is free for this origin (no record, not live, stale, or
 * this node's), and the caller upserts it in the same transaction;
 * NGX_BUSY: another origin's live stream has it (op->doc says whose).
 */
static ngx_int_t
ngx_ams_sqlite_claim(sqlite3 *db, ngx_ams_store_op_t *op)
{
    int            rc;
    const char    *text;
    json_error_t   jerr;
    sqlite3_stmt  *stmt;

    stmt = ngx_ams_sqlite_prepare(db, op, ngx_ams_store_sql_claim);
    if (stmt == NULL) {
        return NGX_ERROR;
    }

    sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_ARG, op->origin, -1,
                      SQLITE_STATIC);

    rc = sqlite3_step(stmt);

    if (rc == SQLITE_DONE) {
        ngx_ams_sqlite_release(stmt);
        return NGX_OK;
    }

    if (rc != SQLITE_ROW) {
        return ngx_ams_sqlite_fail(db, op, stmt);
    }

    if (sqlite3_column_int(stmt, 1) == 0) {
        ngx_ams_sqlite_release(stmt);
        return NGX_OK;
    }

    text = (const char *) sqlite3_column_text(stmt, 0);
    op->doc = json_loads(text ? text : "", 0, &jerr);

    ngx_ams_sqlite_release(stmt);

    return NGX_BUSY;
}


static ngx_int_t
ngx_ams_sqlite_changes(sqlite3 *db, ngx_ams_store_op_t *op, const char *sql,
    const char *arg, uint64_t *changes)
{
    sqlite3_stmt  *stmt;

    stmt = ngx_ams_sqlite_prepare(db, op, sql);
    if (stmt == NULL) {
        return NGX_ERROR;
    }

    if (arg) {
        sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_ARG, arg, -1,
                          SQLITE_STATIC);
    }

    if (sqlite3_step(stmt) != SQLITE_DONE) {
        return ngx_ams_sqlite_fail(db, op, stmt);
    }

    *changes = sqlite3_changes(db);

    ngx_ams_sqlite_release(stmt);

    return NGX_OK;
}
