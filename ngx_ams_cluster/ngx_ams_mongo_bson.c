
/*
 * Copyright (C) nginx-ams authors
 *
 * The MongoDB backend's documents and queries, free of nginx and of the
 * driver: what each store operation sends is built here, the same way
 * the SQL store's statements are (ngx_ams_store_sql.c), and read the
 * same way: staleness is applied when a record is read.
 */


#include <string.h>
#include <stdio.h>
#include <math.h>

#include "ngx_ams_mongo_bson.h"


/* JSON from the REST API is bounded by its body size; this bounds the
 * recursion whatever the caller hands over */
#define NGX_AMS_MONGO_DEPTH    32

/* a dotted path of a merge patch */
#define NGX_AMS_MONGO_PATH_LEN 1024

/* 2^53: doubles above it are not exact integers */
#define NGX_AMS_MONGO_EXACT    9007199254740992.0


static int ngx_ams_mongo_append(bson_t *b, const char *key, size_t len,
    json_t *v, int depth);
static int ngx_ams_mongo_object(bson_t *b, json_t *obj, int depth);
static json_t *ngx_ams_mongo_value(bson_iter_t *it, int depth);
static json_t *ngx_ams_mongo_container(bson_iter_t *it, int array,
    int depth);
static int ngx_ams_mongo_patch(bson_t *out, json_t *patch, char *path,
    size_t len, int nulls, json_t *inc, const char *id_field, int *unset,
    int depth);
static int ngx_ams_mongo_zombi(bson_t *b);
static int ngx_ams_mongo_session(bson_t *b, const char *session);


int
ngx_ams_mongo_from_json(bson_t *b, json_t *obj)
{
    if (!json_is_object(obj)) {
        return -1;
    }

    return ngx_ams_mongo_object(b, obj, 0);
}


static int
ngx_ams_mongo_object(bson_t *b, json_t *obj, int depth)
{
    json_t      *v;
    const char  *key;

    json_object_foreach(obj, key, v) {
        if (ngx_ams_mongo_append(b, key, strlen(key), v, depth) != 0) {
            return -1;
        }
    }

    return 0;
}


static int
ngx_ams_mongo_append(bson_t *b, const char *key, size_t len, json_t *v,
    int depth)
{
    int          ok;
    char         idx[16];
    bson_t       child;
    size_t       i;
    const char  *ikey;

    if (depth > NGX_AMS_MONGO_DEPTH) {
        return -1;
    }

    switch (json_typeof(v)) {

    case JSON_OBJECT:
        if (!bson_append_document_begin(b, key, (int) len, &child)) {
            return -1;
        }

        ok = ngx_ams_mongo_object(&child, v, depth + 1) == 0;

        return bson_append_document_end(b, &child) && ok ? 0 : -1;

    case JSON_ARRAY:
        if (!bson_append_array_begin(b, key, (int) len, &child)) {
            return -1;
        }

        ok = 1;

        for (i = 0; ok && i < json_array_size(v); i++) {
            bson_uint32_to_string((uint32_t) i, &ikey, idx, sizeof(idx));
            ok = ngx_ams_mongo_append(&child, ikey, strlen(ikey),
                                      json_array_get(v, i), depth + 1)
                 == 0;
        }

        return bson_append_array_end(b, &child) && ok ? 0 : -1;

    case JSON_STRING:
        return bson_append_utf8(b, key, (int) len, json_string_value(v),
                                (int) json_string_length(v))
               ? 0 : -1;

    case JSON_INTEGER:
        return bson_append_int64(b, key, (int) len, json_integer_value(v))
               ? 0 : -1;

    case JSON_REAL:
        return bson_append_double(b, key, (int) len, json_real_value(v))
               ? 0 : -1;

    case JSON_TRUE:
    case JSON_FALSE:
        return bson_append_bool(b, key, (int) len, json_is_true(v))
               ? 0 : -1;

    default: /* JSON_NULL */
        return bson_append_null(b, key, (int) len) ? 0 : -1;
    }
}


json_t *
ngx_ams_mongo_to_json(const bson_t *b)
{
    bson_iter_t  it;

    if (!bson_iter_init(&it, b)) {
        return NULL;
    }

    return ngx_ams_mongo_container(&it, 0, 0);
}


/* the members of the document "it" walks; the top level loses "_id" */
static json_t *
ngx_ams_mongo_container(bson_iter_t *it, int array, int depth)
{
    json_t  *out, *v;

    out = array ? json_array() : json_object();
    if (out == NULL) {
        return NULL;
    }

    while (bson_iter_next(it)) {
        if (depth == 0 && strcmp(bson_iter_key(it), "_id") == 0) {
            continue;
        }

        v = ngx_ams_mongo_value(it, depth);

        if (v == NULL) {
            /* a type JSON has no use for (binary, regex, code) */
            continue;
        }

        if ((array ? json_array_append_new(out, v)
                   : json_object_set_new(out, bson_iter_key(it), v))
            != 0)
        {
            json_decref(out);
            return NULL;
        }
    }

    return out;
}


static json_t *
ngx_ams_mongo_value(bson_iter_t *it, int depth)
{
    char          oid[25];
    double        d;
    bson_iter_t   child;

    switch (bson_iter_type(it)) {

    case BSON_TYPE_UTF8:
        return json_stringn(bson_iter_utf8(it, NULL),
                            strlen(bson_iter_utf8(it, NULL)));

    case BSON_TYPE_INT32:
    case BSON_TYPE_INT64:
    case BSON_TYPE_DATE_TIME:
        return json_integer(bson_iter_as_int64(it));

    case BSON_TYPE_DOUBLE:
        d = bson_iter_double(it);

        if (isfinite(d) && d == floor(d) && fabs(d) <= NGX_AMS_MONGO_EXACT) {
            return json_integer((json_int_t) d);
        }

        return isfinite(d) ? json_real(d) : json_null();

    case BSON_TYPE_BOOL:
        return json_boolean(bson_iter_bool(it));

    case BSON_TYPE_NULL:
    case BSON_TYPE_UNDEFINED:
        return json_null();

    case BSON_TYPE_OID:
        bson_oid_to_string(bson_iter_oid(it), oid);
        return json_string(oid);

    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
        if (depth >= NGX_AMS_MONGO_DEPTH || !bson_iter_recurse(it, &child)) {
            return NULL;
        }

        return ngx_ams_mongo_container(&child,
                                       bson_iter_type(it) == BSON_TYPE_ARRAY,
                                       depth + 1);

    default:
        return NULL;
    }
}


void
ngx_ams_mongo_stale(json_t *doc, int64_t fresh)
{
    json_t  *status, *time;

    status = json_object_get(doc, "status");
    time = json_object_get(doc, "updateTime");

    if (json_is_string(status)
        && strcmp(json_string_value(status), "broadcasting") == 0
        && json_is_number(time) && json_number_value(time) < (double) fresh)
    {
        json_object_set_new(doc, "status",
                            json_string("terminated_unexpectedly"));
    }
}


void
ngx_ams_mongo_db_name(const char *app, char *buf)
{
    size_t  i;

    if (app[0] == '\0') {
        strcpy(buf, NGX_AMS_MONGO_CLUSTER_DB);
        return;
    }

    for (i = 0; app[i] && i < NGX_AMS_MONGO_DB_LEN - 1; i++) {
        buf[i] = ((unsigned char) app[i] < 0x20
                  || strchr("/\\. \"$*<>:|?", app[i]))
                 ? '_' : app[i];
    }

    buf[i] = '\0';
}


int
ngx_ams_mongo_update_doc(bson_t *b, json_t *set, json_t *inc,
    const char *id_field, const char *id)
{
    int          ok, unset;
    char         path[NGX_AMS_MONGO_PATH_LEN];
    json_t      *v;
    bson_t       child;
    const char  *key;

    if (!bson_append_document_begin(b, "$set", 4, &child)) {
        return -1;
    }

    unset = 0;

    ok = set == NULL
         || ngx_ams_mongo_patch(&child, set, path, 0, 0, inc, id_field,
                                &unset, 0)
            == 0;

    ok = ok && bson_append_utf8(&child, id_field, -1, id, -1);
    ok = bson_append_document_end(b, &child) && ok;

    if (ok && unset) {
        ok = bson_append_document_begin(b, "$unset", 6, &child)
             && ngx_ams_mongo_patch(&child, set, path, 0, 1, inc, id_field,
                                    &unset, 0)
                == 0;

        ok = bson_append_document_end(b, &child) && ok;
    }

    if (ok && inc && json_object_size(inc)) {
        ok = bson_append_document_begin(b, "$inc", 4, &child);

        json_object_foreach(inc, key, v) {
            if (ok) {
                ok = bson_append_int64(&child, key, -1,
                                       json_is_real(v)
                                       ? (int64_t) json_real_value(v)
                                       : json_integer_value(v));
            }
        }

        ok = bson_append_document_end(b, &child) && ok;
    }

    return ok ? 0 : -1;
}


/*
 * A JSON merge patch (RFC 7386, json_patch() in the SQL store) as dotted
 * paths: an object merges into the field's object member by member
 * ({"nodeViewers": {"n1": {...}}} leaves "n2" alone), null removes.
 * "nulls" 0: the $set members (other values), 1: the $unset ones;
 * "*unset" says whether there is any null.  At the top, the id field
 * and the $inc fields are left out ($inc reads the old value, as
 * json_set() after json_patch() does; MongoDB refuses a field under
 * both).
 */
static int
ngx_ams_mongo_patch(bson_t *out, json_t *patch, char *path, size_t len,
    int nulls, json_t *inc, const char *id_field, int *unset, int depth)
{
    size_t       n;
    json_t      *v;
    const char  *key;

    if (depth > NGX_AMS_MONGO_DEPTH) {
        return -1;
    }

    json_object_foreach(patch, key, v) {
        if (depth == 0
            && (strcmp(key, id_field) == 0
                || (inc && json_object_get(inc, key))))
        {
            continue;
        }

        n = strlen(key);

        if (len + n + 2 > NGX_AMS_MONGO_PATH_LEN) {
            return -1;
        }

        if (len) {
            path[len] = '.';
            memcpy(path + len + 1, key, n + 1);
            n += len + 1;

        } else {
            memcpy(path, key, n + 1);
        }

        if (json_is_object(v)) {
            if (ngx_ams_mongo_patch(out, v, path, n, nulls, NULL, id_field,
                                    unset, depth + 1)
                != 0)
            {
                return -1;
            }

            continue;
        }

        if (json_is_null(v)) {
            *unset = 1;

            if (nulls && !bson_append_utf8(out, path, (int) n, "", 0)) {
                return -1;
            }

            continue;
        }

        if (!nulls
            && ngx_ams_mongo_append(out, path, n, v, depth + 1) != 0)
        {
            return -1;
        }
    }

    return 0;
}


int
ngx_ams_mongo_insert_doc(bson_t *b, json_t *on_insert, json_t *set,
    const char *id_field, const char *id)
{
    int          ok;
    json_t      *v;
    bson_t       child;
    const char  *key;

    if (!bson_append_document_begin(b, "$setOnInsert", 12, &child)) {
        return -1;
    }

    ok = 1;

    if (on_insert) {
        json_object_foreach(on_insert, key, v) {
            if (ok && (set == NULL || json_object_get(set, key) == NULL)
                && strcmp(key, id_field) != 0)
            {
                ok = ngx_ams_mongo_append(&child, key, strlen(key), v, 1)
                     == 0;
            }
        }
    }

    if (set) {
        json_object_foreach(set, key, v) {
            if (ok && strcmp(key, id_field) != 0) {
                ok = ngx_ams_mongo_append(&child, key, strlen(key), v, 1)
                     == 0;
            }
        }
    }

    ok = ok && bson_append_utf8(&child, id_field, -1, id, -1);

    return bson_append_document_end(b, &child) && ok ? 0 : -1;
}


int
ngx_ams_mongo_key(bson_t *b, const char *id_field, const char *id,
    const char *session, int zombi)
{
    if (!bson_append_utf8(b, id_field, -1, id, -1)) {
        return -1;
    }

    if (zombi && ngx_ams_mongo_zombi(b) != 0) {
        return -1;
    }

    if (session && session[0]) {
        return ngx_ams_mongo_session(b, session);
    }

    return 0;
}


/* {zombi: {$in: [true, 1]}}: as json_extract(doc, '$.zombi') = 1 reads */
static int
ngx_ams_mongo_zombi(bson_t *b)
{
    bson_t  child, array;

    if (!bson_append_document_begin(b, "zombi", 5, &child)
        || !bson_append_array_begin(&child, "$in", 3, &array)
        || !bson_append_bool(&array, "0", 1, 1)
        || !bson_append_int32(&array, "1", 1, 1)
        || !bson_append_array_end(&child, &array)
        || !bson_append_document_end(b, &child))
    {
        return -1;
    }

    return 0;
}


/* {$or: [{publishSession: S}, {publishSession: null}]}: null is also
 * "no such field", as coalesce() reads it */
static int
ngx_ams_mongo_session(bson_t *b, const char *session)
{
    bson_t  array, child;

    if (!bson_append_array_begin(b, "$or", 3, &array)
        || !bson_append_document_begin(&array, "0", 1, &child)
        || !bson_append_utf8(&child, "publishSession", -1, session, -1)
        || !bson_append_document_end(&array, &child)
        || !bson_append_document_begin(&array, "1", 1, &child)
        || !bson_append_null(&child, "publishSession", -1)
        || !bson_append_document_end(&array, &child)
        || !bson_append_array_end(b, &array))
    {
        return -1;
    }

    return 0;
}


/*
 * The SQL store takes an id when NOT (status = 'broadcasting' AND
 * updateTime >= fresh AND coalesce(originAdress, '') != origin), where a
 * missing field makes the whole test unknown, hence "free".  As a
 * filter: {$and: [{$or: [{status: {$ne: "broadcasting"}},
 * {updateTime: {$not: {$gte: fresh}}}, {originAdress: origin}]},
 * session]}; "$ne" and "$not" match a missing field too.
 */
int
ngx_ams_mongo_claimable(bson_t *b, const char *id_field, const char *id,
    const char *session, const char *origin, int64_t fresh)
{
    bson_t  and, or, doc, op, not, in;

    if (!bson_append_utf8(b, id_field, -1, id, -1)
        || !bson_append_array_begin(b, "$and", 4, &and)
        || !bson_append_document_begin(&and, "0", 1, &doc)
        || !bson_append_array_begin(&doc, "$or", 3, &or))
    {
        return -1;
    }

    if (!bson_append_document_begin(&or, "0", 1, &op)
        || !bson_append_document_begin(&op, "status", 6, &not)
        || !bson_append_utf8(&not, "$ne", 3, "broadcasting", -1)
        || !bson_append_document_end(&op, &not)
        || !bson_append_document_end(&or, &op))
    {
        return -1;
    }

    if (!bson_append_document_begin(&or, "1", 1, &op)
        || !bson_append_document_begin(&op, "updateTime", 10, &not)
        || !bson_append_document_begin(&not, "$not", 4, &in)
        || !bson_append_int64(&in, "$gte", 4, fresh)
        || !bson_append_document_end(&not, &in)
        || !bson_append_document_end(&op, &not)
        || !bson_append_document_end(&or, &op))
    {
        return -1;
    }

    if (!bson_append_document_begin(&or, "2", 1, &op)) {
        return -1;
    }

    if (origin[0]) {
        if (!bson_append_utf8(&op, "originAdress", -1, origin, -1)) {
            return -1;
        }

    } else {
        /* coalesce(originAdress, '') = '' */
        if (!bson_append_document_begin(&op, "originAdress", -1, &not)
            || !bson_append_array_begin(&not, "$in", 3, &in)
            || !bson_append_utf8(&in, "0", 1, "", 0)
            || !bson_append_null(&in, "1", 1)
            || !bson_append_array_end(&not, &in)
            || !bson_append_document_end(&op, &not))
        {
            return -1;
        }
    }

    if (!bson_append_document_end(&or, &op)
        || !bson_append_array_end(&doc, &or)
        || !bson_append_document_end(&and, &doc))
    {
        return -1;
    }

    if (session && session[0]) {
        if (!bson_append_document_begin(&and, "1", 1, &doc)
            || ngx_ams_mongo_session(&doc, session) != 0
            || !bson_append_document_end(&and, &doc))
        {
            return -1;
        }
    }

    return bson_append_array_end(b, &and) ? 0 : -1;
}


/* instr(lower(id), lower(text)) OR instr(lower(name), lower(text)) */
int
ngx_ams_mongo_search(bson_t *b, const char *id_field, const char *text)
{
    int          ok;
    char        *p, *re;
    bson_t       array, doc;
    const char  *s, *fields[2];
    unsigned     i;

    re = malloc(2 * strlen(text) + 1);
    if (re == NULL) {
        return -1;
    }

    /* the text is matched literally: every metacharacter escaped */
    for (p = re, s = text; *s; s++) {
        if (strchr("\\^$.|?*+()[]{}", *s)) {
            *p++ = '\\';
        }
        *p++ = *s;
    }

    *p = '\0';

    fields[0] = id_field;
    fields[1] = "name";

    ok = bson_append_array_begin(b, "$or", 3, &array);

    for (i = 0; ok && i < 2; i++) {
        ok = bson_append_document_begin(&array, i ? "1" : "0", 1, &doc)
             && bson_append_regex(&doc, fields[i], -1, re, "i")
             && bson_append_document_end(&array, &doc);
    }

    ok = ok && bson_append_array_end(b, &array);

    free(re);

    return ok ? 0 : -1;
}


/* SQL: ORDER BY field, rowid; "_id" (an ObjectId) is the creation order */
int
ngx_ams_mongo_sort(bson_t *b, const char *sort_by, int descending)
{
    const char  *field;

    field = NULL;

    if (sort_by
        && (strcmp(sort_by, "name") == 0 || strcmp(sort_by, "date") == 0
            || strcmp(sort_by, "status") == 0))
    {
        field = sort_by;
    }

    if (field && !bson_append_int32(b, field, -1, descending ? -1 : 1)) {
        return -1;
    }

    return bson_append_int32(b, "_id", 3, field || !descending ? 1 : -1)
           ? 0 : -1;
}


/*
 * status = 'broadcasting' AND coalesce(updateTime, 0) < now AND
 * originAdress = origin [AND zombi]
 */
int
ngx_ams_mongo_left_live(bson_t *b, const char *origin, int64_t now,
    int zombi)
{
    bson_t  field, not;

    if (!bson_append_utf8(b, "status", 6, "broadcasting", -1)
        || !bson_append_utf8(b, "originAdress", -1, origin, -1)
        || !bson_append_document_begin(b, "updateTime", 10, &field)
        || !bson_append_document_begin(&field, "$not", 4, &not)
        || !bson_append_int64(&not, "$gte", 4, now)
        || !bson_append_document_end(&field, &not)
        || !bson_append_document_end(b, &field))
    {
        return -1;
    }

    return zombi ? ngx_ams_mongo_zombi(b) : 0;
}
