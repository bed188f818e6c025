
/*
 * Copyright (C) nginx-ams authors
 *
 * The embedded store's SQL against an in-memory database: a cold start
 * ends only this node's records, and only those a previous run left
 * (deleting the zombi ones); "broadcasting" reads as
 * terminated_unexpectedly once it has gone the stale window without a
 * refresh, in gets, lists and live counts; a zombi record's end deletes
 * it, and expired tokens are purged.
 */


#include <string.h>
#include <sqlite3.h>

#include "tap.h"
#include "ngx_ams_store_sql.h"


#define NOW      1700000000000LL
#define STALE    20000


static sqlite3     *db;
static const char  *coll = "broadcast";


/* binds the five common parameters, "arg" (text or NULL) as ?6 */
static sqlite3_stmt *
prepare(const char *sql, long long now, long long stale, const char *app,
    const char *id, const char *arg)
{
    sqlite3_stmt  *stmt;

    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        printf("# %s\n", sqlite3_errmsg(db));
        return NULL;
    }

    sqlite3_bind_int64(stmt, NGX_AMS_STORE_SQL_NOW, now);
    sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_COLL, coll, -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_APP, app, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_ID, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, NGX_AMS_STORE_SQL_FRESH, now - stale);

    if (arg) {
        sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_ARG, arg, -1,
                          SQLITE_STATIC);
    }

    return stmt;
}


/* runs a statement to its end; the number of rows changed, or -1 */
static int
run(const char *sql, long long now, const char *app, const char *id,
    const char *arg)
{
    int            rc;
    sqlite3_stmt  *stmt;

    stmt = prepare(sql, now, STALE, app, id, arg);
    if (stmt == NULL) {
        return -1;
    }

    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) { /* void */ }

    sqlite3_finalize(stmt);

    if (rc != SQLITE_DONE) {
        printf("# %s\n", sqlite3_errmsg(db));
        return -1;
    }

    return sqlite3_changes(db);
}


static void
seed(const char *id, const char *status, const char *origin,
    long long update_time)
{
    char  doc[256];

    snprintf(doc, sizeof(doc),
             "{\"streamId\":\"%s\",\"status\":\"%s\",\"originAdress\":\"%s\","
             "\"updateTime\":%lld,\"hlsViewerCount\":3}",
             id, status, origin, update_time);

    run(ngx_ams_store_sql_insert, NOW, "LiveApp", id, doc);
}


/* a field of a record as a reader sees it, with this stale window */
static const char *
field(const char *id, const char *name, long long now, long long stale)
{
    char                  path[64];
    sqlite3_stmt         *stmt, *q;
    static char           value[64];

    stmt = prepare(ngx_ams_store_sql_get, now, stale, "LiveApp", id, NULL);
    if (stmt == NULL || sqlite3_step(stmt) != SQLITE_ROW) {
        sqlite3_finalize(stmt);
        return "(none)";
    }

    snprintf(path, sizeof(path), "$.%s", name);
    sqlite3_prepare_v2(db, "SELECT json_extract(?1, ?2)", -1, &q, NULL);
    sqlite3_bind_text(q, 1, (const char *) sqlite3_column_text(stmt, 0), -1,
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, path, -1, SQLITE_STATIC);
    sqlite3_step(q);
    snprintf(value, sizeof(value), "%s",
             sqlite3_column_text(q, 0) ? (char *) sqlite3_column_text(q, 0)
                                       : "(null)");
    sqlite3_finalize(q);
    sqlite3_finalize(stmt);

    return value;
}


static long long
count_live(long long now, long long stale)
{
    long long      n;
    sqlite3_stmt  *stmt;

    stmt = prepare(ngx_ams_store_sql_count_live, now, stale, "LiveApp", "",
                   NULL);
    n = (stmt && sqlite3_step(stmt) == SQLITE_ROW)
        ? sqlite3_column_int64(stmt, 0) : -1;
    sqlite3_finalize(stmt);

    return n;
}


static void
test_reset(void)
{
    int  n;

    seed("ours", "broadcasting", "10.0.0.1", NOW - 5000);
    seed("theirs", "broadcasting", "10.0.0.2", NOW - 5000);
    seed("ours_done", "finished", "10.0.0.1", NOW - 5000);
    seed("ours_new", "broadcasting", "10.0.0.1", NOW + 10);

    /* a cold start of 10.0.0.1 at NOW */
    n = run(ngx_ams_store_sql_reset, NOW, "", "", "10.0.0.1");
    is_int(n, 1, "the reset changes one record");

    ok(strcmp(field("ours", "status", NOW, STALE),
              "terminated_unexpectedly") == 0,
       "our record left broadcasting is terminated_unexpectedly");
    ok(strcmp(field("ours", "hlsViewerCount", NOW, STALE), "0") == 0,
       "with no viewers");
    ok(strcmp(field("theirs", "status", NOW, STALE), "broadcasting") == 0,
       "another node's live record stays broadcasting");
    ok(strcmp(field("theirs", "hlsViewerCount", NOW, STALE), "3") == 0,
       "with its viewers");
    ok(strcmp(field("ours_done", "status", NOW, STALE), "finished") == 0,
       "a finished record stays finished");
    ok(strcmp(field("ours_new", "status", NOW, STALE), "broadcasting") == 0,
       "a record this run already refreshed is left alone");

    n = run(ngx_ams_store_sql_reset, NOW, "", "", "10.0.0.1");
    is_int(n, 0, "a second reset of the same start changes nothing");
}


static void
test_reset_zombi(void)
{
    int  n;

    run(ngx_ams_store_sql_insert, NOW, "LiveApp", "z_ours",
        "{\"status\":\"broadcasting\",\"originAdress\":\"10.0.0.1\","
        "\"updateTime\":1,\"zombi\":true}");
    run(ngx_ams_store_sql_insert, NOW, "LiveApp", "z_theirs",
        "{\"status\":\"broadcasting\",\"originAdress\":\"10.0.0.2\","
        "\"updateTime\":1,\"zombi\":true}");
    run(ngx_ams_store_sql_insert, NOW, "LiveApp", "made_ours",
        "{\"status\":\"broadcasting\",\"originAdress\":\"10.0.0.1\","
        "\"updateTime\":1,\"zombi\":false}");

    n = run(ngx_ams_store_sql_reset_zombi, NOW, "", "", "10.0.0.1");
    is_int(n, 1, "a cold start deletes our zombi record left live");
    ok(strcmp(field("z_ours", "status", NOW, STALE), "(none)") == 0,
       "it is gone");
    ok(strcmp(field("z_theirs", "zombi", NOW, STALE), "1") == 0,
       "another node's zombi stays");

    n = run(ngx_ams_store_sql_reset, NOW, "", "", "10.0.0.1");
    is_int(n, 1, "a record made through REST is ended instead");

    run(ngx_ams_store_sql_delete, NOW, "LiveApp", "z_theirs", NULL);
    run(ngx_ams_store_sql_delete, NOW, "LiveApp", "made_ours", NULL);
}


static void
test_zombi(void)
{
    int  n;

    run(ngx_ams_store_sql_insert, NOW, "LiveApp", "zombi",
        "{\"streamId\":\"zombi\",\"zombi\":true}");
    run(ngx_ams_store_sql_insert, NOW, "LiveApp", "made",
        "{\"streamId\":\"made\",\"zombi\":false}");
    run(ngx_ams_store_sql_insert, NOW, "LiveApp", "old",
        "{\"streamId\":\"old\"}");

    n = run(ngx_ams_store_sql_delete_zombi, NOW, "LiveApp", "zombi", NULL);
    is_int(n, 1, "the end of a zombi record deletes it");
    n = run(ngx_ams_store_sql_delete_zombi, NOW, "LiveApp", "made", NULL);
    is_int(n, 0, "a record made through REST stays");
    n = run(ngx_ams_store_sql_delete_zombi, NOW, "LiveApp", "old", NULL);
    is_int(n, 0, "so does one without the field");

    run(ngx_ams_store_sql_delete, NOW, "LiveApp", "made", NULL);
    run(ngx_ams_store_sql_delete, NOW, "LiveApp", "old", NULL);
}


/* ?99 set: the statement touches only that publish session's record */
static int
run_session(const char *sql, const char *id, const char *arg,
    const char *session)
{
    int            rc;
    sqlite3_stmt  *stmt;

    stmt = prepare(sql, NOW, STALE, "LiveApp", id, arg);
    if (stmt == NULL) {
        return -1;
    }

    if (session) {
        sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_SESSION, session, -1,
                          SQLITE_STATIC);
    }

    rc = sqlite3_step(stmt);
    sqlite3_finalize(stmt);

    return rc == SQLITE_DONE ? sqlite3_changes(db) : -1;
}


/*
 * A stream ends while the next publish of its name has already taken
 * the record (another worker's thread wrote first): the end's UPDATE
 * and zombi DELETE leave that record alone.
 */
static void
test_session(void)
{
    char  sql[2048];

    ok(ngx_ams_store_sql_update(sql, sizeof(sql), 0) == 0, "an update");

    run(ngx_ams_store_sql_insert, NOW, "LiveApp", "again",
        "{\"streamId\":\"again\",\"zombi\":true,"
        "\"status\":\"broadcasting\",\"publishSession\":\"2\"}");

    is_int(run_session(sql, "again", "{\"status\":\"finished\"}", "1"), 0,
           "the previous publish's end does not finish the next one's");
    is_int(run_session(ngx_ams_store_sql_delete_zombi, "again", NULL, "1"),
           0, "nor deletes it");
    ok(strcmp(field("again", "status", NOW, STALE), "broadcasting") == 0,
       "it stays broadcasting");

    is_int(run_session(sql, "again", "{\"bitrate\":1}", NULL), 1,
           "an update of no session (REST) still applies");
    is_int(run_session(sql, "again", "{\"status\":\"finished\"}", "2"), 1,
           "its own end finishes it");
    is_int(run_session(ngx_ams_store_sql_delete_zombi, "again", NULL, "2"),
           1, "and deletes it");

    run(ngx_ams_store_sql_insert, NOW, "LiveApp", "rest",
        "{\"streamId\":\"rest\",\"zombi\":true}");
    is_int(run_session(sql, "rest", "{\"status\":\"finished\"}", "3"), 1,
           "a record of no session is any publish's to end");
    run(ngx_ams_store_sql_delete, NOW, "LiveApp", "rest", NULL);
}


static void
test_purge(void)
{
    int  n;

    coll = "token";
    run(ngx_ams_store_sql_insert, NOW, "LiveApp", "t_old",
        "{\"tokenId\":\"t_old\",\"expireDate\":1699999999}");
    run(ngx_ams_store_sql_insert, NOW, "LiveApp", "t_now",
        "{\"tokenId\":\"t_now\",\"expireDate\":1700000000}");
    run(ngx_ams_store_sql_insert, NOW, "Other", "t_other",
        "{\"tokenId\":\"t_other\",\"expireDate\":1000}");
    run(ngx_ams_store_sql_insert, NOW, "LiveApp", "t_valid",
        "{\"tokenId\":\"t_valid\",\"expireDate\":1700000001}");

    n = run(ngx_ams_store_sql_purge, NOW, "", "", NULL);
    is_int(n, 3, "the purge deletes expired tokens of every application");
    n = run(ngx_ams_store_sql_delete, NOW, "LiveApp", "t_valid", NULL);
    is_int(n, 1, "and keeps a valid one");

    coll = "broadcast";
    n = run(ngx_ams_store_sql_purge, NOW + 1000000000LL, "", "", NULL);
    is_int(n, 0, "it touches no broadcast");
}


static void
test_stale(void)
{
    seed("fresh", "broadcasting", "10.0.0.2", NOW - 5000);
    seed("old", "broadcasting", "10.0.0.2", NOW - 25000);

    ok(strcmp(field("old", "status", NOW, 20000),
              "terminated_unexpectedly") == 0,
       "25 s without a refresh reads terminated_unexpectedly (20 s window)");
    ok(strcmp(field("old", "status", NOW, 30000), "broadcasting") == 0,
       "and broadcasting with a 30 s window");
    ok(strcmp(field("fresh", "status", NOW, 20000), "broadcasting") == 0,
       "5 s without a refresh is live");
    ok(strcmp(field("fresh", "status", NOW + 16000, 20000),
              "terminated_unexpectedly") == 0,
       "and goes stale once the window has passed");

    /* theirs and ours_new from test_reset are live too */
    is_int(count_live(NOW, 20000), 3, "live count with a 20 s window");
    is_int(count_live(NOW, 30000), 4, "live count with a 30 s window");
    is_int(count_live(NOW, 1000), 1, "live count with a 1 s window");
}


static void
test_list(void)
{
    int            n, stale;
    char           sql[1024];
    const char    *doc;
    sqlite3_stmt  *stmt;

    ok(ngx_ams_store_sql_list(sql, sizeof(sql), "name", 1, 1) == 0,
       "a list statement");
    ok(ngx_ams_store_sql_list(sql, 16, "name", 1, 1) == -1,
       "refused when it does not fit");

    ngx_ams_store_sql_list(sql, sizeof(sql), "bogus; DROP TABLE docs", 0, 0);
    ok(strstr(sql, "DROP") == NULL, "an unknown sort key is not SQL");

    stmt = prepare(sql, NOW, 20000, "LiveApp", "", NULL);
    sqlite3_bind_int64(stmt, NGX_AMS_STORE_SQL_ARG + 1, 100);
    sqlite3_bind_int64(stmt, NGX_AMS_STORE_SQL_ARG + 2, 0);

    n = 0;
    stale = 0;

    while (sqlite3_step(stmt) == SQLITE_ROW) {
        doc = (const char *) sqlite3_column_text(stmt, 0);
        n++;

        if (strstr(doc, "\"old\"") && strstr(doc, "terminated_unexpectedly"))
        {
            stale = 1;
        }
    }

    sqlite3_finalize(stmt);

    is_int(n, 6, "the list has every record");
    ok(stale, "a stale record is listed terminated_unexpectedly");
}


static void
test_update(void)
{
    int            n;
    char           sql[2048];
    sqlite3_stmt  *stmt;

    ok(ngx_ams_store_sql_update(sql, 64, 2) == -1,
       "an update refused when it does not fit");
    ok(ngx_ams_store_sql_update(sql, sizeof(sql), 2) == 0,
       "an update with two $inc");

    stmt = prepare(sql, NOW, STALE, "LiveApp", "theirs",
                   "{\"name\":\"cam\"}");
    sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_ARG + 1, "hlsViewerCount", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(stmt, NGX_AMS_STORE_SQL_ARG + 2, 2);
    sqlite3_bind_text(stmt, NGX_AMS_STORE_SQL_ARG + 3, "views", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(stmt, NGX_AMS_STORE_SQL_ARG + 4, 1);
    n = (sqlite3_step(stmt) == SQLITE_DONE) ? sqlite3_changes(db) : -1;
    sqlite3_finalize(stmt);

    is_int(n, 1, "one record updated");
    ok(strcmp(field("theirs", "name", NOW, STALE), "cam") == 0, "$set");
    ok(strcmp(field("theirs", "hlsViewerCount", NOW, STALE), "5") == 0,
       "$inc of a field");
    ok(strcmp(field("theirs", "views", NOW, STALE), "1") == 0,
       "$inc of a missing field");
}


/* EXPIRE with ?6 "lastUpdateTime", ?7 the time below which docs go */
static int
run_expire(const char *app, long long before)
{
    int            n;
    sqlite3_stmt  *stmt;

    stmt = prepare(ngx_ams_store_sql_expire, NOW, STALE, app, "",
                   "lastUpdateTime");
    if (stmt == NULL) {
        return -1;
    }

    sqlite3_bind_int64(stmt, NGX_AMS_STORE_SQL_ARG + 1, before);
    n = (sqlite3_step(stmt) == SQLITE_DONE) ? sqlite3_changes(db) : -1;
    sqlite3_finalize(stmt);

    return n;
}


static int
exists(const char *app, const char *id)
{
    int            found;
    sqlite3_stmt  *stmt;

    stmt = prepare(ngx_ams_store_sql_get, NOW, STALE, app, id, NULL);
    found = (stmt && sqlite3_step(stmt) == SQLITE_ROW);
    sqlite3_finalize(stmt);

    return found;
}


/*
 * The cluster's DEAD node records: those whose lastUpdateTime is below
 * the limit go, in that collection and app only; a record without the
 * field, or at the limit, stays.  The MongoDB test server hands int64s
 * back as doubles: a real time compares the same.
 */
static void
test_expire(void)
{
    coll = "clusternode";
    run(ngx_ams_store_sql_insert, NOW, "", "dead",
        "{\"id\":\"dead\",\"lastUpdateTime\":1699999990000}");
    run(ngx_ams_store_sql_insert, NOW, "", "dead_real",
        "{\"id\":\"dead_real\",\"lastUpdateTime\":1699999990000.0}");
    run(ngx_ams_store_sql_insert, NOW, "", "at_limit",
        "{\"id\":\"at_limit\",\"lastUpdateTime\":1699999995000}");
    run(ngx_ams_store_sql_insert, NOW, "", "alive",
        "{\"id\":\"alive\",\"lastUpdateTime\":1699999999000}");
    run(ngx_ams_store_sql_insert, NOW, "", "no_time",
        "{\"id\":\"no_time\"}");
    run(ngx_ams_store_sql_insert, NOW, "Other", "dead",
        "{\"id\":\"dead\",\"lastUpdateTime\":1}");

    is_int(run_expire("", NOW - 5000), 2,
           "EXPIRE deletes the two records older than the limit");
    ok(!exists("", "dead") && !exists("", "dead_real"), "they are gone");
    ok(exists("", "at_limit"), "a record at the limit stays");
    ok(exists("", "alive"), "a fresh record stays");
    ok(exists("", "no_time"), "a record without the field stays");
    ok(exists("Other", "dead"), "another app's record stays");

    coll = "broadcast";
    is_int(run_expire("", NOW * 2), 0, "another collection's are not seen");

    coll = "clusternode";
    is_int(run_expire("", NOW * 2), 2, "a later limit takes the rest");
    run(ngx_ams_store_sql_delete, NOW, "Other", "dead", NULL);
    coll = "broadcast";
}


/* CLAIM of "id" by "origin": -1 no record, else column 1 (1: taken) */
static int
claim(const char *id, const char *origin, long long now)
{
    int            taken;
    sqlite3_stmt  *stmt;

    stmt = prepare(ngx_ams_store_sql_claim, now, STALE, "Claim", id, origin);
    if (stmt == NULL) {
        return -2;
    }

    taken = (sqlite3_step(stmt) == SQLITE_ROW)
            ? sqlite3_column_int(stmt, 1) : -1;
    sqlite3_finalize(stmt);

    return taken;
}


static void
test_claim(void)
{
    run(ngx_ams_store_sql_insert, NOW, "Claim", "live_a",
        "{\"streamId\":\"live_a\",\"status\":\"broadcasting\","
        "\"originAdress\":\"10.0.0.1\",\"updateTime\":1699999995000}");
    run(ngx_ams_store_sql_insert, NOW, "Claim", "stale_a",
        "{\"streamId\":\"stale_a\",\"status\":\"broadcasting\","
        "\"originAdress\":\"10.0.0.1\",\"updateTime\":1699999970000}");
    run(ngx_ams_store_sql_insert, NOW, "Claim", "done_a",
        "{\"streamId\":\"done_a\",\"status\":\"finished\","
        "\"originAdress\":\"10.0.0.1\",\"updateTime\":1699999995000}");
    run(ngx_ams_store_sql_insert, NOW, "Claim", "made",
        "{\"streamId\":\"made\",\"status\":\"created\"}");

    is_int(claim("none", "10.0.0.2", NOW), -1, "CLAIM of no record: free");
    is_int(claim("live_a", "10.0.0.2", NOW), 1,
           "another origin's live stream holds the id");
    is_int(claim("live_a", "10.0.0.1", NOW), 0,
           "its own origin may claim it again");
    is_int(claim("live_a", "10.0.0.2", NOW + STALE), 0,
           "free once the record has gone stale");
    is_int(claim("stale_a", "10.0.0.2", NOW), 0,
           "a stale broadcasting record does not hold the id");
    is_int(claim("done_a", "10.0.0.2", NOW), 0,
           "nor does a finished one");
    is_int(claim("made", "10.0.0.2", NOW), 0,
           "nor one made through REST, not yet published");
}


int
main(void)
{
    char  *err = NULL;

    if (sqlite3_open(":memory:", &db) != SQLITE_OK
        || sqlite3_exec(db, ngx_ams_store_sql_schema, NULL, NULL, &err)
           != SQLITE_OK)
    {
        printf("Bail out! schema: %s\n", err ? err : sqlite3_errmsg(db));
        return 1;
    }

    test_reset();
    test_reset_zombi();
    test_zombi();
    test_session();
    test_purge();
    test_stale();
    test_list();
    test_update();
    test_expire();
    test_claim();

    sqlite3_close(db);

    return done_testing();
}
