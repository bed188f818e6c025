
/*
 * Copyright (C) nginx-ams authors
 *
 * The MongoDB backend's documents and queries (ngx_ams_mongo_bson.c),
 * compared as MongoDB's canonical extended JSON: the filters and updates
 * each store operation sends, and documents read back as the store's
 * callers expect them (no "_id", whole doubles as integers, staleness).
 */


#include <string.h>

#include "tap.h"
#include "ngx_ams_mongo_bson.h"


static int
is_bson(bson_t *b, const char *want, const char *name)
{
    int    pass;
    char  *got;

    got = bson_as_canonical_extended_json(b, NULL);
    pass = got && strcmp(got, want) == 0;

    ok(pass, "%s", name);

    if (!pass) {
        printf("#   got      %s\n#   expected %s\n", got ? got : "(null)",
               want);
    }

    bson_free(got);
    bson_reinit(b);

    return pass;
}


static json_t *
j(const char *text)
{
    return json_loads(text, 0, NULL);
}


int
main(void)
{
    char     db[NGX_AMS_MONGO_DB_LEN], *text;
    bson_t   b, child;
    json_t  *doc, *set, *inc;

    bson_init(&b);

    /* JSON to BSON: integers as int64, reals as doubles, nesting */
    doc = j("{\"a\":5,\"b\":1.5,\"c\":\"x\",\"d\":true,\"e\":null,"
            "\"f\":[1,\"y\"],\"g\":{\"h\":1}}");
    ok(ngx_ams_mongo_from_json(&b, doc) == 0, "a document converts");
    is_bson(&b, "{ \"a\" : { \"$numberLong\" : \"5\" }, "
            "\"b\" : { \"$numberDouble\" : \"1.5\" }, \"c\" : \"x\", "
            "\"d\" : true, \"e\" : null, "
            "\"f\" : [ { \"$numberLong\" : \"1\" }, \"y\" ], "
            "\"g\" : { \"h\" : { \"$numberLong\" : \"1\" } } }",
            "types as MongoDB keeps them");
    json_decref(doc);

    /* BSON to JSON: _id goes, whole doubles are integers again */
    bson_append_oid(&b, "_id", 3, &(bson_oid_t) { { 1 } });
    BSON_APPEND_DOUBLE(&b, "updateTime", 1700000000123.0);
    BSON_APPEND_DOUBLE(&b, "cpu", 12.5);
    BSON_APPEND_INT32(&b, "n", 3);
    bson_append_document_begin(&b, "sub", 3, &child);
    BSON_APPEND_UTF8(&child, "_id", "kept below the top");
    bson_append_document_end(&b, &child);
    doc = ngx_ams_mongo_to_json(&b);
    text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    ok(text && strcmp(text, "{\"cpu\":12.5,\"n\":3,\"sub\":{\"_id\":"
                      "\"kept below the top\"},"
                      "\"updateTime\":1700000000123}") == 0,
       "read back: no _id, a whole double is an integer (%s)", text);
    free(text);
    json_decref(doc);
    bson_reinit(&b);

    /* staleness on read */
    doc = j("{\"status\":\"broadcasting\",\"updateTime\":1000}");
    ngx_ams_mongo_stale(doc, 1001);
    ok(strcmp(json_string_value(json_object_get(doc, "status")),
              "terminated_unexpectedly") == 0,
       "broadcasting, not refreshed since: terminated_unexpectedly");
    json_object_set_new(doc, "status", json_string("broadcasting"));
    ngx_ams_mongo_stale(doc, 1000);
    ok(strcmp(json_string_value(json_object_get(doc, "status")),
              "broadcasting") == 0, "refreshed at the limit: broadcasting");
    json_object_del(doc, "updateTime");
    ngx_ams_mongo_stale(doc, 5000);
    ok(strcmp(json_string_value(json_object_get(doc, "status")),
              "broadcasting") == 0, "no updateTime: as stored");
    json_decref(doc);

    /* database names */
    ngx_ams_mongo_db_name("", db);
    ok(strcmp(db, "clusterdb") == 0, "app \"\" is clusterdb");
    ngx_ams_mongo_db_name("LiveApp", db);
    ok(strcmp(db, "LiveApp") == 0, "an app's database is its name");
    ngx_ams_mongo_db_name("a b$c\"d*e<f>g:h|i\\j", db);
    ok(strcmp(db, "a_b_c_d_e_f_g_h_i_j") == 0,
       "characters MongoDB refuses in names become _ (%s)", db);

    /* UPDATE: merge patch at the top, $inc from the old value */
    set = j("{\"name\":\"n\",\"gone\":null,\"hlsViewerCount\":7,"
            "\"streamId\":\"other\"}");
    inc = j("{\"hlsViewerCount\":2}");
    ok(ngx_ams_mongo_update_doc(&b, set, inc, "streamId", "s1") == 0,
       "an update builds");
    is_bson(&b, "{ \"$set\" : { \"name\" : \"n\", \"streamId\" : \"s1\" }, "
            "\"$unset\" : { \"gone\" : \"\" }, "
            "\"$inc\" : { \"hlsViewerCount\" : { \"$numberLong\" : \"2\" } }"
            " }", "$set, $unset for null, $inc wins over $set, id kept");
    json_decref(set);
    set = j("{\"nodeViewers\":{\"n1\":{\"hls\":3,\"updateTime\":9}},"
            "\"old\":{\"n2\":null},\"empty\":{}}");
    ok(ngx_ams_mongo_update_doc(&b, set, NULL, "streamId", "s1") == 0,
       "a nested update builds");
    is_bson(&b, "{ \"$set\" : { \"nodeViewers.n1.hls\" : "
            "{ \"$numberLong\" : \"3\" }, \"nodeViewers.n1.updateTime\" : "
            "{ \"$numberLong\" : \"9\" }, \"streamId\" : \"s1\" }, "
            "\"$unset\" : { \"old.n2\" : \"\" } }",
            "objects merge member by member, as json_patch() does");
    ok(ngx_ams_mongo_update_doc(&b, NULL, NULL, "id", "n1") == 0,
       "an empty update builds");
    is_bson(&b, "{ \"$set\" : { \"id\" : \"n1\" } }",
            "an empty update is never empty");

    /* inserts: on_insert, set over it, the id */
    doc = j("{\"status\":\"created\",\"zombi\":true}");
    set = (json_decref(set), j("{\"status\":\"broadcasting\"}"));
    ok(ngx_ams_mongo_insert_doc(&b, doc, set, "streamId", "s1") == 0,
       "an insert builds");
    is_bson(&b, "{ \"$setOnInsert\" : { \"zombi\" : true, "
            "\"status\" : \"broadcasting\", \"streamId\" : \"s1\" } }",
            "$setOnInsert of on_insert with set over it");
    json_decref(doc);
    json_decref(set);
    json_decref(inc);

    /* one record's filter */
    ngx_ams_mongo_key(&b, "streamId", "s1", "", 0);
    is_bson(&b, "{ \"streamId\" : \"s1\" }", "a key");
    ngx_ams_mongo_key(&b, "streamId", "s1", "sess", 1);
    is_bson(&b, "{ \"streamId\" : \"s1\", \"zombi\" : { \"$in\" : "
            "[ true, { \"$numberInt\" : \"1\" } ] }, \"$or\" : "
            "[ { \"publishSession\" : \"sess\" }, "
            "{ \"publishSession\" : null } ] }",
            "a zombi of this session, or of none");

    /* CLAIM's filter */
    ngx_ams_mongo_claimable(&b, "streamId", "s1", NULL, "10.0.0.1", 900);
    is_bson(&b, "{ \"streamId\" : \"s1\", \"$and\" : [ { \"$or\" : [ "
            "{ \"status\" : { \"$ne\" : \"broadcasting\" } }, "
            "{ \"updateTime\" : { \"$not\" : "
            "{ \"$gte\" : { \"$numberLong\" : \"900\" } } } }, "
            "{ \"originAdress\" : \"10.0.0.1\" } ] } ] }",
            "claimable: not live, stale, or ours");

    /* LIST */
    ngx_ams_mongo_search(&b, "streamId", "a.b(");
    is_bson(&b, "{ \"$or\" : [ { \"streamId\" : { \"$regularExpression\" : "
            "{ \"pattern\" : \"a\\\\.b\\\\(\", \"options\" : \"i\" } } }, "
            "{ \"name\" : { \"$regularExpression\" : "
            "{ \"pattern\" : \"a\\\\.b\\\\(\", \"options\" : \"i\" } } } ] }",
            "search: literal text, any case, id or name");
    ngx_ams_mongo_sort(&b, "name", 1);
    is_bson(&b, "{ \"name\" : { \"$numberInt\" : \"-1\" }, "
            "\"_id\" : { \"$numberInt\" : \"1\" } }",
            "sort by name descending, then creation");
    ngx_ams_mongo_sort(&b, "nonsense", 1);
    is_bson(&b, "{ \"_id\" : { \"$numberInt\" : \"-1\" } }",
            "an unknown sort: creation order");

    /* RESET */
    ngx_ams_mongo_left_live(&b, "10.0.0.1", 5000, 1);
    is_bson(&b, "{ \"status\" : \"broadcasting\", \"originAdress\" : "
            "\"10.0.0.1\", \"updateTime\" : { \"$not\" : { \"$gte\" : "
            "{ \"$numberLong\" : \"5000\" } } }, \"zombi\" : { \"$in\" : "
            "[ true, { \"$numberInt\" : \"1\" } ] } }",
            "reset: this origin's zombi records left live");

    bson_destroy(&b);

    return done_testing();
}
