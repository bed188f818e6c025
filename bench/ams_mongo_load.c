/*
 * Copyright (C) nginx-ams authors
 *
 * The cluster's load on its MongoDB, simulated: NODES nodes upsert their
 * record every PERIOD seconds (spread evenly, as real heartbeats drift
 * apart) and LOOKUPS stream lookups a second find a broadcast record by
 * streamId, for SECONDS.  Prints what was achieved: operations a second
 * and the median and 99th percentile latency of each kind.
 *
 *   ams_mongo_load URI NODES PERIOD LOOKUPS SECONDS
 *
 * Built by bench/bench_cluster.sh against Debian's libmongoc.
 */

#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


typedef struct {
    const char      *uri;
    const char      *kind;
    long             count;      /* distinct documents */
    double           rate;       /* operations a second */
    double           seconds;
    double          *lat;        /* ms */
    long             done;
    long             failed;
} load_t;


static double
now_s(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}


static void
sleep_until(double t)
{
    double           d;
    struct timespec  ts;

    d = t - now_s();
    if (d <= 0) {
        return;
    }

    ts.tv_sec = (time_t) d;
    ts.tv_nsec = (long) ((d - ts.tv_sec) * 1e9);
    nanosleep(&ts, NULL);
}


static void *
run(void *arg)
{
    load_t                *l = arg;
    long                   i, n, max;
    char                   id[64];
    bson_t                *filter, *update, opts = BSON_INITIALIZER;
    bson_t                 reply;
    double                 start, t0, next;
    bson_error_t           err;
    mongoc_client_t       *client;
    mongoc_cursor_t       *cursor;
    const bson_t          *doc;
    mongoc_collection_t   *coll;
    int                    heartbeat;

    heartbeat = strcmp(l->kind, "heartbeat") == 0;

    client = mongoc_client_new(l->uri);
    if (client == NULL) {
        fprintf(stderr, "bad uri %s\n", l->uri);
        exit(1);
    }

    coll = heartbeat
           ? mongoc_client_get_collection(client, "clusterdb", "benchnode")
           : mongoc_client_get_collection(client, "BenchApp", "broadcast");

    /* the records the lookups find: one per stream */
    if (!heartbeat) {
        for (i = 0; i < l->count; i++) {
            snprintf(id, sizeof(id), "stream%ld", i);
            filter = BCON_NEW("streamId", BCON_UTF8(id));
            update = BCON_NEW("$set", "{", "streamId", BCON_UTF8(id),
                              "status", BCON_UTF8("broadcasting"),
                              "originAdress", BCON_UTF8("10.0.0.1"), "}");
            bson_init(&opts);
            BSON_APPEND_BOOL(&opts, "upsert", true);
            mongoc_collection_update_one(coll, filter, update, &opts, NULL,
                                         &err);
            bson_destroy(&opts);
            bson_destroy(filter);
            bson_destroy(update);
        }
    }

    max = (long) (l->rate * l->seconds) + 16;
    l->lat = calloc(max, sizeof(double));
    start = now_s();
    next = start;

    for (n = 0; n < max && now_s() - start < l->seconds; n++) {
        sleep_until(next);
        next += 1.0 / l->rate;

        snprintf(id, sizeof(id), heartbeat ? "node%ld" : "stream%ld",
                 n % l->count);
        t0 = now_s();

        if (heartbeat) {
            filter = BCON_NEW("id", BCON_UTF8(id));
            update = BCON_NEW("$set", "{", "id", BCON_UTF8(id),
                              "ip", BCON_UTF8("10.0.0.2"),
                              "role", BCON_UTF8("edge"),
                              "cpu", BCON_INT32(12),
                              "memory", BCON_INT32(30),
                              "lastUpdateTime",
                                  BCON_INT64((int64_t) (t0 * 1000)), "}");
            bson_init(&opts);
            BSON_APPEND_BOOL(&opts, "upsert", true);

            if (!mongoc_collection_update_one(coll, filter, update, &opts,
                                              &reply, &err))
            {
                l->failed++;
            }

            bson_destroy(&reply);
            bson_destroy(&opts);
            bson_destroy(update);

        } else {
            filter = BCON_NEW("streamId", BCON_UTF8(id));
            cursor = mongoc_collection_find_with_opts(coll, filter, NULL,
                                                      NULL);
            if (!mongoc_cursor_next(cursor, &doc)
                && mongoc_cursor_error(cursor, &err))
            {
                l->failed++;
            }
            mongoc_cursor_destroy(cursor);
        }

        bson_destroy(filter);
        l->lat[l->done++] = (now_s() - t0) * 1000;
    }

    l->seconds = now_s() - start;

    mongoc_collection_destroy(coll);
    mongoc_client_destroy(client);

    return NULL;
}


static int
cmp(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return x < y ? -1 : x > y;
}


static void
report(load_t *l)
{
    qsort(l->lat, l->done, sizeof(double), cmp);

    printf("%s: %ld ops in %.1f s = %.1f ops/s (asked %.1f), failed %ld, "
           "p50 %.2f ms, p99 %.2f ms\n", l->kind, l->done, l->seconds,
           l->done / l->seconds, l->rate, l->failed,
           l->done ? l->lat[l->done / 2] : -1,
           l->done ? l->lat[(long) (l->done * 0.99)] : -1);
}


int
main(int argc, char **argv)
{
    load_t     hb, lk;
    pthread_t  t1, t2;

    if (argc != 6) {
        fprintf(stderr, "usage: %s URI NODES PERIOD LOOKUPS SECONDS\n",
                argv[0]);
        return 2;
    }

    mongoc_init();

    memset(&hb, 0, sizeof(hb));
    hb.uri = argv[1];
    hb.kind = "heartbeat";
    hb.count = atol(argv[2]);
    hb.rate = hb.count / atof(argv[3]);
    hb.seconds = atof(argv[5]);

    memset(&lk, 0, sizeof(lk));
    lk.uri = argv[1];
    lk.kind = "lookup";
    lk.count = 100;
    lk.rate = atof(argv[4]);
    lk.seconds = hb.seconds;

    pthread_create(&t1, NULL, run, &hb);
    pthread_create(&t2, NULL, run, &lk);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);

    report(&hb);
    report(&lk);

    mongoc_cleanup();

    return 0;
}
