
/*
 * Copyright (C) nginx-ams authors
 *
 * The store's MongoDB backend ("database mongodb://...", or
 * "mongodb+srv://..."), through libmongoc.  Databases and collections as
 * Ant Media Server names them: an application's "broadcast" and "token"
 * collections live in the database named after it, the cluster's own
 * ("clusternode") in "clusterdb".  Documents carry AMS's field names;
 * each is found by its collection's id field (streamId, tokenId, id),
 * never by "_id", which the server assigns and readers never see.
 *
 * The URI passes through as the user wrote it (replica sets, TLS,
 * credentials); only the timeouts get short defaults when absent, so a
 * server that is gone fails an operation within seconds instead of
 * holding a store thread for the driver's 30 s.
 *
 * The master opens one client to create the indexes (the createIndexes
 * command) and run a cold start's reset, and destroys it before the
 * workers fork.  Each store thread of a worker then opens a client of
 * its own when it first runs a chain, and keeps it (a libmongoc client is
 * not thread-safe; one per thread needs no lock).  These are libmongoc's
 * single-threaded clients, not a pool: a pool monitors the servers from
 * threads of its own, and against a server that answers an awaitable
 * "hello" at once (the test wire server) those threads spin; a
 * single-threaded client checks the topology when it selects a server
 * (every heartbeatFrequencyMS, 60 s by default, and after an error), so
 * a primary that changes is found at the next operation.  Nothing here
 * runs on the event loop.
 *
 * A chain is not a transaction here: a standalone server has none, and
 * a replica set's would cost a round trip per chain for what the store's
 * callers need.  The operations run in order and the first error stops
 * the chain; as with SQLite every operation then reports that error, but
 * the writes before it are kept, not rolled back.  What must be atomic
 * is one operation each: INSERT and the first step of UPSERT and CLAIM
 * are upserts on the id with $setOnInsert, the second step of CLAIM a
 * findAndModify whose filter says the id is free, TAKE a findAndModify
 * that removes.  None of them needs the unique index on the id field
 * (kept for real MongoDB: two racing upserts cannot both insert there).
 *
 * There is no cheap "has anyone written" number for the read cache: the
 * version callback declines, and cached reads live for their TTL.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <mongoc/mongoc.h>

#include "ngx_ams_cluster.h"
#include "ngx_ams_mongo_bson.h"


#define NGX_AMS_MONGO_SELECT_MS   2000   /* serverSelectionTimeoutMS */
#define NGX_AMS_MONGO_CONNECT_MS  2000   /* connectTimeoutMS */
#define NGX_AMS_MONGO_SOCKET_MS   3000   /* socketTimeoutMS */

#define NGX_AMS_MONGO_DUPLICATE   11000  /* E11000 duplicate key */


typedef struct {
    mongoc_uri_t             *uri;
    ngx_uint_t                ready;        /* this worker's mongoc_init */
} ngx_ams_mongo_t;


/* each store thread's client (and the loop's, for a chain run there by
 * ngx_ams_store_run_now() when the worker exits) */
static __thread mongoc_client_t  *ngx_ams_mongo_client;


static char *ngx_ams_mongo_configure(ngx_conf_t *cf, ngx_str_t *uri,
    void **data);
static char *ngx_ams_mongo_srv_configure(ngx_conf_t *cf, ngx_str_t *uri,
    void **data);
static char *ngx_ams_mongo_parse(ngx_conf_t *cf, const char *scheme,
    ngx_str_t *uri, void **data);
static void ngx_ams_mongo_uri_cleanup(void *data);
static void ngx_ams_mongo_log(mongoc_log_level_t level, const char *domain,
    const char *message, void *data);
static ngx_int_t ngx_ams_mongo_init_module(ngx_cycle_t *cycle, void *data,
    ngx_ams_store_op_t *reset);
static ngx_int_t ngx_ams_mongo_indexes(mongoc_client_t *client,
    const char *app, const char *collection, bson_error_t *error);
static ngx_int_t ngx_ams_mongo_init_worker(ngx_cycle_t *cycle, void *data);
static void ngx_ams_mongo_exit_worker(ngx_cycle_t *cycle, void *data);
static ngx_int_t ngx_ams_mongo_version(void *data, uint64_t *version);
static void ngx_ams_mongo_run(ngx_ams_store_op_t *ops, void *data);
static ngx_int_t ngx_ams_mongo_exec(mongoc_client_t *client,
    ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_mongo_get(mongoc_collection_t *coll,
    ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_mongo_take(mongoc_collection_t *coll,
    ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_mongo_insert(mongoc_collection_t *coll,
    ngx_ams_store_op_t *op, json_t *on_insert, json_t *set);
static ngx_int_t ngx_ams_mongo_update(mongoc_collection_t *coll,
    ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_mongo_upsert(mongoc_collection_t *coll,
    ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_mongo_delete(mongoc_collection_t *coll,
    ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_mongo_list(mongoc_collection_t *coll,
    ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_mongo_count(mongoc_collection_t *coll,
    ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_mongo_expire(mongoc_collection_t *coll,
    ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_mongo_claim(mongoc_collection_t *coll,
    ngx_ams_store_op_t *op);
static ngx_int_t ngx_ams_mongo_every_app(mongoc_client_t *client,
    ngx_ams_store_op_t *op);
static int64_t ngx_ams_mongo_reply_count(const bson_t *reply,
    const char *field);
static ngx_int_t ngx_ams_mongo_fail(ngx_ams_store_op_t *op,
    bson_error_t *error);
static ngx_uint_t ngx_ams_mongo_unreachable(bson_error_t *error);
static ngx_int_t ngx_ams_mongo_oom(ngx_ams_store_op_t *op);


ngx_ams_store_backend_t  ngx_ams_store_mongo = {
    ngx_string("mongodb"),
    ngx_ams_mongo_configure,
    ngx_ams_mongo_init_module,
    ngx_ams_mongo_init_worker,
    ngx_ams_mongo_exit_worker,
    ngx_ams_mongo_run,
    ngx_ams_mongo_version
};


/* DNS seed lists: the same backend, another scheme */
ngx_ams_store_backend_t  ngx_ams_store_mongo_srv = {
    ngx_string("mongodb+srv"),
    ngx_ams_mongo_srv_configure,
    ngx_ams_mongo_init_module,
    ngx_ams_mongo_init_worker,
    ngx_ams_mongo_exit_worker,
    ngx_ams_mongo_run,
    ngx_ams_mongo_version
};


/* the indexes of each collection: its id first (unique), then what the
 * store's filters and sorts read */
static const char  *ngx_ams_mongo_broadcast_keys[] = {
    "streamId", "status", "name", "date", "originAdress", NULL
};

static const char  *ngx_ams_mongo_token_keys[] = {
    "tokenId", "expireDate", NULL
};

static const char  *ngx_ams_mongo_node_keys[] = {
    "id", "lastUpdateTime", NULL
};

static const char  *ngx_ams_mongo_settings_keys[] = {
    "id", NULL
};

static const char  *ngx_ams_mongo_group_relay_keys[] = {
    "id", NULL
};


static char *
ngx_ams_mongo_configure(ngx_conf_t *cf, ngx_str_t *uri, void **data)
{
    return ngx_ams_mongo_parse(cf, "mongodb:", uri, data);
}


static char *
ngx_ams_mongo_srv_configure(ngx_conf_t *cf, ngx_str_t *uri, void **data)
{
    return ngx_ams_mongo_parse(cf, "mongodb+srv:", uri, data);
}


/* the URI is checked here, at configuration time, not at first use */
static char *
ngx_ams_mongo_parse(ngx_conf_t *cf, const char *scheme, ngx_str_t *uri,
    void **data)
{
    u_char              *p;
    char                *text;
    size_t               len;
    bson_error_t         error;
    ngx_ams_mongo_t     *mg;
    ngx_pool_cleanup_t  *cln;

    len = ngx_strlen(scheme);

    text = ngx_pnalloc(cf->pool, len + uri->len + 1);
    if (text == NULL) {
        return NGX_CONF_ERROR;
    }

    p = ngx_cpymem(text, scheme, len);
    p = ngx_cpymem(p, uri->data, uri->len);
    *p = '\0';

    mg = ngx_pcalloc(cf->pool, sizeof(ngx_ams_mongo_t));
    if (mg == NULL) {
        return NGX_CONF_ERROR;
    }

    mongoc_init();
    mongoc_log_set_handler(ngx_ams_mongo_log, NULL);

    mg->uri = mongoc_uri_new_with_error(text, &error);
    if (mg->uri == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"database\": invalid MongoDB URI: %s",
                           error.message);
        return NGX_CONF_ERROR;
    }

    /* freed with the configuration cycle's pool (a reload parses anew) */
    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        mongoc_uri_destroy(mg->uri);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_ams_mongo_uri_cleanup;
    cln->data = mg->uri;

    if (!mongoc_uri_has_option(mg->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
    {
        mongoc_uri_set_option_as_int32(mg->uri,
                                       MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
                                       NGX_AMS_MONGO_SELECT_MS);
    }

    if (!mongoc_uri_has_option(mg->uri, MONGOC_URI_CONNECTTIMEOUTMS)) {
        mongoc_uri_set_option_as_int32(mg->uri, MONGOC_URI_CONNECTTIMEOUTMS,
                                       NGX_AMS_MONGO_CONNECT_MS);
    }

    if (!mongoc_uri_has_option(mg->uri, MONGOC_URI_SOCKETTIMEOUTMS)) {
        mongoc_uri_set_option_as_int32(mg->uri, MONGOC_URI_SOCKETTIMEOUTMS,
                                       NGX_AMS_MONGO_SOCKET_MS);
    }

    if (!mongoc_uri_has_option(mg->uri, MONGOC_URI_APPNAME)) {
        (void) mongoc_uri_set_appname(mg->uri, "nginx-ams");
    }

    *data = mg;

    return NGX_CONF_OK;
}


static void
ngx_ams_mongo_uri_cleanup(void *data)
{
    mongoc_uri_destroy(data);
}


/*
 * The driver's own messages go to nginx's error log, not to stderr.  Any
 * thread may log, the driver's monitors too: the cycle's log only
 * writes.
 */
static void
ngx_ams_mongo_log(mongoc_log_level_t level, const char *domain,
    const char *message, void *data)
{
    ngx_uint_t  nlevel;

    switch (level) {

    case MONGOC_LOG_LEVEL_ERROR:
    case MONGOC_LOG_LEVEL_CRITICAL:
        nlevel = NGX_LOG_ERR;
        break;

    case MONGOC_LOG_LEVEL_WARNING:
        nlevel = NGX_LOG_WARN;
        break;

    case MONGOC_LOG_LEVEL_MESSAGE:
    case MONGOC_LOG_LEVEL_INFO:
        nlevel = NGX_LOG_INFO;
        break;

    default:
        return;
    }

    ngx_log_error(nlevel, ngx_cycle->log, 0, "ams store: mongodb: %s: %s",
                  domain, message);
}


/*
 * The master, before fork: indexes for every configured application and
 * the cluster's collection, then a cold start's reset.  An index that
 * cannot be made is logged and left for the next start: the store works
 * without it (slower), and a server that is down fails once here, not
 * once per collection, and does not stop the node from starting.
 */
static ngx_int_t
ngx_ams_mongo_init_module(ngx_cycle_t *cycle, void *data,
    ngx_ams_store_op_t *reset)
{
    ngx_ams_mongo_t *mg = data;

    char                  app[NGX_AMS_APP_LEN];
    ngx_uint_t            i;
    bson_error_t          error;
    mongoc_client_t      *client;
    ngx_ams_app_conf_t  **apps;
    ngx_ams_main_conf_t  *amcf;

    mongoc_init();

    client = mongoc_client_new_from_uri_with_error(mg->uri, &error);
    if (client == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "ams store: mongodb: %s", error.message);
        return NGX_ERROR;
    }

    (void) mongoc_client_set_error_api(client,
                                       MONGOC_ERROR_API_VERSION_2);

    amcf = ngx_ams_get_main_conf(cycle);
    apps = amcf->apps.elts;

    if (ngx_ams_mongo_indexes(client, "", NGX_AMS_COLL_NODE, &error)
        == NGX_OK)
    {
        for (i = 0; i < amcf->apps.nelts; i++) {
            ngx_cpystrn((u_char *) app, apps[i]->name.data,
                        ngx_min(apps[i]->name.len + 1, sizeof(app)));

            if (ngx_ams_mongo_indexes(client, app, NGX_AMS_COLL_BROADCAST,
                                      &error)
                != NGX_OK
                || ngx_ams_mongo_indexes(client, app, NGX_AMS_COLL_TOKEN,
                                         &error)
                   != NGX_OK
                || ngx_ams_mongo_indexes(client, app, NGX_AMS_COLL_SETTINGS,
                                         &error)
                   != NGX_OK
                || ngx_ams_mongo_indexes(client, app,
                                         NGX_AMS_COLL_GROUP_RELAY, &error)
                   != NGX_OK)
            {
                break;
            }
        }
    }

    if (error.code && ngx_ams_mongo_unreachable(&error)) {
        /*
         * A node must be able to start while its cluster's MongoDB is
         * down: it serves streams meanwhile, and the store comes back
         * by itself.  What the reset would have ended reads
         * terminated_unexpectedly anyway once stale.  A server that
         * answers but refuses (credentials) still fails the start.
         */
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "ams store: mongodb unreachable at start: %s; "
                      "indexes are made at the next start or reload%s",
                      error.message,
                      reset ? ", this node's records left broadcasting "
                              "end when they go stale" : "");

        if (reset) {
            reset->rc = NGX_OK;
            reset = NULL;
        }

    } else if (error.code) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "ams store: mongodb: creating indexes: %s",
                      error.message);
    }

    if (reset) {
        reset->rc = ngx_ams_mongo_exec(client, reset);
    }

    mongoc_client_destroy(client);

    return NGX_OK;
}


/* createIndexes: the driver has no index-model API before 1.24 */
static ngx_int_t
ngx_ams_mongo_indexes(mongoc_client_t *client, const char *app,
    const char *collection, bson_error_t *error)
{
    char                 db[NGX_AMS_MONGO_DB_LEN], name[64];
    bson_t               cmd, indexes, index, key;
    ngx_uint_t           i;
    const char          *idx, **keys;
    mongoc_database_t   *database;

    ngx_memzero(error, sizeof(bson_error_t));

    keys = ngx_strcmp(collection, NGX_AMS_COLL_BROADCAST) == 0
           ? ngx_ams_mongo_broadcast_keys
           : ngx_strcmp(collection, NGX_AMS_COLL_TOKEN) == 0
           ? ngx_ams_mongo_token_keys
           : ngx_strcmp(collection, NGX_AMS_COLL_SETTINGS) == 0
           ? ngx_ams_mongo_settings_keys
           : ngx_strcmp(collection, NGX_AMS_COLL_GROUP_RELAY) == 0
           ? ngx_ams_mongo_group_relay_keys : ngx_ams_mongo_node_keys;

    bson_init(&cmd);
    BSON_APPEND_UTF8(&cmd, "createIndexes", collection);
    bson_append_array_begin(&cmd, "indexes", 7, &indexes);

    for (i = 0; keys[i]; i++) {
        char  istr[16];

        bson_uint32_to_string((uint32_t) i, &idx, istr, sizeof(istr));
        ngx_sprintf((u_char *) name, "%s_1%Z", keys[i]);

        bson_append_document_begin(&indexes, idx, -1, &index);
        bson_append_document_begin(&index, "key", 3, &key);
        BSON_APPEND_INT32(&key, keys[i], 1);
        bson_append_document_end(&index, &key);
        BSON_APPEND_UTF8(&index, "name", name);

        if (i == 0) {
            BSON_APPEND_BOOL(&index, "unique", true);
        }

        bson_append_document_end(&indexes, &index);
    }

    bson_append_array_end(&cmd, &indexes);

    ngx_ams_mongo_db_name(app, db);
    database = mongoc_client_get_database(client, db);

    if (!mongoc_database_write_command_with_opts(database, &cmd, NULL, NULL,
                                                 error))
    {
        mongoc_database_destroy(database);
        bson_destroy(&cmd);
        return NGX_ERROR;
    }

    mongoc_database_destroy(database);
    bson_destroy(&cmd);

    return NGX_OK;
}


static ngx_int_t
ngx_ams_mongo_init_worker(ngx_cycle_t *cycle, void *data)
{
    ngx_ams_mongo_t *mg = data;

    mongoc_init();
    mg->ready = 1;

    return NGX_OK;
}


/*
 * The store's threads are gone (thread pools exit first) with their
 * clients' sockets; the process goes next.  The loop's own client, made
 * for an exiting worker's last writes, is closed here.
 */
static void
ngx_ams_mongo_exit_worker(ngx_cycle_t *cycle, void *data)
{
    if (ngx_ams_mongo_client) {
        mongoc_client_destroy(ngx_ams_mongo_client);
        ngx_ams_mongo_client = NULL;
    }
}


static ngx_int_t
ngx_ams_mongo_version(void *data, uint64_t *version)
{
    return NGX_DECLINED;
}


/* a store thread (or the loop of an exiting worker): its own client */
static void
ngx_ams_mongo_run(ngx_ams_store_op_t *ops, void *data)
{
    ngx_ams_mongo_t *mg = data;

    char                 error[128];
    bson_error_t         berr;
    mongoc_client_t     *client;
    ngx_ams_store_op_t  *op, *failed;

    if (ngx_ams_mongo_client == NULL) {
        if (!mg->ready) {
            mongoc_init();
            mg->ready = 1;
        }

        ngx_ams_mongo_client = mongoc_client_new_from_uri_with_error(mg->uri,
                                                                     &berr);
        if (ngx_ams_mongo_client) {
            (void) mongoc_client_set_error_api(ngx_ams_mongo_client,
                                               MONGOC_ERROR_API_VERSION_2);
        }
    }

    client = ngx_ams_mongo_client;

    if (client == NULL) {
        ngx_cpystrn((u_char *) error, (u_char *) "no MongoDB client",
                    sizeof(error));
        ops->unavailable = 1;
        failed = NULL;
        goto fail;
    }

    failed = NULL;

    for (op = ops; op; op = op->next) {
        op->rc = ngx_ams_mongo_exec(client, op);

        if (op->rc == NGX_ERROR) {
            failed = op;
            break;
        }
    }

    if (failed == NULL) {
        return;
    }

    ngx_cpystrn((u_char *) error, (u_char *) failed->error, sizeof(error));

fail:

    /* as SQLite reports a failed transaction: every operation failed with
     * the first error (but what ran before it was written) */
    for (op = ops; op; op = op->next) {
        op->rc = NGX_ERROR;

        if (op->error[0] == '\0') {
            ngx_cpystrn((u_char *) op->error, (u_char *) error,
                        sizeof(op->error));
        }
    }
}


static ngx_int_t
ngx_ams_mongo_exec(mongoc_client_t *client, ngx_ams_store_op_t *op)
{
    char                  db[NGX_AMS_MONGO_DB_LEN];
    ngx_int_t             rc;
    mongoc_collection_t  *coll;

    if (op->type == NGX_AMS_STORE_RESET || op->type == NGX_AMS_STORE_PURGE) {
        return ngx_ams_mongo_every_app(client, op);
    }

    ngx_ams_mongo_db_name(op->app, db);
    coll = mongoc_client_get_collection(client, db, op->collection);

    switch (op->type) {

    case NGX_AMS_STORE_GET:
        rc = ngx_ams_mongo_get(coll, op);
        break;

    case NGX_AMS_STORE_TAKE:
        rc = ngx_ams_mongo_take(coll, op);
        break;

    case NGX_AMS_STORE_INSERT:
        rc = ngx_ams_mongo_insert(coll, op, NULL, op->set);
        break;

    case NGX_AMS_STORE_UPSERT:
        rc = ngx_ams_mongo_upsert(coll, op);
        break;

    case NGX_AMS_STORE_UPDATE:
        rc = ngx_ams_mongo_update(coll, op);
        break;

    case NGX_AMS_STORE_DELETE:
        rc = ngx_ams_mongo_delete(coll, op);
        break;

    case NGX_AMS_STORE_LIST:
        rc = ngx_ams_mongo_list(coll, op);
        break;

    case NGX_AMS_STORE_COUNT:
        rc = ngx_ams_mongo_count(coll, op);
        break;

    case NGX_AMS_STORE_EXPIRE:
        rc = ngx_ams_mongo_expire(coll, op);
        break;

    case NGX_AMS_STORE_CLAIM:
        rc = ngx_ams_mongo_claim(coll, op);
        break;

    default:
        snprintf(op->error, sizeof(op->error), "unknown operation %u",
                 (unsigned) op->type);
        rc = NGX_ERROR;
    }

    mongoc_collection_destroy(coll);

    return rc;
}


/* the record as readers see it: stale "broadcasting" ended */
static ngx_int_t
ngx_ams_mongo_get(mongoc_collection_t *coll, ngx_ams_store_op_t *op)
{
    bson_t            filter, opts;
    ngx_int_t         rc;
    bson_error_t      error;
    const bson_t     *doc;
    mongoc_cursor_t  *cursor;

    bson_init(&filter);
    bson_init(&opts);

    if (ngx_ams_mongo_key(&filter, ngx_ams_store_id_field(op->collection),
                          op->id, NULL, 0)
        != 0)
    {
        bson_destroy(&filter);
        bson_destroy(&opts);
        return ngx_ams_mongo_oom(op);
    }

    BSON_APPEND_INT64(&opts, "limit", 1);

    cursor = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);

    rc = NGX_DECLINED;

    if (mongoc_cursor_next(cursor, &doc)) {
        op->doc = ngx_ams_mongo_to_json(doc);
        rc = op->doc ? NGX_OK : ngx_ams_mongo_oom(op);

        if (op->doc) {
            ngx_ams_mongo_stale(op->doc,
                                op->now_ms - (int64_t) op->stale_ms);
        }

    } else if (mongoc_cursor_error(cursor, &error)) {
        rc = ngx_ams_mongo_fail(op, &error);
    }

    mongoc_cursor_destroy(cursor);
    bson_destroy(&filter);
    bson_destroy(&opts);

    return rc;
}


/* found and removed in one command: a one-time token admits once */
static ngx_int_t
ngx_ams_mongo_take(mongoc_collection_t *coll, ngx_ams_store_op_t *op)
{
    bson_t                          filter, reply;
    ngx_int_t                       rc;
    bson_iter_t                     it;
    bson_error_t                    error;
    const uint8_t                  *buf;
    uint32_t                        len;
    bson_t                          value;
    mongoc_find_and_modify_opts_t  *fam;

    bson_init(&filter);

    if (ngx_ams_mongo_key(&filter, ngx_ams_store_id_field(op->collection),
                          op->id, NULL, 0)
        != 0)
    {
        bson_destroy(&filter);
        return ngx_ams_mongo_oom(op);
    }

    fam = mongoc_find_and_modify_opts_new();
    mongoc_find_and_modify_opts_set_flags(fam,
                                          MONGOC_FIND_AND_MODIFY_REMOVE);

    if (!mongoc_collection_find_and_modify_with_opts(coll, &filter, fam,
                                                     &reply, &error))
    {
        rc = ngx_ams_mongo_fail(op, &error);

    } else if (bson_iter_init_find(&it, &reply, "value")
               && BSON_ITER_HOLDS_DOCUMENT(&it))
    {
        bson_iter_document(&it, &len, &buf);
        rc = NGX_DECLINED;

        if (bson_init_static(&value, buf, len)) {
            op->doc = ngx_ams_mongo_to_json(&value);
            rc = op->doc ? NGX_OK : ngx_ams_mongo_oom(op);
        }

    } else {
        rc = NGX_DECLINED;
    }

    bson_destroy(&reply);
    mongoc_find_and_modify_opts_destroy(fam);
    bson_destroy(&filter);

    return rc;
}


/*
 * An upsert on the id that only sets on insert: NGX_OK when it inserted
 * "on_insert" with "set" over it, NGX_BUSY when a record was there.
 */
static ngx_int_t
ngx_ams_mongo_insert(mongoc_collection_t *coll, ngx_ams_store_op_t *op,
    json_t *on_insert, json_t *set)
{
    bson_t         filter, update, opts, reply;
    ngx_int_t      rc;
    const char    *field;
    bson_error_t   error;

    if (on_insert == NULL && set == NULL) {
        snprintf(op->error, sizeof(op->error), "nothing to insert");
        return NGX_ERROR;
    }

    field = ngx_ams_store_id_field(op->collection);

    bson_init(&filter);
    bson_init(&update);
    bson_init(&opts);

    if (ngx_ams_mongo_key(&filter, field, op->id, NULL, 0) != 0
        || ngx_ams_mongo_insert_doc(&update, on_insert, set, field,
                                    op->id)
           != 0)
    {
        rc = ngx_ams_mongo_oom(op);
        goto done;
    }

    BSON_APPEND_BOOL(&opts, "upsert", true);

    if (!mongoc_collection_update_one(coll, &filter, &update, &opts, &reply,
                                      &error))
    {
        /* the unique index of a real MongoDB: another insert won */
        rc = error.code == NGX_AMS_MONGO_DUPLICATE
             ? NGX_BUSY : ngx_ams_mongo_fail(op, &error);

    } else {
        rc = ngx_ams_mongo_reply_count(&reply, "upsertedCount") > 0
             ? NGX_OK : NGX_BUSY;
    }

    bson_destroy(&reply);

done:

    bson_destroy(&filter);
    bson_destroy(&update);
    bson_destroy(&opts);

    return rc;
}


/* $set (a top-level merge patch) and $inc; NGX_DECLINED: no record */
static ngx_int_t
ngx_ams_mongo_update(mongoc_collection_t *coll, ngx_ams_store_op_t *op)
{
    bson_t         filter, update, reply;
    ngx_int_t      rc;
    const char    *field;
    bson_error_t   error;

    field = ngx_ams_store_id_field(op->collection);

    bson_init(&filter);
    bson_init(&update);

    if (ngx_ams_mongo_key(&filter, field, op->id, op->session, 0) != 0
        || ngx_ams_mongo_update_doc(&update, op->set, op->inc, field,
                                    op->id)
           != 0)
    {
        bson_destroy(&filter);
        bson_destroy(&update);
        return ngx_ams_mongo_oom(op);
    }

    if (!mongoc_collection_update_one(coll, &filter, &update, NULL, &reply,
                                      &error))
    {
        rc = ngx_ams_mongo_fail(op, &error);

    } else {
        rc = ngx_ams_mongo_reply_count(&reply, "matchedCount") > 0
             ? NGX_OK : NGX_DECLINED;
    }

    bson_destroy(&reply);
    bson_destroy(&filter);
    bson_destroy(&update);

    return rc;
}


/*
 * As the SQL store: the update ($set, $inc, of this session), else an
 * insert of on_insert with set over it ($inc is not applied to a new
 * record).  A record inserted by someone else between the two is updated
 * on a second try; one of another session is NGX_BUSY.
 */
static ngx_int_t
ngx_ams_mongo_upsert(mongoc_collection_t *coll, ngx_ams_store_op_t *op)
{
    ngx_int_t   rc;
    ngx_uint_t  try;

    for (try = 0; try < 2; try++) {
        rc = ngx_ams_mongo_update(coll, op);
        if (rc != NGX_DECLINED) {
            return rc;
        }

        rc = ngx_ams_mongo_insert(coll, op, op->on_insert, op->set);
        if (rc != NGX_BUSY || op->session[0]) {
            return rc;
        }
    }

    return rc;
}


static ngx_int_t
ngx_ams_mongo_delete(mongoc_collection_t *coll, ngx_ams_store_op_t *op)
{
    bson_t         filter, reply;
    ngx_int_t      rc;
    bson_error_t   error;

    bson_init(&filter);

    /* the SQL store reads the session for a zombi delete only */
    if (ngx_ams_mongo_key(&filter, ngx_ams_store_id_field(op->collection),
                          op->id, op->zombi_only ? op->session : NULL,
                          op->zombi_only != 0)
        != 0)
    {
        bson_destroy(&filter);
        return ngx_ams_mongo_oom(op);
    }

    if (!mongoc_collection_delete_one(coll, &filter, NULL, &reply, &error)) {
        rc = ngx_ams_mongo_fail(op, &error);

    } else {
        rc = ngx_ams_mongo_reply_count(&reply, "deletedCount") > 0
             ? NGX_OK : NGX_DECLINED;
    }

    bson_destroy(&reply);
    bson_destroy(&filter);

    return rc;
}


/* offset/size, sorted, searched: a JSON array of records as read */
static ngx_int_t
ngx_ams_mongo_list(mongoc_collection_t *coll, ngx_ams_store_op_t *op)
{
    char             *text;
    size_t            len, size, n;
    json_t           *doc;
    bson_t            filter, opts, sort;
    ngx_int_t         rc;
    bson_error_t      error;
    const bson_t     *bdoc;
    mongoc_cursor_t  *cursor;

    size = 4096;
    op->text = malloc(size);
    if (op->text == NULL) {
        return ngx_ams_mongo_oom(op);
    }

    len = 0;
    op->text[len++] = '[';

    /* MongoDB reads a limit of 0 as none */
    if (op->size == 0) {
        op->text[len++] = ']';
        op->text_len = len;
        return NGX_OK;
    }

    bson_init(&filter);
    bson_init(&opts);

    if ((op->search[0]
         && ngx_ams_mongo_search(&filter,
                                 ngx_ams_store_id_field(op->collection),
                                 op->search)
            != 0)
        || !bson_append_document_begin(&opts, "sort", 4, &sort)
        || ngx_ams_mongo_sort(&sort, op->sort_by, op->descending) != 0
        || !bson_append_document_end(&opts, &sort)
        || !BSON_APPEND_INT64(&opts, "skip", (int64_t) op->offset)
        || !BSON_APPEND_INT64(&opts, "limit", (int64_t) op->size))
    {
        bson_destroy(&filter);
        bson_destroy(&opts);
        return ngx_ams_mongo_oom(op);
    }

    cursor = mongoc_collection_find_with_opts(coll, &filter, &opts, NULL);

    rc = NGX_OK;

    while (mongoc_cursor_next(cursor, &bdoc)) {
        doc = ngx_ams_mongo_to_json(bdoc);
        if (doc == NULL) {
            rc = ngx_ams_mongo_oom(op);
            break;
        }

        ngx_ams_mongo_stale(doc, op->now_ms - (int64_t) op->stale_ms);

        text = json_dumps(doc, JSON_COMPACT);
        json_decref(doc);

        if (text == NULL) {
            rc = ngx_ams_mongo_oom(op);
            break;
        }

        n = ngx_strlen(text);

        if (len + n + 2 > size) {
            char  *bigger;

            size = ngx_max(size * 2, len + n + 2);
            bigger = realloc(op->text, size);
            if (bigger == NULL) {
                free(text);
                rc = ngx_ams_mongo_oom(op);
                break;
            }
            op->text = bigger;
        }

        if (len > 1) {
            op->text[len++] = ',';
        }

        ngx_memcpy(op->text + len, text, n);
        len += n;
        free(text);
        op->count++;
    }

    if (rc == NGX_OK && mongoc_cursor_error(cursor, &error)) {
        rc = ngx_ams_mongo_fail(op, &error);
    }

    mongoc_cursor_destroy(cursor);
    bson_destroy(&filter);
    bson_destroy(&opts);

    if (rc != NGX_OK) {
        return rc;
    }

    op->text[len++] = ']';
    op->text_len = len;

    return NGX_OK;
}


static ngx_int_t
ngx_ams_mongo_count(mongoc_collection_t *coll, ngx_ams_store_op_t *op)
{
    bson_t         filter, time;
    int64_t        n;
    bson_error_t   error;

    bson_init(&filter);

    if (op->live_only) {
        BSON_APPEND_UTF8(&filter, "status", "broadcasting");
        bson_append_document_begin(&filter, "updateTime", 10, &time);
        BSON_APPEND_INT64(&time, "$gte",
                          op->now_ms - (int64_t) op->stale_ms);
        bson_append_document_end(&filter, &time);
    }

    n = mongoc_collection_count_documents(coll, &filter, NULL, NULL, NULL,
                                          &error);
    bson_destroy(&filter);

    if (n < 0) {
        return ngx_ams_mongo_fail(op, &error);
    }

    op->count = (uint64_t) n;

    return NGX_OK;
}


/* the docs whose "time_field" is below before_ms go */
static ngx_int_t
ngx_ams_mongo_expire(mongoc_collection_t *coll, ngx_ams_store_op_t *op)
{
    bson_t         filter, time, reply;
    ngx_int_t      rc;
    bson_error_t   error;

    if (op->time_field == NULL) {
        snprintf(op->error, sizeof(op->error), "expire: no time field");
        return NGX_ERROR;
    }

    bson_init(&filter);
    bson_append_document_begin(&filter, op->time_field, -1, &time);
    BSON_APPEND_INT64(&time, "$lt", op->before_ms);
    bson_append_document_end(&filter, &time);

    if (!mongoc_collection_delete_many(coll, &filter, NULL, &reply, &error)) {
        rc = ngx_ams_mongo_fail(op, &error);

    } else {
        op->count = ngx_ams_mongo_reply_count(&reply, "deletedCount");
        rc = NGX_OK;
    }

    bson_destroy(&reply);
    bson_destroy(&filter);

    return rc;
}


/*
 * The id for this origin, atomic without transactions or a unique index:
 * 1. an upsert that only inserts (on_insert with set over it): a new
 *    record is ours, done;
 * 2. else a findAndModify whose filter is "free for this origin" (not
 *    broadcasting, stale, or ours) with the update: a match is ours;
 * 3. else another origin's live stream holds it: NGX_BUSY, op->doc the
 *    record as read.
 * Each step is one document operation, atomic on any server.
 */
static ngx_int_t
ngx_ams_mongo_claim(mongoc_collection_t *coll, ngx_ams_store_op_t *op)
{
    bson_t                          filter, update, reply;
    ngx_int_t                       rc;
    bson_iter_t                     it;
    const char                     *field;
    bson_error_t                    error;
    mongoc_find_and_modify_opts_t  *fam;

    rc = ngx_ams_mongo_insert(coll, op, op->on_insert, op->set);
    if (rc != NGX_BUSY) {
        return rc;
    }

    field = ngx_ams_store_id_field(op->collection);

    bson_init(&filter);
    bson_init(&update);

    if (ngx_ams_mongo_claimable(&filter, field, op->id, op->session,
                                op->origin,
                                op->now_ms - (int64_t) op->stale_ms)
        != 0
        || ngx_ams_mongo_update_doc(&update, op->set, op->inc, field,
                                    op->id)
           != 0)
    {
        bson_destroy(&filter);
        bson_destroy(&update);
        return ngx_ams_mongo_oom(op);
    }

    fam = mongoc_find_and_modify_opts_new();
    mongoc_find_and_modify_opts_set_update(fam, &update);

    if (!mongoc_collection_find_and_modify_with_opts(coll, &filter, fam,
                                                     &reply, &error))
    {
        rc = ngx_ams_mongo_fail(op, &error);

    } else if (bson_iter_init_find(&it, &reply, "value")
               && BSON_ITER_HOLDS_DOCUMENT(&it))
    {
        rc = NGX_OK;

    } else {
        rc = ngx_ams_mongo_get(coll, op);
        if (rc != NGX_ERROR) {
            /* gone since (deleted): busy all the same, try again later */
            rc = NGX_BUSY;
        }
    }

    bson_destroy(&reply);
    mongoc_find_and_modify_opts_destroy(fam);
    bson_destroy(&filter);
    bson_destroy(&update);

    return rc;
}


/*
 * RESET and PURGE: every application's database the server lists (the
 * SQL store's "every app"), the system ones aside.
 */
static ngx_int_t
ngx_ams_mongo_every_app(mongoc_client_t *client, ngx_ams_store_op_t *op)
{
    char                 **names;
    bson_t                 opts, filter, time, update, set, reply;
    ngx_int_t              rc;
    ngx_uint_t             i, pass, zombi;
    bson_error_t           error;
    mongoc_collection_t   *coll;

    bson_init(&opts);
    BSON_APPEND_BOOL(&opts, "authorizedDatabases", true);

    names = mongoc_client_get_database_names_with_opts(client, &opts,
                                                       &error);
    bson_destroy(&opts);

    if (names == NULL) {
        return ngx_ams_mongo_fail(op, &error);
    }

    rc = NGX_OK;

    for (i = 0; names[i] && rc == NGX_OK; i++) {
        if (ngx_strcmp(names[i], "admin") == 0
            || ngx_strcmp(names[i], "local") == 0
            || ngx_strcmp(names[i], "config") == 0
            || ngx_strcmp(names[i], NGX_AMS_MONGO_CLUSTER_DB) == 0)
        {
            continue;
        }

        coll = mongoc_client_get_collection(client, names[i],
                                            op->collection);

        if (op->type == NGX_AMS_STORE_PURGE) {
            /* expireDate is in seconds: expireDate * 1000 <= now */
            bson_init(&filter);
            bson_append_document_begin(&filter, "expireDate", 10, &time);
            BSON_APPEND_DOUBLE(&time, "$lte", (double) op->now_ms / 1000);
            bson_append_document_end(&filter, &time);

            if (mongoc_collection_delete_many(coll, &filter, NULL, &reply,
                                              &error))
            {
                op->count += ngx_ams_mongo_reply_count(&reply,
                                                       "deletedCount");
            } else {
                rc = ngx_ams_mongo_fail(op, &error);
            }

            bson_destroy(&reply);
            bson_destroy(&filter);
            mongoc_collection_destroy(coll);
            continue;
        }

        /* RESET: the zombi records are deleted, as their end would have,
         * then the others end */
        for (pass = 0; pass < 2 && rc == NGX_OK; pass++) {
            zombi = (pass == 0);

            bson_init(&filter);

            if (ngx_ams_mongo_left_live(&filter, op->origin, op->now_ms,
                                        zombi)
                != 0)
            {
                bson_destroy(&filter);
                rc = ngx_ams_mongo_oom(op);
                break;
            }

            if (zombi) {
                if (mongoc_collection_delete_many(coll, &filter, NULL,
                                                  &reply, &error))
                {
                    op->deleted += ngx_ams_mongo_reply_count(&reply,
                                                             "deletedCount");
                } else {
                    rc = ngx_ams_mongo_fail(op, &error);
                }

            } else {
                bson_init(&update);
                bson_append_document_begin(&update, "$set", 4, &set);
                BSON_APPEND_UTF8(&set, "status", "terminated_unexpectedly");
                BSON_APPEND_INT64(&set, "updateTime", op->now_ms);
                BSON_APPEND_INT64(&set, "hlsViewerCount", 0);
                BSON_APPEND_INT64(&set, "dashViewerCount", 0);
                BSON_APPEND_INT64(&set, "rtmpViewerCount", 0);
                BSON_APPEND_INT64(&set, "webRTCViewerCount", 0);
                bson_append_document_end(&update, &set);

                if (mongoc_collection_update_many(coll, &filter, &update,
                                                  NULL, &reply, &error))
                {
                    op->count += ngx_ams_mongo_reply_count(&reply,
                                                           "matchedCount");
                } else {
                    rc = ngx_ams_mongo_fail(op, &error);
                }

                bson_destroy(&update);
            }

            bson_destroy(&reply);
            bson_destroy(&filter);
        }

        mongoc_collection_destroy(coll);
    }

    bson_strfreev(names);

    return rc;
}


static int64_t
ngx_ams_mongo_reply_count(const bson_t *reply, const char *field)
{
    bson_iter_t  it;

    if (bson_iter_init_find(&it, reply, field)
        && BSON_ITER_HOLDS_NUMBER(&it))
    {
        return bson_iter_as_int64(&it);
    }

    return 0;
}


static ngx_int_t
ngx_ams_mongo_fail(ngx_ams_store_op_t *op, bson_error_t *error)
{
    if (op->error[0] == '\0') {
        ngx_cpystrn((u_char *) op->error, (u_char *) error->message,
                    sizeof(op->error));
    }

    op->unavailable = ngx_ams_mongo_unreachable(error);

    return NGX_ERROR;
}


/*
 * An error of the server's reach, not of the request: no server could be
 * selected (down, a replica set without a primary), the connection broke,
 * or the server is stepping down or shutting down.  Core then fails new
 * work at once until a retry gets through (ngx_ams_store_health.c).
 */
static ngx_uint_t
ngx_ams_mongo_unreachable(bson_error_t *error)
{
    if (error->domain == MONGOC_ERROR_SERVER_SELECTION
        || error->domain == MONGOC_ERROR_STREAM)
    {
        return 1;
    }

    if (error->domain == MONGOC_ERROR_SERVER
        || error->domain == MONGOC_ERROR_WRITE_CONCERN)
    {
        switch (error->code) {
        case 91:        /* ShutdownInProgress */
        case 189:       /* PrimarySteppedDown */
        case 10107:     /* NotWritablePrimary */
        case 11600:     /* InterruptedAtShutdown */
        case 11602:     /* InterruptedDueToReplStateChange */
        case 13435:     /* NotPrimaryNoSecondaryOk */
        case 13436:     /* NotPrimaryOrSecondary */
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_ams_mongo_oom(ngx_ams_store_op_t *op)
{
    snprintf(op->error, sizeof(op->error), "out of memory");
    return NGX_ERROR;
}
