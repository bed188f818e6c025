
/*
 * Copyright (C) nginx-ams authors
 *
 * A small MongoDB client for the store's tests (t/store_mongo.t), built
 * by ./build.sh into build/unit/mongo_tool:
 *
 *   mongo_tool URI insert DB COLL JSON       plant a document
 *   mongo_tool URI find DB COLL [FILTER]     one JSON document a line
 *   mongo_tool URI indexes DB COLL           the names of its indexes,
 *                                            "unique" after unique ones
 *   mongo_tool URI claim DB ID ORIGIN N STALE_MS
 *       claims broadcasts ID1..IDN for ORIGIN, as the store's CLAIM does
 *       (ngx_ams_store_mongo.c: the same documents and filters, from
 *       ngx_ams_mongo_bson.c), and prints "IDi won" or "IDi busy"
 *
 * Several claimers run at once race for the same ids (AMS_AT_MS in the
 * environment: the wall-clock millisecond they all start at).
 */


#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <mongoc/mongoc.h>

#include "ngx_ams_mongo_bson.h"


static int64_t
now_ms(void)
{
    struct timeval  tv;

    gettimeofday(&tv, NULL);

    return (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}


static int
claim(mongoc_collection_t *coll, const char *id, const char *origin,
    int64_t stale_ms)
{
    int                             won;
    bson_t                          filter, update, opts, reply;
    json_t                         *set, *on_insert;
    int64_t                         now;
    bson_iter_t                     it;
    bson_error_t                    error;
    mongoc_find_and_modify_opts_t  *fam;

    now = now_ms();

    set = json_pack("{s:s, s:s, s:I}", "status", "broadcasting",
                    "originAdress", origin, "updateTime", (json_int_t) now);
    on_insert = json_pack("{s:s, s:b}", "name", id, "zombi", 1);

    /* 1. an upsert that only inserts */
    bson_init(&filter);
    bson_init(&update);
    bson_init(&opts);
    ngx_ams_mongo_key(&filter, "streamId", id, NULL, 0);
    ngx_ams_mongo_insert_doc(&update, on_insert, set, "streamId", id);
    BSON_APPEND_BOOL(&opts, "upsert", true);

    if (!mongoc_collection_update_one(coll, &filter, &update, &opts, &reply,
                                      &error))
    {
        fprintf(stderr, "claim %s: %s\n", id, error.message);
        exit(1);
    }

    won = bson_iter_init_find(&it, &reply, "upsertedCount")
          && bson_iter_as_int64(&it) > 0;

    bson_destroy(&reply);
    bson_destroy(&filter);
    bson_destroy(&update);
    bson_destroy(&opts);

    if (!won) {
        /* 2. a findAndModify on "free for this origin" */
        bson_init(&filter);
        bson_init(&update);
        ngx_ams_mongo_claimable(&filter, "streamId", id, NULL, origin,
                                now - stale_ms);
        ngx_ams_mongo_update_doc(&update, set, NULL, "streamId", id);

        fam = mongoc_find_and_modify_opts_new();
        mongoc_find_and_modify_opts_set_update(fam, &update);

        if (!mongoc_collection_find_and_modify_with_opts(coll, &filter, fam,
                                                         &reply, &error))
        {
            fprintf(stderr, "claim %s: %s\n", id, error.message);
            exit(1);
        }

        won = bson_iter_init_find(&it, &reply, "value")
              && BSON_ITER_HOLDS_DOCUMENT(&it);

        bson_destroy(&reply);
        mongoc_find_and_modify_opts_destroy(fam);
        bson_destroy(&filter);
        bson_destroy(&update);
    }

    json_decref(set);
    json_decref(on_insert);

    return won;
}


static json_t *
load(const char *text)
{
    json_t        *doc;
    json_error_t   jerr;

    doc = json_loads(text, 0, &jerr);
    if (doc == NULL) {
        fprintf(stderr, "bad JSON: %s\n", jerr.text);
        exit(2);
    }

    return doc;
}


int
main(int argc, char **argv)
{
    int                   i, n, *order;
    char                  id[128], *text;
    json_t               *doc;
    bson_t                b;
    bson_error_t          error;
    const bson_t         *bdoc;
    mongoc_client_t      *client;
    mongoc_cursor_t      *cursor;
    mongoc_collection_t  *coll;

    if (argc < 5) {
        fprintf(stderr, "usage: mongo_tool URI insert|find|indexes|claim "
                "DB ...\n");
        return 2;
    }

    mongoc_init();

    client = mongoc_client_new(argv[1]);
    if (client == NULL) {
        fprintf(stderr, "bad URI %s\n", argv[1]);
        return 2;
    }

    if (strcmp(argv[2], "claim") == 0 && argc == 8) {
        coll = mongoc_client_get_collection(client, argv[3], "broadcast");
        n = atoi(argv[6]);

        /* racers start together: at AMS_AT_MS (wall clock), when set */
        if (getenv("AMS_AT_MS")) {
            while (now_ms() < atoll(getenv("AMS_AT_MS"))) {
                usleep(1000);
            }
        }

        /* each racer in its own order: they meet on many ids */
        order = malloc(n * sizeof(int));
        for (i = 0; i < n; i++) {
            order[i] = i + 1;
        }

        srand(getpid());

        for (i = n - 1; i > 0; i--) {
            int  j = rand() % (i + 1), t = order[i];

            order[i] = order[j];
            order[j] = t;
        }

        for (i = 0; i < n; i++) {
            snprintf(id, sizeof(id), "%s%d", argv[4], order[i]);
            printf("%s %s\n", id,
                   claim(coll, id, argv[5], atoll(argv[7])) ? "won" : "busy");
        }

    } else if (strcmp(argv[2], "insert") == 0 && argc == 6) {
        coll = mongoc_client_get_collection(client, argv[3], argv[4]);
        doc = load(argv[5]);
        bson_init(&b);
        ngx_ams_mongo_from_json(&b, doc);

        if (!mongoc_collection_insert_one(coll, &b, NULL, NULL, &error)) {
            fprintf(stderr, "insert: %s\n", error.message);
            return 1;
        }

        bson_destroy(&b);
        json_decref(doc);

    } else if (strcmp(argv[2], "find") == 0 && argc >= 5) {
        coll = mongoc_client_get_collection(client, argv[3], argv[4]);
        bson_init(&b);

        if (argc > 5) {
            doc = load(argv[5]);
            ngx_ams_mongo_from_json(&b, doc);
            json_decref(doc);
        }

        cursor = mongoc_collection_find_with_opts(coll, &b, NULL, NULL);

        while (mongoc_cursor_next(cursor, &bdoc)) {
            doc = ngx_ams_mongo_to_json(bdoc);
            text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
            printf("%s\n", text);
            free(text);
            json_decref(doc);
        }

        if (mongoc_cursor_error(cursor, &error)) {
            fprintf(stderr, "find: %s\n", error.message);
            return 1;
        }

        mongoc_cursor_destroy(cursor);
        bson_destroy(&b);

    } else if (strcmp(argv[2], "indexes") == 0 && argc == 5) {
        coll = mongoc_client_get_collection(client, argv[3], argv[4]);
        cursor = mongoc_collection_find_indexes_with_opts(coll, NULL);

        while (mongoc_cursor_next(cursor, &bdoc)) {
            bson_iter_t  it;

            if (bson_iter_init_find(&it, bdoc, "name")
                && BSON_ITER_HOLDS_UTF8(&it))
            {
                printf("%s", bson_iter_utf8(&it, NULL));
            }

            if (bson_iter_init_find(&it, bdoc, "unique")
                && bson_iter_as_bool(&it))
            {
                printf(" unique");
            }

            printf("\n");
        }

        if (mongoc_cursor_error(cursor, &error)) {
            fprintf(stderr, "indexes: %s\n", error.message);
            return 1;
        }

        mongoc_cursor_destroy(cursor);

    } else {
        fprintf(stderr, "usage: mongo_tool URI insert|find|indexes|claim "
                "DB ...\n");
        return 2;
    }

    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);
    mongoc_cleanup();

    return 0;
}
